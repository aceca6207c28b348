"""Bulk data for the managed-products figures (4-6): 1,300 households with about 3 million fund valuations.

`chalicelib.demo.load` gives each household one to three products of up to ten years (about 365 fund valuations
per household); the figures need the firm at 10x its size with every product holding a full ten-year monthly
history. Households and people come from `chalicelib.demo.load(..., products=False)` and the catalogue from
`chalicelib.demo_products.create_catalogue`; products and portfolio funds are generated here from a seed, and the
monthly rows are generated inside PostgreSQL from one row of parameters per portfolio fund
(`INSERT ... SELECT FROM unnest(...)` joined to `generate_series`), so that millions of rows never travel through
Python. Every write runs as the firm's system principal inside `chalicelib.core.db.transaction` (row-level
security applies). Portfolio valuations follow from the same statements, by the database's triggers (migration
0013), as for every other writer.

Per portfolio fund and month (month ends, 120 of them): a price index following a random walk (monthly log
return ln(1 + drift + vol x N(0, 1))), an initial investment on the product's start date, a regular investment
every later month end for most products, a withdrawal of 5% of the initial amount in about 1% of fund-months, and
a valuation of units held x price. The stored IRR history is NOT computed here (far too slow for 5,000+
products); the figures compute it for the products they use.
"""
from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from tests.bench.common import BenchFirm, say

MONTHS = 120
PRODUCTS_PER_HOUSEHOLD = ([3, 4, 5], [30, 40, 30])
FUNDS_PER_PRODUCT = ([4, 5, 6], [30, 40, 30])
REGULAR_MONTHLY = ([0, 100, 250, 500, 1000], [30, 20, 25, 15, 10])  # per product, split over its funds
WITHDRAWAL_CHANCE = 0.01  # per fund-month
CHUNK_HOUSEHOLDS = 100
PRODUCT_TYPES = ["gia", "stocks_and_shares_isa", "pension", "offshore_bond", "onshore_bond"]

# The monthly rows of one chunk, generated in the database from one parameter row per portfolio fund. One
# statement writes both tables (a data-modifying CTE), so each fund-month's random draws are made once.
_GENERATE = """
WITH params AS (
    SELECT * FROM unnest(%(pf)s::uuid[], %(start)s::date[], %(initial)s::numeric[], %(regular)s::numeric[],
                         %(drift)s::float8[], %(vol)s::float8[])
           AS u(pf, start, initial, regular, drift, vol)
), months AS (
    SELECT p.pf, p.start, i,
           (p.start + make_interval(months => i + 1) - interval '1 day')::date AS month_end,
           CASE WHEN i = 0 THEN p.initial ELSE p.regular END AS invested,
           CASE WHEN i > 0 AND random() < %(wd)s THEN round(p.initial * 0.05, 2) ELSE 0 END AS withdrawn,
           ln(greatest(0.5, 1 + p.drift + p.vol * random_normal())) AS log_return
    FROM params p CROSS JOIN generate_series(0, %(months)s - 1) AS i
), priced AS (
    SELECT m.*, exp(sum(log_return) OVER (PARTITION BY pf ORDER BY i)) AS price FROM months m
), held AS (
    SELECT pr.*, sum((invested - withdrawn) / price) OVER (PARTITION BY pf ORDER BY i) AS units FROM priced pr
), flows AS (
    INSERT INTO holding_activity (firm_id, portfolio_fund_id, activity_date, activity_type, amount)
    SELECT current_firm_id(), pf, CASE WHEN i = 0 THEN start ELSE month_end END,
           CASE WHEN i = 0 THEN 'investment' ELSE 'regular_investment' END, invested
    FROM held WHERE invested > 0
    UNION ALL
    SELECT current_firm_id(), pf, month_end, 'withdrawal', withdrawn FROM held WHERE withdrawn > 0
    RETURNING 1
), valued AS (
    INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value)
    SELECT current_firm_id(), pf, month_end, greatest(0, round((units * price)::numeric, 2)) FROM held
    RETURNING 1
)
SELECT (SELECT count(*) FROM flows) AS flows, (SELECT count(*) FROM valued) AS valuations
"""


