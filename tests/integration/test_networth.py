"""Net worth, worked by hand: every expected penny below is written out, not computed by the code under test.

A couple and a three-person household with individual, tenants-in-common (60/30 with a 10% third-party
remainder, 33.33/33.33/33.34), joint (100% and 50%) ownership, a lapsed product and a sold (ended) one left out;
statements (stored whole, equal to the live answer of their day, immutable); the daily snapshot job and the
history read from it; bad input."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.conftest import Firm, assert_problem, owner_sql
from tests.integration.matrix_support import add_valuation, expect_status, send
from tests.integration.networth_support import (
    G,
    household,
    individual,
    joint,
    networth,
    rows_by_name,
    run_snapshots,
    tenants,
    valued_product,
)

AS_OF = "2024-06-30"


def _amounts(owners: list[str], *parts: str, joint_: str = "0.00", third: str = "0.00",
             total: str) -> dict[str, str]:
    return {**dict(zip(owners, parts, strict=True)), "joint": joint_, "third_party": third, "total": total}


@pytest.fixture(scope="module")
def couple(firm_a: Firm, app_module: Any) -> dict[str, Any]:
    """Alice (a client since 2020) and Bob (since 2021) with:

    - Alice's ISA, individual: 11,000.00 on 2024-03-31, 12,345.67 on 2024-06-28, 13,000.00 on 2024-07-31;
    - Bob's pension, individual: 80,000.00 on 2024-06-30;
    - a joint GIA, joint 100%: 10,000.01 on 2024-06-14;
    - a buy-to-let (property), tenants in common Alice 60 / Bob 30 (10% a third party's): 250,000.05 on 2024-01-31;
    - an old GIA sold on 2023-03-31 (the product ended that day, last valued 5,000.00 then);
    - a lapsed bond (valued 0.00 on 2022-12-31, then lapsed);
    - Bob's Tokyo account (individual shares in JPY): 1,500,000.00 on 2024-05-31."""
    from chalice.test import Client

    auth = firm_a.auth("adviser")
    with Client(app_module.app, stage_name="local") as c:
        group, (alice, bob) = household(c, auth, [("Alice", "2020-01-01"), ("Bob", "2021-06-01")], "couple")
        valued_product(c, auth, group, "Alice ISA", "stocks_and_shares_isa", individual(alice),
                       [("2024-03-31", "11000.00"), ("2024-06-28", "12345.67"), ("2024-07-31", "13000.00")])
        valued_product(c, auth, group, "Bob pension", "pension", individual(bob), [("2024-06-30", "80000.00")])
        valued_product(c, auth, group, "Joint GIA", "gia", joint([alice, bob]), [("2024-06-14", "10000.01")])
        valued_product(c, auth, group, "Buy to let", "property", tenants({alice: "60.00", bob: "30.00"}),
                       [("2024-01-31", "250000.05")])
        sold = valued_product(c, auth, group, "Old GIA", "gia", individual(alice), [("2023-03-31", "5000.00")])
        expect_status(send(c, "PATCH", f"/v1/products/{sold['id']}", headers={**auth, "If-Match": '"1"'},
                           body={"end_date": "2023-03-31"}), 200)
        lapsed = valued_product(c, auth, group, "Lapsed bond", "onshore_bond", individual(bob),
                                [("2022-12-31", "0.00")])
        expect_status(send(c, "POST", f"/v1/products/{lapsed['id']}/lapse", headers=auth), 200)
        yen = valued_product(c, auth, group, "Tokyo account", "individual_shares", individual(bob),
                             [("2024-05-31", "1500000.00")], currency="JPY")
    return {"group": group, "alice": alice, "bob": bob, "auth": auth, "yen": yen["id"]}


@pytest.fixture(scope="module")
def three(firm_a: Firm, app_module: Any) -> dict[str, Any]:
    """Carol (2019-03-01), Dan (2019-09-01) and Erin (2022-05-01), all valued on 2024-06-01:

    - Family property: tenants in common 33.33 / 33.33 / 33.34, 100.01;
    - Tiny GIA: tenants in common 33.33 / 33.33 / 33.34, 0.02;
    - Split bond (onshore): tenants in common Carol 25 / Dan 75, 0.02;
    - Half bond (offshore): joint Carol and Dan, collective 50% (the other half a third party's), 1,000.01;
    - Erin's cash ISA: individual, 2,500.00."""
    from chalice.test import Client

    auth = firm_a.auth("adviser")
    with Client(app_module.app, stage_name="local") as c:
        group, (erin, carol, dan) = household(c, auth, [("Erin", "2022-05-01"), ("Carol", "2019-03-01"),
                                                         ("Dan", "2019-09-01")])
        day = "2024-06-01"
        thirds = {carol: "33.33", dan: "33.33", erin: "33.34"}
        valued_product(c, auth, group, "Family property", "property", tenants(thirds), [(day, "100.01")])
        valued_product(c, auth, group, "Tiny GIA", "gia", tenants(thirds), [(day, "0.02")])
        valued_product(c, auth, group, "Split bond", "onshore_bond", tenants({carol: "25.00", dan: "75.00"}),
                       [(day, "0.02")])
        valued_product(c, auth, group, "Half bond", "offshore_bond", joint([carol, dan], "50.00"),
                       [(day, "1000.01")])
        valued_product(c, auth, group, "Erin cash", "cash_isa", individual(erin), [(day, "2500.00")])
    return {"group": group, "carol": carol, "dan": dan, "erin": erin, "auth": auth}


def test_the_couple_by_hand(client: Any, couple: dict[str, Any]) -> None:
    a, b = couple["alice"], couple["bob"]
    body = networth(client, couple["auth"], couple["group"], AS_OF)
    assert body["as_of"] == AS_OF and body["currency"] == "GBP"
    # no JPY rate on or before the day: listed with the reason, in no figure
    assert body["unconverted"] == [{
        "source": "managed_product", "id": couple["yen"], "name": "Tokyo account", "section": "individual_shares",
        "kind": "asset", "currency": "JPY", "value": "1500000.00", "valuation_date": "2024-05-31",
        "reason": "no JPY rate to GBP on or before 2024-06-30"}]
    assert [o["id"] for o in body["owners"]] == [a, b]  # inception order
    assert [o["name"].split()[0] for o in body["owners"]] == ["Alice", "Bob"]
    owners = [a, b]
    # assets first, then liabilities; sections by type; the sold GIA and the lapsed bond are nowhere
    assert [(s["kind"], s["name"], [r["name"] for r in s["rows"]]) for s in body["sections"]] == [
        ("asset", "gia", ["Joint GIA"]), ("asset", "pension", ["Bob pension"]),
        ("asset", "property", ["Buy to let"]), ("asset", "stocks_and_shares_isa", ["Alice ISA"])]
    rows = rows_by_name(body)
    assert rows["Alice ISA"]["amounts"] == _amounts(owners, "12345.67", "0.00", total="12345.67")
    assert rows["Alice ISA"]["valuation_date"] == "2024-06-28" and rows["Alice ISA"]["value"] == "12345.67"
    assert rows["Bob pension"]["amounts"] == _amounts(owners, "0.00", "80000.00", total="80000.00")
    assert rows["Joint GIA"]["amounts"] == _amounts(owners, "0.00", "0.00", joint_="10000.01", total="10000.01")
    # 250,000.05 x 90% = 225,000.045 -> 225,000.05; Alice 150,000.03 exactly, Bob 75,000.015 -> 75,000.01 plus
    # the penny left over (his remainder 0.5 of a penny beats her 0); the third party 25,000.00
    assert rows["Buy to let"]["amounts"] == _amounts(owners, "150000.03", "75000.02", third="25000.00",
                                                     total="225000.05")
    assert body["sections"][2]["subtotal"] == rows["Buy to let"]["amounts"]
    assert body["totals"]["assets"] == _amounts(owners, "162345.70", "155000.02", joint_="10000.01",
                                                third="25000.00", total="327345.73")
    assert body["totals"]["liabilities"] == _amounts(owners, "0.00", "0.00", total="0.00")
    assert body["totals"]["net_worth"] == body["totals"]["assets"]


def test_the_couple_on_other_days(client: Any, couple: dict[str, Any]) -> None:
    a, b = couple["alice"], couple["bob"]
    owners = [a, b]
    # On 2023-03-31 the old GIA still counts (it ended that day); the others were first valued later and count
    # 0.00 (no valuation on or before the day); the lapsed bond counts on no day.
    body = networth(client, couple["auth"], couple["group"], "2023-03-31")
    rows = rows_by_name(body)
    assert set(rows) == {"Alice ISA", "Bob pension", "Joint GIA", "Buy to let", "Old GIA"}
    assert rows["Old GIA"]["amounts"] == _amounts(owners, "5000.00", "0.00", total="5000.00")
    assert rows["Alice ISA"]["amounts"]["total"] == "0.00" and rows["Alice ISA"]["valuation_date"] is None
    assert body["totals"]["net_worth"] == _amounts(owners, "5000.00", "0.00", total="5000.00")
    # On 2024-07-31 Alice's ISA is at 13,000.00
    body = networth(client, couple["auth"], couple["group"], "2024-07-31")
    assert rows_by_name(body)["Alice ISA"]["amounts"]["total"] == "13000.00"
    assert body["totals"]["net_worth"] == _amounts(owners, "163000.03", "155000.02", joint_="10000.01",
                                                   third="25000.00", total="328000.06")


def test_the_three_person_household_by_hand(client: Any, three: dict[str, Any]) -> None:
    c, d, e = three["carol"], three["dan"], three["erin"]
    owners = [c, d, e]
    body = networth(client, three["auth"], three["group"], AS_OF)
    assert [o["id"] for o in body["owners"]] == owners  # inception order, not the order they joined
    rows = rows_by_name(body)
    # 100.01 in thirds: 33.333333, 33.333333, 33.343334 -> 33.33, 33.33, 33.34 and one penny left, to Erin (the
    # largest remainder, 0.3334 of a penny)
    assert rows["Family property"]["amounts"] == _amounts(owners, "33.33", "33.33", "33.35", total="100.01")
    # 0.02 in thirds: nothing whole; two pennies: Erin (remainder 0.6668) then Carol (0.6666, tied with Dan at the
    # same share: the first column wins)
    assert rows["Tiny GIA"]["amounts"] == _amounts(owners, "0.01", "0.00", "0.01", total="0.02")
    # 0.02 at 25/75: Carol 0.005, Dan 0.015 -> 0.00 and 0.01, one penny left, remainders tied (0.5): the larger
    # share (Dan) takes it
    assert rows["Split bond"]["amounts"] == _amounts(owners, "0.00", "0.02", "0.00", total="0.02")
    # joint at 50%: 1,000.01 x 50% = 500.005 -> 500.01 jointly, 500.00 a third party's
    assert rows["Half bond"]["amounts"] == _amounts(owners, "0.00", "0.00", "0.00", joint_="500.01", third="500.00",
                                                    total="500.01")
    assert rows["Erin cash"]["amounts"] == _amounts(owners, "0.00", "0.00", "2500.00", total="2500.00")
    assert [s["name"] for s in body["sections"]] == ["cash_isa", "gia", "offshore_bond", "onshore_bond",
                                                     "property"]
    assert body["totals"]["assets"] == _amounts(owners, "33.34", "33.35", "2533.36", joint_="500.01",
                                                third="500.00", total="3100.06")
    assert body["totals"]["net_worth"] == body["totals"]["assets"]


@pytest.fixture(scope="module")
def elsewhere(database: str, app_module: Any) -> dict[str, Any]:
    """A firm of its own (its rates are its own) and Fay (a client since 2018) and Gus (since 2019), whose wealth is
    mostly held elsewhere:

    - Fay's ISA (managed), individual: 20,000.00 on 2024-06-28;
    - the family home (unmanaged property, GBP), tenants in common Fay 50 / Gus 40 (a tenth a third party's):
      500,000.00 on 2024-01-31, 512,345.67 on 2024-06-30;
    - a mortgage (unmanaged liability), joint 100%: 150,000.00 on 2024-05-31;
    - Gus's car loan (unmanaged liability): 8,765.43 on 2024-06-15;
    - Gus's US brokerage (unmanaged individual shares in USD): 12,000.00 USD on 2024-06-10, 12,345.67 USD on
      2024-06-28; USD rates 0.7800 on 2024-06-01 and 0.78653 on 2024-06-27;
    - Fay's Swiss account (unmanaged bank account in CHF): 10,000.00 CHF on 2024-06-01, and no CHF rate;
    - an old flat (unmanaged property), Fay's: 200,000.00 on 2023-01-31, sold since;
    - art (an assets-and-liabilities item, recorded today): 25,000.00, joint at 60%;
    - a credit card (an item, recorded today, its category a debt): 1,234.56 owed, Fay's."""
    from chalice.test import Client

    from tests.conftest import make_firm
    from tests.integration.networth_support import fx_rate, information_item, unmanaged_product

    firm = make_firm()
    auth = firm.auth("adviser")
    with Client(app_module.app, stage_name="local") as c:
        group, (fay, gus) = household(c, auth, [("Fay", "2018-01-01"), ("Gus", "2019-01-01")], "couple")
        valued_product(c, auth, group, "Fay ISA", "stocks_and_shares_isa", individual(fay),
                       [("2024-06-28", "20000.00")])
        unmanaged_product(c, auth, group, "Family home", "asset", "property", tenants({fay: "50.00", gus: "40.00"}),
                          [("2024-01-31", "500000.00"), ("2024-06-30", "512345.67")])
        unmanaged_product(c, auth, group, "Mortgage", "liability", "mortgage", joint([fay, gus]),
                          [("2024-05-31", "150000.00")])
        unmanaged_product(c, auth, group, "Car loan", "liability", "loan", individual(gus), [("2024-06-15", "8765.43")])
        us = unmanaged_product(c, auth, group, "US brokerage", "asset", "individual_shares", individual(gus),
                               [("2024-06-10", "12000.00"), ("2024-06-28", "12345.67")], currency="USD")
        fx_rate(c, auth, "USD", "2024-06-01", "0.7800")
        fx_rate(c, auth, "USD", "2024-06-27", "0.78653")
        swiss = unmanaged_product(c, auth, group, "Swiss account", "asset", "bank_account", individual(fay),
                                  [("2024-06-01", "10000.00")], currency="CHF")
        flat = unmanaged_product(c, auth, group, "Old flat", "asset", "property", individual(fay),
                                 [("2023-01-31", "200000.00")])
        expect_status(send(c, "POST", f"/v1/unmanaged-products/{flat['id']}/status", headers=auth,
                           body={"status": "sold", "reason": "Completed on 2024-02-29"}), 200)
        art = information_item(c, auth, group, "Art", {"latest_valuation": "25000.00"}, joint([fay, gus], "60.00"))
        card = information_item(c, auth, group, "Credit card", {"latest_valuation": "1234.56"}, individual(fay))
    return {"firm": firm, "auth": auth, "group": group, "fay": fay, "gus": gus, "us": us["id"],
            "swiss": swiss["id"], "art": art["id"], "card": card["id"]}


def test_holdings_elsewhere_by_hand(client: Any, elsewhere: dict[str, Any]) -> None:
    fay, gus = elsewhere["fay"], elsewhere["gus"]
    owners = [fay, gus]
    body = networth(client, elsewhere["auth"], elsewhere["group"], AS_OF)
    assert [(s["kind"], s["name"], [r["name"] for r in s["rows"]]) for s in body["sections"]] == [
        ("asset", "individual_shares", ["US brokerage"]), ("asset", "property", ["Family home"]),
        ("asset", "stocks_and_shares_isa", ["Fay ISA"]),
        ("liability", "loan", ["Car loan"]), ("liability", "mortgage", ["Mortgage"])]  # no item: recorded today
    rows = rows_by_name(body)
    # 12,345.67 USD x 0.78653 (the rate of 2024-06-27, the latest on or before the day) = 9,710.2398251 -> 9,710.24
    assert rows["US brokerage"]["rate"] == "0.7865300000" and rows["US brokerage"]["value"] == "12345.67"
    assert rows["US brokerage"]["amounts"] == _amounts(owners, "0.00", "9710.24", total="9710.24")
    # 512,345.67 x 90% = 461,111.103 -> 461,111.10; Fay 256,172.835 and Gus 204,938.268 round down to 256,172.83
    # and 204,938.26; the penny left goes to Gus (0.8 of a penny over 0.5); a third party 51,234.57
    assert rows["Family home"]["amounts"] == _amounts(owners, "256172.83", "204938.27", third="51234.57",
                                                      total="461111.10")
    assert rows["Mortgage"]["amounts"] == _amounts(owners, "0.00", "0.00", joint_="150000.00", total="150000.00")
    assert rows["Car loan"]["amounts"] == _amounts(owners, "0.00", "8765.43", total="8765.43")
    assert body["totals"]["assets"] == _amounts(owners, "276172.83", "214648.51", third="51234.57",
                                                total="490821.34")
    assert body["totals"]["liabilities"] == _amounts(owners, "0.00", "8765.43", joint_="150000.00",
                                                     total="158765.43")
    assert body["totals"]["net_worth"] == _amounts(owners, "276172.83", "205883.08", joint_="-150000.00",
                                                   third="51234.57", total="332055.91")
    assert body["unconverted"] == [{
        "source": "unmanaged_product", "id": elsewhere["swiss"], "name": "Swiss account", "section": "bank_account",
        "kind": "asset", "currency": "CHF", "value": "10000.00", "valuation_date": "2024-06-01",
        "reason": "no CHF rate to GBP on or before 2024-06-30"}]
    # On 2024-06-15: 12,000.00 USD at 2024-06-01's rate, 0.7800 = 9,360.00
    mid = rows_by_name(networth(client, elsewhere["auth"], elsewhere["group"], "2024-06-15"))
    assert (mid["US brokerage"]["rate"], mid["US brokerage"]["amounts"]["total"]) == ("0.7800000000", "9360.00")
    # On 2024-05-31 there is no USD rate yet either; the home was at 500,000.00 (x 90%)
    early = networth(client, elsewhere["auth"], elsewhere["group"], "2024-05-31")
    assert [u["name"] for u in early["unconverted"]] == ["Swiss account", "US brokerage"]
    assert rows_by_name(early)["Family home"]["amounts"]["total"] == "450000.00"


def test_holdings_elsewhere_today_with_items(client: Any, elsewhere: dict[str, Any]) -> None:
    fay, gus = elsewhere["fay"], elsewhere["gus"]
    owners = [fay, gus]
    body = networth(client, elsewhere["auth"], elsewhere["group"])
    rows = rows_by_name(body)
    # Art: 25,000.00 jointly at 60% -> 15,000.00 joint, 10,000.00 a third party's; the card a liability (its category)
    assert rows["Art"]["source"] == "item" and rows["Art"]["valuation_date"] is None
    assert rows["Art"]["amounts"] == _amounts(owners, "0.00", "0.00", joint_="15000.00", third="10000.00",
                                              total="15000.00")
    assert rows["Credit card"]["amounts"] == _amounts(owners, "1234.56", "0.00", total="1234.56")
    assert [s["name"] for s in body["sections"] if s["kind"] == "liability"] == ["Credit card", "loan", "mortgage"]
    assert body["totals"]["assets"] == _amounts(owners, "276172.83", "214648.51", joint_="15000.00",
                                                third="61234.57", total="505821.34")
    assert body["totals"]["liabilities"] == _amounts(owners, "1234.56", "8765.43", joint_="150000.00",
                                                     total="159999.99")
    assert body["totals"]["net_worth"]["total"] == "345821.35"


def test_the_household_summary_shows_what_is_held_elsewhere(client: Any, elsewhere: dict[str, Any]) -> None:
    """The household's part of its unmanaged holdings today (the home 461,111.10 and the dollars 9,710.24; the
    mortgage 150,000.00 and the loan 8,765.43; the Swiss account has no rate), its net worth today (with the ISA and
    the items: 345,821.35) and its information items by type."""
    expect_status(send(client, "POST", f"{G}/{elsewhere['group']}/information-items", headers=elsewhere["auth"],
                       body={"item_type": "basic_detail", "item_category": "Employment",
                             "data_content": {"employer": "Hale & Co"}}), 201)
    body = expect_status(send(client, "GET", f"{G}/{elsewhere['group']}/summary", headers=elsewhere["auth"]), 200)
    assert (body["unmanaged_assets"], body["unmanaged_liabilities"], body["net_worth"]) == (
        "470821.34", "158765.43", "345821.35")
    assert body["information_items"] == {"basic_detail": 1, "income_expenditure": 0, "assets_liabilities": 2,
                                         "protection": 0, "vulnerability_health": 0, "total": 3}
    assert body["funds_under_management"] == "20000.00"


# --- statements ----------------------------------------------------------------------------------------------------

def test_a_statement_stores_the_live_answer_and_stays_what_it_was(client: Any, firm_a: Firm,
                                                                 couple: dict[str, Any]) -> None:
    auth, group = couple["auth"], couple["group"]
    live = networth(client, auth, group)
    made = expect_status(send(client, "POST", f"{G}/{group}/networth-statements", headers=auth,
                              body={"name": "Annual review"}), 201)
    today = live["as_of"]
    assert made["networth"] == live and made["as_of"] == today and made["name"] == "Annual review"
    assert (made["assets"], made["liabilities"], made["net_worth"]) == (
        live["totals"]["assets"]["total"], live["totals"]["liabilities"]["total"],
        live["totals"]["net_worth"]["total"])
    assert made["created_by_type"] == "user" and made["created_by"] == str(firm_a.users["adviser"]["id"])
    # The household changes after the statement's day: a valuation tomorrow and a new product from tomorrow.
    tomorrow = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    isa = rows_by_name(live)["Alice ISA"]
    pf = owner_sql("SELECT id FROM portfolio_funds WHERE product_id = %s", (isa["id"],))[0]["id"]
    add_valuation(client, auth, pf, tomorrow, "99999.99")
    valued_product(client, auth, group, "New GIA", "gia", individual(couple["alice"]), [(tomorrow, "1.00")],
                   start=tomorrow)
    stored = expect_status(send(client, "GET", f"/v1/networth-statements/{made['id']}", headers=auth), 200)
    assert stored == made
    # The statement's day, asked for live, still shows what the statement showed.
    assert networth(client, auth, group, today) == made["networth"]
    listed = expect_status(send(client, "GET", f"{G}/{group}/networth-statements", headers=auth), 200)["items"]
    assert listed[0]["id"] == made["id"] and "networth" not in listed[0]


def test_statements_list_newest_first_with_filters(client: Any, firm_a: Firm, three: dict[str, Any]) -> None:
    group = three["group"]
    adviser, admin = firm_a.auth("adviser"), firm_a.auth("admin")
    made = [expect_status(send(client, "POST", f"{G}/{group}/networth-statements", headers=who,
                               body={"name": f"Statement {i}"}), 201)
            for i, who in enumerate((adviser, admin, adviser))]
    base = f"{G}/{group}/networth-statements"
    page = expect_status(send(client, "GET", f"{base}?limit=2", headers=adviser), 200)
    assert [s["id"] for s in page["items"]] == [made[2]["id"], made[1]["id"]] and page["next_cursor"]
    rest = expect_status(send(client, "GET", f"{base}?limit=2&cursor={page['next_cursor']}", headers=adviser), 200)
    assert made[0]["id"] in [s["id"] for s in rest["items"]]
    by_admin = expect_status(send(client, "GET", f"{base}?created_by={firm_a.users['admin']['id']}",
                                  headers=adviser), 200)["items"]
    assert [s["id"] for s in by_admin] == [made[1]["id"]]
    after = made[0]["created_at"]
    newer = expect_status(send(client, "GET", f"{base}?created_after={after.replace('+', '%2B')}",
                               headers=adviser), 200)["items"]
    assert {s["id"] for s in newer} == {made[1]["id"], made[2]["id"]}


def test_statements_are_immutable_whoever_asks(client: Any, firm_a: Firm, three: dict[str, Any]) -> None:
    from chalicelib.core import config

    made = expect_status(send(client, "POST", f"{G}/{three['group']}/networth-statements", headers=three["auth"],
                              body={"name": "Locked"}), 201)
    sid = made["id"]
    # No route changes or deletes one: 405 problem+json naming what the path has.
    for method in ("PATCH", "DELETE", "PUT"):
        resp = send(client, method, f"/v1/networth-statements/{sid}", headers=firm_a.auth("admin"),
                    body={"name": "Edited"} if method != "DELETE" else None)
        assert_problem(resp, 405)
        assert resp.headers["Allow"] == "GET, OPTIONS"
    # The owner role: the trigger refuses UPDATE, DELETE and TRUNCATE.
    for statement in ("UPDATE networth_statements SET name = 'Edited' WHERE id = %s",
                      "UPDATE networth_statements SET net_worth = 0, assets = 0, liabilities = 0 WHERE id = %s",
                      "DELETE FROM networth_statements WHERE id = %s"):
        with pytest.raises(psycopg.errors.RestrictViolation, match="immutable"):
            owner_sql(statement, (sid,))
    with pytest.raises(psycopg.errors.RestrictViolation, match="immutable"):
        owner_sql("TRUNCATE networth_statements")
    # The app role, in its own firm: no privilege to change or delete at all, flag or not.
    import jwt

    claims = jwt.decode(firm_a.tokens["admin"], options={"verify_signature": False})
    with psycopg.connect(config.app_database_url(), autocommit=False) as conn:
        for statement in ("UPDATE networth_statements SET name = 'Edited' WHERE id = %s",
                          "DELETE FROM networth_statements WHERE id = %s"):
            conn.execute("SELECT auth_enter_session(%s, %s, %s, %s)",
                         (claims["sid"], claims["sub"], claims["firm"], claims["role"]))
            conn.execute("SET LOCAL wealthdesk.networth_statement_retention = 'delete'")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, (sid,))
            conn.rollback()
    [row] = owner_sql("SELECT name, snapshot FROM networth_statements WHERE id = %s", (sid,))
    assert row["name"] == "Locked" and row["snapshot"] == made["networth"]
    # The household cannot be deleted from under its statements.
    assert_problem(send(client, "DELETE", f"{G}/{three['group']}", headers=firm_a.auth("admin")), 409)


