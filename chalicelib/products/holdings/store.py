"""SQL for products, provider switches, portfolio funds, fund valuations and cash flows (RLS scopes all).

Fund valuations and cash flows are one shape of row, dated rows of a portfolio fund: their functions take the kind
("valuation", "activity"), which names the table and its date column here and nowhere else."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from chalicelib.core import rows
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset, ListSpec

PRODUCT_COLUMNS = ("id, client_group_id, name, product_type, provider_id, plan_number, start_date, end_date, "
                   "notes, currency, fixed_fee_direct, fixed_fee_facilitated, percentage_fee_facilitated, status, "
                   "ownership, template_generation_id, created_at, updated_at, version")
PORTFOLIO_FUND_COLUMNS = ("id, product_id, fund_id, target_weighting, start_date, end_date, created_at, "
                          "updated_at, version")

PRODUCT_LIST = ListSpec("products", {"name": (("name", "text"),)}, "name")
# One portfolio valuation per product and date: the date alone orders them.
PORTFOLIO_VALUATION_LIST = ListSpec("portfolio_valuations", {"valuation_date": (("valuation_date", "date"),)},
                                    "valuation_date", tiebreak=None)


@dataclass(frozen=True)
class _Dated:
    table: str
    columns: str
    day: str  # the date column
    values: tuple[tuple[str, str], ...]  # the other columns a bulk insert writes, with their SQL types
    list_spec: ListSpec


_DATED = {
    "valuation": _Dated("fund_valuations",
                        "id, portfolio_fund_id, valuation_date, value, created_at, updated_at, version",
                        "valuation_date", (("value", "numeric"),),
                        ListSpec("fund_valuations", {"valuation_date": (("valuation_date", "date"),)},
                                 "valuation_date")),
    "activity": _Dated("holding_activity",
                       "id, portfolio_fund_id, activity_date, activity_type, amount, created_at, updated_at, version",
                       "activity_date", (("activity_type", "text"), ("amount", "numeric")),
                       ListSpec("activity", {"activity_date": (("activity_date", "date"),)}, "activity_date")),
}


# --- products ---

def get_product(tx: Tx, product_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    return rows.get(tx, "products", product_id, PRODUCT_COLUMNS, for_update=for_update)


def product_exists(tx: Tx, product_id: UUID, *, for_update: bool = False) -> bool:
    return rows.get(tx, "products", product_id, "id", for_update=for_update) is not None


def insert_product(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    return rows.insert(tx, "products", values, PRODUCT_COLUMNS)


def update_product(tx: Tx, product_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, "products", product_id, changes, PRODUCT_COLUMNS)


def delete_product(tx: Tx, product_id: UUID) -> None:
    rows.delete(tx, "products", product_id)


def list_products(tx: Tx, group_id: UUID, keyset: Keyset, *, status: str | None,
                  product_type: str | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT " + PRODUCT_COLUMNS + " FROM products WHERE client_group_id = %(g)s "
                    "AND (%(status)s::text IS NULL OR status = %(status)s) "
                    "AND (%(type)s::text IS NULL OR product_type = %(type)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"g": group_id, "status": status, "type": product_type, **keyset.params()})


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


def portfolio_valuations(tx: Tx, product_id: UUID, keyset: Keyset, from_: date | None,
                         to: date | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT valuation_date, value FROM portfolio_valuations WHERE product_id = %(p)s "
                    "AND (%(f)s::date IS NULL OR valuation_date >= %(f)s) "
                    "AND (%(t)s::date IS NULL OR valuation_date <= %(t)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"p": product_id, "f": from_, "t": to, **keyset.params()})


def copy_generation_into_portfolio(tx: Tx, product_id: UUID, generation_id: UUID, start_date: date) -> int:
    return tx.execute("INSERT INTO portfolio_funds (firm_id, product_id, fund_id, target_weighting, start_date) "
                      "SELECT current_firm_id(), %s, fund_id, target_weighting, %s FROM template_generation_funds "
                      "WHERE generation_id = %s", (product_id, start_date, generation_id)).rowcount


def last_dated_row(tx: Tx, product_id: UUID) -> date | None:
    """The date of the product's latest valuation or cash flow."""
    return tx.one("SELECT greatest((SELECT max(v.valuation_date) FROM fund_valuations v JOIN portfolio_funds pf "
                  "ON pf.id = v.portfolio_fund_id WHERE pf.product_id = %(p)s), (SELECT max(a.activity_date) "
                  "FROM holding_activity a JOIN portfolio_funds pf ON pf.id = a.portfolio_fund_id "
                  "WHERE pf.product_id = %(p)s)) AS d", {"p": product_id})["d"]


