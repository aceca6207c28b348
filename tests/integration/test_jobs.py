"""The job framework: advisory lock, job_runs records (and each firm's part), failures, the admin API, and the Lambda
entry points."""
from __future__ import annotations

import json
from datetime import date

import psycopg
import pytest

from tests.conftest import assert_problem, owner_sql


def _month(offset: int) -> str:
    today = date.today().replace(day=1)
    y, m = divmod(today.month - 1 + offset, 12)
    return f"{today.year + y}{m + 1:02d}"


def _run_row(run_id) -> dict:
    rows = owner_sql("SELECT job_name, status, trigger, started_at, finished_at, figures, error FROM job_runs "
                     "WHERE id = %s", (run_id,))
    assert len(rows) == 1
    return rows[0]


def _drop_future_partition(offset: int = 3) -> str:
    """Remove an (empty) partition the job is responsible for, so the next run has work to do."""
    name = f"audit_events_{_month(offset)}"
    assert owner_sql(f"SELECT count(*) AS n FROM {name}") == [{"n": 0}]
    owner_sql(f"DROP TABLE {name}")
    return name


def _partition_exists(name: str) -> bool:
    return owner_sql("SELECT to_regclass(%s) IS NOT NULL AS ok", (f"public.{name}",))[0]["ok"]


def test_audit_partitions_run_records_success_with_figures_and_is_safe_twice():
    from chalicelib.ops.jobs import run_job

    dropped = _drop_future_partition()
    first = run_job("audit-partitions", trigger="manual")
    assert first.status == "succeeded" and first.error is None
    assert first.figures["created"] == 1
    assert first.figures["newest"] == f"audit_events_{_month(3)}"
    assert _partition_exists(dropped)
    row = _run_row(first.id)
    assert row["job_name"] == "audit-partitions" and row["status"] == "succeeded" and row["trigger"] == "manual"
    assert row["finished_at"] is not None and row["finished_at"] >= row["started_at"]
    assert row["error"] is None
    assert row["figures"] == first.figures
    assert row["figures"]["partitions"] >= 4

    second = run_job("audit-partitions", trigger="manual")
    assert second.status == "succeeded" and second.id != first.id
    assert second.figures["created"] == 0
    assert second.figures["partitions"] == first.figures["partitions"]
    assert _run_row(second.id)["figures"]["created"] == 0
    # The lock was released both times.
    assert _lock_is_free("audit-partitions")


def _lock_is_free(name: str) -> bool:
    from chalicelib.core import db
    from chalicelib.ops.jobs import _lock_key

    with db.owner_connection() as conn:
        got = conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (_lock_key(name),)).fetchone()["got"]
        if got:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(name),))
    return got


def test_a_concurrent_run_is_skipped_quietly():
    from chalicelib.core import db
    from chalicelib.ops.jobs import _lock_key, run_job

    dropped = _drop_future_partition()
    with db.owner_connection() as holder:  # another container's run, holding the job's lock
        assert holder.execute("SELECT pg_try_advisory_lock(%s) AS got",
                              (_lock_key("audit-partitions"),)).fetchone()["got"]
        result = run_job("audit-partitions", trigger="schedule")
        assert result.status == "skipped" and result.error is None
        assert "lock" in result.figures["reason"]
        row = _run_row(result.id)
        assert row["status"] == "skipped" and row["trigger"] == "schedule" and row["finished_at"] is not None
        assert not _partition_exists(dropped), "a skipped run must not do the work"
        assert json.loads(json.dumps(result.summary()))["status"] == "skipped"
        holder.execute("SELECT pg_advisory_unlock(%s)", (_lock_key("audit-partitions"),))
    after = run_job("audit-partitions", trigger="manual")
    assert after.status == "succeeded" and after.figures["created"] == 1 and _partition_exists(dropped)


