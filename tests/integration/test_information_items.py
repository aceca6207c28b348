"""Information items through the API: the content's rules (keys, size, valuations, dates) in the API and in the
database, owners in the products' ownership forms, the filters and `q` (an index search under row-level security,
shown with EXPLAIN), batches all or nothing, and the net worth builder's read.

Every refusal is a 4xx problem+json that leaves the firm's rows and the audit trail as they were; what the
database holds is read as the owner role.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.matrix_support import (
    Household,
    add_member,
    audit_events_since,
    audit_watermark,
    create_client_group,
    create_household,
    create_product_owner,
    expect_status,
    firm_rows,
    list_ids,
    send,
    unique,
)
from tests.integration.matrix_support import (
    create_information_item as create_item,
)
from tests.integration.matrix_support import (
    individual_owner as individual,
)

II = "/v1/information-items"
TODAY = datetime.now(UTC).date()
TOMORROW = TODAY + timedelta(days=1)


def items_of(group_id: Any) -> str:
    return f"/v1/client-groups/{group_id}/information-items"


def batch_of(group_id: Any) -> str:
    return f"/v1/client-groups/{group_id}/information-items:batch"


@pytest.fixture(scope="module")
def firm(database: str) -> Firm:
    return make_firm()


@pytest.fixture
def w(firm: Firm) -> dict[str, str]:
    return firm.auth("adviser")


def household_of_two(client: Any, w: dict[str, str]) -> tuple[Household, str]:
    house = create_household(client, w)
    second = create_product_owner(client, w)["id"]
    add_member(client, w, house.group_id, second)
    return house, second


def patch(client: Any, path: str, w: dict[str, str], body: Any, version: int) -> Any:
    return send(client, "PATCH", path, headers={**w, "If-Match": f'"{version}"'}, body=body)


def errors_of(resp: Any, status: int = 422) -> list[str]:
    return [e["field"] for e in assert_problem(resp, status).get("errors", [])]


def count_items(group_id: Any) -> int:
    return owner_sql("SELECT count(*) AS n FROM information_items WHERE client_group_id = %s", (group_id,))[0]["n"]


# --- create, read, change, delete --------------------------------------------------------------------------------

def test_crud_with_etags_and_one_audit_event_each(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    content = {"marital_status": "married", "employer": {"name": "NHS Trust", "start_date": "2015-09-01"}}
    mark = audit_watermark()
    resp = send(client, "POST", items_of(house.group_id), headers=w,
                body={"item_type": "basic_detail", "item_category": "Employment", "data_content": content})
    item = expect_status(resp, 201)
    assert resp.headers["Location"] == f"{II}/{item['id']}" and resp.headers["ETag"] == '"1"'
    assert {k: item[k] for k in ("client_group_id", "item_type", "item_category", "data_content",
                                 "associated_product_owners", "version")} == {
        "client_group_id": house.group_id, "item_type": "basic_detail", "item_category": "Employment",
        "data_content": content, "associated_product_owners": None, "version": 1}
    assert expect_status(send(client, "GET", f"{II}/{item['id']}", headers=w), 200) == item

    # PATCH replaces the content whole and needs If-Match.
    new_content = {"marital_status": "widowed"}
    assert_problem(send(client, "PATCH", f"{II}/{item['id']}", headers=w, body={"data_content": new_content}), 428)
    assert_problem(patch(client, f"{II}/{item['id']}", w, {"data_content": new_content}, 2), 412)
    changed = expect_status(patch(client, f"{II}/{item['id']}", w,
                                  {"data_content": new_content, "item_category": "Family"}, 1), 200)
    assert (changed["data_content"], changed["item_category"], changed["version"]) == (new_content, "Family", 2)
    # A PATCH that changes nothing writes nothing (the version stays).
    assert expect_status(patch(client, f"{II}/{item['id']}", w, {"data_content": new_content}, 2),
                         200)["version"] == 2

    expect_status(send(client, "DELETE", f"{II}/{item['id']}", headers=w), 204)
    assert_problem(send(client, "GET", f"{II}/{item['id']}", headers=w), 404)
    assert_problem(send(client, "DELETE", f"{II}/{item['id']}", headers=w), 404)
    events = [(e["action"], e["resource_id"], e["changed_fields"]) for e in audit_events_since(mark)]
    assert [(a, r) for a, r, _ in events] == [("information_item.create", item["id"]),
                                              ("information_item.update", item["id"]),
                                              ("information_item.update", item["id"]),
                                              ("information_item.delete", item["id"])]
    assert events[1][2] == ["data_content", "item_category"] and events[2][2] == []


def test_owners_in_the_three_ownership_forms_are_stored_as_products_store_them(client: Any,
                                                                               w: dict[str, str]) -> None:
    house, second = household_of_two(client, w)
    first = house.owner_id
    forms = [
        (individual(first), individual(first)),
        ({"association_type": "tenants_in_common", "shares": {first: "60", second: "39.5"}},
         {"association_type": "tenants_in_common", "shares": {first: "60.00", second: "39.50"}}),
        ({"association_type": "joint", "joint_owners": [first, second]},
         {"association_type": "joint", "joint_owners": [first, second], "collective_percentage": "100.00"}),
    ]
    for item_type in ("assets_liabilities", "protection"):
        for given, stored in forms:
            item = create_item(client, w, house.group_id, item_type=item_type, associated_product_owners=given)
            assert item["associated_product_owners"] == stored
            assert owner_sql("SELECT associated_product_owners AS o FROM information_items WHERE id = %s",
                             (item["id"],))[0]["o"] == stored


def test_owners_exactly_for_assets_liabilities_and_protection(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    path = items_of(house.group_id)
    mark = audit_watermark()
    for item_type in ("assets_liabilities", "protection"):
        assert errors_of(send(client, "POST", path, headers=w, body={
            "item_type": item_type, "item_category": "Home"})) == ["associated_product_owners"]
    for item_type in ("basic_detail", "income_expenditure", "vulnerability_health"):
        assert errors_of(send(client, "POST", path, headers=w, body={
            "item_type": item_type, "item_category": "x",
            "associated_product_owners": individual(house.owner_id)})) == ["associated_product_owners"]
    assert count_items(house.group_id) == 0 and audit_events_since(mark) == []

    item = create_item(client, w, house.group_id, item_type="income_expenditure")
    # Becoming a protection item needs owners in the same change; losing them needs another type.
    assert errors_of(patch(client, f"{II}/{item['id']}", w, {"item_type": "protection"}, 1)) == [
        "associated_product_owners"]
    changed = expect_status(patch(client, f"{II}/{item['id']}", w, {
        "item_type": "protection", "associated_product_owners": individual(house.owner_id)}, 1), 200)
    assert changed["associated_product_owners"] == individual(house.owner_id)
    assert errors_of(patch(client, f"{II}/{item['id']}", w, {"associated_product_owners": None}, 2)) == [
        "associated_product_owners"]
    back = expect_status(patch(client, f"{II}/{item['id']}", w, {
        "item_type": "basic_detail", "associated_product_owners": None}, 2), 200)
    assert (back["item_type"], back["associated_product_owners"], back["version"]) == ("basic_detail", None, 3)


# --- bad input: each a 4xx problem+json, nothing changed ---------------------------------------------------------

def _keys(n: int) -> dict[str, str]:
    return {f"key_{i:02d}": "x" for i in range(n)}


def _bytes(n: int) -> dict[str, str]:
    """A one-key object of exactly n bytes as PostgreSQL writes jsonb as text ({"note": "..."})."""
    return {"note": "y" * (n - len('{"note": ""}'))}


BAD_CONTENT = [
    ("51 keys", _keys(51)),
    ("65 KiB", _bytes(65 * 1024)),
    ("64 KiB and a byte", _bytes(64 * 1024 + 1)),
    ("a future date inside", {"history": [{"event": "move", "move_date": TOMORROW.isoformat()}]}),
    ("a future date_of_", {"date_of_birth": TOMORROW.isoformat()}),
    ("no such day", {"start_date": "2023-02-29"}),
    ("not an ISO date", {"start_date": "01/02/2023"}),
    ("a date before 1900", {"purchase_date": "1899-12-31"}),
    ("a negative valuation", {"latest_valuation": "-1.00"}),
    ("a negative nested value", {"properties": [{"address": "1 High St", "market_value": "-250000"}]}),
    ("a valuation as a JSON number", {"latest_valuation": 1000}),
    ("a valuation with three decimals", {"surrender_value": "10.005"}),
    ("a valuation in upper case keys", {"Latest_Valuation": "-5"}),
    ("not an object", ["a", "list"]),
    ("NaN", {"ratio": float("nan")}),
    ("Infinity", {"rows": [{"n": float("inf")}]}),
]


@pytest.fixture(scope="module")
def bad_input_house(module_client: Any, firm: Firm) -> tuple[Household, str, dict[str, Any]]:
    """A household of two with an assets item (version 1), for the refusals to act on."""
    w = firm.auth("adviser")
    house, second = household_of_two(module_client, w)
    item = create_item(module_client, w, house.group_id, item_type="assets_liabilities",
                       associated_product_owners=individual(house.owner_id),
                       data_content={"latest_valuation": "1000.00"})
    return house, second, item


@pytest.fixture(scope="module")
def module_client(app_module: Any) -> Any:
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        yield c


def _refused(client: Any, firm: Firm, method: str, path: str, body: Any, headers: dict[str, str],
             status: int = 422) -> list[str]:
    before, mark = firm_rows(firm.id), audit_watermark()
    fields = errors_of(send(client, method, path, headers=headers, body=body), status)
    assert audit_events_since(mark) == []
    assert firm_rows(firm.id) == before
    return fields


@pytest.mark.parametrize("name,content", BAD_CONTENT, ids=[c[0] for c in BAD_CONTENT])
def test_bad_content_is_refused_everywhere_and_changes_nothing(client: Any, firm: Firm, w: dict[str, str],
                                                               bad_input_house: Any, name: str,
                                                               content: Any) -> None:
    house, _, item = bad_input_house
    body = {"item_type": "basic_detail", "item_category": "x", "data_content": content}
    assert _refused(client, firm, "POST", items_of(house.group_id), body, w) == ["data_content"]
    assert _refused(client, firm, "PATCH", f"{II}/{item['id']}", {"data_content": content},
                    {**w, "If-Match": '"1"'}) == ["data_content"]
    good = {"item_type": "basic_detail", "item_category": "fine"}
    assert _refused(client, firm, "POST", batch_of(house.group_id), {"items": [good, good, body]}, w) == [
        "items.2.data_content"]


def test_the_limits_themselves_are_allowed(client: Any, w: dict[str, str], bad_input_house: Any) -> None:
    house, _, _ = bad_input_house
    for content in (_keys(50), _bytes(64 * 1024), {"latest_valuation": "0", "x": {"value": None},
                                                   "valuation_date": TODAY.isoformat(), "date": None,
                                                   "notes_value_later": -3, "dated": "soon", "values": [-1],
                                                   "value_notes": "n/a", "update": "2999-01-01"}):
        item = create_item(client, w, house.group_id, data_content=content)
        assert item["data_content"] == content
    # exactly 64 KiB as the database measures it
    assert owner_sql("SELECT octet_length(data_content::text) AS n FROM information_items WHERE id = %s",
                     (create_item(client, w, house.group_id, data_content=_bytes(65536))["id"],))[0]["n"] == 65536


BAD_OWNERS = [
    ("an owner outside the group", lambda house, second, outsider: individual(outsider), "in"),
    ("a joint owner outside the group",
     lambda house, second, outsider: {"association_type": "joint", "joint_owners": [house.owner_id, outsider]}, "in"),
    ("shares above 100", lambda house, second, outsider: {
        "association_type": "tenants_in_common", "shares": {house.owner_id: "60.00", second: "40.01"}}, "form"),
    ("one share above 100", lambda house, second, outsider: {
        "association_type": "tenants_in_common", "shares": {house.owner_id: "100.01"}}, "form"),
    ("a joint of one", lambda house, second, outsider: {
        "association_type": "joint", "joint_owners": [house.owner_id]}, "form"),
    ("an unknown form", lambda house, second, outsider: {
        "association_type": "sole", "product_owner_id": house.owner_id}, "form"),
]


@pytest.mark.parametrize("name,owners,kind", BAD_OWNERS, ids=[b[0] for b in BAD_OWNERS])
def test_bad_owners_are_refused_everywhere_and_change_nothing(client: Any, firm: Firm, w: dict[str, str],
                                                              bad_input_house: Any, name: str, owners: Any,
                                                              kind: str) -> None:
    house, second, item = bad_input_house
    outsider = create_household(client, w).owner_id  # a member of another household of the firm
    bad = owners(house, second, outsider)
    body = {"item_type": "protection", "item_category": "Life cover", "associated_product_owners": bad}
    fields = _refused(client, firm, "POST", items_of(house.group_id), body, w)
    assert fields[0].startswith("associated_product_owners"), fields
    fields = _refused(client, firm, "PATCH", f"{II}/{item['id']}", {"associated_product_owners": bad},
                      {**w, "If-Match": '"1"'})
    assert fields[0].startswith("associated_product_owners"), fields
    good = {"item_type": "protection", "item_category": "ok", "associated_product_owners": individual(house.owner_id)}
    fields = _refused(client, firm, "POST", batch_of(house.group_id), {"items": [good, body]}, w)
    assert fields[0].startswith("items.1.associated_product_owners"), fields


def test_the_database_refuses_bad_items_written_raw_as_the_owner(client: Any, w: dict[str, str]) -> None:
    """The owner role's raw SQL meets the same rules: the CHECKs and the triggers of migration 0022."""
    house, second = household_of_two(client, w)
    lone = create_product_owner(client, w)["id"]
    item = create_item(client, w, house.group_id, item_type="assets_liabilities",
                       associated_product_owners=individual(house.owner_id), data_content={"a": 1})

    def insert(content: Any, item_type: str = "basic_detail", owners: Any = None) -> None:
        owner_sql("INSERT INTO information_items (firm_id, client_group_id, item_type, item_category, data_content, "
                  "associated_product_owners) SELECT firm_id, id, %s, 'Raw', %s, %s FROM client_groups WHERE id = %s",
                  (item_type, Jsonb(content), Jsonb(owners) if owners is not None else None, house.group_id))

    for content in (_keys(51), _bytes(65537), {"latest_valuation": "-0.01"}, {"deep": [{"x_value": 12}]},
                    {"start_date": "2023-02-30"}, {"date_of_death": "1899-01-01"}, [1, 2], "text"):
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            insert(content)
        assert refused.value.diag.constraint_name == "information_items_data_content_check", content
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        insert({"nested": {"completion_date": TOMORROW.isoformat()}})
    assert refused.value.diag.constraint_name == "information_items_dates_not_future"
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        insert({}, "protection", individual(lone))
    assert refused.value.diag.constraint_name == "information_items_owners_in_group"
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        insert({}, "protection", {"association_type": "tenants_in_common",
                                  "shares": {house.owner_id: "60.00", second: "40.01"}})
    assert refused.value.diag.constraint_name == "information_items_associated_product_owners_check"
    for item_type, owners in (("protection", None), ("basic_detail", individual(house.owner_id))):
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            insert({}, item_type, owners)
        assert refused.value.diag.constraint_name == "information_items_owners_by_type"
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        owner_sql("UPDATE information_items SET data_content = %s WHERE id = %s", (Jsonb(_keys(51)), item["id"]))
    assert refused.value.diag.constraint_name == "information_items_data_content_check"
    # The limits themselves pass, and today is not the future.
    insert({**_keys(49), "valuation_date": TODAY.isoformat()})
    assert count_items(house.group_id) == 2
    assert owner_sql("SELECT data_content, version FROM information_items WHERE id = %s", (item["id"],))[0] == {
        "data_content": {"a": 1}, "version": 1}


