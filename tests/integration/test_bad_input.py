"""Bad input gets a clear answer, and nothing is lost.

Every case below gets its exact 4xx as RFC 9457 problem+json (type, title, status, detail, request_id; errors[] with
field names for a 422), never a 500 and never a stack trace, and the database is left exactly as it was (row counts
and row contents of the firm's tables are compared before and after).

Three kinds of test:
- a table of hand-written cases against the client-group and product-owner routes (the issue's list, one by one);
- matrices built from `ROUTES`, so a route added later is held to the same rules without editing this file;
- hypothesis fuzzing of the create bodies with arbitrary JSON objects.
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Firm, owner_sql

JSON = {"Content-Type": "application/json"}
ONE_MB = 1024 * 1024


# --- helpers --------------------------------------------------------------------------------------------------------

_SNAPSHOT = """
SELECT
  (SELECT count(*) FROM client_groups WHERE firm_id = %(f)s) AS client_groups,
  (SELECT count(*) FROM product_owners WHERE firm_id = %(f)s) AS product_owners,
  (SELECT count(*) FROM client_group_product_owners WHERE firm_id = %(f)s) AS memberships,
  (SELECT count(*) FROM audit_events WHERE firm_id = %(f)s) AS audit_events,
  (SELECT count(*) FROM idempotency_keys WHERE firm_id = %(f)s) AS idempotency_keys,
  (SELECT count(*) FROM users WHERE firm_id = %(f)s) AS users,
  (SELECT count(*) FROM api_keys WHERE firm_id = %(f)s AND revoked_at IS NULL) AS live_api_keys,
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM client_groups t
     WHERE firm_id = %(f)s) AS client_groups_digest,
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM product_owners t
     WHERE firm_id = %(f)s) AS product_owners_digest,
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.client_group_id, t.product_owner_id), ''))
     FROM client_group_product_owners t WHERE firm_id = %(f)s) AS memberships_digest,
  (SELECT md5(coalesce(string_agg(t.id::text || t.role || t.active::text || t.version::text, '|' ORDER BY t.id), ''))
     FROM users t WHERE firm_id = %(f)s) AS users_digest
