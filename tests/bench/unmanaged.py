"""Unmanaged products (part "unmanaged"): what their list's summary and their derived current value cost.

On a firm of BENCH_UNMANAGED_HOUSEHOLDS households (default 2,000, from tests/bench/common.make_firm), each with
eight managed products (no portfolio funds) and eight unmanaged products in GBP, EUR and USD with
BENCH_UNMANAGED_MONTHS (default 60) month-end valuations each, and the firm's month-end EUR and USD rates:

- U1. `GET /v1/client-groups/{id}/unmanaged-products` (eight rows, with the base currency and the summary by
  product type, converted at today's rates) over `GET /v1/client-groups/{id}/products` (eight rows, the managed
  list, the same pipeline without a summary), p95 over p95, through the real handler in process, interleaved rounds
  over the same households.
- U2. 5,000 valuations of one product in one statement (the bulk route's INSERT ... SELECT unnest) with the
  statement trigger that keeps the current value over the same statement with it disabled, each in a transaction
  rolled back, as the owner, interleaved, p50 over p50 (a few dozen statements of a fifth of a second each: their
  p95 is the shared machine's noise): what keeping the current value costs a bulk write.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tests.bench.common import BenchFirm, FakeLambdaContext, api_event, p50, pct, say

LIST_TARGET = 1.5
BULK_TARGET = 1.5
_TYPES = (("Home", "asset", "property", "GBP"), ("Villa", "asset", "property", "EUR"),
          ("Broker ISA", "asset", "stocks_and_shares_isa", "GBP"), ("US brokerage", "asset", "gia", "USD"),
          ("Savings", "asset", "bank_account", "GBP"), ("Old pension", "asset", "pension", "GBP"),
          ("Mortgage", "liability", "mortgage", "GBP"), ("Card", "liability", "credit_card", "GBP"))
_CURRENT_VALUE_TRIGGER = "unmanaged_valuations_current_value_insert"  # migration 0021


@dataclass
class UnmanagedResult:
    households: int
    months: int
    products: int = 0
    valuations: int = 0
    samples: dict[str, list[float]] = field(default_factory=dict)  # "unmanaged", "managed", "bulk", "bare"
    check: str = ""

    def ratio(self, case: str, base: str, p: float = 95) -> float:
        return pct(self.samples[case], p) / pct(self.samples[base], p)


def _month_ends(months: int) -> list[date]:
    first = date.today().replace(day=1)
    out = []
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
        out.append((first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1))
    return sorted(out)


def load(firm: BenchFirm, months: int) -> UnmanagedResult:
    """Eight managed and eight unmanaged products per household, valuations and rates, as the owner in bulk."""
    from chalicelib.core import db

    days = _month_ends(months)
    result = UnmanagedResult(households=len(firm.group_ids), months=months)
    with db.owner_connection() as conn:
        conn.execute("INSERT INTO fx_rates (firm_id, currency, rate_date, rate) SELECT %s, c, d, r "
                     "FROM unnest(%s::date[]) AS d, (VALUES ('EUR', 0.85), ('USD', 0.79)) AS x(c, r)",
                     (firm.id, days))
        for name, kind, product_type, currency in _TYPES:
            conn.execute(
                "INSERT INTO unmanaged_products (firm_id, client_group_id, name, kind, product_type, ownership, "
                "currency) SELECT %s, m.client_group_id, %s, %s, %s, jsonb_build_object('association_type', "
                "'individual', 'product_owner_id', m.product_owner_id::text), %s FROM (SELECT DISTINCT ON "
                "(client_group_id) client_group_id, product_owner_id FROM client_group_product_owners "
                "WHERE firm_id = %s ORDER BY client_group_id, product_owner_id) m",
                (firm.id, name, kind, product_type, currency, firm.id))
            conn.execute(
                "INSERT INTO products (firm_id, client_group_id, name, product_type, start_date, ownership) "
                "SELECT %s, m.client_group_id, %s, %s, DATE '2015-01-01', jsonb_build_object('association_type', "
                "'individual', 'product_owner_id', m.product_owner_id::text) FROM (SELECT DISTINCT ON "
                "(client_group_id) client_group_id, product_owner_id FROM client_group_product_owners "
                "WHERE firm_id = %s ORDER BY client_group_id, product_owner_id) m",
                (firm.id, f"Managed {name}", "gia" if kind == "liability" else product_type, firm.id))
        say(f"unmanaged: {len(_TYPES) * len(firm.group_ids):,} unmanaged and as many managed products")
        ids = [r["id"] for r in conn.execute("SELECT id FROM unmanaged_products WHERE firm_id = %s ORDER BY id",
                                             (firm.id,)).fetchall()]
        for start in range(0, len(ids), 1000):  # about 60,000 rows a statement
            conn.execute("INSERT INTO unmanaged_valuations (firm_id, unmanaged_product_id, valuation_date, value) "
                         "SELECT %s, p, d, round((100000 + (hashtext(p::text || d::text) %% 90000))::numeric, 2) "
                         "FROM unnest(%s::uuid[]) AS p, unnest(%s::date[]) AS d",
                         (firm.id, ids[start:start + 1000], days))
        for table in ("unmanaged_products", "unmanaged_valuations", "fx_rates", "products"):
            conn.execute(f"ANALYZE {table}")
        result.products = len(ids)
        result.valuations = conn.execute("SELECT count(*) AS n FROM unmanaged_valuations WHERE firm_id = %s",
                                         (firm.id,)).fetchone()["n"]
    say(f"unmanaged: {result.valuations:,} valuations")
    return result


def _event(resource: str, group: uuid.UUID, headers: dict[str, str]) -> dict[str, Any]:
    return api_event("GET", resource, {"group_id": str(group)}, headers)


def _call(app: Any, event: dict[str, Any], lctx: Any) -> tuple[float, dict[str, Any]]:
    event = dict(event)
    event["requestContext"] = dict(event["requestContext"], requestId=str(uuid.uuid4()))
    t = time.perf_counter()
    response = app(event, lctx)
    elapsed = time.perf_counter() - t
    if response["statusCode"] != 200:
        raise RuntimeError(f"{event['path']} answered {response['statusCode']}: {str(response.get('body'))[:400]}")
    return elapsed, json.loads(response["body"])


def _check(app: Any, headers: dict[str, str], lctx: Any, firm: BenchFirm, group: uuid.UUID) -> str:
    """The summary of one household against the harness's own SQL (latest valuation by DISTINCT ON, the rates by
    a lateral of its own)."""
    from decimal import Decimal

    from chalicelib.core import db

    _, body = _call(app, _event("/v1/client-groups/{group_id}/unmanaged-products", group, headers), lctx)
    with db.owner_connection() as conn:
        rows = conn.execute(
            "WITH latest AS (SELECT DISTINCT ON (v.unmanaged_product_id) v.unmanaged_product_id AS p, v.value "
            "FROM unmanaged_valuations v JOIN unmanaged_products u ON u.id = v.unmanaged_product_id "
            "WHERE u.client_group_id = %(g)s ORDER BY v.unmanaged_product_id, v.valuation_date DESC) "
            "SELECT u.product_type, sum(round(l.value * CASE WHEN u.currency = 'GBP' THEN 1 ELSE (SELECT r.rate "
            "FROM fx_rates r WHERE r.firm_id = u.firm_id AND r.currency = u.currency AND r.rate_date <= CURRENT_DATE "
            "ORDER BY r.rate_date DESC LIMIT 1) END, 2)) AS total FROM unmanaged_products u "
            "JOIN latest l ON l.p = u.id WHERE u.client_group_id = %(g)s GROUP BY u.product_type "
            "ORDER BY u.product_type", {"g": group}).fetchall()
    want = [(r["product_type"], r["total"]) for r in rows]
    got = [(s["product_type"], Decimal(s["total_current_value"])) for s in body["summary"]]
    if got != want:
        raise RuntimeError(f"the summary differs from the harness's SQL: {got} vs {want}")
    return f"one household's summary ({len(got)} types) equals the harness's own SQL"


def measure_list(app_module: Any, firm: BenchFirm, result: UnmanagedResult, *, rounds: int = 8,
                 per_round: int = 25) -> None:
    app, lctx = app_module.app, FakeLambdaContext()
    headers = {"Authorization": f"Bearer {firm.token}"}
    groups = firm.group_ids[:: max(1, len(firm.group_ids) // per_round)][:per_round]
    result.check = _check(app, headers, lctx, firm, groups[0])
    say(f"unmanaged: {result.check}")
    cases = {"unmanaged": "/v1/client-groups/{group_id}/unmanaged-products",
             "managed": "/v1/client-groups/{group_id}/products"}
    events = {name: [_event(resource, g, headers) for g in groups] for name, resource in cases.items()}
    for name in cases:
        result.samples[name] = []
        for event in events[name][:3]:  # warm-up
            _call(app, event, lctx)
    for r in range(rounds):
        for name in (list(cases) if r % 2 == 0 else list(cases)[::-1]):
            result.samples[name] += [_call(app, event, lctx)[0] for event in events[name]]
    say(f"unmanaged: U1 list p95 {pct(result.samples['unmanaged'], 95) * 1e3:.2f} ms over managed list p95 "
        f"{pct(result.samples['managed'], 95) * 1e3:.2f} ms = {result.ratio('unmanaged', 'managed'):.2f}x")


def measure_bulk(firm: BenchFirm, result: UnmanagedResult, *, rounds: int = 30) -> None:
    """The bulk route's statement (unmanaged.store.bulk_insert_valuations) on a fresh product, with and without
    the current-value trigger, each rolled back."""
    from chalicelib.core import db

    rows = [(date(2000, 1, 1) + timedelta(days=i), f"{1000 + i}.00", "import") for i in range(5000)]
    result.samples["bulk"], result.samples["bare"] = [], []
    with db.owner_connection(autocommit=False) as conn:
        group = firm.group_ids[0]

        def one(disabled: bool) -> float:
            if disabled:
                conn.execute(f"ALTER TABLE unmanaged_valuations DISABLE TRIGGER {_CURRENT_VALUE_TRIGGER}")
            pid = conn.execute(
                "INSERT INTO unmanaged_products (firm_id, client_group_id, name, kind, product_type, ownership, "
                "currency) SELECT firm_id, client_group_id, %s, kind, product_type, ownership, currency "
                "FROM unmanaged_products WHERE client_group_id = %s LIMIT 1 RETURNING id",
                (uuid.uuid4().hex, group)).fetchone()["id"]
            _bulk(conn, firm.id, pid, [(date(1990, 1, 1), "1.00", "import")])  # the same cache state both ways
            t = time.perf_counter()
            _bulk(conn, firm.id, pid, rows)
            elapsed = time.perf_counter() - t
            conn.rollback()
            return elapsed

        for _ in range(2):  # warm-up
            one(False)
            one(True)
        for r in range(rounds):
            for disabled in ((False, True) if r % 2 == 0 else (True, False)):
                result.samples["bare" if disabled else "bulk"].append(one(disabled))
    say(f"unmanaged: U2 bulk of 5,000 p50 {p50(result.samples['bulk']) * 1e3:.1f} ms with the current-value "
        f"trigger, {p50(result.samples['bare']) * 1e3:.1f} ms without = {result.ratio('bulk', 'bare', 50):.2f}x")


def _bulk(conn: Any, firm_id: Any, product_id: Any, rows: list[tuple[date, str, str]]) -> None:
    """unmanaged.store.bulk_insert_valuations's statement, with the firm given (the owner has no tenant context)."""
    conn.execute("INSERT INTO unmanaged_valuations (firm_id, unmanaged_product_id, valuation_date, value, source) "
                 "SELECT %s, %s, u.d, u.v, u.s FROM unnest(%s::date[], %s::numeric[], %s::text[]) AS u(d, v, s)",
                 (firm_id, product_id, [d for d, _, _ in rows], [v for _, v, _ in rows], [s for _, _, s in rows]))


