"""SQL for products, provider switches, portfolio funds, fund valuations and cash flows (RLS scopes all)."""
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


