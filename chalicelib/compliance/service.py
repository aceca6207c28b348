"""Querying the audit trail."""
from __future__ import annotations

from typing import Any

from chalicelib.compliance import store
from chalicelib.compliance.models import EVENTS
from chalicelib.core import db
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset


def list_events(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(EVENTS, query, ctx)
    with db.transaction(ctx) as tx:
        rows = store.list_events(tx, keyset, resource_type=query.resource_type, resource_id=query.resource_id,
                                 actor=query.actor, action=query.action, from_=query.from_, to=query.to)
    return keyset.page(rows)
