"""Demo managed products: a catalogue (providers, funds, templates) and, per household, products with
ownership, portfolios, and month-end valuations and cash flows (ten years for each household's first product,
less for those it took out since), generated from a seed.

Written in bulk inside the caller's transaction through the catalogue's and holdings' stores (their bulk
functions: one INSERT ... SELECT FROM unnest per table and 50,000 rows); the portfolio valuations follow by the
database's triggers as the rows go in (migration 0013), and the stored IRR history is then made by the same code
the API uses.
"""
from __future__ import annotations

import calendar
import random
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx

PROVIDERS = [("Aviva", "#FFD700"), ("Quilter", "#1F3A93"), ("Fidelity", "#2E8B57"), ("Transact", "#8B0000"),
             ("AJ Bell", "#FF6600"), ("Standard Life", "#004B87"), ("Royal London", "#6A0DAD")]
FUND_NAMES = ["Vanguard LifeStrategy 60% Equity", "Vanguard FTSE Global All Cap", "iShares Core MSCI World",
              "Fidelity Index World", "Royal London Short Duration Gilts", "L&G Global Technology Index",
              "HSBC FTSE All-Share Index", "BlackRock Consensus 85", "Jupiter Merlin Balanced",
              "Baillie Gifford Managed", "Liontrust Sustainable Future", "Artemis Income", "Rathbone Ethical Bond",
              "M&G Strategic Corporate Bond", "Schroder Global Recovery"]
PRODUCT_TYPES = ["gia", "stocks_and_shares_isa", "pension", "offshore_bond", "onshore_bond", "cash_isa"]
TYPE_NAMES = {"gia": "GIA", "stocks_and_shares_isa": "Stocks & Shares ISA", "pension": "SIPP",
              "offshore_bond": "Offshore Bond", "onshore_bond": "Onshore Bond", "cash_isa": "Cash ISA"}
TEMPLATES = {"Cautious": [40, 35, 20, 5], "Balanced": [55, 25, 15, 5], "Adventurous": [70, 20, 10]}
ONGOING_COST = Decimal("0.25")


def isin_with_check(payload: str) -> str:
    """Append the ISO 6166 check digit to an 11-character payload."""
    from chalicelib.products.catalogue.models import isin_check_digit

    return payload + str(isin_check_digit(payload))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _months(start: date, end: date) -> list[date]:
    out, y, m = [], start.year, start.month
    while True:
        d = _month_end(y, m)
        if d > end:
            return out
        out.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _uuid(rng: random.Random) -> UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def create_catalogue(tx: Tx, rng: random.Random) -> dict[str, Any]:
    """The demo catalogue: providers, funds (one of them cash) and three templates with a generation each.

    What the firm already has of it, by name (a second demo load into the same firm), is reused, not written
    twice: provider names are unique in a firm, and two funds or templates of one name would only confuse. A
    reused fund keeps its own cash flag (the products model cash as cash, whatever its name); a reused template
    without funds gets a new generation."""
    from chalicelib.products.catalogue import store

    store.insert_providers_if_absent(tx, [(_uuid(rng), name, colour) for name, colour in PROVIDERS])
    provider_ids = store.provider_ids_named(tx, [name for name, _ in PROVIDERS])
    funds = [(_uuid(rng), name, isin_with_check("GB00" + "".join(rng.choice("0123456789BCDFGHJ") for _ in range(7))),
              rng.randint(2, 6), False) for name in FUND_NAMES]
    funds.append((_uuid(rng), "Cash Account", None, 1, True))
    have = store.fund_ids_named(tx, [f[1] for f in funds])
    new = [f for f in funds if f[1].lower() not in have]
    if new:
        store.bulk_insert_funds(tx, new, ONGOING_COST)
    fund_ids = [have.get(f[1].lower(), f[0]) for f in funds]
    # Whatever the firm already had under a demo name is taken as it is: cash or not is the fund's own flag.
    cash_ids = store.cash_fund_ids(tx)
    if fund_ids[-1] not in cash_ids:  # the firm's "Cash Account" is not a cash fund: the demo brings its own
        fund_ids[-1] = store.insert_item(tx, "fund", {"id": _uuid(rng), "name": "Cash Account (demo)", "risk_factor": 1,
                                                      "ongoing_cost": ONGOING_COST, "is_cash": True})["id"]
        cash_ids.add(fund_ids[-1])
    investable = [f for f in fund_ids[:-1] if f not in cash_ids]
    generations = []
    for name, weights in TEMPLATES.items():
        chosen = rng.sample(investable, len(weights))
        existing = store.latest_generation_of_template_named(tx, name)
        if existing is not None and existing["id"] is not None:
            held = store.generation_funds(tx, existing["id"])
            if held:
                generations.append((existing["id"], held))
                continue
        template_id = existing["template_id"] if existing is not None else \
            store.insert_item(tx, "template", {"name": name})["id"]
        held = [(f, Decimal(w)) for f, w in zip(chosen, weights, strict=False)]
        gen_id = store.insert_generation(tx, template_id, store.next_generation_number(tx, template_id), None, held)
        generations.append((gen_id, held))
    return {"providers": provider_ids, "funds": investable, "cash": fund_ids[-1], "cash_ids": cash_ids,
            "generations": generations}


