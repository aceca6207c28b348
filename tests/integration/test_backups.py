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

def test_a_backup_and_its_verification(store_dir: Path, firm_a: Firm) -> None:
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
    assert made.figures["rotation"]["deleted"] == []

    checked = _verify(row["id"])
    assert checked.status == "succeeded", checked
    [verdict] = verdicts(row["id"])
    assert (verdict["outcome"], verdict["stage"], verdict["reason"], verdict["trigger"]) == (
        "passed", "done", None, "manual")
    figures = verdict["figures"]
    assert figures["tables"] == len(manifest["tables"]) and figures["rows"] == sum(manifest["tables"].values())
    assert figures["foreign_keys"] > 20 and figures["ownership_checked"] and figures["scratch_dropped"]
    assert figures["toc_entries"] > 100 and set(figures["seconds"]) >= {"fetch", "checksum", "restore", "integrity"}
    assert scratch_databases() == []
    on_disk = json.loads((store_dir / row["object_key"].replace(".dump", ".verdict.json")).read_text())
    assert on_disk["outcome"] == "passed" and on_disk["id"] == str(verdict["id"])
