"""The household overview figure: `GET /v1/client-groups/{id}/overview` of the largest household, over its bare SQL.

Data: a firm of BENCH_OVERVIEW_HOUSEHOLDS households (default 1,300, the managed-products figures' firm) loaded by
tests/bench/products_data.py (3-5 products of 4-6 funds each, ten years of month ends), and in it one more household
at the largest size a firm of 100x the demo's would hold. The demo loader (chalicelib/demo.py) gives a household at
most 3 products of at most 5 funds; products_data's distribution tops out at 5 products of 6 funds, which no firm
size changes (a bounded draw), so at 100x the largest household is that shape with a full ten-year history, plus
what ten years leave behind: two funds per product switched out into another fund of the product (in years 4 and
7) and ended, so that every product has a "Previous funds (2)" line. 5 products, 40 portfolio funds, about 4,200
fund valuations and 4,400 cash flows (regular investments, tax uplifts on the pensions, withdrawals, switches).
Written as the firm's system principal through holdings' bulk store functions (the portfolio valuations follow
by trigger).

Figures:
- p95 of the endpoint through the real handler in process (`app.app(event, context)`, as figures 1 and 4), for
  each IRR method, over the p95 of the bare SQL that reads its rows: on the pool's own connection, a transaction
  with the tenant set and the overview's one statement (`chalicelib.products.overview.store.OVERVIEW_SQL`), its
  rows fetched as dicts, as the handler fetches them. Interleaved rounds. Target: 3x or less.
- The statements one request sends PostgreSQL (from libpq's protocol trace: each simple Query and each Parse),
  for a 200 of each method and for a 304; and the p95 of the 304 (If-None-Match holding the current ETag).
- Where the handler's time goes (p50 of 40 requests with the statement and the IRR calls timed inside).

`BENCH_PARTS=overview .venv/bin/python -m tests.bench.run` runs this part alone.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from tests.bench.common import BenchFirm, FakeLambdaContext, api_event, p50, pct, say

RESOURCE = "/v1/client-groups/{group_id}/overview"
METHODS = ("kingston_monthly", "xirr")
TARGET = 3.0
PRODUCTS = 5
ACTIVE_FUNDS = 6
ENDED = ((1, 40), (2, 80))  # (which of the fund picks after the active ones, month it is switched out)
CENT = Decimal("0.01")


@dataclass
class OverviewResult:
    households: int
    load: Any  # products_data.LoadResult
    household: dict[str, int]  # products, portfolio funds, ended ones, fund valuations, cash flows
    handler: dict[str, list[float]] = field(default_factory=dict)  # method -> seconds per request
    bare: list[float] = field(default_factory=list)  # seconds per bare transaction with the statement
    not_modified: list[float] = field(default_factory=list)  # seconds per 304
    statements: dict[str, list[str]] = field(default_factory=dict)  # request kind -> statements sent
    rows: int = 0  # rows the statement returns
    body_bytes: int = 0
    split: list[tuple[str, float]] = field(default_factory=list)  # (part, p50 seconds)
    irrs: int = 0  # IRR figures in one answer

    def ratio(self, method: str) -> float:
        return pct(self.handler[method], 95) / pct(self.bare, 95)


# --- the largest household -----------------------------------------------------------------------------------------

def _month_ends(first: date, months: int) -> list[date]:
    import calendar

    out = []
    for i in range(months):
        n = first.year * 12 + first.month - 1 + i
        y, m = n // 12, n % 12 + 1
        out.append(date(y, m, calendar.monthrange(y, m)[1]))
    return out


def build_largest(firm: BenchFirm, *, seed: int = 11) -> tuple[UUID, dict[str, int]]:
    """A new household of the firm at the largest size (see the module's docstring); returns its id and size."""
    from psycopg.types.json import Jsonb

    from chalicelib import demo, demo_products
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.products.holdings import store
    from tests.bench import products_data

    ctx = RequestContext.system(firm.id)
    demo.load(firm.id, 1, [], seed=seed, products=False, picture=False)
    rng = random.Random(f"bench-overview:{seed}:{firm.id}")
    with db.transaction(ctx) as tx:
        group = tx.one("SELECT g.id FROM client_groups g WHERE NOT EXISTS (SELECT 1 FROM products p "
                       "WHERE p.client_group_id = g.id) ORDER BY g.created_at DESC, g.id LIMIT 1")["id"]
        owners = [r["product_owner_id"] for r in tx.all(
            "SELECT product_owner_id FROM client_group_product_owners WHERE client_group_id = %s "
            "ORDER BY product_owner_id", (group,))]
        catalogue = demo_products.create_catalogue(tx, rng)
    first = products_data.first_month()
    days = _month_ends(first, products_data.MONTHS)
    products, pfunds, ended, valuations, activity = [], [], [], [], []
    kinds = ["pension", "stocks_and_shares_isa", "gia", "offshore_bond", "pension"]
    for k in range(PRODUCTS):
        pid = uuid.UUID(int=rng.getrandbits(128), version=4)
        ownership = ({"association_type": "individual", "product_owner_id": str(owners[0])} if len(owners) < 2
                     or k % 2 == 0 else {"association_type": "tenants_in_common",
                                         "shares": {str(owners[0]): "60.00", str(owners[1]): "40.00"}})
        products.append((pid, group, f"Largest {kinds[k]} {k + 1}", kinds[k], rng.choice(catalogue["providers"]),
                         f"BIG-{rng.randint(100000, 999999)}", first, Decimal(rng.choice([0, 250, 500])),
                         Decimal(rng.choice([0, 100])), Decimal(rng.choice(["0.50", "0.75"])), Jsonb(ownership),
                         None))
        picks = rng.sample(catalogue["funds"], ACTIVE_FUNDS + len(ENDED))
        pf_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in picks]
        units = [Decimal(0)] * len(picks)
        price = [1.0] * len(picks)
        drift = [rng.uniform(0.002, 0.008) for _ in picks]
        vol = [rng.uniform(0.015, 0.045) for _ in picks]
        initial = Decimal(rng.randrange(40_000, 400_000, 500))
        regular = Decimal(rng.choice([100, 250, 500, 1000]))
        weight = Decimal(1) / len(picks)
        switch_month = {ACTIVE_FUNDS + j - 1: month for j, month in ENDED}
        for i, (pf, fund) in enumerate(zip(pf_ids, picks, strict=True)):
            pfunds.append((pf, pid, fund, (weight * 100).quantize(CENT), first))
            if i in switch_month:
                ended.append((pf, days[switch_month[i]]))
        for m, day in enumerate(days):
            for i, pf in enumerate(pf_ids):
                out_at = switch_month.get(i)
                if out_at is not None and m > out_at:
                    continue
                price[i] *= max(0.5, 1 + rng.gauss(drift[i], vol[i]))
                px = Decimal(repr(price[i]))
                moves = []
                if m == 0:
                    moves.append((first, "investment", (initial * weight).quantize(CENT)))
                else:
                    moves.append((day, "regular_investment", (regular * weight).quantize(CENT)))
                    if kinds[k] == "pension" and day.month == 4:
                        moves.append((day, "tax_uplift", (regular * weight * 3).quantize(CENT)))
                    if rng.random() < 0.01 and units[i] > 0:
                        moves.append((day, "withdrawal", (units[i] * px * Decimal("0.05")).quantize(CENT)))
                for when, kind, amount in moves:
                    units[i] += (-amount if kind == "withdrawal" else amount) / px
                    activity.append((pf, when, kind, amount))
                if out_at == m:  # everything into the product's first fund, valued 0 after
                    value = (units[i] * px).quantize(CENT)
                    activity.append((pf, day, "switch_out", value))
                    activity.append((pf_ids[0], day, "switch_in", value))
                    units[0] += value / Decimal(repr(price[0]))
                    units[i] = Decimal(0)
            for i, pf in enumerate(pf_ids):
                out_at = switch_month.get(i)
                if out_at is None or m <= out_at:
                    valuations.append((pf, day, max(Decimal(0), (units[i] * Decimal(repr(price[i]))).quantize(CENT))))
    with db.transaction(ctx) as tx:
        tx.execute("SET LOCAL statement_timeout = 0")
        store.bulk_insert_products(tx, products)
        store.bulk_insert_portfolio_funds(tx, pfunds)
        tx.execute("UPDATE portfolio_funds SET end_date = u.d FROM unnest(%s::uuid[], %s::date[]) AS u(i, d) "
                   "WHERE portfolio_funds.id = u.i", ([e[0] for e in ended], [e[1] for e in ended]))
        for kind, rows in (("valuation", valuations), ("activity", activity)):
            for start in range(0, len(rows), 50_000):
                store.bulk_insert_dated(tx, kind, rows[start:start + 50_000])
    with db.owner_connection() as conn:
        for table in ("products", "portfolio_funds", "fund_valuations", "holding_activity", "product_flows",
                      "portfolio_valuations"):
            conn.execute(f"ANALYZE {table}")
    size = {"products": len(products), "portfolio_funds": len(pfunds), "ended": len(ended),
            "fund_valuations": len(valuations), "cash_flows": len(activity)}
    say(f"overview: the largest household {group}: {size}")
    return group, size


