"""SQL for exchange rates (fx_rates) and the firm's base currency (RLS scopes all).

The rule for reading a rate is SQL function fx_rate_on (migration 0021): 1 for the base currency, else the latest
rate on or before the day, NULL when there is none. Every reader goes through it, here and in other stores' SQL."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

FX_RATE_COLUMNS = "id, currency, rate_date, rate, created_at, updated_at, version"


def base_currency(tx: Tx) -> str | None:
    """The firm's base currency (firm_base_currency(), migration 0021); None outside a firm."""
    return tx.one("SELECT firm_base_currency() AS c")["c"]


def rate_on(tx: Tx, currency: str, day: date) -> Decimal | None:
    """What one unit of `currency` is worth in the firm's base currency on `day`: 1 for the base currency itself,
    else the latest rate dated on or before `day`; None when there is none (fx_rate_on, migration 0021)."""
    return tx.one("SELECT fx_rate_on(%s, %s) AS r", (currency, day))["r"]


def rates_on(tx: Tx, currencies: Iterable[str], day: date) -> dict[str, Decimal | None]:
    """rate_on for several currencies in one statement: {currency: rate or None}."""
    wanted = sorted(set(currencies))
    if not wanted:
        return {}
    return {r["c"]: r["r"] for r in tx.all("SELECT c, fx_rate_on(c, %s) AS r FROM unnest(%s::text[]) AS c",
                                           (day, wanted))}


def list_rates(tx: Tx, keyset: Keyset, *, currency: str | None, from_: date | None,
               to: date | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT " + FX_RATE_COLUMNS + " FROM fx_rates "
                    "WHERE (%(c)s::text IS NULL OR currency = %(c)s) "
                    "AND (%(f)s::date IS NULL OR rate_date >= %(f)s) AND (%(t)s::date IS NULL OR rate_date <= %(t)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"c": currency, "f": from_, "t": to, **keyset.params()})


def get_rates(tx: Tx, pairs: list[tuple[str, date]], *, for_update: bool = False) -> list[dict[str, Any]]:
    """The stored rates of these (currency, date) pairs (those that exist), locked when asked."""
    return tx.all("SELECT " + FX_RATE_COLUMNS + " FROM fx_rates r WHERE (r.currency, r.rate_date) IN "
                  "(SELECT * FROM unnest(%s::text[], %s::date[])) ORDER BY r.currency, r.rate_date"
                  + (" FOR UPDATE" if for_update else ""), ([c for c, _ in pairs], [d for _, d in pairs]))


def upsert_rates(tx: Tx, rates: list[tuple[str, date, Decimal]]) -> list[dict[str, Any]]:
    """Each (currency, date, rate) written in one statement: a new row, or the stored rate of that currency and date
    replaced (its version bumped) when it differs; one equal to the stored rate is left as it is. Returns the rows
    inserted or changed, each with `inserted` (true: new)."""
    return tx.all(
        "INSERT INTO fx_rates (firm_id, currency, rate_date, rate) SELECT current_firm_id(), u.c, u.d, u.r "
        "FROM unnest(%s::text[], %s::date[], %s::numeric[]) AS u(c, d, r) "
        "ON CONFLICT ON CONSTRAINT fx_rates_currency_date_key DO UPDATE SET rate = excluded.rate, "
        "version = fx_rates.version + 1 WHERE fx_rates.rate IS DISTINCT FROM excluded.rate "
        "RETURNING " + FX_RATE_COLUMNS + ", version = 1 AS inserted",
        ([c for c, _, _ in rates], [d for _, d, _ in rates], [r for _, _, r in rates]))
