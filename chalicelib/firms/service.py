"""Rules for firms, login, sessions, users and API keys. Each function is one transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from chalicelib.core import audit, auth, config, db, errors
from chalicelib.core import store as core_store
from chalicelib.core.context import Principal, RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.core.versioning import check_version, patch_changes
from chalicelib.firms import store
from chalicelib.firms.models import API_KEYS, SESSIONS, USERS

# The sign-in rules (docs/security.md); migrations 0017 and 0018 apply them in PostgreSQL, these name them.
MAX_FAILURES = 5  # checks per account and source address in a window; a failure once they are spent locks the pair
LOCK_MINUTES = 30  # the pair's lock, and the longest a window lasts without one
ACCOUNT_MAX_FAILURES = 50  # failed checks within an hour, from any addresses, lock the account itself
ACCOUNT_LOCK_MINUTES = 60
UNKNOWN_SOURCE = "unknown"  # a call with no source address (the CLI, a test calling the service)
MAX_SESSIONS = 5  # live sessions per user: a login past it ends the oldest
_BAD_LOGIN = "The email or password is wrong, or the account is locked for a while after repeated failures"


@dataclass
class Tokens:
    access_token: str
    expires_in: int
    refresh_token: str


@dataclass
class Challenge:
    """A right password when a second factor is due: what to answer next, instead of tokens."""

    challenge: str
    challenge_type: str  # "totp" | "totp_enrolment"
    expires_in: int


def create_firm(name: str, admin_email: str, admin_name: str, password: str | None,
                base_currency: str = "GBP", firm_id: UUID | None = None,
                ) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """A new tenant and its first admin. Returns (firm, admin user, generated password or None)."""
    firm_id = firm_id or uuid.uuid4()
    ctx = RequestContext.system(firm_id)
    generated = None if password else auth.generate_password()
    with db.transaction(ctx) as tx:
        if store.email_taken(tx, admin_email.lower()):
            raise errors.Conflict(f"A user with email {admin_email} already exists")
        firm = store.insert_firm(tx, firm_id, name, base_currency)
        audit.record(tx, "firm.create", "firm", firm_id, None, firm)
        user = store.insert_user(tx, admin_email.lower(), admin_name, "admin",
                                 auth.hash_password(password or generated or ""))
        audit.record(tx, "user.create", "user", user["id"], None, user)
    return firm, user, generated


def rate_limit_tiers() -> list[dict[str, Any]]:
    """Every rate-limit tier with its figures (the operator's view: the owner role's connection)."""
    with db.owner_connection() as conn:
        return store.rate_limit_tiers(conn)


def set_rate_limit_tier(firm_id: UUID, tier: str) -> dict[str, Any]:
    """The operator's: the firm's rate-limit tier (how many requests per minute each of its users and API keys may
    make, migration 0020), audited as the system's `firm.update`. The tier must exist (422 otherwise)."""
    if tier not in {t["tier"] for t in rate_limit_tiers()}:
        raise errors.Unprocessable(f"No rate-limit tier {tier!r}", errors=[{"field": "tier", "message": "unknown"}])
    with db.transaction(RequestContext.system(firm_id)) as tx:
        before = store.get_firm(tx, for_update=True)
        if before is None:
            raise errors.NotFound("No such firm")
        if before["rate_limit_tier"] == tier:
            return before
        after = store.update_firm(tx, firm_id, {"rate_limit_tier": tier})
        audit.record(tx, "firm.update", "firm", firm_id, before, after)
    return after


def firm_count() -> int:
    """How many firms the database holds (the CLI loads the demo firm into an empty one)."""
    with db.owner_connection() as conn:
        return store.firm_count(conn)


def firm_advisers(firm_id: UUID) -> list[UUID] | None:
    """The firm's active admins and advisers (who demo households are assigned to); None when no such firm."""
    with db.transaction(RequestContext.system(firm_id)) as tx:
        if store.get_firm(tx) is None:
            return None
        return store.active_advisers(tx)


def acting_as(base: RequestContext, firm_id: UUID, user_id: UUID, role: str) -> RequestContext:
    """`base` (request id, address, user agent) acting as a user found before the firm was known."""
    return RequestContext(principal=Principal(firm_id=firm_id, kind="user", id=user_id, role=role),
                          request_id=base.request_id, ip=base.ip, user_agent=base.user_agent)


