"""What every job promises (chalicelib/ops/jobs.py), proven job by job: two copies at once (one runs, the other is
recorded skipped and exits quietly), a second run in a row changes nothing, and a run killed midway (SIGKILL of the
`wealthdesk job run` process, as Lambda ends a function at its time limit) leaves nothing half-done, is recorded as
interrupted, and the next run completes the work. The backups' own record of a dead run (a backup left `running`)
is tested in test_backups.py; here the process really dies."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from tests.conftest import Firm, owner_sql

WEALTHDESK = str(Path(sys.executable).parent / "wealthdesk")


def _job_names() -> list[str]:
    from chalicelib.ops.jobs import JOBS

    return sorted(JOBS)


def _wait_for(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# --- two copies at once ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", _job_names())
def test_two_copies_at_once_one_runs_and_the_other_is_skipped_quietly(name: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The first copy holds the job's lock while it works (its work paused half way); a second copy, scheduled or
    by hand, is recorded `skipped` and exits 0 without doing anything, and so does a copy of any job sharing the
    lock. The first then finishes normally."""
    from dataclasses import replace

    from chalicelib.cli import main
    from chalicelib.ops import jobs

    job = jobs.JOBS[name]
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def paused(conn: Any, **options: Any) -> dict[str, Any]:
        calls.append(name)
        entered.set()
        assert release.wait(60)
        return {"done": True}

    monkeypatch.setitem(jobs.JOBS, name, replace(job, run=paused))
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.update(first=jobs.run_job(name, trigger="schedule")))
    first.start()
    try:
        assert entered.wait(60)
        second = jobs.run_job(name, trigger="schedule")
        assert second.status == "skipped" and second.error is None and "lock" in second.figures["reason"]
        by_hand = CliRunner().invoke(main, ["job", "run", name])
        assert by_hand.exit_code == 0, by_hand.output
        assert '"status": "skipped"' in by_hand.output
        sharing = [other for other in jobs.JOBS.values() if other.name != name
                   and (other.lock or other.name) == (job.lock or job.name)]
        for other in sharing:
            assert jobs.run_job(other.name, trigger="schedule").status == "skipped", other.name
    finally:
        release.set()
        first.join(60)
    assert results["first"].status == "succeeded" and results["first"].figures == {"done": True}
    assert calls == [name]  # the skipped copies did nothing
    rows = owner_sql("SELECT status FROM job_runs WHERE id IN (%s, %s)", (results["first"].id, second.id))
    assert sorted(r["status"] for r in rows) == ["skipped", "succeeded"]


# --- twice in a row --------------------------------------------------------------------------------------------

def test_every_upkeep_job_run_twice_changes_nothing_the_second_time(firm_a: Firm) -> None:
    """The jobs a schedule may deliver twice (EventBridge delivers at least once): the second run finds its work
    done. (A backup is a new backup each time by design, and a verification verifies what it is given: both in
    test_backups.py.)"""
    from chalicelib.ops.jobs import run_job

    day = date.today() - timedelta(days=2)
    first = {name: run_job(name, trigger="manual").figures for name in
             ("audit-partitions", "irr-history", "refresh-views", "refresh-stale-views", "db-maintenance")}
    first["networth-snapshots"] = run_job("networth-snapshots", trigger="manual", date=day).figures
    again = {name: run_job(name, trigger="manual").figures for name in
             ("audit-partitions", "irr-history", "refresh-stale-views", "db-maintenance")}
    again["networth-snapshots"] = run_job("networth-snapshots", trigger="manual", date=day).figures
    assert again["audit-partitions"]["created"] == 0
    assert again["irr-history"]["products"] == 0 and again["irr-history"]["rows_written"] == 0
    assert again["refresh-stale-views"]["refreshed"] is False  # nothing written since the full refresh
    assert again["db-maintenance"]["reindexed"] == [] and again["db-maintenance"]["leftovers_dropped"] == []
    assert again["networth-snapshots"]["days_skipped"] == 1 and again["networth-snapshots"]["rows_written"] == 0


# --- killed midway ---------------------------------------------------------------------------------------------

