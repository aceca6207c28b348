"""Part "live" (BENCH_PARTS=live): figures that are current, at 13,000 households.

L1. `GET /v1/dashboard` p95 against `GET /v1/client-groups/{id}/summary` p95 in the same run (target: within 3x),
    both through the real handler in process (`app.app(event, context)`), interleaved, the summary of a random
    household each time. The dashboard reads materialized views and the stored firm IRR; the summary is computed
    live (the household's positions and its IRR from its pooled flows).
L2. Staleness: for BENCH_LIVE_SECONDS (600) a writer adds a valuation every BENCH_LIVE_WRITE_INTERVAL seconds (1)
    through `POST /v1/portfolio-funds/{id}/valuations`, while a scheduler process invokes the job
    `refresh-stale-views` every 60 s as EventBridge's `rate(1 minute)` does (each invocation in a thread of its own,
    as separate Lambda invocations: one that overlaps a run still going is skipped by the lock). After each write the
    dashboard is sampled through the handler. Staleness at a sample = the age of the oldest write not yet in the
    dashboard, measured two ways: from the answer's `stale_since` (what the marks say), and independently from the
    FUM the answer shows (the writer's products are valued in an order that makes each prefix of the writes give a
    different FUM, so the FUM says which writes are in). Target: the longest under 5 minutes.

Data: a firm of BENCH_LIVE_HOUSEHOLDS (13,000) households (`common.make_firm`), each given products by
tests/bench/products_data.py with BENCH_LIVE_MONTHS (12) months of monthly history, and BENCH_LIVE_PRODUCTS (10)
products of the writer's, one fund each, in households of the firm. Other knobs: BENCH_LIVE_READS (300 of each
read), BENCH_LIVE_PERIOD (60, the schedule's period in seconds).
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.bench.common import FakeLambdaContext, api_event, p50, pct, say

DASHBOARD = "/v1/dashboard"
SUMMARY = "/v1/client-groups/{group_id}/summary"
RATIO_TARGET = 3.0
STALENESS_TARGET = 300.0
FIRST_DAY = date(2000, 1, 31)  # the writer's valuation dates: one day apart per product, from here


def _env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


@dataclass
class LiveResult:
    households: int
    months: int
    load: Any = None
    first_refresh: dict[str, Any] = field(default_factory=dict)  # refresh-views after loading: figures, seconds
    reads: dict[str, list[float]] = field(default_factory=dict)  # "dashboard" / "summary" -> seconds
    seconds: float = 0.0  # the writer's run, as measured
    period: float = 60.0
    write_interval: float = 1.0
    writer_products: int = 0
    writes: list[tuple[int, float, float]] = field(default_factory=list)  # (k, start, acknowledged), epoch seconds
    write_latency: list[float] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)  # t, stale, stale_since, refreshed_at, fum, k_in, dt
    runs: list[dict[str, Any]] = field(default_factory=list)  # refresh-stale-views invocations
    mismatches: int = 0  # samples whose FUM matched no prefix of the writes (should be 0)

    # --- what the figures are made of ---

    def ratio(self) -> float:
        return pct(self.reads["dashboard"], 95) / pct(self.reads["summary"], 95)

    def staleness_marks(self) -> list[float]:
        return [s["t"] - s["stale_since"] if s["stale_since"] is not None else 0.0 for s in self.samples]

    def staleness_fum(self) -> list[float]:
        """From the FUM shown: the oldest write acknowledged before the sample and not in it."""
        out = []
        for s in self.samples:
            missing = [w for w in self.writes if w[0] > s["k_in"] and w[2] <= s["t"]]
            out.append(s["t"] - missing[0][1] if missing else 0.0)
        return out

    def lags(self) -> list[float]:
        """Per write: from its start to the first sample that shows it (writes shown before the end)."""
        out = []
        for k, start, _ack in self.writes:
            seen = next((s["t"] for s in self.samples if s["k_in"] >= k), None)
            if seen is not None:
                out.append(seen - start)
        return out


# --- the handler ----------------------------------------------------------------------------------------------------

def _call(app: Any, method: str, resource: str, params: dict[str, str], headers: dict[str, str],
          body: Any = None, want: int = 200, query: dict[str, str] | None = None) -> tuple[float, Any]:
    h = dict(headers)
    if body is not None:
        h["Content-Type"] = "application/json"
    event = api_event(method, resource, params, h, json.dumps(body) if body is not None else None,
                      request_id=str(uuid.uuid4()))
    if query:
        event["queryStringParameters"] = dict(query)
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    t = time.perf_counter()
    response = app(event, FakeLambdaContext())
    elapsed = time.perf_counter() - t
    if response["statusCode"] != want:
        raise RuntimeError(f"{method} {event['path']} answered {response['statusCode']}: "
                           f"{str(response.get('body'))[:400]}")
    return elapsed, json.loads(response["body"]) if response.get("body") else None


def _epoch(text: str | None) -> float | None:
    return datetime.fromisoformat(text).timestamp() if text else None


# --- the writer's products --------------------------------------------------------------------------------------------

@dataclass
class WriterBook:
    funds: list[str]  # one portfolio fund per product, in round-robin order
    values: list[Decimal]  # each product's latest value
    dates: list[date]


def _writer_book(app: Any, headers: dict[str, str], firm: Any, n: int, rng: random.Random) -> WriterBook:
    """n products, each in a household of the firm, one non-cash fund, 1,000.00 invested and valued 1,000.00."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext

    with db.transaction(RequestContext.system(firm.id)) as tx:
        fund = tx.one("SELECT id FROM funds WHERE NOT is_cash ORDER BY name LIMIT 1")["id"]
        homes = tx.all("SELECT client_group_id, min(product_owner_id::text) AS owner FROM client_group_product_owners "
                       "GROUP BY client_group_id ORDER BY client_group_id")
    book = WriterBook([], [], [])
    for i, home in enumerate(rng.sample(homes, n)):
        body = {"name": f"Live writer {i + 1}", "product_type": "gia", "start_date": "2000-01-01",
                "ownership": {"association_type": "individual", "product_owner_id": home["owner"]}}
        _, product = _call(app, "POST", "/v1/client-groups/{group_id}/products",
                           {"group_id": str(home["client_group_id"])}, headers, body, want=201)
        _, pf = _call(app, "POST", "/v1/products/{product_id}/funds", {"product_id": product["id"]}, headers,
                      {"fund_id": str(fund), "start_date": "2000-01-01"}, want=201)
        _call(app, "POST", "/v1/portfolio-funds/{portfolio_fund_id}/activity", {"portfolio_fund_id": pf["id"]},
              headers, {"activity_date": "2000-01-01", "activity_type": "investment", "amount": "1000.00"}, want=201)
        _call(app, "POST", "/v1/portfolio-funds/{portfolio_fund_id}/valuations", {"portfolio_fund_id": pf["id"]},
              headers, {"valuation_date": FIRST_DAY.isoformat(), "value": "1000.00"}, want=201)
        book.funds.append(pf["id"])
        book.values.append(Decimal("1000.00"))
        book.dates.append(FIRST_DAY)
    return book