def _new_session(tx: db.Tx, user_id: UUID, firm_id: UUID, role: str, chain_id: UUID) -> Tokens:
    """The next refresh token of a chain and its access token (a new chain is a new session: a login)."""
    s = config.settings()
    refresh, refresh_hash = auth.new_refresh_token()
    session = store.insert_session(tx, user_id=user_id, chain_id=chain_id, token_hash=refresh_hash,
                                   ttl_seconds=s.refresh_token_ttl, ip=tx.ctx.ip, user_agent=tx.ctx.user_agent)
    access, ttl = auth.issue_access_token(user_id=user_id, firm_id=firm_id, role=role, session_id=session["id"])
    return Tokens(access_token=access, expires_in=ttl, refresh_token=refresh)


def source_of(ctx: RequestContext) -> str:
    """The caller's address as API Gateway saw the connection (requestContext.identity.sourceIp, put into the
    context by core.http), never a header such as X-Forwarded-For, which the caller writes."""
    return (ctx.ip or UNKNOWN_SOURCE)[:100]


def login(ctx: RequestContext, email: str, password: str) -> Tokens | Challenge:
    """Tokens, or a Challenge when a second factor is due. The same 401 for an unknown email, a wrong password, a
    locked account or address, or an inactive user.

    The check is reserved first, in its own committed transaction (auth_login_begin), which gives the password
    hash's parameters and salt, never the hash: however many requests race, at most MAX_FAILURES checks run per
    account and source address in a window, and a success cannot reopen a window that a failure locked. The
    argon2 hash of the password is computed here and compared by PostgreSQL against that reservation
    (auth_enter_password, migration 0018), which settles the check: a wrong password is counted, audited and, when
    it locks the account, notified there, without the firm being entered; a right one enters the user's firm,
    and only then are the session (or the second factor's challenge) written."""
    email = email.lower()
    source = source_of(ctx)
    with db.lookup(ctx) as tx:
        found = store.begin_login(tx, email, source)
    if found is None:
        auth.burn_password_check(password)
        raise errors.Unauthorized(_BAD_LOGIN)
    user_id, firm_id, role, attempt = found["user_id"], found["firm_id"], found["role"], found["attempt"]
    encoded = auth.encode_with_setting(found["password_setting"], password)
    with db.lookup(ctx) as tx:  # a wrong password is settled by the same statement, and committed
        checked = core_store.enter_with_password(tx, user_id, firm_id, source, attempt, encoded, ctx.request_id,
                                                 ctx.ip, ctx.user_agent)
        if checked["outcome"] == "ok":
            with db.transaction(acting_as(ctx, firm_id, user_id, role)) as tx:
                if checked["two_factor"] is not None:  # the check was handed back: the second factor is one
                    from chalicelib.firms.twofactor import service as twofactor

                    challenge = twofactor.issue_challenge(tx, user_id, checked["two_factor"])
                    audit.record(tx, "auth.login_challenged", "user", user_id, None,
                                 {"challenge_type": challenge.challenge_type})
                    return challenge
                return _open_session(tx, user_id, firm_id, role, None)
    raise errors.Unauthorized(_BAD_LOGIN)


def _open_session(tx: db.Tx, user_id: UUID, firm_id: UUID, role: str, after: dict[str, Any] | None) -> Tokens:
    """A new session chain (the user's oldest live ones ended past MAX_SESSIONS) and the auth.login event."""
    ended = store.end_oldest_sessions(tx, user_id, MAX_SESSIONS - 1)
    tokens = _new_session(tx, user_id, firm_id, role, uuid.uuid4())
    if ended:
        after = {**(after or {}), "sessions_ended": [str(c) for c in ended]}
    audit.record(tx, "auth.login", "user", user_id, None, after)
    return tokens


def finish_login(tx: db.Tx, user_id: UUID, firm_id: UUID, role: str, source: str, attempt: int,
                 after: dict[str, Any] | None = None) -> Tokens:
    """The second factor of a sign-in succeeded (in the firm the challenge entered): its check's outcome, a new
    session chain and the auth.login event."""
    store.login_outcome(tx, user_id, source, attempt, "success")
    return _open_session(tx, user_id, firm_id, role, after)


def settle_failure(tx: db.Tx, user_id: UUID, source: str, attempt: int, *, factor: str) -> None:
    """A reserved check of a second factor failed (`factor`: totp or recovery_code): counted for the pair and the
    account, audited; a lock this failure set on the account is audited too and its user and the firm's admins
    are told (auth_login_failed, migration 0018: the same function settles a wrong password). The caller raises
    after its transaction commits (a rollback would forget the failure)."""
    store.login_failed(tx, user_id, source, attempt, factor, tx.ctx.request_id, tx.ctx.ip, tx.ctx.user_agent)


