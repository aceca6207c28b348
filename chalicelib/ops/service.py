"""Reading job runs."""
from __future__ import annotations

from typing import Any

from chalicelib.core import db
from chalicelib.core.context import RequestContext
from chalicelib.core.http import decode_cursor, page
from chalicelib.ops import store


def list_runs(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(query.cursor, 2)
    with db.transaction(ctx) as tx:
        rows = store.list_runs(tx, job_name=query.job_name, status=query.status, after=after, limit=query.limit)
    return page(rows, query.limit, lambda r: [r["started_at"], r["id"]])
