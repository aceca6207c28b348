"""The plan simulation's figures against closed forms and independent arithmetic (never against the engine itself).

- terminal wealth with no flows is exactly lognormal: its percentiles against the closed form, within 3 standard
  errors of a sample quantile;
- the draws: sample means, standard deviations and correlations against the assumptions, within 3 standard errors;
  the stream itself rebuilt from PCG64, numpy's Cholesky and the documented recipe;
- Student-t: the same variance, fatter tails;
- a zero-volatility plan against a Decimal projection written here (to the penny), with its sustainable withdrawal
  found by bisection on that projection;
- an impossible need gives success 0, no need success 1; a sustainable withdrawal against re-runs on the same draws.
"""
from __future__ import annotations

import calendar
import math
from dataclasses import replace
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext
from statistics import NormalDist

import numpy as np
import pytest

from chalicelib.planning.engine import (
    PERCENTILES,
    AssetClass,
    Flow,
    LumpSum,
    SimulationInputs,
    iter_log_returns,
    simulate,
)

D = Decimal
PENNY = D("0.01")
NORMAL = NormalDist()


def one_class(**changes: object) -> SimulationInputs:
    base = SimulationInputs(
        start_date=date(2025, 1, 1), horizon_years=20, steps="monthly", iterations=20_000, seed=20250101,
        return_model="lognormal", asset_classes=(AssetClass("equity", D("0.06"), D("0.15")),),
        correlation=((D(1),),), inflation=D("0.025"), glide_path=((D(100),),), starting_wealth=D("100000.00"))
    return replace(base, **changes)


def ln_params(m: float, s: float) -> tuple[float, float]:
    """The annual log return's mean and standard deviation for a gross return of mean 1 + m, deviation s."""
    var = math.log(1 + s * s / (1 + m) ** 2)
    return math.log(1 + m) - var / 2, math.sqrt(var)


# --- terminal wealth: the lognormal closed form -------------------------------------------------------------------

@pytest.mark.parametrize("steps", ["monthly", "yearly"])
def test_terminal_wealth_percentiles_match_the_lognormal_closed_form(steps: str) -> None:
    x = one_class(steps=steps)
    out = simulate(x)
    mu, sigma = ln_params(0.06, 0.15)
    years, n, w0 = 20, x.iterations, 100_000.0
    log_mean, log_sd = math.log(w0) + years * mu, sigma * math.sqrt(years)
    terminal = out.base.wealth[-1]
    assert terminal.year == years and terminal.on == date(2045, 1, 1)
    for p, got in zip(PERCENTILES, terminal.nominal, strict=True):
        z = NORMAL.inv_cdf(p / 100)
        q = math.exp(log_mean + log_sd * z)
        density = NORMAL.pdf(z) / (q * log_sd)  # the lognormal density at its p-th percentile
        se = math.sqrt(p / 100 * (1 - p / 100) / n) / density
        assert abs(float(got) - q) < 3 * se, (p, float(got), q, se)
    # real wealth is nominal wealth over the price level (1.025^20), to the penny
    prices = D("1.025") ** years
    for nominal, real in zip(terminal.nominal, terminal.real, strict=True):
        assert abs(real - (nominal / prices).quantize(PENNY)) <= PENNY
    # every path keeps its money: no flows, no need
    assert out.base.probability_of_success == 1 and out.base.never_run_out == n and not any(out.base.run_out_by_year)


def test_the_median_moves_with_the_horizon_as_the_closed_form_says() -> None:
    """Every year, not only the last: the median of year k is w0 exp(k mu_ln), within 3 standard errors."""
    x = one_class(steps="yearly", horizon_years=10)
    out = simulate(x)
    mu, sigma = ln_params(0.06, 0.15)
    for row in out.base.wealth[1:]:
        q = 100_000 * math.exp(row.year * mu)
        se = math.sqrt(0.25 / x.iterations) / (NORMAL.pdf(0) / (q * sigma * math.sqrt(row.year)))
        assert abs(float(row.nominal[3]) - q) < 3 * se


# --- the draws ----------------------------------------------------------------------------------------------------

