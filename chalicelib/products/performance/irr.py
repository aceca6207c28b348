"""IRR of a fund, a product or a client group: the firm's Kingston monthly method and the standard XIRR.

Pure arithmetic: no database, no I/O. Money is Decimal in and out; floats exist only inside the solver calls.
numpy, numpy-financial and pyxirr are imported inside the functions so that `import app` (every Lambda cold start)
does not pay for them.

Conventions (docs/domain.md, "IRR"):
- Cash flows are from the investor's point of view: money in (investment, regular investment, tax uplift, switch in)
  is negative, money out (withdrawals, switch out) is positive. The valuation at `end_date` is the last positive flow.
- A period that starts after inception passes `start_date` and `start_value`: the valuation at the start is treated
  as money in (negative), as if the investor bought the holding at that price: on the start date for XIRR, in the
  month after the start date's month for the Kingston method (valuation_month: the firm counts a valuation as a
  month-end position, the end valuation likewise). Valuations are end-of-day, so a flow dated on the start date is
  already inside `start_value`: the period is then (start_date, end_date]. Without `start_value` the period is
  [first flow (not before start_date), end_date]. Flows outside the period are ignored, so callers may pass a
  fund's whole history.
- Every result says which method made it (`method`) and how (`basis`); `irr` is None exactly when `reason` is set
  (the irr_values table checks the same). Rates are annual decimals (0.0734 is 7.34%), quantized to 10 places.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import accumulate, pairwise
from typing import Any, NamedTuple

from chalicelib.core.money import PENNY  # amounts under a penny count as zero

KINGSTON = "kingston_monthly"
XIRR = "xirr"

# Results are stored as numeric(20, 10): a rate of 10^10 (a trillion per cent) is no longer a figure anyone can
# use, and would not fit. It only happens for absurd inputs (e.g. XIRR compounding a 1-day doubling over a year).
MAX_ABS_RATE = Decimal("1e10")
_PLACES = Decimal("1e-10")


class Flow(NamedTuple):
    """One signed cash flow, investor's view: negative is money in, positive is money out."""

    date: dt.date
    amount: Decimal


@dataclass(frozen=True)
class IrrResult:
    irr: Decimal | None  # annual rate, 10 decimal places; None exactly when `reason` says why there is none
    method: str  # "kingston_monthly" or "xirr": the method the caller asked for
    reason: str | None
    monthly: Decimal | None = None  # Kingston only: the monthly IRR before x 12, full precision
    flows_used: list[Flow] = field(default_factory=list)  # the series actually solved (for ?include=flows)
    # How the figure was made: "monthly_irr_x12", "simple_return" (Kingston, everything in one month) or
    # "xirr_act_365f"; None when there is no figure.
    basis: str | None = None


@dataclass(frozen=True)
class Holding:
    """One holding's part of a pooled calculation (a product of a client group, say), over its own period: the
    flows inside it, the value at its end and, when it starts from a valuation, the value at its start."""

    flows: Sequence[tuple[dt.date, Decimal]]  # Flow or (date, amount) pairs
    end_date: dt.date
    end_value: Decimal
    start_date: dt.date | None = None
    start_value: Decimal | None = None  # with start_date: money in that day; the holding's flows are after it


@dataclass(frozen=True)
class Pooled:
    flows: list[Flow]  # the holdings' cash flows, netted per date, in date order
    end_date: dt.date
    end_value: Decimal
    # Start values (money in, negative) and the values of holdings that end before end_date (money out), each on
    # its own date, in date order: valuations, which the Kingston method counts in the month after their own.
    valuations: list[Flow] = field(default_factory=list)

    @property
    def start(self) -> dt.date | None:
        """The first date with money in the pool: its first cash flow or start value."""
        return min((f.date for f in (self.flows[:1] + self.valuations[:1])), default=None)


