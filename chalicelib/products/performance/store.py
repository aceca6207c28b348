"""SQL for what performance figures read: IRR inputs, the stored IRR history, revenue, the live household summary,
the dashboard's views and the firm IRR the refresh jobs store (RLS scopes all)."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset, ListSpec

# One stored IRR per date and method: the two order the history.
IRR_HISTORY_LIST = ListSpec("irr_history", {"valuation_date": (("valuation_date", "date"), ("method", "text"))},
                            "valuation_date", tiebreak=None)


# --- what IRR needs ---

# The inputs of one IRR request in one round trip, one row per holding: a portfolio fund (the fund scope), the
# product (product scope) or each product of a client group. Each holding has its own period: it ends at its
# latest valuation on or before `to` (`end_date`, `end_value`; a holding never valued by then has none and takes no
# part) and starts at its latest valuation on or before `from` (`start_date`, `start_value`). A holding with no
# valuation on or before `from` starts at `from` itself when it has no cash flow before `from` (bought inside the
# period), and is `unstarted` otherwise: its value at the start is unknown. Its flows are the investor cash flows
# inside its own period, netted per date (Kingston sums a month anyway, and XIRR discounts every flow of a date by
# the same factor): after the start valuation (a flow on that date is inside it), or from `from` on, up to the end
# date. `found` and `valued` come first (with no holding the holding columns are null; `valued` probes each holding's
# valuations by index, holding by holding, so that a firm's tens of thousands of products are not matched against
# every valuation of the table). Products read their flows
# from product_flows (netted per product and date by triggers, migration 0008); a portfolio fund its own activity.
# A selection of portfolio funds is several holdings, pooled like a household's products.
_HOLDINGS_IRR_INPUTS = """
WITH h AS MATERIALIZED ({holders})
SELECT EXISTS ({found}) AS found,
       EXISTS (SELECT 1 FROM h WHERE EXISTS (SELECT 1 FROM {valuations} v WHERE v.{holder} = h.id)) AS valued,
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
_FUND_FLOWS = ("SELECT a.portfolio_fund_id AS holder, a.activity_date AS day, "
               "sum(a.amount * activity_sign(a.activity_type))::numeric AS amount FROM holding_activity a "
               "WHERE activity_sign(a.activity_type) <> 0 GROUP BY a.portfolio_fund_id, a.activity_date")

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
    # Every product of the firm (the firm set in the transaction; explicit, since the refresh jobs run as the
    # owner, whom row-level security does not limit): the firm's whole book pooled as one household's is.
    "firm": _HOLDINGS_IRR_INPUTS.format(
        holders="SELECT id, name FROM products WHERE firm_id = current_firm_id()",
        found="SELECT 1 FROM firms WHERE id = current_firm_id()",
        valuations="portfolio_valuations", holder="product_id", flows=_PRODUCT_FLOWS),
    "portfolio_fund": _HOLDINGS_IRR_INPUTS.format(
        holders="SELECT pf.id, f.name FROM portfolio_funds pf JOIN funds f ON f.id = pf.fund_id WHERE pf.id = %(id)s",
        found="SELECT 1 FROM portfolio_funds WHERE id = %(id)s",
        valuations="fund_valuations", holder="portfolio_fund_id", flows=_FUND_FLOWS),
    # Any portfolio funds of the firm, each a holding as above: `found` only when every id is visible.
    "portfolio_funds": _HOLDINGS_IRR_INPUTS.format(
        holders="SELECT pf.id, f.name FROM portfolio_funds pf JOIN funds f ON f.id = pf.fund_id "
                "WHERE pf.id = ANY(%(id)s::uuid[])",
        found="SELECT 1 WHERE (SELECT count(*) FROM portfolio_funds WHERE id = ANY(%(id)s::uuid[])) "
              "= cardinality(%(id)s::uuid[])",
        valuations="fund_valuations", holder="portfolio_fund_id", flows=_FUND_FLOWS),
}


