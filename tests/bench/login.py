"""The login figure: a login's p95 with the atomic lockout over the login as it was before it, in the same run.

Today's login (`chalicelib.firms.service.login`) reserves the password check in its own committed transaction
(`auth_login_begin`: one INSERT ... ON CONFLICT on the pair's row), checks the password, then records the outcome
(`auth_login_outcome`) with the new session and the audit event. The baseline is the sequence the login had
before the reservation (commit f9f9f52, `firms/service.py` `login`), rebuilt step for step below on today's
primitives (the same pool, `db.lookup`, `db.transaction`, session insert, token and audit event): read the user
and its lock (`auth_user_by_email`), check the password, record the result (the old `UPDATE users` statements,
verbatim). Rebuilt rather than imported from git so that both run in one process against one schema with the same
connection, tenancy and session code: only the lockout differs, which is what the figure is about.

Both run as service calls (the HTTP pipeline in front of them is the same for both), interleaved in rounds whose
order alternates, for a right password (the headline: what every user pays) and a wrong one (the counters'
rows reset between samples, untimed, so neither side ever meets a lock). argon2id (m=19 MiB, t=2) dominates both.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.bench.common import PASSWORD, p50, pct, say

TARGET = 1.1


@dataclass
class LoginResult:
    samples: dict[str, list[float]] = field(default_factory=dict)  # "new_ok", "old_ok", "new_wrong", "old_wrong"
    rounds: int = 0
    per_round: int = 0

    def ratio(self, outcome: str = "ok", p: float = 95) -> float:
        return pct(self.samples[f"new_{outcome}"], p) / pct(self.samples[f"old_{outcome}"], p)


def previous_login(ctx: Any, email: str, password: str) -> Any:
    """The login before the atomic reservation, step for step (its statements verbatim): read the user and the
    lock, check the password, then record the failure or the success in a second transaction."""
    from chalicelib.core import audit, auth, db, errors
    from chalicelib.firms import service

    email = email.lower()
    with db.lookup(ctx) as tx:
        found = tx.one("SELECT * FROM auth_user_by_email(%s)", (email,))
    if found is None:
        auth.burn_password_check(password)
        raise errors.Unauthorized("bad login")
    user_ctx = service.acting_as(ctx, found["firm_id"], found["id"], found["role"])
    locked = found["locked_until"] is not None and found["locked_until"] > datetime.now(UTC)
    if locked or not found["active"]:
        auth.burn_password_check(password)
        raise errors.Unauthorized("bad login")
    if not auth.verify_password(found["password_hash"], password):
        with db.transaction(user_ctx) as tx:
            after = tx.one(
                "UPDATE users SET failed_logins = CASE WHEN failed_logins + 1 >= %(max)s THEN 0 "
                "ELSE failed_logins + 1 END, locked_until = CASE WHEN failed_logins + 1 >= %(max)s "
                "THEN now() + make_interval(mins => %(mins)s) ELSE locked_until END WHERE id = %(id)s "
                "RETURNING failed_logins, locked_until", {"max": 5, "mins": 30, "id": found["id"]})
            audit.record(tx, "auth.login_failed", "user", found["id"],
                         {"failed_logins": found["failed_logins"]}, dict(after))
        raise errors.Unauthorized("bad login")
    with db.transaction(user_ctx) as tx:
        tx.execute("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now() WHERE id = %s",
                   (found["id"],))
        tokens = service._new_session(tx, found["id"], found["firm_id"], found["role"], uuid.uuid4())
        audit.record(tx, "auth.login", "user", found["id"], None, None)
    return tokens


def _reset(user_id: Any) -> None:
    """Untimed, between wrong-password samples: no lock or window from earlier samples on either side."""
    from chalicelib.core import db

    with db.owner_connection() as conn:
        conn.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = %s", (user_id,))
        conn.execute("DELETE FROM login_throttle WHERE user_id = %s", (user_id,))
        conn.execute("DELETE FROM login_failures WHERE user_id = %s", (user_id,))


def measure(*, rounds: int = 20, per_round: int = 10) -> LoginResult:
    from chalicelib.core import errors
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service

    tag = uuid.uuid4().hex[:8]
    _firm, admin, _ = service.create_firm(f"Login bench {tag}", f"login-{tag}@bench-{tag}.co.uk", "Bench", PASSWORD)
    email, user_id = admin["email"], admin["id"]
    source = "198.51.100.7"
    result = LoginResult(rounds=rounds, per_round=per_round)
    for kind in ("new_ok", "old_ok", "new_wrong", "old_wrong"):
        result.samples[kind] = []
    perf = time.perf_counter

    def new_ok(n: int, out: list[float]) -> None:
        for _ in range(n):
            t = perf()
            service.login(RequestContext(ip=source), email, PASSWORD)
            out.append(perf() - t)

    def old_ok(n: int, out: list[float]) -> None:
        for _ in range(n):
            t = perf()
            previous_login(RequestContext(ip=source), email, PASSWORD)
            out.append(perf() - t)

    def wrong(login: Any) -> Any:
        def run(n: int, out: list[float]) -> None:
            for i in range(n):
                _reset(user_id)
                t = perf()
                try:
                    login(RequestContext(ip=source), email, f"wrong-{i}")
                except errors.Unauthorized:
                    pass
                else:
                    raise RuntimeError("a wrong password was accepted")
                out.append(perf() - t)
        return run

    steps = [("new_ok", new_ok), ("old_ok", old_ok), ("new_wrong", wrong(service.login)),
             ("old_wrong", wrong(previous_login))]
    say("login: warm-up")
    for _kind, fn in steps:
        fn(3, [])
    say(f"login: {rounds} interleaved rounds x {per_round} logins of each kind")
    for r in range(rounds):
        for kind, fn in (steps if r % 2 == 0 else list(reversed(steps))):
            fn(per_round, result.samples[kind])
        if (r + 1) % 5 == 0:
            say(f"  round {r + 1}/{rounds}: right password p95 {pct(result.samples['new_ok'], 95) * 1e3:.1f} ms "
                f"(before the reservation {pct(result.samples['old_ok'], 95) * 1e3:.1f} ms)")
    _reset(user_id)
    return result


def verdicts(r: LoginResult) -> list[tuple[str, str, str, bool]]:
    from tests.bench.report import _ms, _x

    ok, bad = r.samples, r.ratio("wrong")
    return [
        (("Login: p95 with the atomic lockout / the login before it (right password; service call, argon2id "
         "in both)"),
         (f"{_x(r.ratio())} ({_ms(pct(ok['new_ok'], 95))} / {_ms(pct(ok['old_ok'], 95))}); wrong password "
         f"{_x(bad)} ({_ms(pct(ok['new_wrong'], 95))} / {_ms(pct(ok['old_wrong'], 95))})"),
         f"≤ {TARGET:g}x", r.ratio() <= TARGET),
    ]


def render(r: LoginResult) -> list[str]:
    from tests.bench.report import _ms, _x

    s = r.samples
    out = ["## Login with the atomic lockout\n",
           ("Today's login reserves the password check in its own committed transaction before checking it "
           "(docs/security.md); the baseline is the login's previous sequence (read the lock, check, record), "
           "rebuilt statement for statement in tests/bench/login.py on today's primitives, in the same process, "
           f"interleaved: {r.rounds} rounds x {r.per_round} logins of each kind, the order alternating by round.\n"),
           "| login | today p50 | today p95 | before p50 | before p95 | p95 ratio |",
           "|---|---|---|---|---|---|"]
    for outcome, label in (("ok", "right password"), ("wrong", "wrong password")):
        new, old = s[f"new_{outcome}"], s[f"old_{outcome}"]
        out.append(f"| {label} | {_ms(p50(new))} | {_ms(pct(new, 95))} | {_ms(p50(old))} | {_ms(pct(old, 95))} | "
                   f"{_x(r.ratio(outcome))} |")
    out.append("\nThe extra cost is one write and its commit before the argon2 check (the reservation); argon2id "
               "(m=19 MiB, t=2) takes most of either login.\n")
    return out