# --- measuring -----------------------------------------------------------------------------------------------------

def _event(group: UUID, headers: dict[str, str], method: str) -> dict[str, Any]:
    from tests.bench.products import _with_query

    return _with_query(api_event("GET", RESOURCE, {"group_id": str(group)}, headers), {"method": method})


def statements_sent(call: Callable[[], Any]) -> list[str]:
    """The statements `call` sends on the pool's one connection (DB_POOL_MAX=1), from libpq's protocol trace."""
    from chalicelib.core import db
    from tests.pgtrace import statements_sent as traced

    return traced(db.pool(), call)


def _check_figures(app: Any, group: UUID, headers: dict[str, str], lctx: Any) -> int:
    """Before timing: the overview's household and product IRRs must be the IRR endpoints' (both methods)."""
    from tests.bench.products import _call

    irrs = 0
    for m in METHODS:
        body = json.loads(_call(app, _event(group, headers, m), lctx)[1]["body"])
        want = json.loads(_call(app, _with(api_event("GET", "/v1/client-groups/{group_id}/irr",
                                                     {"group_id": str(group)}, headers), m), lctx)[1]["body"])
        got = body["totals"]["irr"]
        if (got["irr"], got["to"]) != (want["irr"], want["to"]) or got["irr"] is None:
            raise RuntimeError(f"overview {m}: household IRR {got} != {want}")
        for product in body["products"]:
            want = json.loads(_call(app, _with(api_event("GET", "/v1/products/{product_id}/irr",
                                                         {"product_id": product["id"]}, headers), m),
                                    lctx)[1]["body"])
            if product["irr"]["irr"] != want["irr"]:
                raise RuntimeError(f"overview {m}: product IRR {product['irr']} != {want}")
            if product["previous_funds"] is None or product["previous_funds"]["count"] != len(ENDED):
                raise RuntimeError(f"overview: product {product['id']} should have {len(ENDED)} previous funds")
        irrs = 1 + sum(1 + len(p["funds"]) + (p["previous_funds"] is not None) for p in body["products"])
    return irrs