# --- the report ------------------------------------------------------------------------------------------------------

def _ms(s: float) -> str:
    return f"{s * 1e3:,.2f} ms"


def verdicts(u: UnmanagedResult) -> list[tuple[str, str, str, bool]]:
    lst, bulk = u.ratio("unmanaged", "managed"), u.ratio("bulk", "bare", 50)
    return [
        ("U1. Unmanaged products list with its summary by type, 8 rows: p95 / p95 of the managed products list",
         f"{lst:.2f}x ({_ms(pct(u.samples['unmanaged'], 95))} / {_ms(pct(u.samples['managed'], 95))})",
         f"≤ {LIST_TARGET:g}x", lst <= LIST_TARGET),
        ("U2. 5,000 valuations in one statement: p50 with the current-value trigger / p50 without",
         f"{bulk:.2f}x ({_ms(p50(u.samples['bulk']))} / {_ms(p50(u.samples['bare']))})",
         f"≤ {BULK_TARGET:g}x", bulk <= BULK_TARGET),
    ]


def render(u: UnmanagedResult) -> list[str]:
    out = ["## Unmanaged products (part unmanaged)\n",
           (f"A firm of {u.households:,} households, each with eight managed products (no funds) and eight unmanaged "
            f"products in GBP, EUR and USD ({u.products:,} in all) with {u.months} month-end valuations each "
            f"({u.valuations:,}), and month-end EUR and USD rates (tests/bench/unmanaged.py). U1: "
            f"{len(u.samples['unmanaged']):,} requests of each list through the real handler in process, over the "
            f"same households, in interleaved rounds; {u.check}. U2: {len(u.samples['bulk'])} statements each way, "
            f"interleaved, each on a fresh product in a transaction rolled back.\n"),
           "| Case | p50 | p95 |", "|---|---|---|"]
    labels = {"unmanaged": "`GET /v1/client-groups/{id}/unmanaged-products` (with summary)",
              "managed": "`GET /v1/client-groups/{id}/products`",
              "bulk": "5,000 valuations, current value kept by trigger", "bare": "5,000 valuations, trigger disabled"}
    for key, label in labels.items():
        out.append(f"| {label} | {_ms(p50(u.samples[key]))} | {_ms(pct(u.samples[key], 95))} |")
    out.append("")
    return out