CMA = (("equity", 0.07, 0.16), ("bonds", 0.03, 0.06), ("property", 0.05, 0.11))
CORR = ((1.0, 0.3, 0.6), (0.3, 1.0, -0.2), (0.6, -0.2, 1.0))


def three_classes(**changes: object) -> SimulationInputs:
    base = SimulationInputs(
        start_date=date(2025, 1, 1), horizon_years=1, steps="yearly", iterations=100_000, seed=7,
        return_model="lognormal",
        asset_classes=tuple(AssetClass(n, D(str(m)), D(str(s))) for n, m, s in CMA),
        correlation=tuple(tuple(D(str(v)) for v in row) for row in CORR), inflation=D("0.02"),
        glide_path=((D(50), D(30), D(20)),), starting_wealth=D(1000))
    return replace(base, **changes)


def test_the_draws_match_the_assumptions_within_their_sampling_error() -> None:
    x = three_classes()
    logs = next(iter_log_returns(x)).copy()  # one yearly step: (classes, paths)
    n = logs.shape[1]
    gross = np.exp(logs)
    for j, (_name, m, s) in enumerate(CMA):
        g = gross[j]
        # the arithmetic mean of the return, against the assumption
        assert abs(g.mean() - (1 + m)) < 3 * s / math.sqrt(n), (j, g.mean())
        # its variance: the standard error from the sample's fourth central moment
        var = g.var(ddof=1)
        m4 = np.mean((g - g.mean()) ** 4)
        assert abs(var - s * s) < 3 * math.sqrt((m4 - var * var) / n), (j, var)
        # the log return's mean against mu_ln
        mu, sigma = ln_params(m, s)
        assert abs(logs[j].mean() - mu) < 3 * sigma / math.sqrt(n)
    corr = np.corrcoef(logs)
    for i in range(3):
        for j in range(i):
            rho = CORR[i][j]
            assert abs(corr[i, j] - rho) < 3 * (1 - rho * rho) / math.sqrt(n), (i, j, corr[i, j])


def test_monthly_draws_compound_to_the_annual_assumption() -> None:
    """Twelve monthly draws add up to a year with the annual mean and variance."""
    x = three_classes(steps="monthly", iterations=50_000)
    total = sum(step.copy() for step in iter_log_returns(x))
    n = total.shape[1]
    for j, (_name, m, s) in enumerate(CMA):
        g = np.exp(total[j])
        assert abs(g.mean() - (1 + m)) < 3 * s / math.sqrt(n)
        mu, sigma = ln_params(m, s)
        assert abs(total[j].mean() - mu) < 3 * sigma / math.sqrt(n)
        assert abs(total[j].std(ddof=1) - sigma) < 3 * sigma / math.sqrt(2 * (n - 1))


def test_the_stream_is_the_documented_recipe() -> None:
    """Rebuilt without the engine: PCG64(seed), one (classes, paths) normal array per step, L from numpy's
    Cholesky, r = mu_ln dt + sigma_ln sqrt(dt) (L Z)."""
    x = three_classes(steps="monthly", horizon_years=1, iterations=1_000)
    rng = np.random.Generator(np.random.PCG64(7))
    lower = np.linalg.cholesky(np.array(CORR))
    params = [ln_params(m, s) for _n, m, s in CMA]
    mu = np.array([p[0] / 12 for p in params])[:, None]
    sd = np.array([p[1] / math.sqrt(12) for p in params])[:, None]
    for got in iter_log_returns(x):
        expected = mu + sd * (lower @ rng.standard_normal((3, 1_000)))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_student_t_keeps_the_variance_with_fatter_tails() -> None:
    df = 10
    x = three_classes(return_model="student_t", degrees_of_freedom=D(df), iterations=100_000)
    logs = next(iter_log_returns(x)).copy()
    n = logs.shape[1]
    kurtosis = 3 * (df - 2) / (df - 4)  # of a unit-variance Student-t
    for j, (_name, m, s) in enumerate(CMA):
        mu, sigma = ln_params(m, s)
        u = (logs[j] - mu) / sigma  # a unit-variance t if the scaling is right
        assert abs(u.var(ddof=1) - 1) < 3 * math.sqrt((kurtosis - 1) / n), (j, u.var())
        assert abs(u.mean()) < 3 / math.sqrt(n)
        excess = np.mean(u ** 4) / u.var() ** 2 - 3
        assert excess > 0.5, (j, excess)  # a normal gives 0 +- 0.016 here; this t gives 1.0
    corr = np.corrcoef(logs)
    assert abs(corr[2, 0] - 0.6) < 3 * (1 - 0.36) / math.sqrt(n) * 1.5  # the multivariate t keeps C (wider SE)