"""


def snapshot(*firm_ids: Any) -> list[dict[str, Any]]:
    """What the firms' tables hold: row counts and a digest of the rows' contents."""
    return [owner_sql(_SNAPSHOT, {"f": f})[0] for f in firm_ids]


def assert_problem(resp: Any, status: int, fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """`resp` is problem+json with exactly `status`; for a 422 its errors[] name every field in `fields`."""
    assert resp.status_code == status, (resp.status_code, resp.body[:500])
    assert resp.headers.get("Content-Type") == "application/problem+json", resp.headers
    assert b"Traceback" not in resp.body and b'File "' not in resp.body, resp.body[:500]
    body = json.loads(resp.body)
    assert isinstance(body, dict)
    for key in ("type", "title", "status", "detail", "request_id"):
        assert key in body, (key, body)
    assert body["status"] == status
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    assert body["request_id"] == resp.headers.get("X-Request-Id")
    if status == 422:
        assert body.get("errors") or not fields, body
        named = {e["field"] for e in body.get("errors") or []}
        for e in body.get("errors") or []:
            assert set(e) == {"field", "message"} and e["message"], e
        for f in fields:
            assert f in named, (f, body)
    return body


def b64(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def send(client: Any, method: str, path: str, headers: dict[str, str], body: str | bytes | None) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["body"] = body
    return client.http.request(method, path, **kwargs)


# --- the world the cases act on -------------------------------------------------------------------------------------

@dataclass
class World:
    group: str  # firm A's group, at version 2
    owner: str  # firm A's owner, at version 1, a member of `group`
    loner: str  # firm A's owner in no group
    other_group: str  # firm B's
    other_owner: str  # firm B's
    other_adviser: str  # a user of firm B
    viewer: str  # a user of firm A who is not an adviser
    extra: dict[str, str] = field(default_factory=dict)

    def fmt(self, text: str) -> str:
        """Fill the {placeholders} (by replacement: JSON bodies are full of other braces)."""
        values = {"group": self.group, "owner": self.owner, "loner": self.loner, "other_group": self.other_group,
                  "other_owner": self.other_owner, "other_adviser": self.other_adviser, "viewer": self.viewer,
                  "random": str(uuid.uuid4()), "future": (date.today() + timedelta(days=1)).isoformat()}
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text


def _created(resp: Any) -> str:
    assert resp.status_code == 201, resp.body
    return resp.json_body["id"]


@pytest.fixture(scope="module")
def world(app_module: Any, firm_a: Firm, firm_b: Firm) -> World:
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:  # as the `client` fixture
        ha = {**firm_a.auth("adviser"), **JSON}
        hb = {**firm_b.auth("adviser"), **JSON}
        group = _created(c.http.post("/v1/client-groups", headers=ha,
                                     body='{"name": "Bad Input Household", "type": "couple"}'))
        r = c.http.patch(f"/v1/client-groups/{group}", headers={**ha, "If-Match": '"1"'}, body='{"notes": "v2"}')
        assert r.status_code == 200 and r.json_body["version"] == 2
        owner = _created(c.http.post("/v1/product-owners", headers=ha,
                                     body='{"first_name": "Ada", "surname": "Input"}'))
        loner = _created(c.http.post("/v1/product-owners", headers=ha,
                                     body='{"first_name": "Lone", "surname": "Input"}'))
        assert c.http.put(f"/v1/client-groups/{group}/product-owners/{owner}", headers=ha).status_code == 201
        other_group = _created(c.http.post("/v1/client-groups", headers=hb,
                                           body='{"name": "Other Firm Household", "type": "family"}'))
        other_owner = _created(c.http.post("/v1/product-owners", headers=hb,
                                           body='{"first_name": "Other", "surname": "Firm"}'))
        assert c.http.put(f"/v1/client-groups/{other_group}/product-owners/{other_owner}",
                          headers=hb).status_code == 201
    # firm B's existing viewer and read key stand for its users and keys (no extra rows in the shared firm)
    other_user = str(firm_b.users["viewer"]["id"])
    other_key = str(owner_sql("SELECT id FROM api_keys WHERE prefix = %s", (firm_b.api_keys["read"][:12],))[0]["id"])
    return World(group=group, owner=owner, loner=loner, other_group=other_group, other_owner=other_owner,
                 other_adviser=str(firm_b.users["adviser"]["id"]), viewer=str(firm_a.users["viewer"]["id"]),
                 extra={"other_user": other_user, "other_key": other_key})


# --- the list, case by case ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    body: str | bytes | None = field(default=None, repr=False)  # some are a megabyte
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    fields: tuple[str, ...] = ()
    who: str = "adviser"


G, O = "/v1/client-groups", "/v1/product-owners"
GROUP, OWNER = G + "/{group}", O + "/{owner}"
IF1, IF2 = (("Content-Type", "application/json"), ("If-Match", '"1"')), \
    (("Content-Type", "application/json"), ("If-Match", '"2"'))
NUL = "\\u0000"  # in a JSON text: the NUL character, which PostgreSQL refuses in text


def _if(value: str) -> tuple[tuple[str, str], ...]:
    return (("Content-Type", "application/json"), ("If-Match", value))


CASES = [
    # malformed JSON and non-object bodies: 400
    Case("malformed-json", "POST", G, 400, '{"name": "x", "type": '),
    Case("malformed-json-trailing-comma", "POST", G, 400, '{"name": "x", "type": "family",}'),
    Case("malformed-json-patch", "PATCH", GROUP, 400, "{notes: 1}", IF2),
    Case("invalid-utf8", "POST", G, 400, b'{"name": "\xff\xfe", "type": "family"}'),
    Case("json-array", "POST", G, 400, '[{"name": "x", "type": "family"}]'),
    Case("json-string", "POST", G, 400, '"a household"'),
    Case("json-number", "POST", O, 400, "42"),
    Case("json-null", "POST", O, 400, "null"),
    Case("empty-body", "POST", G, 400, ""),
    Case("json-array-patch", "PATCH", GROUP, 400, "[]", IF2),
    # content type: 415
    Case("text-plain", "POST", G, 415, '{"name": "x", "type": "family"}', (("Content-Type", "text/plain"),)),
    Case("form-encoded", "POST", O, 415, "first_name=a&surname=b",
         (("Content-Type", "application/x-www-form-urlencoded"),)),
    Case("no-content-type", "POST", G, 415, '{"name": "x", "type": "family"}', ()),
    Case("text-plain-patch", "PATCH", GROUP, 415, '{"notes": "x"}', (("Content-Type", "text/plain"),
                                                                    ("If-Match", '"2"'))),
    # unknown fields: 422 naming the field
    Case("unknown-field", "POST", G, 422, '{"name": "x", "type": "family", "colour": "red"}', fields=("colour",)),
    Case("unknown-field-owner", "POST", O, 422, '{"first_name": "a", "surname": "b", "nickname": "c"}',
         fields=("nickname",)),
    Case("unknown-field-patch", "PATCH", GROUP, 422, '{"version": 7}', IF2, fields=("version",)),
    Case("unknown-field-id", "POST", G, 422, '{"id": "{random}", "name": "x", "type": "family"}', fields=("id",)),
    # wrong types: 422
    Case("name-not-string", "POST", G, 422, '{"name": 123, "type": "family"}', fields=("name",)),
    Case("name-list", "POST", G, 422, '{"name": ["x"], "type": "family"}', fields=("name",)),
    Case("type-not-enum", "POST", G, 422, '{"name": "x", "type": "castle"}', fields=("type",)),
    Case("type-number", "POST", G, 422, '{"name": "x", "type": 5}', fields=("type",)),
    Case("missing-required", "POST", G, 422, '{"name": "x"}', fields=("type",)),
    Case("empty-object", "POST", O, 422, "{}", fields=("first_name", "surname")),
    Case("adviser-not-uuid", "POST", G, 422, '{"name": "x", "type": "family", "adviser_id": "bob"}',
         fields=("adviser_id",)),
    Case("adviser-number", "POST", G, 422, '{"name": "x", "type": "family", "adviser_id": 12}',
         fields=("adviser_id",)),
    Case("notes-object", "PATCH", GROUP, 422, '{"notes": {"a": 1}}', IF2, fields=("notes",)),
    Case("status-bool", "PATCH", GROUP, 422, '{"status": true}', IF2, fields=("status",)),
    Case("dob-not-date", "POST", O, 422, '{"first_name": "a", "surname": "b", "date_of_birth": "31/12/1980"}',
         fields=("date_of_birth",)),
    Case("dob-impossible", "POST", O, 422, '{"first_name": "a", "surname": "b", "date_of_birth": "1980-02-30"}',
         fields=("date_of_birth",)),
    Case("dob-before-1900", "POST", O, 422, '{"first_name": "a", "surname": "b", "date_of_birth": "1899-12-31"}',
         fields=("date_of_birth",)),
    Case("email-invalid", "POST", O, 422, '{"first_name": "a", "surname": "b", "email": "not-an-email"}',
         fields=("email",)),
    Case("phone-letters", "PATCH", OWNER, 422, '{"phone": "call me"}', IF1, fields=("phone",)),
    Case("huge-number", "POST", G, 422, '{"name": "x", "type": "family", "notes": 1e999}', fields=("notes",)),
    Case("blank-name", "POST", G, 422, '{"name": "   ", "type": "family"}', fields=("name",)),
    # size: 413
    Case("one-megabyte", "POST", G, 413, '{"name": "x", "type": "family", "notes": "' + "n" * ONE_MB + '"}'),
    Case("one-megabyte-patch", "PATCH", GROUP, 413, '{"notes": "' + "n" * ONE_MB + '"}', IF2),
    Case("one-megabyte-owner", "POST", O, 413, '{"first_name": "' + "a" * ONE_MB + '", "surname": "b"}'),
    # unknown ids: 404
    Case("unknown-group", "GET", G + "/{random}", 404, None, ()),
    Case("unknown-owner", "GET", O + "/{random}", 404, None, ()),
    Case("unknown-group-patch", "PATCH", G + "/{random}", 404, '{"notes": "x"}', IF1),
    Case("unknown-group-delete", "DELETE", G + "/{random}", 404, None, ()),
    Case("unknown-owner-delete", "DELETE", O + "/{random}", 404, None, ()),
    Case("unknown-group-members", "GET", G + "/{random}/product-owners", 404, None, ()),
    Case("unknown-owner-put", "PUT", GROUP + "/product-owners/{random}", 404, None, ()),
    Case("unknown-group-put", "PUT", G + "/{random}/product-owners/{owner}", 404, None, ()),
    Case("not-a-member-delete", "DELETE", GROUP + "/product-owners/{loner}", 404, None, ()),
    # ids that are not UUIDs: 404
    Case("non-uuid-group", "GET", G + "/not-a-uuid", 404, None, ()),
    Case("numeric-group", "GET", G + "/1", 404, None, ()),
    Case("near-uuid-owner", "GET", O + "/00000000-0000-0000-0000-00000000000g", 404, None, ()),
    Case("non-uuid-patch", "PATCH", G + "/xyz", 404, '{"notes": "x"}', IF1),
    Case("non-uuid-delete", "DELETE", O + "/%27%20OR%201=1--", 404, None, ()),
    Case("non-uuid-membership", "PUT", GROUP + "/product-owners/nope", 404, None, ()),
    # another firm's ids: 404, exactly as if they did not exist
    Case("other-firm-group", "GET", G + "/{other_group}", 404, None, ()),
    Case("other-firm-owner", "GET", O + "/{other_owner}", 404, None, ()),
    Case("other-firm-members", "GET", G + "/{other_group}/product-owners", 404, None, ()),
    Case("other-firm-patch", "PATCH", G + "/{other_group}", 404, '{"notes": "mine now"}', IF1),
    Case("other-firm-owner-patch", "PATCH", O + "/{other_owner}", 404, '{"surname": "Mine"}', IF1),
    Case("other-firm-delete", "DELETE", G + "/{other_group}", 404, None, ()),
    Case("other-firm-owner-delete", "DELETE", O + "/{other_owner}", 404, None, ()),
    Case("other-firm-owner-into-my-group", "PUT", GROUP + "/product-owners/{other_owner}", 404, None, ()),
    Case("my-owner-into-other-firm-group", "PUT", G + "/{other_group}/product-owners/{owner}", 404, None, ()),
    Case("other-firm-membership-delete", "DELETE", G + "/{other_group}/product-owners/{other_owner}", 404, None,
         ()),
    # If-Match
    Case("if-match-missing", "PATCH", GROUP, 428, '{"notes": "x"}'),
    Case("if-match-missing-owner", "PATCH", OWNER, 428, '{"surname": "x"}'),
    Case("if-match-stale", "PATCH", GROUP, 412, '{"notes": "x"}', IF1),
    Case("if-match-future", "PATCH", GROUP, 412, '{"notes": "x"}', _if('"3"')),
    Case("if-match-stale-owner", "PATCH", OWNER, 412, '{"surname": "x"}', _if('"0"')),
    Case("if-match-unquoted", "PATCH", GROUP, 412, '{"notes": "x"}', _if("2")),
    Case("if-match-text", "PATCH", GROUP, 412, '{"notes": "x"}', _if('"two"')),
    Case("if-match-garbage", "PATCH", GROUP, 412, '{"notes": "x"}', _if("abc")),
    Case("if-match-negative", "PATCH", GROUP, 412, '{"notes": "x"}', _if('"-2"')),
    Case("if-match-empty-quotes", "PATCH", GROUP, 412, '{"notes": "x"}', _if('""')),
    Case("if-match-weak-unquoted", "PATCH", GROUP, 412, '{"notes": "x"}', _if("W/2")),
    Case("if-match-huge", "PATCH", GROUP, 412, '{"notes": "x"}', _if('"99999999999999999999"')),
    # query parameters
    Case("unknown-query-param", "GET", G + "?colour=red", 422, None, (), fields=("colour",)),
    Case("unknown-query-param-owners", "GET", O + "?sort_by=name", 422, None, (), fields=("sort_by",)),
    Case("query-on-get-by-id", "GET", GROUP + "?expand=all", 422, None, (), fields=("expand",)),
    Case("query-on-delete", "DELETE", O + "/{loner}?force=true", 422, None, (), fields=("force",)),
    Case("limit-0", "GET", G + "?limit=0", 422, None, (), fields=("limit",)),
    Case("limit-201", "GET", G + "?limit=201", 422, None, (), fields=("limit",)),
    Case("limit-negative", "GET", O + "?limit=-1", 422, None, (), fields=("limit",)),
    Case("limit-text", "GET", O + "?limit=ten", 422, None, (), fields=("limit",)),
    Case("status-filter-invalid", "GET", G + "?status=gone", 422, None, (), fields=("status",)),
    Case("type-filter-invalid", "GET", G + "?type=castle", 422, None, (), fields=("type",)),
    Case("cursor-impossible-time", "GET", G + "?sort=created_at&cursor=" + b64(["created_at", "2024-02-30T25:61:00Z",
                                                                               str(uuid.UUID(int=0))]),
         422, None, ()),
    Case("cursor-year-300000", "GET", G + "?sort=-updated_at&cursor=" + b64(["-updated_at", "300000-01-01T00:00Z",
                                                                            str(uuid.UUID(int=0))]),
         422, None, ()),
    Case("cursor-impossible-date", "GET", O + "?sort=inception_date&cursor=" + b64(["inception_date", "2024-02-30",
                                                                                    str(uuid.UUID(int=0))]),
         422, None, ()),
    Case("cursor-nul-in-a-value", "GET", G + "?cursor=" + b64(["name", "a\u0000", str(uuid.UUID(int=0))]),
         422, None, ()),
    Case("sort-unknown", "GET", G + "?sort=notes", 422, None, (), fields=("sort",)),
    Case("sort-injection", "GET", O + "?sort=surname;drop%20table%20users", 422, None, (), fields=("sort",)),
    Case("q-empty", "GET", G + "?q=", 422, None, (), fields=("q",)),
    Case("cursor-garbage", "GET", G + "?cursor=not-a-cursor", 422, None, (), fields=("cursor",)),
    Case("cursor-bangs", "GET", O + "?cursor=!!!!", 422, None, (), fields=("cursor",)),
    Case("cursor-not-list", "GET", O + "?cursor=" + b64({"surname": "a"}), 422, None, (), fields=("cursor",)),
    Case("cursor-too-long", "GET", G + "?cursor=" + "A" * 600, 422, None, (), fields=("cursor",)),
    Case("adviser-unknown", "POST", G, 422, '{"name": "x", "type": "family", "adviser_id": "{random}"}',
         fields=("adviser_id",)),
    Case("adviser-other-firm", "POST", G, 422, '{"name": "x", "type": "family", "adviser_id": "{other_adviser}"}',
         fields=("adviser_id",)),
    Case("adviser-is-viewer", "POST", G, 422, '{"name": "x", "type": "family", "adviser_id": "{viewer}"}',
         fields=("adviser_id",)),
    Case("adviser-other-firm-patch", "PATCH", GROUP, 422, '{"adviser_id": "{other_adviser}"}', IF2,
         fields=("adviser_id",)),
    # dates of birth in the future
    Case("dob-future", "POST", O, 422, '{"first_name": "a", "surname": "b", "date_of_birth": "{future}"}',
         fields=("date_of_birth",)),
    Case("dob-future-patch", "PATCH", OWNER, 422, '{"date_of_birth": "{future}"}', IF1, fields=("date_of_birth",)),
    # null for a field that cannot be cleared
    Case("null-name", "PATCH", GROUP, 422, '{"name": null}', IF2, fields=("name",)),
    Case("null-type", "PATCH", GROUP, 422, '{"type": null}', IF2, fields=("type",)),
    Case("null-status", "PATCH", GROUP, 422, '{"status": null, "notes": "x"}', IF2, fields=("status",)),
    Case("null-surname", "PATCH", OWNER, 422, '{"surname": null}', IF1, fields=("surname",)),
    Case("null-inception", "PATCH", OWNER, 422, '{"inception_date": null}', IF1, fields=("inception_date",)),
    Case("null-required-on-create", "POST", G, 422, '{"name": null, "type": "family"}', fields=("name",)),
    # overlong strings
    Case("name-201", "POST", G, 422, '{"name": "' + "x" * 201 + '", "type": "family"}', fields=("name",)),
    Case("notes-10001", "PATCH", GROUP, 422, '{"notes": "' + "x" * 10001 + '"}', IF2, fields=("notes",)),
    Case("first-name-101", "POST", O, 422, '{"first_name": "' + "x" * 101 + '", "surname": "b"}',
         fields=("first_name",)),
    Case("known-as-101", "PATCH", OWNER, 422, '{"known_as": "' + "x" * 101 + '"}', IF1, fields=("known_as",)),
    Case("phone-41", "POST", O, 422, '{"first_name": "a", "surname": "b", "phone": "' + "1" * 41 + '"}',
         fields=("phone",)),
    Case("q-201", "GET", G + "?q=" + "x" * 201, 422, None, (), fields=("q",)),
    # NUL characters: PostgreSQL refuses them in text, so they must be refused at the edge (422), never a 500
    Case("nul-in-name", "POST", G, 422, '{"name": "a' + NUL + 'b", "type": "family"}', fields=("name",)),
    Case("nul-in-notes-patch", "PATCH", GROUP, 422, '{"notes": "' + NUL + '"}', IF2, fields=("notes",)),
    Case("nul-in-first-name", "POST", O, 422, '{"first_name": "' + NUL + '", "surname": "b"}',
         fields=("first_name",)),
    Case("nul-in-known-as-patch", "PATCH", OWNER, 422, '{"known_as": "x' + NUL + '"}', IF1, fields=("known_as",)),
    Case("nul-in-q", "GET", G + "?q=a%00b", 422, None, (), fields=("q",)),
    Case("nul-in-q-owners", "GET", O + "?q=%00", 422, None, (), fields=("q",)),
    Case("nul-in-user-name", "POST", "/v1/users", 422,
         '{"email": "nul@example.com", "name": "a' + NUL + '", "role": "viewer"}', fields=("name",), who="admin"),
    Case("nul-in-api-key-name", "POST", "/v1/api-keys", 422, '{"name": "' + NUL + '", "scopes": ["read"]}',
         fields=("name",), who="admin"),
    # a body where none is taken
    Case("body-on-put-membership", "PUT", GROUP + "/product-owners/{loner}", 422, '{"role": "joint"}'),
]


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_case(client: Any, firm_a: Firm, firm_b: Firm, world: World, case: Case) -> None:
    headers = {**firm_a.auth(case.who), **dict(case.headers)}
    body = world.fmt(case.body) if isinstance(case.body, str) else case.body
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, case.method, world.fmt(case.path), headers, body)
    assert_problem(resp, case.status, case.fields)
    assert snapshot(firm_a.id, firm_b.id) == before


def test_the_world_is_intact(client: Any, firm_a: Firm, world: World) -> None:
    """After all the cases above (in any order), the fixtures' rows are exactly as they were made."""
    h = firm_a.auth("adviser")
    g = client.http.get(f"/v1/client-groups/{world.group}", headers=h)
    assert g.status_code == 200 and g.json_body["version"] == 2 and g.json_body["notes"] == "v2"
    assert g.headers["ETag"] == '"2"'
    members = client.http.get(f"/v1/client-groups/{world.group}/product-owners", headers=h).json_body["items"]
    assert [m["id"] for m in members] == [world.owner]
    assert client.http.get(f"/v1/product-owners/{world.loner}", headers=h).json_body["version"] == 1


