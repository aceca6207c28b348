"""Net worth (part "networth"): the live answer, statements, the history and the daily job, each against a baseline
measured in the same run.

- N1. `GET /v1/client-groups/{id}/networth` of one household (the one with the most products and more than one
  person: individual, joint and tenants-in-common rows) through the real handler in process
  (`app.app(event, context)`), p95 over the p95 of the bare SQL that reads the same rows: the store's one
  statement (`networth.store.live_positions`), repeated in a transaction that entered the firm once (untimed).
  Beside it, the bare transaction a request needs at least (BEGIN, enter the firm, the statement, COMMIT).
- N2. `POST /v1/client-groups/{id}/networth-statements` (the same household) p95 over N1's handler p95.
- N3. `GET /v1/client-groups/{id}/networth/history?range=all` of a household with ten years of daily snapshots
  (3,653 rows) p95 over the bare SQL that reads the same rows: the two statements the handler runs (the snapshots,
  today's positions), repeated as in N1.
- N4. The job `networth-snapshots` for one day over every household (`run_job`: its lock, its job_runs row, the
  day's completeness check, the INSERT ... SELECT, the firms' totals) over the bare INSERT ... SELECT computing the
  same rows (the job's own statement without its ON CONFLICT clause), each on a day with no rows, the day emptied
  and the table vacuumed between runs, in alternating order.

The data (tests/bench/networth_data.py): a firm of BENCH_NETWORTH_HOUSEHOLDS households (default 13,000: 100x the
firm) from `chalicelib.demo.load`, each with about ten products or accounts (4 to 6 managed products with a
portfolio fund each, 4 to 6 unmanaged assets and liabilities, some in EUR and USD) valued at BENCH_NETWORTH_MONTHS
month ends (default 60: five years), and about 30 information items of every type (seven or so of them assets and
liabilities with a latest valuation, which count in net worth), in the three ownership forms; written in bulk as the
owner role, every row through the database's triggers and checks. For a smoke run, shrink the knobs (e.g.
BENCH_NETWORTH_HOUSEHOLDS=300 BENCH_NETWORTH_MONTHS=12).
"""
from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tests.bench.common import BenchFirm, FakeLambdaContext, api_event, p50, pct, say

TARGETS = {"N1": 3.0, "N2": 1.5, "N3": 3.0, "N4": 2.0}
CHUNK = 1000

@dataclass
class NetworthResult:
    households: int
    months: int
    data: Any = None  # tests.bench.networth_data.DataResult
    group_products: int = 0
    group_people: int = 0
    history_rows: int = 0
    statement_bytes: int = 0  # the answer of POST .../networth-statements, as sent
    statement_wal: int = 0  # WAL bytes one statement writes (the row, its snapshot, its audit event, the commit)
    samples: dict[str, list[float]] = field(default_factory=dict)
    job_figures: dict[str, Any] = field(default_factory=dict)
    check: str = ""

    def p95(self, kind: str) -> float:
        return pct(self.samples[kind], 95)

    def ratio(self, kind: str, base: str) -> float:
        return self.p95(kind) / self.p95(base)

    def figures(self) -> list[tuple[str, str, str, float]]:
        """(figure, numerator, baseline, ratio) of the headline ratios."""
        return [("N1", "live", "live_bare", self.ratio("live", "live_bare")),
                ("N2", "statement", "live", self.ratio("statement", "live")),
                ("N3", "history", "history_bare", self.ratio("history", "history_bare")),
                ("N4", "job", "job_bare", self.ratio("job", "job_bare"))]


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _pick_household(firm: BenchFirm) -> tuple[UUID, int, int]:
    """The household with more than one person and the most holdings that count in net worth (managed and
    unmanaged products, items with a latest valuation): the largest answer, every ownership form in it."""
    from tests.conftest import owner_sql

    row = owner_sql(
        "SELECT g.id AS g, h.n AS holdings, (SELECT count(*) FROM client_group_product_owners m "
        "WHERE m.client_group_id = g.id) AS people FROM client_groups g CROSS JOIN LATERAL (SELECT "
        "(SELECT count(*) FROM products p WHERE p.client_group_id = g.id) "
        "+ (SELECT count(*) FROM unmanaged_products u WHERE u.client_group_id = g.id AND u.status = 'active') "
        "+ (SELECT count(*) FROM information_items i WHERE i.client_group_id = g.id "
        "   AND i.item_type = 'assets_liabilities' AND i.data_content ->> 'latest_valuation' IS NOT NULL) AS n) h "
        "WHERE g.firm_id = %s ORDER BY (SELECT count(*) FROM client_group_product_owners m "
        "WHERE m.client_group_id = g.id) > 1 DESC, h.n DESC, g.id LIMIT 1", (firm.id,))[0]
    return row["g"], row["holdings"], row["people"]


