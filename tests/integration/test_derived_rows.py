"""Portfolio valuations follow every writer: raw SQL as the owner role (as a migration, a loader or a fix by hand
would write), single rows and many rows in one statement, leaves portfolio_valuations equal to what this file
computes from fund_valuations, portfolio_funds and funds by itself (the rule of migrations 0004 and 0010: a date
has a portfolio valuation exactly when every non-cash fund active on it is valued that day, and its value is the
sum of the product's fund valuations that day). The statement triggers of migration 0013 keep it so; nothing here
calls refresh_portfolio_valuations.
"""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest

from tests.conftest import Firm, make_firm, owner_sql
from tests.integration.concurrency_support import second_writer_after_first
from tests.integration.matrix_support import add_portfolio_fund, create_fund, create_household, create_product

D = date.fromisoformat


@pytest.fixture(scope="module")
def firm(database: str) -> Firm:
    return make_firm()


@pytest.fixture
def w(firm: Firm) -> dict[str, str]:
    return firm.auth("adviser")


def expected(products: list[Any]) -> dict[tuple[UUID, date], Decimal]:
    """The portfolio valuations the rule gives, computed here from the source rows."""
    funds = owner_sql("SELECT a.id, a.product_id, a.start_date, a.end_date, f.is_cash FROM portfolio_funds a "
                      "JOIN funds f ON f.id = a.fund_id WHERE a.product_id = ANY(%s::uuid[])",
                      ([str(p) for p in products],))
    by_product: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for f in funds:
        by_product[f["product_id"]].append(f)
    product_of = {f["id"]: f["product_id"] for f in funds}
    valued: dict[tuple[UUID, date], dict[UUID, Decimal]] = defaultdict(dict)  # (product, day) -> fund -> value
    for v in owner_sql("SELECT portfolio_fund_id, valuation_date, value FROM fund_valuations "
                       "WHERE portfolio_fund_id = ANY(%s::uuid[])", (list(product_of),)):
        valued[(product_of[v["portfolio_fund_id"]], v["valuation_date"])][v["portfolio_fund_id"]] = v["value"]
    out = {}
    for (product, day), values in valued.items():
        active = [f["id"] for f in by_product[product] if not f["is_cash"] and f["start_date"] <= day
                  and (f["end_date"] is None or f["end_date"] >= day)]
        if all(fund in values for fund in active):
            out[(product, day)] = sum(values.values(), Decimal(0))
    return out


def stored(products: list[Any]) -> dict[tuple[UUID, date], Decimal]:
    return {(r["product_id"], r["valuation_date"]): r["value"] for r in owner_sql(
        "SELECT product_id, valuation_date, value FROM portfolio_valuations WHERE product_id = ANY(%s::uuid[])",
        ([str(p) for p in products],))}


def assert_in_step(products: list[Any]) -> dict[tuple[UUID, date], Decimal]:
    want, got = expected(products), stored(products)
    assert got == want, {"missing or wrong": {k: v for k, v in want.items() if got.get(k) != v},
                         "extra": {k: v for k, v in got.items() if k not in want}}
    return got


def by_day(rows: dict[tuple[UUID, date], Decimal], product: Any) -> dict[str, str]:
    return {day.isoformat(): str(value) for (p, day), value in sorted(rows.items()) if str(p) == str(product)}


def insert_valuations(rows: list[tuple[Any, str, str]]) -> None:
    """One INSERT statement for all rows (portfolio fund, date, value)."""
    owner_sql("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
              "SELECT pf.firm_id, pf.id, u.d, u.v FROM unnest(%s::uuid[], %s::date[], %s::numeric[]) AS u(f, d, v) "
              "JOIN portfolio_funds pf ON pf.id = u.f",
              ([str(r[0]) for r in rows], [r[1] for r in rows], [r[2] for r in rows]))


def valuation_id(pf: Any, day: str) -> UUID:
    return owner_sql("SELECT id FROM fund_valuations WHERE portfolio_fund_id = %s AND valuation_date = %s",
                     (pf, day))[0]["id"]


