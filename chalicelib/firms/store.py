"""SQL for firms, users, sessions and API keys. Parameters only; row-level security scopes every query."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from chalicelib.core import rows
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

USER_COLUMNS = "id, email, name, role, active, created_at, updated_at, version"
KEY_COLUMNS = "id, name, prefix, scopes, created_by, created_at, expires_at, revoked_at, last_used_at, version"


# --- firms ---

def insert_firm(tx: Tx, firm_id: UUID, name: str, base_currency: str) -> dict[str, Any]:
    return tx.one("INSERT INTO firms (id, name, base_currency) VALUES (%s, %s, %s) "
                  "RETURNING id, name, base_currency, created_at", (firm_id, name, base_currency))


FIRM_COLUMNS = "id, name, base_currency, require_two_factor, created_at, updated_at, version"


def get_firm(tx: Tx, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return tx.one(f"SELECT {FIRM_COLUMNS} FROM firms WHERE id = current_firm_id(){lock}")


def update_firm(tx: Tx, firm_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, "firms", firm_id, changes, FIRM_COLUMNS)


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
    (auth_login_begin, migration 0017). None when the email is unknown or no check may run now (inactive user,
    locked account, locked or full pair). The caller commits before checking the password."""
    return tx.one("SELECT * FROM auth_login_begin(%s, %s)", (email, source))


def reserve_check(tx: Tx, user_id: UUID, source: str) -> int | None:
    """A check reserved for a user of the current firm (auth_check_reserve): the window's number, or None."""
    return tx.one("SELECT auth_check_reserve(%s, %s) AS attempt", (user_id, source))["attempt"]


def login_outcome(tx: Tx, user_id: UUID, source: str, attempt: int, outcome: str) -> dict[str, Any]:
    """The outcome of a reserved check (auth_login_outcome): the locks it set and the account's failures."""
    return tx.one("SELECT * FROM auth_login_outcome(%s, %s, %s, %s)", (user_id, source, attempt, outcome))


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


def session_firm(tx: Tx, token_hash: bytes) -> UUID | None:
    row = tx.one("SELECT auth_session_firm(%s) AS firm_id", (token_hash,))
    return row["firm_id"] if row else None


def session_for_refresh(tx: Tx, token_hash: bytes) -> dict[str, Any] | None:
    """The session, locked, with `two_factor_ok`: false when the firm requires two-factor and the user has none."""
    return tx.one("SELECT s.id, s.user_id, s.chain_id, s.used_at, s.revoked_at, s.expires_at <= now() AS expired, "
                  "u.role, u.active, (NOT f.require_two_factor OR EXISTS (SELECT 1 FROM user_totp t "
                  "WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)) AS two_factor_ok "
                  "FROM sessions s JOIN users u ON u.id = s.user_id JOIN firms f ON f.id = s.firm_id "
                  "WHERE s.token_hash = %s FOR UPDATE OF s", (token_hash,))


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
                   expires_at: datetime | None) -> dict[str, Any]:
    return tx.one(f"INSERT INTO api_keys (firm_id, name, prefix, key_hash, scopes, created_by, expires_at) "
                  f"VALUES (current_firm_id(), %s, %s, %s, %s, %s, %s) RETURNING {KEY_COLUMNS}",
                  (name, prefix, key_hash, scopes, created_by, expires_at))


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