def test_a_statement_is_audited_with_its_row_and_stored_as_answered(client: Any, firm_a: Firm,
                                                                     three: dict[str, Any]) -> None:
    """The answer's text is made once: what the database stores is the answer's `networth`, byte for byte as JSON
    values; the audit event (same transaction) carries the statement's row and its figures, not the snapshot."""
    import json

    resp = client.http.post(f"{G}/{three['group']}/networth-statements",
                            headers={**three["auth"], "Content-Type": "application/json"},
                            body=json.dumps({"name": "Audited"}))
    assert resp.status_code == 201, resp.body
    made = json.loads(resp.body)
    assert resp.headers["Location"] == f"/v1/networth-statements/{made['id']}"
    assert resp.headers["Content-Type"] == "application/json"
    assert list(made) == ["id", "client_group_id", "name", "as_of", "currency", "assets", "liabilities", "net_worth",
                          "created_at", "created_by_type", "created_by", "networth"]
    [row] = owner_sql("SELECT snapshot, assets, liabilities, net_worth, created_at FROM networth_statements "
                      "WHERE id = %s", (made["id"],))
    assert row["snapshot"] == made["networth"]
    assert (str(row["assets"]), str(row["liabilities"]), str(row["net_worth"])) == (
        made["assets"], made["liabilities"], made["net_worth"])
    [event] = owner_sql("SELECT before, after, changed_fields, request_id FROM audit_events WHERE firm_id = %s "
                        "AND action = 'networth_statement.create' AND resource_id = %s", (firm_a.id, made["id"]))
    assert event["before"] is None and event["request_id"] == resp.headers["X-Request-Id"]
    assert event["after"] == {k: v for k, v in made.items() if k != "networth"}
    assert "snapshot" not in event["changed_fields"] and "networth" not in event["changed_fields"]