def test_every_kind_of_raw_write_keeps_the_portfolio_valuations(client: Any, w: dict[str, str]) -> None:
    """A hand-worked product: funds A and B (not cash) and C (cash), all from 2023-01-01. After each raw
    statement the stored rows equal both the worked figures and this file's computation."""
    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2023-01-01")["id"]
    fund = {k: create_fund(client, w, is_cash=(k == "C"))["id"] for k in "ABCD"}
    pf = {k: add_portfolio_fund(client, w, product, fund[k], start_date="2023-01-01")["id"] for k in "ABC"}

    def step(want: dict[str, str]) -> None:
        assert by_day(assert_in_step([product]), product) == want

    insert_valuations([(pf["A"], "2023-01-31", "100.00"), (pf["A"], "2023-02-28", "110.00"),
                       (pf["C"], "2023-01-31", "5.00")])
    step({})  # B is active and not valued on either date
    insert_valuations([(pf["B"], "2023-01-31", "200.00")])
    step({"2023-01-31": "305.00"})
    owner_sql("UPDATE fund_valuations SET value = 150 WHERE id = %s", (valuation_id(pf["A"], "2023-01-31"),))
    step({"2023-01-31": "355.00"})
    # A new date: the old one loses B, the new one gains it.
    owner_sql("UPDATE fund_valuations SET valuation_date = '2023-02-28' WHERE id = %s",
              (valuation_id(pf["B"], "2023-01-31"),))
    step({"2023-02-28": "310.00"})
    # B starts later: on 2023-01-31 only A is active and it is valued (C, cash, adds its value).
    owner_sql("UPDATE portfolio_funds SET start_date = '2023-02-01' WHERE id = %s", (pf["B"],))
    step({"2023-01-31": "155.00", "2023-02-28": "310.00"})
    # A fund added to the portfolio must be valued too; one that ends before the dates does not count.
    pf["D"] = owner_sql("INSERT INTO portfolio_funds (firm_id, product_id, fund_id, start_date) "
                        "SELECT firm_id, id, %s, '2023-01-01' FROM products WHERE id = %s RETURNING id",
                        (fund["D"], product))[0]["id"]
    step({})
    owner_sql("UPDATE portfolio_funds SET end_date = '2023-01-15' WHERE id = %s", (pf["D"],))
    step({"2023-01-31": "155.00", "2023-02-28": "310.00"})
    owner_sql("UPDATE portfolio_funds SET end_date = NULL WHERE id = %s", (pf["D"],))
    step({})
    # A cash fund need not be valued: the fund's flag decides, for every product holding it.
    owner_sql("UPDATE funds SET is_cash = true WHERE id = %s", (fund["D"],))
    step({"2023-01-31": "155.00", "2023-02-28": "310.00"})
    owner_sql("UPDATE funds SET is_cash = false WHERE id = %s", (fund["D"],))
    step({})
    owner_sql("DELETE FROM portfolio_funds WHERE id = %s", (pf["D"],))
    step({"2023-01-31": "155.00", "2023-02-28": "310.00"})
    owner_sql("DELETE FROM fund_valuations WHERE id = %s", (valuation_id(pf["A"], "2023-02-28"),))
    step({"2023-01-31": "155.00"})  # A is active and no longer valued on 2023-02-28
    # A turned cash: 2023-02-28 needs only B; 2023-01-31 now has no active non-cash fund at all, and the funds
    # valued that day make it.
    owner_sql("UPDATE funds SET is_cash = true WHERE id = %s", (fund["A"],))
    step({"2023-01-31": "155.00", "2023-02-28": "200.00"})
    owner_sql("DELETE FROM fund_valuations WHERE id = %s", (valuation_id(pf["B"], "2023-02-28"),))
    step({"2023-01-31": "155.00"})

    # A statement the date rules refuse (a valuation before its fund starts) leaves nothing behind.
    before = stored([product])
    with pytest.raises(psycopg.errors.CheckViolation):
        insert_valuations([(pf["A"], "2023-03-31", "1.00"), (pf["B"], "2023-01-10", "1.00")])
    assert stored([product]) == before


def test_a_valuation_moved_to_another_product_leaves_both_in_step(client: Any, w: dict[str, str]) -> None:
    """An update that changes a row's fund rewrites the old fund's product and date and the new one's."""
    house = create_household(client, w)
    products = [create_product(client, w, house, start_date="2022-01-01")["id"] for _ in range(2)]
    cash = create_fund(client, w, is_cash=True)["id"]
    first = add_portfolio_fund(client, w, products[0], create_fund(client, w)["id"], start_date="2022-01-01")["id"]
    second = add_portfolio_fund(client, w, products[1], cash, start_date="2022-01-01")["id"]
    insert_valuations([(first, "2022-03-31", "700.00"), (second, "2022-06-30", "90.00")])
    assert {str(p): by_day(assert_in_step(products), p) for p in products} == {
        products[0]: {"2022-03-31": "700.00"}, products[1]: {"2022-06-30": "90.00"}}
    owner_sql("UPDATE fund_valuations SET portfolio_fund_id = %s, valuation_date = '2022-04-30' WHERE id = %s",
              (second, valuation_id(first, "2022-03-31")))
    assert {str(p): by_day(assert_in_step(products), p) for p in products} == {
        products[0]: {}, products[1]: {"2022-04-30": "700.00", "2022-06-30": "90.00"}}


