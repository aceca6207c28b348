"""The `wealthdesk` command: serve, migrate, firm, demo, job, backup, verify-backup, backups, restore, openapi,
schema.

Every command uses the same database as `serve`: DATABASE_URL when set, else the embedded server under
.wealthdesk/pg (attached to, not restarted, while `serve` runs).
"""
from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

DEMO_ADMIN_EMAIL = "admin@kingston-demo.co.uk"


def _echo_progress(message: str) -> None:
    click.echo(message, err=True)


def _prepare(local_secret: bool = True) -> None:
    """Database URL and, locally, the JWT signing secret and the TOTP encryption key persisted under .wealthdesk."""
    from chalicelib.core import embedded

    embedded.ensure_database_url()
    for variable, filename in (("JWT_SECRET", "jwt-secret"), ("TOTP_KEY", "totp-key")):
        if local_secret and not os.environ.get(variable) and not os.environ.get(variable + "_ARN"):
            path = embedded.home() / filename
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(secrets.token_urlsafe(48))
                path.chmod(0o600)
            os.environ[variable] = path.read_text().strip()


def _write_or_check(path: Path, text: str, check: bool, command: str,
                    why_stale: Callable[[str], str] | None = None) -> None:
    """A generated file kept in the repository: write it, or with --check fail when the committed one differs."""
    if check:
        current = path.read_text() if path.exists() else ""
        if current != text:
            detail = why_stale(current) if why_stale else ""
            raise click.ClickException(f"{path.name} is stale: run `wealthdesk {command}` and commit it{detail}")
        click.echo(f"{path.name} is current")
        return
    path.write_text(text)
    click.echo(f"wrote {path}")


@click.group()
def main() -> None:
    """wealthdesk: the back end for wealth-advisory firms."""


def _one_request_at_a_time(idle_timeout: float = 30.0) -> Any:
    """The dev server's class: a thread per connection, one request handled at a time, like a Lambda container.

    Chalice keeps the current request on the app object, so two requests must never run at once; but a browser
    holds several keep-alive connections (the docs page loads its assets in parallel), which a single-threaded
    server would serve one connection after another, leaving the page waiting on an idle connection. A connection
    idle for `idle_timeout` seconds is closed. Accepted sockets set TCP_NODELAY: Chalice writes a response's
    headers and body separately, and without it the body waits for the client's delayed ACK (about 40 ms on
    Linux) on every keep-alive request.
    """
    import functools
    import socket
    import threading
    from http.server import ThreadingHTTPServer

    from chalice.local import ChaliceRequestHandler

    one_at_a_time = threading.Lock()

    class Handler(ChaliceRequestHandler):
        timeout = idle_timeout  # socket timeout: an idle keep-alive connection ends (BaseHTTPRequestHandler)

        def _generic_handle(self) -> None:
            with one_at_a_time:
                super()._generic_handle()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def __init__(self, address: Any, handler: Any) -> None:
            super().__init__(address, functools.partial(Handler, *handler.args, **handler.keywords))

        def get_request(self) -> Any:
            sock, address = super().get_request()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock, address

    return Server


@main.command()
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "8000")), show_default="8000 or $PORT")
@click.option("--no-demo", is_flag=True, help="Do not load the demo firm into an empty database.")
def serve(port: int, no_demo: bool) -> None:
    """Start the API on http://127.0.0.1:PORT (database up, migrations applied, demo firm when empty), with the
    jobs scheduled every minute and the plan-run worker running in the background."""
    _prepare()
    from chalicelib.core import migrations

    applied = migrations.apply(_echo_progress)
    click.echo(f"migrations: {len(applied)} applied, schema current", err=True)
    if not no_demo:
        _ensure_demo_firm()
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from app import app
    from chalicelib.core import db

    config = Config.create(chalice_stage="local", app_name="wealthdesk", chalice_app=app)
    server = LocalDevServer(app, config, host="127.0.0.1", port=port, server_cls=_one_request_at_a_time())
    click.echo(f"wealthdesk API on http://127.0.0.1:{port}/v1 (docs: http://127.0.0.1:{port}/v1/docs); "
               "Ctrl-C stops it", err=True)
    import signal

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM stops cleanly too (the database is stopped at exit)

    signal.signal(signal.SIGTERM, _terminate)
    import threading

    from chalicelib.ops.jobs import run_rate_jobs
    from chalicelib.planning.runs.worker import poll_forever

    stop = threading.Event()  # the jobs scheduled every minute run here as EventBridge runs them in AWS
    jobs = threading.Thread(target=run_rate_jobs, args=(stop,), name="wealthdesk-jobs", daemon=True)
    jobs.start()
    # Plan simulations run here as the SQS-triggered function runs them in AWS (a thread: one run at a time).
    plan_runs = threading.Thread(target=poll_forever, args=(stop,), name="wealthdesk-plan-runs", daemon=True)
    plan_runs.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopping the API and the database", err=True)
    finally:
        stop.set()
        jobs.join(timeout=30)
        plan_runs.join(timeout=30)
        db.close_pools()


