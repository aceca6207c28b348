"""The "tenancy" part: figure 1 (API overhead) before and after the tenant was bound to a principal PostgreSQL
verifies (migration 0018), measured in the same run.

Two databases on the same server. "after" is the bench database, fully migrated. "before" is a second database
migrated the same way, given its own firm, then rolled back to just before 0018: its row-level security reads the
setting app.firm_id and its session check is auth_session_valid, as before the change. The same handler code runs
against both; against "before", the statement that starts each transaction is the one the code ran before the
change (set_config of app.firm_id, app.user_id and app.request_id plus auth_session_valid, in one statement),
swapped in for core.store.enter_session. So the two handlers differ in exactly what the change changed: the
statement that enters the firm and what the policies evaluate.

Four measurements, interleaved round by round (the order alternates), each on its own pool's connection:
- the handler, `GET /v1/client-groups/{id}`, after and before;
- figure 1's bare-SQL baseline as it was (BEGIN + set_config('app.firm_id') + SELECT + COMMIT, on "before") and
  as it is now (BEGIN + auth_enter_session(...) + SELECT + COMMIT, on "after").

Then, apart from those timings, where the time of the handler and of the bare SQL "after" goes: each call's time
waiting on PostgreSQL (psycopg's Connection.wait, one per round trip, wrapped to time it) and the rest, which is the
client's own work (Python, libpq), with the wait of each round trip in order; and the same for the bare SQL with its
client busy between round trips, as a request's is (`busy`).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from tests.bench.common import BenchFirm, FakeLambdaContext, api_event, p50, pct, say

RESOURCE = "/v1/client-groups/{group_id}"
FIRST_MIGRATION = 18  # 0018_verified_tenancy: "before" is rolled back to just before it
TARGET = 1.5

# What core.store ran to open each transaction before migration 0018 (one statement: the settings row-level
# security read, and the session check).
_OLD_ENTER = ("SELECT set_config('app.firm_id', %s, true), set_config('app.user_id', %s, true), "
              "set_config('app.request_id', %s, true), auth_session_valid(%s, %s, %s) AS session_valid")
_OLD_BARE = "SELECT set_config('app.firm_id', %s, true)"
_NEW_BARE = "SELECT auth_enter_session(%s, %s, %s, %s)"

KINDS = ("handler_after", "handler_before", "bare_after", "bare_before", "bare_before_checked")
LABELS = {
    "handler_after": "Handler, `app.app(event, context)`, **after** (the firm entered by `auth_enter_session`)",
    "handler_before": "Handler, **before** (`set_config('app.firm_id', ...)` + `auth_session_valid`)",
    "bare_after": "Bare SQL, tenancy-equivalent **after**: BEGIN + `auth_enter_session(...)` + SELECT + COMMIT",
    "bare_before": "Bare SQL, tenancy-equivalent **before**: BEGIN + `set_config('app.firm_id')` + SELECT + COMMIT",
    "bare_before_checked": "Bare SQL before, with the statement the handler ran before (the three settings and "
                           "`auth_session_valid`) + SELECT + COMMIT",
}


# What each round trip of a call is, in order, for the split of its time (handler: core/db.py's Tx.first sends
# BEGIN with the entering statement, then the route's SELECT, then COMMIT).
_BARE_TRIPS = ("BEGIN", "auth_enter_session", "SELECT", "COMMIT")
ROUND_TRIPS = {"handler_after": ("BEGIN + the entering statement", "SELECT", "COMMIT"),
               "bare_after": _BARE_TRIPS, "bare_busy": _BARE_TRIPS}
# The bare SQL again, its client busy between round trips as a request's is: Python that builds a dict of BUSY
# strings before each call, and of a quarter as many between the entering statement and the SELECT.
BUSY = 3_000
_BUSY_WORDS = [str(i) * 3 for i in range(BUSY)]


def busy(n: int) -> int:
    """Python work that touches memory, as handling a request does: a dict of n strings."""
    return len({w: w.upper() for w in _BUSY_WORDS[:n]})


WAIT_LABELS = {"handler_after": "Handler after, `app.app(event, context)`",
               "bare_after": "Bare SQL after: BEGIN + `auth_enter_session(...)` + SELECT + COMMIT",
               "bare_busy": f"The same bare SQL, its client busy between round trips (a dict of {BUSY:,} strings "
                            f"built before each call, of {BUSY // 4:,} between its statements)"}


@dataclass
class WaitSplit:
    """Calls of one kind, each split into its time waiting on PostgreSQL and the rest."""

    calls: list[float] = field(default_factory=list)  # whole call, seconds
    per_round_trip: list[list[float]] = field(default_factory=list)  # each call's waits on PostgreSQL, in order

    def mean_call(self) -> float:
        return _mean(self.calls)

    def mean_waiting(self) -> float:
        return _mean([sum(w) for w in self.per_round_trip])

    def round_trip_means(self) -> list[float]:
        n = min((len(w) for w in self.per_round_trip), default=0)
        return [_mean([w[i] for w in self.per_round_trip]) for i in range(n)]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


@dataclass
class TenancyResult:
    households: int
    rounds: int
    per_round: int
    samples: dict[str, list[float]] = field(default_factory=dict)
    round_trips: dict[str, float] = field(default_factory=dict)
    # kind -> WaitSplit of the handler, the bare SQL and the bare SQL with its client busy, after the change
    # (measured apart from `samples`)
    waits: dict[str, WaitSplit] = field(default_factory=dict)

    def p50(self, kind: str) -> float:
        return p50(self.samples[kind])

    def ratio(self, kind: str, base: str) -> float:
        return self.p50(kind) / self.p50(base)

    def round_ratios(self, kind: str, base: str) -> list[float]:
        n = self.per_round
        a, b = self.samples[kind], self.samples[base]
        return [p50(a[i:i + n]) / p50(b[i:i + n]) for i in range(0, min(len(a), len(b)) - n + 1, n)]


def _old_enter_session(tx: Any, session_id: Any, user_id: Any, firm_id: Any, role: str, bucket: Any = None,
                       scale: int = 1) -> dict[str, Any]:
    """core.store.enter_session's answer from the statement before the change (which counted no rate limit), sent
    as it was then: after a BEGIN of its own."""
    ok = bool(tx.one(_OLD_ENTER, (str(firm_id), str(user_id), tx.ctx.request_id, session_id, user_id,
                                  role))["session_valid"])
    if ok:
        tx.entered = firm_id
    return {"state": "ok" if ok else "refused", "rate_limit": None, "rate_used": None, "rate_reset": None}


def _fixed_pool(conninfo: str) -> Any:
    """A pool like core.db's app pool, for a fixed connection string."""
    from psycopg_pool import ConnectionPool

    from chalicelib.core import db

    pool = ConnectionPool(conninfo, connection_class=db._connection_class(), kwargs=db._connect_kwargs,
                          min_size=1, max_size=1, open=False, check=db._check_if_idle, max_lifetime=3600,
                          max_idle=3600, timeout=10, name="wealthdesk-bench-before")
    pool.open(wait=True)
    return pool


