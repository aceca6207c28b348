"""`make bench`: measure every figure of BENCHMARKS.md in one run and write it.

    .venv/bin/python -m tests.bench.run            # from the repository root

Self-contained: an embedded PostgreSQL in a temporary directory (unless DATABASE_URL is set), migrations, a firm
with 13,000 households, then: the API's overhead over the bare SQL (plus a cProfile of the handler), cold start
against a hello-world Chalice app, and 16 Lambda-like worker processes for 20 s. Then the managed-products figures
(4-6) on a second firm of 1,300 households with about 3 million fund valuations (tests/bench/products.py):
group IRR through the API over the bare IRR arithmetic, recompute after a mid-history cash-flow edit over a full
recompute, and dashboard/summary reads while refresh-views runs. Progress goes to stderr.

Knobs for a quick look (the committed BENCHMARKS.md uses the defaults): BENCH_HOUSEHOLDS, BENCH_WORKERS,
BENCH_SECONDS, BENCH_ROUNDS, BENCH_PRODUCT_HOUSEHOLDS (default 1,300), BENCH_OVERVIEW_HOUSEHOLDS (default 1,300),
BENCH_LOGIN_ROUNDS (default 30), BENCH_PARTS (default every part,
"foundation,products,overview,fum,live,login,tenancy,jobruns,ratelimit,unmanaged,items,networth,backups,refreshviews,
retention,montecarlo":
"foundation" is figures 1-3, "products" figures 4-6, "overview" the household overview (tests/bench/overview.py),
"live" figures L1-L2 (the dashboard against the household summary, staleness under a writer: tests/bench/live.py,
its knobs BENCH_LIVE_*), "fum" the household list with money (tests/bench/fum.py, on a firm of BENCH_HOUSEHOLDS
households with BENCH_FUM_MONTHS month ends of history each, default 24), "login" the login figure (the login with
the atomic lockout over the login before it, tests/bench/login.py), "tenancy" figure 1 before and after the tenant was
bound to a verified principal, and each call's time waiting on PostgreSQL against the rest, for the handler and the
bare SQL (tests/bench/tenancy.py: two databases, BENCH_TENANCY_HOUSEHOLDS each, default 2,000), "jobruns" a
refresh-stale-views run recording each firm's part over the run before firms' parts
(tests/bench/jobruns.py, its knobs BENCH_JOBRUNS_*),
"ratelimit" figure 1 with each request counted against its rate limit and without (tests/bench/ratelimit.py,
a firm of BENCH_RATELIMIT_HOUSEHOLDS households, default 2,000),
"unmanaged" the unmanaged products' list with its summary and their current value kept by trigger
(tests/bench/unmanaged.py: BENCH_UNMANAGED_HOUSEHOLDS, default 2,000, BENCH_UNMANAGED_MONTHS, default 60),
"items" the information items' q and the cost of their search words (tests/bench/items.py, on a firm of
BENCH_ITEMS_HOUSEHOLDS households, default 300, with BENCH_ITEMS_PER_HOUSEHOLD items each, default 30),
"networth" figures N1-N4 (tests/bench/networth.py: a firm of BENCH_NETWORTH_HOUSEHOLDS households, default
13,000, with about ten products or accounts and 30 information items each and BENCH_NETWORTH_MONTHS month ends
of valuations, default 60), "backups" the backup and verification
jobs over bare pg_dump and pg_restore on a database of about 1 GB (tests/bench/backups.py: BENCH_BACKUP_HOUSEHOLDS,
default 1,000, BENCH_BACKUP_ROUNDS, default 3), "refreshviews" refresh-views at 13,000 households and a dashboard reader
meanwhile (tests/bench/refreshviews.py: BENCH_REFRESHVIEWS_HOUSEHOLDS, default 13,000, _MONTHS, default 12, _ROUNDS,
default 3), "retention" the retention
job deleting and archiving over one bare DELETE (tests/bench/retention.py: BENCH_RETENTION_ROWS, default 100,000,
BENCH_RETENTION_ROUNDS, default 3), "montecarlo" the plan simulation (tests/bench/montecarlo.py: the engine alone,
no database; BENCH_MC_ROUNDS, default 3); any of them alone), BENCH_OUTPUT (default
BENCHMARKS.md at the repository root).
"""
from __future__ import annotations

