"""The household list with money on it: `GET /v1/client-groups?include=fum`.

Each household's funds under management, active-product count and latest valuation date are checked against
figures worked out by hand from what the test wrote (complete valuations as docs/domain.md defines them), against
the household summary after a refresh of its view, and against each product's own latest complete valuation
(`GET /v1/products/{id}/valuations`). The figures are live: a valuation written shows on the next request, while
the summary still shows the view's last refresh. Sorting by fum pages every household exactly once, ties by id.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from tests.conftest import assert_problem, make_firm
from tests.integration.matrix_support import (
    add_member,
    add_portfolio_fund,
    add_valuation,
    assert_cursor_refused,
    b64_cursor,
    create_client_group,
    create_fund,
    create_product_owner,
    expect_status,
    send,
)

FUM_FIELDS = {"funds_under_management", "product_count", "latest_valuation_date"}
PLAIN_FIELDS = {"id", "name", "type", "status", "adviser_id", "notes", "created_at", "updated_at", "version"}


@dataclass
class House:
    id: str
    owner: str
    name: str
    fum: Decimal  # worked out by hand from the valuations written
    count: int  # active products
    latest: str | None  # latest complete valuation date of any product
    products: list[str]


@pytest.fixture(scope="module")
def api(app_module: Any) -> Iterator[Any]:
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        yield c


def _house(api: Any, w: dict[str, str], name: str, **fields: Any) -> House:
    group = create_client_group(api, w, name=name, **fields)
    owner = create_product_owner(api, w)
    add_member(api, w, group["id"], owner["id"])
    return House(group["id"], owner["id"], name, Decimal("0.00"), 0, None, [])


def _product(api: Any, w: dict[str, str], house: House, start: str = "2020-01-15") -> str:
    body = {"name": "Product " + house.name, "product_type": "gia", "start_date": start,
            "ownership": {"association_type": "individual", "product_owner_id": house.owner}}
    pid = expect_status(send(api, "POST", f"/v1/client-groups/{house.id}/products", headers=w, body=body), 201)["id"]
    house.products.append(pid)
    return pid


def _get(api: Any, auth: dict[str, str], query: str) -> Any:
    return send(api, "GET", "/v1/client-groups?" + query, headers=auth)


def _all_pages(api: Any, auth: dict[str, str], query: str, limit: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        body = expect_status(_get(api, auth, f"{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")),
                             200)
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) <= 60, "the cursor does not move on"


@pytest.fixture(scope="module")
def book(api: Any) -> dict[str, Any]:
    """One firm's households, each a case of the rule:

    - mixed: product A with two non-cash funds (complete on 2023-03-31: 1,000.10 + 2,000.20; on 2023-04-30 only
      one fund is valued, so that date is not complete), product B with one fund (latest 499.99 on 2023-02-28),
      product C lapsed (valued 700.00, then 0.00 on 2023-06-30, lapsed, then valued 250.00 on 2023-08-31: the
      latest date of the household comes from a lapsed product, whose value is not counted) and product D active
      without any valuation. FUM 3,500.29, 3 active products, latest 2023-08-31.
    - unvalued: one active product, never valued: FUM 0.00, 1 product, date null.
    - empty: no products: FUM 0.00, 0 products, date null.
    - tie_a and tie_b: one product each valued 1,234.56 (the same figure; the id orders them).
    - cash: a cash-only product valued 10.01, and a later date on which it is valued again: 20.02.
    """
    firm = make_firm()
    w = firm.auth("adviser")
    fund_a1, fund_a2, fund_b = (create_fund(api, w) for _ in range(3))
    cash_fund = create_fund(api, w, isin=None, is_cash=True, risk_factor=1)

    mixed = _house(api, w, "mixed household", type="family", status="active")
    a = _product(api, w, mixed)
    a1 = add_portfolio_fund(api, w, a, fund_a1["id"])["id"]
    a2 = add_portfolio_fund(api, w, a, fund_a2["id"])["id"]
    add_valuation(api, w, a1, "2022-12-31", "900.00")
    add_valuation(api, w, a2, "2022-12-31", "1800.00")
    add_valuation(api, w, a1, "2023-03-31", "1000.10")
    add_valuation(api, w, a2, "2023-03-31", "2000.20")
    add_valuation(api, w, a1, "2023-04-30", "5555.55")  # a2 not valued that day: not a complete valuation
    b = _product(api, w, mixed)
    b1 = add_portfolio_fund(api, w, b, fund_b["id"])["id"]
    add_valuation(api, w, b1, "2023-01-31", "450.00")
    add_valuation(api, w, b1, "2023-02-28", "499.99")
    c = _product(api, w, mixed)
    c1 = add_portfolio_fund(api, w, c, fund_b["id"])["id"]
    add_valuation(api, w, c1, "2022-06-30", "700.00")
    add_valuation(api, w, c1, "2023-06-30", "0.00")
    expect_status(send(api, "POST", f"/v1/products/{c}/lapse", headers=w), 200)
    add_valuation(api, w, c1, "2023-08-31", "250.00")  # a lapsed product's history corrected: it stays out of FUM
    _product(api, w, mixed)  # D: active, never valued
    mixed.fum, mixed.count, mixed.latest = Decimal("3500.29"), 3, "2023-08-31"

    unvalued = _house(api, w, "unvalued household", type="couple", status="dormant")
    _product(api, w, unvalued)
    unvalued.count = 1

    empty = _house(api, w, "empty household", type="trust", status="active")

    ties = []
    for name in ("tie household one", "tie household two"):
        house = _house(api, w, name, type="family", status="active")
        pid = _product(api, w, house)
        pf = add_portfolio_fund(api, w, pid, fund_b["id"])["id"]
        add_valuation(api, w, pf, "2023-05-31", "1234.56")
        house.fum, house.count, house.latest = Decimal("1234.56"), 1, "2023-05-31"
        ties.append(house)

    cash = _house(api, w, "cash household", type="individual", status="active")
    pid = _product(api, w, cash)
    pf = add_portfolio_fund(api, w, pid, cash_fund["id"])["id"]
    add_valuation(api, w, pf, "2023-01-31", "10.01")
    add_valuation(api, w, pf, "2023-07-31", "20.02")
    cash.fum, cash.count, cash.latest = Decimal("20.02"), 1, "2023-07-31"

    houses = {"mixed": mixed, "unvalued": unvalued, "empty": empty, "tie_a": ties[0], "tie_b": ties[1],
              "cash": cash}
    return {"firm": firm, "auth": w, "houses": houses}


def _by_fum(houses: list[House], descending: bool) -> list[str]:
    """The documented order: funds under management, then id (as PostgreSQL compares uuids), both one way."""
    ordered = sorted(houses, key=lambda h: (h.fum, UUID(h.id)))
    return [h.id for h in (reversed(ordered) if descending else ordered)]


def _figures(item: dict[str, Any]) -> tuple[Decimal, int, str | None]:
    return Decimal(item["funds_under_management"]), item["product_count"], item["latest_valuation_date"]


def test_each_row_has_its_households_money(api: Any, book: dict[str, Any]) -> None:
    items = expect_status(_get(api, book["auth"], "include=fum&limit=200"), 200)["items"]
    rows = {i["id"]: i for i in items}
    assert set(rows) == {h.id for h in book["houses"].values()}
    for name, house in book["houses"].items():
        row = rows[house.id]
        assert set(row) == PLAIN_FIELDS | FUM_FIELDS, name
        assert _figures(row) == (house.fum, house.count, house.latest), name
        # shown to the penny, as a decimal string
        assert row["funds_under_management"] == f"{house.fum:.2f}", name
    assert rows[book["houses"]["empty"].id]["funds_under_management"] == "0.00"


def test_without_include_the_rows_are_the_plain_list(api: Any, book: dict[str, Any]) -> None:
    plain = expect_status(_get(api, book["auth"], "limit=200"), 200)
    assert all(set(i) == PLAIN_FIELDS for i in plain["items"])
    with_fum = expect_status(_get(api, book["auth"], "limit=200&include=fum"), 200)
    assert [{k: v for k, v in i.items() if k in PLAIN_FIELDS} for i in with_fum["items"]] == plain["items"]


def test_figures_equal_the_summary_and_the_products_latest_valuations(api: Any, book: dict[str, Any]) -> None:
    from chalicelib.ops.jobs import run_job

    w = book["auth"]
    assert run_job("refresh-views", trigger="manual").status == "succeeded"
    rows = {i["id"]: i for i in expect_status(_get(api, w, "include=fum&limit=200"), 200)["items"]}
    for name, house in book["houses"].items():
        summary = expect_status(send(api, "GET", f"/v1/client-groups/{house.id}/summary", headers=w), 200)
        assert not summary.get("pending_refresh"), name
        assert _figures(rows[house.id]) == (Decimal(summary["funds_under_management"]), summary["active_products"],
                                            summary["latest_valuation_date"]), name
        # and from each product's own complete valuations, read through the products API
        total, count, dates = Decimal(0), 0, []
        for pid in house.products:
            product = expect_status(send(api, "GET", f"/v1/products/{pid}", headers=w), 200)
            valuations = expect_status(send(api, "GET", f"/v1/products/{pid}/valuations?limit=200", headers=w),
                                       200)["items"]
            latest = max(valuations, key=lambda v: v["valuation_date"]) if valuations else None
            if latest:
                dates.append(latest["valuation_date"])
            if product["status"] == "active":
                count += 1
                total += Decimal(latest["value"]) if latest else 0
        assert _figures(rows[house.id]) == (total, count, max(dates) if dates else None), name


def test_a_valuation_written_shows_at_once(api: Any, book: dict[str, Any]) -> None:
    """Live figures, not a nightly view's: what a write changes shows on the next request, views refreshed or not."""
    from chalicelib.ops.jobs import run_job

    firm = make_firm()
    w = firm.auth("adviser")
    house = _house(api, w, "live household")
    pid = _product(api, w, house)
    pf = add_portfolio_fund(api, w, pid, create_fund(api, w)["id"])["id"]
    add_valuation(api, w, pf, "2024-01-31", "100.00")
    assert run_job("refresh-views", trigger="manual").status == "succeeded"

    def row() -> dict[str, Any]:
        return expect_status(_get(api, w, "include=fum"), 200)["items"][0]

    assert _figures(row()) == (Decimal("100.00"), 1, "2024-01-31")
    add_valuation(api, w, pf, "2024-02-29", "123.45")  # no refresh of any view since
    assert _figures(row()) == (Decimal("123.45"), 1, "2024-02-29")
    # a product lapsed or reactivated, or a new one, changes the figures at once too
    add_valuation(api, w, pf, "2024-03-31", "0.00")
    expect_status(send(api, "POST", f"/v1/products/{pid}/lapse", headers=w), 200)
    assert _figures(row()) == (Decimal("0.00"), 0, "2024-03-31")
    expect_status(send(api, "POST", f"/v1/products/{pid}/reactivate", headers=w), 200)
    _product(api, w, house)
    assert _figures(row()) == (Decimal("0.00"), 2, "2024-03-31")