# Reasons (stable wording: they are stored in the IRR history and shown to advisers).
NOT_FINITE_INPUT = "an amount or valuation is not a finite number"
NEGATIVE_VALUATION = "a valuation is negative"
NO_MONEY_IN = "no money in: the period has no investment and no start valuation"
NO_MONEY_OUT = "no money out: the period has no withdrawal and no end valuation"
_UNDER_PENNY = " (amounts under 0.01 count as zero)"
NO_ROOT = "no rate of return solves these cash flows"
NOT_FINITE_RATE = "the rate of return is not a finite number"
OUT_OF_RANGE = "the rate of return is too large to be meaningful (1e10 or more)"
SINGLE_DAY = "all cash flows and the end valuation fall on one day: XIRR needs a period of at least one day"


def kingston_monthly(flows: Iterable[Flow], end_date: dt.date, end_value: Decimal,
                     start_date: dt.date | None = None, start_value: Decimal | None = None) -> IrrResult:
    """The firm's method: monthly buckets, numpy-financial's irr, annualised as monthly x 12 (simple).

    - Buckets are calendar months, numbered from the earliest month anything counts in; a month without flows is
      a 0. Cash flows count in their own month.
    - A valuation is a month-end position and counts at the start of the following month: the end valuation (money
      out) and the start valuation (money in) each go into the month after their date's month, except that a
      valuation dated the 1st is first moved to the previous month's last day, so it counts in the month it is
      dated in (valuation_month). With a start valuation the flows counted are those after its date (a flow that
      day is inside it), in their own months.
    - "Amounts under 0.01 count as zero" applies to each month's NET amount, after the valuations are added:
      the series is what the solver sees, and a month where money in and out nearly cancel (a switch out and
      back in) must not leave a 0.004 residue that fakes a sign change. The same zeroed series decides whether
      there is money in and money out.
    - When everything falls into one month (the start and end valuations count in the same month, or a valuation
      dated the 1st of the month of the first flow) there is no monthly rate: the simple return
      (money out + end value) / (money in + start value) - 1, not annualised, with totals under 0.01 as zero.
    """
    window, bad = _window(flows, end_date, end_value, start_date, start_value)
    if bad:
        return _none(KINGSTON, bad)
    moves = [(_month_number(f.date), f.amount) for f in window]
    dated = list(window)
    if start_value is not None:
        moves.append((valuation_month(start_date), -start_value))  # type: ignore[arg-type]
        dated.insert(0, Flow(start_date, -start_value))  # type: ignore[arg-type]
    return _kingston(moves, end_date, end_value, dated)


def valuation_month(d: dt.date) -> int:
    """The month number (year x 12 + month - 1) a valuation dated `d` counts in under the Kingston method: the month
    after its own, as a month-end position; a valuation dated the 1st is the previous month's end, so it counts in
    its own month."""
    return _month_number(d) + (d.day != 1)


def _kingston(moves: list[tuple[int, Decimal]], end_date: dt.date, end_value: Decimal,
              dated: list[Flow]) -> IrrResult:
    """The Kingston figure of signed amounts already placed in their months (`moves`: month number, amount; cash
    flows in their own month, valuations in valuation_month) plus the end valuation. `dated` is the same money on
    its own dates (without the end valuation): the simple return's input and what it reports as used."""
    end_month = valuation_month(end_date)
    first = min((m for m, _ in moves), default=end_month)
    if first == end_month:
        return _simple_return([*dated, Flow(end_date, end_value)])
    buckets = [Decimal(0)] * (end_month - first + 1)
    for month, amount in moves:
        buckets[month - first] += amount
    buckets[-1] += end_value
    return _kingston_of_buckets(buckets, first)


