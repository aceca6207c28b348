"""HTTP routes for the signed-in user's notifications."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import READ, Api, ApiRequest
from chalicelib.core.pagination import Page, page_of
from chalicelib.notifications import service
from chalicelib.notifications.models import NotificationListQuery, NotificationOut

api = Api("notifications", resources={"notification_id": "notification"})


@api.route("/notifications", "GET", access=READ, query=NotificationListQuery, response=Page[NotificationOut],
           summary="Your notifications, newest first")
def list_notifications(req: ApiRequest) -> Page[NotificationOut]:
    """Security events about your account (a lock after many failed sign-ins, two-factor changes, a recovery code
    used) and, for admins, the scheduled jobs' alerts (`ops.job_failed`: a job that failed while working for the
    firm; every `ops.*` alert to the admins of the operators' firm). `unread=true` lists the unread ones only.
    Users only: an API key gets 422."""
    rows, cursor = service.list_mine(req.ctx, req.query)
    return page_of(NotificationOut, rows, cursor)


@api.route("/notifications/{notification_id}/read", "POST", access=READ, status=204,
           summary="Mark a notification read")
def mark_read(req: ApiRequest, notification_id: UUID) -> None:
    service.mark_read(req.ctx, notification_id)
