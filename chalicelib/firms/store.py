"""SQL for firms, users, sessions and API keys. Parameters only; row-level security scopes every query."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from chalicelib.core import rows
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

USER_COLUMNS = "id, email, name, role, active, created_at, updated_at, version"
KEY_COLUMNS = ("id, name, prefix, scopes, service, created_by, created_at, expires_at, revoked_at, last_used_at, "
               "version")


# --- firms ---

def insert_firm(tx: Tx, firm_id: UUID, name: str, base_currency: str) -> dict[str, Any]:
    return tx.one("INSERT INTO firms (id, name, base_currency) VALUES (%s, %s, %s) "
                  "RETURNING id, name, base_currency, created_at", (firm_id, name, base_currency))


FIRM_COLUMNS = ("id, name, base_currency, require_two_factor, rate_limit_tier, plan_success_threshold, created_at, "
                "updated_at, version")


def get_firm(tx: Tx, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return tx.one(f"SELECT {FIRM_COLUMNS} FROM firms WHERE id = current_firm_id(){lock}")


def update_firm(tx: Tx, firm_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, "firms", firm_id, changes, FIRM_COLUMNS)


def rate_limit_tiers(conn: Any) -> list[dict[str, Any]]:
    """The rate-limit tiers and their figures (migration 0020): the owner's connection (the app role reads none)."""
    return conn.execute("SELECT tier, window_seconds, default_requests, bulk_requests, auth_requests, "
                        "source_requests FROM rate_limit_tiers ORDER BY tier").fetchall()


def firm_count(conn: Any) -> int:
    """All firms: needs the owner's connection (row-level security shows the app role one firm at most)."""
    return conn.execute("SELECT count(*) AS n FROM firms").fetchone()["n"]


def active_advisers(tx: Tx) -> list[UUID]:
    """The firm's active admins and advisers, oldest first."""
    return [r["id"] for r in tx.all("SELECT id FROM users WHERE role IN ('admin', 'adviser') AND active "
                                    "ORDER BY created_at, id")]


def active_admins(tx: Tx) -> list[UUID]:
    """The firm's active admins (they hear about security events of the firm's users)."""
    return [r["id"] for r in tx.all("SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id")]


# --- users ---

def begin_login(tx: Tx, email: str, source: str) -> dict[str, Any] | None:
    """Before the firm is known: the user behind an exact email with one password check reserved for (user, source)
    and the password hash's parameters and salt, never the hash (auth_login_begin, migrations 0017 and 0018). None
    when the email is unknown or no check may run now (inactive user, locked account, locked or full pair). The
    caller commits before checking the password (core.store.enter_with_password)."""
    return tx.one("SELECT * FROM auth_login_begin(%s, %s)", (email, source))


def reserve_check(tx: Tx, user_id: UUID, source: str) -> int | None:
    """A check reserved for a user of the current firm (auth_check_reserve): the window's number, or None."""
    return tx.one("SELECT auth_check_reserve(%s, %s) AS attempt", (user_id, source))["attempt"]


def login_outcome(tx: Tx, user_id: UUID, source: str, attempt: int, outcome: str) -> dict[str, Any]:
    """The outcome of a reserved check (auth_login_outcome): the locks it set and the account's failures."""
    return tx.one("SELECT * FROM auth_login_outcome(%s, %s, %s, %s)", (user_id, source, attempt, outcome))


def login_failed(tx: Tx, user_id: UUID, source: str, attempt: int, factor: str, request_id: str, ip: str | None,
                 user_agent: str | None) -> None:
    """A reserved check of a user of the current firm failed (auth_login_failed): counted, audited, a lock it set
    on the account audited and notified."""
    tx.execute("SELECT auth_login_failed(%s, %s, %s, %s, %s, %s, %s)",
               (user_id, source, attempt, factor, request_id, ip, user_agent))


def unlock_account(tx: Tx, user_id: UUID) -> bool:
    return tx.one("SELECT auth_unlock_account(%s) AS done", (user_id,))["done"]


def insert_user(tx: Tx, email: str, name: str, role: str, password_hash: str) -> dict[str, Any]:
    return tx.one(f"INSERT INTO users (firm_id, email, name, role, password_hash) "
                  f"VALUES (current_firm_id(), %s, %s, %s, %s) RETURNING {USER_COLUMNS}",
                  (email, name, role, password_hash))