def _kingston_of_buckets(buckets: list[Decimal], first: int, with_flows: bool = True) -> IrrResult:
    """The monthly part of the Kingston method, from the month sums (end value included; `first` is the month
    number of buckets[0]): the 0.01 rule, the money in/out checks, the solve and the annualising."""
    series = [Decimal(0) if abs(b) < PENNY else b for b in buckets]
    used = [Flow(_month_start(first + i), amount) for i, amount in enumerate(series)] if with_flows else []
    if not any(a < 0 for a in series):
        return _none(KINGSTON, NO_MONEY_IN + _UNDER_PENNY, used)
    if not any(a > 0 for a in series):
        return _none(KINGSTON, NO_MONEY_OUT + _UNDER_PENNY, used)

    monthly = _monthly_irr([float(a) for a in series], unique=_one_rate(series))
    if math.isnan(monthly):
        return _none(KINGSTON, NO_ROOT, used)
    if math.isinf(monthly):
        return _none(KINGSTON, NOT_FINITE_RATE, used)
    monthly_dec = Decimal(repr(monthly))
    return _figure(KINGSTON, monthly_dec * 12, "monthly_irr_x12", used, monthly=monthly_dec)


def _sign_changes(values: Iterable[Decimal | float]) -> int:
    signs = [v > 0 for v in values if v != 0]
    return sum(1 for a, b in pairwise(signs) if a != b)


def _one_rate(series: list[Decimal]) -> bool:
    """Whether the monthly series has exactly one rate above -100%, even with several sign changes.

    Norstrøm's criterion, both ways. With x = 1 / (1 + r) the NPV is a polynomial P(x) = sum(v_t x^t). Its roots in
    (0, 1), the rates above 0, number at most the sign changes of the running totals A_t = v_0 + ... + v_t
    (P(x) / (1 - x) is the power series with coefficients A_t); its roots in (1, inf), the rates between -100% and
    0, at most the sign changes of the running totals from the end (the same argument for x^n P(1 / x)); and x = 1,
    the rate 0, is a root exactly when the total is 0. So one change in all, with a total other than 0, leaves
    exactly one rate above -100%: numpy-financial's answer, whichever solver finds it. Exact: Decimal totals.
    """
    forward = list(accumulate(series))
    return forward[-1] != 0 and _sign_changes(forward) + _sign_changes(accumulate(reversed(series))) == 1


def _monthly_irr(series: list[float], unique: bool = False) -> float:
    """numpy-financial's irr of the monthly series (the firm's rule), solved fast when the answer is unique.

    numpy-financial finds every root of the polynomial (an eigenvalue problem: ~6 ms for 10 years of months,
    and the history needs one solve per valuation date). With exactly one sign change in the series, Descartes'
    rule of signs leaves exactly one rate above -100%, so any correct solver returns numpy-financial's answer;
    pyxirr's irr finds it in microseconds. Several sign changes may mean several rates, and numpy-financial's
    choice among them (the one nearest zero) is the rule, so those series go to numpy-financial itself.
    """
    if unique or _sign_changes(series) == 1:
        import pyxirr

        rate = pyxirr.irr(series, silent=True)
        if rate is not None and math.isfinite(rate) and rate > -1:
            return float(rate)
    import numpy_financial

    # numpy-financial solves sum(v_t / (1 + r)^t) = 0 via polynomial roots and returns NaN when no real rate
    # above -100% exists (possible with several sign changes); of several rates it takes the one nearest zero.
    return float(numpy_financial.irr(series))


def xirr(flows: Iterable[Flow], end_date: dt.date, end_value: Decimal,
         start_date: dt.date | None = None, start_value: Decimal | None = None) -> IrrResult:
    """The standard method: exact dates, annual compounding, actual/365 (Excel's XIRR), solved by pyxirr.

    Solves sum(cf_i / (1 + r)^(days_i / 365)) = 0 with days counted from the first flow. Exact amounts are used
    (the 0.01 rule belongs to the Kingston method); a flow of exactly 0 carries no money either way.
    """
    window, bad = _window(flows, end_date, end_value, start_date, start_value)
    if bad:
        return _none(XIRR, bad)
    used = ([Flow(start_date, -start_value)] if start_value is not None else []) + window  # type: ignore[arg-type]
    used.append(Flow(end_date, end_value))
    if not any(f.amount < 0 for f in used):
        return _none(XIRR, NO_MONEY_IN, used)
    if not any(f.amount > 0 for f in used):
        return _none(XIRR, NO_MONEY_OUT, used)
    if used[0].date == end_date:
        # Zero elapsed time: any gain would be an infinite annual rate (pyxirr answers inf).
        return _none(XIRR, SINGLE_DAY, used)
    return _xirr_solved([f.date for f in used], [float(f.amount) for f in used], used)


