"""The Monte Carlo engine of financial plans, pure: `SimulationInputs` in, `SimulationOutputs` out (numpy only; no
database, no I/O). docs/domain.md ("Financial plans: the simulation") states the same model in words.

Units. Money is a Decimal in the firm's currency. Rates (returns, volatilities, inflation, growth, a market fall,
the confidence level) are decimal fractions: 0.05 is 5%. Allocations are percentages that add up to exactly 100.
Counts are ints, dates `datetime.date`. Floats are used only inside the arithmetic; every figure leaves as a
Decimal with fixed decimals (money to the penny, probabilities to six places).

Time. The plan starts on `start_date` and lasts `horizon_years` plan years. Steps are months (12 a year) or years
(1 a year); step i starts on t_i = start_date + i months (or i years), the day clamped to the month's end (31
January + 1 month is 28 or 29 February), always counted from the start date. Plan year k (k = 0 .. horizon-1) is
the steps i with i // steps_per_year == k.

Prices. The price index is 1 at the start and moves once a year: P_0 = 1, P_{k+1} = P_k x (1 + inflation_k), with
inflation_k the plan's inflation (a high-inflation stress replaces it for its first years). Amounts "in today's
money" are paid in plan year k as amount x P_k; a flow that grows at a fixed rate g pays amount x (1 + g)^k.

Each step, in this order:
1. Payments, at the step's start: each regular flow whose [start, end) holds t_i pays amount / steps_per_year,
   indexed as above (positive: a contribution; negative: a withdrawal; a flow marked `ends_at_retirement` ends on
   the retirement date whatever its end); each lump sum is paid (nominal, as given) in the step its date falls in;
   from the retirement date (the start, when none is given) the income need is withdrawn, need / steps_per_year x
   P_k (the need is a real annual amount in today's money).
2. Run out: a path whose wealth after the payments is below zero has run out of money in that plan year (k + 1).
   Running out is final: its wealth is 0 from then on, whatever is paid in later, and the path has failed. A path
   succeeds when it never runs out: the money lasts to the horizon and the need is met in full every year.
3. Growth: wealth x R, the portfolio's gross return over the step, rebalanced at each step to the weights of its
   plan year: R = sum_j w_j exp(r_j), w_j the glide path's weights for the year (year k takes the k-th vector, the
   last vector holding for later years; one vector is a single model).

Draws. The random numbers come from numpy.random.Generator(PCG64(seed)), one standard normal array of shape
(classes, paths) per step (and, for Student-t, then one chi-square array of shape (paths,) with df degrees of
freedom), nothing else, in step order. They are correlated by L, a lower-triangular factor of the correlation
matrix C (L L' = C) computed here in plain floating point (a Cholesky factorisation that accepts a semi-definite
C: a pivot that is zero to 1e-12 gives a zero column, allowed only when the rest of that column is zero too;
a negative pivot is not positive semi-definite): X = L Z, summed class by class in a fixed order (no BLAS, so the
order of the sums never depends on the machine's library). Student-t: X is multiplied by sqrt((df - 2) / chi2),
so each X_j is a Student-t variable with df degrees of freedom and variance 1 (one chi-square per path and step:
a multivariate t, with the same correlation C).

Returns. An asset class with expected annual (arithmetic) return m and volatility s has lognormal annual gross
returns with the same mean and variance: sigma_ln^2 = ln(1 + s^2 / (1 + m)^2), mu_ln = ln(1 + m) - sigma_ln^2 / 2.
Over a step of dt years (1/12 or 1) its log return is r_j = mu_ln dt + sigma_ln sqrt(dt) X_j, so that a year of
steps compounds to exactly that annual distribution under the lognormal model. The correlation matrix is the
correlation of these log returns. Under Student-t the log returns keep the same mean and variance with fatter
tails (the gross return's mean is then above 1 + m: in theory it is infinite, exp of a t variable).

Outputs per scenario: the probability of success (paths that never ran out / paths), the percentiles 5, 10, 25,
50, 75, 90 and 95 of wealth at the start (year 0) and at the end of each plan year, nominal and real (nominal /
P_k; numpy's linear interpolation between order statistics; a run-out path counts as 0), how many paths ran out
in each plan year and how many never did, and the sustainable withdrawal.

Sustainable withdrawal: the largest real annual income w from the retirement date (in place of the need) with
success >= confidence, on the same draws (common random numbers). Each step's payments are affine in w, so until
a path runs out its wealth is A_t - w B_t (A: the wealth with w = 0; B: the wealth the income takes away per unit
of w), and the path survives w exactly when w <= min over t of A'_t / B'_t (after each step's payments; a step
with B'_t = 0 needs A'_t >= 0). That gives each path its largest w_p in the same pass; success(w) is the share of
paths with w_p >= w, so the answer is the ceil(confidence x paths)-th largest w_p, rounded down to the penny: the
same figure as a bisection over re-runs with the same draws, without the re-runs. None when even w = 0 fails at
that confidence, or when no income falls within the horizon (the retirement date at or after its end).

Stress scenarios run on the same draws as the base: a market fall of X in year 1 (every step of plan year 0 has
its gross return multiplied by (1 - X)^(1 / steps_per_year), so year 1's growth is (1 - X) times what the draws
gave: the fall lands on the money invested during the year), high inflation of Y for N years (inflation_k = Y for
k < N: inflation-linked flows, the need and the deflator follow; fixed-rate flows and nominal returns do not), and
retirement N years early (5 by default; the need, and flows ending at retirement, move with it; not before the
start). A what-if is the base with some inputs changed (any field but the scenarios themselves), run on its own
draws from the same seed.

Reproducible: the same inputs and seed give the same output bytes with the same ALGORITHM_VERSION and numpy
version (recorded in the output: numpy may change its streams between versions) on the same platform. All the
arithmetic outside numpy's generator, exp and percentile is elementwise IEEE multiplication and addition in a fixed
order or Python's correctly rounded float formatting. numpy's `exp` (which may use the CPU's vector instructions)
and the few `math.log` and `**` calls on scalars are the one part a different CPU or C library could
round differently in the last bit; a figure could then differ by a penny, or a path on the edge of running out flip.

Memory: per step O(paths x classes) for the draws plus O(paths) per scenario; nothing is kept by step or by year
except the percentiles and counts (O(years)). numpy is imported inside the functions (nothing heavy at import).
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

ALGORITHM_VERSION = "wealthdesk-mc-1"
PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
MIN_ITERATIONS, MAX_ITERATIONS = 1_000, 100_000
MAX_HORIZON_YEARS = 100
STEPS_PER_YEAR = {"monthly": 12, "yearly": 1}
RETURN_MODELS = ("lognormal", "student_t")
STRESS_KINDS = ("market_fall", "high_inflation", "early_retirement")
PENNY = Decimal("0.01")
PROBABILITY = Decimal("0.000001")
HUNDRED = Decimal(100)
PIVOT_TOLERANCE = 1e-12
PSD_TOLERANCE = 1e-9


class InputError(ValueError):
    """Inputs the engine cannot simulate: `field` names the input (dotted, with indexes), the message says why."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class AssetClass:
    name: str
    expected_return: Decimal  # annual arithmetic mean, a fraction
    volatility: Decimal  # annual standard deviation of the gross return, a fraction


