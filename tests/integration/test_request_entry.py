"""What a request sends PostgreSQL to open its transaction (migration 0035, core/db.py's Tx): BEGIN and the statement
that verifies the credential, counts the request and enters the firm, in one message, before any statement of the
route's; an API key checked and counted by one autocommitted statement, and its entry's hash always bound. And what
the cheaper functions still check: the domains that replaced the counters' and the context's CHECK constraints, a
backend's first context, NULLs, and parameters written into the statement's text as literals.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.conftest import Firm, owner_sql
from tests.integration.matrix_support import create_household, send
from tests.pgtrace import round_trips_sent


@pytest.fixture
def one_connection(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app's pool with one connection, so that every statement of a request goes through the traced one."""
    from chalicelib.core import db

    monkeypatch.setenv("DB_POOL_MAX", "1")
    db.close_pools()
    yield db.pool()
    db.close_pools()


def _session(firm: Firm, role: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, str]:
    import jwt

    claims = jwt.decode(firm.tokens[role], options={"verify_signature": False})
    return uuid.UUID(claims["sid"]), uuid.UUID(claims["sub"]), uuid.UUID(claims["firm"]), claims["role"]


def _app_connection() -> Any:
    from chalicelib.core import config

    return psycopg.connect(config.app_database_url(), autocommit=True, row_factory=dict_row)


def test_a_read_with_a_token_is_three_round_trips_the_first_with_begin(client: Any, fresh_firm: Firm,
                                                                       one_connection: Any) -> None:
    auth = fresh_firm.auth("adviser")
    group = create_household(client, auth)
    path = f"/v1/client-groups/{group.group_id}"
    assert send(client, "GET", path, headers=auth).status_code == 200  # the connection is fresh: no liveness check

    def read() -> None:
        assert send(client, "GET", path, headers=auth).status_code == 200

    trips = round_trips_sent(one_connection, read, width=200)
    assert len(trips) == 3, trips
    assert trips[0][0].startswith("BEGIN; SELECT auth_enter_session("), trips
    assert trips[1][0].startswith("SELECT id, name, type") and trips[1][0].endswith("WHERE id = $1"), trips
    assert trips[2] == ["COMMIT"], trips


def test_a_read_with_an_api_key_checks_and_counts_the_key_in_one_statement_of_its_own(
        client: Any, fresh_firm: Firm, one_connection: Any) -> None:
    auth = fresh_firm.auth("read")
    path = f"/v1/client-groups/{uuid.uuid4()}"
    assert send(client, "GET", path, headers=auth).status_code == 404

    def read() -> None:
        assert send(client, "GET", path, headers=auth).status_code == 404

    trips = round_trips_sent(one_connection, read, width=10_000)
    # the key checked and counted, committed on its own; then the route's transaction, which shows the key again
    assert [[s[:28] for s in trip] for trip in trips] == [
        ["SELECT k.id, k.firm_id, k.sc"], ["BEGIN"], ["SELECT k.id, k.firm_id, k.sc"], ["SELECT id, name, type, statu"],
        ["COMMIT"]], trips
    # the key's prefix and hash are bound, never in a statement's text (which PostgreSQL logs if it fails)
    secret = fresh_firm.api_keys["read"]
    prefix = secret.split("_")[1]
    assert not any(prefix in s or "bytea" in s for trip in trips for s in trip), trips


def test_the_counters_and_the_context_keep_their_rules_as_domains(fresh_firm: Firm) -> None:
    """The CHECK constraints became domains (0035): each rule still refuses a row that breaks it."""
    user = fresh_firm.users["viewer"]["id"]
    ok = ("user:x", "default", 1)
    bad = [("", "default", 1), ("x" * 121, "default", 1), ("user:x", "everything", 1), ("user:x", "default", 0)]
    insert = ("INSERT INTO rate_counters (principal, bucket, window_start, pid, count, expires_at) "
              "VALUES (%s, %s, now() - interval '2 hours', -7, %s, now() - interval '1 hour')")
    for principal, bucket, count in bad:
        with pytest.raises(psycopg.errors.CheckViolation):
            owner_sql(insert, (principal, bucket, count))
    owner_sql(insert, ok)
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("UPDATE rate_counters SET count = 0 WHERE pid = -7")
    owner_sql("DELETE FROM rate_counters WHERE pid = -7")
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("INSERT INTO auth_context (pid, xact, firm_id, kind, principal_id, entered_at) "
                  "VALUES (-7, '1', %s, 'superuser', %s, now())", (fresh_firm.id, user))
    types = {r["column_name"]: r["domain_name"] for r in owner_sql(
        "SELECT column_name, domain_name FROM information_schema.columns "
        "WHERE (table_name, column_name) IN (('rate_counters', 'principal'), ('rate_counters', 'bucket'), "
        "('rate_counters', 'count'), ('auth_context', 'kind'))")}
    assert types == {"principal": "rate_counter_principal", "bucket": "rate_counter_bucket",
                     "count": "rate_counter_count", "kind": "auth_context_kind"}


