"""Verifying a backup: a backup is only a backup once it has been restored and checked.

In order, each step a stage of the verdict (the first that fails names the reason):
1. fetch: the manifest and the dump from the store; the manifest must be the one recorded when the backup was made;
2. checksum: the dump's size and SHA-256 against the record (a flipped byte or a truncated file stops here);
3. list: `pg_restore --list` reads the archive's table of contents;
4. restore: into a scratch database created for it on the same server (`wealthdesk_verify_<random>`), with
   `--exit-on-error`, by the owner role (which therefore needs CREATEDB);
5. row_counts: every table's rows, and each firm's rows of each table, against the manifest's counts, taken in the
   dump's own snapshot;
6. integrity: the schema's objects (tables, views, indexes, constraints, triggers, policies, functions, extensions)
   as many as in the database dumped; every JSON column holds objects; every product's ownership is valid
   (`ownership_is_valid`) and names only members of its household (a trigger's rule, which a restore does not
   run); every foreign key holds over the restored rows (checked again, row by row); no constraint is left NOT
   VALID; append-only tables (the audit trail, and statements where a database has them) are still not writable
   by the app role.
The scratch database is dropped afterwards, whatever happened (and any left by a run that died, at the start of the
next). The verdict (passed or failed, the stage, the reason and the figures) is recorded in backup_verifications
and written beside the dump in the store (`.verdict.json`); a failed one raises an alert.

Why the same server: the restore proves the dump loads into the PostgreSQL version, extensions and roles
(owners, grants to the app role) it must be restored into after an incident, with nothing else to run or pay for.
It costs the server the restore's work and the database's size in disk for the duration, at night.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib.core import pgtools

SCRATCH_PREFIX = "wealthdesk_verify_"
# JSON columns that may hold JSON other than an object (none so far: every one holds an object or NULL).
JSON_NOT_OBJECTS: frozenset[str] = frozenset()
# Tables the app role may insert into and read but never change: a restore must keep them so.
APPEND_ONLY = ("public.audit_events", "public.statements")

Progress = Callable[[str, int, int | None], None]


class Failed(Exception):
    """A verification step failed: the stage and a reason an operator can act on."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


