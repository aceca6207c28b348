"""The "jobruns" part: what recording each firm's part of a job run costs (migration 0019), in the same run.

Today a run of `refresh-stale-views` counts each view's rows per firm (one GROUP BY firm_id scan where it counted
them), reads and clears the write marks per firm, times each firm's IRR, and records each firm's part in
`firm_job_runs` in the statement that records the run's end. The baseline is the run as it was before, rebuilt
step for step below on today's primitives (the same store functions where they did not change; the statements that
changed, verbatim as they were): one count per view, the marks as one aggregate, `job_runs` updated alone. Both
run the same job framework steps (advisory lock, a `job_runs` row), on the same data, interleaved in rounds whose
order alternates.

Before every run, untimed, each firm gets one write mark (`dashboard_writes`), so every run refreshes the views
and concerns every firm: the most parts a run can record. Firms: BENCH_JOBRUNS_FIRMS (default 20), each with
BENCH_JOBRUNS_HOUSEHOLDS households with demo products (default 25). Rounds: BENCH_JOBRUNS_ROUNDS (default 20:
each run takes about a second, and on a shared machine 8 rounds were too few for a steady median).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from tests.bench.common import p50, pct, say

TARGET = 1.1

# What the run read and cleared before migration 0019 (chalicelib/ops/store.py as it was).
_OLD_MARKS = """
SELECT pg_current_snapshot()::text AS snapshot, now() AS as_of, count(*) AS writes,
       coalesce(array_agg(DISTINCT firm_id), '{}') AS firms, min(written_at) AS oldest
FROM dashboard_writes"""
_OLD_CLEAR = "DELETE FROM dashboard_writes WHERE pg_visible_in_snapshot(xid, %s::pg_snapshot)"
_OLD_FINISH = ("UPDATE job_runs SET status = 'succeeded', finished_at = clock_timestamp(), figures = %s "
               "WHERE id = %s")


def _env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def previous_refresh(conn: Any) -> dict[str, Any]:
    """refresh-stale-views before firms' parts: the platform's figures only."""
    from psycopg import sql

    from chalicelib.ops.refresh_views import VIEWS
    from chalicelib.products.performance import service

    marks = conn.execute(_OLD_MARKS).fetchone()
    figures: dict[str, Any] = {"writes_seen": marks["writes"], "oldest_write": marks["oldest"]}
    if marks["writes"] == 0:
        return {**figures, "refreshed": False}
    as_of = marks["as_of"]
    for view in VIEWS:
        started = time.perf_counter()
        name = sql.Identifier(view)
        conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW CONCURRENTLY {}").format(name))
        conn.execute(sql.SQL("ANALYZE {}").format(name))
        conn.execute("INSERT INTO view_refreshes (view_name, refreshed_at) VALUES (%s, %s) "
                     "ON CONFLICT (view_name) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at", (view, as_of))
        rows = conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(name)).fetchone()["n"]
        figures[view] = {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}
    started = time.perf_counter()
    firms = sorted(marks["firms"])
    service.store_firm_irrs(firms, as_of)
    figures["firm_irr"] = {"firms": len(firms), "seconds": round(time.perf_counter() - started, 3)}
    figures["writes_cleared"] = conn.execute(_OLD_CLEAR, (marks["snapshot"],)).rowcount
    return {**figures, "refreshed": True}


def previous_run() -> int:
    """run_job("refresh-stale-views") as it was: the same lock and run record, the old job, the old finish."""
    from psycopg.types.json import Jsonb

    from chalicelib.core import db
    from chalicelib.core.jsonutil import dumps
    from chalicelib.ops import store
    from chalicelib.ops.jobs import _lock_key

    key = _lock_key("refresh-views")
    with db.owner_connection(autocommit=True) as conn:
        if not store.try_job_lock(conn, key):
            raise RuntimeError("the refresh lock is held")
        try:
            run_id = store.start_run(conn, "refresh-stale-views", "manual")
            figures = previous_refresh(conn)
            conn.execute(_OLD_FINISH, (Jsonb(figures, dumps=dumps), run_id))
        finally:
            store.release_job_lock(conn, key)
    return 0


def today_run() -> int:
    """run_job("refresh-stale-views") as it is; returns how many firms' parts it recorded."""
    from chalicelib.ops.jobs import run_job

    result = run_job("refresh-stale-views", trigger="manual")
    if result.status != "succeeded" or not result.figures.get("refreshed"):
        raise RuntimeError(f"refresh-stale-views did not refresh: {result.summary()}")
    return result.firms