def _credentials_path() -> Path:
    from chalicelib.core import embedded

    return embedded.home() / "demo-credentials.json"


def _ensure_demo_firm() -> None:
    """Load the demo firm into an empty database and print how to log in (kept in .wealthdesk, local only)."""
    from chalicelib.firms import service

    firms = service.firm_count()
    path = _credentials_path()
    if firms == 0:
        creds = _create_demo_firm(households=130)
        path.write_text(json.dumps(creds, indent=2))
        path.chmod(0o600)
        _refresh_views()
    if path.exists():
        creds = json.loads(path.read_text())
        click.echo("demo firm: " + creds["firm_name"], err=True)
        click.echo(f"  admin email:    {creds['email']}", err=True)
        click.echo(f"  admin password: {creds['password']}", err=True)
        click.echo(f"  API key:        {creds['api_key']}", err=True)
    elif firms:
        click.echo(f"{firms} firm(s) in the database; no demo credentials on file", err=True)


def _create_demo_firm(households: int) -> dict[str, Any]:
    """The demo firm, its admin, two advisers, an API key and households: all or nothing."""
    import uuid

    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service
    from chalicelib.firms.models import ApiKeyCreateIn, UserCreateIn

    name = "Kingston Wealth (demo)"
    firm_id = uuid.uuid4()
    ctx = RequestContext.system(firm_id)
    with db.transaction(ctx):  # the calls below join this transaction
        _, admin, password = service.create_firm(name, DEMO_ADMIN_EMAIL, "Demo Admin", None, firm_id=firm_id)
        advisers = []
        for email, adviser in (("sarah.whitfield@kingston-demo.co.uk", "Sarah Whitfield"),
                               ("tom.ashby@kingston-demo.co.uk", "Tom Ashby")):
            user, _ = service.create_user(ctx, UserCreateIn(email=email, name=adviser, role="adviser"))
            advisers.append(user["id"])
        key = service.create_api_key(ctx, ApiKeyCreateIn(name="demo", scopes=["read", "write"]),
                                     created_by=admin["id"])["key"]
        _load_demo(firm_id, households, advisers)
    return {"firm_id": str(firm_id), "firm_name": name, "email": DEMO_ADMIN_EMAIL, "password": password,
            "api_key": key}


def _load_demo(firm_id: Any, households: int, advisers: list[Any]) -> dict[str, int]:
    from chalicelib import demo

    if sys.stderr.isatty():
        with click.progressbar(length=households, label="demo households", file=sys.stderr) as bar:
            return demo.load(firm_id, households, advisers, progress=bar.update)
    return demo.load(firm_id, households, advisers)


def _refresh_views() -> None:
    """The dashboard and summaries read materialized views: refresh them after loading demo data."""
    from chalicelib.ops.jobs import run_job

    run_job("refresh-views", trigger="manual")


