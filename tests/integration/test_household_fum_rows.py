"""client_group_fum follows every writer: raw SQL as the owner role (as a loader or a fix by hand would write), one
row or many per statement, leaves each household's row equal to what this file computes by itself from products
and portfolio valuations (docs/domain.md, "The household list": the active products' latest complete valuations
summed, the active products counted, the latest complete valuation date of any product). Migration 0016's
statement triggers keep it so, in the writer's transaction; two writers of one household wait for each other.
"""
from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import Firm, make_firm, owner_sql
from tests.integration.concurrency_support import second_writer_after_first
from tests.integration.matrix_support import (
    Household,
    add_member,
    add_portfolio_fund,
    create_client_group,
    create_fund,
    create_household,
    create_product,
)


@pytest.fixture(scope="module")
def firm(database: str) -> Firm:
    return make_firm()


@pytest.fixture
def w(firm: Firm) -> dict[str, str]:
    return firm.auth("adviser")


Figures = tuple[Decimal, int, date | None]


def expected(groups: list[Any]) -> dict[str, Figures]:
    """Each household's figures, computed here from the source rows."""
    products = owner_sql("SELECT id, client_group_id, status FROM products WHERE client_group_id = ANY(%s::uuid[])",
                         ([str(g) for g in groups],))
    latest: dict[Any, tuple[date, Decimal]] = {}
    for v in owner_sql("SELECT product_id, valuation_date, value FROM portfolio_valuations "
                       "WHERE product_id = ANY(%s::uuid[])", ([p["id"] for p in products],)):
        if v["product_id"] not in latest or v["valuation_date"] > latest[v["product_id"]][0]:
            latest[v["product_id"]] = (v["valuation_date"], v["value"])
    out: dict[str, Figures] = {str(g): (Decimal(0), 0, None) for g in groups}
    for p in products:
        fum, count, day = out[str(p["client_group_id"])]
        when, value = latest.get(p["id"], (None, Decimal(0)))
        if p["status"] == "active":
            fum, count = fum + value, count + 1
        if when is not None and (day is None or when > day):
            day = when
        out[str(p["client_group_id"])] = (fum, count, day)
    return out


def stored(groups: list[Any]) -> dict[str, Figures]:
    return {str(r["client_group_id"]): (r["funds_under_management"], r["product_count"], r["latest_valuation_date"])
            for r in owner_sql("SELECT client_group_id, funds_under_management, product_count, latest_valuation_date "
                               "FROM client_group_fum WHERE client_group_id = ANY(%s::uuid[])",
                               ([str(g) for g in groups],))}


def assert_in_step(groups: list[Any]) -> dict[str, Figures]:
    want, got = expected(groups), stored(groups)
    assert got == want
    return got


def test_a_household_made_by_raw_sql_has_its_row_of_zeros(firm: Firm) -> None:
    groups = [r["id"] for r in owner_sql(
        "INSERT INTO client_groups (firm_id, name, type) SELECT %s, 'Raw ' || i, 'family' "
        "FROM generate_series(1, 3) AS i RETURNING id", (firm.id,))]
    assert stored(groups) == {str(g): (Decimal("0.00"), 0, None) for g in groups}
    owner_sql("DELETE FROM client_groups WHERE id = ANY(%s::uuid[])", (groups,))
    assert stored(groups) == {}


