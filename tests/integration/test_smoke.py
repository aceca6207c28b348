"""The path of a request end to end: login, create, read, patch with If-Match, delete."""
from tests.conftest import PASSWORD


def test_login_create_read_patch_delete(client, firm_a):
    login = client.http.post("/v1/auth/login", headers={"Content-Type": "application/json"},
                             body=f'{{"email": "{firm_a.users["adviser"]["email"]}", "password": "{PASSWORD}"}}')
    assert login.status_code == 200, login.body
    token = login.json_body["access_token"]
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    created = client.http.post("/v1/client-groups", headers=h, body='{"name": "The Smiths", "type": "family"}')
    assert created.status_code == 201, created.body
    gid = created.json_body["id"]
    assert created.headers["ETag"] == '"1"'
    got = client.http.get(f"/v1/client-groups/{gid}", headers=h)
    assert got.status_code == 200 and got.json_body["name"] == "The Smiths"
    patched = client.http.patch(f"/v1/client-groups/{gid}", headers={**h, "If-Match": '"1"'},
                                body='{"status": "dormant"}')
    assert patched.status_code == 200, patched.body
    assert patched.json_body["version"] == 2 and patched.json_body["status"] == "dormant"
    deleted = client.http.delete(f"/v1/client-groups/{gid}", headers=h)
    assert deleted.status_code == 204
    assert client.http.get(f"/v1/client-groups/{gid}", headers=h).status_code == 404