@main.command()
@click.option("--status", "show_status", is_flag=True, help="Show applied and pending migrations; change nothing.")
@click.option("--rollback", type=int, default=None, metavar="N", help="Roll back the last N migrations.")
def migrate(show_status: bool, rollback: int | None) -> None:
    """Apply pending migrations (yoyo, under its lock; safe to run twice)."""
    _prepare(local_secret=False)
    from chalicelib.core import migrations

    try:
        if show_status:
            st = migrations.status()
            click.echo(json.dumps({"applied": st.applied, "pending": st.pending, "pending_ids": st.pending_ids}))
            return
        if rollback is not None:
            if rollback < 1:
                raise click.BadParameter("N must be at least 1", param_hint="--rollback")
            done = migrations.rollback(rollback, _echo_progress)
            click.echo(json.dumps({"rolled_back": done}))
            return
        done = migrations.apply(_echo_progress)
        click.echo(json.dumps({"applied": done}))
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def firm() -> None:
    """Firms (tenants)."""


@firm.command("create")
@click.option("--name", required=True)
@click.option("--admin-email", required=True)
@click.option("--admin-name", default="Administrator", show_default=True)
@click.option("--base-currency", default="GBP", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the admin's password from stdin (else one is generated).")
def firm_create(name: str, admin_email: str, admin_name: str, base_currency: str, password_stdin: bool) -> None:
    """Create a firm and its first admin; prints the firm id (and the generated password)."""
    from pydantic import TypeAdapter, ValidationError

    from chalicelib.core import errors
    from chalicelib.firms import service
    from chalicelib.firms.models import UserCreateIn

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        UserCreateIn(email=admin_email, name=admin_name, role="admin", password=password)
        TypeAdapter(str).validate_python(base_currency)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.ClickException(problems) from None
    if len(base_currency) != 3 or not base_currency.isupper():
        raise click.BadParameter("an ISO 4217 code such as GBP", param_hint="--base-currency")
    _prepare()
    from chalicelib.core import migrations

    migrations.apply(_echo_progress)
    try:
        created, admin, generated = service.create_firm(name, admin_email, admin_name, password, base_currency)
    except errors.ApiError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(json.dumps({"firm_id": str(created["id"]), "admin_id": str(admin["id"]),
                           "admin_email": admin["email"], **({"password": generated} if generated else {})}))


@firm.command("rate-limit-tier")
@click.argument("firm_id", required=False)
@click.argument("tier", required=False)
def firm_rate_limit_tier(firm_id: str | None, tier: str | None) -> None:
    """Give FIRM_ID the rate-limit TIER (how many requests a minute each of its users and API keys may make);
    without arguments, list the tiers and their figures."""
    import uuid

    from chalicelib.core import errors
    from chalicelib.firms import service

    _prepare()
    if firm_id is None:
        click.echo(json.dumps(service.rate_limit_tiers(), indent=2))
        return
    if tier is None:
        raise click.UsageError("name the TIER (run without arguments to list them)")
    try:
        found = uuid.UUID(firm_id)
    except ValueError:
        raise click.BadParameter("a firm id (UUID)", param_hint="FIRM_ID") from None
    try:
        updated = service.set_rate_limit_tier(found, tier)
    except errors.ApiError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(json.dumps({"firm_id": str(updated["id"]), "rate_limit_tier": updated["rate_limit_tier"]}))


@main.command()
@click.option("--households", type=click.IntRange(1, 1_000_000), default=130, show_default=True)
@click.option("--firm-id", default=None, help="Load into this firm (default: a new demo firm).")
def demo(households: int, firm_id: str | None) -> None:
    """Load realistic demo data (UK households: couples, families, trusts) into a firm."""
    import uuid

    _prepare()
    from chalicelib.core import migrations
    from chalicelib.firms import service

    migrations.apply(_echo_progress)
    if firm_id is None:
        if service.firm_count() == 0:
            creds = _create_demo_firm(households)
            _credentials_path().write_text(json.dumps(creds, indent=2))
            _refresh_views()
            click.echo(json.dumps({k: v for k, v in creds.items() if k != "password"}))
            return
        raise click.ClickException("the database already has firms: pass --firm-id to add households to one")
    try:
        fid = uuid.UUID(firm_id)
    except ValueError:
        raise click.BadParameter("not a UUID", param_hint="--firm-id") from None
    advisers = service.firm_advisers(fid)
    if advisers is None:
        raise click.ClickException(f"no firm {fid}")
    counts = _load_demo(fid, households, advisers)
    _refresh_views()
    click.echo(json.dumps(counts))


@main.group()
def job() -> None:
    """Scheduled jobs, run by hand."""


@job.command("list")
def job_list() -> None:
    """The jobs and their schedules."""
    from chalicelib.ops.jobs import JOBS

    for j in JOBS.values():
        click.echo(f"{j.name:20} {j.schedule:24} {j.description}")


@job.command("run")
@click.argument("name")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The day to take (networth-snapshots; default: yesterday).")
@click.option("--from", "from_", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The first day of a range to take (networth-snapshots).")
@click.option("--to", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The last day of the range (default: yesterday).")
@click.option("--budget-seconds", type=click.FloatRange(0), default=None,
              help="How long the run may work before it stops cleanly (retention; default 600).")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=None,
              help="Rows per statement (retention; default 5000).")
def job_run(name: str, day: Any, from_: Any, to: Any, budget_seconds: float | None, batch_size: int | None) -> None:
    """Run the job NAME now (takes its lock; a concurrent run is skipped)."""
    from chalicelib.ops.jobs import JOBS, run_job

    if name not in JOBS:
        raise click.BadParameter(f"unknown job; one of: {', '.join(sorted(JOBS))}", param_hint="NAME")
    given: dict[str, Any] = {k: v.date() for k, v in (("date", day), ("from_", from_), ("to", to)) if v is not None}
    given.update({k: v for k, v in (("budget_seconds", budget_seconds), ("batch_size", batch_size)) if v is not None})
    refused = sorted(set(given) - set(JOBS[name].options))
    if refused:
        raise click.UsageError(f"job {name} takes no "
                               f"{', '.join('--' + k.rstrip('_').replace('_', '-') for k in refused)}")
    if "date" in given and ("from_" in given or "to" in given):
        raise click.UsageError("give --date or --from/--to, not both")
    if "to" in given and "from_" not in given:
        raise click.UsageError("--to needs --from")
    _prepare(local_secret=False)
    try:
        result = run_job(name, trigger="manual", **given)
    except Exception as exc:
        raise click.ClickException(f"job {name} failed: {exc}") from None
    click.echo(json.dumps(result.summary()))


@job.command("runs")
@click.option("--job", "job_name", help="Only the runs of this job.")
@click.option("--status", type=click.Choice(["running", "succeeded", "failed", "skipped"]),
              help="Only the runs in this state.")
@click.option("--firm", "firm_id", type=click.UUID,
              help="One firm's part of each run instead, as the firm's admins see it (with the run's id).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def job_runs(job_name: str | None, status: str | None, firm_id: Any, limit: int) -> None:
    """Recent runs, newest first, one JSON object a line: every run with its platform-wide figures (every firm's
    together, which no firm's user sees) and `firms`, how many firms' parts it recorded; or with --firm, that
    firm's parts."""
    from chalicelib.core.jsonutil import dumps
    from chalicelib.ops import service

    _prepare(local_secret=False)
    if firm_id is not None:
        if status not in (None, "succeeded"):
            rows = []  # a firm's part is recorded only when its run succeeds
        else:
            rows = service.firm_runs(firm_id, job_name=job_name, limit=limit)
    else:
        rows = service.platform_runs(job_name=job_name, status=status, limit=limit)
    for row in rows:
        click.echo(dumps(row))


@main.group()
def plan() -> None:
    """Financial plans: run a simulation by hand."""


@plan.command("run")
@click.argument("id_", metavar="ID", type=click.UUID)
@click.option("--stresses", default=None, metavar="JSON",
              help='The stress scenarios, as the API takes them (default: the standard three; "[]" for none).')
def plan_run(id_: Any, stresses: str | None) -> None:
    """Run a simulation now, in this process. ID is a plan version (a new run of it is queued by the system and
    run) or a queued run (run here; a run left running by a dead worker is taken over once it is stale). Prints
    the finished run's summary as JSON; exits non-zero when the run failed."""
    from chalicelib.core import errors
    from chalicelib.core.jsonutil import dumps
    from chalicelib.planning.runs import service

    request = None
    if stresses is not None:
        try:
            request = {"stresses": json.loads(stresses)}
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--stresses") from None
    _prepare(local_secret=False)
    from pydantic import ValidationError

    try:
        done = service.run_now(id_, request=request)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    except (ValidationError, errors.ApiError) as exc:
        raise click.ClickException(f"the run was refused: {exc}") from None
    summary = {k: done[k] for k in ("id", "plan_id", "status", "attempts", "probability_of_success",
                                    "algorithm_version", "outputs_sha256", "duration_ms", "error") if k in done}
    click.echo(dumps(summary))
    if done["status"] == "failed":
        raise SystemExit(1)


class _TerminalProgress:
    """Progress of long steps on stderr, rewritten in place, only when stderr is a terminal (else nothing)."""

    def __init__(self) -> None:
        import time

        self.enabled = sys.stderr.isatty()
        self.step: str | None = None
        self.shown = 0.0
        self.clock = time.monotonic

    def __call__(self, step: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if step == self.step and now - self.shown < 0.2 and (total is None or done < total):
            return
        if step != self.step and self.step is not None:
            click.echo("", err=True)
        self.step, self.shown = step, now
        if step == "restoring":
            text = f"{step}: {done} of {total} items" if total else f"{step}: {done} items"
        else:
            text = f"{step}: {_size(done)}" + (f" of {_size(total)}" if total else "")
        click.echo(f"\r{text}\x1b[K", err=True, nl=False)

    def close(self) -> None:
        if self.enabled and self.step is not None:
            click.echo("", err=True)
            self.step = None


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def _run_backup_job(name: str, **params: Any) -> Any:
    from chalicelib.ops.jobs import run_job

    progress = _TerminalProgress()
    try:
        return run_job(name, trigger="manual", progress=progress, **params)
    except Exception as exc:
        raise click.ClickException(f"job {name} failed: {exc}") from None
    finally:
        progress.close()


@main.command("backup")
@click.option("--no-verify", is_flag=True, help="Only make the backup (verify it later with `verify-backup`).")
def backup_command(no_verify: bool) -> None:
    """Back the database up into the backup store (BACKUP_STORE, default .wealthdesk/backups), rotate, then restore
    the new backup into a scratch database and check it. Exits 1 when either fails."""
    _prepare(local_secret=False)
    made = _run_backup_job("backup")
    click.echo(json.dumps(made.summary()))
    if made.status != "succeeded" or no_verify:
        if made.status == "skipped":
            click.echo("another backup or verification is running: nothing was done", err=True)
        return
    checked = _run_backup_job("verify-backup", backup_id=made.figures["id"])
    click.echo(json.dumps(checked.summary()))


@main.command("verify-backup")
@click.argument("backup_id", required=False)
def verify_backup_command(backup_id: str | None) -> None:
    """Verify the backup BACKUP_ID (default: the newest): fetch it, check its SHA-256, restore it into a scratch
    database, compare every table's rows with its manifest and check its integrity. Exits 1 when it fails."""
    import uuid

    if backup_id is not None:
        try:
            backup_id = str(uuid.UUID(backup_id))
        except ValueError:
            raise click.BadParameter("not a backup id (a UUID; `wealthdesk backups` lists them)",
                                     param_hint="BACKUP_ID") from None
    _prepare(local_secret=False)
    result = _run_backup_job("verify-backup", backup_id=backup_id)
    click.echo(json.dumps(result.summary()))


@main.command("backups")
@click.option("--limit", type=click.IntRange(1, 1000), default=30, show_default=True)
@click.option("--from-store", is_flag=True,
              help="List what the backup store holds, from its manifests and verdicts (no database needed).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def backups_command(limit: int, from_store: bool, as_json: bool) -> None:
    """The backups, newest first, with their latest verdicts."""
    from chalicelib.core.jsonutil import dumps
    from chalicelib.ops.backups import service

    if from_store:
        rows = service.backups_in_store()[:limit]
    else:
        _prepare(local_secret=False)
        rows = service.recent_backups(limit)
    if as_json:
        for row in rows:
            click.echo(dumps({k: v for k, v in row.items() if k != "manifest"}))
        return
    if not rows:
        click.echo("no backups")
        return
    click.echo(f"{'id':36}  {'taken (UTC)':16}  {'status':12}  {'size':>9}  {'verdict':8}  reason")
    for row in rows:
        started = row["started_at"]
        taken = started.strftime("%Y-%m-%d %H:%M") if hasattr(started, "strftime") else str(started or "")[:16]
        verdict = row.get("verdict") or {}
        reason = verdict.get("reason") or row.get("error") or ""
        click.echo(f"{row['id']!s:36}  {taken:16}  {row['status']:12}  {_size(row.get('size_bytes')):>9}  "
                   f"{verdict.get('outcome') or '-':8}  {reason[:100]}")


@main.command("restore")
@click.argument("backup_id")
@click.option("--into", "into_url", required=True, help="The database to restore into (a PostgreSQL URL).")
@click.option("--store", "store_url", default=None, help="The backup store (default: BACKUP_STORE).")
@click.option("--force", is_flag=True,
              help="Restore over a database that is not empty: everything in it is dropped first (asks for the "
                   "database's name).")
def restore_command(backup_id: str, into_url: str, store_url: str | None, force: bool) -> None:
    """Restore the backup BACKUP_ID into the database at --into: checked against its manifest first, then every
    table's rows counted against it. Needs only the backup store and the target database. A database that is not
    empty is only restored over with --force and its name typed to confirm."""
    import uuid

    from chalicelib.ops.backups.restore import RestoreError, restore

    try:
        wanted = uuid.UUID(backup_id)
    except ValueError:
        raise click.BadParameter("not a backup id (a UUID)", param_hint="BACKUP_ID") from None

    def confirm(database: str) -> bool:
        click.echo(f"The database {database} is not empty: restoring over it first drops everything in it (its "
                   "tables and their data, views, functions, extensions), then restores the backup.", err=True)
        typed = click.prompt(f"Type the database's name ({database}) to restore over it", err=True,
                             default="", show_default=False)
        return typed == database

    progress = _TerminalProgress()
    try:
        result = restore(wanted, into_url, store_url=store_url, force=force, confirm=confirm, progress=progress)
    except (RestoreError, RuntimeError) as exc:
        progress.close()
        raise click.ClickException(str(exc)) from None
    progress.close()
    click.echo(json.dumps(result))


@main.command()
@click.option("--check", is_flag=True, help="Fail when the committed openapi.json differs from the code.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("openapi.json"),
              show_default=True)
def openapi(check: bool, output: Path) -> None:
    """Write openapi.json from the app's routes and models (or check it is current)."""
    from app import router

    _write_or_check(output, json.dumps(router.openapi(), indent=2, sort_keys=False) + "\n", check, "openapi")


@main.command()
@click.option("--check", is_flag=True, help="Fail when the committed schema.sql differs from the migrations'.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("schema.sql"),
              show_default=True)
def schema(check: bool, output: Path) -> None:
    """Write schema.sql: a scratch database (on DATABASE_URL's server, else the embedded one) migrated from nothing,
    as pg_dump prints it (or check that the committed file is current)."""
    from chalicelib.core import schema as schema_sql

    try:
        text = schema_sql.fresh(_echo_progress)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    def why(current: str) -> str:
        written, here = schema_sql.header_major(current), schema_sql.header_major(text)
        versions = (f" (it was written from PostgreSQL {written}, this server is {here})"
                    if written and written != here else "")
        return versions + "\n" + schema_sql.diff(current, text)

    _write_or_check(output, text, check, "schema", why)


@main.command()
@click.option("--check", is_flag=True, help="Fail when the committed route manifest differs from the code.")
def routes(check: bool) -> None:
    """Write chalicelib/routes.json, the manifest app.py registers the routes from (or check it is current)."""
    from chalicelib import routes as route_modules

    _write_or_check(route_modules.MANIFEST, route_modules.manifest_text(), check, "routes")


if __name__ == "__main__":
    main()
