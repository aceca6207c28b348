"""Unmanaged products (assets and liabilities held elsewhere), their balance history, and exchange rates.

Every rule on a hand-worked example through the real handlers; what the database holds afterwards is read as the
owner role. Each refused request is its exact 4xx problem+json, leaves no audit event and changes no row of the
firm (every tenant table compared before and after). Converted totals are worked out here by hand.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.matrix_support import (
    Household,
    add_member,
    add_unmanaged_valuation,
    audit_events_since,
    audit_watermark,
    create_household,
    create_product_owner,
    create_provider,
    create_unmanaged,
    expect_status,
    firm_rows,
    make_book,
    put_fx_rate,
    send,
    unique,
)

U, UV, FX = "/v1/unmanaged-products", "/v1/unmanaged-valuations", "/v1/fx-rates"
TOMORROW = (date.today() + timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def firm(database: str) -> Firm:
    """This module's own firm: its exchange rates are the only ones the conversions here can see."""
    return make_firm()


@pytest.fixture
def w(firm: Firm) -> dict[str, str]:
    return firm.auth("adviser")


def of(house: Household) -> str:
    return f"/v1/client-groups/{house.group_id}/unmanaged-products"


def individual(owner: str) -> dict[str, str]:
    return {"association_type": "individual", "product_owner_id": owner}


def patch(client: Any, path: str, auth: dict[str, str], body: dict[str, Any], version: int) -> Any:
    return send(client, "PATCH", path, headers={**auth, "If-Match": f'"{version}"'}, body=body)


def get(client: Any, path: str, auth: dict[str, str]) -> Any:
    return expect_status(send(client, "GET", path, headers=auth), 200)


def household_of_two(client: Any, auth: dict[str, str]) -> tuple[Household, str]:
    house = create_household(client, auth)
    second = create_product_owner(client, auth)["id"]
    add_member(client, auth, house.group_id, second)
    return house, second


def stored(product_id: str) -> dict[str, Any]:
    return owner_sql("SELECT current_value, current_value_date, status, version FROM unmanaged_products "
                     "WHERE id = %s", (product_id,))[0]


class Unchanged:
    """A block whose requests must change no row of the firm and leave no audit event."""

    def __init__(self, firm: Firm) -> None:
        self.firm = firm

    def __enter__(self) -> Unchanged:
        self.before, self.mark = firm_rows(self.firm.id), audit_watermark()
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            assert audit_events_since(self.mark) == [], "a refused request left an audit event"
            assert firm_rows(self.firm.id) == self.before, "a refused request changed the firm's rows"


# --- products: create, read, change, delete ----------------------------------------------------------------------