def _ownership(rng: random.Random, kind: str, people: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [str(p["id"]) for p in people]
    if kind in ("couple", "family") and len(ids) >= 2 and rng.random() < 0.6:
        if rng.random() < 0.5:
            return {"association_type": "joint", "joint_owners": ids[:2], "collective_percentage": "100.00"}
        first = rng.choice([50, 60, 70])
        return {"association_type": "tenants_in_common", "shares": {ids[0]: f"{first}.00", ids[1]: f"{100 - first}.00"}}
    return {"association_type": "individual", "product_owner_id": rng.choice(ids[:2])}


def create_products(tx: Tx, rng: random.Random, catalogue: dict[str, Any],
                    households: list[tuple[dict[str, Any], list[dict[str, Any]]]], *,
                    years: int = 10, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Products with portfolios, valuations and cash flows for each household; returns counts."""
    from psycopg.types.json import Jsonb

    today = date.today()
    horizon = date(today.year - years, today.month, 1)
    last = _months(horizon, today)[-1] if today.day < 28 else _month_end(today.year, today.month)
    products, pfunds, valuations, activity = [], [], [], []
    for group, people in households:
        for k in range(rng.choices([1, 2, 3], [45, 40, 15])[0]):
            ptype = rng.choice(PRODUCT_TYPES)
            # The household's first product has the whole history; later ones started since.
            months_back = years * 12 if k == 0 else rng.randint(6, years * 12)
            start = date(horizon.year + (horizon.month - 1 + years * 12 - months_back) // 12,
                         (horizon.month - 1 + years * 12 - months_back) % 12 + 1, 1)
            pid = _uuid(rng)
            generation = rng.choice(catalogue["generations"]) if rng.random() < 0.6 else None
            if generation:
                holdings = list(generation[1])
            else:
                picks = rng.sample(catalogue["funds"], rng.randint(1, 3))
                weights = [Decimal(100) / len(picks)] * len(picks)
                holdings = list(zip(picks, weights, strict=False))
            if rng.random() < 0.3:
                holdings.append((catalogue["cash"], Decimal(0)))
            products.append((pid, group["id"], f"{TYPE_NAMES[ptype]} ({people[0]['first_name']})", ptype,
                             rng.choice(catalogue["providers"]), f"{ptype[:3].upper()}-{rng.randint(100000, 999999)}",
                             start, Decimal(rng.choice([0, 0, 250, 500])), Decimal(rng.choice([0, 0, 100, 150])),
                             Decimal(rng.choice(["0.25", "0.50", "0.75", "1.00"])),
                             Jsonb(_ownership(rng, group["type"], people)), generation[0] if generation else None))
            initial = Decimal(rng.randrange(10_000, 400_000, 500))
            regular = Decimal(rng.choice([0, 0, 100, 250, 500]))
            for fund_id, weight in holdings:
                pfid = _uuid(rng)
                pfunds.append((pfid, pid, fund_id, weight or None, start))
                is_cash = fund_id in catalogue["cash_ids"]
                share = Decimal("0.02") if is_cash else (weight / 100)
                value = (initial * share).quantize(Decimal("0.01"))
                activity.append((pfid, start, "investment", value))
                drift, vol = (0.0, 0.0) if is_cash else (rng.uniform(0.002, 0.008), rng.uniform(0.015, 0.045))
                for month_end in _months(start, last):
                    flow = (regular * share).quantize(Decimal("0.01"))
                    if (flow > 0 and month_end.month != start.month) or (flow > 0 and month_end.year != start.year):
                        activity.append((pfid, month_end, "regular_investment", flow))
                        value += flow
                    if rng.random() < 0.01 and value > 1000:
                        out = (value * Decimal("0.1")).quantize(Decimal("0.01"))
                        activity.append((pfid, month_end, "withdrawal", out))
                        value -= out
                    value = max(Decimal(0), (value * Decimal(1 + rng.gauss(drift, vol))).quantize(Decimal("0.01")))
                    valuations.append((pfid, month_end, value))
        if progress:
            progress(1)
    from chalicelib.products.holdings import store

    store.bulk_insert_products(tx, products)
    store.bulk_insert_portfolio_funds(tx, pfunds)
    for kind, rows in (("valuation", valuations), ("activity", activity)):
        for start in range(0, len(rows), 50_000):
            store.bulk_insert_dated(tx, kind, rows[start:start + 50_000])  # portfolio valuations follow (0013)
    return {"products": len(products), "portfolio_funds": len(pfunds), "fund_valuations": len(valuations),
            "cash_flows": len(activity), "product_ids": [p[0] for p in products],
            "first_products": {g: p for p, g, *_ in reversed(products)}}
