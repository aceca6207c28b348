"""Managed-products figures 4-6, at 10x the firm's size (1,300 households, about 3 million fund valuations).

4. Group IRR over all its flows: p95 of `GET /v1/client-groups/{id}/irr` through the real handler in process
   (`app.app(event, context)`), kingston_monthly and xirr, over the p95 of the bare IRR arithmetic
   (`chalicelib.products.performance.irr.kingston_monthly` / `xirr` called directly on the same group's pre-built
   Flow list): the floor. The group with the most flows, the group nearest Ghostfolio's ~1,900 activities, and
   typical groups.
5. Recompute after editing a cash flow in the middle of a ten-year history, over a full recompute:
   `chalicelib.products.performance.service.recompute_irr_history(tx, product, middle date)` against
   `recompute_irr_history(tx, product, date.min)`, interleaved, each in a transaction that is rolled back; where the
   time goes; the same ratio for edits at other points of the history; and the whole `PATCH /v1/activity/{id}`
   request against a full recompute.
6. `GET /v1/dashboard` and `GET /v1/client-groups/{id}/summary` p95 while the job `refresh-views` runs in a loop
   in another process, over their p95 with no refresh running (phases alternate), with pg_stat_activity sampled
   for lock waits of the reading backend; and a control with plain (not CONCURRENTLY) refreshes, which must show
   the waits the harness looks for.
"""
from __future__ import annotations

import cProfile
import json
import multiprocessing as mp
import os
import pstats
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from tests.bench.common import BenchFirm, Database, FakeLambdaContext, api_event, p50, pct, say

GHOSTFOLIO_ACTIVITIES = 1_900
GHOSTFOLIO_SECONDS = 16.0
GHOSTFOLIO_URL = "https://github.com/ghostfolio/ghostfolio/issues/7931"
IRR_RESOURCE = "/v1/client-groups/{group_id}/irr"
SUMMARY_RESOURCE = "/v1/client-groups/{group_id}/summary"
DASHBOARD_RESOURCE = "/v1/dashboard"
ACTIVITY_RESOURCE = "/v1/activity/{activity_id}"
METHODS = ("kingston_monthly", "xirr")


def _fresh(event_template: dict[str, Any]) -> dict[str, Any]:
    event = dict(event_template)
    event["requestContext"] = dict(event_template["requestContext"], requestId=str(uuid.uuid4()))
    return event