def test_crud_with_defaults_if_match_and_audit(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house = create_household(client, w)
    provider = create_provider(client, w)["id"]
    mark = audit_watermark()
    made = expect_status(send(client, "POST", of(house), headers=w, body={
        "name": "Holiday flat in Lisbon", "kind": "asset", "product_type": "property",
        "ownership": individual(house.owner_id), "notes": "Let out in summer"}), 201)
    assert made["currency"] == "GBP" and made["status"] == "active" and made["version"] == 1
    assert made["current_value"] is None and made["current_value_date"] is None
    assert made["provider_id"] is None and made["client_group_id"] == house.group_id
    path = f"{U}/{made['id']}"
    assert get(client, path, firm.auth("viewer")) == made
    resp = send(client, "GET", path, headers=w)
    assert resp.headers["ETag"] == '"1"'

    changed = expect_status(patch(client, path, w, {"currency": "EUR", "provider_id": provider, "notes": None}, 1),
                            200)
    assert (changed["currency"], changed["provider_id"], changed["notes"], changed["version"]) == (
        "EUR", provider, None, 2)
    assert_problem(patch(client, path, w, {"name": "Late"}, 1), 412)
    assert_problem(send(client, "PATCH", path, headers=w, body={"name": "Blind"}), 428)
    # Status and current value are not the PATCH's.
    assert_problem(patch(client, path, w, {"status": "sold"}, 2), 422, "status")
    assert_problem(patch(client, path, w, {"current_value": "1.00"}, 2), 422, "current_value")

    expect_status(send(client, "DELETE", path, headers=w), 204)
    assert_problem(send(client, "GET", path, headers=w), 404)
    events = [(e["action"], e["resource_id"]) for e in audit_events_since(mark)]
    assert events == [("unmanaged_product.create", made["id"]), ("unmanaged_product.update", made["id"]),
                      ("unmanaged_product.delete", made["id"])]


def test_a_liability_in_another_currency_and_the_base_currency_default(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    mortgage = create_unmanaged(client, w, house, name="Mortgage", kind="liability", product_type="mortgage",
                                currency="EUR")
    assert (mortgage["kind"], mortgage["product_type"], mortgage["currency"]) == ("liability", "mortgage", "EUR")
    # The default is the firm's base currency, whatever it is: a firm based in euros gets EUR.
    owner_sql("UPDATE firms SET base_currency = 'EUR' WHERE id = (SELECT firm_id FROM client_groups WHERE id = %s)",
              (house.group_id,))
    try:
        assert create_unmanaged(client, w, house)["currency"] == "EUR"
    finally:
        owner_sql("UPDATE firms SET base_currency = 'GBP' WHERE id = (SELECT firm_id FROM client_groups "
                  "WHERE id = %s)", (house.group_id,))


def test_a_product_with_valuations_is_not_deleted(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_unmanaged(client, w, house)
    add_unmanaged_valuation(client, w, product["id"], "2024-01-31", "100.00")
    with Unchanged(firm):
        assert_problem(send(client, "DELETE", f"{U}/{product['id']}", headers=w), 409)


# --- bad input: each its 4xx, nothing changed ----------------------------------------------------------------------

def test_refused_creations_change_nothing(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house, second = household_of_two(client, w)
    outsider = create_household(client, w).owner_id  # a member of another household of the firm
    existing = create_unmanaged(client, w, house, name="Rental flat")
    base = {"name": "Refused", "kind": "asset", "product_type": "property", "ownership": individual(house.owner_id)}
    cases = [
        ("owner outside the group", {**base, "ownership": individual(outsider)}, 422, "ownership"),
        ("one of two owners outside", {**base, "ownership": {"association_type": "joint",
                                                            "joint_owners": [house.owner_id, outsider]}},
         422, "ownership"),
        ("shares above 100", {**base, "ownership": {"association_type": "tenants_in_common",
                                                   "shares": {house.owner_id: "60.00", second: "40.01"}}},
         422, "ownership.tenants_in_common.shares"),
        ("a liability typed as an ISA", {**base, "kind": "liability", "product_type": "stocks_and_shares_isa"},
         422, "product_type"),
        ("an asset typed as a mortgage", {**base, "product_type": "mortgage"}, 422, "product_type"),
        ("unknown type", {**base, "product_type": "yacht"}, 422, "product_type"),
        ("unknown kind", {**base, "kind": "both"}, 422, "kind"),
        ("duplicate name", {**base, "name": "Rental flat"}, 409, "name"),
        ("duplicate name in another case", {**base, "name": "RENTAL FLAT"}, 409, "name"),
        ("unknown provider", {**base, "provider_id": str(uuid.uuid4())}, 422, "provider_id"),
        ("lower-case currency", {**base, "currency": "eur"}, 422, "currency"),
        ("a status", {**base, "status": "sold"}, 422, "status"),
        ("a current value", {**base, "current_value": "1.00"}, 422, "current_value"),
        ("no ownership", {k: v for k, v in base.items() if k != "ownership"}, 422, "ownership"),
    ]
    with Unchanged(firm):
        for name, body, status, field in cases:
            resp = send(client, "POST", of(house), headers=w, body=body)
            assert resp.status_code == status, (name, resp.body)
            assert_problem(resp, status, field)
    # Another household may use the name.
    assert create_unmanaged(client, w, create_household(client, w), name=existing["name"])["name"] == "Rental flat"


def test_refused_changes_change_nothing(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house, second = household_of_two(client, w)
    create_unmanaged(client, w, house, name="Taken")
    product = create_unmanaged(client, w, house, name="Cottage", ownership={
        "association_type": "tenants_in_common", "shares": {house.owner_id: "50.00", second: "50.00"}})
    path = f"{U}/{product['id']}"
    lone = create_product_owner(client, w)["id"]
    with Unchanged(firm):
        for body, status, field in (
                ({"ownership": individual(lone)}, 422, "ownership"),
                ({"ownership": {"association_type": "tenants_in_common",
                                "shares": {house.owner_id: "50.00", second: "50.01"}}}, 422, None),
                ({"kind": "liability"}, 422, "product_type"),  # a property is not a liability
                ({"kind": "liability", "product_type": "cash_isa"}, 422, "product_type"),
                ({"product_type": "loan"}, 422, "product_type"),
                ({"name": "taken"}, 409, "name"),
                ({"name": None}, 422, "name"),
                ({"provider_id": str(uuid.uuid4())}, 422, "provider_id")):
            assert_problem(patch(client, path, w, body, 1), status, field or ())
    # Kind and type changed together, consistently: fine.
    changed = expect_status(patch(client, path, w, {"kind": "liability", "product_type": "loan",
                                                    "name": "Cottage loan"}, 1), 200)
    assert (changed["kind"], changed["product_type"], changed["version"]) == ("liability", "loan", 2)


def test_the_database_refuses_what_the_api_refuses(client: Any, w: dict[str, str]) -> None:
    """Written raw as the owner: the kind/type CHECK, the ownership CHECK and trigger (the managed products'
    function), the name's unique index, a future or negative valuation, a hand-written current value."""
    house, second = household_of_two(client, w)
    lone = create_product_owner(client, w)["id"]
    product = create_unmanaged(client, w, house, name="Raw")
    columns = ("INSERT INTO unmanaged_products (firm_id, client_group_id, name, kind, product_type, ownership, "
               "currency) SELECT firm_id, client_group_id, %s, %s, %s, %s, 'GBP' FROM unmanaged_products WHERE id = %s")
    mine = Jsonb(individual(house.owner_id))
    refusals = [
        ((unique("L"), "liability", "stocks_and_shares_isa", mine), psycopg.errors.CheckViolation,
         "unmanaged_products_type_fits_kind"),
        ((unique("A"), "asset", "credit_card", mine), psycopg.errors.CheckViolation,
         "unmanaged_products_type_fits_kind"),
        ((unique("O"), "asset", "gia", Jsonb(individual(lone))), psycopg.errors.CheckViolation,
         "unmanaged_products_owners_in_group"),
        ((unique("S"), "asset", "gia", Jsonb({"association_type": "tenants_in_common",
                                              "shares": {house.owner_id: "60.00", second: "40.01"}})),
         psycopg.errors.CheckViolation, "unmanaged_products_ownership_check"),
        (("raw", "asset", "gia", mine), psycopg.errors.UniqueViolation, "unmanaged_products_name_key"),
    ]
    for (name, kind, product_type, ownership), error, constraint in refusals:
        with pytest.raises(error) as refused:
            owner_sql(columns, (name, kind, product_type, ownership, product["id"]))
        assert refused.value.diag.constraint_name == constraint, (name, kind, product_type)
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        owner_sql("UPDATE unmanaged_products SET ownership = %s WHERE id = %s",
                  (Jsonb(individual(lone)), product["id"]))
    assert refused.value.diag.constraint_name == "unmanaged_products_owners_in_group"
    for day, value, constraint in ((TOMORROW, "1.00", "unmanaged_valuations_not_future"),
                                   ("2024-01-31", "-0.01", "unmanaged_valuations_value_check"),
                                   ("2024-01-31", "1.00", "unmanaged_valuations_source_check")):
        source = "manual" if constraint != "unmanaged_valuations_source_check" else "guess"
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            owner_sql("INSERT INTO unmanaged_valuations (firm_id, unmanaged_product_id, valuation_date, value, source) "
                      "SELECT firm_id, id, %s, %s, %s FROM unmanaged_products WHERE id = %s",
                      (day, value, source, product["id"]))
        assert refused.value.diag.constraint_name == constraint
    assert owner_sql("SELECT count(*) AS n FROM unmanaged_products WHERE client_group_id = %s",
                     (house.group_id,))[0]["n"] == 1
    assert owner_sql("SELECT ownership FROM unmanaged_products WHERE id = %s",
                     (product["id"],))[0]["ownership"] == individual(house.owner_id)


def test_a_member_an_unmanaged_product_names_cannot_leave_the_group(client: Any, firm: Firm,
                                                                    w: dict[str, str]) -> None:
    house, second = household_of_two(client, w)
    product = create_unmanaged(client, w, house, ownership={"association_type": "joint",
                                                            "joint_owners": [house.owner_id, second]})
    member = f"/v1/client-groups/{house.group_id}/product-owners/{second}"
    with Unchanged(firm):
        assert_problem(send(client, "DELETE", member, headers=w), 409)
    expect_status(patch(client, f"{U}/{product['id']}", w, {"ownership": individual(house.owner_id)}, 1), 200)
    expect_status(send(client, "DELETE", member, headers=w), 204)


# --- status ----------------------------------------------------------------------------------------------------

def test_status_changes_and_reactivation_by_an_admin_only(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_unmanaged(client, w, house)
    status = f"{U}/{product['id']}/status"
    mark = audit_watermark()
    sold = expect_status(send(client, "POST", status, headers=w,
                              body={"status": "sold", "reason": "Completed 12 March"}), 200)
    assert (sold["status"], sold["version"]) == ("sold", 2)
    [event] = audit_events_since(mark)
    assert (event["action"], event["before"]["status"], event["after"]["status"], event["after"]["reason"]) == (
        "unmanaged_product.change_status", "active", "sold", "Completed 12 March")
    with Unchanged(firm):
        for who in ("adviser", "write"):  # neither an adviser nor any API key may bring it back
            assert_problem(send(client, "POST", status, headers=firm.auth(who),
                                body={"status": "active", "reason": "Sale fell through"}), 403)
        assert_problem(send(client, "POST", status, headers=w, body={"status": "transferred", "reason": "x"}), 409)
        assert_problem(send(client, "POST", status, headers=firm.auth("admin"),
                            body={"status": "sold", "reason": "again"}), 409)
        assert_problem(send(client, "POST", status, headers=w, body={"status": "sold"}), 422, "reason")
        assert_problem(send(client, "POST", status, headers=w, body={"status": "lost", "reason": "x"}), 422, "status")
        assert_problem(send(client, "POST", status, headers=w, body={"status": "active", "reason": ""}), 422,
                       "reason")
        assert_problem(send(client, "POST", status, headers=firm.auth("viewer"),
                            body={"status": "active", "reason": "x"}), 403)
    mark = audit_watermark()
    back = expect_status(send(client, "POST", status, headers=firm.auth("admin"),
                              body={"status": "active", "reason": "Sale fell through"}), 200)
    assert (back["status"], back["version"]) == ("active", 3)
    [event] = audit_events_since(mark)
    assert event["after"]["reason"] == "Sale fell through" and event["actor_id"] == firm.users["admin"]["id"]
    # Active again: any other status is open to an adviser.
    assert expect_status(send(client, "POST", status, headers=w,
                              body={"status": "matured", "reason": "Bond matured"}), 200)["status"] == "matured"


# --- the current value -----------------------------------------------------------------------------------------

def test_the_current_value_is_the_latest_dated_valuation_whatever_writes(client: Any, firm: Firm,
                                                                         w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_unmanaged(client, w, house, kind="liability", product_type="mortgage", name="Mortgage")
    pid = product["id"]

    def current() -> tuple[str | None, str | None]:
        body = get(client, f"{U}/{pid}", w)
        return body["current_value"], body["current_value_date"]

    jan = add_unmanaged_valuation(client, w, pid, "2024-01-31", "185000.00")
    assert current() == ("185000.00", "2024-01-31")
    dec = add_unmanaged_valuation(client, w, pid, "2023-12-29", "186000.00", source="import")
    assert current() == ("185000.00", "2024-01-31")  # an earlier date leaves it
    feb = add_unmanaged_valuation(client, w, pid, "2024-02-29", "0.00", source="feed")
    assert current() == ("0.00", "2024-02-29")  # a later one, even of 0
    expect_status(send(client, "DELETE", f"{UV}/{feb['id']}", headers=w), 204)
    assert current() == ("185000.00", "2024-01-31")
    expect_status(send(client, "DELETE", f"{UV}/{jan['id']}", headers=w), 204)
    assert current() == ("186000.00", "2023-12-29")
    expect_status(send(client, "DELETE", f"{UV}/{dec['id']}", headers=w), 204)
    assert current() == (None, None)
    assert get(client, f"{U}/{pid}", w)["version"] == 1  # derived: the version is the user's fields'

    # Raw SQL: valuations written by hand move it; a value written into the product by hand does not stick.
    owner_sql("INSERT INTO unmanaged_valuations (firm_id, unmanaged_product_id, valuation_date, value) "
              "SELECT firm_id, id, d, v FROM unmanaged_products, (VALUES (DATE '2022-06-30', 1.00), "
              "(DATE '2022-07-29', 2.00)) AS x(d, v) WHERE id = %s", (pid,))
    assert current() == ("2.00", "2022-07-29")
    owner_sql("UPDATE unmanaged_valuations SET value = 3.50 WHERE unmanaged_product_id = %s "
              "AND valuation_date = '2022-07-29'", (pid,))
    assert current() == ("3.50", "2022-07-29")
    owner_sql("UPDATE unmanaged_valuations SET valuation_date = '2022-05-31' WHERE unmanaged_product_id = %s "
              "AND valuation_date = '2022-07-29'", (pid,))
    assert current() == ("1.00", "2022-06-30")
    owner_sql("UPDATE unmanaged_products SET current_value = 999999.00, current_value_date = '2024-12-31' "
              "WHERE id = %s", (pid,))
    assert current() == ("1.00", "2022-06-30")
    owner_sql("INSERT INTO unmanaged_products (firm_id, client_group_id, name, kind, product_type, ownership, "
              "currency, current_value, current_value_date) SELECT firm_id, client_group_id, 'Planted', kind, "
              "product_type, ownership, currency, 5.00, DATE '2024-01-01' FROM unmanaged_products WHERE id = %s",
              (pid,))
    assert owner_sql("SELECT current_value, current_value_date FROM unmanaged_products WHERE name = 'Planted' "
                     "AND client_group_id = %s", (house.group_id,)) == [{"current_value": None,
                                                                          "current_value_date": None}]
    owner_sql("DELETE FROM unmanaged_valuations WHERE unmanaged_product_id = %s", (pid,))
    assert current() == (None, None)
    assert stored(pid)["current_value"] is None


def test_valuation_refusals_change_nothing(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_unmanaged(client, w, house)
    path = f"{U}/{product['id']}/valuations"
    add_unmanaged_valuation(client, w, product["id"], "2024-01-31", "100.00")
    with Unchanged(firm):
        for body, status, field in (
                ({"valuation_date": TOMORROW, "value": "1.00"}, 422, "valuation_date"),
                ({"valuation_date": "2024-02-29", "value": "-0.01"}, 422, "value"),
                ({"valuation_date": "2024-02-29", "value": "1.001"}, 422, "value"),
                ({"valuation_date": "2024-02-29", "value": 1.5}, 422, "value"),
                ({"valuation_date": "2024-02-29", "value": "1.00", "source": "guess"}, 422, "source"),
                ({"valuation_date": "1899-12-31", "value": "1.00"}, 422, "valuation_date"),
                ({"valuation_date": "2024-01-31", "value": "2.00"}, 409, "valuation_date"),  # one a date
                ({"value": "2.00"}, 422, "valuation_date")):
            assert_problem(send(client, "POST", path, headers=w, body=body), status, field)
        assert_problem(send(client, "POST", f"{U}/{uuid.uuid4()}/valuations", headers=w,
                            body={"valuation_date": "2024-02-29", "value": "1.00"}), 404)
        assert_problem(send(client, "DELETE", f"{UV}/{uuid.uuid4()}", headers=w), 404)
    assert stored(product["id"])["current_value"] == Decimal("100.00")


def test_valuations_list_by_date_with_from_and_to(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    pid = create_unmanaged(client, w, house)["id"]
    days = ["2023-10-31", "2023-11-30", "2023-12-29", "2024-01-31"]
    for i, day in enumerate(reversed(days)):
        add_unmanaged_valuation(client, w, pid, day, f"{100 + i}.00")
    first = get(client, f"{U}/{pid}/valuations?limit=3", w)
    assert [v["valuation_date"] for v in first["items"]] == days[:3]
    rest = get(client, f"{U}/{pid}/valuations?limit=3&cursor={first['next_cursor']}", w)
    assert [v["valuation_date"] for v in rest["items"]] == days[3:] and rest["next_cursor"] is None
    window = get(client, f"{U}/{pid}/valuations?from=2023-11-01&to=2023-12-31", w)
    assert [(v["valuation_date"], v["value"], v["source"]) for v in window["items"]] == [
        ("2023-11-30", "102.00", "manual"), ("2023-12-29", "101.00", "manual")]


def test_bulk_valuations_are_all_or_nothing(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house = create_household(client, w)
    pid = create_unmanaged(client, w, house)["id"]
    add_unmanaged_valuation(client, w, pid, "2024-01-31", "100.00")
    path = f"{U}/{pid}/valuations:bulk"
    good = [{"valuation_date": "2024-02-29", "value": "110.00", "source": "import"},
            {"valuation_date": "2024-03-28", "value": "120.00", "source": "import"}]
    with Unchanged(firm):
        for rows, status, field in (
                ([*good, {"valuation_date": "2024-02-29", "value": "5.00"}], 422, "valuations.2"),
                ([*good, {"valuation_date": "2024-01-31", "value": "5.00"}], 409, "valuations.2.valuation_date"),
                ([*good, {"valuation_date": TOMORROW, "value": "5.00"}], 422, "valuations.2.valuation_date"),
                ([*good, {"valuation_date": "2024-04-30", "value": "-5.00"}], 422, "valuations.2.value"),
                ([], 422, "valuations"),
                ([{"valuation_date": "2010-01-01", "value": "1.00"}] * 5001, 422, "valuations")):
            assert_problem(send(client, "POST", path, headers=w, body={"valuations": rows}), status, field)
    mark = audit_watermark()
    key = {**w, "Idempotency-Key": unique("bulk")}
    written = send(client, "POST", path, headers=key, body={"valuations": good})
    assert expect_status(written, 201) == {"written": 2}
    again = send(client, "POST", path, headers=key, body={"valuations": good})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    [event] = audit_events_since(mark)
    assert (event["action"], event["resource_id"], event["after"]) == (
        "unmanaged_product.bulk_valuations", pid, {"written": 2, "from": "2024-02-29", "to": "2024-03-28"})
    assert (stored(pid)["current_value"], stored(pid)["current_value_date"]) == (Decimal("120.00"), date(2024, 3, 28))
    assert owner_sql("SELECT count(*) AS n FROM unmanaged_valuations WHERE unmanaged_product_id = %s",
                     (pid,))[0]["n"] == 3


def test_a_bulk_of_5000_valuations(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    pid = create_unmanaged(client, w, house)["id"]
    start = date(2000, 1, 1)
    rows = [{"valuation_date": (start + timedelta(days=i)).isoformat(), "value": f"{i}.{i % 100:02d}"}
            for i in range(5000)]
    assert expect_status(send(client, "POST", f"{U}/{pid}/valuations:bulk", headers=w,
                              body={"valuations": rows}), 201) == {"written": 5000}
    last = start + timedelta(days=4999)
    assert (stored(pid)["current_value"], stored(pid)["current_value_date"]) == (Decimal("4999.99"), last)


def test_idempotency_key_on_a_valuation_and_a_product(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    key = {**w, "Idempotency-Key": unique("once")}
    body = {"name": unique("ISA elsewhere"), "kind": "asset", "product_type": "stocks_and_shares_isa",
            "ownership": individual(house.owner_id)}
    first, second = (send(client, "POST", of(house), headers=key, body=body) for _ in range(2))
    assert first.json_body == second.json_body and second.headers.get("Idempotent-Replayed") == "true"
    assert_problem(send(client, "POST", of(house), headers=key, body={**body, "name": "Other"}), 422)
    path = f"{U}/{first.json_body['id']}/valuations"
    key = {**w, "Idempotency-Key": unique("once")}
    v1, v2 = (send(client, "POST", path, headers=key, body={"valuation_date": "2024-01-31", "value": "5.00"})
              for _ in range(2))
    assert v1.status_code == v2.status_code == 201 and v1.json_body == v2.json_body
    assert owner_sql("SELECT count(*) AS n FROM unmanaged_valuations WHERE unmanaged_product_id = %s",
                     (first.json_body["id"],))[0]["n"] == 1


# --- the list: filters and the summary by type ------------------------------------------------------------------

@pytest.fixture(scope="module")
def listed(app_module: Any, firm: Firm) -> dict[str, Any]:
    """A household with eight unmanaged products in four currencies, and the firm's rates:
    USD 0.8000 on 2024-01-31 and 0.7850 on 2024-06-28; EUR 0.8550 on 2024-03-29; none for CHF."""
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        w = firm.auth("adviser")
        house = create_household(c, w)
        provider = create_provider(c, w)["id"]
        for currency, day, rate in (("USD", "2024-01-31", "0.8000"), ("USD", "2024-06-28", "0.7850"),
                                    ("EUR", "2024-03-29", "0.8550")):
            put_fx_rate(c, w, currency, day, rate)
        made: dict[str, str] = {}
        for name, kind, product_type, currency, value, extra in (
                ("Villa", "asset", "property", "EUR", "250000.00", {}),
                ("Flat", "asset", "property", "GBP", "300000.00", {"provider_id": provider}),
                ("Chalet", "asset", "property", "CHF", "100000.00", {}),
                ("Brokerage", "asset", "gia", "USD", "1234.57", {}),
                ("USD cash 1", "asset", "bank_account", "USD", "0.01", {}),
                ("USD cash 2", "asset", "bank_account", "USD", "0.01", {}),
                ("USD cash 3", "asset", "bank_account", "USD", "0.01", {}),
                ("Mortgage", "liability", "mortgage", "GBP", "180000.00", {"provider_id": provider}),
                ("Card", "liability", "credit_card", "GBP", None, {}),
                ("Old car loan", "liability", "loan", "GBP", "0.00", {})):
            p = create_unmanaged(c, w, house, name=name, kind=kind, product_type=product_type, currency=currency,
                                 **extra)
            if value is not None:
                add_unmanaged_valuation(c, w, p["id"], "2024-05-01", value)
            made[name] = p["id"]
        expect_status(send(c, "POST", f"{U}/{made['Old car loan']}/status", headers=w,
                           body={"status": "sold", "reason": "Paid off"}), 200)
    return {"house": house, "provider": provider, "ids": made}


def _names(client: Any, path: str, auth: dict[str, str]) -> list[str]:
    return [i["name"] for i in get(client, path, auth)["items"]]


def test_list_filters(client: Any, firm: Firm, listed: dict[str, Any]) -> None:
    path, r = of(listed["house"]), firm.auth("read")
    everything = ["Brokerage", "Card", "Chalet", "Flat", "Mortgage", "Old car loan", "USD cash 1", "USD cash 2",
                  "USD cash 3", "Villa"]
    assert _names(client, path, r) == everything
    assert _names(client, f"{path}?kind=liability", r) == ["Card", "Mortgage", "Old car loan"]
    assert _names(client, f"{path}?product_type=property", r) == ["Chalet", "Flat", "Villa"]
    assert _names(client, f"{path}?status=sold", r) == ["Old car loan"]
    assert _names(client, f"{path}?status=active&kind=liability", r) == ["Card", "Mortgage"]
    assert _names(client, f"{path}?provider_id={listed['provider']}", r) == ["Flat", "Mortgage"]
    # In each product's own currency; a product never valued passes no bound.
    assert _names(client, f"{path}?min_current_value=1000.00", r) == ["Brokerage", "Chalet", "Flat", "Mortgage",
                                                                      "Villa"]
    assert _names(client, f"{path}?max_current_value=0.01", r) == ["Old car loan", "USD cash 1", "USD cash 2",
                                                                   "USD cash 3"]
    assert _names(client, f"{path}?min_current_value=1234.57&max_current_value=200000", r) == [
        "Brokerage", "Chalet", "Mortgage"]
    assert _names(client, f"{path}?provider_id={uuid.uuid4()}", r) == []
    for bad, field in (("min_current_value=10&max_current_value=9.99", "max_current_value"),
                       ("min_current_value=-1", "min_current_value"), ("kind=neither", "kind"),
                       ("product_type=yacht", "product_type"), ("status=lapsed", "status"),
                       ("provider_id=x", "provider_id"), ("sort=-name", "sort")):
        assert_problem(send(client, "GET", f"{path}?{bad}", headers=r), 422, field)
    assert_problem(send(client, "GET", f"/v1/client-groups/{uuid.uuid4()}/unmanaged-products", headers=r), 404)


def test_list_pages_and_each_page_carries_the_whole_summary(client: Any, firm: Firm, listed: dict[str, Any]) -> None:
    path, r = of(listed["house"]), firm.auth("read")
    whole = get(client, path, r)
    seen, cursor = [], None
    while True:
        page = get(client, path + "?limit=3" + (f"&cursor={cursor}" if cursor else ""), r)
        assert page["summary"] == whole["summary"] and page["base_currency"] == "GBP"
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["id"] for i in whole["items"]] and len(seen) == 10


def test_the_summary_by_type_converts_at_todays_rates(client: Any, firm: Firm, listed: dict[str, Any]) -> None:
    """Each product's current value at its currency's latest rate on or before today, rounded to the penny, then
    summed per type; a currency with no rate is listed apart, in its own currency.

    property: Flat 300,000.00 GBP + Villa 250,000.00 EUR x 0.8550 = 213,750.00; Chalet 100,000.00 CHF has no rate.
    gia: Brokerage 1,234.57 USD x 0.7850 (the 2024-06-28 rate, not the 2024-01-31 one) = 969.137... = 969.14.
    bank_account: three times 0.01 USD x 0.7850 = 0.00785 each, 0.01 each once rounded: 0.03 (the sum first
    rounded would say 0.02). Liabilities in GBP: as they are; the card has no valuation (0.00), the sold loan 0.00.
    """
    body = get(client, of(listed["house"]), firm.auth("read"))
    assert body["base_currency"] == "GBP"
    assert body["summary"] == [
        {"product_type": "bank_account", "kind": "asset", "count": 3, "total_current_value": "0.03",
         "unconverted": []},
        {"product_type": "credit_card", "kind": "liability", "count": 1, "total_current_value": "0.00",
         "unconverted": []},
        {"product_type": "gia", "kind": "asset", "count": 1, "total_current_value": "969.14", "unconverted": []},
        {"product_type": "loan", "kind": "liability", "count": 1, "total_current_value": "0.00", "unconverted": []},
        {"product_type": "mortgage", "kind": "liability", "count": 1, "total_current_value": "180000.00",
         "unconverted": []},
        {"product_type": "property", "kind": "asset", "count": 3, "total_current_value": "513750.00",
         "unconverted": [{"currency": "CHF", "count": 1, "total_current_value": "100000.00"}]},
    ]
    # The summary follows the filters.
    filtered = get(client, of(listed["house"]) + "?kind=asset&min_current_value=1000", firm.auth("read"))
    assert [(s["product_type"], s["count"], s["total_current_value"]) for s in filtered["summary"]] == [
        ("gia", 1, "969.14"), ("property", 3, "513750.00")]


# --- unmanaged products take no part in performance figures ------------------------------------------------------

def _figures(client: Any, auth: dict[str, str], group: str, product: str) -> dict[str, Any]:
    def clean(body: Any) -> Any:
        if isinstance(body, dict):
            return {k: clean(v) for k, v in body.items() if k not in ("refreshed_at", "as_of", "computed_at")}
        if isinstance(body, list):
            return [clean(v) for v in body]
        return body

    paths = [f"/v1/client-groups/{group}/irr?method={m}&include=flows" for m in ("kingston_monthly", "xirr")] + [
        f"/v1/client-groups/{group}/irr?from=2020-06-30&method=xirr", f"/v1/client-groups/{group}/summary",
        f"/v1/client-groups/{group}/revenue", f"/v1/client-groups/{group}/overview", f"/v1/products/{product}/irr",
        f"/v1/products/{product}/irr-history", "/v1/client-groups?include=fum&limit=200", "/v1/revenue",
        "/v1/dashboard", "/v1/dashboard?method=xirr"]
    from chalicelib.ops.jobs import run_job

    assert run_job("refresh-views", trigger="manual").status == "succeeded"  # the dashboard as of now
    return {p: clean(get(client, p, auth)) for p in paths}


def test_unmanaged_products_never_enter_performance_figures(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house = create_household(client, w)
    book = make_book(client, w, house, day="2023-06-30", invested=("10000.00", "5000.00"),
                     values=("11000.00", "5200.00"))
    before = _figures(client, w, house.group_id, book.product)
    assert before[f"/v1/client-groups/{house.group_id}/irr?method=xirr&include=flows"]["irr"] is not None
    # Assets and a liability held elsewhere, valued on dates around and after the managed product's, one of them
    # on the same provider as the managed product.
    flat = create_unmanaged(client, w, house, provider_id=book.second_provider)
    isa = create_unmanaged(client, w, house, product_type="stocks_and_shares_isa")
    loan = create_unmanaged(client, w, house, kind="liability", product_type="loan")
    for pid, values in ((flat["id"], ("250000.00", "260000.00")), (isa["id"], ("20000.00", "0.00")),
                        (loan["id"], ("5000.00", "4000.00"))):
        for day, value in zip(("2020-01-15", "2023-06-30"), values, strict=True):
            add_unmanaged_valuation(client, w, pid, day, value)
    add_unmanaged_valuation(client, w, flat["id"], "2023-07-31", "270000.00")
    after = _figures(client, w, house.group_id, book.product)
    # The summary shows them beside its managed figures, apart: the household's part of what it holds and owes
    # elsewhere and its net worth (the flat at 270,000.00, the ISA at 0.00, the loan 4,000.00 owed; the managed
    # product 16,200.00). None of the performance figures moves.
    summary = f"/v1/client-groups/{house.group_id}/summary"
    held = ("unmanaged_assets", "unmanaged_liabilities", "net_worth")
    assert [before[summary].pop(k) for k in held] == ["0.00", "0.00", "16200.00"]
    assert [after[summary].pop(k) for k in held] == ["270000.00", "4000.00", "282200.00"]
    assert after == before
    # A selection IRR cannot name them either: they are not portfolio funds.
    assert_problem(send(client, "POST", "/v1/irr", headers=w, body={"portfolio_fund_ids": [flat["id"]]}), 404)


# --- exchange rates -------------------------------------------------------------------------------------------

def test_a_rate_posted_again_replaces_it_or_changes_nothing(client: Any, firm: Firm, w: dict[str, str]) -> None:
    day = "2019-05-31"
    mark = audit_watermark()
    made = send(client, "POST", FX, headers=w, body={"currency": "JPY", "rate_date": day, "rate": "0.0072"})
    assert made.status_code == 201 and made.json_body["rate"] == "0.0072000000" and made.json_body["version"] == 1
    same = send(client, "POST", FX, headers=w, body={"currency": "JPY", "rate_date": day, "rate": "0.00720"})
    assert same.status_code == 200 and same.json_body == made.json_body  # the same rate: nothing written
    moved = send(client, "POST", FX, headers=w, body={"currency": "JPY", "rate_date": day, "rate": "0.0073"})
    assert moved.status_code == 200 and (moved.json_body["id"], moved.json_body["rate"], moved.json_body["version"]) \
        == (made.json_body["id"], "0.0073000000", 2)
    events = audit_events_since(mark)
    assert [(e["action"], e["changed_fields"]) for e in events] == [
        ("fx_rate.create", ["created_at", "currency", "id", "rate", "rate_date"]),
        ("fx_rate.update", []), ("fx_rate.update", ["rate"])]
    assert owner_sql("SELECT count(*) AS n FROM fx_rates WHERE firm_id = %s AND currency = 'JPY'",
                     (firm.id,))[0]["n"] == 1


def test_rate_refusals_change_nothing(client: Any, firm: Firm, w: dict[str, str]) -> None:
    put_fx_rate(client, w, "SEK", "2020-01-31", "0.0800")
    good = {"currency": "SEK", "rate_date": "2020-02-28", "rate": "0.0810"}
    with Unchanged(firm):
        for body, field in (({**good, "currency": "GBP"}, "currency"), ({**good, "rate": "0"}, "rate"),
                            ({**good, "rate": "-0.08"}, "rate"), ({**good, "rate": 0.081}, "rate"),
                            ({**good, "rate": "0.00000000001"}, "rate"), ({**good, "currency": "sek"}, "currency"),
                            ({**good, "currency": "SEKX"}, "currency"), ({**good, "rate_date": "2100-01-01"},
                                                                         "rate_date"),
                            ({k: v for k, v in good.items() if k != "rate"}, "rate")):
            assert_problem(send(client, "POST", FX, headers=w, body=body), 422, field)
        for rows, field in (([good, {**good, "rate": "0.0820"}], "rates.1"), ([good, {**good, "currency": "GBP"}],
                                                                                "rates.1.currency"),
                            ([good, {**good, "rate": "0"}], "rates.1.rate"), ([], "rates")):
            assert_problem(send(client, "POST", f"{FX}:bulk", headers=w, body={"rates": rows}), 422, field)
        assert_problem(send(client, "POST", FX, headers=firm.auth("viewer"), body=good), 403)
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        owner_sql("INSERT INTO fx_rates (firm_id, currency, rate_date, rate) VALUES (%s, 'GBP', '2020-01-31', 1)",
                  (firm.id,))
    assert refused.value.diag.constraint_name == "fx_rates_not_base"
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("INSERT INTO fx_rates (firm_id, currency, rate_date, rate) VALUES (%s, 'NOK', '2020-01-31', 0)",
                  (firm.id,))
    with pytest.raises(psycopg.errors.UniqueViolation):
        owner_sql("INSERT INTO fx_rates (firm_id, currency, rate_date, rate) VALUES (%s, 'SEK', '2020-01-31', 1)",
                  (firm.id,))


def test_bulk_rates_create_and_replace_in_one_go(client: Any, firm: Firm, w: dict[str, str]) -> None:
    put_fx_rate(client, w, "NZD", "2021-01-29", "0.5000")
    rows = [{"currency": "NZD", "rate_date": "2021-01-29", "rate": "0.5100"},
            {"currency": "NZD", "rate_date": "2021-02-26", "rate": "0.5200"},
            {"currency": "AUD", "rate_date": "2021-01-29", "rate": "0.5500"}]
    mark = audit_watermark()
    assert expect_status(send(client, "POST", f"{FX}:bulk", headers=w, body={"rates": rows}), 201) == {
        "written": 3, "created": 2, "replaced": 1}
    [event] = audit_events_since(mark)
    assert (event["action"], event["resource_type"], event["resource_id"], event["after"]) == (
        "firm.bulk_fx_rates", "firm", str(firm.id),
        {"written": 3, "created": 2, "replaced": 1, "currencies": ["AUD", "NZD"], "from": "2021-01-29",
         "to": "2021-02-26"})
    stored_rates = owner_sql("SELECT currency, rate_date::text AS d, rate, version FROM fx_rates WHERE firm_id = %s "
                             "AND currency IN ('NZD', 'AUD') ORDER BY currency, rate_date", (firm.id,))
    assert [(r["currency"], r["d"], r["rate"], r["version"]) for r in stored_rates] == [
        ("AUD", "2021-01-29", Decimal("0.5500000000"), 1), ("NZD", "2021-01-29", Decimal("0.5100000000"), 2),
        ("NZD", "2021-02-26", Decimal("0.5200000000"), 1)]
    # Posting the same batch again: all three replaced by themselves, nothing changes but the audit trail.
    assert expect_status(send(client, "POST", f"{FX}:bulk", headers=w, body={"rates": rows}), 201) == {
        "written": 3, "created": 0, "replaced": 3}
    assert owner_sql("SELECT sum(version) AS v FROM fx_rates WHERE firm_id = %s AND currency IN ('NZD', 'AUD')",
                     (firm.id,))[0]["v"] == 4


def test_a_bulk_of_5000_rates(client: Any, firm: Firm, w: dict[str, str]) -> None:
    start = date(1960, 1, 1)
    rows = [{"currency": "HKD", "rate_date": (start + timedelta(days=i)).isoformat(), "rate": f"0.{1000 + i:04d}"}
            for i in range(5000)]
    assert expect_status(send(client, "POST", f"{FX}:bulk", headers=w, body={"rates": rows}), 201) == {
        "written": 5000, "created": 5000, "replaced": 0}
    from chalicelib.core.context import RequestContext
    from chalicelib.currencies import service

    assert service.rate_on(RequestContext.system(firm.id), "HKD", start + timedelta(days=4999)) == Decimal("0.5999")
    assert_problem(send(client, "POST", f"{FX}:bulk", headers=w, body={"rates": [*rows, rows[0]]}), 422, "rates")


def test_the_rate_list_filters_and_pages(client: Any, firm: Firm, w: dict[str, str]) -> None:
    for day, rate in (("2018-01-31", "1.1000"), ("2018-02-28", "1.1100"), ("2018-03-29", "1.1200")):
        put_fx_rate(client, w, "CAD", day, rate)
    r = firm.auth("read")
    newest = get(client, f"{FX}?currency=CAD&limit=2", r)
    assert [i["rate_date"] for i in newest["items"]] == ["2018-03-29", "2018-02-28"]
    rest = get(client, f"{FX}?currency=CAD&limit=2&cursor={newest['next_cursor']}", r)
    assert [i["rate_date"] for i in rest["items"]] == ["2018-01-31"] and rest["next_cursor"] is None
    oldest = get(client, f"{FX}?currency=CAD&sort=rate_date&from=2018-02-01&to=2018-03-31", r)
    assert [(i["rate_date"], i["rate"]) for i in oldest["items"]] == [("2018-02-28", "1.1100000000"),
                                                                      ("2018-03-29", "1.1200000000")]
    assert_problem(send(client, "GET", f"{FX}?currency=CAD&limit=2&sort=rate_date&cursor={newest['next_cursor']}",
                        headers=r), 422, "cursor")
    assert_problem(send(client, "GET", f"{FX}?from=2018-03-01&to=2018-02-01", headers=r), 422, "to")


def test_rate_on_is_the_latest_rate_on_or_before_the_date(client: Any, firm: Firm, w: dict[str, str]) -> None:
    from chalicelib.core.context import RequestContext
    from chalicelib.currencies import service

    for day, rate in (("2017-03-31", "1.2500"), ("2017-06-30", "1.3000"), ("2017-09-29", "1.2800")):
        put_fx_rate(client, w, "CHW", day, rate)  # a currency code no other test of this firm uses
    ctx = RequestContext.system(firm.id)
    expected = {date(2017, 3, 30): None, date(2017, 3, 31): Decimal("1.25"), date(2017, 6, 29): Decimal("1.25"),
                date(2017, 6, 30): Decimal("1.30"), date(2017, 9, 28): Decimal("1.30"),
                date(2017, 9, 29): Decimal("1.28"), date(2030, 1, 1): Decimal("1.28")}
    for day, rate in expected.items():
        assert service.rate_on(ctx, "CHW", day) == rate, day
    assert service.rate_on(ctx, "GBP", date(1900, 1, 1)) == 1  # the base currency, always
    assert service.rate_on(ctx, "XXX", date(2030, 1, 1)) is None  # no rate at all
    # Another firm sees none of this firm's rates.
    assert service.rate_on(RequestContext.system(make_firm().id), "CHW", date(2030, 1, 1)) is None


# --- what net worth reads ---------------------------------------------------------------------------------------

def test_active_positions_as_of_a_date(client: Any, firm: Firm, w: dict[str, str]) -> None:
    """Hand-worked: the EUR rate is 0.8550 from 2024-03-29 (the `listed` rates are not needed: this firm's are set
    again here so the test stands alone)."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.products.unmanaged import service

    put_fx_rate(client, w, "EUR", "2024-03-29", "0.8550")
    house = create_household(client, w)
    villa = create_unmanaged(client, w, house, name="Villa", currency="EUR")
    mortgage = create_unmanaged(client, w, house, name="Mortgage", kind="liability", product_type="mortgage")
    chalet = create_unmanaged(client, w, house, name="Chalet", currency="CHF")
    create_unmanaged(client, w, house, name="Card", kind="liability", product_type="credit_card")
    car = create_unmanaged(client, w, house, name="Car", product_type="other")
    for pid, day, value in ((villa["id"], "2023-12-29", "240000.00"), (villa["id"], "2024-05-01", "250000.00"),
                            (mortgage["id"], "2024-01-31", "185000.00"), (mortgage["id"], "2024-06-28", "180000.00"),
                            (chalet["id"], "2024-02-01", "100000.00"), (car["id"], "2024-01-02", "9000.00")):
        add_unmanaged_valuation(client, w, pid, day, value)
    expect_status(send(client, "POST", f"{U}/{car['id']}/status", headers=w,
                       body={"status": "sold", "reason": "Sold privately"}), 200)

    def positions(day: date) -> list[tuple[Any, ...]]:
        with db.transaction(RequestContext.system(firm.id)) as tx:
            rows = service.active_positions(tx, uuid.UUID(house.group_id), day)
        return [(r["name"], r["kind"], r["currency"], r["value"], r["valuation_date"], r["rate"], r["base_value"])
                for r in rows]

    assert positions(date(2024, 4, 30)) == [
        ("Chalet", "asset", "CHF", Decimal("100000.00"), date(2024, 2, 1), None, None),
        ("Villa", "asset", "EUR", Decimal("240000.00"), date(2023, 12, 29), Decimal("0.855"),
         Decimal("205200.00")),
        ("Card", "liability", "GBP", None, None, Decimal("1"), None),
        ("Mortgage", "liability", "GBP", Decimal("185000.00"), date(2024, 1, 31), Decimal("1"),
         Decimal("185000.00"))]
    assert positions(date(2024, 1, 15)) == [
        ("Chalet", "asset", "CHF", None, None, None, None),
        ("Villa", "asset", "EUR", Decimal("240000.00"), date(2023, 12, 29), None, None),  # no EUR rate yet
        ("Card", "liability", "GBP", None, None, Decimal("1"), None),
        ("Mortgage", "liability", "GBP", None, None, Decimal("1"), None)]
    today = positions(date.today())
    assert [(n, v, b) for n, _, _, v, _, _, b in today] == [
        ("Chalet", Decimal("100000.00"), None), ("Villa", Decimal("250000.00"), Decimal("213750.00")),
        ("Card", None, None), ("Mortgage", Decimal("180000.00"), Decimal("180000.00"))]


def test_bodies_and_answers_are_json_problem_documents(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    resp = send(client, "POST", of(house), headers={**w, "Content-Type": "text/plain"},
                body=json.dumps({"name": "x"}))
    assert_problem(resp, 415)


@pytest.mark.parametrize("first,second", [("2024-02-29", "2024-01-31"), ("2024-01-31", "2024-02-29")])
def test_two_raw_writers_of_one_products_valuations_leave_the_latest_as_current(client: Any, w: dict[str, str],
                                                                               first: str, second: str) -> None:
    """The first writer holds its valuation uncommitted while the second writes another date of the same product:
    the second's statement waits for the product row, and its current value is computed after the wait, seeing the
    first's valuation, whichever of the two dates is later."""
    from tests.integration.concurrency_support import second_writer_after_first

    house = create_household(client, w)
    pid = create_unmanaged(client, w, house)["id"]
    values = {"2024-01-31": "100.00", "2024-02-29": "200.00"}
    outcome = second_writer_after_first(
        "INSERT INTO unmanaged_valuations (firm_id, unmanaged_product_id, valuation_date, value) "
        "SELECT firm_id, id, %s::date, %s FROM unmanaged_products WHERE id = %s",
        (first, values[first], pid), (second, values[second], pid))
    assert outcome == {"committed": True}
    assert (stored(pid)["current_value"], stored(pid)["current_value_date"]) == (Decimal("200.00"),
                                                                                  date(2024, 2, 29))
