"""Migrations: apply, roll back, apply again on a scratch database; the schema's constraints and tenancy rules."""
from __future__ import annotations

import json
import os
import re
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from tests.conftest import owner_sql

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "migrations"
YOYO_TABLES = {"_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock"}
# Tables that hold no tenant data. Every other table is a tenant table and must be scoped by firm.
# auth_context: the verified tenant context itself (one row per backend; tests/integration/test_app_role_tenancy.py)
# job_runs: the platform's record of job runs, the owner's alone (each firm's part is firm_job_runs, a tenant table;
# tests/integration/test_job_runs_tenancy.py)
# backups, backup_verifications: the database's backups and their verdicts (tests/integration/test_backups.py)
PLATFORM_TABLES = {"job_runs", "view_refreshes", "auth_context", "rate_limit_tiers", "rate_counters", "backups",
                   "backup_verifications"} | YOYO_TABLES


def _forward_files() -> list[Path]:
    return sorted(p for p in MIGRATIONS.glob("*.sql") if not p.name.endswith(".rollback.sql"))


def _drop_database(admin_url: str, name: str) -> None:
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def scratch(pg_server, monkeypatch):
    """An empty database of its own; DATABASE_URL points at it for the test, then back at the worker's database.
    (The migrations use their own connections, never the API pool, which keeps pointing at the worker's database.)"""
    name = "wd_mig_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = pg_server.scratch(name)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    monkeypatch.undo()
    _drop_database(pg_server.admin_url, name)


