"""SQL for actions (row-level security scopes every query to the firm). An action is completed exactly when
completed_at is set: the CHECK actions_completed_when_completed_at (migration 0022)."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from chalicelib.core import rows
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

ACTION_COLUMNS = ("id, client_group_id, action_name, description, owner, status, target_date, completed_at, "
                  "created_at, updated_at, version")


def get_action(tx: Tx, action_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    return rows.get(tx, "actions", action_id, ACTION_COLUMNS, for_update=for_update)


def insert_action(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    return rows.insert(tx, "actions", values, ACTION_COLUMNS)


def update_action(tx: Tx, action_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    return rows.update(tx, "actions", action_id, changes, ACTION_COLUMNS)


def set_completion(tx: Tx, action_id: UUID, *, completed: bool) -> dict[str, Any]:
    """Completed now (status completed, completed_at the transaction's time), or outstanding again (neither)."""
    return tx.one("UPDATE actions SET status = CASE WHEN %(c)s THEN 'completed' ELSE 'outstanding' END, "
                  "completed_at = CASE WHEN %(c)s THEN now() END, version = version + 1 WHERE id = %(id)s "
                  "RETURNING " + ACTION_COLUMNS, {"c": completed, "id": action_id})


def delete_action(tx: Tx, action_id: UUID) -> None:
    rows.delete(tx, "actions", action_id)


def list_actions(tx: Tx, group_id: UUID, keyset: Keyset, *, status: str | None, owner: str | None,
                 due_before: date | None, overdue: bool | None, today: date) -> list[dict[str, Any]]:
    """Overdue: outstanding with a target date before `today`."""
    from psycopg import sql

    query = sql.SQL(
        "SELECT " + ACTION_COLUMNS + ", target_date_order FROM actions WHERE client_group_id = %(g)s "
        "AND (%(status)s::text IS NULL OR status = %(status)s) AND (%(owner)s::text IS NULL OR owner = %(owner)s) "
        "AND (%(due)s::date IS NULL OR target_date < %(due)s) "
        "AND (%(overdue)s::boolean IS NULL OR (status = 'outstanding' AND target_date IS NOT NULL "
        "AND target_date < %(today)s) = %(overdue)s) "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"g": group_id, "status": status, "owner": owner, "due": due_before, "overdue": overdue,
                          "today": today, **keyset.params()})


def bulk_insert_actions(tx: Tx, actions: list[tuple[Any, ...]]) -> int:
    """(id, client group id, name, description, owner, status, target date, completed_at) each, of any households,
    in one statement (the demo's loader)."""
    if not actions:
        return 0
    return tx.execute(
        "INSERT INTO actions (id, firm_id, client_group_id, action_name, description, owner, status, target_date, "
        "completed_at) SELECT u.i, current_firm_id(), u.g, u.n, u.d, u.o, u.s, u.t, u.c "
        "FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::date[], "
        "%s::timestamptz[]) AS u(i, g, n, d, o, s, t, c)",
        tuple(list(c) for c in zip(*actions, strict=True))).rowcount
