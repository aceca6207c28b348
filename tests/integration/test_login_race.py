"""The lockout holds under concurrency: at most 5 password checks per lock window, whatever races.

Four OS processes (multiprocessing, spawn: each its own interpreter, connection pool and argon2) wait on one
barrier, then each fires 6 logins at once from its own threads: 24 concurrent requests for one account, from one
source address, all through the real request pipeline (`core.http.handle` with an API Gateway event, the same call
Chalice makes for the route; a Request object per thread, since a Chalice app holds one `current_request`).

What is counted is what matters: every argon2 computation with the account's salt and parameters
(`auth.encode_with_setting`, whose result PostgreSQL compares with the hash: the app never holds it, migration
0018), in every process (shared counter), and independently the database's own record of the checks (one
auth.login_failed event per failed check, one auth.login per success). A lock window may see at most 5 of them.
The code before the atomic reservation read the lock, checked the password, then recorded the failure, so
requests that read "not locked" before the first failure was recorded all checked their password: 8 to 24 checks
here, and a success mixed in reset the counter after the lock was set.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import threading
import uuid
from typing import Any

import pytest

from tests.conftest import PASSWORD, Firm, owner_sql

PROCESSES = 4
PER_PROCESS = 6  # 24 concurrent logins in all
MAX_CHECKS = 5
SOURCE = "198.51.100.23"


def _event(email: str, password: str, source: str) -> dict[str, Any]:
    return {
        "resource": "/v1/auth/login", "path": "/v1/auth/login", "httpMethod": "POST",
        "headers": {"content-type": "application/json", "user-agent": "race-test",
                    "x-forwarded-for": f"10.0.{uuid.uuid4().int % 250}.1"},  # must be ignored
        "multiValueQueryStringParameters": None, "pathParameters": {}, "stageVariables": None,
        "requestContext": {"httpMethod": "POST", "resourcePath": "/v1/auth/login", "path": "/v1/auth/login",
                           "requestId": str(uuid.uuid4()), "identity": {"sourceIp": source}},
        "body": json.dumps({"email": email, "password": password}), "isBase64Encoded": False,
    }


def _child(barrier: Any, checks: Any, real_hash: str, email: str, passwords: list[str], source: str,
           out: Any) -> None:
    """One process: a pool connection per thread, every check of the account's password counted, then the logins
    at once."""
    from tests import logscan

    logscan.install_in_child()  # its log records are scanned for secrets with the session's
    os.environ["DB_POOL_MAX"] = str(len(passwords))
    from chalice.app import Request

    from chalicelib.core import auth, db
    from chalicelib.core.http import handle
    from chalicelib.core.routing import declared

    spec, handler = next((s, h) for s, h in declared("chalicelib.firms.routes") if s.name == "login")
    encode = auth.encode_with_setting
    setting = real_hash.rsplit("$", 1)[0]  # the salt and parameters: the app never holds the hash itself

    def counting(password_setting: str, password: str) -> str | None:
        if password_setting == setting:
            with checks.get_lock():
                checks.value += 1
        return encode(password_setting, password)

    auth.encode_with_setting = counting
    auth.burn_password_check("warm-up")  # the dummy hash is made before the race, not inside it
    with db.pool().connection():
        pass
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(len(passwords))

    def one(password: str) -> None:
        request = Request(_event(email, password, source))
        start.wait()
        status = handle(request, spec, handler, {}).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one, args=(p,)) for p in passwords]
    barrier.wait(timeout=120)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    db.close_pools()
    out.put(statuses)


def burst(email: str, real_hash: str, passwords: list[list[str]], source: str = SOURCE) -> tuple[int, list[int]]:
    """Fire passwords[i] from process i, all at once: (password checks counted in the processes, statuses)."""
    ctx = mp.get_context("spawn")
    barrier, checks, out = ctx.Barrier(len(passwords)), ctx.Value("i", 0), ctx.Queue()
    procs = [ctx.Process(target=_child, args=(barrier, checks, real_hash, email, p, source, out))
             for p in passwords]
    for p in procs:
        p.start()
    statuses = [s for _ in procs for s in out.get(timeout=300)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return checks.value, statuses


def _hash_of(user_id: Any) -> str:
    return owner_sql("SELECT password_hash FROM users WHERE id = %s", (user_id,))[0]["password_hash"]


def _checks_recorded(firm: Firm, user_id: Any) -> int:
    """The database's own count of password checks: failed ones and successful sign-ins."""
    return owner_sql("SELECT count(*) AS n FROM audit_events WHERE firm_id = %s AND resource_id = %s "
                     "AND action IN ('auth.login_failed', 'auth.login')", (firm.id, str(user_id)))[0]["n"]


