"""Job `refresh-views`: the summary and dashboard materialized views, refreshed CONCURRENTLY so that reads never
wait on the refresh (each view has a unique index). Nightly, and runnable by hand."""
from __future__ import annotations

import time
from typing import Any

# Dependency order: the summaries and the dashboard read the product positions.
VIEWS = ("mv_product_positions", "mv_client_group_summary", "mv_firm_dashboard")


def refresh_views(conn: Any) -> dict[str, Any]:
    from psycopg import sql

    figures: dict[str, Any] = {}
    for view in VIEWS:
        started = time.perf_counter()
        conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW CONCURRENTLY {}").format(sql.Identifier(view)))
        # Statistics for the new contents (the planner judges the views' firm filter by them), and the time of the
        # refresh, kept out of the rows so that a refresh writes only the rows whose figures changed.
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(view)))
        conn.execute("INSERT INTO view_refreshes (view_name, refreshed_at) VALUES (%s, now()) "
                     "ON CONFLICT (view_name) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at", (view,))
        rows = conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(view))).fetchone()["n"]
        figures[view] = {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}
    return figures
