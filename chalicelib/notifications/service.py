"""Notifications: written by other services inside their own transaction, read by their user."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset
from chalicelib.notifications import store
from chalicelib.notifications.models import NOTIFICATIONS


def notify(tx: Tx, user_ids: Iterable[UUID], kind: str, title: str, body: str,
           data: dict[str, Any] | None = None) -> int:
    """One notification for each of `user_ids` (duplicates dropped), in the caller's transaction."""
    return store.insert(tx, sorted(set(user_ids)), kind, title, body, data or {})


def _user(ctx: RequestContext) -> UUID:
    principal = ctx.principal
    if principal is None or principal.kind != "user" or principal.id is None:
        raise errors.Unprocessable("Notifications are a user's; an API key has none")
    return principal.id


def list_mine(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    user_id = _user(ctx)
    keyset = Keyset.parse(NOTIFICATIONS, query, ctx)
    with db.transaction(ctx) as tx:
        rows = store.list_for_user(tx, user_id, keyset, unread=query.unread)
    return keyset.page(rows)


def mark_read(ctx: RequestContext, notification_id: UUID) -> None:
    """404 for an id that is not one of the caller's notifications (an API key has none)."""
    principal = ctx.principal
    if principal is None or principal.kind != "user" or principal.id is None:
        raise errors.NotFound("No such notification")
    user_id = principal.id
    with db.transaction(ctx) as tx:
        if not store.mark_read(tx, user_id, notification_id):
            raise errors.NotFound("No such notification")
        audit.record(tx, "notification.read", "notification", notification_id, None, None)
