"""An access token ends with its session: logout, deactivation and a role change take effect on the next request."""
import json

from tests.conftest import PASSWORD, assert_problem


def _login(client, email):
    r = client.http.post("/v1/auth/login", headers={"Content-Type": "application/json"},
                         body=json.dumps({"email": email, "password": PASSWORD}))
    assert r.status_code == 200, r.body
    return {"Authorization": f"Bearer {r.json_body['access_token']}"}


def test_logout_ends_the_access_token_at_once(client, fresh_firm):
    h = _login(client, fresh_firm.users["viewer"]["email"])
    assert client.http.get("/v1/client-groups", headers=h).status_code == 200
    assert client.http.post("/v1/auth/logout", headers=h).status_code == 204
    after = client.http.get("/v1/client-groups", headers=h)
    assert_problem(after, 401)
    # Another session of the same user is untouched.
    assert client.http.get("/v1/client-groups", headers=fresh_firm.auth("viewer")).status_code == 200


def test_demotion_and_deactivation_end_the_users_tokens(client, fresh_firm):
    adviser = fresh_firm.users["adviser"]
    h = _login(client, adviser["email"])
    admin = {**fresh_firm.auth("admin"), "Content-Type": "application/json"}
    demoted = client.http.patch(f"/v1/users/{adviser['id']}", headers={**admin, "If-Match": '"1"'},
                                body='{"role": "viewer"}')
    assert demoted.status_code == 200, demoted.body
    # The old token still says "adviser": refused, not honoured with the old role.
    write = client.http.post("/v1/client-groups", headers={**h, "Content-Type": "application/json"},
                             body='{"name": "X", "type": "individual"}')
    assert_problem(write, 401)
    h2 = _login(client, adviser["email"])
    assert client.http.get("/v1/client-groups", headers=h2).status_code == 200
    off = client.http.patch(f"/v1/users/{adviser['id']}", headers={**admin, "If-Match": '"2"'},
                            body='{"active": false}')
    assert off.status_code == 200, off.body
    assert_problem(client.http.get("/v1/client-groups", headers=h2), 401)
