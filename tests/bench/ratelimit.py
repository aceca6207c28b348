"""The "ratelimit" part: what counting each request against its rate limit (migration 0020) costs figure 1.

The same handler, `GET /v1/client-groups/{id}` as figure 1 measures it, two ways in one run on one database:
- **counted**: as deployed: the statement that opens the request's transaction (sent with its BEGIN) is
  `auth_enter_session(..., 'default', scale)` (0020's, made cheaper by 0035), which verifies the session, counts
  the request in its window (`rate_counters`) and enters the firm; the answer carries the RateLimit-* headers;
- **uncounted**: the route without a bucket and core.store.enter_session swapped for the statement it ran before
  0020 (0018's `auth_enter_session(session, user, firm, role)`, which verifies the session and enters the firm),
  sent with its BEGIN in the same way, so that the two differ by the count alone.
And figure 1's baseline, the bare SQL (BEGIN + 0018's `auth_enter_session` + SELECT + COMMIT), beside the same with
the counting statement. Interleaved round by round (the order alternates), after a warm-up. Every limit is
raised (RATE_LIMIT_SCALE, tests/bench/run.py) so that the counting runs and never refuses.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.bench.common import FakeLambdaContext, api_event, p50, pct, say

RESOURCE = "/v1/client-groups/{group_id}"
TARGET = 1.5  # figure 1's target since the tenancy change (tests/bench/tenancy.py)

# What core.store ran to open each transaction before migration 0020 (0018's session check; it counts nothing).
_PREVIOUS_ENTER = ("SELECT auth_enter_session(%s, %s, %s, %s) AS ok, "
                   "set_config('app.request_id', %s, true) AS request_id")
_BARE = "SELECT auth_enter_session(%s, %s, %s, %s)"
_BARE_COUNTED = "SELECT auth_enter_session(%s, %s, %s, %s, 'default', %s)"

KINDS = ("handler_counted", "handler_uncounted", "bare", "bare_counted")
LABELS = {
    "handler_counted": "Handler, `app.app(event, context)`, **counted** (`auth_enter_session(..., bucket)`)",
    "handler_uncounted": "Handler, **uncounted** (0018's `auth_enter_session(...)`, no bucket)",
    "bare": "Bare SQL (figure 1's baseline): BEGIN + 0018's `auth_enter_session(...)` + SELECT + COMMIT",
    "bare_counted": "Bare SQL with the count: BEGIN + `auth_enter_session(..., 'default', scale)` + SELECT "
                    "+ COMMIT",
}


@dataclass
class RateLimitResult:
    households: int
    rounds: int
    per_round: int
    samples: dict[str, list[float]] = field(default_factory=dict)
    round_trips: dict[str, float] = field(default_factory=dict)

    def p50(self, kind: str) -> float:
        return p50(self.samples[kind])

    def ratio(self, kind: str, base: str) -> float:
        return self.p50(kind) / self.p50(base)

    def round_ratios(self, kind: str, base: str) -> list[float]:
        n = self.per_round
        a, b = self.samples[kind], self.samples[base]
        return [p50(a[i:i + n]) / p50(b[i:i + n]) for i in range(0, min(len(a), len(b)) - n + 1, n)]


def _previous_enter_session(tx: Any, session_id: Any, user_id: Any, firm_id: Any, role: str, bucket: Any = None,
                            scale: int = 1) -> dict[str, Any]:
    """core.store.enter_session as it was before 0020: the session verified and the firm entered, nothing counted
    (sent with the transaction's BEGIN, as the counting statement is)."""
    ok = bool(tx.first(_PREVIOUS_ENTER, (session_id, user_id, firm_id, role, tx.ctx.request_id))["ok"])
    if ok:
        tx.entered = firm_id
    return {"state": "ok" if ok else "refused", "rate_limit": None, "rate_used": None, "rate_reset": None}


def measure(app_module: Any, households: int, *, rounds: int = 60, per_round: int = 50) -> RateLimitResult:
    from chalicelib.clients.store import GROUP_COLUMNS
    from chalicelib.core import config, db, store
    from tests.bench import common
    from tests.bench.overhead import _fresh, enter_params
    from tests.bench.tenancy import _round_trips

    say(f"ratelimit: a firm of {households:,} households")
    firm = common.make_firm(households)
    app = app_module.app
    lctx = FakeLambdaContext()
    gid = str(firm.group_ids[len(firm.group_ids) // 2])
    event = api_event("GET", RESOURCE, {"group_id": gid}, {"Authorization": f"Bearer {firm.token}"})
    entering = enter_params(firm.token)
    scale = config.settings().rate_limit_scale
    select_sql = f"SELECT {GROUP_COLUMNS} FROM client_groups WHERE id = %s"
    spec = next(s for s in app_module.router.specs() if s.method == "GET" and s.path == RESOURCE)
    bucket, real_enter = spec.rate_limit, store.enter_session
    pool = db.pool()
    result = RateLimitResult(households=households, rounds=rounds, per_round=per_round,
                             samples={k: [] for k in KINDS})
    perf = time.perf_counter

    def use(counted: bool) -> None:
        spec.rate_limit = bucket if counted else None
        store.enter_session = real_enter if counted else _previous_enter_session

    def run_handler(counted: bool, n: int, out: list[float]) -> None:
        use(counted)
        for _ in range(n):
            e = _fresh(event)
            t = perf()
            response = app(e, lctx)
            out.append(perf() - t)
            if response["statusCode"] != 200 or ("RateLimit-Remaining" in response["headers"]) != counted:
                raise RuntimeError(f"handler (counted={counted}) answered {response['statusCode']}: "
                                   f"{response.get('headers')}")

    def run_bare(counted: bool, n: int, out: list[float]) -> None:
        statement, params = (_BARE_COUNTED, (*entering, scale)) if counted else (_BARE, entering)
        with pool.connection() as conn:
            for _ in range(n):
                t = perf()
                with conn.transaction():
                    conn.execute(statement, params)
                    row = conn.execute(select_sql, (gid,)).fetchone()
                out.append(perf() - t)
                if row is None:
                    raise RuntimeError(f"bare SQL (counted={counted}) found no row")

    steps = [("handler_counted", lambda n, o: run_handler(True, n, o)),
             ("handler_uncounted", lambda n, o: run_handler(False, n, o)),
             ("bare", lambda n, o: run_bare(False, n, o)),
             ("bare_counted", lambda n, o: run_bare(True, n, o))]
    try:
        say("ratelimit: warm-up")
        warm: list[float] = []
        for _ in range(3):
            for _kind, fn in steps:
                fn(150, warm)
        say(f"ratelimit: {rounds} interleaved rounds x {per_round} calls of each measurement")
        for r in range(rounds):
            for kind, fn in (steps if r % 2 == 0 else list(reversed(steps))):
                fn(per_round, result.samples[kind])
            if (r + 1) % 20 == 0:
                say(f"  round {r + 1}/{rounds}: handler counted {result.p50('handler_counted') * 1e6:.0f} µs, "
                    f"uncounted {result.p50('handler_uncounted') * 1e6:.0f} µs; bare "
                    f"{result.p50('bare') * 1e6:.0f} µs, counted {result.p50('bare_counted') * 1e6:.0f} µs")
        for counted in (True, False):
            use(counted)
            result.round_trips["handler_counted" if counted else "handler_uncounted"] = _round_trips(
                app, {"pool": pool, "event": event}, lctx)
        result.round_trips["bare"] = result.round_trips["bare_counted"] = 4.0
    finally:
        spec.rate_limit, store.enter_session = bucket, real_enter
    return result


# --- BENCHMARKS.md ----------------------------------------------------------------------------------------------

def _us(s: float) -> str:
    return f"{s * 1e6:,.0f} µs"


def verdicts(r: RateLimitResult) -> list[tuple[str, str, str, bool]]:
    counted, uncounted = r.ratio("handler_counted", "bare"), r.ratio("handler_uncounted", "bare")
    trips_c, trips_u = r.round_trips["handler_counted"], r.round_trips["handler_uncounted"]
    r1 = ("R1. Figure 1 with each request counted against its rate limit: p50 handler (counted) / p50 bare SQL "
          "(BEGIN + auth_enter_session + SELECT + COMMIT); uncounted, same run")
    m1 = (f"counted {counted:.2f}x ({_us(r.p50('handler_counted'))} / {_us(r.p50('bare'))}); uncounted "
          f"{uncounted:.2f}x ({_us(r.p50('handler_uncounted'))})")
    r2 = ("R2. Round trips per request, counted / uncounted (the count rides in the statement that opens the "
          "transaction)")
    return [(r1, m1, f"≤ {TARGET:g}x", counted <= TARGET),
            (r2, f"{trips_c:.1f} / {trips_u:.1f}", "equal", abs(trips_c - trips_u) < 0.05)]


def render(r: RateLimitResult) -> list[str]:
    out: list[str] = []
    w = out.append
    w("## Rate limits: what counting each request costs figure 1\n")
    w(f"`GET /v1/client-groups/{{id}}` through the real handler, as in figure 1, on a firm of {r.households:,} "
      f"households: **counted** as deployed (the statement that opens the transaction, sent with its BEGIN, "
      f"`auth_enter_session(..., 'default', scale)`, verifies the session, adds the request to its window in the "
      f"UNLOGGED `rate_counters` (the row of this connection's backend) and sums the window, then enters the firm; "
      f"the answer carries RateLimit-*), and **uncounted** (the route without a bucket, the statement 0018's "
      f"`auth_enter_session(...)`, sent with its BEGIN too). Every limit raised (RATE_LIMIT_SCALE) so nothing is "
      f"refused. {r.rounds} rounds x {r.per_round} calls of each, interleaved (the order alternates each round), "
      f"after a warm-up. Made by "
      f"`BENCH_PARTS=ratelimit` (tests/bench/ratelimit.py).\n")
    w("| Measurement | p50 | p90 | p99 | samples | round trips per call |")
    w("|---|---|---|---|---|---|")
    for kind in KINDS:
        v = r.samples[kind]
        w(f"| {LABELS[kind]} | {_us(p50(v))} | {_us(pct(v, 90))} | {_us(pct(v, 99))} | {len(v):,} | "
          f"{r.round_trips.get(kind, 0):.1f} |")
    w("")
    hc, hu, b, bc = (r.p50(k) for k in KINDS)
    w("| Ratio | value |")
    w("|---|---|")
    w(f"| Figure 1 counted: handler counted / bare | {hc / b:.2f}x |")
    w(f"| Figure 1 uncounted: handler uncounted / bare | {hu / b:.2f}x |")
    w(f"| handler counted / handler uncounted (what the count costs a request) | {hc / hu:.2f}x ({_us(hc - hu)}) |")
    w(f"| bare counted / bare (what the count costs the SQL alone) | {bc / b:.2f}x ({_us(bc - b)}) |")
    w("")
    rr = r.round_ratios("handler_counted", "handler_uncounted")
    if rr:
        w(f"Steadiness: handler counted / uncounted within each of the {len(rr)} rounds has a median of "
          f"{p50(rr):.2f}x, 10th-90th percentile {pct(rr, 10):.2f}x-{pct(rr, 90):.2f}x.\n")
    return out


def summary_line(r: RateLimitResult) -> str:
    extra = (r.p50("handler_counted") - r.p50("handler_uncounted")) * 1e6
    return (f"ratelimit: figure 1 counted {r.ratio('handler_counted', 'bare'):.2f}x, uncounted "
            f"{r.ratio('handler_uncounted', 'bare'):.2f}x; counted / uncounted "
            f"{r.ratio('handler_counted', 'handler_uncounted'):.2f}x ({extra:.0f} µs); round trips "
            f"{r.round_trips['handler_counted']:.1f} / {r.round_trips['handler_uncounted']:.1f}; bare counted / "
            f"bare {r.ratio('bare_counted', 'bare'):.2f}x")
