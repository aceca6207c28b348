"""Client groups (households), product owners (people) and membership: the functional behaviour through the API.

List filters and search, keyset pagination (every row exactly once, whatever the page size and sort), membership
order and idempotency, deletes that refuse to orphan rows, and the If-Match / ETag rules of PATCH.
"""
from __future__ import annotations

import json
import random
import uuid
from datetime import date
from typing import Any

import pytest

from tests.conftest import Firm, assert_problem, owner_sql

JSON = {"Content-Type": "application/json"}


def writer(firm: Firm) -> dict[str, str]:
    return {**firm.auth("adviser"), **JSON}


def create_group(client: Any, firm: Firm, name: str, type_: str = "family", **fields: Any) -> dict[str, Any]:
    resp = client.http.post("/v1/client-groups", headers=writer(firm),
                            body=json.dumps({"name": name, "type": type_, **fields}))
    assert resp.status_code == 201, resp.body
    return resp.json_body


def create_owner(client: Any, firm: Firm, first: str, surname: str, **fields: Any) -> dict[str, Any]:
    resp = client.http.post("/v1/product-owners", headers=writer(firm),
                            body=json.dumps({"first_name": first, "surname": surname, **fields}))
    assert resp.status_code == 201, resp.body
    return resp.json_body


def get(client: Any, firm: Firm, path: str) -> Any:
    resp = client.http.get(path, headers=firm.auth("viewer"))
    assert resp.status_code == 200, resp.body
    return resp.json_body


def names(client: Any, firm: Firm, query: str) -> list[str]:
    body = get(client, firm, "/v1/client-groups?limit=200&" + query)
    assert body["next_cursor"] is None
    return [g["name"] for g in body["items"]]


