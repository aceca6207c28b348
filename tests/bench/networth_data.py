"""Bulk data for the net worth figures (N1-N4): households as a firm at 100x its size holds them.

Households and people come from `chalicelib.demo.load(..., products=False)` (tests/bench/common.make_firm) and the
catalogue from `chalicelib.demo_products.create_catalogue`. Then, per household, written as the owner role in
chunks of CHUNK households (one transaction each, a few statements of INSERT ... SELECT each, so that millions of
rows never travel through Python one by one):

- 4 to 6 managed products (pension, ISAs, GIA, bonds; from a catalogue provider), one portfolio fund each, valued at
  `months` month ends (default 60: five years); the portfolio valuations follow by the database's triggers;
- 4 to 6 unmanaged products: the home, a current account, a mortgage and a credit card, and in some households a
  holiday home in EUR and a brokerage account in USD, each with `months` month-end valuations (their current value
  kept by the database's trigger, as for every writer);
- about 30 information items (27 to 33) of all five types, with realistic content: among the nine or so assets and
  liabilities items, seven or so hold a `latest_valuation` (a car, jewellery, premium bonds, savings in EUR, a car
  loan...: they count in net worth) and the others do not (an expected inheritance, a business without a value);
  their search words are written by the database's triggers, as for the API. Items were recorded on days over the
  last five years (created_at), none after today.

Ownership comes in the three forms, mixed by product: individual (any of the people), joint at 100% or at 50% (half
the holding a third party's) and tenants in common (60/30 between two people or 40/35/25 between three). A
household of one person owns everything individually. The firm has month-end EUR and USD rates over the same
months.

Every row passes the database's own rules (CHECKs, the owners-in-household triggers, the content's valuations and
dates, no valuation after today): the same rules the API's writes meet.
"""
from __future__ import annotations

import itertools
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from tests.bench.common import BenchFirm, say

CHUNK = 500  # households per transaction
FIRST_CHUNK = 50
ANALYZE_EVERY = 8
_TABLES = ("products", "portfolio_funds", "fund_valuations", "portfolio_valuations", "unmanaged_products",
           "unmanaged_valuations", "information_items", "information_item_terms", "fx_rates", "client_groups",
           "client_group_product_owners", "product_owners")

# (name, product type) of the managed product in slot k (1-based): a household has the first 4 to 6.
_MANAGED = (("Workplace pension", "pension"), ("Stocks and shares ISA", "stocks_and_shares_isa"),
            ("General investment account", "gia"), ("Cash ISA", "cash_isa"), ("Onshore bond", "onshore_bond"),
            ("Personal pension", "pension"))
# (name, kind, product type, currency, base value, monthly drift) of the unmanaged product in slot k: a household
# has the first 4 to 6. Liabilities pay down; assets grow.
_UNMANAGED = (("Main residence", "asset", "property", "GBP", 180_000, 0.003),
              ("Current account", "asset", "bank_account", "GBP", 2_000, 0.0),
              ("Mortgage", "liability", "mortgage", "GBP", 90_000, -0.008),
              ("Credit card", "liability", "credit_card", "GBP", 400, 0.0),
              ("Holiday home", "asset", "property", "EUR", 120_000, 0.002),
              ("US brokerage account", "asset", "gia", "USD", 15_000, 0.006))
_RATES = {"EUR": Decimal("0.8500"), "USD": Decimal("0.7900")}


def ownership_sql(people: str, k: str) -> str:
    """The ownership document (as products store it) of holding `k` of a household whose people (text ids, in
    inception order) are the SQL array `people`: individual, joint 100%, joint 50% and tenants in common in turn."""
    return f"""CASE WHEN cardinality({people}) = 1 OR {k} %% 4 = 0
            THEN jsonb_build_object('association_type', 'individual',
                                    'product_owner_id', {people}[1 + {k} %% cardinality({people})])
        WHEN {k} %% 4 IN (1, 2)
            THEN jsonb_build_object('association_type', 'joint', 'joint_owners', to_jsonb({people}[1:2]),
                                    'collective_percentage', CASE WHEN {k} %% 4 = 1 THEN '100.00' ELSE '50.00' END)
        WHEN cardinality({people}) >= 3
            THEN jsonb_build_object('association_type', 'tenants_in_common', 'shares', jsonb_build_object(
                     {people}[1], '40.00', {people}[2], '35.00', {people}[3], '25.00'))
        ELSE jsonb_build_object('association_type', 'tenants_in_common', 'shares', jsonb_build_object(
                 {people}[1], '60.00', {people}[2], '30.00')) END"""


