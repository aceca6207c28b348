"""SQL for the audit trail (read-only: the app role may only insert and select audit events)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset


def list_events(tx: Tx, keyset: Keyset, *, resource_type: str | None, resource_id: str | None,
                actor: UUID | None, action: str | None, from_: datetime | None,
                to: datetime | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT id, occurred_at, actor_type, actor_id, action, resource_type, resource_id, before, after, "
        "changed_fields, request_id, ip, user_agent FROM audit_events "
        "WHERE (%(rt)s::text IS NULL OR resource_type = %(rt)s) AND (%(rid)s::text IS NULL OR resource_id = %(rid)s) "
        "AND (%(actor)s::uuid IS NULL OR actor_id = %(actor)s) AND (%(action)s::text IS NULL OR action = %(action)s) "
        "AND (%(from)s::timestamptz IS NULL OR occurred_at >= %(from)s) "
        "AND (%(to)s::timestamptz IS NULL OR occurred_at < %(to)s) "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"rt": resource_type, "rid": resource_id, "actor": actor, "action": action,
                          "from": from_, "to": to, **keyset.params()})
