"""The plan simulation as a whole: reproducible bytes across fresh processes, bounded memory, stress scenarios and
what-ifs that behave as their definitions say, and the inputs it refuses."""
from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from chalicelib.planning.engine import (
    AssetClass,
    Flow,
    InputError,
    LumpSum,
    SimulationInputs,
    SimulationOutputs,
    Stress,
    WhatIf,
    cholesky,
    inputs_from_json,
    inputs_to_json,
    simulate,
)

D = Decimal
ROOT = Path(__file__).resolve().parents[2]


def plan(**changes: object) -> SimulationInputs:
    corr = ((D(1), D("0.2"), D("0.5")), (D("0.2"), D(1), D("0.1")), (D("0.5"), D("0.1"), D(1)))
    base = SimulationInputs(
        start_date=date(2025, 4, 6), horizon_years=30, steps="monthly", iterations=2_000, seed=987654321,
        return_model="lognormal",
        asset_classes=(AssetClass("global equity", D("0.07"), D("0.16")), AssetClass("gilts", D("0.035"), D("0.07")),
                       AssetClass("property", D("0.05"), D("0.12"))),
        correlation=corr, inflation=D("0.025"),
        glide_path=((D(70), D(20), D(10)), (D(65), D(25), D(10)), (D(60), D(30), D(10))),
        starting_wealth=D("350000.00"),
        flows=(Flow(D("15000"), date(2025, 4, 6), ends_at_retirement=True, name="pension contributions"),
               Flow(D("-3000"), date(2027, 1, 1), date(2032, 1, 1), growth="fixed", growth_rate=D("0.04"))),
        lump_sums=(LumpSum(date(2030, 9, 1), D("50000"), "inheritance"),),
        income_need=D("32000"), retirement_date=date(2037, 4, 6), confidence=D("0.85"),
        stresses=(Stress("market_fall", "30% fall in year 1", size=D("0.30")),
                  Stress("high_inflation", "8% inflation for 5 years", rate=D("0.08"), years=5),
                  Stress("early_retirement", "retire five years early")),
        what_ifs=(WhatIf("more equity", (("glide_path", ((D(90), D(5), D(5)),)),)),
                  WhatIf("save more", (("flows", (Flow(D("25000"), date(2025, 4, 6), ends_at_retirement=True),)),)),
                  WhatIf("other seed", (("seed", 1),))))
    return replace(base, **changes)


# --- reproducible bytes ---------------------------------------------------------------------------------------------

_CHILD = """
import hashlib, json, sys
from chalicelib.planning.engine import inputs_from_json, simulate
out = simulate(inputs_from_json(json.loads(sys.stdin.read()))).to_json()
sys.stdout.write(out.decode("ascii"))
"""


def _fresh_process(doc: dict) -> bytes:
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + _CHILD],
                          input=json.dumps(doc).encode(), capture_output=True, check=True, cwd=ROOT, timeout=300)
    return done.stdout


def test_the_same_inputs_and_seed_give_the_same_bytes_in_two_fresh_processes() -> None:
    doc = inputs_to_json(plan())
    first, second = _fresh_process(doc), _fresh_process(doc)
    assert first == second and len(first) > 10_000
    assert simulate(plan()).to_json() == first  # and in this process too
    other = _fresh_process({**doc, "seed": 987654322})
    assert other != first  # the seed matters: the comparison above could fail
    body = json.loads(first)
    assert body["algorithm_version"] and body["numpy_version"] == np.__version__


def test_outputs_and_inputs_round_trip_through_json() -> None:
    out = simulate(plan(stresses=(), what_ifs=(), iterations=1_000))
    raw = out.to_json()
    assert SimulationOutputs.from_json(raw).to_json() == raw
    assert SimulationOutputs.from_json(raw) == out
    x = plan()
    assert inputs_from_json(json.loads(json.dumps(inputs_to_json(x)))) == x
    head = raw[:120].decode()
    assert head.startswith('{"algorithm_version":') and " " not in head  # the fixed key order, no spaces
    base = json.loads(raw)["base"]
    assert all(len(v.split(".")[1]) == 2 for row in base["wealth"] for v in row["nominal"] + row["real"])
    assert len(base["probability_of_success"].split(".")[1]) == 6