def test_a_statement_replayed_by_its_idempotency_key_is_the_same_statement(client: Any, firm_a: Firm,
                                                                            three: dict[str, Any]) -> None:
    """The answer travels as already-made JSON text: an Idempotency-Key's replay gives the same bytes back, and
    only one statement (and one audit event) exists."""
    headers = {**three["auth"], "Content-Type": "application/json", "Idempotency-Key": "statement-once"}
    first = client.http.post(f"{G}/{three['group']}/networth-statements", headers=headers, body='{"name": "Once"}')
    assert first.status_code == 201, first.body
    again = client.http.post(f"{G}/{three['group']}/networth-statements", headers=headers, body='{"name": "Once"}')
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.body == first.body and again.headers["Location"] == first.headers["Location"]
    rows = owner_sql("SELECT id FROM networth_statements WHERE client_group_id = %s AND name = 'Once'",
                     (three["group"],))
    assert len(rows) == 1
    events = owner_sql("SELECT count(*) AS n FROM audit_events WHERE firm_id = %s AND resource_id = %s",
                       (firm_a.id, str(rows[0]["id"])))
    assert events[0]["n"] == 1


def test_only_an_explicit_retention_run_deletes_a_statement(client: Any, fresh_firm: Firm) -> None:
    auth = fresh_firm.auth("adviser")
    group, _ = household(client, auth, [("Solo", "2020-01-01")], "individual")
    made = expect_status(send(client, "POST", f"{G}/{group}/networth-statements", headers=auth,
                              body={"name": "To retire"}), 201)
    from chalicelib.core import db

    with db.owner_connection(autocommit=False) as conn:
        with pytest.raises(psycopg.errors.RestrictViolation):  # a flag set to anything else is no flag
            conn.execute("SET LOCAL wealthdesk.networth_statement_retention = 'yes'")
            conn.execute("DELETE FROM networth_statements WHERE id = %s", (made["id"],))
        conn.rollback()
        conn.execute("SET LOCAL wealthdesk.networth_statement_retention = 'delete'")
        with pytest.raises(psycopg.errors.RestrictViolation):  # the flag never allows an UPDATE
            conn.execute("UPDATE networth_statements SET name = 'x' WHERE id = %s", (made["id"],))
        conn.rollback()
        conn.execute("SET LOCAL wealthdesk.networth_statement_retention = 'delete'")
        assert conn.execute("DELETE FROM networth_statements WHERE id = %s", (made["id"],)).rowcount == 1
        conn.commit()
    assert_problem(send(client, "GET", f"/v1/networth-statements/{made['id']}", headers=auth), 404)