def prepare_before(database: Any, households: int) -> tuple[BenchFirm, Any]:
    """The "before" database: migrated, a firm loaded, then rolled back to just before migration 0018.
    Returns its firm and its app-role pool."""
    import psycopg
    from psycopg import sql

    from chalicelib.core import config, db, migrations
    from tests.bench import common

    if not database.admin_url:
        raise RuntimeError("the tenancy part needs a superuser URL to create its second database "
                           "(the embedded server has one; with DATABASE_URL set BENCH_ADMIN_URL)")
    name = "wealthdesk_bench_before"
    with psycopg.connect(database.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name),
                                                                   sql.Identifier(config.OWNER_ROLE)))
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(database.owner_url)
    before_url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    after_url = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = before_url
    db.close_pools()
    try:
        migrations.apply()
        firm = common.make_firm(households)
        newer = sorted(p.stem for p in migrations.migrations_dir().glob("*.sql")
                       if not p.stem.endswith(".rollback") and int(p.stem[:4]) >= FIRST_MIGRATION)
        say(f"tenancy: rolling the 'before' database back past {', '.join(newer)}")
        migrations.rollback(len(newer))
    finally:
        db.close_pools()
        os.environ["DATABASE_URL"] = after_url
    return firm, _fixed_pool(config.with_user(before_url, config.APP_ROLE, os.environ.get("APP_DATABASE_PASSWORD")))


