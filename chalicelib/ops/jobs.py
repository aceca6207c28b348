"""The scheduled jobs, in one table, and the framework every run goes through (`run_job`).

JOBS names each job's function by import path: listing the jobs (app.py's schedules, `wealthdesk job list`)
imports none of them. A run takes a PostgreSQL advisory lock named after the job, or after the lock jobs that must
not overlap share (a concurrent second run records `skipped` and exits quietly), records a job_runs row (start,
end, status, figures, error), and must be safe to run twice: EventBridge delivers at least once and retries twice.
Jobs run as the owner role: they do maintenance across all firms.

A run's figures count every firm's rows, so job_runs is the platform's record, for operators only (`wealthdesk
job runs`; the app role cannot read it: migration 0019). Where a job's work is done for firms, its figures hold
under BY_FIRM each firm's part (firm id -> the figures restricted to that firm); when the run succeeds, run_job
records each part in firm_job_runs, in the statement that records the run, and that is all a firm's admin sees of
it (GET /v1/ops/job-runs). A skipped or failed run, and work done for no firm, leave no firm's part.
"""
from __future__ import annotations

import contextvars
import hashlib
import importlib
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.core import db
from chalicelib.core.jsonutil import dumps

log = logging.getLogger("wdk.jobs")

BY_FIRM = "by_firm"  # in a job's figures: {firm id: that firm's part of the figures}, recorded in firm_job_runs


@dataclass(frozen=True)
class Job:
    name: str
    schedule: str  # EventBridge expression: app.py schedules the job's Lambda function with it
    description: str
    run: str | Callable[[Any], dict[str, Any]]  # "module:function", (owner connection) -> figures; or the function
    # (the figures may hold BY_FIRM: each firm's part)
    lock: str | None = None  # the advisory lock's name when jobs share one (default: the job's own name)
    options: tuple[str, ...] = ()  # keyword arguments a run by hand may pass (`wealthdesk job run NAME --date D`)

    @property
    def function_name(self) -> str:
        """The job's Lambda function (app.py and .chalice/config.json name it so)."""
        return self.name.replace("-", "_")

    @property
    def rate_seconds(self) -> int | None:
        """The period of a `rate(N unit)` schedule in seconds; None for a cron schedule."""
        import re

        found = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", self.schedule)
        if found is None:
            return None
        return int(found[1]) * {"minute": 60, "hour": 3600, "day": 86400}[found[2]]

    def target(self) -> Callable[[Any], dict[str, Any]]:
        if callable(self.run):
            return self.run
        module, _, function = self.run.partition(":")
        return getattr(importlib.import_module(module), function)


JOBS: dict[str, Job] = {job.name: job for job in (
    Job("audit-partitions", "cron(0 3 * * ? *)",
        "Creates the audit_events partitions for this month and the next three (idempotent)",
        "chalicelib.ops.audit_partitions:audit_partitions"),
    Job("irr-history", "cron(0 1 * * ? *)",
        "Rewrites the stored IRR history of products whose history is out of step with their valuation dates",
        "chalicelib.ops.irr_history:irr_history"),
    Job("refresh-views", "cron(30 1 * * ? *)",
        "Refreshes the dashboard's views (CONCURRENTLY: reads never wait) and every firm's IRR, whatever was written",
        "chalicelib.ops.refresh_views:refresh_views", lock="refresh-views"),
    Job("refresh-stale-views", "rate(1 minute)",
        "When a write is not in the dashboard's views yet: refreshes them and the IRR of the firms written to",
        "chalicelib.ops.refresh_views:refresh_stale_views", lock="refresh-views"),
    Job("backup", "cron(0 2 * * ? *)",
        "pg_dump -Fc of the database into the backup store with its manifest, then rotation (7 daily, 4 weekly, "
        "12 monthly)", "chalicelib.ops.backups.service:backup_job", lock="backups", options=("progress",)),
    Job("verify-backup", "cron(30 2 * * ? *)",
        "Restores the newest unverified backup into a scratch database and checks it; alerts when a verification "
        "fails or no backup has passed one for a day", "chalicelib.ops.backups.service:verify_backup_job",
        lock="backups", options=("backup_id", "progress")),
    Job("networth-snapshots", "cron(15 0 * * ? *)",
        "Takes yesterday's net worth snapshot of every household (or --date D, or --from D --to D); a day taken is "
        "kept",
        "chalicelib.ops.networth_snapshots:networth_snapshots", options=("date", "from_", "to")),
    Job("retention", "cron(0 4 * * ? *)",
        "Applies every firm's retention policies in batches (delete, archive to the archive store, anonymize), "
        "within a time budget; the next run carries on", "chalicelib.ops.retention.service:retention_job",
        options=("budget_seconds", "batch_size")),
    Job("db-maintenance", "cron(0 5 ? * SUN *)",
        "ANALYZE every table, and REINDEX CONCURRENTLY the indexes whose bloat passes the threshold, within a time "
        "budget (resumes where the last run stopped)", "chalicelib.ops.db_maintenance:db_maintenance"),
)}

_current: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("wealthdesk_job", default=None)
# What the current run has said about itself: the firms its work is for (told when it fails) and the alerts it raised
# itself (a job that raised its own alert for a failure gets no second, generic one).
_concerns: contextvars.ContextVar[set[Any] | None] = contextvars.ContextVar("wealthdesk_job_concerns", default=None)
_alerted: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("wealthdesk_job_alerted", default=None)


def current_run() -> tuple[str, str] | None:
    """(job name, trigger) of the job run the caller is part of; None outside run_job."""
    return _current.get()


