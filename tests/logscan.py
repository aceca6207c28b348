"""Secrets never logged: every log record of the test session is kept, then scanned for secrets at its end.

How (tests/conftest.py imports the pytest hooks below):
- Each pytest process (the xdist controller and each worker) writes every log record it emits, the app's
  (`wdk.*`: the JSON request lines of core/http.py, jobs, errors with their tracebacks) and any library's that
  reaches the root logger, to its own file in one directory for the session (`log-<worker>.txt`). Children forked
  by a test inherit the handler; children spawned by one install it from WDK_LOGSCAN_DIR (`install_in_child`).
  At the end of a worker's session the embedded PostgreSQL server's log (the database subprocess's stderr, with the
  text of failed statements) is copied next to them.
- Every secret the app issues or is given during the run is registered (`register`): the functions that make them
  (passwords hashed, generated passwords, access and refresh tokens, API keys, login challenges, TOTP secrets,
  recovery codes) are wrapped in each process, and the settings' keys (JWT_SECRET, TOTP_KEY, database passwords)
  and the tests' passwords are registered at start (`secrets-<worker>.txt`).
- The controller's pytest_sessionfinish scans every file for the patterns of PATTERNS and for each registered
  secret (and its SHA-256, as the database stores keys and tokens); any hit fails the session with a message naming
  the file, the line and the kind of secret, never the secret itself (`redact`).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ENV = "WDK_LOGSCAN_DIR"
MIN_SECRET = 8  # shorter registered strings are not searched for (they would match ordinary text)
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# What a secret looks like, whoever made it. Each must not match what the logs rightly hold: request ids, uuids,
# ETags, API key prefixes (wdk_ and 8 characters: listed by the API), routes, statuses and timings.
_RECOVERY = "[A-HJKMNP-TV-Z0-9]"
PATTERNS: dict[str, re.Pattern[str]] = {
    "JWT (access token)": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"),
    "API key": re.compile(r"wdk_[A-Za-z0-9]{8}_[A-Za-z0-9]{40}"),
    "refresh token": re.compile(r"wdr_[A-Za-z0-9_-]{40,}"),
    "login challenge": re.compile(r"wdc_[A-Za-z0-9_-]{40,}"),
    "SCRAM password verifier": re.compile(r"SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]{8,}\$"),
    "argon2 hash or salt": re.compile(r"\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{8,}"),
    "SHA-256 digest as bytea (key, token or code hash)": re.compile(r"\\x[0-9a-fA-F]{64}"),
    "TOTP secret (base32)": re.compile(r"(?<![A-Za-z0-9])[A-Z2-7]{32}(?![A-Za-z0-9])"),
    "otpauth URI": re.compile(r"otpauth://"),
    "recovery code": re.compile(rf"(?<![A-Za-z0-9-]){_RECOVERY}{{4}}(?:-{_RECOVERY}{{4}}){{3}}(?![A-Za-z0-9-])"),
    "database URL with a password": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:[^\s@/'\"]+@"),
    "password in connection options": re.compile(r"\bpassword\s*=\s*(?!['\"]?\s)['\"]?[^\s'\",;)]+", re.I),
    "password field": re.compile(r"[\"']password[\"']\s*:\s*[\"'][^\"']+", re.I),
    "token or key field": re.compile(
        r"[\"'](?:access_token|refresh_token|challenge|secret|recovery_codes?|key|otpauth_uri)[\"']\s*:\s*[\"\[]"),
    "bearer credential": re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{16,}"),
}


# Text (lower case) without which a pattern cannot match: the pattern runs only on lines that hold it.
_HINTS = {"JWT (access token)": "eyj", "API key": "wdk_", "refresh token": "wdr_", "login challenge": "wdc_",
          "SCRAM password verifier": "scram-", "argon2 hash or salt": "$argon2",
          "SHA-256 digest as bytea (key, token or code hash)": "\\x", "otpauth URI": "otpauth:",
          "database URL with a password": "://", "password in connection options": "password",
          "password field": "password", "bearer credential": "bearer"}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    kind: str
    excerpt: str  # the match, redacted

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind} ({self.excerpt})"


def redact(secret: str) -> str:
    """Enough to recognise what was found, never enough to use it."""
    return f"{secret[:4]}... ({len(secret)} characters)"


def _derived(secret: str) -> dict[str, str]:
    """The secret and the forms the app stores or prints it in: its SHA-256 in hex and base64."""
    digest = hashlib.sha256(secret.encode()).digest()
    return {secret: "registered secret", digest.hex(): "SHA-256 of a registered secret",
            base64.b64encode(digest).decode(): "SHA-256 of a registered secret"}


# Registered secrets are looked up as whole words of a line (and as the parts of a word between = : / & ? @ # . ,),
# which a set answers at once however many secrets a run registers; a secret with a space in it (a pass phrase) is
# searched for as text.
_WORD = re.compile(r"[^\s\"'`(),;<>\[\]{}|\\]+")
_PART = re.compile(r"[=:/&?@#.,]")


class Scanner:
    """Finds secrets in lines of text: by pattern, and by the exact strings registered."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._words: dict[str, str] = {}
        self._phrases: dict[str, str] = {}
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        if len(secret) < MIN_SECRET or any(c in secret for c in "\r\n"):
            return
        for text, kind in _derived(secret).items():
            (self._phrases if _WORD.fullmatch(text) is None else self._words).setdefault(text, kind)

    def scan_line(self, line: str) -> list[tuple[str, str]]:
        """(kind, redacted match) for each secret in the line."""
        lowered = line.lower()
        hits = [(kind, redact(m.group(0))) for kind, pattern in PATTERNS.items()
                if _HINTS.get(kind, "") in lowered for m in pattern.finditer(line)]
        if self._words:
            words = set(_WORD.findall(line))
            words.update(part for word in list(words) for part in _PART.split(word))
            hits += [(self._words[w], redact(w)) for w in sorted(words & self._words.keys())]
        hits += [(kind, redact(text)) for text, kind in self._phrases.items() if text in line]
        return hits

    def scan_file(self, path: Path, name: str | None = None) -> list[Finding]:
        findings = []
        with path.open(encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                findings += [Finding(name or path.name, number, kind, excerpt)
                             for kind, excerpt in self.scan_line(line)]
        return findings


# --- capture (every pytest process) -----------------------------------------------------------------------------

_state: dict[str, Any] = {}


def _worker_name() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def register(secret: Any) -> None:
    """A secret of this run, searched for in every log at the end (no-op outside a capturing session)."""
    path = _state.get("secrets")
    if path is None or not isinstance(secret, str) or len(secret) < MIN_SECRET:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(secret) + "\n")