# --- the schedule -----------------------------------------------------------------------------------------------------

def _scheduler(period: float, first: float, stop: Any, queue: Any) -> None:
    """EventBridge's rate schedule: at first, first + period, ... invoke refresh-stale-views, each invocation in a
    thread of its own (a Lambda invocation does not wait for the previous one); report each run's times."""
    from chalicelib.core import db
    from chalicelib.ops.jobs import run_job

    db.close_pools()
    threads: list[threading.Thread] = []

    def invoke() -> None:
        t0 = time.time()
        try:
            result = run_job("refresh-stale-views")
            queue.put({"start": t0, "end": time.time(), "status": result.status, "figures": result.figures})
        except Exception as exc:  # recorded in job_runs too
            queue.put({"start": t0, "end": time.time(), "status": "failed", "figures": {}, "error": str(exc)})

    tick = first
    while not stop.is_set():
        if time.time() >= tick:
            thread = threading.Thread(target=invoke, daemon=True)
            thread.start()
            threads.append(thread)
            tick += period
        stop.wait(0.05)
    for thread in threads:
        thread.join(timeout=600)
    queue.put(None)


# --- the part ---------------------------------------------------------------------------------------------------------

def run(database: Any, app_module: Any, phases: list[str]) -> LiveResult:
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service
    from chalicelib.ops.jobs import run_job
    from tests.bench import common, products_data
    from tests.bench.run import Phase

    households = int(_env("BENCH_LIVE_HOUSEHOLDS", 13_000))
    months = int(_env("BENCH_LIVE_MONTHS", 12))
    res = LiveResult(households=households, months=months, period=_env("BENCH_LIVE_PERIOD", 60.0),
                     write_interval=_env("BENCH_LIVE_WRITE_INTERVAL", 1.0))
    firm = common.make_firm(households)
    with Phase("live: loading the products data", phases):
        res.load = products_data.load(firm, admin_url=database.admin_url, months=months)
    firm.token = service.login(RequestContext(), firm.admin["email"], common.PASSWORD).access_token
    headers = {"Authorization": f"Bearer {firm.token}"}
    app = app_module.app
    rng = random.Random(7)
    book = _writer_book(app, headers, firm, int(_env("BENCH_LIVE_PRODUCTS", 10)), rng)
    res.writer_products = len(book.funds)
    t = time.perf_counter()
    first = run_job("refresh-views", trigger="manual")
    res.first_refresh = {"seconds": time.perf_counter() - t, **first.figures}
    say(f"live: refresh-views at {households:,} households: {res.first_refresh['seconds']:.1f} s "
        f"(firm IRR {first.figures['firm_irr']['seconds']:.1f} s)")

    # L1: the dashboard against the household summary.
    groups = [str(g) for g in firm.group_ids]
    reads = int(_env("BENCH_LIVE_READS", 300))
    with Phase("live L1 (dashboard and summary p95)", phases):
        for _ in range(20):  # warm: the routes' modules, models and the connection
            _call(app, "GET", DASHBOARD, {}, headers)
            _call(app, "GET", SUMMARY, {"group_id": rng.choice(groups)}, headers)
        res.reads = {"dashboard": [], "summary": []}
        for _ in range(reads):
            elapsed, body = _call(app, "GET", DASHBOARD, {}, headers)
            assert body["stale"] is False and body["irr"]["irr"] is not None, body["irr"]
            res.reads["dashboard"].append(elapsed)
            res.reads["summary"].append(_call(app, "GET", SUMMARY, {"group_id": rng.choice(groups)}, headers)[0])
    say(f"live L1: dashboard p95 {pct(res.reads['dashboard'], 95) * 1e3:.2f} ms, summary p95 "
        f"{pct(res.reads['summary'], 95) * 1e3:.2f} ms -> {res.ratio():.2f}x")

    # L2: staleness under a writer, with the schedule running.
    _, base = _call(app, "GET", DASHBOARD, {}, headers)
    rest = Decimal(base["funds_under_management"]) - sum(book.values)  # everything but the writer's products
    prefix_fum = {Decimal(base["funds_under_management"]): 0}  # FUM after the first k writes -> k
    seconds = _env("BENCH_LIVE_SECONDS", 600.0)
    db.close_pools()  # nothing of the pool crosses the fork
    ctx = mp.get_context("fork")
    stop, queue = ctx.Event(), ctx.Queue()
    start = time.time()
    proc = ctx.Process(target=_scheduler, args=(res.period, start + rng.uniform(0, res.period), stop, queue),
                       daemon=True)
    proc.start()
    k = 0
    with Phase(f"live L2 (staleness, {seconds:.0f} s)", phases):
        next_write = time.time()
        while time.time() < start + seconds:
            time.sleep(max(0.0, next_write - time.time()))
            next_write += res.write_interval
            k += 1
            i = (k - 1) % len(book.funds)
            book.dates[i] += timedelta(days=1)
            book.values[i] = Decimal(1000 + k).quantize(Decimal("0.01"))
            t0 = time.time()
            elapsed, _ = _call(app, "POST", "/v1/portfolio-funds/{portfolio_fund_id}/valuations",
                               {"portfolio_fund_id": book.funds[i]}, headers,
                               {"valuation_date": book.dates[i].isoformat(), "value": str(book.values[i])}, want=201)
            res.writes.append((k, t0, time.time()))
            res.write_latency.append(elapsed)
            prefix_fum[rest + sum(book.values)] = k
            ts = time.time()
            dt, body = _call(app, "GET", DASHBOARD, {}, headers)
            fum = Decimal(body["funds_under_management"])
            k_in = prefix_fum.get(fum)
            if k_in is None:
                res.mismatches += 1
                continue
            res.samples.append({"t": ts, "stale": body["stale"], "stale_since": _epoch(body["stale_since"]),
                                "refreshed_at": _epoch(body["refreshed_at"]), "k_in": k_in, "dt": dt})
            if k % 60 == 0:
                say(f"live L2: {k} writes, {time.time() - start:.0f} s; the dashboard holds {k_in} "
                    f"(stale {body['stale']})")
    res.seconds = time.time() - start
    stop.set()
    while (item := queue.get(timeout=900)) is not None:
        res.runs.append(item)
    proc.join(timeout=10)
    say(f"live L2: longest staleness {max(res.staleness_marks()):.1f} s (marks), {max(res.staleness_fum()):.1f} s "
        f"(FUM); {len(res.runs)} scheduled runs")
    return res


