"""SQL that core itself runs: the tenant context (verified credentials), idempotency records and audit events.

Like every store, parameters only. The functions take the open transaction (`db.Tx`); none opens one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from chalicelib.core.jsonutil import dumps

if TYPE_CHECKING:
    from chalicelib.core.db import Tx


def no_statement_timeout(tx: Tx) -> None:
    """Lift the request's statement timeout for the rest of this transaction: for bulk work of the system
    principal that is more than a request's worth (a large firm's IRR figures, the demo's load)."""
    tx.execute("SET LOCAL statement_timeout = 0")


# --- the tenant context (called by db.transaction, and by the pre-auth flows in a lookup or a statement of its own) ---
#
# Each statement below is the first of its transaction and verifies a credential inside PostgreSQL: a SECURITY
# DEFINER function (migration 0018) checks it and records the verified firm in auth_context, which the app role
# cannot write; current_firm_id(), and with it every row-level security policy, reads only that. It travels with
# the transaction's BEGIN (db.Tx.first), except an API key's, whose hash is bound (enter_api_key).

# auth_enter_session returns one record (migration 0035), read as a scalar: no function scan to plan. It comes as
# the record's text, "(state,rate_limit,rate_used,rate_reset)", split here: the fields are a word and integers (an
# empty field is NULL), none of which PostgreSQL quotes, and splitting them costs less than psycopg's record parser.
_ENTER_SESSION = "SELECT auth_enter_session(%s, %s, %s, %s, %s, %s)::text AS s"
_ENTER_API_KEY = ("SELECT k.id, k.firm_id, k.scopes, k.service, k.state, k.rate_limit, k.rate_used, k.rate_reset "
                  "FROM auth_enter_api_key(%s, %s, %s, %s) AS k")
_ENTER_SYSTEM = "SELECT auth_enter_system(%s)"


def _int(value: str) -> int | None:
    return int(value) if value else None


def enter_session(tx: Tx, session_id: UUID, user_id: UUID, firm_id: UUID, role: str, bucket: str | None = None,
                  scale: int = 1) -> dict[str, Any]:
    """An access token's session: live, of this user in this firm and role (auth_enter_session, migration 0035).
    With a rate-limit `bucket` the request is counted against the user first (rate_limit, rate_used, rate_reset).
    state 'ok' (the transaction has entered the firm), 'limited' (over the limit: not entered) or 'refused'."""
    record = tx.first(_ENTER_SESSION, (session_id, user_id, firm_id, role, bucket, scale))["s"]
    state, limit, used, reset = record[1:-1].split(",")
    if state == "ok":
        tx.entered = firm_id
    return {"state": state, "rate_limit": _int(limit), "rate_used": _int(used), "rate_reset": _int(reset)}


def enter_api_key(tx: Tx, prefix: str, key_hash: bytes, bucket: str | None = None,
                  scale: int = 1) -> dict[str, Any] | None:
    """An API key by prefix and SHA-256 (auth_enter_api_key, migration 0035): None when no key has both; else the
    key (id, firm_id, scopes, service), its state ('ok', 'limited', 'revoked', 'expired', 'creator_gone') and, with
    a rate-limit `bucket` and a usable key, the request counted against the key (rate_limit, rate_used,
    rate_reset). 'ok' entered the firm.

    Sent with its parameters bound, after a BEGIN of its own (`one`), never written into the statement's text as
    `first` does: PostgreSQL logs the text of a statement that fails, and this one carries the key's hash."""
    row = tx.one(_ENTER_API_KEY, (prefix, key_hash, bucket, scale))
    if row is not None and row["state"] == "ok":
        tx.entered = row["firm_id"]
    return row


def count_source(tx: Tx, source: str, scale: int = 1) -> dict[str, Any]:
    """One sign-in request counted against its source address (auth_count_source): rate_limit, rate_used,
    rate_reset. Enters nothing."""
    return tx.one("SELECT rate_limit, rate_used, rate_reset FROM auth_count_source(%s, %s)", (source, scale))


def enter_system(tx: Tx, firm_id: UUID) -> None:
    """The owner role's system context (jobs, the CLI): the firm recorded and the rest of the transaction run as
    the app role, under the same policies (auth_enter_system, which only the owner may run)."""
    tx.first(_ENTER_SYSTEM, (firm_id,))
    tx.entered = firm_id


