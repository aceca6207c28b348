"""Reading job runs."""
from __future__ import annotations

from typing import Any

from chalicelib.core import db
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.ops import store
from chalicelib.ops.models import RUNS


def list_runs(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(RUNS, query, ctx)
    with db.transaction(ctx) as tx:
        rows = store.list_runs(tx, keyset, job_name=query.job_name, status=query.status)
    return keyset.page(rows)