# --- memory -----------------------------------------------------------------------------------------------------

MEMORY_BOUND_MB = 24  # 100,000 paths: the whole run; a paths x years x classes array alone would be 160 MB


def _peak_mb(years: int) -> float:
    k = 5
    corr = tuple(tuple(D(1) if i == j else D("0.3") for j in range(k)) for i in range(k))
    x = SimulationInputs(
        start_date=date(2025, 1, 1), horizon_years=years, steps="yearly", iterations=100_000, seed=3,
        return_model="lognormal", asset_classes=tuple(AssetClass(f"c{i}", D("0.05"), D("0.12")) for i in range(k)),
        correlation=corr, inflation=D("0.025"), glide_path=((D(20),) * 5,), starting_wealth=D("500000"),
        flows=(Flow(D("12000"), date(2025, 1, 1), ends_at_retirement=True),), income_need=D("30000"),
        retirement_date=date(2035, 1, 1))
    tracemalloc.start()
    try:
        simulate(x)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_memory_is_streamed_by_year() -> None:
    """100,000 paths x 40 years yearly under the bound, and no more than 10 years needs: nothing grows by step."""
    forty, ten = _peak_mb(40), _peak_mb(10)
    assert forty < MEMORY_BOUND_MB, forty
    assert forty < ten * 1.1 + 1, (forty, ten)


# --- scenarios --------------------------------------------------------------------------------------------------

def test_stress_scenarios_never_improve_on_the_base() -> None:
    out = simulate(plan())
    base = out.base
    fall, inflation, early = out.stresses
    assert [s.kind for s in out.stresses] == ["market_fall", "high_inflation", "early_retirement"]
    assert fall.name == "30% fall in year 1"
    for stress in out.stresses:
        assert stress.success_paths <= base.success_paths
        assert stress.sustainable_withdrawal is not None and base.sustainable_withdrawal is not None
        assert stress.sustainable_withdrawal <= base.sustainable_withdrawal
    for b, f in zip(base.wealth, fall.wealth, strict=True):  # a 30% fall never raises any percentile of any year
        assert all(fv <= bv for fv, bv in zip(f.nominal, b.nominal, strict=True)), b.year
    assert fall.wealth[1].nominal[3] < base.wealth[1].nominal[3] * D("0.8")
    # high inflation: the same nominal start, less real wealth once prices have moved
    assert inflation.wealth[0] == base.wealth[0]
    assert all(i.real[3] < b.real[3] for i, b in zip(inflation.wealth[5:], base.wealth[5:], strict=True))
    assert early.success_paths < base.success_paths


def test_a_market_fall_with_no_flows_takes_exactly_its_size_off_year_one() -> None:
    x = plan(flows=(), lump_sums=(), income_need=None, what_ifs=(),
             stresses=(Stress("market_fall", size=D("0.25")),))
    out = simulate(x)
    for b, f in zip(out.base.wealth[1].nominal, out.stresses[0].wealth[1].nominal, strict=True):
        assert abs(f - b * D("0.75")) <= D("0.02")


def test_a_what_if_is_the_base_with_its_changes() -> None:
    """Run with the base (shared draws where they can be) or alone, a what-if gives the same figures."""
    x = plan(iterations=1_000)
    out = simulate(x)
    names = [w.name for w in out.what_ifs]
    assert names == ["more equity", "save more", "other seed"]
    alone = simulate(replace(x, stresses=(), what_ifs=(), glide_path=((D(90), D(5), D(5)),)))
    assert out.what_ifs[0] == replace(alone.base, name="more equity", kind="what_if")
    saved = simulate(replace(x, stresses=(), what_ifs=(),
                             flows=(Flow(D("25000"), date(2025, 4, 6), ends_at_retirement=True),)))
    assert out.what_ifs[1] == replace(saved.base, name="save more", kind="what_if")
    assert out.what_ifs[1].success_paths >= out.base.success_paths
    reseeded = simulate(replace(x, stresses=(), what_ifs=(), seed=1))
    assert out.what_ifs[2] == replace(reseeded.base, name="other seed", kind="what_if")
    assert out.what_ifs[2] != replace(out.base, name="other seed", kind="what_if")


