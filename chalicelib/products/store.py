"""SQL for the catalogue, products, portfolio funds, valuations, activity and IRR values (RLS scopes all)."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx

PROVIDER_COLUMNS = "id, name, status, colour, created_at, updated_at, version"
FUND_COLUMNS = ("id, name, isin, risk_factor, ongoing_cost, currency, is_cash, status, created_at, updated_at, "
                "version")
TEMPLATE_COLUMNS = "id, name, description, status, created_at, updated_at, version"
PRODUCT_COLUMNS = ("id, client_group_id, name, product_type, provider_id, plan_number, start_date, end_date, "
                   "notes, currency, fixed_fee_direct, fixed_fee_facilitated, percentage_fee_facilitated, status, "
                   "ownership, template_generation_id, created_at, updated_at, version")
PORTFOLIO_FUND_COLUMNS = ("id, product_id, fund_id, target_weighting, start_date, end_date, created_at, "
                          "updated_at, version")
VALUATION_COLUMNS = "id, portfolio_fund_id, valuation_date, value, created_at, updated_at, version"
ACTIVITY_COLUMNS = ("id, portfolio_fund_id, activity_date, activity_type, amount, created_at, updated_at, "
                    "version")


def _after(after: list[Any] | None, i: int) -> Any:
    return after[i] if after else None


# --- catalogue lists (by name, then id) ---

def list_providers(tx: Tx, *, status: str | None, q: str | None, after: list[Any] | None,
                   limit: int) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {PROVIDER_COLUMNS} FROM providers "
                  "WHERE (%(status)s::text IS NULL OR status = %(status)s) "
                  "AND (%(q)s::text IS NULL OR name ILIKE '%%' || %(q)s || '%%') "
                  "AND (%(n)s::text IS NULL OR (name, id) > (%(n)s, %(id)s::uuid)) ORDER BY name, id LIMIT %(l)s",
                  {"status": status, "q": q, "n": _after(after, 0), "id": _after(after, 1), "l": limit + 1})


def list_funds(tx: Tx, *, isin: str | None, status: str | None, q: str | None, after: list[Any] | None,
               limit: int) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {FUND_COLUMNS} FROM funds "
                  "WHERE (%(isin)s::text IS NULL OR isin = %(isin)s) "
                  "AND (%(status)s::text IS NULL OR status = %(status)s) "
                  "AND (%(q)s::text IS NULL OR name ILIKE '%%' || %(q)s || '%%') "
                  "AND (%(n)s::text IS NULL OR (name, id) > (%(n)s, %(id)s::uuid)) ORDER BY name, id LIMIT %(l)s",
                  {"isin": isin, "status": status, "q": q, "n": _after(after, 0), "id": _after(after, 1),
                   "l": limit + 1})


def list_templates(tx: Tx, *, after: list[Any] | None, limit: int) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {TEMPLATE_COLUMNS} FROM portfolio_templates "
                  "WHERE (%(n)s::text IS NULL OR (name, id) > (%(n)s, %(id)s::uuid)) ORDER BY name, id LIMIT %(l)s",
                  {"n": _after(after, 0), "id": _after(after, 1), "l": limit + 1})


# --- template generations ---

def next_generation_number(tx: Tx, template_id: UUID) -> int:
    return tx.one("SELECT coalesce(max(generation), 0) + 1 AS n FROM template_generations WHERE template_id = %s",
                  (template_id,))["n"]


def insert_generation(tx: Tx, template_id: UUID, generation: int, name: str | None,
                      funds: list[tuple[UUID, Any]]) -> UUID:
    gen_id = tx.one("INSERT INTO template_generations (firm_id, template_id, generation, name) "
                    "VALUES (current_firm_id(), %s, %s, %s) RETURNING id", (template_id, generation, name))["id"]
    tx.execute("INSERT INTO template_generation_funds (firm_id, generation_id, fund_id, target_weighting) "
               "SELECT current_firm_id(), %s, u.f, u.w FROM unnest(%s::uuid[], %s::numeric[]) AS u(f, w)",
               (gen_id, [f for f, _ in funds], [w for _, w in funds]))
    return gen_id


def generations(tx: Tx, template_id: UUID | None = None, generation_id: UUID | None = None) -> list[dict[str, Any]]:
    return tx.all(
        "SELECT g.id, g.template_id, g.generation, g.name, g.created_at, "
        "EXISTS (SELECT 1 FROM products p WHERE p.template_generation_id = g.id) AS in_use, "
        "coalesce((SELECT jsonb_agg(jsonb_build_object('fund_id', f.fund_id, 'target_weighting', "
        "f.target_weighting::text) ORDER BY f.target_weighting DESC, f.fund_id) "
        "FROM template_generation_funds f WHERE f.generation_id = g.id), '[]') AS funds "
        "FROM template_generations g WHERE (%(t)s::uuid IS NULL OR g.template_id = %(t)s) "
        "AND (%(g)s::uuid IS NULL OR g.id = %(g)s) ORDER BY g.generation",
        {"t": template_id, "g": generation_id})


def missing_funds(tx: Tx, fund_ids: list[UUID]) -> list[UUID]:
    return [r["f"] for r in tx.all("SELECT f FROM unnest(%s::uuid[]) AS f WHERE NOT EXISTS "
                                   "(SELECT 1 FROM funds WHERE id = f)", (fund_ids,))]


# --- products ---

def list_products(tx: Tx, group_id: UUID, *, status: str | None, product_type: str | None,
                  after: list[Any] | None, limit: int) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE client_group_id = %(g)s "
                  "AND (%(status)s::text IS NULL OR status = %(status)s) "
                  "AND (%(type)s::text IS NULL OR product_type = %(type)s) "
                  "AND (%(n)s::text IS NULL OR (name, id) > (%(n)s, %(id)s::uuid)) ORDER BY name, id LIMIT %(l)s",
                  {"g": group_id, "status": status, "type": product_type, "n": _after(after, 0),
                   "id": _after(after, 1), "l": limit + 1})


def owners_outside_group(tx: Tx, group_id: UUID, owner_ids: list[UUID]) -> list[UUID]:
    return [r["o"] for r in tx.all(
        "SELECT o FROM unnest(%s::uuid[]) AS o WHERE NOT EXISTS (SELECT 1 FROM client_group_product_owners m "
        "WHERE m.client_group_id = %s AND m.product_owner_id = o)", (owner_ids, group_id))]


def insert_provider_switch(tx: Tx, product_id: UUID, from_id: UUID | None, to_id: UUID | None) -> dict[str, Any]:
    return tx.one("INSERT INTO provider_switches (firm_id, product_id, from_provider_id, to_provider_id) "
                  "VALUES (current_firm_id(), %s, %s, %s) RETURNING id, from_provider_id, to_provider_id, "
                  "switched_at", (product_id, from_id, to_id))


def provider_switches(tx: Tx, product_id: UUID) -> list[dict[str, Any]]:
    return tx.all("SELECT id, from_provider_id, to_provider_id, switched_at FROM provider_switches "
                  "WHERE product_id = %s ORDER BY switched_at, id", (product_id,))


def latest_portfolio_valuation(tx: Tx, product_id: UUID, on_or_before: date | None = None) -> dict[str, Any] | None:
    return tx.one("SELECT valuation_date, value FROM portfolio_valuations WHERE product_id = %s "
                  "AND (%s::date IS NULL OR valuation_date <= %s) ORDER BY valuation_date DESC LIMIT 1",
                  (product_id, on_or_before, on_or_before))


def has_investor_flows(tx: Tx, product_id: UUID, after: date | None = None) -> bool:
    """Whether the product has an investor cash flow (dated after `after`, when given)."""
    return tx.one("SELECT EXISTS (SELECT 1 FROM product_flows WHERE product_id = %s "
                  "AND (%s::date IS NULL OR flow_date > %s)) AS e", (product_id, after, after))["e"]


def fund_valued_after(tx: Tx, product_id: UUID, day: date | None) -> dict[str, Any] | None:
    """A non-zero fund valuation of the product dated after `day` (any, when None): the product's current value
    is then not known to be 0."""
    return tx.one("SELECT v.valuation_date, v.value FROM fund_valuations v JOIN portfolio_funds pf "
                  "ON pf.id = v.portfolio_fund_id WHERE pf.product_id = %s AND v.value <> 0 "
                  "AND (%s::date IS NULL OR v.valuation_date > %s) ORDER BY v.valuation_date DESC LIMIT 1",
                  (product_id, day, day))


def portfolio_valuations(tx: Tx, product_id: UUID, from_: date | None, to: date | None,
                         after: list[Any] | None, limit: int) -> list[dict[str, Any]]:
    return tx.all("SELECT valuation_date, value FROM portfolio_valuations WHERE product_id = %(p)s "
                  "AND (%(f)s::date IS NULL OR valuation_date >= %(f)s) AND (%(t)s::date IS NULL OR valuation_date <= %(t)s) "
                  "AND (%(a)s::date IS NULL OR valuation_date > %(a)s) ORDER BY valuation_date LIMIT %(l)s",
                  {"p": product_id, "f": from_, "t": to, "a": _after(after, 0), "l": limit + 1})


def copy_generation_into_portfolio(tx: Tx, product_id: UUID, generation_id: UUID, start_date: date) -> int:
    return tx.execute("INSERT INTO portfolio_funds (firm_id, product_id, fund_id, target_weighting, start_date) "
                      "SELECT current_firm_id(), %s, fund_id, target_weighting, %s FROM template_generation_funds "
                      "WHERE generation_id = %s", (product_id, start_date, generation_id)).rowcount


# --- portfolio funds, valuations, activity ---

def list_portfolio_funds(tx: Tx, product_id: UUID) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {PORTFOLIO_FUND_COLUMNS} FROM portfolio_funds WHERE product_id = %s "
                  "ORDER BY start_date, created_at, id", (product_id,))


# Every write that changes a product's funds, valuations or cash flows first takes its product's lock (FOR NO KEY
# UPDATE: writers of one product queue; foreign-key checks and readers do not wait). The derived rows (portfolio
# valuations, the stored IRR history) are computed from what the writer's statements see; without the lock, two
# writers of different funds of one product would each miss the other's uncommitted row (two valuations of one
# date, each alone: no portfolio valuation; two cash flows: a history missing one). Taken before any row lock, so
# every path locks in the same order. A portfolio fund's product never changes (migration 0008), so reading it
# unlocked is safe.
_PRODUCT_OF = {
    "products": "SELECT %s::uuid",
    "portfolio_funds": "SELECT product_id FROM portfolio_funds WHERE id = %s",
    "fund_valuations": "SELECT pf.product_id FROM fund_valuations x JOIN portfolio_funds pf "
                       "ON pf.id = x.portfolio_fund_id WHERE x.id = %s",
    "holding_activity": "SELECT pf.product_id FROM holding_activity x JOIN portfolio_funds pf "
                        "ON pf.id = x.portfolio_fund_id WHERE x.id = %s",
}


def lock_product_of(tx: Tx, table: str, row_id: UUID) -> UUID | None:
    """Lock the product of a row of `table`; None when there is no such row."""
    row = tx.one(f"SELECT id FROM products WHERE id = ({_PRODUCT_OF[table]}) FOR NO KEY UPDATE", (row_id,))
    return row["id"] if row else None


def portfolio_fund_context(tx: Tx, pf_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    """The portfolio fund with what its writes need: the product's start and the fund's cash flag."""
    lock = " FOR UPDATE OF pf" if for_update else ""
    return tx.one("SELECT pf.id, pf.product_id, pf.fund_id, pf.start_date, pf.end_date, p.start_date AS "
                  "product_start, p.end_date AS product_end, f.is_cash FROM portfolio_funds pf "
                  "JOIN products p ON p.id = pf.product_id "
                  f"JOIN funds f ON f.id = pf.fund_id WHERE pf.id = %s{lock}", (pf_id,))


def portfolio_fund_contexts(tx: Tx, product_id: UUID) -> list[dict[str, Any]]:
    """portfolio_fund_context for every fund of one product, in one query (bulk writes check them all)."""
    return tx.all("SELECT pf.id, pf.product_id, pf.fund_id, pf.start_date, pf.end_date, p.start_date AS "
                  "product_start, p.end_date AS product_end, f.is_cash FROM portfolio_funds pf "
                  "JOIN products p ON p.id = pf.product_id "
                  "JOIN funds f ON f.id = pf.fund_id WHERE pf.product_id = %s", (product_id,))


def list_valuations(tx: Tx, pf_id: UUID, from_: date | None, to: date | None, after: list[Any] | None,
                    limit: int) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {VALUATION_COLUMNS} FROM fund_valuations WHERE portfolio_fund_id = %(pf)s "
                  "AND (%(f)s::date IS NULL OR valuation_date >= %(f)s) AND (%(t)s::date IS NULL OR valuation_date <= %(t)s) "
                  "AND (%(a)s::date IS NULL OR (valuation_date, id) > (%(a)s::date, %(id)s::uuid)) "
                  "ORDER BY valuation_date, id LIMIT %(l)s",
                  {"pf": pf_id, "f": from_, "t": to, "a": _after(after, 0), "id": _after(after, 1),
                   "l": limit + 1})


def list_activity(tx: Tx, pf_id: UUID, from_: date | None, to: date | None, after: list[Any] | None,
                  limit: int) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {ACTIVITY_COLUMNS} FROM holding_activity WHERE portfolio_fund_id = %(pf)s "
                  "AND (%(f)s::date IS NULL OR activity_date >= %(f)s) AND (%(t)s::date IS NULL OR activity_date <= %(t)s) "
                  "AND (%(a)s::date IS NULL OR (activity_date, id) > (%(a)s::date, %(id)s::uuid)) "
                  "ORDER BY activity_date, id LIMIT %(l)s",
                  {"pf": pf_id, "f": from_, "t": to, "a": _after(after, 0), "id": _after(after, 1),
                   "l": limit + 1})


def bulk_insert_valuations(tx: Tx, rows: list[tuple[UUID, date, Any]]) -> int:
    return tx.execute("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
                      "SELECT current_firm_id(), u.pf, u.d, u.v FROM unnest(%s::uuid[], %s::date[], %s::numeric[]) "
                      "AS u(pf, d, v)", ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])).rowcount


def bulk_insert_activity(tx: Tx, rows: list[tuple[UUID, date, str, Any]]) -> int:
    return tx.execute("INSERT INTO holding_activity (firm_id, portfolio_fund_id, activity_date, activity_type, "
                      "amount) SELECT current_firm_id(), u.pf, u.d, u.t, u.a FROM unnest(%s::uuid[], %s::date[], "
                      "%s::text[], %s::numeric[]) AS u(pf, d, t, a)",
                      ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                       [r[3] for r in rows])).rowcount


def refresh_portfolio_valuations(tx: Tx, product_id: UUID, dates: list[date] | None) -> int:
    return tx.one("SELECT refresh_portfolio_valuations(%s, %s::date[]) AS n", (product_id, dates))["n"]


def dated_rows_after(tx: Tx, pf_id: UUID, day: date) -> bool:
    """Whether the portfolio fund has a valuation or a cash flow dated after `day`."""
    return tx.one("SELECT EXISTS (SELECT 1 FROM fund_valuations WHERE portfolio_fund_id = %(pf)s "
                  "AND valuation_date > %(d)s) OR EXISTS (SELECT 1 FROM holding_activity "
                  "WHERE portfolio_fund_id = %(pf)s AND activity_date > %(d)s) AS e", {"pf": pf_id, "d": day})["e"]


def last_dated_row(tx: Tx, product_id: UUID) -> date | None:
    """The date of the product's latest valuation or cash flow."""
    return tx.one("SELECT greatest((SELECT max(v.valuation_date) FROM fund_valuations v JOIN portfolio_funds pf "
                  "ON pf.id = v.portfolio_fund_id WHERE pf.product_id = %(p)s), (SELECT max(a.activity_date) "
                  "FROM holding_activity a JOIN portfolio_funds pf ON pf.id = a.portfolio_fund_id "
                  "WHERE pf.product_id = %(p)s)) AS d", {"p": product_id})["d"]