def refresh(ctx: RequestContext, refresh_token: str) -> Tokens:
    """Rotate a refresh token. A used token presented again revokes its whole chain (it was stolen).

    PostgreSQL finds the token's session by its hash and checks it (auth_enter_refresh, migration 0018: live, not
    idle, the user active, two-factor on if the firm requires it, else the chain is revoked and audited); only then
    does the transaction enter the firm. A used token's chain is revoked and audited by the same function. Access
    tokens end with their session: every transaction shows it to auth_enter_session, so a revoked chain or a
    changed user stops working at once."""
    token_hash = auth.sha256(refresh_token)
    with db.lookup(ctx) as tx:  # a reused token's revocation commits even though the answer is a 401
        session = core_store.enter_with_refresh_token(tx, token_hash, ctx.request_id, ctx.ip, ctx.user_agent)
        if session["outcome"] == "ok":
            firm_id = session["firm_id"]
            with db.transaction(acting_as(ctx, firm_id, session["user_id"], session["role"])) as tx:
                store.mark_session_used(tx, session["session_id"])
                tokens = _new_session(tx, session["user_id"], firm_id, session["role"], session["chain_id"])
                audit.record(tx, "auth.refresh", "session", session["chain_id"], None, None)
                return tokens
    raise errors.Unauthorized("The refresh token is not valid")


def logout(ctx: RequestContext) -> None:
    principal = ctx.principal
    assert principal is not None
    if principal.kind != "user" or principal.session_id is None:
        raise errors.Unprocessable("Only a user session can log out; revoke an API key instead")
    with db.transaction(ctx) as tx:
        chain = store.chain_of_session(tx, principal.session_id)
        revoked = store.revoke_chain(tx, chain) if chain else 0
        audit.record(tx, "auth.logout", "session", chain or principal.session_id, None, {"revoked": revoked})


def _session_user(ctx: RequestContext, what: str) -> Principal:
    principal = ctx.principal
    assert principal is not None
    if principal.kind != "user" or principal.session_id is None:
        raise errors.Unprocessable(f"An API key is not a user; {what} needs a user's token")
    return principal