def test_a_new_connection_enters_and_counts_on_its_first_request(fresh_firm: Firm) -> None:
    """A backend's first context (no auth_context row yet) and its first count of a window (no counter row yet) take
    the slower paths (auth_enter, rate_count_first); the answer and the entry are the same."""
    session, user, firm, role = _session(fresh_firm, "viewer")
    principal = f"user:{user}"
    call = "SELECT auth_enter_session(%s, %s, %s, %s, 'auth', 1000) AS s"
    with _app_connection() as conn:
        pid = conn.execute("SELECT pg_backend_pid() AS p").fetchone()["p"]
        assert owner_sql("SELECT count(*) AS n FROM auth_context WHERE pid = %s", (pid,)) == [{"n": 0}]
        before = owner_sql("SELECT coalesce(sum(count), 0) AS n FROM rate_counters WHERE principal = %s "
                           "AND bucket = 'auth' AND expires_at > now()", (principal,))[0]["n"]
        with conn.transaction():
            state, limit, used, reset = conn.execute(call, (session, user, firm, role)).fetchone()["s"]
            assert (state, int(limit), int(used)) == ("ok", 10_000, before + 1) and 1 <= int(reset) <= 60
            assert conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] == firm
        with conn.transaction():  # the hot path: this backend's rows exist now
            state, _limit, used, _reset = conn.execute(call, (session, user, firm, role)).fetchone()["s"]
            assert (state, int(used)) == ("ok", before + 2)
            assert conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] == firm
        assert conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] is None  # ended with its transaction
    rows = owner_sql("SELECT count FROM rate_counters WHERE principal = %s AND bucket = 'auth' AND pid = %s "
                     "AND expires_at > now()", (principal, pid))
    assert rows == [{"count": 2}]


def test_a_refused_session_counts_nothing_and_enters_nothing(fresh_firm: Firm) -> None:
    session, user, firm, role = _session(fresh_firm, "analyst")
    other_firm = uuid.uuid4()
    count = ("SELECT coalesce(sum(count), 0) AS n FROM rate_counters WHERE principal = %s AND expires_at > now()",
             (f"user:{user}",))
    before = owner_sql(*count)
    with _app_connection() as conn:
        for args in ((session, user, other_firm, role), (session, user, firm, "admin"),
                     (uuid.uuid4(), user, firm, role), (None, user, firm, role), (session, None, firm, role),
                     (session, user, None, role), (session, user, firm, None)):
            with conn.transaction():
                row = conn.execute("SELECT * FROM auth_enter_session(%s, %s, %s, %s, 'default', 1)", args).fetchone()
                assert row == {"state": "refused", "rate_limit": None, "rate_used": None, "rate_reset": None}, args
                assert conn.execute("SELECT current_firm_id() AS f").fetchone()["f"] is None
                assert conn.execute("SELECT count(*) AS n FROM users").fetchone()["n"] == 0
    assert owner_sql(*count) == before


def test_an_unknown_bucket_is_an_error_not_a_free_pass(fresh_firm: Firm) -> None:
    session, user, firm, role = _session(fresh_firm, "viewer")
    with _app_connection() as conn, pytest.raises(psycopg.errors.RaiseException, match="no rate limit"):
        conn.execute("SELECT auth_enter_session(%s, %s, %s, %s, 'unlimited', 1)", (session, user, firm, role))


def test_parameters_written_as_literals_are_quoted(fresh_firm: Firm) -> None:
    """The entering statement travels with BEGIN in one simple-protocol message, its parameters written into the
    text by psycopg's ClientCursor: a credential made of SQL is a refused credential, never SQL."""
    from chalicelib.core import db
    from chalicelib.core.context import Principal, RequestContext
    from chalicelib.core.errors import Unauthorized

    session, user, firm, _role = _session(fresh_firm, "admin")
    for role in ("admin'); DELETE FROM rate_counters; --", "admin\\", "admin' OR 'x' = 'x", "ad\u00e9min"):
        principal = Principal(firm_id=firm, kind="user", id=user, role=role, session_id=session)
        with pytest.raises(Unauthorized), db.transaction(RequestContext(principal=principal)):
            pass
    principal = Principal(firm_id=firm, kind="user", id=user, role="admin", session_id=session)
    with db.transaction(RequestContext(principal=principal)) as tx:
        assert tx.one("SELECT current_firm_id() AS f") == {"f": firm}


