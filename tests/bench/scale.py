"""Figure 3: many Lambda-like worker processes against 13,000 households, 90% reads and 10% writes.

Each worker is one forked process with one database connection (DB_POOL_MAX=1), calling the Chalice handler in
process, as one warm Lambda container would. Writes go to rows that belong to one worker only (so If-Match
conflicts should not happen and are counted if they do); each acknowledged write carries a unique token (in the
notes and as X-Request-Id), and after the run the database must show every one of them: the final notes and
version of each row, and one audit event per acknowledged write (the audit event commits in the write's own
transaction, so it proves the write committed).
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import resource
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.bench.common import BenchFirm, Database, FakeLambdaContext, api_event, p50, pct, say

RESOURCE = "/v1/client-groups/{group_id}"
OWN_ROWS = 64


@dataclass
class ScaleResult:
    workers: int
    duration: float  # seconds actually measured (first start to last finish)
    reads: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    conflicts: int = 0
    acked: int = 0
    lost: int = 0
    lost_detail: list[str] = field(default_factory=list)
    unacked_committed: int = 0
    rows_checked: int = 0
    rows_mismatched: int = 0
    audit_found: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # cores used by group over the window
    worker_cpu_s: float = 0.0
    involuntary_switches: int = 0
    voluntary_switches: int = 0
    activity: Counter = field(default_factory=Counter)  # pg_stat_activity samples: state/wait -> count
    activity_samples: int = 0
    runnable: list[int] = field(default_factory=list)  # /proc/stat procs_running samples
    statements: list[dict[str, Any]] = field(default_factory=list)
    per_worker_ops: list[int] = field(default_factory=list)

    @property
    def all(self) -> list[float]:
        return self.reads + self.writes

    @property
    def throughput(self) -> float:
        return len(self.all) / self.duration if self.duration else 0.0


def _worker(w: int, ids: list[str], own: list[str], token: str, duration: float, write_share: float, tag: str,
            barrier: Any, queue: Any) -> None:
    import app as app_module
    from chalicelib.core import db

    app = app_module.app
    lctx = FakeLambdaContext()
    rng = random.Random(f"{tag}:{w}")
    auth = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {"w": w, "reads": [], "writes": [], "statuses": Counter(), "errors": 0, "samples": [],
                           "conflicts": 0, "acks": []}
    etag: dict[str, str] = {}

    def get(gid: str) -> dict[str, Any]:
        return app(api_event("GET", RESOURCE, {"group_id": gid}, auth), lctx)

    def error(kind: str, response: dict[str, Any]) -> None:
        out["errors"] += 1
        if len(out["samples"]) < 5:
            out["samples"].append(f"{kind} {response.get('statusCode')}: {str(response.get('body'))[:300]}")

    try:
        for gid in own:  # the ETag each write's If-Match comes from: a GET of the row
            r = get(gid)
            if r["statusCode"] != 200:
                raise RuntimeError(f"warm-up GET answered {r['statusCode']}: {r.get('body')}")
            etag[gid] = r["headers"]["ETag"]
        for _ in range(20):
            get(rng.choice(ids))
    except Exception as exc:  # report it rather than hang the barrier
        out["samples"].append(f"warm-up failed: {exc!r}")
        out["errors"] += 1
    barrier.wait()
    perf = time.perf_counter
    out["start"] = time.monotonic()
    deadline = perf() + duration
    seq = 0
    reads, writes, statuses = out["reads"], out["writes"], out["statuses"]
    while perf() < deadline:
        if rng.random() < write_share:
            gid = own[rng.randrange(len(own))]
            seq += 1
            note = f"bench-{tag}-w{w:02d}-{seq:06d}"
            event = api_event("PATCH", RESOURCE, {"group_id": gid},
                              {**auth, "Content-Type": "application/json", "If-Match": etag[gid],
                               "X-Request-Id": note}, json.dumps({"notes": note}))
            t = perf()
            try:
                r = app(event, lctx)
            except Exception as exc:  # the handler must never raise; count it
                writes.append(perf() - t)
                error("PATCH", {"statusCode": "exception", "body": repr(exc)})
                continue
            writes.append(perf() - t)
            status = r["statusCode"]
            statuses[f"PATCH {status}"] += 1
            if status == 200:
                etag[gid] = r["headers"]["ETag"]
                out["acks"].append((gid, note, int(etag[gid].strip('"'))))
            elif status == 412:
                out["conflicts"] += 1
                event = api_event("GET", RESOURCE, {"group_id": gid}, auth)
                t = perf()
                r = app(event, lctx)
                reads.append(perf() - t)
                statuses[f"GET {r['statusCode']}"] += 1
                if r["statusCode"] == 200:
                    etag[gid] = r["headers"]["ETag"]
                else:
                    error("GET", r)
            else:
                error("PATCH", r)
        else:
            event = api_event("GET", RESOURCE, {"group_id": ids[rng.randrange(len(ids))]}, auth)
            t = perf()
            try:
                r = app(event, lctx)
            except Exception as exc:
                reads.append(perf() - t)
                error("GET", {"statusCode": "exception", "body": repr(exc)})
                continue
            reads.append(perf() - t)
            statuses[f"GET {r['statusCode']}"] += 1
            if r["statusCode"] != 200:
                error("GET", r)
    out["end"] = time.monotonic()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["rusage"] = (ru.ru_utime + ru.ru_stime, ru.ru_nvcsw, ru.ru_nivcsw)
    db.close_pools()
    queue.put(out)


def _cpu_times(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _proc_stat() -> tuple[float, float, float]:
    """Machine-wide (busy, steal, total) jiffies from /proc/stat; zeros where unavailable."""
    try:
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0, 0.0, 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    busy = user + nice + system + irq + softirq
    return busy, steal, busy + steal + idle + iowait


def _postgres_pids(database: Database) -> list[int]:
    if database.server is None:
        return []
    import psutil

    try:
        master = psutil.Process(database.server.get_pid())
        return [master.pid] + [c.pid for c in master.children(recursive=True)]
    except Exception:
        return []


class _Sampler(threading.Thread):
    """Samples pg_stat_activity (what the bench's backends are doing) and the kernel's run queue."""

    def __init__(self, database: Database, result: ScaleResult) -> None:
        super().__init__(daemon=True)
        self.database, self.result = database, result
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        url = self.database.admin_url or self.database.owner_url
        try:
            conn = psycopg.connect(url, autocommit=True)
        except Exception as exc:
            say(f"sampler: {exc}")
            return
        with conn:
            while not self.stop.wait(0.05):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE application_name = 'wealthdesk' AND pid <> pg_backend_pid()").fetchall()
                self.result.activity_samples += 1
                for state, wtype, wevent in rows:
                    if state == "active":
                        key = f"active, waiting on {wtype}:{wevent}" if wtype else "active, on CPU"
                    else:
                        key = str(state)
                    self.result.activity[key] += 1
                try:
                    with open("/proc/stat") as f:
                        for line in f:
                            if line.startswith("procs_running"):
                                self.result.runnable.append(int(line.split()[1]))
                except OSError:
                    pass


def _stat_statements(database: Database, reset: bool = False) -> list[dict[str, Any]]:
    if not (database.stat_statements and database.admin_url):
        return []
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(database.admin_url, autocommit=True, row_factory=dict_row) as conn:
        if reset:
            conn.execute("SELECT pg_stat_statements_reset()")
            return []
        return conn.execute(
            "SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls, total_exec_time, mean_exec_time, "
            "max_exec_time, stddev_exec_time FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
            "WHERE r.rolname = 'wealthdesk_app' ORDER BY total_exec_time DESC LIMIT 12").fetchall()


def run(database: Database, firm: BenchFirm, *, workers: int = 16, duration: float = 20.0,
        write_share: float = 0.10, label: str = "main") -> ScaleResult:
    from chalicelib.core import db

    tag = uuid.uuid4().hex[:6]
    ids = [str(i) for i in firm.group_ids]
    rng = random.Random(tag)
    owned = rng.sample(ids, workers * OWN_ROWS)
    own_by_worker = [owned[i * OWN_ROWS:(i + 1) * OWN_ROWS] for i in range(workers)]
    with db.owner_connection() as conn:
        before = {str(r["id"]): r["version"] for r in conn.execute(
            "SELECT id, version FROM client_groups WHERE id = ANY(%s::uuid[])", (owned,)).fetchall()}
    os.environ["DB_POOL_MAX"] = "1"
    db.close_pools()  # no pool (and no pool threads) crosses the fork
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(workers + 1)
    queue = ctx.Queue()
    say(f"figure 3 [{label}]: {workers} workers x {duration:.0f} s, {int(write_share * 100)}% writes, "
        f"{len(ids):,} households")
    procs = [ctx.Process(target=_worker, args=(w, ids, own_by_worker[w], firm.token, duration, write_share, tag,
                                               barrier, queue), daemon=True) for w in range(workers)]
    for p in procs:
        p.start()
    result = ScaleResult(workers=workers, duration=duration)
    sampler = _Sampler(database, result)
    _stat_statements(database, reset=True)
    barrier.wait(timeout=120)
    t0 = time.monotonic()
    sampler.start()
    time.sleep(0.25)
    pg_pids = _postgres_pids(database)
    worker_pids = [p.pid for p in procs if p.pid]
    c0 = (_cpu_times(worker_pids), _cpu_times(pg_pids), time.monotonic(), _proc_stat())
    time.sleep(max(0.0, duration - 0.5 - (time.monotonic() - t0)))
    c1 = (_cpu_times(worker_pids), _cpu_times(pg_pids), time.monotonic(), _proc_stat())
    window = c1[2] - c0[2]
    ncpu = float(os.cpu_count() or 1)
    result.cpu = {"workers": (c1[0] - c0[0]) / window, "available": ncpu}
    if pg_pids:
        result.cpu["postgres"] = (c1[1] - c0[1]) / window
    total = c1[3][2] - c0[3][2]
    if total > 0:
        result.cpu["machine_busy"] = (c1[3][0] - c0[3][0]) / total * ncpu
        result.cpu["steal"] = (c1[3][1] - c0[3][1]) / total * ncpu
    outs = [queue.get(timeout=duration + 120) for _ in procs]
    sampler.stop.set()
    for p in procs:
        p.join(timeout=30)
    sampler.join(timeout=5)
    result.statements = _stat_statements(database)
    starts = [o["start"] for o in outs if "start" in o]
    ends = [o["end"] for o in outs if "end" in o]
    result.duration = max(ends) - min(starts) if starts and ends else duration
    acks: list[tuple[str, str, int]] = []
    for o in sorted(outs, key=lambda o: o["w"]):
        result.reads += o["reads"]
        result.writes += o["writes"]
        result.statuses.update(o["statuses"])
        result.errors += o["errors"]
        result.error_samples += o["samples"]
        result.conflicts += o["conflicts"]
        acks += o["acks"]
        result.per_worker_ops.append(len(o["reads"]) + len(o["writes"]))
        cpu, vcs, ivcs = o.get("rusage", (0.0, 0, 0))
        result.worker_cpu_s += cpu
        result.voluntary_switches += vcs
        result.involuntary_switches += ivcs
    _verify(firm, result, acks, before, tag)
    say(f"figure 3 [{label}]: {len(result.all):,} requests, {result.throughput:,.0f} req/s, "
        f"p50 {p50(result.all) * 1e3:.2f} ms, p99 {pct(result.all, 99) * 1e3:.2f} ms, errors {result.errors}, "
        f"lost writes {result.lost}")
    return result


def _verify(firm: BenchFirm, result: ScaleResult, acks: list[tuple[str, str, int]], before: dict[str, int],
            tag: str) -> None:
    """Every acknowledged write must be in the database: final state per row, and its audit event."""
    from chalicelib.core import db

    result.acked = len(acks)
    expected: dict[str, tuple[str, int]] = {}  # row -> (last acknowledged notes, its version)
    count: Counter = Counter()
    for gid, note, version in acks:  # per worker in order; rows are never shared between workers
        expected[gid] = (note, version)
        count[gid] += 1
    tokens = [note for _gid, note, _v in acks]
    with db.owner_connection() as conn:
        rows = {str(r["id"]): r for r in conn.execute(
            "SELECT id, notes, version FROM client_groups WHERE id = ANY(%s::uuid[])", (list(before),)).fetchall()}
        audited = {r["request_id"]: r for r in conn.execute(
            "SELECT request_id, resource_id, after->>'notes' AS notes FROM audit_events WHERE firm_id = %s "
            "AND action = 'client_group.update' AND request_id LIKE %s",
            (firm.id, f"bench-{tag}-%")).fetchall()}
    result.rows_checked = len(before)
    lost = set()
    overwritten = 0  # rows whose final notes are not their last acknowledged write's
    for gid, v0 in before.items():
        row = rows.get(gid)
        want_version = v0 + count[gid]
        if gid in expected:
            want_notes, acked_version = expected[gid]
            ok = row is not None and row["notes"] == want_notes and row["version"] == want_version == acked_version
            if row is None or row["notes"] != want_notes:
                overwritten += 1
        else:
            ok = row is not None and row["version"] == v0
        if not ok:
            result.rows_mismatched += 1
            if len(result.lost_detail) < 5:
                result.lost_detail.append(f"row {gid}: database {row and (row['notes'], row['version'])}, "
                                          f"expected {expected.get(gid)} version {want_version}")
    for gid, note, _version in acks:
        event = audited.get(note)
        if event is None or event["notes"] != note or event["resource_id"] != gid:
            lost.add(note)
    result.audit_found = sum(1 for t in tokens if t in audited)
    # an acknowledged write is lost when its audit event (same transaction) is missing, or when its row no longer
    # holds the last acknowledged value (overwritten behind the API's back); counted once per cause
    result.lost = len(lost) + overwritten
    result.unacked_committed = len(set(audited) - set(tokens))