def _ten_years_of_snapshots(firm: BenchFirm, group: UUID) -> int:
    from tests.conftest import owner_sql

    owner_sql("INSERT INTO networth_snapshots (firm_id, client_group_id, snapshot_date, currency, assets, "
              "liabilities, net_worth) SELECT %s, %s, d::date, 'GBP', a, 0, a "
              "FROM generate_series(CURRENT_DATE - 3653, CURRENT_DATE - 1, interval '1 day') AS d "
              "CROSS JOIN LATERAL (SELECT round((100000 + random() * 900000)::numeric, 2) AS a) x "
              "ON CONFLICT DO NOTHING", (firm.id, group))
    owner_sql("VACUUM (ANALYZE) networth_snapshots")
    return owner_sql("SELECT count(*) AS n FROM networth_snapshots WHERE client_group_id = %s", (group,))[0]["n"]


def measure(app_module: Any, firm: BenchFirm, result: NetworthResult, *, rounds: int = 10,
            per_round: int = 20, job_rounds: int = 4) -> NetworthResult:
    import json

    from chalicelib.core import db
    from chalicelib.networth import service, store
    from tests.bench.overhead import ENTER_SQL, enter_params

    app, lctx, perf = app_module.app, FakeLambdaContext(), time.perf_counter
    group, result.group_products, result.group_people = _pick_household(firm)
    result.history_rows = _ten_years_of_snapshots(firm, group)
    headers = {"Authorization": f"Bearer {firm.token}"}
    live_event = api_event("GET", "/v1/client-groups/{group_id}/networth", {"group_id": str(group)}, headers)
    history_event = api_event("GET", "/v1/client-groups/{group_id}/networth/history", {"group_id": str(group)},
                              headers)
    history_event["queryStringParameters"] = {"range": "all"}
    history_event["multiValueQueryStringParameters"] = {"range": ["all"]}
    statement_event = api_event("POST", "/v1/client-groups/{group_id}/networth-statements", {"group_id": str(group)},
                                {**headers, "Content-Type": "application/json"}, body=json.dumps({"name": "Bench"}))
    entering = enter_params(firm.token)
    from psycopg import sql as psql

    live_sql = psql.SQL(store._LIVE).format(positions=store._positions(store._LIVE_DAY, "= %(group)s"),
                                            day=psql.SQL(store._LIVE_DAY),
                                            base=psql.SQL(store._BASE_CURRENCY).format(firm=psql.SQL("g.firm_id")))
    history_sql = psql.SQL(store._HISTORY).format(base=psql.SQL(store._BASE_CURRENCY).format(
        firm=psql.SQL("g.firm_id")))
    live_params = {"group": group, "as_of": None}
    history_params = {"group": group, "range": "all", "from": None, "to": None}

    def call(event: dict[str, Any], status: int) -> float:
        event = dict(event)
        event["requestContext"] = dict(event["requestContext"], requestId=str(uuid.uuid4()))
        t = perf()
        response = app(event, lctx)
        elapsed = perf() - t
        if response["statusCode"] != status:
            raise RuntimeError(f"{event['httpMethod']} {event['path']} answered {response['statusCode']}: "
                               f"{str(response.get('body'))[:300]}")
        return elapsed

    def bare(statements: list[tuple[Any, dict[str, Any]]], n: int, out: list[float]) -> None:
        with db.pool().connection() as conn, conn.transaction():
            conn.execute(ENTER_SQL, entering)
            for _ in range(n):
                t = perf()
                for query, params in statements:
                    if conn.execute(query, params).fetchone() is None:
                        raise RuntimeError("bare SQL found no row")
                out.append(perf() - t)

    def bare_tx(n: int, out: list[float]) -> None:
        with db.pool().connection() as conn:
            for _ in range(n):
                t = perf()
                with conn.transaction():
                    conn.execute(ENTER_SQL, entering)
                    conn.execute(live_sql, live_params).fetchone()
                out.append(perf() - t)

    from tests.conftest import owner_sql

    owner_sql("CREATE TABLE IF NOT EXISTS bench_durable_commit (x integer)")

    def durable_commit(n: int, out: list[float]) -> None:
        # What any write's COMMIT waits for on this machine: its WAL flushed (synchronous_commit on).
        with db.owner_connection(autocommit=False) as conn:
            for _ in range(n):
                t = perf()
                conn.execute("INSERT INTO bench_durable_commit VALUES (1)")
                conn.commit()
                out.append(perf() - t)

    steps = {
        "commit": durable_commit,
        "live": lambda n, o: o.extend(call(live_event, 200) for _ in range(n)),
        "live_bare": lambda n, o: bare([(live_sql, live_params)], n, o),
        "live_bare_tx": bare_tx,
        "statement": lambda n, o: o.extend(call(statement_event, 201) for _ in range(n)),
        "history": lambda n, o: o.extend(call(history_event, 200) for _ in range(n)),
        "history_bare": lambda n, o: bare([(history_sql, history_params), (live_sql, live_params)], n, o),
    }
    # The live answer equals what the engine makes of the bare statement's rows (the check that both read the
    # same thing).
    with db.pool().connection() as conn, conn.transaction():
        conn.execute(ENTER_SQL, entering)
        found = conn.execute(live_sql, live_params).fetchone()
    response = app(dict(live_event, requestContext=dict(live_event["requestContext"], requestId="check")), lctx)
    shown = json.loads(response["body"])
    expected = json.loads(json.dumps(service._answer(found), default=str))
    rows = sum(len(s["rows"]) for s in shown["sections"])
    result.check = (f"The handler's answer equals the engine's on the bare statement's rows: {shown == expected}; "
                    f"{rows} rows, {len(shown['owners'])} owners")
    say(f"networth: {result.check}")
    lsn = "SELECT pg_current_wal_insert_lsn() AS l"
    before = owner_sql(lsn)[0]["l"]
    made = app(dict(statement_event, requestContext=dict(statement_event["requestContext"], requestId="wal")), lctx)
    result.statement_wal = owner_sql(
        "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s::text::pg_lsn)::bigint AS n", (before,))[0]["n"]
    result.statement_bytes = len(made["body"].encode())
    for kind, step in steps.items():
        result.samples[kind] = []
        step(5, [])  # warm-up
    kinds = list(steps)
    for r in range(rounds):
        for kind in (kinds if r % 2 == 0 else kinds[::-1]):
            steps[kind](per_round, result.samples[kind])
        say(f"networth: round {r + 1}/{rounds}: " + ", ".join(
            f"{k} p50 {p50(result.samples[k]) * 1e3:.2f} ms" for k in kinds))
    _measure_job(result, job_rounds)
    for name, num, base, ratio in result.figures():
        say(f"networth: {name} {num} p95 {result.p95(num) * 1e3:.2f} ms / {base} p95 {result.p95(base) * 1e3:.2f} ms "
            f"= {ratio:.2f}x (target ≤ {TARGETS[name]:g}x)")
    return result