def test_a_member_an_item_names_cannot_leave_the_household(client: Any, w: dict[str, str]) -> None:
    house, second = household_of_two(client, w)
    item = create_item(client, w, house.group_id, item_type="assets_liabilities", associated_product_owners={
        "association_type": "tenants_in_common", "shares": {house.owner_id: "50", second: "50"}})
    member = f"/v1/client-groups/{house.group_id}/product-owners/{second}"
    mark = audit_watermark()
    assert_problem(send(client, "DELETE", member, headers=w), 409)
    assert audit_events_since(mark) == []
    expect_status(patch(client, f"{II}/{item['id']}", w, {"associated_product_owners": individual(house.owner_id)},
                        1), 200)
    expect_status(send(client, "DELETE", member, headers=w), 204)


def test_a_household_with_items_cannot_be_deleted(client: Any, w: dict[str, str]) -> None:
    group = create_client_group(client, w)
    item = create_item(client, w, group["id"])
    assert_problem(send(client, "DELETE", f"/v1/client-groups/{group['id']}", headers=w), 409)
    expect_status(send(client, "DELETE", f"{II}/{item['id']}", headers=w), 204)
    expect_status(send(client, "DELETE", f"/v1/client-groups/{group['id']}", headers=w), 204)


def test_other_refusals(client: Any, firm: Firm, w: dict[str, str], bad_input_house: Any) -> None:
    house, _, item = bad_input_house
    path = items_of(house.group_id)
    assert _refused(client, firm, "POST", path, {"item_type": "pension", "item_category": "x"}, w) == ["item_type"]
    assert _refused(client, firm, "POST", path, {"item_type": "basic_detail", "item_category": " "}, w) == [
        "item_category"]
    assert _refused(client, firm, "POST", path, {"item_type": "basic_detail"}, w) == ["item_category"]
    assert _refused(client, firm, "PATCH", f"{II}/{item['id']}", {"item_category": None},
                    {**w, "If-Match": '"1"'}) == ["item_category"]
    assert _refused(client, firm, "POST", items_of(UUID(int=7)), {"item_type": "basic_detail",
                                                                  "item_category": "x"}, w, 404) == []
    assert _refused(client, firm, "GET", path + "?q=--", None, w) == ["q"]


