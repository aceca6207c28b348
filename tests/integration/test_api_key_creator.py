"""An API key dies with its creator (deactivated, or no longer an admin) unless an admin made it explicitly as a
firm service key: listed as such, audited, and alive after its creator is gone."""
from __future__ import annotations

import json
from typing import Any

from tests.conftest import Firm, assert_problem, owner_sql

JSON = {"Content-Type": "application/json"}


def second_admin(client: Any, firm: Firm) -> tuple[dict[str, Any], dict[str, str]]:
    """A new admin of `firm`, logged in: (user, headers)."""
    admin = {**firm.auth("admin"), **JSON}
    created = client.http.post("/v1/users", headers=admin, body=json.dumps(
        {"email": f"second-admin-{firm.id.hex[:8]}@example.com", "name": "Second Admin", "role": "admin",
         "password": "a long enough password"}))
    assert created.status_code == 201, created.body
    token = client.http.post("/v1/auth/login", headers=JSON, body=json.dumps(
        {"email": created.json_body["email"], "password": "a long enough password"})).json_body["access_token"]
    return created.json_body, {"Authorization": f"Bearer {token}", **JSON}


def make_key(client: Any, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    resp = client.http.post("/v1/api-keys", headers=headers,
                            body=json.dumps({"name": "integration", "scopes": ["read", "write"], **extra}))
    assert resp.status_code == 201, resp.body
    return resp.json_body


def works(client: Any, key: str) -> bool:
    resp = client.http.get("/v1/client-groups", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code in (200, 401), resp.body
    return resp.status_code == 200


def patch_user(client: Any, firm: Firm, user: dict[str, Any], **changes: Any) -> dict[str, Any]:
    version = owner_sql("SELECT version FROM users WHERE id = %s", (user["id"],))[0]["version"]
    resp = client.http.patch(f"/v1/users/{user['id']}", headers={**firm.auth("admin"), **JSON,
                                                                   "If-Match": f'"{version}"'},
                             body=json.dumps(changes))
    assert resp.status_code == 200, resp.body
    return resp.json_body


def test_keys_die_when_their_creator_is_deactivated_service_keys_do_not(client: Any, fresh_firm: Firm) -> None:
    user, headers = second_admin(client, fresh_firm)
    ordinary = make_key(client, headers)
    service = make_key(client, headers, service=True)
    assert ordinary["service"] is False and service["service"] is True
    assert works(client, ordinary["key"]) and works(client, service["key"])
    patch_user(client, fresh_firm, user, active=False)
    assert not works(client, ordinary["key"])
    assert_problem(client.http.get("/v1/client-groups", headers={"Authorization": f"Bearer {ordinary['key']}"}),
                   401, detail="revoked")
    assert works(client, service["key"])
    listed = {k["id"]: k for k in client.http.get("/v1/api-keys?limit=200",
                                                   headers=fresh_firm.auth("admin")).json_body["items"]}
    assert listed[ordinary["id"]]["revoked_at"] is not None and listed[ordinary["id"]]["service"] is False
    assert listed[service["id"]]["revoked_at"] is None and listed[service["id"]]["service"] is True
    events = owner_sql("SELECT action, resource_id, actor_id, after FROM audit_events WHERE firm_id = %s "
                       "AND action IN ('api_key.create', 'api_key.revoke') ORDER BY occurred_at", (fresh_firm.id,))
    mine = [e for e in events if e["resource_id"] in (ordinary["id"], service["id"])]
    assert [(e["action"], e["resource_id"]) for e in mine] == [
        ("api_key.create", ordinary["id"]), ("api_key.create", service["id"]), ("api_key.revoke", ordinary["id"])]
    assert mine[1]["after"]["service"] is True and mine[0]["after"]["service"] is False
    assert str(mine[2]["actor_id"]) == str(fresh_firm.users["admin"]["id"])
    assert "no longer an active administrator" in mine[2]["after"]["reason"]
    # reactivating the creator does not bring the key back
    patch_user(client, fresh_firm, user, active=True)
    assert not works(client, ordinary["key"])


def test_keys_die_when_their_creator_stops_being_an_admin(client: Any, fresh_firm: Firm) -> None:
    user, headers = second_admin(client, fresh_firm)
    ordinary, service = make_key(client, headers), make_key(client, headers, service=True)
    patch_user(client, fresh_firm, user, role="adviser")
    assert not works(client, ordinary["key"]) and works(client, service["key"])
    # another admin's keys are untouched
    assert works(client, fresh_firm.api_keys["write"])


def test_the_database_refuses_a_dead_creators_key_whatever_revoked_it_or_not(client: Any, fresh_firm: Firm) -> None:
    """Deactivated by raw SQL (no service revoked the key): PostgreSQL's key check still refuses it."""
    user, headers = second_admin(client, fresh_firm)
    ordinary, service = make_key(client, headers), make_key(client, headers, service=True)
    owner_sql("UPDATE users SET active = false WHERE id = %s", (user["id"],))
    resp = client.http.get("/v1/client-groups", headers={"Authorization": f"Bearer {ordinary['key']}"})
    assert_problem(resp, 401, detail="creator")
    assert works(client, service["key"])
    owner_sql("UPDATE users SET active = true, role = 'analyst' WHERE id = %s", (user["id"],))
    assert not works(client, ordinary["key"])
    owner_sql("UPDATE users SET role = 'admin' WHERE id = %s", (user["id"],))
    assert works(client, ordinary["key"])  # never revoked: it was its creator's state that stopped it


def test_a_key_refused_mid_request_is_a_401(client: Any, fresh_firm: Firm) -> None:
    """The key is shown again in every transaction: deactivated between requests, it stops at the next one."""
    _, headers = second_admin(client, fresh_firm)
    key = make_key(client, headers)
    assert works(client, key["key"])
    owner_sql("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (key["id"],))
    assert_problem(client.http.get("/v1/client-groups", headers={"Authorization": f"Bearer {key['key']}"}), 401)


def test_service_must_be_a_boolean(client: Any, firm_a: Firm) -> None:
    resp = client.http.post("/v1/api-keys", headers={**firm_a.auth("admin"), **JSON},
                            body=json.dumps({"name": "x", "scopes": ["read"], "service": "yes please"}))
    assert_problem(resp, 422, "service")
