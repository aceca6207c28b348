"""The lists outside products through the one list pipeline (core.pagination): client groups, product owners,
users, API keys, audit events and job runs.

Each list, in each of its sorts, pages every row exactly once with page sizes 1 to 3, in the order a reference
query states independently (equal sort values included, so the id tiebreak is exercised); a cursor made by another
list or for another sort is a 422, and so is a forged one (correctly signed, so that the checks behind the
signature are what refuse it) and a tampered one. `q` treats LIKE's wildcards literally wherever it is
offered outside products (client groups, product owners, search).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Firm, make_firm, owner_sql
from tests.integration.matrix_support import assert_cursor_refused, b64_cursor, cursor_values

JSON = {"Content-Type": "application/json"}


def _get(client: Any, firm: Firm, url: str) -> Any:
    resp = client.http.get(url, headers=firm.auth("admin"))
    assert resp.status_code == 200, (url, resp.body[:400])
    return resp.json_body


def _pages(client: Any, firm: Firm, path: str, limit: int, query: str = "") -> list[str]:
    """Ids in the order the pages give them, following next_cursor; every page but the last is full."""
    ids: list[str] = []
    cursor = None
    for _ in range(500):
        url = f"{path}?limit={limit}" + (f"&{query}" if query else "") + (f"&cursor={cursor}" if cursor else "")
        body = _get(client, firm, url)
        assert len(body["items"]) <= limit
        ids += [str(item["id"]) for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
        assert len(body["items"]) == limit, (path, query, limit)
    raise AssertionError("the pages never ended")


def _ids(sql: str, params: Any) -> list[str]:
    return [str(r["id"]) for r in owner_sql(sql, params)]


def _post(client: Any, firm: Firm, path: str, body: dict[str, Any], who: str = "admin") -> dict[str, Any]:
    resp = client.http.post(path, headers={**firm.auth(who), **JSON}, body=json.dumps(body))
    assert resp.status_code == 201, resp.body[:400]
    return resp.json_body


# --- one firm with rows in every list, equal sort values included --------------------------------------------------

@pytest.fixture(scope="module")
def lists_firm(app_module: Any) -> Firm:
    from chalice.test import Client

    firm = make_firm()
    with Client(app_module.app, stage_name="local") as client:
        # Names of lowercase letters only, so no collation orders them differently; repeats tie on the name.
        groups = [_post(client, firm, "/v1/client-groups", {"name": n, "type": "family"}, "adviser")
                  for n in ("kappa", "alpha", "kappa", "delta", "alpha", "omega", "kappa")]
        for first, surname, day in (("ann", "lee", "2019-01-01"), ("ben", "lee", "2019-01-01"),
                                    ("ann", "khan", "2020-06-30"), ("ann", "lee", "2018-03-03"),
                                    ("cat", "ng", "2019-01-01"), ("ben", "khan", "2021-01-01")):
            _post(client, firm, "/v1/product-owners", {"first_name": first, "surname": surname,
                                                        "inception_date": day}, "adviser")
        for name in ("lists-b", "lists-a", "lists-c"):
            _post(client, firm, "/v1/users", {"email": f"{name}-{uuid.uuid4().hex[:6]}@example.com", "name": name,
                                              "role": "viewer"})
        for name in ("k1", "k2", "k3"):
            _post(client, firm, "/v1/api-keys", {"name": name, "scopes": ["read"]})
    # Equal timestamps: each UPDATE statement's rows share now() (updated_at, by trigger) and the set created_at.
    owner_sql("UPDATE client_groups SET created_at = '2024-01-01T00:00:00Z' WHERE id = ANY(%s)",
              ([g["id"] for g in groups[:4]],))
    owner_sql("UPDATE product_owners SET created_at = '2024-01-01T00:00:00Z' WHERE firm_id = %s AND surname = 'lee'",
              (firm.id,))
    owner_sql("UPDATE api_keys SET created_at = '2024-01-01T00:00:00Z' WHERE firm_id = %s AND name <> 'k3'",
              (firm.id,))
    tag = uuid.uuid4().hex[:8]
    firm.job_name = f"lists-{tag}"  # type: ignore[attr-defined]
    # Runs that did work for the firm: each with the firm's part, which is what its admin lists.
    owner_sql("WITH runs AS (INSERT INTO job_runs (job_name, status, trigger, started_at, finished_at) "
              "SELECT %(j)s, 'succeeded', 'manual', t, t FROM unnest(%(t)s::timestamptz[]) AS t "
              "RETURNING id, job_name, trigger, started_at, finished_at) "
              "INSERT INTO firm_job_runs (firm_id, run_id, job_name, trigger, started_at, finished_at) "
              "SELECT %(f)s, id, job_name, trigger, started_at, finished_at FROM runs",
              {"j": firm.job_name, "f": firm.id,
               "t": ["2024-01-01T00:00:00Z"] * 3 + ["2024-02-01T00:00:00Z", "2023-12-31T00:00:00Z"]})
    return firm


# (list path, sort or None for the list's only order, extra query, the reference query in the order stated)
_GROUPS = "SELECT id FROM client_groups WHERE firm_id = %(f)s ORDER BY "
_OWNERS = "SELECT id FROM product_owners WHERE firm_id = %(f)s ORDER BY "
CASES: list[tuple[str, str | None, str]] = [
    ("/v1/client-groups", "name", _GROUPS + "name, id"),
    ("/v1/client-groups", "-name", _GROUPS + "name DESC, id DESC"),
    ("/v1/client-groups", "created_at", _GROUPS + "created_at, id"),
    ("/v1/client-groups", "-created_at", _GROUPS + "created_at DESC, id DESC"),
    ("/v1/client-groups", "updated_at", _GROUPS + "updated_at, id"),
    ("/v1/client-groups", "-updated_at", _GROUPS + "updated_at DESC, id DESC"),
    ("/v1/client-groups", None, _GROUPS + "name, id"),
    ("/v1/product-owners", "surname", _OWNERS + "surname, first_name, id"),
    ("/v1/product-owners", "-surname", _OWNERS + "surname DESC, first_name DESC, id DESC"),
    ("/v1/product-owners", "first_name", _OWNERS + "first_name, surname, id"),
    ("/v1/product-owners", "-first_name", _OWNERS + "first_name DESC, surname DESC, id DESC"),
    ("/v1/product-owners", "inception_date", _OWNERS + "inception_date, id"),
    ("/v1/product-owners", "-inception_date", _OWNERS + "inception_date DESC, id DESC"),
    ("/v1/product-owners", "created_at", _OWNERS + "created_at, id"),
    ("/v1/product-owners", "-created_at", _OWNERS + "created_at DESC, id DESC"),
    ("/v1/product-owners", "updated_at", _OWNERS + "updated_at, id"),
    ("/v1/product-owners", "-updated_at", _OWNERS + "updated_at DESC, id DESC"),
    ("/v1/product-owners", None, _OWNERS + "surname, first_name, id"),
    ("/v1/users", None, "SELECT id FROM users WHERE firm_id = %(f)s ORDER BY email, id"),
    ("/v1/api-keys", None, "SELECT id FROM api_keys WHERE firm_id = %(f)s ORDER BY created_at DESC, id DESC"),
    ("/v1/audit-events", None,
     "SELECT id FROM audit_events WHERE firm_id = %(f)s ORDER BY occurred_at DESC, id DESC"),
]


@pytest.mark.parametrize("path,sort,reference", CASES, ids=[f"{c[0]}?sort={c[1]}" for c in CASES])
def test_every_row_exactly_once_in_order(client: Any, lists_firm: Firm, path: str, sort: str | None,
                                         reference: str) -> None:
    expected = _ids(reference, {"f": lists_firm.id})
    assert len(expected) >= 5, "too few rows for the pages to prove anything"
    query = f"sort={sort}" if sort else ""
    for limit in (1, 2, 3):
        assert _pages(client, lists_firm, path, limit, query) == expected, (limit, sort)


def test_the_tie_cases_are_really_there(lists_firm: Firm) -> None:
    """The fixture's equal sort values, without which the tiebreak would go untested."""
    f = lists_firm.id
    assert owner_sql("SELECT max(n) AS n FROM (SELECT count(*) AS n FROM client_groups WHERE firm_id = %s "
                     "GROUP BY created_at) c", (f,)) == [{"n": 4}]
    assert owner_sql("SELECT max(n) AS n FROM (SELECT count(*) AS n FROM client_groups WHERE firm_id = %s "
                     "GROUP BY updated_at) c", (f,)) == [{"n": 4}]
    assert owner_sql("SELECT count(*) AS n FROM api_keys WHERE firm_id = %s AND created_at = '2024-01-01'",
                     (f,))[0]["n"] >= 2
    assert owner_sql("SELECT max(n) AS n FROM (SELECT count(*) AS n FROM audit_events WHERE firm_id = %s "
                     "GROUP BY occurred_at) c", (f,))[0]["n"] >= 2