def _manifest_differences(recorded: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    keys = sorted(set(recorded) | set(stored))
    return [k for k in keys if recorded.get(k) != stored.get(k)]


def _fetch(row: dict[str, Any], store: Any, work: Path, progress: Progress | None) -> tuple[dict[str, Any], Path]:
    from chalicelib.ops.backups import storage

    manifest_name = storage.sibling(row["object_key"], "manifest")
    try:
        stored = json.loads(store.get_bytes(manifest_name))
    except storage.MissingObject:
        raise Failed("fetch", f"the manifest {manifest_name} is missing from {store.url}") from None
    except ValueError as exc:
        raise Failed("fetch", f"the manifest {manifest_name} is not JSON: {exc}") from None
    if not isinstance(stored, dict):
        raise Failed("fetch", f"the manifest {manifest_name} is not a JSON object")
    changed = _manifest_differences(row["manifest"] or {}, stored)
    if changed:
        raise Failed("fetch", f"the manifest in the store differs from the one recorded when the backup was made "
                              f"(in {', '.join(changed)}): it was changed or replaced")
    try:
        path = store.local_path(row["object_key"])
        if path is None:
            path = work / row["object_key"]
            report = (lambda done: progress("fetching", done, row["size_bytes"])) if progress else None
            store.fetch(row["object_key"], path, report)
    except storage.MissingObject:
        raise Failed("fetch", f"the dump {row['object_key']} is missing from {store.url}") from None
    return stored, path


def _check_digest(row: dict[str, Any], path: Path, progress: Progress | None) -> dict[str, Any]:
    from chalicelib.ops.backups import storage

    report = (lambda done: progress("checking", done, row["size_bytes"])) if progress else None
    sha256, size = storage.file_digest(path, report)
    if size != row["size_bytes"]:
        what = "truncated" if size < row["size_bytes"] else "extended"
        raise Failed("checksum", f"the dump is {size} bytes but {row['size_bytes']} were written: it was {what} "
                                 f"(SHA-256 {sha256}, {row['sha256']} was written)")
    if sha256 != row["sha256"]:
        raise Failed("checksum", f"the dump's SHA-256 is {sha256} but {row['sha256']} was written: its contents "
                                 f"changed ({size} bytes, as written)")
    return {"size_bytes": size, "sha256": sha256}


@dataclass
class Contents:
    """The archive's table of contents (`pg_restore --list`) and what a restore leaves out of it."""

    entries: int  # the entries restored
    skipped_extensions: list[str]  # of BACKUP_SKIP_EXTENSIONS, those the archive has
    use_list: Path | None  # the list to restore from (--use-list) when something is left out


def contents(pg_restore: pgtools.Tool, path: Path, work: Path, skip: frozenset[str]) -> Contents:
    """Read the archive's table of contents; raises Failed("list"). Extensions named in `skip` (monitoring ones
    such as pg_stat_statements: they hold no data, and only a superuser may create them, which the owner role is
    not) and their comments are left out of the restore."""
    result = subprocess.run([pg_restore.path, "--list", str(path)], capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise Failed("list", f"pg_restore --list cannot read the dump: {result.stderr.strip()[-1500:]}")
    lines, skipped = [], []
    for line in result.stdout.splitlines():
        found = re.search(r"^\d+; \d+ \d+ (?:EXTENSION - |COMMENT - EXTENSION )(\S+)\s*$", line)
        if found and found.group(1) in skip:
            skipped.append(found.group(1))
            line = ";" + line
        lines.append(line)
    entries = sum(1 for line in lines if line.strip() and not line.startswith(";"))
    use_list = None
    if skipped:
        use_list = work / "restore.list"
        use_list.write_text("\n".join(lines) + "\n")
    return Contents(entries, sorted(set(skipped)), use_list)


def run_restore(pg_restore: pgtools.Tool, path: Path, url: str, *, entries: int | None,
                use_list: Path | None = None, progress: Progress | None = None) -> None:
    """`pg_restore --exit-on-error` of the archive into the database at `url`; raises RuntimeError with pg_restore's
    last words. With a progress callback, pg_restore runs --verbose and each item it reports counts one."""
    import collections
    import threading

    dbname, env = pgtools.connection_args(url)
    # --enable-row-security: the materialized views are refreshed at the end of a restore by their owner, whom
    # forced row-level security subjects to its (maintenance) policies; with row security off that is refused.
    cmd = [pg_restore.path, "--exit-on-error", "--enable-row-security", "--no-password", "--dbname", dbname]
    if use_list is not None:
        cmd.append(f"--use-list={use_list}")
    if progress is not None:
        cmd.append("--verbose")
    cmd.append(str(path))
    tail: collections.deque[str] = collections.deque(maxlen=40)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True,
                            errors="replace")

    def read() -> None:
        done = 0
        assert proc.stderr is not None
        for line in proc.stderr:
            tail.append(line.rstrip())
            if progress is not None and line.startswith("pg_restore: ") and (
                    " creating " in line or " processing " in line or " executing " in line):
                done += 1
                progress("restoring", min(done, entries or done), entries)

    reader = threading.Thread(target=read, name="pg-restore-stderr", daemon=True)
    reader.start()
    code = proc.wait()
    reader.join()
    if code != 0:
        errors = [line for line in tail if "error" in line.lower()] or list(tail)
        raise RuntimeError(f"pg_restore failed (exit {code}): {' | '.join(errors[-6:]) or 'no message'}")


def compare_firm_counts(restored: dict[str, dict[str, int]], manifest: dict[str, dict[str, int]]) -> list[str]:
    """Each firm's rows, table by table (the totals can agree while one firm's rows stand in for another's)."""
    problems = []
    for firm in sorted(set(restored) | set(manifest)):
        problems += [f"firm {firm}: {p}" for p in compare_counts(restored.get(firm, {}), manifest.get(firm, {}))]
    return problems


def compare_counts(restored: dict[str, int], manifest: dict[str, int]) -> list[str]:
    problems = []
    for table in sorted(set(restored) | set(manifest)):
        if table not in restored:
            problems.append(f"{table}: in the manifest ({manifest[table]} rows) but not restored")
        elif table not in manifest:
            problems.append(f"{table}: restored ({restored[table]} rows) but not in the manifest")
        elif restored[table] != manifest[table]:
            problems.append(f"{table}: {restored[table]} rows restored, the manifest says {manifest[table]}")
    return problems


def integrity_problems(conn: Any, manifest: dict[str, Any],
                       skipped_extensions: Iterable[str] = ()) -> tuple[list[str], dict[str, Any]]:
    """The checks of stage `integrity` on a restored database: (problems, figures). Extensions left out of the
    restore on purpose are not missed."""
    from chalicelib.core import config
    from chalicelib.ops.backups import store as store_

    problems: list[str] = []
    figures: dict[str, Any] = {}
    schema = store_.schema_facts(conn)
    expected = dict(manifest.get("schema") or {})
    if expected.get("extensions"):
        left_out = set(skipped_extensions)
        expected["extensions"] = [e for e in expected["extensions"] if e not in left_out]
    for kind in sorted(expected):
        if schema.get(kind) != expected[kind]:
            problems.append(f"{kind}: {schema.get(kind)} restored, {expected[kind]} in the database dumped")
    figures["schema"] = schema

    columns = [c for c in store_.json_columns(conn) if ".".join(c) not in JSON_NOT_OBJECTS]
    for schema_name, table, column in columns:
        bad = store_.non_object_json(conn, schema_name, table, column)
        if bad:
            problems.append(f"{schema_name}.{table}.{column}: {bad} rows hold JSON that is not an object")
    figures["json_columns"] = len(columns)

    if store_.has_relation(conn, "public.products") and store_.has_function(conn, "public.ownership_is_valid(jsonb)") \
            and store_.has_function(conn, "public.ownership_owner_ids(jsonb)"):
        ownership = store_.invalid_ownership(conn)
        if ownership["invalid"]:
            problems.append(f"products: {ownership['invalid']} with an ownership ownership_is_valid() refuses")
        if ownership["outside_household"]:
            problems.append(f"products: {ownership['outside_household']} name an owner outside their household")
        figures["ownership_checked"] = True

    keys = store_.foreign_keys(conn)
    for fk in keys:
        orphans = store_.orphans(conn, fk)
        if orphans:
            problems.append(f"foreign key {fk['child_schema']}.{fk['child']}.{fk['name']}: {orphans} rows refer to "
                            f"no row of {fk['parent_schema']}.{fk['parent']}")
    figures["foreign_keys"] = len(keys)

    unvalidated = store_.unvalidated_constraints(conn)
    if unvalidated:
        problems.append(f"constraints left NOT VALID: {', '.join(unvalidated)}")

    if store_.role_exists(conn, config.APP_ROLE):
        for table in APPEND_ONLY:
            if store_.has_relation(conn, table):
                writable = store_.writable_by(conn, config.APP_ROLE, table)
                if writable:
                    problems.append(f"{table} is no longer append-only: the app role may {', '.join(writable)}")
    return problems, figures


def verify(conn: Any, row: dict[str, Any], *, trigger: str, progress: Progress | None = None) -> dict[str, Any]:
    """Verify one backup (its record `row`); records and returns the verdict (a dict of backup_verifications)."""
    import psycopg

    from chalicelib.core import config
    from chalicelib.ops.backups import storage
    from chalicelib.ops.backups import store as store_
    from chalicelib.ops.backups.dump import server_major
    from chalicelib.ops.backups.settings import backup_settings

    store_.interrupt_verifications(conn)
    verification = store_.start_verification(conn, row["id"], trigger)
    figures: dict[str, Any] = {"backup_id": str(row["id"]), "object": row["object_key"], "store": row["store"]}
    timings: dict[str, float] = {}
    stage, reason, outcome = "fetch", None, "failed"
    scratch: str | None = None
    work = Path(tempfile.mkdtemp(prefix="wealthdesk-verify-", dir=backup_settings().work_dir))
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal stage, clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        stage, clock = name, now

    try:
        if row["status"] != "completed":
            raise Failed("fetch", f"the backup is {row['status']}"
                                  + (f" ({row['error']})" if row.get("error") else "")
                                  + ": there is no dump to verify")
        store = storage.open_store(row["store"])
        manifest, path = _fetch(row, store, work, progress)
        step("checksum")
        figures.update(_check_digest(row, path, progress))
        step("list")
        facts = store_.server_facts(conn)
        dump_major = int(str(manifest.get("pg_dump_version", "0")).split(".")[0] or 0)
        pg_restore = pgtools.tool("pg_restore", max(server_major(facts), dump_major),
                                  why=f"the server (PostgreSQL {facts['version']}) and a dump made by pg_dump "
                                      f"{manifest.get('pg_dump_version')}")
        figures["pg_restore_version"] = pg_restore.version
        toc = contents(pg_restore, path, work, backup_settings().skip_extensions)
        figures["toc_entries"] = toc.entries
        if toc.skipped_extensions:
            figures["skipped_extensions"] = toc.skipped_extensions
        step("restore")
        if not store_.may_create_databases(conn):
            raise Failed("restore", f"the role {facts['role']} may not create databases, which the scratch "
                                    f"database needs: ALTER ROLE {facts['role']} CREATEDB (docs/deploy.md)")
        for left in store_.databases_like(conn, SCRATCH_PREFIX):  # left by a run that died
            drop_scratch(conn, left)
        scratch = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
        store_.create_database(conn, scratch)
        figures["scratch_database"] = scratch
        scratch_url = pgtools.with_database(config.owner_database_url(), scratch)
        try:
            run_restore(pg_restore, path, scratch_url, entries=toc.entries, use_list=toc.use_list,
                        progress=progress)
        except RuntimeError as exc:
            raise Failed("restore", str(exc)) from None
        step("row_counts")
        with psycopg.connect(scratch_url, autocommit=True, row_factory=psycopg.rows.dict_row) as restored:
            counts, by_firm = store_.row_counts_by_firm(restored, store_.dumped_tables(restored))
            figures["tables"] = len(counts)
            figures["rows"] = sum(counts.values())
            figures["firms"] = len(by_firm)
            mismatches = compare_counts(counts, manifest.get("tables") or {})
            if "firms" in manifest:
                mismatches += compare_firm_counts(by_firm, manifest["firms"])
            if mismatches:
                figures["row_count_mismatches"] = mismatches
                raise Failed("row_counts", "; ".join(mismatches[:10])
                             + (f"; and {len(mismatches) - 10} more" if len(mismatches) > 10 else ""))
            step("integrity")
            problems, checked = integrity_problems(restored, manifest, toc.skipped_extensions)
            figures.update(checked)
            if problems:
                figures["integrity_problems"] = problems
                raise Failed("integrity", "; ".join(problems[:10])
                             + (f"; and {len(problems) - 10} more" if len(problems) > 10 else ""))
        step("done")
        outcome = "passed"
    except Failed as failure:
        stage, reason = failure.stage, failure.reason
    except Exception as exc:  # anything unforeseen fails the verification at the stage it happened in
        reason = f"{type(exc).__name__}: {exc}"
    finally:
        timings.setdefault(stage, round(time.perf_counter() - clock, 3))
        if scratch is not None:
            try:
                drop_scratch(conn, scratch)
                figures["scratch_dropped"] = True
            except Exception as exc:
                figures["scratch_dropped"] = False
                dropped = f"the scratch database {scratch} could not be dropped: {exc}"
                reason = f"{reason}; {dropped}" if reason else dropped
                outcome = "failed"
        shutil.rmtree(work, ignore_errors=True)
    figures["seconds"] = timings
    verdict = store_.finish_verification(conn, verification, outcome=outcome, stage=stage, reason=reason,
                                         figures=figures)
    _write_verdict(row, verdict)
    if outcome == "failed":
        from chalicelib.ops.backups import alerts

        verdict["alert"] = alerts.raise_alert(
            alerts.VERIFICATION_FAILED, "A backup failed its verification",
            f"Backup {row['id']} (taken {_when(row['started_at'])}, {row['object_key']}) failed its verification "
            f"at stage {stage}: {reason}. It cannot be relied on for a restore. See docs/operations.md, "
            f"\"Alerts\".",
            {"backup_id": str(row["id"]), "stage": stage, "reason": reason})
    return verdict


def drop_scratch(conn: Any, name: str, attempts: int = 3) -> None:
    """Drop a scratch database. A plain DROP first: it ends autovacuum's workers, which a freshly restored database
    sets off at once and which DROP ... WITH (FORCE) may not end for a role that is not a superuser ("permission
    denied to terminate process"); FORCE then for any session left (a run that died mid-restore)."""
    import psycopg

    from chalicelib.ops.backups import store as store_

    for attempt in range(attempts):
        try:
            store_.drop_database(conn, name)
            return
        except psycopg.errors.ObjectInUse:
            try:
                store_.drop_database(conn, name, force=True)
                return
            except psycopg.errors.InsufficientPrivilege:
                if attempt == attempts - 1:
                    raise
                time.sleep(1.0)


def _when(moment: Any) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if isinstance(moment, datetime) else str(moment)


def _write_verdict(row: dict[str, Any], verdict: dict[str, Any]) -> None:
    """The verdict beside the dump in the store, for an operator who has the store but not the database."""
    from chalicelib.core.jsonutil import dumps
    from chalicelib.ops.backups import storage

    try:
        store = storage.open_store(row["store"])
        if store.size(row["object_key"]) is None:
            return  # no dump (missing): nothing to sit beside
        store.put_bytes(storage.sibling(row["object_key"], "verdict"), dumps(verdict).encode() + b"\n")
    except Exception:  # the database holds the verdict; the copy in the store is a convenience
        pass