def test_many_rows_in_one_statement_over_many_products(client: Any, w: dict[str, str]) -> None:
    """Bulk statements (thousands of rows, several products, holes left on purpose): an insert of whole histories,
    an insert into those histories, one update of values and dates, one delete, and an end date set on every fund
    at once."""
    rng = random.Random(13)
    house = create_household(client, w)
    products, pfs = [], []
    for _ in range(3):
        product = create_product(client, w, house, start_date="2015-01-01")["id"]
        products.append(product)
        for k in range(4):
            pfs.append(add_portfolio_fund(client, w, product, create_fund(client, w, is_cash=(k == 3))["id"],
                                          start_date="2015-01-01")["id"])
    days = [(date(2015, 1, 1) + timedelta(days=7 * i)).isoformat() for i in range(300)]
    rows = [(pf, d, f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}") for pf in pfs for d in days
            if rng.random() < 0.93]
    insert_valuations(rows)
    got = assert_in_step(products)
    assert 0 < len(got) < 3 * len(days)  # some dates complete, some not: the holes matter
    # Many more rows for products that already have a history (their new dates only are rewritten), some of them
    # filling holes left above.
    later = [(date(2015, 1, 4) + timedelta(days=7 * i)).isoformat() for i in range(60)]
    insert_valuations([(pf, d, "1.00") for pf in pfs[:8] for d in later]
                      + [(pf, d, "2.00") for pf in pfs[8:] for d in days[:40] if (pf, d) not in {r[:2] for r in rows}])
    assert_in_step(products)
    owner_sql("UPDATE fund_valuations SET value = value + 1, valuation_date = valuation_date + 1 "
              "WHERE portfolio_fund_id = ANY(%s::uuid[]) AND valuation_date > '2018-01-01' "
              "AND extract(dow FROM valuation_date) = extract(dow FROM DATE '2015-01-01')", (pfs[::2],))
    assert_in_step(products)
    owner_sql("DELETE FROM fund_valuations WHERE portfolio_fund_id = ANY(%s::uuid[]) "
              "AND valuation_date BETWEEN '2016-01-01' AND '2017-06-30'", (pfs[1::3],))
    assert_in_step(products)
    owner_sql("UPDATE portfolio_funds SET end_date = (SELECT max(valuation_date) FROM fund_valuations v "
              "WHERE v.portfolio_fund_id = portfolio_funds.id) WHERE id = ANY(%s::uuid[])", (pfs,))
    assert_in_step(products)
    owner_sql("DELETE FROM fund_valuations WHERE portfolio_fund_id = ANY(%s::uuid[])", (pfs,))
    assert assert_in_step(products) == {}


