"""Tenancy that PostgreSQL enforces against the app role's own credentials (migration 0018).

Every test here connects as the app role, with the credentials the API uses, and tries what an SQL injection or a
stolen app credential could: set app.firm_id (or any setting), SET ROLE, read tables and hash columns directly,
write the verified context, call the SECURITY DEFINER functions with forged or foreign credentials, reuse a
verified transaction's connection, shadow the context table. None of it shows a row of another firm or any hash.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.conftest import PASSWORD, Firm, owner_sql


@pytest.fixture
def app_conn() -> Iterator[Any]:
    """A connection as the app role (autocommit: each test says where its transactions begin)."""
    from chalicelib.core import config

    with psycopg.connect(config.app_database_url(), autocommit=True, row_factory=dict_row) as conn:
        assert conn.execute("SELECT current_user AS u").fetchone()["u"] == config.APP_ROLE
        yield conn


def tenant_tables() -> list[str]:
    """Every table with a tenant policy (a firm's rows), and the firm-filtered views."""
    tables = [r["tablename"] for r in owner_sql(
        "SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = 'tenant' ORDER BY 1")]
    assert {"client_groups", "users", "sessions", "api_keys", "products", "audit_events", "firms"} <= set(tables)
    return tables


def firm_rows_visible(conn: Any, firm: Firm) -> dict[str, int]:
    """How many rows of `firm` the connection sees, per tenant table and view (only the non-zero ones)."""
    seen = {}
    for table in tenant_tables():
        column = "id" if table == "firms" else "firm_id"
        n = conn.execute(f"SELECT count(*) AS n FROM {table} WHERE {column} = %s", (firm.id,)).fetchone()["n"]
        if n:
            seen[table] = n
    for view in ("client_group_summaries", "firm_dashboard", "product_positions"):
        n = conn.execute(f"SELECT count(*) AS n FROM {view} WHERE firm_id = %s", (firm.id,)).fetchone()["n"]
        if n:
            seen[view] = n
    return seen


def session_of(firm: Firm, role: str) -> dict[str, Any]:
    """The session, user, firm and role that firm's `role` user's access token carries."""
    import jwt

    claims = jwt.decode(firm.tokens[role], options={"verify_signature": False})
    return {"session": uuid.UUID(claims["sid"]), "user": uuid.UUID(claims["sub"]), "firm": uuid.UUID(claims["firm"]),
            "role": claims["role"]}


def enter(conn: Any, s: dict[str, Any]) -> bool:
    return conn.execute("SELECT auth_enter_session(%s, %s, %s, %s) AS ok",
                        (s["session"], s["user"], s["firm"], s["role"])).fetchone()["ok"]


def test_the_firms_have_rows_to_hide(firm_a: Firm, firm_b: Firm) -> None:
    """The premise of every test below: the owner sees both firms' rows."""
    for firm in (firm_a, firm_b):
        assert owner_sql("SELECT count(*) AS n FROM users WHERE firm_id = %s", (firm.id,))[0]["n"] >= 4
        assert owner_sql("SELECT count(*) AS n FROM sessions WHERE firm_id = %s", (firm.id,))[0]["n"] >= 4


def test_setting_app_firm_id_shows_nothing(app_conn: Any, firm_a: Firm, firm_b: Firm) -> None:
    for local in (False, True):
        with app_conn.transaction():
            app_conn.execute("SELECT set_config('app.firm_id', %s, %s)", (str(firm_a.id), local))
            app_conn.execute("SELECT set_config('app.user_id', %s, %s)", (str(firm_a.users["admin"]["id"]), local))
            assert app_conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] is None
            assert firm_rows_visible(app_conn, firm_a) == {}
            assert firm_rows_visible(app_conn, firm_b) == {}
    app_conn.execute(f"SET app.firm_id = '{firm_a.id}'")
    assert firm_rows_visible(app_conn, firm_a) == {}