def test_lognormal_draws_have_normal_tails() -> None:
    logs = next(iter_log_returns(three_classes())).copy()
    mu, sigma = ln_params(0.07, 0.16)
    u = (logs[0] - mu) / sigma
    assert abs(np.mean(u ** 4) / u.var() ** 2 - 3) < 0.1


# --- zero volatility: a projection written here in Decimal ---------------------------------------------------------

def _month_start(start: date, i: int) -> date:
    y, m = divmod(start.month - 1 + i, 12)
    year, month = start.year + y, m + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


ZV_START = date(2025, 1, 31)
ZV_RETIRE = date(2033, 3, 31)
ZV_RATES = (D("0.06"), D("0.025"))
ZV_WEIGHTS = ((D(80), D(20)), (D(70), D(30)), (D("55.5"), D("44.5")))
ZV_INFLATION = D("0.03")


def zero_vol(**changes: object) -> SimulationInputs:
    base = SimulationInputs(
        start_date=ZV_START, horizon_years=15, steps="monthly", iterations=1_000, seed=1, return_model="lognormal",
        asset_classes=(AssetClass("growth", ZV_RATES[0], D(0)), AssetClass("income", ZV_RATES[1], D(0))),
        correlation=((D(1), D("0.4")), (D("0.4"), D(1))), inflation=ZV_INFLATION, glide_path=ZV_WEIGHTS,
        starting_wealth=D("250000.00"),
        flows=(Flow(D("9000"), date(2025, 6, 15), ends_at_retirement=True),  # salary savings, index-linked
               Flow(D("-2400"), date(2026, 1, 1), date(2031, 1, 1), growth="fixed", growth_rate=D("0.05")),
               Flow(D("6000"), date(2034, 1, 31), growth="fixed", growth_rate=D(0))),  # a level pension
        lump_sums=(LumpSum(date(2029, 7, 4), D("-35000")), LumpSum(date(2036, 12, 31), D("20000"))),
        income_need=D("24000"), retirement_date=ZV_RETIRE, confidence=D("0.9"))
    return replace(base, **changes)


def project(x: SimulationInputs, need: Decimal) -> tuple[list[Decimal], int | None]:
    """Wealth at each year end and the plan year money ran out (None: never), in Decimal with 50 digits."""
    with localcontext() as ctx:
        ctx.prec = 50
        monthly = [(1 + r) ** (D(1) / D(12)) for r in ZV_RATES]
        prices = [(1 + x.inflation) ** k for k in range(x.horizon_years + 1)]
        wealth, ran_out, years = x.starting_wealth, None, []
        for i in range(x.horizon_years * 12):
            k, t, t_next = i // 12, _month_start(x.start_date, i), _month_start(x.start_date, i + 1)
            pay = D(0)
            for f in x.flows:
                end = x.retirement_date if f.ends_at_retirement else f.end
                if f.start <= t and (end is None or t < end):
                    grown = prices[k] if f.growth == "inflation" else (1 + f.growth_rate) ** k
                    pay += f.amount / 12 * grown
            pay += sum((s.amount for s in x.lump_sums if t <= s.on < t_next), D(0))
            if t >= x.retirement_date:
                pay -= need / 12 * prices[k]
            wealth += pay
            if ran_out is None and wealth < 0:
                ran_out = k + 1
            if ran_out is not None:
                wealth = D(0)
            w = x.glide_path[min(k, len(x.glide_path) - 1)]
            wealth *= sum((wj / 100 * g for wj, g in zip(w, monthly, strict=True)), D(0))
            if i % 12 == 11:
                years.append(wealth)
        return years, ran_out


