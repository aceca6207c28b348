"""SQL for two-factor sign-in: TOTP enrolments, recovery codes and login challenges. Parameters only."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx

# --- login challenges ---


def challenge_begin(tx: Tx, token_hash: bytes, purpose: str, source: str, *, reserve: bool) -> dict[str, Any] | None:
    """Before the firm is known: the live challenge behind a token (auth_challenge_begin, migration 0017), with a
    check reserved for (user, source) when `reserve` (attempt None: the pair is locked or full)."""
    return tx.one("SELECT * FROM auth_challenge_begin(%s, %s, %s, %s)", (token_hash, purpose, source, reserve))


def insert_challenge(tx: Tx, user_id: UUID, token_hash: bytes, purpose: str, ttl_seconds: int) -> None:
    """A new challenge; the user's spent and expired ones go."""
    tx.execute("DELETE FROM login_challenges WHERE user_id = %s AND (used_at IS NOT NULL OR expires_at <= now())",
               (user_id,))
    tx.execute("INSERT INTO login_challenges (firm_id, user_id, token_hash, purpose, expires_at) "
               "VALUES (current_firm_id(), %s, %s, %s, now() + make_interval(secs => %s))",
               (user_id, token_hash, purpose, ttl_seconds))


def lock_challenge(tx: Tx, challenge_id: UUID) -> dict[str, Any] | None:
    """The challenge, locked, if it is still live (a concurrent answer waits here, then finds it used)."""
    return tx.one("SELECT id, user_id, purpose FROM login_challenges WHERE id = %s AND used_at IS NULL "
                  "AND expires_at > now() AND failed_codes < 5 FOR UPDATE", (challenge_id,))


def use_challenge(tx: Tx, challenge_id: UUID) -> None:
    tx.execute("UPDATE login_challenges SET used_at = now() WHERE id = %s", (challenge_id,))


def challenge_failed(tx: Tx, challenge_id: UUID) -> None:
    tx.execute("UPDATE login_challenges SET failed_codes = failed_codes + 1 WHERE id = %s", (challenge_id,))


# --- TOTP enrolments ---

def get_totp(tx: Tx, user_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    """The user's enrolment; `fresh`: a pending one younger than 10 minutes (it may still be confirmed)."""
    lock = " FOR UPDATE" if for_update else ""
    return tx.one("SELECT secret, confirmed_at, last_step, created_at > now() - interval '10 minutes' AS fresh "
                  f"FROM user_totp WHERE user_id = %s{lock}", (user_id,))


def put_pending_totp(tx: Tx, user_id: UUID, secret: bytes) -> bool:
    """A new pending enrolment (replacing a pending one); False when a confirmed one exists."""
    return tx.one("INSERT INTO user_totp (firm_id, user_id, secret) VALUES (current_firm_id(), %s, %s) "
                  "ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = now(), "
                  "confirmed_at = NULL, last_step = NULL WHERE user_totp.confirmed_at IS NULL RETURNING 1",
                  (user_id, secret)) is not None


def confirm_totp(tx: Tx, user_id: UUID, step: int) -> None:
    tx.execute("UPDATE user_totp SET confirmed_at = now(), last_step = %s WHERE user_id = %s", (step, user_id))


def accept_step(tx: Tx, user_id: UUID, step: int) -> bool:
    """Record a code's time step as used; False when it (or a later one) already was."""
    return tx.one("UPDATE user_totp SET last_step = %s WHERE user_id = %s AND confirmed_at IS NOT NULL "
                  "AND (last_step IS NULL OR last_step < %s) RETURNING 1", (step, user_id, step)) is not None


def delete_totp(tx: Tx, user_id: UUID) -> bool:
    """The user's enrolment and recovery codes go; False when there was no enrolment."""
    tx.execute("DELETE FROM recovery_codes WHERE user_id = %s", (user_id,))
    return tx.execute("DELETE FROM user_totp WHERE user_id = %s", (user_id,)).rowcount > 0


# --- recovery codes ---

def replace_recovery_codes(tx: Tx, user_id: UUID, hashes: list[bytes]) -> None:
    tx.execute("DELETE FROM recovery_codes WHERE user_id = %s", (user_id,))
    tx.execute("INSERT INTO recovery_codes (firm_id, user_id, code_hash) "
               "SELECT current_firm_id(), %s, h FROM unnest(%s::bytea[]) AS h", (user_id, hashes))


def use_recovery_code(tx: Tx, user_id: UUID, code_hash: bytes) -> bool:
    """Spend an unused code (a concurrent use of the same code waits on the row, then finds it used)."""
    return tx.one("UPDATE recovery_codes SET used_at = now() WHERE user_id = %s AND code_hash = %s "
                  "AND used_at IS NULL RETURNING 1", (user_id, code_hash)) is not None


def recovery_codes_left(tx: Tx, user_id: UUID) -> int:
    return tx.one("SELECT count(*) AS n FROM recovery_codes WHERE user_id = %s AND used_at IS NULL",
                  (user_id,))["n"]


# --- the user and the firm ---

def user_email(tx: Tx, user_id: UUID) -> str | None:
    row = tx.one("SELECT email FROM users WHERE id = %s", (user_id,))
    return row["email"] if row else None


def firm_requires_two_factor(tx: Tx, *, for_share: bool = False) -> bool:
    """The firm's setting; FOR SHARE makes a concurrent change of it wait for this transaction."""
    lock = " FOR SHARE" if for_share else ""
    return tx.one(f"SELECT require_two_factor FROM firms WHERE id = current_firm_id(){lock}")["require_two_factor"]
