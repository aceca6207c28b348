"""Querying the audit trail."""
from __future__ import annotations

from typing import Any

from chalicelib.compliance import store
from chalicelib.core import db
from chalicelib.core.context import RequestContext
from chalicelib.core.http import decode_cursor, page


def list_events(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(query.cursor, 2)
    with db.transaction(ctx) as tx:
        rows = store.list_events(tx, resource_type=query.resource_type, resource_id=query.resource_id,
                                 actor=query.actor, action=query.action, from_=query.from_, to=query.to,
                                 after=after, limit=query.limit)
    return page(rows, query.limit, lambda r: [r["occurred_at"], r["id"]])
