"""IRR (chalicelib/products/performance/irr.py) against an independent route, and one hand-worked example per rule.

The product calls numpy-financial (Kingston) and pyxirr (XIRR); the checks here use scipy's brentq on the NPV and
their own month bucketing (tests/unit/irr_cases.py), never the product's helpers.
"""
from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.products.performance import irr
from chalicelib.products.performance.irr import Flow, Holding, kingston_monthly, pooled, xirr
from tests.unit import irr_cases as cases

ROOT = Path(__file__).resolve().parents[2]
D = Decimal


def flows(*pairs: tuple[str, str]) -> list[Flow]:
    return [Flow(date.fromisoformat(d), D(a)) for d, a in pairs]


def day(iso: str) -> date:
    return date.fromisoformat(iso)


# --- generated: the product equals the independent route ---

def test_kingston_equals_brentq_on_independent_monthly_buckets_for_1000_portfolios():
    rng = random.Random(20240601)
    checked, skipped, seen = 0, 0, Counter()
    while checked < 1_000:
        case = cases.portfolio(rng)
        series = cases.reference_buckets(case)
        result = kingston_monthly(case.flows, case.end_date, case.end_value, case.start_date, case.start_value)
        # The bucketing (calendar months, empty months 0, start value in, end value added, sub-0.01 zeroed)
        assert [f.amount for f in result.flows_used] == series, case
        monthly = cases.monthly_root(series)
        if monthly is None:  # several rates: nothing independent to compare with
            skipped += 1
            continue
        checked += 1
        assert result.reason is None and result.basis == "monthly_irr_x12", case
        assert abs(result.irr - D(repr(12 * monthly))) <= D("1e-9"), (case, result.irr, 12 * monthly)
        seen["several sign changes"] += cases.sign_changes([float(a) for a in series]) > 1
        seen["start value"] += case.start_value is not None
        seen["sub-penny month zeroed"] += series != cases.reference_buckets(case, zero_under_penny=False)
        seen["over 10 years"] += len(series) > 120
    # The filter must not hollow the test out, and the awkward shapes must really be there.
    assert skipped <= 50
    assert seen["several sign changes"] >= 300 and seen["start value"] >= 100
    assert seen["sub-penny month zeroed"] >= 20 and seen["over 10 years"] >= 200


@cache
def xirr_sets() -> list[cases.Case]:
    rng = random.Random(7)
    return [rng.choice(cases.XIRR_KINDS)(rng) for _ in range(1_100)]


def xirr_expectation(case: cases.Case) -> tuple[str, float | None]:
    """What the independent route says: ("rate", r), ("none", None), ("too large", None) or ("several", None)."""
    used = cases.reference_xirr_flows(case)
    amounts = [a for _, a in used]
    if not any(a < 0 for a in amounts) or not any(a > 0 for a in amounts) or len({d for d, _ in used}) == 1:
        return "none", None
    rate = cases.xirr_root(used)
    if rate is None:
        return "several", None
    return ("too large", None) if abs(rate) >= 1e10 else ("rate", rate)


def test_xirr_equals_brentq_on_1000_generated_sets_including_awkward_ones():
    seen = Counter()
    for case in xirr_sets():
        expected, rate = xirr_expectation(case)
        result = xirr(case.flows, case.end_date, case.end_value, case.start_date, case.start_value)
        seen[(case.kind, expected)] += 1
        if expected == "rate":
            assert result.reason is None and result.basis == "xirr_act_365f", (case, rate)
            # 1e-7 absolute; relative for rates above 100% (a double carries ~16 significant digits)
            assert abs(result.irr - D(repr(rate))) <= D("1e-7") * max(1, abs(D(repr(rate)))), (case, rate, result)
        elif expected == "too large":
            assert result.irr is None and result.reason in (irr.OUT_OF_RANGE, irr.NOT_FINITE_RATE), (case, result)
        elif expected == "none":
            assert result.irr is None and result.reason in (irr.NO_MONEY_IN, irr.NO_MONEY_OUT, irr.SINGLE_DAY)
    compared = sum(n for (_, expected), n in seen.items() if expected == "rate")
    assert compared >= 1_000 - 100 and sum(seen.values()) >= 1_000
    assert sum(n for (_, expected), n in seen.items() if expected == "several") <= 20
    for kind in ("far_apart", "near_total_loss", "large_gain"):
        assert seen[(kind, "rate")] >= 100, seen
    assert seen[("large_gain", "too large")] >= 5
    assert seen[("single_day", "none")] >= 20 and seen[("no_sign_change", "none")] >= 20