def measure(app_module: Any, database: Any, households: int, *, rounds: int = 60,
            per_round: int = 50) -> TenancyResult:
    from chalicelib.clients.store import GROUP_COLUMNS
    from chalicelib.core import db, store
    from tests.bench import common
    from tests.bench.overhead import _fresh, enter_params

    say(f"tenancy: the 'after' firm ({households:,} households)")
    after = common.make_firm(households)
    say(f"tenancy: the 'before' database and firm ({households:,} households)")
    before, before_pool = prepare_before(database, households)
    after_pool = db.pool()
    app = app_module.app
    lctx = FakeLambdaContext()
    select_sql = f"SELECT {GROUP_COLUMNS} FROM client_groups WHERE id = %s"
    setup = {}
    for label, firm, pool in (("after", after, after_pool), ("before", before, before_pool)):
        gid = firm.group_ids[len(firm.group_ids) // 2]
        setup[label] = {
            "pool": pool, "gid": gid, "firm_id": str(firm.id), "entering": enter_params(firm.token),
            "event": api_event("GET", RESOURCE, {"group_id": str(gid)}, {"Authorization": f"Bearer {firm.token}"})}
    real_enter = store.enter_session
    result = TenancyResult(households=households, rounds=rounds, per_round=per_round,
                           samples={k: [] for k in KINDS})
    perf = time.perf_counter

    # "before" predates the rate limits (migration 0020) as well: its requests count nothing
    spec = next(s for s in app_module.router.specs() if s.method == "GET" and s.path == RESOURCE)
    bucket = spec.rate_limit

    def use(label: str) -> None:
        db._pools["app"] = setup[label]["pool"]
        store.enter_session = _old_enter_session if label == "before" else real_enter
        spec.rate_limit = None if label == "before" else bucket

    def run_handler(label: str, n: int, out: list[float]) -> None:
        use(label)
        template = setup[label]["event"]
        for _ in range(n):
            event = _fresh(template)
            t = perf()
            response = app(event, lctx)
            out.append(perf() - t)
            if response["statusCode"] != 200:
                raise RuntimeError(f"handler ({label}) answered {response['statusCode']}: {response.get('body')}")

    def run_one_bare(conn: Any, statement: str, params: Any, gid: Any, between: int = 0) -> Any:
        with conn.transaction():
            conn.execute(statement, params)
            if between:
                busy(between)
            return conn.execute(select_sql, (gid,)).fetchone()

    def run_bare(label: str, n: int, out: list[float], checked: bool = False) -> None:
        s = setup[label]
        statement, params = (_OLD_BARE, (s["firm_id"],)) if label == "before" else (_NEW_BARE, s["entering"])
        if checked:
            sid, user, firm_id, role = s["entering"]
            statement, params = _OLD_ENTER, (firm_id, user, "bench", sid, user, role)
        with s["pool"].connection() as conn:
            for _ in range(n):
                t = perf()
                row = run_one_bare(conn, statement, params, s["gid"])
                out.append(perf() - t)
                if row is None:
                    raise RuntimeError(f"bare SQL ({label}) found no row")

    steps = [("handler_after", lambda n, o: run_handler("after", n, o)),
             ("handler_before", lambda n, o: run_handler("before", n, o)),
             ("bare_after", lambda n, o: run_bare("after", n, o)),
             ("bare_before", lambda n, o: run_bare("before", n, o)),
             ("bare_before_checked", lambda n, o: run_bare("before", n, o, checked=True))]
    try:
        say("tenancy: warm-up")
        warm: list[float] = []
        for _ in range(3):
            for _kind, fn in steps:
                fn(150, warm)
        say(f"tenancy: {rounds} interleaved rounds x {per_round} calls of each measurement")
        for r in range(rounds):
            order = steps if r % 2 == 0 else list(reversed(steps))
            for kind, fn in order:
                fn(per_round, result.samples[kind])
            if (r + 1) % 20 == 0:
                say(f"  round {r + 1}/{rounds}: handler after {result.p50('handler_after') * 1e6:.0f} µs, before "
                    f"{result.p50('handler_before') * 1e6:.0f} µs; bare after {result.p50('bare_after') * 1e6:.0f} "
                    f"µs, before {result.p50('bare_before') * 1e6:.0f} µs")
        for label in ("after", "before"):
            use(label)
            result.round_trips[f"handler_{label}"] = _round_trips(app, setup[label], lctx)
        for kind in ("bare_after", "bare_before", "bare_before_checked"):
            result.round_trips[kind] = 4.0
        use("after")
        s = setup["after"]
        say(f"tenancy: where the time goes ({WAIT_ROUNDS} rounds x {per_round} calls, psycopg's waits timed)")
        entering, gid = s["entering"], s["gid"]
        result.waits = _wait_split(lambda: app(_fresh(s["event"]), lctx),
                                   lambda conn: run_one_bare(conn, _NEW_BARE, entering, gid),
                                   lambda conn: run_one_bare(conn, _NEW_BARE, entering, gid, between=BUSY // 4),
                                   s["pool"], per_round)
    finally:
        db._pools["app"] = after_pool
        store.enter_session = real_enter
        spec.rate_limit = bucket
        before_pool.close()
    return result


WAIT_ROUNDS = 10


def _wait_split(handler: Any, bare: Any, bare_between: Any, pool: Any, per_round: int,
                rounds: int = WAIT_ROUNDS) -> dict[str, WaitSplit]:
    """The handler's calls, the bare SQL's and the bare SQL's with its client busy (`busy(BUSY)` before each call,
    untimed, and `bare_between` busy between its statements), interleaved round by round (the order alternates),
    each split into its time waiting on PostgreSQL and the rest. psycopg waits once per round trip, in
    Connection.wait, which is wrapped here for the duration (both pools' connections inherit it)."""
    import psycopg

    perf = time.perf_counter
    waits: list[float] = []
    original = psycopg.Connection.wait

    def timed_wait(self: Any, gen: Any, *args: Any, **kwargs: Any) -> Any:
        t = perf()
        try:
            return original(self, gen, *args, **kwargs)
        finally:
            waits.append(perf() - t)

    out = {"handler_after": WaitSplit(), "bare_after": WaitSplit(), "bare_busy": WaitSplit()}

    def record(kind: str, call: Any) -> None:
        waits.clear()
        t = perf()
        call()
        elapsed = perf() - t
        split = out[kind]
        split.calls.append(elapsed)
        split.per_round_trip.append(list(waits))

    def handler_round() -> None:
        for _ in range(per_round):
            record("handler_after", handler)

    def bare_round() -> None:
        with pool.connection() as conn:
            for _ in range(per_round):
                record("bare_after", lambda: bare(conn))

    def busy_round() -> None:
        with pool.connection() as conn:
            for _ in range(per_round):
                busy(BUSY)
                record("bare_busy", lambda: bare_between(conn))

    psycopg.Connection.wait = timed_wait  # type: ignore[method-assign]
    try:
        for r in range(rounds):
            steps = (handler_round, bare_round, busy_round)
            for step in (steps if r % 2 == 0 else reversed(steps)):
                step()
    finally:
        psycopg.Connection.wait = original  # type: ignore[method-assign]
    return out


def _round_trips(app: Any, s: dict[str, Any], lctx: Any, calls: int = 20) -> float:
    """Round trips per handler call, from libpq's protocol trace (tests/pgtrace.py)."""
    from tests.bench.overhead import _fresh
    from tests.pgtrace import round_trips_sent

    pool = s["pool"]

    def traced(fn: Any) -> int:
        return len(round_trips_sent(pool, fn))

    base = traced(lambda: None)

    def handler() -> None:
        for _ in range(calls):
            app(_fresh(s["event"]), lctx)

    return (traced(handler) - base) / calls


# --- BENCHMARKS.md ----------------------------------------------------------------------------------------------

def _us(s: float) -> str:
    return f"{s * 1e6:,.0f} µs"


def verdicts(t: TenancyResult) -> list[tuple[str, str, str, bool]]:
    after, before = t.ratio("handler_after", "bare_after"), t.ratio("handler_before", "bare_before")
    strict = t.ratio("handler_after", "bare_before")
    t1 = "T1. Figure 1 after the tenancy change: p50 handler / p50 bare SQL (BEGIN + auth_enter_session + SELECT + "
    t1 += "COMMIT); before it, same run"
    t2 = "T2. The same handler after the change / the bare SQL as it was before (BEGIN + set_config + SELECT + COMMIT)"
    measured1 = (f"after {after:.2f}x ({_us(t.p50('handler_after'))} / {_us(t.p50('bare_after'))}); before "
                 f"{before:.2f}x ({_us(t.p50('handler_before'))} / {_us(t.p50('bare_before'))})")
    measured2 = f"{strict:.2f}x ({_us(t.p50('handler_after'))} / {_us(t.p50('bare_before'))})"
    return [(t1, measured1, f"≤ {TARGET:g}x", after <= TARGET), (t2, measured2, f"≤ {TARGET:g}x", strict <= TARGET)]


def render(t: TenancyResult) -> list[str]:
    out: list[str] = []
    w = out.append
    w("## Tenancy: figure 1 before and after binding the tenant to a verified principal\n")
    w(f"`GET /v1/client-groups/{{id}}` through the real handler, as in figure 1, against two databases of the same "
      f"server: **after** (all migrations; each transaction's first statement is `auth_enter_session(...)`, which "
      f"verifies the session and writes the verified firm to `auth_context`; policies read it through "
      f"`(SELECT current_firm_id())`) and **before** (rolled back to just before migration 0018; each transaction's "
      f"first statement is the one the code ran before the change: `set_config('app.firm_id')`, `app.user_id`, "
      f"`app.request_id` and `auth_session_valid(...)`; policies read the setting). One firm of {t.households:,} "
      f"households in each (a primary-key read: the table's size hardly matters). {t.rounds} rounds x "
      f"{t.per_round} calls of each, interleaved (the order alternates each round), after a warm-up. Made by "
      f"`BENCH_PARTS=tenancy` (tests/bench/tenancy.py).\n")
    w("| Measurement | p50 | p90 | p99 | samples | round trips per call |")
    w("|---|---|---|---|---|---|")
    for kind in KINDS:
        v = t.samples[kind]
        rt = t.round_trips.get(kind)
        w(f"| {LABELS[kind]} | {_us(p50(v))} | {_us(pct(v, 90))} | {_us(pct(v, 99))} | {len(v):,} | "
          f"{f'{rt:.1f}' if rt is not None else 'n/a'} |")
    w("")
    ha, hb, ba, bb, bc = (t.p50(k) for k in KINDS)
    w("| Ratio | value |")
    w("|---|---|")
    w(f"| Figure 1 after: handler after / bare after | {ha / ba:.2f}x |")
    w(f"| Figure 1 before: handler before / bare before | {hb / bb:.2f}x |")
    w(f"| handler after / bare before (the new handler against the old baseline) | {ha / bb:.2f}x |")
    w(f"| handler after / handler before (what the change costs a request) | {ha / hb:.2f}x "
      f"({_us(ha - hb)} per request) |")
    w(f"| bare after / bare before with the session check (what the change costs the SQL alone) | {ba / bc:.2f}x "
      f"({_us(ba - bc)}) |")
    w(f"| bare after / bare before (the new baseline over the old one, which checked no session) | {ba / bb:.2f}x "
      f"({_us(ba - bb)}) |")
    w("")
    rr = t.round_ratios("handler_after", "handler_before")
    if rr:
        w(f"Steadiness: handler after / handler before within each of the {len(rr)} rounds has a median of "
          f"{p50(rr):.2f}x, 10th-90th percentile {pct(rr, 10):.2f}x-{pct(rr, 90):.2f}x.\n")
    if t.waits:
        w(_render_waits(t))
    w("What the change adds to a request, all inside the statement that already opened each transaction: the "
      "session lookup it always made, now also matching the firm and the idle timeout; one update of the backend's "
      "row in the UNLOGGED table `auth_context` (no WAL for the row; it gives the transaction an id, so its commit "
      "writes a commit record, flushed asynchronously); and, per statement, one InitPlan that reads that row by "
      "primary key instead of a setting. Since migration 0035 that statement also travels with the transaction's "
      "BEGIN (core/db.py's `Tx.first`), so the handler after makes one round trip fewer than before; the bare SQL "
      "keeps its four.\n")
    return out


def _render_waits(t: TenancyResult) -> str:
    h, b = t.waits["handler_after"], t.waits["bare_after"]
    intro = (f"Where the time goes, after the change ({WAIT_ROUNDS} more rounds x {t.per_round} calls of each, "
             "interleaved, apart from the timings above): each call's time waiting on PostgreSQL (psycopg waits once "
             "per round trip; the wait includes the backend's work and both processes' scheduling) and the rest, "
             "the client's own work (Python and libpq).\n")
    header = ("| Measurement | p50 call | mean call | mean waiting on PostgreSQL | mean rest (client) "
              "| mean wait of each round trip, in order |")
    rows = [intro, header, "|---|---|---|---|---|---|"]
    for kind, split in t.waits.items():
        trips = ", ".join(f"{name} {_us(v)}" for name, v in zip(ROUND_TRIPS[kind], split.round_trip_means(),
                                                                   strict=False))
        rest = split.mean_call() - split.mean_waiting()
        rows.append(f"| {WAIT_LABELS[kind]} | "
                    f"{_us(p50(split.calls))} | {_us(split.mean_call())} | {_us(split.mean_waiting())} | "
                    f"{_us(rest)} | {trips} |")
    hw, bw = h.mean_waiting(), b.mean_waiting()
    hr, br = h.mean_call() - hw, b.mean_call() - bw
    excess = h.mean_call() - b.mean_call()
    rows.append("")
    rows.append(f"Of the handler's mean excess over the bare SQL ({_us(excess)}), {_us(hw - bw)} is more time waiting "
                f"on PostgreSQL (in {len(ROUND_TRIPS['handler_after'])} round trips against "
                f"{len(ROUND_TRIPS['bare_after'])}) and {_us(hr - br)} the client's own work. The waits alone: "
                f"handler / bare {hw / bw:.2f}x.")
    rows.append("")
    q = t.waits["bare_busy"]
    qw = q.mean_waiting()
    per_trip = ", ".join(f"{name} {busy_trip / plain:.2f}x" for name, busy_trip, plain in
                         zip(ROUND_TRIPS["bare_after"], q.round_trip_means(), b.round_trip_means(), strict=False))
    rows.append(f"The same bare SQL with its client busy between round trips waits {qw / bw:.2f}x as long as "
                f"without ({_us(qw)} against {_us(bw)}; {per_trip}): PostgreSQL's side of a round trip takes longer "
                "when the client has done work since the last one.\n")
    return "\n".join(rows)


def summary_line(t: TenancyResult) -> str:
    extra = (t.p50("handler_after") - t.p50("handler_before")) * 1e6
    return (f"tenancy: figure 1 after {t.ratio('handler_after', 'bare_after'):.2f}x, before "
            f"{t.ratio('handler_before', 'bare_before'):.2f}x; handler after / before "
            f"{t.ratio('handler_after', 'handler_before'):.2f}x ({extra:.0f} µs); handler after / bare before "
            f"{t.ratio('handler_after', 'bare_before'):.2f}x" + _waits_summary(t))


def _waits_summary(t: TenancyResult) -> str:
    if not t.waits:
        return ""
    h, b = t.waits["handler_after"], t.waits["bare_after"]
    return (f"; waiting on PostgreSQL: handler {h.mean_waiting() * 1e6:.0f} µs of {h.mean_call() * 1e6:.0f}, "
            f"bare {b.mean_waiting() * 1e6:.0f} µs of {b.mean_call() * 1e6:.0f}")

