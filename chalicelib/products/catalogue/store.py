"""SQL for the catalogue: providers, funds, portfolio templates and generations (RLS scopes all)."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx

PROVIDER_COLUMNS = "id, name, status, colour, created_at, updated_at, version"
FUND_COLUMNS = ("id, name, isin, risk_factor, ongoing_cost, currency, is_cash, status, created_at, updated_at, "
                "version")
TEMPLATE_COLUMNS = "id, name, description, status, created_at, updated_at, version"
PRODUCT_COLUMNS = ("id, client_group_id, name, product_type, provider_id, plan_number, start_date, end_date, "
                   "notes, currency, fixed_fee_direct, fixed_fee_facilitated, percentage_fee_facilitated, status, "
                   "ownership, template_generation_id, created_at, updated_at, version")
PORTFOLIO_FUND_COLUMNS = ("id, product_id, fund_id, target_weighting, start_date, end_date, created_at, "
                          "updated_at, version")
VALUATION_COLUMNS = "id, portfolio_fund_id, valuation_date, value, created_at, updated_at, version"
ACTIVITY_COLUMNS = ("id, portfolio_fund_id, activity_date, activity_type, amount, created_at, updated_at, "
                    "version")


def _after(after: list[Any] | None, i: int) -> Any:
    return after[i] if after else None


# --- catalogue lists (by name, then id) ---

def list_providers(tx: Tx, *, status: str | None, q: str | None, after: list[Any] | None,
                   limit: int) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {PROVIDER_COLUMNS} FROM providers "
                  "WHERE (%(status)s::text IS NULL OR status = %(status)s) "
                  "AND (%(q)s::text IS NULL OR name ILIKE '%%' || %(q)s || '%%') "
                  "AND (%(n)s::text IS NULL OR (name, id) > (%(n)s, %(id)s::uuid)) ORDER BY name, id LIMIT %(l)s",
                  {"status": status, "q": q, "n": _after(after, 0), "id": _after(after, 1), "l": limit + 1})


def list_funds(tx: Tx, *, isin: str | None, status: str | None, q: str | None, after: list[Any] | None,
               limit: int) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {FUND_COLUMNS} FROM funds "
                  "WHERE (%(isin)s::text IS NULL OR isin = %(isin)s) "
                  "AND (%(status)s::text IS NULL OR status = %(status)s) "
                  "AND (%(q)s::text IS NULL OR name ILIKE '%%' || %(q)s || '%%') "
                  "AND (%(n)s::text IS NULL OR (name, id) > (%(n)s, %(id)s::uuid)) ORDER BY name, id LIMIT %(l)s",
                  {"isin": isin, "status": status, "q": q, "n": _after(after, 0), "id": _after(after, 1),
                   "l": limit + 1})


def list_templates(tx: Tx, *, after: list[Any] | None, limit: int) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {TEMPLATE_COLUMNS} FROM portfolio_templates "
                  "WHERE (%(n)s::text IS NULL OR (name, id) > (%(n)s, %(id)s::uuid)) ORDER BY name, id LIMIT %(l)s",
                  {"n": _after(after, 0), "id": _after(after, 1), "l": limit + 1})


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


def missing_funds(tx: Tx, fund_ids: list[UUID]) -> list[UUID]:
    return [r["f"] for r in tx.all("SELECT f FROM unnest(%s::uuid[]) AS f WHERE NOT EXISTS "
                                   "(SELECT 1 FROM funds WHERE id = f)", (fund_ids,))]