def test_partitions_are_utc_months_whatever_the_session_time_zone(monkeypatch):
    """A run from a session in another time zone (PGTZ, or a server whose default is not UTC) must create the
    same UTC-month partition as every other run, not one shifted by the offset (which overlaps its neighbour)."""
    from chalicelib.core import db
    from chalicelib.ops.jobs import run_job

    name = _drop_future_partition()
    monkeypatch.setenv("PGTZ", "Pacific/Auckland")  # libpq sets the session TimeZone from it
    try:
        result = run_job("audit-partitions", trigger="manual")
        assert result.status == "succeeded" and result.figures["created"] == 1
    finally:
        monkeypatch.delenv("PGTZ")
        owner_sql("SELECT ensure_audit_partitions(CURRENT_DATE, 4)")  # leave the worker's database whole
    first, last = _month(3), _month(4)
    with db.owner_connection() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        bound = conn.execute("SELECT pg_get_expr(relpartbound, oid) AS b FROM pg_class WHERE relname = %s",
                             (name,)).fetchone()["b"]
    assert bound == (f"FOR VALUES FROM ('{first[:4]}-{first[4:]}-01 00:00:00+00') "
                     f"TO ('{last[:4]}-{last[4:]}-01 00:00:00+00')")


def _failing_job(kind: str):
    def run(conn):
        if kind == "python":
            raise RuntimeError("boom from the test job")
        conn.execute("BEGIN")  # a job that dies inside its own transaction
        conn.execute("SELECT 1 / 0")

    return run


@pytest.mark.parametrize("kind,error_type", [("python", RuntimeError), ("sql", psycopg.errors.DivisionByZero)])
def test_a_failing_job_is_recorded_and_re_raised(monkeypatch, kind, error_type):
    from chalicelib.ops.jobs import JOBS, Job, run_job

    name = f"test-failing-{kind}"
    monkeypatch.setitem(JOBS, name, Job(name, "rate(1 day)", "fails on purpose", _failing_job(kind)))
    with pytest.raises(error_type) as raised:
        run_job(name, trigger="manual")
    row = owner_sql("SELECT id, status, trigger, finished_at, error, figures FROM job_runs WHERE job_name = %s "
                    "ORDER BY started_at DESC LIMIT 2", (name,))
    assert len(row) == 1
    row = row[0]
    assert row["status"] == "failed" and row["trigger"] == "manual" and row["finished_at"] is not None
    assert row["figures"] == {}
    if kind == "python":
        assert row["error"] == "RuntimeError: boom from the test job"
    else:
        assert "division by zero" in row["error"] and "DivisionByZero" in row["error"]
        assert "division by zero" in str(raised.value)
    assert _lock_is_free(name)
    assert "Traceback" not in row["error"]


def test_unknown_job_raises_key_error():
    from chalicelib.ops.jobs import run_job

    with pytest.raises(KeyError):
        run_job("no-such-job")
    assert owner_sql("SELECT count(*) AS n FROM job_runs WHERE job_name = 'no-such-job'") == [{"n": 0}]