@dataclass(frozen=True)
class Flow:
    """A regular payment: `amount` a year in today's money (positive in, negative out), paid on the steps that
    start in [start, end) (end None: to the horizon), growing with inflation or at `growth_rate` a year."""
    amount: Decimal
    start: date
    end: date | None = None
    growth: str = "inflation"  # "inflation" or "fixed"
    growth_rate: Decimal = Decimal(0)  # for "fixed"
    ends_at_retirement: bool = False  # the end is the retirement date (and moves with it under a stress)
    name: str = ""


@dataclass(frozen=True)
class LumpSum:
    on: date
    amount: Decimal  # nominal, positive in, negative out
    name: str = ""


@dataclass(frozen=True)
class Stress:
    """kind "market_fall" (size: the fall, 0 < size < 1), "high_inflation" (rate for `years` years) or
    "early_retirement" (`years` earlier, default 5)."""
    kind: str
    name: str = ""
    size: Decimal | None = None
    rate: Decimal | None = None
    years: int | None = None


@dataclass(frozen=True)
class WhatIf:
    """The base inputs with `changes` (field name, new value) applied; never the scenarios themselves."""
    name: str
    changes: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class SimulationInputs:
    start_date: date
    horizon_years: int  # 1 .. 100
    steps: str  # "monthly" or "yearly"
    iterations: int  # 1,000 .. 100,000 paths
    seed: int  # 0 .. 2**63 - 1
    return_model: str  # "lognormal" or "student_t"
    asset_classes: tuple[AssetClass, ...]
    correlation: tuple[tuple[Decimal, ...], ...]  # of the log returns; symmetric, unit diagonal, PSD
    inflation: Decimal  # annual
    glide_path: tuple[tuple[Decimal, ...], ...]  # weights (percent, summing to 100) by plan year; last one holds
    starting_wealth: Decimal
    degrees_of_freedom: Decimal | None = None  # Student-t only, > 2
    flows: tuple[Flow, ...] = ()
    lump_sums: tuple[LumpSum, ...] = ()
    income_need: Decimal | None = None  # real annual income in today's money, from the retirement date
    retirement_date: date | None = None
    confidence: Decimal = Decimal("0.85")  # for the sustainable withdrawal, 0 < c < 1
    stresses: tuple[Stress, ...] = ()
    what_ifs: tuple[WhatIf, ...] = ()


