"""The plan simulation (part "montecarlo"): chalicelib/planning/engine.py alone, no database.

- M1. 10,000 paths x 50 years monthly x 5 asset classes with flows (contributions to retirement, a withdrawal
  for some years, lump sums, the income need from retirement, a glide path), the base run with its sustainable
  withdrawal: wall time over the floor, numpy's raw generation of the same correlated normals in the same run
  (600 steps of `rng.standard_normal((5, 10000))` and `L @ Z`), interleaved, the median of BENCH_MC_ROUNDS rounds
  (default 3). Beside it, the same run with its three stress scenarios (which share the draws).
- M2. Peak memory (tracemalloc: numpy's buffers included) of the same plan with 100,000 paths, against the
  paths x months x classes array of float64 a run that kept its draws would hold.
- M3. 100,000 paths yearly x 40 years with the three stress scenarios: wall time against the 900 s a Lambda
  invocation may run.
"""
from __future__ import annotations

import os
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from tests.bench.common import say

FLOOR_TARGET = 3.0
MEMORY_TARGET_MB = 64.0
LAMBDA_SECONDS = 900.0
LAMBDA_TARGET = 0.1  # of the invocation's 15 minutes


def plan(paths: int, years: int, steps: str, stresses: bool) -> Any:
    from chalicelib.planning.engine import AssetClass, Flow, LumpSum, SimulationInputs, Stress

    D = Decimal
    classes = (("global equity", "0.07", "0.16"), ("UK equity", "0.065", "0.17"), ("gilts", "0.035", "0.07"),
               ("corporate bonds", "0.045", "0.08"), ("property", "0.05", "0.12"))
    corr = ((1, "0.8", "0.1", "0.3", "0.5"), ("0.8", 1, "0.1", "0.3", "0.5"), ("0.1", "0.1", 1, "0.7", "0.2"),
            ("0.3", "0.3", "0.7", 1, "0.3"), ("0.5", "0.5", "0.2", "0.3", 1))
    return SimulationInputs(
        start_date=date(2025, 1, 1), horizon_years=years, steps=steps, iterations=paths, seed=20250101,
        return_model="lognormal", asset_classes=tuple(AssetClass(n, D(m), D(s)) for n, m, s in classes),
        correlation=tuple(tuple(D(v) for v in row) for row in corr), inflation=D("0.025"),
        glide_path=tuple((D(60 - y), D(20), D(10 + y // 2), D(5 + y - y // 2), D(5)) for y in range(0, 20, 2)),
        starting_wealth=D("400000"),
        flows=(Flow(D("18000"), date(2025, 1, 1), ends_at_retirement=True),
               Flow(D("-6000"), date(2028, 1, 1), date(2034, 1, 1), growth="fixed", growth_rate=D("0.03")),
               Flow(D("9000"), date(2042, 1, 1))),
        lump_sums=(LumpSum(date(2031, 6, 1), D("60000")), LumpSum(date(2038, 3, 1), D("-40000"))),
        income_need=D("36000"), retirement_date=date(2040, 1, 1), confidence=D("0.85"),
        stresses=(Stress("market_fall", size=D("0.3")), Stress("high_inflation", rate=D("0.08"), years=5),
                  Stress("early_retirement")) if stresses else ())


def floor(x: Any) -> float:
    """numpy's raw generation of the same correlated normals: one (classes, paths) array per step and L @ Z."""
    import numpy as np

    from chalicelib.planning.engine import STEPS_PER_YEAR

    lower = np.linalg.cholesky(np.array([[float(v) for v in row] for row in x.correlation]))
    rng = np.random.Generator(np.random.PCG64(x.seed))
    shape = (len(x.asset_classes), x.iterations)
    t0 = time.perf_counter()
    for _ in range(x.horizon_years * STEPS_PER_YEAR[x.steps]):
        _ = lower @ rng.standard_normal(shape)
    return time.perf_counter() - t0


def timed(x: Any) -> float:
    from chalicelib.planning.engine import simulate

    t0 = time.perf_counter()
    simulate(x)
    return time.perf_counter() - t0


@dataclass
class MonteCarloResult:
    rounds: int
    engine: list[float] = field(default_factory=list)
    stressed: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    full_array_mb: float = 0.0
    peak_seconds: float = 0.0
    lambda_seconds: float = 0.0
    lambda_base_seconds: float = 0.0
    success: str = ""
    numpy: str = ""

    def ratio(self, kind: str = "engine") -> float:
        return statistics.median(getattr(self, kind)) / statistics.median(self.floor)


def measure() -> MonteCarloResult:
    import numpy as np

    from chalicelib.planning.engine import simulate

    rounds = int(os.environ.get("BENCH_MC_ROUNDS") or 3)
    r = MonteCarloResult(rounds=rounds, numpy=np.__version__)
    base, stressed = plan(10_000, 50, "monthly", False), plan(10_000, 50, "monthly", True)
    r.success = str(simulate(base).base.probability_of_success)  # warm-up, and a sanity figure
    floor(base)
    for i in range(rounds):
        order = [("floor", base), ("engine", base), ("stressed", stressed)]
        for kind, x in order if i % 2 == 0 else reversed(order):
            getattr(r, kind).append(floor(x) if kind == "floor" else timed(x))
    say(f"montecarlo M1: engine {statistics.median(r.engine):.2f} s over the floor "
        f"{statistics.median(r.floor):.2f} s -> {r.ratio():.2f}x (with stresses {r.ratio('stressed'):.2f}x)")

    big = replace(base, iterations=100_000)
    r.full_array_mb = 100_000 * 600 * 5 * 8 / 1e6
    tracemalloc.start()
    t0 = time.perf_counter()
    simulate(big)
    r.peak_seconds = time.perf_counter() - t0
    r.peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    say(f"montecarlo M2: peak {r.peak_mb:.1f} MB for 100,000 paths x 600 months x 5 classes "
        f"(the draws alone would be {r.full_array_mb:,.0f} MB)")

    r.lambda_seconds = timed(plan(100_000, 40, "yearly", True))
    r.lambda_base_seconds = timed(plan(100_000, 40, "yearly", False))
    say(f"montecarlo M3: 100,000 paths x 40 years yearly with 3 stresses {r.lambda_seconds:.2f} s "
        f"(base alone {r.lambda_base_seconds:.2f} s)")
    return r


def summary_line(r: MonteCarloResult) -> str:
    return (f"montecarlo: {r.ratio():.2f}x the floor, peak {r.peak_mb:.1f} MB at 100,000 paths, "
            f"100,000 x 40 yearly {r.lambda_seconds:.1f} s")


def verdicts(r: MonteCarloResult) -> list[tuple[str, str, str, bool]]:
    from tests.bench.report import _x

    lam = r.lambda_seconds / LAMBDA_SECONDS
    return [
        (("M1. Plan simulation, 10,000 paths x 50 years monthly x 5 classes with flows / numpy's raw generation of "
         "the same correlated normals"),
         (f"{_x(r.ratio())} ({statistics.median(r.engine):.2f} s / {statistics.median(r.floor):.2f} s); with 3 "
         f"stress scenarios {_x(r.ratio('stressed'))}"), f"≤ {FLOOR_TARGET:g}x", r.ratio() <= FLOOR_TARGET),
        ("M2. Plan simulation, peak memory of a 100,000-path run (50 years monthly, 5 classes; tracemalloc)",
         (f"{r.peak_mb:.1f} MB ({r.peak_mb / r.full_array_mb:.2%} of the {r.full_array_mb:,.0f} MB paths x months x "
         f"classes array)"), f"≤ {MEMORY_TARGET_MB:g} MB", r.peak_mb <= MEMORY_TARGET_MB),
        (("M3. Plan simulation, 100,000 paths x 40 years yearly with 3 stress scenarios / a Lambda invocation's "
         "900 s"), f"{lam:.4f} ({r.lambda_seconds:.2f} s; base alone {r.lambda_base_seconds:.2f} s)",
         f"≤ {LAMBDA_TARGET:g}", lam <= LAMBDA_TARGET),
    ]


def render(r: MonteCarloResult) -> list[str]:
    med = statistics.median
    return [
        "## Plan simulation (Monte Carlo)\n",
        ("chalicelib/planning/engine.py alone (pure numpy, no database), in the benchmark's process, numpy "
         f"{r.numpy}. The plan: 5 asset classes (correlated), a glide path, contributions to retirement, a "
         "withdrawal for six years, two lump sums, an income need from retirement and the sustainable withdrawal "
         f"(computed in the same pass). {r.rounds} rounds of each measurement, interleaved (the order alternating "
         "by round); medians.\n"),
        "| measurement | median | rounds |",
        "|---|---|---|",
        (f"| the floor: 600 x (`rng.standard_normal((5, 10000))`, `L @ Z`) | {med(r.floor):.3f} s | "
        f"{', '.join(f'{v:.3f}' for v in r.floor)} |"),
        f"| `simulate`, base | {med(r.engine):.3f} s | {', '.join(f'{v:.3f}' for v in r.engine)} |",
        (f"| `simulate`, base + market fall + high inflation + early retirement | {med(r.stressed):.3f} s | "
        f"{', '.join(f'{v:.3f}' for v in r.stressed)} |"),
        "",
        (f"Peak memory of the same plan with 100,000 paths: {r.peak_mb:.1f} MB (tracemalloc, which sees numpy's "
         f"buffers; the run took {r.peak_seconds:.1f} s under tracing). The engine keeps one step's draws "
         "(classes x paths) and a few arrays per path and scenario; a paths x months x classes array of float64 "
         f"would be {r.full_array_mb:,.0f} MB. The base's probability of success at 10,000 paths was {r.success}.\n"),
        (f"100,000 paths x 40 years yearly with the three stress scenarios: {r.lambda_seconds:.2f} s "
         f"(the base alone {r.lambda_base_seconds:.2f} s), against the 900 s a Lambda invocation may run; a Lambda "
         "with 2 GB has about one vCPU, and the engine uses one.\n"),
    ]
