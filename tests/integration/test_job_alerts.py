"""A failed job tells the operators (the log, the SNS alert topic, the admins of the operators' firm in the app), at
the first failure of a streak and at most once a UTC day after, and the admins of each firm the run worked for,
without the error; a job that raised its own alert (the backups) raises no second one."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.conftest import Firm, make_firm, owner_sql
from tests.integration.backup_support import notifications_of, sns_topic


@pytest.fixture
def operators(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A firm of its own as the operators' firm, and the alert topic under moto."""
    firm = make_firm("Operators")
    monkeypatch.setenv("OPERATOR_FIRM_ID", str(firm.id))
    with sns_topic(monkeypatch) as sent:
        yield firm, sent


def _failing(monkeypatch: pytest.MonkeyPatch, name: str, message: str, firms: list[Any] = ()) -> None:
    from chalicelib.ops import jobs

    def run(conn: Any, **options: Any) -> dict[str, Any]:
        jobs.concerns(firms)
        raise RuntimeError(message)

    monkeypatch.setitem(jobs.JOBS, name, replace(jobs.JOBS[name], run=run))


def _run(name: str) -> Any:
    from chalicelib.ops.jobs import run_job

    return run_job(name, trigger="schedule")


def test_a_failed_platform_job_alerts_the_operators_once_a_streak(operators: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.ops import jobs

    firm, sent = operators
    admin = firm.users["admin"]["id"]
    original = jobs.JOBS["audit-partitions"]
    _failing(monkeypatch, "audit-partitions", "partition boom")
    with pytest.raises(RuntimeError, match="partition boom"):
        _run("audit-partitions")
    [note] = notifications_of(admin, "ops.job_failed")
    assert note["title"] == "Job audit-partitions failed" and "partition boom" in note["body"]
    assert note["data"]["job"] == "audit-partitions" and note["data"]["error"] == "RuntimeError: partition boom"
    [message] = [m for m in sent() if m["kind"] == "ops.job_failed"]
    assert "partition boom" in message["message"] and "audit-partitions" in message["subject"]
    assert notifications_of(firm.users["adviser"]["id"], "ops.job_failed") == []  # admins only

    with pytest.raises(RuntimeError):  # the same streak, the same day: no second alert
        _run("audit-partitions")
    assert len(notifications_of(admin, "ops.job_failed")) == 1 and len(sent()) == 1

    monkeypatch.setitem(jobs.JOBS, "audit-partitions", original)
    assert _run("audit-partitions").status == "succeeded"
    _failing(monkeypatch, "audit-partitions", "partition boom again")
    with pytest.raises(RuntimeError):  # a new streak
        _run("audit-partitions")
    notes = notifications_of(admin, "ops.job_failed")
    assert len(notes) == 2 and "partition boom again" in notes[-1]["body"]


def test_a_failed_refresh_tells_the_admins_of_the_firms_it_worked_for_without_the_error(
        operators: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    operator_firm, _sent = operators
    concerned, other = make_firm("Concerned"), make_firm("Not concerned")
    _failing(monkeypatch, "refresh-stale-views", f"secret detail of firm {other.id}", [concerned.id])
    with pytest.raises(RuntimeError):
        _run("refresh-stale-views")
    [note] = notifications_of(concerned.users["admin"]["id"], "ops.job_failed")
    assert note["title"] == "Dashboard not refreshed" and "stale" in note["body"]
    assert "secret detail" not in note["body"] and "error" not in note["data"]
    assert note["firm_id"] == concerned.id
    assert notifications_of(other.users["admin"]["id"], "ops.job_failed") == []
    [operators_note] = notifications_of(operator_firm.users["admin"]["id"], "ops.job_failed")
    assert "secret detail" in operators_note["body"]  # the operators get the error


def test_the_firms_admins_see_it_in_their_notifications(client: Any, fresh_firm: Firm,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPERATOR_FIRM_ID", raising=False)
    monkeypatch.delenv("BACKUP_ALERT_TOPIC_ARN", raising=False)
    _failing(monkeypatch, "refresh-views", "views boom", [fresh_firm.id])
    with pytest.raises(RuntimeError):
        _run("refresh-views")
    listed = client.http.get("/v1/notifications?unread=true", headers=fresh_firm.auth("admin"))
    assert listed.status_code == 200
    [item] = [i for i in listed.json_body["items"] if i["kind"] == "ops.job_failed"]
    assert item["title"] == "Dashboard not refreshed" and item["data"]["job"] == "refresh-views"
    read = client.http.post(f"/v1/notifications/{item['id']}/read", headers=fresh_firm.auth("admin"))
    assert read.status_code == 204
    unread = client.http.get("/v1/notifications?unread=true", headers=fresh_firm.auth("admin")).json_body
    assert item["id"] not in [i["id"] for i in unread["items"]]


def test_a_backup_that_alerted_itself_gets_no_second_alert(operators: Any, tmp_path: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.ops.backups import dump

    firm, sent = operators
    monkeypatch.setenv("BACKUP_STORE", f"file://{tmp_path}")

    def broken(conn: Any, **kwargs: Any) -> Any:
        raise dump.BackupError("the store refused")

    monkeypatch.setattr(dump, "make_backup", broken)
    with pytest.raises(dump.BackupError):
        _run("backup")
    admin = firm.users["admin"]["id"]
    assert len(notifications_of(admin, "ops.backup_failed")) == 1
    assert notifications_of(admin, "ops.job_failed") == []
    assert [m["kind"] for m in sent()] == ["ops.backup_failed"]


def test_a_run_killed_is_recorded_interrupted_by_the_next_of_its_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Holding the lock, a run knows that a run of its lock still `running` is dead."""
    from chalicelib.ops.jobs import run_job

    [dead] = owner_sql("INSERT INTO job_runs (job_name, status, trigger) VALUES ('refresh-views', 'running', "
                       "'schedule') RETURNING id")
    result = run_job("refresh-stale-views", trigger="manual")  # shares refresh-views' lock
    assert result.status == "succeeded" and result.figures["interrupted_runs"] == [str(dead["id"])]
    [row] = owner_sql("SELECT status, error FROM job_runs WHERE id = %s", (dead["id"],))
    assert row["status"] == "failed" and row["error"].startswith("interrupted")
