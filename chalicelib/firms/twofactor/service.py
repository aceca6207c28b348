"""Two-factor sign-in with TOTP (RFC 6238): the rules. docs/security.md tells the flow.

A login whose password is right gets a challenge instead of tokens when the user has two-factor on (`totp`) or
the firm requires it and the user has not enrolled (`totp_enrolment`). The challenge lives 5 minutes, works once,
and dies after 5 wrong codes. Every code checked at sign-in, or to turn two-factor off, first reserves a check of
the (user, source address) pair in its own committed transaction, exactly like a password
(firms.service.login), and a wrong code counts as a failed sign-in: a code cannot be guessed faster than a
password. A code is accepted once (its time step must be after the last one accepted); a recovery code once.
The secret is returned only by the enrolment call and is stored encrypted (core/totp.py).
"""
from __future__ import annotations

import secrets as pysecrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from chalicelib.core import audit, auth, db, errors, totp
from chalicelib.core import store as core_store
from chalicelib.core.context import RequestContext
from chalicelib.firms import service as firms
from chalicelib.firms import store as firms_store
from chalicelib.firms.twofactor import store

CHALLENGE_SECONDS = 300
_BAD_CHALLENGE = "The challenge is not valid: it expired, was used, or had too many wrong codes; sign in again"
_LOCKED = (f"Too many failed attempts from your address: try again in up to {firms.LOCK_MINUTES} minutes")
_WRONG_CODE = "The code is wrong, or was already used"


def issue_challenge(tx: db.Tx, user_id: UUID, purpose: str) -> firms.Challenge:
    """A new challenge for the user (in the login's transaction); only its hash is stored."""
    token = "wdc_" + pysecrets.token_urlsafe(32)
    store.insert_challenge(tx, user_id, auth.sha256(token), purpose, CHALLENGE_SECONDS)
    return firms.Challenge(challenge=token, challenge_type=purpose, expires_in=CHALLENGE_SECONDS)


def has_two_factor(tx: db.Tx, user_id: UUID | None) -> bool:
    row = store.get_totp(tx, user_id) if user_id is not None else None
    return row is not None and row["confirmed_at"] is not None


def _check_code(tx: db.Tx, user_id: UUID, code: str) -> bool:
    """A TOTP code of the user's confirmed enrolment, for a time step after the last one accepted (then that step
    is recorded: the same code never works twice)."""
    row = store.get_totp(tx, user_id, for_update=True)
    if row is None or row["confirmed_at"] is None:
        return False
    secret = totp.decrypt_secret(row["secret"], user_id)
    step = totp.matching_step(secret, code, after_step=row["last_step"])
    return step is not None and store.accept_step(tx, user_id, step)


def _check_recovery_code(tx: db.Tx, user_id: UUID, code: str) -> bool:
    code_hash = totp.recovery_hash(code)
    return code_hash is not None and store.use_recovery_code(tx, user_id, code_hash)


def _begin(ctx: RequestContext, challenge: str, purpose: str, *, reserve: bool) -> dict[str, Any]:
    """The live challenge (and a reserved check), committed before any code is checked."""
    with db.lookup(ctx) as tx:
        found = store.challenge_begin(tx, auth.sha256(challenge), purpose, firms.source_of(ctx), reserve=reserve)
    if found is None:
        raise errors.Unauthorized(_BAD_CHALLENGE)
    if reserve and found["attempt"] is None:
        raise errors.Unauthorized(_LOCKED)
    return found


def _user_ctx(ctx: RequestContext, found: dict[str, Any]) -> RequestContext:
    return firms.acting_as(ctx, found["firm_id"], found["user_id"], found["role"])


@contextmanager
def _in_firm(ctx: RequestContext, challenge: str, purpose: str, found: dict[str, Any]) -> Iterator[db.Tx]:
    """A transaction in the challenge's firm: the user has no session yet, so the challenge itself (the answer to
    a right password) is the credential PostgreSQL verifies before entering the firm (auth_enter_challenge,
    migration 0018). The code is checked in it; whether the challenge is still unused is the caller's check."""
    with db.lookup(ctx) as tx:
        entered = core_store.enter_with_challenge(tx, auth.sha256(challenge), purpose)
        if entered is None or entered["challenge_id"] != found["challenge_id"]:  # expired or the user changed
            raise errors.Unauthorized(_BAD_CHALLENGE)
        with db.transaction(_user_ctx(ctx, found)) as tx:
            yield tx


# --- the login's second step ---