def test_xirr_fallback_solver_equals_brentq_on_the_same_sets():
    """pyxirr 0.10 returns None for some solvable sets (rates near -100%, flows decades apart); the product then
    brackets the root itself. That solver must hold on every set, not only the few that reach it."""
    checked = 0
    for case in xirr_sets():
        expected, rate = xirr_expectation(case)
        if expected != "rate":
            continue
        dates, amounts = zip(*cases.reference_xirr_flows(case), strict=False)
        got = irr._xirr_bracketed(dates, amounts)
        assert got is not None and abs(got - rate) <= 1e-9 * max(1, abs(rate)), (case, rate, got)
        # Started from a nearby rate (irr.history passes the previous date's), the same root.
        near = irr._xirr_bracketed(dates, amounts, guess=max(-0.999, rate * 0.9 - 0.01))
        assert near is not None and abs(near - rate) <= 1e-9 * max(1, abs(rate)), (case, rate, near)
        checked += 1
    assert checked >= 900


# --- Kingston: hand-worked, one per rule ---
# A valuation is a month-end position counted at the start of the next month: in the bucket of the month after its
# date's month, or of its own month when dated the 1st (taken back to the previous month's last day first).

def test_kingston_buckets_by_calendar_month_and_an_empty_month_is_zero():
    # Jan: -600 and -400 add up to -1000; Feb: no flow -> 0; the valuation of 10 Feb counts in Mar: +1100.
    # Series [-1000, 0, 1100]: (1 + m)^2 = 1.1, m = sqrt(1.1) - 1 = 0.0488088481701515...
    # annual = 12 m = 0.58570617804181856... (simple, not compounded: (1.1)^6 - 1 would be 0.7716)
    r = kingston_monthly(flows(("2023-01-05", "-600"), ("2023-01-20", "-400")), day("2023-02-10"), D("1100"))
    assert r.flows_used == flows(("2023-01-01", "-1000"), ("2023-02-01", "0"), ("2023-03-01", "1100"))
    assert r.irr == D("0.5857061780") and r.method == "kingston_monthly" and r.basis == "monthly_irr_x12"
    assert abs(r.monthly - D("0.0488088481701515")) < D("1e-15")


def test_kingston_an_investment_in_the_valuation_month_does_not_net_against_the_valuation():
    # 1000 in on 15 Jan, 500 more on 10 Mar, valued 1535.301 on 20 Mar. The valuation counts in April, so March
    # keeps its -500: series [-1000, 0, -500, 1535.301]. At m = 0.01: 1000 x 1.01^3 + 500 x 1.01 = 1030.301 + 505
    # = 1535.301, so the NPV is 0 and (one sign change) that is the only rate: annual 0.12.
    # (Netting the valuation into March, [-1000, 0, 1035.301], would say 12 x (1.035301^(1/2) - 1) = 0.2099.)
    r = kingston_monthly(flows(("2023-01-15", "-1000"), ("2023-03-10", "-500")), day("2023-03-20"), D("1535.301"))
    assert [f.amount for f in r.flows_used] == [D("-1000"), D(0), D("-500"), D("1535.301")]
    assert r.flows_used[-1].date == day("2023-04-01")
    assert r.irr == D("0.1200000000")


