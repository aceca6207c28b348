"""Job runs and tenancy: a run's platform-wide record (every firm's figures together) is for operators only (the
command line, the owner role); a firm's admin sees only the firm's part of each run that did work for it
(`firm_job_runs`, migration 0019), through the API and through the app role's own connection alike."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.rows import dict_row

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.matrix_support import create_household, ids_of, make_book


def _views() -> tuple[str, ...]:
    from chalicelib.ops.refresh_views import VIEWS

    return VIEWS



@pytest.fixture
def two_firms(client: Any) -> tuple[Firm, Firm]:
    """Two new firms, each with a household holding a valued product (IRR history, dashboard rows)."""
    firms = make_firm("Jobs A"), make_firm("Jobs B")
    for firm, values in zip(firms, (("10500.00", "5200.00"), ("20900.00", "9800.00")), strict=True):
        auth = firm.auth("adviser")
        house = create_household(client, auth)
        firm.book = make_book(client, auth, house, day="2021-06-30",  # type: ignore[attr-defined]
                              invested=("10000.00", "5000.00"), values=values)
    return firms


def _listed(client: Any, firm: Firm, query: str = "") -> list[dict[str, Any]]:
    response = client.http.get(f"/v1/ops/job-runs?limit=200{'&' + query if query else ''}",
                               headers=firm.auth("admin"))
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def _firm_part(run_id: Any, firm: Firm) -> dict[str, Any] | None:
    rows = owner_sql("SELECT id, figures FROM firm_job_runs WHERE run_id = %s AND firm_id = %s", (run_id, firm.id))
    return rows[0] if rows else None


def _view_rows(firm: Firm) -> dict[str, int]:
    return {v: owner_sql(f"SELECT count(*) AS n FROM {v} WHERE firm_id = %s", (firm.id,))[0]["n"] for v in _views()}


def test_a_firm_admin_sees_only_the_firms_part_of_each_run_and_no_platform_run(client: Any,
                                                                              two_firms: tuple[Firm, Firm]) -> None:
    from chalicelib.ops.jobs import run_job

    a, b = two_firms
    marks = {f.id: owner_sql("SELECT count(*) AS n FROM dashboard_writes WHERE firm_id = %s", (f.id,))[0]["n"]
             for f in two_firms}
    assert marks[a.id] > 0 and marks[b.id] > 0  # the books' writes, not in the dashboard yet
    refresh = run_job("refresh-views", trigger="manual")
    # A gap in firm B's stored IRR history only: the nightly repair does work for B and none for A.
    gap = owner_sql("DELETE FROM irr_values WHERE scope = 'product' AND scope_id = %s "
                    "AND valuation_date = '2021-06-30' RETURNING method", (b.book.product,))  # type: ignore[attr-defined]
    assert len(gap) == 2
    repair = run_job("irr-history", trigger="manual")
    partitions = run_job("audit-partitions", trigger="manual")
    assert refresh.status == repair.status == partitions.status == "succeeded"
    assert repair.figures["products"] >= 1
    platform_runs = ids_of("SELECT id FROM job_runs")
    assert {str(r.id) for r in (refresh, repair, partitions)} <= platform_runs

    shown_a, shown_b = _listed(client, a), _listed(client, b)
    for firm, other, shown in ((a, b, shown_a), (b, a, shown_b)):
        # No platform run (its figures count every firm), and nothing of the other firm.
        assert not {i["id"] for i in shown} & platform_runs, f"{firm.name} sees platform job runs"
        assert {i["id"] for i in shown} == ids_of("SELECT id FROM firm_job_runs WHERE firm_id = %s", (firm.id,))
        assert str(other.id) not in json.dumps(shown)
        assert all(i["job_name"] != "audit-partitions" for i in shown)  # platform work: no firm's part
        assert all(i["status"] == "succeeded" and i["error"] is None for i in shown)
        # The nightly refresh: the firm's own figures, in the platform record's shape, restricted to the firm.
        part = _firm_part(refresh.id, firm)
        assert part is not None
        item = next(i for i in shown if i["id"] == str(part["id"]))
        assert item["job_name"] == "refresh-views" and item["trigger"] == "manual"
        figures = item["figures"]
        assert figures["refreshed"] is True
        assert figures["writes_seen"] == figures["writes_cleared"] == marks[firm.id]
        assert figures["oldest_write"] is not None
        assert {v: figures[v]["rows"] for v in _views()} == _view_rows(firm)
        assert "firms" not in figures["firm_irr"]  # a platform total
        for view in _views():
            assert figures[view]["rows"] < refresh.figures[view]["rows"], view  # the other firm has rows too
    assert refresh.figures["writes_seen"] >= marks[a.id] + marks[b.id]

    # The repair concerned firm B only: B sees it with its own figures, A does not see it at all.
    assert _firm_part(repair.id, a) is None
    [b_repair] = [i for i in shown_b if i["job_name"] == "irr-history"]
    assert b_repair["figures"] == {"products": 1, "rows_written": 2}
    assert _listed(client, a, "job=irr-history") == []
    assert [i["id"] for i in _listed(client, b, "job=irr-history")] == [b_repair["id"]]
    assert _listed(client, a, "job=audit-partitions") == []
    assert _listed(client, a, "status=failed") == [] and _listed(client, a, "status=skipped") == []
    assert {i["id"] for i in _listed(client, a, "status=succeeded")} == {i["id"] for i in shown_a}

    for who in ("adviser", "analyst", "viewer", "read", "write"):
        assert_problem(client.http.get("/v1/ops/job-runs", headers=a.auth(who)), 403)


def test_skipped_and_failed_runs_are_the_platforms(client: Any, two_firms: tuple[Firm, Firm], monkeypatch) -> None:
    """A run that did nothing (skipped: another held the lock) or failed has no firm's part: the operator sees it."""
    from chalicelib.core import db
    from chalicelib.ops.jobs import JOBS, Job, _lock_key, run_job

    a, _ = two_firms
    with db.owner_connection() as holder:
        assert holder.execute("SELECT pg_try_advisory_lock(%s) AS got", (_lock_key("refresh-views"),)).fetchone()["got"]
        skipped = run_job("refresh-stale-views")
        holder.execute("SELECT pg_advisory_unlock(%s)", (_lock_key("refresh-views"),))
    assert skipped.status == "skipped"

    def fails_half_way(conn: Any) -> dict[str, Any]:
        raise RuntimeError(f"firm {a.id} broke")

    monkeypatch.setitem(JOBS, "test-failing", Job("test-failing", "rate(1 day)", "fails", fails_half_way))
    with pytest.raises(RuntimeError):
        run_job("test-failing", trigger="manual")
    assert owner_sql("SELECT count(*) AS n FROM firm_job_runs WHERE run_id = %s", (skipped.id,)) == [{"n": 0}]
    assert owner_sql("SELECT count(*) AS n FROM firm_job_runs r JOIN job_runs j ON j.id = r.run_id "
                     "WHERE j.job_name = 'test-failing'") == [{"n": 0}]
    assert all(i["job_name"] not in ("test-failing",) for i in _listed(client, a))
    assert _listed(client, a, "status=skipped") == [] and _listed(client, a, "status=failed") == []