# --- snapshots and history -----------------------------------------------------------------------------------------

def test_the_job_twice_for_a_day_leaves_one_row_unchanged(client: Any, firm_a: Firm,
                                                          couple: dict[str, Any]) -> None:
    first = run_snapshots(date=date(2024, 6, 30))
    # The firm's admin sees its own part of the run: its households' rows, nobody else's.
    [run] = owner_sql("SELECT id FROM job_runs WHERE job_name = 'networth-snapshots' ORDER BY started_at DESC "
                      "LIMIT 1")
    parts = owner_sql("SELECT firm_id, figures FROM firm_job_runs WHERE run_id = %s", (run["id"],))
    mine = [p["figures"] for p in parts if p["firm_id"] == firm_a.id]
    households = owner_sql("SELECT count(*) AS n FROM client_groups WHERE firm_id = %s", (firm_a.id,))[0]["n"]
    assert mine == [{"rows_written": households, "days_taken": 1}]
    assert sum(p["figures"]["rows_written"] for p in parts) == first["rows_written"]
    shown = expect_status(send(client, "GET", "/v1/ops/job-runs?job=networth-snapshots",
                               headers=firm_a.auth("admin")), 200)["items"]
    assert shown[0]["figures"] == mine[0]
    rows = owner_sql("SELECT * FROM networth_snapshots WHERE client_group_id = %s AND snapshot_date = '2024-06-30'",
                     (couple["group"],))
    assert len(rows) == 1
    assert (str(rows[0]["assets"]), str(rows[0]["liabilities"]), str(rows[0]["net_worth"]),
            rows[0]["unconverted"]) == ("327345.73", "0.00", "327345.73", 1)
    second = run_snapshots(date=date(2024, 6, 30))
    assert second["days_skipped"] == 1 and second["rows_written"] == 0, (first, second)
    # Even forced through the statement (as a household added since would be), nothing changes.
    from chalicelib.core import db
    from chalicelib.networth import store

    with db.owner_connection() as conn:
        store.insert_snapshots(conn, date(2024, 6, 30), 60_000)
    again = owner_sql("SELECT * FROM networth_snapshots WHERE client_group_id = %s AND snapshot_date = '2024-06-30'",
                      (couple["group"],))
    assert again == rows
    [firm_total] = owner_sql("SELECT households, net_worth FROM networth_firm_totals WHERE firm_id = (SELECT firm_id "
                             "FROM client_groups WHERE id = %s) AND snapshot_date = '2024-06-30'", (couple["group"],))
    [summed] = owner_sql("SELECT count(*) AS households, sum(net_worth) AS net_worth FROM networth_snapshots "
                         "WHERE firm_id = (SELECT firm_id FROM client_groups WHERE id = %s) "
                         "AND snapshot_date = '2024-06-30'", (couple["group"],))
    assert firm_total == summed and summed["net_worth"] >= Decimal("327345.73")