def test_error_bodies_carry_the_callers_request_id(client: Any, firm_a: Firm) -> None:
    resp = client.http.get(f"/v1/client-groups/{uuid.uuid4()}",
                           headers={**firm_a.auth("viewer"), "X-Request-Id": "trace-abc.123"})
    body = assert_problem(resp, 404)
    assert body["request_id"] == "trace-abc.123"
    # a request id that is not a safe token is replaced, not echoed
    resp = client.http.get(f"/v1/client-groups/{uuid.uuid4()}",
                           headers={**firm_a.auth("viewer"), "X-Request-Id": "<script>alert(1)</script>"})
    body = assert_problem(resp, 404)
    assert "<script>" not in body["request_id"]


def test_unknown_and_other_firms_ids_answer_alike(client: Any, firm_a: Firm, world: World) -> None:
    """Another firm's id cannot be told apart from an id that does not exist (apart from the request id)."""
    h = firm_a.auth("adviser")
    mine = json.loads(client.http.get(f"/v1/client-groups/{uuid.uuid4()}", headers=h).body)
    theirs = json.loads(client.http.get(f"/v1/client-groups/{world.other_group}", headers=h).body)
    mine.pop("request_id"), theirs.pop("request_id")
    assert mine == theirs


# --- Idempotency-Key ------------------------------------------------------------------------------------------------

