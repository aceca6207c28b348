"""Figure 1: the API's overhead over the bare SQL, and where a request's time goes (cProfile)."""
from __future__ import annotations

import cProfile
import functools
import io
import os
import pstats
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.common import BenchFirm, FakeLambdaContext, api_event, p50, say

RESOURCE = "/v1/client-groups/{group_id}"


@dataclass
class OverheadResult:
    samples: dict[str, list[float]] = field(default_factory=dict)  # kind -> seconds per call
    rounds: int = 0
    per_round: int = 0
    round_trips: dict[str, float] = field(default_factory=dict)  # kind -> client/server round trips per call
    statements: list[tuple[str, float]] = field(default_factory=list)  # (query, calls per request)

    def p50(self, kind: str) -> float:
        return p50(self.samples[kind])

    def ratio(self, kind: str, base: str) -> float:
        return self.p50(kind) / self.p50(base)

    def round_ratios(self, kind: str, base: str) -> list[float]:
        """The ratio of p50s within each round: how steady the headline is across the run."""
        n = self.per_round
        a, b = self.samples[kind], self.samples[base]
        return [p50(a[i:i + n]) / p50(b[i:i + n]) for i in range(0, min(len(a), len(b)) - n + 1, n)]


# The least a tenant read costs the database path: the statement that verifies the access token's session and
# enters its firm (migration 0018; what db.transaction runs first), then the SELECT.
ENTER_SQL = "SELECT auth_enter_session(%s, %s, %s, %s)"


def enter_params(token: str) -> tuple[str, str, str, str]:
    """(session, user, firm, role) of an access token, for ENTER_SQL."""
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    return claims["sid"], claims["sub"], claims["firm"], claims["role"]


def _fresh(event_template: dict[str, Any]) -> dict[str, Any]:
    """The same request with a new API Gateway request id (built outside the timed region)."""
    event = dict(event_template)
    event["requestContext"] = dict(event_template["requestContext"], requestId=str(uuid.uuid4()))
    return event


