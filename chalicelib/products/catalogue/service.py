"""Rules for the catalogue: providers, funds and portfolio templates share one shape; a template generation is
never edited once made. Each public function is one audited transaction."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset, like_pattern
from chalicelib.core.versioning import patch_row
from chalicelib.products.catalogue import store

_CATALOGUE = {  # kind -> (audit resource, what)
    "provider": ("provider", "provider"),
    "fund": ("fund", "fund"),
    "template": ("portfolio_template", "portfolio template"),
}


# --- catalogue: providers, funds, templates share one shape ---

def create_catalogue(ctx: RequestContext, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    resource, _ = _CATALOGUE[kind]
    with db.transaction(ctx) as tx:
        row = store.insert_item(tx, kind, values)
        audit.record(tx, f"{resource}.create", resource, row["id"], None, row)
    return row


def get_catalogue(ctx: RequestContext, kind: str, row_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_item(tx, kind, row_id)
    if row is None:
        raise errors.NotFound(f"No such {_CATALOGUE[kind][1]}")
    return row


def update_catalogue(ctx: RequestContext, kind: str, row_id: UUID, body: Any, if_match: int,
                     nullable: frozenset[str]) -> dict[str, Any]:
    resource, what = _CATALOGUE[kind]
    with db.transaction(ctx) as tx:
        return patch_row(tx, row_id, body, if_match, resource=resource, what=what, nullable=nullable,
                         get=lambda tx, i, **lock: store.get_item(tx, kind, i, **lock),
                         update=lambda tx, i, changes: store.update_item(tx, kind, i, changes))


def delete_catalogue(ctx: RequestContext, kind: str, row_id: UUID) -> None:
    """A provider or fund that products use cannot go (409 from the foreign key); mark it inactive instead."""
    resource, what = _CATALOGUE[kind]
    with db.transaction(ctx) as tx:
        before = store.get_item(tx, kind, row_id, for_update=True)
        if before is None:
            raise errors.NotFound(f"No such {what}")
        store.delete_item(tx, kind, row_id)
        audit.record(tx, f"{resource}.delete", resource, row_id, before, None)


def list_providers(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    """By name; `q` matches a part of the name literally (its % and _ are not wildcards), case aside."""
    keyset = Keyset.parse(store.PROVIDER_LIST, query, ctx)
    with db.transaction(ctx) as tx:
        found = store.list_providers(tx, keyset, status=query.status, like=like_pattern(query.q))
    return keyset.page(found)


def list_funds(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    """By name; `isin` finds one exactly, `q` as for providers."""
    keyset = Keyset.parse(store.FUND_LIST, query, ctx)
    with db.transaction(ctx) as tx:
        found = store.list_funds(tx, keyset, isin=query.isin, status=query.status, like=like_pattern(query.q))
    return keyset.page(found)


def list_templates(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(store.TEMPLATE_LIST, query, ctx)
    with db.transaction(ctx) as tx:
        found = store.list_templates(tx, keyset)
    return keyset.page(found)


def list_generations(ctx: RequestContext, template_id: UUID) -> list[dict[str, Any]]:
    with db.transaction(ctx) as tx:
        if not store.item_exists(tx, "template", template_id):
            raise errors.NotFound("No such portfolio template")
        return store.generations(tx, template_id=template_id)


def create_generation(ctx: RequestContext, template_id: UUID, body: Any) -> dict[str, Any]:
    """A new generation; generations are never edited once made (products copy them).

    The model checks that the weightings sum to exactly 100.00; the database checks it again at commit (the
    deferred constraint trigger generation_weights_sum_100, migration 0004), and refuses any edit of a generation
    a product uses (trigger generation_in_use, 0004)."""
    funds = [(f.fund_id, f.target_weighting) for f in body.funds]
    with db.transaction(ctx) as tx:
        if not store.item_exists(tx, "template", template_id, for_update=True):
            raise errors.NotFound("No such portfolio template")
        missing = store.missing_funds(tx, [f for f, _ in funds])
        if missing:
            message = f"unknown fund(s): {', '.join(map(str, missing))}"
            raise errors.Unprocessable(message, errors=[{"field": "funds", "message": message}])
        number = store.next_generation_number(tx, template_id)
        gen_id = store.insert_generation(tx, template_id, number, body.name, funds)
        row = store.generations(tx, generation_id=gen_id)[0]
        audit.record(tx, "portfolio_template.create_generation", "portfolio_template", template_id, None, row)
    return row
