"""Net worth against an independent implementation written here with Fraction (exact rationals, pennies as whole
numbers), for random households:

- the engine alone, on thousands of random rows (any ownership form, assets and liabilities, rates or none);
- the whole path for random households written into the database (managed products and their valuations,
  unmanaged assets and liabilities in pounds, in dollars at a rate of the day or in a currency without a rate): the
  API's answer and the daily job's snapshot row, against the same reference.

Whatever the households, every row's owner and joint columns add up to its total, third_party is the rest of its
value, subtotals add up their rows, totals their sections, and assets - liabilities = net worth, to the penny.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.networth import engine
from tests.conftest import owner_sql

# --- the reference -------------------------------------------------------------------------------------------------


def _half_away(x: Fraction) -> int:
    """x rounded to a whole number, halves away from zero."""
    n = abs(x)
    whole = n.numerator // n.denominator
    if n - whole >= Fraction(1, 2):
        whole += 1
    return whole if x >= 0 else -whole


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def reference_row(value_pennies: int, ownership: dict[str, Any], columns: list[str]) -> dict[str, int]:
    """One row in pennies: the household's part is value x share / 100 rounded half away from zero; tenants in
    common share it by largest remainder (ties: larger share, then column order); the rest is a third party's."""
    form = ownership["association_type"]
    out = dict.fromkeys([*columns, "joint", "third_party", "total"], 0)
    if form == "individual":
        share = Fraction(100)
    elif form == "joint":
        share = Fraction(ownership["collective_percentage"])
    else:
        share = sum((Fraction(v) for v in ownership["shares"].values()), Fraction(0))
    sign = -1 if value_pennies < 0 else 1
    v = abs(value_pennies)
    total = _half_away(Fraction(v) * share / 100)
    if form == "individual":
        out[ownership["product_owner_id"]] = total
    elif form == "joint":
        out["joint"] = total
    else:
        exact = {o: Fraction(v) * Fraction(s) / 100 for o, s in ownership["shares"].items()}
        parts = {o: _floor(e) for o, e in exact.items()}
        left = total - sum(parts.values())
        assert 0 <= left <= len(parts)
        ranked = sorted(exact, key=lambda o: (-(exact[o] - parts[o]), -Fraction(ownership["shares"][o]),
                                              columns.index(o)))
        for o in ranked[:left]:
            parts[o] += 1
        out.update(parts)
    out["total"] = total
    out["third_party"] = v - total
    return {k: x * sign for k, x in out.items()}


