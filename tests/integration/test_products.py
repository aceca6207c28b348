"""Managed products through the API: the catalogue, products and their ownership, portfolios, the
portfolio valuation kept in step, bulk writes, revenue, IRR and the stored IRR history.

Every rule is checked on a hand-worked example, and what the database holds afterwards is read as the owner
role. IRR figures are checked against closed forms worked out here; the stored IRR history against a full
recompute (in a transaction rolled back) and against the IRR functions run on flows this file selects and signs
itself, and its rows' identity (xmin, computed_at) shows which dates a change rewrote.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.matrix_support import (
    Household,
    add_activity,
    add_member,
    add_portfolio_fund,
    add_valuation,
    audit_events_since,
    audit_watermark,
    create_fund,
    create_generation,
    create_household,
    create_product,
    create_product_owner,
    create_provider,
    create_template,
    expect_status,
    isin_check_digit,
    send,
    unique,
    unique_isin,
)

# Real ISINs (Apple, BAE Systems, Treasury Corp. of Victoria, iShares Core MSCI World, Microsoft, Bayer).
KNOWN_ISINS = ("US0378331005", "GB0002634946", "AU0000XVGZA3", "IE00B4L5Y983", "US5949181045", "DE000BAY0017")
MONEY_IN = {"investment", "regular_investment", "tax_uplift", "switch_in"}
MONEY_OUT = {"withdrawal", "regular_withdrawal", "switch_out"}


@pytest.fixture(scope="module")
def firm(database: str) -> Firm:
    """This module's own firm: the known ISINs can be catalogued once per firm."""
    return make_firm()


@pytest.fixture
def w(firm: Firm) -> dict[str, str]:
    """The adviser's headers: advisers write client data and the catalogue."""
    return firm.auth("adviser")


def get(client: Any, path: str, auth: dict[str, str]) -> Any:
    return expect_status(send(client, "GET", path, headers=auth), 200)


def patch(client: Any, path: str, auth: dict[str, str], body: dict[str, Any], version: int) -> Any:
    return send(client, "PATCH", path, headers={**auth, "If-Match": f'"{version}"'}, body=body)


def errors_of(resp: Any, status: int = 422) -> list[str]:
    return [e["field"] for e in assert_problem(resp, status).get("errors", [])]


def count(table: str, where: str, params: Any) -> int:
    return owner_sql(f"SELECT count(*) AS n FROM {table} WHERE {where}", params)[0]["n"]


def portfolio_valuations(client: Any, auth: dict[str, str], product_id: str) -> list[tuple[str, str]]:
    body = get(client, f"/v1/products/{product_id}/valuations?limit=200", auth)
    return [(v["valuation_date"], v["value"]) for v in body["items"]]


def household_of_two(client: Any, auth: dict[str, str]) -> tuple[Household, str]:
    house = create_household(client, auth)
    second = create_product_owner(client, auth)["id"]
    add_member(client, auth, house.group_id, second)
    return house, second


# --- catalogue ----------------------------------------------------------------------------------------------------