def test_idempotency_key_replay_returns_the_first_response(client: Any, fresh_firm: Firm) -> None:
    h = {**fresh_firm.auth("adviser"), **JSON, "Idempotency-Key": "create-the-browns-1"}
    body = '{"name": "The Browns", "type": "family", "notes": "first"}'
    before = snapshot(fresh_firm.id)[0]
    first = client.http.post("/v1/client-groups", headers=h, body=body)
    assert first.status_code == 201, first.body
    assert "Idempotent-Replayed" not in first.headers
    again = client.http.post("/v1/client-groups", headers=h, body=body)
    assert again.status_code == 201
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"] == '"1"'
    assert again.headers["Content-Type"] == "application/json"
    after = snapshot(fresh_firm.id)[0]
    assert after["client_groups"] == before["client_groups"] + 1
    assert after["audit_events"] == before["audit_events"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1
    rows = owner_sql("SELECT id FROM client_groups WHERE firm_id = %s AND name = 'The Browns'", (fresh_firm.id,))
    assert [str(r["id"]) for r in rows] == [first.json_body["id"]]
    events = owner_sql("SELECT count(*) AS n FROM audit_events WHERE firm_id = %s AND action = 'client_group.create'",
                       (fresh_firm.id,))
    assert events[0]["n"] == 1

    # the same key with another body: 422, nothing written
    other = client.http.post("/v1/client-groups", headers=h,
                             body='{"name": "The Browns", "type": "family", "notes": "second"}')
    assert_problem(other, 422)
    # the same key on another route is another request too
    elsewhere = client.http.post("/v1/product-owners", headers=h, body='{"first_name": "A", "surname": "Brown"}')
    assert_problem(elsewhere, 422)
    assert snapshot(fresh_firm.id)[0] == after

    # keys belong to the caller: another principal's identical key is a new request
    h2 = {**fresh_firm.auth("admin"), **JSON, "Idempotency-Key": "create-the-browns-1"}
    theirs = client.http.post("/v1/client-groups", headers=h2, body=body)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.json_body["id"] != first.json_body["id"]


def test_idempotency_key_of_a_failed_request_is_not_spent(client: Any, fresh_firm: Firm) -> None:
    """A request that fails rolls back its key with everything else: the corrected retry goes through."""
    h = {**fresh_firm.auth("adviser"), **JSON, "Idempotency-Key": "retry-me"}
    before = snapshot(fresh_firm.id)[0]
    bad = client.http.post("/v1/client-groups", headers=h,
                           body=json.dumps({"name": "X", "type": "family", "adviser_id": str(uuid.uuid4())}))
    assert_problem(bad, 422, ("adviser_id",))
    assert snapshot(fresh_firm.id)[0] == before
    good = client.http.post("/v1/client-groups", headers=h, body='{"name": "X", "type": "family"}')
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers


def test_idempotency_key_expires_after_24_hours(client: Any, fresh_firm: Firm) -> None:
    h = {**fresh_firm.auth("adviser"), **JSON, "Idempotency-Key": "daily-import"}
    first = client.http.post("/v1/client-groups", headers=h, body='{"name": "Day One", "type": "family"}')
    assert first.status_code == 201
    owner_sql("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE firm_id = %s",
              (fresh_firm.id,))
    # a day later the key is free again, even for another body
    later = client.http.post("/v1/client-groups", headers=h, body='{"name": "Day Two", "type": "family"}')
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.json_body["id"] != first.json_body["id"]
    again = client.http.post("/v1/client-groups", headers=h, body='{"name": "Day Two", "type": "family"}')
    assert again.headers.get("Idempotent-Replayed") == "true" and again.body == later.body
    assert snapshot(fresh_firm.id)[0]["client_groups"] == 2


def test_idempotency_key_too_long(client: Any, fresh_firm: Firm) -> None:
    h = {**fresh_firm.auth("adviser"), **JSON, "Idempotency-Key": "k" * 256}
    before = snapshot(fresh_firm.id)
    assert_problem(client.http.post("/v1/client-groups", headers=h, body='{"name": "X", "type": "family"}'), 422)
    assert snapshot(fresh_firm.id) == before


# --- matrices over every route --------------------------------------------------------------------------------------

def _routes() -> list[Any]:
    import chalicelib.routes  # noqa: F401  (registers every route)
    from chalicelib.core.http import ROUTES

    assert ROUTES
    return list(ROUTES)


def _rid(spec: Any) -> str:
    return f"{spec.method} {spec.path}"


def _auth_for(spec: Any, firm: Firm) -> dict[str, str]:
    return {} if spec.access == "public" else firm.auth("admin")


def _fill(spec: Any, values: dict[str, str] | None = None) -> str:
    path = spec.path
    for name in spec.path_params:
        path = path.replace("{" + name + "}", (values or {}).get(name, str(uuid.uuid4())))
    return path


BODY_ROUTES = [r for r in _routes() if r.body is not None]
ID_ROUTES = [r for r in _routes() if any(p.endswith("id") for p in r.path_params)]
IF_MATCH_ROUTES = [r for r in _routes() if r.if_match]
QUERY_ROUTES = [r for r in _routes() if r.query is not None]
NO_QUERY_ROUTES = [r for r in _routes() if r.query is None and r.body is None]
LIMIT_ROUTES = [r for r in QUERY_ROUTES if "limit" in r.query.model_fields]
CURSOR_ROUTES = [r for r in QUERY_ROUTES if "cursor" in r.query.model_fields]

BAD_BODIES = [
    ("malformed", "application/json", '{"a": ', 400, ()),
    ("array", "application/json", "[]", 400, ()),
    ("string", "application/json", '"x"', 400, ()),
    ("text-plain", "text/plain", "{}", 415, ()),
    ("unknown-field", "application/json", '{"zz_unknown": 1}', 422, ("zz_unknown",)),
    ("one-megabyte", "application/json", '{"zz": "' + "z" * ONE_MB + '"}', 413, ()),
]


def test_route_matrices_cover_the_routes() -> None:
    """The matrices below select routes by what they declare; these are the routes we know of today."""
    assert {_rid(r) for r in BODY_ROUTES} >= {"POST /v1/client-groups", "PATCH /v1/client-groups/{group_id}",
                                               "POST /v1/product-owners", "PATCH /v1/product-owners/{owner_id}",
                                               "POST /v1/auth/login", "POST /v1/users", "POST /v1/api-keys"}
    assert all(r.method in ("POST", "PUT", "PATCH") for r in BODY_ROUTES)
    assert all(r.method == "PATCH" for r in IF_MATCH_ROUTES)
    # every PATCH declares If-Match: a PATCH without it could lose updates
    assert {_rid(r) for r in _routes() if r.method == "PATCH"} == {_rid(r) for r in IF_MATCH_ROUTES}
    # every list that takes query parameters pages with limit and cursor
    from chalicelib.core.http import Page

    lists = {_rid(r) for r in QUERY_ROUTES
             if getattr(r.response, "__pydantic_generic_metadata__", {}).get("origin") is Page}
    assert lists >= {"GET /v1/client-groups", "GET /v1/product-owners", "GET /v1/users", "GET /v1/api-keys"}
    assert lists <= {_rid(r) for r in LIMIT_ROUTES} and lists <= {_rid(r) for r in CURSOR_ROUTES}


@pytest.mark.parametrize("spec", BODY_ROUTES, ids=_rid)
@pytest.mark.parametrize("kind,ctype,body,status,fields", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_every_body_route_refuses_bad_bodies(client: Any, firm_a: Firm, firm_b: Firm, spec: Any, kind: str,
                                             ctype: str, body: str, status: int, fields: tuple[str, ...]) -> None:
    headers = {**_auth_for(spec, firm_a), "Content-Type": ctype}
    if spec.if_match:
        headers["If-Match"] = '"1"'
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, spec.method, _fill(spec), headers, body)
    assert_problem(resp, status, fields)
    assert snapshot(firm_a.id, firm_b.id) == before


@pytest.mark.parametrize("spec", ID_ROUTES, ids=_rid)
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "42", "0000000-0000-0000-0000-000000000000"])
def test_every_id_route_answers_404_for_a_non_uuid(client: Any, firm_a: Firm, firm_b: Firm, spec: Any,
                                                   bad_id: str) -> None:
    values = {p: bad_id for p in spec.path_params if p.endswith("id")}
    headers = {**_auth_for(spec, firm_a), **JSON}
    if spec.if_match:
        headers["If-Match"] = '"1"'
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, spec.method, _fill(spec, values), headers, "{}" if spec.body is not None else None)
    assert_problem(resp, 404)
    assert snapshot(firm_a.id, firm_b.id) == before


