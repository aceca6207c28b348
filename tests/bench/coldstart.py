"""Figure 2: time to `import app` in a fresh process, over the same for a hello-world Chalice app."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench.common import REPO, p50, say

PROBE = "import time; t=time.perf_counter(); import app; print(time.perf_counter()-t)"
# What-if probe: every pydantic model built on first use (defer_build), set before the app's models are defined.
DEFER_PROBE = ("import time; t=time.perf_counter(); import pydantic; "
               "pydantic.BaseModel.model_config['defer_build'] = True; import app; print(time.perf_counter()-t)")
HELLO = '''from chalice import Chalice

app = Chalice(app_name="hello")


@app.route("/")
def index():
    return {"hello": "world"}
'''


FLOOR = '''from chalice import Chalice
from pydantic import BaseModel


class Hello(BaseModel):
    hello: str


app = Chalice(app_name="hello")


@app.route("/")
def index():
    return Hello(hello="world").model_dump()
'''


@dataclass
class ColdStartResult:
    runs: int
    app: list[float] = field(default_factory=list)
    hello: list[float] = field(default_factory=list)
    app_process: list[float] = field(default_factory=list)  # whole `python -c` wall time, for context
    hello_process: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)  # hello world + one pydantic model: Chalice + pydantic's floor
    app_no_plugins: list[float] = field(default_factory=list)  # app with PYDANTIC_DISABLE_PLUGINS=1
    app_deferred: list[float] = field(default_factory=list)  # ... and defer_build=True on every model
    importtime_top: list[tuple[str, int, int]] = field(default_factory=list)  # (module, cumulative µs, self µs)
    importtime_self_top: list[tuple[str, int, int]] = field(default_factory=list)
    modules: dict[str, tuple[int, int]] = field(default_factory=dict)  # app's import: name -> (cumulative, self) µs
    module_count: int = 0
    hello_module_count: int = 0
    command: str = ""

    @property
    def ratio(self) -> float:
        return p50(self.app) / p50(self.hello)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYDANTIC_DISABLE_PLUGINS", None)
    env.update(extra or {})
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # byte-code caches, as a deployed package would have them
    return env


def _one(cwd: Path, extra: dict[str, str] | None = None, probe: str = PROBE) -> tuple[float, float]:
    import time

    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=_env(extra), check=True, capture_output=True,
                         text=True)
    wall = time.perf_counter() - t
    # the app logs to stdout only per request; import prints just the figure (the last line)
    return float(out.stdout.strip().splitlines()[-1]), wall


def _importtime(cwd: Path) -> list[tuple[str, int, int]]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=cwd, env=_env(), check=True,
                         capture_output=True, text=True)
    rows = []
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s+(.*)$", line)
        if m:
            rows.append((m.group(3).rstrip(), int(m.group(2)), int(m.group(1))))
    return rows


def measure(runs: int = 15) -> ColdStartResult:
    result = ColdStartResult(runs=runs, command=f"{Path(sys.executable).name} -c \"{PROBE}\"")
    with tempfile.TemporaryDirectory(prefix="wd-hello-") as tmp:
        hello = Path(tmp) / "hello"
        floor = Path(tmp) / "floor"
        for d, text in ((hello, HELLO), (floor, FLOOR)):
            d.mkdir()
            (d / "app.py").write_text(text)
        no_plugins = {"PYDANTIC_DISABLE_PLUGINS": "1"}
        variants = [(REPO, None, PROBE, result.app, result.app_process),
                    (hello, None, PROBE, result.hello, result.hello_process),
                    (floor, None, PROBE, result.floor, None),
                    (REPO, no_plugins, PROBE, result.app_no_plugins, None),
                    (REPO, no_plugins, DEFER_PROBE, result.app_deferred, None)]
        say(f"figure 2: cold start, {runs} fresh processes for each of {len(variants)} probes, interleaved")
        for cwd, extra, probe, _, _ in variants:  # warm-up: byte-code caches written, files in the page cache
            _one(cwd, extra, probe)
            _one(cwd, extra, probe)
        for i in range(runs):
            order = variants if i % 2 == 0 else list(reversed(variants))
            for cwd, extra, probe, imports, walls in order:
                t, wall = _one(cwd, extra, probe)
                imports.append(t)
                if walls is not None:
                    walls.append(wall)
        rows = _importtime(REPO)
        hello_rows = _importtime(hello)
    result.module_count = len(rows)
    result.hello_module_count = len(hello_rows)
    stripped = [(name.strip(), cum, own) for name, cum, own in rows]
    result.modules = {name: (cum, own) for name, cum, own in stripped}
    result.importtime_top = sorted(stripped, key=lambda r: r[1], reverse=True)[:10]
    result.importtime_self_top = sorted(stripped, key=lambda r: r[2], reverse=True)[:10]
    return result