def test_kingston_a_withdrawal_in_the_valuation_month_stays_in_its_month():
    # Jan -1000; 2 Mar: withdrawal 200; valued 1111 on 31 Mar, counted in April. Series [-1000, 0, 200, 1111]:
    # at m = 0.1 the NPV is -1000 + 200 / 1.1^2 + 1111 / 1.1^3 = (-1331 + 220 + 1111) / 1.331 = 0, and the running
    # totals (-1000, -1000, -800, 311) change sign once, so it is the only rate: annual 1.2.
    r = kingston_monthly(flows(("2023-01-31", "-1000"), ("2023-03-02", "200")), day("2023-03-31"), D("1111"))
    assert [f.amount for f in r.flows_used] == [D("-1000"), D("0"), D("200"), D("1111")]
    assert r.irr == D("1.2000000000")


def test_kingston_a_valuation_dated_the_1st_counts_in_its_own_month():
    # 1000 in on 15 Jan, valued 1020.10 on 1 Mar: taken back to 28 Feb, it counts in March. Series
    # [-1000, 0, 1020.1]: (1 + m)^2 = 1.0201, m = 0.01, annual 0.12.
    r = kingston_monthly(flows(("2023-01-15", "-1000")), day("2023-03-01"), D("1020.10"))
    assert r.flows_used == flows(("2023-01-01", "-1000"), ("2023-02-01", "0"), ("2023-03-01", "1020.10"))
    assert r.irr == D("0.1200000000")
    # The same value a day later counts in April: (1 + m)^3 = 1.0201, m = 1.0201^(1/3) - 1.
    r = kingston_monthly(flows(("2023-01-15", "-1000")), day("2023-03-02"), D("1020.10"))
    assert abs(r.irr - D(repr(12 * (1.0201 ** (1 / 3) - 1)))) < D("1e-9") and len(r.flows_used) == 4
    # Across a year end: 1 Jan 2024 is 31 Dec 2023's position, counted in January 2024.
    # [Nov -1000, Dec 0, Jan 1020.1]: m = 0.01.
    r = kingston_monthly(flows(("2023-11-20", "-1000")), day("2024-01-01"), D("1020.10"))
    assert r.flows_used[-1] == Flow(day("2024-01-01"), D("1020.10")) and r.irr == D("0.1200000000")


def test_kingston_a_product_younger_than_three_months():
    # Invested and valued in the same month: the valuation counts in the next month, so there is a monthly rate.
    # [-1000, 1010]: m = 0.01, annual 0.12 (the firm annualises a few weeks too).
    r = kingston_monthly(flows(("2023-03-03", "-1000")), day("2023-03-25"), D("1010"))
    assert [f.amount for f in r.flows_used] == [D("-1000"), D("1010")]
    assert r.irr == D("0.1200000000") and r.basis == "monthly_irr_x12"
    # Invested 20 Jan, valued 10 Feb (three weeks old, counted in March): [-1000, 0, 1020.1], m = 0.01.
    r = kingston_monthly(flows(("2023-01-20", "-1000")), day("2023-02-10"), D("1020.10"))
    assert r.irr == D("0.1200000000")
    # Invested 3 Jan and 3 Feb, valued 3 Mar (two months old): [-1000, -500, 0, X] with m = 0.02:
    # X = 1000 x 1.02^3 + 500 x 1.02^2 = 1061.208 + 520.2 = 1581.408, annual 0.24.
    r = kingston_monthly(flows(("2023-01-03", "-1000"), ("2023-02-03", "-500")), day("2023-03-03"), D("1581.408"))
    assert [f.amount for f in r.flows_used] == [D("-1000"), D("-500"), D("0"), D("1581.408")]
    assert r.irr == D("0.2400000000")


def test_kingston_everything_in_one_month_uses_the_simple_return():
    # Invested on 1 Mar and valued that day: the valuation (dated the 1st) counts in March with the investment, so
    # no month separates them and there is no monthly rate. Simple return, not annualised: 1010 / 1000 - 1 = 0.01.
    r = kingston_monthly(flows(("2023-03-01", "-1000")), day("2023-03-01"), D("1010"))
    assert r.irr == D("0.0100000000") and r.basis == "simple_return" and r.monthly is None