def _other_firms_ids(world: World) -> dict[str, str]:
    return {"group_id": world.other_group, "owner_id": world.other_owner, "user_id": world.extra["other_user"],
            "key_id": world.extra["other_key"]}


@pytest.mark.parametrize("which", ["unknown", "other-firm"])
@pytest.mark.parametrize("spec", ID_ROUTES, ids=_rid)
def test_every_id_route_answers_404_for_unknown_and_other_firms_ids(client: Any, firm_a: Firm, firm_b: Firm,
                                                                   world: World, spec: Any, which: str) -> None:
    if which == "unknown":
        values = {p: str(uuid.uuid4()) for p in spec.path_params}
    else:
        ids = _other_firms_ids(world)
        missing = [p for p in spec.path_params if p not in ids]
        assert not missing, f"add firm B rows for {missing} to _other_firms_ids so {_rid(spec)} is covered"
        values = {p: ids[p] for p in spec.path_params}
    headers = {**_auth_for(spec, firm_a), **JSON}
    if spec.if_match:
        headers["If-Match"] = '"1"'
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, spec.method, _fill(spec, values), headers, "{}" if spec.body is not None else None)
    assert_problem(resp, 404)
    assert snapshot(firm_a.id, firm_b.id) == before


@pytest.mark.parametrize("spec", IF_MATCH_ROUTES, ids=_rid)
@pytest.mark.parametrize("if_match,status", [(None, 428), ("", 428), ("abc", 412), ("1", 412), ('"x"', 412),
                                             ('W/"', 412)])
