"""The login figure: a login's p95 with the atomic lockout over the login as it was before it, in the same run.

Today's login (`chalicelib.firms.service.login`) reserves the password check in its own committed transaction
(`auth_login_begin`: one INSERT ... ON CONFLICT on the pair's row, which gives the hash's salt), computes argon2,
then has PostgreSQL compare it and settle the outcome (`auth_enter_password`), writing the new session and the
audit event in the firm so entered. The baseline is the sequence the login had before the reservation under the
same verified tenancy (the tenancy change's `firms/service.py` `login`), rebuilt step for step below on today's
primitives (the same pool, `db.lookup`, `db.transaction`, session insert, token and audit event): read the user
and its lock (`auth_user_by_email`), compute argon2, compare and record the result in PostgreSQL (that change's
`auth_enter_password`, verbatim, installed under another name in the bench's database). Rebuilt rather than
imported from git so that both run in one process against one schema with the same connection, tenancy and
session code: only the lockout differs, which is what the figure is about.

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


# The password comparison the login had before the reservation (migration 0018 as it was before the lockout joined
# it): compare in PostgreSQL, count a failure on the user's row, the fifth in a row locking the account. Installed
# under its own name in the bench's database only, for previous_login.
_PREVIOUS_ENTER = """
CREATE OR REPLACE FUNCTION bench_previous_enter_password(p_user uuid, p_encoded text, p_request_id text, p_ip text,
                                                         p_user_agent text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    u record;
    failures integer;
    locked timestamptz;
BEGIN
    SELECT x.id, x.firm_id, x.password_hash, x.active, x.failed_logins, x.locked_until
    INTO u FROM users x WHERE x.id = p_user FOR UPDATE;
    IF NOT FOUND OR NOT u.active OR (u.locked_until IS NOT NULL AND u.locked_until > now()) THEN
        RETURN 'refused';
    END IF;
    IF p_encoded IS NOT NULL
       AND sha256(convert_to(u.password_hash, 'UTF8')) IS NOT DISTINCT FROM sha256(convert_to(p_encoded, 'UTF8')) THEN
        UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now() WHERE id = u.id;
        PERFORM auth_enter(u.firm_id, 'user', u.id);
        RETURN 'ok';
    END IF;
    failures := CASE WHEN u.failed_logins + 1 >= 5 THEN 0 ELSE u.failed_logins + 1 END;
    locked := CASE WHEN u.failed_logins + 1 >= 5 THEN now() + interval '30 minutes' ELSE u.locked_until END;
    UPDATE users SET failed_logins = failures, locked_until = locked WHERE id = u.id;
    INSERT INTO audit_events (firm_id, actor_type, actor_id, action, resource_type, resource_id, before, after,
                              changed_fields, request_id, ip, user_agent)
    VALUES (u.firm_id, 'user', u.id, 'auth.login_failed', 'user', u.id::text,
            jsonb_build_object('failed_logins', u.failed_logins),
            jsonb_build_object('failed_logins', failures, 'locked_until', locked),
            ARRAY(SELECT f FROM unnest(ARRAY['failed_logins', 'locked_until']) AS f
                  WHERE (f = 'failed_logins' AND failures IS DISTINCT FROM u.failed_logins)
                     OR (f = 'locked_until' AND locked IS NOT NULL)),
            p_request_id, p_ip, p_user_agent);
    RETURN 'wrong';
END $$;
"""


def install_previous() -> None:
    from chalicelib.core import config, db

    with db.owner_connection() as conn:
        conn.execute(_PREVIOUS_ENTER)
        conn.execute(f"GRANT EXECUTE ON FUNCTION bench_previous_enter_password(uuid, text, text, text, text) "
                     f"TO {config.APP_ROLE}")


def previous_login(ctx: Any, email: str, password: str) -> Any:
    """The login before the atomic reservation, step for step (its statements verbatim): read the user, its lock
    and the hash's salt, compute argon2, have PostgreSQL compare it and record a failure (or enter the firm), then
    write the session in the firm so entered."""
    from chalicelib.core import audit, auth, db, errors
    from chalicelib.firms import service, store

    email = email.lower()
    with db.lookup(ctx) as tx:
        found = tx.one("SELECT * FROM auth_user_by_email(%s)", (email,))
    if found is None:
        auth.burn_password_check(password)
        raise errors.Unauthorized("bad login")
    locked = found["locked_until"] is not None and found["locked_until"] > datetime.now(UTC)
    if locked or not found["active"]:
        auth.burn_password_check(password)
        raise errors.Unauthorized("bad login")
    encoded = auth.encode_with_setting(found["password_setting"], password)
    tokens = None
    with db.lookup(ctx) as tx:
        outcome = tx.one("SELECT bench_previous_enter_password(%s, %s, %s, %s, %s) AS outcome",
                         (found["id"], encoded, ctx.request_id, ctx.ip, ctx.user_agent))["outcome"]
        if outcome == "ok":
            tx.entered = found["firm_id"]
            with db.transaction(service.acting_as(ctx, found["firm_id"], found["id"], found["role"])) as tx:
                ended = store.end_oldest_sessions(tx, found["id"], service.MAX_SESSIONS - 1)
                tokens = service._new_session(tx, found["id"], found["firm_id"], found["role"], uuid.uuid4())
                audit.record(tx, "auth.login", "user", found["id"], None,
                             {"sessions_ended": [str(c) for c in ended]} if ended else None)
    if tokens is None:
        raise errors.Unauthorized("bad login")
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

    install_previous()
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
