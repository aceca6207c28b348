"""Job `refresh-views`: the summary and dashboard materialized views, refreshed CONCURRENTLY so that reads never
wait on the refresh (each view has a unique index). Nightly, and runnable by hand."""
from __future__ import annotations

import time
from typing import Any

# Dependency order: the summaries and the dashboard read the product positions.
VIEWS = ("mv_product_positions", "mv_client_group_summary", "mv_firm_dashboard")


def refresh_views(conn: Any) -> dict[str, Any]:
    from chalicelib.ops import store

    figures: dict[str, Any] = {}
    for view in VIEWS:
        started = time.perf_counter()
        rows = store.refresh_materialized_view(conn, view)
        figures[view] = {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}
    return figures