def _with_query(event: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    event = dict(event)
    event["queryStringParameters"] = dict(query)
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


def _call(app: Any, event: dict[str, Any], lctx: Any, want: int = 200) -> tuple[float, dict[str, Any]]:
    event = _fresh(event)
    t = time.perf_counter()
    response = app(event, lctx)
    elapsed = time.perf_counter() - t
    if response["statusCode"] != want:
        raise RuntimeError(f"{event['httpMethod']} {event['path']} answered {response['statusCode']}: "
                           f"{str(response.get('body'))[:400]}")
    return elapsed, response


# --- 4. group IRR ---------------------------------------------------------------------------------------------------

@dataclass
class GroupCase:
    label: str
    group_id: UUID
    flows: int  # investor cash flows of the group's products
    products: int
    portfolio_funds: int
    months: int  # monthly buckets of the Kingston series
    api_rows: int = 0  # flow rows the API's store call moves for the group (one per date once netted)
    handler: dict[str, list[float]] = field(default_factory=dict)  # method -> seconds per request
    floor: dict[str, list[float]] = field(default_factory=dict)  # method -> seconds per bare IRR call
    solver: dict[str, list[float]] = field(default_factory=dict)  # method -> seconds of the root finder alone
    irr: dict[str, str | None] = field(default_factory=dict)

    def ratio(self, method: str, q: float = 95) -> float:
        return pct(self.handler[method], q) / pct(self.floor[method], q)


@dataclass
class GroupIrrResult:
    cases: list[GroupCase]
    split: list[tuple[str, float]]  # (part, p50 seconds) for the largest group, kingston_monthly
    split_group: str = ""
    split_calls: int = 40
    gc: dict[int, list[float]] = field(default_factory=dict)  # generation -> seconds of each collection (figure 4)
    requests: int = 0  # handler calls while gc was watched
    gc_objects: int = 0  # objects the collector tracks in this process, at figure 4
    container_objects: int = 0  # the same in a fresh process that imported the app and served these requests
    frozen_objects: int = 0  # objects in the collector's permanent generation (gc.freeze), at figure 4
    profile_top: list[tuple[str, float, float]] = field(default_factory=list)  # (function, own s per call, share)
    profile_calls: int = 0
    flow_distribution: dict[str, int] = field(default_factory=dict)  # min/p25/p50/p75/max flows per group


def _group_stats(firm_id: UUID) -> list[dict[str, Any]]:
    from chalicelib.core import db

    with db.owner_connection() as conn:
        return conn.execute(
            "SELECT p.client_group_id AS group_id, count(*) FILTER (WHERE activity_sign(a.activity_type) <> 0) "
            "AS flows, count(DISTINCT p.id) AS products, count(DISTINCT pf.id) AS funds "
            "FROM products p JOIN portfolio_funds pf ON pf.product_id = p.id "
            "JOIN holding_activity a ON a.portfolio_fund_id = pf.id "
            "WHERE p.firm_id = %s GROUP BY p.client_group_id ORDER BY flows, group_id",
            (firm_id,)).fetchall()


def pick_groups(firm_id: UUID) -> tuple[list[GroupCase], dict[str, int]]:
    stats = _group_stats(firm_id)
    flows = [r["flows"] for r in stats]
    dist = {"groups": len(stats), "min": flows[0], "p25": flows[len(flows) // 4], "p50": flows[len(flows) // 2],
            "p75": flows[3 * len(flows) // 4], "max": flows[-1]}
    chosen: list[tuple[str, dict[str, Any]]] = [("largest (most flows)", stats[-1])]
    near = min(stats, key=lambda r: (abs(r["flows"] - GHOSTFOLIO_ACTIVITIES), str(r["group_id"])))
    chosen.append((f"nearest Ghostfolio's ~{GHOSTFOLIO_ACTIVITIES:,} activities", near))
    for name, k in (("typical (p25)", len(stats) // 4), ("typical (median)", len(stats) // 2),
                    ("typical (p75)", 3 * len(stats) // 4)):
        chosen.append((name, stats[k]))
    seen: set[UUID] = set()
    cases = []
    for label, r in chosen:
        if r["group_id"] in seen:
            continue
        seen.add(r["group_id"])
        cases.append(GroupCase(label, r["group_id"], r["flows"], r["products"], r["funds"], 0))
    return cases, dist


# The group's cash flows as recorded: one signed flow per activity of its products up to that product's latest
# valuation (the floor's input, whatever the API fetches), and each product's latest valuation: the end value on
# the latest date, money out on its own date for a product valued last before that (the pooling rule of irr.pooled).
_ACTIVITY_FLOWS_SQL = ("SELECT a.activity_date, (a.amount * activity_sign(a.activity_type))::numeric AS amount "
                       "FROM holding_activity a JOIN portfolio_funds pf ON pf.id = a.portfolio_fund_id "
                       "JOIN products p ON p.id = pf.product_id "
                       "JOIN (SELECT product_id, max(valuation_date) AS d FROM portfolio_valuations "
                       "GROUP BY product_id) e ON e.product_id = p.id "
                       "WHERE p.client_group_id = %s AND activity_sign(a.activity_type) <> 0 "
                       "AND a.activity_date <= e.d "
                       "ORDER BY a.activity_date")
_LATEST_VALUES_SQL = ("SELECT DISTINCT ON (v.product_id) v.valuation_date, v.value FROM portfolio_valuations v "
                      "JOIN products p ON p.id = v.product_id WHERE p.client_group_id = %s "
                      "ORDER BY v.product_id, v.valuation_date DESC")


def _group_inputs(ctx: Any, group_id: UUID) -> tuple[Any, int]:
    """The prepared input of the bare arithmetic (an `irr.Pooled`), assembled here with the harness's own SQL (not
    the service's): the group's flows as recorded (one Flow per cash flow), the end date (the latest valuation of
    any of its products), the end value (the products valued that day, summed) and the others' latest values as
    valuations (money out on their dates); and how many flow rows the API's one query (`store.irr_inputs`) returns
    (it nets them per product and date)."""
    from chalicelib.core import db
    from chalicelib.products.performance import irr, store

    with db.transaction(ctx) as tx:
        flow_rows = tx.all(_ACTIVITY_FLOWS_SQL, (group_id,))
        latest = tx.all(_LATEST_VALUES_SQL, (group_id,))
        api_rows = sum(len(r["flow_dates"] or []) for r in store.irr_inputs(tx, "client_group", group_id, None, None))
    end_date = max(r["valuation_date"] for r in latest)
    end_value = sum((r["value"] for r in latest if r["valuation_date"] == end_date), Decimal(0))
    flows = [irr.Flow(r["activity_date"], r["amount"]) for r in flow_rows]
    early = sorted(irr.Flow(r["valuation_date"], r["value"]) for r in latest if r["valuation_date"] != end_date)
    return irr.Pooled(flows, end_date, end_value, early), api_rows


class _GcWatch:
    """Times every collection of Python's cyclic garbage collector while active (gc.callbacks), per generation."""

    def __init__(self) -> None:
        self.seconds: dict[int, list[float]] = defaultdict(list)
        self.objects = 0
        self.frozen = 0
        self._t = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.seconds[info["generation"]].append(time.perf_counter() - self._t)

    def __enter__(self) -> _GcWatch:
        import gc

        self.objects = max(self.objects, len(gc.get_objects()))
        self.frozen = gc.get_freeze_count()
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        import gc

        gc.callbacks.remove(self._callback)


def _check_same(app: Any, event: dict[str, Any], lctx: Any, want: Decimal | None, what: str) -> None:
    """The API's figure must be the bare arithmetic's: to the digit for Kingston (Decimal bucket sums), to 1e-9 for
    XIRR (a float root: the order in which a solver adds the flows may move the last digit)."""
    body = json.loads(_call(app, event, lctx)[1]["body"])
    got = Decimal(body["irr"]) if body["irr"] is not None else None
    if (got is None) != (want is None) or (got is not None and want is not None and abs(got - want) > Decimal("1e-9")):
        raise RuntimeError(f"{what}: API irr {got} != bare arithmetic {want}")


def measure_group_irr(app_module: Any, firm: BenchFirm, *, rounds: int = 6, per_round: int = 15) -> GroupIrrResult:
    from chalicelib.core import auth
    from chalicelib.core.context import RequestContext
    from chalicelib.products.performance import irr

    app = app_module.app
    lctx = FakeLambdaContext()
    headers = {"Authorization": f"Bearer {firm.token}"}
    ctx = RequestContext(principal=auth.authenticate(headers["Authorization"]))
    cases, dist = pick_groups(firm.id)
    perf = time.perf_counter
    watch = _GcWatch()
    for case in cases:
        pool, case.api_rows = _group_inputs(ctx, case.group_id)
        kingston = irr.of_pool(pool, irr.KINGSTON)
        case.months = len(kingston.flows_used)
        monthly = [float(f.amount) for f in kingston.flows_used]
        unique = irr._one_rate([f.amount for f in kingston.flows_used])  # decided as the code decides, untimed
        xirr_used = irr.of_pool(pool, irr.XIRR).flows_used
        x_dates, x_amounts = [f.date for f in xirr_used], [float(f.amount) for f in xirr_used]
        events = {m: _with_query(api_event("GET", IRR_RESOURCE, {"group_id": str(case.group_id)}, headers),
                                 {"method": m}) for m in METHODS}
        for m in METHODS:  # warm-up, and the API must give the floor's figure
            _check_same(app, events[m], lctx, irr.of_pool(pool, m).irr, f"group {case.group_id} {m}")
            case.irr[m] = json.loads(_call(app, events[m], lctx)[1]["body"])["irr"]
            case.handler[m], case.floor[m], case.solver[m] = [], [], []

        import pyxirr

        # the loop's values are bound as defaults, so that each closure keeps this iteration's group
        def run_handler(m: str, n: int, case: GroupCase = case, events: dict = events) -> None:
            for _ in range(n):
                case.handler[m].append(_call(app, events[m], lctx)[0])

        def run_floor(m: str, n: int, case: GroupCase = case, pool: Any = pool) -> None:
            fn, out = irr.of_pool, case.floor[m]
            for _ in range(n):
                t = perf()
                fn(pool, m)
                out.append(perf() - t)

        def run_solver(m: str, n: int, case: GroupCase = case, monthly: list[float] = monthly,
                       unique: bool = unique, x_dates: list = x_dates, x_amounts: list[float] = x_amounts) -> None:
            out = case.solver[m]
            for _ in range(n):
                t = perf()
                if m == "kingston_monthly":
                    irr._monthly_irr(monthly, unique=unique)
                else:
                    pyxirr.xirr(x_dates, x_amounts, day_count=pyxirr.DayCount.ACT_365F)
                out.append(perf() - t)

        n_rounds = rounds * 2 if case.label.startswith("largest") else rounds
        with watch:
            for r in range(n_rounds):
                for m in METHODS:
                    steps = [run_handler, run_floor]
                    for step in (steps if r % 2 == 0 else steps[::-1]):
                        step(m, per_round)
                    run_solver(m, per_round)
        say(f"figure 4: {case.label}: {case.flows:,} flows, " + "; ".join(
            f"{m} p95 {pct(case.handler[m], 95) * 1e3:.2f} ms / floor {pct(case.floor[m], 95) * 1e3:.2f} ms = "
            f"{case.ratio(m):.2f}x" for m in METHODS))
    split_case = cases[0]
    result = GroupIrrResult(cases=cases, split=_split(app, split_case, headers, lctx), split_group=split_case.label,
                            flow_distribution=dist, gc=watch.seconds, gc_objects=watch.objects,
                            frozen_objects=watch.frozen,
                            requests=sum(len(c.handler[m]) for c in cases for m in METHODS))
    result.profile_top, result.profile_calls = _profile_handler(app, split_case, headers, lctx)
    result.container_objects = _container_objects(firm.token, split_case.group_id)
    return result


_CONTAINER_PROBE = """
import gc, json, logging, sys
import app
from tests.bench.common import FakeLambdaContext, api_event, quiet_request_log
quiet_request_log()
token, group = sys.argv[1], sys.argv[2]
h = {"Authorization": "Bearer " + token}
for _ in range(3):
    for m in ("kingston_monthly", "xirr"):
        e = api_event("GET", "/v1/client-groups/{group_id}/irr", {"group_id": group}, h)
        e["queryStringParameters"], e["multiValueQueryStringParameters"] = {"method": m}, {"method": [m]}
        assert app.app(e, FakeLambdaContext())["statusCode"] == 200
    assert app.app(api_event("GET", "/v1/dashboard", {}, h), FakeLambdaContext())["statusCode"] == 200
gc.collect()
print(len(gc.get_objects()))  # the permanent generation (gc.freeze) is not walked and not counted
"""


def _container_objects(token: str, group_id: UUID) -> int:
    """Objects the collector tracks in a fresh process that imported the app and served a few of these requests:
    what a warm Lambda container's full collections walk (this harness process holds more: its own modules, the
    first firm's 13,000 ids...)."""
    import subprocess
    import sys

    from tests.bench.common import REPO

    try:
        out = subprocess.run([sys.executable, "-c", _CONTAINER_PROBE, token, str(group_id)], cwd=REPO,
                             capture_output=True, text=True, timeout=120, check=True)
        return int(out.stdout.strip().splitlines()[-1])
    except Exception as exc:  # context only: report nothing rather than fail the run
        say(f"container object count unavailable: {exc}")
        return 0


def _split(app: Any, case: GroupCase, headers: dict[str, str], lctx: Any, n: int = 40) -> list[tuple[str, float]]:
    """Where a group IRR request's time goes (largest group, kingston_monthly): real handler calls with the
    service's store calls, Python steps and the arithmetic wrapped in timers (whatever the service calls: the
    wrappers follow the code), p50 per part over n requests."""
    event = _with_query(api_event("GET", IRR_RESOURCE, {"group_id": str(case.group_id)}, headers),
                        {"method": "kingston_monthly"})
    per: dict[str, list[float]] = defaultdict(list)
    for _ in range(5):
        _call(app, event, lctx)
    for _ in range(n):
        with _Instrument(group=True) as ins:
            elapsed = _call(app, event, lctx)[0]
        per["handler"].append(elapsed)
        for part in ("db", "prepare", "arithmetic"):
            per[part].append(sum(v for k, v in ins.seconds.items() if k.startswith(part + ":")))
    return [(name, p50(per[name])) for name in ("handler", "db", "prepare", "arithmetic")]


def _profile_handler(app: Any, case: GroupCase, headers: dict[str, str], lctx: Any,
                     calls: int = 40) -> tuple[list[tuple[str, float, float]], int]:
    from tests.bench.overhead import _short

    event = _with_query(api_event("GET", IRR_RESOURCE, {"group_id": str(case.group_id)}, headers),
                        {"method": "kingston_monthly"})
    events = [_fresh(event) for _ in range(calls)]
    prof = cProfile.Profile()
    prof.enable()
    for e in events:
        app(e, lctx)
    prof.disable()
    raw: dict[Any, Any] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    top = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:10]
    return [(f"{_short(fn)}:{line}({name})", tt / calls, tt / total) for (fn, line, name), (_c, _n, tt, _ct, _)
            in top], calls


# --- 5. recompute after an edit -------------------------------------------------------------------------------------

@dataclass
class RecomputeResult:
    product_id: UUID
    group_id: UUID
    portfolio_funds: int
    flows: int
    dates: int  # valuation dates of the product (stored IRR history: 2 rows per date)
    middle: date
    middle_dates_after: int  # dates on or after the middle date
    activity_id: UUID
    samples: dict[str, list[float]] = field(default_factory=dict)  # "middle" / "full" -> seconds
    rows: dict[str, int] = field(default_factory=dict)  # rows written per run
    split: dict[str, dict[str, float]] = field(default_factory=dict)  # "middle"/"full" -> part -> seconds per run
    solver_counts: dict[str, Counter] = field(default_factory=dict)  # "middle"/"full" -> solver -> calls per run
    # (position in the history, first date recomputed, dates on or after it, p50 edit recompute, p50 full)
    sweep: list[tuple[float, date, int, float, float]] = field(default_factory=list)
    patch: list[float] = field(default_factory=list)
    patch_full: list[float] = field(default_factory=list)
    history_check: str = ""

    def ratio(self) -> float:
        return p50(self.samples["middle"]) / p50(self.samples["full"])


def _pick_product(firm_id: UUID) -> dict[str, Any]:
    """A typical product: the median by investor cash flows among products with monthly contributions."""
    from chalicelib.core import db

    with db.owner_connection() as conn:
        rows = conn.execute(
            "SELECT p.id, p.client_group_id, count(DISTINCT pf.id) AS funds, count(a.id) AS flows "
            "FROM products p JOIN portfolio_funds pf ON pf.product_id = p.id "
            "JOIN holding_activity a ON a.portfolio_fund_id = pf.id AND activity_sign(a.activity_type) <> 0 "
            "WHERE p.firm_id = %s GROUP BY p.id HAVING count(a.id) > 4 * count(DISTINCT pf.id) "
            "ORDER BY flows, p.id", (firm_id,)).fetchall()
    return rows[len(rows) // 2]


def _rolled_back(ctx: Any, fn: Any) -> tuple[float, Any]:
    """Time fn(tx) inside a tenant transaction that is then rolled back (psycopg.Rollback leaves it quietly)."""
    import psycopg

    from chalicelib.core import db

    box: list[Any] = []
    with db.transaction(ctx) as tx:
        t = time.perf_counter()
        value = fn(tx)
        box.append((time.perf_counter() - t, value))
        raise psycopg.Rollback()
    return box[0]


class _Instrument:
    """Wraps the store functions and the IRR calls the service makes, to attribute a call's time. group=True: the
    parts of a group IRR request (db: / prepare: / arithmetic: buckets); otherwise those of recompute_irr_history."""

    def __init__(self, group: bool = False) -> None:
        self.group = group
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter = Counter()
        self._undo: list[tuple[Any, str, Any]] = []

    def _wrap(self, module: Any, name: str, bucket: str) -> None:
        if not hasattr(module, name):  # a function the code does not have (yet, or any more)
            return
        original = getattr(module, name)
        seconds, calls, perf = self.seconds, self.calls, time.perf_counter

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            t = perf()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[bucket] += perf() - t
                calls[bucket] += 1

        setattr(module, name, wrapped)
        self._undo.append((module, name, original))

    def __enter__(self) -> _Instrument:
        import numpy_financial
        import pyxirr

        from chalicelib.products.performance import irr, store

        if self.group:
            self._wrap(store, "irr_inputs", "db: irr_inputs")
            self._wrap(irr, "pooled", "prepare: irr.pooled")
            self._wrap(irr, "of_pool", "arithmetic: irr.of_pool")
            return self
        self._wrap(store, "flows_of_product", "db: fetch the product's cash flows (product_flows)")
        self._wrap(store, "portfolio_valuation_series", "db: fetch the product's valuation series")
        self._wrap(store, "write_product_irrs", "db: write the IRR rows (upsert; drop dates without a valuation)")
        self._wrap(irr, "history", "irr: irr.history, all of it (both methods, every date)")
        self._wrap(irr, "_monthly_irr", "solver: Kingston root finding")
        self._wrap(pyxirr, "xirr", "solver: pyxirr.xirr")
        self._wrap(pyxirr, "irr", "solver calls: pyxirr.irr")
        self._wrap(numpy_financial, "irr", "solver calls: numpy_financial.irr")
        return self

    def __exit__(self, *exc: object) -> None:
        for module, name, original in reversed(self._undo):
            setattr(module, name, original)


def measure_recompute(app_module: Any, firm: BenchFirm, *, reps: int = 20, sweep_reps: int = 5,
                      patches: int = 12) -> RecomputeResult:
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.products.performance import service, store

    ctx = RequestContext.system(firm.id)
    picked = _pick_product(firm.id)
    pid = picked["id"]
    with db.transaction(ctx) as tx:
        dates = [v["valuation_date"] for v in store.portfolio_valuation_series(tx, pid)]
        t = time.perf_counter()
        written = service.recompute_irr_history(tx, pid, date.min)  # the stored history this product starts from
        first_full = time.perf_counter() - t
        middle = dates[len(dates) // 2]
        act = tx.one("SELECT a.id, a.activity_date, a.amount, a.version FROM holding_activity a "
                     "JOIN portfolio_funds pf ON pf.id = a.portfolio_fund_id WHERE pf.product_id = %s "
                     "AND a.activity_date = %s AND a.activity_type = 'regular_investment' ORDER BY a.id LIMIT 1",
                     (pid, middle))
    say(f"figure 5: product {pid} ({picked['funds']} funds, {picked['flows']} flows, {len(dates)} valuation dates): "
        f"stored IRR history made ({written} rows, {first_full * 1e3:.0f} ms)")
    res = RecomputeResult(product_id=pid, group_id=picked["client_group_id"], portfolio_funds=picked["funds"],
                          flows=picked["flows"], dates=len(dates), middle=middle,
                          middle_dates_after=sum(1 for d in dates if d >= middle), activity_id=act["id"])
    res.samples = {"middle": [], "full": []}
    starts = {"middle": middle, "full": date.min}
    for name, d in starts.items():  # warm-up
        res.rows[name] = _rolled_back(ctx, lambda tx, d=d: service.recompute_irr_history(tx, pid, d))[1]
    for r in range(reps):
        for name in (("middle", "full") if r % 2 == 0 else ("full", "middle")):
            res.samples[name].append(
                _rolled_back(ctx, lambda tx, d=starts[name]: service.recompute_irr_history(tx, pid, d))[0])
    say(f"figure 5: recompute from the middle p50 {p50(res.samples['middle']) * 1e3:.1f} ms, full "
        f"{p50(res.samples['full']) * 1e3:.1f} ms -> {res.ratio():.2f}x")
    for name, d in starts.items():  # where the time goes: instrumented runs (not part of the headline)
        runs = 5
        with _Instrument() as ins:
            total = sum(_rolled_back(ctx, lambda tx, d=d: service.recompute_irr_history(tx, pid, d))[0]
                        for _ in range(runs))
        split = {k: v / runs for k, v in ins.seconds.items()}
        split["total (instrumented)"] = total / runs
        res.split[name] = split
        res.solver_counts[name] = Counter({k: v // runs for k, v in ins.calls.items() if k.startswith("solver")})
    for position in (0.25, 0.75, 0.9):  # the ratio tracks the share of dates on or after the edit
        d = dates[int(len(dates) * position)]
        edit, full = [], []
        for r in range(sweep_reps):
            for which in ((d, edit), (date.min, full)) if r % 2 == 0 else ((date.min, full), (d, edit)):
                which[1].append(
                    _rolled_back(ctx, lambda tx, d0=which[0]: service.recompute_irr_history(tx, pid, d0))[0])
        res.sweep.append((position, d, sum(1 for x in dates if x >= d), p50(edit), p50(full)))
    res.sweep.insert(1, (0.5, middle, res.middle_dates_after, p50(res.samples["middle"]), p50(res.samples["full"])))
    _measure_patch(app_module, firm, ctx, res, act, patches)
    res.history_check = _check_history(ctx, pid, middle)
    return res


def _measure_patch(app_module: Any, firm: BenchFirm, ctx: Any, res: RecomputeResult, act: dict[str, Any],
                   patches: int) -> None:
    """The whole PATCH /v1/activity/{id} (committed: it rewrites the history from the middle date) against a full
    recompute (rolled back), alternating; the amounts alternate so the data ends as it began."""
    from chalicelib.products.performance import service

    app = app_module.app
    lctx = FakeLambdaContext()
    etag = f'"{act["version"]}"'
    amounts = [str(act["amount"] + Decimal("1.00")), str(act["amount"])]
    pid = res.product_id

    def patch(i: int) -> float:
        nonlocal etag
        event = api_event("PATCH", ACTIVITY_RESOURCE, {"activity_id": str(act["id"])},
                          {"Authorization": f"Bearer {firm.token}", "Content-Type": "application/json",
                           "If-Match": etag}, json.dumps({"amount": amounts[i % 2]}))
        elapsed, response = _call(app, event, lctx)
        etag = response["headers"]["ETag"]
        return elapsed

    patch(0)
    patch(1)  # warm-up, back to the original amount
    for i in range(patches):
        if i % 2 == 0:
            res.patch.append(patch(i))
            res.patch_full.append(_rolled_back(ctx, lambda tx: service.recompute_irr_history(tx, pid, date.min))[0])
        else:
            res.patch_full.append(_rolled_back(ctx, lambda tx: service.recompute_irr_history(tx, pid, date.min))[0])
            res.patch.append(patch(i))
    say(f"figure 5: PATCH /v1/activity/{{id}} p50 {p50(res.patch) * 1e3:.1f} ms vs full recompute "
        f"{p50(res.patch_full) * 1e3:.1f} ms -> {p50(res.patch) / p50(res.patch_full):.2f}x")


def _check_history(ctx: Any, pid: UUID, middle: date) -> str:
    """After the PATCHes, the stored history must equal a full recompute, and the dates before the edit must not
    have been rewritten (computed_at older than the first PATCH's)."""
    import psycopg

    from chalicelib.core import db
    from chalicelib.products.performance import service

    def snapshot(tx: Any) -> list[tuple[Any, ...]]:
        return [tuple(r.values()) for r in tx.all(
            "SELECT valuation_date, method, irr, reason FROM irr_values WHERE scope = 'product' AND scope_id = %s "
            "ORDER BY valuation_date, method", (pid,))]

    with db.transaction(ctx) as tx:
        stored = snapshot(tx)
        stamps = tx.all("SELECT valuation_date >= %s AS after, count(DISTINCT computed_at) AS stamps, "
                        "max(computed_at) AS latest FROM irr_values WHERE scope = 'product' AND scope_id = %s "
                        "GROUP BY 1 ORDER BY 1", (middle, pid))
        service.recompute_irr_history(tx, pid, date.min)
        full = snapshot(tx)
        raise psycopg.Rollback()
    before = next((s for s in stamps if not s["after"]), None)
    after = next((s for s in stamps if s["after"]), None)
    same = stored == full
    untouched = before is not None and after is not None and before["latest"] < after["latest"]
    return (f"after the PATCHes the stored history ({len(stored)} rows) {'equals' if same else 'DIFFERS from'} a "
            f"full recompute; rows before the edited date were last written "
            f"{'before' if untouched else 'NOT before'} the PATCHes rewrote the later ones")


# --- 6. reads while refresh-views runs ------------------------------------------------------------------------------

@dataclass
class RefreshPhase:
    mode: str  # "off", "concurrently", "plain"
    start: float
    end: float


@dataclass
class RefreshResult:
    reads: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # mode -> endpoint -> seconds
    overlapping: dict[str, int] = field(default_factory=dict)  # mode -> reads that overlapped a running refresh
    refreshes: dict[str, list[tuple[float, float, dict[str, Any]]]] = field(default_factory=dict)  # mode -> runs
    waits: dict[str, Counter] = field(default_factory=dict)  # mode -> reader backend state samples
    samples: dict[str, int] = field(default_factory=dict)
    phases: list[RefreshPhase] = field(default_factory=list)
    groups: int = 0
    first_refresh: dict[str, Any] = field(default_factory=dict)
    reader_max_overlap: dict[str, float] = field(default_factory=dict)  # mode -> slowest read overlapping a refresh
    plans: dict[str, str] = field(default_factory=dict)  # the top-households plan before/after ANALYZE
    mv_stats: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # moment -> view -> counters

    def all_reads(self, mode: str) -> list[float]:
        return [x for v in self.reads.get(mode, {}).values() for x in v]

    def lock_waits(self, mode: str) -> int:
        return sum(v for k, v in self.waits.get(mode, Counter()).items() if k.startswith("waiting on Lock"))


def _refresher(admin_url: str | None, owner_url: str, mode: Any, busy: Any, stop: Any, queue: Any,
               samples: Any) -> None:
    """Runs refresh-views back to back while `mode` is 1 (the job: CONCURRENTLY) or 2 (plain REFRESH, the
    control); a thread samples the app's backends in pg_stat_activity every 20 ms throughout (the main thread
    waits in libpq during a refresh, so the sampler is not starved)."""
    import psycopg

    from chalicelib.core import db
    from chalicelib.ops.jobs import run_job
    from chalicelib.ops.refresh_views import VIEWS

    db.close_pools()
    sampling = threading.Event()

    def sampler() -> None:
        with psycopg.connect(admin_url or owner_url, autocommit=True) as conn:
            while not sampling.wait(0.02):
                rows = conn.execute("SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                                    "WHERE application_name = 'wealthdesk' AND pid <> pg_backend_pid()").fetchall()
                now = time.monotonic()
                for state, wtype, wevent in rows:
                    key = (f"waiting on {wtype}:{wevent}" if wtype else "on CPU") if state == "active" else str(state)
                    samples.put((now, key))

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    while not stop.is_set():
        busy.value = 1
        current = mode.value
        if current == 0:
            busy.value = 0
            time.sleep(0.01)
            continue
        t0 = time.monotonic()
        if current == 1:
            figures = run_job("refresh-views", trigger="manual").figures
        else:
            figures = {}
            with db.owner_connection() as conn:
                for view in VIEWS:
                    s = time.perf_counter()
                    conn.execute(f"REFRESH MATERIALIZED VIEW {view}")
                    figures[view] = {"seconds": round(time.perf_counter() - s, 3)}
        queue.put((current, t0, time.monotonic(), figures))
    busy.value = 0
    sampling.set()
    thread.join(timeout=2)
    queue.put(None)


def _mv_stats() -> dict[str, dict[str, int]]:
    """Rows written and dead per materialized view (pg_stat_all_tables, which covers them), and its size."""
    from psycopg.rows import dict_row

    from chalicelib.core import db
    from chalicelib.ops.refresh_views import VIEWS

    time.sleep(1.2)  # backends flush their counters about once a second
    with db.owner_connection() as conn:
        conn.row_factory = dict_row
        rows = conn.execute("SELECT relname, n_tup_ins, n_tup_del, n_live_tup, n_dead_tup, "
                            "pg_total_relation_size(relid) AS bytes FROM pg_stat_all_tables "
                            "WHERE relname = ANY(%s)", (list(VIEWS),)).fetchall()
    return {r["relname"]: {k: int(v) for k, v in r.items() if k != "relname"} for r in rows}


def _top_households_plan(firm: BenchFirm) -> str:
    """How PostgreSQL runs the dashboard's top-households query for this firm (scan, estimated and actual rows)."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext

    with db.transaction(RequestContext.system(firm.id)) as tx:
        plan = tx.one("EXPLAIN (ANALYZE, FORMAT JSON) SELECT client_group_id, name, funds_under_management, revenue "
                      "FROM firm_top_households ORDER BY funds_under_management DESC, client_group_id")
    node = next(iter(plan.values()))[0]["Plan"]
    while node.get("Plans") and node["Node Type"] not in ("Seq Scan", "Index Scan", "Index Only Scan",
                                                          "Bitmap Heap Scan"):
        node = node["Plans"][0]
    return (f"{node['Node Type']}{' using ' + node['Index Name'] if node.get('Index Name') else ''} on "
            f"{node.get('Relation Name', '?')}: {node.get('Plan Rows', 0):,.0f} rows expected, "
            f"{node.get('Actual Rows', 0):,.0f} read for the firm")


def measure_refresh(app_module: Any, firm: BenchFirm, database: Database, *, pairs: int = 3,
                    phase_seconds: float = 5.0, control_seconds: float = 3.0) -> RefreshResult:
    import random

    from chalicelib.core import db
    from chalicelib.ops.jobs import run_job

    res = RefreshResult()
    t = time.perf_counter()
    first = run_job("refresh-views", trigger="manual")
    res.first_refresh = {"seconds": time.perf_counter() - t, **first.figures}
    stats = _group_stats(firm.id)
    rng = random.Random(6)
    middle = stats[len(stats) // 4: 3 * len(stats) // 4] or stats
    group_ids = [str(r["group_id"]) for r in rng.sample(middle, min(40, len(middle)))]
    res.groups = len(group_ids)
    headers = {"Authorization": f"Bearer {firm.token}"}
    app = app_module.app
    lctx = FakeLambdaContext()
    dash = api_event("GET", DASHBOARD_RESOURCE, {}, headers)
    summaries = [api_event("GET", SUMMARY_RESOURCE, {"group_id": g}, headers) for g in group_ids]
    for e in [dash] * 20 + summaries:
        _call(app, e, lctx)

    db.close_pools()  # nothing of the pool crosses the fork
    ctx = mp.get_context("fork")
    mode, busy, stop = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Event()
    queue, samples = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_refresher, args=(database.admin_url, database.owner_url, mode, busy, stop, queue,
                                                samples), daemon=True)
    proc.start()
    for e in [dash] * 10 + summaries[:10]:  # the reader's connection again, warm
        _call(app, e, lctx)
    schedule = []
    for i in range(pairs):
        schedule += [("off", phase_seconds), ("concurrently", phase_seconds)] if i % 2 == 0 else \
            [("concurrently", phase_seconds), ("off", phase_seconds)]
    # First, the views as the job leaves them after a refresh (it never analyses them); then, for phases that
    # differ only in the refresh loop, the views analysed once (a REFRESH keeps the statistics), so that
    # autovacuum's analyse landing in the middle of the figure cannot tilt one phase against another.
    schedule = [("nostats", control_seconds), *schedule, ("plain", control_seconds)]
    codes = {"nostats": 0, "off": 0, "concurrently": 1, "plain": 2}
    reads_at: list[tuple[str, float, float, str]] = []  # (mode, start, end, endpoint)
    k = 0
    res.plans["after the job's refresh"] = _top_households_plan(firm)
    res.mv_stats["start"] = _mv_stats()
    for name, seconds in schedule:
        if name == "plain":
            res.mv_stats["before the control"] = _mv_stats()
        if name != "nostats" and "after ANALYZE" not in res.plans:
            from chalicelib.ops.refresh_views import VIEWS

            with db.owner_connection() as conn:
                for view in VIEWS:
                    conn.execute(f"ANALYZE {view}")
            res.plans["after ANALYZE"] = _top_households_plan(firm)
        mode.value = codes[name]
        if codes[name]:  # wait until a refresh has started, so the phase is all refresh
            deadline = time.monotonic() + 10
            while busy.value == 0 and time.monotonic() < deadline:
                time.sleep(0.002)
        start = time.monotonic()
        stop_at = start + seconds
        while time.monotonic() < stop_at:
            event = dash if k % 2 == 0 else summaries[(k // 2) % len(summaries)]
            t0 = time.monotonic()
            elapsed, _ = _call(app, event, lctx)
            reads_at.append((name, t0, t0 + elapsed, "dashboard" if k % 2 == 0 else "summary"))
            res.reads.setdefault(name, {}).setdefault("dashboard" if k % 2 == 0 else "summary", []).append(elapsed)
            k += 1
        mode.value = 0
        while busy.value == 1:  # the refresh in flight finishes before the next phase
            time.sleep(0.002)
        res.phases.append(RefreshPhase(name, start, time.monotonic()))
        say(f"figure 6: phase {name}: {sum(1 for r in reads_at if r[0] == name):,} reads so far")
    res.mv_stats["end"] = _mv_stats()
    stop.set()
    runs: list[tuple[int, float, float, dict[str, Any]]] = []
    while True:
        item = queue.get(timeout=60)
        if item is None:
            break
        runs.append(item)
    sample_list: list[tuple[float, str]] = []
    while True:
        try:
            sample_list.append(samples.get(timeout=0.5))
        except Exception:
            break
    proc.join(timeout=10)
    names = {1: "concurrently", 2: "plain"}
    for code, t0, t1, figures in runs:
        res.refreshes.setdefault(names[code], []).append((t0, t1, figures))
    for ph in res.phases:
        c = res.waits.setdefault(ph.mode, Counter())
        n = 0
        for ts, key in sample_list:
            if ph.start <= ts <= ph.end:
                c[key] += 1
                n += 1
        res.samples[ph.mode] = res.samples.get(ph.mode, 0) + n
    for name in ("concurrently", "plain"):
        windows = [(a, b) for a, b, _ in res.refreshes.get(name, [])]
        over = [(e - s) for m, s, e, _ in reads_at if m == name and any(s < b and e > a for a, b in windows)]
        res.overlapping[name] = len(over)
        res.reader_max_overlap[name] = max(over) if over else 0.0
    return res


# --- all of it ------------------------------------------------------------------------------------------------------

@dataclass
class ProductsResult:
    households: int
    load: Any
    group_irr: GroupIrrResult
    recompute: RecomputeResult
    refresh: RefreshResult
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