def ownership_of(people: list[str], k: int) -> dict[str, Any]:
    """ownership_sql's rule in Python (the information items are made here)."""
    n = len(people)
    if n == 1 or k % 4 == 0:
        return {"association_type": "individual", "product_owner_id": people[k % n]}
    if k % 4 in (1, 2):
        return {"association_type": "joint", "joint_owners": people[:2],
                "collective_percentage": "100.00" if k % 4 == 1 else "50.00"}
    if n >= 3:
        return {"association_type": "tenants_in_common",
                "shares": {people[0]: "40.00", people[1]: "35.00", people[2]: "25.00"}}
    return {"association_type": "tenants_in_common", "shares": {people[0]: "60.00", people[1]: "30.00"}}


# The chunk's households: id, people (text ids in inception order) and a number drawn from the id.
_GROUPS = """
SELECT m.client_group_id AS id, array_agg(m.product_owner_id::text ORDER BY o.inception_date, o.id) AS people,
       abs(hashtext(m.client_group_id::text)) AS h
FROM client_group_product_owners m JOIN product_owners o ON o.id = m.product_owner_id
WHERE m.client_group_id = ANY(%(groups)s) GROUP BY m.client_group_id"""

_PRODUCTS = f"""
WITH g AS ({_GROUPS}),
t AS (SELECT * FROM unnest(%(names)s::text[], %(types)s::text[]) WITH ORDINALITY AS t(name, type, slot))
INSERT INTO products (firm_id, client_group_id, name, product_type, provider_id, plan_number, start_date,
                      percentage_fee_facilitated, ownership)
SELECT %(firm)s, g.id, t.name, t.type,
       (%(providers)s::uuid[])[1 + (g.h + t.slot) %% cardinality(%(providers)s::uuid[])],
       'NW' || lpad(((g.h + t.slot * 7919) %% 1000000)::text, 6, '0'), %(start)s, 0.50,
       {ownership_sql("g.people", "t.slot")}
FROM g JOIN t ON t.slot <= 4 + g.h %% 3"""

_FUNDS = """
INSERT INTO portfolio_funds (firm_id, product_id, fund_id, target_weighting, start_date)
SELECT %(firm)s, p.id, (%(funds)s::uuid[])[1 + abs(hashtext(p.id::text)) %% cardinality(%(funds)s::uuid[])], 100,
       p.start_date
FROM products p WHERE p.client_group_id = ANY(%(groups)s)"""

# Month ends from the product's start: a value that grows about 0.4% a month, with noise.
_FUND_VALUATIONS = """
INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value)
SELECT %(firm)s, pf.id, (pf.start_date + make_interval(months => i + 1) - interval '1 day')::date,
       round(((20000 + abs(hashtext(pf.id::text)) %% 380000) * (1 + 0.004 * i) * (0.97 + random() * 0.06))::numeric,
             2)
FROM portfolio_funds pf JOIN products p ON p.id = pf.product_id
CROSS JOIN generate_series(0, %(months)s - 1) AS i
WHERE p.client_group_id = ANY(%(groups)s)"""

_UNMANAGED_PRODUCTS = f"""
WITH g AS ({_GROUPS}),
t AS (SELECT * FROM unnest(%(names)s::text[], %(kinds)s::text[], %(types)s::text[], %(currencies)s::text[])
      WITH ORDINALITY AS t(name, kind, type, currency, slot))
INSERT INTO unmanaged_products (firm_id, client_group_id, name, kind, product_type, provider_id, ownership,
                                currency)
SELECT %(firm)s, g.id, t.name, t.kind, t.type,
       CASE WHEN t.type IN ('mortgage', 'gia') THEN
            (%(providers)s::uuid[])[1 + (g.h + t.slot) %% cardinality(%(providers)s::uuid[])] END,
       {ownership_sql("g.people", "(t.slot + 1)")}, t.currency
FROM g JOIN t ON t.slot <= 4 + (g.h / 3) %% 3"""

