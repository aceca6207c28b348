"""Backup alerts: a backup that failed, a verification that failed, and no backup verified for too long.

Backups are the platform's, not a firm's, so an alert is not sent to every firm's admins (they could do nothing about
it). It goes to:
- the log, always: one JSON line at ERROR with `alert` set to the kind (a CloudWatch metric filter can page on it);
- the SNS topic named by BACKUP_ALERT_TOPIC_ARN, when set (AWS: e-mail, SMS or a pager subscribe to it);
- in the app, the active admins of the firm named by OPERATOR_FIRM_ID, when set (the firm that runs the
  deployment): a notification each, as the notifications domain keeps them (per user, inside one firm).
A channel that fails is logged and reported in the result; it never hides the failure that raised the alert.
"""
from __future__ import annotations

import logging
from typing import Any

from chalicelib.core.jsonutil import dumps

log = logging.getLogger("wdk.backups")

BACKUP_FAILED = "ops.backup_failed"
VERIFICATION_FAILED = "ops.backup_verification_failed"
UNVERIFIED = "ops.backup_unverified"


def raise_alert(kind: str, title: str, body: str, data: dict[str, Any]) -> dict[str, Any]:
    """Send one alert on every configured channel; returns what each channel did."""
    from chalicelib.ops.backups.settings import backup_settings

    settings = backup_settings()
    sent: dict[str, Any] = {"kind": kind, "log": True}
    log.error(dumps({"level": "error", "msg": title, "alert": kind, "detail": body, "data": data}))
    if settings.alert_topic_arn:
        try:
            sent["sns"] = _publish(settings.alert_topic_arn, title, body, {"kind": kind, **data})
        except Exception as exc:  # the alert must not hide what raised it
            sent["sns_error"] = f"{type(exc).__name__}: {exc}"
            log.error(dumps({"level": "error", "msg": "backup alert not published to SNS", "alert": kind,
                             "error": sent["sns_error"]}))
    if settings.operator_firm_id:
        try:
            sent["in_app"] = _notify_operators(settings.operator_firm_id, kind, title, body, data)
        except Exception as exc:
            sent["in_app_error"] = f"{type(exc).__name__}: {exc}"
            log.error(dumps({"level": "error", "msg": "backup alert not delivered in the app", "alert": kind,
                             "error": sent["in_app_error"]}))
    return sent


def _publish(topic_arn: str, title: str, body: str, data: dict[str, Any]) -> str:
    import boto3

    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else None
    client = boto3.client("sns", region_name=region or None)
    message = f"{body}\n\n{dumps(data)}"
    return client.publish(TopicArn=topic_arn, Subject=_cut(f"wealthdesk: {title}", 100), Message=message,
                          MessageAttributes={"kind": {"DataType": "String", "StringValue": data["kind"]}}
                          )["MessageId"]


def _notify_operators(firm_id: Any, kind: str, title: str, body: str, data: dict[str, Any]) -> int:
    """A notification for each active admin of the operators' firm, in the firm's system context."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import store as firms_store
    from chalicelib.notifications import service as notifications_service

    with db.transaction(RequestContext.system(firm_id)) as tx:
        admins = firms_store.active_admins(tx)
        return notifications_service.notify(tx, admins, kind, _cut(title, 200), _cut(body, 2000), data)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