def _xirr_solved(dates: list[dt.date], amounts: list[float], used: list[Flow],
                 guess: float | None = None) -> IrrResult:
    """The XIRR solve of flows that have money in, money out and more than one day (`used` is only reported).
    When pyxirr gives up, the bracketed solver starts from `guess` (irr.history passes the previous date's rate),
    which finds the same root as from 0 when it is unique."""
    import pyxirr

    try:
        rate = pyxirr.xirr(dates, amounts, day_count=pyxirr.DayCount.ACT_365F)
    except pyxirr.InvalidPaymentsError:  # no sign change after all; checked above, kept as a guard
        return _none(XIRR, NO_ROOT, used)
    if rate is None or math.isnan(rate):
        # pyxirr (0.10) gives None when its solvers give up, which also happens when a rate exists but the NPV
        # spans many orders of magnitude: rates near -100%, flows decades apart. Bracket it ourselves.
        rate = _xirr_bracketed(dates, amounts, guess)
    if rate is None:
        return _none(XIRR, NO_ROOT, used)
    if math.isinf(rate):
        return _none(XIRR, NOT_FINITE_RATE, used)
    return _figure(XIRR, Decimal(repr(rate)), "xirr_act_365f", used)


def history(flows: Sequence[Flow], points: Sequence[tuple[dt.date, Decimal]]) -> list[tuple[IrrResult, IrrResult]]:
    """Whole-life IRRs to each point (a valuation date and the value that day), both methods, in one pass.

    The same figures and reasons as calling kingston_monthly(flows on or before the date, date, value) and xirr(...)
    for each point (tests/unit/test_irr.py checks it on generated histories), without rebuilding everything per
    date: `flows` are sorted once, the Kingston month sums and XIRR's float lists grow as the dates advance, and
    each date only copies its prefix. `points` must be in date order. The results carry no `flows_used`.
    """
    ordered = sorted(flows, key=lambda f: f.date)
    if not all(f.amount.is_finite() for f in ordered):  # what _window refuses: let the per-date path say so
        return [(kingston_monthly(ordered, d, v), xirr(ordered, d, v)) for d, v in points]
    dates = [f.date for f in ordered]
    floats = [float(f.amount) for f in ordered]
    out: list[tuple[IrrResult, IrrResult]] = []
    sums: list[Decimal] = []  # Kingston: month sums from the first flow's month, flows added so far
    first = _month_number(ordered[0].date) if ordered else 0
    n = 0  # flows on or before the current date
    money_in = money_out = False  # among them (XIRR: exact amounts)
    last_rate = None  # the previous date's XIRR: where the bracketed solver starts when pyxirr gives up
    for day, value in points:
        while n < len(ordered) and ordered[n].date <= day:
            f = ordered[n]
            k = _month_number(f.date) - first
            sums.extend([Decimal(0)] * (k + 1 - len(sums)))
            sums[k] += f.amount
            money_in = money_in or f.amount < 0
            money_out = money_out or f.amount > 0
            n += 1
        k = valuation_month(day) - first  # the month the valuation counts in; flows so far are in months <= k
        if not value.is_finite() or value < 0 or n == 0 or k == 0:
            # Refusals, no flow yet, or everything in one month (the simple return): rare; the per-date
            # functions decide.
            window = ordered[:n]
            out.append((kingston_monthly(window, day, value), xirr(window, day, value)))
            continue
        buckets = sums + [Decimal(0)] * (k + 1 - len(sums))
        buckets[-1] += value
        kingston = _kingston_of_buckets(buckets, first, with_flows=False)
        if not money_in:
            x = _none(XIRR, NO_MONEY_IN)
        elif not (money_out or value > 0):
            x = _none(XIRR, NO_MONEY_OUT)
        elif dates[0] == day:
            x = _none(XIRR, SINGLE_DAY)
        else:
            x = _xirr_solved([*dates[:n], day], [*floats[:n], float(value)], [], guess=last_rate)
            last_rate = float(x.irr) if x.irr is not None else None
        out.append((kingston, x))
    return out


