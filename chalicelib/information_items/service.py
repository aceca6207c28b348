"""Rules for information items. Each public function is one audited transaction.

The database keeps the same rules whoever writes (migration 0022), and the functions below name what they rely on:
- the content (information_data_is_valid, a CHECK: an object of at most 50 keys and 64 KiB, valuations money of 0
  or more, dates valid ISO dates; information_items_dates_not_future, a trigger: no date after today, UTC);
- owners: the products' ownership forms (ownership_is_valid, a CHECK), named by exactly the assets_liabilities and
  protection items (information_items_owners_by_type), every owner a member of the household (trigger
  information_items_owners_in_group, whose query is the products' own: ownership_first_outsider); removing a
  member an item names is refused (membership_information_items_check);
- the search words of `q` (information_item_terms, kept by the triggers information_items_terms_*).
"""
from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from chalicelib.clients import store as clients_store
from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.core.versioning import patch_row
from chalicelib.information_items import store
from chalicelib.information_items.models import ITEMS, NULLABLE_ITEM_FIELDS, owners_match_type
from chalicelib.products.holdings import store as holdings_store
from chalicelib.products.holdings.models import ownership_document, ownership_owner_ids


def _invalid(field: str, message: str) -> errors.Unprocessable:
    return errors.Unprocessable(message, errors=[{"field": field, "message": message}])


def _jsonb(document: Any) -> Any:
    from psycopg.types.json import Jsonb

    return None if document is None else Jsonb(document)


def _group(tx: db.Tx, group_id: UUID, *, for_update: bool = False) -> None:
    if clients_store.get_group(tx, group_id, for_update=for_update) is None:
        raise errors.NotFound("No such client group")


def _outsiders(tx: db.Tx, group_id: UUID, owners: list[Any]) -> list[tuple[int, list[UUID]]]:
    """For each ownership (None: the item names none) that names someone outside the household: (its position,
    who). One query for all, the products' own (holdings store.owners_outside_group)."""
    named = {o for ownership in owners if ownership is not None for o in ownership_owner_ids(ownership)}
    outside = set(holdings_store.owners_outside_group(tx, group_id, sorted(named))) if named else set()
    return [(i, [o for o in ownership_owner_ids(ownership) if o in outside])
            for i, ownership in enumerate(owners) if ownership is not None
            and any(o in outside for o in ownership_owner_ids(ownership))]


def _not_in_group(field: str, who: list[UUID]) -> errors.Unprocessable:
    return _invalid(field, "every owner must belong to the client group; not in it: " + ", ".join(map(str, who)))


def _check_owners(tx: db.Tx, group_id: UUID, ownership: Any) -> None:
    """Every owner named belongs to the household: said here first (422), kept by the database whoever writes."""
    outside = _outsiders(tx, group_id, [ownership])
    if outside:
        raise _not_in_group("associated_product_owners", outside[0][1])


def _row_values(body: Any) -> dict[str, Any]:
    owners = body.associated_product_owners
    return {"item_type": body.item_type, "item_category": body.item_category,
            "data_content": _jsonb(body.data_content),
            "associated_product_owners": _jsonb(ownership_document(owners) if owners is not None else None)}


def list_items(ctx: RequestContext, group_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(ITEMS, query, ctx)
    with db.transaction(ctx) as tx:
        _group(tx, group_id)
        found = store.list_items(tx, group_id, keyset, item_type=query.type, category=query.category, q=query.q)
    return keyset.page(found)


def create_item(ctx: RequestContext, group_id: UUID, body: Any) -> dict[str, Any]:
    """When the item names owners, the household is locked first (as removing a member locks it), so none of them
    can leave while the item is written."""
    with db.transaction(ctx) as tx:
        _group(tx, group_id, for_update=body.associated_product_owners is not None)
        _check_owners(tx, group_id, body.associated_product_owners)
        row = store.insert_item(tx, {"client_group_id": group_id, **_row_values(body)})
        audit.record(tx, "information_item.create", "information_item", row["id"], None, row)
    return row


def batch_create(ctx: RequestContext, group_id: UUID, body: Any) -> list[UUID]:
    """1 to 100 items of one household, all or nothing: an item the database refuses refuses the batch. Ids in the
    order of the request."""
    items = body.items
    with db.transaction(ctx) as tx:
        _group(tx, group_id, for_update=any(item.associated_product_owners is not None for item in items))
        outside = _outsiders(tx, group_id, [item.associated_product_owners for item in items])
        if outside:
            i, who = outside[0]
            raise _not_in_group(f"items.{i}.associated_product_owners", who)
        ids = [uuid.uuid4() for _ in items]
        values = [_row_values(item) for item in items]
        written = store.bulk_insert_items(tx, group_id, [
            (i, v["item_type"], v["item_category"], v["data_content"], v["associated_product_owners"])
            for i, v in zip(ids, values, strict=True)])
        audit.record(tx, "client_group.information_items_batch", "client_group", group_id, None,
                     {"written": written, "ids": ids})
    return ids


def get_item(ctx: RequestContext, item_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_item(tx, item_id)
    if row is None:
        raise errors.NotFound("No such information item")
    return row


def update_item(ctx: RequestContext, item_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    """The content is replaced whole. After the change the item must still name owners exactly when its type asks
    for them (a CHECK, information_items_owners_by_type), all members of its household."""

    def stored(changes: dict[str, Any]) -> dict[str, Any]:
        if changes.get("associated_product_owners") is not None:  # as the row holds it, to compare with it
            changes["associated_product_owners"] = ownership_document(body.associated_product_owners)
        return changes

    def check(before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        item_type = changes.get("item_type", before["item_type"])
        owners = changes.get("associated_product_owners", before["associated_product_owners"])
        problem = owners_match_type(item_type, owners)
        if problem is not None:
            raise _invalid("associated_product_owners", problem)
        if changes.get("associated_product_owners") is not None:
            # The household's lock, as removing a member takes it: no member an item names can leave meanwhile.
            clients_store.get_group(tx, before["client_group_id"], for_update=True)
            _check_owners(tx, before["client_group_id"], body.associated_product_owners)
        return {k: _jsonb(v) if k in ("data_content", "associated_product_owners") else v
                for k, v in changes.items()}

    with db.transaction(ctx) as tx:
        return patch_row(tx, item_id, body, if_match, resource="information_item", what="information item",
                         get=store.get_item, update=store.update_item, nullable=NULLABLE_ITEM_FIELDS,
                         stored=stored, check=check)


def delete_item(ctx: RequestContext, item_id: UUID) -> None:
    """Its search words go with it (trigger information_items_terms_delete)."""
    with db.transaction(ctx) as tx:
        before = store.get_item(tx, item_id, for_update=True)
        if before is None:
            raise errors.NotFound("No such information item")
        store.delete_item(tx, item_id)
        audit.record(tx, "information_item.delete", "information_item", item_id, before, None)