@dataclass
class LoadResult:
    households: int = 0
    products: int = 0
    portfolio_funds: int = 0
    fund_valuations: int = 0
    cash_flows: int = 0
    portfolio_valuations: int = 0
    first_month: date | None = None
    last_month: date | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> seconds

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def _uuid(rng: random.Random) -> UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def first_month(today: date | None = None, months: int = MONTHS) -> date:
    """The first of the month `months` months before this one: the last generated month is the one just ended."""
    today = today or date.today()
    n = today.year * 12 + today.month - 1 - months
    return date(n // 12, n % 12 + 1, 1)


def load(firm: BenchFirm, *, seed: int = 3, admin_url: str | None = None, months: int = MONTHS) -> LoadResult:
    """Products, portfolio funds, valuations and cash flows for every household of `firm` (the portfolio
    valuations follow by trigger), `months` months of history (MONTHS unless told). Progress goes to stderr."""
    from psycopg.types.json import Jsonb

    from chalicelib import demo_products
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext

    ctx = RequestContext.system(firm.id)
    rng = random.Random(f"bench-products:{seed}:{firm.id}")  # ids are global: a new firm, new ids
    start = first_month(months=months)
    out = LoadResult(households=len(firm.group_ids), first_month=start)
    t0 = time.monotonic()
    with db.transaction(ctx) as tx:
        catalogue = demo_products.create_catalogue(tx, rng)
        owners: dict[UUID, UUID] = {}
        for r in tx.all("SELECT client_group_id, min(product_owner_id::text)::uuid AS owner "
                        "FROM client_group_product_owners GROUP BY client_group_id"):
            owners[r["client_group_id"]] = r["owner"]
    funds = catalogue["funds"]
    say(f"products data: {len(firm.group_ids):,} households, {months} months from {start} "
        f"(catalogue {len(catalogue['providers'])} providers, {len(funds)} funds)")
    generated = 0.0
    for c0 in range(0, len(firm.group_ids), CHUNK_HOUSEHOLDS):
        groups = firm.group_ids[c0:c0 + CHUNK_HOUSEHOLDS]
        products: list[tuple[Any, ...]] = []
        pfs: list[tuple[Any, ...]] = []
        for gid in groups:
            n_products = rng.choices(*PRODUCTS_PER_HOUSEHOLD)[0]
            for k in range(n_products):
                pid = _uuid(rng)
                ptype = rng.choice(PRODUCT_TYPES)
                products.append((pid, gid, f"Bench {ptype} {k + 1}", ptype, rng.choice(catalogue["providers"]),
                                 f"BEN-{rng.randint(100000, 999999)}", start,
                                 Decimal(rng.choice(["0.25", "0.50", "0.75", "1.00"])),
                                 Jsonb({"association_type": "individual", "product_owner_id": str(owners[gid])})))
                picks = rng.sample(funds, rng.choices(*FUNDS_PER_PRODUCT)[0])
                weight = (Decimal(100) / len(picks)).quantize(Decimal("0.01"))
                initial = Decimal(rng.randrange(20_000, 400_000, 500))
                regular = Decimal(rng.choices(*REGULAR_MONTHLY)[0])
                for fund_id in picks:
                    pfs.append((_uuid(rng), pid, fund_id, weight, start,
                                (initial * weight / 100).quantize(Decimal("0.01")),
                                (regular * weight / 100).quantize(Decimal("0.01")),
                                rng.uniform(0.002, 0.008), rng.uniform(0.015, 0.045)))
        t = time.monotonic()
        with db.transaction(ctx) as tx:
            tx.execute("SET LOCAL statement_timeout = 0")  # bulk statements of a few seconds each
            tx.execute("SELECT setseed(%s)", (rng.random() * 2 - 1,))
            cols = list(zip(*products, strict=False))
            tx.execute("INSERT INTO products (id, firm_id, client_group_id, name, product_type, provider_id, "
                       "plan_number, start_date, percentage_fee_facilitated, ownership) "
                       "SELECT u.i, current_firm_id(), u.g, u.n, u.t, u.p, u.pn, u.s, u.pf, u.o FROM "
                       "unnest(%s::uuid[], %s::uuid[], %s::text[], %s::text[], %s::uuid[], %s::text[], %s::date[], "
                       "%s::numeric[], %s::jsonb[]) AS u(i, g, n, t, p, pn, s, pf, o)", tuple(list(c) for c in cols))
            cols = list(zip(*pfs, strict=False))
            tx.execute("INSERT INTO portfolio_funds (id, firm_id, product_id, fund_id, target_weighting, start_date) "
                       "SELECT u.i, current_firm_id(), u.p, u.f, u.w, u.s FROM unnest(%s::uuid[], %s::uuid[], "
                       "%s::uuid[], %s::numeric[], %s::date[]) AS u(i, p, f, w, s)", tuple(list(c) for c in cols[:5]))
            row = tx.one(_GENERATE, {"pf": list(cols[0]), "start": list(cols[4]), "initial": list(cols[5]),
                                     "regular": list(cols[6]), "drift": list(cols[7]), "vol": list(cols[8]),
                                     "wd": WITHDRAWAL_CHANCE, "months": months})
            written = tx.one("SELECT count(*) AS n FROM portfolio_valuations WHERE product_id = ANY(%s)",
                             ([p[0] for p in products],))["n"]
        generated += time.monotonic() - t
        out.products += len(products)
        out.portfolio_funds += len(pfs)
        out.fund_valuations += row["valuations"]
        out.cash_flows += row["flows"]
        out.portfolio_valuations += written
        done = c0 + len(groups)
        say(f"  products data: households {done:,}/{len(firm.group_ids):,}: {out.products:,} products, "
            f"{out.fund_valuations:,} fund valuations, {out.cash_flows:,} cash flows "
            f"({time.monotonic() - t0:.0f} s)")
    out.seconds["products, funds, valuations and cash flows (INSERT ... SELECT FROM unnest; portfolio valuations "
                "by trigger)"] = generated
    # Settle the database before measuring: VACUUM (the visibility map, so autovacuum does not start on these
    # millions of new rows in the middle of a figure) and ANALYZE, then a checkpoint when a superuser is at hand.
    t = time.monotonic()
    with db.owner_connection() as conn:
        for table in ("products", "portfolio_funds", "fund_valuations", "holding_activity", "product_flows",
                      "portfolio_valuations", "client_group_fum"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    if admin_url:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    out.seconds["VACUUM (ANALYZE) and CHECKPOINT"] = time.monotonic() - t
    n = start.year * 12 + start.month - 1 + months - 1
    out.last_month = date(n // 12, n % 12 + 1, 1)
    say(f"products data loaded in {time.monotonic() - t0:.0f} s")
    return out
