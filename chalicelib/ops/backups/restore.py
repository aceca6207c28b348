"""Restoring a backup into a database: `wealthdesk restore ID --into URL`.

It needs the backup store and the target database only, never the database the backup was made from (which may be
the one that was lost): the backup is found in the store by its id, through its manifest. The dump is checked
against the manifest (size and SHA-256) before anything is written. A database that holds anything (a table, a
function, an extension, a schema) is only restored over with `force` and the database's name typed back by the
operator (`confirm`); then everything in it is dropped first (its extensions, schemas, tables, views, functions and
types; not the database, its settings and privileges, or any role), in one transaction, so that the database ends up
as the backup was, not a mixture (pg_restore --clean cannot drop a partitioned table's inherited constraints).
Afterwards every table's rows (and each firm's) are counted against the manifest and the database is analysed.
Extensions named in BACKUP_SKIP_EXTENSIONS (pg_stat_statements: monitoring only, and only a superuser may create it)
are left out: a superuser creates them again if they are wanted.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from chalicelib.core import pgtools

Progress = Callable[[str, int, int | None], None]


class RestoreError(RuntimeError):
    """The restore was refused or failed (the reason says which, and what was left)."""


def find(store: Any, backup_id: UUID) -> dict[str, Any]:
    """The manifest of a backup in the store."""
    from chalicelib.ops.backups import storage

    name = storage.find_manifest(store, backup_id)
    if name is None:
        raise RestoreError(f"no backup {backup_id} in {store.url} (`wealthdesk backups` lists them)")
    try:
        manifest = json.loads(store.get_bytes(name))
    except ValueError as exc:
        raise RestoreError(f"the manifest {name} is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("id") != str(backup_id):
        raise RestoreError(f"the manifest {name} is not the manifest of backup {backup_id}")
    return manifest


def restore(backup_id: UUID, into_url: str, *, store_url: str | None = None, force: bool = False,
            confirm: Callable[[str], bool] | None = None, progress: Progress | None = None) -> dict[str, Any]:
    import psycopg
    from psycopg.rows import dict_row

    from chalicelib.ops.backups import storage
    from chalicelib.ops.backups import store as store_
    from chalicelib.ops.backups.dump import server_major
    from chalicelib.ops.backups.settings import backup_settings
    from chalicelib.ops.backups.verify import Failed, compare_counts, compare_firm_counts, contents, run_restore

    started = time.perf_counter()
    store = storage.open_store(store_url or backup_settings().store)
    manifest = find(store, backup_id)
    work = Path(tempfile.mkdtemp(prefix="wealthdesk-restore-", dir=backup_settings().work_dir))
    try:
        name = manifest["object"]
        try:
            path = store.local_path(name)
            if path is None:
                path = work / name
                store.fetch(name, path, (lambda done: progress("fetching", done, manifest["size_bytes"]))
                            if progress else None)
        except storage.MissingObject:
            raise RestoreError(f"the dump {name} is missing from {store.url}") from None
        sha256, size = storage.file_digest(path, (lambda done: progress("checking", done, manifest["size_bytes"]))
                                           if progress else None)
        if (sha256, size) != (manifest["sha256"], manifest["size_bytes"]):
            raise RestoreError(f"the dump {name} does not match its manifest ({size} bytes, SHA-256 {sha256}; the "
                               f"manifest says {manifest['size_bytes']} bytes, {manifest['sha256']}): it is damaged, "
                               "nothing was restored. Pick another backup")
        with psycopg.connect(into_url, autocommit=True, row_factory=dict_row) as target:
            facts = store_.server_facts(target)
            present = store_.user_objects(target)
            dump_major = int(str(manifest.get("pg_dump_version", "0")).split(".")[0] or 0)
            pg_restore = pgtools.tool("pg_restore", max(server_major(facts), dump_major),
                                      why=f"the server (PostgreSQL {facts['version']}) and a dump made by pg_dump "
                                          f"{manifest.get('pg_dump_version')}")
            try:
                toc = contents(pg_restore, path, work, backup_settings().skip_extensions)
            except Failed as exc:
                raise RestoreError(exc.reason) from None
            if present:
                shown = ", ".join(present[:5]) + (f" and {len(present) - 5} more" if len(present) > 5 else "")
                if not force:
                    raise RestoreError(f"the database {facts['database']} is not empty ({shown}): nothing was "
                                       "restored. Restore into an empty database, or pass --force to restore over "
                                       "this one")
                if confirm is None or not confirm(facts["database"]):
                    raise RestoreError(f"restoring over {facts['database']} was not confirmed: nothing was restored")
                try:
                    store_.empty_database(target)
                except psycopg.Error as exc:
                    raise RestoreError(f"{facts['database']} could not be emptied ({exc}): nothing was dropped or "
                                       "restored. Connect as a role that owns its objects") from None
                left = store_.user_objects(target)
                if left:
                    raise RestoreError(f"after emptying it, {facts['database']} still holds {', '.join(left[:5])}: "
                                       "drop them, or restore into an empty database; nothing was restored")
        try:
            run_restore(pg_restore, path, into_url, entries=toc.entries, use_list=toc.use_list, progress=progress)
        except RuntimeError as exc:
            raise RestoreError(f"{exc}. The database {facts['database']} may now hold part of the backup") from None
        with psycopg.connect(into_url, autocommit=True, row_factory=dict_row) as target:
            counts, by_firm = store_.row_counts_by_firm(target, store_.dumped_tables(target))
            mismatches = compare_counts(counts, manifest.get("tables") or {})
            if "firms" in manifest:
                mismatches += compare_firm_counts(by_firm, manifest["firms"])
            if mismatches:
                raise RestoreError("the restored rows differ from the manifest: " + "; ".join(mismatches[:10]))
            store_.analyze(target)
        return {"backup_id": str(backup_id), "database": facts["database"], "server_version": facts["version"],
                "restored_over": len(present), "tables": len(counts), "rows": sum(counts.values()),
                "taken_at": manifest.get("started_at"), "migrations": len(manifest.get("migrations") or []),
                "skipped_extensions": toc.skipped_extensions,
                "seconds": round(time.perf_counter() - started, 3)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