def test_job_runs_api_lists_the_firms_parts_newest_first_for_admins_only(client, firm_a, firm_b, monkeypatch):
    """What a firm's admin lists is the firm's part of each run that did work for it (docs: firm_job_runs), never
    the platform's record: here a job whose figures hold a part for each of two firms, and audit-partitions, which
    does work for no firm."""
    from chalicelib.ops.jobs import BY_FIRM, JOBS, Job, run_job

    def per_firm(conn):
        return {"rows": 30, BY_FIRM: {firm_a.id: {"rows": 10}, firm_b.id: {"rows": 20}}}

    monkeypatch.setitem(JOBS, "test-per-firm", Job("test-per-firm", "rate(1 day)", "per firm", per_firm))
    runs = [run_job("test-per-firm", trigger="manual") for _ in range(3)]
    assert all(r.firms == 2 and r.figures == {"rows": 30} for r in runs)
    platform = run_job("audit-partitions", trigger="manual")
    ids = [owner_sql("SELECT id FROM firm_job_runs WHERE run_id = %s AND firm_id = %s", (r.id, firm_a.id))[0]["id"]
           for r in runs]
    response = client.http.get("/v1/ops/job-runs?limit=200", headers=firm_a.auth("admin"))
    assert response.status_code == 200, response.body
    items = response.json_body["items"]
    keys = [(i["started_at"], i["id"]) for i in items]
    assert keys == sorted(keys, reverse=True), "newest first"
    listed = [i["id"] for i in items]
    assert str(platform.id) not in listed and all(i["job_name"] != "audit-partitions" for i in items)
    assert not {str(r.id) for r in runs} & set(listed)  # the firm's part has an id of its own
    assert [str(x) for x in reversed(ids)] == [x for x in listed if x in {str(i) for i in ids}]
    newest = next(i for i in items if i["id"] == str(ids[-1]))
    assert newest["job_name"] == "test-per-firm" and newest["status"] == "succeeded"
    assert newest["trigger"] == "manual" and newest["figures"] == {"rows": 10} and newest["error"] is None
    [row] = owner_sql("SELECT started_at, finished_at FROM job_runs WHERE id = %s", (runs[-1].id,))
    assert (newest["started_at"], newest["finished_at"]) == tuple(
        v.isoformat().replace("+00:00", "Z") for v in (row["started_at"], row["finished_at"]))

    # Filters and keyset pagination.
    only = client.http.get("/v1/ops/job-runs?status=succeeded&job=test-per-firm&limit=1",
                           headers=firm_a.auth("admin"))
    assert only.status_code == 200
    assert [i["id"] for i in only.json_body["items"]] == [str(ids[-1])]
    cursor = only.json_body["next_cursor"]
    assert cursor
    nxt = client.http.get(f"/v1/ops/job-runs?status=succeeded&job=test-per-firm&limit=1&cursor={cursor}",
                          headers=firm_a.auth("admin"))
    assert nxt.status_code == 200
    assert [i["id"] for i in nxt.json_body["items"]] == [str(ids[-2])]
    # The filter is `job` (the contract's name); the old spelling is an unknown parameter, refused.
    assert_problem(client.http.get("/v1/ops/job-runs?job_name=test-per-firm", headers=firm_a.auth("admin")), 422)
    for status in ("skipped", "failed", "running"):  # a firm's part is recorded only when its run succeeds
        other = client.http.get(f"/v1/ops/job-runs?status={status}&limit=200", headers=firm_a.auth("admin"))
        assert other.status_code == 200 and other.json_body["items"] == []

    for who in ("adviser", "analyst", "viewer", "read", "write"):
        denied = client.http.get("/v1/ops/job-runs", headers=firm_a.auth(who))
        assert_problem(denied, 403)
    assert_problem(client.http.get("/v1/ops/job-runs"), 401)


def test_scheduled_handler_runs_the_job_and_returns_a_json_summary(client):
    dropped = _drop_future_partition()
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=["arn:aws:events:eu-west-2:123456789012:rule/audit"])
    response = client.lambda_.invoke("audit_partitions", event)
    payload = response.payload
    assert json.loads(json.dumps(payload)) == payload  # JSON-serialisable as it is
    assert payload["job"] == "audit-partitions" and payload["status"] == "succeeded" and payload["error"] is None
    assert payload["figures"]["created"] == 1 and _partition_exists(dropped)
    row = _run_row(payload["id"])
    assert row["trigger"] == "schedule" and row["status"] == "succeeded"

    # At-least-once delivery: the same event again is harmless.
    again = client.lambda_.invoke("audit_partitions", event).payload
    assert again["status"] == "succeeded" and again["figures"]["created"] == 0 and again["id"] != payload["id"]


def test_migrate_lambda_applies_nothing_on_a_current_schema_and_reports_status(client):
    from pathlib import Path

    migrations = [p for p in (Path(__file__).resolve().parents[2] / "migrations").glob("*.sql")
                  if not p.name.endswith(".rollback.sql")]
    payload = client.lambda_.invoke("migrate", {}).payload
    assert json.loads(json.dumps(payload)) == payload
    assert payload == {"applied": [], "status": {"applied": len(migrations), "pending": 0, "pending_ids": []}}