def first_fund_start(tx: Tx, product_id: UUID) -> date | None:
    return tx.one("SELECT min(start_date) AS d FROM portfolio_funds WHERE product_id = %s", (product_id,))["d"]


# --- what IRR needs ---

# The inputs of one IRR request in one round trip, one row per holding: a portfolio fund (the fund scope), the
# product (product scope) or each product of a client group. Each holding has its own period: it ends at its
# latest valuation on or before `to` (`end_date`, `end_value`; a holding never valued by then has none and takes no
# part) and starts at its latest valuation on or before `from` (`start_date`, `start_value`). A holding with no
# valuation on or before `from` starts at `from` itself when it has no cash flow before `from` (bought inside the
# period), and is `unstarted` otherwise: its value at the start is unknown. Its flows are the investor cash flows
# inside its own period, netted per date (Kingston sums a month anyway, and XIRR discounts every flow of a date by
# the same factor): after the start valuation (a flow on that date is inside it), or from `from` on, up to the end
# date. `found` and `valued` come first (with no holding the holding columns are null). Products read their flows
# from product_flows (netted per product and date by triggers, migration 0008); a portfolio fund its own activity.
_HOLDINGS_IRR_INPUTS = """
WITH h AS MATERIALIZED ({holders})
SELECT EXISTS ({found}) AS found,
       EXISTS (SELECT 1 FROM {valuations} v WHERE v.{holder} IN (SELECT id FROM h)) AS valued,
       x.*
FROM (SELECT) one LEFT JOIN LATERAL (
    SELECT h.id, h.name, e.d AS end_date, e.value AS end_value, s.d AS start_date, s.value AS start_value,
           (s.d IS NULL AND EXISTS (SELECT 1 FROM ({flows}) f WHERE f.holder = h.id AND f.day < %(from)s::date))
               AS unstarted,
           fl.flow_dates, fl.flow_amounts
    FROM h
    CROSS JOIN LATERAL (SELECT v.valuation_date AS d, v.value FROM {valuations} v WHERE v.{holder} = h.id
                        AND v.valuation_date <= COALESCE(%(to)s::date, 'infinity')
                        ORDER BY v.valuation_date DESC LIMIT 1) e
    LEFT JOIN LATERAL (SELECT v.valuation_date AS d, v.value FROM {valuations} v WHERE v.{holder} = h.id
                       AND v.valuation_date <= %(from)s::date ORDER BY v.valuation_date DESC LIMIT 1) s ON true
    CROSS JOIN LATERAL (SELECT array_agg(f.day ORDER BY f.day) AS flow_dates,
                               array_agg(f.amount ORDER BY f.day) AS flow_amounts
                        FROM ({flows}) f WHERE f.holder = h.id AND f.day <= e.d
                        AND f.day > COALESCE(s.d, %(from)s::date - 1, '-infinity'::date)) fl
) x ON true
ORDER BY x.end_date, x.id"""