def reference(columns: list[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """rows: {"value_pennies", "rate" (Fraction or None), "kind", "section", "ownership"} -> per row (in the given
    order, None when unconverted), per (kind, section) subtotal and per kind total, in pennies."""
    keys = [*columns, "joint", "third_party", "total"]
    per_row: list[dict[str, int] | None] = []
    subtotals: dict[tuple[str, str], dict[str, int]] = {}
    totals = {k: dict.fromkeys(keys, 0) for k in ("asset", "liability")}
    for r in rows:
        if r["rate"] is None:
            per_row.append(None)
            continue
        converted = _half_away(Fraction(r["value_pennies"]) * r["rate"])
        amounts = reference_row(converted, r["ownership"], columns)
        per_row.append(amounts)
        sub = subtotals.setdefault((r["kind"], r["section"]), dict.fromkeys(keys, 0))
        for k in keys:
            sub[k] += amounts[k]
            totals[r["kind"]][k] += amounts[k]
    net = {k: totals["asset"][k] - totals["liability"][k] for k in keys}
    return {"rows": per_row, "subtotals": subtotals, "totals": totals, "net": net}


def pennies(text: str) -> int:
    d = Decimal(text)
    assert d == d.quantize(Decimal("0.01")), text
    return int(d * 100)


def _check_invariants(answer: dict[str, Any], columns: list[str]) -> None:
    owner_keys = [*columns, "joint"]
    for section in answer["sections"]:
        sub = dict.fromkeys([*owner_keys, "third_party", "total"], 0)
        for row in section["rows"]:
            a = {k: pennies(v) for k, v in row["amounts"].items()}
            assert sum(a[k] for k in owner_keys) == a["total"], row
            for k in sub:
                sub[k] += a[k]
        assert {k: pennies(v) for k, v in section["subtotal"].items()} == sub
    t = {kind: {k: pennies(v) for k, v in answer["totals"][kind].items()} for kind in ("assets", "liabilities",
                                                                                        "net_worth")}
    for kind, key in (("asset", "assets"), ("liability", "liabilities")):
        summed = dict.fromkeys(t[key], 0)
        for section in answer["sections"]:
            if section["kind"] == kind:
                for k, v in section["subtotal"].items():
                    summed[k] += pennies(v)
        assert summed == t[key]
    assert {k: t["assets"][k] - t["liabilities"][k] for k in t["assets"]} == t["net_worth"]
    assert sum(t["net_worth"][k] for k in owner_keys) == t["net_worth"]["total"]


# --- strategies ----------------------------------------------------------------------------------------------------

def _percent(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.integers(lo, hi).map(lambda n: f"{n / 100:.2f}")


@st.composite
def ownerships(draw: Any, columns: list[str]) -> dict[str, Any]:
    form = draw(st.sampled_from(["individual", "tenants_in_common", "joint"] if len(columns) > 1
                                else ["individual", "tenants_in_common"]))
    if form == "individual":
        return {"association_type": "individual", "product_owner_id": draw(st.sampled_from(columns))}
    if form == "joint":
        owners = draw(st.lists(st.sampled_from(columns), min_size=2, max_size=len(columns), unique=True))
        return {"association_type": "joint", "joint_owners": owners, "collective_percentage": draw(_percent(1, 10000))}
    owners = draw(st.lists(st.sampled_from(columns), min_size=1, max_size=len(columns), unique=True))
    shares, room = {}, 10000
    for o in owners:
        if room < 1:
            break
        n = draw(st.one_of(st.integers(1, room), st.just(min(room, 3333)), st.just(room)))
        shares[o] = f"{n / 100:.2f}"
        room -= n
    return {"association_type": "tenants_in_common", "shares": shares}


values = st.one_of(st.integers(0, 10), st.integers(0, 10_000_000), st.integers(0, 10**15))
rates = st.one_of(st.none(), st.just(Fraction(1)),
                  st.integers(1, 10**8).map(lambda n: Fraction(n, 10**6)))


@st.composite
def households(draw: Any) -> tuple[list[str], list[dict[str, Any]]]:
    columns = [str(uuid.UUID(int=i + 1, version=4)) for i in range(draw(st.integers(1, 4)))]
    rows = draw(st.lists(st.fixed_dictionaries({
        "value_pennies": values, "rate": rates, "kind": st.sampled_from(["asset", "liability"]),
        "section": st.sampled_from(["gia", "pension", "mortgage", "property"]),
        "ownership": ownerships(columns)}), max_size=12))
    return columns, rows


# --- the engine ------------------------------------------------------------------------------------------------------

@settings(max_examples=1500, deadline=None)
@given(house=households())
def test_engine_equals_the_reference(house: tuple[list[str], list[dict[str, Any]]]) -> None:
    columns, rows = house
    positions = []
    for i, r in enumerate(rows):
        rate = None if r["rate"] is None else Decimal(r["rate"].numerator) / Decimal(r["rate"].denominator)
        positions.append(engine.Position(
            source="managed_product", id=f"{i:08d}-0000-4000-8000-000000000000", name=f"row {i:02d}",
            section=r["section"], kind=r["kind"], currency="GBP" if r["rate"] == 1 else "USD",
            value=Decimal(r["value_pennies"]) / 100, valuation_date=None, ownership=r["ownership"], rate=rate))
    answer = engine.statement([engine.Owner(c, c) for c in columns], positions, as_of=date(2024, 6, 30),
                              currency="GBP", client_group_id="g")
    ref = reference(columns, rows)
    shown = {row["name"]: row["amounts"] for s in answer["sections"] for row in s["rows"]}
    for i, expected in enumerate(ref["rows"]):
        if expected is None:
            assert f"row {i:02d}" not in shown
        else:
            assert {k: pennies(v) for k, v in shown[f"row {i:02d}"].items()} == expected
    assert sorted(u["name"] for u in answer["unconverted"]) == [f"row {i:02d}" for i, e in enumerate(ref["rows"])
                                                                if e is None]
    assert {(s["kind"], s["name"]): {k: pennies(v) for k, v in s["subtotal"].items()}
            for s in answer["sections"]} == ref["subtotals"]
    for kind, key in (("asset", "assets"), ("liability", "liabilities")):
        assert {k: pennies(v) for k, v in answer["totals"][key].items()} == ref["totals"][kind]
    assert {k: pennies(v) for k, v in answer["totals"]["net_worth"].items()} == ref["net"]
    _check_invariants(answer, columns)


# --- the whole path: random households in the database ---------------------------------------------------------------

def _insert_household(firm_id: Any, fund_id: Any, columns: list[str], rows: list[dict[str, Any]],
                      day: date) -> str:
    """A household with these people and one holding per row, valued on `day` (owner SQL): a managed product
    (rows "managed") or an unmanaged product (an asset or a liability, in its currency)."""
    group = owner_sql("INSERT INTO client_groups (firm_id, name, type) VALUES (%s, %s, 'family') RETURNING id",
                      (firm_id, f"Random {uuid.uuid4().hex[:8]}"))[0]["id"]
    for i, person in enumerate(columns):
        owner_sql("INSERT INTO product_owners (id, firm_id, first_name, surname, inception_date) "
                  "VALUES (%s, %s, 'P', %s, %s)", (person, firm_id, f"S{i}", date(2000, 1, 1) + timedelta(days=i)))
        owner_sql("INSERT INTO client_group_product_owners (firm_id, client_group_id, product_owner_id) "
                  "VALUES (%s, %s, %s)", (firm_id, group, person))
    for i, r in enumerate(rows):
        value = Decimal(r["value_pennies"]) / 100
        if r["where"] == "unmanaged":
            product = owner_sql(
                "INSERT INTO unmanaged_products (firm_id, client_group_id, name, kind, product_type, ownership, "
                "currency) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (firm_id, group, f"row {i:02d}", r["kind"], r["section"], json.dumps(r["ownership"]),
                 r["currency"]))[0]["id"]
            owner_sql("INSERT INTO unmanaged_valuations (firm_id, unmanaged_product_id, valuation_date, value) "
                      "VALUES (%s, %s, %s, %s)", (firm_id, product, day, value))
            continue
        product = owner_sql("INSERT INTO products (firm_id, client_group_id, name, product_type, start_date, "
                            "ownership) VALUES (%s, %s, %s, 'gia', %s, %s) RETURNING id",
                            (firm_id, group, f"row {i:02d}", day - timedelta(days=30),
                             json.dumps(r["ownership"])))[0]["id"]
        pf = owner_sql("INSERT INTO portfolio_funds (firm_id, product_id, fund_id, start_date) VALUES (%s, %s, %s, %s) "
                       "RETURNING id", (firm_id, product, fund_id, day - timedelta(days=30)))[0]["id"]
        owner_sql("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
                  "VALUES (%s, %s, %s, %s)", (firm_id, pf, day, value))
    return str(group)


@st.composite
def db_households(draw: Any) -> tuple[list[str], list[dict[str, Any]], Fraction]:
    """People, rows and the day's USD rate. A row is a managed product (an asset, GBP) or an unmanaged product: an
    asset or a liability in GBP, in USD (at the day's rate) or in XXX (a currency no test gives a rate)."""
    n = draw(st.integers(1, 3))
    columns = [str(uuid.uuid4()) for _ in range(n)]
    usd = Fraction(draw(st.integers(1, 10**8)), 10**6)
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        where = draw(st.sampled_from(["managed", "unmanaged"]))
        kind = "asset" if where == "managed" else draw(st.sampled_from(["asset", "liability"]))
        currency = "GBP" if where == "managed" else draw(st.sampled_from(["GBP", "USD", "XXX"]))
        rows.append({"where": where, "kind": kind, "currency": currency,
                     "section": "gia" if kind == "asset" else "loan",
                     "rate": {"GBP": Fraction(1), "USD": usd, "XXX": None}[currency],
                     "value_pennies": draw(st.one_of(st.integers(0, 10), st.integers(0, 10**11))),
                     "ownership": draw(ownerships(columns))})
    return columns, rows, usd


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(house=db_households(), offset=st.integers(0, 20_000))
def test_api_and_snapshot_equal_the_reference(client: Any, fresh_firm: Any, house: Any, offset: int) -> None:
    from chalicelib.core import db
    from chalicelib.networth import store
    from tests.integration.matrix_support import create_fund, expect_status, send

    columns, rows, usd = house
    auth = fresh_firm.auth("viewer")
    fund = create_fund(client, fresh_firm.auth("admin"), isin=None)["id"]
    day = date(1960, 1, 1) + timedelta(days=offset)  # a day no other test takes
    # The day's USD rate (rates of earlier days, from other examples, are older: not the one on or before it)
    owner_sql("INSERT INTO fx_rates (firm_id, currency, rate_date, rate) VALUES (%s, 'USD', %s, %s) "
              "ON CONFLICT (firm_id, currency, rate_date) DO UPDATE SET rate = EXCLUDED.rate",
              (fresh_firm.id, day, Decimal(usd.numerator) / Decimal(usd.denominator)))
    group = _insert_household(fresh_firm.id, fund, columns, rows, day)
    answer = expect_status(send(client, "GET", f"/v1/client-groups/{group}/networth?as_of={day}", headers=auth), 200)
    assert [o["id"] for o in answer["owners"]] == columns
    ref = reference(columns, rows)
    shown = {row["name"]: {k: pennies(v) for k, v in row["amounts"].items()}
             for s in answer["sections"] for row in s["rows"]}
    assert shown == {f"row {i:02d}": e for i, e in enumerate(ref["rows"]) if e is not None}
    assert sorted(u["name"] for u in answer["unconverted"]) == [f"row {i:02d}" for i, e in enumerate(ref["rows"])
                                                                if e is None]
    for kind, key in (("asset", "assets"), ("liability", "liabilities")):
        assert {k: pennies(v) for k, v in answer["totals"][key].items()} == ref["totals"][kind]
    assert {k: pennies(v) for k, v in answer["totals"]["net_worth"].items()} == ref["net"]
    _check_invariants(answer, columns)
    with db.owner_connection() as conn:
        store.insert_snapshots(conn, day, 60_000)
    [snap] = owner_sql("SELECT assets, liabilities, net_worth, unconverted FROM networth_snapshots "
                       "WHERE client_group_id = %s AND snapshot_date = %s", (group, day))
    assert [pennies(str(snap[k])) for k in ("assets", "liabilities", "net_worth")] == [
        ref["totals"]["asset"]["total"], ref["totals"]["liability"]["total"], ref["net"]["total"]]
    assert snap["unconverted"] == sum(1 for e in ref["rows"] if e is None)