def _measure_job(result: NetworthResult, rounds: int) -> None:
    from chalicelib.core import db
    from chalicelib.networth import store
    from chalicelib.ops.jobs import run_job
    from tests.conftest import owner_sql

    day = owner_sql("SELECT CURRENT_DATE - 15 AS d")[0]["d"]
    bare_sql = store.snapshots_query().as_string(None).replace(
        "ON CONFLICT (client_group_id, snapshot_date) DO NOTHING", "")
    assert "ON CONFLICT" not in bare_sql

    def empty_day() -> None:
        owner_sql("DELETE FROM networth_snapshots WHERE snapshot_date = %s", (day,))
        owner_sql("DELETE FROM networth_firm_totals WHERE snapshot_date = %s", (day,))
        owner_sql("VACUUM (ANALYZE) networth_snapshots")

    def job() -> float:
        t = time.perf_counter()
        run = run_job("networth-snapshots", trigger="manual", date=day)
        elapsed = time.perf_counter() - t
        assert run.status == "succeeded" and run.figures["rows_written"] > 0, run
        result.job_figures = run.figures
        return elapsed

    def bare() -> float:
        with db.owner_connection() as conn:
            t = time.perf_counter()
            written = conn.execute(bare_sql, {"day": day}).rowcount
            elapsed = time.perf_counter() - t
        assert written > 0
        return elapsed

    result.samples["job"], result.samples["job_bare"] = [], []
    empty_day()
    for r in range(rounds):
        for kind, step in ((("job", job), ("job_bare", bare)) if r % 2 == 0 else (("job_bare", bare), ("job", job))):
            result.samples[kind].append(step())
            empty_day()
        say(f"networth: job round {r + 1}/{rounds}: job {result.samples['job'][-1]:.2f} s, bare "
            f"{result.samples['job_bare'][-1]:.2f} s")


