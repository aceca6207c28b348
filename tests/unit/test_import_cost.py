"""`import app` (what every Lambda cold start and every `chalice package` does) opens no connection, starts no
thread and pulls in none of the heavy libraries, not even pydantic or psycopg: those load with the first request
that needs them (routes are registered from the manifest; tests/contract/test_route_manifest.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["boto3", "botocore", "psycopg", "psycopg_pool", "jwt", "argon2", "yoyo", "numpy", "pydantic", "pydantic_core"]

PROBE = textwrap.dedent("""
    import json, socket, subprocess, sys, threading

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[1:] or kwargs))
        raise OSError("network access during import")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    def no_subprocess(*args, **kwargs):
        attempts.append("subprocess " + repr(args[:1]))
        raise OSError("subprocess during import")

    subprocess.Popen.__init__ = no_subprocess

    threads_before = threading.active_count()
    import app

    db = sys.modules.get("chalicelib.core.db")
    print(json.dumps({
        "attempts": attempts,
        "heavy": sorted(m for m in sys.modules if m.split(".")[0] in %(heavy)r),
        "threads": threading.active_count() - threads_before,
        "pools": len(db._pools) if db is not None else 0,
        "routes": len(app.app.routes),
    }))
""") % {"heavy": HEAVY}


@pytest.mark.parametrize("database_url", ["unset", "set"])
def test_import_app_does_no_io_and_no_heavy_imports(database_url):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "APP_DATABASE_URL", "DATABASE_SECRET_ARN", "DATABASE_OWNER_SECRET_ARN")}
    env["PYTHONPATH"] = str(ROOT)
    if database_url == "set":
        # A reachable-looking server: importing must not even try it.
        env["DATABASE_URL"] = "postgresql://wealthdesk_owner@127.0.0.1:5432/wealthdesk"
        env["DATABASE_SECRET_ARN"] = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:wealthdesk/dev/app"
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["attempts"] == [], "import app tried to connect or spawn"
    assert report["heavy"] == [], f"import app imported {report['heavy']}"
    assert report["threads"] == 0, "import app started a thread (a connection pool?)"
    assert report["pools"] == 0
    assert report["routes"] > 0  # the probe really imported the app


def test_the_probe_detects_a_heavy_import_and_a_connection():
    """The probe itself must be able to fail: importing a heavy module or connecting is reported."""
    probe = PROBE.replace("import app\n", "import app\nimport jwt\n"
                          "try:\n    socket.socket().connect(('127.0.0.1', 1))\nexcept OSError:\n    pass\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "jwt" in report["heavy"] and len(report["attempts"]) == 1