def test_kingston_month_netting_to_under_a_penny_counts_as_zero():
    # Feb: switch out 500.00 and back in 499.996 -> +0.004, under 0.01 -> 0 (else a tiny positive month between
    # money in and more money in). The valuation of 20 Feb counts in March. Series [-1000, 0, 1210]: m = 0.1,
    # annual 1.2, as if Feb had no flow.
    r = kingston_monthly(flows(("2023-01-10", "-1000"), ("2023-02-03", "500.00"), ("2023-02-03", "-499.996")),
                         day("2023-02-20"), D("1210"))
    assert [f.amount for f in r.flows_used] == [D("-1000"), D("0"), D("1210")]
    assert r.irr == D("1.2000000000")


def test_kingston_exactly_a_penny_is_not_under_a_penny():
    # Jan -0.01; valued 0.02 on 20 Jan, counted in Feb. Series [-0.01, 0.02]: m = 1, annual 12.
    r = kingston_monthly(flows(("2023-01-15", "-0.01")), day("2023-01-20"), D("0.02"))
    assert r.irr == D("12.0000000000")


def test_kingston_sub_penny_only_money_in_means_no_irr():
    # The only investment, 0.005 in January, counts as zero: series [0, 0, 100] has no money in.
    r = kingston_monthly(flows(("2023-01-10", "-0.005")), day("2023-02-10"), D("100"))
    assert r.irr is None and r.reason.startswith(irr.NO_MONEY_IN) and "0.01" in r.reason
    assert [f.amount for f in r.flows_used] == [D(0), D(0), D(100)]


def test_kingston_start_value_is_money_in_the_month_after_its_date():
    # From the valuation of 15 Jan 2023 (1000): it counts in February. A flow on 15 Jan is inside it (valuations are
    # end of day) and left out, as is one before; the investment of 20 Jan is after it and counts in January, its
    # own month. Valued on 10 Mar, counted in April. Series [Jan -500, Feb -1000, Mar 0, Apr X]; with m = 0.01,
    # X = 500 x 1.01^3 + 1000 x 1.01^2 = 515.1505 + 1020.1 = 1535.2505, annual 0.12.
    r = kingston_monthly(flows(("2023-01-02", "-999"), ("2023-01-15", "-250"), ("2023-01-20", "-500")),
                         day("2023-03-10"), D("1535.2505"), start_date=day("2023-01-15"), start_value=D("1000"))
    assert r.flows_used == flows(("2023-01-01", "-500"), ("2023-02-01", "-1000"), ("2023-03-01", "0"),
                                 ("2023-04-01", "1535.2505"))
    assert r.irr == D("0.1200000000")


def test_kingston_start_value_dated_the_1st_counts_in_its_own_month():
    # From 1 Feb (1000; the flow that day is inside it) to 1 Apr (1020.10): February to April,
    # [-1000, 0, 1020.1], m = 0.01, annual 0.12.
    r = kingston_monthly(flows(("2023-02-01", "-300")), day("2023-04-01"), D("1020.10"),
                         start_date=day("2023-02-01"), start_value=D("1000"))
    assert [f.amount for f in r.flows_used] == [D("-1000"), D("0"), D("1020.10")]
    assert r.irr == D("0.1200000000")


def test_kingston_start_and_end_counted_in_the_same_month_use_the_simple_return():
    # From 10 Apr (1000) to 25 Apr (1010): both valuations count in May. Simple return 1010 / 1000 - 1 = 0.01.
    r = kingston_monthly([], day("2023-04-25"), D("1010"), start_date=day("2023-04-10"), start_value=D("1000"))
    assert r.irr == D("0.0100000000") and r.basis == "simple_return"
    # From 31 Mar (counted in April) to 15 Apr (counted in May): one month, [-1000, 1010], annual 0.12.
    r = kingston_monthly([], day("2023-04-15"), D("1010"), start_date=day("2023-03-31"), start_value=D("1000"))
    assert r.irr == D("0.1200000000") and r.basis == "monthly_irr_x12"