def test_refresh_stale_views_records_a_part_for_the_firms_written_to_only(client: Any,
                                                                          two_firms: tuple[Firm, Firm]) -> None:
    from chalicelib.ops.jobs import run_job

    a, b = two_firms
    assert run_job("refresh-views", trigger="manual").status == "succeeded"  # everything taken in
    response = client.http.patch(f"/v1/client-groups/{_group_of(b)}", body=json.dumps({"name": "Renamed"}),
                                 headers={**b.auth("adviser"), "Content-Type": "application/json",
                                          "If-Match": '"1"'})
    assert response.status_code == 200, response.body
    run = run_job("refresh-stale-views", trigger="manual")
    assert run.status == "succeeded" and run.figures["refreshed"] is True
    assert _firm_part(run.id, a) is None
    part = _firm_part(run.id, b)
    assert part is not None and part["figures"]["writes_seen"] == 1 and part["figures"]["writes_cleared"] == 1
    assert run.figures["firm_irr"]["firms"] >= 1
    # Nothing written since: the next run refreshes nothing and concerns no firm.
    idle = run_job("refresh-stale-views", trigger="manual")
    assert idle.figures["refreshed"] is False
    assert owner_sql("SELECT count(*) AS n FROM firm_job_runs WHERE run_id = %s", (idle.id,)) == [{"n": 0}]