def pooled(holdings: Iterable[Holding]) -> Pooled:
    """One input from several holdings: a client group's products, each over its own period.

    A client group's IRR is the IRR of the pooled flows, never an average of its products' IRRs. Each holding
    brings its flows, its start value as money in on its start date, and its end value: at the pooled end date (the
    latest holding end) that value is the end valuation; a holding that ends earlier (valued last before the others)
    brings its value as money out on its own end date, as if sold then, so that no stale value is carried forward
    and none of its later flows counts without a value after them. Cash flows are netted per date (which changes no
    monthly or XIRR figure, only the one-month simple return, a ratio of money out to money in). Start values and
    early ends stay apart from the cash flows (`valuations`): the Kingston method counts a valuation in the month
    after its date's month, a cash flow in its own (of_pool).
    """
    items = list(holdings)
    if not items:
        raise ValueError("nothing to pool")
    end_date = max(h.end_date for h in items)
    end_value = Decimal(0)
    valuations: list[Flow] = []  # start values (money in) and early ends (money out), on their own dates
    for h in items:
        if h.start_value is not None:
            if h.start_date is None:
                raise ValueError("start_value needs start_date")
            valuations.append(Flow(h.start_date, -h.start_value))
        if h.end_date == end_date:
            end_value += h.end_value
        else:
            valuations.append(Flow(h.end_date, h.end_value))
    valuations.sort(key=lambda f: f.date)
    moves = [list(h.flows) for h in items]  # each holding's flows read once (they may come as an iterator)
    if len(items) == 1:  # one holding's flows, already one per date in date order (SQL)
        flows = [Flow(d, a) for d, a in moves[0]]
        if all(x.date < y.date for x, y in pairwise(flows)):
            return Pooled(flows, end_date, end_value, valuations)
    return Pooled(_netted(f for flows_of_one in moves for f in flows_of_one), end_date, end_value, valuations)


def of_pool(pool: Pooled, method: str) -> IrrResult:
    """The IRR of pooled holdings by `method` (KINGSTON or XIRR), each holding over its own period.

    XIRR sees the cash flows and valuations together, netted per date. The Kingston method counts the cash flows
    in their own months and the valuations (start values, early ends, the end value) in valuation_month."""
    if method == XIRR:
        return xirr(_netted([*pool.flows, *pool.valuations]), pool.end_date, pool.end_value)
    bad = _refused([pool.end_value], [f.amount for f in (*pool.flows, *pool.valuations)])  # as xirr() checks
    if bad:
        return _none(KINGSTON, bad)
    moves = [(_month_number(f.date), f.amount) for f in pool.flows]
    moves += [(valuation_month(f.date), f.amount) for f in pool.valuations]
    dated = sorted([*pool.flows, *pool.valuations], key=lambda f: f.date)
    return _kingston(moves, pool.end_date, pool.end_value, dated)


def _netted(flows: Iterable[tuple[dt.date, Decimal]]) -> list[Flow]:
    by_date: dict[dt.date, Decimal] = {}
    get = by_date.get
    for d, a in flows:
        by_date[d] = get(d, 0) + a
    return [Flow(d, a) for d, a in sorted(by_date.items())]


