"""Rules for client groups, product owners and membership. Each function is one audited transaction.

Some rules only the database enforces (its answer becomes a 409 or 422 through errors.from_database); each is
named in the docstring of the function it stops. `updated_at` is set by the touch_updated_at triggers.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.clients import store
from chalicelib.clients.models import GROUPS, NULLABLE_GROUP_FIELDS, NULLABLE_OWNER_FIELDS, OWNERS
from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.core.versioning import patch_row


def _check_adviser(tx: db.Tx, adviser_id: UUID | None) -> None:
    if adviser_id is not None and not store.adviser_exists(tx, adviser_id):
        raise errors.Unprocessable("The adviser must be an active admin or adviser of the firm",
                                   errors=[{"field": "adviser_id", "message": "no such adviser"}])


# --- client groups ---

def list_groups(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The household list; with include=fum each row also carries its money, live. Sorting by fum needs
    include=fum (422 otherwise): a sort never changes which fields a row has."""
    keyset = Keyset.parse(GROUPS, query, ctx)
    with_fum = query.include == "fum"
    if keyset.sort.removeprefix("-") == "fum" and not with_fum:
        raise errors.Unprocessable("Sorting by fum needs include=fum", errors=[
            {"field": "sort", "message": "sort=fum and sort=-fum need include=fum"}])
    list_rows = store.list_groups_with_fum if with_fum else store.list_groups
    with db.transaction(ctx) as tx:
        rows = list_rows(tx, keyset, status=query.status, type_=query.type, q=query.q, adviser_id=query.adviser_id)
    return keyset.page(rows)


def create_group(ctx: RequestContext, data: Any) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        _check_adviser(tx, data.adviser_id)
        row = store.insert_group(tx, data.model_dump())
        audit.record(tx, "client_group.create", "client_group", row["id"], None, row)
    return row


