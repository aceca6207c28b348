"""The route manifest (chalicelib/routes.json): app.py registers every route from it without importing a domain,
so it must be exactly what the routes modules declare, and a route's module must load only when it is called."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def test_routes_check_passes_for_the_committed_manifest():
    from chalicelib.cli import main

    result = CliRunner().invoke(main, ["routes", "--check"])
    assert result.exit_code == 0, result.output
    assert "is current" in result.output


def test_routes_check_fails_on_a_stale_manifest(tmp_path, monkeypatch):
    from chalicelib import routes
    from chalicelib.cli import main

    entries = json.loads(routes.MANIFEST.read_text())
    stale = tmp_path / "routes.json"
    stale.write_text(json.dumps(entries[1:]))  # one route missing
    monkeypatch.setattr(routes, "MANIFEST", stale)
    result = CliRunner().invoke(main, ["routes", "--check"])
    assert result.exit_code == 1 and "stale" in result.output and "Traceback" not in result.output
    assert json.loads(stale.read_text()) == entries[1:]  # --check never writes


def test_every_routes_module_is_listed():
    from chalicelib import routes

    found = {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "chalicelib").rglob("routes.py")}
    assert found - {"chalicelib.routes"} == set(routes.MODULES)


def test_the_app_registers_exactly_the_manifest():
    """Every manifest route, and beside it one CORS preflight (OPTIONS) per path, which no routes module
    declares (core/edge.py answers it)."""
    import app
    from chalicelib.core.routing import preflight_name

    registered = {(method, path, entry.view_name) for path, methods in app.app.routes.items()
                  for method, entry in methods.items()}
    entries = json.loads((ROOT / "chalicelib" / "routes.json").read_text())
    manifest = {(e["method"], e["path"], e["name"]) for e in entries}
    preflights = {("OPTIONS", e["path"], preflight_name(e["path"])) for e in entries}
    assert len(preflights) == len({e["path"] for e in entries})  # one name per path
    assert registered == manifest | preflights
    assert not any(e["method"] == "OPTIONS" for e in entries)
    assert len(manifest) > 70
    assert {(s.method, s.path, s.name) for s in app.router.specs()} == manifest


PROBE = """
import json, sys
import app
from chalice.test import Client

def domains():
    return sorted(m for m in sys.modules if m.startswith("chalicelib.") and m.split(".")[1] != "core")

before = domains()
heavy = sorted(m for m in ("pydantic", "psycopg", "jwt") if m in sys.modules)
with Client(app.app) as client:
    status = client.http.get("/v1/docs").status_code
after = domains()
print(json.dumps({"before": before, "after": after, "status": status, "heavy_before": heavy}))
"""


def test_a_route_imports_only_its_own_domain_on_its_first_call():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**env, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == 200
    # import app: the manifest, the jobs table, no domain's routes, models or services
    assert report["before"] == ["chalicelib.ops", "chalicelib.ops.jobs", "chalicelib.routes"]
    assert report["heavy_before"] == []  # pydantic, psycopg and PyJWT load with the first route that needs them
    # GET /v1/docs: the system domain, and no other
    loaded = set(report["after"]) - set(report["before"])
    assert "chalicelib.system.routes" in loaded
    assert {m.split(".")[1] for m in loaded} == {"system"}


def test_a_stale_manifest_entry_fails_naming_the_fix():
    """A route the manifest lists but its module no longer declares cannot be served: it says what to run."""
    from chalicelib.core.routing import ManifestEntry, Router

    router = Router([ManifestEntry("GET", "/v1/gone", "gone", "chalicelib.system.routes")])
    with pytest.raises(LookupError, match="wealthdesk routes"):
        router.specs()
