"""Jobs `refresh-views` (nightly, everything) and `refresh-stale-views` (every minute, only when a write is not in
the views yet): the dashboard's materialized views, refreshed CONCURRENTLY so that reads never wait on the refresh
(each view has a unique index), and the firm IRR stored beside them.

Every write to a table the dashboard reads leaves a mark in its own transaction (dashboard_writes, migration 0015).
A run reads the marks and a snapshot in one statement, refreshes the views (each REFRESH a later statement, so it
holds every write the snapshot saw), stores the firm IRR of the firms marked (every firm for the nightly run), and
then deletes exactly the marks of the writes that snapshot saw: a write committed during the run keeps its mark,
so the dashboard stays `stale` and the next run takes it in. Both jobs share one advisory lock: a run that finds
the other one running is recorded as skipped. Runnable by hand (`wealthdesk job run refresh-views`).

Each firm the run concerns gets its part of the figures (firm_job_runs, which its admin lists): its writes taken
in and cleared, its rows in each view, its IRR's time. The views' totals and times count every firm: operators'."""
from __future__ import annotations

import time
from typing import Any

# Dependency order: the summaries, the dashboard and the fund totals read the product positions.
VIEWS = ("mv_product_positions", "mv_client_group_summary", "mv_firm_dashboard", "mv_firm_fund_totals",
         "mv_firm_counts")


def refresh_views(conn: Any) -> dict[str, Any]:
    """Everything, whether or not a write is marked: a catch-all for changes the marks cannot see (an operator's
    TRUNCATE, say)."""
    return _refresh(conn, only_when_stale=False)


def refresh_stale_views(conn: Any) -> dict[str, Any]:
    """Nothing (not even a refresh) when no write is marked; else as refresh_views, with the firm IRR of the firms
    marked only."""
    return _refresh(conn, only_when_stale=True)


def _refresh(conn: Any, *, only_when_stale: bool) -> dict[str, Any]:
    """The platform's figures (every firm's together), and under BY_FIRM each firm's part of them: its own marks,
    its own rows in each view, the time its IRR took. The firms concerned are those whose IRR the run stores (every
    firm nightly, the firms written to otherwise)."""
    from chalicelib.ops import store
    from chalicelib.ops.jobs import BY_FIRM, concerns
    from chalicelib.products.performance import service

    marks = store.dashboard_writes(conn)
    concerns(marks["firms"])  # if the run fails, their dashboards stay stale: their admins are told
    figures: dict[str, Any] = {"writes_seen": marks["writes"], "oldest_write": marks["oldest"]}
    if only_when_stale and marks["writes"] == 0:
        return {**figures, "refreshed": False}
    as_of = marks["as_of"]
    firms = store.firm_ids(conn) if not only_when_stale else sorted(marks["firms"])
    parts: dict[Any, dict[str, Any]] = {}
    for firm in firms:
        seen = marks["by_firm"].get(firm, {"writes": 0, "oldest": None})
        parts[firm] = {"writes_seen": seen["writes"], "oldest_write": seen["oldest"]}
    for view in VIEWS:
        started = time.perf_counter()
        rows = store.refresh_materialized_view(conn, view, as_of)
        figures[view] = {"rows": sum(rows.values()), "seconds": round(time.perf_counter() - started, 3)}
        for firm, part in parts.items():
            part[view] = {"rows": rows.get(firm, 0)}
    started = time.perf_counter()
    seconds = service.store_firm_irrs(firms, as_of)
    figures["firm_irr"] = {"firms": len(seconds), "seconds": round(time.perf_counter() - started, 3)}
    cleared = store.clear_dashboard_writes(conn, marks["snapshot"])
    figures["writes_cleared"] = sum(cleared.values())
    for firm, part in parts.items():
        part["firm_irr"] = {"seconds": round(seconds[firm], 3)}
        part["writes_cleared"] = cleared.get(firm, 0)
        part["refreshed"] = True
    return {**figures, "refreshed": True, BY_FIRM: parts}