def test_history_of_a_year_equals_the_live_figure_of_every_day(client: Any, fresh_firm: Firm) -> None:
    """A household valued on many days of the last year (and a product sold in the middle of it); the job
    backfills the year in one command; the history's every point equals GET networth?as_of= of its day."""
    auth = fresh_firm.auth("adviser")
    group, (p1, p2) = household(client, auth, [("Ann", "2020-01-01"), ("Ben", "2020-02-01")], "couple")
    today = date.fromisoformat(networth(client, auth, group)["as_of"])
    start = today - timedelta(days=400)
    days = [start + timedelta(days=i) for i in range(0, 400, 23)]
    valued_product(client, auth, group, "Shared", "gia", tenants({p1: "33.33", p2: "33.33"}),
                   [(d.isoformat(), f"{1000 + 7.77 * i:.2f}") for i, d in enumerate(days)], start=start.isoformat())
    valued_product(client, auth, group, "Joint", "pension", joint([p1, p2], "75.50"),
                   [(d.isoformat(), f"{333.33 * (i + 1):.2f}") for i, d in enumerate(days[::2])],
                   start=start.isoformat())
    sold = valued_product(client, auth, group, "Sold", "property", individual(p2),
                          [(days[3].isoformat(), "50000.00")], start=start.isoformat())
    end = (today - timedelta(days=120)).isoformat()
    expect_status(send(client, "PATCH", f"/v1/products/{sold['id']}", headers={**auth, "If-Match": '"1"'},
                       body={"end_date": end}), 200)
    # Held elsewhere: a mortgage paid down, a USD account whose rate moves, an item (recorded today).
    from tests.integration.networth_support import fx_rate, information_item, unmanaged_product

    unmanaged_product(client, auth, group, "Mortgage", "liability", "mortgage", joint([p1, p2]),
                      [(d.isoformat(), f"{200000 - 321.09 * i:.2f}") for i, d in enumerate(days[1::3])])
    unmanaged_product(client, auth, group, "Dollars", "asset", "bank_account", tenants({p1: "12.34"}),
                      [(d.isoformat(), f"{5000 + 99.99 * i:.2f}") for i, d in enumerate(days[::4])], currency="USD")
    for i, d in enumerate(days[2::5]):
        fx_rate(client, auth, "USD", d.isoformat(), f"0.7{i}3457")
    information_item(client, auth, group, "Boat", {"latest_valuation": "7777.77"}, individual(p2))
    figures = run_snapshots(from_=today - timedelta(days=365), to=today - timedelta(days=1))
    assert figures["days"] == 365 and figures["days_left"] == 0
    history = expect_status(send(client, "GET", f"{G}/{group}/networth/history?range=1y", headers=auth), 200)
    points = history["points"]
    year_ago = owner_sql("SELECT (CURRENT_DATE - interval '1 year')::date AS d")[0]["d"]
    assert history["from"] == year_ago.isoformat() and history["to"] == today.isoformat()
    expected = [today - timedelta(days=365 - i) for i in range(366)]
    assert [p["date"] for p in points] == [d.isoformat() for d in expected if d >= year_ago]
    assert points[-1]["live"] is True and not any(p["live"] for p in points[:-1])
    nonzero = 0
    for point in points:
        live = networth(client, auth, group, point["date"])["totals"]
        assert (point["assets"], point["liabilities"], point["net_worth"]) == (
            live["assets"]["total"], live["liabilities"]["total"], live["net_worth"]["total"]), point
        nonzero += point["net_worth"] != "0.00"
    assert nonzero > 300
    # 30d: the last 29 snapshots and today
    month = expect_status(send(client, "GET", f"{G}/{group}/networth/history?range=30d", headers=auth), 200)
    assert [p["date"] for p in month["points"]] == [p["date"] for p in points[-30:]]
    # from/to before today: snapshots only
    window = expect_status(send(client, "GET", f"{G}/{group}/networth/history?from={points[10]['date']}"
                                               f"&to={points[19]['date']}", headers=auth), 200)
    assert window["points"] == points[10:20] and not any(p["live"] for p in window["points"])