def test_kingston_annualises_by_twelve_so_a_near_total_loss_goes_below_minus_100_percent():
    # 1000 in Jan 2023, worth 0.01 on 1 Jan 2024 (counted in January 2024): 13 buckets, (1 + m)^12 = 1e-5,
    # m = 10^(-5/12) - 1 = -0.61688131504427..., annual 12 m = -7.4025757805312... The firm's simple x 12, kept.
    r = kingston_monthly(flows(("2023-01-15", "-1000")), day("2024-01-01"), D("0.01"))
    assert r.irr == D("-7.4025757805")


@pytest.mark.parametrize("method", [kingston_monthly, xirr])
@pytest.mark.parametrize("flow_list, end_value, reason", [
    # only money in, nothing left
    ([("2022-01-10", "-1000"), ("2022-06-10", "-500")], "0", irr.NO_MONEY_OUT),
    # only money out (withdrawals and the end value): no investment in the period
    ([("2022-01-10", "300"), ("2022-06-10", "200")], "1000", irr.NO_MONEY_IN),
    # nothing at all
    ([], "0", irr.NO_MONEY_IN),
])
def test_no_irr_without_money_in_and_money_out(method, flow_list, end_value, reason):
    r = method(flows(*flow_list), day("2023-01-10"), D(end_value))
    assert r.irr is None and r.reason.startswith(reason) and r.basis is None


def test_kingston_no_real_rate_is_refused_not_reported_as_nan():
    # Jan -100; Feb +150; Mar -100; valued 0 on 20 Mar (counted in April). Series [-100, 150, -100, 0]: the trailing
    # 0 adds no root, and with x = 1 / (1 + m),
    # -100 + 150 x - 100 x^2 = 0 has discriminant 150^2 - 4 * 100 * 100 = -17500 < 0: no real rate exists and
    # numpy-financial returns NaN.
    r = kingston_monthly(flows(("2023-01-10", "-100"), ("2023-02-10", "150"), ("2023-03-10", "-100")),
                         day("2023-03-20"), D("0"))
    assert [f.amount for f in r.flows_used] == [D("-100"), D("150"), D("-100"), D("0")]
    assert r.irr is None and r.reason == irr.NO_ROOT


@pytest.mark.parametrize("method", [kingston_monthly, xirr])
@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_amounts_are_refused(method, bad):
    r = method(flows(("2022-01-10", "-1000"), ("2022-05-10", bad)), day("2023-01-10"), D("1100"))
    assert r.irr is None and r.reason == irr.NOT_FINITE_INPUT
    r = method(flows(("2022-01-10", "-1000")), day("2023-01-10"), D(bad))
    assert r.irr is None and r.reason == irr.NOT_FINITE_INPUT


@pytest.mark.parametrize("method", [kingston_monthly, xirr])
def test_absurd_rates_are_refused(method):
    # 1.00 turning into 10^12 by 1 Feb (counted in February by Kingston): ~10^12 a month (x 12, or compounded),
    # beyond numeric(20, 10).
    r = method(flows(("2023-01-10", "-1")), day("2023-02-01"), D("1e12"))
    assert r.irr is None and r.reason in (irr.OUT_OF_RANGE, irr.NOT_FINITE_RATE)


def test_negative_valuation_is_refused():
    r = kingston_monthly(flows(("2022-01-10", "-1000")), day("2023-01-10"), D("-5"))
    assert r.irr is None and r.reason == irr.NEGATIVE_VALUATION


def test_programming_errors_raise():
    with pytest.raises(ValueError):
        kingston_monthly([], day("2023-01-10"), D(1), start_value=D(1))
    with pytest.raises(ValueError):
        xirr([], day("2023-01-10"), D(1), start_date=day("2023-02-01"))


# --- XIRR: hand-worked ---