# --- lists, filters and q ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def listed(module_client: Any, firm: Firm) -> dict[str, Any]:
    c, w = module_client, firm.auth("adviser")
    house = create_household(c, w)
    owners = individual(house.owner_id)
    made = {
        "home": create_item(c, w, house.group_id, item_type="assets_liabilities", item_category="Property",
                            associated_product_owners=owners,
                            data_content={"address": "12 Quillfeather Lane", "latest_valuation": "450000.00",
                                          "purchase_date": "2012-06-01"}),
        "mortgage": create_item(c, w, house.group_id, item_type="assets_liabilities", item_category="Mortgage",
                                associated_product_owners=owners,
                                data_content={"lender": "Halifax Building Society", "latest_valuation": "120000.00",
                                              "terms": [{"fixed_until_year": 2027, "rate": "4.15"}]}),
        "life": create_item(c, w, house.group_id, item_type="protection", item_category="Life cover",
                            associated_product_owners=owners,
                            data_content={"provider": "Legal & General", "sum_assured_value": "250000.00"}),
        "salary": create_item(c, w, house.group_id, item_type="income_expenditure", item_category="Income",
                              data_content={"employer": "Halifax plc", "gross_annual": "62000.00"}),
        "health": create_item(c, w, house.group_id, item_type="vulnerability_health", item_category="Health",
                              data_content={"condition": "type 2 diabetes", "diagnosis_date": "2019-03-01"}),
    }
    other = create_household(c, w)  # the same words in another household are never listed
    create_item(c, w, other.group_id, item_category="Property", data_content={"lender": "Halifax"})
    return {"house": house, "ids": {k: v["id"] for k, v in made.items()}}


