"""Who can lock whom out: failures count per account AND source address; the account itself locks only after many.

The source address is API Gateway's requestContext.identity.sourceIp (the chalice test client's event converter
puts it there; `from_address` sets it per request). X-Forwarded-For is written by the caller and must change
nothing. Five failed checks from one address lock that address out of the account for 30 minutes; any other
address still signs in. Fifty failed checks within an hour, from any addresses, lock the account for an hour, and
its user and the firm's admins get a notification and the trail an auth.account_locked event.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.conftest import PASSWORD, Firm, assert_problem, owner_sql
from tests.integration.login_support import JSON, login_from, pair, without_request_id

A, B = "192.0.2.10", "192.0.2.20"


def account(user_id: Any) -> dict[str, Any]:
    return owner_sql("SELECT failed_logins, locked_until, last_login_at FROM users WHERE id = %s", (user_id,))[0]


def events(firm: Firm, action: str, user_id: Any) -> list[dict[str, Any]]:
    return owner_sql("SELECT before, after, ip FROM audit_events WHERE firm_id = %s AND action = %s "
                     "AND resource_id = %s ORDER BY occurred_at, id", (firm.id, action, str(user_id)))


def lapse_pair(user_id: Any, ip: str) -> None:
    """As if 30 minutes had passed for the pair."""
    owner_sql("UPDATE login_throttle SET locked_until = now() - interval '1 second', "
              "window_started = now() - interval '31 minutes' WHERE user_id = %s AND source = %s", (user_id, ip))


def fail_from(client: Any, ip: str, email: str, n: int) -> None:
    for i in range(n):
        assert_problem(login_from(client, ip, email, f"guess-{ip}-{i}"), 401)


# --- per account and source address -------------------------------------------------------------------------------

def test_five_failures_from_one_address_lock_that_address_only(client: Any, fresh_firm: Firm) -> None:
    user = fresh_firm.users["adviser"]
    email = user["email"]
    for i in range(1, 5):
        assert_problem(login_from(client, A, email, f"wrong-{i}"), 401)
        assert pair(user["id"], A) == {"checks": i, "pending": 0, "locked_until": None}
    fifth = login_from(client, A, email, "wrong-5")
    assert_problem(fifth, 401)
    locked = pair(user["id"], A)["locked_until"]
    now = datetime.now(UTC)
    assert now + timedelta(minutes=29) < locked <= now + timedelta(minutes=31)
    assert [e["after"]["source_locked_until"] is not None for e in events(fresh_firm, "auth.login_failed",
                                                                          user["id"])] == [False] * 4 + [True]
    assert {e["ip"] for e in events(fresh_firm, "auth.login_failed", user["id"])} == {A}

    # A is locked out: the right password is refused with the very answer a wrong one gets
    refused = login_from(client, A, email, PASSWORD)
    assert_problem(refused, 401)
    unknown = login_from(client, A, "nobody@nowhere.example.com", PASSWORD)
    assert without_request_id(refused) == without_request_id(fifth) == without_request_id(unknown)
    assert len(events(fresh_firm, "auth.login_failed", user["id"])) == 5  # no check ran, nothing counted
    # ...but the account is not locked: B signs in
    ok = login_from(client, B, email, PASSWORD)
    assert ok.status_code == 200, ok.body
    assert account(user["id"])["locked_until"] is None
    assert pair(user["id"], B) is None  # B's window ended with its success
    # and A's lock is not lifted by B's success
    assert_problem(login_from(client, A, email, PASSWORD), 401)

    # the lock lapses after 30 minutes
    lapse_pair(user["id"], A)
    ok = login_from(client, A, email, PASSWORD)
    assert ok.status_code == 200, ok.body
    assert pair(user["id"], A) is None


def test_x_forwarded_for_changes_nothing(client: Any, fresh_firm: Firm) -> None:
    """The caller writes X-Forwarded-For: rotating it neither spreads failures over addresses nor escapes a lock."""
    user = fresh_firm.users["viewer"]
    for i in range(5):
        resp = login_from(client, A, user["email"], f"wrong-{i}", {"X-Forwarded-For": f"203.0.113.{i}"})
        assert_problem(resp, 401)
    assert pair(user["id"], A)["locked_until"] is not None
    assert owner_sql("SELECT count(*) AS n FROM login_throttle WHERE user_id = %s", (user["id"],))[0]["n"] == 1
    assert_problem(login_from(client, A, user["email"], PASSWORD, {"X-Forwarded-For": B}), 401)
    assert login_from(client, B, user["email"], PASSWORD, {"X-Forwarded-For": A}).status_code == 200


def test_failures_from_several_addresses_each_count_on_their_own(client: Any, fresh_firm: Firm) -> None:
    user = fresh_firm.users["analyst"]
    fail_from(client, A, user["email"], 4)
    fail_from(client, B, user["email"], 4)
    assert pair(user["id"], A)["locked_until"] is None and pair(user["id"], B)["locked_until"] is None
    assert account(user["id"])["failed_logins"] == 8  # the account's count, within the hour
    assert login_from(client, A, user["email"], PASSWORD).status_code == 200
    assert login_from(client, B, user["email"], PASSWORD).status_code == 200


def test_a_success_ends_its_window_but_never_a_locked_one(client: Any, fresh_firm: Firm) -> None:
    user = fresh_firm.users["viewer"]
    fail_from(client, A, user["email"], 4)
    assert login_from(client, A, user["email"], PASSWORD).status_code == 200
    fail_from(client, A, user["email"], 4)  # a fresh window: four more do not lock
    assert pair(user["id"], A) == {"checks": 4, "pending": 0, "locked_until": None}
    assert login_from(client, A, user["email"], PASSWORD).status_code == 200
    # a window with 4 failures and one more failure locks, whatever success follows
    fail_from(client, A, user["email"], 5)
    assert_problem(login_from(client, A, user["email"], PASSWORD), 401)
    assert pair(user["id"], A)["locked_until"] is not None


def test_unknown_emails_leave_no_trace(client: Any, fresh_firm: Firm) -> None:
    before = owner_sql("SELECT count(*) AS n FROM login_throttle")[0]["n"]
    for i in range(7):
        assert_problem(login_from(client, A, f"nobody-{i}@nowhere.example.com", PASSWORD), 401)
    assert owner_sql("SELECT count(*) AS n FROM login_throttle")[0]["n"] == before


# --- the account itself --------------------------------------------------------------------------------------------

def test_fifty_failures_in_an_hour_lock_the_account_and_tell_its_user(client: Any, fresh_firm: Firm) -> None:
    user = fresh_firm.users["adviser"]
    email = user["email"]
    addresses = [f"198.51.100.{i}" for i in range(1, 11)]
    for ip in addresses[:9]:
        fail_from(client, ip, email, 5)
    fail_from(client, addresses[9], email, 4)
    assert account(user["id"])["failed_logins"] == 49
    assert account(user["id"])["locked_until"] is None
    # 49 do not lock the account: the user signs in from elsewhere (and that does not reset the hour's count)
    first = login_from(client, "203.0.113.50", email, PASSWORD)
    assert first.status_code == 200, first.body
    assert not events(fresh_firm, "auth.account_locked", user["id"])

    fail_from(client, addresses[9], email, 1)  # the fiftieth
    locked = account(user["id"])
    now = datetime.now(UTC)
    assert locked["failed_logins"] == 50
    assert now + timedelta(minutes=59) < locked["locked_until"] <= now + timedelta(minutes=61)
    [event] = events(fresh_firm, "auth.account_locked", user["id"])
    assert event["after"]["failures"] == 50 and event["after"]["addresses"] == 10
    # locked: the right password from an address never used is refused, and no check runs
    failed = len(events(fresh_firm, "auth.login_failed", user["id"]))
    assert_problem(login_from(client, "203.0.113.51", email, PASSWORD), 401)
    assert len(events(fresh_firm, "auth.login_failed", user["id"])) == failed
    # the other users of the firm are not affected
    assert login_from(client, A, fresh_firm.users["viewer"]["email"], PASSWORD).status_code == 200

    # the user is told, in the app, and so are the firm's admins
    mine = owner_sql("SELECT user_id, kind, title, body, data FROM notifications WHERE user_id = %s",
                     (user["id"],))
    assert [(n["kind"], n["title"]) for n in mine] == [("security.account_locked", "Your account was locked")]
    assert "50 failed sign-in attempts" in mine[0]["body"] and "10 addresses" in mine[0]["body"]
    admins = owner_sql("SELECT user_id, body FROM notifications WHERE firm_id = %s AND user_id <> %s",
                       (fresh_firm.id, user["id"]))
    assert [n["user_id"] for n in admins] == [fresh_firm.users["admin"]["id"]]
    assert email in admins[0]["body"]
    # which the user reads once the lock has lapsed
    owner_sql("UPDATE users SET locked_until = now() - interval '1 second' WHERE id = %s", (user["id"],))
    tokens = login_from(client, "203.0.113.50", email, PASSWORD)
    assert tokens.status_code == 200, tokens.body
    me = {"Authorization": f"Bearer {tokens.json_body['access_token']}"}
    listed = client.http.get("/v1/notifications?unread=true", headers=me)
    assert listed.status_code == 200, listed.body
    [note] = listed.json_body["items"]
    assert note["kind"] == "security.account_locked" and note["read_at"] is None
    assert note["data"]["failures"] == 50
    assert client.http.post(f"/v1/notifications/{note['id']}/read", headers=me).status_code == 204
    assert client.http.get("/v1/notifications?unread=true", headers=me).json_body["items"] == []
    # the contract's path is the only one: the old /v1/me/notifications is no route (the gateway's 403)
    assert client.http.get("/v1/me/notifications", headers=me).status_code == 403
    # another user's notification is not theirs to read
    other = admins[0]
    other_id = owner_sql("SELECT id FROM notifications WHERE user_id = %s", (other["user_id"],))[0]["id"]
    assert_problem(client.http.post(f"/v1/notifications/{other_id}/read", headers=me), 404)


def test_an_admin_setting_a_new_password_lifts_the_locks(client: Any, fresh_firm: Firm) -> None:
    user = fresh_firm.users["analyst"]
    fail_from(client, A, user["email"], 5)
    owner_sql("UPDATE users SET locked_until = now() + interval '1 hour' WHERE id = %s", (user["id"],))
    admin = {**fresh_firm.auth("admin"), **JSON}
    version = client.http.get(f"/v1/users/{user['id']}", headers=admin).json_body["version"]
    new_password = "a brand new passphrase 7"
    resp = client.http.patch(f"/v1/users/{user['id']}", headers={**admin, "If-Match": f'"{version}"'},
                             body=json.dumps({"password": new_password}))
    assert resp.status_code == 200, resp.body
    assert account(user["id"])["locked_until"] is None and pair(user["id"], A) is None
    assert login_from(client, A, user["email"], new_password).status_code == 200


# --- the counters are the database's ---------------------------------------------------------------------------------

def test_the_app_role_reaches_the_counters_only_through_the_functions(fresh_firm: Firm) -> None:
    """The app role reads its own firm's counters only and cannot write them but through the functions, and the
    password hash's parameters and salt (never the hash: migration 0018) come only with a reserved check: six
    calls for one address give five."""
    from chalicelib.core import config

    user = fresh_firm.users["viewer"]
    with psycopg.connect(config.app_database_url(), autocommit=True) as conn:
        conn.execute("SELECT set_config('app.firm_id', %s, false)", (str(fresh_firm.id),))
        fail = "INSERT INTO login_failures (firm_id, user_id, source) VALUES (%s, %s, 'x')"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(fail, (fresh_firm.id, user["id"]))
        for statement in ("INSERT INTO login_throttle (firm_id, user_id, source) SELECT firm_id, id, 'x' FROM users",
                          "DELETE FROM login_throttle", "UPDATE login_throttle SET checks = 0",
                          "DELETE FROM login_failures", "UPDATE login_failures SET failed_at = now() - interval '2h'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        hashes = [conn.execute("SELECT password_setting FROM auth_login_begin(%s, %s)", (user["email"], A)).fetchone()
                  for _ in range(6)]
    assert [h is not None for h in hashes] == [True] * 5 + [False]
    stored = owner_sql("SELECT password_hash FROM users WHERE id = %s", (user["id"],))[0]["password_hash"]
    assert hashes[0][0] != stored and stored.startswith(hashes[0][0] + "$")
    assert pair(user["id"], A) == {"checks": 5, "pending": 5, "locked_until": None}


def test_only_the_reservation_commits_without_waiting_for_its_flush(fresh_firm: Firm) -> None:
    """The reservation's own transaction skips the WAL flush wait (its row is visible at commit all the same); the
    setting ends with that transaction, and the outcome's transaction commits durably."""
    from chalicelib.core import config

    user = fresh_firm.users["viewer"]
    with psycopg.connect(config.app_database_url()) as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
        assert conn.execute("SELECT attempt FROM auth_login_begin(%s, %s)", (user["email"], A)).fetchone()[0] == 1
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "off"
        assert conn.execute("SHOW search_path").fetchone()[0] == '"$user", public'  # the function's own is undone
        conn.commit()
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    assert pair(user["id"], A) == {"checks": 1, "pending": 1, "locked_until": None}
