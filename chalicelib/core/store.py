"""SQL that core itself runs: the tenant context, the API-key lookup, idempotency records and audit events.

Like every store, parameters only. The functions take the open transaction (`db.Tx`); none opens one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from chalicelib.core.jsonutil import dumps

if TYPE_CHECKING:
    from chalicelib.core.db import Tx

# --- the tenant context (called by db.transaction and db.lookup only) ---

_SET_CONTEXT = (
    "SELECT set_config('app.firm_id', %s, true), set_config('app.user_id', %s, true), "
    "set_config('app.request_id', %s, true)"
)
# For a user's access token, the same statement also checks that its session is live and the user still active
# in the token's role (the SECURITY DEFINER function auth_session_valid, migration 0002): logout, deactivation and
# role changes take effect at once, at no extra round trip.
_SET_CONTEXT_AND_CHECK_SESSION = _SET_CONTEXT + ", auth_session_valid(%s, %s, %s) AS session_valid"


def set_context(tx: Tx, firm_id: str, user_id: str, request_id: str) -> None:
    """Transaction-local settings that row-level security (current_firm_id()) and the audit trail read."""
    tx.execute(_SET_CONTEXT, (firm_id, user_id, request_id))


def set_context_checking_session(tx: Tx, firm_id: str, user_id: str, request_id: str, session_id: UUID,
                                 principal_id: UUID, role: str) -> bool:
    """set_context, and whether the access token's session is still valid, in one round trip."""
    row = tx.one(_SET_CONTEXT_AND_CHECK_SESSION, (firm_id, user_id, request_id, session_id, principal_id, role))
    return bool(row["session_valid"])


# --- API keys (before the firm is known) ---

def api_key_by_prefix(tx: Tx, prefix: str) -> dict[str, Any] | None:
    """The SECURITY DEFINER lookup auth_api_key (migration 0001): works with no tenant set."""
    return tx.one("SELECT * FROM auth_api_key(%s)", (prefix,))


def touch_api_key(tx: Tx, key_id: UUID) -> None:
    """last_used_at at minute resolution: a busy key does not write on every request. Needs the key's firm set."""
    tx.execute("UPDATE api_keys SET last_used_at = now() WHERE id = %s AND "
               "(last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", (key_id,))


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
