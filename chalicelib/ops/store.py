"""SQL for job runs (read by admins through the API)."""
from __future__ import annotations

from typing import Any

from chalicelib.core.db import Tx


def list_runs(tx: Tx, *, job_name: str | None, status: str | None, after: list[Any] | None,
              limit: int) -> list[dict[str, Any]]:
    return tx.all(
        "SELECT id, job_name, status, trigger, started_at, finished_at, figures, error FROM job_runs "
        "WHERE (%(job)s::text IS NULL OR job_name = %(job)s) AND (%(status)s::text IS NULL OR status = %(status)s) "
        "AND (%(t)s::timestamptz IS NULL OR (started_at, id) < (%(t)s, %(id)s::uuid)) "
        "ORDER BY started_at DESC, id DESC LIMIT %(limit)s",
        {"job": job_name, "status": status, "t": after[0] if after else None, "id": after[1] if after else None,
         "limit": limit + 1})
