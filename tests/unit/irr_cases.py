"""Generated cash-flow sets and an independent IRR route for tests/unit/test_irr.py.

Nothing here calls the product's code or numpy-financial/pyxirr: the month bucketing is re-written plainly and the
rates come from scipy's brentq on the NPV, so a bug in chalicelib/products/performance/irr.py cannot hide in a shared
helper.
"""
from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from scipy.optimize import brentq

from chalicelib.products.performance.irr import Flow

PENNY = Decimal("0.01")


@dataclass
class Case:
    kind: str
    flows: list[Flow]
    end_date: date
    end_value: Decimal
    start_date: date | None = None
    start_value: Decimal | None = None


def money(x: float) -> Decimal:
    return Decimal(repr(round(x, 2))).quantize(PENNY)


def plus_months(d: date, months: int, day: int | None = None) -> date:
    y, m = d.year + (d.month - 1 + months) // 12, (d.month - 1 + months) % 12 + 1
    return date(y, m, min(day or d.day, 28))


# --- generators ---

def portfolio(rng: random.Random) -> Case:
    """A plausible fund history: an initial investment, regular and irregular contributions and withdrawals on
    random days (several in some months, none in others), 1-15 years, valued by a random monthly return walk.
    Some carry sub-penny residues (a switch out and back in), some start after inception with a start value."""
    start = date(1995, 1, 1) + timedelta(days=rng.randrange(0, 365 * 25))
    n_months = rng.randint(12, 180)
    end = plus_months(start, n_months, day=1 if rng.random() < 0.2 else rng.randint(2, 28))
    mu, sigma = rng.uniform(-0.15, 0.25) / 12, rng.uniform(0.0, 0.2) / math.sqrt(12)
    value = float(money(rng.uniform(1_000, 500_000)))
    flows = [Flow(start, -money(value))]
    regular_in = rng.uniform(50, 2_000) if rng.random() < 0.6 else 0.0
    regular_out_from = rng.randint(6, n_months) if rng.random() < 0.3 else n_months + 1
    regular_out = rng.uniform(0.002, 0.01)  # of the value, per month
    cut = rng.randint(3, n_months // 2) if rng.random() < 0.2 else None
    start_date = start_value = None
    for k in range(1, n_months + 1):
        month = plus_months(start, k, day=1)
        value *= max(0.0, 1 + rng.gauss(mu, sigma))
        day = lambda month=month: month.replace(day=rng.randint(1, 28))  # noqa: E731
        if k == cut:  # valued on the 1st, before the month's flows, or later in the month (roughly)
            start_date, start_value = month.replace(day=rng.choice([1, rng.randint(2, 28)])), money(value)
        if regular_in and k < regular_out_from and rng.random() < 0.95:
            flows.append(Flow(day(), -money(regular_in)))
            value += regular_in
        if k >= regular_out_from and value > 100:
            amount = money(value * regular_out)
            flows.append(Flow(day(), amount))
            value -= float(amount)
        if rng.random() < 0.06:
            amount = money(rng.uniform(500, 50_000))
            flows.append(Flow(day(), -amount))
            value += float(amount)
        if rng.random() < 0.05 and value > 100:
            amount = money(value * rng.uniform(0.05, 0.5))
            flows.append(Flow(day(), amount))
            value -= float(amount)
        if rng.random() < 0.03:  # switch out and back in: nets to a sub-penny residue
            amount = money(rng.uniform(100, 10_000))
            flows += [Flow(day(), amount), Flow(day(), -(amount - Decimal(rng.randint(1, 9)) / 1000))]
        if rng.random() < 0.02:  # a stray sub-penny amount alone in its month
            flows.append(Flow(day(), Decimal(rng.choice([-1, 1]) * rng.randint(1, 9)) / 1000))
    flows = [f for f in flows if f.date <= end]
    return Case("portfolio", flows, end, money(max(value, 0.0)), start_date, start_value)


def far_apart(rng: random.Random) -> Case:
    start = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 20))
    years = rng.uniform(30, 60)
    end = start + timedelta(days=int(years * 365.25))
    invested = money(rng.uniform(100, 100_000))
    flows = [Flow(start, -invested)]
    for _ in range(rng.randint(0, 4)):
        day = start + timedelta(days=rng.randrange(1, (end - start).days))
        flows.append(Flow(day, -money(rng.uniform(10, 5_000))))
    growth = (1 + rng.uniform(-0.08, 0.2)) ** years
    return Case("far_apart", flows, end, money(float(invested) * growth))


