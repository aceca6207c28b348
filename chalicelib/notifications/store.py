"""SQL for notifications. Row-level security keeps them in the firm; every query also names the user."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

COLUMNS = "id, kind, title, body, data, created_at, read_at"


def insert(tx: Tx, user_ids: Iterable[UUID], kind: str, title: str, body: str, data: dict[str, Any]) -> int:
    """One notification per user, in one statement."""
    from psycopg.types.json import Jsonb

    from chalicelib.core.jsonutil import dumps

    return tx.execute("INSERT INTO notifications (firm_id, user_id, kind, title, body, data) "
                      "SELECT current_firm_id(), u, %s, %s, %s, %s FROM unnest(%s::uuid[]) AS u",
                      (kind, title, body, Jsonb(data, dumps=dumps), list(user_ids))).rowcount


def list_for_user(tx: Tx, user_id: UUID, keyset: Keyset, *, unread: bool | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT " + COLUMNS + " FROM notifications WHERE user_id = %(user)s "
        "AND (%(unread)s::boolean IS NULL OR (read_at IS NULL) = %(unread)s) "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"user": user_id, "unread": unread, **keyset.params()})


def mark_read(tx: Tx, user_id: UUID, notification_id: UUID) -> bool:
    """False when the user has no such notification; reading one twice keeps the first time."""
    return tx.one("UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = %s AND user_id = %s "
                  "RETURNING id", (notification_id, user_id)) is not None
