"""Job `db-maintenance` against the real PostgreSQL: ANALYZE, bloat judged by the catalogue's estimate or by
pgstattuple, REINDEX CONCURRENTLY of what passes the threshold (with its sizes before and after), the owner role's
right to do it, and the time budget's stop and resume."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import owner_sql

ROWS = 100_000


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Two tables of the owner's: one whose indexes lost 90 % of their rows to a delete (their entries stay until a
    VACUUM empties their pages, which stay the index's until a rebuild), one untouched. Indexes from 1 MiB count."""
    monkeypatch.setenv("DB_MAINTENANCE_MIN_INDEX_BYTES", str(1024 * 1024))
    monkeypatch.delenv("DB_MAINTENANCE_BLOAT", raising=False)
    monkeypatch.delenv("DB_MAINTENANCE_BUDGET_SECONDS", raising=False)
    owner_sql("DROP TABLE IF EXISTS upkeep_probe, upkeep_probe_ok")
    owner_sql("CREATE TABLE upkeep_probe (id int PRIMARY KEY, tag text NOT NULL)")
    owner_sql("CREATE INDEX upkeep_probe_tag ON upkeep_probe (tag)")
    owner_sql("INSERT INTO upkeep_probe SELECT n, 'tag-' || n FROM generate_series(1, %s) n", (ROWS,))
    owner_sql("DELETE FROM upkeep_probe WHERE id % 10 <> 0")
    owner_sql("VACUUM upkeep_probe")  # as autovacuum would: the index entries go, their pages stay
    owner_sql("CREATE TABLE upkeep_probe_ok (id int PRIMARY KEY)")
    owner_sql("INSERT INTO upkeep_probe_ok SELECT generate_series(1, %s)", (ROWS,))
    yield
    owner_sql("DROP TABLE IF EXISTS upkeep_probe, upkeep_probe_ok")


def _run() -> Any:
    from chalicelib.ops.jobs import run_job

    result = run_job("db-maintenance", trigger="manual")
    assert result.status == "succeeded", result
    return result


def _estimates() -> dict[str, dict[str, Any]]:
    from chalicelib.core import db
    from chalicelib.ops import store

    with db.owner_connection() as conn:
        return {r["index_name"]: r for r in store.index_estimates(conn)}


def _size(index: str) -> int:
    return owner_sql("SELECT pg_relation_size(%s::regclass) AS n", (index,))[0]["n"]


def test_the_estimate_finds_the_emptied_indexes_and_they_are_rebuilt_smaller(probe: Any) -> None:
    owner_sql("ANALYZE upkeep_probe")
    owner_sql("ANALYZE upkeep_probe_ok")
    estimates = _estimates()
    # a tenth of the rows left: nine tenths of each index is waste; the untouched one is about as packed as built
    assert 0.8 <= estimates["upkeep_probe_pkey"]["bloat"] <= 0.95
    assert 0.8 <= estimates["upkeep_probe_tag"]["bloat"] <= 0.95
    assert estimates["upkeep_probe_ok_pkey"]["bloat"] <= 0.15
    before = {name: _size(name) for name in ("upkeep_probe_pkey", "upkeep_probe_tag", "upkeep_probe_ok_pkey")}

    figures = _run().figures
    assert figures["method"] == "estimate" and figures["complete"] is True and figures["resume"] is None
    assert {"upkeep_probe", "upkeep_probe_ok", "products", "mv_product_positions"} <= set(figures["analyzed"])
    assert figures["indexes_checked"] == len(_estimates())
    done = {r["index"]: r for r in figures["reindexed"]}
    assert {"upkeep_probe_pkey", "upkeep_probe_tag"} <= set(done)
    assert "upkeep_probe_ok_pkey" not in done
    for name in ("upkeep_probe_pkey", "upkeep_probe_tag"):
        assert done[name]["table"] == "upkeep_probe" and done[name]["bytes_before"] == before[name]
        assert done[name]["bytes_after"] == _size(name) < before[name] / 4
    assert _size("upkeep_probe_ok_pkey") == before["upkeep_probe_ok_pkey"]
    assert figures["seconds"] > 0 and figures["threshold"] == 0.4
    # the rebuilt indexes are valid and used; no leftover of the rebuild
    assert owner_sql("SELECT count(*) AS n FROM pg_index WHERE NOT indisvalid") == [{"n": 0}]
    assert owner_sql("SELECT count(*) AS n FROM upkeep_probe WHERE id = 500") == [{"n": 1}]

    again = _run().figures  # nothing left to rebuild: idempotent
    assert not {"upkeep_probe_pkey", "upkeep_probe_tag"} & {r["index"] for r in again["reindexed"]}