def concerns(firm_ids: Any) -> None:
    """Say that the current run's work is for these firms: if the run fails, their active admins are told in the app
    (what it means for them, never the error, which may name other firms' data). Outside a run, nothing."""
    found = _concerns.get()
    if found is not None:
        found.update(firm_ids)


def note_alert(kind: str) -> None:
    """Record that the current run raised alert `kind` itself (its failure then raises no generic one)."""
    found = _alerted.get()
    if found is not None:
        found.append(kind)


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"wealthdesk-job:{name}".encode()).digest()[:8], "big", signed=True)


@dataclass
class RunResult:
    id: Any
    job_name: str
    status: str
    figures: dict[str, Any]  # the platform's (every firm's together)
    error: str | None
    firms: int = 0  # how many firms' parts were recorded

    def summary(self) -> dict[str, Any]:
        """JSON-ready, for a Lambda's return value and the CLI."""
        import json

        return json.loads(dumps({"id": self.id, "job": self.job_name, "status": self.status,
                                 "figures": self.figures, "error": self.error, "firms": self.firms}))


def run_job(name: str, trigger: str = "schedule", **options: Any) -> RunResult:
    """Run one job now, with the options it takes (Job.options; only those given are passed). Raises KeyError for
    an unknown job and TypeError for an option it does not take; a failing job is recorded and re-raised."""
    from chalicelib.ops import store

    job_ = JOBS[name]
    unknown = sorted(set(options) - set(job_.options))
    if unknown:
        raise TypeError(f"job {name} takes no option {', '.join(unknown)}")
    run = job_.target()
    key = _lock_key(job_.lock or name)
    with db.owner_connection(autocommit=True) as conn:
        # A run killed (a Lambda at its time limit) must not leave its statement running on the server, holding
        # its locks and the job's: the server checks every second that the client is still there, else aborts.
        store.set_client_check(conn, 1000)
        if not store.try_job_lock(conn, key):
            figures = {"reason": "another run holds the lock"}
            run_id = store.record_skipped_run(conn, name, trigger, figures)
            log.info(dumps({"level": "info", "msg": "job skipped: another run holds the lock", "job": name}))
            return RunResult(run_id, name, "skipped", figures, None)
        try:
            # Holding the lock, no other run of these jobs is alive: a run still `running` was killed (a Lambda at
            # its time limit, a SIGKILL) and is recorded so; what it left half-done is each job's to finish.
            sharing = sorted(j.name for j in JOBS.values() if (j.lock or j.name) == (job_.lock or name)) or [name]
            interrupted = store.fail_interrupted_runs(conn, sharing)
            if interrupted:
                log.warning(dumps({"level": "warning", "msg": "runs interrupted before they finished", "job": name,
                                   "runs": interrupted}))
            run_id = store.start_run(conn, name, trigger)
            token = _current.set((name, trigger))
            firms_concerned: set[Any] = set()
            alerted: list[str] = []
            tokens = (_concerns.set(firms_concerned), _alerted.set(alerted))
            try:
                figures = dict(run(conn, **options) or {})
            except Exception as exc:
                if conn.info.transaction_status != 0:  # leave any failed transaction before recording
                    conn.rollback()
                error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                store.finish_run(conn, run_id, error=error)
                log.error(dumps({"level": "error", "msg": "job failed", "job": name, "error": error}))
                if not alerted:
                    _alert_failure(conn, name, run_id, error, firms_concerned)
                raise
            finally:
                _current.reset(token)
                _concerns.reset(tokens[0])
                _alerted.reset(tokens[1])
            if interrupted:
                figures["interrupted_runs"] = interrupted
            by_firm = figures.pop(BY_FIRM, None) or {}
            firms = store.finish_run(conn, run_id, figures=figures, by_firm=by_firm)
            log.info(dumps({"level": "info", "msg": "job succeeded", "job": name, "figures": figures,
                            "firms": firms}))
            return RunResult(run_id, name, "succeeded", figures, None, firms)
        finally:
            store.release_job_lock(conn, key)


def _alert_failure(conn: Any, name: str, run_id: Any, error: str, firms: set[Any]) -> None:
    """The generic alert of a failed run (ops.job_failed), at the first failure of a streak and then at most once a
    UTC day while it lasts (a job every minute failing for an hour is one alert, not sixty). Never raises: the
    failure it reports is what the caller re-raises."""
    from chalicelib.ops import alerts, store

    try:
        if store.failing_since_today(conn, name, run_id):
            log.info(dumps({"level": "info", "msg": "job failed again: already alerted today", "job": name}))
            return
        alerts.job_failed(name, run_id, error, sorted(firms, key=str))
    except Exception as exc:  # the alert must not hide the failure
        log.error(dumps({"level": "error", "msg": "job failure not alerted", "job": name,
                         "error": f"{type(exc).__name__}: {exc}"}))


def run_rate_jobs(stop: Any) -> None:
    """Run the jobs scheduled at a rate (refresh-stale-views: every minute) until `stop` (a threading.Event) is set:
    each at once, then every period, as EventBridge does when deployed. `wealthdesk serve` runs this in a background
    thread so that the local dashboard keeps up as it does in AWS; cron jobs (nightly) run by hand locally. A failing
    run is recorded and logged by run_job and the loop carries on."""
    import time

    periods = {job.name: job.rate_seconds for job in JOBS.values() if job.rate_seconds}
    due = dict.fromkeys(periods, 0.0)
    while not stop.is_set():
        for name, period in periods.items():
            if time.monotonic() >= due[name] and not stop.is_set():
                due[name] = time.monotonic() + period
                try:
                    run_job(name)
                except Exception:  # recorded in job_runs and logged; the next period tries again
                    pass
        stop.wait(1.0)
