"""Backups part (BENCH_PARTS=backups): what making and verifying a backup costs over the bare client programs.

B1. The `backup` job (a snapshot exported and held, every table's rows counted in it while pg_dump runs, the dump
    streamed through a SHA-256 into a file:// store, the manifest written, the records and rotation) over a bare
    `pg_dump -Fc --enable-row-security -f FILE` of the same database, by the same role, with the same pg_dump.
B2. The `verify-backup` job (the checksum, `pg_restore --list`, CREATE DATABASE, the restore, every table's rows
    counted, the integrity checks, DROP DATABASE, the verdict) over a bare
    `pg_restore --exit-on-error --enable-row-security -d EMPTY FILE` of the same dump into an empty database made
    beforehand (its CREATE and DROP are not timed).
--enable-row-security in both baselines: the owner role is subject to its tables' forced row-level security, so
neither program works for it without. The harness's pg_stat_statements extension is dropped from the bench database
first (only a superuser may create it, so a bare pg_restore by the owner would stop at it). Each round times the bare
program and the job back to back (the order alternating), BENCH_BACKUP_ROUNDS rounds (default 3); the figures are
medians. The database: a firm of BENCH_BACKUP_HOUSEHOLDS households (default 1,000: about 1 GB, the size the
target names, at some 1 MiB a household) with ten years of monthly valuations and cash flows
(tests/bench/products_data.py: INSERT ... SELECT generated in the database, as the owner role); its size is reported.
BENCH_BACKUP_HOUSEHOLDS=100 makes a smoke run of some 100 MiB. The dumps, the store and the scratch databases are
removed afterwards.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.common import say

BACKUP_TARGET = 1.15
VERIFY_TARGET = 1.5
HOUSEHOLDS = 1_000  # about 1 GB of database
TARGET_BYTES = 10**9  # the size the targets are stated for


@dataclass
class BackupsResult:
    households: int
    rounds: int
    database_bytes: int
    rows: int
    tables: int
    dump_bytes: int
    pg_dump: str
    samples: dict[str, list[float]] = field(default_factory=dict)  # bare_dump, backup_job, bare_restore, verify_job
    stages: list[dict[str, float]] = field(default_factory=list)  # the verification's seconds per stage, per round
    count_seconds: list[float] = field(default_factory=list)  # the row counts inside the backup job (in parallel)
    load_seconds: float = 0.0
    backup_ids: list[str] = field(default_factory=list)

    def median(self, kind: str) -> float:
        return statistics.median(self.samples[kind])

    def ratio(self, job: str, bare: str) -> float:
        return self.median(job) / self.median(bare)


def _run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if result.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {result.stderr.strip()[-800:]}")
    return elapsed


def measure(database: Any, households: int, rounds: int) -> BackupsResult:
    import psycopg

    from chalicelib.core import config, pgtools
    from tests.bench import common, products_data

    firm = common.make_firm(households)
    t0 = time.monotonic()
    products_data.load(firm, admin_url=database.admin_url)
    load_seconds = time.monotonic() - t0
    owner_url = config.owner_database_url()
    if database.admin_url:  # the harness's own monitoring extension: not the application's, and not restorable by
        with psycopg.connect(database.admin_url, autocommit=True) as conn:  # the owner role (nor by bare pg_restore)
            conn.execute("DROP EXTENSION IF EXISTS pg_stat_statements")
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    pg_dump = pgtools.tool("pg_dump", major, why="the bench server")
    pg_restore = pgtools.tool("pg_restore", major, why="the bench server")
    work = Path(tempfile.mkdtemp(prefix="wd-bench-backups-"))
    os.environ["BACKUP_STORE"] = f"file://{work / 'store'}"
    dbname, env = pgtools.connection_args(owner_url)
    samples: dict[str, list[float]] = {k: [] for k in ("bare_dump", "backup_job", "bare_restore", "verify_job")}
    result = BackupsResult(households=households, rounds=rounds, database_bytes=size, rows=0, tables=0,
                           dump_bytes=0, pg_dump=pg_dump.version, samples=samples, load_seconds=load_seconds)
    say(f"backups: database {size / 2**20:,.0f} MiB after loading {households:,} households "
        f"({load_seconds:.0f} s); {rounds} rounds")
    try:
        _rounds(result, rounds, work, database, owner_url, dbname, env, pg_dump, pg_restore)
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)  # the dumps and the store: gigabytes at the default size
    return result


def _rounds(result: BackupsResult, rounds: int, work: Path, database: Any, owner_url: str, dbname: str,
            env: dict[str, str], pg_dump: Any, pg_restore: Any) -> None:
    import psycopg

    from chalicelib.core import pgtools
    from chalicelib.ops.jobs import run_job

    samples = result.samples
    for i in range(rounds):
        bare_file = work / f"bare-{i}.dump"

        def bare_dump(path: Path = bare_file) -> None:
            samples["bare_dump"].append(_run([pg_dump.path, "--format=custom", "--enable-row-security",
                                              "--no-password", "--file", str(path), "--dbname", dbname], env))

        def backup_job() -> None:
            t = time.perf_counter()
            made = run_job("backup", trigger="manual")
            samples["backup_job"].append(time.perf_counter() - t)
            result.backup_ids.append(made.figures["id"])
            result.count_seconds.append(made.figures["count_seconds"])
            result.dump_bytes, result.rows, result.tables = (made.figures["size_bytes"], made.figures["rows"],
                                                             made.figures["tables"])

        for step in ((bare_dump, backup_job) if i % 2 == 0 else (backup_job, bare_dump)):
            step()
        backup_id = result.backup_ids[-1]
        scratch = f"wd_bench_restore_{uuid.uuid4().hex[:8]}"

        def bare_restore(name: str = scratch, path: Path = bare_file) -> None:
            with psycopg.connect(owner_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            try:
                target, env_ = pgtools.connection_args(pgtools.with_database(owner_url, name))
                samples["bare_restore"].append(_run([pg_restore.path, "--exit-on-error", "--enable-row-security",
                                                     "--no-password", "--dbname", target, str(path)], env_))
            finally:  # as the superuser when there is one: it may end any session still in the database
                with psycopg.connect(database.admin_url or owner_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        def verify_job(backup: str = backup_id) -> None:
            t = time.perf_counter()
            checked = run_job("verify-backup", trigger="manual", backup_id=backup)
            samples["verify_job"].append(time.perf_counter() - t)
            figures = checked.figures["verdict"]
            if figures["outcome"] != "passed":
                raise RuntimeError(f"the bench backup failed its verification: {figures['reason']}")
            result.stages.append(figures["figures"]["seconds"])

        for step in ((bare_restore, verify_job) if i % 2 == 0 else (verify_job, bare_restore)):
            step()
        say(f"backups round {i + 1}: pg_dump {samples['bare_dump'][-1]:.2f} s, backup job "
            f"{samples['backup_job'][-1]:.2f} s; pg_restore {samples['bare_restore'][-1]:.2f} s, verify job "
            f"{samples['verify_job'][-1]:.2f} s")


def verdicts(r: BackupsResult) -> list[tuple[str, str, str, bool]]:
    b, v = r.ratio("backup_job", "bare_dump"), r.ratio("verify_job", "bare_restore")
    return [
        ("B1. Backup job / bare `pg_dump -Fc` of the same database, medians",
         f"{b:.2f}x ({r.median('backup_job'):.2f} s / {r.median('bare_dump'):.2f} s)", f"≤ {BACKUP_TARGET:g}x",
         b <= BACKUP_TARGET),
        ("B2. Verification job / bare `pg_restore` into an empty database, medians",
         f"{v:.2f}x ({r.median('verify_job'):.2f} s / {r.median('bare_restore'):.2f} s)", f"≤ {VERIFY_TARGET:g}x",
         v <= VERIFY_TARGET),
    ]


def render(r: BackupsResult) -> list[str]:
    out: list[str] = []
    w = out.append
    w("## Backups: the backup and verification jobs over the bare client programs\n")
    w(f"A database of {r.database_bytes / 2**20:,.0f} MiB ({r.tables} tables, {r.rows:,} rows; one firm of "
      f"{r.households:,} households with ten years of monthly valuations and cash flows, loaded in "
      f"{r.load_seconds:.0f} s); its dump is {r.dump_bytes / 2**20:,.1f} MiB (pg_dump {r.pg_dump}, custom format). "
      f"{r.rounds} rounds, each timing the bare program and the job back to back, the order alternating. Made by "
      f"`BENCH_PARTS=backups` (tests/bench/backups.py).\n")
    if not 0.8 <= r.database_bytes / TARGET_BYTES <= 1.25:
        w(f"**Not the size the targets are stated for** (about 1 GB): {r.database_bytes / 10**9:.2f} GB "
          "(BENCH_BACKUP_HOUSEHOLDS).\n")
    w("| Measurement | median | all rounds (s) |")
    w("|---|---|---|")
    labels = {"bare_dump": "bare `pg_dump -Fc --enable-row-security -f FILE`",
              "backup_job": "`backup` job (snapshot, counts, hashing, store, manifest, records, rotation)",
              "bare_restore": "bare `pg_restore --exit-on-error --enable-row-security -d EMPTY FILE`",
              "verify_job": "`verify-backup` job (checksum, list, create, restore, counts, integrity, drop)"}
    for kind, label in labels.items():
        w(f"| {label} | {r.median(kind):.2f} s | {', '.join(f'{x:.2f}' for x in r.samples[kind])} |")
    w("")
    if r.stages:
        order = ("fetch", "checksum", "list", "restore", "row_counts", "integrity")
        keys = [k for k in order if any(k in stage for stage in r.stages)]
        w("The verification's stages (medians, seconds): " + ", ".join(
            f"{k} {statistics.median(s.get(k, 0.0) for s in r.stages):.2f}" for k in keys)
          + f". The backup job's row counts took a median {statistics.median(r.count_seconds):.2f} s, in parallel "
            f"with pg_dump (another connection, the same snapshot).\n")
    return out


def summary_line(r: BackupsResult) -> str:
    return (f"backups: backup job {r.ratio('backup_job', 'bare_dump'):.2f}x bare pg_dump "
            f"({r.median('backup_job'):.2f} s / {r.median('bare_dump'):.2f} s), verification "
            f"{r.ratio('verify_job', 'bare_restore'):.2f}x bare pg_restore ({r.median('verify_job'):.2f} s / "
            f"{r.median('bare_restore'):.2f} s), database {r.database_bytes / 2**20:,.0f} MiB")