def _with(event: dict[str, Any], method: str) -> dict[str, Any]:
    from tests.bench.products import _with_query

    return _with_query(event, {"method": method})


def measure(app_module: Any, firm: BenchFirm, group: UUID, load: Any, size: dict[str, int], *, rounds: int = 20,
            per_round: int = 10) -> OverviewResult:
    from chalicelib.core import db
    from chalicelib.products.overview import store
    from tests.bench.products import _call

    app = app_module.app
    lctx = FakeLambdaContext()
    headers = {"Authorization": f"Bearer {firm.token}"}
    result = OverviewResult(households=len(firm.group_ids), load=load, household=size)
    result.irrs = _check_figures(app, group, headers, lctx)
    events = {m: _event(group, headers, m) for m in METHODS}
    first = _call(app, events["kingston_monthly"], lctx)[1]
    result.body_bytes = len(first["body"])
    etag = first["headers"]["ETag"]
    conditional = dict(events["kingston_monthly"])
    conditional["headers"] = {**conditional["headers"], "If-None-Match": etag}
    conditional["multiValueHeaders"] = {k: [v] for k, v in conditional["headers"].items()}
    from tests.bench.overhead import ENTER_SQL, enter_params

    entering, perf = enter_params(firm.token), time.perf_counter

    def run_handler(m: str, n: int) -> None:
        out = result.handler.setdefault(m, [])
        for _ in range(n):
            out.append(_call(app, events[m], lctx)[0])

    def run_304(n: int) -> None:
        for _ in range(n):
            result.not_modified.append(_call(app, conditional, lctx, want=304)[0])

    def run_bare(n: int) -> None:
        # The pool's own connection, checked out once for the batch (the handler pays its checkout per call).
        with db.pool().connection() as conn:
            for _ in range(n):
                t = perf()
                with conn.transaction():
                    conn.execute(ENTER_SQL, entering)  # the firm entered, as db.transaction does
                    rows = conn.execute(store.OVERVIEW_SQL, {"id": group}).fetchall()
                result.bare.append(perf() - t)
                if not rows:
                    raise RuntimeError("overview: the bare SQL found no row")
                result.rows = len(rows)

    say("overview: warm-up")
    for _ in range(2):
        for m in METHODS:
            run_handler(m, 5)
        run_bare(5)
        run_304(5)
    result.handler.clear()
    result.bare.clear()
    result.not_modified.clear()
    steps: list[Callable[[int], None]] = [lambda n: run_handler("kingston_monthly", n),
                                          lambda n: run_handler("xirr", n), run_bare, run_304]
    say(f"overview: {rounds} interleaved rounds x {per_round} calls of each")
    for r in range(rounds):
        for step in steps if r % 2 == 0 else list(reversed(steps)):
            step(per_round)
    for m in METHODS:
        result.statements[m] = statements_sent(lambda m=m: _call(app, events[m], lctx))
    result.statements["304"] = statements_sent(lambda: _call(app, conditional, lctx, want=304))
    result.split = _split(app, events["kingston_monthly"], lctx)
    for m in METHODS:
        say(f"overview ({m}): handler p95 {pct(result.handler[m], 95) * 1e3:.2f} ms, bare SQL p95 "
            f"{pct(result.bare, 95) * 1e3:.2f} ms -> {result.ratio(m):.2f}x; statements "
            f"{len(result.statements[m])}")
    return result