def test_inside_its_own_verified_firm_a_setting_reaches_no_other(app_conn: Any, firm_a: Firm, firm_b: Firm) -> None:
    with app_conn.transaction():
        assert enter(app_conn, session_of(firm_b, "admin"))
        assert app_conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] == firm_b.id
        own = firm_rows_visible(app_conn, firm_b)  # its own firm: visible
        assert own["users"] >= 4 and own["firms"] == 1
        app_conn.execute("SELECT set_config('app.firm_id', %s, true)", (str(firm_a.id),))
        assert firm_rows_visible(app_conn, firm_a) == {}
        # nor can it write into firm A
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"), \
                app_conn.transaction():
            app_conn.execute("INSERT INTO client_groups (firm_id, name, type) VALUES (%s, 'X', 'individual')",
                             (firm_a.id,))
        assert app_conn.execute("UPDATE client_groups SET notes = 'x' WHERE firm_id = %s",
                                (firm_a.id,)).rowcount == 0
        assert app_conn.execute("DELETE FROM client_group_product_owners WHERE firm_id = %s",
                                (firm_a.id,)).rowcount == 0


def test_no_role_to_switch_to(app_conn: Any) -> None:
    from chalicelib.core import config

    for role in (config.OWNER_ROLE, "postgres", "pg_read_all_data"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
            app_conn.execute(f'SET ROLE "{role}"')
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
            app_conn.execute("SELECT set_config('role', %s, false)", (role,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
        app_conn.execute(f"SET SESSION AUTHORIZATION {config.OWNER_ROLE}")
    app_conn.execute("RESET ROLE")
    app_conn.execute("RESET ALL")
    assert app_conn.execute("SELECT current_user AS u").fetchone()["u"] == config.APP_ROLE


def test_no_hash_is_readable_even_inside_its_own_firm(app_conn: Any, firm_a: Firm) -> None:
    with app_conn.transaction():
        assert enter(app_conn, session_of(firm_a, "viewer"))
        for table, column in (("users", "password_hash"), ("api_keys", "key_hash"), ("sessions", "token_hash")):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
                app_conn.execute(f"SELECT {column} FROM {table}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
                app_conn.execute(f"SELECT * FROM {table}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
                app_conn.execute(f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL")
            with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
                app_conn.execute(f"UPDATE {table} SET id = id RETURNING {column}")
        # what the API needs stays readable
        assert app_conn.execute("SELECT count(*) AS n FROM users").fetchone()["n"] >= 4


def test_the_verified_context_cannot_be_written_or_entered_without_a_credential(app_conn: Any,
                                                                               firm_a: Firm) -> None:
    insert = ("INSERT INTO auth_context (pid, xact, firm_id, kind) "
              "VALUES (pg_backend_pid(), pg_current_xact_id(), %s, 'user')")
    replace_function = ("CREATE OR REPLACE FUNCTION current_firm_id() RETURNS uuid LANGUAGE sql "
                        f"AS $$ SELECT '{firm_a.id}'::uuid $$")
    statements = [
        (insert, (firm_a.id,)),
        ("UPDATE auth_context SET firm_id = %s", (firm_a.id,)),
        ("DELETE FROM auth_context", None),
        ("TRUNCATE auth_context", None),
        ("SELECT auth_enter(%s, 'user', NULL)", (firm_a.id,)),
        ("SELECT auth_enter_system(%s)", (firm_a.id,)),
        ("ALTER TABLE auth_context DISABLE ROW LEVEL SECURITY", None),
        (replace_function, None),
        ("CREATE FUNCTION public.sneaky() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", None),
    ]
    for sql, params in statements:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_conn.transaction():
            app_conn.execute(sql, params)
    assert app_conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] is None


def test_a_temporary_table_cannot_stand_in_for_the_context(app_conn: Any, firm_a: Firm) -> None:
    app_conn.execute("CREATE TEMP TABLE auth_context (pid integer, xact xid8, firm_id uuid, kind text, "
                     "principal_id uuid)")
    with app_conn.transaction():
        app_conn.execute("SELECT set_config('search_path', 'pg_temp, public', true)")
        app_conn.execute("INSERT INTO auth_context VALUES (pg_backend_pid(), pg_current_xact_id(), %s, 'user', NULL)",
                         (firm_a.id,))
        assert app_conn.execute("SELECT count(*) AS n FROM auth_context").fetchone()["n"] == 1  # its own table
        assert app_conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] is None
        assert firm_rows_visible(app_conn, firm_a) == {}


def test_the_session_check_binds_session_user_firm_and_role(app_conn: Any, firm_a: Firm, firm_b: Firm) -> None:
    a, b = session_of(firm_a, "admin"), session_of(firm_b, "admin")
    forged = [
        {**b, "firm": firm_a.id},  # firm B's user and session, firm A's id
        {**a, "session": b["session"]},  # another firm's session
        {**a, "user": b["user"]},  # another firm's user
        {**a, "session": uuid.uuid4()},  # a made-up session
        {**a, "role": "viewer"},  # another role
        {**session_of(firm_a, "viewer"), "user": a["user"], "role": "admin"},  # a colleague's session
    ]
    for s in forged:
        with app_conn.transaction():
            assert enter(app_conn, s) is False, s
            assert app_conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] is None
            assert firm_rows_visible(app_conn, firm_a) == {}
            assert firm_rows_visible(app_conn, firm_b) == {}
    with app_conn.transaction():
        assert enter(app_conn, a)
        assert firm_rows_visible(app_conn, firm_a)["users"] >= 4
        assert firm_rows_visible(app_conn, firm_b) == {}


def test_a_context_ends_with_its_transaction(app_conn: Any, firm_a: Firm) -> None:
    """A pooled connection's next transaction (committed or rolled back, or a savepoint rolled back) starts with
    no firm: the row of the verified context names the transaction that wrote it."""
    a = session_of(firm_a, "analyst")
    with app_conn.transaction():
        assert enter(app_conn, a)
        assert firm_rows_visible(app_conn, firm_a)
    assert app_conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] is None  # autocommit statement
    with app_conn.transaction():
        assert app_conn.execute("SELECT count(*) AS n FROM auth_context").fetchone()["n"] == 1  # its stale row
        assert firm_rows_visible(app_conn, firm_a) == {}
    with pytest.raises(RuntimeError), app_conn.transaction():
        assert enter(app_conn, a)
        raise RuntimeError("rolled back")
    with app_conn.transaction():
        assert firm_rows_visible(app_conn, firm_a) == {}
        with pytest.raises(RuntimeError), app_conn.transaction():  # a savepoint
            assert enter(app_conn, a)
            assert firm_rows_visible(app_conn, firm_a)
            raise RuntimeError("back to the savepoint")
        assert firm_rows_visible(app_conn, firm_a) == {}


def test_the_app_role_sees_only_its_own_backends_context(app_conn: Any, firm_a: Firm) -> None:
    from chalicelib.core import config

    with psycopg.connect(config.app_database_url(), row_factory=dict_row) as other:
        assert enter(other, session_of(firm_a, "admin"))  # its transaction stays open
        assert owner_sql("SELECT count(*) AS n FROM auth_context WHERE firm_id = %s", (firm_a.id,))[0]["n"] >= 1
        assert app_conn.execute("SELECT count(*) AS n FROM auth_context WHERE firm_id = %s",
                                (firm_a.id,)).fetchone()["n"] == 0
        assert firm_rows_visible(app_conn, firm_a) == {}
        other.rollback()


def test_api_keys_are_compared_by_hash_in_the_database(app_conn: Any, firm_a: Firm) -> None:
    key = firm_a.api_keys["read"]
    prefix = key[:12]
    call = "SELECT * FROM auth_enter_api_key(%s, %s)"
    with app_conn.transaction():
        for wrong in (b"\0" * 32, hashlib.sha256(key[:-1].encode()).digest(), b""):
            assert app_conn.execute(call, (prefix, wrong)).fetchall() == []
        assert app_conn.execute(call, ("wdk_%", hashlib.sha256(key.encode()).digest())).fetchall() == []
        assert firm_rows_visible(app_conn, firm_a) == {}
    with app_conn.transaction():
        (row,) = app_conn.execute(call, (prefix, hashlib.sha256(key.encode()).digest())).fetchall()
        assert row["state"] == "ok" and row["firm_id"] == firm_a.id
        assert set(row) == {"id", "firm_id", "scopes", "service", "state"}  # no hash comes back
        assert firm_rows_visible(app_conn, firm_a)["api_keys"] >= 2


def test_the_email_lookup_gives_one_user_and_no_hash(app_conn: Any, firm_a: Firm) -> None:
    email = firm_a.users["admin"]["email"]
    rows = app_conn.execute("SELECT * FROM auth_user_by_email(%s)", (email,)).fetchall()
    assert len(rows) == 1
    stored = owner_sql("SELECT password_hash FROM users WHERE email = %s", (email,))[0]["password_hash"]
    setting = rows[0]["password_setting"]
    assert stored.startswith(setting + "$") and len(stored) - len(setting) > 40  # the hash part stays behind
    assert "password_hash" not in rows[0] and all(stored.rsplit("$", 1)[1] not in str(v) for v in rows[0].values())
    for pattern in ("%", "%@%", email.upper() + "%", "_" + email[1:]):
        assert app_conn.execute("SELECT * FROM auth_user_by_email(%s)", (pattern,)).fetchall() == []


def test_a_password_guess_through_the_database_is_counted_and_locks(app_conn: Any, fresh_firm: Firm) -> None:
    """The app role could compute argon2 itself from the salt: each comparison needs a check reserved by
    auth_login_begin (which gives the salt, never the hash) and spends it, each wrong one is counted, and after
    five wrong ones from an address nothing is compared, the right password included."""
    from chalicelib.core import auth

    user = fresh_firm.users["viewer"]
    source = "203.0.113.99"
    begin = "SELECT * FROM auth_login_begin(%s, %s)"
    call = "SELECT * FROM auth_enter_password(%s, %s, %s, %s, 'r', NULL, NULL)"
    (found,) = app_conn.execute(begin, (user["email"], source)).fetchall()
    assert "password_hash" not in found
    right = auth.encode_with_setting(found["password_setting"], PASSWORD)
    with app_conn.transaction():
        assert app_conn.execute(call, (user["id"], source, found["attempt"], right)).fetchone()["outcome"] == "ok"
        assert firm_rows_visible(app_conn, fresh_firm)["users"] >= 4
    with app_conn.transaction():  # the reservation was spent: no second comparison on it
        assert app_conn.execute(call, (user["id"], source, found["attempt"], right)).fetchone()["outcome"] == "refused"
        assert firm_rows_visible(app_conn, fresh_firm) == {}
    for i in range(5):
        (found,) = app_conn.execute(begin, (user["email"], source)).fetchall()
        wrong = auth.encode_with_setting(found["password_setting"], f"guess {i}")
        with app_conn.transaction():
            outcome = app_conn.execute(call, (user["id"], source, found["attempt"], wrong)).fetchone()["outcome"]
            assert outcome == "wrong"
            assert firm_rows_visible(app_conn, fresh_firm) == {}
    assert app_conn.execute(begin, (user["email"], source)).fetchall() == []  # the address is locked out
    for attempt in (found["attempt"], found["attempt"] + 1):
        with app_conn.transaction():
            assert app_conn.execute(call, (user["id"], source, attempt, right)).fetchone()["outcome"] == "refused"
            assert firm_rows_visible(app_conn, fresh_firm) == {}
    assert owner_sql("SELECT count(*) AS n FROM audit_events WHERE firm_id = %s AND action = 'auth.login_failed'",
                     (fresh_firm.id,))[0]["n"] == 5


def test_a_refresh_token_enters_only_with_the_token(app_conn: Any, firm_a: Firm) -> None:
    call = "SELECT * FROM auth_enter_refresh(%s, 'r', NULL, NULL)"
    with app_conn.transaction():
        for made_up in (b"\0" * 32, hashlib.sha256(b"wdr_x").digest()):
            assert app_conn.execute(call, (made_up,)).fetchone()["outcome"] == "invalid"
        assert firm_rows_visible(app_conn, firm_a) == {}


def test_the_system_context_is_the_owners_and_acts_as_the_app_role(firm_a: Firm, firm_b: Firm) -> None:
    from chalicelib.core import config, db
    from chalicelib.core.context import RequestContext

    with db.transaction(RequestContext.system(firm_a.id)) as tx:
        assert tx.one("SELECT current_user AS u, session_user AS s") == {"u": config.APP_ROLE,
                                                                          "s": config.OWNER_ROLE}
        firms = {r["firm_id"] for r in tx.all("SELECT DISTINCT firm_id FROM users")}
        assert firms == {firm_a.id}
    with pytest.raises(RuntimeError, match="owner"), db.transaction(RequestContext.system(firm_b.id), kind="app"):
        pass


def test_a_new_connections_first_context_forgets_rows_entered_over_a_day_ago(firm_a: Firm) -> None:
    """Rows of ended backends (or long-idle ones, which simply insert again) go when a new connection enters."""
    from chalicelib.core import config

    with psycopg.connect(config.app_database_url(), row_factory=dict_row) as old:
        assert enter(old, session_of(firm_a, "viewer"))
        old_pid = old.execute("SELECT pg_backend_pid() AS p").fetchone()["p"]
        old.commit()
        with psycopg.connect(config.app_database_url(), row_factory=dict_row) as recent:
            assert enter(recent, session_of(firm_a, "viewer"))
            recent_pid = recent.execute("SELECT pg_backend_pid() AS p").fetchone()["p"]
            recent.commit()
            owner_sql("UPDATE auth_context SET entered_at = now() - interval '25 hours' WHERE pid = %s", (old_pid,))
            owner_sql("UPDATE auth_context SET entered_at = now() - interval '23 hours' WHERE pid = %s",
                      (recent_pid,))
            with psycopg.connect(config.app_database_url(), row_factory=dict_row) as new:
                assert enter(new, session_of(firm_a, "viewer"))  # this backend's first context
                new.commit()
            left = {r["pid"] for r in owner_sql("SELECT pid FROM auth_context WHERE pid IN (%s, %s)",
                                                (old_pid, recent_pid))}
            assert left == {recent_pid}
        # the old backend, still connected, just enters again
        with old.transaction():
            assert enter(old, session_of(firm_a, "viewer"))
            assert firm_rows_visible(old, firm_a)["users"] >= 4


def test_nulls_verify_nothing(app_conn: Any, fresh_firm: Firm) -> None:
    """A NULL where a credential belongs is a refusal, never a comparison that slips through as unknown."""
    firm_a = fresh_firm
    a = session_of(firm_a, "admin")
    key = firm_a.api_keys["write"]
    user = firm_a.users["viewer"]["id"]
    attempt = app_conn.execute("SELECT attempt FROM auth_login_begin(%s, 'nulls')",
                               (firm_a.users["viewer"]["email"],)).fetchone()["attempt"]  # a check to spend
    calls = [
        ("SELECT * FROM auth_enter_api_key(%s, NULL)", (key[:12],)),
        ("SELECT * FROM auth_enter_api_key(NULL, %s)", (hashlib.sha256(key.encode()).digest(),)),
        ("SELECT auth_enter_session(%s, %s, NULL, %s)", (a["session"], a["user"], a["role"])),
        ("SELECT auth_enter_session(NULL, %s, %s, %s)", (a["user"], a["firm"], a["role"])),
        ("SELECT auth_enter_session(%s, %s, %s, NULL)", (a["session"], a["user"], a["firm"])),
        ("SELECT * FROM auth_enter_password(%s, %s, %s, NULL, 'r', NULL, NULL)", (user, "nulls", attempt)),
        ("SELECT * FROM auth_enter_refresh(NULL, 'r', NULL, NULL)", None),
    ]
    for sql, params in calls:
        with app_conn.transaction():
            rows = app_conn.execute(sql, params).fetchall()
            assert all(v in (None, False, "wrong", "invalid") for r in rows for v in r.values()), (sql, rows)
            assert app_conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] is None, sql
            assert firm_rows_visible(app_conn, firm_a) == {}, sql