def _listed(client: Any, w: dict[str, str], group_id: Any, query: str) -> list[str]:
    return list_ids(client, items_of(group_id) + ("?" + query if query else ""), w)


@pytest.mark.parametrize("query,expected", [
    ("", ["home", "mortgage", "life", "salary", "health"]),
    ("type=assets_liabilities", ["home", "mortgage"]),
    ("type=protection", ["life"]),
    ("category=Mortgage", ["mortgage"]),
    ("category=mortgage", []),  # the category exactly
    ("q=halifax", ["mortgage", "salary"]),  # a value, in another case
    ("q=HALI", ["mortgage", "salary"]),  # a word's beginning
    ("q=halifax%20society", ["mortgage"]),  # every word must match
    ("q=lender", ["mortgage"]),  # a key
    ("q=fixed_until", ["mortgage"]),  # a nested key (words split at _)
    ("q=2027", ["mortgage"]),  # a nested number
    ("q=quillfeather", ["home"]),
    ("q=property", ["home"]),  # the category
    ("q=diab", ["health"]),
    ("q=general", ["life"]),
    ("q=halifax&type=income_expenditure", ["salary"]),
    ("q=alifax", []),  # not the beginning of a word
    ("q=nothing", []),
    ("sort=item_category", ["health", "salary", "life", "mortgage", "home"]),
    ("sort=-created_at", ["health", "salary", "life", "mortgage", "home"]),
])
def test_filters_and_q(client: Any, firm: Firm, listed: dict[str, Any], query: str, expected: list[str]) -> None:
    ids = listed["ids"]
    shown = _listed(client, firm.auth("viewer"), listed["house"].group_id, query)
    assert shown == [ids[k] for k in expected]