def list_sessions(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's live sessions (one per login), newest first, the current one marked."""
    principal = _session_user(ctx, "/v1/me/sessions")
    keyset = Keyset.parse(SESSIONS, query, ctx)
    with db.transaction(ctx) as tx:
        rows = store.list_sessions(tx, principal.id, principal.session_id, keyset)
    return keyset.page(rows)


def end_session(ctx: RequestContext, session_id: UUID) -> None:
    """Revoke one of the caller's own live sessions (its refresh tokens and, at once, its access tokens)."""
    principal = _session_user(ctx, "/v1/me/sessions")
    with db.transaction(ctx) as tx:
        if not store.end_live_session(tx, principal.id, session_id):
            raise errors.NotFound("No such session")
        audit.record(tx, "session.revoke", "session", session_id, None, {"revoked_by": "user"})


def me(ctx: RequestContext) -> dict[str, Any]:
    principal = ctx.principal
    assert principal is not None
    if principal.kind != "user":
        raise errors.Unprocessable("An API key is not a user; /v1/me needs a user's token")
    with db.transaction(ctx) as tx:
        user = store.get_user(tx, principal.id)
        firm = store.get_firm(tx)
    if user is None or firm is None:
        raise errors.Unauthorized("The user no longer exists")
    return {**user, "firm": firm}


# --- the firm's settings ---

def get_firm(ctx: RequestContext) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        firm = store.get_firm(tx)
    if firm is None:
        raise errors.NotFound("No such firm")
    return firm


def update_firm(ctx: RequestContext, data: Any, if_match: int) -> dict[str, Any]:
    """Requiring two-factor sign-in revokes, in the same transaction, every session of the firm's users who have
    not enrolled (they get an enrolment challenge at their next sign-in). The admin who turns it on must have
    enrolled: nobody can lock the firm's administrators out by accident."""
    from chalicelib.firms.twofactor import service as twofactor

    changes = patch_changes(data)
    with db.transaction(ctx) as tx:
        before = check_version(store.get_firm(tx, for_update=True), if_match, "firm")
        changes = {k: v for k, v in changes.items() if before.get(k) != v}
        if not changes:
            return before
        turning_on = changes.get("require_two_factor") is True
        if turning_on and not twofactor.has_two_factor(tx, ctx.principal.user_id):
            raise errors.Conflict("Enrol in two-factor sign-in yourself (POST /v1/me/2fa/enrol) before you "
                                  "require it of the firm")
        after = store.update_firm(tx, before["id"], changes)
        revoked = store.revoke_sessions_without_two_factor(tx) if turning_on else 0
        audit.record(tx, "firm.update", "firm", before["id"], before,
                     {**after, **({"sessions_revoked": revoked} if turning_on else {})})
    return after


# --- users (admin) ---

def list_users(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(USERS, query, ctx)
    with db.transaction(ctx) as tx:
        rows = store.list_users(tx, keyset, role=query.role, active=query.active)
    return keyset.page(rows)


def create_user(ctx: RequestContext, data: Any) -> tuple[dict[str, Any], str | None]:
    """One login per email across all firms (login happens before the firm is known): checked here through the
    SECURITY DEFINER auth_user_by_email, and by the unique index users_email_key (migration 0001)."""
    generated = None if data.password else auth.generate_password()
    password_hash = auth.hash_password(data.password or generated)
    with db.transaction(ctx) as tx:
        if store.email_taken(tx, data.email):
            raise errors.Conflict("A user with this email already exists")
        user = store.insert_user(tx, data.email, data.name, data.role, password_hash)
        audit.record(tx, "user.create", "user", user["id"], None, user)
    return user, generated


def get_user(ctx: RequestContext, user_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        user = store.get_user(tx, user_id)
    if user is None:
        raise errors.NotFound("No such user")
    return user


def update_user(ctx: RequestContext, user_id: UUID, data: Any, if_match: int) -> dict[str, Any]:
    """Deactivating a user, or changing their role or password, revokes their sessions here; their access tokens
    stop at once too, since auth_enter_session (migration 0018) also checks the user is active in the token's role.
    Demoting or deactivating an admin revokes the API keys they made, firm service keys excepted."""
    changes = patch_changes(data)
    if "password" in changes:
        changes["password_hash"] = auth.hash_password(changes.pop("password"))
    with db.transaction(ctx) as tx:
        before = check_version(store.get_user(tx, user_id, for_update=True), if_match, "user")
        changes = {k: v for k, v in changes.items() if k == "password_hash" or before.get(k) != v}
        if user_id == ctx.principal.user_id and (changes.get("active") is False
                                                 or changes.get("role", "admin") != "admin"):
            raise errors.Conflict("You cannot deactivate or demote yourself")
        after = store.update_user(tx, user_id, changes) if changes else before
        if changes.get("active") is False or "password_hash" in changes or "role" in changes:
            store.revoke_user_sessions(tx, user_id)
        if "password_hash" in changes:  # the failures were guesses at the old password: the user's locks go
            store.unlock_account(tx, user_id)
        audit.record(tx, "user.update", "user", user_id, before,
                     {**after, **({"password_changed": True} if "password_hash" in changes else {})})
        if before["role"] == "admin" and (not after["active"] or after["role"] != "admin"):
            # API keys die with their creator, unless made as firm service keys (auth_enter_api_key refuses them
            # too, whatever revoked them or not)
            for key in store.keys_dying_with(tx, user_id):
                revoked = store.revoke_api_key(tx, key["id"])
                audit.record(tx, "api_key.revoke", "api_key", key["id"], key,
                             {**revoked, "reason": "its creator is no longer an active administrator"})
    return after


# --- API keys (admin) ---

def list_api_keys(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(API_KEYS, query, ctx)
    with db.transaction(ctx) as tx:
        rows = store.list_api_keys(tx, keyset)
    return keyset.page(rows)


def create_api_key(ctx: RequestContext, data: Any, *, created_by: UUID | None = None) -> dict[str, Any]:
    """The key is in the result only (stored as its hash). `created_by` defaults to the acting user; the system
    (CLI) names the user the key belongs to. A key works while its creator is an active admin, unless it is made
    as a firm service key (`service`), which outlives them; the audit event says which."""
    created_by = created_by or ctx.principal.user_id
    if created_by is None:
        raise ValueError("an API key needs the user who created it")
    key, prefix, key_hash = auth.new_api_key()
    with db.transaction(ctx) as tx:
        row = store.insert_api_key(tx, name=data.name, prefix=prefix, key_hash=key_hash, scopes=data.scopes,
                                   created_by=created_by, expires_at=data.expires_at, service=data.service)
        audit.record(tx, "api_key.create", "api_key", row["id"], None, row)
    return {**row, "key": key}


def revoke_api_key(ctx: RequestContext, key_id: UUID) -> None:
    with db.transaction(ctx) as tx:
        before = store.get_api_key(tx, key_id, for_update=True)
        if before is None:
            raise errors.NotFound("No such API key")
        if before["revoked_at"] is not None:
            raise errors.NotFound("No such API key (it was revoked)")
        after = store.revoke_api_key(tx, key_id)
        audit.record(tx, "api_key.revoke", "api_key", key_id, before, after)
