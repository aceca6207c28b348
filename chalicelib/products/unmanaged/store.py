"""SQL for unmanaged products and their valuations (RLS scopes all).

current_value and current_value_date are the database's: the latest-dated valuation, kept by the triggers of
migration 0021 whoever writes (the rule is SQL function unmanaged_current_value). Nothing here writes them.
Rates are read through SQL function fx_rate_on (0021), the one rule for "a currency's rate on a date"."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from chalicelib.core import rows
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset, ListSpec

PRODUCT_COLUMNS = ("id, client_group_id, name, kind, product_type, provider_id, ownership, currency, notes, status, "
                   "current_value, current_value_date, created_at, updated_at, version")
VALUATION_COLUMNS = "id, unmanaged_product_id, valuation_date, value, source, created_at, updated_at, version"

UNMANAGED_LIST = ListSpec("unmanaged_products", {"name": (("name", "text"),)}, "name")
VALUATION_LIST = ListSpec("unmanaged_valuations", {"valuation_date": (("valuation_date", "date"),)},
                          "valuation_date", tiebreak=None)  # one valuation per product and date

_FILTERS = ("client_group_id = %(g)s AND (%(kind)s::text IS NULL OR kind = %(kind)s) "
            "AND (%(type)s::text IS NULL OR product_type = %(type)s) "
            "AND (%(status)s::text IS NULL OR status = %(status)s) "
            "AND (%(provider)s::uuid IS NULL OR provider_id = %(provider)s) "
            "AND (%(min)s::numeric IS NULL OR current_value >= %(min)s) "
            "AND (%(max)s::numeric IS NULL OR current_value <= %(max)s)")


def _filter_params(group_id: UUID, filters: dict[str, Any]) -> dict[str, Any]:
    return {"g": group_id, "kind": filters.get("kind"), "type": filters.get("product_type"),
            "status": filters.get("status"), "provider": filters.get("provider_id"),
            "min": filters.get("min_current_value"), "max": filters.get("max_current_value")}


# --- unmanaged products ---

def get_product(tx: Tx, product_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    return rows.get(tx, "unmanaged_products", product_id, PRODUCT_COLUMNS, for_update=for_update)


def product_exists(tx: Tx, product_id: UUID) -> bool:
    return rows.get(tx, "unmanaged_products", product_id, "id") is not None


def insert_product(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    """A new product; a currency not in `values` is the firm's base currency (the column's default)."""
    return rows.insert(tx, "unmanaged_products", values, PRODUCT_COLUMNS)


def update_product(tx: Tx, product_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, "unmanaged_products", product_id, changes, PRODUCT_COLUMNS)


def delete_product(tx: Tx, product_id: UUID) -> None:
    rows.delete(tx, "unmanaged_products", product_id)


def name_taken(tx: Tx, group_id: UUID, name: str, *, other_than: UUID | None = None) -> bool:
    """Whether another unmanaged product of the household has this name, ignoring case (the unique index
    unmanaged_products_name_key has the last word)."""
    return tx.one("SELECT EXISTS (SELECT 1 FROM unmanaged_products WHERE client_group_id = %s "
                  "AND lower(name) = lower(%s) AND id IS DISTINCT FROM %s) AS e", (group_id, name, other_than))["e"]


def list_products(tx: Tx, group_id: UUID, keyset: Keyset, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """A page of the household's unmanaged products that pass the filters (kind, product_type, status,
    provider_id, min_current_value, max_current_value: a product never valued passes neither bound)."""
    from psycopg import sql

    query = sql.SQL("SELECT " + PRODUCT_COLUMNS + " FROM unmanaged_products WHERE " + _FILTERS
                    + " AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                                  order=keyset.order_by())
    return tx.all(query, {**_filter_params(group_id, filters), **keyset.params()})


def summary_by_type(tx: Tx, group_id: UUID, filters: dict[str, Any],
                    day: date) -> tuple[str, list[dict[str, Any]]] | None:
    """None when the firm has no such household. Else the firm's base currency and, over every product the filters
    select, per product type and currency: how many (`products`), the current values summed in the currency
    (`total`), the rate on `day` (`rate`, None when none) and the values each converted at it and rounded to the
    penny, summed (`total_base`, 0 without a rate). One statement (with the list's page, the list's whole cost):
    the household found or not, the rate looked up once per currency."""
    found = tx.all(
        "WITH f AS MATERIALIZED (SELECT product_type, kind, currency::text AS currency, current_value "
        "FROM unmanaged_products WHERE " + _FILTERS + "), "
        "r AS MATERIALIZED (SELECT c.currency, fx_rate_on(c.currency, %(day)s) AS rate "
        "FROM (SELECT DISTINCT currency FROM f) c), "
        "s AS (SELECT f.product_type, f.kind, f.currency, count(*) AS products, coalesce(sum(f.current_value), 0) "
        "AS total, r.rate, coalesce(sum(round(f.current_value * r.rate, 2)), 0) AS total_base "
        "FROM f JOIN r USING (currency) GROUP BY f.product_type, f.kind, f.currency, r.rate) "
        "SELECT firm_base_currency() AS base, s.* FROM client_groups g LEFT JOIN s ON true WHERE g.id = %(g)s "
        "ORDER BY s.product_type, s.currency", {**_filter_params(group_id, filters), "day": day})
    if not found:
        return None
    return found[0]["base"], [r for r in found if r["product_type"] is not None]


def has_valuations(tx: Tx, product_id: UUID) -> bool:
    return tx.one("SELECT EXISTS (SELECT 1 FROM unmanaged_valuations WHERE unmanaged_product_id = %s) AS e",
                  (product_id,))["e"]


# --- what net worth reads ---

def active_positions(tx: Tx, group_id: UUID, day: date) -> list[dict[str, Any]]:
    """The household's **active** unmanaged products (status now: history of status is in the audit trail only),
    each with its value as of `day` and what it is in the base currency, by kind then name:

    id, name, kind ('asset' | 'liability'), product_type, provider_id, currency, ownership (the stored JSON),
    value and valuation_date (its latest valuation on or before `day`; both None when it has none by then),
    rate (fx_rate_on(currency, day): 1 for the base currency, None when no rate is known by then) and
    base_value (value x rate rounded to the penny; None when either is).

    Values are never negative: a liability's value is what is owed (subtract it for a net figure). Nothing here
    applies the household's share of the ownership; the ownership is there for whoever does."""
    return tx.all(
        "SELECT u.id, u.name, u.kind, u.product_type, u.provider_id, u.currency::text AS currency, u.ownership, "
        "v.value, v.valuation_date, fx_rate_on(u.currency, %(d)s) AS rate, "
        "round(v.value * fx_rate_on(u.currency, %(d)s), 2) AS base_value "
        "FROM unmanaged_products u LEFT JOIN LATERAL (SELECT x.value, x.valuation_date FROM unmanaged_valuations x "
        "WHERE x.unmanaged_product_id = u.id AND x.valuation_date <= %(d)s ORDER BY x.valuation_date DESC LIMIT 1) v "
        "ON true WHERE u.client_group_id = %(g)s AND u.status = 'active' ORDER BY u.kind, lower(u.name), u.id",
        {"g": group_id, "d": day})


