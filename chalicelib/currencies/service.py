"""Rules for exchange rates: one rate per currency and date, to the firm's base currency.

Writing a rate for a currency and date that has one replaces it (the same rate again changes nothing): POST is
idempotent by currency and date. The base currency has no rate (its rate is 1 by definition: 422 here, and the
database's trigger fx_rates_not_base refuses it too, migration 0021). Reading a rate is SQL function fx_rate_on
(0021): `rate_on` below and any other store's SQL use it, so there is one rule for "the rate on a date".
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.currencies import store
from chalicelib.currencies.models import FX_RATE_LIST


def _invalid(field: str, message: str) -> errors.Unprocessable:
    return errors.Unprocessable(message, errors=[{"field": field, "message": message}])


def rate_on(ctx: RequestContext, currency: str, day: date) -> Decimal | None:
    """What one unit of `currency` is worth in the firm's base currency on `day` (1 for the base currency; the
    latest rate on or before `day`; None when there is none). In a transaction already open, call
    store.rate_on(tx, currency, day) (or store.rates_on for several currencies)."""
    with db.transaction(ctx) as tx:
        return store.rate_on(tx, currency, day)


def list_rates(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(FX_RATE_LIST, query, ctx)
    with db.transaction(ctx) as tx:
        found = store.list_rates(tx, keyset, currency=query.currency, from_=query.from_, to=query.to)
    return keyset.page(found)


def _write(tx: db.Tx, items: list[Any], field: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Writes the rates (checked first, naming the item): (the rows as they were before, for those that existed;
    the rows inserted or changed)."""
    base = store.base_currency(tx)
    seen: set[tuple[str, date]] = set()
    for i, item in enumerate(items):
        where = f"{field}.{i}" if field else ""
        if item.currency == base:
            raise _invalid(f"{where}.currency" if where else "currency",
                           f"{base} is the firm's base currency: its rate is always 1")
        if (item.currency, item.rate_date) in seen:
            raise _invalid(where, "the same currency and date appear twice")
        seen.add((item.currency, item.rate_date))
    # The stored rates of these pairs, locked in (currency, date) order: what a single write reports as its
    # `before`, and one lock order for concurrent writers of overlapping batches.
    before = store.get_rates(tx, sorted(seen), for_update=True)
    written = store.upsert_rates(tx, [(i.currency, i.rate_date, i.rate) for i in items])
    return before, written


def put_rate(ctx: RequestContext, body: Any) -> tuple[dict[str, Any], bool]:
    """The rate of a currency on a date: (the row, whether it was created). A rate for that currency and date
    already stored is replaced by this one (or left as it is when equal): the audit event says which."""
    with db.transaction(ctx) as tx:
        before, written = _write(tx, [body], "")
        if written:
            row, created = written[0], written[0]["inserted"]
        else:  # the same rate again: nothing written
            row, created = before[0], False
        row = {k: v for k, v in row.items() if k != "inserted"}
        if created:
            audit.record(tx, "fx_rate.create", "fx_rate", row["id"], None, row)
        else:
            audit.record(tx, "fx_rate.update", "fx_rate", row["id"], before[0], row)
    return row, created


def put_rates(ctx: RequestContext, body: Any) -> dict[str, int]:
    """Up to 5,000 rates, all or nothing: one bad item refuses the batch, naming it. Each replaces the stored rate
    of its currency and date, if any. One audit event on the firm."""
    with db.transaction(ctx) as tx:
        _before, written = _write(tx, body.rates, "rates")
        created = sum(1 for r in written if r["inserted"])
        counts = {"written": len(body.rates), "created": created, "replaced": len(body.rates) - created}
        days = sorted(r.rate_date for r in body.rates)
        audit.record(tx, "firm.bulk_fx_rates", "firm", ctx.firm_id, None,
                     {**counts, "currencies": sorted({r.currency for r in body.rates}), "from": days[0],
                      "to": days[-1]})
    return counts
