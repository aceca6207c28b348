"""Rules for the catalogue: providers, funds and portfolio templates share one shape; a template generation is
never edited once made. Each public function is one audited transaction."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core import audit, db, errors, rows
from chalicelib.core.context import RequestContext
from chalicelib.core.http import decode_cursor, page
from chalicelib.core.versioning import check_version, patch_changes, unchanged
from chalicelib.products.catalogue import store

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


