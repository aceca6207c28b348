"""SQL for CMA sets (with their asset classes and correlation matrix) and portfolio models (with their
allocations); RLS scopes all. The database's rules (migration 0030): an approved set and its classes never change
(triggers cma_sets_frozen, cma_asset_classes_frozen), a set's matrix is as large as its classes are many
(cma_sets_shape, at commit), a model uses an approved set (portfolio_models_set_approved) and its weights name
classes of that set and sum to 100.00 (foreign keys; portfolio_model_weights_sum_100, at commit)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from chalicelib.core import rows
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

SET_COLUMNS = ("id, name, root_id, parent_id, set_version, effective_date, inflation, correlations, status, "
               "approved_by, approved_at, created_at, updated_at, version")
MODEL_COLUMNS = "id, name, description, risk_level, cma_set_id, created_at, updated_at, version"

# A set's classes in position order, as JSON text values (numbers would pass through floats).
_CLASSES = ("(SELECT coalesce(json_agg(json_build_object('code', c.code, 'name', c.name, "
            "'expected_return', c.expected_return::text, 'volatility', c.volatility::text) ORDER BY c.position), "
            "'[]'::json) FROM cma_asset_classes c WHERE c.cma_set_id = s.id) AS asset_classes")


def _sql() -> Any:
    from psycopg import sql

    return sql


def _decimals(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is not None:
        row["asset_classes"] = [{**c, "expected_return": Decimal(c["expected_return"]),
                                 "volatility": Decimal(c["volatility"])} for c in row["asset_classes"]]
    return row


# --- CMA sets ---

def get_set(tx: Tx, set_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    """The set with its classes (`asset_classes`, in position order); locked when `for_update`."""
    lock = " FOR UPDATE OF s" if for_update else ""
    return _decimals(tx.one(f"SELECT {SET_COLUMNS}, {_CLASSES} FROM cma_sets s WHERE s.id = %s{lock}", (set_id,)))


def get_sets(tx: Tx, set_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """Several sets with their classes, by id (those visible)."""
    found = tx.all(f"SELECT {SET_COLUMNS}, {_CLASSES} FROM cma_sets s WHERE s.id = ANY (%s::uuid[])", (set_ids,))
    return {r["id"]: _decimals(r) for r in found}


def insert_set(tx: Tx, values: dict[str, Any]) -> None:
    """A new set (its id given: a first version is its own root)."""
    tx.execute("INSERT INTO cma_sets (id, firm_id, name, root_id, parent_id, set_version, effective_date, inflation, "
               "correlations) VALUES (%(id)s, current_firm_id(), %(name)s, %(root_id)s, %(parent_id)s, "
               "%(set_version)s, %(effective_date)s, %(inflation)s, %(correlations)s::numeric[])", values)


def update_set(tx: Tx, set_id: UUID, changes: dict[str, Any]) -> None:
    """The set's own columns (`correlations` a list of rows); the version goes up."""
    values = {k: v for k, v in changes.items() if k != "asset_classes"}
    if values:
        rows.update(tx, "cma_sets", set_id, values, "id")
    else:
        tx.execute("UPDATE cma_sets SET version = version + 1 WHERE id = %s", (set_id,))


def approve_set(tx: Tx, set_id: UUID, user_id: UUID) -> None:
    tx.execute("UPDATE cma_sets SET status = 'approved', approved_by = %s, approved_at = now(), "
               "version = version + 1 WHERE id = %s", (user_id, set_id))


def replace_classes(tx: Tx, set_id: UUID, classes: list[dict[str, Any]]) -> None:
    """The set's classes are these, numbered 1..n in order (a draft's only: the database refuses an approved
    set's)."""
    tx.execute("DELETE FROM cma_asset_classes WHERE cma_set_id = %s", (set_id,))
    tx.execute("INSERT INTO cma_asset_classes (firm_id, cma_set_id, position, code, name, expected_return, "
               "volatility) SELECT current_firm_id(), %s, u.p, u.c, u.n, u.r, u.v "
               "FROM unnest(%s::smallint[], %s::text[], %s::text[], %s::numeric[], %s::numeric[]) AS u(p, c, n, r, v)",
               (set_id, list(range(1, len(classes) + 1)), [c["code"] for c in classes], [c["name"] for c in classes],
                [c["expected_return"] for c in classes], [c["volatility"] for c in classes]))