def _wrap(module: Any, name: str, on_result: Any = None, on_args: Any = None) -> None:
    original = getattr(module, name)
    if getattr(original, "_logscan_wrapped", False):
        return

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if on_args is not None:
            on_args(*args, **kwargs)
        result = original(*args, **kwargs)
        if on_result is not None:
            on_result(result)
        return result

    wrapper._logscan_wrapped = True  # type: ignore[attr-defined]
    setattr(module, name, wrapper)


def _register_all(values: Iterable[Any]) -> None:
    for v in values:
        if isinstance(v, str):
            register(v)
            register(v.replace("-", ""))  # a recovery code as stored (hashed without dashes)


def _watch_secret_makers() -> None:
    """Register every secret the app makes in this process, whoever asks for it."""
    # core modules only: a domain imported here, before app.py's gc.freeze(), would hide its objects from tests
    # that walk gc.get_objects()
    from chalicelib.core import auth, totp

    _wrap(auth, "hash_password", on_args=lambda password: register(password), on_result=register)
    _wrap(auth, "generate_password", on_result=register)
    _wrap(auth, "new_api_key", on_result=lambda r: register(r[0]))
    _wrap(auth, "new_refresh_token", on_result=lambda r: register(r[0]))
    _wrap(auth, "issue_access_token", on_result=lambda r: register(r[0]))
    _wrap(auth, "encode_with_setting", on_result=register)
    _wrap(totp, "new_secret", on_result=register)
    _wrap(totp, "new_recovery_codes", on_result=_register_all)
    # a login challenge is hashed (auth.sha256) as it is issued, and only then stored
    _wrap(auth, "sha256", on_args=lambda value: register(value) if value.startswith("wdc_") else None)