_PRODUCT_FLOWS = "SELECT product_id AS holder, flow_date AS day, amount FROM product_flows"

IRR_INPUTS_SQL = {
    "product": _HOLDINGS_IRR_INPUTS.format(
        holders="SELECT id, name FROM products WHERE id = %(id)s", found="SELECT 1 FROM products WHERE id = %(id)s",
        valuations="portfolio_valuations", holder="product_id", flows=_PRODUCT_FLOWS),
    # Every product of the group, lapsed ones included: a product closed at a loss is part of the household's
    # return over the periods it was valued in (after its last valuation it takes no part).
    "client_group": _HOLDINGS_IRR_INPUTS.format(
        holders="SELECT id, name FROM products WHERE client_group_id = %(id)s",
        found="SELECT 1 FROM client_groups WHERE id = %(id)s",
        valuations="portfolio_valuations", holder="product_id", flows=_PRODUCT_FLOWS),
    "portfolio_fund": _HOLDINGS_IRR_INPUTS.format(
        holders="SELECT pf.id, f.name FROM portfolio_funds pf JOIN funds f ON f.id = pf.fund_id WHERE pf.id = %(id)s",
        found="SELECT 1 FROM portfolio_funds WHERE id = %(id)s",
        valuations="fund_valuations", holder="portfolio_fund_id",
        flows="SELECT a.portfolio_fund_id AS holder, a.activity_date AS day, "
              "sum(a.amount * activity_sign(a.activity_type))::numeric AS amount FROM holding_activity a "
              "WHERE activity_sign(a.activity_type) <> 0 GROUP BY a.portfolio_fund_id, a.activity_date"),
}