def irr_inputs(tx: Tx, scope: str, scope_id: UUID | list[UUID] | None, from_: date | None,
               to: date | None) -> list[dict[str, Any]]:
    """What an IRR over (from_, to] needs, for scope "portfolio_fund", "product" or "client_group" (one id),
    "portfolio_funds" (a list of ids; found when all are) or "firm" (the transaction's firm; no id) (see above): at
    least one row; `found` and `valued` on each, and one row per holding valued on or before `to`."""
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
_IRR_HISTORY_GAPS = """
SELECT p.firm_id, p.id AS product_id, min(coalesce(v.valuation_date, i.valuation_date)) AS from_date
FROM portfolio_valuations v
FULL JOIN (SELECT scope_id, valuation_date, count(*) AS methods FROM irr_values WHERE scope = 'product'
           GROUP BY scope_id, valuation_date) i ON i.scope_id = v.product_id AND i.valuation_date = v.valuation_date
JOIN products p ON p.id = coalesce(v.product_id, i.scope_id)
WHERE v.product_id IS NULL OR i.scope_id IS NULL OR i.methods <> 2
GROUP BY p.firm_id, p.id ORDER BY p.firm_id, p.id"""


def irr_history_gaps(conn: Any) -> list[dict[str, Any]]:
    """Products (of every firm: run on the owner's connection) whose stored IRR history is out of step with their
    valuation dates, each with the earliest date out of step."""
    return conn.execute(_IRR_HISTORY_GAPS).fetchall()


