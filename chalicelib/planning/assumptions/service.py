"""Rules for capital market assumption (CMA) sets and portfolio models. Each public function that takes a
RequestContext is one audited transaction.

- A set is made as a draft (version 1 of its own line), changed while it is a draft, and approved once by an
  administrator (who and when are recorded). An approved set is never changed (409) or deleted; a change is a new
  draft version made from any set (`new_version`: its parent, one more than its line's highest version).
- A correlation matrix is checked by models.correlation_problem (square, symmetric, unit diagonal, [-1, 1],
  positive semi-definite); the database repeats all but the eigenvalue test.
- A portfolio model allocates across the asset classes of one approved set, weights summing to exactly 100.00;
  its expected return and volatility are derived from that set on every read (`portfolio_figures`).
"""
from __future__ import annotations

import uuid
from decimal import Decimal, localcontext
from typing import Any
from uuid import UUID

from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.core.versioning import patch_row
from chalicelib.planning.assumptions import store
from chalicelib.planning.assumptions.models import CMA_SETS, NULLABLE_MODEL_FIELDS, PORTFOLIO_MODELS

APPROVED = "approved"
FIGURE_PLACES = Decimal("0.000001")


def _invalid(field: str, message: str) -> errors.Unprocessable:
    return errors.Unprocessable(message, errors=[{"field": field, "message": message}])


def _no_set() -> errors.NotFound:
    return errors.NotFound("No such CMA set")


def _no_model() -> errors.NotFound:
    return errors.NotFound("No such portfolio model")


# --- the arithmetic ---

def portfolio_figures(classes: list[dict[str, Any]], correlations: list[list[Decimal]],
                      weights: dict[str, Decimal]) -> tuple[Decimal, Decimal]:
    """(expected return, volatility) of a portfolio holding `weights` (percent by class code) of a set's `classes`
    (code, expected_return mu, volatility s, in the matrix's order): sum of w_i mu_i, and sqrt(w' S w) with
    S_ij = rho_ij s_i s_j, weights as fractions; exact decimals, rounded half-even to six places at the end."""
    with localcontext() as ctx:
        ctx.prec = 50
        w = [weights.get(c["code"], Decimal(0)) / 100 for c in classes]
        mu = sum((wi * c["expected_return"] for wi, c in zip(w, classes, strict=True)), Decimal(0))
        variance = Decimal(0)
        for i, ci in enumerate(classes):
            for j, cj in enumerate(classes):
                variance += w[i] * w[j] * correlations[i][j] * ci["volatility"] * cj["volatility"]
        volatility = variance.sqrt() if variance > 0 else Decimal(0)
        return mu.quantize(FIGURE_PLACES), volatility.quantize(FIGURE_PLACES)


# --- CMA sets ---

def _class_rows(classes: Any) -> list[dict[str, Any]]:
    return [c.model_dump() for c in classes]


def create_set(ctx: RequestContext, body: Any) -> dict[str, Any]:
    set_id = uuid.uuid4()
    values = {"id": set_id, "name": body.name, "root_id": set_id, "parent_id": None, "set_version": 1,
              "effective_date": body.effective_date, "inflation": body.inflation, "correlations": body.correlations}
    with db.transaction(ctx) as tx:
        store.insert_set(tx, values)
        store.replace_classes(tx, set_id, _class_rows(body.asset_classes))
        row = store.get_set(tx, set_id)
        audit.record(tx, "cma_set.create", "cma_set", set_id, None, row)
    return row