# ---------------------------------------------------------------------------------------------------------------
# Outputs


@dataclass(frozen=True)
class WealthYear:
    year: int  # plan year: 0 is the start, k the end of plan year k
    on: date  # start_date + k years
    nominal: tuple[Decimal, ...]  # at PERCENTILES
    real: tuple[Decimal, ...]  # in today's money


@dataclass(frozen=True)
class ScenarioOutputs:
    name: str
    kind: str  # "base", a stress kind, or "what_if"
    paths: int
    success_paths: int
    probability_of_success: Decimal
    wealth: tuple[WealthYear, ...]
    run_out_by_year: tuple[int, ...]  # paths that ran out in plan year 1, 2, ... horizon
    never_run_out: int
    sustainable_withdrawal: Decimal | None


@dataclass(frozen=True)
class SimulationOutputs:
    algorithm_version: str
    numpy_version: str
    seed: int
    iterations: int
    steps: str
    confidence: Decimal
    base: ScenarioOutputs
    stresses: tuple[ScenarioOutputs, ...] = ()
    what_ifs: tuple[ScenarioOutputs, ...] = ()
    percentiles: tuple[int, ...] = PERCENTILES

    def to_json(self) -> bytes:
        """Byte-stable JSON: keys in a fixed order, figures as strings with fixed decimals, no spaces."""
        doc = {"algorithm_version": self.algorithm_version, "numpy_version": self.numpy_version,
               "seed": self.seed, "iterations": self.iterations, "steps": self.steps,
               "confidence": str(self.confidence), "percentiles": list(self.percentiles),
               "base": _scenario_json(self.base), "stresses": [_scenario_json(s) for s in self.stresses],
               "what_ifs": [_scenario_json(s) for s in self.what_ifs]}
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode("ascii")

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any]) -> SimulationOutputs:
        doc = json.loads(data) if isinstance(data, (bytes, str)) else data
        return cls(algorithm_version=doc["algorithm_version"], numpy_version=doc["numpy_version"],
                   seed=int(doc["seed"]), iterations=int(doc["iterations"]), steps=doc["steps"],
                   confidence=Decimal(doc["confidence"]), percentiles=tuple(int(p) for p in doc["percentiles"]),
                   base=_scenario_from(doc["base"]), stresses=tuple(_scenario_from(s) for s in doc["stresses"]),
                   what_ifs=tuple(_scenario_from(s) for s in doc["what_ifs"]))


def _scenario_json(s: ScenarioOutputs) -> dict[str, Any]:
    return {"name": s.name, "kind": s.kind, "paths": s.paths, "success_paths": s.success_paths,
            "probability_of_success": str(s.probability_of_success),
            "sustainable_withdrawal": None if s.sustainable_withdrawal is None else str(s.sustainable_withdrawal),
            "run_out": {"by_year": list(s.run_out_by_year), "never": s.never_run_out},
            "wealth": [{"year": y.year, "date": y.on.isoformat(), "nominal": [str(v) for v in y.nominal],
                        "real": [str(v) for v in y.real]} for y in s.wealth]}


def _scenario_from(d: Mapping[str, Any]) -> ScenarioOutputs:
    sw = d["sustainable_withdrawal"]
    return ScenarioOutputs(
        name=d["name"], kind=d["kind"], paths=int(d["paths"]), success_paths=int(d["success_paths"]),
        probability_of_success=Decimal(d["probability_of_success"]),
        sustainable_withdrawal=None if sw is None else Decimal(sw),
        run_out_by_year=tuple(int(x) for x in d["run_out"]["by_year"]), never_run_out=int(d["run_out"]["never"]),
        wealth=tuple(WealthYear(year=int(y["year"]), on=date.fromisoformat(y["date"]),
                                nominal=tuple(Decimal(v) for v in y["nominal"]),
                                real=tuple(Decimal(v) for v in y["real"])) for y in d["wealth"]))


# ---------------------------------------------------------------------------------------------------------------
# Inputs from and to the plan's stored JSON (field names as above; money and rates as decimal strings, dates ISO)


