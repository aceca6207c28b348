"""Retention part (BENCH_PARTS=retention): what the `retention` job costs over one bare DELETE of the same rows.

R1. The job deleting a firm's old notifications (its default policy: 30 days, delete), in its batches of 5,000 rows
    (each one statement: a CTE that locks the batch, SELECT ... ORDER BY date LIMIT 5000 FOR UPDATE SKIP LOCKED, and
    a DELETE ... USING it), with its run record, lock and every other firm's policies looked at, over one bare
    `DELETE FROM notifications WHERE firm_id = $1 AND created_at < now() - interval '30 days'` of the same rows.
R2. The job archiving a firm's old audit events (its default policy: 7 years, archive): each batch locked, written
    as gzip-compressed JSON lines to a file:// store, then deleted by key, over the same bare DELETE of those rows
    (the archive's whole cost, serialising and compressing included, is in the ratio).
Each round loads BENCH_RETENTION_ROWS rows (default 100,000) afresh before each side (not timed), then times the bare
statement and the job, the order alternating; BENCH_RETENTION_ROUNDS rounds (default 3); the figures are medians.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.common import say

DELETE_TARGET = 1.5
ARCHIVE_TARGET = 4.0


@dataclass
class RetentionResult:
    rows: int
    rounds: int
    # bare_delete_n, job_delete, bare_delete_a, job_archive: seconds, a round each
    samples: dict[str, list[float]] = field(default_factory=dict)
    archive_bytes: int = 0

    def median(self, kind: str) -> float:
        return statistics.median(self.samples[kind])

    def ratio(self, job: str, bare: str) -> float:
        return self.median(job) / self.median(bare)


def _load_notifications(conn: Any, firm: Any, user: Any, n: int) -> None:
    conn.execute("INSERT INTO notifications (firm_id, user_id, kind, title, body, created_at) "
                 "SELECT %s, %s, 'bench.old', 'Old news ' || i, 'Something happened a while ago', "
                 "now() - interval '40 days' - make_interval(secs => i) FROM generate_series(1, %s) i",
                 (firm, user, n))
    conn.execute("ANALYZE notifications")


def _load_audit(conn: Any, firm: Any, n: int) -> None:
    conn.execute("SELECT ensure_audit_partitions((now() - interval '8 years')::date, 1)")
    conn.execute("INSERT INTO audit_events (occurred_at, firm_id, actor_type, action, resource_type, resource_id, "
                 "before, after, changed_fields, ip, user_agent) "
                 "SELECT date_trunc('month', now() - interval '8 years') + make_interval(secs => i), %s, 'user', "
                 "'client_group.update', 'client_group', gen_random_uuid()::text, "
                 "jsonb_build_object('name', 'Household ' || i, 'version', 1), "
                 "jsonb_build_object('name', 'Household ' || i || ' renamed', 'version', 2), '{name}', "
                 "'10.0.0.1', 'Mozilla/5.0 (bench)' FROM generate_series(1, %s) i", (firm, n))
    conn.execute("ANALYZE audit_events")


def measure(rows: int, rounds: int) -> RetentionResult:
    from chalicelib.core import db
    from chalicelib.firms import service
    from chalicelib.ops.jobs import run_job

    tag = uuid.uuid4().hex[:8]
    firm, admin, _ = service.create_firm(f"Retention bench {tag}", f"admin-{tag}@bench-{tag}.co.uk", "Admin",
                                         "a bench passphrase " + tag)
    firm_id, user_id = firm["id"], admin["id"]
    store = tempfile.mkdtemp(prefix="wd-retention-bench-")
    os.environ["RETENTION_ARCHIVE_STORE"] = f"file://{store}"
    result = RetentionResult(rows=rows, rounds=rounds,
                             samples={k: [] for k in ("bare_delete_n", "job_delete", "bare_delete_a", "job_archive")})

    def bare(load: Any, statement: str, kind: str) -> None:
        with db.owner_connection() as conn:
            load(conn)
            t0 = time.perf_counter()
            deleted = conn.execute(statement, (firm_id,)).rowcount
            result.samples[kind].append(time.perf_counter() - t0)
        assert deleted == rows, (kind, deleted)

    def job(load: Any, kind: str, table: str, verb: str) -> None:
        with db.owner_connection() as conn:
            load(conn)
        t0 = time.perf_counter()
        run = run_job("retention", trigger="manual")
        result.samples[kind].append(time.perf_counter() - t0)
        assert run.status == "succeeded" and run.figures["tables"][table][verb] == rows, run.figures

    notes = (lambda conn: _load_notifications(conn, firm_id, user_id, rows),
             "DELETE FROM notifications WHERE firm_id = %s AND created_at < now() - interval '30 days'")
    audit = (lambda conn: _load_audit(conn, firm_id, rows),
             "DELETE FROM audit_events WHERE firm_id = %s AND occurred_at < now() - interval '7 years'")
    for i in range(rounds):
        steps = [lambda: bare(notes[0], notes[1], "bare_delete_n"),
                 lambda: job(notes[0], "job_delete", "notifications", "deleted")]
        steps += [lambda: bare(audit[0], audit[1], "bare_delete_a"),
                  lambda: job(audit[0], "job_archive", "audit_events", "archived")]
        order = [0, 1, 2, 3] if i % 2 == 0 else [1, 0, 3, 2]
        for k in order:
            steps[k]()
        say(f"retention round {i + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in result.samples.items()))
    result.archive_bytes = sum(p.stat().st_size for p in Path(store).iterdir()) // rounds
    return result


def verdicts(r: RetentionResult) -> list[tuple[str, str, str, bool]]:
    d, a = r.ratio("job_delete", "bare_delete_n"), r.ratio("job_archive", "bare_delete_a")
    archive = (f"R2. Retention job archiving {r.rows:,} audit events (gzip JSON lines, then deleted) / one bare "
               "DELETE of them, medians")
    return [
        (f"R1. Retention job deleting {r.rows:,} notifications / one bare DELETE of them, medians",
         f"{d:.2f}x ({r.median('job_delete'):.2f} s / {r.median('bare_delete_n'):.2f} s)", f"≤ {DELETE_TARGET:g}x",
         d <= DELETE_TARGET),
        (archive,
         f"{a:.2f}x ({r.median('job_archive'):.2f} s / {r.median('bare_delete_a'):.2f} s)", f"≤ {ARCHIVE_TARGET:g}x",
         a <= ARCHIVE_TARGET),
    ]


def render(r: RetentionResult) -> list[str]:
    out: list[str] = []
    w = out.append
    w("## Retention: the retention job over one bare DELETE of the same rows\n")
    w(f"{r.rows:,} rows of one firm outside their period, loaded afresh before each side; {r.rounds} rounds, the "
      f"order alternating; the job in its batches of 5,000 rows. The archive of one round is "
      f"{r.archive_bytes / 2**20:,.1f} MiB. Made by `BENCH_PARTS=retention` (tests/bench/retention.py).\n")
    w("| Measurement | median | all rounds (s) |")
    w("|---|---|---|")
    labels = {"bare_delete_n": "bare `DELETE FROM notifications WHERE firm_id = $1 AND created_at < ...`",
              "job_delete": "`retention` job, delete (batches, run record, every firm's policies)",
              "bare_delete_a": "bare `DELETE FROM audit_events WHERE firm_id = $1 AND occurred_at < ...`",
              "job_archive": "`retention` job, archive (lock, gzip JSON lines to file://, delete by id)"}
    for kind, label in labels.items():
        w(f"| {label} | {r.median(kind):.2f} s | {', '.join(f'{x:.2f}' for x in r.samples[kind])} |")
    w("")
    return out


def summary_line(r: RetentionResult) -> str:
    return (f"retention: delete {r.ratio('job_delete', 'bare_delete_n'):.2f}x bare DELETE, archive "
            f"{r.ratio('job_archive', 'bare_delete_a'):.2f}x bare DELETE ({r.rows:,} rows)")
