"""Schema migrations with yoyo, run as the owner role.

The source of truth is migrations/ at the project root. The Lambda package cannot ship that folder (Chalice ships
app.py and chalicelib/ only), so `make package` copies it to chalicelib/_migrations for the build; this module
finds whichever is present.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.core import config

_HERE = Path(__file__).resolve().parent


def migrations_dir() -> Path:
    explicit = os.environ.get("MIGRATIONS_DIR")
    candidates = [Path(explicit)] if explicit else []
    candidates += [_HERE.parent.parent / "migrations", _HERE.parent / "_migrations"]
    for path in candidates:
        if path.is_dir() and any(path.glob("*.sql")):
            return path
    raise RuntimeError(f"no migrations found (looked in {', '.join(map(str, candidates))})")


def _yoyo_url(url: str) -> str:
    _scheme, sep, rest = url.partition("://")
    if not sep:
        raise RuntimeError("DATABASE_URL must be a URL such as postgresql://user:pass@host:5432/db")
    return "postgresql+psycopg://" + rest


@dataclass
class Status:
    applied: int
    pending: int
    pending_ids: list[str]


def _backend_and_migrations() -> tuple[Any, Any]:
    from yoyo import get_backend, read_migrations

    return get_backend(_yoyo_url(config.owner_database_url())), read_migrations(str(migrations_dir()))


def _cannot_create(role: str) -> str:
    return (f"The role {role!r} does not exist and this role cannot create it. An operator must run:\n"
            f"  CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;\n"
            f"and set its password with psql's \\password {role} (see docs/deploy.md)")


def ensure_app_role() -> str:
    """Create the app role when the owner may, else explain what an operator must create. Returns a message."""
    import psycopg
    from psycopg import sql

    role = config.APP_ROLE
    with psycopg.connect(config.owner_database_url(), autocommit=True) as conn:
        exists = conn.execute("SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if exists is None:
            may = conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
            if not may.fetchone()[0]:  # say so without sending a CREATE ROLE the server would log as it fails
                raise RuntimeError(_cannot_create(role))
            password = os.environ.get("APP_DATABASE_PASSWORD")
            stmt = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                sql.Identifier(role))
            if password:
                # The SCRAM verifier, made here by libpq, never the password: a CREATE ROLE statement may be
                # written to the server's log (log_statement = ddl, or as the text of a failing statement)
                verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
                stmt = stmt + sql.SQL(" PASSWORD {}").format(sql.Literal(verifier.decode()))
            try:
                conn.execute(stmt)
            except psycopg.errors.InsufficientPrivilege:
                raise RuntimeError(_cannot_create(role)) from None
            message = f"created role {role}"
        else:
            if exists[0] or exists[1]:
                raise RuntimeError(f"The role {role!r} must not be a superuser nor have BYPASSRLS")
            message = f"role {role} exists"
        dbname = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname),
                                                                           sql.Identifier(role)))
        # The system context (jobs, the CLI) runs its firm's work as the app role, under the same policies
        # (auth_enter_system, migration 0018): the owner must be able to SET ROLE to it.
        if not conn.execute("SELECT pg_has_role(current_user, %s, 'SET')", (role,)).fetchone()[0]:
            try:
                conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role)))
            except psycopg.errors.InsufficientPrivilege:
                owner = conn.execute("SELECT current_user").fetchone()[0]
                raise RuntimeError(
                    f"The owner role {owner!r} must be a member of {role!r} (the jobs and the command line act "
                    f"inside a firm as the app role) and cannot grant it itself. An operator must run:\n"
                    f"  GRANT {role} TO {owner};\n(see docs/deploy.md)") from None
            message += f"; {role} granted to the owner"
    return message


def status() -> Status:
    backend, migrations = _backend_and_migrations()
    pending = backend.to_apply(migrations)
    return Status(applied=len(migrations) - len(pending), pending=len(pending),
                  pending_ids=[m.id for m in pending])


def apply(progress: Callable[[str], None] | None = None) -> list[str]:
    """Apply every pending migration under yoyo's lock. Safe to run twice (the second applies nothing)."""
    ensure_app_role()
    backend, migrations = _backend_and_migrations()
    with backend.lock():
        pending = backend.to_apply(migrations)
        for migration in pending:
            if progress:
                progress(f"applying {migration.id}")
            backend.apply_migrations(backend.to_apply(migrations.filter(lambda m, one=migration.id: m.id == one)))
    return [m.id for m in pending]


def rollback(count: int, progress: Callable[[str], None] | None = None) -> list[str]:
    """Roll back the last `count` applied migrations, newest first."""
    backend, migrations = _backend_and_migrations()
    with backend.lock():
        targets = list(backend.to_rollback(migrations))[:count]
        for migration in targets:
            if progress:
                progress(f"rolling back {migration.id}")
            backend.rollback_migrations(backend.to_rollback(migrations.filter(lambda m, one=migration.id: m.id == one)))
    return [m.id for m in targets]
