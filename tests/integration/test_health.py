"""GET /v1/health: 200 with the schema status when the database answers, 503 problem+json (never 500) when not."""
from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import assert_problem

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "postgresql://x@127.0.0.1:1/x"  # port 1: nothing listens there


def _migration_files() -> list[Path]:
    return sorted(p for p in (ROOT / "migrations").glob("*.sql") if not p.name.endswith(".rollback.sql"))


def _reopen_app_pool() -> None:
    """Open the API pool again outside any test-client request, so it connects with the session's settings."""
    from chalicelib.core import db

    db.close_pools()
    with db.pool().connection(timeout=10) as conn:
        conn.execute("SELECT 1")


def test_health_ok(client):
    response = client.http.get("/v1/health")
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {"status": "ok", "database": "ok",
                                         "migrations": {"applied": len(_migration_files()), "pending": 0}}
    assert len(_migration_files()) >= 1


def test_health_needs_no_credentials_and_ignores_bad_ones(client):
    response = client.http.get("/v1/health", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 200
    assert response.json_body["status"] == "ok"


def test_health_reports_a_pending_migration(client, monkeypatch, tmp_path):
    """A migration file the database has not applied shows as pending (the service caches the file list)."""
    from chalicelib.system import service

    for p in (ROOT / "migrations").glob("*.sql"):
        (tmp_path / p.name).write_text(p.read_text())
    (tmp_path / "9999_not_yet.sql").write_text("SELECT 1;\n")
    (tmp_path / "9999_not_yet.rollback.sql").write_text("SELECT 1;\n")
    monkeypatch.setenv("MIGRATIONS_DIR", str(tmp_path))
    service._known_migrations.cache_clear()
    try:
        response = client.http.get("/v1/health")
    finally:
        monkeypatch.undo()
        service._known_migrations.cache_clear()
    assert response.status_code == 200
    assert response.json_body["migrations"] == {"applied": len(_migration_files()), "pending": 1}


def test_health_is_503_problem_json_when_the_database_is_unreachable(client, monkeypatch):
    from chalicelib.core import db

    monkeypatch.setenv("APP_DATABASE_URL", UNREACHABLE)
    db.close_pools()
    try:
        response = client.http.get("/v1/health")
    finally:
        monkeypatch.delenv("APP_DATABASE_URL")
        _reopen_app_pool()
    problem = assert_problem(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    assert problem["type"].endswith("/unavailable")
    text = response.body.decode()
    assert "Traceback" not in text and UNREACHABLE not in text and "127.0.0.1" not in text

    # And it recovers once the database is back.
    again = client.http.get("/v1/health")
    assert again.status_code == 200 and again.json_body["status"] == "ok"