@pytest.mark.parametrize("filtered", [False, True])
def test_job_runs_every_row_exactly_once_newest_first(client: Any, lists_firm: Firm, filtered: bool) -> None:
    """The firm's part of job runs: filtered to the fixture's job (with tied start times), and unfiltered."""
    job = lists_firm.job_name  # type: ignore[attr-defined]
    where, query = ("AND job_name = %(j)s", f"job={job}") if filtered else ("", "")
    expected = _ids(f"SELECT id FROM firm_job_runs WHERE firm_id = %(f)s {where} ORDER BY started_at DESC, id DESC",
                    {"j": job, "f": lists_firm.id})
    assert len(expected) >= 5
    for limit in (1, 2, 3):
        assert _pages(client, lists_firm, "/v1/ops/job-runs", limit, query) == expected, limit


# --- cursors are only good for their own list and sort ----------------------------------------------------------

# Client groups and product owners share the created_at sort: only the list's name tells their cursors apart.
LISTS: list[tuple[str, str]] = [
    ("/v1/client-groups", "sort=name"), ("/v1/client-groups", "sort=-updated_at"),
    ("/v1/client-groups", "sort=created_at"), ("/v1/product-owners", "sort=created_at"),
    ("/v1/product-owners", "sort=surname"), ("/v1/product-owners", "sort=-inception_date"),
    ("/v1/users", ""), ("/v1/api-keys", ""), ("/v1/audit-events", ""), ("/v1/ops/job-runs", ""),
]