def _split(app: Any, event: dict[str, Any], lctx: Any, calls: int = 40) -> list[tuple[str, float]]:
    """p50 per part of real requests: the statement (store call, rows fetched), the IRR figures (every
    irr_from_inputs call), and the rest (the pipeline, the other figures, pydantic and JSON)."""
    from chalicelib.products.overview import service, store
    from tests.bench.products import _call

    parts: dict[str, list[float]] = {"statement": [], "irrs": [], "total": []}
    spent = {"statement": 0.0, "irrs": 0.0}
    real_rows, real_irr = store.overview_rows, service.performance.irr_from_inputs
    perf = time.perf_counter

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = perf()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += perf() - t
        return wrapper

    store.overview_rows = timed("statement", real_rows)
    service.performance.irr_from_inputs = timed("irrs", real_irr)
    try:
        for _ in range(calls):
            spent.update(statement=0.0, irrs=0.0)
            parts["total"].append(_call(app, event, lctx)[0])
            parts["statement"].append(spent["statement"])
            parts["irrs"].append(spent["irrs"])
    finally:
        store.overview_rows = real_rows
        service.performance.irr_from_inputs = real_irr
    rest = [t - s - i for t, s, i in zip(parts["total"], parts["statement"], parts["irrs"], strict=True)]
    return [("the request, whole", p50(parts["total"])),
            ("the overview statement (pool checkout, BEGIN, tenant, statement, rows as dicts, COMMIT)",
             p50(parts["statement"])),
            ("IRR figures (`irr_from_inputs`, every fund, previous funds, product and household)", p50(parts["irrs"])),
            ("the rest: pipeline, authentication, sums, revenue, pydantic, JSON, the log line", p50(rest))]