def enter_with_password(tx: Tx, user_id: UUID, firm_id: UUID, source: str, attempt: int, encoded_hash: str | None,
                        request_id: str, ip: str | None, user_agent: str | None) -> dict[str, Any]:
    """Login: the argon2 hash computed from the password, compared in PostgreSQL against the check auth_login_begin
    reserved (auth_enter_password), which settles it. outcome 'ok' (the user's firm entered; `two_factor` names
    the second factor due, if any), 'wrong' (counted, audited, notified) or 'refused'."""
    row = tx.one("SELECT * FROM auth_enter_password(%s, %s, %s, %s, %s, %s, %s)",
                 (user_id, source, attempt, encoded_hash, request_id, ip, user_agent))
    if row["outcome"] == "ok":
        tx.entered = firm_id
    return row


def enter_with_challenge(tx: Tx, token_hash: bytes, purpose: str) -> dict[str, Any] | None:
    """The login's second step: the unexpired challenge behind a token, of this purpose (auth_enter_challenge);
    its user's firm entered. None when there is none."""
    row = tx.one("SELECT * FROM auth_enter_challenge(%s, %s)", (token_hash, purpose))
    if row is not None:
        tx.entered = row["firm_id"]
    return row


def enter_with_refresh_token(tx: Tx, token_hash: bytes, request_id: str, ip: str | None,
                             user_agent: str | None) -> dict[str, Any]:
    """Refresh: the refresh token's session, locked (auth_enter_refresh). outcome 'ok' (the firm entered as the
    token's user), 'reused' (its chain revoked and audited) or 'invalid'."""
    row = tx.one("SELECT * FROM auth_enter_refresh(%s, %s, %s, %s)", (token_hash, request_id, ip, user_agent))
    if row["outcome"] == "ok":
        tx.entered = row["firm_id"]
    return row


# --- idempotency keys ---

def claim_idempotency_key(tx: Tx, firm_id: UUID, principal_id: UUID, key: str, method: str, path: str,
                          request_hash: bytes) -> bool:
    """Insert the key's row; False when it exists (a concurrent claimant waits here until the first commits)."""
    return tx.one(
        "INSERT INTO idempotency_keys (firm_id, principal_id, key, method, path, request_hash) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (firm_id, principal_id, key, method, path, request_hash)) is not None


def idempotency_record(tx: Tx, firm_id: UUID, principal_id: UUID, key: str) -> dict[str, Any] | None:
    """The key's row, locked, with `fresh` (younger than 24 hours)."""
    return tx.one("SELECT request_hash, response_status, response_body, response_headers, "
                  "created_at > now() - interval '24 hours' AS fresh FROM idempotency_keys "
                  "WHERE firm_id = %s AND principal_id = %s AND key = %s FOR UPDATE",
                  (firm_id, principal_id, key))


def reuse_idempotency_key(tx: Tx, firm_id: UUID, principal_id: UUID, key: str, method: str, path: str,
                          request_hash: bytes) -> None:
    """An expired key starts again for a new request."""
    tx.execute("UPDATE idempotency_keys SET request_hash = %s, method = %s, path = %s, "
               "response_status = NULL, response_body = NULL, response_headers = NULL, created_at = now() "
               "WHERE firm_id = %s AND principal_id = %s AND key = %s",
               (request_hash, method, path, firm_id, principal_id, key))


def save_idempotent_response(tx: Tx, firm_id: UUID, principal_id: UUID, key: str, status: int, body: str,
                             headers: dict[str, str]) -> None:
    from psycopg.types.json import Jsonb

    tx.execute("UPDATE idempotency_keys SET response_status = %s, response_body = %s, response_headers = %s "
               "WHERE firm_id = %s AND principal_id = %s AND key = %s",
               (status, body, Jsonb(headers), firm_id, principal_id, key))


# --- the audit trail (the app role may only INSERT and SELECT audit events) ---

_INSERT_AUDIT_EVENT = """
INSERT INTO audit_events (firm_id, actor_type, actor_id, action, resource_type, resource_id,
                          before, after, changed_fields, request_id, ip, user_agent)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


def insert_audit_event(tx: Tx, *, firm_id: UUID, actor_type: str, actor_id: UUID | None, action: str,
                       resource_type: str, resource_id: str, before: Any, after: Any, changed_fields: list[str],
                       request_id: str | None, ip: str | None, user_agent: str | None) -> None:
    """`before` and `after` are JSON-ready values (or None)."""
    from psycopg.types.json import Jsonb

    tx.execute(_INSERT_AUDIT_EVENT, (
        firm_id, actor_type, actor_id, action, resource_type, resource_id,
        Jsonb(before, dumps=dumps) if before is not None else None,
        Jsonb(after, dumps=dumps) if after is not None else None,
        changed_fields, request_id, ip, user_agent))
