"""SQL for objectives, money goals' links and contributions (row-level security scopes every query to the firm).
The database holds the rules whoever writes (migration 0027): a money goal's fields all set and no typed progress
(CHECK objectives_money_goal_consistent), links only to assets of the goal's own household (trigger
objective_links_check), contributions above 0 and not dated in the future."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from chalicelib.core import rows
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

# The linked products' ids, sorted, travel with the row: a PATCH compares and the audit trail records them.
OBJECTIVE_COLUMNS = (
    "id, client_group_id, title, description, target_date, priority, status, progress_percentage, target_amount, "
    "currency::text AS currency, assumed_annual_return, is_money_goal, created_at, updated_at, version, plan_id, "
    "(SELECT p.root_plan_id FROM plans p WHERE p.id = objectives.plan_id) AS plan_root_id, "
    "ARRAY(SELECT l.product_id FROM objective_products l WHERE l.objective_id = objectives.id "
    "ORDER BY l.product_id) AS product_ids, "
    "ARRAY(SELECT l.unmanaged_product_id FROM objective_unmanaged_products l WHERE l.objective_id = objectives.id "
    "ORDER BY l.unmanaged_product_id) AS unmanaged_product_ids")
LINKS = ("product_ids", "unmanaged_product_ids")
CONTRIBUTION_COLUMNS = "id, objective_id, amount, contribution_date, note, created_at"


def get_objective(tx: Tx, objective_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    return tx.one("SELECT " + OBJECTIVE_COLUMNS + " FROM objectives WHERE id = %s"
                  + (" FOR UPDATE" if for_update else ""), (objective_id,))


def _set_links(tx: Tx, objective_id: UUID, changes: dict[str, Any]) -> None:
    """Replace the links the changes name (product_ids, unmanaged_product_ids)."""
    if changes.get("product_ids") is not None:
        tx.execute("DELETE FROM objective_products WHERE objective_id = %s", (objective_id,))
        tx.execute("INSERT INTO objective_products (firm_id, objective_id, product_id) "
                   "SELECT current_firm_id(), %s, p FROM unnest(%s::uuid[]) AS p",
                   (objective_id, changes["product_ids"]))
    if changes.get("unmanaged_product_ids") is not None:
        tx.execute("DELETE FROM objective_unmanaged_products WHERE objective_id = %s", (objective_id,))
        tx.execute("INSERT INTO objective_unmanaged_products (firm_id, objective_id, unmanaged_product_id) "
                   "SELECT current_firm_id(), %s, p FROM unnest(%s::uuid[]) AS p",
                   (objective_id, changes["unmanaged_product_ids"]))


def insert_objective(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    """A money goal without a currency takes the firm's base currency."""
    columns = {k: v for k, v in values.items() if k not in LINKS}
    money = columns.get("target_amount") is not None
    if money and columns.get("currency") is None:
        columns["currency"] = tx.one("SELECT firm_base_currency() AS c")["c"]
    row = rows.insert(tx, "objectives", columns, "id")
    _set_links(tx, row["id"], values)
    found = get_objective(tx, row["id"])
    assert found is not None
    return found


def update_objective(tx: Tx, objective_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    """The columns the changes name, the links they name, and the version raised once."""
    columns = {k: v for k, v in changes.items() if k not in LINKS}
    if columns:
        rows.update(tx, "objectives", objective_id, columns, "id")
    else:
        tx.execute("UPDATE objectives SET version = version + 1 WHERE id = %s", (objective_id,))
    _set_links(tx, objective_id, changes)
    found = get_objective(tx, objective_id)
    assert found is not None
    return found


def delete_objective(tx: Tx, objective_id: UUID) -> None:
    """Its links and contributions go with it (ON DELETE CASCADE)."""
    rows.delete(tx, "objectives", objective_id)


def base_currency(tx: Tx) -> str:
    return tx.one("SELECT firm_base_currency() AS c")["c"]


def list_objectives(tx: Tx, group_id: UUID, keyset: Keyset, *, status: str | None, priority: int | None,
                    due_before: date | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT " + OBJECTIVE_COLUMNS + ", target_date_order FROM objectives WHERE client_group_id = %(g)s "
        "AND (%(status)s::text IS NULL OR status = %(status)s) "
        "AND (%(priority)s::smallint IS NULL OR priority = %(priority)s) "
        "AND (%(due)s::date IS NULL OR target_date < %(due)s) "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"g": group_id, "status": status, "priority": priority, "due": due_before,
                          **keyset.params()})


# --- what a goal links and holds ---

def strangers(tx: Tx, group_id: UUID, product_ids: list[UUID],
              unmanaged_ids: list[UUID]) -> dict[str, list[tuple[UUID, str]]]:
    """The ids that are not products (managed) or unmanaged assets of the household, each with why: not the
    household's (another household's, another firm's, or no such product) or a liability."""
    found = tx.all(
        "SELECT 'product_ids' AS field, x.id, NULL::text AS kind, p.id IS NOT NULL AS ours "
        "FROM unnest(%(p)s::uuid[]) AS x(id) "
        "LEFT JOIN products p ON p.id = x.id AND p.client_group_id = %(g)s "
        "UNION ALL "
        "SELECT 'unmanaged_product_ids', x.id, u.kind, u.id IS NOT NULL "
        "FROM unnest(%(u)s::uuid[]) AS x(id) "
        "LEFT JOIN unmanaged_products u ON u.id = x.id AND u.client_group_id = %(g)s",
        {"p": product_ids, "u": unmanaged_ids, "g": group_id})
    out: dict[str, list[tuple[UUID, str]]] = {}
    for r in found:
        if not r["ours"]:
            out.setdefault(r["field"], []).append((r["id"], "not a product of this household"))
        elif r["kind"] == "liability":
            out.setdefault(r["field"], []).append((r["id"], "a liability: only assets count towards a goal"))
    return out