def test_random_raw_writes_keep_the_portfolio_valuations(client: Any, w: dict[str, str]) -> None:
    """Two hundred random raw statements over three products sharing funds: valuations inserted (one or many),
    revalued, moved to another date, deleted; funds added, ended, reopened, moved in start and removed; funds
    turned cash and back. After each, the stored rows equal this file's computation."""
    rng = random.Random(20261203)
    house = create_household(client, w)
    products = [create_product(client, w, house, start_date="2022-01-01")["id"] for _ in range(3)]
    funds = [create_fund(client, w, is_cash=(k >= 4))["id"] for k in range(6)]
    days = [date(2022, m + 1, 1) - timedelta(days=1) for m in range(1, 12)]  # month ends, January to November
    for product in products:
        for fund in rng.sample(funds, 3):
            add_portfolio_fund(client, w, product, fund, start_date="2022-01-01")

    def state() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        # In the order they were written, not by their random ids: the seed alone decides the run.
        pfs = owner_sql("SELECT id, product_id, start_date, end_date FROM portfolio_funds "
                        "WHERE product_id = ANY(%s::uuid[]) ORDER BY created_at, id", (products,))
        vals = owner_sql("SELECT v.id, v.portfolio_fund_id, v.valuation_date FROM fund_valuations v "
                         "JOIN portfolio_funds pf ON pf.id = v.portfolio_fund_id WHERE pf.id = ANY(%s::uuid[]) "
                         "ORDER BY pf.created_at, v.valuation_date", ([p["id"] for p in pfs],))
        return pfs, vals

    def free_days(pf: dict[str, Any], vals: list[dict[str, Any]]) -> list[date]:
        taken = {v["valuation_date"] for v in vals if v["portfolio_fund_id"] == pf["id"]}
        return [d for d in days if d >= pf["start_date"] and (pf["end_date"] is None or d <= pf["end_date"])
                and d not in taken]

    done: dict[str, int] = defaultdict(int)
    for _ in range(200):
        pfs, vals = state()
        action = rng.choice(["insert", "insert", "insert_many", "revalue", "redate", "redate", "delete", "delete",
                             "add_fund", "end_fund", "reopen_fund", "move_start", "remove_fund", "flip_cash"])
        if action in ("insert", "insert_many"):
            rows = []
            for pf in rng.sample(pfs, len(pfs) if action == "insert_many" else 1):
                rows += [(pf["id"], d.isoformat(), f"{rng.randint(0, 5000)}.00")
                         for d in rng.sample(free_days(pf, vals), min(len(free_days(pf, vals)), rng.randint(1, 3)))]
            if not rows:
                continue
            insert_valuations(rows)
        elif action == "revalue" and vals:
            owner_sql("UPDATE fund_valuations SET value = value + %s WHERE id = ANY(%s::uuid[])",
                      (rng.randint(1, 50), [v["id"] for v in rng.sample(vals, min(len(vals), rng.randint(1, 6)))]))
        elif action == "redate":
            movable = [(v, free) for v in vals for pf in pfs if pf["id"] == v["portfolio_fund_id"]
                       for free in [free_days(pf, vals)] if free]
            if not movable:
                continue
            v, free = rng.choice(movable)
            owner_sql("UPDATE fund_valuations SET valuation_date = %s WHERE id = %s", (rng.choice(free), v["id"]))
        elif action == "delete" and vals:
            owner_sql("DELETE FROM fund_valuations WHERE id = ANY(%s::uuid[])",
                      ([v["id"] for v in rng.sample(vals, min(len(vals), rng.randint(1, 4)))],))
        elif action == "add_fund":
            owner_sql("INSERT INTO portfolio_funds (firm_id, product_id, fund_id, start_date) "
                      "SELECT firm_id, id, %s, %s FROM products WHERE id = %s",
                      (rng.choice(funds), rng.choice(days[:5]), rng.choice(products)))
        elif action == "end_fund":
            pf = rng.choice(pfs)
            last = max([v["valuation_date"] for v in vals if v["portfolio_fund_id"] == pf["id"]]
                       + [pf["start_date"]])
            owner_sql("UPDATE portfolio_funds SET end_date = %s WHERE id = %s",
                      (rng.choice([d for d in days if d >= last] or [last]), pf["id"]))
        elif action == "reopen_fund":
            owner_sql("UPDATE portfolio_funds SET end_date = NULL WHERE id = %s", (rng.choice(pfs)["id"],))
        elif action == "move_start":
            pf = rng.choice(pfs)
            first = min([v["valuation_date"] for v in vals if v["portfolio_fund_id"] == pf["id"]]
                        + [pf["end_date"] or days[-1]])
            owner_sql("UPDATE portfolio_funds SET start_date = %s WHERE id = %s",
                      (rng.choice([d for d in [D("2022-01-01"), *days] if d <= first]), pf["id"]))
        elif action == "remove_fund":
            empty = [p for p in pfs if not any(v["portfolio_fund_id"] == p["id"] for v in vals)]
            if not empty:
                continue
            owner_sql("DELETE FROM portfolio_funds WHERE id = %s", (rng.choice(empty)["id"],))
        elif action == "flip_cash":
            owner_sql("UPDATE funds SET is_cash = NOT is_cash WHERE id = %s", (rng.choice(funds),))
        else:
            continue
        done[action] += 1
        assert_in_step(products)
    assert len(done) == 11 and min(done.values()) >= 3, done  # every kind of write was exercised
    assert len(stored(products)) >= 3  # and the products were not left trivially empty


def test_two_raw_writers_valuing_different_funds_on_one_date_make_its_valuation(client: Any,
                                                                               w: dict[str, str]) -> None:
    """Without the API's product lock, two transactions each value one of two funds on the same date. The trigger
    takes the product's lock, so the second waits for the first and its refresh sees the first's row: the date
    has its portfolio valuation (each alone would have found the date incomplete)."""
    house = create_household(client, w)
    product = create_product(client, w, house, start_date="2021-01-01")["id"]
    pfs = [add_portfolio_fund(client, w, product, create_fund(client, w)["id"], start_date="2021-01-01")["id"]
           for _ in range(2)]
    insert = ("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
              "SELECT firm_id, id, '2021-12-31', %s FROM portfolio_funds WHERE id = %s")
    outcome = second_writer_after_first(insert, ("100.00", pfs[0]), ("23.00", pfs[1]))
    assert outcome == {"committed": True}
    assert by_day(assert_in_step([product]), product) == {"2021-12-31": "123.00"}
