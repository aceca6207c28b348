"""SQL for the catalogue: providers, funds, portfolio templates and generations (RLS scopes all).

Providers, funds and templates are one shape of row: the single-row functions take the kind ("provider", "fund",
"template"), which names the table here and nowhere else."""
from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from chalicelib.core import rows
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset, ListSpec

PROVIDER_COLUMNS = "id, name, status, colour, created_at, updated_at, version"
FUND_COLUMNS = ("id, name, isin, risk_factor, ongoing_cost, currency, is_cash, status, created_at, updated_at, "
                "version")
TEMPLATE_COLUMNS = "id, name, description, status, created_at, updated_at, version"

_TABLES = {"provider": ("providers", PROVIDER_COLUMNS), "fund": ("funds", FUND_COLUMNS),
           "template": ("portfolio_templates", TEMPLATE_COLUMNS)}

# Every catalogue list is by name, then id.
_BY_NAME = {"name": (("name", "text"),)}
PROVIDER_LIST = ListSpec("providers", _BY_NAME, "name")
FUND_LIST = ListSpec("funds", _BY_NAME, "name")
TEMPLATE_LIST = ListSpec("portfolio_templates", _BY_NAME, "name")


# --- providers, funds and templates, one row at a time ---

def get_item(tx: Tx, kind: str, row_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    table, columns = _TABLES[kind]
    return rows.get(tx, table, row_id, columns, for_update=for_update)


def insert_item(tx: Tx, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    table, columns = _TABLES[kind]
    return rows.insert(tx, table, values, columns)


def update_item(tx: Tx, kind: str, row_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    table, columns = _TABLES[kind]
    return rows.update(tx, table, row_id, changes, columns)


def delete_item(tx: Tx, kind: str, row_id: UUID) -> None:
    rows.delete(tx, _TABLES[kind][0], row_id)


def item_exists(tx: Tx, kind: str, row_id: UUID, *, for_update: bool = False) -> bool:
    return rows.get(tx, _TABLES[kind][0], row_id, "id", for_update=for_update) is not None


# --- lists ---

def list_providers(tx: Tx, keyset: Keyset, *, status: str | None, like: str | None) -> list[dict[str, Any]]:
    """`like` is a pattern from pagination.like_pattern (its wildcards escaped), matched case-insensitively."""
    from psycopg import sql

    query = sql.SQL("SELECT " + PROVIDER_COLUMNS + " FROM providers "
                    "WHERE (%(status)s::text IS NULL OR status = %(status)s) "
                    "AND (%(like)s::text IS NULL OR name ILIKE %(like)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"status": status, "like": like, **keyset.params()})


def list_funds(tx: Tx, keyset: Keyset, *, isin: str | None, status: str | None,
               like: str | None) -> list[dict[str, Any]]:
    """`like` as for list_providers."""
    from psycopg import sql

    query = sql.SQL("SELECT " + FUND_COLUMNS + " FROM funds "
                    "WHERE (%(isin)s::text IS NULL OR isin = %(isin)s) "
                    "AND (%(status)s::text IS NULL OR status = %(status)s) "
                    "AND (%(like)s::text IS NULL OR name ILIKE %(like)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"isin": isin, "status": status, "like": like, **keyset.params()})


def list_templates(tx: Tx, keyset: Keyset) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT " + TEMPLATE_COLUMNS + " FROM portfolio_templates "
                    "WHERE {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                                 order=keyset.order_by())
    return tx.all(query, keyset.params())


# --- template generations ---

def next_generation_number(tx: Tx, template_id: UUID) -> int:
    return tx.one("SELECT coalesce(max(generation), 0) + 1 AS n FROM template_generations WHERE template_id = %s",
                  (template_id,))["n"]


def insert_generation(tx: Tx, template_id: UUID, generation: int, name: str | None,
                      funds: list[tuple[UUID, Any]]) -> UUID:
    gen_id = tx.one("INSERT INTO template_generations (firm_id, template_id, generation, name) "
                    "VALUES (current_firm_id(), %s, %s, %s) RETURNING id", (template_id, generation, name))["id"]
    tx.execute("INSERT INTO template_generation_funds (firm_id, generation_id, fund_id, target_weighting) "
               "SELECT current_firm_id(), %s, u.f, u.w FROM unnest(%s::uuid[], %s::numeric[]) AS u(f, w)",
               (gen_id, [f for f, _ in funds], [w for _, w in funds]))
    return gen_id


def generations(tx: Tx, template_id: UUID | None = None, generation_id: UUID | None = None) -> list[dict[str, Any]]:
    return tx.all(
        "SELECT g.id, g.template_id, g.generation, g.name, g.created_at, "
        "EXISTS (SELECT 1 FROM products p WHERE p.template_generation_id = g.id) AS in_use, "
        "coalesce((SELECT jsonb_agg(jsonb_build_object('fund_id', f.fund_id, 'target_weighting', "
        "f.target_weighting::text) ORDER BY f.target_weighting DESC, f.fund_id) "
        "FROM template_generation_funds f WHERE f.generation_id = g.id), '[]') AS funds "
        "FROM template_generations g WHERE (%(t)s::uuid IS NULL OR g.template_id = %(t)s) "
        "AND (%(g)s::uuid IS NULL OR g.id = %(g)s) ORDER BY g.generation",
        {"t": template_id, "g": generation_id})


def generation_exists(tx: Tx, generation_id: UUID) -> bool:
    return tx.one("SELECT EXISTS (SELECT 1 FROM template_generations WHERE id = %s) AS e", (generation_id,))["e"]


def missing_funds(tx: Tx, fund_ids: list[UUID]) -> list[UUID]:
    return [r["f"] for r in tx.all("SELECT f FROM unnest(%s::uuid[]) AS f WHERE NOT EXISTS "
                                   "(SELECT 1 FROM funds WHERE id = f)", (fund_ids,))]


# --- the demo catalogue (chalicelib/demo_products.py): by name, in bulk ---

def insert_providers_if_absent(tx: Tx, providers: list[tuple[UUID, str, str | None]]) -> None:
    """(id, name, colour) each; a name the firm already has (names are unique in a firm, case aside) is skipped."""
    tx.execute("INSERT INTO providers (id, firm_id, name, colour) SELECT u.i, current_firm_id(), u.n, u.c "
               "FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS u(i, n, c) "
               "ON CONFLICT (firm_id, lower(name)) DO NOTHING",
               ([p[0] for p in providers], [p[1] for p in providers], [p[2] for p in providers]))


def provider_ids_named(tx: Tx, names: list[str]) -> list[UUID]:
    """The ids of the providers of these names (case aside), in the order of `names`."""
    lowered = [name.lower() for name in names]
    return [r["id"] for r in tx.all("SELECT id FROM providers WHERE lower(name) = ANY(%(n)s::text[]) "
                                    "ORDER BY array_position(%(n)s::text[], lower(name))", {"n": lowered})]


def fund_ids_named(tx: Tx, names: list[str]) -> dict[str, UUID]:
    """Lowered name -> id of a fund of that name (the lowest id where several share it)."""
    return {r["name"]: r["id"] for r in tx.all(
        "SELECT DISTINCT ON (lower(name)) lower(name) AS name, id FROM funds WHERE lower(name) = ANY(%s::text[]) "
        "ORDER BY lower(name), id", ([n.lower() for n in names],))}


def bulk_insert_funds(tx: Tx, funds: list[tuple[UUID, str, str | None, int, bool]],
                      ongoing_cost: Decimal) -> None:
    """(id, name, isin, risk factor, is cash) each, all at one ongoing cost."""
    tx.execute("INSERT INTO funds (id, firm_id, name, isin, risk_factor, ongoing_cost, is_cash) "
               "SELECT u.i, current_firm_id(), u.n, u.s, u.r, %s, u.c FROM unnest(%s::uuid[], %s::text[], "
               "%s::text[], %s::int[], %s::boolean[]) AS u(i, n, s, r, c)",
               (ongoing_cost, *([f[k] for f in funds] for k in range(5))))


def cash_fund_ids(tx: Tx) -> set[UUID]:
    return {r["id"] for r in tx.all("SELECT id FROM funds WHERE is_cash")}


def latest_generation_of_template_named(tx: Tx, name: str) -> dict[str, Any] | None:
    """The template of this name (case aside) and its latest generation's id (`id`, None when it has none)."""
    return tx.one("SELECT t.id AS template_id, g.id FROM portfolio_templates t LEFT JOIN template_generations g "
                  "ON g.template_id = t.id WHERE lower(t.name) = lower(%s) "
                  "ORDER BY g.generation DESC NULLS LAST, t.id LIMIT 1", (name,))


def generation_funds(tx: Tx, generation_id: UUID) -> list[tuple[UUID, Decimal]]:
    """(fund id, target weighting) of a generation, the largest weighting first."""
    return [(r["fund_id"], r["target_weighting"]) for r in tx.all(
        "SELECT fund_id, target_weighting FROM template_generation_funds WHERE generation_id = %s "
        "ORDER BY target_weighting DESC, fund_id", (generation_id,))]