def _leftovers() -> dict[str, list[str]]:
    """What the migrations created that is still there (extension members and yoyo's own tables excluded)."""
    not_extension = ("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')")
    relations = owner_sql(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND " + not_extension.format(oid="c.oid") + " ORDER BY 1")
    functions = owner_sql(
        "SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND " + not_extension.format(oid="p.oid") + " ORDER BY 1")
    policies = owner_sql("SELECT tablename || '.' || policyname AS name FROM pg_policies WHERE schemaname = 'public'")
    types = owner_sql(
        "SELECT t.typname AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = 'public' AND t.typrelid = 0 AND t.typelem = 0 AND "
        + not_extension.format(oid="t.oid") + " ORDER BY 1")
    yoyo = YOYO_TABLES | {f"{t}_pkey" for t in YOYO_TABLES}
    return {
        "relations": [r["name"] for r in relations if r["name"] not in yoyo and not r["name"].startswith("_yoyo")
                      and not r["name"].startswith("yoyo")],
        "functions": [r["name"] for r in functions],
        "policies": [r["name"] for r in policies],
        "types": [r["name"] for r in types],
    }


def _catalog_fingerprint() -> list[tuple]:
    rows = owner_sql(
        "SELECT c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1")
    return [tuple(r.values()) for r in rows]


def test_every_migration_has_a_rollback_and_a_well_formed_name():
    forward = _forward_files()
    assert forward, "no migrations"
    rollbacks = sorted(p for p in MIGRATIONS.glob("*.rollback.sql"))
    for p in forward:
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+\.sql", p.name), p.name
        assert (MIGRATIONS / (p.stem + ".rollback.sql")).is_file(), f"{p.name} has no rollback"
        assert p.read_text().strip() and (MIGRATIONS / (p.stem + ".rollback.sql")).read_text().strip()
    for r in rollbacks:
        assert (MIGRATIONS / r.name.replace(".rollback.sql", ".sql")).is_file(), f"{r.name} rolls back nothing"
    numbers = [int(p.name[:4]) for p in forward]
    # Numbers are handed out ahead to work done in parallel, and one may go unused: unique and rising, from 0001.
    assert numbers[0] == 1 and numbers == sorted(set(numbers)), "migration numbers must be unique, from 0001"


def test_apply_rollback_apply_on_an_empty_database(scratch):
    from chalicelib.core import migrations

    ids = [p.stem for p in _forward_files()]
    st = migrations.status()
    assert (st.applied, st.pending, st.pending_ids) == (0, len(ids), ids)

    assert migrations.apply() == ids
    st = migrations.status()
    assert (st.applied, st.pending, st.pending_ids) == (len(ids), 0, [])
    applied = _leftovers()  # the probe used after the rollback sees what the migrations create
    assert {"firms", "audit_events", "users_email_key"} <= set(applied["relations"])
    assert {"current_firm_id", "ensure_audit_partitions"} <= set(applied["functions"])
    assert "firms.tenant" in applied["policies"]
    before = _catalog_fingerprint()
    assert migrations.apply() == []  # twice: a no-op
    assert _catalog_fingerprint() == before
    assert migrations.status().pending == 0

    # Partitions the job created later (beyond the migration's own) must go with the rollback too.
    owner_sql("SELECT ensure_audit_partitions((CURRENT_DATE + interval '6 months')::date, 3)")

    assert migrations.rollback(len(ids)) == list(reversed(ids))
    st = migrations.status()
    assert (st.applied, st.pending) == (0, len(ids))
    assert _leftovers() == {"relations": [], "functions": [], "policies": [], "types": []}

    assert migrations.apply() == ids
    assert migrations.status().pending == 0
    assert _catalog_fingerprint() == list(before)  # the same schema again
    # The re-created schema works: a firm can be written and read as the owner.
    fid = uuid.uuid4()
    owner_sql("INSERT INTO firms (id, name) VALUES (%s, 'Again Ltd')", (fid,))
    assert owner_sql("SELECT name FROM firms WHERE id = %s", (fid,)) == [{"name": "Again Ltd"}]


def test_rollback_of_one_step_only_undoes_the_newest(scratch):
    from chalicelib.core import migrations

    ids = [p.stem for p in _forward_files()]
    migrations.apply()
    assert migrations.rollback(1) == [ids[-1]]
    st = migrations.status()
    assert (st.applied, st.pending_ids) == (len(ids) - 1, [ids[-1]])
    assert migrations.apply() == [ids[-1]]


def test_0010_values_products_holding_only_cash_and_its_rollback_takes_that_back(scratch):
    """0010 refreshes the portfolio valuations of products with a cash fund: a product holding only cash, written
    before it, gains its valuation dates; rolling 0010 back removes them again (0004's rule), and re-applying
    restores them."""
    from chalicelib.core import migrations

    ids = [p.stem for p in _forward_files()]
    assert "0010_dates_and_cash_products" in ids
    migrations.apply()
    assert migrations.rollback(len(ids) - ids.index("0010_dates_and_cash_products")) == list(
        reversed(ids[ids.index("0010_dates_and_cash_products"):]))
    firm, group, owner, product, fund, pf = (uuid.uuid4() for _ in range(6))
    for query, params in [
            ("INSERT INTO firms (id, name) VALUES (%s, 'Cash Ltd')", (firm,)),
            ("INSERT INTO client_groups (id, firm_id, name, type) VALUES (%s, %s, 'H', 'individual')", (group, firm)),
            ("INSERT INTO product_owners (id, firm_id, first_name, surname) VALUES (%s, %s, 'A', 'B')", (owner, firm)),
            (("INSERT INTO client_group_product_owners (firm_id, client_group_id, product_owner_id) "
             "VALUES (%s, %s, %s)"), (firm, group, owner)),
            (("INSERT INTO products (id, firm_id, client_group_id, name, product_type, start_date, ownership) "
             "VALUES (%s, %s, %s, 'Cash ISA', 'cash_isa', '2023-01-01', %s)"),
             (product, firm, group, json.dumps({"association_type": "individual", "product_owner_id": str(owner)}))),
            ("INSERT INTO funds (id, firm_id, name, is_cash) VALUES (%s, %s, 'Cash', true)", (fund, firm)),
            (("INSERT INTO portfolio_funds (id, firm_id, product_id, fund_id, start_date) "
             "VALUES (%s, %s, %s, %s, '2023-01-01')"), (pf, firm, product, fund)),
            (("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
             "VALUES (%s, %s, '2023-06-30', 1010)"), (firm, pf)),
            ("SELECT refresh_portfolio_valuations(%s, NULL)", (product,))]:
        owner_sql(query, params)

    def valued() -> list[tuple[date, str]]:
        return [(r["valuation_date"], str(r["value"])) for r in owner_sql(
            "SELECT valuation_date, value FROM portfolio_valuations WHERE product_id = %s", (product,))]

    assert valued() == []  # 0004's rule: cash alone made no portfolio valuation
    migrations.apply()
    assert valued() == [(date(2023, 6, 30), "1010.00")]
    migrations.rollback(len(ids) - ids.index("0010_dates_and_cash_products"))
    assert valued() == []
    migrations.apply()
    assert valued() == [(date(2023, 6, 30), "1010.00")]


def test_0013_triggers_keep_portfolio_valuations_and_its_rollback_leaves_them_to_the_writer(scratch):
    """With 0013, a raw valuation makes its portfolio valuation; rolled back, the triggers are gone (the previous
    release's code refreshes after its own writes) and the same raw write makes none; applied again, they are back."""
    from chalicelib.core import migrations

    ids = [p.stem for p in _forward_files()]
    step = "0013_portfolio_valuations_by_trigger"
    assert step in ids
    migrations.apply()
    firm, group, owner, product, fund, pf = (uuid.uuid4() for _ in range(6))
    for query, params in [
            ("INSERT INTO firms (id, name) VALUES (%s, 'Trigger Ltd')", (firm,)),
            ("INSERT INTO client_groups (id, firm_id, name, type) VALUES (%s, %s, 'H', 'individual')", (group, firm)),
            ("INSERT INTO product_owners (id, firm_id, first_name, surname) VALUES (%s, %s, 'A', 'B')", (owner, firm)),
            (("INSERT INTO client_group_product_owners (firm_id, client_group_id, product_owner_id) "
             "VALUES (%s, %s, %s)"), (firm, group, owner)),
            (("INSERT INTO products (id, firm_id, client_group_id, name, product_type, start_date, ownership) "
             "VALUES (%s, %s, %s, 'GIA', 'gia', '2023-01-01', %s)"),
             (product, firm, group, json.dumps({"association_type": "individual", "product_owner_id": str(owner)}))),
            ("INSERT INTO funds (id, firm_id, name) VALUES (%s, %s, 'Equity')", (fund, firm)),
            (("INSERT INTO portfolio_funds (id, firm_id, product_id, fund_id, start_date) "
             "VALUES (%s, %s, %s, %s, '2023-01-01')"), (pf, firm, product, fund))]:
        owner_sql(query, params)

    def value_on(day: str, value: int) -> list[tuple[date, str]]:
        owner_sql("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
                  "VALUES (%s, %s, %s, %s)", (firm, pf, day, value))
        return [(r["valuation_date"], str(r["value"])) for r in owner_sql(
            "SELECT valuation_date, value FROM portfolio_valuations WHERE product_id = %s ORDER BY 1", (product,))]

    assert value_on("2023-01-31", 100) == [(date(2023, 1, 31), "100.00")]
    assert migrations.rollback(len(ids) - ids.index(step)) == list(reversed(ids[ids.index(step):]))
    assert value_on("2023-02-28", 200) == [(date(2023, 1, 31), "100.00")]  # no trigger: nothing follows
    owner_sql("SELECT refresh_portfolio_valuations(%s, NULL)", (product,))  # as the previous release's code does
    migrations.apply()
    assert value_on("2023-03-31", 300) == [(date(2023, 1, 31), "100.00"), (date(2023, 2, 28), "200.00"),
                                           (date(2023, 3, 31), "300.00")]


def test_0016_backfills_each_households_money_and_its_rollback_drops_it(scratch):
    """Households written before 0016 get their row from the rule when it is applied (an active product valued
    250.00, a lapsed one valued later); rolled back, the table and its triggers are gone; applied again, the rows
    are back and a new valuation moves them."""
    from chalicelib.core import migrations

    ids = [p.stem for p in _forward_files()]
    step = "0016_household_fum"
    assert step in ids
    migrations.apply()
    assert migrations.rollback(len(ids) - ids.index(step)) == list(reversed(ids[ids.index(step):]))
    firm, group, empty, owner, fund = (uuid.uuid4() for _ in range(5))
    products, pfs = [uuid.uuid4(), uuid.uuid4()], [uuid.uuid4(), uuid.uuid4()]
    ownership = json.dumps({"association_type": "individual", "product_owner_id": str(owner)})
    statements = [
        ("INSERT INTO firms (id, name) VALUES (%s, 'Money Ltd')", (firm,)),
        ("INSERT INTO client_groups (id, firm_id, name, type) VALUES (%s, %s, 'H', 'family'), (%s, %s, 'E', 'trust')",
         (group, firm, empty, firm)),
        ("INSERT INTO product_owners (id, firm_id, first_name, surname) VALUES (%s, %s, 'A', 'B')", (owner, firm)),
        ("INSERT INTO client_group_product_owners (firm_id, client_group_id, product_owner_id) VALUES (%s, %s, %s)",
         (firm, group, owner)),
        ("INSERT INTO funds (id, firm_id, name) VALUES (%s, %s, 'Equity')", (fund, firm))]
    for product, pf, status in zip(products, pfs, ("active", "lapsed"), strict=True):
        statements += [
            (("INSERT INTO products (id, firm_id, client_group_id, name, product_type, start_date, ownership, status) "
             "VALUES (%s, %s, %s, 'GIA', 'gia', '2023-01-01', %s, %s)"), (product, firm, group, ownership, status)),
            (("INSERT INTO portfolio_funds (id, firm_id, product_id, fund_id, start_date) "
             "VALUES (%s, %s, %s, %s, '2023-01-01')"), (pf, firm, product, fund))]
    statements += [
        (("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) VALUES "
         "(%s, %s, '2023-01-31', 100), (%s, %s, '2023-02-28', 250), (%s, %s, '2023-05-31', 900)"),
         (firm, pfs[0], firm, pfs[0], firm, pfs[1]))]
    for query, params in statements:
        owner_sql(query, params)

    def money() -> list[tuple[str, str, int, date | None]]:
        return [(str(r["client_group_id"]), str(r["funds_under_management"]), r["product_count"],
                 r["latest_valuation_date"]) for r in owner_sql(
            "SELECT * FROM client_group_fum WHERE firm_id = %s ORDER BY funds_under_management DESC", (firm,))]

    migrations.apply()
    assert money() == [(str(group), "250.00", 1, date(2023, 5, 31)), (str(empty), "0.00", 0, None)]
    migrations.rollback(len(ids) - ids.index(step))
    assert owner_sql("SELECT to_regclass('client_group_fum') IS NULL AS gone")[0]["gone"]
    owner_sql("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
              "VALUES (%s, %s, '2023-06-30', 300)", (firm, pfs[0]))  # written while rolled back
    migrations.apply()
    assert money() == [(str(group), "300.00", 1, date(2023, 6, 30)), (str(empty), "0.00", 0, None)]
    owner_sql("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
              "VALUES (%s, %s, '2023-07-31', 310)", (firm, pfs[0]))
    assert money()[0] == (str(group), "310.00", 1, date(2023, 7, 31))


def test_migrate_status_prints_json():
    from chalicelib.cli import main

    result = CliRunner().invoke(main, ["migrate", "--status"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert doc == {"applied": len(_forward_files()), "pending": 0, "pending_ids": []}


def test_migrate_status_on_an_empty_database_lists_pending(scratch):
    from chalicelib.cli import main

    result = CliRunner().invoke(main, ["migrate", "--status"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert doc == {"applied": 0, "pending": len(_forward_files()), "pending_ids": [p.stem for p in _forward_files()]}
    # --status changes nothing.
    assert owner_sql("SELECT to_regclass('public.firms') AS t") == [{"t": None}]


def test_migrate_rollback_needs_a_positive_count():
    from chalicelib.cli import main

    result = CliRunner().invoke(main, ["migrate", "--rollback", "0"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    from chalicelib.core import migrations

    assert migrations.status().pending == 0


# --- the schema's own rules (on the worker's migrated database) ---

def _enum_violations(firm_id: uuid.UUID, user_id: uuid.UUID) -> list[tuple[str, str, tuple]]:
    f, u = firm_id, user_id
    return [
        ("client_groups.type", "INSERT INTO client_groups (firm_id, name, type) VALUES (%s, 'X', 'x')", (f,)),
        ("client_groups.status", ("INSERT INTO client_groups (firm_id, name, type, status) "
                                 "VALUES (%s, 'X', 'family', 'x')"), (f,)),
        ("product_owners.status", ("INSERT INTO product_owners (firm_id, first_name, surname, status) "
                                  "VALUES (%s, 'A', 'B', 'x')"), (f,)),
        ("users.role", ("INSERT INTO users (firm_id, email, name, role, password_hash) "
                       "VALUES (%s, 'enum-check@example.com', 'N', 'x', 'h')"), (f,)),
        ("users.email", ("INSERT INTO users (firm_id, email, name, role, password_hash) "
                        "VALUES (%s, 'Upper@Example.com', 'N', 'viewer', 'h')"), (f,)),
        ("api_keys.scopes", ("INSERT INTO api_keys (firm_id, name, prefix, key_hash, scopes, created_by) "
                            "VALUES (%s, 'k', 'wdk_abcdefgh', sha256('k'::bytea), ARRAY['x'], %s)"), (f, u)),
        ("audit_events.actor_type", ("INSERT INTO audit_events (firm_id, actor_type, action, resource_type, "
                                    "resource_id) VALUES (%s, 'x', 'firm.create', 'firm', 'r')"), (f,)),
        ("audit_events.action", ("INSERT INTO audit_events (firm_id, actor_type, action, resource_type, "
                                "resource_id) VALUES (%s, 'system', 'Not An Action', 'firm', 'r')"), (f,)),
        ("job_runs.status", ("INSERT INTO job_runs (job_name, status, trigger, finished_at) "
                            "VALUES ('j', 'x', 'manual', now())"), ()),
        ("job_runs.trigger", ("INSERT INTO job_runs (job_name, status, trigger, finished_at) "
                             "VALUES ('j', 'succeeded', 'x', now())"), ()),
        ("job_runs.running_has_no_end", ("INSERT INTO job_runs (job_name, status, trigger, finished_at) "
                                        "VALUES ('j', 'running', 'manual', now())"), ()),
        ("firms.base_currency", "INSERT INTO firms (name, base_currency) VALUES ('X', 'gbp')", ()),
        ("client_groups.version", ("INSERT INTO client_groups (firm_id, name, type, version) "
                                  "VALUES (%s, 'X', 'family', 0)"), (f,)),
    ]


def test_check_constraints_refuse_bad_values(firm_a):
    from chalicelib.core import db

    cases = _enum_violations(firm_a.id, firm_a.users["admin"]["id"])
    for label, statement, params in cases:
        with db.owner_connection() as conn:
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(statement, params)
                pytest.fail(f"{label}: the bad value was accepted")
    # The same statements with a good value go through (so the refusals above were about the value).
    with db.owner_connection(autocommit=False) as conn:
        conn.execute("INSERT INTO client_groups (firm_id, name, type) VALUES (%s, 'X', 'family')", (firm_a.id,))
        conn.execute("INSERT INTO job_runs (job_name, status, trigger, finished_at) "
                     "VALUES ('j', 'succeeded', 'manual', now())")
        conn.rollback()


def _tenant_tables() -> list[str]:
    rows = owner_sql(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1")
    return [r["name"] for r in rows if r["name"] not in PLATFORM_TABLES]


def test_every_tenant_table_has_firm_id_forced_rls_and_a_tenant_policy():
    tables = _tenant_tables()
    assert {"firms", "users", "client_groups", "product_owners", "audit_events"} <= set(tables)
    for table in tables:
        rls = owner_sql("SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                        "WHERE oid = ('public.' || %s)::regclass", (table,))[0]
        assert rls == {"relrowsecurity": True, "relforcerowsecurity": True}, f"{table}: RLS not enabled and forced"
        column = "id" if table == "firms" else "firm_id"
        col = owner_sql("SELECT data_type, is_nullable FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND table_name = %s AND column_name = %s", (table, column))
        assert col == [{"data_type": "uuid", "is_nullable": "NO"}], f"{table}: no NOT NULL uuid {column}"
        policies = owner_sql("SELECT policyname, roles::text[] AS roles, qual, with_check FROM pg_policies "
                             "WHERE schemaname = 'public' AND tablename = %s", (table,))
        tenant = [p for p in policies if p["policyname"] == "tenant"]
        assert tenant, f"{table}: no tenant policy"
        assert "current_firm_id()" in tenant[0]["qual"] and column in tenant[0]["qual"]
        assert "current_firm_id()" in (tenant[0]["with_check"] or tenant[0]["qual"])
        assert tenant[0]["roles"] == ["public"]
        # Any other policy must not open the table to the app role.
        for p in policies:
            if p["policyname"] != "tenant":
                assert "wealthdesk_app" not in p["roles"] and "public" not in p["roles"], (table, p)


def test_the_app_role_owns_nothing_bypasses_nothing_and_cannot_touch_partitions_directly():
    from chalicelib.core import config

    role = owner_sql("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
                     (config.APP_ROLE,))
    assert role == [{"rolsuper": False, "rolbypassrls": False, "rolcreaterole": False, "rolcreatedb": False}]
    owned = owner_sql("SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                      "WHERE r.rolname = %s", (config.APP_ROLE,))
    assert owned == []
    # Partitions have no policies of their own: the app role must reach audit rows only through the parent.
    partitions = owner_sql("SELECT c.relname, has_table_privilege(%s, c.oid, 'SELECT,INSERT,UPDATE,DELETE') AS can "
                           "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                           "WHERE i.inhparent = 'audit_events'::regclass", (config.APP_ROLE,))
    assert partitions and not any(p["can"] for p in partitions)
    # The app role may not change or delete the audit trail.
    assert owner_sql("SELECT has_table_privilege(%s, 'audit_events', 'UPDATE') AS u, "
                     "has_table_privilege(%s, 'audit_events', 'DELETE') AS d",
                     (config.APP_ROLE, config.APP_ROLE)) == [{"u": False, "d": False}]


def test_audit_partitions_exist_for_this_month_and_the_next_three():
    months = owner_sql("SELECT to_char(date_trunc('month', CURRENT_DATE) + make_interval(months => i), 'YYYYMM') "
                       "AS m FROM generate_series(0, 3) AS i ORDER BY i")
    existing = {r["relname"]: r["bound"] for r in owner_sql(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass")}
    for row in months:
        name = f"audit_events_{row['m']}"
        assert name in existing, f"missing partition {name}"
        first = date(int(row["m"][:4]), int(row["m"][4:]), 1).isoformat()
        assert f"FROM ('{first}" in existing[name], existing[name]


def test_creating_the_app_role_never_sends_its_password(scratch, pg_server, monkeypatch):
    """`wealthdesk migrate` creates the app role with APP_DATABASE_PASSWORD when the owner may. PostgreSQL is sent
    the password's SCRAM verifier (made by libpq), never the password: a CREATE ROLE statement can reach the
    server's log (log_statement = ddl, or as the text of a statement that failed). Checked both ways: a creation
    the owner may not make leaves no password in what was sent nor in the server's log, and a role made stores a
    verifier that matches the password (RFC 5802, computed here)."""
    import base64
    import hashlib
    import hmac
    from urllib.parse import urlsplit

    from psycopg import sql

    from chalicelib.core import config, embedded, migrations
    from tests import logscan

    tag = uuid.uuid4().hex[:10]
    role, weak = f"wd_probe_app_{tag}", f"wd_probe_owner_{tag}"
    password = f"app-role-password-{tag}"
    logscan.register(password)  # and the session's log scan looks for it too
    monkeypatch.setattr(config, "APP_ROLE", role)
    monkeypatch.setenv("APP_DATABASE_PASSWORD", password)
    sent: list[str] = []
    execute = psycopg.Connection.execute

    def recording(self, query, *args, **kwargs):
        sent.append(query.as_string(self) if isinstance(query, sql.Composable) else str(query))
        return execute(self, query, *args, **kwargs)

    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEROLE").format(sql.Identifier(weak)))
    monkeypatch.setattr(psycopg.Connection, "execute", recording)
    try:
        monkeypatch.setenv("DATABASE_URL", config.with_user(scratch, weak))
        with pytest.raises(RuntimeError, match="cannot create it"):
            migrations.ensure_app_role()
        monkeypatch.setenv("DATABASE_URL", scratch)
        assert migrations.ensure_app_role().startswith(f"created role {role}")
        creates = [s for s in sent if s.startswith("CREATE ROLE")]
        assert len(creates) == 1 and "SCRAM-SHA-256$" in creates[0], creates  # none sent to fail
        assert not any(password in s for s in sent)
        if embedded._server is not None:  # the refused statement's text is in the server's log
            assert password not in embedded._server.log.read_text(errors="replace")
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            stored = admin.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()[0]
        iterations, salt, keys = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$(.+)", stored).groups()
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        assert keys == (base64.b64encode(hashlib.sha256(client_key).digest()).decode() + ":"
                        + base64.b64encode(server_key).decode())
    finally:
        monkeypatch.setattr(psycopg.Connection, "execute", execute)
        with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
            dbname = urlsplit(scratch).path.lstrip("/")
            for name in (role, weak):
                if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
                    admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(sql.Identifier(dbname),
                                                                                     sql.Identifier(name)))
                    admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