def test_every_scheduled_function_runs_a_registered_job_with_its_own_config_in_every_stage():
    """A scheduled Lambda needs its config entry (the jobs policy, the owner secret, a timeout) in each deployed
    stage, or `chalice package` fails on a missing policy file, or the job runs without the owner's secret; and its
    schedule is the one its job declares (docs/deploy.md, "Later changes")."""
    from pathlib import Path

    import app as app_module
    from chalicelib.ops.jobs import JOBS

    config = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
    scheduled = {e.name: e.schedule_expression for e in app_module.app.event_sources
                 if type(e).__name__ == "ScheduledEventConfig"}
    assert {name.replace("_", "-") for name in scheduled} == set(JOBS)
    for name, expression in scheduled.items():
        assert JOBS[name.replace("_", "-")].schedule == expression, name
        for stage in ("dev", "prod"):
            entry = config["stages"][stage]["lambda_functions"].get(name)
            assert entry is not None, (stage, name)
            if JOBS[name.replace("_", "-")].lock == "backups":  # S3 and SNS besides the database: a policy of their own
                assert entry["iam_policy_file"] == f"policy-{stage}-backups.json", (stage, name)
                assert set(entry["environment_variables"]) == {"DATABASE_OWNER_SECRET_ARN", "BACKUP_STORE",
                                                               "BACKUP_ALERT_TOPIC_ARN"}, (stage, name)
                assert entry["environment_variables"]["BACKUP_STORE"].startswith("s3://"), (stage, name)
                assert entry["lambda_timeout"] == 900, (stage, name)  # Lambda's longest
                continue
            if name == "retention":  # archives into S3 besides the database: a policy of its own
                assert entry["iam_policy_file"] == f"policy-{stage}-retention.json", (stage, name)
                assert set(entry["environment_variables"]) == {"DATABASE_OWNER_SECRET_ARN", "RETENTION_ARCHIVE_STORE",
                                                               "BACKUP_ALERT_TOPIC_ARN"}, (stage, name)
                assert entry["environment_variables"]["RETENTION_ARCHIVE_STORE"].startswith("s3://"), (stage, name)
                assert entry["lambda_timeout"] == 900, (stage, name)
                continue
            assert entry["iam_policy_file"] == f"policy-{stage}-jobs.json", (stage, name)
            assert set(entry["environment_variables"]) == {"DATABASE_OWNER_SECRET_ARN", "BACKUP_ALERT_TOPIC_ARN"}, (
                stage, name)  # a failed run alerts the operators' topic
            assert entry["lambda_timeout"] >= 60, (stage, name)


def test_jobs_on_a_rate_schedule_run_at_once_then_every_period_until_stopped(monkeypatch):
    """What `wealthdesk serve` runs in the background: each `rate(...)` job, at once and then once a period; cron
    jobs are left to their schedule (or a hand)."""
    import threading
    import time

    from chalicelib.ops import jobs

    assert jobs.JOBS["refresh-stale-views"].rate_seconds == 60
    assert jobs.JOBS["refresh-views"].rate_seconds is None
    assert jobs.Job("x", "rate(2 hours)", "", "m:f").rate_seconds == 7200
    ran: list[str] = []
    stop = threading.Event()
    table = {"test-every-minute": jobs.Job("test-every-minute", "rate(1 minute)", "counts", lambda conn: ran.append(
                 "minute") or {}),
             "test-nightly": jobs.Job("test-nightly", "cron(0 1 * * ? *)", "never here", lambda conn: ran.append(
                 "nightly") or {})}
    monkeypatch.setattr(jobs, "JOBS", table)
    thread = threading.Thread(target=jobs.run_rate_jobs, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not ran and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # a minute's period: no second run yet
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive() and ran == ["minute"]
    assert owner_sql("SELECT status, trigger FROM job_runs WHERE job_name = 'test-every-minute'") == [
        {"status": "succeeded", "trigger": "schedule"}]