def _group_of(firm: Firm) -> str:
    return str(owner_sql("SELECT id FROM client_groups WHERE firm_id = %s", (firm.id,))[0]["id"])


# --- the app role's own connection ------------------------------------------------------------------------------

@pytest.fixture
def app_conn() -> Iterator[Any]:
    from chalicelib.core import config

    with psycopg.connect(config.app_database_url(), autocommit=True, row_factory=dict_row) as conn:
        assert conn.execute("SELECT current_user AS u").fetchone()["u"] == config.APP_ROLE
        yield conn


def _enter(conn: Any, firm: Firm) -> None:
    import uuid

    import jwt

    claims = jwt.decode(firm.tokens["admin"], options={"verify_signature": False})
    assert conn.execute("SELECT auth_enter_session(%s, %s, %s, %s) AS ok",
                        (uuid.UUID(claims["sid"]), uuid.UUID(claims["sub"]), uuid.UUID(claims["firm"]),
                         claims["role"])).fetchone()["ok"]


def test_the_app_role_reads_no_platform_run_and_no_other_firms_part(app_conn: Any,
                                                                   two_firms: tuple[Firm, Firm]) -> None:
    from chalicelib.ops.jobs import run_job

    a, b = two_firms
    run_job("refresh-views", trigger="manual")
    assert owner_sql("SELECT count(DISTINCT firm_id) AS n FROM firm_job_runs WHERE firm_id IN (%s, %s)",
                     (a.id, b.id)) == [{"n": 2}]
    platform = "SELECT count(*) AS n FROM job_runs"
    # Without a verified firm: nothing, whatever the setting says.
    for value in (None, str(a.id)):
        with app_conn.transaction():
            if value:
                app_conn.execute("SELECT set_config('app.firm_id', %s, true)", (value,))
            assert app_conn.execute("SELECT count(*) AS n FROM firm_job_runs").fetchone()["n"] == 0
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
                app_conn.execute(platform)
    # Inside firm A (a verified session), with app.firm_id pointing at B: A's part only, no platform row.
    with app_conn.transaction():
        _enter(app_conn, a)
        app_conn.execute("SELECT set_config('app.firm_id', %s, true)", (str(b.id),))
        seen = app_conn.execute("SELECT firm_id, count(*) AS n FROM firm_job_runs GROUP BY firm_id").fetchall()
        expected = owner_sql("SELECT count(*) AS n FROM firm_job_runs WHERE firm_id = %s", (a.id,))[0]["n"]
        assert seen == [{"firm_id": a.id, "n": expected}]
        assert app_conn.execute("SELECT count(*) AS n FROM firm_job_runs WHERE firm_id = %s",
                                (b.id,)).fetchone()["n"] == 0
        for statement in (platform, "SELECT figures FROM job_runs WHERE job_name = 'refresh-views'",
                          "UPDATE job_runs SET error = 'x'", "DELETE FROM job_runs",
                          "INSERT INTO job_runs (job_name, status, trigger) VALUES ('x', 'running', 'api')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
                app_conn.execute(statement)
        # Nor may it write a firm's part (its own or another's): the jobs record them, as the owner.
        for firm in (a, b):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
                app_conn.execute("INSERT INTO firm_job_runs (firm_id, run_id, job_name, trigger, started_at, "
                                 "finished_at) SELECT %s, gen_random_uuid(), 'x', 'api', now(), now()", (firm.id,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
            app_conn.execute("UPDATE firm_job_runs SET figures = '{}'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
            app_conn.execute("DELETE FROM firm_job_runs")


def test_the_system_context_sees_the_firms_part_only(two_firms: tuple[Firm, Firm]) -> None:
    """The owner's jobs and command line, acting inside one firm, are the app role there: no platform row."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.ops.jobs import run_job

    a, _ = two_firms
    run_job("refresh-views", trigger="manual")
    with db.transaction(RequestContext.system(a.id)) as tx:
        assert {r["firm_id"] for r in tx.all("SELECT DISTINCT firm_id FROM firm_job_runs")} == {a.id}
        with pytest.raises(psycopg.errors.InsufficientPrivilege), tx.conn.transaction():
            tx.all("SELECT count(*) AS n FROM job_runs")


# --- the operator's command line --------------------------------------------------------------------------------

def _cli(*args: str) -> list[dict[str, Any]]:
    from chalicelib.cli import main

    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_the_command_line_lists_every_run_with_its_platform_figures(two_firms: tuple[Firm, Firm]) -> None:
    from chalicelib.ops.jobs import run_job

    a, b = two_firms
    refresh = run_job("refresh-views", trigger="manual")
    partitions = run_job("audit-partitions", trigger="manual")
    listed = _cli("job", "runs", "--limit", "200")
    by_id = {r["id"]: r for r in listed}
    assert str(partitions.id) in by_id and str(refresh.id) in by_id
    keys = [(datetime.fromisoformat(r["started_at"]), r["id"]) for r in listed]
    assert keys == sorted(keys, reverse=True), "newest first"
    assert by_id[str(partitions.id)]["figures"] == json.loads(json.dumps(partitions.summary()))["figures"]
    whole = by_id[str(refresh.id)]
    assert whole["job_name"] == "refresh-views" and whole["figures"]["firm_irr"]["firms"] >= 2
    assert whole["firms"] == owner_sql("SELECT count(*) AS n FROM firm_job_runs WHERE run_id = %s",
                                       (refresh.id,))[0]["n"] >= 2
    only = _cli("job", "runs", "--job", "audit-partitions", "--limit", "1")
    assert [r["id"] for r in only] == [str(partitions.id)]
    assert _cli("job", "runs", "--status", "failed", "--job", "audit-partitions", "--limit", "200") == [
        r for r in _cli("job", "runs", "--limit", "200", "--job", "audit-partitions") if r["status"] == "failed"]
    # One firm's part of each run, as its admin sees it, with the run it belongs to.
    parts = _cli("job", "runs", "--firm", str(b.id), "--limit", "200")
    part = next(p for p in parts if p["run_id"] == str(refresh.id))
    assert part["firm_id"] == str(b.id) and part["figures"]["mv_firm_counts"] == {"rows": 1}
    assert all(p["firm_id"] == str(b.id) for p in parts)
    assert {p["id"] for p in parts} == ids_of("SELECT id FROM firm_job_runs WHERE firm_id = %s", (b.id,))
    assert str(a.id) not in json.dumps(parts)


def test_the_command_line_refuses_bad_filters_cleanly() -> None:
    from chalicelib.cli import main

    for args in (["--firm", "not-a-uuid"], ["--status", "exploded"], ["--limit", "0"]):
        result = CliRunner().invoke(main, ["job", "runs", *args])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output


def test_job_runs_is_the_owners_alone_and_firm_job_runs_a_tenant_table() -> None:
    from chalicelib.core import config

    app = config.APP_ROLE
    rows = owner_sql(
        "SELECT c.relname, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced, "
        "has_table_privilege(%(r)s, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER') AS app_any, "
        "has_any_column_privilege(%(r)s, c.oid, 'SELECT,INSERT,UPDATE,REFERENCES') AS app_column, "
        "has_table_privilege(%(r)s, c.oid, 'SELECT') AS app_select "
        "FROM pg_class c WHERE c.oid IN ('public.job_runs'::regclass, 'public.firm_job_runs'::regclass) "
        "ORDER BY 1", {"r": app})
    assert rows == [
        {"relname": "firm_job_runs", "rls": True, "forced": True, "app_any": True, "app_column": True,
         "app_select": True},
        {"relname": "job_runs", "rls": True, "forced": True, "app_any": False, "app_column": False,
         "app_select": False}]
    assert owner_sql("SELECT has_table_privilege(%s, 'firm_job_runs', 'INSERT,UPDATE,DELETE,TRUNCATE') AS w",
                     (app,)) == [{"w": False}]
    policies = owner_sql("SELECT tablename, policyname, roles::text[] AS roles FROM pg_policies "
                         "WHERE tablename IN ('job_runs', 'firm_job_runs') ORDER BY 1, 2")
    assert policies == [
        {"tablename": "firm_job_runs", "policyname": "maintenance", "roles": [config.OWNER_ROLE]},
        {"tablename": "firm_job_runs", "policyname": "tenant", "roles": ["public"]},
        {"tablename": "job_runs", "policyname": "maintenance", "roles": [config.OWNER_ROLE]}]