# --- helpers ---

def _window(flows: Iterable[Flow], end_date: dt.date, end_value: Decimal, start_date: dt.date | None,
            start_value: Decimal | None) -> tuple[list[Flow], str | None]:
    """The period's flows in date order, or a reason the inputs cannot be used."""
    if start_value is not None and start_date is None:
        raise ValueError("start_value needs start_date")
    if start_date is not None and end_date < start_date:
        raise ValueError("end_date is before start_date")
    if start_value is None:
        window = [f for f in flows if (start_date is None or f.date >= start_date) and f.date <= end_date]
    else:
        window = [f for f in flows if start_date < f.date <= end_date]  # type: ignore[operator]
    values = [end_value] + ([start_value] if start_value is not None else [])
    bad = _refused(values, [f.amount for f in window])
    if bad:
        return window, bad
    window.sort(key=lambda f: f.date)
    return window, None


def _refused(values: list[Decimal], amounts: list[Decimal]) -> str | None:
    """Why valuations (`values`: money in or out, taken by their size) and cash flows cannot be used, if so."""
    if not all(Decimal(x).is_finite() for x in values + amounts):
        return NOT_FINITE_INPUT
    if any(x < 0 for x in values):
        return NEGATIVE_VALUATION
    return None


def _xirr_bracketed(dates: Sequence[dt.date], amounts: Sequence[float], guess: float | None = None) -> float | None:
    """The XIRR equation solved on g = ln(1 + r) inside a sign-change bracket; None when no sign change is found.

    NPV(g) = sum(cf_i * exp(-t_i * g)) with t_i = days / 365. It is evaluated divided by its largest discount
    factor: the sign (all a root search needs) is kept and nothing overflows, whether r is -100% + 1e-300 or the
    flows are 60 years apart; Newton's step NPV / NPV' is the same ratio either way.

    With one sign change in the flows netted per date there is exactly one rate (Descartes' rule of signs holds for
    real exponents too): a bracket is grown around `guess` (a nearby rate, e.g. the previous date's) or 0. With
    several, the grid is scanned in one array operation and, of several rates, the one nearest zero is taken
    (numpy-financial's choice too). `_polished` then finds the root in the bracket (safeguarded Newton).
    """
    import numpy as np

    first = dates[0].toordinal()
    years = np.array([d.toordinal() - first for d in dates], dtype=float) / 365
    cash = np.array(amounts, dtype=float)

    def npv(g: float) -> float:
        return _scaled_npv_and_slope(years, cash, g)[0]

    changes = _xirr_sign_changes(dates, amounts)
    if changes == 0:  # all money in, all money out, or netting to nothing: no rate
        return None
    if changes == 1:
        g0 = math.log1p(guess) if guess is not None and -1 < guess < 1e300 else 0.0
        width = 1e-3
        while True:
            lo, hi = g0 - width, g0 + width
            a, b = npv(lo), npv(hi)
            if a == 0 or b == 0 or (a > 0) != (b > 0):  # signs, not a product: tiny values underflow to 0
                break
            if width > 2e4:
                return None
            width *= 4
    else:
        # ln(1 + r) from -10^4 to 10^4: dense near 0 where real rates live, sparse at the extremes.
        steps = np.geomspace(1e-3, 1e4, 140)
        grid = np.concatenate([-steps[::-1], [0.0], steps])
        exponents = -np.outer(grid, years)
        values = (np.exp(exponents - exponents.max(axis=1, keepdims=True)) * cash).sum(axis=1)
        grid_signs = np.sign(values)
        at = np.flatnonzero(grid_signs[:-1] * grid_signs[1:] <= 0)
        if at.size == 0:
            return None
        k = int(min(at, key=lambda i: abs(_rate_of_log(float(grid[i] + grid[i + 1]) / 2))))
        lo, hi = float(grid[k]), float(grid[k + 1])
    return _polished(years, cash, lo, hi)