def near_total_loss(rng: random.Random) -> Case:
    start = date(2000, 1, 1) + timedelta(days=rng.randrange(0, 365 * 20))
    end = start + timedelta(days=rng.randint(30, 365 * 5))
    flows = [Flow(start, -money(rng.uniform(1_000, 1_000_000)))]
    if rng.random() < 0.5:
        day = start + timedelta(days=rng.randrange(1, (end - start).days))
        flows.append(Flow(day, -money(rng.uniform(10, 1_000))))
    return Case("near_total_loss", flows, end, Decimal(rng.randint(1, 100)) / 100)


def large_gain(rng: random.Random) -> Case:
    """Short holdings with big gains: rates from hundreds of per cent to beyond the storable range."""
    start = date(2000, 1, 1) + timedelta(days=rng.randrange(0, 365 * 20))
    end = start + timedelta(days=rng.randint(2, 400))
    invested = money(rng.uniform(1_000, 100_000))
    return Case("large_gain", [Flow(start, -invested)], end, money(float(invested) * rng.uniform(1.2, 60)))


def single_day(rng: random.Random) -> Case:
    day = date(2000, 1, 1) + timedelta(days=rng.randrange(0, 365 * 20))
    flows = [Flow(day, -money(rng.uniform(100, 10_000))) for _ in range(rng.randint(1, 3))]
    return Case("single_day", flows, day, money(rng.uniform(100, 20_000)))


def no_sign_change(rng: random.Random) -> Case:
    start = date(2000, 1, 1) + timedelta(days=rng.randrange(0, 365 * 20))
    dates = sorted(start + timedelta(days=rng.randrange(0, 2_000)) for _ in range(rng.randint(1, 6)))
    end = dates[-1] + timedelta(days=rng.randint(1, 400))
    if rng.random() < 0.5:  # only money in, and nothing left
        return Case("no_sign_change", [Flow(d, -money(rng.uniform(10, 9_000))) for d in dates], end, Decimal(0))
    # only money out (e.g. a period whose investments all fell before it), plus the end value
    return Case("no_sign_change", [Flow(d, money(rng.uniform(10, 9_000))) for d in dates], end,
                money(rng.uniform(0, 9_000)))


XIRR_KINDS = ([portfolio] * 10 + [far_apart] * 3 + [near_total_loss] * 3 + [large_gain] * 3
              + [single_day, no_sign_change])


# --- independent Kingston route: plain month bucketing + brentq on the monthly NPV ---

def reference_buckets(case: Case, zero_under_penny: bool = True) -> list[Decimal]:
    """The monthly series as docs/domain.md describes the method, written without the product's code."""
    kept = [f for f in case.flows if f.date <= case.end_date]
    if case.start_value is not None:
        kept = [f for f in kept if f.date > case.start_date]
    totals: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for f in kept:
        totals[(f.date.year, f.date.month)] += f.amount
    if case.start_value is not None:
        totals[counts_in(case.start_date)] -= case.start_value
    end = counts_in(case.end_date)
    totals[end] += case.end_value
    series = []
    year, month = min(totals)
    while (year, month) <= end:
        amount = totals.get((year, month), Decimal(0))
        series.append(Decimal(0) if zero_under_penny and abs(amount) < PENNY else amount)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return series


def counts_in(valuation_date: date) -> tuple[int, int]:
    """(year, month) a valuation counts in: it is a month-end position, counted at the start of the next month; one
    dated the 1st is first taken back to the previous month's last day."""
    d = valuation_date - timedelta(days=1) if valuation_date.day == 1 else valuation_date
    return (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)


def sign_changes(amounts: list[float]) -> int:
    signs = [a > 0 for a in amounts if a != 0]
    return sum(1 for a, b in itertools.pairwise(signs) if a != b)