def measure(app_module: Any, firm: BenchFirm, *, rounds: int = 60, per_round: int = 60,
            client_every: int = 3) -> OverheadResult:
    """Interleaved rounds of: the handler (app(event, context)), the bare SQL (two ways), and chalice.test.Client.

    Each round runs every measurement `per_round` times back to back, in an order that alternates between
    rounds, so drift (CPU frequency, a neighbour's load) lands on all of them alike. chalice.test.Client runs
    every `client_every` rounds (it is for comparison only).
    """
    from chalice.test import Client

    from chalicelib.clients.store import GROUP_COLUMNS
    from chalicelib.core import db

    app = app_module.app
    group_id = str(firm.group_ids[len(firm.group_ids) // 2])
    headers = {"Authorization": f"Bearer {firm.token}"}
    template = api_event("GET", RESOURCE, {"group_id": group_id}, headers)
    lctx = FakeLambdaContext()
    select_sql = f"SELECT {GROUP_COLUMNS} FROM client_groups WHERE id = %s"
    entering = enter_params(firm.token)
    gid = uuid.UUID(group_id)
    path = f"/v1/client-groups/{group_id}"
    result = OverheadResult(rounds=rounds, per_round=per_round)
    for kind in ("handler", "bare_tx", "bare_select", "test_client"):
        result.samples[kind] = []
    perf = time.perf_counter

    def run_handler(n: int, out: list[float]) -> None:
        for _ in range(n):
            event = _fresh(template)
            t = perf()
            response = app(event, lctx)
            out.append(perf() - t)
            if response["statusCode"] != 200:
                raise RuntimeError(f"handler answered {response['statusCode']}: {response.get('body')}")

    def run_bare_tx(n: int, out: list[float]) -> None:
        # The pool's own connection, checked out once for the batch (the handler pays its checkout per call).
        with db.pool().connection() as conn:
            for _ in range(n):
                t = perf()
                with conn.transaction():
                    conn.execute(ENTER_SQL, entering)
                    row = conn.execute(select_sql, (gid,)).fetchone()
                out.append(perf() - t)
                if row is None:
                    raise RuntimeError("bare SQL found no row")

    def run_bare_select(n: int, out: list[float]) -> None:
        # One statement, one round trip: the firm entered once (untimed) for one long transaction of SELECTs (a
        # verified context lives as long as its transaction).
        with db.pool().connection() as conn, conn.transaction():
            conn.execute(ENTER_SQL, entering)
            for _ in range(n):
                t = perf()
                row = conn.execute(select_sql, (gid,)).fetchone()
                out.append(perf() - t)
                if row is None:
                    raise RuntimeError("bare SELECT found no row")

    def run_client(client: Any, n: int, out: list[float]) -> None:
        for _ in range(n):
            t = perf()
            response = client.http.get(path, headers=headers)
            out.append(perf() - t)
            if response.status_code != 200:
                raise RuntimeError(f"test client answered {response.status_code}")

    with Client(app) as client:
        say("figure 1: warm-up")
        warm: list[float] = []
        for _ in range(3):
            run_handler(200, warm)
            run_bare_tx(200, warm)
            run_bare_select(200, warm)
            run_client(client, 100, warm)
        say(f"figure 1: {rounds} interleaved rounds x {per_round} calls of each measurement")
        steps = [("handler", lambda n, o: run_handler(n, o)), ("bare_tx", run_bare_tx),
                 ("bare_select", run_bare_select)]
        for r in range(rounds):
            order = steps if r % 2 == 0 else list(reversed(steps))
            for kind, fn in order:
                fn(per_round, result.samples[kind])
            if r % client_every == 0:
                run_client(client, per_round, result.samples["test_client"])
            if (r + 1) % 20 == 0:
                say(f"  round {r + 1}/{rounds}: handler p50 {p50(result.samples['handler']) * 1e6:.0f} µs, "
                    f"bare tx p50 {p50(result.samples['bare_tx']) * 1e6:.0f} µs")
    result.round_trips = count_round_trips(app, template, lctx, entering, gid, select_sql)
    return result


def count_round_trips(app: Any, template: dict[str, Any], lctx: Any, entering: tuple[str, ...], gid: uuid.UUID,
                      select_sql: str, calls: int = 20) -> dict[str, float]:
    """Round trips per call, counted from libpq's protocol trace (tests/pgtrace.py)."""
    from chalicelib.core import db
    from tests.pgtrace import round_trips_sent

    out: dict[str, float] = {}
    pool = db.pool()

    def traced(fn: Any) -> int:
        # the checkouts that switch tracing on and off may add a liveness check: `base` counts those
        return len(round_trips_sent(pool, fn))

    base = traced(lambda: None)

    def handler() -> None:
        for _ in range(calls):
            app(_fresh(template), lctx)

    def bare_tx() -> None:
        with pool.connection() as conn:
            for _ in range(calls):
                with conn.transaction():
                    conn.execute(ENTER_SQL, entering)
                    conn.execute(select_sql, (gid,)).fetchone()

    try:
        out["handler"] = (traced(handler) - base) / calls
        out["bare_tx"] = (traced(bare_tx) - base) / calls
        out["bare_select"] = 1.0
    except Exception as exc:  # tracing is a libpq feature: report nothing rather than fail the run
        say(f"round-trip trace unavailable: {exc}")
    return out


@dataclass
class ProfileResult:
    components: list[tuple[str, str, float]]  # (part, label, unprofiled p50) of the pieces that run alone
    handoff: dict[str, float]  # bare transaction with a checkout per call: as configured / synchronous return
    calls: int
    wall_per_call: float
    buckets: list[tuple[str, float, float]]  # (component, seconds per call, share of the profiled call)
    top_tottime: list[tuple[str, int, float, float]]  # (function, ncalls per request, own s per call, share)
    text: str


# (label, predicate on (file, line, funcname)) for inclusive-time buckets
_BUCKETS: list[tuple[str, Any]] = [
    ("chalice: build the Request from the event", lambda f, ln, n: f.endswith("chalice/app.py") and n == "__init__"
     and ln == _request_init_line()),
    ("auth.authenticate (Bearer JWT)", lambda f, ln, n: f.endswith("core/auth.py") and n == "authenticate"),
    ("pool checkout: pool.connection() enter (getconn, incl. any liveness check)",
     lambda f, ln, n: f.endswith("psycopg_pool/pool.py") and n == "getconn"),
    ("  of which the pool's check callback",
     lambda f, ln, n: f.endswith("psycopg_pool/pool.py") and n == "_check_connection"),
    ("  of which waiting in the queue for a returned connection (WaitingClient.wait)",
     lambda f, ln, n: f.endswith("psycopg_pool/pool.py") and n == "wait"),
    ("pool return: putconn", lambda f, ln, n: f.endswith("psycopg_pool/pool.py") and n == "putconn"),
    ("BEGIN (conn.transaction() enter)", lambda f, ln, n: f.endswith("psycopg/transaction.py") and n == "__enter__"),
    ("COMMIT (conn.transaction() exit)", lambda f, ln, n: f.endswith("psycopg/transaction.py") and n == "__exit__"),
    ("all Connection.execute (entering the firm + SELECT)",
     lambda f, ln, n: f.endswith("psycopg/connection.py") and n == "execute"),
    ("waiting on the socket (psycopg wait: server + network)",
     lambda f, ln, n: f.endswith("psycopg/connection.py") and n == "wait"),
    ("clients.service.get_group (transaction + query)",
     lambda f, ln, n: f.endswith("clients/service.py") and n == "get_group"),
    ("ClientGroupOut.model_validate (pydantic)", lambda f, ln, n: n == "model_validate"),
    ("serialise + Response (_json_response)", lambda f, ln, n: f.endswith("core/http.py") and n == "_json_response"),
    ("request log line (_log_request)", lambda f, ln, n: f.endswith("core/http.py") and n == "_log_request"),
    ("config.settings() (reads the environment)", lambda f, ln, n: f.endswith("core/config.py") and n == "settings"),
    ("chalice: Response.to_dict", lambda f, ln, n: f.endswith("chalice/app.py") and n == "to_dict"),
]


def profile(app_module: Any, firm: BenchFirm, calls: int = 2000) -> ProfileResult:
    """cProfile over `calls` handler calls; inclusive time per component and the top functions by own time."""
    app = app_module.app
    group_id = str(firm.group_ids[len(firm.group_ids) // 3])
    template = api_event("GET", RESOURCE, {"group_id": group_id}, {"Authorization": f"Bearer {firm.token}"})
    lctx = FakeLambdaContext()
    for _ in range(200):
        app(_fresh(template), lctx)
    events = [_fresh(template) for _ in range(calls)]
    say(f"profiling {calls} handler calls (cProfile)")
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    for event in events:
        app(event, lctx)
    prof.disable()
    wall = (time.perf_counter() - t) / calls
    stats = pstats.Stats(prof)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values()) / calls
    buckets = []
    for label, pred in _BUCKETS:
        ct = 0.0
        for (filename, _line, name), (_cc, _nc, _tt, cum, _callers) in raw.items():
            fn = filename.replace(os.sep, "/")
            try:
                match = pred(fn, _line, name)
            except Exception:
                match = False
            if match:
                ct += cum
        buckets.append((label, ct / calls, (ct / calls) / total if total else 0.0))
    top = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:15]
    top_rows = []
    for (filename, line, name), (_cc, nc, tt, _ct, _callers) in top:
        short = _short(filename)
        top_rows.append((f"{short}:{line}({name})", round(nc / calls, 2), tt / calls, (tt / calls) / total))
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
    return ProfileResult(components=components(app_module, firm), handoff=pool_handoff(firm), calls=calls,
                         wall_per_call=wall, buckets=buckets, top_tottime=top_rows, text=buf.getvalue())


@functools.lru_cache(maxsize=1)
def _request_init_line() -> int:
    import inspect

    from chalice.app import Request

    return inspect.getsourcelines(Request.__init__)[1]


def _short(filename: str) -> str:
    f = filename.replace(os.sep, "/")
    repo = str(Path(__file__).resolve().parents[2]).replace(os.sep, "/") + "/"  # the checkout, wherever it is
    for marker in ("site-packages/", repo, "lib/python3"):
        if marker in f:
            f = f.split(marker, 1)[1]
    return f


def components(app_module: Any, firm: BenchFirm, n: int = 3000) -> list[tuple[str, str, float]]:
    """p50 of the pieces of the request path that can run alone, without the profiler's distortion.

    Each piece runs `n` times in a loop; the numbers are per request (a piece called k times per request is
    timed k times in a row).
    """
    from chalice.app import Request

    from chalicelib.clients import store
    from chalicelib.clients.models import ClientGroupOut
    from chalicelib.core import auth, config, db, http
    from chalicelib.core.context import RequestContext

    perf = time.perf_counter
    group_id = firm.group_ids[len(firm.group_ids) // 2]
    header = f"Bearer {firm.token}"
    event = api_event("GET", RESOURCE, {"group_id": str(group_id)}, {"Authorization": header})
    spec = next(r for r in app_module.router.specs() if r.path == RESOURCE and r.method == "GET")
    principal = auth.authenticate(header)
    ctx = RequestContext(principal=principal)
    with db.transaction(ctx) as tx:
        row = store.get_group(tx, group_id)
    lctx = FakeLambdaContext()
    request = Request(event, lctx)
    settings_calls = [0]
    real_settings = config.settings

    def counting() -> Any:
        settings_calls[0] += 1
        return real_settings()

    config.settings = counting  # count the calls one request makes
    try:
        app_module.app(_fresh(event), lctx)
    finally:
        config.settings = real_settings
    per_request_settings = settings_calls[0]

    def pool_roundtrip() -> None:
        with db.pool().connection():
            pass

    def output() -> None:
        http._json_response(200, ClientGroupOut.model_validate(row), {"ETag": '"1"', "X-Request-Id": "x"}).to_dict()

    def settings() -> None:
        for _ in range(per_request_settings):
            config.settings()

    # tokens this process has never verified, to time authentication without any per-container caching
    def new_token() -> str:
        token, _ttl = auth.issue_access_token(user_id=principal.id, firm_id=principal.firm_id, role="admin",
                                              session_id=uuid.uuid4())
        return f"Bearer {token}"

    fresh_tokens = iter([new_token() for _ in range(n + 200)])
    from chalicelib.clients import service

    # (part, label, fn): "db" is the database part as the handler runs it; "py" the Python pieces around it, which
    # add up with "db" towards the handler; "info" pieces are contained in another or are for comparison only.
    pieces: list[tuple[str, str, Any]] = [
        ("db", ("`clients.service.get_group`: pool checkout, BEGIN, entering the firm (the session verified), SELECT, "
               "COMMIT, return"), lambda: service.get_group(ctx, group_id)),
        ("info", "  of which pool checkout + return (`with pool().connection(): pass`)", pool_roundtrip),
        ("info", "  the same `get_group`, with other work between calls (a request's worth of Python, untimed)",
         "gap"),
        ("py", "chalice: Request(event, context)", lambda: Request(_fresh(event), lctx)),
        ("py", "auth.authenticate(Bearer JWT), the caller's token (seen before)", lambda: auth.authenticate(header)),
        ("info", "auth.authenticate(Bearer JWT), a token never seen by this process",
         lambda: auth.authenticate(next(fresh_tokens))),
        ("py", "ClientGroupOut.model_validate + JSON + Response.to_dict", output),
        ("py", "the request log line (`_log_request`)", lambda: http._log_request(request, spec, ctx, 200, perf())),
        ("py", f"config.settings() x {per_request_settings} (the calls one request makes)", settings),
    ]
    def busy_work() -> None:  # what a request does around its database part, roughly: build and log a request
        Request(_fresh(event), lctx)
        auth.authenticate(header)
        output()
        http._log_request(request, spec, ctx, 200, perf())
        sum(range(2000))

    out = []
    for part, label, fn in pieces:
        gap = fn == "gap"
        if gap:
            fn = lambda: service.get_group(ctx, group_id)  # noqa: E731
        for _ in range(200):
            fn()
        samples = []
        for _ in range(n):
            if gap:
                busy_work()
            t = perf()
            fn()
            samples.append(perf() - t)
        out.append((part, label, p50(samples)))
    return out


def pool_handoff(firm: BenchFirm, rounds: int = 30, per_round: int = 100) -> dict[str, float]:
    """The bare transaction with a pool checkout per call, as the pool is configured and, when the pool has a
    `reset` callback (which makes psycopg_pool return connections through its worker thread), the same with the
    callback switched off for the measurement (a what-if; restored afterwards). Interleaved rounds; p50s."""
    from chalicelib.clients.store import GROUP_COLUMNS
    from chalicelib.core import db

    pool = db.pool()
    select_sql = f"SELECT {GROUP_COLUMNS} FROM client_groups WHERE id = %s"
    gid = firm.group_ids[len(firm.group_ids) // 4]
    entering = enter_params(firm.token)
    perf = time.perf_counter
    configured = pool._reset
    kinds = {"as configured": configured}
    if configured is not None:
        kinds["synchronous return (no reset callback)"] = None
    samples: dict[str, list[float]] = {k: [] for k in kinds}
    try:
        for r in range(rounds):
            order = list(kinds.items()) if r % 2 == 0 else list(reversed(kinds.items()))
            for kind, reset in order:
                pool._reset = reset
                for _ in range(per_round):
                    t = perf()
                    with pool.connection() as conn:
                        with conn.transaction():
                            conn.execute(ENTER_SQL, entering)
                            conn.execute(select_sql, (gid,)).fetchone()
                    samples[kind].append(perf() - t)
    finally:
        pool._reset = configured
    return {k: p50(v) for k, v in samples.items()}