# Month ends over the months: the slot's base value (x 1 to 5 by product) with its monthly drift and some noise.
_UNMANAGED_VALUATIONS = """
WITH t AS (SELECT * FROM unnest(%(names)s::text[], %(bases)s::numeric[], %(drifts)s::float8[]) AS t(name, base, drift))
INSERT INTO unmanaged_valuations (firm_id, unmanaged_product_id, valuation_date, value, source)
SELECT %(firm)s, u.id, (%(start)s::date + make_interval(months => i + 1) - interval '1 day')::date,
       round(greatest(0, t.base * (1 + abs(hashtext(u.id::text)) %% 400 / 100.0)
                         * (1 + t.drift * i) * (0.98 + random() * 0.04))::numeric, 2),
       CASE WHEN i %% 12 = 11 THEN 'manual' ELSE 'import' END
FROM unmanaged_products u JOIN t ON t.name = u.name
CROSS JOIN generate_series(0, %(months)s - 1) AS i
WHERE u.client_group_id = ANY(%(groups)s)"""

_ITEMS = """
INSERT INTO information_items (id, firm_id, client_group_id, item_type, item_category, data_content,
                               associated_product_owners, created_at, updated_at)
SELECT u.i, %(firm)s, u.g, u.t, u.c, u.d, u.o, u.at, u.at
FROM unnest(%(ids)s::uuid[], %(groups)s::uuid[], %(types)s::text[], %(categories)s::text[], %(contents)s::jsonb[],
            %(owners)s::jsonb[], %(created)s::timestamptz[]) AS u(i, g, t, c, d, o, at)"""

EMPLOYERS = ["NHS Trust", "Barclays", "Rolls-Royce", "Self-employed", "Local authority", "Unilever", "Retired",
             "University of Leeds", "Arup", "Tesco"]
LENDERS = ["Nationwide", "Halifax", "Santander", "Lloyds", "Coventry Building Society"]
INSURERS = ["Legal & General", "Aviva", "Vitality", "Royal London", "Zurich", "LV="]
TOWNS = [("Harrogate", "HG1"), ("Guildford", "GU1"), ("Bath", "BA1"), ("Chester", "CH1"), ("Ipswich", "IP1"),
         ("Norwich", "NR2"), ("Exeter", "EX4"), ("York", "YO1")]
CARS = ["Volvo XC60", "Ford Focus", "Tesla Model 3", "BMW 3 Series", "Toyota Yaris", "Audi A4", "Kia Sportage"]


@dataclass
class DataResult:
    households: int
    months: int
    people: int = 0
    products: int = 0
    fund_valuations: int = 0
    portfolio_valuations: int = 0
    unmanaged: int = 0
    unmanaged_valuations: int = 0
    items: int = 0
    valued_items: int = 0
    item_terms: int = 0
    rates: int = 0
    seconds: float = 0.0
    by_step: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        return (f"{self.households:,} households ({self.people:,} people) with {self.products:,} managed products "
                f"({self.fund_valuations:,} fund valuations and {self.portfolio_valuations:,} portfolio valuations, "
                f"{self.months} month ends each), {self.unmanaged:,} unmanaged products and liabilities "
                f"({self.unmanaged_valuations:,} valuations) and {self.items:,} information items "
                f"({self.valued_items:,} assets and liabilities with a latest valuation; {self.item_terms:,} search "
                f"words), about {(self.products + self.unmanaged) / max(1, self.households):.1f} products or "
                f"accounts and {self.items / max(1, self.households):.1f} items a household; {self.rates} "
                f"exchange rates")


def _money(value: float) -> str:
    return f"{Decimal(value).quantize(Decimal('1'))}.00"


def _day(rng: random.Random, today: date, low: int, high: int) -> str:
    return (today - timedelta(days=rng.randint(low, high))).isoformat()