def all_pages(client: Any, firm: Firm, path: str, limit: int, query: str = "") -> list[dict[str, Any]]:
    """Follow next_cursor to the end; every page but the last is full."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        url = f"{path}?limit={limit}" + (f"&{query}" if query else "") + (f"&cursor={cursor}" if cursor else "")
        body = get(client, firm, url)
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert len(body["items"]) == limit
    raise AssertionError("the pages never ended")


def counts(firm: Firm) -> dict[str, int]:
    return owner_sql(
        "SELECT (SELECT count(*) FROM client_groups WHERE firm_id = %(f)s) AS groups, "
        "(SELECT count(*) FROM product_owners WHERE firm_id = %(f)s) AS owners, "
        "(SELECT count(*) FROM client_group_product_owners WHERE firm_id = %(f)s) AS links, "
        "(SELECT count(*) FROM audit_events WHERE firm_id = %(f)s) AS events", {"f": firm.id})[0]


# --- client groups: create, read, defaults --------------------------------------------------------------------------

def test_create_and_read_a_client_group(client: Any, fresh_firm: Firm) -> None:
    adviser = fresh_firm.users["adviser"]
    resp = client.http.post("/v1/client-groups", headers=writer(fresh_firm), body=json.dumps(
        {"name": "  The Hendersons  ", "type": "couple", "adviser_id": str(adviser["id"]), "notes": "Met 2019"}))
    assert resp.status_code == 201, resp.body
    g = resp.json_body
    assert set(g) == {"id", "name", "type", "status", "adviser_id", "notes", "created_at", "updated_at", "version"}
    assert g["name"] == "The Hendersons"  # trimmed
    assert (g["type"], g["status"], g["adviser_id"], g["notes"], g["version"]) == \
        ("couple", "active", str(adviser["id"]), "Met 2019", 1)
    assert resp.headers["Location"] == f"/v1/client-groups/{g['id']}"
    assert resp.headers["ETag"] == '"1"'
    got = client.http.get(f"/v1/client-groups/{g['id']}", headers=fresh_firm.auth("viewer"))
    assert got.status_code == 200 and got.json_body == g and got.headers["ETag"] == '"1"'
    uuid.UUID(g["id"])


def test_create_and_read_a_product_owner(client: Any, fresh_firm: Firm) -> None:
    o = create_owner(client, fresh_firm, "Margaret", "Henderson", known_as="Peggy", date_of_birth="1961-04-09",
                     email="Peggy.Henderson@Example.co.uk", phone="+44 (0)20 7946 0000", status="active")
    assert set(o) == {"id", "first_name", "surname", "known_as", "date_of_birth", "email", "phone", "status",
                      "inception_date", "retention_hold", "erased_at", "created_at", "updated_at", "version"}
    assert (o["retention_hold"], o["erased_at"]) == (False, None)
    assert o["email"] == "peggy.henderson@example.co.uk"
    assert o["date_of_birth"] == "1961-04-09" and o["known_as"] == "Peggy"
    assert o["inception_date"] == date.today().isoformat()  # defaults to today
    assert o["version"] == 1
    assert get(client, fresh_firm, f"/v1/product-owners/{o['id']}") == o


# --- list filters ---------------------------------------------------------------------------------------------------

@pytest.fixture
def households(client: Any, fresh_firm: Firm) -> Firm:
    specs = [
        ("Smith Family", "family", "active"), ("smith trust", "trust", "dormant"),
        ("SMITHSON Ltd", "corporate", "active"),
        ("Jones 100% Ltd", "corporate", "inactive"), ("Jones 100 Ltd", "corporate", "active"),
        ("A_B Holdings", "corporate", "active"), ("AxB Holdings", "corporate", "dormant"),
        ("Back\\slash Trust", "trust", "active"), ("Brown", "individual", "active"),
        ("Müller Family", "family", "active"), ("O'Brien Couple", "couple", "inactive"),
    ]
    for name, type_, status in specs:
        create_group(client, fresh_firm, name, type_, status=status)
    return fresh_firm


def test_list_filters_by_status_and_type(client: Any, households: Firm) -> None:
    f = households
    assert sorted(names(client, f, "status=dormant")) == ["AxB Holdings", "smith trust"]
    assert sorted(names(client, f, "status=inactive")) == ["Jones 100% Ltd", "O'Brien Couple"]
    assert sorted(names(client, f, "type=trust")) == ["Back\\slash Trust", "smith trust"]
    assert sorted(names(client, f, "type=corporate&status=active")) == ["A_B Holdings", "Jones 100 Ltd",
                                                                        "SMITHSON Ltd"]
    assert names(client, f, "type=couple&status=active") == []
    assert len(names(client, f, "")) == 11


def test_q_is_case_insensitive_on_the_name(client: Any, households: Firm) -> None:
    f = households
    assert sorted(names(client, f, "q=smith")) == ["SMITHSON Ltd", "Smith Family", "smith trust"]
    assert sorted(names(client, f, "q=SMITH")) == sorted(names(client, f, "q=smith"))
    assert names(client, f, "q=ltd&status=inactive") == ["Jones 100% Ltd"]
    assert names(client, f, "q=m%C3%BCller") == ["Müller Family"]
    assert names(client, f, "q=o%27brien") == ["O'Brien Couple"]
    assert names(client, f, "q=nobody") == []


def test_q_treats_like_wildcards_literally(client: Any, households: Firm) -> None:
    f = households
    assert names(client, f, "q=100%25") == ["Jones 100% Ltd"]  # % matches only a percent sign
    assert names(client, f, "q=%25") == ["Jones 100% Ltd"]
    assert names(client, f, "q=A_B") == ["A_B Holdings"]  # _ matches only an underscore
    assert names(client, f, "q=_") == ["A_B Holdings"]
    assert names(client, f, "q=%5C") == ["Back\\slash Trust"]  # and a backslash is not an escape
    assert names(client, f, "q=k%5Cs") == ["Back\\slash Trust"]


def test_list_filters_by_adviser(client: Any, fresh_firm: Firm) -> None:
    adviser, admin = fresh_firm.users["adviser"], fresh_firm.users["admin"]
    create_group(client, fresh_firm, "Advised", adviser_id=str(adviser["id"]))
    create_group(client, fresh_firm, "Admin's", adviser_id=str(admin["id"]))
    create_group(client, fresh_firm, "Nobody's")
    assert names(client, fresh_firm, f"adviser_id={adviser['id']}") == ["Advised"]
    assert names(client, fresh_firm, f"adviser_id={admin['id']}") == ["Admin's"]


def test_product_owner_list_filters(client: Any, fresh_firm: Firm) -> None:
    create_owner(client, fresh_firm, "Alice", "Walker", known_as="Ally")
    create_owner(client, fresh_firm, "Bob", "Walker", status="deceased")
    create_owner(client, fresh_firm, "Carol", "Ward")
    create_owner(client, fresh_firm, "Dan", "Under_score")

    def who(query: str) -> list[str]:
        return [o["first_name"] for o in get(client, fresh_firm, "/v1/product-owners?" + query)["items"]]

    assert who("q=walker") == ["Alice", "Bob"]  # by surname, then first name
    assert who("q=ALLY") == ["Alice"]  # known-as
    assert who("q=car") == ["Carol"]  # first name
    assert who("status=deceased") == ["Bob"]
    assert who("q=wa&status=active") == ["Alice", "Carol"]
    assert who("q=r_s") == ["Dan"] and who("q=_") == ["Dan"] and who("q=%25") == []


# --- keyset pagination ----------------------------------------------------------------------------------------------

def test_keyset_pagination_returns_every_row_exactly_once(client: Any, fresh_firm: Firm) -> None:
    rng = random.Random(20240601)
    pool = ["Abbott", "Baker", "Clarke", "Davies", "Evans", "Baker", "abbott", "Zephyr", "Évora", "Baker"]
    made = [create_group(client, fresh_firm, rng.choice(pool) + (f" {i}" if i % 3 else ""),
                         rng.choice(["family", "couple", "trust"]), status=rng.choice(["active", "dormant"]))
            for i in range(25)]
    ids = {g["id"] for g in made}
    assert len(ids) == 25
    for sort in ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"):
        reference = all_pages(client, fresh_firm, "/v1/client-groups", 200, f"sort={sort}")
        assert {g["id"] for g in reference} == ids
        for limit in range(1, 8):
            seen = all_pages(client, fresh_firm, "/v1/client-groups", limit, f"sort={sort}")
            assert [g["id"] for g in seen] == [g["id"] for g in reference], (sort, limit)
    # with a filter, the pages cover exactly the filtered rows
    dormant = {g["id"] for g in made if g["status"] == "dormant"}
    for limit in (1, 2, 5):
        seen = all_pages(client, fresh_firm, "/v1/client-groups", limit, "status=dormant")
        assert [g["id"] for g in seen if g["status"] == "dormant"] == [g["id"] for g in seen]
        assert len(seen) == len(dormant) and {g["id"] for g in seen} == dormant


def test_default_order_is_by_name_then_id(client: Any, fresh_firm: Firm) -> None:
    for name in ["Baker", "Adams", "Baker", "Carter", "Baker"]:
        create_group(client, fresh_firm, name)
    items = all_pages(client, fresh_firm, "/v1/client-groups", 2)
    keys = [(g["name"], g["id"]) for g in items]
    # PostgreSQL's collation decides the order of names; equal names are in id order
    assert [k[0] for k in keys] == ["Adams", "Baker", "Baker", "Baker", "Carter"]
    bakers = [k[1] for k in keys if k[0] == "Baker"]
    assert bakers == sorted(bakers)


def test_pagination_does_not_skip_or_repeat_when_rows_change_between_pages(client: Any, fresh_firm: Firm) -> None:
    for i in range(6):
        create_group(client, fresh_firm, f"Page {i}")
    first = get(client, fresh_firm, "/v1/client-groups?limit=3")
    assert [g["name"] for g in first["items"]] == ["Page 0", "Page 1", "Page 2"]
    create_group(client, fresh_firm, "Page 0a")  # sorts before the cursor: not seen on later pages
    create_group(client, fresh_firm, "Page 9")  # after it: seen
    second = get(client, fresh_firm, f"/v1/client-groups?limit=50&cursor={first['next_cursor']}")
    assert [g["name"] for g in second["items"]] == ["Page 3", "Page 4", "Page 5", "Page 9"]


def test_product_owner_pagination_returns_every_row_exactly_once(client: Any, fresh_firm: Firm) -> None:
    made = []
    for i in range(13):
        made.append(create_owner(client, fresh_firm, ["Ann", "Ben", "Ann"][i % 3], ["Lee", "Lee", "Khan", "Ng"][i % 4],
                                 inception_date=f"20{10 + i % 5}-01-0{1 + i % 3}"))
    ids = [o["id"] for o in made]
    for sort in ("surname", "-surname", "first_name", "inception_date", "-inception_date", "created_at"):
        reference = all_pages(client, fresh_firm, "/v1/product-owners", 200, f"sort={sort}")
        assert sorted(o["id"] for o in reference) == sorted(ids)
        for limit in (1, 2, 3, 5, 7):
            seen = all_pages(client, fresh_firm, "/v1/product-owners", limit, f"sort={sort}")
            assert [o["id"] for o in seen] == [o["id"] for o in reference], (sort, limit)


def test_a_cursor_only_works_with_its_own_sort(client: Any, fresh_firm: Firm) -> None:
    for i in range(3):
        create_group(client, fresh_firm, f"G{i}")
    cursor = get(client, fresh_firm, "/v1/client-groups?limit=1&sort=name")["next_cursor"]
    assert cursor
    resp = client.http.get(f"/v1/client-groups?limit=1&sort=-created_at&cursor={cursor}",
                           headers=fresh_firm.auth("viewer"))
    body = assert_problem(resp, 422)
    assert any(e["field"] == "cursor" for e in body["errors"])
    owners_cursor = client.http.get(f"/v1/product-owners?cursor={cursor}", headers=fresh_firm.auth("viewer"))
    assert_problem(owners_cursor, 422)


# --- membership -----------------------------------------------------------------------------------------------------

def test_group_members_come_back_in_inception_date_order(client: Any, fresh_firm: Firm) -> None:
    g = create_group(client, fresh_firm, "The Ordered Household")
    late = create_owner(client, fresh_firm, "Late", "Zed", inception_date="2022-03-03")
    early = create_owner(client, fresh_firm, "Early", "Young", inception_date="2018-01-01")
    middle = create_owner(client, fresh_firm, "Middle", "Xavier", inception_date="2020-05-01")
    same_day = create_owner(client, fresh_firm, "Also", "Adams", inception_date="2020-05-01")
    create_owner(client, fresh_firm, "Not", "AMember", inception_date="2019-01-01")
    for o in (late, middle, early, same_day):
        r = client.http.put(f"/v1/client-groups/{g['id']}/product-owners/{o['id']}", headers=writer(fresh_firm))
        assert r.status_code == 201, r.body
    body = get(client, fresh_firm, f"/v1/client-groups/{g['id']}/product-owners")
    assert body["next_cursor"] is None
    assert [o["first_name"] for o in body["items"]] == ["Early", "Also", "Middle", "Late"]
    assert [o["inception_date"] for o in body["items"]] == ["2018-01-01", "2020-05-01", "2020-05-01", "2022-03-03"]
    assert body["items"][0] == get(client, fresh_firm, f"/v1/product-owners/{early['id']}")


def test_put_membership_is_idempotent(client: Any, fresh_firm: Firm) -> None:
    g = create_group(client, fresh_firm, "Idempotent Household")
    o = create_owner(client, fresh_firm, "Ida", "Potent")
    url = f"/v1/client-groups/{g['id']}/product-owners/{o['id']}"
    first = client.http.put(url, headers=writer(fresh_firm))
    assert first.status_code == 201, first.body
    assert first.json_body["id"] == o["id"]
    before = counts(fresh_firm)
    again = client.http.put(url, headers=writer(fresh_firm))
    assert again.status_code == 200, again.body
    assert again.json_body == first.json_body
    after = counts(fresh_firm)
    assert after["links"] == before["links"] == 1
    assert owner_sql("SELECT count(*) AS n FROM client_group_product_owners WHERE client_group_id = %s",
                     (g["id"],))[0]["n"] == 1
    # the group and the owner are not changed by being linked
    assert get(client, fresh_firm, f"/v1/client-groups/{g['id']}")["version"] == 1
    assert get(client, fresh_firm, f"/v1/product-owners/{o['id']}")["version"] == 1


def test_an_owner_may_belong_to_several_groups(client: Any, fresh_firm: Firm) -> None:
    o = create_owner(client, fresh_firm, "Shared", "Person")
    g1 = create_group(client, fresh_firm, "Family Home")
    g2 = create_group(client, fresh_firm, "Family Trust", "trust")
    for g in (g1, g2):
        assert client.http.put(f"/v1/client-groups/{g['id']}/product-owners/{o['id']}",
                               headers=writer(fresh_firm)).status_code == 201
    for g in (g1, g2):
        assert [m["id"] for m in get(client, fresh_firm, f"/v1/client-groups/{g['id']}/product-owners")["items"]] \
            == [o["id"]]


def test_deleting_a_group_with_members_is_refused_then_allowed_once_emptied(client: Any, fresh_firm: Firm) -> None:
    g = create_group(client, fresh_firm, "Full Household")
    a = create_owner(client, fresh_firm, "Ann", "Full")
    b = create_owner(client, fresh_firm, "Bill", "Full")
    for o in (a, b):
        assert client.http.put(f"/v1/client-groups/{g['id']}/product-owners/{o['id']}",
                               headers=writer(fresh_firm)).status_code == 201
    before = counts(fresh_firm)

    refused = assert_problem(client.http.delete(f"/v1/client-groups/{g['id']}", headers=writer(fresh_firm)), 409)
    assert "product owner" in refused["detail"] and "2" in refused["detail"]  # the reason, and how many
    refused_owner = assert_problem(client.http.delete(f"/v1/product-owners/{a['id']}", headers=writer(fresh_firm)), 409)
    assert "client group" in refused_owner["detail"]
    assert counts(fresh_firm) == before  # nothing deleted, no audit event
    assert get(client, fresh_firm, f"/v1/client-groups/{g['id']}")["version"] == 1
    assert len(get(client, fresh_firm, f"/v1/client-groups/{g['id']}/product-owners")["items"]) == 2

    # remove both, then both deletes work
    for o in (a, b):
        r = client.http.delete(f"/v1/client-groups/{g['id']}/product-owners/{o['id']}", headers=writer(fresh_firm))
        assert r.status_code == 204 and r.body == b""
    assert get(client, fresh_firm, f"/v1/client-groups/{g['id']}/product-owners")["items"] == []
    # removing again: no such membership
    assert_problem(client.http.delete(f"/v1/client-groups/{g['id']}/product-owners/{a['id']}",
                                      headers=writer(fresh_firm)), 404)
    assert client.http.delete(f"/v1/product-owners/{a['id']}", headers=writer(fresh_firm)).status_code == 204
    assert client.http.delete(f"/v1/client-groups/{g['id']}", headers=writer(fresh_firm)).status_code == 204
    assert_problem(client.http.get(f"/v1/client-groups/{g['id']}", headers=fresh_firm.auth("viewer")), 404)
    assert_problem(client.http.get(f"/v1/product-owners/{a['id']}", headers=fresh_firm.auth("viewer")), 404)
    assert_problem(client.http.delete(f"/v1/client-groups/{g['id']}", headers=writer(fresh_firm)), 404)
    # Bill, no longer in a group, is still there
    assert get(client, fresh_firm, f"/v1/product-owners/{b['id']}")["id"] == b["id"]
    after = counts(fresh_firm)
    assert (after["groups"], after["owners"], after["links"]) == (before["groups"] - 1, before["owners"] - 1, 0)
    assert after["events"] == before["events"] + 4  # two removals, two deletes


# --- PATCH, If-Match and ETag ---------------------------------------------------------------------------------------

def test_patch_changes_fields_and_bumps_the_version(client: Any, fresh_firm: Firm) -> None:
    g = create_group(client, fresh_firm, "Patchable", notes="old")
    url = f"/v1/client-groups/{g['id']}"
    r = client.http.patch(url, headers={**writer(fresh_firm), "If-Match": '"1"'},
                          body='{"name": "Patched", "status": "dormant", "notes": null}')
    assert r.status_code == 200, r.body
    p = r.json_body
    assert (p["name"], p["status"], p["notes"], p["type"], p["version"]) == ("Patched", "dormant", None, "family", 2)
    assert r.headers["ETag"] == '"2"'
    assert p["updated_at"] >= g["updated_at"] and p["created_at"] == g["created_at"]
    assert get(client, fresh_firm, url) == p


def test_patch_accepts_a_weak_etag(client: Any, fresh_firm: Firm) -> None:
    g = create_group(client, fresh_firm, "Weak")
    url = f"/v1/client-groups/{g['id']}"
    r = client.http.patch(url, headers={**writer(fresh_firm), "If-Match": 'W/"1"'}, body='{"status": "inactive"}')
    assert r.status_code == 200, r.body
    assert r.json_body["version"] == 2
    o = create_owner(client, fresh_firm, "Weak", "Etag")
    r = client.http.patch(f"/v1/product-owners/{o['id']}", headers={**writer(fresh_firm), "If-Match": ' W/"1" '},
                          body='{"known_as": "W"}')
    assert r.status_code == 200, r.body
    assert r.json_body["version"] == 2 and r.headers["ETag"] == '"2"'
    # a weak ETag of an old version is as stale as a strong one
    assert_problem(client.http.patch(url, headers={**writer(fresh_firm), "If-Match": 'W/"1"'},
                                     body='{"notes": "x"}'), 412)


def test_a_no_op_patch_keeps_the_version(client: Any, fresh_firm: Firm) -> None:
    g = create_group(client, fresh_firm, "Steady", "trust", notes="same")
    url = f"/v1/client-groups/{g['id']}"
    for body in ('{"name": "Steady", "type": "trust", "notes": "same"}', "{}", '{"name": "  Steady "}'):
        r = client.http.patch(url, headers={**writer(fresh_firm), "If-Match": '"1"'}, body=body)
        assert r.status_code == 200, (body, r.body)
        assert r.json_body["version"] == 1 and r.headers["ETag"] == '"1"'
        assert r.json_body["updated_at"] == g["updated_at"]
    assert owner_sql("SELECT version, updated_at FROM client_groups WHERE id = %s", (g["id"],))[0]["version"] == 1
    o = create_owner(client, fresh_firm, "Still", "Same", email="still@example.com")
    r = client.http.patch(f"/v1/product-owners/{o['id']}", headers={**writer(fresh_firm), "If-Match": '"1"'},
                          body='{"first_name": "Still", "email": "STILL@example.com"}')
    assert r.status_code == 200, r.body
    assert r.json_body["version"] == 1 and r.json_body["updated_at"] == o["updated_at"]


def test_patch_product_owner_clears_nullable_fields(client: Any, fresh_firm: Firm) -> None:
    o = create_owner(client, fresh_firm, "Clear", "Able", known_as="CA", date_of_birth="1970-01-01",
                     email="ca@example.com", phone="01234 567890")
    r = client.http.patch(f"/v1/product-owners/{o['id']}", headers={**writer(fresh_firm), "If-Match": '"1"'},
                          body='{"known_as": null, "date_of_birth": null, "email": null, "phone": null, '
                               '"status": "deceased", "inception_date": "2001-02-03"}')
    assert r.status_code == 200, r.body
    p = r.json_body
    assert (p["known_as"], p["date_of_birth"], p["email"], p["phone"]) == (None, None, None, None)
    assert (p["status"], p["inception_date"], p["version"]) == ("deceased", "2001-02-03", 2)


def test_patch_sets_and_clears_the_adviser(client: Any, fresh_firm: Firm) -> None:
    g = create_group(client, fresh_firm, "Advised Later")
    url = f"/v1/client-groups/{g['id']}"
    adviser = fresh_firm.users["adviser"]["id"]
    r = client.http.patch(url, headers={**writer(fresh_firm), "If-Match": '"1"'},
                          body=json.dumps({"adviser_id": str(adviser)}))
    assert r.status_code == 200 and r.json_body["adviser_id"] == str(adviser)
    r = client.http.patch(url, headers={**writer(fresh_firm), "If-Match": '"2"'}, body='{"adviser_id": null}')
    assert r.status_code == 200 and r.json_body["adviser_id"] is None and r.json_body["version"] == 3


def test_every_write_leaves_one_audit_event(client: Any, fresh_firm: Firm) -> None:
    def events() -> list[dict[str, Any]]:
        return owner_sql("SELECT action, resource_id, before, after, changed_fields FROM audit_events "
                         "WHERE firm_id = %s AND resource_type IN ('client_group', 'product_owner') "
                         "ORDER BY occurred_at, id", (fresh_firm.id,))

    g = create_group(client, fresh_firm, "Audited")
    r = client.http.patch(f"/v1/client-groups/{g['id']}", headers={**writer(fresh_firm), "If-Match": '"1"'},
                          body='{"notes": "hello"}')
    assert r.status_code == 200
    trail = events()
    assert [e["action"] for e in trail] == ["client_group.create", "client_group.update"]
    assert trail[1]["before"]["notes"] is None and trail[1]["after"]["notes"] == "hello"
    assert trail[1]["changed_fields"] == ["notes"]