# --- valuations ---

def get_valuation(tx: Tx, valuation_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    return rows.get(tx, "unmanaged_valuations", valuation_id, VALUATION_COLUMNS, for_update=for_update)


def product_of_valuation(tx: Tx, valuation_id: UUID) -> UUID | None:
    row = tx.one("SELECT unmanaged_product_id AS p FROM unmanaged_valuations WHERE id = %s", (valuation_id,))
    return row["p"] if row else None


def insert_valuation(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    return rows.insert(tx, "unmanaged_valuations", values, VALUATION_COLUMNS)


def delete_valuation(tx: Tx, valuation_id: UUID) -> None:
    rows.delete(tx, "unmanaged_valuations", valuation_id)


def valuation_dates_taken(tx: Tx, product_id: UUID, days: list[date]) -> list[date]:
    """Which of these dates already have a valuation of the product."""
    return [r["d"] for r in tx.all("SELECT valuation_date AS d FROM unmanaged_valuations "
                                   "WHERE unmanaged_product_id = %s AND valuation_date = ANY (%s::date[]) "
                                   "ORDER BY valuation_date", (product_id, days))]


def list_valuations(tx: Tx, product_id: UUID, keyset: Keyset, from_: date | None,
                    to: date | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT " + VALUATION_COLUMNS + " FROM unmanaged_valuations WHERE unmanaged_product_id = %(p)s "
                    "AND (%(f)s::date IS NULL OR valuation_date >= %(f)s) "
                    "AND (%(t)s::date IS NULL OR valuation_date <= %(t)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"p": product_id, "f": from_, "t": to, **keyset.params()})


def bulk_insert_valuations(tx: Tx, product_id: UUID, values: list[tuple[date, Decimal, str]]) -> int:
    """(date, value, source) each, of one product, in one statement (the current value follows once, by the
    statement trigger). Returns the rows written."""
    return tx.execute("INSERT INTO unmanaged_valuations (firm_id, unmanaged_product_id, valuation_date, value, "
                      "source) SELECT current_firm_id(), %s, u.d, u.v, u.s "
                      "FROM unnest(%s::date[], %s::numeric[], %s::text[]) AS u(d, v, s)",
                      (product_id, [d for d, _, _ in values], [v for _, v, _ in values],
                       [s for _, _, s in values])).rowcount
