"""Rules for products, their portfolio funds, fund valuations and cash flows.

Each public function is one audited transaction. Valuation and cash-flow writes keep the derived data in step in
the same transaction: portfolio valuations for the dates touched, and the stored IRR history from the earliest
date touched onward (never the whole history)."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from chalicelib.clients import store as clients_store
from chalicelib.core import audit, db, errors, rows
from chalicelib.core.context import RequestContext
from chalicelib.core.http import decode_cursor, page
from chalicelib.core.versioning import check_version, patch_changes, unchanged
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


# --- products ---

def _check_owners(tx: db.Tx, group_id: UUID, ownership: Any) -> None:
    outside = store.owners_outside_group(tx, group_id, ownership_owner_ids(ownership))
    if outside:
        raise _invalid("ownership", "every owner must belong to the client group; not in it: "
                       + ", ".join(map(str, outside)))


def list_products(ctx: RequestContext, group_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(query.cursor, 2)
    with db.transaction(ctx) as tx:
        if clients_store.get_group(tx, group_id) is None:
            raise errors.NotFound("No such client group")
        found = store.list_products(tx, group_id, status=query.status, product_type=query.product_type,
                                    after=after, limit=query.limit)
    return page(found, query.limit, lambda r: [r["name"], r["id"]])


def create_product(ctx: RequestContext, group_id: UUID, body: Any) -> dict[str, Any]:
    values = body.model_dump(exclude={"ownership"})
    values["ownership"] = _jsonb(ownership_document(body.ownership))
    values["client_group_id"] = group_id
    with db.transaction(ctx) as tx:
        if clients_store.get_group(tx, group_id, for_update=True) is None:
            raise errors.NotFound("No such client group")
        _check_owners(tx, group_id, body.ownership)
        if body.provider_id and rows.get(tx, "providers", body.provider_id, "id") is None:
            raise _invalid("provider_id", "no such provider")
        if body.template_generation_id and not catalogue_store.generations(tx, generation_id=body.template_generation_id):
            raise _invalid("template_generation_id", "no such template generation")
        row = rows.insert(tx, "products", values, store.PRODUCT_COLUMNS)
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
        row = rows.get(tx, "products", product_id, store.PRODUCT_COLUMNS)
    if row is None:
        raise errors.NotFound("No such product")
    return row


def update_product(ctx: RequestContext, product_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    changes = patch_changes(body, NULLABLE_PRODUCT_FIELDS)
    ownership = body.ownership if "ownership" in changes else None
    if ownership is not None:
        changes["ownership"] = ownership_document(ownership)
    with db.transaction(ctx) as tx:
        before = check_version(rows.get(tx, "products", product_id, store.PRODUCT_COLUMNS, for_update=True),
                               if_match, "product")
        changes = unchanged(before, changes)
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
        if ownership is not None and "ownership" in changes:
            # The group's lock, as removing a member takes it: a member cannot leave while a product names them.
            clients_store.get_group(tx, before["client_group_id"], for_update=True)
            _check_owners(tx, before["client_group_id"], ownership)
            changes["ownership"] = _jsonb(changes["ownership"])
        if "provider_id" in changes:
            if changes["provider_id"] and rows.get(tx, "providers", changes["provider_id"], "id") is None:
                raise _invalid("provider_id", "no such provider")
            store.insert_provider_switch(tx, product_id, before["provider_id"], changes["provider_id"])
        after = rows.update(tx, "products", product_id, changes, store.PRODUCT_COLUMNS) if changes else before
        audit.record(tx, "product.update", "product", product_id, before, after)
    return after


def delete_product(ctx: RequestContext, product_id: UUID) -> None:
    with db.transaction(ctx) as tx:
        before = rows.get(tx, "products", product_id, store.PRODUCT_COLUMNS, for_update=True)
        if before is None:
            raise errors.NotFound("No such product")
        if store.list_portfolio_funds(tx, product_id):
            raise errors.Conflict("The product has portfolio funds; delete them first, or lapse the product")
        rows.delete(tx, "products", product_id)
        audit.record(tx, "product.delete", "product", product_id, before, None)


def set_product_status(ctx: RequestContext, product_id: UUID, status: str) -> dict[str, Any]:
    """Lapse (only when the current value is 0) or reactivate."""
    with db.transaction(ctx) as tx:
        before = rows.get(tx, "products", product_id, store.PRODUCT_COLUMNS, for_update=True)
        if before is None:
            raise errors.NotFound("No such product")
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
        after = rows.update(tx, "products", product_id, {"status": status}, store.PRODUCT_COLUMNS)
        audit.record(tx, "product.lapse" if status == "lapsed" else "product.reactivate", "product", product_id,
                     before, after)
    return after


def provider_switches(ctx: RequestContext, product_id: UUID) -> list[dict[str, Any]]:
    with db.transaction(ctx) as tx:
        if rows.get(tx, "products", product_id, "id") is None:
            raise errors.NotFound("No such product")
        return store.provider_switches(tx, product_id)


def portfolio_valuations(ctx: RequestContext, product_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(query.cursor, 2)
    with db.transaction(ctx) as tx:
        if rows.get(tx, "products", product_id, "id") is None:
            raise errors.NotFound("No such product")
        found = store.portfolio_valuations(tx, product_id, query.from_, query.to, after, query.limit)
    return page(found, query.limit, lambda r: [r["valuation_date"], str(product_id)])


# --- portfolio funds ---

def list_portfolio_funds(ctx: RequestContext, product_id: UUID) -> list[dict[str, Any]]:
    with db.transaction(ctx) as tx:
        if rows.get(tx, "products", product_id, "id") is None:
            raise errors.NotFound("No such product")
        return store.list_portfolio_funds(tx, product_id)


def add_portfolio_fund(ctx: RequestContext, product_id: UUID, body: Any) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        product = rows.get(tx, "products", product_id, "id, start_date", for_update=True)
        if product is None:
            raise errors.NotFound("No such product")
        fund = rows.get(tx, "funds", body.fund_id, "id, status")
        if fund is None:
            raise _invalid("fund_id", "no such fund")
        if body.start_date < product["start_date"]:
            raise _invalid("start_date", "a fund cannot start before its product")
        row = rows.insert(tx, "portfolio_funds", {"product_id": product_id, **body.model_dump()},
                          store.PORTFOLIO_FUND_COLUMNS)
        # A new non-cash fund must be valued too before its dates have a portfolio valuation again.
        store.refresh_portfolio_valuations(tx, product_id, None)
        recompute_irr_history(tx, product_id, body.start_date)
        audit.record(tx, "portfolio_fund.create", "portfolio_fund", row["id"], None, row)
    return row


def update_portfolio_fund(ctx: RequestContext, pf_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    changes = patch_changes(body, frozenset({"target_weighting", "end_date"}))
    with db.transaction(ctx) as tx:
        store.lock_product_of(tx, "portfolio_funds", pf_id)
        before = check_version(rows.get(tx, "portfolio_funds", pf_id, store.PORTFOLIO_FUND_COLUMNS,
                                        for_update=True), if_match, "portfolio fund")
        changes = unchanged(before, changes)
        if changes.get("end_date") is not None and changes["end_date"] < before["start_date"]:
            raise _invalid("end_date", "a fund cannot end before it starts")
        if changes.get("end_date") is not None and store.dated_rows_after(tx, pf_id, changes["end_date"]):
            raise _invalid("end_date", "the fund has valuations or cash flows after this date")
        after = rows.update(tx, "portfolio_funds", pf_id, changes, store.PORTFOLIO_FUND_COLUMNS) if changes \
            else before
        if "end_date" in changes:  # which funds are active decides which dates have a portfolio valuation
            ends = [d for d in (before["end_date"], after["end_date"]) if d is not None]
            store.refresh_portfolio_valuations(tx, before["product_id"], None)
            recompute_irr_history(tx, before["product_id"], min(ends))
        audit.record(tx, "portfolio_fund.update", "portfolio_fund", pf_id, before, after)
    return after


def delete_portfolio_fund(ctx: RequestContext, pf_id: UUID) -> None:
    """Only a fund with no valuations and no activity can go (409 otherwise): end it to keep its history."""
    with db.transaction(ctx) as tx:
        store.lock_product_of(tx, "portfolio_funds", pf_id)
        before = rows.get(tx, "portfolio_funds", pf_id, store.PORTFOLIO_FUND_COLUMNS, for_update=True)
        if before is None:
            raise errors.NotFound("No such portfolio fund")
        rows.delete(tx, "portfolio_funds", pf_id)
        store.refresh_portfolio_valuations(tx, before["product_id"], None)
        recompute_irr_history(tx, before["product_id"], before["start_date"])
        audit.record(tx, "portfolio_fund.delete", "portfolio_fund", pf_id, before, None)


# --- valuations and activity ---

def _portfolio_fund(tx: db.Tx, pf_id: UUID) -> dict[str, Any]:
    pf = store.portfolio_fund_context(tx, pf_id, for_update=True)
    if pf is None:
        raise errors.NotFound("No such portfolio fund")
    return pf


def _check_valuation_date(pf: dict[str, Any], day: date, field: str = "valuation_date") -> None:
    if day < pf["start_date"]:
        raise _invalid(field, f"the fund starts on {pf['start_date']}; no valuation before it")
    if pf["end_date"] is not None and day > pf["end_date"]:
        raise _invalid(field, f"the fund ended on {pf['end_date']}; no valuation after it")
    if pf["product_end"] is not None and day > pf["product_end"]:
        raise _invalid(field, f"the product ended on {pf['product_end']}; no valuation after it")


def _check_activity_date(pf: dict[str, Any], day: date, field: str = "activity_date") -> None:
    if day < pf["product_start"]:
        raise _invalid(field, f"the product started on {pf['product_start']}; no cash flow before it")
    if day < pf["start_date"]:
        raise _invalid(field, f"the fund starts on {pf['start_date']}; no cash flow before it")
    if pf["end_date"] is not None and day > pf["end_date"]:
        raise _invalid(field, f"the fund ended on {pf['end_date']}; no cash flow after it")
    if pf["product_end"] is not None and day > pf["product_end"]:
        raise _invalid(field, f"the product ended on {pf['product_end']}; no cash flow after it")


def list_valuations(ctx: RequestContext, pf_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(query.cursor, 2)
    with db.transaction(ctx) as tx:
        if rows.get(tx, "portfolio_funds", pf_id, "id") is None:
            raise errors.NotFound("No such portfolio fund")
        found = store.list_valuations(tx, pf_id, query.from_, query.to, after, query.limit)
    return page(found, query.limit, lambda r: [r["valuation_date"], r["id"]])


def add_valuation(ctx: RequestContext, pf_id: UUID, body: Any) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        store.lock_product_of(tx, "portfolio_funds", pf_id)
        pf = _portfolio_fund(tx, pf_id)
        _check_valuation_date(pf, body.valuation_date)
        row = rows.insert(tx, "fund_valuations", {"portfolio_fund_id": pf_id, **body.model_dump()},
                          store.VALUATION_COLUMNS)
        _after_valuations(tx, pf["product_id"], [body.valuation_date])
        audit.record(tx, "fund_valuation.create", "fund_valuation", row["id"], None, row)
    return row


def update_valuation(ctx: RequestContext, valuation_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        store.lock_product_of(tx, "fund_valuations", valuation_id)
        before = check_version(rows.get(tx, "fund_valuations", valuation_id, store.VALUATION_COLUMNS,
                                        for_update=True), if_match, "fund valuation")
        pf = _portfolio_fund(tx, before["portfolio_fund_id"])
        changes = unchanged(before, patch_changes(body))
        after = rows.update(tx, "fund_valuations", valuation_id, changes, store.VALUATION_COLUMNS) if changes \
            else before
        if changes:
            _after_valuations(tx, pf["product_id"], [before["valuation_date"]])
        audit.record(tx, "fund_valuation.update", "fund_valuation", valuation_id, before, after)
    return after


def delete_valuation(ctx: RequestContext, valuation_id: UUID) -> None:
    with db.transaction(ctx) as tx:
        store.lock_product_of(tx, "fund_valuations", valuation_id)
        before = rows.get(tx, "fund_valuations", valuation_id, store.VALUATION_COLUMNS, for_update=True)
        if before is None:
            raise errors.NotFound("No such fund valuation")
        pf = _portfolio_fund(tx, before["portfolio_fund_id"])
        rows.delete(tx, "fund_valuations", valuation_id)
        _after_valuations(tx, pf["product_id"], [before["valuation_date"]])
        audit.record(tx, "fund_valuation.delete", "fund_valuation", valuation_id, before, None)


def bulk_valuations(ctx: RequestContext, product_id: UUID, body: Any) -> int:
    """All or nothing: one bad row refuses the whole batch, naming the row."""
    with db.transaction(ctx) as tx:
        if rows.get(tx, "products", product_id, "id", for_update=True) is None:
            raise errors.NotFound("No such product")
        funds = {pf["id"]: pf for pf in store.portfolio_fund_contexts(tx, product_id)}
        seen: set[tuple[UUID, date]] = set()
        for i, v in enumerate(body.valuations):
            pf = funds.get(v.portfolio_fund_id)
            if pf is None:
                raise _invalid(f"valuations.{i}.portfolio_fund_id", "not a fund of this product")
            _check_valuation_date(pf, v.valuation_date, f"valuations.{i}.valuation_date")
            if (v.portfolio_fund_id, v.valuation_date) in seen:
                raise _invalid(f"valuations.{i}", "the same fund and date appear twice")
            seen.add((v.portfolio_fund_id, v.valuation_date))
        written = store.bulk_insert_valuations(tx, [(v.portfolio_fund_id, v.valuation_date, v.value)
                                                    for v in body.valuations])
        dates = sorted({v.valuation_date for v in body.valuations})
        _after_valuations(tx, product_id, dates)
        audit.record(tx, "product.bulk_valuations", "product", product_id, None,
                     {"written": written, "from": dates[0], "to": dates[-1]})
    return written


def _after_valuations(tx: db.Tx, product_id: UUID, dates: list[date]) -> None:
    store.refresh_portfolio_valuations(tx, product_id, dates)
    recompute_irr_history(tx, product_id, min(dates))


def list_activity(ctx: RequestContext, pf_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(query.cursor, 2)
    with db.transaction(ctx) as tx:
        if rows.get(tx, "portfolio_funds", pf_id, "id") is None:
            raise errors.NotFound("No such portfolio fund")
        found = store.list_activity(tx, pf_id, query.from_, query.to, after, query.limit)
    return page(found, query.limit, lambda r: [r["activity_date"], r["id"]])


def add_activity(ctx: RequestContext, pf_id: UUID, body: Any) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        store.lock_product_of(tx, "portfolio_funds", pf_id)
        pf = _portfolio_fund(tx, pf_id)
        _check_activity_date(pf, body.activity_date)
        row = rows.insert(tx, "holding_activity", {"portfolio_fund_id": pf_id, **body.model_dump()},
                          store.ACTIVITY_COLUMNS)
        recompute_irr_history(tx, pf["product_id"], body.activity_date)
        audit.record(tx, "activity.create", "activity", row["id"], None, row)
    return row


def update_activity(ctx: RequestContext, activity_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        store.lock_product_of(tx, "holding_activity", activity_id)
        before = check_version(rows.get(tx, "holding_activity", activity_id, store.ACTIVITY_COLUMNS,
                                        for_update=True), if_match, "activity")
        pf = _portfolio_fund(tx, before["portfolio_fund_id"])
        changes = unchanged(before, patch_changes(body))
        if "activity_date" in changes:
            _check_activity_date(pf, changes["activity_date"])
        after = rows.update(tx, "holding_activity", activity_id, changes, store.ACTIVITY_COLUMNS) if changes \
            else before
        if changes:
            recompute_irr_history(tx, pf["product_id"], min(before["activity_date"], after["activity_date"]))
        audit.record(tx, "activity.update", "activity", activity_id, before, after)
    return after


def delete_activity(ctx: RequestContext, activity_id: UUID) -> None:
    with db.transaction(ctx) as tx:
        store.lock_product_of(tx, "holding_activity", activity_id)
        before = rows.get(tx, "holding_activity", activity_id, store.ACTIVITY_COLUMNS, for_update=True)
        if before is None:
            raise errors.NotFound("No such activity")
        pf = _portfolio_fund(tx, before["portfolio_fund_id"])
        rows.delete(tx, "holding_activity", activity_id)
        recompute_irr_history(tx, pf["product_id"], before["activity_date"])
        audit.record(tx, "activity.delete", "activity", activity_id, before, None)


def bulk_activity(ctx: RequestContext, product_id: UUID, body: Any) -> int:
    with db.transaction(ctx) as tx:
        if rows.get(tx, "products", product_id, "id", for_update=True) is None:
            raise errors.NotFound("No such product")
        funds = {pf["id"]: pf for pf in store.portfolio_fund_contexts(tx, product_id)}
        for i, a in enumerate(body.activities):
            pf = funds.get(a.portfolio_fund_id)
            if pf is None:
                raise _invalid(f"activities.{i}.portfolio_fund_id", "not a fund of this product")
            _check_activity_date(pf, a.activity_date, f"activities.{i}.activity_date")
        written = store.bulk_insert_activity(tx, [(a.portfolio_fund_id, a.activity_date, a.activity_type, a.amount)
                                                  for a in body.activities])
        first = min(a.activity_date for a in body.activities)
        recompute_irr_history(tx, product_id, first)
        audit.record(tx, "product.bulk_activity", "product", product_id, None, {"written": written, "from": first})
    return written