def _start(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`wealthdesk job run NAME` in a process group of its own (its pg_dump too), on the worker's database."""
    return subprocess.Popen([WEALTHDESK, "job", "run", name, *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


def _running_run(name: str) -> Any:
    rows = owner_sql("SELECT id FROM job_runs WHERE job_name = %s AND status = 'running'", (name,))
    return rows[0]["id"] if rows else None


def _no_session_of(pid_query: str) -> Callable[[], bool]:
    """The killed client's server session has ended (its statement aborted: it noticed the client gone)."""
    return lambda: owner_sql("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND "
                             "pid <> pg_backend_pid() AND state = 'active' AND query ILIKE %s",
                             (pid_query,))[0]["n"] == 0


@pytest.fixture
def holder(database: str) -> Iterator[psycopg.Connection]:
    """A transaction of another session, held open by the test (the job waits for it), rolled back at the end."""
    with psycopg.connect(database) as conn:
        yield conn
        conn.rollback()


def test_db_maintenance_killed_mid_reindex_is_finished_by_the_next_run(holder: psycopg.Connection,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """REINDEX CONCURRENTLY builds a new index beside the old one; killed before the swap it leaves the old one in
    use and an invalid `_ccnew` one. The next run drops that, records the dead run as interrupted and rebuilds."""
    from chalicelib.ops.jobs import run_job

    env = {"DB_MAINTENANCE_MIN_INDEX_BYTES": str(1024 * 1024)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    owner_sql("DROP TABLE IF EXISTS upkeep_kill")
    owner_sql("CREATE TABLE upkeep_kill (id int PRIMARY KEY)")
    owner_sql("INSERT INTO upkeep_kill SELECT generate_series(1, 100000)")
    owner_sql("DELETE FROM upkeep_kill WHERE id % 10 <> 0")
    owner_sql("VACUUM upkeep_kill")
    try:
        holder.execute("INSERT INTO upkeep_kill VALUES (0)")  # the rebuild waits for this writer to finish
        proc = _start("db-maintenance", env=env)
        _wait_for(lambda: owner_sql("SELECT to_regclass('upkeep_kill_pkey_ccnew') IS NOT NULL AS ok")[0]["ok"],
                  "the rebuild to start")
        dead = _running_run("db-maintenance")
        assert dead is not None
        _kill(proc)
        _wait_for(_no_session_of("REINDEX INDEX CONCURRENTLY%upkeep_kill%"), "the killed session to end", 30)
        holder.rollback()
        left = owner_sql("SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                         "WHERE i.indrelid = 'upkeep_kill'::regclass ORDER BY 1")
        assert left == [{"relname": "upkeep_kill_pkey", "indisvalid": True},
                        {"relname": "upkeep_kill_pkey_ccnew", "indisvalid": False}]

        after = run_job("db-maintenance", trigger="manual")
        assert after.status == "succeeded"
        assert after.figures["leftovers_dropped"] == ["upkeep_kill_pkey_ccnew"]
        assert str(dead) in after.figures["interrupted_runs"]
        assert "upkeep_kill_pkey" in [r["index"] for r in after.figures["reindexed"]]
        assert owner_sql("SELECT count(*) AS n FROM pg_index WHERE NOT indisvalid") == [{"n": 0}]
        [row] = owner_sql("SELECT status, error, finished_at FROM job_runs WHERE id = %s", (dead,))
        assert row["status"] == "failed" and row["error"].startswith("interrupted") and row["finished_at"]
    finally:
        holder.rollback()
        owner_sql("DROP TABLE IF EXISTS upkeep_kill")


def test_a_backup_killed_mid_dump_is_finished_by_the_next_run(holder: psycopg.Connection, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.ops.jobs import run_job

    store = tmp_path / "backups"
    env = {"BACKUP_STORE": f"file://{store}"}
    monkeypatch.setenv("BACKUP_STORE", env["BACKUP_STORE"])
    monkeypatch.delenv("BACKUP_ALERT_TOPIC_ARN", raising=False)
    monkeypatch.delenv("OPERATOR_FIRM_ID", raising=False)
    # pg_dump, once started, waits for this (a table without row-level security, which nothing before the dump reads)
    holder.execute("LOCK TABLE view_refreshes IN ACCESS EXCLUSIVE MODE")
    proc = _start("backup", env=env)
    _wait_for(lambda: owner_sql("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'pg_dump' "
                                "AND wait_event_type = 'Lock'")[0]["n"] > 0, "pg_dump to wait on the lock")
    [dead_backup] = owner_sql("SELECT id FROM backups WHERE status = 'running'")
    dead = _running_run("backup")
    assert dead is not None
    _kill(proc)
    holder.rollback()

    after = run_job("backup", trigger="manual")
    assert after.status == "succeeded" and str(dead) in after.figures["interrupted_runs"]
    [row] = owner_sql("SELECT status, error FROM backups WHERE id = %s", (dead_backup["id"],))
    assert row["status"] == "failed" and row["error"].startswith("interrupted")
    assert not list(store.glob(f"*{dead_backup['id']}*.dump"))  # its half dump is gone
    assert owner_sql("SELECT count(*) AS n FROM backups WHERE status = 'running'") == [{"n": 0}]
    assert run_job("verify-backup", trigger="manual", backup_id=after.figures["id"]).status == "succeeded"
    [run] = owner_sql("SELECT status, error FROM job_runs WHERE id = %s", (dead,))
    assert run["status"] == "failed" and run["error"].startswith("interrupted")


def test_networth_snapshots_killed_mid_range_keeps_whole_days_and_the_next_run_completes_it(
        holder: psycopg.Connection, client: Any, firm_a: Firm) -> None:
    """Each day is one transaction: a run killed on its second day leaves the first whole and the second untouched
    (no household's row, no firm total); the next run takes the days left."""
    from chalicelib.ops.jobs import run_job
    from tests.integration.matrix_support import create_household

    for _ in range(2):
        create_household(client, firm_a.auth("admin"))

    days = [date(2001, 1, 1) + timedelta(days=i) for i in range(3)]
    owner_sql("DELETE FROM networth_snapshots WHERE snapshot_date = ANY(%s)", (days,))
    owner_sql("DELETE FROM networth_firm_totals WHERE snapshot_date = ANY(%s)", (days,))
    households = owner_sql("SELECT count(*) AS n FROM client_groups")[0]["n"]
    assert households > 0
    # another session's uncommitted row for one household on the second day: the job's insert of that day waits
    holder.execute("INSERT INTO networth_snapshots (firm_id, client_group_id, snapshot_date, currency, assets, "
                   "liabilities, net_worth, unconverted) SELECT g.firm_id, g.id, %s, 'GBP', 0, 0, 0, 0 "
                   "FROM client_groups g ORDER BY g.id LIMIT 1", (days[1],))
    proc = _start("networth-snapshots", "--from", str(days[0]), "--to", str(days[-1]))
    _wait_for(lambda: owner_sql("SELECT count(*) AS n FROM networth_snapshots WHERE snapshot_date = %s",
                                (days[0],))[0]["n"] == households, "the first day")
    _wait_for(lambda: owner_sql("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                "AND query ILIKE '%%networth_snapshots%%'")[0]["n"] > 0, "the second day to wait")
    dead = _running_run("networth-snapshots")
    _kill(proc)
    _wait_for(_no_session_of("%INSERT INTO networth_snapshots%"), "the killed session to end", 30)
    holder.rollback()

    def taken(day: date) -> tuple[int, int]:
        return (owner_sql("SELECT count(*) AS n FROM networth_snapshots WHERE snapshot_date = %s", (day,))[0]["n"],
                owner_sql("SELECT count(*) AS n FROM networth_firm_totals WHERE snapshot_date = %s", (day,))[0]["n"])

    assert taken(days[0])[0] == households and taken(days[0])[1] > 0
    assert taken(days[1]) == (0, 0) and taken(days[2]) == (0, 0)
    after = run_job("networth-snapshots", trigger="manual", from_=days[0], to=days[-1])
    assert after.status == "succeeded" and str(dead) in after.figures["interrupted_runs"]
    assert (after.figures["days_skipped"], after.figures["days_taken"]) == (1, 2)
    assert all(taken(day)[0] == households for day in days)

