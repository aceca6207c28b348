"""Figure 2: a cold start. A fresh process imports the app and answers ONE request, against a hello-world function.

    .venv/bin/python -m tests.bench.coldstart     # this figure alone: own embedded PostgreSQL, a small firm

The baseline is a hello-world Chalice app that imports chalice and psycopg and, for its one request, connects to
the same PostgreSQL as the API's role and runs `SELECT 1`. Each probe is a fresh interpreter that builds its API
Gateway event first (untimed), then times `import app` and `app.app(event, context)`: the import alone, and the
import plus the first request, which is what a Lambda cold start costs beyond starting the runtime. The app answers
one representative GET per domain (each its own fresh process), authenticated with a JWT, so each figure shows what
a cold start pays for that route. Every figure is a ratio of medians over the hello world measured in the same run,
interleaved, on the Python running the bench; with a Python 3.12 that has the dependencies (BENCH_PYTHON312,
.venv312/ with the dev dependencies, .venv-package/ with exactly what the Lambda zip holds), the headline pair is
measured on each of them too.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.common import REPO, BenchFirm, api_event, p50, say

# The probe: everything before t0 is untimed (the event is built by the harness and parsed here).
PROBE = """\
import json, os, sys, time
event = json.loads(os.environ["PROBE_EVENT"]) if os.environ.get("PROBE_EVENT") else None

class Context:
    function_name, function_version, memory_limit_in_mb = "wealthdesk-dev", "$LATEST", 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:wealthdesk-dev"
    aws_request_id, log_group_name, log_stream_name = "00000000-0000-0000-0000-000000000000", "bench", "bench"

    def get_remaining_time_in_millis(self):
        return 30000

t0, c0 = time.perf_counter(), time.process_time()
import app
t1, c1 = time.perf_counter(), time.process_time()
status = app.app(event, Context())["statusCode"] if event is not None else None
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import": t1 - t0, "first": t2 - t0, "cpu_import": c1 - c0, "cpu_first": c2 - c0,
                  "status": status, "modules": len(sys.modules)}))
"""

HELLO = '''"""Hello world: Chalice, and one SELECT 1 over psycopg for one request."""
import os

import psycopg
from chalice import Chalice

app = Chalice(app_name="hello")
_conn = None


@app.route("/hello")
def hello():
    global _conn
    if _conn is None:
        _conn = psycopg.connect(os.environ["HELLO_DATABASE_URL"], autocommit=True)
    return {"hello": _conn.execute("SELECT 1").fetchone()[0]}
'''

# (label, GET path) per domain; the first is the headline.
DOMAINS: list[tuple[str, str]] = [
    ("client groups", "/v1/client-groups"),
    ("users", "/v1/users"),
    ("catalogue (funds)", "/v1/funds"),
    ("products of a group", "/v1/client-groups/{group_id}/products"),
    ("IRR of a group", "/v1/client-groups/{group_id}/irr"),
    ("search", "/v1/search?q=smith"),
    ("audit events", "/v1/audit-events"),
    ("job runs", "/v1/ops/job-runs"),
    ("health (public, no JWT)", "/v1/health"),
]
HEADLINE = DOMAINS[0][0]


@dataclass
class Probe:
    """One kind of fresh process, run `runs` times."""

    label: str
    path: str | None  # the request, or None: import only
    imports: list[float] = field(default_factory=list)  # seconds for `import app`
    firsts: list[float] = field(default_factory=list)  # seconds from before the import to the first response
    cpu_imports: list[float] = field(default_factory=list)  # the same two, in CPU time of the process (steadier on
    cpu_firsts: list[float] = field(default_factory=list)  # a busy machine: waiting for a CPU is not counted)
    walls: list[float] = field(default_factory=list)  # the whole process, interpreter start and exit included
    modules: int = 0


@dataclass
class PythonLine:
    """The headline pair measured on another Python (3.12 when the bench runs on another)."""

    python: str
    executable: str
    note: str
    hello: Probe
    app: Probe

    @property
    def ratio(self) -> float:
        return p50(self.app.firsts) / p50(self.hello.firsts)

    @property
    def import_ratio(self) -> float:
        return p50(self.app.imports) / p50(self.hello.imports)

    @property
    def cpu_ratio(self) -> float:
        return p50(self.app.cpu_firsts) / p50(self.hello.cpu_firsts)


@dataclass
class ColdStartResult:
    runs: int
    python: str
    environment: dict[str, str]
    hello: Probe
    domains: list[Probe]
    others: list[PythonLine] = field(default_factory=list)
    other_note: str = ""
    importtime_top: list[tuple[str, int, int]] = field(default_factory=list)  # (module, cumulative µs, self µs)
    importtime_self_top: list[tuple[str, int, int]] = field(default_factory=list)
    command: str = ""

    @property
    def headline(self) -> Probe:
        return self.domains[0]

    @property
    def ratio(self) -> float:
        """The headline: import + first GET /v1/client-groups over the hello world's import + first request."""
        return p50(self.headline.firsts) / p50(self.hello.firsts)

    @property
    def import_ratio(self) -> float:
        return p50(self.headline.imports) / p50(self.hello.imports)

    def ratio_of(self, probe: Probe) -> float:
        return p50(probe.firsts) / p50(self.hello.firsts)

    def cpu_ratio_of(self, probe: Probe) -> float:
        return p50(probe.cpu_firsts) / p50(self.hello.cpu_firsts)


