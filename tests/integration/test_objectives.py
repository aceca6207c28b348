"""Objectives and money goals through the API.

The money goals' figures are worked by hand below (the arithmetic is in the comments) and the monthly saving is
checked again against numpy_financial.pmt, an independent implementation of the annuity formula. Bad input is
refused with a problem+json and changes no row of the firm. What the database holds is read as the owner role.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
import pytest

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.matrix_support import (
    Household,
    add_contribution,
    add_member,
    add_portfolio_fund,
    add_unmanaged_valuation,
    add_valuation,
    audit_events_since,
    audit_watermark,
    create_client_group,
    create_fund,
    create_household,
    create_objective,
    create_product,
    create_product_owner,
    create_unmanaged,
    expect_status,
    firm_rows,
    put_fx_rate,
    send,
)

OB = "/v1/objectives"
TODAY = date.today()
PAST = "2024-01-31"


def months_ahead(n: int) -> str:
    """The 1st of the month n calendar months after this one: n whole months away by the goals' rule."""
    index = TODAY.year * 12 + TODAY.month - 1 + n
    return date(index // 12, index % 12 + 1, 1).isoformat()


def objectives_of(group_id: Any) -> str:
    return f"/v1/client-groups/{group_id}/objectives"


def pennies(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def npf_saving(rate: float, months: int, current: Decimal, target: Decimal) -> Decimal:
    """The level end-of-month payment that grows `current` into `target`, by numpy_financial (sign: a deposit is
    negative there)."""
    import numpy_financial as npf

    return pennies(Decimal(str(-npf.pmt(rate, months, -float(current), float(target)))))


@pytest.fixture(scope="module")
def firm(database: str) -> Firm:
    return make_firm()


@pytest.fixture
def w(firm: Firm) -> dict[str, str]:
    return firm.auth("adviser")


def patch(client: Any, objective_id: Any, w: dict[str, str], body: Any, version: int) -> Any:
    return send(client, "PATCH", f"{OB}/{objective_id}", headers={**w, "If-Match": f'"{version}"'}, body=body)


def couple(client: Any, w: dict[str, str]) -> tuple[Household, str]:
    """A household of two people: (the household with the first, the second's id)."""
    house = create_household(client, w)
    second = create_product_owner(client, w, first_name="Sam")
    add_member(client, w, house.group_id, second["id"])
    return house, second["id"]


def valued_product(client: Any, w: dict[str, str], house: Household, value: str, **fields: Any) -> dict[str, Any]:
    """A managed product with one fund valued `value` on PAST (its complete valuation then)."""
    product = create_product(client, w, house, **fields)
    fund = create_fund(client, w)
    pf = add_portfolio_fund(client, w, product["id"], fund["id"])
    add_valuation(client, w, pf["id"], PAST, value)
    return product


def test_couples_joint_isa_with_contributions(client: Any, w: dict[str, str]) -> None:
    """A couple's ISA held 50/50 (tenants in common: the household holds all of it), a cash ISA elsewhere held
    60/30 with a tenth a third party's, and two contributions, towards 100,000.00 GBP in 24 months at 5%."""
    house, second = couple(client, w)
    isa = valued_product(client, w, house, "30000.00", ownership={
        "association_type": "tenants_in_common", "shares": {house.owner_id: "50.00", second: "50.00"}})
    elsewhere = create_unmanaged(client, w, house, product_type="cash_isa", ownership={
        "association_type": "tenants_in_common", "shares": {house.owner_id: "60.00", second: "30.00"}})
    add_unmanaged_valuation(client, w, elsewhere["id"], PAST, "10000.05")
    mark = audit_watermark()
    goal = create_objective(client, w, house.group_id, title="House deposit", priority=1, target_amount="100000.00",
                            target_date=months_ahead(24), assumed_annual_return="0.0500",
                            product_ids=[isa["id"]], unmanaged_product_ids=[elsewhere["id"]])
    # Before any contribution: (30,000.00 + 9,000.05) / 100,000.00 x 100 = 39.00005 -> 39.00.
    assert (goal["money_goal"], goal["currency"], goal["progress_percentage"]) == (True, "GBP", "39.00")
    add_contribution(client, w, goal["id"], "1000.00")
    add_contribution(client, w, goal["id"], "250.50", day=TODAY.isoformat())
    got = expect_status(send(client, "GET", f"{OB}/{goal['id']}", headers=w), 200)
    # The ISA: 30,000.00 x 100% (50 + 50) = 30,000.00.
    # The cash ISA elsewhere: 10,000.05 x 90% (60 + 30) = 9,000.045 -> 9,000.05 (half away from zero).
    # Contributions: 1,000.00 + 250.50 = 1,250.50.
    # Current value: 30,000.00 + 9,000.05 + 1,250.50 = 40,250.55.
    assert [(x["id"], x["value"], x["counted"]) for x in got["linked"]] == [
        (isa["id"], "30000.00", True), (elsewhere["id"], "9000.05", True)]
    assert (got["contributions_total"], got["current_value"]) == ("1250.50", "40250.55")
    # Progress: 40,250.55 / 100,000.00 x 100 = 40.25055 -> 40.25.
    assert got["progress_percentage"] == "40.25"
    # Saving: i = 1.05^(1/12) - 1 = 0.0040741237836483...; over 24 months (1 + i)^24 = 1.05^2 = 1.1025 exactly.
    # Grown: 40,250.55 x 1.1025 = 44,376.231375; shortfall 100,000.00 - 44,376.231375 = 55,623.768625.
    # P = shortfall x i / ((1 + i)^24 - 1) = 55,623.768625 x 0.0040741237836483 / 0.1025
    #   = 226.6181186912... / 0.1025 = 2,210.9084750... -> 2,210.91.
    assert got["monthly_saving_needed"] == "2210.91"
    i = 1.05 ** (1 / 12) - 1
    assert Decimal(got["monthly_saving_needed"]) == npf_saving(i, 24, Decimal("40250.55"), Decimal("100000.00"))
    assert got["on_track"] is False
    # The list shows the same figures.
    listed = expect_status(send(client, "GET", objectives_of(house.group_id), headers=w), 200)["items"]
    assert listed == [got]
    events = [e["action"] for e in audit_events_since(mark)]
    assert events == ["objective.create", "objective_contribution.create", "objective_contribution.create"]


def test_usd_goal_converts_gbp_and_eur_holdings(client: Any, w: dict[str, str]) -> None:
    """A goal in USD (the firm's currency is GBP) with a GBP asset, a USD asset and a EUR asset, at 0%."""
    house = create_household(client, w)
    put_fx_rate(client, w, "USD", (TODAY - timedelta(days=3)).isoformat(), "0.8000")
    put_fx_rate(client, w, "EUR", (TODAY - timedelta(days=3)).isoformat(), "0.8500")
    gbp = create_unmanaged(client, w, house, product_type="gia")
    add_unmanaged_valuation(client, w, gbp["id"], PAST, "8000.00")
    usd = create_unmanaged(client, w, house, product_type="individual_shares", currency="USD")
    add_unmanaged_valuation(client, w, usd["id"], PAST, "1234.56")
    eur = create_unmanaged(client, w, house, product_type="bank_account", currency="EUR")
    add_unmanaged_valuation(client, w, eur["id"], PAST, "1000.00")
    goal = create_objective(client, w, house.group_id, title="Florida", target_amount="20000.00", currency="USD",
                            target_date=months_ahead(12), assumed_annual_return="0.0000",
                            unmanaged_product_ids=[gbp["id"], usd["id"], eur["id"]])
    # GBP 8,000.00 -> USD: 8,000.00 / 0.80 = 10,000.00.
    # USD 1,234.56 is in the goal's currency: not converted.
    # EUR 1,000.00 -> GBP 1,000.00 x 0.85 = 850.00 -> USD 850.00 / 0.80 = 1,062.50.
    values = {x["id"]: x["value"] for x in goal["linked"]}
    assert values == {gbp["id"]: "10000.00", usd["id"]: "1234.56", eur["id"]: "1062.50"}
    # Current: 10,000.00 + 1,234.56 + 1,062.50 = 12,297.06; progress 12,297.06 / 20,000 x 100 = 61.4853 -> 61.49.
    assert (goal["current_value"], goal["progress_percentage"]) == ("12297.06", "61.49")
    # At 0%: (20,000.00 - 12,297.06) / 12 = 7,702.94 / 12 = 641.911666... -> 641.91.
    assert (goal["monthly_saving_needed"], goal["on_track"]) == ("641.91", False)
    assert Decimal(goal["monthly_saving_needed"]) == npf_saving(0.0, 12, Decimal("12297.06"), Decimal("20000"))
    # Without a rate for the goal's currency nothing can be converted into it: flagged, counted as 0.
    chf = create_objective(client, w, house.group_id, title="Alps", target_amount="5000.00", currency="CHF",
                           target_date=months_ahead(6), unmanaged_product_ids=[gbp["id"]])
    assert chf["linked"][0]["counted"] is False and "no exchange rate" in chf["linked"][0]["reason"]
    assert (chf["current_value"], chf["assumed_annual_return"]) == ("0.00", "0.0400")


def test_goal_already_reached(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    goal = create_objective(client, w, house.group_id, title="Emergency fund", target_amount="5000.00",
                            target_date=months_ahead(18), assumed_annual_return="0.0300")
    add_contribution(client, w, goal["id"], "4000.00")
    add_contribution(client, w, goal["id"], "2000.00")
    got = expect_status(send(client, "GET", f"{OB}/{goal['id']}", headers=w), 200)
    # 6,000.00 against 5,000.00: progress min(100, 120) = 100.00; nothing more to save; on track.
    assert (got["current_value"], got["progress_percentage"], got["monthly_saving_needed"], got["on_track"]) == (
        "6000.00", "100.00", "0.00", True)


def test_goal_reached_by_growth_alone_and_goal_due_this_month(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    # 9,600.00 growing at 5% for 12 months: 9,600.00 x 1.05 = 10,080.00 >= 10,000.00: on track, saving 0, though
    # progress is 96.00 today.
    growing = create_objective(client, w, house.group_id, title="Car", target_amount="10000.00",
                               target_date=months_ahead(12), assumed_annual_return="0.0500")
    add_contribution(client, w, growing["id"], "9600.00")
    got = expect_status(send(client, "GET", f"{OB}/{growing['id']}", headers=w), 200)
    assert (got["progress_percentage"], got["monthly_saving_needed"], got["on_track"]) == ("96.00", "0.00", True)
    # Due this month: no month left to grow or save in, so the whole shortfall: 5,000.00 - 2,000.00 = 3,000.00.
    due = create_objective(client, w, house.group_id, title="Wedding", target_amount="5000.00",
                           target_date=TODAY.isoformat(), assumed_annual_return="0.0800")
    add_contribution(client, w, due["id"], "2000.00")
    got = expect_status(send(client, "GET", f"{OB}/{due['id']}", headers=w), 200)
    assert (got["progress_percentage"], got["monthly_saving_needed"], got["on_track"]) == ("40.00", "3000.00", False)
    # Past: the same rule.
    expect_status(patch(client, due["id"], w, {"target_date": "2020-06-30"}, 1), 200)
    got = expect_status(send(client, "GET", f"{OB}/{due['id']}", headers=w), 200)
    assert (got["monthly_saving_needed"], got["on_track"]) == ("3000.00", False)


def test_lapsed_and_sold_products_count_as_zero_and_are_flagged(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    lapsed = create_product(client, w, house)
    expect_status(send(client, "POST", f"/v1/products/{lapsed['id']}/lapse", headers=w), 200)
    sold = create_unmanaged(client, w, house)
    add_unmanaged_valuation(client, w, sold["id"], PAST, "250000.00")
    expect_status(send(client, "POST", f"/v1/unmanaged-products/{sold['id']}/status", headers=w,
                       body={"status": "sold", "reason": "Sold in the spring"}), 200)
    goal = create_objective(client, w, house.group_id, title="Retire", target_amount="1000.00",
                            target_date=months_ahead(3), product_ids=[lapsed["id"]],
                            unmanaged_product_ids=[sold["id"]])
    assert {(x["id"], x["status"], x["counted"], x["value"]) for x in goal["linked"]} == {
        (lapsed["id"], "lapsed", False, "0.00"), (sold["id"], "sold", False, "0.00")}
    assert all("counts as 0" in x["reason"] for x in goal["linked"])
    assert (goal["current_value"], goal["progress_percentage"]) == ("0.00", "0.00")


def test_saving_plan_against_numpy_financial() -> None:
    """The service's arithmetic over a grid of rates, months and values, against numpy_financial.pmt."""
    from chalicelib.objectives.service import saving_plan

    for rate in ("0.0000", "0.0125", "0.0500", "0.0725", "-0.0200"):
        i = (1 + float(rate)) ** (1 / 12) - 1
        for months in (1, 7, 24, 121):
            for current in ("0.00", "1234.56", "40250.55"):
                saving, on_track = saving_plan(Decimal(current), Decimal("100000.00"), Decimal(rate), months)
                assert saving == npf_saving(i, months, Decimal(current), Decimal("100000.00")), (rate, months)
                assert on_track is False


def test_plain_objective_crud_and_typed_progress(client: Any, w: dict[str, str]) -> None:
    group = create_client_group(client, w)
    mark = audit_watermark()
    resp = send(client, "POST", objectives_of(group["id"]), headers=w, body={
        "title": "Write wills", "description": "Both of them", "priority": 2, "target_date": "2031-03-31"})
    made = expect_status(resp, 201)
    assert resp.headers["Location"] == f"{OB}/{made['id']}" and resp.headers["ETag"] == '"1"'
    assert {k: made[k] for k in ("title", "priority", "status", "progress_percentage", "money_goal",
                                 "target_amount", "current_value", "on_track", "linked")} == {
        "title": "Write wills", "priority": 2, "status": "active", "progress_percentage": "0.00",
        "money_goal": False, "target_amount": None, "current_value": None, "on_track": None, "linked": []}
    changed = expect_status(patch(client, made["id"], w, {"progress_percentage": "50", "status": "modified"}, 1),
                            200)
    assert (changed["progress_percentage"], changed["status"], changed["version"]) == ("50.00", "modified", 2)
    assert_problem(patch(client, made["id"], w, {"priority": 1}, 1), 412)
    assert_problem(send(client, "PATCH", f"{OB}/{made['id']}", headers=w, body={"priority": 1}), 428)
    # A plain objective takes no contributions.
    assert_problem(send(client, "POST", f"{OB}/{made['id']}/contributions", headers=w,
                        body={"amount": "10.00", "contribution_date": PAST}), 409)
    # Becoming a money goal drops the typed progress; back to plain it starts at 0 again.
    money = expect_status(patch(client, made["id"], w, {"target_amount": "2000.00"}, 2), 200)
    assert (money["money_goal"], money["currency"], money["assumed_annual_return"], money["progress_percentage"]) == (
        True, "GBP", "0.0400", "0.00")
    assert owner_sql("SELECT progress_percentage FROM objectives WHERE id = %s", (made["id"],))[0] == {
        "progress_percentage": None}
    plain = expect_status(patch(client, made["id"], w, {"target_amount": None}, 3), 200)
    assert (plain["money_goal"], plain["currency"], plain["progress_percentage"]) == (False, None, "0.00")
    expect_status(send(client, "DELETE", f"{OB}/{made['id']}", headers=w), 204)
    assert_problem(send(client, "GET", f"{OB}/{made['id']}", headers=w), 404)
    events = [(e["action"], e["changed_fields"]) for e in audit_events_since(mark)]
    assert [e[0] for e in events] == ["objective.create", "objective.update", "objective.update",
                                      "objective.update", "objective.delete"]
    assert events[1][1] == ["progress_percentage", "status"]


def test_links_and_contributions_follow_the_rules(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    isa = valued_product(client, w, house, "1000.00")
    goal = create_objective(client, w, house.group_id, title="School fees", target_amount="9000.00",
                            target_date=months_ahead(30), product_ids=[isa["id"]])
    # A linked product cannot be deleted while it is linked (even without funds it would otherwise go).
    bare = create_product(client, w, house)
    expect_status(patch(client, goal["id"], w, {"product_ids": [isa["id"], bare["id"]]}, 1), 200)
    assert_problem(send(client, "DELETE", f"/v1/products/{bare['id']}", headers=w), 409)
    after = expect_status(patch(client, goal["id"], w, {"product_ids": [isa["id"]]}, 2), 200)
    assert after["product_ids"] == [isa["id"]]
    expect_status(send(client, "DELETE", f"/v1/products/{bare['id']}", headers=w), 204)
    # A contribution entered by mistake is deleted, audited.
    wrong = add_contribution(client, w, goal["id"], "999.00")
    listed = expect_status(send(client, "GET", f"{OB}/{goal['id']}/contributions", headers=w), 200)["items"]
    assert [c["id"] for c in listed] == [wrong["id"]]
    # Clearing the target while links or contributions remain is refused.
    assert_problem(patch(client, goal["id"], w, {"target_amount": None}, 3), 409)
    mark = audit_watermark()
    expect_status(send(client, "DELETE", f"/v1/objective-contributions/{wrong['id']}", headers=w), 204)
    assert_problem(send(client, "DELETE", f"/v1/objective-contributions/{wrong['id']}", headers=w), 404)
    [event] = audit_events_since(mark)
    assert (event["action"], event["before"]["amount"]) == ("objective_contribution.delete", "999.00")
    # The household with an objective cannot be deleted; deleting the goal takes its links and contributions.
    add_contribution(client, w, goal["id"], "10.00")
    expect_status(send(client, "DELETE", f"{OB}/{goal['id']}", headers=w), 204)
    assert owner_sql("SELECT count(*) AS n FROM objective_products WHERE objective_id = %s", (goal["id"],)) == [
        {"n": 0}]


def test_filters_and_orders(client: Any, w: dict[str, str]) -> None:
    group = create_client_group(client, w)
    late = create_objective(client, w, group["id"], title="Late", priority=5, target_date="2040-01-01")
    soon = create_objective(client, w, group["id"], title="Soon", priority=1, target_date="2027-01-01",
                            status="achieved")
    undated = create_objective(client, w, group["id"], title="Undated", priority=3)

    def ids(query: str) -> list[str]:
        return [x["id"] for x in expect_status(send(client, "GET", objectives_of(group["id"]) + query, headers=w),
                                               200)["items"]]

    assert ids("") == [soon["id"], late["id"], undated["id"]]
    assert ids("?sort=priority") == [soon["id"], undated["id"], late["id"]]
    assert ids("?sort=-priority") == [late["id"], undated["id"], soon["id"]]
    assert ids("?status=achieved") == [soon["id"]]
    assert ids("?priority=5") == [late["id"]]
    assert ids("?due_before=2030-01-01") == [soon["id"]]
    paged = expect_status(send(client, "GET", objectives_of(group["id"]) + "?limit=2", headers=w), 200)
    rest = expect_status(send(client, "GET", objectives_of(group["id"]) + f"?limit=2&cursor={paged['next_cursor']}",
                              headers=w), 200)
    assert [x["id"] for x in paged["items"] + rest["items"]] == [soon["id"], late["id"], undated["id"]]
    assert_problem(send(client, "GET", objectives_of(group["id"]) + "?priority=0", headers=w), 422, "priority")
    assert ids("?status=cancelled") == []
    # A household with objectives cannot be deleted.
    assert_problem(send(client, "DELETE", f"/v1/client-groups/{group['id']}", headers=w), 409)


def test_bad_input_changes_nothing(client: Any, firm: Firm, w: dict[str, str]) -> None:
    house = create_household(client, w)
    neighbour = create_household(client, w)
    theirs = create_product(client, w, neighbour)
    foreign = make_firm()
    foreign_w = foreign.auth("adviser")
    foreign_house = create_household(client, foreign_w)
    foreign_product = create_product(client, foreign_w, foreign_house)
    liability = create_unmanaged(client, w, house, kind="liability", product_type="mortgage")
    goal = create_objective(client, w, house.group_id, title="Pension top-up", target_amount="1000.00",
                            target_date=months_ahead(6))
    plain = create_objective(client, w, house.group_id, title="Review wills")
    money = {"title": "Goal", "target_amount": "1000.00", "target_date": months_ahead(6)}
    before = firm_rows(firm.id)
    g = objectives_of(house.group_id)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    cases = [
        (send(client, "POST", g, headers=w, body={"title": "x", "priority": 6}), 422, "priority"),
        (send(client, "POST", g, headers=w, body={**money, "progress_percentage": "10"}), 422,
         "progress_percentage"),
        (send(client, "POST", g, headers=w, body={**money, "product_ids": [theirs["id"]]}), 422, "product_ids"),
        (send(client, "POST", g, headers=w, body={**money, "product_ids": [foreign_product["id"]]}), 422,
         "product_ids"),
        (send(client, "POST", g, headers=w, body={**money, "unmanaged_product_ids": [liability["id"]]}), 422,
         "unmanaged_product_ids"),
        (send(client, "POST", g, headers=w, body={**money, "target_amount": "0"}), 422, "target_amount"),
        (send(client, "POST", g, headers=w, body={**money, "target_amount": 1000}), 422, "target_amount"),
        (send(client, "POST", g, headers=w, body={"title": "x", "target_amount": "10.00"}), 422, "target_amount"),
        (send(client, "POST", g, headers=w, body={"title": "x", "currency": "USD"}), 422, "currency"),
        (send(client, "POST", g, headers=w, body={"title": "x", "progress_percentage": "100.01"}), 422,
         "progress_percentage"),
        (send(client, "POST", g, headers=w, body={"title": "x", "status": "done"}), 422, "status"),
        (send(client, "POST", f"{OB}/{goal['id']}/contributions", headers=w,
              body={"amount": "10.00", "contribution_date": tomorrow}), 422, "contribution_date"),
        (send(client, "POST", f"{OB}/{goal['id']}/contributions", headers=w,
              body={"amount": "0.00", "contribution_date": PAST}), 422, "amount"),
        (patch(client, goal["id"], w, {"progress_percentage": "20"}, 1), 422, "progress_percentage"),
        (patch(client, goal["id"], w, {"priority": 6}, 1), 422, "priority"),
        (patch(client, goal["id"], w, {"target_amount": "0"}, 1), 422, "target_amount"),
        (patch(client, goal["id"], w, {"target_date": None}, 1), 422, "target_date"),
        (patch(client, goal["id"], w, {"product_ids": [theirs["id"]]}, 1), 422, "product_ids"),
        (patch(client, plain["id"], w, {"currency": "USD"}, 1), 422, "currency"),
        (send(client, "POST", objectives_of(foreign_house.group_id), headers=w, body={"title": "x"}), 404, ()),
        (send(client, "GET", f"{OB}/{goal['id']}", headers=foreign_w), 404, ()),
    ]
    for resp, status, fields in cases:
        assert_problem(resp, status, fields)
    assert firm_rows(firm.id) == before


CONTRIBUTION = ("INSERT INTO objective_contributions (firm_id, objective_id, amount, contribution_date) "
                "VALUES (%s, %s, 1, ")


def test_the_database_holds_the_rules(client: Any, w: dict[str, str], firm: Firm) -> None:
    house = create_household(client, w)
    neighbour = create_household(client, w)
    theirs = create_product(client, w, neighbour)
    goal = create_objective(client, w, house.group_id, title="Goal", target_amount="100.00",
                            target_date=months_ahead(2))
    plain = create_objective(client, w, house.group_id, title="Plain")
    refusals = [
        ("UPDATE objectives SET progress_percentage = 10 WHERE id = %s", (goal["id"],),
         "objectives_money_goal_consistent"),
        ("UPDATE objectives SET priority = 6 WHERE id = %s", (goal["id"],), "objectives_priority_check"),
        ("UPDATE objectives SET target_amount = 0 WHERE id = %s", (goal["id"],), "objectives_target_amount_check"),
        ("INSERT INTO objective_products (firm_id, objective_id, product_id) VALUES (%s, %s, %s)",
         (firm.id, goal["id"], theirs["id"]), "objective_links_same_household"),
        (CONTRIBUTION + "CURRENT_DATE + 1)", (firm.id, goal["id"]), "objective_contributions_not_future"),
        (CONTRIBUTION + "CURRENT_DATE)", (firm.id, plain["id"]), "objective_contributions_firm_id_objective_id"),
    ]
    for query, params, constraint in refusals:
        with pytest.raises(psycopg.errors.IntegrityError) as refused:
            owner_sql(query, params)
        assert (refused.value.diag.constraint_name or "").startswith(constraint), refused.value
    # A goal with a contribution cannot stop being a money goal (the contribution's key refers to it).
    add_contribution(client, w, goal["id"], "5.00")
    with pytest.raises(psycopg.errors.IntegrityError):
        owner_sql("UPDATE objectives SET target_amount = NULL, currency = NULL, assumed_annual_return = NULL, "
                  "progress_percentage = 0 WHERE id = %s", (goal["id"],))
