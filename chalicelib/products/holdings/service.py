"""Rules for products, their portfolio funds, fund valuations and cash flows.

Each public function is one audited transaction. Valuation and cash-flow writes keep the derived data in step in
the same transaction: the database's statement triggers rewrite the portfolio valuations of the dates touched
(migration 0013), and the service the stored IRR history from the earliest date touched onward (never the whole
history).

Some rules are also (or only) kept by the database, whoever writes; the functions that rely on one name it:
- which activity types are investor flows: SQL function activity_sign (migration 0004): investment,
  regular_investment, tax_uplift and switch_in are money in, withdrawal, regular_withdrawal and switch_out money
  out, fee and dividend neither;
- product_flows, each product's investor flows netted per date, kept in step with holding_activity by the
  statement triggers holding_activity_flows_* (migration 0008; product_flows_add made one statement in 0009);
- a complete (portfolio) valuation: SQL function refresh_portfolio_valuations (0004, replaced in 0010): a product
  has one on a date exactly when every non-cash fund active that day is valued, or, with none active, when a fund
  is valued that day; it sums the fund valuations of the date; the statement triggers *_aggregate_* on
  fund_valuations, portfolio_funds and funds call it for what each statement touched (0013);
- a portfolio fund never moves to another product: trigger portfolio_funds_keep_product (0008);
- dates nest (0010): fund valuations and cash flows within their fund's start and end and not after the
  product's end (statement triggers fund_valuations_dates_* and holding_activity_dates_*, function
  fund_rows_within_fund_dates); a portfolio fund not before its product and around its own rows (trigger
  portfolio_funds_dates); a product's start not after its funds' (products_start_before_funds) and its end not
  before their rows (products_end_after_rows).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from chalicelib.clients import store as clients_store
from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.core.versioning import patch_row
from chalicelib.products.catalogue import store as catalogue_store
from chalicelib.products.holdings import store
from chalicelib.products.holdings.models import (
    NULLABLE_PRODUCT_FIELDS,
    ownership_document,
    ownership_owner_ids,
)
from chalicelib.products.performance.service import recompute_irr_history


def _invalid(field: str, message: str) -> errors.Unprocessable:
    return errors.Unprocessable(message, errors=[{"field": field, "message": message}])


def _no_product() -> errors.NotFound:
    return errors.NotFound("No such product")


# --- products ---

def check_owners(tx: db.Tx, group_id: UUID, ownership: Any) -> None:
    """Every owner named must belong to the group: said here first (422), and kept by the database whoever writes
    (trigger function products_check_owners, migrations 0004, 0006 and 0021; removing a member a product names is
    refused by membership_products_check). The one check of an ownership against its household: unmanaged products
    call it too (their table has the same trigger)."""
    outside = store.owners_outside_group(tx, group_id, ownership_owner_ids(ownership))
    if outside:
        raise _invalid("ownership", "every owner must belong to the client group; not in it: "
                       + ", ".join(map(str, outside)))


def list_products(ctx: RequestContext, group_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(store.PRODUCT_LIST, query, ctx)
    with db.transaction(ctx) as tx:
        if clients_store.get_group(tx, group_id) is None:
            raise errors.NotFound("No such client group")
        found = store.list_products(tx, group_id, keyset, status=query.status, product_type=query.product_type)
    return keyset.page(found)


def create_product(ctx: RequestContext, group_id: UUID, body: Any) -> dict[str, Any]:
    """A product, with its portfolio copied from a template generation when one is named (its funds start with
    the product, so the date nesting of migration 0010 holds)."""
    values = body.model_dump(exclude={"ownership"})
    values["ownership"] = _jsonb(ownership_document(body.ownership))
    values["client_group_id"] = group_id
    with db.transaction(ctx) as tx:
        if clients_store.get_group(tx, group_id, for_update=True) is None:
            raise errors.NotFound("No such client group")
        check_owners(tx, group_id, body.ownership)
        if body.provider_id and not catalogue_store.item_exists(tx, "provider", body.provider_id):
            raise _invalid("provider_id", "no such provider")
        if body.template_generation_id and not catalogue_store.generation_exists(tx, body.template_generation_id):
            raise _invalid("template_generation_id", "no such template generation")
        row = store.insert_product(tx, values)
        copied = 0
        if body.template_generation_id:
            copied = store.copy_generation_into_portfolio(tx, row["id"], body.template_generation_id,
                                                          body.start_date)
        audit.record(tx, "product.create", "product", row["id"], None, {**row, "portfolio_funds_copied": copied})
    return row


def _jsonb(document: dict[str, Any]) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(document)


def get_product(ctx: RequestContext, product_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_product(tx, product_id)
    if row is None:
        raise _no_product()
    return row


def update_product(ctx: RequestContext, product_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    """A change of provider is kept in the switch history. Dates keep their nesting (migration 0010): the start
    not after a portfolio fund's (trigger products_start_before_funds), the end not before a valuation or cash
    flow (products_end_after_rows); said here first with the field named. Owners must stay in the group
    (trigger products_owners_in_group)."""

    def stored(changes: dict[str, Any]) -> dict[str, Any]:
        if "ownership" in changes:  # as the product holds it, to compare with what it holds
            changes["ownership"] = ownership_document(body.ownership)
        return changes

    def check(before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        start, end = changes.get("start_date", before["start_date"]), changes.get("end_date", before["end_date"])
        if end is not None and end < start:
            raise _invalid("end_date", "end_date must not be before start_date")
        if changes.get("end_date") is not None:
            last = store.last_dated_row(tx, product_id)
            if last is not None and last > changes["end_date"]:
                raise _invalid("end_date", f"the product has a valuation or cash flow on {last}, after that date")
        if "start_date" in changes:
            # Valuations and cash flows fall within their fund's dates (the database checks it too, migration
            # 0010), so the funds' starts bound everything dated in the product.
            first = store.first_fund_start(tx, product_id)
            if first is not None and first < start:
                raise _invalid("start_date", f"a portfolio fund of the product starts on {first}, before that date")
        if "ownership" in changes:
            # The group's lock, as removing a member takes it: a member cannot leave while a product names them.
            clients_store.get_group(tx, before["client_group_id"], for_update=True)
            check_owners(tx, before["client_group_id"], body.ownership)
            changes["ownership"] = _jsonb(changes["ownership"])
        if "provider_id" in changes:
            if changes["provider_id"] and not catalogue_store.item_exists(tx, "provider", changes["provider_id"]):
                raise _invalid("provider_id", "no such provider")
            store.insert_provider_switch(tx, product_id, before["provider_id"], changes["provider_id"])
        return changes

    with db.transaction(ctx) as tx:
        return patch_row(tx, product_id, body, if_match, resource="product", what="product",
                         get=store.get_product, update=store.update_product, nullable=NULLABLE_PRODUCT_FIELDS,
                         stored=stored, check=check)


def delete_product(ctx: RequestContext, product_id: UUID) -> None:
    with db.transaction(ctx) as tx:
        before = store.get_product(tx, product_id, for_update=True)
        if before is None:
            raise _no_product()
        if store.list_portfolio_funds(tx, product_id):
            raise errors.Conflict("The product has portfolio funds; delete them first, or lapse the product")
        store.delete_product(tx, product_id)
        audit.record(tx, "product.delete", "product", product_id, before, None)


def set_product_status(ctx: RequestContext, product_id: UUID, status: str) -> dict[str, Any]:
    """Lapse (only when the current value is 0) or reactivate.

    The current value is known to be 0 when the latest complete valuation (a portfolio valuation: every non-cash
    fund valued that day, SQL function refresh_portfolio_valuations, migrations 0004 and 0010) is 0, no investor
    cash flow follows it (product_flows, kept by the triggers of migrations 0008 and 0009; investor flows are the
    activity types activity_sign, 0004, does not map to 0: fees and dividends are not), and no fund is valued at
    more than 0 after it."""
    with db.transaction(ctx) as tx:
        before = store.get_product(tx, product_id, for_update=True)
        if before is None:
            raise _no_product()
        if before["status"] == status:
            raise errors.Conflict(f"The product is already {status}")
        if status == "lapsed":
            latest = store.latest_portfolio_valuation(tx, product_id)
            if latest is not None and latest["value"] != 0:
                raise errors.Conflict(f"A product can lapse only at a value of 0; its latest valuation is "
                                      f"{latest['value']} on {latest['valuation_date']}")
            if store.has_investor_flows(tx, product_id, latest["valuation_date"] if latest else None):
                raise errors.Conflict("A product can lapse only at a value of 0; it has cash flows after its last "
                                      "complete valuation (or none at all), so its current value is unknown: "
                                      "value it at 0 first")
            later = store.fund_valued_after(tx, product_id, latest["valuation_date"] if latest else None)
            if later is not None:
                raise errors.Conflict(f"A product can lapse only at a value of 0; a fund is valued at "
                                      f"{later['value']} on {later['valuation_date']}, after its last complete "
                                      f"valuation: value every fund on one date first")
        after = store.update_product(tx, product_id, {"status": status})
        audit.record(tx, "product.lapse" if status == "lapsed" else "product.reactivate", "product", product_id,
                     before, after)
    return after


def provider_switches(ctx: RequestContext, product_id: UUID) -> list[dict[str, Any]]:
    with db.transaction(ctx) as tx:
        if not store.product_exists(tx, product_id):
            raise _no_product()
        return store.provider_switches(tx, product_id)


def portfolio_valuations(ctx: RequestContext, product_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The product's complete valuations by date (one a date): the dates on which every non-cash fund active that
    day was valued, each the sum of its fund valuations (SQL function refresh_portfolio_valuations, migrations
    0004 and 0010, run by the triggers of 0013 on every write of the product's funds and valuations)."""
    keyset = Keyset.parse(store.PORTFOLIO_VALUATION_LIST, query, ctx)
    with db.transaction(ctx) as tx:
        if not store.product_exists(tx, product_id):
            raise _no_product()
        found = store.portfolio_valuations(tx, product_id, keyset, query.from_, query.to)
    return keyset.page(found)