def _mark_every_firm(firm_ids: list[Any]) -> None:
    from chalicelib.core import db

    with db.owner_connection() as conn:
        conn.execute("INSERT INTO dashboard_writes (firm_id) SELECT unnest(%s::uuid[])", (firm_ids,))


@dataclass
class JobRunsResult:
    firms: int
    households: int
    rows: dict[str, int]  # view -> rows, every firm's
    rounds: int
    samples: dict[str, list[float]] = field(default_factory=dict)  # "today", "before"
    parts: int = 0  # firms' parts one run recorded

    def ratio(self, p: float = 50) -> float:
        return pct(self.samples["today"], p) / pct(self.samples["before"], p)


def measure() -> JobRunsResult:
    from chalicelib.core import db
    from chalicelib.ops.jobs import run_job
    from chalicelib.ops.refresh_views import VIEWS
    from tests.bench.common import make_firm

    n_firms, households = _env("BENCH_JOBRUNS_FIRMS", 20), _env("BENCH_JOBRUNS_HOUSEHOLDS", 25)
    rounds = _env("BENCH_JOBRUNS_ROUNDS", 20)
    say(f"jobruns: {n_firms} firms x {households} households with products")
    for _ in range(n_firms):
        make_firm(households, products=True)
    run_job("refresh-views", trigger="manual")  # every firm's marks taken in
    with db.owner_connection() as conn:
        rows = {v: conn.execute(f"SELECT count(*) AS n FROM {v}").fetchone()["n"] for v in VIEWS}
        all_firms = [r["id"] for r in conn.execute("SELECT id FROM firms").fetchall()]
    result = JobRunsResult(firms=len(all_firms), households=households * n_firms, rows=rows, rounds=rounds,
                           samples={"today": [], "before": []})
    steps = [("today", today_run), ("before", previous_run)]
    for _kind, fn in steps:  # warm-up
        _mark_every_firm(all_firms)
        fn()
    say(f"jobruns: {rounds} interleaved rounds, every firm marked before each run")
    for r in range(rounds):
        for kind, fn in (steps if r % 2 == 0 else list(reversed(steps))):
            _mark_every_firm(all_firms)
            t = time.perf_counter()
            parts = fn()
            result.samples[kind].append(time.perf_counter() - t)
            result.parts = max(result.parts, parts)
    return result


def summary_line(r: JobRunsResult) -> str:
    return (f"jobruns: refresh-stale-views with firms' parts / as before: p50 {r.ratio():.3f}x "
            f"({p50(r.samples['today']) * 1e3:.0f} ms / {p50(r.samples['before']) * 1e3:.0f} ms), "
            f"{r.parts} parts per run")


def verdicts(r: JobRunsResult) -> list[tuple[str, str, str, bool]]:
    from tests.bench.report import _ms, _x

    s = r.samples
    name = (f"Job runs: refresh-stale-views recording {r.parts} firms' parts / the run before firms' parts "
            f"(p50, every firm marked)")
    return [(name,
             f"{_x(r.ratio())} ({_ms(p50(s['today']))} / {_ms(p50(s['before']))})", f"≤ {TARGET:g}x",
             r.ratio() <= TARGET)]


def render(r: JobRunsResult) -> list[str]:
    from tests.bench.report import _ms, _x

    s = r.samples
    out = ["## Job runs: each firm's part of a run\n",
           (f"A run of `refresh-stale-views` today (each view's rows counted per firm, the marks read and cleared "
            f"per firm, each firm's part recorded in `firm_job_runs` with the run's end) over the run as it was "
            f"before (counted once per view, `job_runs` alone), rebuilt in tests/bench/jobruns.py; {r.firms} firms "
            f"({r.households:,} households with products in the bench's own), every firm given a write mark before "
            f"each run, so each run refreshes every view and records {r.parts} parts. {r.rounds} rounds, "
            f"interleaved, the order alternating. Views' rows: "
            + ", ".join(f"{v} {n:,}" for v, n in r.rows.items()) + ". Made by `BENCH_PARTS=jobruns`.\n"),
           "| run | p50 | p95 | samples |", "|---|---|---|---|"]
    for kind, label in (("today", "today (firms' parts)"), ("before", "before")):
        out.append(f"| {label} | {_ms(p50(s[kind]))} | {_ms(pct(s[kind], 95))} | {len(s[kind])} |")
    out.append(f"\np50 ratio {_x(r.ratio())}, p95 ratio {_x(r.ratio(95))}. The refreshes and the firms' IRRs take "
               "most of either run.\n")
    return out