def _deployed_environment() -> dict[str, str]:
    """The variables every deployed stage sets (.chalice/config.json), so the probes run as Lambda would."""
    try:
        config = json.loads((REPO / ".chalice" / "config.json").read_text())
        stage = config["stages"]["dev"]["environment_variables"]
    except (OSError, ValueError, KeyError):
        return {}
    return {k: v for k, v in stage.items() if k == "PYDANTIC_DISABLE_PLUGINS"}


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYDANTIC_DISABLE_PLUGINS", "PROBE_EVENT"):
        env.pop(name, None)  # byte-code caches are used, as a deployed package has them
    env["LOG_LEVEL"] = "INFO"  # the request log line is part of the request
    env.update(extra)
    return env


def _run(python: str, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    t = time.perf_counter()
    out = subprocess.run([python, "-c", PROBE], cwd=cwd, env=env, check=True, capture_output=True, text=True,
                         timeout=120)
    wall = time.perf_counter() - t
    figures = json.loads(out.stdout.strip().splitlines()[-1])  # the app's log line comes first
    figures["wall"] = wall
    return figures


def _event(path: str, ids: dict[str, str], token: str | None) -> str:
    """An API Gateway proxy event for GET `path` (a resource template, `?query` allowed)."""
    resource, _, query = path.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&")) if query else None
    event = api_event("GET", resource, {k: v for k, v in ids.items() if "{" + k + "}" in resource},
                      {"Authorization": f"Bearer {token}"} if token else {})
    event["queryStringParameters"] = params
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in params.items()} if params else None
    return json.dumps(event)


class _Runner:
    def __init__(self, python: str, hello_dir: Path, env: dict[str, str]) -> None:
        self.python, self.hello_dir, self.env = python, hello_dir, env

    def once(self, probe: Probe, event: str | None) -> None:
        cwd = self.hello_dir if probe.label == "hello" else REPO
        env = {**self.env, "PROBE_EVENT": event} if event else self.env
        figures = _run(self.python, cwd, env)
        if event is not None and figures["status"] != 200:
            raise RuntimeError(f"{probe.label}: {probe.path} answered {figures['status']}")
        probe.imports.append(figures["import"])
        probe.firsts.append(figures["first"])
        probe.cpu_imports.append(figures["cpu_import"])
        probe.cpu_firsts.append(figures["cpu_first"])
        probe.walls.append(figures["wall"])
        probe.modules = figures["modules"]

    def interleaved(self, probes: list[tuple[Probe, str | None]], runs: int) -> None:
        for probe, event in probes:  # warm-up: byte-code caches written, files in the page cache
            self.once(Probe(probe.label, probe.path), event)
        for i in range(runs):
            for probe, event in (probes if i % 2 == 0 else list(reversed(probes))):
                self.once(probe, event)