# --- bad input -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query,field", [
    ("as_of=2024-02-30", "as_of"), ("as_of=yesterday", "as_of"), ("as_of=1899-12-31", "as_of"),
    ("as_of=2024-06-30&as_of=2024-07-01", "as_of"), ("at=2024-06-30", "at")])
def test_bad_as_of_is_422(client: Any, couple: dict[str, Any], query: str, field: str) -> None:
    assert_problem(send(client, "GET", f"{G}/{couple['group']}/networth?{query}", headers=couple["auth"]), 422,
                   field)


def test_an_as_of_after_today_is_422(client: Any, couple: dict[str, Any]) -> None:
    today = date.fromisoformat(networth(client, couple["auth"], couple["group"])["as_of"])
    resp = send(client, "GET", f"{G}/{couple['group']}/networth?as_of={today + timedelta(days=1)}",
                headers=couple["auth"])
    assert_problem(resp, 422, "as_of")


@pytest.mark.parametrize("query", ["range=7d", "range=ALL", "range=1y&from=2024-01-01", "from=2024-06-30&to=2024-06-01",
                                   "to=2024-13-01", "range=", "from=2100-01-01"])
def test_bad_range_is_422(client: Any, couple: dict[str, Any], query: str) -> None:
    assert_problem(send(client, "GET", f"{G}/{couple['group']}/networth/history?{query}", headers=couple["auth"]),
                   422)


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 201}, {"name": "Q2", "as_of": "2024-06-30"},
                                  {"name": 7}])