def test_a_transaction_begins_with_its_first_statement_and_ends_whole(fresh_firm: Firm) -> None:
    """db.transaction over an autocommit connection: its statements are one transaction (a failure rolls back all
    of it, psycopg.Rollback quietly), and a lookup's first statement is preceded by BEGIN."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext

    ctx = RequestContext.system(fresh_firm.id)
    name = f"Entry {uuid.uuid4()}"
    insert = ("INSERT INTO client_groups (firm_id, name, type) VALUES (%s, %s, 'family') RETURNING id")
    with pytest.raises(ZeroDivisionError), db.transaction(ctx) as tx:
        tx.one(insert, (fresh_firm.id, name))
        raise ZeroDivisionError
    with db.transaction(ctx) as tx:
        tx.one(insert, (fresh_firm.id, name))
        raise psycopg.Rollback
    assert owner_sql("SELECT count(*) AS n FROM client_groups WHERE name = %s", (name,)) == [{"n": 0}]
    with db.transaction(ctx) as tx:
        tx.one(insert, (fresh_firm.id, name))
        assert tx.one("SELECT now() = statement_timestamp() AS first")["first"] is False  # one transaction
    assert owner_sql("SELECT count(*) AS n FROM client_groups WHERE name = %s", (name,)) == [{"n": 1}]
    with db.lookup(RequestContext()) as tx:
        a = tx.one("SELECT pg_current_xact_id()::text AS x")["x"]
        b = tx.one("SELECT pg_current_xact_id()::text AS x")["x"]
        assert a == b  # both statements in the lookup's one transaction


def test_an_api_key_made_of_sql_is_an_invalid_key(client: Any, fresh_firm: Firm) -> None:
    """An API key's prefix comes from the Authorization header as it is; written into the statement's text as a
    literal, it is a key no row has."""
    for prefix in ("wdk_'); --xx", "wdk_\\'||'xx'", "wdk_\u00e9\u00e8\u00ea\u00eb'xyz"):
        key = prefix + "_" + "a" * 40
        assert len(key) == 53
        resp = send(client, "GET", "/v1/client-groups", headers={"Authorization": f"Bearer {key}"})
        assert resp.status_code == 401, (prefix, resp.status_code)
    real = fresh_firm.api_keys["read"]
    assert send(client, "GET", "/v1/client-groups", headers=fresh_firm.auth("read")).status_code == 200
    forged = real[:12] + "_" + "b" * 40
    assert send(client, "GET", "/v1/client-groups", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def _principal(firm: Firm, whose: str, **changes: Any) -> Any:
    from chalicelib.core.context import Principal

    session, user, firm_id, claimed = _session(firm, whose)
    fields = {"firm_id": firm_id, "kind": "user", "id": user, "role": claimed, "session_id": session, **changes}
    return Principal(**fields)


_GROUPS = "SELECT count(*) AS n FROM client_groups WHERE firm_id = %s AND name = %s"


def test_a_refused_session_writes_nothing(client: Any, fresh_firm: Firm) -> None:
    auth = fresh_firm.auth("adviser")
    group = create_household(client, auth)
    owner_sql("UPDATE sessions SET revoked_at = now() WHERE user_id = %s", (fresh_firm.users["adviser"]["id"],))
    name = f"After revocation {uuid.uuid4()}"
    resp = send(client, "POST", "/v1/client-groups", headers=auth, body={"name": name, "type": "family"})
    assert resp.status_code == 401, resp.body
    assert owner_sql(_GROUPS, (fresh_firm.id, name)) == [{"n": 0}]
    assert send(client, "GET", f"/v1/client-groups/{group.group_id}", headers=auth).status_code == 401


def test_a_refused_credential_is_refused_before_the_body_runs(fresh_firm: Firm) -> None:
    """db.transaction with a refused credential raises Unauthorized on entering, so nothing of the body runs; with a
    valid one, a failing statement's own error stands and the connection is clean for the next transaction."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.core.errors import Unauthorized

    refused = RequestContext(principal=_principal(fresh_firm, "analyst", role="admin"))
    ran = []
    with pytest.raises(Unauthorized), db.transaction(refused):
        ran.append(True)
    assert ran == []

    valid = RequestContext(principal=_principal(fresh_firm, "analyst"))
    name = f"Valid {uuid.uuid4()}"
    insert = "INSERT INTO client_groups (firm_id, name, type) VALUES (%s, %s, 'family') RETURNING id"
    with pytest.raises(psycopg.errors.DivisionByZero), db.transaction(valid) as tx:
        tx.one("SELECT 1 / 0 AS n")
    with db.transaction(valid) as tx:
        assert tx.one(insert, (fresh_firm.id, name)) is not None
        assert tx.one("SELECT current_firm_id() AS f") == {"f": fresh_firm.id}
    assert owner_sql(_GROUPS, (fresh_firm.id, name)) == [{"n": 1}]