def _first_cursor(client: Any, firm: Firm, path: str, query: str) -> str:
    cursor = _get(client, firm, f"{path}?limit=1" + (f"&{query}" if query else ""))["next_cursor"]
    assert cursor, (path, query)
    return cursor


def test_a_cursor_from_another_list_or_sort_is_422(client: Any, lists_firm: Firm) -> None:
    cursors = {(path, query): _first_cursor(client, lists_firm, path, query) for path, query in LISTS}
    for (made_path, made_query), cursor in cursors.items():
        for path, query in LISTS:
            url = f"{path}?limit=1&cursor={cursor}" + (f"&{query}" if query else "")
            resp = client.http.get(url, headers=lists_firm.auth("admin"))
            if (path, query) == (made_path, made_query):
                assert resp.status_code == 200, resp.body[:400]  # its own list and sort take it
            else:
                assert_cursor_refused(resp, by_signature=False)


def test_every_sort_refuses_the_cursors_of_the_others(client: Any, lists_firm: Firm) -> None:
    for path, sorts in (("/v1/client-groups", ("name", "created_at", "updated_at")),
                        ("/v1/product-owners", ("surname", "first_name", "inception_date", "created_at",
                                                "updated_at"))):
        every = [s for name in sorts for s in (name, "-" + name)]
        made = {s: _first_cursor(client, lists_firm, path, f"sort={s}") for s in every}
        for s, cursor in made.items():
            for other in every:
                resp = client.http.get(f"{path}?limit=1&sort={other}&cursor={cursor}",
                                       headers=lists_firm.auth("admin"))
                if other == s:
                    assert resp.status_code == 200, resp.body[:400]
                else:
                    assert_cursor_refused(resp, by_signature=False)


