"""Part "refreshviews" (BENCH_PARTS=refreshviews): the nightly `refresh-views` at 100x the firm's size, and what a
concurrent reader of the dashboard sees while it runs.

Data: a firm of BENCH_REFRESHVIEWS_HOUSEHOLDS (13,000) households (`common.make_firm`), each given products by
tests/bench/products_data.py with BENCH_REFRESHVIEWS_MONTHS (12) months of monthly history; one refresh-views run
first (untimed) so that every view holds the firm.

R1. `refresh-views` duration: the job (run_job, its lock and record included) in a process of its own, as its
    Lambda function runs, BENCH_REFRESHVIEWS_ROUNDS (3) times back to back; its views and the firm IRR timed apart.
R2. The reader: `GET /v1/dashboard` through the real handler in this process, back to back, in alternating phases:
    no refresh running (the baseline), then while the refresh rounds run, then no refresh again. The figure is the
    longest read during the refresh against the p99 of the reads with none running (the same reader, the same run).
    A thread beside the refresh samples the app's backends in pg_stat_activity every 20 ms: a sample of a read
    waiting on a lock is a read waiting on the refresh. Target: no such sample (REFRESH ... CONCURRENTLY takes an
    EXCLUSIVE lock, which blocks writers of the view, of which there are none, and never readers).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.bench.common import FakeLambdaContext, api_event, p50, pct, say

DASHBOARD = "/v1/dashboard"


def _env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


@dataclass
class RefreshViewsResult:
    households: int
    months: int
    rounds: int
    load_seconds: float = 0.0
    first: dict[str, Any] = field(default_factory=dict)
    refreshes: list[dict[str, Any]] = field(default_factory=list)  # {"seconds", "figures"} per round
    idle: list[float] = field(default_factory=list)  # the reader's seconds, no refresh running
    during: list[float] = field(default_factory=list)  # while a refresh runs
    samples: Counter = field(default_factory=Counter)  # the app's backends during the refresh: state -> samples

    def refresh_median(self) -> float:
        return p50([r["seconds"] for r in self.refreshes])

    def lock_waits(self) -> int:
        return sum(n for key, n in self.samples.items() if key.startswith("waiting on Lock"))

    def worst_ratio(self) -> float:
        return max(self.during) / pct(self.idle, 99)


def _refresher(owner_url: str, rounds: int, started: Any, queue: Any, samples: Any) -> None:
    """Runs refresh-views `rounds` times back to back; a thread samples the app role's backends meanwhile."""
    import psycopg

    from chalicelib.core import db
    from chalicelib.ops.jobs import run_job

    db.close_pools()
    done = threading.Event()

    def sampler() -> None:
        with psycopg.connect(owner_url, autocommit=True) as conn:
            while not done.wait(0.02):
                rows = conn.execute("SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                                    "WHERE application_name = 'wealthdesk' AND pid <> pg_backend_pid()").fetchall()
                for state, wtype, wevent in rows:
                    samples.put((f"waiting on {wtype}:{wevent}" if wtype else "on CPU") if state == "active"
                                else str(state))

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    started.set()
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = run_job("refresh-views", trigger="manual")
        queue.put({"seconds": time.perf_counter() - t0, "status": result.status, "figures": result.figures})
    done.set()
    thread.join(timeout=2)
    queue.put(None)


def run(database: Any, app_module: Any, phases: list[str]) -> RefreshViewsResult:
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service
    from chalicelib.ops.jobs import run_job
    from tests.bench import common, products_data
    from tests.bench.run import Phase

    res = RefreshViewsResult(households=_env("BENCH_REFRESHVIEWS_HOUSEHOLDS", 13_000),
                             months=_env("BENCH_REFRESHVIEWS_MONTHS", 12), rounds=_env("BENCH_REFRESHVIEWS_ROUNDS", 3))
    t = time.perf_counter()
    firm = common.make_firm(res.households)
    with Phase("refreshviews: loading the products data", phases):
        products_data.load(firm, admin_url=database.admin_url, months=res.months)
    res.load_seconds = time.perf_counter() - t
    t = time.perf_counter()
    first = run_job("refresh-views", trigger="manual")
    res.first = {"seconds": time.perf_counter() - t, **first.figures}
    say(f"refreshviews: first refresh-views {res.first['seconds']:.1f} s")
    firm.token = service.login(RequestContext(), firm.admin["email"], common.PASSWORD).access_token
    app = app_module.app
    lctx = FakeLambdaContext()
    event = api_event("GET", DASHBOARD, {}, {"Authorization": f"Bearer {firm.token}"})

    def read() -> float:
        t0 = time.perf_counter()
        response = app(event, lctx)
        elapsed = time.perf_counter() - t0
        if response["statusCode"] != 200:
            raise RuntimeError(f"dashboard answered {response['statusCode']}: {str(response.get('body'))[:300]}")
        return elapsed

    for _ in range(30):
        read()
    with Phase("refreshviews: R1-R2", phases):
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:  # the baseline, before
            res.idle.append(read())
        db.close_pools()  # nothing of the pool crosses the fork
        ctx = mp.get_context("fork")
        started, queue, samples = ctx.Event(), ctx.Queue(), ctx.Queue()
        proc = ctx.Process(target=_refresher, args=(database.owner_url, res.rounds, started, queue, samples),
                           daemon=True)
        proc.start()
        assert started.wait(60)
        finished = threading.Event()

        def collect() -> None:
            while True:
                item = queue.get(timeout=3600)
                if item is None:
                    break
                res.refreshes.append(item)
                say(f"refreshviews: refresh-views {item['seconds']:.1f} s ({item['status']})")
            finished.set()

        collector = threading.Thread(target=collect, daemon=True)
        collector.start()
        while not finished.is_set():
            res.during.append(read())
        collector.join()
        while True:
            try:
                res.samples[samples.get(timeout=0.5)] += 1
            except Exception:
                break
        proc.join(timeout=30)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:  # the baseline, after
            res.idle.append(read())
    say(summary_line(res))
    return res


def summary_line(r: RefreshViewsResult) -> str:
    return (f"refreshviews: refresh-views at {r.households:,} households {r.refresh_median():.1f} s (median of "
            f"{len(r.refreshes)}); dashboard reader: longest during the refresh {max(r.during) * 1e3:.1f} ms, p99 "
            f"with none running {pct(r.idle, 99) * 1e3:.1f} ms ({r.worst_ratio():.2f}x); samples of a read waiting "
            f"on a lock: {r.lock_waits()}")


def verdicts(r: RefreshViewsResult) -> list[tuple[str, str, str, bool]]:
    figures = r.refreshes[0]["figures"]
    views = sum(v["seconds"] for k, v in figures.items() if k.startswith("mv_"))
    duration = (f"{r.refresh_median():.1f} s (views {views:.1f} s, firm IRR {figures['firm_irr']['seconds']:.1f} s, "
                "first round)")
    waits = (f"{r.lock_waits()} (longest read during it {max(r.during) * 1e3:.1f} ms / p99 with none running "
             f"{pct(r.idle, 99) * 1e3:.1f} ms = {r.worst_ratio():.2f}x)")
    scale = " (100x the firm)" if r.households == 13_000 else ""
    name = f"R1. refresh-views at {r.households:,} households{scale}, {r.months} months of history: duration, median"
    return [
        (name, duration, "recorded", True),
        ("R2. Dashboard reads waiting on the refresh (lock-wait samples of the app's backends during it)", waits, "0",
         r.lock_waits() == 0),
    ]


def render(r: RefreshViewsResult) -> list[str]:
    out: list[str] = []
    w = out.append
    w("## refresh-views at 100x the firm, and a reader of the dashboard meanwhile\n")
    w(f"A firm of {r.households:,} households with {r.months} months of monthly history each (loaded in "
      f"{r.load_seconds:.0f} s). `refresh-views` run {r.rounds} times back to back in a process of its own (as its "
      "Lambda function runs), while this process reads `GET /v1/dashboard` through the real handler back to back; "
      "the baseline is the same reader with no refresh running, 20 s before and 20 s after. Made by "
      "`BENCH_PARTS=refreshviews` (tests/bench/refreshviews.py).\n")
    w("| Measurement | value |")
    w("|---|---|")
    rounds = ", ".join(f"{x['seconds']:.1f}" for x in r.refreshes)
    w(f"| refresh-views, each round (s) | {rounds} |")
    w(f"| reads with no refresh running | {len(r.idle):,}, p50 {p50(r.idle) * 1e3:.2f} ms, p99 "
      f"{pct(r.idle, 99) * 1e3:.2f} ms, longest {max(r.idle) * 1e3:.2f} ms |")
    w(f"| reads during the refresh | {len(r.during):,}, p50 {p50(r.during) * 1e3:.2f} ms, p99 "
      f"{pct(r.during, 99) * 1e3:.2f} ms, longest {max(r.during) * 1e3:.2f} ms |")
    w(f"| the app's backends sampled during the refresh | "
      f"{', '.join(f'{k}: {n}' for k, n in r.samples.most_common())} |")
    w("")
    for name, measured, target, ok in verdicts(r):
        w(f"- {name}: {measured} (target {target}) {'**pass**' if ok else '**FAIL**'}")
    w("")
    return out