def _register_settings() -> None:
    from urllib.parse import urlsplit

    for name in ("JWT_SECRET", "TOTP_KEY", "APP_DATABASE_PASSWORD", "OWNER_DATABASE_PASSWORD"):
        register(os.environ.get(name))
    for name in ("DATABASE_URL", "APP_DATABASE_URL", "TEST_DATABASE_ADMIN_URL"):
        url = os.environ.get(name)
        if url:
            register(urlsplit(url).password)


def install(directory: Path, worker: str) -> None:
    """Capture this process's log records into `directory` and register its secrets there."""
    if _state.get("dir") == directory:
        return
    directory.mkdir(parents=True, exist_ok=True)
    _state.update(dir=directory, worker=worker, secrets=directory / f"secrets-{worker}.txt")
    handler = logging.FileHandler(directory / f"log-{worker}.txt", encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.DEBUG)
    _state["handler"] = handler
    # the app's loggers do not propagate to the root (core/logs.py): capture both
    for logger in (logging.getLogger("wdk"), logging.getLogger()):
        logger.addHandler(handler)
    os.environ[ENV] = str(directory)
    _watch_secret_makers()
    _register_settings()


def install_in_child() -> None:
    """For a process a test spawns (not forks): capture into the session's directory, if there is one."""
    directory = os.environ.get(ENV)
    if directory:
        install(Path(directory), f"child-{os.getpid()}")


def keep_file(path: Path, name: str) -> None:
    """Copy a subprocess's log (it may still be written to) into the session's directory, to be scanned."""
    directory = _state.get("dir")
    if directory is not None and path.is_file():
        shutil.copyfile(path, directory / name)


def scan_directory(directory: Path, extra_secrets: Iterable[str] = ()) -> tuple[list[Finding], int]:
    """Every finding in the directory's logs, and how many lines were scanned."""
    secrets = list(extra_secrets)
    for f in sorted(directory.glob("secrets-*.txt")):
        secrets += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line]
    scanner = Scanner(secrets)
    findings: list[Finding] = []
    lines = 0
    for f in sorted(directory.iterdir()):
        if f.name.startswith("secrets-"):
            continue
        findings += scanner.scan_file(f)
        with f.open(encoding="utf-8", errors="replace") as text:
            lines += sum(1 for _ in text)
    return findings, lines


# --- pytest hooks (tests/conftest.py imports these) -------------------------------------------------------------

def pytest_configure(config: Any) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        directory = Path(workerinput[ENV])
    else:
        directory = Path(tempfile.mkdtemp(prefix="wd-logscan-"))
        config._wdk_logscan_dir = directory
    install(directory, _worker_name())


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: tell each worker the session's directory."""
    node.workerinput[ENV] = str(node.config._wdk_logscan_dir)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    keep_server_log()
    handler = _state.get("handler")
    if handler is not None:
        handler.flush()
    if getattr(session.config, "workerinput", None) is not None:
        return  # the controller scans, once every worker is done
    directory: Path = session.config._wdk_logscan_dir
    findings, lines = scan_directory(directory)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if findings:
        message = [f"secrets found in the session's logs ({len(findings)}; kept in {directory}):"]
        message += [f"  {f}" for f in findings[:50]]
        if len(findings) > 50:
            message.append(f"  ... and {len(findings) - 50} more")
        text = "\n".join(message)
        if reporter is not None:
            reporter.write_line(text, red=True, bold=True)
        else:
            print(text)  # noqa: T201
        session.exitstatus = 1
        return
    if os.environ.get("WDK_LOGSCAN_KEEP"):
        message = f"log scan: {lines} log lines, no secret (kept in {directory})"
    else:
        message = f"log scan: {lines} log lines, no secret"
        shutil.rmtree(directory, ignore_errors=True)
    if reporter is not None:
        reporter.write_line(message)


def keep_server_log() -> None:
    """Copy this worker's PostgreSQL log into the session's directory now (at the latest when the session ends; the
    fixture that stops the server calls it before the server's directory is deleted)."""
    server_log = _state.get("pg_log")
    if server_log is not None:
        keep_file(server_log, f"postgresql-{_worker_name()}.log")


def watch_server_log(path: Path) -> None:
    """The embedded PostgreSQL server's log of this worker, copied for the scan at the end of the session."""
    _state["pg_log"] = path