def test_random_raw_writes_keep_each_households_money(client: Any, w: dict[str, str]) -> None:
    """Two hundred random raw statements over three households that share one person: fund valuations inserted
    (one or many products at once), revalued, moved, deleted; portfolio funds added (a date stops being complete)
    and removed; products added, lapsed and reactivated (one or several at once), moved to another household,
    deleted. After each, the stored rows equal this file's computation."""
    rng = random.Random(20240917)
    house = create_household(client, w)
    groups = [house.group_id] + [create_client_group(client, w)["id"] for _ in range(2)]
    for g in groups[1:]:
        add_member(client, w, g, house.owner_id)
    funds = [create_fund(client, w, is_cash=(k == 3))["id"] for k in range(4)]
    days = [date(2022, m + 1, 1) - timedelta(days=1) for m in range(1, 12)]
    ownership = json.dumps({"association_type": "individual", "product_owner_id": house.owner_id})

    def new_product(group: str) -> None:
        [row] = owner_sql("INSERT INTO products (firm_id, client_group_id, name, product_type, start_date, ownership) "
                          "SELECT firm_id, id, 'Raw product', 'gia', '2022-01-01', %s::jsonb FROM client_groups "
                          "WHERE id = %s RETURNING id", (ownership, group))
        owner_sql("INSERT INTO portfolio_funds (firm_id, product_id, fund_id, start_date) "
                  "SELECT firm_id, id, %s, '2022-01-01' FROM products WHERE id = %s", (rng.choice(funds), row["id"]))

    for g in groups:
        create_product(client, w, Household(group_id=g, owner_id=house.owner_id), start_date="2022-01-01")
    for p in owner_sql("SELECT id FROM products WHERE client_group_id = ANY(%s::uuid[])", (groups,)):
        owner_sql("INSERT INTO portfolio_funds (firm_id, product_id, fund_id, start_date) "
                  "SELECT firm_id, id, %s, '2022-01-01' FROM products WHERE id = %s", (funds[0], p["id"]))

    def state() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        products = owner_sql("SELECT id, client_group_id, status FROM products WHERE client_group_id = ANY(%s::uuid[]) "
                             "ORDER BY created_at, id", (groups,))
        pfs = owner_sql("SELECT id, product_id FROM portfolio_funds WHERE product_id = ANY(%s::uuid[]) "
                        "ORDER BY created_at, id", ([p["id"] for p in products],))
        vals = owner_sql("SELECT v.id, v.portfolio_fund_id, v.valuation_date FROM fund_valuations v "
                         "WHERE v.portfolio_fund_id = ANY(%s::uuid[]) ORDER BY v.portfolio_fund_id, v.valuation_date",
                         ([p["id"] for p in pfs],))
        order = {p["id"]: i for i, p in enumerate(pfs)}
        vals.sort(key=lambda v: (order[v["portfolio_fund_id"]], v["valuation_date"]))
        return products, pfs, vals

    done: dict[str, int] = defaultdict(int)
    for _ in range(200):
        products, pfs, vals = state()
        action = rng.choice(["value", "value", "value_many", "revalue", "redate", "delete_valuation", "add_fund",
                             "remove_fund", "add_product", "lapse", "reactivate", "lapse_many", "move",
                             "delete_product"])
        taken = {(v["portfolio_fund_id"], v["valuation_date"]) for v in vals}
        if action in ("value", "value_many") and pfs:
            chosen = rng.sample(pfs, min(len(pfs), 4)) if action == "value_many" else [rng.choice(pfs)]
            rows = [(pf["id"], d, rng.randint(0, 9000)) for pf in chosen for d in rng.sample(days, 2)
                    if (pf["id"], d) not in taken]
            if not rows:
                continue
            owner_sql("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
                      "SELECT pf.firm_id, pf.id, u.d, u.v FROM unnest(%s::uuid[], %s::date[], %s::numeric[]) "
                      "AS u(f, d, v) JOIN portfolio_funds pf ON pf.id = u.f",
                      ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]))
        elif action == "revalue" and vals:
            owner_sql("UPDATE fund_valuations SET value = value + %s WHERE id = ANY(%s::uuid[])",
                      (rng.randint(1, 99), [v["id"] for v in rng.sample(vals, min(len(vals), 3))]))
        elif action == "redate" and vals:
            v = rng.choice(vals)
            free = [d for d in days if (v["portfolio_fund_id"], d) not in taken]
            if not free:
                continue
            owner_sql("UPDATE fund_valuations SET valuation_date = %s WHERE id = %s", (rng.choice(free), v["id"]))
        elif action == "delete_valuation" and vals:
            owner_sql("DELETE FROM fund_valuations WHERE id = ANY(%s::uuid[])",
                      ([v["id"] for v in rng.sample(vals, min(len(vals), 2))],))
        elif action == "add_fund" and products:
            owner_sql("INSERT INTO portfolio_funds (firm_id, product_id, fund_id, start_date) "
                      "SELECT firm_id, id, %s, '2022-01-01' FROM products WHERE id = %s",
                      (rng.choice(funds), rng.choice(products)["id"]))
        elif action == "remove_fund":
            empty = [pf for pf in pfs if not any(v["portfolio_fund_id"] == pf["id"] for v in vals)]
            if not empty:
                continue
            owner_sql("DELETE FROM portfolio_funds WHERE id = %s", (rng.choice(empty)["id"],))
        elif action == "add_product":
            new_product(rng.choice(groups))
        elif action in ("lapse", "reactivate", "lapse_many") and products:
            status = "active" if action == "reactivate" else "lapsed"
            chosen = rng.sample(products, min(len(products), 3 if action == "lapse_many" else 1))
            owner_sql("UPDATE products SET status = %s WHERE id = ANY(%s::uuid[])",
                      (status, [p["id"] for p in chosen]))
        elif action == "move" and products:
            p = rng.choice(products)
            owner_sql("UPDATE products SET client_group_id = %s WHERE id = %s",
                      (rng.choice([g for g in groups if g != str(p["client_group_id"])]), p["id"]))
        elif action == "delete_product":
            empty = [p for p in products if not any(pf["product_id"] == p["id"] for pf in pfs)]
            if not empty:
                owner_sql("DELETE FROM portfolio_funds a WHERE a.product_id = %s AND NOT EXISTS "
                          "(SELECT 1 FROM fund_valuations v WHERE v.portfolio_fund_id = a.id)",
                          (rng.choice(products)["id"],))
                continue
            owner_sql("DELETE FROM products WHERE id = %s", (rng.choice(empty)["id"],))
        else:
            continue
        done[action] += 1
        assert_in_step(groups)
    assert len(done) >= 12 and min(done.values()) >= 2, done  # nearly every kind of write was exercised
    figures = assert_in_step(groups)
    assert any(fum > 0 for fum, _, _ in figures.values())  # the households were not left trivially empty