def irr_inputs(tx: Tx, scope: str, scope_id: UUID, from_: date | None, to: date | None) -> list[dict[str, Any]]:
    """What an IRR over (from_, to] needs, for scope "portfolio_fund", "product" or "client_group" (see above):
    at least one row; `found` and `valued` on each, and one row per holding valued on or before `to`."""
    return tx.all(IRR_INPUTS_SQL[scope], {"id": scope_id, "from": from_, "to": to})


def flows_of_product(tx: Tx, product_id: UUID) -> list[dict[str, Any]]:
    """The product's investor cash flows (signed by activity_sign; fees and dividends excluded), netted per date."""
    return tx.all("SELECT flow_date, amount FROM product_flows WHERE product_id = %s ORDER BY flow_date",
                  (product_id,))


def portfolio_valuation_series(tx: Tx, product_id: UUID, from_date: date = date.min) -> list[dict[str, Any]]:
    return tx.all("SELECT valuation_date, value FROM portfolio_valuations WHERE product_id = %s "
                  "AND valuation_date >= %s ORDER BY valuation_date", (product_id, from_date))


def write_product_irrs(tx: Tx, product_id: UUID, from_date: date,
                       rows: list[tuple[date, str, Any, str | None]]) -> int:
    """Make the product's stored IRRs dated on or after from_date exactly `rows` (valuation date, method, irr,
    reason): rows of dates that no longer have a valuation go; the others are written in place (an update of a
    row keeps its index entries when the page has room, where a delete and insert would add new ones each time).
    Rows dated before from_date are not touched. Returns the rows written."""
    tx.execute("DELETE FROM irr_values WHERE scope = 'product' AND scope_id = %s AND valuation_date >= %s "
               "AND NOT valuation_date = ANY(%s::date[])", (product_id, from_date, sorted({r[0] for r in rows})))
    if not rows:
        return 0
    return tx.execute(
        "INSERT INTO irr_values AS v (firm_id, scope, scope_id, valuation_date, method, irr, reason) "
        "SELECT current_firm_id(), 'product', %s, u.d, u.m, u.r, u.why "
        "FROM unnest(%s::date[], %s::text[], %s::numeric[], %s::text[]) AS u(d, m, r, why) "
        "ON CONFLICT (scope, scope_id, method, valuation_date) DO UPDATE "
        "SET irr = EXCLUDED.irr, reason = EXCLUDED.reason, computed_at = EXCLUDED.computed_at",
        (product_id, *([r[k] for r in rows] for k in range(4)))).rowcount