def test_a_zero_volatility_plan_is_the_deterministic_projection_to_the_penny() -> None:
    x = zero_vol()
    out = simulate(x)
    years, ran_out = project(x, x.income_need)
    assert ran_out is None  # the plan is affordable: the comparison covers all 15 years
    assert [row.year for row in out.base.wealth] == list(range(16))
    assert out.base.wealth[0].nominal == (D("250000.00"),) * 7
    for row, expected in zip(out.base.wealth[1:], years, strict=True):
        assert row.nominal == (expected.quantize(PENNY, ROUND_HALF_EVEN),) * 7, row.year
        real = expected / (1 + ZV_INFLATION) ** row.year
        assert row.real == (real.quantize(PENNY, ROUND_HALF_EVEN),) * 7, row.year
        assert row.on == date(2025 + row.year, 1, 31)
    assert out.base.probability_of_success == 1


def test_zero_volatility_runs_out_in_the_year_the_projection_does() -> None:
    x = zero_vol(income_need=D("60000"))
    years, ran_out = project(x, x.income_need)
    assert ran_out is not None and 9 <= ran_out <= 15
    out = simulate(x)
    assert out.base.probability_of_success == 0 and out.base.never_run_out == 0
    expected = [0] * 15
    expected[ran_out - 1] = x.iterations
    assert list(out.base.run_out_by_year) == expected
    for row, value in zip(out.base.wealth[1:], years, strict=True):
        assert row.nominal[3] == value.quantize(PENNY, ROUND_HALF_EVEN)


def test_zero_volatility_sustainable_withdrawal_is_the_bisection_of_the_projection() -> None:
    x = zero_vol()
    lo, hi = D(0), D(1_000_000)
    assert project(x, lo)[1] is None and project(x, hi)[1] is not None
    while hi - lo > D("0.0001"):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if project(x, mid)[1] is None else (lo, mid)
    expected = lo.quantize(PENNY, ROUND_FLOOR)
    assert simulate(x).base.sustainable_withdrawal == expected
    # and every path agrees: a need a penny above it fails everywhere, the figure itself succeeds everywhere
    assert simulate(replace(x, income_need=expected)).base.probability_of_success == 1
    assert simulate(replace(x, income_need=expected + D("0.02"))).base.probability_of_success == 0


# --- the need ---------------------------------------------------------------------------------------------------

def test_a_need_beyond_any_possible_wealth_never_succeeds_and_no_need_always_does() -> None:
    x = three_classes(horizon_years=30, iterations=5_000, retirement_date=date(2035, 1, 1),
                      flows=(Flow(D("5000"), date(2025, 1, 1), ends_at_retirement=True),))
    # the most any path could hold by retirement is far below a year's need: every path runs out in year 11
    need = D("1000000000")
    out = simulate(replace(x, income_need=need))
    assert out.base.probability_of_success == 0 and out.base.success_paths == 0
    assert out.base.run_out_by_year[10] == 5_000 and sum(out.base.run_out_by_year) == 5_000
    assert all(v == 0 for v in out.base.wealth[-1].nominal)
    none = simulate(replace(x, income_need=None))
    assert none.base.probability_of_success == 1 and none.base.never_run_out == 5_000
    zero = simulate(replace(x, income_need=D(0)))
    assert zero.base.probability_of_success == 1


def test_the_sustainable_withdrawal_is_what_re_runs_on_the_same_draws_find() -> None:
    """The engine reads it off each path in one pass; re-running with that need (common random numbers) must reach
    the confidence, and a penny more must not."""
    x = replace(three_classes(horizon_years=35, iterations=4_000, steps="monthly"),
                starting_wealth=D("600000"), retirement_date=date(2030, 1, 1), income_need=D("40000"),
                flows=(Flow(D("10000"), date(2025, 1, 1), ends_at_retirement=True),), confidence=D("0.8"))
    out = simulate(x)
    w = out.base.sustainable_withdrawal
    assert w is not None and D(10_000) < w < D(60_000)
    at = simulate(replace(x, income_need=w)).base
    above = simulate(replace(x, income_need=w + PENNY)).base
    assert at.success_paths >= 0.8 * 4_000 > above.success_paths
    # the success at the plan's own need agrees with the same per-path figures: fewer paths than at w
    assert (out.base.success_paths < at.success_paths) == (x.income_need > w)
