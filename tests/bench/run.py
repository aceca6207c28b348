"""`make bench`: measure the three figures of the foundation issue in one run and write BENCHMARKS.md.

    .venv/bin/python -m tests.bench.run            # from the repository root

Self-contained: an embedded PostgreSQL in a temporary directory (unless DATABASE_URL is set), migrations, a firm
with 13,000 households, then: the API's overhead over the bare SQL (plus a cProfile of the handler), cold start
against a hello-world Chalice app, and 16 Lambda-like worker processes for 20 s. Progress goes to stderr.

Knobs for a quick look (the committed BENCHMARKS.md uses the defaults): BENCH_HOUSEHOLDS, BENCH_WORKERS,
BENCH_SECONDS, BENCH_ROUNDS, BENCH_OUTPUT (default BENCHMARKS.md at the repository root).
"""
from __future__ import annotations

import os
import secrets
import sys
import time
from datetime import datetime, timezone
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _prepare_environment() -> None:
    os.environ.setdefault("JWT_SECRET", "bench-" + secrets.token_urlsafe(32))
    os.environ["LOG_LEVEL"] = "INFO"  # the request log line is part of a request's cost
    os.environ["DB_POOL_MAX"] = "1"  # one connection per container, as in Lambda
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

    def __enter__(self) -> "Phase":
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

    from chalicelib.core.http import ROUTES

    models: set[type] = set()
    for spec in ROUTES:
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

    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    command = f"{os.path.relpath(sys.executable, repo) if sys.executable.startswith(str(repo)) else sys.executable}" \
              f" -m tests.bench.run"
    machine = common.machine()
    households = _env_int("BENCH_HOUSEHOLDS", 13_000)
    workers = _env_int("BENCH_WORKERS", 16)
    seconds = float(_env_int("BENCH_SECONDS", 20))
    rounds = _env_int("BENCH_ROUNDS", 80)
    output = Path(os.environ.get("BENCH_OUTPUT") or repo / "BENCHMARKS.md")
    common.say(f"machine: {machine}")

    database = common.start_database()
    try:
        firm = common.make_firm(households)
        phases: list[str] = []
        with Phase("figure 2 (cold start)", phases):
            cold = coldstart.measure(runs=15)
        common.say(f"figure 2: import app {p(cold.app)} vs hello {p(cold.hello)} -> {cold.ratio:.2f}x")

        import app as app_module

        common.quiet_request_log()
        facts = _app_facts()
        with Phase("figure 1 (API overhead)", phases):
            over = overhead.measure(app_module, firm, rounds=rounds, per_round=50)
        common.say(f"figure 1: handler p50 {over.p50('handler') * 1e6:.0f} µs, bare tx {over.p50('bare_tx') * 1e6:.0f}"
                   f" µs -> {over.ratio('handler', 'bare_tx'):.2f}x (bare SELECT {over.p50('bare_select') * 1e6:.0f}"
                   f" µs, test client {over.p50('test_client') * 1e6:.0f} µs)")
        prof = overhead.profile(app_module, firm, calls=2000)

        with Phase("figure 3 (scale, main run)", phases):
            main_run = scale.run(database, firm, workers=workers, duration=seconds, label="main")
        control = None
        cpus = os.cpu_count() or 1
        if cpus < workers:
            control = scale.run(database, firm, workers=cpus, duration=max(4.0, seconds / 2.5), label="control")

        elapsed = time.monotonic() - t0
        run = report.Run(command=command, started=started.strftime("%Y-%m-%d %H:%M UTC"), elapsed=elapsed,
                         machine=machine, postgres=database.version,
                         database_note="embedded, temporary data directory" if database.server is not None
                         else "DATABASE_URL", households=households, versions=_versions(), overhead=over,
                         profile=prof, cold=cold, scale=main_run, control=control, facts=facts,
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


def p(values: list[float]) -> str:
    from tests.bench.common import p50

    return f"{p50(values) * 1e3:.1f} ms"


if __name__ == "__main__":
    sys.exit(main())