def monthly_root(series: list[Decimal]) -> float | None:
    """The monthly rate r solving sum(v_t / (1 + r)^t) = 0, when it is unique; else None.

    Solved in x = 1 / (1 + r), where the NPV is the polynomial sum(v_t x^t), so nothing overflows near r = -100%.
    Unique: Descartes' rule of signs (one sign change means exactly one root x > 0), or, with several sign
    changes, exactly one sign change of the polynomial on a fine grid of x in [0.05, 20] (r from -95% to 1900% a
    month) with the root well inside (|r| < 90%), which is then also the root nearest zero.
    """
    v = np.array([float(a) for a in series])
    poly = v[::-1]  # np.polyval wants the highest power first
    if sign_changes(list(v)) != 1:
        grid = np.geomspace(0.05, 20, 4_000)
        values = np.polyval(poly, grid)
        crossings = np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)
        if len(crossings) != 1:
            return None
        lo, hi = grid[crossings[0]], grid[crossings[0] + 1]
    else:  # the polynomial changes sign between 0+ (v_0 side) and +inf (the last term's side): bracket it
        lo, hi = 1e-9, 2.0
        with np.errstate(over="ignore"):
            while np.sign(np.polyval(poly, lo)) == np.sign(np.polyval(poly, hi)):
                hi *= 2
    x = brentq(lambda x: np.polyval(poly, x), lo, hi, xtol=1e-16, rtol=1e-15, maxiter=500)
    rate = 1 / x - 1
    return rate if abs(rate) < 0.9 else None


# --- independent XIRR route: brentq on sum(cf / (1+r)^((d - d0).days / 365)) ---

def reference_xirr_flows(case: Case) -> list[tuple[date, float]]:
    kept = [f for f in case.flows if f.date <= case.end_date
            and (case.start_value is None or f.date > case.start_date)]
    out = [(f.date, float(f.amount)) for f in kept]
    if case.start_value is not None:
        out.append((case.start_date, -float(case.start_value)))
    out.append((case.end_date, float(case.end_value)))
    return sorted(out)


def xnpv_scaled(flows: list[tuple[date, float]], log_growth: float) -> float:
    """sum(cf / (1 + r)^t) with log_growth = ln(1 + r), divided by its largest discount factor.

    Dividing by a positive number keeps the roots and the signs, and keeps exp() in range for r near -100% over
    decades, or r in the billions of per cent over a few days.
    """
    d0 = flows[0][0]
    exponents = [-((d - d0).days / 365) * log_growth for d, _ in flows]
    top = max(exponents)
    return math.fsum(cf * math.exp(e - top) for (_, cf), e in zip(flows, exponents, strict=False))


def xirr_root(flows: list[tuple[date, float]]) -> float | None:
    """The annual rate solving the XIRR equation when it is unique (as monthly_root argues), else None.

    One sign change (generalised Descartes' rule: it holds for real exponents too): bracket ln(1 + r) in
    [-5000, 5000], r from -100% + 1e-2171 (a double says -1.0) to beyond a double (inf). Several: exactly one sign
    change on a grid of ln(1 + r) in [-3, 3] (r from -95% to 1,900% a year), where plausible portfolios' rates live.
    """
    net: dict[date, float] = defaultdict(float)
    for d, cf in flows:
        net[d] += cf
    amounts = [net[d] for d in sorted(net)]
    f = lambda g: xnpv_scaled(flows, g)  # noqa: E731
    if sign_changes(amounts) == 1:
        lo, hi = -5000.0, 5000.0
        if f(lo) * f(hi) > 0:
            return None
    else:
        d0 = flows[0][0]
        years = np.array([(d - d0).days / 365 for d, _ in flows])
        cfs = np.array([cf for _, cf in flows])
        grid = np.linspace(-3.0, 3.0, 1_201)
        exponents = -np.outer(grid, years)
        values = (cfs * np.exp(exponents - exponents.max(axis=1, keepdims=True))).sum(axis=1)
        crossings = np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)
        if len(crossings) != 1:
            return None
        lo, hi = grid[crossings[0]], grid[crossings[0] + 1]
    log_growth = brentq(f, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500)
    return math.expm1(log_growth) if log_growth < 700 else math.inf