def get_group(ctx: RequestContext, group_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_group(tx, group_id)
    if row is None:
        raise errors.NotFound("No such client group")
    return row


def update_group(ctx: RequestContext, group_id: UUID, data: Any, if_match: int) -> dict[str, Any]:
    """The adviser must be an active admin or adviser of the firm (checked here; the composite foreign key
    client_groups (firm_id, adviser_id) -> users also refuses another firm's user)."""

    def check(before: dict[str, Any], changes: dict[str, Any]) -> None:
        if "adviser_id" in changes:
            _check_adviser(tx, changes["adviser_id"])

    with db.transaction(ctx) as tx:
        return patch_row(tx, group_id, data, if_match, resource="client_group", what="client group",
                         get=store.get_group, update=store.update_group, nullable=NULLABLE_GROUP_FIELDS, check=check)


def delete_group(ctx: RequestContext, group_id: UUID) -> None:
    """Refused (409) while the group has product owners (checked here) or products: the foreign key
    products (firm_id, client_group_id) -> client_groups is ON DELETE RESTRICT (migration 0004)."""
    with db.transaction(ctx) as tx:
        before = store.get_group(tx, group_id, for_update=True)
        if before is None:
            raise errors.NotFound("No such client group")
        members = store.group_member_count(tx, group_id)
        if members:
            raise errors.Conflict(f"The client group still has {members} product owner(s); remove them first")
        store.delete_group(tx, group_id)
        audit.record(tx, "client_group.delete", "client_group", group_id, before, None)


# --- product owners ---

def list_owners(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(OWNERS, query, ctx)
    with db.transaction(ctx) as tx:
        rows = store.list_owners(tx, keyset, status=query.status, q=query.q)
    return keyset.page(rows)


def create_owner(ctx: RequestContext, data: Any) -> dict[str, Any]:
    values = data.model_dump()
    if values["email"]:
        values["email"] = values["email"].lower()
    with db.transaction(ctx) as tx:
        row = store.insert_owner(tx, values)
        audit.record(tx, "product_owner.create", "product_owner", row["id"], None, row)
    return row


def get_owner(ctx: RequestContext, owner_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_owner(tx, owner_id)
    if row is None:
        raise errors.NotFound("No such product owner")
    return row


_PERSONAL_FIELDS = ("first_name", "surname", "known_as", "date_of_birth", "email", "phone")


def update_owner(ctx: RequestContext, owner_id: UUID, data: Any, if_match: int) -> dict[str, Any]:
    """Only an admin sets or clears a retention hold (403). An erased person's name, contact details and date of
    birth stay erased (409; the CHECK product_owners_erased_holds_nothing refuses them from raw SQL too)."""
    def stored(changes: dict[str, Any]) -> dict[str, Any]:
        return {**changes, "email": changes["email"].lower()} if changes.get("email") else changes

    def check(before: dict[str, Any], changes: dict[str, Any]) -> None:
        if "retention_hold" in changes and not (ctx.principal and ctx.principal.is_admin()):
            raise errors.Forbidden("Only an admin sets or clears a retention hold")
        personal = sorted(f for f in _PERSONAL_FIELDS if f in changes)
        if before["erased_at"] is not None and personal:
            raise errors.Conflict(f"The person was erased; {', '.join(personal)} cannot be set again")

    with db.transaction(ctx) as tx:
        return patch_row(tx, owner_id, data, if_match, resource="product_owner", what="product owner",
                         get=store.get_owner, update=store.update_owner, nullable=NULLABLE_OWNER_FIELDS,
                         stored=stored, check=check)


def delete_owner(ctx: RequestContext, owner_id: UUID) -> None:
    """Refused (409) while the person belongs to a client group (checked here; the membership foreign key
    client_group_product_owners -> product_owners is ON DELETE RESTRICT as well)."""
    with db.transaction(ctx) as tx:
        before = store.get_owner(tx, owner_id, for_update=True)
        if before is None:
            raise errors.NotFound("No such product owner")
        groups = store.owner_group_count(tx, owner_id)
        if groups:
            raise errors.Conflict(f"The product owner belongs to {groups} client group(s); remove them first")
        store.delete_owner(tx, owner_id)
        audit.record(tx, "product_owner.delete", "product_owner", owner_id, before, None)


# --- membership ---

def _group_and_owner(tx: db.Tx, group_id: UUID, owner_id: UUID) -> None:
    if store.get_group(tx, group_id, for_update=True) is None:
        raise errors.NotFound("No such client group")
    if store.get_owner(tx, owner_id) is None:
        raise errors.NotFound("No such product owner")


def add_member(ctx: RequestContext, group_id: UUID, owner_id: UUID) -> tuple[dict[str, Any], bool]:
    """PUT is idempotent: (the owner, True when newly added)."""
    with db.transaction(ctx) as tx:
        _group_and_owner(tx, group_id, owner_id)
        link = store.add_member(tx, group_id, owner_id)
        if link is not None:
            audit.record(tx, "client_group.add_product_owner", "client_group", group_id, None, link)
        else:
            # Nothing changed, but every write request leaves its event: record that it was a no-op.
            audit.record(tx, "client_group.add_product_owner", "client_group", group_id,
                         {"product_owner_id": owner_id}, {"product_owner_id": owner_id})
        owner = store.get_owner(tx, owner_id)
    return owner, link is not None


def remove_member(ctx: RequestContext, group_id: UUID, owner_id: UUID) -> None:
    """Refused (409) while a product of the group, managed or unmanaged, names the person in its ownership: only the
    database knows, through the trigger membership_products_check (function membership_check_products, migrations
    0004 and 0021), which raises a foreign_key_violation on constraint products_owners_in_group."""
    with db.transaction(ctx) as tx:
        _group_and_owner(tx, group_id, owner_id)
        link = store.remove_member(tx, group_id, owner_id)
        if link is None:
            raise errors.NotFound("The product owner is not in this client group")
        audit.record(tx, "client_group.remove_product_owner", "client_group", group_id, link, None)


def list_members(ctx: RequestContext, group_id: UUID) -> list[dict[str, Any]]:
    with db.transaction(ctx) as tx:
        if store.get_group(tx, group_id) is None:
            raise errors.NotFound("No such client group")
        return store.list_members(tx, group_id)
