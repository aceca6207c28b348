"""The SnapStart hooks: registered only where the Lambda runtime offers them; before the snapshot every route's
domain is loaded and every model built; after a restore no pool survives and `random` is reseeded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import json, random, sys, types

    hooks = {"before": [], "after": []}
    if %(runtime)r:  # what Lambda's Python runtime provides
        fake = types.ModuleType("snapshot_restore_py")
        fake.register_before_snapshot = hooks["before"].append
        fake.register_after_restore = hooks["after"].append
        sys.modules["snapshot_restore_py"] = fake

    import app

    def domains():
        return sorted(m for m in sys.modules if m.startswith("chalicelib.") and m.split(".")[1] != "core")

    report = {"before_hooks": len(hooks["before"]), "after_hooks": len(hooks["after"]), "at_import": domains()}
    if hooks["before"]:
        from chalicelib.core.models import ApiModel
        hooks["before"][0]()
        report["after_snapshot"] = domains()
        todo, models = [ApiModel], []
        while todo:
            cls = todo.pop()
            todo.extend(cls.__subclasses__())
            models.append(cls)
        report["models"] = len(models)
        report["incomplete"] = sorted(c.__qualname__ for c in models if not c.__pydantic_complete__)
        report["libraries"] = sorted(m for m in ("jwt", "psycopg_pool", "argon2") if m in sys.modules)

        from chalicelib.core import db
        closed = []
        class FakePool:
            def close(self):
                closed.append(True)
        db._pools["app"] = FakePool()
        random.seed(1)
        snapshotted = random.random()
        random.seed(1)
        hooks["after"][0]()
        report["pools_closed"], report["pools_left"] = len(closed), len(db._pools)
        report["reseeded"] = random.random() != snapshotted
    print(json.dumps(report))
""")


def _run(runtime: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "APP_DATABASE_URL")}
    result = subprocess.run([sys.executable, "-c", PROBE % {"runtime": runtime}], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**env, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_the_lambda_runtime_no_hook_is_registered():
    report = _run(runtime=False)
    assert report["before_hooks"] == report["after_hooks"] == 0


def test_before_snapshot_loads_every_domain_and_builds_every_model():
    from chalicelib import routes

    report = _run(runtime=True)
    assert report["before_hooks"] == report["after_hooks"] == 1
    assert not set(routes.MODULES) & set(report["at_import"])  # registering the hooks loads nothing
    assert set(routes.MODULES) <= set(report["after_snapshot"])
    assert report["models"] > 100
    assert report["incomplete"] == [c for c in report["incomplete"] if c in ("Page",)]  # only the open generic
    assert report["libraries"] == ["argon2", "jwt", "psycopg_pool"]


def test_after_restore_closes_the_pools_and_reseeds_random():
    report = _run(runtime=True)
    assert report["pools_closed"] == 1 and report["pools_left"] == 0
    assert report["reseeded"]
