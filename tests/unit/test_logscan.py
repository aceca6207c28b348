"""The log scanner (tests/logscan.py) that fails the session when a secret reaches a log: it finds each kind of
secret, never flags what the logs rightly hold, never prints a secret whole, and a session that logs one fails."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.logscan import Scanner, redact

ROOT = Path(__file__).resolve().parents[2]

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ3ZWFsdGhkZXNrIiwic3ViIjoiMSJ9."
       "c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1oZXJl")
API_KEY = "wdk_Ab3dEf7h_" + "Q" * 20 + "z9" * 10
REFRESH = "wdr_" + "k" * 43
CHALLENGE = "wdc_" + "Zx_-" * 11
ARGON2 = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
RECOVERY = "ABCD-EFGH-JKMN-P234"
KEY_DIGEST = "\\x" + hashlib.sha256(API_KEY.encode()).hexdigest()
PASSWORD = "a password nobody would log"

SECRET_LINES = {
    "JWT (access token)": f'{{"msg": "request", "token": "{JWT}"}}',
    "API key": f"authenticated with {API_KEY} just now",
    "refresh token": f"refresh {REFRESH}",
    "login challenge": f"challenge={CHALLENGE}",
    "argon2 hash or salt": f"stored hash {ARGON2}",
    "SCRAM password verifier": "STATEMENT:  CREATE ROLE app LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdHNhbHQ=$AAAA:BBBB'",
    "SHA-256 digest as bytea (key, token or code hash)": f"STATEMENT: SELECT 1 WHERE key_hash = '{KEY_DIGEST}'",
    "TOTP secret (base32)": f"enrolled with {TOTP_SECRET}",
    "otpauth URI": "otpauth://totp/wealthdesk:ada%40example.com?issuer=wealthdesk",
    "recovery code": f"used {RECOVERY}",
    "database URL with a password": "could not connect to postgresql://wealthdesk_app:s3cr3t-pw@db.internal:5432/wd",
    "password in connection options": "connection failed: host=db user=wealthdesk_app password=s3cr3t-pw",
    "password field": '{"email": "ada@example.com", "password": "hunter2hunter2"}',
    "token or key field": '{"access_token": "abc", "expires_in": 900}',
    "bearer credential": "headers: {'Authorization': 'Bearer 0123456789abcdefABCDEF'}",
}

CLEAN_LINES = [
    ('{"level": "info", "msg": "request", "request_id": "6f1c2a1e-8c1b-4d7e-9a57-0f6c1e2b3a4d", "method": "GET", '
     '"route": "/v1/client-groups/{group_id}", "status": 200, "duration_ms": 3.21, '
     '"firm_id": "0b6f5a2e-1d2c-4e3f-8a9b-7c6d5e4f3a2b", "principal": "user"}'),
    ('{"level": "info", "msg": "request", "request_id": "Root=1-65f0a1b2-3c4d5e6f7a8b9c0d1e2f3a4b", '
     '"method": "PATCH", "route": "/v1/products/{product_id}", "status": 412, "duration_ms": 1.0, '
     '"firm_id": null, "principal": "api_key"}'),
    'ETag: "17"',
    'ETag: W/"ov-3f9a2c7e1b5d4a6f8e0c2b4d6f8a0c1e"',
    "listed key wdk_Ab3dEf7h (prefix only)",
    '{"level": "info", "msg": "job succeeded", "job": "refresh-stale-views", "figures": {"refreshed": false}}',
    "ERROR:  duplicate key value violates unique constraint \"users_email_key\"",
    "DETAIL:  Key (email)=(ada@example.com) already exists.",
    "2026-01-02 03:04:05.678 UTC [12345] LOG:  checkpoint complete: wrote 3 buffers (0.0%)",
    "The password is wrong, or the account is locked for a while",
    "uuid 123e4567-e89b-12d3-a456-426614174000 and ABCDEF12-3456-7890-ABCD-EF1234567890",
]


@pytest.mark.parametrize("kind", sorted(SECRET_LINES))
def test_each_kind_of_secret_is_found(kind: str) -> None:
    hits = Scanner().scan_line(SECRET_LINES[kind])
    assert kind in [k for k, _ in hits], hits


@pytest.mark.parametrize("line", CLEAN_LINES)
def test_what_the_logs_rightly_hold_is_not_flagged(line: str) -> None:
    assert Scanner([PASSWORD, "x" * 40]).scan_line(line) == []


def test_a_registered_secret_is_found_as_itself_and_as_its_digest() -> None:
    scanner = Scanner([PASSWORD, "short"])
    assert [k for k, _ in scanner.scan_line(f"login failed for ada with {PASSWORD!r}")] == ["registered secret"]
    digest = hashlib.sha256(PASSWORD.encode()).hexdigest()
    assert [k for k, _ in scanner.scan_line(f"hash {digest}")] == ["SHA-256 of a registered secret"]
    assert scanner.scan_line("login failed: short") == []  # too short to search for without false alarms


def test_a_finding_never_shows_the_secret() -> None:
    for kind, line in SECRET_LINES.items():
        for _, excerpt in Scanner().scan_line(line):
            assert len(excerpt.split("...")[0]) <= 4, (kind, excerpt)
    assert redact(API_KEY) == "wdk_... (53 characters)"


def test_a_session_that_logs_a_secret_fails(tmp_path: Path) -> None:
    """The session check as `make test` runs it (xdist, two workers): a secret logged by a test fails the run, with
    the file, line and kind named and the secret not printed; the same session without it passes."""
    (tmp_path / "conftest.py").write_text(
        "from tests.logscan import pytest_configure, pytest_configure_node, pytest_sessionfinish  # noqa: F401\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_leak.py").write_text(textwrap.dedent(f"""
        import logging, os

        def test_one():
            if os.environ.get("LEAK"):
                logging.getLogger("wdk.request").warning("token %s", {JWT!r})

        def test_two():
            logging.getLogger("wdk.request").warning("an ordinary line")
    """))
    # only xdist of the installed plugins: the check does not depend on the others, and each costs every process
    # the sessions' own temporary directories (the scanned logs) under this test's, where the failing one's stays
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "TMPDIR": str(scratch)}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("WDK_LOGSCAN_DIR", None)

    def run(leak: bool) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "xdist", "-n", "2", "-p", "no:cacheprovider",
                               "--rootdir", str(tmp_path), str(tmp_path)], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120, env={**env, **({"LEAK": "1"} if leak else {})})

    leaked = run(True)
    assert leaked.returncode != 0, leaked.stdout + leaked.stderr
    assert "secrets found in the session's logs" in leaked.stdout
    assert "log-gw" in leaked.stdout and "JWT (access token)" in leaked.stdout
    assert JWT not in leaked.stdout + leaked.stderr
    clean = run(False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no secret" in clean.stdout
    assert json.dumps(JWT) not in clean.stdout
    # the failing session keeps its logs (named in its report) for a look; the passing one deletes them
    kept = [d.name for d in scratch.iterdir() if d.name.startswith("wd-logscan-")]
    assert len(kept) == 1 and f"kept in {scratch / kept[0]}" in leaked.stdout, (kept, leaked.stdout)
