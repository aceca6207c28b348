"""Search across the firm."""
from __future__ import annotations

from typing import Any

from chalicelib.core import db
from chalicelib.core.context import RequestContext
from chalicelib.search import store


def search(ctx: RequestContext, query: Any) -> list[dict[str, Any]]:
    with db.transaction(ctx) as tx:
        return store.search(tx, query.q, query.kind, query.limit)