def linked_holdings(tx: Tx, objective_ids: list[UUID]) -> list[dict[str, Any]]:
    """Every product the goals link, with its status now and what decides whether it counts today (a managed
    product's start and end dates), and today's date (the database's)."""
    return tx.all(
        "SELECT l.objective_id, 'managed_product' AS source, p.id, p.name, p.status, p.currency::text AS currency, "
        "p.start_date, p.end_date, CURRENT_DATE AS today "
        "FROM objective_products l JOIN products p ON p.id = l.product_id WHERE l.objective_id = ANY(%(o)s) "
        "UNION ALL "
        "SELECT l.objective_id, 'unmanaged_product', u.id, u.name, u.status, u.currency::text, NULL, NULL, "
        "CURRENT_DATE "
        "FROM objective_unmanaged_products l JOIN unmanaged_products u ON u.id = l.unmanaged_product_id "
        "WHERE l.objective_id = ANY(%(o)s) ORDER BY 2, 4, 3", {"o": objective_ids})


def contributions_totals(tx: Tx, objective_ids: list[UUID]) -> dict[UUID, Any]:
    return {r["objective_id"]: r["total"] for r in tx.all(
        "SELECT objective_id, sum(amount) AS total FROM objective_contributions WHERE objective_id = ANY(%s) "
        "GROUP BY objective_id", (objective_ids,))}


def rates_today(tx: Tx, currencies: list[str]) -> tuple[date, str, dict[str, Any]]:
    """Today's date (the database's), the firm's base currency, and each currency's rate to it on today
    (fx_rate_on: 1 for the base currency, None when it has no rate on or before today)."""
    found = tx.all("SELECT CURRENT_DATE AS today, firm_base_currency() AS base, c.currency, "
                   "fx_rate_on(c.currency, CURRENT_DATE) AS rate "
                   "FROM (SELECT NULL::text AS currency UNION ALL SELECT unnest(%s::text[])) c", (currencies,))
    first = found[0]
    return first["today"], first["base"], {r["currency"]: r["rate"] for r in found if r["currency"] is not None}


def link_and_contribution_count(tx: Tx, objective_id: UUID) -> int:
    return tx.one("SELECT (SELECT count(*) FROM objective_products WHERE objective_id = %(o)s) "
                  "+ (SELECT count(*) FROM objective_unmanaged_products WHERE objective_id = %(o)s) "
                  "+ (SELECT count(*) FROM objective_contributions WHERE objective_id = %(o)s) AS n",
                  {"o": objective_id})["n"]


# --- contributions ---

def insert_contribution(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    return rows.insert(tx, "objective_contributions", values, CONTRIBUTION_COLUMNS)


def delete_contribution(tx: Tx, contribution_id: UUID) -> dict[str, Any] | None:
    """The row as it was, or None when there is none (contributions are never updated: the app role may not, so
    no FOR UPDATE lock either; the DELETE itself decides)."""
    return tx.one("DELETE FROM objective_contributions WHERE id = %s RETURNING " + CONTRIBUTION_COLUMNS,
                  (contribution_id,))


def list_contributions(tx: Tx, objective_id: UUID, keyset: Keyset) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT " + CONTRIBUTION_COLUMNS + " FROM objective_contributions WHERE objective_id = %(o)s "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"o": objective_id, **keyset.params()})


# --- in bulk (the demo's loader) ---

def bulk_insert_objectives(tx: Tx, objectives: list[tuple[Any, ...]]) -> int:
    """(id, client group id, title, description, target date, priority, status, typed progress, target amount,
    assumed annual return) each, in one statement; a money goal (with a target amount) in the firm's currency."""
    if not objectives:
        return 0
    return tx.execute(
        "INSERT INTO objectives (id, firm_id, client_group_id, title, description, target_date, priority, status, "
        "progress_percentage, target_amount, currency, assumed_annual_return) "
        "SELECT u.i, current_firm_id(), u.g, u.t, u.d, u.td, u.p, u.s, u.pp, u.a, "
        "CASE WHEN u.a IS NOT NULL THEN firm_base_currency() END, u.r "
        "FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::text[], %s::date[], %s::smallint[], %s::text[], "
        "%s::numeric[], %s::numeric[], %s::numeric[]) AS u(i, g, t, d, td, p, s, pp, a, r)",
        tuple(list(c) for c in zip(*objectives, strict=True))).rowcount


def bulk_link_products(tx: Tx, links: list[tuple[UUID, UUID]]) -> int:
    """(objective id, managed product id) pairs."""
    if not links:
        return 0
    return tx.execute("INSERT INTO objective_products (firm_id, objective_id, product_id) "
                      "SELECT current_firm_id(), o, p FROM unnest(%s::uuid[], %s::uuid[]) AS u(o, p)",
                      ([o for o, _ in links], [p for _, p in links])).rowcount


def bulk_insert_contributions(tx: Tx, contributions: list[tuple[Any, ...]]) -> int:
    """(id, objective id, amount, date, note) each."""
    if not contributions:
        return 0
    return tx.execute(
        "INSERT INTO objective_contributions (id, firm_id, objective_id, amount, contribution_date, note) "
        "SELECT u.i, current_firm_id(), u.o, u.a, u.d, u.n FROM unnest(%s::uuid[], %s::uuid[], %s::numeric[], "
        "%s::date[], %s::text[]) AS u(i, o, a, d, n)",
        tuple(list(c) for c in zip(*contributions, strict=True))).rowcount

