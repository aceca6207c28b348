"""SQL for job runs (read by admins through the API)."""
from __future__ import annotations

from typing import Any

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset


def list_runs(tx: Tx, keyset: Keyset, *, job_name: str | None, status: str | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT id, job_name, status, trigger, started_at, finished_at, figures, error FROM job_runs "
        "WHERE (%(job)s::text IS NULL OR job_name = %(job)s) AND (%(status)s::text IS NULL OR status = %(status)s) "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"job": job_name, "status": status, **keyset.params()})
