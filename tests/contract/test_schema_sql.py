"""schema.sql: the committed schema is the migrated one, and `wealthdesk schema [--check]` writes and checks it.

The staleness check dumps this session's migrated database (no second migration run); only when that server's major
version differs from the one schema.sql was written from does it migrate a scratch database on an embedded server.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import stop_embedded_server

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schema.sql"


@contextmanager
def _on_embedded_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make chalicelib.core.schema use a new embedded server of its own (not DATABASE_URL's), stopped and deleted
    afterwards."""
    from chalicelib.core import embedded

    # Directly under the temporary directory, like conftest's servers: the server runs as another user when the
    # tests run as root, and must reach its data directory (pytest's tmp_path sits under a root-only folder).
    home = tempfile.mkdtemp(prefix="wd-schema-")
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("WEALTHDESK_HOME", home)
    monkeypatch.setattr(embedded, "_server", None)  # restored afterwards: conftest's server stays
    try:
        yield
    finally:
        if embedded._server is not None:
            stop_embedded_server(embedded._server, Path(home))
        else:
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def session_dump(database: str) -> str:
    from chalicelib.core import schema

    return schema.dump(database)


def test_schema_sql_is_current(session_dump: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.core import schema

    committed = COMMITTED.read_text()
    actual = session_dump
    if schema.header_major(committed) != schema.header_major(actual):
        with _on_embedded_server(monkeypatch):
            actual = schema.fresh()
    assert actual == committed, ("schema.sql is stale: run `wealthdesk schema` (or `make schema`) and commit it\n"
                                 + schema.diff(committed, actual))


def test_the_dump_holds_what_a_reviewer_needs_and_nothing_that_varies(session_dump: str) -> None:
    text = session_dump
    for needle in ("CREATE TABLE public.products (", "CREATE FUNCTION public.refresh_portfolio_valuations(",
                   "CREATE TRIGGER ", "CREATE VIEW public.product_positions WITH (security_barrier=",
                   "CREATE MATERIALIZED VIEW public.mv_product_positions AS",
                   "CREATE POLICY tenant ON public.products ",
                   "GRANT SELECT ON TABLE public.product_positions TO wealthdesk_app;",
                   "ALTER TABLE ONLY public.products FORCE ROW LEVEL SECURITY;",
                   "CREATE EXTENSION IF NOT EXISTS pg_trgm", "fixed_fee_direct numeric(18,2)"):
        assert needle in text, needle
    lines = text.splitlines()
    assert not [line for line in lines if line.startswith(("SET ", "\\restrict", "\\unrestrict", "-- Dumped "))]
    assert "OWNER TO" not in text and "Owner:" not in text
    assert "audit_events_2" not in text.replace("'audit_events_%s'", "")  # partitions come and go with the date
    assert "CREATE TABLE public.audit_events (" in text and "PARTITION BY RANGE (occurred_at)" in text


def test_normalise_drops_what_varies_between_runs_and_machines() -> None:
    from chalicelib.core import schema

    raw = ("--\n-- PostgreSQL database dump\n--\n\n\\restrict AbC123\n\n-- Dumped from database version 18.6\n"
           "-- Dumped by pg_dump version 18.6\n\nSET statement_timeout = 0;\n"
           "SELECT pg_catalog.set_config('search_path', '', false);\n\n--\n"
           "-- Name: f(); Type: FUNCTION; Schema: public; Owner: someone\n--\n\n"
           "CREATE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    SET search_path TO 'public'   \n"
           "    AS $$ SELECT 1 $$;\n\n\n\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict AbC123\n")
    assert schema.normalise(raw, 18) == schema.HEADER.format(major=18) + (
        "\n--\n-- Name: f(); Type: FUNCTION; Schema: public\n--\n\n"
        "CREATE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    SET search_path TO 'public'\n"
        "    AS $$ SELECT 1 $$;\n")
    assert schema.header_major(schema.normalise(raw, 16)) == 16
    assert schema.header_major("-- something else\n") is None


def _cli(monkeypatch: pytest.MonkeyPatch, dump: str, *args: str) -> Any:
    """The command with its scratch migration replaced by this session's dump (the same migrations, applied once)."""
    from chalicelib.cli import main
    from chalicelib.core import schema

    monkeypatch.setattr(schema, "fresh", lambda progress=None: dump)
    return CliRunner().invoke(main, ["schema", *args])


def test_schema_check_passes_for_the_committed_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the default --output is ./schema.sql
    result = _cli(monkeypatch, COMMITTED.read_text(), "--check")
    assert result.exit_code == 0, result.output
    assert "schema.sql is current" in result.output


def test_schema_check_fails_on_a_stale_file_with_a_short_diff(session_dump: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "schema.sql"
    old = session_dump.replace("fixed_fee_direct numeric(18,2)", "fixed_fee_direct numeric(15,2)")
    assert old != session_dump
    stale.write_text(old)
    result = _cli(monkeypatch, session_dump, "--check", "--output", str(stale))
    assert result.exit_code == 1
    assert "is stale" in result.output and "Traceback" not in result.output
    assert "-    fixed_fee_direct numeric(15,2)" in result.output
    assert "+    fixed_fee_direct numeric(18,2)" in result.output
    assert len(result.output.splitlines()) < 20
    assert stale.read_text() == old  # --check never writes

    missing = tmp_path / "missing.sql"
    result = _cli(monkeypatch, session_dump, "--check", "--output", str(missing))
    assert result.exit_code == 1 and not missing.exists()


def test_schema_writes_the_dump(session_dump: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "schema.sql"
    result = _cli(monkeypatch, session_dump, "--output", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text() == session_dump


def test_fresh_migrates_a_scratch_database_dumps_it_and_drops_it(session_dump: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's own path, end to end, on an embedded server of its own."""
    import psycopg

    from chalicelib.core import embedded, schema

    with _on_embedded_server(monkeypatch):
        fresh = schema.fresh()
        with psycopg.connect(embedded.admin_url()) as conn:
            left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'wealthdesk_schema_%'").fetchall()
        home = embedded.home()
    # The same schema as the session's database, migrated the same way (when that is on another major version of
    # PostgreSQL, the committed file is the reference instead).
    assert fresh == (session_dump if schema.header_major(fresh) == schema.header_major(session_dump)
                     else COMMITTED.read_text())
    assert left == []
    assert not home.exists()  # the server of its own is stopped and its directory deleted
