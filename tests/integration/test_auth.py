"""Authentication and the firm's administration of users and API keys, through the API.

Login (the lockout has its own files: test_login_lockout.py and test_login_race.py; two-factor sign-in
test_two_factor.py), refresh-token rotation and theft detection, logout, /v1/me, deactivated users, revoked and
expired API keys, keys shown once and stored hashed, and the admin's user management rules. Tests that change a
user's state use `fresh_firm`, so the session-wide firms stay as other tests expect them.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import PASSWORD, Firm, assert_problem, owner_sql

JSON = {"Content-Type": "application/json"}


def login(client: Any, email: str, password: str) -> Any:
    return client.http.post("/v1/auth/login", headers=JSON, body=json.dumps({"email": email, "password": password}))


def refresh(client: Any, token: str) -> Any:
    return client.http.post("/v1/auth/refresh", headers=JSON, body=json.dumps({"refresh_token": token}))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def without_request_id(resp: Any) -> dict[str, Any]:
    body = json.loads(resp.body)
    body.pop("request_id")
    return body


def user_row(user_id: Any) -> dict[str, Any]:
    return owner_sql("SELECT failed_logins, locked_until, active, role, version, last_login_at FROM users "
                     "WHERE id = %s", (user_id,))[0]


def audit_count(firm_id: Any, action: str) -> int:
    return owner_sql("SELECT count(*) AS n FROM audit_events WHERE firm_id = %s AND action = %s",
                     (firm_id, action))[0]["n"]


# --- login ----------------------------------------------------------------------------------------------------------

def test_login_returns_a_bearer_token_pair(client: Any, firm_a: Firm) -> None:
    user = firm_a.users["analyst"]
    resp = login(client, user["email"], PASSWORD)
    assert resp.status_code == 200, resp.body
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers.get("Cache-Control") == "no-store"  # tokens must not be cached
    body = resp.json_body
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and 0 < body["expires_in"] <= 3600
    assert body["access_token"].count(".") == 2  # a JWT
    assert body["refresh_token"] and body["refresh_token"] != body["access_token"]
    me = client.http.get("/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json_body["id"] == str(user["id"])
    # the refresh token is stored hashed, never as sent
    sessions = owner_sql("SELECT s::text AS row, token_hash FROM sessions s WHERE user_id = %s", (user["id"],))
    assert any(bytes(s["token_hash"]) == hashlib.sha256(body["refresh_token"].encode()).digest() for s in sessions)
    assert not any(body["refresh_token"] in s["row"] for s in sessions)


def test_login_email_is_case_insensitive(client: Any, firm_a: Firm) -> None:
    resp = login(client, firm_a.users["viewer"]["email"].upper(), PASSWORD)
    assert resp.status_code == 200, resp.body


def test_unknown_email_and_wrong_password_are_indistinguishable(client: Any, fresh_firm: Firm) -> None:
    unknown = login(client, f"nobody-{uuid.uuid4().hex[:8]}@nowhere.example.com", PASSWORD)
    wrong = login(client, fresh_firm.users["viewer"]["email"], PASSWORD + "!")
    assert_problem(unknown, 401)
    assert_problem(wrong, 401)
    assert without_request_id(unknown) == without_request_id(wrong)
    assert json.loads(unknown.body)["request_id"] != json.loads(wrong.body)["request_id"]
    # the bytes too: same fields in the same order, only the request id differs
    rid_u, rid_w = json.loads(unknown.body)["request_id"], json.loads(wrong.body)["request_id"]
    assert unknown.body.replace(rid_u.encode(), b"") == wrong.body.replace(rid_w.encode(), b"")
    strip = {"X-Request-Id"}
    assert {k: v for k, v in unknown.headers.items() if k not in strip} == \
        {k: v for k, v in wrong.headers.items() if k not in strip}
    assert unknown.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_login_refuses_bad_bodies(client: Any) -> None:
    assert_problem(client.http.post("/v1/auth/login", headers=JSON, body='{"email": "a@b.example.com"}'), 422)
    assert_problem(client.http.post("/v1/auth/login", headers=JSON,
                                    body='{"email": "a@b.example.com", "password": "x", "remember": true}'), 422)
    assert_problem(client.http.post("/v1/auth/login", headers=JSON,
                                    body='{"email": "not-an-email", "password": "x"}'), 422)
    assert_problem(client.http.post("/v1/auth/login", headers={"Content-Type": "text/plain"}, body="{}"), 415)


# --- refresh tokens -------------------------------------------------------------------------------------------------

def test_refresh_rotates_and_reuse_revokes_the_whole_chain(client: Any, fresh_firm: Firm) -> None:
    user = fresh_firm.users["adviser"]
    first = login(client, user["email"], PASSWORD).json_body
    other_session = login(client, user["email"], PASSWORD).json_body  # a second device: another chain

    r1 = refresh(client, first["refresh_token"])
    assert r1.status_code == 200, r1.body
    second = r1.json_body
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert client.http.get("/v1/me", headers=bearer(second["access_token"])).status_code == 200

    r2 = refresh(client, second["refresh_token"])  # the new token works
    assert r2.status_code == 200, r2.body
    newest = r2.json_body

    # the first token, already used, is presented again: refused, and the whole chain is revoked
    reused = refresh(client, first["refresh_token"])
    assert_problem(reused, 401)
    assert_problem(refresh(client, newest["refresh_token"]), 401)
    assert_problem(refresh(client, second["refresh_token"]), 401)
    assert audit_count(fresh_firm.id, "auth.refresh_reuse") == 1
    chain = owner_sql("SELECT count(*) AS n, count(revoked_at) AS revoked FROM sessions WHERE chain_id = "
                      "(SELECT chain_id FROM sessions WHERE token_hash = %s)",
                      (hashlib.sha256(first["refresh_token"].encode()).digest(),))[0]
    assert chain["n"] == 3 and chain["revoked"] == 3
    # the chain's access tokens end with it
    for tokens in (first, second, newest):
        assert_problem(client.http.get("/v1/me", headers=bearer(tokens["access_token"])), 401)

    # the other device's chain is untouched
    assert refresh(client, other_session["refresh_token"]).status_code == 200


def test_refresh_refuses_unknown_tokens(client: Any) -> None:
    a = refresh(client, "wdr_" + "x" * 43)
    b = refresh(client, "not even a token")
    assert_problem(a, 401)
    assert_problem(b, 401)
    assert without_request_id(a) == without_request_id(b)


def test_expired_refresh_token_is_refused(client: Any, fresh_firm: Firm) -> None:
    tokens = login(client, fresh_firm.users["viewer"]["email"], PASSWORD).json_body
    token_hash = hashlib.sha256(tokens["refresh_token"].encode()).digest()
    owner_sql("UPDATE sessions SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second' "
              "WHERE token_hash = %s", (token_hash,))
    assert_problem(refresh(client, tokens["refresh_token"]), 401)


def test_logout_revokes_the_refresh_chain(client: Any, fresh_firm: Firm) -> None:
    user = fresh_firm.users["analyst"]
    tokens = login(client, user["email"], PASSWORD).json_body
    rotated = refresh(client, tokens["refresh_token"]).json_body
    other = login(client, user["email"], PASSWORD).json_body
    out = client.http.post("/v1/auth/logout", headers=bearer(rotated["access_token"]))
    assert out.status_code == 204, out.body
    assert out.body == b""
    assert_problem(refresh(client, rotated["refresh_token"]), 401)
    assert_problem(refresh(client, tokens["refresh_token"]), 401)
    assert audit_count(fresh_firm.id, "auth.logout") == 1
    # the access token ends with its session
    assert_problem(client.http.get("/v1/me", headers=bearer(rotated["access_token"])), 401)
    assert client.http.get("/v1/me", headers=bearer(other["access_token"])).status_code == 200
    # only this session ends: the user's other session still refreshes
    assert refresh(client, other["refresh_token"]).status_code == 200


def test_logout_needs_a_user_session(client: Any, firm_a: Firm) -> None:
    assert_problem(client.http.post("/v1/auth/logout"), 401)
    assert_problem(client.http.post("/v1/auth/logout", headers=firm_a.auth("read")), 422)


# --- /v1/me ---------------------------------------------------------------------------------------------------------

def test_me(client: Any, firm_a: Firm) -> None:
    for role in ("admin", "adviser", "analyst", "viewer"):
        resp = client.http.get("/v1/me", headers=firm_a.auth(role))
        assert resp.status_code == 200, resp.body
        me = resp.json_body
        user = firm_a.users[role]
        assert me["id"] == str(user["id"]) and me["email"] == user["email"] and me["role"] == role
        assert me["active"] is True and isinstance(me["version"], int)
        assert me["firm"] == {"id": str(firm_a.id), "name": firm_a.name, "base_currency": "GBP"}
        assert "password" not in resp.body.decode() and "password_hash" not in me
    assert_problem(client.http.get("/v1/me"), 401)
    assert_problem(client.http.get("/v1/me", headers=bearer("not.a.jwt")), 401)
    assert_problem(client.http.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
    assert_problem(client.http.get("/v1/me", headers=firm_a.auth("read")), 422)  # an API key is not a user


def test_tampered_and_foreign_tokens_are_refused(client: Any, firm_a: Firm) -> None:
    import jwt

    token = firm_a.tokens["viewer"]
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": "admin"}, "another-secret-" + "y" * 40, algorithm="HS256")
    assert_problem(client.http.get("/v1/users", headers=bearer(forged)), 401)
    unsigned = jwt.encode({**claims, "role": "admin"}, None, algorithm="none")
    assert_problem(client.http.get("/v1/users", headers=bearer(unsigned)), 401)
    import os

    expired = jwt.encode({**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600},
                         os.environ["JWT_SECRET"], algorithm="HS256")
    body = assert_problem(client.http.get("/v1/me", headers=bearer(expired)), 401)
    assert "expired" in body["detail"]


# --- deactivated users ----------------------------------------------------------------------------------------------

def test_deactivated_user_cannot_log_in_or_refresh(client: Any, fresh_firm: Firm) -> None:
    user = fresh_firm.users["adviser"]
    tokens = login(client, user["email"], PASSWORD).json_body
    admin = {**fresh_firm.auth("admin"), **JSON}
    version = client.http.get(f"/v1/users/{user['id']}", headers=admin).json_body["version"]
    resp = client.http.patch(f"/v1/users/{user['id']}", headers={**admin, "If-Match": f'"{version}"'},
                             body='{"active": false}')
    assert resp.status_code == 200, resp.body
    assert resp.json_body["active"] is False and resp.json_body["version"] == version + 1

    refused = login(client, user["email"], PASSWORD)
    wrong = login(client, fresh_firm.users["viewer"]["email"], "not the password")
    assert_problem(refused, 401)
    assert without_request_id(refused) == without_request_id(wrong)  # no hint that the account exists
    assert_problem(refresh(client, tokens["refresh_token"]), 401)
    assert_problem(client.http.get("/v1/me", headers=bearer(tokens["access_token"])), 401)
    assert_problem(client.http.get("/v1/client-groups", headers=fresh_firm.auth("adviser")), 401)

    # reactivated, they may log in again
    resp = client.http.patch(f"/v1/users/{user['id']}", headers={**admin, "If-Match": f'"{version + 1}"'},
                             body='{"active": true}')
    assert resp.status_code == 200, resp.body
    assert login(client, user["email"], PASSWORD).status_code == 200


def test_a_password_change_ends_the_users_sessions(client: Any, fresh_firm: Firm) -> None:
    user = fresh_firm.users["viewer"]
    tokens = login(client, user["email"], PASSWORD).json_body
    admin = {**fresh_firm.auth("admin"), **JSON}
    version = client.http.get(f"/v1/users/{user['id']}", headers=admin).json_body["version"]
    new_password = "another long passphrase 42"
    resp = client.http.patch(f"/v1/users/{user['id']}", headers={**admin, "If-Match": f'"{version}"'},
                             body=json.dumps({"password": new_password}))
    assert resp.status_code == 200, resp.body
    assert "password" not in resp.json_body
    assert_problem(refresh(client, tokens["refresh_token"]), 401)
    assert_problem(client.http.get("/v1/me", headers=bearer(tokens["access_token"])), 401)
    assert_problem(login(client, user["email"], PASSWORD), 401)
    assert login(client, user["email"], new_password).status_code == 200
    trail = owner_sql("SELECT e::text AS row FROM audit_events e WHERE firm_id = %s", (fresh_firm.id,))
    assert not any(new_password in t["row"] for t in trail)


# --- API keys -------------------------------------------------------------------------------------------------------

def create_key(client: Any, firm: Firm, **fields: Any) -> Any:
    body = {"name": "integration", "scopes": ["read"], **fields}
    resp = client.http.post("/v1/api-keys", headers={**firm.auth("admin"), **JSON}, body=json.dumps(body))
    assert resp.status_code == 201, resp.body
    return resp


def test_api_key_is_shown_once_and_stored_hashed(client: Any, fresh_firm: Firm) -> None:
    resp = create_key(client, fresh_firm, name="reporting", scopes=["write", "read"])
    created = resp.json_body
    key = created["key"]
    assert key.startswith("wdk_") and created["prefix"] == key[:12] and len(key) > 40
    assert created["scopes"] == ["read", "write"]
    assert created["last_used_at"] is None and created["revoked_at"] is None and created["expires_at"] is None
    assert resp.headers["Location"] == f"/v1/api-keys/{created['id']}"
    assert client.http.get("/v1/me", headers=fresh_firm.auth("admin")).status_code == 200

    listed = client.http.get("/v1/api-keys?limit=200", headers=fresh_firm.auth("admin"))
    assert listed.status_code == 200
    assert key.encode() not in listed.body
    secret = key[13:]
    assert secret.encode() not in listed.body
    mine = [k for k in listed.json_body["items"] if k["id"] == created["id"]]
    assert len(mine) == 1 and "key" not in mine[0] and mine[0]["prefix"] == created["prefix"]

    row = owner_sql("SELECT k::text AS row, key_hash FROM api_keys k WHERE id = %s", (created["id"],))[0]
    assert key not in row["row"] and secret not in row["row"]
    assert bytes(row["key_hash"]) == hashlib.sha256(key.encode()).digest()
    trail = owner_sql("SELECT e::text AS row FROM audit_events e WHERE firm_id = %s", (fresh_firm.id,))
    assert trail and not any(secret in t["row"] for t in trail)


def test_api_key_last_used_at_is_set(client: Any, fresh_firm: Firm) -> None:
    created = create_key(client, fresh_firm).json_body
    assert owner_sql("SELECT last_used_at FROM api_keys WHERE id = %s", (created["id"],))[0]["last_used_at"] is None
    assert client.http.get("/v1/client-groups", headers=bearer(created["key"])).status_code == 200
    used = owner_sql("SELECT last_used_at FROM api_keys WHERE id = %s", (created["id"],))[0]["last_used_at"]
    assert used is not None and abs(datetime.now(UTC) - used) < timedelta(minutes=5)
    listed = client.http.get("/v1/api-keys", headers=fresh_firm.auth("admin")).json_body["items"]
    assert [k["last_used_at"] for k in listed if k["id"] == created["id"]] != [None]


def test_revoked_api_key_is_refused(client: Any, fresh_firm: Firm) -> None:
    created = create_key(client, fresh_firm, scopes=["read", "write"]).json_body
    key = bearer(created["key"])
    assert client.http.get("/v1/client-groups", headers=key).status_code == 200
    gone = client.http.delete(f"/v1/api-keys/{created['id']}", headers=fresh_firm.auth("admin"))
    assert gone.status_code == 204, gone.body
    body = assert_problem(client.http.get("/v1/client-groups", headers=key), 401)
    assert "revoked" in body["detail"]
    assert_problem(client.http.post("/v1/client-groups", headers={**key, **JSON},
                                    body='{"name": "x", "type": "family"}'), 401)
    assert owner_sql("SELECT count(*) AS n FROM client_groups WHERE firm_id = %s", (fresh_firm.id,))[0]["n"] == 0
    # revoking again: there is no live key by that id
    assert_problem(client.http.delete(f"/v1/api-keys/{created['id']}", headers=fresh_firm.auth("admin")), 404)
    listed = client.http.get("/v1/api-keys", headers=fresh_firm.auth("admin")).json_body["items"]
    assert [k["revoked_at"] is not None for k in listed if k["id"] == created["id"]] == [True]


def test_expired_api_key_is_refused(client: Any, fresh_firm: Firm) -> None:
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    created = create_key(client, fresh_firm, expires_at=expires).json_body
    assert created["expires_at"] is not None
    key = bearer(created["key"])
    assert client.http.get("/v1/client-groups", headers=key).status_code == 200
    # the row's CHECK wants expires_at > created_at, so move both into the past
    owner_sql("UPDATE api_keys SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second' "
              "WHERE id = %s", (created["id"],))
    body = assert_problem(client.http.get("/v1/client-groups", headers=key), 401)
    assert "expired" in body["detail"]


def test_api_key_expiry_must_be_in_the_future(client: Any, fresh_firm: Firm) -> None:
    admin = {**fresh_firm.auth("admin"), **JSON}
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert_problem(client.http.post("/v1/api-keys", headers=admin,
                                    body=json.dumps({"name": "k", "scopes": ["read"], "expires_at": past})), 422)
    naive = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert_problem(client.http.post("/v1/api-keys", headers=admin,
                                    body=json.dumps({"name": "k", "scopes": ["read"], "expires_at": naive})), 422)
    assert_problem(client.http.post("/v1/api-keys", headers=admin, body='{"name": "k", "scopes": ["admin"]}'), 422)
    assert_problem(client.http.post("/v1/api-keys", headers=admin, body='{"name": "k", "scopes": []}'), 422)


@pytest.mark.parametrize("mangle", [
    lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # right prefix, wrong secret
    lambda k: k[:4] + "zzzzzzzz" + k[12:],  # unknown prefix
    lambda k: k[:-1],  # wrong length
    lambda k: "wdk_",
], ids=["wrong-secret", "unknown-prefix", "short", "bare-prefix"])
def test_mangled_api_keys_are_refused(client: Any, firm_a: Firm, mangle: Any) -> None:
    assert_problem(client.http.get("/v1/client-groups", headers=bearer(mangle(firm_a.api_keys["read"]))), 401)


# --- users (admin) --------------------------------------------------------------------------------------------------

def test_create_user_with_a_generated_password(client: Any, fresh_firm: Firm) -> None:
    admin = {**fresh_firm.auth("admin"), **JSON}
    email = f"New.Adviser-{uuid.uuid4().hex[:6]}@Example.com"
    resp = client.http.post("/v1/users", headers=admin,
                            body=json.dumps({"email": email, "name": "New Adviser", "role": "adviser"}))
    assert resp.status_code == 201, resp.body
    user = resp.json_body
    assert user["email"] == email.lower() and user["role"] == "adviser" and user["active"] is True
    assert user["version"] == 1 and resp.headers["ETag"] == '"1"'
    assert resp.headers["Location"] == f"/v1/users/{user['id']}"
    password = user["password"]
    assert isinstance(password, str) and len(password) >= 12
    # shown once: reading the user again does not show it
    got = client.http.get(f"/v1/users/{user['id']}", headers=admin)
    assert got.status_code == 200 and "password" not in got.json_body and password.encode() not in got.body
    listed = client.http.get("/v1/users", headers=admin)
    assert password.encode() not in listed.body
    assert user["id"] in [u["id"] for u in listed.json_body["items"]]
    # stored hashed, and not in the audit trail
    row = owner_sql("SELECT u::text AS row FROM users u WHERE id = %s", (user["id"],))[0]["row"]
    assert password not in row and "$argon2" in row
    trail = owner_sql("SELECT e::text AS row FROM audit_events e WHERE firm_id = %s", (fresh_firm.id,))
    assert not any(password in t["row"] for t in trail)
    # and it works
    tokens = login(client, email, password)
    assert tokens.status_code == 200, tokens.body
    me = client.http.get("/v1/me", headers=bearer(tokens.json_body["access_token"])).json_body
    assert me["id"] == user["id"] and me["firm"]["id"] == str(fresh_firm.id)


def test_create_user_with_a_chosen_password(client: Any, fresh_firm: Firm) -> None:
    admin = {**fresh_firm.auth("admin"), **JSON}
    email = f"chosen-{uuid.uuid4().hex[:6]}@example.com"
    chosen = "a chosen passphrase of length"
    resp = client.http.post("/v1/users", headers=admin,
                            body=json.dumps({"email": email, "name": "Chosen", "role": "viewer", "password": chosen}))
    assert resp.status_code == 201, resp.body
    assert resp.json_body["password"] is None
    assert login(client, email, chosen).status_code == 200
    short = client.http.post("/v1/users", headers=admin, body=json.dumps(
        {"email": f"short-{uuid.uuid4().hex[:6]}@example.com", "name": "S", "role": "viewer", "password": "short"}))
    assert_problem(short, 422)


def test_duplicate_email_is_a_conflict(client: Any, fresh_firm: Firm, firm_b: Firm) -> None:
    admin = {**fresh_firm.auth("admin"), **JSON}
    before = owner_sql("SELECT count(*) AS n FROM users WHERE firm_id = %s", (fresh_firm.id,))[0]["n"]
    existing = fresh_firm.users["viewer"]["email"]
    for email in (existing, existing.upper(), firm_b.users["viewer"]["email"]):  # emails are unique across firms
        resp = client.http.post("/v1/users", headers=admin,
                                body=json.dumps({"email": email, "name": "Dup", "role": "viewer"}))
        assert_problem(resp, 409)
    assert owner_sql("SELECT count(*) AS n FROM users WHERE firm_id = %s", (fresh_firm.id,))[0]["n"] == before
    assert audit_count(fresh_firm.id, "user.create") == 4  # the fixture's four users, nothing more


def test_patch_user_role_needs_if_match(client: Any, fresh_firm: Firm) -> None:
    admin = {**fresh_firm.auth("admin"), **JSON}
    user = fresh_firm.users["viewer"]
    tokens = login(client, user["email"], PASSWORD).json_body
    url = f"/v1/users/{user['id']}"
    got = client.http.get(url, headers=admin)
    version = got.json_body["version"]
    assert got.headers["ETag"] == f'"{version}"'
    assert_problem(client.http.patch(url, headers=admin, body='{"role": "analyst"}'), 428)
    assert_problem(client.http.patch(url, headers={**admin, "If-Match": f'"{version + 1}"'},
                                     body='{"role": "analyst"}'), 412)
    assert user_row(user["id"])["role"] == "viewer"
    resp = client.http.patch(url, headers={**admin, "If-Match": f'"{version}"'}, body='{"role": "analyst"}')
    assert resp.status_code == 200, resp.body
    assert resp.json_body["role"] == "analyst" and resp.json_body["version"] == version + 1
    assert resp.headers["ETag"] == f'"{version + 1}"'
    assert user_row(user["id"])["role"] == "analyst"
    # a role change ends the user's sessions: the new role takes effect at the next login
    assert_problem(refresh(client, tokens["refresh_token"]), 401)
    assert_problem(client.http.get("/v1/me", headers=bearer(tokens["access_token"])), 401)
    relogged = login(client, user["email"], PASSWORD).json_body
    assert client.http.get("/v1/me", headers=bearer(relogged["access_token"])).json_body["role"] == "analyst"
    assert_problem(client.http.patch(url, headers={**admin, "If-Match": f'"{version + 1}"'},
                                     body='{"role": "owner"}'), 422)


def test_admin_cannot_deactivate_or_demote_themselves(client: Any, fresh_firm: Firm) -> None:
    me = fresh_firm.users["admin"]
    admin = {**fresh_firm.auth("admin"), **JSON}
    url = f"/v1/users/{me['id']}"
    version = client.http.get(url, headers=admin).json_body["version"]
    events = audit_count(fresh_firm.id, "user.update")
    for body in ('{"active": false}', '{"role": "adviser"}', '{"role": "viewer", "name": "Still Me"}'):
        resp = client.http.patch(url, headers={**admin, "If-Match": f'"{version}"'}, body=body)
        assert_problem(resp, 409)
    row = user_row(me["id"])
    assert row["active"] is True and row["role"] == "admin" and row["version"] == version
    assert audit_count(fresh_firm.id, "user.update") == events
    # a harmless change to themselves is fine
    resp = client.http.patch(url, headers={**admin, "If-Match": f'"{version}"'}, body='{"name": "Renamed Admin"}')
    assert resp.status_code == 200, resp.body
    assert resp.json_body["name"] == "Renamed Admin" and resp.json_body["role"] == "admin"


def test_an_admin_may_demote_another_admin(client: Any, fresh_firm: Firm) -> None:
    admin = {**fresh_firm.auth("admin"), **JSON}
    resp = client.http.post("/v1/users", headers=admin, body=json.dumps(
        {"email": f"second-admin-{uuid.uuid4().hex[:6]}@example.com", "name": "Second", "role": "admin"}))
    assert resp.status_code == 201
    other = resp.json_body
    resp = client.http.patch(f"/v1/users/{other['id']}", headers={**admin, "If-Match": '"1"'},
                             body='{"role": "viewer", "active": false}')
    assert resp.status_code == 200, resp.body
    assert resp.json_body["role"] == "viewer" and resp.json_body["active"] is False


def test_users_and_keys_are_for_admins_only(client: Any, firm_a: Firm) -> None:
    for who in ("adviser", "analyst", "viewer", "read", "write"):
        assert_problem(client.http.get("/v1/users", headers=firm_a.auth(who)), 403)
        assert_problem(client.http.get("/v1/api-keys", headers=firm_a.auth(who)), 403)
        assert_problem(client.http.post("/v1/api-keys", headers={**firm_a.auth(who), **JSON},
                                        body='{"name": "sneaky", "scopes": ["read", "write"]}'), 403)
