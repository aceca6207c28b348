"""Job `audit-partitions`: the audit trail's monthly partitions, created ahead so a write never lacks one."""
from __future__ import annotations

from typing import Any

MONTHS_AHEAD = 3


def audit_partitions(conn: Any) -> dict[str, Any]:
    from chalicelib.ops import store

    return store.ensure_audit_partitions(conn, MONTHS_AHEAD + 1)