# --- the report -------------------------------------------------------------------------------------------------------

def _ms(s: float) -> str:
    return f"{s * 1e3:,.2f} ms"


def verdicts(res: LiveResult) -> list[tuple[str, str, str, bool]]:
    ratio = res.ratio()
    marks, fum = max(res.staleness_marks(), default=0.0), max(res.staleness_fum(), default=0.0)
    worst = max(marks, fum)
    return [
        (f"L1. `GET /v1/dashboard` p95 / `GET /v1/client-groups/{{id}}/summary` p95, {res.households:,} households",
         f"{ratio:.2f}x ({_ms(pct(res.reads['dashboard'], 95))} / {_ms(pct(res.reads['summary'], 95))})",
         f"≤ {RATIO_TARGET:g}x", ratio <= RATIO_TARGET),
        ((f"L2. Longest dashboard staleness, a writer adding a valuation every {res.write_interval:g} s for "
          f"{res.seconds / 60:.0f} min with `refresh-stale-views` every {res.period:g} s"),
         f"{worst:.1f} s (from `stale_since` {marks:.1f} s; from the FUM shown {fum:.1f} s)",
         f"< {STALENESS_TARGET:g} s", worst < STALENESS_TARGET and res.mismatches == 0 and bool(res.samples)),
    ]