def next_set_version(tx: Tx, root_id: UUID) -> int:
    """One more than the highest version of the line (the caller holds the root's lock)."""
    return tx.one("SELECT coalesce(max(set_version), 0) + 1 AS n FROM cma_sets WHERE root_id = %s",
                  (root_id,))["n"]


def list_sets(tx: Tx, keyset: Keyset, *, status: str | None, root_id: UUID | None) -> list[dict[str, Any]]:
    sql = _sql()
    query = sql.SQL("SELECT " + SET_COLUMNS + ", " + _CLASSES + " FROM cma_sets s "
                    "WHERE (%(status)s::text IS NULL OR s.status = %(status)s) "
                    "AND (%(root)s::uuid IS NULL OR s.root_id = %(root)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return [_decimals(r) for r in tx.all(query, {"status": status, "root": root_id, **keyset.params()})]


def set_status(tx: Tx, set_id: UUID) -> str | None:
    """The set's status; None when the firm has no such set."""
    row = tx.one("SELECT status FROM cma_sets WHERE id = %s", (set_id,))
    return row["status"] if row else None


# --- portfolio models ---

def get_model(tx: Tx, model_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    return rows.get(tx, "portfolio_models", model_id, MODEL_COLUMNS, for_update=for_update)


def get_models(tx: Tx, model_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    found = tx.all(f"SELECT {MODEL_COLUMNS} FROM portfolio_models WHERE id = ANY (%s::uuid[])", (model_ids,))
    return {r["id"]: r for r in found}


def insert_model(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    return rows.insert(tx, "portfolio_models", values, MODEL_COLUMNS)


def update_model(tx: Tx, model_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in changes.items() if k != "allocations"}
    if values:
        return rows.update(tx, "portfolio_models", model_id, values, MODEL_COLUMNS)
    return tx.one(f"UPDATE portfolio_models SET version = version + 1 WHERE id = %s RETURNING {MODEL_COLUMNS}",
                  (model_id,))


def replace_allocations(tx: Tx, model_id: UUID, set_id: UUID, allocations: list[tuple[str, Decimal]]) -> None:
    """The model's weights are these (code, weight) on the set `set_id` (the model's set by the end of the
    transaction)."""
    tx.execute("DELETE FROM portfolio_model_allocations WHERE portfolio_model_id = %s", (model_id,))
    tx.execute("INSERT INTO portfolio_model_allocations (firm_id, portfolio_model_id, cma_set_id, asset_class, weight) "
               "SELECT current_firm_id(), %s, %s, u.c, u.w FROM unnest(%s::text[], %s::numeric[]) AS u(c, w)",
               (model_id, set_id, [c for c, _ in allocations], [w for _, w in allocations]))


def allocations_of(tx: Tx, model_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """Each model's weights in the order of its set's classes."""
    found = tx.all("SELECT a.portfolio_model_id, a.asset_class, a.weight FROM portfolio_model_allocations a "
                   "JOIN cma_asset_classes c ON c.cma_set_id = a.cma_set_id AND c.code = a.asset_class "
                   "WHERE a.portfolio_model_id = ANY (%s::uuid[]) ORDER BY a.portfolio_model_id, c.position",
                   (model_ids,))
    out: dict[UUID, list[dict[str, Any]]] = {m: [] for m in model_ids}
    for r in found:
        out[r["portfolio_model_id"]].append({"asset_class": r["asset_class"], "weight": r["weight"]})
    return out


def list_models(tx: Tx, keyset: Keyset, *, cma_set_id: UUID | None,
                risk_level: int | None) -> list[dict[str, Any]]:
    sql = _sql()
    query = sql.SQL("SELECT " + MODEL_COLUMNS + " FROM portfolio_models "
                    "WHERE (%(set)s::uuid IS NULL OR cma_set_id = %(set)s) "
                    "AND (%(risk)s::integer IS NULL OR risk_level = %(risk)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"set": cma_set_id, "risk": risk_level, **keyset.params()})