def _dec(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InputError(name, "must be a decimal string")
    try:
        d = Decimal(value)
    except ArithmeticError as exc:
        raise InputError(name, "must be a decimal string") from exc
    if not d.is_finite():
        raise InputError(name, "must be a finite number")
    return d


def _opt_dec(value: Any, name: str) -> Decimal | None:
    return None if value is None else _dec(value, name)


def _day(value: Any, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise InputError(name, "must be a YYYY-MM-DD date") from exc


def _opt_day(value: Any, name: str) -> date | None:
    return None if value is None else _day(value, name)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(name, "must be an integer")
    return value


def _opt_int(value: Any, name: str) -> int | None:
    return None if value is None else _int(value, name)


def _only(d: Mapping[str, Any], cls: type, name: str) -> None:
    if not isinstance(d, Mapping):
        raise InputError(name, "must be an object")
    unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise InputError(name, f"unknown field(s) {', '.join(sorted(unknown))}")


def _matrix(value: Any, name: str) -> tuple[tuple[Decimal, ...], ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InputError(name, "must be a list of lists")
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, Sequence) or isinstance(row, str):
            raise InputError(f"{name}[{i}]", "must be a list")
        rows.append(tuple(_dec(x, f"{name}[{i}][{j}]") for j, x in enumerate(row)))
    return tuple(rows)


def _asset(d: Any, name: str) -> AssetClass:
    _only(d, AssetClass, name)
    return AssetClass(name=str(d.get("name", "")), expected_return=_dec(d.get("expected_return"),
                      f"{name}.expected_return"), volatility=_dec(d.get("volatility"), f"{name}.volatility"))


def _flow(d: Any, name: str) -> Flow:
    _only(d, Flow, name)
    return Flow(amount=_dec(d.get("amount"), f"{name}.amount"), start=_day(d.get("start"), f"{name}.start"),
                end=_opt_day(d.get("end"), f"{name}.end"), growth=d.get("growth", "inflation"),
                growth_rate=_dec(d.get("growth_rate", "0"), f"{name}.growth_rate"),
                ends_at_retirement=bool(d.get("ends_at_retirement", False)), name=str(d.get("name", "")))


def _lump(d: Any, name: str) -> LumpSum:
    _only(d, LumpSum, name)
    return LumpSum(on=_day(d.get("on"), f"{name}.on"), amount=_dec(d.get("amount"), f"{name}.amount"),
                   name=str(d.get("name", "")))


def _stress(d: Any, name: str) -> Stress:
    _only(d, Stress, name)
    return Stress(kind=d.get("kind"), name=str(d.get("name", "")), size=_opt_dec(d.get("size"), f"{name}.size"),
                  rate=_opt_dec(d.get("rate"), f"{name}.rate"), years=_opt_int(d.get("years"), f"{name}.years"))


def _listed(value: Any, parse: Any, name: str) -> tuple[Any, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InputError(name, "must be a list")
    return tuple(parse(x, f"{name}[{i}]") for i, x in enumerate(value))


_PARSERS: dict[str, Any] = {
    "start_date": _day, "horizon_years": _int, "steps": lambda v, n: v, "iterations": _int, "seed": _int,
    "return_model": lambda v, n: v, "degrees_of_freedom": _opt_dec,
    "asset_classes": lambda v, n: _listed(v, _asset, n), "correlation": _matrix, "inflation": _dec,
    "glide_path": _matrix, "starting_wealth": _dec, "flows": lambda v, n: _listed(v, _flow, n),
    "lump_sums": lambda v, n: _listed(v, _lump, n), "income_need": _opt_dec, "retirement_date": _opt_day,
    "confidence": _dec, "stresses": lambda v, n: _listed(v, _stress, n),
}


def _what_if(d: Any, name: str) -> WhatIf:
    _only(d, WhatIf, name)
    changes = d.get("changes") or {}
    if not isinstance(changes, Mapping):
        raise InputError(f"{name}.changes", "must be an object")
    out = []
    for key in sorted(changes):  # sorted: the same changes in any order are the same what-if
        if key not in _PARSERS or key == "stresses":
            raise InputError(f"{name}.changes.{key}", "is not an input a what-if may change")
        out.append((key, _PARSERS[key](changes[key], f"{name}.changes.{key}")))
    return WhatIf(name=str(d.get("name", "")), changes=tuple(out))


def inputs_from_json(doc: Mapping[str, Any]) -> SimulationInputs:
    """The plan's stored inputs (a JSON object with SimulationInputs' field names) as SimulationInputs, validated."""
    _only(doc, SimulationInputs, "inputs")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(SimulationInputs):
        if f.name in doc:
            kwargs[f.name] = (_listed(doc[f.name], _what_if, f.name) if f.name == "what_ifs"
                              else _PARSERS[f.name](doc[f.name], f.name))
        elif f.default is dataclasses.MISSING:
            raise InputError(f.name, "is required")
    inputs = SimulationInputs(**kwargs)
    validate(inputs)
    return inputs


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value):
        if isinstance(value, WhatIf):
            return {"name": value.name, "changes": {k: _plain(v) for k, v in value.changes}}
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def inputs_to_json(inputs: SimulationInputs) -> dict[str, Any]:
    """The inverse of inputs_from_json: a JSON-ready dict (decimals and dates as strings)."""
    return _plain(inputs)


# ---------------------------------------------------------------------------------------------------------------
# Validation


def validate(inputs: SimulationInputs) -> None:
    """Raises InputError naming the first input the engine cannot simulate."""
    x = inputs
    if not isinstance(x.start_date, date):
        raise InputError("start_date", "must be a date")
    if not 1 <= x.horizon_years <= MAX_HORIZON_YEARS:
        raise InputError("horizon_years", f"must be from 1 to {MAX_HORIZON_YEARS}")
    if x.steps not in STEPS_PER_YEAR:
        raise InputError("steps", "must be monthly or yearly")
    if not MIN_ITERATIONS <= x.iterations <= MAX_ITERATIONS:
        raise InputError("iterations", f"must be from {MIN_ITERATIONS:,} to {MAX_ITERATIONS:,}")
    if not 0 <= x.seed < 2 ** 63:
        raise InputError("seed", "must be from 0 to 2^63 - 1")
    if x.return_model not in RETURN_MODELS:
        raise InputError("return_model", "must be lognormal or student_t")
    if x.return_model == "student_t" and (x.degrees_of_freedom is None or not x.degrees_of_freedom > 2):
        raise InputError("degrees_of_freedom", "Student-t needs degrees of freedom above 2")
    k = len(x.asset_classes)
    if k == 0:
        raise InputError("asset_classes", "at least one asset class is needed")
    for j, a in enumerate(x.asset_classes):
        if not a.expected_return > -1:
            raise InputError(f"asset_classes[{j}].expected_return", "must be above -1")
        if a.volatility < 0:
            raise InputError(f"asset_classes[{j}].volatility", "must not be negative")
    cholesky(x.correlation, k)  # shape, symmetry, unit diagonal, positive semi-definite
    if not x.inflation > -1:
        raise InputError("inflation", "must be above -1")
    if not x.glide_path:
        raise InputError("glide_path", "at least one allocation is needed")
    for y, weights in enumerate(x.glide_path):
        if len(weights) != k:
            raise InputError(f"glide_path[{y}]", f"must have {k} weights, one per asset class")
        if any(w < 0 for w in weights):
            raise InputError(f"glide_path[{y}]", "weights must not be negative")
        if sum(weights, Decimal(0)) != HUNDRED:
            raise InputError(f"glide_path[{y}]", "weights must add up to exactly 100")
    if x.starting_wealth < 0:
        raise InputError("starting_wealth", "must not be negative")
    for i, f in enumerate(x.flows):
        if f.growth not in ("inflation", "fixed"):
            raise InputError(f"flows[{i}].growth", "must be inflation or fixed")
        if not f.growth_rate > -1:
            raise InputError(f"flows[{i}].growth_rate", "must be above -1")
        if f.end is not None and f.end < f.start:
            raise InputError(f"flows[{i}].end", "must not be before the start")
        if f.ends_at_retirement and x.retirement_date is None:
            raise InputError(f"flows[{i}].ends_at_retirement", "needs a retirement date")
    end = _plus_months(x.start_date, 12 * x.horizon_years)
    for i, s in enumerate(x.lump_sums):
        if not x.start_date <= s.on < end:
            raise InputError(f"lump_sums[{i}].on", "must fall within the plan (from its start to its horizon)")
    if x.income_need is not None and x.income_need < 0:
        raise InputError("income_need", "must not be negative")
    if not 0 < x.confidence < 1:
        raise InputError("confidence", "must be between 0 and 1")
    for i, s in enumerate(x.stresses):
        _validate_stress(s, f"stresses[{i}]", x)
    for i, w in enumerate(x.what_ifs):
        for key, _value in w.changes:
            if key in ("stresses", "what_ifs") or key not in {f.name for f in dataclasses.fields(SimulationInputs)}:
                raise InputError(f"what_ifs[{i}].changes.{key}", "is not an input a what-if may change")
        try:
            validate(_what_if_inputs(x, w))
        except InputError as exc:
            raise InputError(f"what_ifs[{i}].changes.{exc.field}", exc.message) from exc


def _validate_stress(s: Stress, name: str, x: SimulationInputs) -> None:
    if s.kind == "market_fall":
        if s.size is None or not 0 < s.size < 1:
            raise InputError(f"{name}.size", "a market fall needs a size between 0 and 1")
    elif s.kind == "high_inflation":
        if s.rate is None or not s.rate > -1:
            raise InputError(f"{name}.rate", "high inflation needs a rate above -1")
        if s.years is None or s.years < 1:
            raise InputError(f"{name}.years", "high inflation needs a number of years, 1 or more")
    elif s.kind == "early_retirement":
        if x.retirement_date is None:
            raise InputError(f"{name}.kind", "retiring early needs a retirement date")
        if s.years is not None and s.years < 1:
            raise InputError(f"{name}.years", "must be 1 or more")
    else:
        raise InputError(f"{name}.kind", f"must be one of {', '.join(STRESS_KINDS)}")


def cholesky(correlation: Sequence[Sequence[Decimal | float]], size: int | None = None) -> list[list[float]]:
    """L with L L' = C, lower triangular, in plain floats (the same bits on every machine). A semi-definite C is
    accepted: a pivot within 1e-12 of zero gives a zero column when the rest of the column is zero (to 1e-9);
    otherwise C is not positive semi-definite (InputError)."""
    n = len(correlation) if size is None else size
    if len(correlation) != n or any(len(row) != n for row in correlation):
        raise InputError("correlation", f"must be a {n} x {n} matrix, one row and column per asset class")
    c = [[float(v) for v in row] for row in correlation]
    for i in range(n):
        if c[i][i] != 1.0:
            raise InputError(f"correlation[{i}][{i}]", "the diagonal must be 1")
        for j in range(i):
            if Decimal(correlation[i][j]) != Decimal(correlation[j][i]):
                raise InputError(f"correlation[{i}][{j}]", "the matrix must be symmetric")
            if not -1 <= c[i][j] <= 1:
                raise InputError(f"correlation[{i}][{j}]", "must be from -1 to 1")
    lower = [[0.0] * n for _ in range(n)]
    for j in range(n):
        pivot = c[j][j]
        for m in range(j):
            pivot -= lower[j][m] * lower[j][m]
        if pivot < -PSD_TOLERANCE:
            raise InputError("correlation", f"not positive semi-definite (pivot {pivot:.3g} at class {j})")
        zero = pivot <= PIVOT_TOLERANCE
        lower[j][j] = 0.0 if zero else math.sqrt(pivot)
        for i in range(j + 1, n):
            rest = c[i][j]
            for m in range(j):
                rest -= lower[i][m] * lower[j][m]
            if zero:
                if abs(rest) > PSD_TOLERANCE:
                    raise InputError("correlation", f"not positive semi-definite (classes {j} and {i})")
            else:
                lower[i][j] = rest / lower[j][j]
    return lower


# ---------------------------------------------------------------------------------------------------------------
# Schedules: what each step pays, per scenario (plain floats)


def _plus_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    days = (date(year + (month == 12), month % 12 + 1, 1) - date(year, month, 1)).days
    return date(year, month, min(d.day, days))


@dataclass
class _Schedule:
    flows: list[float]  # net nominal payment at each step (flows and lump sums), without the need
    need_per_unit: list[float]  # nominal payment per unit of real annual income at each step
    need: float  # the real annual need (0 when none)
    return_factor: list[float]  # multiplies the portfolio's gross return at each step
    prices: list[float]  # P_0 .. P_horizon
    weights: tuple[tuple[Decimal, ...], ...]


def _prices(x: SimulationInputs, stress: Stress | None) -> list[float]:
    prices = [1.0]
    for k in range(x.horizon_years):
        rate = float(x.inflation)
        if stress is not None and stress.kind == "high_inflation" and k < (stress.years or 0):
            rate = float(stress.rate or 0)
        prices.append(prices[-1] * (1.0 + rate))
    return prices


def _schedule(x: SimulationInputs, stress: Stress | None = None) -> _Schedule:
    spy = STEPS_PER_YEAR[x.steps]
    n = x.horizon_years * spy
    starts = [_plus_months(x.start_date, i * 12 // spy) for i in range(n + 1)]
    prices = _prices(x, stress)
    retirement = x.retirement_date
    if stress is not None and stress.kind == "early_retirement" and retirement is not None:
        retirement = max(x.start_date, _plus_months(retirement, -12 * (stress.years or 5)))
    flows = [0.0] * n
    for f in x.flows:
        end = retirement if f.ends_at_retirement else f.end
        per_step = float(f.amount) / spy
        fixed = 1.0 + float(f.growth_rate)
        index = 1.0
        for k in range(x.horizon_years):
            grown = prices[k] if f.growth == "inflation" else index
            for i in range(k * spy, (k + 1) * spy):
                if f.start <= starts[i] and (end is None or starts[i] < end):
                    flows[i] += per_step * grown
            index *= fixed
    for s in x.lump_sums:
        i = max(i for i in range(n) if starts[i] <= s.on)
        flows[i] += float(s.amount)
    need_per_unit = [0.0] * n
    for i in range(n):
        if retirement is None or starts[i] >= retirement:
            need_per_unit[i] = prices[i // spy] / spy
    factor = [1.0] * n
    if stress is not None and stress.kind == "market_fall":
        shrink = (1.0 - float(stress.size or 0)) ** (1.0 / spy)
        factor[:spy] = [shrink] * spy
    return _Schedule(flows=flows, need_per_unit=need_per_unit, need=float(x.income_need or 0),
                     return_factor=factor, prices=prices, weights=x.glide_path)


# ---------------------------------------------------------------------------------------------------------------
# Draws


def lognormal_parameters(expected_return: float, volatility: float) -> tuple[float, float]:
    """(mu_ln, sigma_ln) of the annual log return whose gross return has mean 1 + m and standard deviation s."""
    var = math.log1p(volatility * volatility / ((1.0 + expected_return) ** 2))
    return math.log1p(expected_return) - var / 2.0, math.sqrt(var)


def iter_log_returns(inputs: SimulationInputs) -> Iterator[Any]:
    """Per step, the (classes, paths) array of log returns r_j; the same array object is reused (copy to keep)."""
    import numpy as np

    spy = STEPS_PER_YEAR[inputs.steps]
    dt = 1.0 / spy
    k, paths = len(inputs.asset_classes), inputs.iterations
    lower = cholesky(inputs.correlation, k)
    params = [lognormal_parameters(float(a.expected_return), float(a.volatility)) for a in inputs.asset_classes]
    mu = np.array([m * dt for m, _s in params]).reshape(k, 1)
    sigma = np.array([s * math.sqrt(dt) for _m, s in params]).reshape(k, 1)
    student = inputs.return_model == "student_t"
    df = float(inputs.degrees_of_freedom or 0)
    rng = np.random.Generator(np.random.PCG64(inputs.seed))
    z = np.empty((k, paths))
    tmp = np.empty(paths)
    for _step in range(inputs.horizon_years * spy):
        rng.standard_normal(out=z)
        for j in range(k - 1, -1, -1):  # X = L Z in place: row j needs rows <= j, so go from the last row up
            np.multiply(z[j], lower[j][j], out=z[j])
            for m in range(j):
                if lower[j][m] != 0.0:
                    np.multiply(z[m], lower[j][m], out=tmp)
                    np.add(z[j], tmp, out=z[j])
        if student:
            chi2 = rng.chisquare(df, paths)
            np.divide(df - 2.0, chi2, out=chi2)
            np.sqrt(chi2, out=chi2)
            np.multiply(z, chi2, out=z)
        np.multiply(z, sigma, out=z)
        np.add(z, mu, out=z)
        yield z


# ---------------------------------------------------------------------------------------------------------------
# The simulation


class _Path:
    """One scenario's state over all paths: wealth W (with the need), A and B (the affine parts in the income w),
    each path's largest sustainable income, and what has been counted so far."""

    def __init__(self, np: Any, x: SimulationInputs, sched: _Schedule, name: str, kind: str) -> None:
        n = x.iterations
        self.np, self.x, self.sched, self.name, self.kind = np, x, sched, name, kind
        w0 = float(x.starting_wealth)
        self.wealth = np.full(n, w0)
        self.alive = np.ones(n, dtype=bool)
        self.dead = 0
        self.a = np.full(n, w0)
        self.b = np.zeros(n)
        self.best = np.full(n, np.inf)
        self.tmp = np.empty(n)
        self.run_out = [0] * x.horizon_years
        self.rows: list[tuple[int, list[float]]] = [(0, [w0] * len(PERCENTILES))]

    def step(self, i: int, year: int, gross: Any) -> None:
        np, s = self.np, self.sched
        flow, unit = s.flows[i], s.need_per_unit[i]
        pay = flow - s.need * unit
        if pay != 0.0:
            self.wealth += pay
            if pay < 0.0:
                newly = np.less(self.wealth, 0.0)
                newly &= self.alive
                count = int(np.count_nonzero(newly))
                if count:
                    self.run_out[year] += count
                    self.dead += count
                    self.alive &= ~newly
            if self.dead:
                self.wealth *= self.alive
        if flow != 0.0:
            self.a += flow
        if unit != 0.0:
            self.b += unit
            np.divide(self.a, self.b, out=self.tmp)
            np.minimum(self.best, self.tmp, out=self.best)
        elif flow < 0.0:
            self.best[self.a < 0.0] = -np.inf
        factor = s.return_factor[i]
        if factor != 1.0:
            gross = np.multiply(gross, factor, out=self.tmp)
        self.wealth *= gross
        self.a *= gross
        self.b *= gross

    def year_end(self, year: int) -> None:
        values = self.np.percentile(self.wealth, PERCENTILES)
        self.rows.append((year + 1, [float(v) for v in values]))

    def result(self) -> ScenarioOutputs:
        x, n = self.x, self.x.iterations
        success = n - self.dead
        wealth = []
        for year, values in self.rows:
            price = self.sched.prices[year]
            wealth.append(WealthYear(year=year, on=_plus_months(x.start_date, 12 * year),
                                     nominal=tuple(_money(v) for v in values),
                                     real=tuple(_money(v / price) for v in values)))
        return ScenarioOutputs(
            name=self.name, kind=self.kind, paths=n, success_paths=success,
            probability_of_success=(Decimal(success) / Decimal(n)).quantize(PROBABILITY, ROUND_HALF_EVEN),
            wealth=tuple(wealth), run_out_by_year=tuple(self.run_out), never_run_out=success,
            sustainable_withdrawal=self._sustainable())

    def _sustainable(self) -> Decimal | None:
        np, n = self.np, self.x.iterations
        if not any(self.sched.need_per_unit):
            return None  # no income within the horizon: any withdrawal is sustainable
        need = int((self.x.confidence * n).to_integral_value(ROUND_CEILING))  # paths that must survive
        best = np.sort(self.best)[n - need]  # the need-th largest
        if not best >= 0.0:
            return None  # not even w = 0 reaches the confidence
        return Decimal(float(best)).quantize(PENNY, ROUND_FLOOR)


def _money(value: float) -> Decimal:
    return Decimal(f"{value + 0.0:.2f}")  # + 0.0: never "-0.00"


def _what_if_inputs(x: SimulationInputs, w: WhatIf) -> SimulationInputs:
    return dataclasses.replace(x, stresses=(), what_ifs=(), **dict(w.changes))


def _draw_key(x: SimulationInputs) -> tuple[Any, ...]:
    return (x.seed, x.iterations, x.steps, x.horizon_years, x.return_model, x.degrees_of_freedom,
            x.asset_classes, x.correlation)


def _run_group(np: Any, members: list[_Path]) -> None:
    """One pass over the draws that every member shares (same seed, paths, steps, horizon and return model)."""
    x = members[0].x
    spy = STEPS_PER_YEAR[x.steps]
    paths = x.iterations
    k = len(x.asset_classes)
    gross = {}  # per distinct glide path: the portfolio's gross return this step
    for m in members:
        gross.setdefault(m.sched.weights, np.empty(paths))
    tmp = np.empty(paths)
    for i, logs in enumerate(iter_log_returns(x)):
        year = i // spy
        np.exp(logs, out=logs)
        for weights, out in gross.items():
            w = weights[min(year, len(weights) - 1)]
            out.fill(0.0)
            for j in range(k):
                if w[j] != 0:
                    np.multiply(logs[j], float(w[j] / HUNDRED), out=tmp)
                    np.add(out, tmp, out=out)
        for m in members:
            m.step(i, year, gross[m.sched.weights])
        if (i + 1) % spy == 0:
            for m in members:
                m.year_end(year)


def simulate(inputs: SimulationInputs) -> SimulationOutputs:
    """Runs the base, every stress scenario and every what-if; see the module's docstring for the model."""
    import numpy as np

    validate(inputs)
    base = _Path(np, inputs, _schedule(inputs), "base", "base")
    stresses = [_Path(np, inputs, _schedule(inputs, s), s.name or s.kind, s.kind) for s in inputs.stresses]
    what_ifs = []
    for w in inputs.what_ifs:
        wx = _what_if_inputs(inputs, w)
        what_ifs.append(_Path(np, wx, _schedule(wx), w.name, "what_if"))
    groups: dict[tuple[Any, ...], list[_Path]] = {}
    for member in [base, *stresses, *what_ifs]:
        groups.setdefault(_draw_key(member.x), []).append(member)
    for members in groups.values():
        _run_group(np, members)
    return SimulationOutputs(algorithm_version=ALGORITHM_VERSION, numpy_version=np.__version__, seed=inputs.seed,
                             iterations=inputs.iterations, steps=inputs.steps, confidence=inputs.confidence,
                             base=base.result(), stresses=tuple(p.result() for p in stresses),
                             what_ifs=tuple(p.result() for p in what_ifs))


__all__ = ["ALGORITHM_VERSION", "PERCENTILES", "AssetClass", "Flow", "InputError", "LumpSum", "ScenarioOutputs",
           "SimulationInputs", "SimulationOutputs", "Stress", "WealthYear", "WhatIf", "cholesky",
           "inputs_from_json", "inputs_to_json", "iter_log_returns", "lognormal_parameters", "simulate",
           "validate"]