def get_user(tx: Tx, user_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return tx.one(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s{lock}", (user_id,))


def email_taken(tx: Tx, email: str) -> bool:
    return tx.one("SELECT EXISTS (SELECT 1 FROM auth_user_by_email(%s)) AS taken", (email,))["taken"]


def list_users(tx: Tx, keyset: Keyset, *, role: str | None, active: bool | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT " + USER_COLUMNS + " FROM users WHERE (%(role)s::text IS NULL OR role = %(role)s) "
        "AND (%(active)s::boolean IS NULL OR active = %(active)s) "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"role": role, "active": active, **keyset.params()})


def update_user(tx: Tx, user_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, "users", user_id, changes, USER_COLUMNS)


# --- sessions ---

def insert_session(tx: Tx, *, user_id: UUID, chain_id: UUID, token_hash: bytes, ttl_seconds: int,
                   ip: str | None, user_agent: str | None) -> dict[str, Any]:
    return tx.one("INSERT INTO sessions (firm_id, user_id, chain_id, token_hash, expires_at, ip, user_agent) "
                  "VALUES (current_firm_id(), %s, %s, %s, now() + make_interval(secs => %s), %s, %s) "
                  "RETURNING id, chain_id", (user_id, chain_id, token_hash, ttl_seconds, ip, user_agent))


# A user's live sessions: one per login (a refresh-token chain), live while its current refresh token is neither
# used, revoked nor expired and the chain was used within the idle timeout (auth_session_idle_timeout, migration
# 0018). Its ip and user agent are those of its latest token.
_LIVE_SESSIONS = """
SELECT s.chain_id AS id, min(s.created_at) AS created_at, max(s.last_used_at) AS last_used_at,
       max(s.expires_at) AS expires_at, (array_agg(s.ip ORDER BY s.created_at DESC))[1] AS ip,
       (array_agg(s.user_agent ORDER BY s.created_at DESC))[1] AS user_agent,
       coalesce(bool_or(s.id = %(current)s), false) AS current
FROM sessions s
WHERE s.chain_id IN (SELECT c.chain_id FROM sessions c WHERE c.user_id = %(user)s AND c.used_at IS NULL
                     AND c.revoked_at IS NULL AND c.expires_at > now())
GROUP BY s.chain_id
HAVING max(s.last_used_at) > now() - auth_session_idle_timeout()
"""


def list_sessions(tx: Tx, user_id: UUID, current: UUID | None, keyset: Keyset) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT * FROM (" + _LIVE_SESSIONS + ") AS live WHERE {after} ORDER BY {order} "
                    "LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"user": user_id, "current": current, **keyset.params()})


def end_oldest_sessions(tx: Tx, user_id: UUID, keep: int) -> list[UUID]:
    """Revoke the user's live sessions but the `keep` newest; the chains revoked."""
    rows = tx.all("WITH live AS (" + _LIVE_SESSIONS + "), ended AS (SELECT id FROM live "
                  "ORDER BY created_at DESC, id DESC OFFSET %(keep)s) "
                  "UPDATE sessions SET revoked_at = now() WHERE chain_id IN (SELECT id FROM ended) "
                  "AND revoked_at IS NULL RETURNING chain_id",
                  {"user": user_id, "current": None, "keep": keep})
    return sorted({r["chain_id"] for r in rows})


def end_live_session(tx: Tx, user_id: UUID, chain_id: UUID) -> int:
    """Revoke one of the user's live sessions; 0 when it is not one."""
    return tx.execute("WITH live AS (" + _LIVE_SESSIONS + ") UPDATE sessions SET revoked_at = now() "
                      "WHERE chain_id = %(chain)s AND chain_id IN (SELECT id FROM live) AND revoked_at IS NULL",
                      {"user": user_id, "current": None, "chain": chain_id}).rowcount


def mark_session_used(tx: Tx, session_id: UUID) -> None:
    tx.execute("UPDATE sessions SET used_at = now() WHERE id = %s", (session_id,))


def revoke_chain(tx: Tx, chain_id: UUID) -> int:
    return tx.execute("UPDATE sessions SET revoked_at = now() WHERE chain_id = %s AND revoked_at IS NULL",
                      (chain_id,)).rowcount


def chain_of_session(tx: Tx, session_id: UUID) -> UUID | None:
    row = tx.one("SELECT chain_id FROM sessions WHERE id = %s", (session_id,))
    return row["chain_id"] if row else None


def revoke_sessions_without_two_factor(tx: Tx) -> int:
    """Every live session of the firm's users who have no confirmed two-factor enrolment."""
    return tx.execute("UPDATE sessions s SET revoked_at = now() WHERE s.revoked_at IS NULL AND NOT EXISTS "
                      "(SELECT 1 FROM user_totp t WHERE t.user_id = s.user_id AND t.confirmed_at IS NOT NULL)"
                      ).rowcount


def revoke_user_sessions(tx: Tx, user_id: UUID) -> int:
    return tx.execute("UPDATE sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
                      (user_id,)).rowcount


# --- API keys ---

def insert_api_key(tx: Tx, *, name: str, prefix: str, key_hash: bytes, scopes: list[str], created_by: UUID,
                   expires_at: datetime | None, service: bool = False) -> dict[str, Any]:
    return tx.one(f"INSERT INTO api_keys (firm_id, name, prefix, key_hash, scopes, created_by, expires_at, service) "
                  f"VALUES (current_firm_id(), %s, %s, %s, %s, %s, %s, %s) RETURNING {KEY_COLUMNS}",
                  (name, prefix, key_hash, scopes, created_by, expires_at, service))


def keys_dying_with(tx: Tx, user_id: UUID) -> list[dict[str, Any]]:
    """The live keys the user made that are not firm service keys, locked (they die with their creator)."""
    return tx.all(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE created_by = %s AND NOT service "
                  f"AND revoked_at IS NULL ORDER BY created_at, id FOR UPDATE", (user_id,))


def get_api_key(tx: Tx, key_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return tx.one(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = %s{lock}", (key_id,))


def list_api_keys(tx: Tx, keyset: Keyset) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT " + KEY_COLUMNS + " FROM api_keys WHERE {after} ORDER BY {order} LIMIT %(_ks_limit)s"
                    ).format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, keyset.params())


def revoke_api_key(tx: Tx, key_id: UUID) -> dict[str, Any]:
    return tx.one(f"UPDATE api_keys SET revoked_at = now(), version = version + 1 WHERE id = %s "
                  f"RETURNING {KEY_COLUMNS}", (key_id,))