def test_pgstattuple_measures_the_leaves_when_an_administrator_installed_it(probe: Any, pg_server: Any,
                                                                            database: str) -> None:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from chalicelib.core import config, db, pgtools
    from chalicelib.ops import store

    superuser = pgtools.with_database(pg_server.admin_url, conninfo_to_dict(database)["dbname"])
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
    try:
        with db.owner_connection() as conn:
            assert store.can_use_pgstattuple(conn) is False  # installed, but the owner may not call it yet
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute(f"GRANT pg_stat_scan_tables TO {config.OWNER_ROLE}")
        figures = _run().figures
        assert figures["method"] == "pgstattuple"
        done = {r["index"]: r for r in figures["reindexed"]}
        assert {"upkeep_probe_pkey", "upkeep_probe_tag"} <= set(done)
        assert done["upkeep_probe_pkey"]["bloat"] >= 0.4 and "upkeep_probe_ok_pkey" not in done
    finally:
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute(f"REVOKE pg_stat_scan_tables FROM {config.OWNER_ROLE}")
            conn.execute("DROP EXTENSION IF EXISTS pgstattuple")


def test_the_owner_role_owns_every_index_it_maintains() -> None:
    """REINDEX and ANALYZE need ownership: migrations create everything as the owner role, so the job can reach
    every index and table of the schema."""
    from chalicelib.core import db
    from chalicelib.ops import store

    with db.owner_connection() as conn:
        assert store.foreign_indexes(conn) == []
        tables = store.maintained_tables(conn)
    everything = owner_sql("SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm', 'p')")[0]["n"]
    assert len(tables) == everything
    indexes = owner_sql("SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' AND c.relkind = 'i'")[0]["n"]
    assert len(_estimates()) == indexes


def test_a_run_stops_at_its_budget_and_the_next_resumes_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.core import db
    from chalicelib.ops import store

    monkeypatch.delenv("DB_MAINTENANCE_BUDGET_SECONDS", raising=False)
    assert _run().figures["complete"] is True  # from the beginning
    with db.owner_connection() as conn:
        tables = store.maintained_tables(conn)
    monkeypatch.setenv("DB_MAINTENANCE_BUDGET_SECONDS", "0")  # spent after the first step: one step a run
    first = _run().figures
    assert first["analyzed"] == [tables[0]] and first["indexes_checked"] == 0
    assert first["complete"] is False and first["resume"] == {"phase": "analyze", "after": tables[0]}
    second = _run().figures
    assert second["resumed_after"] == first["resume"] and second["analyzed"] == [tables[1]]
    monkeypatch.delenv("DB_MAINTENANCE_BUDGET_SECONDS")
    third = _run().figures
    assert third["analyzed"] == tables[2:] and third["complete"] is True and third["resume"] is None
    assert third["indexes_checked"] == len(_estimates())
    fourth = _run().figures  # a finished round: the next starts over
    assert fourth["resumed_after"] is None and fourth["analyzed"] == tables


def test_a_resume_point_inside_the_indexes_skips_the_analyze(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    names = sorted(_estimates())
    owner_sql("INSERT INTO job_runs (job_name, status, trigger, finished_at, figures) "
              "VALUES ('db-maintenance', 'succeeded', 'manual', clock_timestamp(), %s::jsonb)",
              (json.dumps({"resume": {"phase": "index", "after": names[0]}}),))
    monkeypatch.setenv("DB_MAINTENANCE_BUDGET_SECONDS", "0")
    figures = _run().figures
    assert figures["analyzed"] == [] and figures["indexes_checked"] == 1
    assert figures["resume"] == {"phase": "index", "after": names[1]}