# --- the report ----------------------------------------------------------------------------------------------------

def verdicts(o: OverviewResult) -> list[tuple[str, str, str, bool]]:
    from tests.bench.report import _ms, _x

    out = []
    for i, m in enumerate(METHODS):
        out.append(((f"Overview {'ab'[i]} ({m}): p95 `GET /v1/client-groups/{{id}}/overview` of the largest "
                     f"household / p95 bare SQL reading its rows"),
                    f"{_x(o.ratio(m))} ({_ms(pct(o.handler[m], 95))} / {_ms(pct(o.bare, 95))})",
                    f"≤ {TARGET:g}x", o.ratio(m) <= TARGET))
    counts = {k: len(v) for k, v in o.statements.items()}
    same = len(set(counts.values())) == 1
    out.append(("Overview c: statements sent to PostgreSQL per request (200 of each method, 304)",
                ", ".join(f"{k} {v}" for k, v in counts.items()), "fixed (4: BEGIN, tenant, overview, COMMIT)",
                same and counts.get("kingston_monthly") == 4))
    return out


def render(o: OverviewResult) -> list[str]:
    from tests.bench.report import _ms, _x

    out: list[str] = []
    w = out.append
    h = o.household
    w("## Household overview\n")
    w(f"`GET /v1/client-groups/{{id}}/overview` of the largest household: {h['products']} products, "
      f"{h['portfolio_funds']} portfolio funds ({h['ended']} of them ended, shown as one \"Previous funds (2)\" line "
      f"per product), {h['fund_valuations']:,} fund valuations and {h['cash_flows']:,} cash flows over "
      f"{o.load.first_month:%b %Y} - {o.load.last_month:%b %Y}, in a firm of {o.households:,} households "
      f"({o.load.products:,} products, {o.load.fund_valuations:,} fund valuations; tests/bench/products_data.py) "
      "(tests/bench/overview.py says why this is the largest household at 100x the firm). One answer holds "
      f"{o.irrs} IRR figures and is {o.body_bytes / 1024:,.0f} KiB of JSON; the statement returns {o.rows} rows. "
      "Through the real handler in process, against the bare SQL on the pool's own connection: a transaction, "
      "`auth_enter_session(...)` (the firm entered) and the overview's statement with its rows fetched as dicts "
      "(the least a read "
      "of these rows under row-level security can do). Before timing, the overview's household and product IRRs "
      "were checked equal to `GET /v1/client-groups/{id}/irr` and `GET /v1/products/{id}/irr`. Rounds interleave "
      f"the four measurements; {len(o.bare)} samples each.\n")
    w("| Measurement | p50 | p95 | p99 | p95 / bare SQL p95 |")
    w("|---|---|---|---|---|")
    for label, xs in ([(f"handler, `method={m}`", o.handler[m]) for m in METHODS]
                      + [("handler, `If-None-Match` current: 304", o.not_modified),
                         ("bare SQL (**baseline**)", o.bare)]):
        w(f"| {label} | {_ms(p50(xs))} | {_ms(pct(xs, 95))} | {_ms(pct(xs, 99))} | "
          f"{_x(pct(xs, 95) / pct(o.bare, 95))} |")
    w("")
    w("Statements one request sends PostgreSQL (libpq's protocol trace, each simple Query or Parse):\n")
    for k, sent in o.statements.items():
        w(f"- {k}: {len(sent)}: " + ", ".join(f"`{s}...`" if len(s) >= 40 else f"`{s}`" for s in sent))
    w("")
    w("Where the time goes (p50 of 40 requests, `method=kingston_monthly`):\n")
    w("| Part | p50 |")
    w("|---|---|")
    for part, seconds in o.split:
        w(f"| {part} | {_ms(seconds)} |")
    w("")
    return out
