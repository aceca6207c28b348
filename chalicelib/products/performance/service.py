"""Performance: IRR of a fund, product or household over a period, the stored IRR history, revenue, household
summaries and the firm dashboard."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from chalicelib.clients import store as clients_store
from chalicelib.core import db, errors
from chalicelib.core import store as core_store
from chalicelib.core.context import RequestContext
from chalicelib.core.money import to_pennies
from chalicelib.core.pagination import Keyset
from chalicelib.networth import service as networth_service
from chalicelib.products.holdings import store as holdings_store
from chalicelib.products.performance import store

# --- IRR ---

def recompute_irr_history(tx: db.Tx, product_id: UUID, from_date: date) -> int:
    """Rewrite the product's stored IRR history (both methods) for valuation dates on or after from_date.

    Dates before the change keep their stored values: they depend only on flows and valuations before them.
    Each later date's IRR is its whole life to that date (irr.history: one pass over the product's netted flows).
    Fund-level IRRs are computed on request (GET /v1/portfolio-funds/{id}/irr), not stored.

    Relies on the database for its inputs: the valuation dates are the product's complete valuations (every
    non-cash fund active that day valued: SQL function refresh_portfolio_valuations, migrations 0004 and 0010,
    which the statement triggers of migration 0013 ran as the writer's rows went in), and the flows are
    product_flows, the investor cash flows netted per date and kept in step with holding_activity by triggers
    (migrations 0008 and 0009), signed by activity_sign (0004: investments in, withdrawals out, fees and dividends
    not at all).
    """
    from chalicelib.products.performance import irr

    flows = [irr.Flow(f["flow_date"], f["amount"]) for f in store.flows_of_product(tx, product_id)]
    points = [(v["valuation_date"], v["value"]) for v in store.portfolio_valuation_series(tx, product_id, from_date)]
    out: list[tuple[date, str, Any, str | None]] = []
    for (day, _value), figures in zip(points, irr.history(flows, points), strict=False):
        out.extend((day, r.method, r.irr, r.reason) for r in figures)
    return store.write_product_irrs(tx, product_id, from_date, out)


def repair_irr_history(ctx: RequestContext, product_id: UUID, from_date: date) -> int:
    """Rewrite a product's stored IRR history from from_date, under the product's lock as every writer takes it
    (the job irr-history, for the dates its check found out of step). Jobs hold only the owner's credentials: the
    owner role's transaction, with the product's firm as the context (the rows written take their firm from it).
    Returns the rows written."""
    with db.transaction(ctx, kind="owner") as tx:
        if holdings_store.lock_product(tx, product_id) is None:
            return 0  # gone since the check
        return recompute_irr_history(tx, product_id, from_date)


def repair_stale_irr_histories(owner_conn: Any) -> dict[UUID, dict[str, int]]:
    """Find every product whose stored IRR history is out of step with its valuation dates (across firms, on the
    owner's connection) and rewrite each from its earliest such date, one transaction per product. Returns, for
    each firm that had any, the products rewritten and the rows written."""
    by_firm: dict[UUID, dict[str, int]] = {}
    for gap in store.irr_history_gaps(owner_conn):
        written = repair_irr_history(RequestContext.system(gap["firm_id"]), gap["product_id"], gap["from_date"])
        part = by_firm.setdefault(gap["firm_id"], {"products": 0, "rows_written": 0})
        part["products"] += 1
        part["rows_written"] += written
    return by_firm


_IRR_SCOPES = {"portfolio_fund": "No such portfolio fund", "product": "No such product",
               "client_group": "No such client group"}


def irr_for(ctx: RequestContext, scope: str, scope_id: UUID, query: Any) -> dict[str, Any]:
    """IRR of a portfolio fund, a product or a client group (pooled flows, never averaged) over a period.

    One query fetches everything (store.irr_inputs): each holding's end and start values and its flows between,
    netted per date; the holdings (a group's products) are pooled here (irr.pooled), each over its own period.
    A product's values are its complete valuations (refresh_portfolio_valuations, migrations 0004 and 0010) and
    its flows product_flows (kept by the triggers of migrations 0008 and 0009); a fund's are its own valuations and
    cash flows. Either way investor flows are those activity_sign (migration 0004) does not map to 0."""
    with db.transaction(ctx) as tx:
        inputs = store.irr_inputs(tx, scope, scope_id, query.from_, query.to)
    if not inputs[0]["found"]:
        raise errors.NotFound(_IRR_SCOPES[scope])
    return irr_from_inputs(query, inputs, named=scope == "client_group")


def irr_of_selection(ctx: RequestContext, body: Any) -> dict[str, Any]:
    """IRR of any portfolio funds of the firm pooled (models.SelectionIrrIn), with the same periods, start values
    and reasons as a fund's or household's IRR: each fund is a holding over its own period, pooled as a household
    pools its products (one fund alone is exactly GET /v1/portfolio-funds/{id}/irr). One query, as irr_for.

    An id that is not a portfolio fund of the firm (another firm's, or none) is a 404 that names none of the ids:
    which of them exist elsewhere is not the caller's to learn."""
    ids = list(body.portfolio_fund_ids)
    with db.transaction(ctx) as tx:
        inputs = store.irr_inputs(tx, "portfolio_funds", ids, body.from_, body.to)
    if not inputs[0]["found"]:
        raise errors.NotFound("Not every id given is a portfolio fund of the firm")
    return irr_from_inputs(body, inputs, named=len(ids) > 1)


def irr_from_inputs(query: Any, inputs: list[dict[str, Any]], named: bool) -> dict[str, Any]:
    """The IRR answer (irr, method, from, to, reason, and flows with include=flows) from holdings' input rows in the
    shape store.irr_inputs returns them: `found` and `valued` on the first row, then per holding `name`,
    `end_date`, `end_value`, `start_date`, `start_value`, `unstarted`, `flow_dates` and `flow_amounts` (netted per
    date, after the start valuation or from `from` on, up to the end date). `query` carries method, from_, to and
    include; `named` names the holdings in reasons (a household's products)."""
    from chalicelib.products.performance import irr

    method = query.method
    result: dict[str, Any] = {"irr": None, "method": method, "from": query.from_, "to": query.to, "reason": None}
    if not inputs[0]["valued"]:
        return {**result, "reason": "no valuation yet"}
    holdings = [h for h in inputs if h["end_date"] is not None]
    if not holdings:
        return {**result, "reason": f"no valuation on or before {query.to}"}
    end_date = max(h["end_date"] for h in holdings)
    if query.from_ is not None:
        unstarted = [h for h in holdings if h["unstarted"] and h["end_date"] > query.from_]
        if unstarted:
            which = f" ({', '.join(h['name'] for h in unstarted)})" if named else ""
            return {**result, "to": end_date, "reason": f"no valuation on or before {query.from_} to start from"
                                                        f"{which}, and cash flows before it"}
        # A holding last valued on or before `from` has no value inside the period: it takes no part.
        holdings = [h for h in holdings if h["end_date"] > query.from_]
        if not holdings:
            return {**result, "to": end_date, "reason": "the period is empty"}
    if named and len(holdings) > 1:
        # A product with a value but no money in over its period (no start value, no investment recorded: a
        # transfer in, say) would add pure gain to the household's figure; alone it gets irr's own reason.
        unfunded = [h for h in holdings if h["start_value"] is None and not any(a < 0 for a in h["flow_amounts"] or [])
                    and (h["end_value"] > 0 or any(a > 0 for a in h["flow_amounts"] or []))]
        if unfunded:
            return {**result, "to": end_date, "reason": "no money in for " + ", ".join(h["name"] for h in unfunded)
                                                        + ": a value with no investment recorded before it"}
    pool = irr.pooled(irr.Holding(list(zip(h["flow_dates"] or [], h["flow_amounts"] or [], strict=True)),
                                  h["end_date"], h["end_value"], h["start_date"], h["start_value"])
                      for h in holdings)
    r = irr.of_pool(pool, method)
    out = {**result, "irr": r.irr, "reason": r.reason, "from": pool.start, "to": pool.end_date}
    if query.include == "flows":
        out["flows"] = [{"date": f.date, "amount": f.amount} for f in r.flows_used]
    return out


def irr_history(ctx: RequestContext, product_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The product's stored IRRs by valuation date and method (what recompute_irr_history wrote)."""
    keyset = Keyset.parse(store.IRR_HISTORY_LIST, query, ctx)
    with db.transaction(ctx) as tx:
        if not holdings_store.product_exists(tx, product_id):
            raise errors.NotFound("No such product")
        found = store.irr_history(tx, "product", product_id, keyset, query.method)
    return keyset.page(found)


# --- revenue: fixed direct + fixed facilitated + latest valuation x percentage / 100 ---

def product_revenue(product: dict[str, Any], latest: dict[str, Any] | None) -> dict[str, Any]:
    value = latest["value"] if latest else None
    pct = product["percentage_fee_facilitated"]
    revenue = product["fixed_fee_direct"] + product["fixed_fee_facilitated"] + (value or 0) * pct / 100
    return {"product_id": product["id"], "fixed_fee_direct": product["fixed_fee_direct"],
            "fixed_fee_facilitated": product["fixed_fee_facilitated"], "percentage_fee_facilitated": pct,
            "latest_valuation": value, "valuation_date": latest["valuation_date"] if latest else None,
            "revenue": to_pennies(revenue)}


def revenue_of_product(ctx: RequestContext, product_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        product = holdings_store.get_product(tx, product_id)
        if product is None:
            raise errors.NotFound("No such product")
        return product_revenue(product, holdings_store.latest_portfolio_valuation(tx, product_id))


def revenue_total(ctx: RequestContext, group_id: UUID | None) -> dict[str, Any]:
    """Revenue of a client group (or the whole firm when group_id is None), live."""
    with db.transaction(ctx) as tx:
        if group_id is not None and clients_store.get_group(tx, group_id) is None:
            raise errors.NotFound("No such client group")
        return store.live_revenue(tx, group_id)


ITEM_TYPES = ("basic_detail", "income_expenditure", "assets_liabilities", "protection", "vulnerability_health")


def client_group_summary(ctx: RequestContext, group_id: UUID, irr_query: Any) -> dict[str, Any]:
    """A household's figures now, in one transaction: FUM, revenue, product counts and latest valuation date from
    its current rows (store.client_group_summary: product_positions_now, the rule the dashboard's views hold too),
    its information items by type, its IRR from its pooled flows, and from its net worth today (networth.service)
    the household's part of its unmanaged assets and liabilities and its net worth. `refreshed_at` is when they
    were computed."""
    with db.transaction(ctx) as tx:
        summary = store.client_group_summary(tx, group_id)
        if summary is None:
            raise errors.NotFound("No such client group")
        inputs = store.irr_inputs(tx, "client_group", group_id, irr_query.from_, irr_query.to)
        networth = networth_service.networth_in(tx, group_id)
    items = {t: summary["information_items"].get(t, 0) for t in ITEM_TYPES}
    unmanaged = dict.fromkeys(("asset", "liability"), Decimal(0))
    for section in networth["sections"]:
        for row in section["rows"]:
            if row["source"] == "unmanaged_product":
                unmanaged[section["kind"]] += Decimal(row["amounts"]["total"])
    return {**summary, "funds_under_management": to_pennies(summary["funds_under_management"]),
            "revenue": to_pennies(summary["revenue"]), "irr": irr_from_inputs(irr_query, inputs, named=True),
            "unmanaged_assets": to_pennies(unmanaged["asset"]),
            "unmanaged_liabilities": to_pennies(unmanaged["liability"]),
            "net_worth": Decimal(networth["totals"]["net_worth"]["total"]),
            "information_items": {**items, "total": sum(items.values())}}


# --- the dashboard: materialized views refreshed by the jobs, and the firm IRR they store ---

FIRM_IRR_METHODS = ("kingston_monthly", "xirr")


def firm_irr_figures(tx: db.Tx) -> list[dict[str, Any]]:
    """The pooled IRR of the transaction's firm over its whole book, by each method: every product, lapsed ones
    included, each to its latest valuation, pooled exactly as a household's products are (irr_from_inputs with the
    household's rules, through store.irr_inputs' "firm" scope). One read of the inputs serves both methods."""
    from chalicelib.products.performance.models import IrrQuery

    inputs = store.irr_inputs(tx, "firm", None, None, None)
    return [irr_from_inputs(IrrQuery(method=method), inputs, named=True) for method in FIRM_IRR_METHODS]


def store_firm_irrs(firm_ids: list[UUID], as_of: Any) -> dict[UUID, float]:
    """Compute and store the firm IRR of each firm (the refresh jobs, after refreshing the views). Each firm's is
    computed in the system context of that firm (the owner's connection acting as the app role, under the same
    policies: migration 0018); the app role only reads firm_irrs, so the owner writes them all, in one
    transaction. `as_of`: when the refresh read the marks it clears. Returns the seconds each firm's took."""
    import time

    figures, seconds = {}, {}
    for firm_id in firm_ids:
        started = time.perf_counter()
        with db.transaction(RequestContext.system(firm_id)) as tx:
            core_store.no_statement_timeout(tx)  # a large firm's book is more than a request's worth
            figures[firm_id] = firm_irr_figures(tx)
        seconds[firm_id] = time.perf_counter() - started
    with db.owner_connection() as conn, conn.transaction():
        for firm_id, rows in figures.items():
            store.write_firm_irrs(conn, firm_id, rows, as_of)
    return seconds


def _pennies(rows: list[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    return [{**r, **{f: to_pennies(r[f]) for f in fields}} for r in rows]


def dashboard(ctx: RequestContext, method: str = "kingston_monthly") -> dict[str, Any]:
    """The firm's figures as of the last refresh of the views (`refreshed_at`), and whether a write has happened
    since that the views do not hold yet (`stale`, `stale_since`: the oldest such write). Sums from the views come
    back at the scale of their inputs (a coalesced 0 has none): shown as pennies."""
    with db.transaction(ctx) as tx:
        found = store.dashboard_rows(tx)
        households = store.top_households(tx)
        funds = store.fund_totals(tx)
        state = store.dashboard_state(tx, method)
        net_worth = networth_service.firm_net_worth(tx)
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in found:
        by[r["dimension"]].append(r)
    total = by["firm"][0] if by.get("firm") else {}
    if state["method"] is None:  # no refresh has computed it since the firm's first write
        irr = {"irr": None, "method": method, "from": None, "to": None, "reason": "not computed yet", "as_of": None}
    else:
        irr = {"irr": state["irr"], "method": method, "from": state["from_date"], "to": state["to_date"],
               "reason": state["reason"], "as_of": state["as_of"]}
    counts = {k: state[k] or 0 for k in ("households", "people", "products", "lapsed_products", "portfolio_funds")}
    return {"funds_under_management": to_pennies(total.get("funds_under_management", Decimal(0))),
            "revenue": to_pennies(total.get("revenue", Decimal(0))), "products": total.get("products", 0),
            "by_provider": _pennies(by["provider"], "funds_under_management", "revenue"),
            "by_product_type": _pennies(by["product_type"], "funds_under_management", "revenue"),
            "by_adviser": _pennies(by["adviser"], "funds_under_management", "revenue"),
            "by_template": _pennies(by["template"], "funds_under_management", "revenue"),
            "by_fund": _pennies(funds, "funds_under_management"),
            "top_households": _pennies(households, "funds_under_management", "revenue"),
            "counts": counts, "irr": irr, "net_worth": net_worth, "refreshed_at": state["refreshed_at"],
            "stale": state["stale_since"] is not None, "stale_since": state["stale_since"]}