def test_the_base_does_not_depend_on_the_scenarios_run_beside_it() -> None:
    x = plan(iterations=1_000)
    assert simulate(x).base == simulate(replace(x, stresses=(), what_ifs=())).base


def test_early_retirement_moves_the_need_and_the_contributions_that_end_at_retirement() -> None:
    """Zero volatility: retiring five years early pays five fewer years of contributions and five more of need."""
    x = plan(asset_classes=tuple(replace(a, volatility=D(0)) for a in plan().asset_classes), iterations=1_000,
             stresses=(Stress("early_retirement", years=5),), what_ifs=(), income_need=D("10000"))
    out = simulate(x)
    moved = simulate(replace(x, stresses=(), retirement_date=date(2032, 4, 6)))
    assert replace(out.stresses[0], name="base", kind="base") == moved.base


# --- refusals ---------------------------------------------------------------------------------------------------

def test_a_semi_definite_correlation_is_factorised_and_a_non_psd_one_refused() -> None:
    semi = [[1.0, 1.0, 0.5], [1.0, 1.0, 0.5], [0.5, 0.5, 1.0]]  # two classes perfectly correlated
    lower = np.array(cholesky(semi))
    np.testing.assert_allclose(lower @ lower.T, semi, atol=1e-12)
    with pytest.raises(InputError, match="positive semi-definite"):
        cholesky([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    with pytest.raises(InputError, match="positive semi-definite"):
        cholesky([[1.0, 1.0, 0.5], [1.0, 1.0, 0.4], [0.5, 0.4, 1.0]])  # dependent columns that disagree
    x = plan(correlation=tuple(tuple(D(str(v)) for v in row) for row in semi), stresses=(), what_ifs=(),
             iterations=1_000)
    assert simulate(x).base.paths == 1_000


@pytest.mark.parametrize(("changes", "field"), [
    ({"iterations": 999}, "iterations"),
    ({"iterations": 100_001}, "iterations"),
    ({"glide_path": ((D("70"), D("20"), D("9.99")),)}, "glide_path[0]"),
    ({"glide_path": ((D(100), D(0)),)}, "glide_path[0]"),
    ({"return_model": "student_t", "degrees_of_freedom": D(2)}, "degrees_of_freedom"),
    ({"return_model": "student_t"}, "degrees_of_freedom"),
    ({"correlation": ((D(1), D("0.2"), D("0.5")), (D("0.3"), D(1), D("0.1")), (D("0.5"), D("0.1"), D(1)))},
     "correlation[1][0]"),
    ({"correlation": ((D(1), D("0.2")), (D("0.2"), D(1)))}, "correlation"),
    ({"steps": "weekly"}, "steps"),
    ({"confidence": D(1)}, "confidence"),
    ({"lump_sums": (LumpSum(date(2055, 4, 6), D(1)),)}, "lump_sums[0].on"),
    ({"stresses": (Stress("market_fall", size=D("1.5")),)}, "stresses[0].size"),
    ({"stresses": (Stress("crash"),)}, "stresses[0].kind"),
    ({"what_ifs": (WhatIf("bad", (("iterations", 5),)),)}, "what_ifs[0].changes.iterations"),
    ({"what_ifs": (WhatIf("bad", (("stresses", ()),)),)}, "what_ifs[0].changes.stresses"),
])
def test_inputs_the_engine_cannot_simulate_are_refused_by_name(changes: dict, field: str) -> None:
    with pytest.raises(InputError) as caught:
        simulate(plan(**changes))
    assert caught.value.field == field


def test_the_stored_json_is_read_strictly() -> None:
    doc = inputs_to_json(plan())
    with pytest.raises(InputError, match="unknown field"):
        inputs_from_json({**doc, "seeed": 1})
    with pytest.raises(InputError) as caught:
        inputs_from_json({**doc, "starting_wealth": 350000.5})
    assert caught.value.field == "starting_wealth"
    with pytest.raises(InputError) as caught:
        inputs_from_json({k: v for k, v in doc.items() if k != "seed"})
    assert caught.value.field == "seed"
