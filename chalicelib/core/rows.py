"""Single-row SQL that every store needs (insert, get, update with version bump, delete), built once with
psycopg.sql from table and column identifiers that stores pass as constants, never from input."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx


def _sql() -> Any:
    from psycopg import sql

    return sql


def insert(tx: Tx, table: str, values: dict[str, Any], returning: str) -> dict[str, Any]:
    """INSERT with firm_id = current_firm_id(); RETURNING the given column list."""
    sql = _sql()
    names = [sql.Identifier("firm_id")] + [sql.Identifier(k) for k in values]
    params = [sql.SQL("current_firm_id()")] + [sql.Placeholder(k) for k in values]
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING " + returning).format(
        sql.Identifier(table), sql.SQL(", ").join(names), sql.SQL(", ").join(params))
    return tx.one(query, values)


def get(tx: Tx, table: str, row_id: UUID, columns: str, *, for_update: bool = False) -> dict[str, Any] | None:
    sql = _sql()
    query = sql.SQL("SELECT " + columns + " FROM {} WHERE id = %s" + (" FOR UPDATE" if for_update else "")).format(
        sql.Identifier(table))
    return tx.one(query, (row_id,))


def update(tx: Tx, table: str, row_id: UUID, changes: dict[str, Any], returning: str) -> dict[str, Any]:
    """UPDATE the given columns and bump version; RETURNING the given column list. updated_at is the table's
    touch_updated_at trigger's job."""
    sql = _sql()
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changes)
    query = sql.SQL("UPDATE {} SET {}, version = version + 1 WHERE id = %(id)s RETURNING " + returning).format(
        sql.Identifier(table), assignments)
    return tx.one(query, {**changes, "id": row_id})


def delete(tx: Tx, table: str, row_id: UUID) -> None:
    sql = _sql()
    tx.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table)), (row_id,))
