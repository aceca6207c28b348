"""Sessions through the API: bound to their firm, at most five per user, ended after two idle hours, listed and
ended by their user (GET and DELETE /v1/me/sessions)."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.conftest import PASSWORD, Firm, assert_problem, owner_sql
from tests.integration.matrix_support import assert_cursor_refused, b64_cursor

JSON = {"Content-Type": "application/json"}


def login(client: Any, email: str, user_agent: str = "pytest") -> dict[str, Any]:
    r = client.http.post("/v1/auth/login", headers={**JSON, "User-Agent": user_agent},
                         body=json.dumps({"email": email, "password": PASSWORD}))
    assert r.status_code == 200, r.body
    return r.json_body


def bearer(tokens: dict[str, Any] | str) -> dict[str, str]:
    token = tokens if isinstance(tokens, str) else tokens["access_token"]
    return {"Authorization": f"Bearer {token}"}


def refresh(client: Any, tokens: dict[str, Any]) -> Any:
    return client.http.post("/v1/auth/refresh", headers=JSON,
                            body=json.dumps({"refresh_token": tokens["refresh_token"]}))


def claims(tokens: dict[str, Any] | str) -> dict[str, Any]:
    import jwt

    token = tokens if isinstance(tokens, str) else tokens["access_token"]
    return jwt.decode(token, options={"verify_signature": False})


def chain_of(tokens: dict[str, Any]) -> uuid.UUID:
    return owner_sql("SELECT chain_id FROM sessions WHERE id = %s", (claims(tokens)["sid"],))[0]["chain_id"]


def signed(**claims_: Any) -> str:
    """An access token signed with the server's real key (what a holder of the key could mint)."""
    import os

    import jwt

    now = int(time.time())
    return jwt.encode({"iss": "wealthdesk", "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, **claims_},
                      os.environ["JWT_SECRET"], algorithm="HS256")


def test_a_token_naming_another_firm_is_refused_and_shows_nothing(client: Any, firm_a: Firm,
                                                                 firm_b: Firm) -> None:
    """Firm B's user and session under firm A's id, signed with the real key: 401, and nothing of firm A."""
    created = client.http.post("/v1/client-groups", headers={**firm_a.auth("admin"), **JSON},
                               body=json.dumps({"name": "Firm A household", "type": "family"}))
    assert created.status_code == 201, created.body
    b = claims(firm_b.tokens["admin"])
    forged = signed(sub=b["sub"], firm=str(firm_a.id), role="admin", sid=b["sid"])
    for path in ("/v1/client-groups", f"/v1/client-groups/{created.json_body['id']}", "/v1/me", "/v1/users",
                 "/v1/api-keys", "/v1/audit-events", "/v1/me/sessions"):
        resp = client.http.get(path, headers=bearer(forged))
        assert_problem(resp, 401)
        assert b"Firm A household" not in resp.body and str(firm_a.id).encode() not in resp.body
    # and no write either
    assert_problem(client.http.post("/v1/client-groups", headers={**bearer(forged), **JSON},
                                    body=json.dumps({"name": "Planted", "type": "family"})), 401)
    assert owner_sql("SELECT count(*) AS n FROM client_groups WHERE name = 'Planted'")[0]["n"] == 0
    # the same token with its own firm's id works: the refusal is the firm, nothing else
    own = signed(sub=b["sub"], firm=b["firm"], role="admin", sid=b["sid"])
    assert client.http.get("/v1/client-groups", headers=bearer(own)).status_code == 200


def test_a_sixth_login_ends_the_oldest_session(client: Any, fresh_firm: Firm) -> None:
    email = fresh_firm.users["analyst"]["email"]
    owner_sql("UPDATE sessions SET revoked_at = now() WHERE user_id = %s", (fresh_firm.users["analyst"]["id"],))
    sessions = [login(client, email, user_agent=f"device {i}") for i in range(5)]
    for s in sessions:
        assert client.http.get("/v1/me", headers=bearer(s)).status_code == 200
    listed = client.http.get("/v1/me/sessions", headers=bearer(sessions[-1])).json_body["items"]
    assert len(listed) == 5
    sixth = login(client, email, user_agent="device 5")
    assert_problem(client.http.get("/v1/me", headers=bearer(sessions[0])), 401)
    assert_problem(refresh(client, sessions[0]), 401)
    for s in (*sessions[1:], sixth):
        assert client.http.get("/v1/me", headers=bearer(s)).status_code == 200
    listed = client.http.get("/v1/me/sessions", headers=bearer(sixth)).json_body["items"]
    assert [s["user_agent"] for s in listed] == [f"device {i}" for i in (5, 4, 3, 2, 1)]
    event = owner_sql("SELECT after FROM audit_events WHERE firm_id = %s AND action = 'auth.login' "
                      "ORDER BY occurred_at DESC LIMIT 1", (fresh_firm.id,))[0]["after"]
    assert event == {"sessions_ended": [str(chain_of(sessions[0]))]}
    # refreshing keeps a session one session (a chain), not a new one
    renewed = refresh(client, sessions[1])
    assert renewed.status_code == 200, renewed.body
    assert len(client.http.get("/v1/me/sessions", headers=bearer(sixth)).json_body["items"]) == 5
    assert client.http.get("/v1/me", headers=bearer(sessions[2])).status_code == 200


def test_a_session_idle_for_two_hours_ends(client: Any, fresh_firm: Firm) -> None:
    email = fresh_firm.users["viewer"]["email"]
    idle, active = login(client, email), login(client, email)
    owner_sql("UPDATE sessions SET last_used_at = now() - interval '1 hour 59 minutes' WHERE chain_id = %s",
              (chain_of(active),))
    owner_sql("UPDATE sessions SET last_used_at = now() - interval '2 hours 1 minute' WHERE chain_id = %s",
              (chain_of(idle),))
    assert_problem(client.http.get("/v1/me", headers=bearer(idle)), 401, detail="idle")
    assert_problem(refresh(client, idle), 401)
    assert client.http.get("/v1/me", headers=bearer(active)).status_code == 200
    # that use counted: the session is fresh again, and its refresh token works
    assert owner_sql("SELECT now() - last_used_at < interval '1 minute' AS fresh FROM sessions WHERE id = %s",
                     (claims(active)["sid"],))[0]["fresh"]
    assert refresh(client, active).status_code == 200
    ids = {s["id"] for s in client.http.get("/v1/me/sessions", headers=bearer(active)).json_body["items"]}
    assert str(chain_of(idle)) not in ids and str(chain_of(active)) in ids


def test_use_is_recorded_at_most_once_a_minute(client: Any, fresh_firm: Firm) -> None:
    tokens = login(client, fresh_firm.users["viewer"]["email"])
    sid = claims(tokens)["sid"]
    owner_sql("UPDATE sessions SET last_used_at = now() - interval '30 seconds' WHERE id = %s", (sid,))
    before = owner_sql("SELECT last_used_at, xmin::text AS x FROM sessions WHERE id = %s", (sid,))[0]
    for _ in range(3):
        assert client.http.get("/v1/me", headers=bearer(tokens)).status_code == 200
    assert owner_sql("SELECT last_used_at, xmin::text AS x FROM sessions WHERE id = %s", (sid,))[0] == before
    owner_sql("UPDATE sessions SET last_used_at = now() - interval '61 seconds' WHERE id = %s", (sid,))
    assert client.http.get("/v1/me", headers=bearer(tokens)).status_code == 200
    assert owner_sql("SELECT now() - last_used_at < interval '5 seconds' AS fresh FROM sessions WHERE id = %s",
                     (sid,))[0]["fresh"]


def test_list_my_sessions(client: Any, fresh_firm: Firm) -> None:
    user = fresh_firm.users["adviser"]
    first = login(client, user["email"], user_agent="laptop")
    second = login(client, user["email"], user_agent="phone")
    resp = client.http.get("/v1/me/sessions", headers=bearer(second))
    assert resp.status_code == 200, resp.body
    items = resp.json_body["items"]
    mine = {str(chain_of(first)), str(chain_of(second))}
    assert mine <= {s["id"] for s in items}
    by_id = {s["id"]: s for s in items}
    now = owner_sql("SELECT now() AS t")[0]["t"]
    for tokens, agent in ((first, "laptop"), (second, "phone")):
        s = by_id[str(chain_of(tokens))]
        assert set(s) == {"id", "created_at", "last_used_at", "expires_at", "ip", "user_agent", "current"}
        assert s["user_agent"] == agent and s["current"] is (tokens is second)
        assert s["created_at"] <= s["last_used_at"] < s["expires_at"]
        assert s["created_at"][:4] == str(now.year)
    assert [s["current"] for s in items].count(True) == 1
    # no other user's session is listed
    other = {str(r["chain_id"]) for r in owner_sql("SELECT chain_id FROM sessions WHERE user_id <> %s",
                                                   (user["id"],))}
    assert not other & {s["id"] for s in items}
    # newest first, paged with the list cursor
    page = client.http.get("/v1/me/sessions?limit=1", headers=bearer(second)).json_body
    assert page["items"][0]["id"] == str(chain_of(second)) and page["next_cursor"]
    rest = client.http.get(f"/v1/me/sessions?limit=50&cursor={page['next_cursor']}", headers=bearer(second))
    assert str(chain_of(first)) in {s["id"] for s in rest.json_body["items"]}
    forged = b64_cursor(["users", "-created_at", "2020-01-01T00:00:00+00:00", str(uuid.uuid4())], fresh_firm)
    assert_cursor_refused(client.http.get(f"/v1/me/sessions?cursor={forged}", headers=bearer(second)),
                          by_signature=False)


def test_end_one_of_my_sessions(client: Any, fresh_firm: Firm, firm_a: Firm) -> None:
    user = fresh_firm.users["analyst"]
    keep, end = login(client, user["email"]), login(client, user["email"])
    resp = client.http.delete(f"/v1/me/sessions/{chain_of(end)}", headers=bearer(keep))
    assert resp.status_code == 204, resp.body
    assert_problem(client.http.get("/v1/me", headers=bearer(end)), 401)
    assert_problem(refresh(client, end), 401)
    assert client.http.get("/v1/me", headers=bearer(keep)).status_code == 200
    assert_problem(client.http.delete(f"/v1/me/sessions/{chain_of(end)}", headers=bearer(keep)), 404)
    event = owner_sql("SELECT actor_id, resource_id FROM audit_events WHERE firm_id = %s AND action = "
                      "'session.revoke'", (fresh_firm.id,))
    assert event == [{"actor_id": user["id"], "resource_id": str(chain_of(end))}]
    # a colleague's session, another firm's, one that never existed, and a malformed id: 404, nothing ended
    colleague = login(client, fresh_firm.users["viewer"]["email"])
    foreign = login(client, firm_a.users["viewer"]["email"])
    for other in (chain_of(colleague), chain_of(foreign), uuid.uuid4(), "not-a-uuid"):
        assert_problem(client.http.delete(f"/v1/me/sessions/{other}", headers=bearer(keep)), 404)
    assert client.http.get("/v1/me", headers=bearer(colleague)).status_code == 200
    assert client.http.get("/v1/me", headers=bearer(foreign)).status_code == 200
    # ending the current one is a logout
    assert client.http.delete(f"/v1/me/sessions/{chain_of(keep)}", headers=bearer(keep)).status_code == 204
    assert_problem(client.http.get("/v1/me", headers=bearer(keep)), 401)


def test_sessions_are_for_users_not_keys(client: Any, firm_a: Firm) -> None:
    assert_problem(client.http.get("/v1/me/sessions", headers=firm_a.auth("read")), 422)
    assert_problem(client.http.delete(f"/v1/me/sessions/{uuid.uuid4()}", headers=firm_a.auth("read")), 422)
    assert_problem(client.http.get("/v1/me/sessions"), 401)