def verify_login(ctx: RequestContext, challenge: str, code: str | None, recovery_code: str | None) -> firms.Tokens:
    """A `totp` challenge answered with a code or a recovery code: the tokens (the refresh token of this session
    exists only from here on), or 401 with the failure counted towards the lockout."""
    found = _begin(ctx, challenge, "totp", reserve=True)
    user_id, source, attempt = found["user_id"], firms.source_of(ctx), found["attempt"]
    factor = "totp" if code is not None else "recovery_code"
    with _in_firm(ctx, challenge, "totp", found) as tx:
        if store.lock_challenge(tx, found["challenge_id"]) is None:  # answered meanwhile by a concurrent request
            firms_store.login_outcome(tx, user_id, source, attempt, "partial")
            spent = True
        else:
            spent = False
            right = (_check_code(tx, user_id, code) if code is not None
                     else _check_recovery_code(tx, user_id, recovery_code or ""))
            if right:
                store.use_challenge(tx, found["challenge_id"])
                after: dict[str, Any] = {"second_factor": factor}
                if factor == "recovery_code":
                    after["recovery_codes_left"] = left = store.recovery_codes_left(tx, user_id)
                    _tell(tx, user_id, "security.recovery_code_used", "A recovery code was used to sign in", (
                        f"Someone signed in to your account with one of your recovery codes; {left} are left. "
                        "If it was not you, tell your administrator at once."), {"recovery_codes_left": left})
                return firms.finish_login(tx, user_id, found["firm_id"], found["role"], source, attempt, after)
            store.challenge_failed(tx, found["challenge_id"])
            firms.settle_failure(tx, user_id, source, attempt, factor=factor)
    raise errors.Unauthorized(_BAD_CHALLENGE if spent else _WRONG_CODE)


# --- enrolment ---

def _start_enrolment(tx: db.Tx, user_id: UUID) -> dict[str, str]:
    secret = totp.new_secret()
    if not store.put_pending_totp(tx, user_id, totp.encrypt_secret(secret, user_id)):
        raise errors.Conflict("Two-factor sign-in is already on; turn it off first to enrol another device")
    audit.record(tx, "auth.totp_enrol_started", "user", user_id, None, None)
    return {"secret": secret, "otpauth_uri": totp.provisioning_uri(secret, store.user_email(tx, user_id) or "")}


def _confirm(tx: db.Tx, user_id: UUID, code: str, *, audited: bool = True) -> list[str] | None:
    """The pending enrolment confirmed by a code of its secret: the ten recovery codes (shown once, stored as
    hashes). None when the code is wrong; 409 when there is no pending enrolment to confirm. `audited`: False when
    the caller's own event says so (a sign-in that enrols: auth.login with enrolled: true)."""
    row = store.get_totp(tx, user_id, for_update=True)
    if row is None or row["confirmed_at"] is not None:
        raise errors.Conflict("There is no enrolment to confirm: start with the enrol call")
    if not row["fresh"]:
        raise errors.Conflict("The enrolment expired (10 minutes): start again with the enrol call")
    step = totp.matching_step(totp.decrypt_secret(row["secret"], user_id), code, after_step=None)
    if step is None:
        return None
    store.confirm_totp(tx, user_id, step)
    codes = totp.new_recovery_codes()
    store.replace_recovery_codes(tx, user_id, [totp.recovery_hash(c) for c in codes])  # type: ignore[misc]
    if audited:
        audit.record(tx, "auth.totp_enabled", "user", user_id, None, {"recovery_codes": len(codes)})
    return codes


def enrol_at_login(ctx: RequestContext, challenge: str) -> dict[str, str]:
    """A `totp_enrolment` challenge (the firm requires two-factor): a new secret for the user to confirm."""
    found = _begin(ctx, challenge, "totp_enrolment", reserve=False)
    try:
        with _in_firm(ctx, challenge, "totp_enrolment", found) as tx:
            return _start_enrolment(tx, found["user_id"])
    except errors.Conflict as exc:  # enrolled meanwhile (another sign-in): answer the challenge with a code
        raise errors.Unprocessable(exc.detail) from None


def confirm_at_login(ctx: RequestContext, challenge: str, code: str) -> tuple[firms.Tokens, list[str]]:
    """A `totp_enrolment` challenge answered with a code of the new secret: two-factor is on, and the sign-in
    completes (tokens and the recovery codes). A wrong code counts towards the lockout."""
    found = _begin(ctx, challenge, "totp_enrolment", reserve=True)
    user_id, source, attempt = found["user_id"], firms.source_of(ctx), found["attempt"]
    refusal: errors.ApiError = errors.Unauthorized(_BAD_CHALLENGE)
    with _in_firm(ctx, challenge, "totp_enrolment", found) as tx:
        if store.lock_challenge(tx, found["challenge_id"]) is None:  # answered meanwhile
            firms_store.login_outcome(tx, user_id, source, attempt, "partial")
        else:
            row = store.get_totp(tx, user_id)
            if row is None or row["confirmed_at"] is not None or not row["fresh"]:
                firms_store.login_outcome(tx, user_id, source, attempt, "partial")
                refusal = errors.Unprocessable(
                    "There is no enrolment to confirm: call POST /v1/auth/2fa/enrol with the challenge first")
            else:
                codes = _confirm(tx, user_id, code, audited=False)
                if codes is not None:
                    store.use_challenge(tx, found["challenge_id"])
                    tokens = firms.finish_login(tx, user_id, found["firm_id"], found["role"], source, attempt,
                                                {"second_factor": "totp", "enrolled": True,
                                                 "recovery_codes": len(codes)})
                    return tokens, codes
                store.challenge_failed(tx, found["challenge_id"])
                firms.settle_failure(tx, user_id, source, attempt, factor="totp")
                refusal = errors.Unauthorized(_WRONG_CODE)
    raise refusal


