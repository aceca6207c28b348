"""The household list with money on it (part "fum"), on a firm of 13,000 households with products and valuations.

Figures, each a p95 over the p95 of the plain list (`GET /v1/client-groups?limit=50`, the same pages in the name
order, no include) measured in the same rounds, interleaved, through the real handler in process
(`app.app(event, context)`):

- `include=fum`, 50 rows in the name order: the first page and a page from the middle of the list (a cursor);
- `include=fum&sort=-fum`, 50 rows: the first page and a deep page (a cursor half-way down the FUM order);
- `include=fum&sort=-fum&status=active` (a filter that keeps most households), first page.

The firm: 13,000 households from `chalicelib.demo.load` (tests/bench/common.make_firm) and products, portfolio
funds, fund valuations and cash flows from the managed-products builder (tests/bench/products_data.load), with
BENCH_FUM_MONTHS (default 24) month ends of history per fund instead of that part's 120, so that 13,000 households
load in minutes; the portfolio valuations follow by the database's triggers. The query plans (EXPLAIN ANALYZE,
BUFFERS) of the store's query shapes are kept for the report, with the plan of valuing every household live (what
sort=-fum would cost without client_group_fum, migration 0016).
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.bench.common import BenchFirm, FakeLambdaContext, api_event, p50, pct, say

RESOURCE = "/v1/client-groups"
RATIO_TARGET = 1.5  # include=fum over the plain list, p95, 50 rows
CASES = {  # name -> (query, which page: "first" or "deep")
    "plain, first page": ({"limit": "50"}, "first"),
    "plain, middle page": ({"limit": "50"}, "deep"),
    "include=fum, first page": ({"limit": "50", "include": "fum"}, "first"),
    "include=fum, middle page": ({"limit": "50", "include": "fum"}, "deep"),
    "include=fum&sort=-fum, first page": ({"limit": "50", "include": "fum", "sort": "-fum"}, "first"),
    "include=fum&sort=-fum, deep page": ({"limit": "50", "include": "fum", "sort": "-fum"}, "deep"),
    "include=fum&sort=-fum&status=active, first page": (
        {"limit": "50", "include": "fum", "sort": "-fum", "status": "active"}, "first"),
}
BASELINES = {"first": "plain, first page", "deep": "plain, middle page"}


@dataclass
class FumResult:
    households: int
    months: int
    load: Any  # tests.bench.products_data.LoadResult
    samples: dict[str, list[float]] = field(default_factory=dict)  # case -> seconds per request
    deep_position: int = 0  # rows before the deep pages
    plans: dict[str, str] = field(default_factory=dict)  # shape -> EXPLAIN ANALYZE text
    server_ms: dict[str, float] = field(default_factory=dict)  # shape -> execution time (EXPLAIN ANALYZE)
    check: str = ""

    def p95(self, case: str) -> float:
        return pct(self.samples[case], 95)

    def ratio(self, case: str) -> float:
        return self.p95(case) / self.p95(BASELINES[CASES[case][1]])


def _event(headers: dict[str, str], query: dict[str, str]) -> dict[str, Any]:
    event = api_event("GET", RESOURCE, {}, headers)
    event["queryStringParameters"] = dict(query)
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


def _call(app: Any, event: dict[str, Any], lctx: Any) -> tuple[float, dict[str, Any]]:
    event = dict(event)
    event["requestContext"] = dict(event["requestContext"], requestId=str(uuid.uuid4()))
    t = time.perf_counter()
    response = app(event, lctx)
    elapsed = time.perf_counter() - t
    if response["statusCode"] != 200:
        raise RuntimeError(f"GET {RESOURCE} {event['queryStringParameters']} answered {response['statusCode']}: "
                           f"{str(response.get('body'))[:400]}")
    return elapsed, json.loads(response["body"])


def _cursor_at(app: Any, headers: dict[str, str], lctx: Any, query: dict[str, str], rows: int) -> str:
    """The cursor after `rows` rows of the list in this query's order (walked in pages of 200)."""
    seen, cursor = 0, None
    while seen < rows:
        q = {**query, "limit": str(min(200, rows - seen))}
        if cursor:
            q["cursor"] = cursor
        _, body = _call(app, _event(headers, q), lctx)
        seen += len(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            raise RuntimeError(f"the list ended after {seen} rows")
    return cursor


def _check_figures(app: Any, headers: dict[str, str], lctx: Any, firm: BenchFirm) -> str:
    """The first page by -fum against the harness's own SQL (the owner's connection, every household of the firm
    valued by DISTINCT ON, not the store's lateral): the same households, figures and order."""
    from decimal import Decimal

    from chalicelib.core import db

    _, body = _call(app, _event(headers, {"limit": "50", "include": "fum", "sort": "-fum"}), lctx)
    with db.owner_connection() as conn:
        want = conn.execute(
            "WITH latest AS (SELECT DISTINCT ON (v.product_id) v.product_id, v.valuation_date, v.value "
            "FROM portfolio_valuations v WHERE v.firm_id = %s ORDER BY v.product_id, v.valuation_date DESC) "
            "SELECT g.id, coalesce(sum(l.value) FILTER (WHERE p.status = 'active'), 0) AS fum, "
            "count(p.id) FILTER (WHERE p.status = 'active') AS n, max(l.valuation_date) AS d "
            "FROM client_groups g LEFT JOIN products p ON p.client_group_id = g.id "
            "LEFT JOIN latest l ON l.product_id = p.id WHERE g.firm_id = %s GROUP BY g.id "
            "ORDER BY fum DESC, g.id DESC LIMIT 50", (firm.id, firm.id)).fetchall()
    got = [(i["id"], Decimal(i["funds_under_management"]), i["product_count"], i["latest_valuation_date"])
           for i in body["items"]]
    expected = [(str(r["id"]), r["fum"], r["n"], r["d"].isoformat() if r["d"] else None) for r in want]
    if got != expected:
        raise RuntimeError(f"the API's first page by -fum differs from the harness's SQL: {got[:3]} vs {expected[:3]}")
    return (f"the first page by -fum (50 households, FUM {got[0][1]:,} down to {got[-1][1]:,}) equals the harness's "
            f"own DISTINCT ON query")


# The first page by -fum without client_group_fum: every household of the firm valued by the rule itself
# (client_group_fum_of, one backward probe of portfolio_valuations per product), then the top 51.
LIVE = "without client_group_fum: every household valued live, top 51"
_VALUED_LIVE = ("SELECT * FROM client_group_fum_of(ARRAY(SELECT id FROM client_groups)) "
                "ORDER BY funds_under_management DESC, client_group_id DESC LIMIT 51")


class _Explaining:
    """Stands in for the store's transaction: runs its query under EXPLAIN (ANALYZE, BUFFERS), keeps the plan."""

    def __init__(self, tx: Any) -> None:
        self.tx, self.lines = tx, []

    def all(self, query: Any, params: Any) -> list[Any]:
        from psycopg import sql

        query = sql.SQL(query) if isinstance(query, str) else query
        self.lines.extend(r["QUERY PLAN"] for r in self.tx.all(sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + query, params))
        return []


def _plans(firm: BenchFirm, deep_cursor: str) -> tuple[dict[str, str], dict[str, float]]:
    """EXPLAIN (ANALYZE, BUFFERS) of the store's three query shapes, as the app role inside the firm."""
    from chalicelib.clients import store
    from chalicelib.clients.models import GROUPS, ClientGroupListQuery
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.core.pagination import Keyset

    shapes = {"plain list (name)": (store.list_groups, {}), "include=fum (name)": (store.list_groups_with_fum, {}),
              "include=fum&sort=-fum": (store.list_groups_with_fum, {"sort": "-fum"}),
              "include=fum&sort=-fum, deep page": (store.list_groups_with_fum, {"sort": "-fum",
                                                                               "cursor": deep_cursor})}
    plans, times = {}, {}
    with db.transaction(RequestContext.system(firm.id)) as tx:  # what sort=-fum would cost without the table
        explaining = _Explaining(tx)
        for _ in range(3):
            explaining.lines.clear()
            explaining.all(_VALUED_LIVE, None)
    plans[LIVE] = "\n".join(explaining.lines)
    for name, (fn, q) in shapes.items():
        keyset = Keyset.parse(GROUPS, ClientGroupListQuery(limit=50, include="fum", **q),
                              RequestContext.system(firm.id))
        with db.transaction(RequestContext.system(firm.id)) as tx:
            explaining = _Explaining(tx)
            for _ in range(3):  # warm: the last of three
                explaining.lines.clear()
                fn(explaining, keyset, status=None, type_=None, q=None, adviser_id=None)
        plans[name] = "\n".join(explaining.lines)
    for name, plan in plans.items():
        times[name] = next((float(line.split(":")[1].split()[0]) for line in plan.splitlines()
                            if line.startswith("Execution Time")), float("nan"))
    return plans, times


def measure(app_module: Any, firm: BenchFirm, load: Any, months: int, *, rounds: int = 8,
            per_round: int = 15) -> FumResult:
    app = app_module.app
    lctx = FakeLambdaContext()
    headers = {"Authorization": f"Bearer {firm.token}"}
    result = FumResult(households=len(firm.group_ids), months=months, load=load)
    result.check = _check_figures(app, headers, lctx, firm)
    say(f"fum: {result.check}")
    result.deep_position = len(firm.group_ids) // 2
    events = {}
    for name, (query, page) in CASES.items():
        q = dict(query)
        if page == "deep":
            q["cursor"] = _cursor_at(app, headers, lctx, {k: v for k, v in query.items() if k != "limit"},
                                     result.deep_position)
        events[name] = _event(headers, q)
        result.samples[name] = []
        for _ in range(3):  # warm-up
            _call(app, events[name], lctx)
    names = list(CASES)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            out = result.samples[name]
            for _ in range(per_round):
                out.append(_call(app, events[name], lctx)[0])
        say(f"fum: round {r + 1}/{rounds}: " + ", ".join(f"{n} p50 {p50(result.samples[n]) * 1e3:.1f} ms"
                                                         for n in ("plain, first page", "include=fum, first page",
                                                                   "include=fum&sort=-fum, first page")))
    deep_fum = events["include=fum&sort=-fum, deep page"]["queryStringParameters"]["cursor"]
    result.plans, result.server_ms = _plans(firm, deep_fum)
    for name in CASES:
        say(f"fum: {name}: p95 {result.p95(name) * 1e3:.2f} ms ({result.ratio(name):.2f}x its plain baseline)")
    return result


# --- the report ------------------------------------------------------------------------------------------------------

def _ms(s: float) -> str:
    return f"{s * 1e3:,.2f} ms"


def verdicts(f: FumResult) -> list[tuple[str, str, str, bool]]:
    out = []
    for name in ("include=fum, first page", "include=fum, middle page"):
        base = BASELINES[CASES[name][1]]
        out.append((f"F1. Household list `{name}`, 50 rows: p95 / p95 of the plain list ({base})",
                    f"{f.ratio(name):.2f}x ({_ms(f.p95(name))} / {_ms(f.p95(base))})", f"≤ {RATIO_TARGET:g}x",
                    f.ratio(name) <= RATIO_TARGET))
    return out


def render(f: FumResult) -> list[str]:
    ld = f.load
    out = ["## The household list with money (part fum)\n",
           (f"`GET /v1/client-groups` through the real handler in process, 50 rows, on a firm of {f.households:,} "
           f"households with {ld.products:,} products, {ld.portfolio_funds:,} portfolio funds, "
           f"{ld.fund_valuations:,} fund valuations and {ld.portfolio_valuations:,} portfolio (complete) valuations "
           f"({f.months} month ends per fund; tests/bench/fum.py, data from tests/bench/products_data.py). Each "
           f"case {len(f.samples[next(iter(CASES))])} requests, in interleaved rounds; the middle and deep pages "
           f"start after {f.deep_position:,} rows of their own order. Ratios are over the plain list's p95 for the "
           f"same kind of page (first, or from the middle by name). {f.check}.\n"),
           "| Request | p50 | p95 | p95 / plain p95 |", "|---|---|---|---|"]
    for name in CASES:
        out.append(f"| `{name}` | {_ms(p50(f.samples[name]))} | {_ms(f.p95(name))} | {f.ratio(name):.2f}x |")
    out.append("")
    out.append("Server execution time of each query shape (EXPLAIN ANALYZE, warm, as the app role in the firm): "
               + "; ".join(f"{k} {v:,.2f} ms" for k, v in f.server_ms.items()) + ".\n")
    for name, plan in f.plans.items():
        out.append(f"<details><summary>Plan: {name}</summary>\n\n```\n{plan}\n```\n</details>\n")
    return out