def render(res: LiveResult) -> list[str]:
    out: list[str] = []
    w = out.append
    ld = res.load
    w("## Live figures (part `live`)\n")
    w(f"`BENCH_PARTS=live .venv/bin/python -m tests.bench.run`. A firm of its own: {res.households:,} households "
      f"(`common.make_firm`), {ld.products:,} products, {ld.portfolio_funds:,} portfolio funds, "
      f"{ld.fund_valuations:,} fund valuations and {ld.cash_flows:,} cash flows over {res.months} months "
      f"(tests/bench/products_data.py), loaded in {ld.total_seconds:.0f} s; plus the writer's {res.writer_products} "
      f"products. The household summary is computed live; the dashboard reads materialized views refreshed by "
      f"`refresh-stale-views` when a write has marked them stale (docs/domain.md, \"Summaries and the dashboard\").\n")
    fr = res.first_refresh
    views = ", ".join(f"`{k}` {v['rows']:,} rows {v['seconds']:.2f} s" for k, v in fr.items()
                      if isinstance(v, dict) and k.startswith("mv_"))
    w(f"The first full refresh (`refresh-views`) after loading took {fr['seconds']:.1f} s: {views}; the firm IRR "
      f"(every product pooled, both methods) {fr['firm_irr']['seconds']:.2f} s.\n")
    d, s = res.reads["dashboard"], res.reads["summary"]
    w("### L1. Dashboard against the household summary\n")
    w(f"{len(d)} of each, interleaved, in this process through the handler; the summary of a random household each "
      "time (its live positions and its IRR over its pooled flows).\n")
    w("| read | p50 | p95 | max |")
    w("|---|---|---|---|")
    w(f"| `GET /v1/client-groups/{{id}}/summary` (**baseline**) | {_ms(p50(s))} | {_ms(pct(s, 95))} | {_ms(max(s))} |")
    w(f"| `GET /v1/dashboard` | {_ms(p50(d))} | {_ms(pct(d, 95))} | {_ms(max(d))} |")
    w("")
    w("### L2. Staleness while a writer writes\n")
    marks, fum, lags = res.staleness_marks(), res.staleness_fum(), res.lags()
    ran = [r for r in res.runs if r["status"] == "succeeded" and r["figures"].get("refreshed")]
    idle = [r for r in res.runs if r["status"] == "succeeded" and not r["figures"].get("refreshed")]
    skipped = [r for r in res.runs if r["status"] == "skipped"]
    failed = [r for r in res.runs if r["status"] == "failed"]
    durations = [r["end"] - r["start"] for r in ran]
    w(f"{len(res.writes)} valuations written over {res.seconds:.0f} s (one every {res.write_interval:g} s, "
      f"`POST /v1/portfolio-funds/{{id}}/valuations`, p50 {_ms(p50(res.write_latency))}, p95 "
      f"{_ms(pct(res.write_latency, 95))}), round robin over the writer's products; after each, one "
      f"`GET /v1/dashboard` ({len(res.samples)} samples, p50 {_ms(p50([x['dt'] for x in res.samples]))}, p95 "
      f"{_ms(pct([x['dt'] for x in res.samples], 95))} under the writes and refreshes). A scheduler process invoked "
      f"`refresh-stale-views` every {res.period:g} s ({len(res.runs)} invocations: {len(ran)} refreshed, "
      f"{len(idle)} found nothing to do, {len(skipped)} skipped by the lock, {len(failed)} failed); a refreshing run "
      f"took {p50(durations) if durations else 0:.1f} s p50, {max(durations, default=0):.1f} s max.\n")
    w("| staleness at a sample | p50 | p95 | max |")
    w("|---|---|---|---|")
    w(f"| from the answer's `stale_since` (now - the oldest unrefreshed write's start) | {p50(marks):.1f} s | "
      f"{pct(marks, 95):.1f} s | {max(marks, default=0):.1f} s |")
    w(f"| from the FUM shown (now - the start of the oldest acknowledged write it lacks) | {p50(fum):.1f} s | "
      f"{pct(fum, 95):.1f} s | {max(fum, default=0):.1f} s |")
    w(f"| per write: from its start to the first sample showing it ({len(lags)} writes) | {p50(lags):.1f} s | "
      f"{pct(lags, 95):.1f} s | {max(lags, default=0):.1f} s |")
    w("")
    stale_false_but_behind = sum(1 for s_, f in zip(res.samples, fum, strict=True) if not s_["stale"] and f > 0)
    w(f"Samples whose FUM matched no prefix of the writes: {res.mismatches}. Samples that said `stale: false` while "
      f"the FUM lacked an acknowledged write: {stale_false_but_behind} (the marks must never claim a write is in "
      f"when it is not). The staleness is bounded by the schedule's period plus a refresh's duration: a write waits "
      f"for the next invocation, and one that commits while a refresh runs waits for the one after.\n")
    return out
