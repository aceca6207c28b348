"""The path of a request end to end: login, create, read, patch with If-Match, delete."""
from tests.conftest import PASSWORD, assert_problem


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
    assert_problem(client.http.get(f"/v1/client-groups/{gid}", headers=h), 404)


def test_sorted_keyset_pages_cover_every_row_once(client, fresh_firm):
    h = {**fresh_firm.auth("adviser"), "Content-Type": "application/json"}
    names = [f"Household {i:02d}" for i in range(12)] + ["Household 05"]  # a duplicate name: id breaks the tie
    for name in names:
        assert client.http.post("/v1/client-groups", headers=h, body=f'{{"name": "{name}", "type": "couple"}}'
                                ).status_code == 201
    for sort in ("name", "-name", "created_at", "-updated_at"):
        seen, cursor = [], None
        while True:
            url = f"/v1/client-groups?limit=5&sort={sort}" + (f"&cursor={cursor}" if cursor else "")
            body = client.http.get(url, headers=h).json_body
            seen += body["items"]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(names) and len({g["id"] for g in seen}) == len(names)
        keys = [(g[sort.lstrip("-")], g["id"]) for g in seen]
        assert keys == sorted(keys, reverse=sort.startswith("-"))
    first = client.http.get("/v1/client-groups?limit=5&sort=name", headers=h).json_body["next_cursor"]
    mixed = client.http.get(f"/v1/client-groups?limit=5&sort=-name&cursor={first}", headers=h)
    assert_problem(mixed, 422, "cursor")
    assert_problem(client.http.get("/v1/client-groups?sort=notes", headers=h), 422, "sort")
