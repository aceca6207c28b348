"""GET /v1/client-groups/{id}/overview: a household in one answer, and POST /v1/irr, the IRR of any selection.

The overview's figures are checked against what the per-item endpoints answer for the same rows (each fund's IRR
against GET /v1/portfolio-funds/{id}/irr, each product's against /v1/products/{id}/irr, the household's against
/v1/client-groups/{id}/irr, revenue against the revenue endpoints) and its sums against the cash flows this file
wrote, on demo-like data: several products with monthly valuations of a random-walk price, regular investments,
tax uplifts, withdrawals, switches between funds, funds that ended, a lapsed product and one never valued. The
statements a request sends PostgreSQL are counted from libpq's protocol trace.
"""
from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.matrix_support import (
    Household,
    add_member,
    create_fund,
    create_generation,
    create_household,
    create_product,
    create_product_owner,
    create_provider,
    create_template,
    expect_status,
    send,
)
from tests.pgtrace import round_trips_sent

METHODS = ("kingston_monthly", "xirr")
IRR_KEYS = ("irr", "from", "to", "reason")
MONEY_IN = ("investment", "regular_investment", "tax_uplift")
MONEY_OUT = ("withdrawal", "regular_withdrawal")
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def firm(database: str) -> Firm:
    return make_firm()


@pytest.fixture
def w(firm: Firm) -> dict[str, str]:
    return firm.auth("adviser")


def get(client: Any, path: str, auth: dict[str, str], **query: str) -> dict[str, Any]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return expect_status(send(client, "GET", path + (f"?{qs}" if qs else ""), headers=auth), 200)


def overview(client: Any, group_id: str, auth: dict[str, str], **query: str) -> dict[str, Any]:
    return get(client, f"/v1/client-groups/{group_id}/overview", auth, **query)