# --- portfolio funds ---

def list_portfolio_funds(ctx: RequestContext, product_id: UUID) -> list[dict[str, Any]]:
    with db.transaction(ctx) as tx:
        if not store.product_exists(tx, product_id):
            raise _no_product()
        return store.list_portfolio_funds(tx, product_id)


def add_portfolio_fund(ctx: RequestContext, product_id: UUID, body: Any) -> dict[str, Any]:
    """A fund starts on or after its product (trigger portfolio_funds_dates, migration 0010, refuses it from raw
    SQL too). A new non-cash fund takes the product's complete valuations (refresh_portfolio_valuations) away from
    its dates until it is valued too."""
    with db.transaction(ctx) as tx:
        product = store.get_product(tx, product_id, for_update=True)
        if product is None:
            raise _no_product()
        if not catalogue_store.item_exists(tx, "fund", body.fund_id):
            raise _invalid("fund_id", "no such fund")
        if body.start_date < product["start_date"]:
            raise _invalid("start_date", "a fund cannot start before its product")
        row = store.insert_portfolio_fund(tx, {"product_id": product_id, **body.model_dump()})
        recompute_irr_history(tx, product_id, body.start_date)
        audit.record(tx, "portfolio_fund.create", "portfolio_fund", row["id"], None, row)
    return row


