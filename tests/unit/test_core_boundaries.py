"""chalicelib/core is what every domain shares, so it imports none of them: not at import, and not to find the
routes (app.py hands the Router the manifest) or the jobs (chalicelib/ops/jobs.py names them by import path)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = sorted(f"chalicelib.core.{p.stem}" for p in (ROOT / "chalicelib" / "core").glob("*.py")
              if p.stem != "__init__")

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("chalicelib."))))
"""


def _imported_after(modules: list[str]) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *modules], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _domains(modules: list[str]) -> list[str]:
    return [m for m in modules if not m.startswith("chalicelib.core")]


def test_core_modules_import_no_domain_module():
    assert len(CORE) >= 10 and "chalicelib.core.routing" in CORE and "chalicelib.core.openapi" in CORE
    imported = _imported_after(CORE)
    assert set(CORE) <= set(imported)  # the probe really imported them
    assert _domains(imported) == []


def test_the_probe_reports_a_domain_module():
    """The probe itself must be able to fail: a domain imported next to core is reported."""
    assert "chalicelib.clients.routes" in _domains(_imported_after([*CORE, "chalicelib.clients.routes"]))
