"""The fan chart: the same bytes for the same outputs, an SVG that parses with its bands, median and target, a PNG."""
from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from chalicelib.planning.charts import fan_chart_png, fan_chart_svg
from chalicelib.planning.engine import (
    AssetClass,
    Flow,
    SimulationInputs,
    SimulationOutputs,
    Stress,
    simulate,
)

D = Decimal
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def outputs() -> SimulationOutputs:
    x = SimulationInputs(
        start_date=date(2025, 1, 1), horizon_years=25, steps="yearly", iterations=1_000, seed=11,
        return_model="lognormal", asset_classes=(AssetClass("equity", D("0.06"), D("0.15")),),
        correlation=((D(1),),), inflation=D("0.02"), glide_path=((D(100),),), starting_wealth=D("400000"),
        flows=(Flow(D("10000"), date(2025, 1, 1), ends_at_retirement=True),), income_need=D("25000"),
        retirement_date=date(2035, 1, 1), stresses=(Stress("market_fall", "crash", size=D("0.3")),))
    # from stored bytes, as the chart's caller has them
    return SimulationOutputs.from_json(simulate(x).to_json())


def _groups(svg: bytes) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}


def test_the_svg_is_the_same_bytes_every_time_and_has_its_bands(outputs: SimulationOutputs) -> None:
    first = fan_chart_svg(outputs, target=D("500000"), currency="£")
    assert fan_chart_svg(outputs, target=D("500000"), currency="£") == first
    groups = _groups(first)
    for gid in ("band-5-95", "band-10-90", "band-25-75", "median", "target"):
        assert gid in groups and groups[gid].find(f".//{SVG}path") is not None, gid
    assert b"<dc:date>" not in first and b"Matplotlib" not in first.split(b"<svg", 1)[1][:2000]
    # the outer band spans more of the page than the inner one: the bands are drawn from the percentiles
    def height(gid: str) -> float:
        d = groups[gid].find(f".//{SVG}path").get("d")
        ys = [float(tok) for tok in d.replace("M", " ").replace("L", " ").replace("z", " ").split()[1::2]]
        return max(ys) - min(ys)
    assert height("band-5-95") > height("band-25-75") > 0


def test_no_target_no_target_line_and_a_scenario_by_name(outputs: SimulationOutputs) -> None:
    plain = fan_chart_svg(outputs)
    assert "target" not in _groups(plain)
    crash = fan_chart_svg(outputs, scenario="crash")
    assert crash != plain and "band-5-95" in _groups(crash)
    assert fan_chart_svg(outputs, basis="nominal") != plain
    with pytest.raises(ValueError):
        fan_chart_svg(outputs, scenario="no such scenario")


def test_the_png_is_the_same_bytes_every_time(outputs: SimulationOutputs) -> None:
    first = fan_chart_png(outputs, target=500000)
    assert first == fan_chart_png(outputs, target=500000)
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", first[16:24])
    assert (width, height) == (960, 540)
    assert first != fan_chart_png(outputs)


def test_charts_import_matplotlib_only_when_drawing() -> None:
    import subprocess
    import sys

    code = ("import sys; import chalicelib.planning.charts, chalicelib.planning.engine; "
            "print(sorted(m for m in ('matplotlib', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
