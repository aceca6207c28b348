"""Job `audit-partitions`: the audit trail's monthly partitions, created ahead so a write never lacks one."""
from __future__ import annotations

from typing import Any

MONTHS_AHEAD = 3


def audit_partitions(conn: Any) -> dict[str, Any]:
    created = conn.execute("SELECT ensure_audit_partitions(CURRENT_DATE, %s) AS created",
                           (MONTHS_AHEAD + 1,)).fetchone()["created"]
    partitions = conn.execute(
        "SELECT count(*) AS n, max(c.relname) AS newest FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass").fetchone()
    return {"created": created, "partitions": partitions["n"], "newest": partitions["newest"]}