def test_xirr_one_year_of_365_days():
    # 1000 -> 1100 over 2021 (365 days): (1 + r)^1 = 1.1, r = 0.1
    r = xirr(flows(("2021-01-01", "-1000")), day("2022-01-01"), D("1100"))
    assert r.irr == D("0.1000000000") and r.method == "xirr" and r.basis == "xirr_act_365f"


def test_xirr_counts_actual_days_over_365():
    # Over 2020 (366 days): (1 + r)^(366/365) = 1.1, r = 1.1^(365/366) - 1 = 0.0997135859341412...
    r = xirr(flows(("2020-01-01", "-1000")), day("2021-01-01"), D("1100"))
    assert r.irr == D("0.0997135859")


def test_xirr_on_a_single_day_is_undefined():
    r = xirr(flows(("2023-05-02", "-1000"), ("2023-05-02", "-500")), day("2023-05-02"), D("1600"))
    assert r.irr is None and r.reason == irr.SINGLE_DAY


def test_xirr_near_total_loss():
    # 1000 -> 0.01 in 365 days: 1 + r = 1e-5, r = -0.99999
    r = xirr(flows(("2021-01-01", "-1000")), day("2022-01-01"), D("0.01"))
    assert r.irr == D("-0.9999900000")


def test_xirr_flows_forty_years_apart():
    # 1980-01-01 to 2020-01-01 is 14,610 days = 40.0274 years. 7% a year would give 1000 x 1.07^(14610/365)
    # = 15002.2411591959; at 15002.24 (to the penny) r = 15.00224^(365/14610) - 1 = 0.0699999979344908...
    r = xirr(flows(("1980-01-01", "-1000")), day("2020-01-01"), D("15002.24"))
    assert r.irr == D("0.0699999979")


def test_xirr_start_value_is_money_in_on_the_start_date():
    # From 2021-01-01 valued 1000 (a flow that day is inside the value), to 1100 a 365-day year later: r = 0.1.
    r = xirr(flows(("2020-06-01", "-900"), ("2021-01-01", "-100")), day("2022-01-01"), D("1100"),
             start_date=day("2021-01-01"), start_value=D("1000"))
    assert r.flows_used == flows(("2021-01-01", "-1000"), ("2022-01-01", "1100"))
    assert r.irr == D("0.1000000000")


# --- pooled: a client group's IRR comes from its pooled flows, never the average ---

FUND_A = Holding(flows(("2021-01-01", "-1000")), day("2022-01-01"), D("2000"))  # doubles in a year
FUND_B = Holding(flows(("2021-01-01", "-100000")), day("2022-01-01"), D("100000"))  # 100 times larger, flat


def test_pooled_irr_differs_from_the_average_and_equals_the_irr_of_the_pooled_flows():
    end = day("2022-01-01")
    group = pooled([FUND_A, FUND_B])
    assert group.flows == flows(("2021-01-01", "-101000")) and (group.end_date, group.end_value) == (end, 102000)

    # XIRR: A 1.0, B 0.0, average 0.5. Pooled: 101000 -> 102000 in 365 days, r = 1000 / 101000 = 0.00990099...
    a, b = (xirr(h.flows, end, h.end_value).irr for h in (FUND_A, FUND_B))
    assert (a, b) == (D("1.0000000000"), D("0E-10"))
    group_irr = xirr(group.flows, end, group.end_value).irr
    assert group_irr == D("0.0099009901") and abs(group_irr - (a + b) / 2) > D("0.4")
    assert abs(group_irr - D(repr(cases.xirr_root([(day("2021-01-01"), -101000.0), (end, 102000.0)])))) < D("1e-9")

    # Kingston: A 12 (2^(1/12) - 1) = 0.7135571323, B 0; pooled 12 ((102000/101000)^(1/12) - 1) = 0.0098563420
    a, b = (kingston_monthly(h.flows, end, h.end_value).irr for h in (FUND_A, FUND_B))
    assert a == D("0.7135571323") and b == 0
    group_irr = kingston_monthly(group.flows, end, group.end_value).irr
    assert group_irr == D("0.0098563420") and abs(group_irr - (a + b) / 2) > D("0.3")
    series = [D(-101000)] + [D(0)] * 11 + [D(102000)]
    assert abs(group_irr - D(repr(12 * cases.monthly_root(series)))) < D("1e-9")


