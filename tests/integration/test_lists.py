"""Every list pages through core/pagination: each row exactly once, in the list's documented order, at any page
size; a cursor is good only for the list (and sort) that made it; `q` matches its text literally.

The rows are made through the API in a firm of this module's own, so each list holds exactly what is made here, and
the expected order is worked out here from what was made (names of lowercase letters only, which every collation
orders alike; ids compare as PostgreSQL compares uuids, byte by byte, as Python's UUID does).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from uuid import UUID

import pytest

from tests.conftest import make_firm
from tests.integration.matrix_support import (
    Household,
    add_activity,
    add_portfolio_fund,
    add_valuation,
    assert_cursor_refused,
    b64_cursor,
    create_fund,
    create_household,
    create_product,
    create_provider,
    create_template,
    expect_status,
    send,
)

NAMES = ["delta", "bravo", "alpha", "charlie", "bravo"]  # "bravo" twice: the id orders the two
DAYS = ["2021-01-31", "2021-02-28", "2021-03-31", "2021-04-30", "2021-05-31"]
METHODS = ["kingston_monthly", "xirr"]


@dataclass(frozen=True)
class Listed:
    """A list endpoint, its rows in the documented order, and what identifies an item."""

    path: str
    expected: list[Any]
    key: Callable[[dict[str, Any]], Any]


def _by_id(item: dict[str, Any]) -> str:
    return item["id"]


def _by_name(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in sorted(rows, key=lambda r: (r["name"], UUID(r["id"])))]


@pytest.fixture(scope="module")
def api(app_module: Any) -> Iterator[Any]:
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        yield c


@pytest.fixture(scope="module")
def lists(api: Any) -> dict[str, Listed]:
    """One firm with a few rows in every products list."""
    firm = make_firm()
    w = firm.auth("adviser")
    providers = [create_provider(api, w, name=n) for n in sorted(set(NAMES))]
    funds = [create_fund(api, w, name=n) for n in NAMES]
    templates = [create_template(api, w, name=n) for n in NAMES]
    house: Household = create_household(api, w)
    products = [create_product(api, w, house, name=n) for n in NAMES]
    product = products[0]["id"]
    pf = add_portfolio_fund(api, w, product, funds[0]["id"])["id"]
    flows = [add_activity(api, w, pf, "2020-01-15", "1000.00"), add_activity(api, w, pf, DAYS[0], "100.00"),
             add_activity(api, w, pf, DAYS[0], "50.00"), add_activity(api, w, pf, DAYS[1], "5.00", "fee"),
             add_activity(api, w, pf, DAYS[2], "20.00", "withdrawal")]
    valuations = [add_valuation(api, w, pf, day, f"{1100 + 10 * i}.00") for i, day in enumerate(DAYS)]
    # Households by funds under management: `house` holds 1140.00 (its first product's latest valuation), one more
    # the same (a tie), one 250.00, two none (a tie at 0.00)
    fum = {house.group_id: Decimal("1140.00")}
    for value in ("1140.00", "250.00", None, None):
        other = create_household(api, w)
        fum[other.group_id] = Decimal(value or 0)
        if value:
            held = create_product(api, w, other)["id"]
            add_valuation(api, w, add_portfolio_fund(api, w, held, funds[1]["id"])["id"], DAYS[0], value)
    by_fum = sorted(fum, key=lambda g: (fum[g], UUID(g)))
    groups = expect_status(_get(api, w, "/v1/client-groups", limit=200), 200)["items"]
    by_creation = [g["id"] for g in sorted(groups, key=lambda g: (datetime.fromisoformat(g["created_at"]),
                                                                   UUID(g["id"])))]
    return {
        "providers": Listed("/v1/providers", _by_name(providers), _by_id),
        "funds": Listed("/v1/funds", _by_name(funds), _by_id),
        "portfolio templates": Listed("/v1/portfolio-templates", _by_name(templates), _by_id),
        "products of a group": Listed(f"/v1/client-groups/{house.group_id}/products", _by_name(products), _by_id),
        "fund valuations": Listed(f"/v1/portfolio-funds/{pf}/valuations", [v["id"] for v in valuations], _by_id),
        "cash flows": Listed(f"/v1/portfolio-funds/{pf}/activity",
                             [a["id"] for a in sorted(flows, key=lambda a: (a["activity_date"], UUID(a["id"])))],
                             _by_id),
        "portfolio valuations": Listed(f"/v1/products/{product}/valuations", DAYS, lambda v: v["valuation_date"]),
        "IRR history": Listed(f"/v1/products/{product}/irr-history", [(d, m) for d in DAYS for m in METHODS],
                              lambda r: (r["valuation_date"], r["method"])),
        "IRR history of one method": Listed(f"/v1/products/{product}/irr-history?method=xirr",
                                            [(d, "xirr") for d in DAYS], lambda r: (r["valuation_date"], r["method"])),
        "fund valuations from a date": Listed(f"/v1/portfolio-funds/{pf}/valuations?from={DAYS[1]}&to={DAYS[3]}",
                                              [v["id"] for v in valuations[1:4]], _by_id),
        "households by fum": Listed("/v1/client-groups?include=fum&sort=-fum", by_fum[::-1], _by_id),
        "households by fum ascending": Listed("/v1/client-groups?include=fum&sort=fum", by_fum, _by_id),
        "households with fum by creation": Listed("/v1/client-groups?include=fum&sort=created_at", by_creation,
                                                  _by_id),
        "households by creation": Listed("/v1/client-groups?sort=created_at", by_creation, _by_id),
        "_auth": w,  # type: ignore[dict-item]
        "_firm": firm,  # type: ignore[dict-item]
    }


def _get(api: Any, auth: dict[str, str], path: str, **query: Any) -> Any:
    sep = "&" if "?" in path else "?"
    return send(api, "GET", path + sep + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items()),
                headers=auth)


def _pages(api: Any, auth: dict[str, str], path: str, limit: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = expect_status(_get(api, auth, path, **query), 200)
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) <= 50, "the cursor does not move on"


LIST_NAMES = ["providers", "funds", "portfolio templates", "products of a group", "fund valuations", "cash flows",
              "portfolio valuations", "IRR history", "IRR history of one method", "fund valuations from a date",
              "households by fum", "households by fum ascending", "households with fum by creation",
              "households by creation"]


@pytest.mark.parametrize("name", LIST_NAMES)
def test_paging_returns_every_row_once_in_the_documented_order(api: Any, lists: dict[str, Any], name: str) -> None:
    listed: Listed = lists[name]
    auth = lists["_auth"]
    whole = expect_status(_get(api, auth, listed.path, limit=200), 200)
    assert [listed.key(i) for i in whole["items"]] == listed.expected and whole["next_cursor"] is None
    for limit in (1, 2, 3):
        pages = _pages(api, auth, listed.path, limit)
        assert len(pages) == math.ceil(len(listed.expected) / limit), (limit, [len(p) for p in pages])
        assert all(len(p) == limit for p in pages[:-1]) and 1 <= len(pages[-1]) <= limit
        assert [listed.key(i) for p in pages for i in p] == listed.expected, limit


def _cursor(api: Any, auth: dict[str, str], path: str) -> str:
    cursor = expect_status(_get(api, auth, path, limit=1), 200)["next_cursor"]
    assert cursor
    return cursor


@pytest.mark.parametrize("made_by,used_on", [
    ("providers", "funds"), ("funds", "providers"), ("portfolio templates", "products of a group"),
    ("products of a group", "portfolio templates"), ("fund valuations", "cash flows"),
    ("cash flows", "fund valuations"), ("portfolio valuations", "IRR history"),
    ("IRR history", "portfolio valuations"), ("households by fum", "households by creation"),
    ("households by creation", "households by fum"), ("households by fum", "households by fum ascending"),
    ("households with fum by creation", "households by fum")])
def test_a_cursor_made_by_one_list_is_refused_by_another(api: Any, lists: dict[str, Any], made_by: str,
                                                         used_on: str) -> None:
    auth = lists["_auth"]
    cursor = _cursor(api, auth, lists[made_by].path)
    assert_cursor_refused(_get(api, auth, lists[used_on].path, cursor=cursor), by_signature=False)
    # and it still works where it was made
    expect_status(_get(api, auth, lists[made_by].path, limit=1, cursor=cursor), 200)


@pytest.mark.parametrize("name,values", [
    ("providers", ["providers", "name", "alpha", "not-a-uuid"]),
    ("providers", ["providers", "-name", "alpha", str(UUID(int=1))]),
    ("providers", ["providers", "name", "alpha"]),
    ("providers", ["providers", "name", "alpha", str(UUID(int=1)), "extra"]),
    ("funds", ["funds", "name", 7, str(UUID(int=1))]),
    ("fund valuations", ["fund_valuations", "valuation_date", "2021-02-30", str(UUID(int=1))]),
    ("cash flows", ["activity", "activity_date", "yesterday", str(UUID(int=1))]),
    ("portfolio valuations", ["portfolio_valuations", "valuation_date", "2021-01-31", str(UUID(int=1))]),
    ("IRR history", ["irr_history", "valuation_date", "2021-01-31"]),
    ("IRR history", ["irr_history", "method", "2021-01-31", "xirr"]),
    ("products of a group", {"name": "alpha"}),
    ("households by fum", ["client_groups", "-fum", "NaN", str(UUID(int=1))]),
    ("households by fum", ["client_groups", "-fum", "1e999999", str(UUID(int=1))]),
    ("households by fum", ["client_groups", "-fum", "114000"]),
    ("households by fum", ["client_groups", "fum", "114000", str(UUID(int=1))]),
    ("households by fum", ["client_groups", "-fum", "1140.00", str(UUID(int=1))]),
])
def test_a_forged_cursor_isassert_cursor_refused(api: Any, lists: dict[str, Any], name: str, values: Any) -> None:
    """Signed for the firm, so that the checks behind the signature are what refuse it."""
    cursor = b64_cursor(values, lists["_firm"])
    assert_cursor_refused(_get(api, lists["_auth"], lists[name].path, cursor=cursor), by_signature=False)


def test_a_cursor_that_is_not_one_isassert_cursor_refused(api: Any, lists: dict[str, Any]) -> None:
    cursor = _cursor(api, lists["_auth"], lists["providers"].path)
    for forged in ("not-a-cursor", cursor[:-3], "!" + cursor):
        assert_cursor_refused(_get(api, lists["_auth"], lists["providers"].path, cursor=forged), by_signature=True)


# --- q matches its text literally ---------------------------------------------------------------------------------

WILD = ["a_b", "axb", "a%b", "ayyb", "a\\b", "plain"]


@pytest.fixture(scope="module")
def wild(api: Any) -> dict[str, Any]:
    """A firm whose providers and funds have LIKE's wildcards in their names."""
    firm = make_firm()
    w = firm.auth("adviser")
    for name in WILD:
        create_provider(api, w, name=name)
        create_fund(api, w, name=name)
    return w


@pytest.mark.parametrize("path", ["/v1/providers", "/v1/funds"])
@pytest.mark.parametrize("q,names", [("_", {"a_b"}), ("%", {"a%b"}), ("a_b", {"a_b"}), ("A%B", {"a%b"}),
                                     ("\\", {"a\\b"}), ("a", set(WILD)), ("%%", set()), ("_b", {"a_b"})])
def test_q_matches_wildcards_literally(api: Any, wild: dict[str, str], path: str, q: str, names: set[str]) -> None:
    found = expect_status(_get(api, wild, path, q=q, limit=200), 200)["items"]
    assert {i["name"] for i in found} == names