def _xirr_sign_changes(dates: Sequence[dt.date], amounts: Sequence[float]) -> int:
    """Sign changes of the flows netted per date, in date order. Exactly one: the XIRR equation has exactly one
    root (Descartes' rule of signs holds for real exponents too), whichever solver finds it; none: no root."""
    net: dict[dt.date, float] = {}
    for d, a in zip(dates, amounts, strict=False):
        net[d] = net.get(d, 0.0) + a
    return _sign_changes(v for _, v in sorted(net.items()))


def _scaled_npv_and_slope(years: Any, amounts: Any, g: float) -> tuple[float, float]:
    """NPV(g) = sum(cf_i * exp(-t_i * g)) and its derivative, both divided by the largest discount factor (the
    sign and Newton's ratio are kept; nothing overflows)."""
    import numpy as np

    e = -years * g
    weights = amounts * np.exp(e - e.max())
    return float(weights.sum()), float(-(weights * years).sum())


def _polished(years: Any, amounts: Any, lo: float, hi: float) -> float:
    """The root of the scaled NPV in the sign-change bracket [lo, hi], as a rate: Newton's method safeguarded by
    bisection (Numerical Recipes' rtsafe): a bisection whenever Newton's step would leave the bracket or would not
    shrink the error at least half as fast as bisection, so it can neither escape nor creep."""
    f_lo, _ = _scaled_npv_and_slope(years, amounts, lo)
    if f_lo == 0:
        return _rate_of_log(lo)
    rising = f_lo < 0  # the NPV goes from below 0 at lo to above 0 at hi
    g = (lo + hi) / 2
    step = step_before = hi - lo
    f, df = _scaled_npv_and_slope(years, amounts, g)
    while True:
        if f == 0:
            return _rate_of_log(g)
        if (f < 0) == rising:
            lo = g
        else:
            hi = g
        newton = g - f / df if df != 0 else math.nan
        if not lo < newton < hi or abs(2 * f) > abs(step_before * df):
            step_before, step = step, (hi - lo) / 2
            candidate = lo + step
            if not lo < candidate < hi:
                return _rate_of_log(candidate)
        else:
            step_before, step = step, g - newton
            candidate = newton
        if candidate == g or abs(step) <= 4e-16 * max(1.0, abs(g)):
            return _rate_of_log(candidate)
        g = candidate
        f, df = _scaled_npv_and_slope(years, amounts, g)


def _rate_of_log(g: float) -> float:
    return math.expm1(g) if g < 700 else math.inf  # exp(709.8) is the largest double


def _simple_return(used: list[Flow]) -> IrrResult:
    """(money out + end value) / (money in + start value) - 1 over `used` (the valuations included, as flows)."""
    money_in = sum((-f.amount for f in used if f.amount < 0), Decimal(0))
    money_out = sum((f.amount for f in used if f.amount > 0), Decimal(0))
    if money_in < PENNY:
        return _none(KINGSTON, NO_MONEY_IN + _UNDER_PENNY, used)
    if money_out < PENNY:
        return _none(KINGSTON, NO_MONEY_OUT + _UNDER_PENNY, used)
    return _figure(KINGSTON, money_out / money_in - 1, "simple_return", used)


def _figure(method: str, rate: Decimal, basis: str, used: list[Flow], monthly: Decimal | None = None) -> IrrResult:
    if abs(rate) >= MAX_ABS_RATE:
        return _none(method, OUT_OF_RANGE, used)
    return IrrResult(rate.quantize(_PLACES, rounding=ROUND_HALF_EVEN), method, None, monthly, used, basis)


def _none(method: str, reason: str, used: list[Flow] | None = None) -> IrrResult:
    return IrrResult(None, method, reason, None, used or [], None)


def _month_number(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def _month_start(number: int) -> dt.date:
    return dt.date(number // 12, number % 12 + 1, 1)
