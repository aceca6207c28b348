"""SQL for a household's overview: everything the screen shows, in one statement (RLS scopes it to the firm).

The statement answers one row per item, its `kind` saying which: one `group` row (none when the client group is
not visible: another firm's, or no such id), then one `product` row per product of the group and one `fund` row
per portfolio fund of those products. Each kind fills the columns it has and leaves the others null.

- A product row carries its fees, ownership (as stored) with its owners' names, provider, template and generation,
  its latest complete valuation (the end of its whole-life IRR: portfolio_valuations, migrations 0004, 0010 and
  0013) and its investor flows up to that date, netted per date (product_flows, migration 0008).
- A fund row carries the catalogue fund's name, ISIN and cash flag, its dates and whether it ended before today
  (`ended`: a portfolio fund is active from its start to its end date, both included), its latest valuation, its
  cash flows summed by what they are (money in: investment, regular investment, tax uplift; money out: withdrawal,
  regular withdrawal; switches in and out; activity_sign of migration 0004 says which way each type goes), and
  its investor flows netted per date up to its latest valuation, as the portfolio fund IRR reads them.
- The group row carries `today` (the server's current date, which decides `ended`) and `version`: a digest of the
  identity (id and xmin, which every insert and update gives a row anew) of every row the overview is made of or
  that could change it (the group, its products and their providers, template generations and templates and named
  owners, the portfolio funds and their catalogue funds, all their fund valuations and cash flows) and of how many
  there are (a delete), with `today`. Any write to any of them gives another version, whoever wrote it (the API, a
  bulk load, raw SQL); the derived rows (portfolio valuations, product flows) follow from these by trigger.

Every row is found through an index from the row that names it (a lateral subquery per product, portfolio fund
or owner, kept from being flattened by OFFSET 0): the household's portfolio funds by product, their cash flows and
valuations by fund (and date), catalogue rows and owners by id, whatever the planner guesses of the firm's tables.

IRR inputs are whole-life (no `from`, no `to`): each holding ends at its latest valuation and has no start
valuation; a holding never valued has no end (`value_date` null) and no flows here.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx

# One row's contribution to the version: a 64-bit hash of its id seeded with its xmin (the transaction that wrote
# this version of the row). Summed per table as numeric (no overflow), order does not matter.
_ROW_HASH = "hashtextextended({t}.id::text, {t}.xmin::text::bigint)"

# (column, SQL type) of the answer, in order; each kind's SELECT gives some of them, NULL of that type the others.
_COLUMNS = (
    ("kind", "text"), ("rank", "int"), ("id", "uuid"), ("parent_id", "uuid"), ("name", "text"),
    ("status", "text"), ("start_date", "date"), ("end_date", "date"),
    ("product_type", "text"), ("plan_number", "text"), ("currency", "text"),
    ("provider_id", "uuid"), ("provider_name", "text"),
    ("template_generation_id", "uuid"), ("generation", "int"), ("generation_name", "text"),
    ("template_id", "uuid"), ("template_name", "text"),
    ("fixed_fee_direct", "numeric"), ("fixed_fee_facilitated", "numeric"), ("percentage_fee_facilitated", "numeric"),
    ("ownership", "jsonb"), ("owners", "jsonb"),
    ("fund_id", "uuid"), ("isin", "text"), ("is_cash", "boolean"), ("target_weighting", "numeric"),
    ("ended", "boolean"),
    ("value_date", "date"), ("value", "numeric"),
    ("invested", "numeric"), ("withdrawn", "numeric"), ("switched_in", "numeric"), ("switched_out", "numeric"),
    ("flow_dates", "date[]"), ("flow_amounts", "numeric[]"),
    ("today", "date"), ("version", "text"),
)


def _select(given: dict[str, str]) -> str:
    unknown = set(given) - {c for c, _ in _COLUMNS}
    if unknown:
        raise ValueError(f"not a column of the overview: {sorted(unknown)}")
    return "SELECT " + ", ".join(f"{given[c]} AS {c}" if c in given else f"NULL::{t} AS {c}" for c, t in _COLUMNS)


_CTES = """WITH g AS MATERIALIZED (
    SELECT g.id, g.name, g.status, {g_hash} AS h FROM client_groups g WHERE g.id = %(id)s
), p AS MATERIALIZED (
    SELECT p.id, p.name, p.product_type, p.provider_id, p.plan_number, p.start_date, p.end_date, p.currency,
           p.fixed_fee_direct, p.fixed_fee_facilitated, p.percentage_fee_facilitated, p.status, p.ownership,
           p.template_generation_id, {p_hash} AS h
    FROM products p WHERE p.client_group_id = %(id)s
), pf AS MATERIALIZED (
    SELECT pf.id, pf.product_id, pf.fund_id, pf.target_weighting, pf.start_date, pf.end_date, f.name, f.isin,
           f.is_cash, pf.pf_h # {f_hash} AS h
    FROM p CROSS JOIN LATERAL (
        SELECT pf.id, pf.product_id, pf.fund_id, pf.target_weighting, pf.start_date, pf.end_date, {pf_hash} AS pf_h
        FROM portfolio_funds pf WHERE pf.product_id = p.id OFFSET 0) pf
    CROSS JOIN LATERAL (SELECT f.id, f.xmin, f.name, f.isin, f.is_cash FROM funds f WHERE f.id = pf.fund_id
                        OFFSET 0) f
), a AS MATERIALIZED (
    SELECT a.portfolio_fund_id AS holder, a.activity_date AS day, a.activity_type AS type, a.amount,
           activity_sign(a.activity_type) AS sign, {a_hash} AS h
    FROM pf CROSS JOIN LATERAL (SELECT a.*, a.xmin FROM holding_activity a WHERE a.portfolio_fund_id = pf.id
                                OFFSET 0) a
), fund_end AS MATERIALIZED (
    SELECT pf.id, e.d, e.value FROM pf
    LEFT JOIN LATERAL (SELECT v.valuation_date AS d, v.value FROM fund_valuations v WHERE v.portfolio_fund_id = pf.id
                       ORDER BY v.valuation_date DESC LIMIT 1) e ON true
), fund_sums AS (
    SELECT holder,
           sum(amount) FILTER (WHERE sign < 0 AND type <> 'switch_in') AS invested,
           sum(amount) FILTER (WHERE sign > 0 AND type <> 'switch_out') AS withdrawn,
           sum(amount) FILTER (WHERE type = 'switch_in') AS switched_in,
           sum(amount) FILTER (WHERE type = 'switch_out') AS switched_out
    FROM a GROUP BY holder
), fund_flows AS (
    SELECT n.holder, array_agg(n.day ORDER BY n.day) AS flow_dates, array_agg(n.amount ORDER BY n.day) AS flow_amounts
    FROM (SELECT holder, day, sum(amount * sign)::numeric AS amount FROM a WHERE sign <> 0 GROUP BY holder, day) n
    JOIN fund_end e ON e.id = n.holder AND n.day <= e.d
    GROUP BY n.holder
), product_end AS MATERIALIZED (
    SELECT p.id, e.d, e.value FROM p
    LEFT JOIN LATERAL (SELECT v.valuation_date AS d, v.value FROM portfolio_valuations v WHERE v.product_id = p.id
                       ORDER BY v.valuation_date DESC LIMIT 1) e ON true
), product_flows_of AS (
    SELECT f.product_id, array_agg(f.flow_date ORDER BY f.flow_date) AS flow_dates,
           array_agg(f.amount ORDER BY f.flow_date) AS flow_amounts
    FROM product_end e JOIN product_flows f ON f.product_id = e.id AND f.flow_date <= e.d
    GROUP BY f.product_id
), catalogue AS (
    SELECT p.id AS product_id, pr.name AS provider_name, tg.generation, tg.name AS generation_name,
           t.id AS template_id, t.name AS template_name,
           coalesce({pr_hash}, 0) # coalesce({tg_hash}, 0) # coalesce({t_hash}, 0) AS h
    FROM p
    LEFT JOIN LATERAL (SELECT pr.id, pr.xmin, pr.name FROM providers pr WHERE pr.id = p.provider_id OFFSET 0) pr
        ON true
    LEFT JOIN LATERAL (SELECT tg.id, tg.xmin, tg.generation, tg.name, tg.template_id FROM template_generations tg
                       WHERE tg.id = p.template_generation_id OFFSET 0) tg ON true
    LEFT JOIN LATERAL (SELECT t.id, t.xmin, t.name FROM portfolio_templates t WHERE t.id = tg.template_id
                       OFFSET 0) t ON true
), owners AS (
    SELECT p.id AS product_id,
           jsonb_agg(jsonb_build_object('id', o.id, 'name', coalesce(o.known_as, o.first_name) || ' ' || o.surname)
                     ORDER BY u.n) AS owners,
           sum({o_hash}) AS h
    FROM p CROSS JOIN LATERAL unnest(ownership_owner_ids(p.ownership)) WITH ORDINALITY AS u(owner_id, n)
    CROSS JOIN LATERAL (SELECT o.id, o.xmin, o.known_as, o.first_name, o.surname FROM product_owners o
                        WHERE o.id = u.owner_id OFFSET 0) o
    GROUP BY p.id
)"""

_VERSION = """md5(concat_ws(':', current_date, g.h,
    (SELECT count(*) || '/' || coalesce(sum(h), 0) FROM p),
    (SELECT count(*) || '/' || coalesce(sum(h), 0) FROM pf),
    (SELECT count(*) || '/' || coalesce(sum(h), 0) FROM a),
    (SELECT count(*) || '/' || coalesce(sum(h), 0) FROM catalogue),
    (SELECT count(*) || '/' || coalesce(sum(h), 0) FROM owners),
    (SELECT count(*) || '/' || coalesce(sum({v_hash}), 0) FROM pf
     CROSS JOIN LATERAL (SELECT v.id, v.xmin FROM fund_valuations v WHERE v.portfolio_fund_id = pf.id
                         OFFSET 0) v)))""".format(
    v_hash=_ROW_HASH.format(t="v"))

_GROUP = _select({"kind": "'group'", "rank": "0", "id": "g.id", "name": "g.name", "status": "g.status",
                  "today": "current_date", "version": _VERSION}) + " FROM g"

_PRODUCTS = _select({
    "kind": "'product'", "rank": "1", "id": "p.id", "name": "p.name", "status": "p.status",
    "start_date": "p.start_date", "end_date": "p.end_date", "product_type": "p.product_type",
    "plan_number": "p.plan_number", "currency": "p.currency::text", "provider_id": "p.provider_id",
    "provider_name": "c.provider_name", "template_generation_id": "p.template_generation_id",
    "generation": "c.generation", "generation_name": "c.generation_name", "template_id": "c.template_id",
    "template_name": "c.template_name", "fixed_fee_direct": "p.fixed_fee_direct",
    "fixed_fee_facilitated": "p.fixed_fee_facilitated",
    "percentage_fee_facilitated": "p.percentage_fee_facilitated", "ownership": "p.ownership",
    "owners": "coalesce(o.owners, '[]'::jsonb)", "value_date": "e.d", "value": "e.value",
    "flow_dates": "fl.flow_dates", "flow_amounts": "fl.flow_amounts",
}) + """ FROM p JOIN catalogue c ON c.product_id = p.id JOIN product_end e ON e.id = p.id
LEFT JOIN owners o ON o.product_id = p.id LEFT JOIN product_flows_of fl ON fl.product_id = p.id"""

_FUNDS = _select({
    "kind": "'fund'", "rank": "2", "id": "pf.id", "parent_id": "pf.product_id", "name": "pf.name",
    "start_date": "pf.start_date", "end_date": "pf.end_date", "fund_id": "pf.fund_id", "isin": "pf.isin",
    "is_cash": "pf.is_cash", "target_weighting": "pf.target_weighting",
    "ended": "coalesce(pf.end_date < current_date, false)", "value_date": "e.d", "value": "e.value",
    "invested": "coalesce(s.invested, 0)", "withdrawn": "coalesce(s.withdrawn, 0)",
    "switched_in": "coalesce(s.switched_in, 0)", "switched_out": "coalesce(s.switched_out, 0)",
    "flow_dates": "fl.flow_dates", "flow_amounts": "fl.flow_amounts",
}) + """ FROM pf JOIN fund_end e ON e.id = pf.id LEFT JOIN fund_sums s ON s.holder = pf.id
LEFT JOIN fund_flows fl ON fl.holder = pf.id"""

# The group row first, then products (active before lapsed, then by start date and name), then portfolio funds
# (by start date and fund name).
OVERVIEW_SQL = (_CTES.format(
    g_hash=_ROW_HASH.format(t="g"), p_hash=_ROW_HASH.format(t="p"), pf_hash=_ROW_HASH.format(t="pf"),
    f_hash=_ROW_HASH.format(t="f"), a_hash=_ROW_HASH.format(t="a"), pr_hash=_ROW_HASH.format(t="pr"),
    tg_hash=_ROW_HASH.format(t="tg"), t_hash=_ROW_HASH.format(t="t"), o_hash=_ROW_HASH.format(t="o"))
    + "\nSELECT * FROM (\n" + _GROUP
    + "\nUNION ALL\n" + _PRODUCTS + "\nUNION ALL\n" + _FUNDS + "\n) x\n"
    + "ORDER BY x.rank, x.status = 'lapsed', x.start_date, x.name, x.id")


def overview_rows(tx: Tx, group_id: UUID) -> list[dict[str, Any]]:
    """The overview's rows (see above): the group row first (none when the group is not visible), then products,
    then portfolio funds. One statement."""
    return tx.all(OVERVIEW_SQL, {"id": group_id})