def test_pooled_holdings_each_over_their_own_period():
    """Start values are money in on their own dates; a holding valued last before the others is money out on that
    date (no stale value carried forward); cash flows of one date net; the end value is the latest date's. XIRR
    takes the valuations on their dates; Kingston counts them in the month after their own, cash flows in theirs."""
    funds = [Holding(flows(("2022-03-01", "-10")), day("2022-06-30"), D("115"), day("2022-01-31"), D("100")),
             Holding(flows(("2022-02-01", "-20"), ("2022-03-01", "-4")), day("2022-06-30"), D("25")),  # bought later
             Holding([], day("2022-04-30"), D("51"), day("2021-12-31"), D("50"))]  # not valued after April
    group = pooled(funds)
    assert group.flows == flows(("2022-02-01", "-20"), ("2022-03-01", "-14"))
    assert group.valuations == flows(("2021-12-31", "-50"), ("2022-01-31", "-100"), ("2022-04-30", "51"))
    assert (group.end_date, group.end_value, group.start) == (day("2022-06-30"), D("140"), day("2021-12-31"))
    # XIRR: the IRR of exactly those dated amounts, checked against a scipy root of their NPV.
    r = irr.of_pool(group, irr.XIRR)
    dated = [(f.date, float(f.amount)) for f in group.valuations + group.flows]
    expected = cases.xirr_root([*sorted(dated), (group.end_date, 140.0)])
    assert abs(r.irr - D(repr(expected))) < D("1e-9")
    # Kingston: 31 Dec -> Jan -50; 31 Jan -> Feb -100 with Feb's -20; Mar -14; Apr 0; 30 Apr -> May +51; Jun 0;
    # 30 Jun -> Jul +140.
    r = irr.of_pool(group, irr.KINGSTON)
    series = [D(-50), D(-120), D(-14), D(0), D(51), D(0), D(140)]
    assert [f.amount for f in r.flows_used] == series and r.flows_used[0].date == day("2022-01-01")
    assert abs(r.irr - D(repr(12 * cases.monthly_root(series)))) < D("1e-9")
    with pytest.raises(ValueError):
        pooled([])


# --- money stays Decimal ---

amounts = st.decimals(min_value=-100_000, max_value=100_000, places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3_000), amounts), max_size=12),
       st.integers(0, 400), st.decimals(min_value=0, max_value=200_000, places=2),
       st.sampled_from([kingston_monthly, xirr]))
def test_results_are_decimal_and_a_figure_xor_a_reason(raw, extra_days, end_value, method):
    start = date(2010, 1, 1)
    flow_list = [Flow(start + timedelta(days=d), a) for d, a in raw]
    end = start + timedelta(days=max([d for d, _ in raw], default=0) + extra_days)
    r = method(flow_list, end, end_value)
    assert (r.irr is None) == (r.reason is not None) == (r.basis is None)  # as irr_values' CHECK wants
    assert not any(isinstance(v, float) for v in vars(r).values())
    if r.irr is not None:
        assert type(r.irr) is Decimal and r.irr.as_tuple().exponent == -10 and abs(r.irr) < irr.MAX_ABS_RATE
    assert r.monthly is None or type(r.monthly) is Decimal
    assert all(type(f.amount) is Decimal and type(f.date) is date for f in r.flows_used)


