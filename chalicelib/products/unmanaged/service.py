"""Rules for unmanaged products (assets and liabilities a household holds elsewhere) and their valuations.

Each public function is one audited transaction (the net-worth reader `active_positions` is the exception: it runs
in its caller's). Rules kept by the database too, whoever writes (migration 0021):
- ownership: the managed products' rule, not a copy: holdings.service.check_owners here (422 naming `ownership`),
  and in the database the CHECK ownership_is_valid and the trigger function products_check_owners on this table
  as on products; removing a member a product names is refused (membership_check_products, 409);
- a kind and a product type fit (CHECK unmanaged_products_type_fits_kind); a name is unique in its household,
  ignoring case (index unmanaged_products_name_key);
- the current value is the latest-dated valuation: SQL function unmanaged_current_value, applied by a row trigger
  on every write of the product and by statement triggers on every write of its valuations, so it cannot drift;
- a valuation is not dated in the future (trigger unmanaged_valuations_not_future), one per product and date.
Every write of a product's valuations first locks the product (FOR UPDATE), as managed products' writers do.

Unmanaged products take no part in performance figures (IRR, revenue, funds under management, the dashboard, the
overview): those read managed products only.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from chalicelib.clients import store as clients_store
from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.core.versioning import patch_row
from chalicelib.products.catalogue import store as catalogue_store
from chalicelib.products.holdings.models import ownership_document
from chalicelib.products.holdings.service import check_owners
from chalicelib.products.unmanaged import store
from chalicelib.products.unmanaged.models import NULLABLE_UNMANAGED_FIELDS, TYPES_OF_KIND, type_fits_kind

ACTIVE = "active"


def _invalid(field: str, message: str) -> errors.Unprocessable:
    return errors.Unprocessable(message, errors=[{"field": field, "message": message}])


def _no_product() -> errors.NotFound:
    return errors.NotFound("No such unmanaged product")


def _jsonb(document: dict[str, Any]) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(document)


def _name_free(tx: db.Tx, group_id: UUID, name: str, other_than: UUID | None = None) -> None:
    if store.name_taken(tx, group_id, name, other_than=other_than):
        raise errors.Conflict(f"The household already has an unmanaged product named {name!r}",
                              errors=[{"field": "name", "message": "already used in this household"}])


# --- products ---

def list_products(ctx: RequestContext, group_id: UUID, query: Any) -> dict[str, Any]:
    """A page of the household's unmanaged products that pass the filters, with the firm's base currency and a
    summary by product type over every product the filters select (not only this page)."""
    keyset = Keyset.parse(store.UNMANAGED_LIST, query, ctx)
    filters = query.model_dump(include={"kind", "product_type", "status", "provider_id", "min_current_value",
                                        "max_current_value"})
    with db.transaction(ctx) as tx:
        summary = store.summary_by_type(tx, group_id, filters, date.today())  # None: no such household
        if summary is None:
            raise errors.NotFound("No such client group")
        found = store.list_products(tx, group_id, keyset, filters)
    base, totals = summary
    items, cursor = keyset.page(found)
    return {"items": items, "next_cursor": cursor, "base_currency": base, "summary": _summarise(totals)}


def _summarise(totals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """store.summary_by_type's rows (per type and currency) as one entry per type: the products counted, the
    converted values summed in the base currency, and per currency without a rate its count and native total."""
    by_type: dict[str, dict[str, Any]] = {}
    for row in totals:
        entry = by_type.setdefault(row["product_type"], {
            "product_type": row["product_type"], "kind": row["kind"], "count": 0,
            "total_current_value": Decimal("0.00"), "unconverted": []})
        entry["count"] += row["products"]
        if row["rate"] is None:
            entry["unconverted"].append({"currency": row["currency"], "count": row["products"],
                                         "total_current_value": row["total"]})
        else:
            entry["total_current_value"] += row["total_base"]
    return [by_type[t] for t in sorted(by_type)]


def create_product(ctx: RequestContext, group_id: UUID, body: Any) -> dict[str, Any]:
    values = body.model_dump(exclude={"ownership"}, exclude_none=True)
    values["ownership"] = _jsonb(ownership_document(body.ownership))
    values["client_group_id"] = group_id
    with db.transaction(ctx) as tx:
        # The group's lock, as managed products take it: a member cannot leave while the product is being named.
        if clients_store.get_group(tx, group_id, for_update=True) is None:
            raise errors.NotFound("No such client group")
        check_owners(tx, group_id, body.ownership)
        if body.provider_id and not catalogue_store.item_exists(tx, "provider", body.provider_id):
            raise _invalid("provider_id", "no such provider")
        _name_free(tx, group_id, body.name)
        row = store.insert_product(tx, values)
        audit.record(tx, "unmanaged_product.create", "unmanaged_product", row["id"], None, row)
    return row


def get_product(ctx: RequestContext, product_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_product(tx, product_id)
    if row is None:
        raise _no_product()
    return row


def update_product(ctx: RequestContext, product_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    """Any field but the status (its own route) and the current value (the valuations'). The kind and type must
    still fit together, the owners belong to the household, the name stay unique in it."""

    def stored(changes: dict[str, Any]) -> dict[str, Any]:
        if "ownership" in changes:  # as the row holds it, to compare with what it holds
            changes["ownership"] = ownership_document(body.ownership)
        return changes

    def check(before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        kind = changes.get("kind", before["kind"])
        product_type = changes.get("product_type", before["product_type"])
        if not type_fits_kind(kind, product_type):
            raise _invalid("product_type", f"{product_type} is not a type of {kind}: "
                           + ", ".join(sorted(TYPES_OF_KIND[kind])))
        if "name" in changes:
            _name_free(tx, before["client_group_id"], changes["name"], other_than=product_id)
        if "ownership" in changes:
            clients_store.get_group(tx, before["client_group_id"], for_update=True)
            check_owners(tx, before["client_group_id"], body.ownership)
            changes["ownership"] = _jsonb(changes["ownership"])
        if changes.get("provider_id") and not catalogue_store.item_exists(tx, "provider", changes["provider_id"]):
            raise _invalid("provider_id", "no such provider")
        return changes

    with db.transaction(ctx) as tx:
        return patch_row(tx, product_id, body, if_match, resource="unmanaged_product", what="unmanaged product",
                         get=store.get_product, update=store.update_product, nullable=NULLABLE_UNMANAGED_FIELDS,
                         stored=stored, check=check)


def delete_product(ctx: RequestContext, product_id: UUID) -> None:
    """Only a product with no valuations (409 otherwise: delete them, or change its status to keep its history)."""
    with db.transaction(ctx) as tx:
        before = store.get_product(tx, product_id, for_update=True)
        if before is None:
            raise _no_product()
        if store.has_valuations(tx, product_id):
            raise errors.Conflict("The unmanaged product has valuations; delete them first, or change its status "
                                  "to keep its history")
        store.delete_product(tx, product_id)
        audit.record(tx, "unmanaged_product.delete", "unmanaged_product", product_id, before, None)


def change_status(ctx: RequestContext, product_id: UUID, status: str, reason: str) -> dict[str, Any]:
    """From active to any other status; back to active only for an admin (403 for anyone else); from one
    inactive status to another, or to the status it has, a 409. Audited with the reason."""
    with db.transaction(ctx) as tx:
        before = store.get_product(tx, product_id, for_update=True)
        if before is None:
            raise _no_product()
        if before["status"] == status:
            raise errors.Conflict(f"The unmanaged product is already {status}")
        if status == ACTIVE:
            principal = ctx.principal
            if principal is None or principal.kind != "user" or not principal.is_admin():
                raise errors.Forbidden(f"Only an administrator may make a {before['status']} product active again")
        elif before["status"] != ACTIVE:
            raise errors.Conflict(f"The unmanaged product is {before['status']}; only an active product can become "
                                  f"{status} (an administrator can make it active again first)")
        after = store.update_product(tx, product_id, {"status": status})
        audit.record(tx, "unmanaged_product.change_status", "unmanaged_product", product_id, before,
                     {**after, "reason": reason})
    return after


def active_positions(tx: db.Tx, group_id: UUID, day: date) -> list[dict[str, Any]]:
    """For net worth, in the caller's transaction: the household's active unmanaged products, each with its value
    as of `day` and that value in the firm's base currency (store.active_positions says every field)."""
    return store.active_positions(tx, group_id, day)


# --- valuations ---

def _locked_product(tx: db.Tx, product_id: UUID) -> dict[str, Any]:
    product = store.get_product(tx, product_id, for_update=True)
    if product is None:
        raise _no_product()
    return product


def list_valuations(ctx: RequestContext, product_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(store.VALUATION_LIST, query, ctx)
    with db.transaction(ctx) as tx:
        if not store.product_exists(tx, product_id):
            raise _no_product()
        found = store.list_valuations(tx, product_id, keyset, query.from_, query.to)
    return keyset.page(found)


def add_valuation(ctx: RequestContext, product_id: UUID, body: Any) -> dict[str, Any]:
    """One per product and date: a second on the same date is a 409, as fund valuations are (correct a value by
    deleting the valuation and posting it again). The current value follows by trigger."""
    with db.transaction(ctx) as tx:
        _locked_product(tx, product_id)
        if store.valuation_dates_taken(tx, product_id, [body.valuation_date]):
            raise errors.Conflict(f"The product already has a valuation on {body.valuation_date}",
                                  errors=[{"field": "valuation_date", "message": "already valued on this date"}])
        row = store.insert_valuation(tx, {"unmanaged_product_id": product_id, **body.model_dump()})
        audit.record(tx, "unmanaged_valuation.create", "unmanaged_valuation", row["id"], None, row)
    return row


def bulk_valuations(ctx: RequestContext, product_id: UUID, body: Any) -> int:
    """Up to 5,000 valuations of one product, all or nothing: a date twice in the batch is a 422 naming the row, a
    date already valued a 409 naming it. One audit event on the product."""
    items = body.valuations
    with db.transaction(ctx) as tx:
        _locked_product(tx, product_id)
        seen: dict[date, int] = {}
        for i, item in enumerate(items):
            if item.valuation_date in seen:
                raise _invalid(f"valuations.{i}", f"the date {item.valuation_date} appears twice (row "
                               f"{seen[item.valuation_date]} too)")
            seen[item.valuation_date] = i
        taken = store.valuation_dates_taken(tx, product_id, list(seen))
        if taken:
            raise errors.Conflict(f"The product already has a valuation on {taken[0]}",
                                  errors=[{"field": f"valuations.{seen[d]}.valuation_date",
                                           "message": "already valued on this date"} for d in taken])
        written = store.bulk_insert_valuations(tx, product_id, [(v.valuation_date, v.value, v.source)
                                                                for v in items])
        dates = sorted(seen)
        audit.record(tx, "unmanaged_product.bulk_valuations", "unmanaged_product", product_id, None,
                     {"written": written, "from": dates[0], "to": dates[-1]})
    return written


def delete_valuation(ctx: RequestContext, valuation_id: UUID) -> None:
    """The current value follows (the latest remaining valuation, or none)."""
    with db.transaction(ctx) as tx:
        product_id = store.product_of_valuation(tx, valuation_id)
        if product_id is None:
            raise errors.NotFound("No such unmanaged valuation")
        _locked_product(tx, product_id)
        before = store.get_valuation(tx, valuation_id, for_update=True)
        if before is None:  # deleted while we waited for the product's lock
            raise errors.NotFound("No such unmanaged valuation")
        store.delete_valuation(tx, valuation_id)
        audit.record(tx, "unmanaged_valuation.delete", "unmanaged_valuation", valuation_id, before, None)