def test_every_if_match_route_requires_a_well_formed_if_match(client: Any, firm_a: Firm, firm_b: Firm,
                                                             world: World, spec: Any, if_match: str | None,
                                                             status: int) -> None:
    # a real row of firm A for each id, so only the If-Match can be at fault
    mine = {"group_id": world.group, "owner_id": world.owner, "user_id": str(firm_a.users["viewer"]["id"])}
    missing = [p for p in spec.path_params if p not in mine]
    assert not missing, f"add firm A rows for {missing} so {_rid(spec)} is covered"
    headers = {**_auth_for(spec, firm_a), **JSON}
    if if_match is not None:
        headers["If-Match"] = if_match
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, spec.method, _fill(spec, {p: mine[p] for p in spec.path_params}), headers, "{}")
    assert_problem(resp, status)
    assert snapshot(firm_a.id, firm_b.id) == before


@pytest.mark.parametrize("spec", NO_QUERY_ROUTES, ids=_rid)
def test_every_route_without_a_query_refuses_query_parameters(client: Any, firm_a: Firm, firm_b: Firm,
                                                               spec: Any) -> None:
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, spec.method, _fill(spec) + "?zz_unknown=1", _auth_for(spec, firm_a), None)
    assert_problem(resp, 422, ("zz_unknown",))
    assert snapshot(firm_a.id, firm_b.id) == before