def items_of(rng: random.Random, group: UUID, people: list[str], today: date, now: datetime,
             months: int) -> list[tuple[Any, ...]]:
    """About 30 items of one household: (id, group, type, category, content, owners or None, created_at)."""
    n = len(people)
    home = rng.randrange(180_000, 1_200_000, 5_000)
    out: list[tuple[Any, ...]] = []
    slot = [0]

    def add(item_type: str, category: str, content: dict[str, Any], owned: bool = False) -> None:
        slot[0] += 1
        owners = ownership_of(people, slot[0]) if owned else None
        created = now - timedelta(days=rng.randint(20, max(21, months * 30)), seconds=rng.randint(0, 86_399))
        out.append((uuid.UUID(int=rng.getrandbits(128), version=4), group, item_type, category, content, owners,
                    created))

    town, postcode = rng.choice(TOWNS)
    add("basic_detail", "Personal", {"marital_status": "married" if n > 1 else rng.choice(["single", "widowed"]),
                                     "nationality": "British", "dependants": max(0, n - 2),
                                     "date_of_birth": _day(rng, today, 25 * 365, 80 * 365)})
    add("basic_detail", "Address", {"line1": f"{rng.randint(1, 120)} {rng.choice(['Church', 'Station', 'Mill'])} "
                                             "Road", "town": town, "postcode": f"{postcode} {rng.randint(1, 9)}AB",
                                    "moved_in_date": _day(rng, today, 400, 9000)})
    add("basic_detail", "Employment", {"employer": rng.choice(EMPLOYERS), "role": "Senior manager",
                                       "employment_start_date": _day(rng, today, 300, 8000)})
    add("basic_detail", "Tax", {"tax_band": rng.choice(["basic", "higher", "additional"]), "self_assessment":
                                rng.random() < 0.4, "notes": "Uses the marriage allowance"})
    if rng.random() < 0.85:
        add("basic_detail", "Will", {"has_will": True, "executors": "Spouse and eldest child",
                                     "will_date": _day(rng, today, 100, 5000), "lpa_registered": rng.random() < 0.5})
    if rng.random() < 0.85:
        add("basic_detail", "Contact preferences", {"channel": rng.choice(["email", "phone", "post"]),
                                                    "best_time": "mornings", "review_month": rng.randint(1, 12)})
    add("income_expenditure", "Salary", {"salary_value": _money(rng.randrange(28_000, 160_000, 500)),
                                         "frequency": "annual", "bonus_value": _money(rng.randrange(0, 20_000, 500))})
    add("income_expenditure", "Rental income", {"gross_value": _money(rng.randrange(0, 24_000, 100)),
                                                "frequency": "annual", "letting_agent": "Local lettings"})
    add("income_expenditure", "State pension", {"annual_value": _money(rng.randrange(9_000, 11_600, 50)),
                                                "forecast_date": _day(rng, today, 30, 900)})
    add("income_expenditure", "Household bills", {"monthly_outgoings_value": _money(rng.randrange(1_500, 6_000, 50)),
                                                  "frequency": "monthly"})
    add("income_expenditure", "Holidays", {"annual_value": _money(rng.randrange(1_000, 12_000, 100))})
    if rng.random() < 0.85:
        add("income_expenditure", "School fees", {"termly_value": _money(rng.randrange(4_000, 9_000, 100)),
                                                  "children": max(1, n - 2)})
    if rng.random() < 0.85:
        add("income_expenditure", "Charitable giving", {"monthly_value": _money(rng.randrange(20, 500, 10)),
                                                        "gift_aid": True})
    valued = _day(rng, today, 10, 300)
    add("assets_liabilities", "Vehicle", {"name": "Family car", "model": rng.choice(CARS),
                                          "latest_valuation": _money(rng.randrange(4_000, 45_000, 250)),
                                          "valuation_date": valued, "registered_date": _day(rng, today, 400, 4000)},
        owned=True)
    if rng.random() < 0.5:
        add("assets_liabilities", "Vehicle", {"name": "Second car", "model": rng.choice(CARS),
                                              "latest_valuation": _money(rng.randrange(2_000, 20_000, 250)),
                                              "valuation_date": valued}, owned=True)
    add("assets_liabilities", "Jewellery", {"latest_valuation": _money(rng.randrange(1_000, 30_000, 100)),
                                            "valuation_date": valued, "insured": True}, owned=True)
    add("assets_liabilities", "Premium bonds", {"holder_number": str(rng.randint(10**9, 10**10 - 1)),
                                                "latest_valuation": _money(rng.randrange(100, 50_000, 100)),
                                                "valuation_date": valued}, owned=True)
    add("assets_liabilities", "Savings", {"name": "Euro savings account", "bank": "Deutsche Bank",
                                          "currency": "EUR", "latest_valuation": _money(rng.randrange(500, 40_000, 50)),
                                          "valuation_date": valued}, owned=True)
    if rng.random() < 0.5:
        add("assets_liabilities", "Savings", {"name": "Easy access saver", "bank": rng.choice(LENDERS),
                                              "latest_valuation": _money(rng.randrange(500, 60_000, 50)),
                                              "valuation_date": valued}, owned=True)
    add("assets_liabilities", "Car loan", {"lender": rng.choice(LENDERS), "kind": "liability",
                                           "latest_valuation": _money(rng.randrange(0, 20_000, 100)),
                                           "valuation_date": valued, "monthly_payment_value": _money(350)}, owned=True)
    if rng.random() < 0.85:
        add("assets_liabilities", "Art collection", {"latest_valuation": _money(rng.randrange(2_000, 80_000, 500)),
                                                     "valuation_date": valued, "valuer": "Bonhams"}, owned=True)
    if rng.random() < 0.85:
        add("assets_liabilities", "Student loan", {"plan": "Plan 2", "latest_valuation":
                                                   _money(rng.randrange(5_000, 60_000, 100)),
                                                   "valuation_date": valued}, owned=True)
    add("assets_liabilities", "Expected inheritance", {"from": "Parents' estate", "expected_value":
                                                       _money(home // 2), "notes": "Not counted until received"},
        owned=True)
    add("assets_liabilities", "Business interest", {"name": "Family business", "latest_valuation": None,
                                                    "notes": "Awaiting a valuation"}, owned=True)
    for category in ("Life cover", "Critical illness", "Income protection", "Home insurance"):
        add("protection", category, {"provider": rng.choice(INSURERS),
                                     "sum_assured_value": _money(rng.randrange(100_000, 750_000, 25_000)),
                                     "premium_value": _money(rng.randrange(15, 120)), "start_date":
                                     _day(rng, today, 200, 6000), "in_trust": rng.random() < 0.5}, owned=True)
    if rng.random() < 0.85:
        add("protection", "Private medical", {"provider": rng.choice(INSURERS), "premium_value":
                                              _money(rng.randrange(60, 300)), "excess_value": "250.00"}, owned=True)
    add("vulnerability_health", "Health", {"condition": rng.choice(["hearing loss", "none disclosed",
                                                                    "type 2 diabetes", "recent bereavement"]),
                                           "recorded_date": valued, "adjustments": "Documents by post as well"})
    add("vulnerability_health", "Life events", {"event": rng.choice(["retirement", "new baby", "divorce", "none"]),
                                                "recorded_date": valued})
    if rng.random() < 0.85:
        add("vulnerability_health", "Capacity", {"assessment": "no concerns", "reviewed_date": valued})
    return out


def month_ends(start: date, months: int) -> list[date]:
    out = []
    for i in range(months):
        n = start.year * 12 + start.month - 1 + i + 1
        out.append(date(n // 12, n % 12 + 1, 1) - timedelta(days=1))
    return out


def _analyze(db: Any, command: str = "ANALYZE") -> None:
    with db.owner_connection() as conn:
        for table in _TABLES:
            conn.execute(f"{command} {table}")


def load(firm: BenchFirm, months: int, *, admin_url: str | None = None, seed: int = 7) -> DataResult:
    """Everything above for every household of `firm`; VACUUM (ANALYZE) and a CHECKPOINT (with `admin_url`) after."""
    from psycopg.types.json import Jsonb

    from chalicelib import demo_products
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from tests.bench.products_data import first_month

    out = DataResult(households=len(firm.group_ids), months=months)
    rng = random.Random(f"bench-networth:{seed}:{firm.id}")
    start = first_month(months=months)
    t0 = time.monotonic()
    with db.transaction(RequestContext.system(firm.id)) as tx:
        catalogue = demo_products.create_catalogue(tx, rng)
    providers, funds = catalogue["providers"], catalogue["funds"][:-1]  # the last is the cash fund
    ends = month_ends(start, months)
    steps = dict.fromkeys(("managed", "unmanaged", "items"), 0.0)
    with db.owner_connection() as conn:
        out.rates = conn.execute(
            "INSERT INTO fx_rates (firm_id, currency, rate_date, rate) SELECT %s, c, d, "
            "round(r * (1 + 0.02 * sin(extract(epoch FROM d)::float8 / 5e6))::numeric, 6) "
            "FROM unnest(%s::date[]) AS d, unnest(%s::text[], %s::numeric[]) AS x(c, r)",
            (firm.id, ends, list(_RATES), list(_RATES.values()))).rowcount
        today = conn.execute("SELECT CURRENT_DATE AS d").fetchone()["d"]
    now = datetime.now(UTC)
    # A small first chunk, then ANALYZE: the triggers' functions plan their statements once per connection, and
    # plans made on empty tables (sequential scans) would make every later chunk slower than the one before. Each
    # chunk has a connection of its own (plans made afresh), and the tables are analysed again every ANALYZE_EVERY
    # chunks.
    bounds = [0, min(len(firm.group_ids), FIRST_CHUNK)]
    while bounds[-1] < len(firm.group_ids):
        bounds.append(min(len(firm.group_ids), bounds[-1] + CHUNK))
    for n, (c0, c1) in enumerate(itertools.pairwise(bounds)):
        groups = firm.group_ids[c0:c1]
        if n % ANALYZE_EVERY == 1:
            _analyze(db)
        with db.owner_connection(autocommit=False) as conn:
            conn.execute("SELECT setseed(%s)", (rng.random() * 2 - 1,))
            base = {"firm": firm.id, "groups": groups, "months": months, "start": start}
            t = time.monotonic()
            out.products += conn.execute(_PRODUCTS, {**base, "names": [m[0] for m in _MANAGED],
                                                     "types": [m[1] for m in _MANAGED],
                                                     "providers": providers}).rowcount
            conn.execute(_FUNDS, {**base, "funds": funds})
            out.fund_valuations += conn.execute(_FUND_VALUATIONS, base).rowcount
            t1 = time.monotonic()
            out.unmanaged += conn.execute(_UNMANAGED_PRODUCTS, {
                **base, "names": [u[0] for u in _UNMANAGED], "kinds": [u[1] for u in _UNMANAGED],
                "types": [u[2] for u in _UNMANAGED], "currencies": [u[3] for u in _UNMANAGED],
                "providers": providers}).rowcount
            out.unmanaged_valuations += conn.execute(_UNMANAGED_VALUATIONS, {
                **base, "names": [u[0] for u in _UNMANAGED], "bases": [u[4] for u in _UNMANAGED],
                "drifts": [u[5] for u in _UNMANAGED]}).rowcount
            t2 = time.monotonic()
            people = {r["g"]: r["people"] for r in conn.execute(
                "SELECT m.client_group_id AS g, array_agg(m.product_owner_id::text ORDER BY o.inception_date, o.id) "
                "AS people "
                "FROM client_group_product_owners m JOIN product_owners o ON o.id = m.product_owner_id "
                "WHERE m.client_group_id = ANY(%s) GROUP BY m.client_group_id", (groups,)).fetchall()}
            items = [item for g in groups for item in items_of(rng, g, people[g], today, now, months)]
            cols = list(zip(*items, strict=True))
            out.items += conn.execute(_ITEMS, {
                "firm": firm.id, "ids": list(cols[0]), "groups": list(cols[1]), "types": list(cols[2]),
                "categories": list(cols[3]), "contents": [Jsonb(c) for c in cols[4]],
                "owners": [Jsonb(o) if o is not None else None for o in cols[5]], "created": list(cols[6])}).rowcount
            conn.commit()
        out.people += sum(len(p) for p in people.values())
        steps["managed"] += t1 - t
        steps["unmanaged"] += t2 - t1
        steps["items"] += time.monotonic() - t2
        say(f"networth data: households {c1:,}/{len(firm.group_ids):,}: {out.products:,} "
            f"products ({out.fund_valuations:,} valuations), {out.unmanaged:,} unmanaged "
            f"({out.unmanaged_valuations:,} valuations), {out.items:,} items ({time.monotonic() - t0:.0f} s)")
    with db.owner_connection() as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM portfolio_valuations v JOIN products p ON p.id = v.product_id "
            "        WHERE p.firm_id = %(f)s) AS pv, "
            "(SELECT count(*) FROM information_items WHERE firm_id = %(f)s AND item_type = 'assets_liabilities' "
            "        AND data_content ->> 'latest_valuation' IS NOT NULL) AS valued, "
            "(SELECT count(*) FROM information_item_terms WHERE firm_id = %(f)s) AS terms, "
            "(SELECT count(*) FROM unmanaged_products WHERE firm_id = %(f)s AND current_value IS NULL) AS unvalued",
            {"f": firm.id}).fetchone()
    out.portfolio_valuations, out.valued_items, out.item_terms = counts["pv"], counts["valued"], counts["terms"]
    if counts["unvalued"]:
        raise RuntimeError(f"{counts['unvalued']} unmanaged products without a current value: the trigger did not run")
    t = time.monotonic()
    _analyze(db, "VACUUM (ANALYZE)")
    if admin_url:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    steps["vacuum"] = time.monotonic() - t
    out.by_step = steps
    out.seconds = time.monotonic() - t0
    say(f"networth data: {out.describe()}; loaded in {out.seconds:.0f} s "
        + ", ".join(f"{k} {v:.0f} s" for k, v in steps.items()))
    return out