FORGERIES: dict[str, Callable[[list[Any]], Any]] = {
    "values-of-no-type": lambda v: v[:2] + ["not a value of this column"] * (len(v) - 2),
    "id-not-a-uuid": lambda v: [*v[:-1], "12345"],
    "a-value-missing": lambda v: v[:-1],
    "a-value-too-many": lambda v: [*v, str(uuid.uuid4())],
    "only-list-and-sort": lambda v: v[:2],
    "numbers-for-values": lambda v: v[:2] + [1] * (len(v) - 2),
    "nulls-for-values": lambda v: v[:2] + [None] * (len(v) - 2),
    "list-name-changed": lambda v: ["no_such_list", *v[1:]],
    "sort-unknown": lambda v: [*v[:1], "colour", *v[2:]],
    "an-object": lambda v: {"list": v[0], "after": v[2:]},
}


@pytest.mark.parametrize("path,query", LISTS, ids=[f"{p}?{q}" for p, q in LISTS])
@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_cursor_is_422(client: Any, lists_firm: Firm, path: str, query: str, forgery: str) -> None:
    genuine = cursor_values(_first_cursor(client, lists_firm, path, query))
    forged = FORGERIES[forgery](genuine)
    resp = client.http.get(f"{path}?limit=1&cursor={b64_cursor(forged, lists_firm.id)}"
                           + (f"&{query}" if query else ""), headers=lists_firm.auth("admin"))
    assert_cursor_refused(resp, by_signature=False)


def test_a_tampered_cursor_is_422(client: Any, lists_firm: Firm) -> None:
    cursor = _first_cursor(client, lists_firm, "/v1/client-groups", "sort=name")
    for tampered in (cursor[:-2], cursor + "AA", "x" + cursor, cursor[:5] + "!" + cursor[6:]):
        resp = client.http.get(f"/v1/client-groups?limit=1&sort=name&cursor={tampered}",
                               headers=lists_firm.auth("admin"))
        assert_cursor_refused(resp, by_signature=True)


# --- ?q= matches LIKE's wildcards literally --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wildcard_firm(app_module: Any) -> Firm:
    from chalice.test import Client

    firm = make_firm()
    with Client(app_module.app, stage_name="local") as client:
        for name in ("under_score house", "underxscore house", "hundred 100% trust", "hundred 1000 trust"):
            _post(client, firm, "/v1/client-groups", {"name": name, "type": "trust"}, "adviser")
        for first, surname in (("una", "o_neil"), ("una", "oxneil"), ("per", "cent%ile"), ("per", "centxile")):
            _post(client, firm, "/v1/product-owners", {"first_name": first, "surname": surname}, "adviser")
    return firm


def _names(client: Any, firm: Firm, path: str, q: str, label: Callable[[dict[str, Any]], str]) -> list[str]:
    body = _get(client, firm, f"{path}?limit=200&q={q}")
    assert body["next_cursor"] is None
    return sorted(label(item) for item in body["items"])


def test_q_underscore_and_percent_are_literal_on_client_groups(client: Any, wildcard_firm: Firm) -> None:
    def names(q: str) -> list[str]:
        return _names(client, wildcard_firm, "/v1/client-groups", q, lambda g: g["name"])

    assert names("_") == ["under_score house"]
    assert names("r_s") == ["under_score house"]
    assert names("%25") == ["hundred 100% trust"]
    assert names("0%25") == ["hundred 100% trust"]
    assert names("house") == ["under_score house", "underxscore house"]  # the look-alikes are there to be missed


def test_q_underscore_and_percent_are_literal_on_product_owners(client: Any, wildcard_firm: Firm) -> None:
    def surnames(q: str) -> list[str]:
        return _names(client, wildcard_firm, "/v1/product-owners", q, lambda o: o["surname"])

    assert surnames("_") == ["o_neil"]
    assert surnames("o_n") == ["o_neil"]
    assert surnames("%25") == ["cent%ile"]
    assert surnames("t%25i") == ["cent%ile"]
    assert surnames("una") == ["o_neil", "oxneil"]


def test_q_underscore_and_percent_are_literal_in_search(client: Any, wildcard_firm: Firm) -> None:
    def labels(q: str) -> list[str]:
        body = _get(client, wildcard_firm, f"/v1/search?q={q}&limit=100")
        return sorted(hit["label"] for hit in body["items"])

    assert labels("r_s") == ["under_score house"]
    assert labels("o_n") == ["una o_neil"]
    assert labels("00%25") == ["hundred 100% trust"]
    assert labels("t%25i") == ["per cent%ile"]
    assert labels("underxs") == ["underxscore house"]  # the look-alikes are searchable