def test_importing_the_module_loads_no_numerics():
    probe = ("import sys, chalicelib.products.performance.irr; "
             "print(sorted(m for m in ('numpy', 'numpy_financial', 'pyxirr', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fast_path_equals_numpy_financial_the_firms_own_tool():
    """With one sign change the product solves with pyxirr; it must give numpy-financial's rate (the rule)."""
    import random

    import numpy_financial

    from chalicelib.products.performance import irr as product_irr

    rng = random.Random(20261122)
    checked = 0
    for _ in range(300):
        months = rng.randint(2, 180)
        series = [-rng.uniform(100, 100000)] + [-rng.uniform(0, 2000) * (rng.random() < 0.7) for _ in range(months - 2)]
        series.append(rng.uniform(1, 3) * -sum(series))
        expected = float(numpy_financial.irr(series))
        got = product_irr._monthly_irr(series)
        assert abs(got - expected) <= 1e-9 * max(1.0, abs(expected)), (series, got, expected)
        checked += 1
    assert checked == 300


# --- irr.history: the stored history's one-pass path equals the per-date functions ---

def _history_case(rng: random.Random) -> tuple[list[Flow], list[tuple[date, Decimal]]]:
    """A product's netted flows and its valuation points, with what makes the per-date rules differ: valuations
    before the first flow and within a month of it, months without flows, dates netting to zero or under a penny,
    withdrawals (several sign changes: numpy-financial's path), a flow on a valuation date, values of 0, flows
    after the last valuation."""
    start = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3000))
    flows: list[Flow] = []
    for _ in range(rng.randint(0, 40)):
        when = start + timedelta(days=rng.randint(0, 1500))
        kind = rng.random()
        if kind < 0.6:
            amount = -D(rng.randint(1, 500_000)) / 100
        elif kind < 0.8:
            amount = D(rng.randint(1, 300_000)) / 100
        elif kind < 0.9:
            amount = D(0)  # a switch out and back in, netted
        else:
            amount = D(rng.choice(["-0.004", "0.003", "-0.01", "0.01"]))
        flows.append(Flow(when, amount))
    days = sorted({start + timedelta(days=rng.randint(-40, 1600)) for _ in range(rng.randint(1, 25))}
                  | ({flows[0].date} if flows and rng.random() < 0.5 else set()))
    points = [(d, D(0) if rng.random() < 0.05 else D(rng.randint(0, 1_000_000)) / 100) for d in days]
    return flows, points


def test_history_equals_kingston_and_xirr_per_date_on_1000_generated_histories():
    rng = random.Random(20261122)
    checked = Counter()
    for _ in range(1000):
        flows_, points = _history_case(rng)
        got = irr.history(flows_, points)
        assert len(got) == len(points)
        for (d, v), (k, x) in zip(points, got, strict=False):
            window = [f for f in flows_ if f.date <= d]
            want_k, want_x = kingston_monthly(window, d, v), xirr(window, d, v)
            assert (k.irr, k.reason, k.method) == (want_k.irr, want_k.reason, want_k.method), (flows_, d, v)
            assert (x.irr, x.reason, x.method) == (want_x.irr, want_x.reason, want_x.method), (flows_, d, v)
            checked[(k.basis or k.reason or "")[:12]] += 1
            checked[(x.basis or x.reason or "")[:12]] += 1
    # The generated histories reach every branch: monthly and simple Kingston figures, XIRR figures, and the
    # reasons for no figure.
    assert {"monthly_irr_", "simple_retur", "xirr_act_365", irr.NO_MONEY_IN[:12], irr.NO_MONEY_OUT[:12],
            irr.SINGLE_DAY[:12]} <= set(checked), checked


def test_history_refusals_take_the_per_date_path():
    bad = [Flow(day("2020-01-10"), D("-100")), Flow(day("2020-03-10"), D("NaN"))]
    assert [r.reason for pair in irr.history(bad, [(day("2020-06-30"), D("120"))]) for r in pair] == [
        irr.NOT_FINITE_INPUT, irr.NOT_FINITE_INPUT]
    ok = [Flow(day("2020-01-10"), D("-100"))]
    assert [r.reason for pair in irr.history(ok, [(day("2020-06-30"), D("-1"))]) for r in pair] == [
        irr.NEGATIVE_VALUATION, irr.NEGATIVE_VALUATION]