def update_portfolio_fund(ctx: RequestContext, pf_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    """A change of weighting, or the fund's end. The end cannot come before its start (a CHECK of migration 0004)
    or before its valuations and cash flows (trigger portfolio_funds_dates, migration 0010). Which funds are active
    on a date decides which dates have a complete valuation (refresh_portfolio_valuations, 0004 and 0010), so a new
    end rewrites them (the portfolio-fund triggers of migration 0013) and the IRR history from the earlier end. The
    fund stays in its product (trigger portfolio_funds_keep_product, 0008): its product's lock is taken first."""

    def check(before: dict[str, Any], changes: dict[str, Any]) -> None:
        if changes.get("end_date") is not None and changes["end_date"] < before["start_date"]:
            raise _invalid("end_date", "a fund cannot end before it starts")
        if changes.get("end_date") is not None and store.dated_rows_after(tx, pf_id, changes["end_date"]):
            raise _invalid("end_date", "the fund has valuations or cash flows after this date")

    def then(before: dict[str, Any], after: dict[str, Any]) -> None:
        if before["end_date"] != after["end_date"]:  # which funds are active decides which dates are valued
            ends = [d for d in (before["end_date"], after["end_date"]) if d is not None]
            recompute_irr_history(tx, before["product_id"], min(ends))

    with db.transaction(ctx) as tx:
        store.lock_product_of_portfolio_fund(tx, pf_id)
        return patch_row(tx, pf_id, body, if_match, resource="portfolio_fund", what="portfolio fund",
                         get=store.get_portfolio_fund, update=store.update_portfolio_fund,
                         nullable=frozenset({"target_weighting", "end_date"}), check=check, then=then)


def delete_portfolio_fund(ctx: RequestContext, pf_id: UUID) -> None:
    """Only a fund with no valuations and no activity can go (409 from their foreign keys otherwise): end it to
    keep its history."""
    with db.transaction(ctx) as tx:
        store.lock_product_of_portfolio_fund(tx, pf_id)
        before = store.get_portfolio_fund(tx, pf_id, for_update=True)
        if before is None:
            raise errors.NotFound("No such portfolio fund")
        store.delete_portfolio_fund(tx, pf_id)
        recompute_irr_history(tx, before["product_id"], before["start_date"])
        audit.record(tx, "portfolio_fund.delete", "portfolio_fund", pf_id, before, None)


# --- fund valuations and cash flows: dated rows of a portfolio fund, one implementation ---

@dataclass(frozen=True)
class _Kind:
    """What sets fund valuations and cash flows apart; everything else about them is written once below."""

    kind: str  # the store's
    resource: str  # audit resource type
    what: str  # "No such <what>"
    noun: str  # "no <noun> before it"
    day: str  # the date field
    bulk_field: str  # the bulk body's list
    bulk_action: str  # the bulk write's audit action (on the product)
    bulk_row: Callable[[Any], tuple[Any, ...]]  # a bulk item as store.bulk_insert_dated takes it
    # Also refused before the product's start (cash flows always were; a valuation only before its fund's start,
    # which since migration 0010 is not before the product's either).
    not_before_product: bool = False
    one_a_day: bool = False  # a unique key of the table: a bulk write names the second row (422), not a 409
    bulk_audit_to: bool = False  # the bulk audit event names the last date too


_VALUATION = _Kind(kind="valuation", resource="fund_valuation", what="fund valuation", noun="valuation",
                   day="valuation_date", bulk_field="valuations", bulk_action="product.bulk_valuations",
                   bulk_row=lambda v: (v.portfolio_fund_id, v.valuation_date, v.value),
                   one_a_day=True, bulk_audit_to=True)
_ACTIVITY = _Kind(kind="activity", resource="activity", what="activity", noun="cash flow", day="activity_date",
                  bulk_field="activities", bulk_action="product.bulk_activity",
                  bulk_row=lambda a: (a.portfolio_fund_id, a.activity_date, a.activity_type, a.amount),
                  not_before_product=True)


def _portfolio_fund(tx: db.Tx, pf_id: UUID) -> dict[str, Any]:
    pf = store.portfolio_fund_context(tx, pf_id, for_update=True)
    if pf is None:
        raise errors.NotFound("No such portfolio fund")
    return pf


def _check_day(k: _Kind, pf: dict[str, Any], day: date, field: str) -> None:
    """Within the fund's dates and not after the product's end: said here first, with the field named; the
    database refuses the same (fund_rows_within_fund_dates, migration 0010)."""
    if k.not_before_product and day < pf["product_start"]:
        raise _invalid(field, f"the product started on {pf['product_start']}; no {k.noun} before it")
    if day < pf["start_date"]:
        raise _invalid(field, f"the fund starts on {pf['start_date']}; no {k.noun} before it")
    if pf["end_date"] is not None and day > pf["end_date"]:
        raise _invalid(field, f"the fund ended on {pf['end_date']}; no {k.noun} after it")
    if pf["product_end"] is not None and day > pf["product_end"]:
        raise _invalid(field, f"the product ended on {pf['product_end']}; no {k.noun} after it")


def _list_dated(ctx: RequestContext, k: _Kind, pf_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(store.dated_list_spec(k.kind), query, ctx)
    with db.transaction(ctx) as tx:
        if not store.portfolio_fund_exists(tx, pf_id):
            raise errors.NotFound("No such portfolio fund")
        found = store.list_dated(tx, k.kind, pf_id, keyset, query.from_, query.to)
    return keyset.page(found)


def _add_dated(ctx: RequestContext, k: _Kind, pf_id: UUID, body: Any) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        store.lock_product_of_portfolio_fund(tx, pf_id)
        pf = _portfolio_fund(tx, pf_id)
        day = getattr(body, k.day)
        _check_day(k, pf, day, k.day)
        row = store.insert_dated(tx, k.kind, {"portfolio_fund_id": pf_id, **body.model_dump()})
        recompute_irr_history(tx, pf["product_id"], day)
        audit.record(tx, f"{k.resource}.create", k.resource, row["id"], None, row)
    return row


def _update_dated(ctx: RequestContext, k: _Kind, row_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    def check(before: dict[str, Any], changes: dict[str, Any]) -> None:
        pf = _portfolio_fund(tx, before["portfolio_fund_id"])
        if k.day in changes:
            _check_day(k, pf, changes[k.day], k.day)

    with db.transaction(ctx) as tx:
        # The product of the row, locked; the row's fund never moves to another product (migration 0008).
        product_id = store.lock_product_of_dated(tx, k.kind, row_id)
        return patch_row(tx, row_id, body, if_match, resource=k.resource, what=k.what,
                         get=lambda tx, i, **lock: store.get_dated(tx, k.kind, i, **lock),
                         update=lambda tx, i, changes: store.update_dated(tx, k.kind, i, changes), check=check,
                         then=lambda before, after: recompute_irr_history(tx, product_id,
                                                                          min(before[k.day], after[k.day])))


def _delete_dated(ctx: RequestContext, k: _Kind, row_id: UUID) -> None:
    with db.transaction(ctx) as tx:
        product_id = store.lock_product_of_dated(tx, k.kind, row_id)
        before = store.get_dated(tx, k.kind, row_id, for_update=True)
        if before is None:
            raise errors.NotFound(f"No such {k.what}")
        _portfolio_fund(tx, before["portfolio_fund_id"])  # locked, as every write of its rows locks it
        store.delete_dated(tx, k.kind, row_id)
        recompute_irr_history(tx, product_id, before[k.day])
        audit.record(tx, f"{k.resource}.delete", k.resource, row_id, before, None)


def _bulk_dated(ctx: RequestContext, k: _Kind, product_id: UUID, body: Any) -> int:
    """All or nothing: one bad row refuses the whole batch, naming the row."""
    items = getattr(body, k.bulk_field)
    with db.transaction(ctx) as tx:
        if not store.product_exists(tx, product_id, for_update=True):
            raise _no_product()
        funds = {pf["id"]: pf for pf in store.portfolio_fund_contexts(tx, product_id)}
        seen: set[tuple[UUID, date]] = set()
        for i, item in enumerate(items):
            pf = funds.get(item.portfolio_fund_id)
            if pf is None:
                raise _invalid(f"{k.bulk_field}.{i}.portfolio_fund_id", "not a fund of this product")
            day = getattr(item, k.day)
            _check_day(k, pf, day, f"{k.bulk_field}.{i}.{k.day}")
            if k.one_a_day:
                if (item.portfolio_fund_id, day) in seen:
                    raise _invalid(f"{k.bulk_field}.{i}", "the same fund and date appear twice")
                seen.add((item.portfolio_fund_id, day))
        written = store.bulk_insert_dated(tx, k.kind, [k.bulk_row(item) for item in items])
        dates = sorted({getattr(item, k.day) for item in items})
        recompute_irr_history(tx, product_id, min(dates))
        summary = {"written": written, "from": dates[0], **({"to": dates[-1]} if k.bulk_audit_to else {})}
        audit.record(tx, k.bulk_action, "product", product_id, None, summary)
    return written


def list_valuations(ctx: RequestContext, pf_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    return _list_dated(ctx, _VALUATION, pf_id, query)


def add_valuation(ctx: RequestContext, pf_id: UUID, body: Any) -> dict[str, Any]:
    """A fund valuation within the fund's dates (migration 0010). With it, the date has a complete valuation when
    every other non-cash fund active that day is valued too (refresh_portfolio_valuations, 0004 and 0010)."""
    return _add_dated(ctx, _VALUATION, pf_id, body)


def update_valuation(ctx: RequestContext, valuation_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    """A new value (the date stays); the date's complete valuation and the IRR history from it follow."""
    return _update_dated(ctx, _VALUATION, valuation_id, body, if_match)


def delete_valuation(ctx: RequestContext, valuation_id: UUID) -> None:
    """The date loses its complete valuation (refresh_portfolio_valuations) unless no non-cash fund needs it."""
    _delete_dated(ctx, _VALUATION, valuation_id)


def bulk_valuations(ctx: RequestContext, product_id: UUID, body: Any) -> int:
    """Up to 5,000 fund valuations of the product's funds, all or nothing; a fund and date appear once."""
    return _bulk_dated(ctx, _VALUATION, product_id, body)


def list_activity(ctx: RequestContext, pf_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    return _list_dated(ctx, _ACTIVITY, pf_id, query)


def add_activity(ctx: RequestContext, pf_id: UUID, body: Any) -> dict[str, Any]:
    """A cash flow within the fund's and the product's dates (migration 0010). Its type gives its sign (SQL
    function activity_sign, 0004: investments in, withdrawals out, fees and dividends not investor flows), and the
    product's netted flows follow by trigger (product_flows, 0008 and 0009) before the IRR history is rewritten."""
    return _add_dated(ctx, _ACTIVITY, pf_id, body)


def update_activity(ctx: RequestContext, activity_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    """A corrected cash flow (its date within the fund's, migration 0010); product_flows follow by trigger (0008,
    0009) and the IRR history is rewritten from the earlier of its old and new dates."""
    return _update_dated(ctx, _ACTIVITY, activity_id, body, if_match)


def delete_activity(ctx: RequestContext, activity_id: UUID) -> None:
    """product_flows follow by trigger (migrations 0008, 0009); the IRR history is rewritten from its date."""
    _delete_dated(ctx, _ACTIVITY, activity_id)


def bulk_activity(ctx: RequestContext, product_id: UUID, body: Any) -> int:
    """Up to 5,000 cash flows of the product's funds, all or nothing (product_flows follow in one trigger run per
    statement, migrations 0008 and 0009)."""
    return _bulk_dated(ctx, _ACTIVITY, product_id, body)
