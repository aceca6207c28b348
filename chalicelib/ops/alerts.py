"""Operators' alerts, and what a failed job tells the firms it worked for.

An alert (a backup that failed, a verification that failed, no verified backup, a failed job) goes to:
- the log, always: one JSON line at ERROR with `alert` set to its kind (a CloudWatch metric filter can page on it);
- the stack's SNS alert topic, named by BACKUP_ALERT_TOPIC_ARN, when set (AWS: e-mail, SMS or a pager subscribe);
- in the app, the active admins of the firm named by OPERATOR_FIRM_ID, when set (the firm that runs the
  deployment): a notification each, as the notifications domain keeps them (per user, inside one firm).
A channel that fails is logged and reported in the result; it never hides the failure that raised the alert.

A failed job is also told, in the app, to the active admins of each firm the run's work was for (`jobs.concerns`:
the firms whose writes a dashboard refresh was taking in): what it means for them, never the error itself (it may
quote another firm's rows); the error is the operators'.
"""
from __future__ import annotations

import logging
from typing import Any

from chalicelib.core.jsonutil import dumps

log = logging.getLogger("wdk.alerts")

JOB_FAILED = "ops.job_failed"

# What a failed run of a job means for a firm it worked for (the default: the job's work for the firm is not done).
_FIRM_MEANING = {
    "refresh-views": ("Dashboard not refreshed",
                      ("The dashboard's figures could not be refreshed: it shows the figures of its last refresh and "
                      "says they are stale. The operators have been told; the refresh is tried again at its next "
                      "run.")),
    "refresh-stale-views": ("Dashboard not refreshed",
                            ("Your latest changes could not be taken into the dashboard: it shows the figures of its "
                            "last refresh and says they are stale. The operators have been told; the refresh is "
                            "tried again every minute.")),
}


def raise_alert(kind: str, title: str, body: str, data: dict[str, Any]) -> dict[str, Any]:
    """Send one alert on every configured channel; returns what each channel did."""
    from chalicelib.ops import jobs
    from chalicelib.ops.backups.settings import backup_settings

    jobs.note_alert(kind)
    settings = backup_settings()
    sent: dict[str, Any] = {"kind": kind, "log": True}
    log.error(dumps({"level": "error", "msg": title, "alert": kind, "detail": body, "data": data}))
    if settings.alert_topic_arn:
        try:
            sent["sns"] = _publish(settings.alert_topic_arn, title, body, {"kind": kind, **data})
        except Exception as exc:  # the alert must not hide what raised it
            sent["sns_error"] = f"{type(exc).__name__}: {exc}"
            log.error(dumps({"level": "error", "msg": "alert not published to SNS", "alert": kind,
                             "error": sent["sns_error"]}))
    if settings.operator_firm_id:
        try:
            sent["in_app"] = notify_admins(settings.operator_firm_id, kind, title, body, data)
        except Exception as exc:
            sent["in_app_error"] = f"{type(exc).__name__}: {exc}"
            log.error(dumps({"level": "error", "msg": "alert not delivered in the app", "alert": kind,
                             "error": sent["in_app_error"]}))
    return sent


def job_failed(name: str, run_id: Any, error: str, firms: list[Any]) -> dict[str, Any]:
    """A run of job `name` failed: the operators' alert (with the error), and each firm concerned told what it
    means for it (without the error). The operators' firm, when concerned, has the operators' alert already."""
    from chalicelib.ops.backups.settings import backup_settings

    data = {"job": name, "run_id": str(run_id), "error": error}
    sent = raise_alert(JOB_FAILED, f"Job {name} failed",
                       f"The scheduled job {name} failed (run {run_id}): {error}. See docs/operations.md, \"Alerts\" "
                       "(`wealthdesk job runs --job " + name + " --status failed`).", data)
    operators = backup_settings().operator_firm_id
    title, body = _FIRM_MEANING.get(name, (f"Scheduled work not done: {name}",
                                           (f"Work the scheduled job {name} does for your firm could not be done. The "
                                           "operators have been told; it runs again on its schedule.")))
    told: dict[str, Any] = {}
    for firm in firms:
        if operators is not None and str(firm) == str(operators):
            continue
        try:
            told[str(firm)] = notify_admins(firm, JOB_FAILED, title, body, {"job": name, "run_id": str(run_id)})
        except Exception as exc:
            log.error(dumps({"level": "error", "msg": "job failure not told to a firm", "alert": JOB_FAILED,
                             "firm_id": str(firm), "error": f"{type(exc).__name__}: {exc}"}))
    sent["firms"] = told
    return sent


def _publish(topic_arn: str, title: str, body: str, data: dict[str, Any]) -> str:
    import boto3

    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else None
    client = boto3.client("sns", region_name=region or None)
    message = f"{body}\n\n{dumps(data)}"
    return client.publish(TopicArn=topic_arn, Subject=_cut(f"wealthdesk: {title}", 100), Message=message,
                          MessageAttributes={"kind": {"DataType": "String", "StringValue": data["kind"]}}
                          )["MessageId"]


def notify_admins(firm_id: Any, kind: str, title: str, body: str, data: dict[str, Any]) -> int:
    """A notification for each active admin of the firm, in the firm's system context."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import store as firms_store
    from chalicelib.notifications import service as notifications_service

    with db.transaction(RequestContext.system(firm_id)) as tx:
        admins = firms_store.active_admins(tx)
        return notifications_service.notify(tx, admins, kind, _cut(title, 200), _cut(body, 2000), data)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