def test_bad_statement_body_is_422(client: Any, couple: dict[str, Any], body: dict[str, Any]) -> None:
    before = owner_sql("SELECT count(*) AS n FROM networth_statements")[0]["n"]
    assert_problem(send(client, "POST", f"{G}/{couple['group']}/networth-statements", headers=couple["auth"],
                        body=body), 422)
    assert owner_sql("SELECT count(*) AS n FROM networth_statements")[0]["n"] == before


def test_unknown_ids_are_404(client: Any, couple: dict[str, Any]) -> None:
    import uuid

    nowhere = uuid.uuid4()
    for method, path in (("GET", f"{G}/{nowhere}/networth"), ("GET", f"{G}/{nowhere}/networth/history"),
                         ("GET", f"{G}/{nowhere}/networth-statements"), ("GET", f"/v1/networth-statements/{nowhere}"),
                         ("GET", "/v1/networth-statements/not-a-uuid")):
        assert_problem(send(client, method, path, headers=couple["auth"]), 404)
    assert_problem(send(client, "POST", f"{G}/{nowhere}/networth-statements", headers=couple["auth"],
                        body={"name": "Nobody"}), 404)


def test_the_dashboard_shows_the_firms_net_worth_under_advice(client: Any, fresh_firm: Firm) -> None:
    """Two households: 1,000.00 owned outright, and half of 2,000.01 (1,000.005 -> 1,000.01): 2,000.01 under advice
    once the job has taken the day; nothing before."""
    auth = fresh_firm.auth("adviser")
    first, (p1,) = household(client, auth, [("One", "2020-01-01")], "individual")
    second, (p2,) = household(client, auth, [("Two", "2020-01-01")], "individual")
    valued_product(client, auth, first, "Whole", "gia", individual(p1), [("2024-03-31", "1000.00")])
    valued_product(client, auth, second, "Half", "property", tenants({p2: "50.00"}), [("2024-03-31", "2000.01")])
    shown = expect_status(send(client, "GET", "/v1/dashboard", headers=auth), 200)["net_worth"]
    assert shown == {"as_of": None, "currency": None, "households": 0, "assets": "0.00", "liabilities": "0.00",
                     "net_worth": "0.00"}
    run_snapshots(date=date(2024, 4, 1))
    shown = expect_status(send(client, "GET", "/v1/dashboard", headers=auth), 200)["net_worth"]
    assert shown == {"as_of": "2024-04-01", "currency": "GBP", "households": 2, "assets": "2000.01",
                     "liabilities": "0.00", "net_worth": "2000.01"}


