"""SQL for information items (row-level security scopes every query to the firm).

The content's rules, the owners-in-household rule and the search words are the database's too (migration 0022):
information_data_is_valid (a CHECK), information_items_dates_not_future and information_items_owners_in_group
(triggers), information_item_terms (kept by the triggers information_items_terms_*)."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core import rows
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

ITEM_COLUMNS = ("id, client_group_id, item_type, item_category, data_content, associated_product_owners, "
                "created_at, updated_at, version")


def get_item(tx: Tx, item_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    return rows.get(tx, "information_items", item_id, ITEM_COLUMNS, for_update=for_update)


def insert_item(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    return rows.insert(tx, "information_items", values, ITEM_COLUMNS)


def update_item(tx: Tx, item_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, "information_items", item_id, changes, ITEM_COLUMNS)


def delete_item(tx: Tx, item_id: UUID) -> None:
    rows.delete(tx, "information_items", item_id)


def bulk_insert_items(tx: Tx, group_id: UUID, items: list[tuple[Any, ...]]) -> int:
    """(id, item type, category, content (Jsonb), owners (Jsonb or None)) each, in one statement."""
    return tx.execute(
        "INSERT INTO information_items (id, firm_id, client_group_id, item_type, item_category, data_content, "
        "associated_product_owners) SELECT u.i, current_firm_id(), %s, u.t, u.c, u.d, u.o "
        "FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::jsonb[], %s::jsonb[]) AS u(i, t, c, d, o)",
        (group_id, *(list(c) for c in zip(*items, strict=True)))).rowcount


def bulk_insert_items_of_groups(tx: Tx, items: list[tuple[Any, ...]]) -> int:
    """(id, client group id, item type, category, content (Jsonb), owners (Jsonb or None)) each, of any households,
    in one statement (the demo's loader)."""
    if not items:
        return 0
    return tx.execute(
        "INSERT INTO information_items (id, firm_id, client_group_id, item_type, item_category, data_content, "
        "associated_product_owners) SELECT u.i, current_firm_id(), u.g, u.t, u.c, u.d, u.o "
        "FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::text[], %s::jsonb[], %s::jsonb[]) "
        "AS u(i, g, t, c, d, o)", tuple(list(c) for c in zip(*items, strict=True))).rowcount


# An item matches `q` when each of its words begins one of the item's terms (information_search_ranges: a word as
# the range of terms it begins, in collation "C"). Every comparison that touches a row is leakproof (uuid and text
# comparisons), so under row-level security the primary key (item_id, term) serves them as index conditions; a q
# without any word matches nothing.
_MATCHES_Q = (
    "(%(q)s::text IS NULL OR (EXISTS (SELECT 1 FROM information_search_ranges(%(q)s)) "
    "AND NOT EXISTS (SELECT 1 FROM information_search_ranges(%(q)s) w WHERE NOT EXISTS ("
    "SELECT 1 FROM information_item_terms t WHERE t.item_id = i.id AND t.term >= w.lo AND t.term < w.hi))))")


def list_items(tx: Tx, group_id: UUID, keyset: Keyset, *, item_type: str | None, category: str | None,
               q: str | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT " + ", ".join("i." + c for c in ITEM_COLUMNS.split(", ")) + " FROM information_items i "
        "WHERE i.client_group_id = %(g)s AND (%(type)s::text IS NULL OR i.item_type = %(type)s) "
        "AND (%(category)s::text IS NULL OR i.item_category = %(category)s) AND " + _MATCHES_Q + " "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"g": group_id, "type": item_type, "category": category, "q": q, **keyset.params()})


def terms_of(tx: Tx, item_id: UUID) -> list[str]:
    """The words the item is found by, in order."""
    return [r["term"] for r in tx.all("SELECT term FROM information_item_terms WHERE item_id = %s ORDER BY term",
                                      (item_id,))]


# --- for the household's net worth ---

def valued_assets_liabilities(tx: Tx, group_id: UUID | None = None) -> list[dict[str, Any]]:
    """The assets and liabilities items that hold a `latest_valuation` (a top-level key of their content, not
    null), of one household or (group_id None) of every household of the firm, by household and id. Each: id,
    client_group_id, item_category, latest_valuation (Decimal, >= 0: whether the item is an asset or a
    liability is the caller's to read from its category and content), owners (the ownership form, as products hold
    theirs) and data_content."""
    return tx.all(
        "SELECT id, client_group_id, item_category, (data_content ->> 'latest_valuation')::numeric AS "
        "latest_valuation, associated_product_owners AS owners, data_content FROM information_items "
        "WHERE item_type = 'assets_liabilities' AND data_content ->> 'latest_valuation' IS NOT NULL "
        "AND (%(g)s::uuid IS NULL OR client_group_id = %(g)s) ORDER BY client_group_id, id", {"g": group_id})
