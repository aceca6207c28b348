"""Rules for actions. Each public function is one audited transaction.

An action is outstanding, completed or cancelled, and completed exactly when completed_at is set (the CHECK
actions_completed_when_completed_at, migration 0022, holds it whoever writes). Completing stamps completed_at;
reopening a completed or cancelled action makes it outstanding and clears completed_at. A PATCH may cancel an
action or make a cancelled one outstanding again, but never touches completion.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.actions import store
from chalicelib.actions.models import ACTIONS, NULLABLE_ACTION_FIELDS, utc_today
from chalicelib.clients import store as clients_store
from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.core.versioning import patch_row


def _no_action() -> errors.NotFound:
    return errors.NotFound("No such action")


def list_actions(ctx: RequestContext, group_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(ACTIONS, query, ctx)
    with db.transaction(ctx) as tx:
        if clients_store.get_group(tx, group_id) is None:
            raise errors.NotFound("No such client group")
        found = store.list_actions(tx, group_id, keyset, status=query.status, owner=query.owner,
                                   due_before=query.due_before, overdue=query.overdue, today=utc_today())
    return keyset.page(found)


def create_action(ctx: RequestContext, group_id: UUID, body: Any) -> dict[str, Any]:
    """A new action is outstanding."""
    with db.transaction(ctx) as tx:
        if clients_store.get_group(tx, group_id) is None:
            raise errors.NotFound("No such client group")
        row = store.insert_action(tx, {"client_group_id": group_id, **body.model_dump()})
        audit.record(tx, "action.create", "action", row["id"], None, row)
    return row


def get_action(ctx: RequestContext, action_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_action(tx, action_id)
    if row is None:
        raise _no_action()
    return row


def update_action(ctx: RequestContext, action_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    """A completed action's status changes only by reopening it (409)."""

    def check(before: dict[str, Any], changes: dict[str, Any]) -> None:
        if "status" in changes and before["status"] == "completed":
            raise errors.Conflict("The action is completed; reopen it (POST /v1/actions/{id}/reopen) to change "
                                  "its status")

    with db.transaction(ctx) as tx:
        return patch_row(tx, action_id, body, if_match, resource="action", what="action", get=store.get_action,
                         update=store.update_action, nullable=NULLABLE_ACTION_FIELDS, check=check)


def set_completion(ctx: RequestContext, action_id: UUID, *, completed: bool) -> dict[str, Any]:
    """Complete an outstanding action (completed_at: now), or reopen a completed or cancelled one (409 otherwise:
    completing one that is completed or cancelled, reopening one that is outstanding)."""
    with db.transaction(ctx) as tx:
        before = store.get_action(tx, action_id, for_update=True)
        if before is None:
            raise _no_action()
        if completed and before["status"] != "outstanding":
            raise errors.Conflict(f"Only an outstanding action can be completed; this one is {before['status']}"
                                  + (" (reopen it first)" if before["status"] == "cancelled" else ""))
        if not completed and before["status"] == "outstanding":
            raise errors.Conflict("The action is outstanding already")
        after = store.set_completion(tx, action_id, completed=completed)
        audit.record(tx, "action.complete" if completed else "action.reopen", "action", action_id, before, after)
    return after


def delete_action(ctx: RequestContext, action_id: UUID) -> None:
    with db.transaction(ctx) as tx:
        before = store.get_action(tx, action_id, for_update=True)
        if before is None:
            raise _no_action()
        store.delete_action(tx, action_id)
        audit.record(tx, "action.delete", "action", action_id, before, None)