def _lapse_locks(user_id: Any) -> None:
    """As if 30 minutes had passed: the pair's lock (and window) lapse."""
    owner_sql("UPDATE login_throttle SET locked_until = now() - interval '1 second', "
              "window_started = now() - interval '31 minutes' WHERE user_id = %s", (user_id,))


def _wrong(n: int, tag: str) -> list[str]:
    return [f"wrong-{tag}-{i}" for i in range(n)]


@pytest.fixture
def target(fresh_firm: Firm) -> tuple[Firm, dict[str, Any], str]:
    user = fresh_firm.users["adviser"]
    return fresh_firm, user, _hash_of(user["id"])


def test_24_concurrent_wrong_passwords_from_4_processes_check_at_most_5_per_lock_window(target: Any) -> None:
    firm, user, real_hash = target
    before = _checks_recorded(firm, user["id"])
    for window in range(2):
        recorded = _checks_recorded(firm, user["id"])
        checked, statuses = burst(user["email"], real_hash,
                                  [_wrong(PER_PROCESS, f"{window}-{p}") for p in range(PROCESSES)])
        assert statuses == [401] * PROCESSES * PER_PROCESS
        assert checked <= MAX_CHECKS, f"window {window}: {checked} password checks ran"
        assert checked == MAX_CHECKS  # and the budget is used, not refused outright
        assert _checks_recorded(firm, user["id"]) - recorded == checked  # the database agrees
        # the pair is locked: the right password from the same address is refused without a check
        checked, statuses = burst(user["email"], real_hash, [[PASSWORD]])
        assert (checked, statuses) == (0, [401])
        _lapse_locks(user["id"])
    assert _checks_recorded(firm, user["id"]) - before == 2 * MAX_CHECKS
    # after the lock lapses the right password works again
    checked, statuses = burst(user["email"], real_hash, [[PASSWORD]])
    assert (checked, statuses) == (1, [200])


def test_a_correct_login_mixed_into_the_race_reopens_nothing(target: Any) -> None:
    """One right password per process among 20 wrong ones: still at most 5 checks in the window, and the pair
    ends locked (a success never resets a window that a failure has locked, nor one with checks in flight)."""
    firm, user, real_hash = target
    for window in range(2):
        recorded = _checks_recorded(firm, user["id"])
        mixed = [[*_wrong(PER_PROCESS - 1, f"{window}-{p}"), PASSWORD] for p in range(PROCESSES)]
        checked, statuses = burst(user["email"], real_hash, mixed)
        assert checked <= MAX_CHECKS, f"window {window}: {checked} password checks ran"
        assert _checks_recorded(firm, user["id"]) - recorded == checked
        assert sorted(set(statuses)) in ([401], [200, 401])
        assert statuses.count(200) <= PROCESSES
        if statuses.count(200) < checked:  # at least one wrong password was checked: the pair is locked
            checked, statuses = burst(user["email"], real_hash, [[PASSWORD]])
            assert (checked, statuses) == (0, [401])
        _lapse_locks(user["id"])


def test_the_race_from_another_address_is_not_blocked_by_the_first(target: Any) -> None:
    """The lock belongs to the (account, address) pair: a burst from one address leaves another's budget whole."""
    _firm, user, real_hash = target
    checked, _ = burst(user["email"], real_hash, [_wrong(PER_PROCESS, f"a{p}") for p in range(PROCESSES)])
    assert checked == MAX_CHECKS
    checked, statuses = burst(user["email"], real_hash, [[PASSWORD]], source="203.0.113.99")
    assert (checked, statuses) == (1, [200])
