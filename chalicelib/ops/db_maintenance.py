"""Job `db-maintenance` (weekly): ANALYZE every table, and REINDEX INDEX CONCURRENTLY the indexes whose estimated
bloat passes a threshold, within a time budget.

The job runs on the owner role's autocommit connection (REINDEX CONCURRENTLY refuses a transaction block); the owner
role owns every table, materialized view and index of the schema (migrations create them as it), which ANALYZE and
REINDEX require. Its steps, in a fixed order: drop the invalid indexes an interrupted REINDEX CONCURRENTLY left
(`<index>_ccnew`), ANALYZE each table and materialized view by name (fresh statistics for the planner, and for the
estimate below), then check each index by name and rebuild those over the threshold.

Bloat: the share of an index's size beyond what its rows need packed at its fill factor. With the `pgstattuple`
extension installed and the owner allowed to call it (a superuser ran `CREATE EXTENSION pgstattuple` and `GRANT
pg_stat_scan_tables TO wealthdesk_owner`: the owner may not create it, it is not a trusted extension), the B-tree's
leaves are read (`pgstatindex`: 1 - average leaf density over the fill factor), which is exact but reads the whole
index, so only indexes large enough to matter are read. Without it, an estimate from the catalogue alone: the rows
(`pg_class.reltuples`) times their width (`pg_stats.avg_width` per column, kept current by the ANALYZE just done)
over the page space, against the index's size; it reads nothing but statistics, and is within some ten percent for
fixed-width keys and less sure for wide text keys (whose widths are averages). Only B-tree indexes are judged (the
schema's GIN and GiST indexes are listed unchecked). A B-tree under random inserts settles at leaves some 70 % full,
so the default threshold (DB_MAINTENANCE_BLOAT, 0.4: 40 % of the index is waste, 1.7 times its packed size) leaves
ordinary indexes alone and catches those emptied by deletes and updates. Indexes smaller than
DB_MAINTENANCE_MIN_INDEX_BYTES (4 MiB) are never rebuilt: too small to matter, and their estimate is noisy.

Bounded in time: before each step the run checks its budget (DB_MAINTENANCE_BUDGET_SECONDS, 600: the function's
timeout is 900, and a step is one ANALYZE or one REINDEX) and, when it has passed, stops and records where
(`resume`); the next run starts after that step, and a run that finishes starts the next from the beginning. At
least one step is done per run, so a run always makes progress. A REINDEX CONCURRENTLY interrupted (the function
killed at its time limit: the server notices the client gone within a second, as for every job: run_job sets
`client_connection_check_interval`)
leaves the old index in place and valid, and an invalid new one, which the next run drops first.
"""
from __future__ import annotations

import os
import time
from typing import Any

JOB_NAME = "db-maintenance"


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def settings() -> dict[str, Any]:
    return {"threshold": _float("DB_MAINTENANCE_BLOAT", 0.4),
            "min_index_bytes": int(_float("DB_MAINTENANCE_MIN_INDEX_BYTES", 4 * 1024 * 1024)),
            "budget_seconds": _float("DB_MAINTENANCE_BUDGET_SECONDS", 600.0)}


def _key(step: tuple[str, str]) -> tuple[int, str]:
    return (0 if step[0] == "analyze" else 1, step[1])


def db_maintenance(conn: Any) -> dict[str, Any]:
    from chalicelib.ops import store

    started = time.monotonic()
    config = settings()
    previous = store.last_run_figures(conn, JOB_NAME) or {}
    resume = previous.get("resume")
    after = _key((resume["phase"], resume["after"])) if resume else None

    figures: dict[str, Any] = {**config, "resumed_after": resume, "leftovers_dropped": [], "analyzed": [],
                               "indexes_checked": 0, "reindexed": [], "unchecked": []}
    for index in store.leftover_indexes(conn):
        store.drop_index_concurrently(conn, index)
        figures["leftovers_dropped"].append(index)

    method = "pgstattuple" if store.can_use_pgstattuple(conn) else "estimate"
    figures["method"] = method
    state = {"done": 0, "last": None, "stopped": False}

    def go(step: tuple[str, str]) -> bool:
        """Whether to do `step`: not done by the run this one resumes, and the budget not spent (after one step)."""
        if after is not None and _key(step) <= after:
            return False
        if state["done"] and time.monotonic() - started >= config["budget_seconds"]:
            state["stopped"] = True
            return False
        state["done"] += 1
        state["last"] = step
        return True

    for table in store.maintained_tables(conn):
        if state["stopped"]:
            break
        if go(("analyze", table)):
            store.analyze_table(conn, table)
            figures["analyzed"].append(table)
    for row in store.index_estimates(conn) if not state["stopped"] else []:
        name = row["index_name"]
        if state["stopped"] or not go(("index", name)):
            continue
        figures["indexes_checked"] += 1
        if row["amname"] != "btree":
            figures["unchecked"].append(name)
            continue
        if row["bytes"] < config["min_index_bytes"]:
            continue
        bloat = row["bloat"]
        if method == "pgstattuple":
            bloat = store.pgstattuple_bloat(conn, name, row["fillfactor"])
        if bloat is None or bloat < config["threshold"]:
            continue
        began = time.monotonic()
        store.reindex_concurrently(conn, name)
        figures["reindexed"].append({"index": name, "table": row["table_name"], "bloat": round(bloat, 3),
                                     "bytes_before": row["bytes"], "bytes_after": store.index_bytes(conn, name),
                                     "seconds": round(time.monotonic() - began, 3)})
    stopped, last = state["stopped"], state["last"]
    figures["complete"] = not stopped
    figures["resume"] = {"phase": last[0], "after": last[1]} if stopped and last else None
    figures["seconds"] = round(time.monotonic() - started, 3)
    return figures