def _python_version(python: str) -> str | None:
    """The version of `python` when it can import what the app needs, else None."""
    try:
        check = "import chalice, psycopg, psycopg_pool, pydantic, jwt, platform; print(platform.python_version())"
        out = subprocess.run([python, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def find_python312() -> list[tuple[str, str, str]]:
    """(executable, version, what it has) of each Python 3.12 with the app's dependencies found here."""
    candidates = [(os.environ.get("BENCH_PYTHON312", ""), "BENCH_PYTHON312"),
                  (str(REPO / ".venv312" / "bin" / "python"), "the dev dependencies"),
                  (str(REPO / ".venv-package" / "bin" / "python"), "what the Lambda zip holds (make package)")]
    found = []
    for python, note in candidates:
        if python and Path(python).exists():
            version = _python_version(python)
            if version and version.startswith("3.12"):
                found.append((python, version, note))
    return found


def _importtime(python: str, env: dict[str, str]) -> list[tuple[str, int, int]]:
    out = subprocess.run([python, "-X", "importtime", "-c", "import app"], cwd=REPO, env=env, check=True,
                         capture_output=True, text=True)
    rows = []
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s+(.*)$", line)
        if m:
            rows.append((m.group(3).strip(), int(m.group(2)), int(m.group(1))))
    return rows


def measure(firm: BenchFirm, runs: int = 11, other_runs: int = 7) -> ColdStartResult:
    """Every probe `runs` times, interleaved; the headline pair on Python 3.12 too when the bench runs elsewhere."""
    import platform

    from chalicelib.core import config

    extra = {**_deployed_environment(), "HELLO_DATABASE_URL": config.app_database_url()}
    env = _env(extra)
    group = str(firm.group_ids[0])
    result = ColdStartResult(runs=runs, python=platform.python_version(), environment=_deployed_environment(),
                             hello=Probe("hello", "/hello"),
                             domains=[Probe(label, path) for label, path in DOMAINS],
                             command=f"{Path(sys.executable).name} -m tests.bench.coldstart")
    with tempfile.TemporaryDirectory(prefix="wd-hello-") as tmp:
        hello_dir = Path(tmp)
        (hello_dir / "app.py").write_text(HELLO)
        runner = _Runner(sys.executable, hello_dir, env)
        probes: list[tuple[Probe, str | None]] = [(result.hello, _event("/hello", {}, None))]
        for probe in result.domains:
            token = None if probe.path == "/v1/health" else firm.token
            probes.append((probe, _event(probe.path, {"group_id": group}, token)))
        say(f"figure 2: cold start, {runs} fresh processes for each of {len(probes)} probes, interleaved "
            f"(Python {result.python})")
        runner.interleaved(probes, runs)
        result.importtime_top, result.importtime_self_top = _top(_importtime(sys.executable, env))

        others = find_python312() if not result.python.startswith("3.12") else []
        for python, version, note in others:
            say(f"figure 2: the headline pair on Python {version} ({python}), {other_runs} runs each")
            line = PythonLine(version, python, note, Probe("hello", "/hello"), Probe(HEADLINE, DOMAINS[0][1]))
            _Runner(python, hello_dir, env).interleaved([(line.hello, probes[0][1]), (line.app, probes[1][1])],
                                                        other_runs)
            result.others.append(line)
        if not others and not result.python.startswith("3.12"):
            result.other_note = ("no Python 3.12 with the dependencies found (BENCH_PYTHON312, .venv312/, "
                                 ".venv-package/): no 3.12 line")
    return result


def _top(rows: list[tuple[str, int, int]]) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    return (sorted(rows, key=lambda r: r[1], reverse=True)[:10], sorted(rows, key=lambda r: r[2], reverse=True)[:10])


def summary(result: ColdStartResult) -> list[str]:
    """The figures as lines of text (the standalone entry point prints them; report.py renders its own table)."""
    ms = lambda v: f"{p50(v) * 1e3:7.1f} ms"  # noqa: E731
    h = result.hello
    lines = [f"Python {result.python}, {result.runs} runs each, medians; environment {result.environment or 'as is'}",
             f"  hello world: import {ms(h.imports)}, import + first request {ms(h.firsts)}",
             f"  import app: {ms(result.headline.imports)} -> {result.import_ratio:.2f}x the hello world's import"]
    for probe in result.domains:
        lines.append(f"  first GET {probe.path:42} {ms(probe.firsts)} -> {result.ratio_of(probe):.2f}x "
                     f"(CPU time {result.cpu_ratio_of(probe):.2f}x)  {probe.label}")
    for o in result.others:
        lines.append(f"Python {o.python} ({o.note}): import {o.import_ratio:.2f}x, import + first GET "
                     f"{DOMAINS[0][1]} {o.ratio:.2f}x ({p50(o.app.firsts) * 1e3:.1f} ms / "
                     f"{p50(o.hello.firsts) * 1e3:.1f} ms; CPU time {o.cpu_ratio:.2f}x)")
    if result.other_note:
        lines.append(result.other_note)
    return lines


def main() -> int:
    os.chdir(REPO)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.bench import common
    from tests.bench.run import _prepare_environment

    _prepare_environment()
    runs = int(os.environ.get("BENCH_COLD_RUNS") or 11)
    database = common.start_database()
    try:
        firm = common.make_firm(int(os.environ.get("BENCH_HOUSEHOLDS") or 20), products=True)
        result = measure(firm, runs=runs)
    finally:
        database.stop()
    print(f"$ {result.command}")
    for line in summary(result):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
