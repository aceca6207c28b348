"""SQL for plans: one row per version, never changed (migration 0030's trigger plans_immutable refuses UPDATE
whoever asks); RLS scopes all. The app role may only read and add them."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

SUMMARY_COLUMNS = ("id, client_group_id, root_plan_id, parent_plan_id, version, name, status, as_of, cma_set_id, "
                   "created_at, created_by_type, created_by")


def _sql() -> Any:
    from psycopg import sql

    return sql


def insert_plan(tx: Tx, values: dict[str, Any]) -> None:
    """The version as given, its id and created_at too (the caller has the row: nothing is read back)."""
    from psycopg.types.json import Jsonb

    from chalicelib.core.jsonutil import dumps

    tx.execute("INSERT INTO plans (id, firm_id, client_group_id, root_plan_id, parent_plan_id, version, name, status, "
               "as_of, cma_set_id, inputs, created_at, created_by_type, created_by) VALUES (%(id)s, current_firm_id(), "
               "%(client_group_id)s, %(root_plan_id)s, %(parent_plan_id)s, %(version)s, %(name)s, %(status)s, "
               "%(as_of)s, %(cma_set_id)s, %(inputs)s, %(created_at)s, %(created_by_type)s, %(created_by)s)",
               {**values, "inputs": Jsonb(values["inputs"], dumps=dumps)})


def get_plan(tx: Tx, plan_id: UUID) -> dict[str, Any] | None:
    return tx.one(f"SELECT {SUMMARY_COLUMNS}, inputs FROM plans WHERE id = %s", (plan_id,))


def next_version(tx: Tx, root_plan_id: UUID) -> int:
    """One more than the plan's highest version (the caller holds its household's lock)."""
    return tx.one("SELECT coalesce(max(version), 0) + 1 AS n FROM plans WHERE root_plan_id = %s",
                  (root_plan_id,))["n"]


def list_latest(tx: Tx, group_id: UUID, keyset: Keyset, *, status: str | None) -> list[dict[str, Any]]:
    """The latest version of each of the household's plans (whose status is `status`, when given)."""
    sql = _sql()
    query = sql.SQL("SELECT " + SUMMARY_COLUMNS + " FROM plans p WHERE p.client_group_id = %(g)s "
                    "AND NOT EXISTS (SELECT 1 FROM plans q WHERE q.root_plan_id = p.root_plan_id "
                    "AND q.version > p.version) AND (%(status)s::text IS NULL OR p.status = %(status)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"g": group_id, "status": status, **keyset.params()})


def list_versions(tx: Tx, root_plan_id: UUID, keyset: Keyset) -> list[dict[str, Any]]:
    sql = _sql()
    query = sql.SQL("SELECT " + SUMMARY_COLUMNS + " FROM plans WHERE root_plan_id = %(r)s "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"r": root_plan_id, **keyset.params()})


def database_now(tx: Tx) -> dict[str, Any]:
    """The transaction's time and today's date, as the database has them."""
    return tx.one("SELECT now() AS now, CURRENT_DATE AS today")