# Products whose stored IRR history does not match their valuation dates (all firms: the owner's maintenance
# view), with the earliest such date: a valuation date without both methods, or a stored date without a valuation.
# Writers keep the two in step; this finds what they could not (migration 0010's new cash-only dates, raw SQL).
IRR_HISTORY_GAPS_SQL = """
SELECT p.firm_id, p.id AS product_id, min(coalesce(v.valuation_date, i.valuation_date)) AS from_date
FROM portfolio_valuations v
FULL JOIN (SELECT scope_id, valuation_date, count(*) AS methods FROM irr_values WHERE scope = 'product'
           GROUP BY scope_id, valuation_date) i ON i.scope_id = v.product_id AND i.valuation_date = v.valuation_date
JOIN products p ON p.id = coalesce(v.product_id, i.scope_id)
WHERE v.product_id IS NULL OR i.scope_id IS NULL OR i.methods <> 2
GROUP BY p.firm_id, p.id ORDER BY p.firm_id, p.id"""


def irr_history(tx: Tx, scope: str, scope_id: UUID, method: str | None, after: list[Any] | None,
                limit: int) -> list[dict[str, Any]]:
    return tx.all("SELECT valuation_date, method, irr, reason FROM irr_values WHERE scope = %(s)s "
                  "AND scope_id = %(i)s AND (%(m)s::text IS NULL OR method = %(m)s) "
                  "AND (%(d)s::date IS NULL OR (valuation_date, method) > (%(d)s::date, %(am)s::text)) "
                  "ORDER BY valuation_date, method LIMIT %(l)s",
                  {"s": scope, "i": scope_id, "m": method, "d": _after(after, 0), "am": _after(after, 1),
                   "l": limit + 1})