@pytest.mark.parametrize("sort", ["-fum", "fum"])
def test_sorting_by_fum_pages_every_household_exactly_once(api: Any, book: dict[str, Any], sort: str) -> None:
    expected = _by_fum(list(book["houses"].values()), sort.startswith("-"))
    whole = expect_status(_get(api, book["auth"], f"include=fum&sort={sort}&limit=200"), 200)
    assert [i["id"] for i in whole["items"]] == expected and whole["next_cursor"] is None
    for limit in (1, 2, 3):
        pages = _all_pages(api, book["auth"], f"include=fum&sort={sort}", limit)
        assert all(len(p) == limit for p in pages[:-1]) and 1 <= len(pages[-1]) <= limit
        assert [i["id"] for p in pages for i in p] == expected, limit
        assert len(pages) == -(-len(expected) // limit)


def test_sorting_by_fum_keeps_filters_and_q(api: Any, book: dict[str, Any]) -> None:
    houses, w = book["houses"], book["auth"]
    active = [h for k, h in houses.items() if k != "unvalued"]
    for limit in (1, 2, 3):
        seen = [i["id"] for p in _all_pages(api, w, "include=fum&sort=-fum&status=active", limit) for i in p]
        assert seen == _by_fum(active, True), limit
    tied = [houses["tie_a"], houses["tie_b"]]
    for limit in (1, 2):
        seen = [i["id"] for p in _all_pages(api, w, "include=fum&sort=fum&q=TIE%20house", limit) for i in p]
        assert seen == _by_fum(tied, False), limit
    assert [i["id"] for i in expect_status(_get(api, w, "include=fum&sort=-fum&type=trust"), 200)["items"]] == [
        houses["empty"].id]
    assert expect_status(_get(api, w, "include=fum&sort=-fum&q=nothing-like-this"), 200)["items"] == []
    # filters with include=fum in the name order too
    names = [i["name"] for i in expect_status(_get(api, w, "include=fum&q=household&type=family"), 200)["items"]]
    assert names == ["mixed household", "tie household one", "tie household two"]


def test_adviser_filter_with_fum(api: Any) -> None:
    firm = make_firm()
    w = firm.auth("adviser")
    adviser = firm.users["adviser"]["id"]
    advised = _house(api, w, "advised household", adviser_id=str(adviser))
    pid = _product(api, w, advised)
    add_valuation(api, w, add_portfolio_fund(api, w, pid, create_fund(api, w)["id"])["id"], "2023-01-31", "42.00")
    _house(api, w, "other household")
    for sort in ("-fum", "name"):
        items = expect_status(_get(api, w, f"include=fum&sort={sort}&adviser_id={adviser}"), 200)["items"]
        assert [(i["id"], i["funds_under_management"], i["product_count"]) for i in items] == [
            (advised.id, "42.00", 1)]


def test_a_plain_cursor_is_refused_by_the_fum_sort_and_back(api: Any, book: dict[str, Any]) -> None:
    w = book["auth"]
    by_name = expect_status(_get(api, w, "include=fum&limit=1"), 200)["next_cursor"]
    plain = expect_status(_get(api, w, "limit=1&sort=-created_at"), 200)["next_cursor"]
    by_fum = expect_status(_get(api, w, "include=fum&sort=-fum&limit=1"), 200)["next_cursor"]
    ascending = expect_status(_get(api, w, "include=fum&sort=fum&limit=1"), 200)["next_cursor"]
    assert by_name and plain and by_fum and ascending
    for cursor in (by_name, plain, ascending):
        assert_cursor_refused(_get(api, w, f"include=fum&sort=-fum&cursor={cursor}"), by_signature=False)
    assert_cursor_refused(_get(api, w, f"include=fum&sort=name&cursor={by_fum}"), by_signature=False)
    assert_cursor_refused(_get(api, w, f"sort=-created_at&cursor={by_fum}"), by_signature=False)
    assert_cursor_refused(_get(api, w, f"include=fum&sort=fum&cursor={by_fum}"), by_signature=False)
    # each still works where it was made
    expect_status(_get(api, w, f"include=fum&sort=-fum&cursor={by_fum}"), 200)
    expect_status(_get(api, w, f"sort=-created_at&cursor={plain}"), 200)


@pytest.mark.parametrize("values", [
    ["client_groups", "-fum", "NaN", str(UUID(int=1))],
    ["client_groups", "-fum", "Infinity", str(UUID(int=1))],
    ["client_groups", "-fum", "1e999999", str(UUID(int=1))],
    ["client_groups", "-fum", "1250", "not-a-uuid"],
    ["client_groups", "-fum", "12.50", str(UUID(int=1))],  # the cursor carries pennies
    ["client_groups", "-fum", " 1250", str(UUID(int=1))],
    ["client_groups", "-fum", "1_250", str(UUID(int=1))],
    ["client_groups", "-fum", "99999999999999999999", str(UUID(int=1))],  # beyond bigint: refused, not a 500
    ["client_groups", "-fum", "", str(UUID(int=1))],
    ["client_groups", "-fum", str(UUID(int=1))],
])
def test_a_forged_fum_cursor_is_refused(api: Any, book: dict[str, Any], values: list[str]) -> None:
    cursor = b64_cursor(values, book["firm"])  # signed: the value checks behind the signature refuse it
    assert_cursor_refused(_get(api, book["auth"], f"include=fum&sort=-fum&cursor={cursor}"), by_signature=False)


def test_a_well_formed_fum_cursor_starts_after_its_figure(api: Any, book: dict[str, Any]) -> None:
    houses = book["houses"]
    cursor = b64_cursor(["client_groups", "-fum", "123456", str(UUID(int=0))], book["firm"])  # 1,234.56 in pennies
    items = expect_status(_get(api, book["auth"], f"include=fum&sort=-fum&cursor={cursor}"), 200)["items"]
    assert [i["id"] for i in items] == _by_fum([houses["cash"], houses["unvalued"], houses["empty"]], True)


@pytest.mark.parametrize("query", ["include=revenue", "include=FUM", "include=", "include=fum,flows",
                                   "include=fum&include=fum", "include=fum&sort=money"])
def test_a_bad_include_is_a_problem(api: Any, book: dict[str, Any], query: str) -> None:
    field = "sort" if "sort" in query else "include"
    assert_problem(_get(api, book["auth"], query), 422, field)


@pytest.mark.parametrize("sort", ["fum", "-fum"])
def test_sorting_by_fum_needs_include_fum(api: Any, book: dict[str, Any], sort: str) -> None:
    body = assert_problem(_get(api, book["auth"], f"sort={sort}"), 422, "sort")
    assert "include=fum" in body["errors"][0]["message"]


def test_another_firms_households_and_money_never_appear(api: Any, book: dict[str, Any]) -> None:
    """Firm B's households, with money larger than any of firm A's, stay out of firm A's list in every order."""
    other = make_firm()
    ow = other.auth("adviser")
    theirs = _house(api, ow, "mixed household")  # the same name as one of firm A's
    pid = _product(api, ow, theirs)
    add_valuation(api, ow, add_portfolio_fund(api, ow, pid, create_fund(api, ow)["id"])["id"], "2023-01-31",
                  "999999.99")
    mine = {h.id: h for h in book["houses"].values()}
    for who in ("viewer", "analyst", "read"):
        auth = book["firm"].auth(who)
        for query in ("include=fum&sort=-fum", "include=fum&sort=fum", "include=fum", "include=fum&q=mixed"):
            for limit in (2, 200):
                items = [i for p in _all_pages(api, auth, query, limit) for i in p]
                assert theirs.id not in {i["id"] for i in items}, (who, query)
                assert {i["id"] for i in items} <= set(mine), (who, query)
                for i in items:
                    assert _figures(i) == (mine[i["id"]].fum, mine[i["id"]].count, mine[i["id"]].latest)
    their_rows = expect_status(_get(api, other.auth("viewer"), "include=fum&sort=-fum"), 200)["items"]
    assert [(i["id"], i["funds_under_management"]) for i in their_rows] == [(theirs.id, "999999.99")]


def test_a_write_that_takes_a_households_money_past_the_limit_is_refused(api: Any) -> None:
    """The figure is kept in pennies too (a bigint): a household's funds under management stay below
    90,000,000,000,000,000.00 (nine products at the largest value a product can have), and the write that would
    take them there is a 422 that changes nothing."""
    firm = make_firm()
    w = firm.auth("adviser")
    house = _house(api, w, "very rich household")
    fund = create_fund(api, w)["id"]
    pfs = [add_portfolio_fund(api, w, _product(api, w, house), fund)["id"] for _ in range(10)]
    for pf in pfs[:9]:
        add_valuation(api, w, pf, "2023-01-31", "9999999999999999.99")
    assert _figures(expect_status(_get(api, w, "include=fum"), 200)["items"][0]) == (
        Decimal("89999999999999999.91"), 10, "2023-01-31")
    resp = send(api, "POST", f"/v1/portfolio-funds/{pfs[9]}/valuations", headers=w,
                body={"valuation_date": "2023-01-31", "value": "9999999999999999.99"})
    assert_problem(resp, 422)
    assert _figures(expect_status(_get(api, w, "include=fum"), 200)["items"][0]) == (
        Decimal("89999999999999999.91"), 10, "2023-01-31")