def get_set(ctx: RequestContext, set_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_set(tx, set_id)
    if row is None:
        raise _no_set()
    return row


def list_sets(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(CMA_SETS, query, ctx)
    with db.transaction(ctx) as tx:
        found = store.list_sets(tx, keyset, status=query.status, root_id=query.root_id)
    return keyset.page(found)


def update_set(ctx: RequestContext, set_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    """A draft's name, effective date, inflation, classes and matrix; an approved set is a 409 (make a new
    version). A matrix sent alone must be as large as the set's classes are many (422)."""

    def stored(changes: dict[str, Any]) -> dict[str, Any]:
        if "asset_classes" in changes:  # as the row holds them, to compare with what it holds
            changes["asset_classes"] = _class_rows(body.asset_classes)
        return changes

    def check(before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        if before["status"] == APPROVED:
            raise errors.Conflict("The CMA set is approved and never changes; make a new version "
                                  f"(POST /v1/cma-sets/{set_id}/versions) and change that")
        classes = changes.get("asset_classes", before["asset_classes"])
        if "correlations" in changes and len(changes["correlations"]) != len(classes):
            raise _invalid("correlations", f"has {len(changes['correlations'])} rows for the set's {len(classes)} "
                                           "asset classes")
        if "asset_classes" in changes and "correlations" not in changes:
            changes["correlations"] = body.correlations  # equal to the row's: sent, but unchanged
        return changes

    def update(tx: db.Tx, row_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
        store.update_set(tx, row_id, changes)
        if "asset_classes" in changes:
            store.replace_classes(tx, row_id, changes["asset_classes"])
        return store.get_set(tx, row_id)

    with db.transaction(ctx) as tx:
        return patch_row(tx, set_id, body, if_match, resource="cma_set", what="CMA set", get=store.get_set,
                         update=update, stored=stored, check=check)


def approve_set(ctx: RequestContext, set_id: UUID) -> dict[str, Any]:
    """Draft -> approved, by the administrator calling (recorded with the time); approving an approved set is a
    409."""
    principal = ctx.principal
    if principal is None or principal.kind != "user":
        raise errors.Forbidden("Only an administrator may approve a CMA set")
    with db.transaction(ctx) as tx:
        before = store.get_set(tx, set_id, for_update=True)
        if before is None:
            raise _no_set()
        if before["status"] == APPROVED:
            raise errors.Conflict(f"The CMA set was approved on {before['approved_at'].isoformat()}")
        store.approve_set(tx, set_id, principal.id)
        after = store.get_set(tx, set_id)
        audit.record(tx, "cma_set.approve", "cma_set", set_id, before, after)
    return after


def new_version(ctx: RequestContext, set_id: UUID) -> dict[str, Any]:
    """A new draft copied from the set (its parent), numbered one more than the highest version of its line."""
    with db.transaction(ctx) as tx:
        parent = store.get_set(tx, set_id)
        if parent is None:
            raise _no_set()
        store.get_set(tx, parent["root_id"], for_update=True)  # one new version of a line at a time
        new_id = uuid.uuid4()
        store.insert_set(tx, {"id": new_id, "name": parent["name"], "root_id": parent["root_id"],
                              "parent_id": set_id, "set_version": store.next_set_version(tx, parent["root_id"]),
                              "effective_date": parent["effective_date"], "inflation": parent["inflation"],
                              "correlations": parent["correlations"]})
        store.replace_classes(tx, new_id, parent["asset_classes"])
        row = store.get_set(tx, new_id)
        audit.record(tx, "cma_set.new_version", "cma_set", new_id, None, row)
    return row


def approved_set(tx: db.Tx, set_id: UUID, field: str) -> dict[str, Any]:
    """For other rules in the caller's transaction: the firm's set `set_id`, which must exist and be approved
    (else a 422 naming `field`)."""
    row = store.get_set(tx, set_id)
    if row is None:
        raise _invalid(field, "no such CMA set")
    if row["status"] != APPROVED:
        raise _invalid(field, "the CMA set is not approved: only approved assumptions may be used")
    return row


# --- portfolio models ---

def _with_figures(tx: db.Tx, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The models with their allocations and the figures derived from their sets (three statements for a page)."""
    if not found:
        return []
    allocations = store.allocations_of(tx, [m["id"] for m in found])
    sets = store.get_sets(tx, list({m["cma_set_id"] for m in found}))
    out = []
    for m in found:
        cma = sets[m["cma_set_id"]]
        weights = {a["asset_class"]: a["weight"] for a in allocations[m["id"]]}
        mu, vol = portfolio_figures(cma["asset_classes"], cma["correlations"], weights)
        out.append({**m, "allocations": allocations[m["id"]], "expected_return": mu, "volatility": vol})
    return out


def models_in(tx: db.Tx, model_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """For plans, in the caller's transaction: the firm's models among `model_ids`, each with its allocations and
    derived figures, by id."""
    found = store.get_models(tx, model_ids)
    return {m["id"]: m for m in _with_figures(tx, list(found.values()))}


def _check_allocations(tx: db.Tx, set_id: UUID, allocations: list[Any]) -> None:
    cma = approved_set(tx, set_id, "cma_set_id")
    codes = {c["code"] for c in cma["asset_classes"]}
    for i, a in enumerate(allocations):
        if a.asset_class not in codes:
            raise _invalid(f"allocations.{i}.asset_class",
                           f"{a.asset_class!r} is not an asset class of the CMA set: " + ", ".join(sorted(codes)))


def create_model(ctx: RequestContext, body: Any) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        _check_allocations(tx, body.cma_set_id, body.allocations)
        row = store.insert_model(tx, body.model_dump(exclude={"allocations"}))
        store.replace_allocations(tx, row["id"], body.cma_set_id,
                                  [(a.asset_class, a.weight) for a in body.allocations])
        (out,) = _with_figures(tx, [row])
        audit.record(tx, "portfolio_model.create", "portfolio_model", row["id"], None, out)
    return out


def get_model(ctx: RequestContext, model_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_model(tx, model_id)
        if row is None:
            raise _no_model()
        (out,) = _with_figures(tx, [row])
    return out


def list_models(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(PORTFOLIO_MODELS, query, ctx)
    with db.transaction(ctx) as tx:
        found, cursor = keyset.page(store.list_models(tx, keyset, cma_set_id=query.cma_set_id,
                                                      risk_level=query.risk_level))
        return _with_figures(tx, found), cursor


def update_model(ctx: RequestContext, model_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    """Name, description, risk level, and the allocation (on the same set or, with `cma_set_id`, on another
    approved set); the figures follow."""

    def get(tx: db.Tx, row_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        row = store.get_model(tx, row_id, for_update=for_update)
        return _with_figures(tx, [row])[0] if row else None

    def stored(changes: dict[str, Any]) -> dict[str, Any]:
        if "allocations" in changes:
            changes["allocations"] = [a.model_dump() for a in body.allocations]
        return changes

    def check(before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        if "allocations" in changes:
            order = {a["asset_class"]: i for i, a in enumerate(changes["allocations"])}
            _check_allocations(tx, changes.get("cma_set_id", before["cma_set_id"]), body.allocations)
            if set(order) == {a["asset_class"] for a in before["allocations"]} and all(
                    a["weight"] == changes["allocations"][order[a["asset_class"]]]["weight"]
                    for a in before["allocations"]):
                del changes["allocations"]  # the same weights, in another order
        return changes

    def update(tx: db.Tx, row_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
        row = store.update_model(tx, row_id, changes)
        if "allocations" in changes:
            store.replace_allocations(tx, row_id, row["cma_set_id"],
                                      [(a["asset_class"], a["weight"]) for a in changes["allocations"]])
        return _with_figures(tx, [row])[0]

    with db.transaction(ctx) as tx:
        return patch_row(tx, model_id, body, if_match, resource="portfolio_model", what="portfolio model", get=get,
                         update=update, nullable=NULLABLE_MODEL_FIELDS, stored=stored, check=check)