# --- summaries and dashboard (materialized views behind firm-filtered views) ---

def client_group_summary(tx: Tx, group_id: UUID) -> dict[str, Any] | None:
    return tx.one("SELECT client_group_id, name, funds_under_management, revenue, active_products, "
                  "lapsed_products, latest_valuation_date, refreshed_at FROM client_group_summaries "
                  "WHERE client_group_id = %s", (group_id,))


def view_refreshed_at(tx: Tx, view: str) -> Any:
    return tx.one("SELECT view_refreshed_at(%s) AS t", (view,))["t"]


def dashboard_rows(tx: Tx) -> list[dict[str, Any]]:
    return tx.all("SELECT d.dimension, d.key, d.funds_under_management, d.revenue, d.products, d.refreshed_at, "
                  "CASE d.dimension WHEN 'provider' THEN (SELECT name FROM providers WHERE id::text = d.key) "
                  "WHEN 'adviser' THEN (SELECT name FROM users WHERE id::text = d.key) ELSE d.key END AS label "
                  "FROM firm_dashboard d ORDER BY d.dimension, d.funds_under_management DESC, d.key")


def top_households(tx: Tx, limit: int) -> list[dict[str, Any]]:
    return tx.all("SELECT client_group_id, name, funds_under_management, revenue FROM client_group_summaries "
                  "ORDER BY funds_under_management DESC, client_group_id LIMIT %s", (limit,))


def live_revenue(tx: Tx, group_id: UUID | None) -> dict[str, Any]:
    """Revenue now (not from the views): every active product at its latest portfolio valuation."""
    return tx.one("SELECT coalesce(sum(round(p.fixed_fee_direct + p.fixed_fee_facilitated + coalesce(v.value, 0) "
                  "* p.percentage_fee_facilitated / 100, 2)), 0) AS revenue, count(*) AS products, now() AS computed_at "
                  "FROM products p LEFT JOIN LATERAL (SELECT pv.value FROM portfolio_valuations pv "
                  "WHERE pv.product_id = p.id ORDER BY pv.valuation_date DESC LIMIT 1) v ON true "
                  "WHERE p.status = 'active' AND (%(g)s::uuid IS NULL OR p.client_group_id = %(g)s)", {"g": group_id})
