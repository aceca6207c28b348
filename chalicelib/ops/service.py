"""Reading job runs: a firm's part of each (its admins, through the API) and the platform's record (operators,
through the command line)."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core import db
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.ops import store
from chalicelib.ops.models import RUNS


def list_runs(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The firm's part of each run that did work for it (firm_job_runs), newest first. Never the platform's
    record: its figures count every firm."""
    keyset = Keyset.parse(RUNS, query, ctx)
    with db.transaction(ctx) as tx:
        rows = store.list_runs(tx, keyset, job_name=query.job, status=query.status)
    return keyset.page(rows)


def platform_runs(*, job_name: str | None = None, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Every run with its platform figures and the number of firms' parts it recorded, newest first (the owner's
    connection: operators only)."""
    with db.owner_connection() as conn:
        return store.platform_runs(conn, job_name=job_name, status=status, limit=limit)


def firm_runs(firm_id: UUID, *, job_name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """One firm's parts of runs, as its admins see them, each with its run's id (operators only)."""
    with db.owner_connection() as conn:
        return store.firm_runs(conn, firm_id, job_name=job_name, limit=limit)