def irr_history(tx: Tx, scope: str, scope_id: UUID, keyset: Keyset, method: str | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT valuation_date, method, irr, reason FROM irr_values WHERE scope = %(s)s "
                    "AND scope_id = %(i)s AND (%(m)s::text IS NULL OR method = %(m)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"s": scope, "i": scope_id, "m": method, **keyset.params()})


# --- the household summary (live) ---

# A household's figures now, from product_positions_now (migration 0015: each product at its latest complete
# valuation, its revenue by product_revenue), the rule the dashboard's materialized views hold too, and how many
# information items it has by type. None when the household is not visible.
_GROUP_SUMMARY = """
SELECT g.id AS client_group_id, g.name,
       coalesce(sum(pp.value) FILTER (WHERE pp.status = 'active'), 0) AS funds_under_management,
       coalesce(sum(pp.revenue) FILTER (WHERE pp.status = 'active'), 0) AS revenue,
       count(pp.product_id) FILTER (WHERE pp.status = 'active') AS active_products,
       count(pp.product_id) FILTER (WHERE pp.status = 'lapsed') AS lapsed_products,
       max(pp.valuation_date) AS latest_valuation_date, now() AS refreshed_at,
       (SELECT coalesce(jsonb_object_agg(i.item_type, i.n), '{}') FROM (
            SELECT item_type, count(*) AS n FROM information_items WHERE client_group_id = g.id
            GROUP BY item_type) i) AS information_items
FROM client_groups g
LEFT JOIN product_positions_now pp ON pp.client_group_id = g.id
WHERE g.id = %s
GROUP BY g.id, g.name"""


def client_group_summary(tx: Tx, group_id: UUID) -> dict[str, Any] | None:
    return tx.one(_GROUP_SUMMARY, (group_id,))


# --- the dashboard (materialized views behind firm-filtered views, refreshed by the jobs) ---

def dashboard_rows(tx: Tx) -> list[dict[str, Any]]:
    return tx.all("SELECT d.dimension, d.key, d.funds_under_management, d.revenue, d.products, d.refreshed_at, "
                  "CASE d.dimension WHEN 'provider' THEN (SELECT name FROM providers WHERE id::text = d.key) "
                  "WHEN 'adviser' THEN (SELECT name FROM users WHERE id::text = d.key) "
                  "WHEN 'template' THEN (SELECT name FROM portfolio_templates WHERE id::text = d.key) "
                  "ELSE d.key END AS label "
                  "FROM firm_dashboard d ORDER BY d.dimension, d.funds_under_management DESC, d.key")


def fund_totals(tx: Tx) -> list[dict[str, Any]]:
    return tx.all("SELECT t.fund_id::text AS key, f.name AS label, t.funds_under_management, t.portfolio_funds, "
                  "t.products FROM firm_fund_totals t LEFT JOIN funds f ON f.id = t.fund_id "
                  "ORDER BY t.funds_under_management DESC, t.fund_id")


def top_households(tx: Tx) -> list[dict[str, Any]]:
    """The ten households with the most FUM (the view orders and cuts them: migration 0015)."""
    return tx.all("SELECT client_group_id, name, funds_under_management, revenue FROM firm_top_households "
                  "ORDER BY funds_under_management DESC, client_group_id")


# What else the dashboard says, in one round trip: when the views were refreshed (view_refreshed_at, migration 0011:
# the time the refresh began, so every write committed before it is in them), the oldest write of the firm's
# that no refresh has seen yet (dashboard_writes; none when the views hold every committed write), the counts, and
# the firm IRR by the method asked for as the last refresh stored it (firm_irrs). A firm no refresh has reached yet
# has no counts row and no IRR row (nulls).
_DASHBOARD_STATE = """
SELECT view_refreshed_at('mv_firm_dashboard') AS refreshed_at,
       (SELECT min(w.written_at) FROM dashboard_writes w) AS stale_since,
       c.households, c.people, c.products, c.lapsed_products, c.portfolio_funds,
       i.irr, i.method, i.reason, i.from_date, i.to_date, i.as_of
FROM (SELECT) one
LEFT JOIN firm_counts c ON true
LEFT JOIN firm_irrs i ON i.method = %s"""


def dashboard_state(tx: Tx, method: str) -> dict[str, Any]:
    return tx.one(_DASHBOARD_STATE, (method,))


def write_firm_irrs(conn: Any, firm_id: UUID, rows: list[dict[str, Any]], as_of: Any) -> int:
    """Store a firm's IRR, one row per method (irr, method, reason, from, to); the owner's connection."""
    return conn.execute(
        "INSERT INTO firm_irrs AS f (firm_id, method, irr, reason, from_date, to_date, as_of) "
        "SELECT %s, u.m, u.r, u.why, u.f, u.t, %s "
        "FROM unnest(%s::text[], %s::numeric[], %s::text[], %s::date[], %s::date[]) AS u(m, r, why, f, t) "
        "ON CONFLICT (firm_id, method) DO UPDATE SET irr = EXCLUDED.irr, reason = EXCLUDED.reason, "
        "from_date = EXCLUDED.from_date, to_date = EXCLUDED.to_date, as_of = EXCLUDED.as_of",
        (firm_id, as_of, [r["method"] for r in rows], [r["irr"] for r in rows], [r["reason"] for r in rows],
         [r["from"] for r in rows], [r["to"] for r in rows])).rowcount


def live_revenue(tx: Tx, group_id: UUID | None) -> dict[str, Any]:
    """Revenue now (not from the views): every active product at its latest portfolio valuation."""
    return tx.one("SELECT coalesce(sum(product_revenue(p.fixed_fee_direct, p.fixed_fee_facilitated, "
                  "p.percentage_fee_facilitated, v.value)), 0) AS revenue, count(*) AS products, "
                  "now() AS computed_at FROM products p "
                  "LEFT JOIN LATERAL (SELECT pv.value FROM portfolio_valuations pv WHERE pv.product_id = p.id "
                  "ORDER BY pv.valuation_date DESC LIMIT 1) v ON true "
                  "WHERE p.status = 'active' AND (%(g)s::uuid IS NULL OR p.client_group_id = %(g)s)", {"g": group_id})
