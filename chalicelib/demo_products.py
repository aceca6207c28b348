"""Demo managed products: a catalogue (providers, funds, templates) and, per household, products with
ownership, portfolios, and month-end valuations and cash flows (ten years for each household's first product,
less for those it took out since), generated from a seed.

Written in bulk (INSERT ... SELECT FROM unnest) inside the caller's transaction; the derived data (portfolio
valuations, the stored IRR history) is then made by the same code the API uses.
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
    providers = [(_uuid(rng), name, colour) for name, colour in PROVIDERS]
    tx.execute("INSERT INTO providers (id, firm_id, name, colour) SELECT u.i, current_firm_id(), u.n, u.c "
               "FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS u(i, n, c) "
               "ON CONFLICT (firm_id, lower(name)) DO NOTHING",
               ([p[0] for p in providers], [p[1] for p in providers], [p[2] for p in providers]))
    lowered = [name.lower() for name, _ in PROVIDERS]
    provider_ids = [r["id"] for r in tx.all("SELECT id FROM providers WHERE lower(name) = ANY(%(n)s::text[]) "
                                            "ORDER BY array_position(%(n)s::text[], lower(name))", {"n": lowered})]
    funds = [(_uuid(rng), name, isin_with_check("GB00" + "".join(rng.choice("0123456789BCDFGHJ") for _ in range(7))),
              rng.randint(2, 6), False) for name in FUND_NAMES]
    funds.append((_uuid(rng), "Cash Account", None, 1, True))
    have = {r["name"]: r["id"] for r in tx.all(
        "SELECT DISTINCT ON (lower(name)) lower(name) AS name, id FROM funds WHERE lower(name) = ANY(%s::text[]) "
        "ORDER BY lower(name), id", ([f[1].lower() for f in funds],))}
    new = [f for f in funds if f[1].lower() not in have]
    if new:
        tx.execute("INSERT INTO funds (id, firm_id, name, isin, risk_factor, ongoing_cost, is_cash) "
                   "SELECT u.i, current_firm_id(), u.n, u.s, u.r, 0.25, u.c FROM unnest(%s::uuid[], %s::text[], "
                   "%s::text[], %s::int[], %s::boolean[]) AS u(i, n, s, r, c)",
                   tuple([f[k] for f in new] for k in range(5)))
    fund_ids = [have.get(f[1].lower(), f[0]) for f in funds]
    # Whatever the firm already had under a demo name is taken as it is: cash or not is the fund's own flag.
    cash_ids = {r["id"] for r in tx.all("SELECT id FROM funds WHERE is_cash")}
    if fund_ids[-1] not in cash_ids:  # the firm's "Cash Account" is not a cash fund: the demo brings its own
        fund_ids[-1] = tx.one("INSERT INTO funds (id, firm_id, name, risk_factor, ongoing_cost, is_cash) "
                              "VALUES (%s, current_firm_id(), 'Cash Account (demo)', 1, 0.25, true) RETURNING id",
                              (_uuid(rng),))["id"]
        cash_ids.add(fund_ids[-1])
    investable = [f for f in fund_ids[:-1] if f not in cash_ids]
    generations = []
    for name, weights in TEMPLATES.items():
        chosen = rng.sample(investable, len(weights))
        existing = tx.one("SELECT t.id AS template_id, g.id FROM portfolio_templates t LEFT JOIN template_generations g "
                          "ON g.template_id = t.id WHERE lower(t.name) = lower(%s) "
                          "ORDER BY g.generation DESC NULLS LAST, t.id LIMIT 1", (name,))
        if existing is not None and existing["id"] is not None:
            held = tx.all("SELECT fund_id, target_weighting FROM template_generation_funds WHERE generation_id = %s "
                          "ORDER BY target_weighting DESC, fund_id", (existing["id"],))
            if held:
                generations.append((existing["id"], [(r["fund_id"], r["target_weighting"]) for r in held]))
                continue
        template_id = existing["template_id"] if existing is not None else tx.one(
            "INSERT INTO portfolio_templates (firm_id, name) VALUES (current_firm_id(), %s) RETURNING id", (name,))["id"]
        generation = tx.one("SELECT coalesce(max(generation), 0) + 1 AS n FROM template_generations "
                            "WHERE template_id = %s", (template_id,))["n"]
        gen_id = tx.one("INSERT INTO template_generations (firm_id, template_id, generation) "
                        "VALUES (current_firm_id(), %s, %s) RETURNING id", (template_id, generation))["id"]
        tx.execute("INSERT INTO template_generation_funds (firm_id, generation_id, fund_id, target_weighting) "
                   "SELECT current_firm_id(), %s, u.f, u.w FROM unnest(%s::uuid[], %s::numeric[]) AS u(f, w)",
                   (gen_id, chosen, weights))
        generations.append((gen_id, [(f, Decimal(w)) for f, w in zip(chosen, weights)]))
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
                holdings = list(zip(picks, weights))
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
                    if flow > 0 and month_end.month != start.month or (flow > 0 and month_end.year != start.year):
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
    _insert(tx, products, pfunds, valuations, activity)
    for pid, *_ in products:
        tx.execute("SELECT refresh_portfolio_valuations(%s, NULL)", (pid,))
    return {"products": len(products), "portfolio_funds": len(pfunds), "fund_valuations": len(valuations),
            "cash_flows": len(activity), "product_ids": [p[0] for p in products]}


def _insert(tx: Tx, products: list[tuple], pfunds: list[tuple], valuations: list[tuple], activity: list[tuple]) -> None:
    cols = list(zip(*products))
    tx.execute("INSERT INTO products (id, firm_id, client_group_id, name, product_type, provider_id, plan_number, "
               "start_date, fixed_fee_direct, fixed_fee_facilitated, percentage_fee_facilitated, ownership, "
               "template_generation_id) SELECT u.i, current_firm_id(), u.g, u.n, u.t, u.p, u.pn, u.s, u.fd, u.ff, "
               "u.pf, u.o, u.tg FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::text[], %s::uuid[], %s::text[], "
               "%s::date[], %s::numeric[], %s::numeric[], %s::numeric[], %s::jsonb[], %s::uuid[]) "
               "AS u(i, g, n, t, p, pn, s, fd, ff, pf, o, tg)", tuple(list(c) for c in cols))
    cols = list(zip(*pfunds))
    tx.execute("INSERT INTO portfolio_funds (id, firm_id, product_id, fund_id, target_weighting, start_date) "
               "SELECT u.i, current_firm_id(), u.p, u.f, u.w, u.s FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], "
               "%s::numeric[], %s::date[]) AS u(i, p, f, w, s)", tuple(list(c) for c in cols))
    for start in range(0, len(valuations), 50_000):
        cols = list(zip(*valuations[start:start + 50_000]))
        tx.execute("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
                   "SELECT current_firm_id(), u.p, u.d, u.v FROM unnest(%s::uuid[], %s::date[], %s::numeric[]) "
                   "AS u(p, d, v)", tuple(list(c) for c in cols))
    for start in range(0, len(activity), 50_000):
        cols = list(zip(*activity[start:start + 50_000]))
        tx.execute("INSERT INTO holding_activity (firm_id, portfolio_fund_id, activity_date, activity_type, amount) "
                   "SELECT current_firm_id(), u.p, u.d, u.t, u.a FROM unnest(%s::uuid[], %s::date[], %s::text[], "
                   "%s::numeric[]) AS u(p, d, t, a)", tuple(list(c) for c in cols))