def test_paging_shows_every_item_once(client: Any, firm: Firm, listed: dict[str, Any]) -> None:
    path, w = items_of(listed["house"].group_id), firm.auth("viewer")
    seen: list[str] = []
    cursor = None
    while True:
        body = expect_status(send(client, "GET", path + "?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                                  headers=w), 200)
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(listed["ids"].values())
    other = expect_status(send(client, "GET", "/v1/client-groups?limit=1", headers=w), 200)["next_cursor"]
    assert_problem(send(client, "GET", path + f"?cursor={other}", headers=w), 422, "cursor")


def test_q_follows_every_change_of_an_item(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    item = create_item(client, w, house.group_id, item_category="Pets", data_content={"dog": "Biscuit"})
    search = lambda q: _listed(client, w, house.group_id, f"q={q}")  # noqa: E731
    assert search("biscuit") == [item["id"]] and search("pets") == [item["id"]]
    expect_status(patch(client, f"{II}/{item['id']}", w, {"data_content": {"cat": "Marmalade"},
                                                            "item_category": "Animals"}, 1), 200)
    assert search("biscuit") == [] and search("pets") == [] and search("marmal") == [item["id"]]
    assert search("animals") == [item["id"]]
    expect_status(send(client, "DELETE", f"{II}/{item['id']}", headers=w), 204)
    assert owner_sql("SELECT count(*) AS n FROM information_item_terms WHERE item_id = %s", (item["id"],))[0]["n"] == 0


def _terms_and_rule(group_id: Any) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(the stored search words of the household's items, the words their rule gives), as (item, word) pairs."""
    stored = owner_sql("SELECT t.item_id::text AS i, t.term AS w FROM information_item_terms t "
                       "JOIN information_items i ON i.id = t.item_id WHERE i.client_group_id = %s", (group_id,))
    rule = owner_sql("SELECT i.id::text AS i, w FROM information_items i, "
                     "information_item_words(i.item_category, i.data_content) AS w WHERE i.client_group_id = %s",
                     (group_id,))
    return {(r["i"], r["w"]) for r in stored}, {(r["i"], r["w"]) for r in rule}


def test_the_search_words_follow_every_kind_of_write(client: Any, w: dict[str, str]) -> None:
    """The stored words equal their rule (information_item_words) after a batch, statements of several rows written
    raw (a change of some rows' category or content, an update that changes neither, a delete), and the API."""
    house = create_household(client, w)
    ids = expect_status(send(client, "POST", batch_of(house.group_id), headers=w, body={"items": [
        {"item_type": "basic_detail", "item_category": f"Note {i}", "data_content": {"text": f"alpha beta{i}"}}
        for i in range(4)]}), 201)["ids"]
    stored, rule = _terms_and_rule(house.group_id)
    assert stored == rule and len({i for i, _ in stored}) == 4 and (ids[2], "beta2") in stored
    owner_sql("UPDATE information_items SET item_category = 'Gamma ' || item_category WHERE id = ANY(%s::uuid[])",
              (ids[:2],))
    owner_sql("UPDATE information_items SET data_content = jsonb_build_object('text', 'delta') WHERE id = %s",
              (ids[2],))
    owner_sql("UPDATE information_items SET version = version WHERE client_group_id = %s", (house.group_id,))
    owner_sql("DELETE FROM information_items WHERE id = %s", (ids[3],))
    stored, rule = _terms_and_rule(house.group_id)
    assert stored == rule
    assert {w for i, w in stored if i == ids[0]} == {"gamma", "note", "0", "text", "alpha", "beta0"}
    assert {w for i, w in stored if i == ids[2]} == {"note", "2", "text", "delta"}
    assert owner_sql("SELECT count(*) AS n FROM information_item_terms WHERE item_id = %s", (ids[3],))[0]["n"] == 0
    expect_status(patch(client, f"{II}/{ids[1]}", w, {"data_content": {"x": "epsilon"}}, 1), 200)
    stored, rule = _terms_and_rule(house.group_id)
    assert stored == rule and {w for i, w in stored if i == ids[1]} == {"gamma", "note", "1", "x", "epsilon"}
    # A new id takes its words along; TRUNCATE takes every word away (both rolled back).
    from chalicelib.core import db

    with db.owner_connection(autocommit=False) as conn:
        moved = conn.execute("UPDATE information_items SET id = gen_random_uuid() WHERE id = %s RETURNING id",
                             (ids[0],)).fetchone()["id"]
        words = lambda i: {r["term"] for r in conn.execute(  # noqa: E731
            "SELECT term FROM information_item_terms WHERE item_id = %s", (i,)).fetchall()}
        assert words(ids[0]) == set() and words(moved) == {"gamma", "note", "0", "text", "alpha", "beta0"}
        conn.execute("TRUNCATE information_items")
        assert conn.execute("SELECT count(*) AS n FROM information_item_terms").fetchone()["n"] == 0
        conn.rollback()
    assert _terms_and_rule(house.group_id)[0] == stored


def test_the_app_role_reads_the_search_words_and_cannot_write_them(firm: Firm, listed: dict[str, Any]) -> None:
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext

    item = listed["ids"]["home"]
    with db.transaction(RequestContext.system(firm.id)) as tx:
        assert tx.one("SELECT count(*) AS n FROM information_item_terms WHERE item_id = %s", (item,))["n"] > 0
    for statement in ("INSERT INTO information_item_terms (firm_id, item_id, term) VALUES (current_firm_id(), %s, 'x')",
                      "DELETE FROM information_item_terms WHERE item_id = %s",
                      "UPDATE information_item_terms SET term = 'changed' WHERE item_id = %s"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction(
                RequestContext.system(firm.id)) as tx:
            tx.execute(statement, (item,))
    assert "x" not in {r["term"] for r in owner_sql(
        "SELECT term FROM information_item_terms WHERE item_id = %s", (item,))}


class _Explain:
    """A transaction whose list queries are EXPLAINed instead of run: the store's own SQL, as the app role runs it."""

    def __init__(self, tx: Any) -> None:
        self.tx = tx
        self.plans: list[Any] = []

    def all(self, query: Any, params: Any = None) -> list[Any]:
        from psycopg import sql

        text = query if isinstance(query, sql.Composable) else sql.SQL(query)
        self.plans.append(self.tx.one(sql.SQL("EXPLAIN (FORMAT JSON) ") + text, params)["QUERY PLAN"][0]["Plan"])
        return []


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found, stack = [], [plan]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(node.get("Plans", []))
    return found


def test_q_is_an_index_search_under_row_level_security(firm: Firm, listed: dict[str, Any]) -> None:
    """EXPLAIN of the list's own query in the app role's verified firm context: each word of q is an index condition
    (a range) on information_item_terms' key, never a filter over the content. The control: under the same row-level
    security a trigram GIN index cannot serve ILIKE (not leakproof), which is why the words are kept apart."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.core.pagination import Keyset
    from chalicelib.information_items import store
    from chalicelib.information_items.models import ITEMS, InformationItemListQuery

    ctx = RequestContext.system(firm.id)
    with db.transaction(ctx) as tx:
        assert tx.one("SELECT current_user AS u")["u"] == "wealthdesk_app"
        tx.execute("SET LOCAL enable_seqscan = off")
        explain = _Explain(tx)
        query = InformationItemListQuery(q="halifax soc")
        store.list_items(explain, listed["house"].group_id, Keyset.parse(ITEMS, query, ctx), item_type=None,
                         category=None, q=query.q)
        nodes = _nodes(explain.plans[0])
        terms = [n for n in nodes if n.get("Relation Name") == "information_item_terms"]
        assert terms, nodes
        # Where the words' ranges are applied depends on the terms table's statistics: unanalysed (or at scale,
        # BENCHMARKS.md part "items") each range is an index condition on the key; once db-maintenance has
        # ANALYZEd a table of a few rows, the planner may read an item's few terms by item_id and apply the ranges
        # as the join's filter. Either way the words are compared with the terms' key, never with the content.
        join_filters = " ".join(n.get("Join Filter", "") for n in nodes)
        for node in terms:
            assert node["Node Type"] in ("Index Scan", "Index Only Scan"), node
            assert node["Index Name"] == "information_item_terms_pkey", node
            cond = node["Index Cond"]
            assert "item_id =" in cond, cond
            assert ("term >=" in cond and "term <" in cond) or ("term >=" in join_filters
                                                                 and "term <" in join_filters), (cond, nodes)
            assert "term" not in node.get("Filter", ""), node  # the only filter left is row-level security's
        assert not any("data_content" in n.get("Filter", "") + n.get("Join Filter", "") for n in nodes), nodes
        assert not any(n["Node Type"] == "Seq Scan" for n in nodes), nodes
        # The control: client_groups.name has a trigram GIN index, which ILIKE cannot use under RLS.
        control = tx.one("EXPLAIN (FORMAT JSON) SELECT id FROM client_groups WHERE name ILIKE %s",
                         ("%halifax%",))["QUERY PLAN"][0]["Plan"]
        assert not any("client_groups_name_trgm_idx" == n.get("Index Name") for n in _nodes(control)), control
        assert any("~~*" in n.get("Filter", "") for n in _nodes(control)), control


# --- batches -----------------------------------------------------------------------------------------------------

def test_a_batch_is_written_whole_in_order(client: Any, w: dict[str, str]) -> None:
    house, second = household_of_two(client, w)
    items = [
        {"item_type": "basic_detail", "item_category": "Personal", "data_content": {"nationality": "British"}},
        {"item_type": "assets_liabilities", "item_category": "Savings", "data_content": {"latest_valuation": "5.00"},
         "associated_product_owners": {"association_type": "joint", "joint_owners": [house.owner_id, second]}},
        {"item_type": "protection", "item_category": "Income protection",
         "associated_product_owners": individual(second)},
    ]
    mark = audit_watermark()
    body = expect_status(send(client, "POST", batch_of(house.group_id), headers=w, body={"items": items}), 201)
    assert body["written"] == 3 and len(body["ids"]) == 3
    for given, item_id in zip(items, body["ids"], strict=True):
        got = expect_status(send(client, "GET", f"{II}/{item_id}", headers=w), 200)
        assert (got["item_type"], got["item_category"], got["data_content"]) == (
            given["item_type"], given["item_category"], given.get("data_content", {}))
    assert got["associated_product_owners"] == individual(second)
    [event] = audit_events_since(mark)
    assert (event["action"], event["resource_type"], event["resource_id"]) == (
        "client_group.information_items_batch", "client_group", house.group_id)
    assert event["after"] == {"written": 3, "ids": body["ids"]}
    assert _listed(client, w, house.group_id, "q=income") == [body["ids"][2]]


def test_a_batch_holds_at_most_100_items(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house = create_household(client, w)
    item = {"item_type": "basic_detail", "item_category": "Note", "data_content": {"n": 1}}
    assert _refused(client, firm, "POST", batch_of(house.group_id), {"items": [item] * 101}, w) == ["items"]
    assert _refused(client, firm, "POST", batch_of(house.group_id), {"items": []}, w) == ["items"]
    body = expect_status(send(client, "POST", batch_of(house.group_id), headers=w, body={"items": [item] * 100}), 201)
    assert body["written"] == 100 and len(set(body["ids"])) == 100
    assert count_items(house.group_id) == 100


def test_a_batch_with_an_idempotency_key_is_written_once(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    headers = {**w, "Idempotency-Key": unique("batch")}
    body = {"items": [{"item_type": "basic_detail", "item_category": "Once"}] * 2}
    mark = audit_watermark()
    first = send(client, "POST", batch_of(house.group_id), headers=headers, body=body)
    again = send(client, "POST", batch_of(house.group_id), headers=headers, body=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json_body == first.json_body and again.headers.get("Idempotent-Replayed") == "true"
    assert count_items(house.group_id) == 2 and len(audit_events_since(mark)) == 1
    other = send(client, "POST", batch_of(house.group_id), headers=headers, body={"items": body["items"][:1]})
    assert_problem(other, 422)
    assert count_items(house.group_id) == 2


def test_a_batch_for_an_unknown_household_is_404(client: Any, firm: Firm, w: dict[str, str]) -> None:
    assert _refused(client, firm, "POST", batch_of(UUID(int=9)),
                    {"items": [{"item_type": "basic_detail", "item_category": "x"}]}, w, 404) == []


# --- for the net worth builder -----------------------------------------------------------------------------------

def test_valued_assets_and_liabilities_for_net_worth(client: Any, firm: Firm, w: dict[str, str]) -> None:
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.information_items import store

    house, second = household_of_two(client, w)
    joint = {"association_type": "joint", "joint_owners": [house.owner_id, second], "collective_percentage": "100.00"}
    home = create_item(client, w, house.group_id, item_type="assets_liabilities", item_category="Property",
                       associated_product_owners=joint, data_content={"latest_valuation": "450000.50"})
    loan = create_item(client, w, house.group_id, item_type="assets_liabilities", item_category="Mortgage",
                       associated_product_owners=individual(second),
                       data_content={"latest_valuation": "0", "lender": "Halifax"})
    # Not counted: no latest_valuation, a null one, one only nested, another type, another household.
    create_item(client, w, house.group_id, item_type="assets_liabilities", item_category="Car",
                associated_product_owners=individual(second), data_content={"make": "Volvo"})
    create_item(client, w, house.group_id, item_type="assets_liabilities", item_category="Art",
                associated_product_owners=individual(second), data_content={"latest_valuation": None})
    create_item(client, w, house.group_id, item_type="assets_liabilities", item_category="Nested",
                associated_product_owners=individual(second), data_content={"x": {"latest_valuation": "9.00"}})
    create_item(client, w, house.group_id, item_type="protection", item_category="Life",
                associated_product_owners=individual(second), data_content={"latest_valuation": "7.00"})
    other = create_household(client, w)
    elsewhere = create_item(client, w, other.group_id, item_type="assets_liabilities", item_category="Cash",
                            associated_product_owners=individual(other.owner_id),
                            data_content={"latest_valuation": "12.34"})
    with db.transaction(RequestContext.system(firm.id)) as tx:
        mine = store.valued_assets_liabilities(tx, UUID(house.group_id))
        everyone = store.valued_assets_liabilities(tx)
    assert sorted((str(r["id"]), r["item_category"], r["latest_valuation"], r["owners"]) for r in mine) == sorted([
        (home["id"], "Property", Decimal("450000.50"), joint),
        (loan["id"], "Mortgage", Decimal("0"), individual(second))])
    assert all(isinstance(r["latest_valuation"], Decimal) for r in mine)
    assert {str(r["id"]) for r in everyone} >= {home["id"], loan["id"], elsewhere["id"]}
    assert {str(r["client_group_id"]) for r in everyone} >= {house.group_id, other.group_id}


def test_content_rules_agree_with_the_database_on_size(client: Any, w: dict[str, str]) -> None:
    """serialized_size (the API's measure) is PostgreSQL's octet_length of the jsonb's text, for content with nested
    arrays, unicode, escapes and numbers."""
    from chalicelib.information_items.models import serialized_size

    house = create_household(client, w)
    content = {"名前": "Zoë \"quoted\" \\ back\nslash", "list": [1, 2.5, True, None, {"a": [], "b": {}}],
               "n": -0.001, "big": 12345678901234567890, "emoji": "\U0001F600", "tab": "\t"}
    item = create_item(client, w, house.group_id, data_content=content)
    db_size = owner_sql("SELECT octet_length(data_content::text) AS n FROM information_items WHERE id = %s",
                        (item["id"],))[0]["n"]
    assert serialized_size(content) == db_size


def test_a_member_leaving_meanwhile_is_not_named_by_a_new_item(client: Any, w: dict[str, str]) -> None:
    """A removal of a member holds the household's lock until it commits; an item naming that member waits for it,
    then finds them gone (422) instead of naming someone no longer in the household."""
    import threading

    from chalicelib.core import db
    from tests.integration.concurrency_support import wait_until_blocked_or_done

    house, second = household_of_two(client, w)
    body = {"item_type": "protection", "item_category": "Life cover", "associated_product_owners": individual(second)}
    answer: dict[str, Any] = {}
    with db.owner_connection(autocommit=False) as removal:
        removal.execute("SELECT id FROM client_groups WHERE id = %s FOR UPDATE", (house.group_id,))
        removal.execute("DELETE FROM client_group_product_owners WHERE client_group_id = %s "
                        "AND product_owner_id = %s", (house.group_id, second))
        thread = threading.Thread(target=lambda: answer.update(
            resp=send(client, "POST", items_of(house.group_id), headers=w, body=body)))
        thread.start()
        wait_until_blocked_or_done(thread)
        assert thread.is_alive(), "the item was written while the removal held the household"
        removal.commit()
        thread.join(60)
    assert errors_of(answer["resp"]) == ["associated_product_owners"]
    assert count_items(house.group_id) == 0