def run(database: Any, app_module: Any, phases: list[str]) -> NetworthResult:
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service
    from tests.bench import common, networth_data
    from tests.bench.run import Phase

    households = _env_int("BENCH_NETWORTH_HOUSEHOLDS", 13_000)
    months = _env_int("BENCH_NETWORTH_MONTHS", 60)
    firm = common.make_firm(households)
    with Phase("loading the net worth data", phases):
        result = NetworthResult(households=households, months=months,
                                data=networth_data.load(firm, months, admin_url=database.admin_url))
    firm.token = service.login(RequestContext(), firm.admin["email"], common.PASSWORD).access_token
    with Phase("net worth figures", phases):
        return measure(app_module, firm, result)


# --- the report ------------------------------------------------------------------------------------------------------

def _ms(s: float) -> str:
    return f"{s * 1e3:,.2f} ms"


_NAMES = {
    "N1": "`GET /v1/client-groups/{id}/networth`: p95 handler / p95 bare SQL reading the same rows",
    "N2": "`POST /v1/client-groups/{id}/networth-statements`: p95 / p95 of the live answer (N1's handler)",
    "N3": "`GET .../networth/history?range=all`, ten years of daily snapshots: p95 handler / p95 bare SQL",
    "N4": "Job `networth-snapshots`, one day, every household: p95 / p95 of the bare INSERT ... SELECT",
}


def _s(s: float) -> str:
    return f"{s:,.3f} s"


def verdicts(n: NetworthResult) -> list[tuple[str, str, str, bool]]:
    out = []
    for name, num, base, ratio in n.figures():
        show = _s if name == "N4" else _ms
        out.append((f"{name}. {_NAMES[name]}", f"{ratio:.2f}x ({show(n.p95(num))} / {show(n.p95(base))})",
                    f"≤ {TARGETS[name]:g}x", ratio <= TARGETS[name]))
    return out


def render(n: NetworthResult) -> list[str]:
    from chalicelib.core.jsonutil import dumps

    out = ["## Net worth (part networth)\n",
           (f"A firm of {n.data.describe()} (loaded in {n.data.seconds:,.0f} s as the owner role: "
            f"tests/bench/networth_data.py). The household measured has {n.group_products} holdings that count "
            f"(products, accounts and valued items) and {n.group_people} people, and "
            f"{n.history_rows:,} daily snapshots for N3. Requests through the real handler in process, "
            f"{len(n.samples['live'])} of each kind in interleaved rounds; the job {len(n.samples['job'])} times "
            f"each way, alternating. {n.check}.\n"),
           "| Measurement | p50 | p95 | samples |", "|---|---|---|---|"]
    labels = {"commit": "a durable commit alone (one-row INSERT, COMMIT: the WAL flush any write waits for)",
              "live": "live net worth, handler", "live_bare": "live net worth, bare statement (firm entered once)",
              "live_bare_tx": "live net worth, bare transaction (BEGIN, enter the firm, statement, COMMIT)",
              "statement": "statement creation, handler", "history": "history range=all, handler",
              "history_bare": "history range=all, bare statements (firm entered once)",
              "job": "job networth-snapshots, one day (run_job)", "job_bare": "bare INSERT ... SELECT, one day"}
    for kind, label in labels.items():
        values = n.samples.get(kind, [])
        if values:
            show = _s if kind.startswith("job") else _ms
            out.append(f"| {label} | {show(p50(values))} | {show(pct(values, 95))} | {len(values)} |")
    out.append("")
    if n.samples.get("commit"):
        extra = p50(n.samples["statement"]) - p50(n.samples["live"])
        out.append(f"A statement is the live answer plus a durable write: its p50 exceeds the live answer's by "
                   f"{_ms(extra)}, of which a bare durable commit on this machine is {_ms(p50(n.samples['commit']))} "
                   f"(p95 {_ms(pct(n.samples['commit'], 95))}): the rest is the two inserts (the statement with "
                   f"its snapshot, its audit event) and the commit's larger WAL flush. One statement's answer is "
                   f"{n.statement_bytes:,} bytes of JSON (serialised once: stored as the snapshot and sent as the "
                   f"answer); it writes {n.statement_wal:,} bytes of WAL (its row and TOASTed snapshot, their index "
                   "entries, the household's key lock, the audit event and its index entries, the commit record: "
                   "no other statement or job ran then, autovacuum aside).\n")
    out.append(f"Live over the bare transaction: {n.ratio('live', 'live_bare_tx'):.2f}x. The job's figures (last "
               f"run, without each firm's part): `{dumps({k: v for k, v in n.job_figures.items() if k != 'by_firm'})}`."
               "\n")
    return out

