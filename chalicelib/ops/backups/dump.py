"""Making a backup: `pg_dump -Fc` of the database, streamed into the backup store while it is hashed, with a
manifest beside it whose row counts come from the very snapshot the dump was taken in.

A REPEATABLE READ transaction on the owner's connection exports its snapshot (`pg_export_snapshot()`) and stays
open while pg_dump runs with `--snapshot`; in it, at the same time as the dump, every table's rows are counted, and
the applied migrations and the schema's objects are read. What the manifest says is therefore exactly what the
dump holds, whatever is written meanwhile. Nothing of the dump is held in memory: pg_dump's output goes through a
hashing reader straight into the store (a temporary file renamed into place, or an S3 multipart upload).
"""
from __future__ import annotations

import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.core import pgtools

FORMAT = "wealthdesk-backup/1"

Progress = Callable[[str, int, int | None], None]  # (step, done, total or None)


class BackupError(RuntimeError):
    """The backup could not be made (the reason says why)."""


def server_major(facts: dict[str, Any]) -> int:
    return int(facts["version_num"]) // 10000


def make_backup(conn: Any, *, progress: Progress | None = None) -> dict[str, Any]:
    """Dump the database into the backup store and record it; returns the backup's record and manifest. Runs with
    the backup lock held (run_job): no other backup or verification is running."""
    from chalicelib.core import config
    from chalicelib.ops.backups import storage
    from chalicelib.ops.backups import store as store_
    from chalicelib.ops.backups.settings import backup_settings

    store = storage.open_store(backup_settings().store)
    facts = store_.server_facts(conn)
    pg_dump = pgtools.tool("pg_dump", server_major(facts), why=f"the server (PostgreSQL {facts['version']})")
    hidden = store_.tables_hiding_rows(conn)
    if hidden:
        raise BackupError(f"row-level security would hide rows of {', '.join(hidden)} from {facts['role']}, which "
                          "dumps the database: the backup would miss them. Give the role a policy that shows it "
                          "every row (like the `maintenance` policies) or BYPASSRLS")
    for left in store_.interrupt_running(conn):  # a run that died: its half-written dump goes
        try:
            storage.open_store(left["store"]).delete(left["object_key"])
        except Exception:  # best effort: an object that cannot be deleted is only wasted space
            pass
    backup_id = uuid.uuid4()
    names = storage.names_for(backup_id, datetime.now(UTC))
    started_at = store_.insert_running(conn, backup_id, store.url, names["dump"])
    try:
        dumped = _dump(config.owner_database_url(), pg_dump, store, names["dump"], progress)
        stored = store.size(names["dump"])
        if stored != dumped["size"]:
            raise BackupError(f"the store holds {stored} bytes of the dump, {dumped['size']} were written")
        finished_at = datetime.now(UTC)
        manifest = {
            "format": FORMAT, "id": str(backup_id), "object": names["dump"], "store": store.url,
            "sha256": dumped["sha256"], "size_bytes": dumped["size"],
            "started_at": started_at.isoformat(), "finished_at": finished_at.isoformat(),
            "database": facts["database"], "server_version": facts["version"],
            "server_version_num": facts["version_num"], "pg_dump_version": pg_dump.version,
            "dump_format": "custom", "snapshot": dumped["snapshot"], "migrations": dumped["migrations"],
            "schema": dumped["schema"], "tables": dumped["tables"], "firms": dumped["firms"],
        }
        import json

        store.put_bytes(names["manifest"], json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
        store_.complete(conn, backup_id, size=dumped["size"], sha256=dumped["sha256"], manifest=manifest,
                        finished_at=finished_at)
    except BaseException as exc:
        for name in (names["dump"], names["manifest"]):
            try:
                store.delete(name)
            except Exception:  # best effort, as above
                pass
        store_.fail(conn, backup_id, f"{type(exc).__name__}: {exc}")
        raise
    return {"id": str(backup_id), "object": names["dump"], "store": store.url, "size_bytes": dumped["size"],
            "sha256": dumped["sha256"], "tables": len(dumped["tables"]), "rows": sum(dumped["tables"].values()),
            "dump_seconds": dumped["seconds"], "count_seconds": dumped["count_seconds"], "manifest": manifest}


def _dump(url: str, pg_dump: pgtools.Tool, store: Any, name: str, progress: Progress | None) -> dict[str, Any]:
    from chalicelib.core import db
    from chalicelib.ops.backups import storage
    from chalicelib.ops.backups import store as store_

    started = time.perf_counter()
    with db.owner_connection(autocommit=True) as snap:
        snapshot = store_.begin_snapshot(snap)
        try:
            tables = store_.dumped_tables(snap)
            migrations = store_.applied_migrations(snap)
            schema = store_.schema_facts(snap)
            dbname, env = pgtools.connection_args(url)
            cmd = [pg_dump.path, "--format=custom", f"--snapshot={snapshot}", "--enable-row-security",
                   "--no-password", "--dbname", dbname]
            counted: dict[str, Any] = {}

            def count() -> None:  # in the snapshot's transaction, while pg_dump reads the same snapshot
                t0 = time.perf_counter()
                try:
                    counted["tables"], counted["firms"] = store_.row_counts_by_firm(snap, tables)
                except BaseException as exc:
                    counted["error"] = exc
                counted["seconds"] = time.perf_counter() - t0

            with tempfile.TemporaryFile() as errors:
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, env=env)
                counter = threading.Thread(target=count, name="backup-row-counts", daemon=True)
                counter.start()
                report = (lambda done: progress("dumping", done, None)) if progress else None
                reader = storage.HashingReader(proc.stdout, report)  # type: ignore[arg-type]
                try:
                    store.put_stream(name, reader)
                except BaseException:
                    proc.kill()
                    snap.cancel()  # stop counting: there will be no manifest
                    raise
                finally:
                    code = proc.wait()
                    counter.join()
                if code != 0:
                    errors.seek(0)
                    text = errors.read().decode(errors="replace").strip()
                    raise BackupError(f"pg_dump failed (exit {code}): {text[-2000:] or 'no message'}")
            if "error" in counted:
                raise counted["error"]
        finally:
            store_.end_snapshot(snap)
    return {"sha256": reader.hexdigest(), "size": reader.size, "snapshot": snapshot, "migrations": migrations,
            "schema": schema, "tables": counted["tables"], "firms": counted["firms"],
            "seconds": round(time.perf_counter() - started, 3),
            "count_seconds": round(counted["seconds"], 3)}