# --- the signed-in user ---

def _me(ctx: RequestContext) -> UUID:
    principal = ctx.principal
    if principal is None or principal.kind != "user" or principal.id is None:
        raise errors.Unprocessable("Two-factor sign-in is a user's; an API key has none")
    return principal.id


def status(ctx: RequestContext) -> dict[str, Any]:
    user_id = _me(ctx)
    with db.transaction(ctx) as tx:
        row = store.get_totp(tx, user_id)
        on = row is not None and row["confirmed_at"] is not None
        return {"enabled": on, "enabled_at": row["confirmed_at"] if on else None,
                "recovery_codes_left": store.recovery_codes_left(tx, user_id) if on else 0,
                "required_by_firm": store.firm_requires_two_factor(tx)}


def enrol(ctx: RequestContext) -> dict[str, str]:
    user_id = _me(ctx)
    with db.transaction(ctx) as tx:
        return _start_enrolment(tx, user_id)


def confirm(ctx: RequestContext, code: str) -> list[str]:
    """The signed-in user's pending enrolment confirmed: the recovery codes. A wrong code is a 422 (the caller is
    signed in and was just shown the secret: nothing is being guessed)."""
    user_id = _me(ctx)
    with db.transaction(ctx) as tx:
        codes = _confirm(tx, user_id, code)
    if codes is None:
        raise errors.Unprocessable(_WRONG_CODE, errors=[{"field": "code", "message": "wrong or already used"}])
    return codes


def disable(ctx: RequestContext, code: str | None, recovery_code: str | None) -> None:
    """Two-factor off, with a current code or a recovery code (a stolen access token alone cannot). The check is
    reserved and counted like a sign-in's. Refused while the firm requires two-factor."""
    user_id = _me(ctx)
    source = firms.source_of(ctx)
    with db.transaction(ctx) as tx:
        if not has_two_factor(tx, user_id):
            raise errors.Conflict("Two-factor sign-in is not on")
        if store.firm_requires_two_factor(tx):
            raise errors.Conflict("Your firm requires two-factor sign-in; an administrator can reset yours")
        attempt = firms_store.reserve_check(tx, user_id, source)
    if attempt is None:
        raise errors.Forbidden(_LOCKED)
    factor = "totp" if code is not None else "recovery_code"
    refusal: errors.ApiError | None = None
    with db.transaction(ctx) as tx:
        if store.firm_requires_two_factor(tx, for_share=True):  # changed meanwhile: waits for that change
            firms_store.login_outcome(tx, user_id, source, attempt, "partial")
            refusal = errors.Conflict("Your firm requires two-factor sign-in; an administrator can reset yours")
        elif (_check_code(tx, user_id, code) if code is not None
              else _check_recovery_code(tx, user_id, recovery_code or "")):
            firms_store.login_outcome(tx, user_id, source, attempt, "partial")
            store.delete_totp(tx, user_id)
            audit.record(tx, "auth.totp_disabled", "user", user_id, None, {"with": factor})
            _tell(tx, user_id, "security.two_factor_disabled", "Two-factor sign-in was turned off",
                  "Two-factor sign-in was turned off for your account. If it was not you, tell your administrator "
                  "at once.", {})
        else:
            firms.settle_failure(tx, user_id, source, attempt, factor=factor)
            refusal = errors.Unprocessable(_WRONG_CODE, errors=[
                {"field": "code" if code is not None else "recovery_code", "message": "wrong or already used"}])
    if refusal is not None:
        raise refusal


def reset(ctx: RequestContext, user_id: UUID) -> None:
    """An admin removes a user's two-factor enrolment (a lost device): their sessions end, and they enrol again
    (at their next sign-in when the firm requires it)."""
    with db.transaction(ctx) as tx:
        if firms_store.get_user(tx, user_id) is None:
            raise errors.NotFound("No such user")
        if not store.delete_totp(tx, user_id):
            raise errors.NotFound("This user has no two-factor enrolment")
        revoked = firms_store.revoke_user_sessions(tx, user_id)
        audit.record(tx, "auth.totp_reset", "user", user_id, None, {"sessions_revoked": revoked})
        _tell(tx, user_id, "security.two_factor_reset", "Your two-factor sign-in was reset",
              "An administrator removed your two-factor enrolment and ended your sessions. Enrol again when you "
              "next sign in.", {})


def _tell(tx: db.Tx, user_id: UUID, kind: str, title: str, body: str, data: dict[str, Any]) -> None:
    from chalicelib.notifications import service as notifications

    notifications.notify(tx, [user_id], kind, title, body, data)