def test_isin_check_digit_is_validated_by_the_api_and_the_database(client: Any, firm: Firm,
                                                                    w: dict[str, str]) -> None:
    from chalicelib.products.catalogue.models import isin_is_valid

    for isin in KNOWN_ISINS:
        assert isin_check_digit(isin[:11]) == isin[11]
        fund = create_fund(client, w, isin=isin)
        assert fund["isin"] == isin
        for wrong in "0123456789".replace(isin[11], ""):
            resp = send(client, "POST", "/v1/funds", headers=w, body={"name": unique("F"), "isin": isin[:11] + wrong})
            assert errors_of(resp) == ["isin"], wrong
    for malformed in ("US037833100", "US03783310055", "us0378331005", "1S0378331005", "US-378331005",
                      "US037833100A",
                      "ＵS0378331005"):  # noqa: RUF001 - the fullwidth U is deliberate: a lookalike must be refused
        assert errors_of(send(client, "POST", "/v1/funds", headers=w,
                              body={"name": unique("F"), "isin": malformed})) == ["isin"], malformed
    assert count("funds", "firm_id = %s AND isin = ANY(%s)", (firm.id, list(KNOWN_ISINS))) == len(KNOWN_ISINS)

    # The API's rule and the database's agree with this file's independent rule on every check digit of
    # random payloads (one right, nine wrong each).
    rng = random.Random(20240607)
    candidates = []
    for _ in range(300):
        payload = rng.choice(["GB", "US", "IE", "LU", "DE"]) + "".join(
            rng.choice("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(9))
        candidates += [payload + d for d in "0123456789"]
    expected = {c: isin_check_digit(c[:11]) == c[11] for c in candidates}
    assert sum(expected.values()) == 300
    assert {c: isin_is_valid(c) for c in candidates} == expected
    in_db = owner_sql("SELECT c, isin_is_valid(c) AS ok FROM unnest(%s::text[]) AS c", (candidates,))
    assert {r["c"]: r["ok"] for r in in_db} == expected

    # The database refuses a bad ISIN whoever writes it.
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("UPDATE funds SET isin = 'US0378331006' WHERE firm_id = %s AND isin = 'US0378331005'", (firm.id,))
    assert count("funds", "firm_id = %s AND isin = 'US0378331005'", (firm.id,)) == 1


def test_funds_isin_filter_finds_exactly_that_fund_of_the_firm(client: Any, firm: Firm, firm_b: Firm,
                                                               w: dict[str, str]) -> None:
    isin = unique_isin("LU")
    mine = create_fund(client, w, isin=isin)
    create_fund(client, w)
    create_fund(client, firm_b.auth("adviser"), isin=isin)  # another firm may hold the same ISIN
    found = get(client, f"/v1/funds?isin={isin}", w)
    assert [f["id"] for f in found["items"]] == [mine["id"]] and found["next_cursor"] is None
    assert get(client, f"/v1/funds?isin={unique_isin('LU')}", w)["items"] == []
    # A second fund with the same ISIN in the same firm is a conflict.
    assert_problem(send(client, "POST", "/v1/funds", headers=w, body={"name": unique("F"), "isin": isin}), 409)


def test_generation_weights_must_sum_to_exactly_100(client: Any, firm: Firm, w: dict[str, str]) -> None:
    funds = [create_fund(client, w)["id"] for _ in range(3)]
    template = create_template(client, w)
    path = f"/v1/portfolio-templates/{template['id']}/generations"

    def body(*weights: str) -> dict[str, Any]:
        return {"funds": [{"fund_id": f, "target_weighting": x} for f, x in zip(funds, weights, strict=False)]}

    mark = audit_watermark()
    for weights in (("33.33", "33.33", "33.33"), ("50.00", "50.01"), ("99.99",), ("100.01",), ("0.00", "100.00"),
                    ("33.333", "33.333", "33.334")):
        assert_problem(send(client, "POST", path, headers=w, body=body(*weights)), 422)
    assert count("template_generations", "template_id = %s", (template["id"],)) == 0
    assert audit_events_since(mark) == []

    first = expect_status(send(client, "POST", path, headers=w, body=body("33.34", "33.33", "33.33")), 201)
    second = expect_status(send(client, "POST", path, headers=w, body=body("100")), 201)
    assert (first["generation"], second["generation"]) == (1, 2)
    assert sorted((f["fund_id"], f["target_weighting"]) for f in first["funds"]) == sorted(
        zip(funds, ("33.34", "33.33", "33.33"), strict=False))
    assert second["funds"] == [{"fund_id": funds[0], "target_weighting": "100.00"}]

    # The database checks the sum at commit, whoever writes the rows.
    gen = owner_sql("INSERT INTO template_generations (firm_id, template_id, generation) VALUES (%s, %s, 3) "
                    "RETURNING id", (firm.id, template["id"]))[0]["id"]
    with pytest.raises(psycopg.errors.CheckViolation, match="generation"):
        owner_sql("INSERT INTO template_generation_funds (firm_id, generation_id, fund_id, target_weighting) "
                  "VALUES (%s, %s, %s, 90.00)", (firm.id, gen, funds[0]))
    assert count("template_generation_funds", "generation_id = %s", (gen,)) == 0


def test_a_generation_in_use_is_never_edited_a_new_one_is_made(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house = create_household(client, w)
    f1, f2 = create_fund(client, w)["id"], create_fund(client, w)["id"]
    template = create_template(client, w)
    used = create_generation(client, w, template["id"], [(f1, "70.00"), (f2, "30.00")])
    spare = create_generation(client, w, template["id"], [(f1, "50.00"), (f2, "50.00")])
    product = create_product(client, w, house, start_date="2022-04-06", template_generation_id=used["id"])
    assert product["template_generation_id"] == used["id"]

    # The product's portfolio is a copy of the generation, starting with the product.
    copied = get(client, f"/v1/products/{product['id']}/funds", w)["items"]
    assert sorted((p["fund_id"], p["target_weighting"], p["start_date"], p["end_date"]) for p in copied) == sorted(
        [(f1, "70.00", "2022-04-06", None), (f2, "30.00", "2022-04-06", None)])
    listed = {g["id"]: g["in_use"] for g in get(client, f"/v1/portfolio-templates/{template['id']}/generations",
                                                 w)["items"]}
    assert listed == {used["id"]: True, spare["id"]: False}

    # Even the owner cannot touch a used generation's funds; an unused one it can (the same statements).
    unchanged = "UPDATE template_generation_funds SET target_weighting = target_weighting WHERE generation_id = %s"
    with pytest.raises(psycopg.errors.CheckViolation, match="in use") as refused:
        owner_sql(unchanged, (used["id"],))
    assert refused.value.diag.constraint_name == "generation_in_use"
    with pytest.raises(psycopg.errors.CheckViolation, match="in use"):
        owner_sql("DELETE FROM template_generation_funds WHERE generation_id = %s AND fund_id = %s", (used["id"], f2))
    owner_sql(unchanged, (spare["id"],))
    rows = owner_sql("SELECT fund_id::text AS f, target_weighting AS w FROM template_generation_funds "
                     "WHERE generation_id = %s ORDER BY fund_id", (used["id"],))
    assert sorted((r["f"], r["w"]) for r in rows) == sorted([(f1, Decimal("70.00")), (f2, Decimal("30.00"))])

    # The template moves on with a new generation; the used one and the product's portfolio stay as they were.
    third = create_generation(client, w, template["id"], [(f1, "60.00"), (f2, "40.00")])
    assert third["generation"] == 3 and not third["in_use"]
    assert len(get(client, f"/v1/products/{product['id']}/funds", w)["items"]) == 2


# --- products and ownership ------------------------------------------------------------------------------------------

def test_ownership_three_forms(client: Any, w: dict[str, str]) -> None:
    house, second = household_of_two(client, w)
    first = house.owner_id
    forms = [
        ({"association_type": "individual", "product_owner_id": first},
         {"association_type": "individual", "product_owner_id": first}),
        ({"association_type": "tenants_in_common", "shares": {first: "60", second: "40"}},
         {"association_type": "tenants_in_common", "shares": {first: "60.00", second: "40.00"}}),
        # Below 100: the rest belongs to third parties.
        ({"association_type": "tenants_in_common", "shares": {first: "50.00", second: "25.5"}},
         {"association_type": "tenants_in_common", "shares": {first: "50.00", second: "25.50"}}),
        ({"association_type": "joint", "joint_owners": [first, second]},
         {"association_type": "joint", "joint_owners": [first, second], "collective_percentage": "100.00"}),
        ({"association_type": "joint", "joint_owners": [second, first], "collective_percentage": "80"},
         {"association_type": "joint", "joint_owners": [second, first], "collective_percentage": "80.00"}),
    ]
    for given, stored in forms:
        product = create_product(client, w, house, ownership=given)
        assert product["ownership"] == stored
        assert get(client, f"/v1/products/{product['id']}", w)["ownership"] == stored
        assert owner_sql("SELECT ownership FROM products WHERE id = %s", (product["id"],))[0]["ownership"] == stored


def test_ownership_refusals(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house, second = household_of_two(client, w)
    first = house.owner_id
    outsider = create_household(client, w).owner_id  # a member of another group of the firm
    lone = create_product_owner(client, w)["id"]  # in no group
    path = f"/v1/client-groups/{house.group_id}/products"
    base = {"name": "Refused", "product_type": "gia", "start_date": "2021-04-06"}
    mark = audit_watermark()
    for ownership in (
            {"association_type": "individual", "product_owner_id": outsider},
            {"association_type": "tenants_in_common", "shares": {first: "50.00", lone: "50.00"}},
            {"association_type": "joint", "joint_owners": [first, outsider]}):
        assert errors_of(send(client, "POST", path, headers=w, body={**base, "ownership": ownership})) == ["ownership"]
    for ownership in (
            {"association_type": "tenants_in_common", "shares": {first: "60.00", second: "40.01"}},
            {"association_type": "tenants_in_common", "shares": {first: "100.01"}},
            {"association_type": "tenants_in_common", "shares": {first: "0.00"}},
            {"association_type": "tenants_in_common", "shares": {first: "33.333"}},
            {"association_type": "tenants_in_common", "shares": {}},
            {"association_type": "joint", "joint_owners": [first]},
            {"association_type": "joint", "joint_owners": [first, first]},
            {"association_type": "joint", "joint_owners": [first, second], "collective_percentage": "100.01"},
            {"association_type": "individual", "product_owner_id": first, "shares": {first: "100"}},
            {"association_type": "sole", "product_owner_id": first}):
        assert_problem(send(client, "POST", path, headers=w, body={**base, "ownership": ownership}), 422)
    assert count("products", "client_group_id = %s", (house.group_id,)) == 0
    assert audit_events_since(mark) == []

    # A PATCH is held to the same rules.
    product = create_product(client, w, house, ownership={"association_type": "tenants_in_common",
                                                          "shares": {first: "50.00", second: "50.00"}})
    for ownership in ({"association_type": "individual", "product_owner_id": lone},
                      {"association_type": "tenants_in_common", "shares": {first: "50.00", second: "50.01"}}):
        assert_problem(patch(client, f"/v1/products/{product['id']}", w, {"ownership": ownership}, 1), 422)
    assert get(client, f"/v1/products/{product['id']}", w)["version"] == 1


def test_the_database_refuses_a_bad_ownership_written_by_raw_sql(client: Any, w: dict[str, str]) -> None:
    house, second = household_of_two(client, w)
    first = house.owner_id
    lone = create_product_owner(client, w)["id"]
    good = {"association_type": "tenants_in_common", "shares": {first: "60.00", second: "40.00"}}
    product = create_product(client, w, house, ownership=good)
    bad = [
        {"association_type": "tenants_in_common", "shares": {first: "60.00", second: "40.01"}},  # above 100
        {"association_type": "tenants_in_common", "shares": {first: "0.00"}},
        {"association_type": "tenants_in_common", "shares": {first: "60.005"}},
        {"association_type": "tenants_in_common", "shares": {first: 60}},  # a number, not a string
        {"association_type": "tenants_in_common", "shares": {}},
        {"association_type": "individual"},
        {"association_type": "individual", "product_owner_id": first, "extra": 1},
        {"association_type": "joint", "joint_owners": [first], "collective_percentage": "100.00"},
        {"association_type": "joint", "joint_owners": [first, first], "collective_percentage": "100.00"},
        {"association_type": "joint", "joint_owners": [first, second]},  # the percentage is required in storage
        {"association_type": "sole", "product_owner_id": first},
        [first],
        # Ids that are not UUIDs: still the CHECK's to refuse (not a cast error on the way to it).
        {"association_type": "tenants_in_common", "shares": {"not-a-uuid": "60.00"}},
        {"association_type": "joint", "joint_owners": [first, "not-a-uuid"], "collective_percentage": "100.00"},
        {"association_type": "individual", "product_owner_id": "not-a-uuid"},
    ]
    for ownership in bad:
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            owner_sql("UPDATE products SET ownership = %s WHERE id = %s",
                      (Jsonb(ownership), product["id"]))
        assert refused.value.diag.constraint_name == "products_ownership_check", ownership
    # Owners outside the group: refused by the trigger, on UPDATE and on INSERT.
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        owner_sql("UPDATE products SET ownership = %s WHERE id = %s",
                  (Jsonb({"association_type": "individual", "product_owner_id": lone}),
                   product["id"]))
    assert refused.value.diag.constraint_name == "products_owners_in_group"
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("INSERT INTO products (firm_id, client_group_id, name, product_type, start_date, ownership) "
                  "SELECT firm_id, client_group_id, 'Planted', 'gia', start_date, %s FROM products WHERE id = %s",
                  (Jsonb({"association_type": "joint", "joint_owners": [first, lone],
                                             "collective_percentage": "100.00"}), product["id"]))
    assert owner_sql("SELECT ownership, version FROM products WHERE id = %s", (product["id"],))[0] == {
        "ownership": good, "version": 1}
    assert count("products", "client_group_id = %s", (house.group_id,)) == 1


def test_a_member_a_product_names_cannot_leave_the_group(client: Any, w: dict[str, str]) -> None:
    house, second = household_of_two(client, w)
    product = create_product(client, w, house, ownership={"association_type": "joint",
                                                          "joint_owners": [house.owner_id, second]})
    member = f"/v1/client-groups/{house.group_id}/product-owners/{second}"
    mark = audit_watermark()
    assert_problem(send(client, "DELETE", member, headers=w), 409)
    assert audit_events_since(mark) == []
    assert count("client_group_product_owners", "client_group_id = %s AND product_owner_id = %s",
                 (house.group_id, second)) == 1
    # Once no product names them, they may go.
    expect_status(patch(client, f"/v1/products/{product['id']}", w,
                        {"ownership": {"association_type": "individual", "product_owner_id": house.owner_id}}, 1), 200)
    expect_status(send(client, "DELETE", member, headers=w), 204)
    assert count("client_group_product_owners", "client_group_id = %s", (house.group_id,)) == 1


def test_a_provider_change_is_kept_in_the_switch_history(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    p1, p2 = create_provider(client, w)["id"], create_provider(client, w)["id"]
    product = create_product(client, w, house, provider_id=p1)
    path, switches = f"/v1/products/{product['id']}", f"/v1/products/{product['id']}/provider-switches"
    assert get(client, switches, w)["items"] == []
    expect_status(patch(client, path, w, {"provider_id": p2}, 1), 200)
    expect_status(patch(client, path, w, {"name": unique("Renamed")}, 2), 200)  # no provider change
    expect_status(patch(client, path, w, {"provider_id": p2, "plan_number": "X-1"}, 3), 200)  # the same provider
    assert_problem(patch(client, path, w, {"provider_id": p1, "end_date": "2019-01-01"}, 4), 422)  # refused: none
    expect_status(patch(client, path, w, {"provider_id": None}, 4), 200)
    items = get(client, switches, w)["items"]
    assert [(s["from_provider_id"], s["to_provider_id"]) for s in items] == [(p1, p2), (p2, None)]
    assert items[0]["switched_at"] <= items[1]["switched_at"]
    assert get(client, path, w)["provider_id"] is None


def test_lapse_only_at_a_value_of_zero_and_reactivate(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_product(client, w, house)
    fund = create_fund(client, w)["id"]
    pf = add_portfolio_fund(client, w, product["id"], fund)["id"]
    lapse, reactivate = f"/v1/products/{product['id']}/lapse", f"/v1/products/{product['id']}/reactivate"
    # Money in and no valuation yet: the current value is unknown, not 0.
    add_activity(client, w, pf, "2023-01-15", "1000.00")
    assert_problem(send(client, "POST", lapse, headers=w), 409, detail="or none at all")
    add_valuation(client, w, pf, "2023-01-31", "1000.00")
    add_valuation(client, w, pf, "2023-02-28", "0.00")
    add_valuation(client, w, pf, "2023-03-31", "0.01")
    assert_problem(send(client, "POST", lapse, headers=w), 409)  # the latest valuation is 0.01
    assert get(client, f"/v1/products/{product['id']}", w)["status"] == "active"
    add_valuation(client, w, pf, "2023-04-28", "0.00")
    add_activity(client, w, pf, "2023-05-02", "500.00")  # money in after the 0: the value is unknown again
    refused = assert_problem(send(client, "POST", lapse, headers=w), 409, detail="after its last complete valuation")
    assert "no valuation" not in refused["detail"]
    add_activity(client, w, pf, "2023-05-03", "500.00", "withdrawal")
    add_valuation(client, w, pf, "2023-05-31", "0.00")
    lapsed = expect_status(send(client, "POST", lapse, headers=w), 200)
    assert (lapsed["status"], lapsed["version"]) == ("lapsed", 2)
    assert_problem(send(client, "POST", lapse, headers=w), 409)
    active = expect_status(send(client, "POST", reactivate, headers=w), 200)
    assert (active["status"], active["version"]) == ("active", 3)
    assert_problem(send(client, "POST", reactivate, headers=w), 409)
    # The list's status filter sees it.
    expect_status(send(client, "POST", lapse, headers=w), 200)
    listed = get(client, f"/v1/client-groups/{house.group_id}/products?status=lapsed", w)["items"]
    assert [p["id"] for p in listed] == [product["id"]]


def test_delete_a_product_with_portfolio_funds_is_409(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_product(client, w, house, provider_id=create_provider(client, w)["id"])
    pf = add_portfolio_fund(client, w, product["id"], create_fund(client, w)["id"])["id"]
    assert_problem(send(client, "DELETE", f"/v1/products/{product['id']}", headers=w), 409)
    expect_status(send(client, "DELETE", f"/v1/portfolio-funds/{pf}", headers=w), 204)
    expect_status(send(client, "DELETE", f"/v1/products/{product['id']}", headers=w), 204)
    assert count("products", "id = %s", (product["id"],)) == 0


# --- portfolio valuations -------------------------------------------------------------------------------------------

def test_a_portfolio_valuation_exists_exactly_when_every_active_non_cash_fund_is_valued(
        client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_product(client, w, house)["id"]
    fund_a, fund_b = create_fund(client, w)["id"], create_fund(client, w)["id"]
    cash = create_fund(client, w, isin=None, is_cash=True)["id"]
    a = add_portfolio_fund(client, w, product, fund_a)["id"]
    b = add_portfolio_fund(client, w, product, fund_b)["id"]
    c = add_portfolio_fund(client, w, product, cash)["id"]

    va1 = add_valuation(client, w, a, "2023-01-31", "1000.00")
    assert portfolio_valuations(client, w, product) == []  # b is not valued that day
    add_valuation(client, w, b, "2023-01-31", "2500.50")
    assert portfolio_valuations(client, w, product) == [("2023-01-31", "3500.50")]
    add_valuation(client, w, c, "2023-01-31", "99.50")  # cash counts in the value, not in the rule
    assert portfolio_valuations(client, w, product) == [("2023-01-31", "3600.00")]
    add_valuation(client, w, c, "2023-02-28", "100.00")  # cash alone makes no portfolio valuation
    add_valuation(client, w, a, "2023-03-31", "1100.00")  # b not valued that day
    assert portfolio_valuations(client, w, product) == [("2023-01-31", "3600.00")]

    # Ending b on 2023-02-28: on 2023-03-31 only a is active, so that date qualifies now; 2023-01-31 stays.
    expect_status(patch(client, f"/v1/portfolio-funds/{b}", w, {"end_date": "2023-02-28"}, 1), 200)
    assert portfolio_valuations(client, w, product) == [("2023-01-31", "3600.00"), ("2023-03-31", "1100.00")]
    # A corrected valuation changes the sum; deleting one makes its date incomplete again.
    expect_status(patch(client, f"/v1/fund-valuations/{va1['id']}", w, {"value": "1200.00"}, 1), 200)
    assert portfolio_valuations(client, w, product) == [("2023-01-31", "3800.00"), ("2023-03-31", "1100.00")]
    expect_status(send(client, "DELETE", f"/v1/fund-valuations/{va1['id']}", headers=w), 204)
    assert portfolio_valuations(client, w, product) == [("2023-03-31", "1100.00")]
    # Reopening b makes 2023-03-31 incomplete again.
    expect_status(patch(client, f"/v1/portfolio-funds/{b}", w, {"end_date": None}, 2), 200)
    assert portfolio_valuations(client, w, product) == []
    assert count("portfolio_valuations", "product_id = %s", (product,)) == 0


def test_a_bulk_of_5000_rows_is_written_whole_with_its_derived_data(client: Any, firm: Firm,
                                                                     w: dict[str, str]) -> None:
    """The most a bulk takes: 5,000 valuations (two funds, 2,500 dates) and 5,000 cash flows in two requests;
    every row lands, each date of both funds has its portfolio valuation, product_flows nets the cash flows, and the
    IRR history has both methods for every date, equal to a full recompute."""
    from datetime import timedelta

    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2000-01-01")["id"]
    pfs = [add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2000-01-01")["id"]
           for _ in range(2)]
    days = [(date(2000, 1, 3) + timedelta(days=3 * i)).isoformat() for i in range(2500)]
    activity = [{"portfolio_fund_id": pf, "activity_date": d, "activity_type": kind, "amount": amount}
                for i, d in enumerate(days) for pf, kind, amount in (
                    (pfs[0], "investment", f"{100 + i % 7}.00"),
                    (pfs[1], "withdrawal" if i % 5 == 4 else "regular_investment", f"{10 + i % 3}.50"))]
    assert len(activity) == 5000
    made = send(client, "POST", f"/v1/products/{product}/activity:bulk", headers=w, body={"activities": activity})
    assert expect_status(made, 201)["written"] == 5000
    held = [Decimal(0), Decimal(0)]  # each fund's money in so far, grown 0.01% a valuation: realistic values
    valuations = []
    for i, d in enumerate(days):
        for k, pf in enumerate(pfs):
            mine = next(a for a in activity[2 * i:2 * i + 2] if a["portfolio_fund_id"] == pf)
            held[k] += Decimal(mine["amount"]) * (-1 if mine["activity_type"] == "withdrawal" else 1)
            valuations.append({"portfolio_fund_id": pf, "valuation_date": d,
                               "value": str((held[k] * (1 + Decimal(i) / 10000)).quantize(Decimal("0.01")))})
    made = send(client, "POST", f"/v1/products/{product}/valuations:bulk", headers=w, body={"valuations": valuations})
    assert expect_status(made, 201)["written"] == 5000
    assert count("fund_valuations", "portfolio_fund_id = ANY(%s::uuid[])", (pfs,)) == 5000
    assert count("holding_activity", "portfolio_fund_id = ANY(%s::uuid[])", (pfs,)) == 5000
    assert count("portfolio_valuations", "product_id = %s", (product,)) == 2500
    assert_product_flows_match([product])
    assert count("irr_values", "scope = 'product' AND scope_id = %s", (product,)) == 5000
    assert figures(stored(product, pfs[0])) == full_recompute(firm, product, pfs[0])


def test_a_write_that_outlives_the_idle_transaction_timeout_is_a_503_and_changes_nothing(
        client: Any, w: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The IRR history is computed between statements of the write's transaction; should that take longer than
    the server's idle-in-transaction timeout (60 s; here 100 ms, and a pause), the server ends the session: the
    answer is a 503 problem, not a 500, and the write is gone with the transaction."""
    import time

    from chalicelib.products.performance import store

    house = create_household(client, w)
    product = create_product(client, w, house)["id"]
    pf = add_portfolio_fund(client, w, product, create_fund(client, w)["id"])["id"]
    real = store.write_product_irrs

    def slow(tx: Any, *args: Any) -> int:
        tx.execute("SET LOCAL idle_in_transaction_session_timeout = '100ms'")
        time.sleep(0.5)
        return real(tx, *args)

    monkeypatch.setattr(store, "write_product_irrs", slow)
    late = send(client, "POST", f"/v1/portfolio-funds/{pf}/valuations", headers=w,
                body={"valuation_date": "2023-01-31", "value": "100.00"})
    assert assert_problem(late, 503)["detail"] == "The request took too long and was cancelled"
    monkeypatch.undo()
    assert count("fund_valuations", "portfolio_fund_id = %s", (pf,)) == 0
    add_valuation(client, w, pf, "2023-01-31", "100.00")  # the pool replaced the ended session


def test_a_product_holding_only_cash_is_valued_by_its_cash(client: Any, w: dict[str, str]) -> None:
    """With no non-cash fund active on a date, every such fund is (vacuously) valued: the cash valued that day is
    the product's value, and the IRR history follows (migration 0010; before it, such a product had none)."""
    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2023-01-01")["id"]
    cash = add_portfolio_fund(client, w, product, create_fund(client, w, isin=None, is_cash=True)["id"],
                              start_date="2023-01-01")["id"]
    add_activity(client, w, cash, "2023-01-01", "1000.00")
    add_valuation(client, w, cash, "2023-06-30", "1010.00")
    add_valuation(client, w, cash, "2023-12-31", "1020.00")
    assert portfolio_valuations(client, w, product) == [("2023-06-30", "1010.00"), ("2023-12-31", "1020.00")]
    history = get(client, f"/v1/products/{product}/irr-history?method=xirr", w)["items"]
    assert [h["valuation_date"] for h in history] == ["2023-06-30", "2023-12-31"]
    assert all(h["irr"] is not None for h in history)
    # A non-cash fund from 2023-07-01 on: dates before it stay the cash's; 2023-12-31 now needs it valued too.
    equity = add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2023-07-01")["id"]
    assert portfolio_valuations(client, w, product) == [("2023-06-30", "1010.00")]
    assert {h["valuation_date"] for h in get(client, f"/v1/products/{product}/irr-history", w)["items"]} == {
        "2023-06-30"}  # both methods of that date; 2023-12-31's went with its portfolio valuation
    add_valuation(client, w, equity, "2023-12-31", "500.00")
    assert portfolio_valuations(client, w, product) == [("2023-06-30", "1010.00"), ("2023-12-31", "1520.00")]


def test_dates_stay_within_their_fund_and_product(client: Any, w: dict[str, str]) -> None:
    """The API refuses a cash flow before its fund starts and a product start after one of its funds (422, nothing
    written); the database refuses the same written by raw SQL (migration 0010), valuations included."""
    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2023-01-01")
    pf = add_portfolio_fund(client, w, product["id"], create_fund(client, w)["id"], start_date="2023-03-01")["id"]
    mark = audit_watermark()
    refused = send(client, "POST", f"/v1/portfolio-funds/{pf}/activity", headers=w,
                   body={"activity_date": "2023-02-15", "activity_type": "investment", "amount": "10.00"})
    assert errors_of(refused) == ["activity_date"]
    assert errors_of(patch(client, f"/v1/products/{product['id']}", w, {"start_date": "2023-03-02"},
                           product["version"])) == ["start_date"]
    assert audit_events_since(mark) == []
    assert get(client, f"/v1/products/{product['id']}", w)["start_date"] == "2023-01-01"
    later = expect_status(patch(client, f"/v1/products/{product['id']}", w, {"start_date": "2023-03-01"},
                                product["version"]), 200)
    assert later["start_date"] == "2023-03-01"

    add_valuation(client, w, pf, "2023-06-30", "100.00")
    add_activity(client, w, pf, "2023-04-01", "100.00")
    expect_status(patch(client, f"/v1/portfolio-funds/{pf}", w, {"end_date": "2023-12-31"}, 1), 200)
    raw = [
        (("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
         "SELECT firm_id, id, '2023-02-28', 1 FROM portfolio_funds WHERE id = %s"),
         "fund_valuations_within_fund_dates"),
        (("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
         "SELECT firm_id, id, '2024-01-31', 1 FROM portfolio_funds WHERE id = %s"),
         "fund_valuations_within_fund_dates"),
        ("UPDATE fund_valuations SET valuation_date = '2024-01-01' WHERE portfolio_fund_id = %s",
         "fund_valuations_within_fund_dates"),
        (("INSERT INTO holding_activity (firm_id, portfolio_fund_id, activity_date, activity_type, amount) "
         "SELECT firm_id, id, '2023-02-28', 'investment', 1 FROM portfolio_funds WHERE id = %s"),
         "holding_activity_within_fund_dates"),
        ("UPDATE holding_activity SET activity_date = '2024-02-01' WHERE portfolio_fund_id = %s",
         "holding_activity_within_fund_dates"),
        ("UPDATE portfolio_funds SET start_date = '2023-05-01' WHERE id = %s", "portfolio_funds_around_their_rows"),
        ("UPDATE portfolio_funds SET end_date = '2023-05-31' WHERE id = %s", "portfolio_funds_around_their_rows"),
        ("UPDATE portfolio_funds SET start_date = '2023-02-01' WHERE id = %s", "portfolio_funds_within_product_dates"),
        (("INSERT INTO portfolio_funds (firm_id, product_id, fund_id, start_date) SELECT firm_id, product_id, fund_id, "
         "'2022-12-31' FROM portfolio_funds WHERE id = %s"), "portfolio_funds_within_product_dates"),
        (("UPDATE products SET start_date = '2023-03-15' WHERE id = (SELECT product_id FROM portfolio_funds "
         "WHERE id = %s)"), "products_start_before_their_funds"),
    ]
    for query, constraint in raw:
        with pytest.raises(psycopg.errors.CheckViolation) as refusal:
            owner_sql(query, (pf,))
        assert refusal.value.diag.constraint_name == constraint, query
    # Several rows in one statement, one of them outside: nothing is written.
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
                  "SELECT firm_id, id, d, 1 FROM portfolio_funds, "
                  "unnest('{2023-07-31,2023-08-31,2024-01-31}'::date[]) d "
                  "WHERE id = %s", (pf,))
    assert count("fund_valuations", "portfolio_fund_id = %s", (pf,)) == 1
    assert count("holding_activity", "portfolio_fund_id = %s AND activity_date = '2023-04-01'", (pf,)) == 1

    # A cash flow written before these rules (dated before its fund's start: the API allowed it then) can still
    # be corrected in its other columns, and the fund's end can still move; only a new date is checked.
    owner_sql("ALTER TABLE holding_activity DISABLE TRIGGER holding_activity_dates_insert")  # this worker's database
    try:
        legacy = owner_sql("INSERT INTO holding_activity (firm_id, portfolio_fund_id, activity_date, activity_type, "
                           "amount) SELECT firm_id, id, '2023-02-01', 'investment', 5 FROM portfolio_funds "
                           "WHERE id = %s RETURNING id, version", (pf,))[0]
    finally:
        owner_sql("ALTER TABLE holding_activity ENABLE TRIGGER holding_activity_dates_insert")
    owner_sql("UPDATE holding_activity SET amount = 6 WHERE id = %s", (legacy["id"],))
    fixed = expect_status(patch(client, f"/v1/activity/{legacy['id']}", w, {"amount": "7.00"}, legacy["version"]),
                          200)
    assert fixed["amount"] == "7.00"
    expect_status(patch(client, f"/v1/portfolio-funds/{pf}", w, {"end_date": "2024-06-30"}, 2), 200)
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("UPDATE holding_activity SET activity_date = '2023-02-02' WHERE id = %s", (legacy["id"],))

    # The product's end bounds them too: nothing dated after it, and it cannot move before what is there.
    version = get(client, f"/v1/products/{product['id']}", w)["version"]
    assert errors_of(patch(client, f"/v1/products/{product['id']}", w, {"end_date": "2023-05-31"}, version)) == [
        "end_date"]  # the valuation of 2023-06-30
    ended = expect_status(patch(client, f"/v1/products/{product['id']}", w, {"end_date": "2024-03-31"}, version), 200)
    assert ended["end_date"] == "2024-03-31"
    late = send(client, "POST", f"/v1/portfolio-funds/{pf}/valuations", headers=w,
                body={"valuation_date": "2024-04-30", "value": "1.00"})
    assert errors_of(late) == ["valuation_date"] and "product ended" in late.json_body["errors"][0]["message"]
    assert errors_of(send(client, "POST", f"/v1/portfolio-funds/{pf}/activity", headers=w, body={
        "activity_date": "2024-04-30", "activity_type": "withdrawal", "amount": "1.00"})) == ["activity_date"]
    with pytest.raises(psycopg.errors.CheckViolation) as refusal:
        owner_sql("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
                  "SELECT firm_id, id, '2024-04-30', 1 FROM portfolio_funds WHERE id = %s", (pf,))
    assert refusal.value.diag.constraint_name == "fund_valuations_within_fund_dates"
    with pytest.raises(psycopg.errors.CheckViolation) as refusal:
        owner_sql("UPDATE products SET end_date = '2023-05-31' WHERE id = %s", (product["id"],))
    assert refusal.value.diag.constraint_name == "products_end_after_their_rows"


def test_a_fund_cannot_end_before_its_own_valuations_or_cash_flows(client: Any, w: dict[str, str]) -> None:
    """Ending a fund on a date before a valuation or cash flow it already has would leave rows after its end (a
    valuation of an ended fund, counted in the portfolio's value): refused like writing them afterwards."""
    house = create_household(client, w)
    product = create_product(client, w, house)["id"]
    pf = add_portfolio_fund(client, w, product, create_fund(client, w)["id"])["id"]
    add_valuation(client, w, pf, "2023-06-30", "1000.00")
    add_activity(client, w, pf, "2023-07-14", "1000.00", "withdrawal")
    mark = audit_watermark()
    for end in ("2023-03-31", "2023-06-30", "2023-07-13"):
        assert errors_of(patch(client, f"/v1/portfolio-funds/{pf}", w, {"end_date": end}, 1)) == ["end_date"], end
    assert audit_events_since(mark) == []
    assert get(client, f"/v1/portfolio-funds/{pf}/valuations", w)["items"][0]["valuation_date"] == "2023-06-30"
    ended = expect_status(patch(client, f"/v1/portfolio-funds/{pf}", w, {"end_date": "2023-07-14"}, 1), 200)
    assert ended["end_date"] == "2023-07-14"


def test_valuations_and_cash_flows_keep_to_the_fund_and_product_dates(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2020-01-15")["id"]
    pf = add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2020-01-15")["id"]
    late = add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2020-03-01")["id"]
    expect_status(patch(client, f"/v1/portfolio-funds/{pf}", w, {"end_date": "2022-12-31"}, 1), 200)
    values, flows = f"/v1/portfolio-funds/{pf}/valuations", f"/v1/portfolio-funds/{pf}/activity"
    mark = audit_watermark()
    assert errors_of(send(client, "POST", values, headers=w,
                          body={"valuation_date": "2023-01-01", "value": "1.00"})) == ["valuation_date"]
    assert errors_of(send(client, "POST", f"/v1/portfolio-funds/{late}/valuations", headers=w,
                          body={"valuation_date": "2020-02-29", "value": "1.00"})) == ["valuation_date"]
    assert errors_of(send(client, "POST", flows, headers=w, body={
        "activity_date": "2020-01-14", "activity_type": "investment", "amount": "1.00"})) == ["activity_date"]
    assert errors_of(send(client, "POST", flows, headers=w, body={
        "activity_date": "2023-01-01", "activity_type": "withdrawal", "amount": "1.00"})) == ["activity_date"]
    assert audit_events_since(mark) == []
    assert count("fund_valuations", "portfolio_fund_id = %s", (pf,)) == 0
    assert count("holding_activity", "portfolio_fund_id = %s", (pf,)) == 0
    # The bounds themselves are inside.
    add_valuation(client, w, pf, "2022-12-31", "1.00")
    add_valuation(client, w, late, "2020-03-01", "1.00")
    flow = add_activity(client, w, pf, "2020-01-15", "1.00")
    add_activity(client, w, pf, "2022-12-31", "1.00", "withdrawal")
    # Moving a cash flow before the product started is refused too.
    assert errors_of(patch(client, f"/v1/activity/{flow['id']}", w, {"activity_date": "2020-01-14"}, 1)) == [
        "activity_date"]


def test_bulk_valuations_are_all_or_nothing(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_product(client, w, house)["id"]
    a = add_portfolio_fund(client, w, product, create_fund(client, w)["id"])["id"]
    b = add_portfolio_fund(client, w, product, create_fund(client, w)["id"])["id"]
    expect_status(patch(client, f"/v1/portfolio-funds/{b}", w, {"end_date": "2023-02-28"}, 1), 200)
    path = f"/v1/products/{product}/valuations:bulk"
    rows = [{"portfolio_fund_id": a, "valuation_date": "2023-01-31", "value": "100.00"},
            {"portfolio_fund_id": b, "valuation_date": "2023-01-31", "value": "200.00"},
            {"portfolio_fund_id": a, "valuation_date": "2023-03-31", "value": "110.00"},
            {"portfolio_fund_id": b, "valuation_date": "2023-03-31", "value": "210.00"},  # b ended 2023-02-28
            {"portfolio_fund_id": b, "valuation_date": "2023-02-28", "value": "205.00"}]
    other_product = create_product(client, w, house)["id"]
    foreign_pf = add_portfolio_fund(client, w, other_product, create_fund(client, w)["id"])["id"]
    mark = audit_watermark()
    assert errors_of(send(client, "POST", path, headers=w, body={"valuations": rows})) == [
        "valuations.3.valuation_date"]
    assert errors_of(send(client, "POST", path, headers=w, body={
        "valuations": [*rows[:3], {**rows[0], "portfolio_fund_id": foreign_pf}]})) == ["valuations.3.portfolio_fund_id"]
    assert errors_of(send(client, "POST", path, headers=w, body={
        "valuations": [*rows[:2], {**rows[0], "value": "-1.00"}]})) == ["valuations.2.value"]
    assert errors_of(send(client, "POST", path, headers=w, body={"valuations": [*rows[:3], rows[1]]})) == [
        "valuations.3"]
    assert audit_events_since(mark) == []
    assert count("fund_valuations", "portfolio_fund_id IN (%s, %s)", (a, b)) == 0
    assert count("irr_values", "scope_id IN (%s, %s, %s)", (a, b, product)) == 0
    assert count("portfolio_valuations", "product_id = %s", (product,)) == 0

    good = rows[:3] + rows[4:]
    assert expect_status(send(client, "POST", path, headers=w, body={"valuations": good}), 201) == {"written": 4}
    [event] = audit_events_since(mark)
    assert (event["action"], event["resource_id"], event["after"]) == (
        "product.bulk_valuations", product, {"written": 4, "from": "2023-01-31", "to": "2023-03-31"})
    # 2023-02-28: a is unvalued; 2023-03-31: b has ended, a alone counts.
    assert portfolio_valuations(client, w, product) == [("2023-01-31", "300.00"), ("2023-03-31", "110.00")]


def test_bulk_activity_is_all_or_nothing(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2021-01-04")["id"]
    pf = add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2021-01-04")["id"]
    add_valuation(client, w, pf, "2021-12-31", "10500.00")
    history = owner_sql("SELECT * FROM irr_values WHERE scope_id IN (%s, %s) ORDER BY scope, method", (product, pf))
    assert len(history) == 2 and all(r["irr"] is None and r["reason"] for r in history)  # no money in yet
    path = f"/v1/products/{product}/activity:bulk"
    rows = [{"portfolio_fund_id": pf, "activity_date": "2021-01-04", "activity_type": "investment",
             "amount": "10000.00"},
            {"portfolio_fund_id": pf, "activity_date": "2021-06-01", "activity_type": "regular_investment",
             "amount": "100.00"},
            {"portfolio_fund_id": pf, "activity_date": "2021-01-03", "activity_type": "investment",
             "amount": "100.00"}]
    mark = audit_watermark()
    assert errors_of(send(client, "POST", path, headers=w, body={"activities": rows})) == [
        "activities.2.activity_date"]
    assert errors_of(send(client, "POST", path, headers=w, body={
        "activities": [*rows[:1], {**rows[1], "amount": "0.00"}]})) == ["activities.1.amount"]
    assert audit_events_since(mark) == []
    assert count("holding_activity", "portfolio_fund_id = %s", (pf,)) == 0
    assert owner_sql("SELECT * FROM irr_values WHERE scope_id IN (%s, %s) ORDER BY scope, method",
                     (product, pf)) == history
    assert expect_status(send(client, "POST", path, headers=w, body={"activities": rows[:2]}), 201) == {"written": 2}
    [event] = audit_events_since(mark)
    assert (event["action"], event["after"]) == ("product.bulk_activity", {"written": 2, "from": "2021-01-04"})
    assert count("holding_activity", "portfolio_fund_id = %s", (pf,)) == 2


# --- revenue --------------------------------------------------------------------------------------------------------

def test_revenue_by_the_rules_formula(client: Any, w: dict[str, str]) -> None:
    """fixed direct 100.00 + fixed facilitated 50.00 + 250,000.00 x 0.75 / 100 = 100 + 50 + 1,875 = 2,025.00"""
    house = create_household(client, w)
    product = create_product(client, w, house, fixed_fee_direct="100.00", fixed_fee_facilitated="50.00",
                             percentage_fee_facilitated="0.75")["id"]
    a = add_portfolio_fund(client, w, product, create_fund(client, w)["id"])["id"]
    b = add_portfolio_fund(client, w, product, create_fund(client, w)["id"])["id"]
    revenue = f"/v1/products/{product}/revenue"
    assert get(client, revenue, w) == {
        "product_id": product, "fixed_fee_direct": "100.00", "fixed_fee_facilitated": "50.00",
        "percentage_fee_facilitated": "0.7500", "latest_valuation": None, "valuation_date": None,
        "revenue": "150.00"}
    add_valuation(client, w, a, "2024-03-28", "150000.00")
    add_valuation(client, w, b, "2024-03-28", "100000.00")
    figures = get(client, revenue, w)
    assert (figures["latest_valuation"], figures["valuation_date"], figures["revenue"]) == (
        "250000.00", "2024-03-28", "2025.00")
    # An incomplete later date is not a portfolio valuation: the latest complete one still counts.
    add_valuation(client, w, a, "2024-04-30", "1.00")
    assert get(client, revenue, w)["revenue"] == "2025.00"
    # The household's revenue is its active products' revenues summed: + 10.00 + 5.00 of an unvalued product;
    # a lapsed product's fees no longer count.
    create_product(client, w, house, fixed_fee_direct="10.00", fixed_fee_facilitated="5.00",
                   percentage_fee_facilitated="1")
    lapsed = create_product(client, w, house, fixed_fee_direct="999.00")["id"]
    expect_status(send(client, "POST", f"/v1/products/{lapsed}/lapse", headers=w), 200)
    household = get(client, f"/v1/client-groups/{house.group_id}/revenue", w)
    assert (household["revenue"], household["products"]) == ("2040.00", 2)
    # Half a penny rounds half up (not to even): 150 + 1,006.00 x 0.75 / 100 = 157.545 -> 157.55.
    add_valuation(client, w, b, "2024-04-30", "1005.00")
    assert get(client, revenue, w)["revenue"] == "157.55"


# --- IRR ------------------------------------------------------------------------------------------------------------

def kingston_closed_form(invested: Decimal, value: Decimal, months: int) -> Decimal:
    """One investment and one valuation counted `months` months later (a valuation counts in the month after its
    date's month): the monthly IRR is (value/invested)^(1/m) - 1, annualised x 12."""
    return Decimal(str(((float(value) / float(invested)) ** (1 / months) - 1) * 12))


def xirr_closed_form(invested: Decimal, value: Decimal, days: int) -> Decimal:
    return Decimal(str((float(value) / float(invested)) ** (365 / days) - 1))


def irr(client: Any, path: str, auth: dict[str, str], **query: str) -> dict[str, Any]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return get(client, f"{path}/irr" + (f"?{qs}" if qs else ""), auth)


def test_irr_endpoints_hand_worked(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2021-01-01")["id"]
    pf = add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2021-01-01")["id"]
    fund_path, product_path = f"/v1/portfolio-funds/{pf}", f"/v1/products/{product}"

    for path in (fund_path, product_path):
        none = irr(client, path, w)
        assert (none["irr"], none["method"]) == (None, "kingston_monthly") and "valuation" in none["reason"]
    add_valuation(client, w, pf, "2021-01-15", "10000.00")
    no_money_in = irr(client, product_path, w, method="xirr")
    assert no_money_in["irr"] is None and no_money_in["reason"] and no_money_in["method"] == "xirr"

    add_activity(client, w, pf, "2021-01-15", "10000.00")
    add_activity(client, w, pf, "2021-06-01", "25.00", "fee")  # inside the portfolio: not an investor flow
    add_valuation(client, w, pf, "2022-01-15", "11000.00")
    for path in (fund_path, product_path):
        x = irr(client, path, w, method="xirr", include="flows")
        assert (x["method"], x["from"], x["to"], x["reason"]) == ("xirr", "2021-01-15", "2022-01-15", None)
        assert abs(Decimal(x["irr"]) - Decimal("0.1")) < Decimal("1e-9")  # 11,000 / 10,000 over 365 days
        assert x["flows"] == [{"date": "2021-01-15", "amount": "-10000.00"},
                              {"date": "2022-01-15", "amount": "11000.00"}]
        k = irr(client, path, w)
        assert (k["method"], k["from"], k["to"], k["reason"]) == ("kingston_monthly", "2021-01-15", "2022-01-15",
                                                                   None)
        # Invested 15 Jan 2021; the valuation of 15 Jan 2022 counts in February 2022: 13 months later.
        assert abs(Decimal(k["irr"]) - kingston_closed_form(Decimal(10000), Decimal(11000), 13)) < Decimal("1e-9")
        assert k.get("flows") is None
    # A period: from the valuation of 2021-01-15 (10,000.00, bought at that price) to 2022-01-15.
    period = irr(client, product_path, w, method="xirr", **{"from": "2021-01-15", "to": "2022-01-15"})
    assert (period["from"], period["to"]) == ("2021-01-15", "2022-01-15")
    assert abs(Decimal(period["irr"]) - Decimal("0.1")) < Decimal("1e-9")
    # To a day before any valuation: no figure, and why.
    early = irr(client, product_path, w, to="2021-01-14")
    assert early["irr"] is None and "2021-01-14" in early["reason"]
    assert_problem(send(client, "GET", f"{product_path}/irr?method=simple", headers=w), 422)


def test_pooled_group_irr_is_the_irr_of_the_pooled_flows_not_an_average(client: Any, w: dict[str, str]) -> None:
    """Product 1 doubles 1,000.00 in a year (XIRR 100%); product 2 keeps 100,000.00 flat (0%). The average of
    the two is 50%; the household made 1,000.00 on 101,000.00: 102,000 / 101,000 - 1 = 0.990099...%."""
    from chalicelib.products.performance import irr as irr_module
    from tests.unit.irr_cases import xirr_root

    house = create_household(client, w)
    group_path = f"/v1/client-groups/{house.group_id}"
    made = []
    for invested, value in (("1000.00", "2000.00"), ("100000.00", "100000.00")):
        product = create_product(client, w, house, start_date="2021-01-01")["id"]
        pf = add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2021-01-01")["id"]
        add_activity(client, w, pf, "2021-01-15", invested)
        add_valuation(client, w, pf, "2022-01-15", value)
        made.append(product)
    rates = [Decimal(irr(client, f"/v1/products/{p}", w, method="xirr")["irr"]) for p in made]
    assert abs(rates[0] - 1) < Decimal("1e-9") and abs(rates[1]) < Decimal("1e-9")
    pooled = irr(client, group_path, w, method="xirr", include="flows")
    expected = xirr_closed_form(Decimal(101000), Decimal(102000), 365)
    assert abs(Decimal(pooled["irr"]) - expected) < Decimal("1e-9")
    assert abs(Decimal(pooled["irr"]) - sum(rates) / 2) > Decimal("0.49")
    # The flows used are the pooled flows netted per date (both products' investments fell on the same day).
    assert sorted((f["date"], Decimal(f["amount"])) for f in pooled["flows"]) == [
        ("2021-01-15", Decimal("-101000.00")), ("2022-01-15", Decimal("102000.00"))]
    flows = [irr_module.Flow(date.fromisoformat(d), Decimal(a)) for d, a in
             (("2021-01-15", "-1000.00"), ("2021-01-15", "-100000.00"))]
    assert irr_module.xirr(flows, date(2022, 1, 15), Decimal("102000.00")).irr == Decimal(pooled["irr"])
    kingston = irr(client, group_path, w)
    assert abs(Decimal(kingston["irr"]) - kingston_closed_form(Decimal(101000), Decimal(102000), 13)) < Decimal("1e-9")
    # A lapsed product stays in the group's flows over the dates it was valued: emptied by a withdrawal of
    # 100,000.00 and valued 0 on 2022-02-15, then lapsed, it still counts. (A lapse at a loss is the household's.)
    pf2 = get(client, f"/v1/products/{made[1]}/funds", w)["items"][0]["id"]
    add_activity(client, w, pf2, "2022-02-15", "100000.00", "withdrawal")
    add_valuation(client, w, pf2, "2022-02-15", "0.00")
    expect_status(send(client, "POST", f"/v1/products/{made[1]}/lapse", headers=w), 200)
    after = irr(client, group_path, w, method="xirr")
    root = xirr_root([(date(2021, 1, 15), -101000.0), (date(2022, 1, 15), 2000.0), (date(2022, 2, 15), 100000.0)])
    assert after["to"] == "2022-02-15" and abs(Decimal(after["irr"]) - Decimal(repr(root))) < Decimal("1e-9")


def test_group_irr_pools_each_product_over_its_own_period(client: Any, w: dict[str, str]) -> None:
    """Products valued on different dates: each product takes part from its start (its latest valuation on or
    before `from`, as money in that day, or `from` itself when it was bought inside the period) to its end (its
    latest valuation on or before `to`); a product that ends before the others brings its value as money out on
    that date, so no stale value is carried forward and none of its later flows counts without a value after it.
    A product not valued by `to` takes no part. Each figure is checked against a scipy root of the NPV of flows this
    test lists by hand."""
    import numpy_financial as npf

    from tests.unit.irr_cases import xirr_root

    house = create_household(client, w)
    group_path = f"/v1/client-groups/{house.group_id}"
    assert irr(client, group_path, w)["reason"] == "no valuation yet"
    pfs, names = [], []
    for _ in range(3):
        made = create_product(client, w, house, start_date="2020-01-01")
        product = made["id"]
        names.append(made["name"])
        pfs.append(add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2020-01-01")["id"])
    assert irr(client, group_path, w)["reason"] == "no valuation yet"  # products, but nothing valued
    add_activity(client, w, pfs[0], "2020-01-10", "1000.00")
    add_activity(client, w, pfs[1], "2020-03-05", "500.00")
    add_activity(client, w, pfs[1], "2020-09-01", "100.00", "withdrawal")
    add_activity(client, w, pfs[2], "2021-02-01", "700.00")  # valued only after everything else
    for pf, day, value in ((pfs[0], "2020-06-30", "1040.00"), (pfs[0], "2020-12-31", "1100.00"),
                           (pfs[1], "2020-07-31", "520.00"), (pfs[1], "2021-01-31", "450.00"),
                           (pfs[2], "2021-03-31", "710.00")):
        add_valuation(client, w, pf, day, value)

    def check(figure: dict[str, Any], flows: list[tuple[str, int]], **query: str) -> None:
        """`flows`: every flow the figure (XIRR) must rest on, the end value last. The Kingston figure of the same
        request is checked too: numpy-financial's rate of the month sums, x 12. In this test every valuation (start
        values, early ends, the end value) is dated at a month end and no cash flow is, so a month-end entry is a
        valuation and counts in the next month; a cash flow counts in its own."""
        root = xirr_root([(date.fromisoformat(d), float(a)) for d, a in flows])
        assert root is not None and abs(Decimal(figure["irr"]) - Decimal(repr(root))) < Decimal("1e-9")
        assert (figure["from"], figure["to"]) == (flows[0][0], flows[-1][0])
        days = [date.fromisoformat(d) for d, _ in flows]
        months = [d.year * 12 + d.month + ((d + timedelta(days=1)).day == 1) for d in days]
        series = [Decimal(0)] * (months[-1] - min(months) + 1)
        for m, (_, amount) in zip(months, flows, strict=False):
            series[m - min(months)] += amount
        kingston = irr(client, group_path, w, **query)
        assert abs(Decimal(kingston["irr"]) - 12 * Decimal(repr(float(npf.irr([float(x) for x in series]))))) \
            < Decimal("1e-9")

    # Whole life: product 1 ends on 2020-12-31 (1,100 out that day), product 2 on 2021-01-31 (450), product 3 is
    # the end value on 2021-03-31.
    whole = [("2020-01-10", -1000), ("2020-03-05", -500), ("2020-09-01", 100), ("2020-12-31", 1100),
             ("2021-01-31", 450), ("2021-02-01", -700), ("2021-03-31", 710)]
    check(irr(client, group_path, w, method="xirr"), whole)
    # `from` before anything happened: the same (every product was bought inside the period).
    check(irr(client, group_path, w, method="xirr", **{"from": "2019-06-01"}), whole, **{"from": "2019-06-01"})
    # To 2021-01-15: product 2 was last valued on 2020-07-31, so its withdrawal of 2020-09-01 has no value after it
    # and does not count; product 3 was not valued by then.
    check(irr(client, group_path, w, method="xirr", to="2021-01-15"),
          [("2020-01-10", -1000), ("2020-03-05", -500), ("2020-07-31", 520), ("2020-12-31", 1100)], to="2021-01-15")
    # From 2020-08-15 to 2021-01-31: products 1 and 2 start from their valuations of 2020-06-30 and 2020-07-31.
    period = irr(client, group_path, w, method="xirr", include="flows", **{"from": "2020-08-15", "to": "2021-01-31"})
    check(period, [("2020-06-30", -1040), ("2020-07-31", -520), ("2020-09-01", 100), ("2020-12-31", 1100),
                   ("2021-01-31", 450)], **{"from": "2020-08-15", "to": "2021-01-31"})
    assert [(f["date"], f["amount"]) for f in period["flows"]] == [
        ("2020-06-30", "-1040.00"), ("2020-07-31", "-520.00"), ("2020-09-01", "100.00"), ("2020-12-31", "1100.00"),
        ("2021-01-31", "450.00")]
    # From 2021-01-31: products 1 and 2 have no valuation after it; product 3, bought later, is the period.
    check(irr(client, group_path, w, method="xirr", **{"from": "2021-01-31"}),
          [("2021-02-01", -700), ("2021-03-31", 710)], **{"from": "2021-01-31"})
    assert irr(client, group_path, w, to="2020-06-29")["reason"] == "no valuation on or before 2020-06-29"
    # From a date with cash flows before it but no valuation: the value at the start is unknown.
    unknown = irr(client, group_path, w, **{"from": "2020-06-29"})
    assert unknown["irr"] is None and unknown["reason"] == (f"no valuation on or before 2020-06-29 to start from "
                                                            f"({names[0]}, {names[1]}), and cash flows before it")
    assert irr(client, group_path, w, **{"from": "2021-03-31"})["reason"] == "the period is empty"
    # The product and fund scopes take the same path.
    group_path = f"/v1/products/{product}"  # product 3
    check(irr(client, group_path, w, method="xirr", **{"from": "2021-01-01"}),
          [("2021-02-01", -700), ("2021-03-31", 710)], **{"from": "2021-01-01"})
    group_path = f"/v1/portfolio-funds/{pfs[1]}"
    check(irr(client, group_path, w, method="xirr", **{"from": "2020-08-01"}),
          [("2020-07-31", -520), ("2020-09-01", 100), ("2021-01-31", 450)], **{"from": "2020-08-01"})
    # A fourth product valued with no money in recorded (a transfer in, say) would be pure gain for the household:
    # no figure, and which product.
    made = create_product(client, w, house, start_date="2020-01-01")
    transferred = add_portfolio_fund(client, w, made["id"], create_fund(client, w)["id"], start_date="2020-01-01")
    add_valuation(client, w, transferred["id"], "2021-03-31", "5000.00")
    unfunded = irr(client, f"/v1/client-groups/{house.group_id}", w)
    assert unfunded["irr"] is None and unfunded["reason"] == (f"no money in for {made['name']}: a value with no "
                                                              f"investment recorded before it")
    assert irr(client, f"/v1/products/{made['id']}", w)["reason"].startswith("no money in")


# --- the stored IRR history -----------------------------------------------------------------------------------------

HISTORY_FLOWS = [("2021-01-15", "investment", "10000.00"), ("2021-04-01", "regular_investment", "200.00"),
                 ("2021-05-01", "fee", "50.00"), ("2021-07-01", "regular_investment", "200.00"),
                 ("2021-08-16", "withdrawal", "1000.00"), ("2021-10-01", "regular_investment", "200.00"),
                 ("2021-11-20", "dividend", "80.00")]
HISTORY_VALUES = [("2021-03-31", "10100.00"), ("2021-06-30", "10600.00"), ("2021-09-30", "10150.00"),
                  ("2021-12-31", "10900.00"), ("2022-03-31", "11200.00")]


@pytest.fixture
def history(client: Any, firm: Firm, w: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A product with one fund, the flows and valuations above, written in bulk."""
    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2021-01-01")["id"]
    pf = add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2021-01-01")["id"]
    expect_status(send(client, "POST", f"/v1/products/{product}/activity:bulk", headers=w, body={"activities": [
        {"portfolio_fund_id": pf, "activity_date": d, "activity_type": t, "amount": a} for d, t, a in HISTORY_FLOWS]}),
        201)
    expect_status(send(client, "POST", f"/v1/products/{product}/valuations:bulk", headers=w, body={"valuations": [
        {"portfolio_fund_id": pf, "valuation_date": d, "value": v} for d, v in HISTORY_VALUES]}), 201)
    yield {"firm": firm, "product": product, "pf": pf}


def stored(product: str, pf: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(scope, valuation date, method) -> the stored row with its row version (xmin) and computed_at: the product's
    and any of its fund's (fund IRRs are computed on request, so there are none of those)."""
    rows = owner_sql("SELECT scope, valuation_date::text AS d, method, irr, reason, computed_at, xmin::text AS xmin "
                     "FROM irr_values WHERE (scope = 'product' AND scope_id = %s) "
                     "OR (scope = 'portfolio_fund' AND scope_id = %s)", (product, pf))
    return {(r["scope"], r["d"], r["method"]): r for r in rows}


def figures(rows: dict[tuple[str, str, str], dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
    return {k: (r["irr"], r["reason"]) for k, r in rows.items()}


def full_recompute(firm: Firm, product: str, pf: str) -> dict[tuple[str, str, str], Any]:
    """The service's recompute from the beginning of time, in a transaction that is rolled back."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.products.performance import service

    class RolledBack(Exception):
        pass

    found: dict[tuple[str, str, str], Any] = {}
    try:
        with db.transaction(RequestContext.system(firm.id)) as tx:
            service.recompute_irr_history(tx, UUID(product), date.min)
            for r in tx.all("SELECT scope, valuation_date::text AS d, method, irr, reason FROM irr_values "
                            "WHERE (scope = 'product' AND scope_id = %s) OR (scope = 'portfolio_fund' "
                            "AND scope_id = %s)", (product, pf)):
                found[(r["scope"], r["d"], r["method"])] = (r["irr"], r["reason"])
            raise RolledBack
    except RolledBack:
        pass
    return found


def direct(product: str, pf: str) -> dict[tuple[str, str, str], Any]:
    """The IRR functions run here on the flows this test selects and signs from the owner's view of the rows:
    for each portfolio valuation, every investor flow on or before it and the value as the end."""
    from chalicelib.products.performance import irr as irr_module

    flows = [irr_module.Flow(r["activity_date"], -r["amount"] if r["activity_type"] in MONEY_IN else r["amount"])
             for r in owner_sql("SELECT activity_date, activity_type, amount FROM holding_activity "
                                "WHERE portfolio_fund_id = %s ORDER BY activity_date", (pf,))
             if r["activity_type"] in MONEY_IN | MONEY_OUT]
    out = {}
    for v in owner_sql("SELECT valuation_date, value FROM portfolio_valuations WHERE product_id = %s", (product,)):
        day = v["valuation_date"]
        for method, fn in (("kingston_monthly", irr_module.kingston_monthly), ("xirr", irr_module.xirr)):
            r = fn([f for f in flows if f.date <= day], day, v["value"])
            out[("product", day.isoformat(), method)] = (r.irr, r.reason)
    return out


def assert_rewritten_only_from(before: dict[tuple[str, str, str], dict[str, Any]],
                               after: dict[tuple[str, str, str], dict[str, Any]], first: str) -> None:
    """Rows dated before `first` are the very same rows (same xmin and computed_at); the rest are new."""
    for key, row in after.items():
        if key[1] < first:
            assert (row["xmin"], row["computed_at"]) == (before[key]["xmin"], before[key]["computed_at"]), key
        else:
            assert row["xmin"] != before[key]["xmin"] and row["computed_at"] > before[key]["computed_at"], key


def test_the_stored_history_has_each_valuation_date_and_equals_a_full_recompute(client: Any,
                                                                               history: dict[str, Any]) -> None:
    product, pf = history["product"], history["pf"]
    rows = stored(product, pf)
    assert set(rows) == {("product", d, m) for d, _ in HISTORY_VALUES for m in ("kingston_monthly", "xirr")}
    assert all(r["irr"] is not None for r in rows.values())
    assert figures(rows) == full_recompute(history["firm"], product, pf) == direct(product, pf)
    shown = get(client, f"/v1/products/{product}/irr-history", history["firm"].auth("viewer"))["items"]
    assert [(i["valuation_date"], i["method"], Decimal(i["irr"]), i["reason"]) for i in shown] == sorted(
        (k[1], k[2], r["irr"], r["reason"]) for k, r in rows.items() if k[0] == "product")
    only_xirr = get(client, f"/v1/products/{product}/irr-history?method=xirr", history["firm"].auth("viewer"))
    assert {i["method"] for i in only_xirr["items"]} == {"xirr"} and len(only_xirr["items"]) == len(HISTORY_VALUES)
    # The live figure at the latest valuation is the stored one.
    live = irr(client, f"/v1/products/{product}", history["firm"].auth("viewer"), method="xirr")
    assert Decimal(live["irr"]) == rows[("product", "2022-03-31", "xirr")]["irr"]


def test_editing_a_cash_flow_rewrites_only_the_dates_on_and_after_it(client: Any, history: dict[str, Any],
                                                                    w: dict[str, str]) -> None:
    product, pf = history["product"], history["pf"]
    withdrawal = owner_sql("SELECT id FROM holding_activity WHERE portfolio_fund_id = %s AND activity_date = "
                           "'2021-08-16'", (pf,))[0]["id"]
    before = stored(product, pf)
    expect_status(patch(client, f"/v1/activity/{withdrawal}", w, {"amount": "1500.00"}, 1), 200)
    after = stored(product, pf)
    assert set(after) == set(before)
    assert_rewritten_only_from(before, after, "2021-08-16")
    assert all(after[k]["irr"] != before[k]["irr"] for k in after if k[1] >= "2021-08-16")  # the figures moved
    assert figures(after) == full_recompute(history["firm"], product, pf) == direct(product, pf)

    # Moving it earlier rewrites from the earlier of its two dates.
    before = after
    expect_status(patch(client, f"/v1/activity/{withdrawal}", w, {"activity_date": "2021-05-20"}, 2), 200)
    after = stored(product, pf)
    assert_rewritten_only_from(before, after, "2021-05-20")
    assert figures(after) == full_recompute(history["firm"], product, pf) == direct(product, pf)

    # A new cash flow, and a deleted one, likewise.
    before = after
    new = add_activity(client, w, pf, "2021-11-01", "300.00", "tax_uplift")
    after = stored(product, pf)
    assert_rewritten_only_from(before, after, "2021-11-01")
    before = after
    expect_status(send(client, "DELETE", f"/v1/activity/{new['id']}", headers=w), 204)
    after = stored(product, pf)
    assert_rewritten_only_from(before, after, "2021-11-01")
    assert figures(after) == full_recompute(history["firm"], product, pf) == direct(product, pf)


def test_deleting_a_valuation_removes_that_dates_irrs(client: Any, history: dict[str, Any],
                                                      w: dict[str, str]) -> None:
    product, pf = history["product"], history["pf"]
    valuation = owner_sql("SELECT id FROM fund_valuations WHERE portfolio_fund_id = %s AND valuation_date = "
                          "'2021-09-30'", (pf,))[0]["id"]
    before = stored(product, pf)
    expect_status(send(client, "DELETE", f"/v1/fund-valuations/{valuation}", headers=w), 204)
    after = stored(product, pf)
    assert set(after) == {k for k in before if k[1] != "2021-09-30"}
    assert count("portfolio_valuations", "product_id = %s AND valuation_date = '2021-09-30'", (product,)) == 0
    assert_rewritten_only_from(before, after, "2021-09-30")
    assert figures(after) == {k: v for k, v in figures(before).items() if k[1] != "2021-09-30"}
    assert figures(after) == full_recompute(history["firm"], product, pf) == direct(product, pf)
    dates = {i["valuation_date"] for i in get(client, f"/v1/products/{product}/irr-history", w)["items"]}
    assert dates == {d for d, _ in HISTORY_VALUES} - {"2021-09-30"}


def test_the_irr_history_job_repairs_a_history_out_of_step(client: Any, history: dict[str, Any]) -> None:
    """Rows missing (both methods of one date, one method of another) and a stray row for a date without a
    valuation: the job irr-history finds the product and rewrites it from the earliest such date, back to the
    figures of a full recompute; dates before it are not touched; a second run finds nothing to do for it."""
    from chalicelib.ops.jobs import run_job
    from chalicelib.products.performance import store

    product, pf = history["product"], history["pf"]
    before = stored(product, pf)
    owner_sql("DELETE FROM irr_values WHERE scope = 'product' AND scope_id = %s AND (valuation_date = '2021-09-30' "
              "OR (valuation_date = '2022-03-31' AND method = 'xirr'))", (product,))
    owner_sql("INSERT INTO irr_values (firm_id, scope, scope_id, valuation_date, method, irr) "
              "SELECT firm_id, 'product', id, '2022-01-15', 'xirr', 0.5 FROM products WHERE id = %s", (product,))

    def gap_of_product() -> list[Any]:
        from chalicelib.core import db

        with db.owner_connection() as conn:
            return [r["from_date"].isoformat() for r in store.irr_history_gaps(conn)
                    if str(r["product_id"]) == product]

    assert gap_of_product() == ["2021-09-30"]
    result = run_job("irr-history", trigger="manual")
    assert result.status == "succeeded" and result.figures["products"] >= 1 and result.figures["rows_written"] >= 6
    after = stored(product, pf)
    assert figures(after) == figures(before) == full_recompute(history["firm"], product, pf)
    assert_rewritten_only_from(before, after, "2021-09-30")
    assert gap_of_product() == []
    again = stored(product, pf)
    run_job("irr-history", trigger="manual")
    assert {k: r["xmin"] for k, r in stored(product, pf).items()} == {k: r["xmin"] for k, r in again.items()}


def test_the_kingston_rewrite_leaves_xirr_and_the_job_restores_every_kingston_row(client: Any,
                                                                                 history: dict[str, Any]) -> None:
    """Migration 0014 removes every stored Kingston figure (made under the earlier month rule); the job
    irr-history then finds each product from its first valuation date and writes them under the current rule:
    the same figures as before the deletion and as the IRR functions give (XIRR figures are unchanged)."""
    from pathlib import Path

    from chalicelib.ops.jobs import run_job

    product, pf = history["product"], history["pf"]
    before = stored(product, pf)
    migration = Path(__file__).resolve().parents[2] / "migrations" / "0014_kingston_valuation_month.sql"
    owner_sql("\n".join(line for line in migration.read_text().splitlines() if not line.startswith("--")))
    removed = stored(product, pf)
    assert set(removed) == {k for k in before if k[2] == "xirr"}
    result = run_job("irr-history", trigger="manual")
    assert result.status == "succeeded" and result.figures["rows_written"] >= 2 * len(HISTORY_VALUES)
    after = stored(product, pf)
    assert figures(after) == figures(before) == direct(product, pf)
    assert all(after[k]["xmin"] != removed[k]["xmin"] for k in removed)  # rewritten from the first date, both


# --- product_flows: the per-product, per-date netted investor flows the IRRs read (migration 0008) ----------------

NETTED_FROM_ACTIVITY = """
    SELECT pf.product_id, a.activity_date AS flow_date, sum(a.amount * activity_sign(a.activity_type)) AS amount,
           count(*) AS activities
    FROM holding_activity a JOIN portfolio_funds pf ON pf.id = a.portfolio_fund_id
    WHERE pf.product_id = ANY(%s::uuid[]) AND activity_sign(a.activity_type) <> 0
    GROUP BY 1, 2 ORDER BY 1, 2"""


def assert_product_flows_match(products: list[str]) -> None:
    """The triggers' table equals the GROUP BY it stands for, row for row (dates netting to 0 included)."""
    expected = [tuple(r.values()) for r in owner_sql(NETTED_FROM_ACTIVITY, (products,))]
    found = [tuple(r.values()) for r in owner_sql(
        "SELECT product_id, flow_date, amount, activities FROM product_flows WHERE product_id = ANY(%s::uuid[]) "
        "ORDER BY 1, 2", (products,))]
    assert found == expected


def test_product_flows_follow_every_kind_of_activity_write(client: Any, w: dict[str, str]) -> None:
    """Single writes, edits that change the date, the type (in and out of the investor flows) and the amount,
    deletes, all-or-nothing bulk writes (a refused one changes nothing) and raw SQL: after each step the netted
    table equals the GROUP BY over holding_activity."""
    rng = random.Random(8)
    house = create_household(client, w)
    products, pfs = [], []
    for _ in range(2):
        product = create_product(client, w, house, start_date="2020-01-01")["id"]
        products.append(product)
        for _ in range(2):
            pfs.append((product, add_portfolio_fund(client, w, product, create_fund(client, w)["id"],
                                                    start_date="2020-01-01")["id"]))
    types = sorted(MONEY_IN | MONEY_OUT | {"fee", "dividend"})
    days = [f"2020-0{m}-{d:02d}" for m in range(1, 4) for d in (1, 15)]  # few dates: they collide and net
    made: list[dict[str, Any]] = []
    for step in range(60):
        action = rng.choice(["add", "add", "patch", "delete"] if made else ["add"])
        if action == "add":
            made.append(add_activity(client, w, rng.choice(pfs)[1], rng.choice(days),
                                     f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}", rng.choice(types)))
        elif action == "patch":
            a = made.pop(rng.randrange(len(made)))
            change = rng.choice([{"activity_date": rng.choice(days)}, {"activity_type": rng.choice(types)},
                                 {"amount": f"{rng.randint(1, 900)}.00"},
                                 {"activity_type": "switch_out", "amount": "12.34"}])
            made.append(expect_status(patch(client, f"/v1/activity/{a['id']}", w, change, a["version"]), 200))
        else:
            a = made.pop(rng.randrange(len(made)))
            expect_status(send(client, "DELETE", f"/v1/activity/{a['id']}", headers=w), 204)
        if step % 10 == 9:
            assert_product_flows_match(products)
    product, pf = pfs[0]
    bulk = [{"portfolio_fund_id": f, "activity_date": d, "activity_type": t, "amount": "10.00"}
            for (p, f) in pfs if p == product for d in days[:3] for t in ("investment", "switch_out", "fee")]
    expect_status(send(client, "POST", f"/v1/products/{product}/activity:bulk", headers=w,
                       body={"activities": bulk}), 201)
    assert_product_flows_match(products)
    before = owner_sql("SELECT * FROM product_flows WHERE product_id = %s ORDER BY flow_date", (product,))
    refused = [*bulk[:2], {**bulk[0], "activity_date": "2019-06-01"}]  # before the product started
    assert_problem(send(client, "POST", f"/v1/products/{product}/activity:bulk", headers=w,
                        body={"activities": refused}), 422)
    assert owner_sql("SELECT * FROM product_flows WHERE product_id = %s ORDER BY flow_date", (product,)) == before
    # Raw SQL (the owner, as a migration or a fix by hand would): one statement over many rows.
    owner_sql("UPDATE holding_activity SET amount = amount + 1 WHERE portfolio_fund_id = %s", (pf,))
    owner_sql("DELETE FROM holding_activity WHERE portfolio_fund_id = %s AND activity_type = 'switch_out'", (pf,))
    assert_product_flows_match(products)


def test_a_portfolio_fund_cannot_move_to_another_product(client: Any, w: dict[str, str]) -> None:
    """The netted flows belong to the fund's product, so the database refuses to move a fund between products."""
    house = create_household(client, w)
    first, second = (create_product(client, w, house, start_date="2020-01-01")["id"] for _ in range(2))
    pf = add_portfolio_fund(client, w, first, create_fund(client, w)["id"], start_date="2020-01-01")["id"]
    add_activity(client, w, pf, "2020-02-01", "100.00")
    with pytest.raises(psycopg.errors.CheckViolation, match="cannot move to another product"):
        owner_sql("UPDATE portfolio_funds SET product_id = %s WHERE id = %s", (second, pf))
    assert_product_flows_match([first, second])


def test_dates_outside_1900_to_2099_are_refused_at_the_edge(client: Any, w: dict[str, str]) -> None:
    """A year-9999 valuation would overflow the IRR's month arithmetic: it is a 422, and nothing is written."""
    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2021-01-01")["id"]
    pf = add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2021-01-01")["id"]
    for path, body in ((f"/v1/portfolio-funds/{pf}/valuations", {"valuation_date": "9999-12-31", "value": "1.00"}),
                       (f"/v1/portfolio-funds/{pf}/activity", {"activity_date": "2100-01-01",
                                                              "activity_type": "investment", "amount": "1.00"})):
        assert_problem(send(client, "POST", path, headers=w, body=body), 422)
    assert count("fund_valuations", "portfolio_fund_id = %s", (pf,)) == 0
    assert_problem(send(client, "POST", f"/v1/client-groups/{house.group_id}/products", headers=w,
                        body={"name": "Old", "product_type": "stocks_and_shares_isa", "start_date": "1899-12-31",
                              "ownership": {"association_type": "individual", "product_owner_id": house.owner_id}}),
                   422)


def test_lapse_is_refused_while_a_fund_shows_value_after_the_last_complete_valuation(client: Any,
                                                                                    w: dict[str, str]) -> None:
    """Two funds, only one valued: no portfolio valuation yet, but the product is not known to be worth 0."""
    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2021-01-01")["id"]
    pfs = [add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2021-01-01")["id"]
           for _ in range(2)]
    add_valuation(client, w, pfs[0], "2024-01-31", "50000.00")
    assert_problem(send(client, "POST", f"/v1/products/{product}/lapse", headers=w), 409)
    assert get(client, f"/v1/products/{product}", w)["status"] == "active"
    add_valuation(client, w, pfs[0], "2024-02-29", "0.00")
    add_valuation(client, w, pfs[1], "2024-02-29", "0.00")
    expect_status(send(client, "POST", f"/v1/products/{product}/lapse", headers=w), 200)
