"""Renders BENCHMARKS.md from the figures of one run."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.coldstart import ColdStartResult
from tests.bench.common import p50, pct
from tests.bench.overhead import OverheadResult, ProfileResult
from tests.bench.scale import ScaleResult

OVERHEAD_TARGET = 3.0
COLD_TARGET = 2.0
TAIL_TARGET = 20.0


@dataclass
class Run:
    command: str
    started: str
    elapsed: float
    machine: dict[str, str]
    postgres: str
    database_note: str
    households: int
    versions: dict[str, str]
    overhead: OverheadResult | None  # the foundation figures (None when BENCH_PARTS leaves them out)
    profile: ProfileResult | None
    cold: ColdStartResult | None
    scale: ScaleResult | None
    control: ScaleResult | None
    facts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    products: Any = None  # tests.bench.products.ProductsResult: the managed-products figures (4-6)
    overview: Any = None  # tests.bench.overview.OverviewResult: the household overview
    tenancy: Any = None  # tests.bench.tenancy.TenancyResult: figure 1 before and after the tenancy change
    live: Any = None  # tests.bench.live.LiveResult: figures that are current (L1-L2)
    fum: Any = None  # tests.bench.fum.FumResult: the household list with money (part fum)
    login: Any = None  # tests.bench.login.LoginResult: the login with the atomic lockout
    jobruns: Any = None  # tests.bench.jobruns.JobRunsResult: each firm's part of a job run
    ratelimit: Any = None  # tests.bench.ratelimit.RateLimitResult: figure 1 with and without the rate-limit count
    unmanaged: Any = None  # tests.bench.unmanaged.UnmanagedResult: unmanaged products' list and current value
    items: Any = None  # tests.bench.items.ItemsResult: the information items' q and their search words
    networth: Any = None  # tests.bench.networth.NetworthResult: net worth, statements, history, the daily job
    backups: Any = None  # tests.bench.backups.BackupsResult: the backup and verification jobs (part backups)
    refreshviews: Any = None  # tests.bench.refreshviews.RefreshViewsResult: refresh-views at 100x, and a reader
    retention: Any = None  # tests.bench.retention.RetentionResult: the retention job over a bare DELETE
    montecarlo: Any = None  # tests.bench.montecarlo.MonteCarloResult: the plan simulation (part montecarlo)


def _us(s: float) -> str:
    return f"{s * 1e6:,.0f} µs"


def _ms(s: float) -> str:
    return f"{s * 1e3:,.2f} ms"


def _x(r: float) -> str:
    return f"{r:.2f}x"


def _ok(flag: bool) -> str:
    return "**pass**" if flag else "**FAIL**"


# The parts beyond the foundation figures, in report order: the Run field and the module with its verdicts() and
# render() (imported only when the part ran).
_PART_MODULES = (("products", "products_report"), ("overview", "overview"), ("tenancy", "tenancy"),
                 ("live", "live"), ("fum", "fum"), ("login", "login"), ("jobruns", "jobruns"),
                 ("ratelimit", "ratelimit"), ("unmanaged", "unmanaged"),
                 ("items", "items"), ("networth", "networth"),
                 ("backups", "backups"), ("refreshviews", "refreshviews"), ("retention", "retention"),
                 ("montecarlo", "montecarlo"))


def _parts(run: Run) -> list[tuple[Any, Any]]:
    import importlib

    return [(getattr(run, field_name), importlib.import_module(f"tests.bench.{module}"))
            for field_name, module in _PART_MODULES if getattr(run, field_name) is not None]


def verdicts(run: Run) -> list[tuple[str, str, str, bool]]:
    out = _foundation_verdicts(run) if run.overhead is not None else []
    for part, module in _parts(run):
        out += module.verdicts(part)
    return out


def _foundation_verdicts(run: Run) -> list[tuple[str, str, str, bool]]:
    o, c, s = run.overhead, run.cold, run.scale
    api = o.ratio("handler", "bare_tx")
    tail = pct(s.all, 99) / p50(s.all)
    return [
        ("1. API overhead: p50 handler / p50 bare SQL (BEGIN + enter the firm (auth_enter_session) + SELECT + COMMIT)",
         f"{_x(api)} ({_us(o.p50('handler'))} / {_us(o.p50('bare_tx'))})", f"≤ {OVERHEAD_TARGET:g}x",
         api <= OVERHEAD_TARGET),
        (f"2. Cold start (Python {c.python}): import app + first `GET /v1/client-groups` / hello world, medians",
         f"{_x(c.ratio)} ({_ms(p50(c.headline.firsts))} / {_ms(p50(c.hello.firsts))})", f"≤ {COLD_TARGET:g}x",
         c.ratio <= COLD_TARGET),
        (f"3a. Scale: errors (5xx or unexpected status), {s.workers} workers", f"{s.errors} of {len(s.all):,}", "0",
         s.errors == 0),
        ("3b. Scale: lost writes (acknowledged but not in the database)",
         f"{s.lost} of {s.acked:,} acknowledged", "0", s.lost == 0 and s.acked > 0),
        ("3c. Scale: p99 / p50, all requests",
         f"{_x(tail)} ({_ms(pct(s.all, 99))} / {_ms(p50(s.all))})", f"< {TAIL_TARGET:g}x", tail < TAIL_TARGET),
    ]


def render(run: Run) -> str:
    out: list[str] = []
    w = out.append
    _header(run, w)
    if run.overhead is not None:
        _foundation(run, w)
    for part, module in _parts(run):
        out += module.render(part)
    _method_notes(run, w)
    return "\n".join(out)


def _header(run: Run, w: Any) -> None:
    w("# Benchmarks\n")
    w("Generated by `make bench` (tests/bench/run.py); do not edit by hand. Every figure is a ratio against a "
      "baseline measured in the same run on the same machine (machines are noisy and shared), with the absolute "
      "numbers for context.\n")
    w(f"- Command: `{run.command}` (from the repository root; `make bench` runs `.venv/bin/python -m tests.bench.run`)")
    w(f"- Date: {run.started} (whole run {run.elapsed:.0f} s)")
    m = run.machine
    w(f"- Machine: {m.get('nproc')} CPUs ({m.get('cpu', 'unknown CPU')}), {m.get('platform')}, "
      f"load average at start {m.get('loadavg_at_start', '?')}")
    w(f"- Python {m.get('python')}; PostgreSQL {run.postgres} ({run.database_note}); "
      + ", ".join(f"{k} {v}" for k, v in run.versions.items()))
    scale_note = (" (100x the firm's ~130)" if run.households == 13_000
                  else " (BENCH_HOUSEHOLDS; the figure asks for 13,000)")
    if run.overhead is not None:
        w(f"- Data (figures 1-3): one firm with {run.households:,} households{scale_note} loaded with "
          "`chalicelib.demo.load` (households and people, no products); the request log line is produced "
          "(LOG_LEVEL=INFO) and written to /dev/null.")
    if run.products is not None:
        ld = run.products.load
        w(f"- Data (figures 4-6, managed products): a second firm with {ld.households:,} households "
          f"(10x the firm), {ld.products:,} products, {ld.fund_valuations:,} fund valuations and "
          f"{ld.cash_flows:,} cash flows (tests/bench/products_data.py).")
    if run.overview is not None:
        ld = run.overview.load
        w(f"- Data (household overview): a firm of {ld.households:,} households loaded like figures 4-6's "
          f"({ld.fund_valuations:,} fund valuations) and one household at the largest size "
          "(tests/bench/overview.py).")
    w("")
    w("## Results\n")
    w("| Figure | Measured | Target | Result |")
    w("|---|---|---|---|")
    for name, measured, target, ok in verdicts(run):
        w(f"| {name} | {measured} | {target} | {_ok(ok)} |")
    w("")


def _foundation(run: Run, w: Any) -> None:
    o, pr, c, s = run.overhead, run.profile, run.cold, run.scale

    # --- figure 1 ---
    w("## 1. API overhead\n")
    w(f"`GET /v1/client-groups/{{id}}` through the real handler in process: `app.app(event, context)` with an API "
      f"Gateway REST proxy event carrying `Authorization: Bearer <JWT>` (so authentication, the access rule, the "
      f"tenant transaction, pydantic, the ETag, the JSON log line and Chalice's own request/response handling are "
      f"all inside the timing). Baselines run on the pool's own connection (`chalicelib.core.db.pool().connection()`, "
      f"checked out once per batch) and fetch the same row with the same SQL. {o.rounds} rounds x {o.per_round} "
      f"calls of each, interleaved (the order alternates each round) after a warm-up.\n")
    w("| Measurement | p50 | p90 | p99 | samples | handler p50 / this p50 | round trips per call |")
    w("|---|---|---|---|---|---|---|")
    names = {"handler": "Handler, `app.app(event, context)`",
             "bare_tx": "Bare SQL, tenancy-equivalent: transaction + `auth_enter_session(...)` (the session "
                        "verified, the firm entered) + SELECT (**headline baseline**)",
             "bare_select": "Bare SQL, one SELECT, no per-request tenancy (the firm entered once for one long "
                            "transaction of SELECTs)",
             "test_client": "`chalice.test.Client().http.get` (for comparison; adds the local gateway emulation)"}
    for kind in ("handler", "bare_tx", "bare_select", "test_client"):
        v = o.samples[kind]
        rt = o.round_trips.get(kind)
        w(f"| {names[kind]} | {_us(p50(v))} | {_us(pct(v, 90))} | {_us(pct(v, 99))} | {len(v):,} | "
          f"{_x(o.p50('handler') / p50(v))} | {f'{rt:.1f}' if rt is not None else 'n/a'} |")
    w("")
    w(f"The headline ratio uses the tenancy-equivalent bare SQL: any tenant query must open a transaction and have "
      f"PostgreSQL verify a credential and enter its firm before its SELECT (row-level security reads only the "
      f"verified firm), so that is the least work the database path can do. "
      f"Against the single bare SELECT the handler is {_x(o.ratio('handler', 'bare_select'))}. Round trips are "
      f"counted from libpq's protocol trace (each simple Query, and each Sync that ends a parameterised statement: "
      f"PostgreSQL answers each with one ReadyForQuery).\n")
    rr = o.round_ratios("handler", "bare_tx")
    if rr:
        w(f"Steadiness: the same ratio computed within each of the {len(rr)} rounds has a median of "
          f"{_x(p50(rr))}, 10th-90th percentile {_x(pct(rr, 10))}-{_x(pct(rr, 90))}. The numerator is mostly "
          f"Python on one core and the denominator mostly the latency of a Unix-socket hop to PostgreSQL's "
          f"backend, so the two react differently to a busy machine: expect the headline to move by a few tenths "
          f"between runs.\n")

    # --- where the time goes ---
    w("## Where the time goes (handler path of figure 1)\n")
    handler, bare_tx = o.p50("handler"), o.p50("bare_tx")
    w(f"The handler's p50 is {_us(handler)}; the tenancy-equivalent bare SQL's is {_us(bare_tx)}. The pieces of "
      f"the request path that can run alone, timed alone (p50 of 3,000 runs each, no profiler):\n")
    w("| Piece | p50 | share of the handler's p50 |")
    w("|---|---|---|")
    listed = 0.0
    for part, label, sec in pr.components:
        if part in ("db", "py"):
            listed += sec
        w(f"| {label} | {_us(sec)} | {sec / handler:.0%} |")
    rest = max(0.0, handler - listed)
    w(f"| the rest: Chalice's event handling, routing and response, the pipeline (request context, path ids, access "
      f"rule, ETag, headers), and what the database part costs inside a request over a tight loop (see below) | "
      f"{_us(rest)} | {rest / handler:.0%} |")
    db_part = next((sec for part, _label, sec in pr.components if part == "db"), 0.0)
    db_gap = _comp(run, "the same `get_group`, with other work")
    if db_part:
        w(f"\nThe database part as the handler runs it takes {_us(db_part)} in a tight loop against the bare "
          f"transaction's {_us(bare_tx)}: {_us(db_part - bare_tx)} for the pool checkout and return, "
          f"`db.transaction`'s context and the request id its entering statement also sets.")
        if db_gap:
            w(f"With a request's worth of other Python between calls (untimed), the same database part takes "
              f"{_us(db_gap)}: {_us(db_gap - db_part)} more, because a tight loop keeps this process's caches and "
              f"PostgreSQL's backend hot, and a real request does not. That difference is part of \"the rest\" "
              f"above (and the bare-SQL baseline, a tight loop by definition, enjoys it).")
    w("")
    w(f"cProfile over {pr.calls:,} calls of the handler (profiled: {_us(pr.wall_per_call)} per call; cProfile "
      "inflates Python-heavy parts, so read the shares, not the absolute numbers). Inclusive time per component "
      "(rows nest: `get_group` contains BEGIN, the executes and COMMIT):\n")
    w("| Component | per call (profiled) | share of the call |")
    w("|---|---|---|")
    for label, sec, share in pr.buckets:
        w(f"| {label} | {_us(sec)} | {share:.0%} |")
    w("")
    w("Top functions by own time:\n")
    w("| Function | calls per request | own time per request | share |")
    w("|---|---|---|---|")
    for name, nc, tt, share in pr.top_tottime:
        w(f"| `{name}` | {nc:g} | {_us(tt)} | {share:.0%} |")
    w("")
    w("What to do about it:\n")
    for line in suggestions(run):
        w(f"- {line}")
    w("")
    w("<details><summary>cProfile of the handler, top 30 by cumulative time</summary>\n")
    w("```")
    w(_strip_paths(pr.text).strip())
    w("```")
    w("</details>\n")

    # --- figure 2 ---
    _cold(c, w)

    # --- figure 3 ---
    w("## 3. Scale\n")
    w(f"{s.workers} worker processes, each like one warm Lambda container: forked after the data was loaded (pools "
      f"closed before the fork), one connection each (`DB_POOL_MAX=1`), calling the handler in process. "
      f"{s.duration:.1f} s measured. 90% reads (`GET /v1/client-groups/{{id}}` of a random one of the "
      f"{run.households:,} households) and 10% writes (`PATCH /v1/client-groups/{{id}}` setting `notes` to a unique "
      f"token, with `If-Match` from the worker's GET of that row, then from the ETag of its own last PATCH). Each "
      f"worker writes only its own 64 rows, so an If-Match conflict (412) would mean something else changed the "
      f"row; 412 is counted as a conflict, not an error.\n")
    w(_scale_table(s))
    w("")
    w(f"Statuses: {', '.join(f'{k}: {v:,}' for k, v in sorted(s.statuses.items()))}. Conflicts (412): "
      f"{s.conflicts}. Requests per worker: min {min(s.per_worker_ops):,}, max {max(s.per_worker_ops):,}.")
    if s.error_samples:
        w("\nError samples:\n")
        for e in s.error_samples[:5]:
            w(f"- `{e}`")
    w("")
    w("**Lost writes.** After the run the harness compares the database with every acknowledged (200) PATCH: each "
      "written row must hold the notes of its last acknowledged PATCH and a version equal to its version before the "
      "run plus the number of acknowledged PATCHes; and each acknowledged PATCH must have its audit event (found by "
      "its X-Request-Id, with the same notes in `after`), which commits in the write's own transaction.\n")
    w(f"- acknowledged writes: {s.acked:,}; with their audit event: {s.audit_found:,}; lost: **{s.lost}**")
    w(f"- rows checked: {s.rows_checked:,}; rows whose notes or version disagree: {s.rows_mismatched}")
    w(f"- writes committed but not acknowledged: {s.unacked_committed}")
    for d in s.lost_detail:
        w(f"- {d}")
    w("")
    w("### Why the tail looks the way it does\n")
    for line in tail_analysis(run):
        w(line)
    w("")
    if s.statements:
        w("pg_stat_statements over the main run (app role; server execution time only, no network or queueing):\n")
        w("| Statement | calls | mean | max | total |")
        w("|---|---|---|---|---|")
        for st in s.statements[:10]:
            q = st["query"]
            q = (q if len(q) <= 120 else q[:70] + " ... " + q[-45:]).replace("|", "\\|")
            w(f"| `{q}` | {st['calls']:,} | {st['mean_exec_time'] * 1000:,.0f} µs | "
              f"{st['max_exec_time']:,.2f} ms | {st['total_exec_time'] / 1000:,.2f} s |")
        w("")



def _method_notes(run: Run, w: Any) -> None:
    m = run.machine
    w("## Method notes\n")
    w("- All figures come from one process tree in one run: `tests/bench/run.py` starts an embedded "
      "PostgreSQL in a temporary directory (or uses `DATABASE_URL` as given), applies the migrations, creates "
      "firms and their admins (`chalicelib.firms.service.create_firm`), logs in for a JWT, loads the data, then "
      "measures. The embedded server is started with `shared_preload_libraries = 'pg_stat_statements'` for the "
      "figure-3 evidence.")
    w("- Percentiles are nearest-rank over every sample; p50 is the median. Timers are `time.perf_counter()` "
      "around the call only (events are built outside the timed region).")
    if run.scale is not None:
        w(f"- Figure 3 runs {run.scale.workers} processes plus PostgreSQL on this machine's {m.get('nproc')} CPUs; "
          "in AWS each Lambda container has its own CPU share, so the tail here is a property of the machine as much "
          "as of the code: the control run with one worker per CPU shows the difference.")
    if run.products is not None:
        w("- Figures 4-6 run in the same process as the app, one connection (`DB_POOL_MAX=1`), on the second firm's "
          "data after it was loaded, vacuumed and analysed; figure 6's refresher and its pg_stat_activity sampler "
          "are a second, forked process.")
    for n in run.notes:
        w(f"- {n}")
    w("")


def _strip_paths(text: str) -> str:
    import re

    from tests.bench.common import REPO

    text = text.replace(str(REPO) + "/", "")
    text = re.sub(r"\S*/site-packages/", "", text)
    return re.sub(r"\S*/lib/python3\.\d+/", "", text)


def _scale_table(s: ScaleResult) -> str:
    rows = ["| Kind | requests | throughput | p50 | p95 | p99 | max | p99 / p50 |", "|---|---|---|---|---|---|---|---|"]
    for name, v in (("reads (GET)", s.reads), ("writes (PATCH)", s.writes), ("all", s.all)):
        if not v:
            continue
        rows.append(f"| {name} | {len(v):,} | {len(v) / s.duration:,.0f} req/s | {_ms(p50(v))} | {_ms(pct(v, 95))} | "
                    f"{_ms(pct(v, 99))} | {_ms(max(v))} | {_x(pct(v, 99) / p50(v))} |")
    return "\n".join(rows)


def _bucket(run: Run, prefix: str) -> tuple[float, float]:
    for label, sec, share in run.profile.buckets:
        if label.strip().startswith(prefix):
            return sec, share
    return 0.0, 0.0


def _comp(run: Run, prefix: str) -> float:
    for _part, label, sec in run.profile.components:
        if label.strip().startswith(prefix):
            return sec
    return 0.0


def suggestions(run: Run) -> list[str]:
    o = run.overhead
    out = []
    handler, bare_tx, bare = o.p50("handler"), o.p50("bare_tx"), o.p50("bare_select")
    python = max(handler - bare_tx, 1e-9)
    rt_h, rt_b = o.round_trips.get("handler"), o.round_trips.get("bare_tx")
    db_part = next((sec for part, _label, sec in run.profile.components if part == "db"), 0.0)
    py_parts = sum(sec for part, _label, sec in run.profile.components if part == "py")
    rest = max(0.0, handler - db_part - py_parts)
    out.append(f"**The split.** Of the handler's {_us(handler)} p50, about {_us(bare_tx)} is the database work any "
               f"tenant read must do ({_us(bare_tx - bare)} of that is the three round trips BEGIN, entering the "
               f"firm and COMMIT add to the one SELECT); the database part as the handler runs it is "
               f"{_us(db_part)}; the Python pieces that can be timed alone add {_us(py_parts)}; the remaining "
               f"{_us(rest)} is Chalice's event handling and our pipeline run in sequence. No single piece "
               f"dominates: there is no one fix that halves the overhead.")
    if rt_h is not None and rt_b is not None and rt_h > rt_b + 0.5:
        out.append(f"**An extra round trip per request.** The handler makes {rt_h:.1f} round trips against the bare "
                   f"transaction's {rt_b:.1f}: the pool's liveness check (`SELECT ''` on every checkout). Check only a "
                   f"connection that sat idle.")
    elif rt_h is not None and rt_b is not None:
        out.append(f"**Round trips.** The handler makes {rt_h:.1f} round trips per request, the same as the bare "
                   f"transaction ({rt_b:.1f}): BEGIN, entering the firm, SELECT, COMMIT; nothing extra goes over "
                   f"the wire (the pool checks a connection's liveness only after it sat idle).")
    auth_seen = _comp(run, "auth.authenticate(Bearer JWT), the caller's")
    auth_new = _comp(run, "auth.authenticate(Bearer JWT), a token never")
    if auth_new and auth_seen < auth_new / 2:
        out.append(f"**JWT verification** is cached per container: {_us(auth_seen)} for a token seen before against "
                   f"{_us(auth_new)} for a new one (PyJWT's decoding, claim checks and HMAC), so only a caller's first "
                   f"request in a container pays it.")
    elif auth_new:
        out.append(f"**JWT verification**: {_us(auth_new)} per request ({auth_new / python:.0%} of the Python "
                   f"overhead). PyJWT decodes and validates the header and claims in Python (its base64url check "
                   f"alone walks every character of the token in a generator) before the HMAC. A small per-container "
                   f"LRU of verified tokens (key: the token string; kept until its `exp`) skips the work for a "
                   f"caller's repeat requests.")
    pool_rt = _comp(run, "of which pool checkout")
    wait, _wait_share = _bucket(run, "of which waiting in the queue")
    handoff = run.profile.handoff
    sync = handoff.get("synchronous return (no reset callback)")
    if sync is not None:
        conf = handoff["as configured"]
        text = (f"**The pool returns connections through a thread.** The pool has a `reset` callback (it stamps the "
                f"return time for the idle check), and with one psycopg_pool returns every connection through its "
                f"background worker thread (`ConnectionPool._putconn` -> `run_task(ReturnConnection)`): the next "
                f"checkout waits until that thread has been scheduled and has taken the GIL. The bare transaction "
                f"with a checkout per call, interleaved in the same run: {_us(conf)} p50 as configured, "
                f"{_us(sync)} with the callback off ({_us(conf - sync)} per request")
        if wait:
            text += f"; under the profiler, {_us(wait)} per call waited in `WaitingClient.wait`"
        text += ("). Taking the idle stamp in the `check` callback at checkout instead keeps returns synchronous "
                 "and checks a connection at least as often (time since the last checkout >= idle time).")
        out.append(text)
    elif pool_rt:
        out.append(f"**Pool checkout and return**: {_us(pool_rt)} per request ({pool_rt / python:.0%}), "
                   f"synchronous (no `reset` callback), no network.")
    log = _comp(run, "the request log line")
    if log:
        out.append(f"**The JSON request log line**: {_us(log)} ({log / python:.0%}) even written to /dev/null "
                   f"(LogRecord creation, the handler lock, the write and flush). It is the service's main "
                   f"observability: keep it.")
    settings = _comp(run, "config.settings")
    if settings:
        out.append(f"**`config.settings()`** rebuilds the settings from the environment on every call: "
                   f"{_us(settings)} per request ({settings / python:.0%}). It is deliberately uncached (the test "
                   f"client swaps the environment), but the request path could read it once per request.")
    out.append(f"**Fewer round trips for single-statement reads.** BEGIN, entering the firm, the SELECT and COMMIT "
               f"are four round trips ({_us(bare_tx)} here over a local Unix socket; over a VPC to RDS each round "
               f"trip is typically 0.2-0.5 ms, so the database part, not the Python, dominates in AWS). psycopg's "
               f"pipeline mode (`with conn.pipeline():` around the transaction) sends them without waiting for each "
               f"reply, keeping row-level security exactly as it is: the largest win available for a deployed API.")
    return out


def _cold(c: ColdStartResult, w: Any) -> None:
    from tests.bench.coldstart import HELLO

    hello_first, hello_cpu = p50(c.hello.firsts), p50(c.hello.cpu_firsts)
    w("## 2. Cold start\n")
    w(f"A fresh process per measurement, as a Lambda container starts: it builds its API Gateway proxy event "
      f"(untimed), then times `import app` and `app.app(event, context)`, one request. The baseline (**hello "
      f"world**) is a Chalice app that imports chalice and psycopg and answers its one request with `SELECT 1` on a "
      f"new connection to the same PostgreSQL as the API's role. The app answers one representative GET per domain, "
      f"each in its own fresh process, authenticated with a JWT (the public health check without). {c.runs} runs of "
      f"each probe, interleaved, after one untimed run of each (byte-code caches written, files in the page cache); "
      f"environment as deployed: {', '.join(f'`{k}={v}`' for k, v in c.environment.items()) or 'nothing set'}. "
      f"`{c.command}` measures this figure alone (its own database and a 20-household firm).\n")
    w("| Process | import (median) | import + first request (median) | ratio over hello world | min ratio | "
      "CPU-time ratio | modules loaded |")
    w("|---|---|---|---|---|---|---|")
    w(f"| hello world (**baseline**) | {_ms(p50(c.hello.imports))} | {_ms(hello_first)} | 1.00x | 1.00x | 1.00x | "
      f"{c.hello.modules} |")
    for probe in c.domains:
        w(f"| `GET {probe.path}` ({probe.label}) | {_ms(p50(probe.imports))} | {_ms(p50(probe.firsts))} | "
          f"**{_x(p50(probe.firsts) / hello_first)}** | {_x(min(probe.firsts) / min(c.hello.firsts))} | "
          f"{_x(p50(probe.cpu_firsts) / hello_cpu)} | {probe.modules} |")
    w("")
    w(f"`import app` alone: {_ms(p50(c.headline.imports))}, {_x(c.import_ratio)} the hello world's import (which "
      f"includes psycopg; the app imports psycopg, pydantic and a domain only when a request needs them). The "
      f"CPU-time ratio divides the processes' CPU time over the same span: on a shared machine it moves less than "
      f"the wall clock, since time spent waiting for a CPU is not counted.\n")
    for o in c.others:
        venv = Path(o.executable).parents[1].name
        w(f"On Python {o.python} with {o.note} (`{venv}`), the headline pair, {len(o.app.firsts)} runs each: "
          f"import + first `GET /v1/client-groups` {_ms(p50(o.app.firsts))} against the hello world's "
          f"{_ms(p50(o.hello.firsts))}: **{_x(o.ratio)}** (CPU time {_x(o.cpu_ratio)}; import alone "
          f"{_x(o.import_ratio)}).\n")
    if c.other_note:
        w(f"{c.other_note}.\n")
    w("Why a route pays what it pays: `import app` registers every route from the committed manifest "
      "(chalicelib/routes.json) without importing any domain; a route's first call imports its routes module and "
      "with it that domain's models, service and store, plus what every request needs (pydantic, the request "
      "pipeline, PyJWT for a bearer token, psycopg_pool). Models are built on first use. What remains above the "
      "hello world is mostly pydantic's own import and first model; PyJWT costs more where `cryptography` is "
      "installed (the dev dependencies pull it in; the Lambda package does not have it).\n")
    w("`python -X importtime -c \"import app\"`, top 10 by cumulative time (one run; modules nest):\n")
    w("| Module | cumulative | self |")
    w("|---|---|---|")
    for name, cum, own in c.importtime_top:
        w(f"| `{name}` | {cum / 1000:,.1f} ms | {own / 1000:,.1f} ms |")
    w("")
    w("<details><summary>The hello-world app</summary>\n")
    w("```python")
    w(HELLO.strip())
    w("```")
    w("</details>\n")


def tail_analysis(run: Run) -> list[str]:
    s, ctl = run.scale, run.control
    lines = []
    tail = pct(s.all, 99) / p50(s.all)
    cores = s.cpu.get("available", 0.0)
    busy = s.cpu.get("workers", 0.0) + s.cpu.get("postgres", 0.0)
    machine_busy = s.cpu.get("machine_busy")
    others = max(0.0, machine_busy - busy) if machine_busy is not None else None
    pg = (f"PostgreSQL {s.cpu['postgres']:.2f} CPUs" if "postgres" in s.cpu
          else "PostgreSQL (not measured: not a local embedded server)")
    text = (f"- **CPU.** Over the run the {s.workers} workers used {s.cpu.get('workers', 0):.2f} CPUs and {pg}: "
            f"{busy:.2f} of the {cores:.0f} available ({busy / cores:.0%}).")
    if machine_busy is not None:
        text += (f" The whole machine was {machine_busy / cores:.0%} busy (everything else, the harness and "
                 f"whatever else shares this machine: {others:.2f} CPUs; hypervisor steal "
                 f"{s.cpu.get('steal', 0):.2f} CPUs).")
    text += (f" {s.workers} processes that each want a CPU share {cores:.0f} cores, so a request that is "
             f"preempted waits for the others' time slices.")
    lines.append(text)
    if s.runnable:
        avg = sum(s.runnable) / len(s.runnable)
        lines.append(f"- **Run queue.** `procs_running` in /proc/stat averaged {avg:.1f} (max {max(s.runnable)}) over "
                     f"{len(s.runnable)} samples, against {cores:.0f} CPUs (the figure is machine-wide).")
    n = len(s.all)
    if n:
        lines.append(f"- **Preemption.** The workers were switched out involuntarily {s.involuntary_switches:,} times "
                     f"({s.involuntary_switches / n:.2f} per request) and voluntarily (waiting on the socket) "
                     f"{s.voluntary_switches:,} times.")
    if s.statements:
        total_ms = sum(st["total_exec_time"] for st in s.statements)
        per_req = total_ms / 1000 / n if n else 0
        worst = max(s.statements, key=lambda st: st["max_exec_time"])
        trivial = [st for st in s.statements if st["query"].startswith(("SELECT set_config", "SELECT auth_enter"))]
        text = (f"- **Server time.** pg_stat_statements: {per_req * 1e6:,.0f} µs of execution per request on average "
                f"against a p50 of {_us(p50(s.all))} and a p99 of {_us(pct(s.all, 99))}: the database executes "
                f"for a small fraction of a request's time. The slowest single statement took "
                f"{worst['max_exec_time']:,.2f} ms (`{worst['query'][:40]}...`, {worst['mean_exec_time'] * 1000:,.0f} "
                f"µs on average): a statement that short takes milliseconds only when its backend is off the CPU "
                f"or waiting")
        if trivial and trivial[0] is not worst:
            t = trivial[0]
            text += (f"; even `{t['query'][:30]}...`, {t['mean_exec_time'] * 1000:,.0f} µs on average, took up to "
                     f"{t['max_exec_time']:,.2f} ms once: its backend lost the CPU mid-statement")
        top = max(s.statements, key=lambda st: st["total_exec_time"])
        text += (f". The most server time in total goes to `{top['query'][:60]}...` ({top['calls']:,} calls x "
                 f"{top['mean_exec_time'] * 1000:,.0f} µs). Writes also wait for the WAL flush at COMMIT (the "
                 f"WALWrite and WalSync waits below), which is why they are slower than reads at every percentile.")
        lines.append(text)
    if s.activity_samples:
        total = sum(s.activity.values())
        lock = sum(v for k, v in s.activity.items() if "waiting on Lock" in k)
        parts = ", ".join(f"{k} {v / total:.0%}" for k, v in s.activity.most_common(6))
        idle_tx = s.activity.get("idle in transaction", 0) / total
        lines.append(f"- **Lock waits.** pg_stat_activity sampled every 50 ms ({s.activity_samples} samples of the "
                     f"{s.workers} backends): {parts}. Heavyweight lock waits: {lock / total:.1%} of backend samples "
                     f"(rows are not shared between writers, so none are expected). 'idle in transaction' "
                     f"({idle_tx:.0%}) is a backend waiting for its worker's next statement inside a transaction: the "
                     f"worker is running Python or, with {s.workers} workers on {cores:.0f} CPUs, waiting for a CPU.")
    if ctl is not None and ctl.all:
        ctail = pct(ctl.all, 99) / p50(ctl.all)
        lines.append(f"- **Control run.** The same mix with {ctl.workers} workers (one per CPU) for "
                     f"{ctl.duration:.0f} s: {ctl.throughput:,.0f} req/s, p50 {_ms(p50(ctl.all))}, p99 "
                     f"{_ms(pct(ctl.all, 99))}, p99/p50 {_x(ctail)}; errors {ctl.errors}, lost writes {ctl.lost} "
                     f"of {ctl.acked:,}.")
    oversub = ((machine_busy if machine_busy is not None else busy) / cores >= 0.85) if cores else False
    lock_free = not s.activity or sum(v for k, v in s.activity.items() if "waiting on Lock" in k) == 0
    if tail < TAIL_TARGET:
        verdict = (f"p99/p50 is {_x(tail)}, inside the target of {TAIL_TARGET:g}x even with {s.workers} processes on "
                   f"{cores:.0f} CPUs.")
    elif oversub and lock_free:
        verdict = (f"p99/p50 is {_x(tail)}, over the target of {TAIL_TARGET:g}x. The evidence points at CPU "
                   f"oversubscription, not at the database: the CPUs were saturated, the server's own execution time "
                   f"per request is a fraction of the p50, no backend waited on a lock, and with one worker per CPU "
                   f"the ratio drops (control run). In AWS each container has its own CPU; to judge the code's tail "
                   f"on this machine, read the control run.")
    else:
        verdict = (f"p99/p50 is {_x(tail)}, over the target of {TAIL_TARGET:g}x; see the figures above (CPU "
                   f"{busy / cores:.0%} busy, lock waits present: {not lock_free}).")
    lines.append(f"\n**Verdict.** {verdict}")
    return lines