# --- the job by hand -------------------------------------------------------------------------------------------------

def _cli(*args: str) -> Any:
    from click.testing import CliRunner

    from chalicelib.cli import main

    return CliRunner().invoke(main, list(args))


def test_the_job_by_hand_a_day_and_a_range_in_one_command(couple: dict[str, Any]) -> None:
    import json

    result = _cli("job", "run", "networth-snapshots", "--from", "2024-07-01", "--to", "2024-07-03")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["status"] == "succeeded" and out["figures"]["days"] == 3 and out["figures"]["days_left"] == 0
    days = owner_sql("SELECT snapshot_date::text AS d, net_worth::text AS n FROM networth_snapshots "
                     "WHERE client_group_id = %s AND snapshot_date BETWEEN '2024-07-01' AND '2024-07-03' "
                     "ORDER BY snapshot_date", (couple["group"],))
    # Alice's ISA still at 12,345.67 until its 2024-07-31 valuation: 327,345.73 each day
    assert days == [{"d": f"2024-07-0{i}", "n": "327345.73"} for i in (1, 2, 3)]
    again = _cli("job", "run", "networth-snapshots", "--date", "2024-07-02")
    assert again.exit_code == 0 and json.loads(again.stdout.strip().splitlines()[-1])["figures"]["days_skipped"] == 1
    assert [r["job_name"] for r in owner_sql("SELECT job_name FROM job_runs ORDER BY started_at DESC LIMIT 2")] == [
        "networth-snapshots", "networth-snapshots"]


@pytest.mark.parametrize("args,message", [
    (("--date", "2024-07-01", "--from", "2024-06-01"), "not both"),
    (("--to", "2024-07-01"), "--to needs --from"),
    (("--date", "2024-02-30"), "2024-02-30"),
])
def test_the_job_by_hand_refuses_bad_dates_before_running(args: tuple[str, ...], message: str) -> None:
    before = owner_sql("SELECT count(*) AS n FROM job_runs")[0]["n"]
    result = _cli("job", "run", "networth-snapshots", *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert owner_sql("SELECT count(*) AS n FROM job_runs")[0]["n"] == before


def test_the_job_refuses_a_day_after_today_and_an_option_another_job_takes() -> None:
    result = _cli("job", "run", "networth-snapshots", "--date", "2099-01-01")
    assert result.exit_code == 1 and "after today" in result.output
    assert owner_sql("SELECT status FROM job_runs ORDER BY started_at DESC LIMIT 1") == [{"status": "failed"}]
    result = _cli("job", "run", "audit-partitions", "--date", "2024-01-01")
    assert result.exit_code == 2 and "takes no --date" in result.output