def figure(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: answer[k] for k in IRR_KEYS}


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def month_ends(first: date, count: int) -> list[date]:
    out, y, m = [], first.year, first.month
    for _ in range(count):
        out.append(month_end(y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# --- demo-like data, written through the API ---------------------------------------------------------------------

@dataclass
class FundPlan:
    """One portfolio fund's history: a random-walk price valued every month end from its first month; money in at
    the start; optionally regular investments, a tax uplift, a withdrawal; it may end by switching everything into
    another fund of the product, or by a full withdrawal, on a month end (valued 0 that day)."""

    initial: Decimal
    regular: Decimal = Decimal(0)
    start_month: int = 0
    withdraw_at: int | None = None
    uplift_at: int | None = None
    switch_out_at: int | None = None  # month index: everything goes into `switch_to`
    switch_to: int | None = None  # index of the receiving fund in the product
    close_at: int | None = None  # month index: a full withdrawal, then ended
    cash: bool = False


@dataclass
class Written:
    product_id: str
    name: str
    pf_ids: list[str]
    activity: list[tuple[str, str, str, Decimal]] = field(default_factory=list)  # (pf, date, type, amount)
    values: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)  # pf -> [(date, value)]
    ended: set[str] = field(default_factory=set)


def write_product(client: Any, w: dict[str, str], house: Household, plans: list[FundPlan], *, months: int,
                  first: date, rng: random.Random, **product: Any) -> Written:
    """A product whose funds follow `plans` for `months` month ends from `first`, written with the bulk endpoints."""
    days = month_ends(first, months)
    made = create_product(client, w, house, start_date=first.isoformat(), **product)
    pid = made["id"]
    funds = [create_fund(client, w, is_cash=p.cash) for p in plans]
    pfs = [expect_status(send(client, "POST", f"/v1/products/{pid}/funds", headers=w, body={
        "fund_id": f["id"], "start_date": (first if p.start_month == 0 else days[p.start_month - 1]
                                           + timedelta(days=1)).isoformat()}), 201)["id"]
        for f, p in zip(funds, plans, strict=True)]
    out = Written(pid, made["name"], pfs, values={pf: [] for pf in pfs})
    units = [Decimal(0)] * len(plans)
    price = [Decimal(1)] * len(plans)
    open_ = [False] * len(plans)
    for k, day in enumerate(days):
        moves: list[tuple[int, str, Decimal]] = []
        for i, p in enumerate(plans):
            if p.cash:
                continue
            price[i] = (price[i] * Decimal(1 + rng.gauss(0.004, 0.03))).quantize(Decimal("0.000001"))
        for i, p in enumerate(plans):
            if k < p.start_month or (not open_[i] and k > p.start_month):
                continue
            if k == p.start_month:
                open_[i] = True
                moves.append((i, "investment", p.initial))
                continue
            if p.regular and k % 3 != 1:
                moves.append((i, "regular_investment", p.regular))
            if p.uplift_at == k:
                moves.append((i, "tax_uplift", (p.initial * Decimal("0.2")).quantize(CENT)))
            if p.withdraw_at == k:
                moves.append((i, "withdrawal", (units[i] * price[i] * Decimal("0.15")).quantize(CENT)))
        for i, kind, amount in moves:
            units[i] += (amount if kind in MONEY_IN else -amount) / price[i]
            out.activity.append((pfs[i], day.isoformat(), kind, amount))
        for i, p in enumerate(plans):
            if open_[i] and p.switch_out_at == k:
                value = (units[i] * price[i]).quantize(CENT)
                out.activity.append((pfs[i], day.isoformat(), "switch_out", value))
                out.activity.append((pfs[p.switch_to], day.isoformat(), "switch_in", value))
                units[p.switch_to] += value / price[p.switch_to]
                units[i] = Decimal(0)
                open_[i] = False
                out.values[pfs[i]].append((day, Decimal("0.00")))
                out.ended.add(pfs[i])
            elif open_[i] and p.close_at == k:
                value = (units[i] * price[i]).quantize(CENT)
                out.activity.append((pfs[i], day.isoformat(), "withdrawal", value))
                units[i] = Decimal(0)
                open_[i] = False
                out.values[pfs[i]].append((day, Decimal("0.00")))
                out.ended.add(pfs[i])
        for i in range(len(plans)):
            if open_[i]:
                out.values[pfs[i]].append((day, max(Decimal(0), (units[i] * price[i]).quantize(CENT))))
    if out.activity:
        expect_status(send(client, "POST", f"/v1/products/{pid}/activity:bulk", headers=w, body={"activities": [
            {"portfolio_fund_id": pf, "activity_date": d, "activity_type": t, "amount": str(a)}
            for pf, d, t, a in out.activity]}), 201)
    valuations = [{"portfolio_fund_id": pf, "valuation_date": d.isoformat(), "value": str(v)}
                  for pf, vs in out.values.items() for d, v in vs]
    if valuations:
        expect_status(send(client, "POST", f"/v1/products/{pid}/valuations:bulk", headers=w,
                           body={"valuations": valuations}), 201)
    versions = {f["id"]: f["version"] for f in get(client, f"/v1/products/{pid}/funds", w)["items"]}
    for pf in out.ended:
        last = max(d for d, _ in out.values[pf])
        version = versions[pf]
        expect_status(send(client, "PATCH", f"/v1/portfolio-funds/{pf}", headers={**w, "If-Match": f'"{version}"'},
                           body={"end_date": last.isoformat()}), 200)
    return out


@dataclass
class DemoHousehold:
    house: Household
    second_owner: str
    products: list[Written]
    lapsed: str
    unvalued: str


def demo_household(client: Any, w: dict[str, str], seed: int = 7) -> DemoHousehold:
    """Six products: an ISA owned by tenants in common with a switch out of one fund into another and a fund
    closed by a full withdrawal (both ended), a pension made from a template generation, a jointly owned GIA with
    a cash fund, a withdrawal, a tax uplift and a fund switched out, a pension emptied and lapsed, a bond whose two
    funds both closed (still active, worth 0), and a bond not valued yet."""
    rng = random.Random(seed)
    house = create_household(client, w)
    second = create_product_owner(client, w, known_as="Jo")["id"]
    add_member(client, w, house.group_id, second)
    provider = create_provider(client, w)
    template = create_template(client, w)
    gen_funds = [create_fund(client, w), create_fund(client, w)]
    generation = create_generation(client, w, template["id"], [(gen_funds[0]["id"], "60.00"),
                                                                (gen_funds[1]["id"], "40.00")])
    isa = write_product(client, w, house, [
        FundPlan(Decimal("30000.00"), Decimal("250.00"), withdraw_at=14),
        FundPlan(Decimal("20000.00"), switch_out_at=11, switch_to=0),
        FundPlan(Decimal("10000.00"), Decimal("100.00"), close_at=17),
        FundPlan(Decimal("5000.00"), start_month=6, uplift_at=9),
    ], months=30, first=date(2021, 1, 1), rng=rng, provider_id=provider["id"],
        fixed_fee_direct="250.00", fixed_fee_facilitated="100.00", percentage_fee_facilitated="0.7500",
        ownership={"association_type": "tenants_in_common", "shares": {house.owner_id: "60.00", second: "40.00"}})
    # the generation is recorded on a product created from it (its funds are copied in and valued here)
    templated = create_product(client, w, house, start_date="2021-06-01", template_generation_id=generation["id"],
                               product_type="pension")
    gia = write_product(client, w, house, [
        FundPlan(Decimal("50000.00"), withdraw_at=8, uplift_at=3),
        FundPlan(Decimal("2000.00"), cash=True),
        FundPlan(Decimal("15000.00"), Decimal("500.00"), start_month=2, switch_out_at=20, switch_to=0),
    ], months=26, first=date(2021, 4, 1), rng=rng, product_type="gia", percentage_fee_facilitated="0.5000",
        ownership={"association_type": "joint", "joint_owners": [house.owner_id, second],
                   "collective_percentage": "100.00"})
    pension = write_product(client, w, house, [FundPlan(Decimal("8000.00"), close_at=12)], months=13,
                            first=date(2021, 2, 1), rng=rng, product_type="pension", fixed_fee_direct="50.00")
    closed = write_product(client, w, house, [FundPlan(Decimal("12000.00"), Decimal("150.00"), close_at=9),
                                              FundPlan(Decimal("6000.00"), withdraw_at=4, close_at=15)],
                           months=16, first=date(2021, 3, 1), rng=rng, product_type="offshore_bond")
    expect_status(send(client, "POST", f"/v1/products/{pension.product_id}/lapse", headers=w), 200)
    unvalued = create_product(client, w, house, start_date="2022-01-01", product_type="onshore_bond")
    ufund = expect_status(send(client, "POST", f"/v1/products/{unvalued['id']}/funds", headers=w, body={
        "fund_id": create_fund(client, w)["id"], "start_date": "2022-01-01"}), 201)["id"]
    expect_status(send(client, "POST", f"/v1/portfolio-funds/{ufund}/activity", headers=w, body={
        "activity_date": "2022-01-05", "activity_type": "investment", "amount": "1000.00"}), 201)
    # the templated product's copied funds: valued twice, with money in
    tfunds = get(client, f"/v1/products/{templated['id']}/funds", w)["items"]
    expect_status(send(client, "POST", f"/v1/products/{templated['id']}/activity:bulk", headers=w, body={
        "activities": [{"portfolio_fund_id": f["id"], "activity_date": "2021-06-01", "activity_type": "investment",
                        "amount": "6000.00"} for f in tfunds]}), 201)
    expect_status(send(client, "POST", f"/v1/products/{templated['id']}/valuations:bulk", headers=w, body={
        "valuations": [{"portfolio_fund_id": f["id"], "valuation_date": d, "value": v} for f in tfunds
                       for d, v in (("2021-12-31", "6100.00"), ("2022-06-30", "6420.50"))]}), 201)
    # one of them valued again alone: its own latest valuation is later than the product's latest complete one
    expect_status(send(client, "POST", f"/v1/portfolio-funds/{tfunds[0]['id']}/valuations", headers=w, body={
        "valuation_date": "2022-07-15", "value": "6600.00"}), 201)
    return DemoHousehold(house, second, [isa, gia, pension, closed], pension.product_id, unvalued["id"])


@pytest.fixture(scope="module")
def demo(app_module: Any, firm: Firm) -> DemoHousehold:
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        return demo_household(c, firm.auth("adviser"))


# --- the overview's figures equal the per-item endpoints' --------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_every_irr_equals_the_per_item_endpoints(client: Any, firm: Firm, demo: DemoHousehold, method: str) -> None:
    r = firm.auth("viewer")
    body = overview(client, demo.house.group_id, r, method=method)
    assert body["method"] == method and len(body["products"]) == 6
    group_irr = get(client, f"/v1/client-groups/{demo.house.group_id}/irr", r, method=method)
    assert body["totals"]["irr"] == figure(group_irr)
    assert group_irr["irr"] is not None
    checked_funds, checked_previous = 0, []
    for product in body["products"]:
        assert product["irr"] == figure(get(client, f"/v1/products/{product['id']}/irr", r, method=method))
        for fund in product["funds"]:
            assert fund["irr"] == figure(get(client, f"/v1/portfolio-funds/{fund['portfolio_fund_id']}/irr", r,
                                             method=method))
            checked_funds += 1
        previous = product["previous_funds"]
        if previous:
            pooled = expect_status(send(client, "POST", "/v1/irr", headers=r, body={
                "portfolio_fund_ids": previous["portfolio_fund_ids"], "method": method}), 200)
            assert previous["irr"] == figure(pooled)
            if not product["funds"]:
                # every fund of the product has ended: pooled, they are the product (valued on the same days)
                assert previous["irr"]["irr"] is not None and previous["irr"]["reason"] is None
                assert abs(Decimal(previous["irr"]["irr"]) - Decimal(product["irr"]["irr"])) <= Decimal("1e-9")
                assert (previous["irr"]["from"], previous["irr"]["to"]) == (product["irr"]["from"],
                                                                          product["irr"]["to"])
                checked_previous.append(product["id"])
    assert checked_funds >= 7
    assert sorted(checked_previous) == sorted([demo.lapsed, demo.products[3].product_id])
    # the figures are real: most funds and the products with values have a rate
    rates = [f["irr"]["irr"] for p in body["products"] for f in p["funds"]]
    assert sum(x is not None for x in rates) >= 6


def test_previous_funds_are_one_line_per_product(client: Any, firm: Firm, demo: DemoHousehold) -> None:
    r = firm.auth("analyst")
    body = overview(client, demo.house.group_id, r)
    by_id = {p["id"]: p for p in body["products"]}
    for written in demo.products:
        product = by_id[written.product_id]
        listed = {f["portfolio_fund_id"] for f in product["funds"]}
        assert listed == set(written.pf_ids) - written.ended
        previous = product["previous_funds"]
        if not written.ended:
            assert previous is None
            continue
        n = len(written.ended)
        assert previous["label"] == f"Previous funds ({n})" and previous["count"] == n
        assert set(previous["portfolio_fund_ids"]) == written.ended
        assert Decimal(previous["valuation"]) == 0  # each was emptied on its last day
        for kind in ("invested", "withdrawn", "switched_in", "switched_out"):
            assert Decimal(previous[kind]) == expected_sums(written, written.ended)[kind]
        # pooled, never averaged: a pooled figure exists even where the funds' own figures differ
        assert previous["irr"]["irr"] is not None
    isa = by_id[demo.products[0].product_id]
    assert isa["previous_funds"]["count"] == 2  # the fund switched out and the fund closed


def expected_sums(written: Written, pfs: set[str]) -> dict[str, Decimal]:
    out = {"invested": Decimal(0), "withdrawn": Decimal(0), "switched_in": Decimal(0), "switched_out": Decimal(0)}
    for pf, _day, kind, amount in written.activity:
        if pf not in pfs:
            continue
        key = "invested" if kind in MONEY_IN else "withdrawn" if kind in MONEY_OUT else \
            "switched_in" if kind == "switch_in" else "switched_out"
        out[key] += amount
    return out


def test_values_sums_fees_revenue_and_owners(client: Any, firm: Firm, demo: DemoHousehold) -> None:
    r = firm.auth("viewer")
    body = overview(client, demo.house.group_id, r)
    assert body["client_group_id"] == demo.house.group_id and body["as_of"] == date.today().isoformat()
    by_id = {p["id"]: p for p in body["products"]}
    for written in demo.products:
        product = by_id[written.product_id]
        for fund in product["funds"]:
            pf = fund["portfolio_fund_id"]
            last_day, last_value = max(written.values[pf])
            assert (fund["valuation_date"], Decimal(fund["valuation"])) == (last_day.isoformat(), last_value)
            for kind, amount in expected_sums(written, {pf}).items():
                assert Decimal(fund[kind]) == amount, (pf, kind)
        for kind, amount in expected_sums(written, set(written.pf_ids)).items():
            assert Decimal(product[kind]) == amount, kind
        series = get(client, f"/v1/products/{written.product_id}/valuations", r, limit="200")["items"]
        assert (product["valuation_date"], product["valuation"]) == (series[-1]["valuation_date"],
                                                                     series[-1]["value"])
        revenue = get(client, f"/v1/products/{written.product_id}/revenue", r)
        assert product["revenue"] == revenue["revenue"]
        assert (product["fixed_fee_direct"], product["fixed_fee_facilitated"],
                product["percentage_fee_facilitated"]) == (revenue["fixed_fee_direct"],
                                                           revenue["fixed_fee_facilitated"],
                                                           revenue["percentage_fee_facilitated"])
        shown = get(client, f"/v1/products/{written.product_id}", r)
        assert product["ownership"] == shown["ownership"]
        for key in ("name", "product_type", "status", "start_date", "end_date", "plan_number", "currency"):
            assert product[key] == shown[key], key
    isa, gia = by_id[demo.products[0].product_id], by_id[demo.products[1].product_id]
    assert isa["provider"]["id"] == get(client, f"/v1/products/{isa['id']}", r)["provider_id"]
    assert [(o["product_owner_id"], o["share"]) for o in isa["owners"]] == [(demo.house.owner_id, "60.00"),
                                                                           (demo.second_owner, "40.00")]
    assert gia["provider"] is None
    assert [(o["product_owner_id"], o["share"]) for o in gia["owners"]] == [(demo.house.owner_id, "100.00"),
                                                                           (demo.second_owner, "100.00")]
    assert gia["owners"][1]["name"].startswith("Jo ")  # known_as before the first name
    templated = next(p for p in body["products"] if p["template_generation"] is not None)
    assert templated["template_generation"]["generation"] == 1 and templated["portfolio_template"]["name"]
    assert templated["valuation"] == "12841.00" and templated["invested"] == "12000.00"
    assert templated["valuation_date"] == "2022-06-30" and templated["irr"]["to"] == "2022-06-30"
    assert sorted((f["valuation_date"], f["irr"]["to"]) for f in templated["funds"]) == [
        ("2022-06-30", "2022-06-30"), ("2022-07-15", "2022-07-15")]
    unvalued = by_id[demo.unvalued]
    assert unvalued["valuation"] is None and unvalued["irr"]["reason"] == "no valuation yet"
    assert unvalued["funds"][0]["irr"]["reason"] == "no valuation yet" and unvalued["invested"] == "1000.00"
    # household: FUM and revenue over active products (the lapsed pension is out), flows over all
    active = [p for p in body["products"] if p["status"] == "active"]
    assert by_id[demo.lapsed]["status"] == "lapsed" and body["products"][-1]["id"] == demo.lapsed
    totals = body["totals"]
    assert Decimal(totals["funds_under_management"]) == sum(Decimal(p["valuation"] or 0) for p in active)
    assert totals["revenue"] == get(client, f"/v1/client-groups/{demo.house.group_id}/revenue", r)["revenue"]
    for kind in ("invested", "withdrawn", "switched_in", "switched_out"):
        assert Decimal(totals[kind]) == sum(Decimal(p[kind]) for p in body["products"])
    assert Decimal(totals["switched_in"]) == Decimal(totals["switched_out"]) > 0


def test_the_demo_loaders_households_agree_with_the_per_item_endpoints(client: Any) -> None:
    """Households as chalicelib.demo loads them (ten years of month ends for some products)."""
    from chalicelib import demo

    fresh = make_firm()
    demo.load(fresh.id, 3, [fresh.users["adviser"]["id"]], seed=11)
    r = fresh.auth("viewer")
    groups = [g["id"] for g in get(client, "/v1/client-groups", r, limit="10")["items"]]
    assert len(groups) == 3
    for gid in groups:
        for method in METHODS:
            body = overview(client, gid, r, method=method)
            assert body["totals"]["irr"] == figure(get(client, f"/v1/client-groups/{gid}/irr", r, method=method))
            assert body["totals"]["revenue"] == get(client, f"/v1/client-groups/{gid}/revenue", r)["revenue"]
            for product in body["products"]:
                assert product["irr"] == figure(get(client, f"/v1/products/{product['id']}/irr", r, method=method))
                for fund in product["funds"]:
                    assert fund["irr"] == figure(get(client, f"/v1/portfolio-funds/{fund['portfolio_fund_id']}/irr",
                                                     r, method=method))


def test_an_empty_household(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    body = overview(client, house.group_id, w)
    assert body["products"] == []
    assert body["totals"] == {"funds_under_management": "0.00", "revenue": "0.00", "invested": "0.00",
                              "withdrawn": "0.00", "switched_in": "0.00", "switched_out": "0.00",
                              "irr": {"irr": None, "from": None, "to": None, "reason": "no valuation yet"}}
    assert figure(get(client, f"/v1/client-groups/{house.group_id}/irr", w)) == body["totals"]["irr"]


# --- refusals ------------------------------------------------------------------------------------------------------

def test_another_firm_bad_ids_and_bad_queries(client: Any, firm_b: Firm, demo: DemoHousehold,
                                              w: dict[str, str]) -> None:
    path = f"/v1/client-groups/{demo.house.group_id}/overview"
    assert_problem(send(client, "GET", path, headers=firm_b.auth("admin")), 404, detail="No such client group")
    assert_problem(send(client, "GET", "/v1/client-groups/not-a-uuid/overview", headers=w), 404)
    assert_problem(send(client, "GET", f"/v1/client-groups/{demo.unvalued}/overview", headers=w), 404)
    assert_problem(send(client, "GET", path + "?method=average", headers=w), 422, "method")
    assert_problem(send(client, "GET", path + "?from=2021-01-01", headers=w), 422, "from")
    assert_problem(send(client, "GET", path), 401)


# --- ETag and If-None-Match ----------------------------------------------------------------------------------------

def test_etag_and_if_none_match(client: Any, firm: Firm, firm_b: Firm, demo: DemoHousehold,
                                w: dict[str, str]) -> None:
    path = f"/v1/client-groups/{demo.house.group_id}/overview"
    first = send(client, "GET", path, headers=w)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = send(client, "GET", path, headers=w)
    assert again.headers["ETag"] == etag and again.body == first.body  # nothing changed: the same bytes
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        not_modified = send(client, "GET", path, headers={**w, "If-None-Match": sent})
        assert not_modified.status_code == 304, sent
        assert not_modified.body in (b"", None, "") and not_modified.headers["ETag"] == etag
        assert "Content-Type" not in not_modified.headers
    assert send(client, "GET", path, headers={**w, "If-None-Match": '"other"'}).status_code == 200
    # the method is part of the answer, so of its tag
    xirr = send(client, "GET", path + "?method=xirr", headers={**w, "If-None-Match": etag})
    assert xirr.status_code == 200 and xirr.headers["ETag"] != etag
    # every user of the firm gets the same answer (and tag); another firm's If-None-Match does not reveal it
    assert send(client, "GET", path, headers={**firm.auth("viewer"), "If-None-Match": etag}).status_code == 304


def _etag(client: Any, group_id: str, auth: dict[str, str]) -> str:
    resp = send(client, "GET", f"/v1/client-groups/{group_id}/overview", headers=auth)
    assert resp.status_code == 200
    return resp.headers["ETag"]


def test_every_kind_of_write_changes_the_etag(client: Any, w: dict[str, str]) -> None:
    """A write to the group, a product, a portfolio fund, a valuation (even an old one that no figure shows), a
    cash flow, an owner or the catalogue behind a product gives another ETag; a request that writes nothing keeps
    it, and the old tag then gets the whole answer again."""
    rng = random.Random(3)
    house = create_household(client, w)
    written = write_product(client, w, house, [FundPlan(Decimal("1000.00")), FundPlan(Decimal("500.00"))],
                            months=6, first=date(2022, 1, 1), rng=rng, provider_id=create_provider(client, w)["id"])
    pid, pf = written.product_id, written.pf_ids[0]
    path = f"/v1/client-groups/{house.group_id}/overview"
    seen = [_etag(client, house.group_id, w)]

    def changed(what: str) -> None:
        # (a write that puts back rows exactly as they were, a valuation added then deleted, may give back an
        # earlier tag: the answer is then that earlier one's too)
        tag = _etag(client, house.group_id, w)
        assert tag != seen[-1], f"{what} left the ETag as it was"
        old = send(client, "GET", path, headers={**w, "If-None-Match": seen[-1]})
        assert old.status_code == 200, what
        seen.append(tag)

    def version(path_: str) -> str:
        return f'"{get(client, path_, w)["version"]}"'

    # nothing written: the same tag
    get(client, f"/v1/products/{pid}/irr", w)
    assert _etag(client, house.group_id, w) == seen[-1]
    valuations = get(client, f"/v1/portfolio-funds/{pf}/valuations", w, limit="200")["items"]
    oldest = valuations[0]
    expect_status(send(client, "PATCH", f"/v1/fund-valuations/{oldest['id']}", headers={
        **w, "If-Match": f'"{oldest["version"]}"'}, body={"value": str(Decimal(oldest["value"]) + 1)}), 200)
    changed("an old valuation changed")
    new_value = expect_status(send(client, "POST", f"/v1/portfolio-funds/{pf}/valuations", headers=w,
                                   body={"valuation_date": "2022-07-15", "value": "1234.00"}), 201)
    changed("a valuation added")
    expect_status(send(client, "DELETE", f"/v1/fund-valuations/{new_value['id']}", headers=w), 204)
    changed("a valuation deleted")
    flow = expect_status(send(client, "POST", f"/v1/portfolio-funds/{pf}/activity", headers=w, body={
        "activity_date": "2022-03-10", "activity_type": "fee", "amount": "3.00"}), 201)
    changed("a fee added (no figure shows fees)")
    expect_status(send(client, "DELETE", f"/v1/activity/{flow['id']}", headers=w), 204)
    changed("a cash flow deleted")
    expect_status(send(client, "PATCH", f"/v1/products/{pid}", headers={**w, "If-Match": version(
        f"/v1/products/{pid}")}, body={"notes": "reviewed"}), 200)
    changed("a product edited")
    second = next(f for f in get(client, f"/v1/products/{pid}/funds", w)["items"] if f["id"] == written.pf_ids[1])
    expect_status(send(client, "PATCH", f"/v1/portfolio-funds/{second['id']}", headers={
        **w, "If-Match": f'"{second["version"]}"'}, body={"target_weighting": "10.00"}), 200)
    changed("a portfolio fund edited")
    expect_status(send(client, "POST", f"/v1/products/{pid}/funds", headers=w, body={
        "fund_id": create_fund(client, w)["id"], "start_date": "2022-06-01"}), 201)
    changed("a portfolio fund added")
    expect_status(send(client, "PATCH", f"/v1/product-owners/{house.owner_id}", headers={
        **w, "If-Match": version(f"/v1/product-owners/{house.owner_id}")}, body={"known_as": "Sam"}), 200)
    changed("an owner renamed")
    provider = get(client, f"/v1/products/{pid}", w)["provider_id"]
    expect_status(send(client, "PATCH", f"/v1/providers/{provider}", headers={
        **w, "If-Match": version(f"/v1/providers/{provider}")}, body={"name": f"Renamed {rng.random()}"}), 200)
    changed("the provider renamed")
    expect_status(send(client, "PATCH", f"/v1/client-groups/{house.group_id}", headers={
        **w, "If-Match": version(f"/v1/client-groups/{house.group_id}")}, body={"name": "Renamed household"}), 200)
    changed("the group renamed")
    create_product(client, w, house, start_date="2022-02-01")
    changed("a product added")
    # raw SQL, as an operator might write it, bypassing every version column
    owner_sql("UPDATE fund_valuations SET value = value WHERE portfolio_fund_id = %s AND valuation_date = "
              "(SELECT min(valuation_date) FROM fund_valuations WHERE portfolio_fund_id = %s)", (pf, pf))
    changed("a valuation rewritten by raw SQL")


# --- a fixed number of statements ----------------------------------------------------------------------------------

# A request for the overview is exactly these round trips, whatever the household's size: BEGIN with the tenant
# context (the session check, the count and the entry, in one message: db.Tx.first), the overview's one statement,
# COMMIT (docs/architecture.md).
OVERVIEW_ROUND_TRIPS = 3


@pytest.fixture
def one_connection(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app's pool with one connection, so that every statement of a request goes through the traced one."""
    from chalicelib.core import db

    monkeypatch.setenv("DB_POOL_MAX", "1")
    db.close_pools()
    yield db.pool()
    db.close_pools()


def test_the_overview_is_a_fixed_number_of_round_trips(client: Any, firm: Firm, w: dict[str, str],
                                                       one_connection: Any) -> None:
    rng = random.Random(5)
    small = create_household(client, w)
    write_product(client, w, small, [FundPlan(Decimal("1000.00"))], months=3, first=date(2022, 1, 1), rng=rng)
    large = create_household(client, w)
    for k in range(4):
        plans = [FundPlan(Decimal("10000.00"), Decimal("100.00"), withdraw_at=5) for _ in range(5)]
        plans.append(FundPlan(Decimal("3000.00"), switch_out_at=4, switch_to=0))
        plans.append(FundPlan(Decimal("3000.00"), close_at=6))
        write_product(client, w, large, plans, months=12, first=date(2021, 1 + k, 1), rng=rng)
    sizes = owner_sql("SELECT count(DISTINCT pf.id) AS funds, count(DISTINCT v.id) AS valuations FROM portfolio_funds "
                      "pf JOIN products p ON p.id = pf.product_id LEFT JOIN fund_valuations v "
                      "ON v.portfolio_fund_id = pf.id WHERE p.client_group_id = %s", (large.group_id,))[0]
    assert sizes["funds"] == 28 and sizes["valuations"] > 250
    r = firm.auth("viewer")
    counts = {}
    for name, house in (("small", small), ("large", large)):
        path = f"/v1/client-groups/{house.group_id}/overview"
        for method in METHODS:
            send(client, "GET", path, headers=r)  # the connection is fresh: no liveness check inside the count

            def call(path: str = path, method: str = method) -> None:
                assert send(client, "GET", f"{path}?method={method}", headers=r).status_code == 200

            counts[(name, method)] = round_trips_sent(one_connection, call)
        etag = send(client, "GET", path, headers=r).headers["ETag"]

        def conditional(path: str = path, etag: str = etag) -> None:
            assert send(client, "GET", path, headers={**r, "If-None-Match": etag}).status_code == 304

        counts[(name, "304")] = round_trips_sent(one_connection, conditional)
    body = overview(client, large.group_id, r)
    assert sum(len(p["funds"]) for p in body["products"]) == 20
    assert [p["previous_funds"]["count"] for p in body["products"]] == [2, 2, 2, 2]
    for key, trips in counts.items():
        assert len(trips) == OVERVIEW_ROUND_TRIPS, (key, trips)
        assert [len(trip) for trip in trips] == [1, 1, 1], (key, trips)
    shapes = {tuple(s[:20] for trip in trips for s in trip) for trips in counts.values()}
    assert len(shapes) == 1, shapes
    assert counts[("large", "kingston_monthly")][0][0].startswith("BEGIN; SELECT auth_enter_session(")


# --- POST /v1/irr ---------------------------------------------------------------------------------------------------

def irr_of(client: Any, auth: dict[str, str], ids: list[str], **fields: Any) -> Any:
    return send(client, "POST", "/v1/irr", headers=auth, body={"portfolio_fund_ids": ids, **fields})


@pytest.mark.parametrize("method", METHODS)
def test_selection_irr_of_one_fund_is_the_funds(client: Any, firm: Firm, demo: DemoHousehold, method: str) -> None:
    r = firm.auth("viewer")
    for written in demo.products:
        for pf in written.pf_ids:
            for period in ({}, {"from": "2021-06-15"}, {"to": "2022-03-31"}, {"from": "2021-09-30",
                                                                               "to": "2022-12-31"}):
                one = expect_status(irr_of(client, r, [pf], method=method, include="flows", **period), 200)
                query = "&".join(f"{k}={v}" for k, v in {"method": method, "include": "flows", **period}.items())
                assert one == get(client, f"/v1/portfolio-funds/{pf}/irr?{query}", r), (pf, period)


@pytest.mark.parametrize("method", METHODS)
def test_selection_irr_of_all_a_products_funds_is_the_products(client: Any, firm: Firm, demo: DemoHousehold,
                                                               method: str) -> None:
    """The demo products value every fund on the same month ends and switch or close funds on a month end
    (valued 0 that day): the funds pooled then rest on the same flows and values as the product."""
    r = firm.auth("viewer")
    for written in demo.products:
        for period in ({}, {"from": "2021-08-31"}, {"to": "2022-02-28"}):
            pooled = expect_status(irr_of(client, r, written.pf_ids, method=method, **period), 200)
            query = "&".join(f"{k}={v}" for k, v in {"method": method, **period}.items())
            product = get(client, f"/v1/products/{written.product_id}/irr?{query}", r)
            assert pooled["reason"] == product["reason"] and (pooled["from"], pooled["to"]) == (product["from"],
                                                                                               product["to"])
            assert product["irr"] is not None and abs(Decimal(pooled["irr"]) - Decimal(product["irr"])) \
                <= Decimal("1e-9"), (written.name, period)


def test_selection_irr_refusals(client: Any, firm: Firm, firm_b: Firm, demo: DemoHousehold) -> None:
    r = firm.auth("viewer")
    mine = demo.products[0].pf_ids
    theirs = _a_fund_of(client, firm_b)
    answer = assert_problem(irr_of(client, r, [*mine, theirs]), 404)
    assert all(i not in answer["detail"] for i in [*mine, theirs])
    nobody = "00000000-0000-4000-8000-000000000000"
    assert assert_problem(irr_of(client, r, [mine[0], nobody]), 404)["detail"] == answer["detail"]
    # the other firm cannot learn of ours either
    assert assert_problem(irr_of(client, firm_b.auth("viewer"), [mine[0]]), 404)["detail"] == answer["detail"]
    assert_problem(irr_of(client, r, [mine[0], mine[1], mine[0]]), 422, "portfolio_fund_ids")
    assert_problem(irr_of(client, r, [_uuid(i) for i in range(501)]), 422, "portfolio_fund_ids")
    assert_problem(irr_of(client, r, []), 422, "portfolio_fund_ids")
    assert_problem(irr_of(client, r, ["not-a-uuid"]), 422)
    assert_problem(irr_of(client, r, mine, method="average"), 422, "method")
    assert_problem(irr_of(client, r, mine, include="everything"), 422)
    assert_problem(irr_of(client, r, mine, to="2021-13-01"), 422)
    assert_problem(irr_of(client, r, mine, extra=1), 422)
    assert_problem(send(client, "POST", "/v1/irr", headers={**r, "Content-Type": "application/json"},
                        body="{not json"), 400)
    assert_problem(send(client, "POST", "/v1/irr", headers={**r, "Content-Type": "application/json"},
                        body="[1, 2]"), 400)
    assert_problem(send(client, "POST", "/v1/irr", headers={**r, "Content-Type": "text/plain"}, body="x"), 415)
    assert_problem(send(client, "POST", "/v1/irr", body={"portfolio_fund_ids": mine}), 401)
    # 500 distinct ids pass the model: then each must be a portfolio fund of the firm
    assert_problem(irr_of(client, r, [mine[0]] + [_uuid(i) for i in range(499)]), 404)
    assert expect_status(irr_of(client, firm.auth("read"), mine), 200)["irr"] is not None


def _uuid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def _a_fund_of(client: Any, other: Firm) -> str:
    h = other.auth("adviser")
    house = create_household(client, h)
    product = create_product(client, h, house)
    return expect_status(send(client, "POST", f"/v1/products/{product['id']}/funds", headers=h, body={
        "fund_id": create_fund(client, h)["id"], "start_date": "2020-01-15"}), 201)["id"]
