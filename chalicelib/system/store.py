"""SQL for the health check."""
from __future__ import annotations

from typing import Any


def applied_migration_ids(conn: Any) -> set[str]:
    return {r["migration_id"] for r in conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()}