def test_an_edit_that_moves_no_money_leaves_the_row_alone(client: Any, w: dict[str, str]) -> None:
    house = create_household(client, w)
    product = create_product(client, w, house)["id"]
    add_portfolio_fund(client, w, product, create_fund(client, w)["id"])
    before = owner_sql("SELECT xmin::text AS x FROM client_group_fum WHERE client_group_id = %s", (house.group_id,))
    owner_sql("UPDATE products SET name = 'Renamed', notes = 'n' WHERE id = %s", (product,))
    after = owner_sql("SELECT xmin::text AS x FROM client_group_fum WHERE client_group_id = %s", (house.group_id,))
    assert before == after and len(before) == 1


def test_two_writers_of_different_products_of_one_household_both_count(client: Any, w: dict[str, str]) -> None:
    """Two transactions each value a different product of the same household. The second waits on the household's
    row until the first commits, and its rewrite then sees the first's valuation: the household counts both (each
    alone would have summed without the other's)."""
    house = create_household(client, w)
    products = [create_product(client, w, house, start_date="2021-01-01")["id"] for _ in range(2)]
    pfs = [add_portfolio_fund(client, w, p, create_fund(client, w)["id"], start_date="2021-01-01")["id"]
           for p in products]
    insert = ("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
              "SELECT firm_id, id, '2021-12-31', %s FROM portfolio_funds WHERE id = %s")
    outcome = second_writer_after_first(insert, ("100.00", pfs[0]), ("23.00", pfs[1]))
    assert outcome == {"committed": True}
    assert assert_in_step([house.group_id]) == {house.group_id: (Decimal("123.00"), 2, date(2021, 12, 31))}