def first_fund_start(tx: Tx, product_id: UUID) -> date | None:
    return tx.one("SELECT min(start_date) AS d FROM portfolio_funds WHERE product_id = %s", (product_id,))["d"]


# --- the product's lock ---

# Every write that changes a product's funds, valuations or cash flows first takes its product's lock (FOR NO KEY
# UPDATE: writers of one product queue; foreign-key checks and readers do not wait). The derived rows (portfolio
# valuations, the stored IRR history) are computed from what the writer's statements see; without the lock, two
# writers of different funds of one product would each miss the other's uncommitted row (two valuations of one
# date, each alone: no portfolio valuation; two cash flows: a history missing one). Taken before any row lock, so
# every path locks in the same order. A portfolio fund's product never changes (trigger
# portfolio_funds_keep_product, migration 0008), so reading it unlocked is safe.
_LOCK_PRODUCT = "SELECT id FROM products WHERE id = ({}) FOR NO KEY UPDATE"


def _lock_product(tx: Tx, product_of: str, row_id: UUID) -> UUID | None:
    row = tx.one(_LOCK_PRODUCT.format(product_of), (row_id,))
    return row["id"] if row else None


def lock_product(tx: Tx, product_id: UUID) -> UUID | None:
    """Lock the product (FOR NO KEY UPDATE); None when there is no such product."""
    return _lock_product(tx, "SELECT %s::uuid", product_id)


def lock_product_of_portfolio_fund(tx: Tx, pf_id: UUID) -> UUID | None:
    """Lock the product of a portfolio fund; None when there is no such fund."""
    return _lock_product(tx, "SELECT product_id FROM portfolio_funds WHERE id = %s", pf_id)


def lock_product_of_dated(tx: Tx, kind: str, row_id: UUID) -> UUID | None:
    """Lock the product of a fund valuation or cash flow; None when there is no such row."""
    return _lock_product(tx, f"SELECT pf.product_id FROM {_DATED[kind].table} x JOIN portfolio_funds pf "
                             "ON pf.id = x.portfolio_fund_id WHERE x.id = %s", row_id)


# --- portfolio funds ---