BAD_PAGING = [
    ("unknown-param", "zz_unknown=1", ("zz_unknown",)),
    ("limit-0", "limit=0", ("limit",)),
    ("limit-201", "limit=201", ("limit",)),
    ("limit-fraction", "limit=1.5", ("limit",)),
    ("limit-empty", "limit=", ("limit",)),
    ("cursor-percent", "cursor=%25%25%25", ("cursor",)),
    ("cursor-not-base64", "cursor=not-a-cursor", ("cursor",)),
    ("cursor-not-json", "cursor=" + base64.urlsafe_b64encode(b"\xff\x00garbage").decode(), ("cursor",)),
    ("cursor-object", "cursor=" + b64({"after": "x"}), ("cursor",)),
    ("cursor-empty-list", "cursor=" + b64([]), ("cursor",)),
    ("cursor-601-chars", "cursor=" + "A" * 601, ("cursor",)),
]


@pytest.mark.parametrize("spec", QUERY_ROUTES, ids=_rid)
@pytest.mark.parametrize("query,fields", [p[1:] for p in BAD_PAGING], ids=[p[0] for p in BAD_PAGING])
def test_every_list_route_refuses_bad_paging(client: Any, firm_a: Firm, spec: Any, query: str,
                                             fields: tuple[str, ...]) -> None:
    resp = send(client, spec.method, _fill(spec) + "?" + query, _auth_for(spec, firm_a), None)
    assert_problem(resp, 422, fields)


# Well-formed cursors (base64 of a JSON list, of every length a list route might expect, with and without the
# route's sort in front) whose values are of the wrong kinds: each must be a 422, never a database error.
_CURSOR_TAILS = {
    "numbers": [1, 2, 3],
    "structures": [{"a": 1}, [2], {"b": [3]}],
    "bools": [True, False, True],
    "not-ids": ["x", "nope", "nope"],
    "nul": ["\u0000", "\u0000", "\u0000"],
}


@pytest.mark.parametrize("spec", CURSOR_ROUTES, ids=_rid)
def test_every_list_route_survives_a_cursor_of_nulls(client: Any, firm_a: Firm, spec: Any) -> None:
    """A server never makes such a cursor; refusing it (422) or reading it as "from the start" are both fine."""
    for n in (1, 2, 3, 4):
        resp = send(client, "GET", _fill(spec) + "?cursor=" + b64([None] * n), _auth_for(spec, firm_a), None)
        assert resp.status_code in (200, 422), (n, resp.status_code, resp.body[:300])
        if resp.status_code == 422:
            assert_problem(resp, 422)


def _default_sort(spec: Any) -> str | None:
    f = spec.query.model_fields.get("sort")
    return f.default if f is not None and isinstance(f.default, str) else None