import gc
import os
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _prepare_environment() -> None:
    os.environ.setdefault("JWT_SECRET", "bench-" + secrets.token_urlsafe(32))
    os.environ["LOG_LEVEL"] = "INFO"  # the request log line is part of a request's cost
    os.environ["DB_POOL_MAX"] = "1"  # one connection per container, as in Lambda
    # One user makes thousands of requests a minute here: every rate limit is raised so that each request is still
    # counted (the part "ratelimit" measures what that costs) but none is refused.
    os.environ["RATE_LIMIT_SCALE"] = "1000000"
    for name in ("DATABASE_SECRET_ARN", "DATABASE_OWNER_SECRET_ARN", "APP_DATABASE_URL", "JWT_SECRET_ARN"):
        os.environ.pop(name, None)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("chalice", "psycopg", "psycopg-pool", "pydantic", "PyJWT"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


class Phase:
    """Machine-wide CPU use while one figure ran (/proc/stat): how busy the shared machine was."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def __enter__(self) -> Phase:
        from tests.bench.scale import _proc_stat

        self.t0, self.s0 = time.monotonic(), _proc_stat()
        return self

    def __exit__(self, *exc: object) -> None:
        from tests.bench.scale import _proc_stat

        s1 = _proc_stat()
        total = s1[2] - self.s0[2]
        if total > 0:
            ncpu = os.cpu_count() or 1
            busy, steal = (s1[0] - self.s0[0]) / total, (s1[1] - self.s0[1]) / total
            self.log.append(f"{self.name}: {time.monotonic() - self.t0:.0f} s, machine CPU busy {busy:.0%} of "
                            f"{ncpu} CPUs (steal {steal:.0%})")


def _app_facts() -> dict[str, int]:
    """What the report's advice depends on: how many of the routes' pydantic models build lazily."""
    from pydantic import BaseModel

    from app import router

    models: set[type] = set()
    for spec in router.specs():
        for m in (spec.body, spec.query, spec.response):
            if isinstance(m, type) and issubclass(m, BaseModel):
                models.add(m)
    return {"route_models": len(models),
            "deferred_models": sum(1 for m in models if m.model_config.get("defer_build"))}


def main() -> int:
    repo = Path(__file__).resolve().parents[2]
    os.chdir(repo)
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    _prepare_environment()
    from tests.bench import coldstart, common, overhead, report, scale

    started = datetime.now(UTC)
    t0 = time.monotonic()
    command = (f"{os.path.relpath(sys.executable, repo) if sys.executable.startswith(str(repo)) else sys.executable}"
               f" -m tests.bench.run")
    machine = common.machine()
    households = _env_int("BENCH_HOUSEHOLDS", 13_000)
    workers = _env_int("BENCH_WORKERS", 16)
    seconds = float(_env_int("BENCH_SECONDS", 20))
    rounds = _env_int("BENCH_ROUNDS", 80)
    output = Path(os.environ.get("BENCH_OUTPUT") or repo / "BENCHMARKS.md")
    common.say(f"machine: {machine}")

    product_households = _env_int("BENCH_PRODUCT_HOUSEHOLDS", 1_300)
    default_parts = ("foundation,products,overview,fum,live,login,tenancy,jobruns,ratelimit,unmanaged,items,"
                     "networth,backups,refreshviews,retention,montecarlo")
    parts = {x.strip() for x in (os.environ.get("BENCH_PARTS") or default_parts).split(",")
             if x.strip()}
    database = common.start_database()
    try:
        phases: list[str] = []
        firm = over = prof = cold = main_run = control = None
        facts: dict[str, int] = {}
        if "foundation" in parts:
            firm = common.make_firm(households)
            with Phase("figure 2 (cold start)", phases):
                cold = coldstart.measure(firm, runs=11)
            for line in coldstart.summary(cold):
                common.say(f"figure 2: {line}")

        import app as app_module

        common.quiet_request_log()
        if "foundation" in parts:
            facts = _app_facts()
            with Phase("figure 1 (API overhead)", phases):
                over = overhead.measure(app_module, firm, rounds=rounds, per_round=50)
            common.say(f"figure 1: handler p50 {over.p50('handler') * 1e6:.0f} µs, bare tx "
                       f"{over.p50('bare_tx') * 1e6:.0f} µs -> {over.ratio('handler', 'bare_tx'):.2f}x (bare SELECT "
                       f"{over.p50('bare_select') * 1e6:.0f} µs, test client {over.p50('test_client') * 1e6:.0f} µs)")
            prof = overhead.profile(app_module, firm, calls=2000)

            with Phase("figure 3 (scale, main run)", phases):
                main_run = scale.run(database, firm, workers=workers, duration=seconds, label="main")
            cpus = os.cpu_count() or 1
            if cpus < workers:
                control = scale.run(database, firm, workers=cpus, duration=max(4.0, seconds / 2.5), label="control")

        tenancy_result = None
        if "tenancy" in parts:
            from tests.bench import tenancy

            with Phase("tenancy (figure 1 before and after)", phases):
                tenancy_result = tenancy.measure(app_module, database,
                                                 _env_int("BENCH_TENANCY_HOUSEHOLDS", 2_000), rounds=rounds)
            common.say(tenancy.summary_line(tenancy_result))

        ratelimit_result = None
        if "ratelimit" in parts:
            from tests.bench import ratelimit

            with Phase("ratelimit (figure 1 counted and uncounted)", phases):
                ratelimit_result = ratelimit.measure(app_module, _env_int("BENCH_RATELIMIT_HOUSEHOLDS", 2_000),
                                                     rounds=rounds)
            common.say(ratelimit.summary_line(ratelimit_result))

        products_result = None
        firm = None  # the first firm's 13,000 ids and the rest: not this part's, and the collector walks them
        gc.collect()
        if "products" in parts:
            products_result = _products(database, app_module, product_households, phases)
        overview_result = None
        if "overview" in parts:
            gc.collect()
            overview_result = _overview(database, app_module, _env_int("BENCH_OVERVIEW_HOUSEHOLDS", 1_300), phases)
        live_result = None
        if "live" in parts:  # figures L1-L2, a firm of its own (tests/bench/live.py)
            from tests.bench import live

            live_result = live.run(database, app_module, phases)

        fum_result = None
        gc.collect()
        if "fum" in parts:
            fum_result = _fum(database, app_module, households, _env_int("BENCH_FUM_MONTHS", 24), phases)

        networth_result = None
        if "networth" in parts:  # figures N1-N4, a firm of its own (tests/bench/networth.py)
            from tests.bench import networth

            gc.collect()
            networth_result = networth.run(database, app_module, phases)

        login_result = None
        if "login" in parts:
            from tests.bench import login

            with Phase("login", phases):
                login_result = login.measure(rounds=_env_int("BENCH_LOGIN_ROUNDS", 30))
            common.say(f"login: p95 {login_result.ratio():.3f}x the login before the reservation "
                       f"(wrong password {login_result.ratio('wrong'):.3f}x)")

        jobruns_result = None
        if "jobruns" in parts:  # each firm's part of a job run (tests/bench/jobruns.py)
            from tests.bench import jobruns

            with Phase("job runs (firms' parts)", phases):
                jobruns_result = jobruns.measure()
            common.say(jobruns.summary_line(jobruns_result))
        unmanaged_result = None
        if "unmanaged" in parts:
            gc.collect()
            unmanaged_result = _unmanaged(app_module, _env_int("BENCH_UNMANAGED_HOUSEHOLDS", 2_000),
                                          _env_int("BENCH_UNMANAGED_MONTHS", 60), phases)
        items_result = None
        if "items" in parts:
            gc.collect()
            items_result = _items(app_module, _env_int("BENCH_ITEMS_HOUSEHOLDS", 300),
                                  _env_int("BENCH_ITEMS_PER_HOUSEHOLD", 30), phases)

        backups_result = None
        if "backups" in parts:  # the backup and verification jobs over pg_dump and pg_restore (tests/bench/backups.py)
            from tests.bench import backups

            with Phase("backups", phases):
                backups_result = backups.measure(database, _env_int("BENCH_BACKUP_HOUSEHOLDS", backups.HOUSEHOLDS),
                                                 _env_int("BENCH_BACKUP_ROUNDS", 3))
            common.say(backups.summary_line(backups_result))

        refreshviews_result = None
        if "refreshviews" in parts:  # refresh-views at 100x the firm, and a reader (tests/bench/refreshviews.py)
            from tests.bench import refreshviews

            gc.collect()
            refreshviews_result = refreshviews.run(database, app_module, phases)

        retention_result = None
        if "retention" in parts:  # the retention job over one bare DELETE (tests/bench/retention.py)
            from tests.bench import retention

            with Phase("retention", phases):
                retention_result = retention.measure(_env_int("BENCH_RETENTION_ROWS", 100_000),
                                                     _env_int("BENCH_RETENTION_ROUNDS", 3))
            common.say(retention.summary_line(retention_result))

        montecarlo_result = None
        if "montecarlo" in parts:  # the plan simulation, the engine alone (tests/bench/montecarlo.py)
            from tests.bench import montecarlo

            with Phase("montecarlo (plan simulation)", phases):
                montecarlo_result = montecarlo.measure()
            common.say(montecarlo.summary_line(montecarlo_result))

        elapsed = time.monotonic() - t0
        run = report.Run(command=command, started=started.strftime("%Y-%m-%d %H:%M UTC"), elapsed=elapsed,
                         machine=machine, postgres=database.version,
                         database_note="embedded, temporary data directory" if database.server is not None
                         else "DATABASE_URL", households=households, versions=_versions(), overhead=over,
                         profile=prof, cold=cold, scale=main_run, control=control, facts=facts,
                         products=products_result, overview=overview_result, live=live_result, fum=fum_result,
                         login=login_result, tenancy=tenancy_result, jobruns=jobruns_result, ratelimit=ratelimit_result,
                         unmanaged=unmanaged_result, items=items_result, networth=networth_result,
                         backups=backups_result, refreshviews=refreshviews_result, retention=retention_result,
                         montecarlo=montecarlo_result,
                         notes=["Machine load while each figure ran (the whole machine, this harness included): "
                                + "; ".join(phases) + "."])
        output.write_text(report.render(run))
        common.say(f"wrote {output}")
        for name, measured, target, ok in report.verdicts(run):
            print(f"{'PASS' if ok else 'FAIL'}  {name}: {measured} (target {target})", file=sys.stderr)
        common.say(f"done in {elapsed:.0f} s")
    finally:
        database.stop()
    return 0


def _products(database: Any, app_module: object, households: int, phases: list[str]) -> object:
    """The managed-products part: a second firm with products, then figures 4-6 (tests/bench/products.py)."""
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service
    from tests.bench import common, products, products_data

    firm = common.make_firm(households)
    with Phase("loading the products data", phases):
        load = products_data.load(firm, admin_url=database.admin_url)
    # a fresh access token: loading takes minutes and the first one was issued before it
    firm.token = service.login(RequestContext(), firm.admin["email"], common.PASSWORD).access_token
    with Phase("figure 4 (group IRR)", phases):
        group = products.measure_group_irr(app_module, firm)
    with Phase("figure 5 (recompute after an edit)", phases):
        recompute = products.measure_recompute(app_module, firm)
        common.say(f"figure 5: {recompute.history_check}")
    with Phase("figure 6 (reads while refresh-views runs)", phases):
        refresh = products.measure_refresh(app_module, firm, database)
    f = refresh
    common.say(f"figure 6: p95 without refresh {pct_ms(f.all_reads('off'))}, with refresh-views running "
               f"{pct_ms(f.all_reads('concurrently'))}; reader lock waits {f.lock_waits('concurrently')} "
               f"(control, plain REFRESH: {f.lock_waits('plain')}); "
               f"{len(f.refreshes.get('concurrently', []))} refreshes")
    return products.ProductsResult(households=households, load=load, group_irr=group, recompute=recompute,
                                   refresh=refresh)


def _overview(database: Any, app_module: object, households: int, phases: list[str]) -> object:
    """The household overview part: a firm with products, its largest household, then the figure
    (tests/bench/overview.py)."""
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service
    from tests.bench import common, overview, products_data

    firm = common.make_firm(households)
    with Phase("loading the overview data", phases):
        load = products_data.load(firm, seed=5, admin_url=database.admin_url)
        group, size = overview.build_largest(firm)
    firm.token = service.login(RequestContext(), firm.admin["email"], common.PASSWORD).access_token
    with Phase("household overview", phases):
        return overview.measure(app_module, firm, group, load, size)


def _fum(database: Any, app_module: object, households: int, months: int, phases: list[str]) -> object:
    """The household list with money: a firm of its own with products and valuations, then tests/bench/fum.py."""
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service
    from tests.bench import common, fum, products_data

    firm = common.make_firm(households)
    with Phase("loading the fum data", phases):
        load = products_data.load(firm, admin_url=database.admin_url, months=months)
    firm.token = service.login(RequestContext(), firm.admin["email"], common.PASSWORD).access_token
    with Phase("the household list with money", phases):
        return fum.measure(app_module, firm, load, months)


def _unmanaged(app_module: object, households: int, months: int, phases: list[str]) -> object:
    """Unmanaged products: a firm of its own with managed and unmanaged products, then tests/bench/unmanaged.py."""
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service
    from tests.bench import common, unmanaged

    firm = common.make_firm(households)
    with Phase("loading the unmanaged data", phases):
        result = unmanaged.load(firm, months)
    firm.token = service.login(RequestContext(), firm.admin["email"], common.PASSWORD).access_token
    with Phase("unmanaged products (U1-U2)", phases):
        unmanaged.measure_list(app_module, firm, result)
        unmanaged.measure_bulk(firm, result)
    return result


def _items(app_module: object, households: int, per_household: int, phases: list[str]) -> object:
    """The information items part: a firm of its own, then tests/bench/items.py."""
    from tests.bench import common, items

    firm = common.make_firm(households)
    with Phase("information items", phases):
        return items.measure(app_module, firm, per_household, large=300)


def pct_ms(values: list[float]) -> str:
    from tests.bench.common import pct

    return f"{pct(values, 95) * 1e3:.2f} ms"


def p(values: list[float]) -> str:
    from tests.bench.common import p50

    return f"{p50(values) * 1e3:.1f} ms"


if __name__ == "__main__":
    sys.exit(main())