def get_portfolio_fund(tx: Tx, pf_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    return rows.get(tx, "portfolio_funds", pf_id, PORTFOLIO_FUND_COLUMNS, for_update=for_update)


def portfolio_fund_exists(tx: Tx, pf_id: UUID) -> bool:
    return rows.get(tx, "portfolio_funds", pf_id, "id") is not None


def insert_portfolio_fund(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    return rows.insert(tx, "portfolio_funds", values, PORTFOLIO_FUND_COLUMNS)


def update_portfolio_fund(tx: Tx, pf_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, "portfolio_funds", pf_id, changes, PORTFOLIO_FUND_COLUMNS)


def delete_portfolio_fund(tx: Tx, pf_id: UUID) -> None:
    rows.delete(tx, "portfolio_funds", pf_id)


def list_portfolio_funds(tx: Tx, product_id: UUID) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {PORTFOLIO_FUND_COLUMNS} FROM portfolio_funds WHERE product_id = %s "
                  "ORDER BY start_date, created_at, id", (product_id,))


_FUND_CONTEXT = ("SELECT pf.id, pf.product_id, pf.fund_id, pf.start_date, pf.end_date, p.start_date AS "
                 "product_start, p.end_date AS product_end, f.is_cash FROM portfolio_funds pf "
                 "JOIN products p ON p.id = pf.product_id JOIN funds f ON f.id = pf.fund_id ")


def portfolio_fund_context(tx: Tx, pf_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    """The portfolio fund with what its writes need: the product's start and end and the fund's cash flag."""
    return tx.one(_FUND_CONTEXT + "WHERE pf.id = %s" + (" FOR UPDATE OF pf" if for_update else ""), (pf_id,))


def portfolio_fund_contexts(tx: Tx, product_id: UUID) -> list[dict[str, Any]]:
    """portfolio_fund_context for every fund of one product, in one query (bulk writes check them all)."""
    return tx.all(_FUND_CONTEXT + "WHERE pf.product_id = %s", (product_id,))


def dated_rows_after(tx: Tx, pf_id: UUID, day: date) -> bool:
    """Whether the portfolio fund has a valuation or a cash flow dated after `day`."""
    return tx.one("SELECT EXISTS (SELECT 1 FROM fund_valuations WHERE portfolio_fund_id = %(pf)s "
                  "AND valuation_date > %(d)s) OR EXISTS (SELECT 1 FROM holding_activity "
                  "WHERE portfolio_fund_id = %(pf)s AND activity_date > %(d)s) AS e", {"pf": pf_id, "d": day})["e"]


# --- fund valuations and cash flows: dated rows of a portfolio fund, by kind ---

def get_dated(tx: Tx, kind: str, row_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    return rows.get(tx, _DATED[kind].table, row_id, _DATED[kind].columns, for_update=for_update)


def insert_dated(tx: Tx, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    return rows.insert(tx, _DATED[kind].table, values, _DATED[kind].columns)


def update_dated(tx: Tx, kind: str, row_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, _DATED[kind].table, row_id, changes, _DATED[kind].columns)


def delete_dated(tx: Tx, kind: str, row_id: UUID) -> None:
    rows.delete(tx, _DATED[kind].table, row_id)


def dated_list_spec(kind: str) -> ListSpec:
    return _DATED[kind].list_spec


def list_dated(tx: Tx, kind: str, pf_id: UUID, keyset: Keyset, from_: date | None,
               to: date | None) -> list[dict[str, Any]]:
    """A portfolio fund's rows of the kind dated from `from_` to `to` (both included, when given)."""
    from psycopg import sql

    d = _DATED[kind]
    query = sql.SQL("SELECT " + d.columns + " FROM {table} WHERE portfolio_fund_id = %(pf)s "
                    "AND (%(f)s::date IS NULL OR {day} >= %(f)s) AND (%(t)s::date IS NULL OR {day} <= %(t)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(
        table=sql.Identifier(d.table), day=sql.Identifier(d.day), after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"pf": pf_id, "f": from_, "t": to, **keyset.params()})


def bulk_insert_dated(tx: Tx, kind: str, values: list[tuple[Any, ...]]) -> int:
    """Rows of the kind in one statement, each (portfolio fund id, date, *the kind's values): (value) for a
    valuation, (activity type, amount) for a cash flow. Returns the rows written."""
    from psycopg import sql

    d = _DATED[kind]
    columns = (("portfolio_fund_id", "uuid"), (d.day, "date"), *d.values)
    names = [f"c{i}" for i in range(len(columns))]
    query = sql.SQL("INSERT INTO {table} (firm_id, {columns}) SELECT current_firm_id(), {names} "
                    "FROM unnest({arrays}) AS u({names})").format(
        table=sql.Identifier(d.table), columns=sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns),
        names=sql.SQL(", ").join(sql.Identifier(n) for n in names),
        arrays=sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(t)) for _, t in columns))
    return tx.execute(query, tuple([v[i] for v in values] for i in range(len(columns)))).rowcount


# --- the demo's products (chalicelib/demo_products.py), in bulk ---

def bulk_insert_products(tx: Tx, products: list[tuple[Any, ...]]) -> None:
    """(id, client group, name, product type, provider, plan number, start date, fixed fee direct, fixed fee
    facilitated, percentage fee facilitated, ownership (Jsonb), template generation) each."""
    tx.execute("INSERT INTO products (id, firm_id, client_group_id, name, product_type, provider_id, plan_number, "
               "start_date, fixed_fee_direct, fixed_fee_facilitated, percentage_fee_facilitated, ownership, "
               "template_generation_id) SELECT u.i, current_firm_id(), u.g, u.n, u.t, u.p, u.pn, u.s, u.fd, u.ff, "
               "u.pf, u.o, u.tg FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::text[], %s::uuid[], %s::text[], "
               "%s::date[], %s::numeric[], %s::numeric[], %s::numeric[], %s::jsonb[], %s::uuid[]) "
               "AS u(i, g, n, t, p, pn, s, fd, ff, pf, o, tg)", tuple(list(c) for c in zip(*products, strict=False)))


def bulk_insert_portfolio_funds(tx: Tx, pfunds: list[tuple[Any, ...]]) -> None:
    """(id, product, fund, target weighting, start date) each."""
    tx.execute("INSERT INTO portfolio_funds (id, firm_id, product_id, fund_id, target_weighting, start_date) "
               "SELECT u.i, current_firm_id(), u.p, u.f, u.w, u.s FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], "
               "%s::numeric[], %s::date[]) AS u(i, p, f, w, s)", tuple(list(c) for c in zip(*pfunds, strict=False)))