@pytest.mark.parametrize("spec", CURSOR_ROUTES, ids=_rid)
@pytest.mark.parametrize("kind", sorted(_CURSOR_TAILS))
def test_every_list_route_refuses_cursors_of_the_wrong_kinds(client: Any, firm_a: Firm, spec: Any,
                                                             kind: str) -> None:
    sort = _default_sort(spec)
    prefixes = [[]] + ([[sort]] if sort else [])
    for prefix in prefixes:
        for n in (1, 2, 3):
            values = prefix + _CURSOR_TAILS[kind][:n]
            url = _fill(spec) + "?cursor=" + b64(values)
            if sort:
                url += "&sort=" + sort
            resp = send(client, "GET", url, _auth_for(spec, firm_a), None)
            assert resp.status_code == 422, (values, resp.status_code, resp.body[:300])
            assert_problem(resp, 422)


@pytest.mark.parametrize("spec", LIMIT_ROUTES, ids=_rid)
def test_every_list_route_accepts_the_limits(client: Any, firm_a: Firm, spec: Any) -> None:
    for limit in (1, 200):
        resp = send(client, "GET", _fill(spec) + f"?limit={limit}", _auth_for(spec, firm_a), None)
        assert resp.status_code == 200, resp.body
        assert len(resp.json_body["items"]) <= limit


# --- fuzzing the create bodies --------------------------------------------------------------------------------------

_json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text(max_size=30) | st.sampled_from(["\x00", "1900-01-01", "9999-12-31", "active", ""])
_json = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_dates = st.dates(min_value=date(1850, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat)

# Characters that have broken services before: NUL (PostgreSQL refuses it in text), quotes, LIKE wildcards,
# backslashes, line and paragraph separators, a byte-order mark, astral-plane emoji, right-to-left marks.
_NASTY = ["\x00", "'", '"', "%", "_", "\\", "\u2028", "\ufeff", "\U0001F600", "\u202e", "\r\n", "\t", " "]


def _text(min_size: int = 0, max_size: int = 50) -> Any:
    return st.text(min_size=min_size, max_size=max_size) | st.lists(
        st.sampled_from(_NASTY) | st.characters(), min_size=min_size, max_size=max_size).map("".join)


_name = _text(1, 210)
_status_like = st.text(max_size=10)

# For each field: values the model should accept (or nearly: lengths run past the limits, text may hold anything,
# NUL included) and then anything at all.
GROUP_FIELDS = {
    "name": (_name, _json),
    "type": (st.sampled_from(["individual", "couple", "family", "trust", "corporate"]), _status_like | _json),
    "status": (st.sampled_from(["active", "dormant", "inactive"]), _status_like | _json),
    "adviser_id": (st.none(), st.uuids().map(str) | _json),
    "notes": (st.none() | _text(0, 300), _json),
}
GROUP_REQUIRED = ("name", "type")
OWNER_FIELDS = {
    "first_name": (_text(1, 105), _json),
    "surname": (_text(1, 105), _json),
    "known_as": (st.none() | _text(0, 105), _json),
    "date_of_birth": (st.none() | st.dates(min_value=date(1900, 1, 1), max_value=date.today()).map(date.isoformat),
                      _dates | _json),
    "email": (st.none() | st.emails().map(str), st.text(max_size=30) | _json),
    "phone": (st.none() | st.from_regex(r"[0-9+() .-]{3,40}", fullmatch=True),
              st.from_regex(r"[0-9+() .a-z-]{0,45}", fullmatch=True) | _json),
    "status": (st.sampled_from(["active", "inactive", "deceased"]), _status_like | _json),
    "inception_date": (st.none() | _dates, _json),
}
OWNER_REQUIRED = ("first_name", "surname")


def _bodies(fields: dict[str, Any], required: tuple[str, ...]) -> Any:
    """Well-shaped bodies (so the fuzzing reaches the database), the same with one field spoilt or dropped or an
    unknown field added, and arbitrary JSON objects."""
    good = st.fixed_dictionaries({k: fields[k][0] for k in required},
                                 optional={k: v[0] for k, v in fields.items() if k not in required})

    @st.composite
    def spoilt(draw: Any) -> dict[str, Any]:
        body = draw(good)
        name = draw(st.sampled_from(sorted(fields)))
        how = draw(st.sampled_from(["replace", "drop", "extra"]))
        if how == "replace":
            body[name] = draw(fields[name][1])
        elif how == "drop":
            body.pop(name, None)
        else:
            body[draw(st.text(min_size=1, max_size=12))] = draw(_json)
        return body

    return st.one_of(good, spoilt(), st.dictionaries(st.text(max_size=12), _json, max_size=5))


def _fuzz_one(client: Any, firm: Firm, path: str, table: str, body: dict[str, Any]) -> None:
    before = snapshot(firm.id)[0]
    resp = client.http.post(path, headers={**firm.auth("adviser"), **JSON}, body=json.dumps(body))
    assert resp.status_code < 500, (resp.status_code, resp.body[:300], body)
    after = snapshot(firm.id)[0]
    if resp.status_code == 201:
        assert after[table] == before[table] + 1
        assert after["audit_events"] == before["audit_events"] + 1
    else:
        assert 400 <= resp.status_code < 500
        assert_problem(resp, resp.status_code)
        assert after == before, body


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])


@FUZZ
@given(body=_bodies(GROUP_FIELDS, GROUP_REQUIRED))
def test_fuzz_create_client_group(client: Any, fresh_firm: Firm, body: dict[str, Any]) -> None:
    _fuzz_one(client, fresh_firm, "/v1/client-groups", "client_groups", body)


@FUZZ
@given(body=_bodies(OWNER_FIELDS, OWNER_REQUIRED))
def test_fuzz_create_product_owner(client: Any, fresh_firm: Firm, body: dict[str, Any]) -> None:
    _fuzz_one(client, fresh_firm, "/v1/product-owners", "product_owners", body)
