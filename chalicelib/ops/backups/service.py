"""Backups: the jobs' entry points (run by run_job on the owner's connection, holding the `backups` lock that both
jobs share, so a backup, its rotation and a verification never overlap), rotation, and the reads of the command
line (the owner's connection) and of the API (admins, as the app role, through the ops_backups views)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from chalicelib.core import db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.ops.backups import store
from chalicelib.ops.backups.models import BACKUPS


class VerificationFailed(RuntimeError):
    """A backup failed its verification (recorded, and alerted, before this is raised)."""


# --- jobs ---

def backup_job(conn: Any, *, progress: Any = None) -> dict[str, Any]:
    """Job `backup`: a new backup, then rotation. A failure is alerted and re-raised (the run is recorded failed)."""
    from chalicelib.ops.backups import alerts, dump

    try:
        made = dump.make_backup(conn, progress=progress)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        alerts.raise_alert(alerts.BACKUP_FAILED, "A backup failed",
                           f"The backup job failed, so there is no new backup: {reason}. See docs/operations.md, "
                           "\"Alerts\".", {"error": reason})
        raise
    made.pop("manifest", None)
    made["rotation"] = rotate(conn)
    return made


def rotate(conn: Any) -> dict[str, Any]:
    """Delete the backups rotation proves superseded (rotation.plan): each is marked deleted, then its objects go.
    An object that cannot be deleted is reported (it wastes space; nothing relies on it any more)."""
    from chalicelib.ops.backups import rotation, storage

    rows = store.rotation_candidates(conn)
    plan = rotation.plan(rotation.Candidate(str(r["id"]), r["started_at"], r["outcome"]) for r in rows)
    by_id = {str(r["id"]): r for r in rows}
    deleted, leftovers = [], []
    for backup_id in plan.delete:
        row = by_id[backup_id]
        store.mark_deleted(conn, row["id"])
        deleted.append(backup_id)
        try:
            target = storage.open_store(row["store"])
            for name in (row["object_key"], storage.sibling(row["object_key"], "manifest"),
                         storage.sibling(row["object_key"], "verdict")):
                target.delete(name)
        except Exception as exc:
            leftovers.append(f"{row['object_key']}: {type(exc).__name__}: {exc}")
    return {"kept": len(plan.keep), "deleted": deleted, **({"not_removed": leftovers} if leftovers else {})}


def verify_backup_job(conn: Any, *, backup_id: UUID | str | None = None, progress: Any = None) -> dict[str, Any]:
    """Job `verify-backup`. Scheduled: verifies the newest backup not verified yet (if any), then checks that some
    backup passed verification within BACKUP_MAX_AGE_HOURS (else an alert). By hand: the backup named, or the
    newest. Raises VerificationFailed when the verdict is `failed` (after recording and alerting it)."""
    from chalicelib.ops.backups import verify
    from chalicelib.ops.jobs import current_run

    run = current_run()
    trigger = run[1] if run else "manual"
    if backup_id is not None:
        row = store.get_backup(conn, UUID(str(backup_id)))
        if row is None:
            raise LookupError(f"no backup {backup_id}")
    elif trigger == "schedule":
        row = store.newest_unverified(conn)
    else:
        row = store.newest_completed(conn)
        if row is None:
            raise LookupError("there is no completed backup to verify")
    figures: dict[str, Any] = {"verified": None}
    verdict = None
    if row is not None:
        verdict = verify.verify(conn, row, trigger=trigger, progress=progress)
        figures["verified"] = str(row["id"])
        figures["verdict"] = {k: verdict[k] for k in ("id", "outcome", "stage", "reason")}
        figures["verdict"]["figures"] = verdict["figures"]
    if trigger == "schedule":
        figures["freshness"] = check_freshness(conn)
    if verdict is not None and verdict["outcome"] == "failed":
        raise VerificationFailed(f"backup {row['id']} failed its verification at stage {verdict['stage']}: "  # type: ignore[index]
                                 f"{verdict['reason']}")
    return figures


def check_freshness(conn: Any) -> dict[str, Any]:
    """Alert when no backup passed verification within BACKUP_MAX_AGE_HOURS (a backup or verification that did not
    run, or failed, or whose verdict never came)."""
    from chalicelib.ops.backups import alerts
    from chalicelib.ops.backups.settings import backup_settings

    limit = backup_settings().max_age_hours
    newest = store.newest_passed(conn)
    if newest is not None:
        age = (datetime.now(UTC) - newest["started_at"]).total_seconds() / 3600
        result: dict[str, Any] = {"newest_verified": str(newest["id"]), "age_hours": round(age, 2),
                                  "max_age_hours": limit}
        if age <= limit:
            return result
        body = (f"The newest backup that passed verification ({newest['id']}) was taken {age:.1f} hours ago, more "
                f"than {limit}: the backups since have failed, or were not made or not verified.")
    else:
        result = {"newest_verified": None, "max_age_hours": limit}
        body = "No backup in the store has passed verification: there is no backup known to restore."
    result["alert"] = alerts.raise_alert(alerts.UNVERIFIED, "No verified backup",
                                         body + " See docs/operations.md, \"Alerts\".", dict(result))
    return result


# --- the command line (the owner's connection) ---

def recent_backups(limit: int = 50) -> list[dict[str, Any]]:
    with db.owner_connection() as conn:
        return store.recent_backups(conn, limit)


def newest_completed_id() -> UUID | None:
    with db.owner_connection() as conn:
        row = store.newest_completed(conn)
    return row["id"] if row else None


def backups_in_store(store_url: str | None = None) -> list[dict[str, Any]]:
    """Every backup the store holds, from its manifests and verdicts alone (when the database is not there to ask),
    newest first."""
    import json

    from chalicelib.ops.backups import storage
    from chalicelib.ops.backups.settings import backup_settings

    target = storage.open_store(store_url or backup_settings().store)
    names = set(target.names())
    found = []
    for name in sorted(names, reverse=True):
        if not name.endswith(".manifest.json"):
            continue
        try:
            manifest = json.loads(target.get_bytes(name))
        except (ValueError, storage.MissingObject):
            continue
        verdict: dict[str, Any] | None = None
        verdict_name = name.removesuffix(".manifest.json") + ".verdict.json"
        if verdict_name in names:
            try:
                verdict = json.loads(target.get_bytes(verdict_name))
            except (ValueError, storage.MissingObject):
                verdict = None
        found.append({"id": manifest.get("id"), "status": "completed" if manifest.get("object") in names
                      else "dump missing", "started_at": manifest.get("started_at"),
                      "size_bytes": manifest.get("size_bytes"), "object_key": manifest.get("object"),
                      "verdict": verdict and {k: verdict.get(k) for k in ("outcome", "finished_at", "reason",
                                                                          "stage")}})
    return found


# --- the API (admins) ---

def list_backups(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(BACKUPS, query, ctx)
    with db.transaction(ctx) as tx:
        rows = store.list_backups(tx, keyset, status=query.status, verdict=query.verdict)
    return keyset.page(rows)


def get_backup(ctx: RequestContext, backup_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_backup_view(tx, backup_id)
        if row is None:
            raise errors.NotFound("No such backup")
        return {**row, "tables": row["firm_tables"], "verifications": store.verifications_view(tx, backup_id)}
