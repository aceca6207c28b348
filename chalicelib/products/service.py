"""Rules for the catalogue, products, portfolios, valuations, activity, IRR and revenue.

Each public function is one audited transaction. Valuation and activity writes keep the derived data in step in
the same transaction: portfolio valuations for the dates touched, and the stored IRR history from the earliest
date touched onward (never the whole history).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from chalicelib.clients import store as clients_store
from chalicelib.core import audit, db, errors, rows
from chalicelib.core.context import RequestContext
from chalicelib.core.http import decode_cursor, page
from chalicelib.core.versioning import check_version, patch_changes, unchanged
from chalicelib.products import store
from chalicelib.products.models import NULLABLE_PRODUCT_FIELDS, ownership_document, ownership_owner_ids

PENNY = Decimal("0.01")
_CATALOGUE = {  # resource -> (table, columns, audit name, what)
    "provider": ("providers", store.PROVIDER_COLUMNS, "provider", "provider"),
    "fund": ("funds", store.FUND_COLUMNS, "fund", "fund"),
    "template": ("portfolio_templates", store.TEMPLATE_COLUMNS, "portfolio_template", "portfolio template"),
}


def _invalid(field: str, message: str) -> errors.Unprocessable:
    return errors.Unprocessable(message, errors=[{"field": field, "message": message}])


# --- catalogue: providers, funds, templates share one shape ---

def create_catalogue(ctx: RequestContext, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    table, columns, name, _ = _CATALOGUE[kind]
    with db.transaction(ctx) as tx:
        row = rows.insert(tx, table, values, columns)
        audit.record(tx, f"{name}.create", name, row["id"], None, row)
    return row


def get_catalogue(ctx: RequestContext, kind: str, row_id: UUID) -> dict[str, Any]:
    table, columns, _, what = _CATALOGUE[kind]
    with db.transaction(ctx) as tx:
        row = rows.get(tx, table, row_id, columns)
    if row is None:
        raise errors.NotFound(f"No such {what}")
    return row


def update_catalogue(ctx: RequestContext, kind: str, row_id: UUID, body: Any, if_match: int,
                     nullable: frozenset[str]) -> dict[str, Any]:
    table, columns, name, what = _CATALOGUE[kind]
    changes = patch_changes(body, nullable)
    with db.transaction(ctx) as tx:
        before = check_version(rows.get(tx, table, row_id, columns, for_update=True), if_match, what)
        changes = unchanged(before, changes)
        after = rows.update(tx, table, row_id, changes, columns) if changes else before
        audit.record(tx, f"{name}.update", name, row_id, before, after)
    return after


def delete_catalogue(ctx: RequestContext, kind: str, row_id: UUID) -> None:
    """A provider or fund that products use cannot go (409 from the foreign key); mark it inactive instead."""
    table, columns, name, what = _CATALOGUE[kind]
    with db.transaction(ctx) as tx:
        before = rows.get(tx, table, row_id, columns, for_update=True)
        if before is None:
            raise errors.NotFound(f"No such {what}")
        rows.delete(tx, table, row_id)
        audit.record(tx, f"{name}.delete", name, row_id, before, None)


def list_providers(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(query.cursor, 2)
    with db.transaction(ctx) as tx:
        found = store.list_providers(tx, status=query.status, q=query.q, after=after, limit=query.limit)
    return page(found, query.limit, lambda r: [r["name"], r["id"]])


def list_funds(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(query.cursor, 2)
    with db.transaction(ctx) as tx:
        found = store.list_funds(tx, isin=query.isin, status=query.status, q=query.q, after=after,
                                 limit=query.limit)
    return page(found, query.limit, lambda r: [r["name"], r["id"]])


def list_templates(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(query.cursor, 2)
    with db.transaction(ctx) as tx:
        found = store.list_templates(tx, after=after, limit=query.limit)
    return page(found, query.limit, lambda r: [r["name"], r["id"]])


def list_generations(ctx: RequestContext, template_id: UUID) -> list[dict[str, Any]]:
    with db.transaction(ctx) as tx:
        if rows.get(tx, "portfolio_templates", template_id, "id") is None:
            raise errors.NotFound("No such portfolio template")
        return store.generations(tx, template_id=template_id)


def create_generation(ctx: RequestContext, template_id: UUID, body: Any) -> dict[str, Any]:
    """A new generation; generations are never edited once made (products copy them)."""
    funds = [(f.fund_id, f.target_weighting) for f in body.funds]
    with db.transaction(ctx) as tx:
        if rows.get(tx, "portfolio_templates", template_id, "id", for_update=True) is None:
            raise errors.NotFound("No such portfolio template")
        missing = store.missing_funds(tx, [f for f, _ in funds])
        if missing:
            raise _invalid("funds", f"unknown fund(s): {', '.join(map(str, missing))}")
        number = store.next_generation_number(tx, template_id)
        gen_id = store.insert_generation(tx, template_id, number, body.name, funds)
        row = store.generations(tx, generation_id=gen_id)[0]
        audit.record(tx, "portfolio_template.create_generation", "portfolio_template", template_id, None, row)
    return row


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
        if body.template_generation_id and not store.generations(tx, generation_id=body.template_generation_id):
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
        _recompute_irr(tx, product_id, body.start_date)
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
            _recompute_irr(tx, before["product_id"], min(ends))
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
        _recompute_irr(tx, before["product_id"], before["start_date"])
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
    _recompute_irr(tx, product_id, min(dates))


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
        _recompute_irr(tx, pf["product_id"], body.activity_date)
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
            _recompute_irr(tx, pf["product_id"], min(before["activity_date"], after["activity_date"]))
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
        _recompute_irr(tx, pf["product_id"], before["activity_date"])
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
        _recompute_irr(tx, product_id, first)
        audit.record(tx, "product.bulk_activity", "product", product_id, None, {"written": written, "from": first})
    return written


# --- IRR ---

def _compute(method: str, flows: list[Any], end_date: date, end_value: Decimal) -> Any:
    from chalicelib.products import irr

    fn = irr.kingston_monthly if method == "kingston_monthly" else irr.xirr
    return fn(flows, end_date, end_value)


def _recompute_irr(tx: db.Tx, product_id: UUID, from_date: date) -> int:
    """Rewrite the product's stored IRR history (both methods) for valuation dates on or after from_date.

    Dates before the change keep their stored values: they depend only on flows and valuations before them.
    Each later date's IRR is its whole life to that date (irr.history: one pass over the product's netted flows).
    Fund-level IRRs are computed on request (GET /v1/portfolio-funds/{id}/irr), not stored.
    """
    from chalicelib.products import irr

    flows = [irr.Flow(f["flow_date"], f["amount"]) for f in store.flows_of_product(tx, product_id)]
    points = [(v["valuation_date"], v["value"]) for v in store.portfolio_valuation_series(tx, product_id, from_date)]
    out: list[tuple[date, str, Any, str | None]] = []
    for (day, _value), figures in zip(points, irr.history(flows, points)):
        out.extend((day, r.method, r.irr, r.reason) for r in figures)
    return store.write_product_irrs(tx, product_id, from_date, out)


def repair_irr_history(ctx: RequestContext, product_id: UUID, from_date: date) -> int:
    """Rewrite a product's stored IRR history from from_date, under the product's lock as every writer takes it
    (the job irr-history, for the dates its check found out of step). Jobs hold only the owner's credentials: the
    owner role's transaction, with the product's firm as the context (the rows written take their firm from it).
    Returns the rows written."""
    with db.transaction(ctx, kind="owner") as tx:
        if store.lock_product_of(tx, "products", product_id) is None:
            return 0  # gone since the check
        return _recompute_irr(tx, product_id, from_date)


_IRR_SCOPES = {"portfolio_fund": "No such portfolio fund", "product": "No such product",
               "client_group": "No such client group"}


def irr_for(ctx: RequestContext, scope: str, scope_id: UUID, query: Any) -> dict[str, Any]:
    """IRR of a portfolio fund, a product or a client group (pooled flows, never averaged) over a period.

    One query fetches everything (store.irr_inputs): each holding's end and start values and its flows between,
    netted per date; the holdings (a group's products) are pooled here (irr.pooled), each over its own period."""
    with db.transaction(ctx) as tx:
        inputs = store.irr_inputs(tx, scope, scope_id, query.from_, query.to)
    if not inputs[0]["found"]:
        raise errors.NotFound(_IRR_SCOPES[scope])
    return _irr_over(query, inputs, named=scope == "client_group")


def _irr_over(query: Any, inputs: list[dict[str, Any]], named: bool) -> dict[str, Any]:
    from chalicelib.products import irr

    method = query.method
    result: dict[str, Any] = {"irr": None, "method": method, "from": query.from_, "to": query.to, "reason": None}
    if not inputs[0]["valued"]:
        return {**result, "reason": "no valuation yet"}
    holdings = [h for h in inputs if h["end_date"] is not None]
    if not holdings:
        return {**result, "reason": f"no valuation on or before {query.to}"}
    end_date = max(h["end_date"] for h in holdings)
    if query.from_ is not None:
        unstarted = [h for h in holdings if h["unstarted"] and h["end_date"] > query.from_]
        if unstarted:
            which = f" ({', '.join(h['name'] for h in unstarted)})" if named else ""
            return {**result, "to": end_date, "reason": f"no valuation on or before {query.from_} to start from"
                                                        f"{which}, and cash flows before it"}
        # A holding last valued on or before `from` has no value inside the period: it takes no part.
        holdings = [h for h in holdings if h["end_date"] > query.from_]
        if not holdings:
            return {**result, "to": end_date, "reason": "the period is empty"}
    if named and len(holdings) > 1:
        # A product with a value but no money in over its period (no start value, no investment recorded: a
        # transfer in, say) would add pure gain to the household's figure; alone it gets irr's own reason.
        unfunded = [h for h in holdings if h["start_value"] is None and not any(a < 0 for a in h["flow_amounts"] or [])
                    and (h["end_value"] > 0 or any(a > 0 for a in h["flow_amounts"] or []))]
        if unfunded:
            return {**result, "to": end_date, "reason": "no money in for " + ", ".join(h["name"] for h in unfunded)
                                                        + ": a value with no investment recorded before it"}
    pool = irr.pooled(irr.Holding(list(zip(h["flow_dates"] or [], h["flow_amounts"] or [])), h["end_date"],
                                  h["end_value"], h["start_date"], h["start_value"]) for h in holdings)
    r = _compute(method, pool.flows, pool.end_date, pool.end_value)
    out = {**result, "irr": r.irr, "reason": r.reason, "from": pool.flows[0].date if pool.flows else None,
           "to": pool.end_date}
    if query.include == "flows":
        out["flows"] = [{"date": f.date, "amount": f.amount} for f in r.flows_used]
    return out


def irr_history(ctx: RequestContext, product_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(query.cursor, 3)
    with db.transaction(ctx) as tx:
        if rows.get(tx, "products", product_id, "id") is None:
            raise errors.NotFound("No such product")
        found = store.irr_history(tx, "product", product_id, query.method, after, query.limit)
    return page(found, query.limit, lambda r: [r["valuation_date"], r["method"], str(product_id)])


# --- revenue: fixed direct + fixed facilitated + latest valuation x percentage / 100 ---

def product_revenue(product: dict[str, Any], latest: dict[str, Any] | None) -> dict[str, Any]:
    value = latest["value"] if latest else None
    pct = product["percentage_fee_facilitated"]
    revenue = product["fixed_fee_direct"] + product["fixed_fee_facilitated"] + (value or 0) * pct / 100
    return {"product_id": product["id"], "fixed_fee_direct": product["fixed_fee_direct"],
            "fixed_fee_facilitated": product["fixed_fee_facilitated"], "percentage_fee_facilitated": pct,
            "latest_valuation": value, "valuation_date": latest["valuation_date"] if latest else None,
            "revenue": revenue.quantize(PENNY, ROUND_HALF_UP)}


def revenue_of_product(ctx: RequestContext, product_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        product = rows.get(tx, "products", product_id, store.PRODUCT_COLUMNS)
        if product is None:
            raise errors.NotFound("No such product")
        return product_revenue(product, store.latest_portfolio_valuation(tx, product_id))


def revenue_total(ctx: RequestContext, group_id: UUID | None) -> dict[str, Any]:
    """Revenue of a client group (or the whole firm when group_id is None), live."""
    with db.transaction(ctx) as tx:
        if group_id is not None and clients_store.get_group(tx, group_id) is None:
            raise errors.NotFound("No such client group")
        return store.live_revenue(tx, group_id)


def _money(value: Decimal) -> Decimal:
    """Sums from the views come back at the scale of their inputs (a coalesced 0 has none): pennies, always."""
    return Decimal(value).quantize(PENNY, ROUND_HALF_UP)


def client_group_summary(ctx: RequestContext, group_id: UUID, irr_query: Any) -> dict[str, Any]:
    """Figures from the summary view (refreshed by the job refresh-views), the IRR live from pooled flows.

    A household created since the last refresh is not in the view yet: its figures as of that refresh are zeros,
    and `pending_refresh` says they appear after the next run."""
    with db.transaction(ctx) as tx:
        group = clients_store.get_group(tx, group_id)
        if group is None:
            raise errors.NotFound("No such client group")
        summary = store.client_group_summary(tx, group_id)
        pending = summary is None
        if pending:
            summary = {"client_group_id": group_id, "name": group["name"], "funds_under_management": Decimal(0),
                       "revenue": Decimal(0), "active_products": 0, "lapsed_products": 0,
                       "latest_valuation_date": None,
                       "refreshed_at": store.view_refreshed_at(tx, "mv_client_group_summary")}
    return {**summary, "funds_under_management": _money(summary["funds_under_management"]),
            "revenue": _money(summary["revenue"]), "pending_refresh": pending,
            "irr": irr_for(ctx, "client_group", group_id, irr_query)}


def dashboard(ctx: RequestContext, top: int = 10) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        found = store.dashboard_rows(tx)
        households = store.top_households(tx, top)
        refreshed = store.view_refreshed_at(tx, "mv_firm_dashboard")
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in found:
        by[r["dimension"]].append({**r, "funds_under_management": _money(r["funds_under_management"]),
                                   "revenue": _money(r["revenue"])})
    total = by.get("firm", [{}])[0] if by.get("firm") else {}
    return {"funds_under_management": _money(total.get("funds_under_management", Decimal(0))),
            "revenue": _money(total.get("revenue", Decimal(0))), "products": total.get("products", 0),
            "by_provider": by.get("provider", []), "by_product_type": by.get("product_type", []),
            "by_adviser": by.get("adviser", []),
            "top_households": [{**h, "funds_under_management": _money(h["funds_under_management"]),
                                "revenue": _money(h["revenue"])} for h in households],
            "refreshed_at": refreshed}
