"""Models for a user's notifications."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core.models import ApiModel, IsoDateTime
from chalicelib.core.pagination import ListQuery, ListSpec


class NotificationOut(ApiModel):
    id: UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: IsoDateTime
    read_at: IsoDateTime | None


NOTIFICATIONS = ListSpec("notifications", {"created_at": (("created_at", "timestamptz"),)},
                         default_sort="-created_at")  # newest first


class NotificationListQuery(ListQuery):
    unread: bool | None = None
