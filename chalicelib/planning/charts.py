"""The fan chart of a plan's simulation: wealth percentile bands per year (5-95, 10-90, 25-75, the median line)
with the target marked, as SVG or PNG bytes, the same bytes for the same outputs.

Drawn with matplotlib's object API (a Figure with its own canvas; no pyplot, so no global figure state and no
display backend: Agg renders the PNG). matplotlib is imported inside the functions: only a chart request pays for
it. Deterministic: the SVG's element ids come from a fixed `svg.hashsalt`, text is drawn as paths (no font lookup on
the reader's side), and the date and software metadata are left out of both formats.
"""
from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from typing import Any

from chalicelib.planning.engine import PERCENTILES, ScenarioOutputs, SimulationOutputs

BANDS = ((5, 95, "#c6dbef"), (10, 90, "#9ecae1"), (25, 75, "#6baed6"))
MEDIAN_COLOUR, TARGET_COLOUR = "#08306b", "#d94801"
_RC = {"svg.hashsalt": "wealthdesk-fan-chart", "svg.fonttype": "path", "font.family": "DejaVu Sans",
       "font.size": 10, "path.simplify": False}


def fan_chart_svg(outputs: SimulationOutputs, target: Decimal | float | None = None, *, basis: str = "real",
                  scenario: str | None = None, currency: str = "") -> bytes:
    """The chart as SVG bytes. `target`: a wealth figure to mark (a dashed line) in the same basis; `basis`:
    "real" (today's money) or "nominal"; `scenario`: a stress or what-if by name (default: the base)."""
    return _render(outputs, target, basis, scenario, currency, "svg")


def fan_chart_png(outputs: SimulationOutputs, target: Decimal | float | None = None, *, basis: str = "real",
                  scenario: str | None = None, currency: str = "", dpi: int = 100) -> bytes:
    """The same chart as PNG bytes (960 x 540 pixels at the default dpi)."""
    return _render(outputs, target, basis, scenario, currency, "png", dpi)


def _pick(outputs: SimulationOutputs, scenario: str | None) -> ScenarioOutputs:
    if scenario is None:
        return outputs.base
    for s in (outputs.base, *outputs.stresses, *outputs.what_ifs):
        if s.name == scenario:
            return s
    raise ValueError(f"no scenario named {scenario!r}")


def _money(value: float, currency: str) -> str:
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1e6:
        text = f"{v / 1e6:.2f}".rstrip("0").rstrip(".") + "m"
    elif v >= 1e3:
        text = f"{v / 1e3:.1f}".rstrip("0").rstrip(".") + "k"
    else:
        text = f"{v:.0f}"
    return f"{sign}{currency}{text}"


def _render(outputs: SimulationOutputs, target: Decimal | float | None, basis: str, scenario: str | None,
            currency: str, fmt: str, dpi: int = 100) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    if basis not in ("real", "nominal"):
        raise ValueError("basis must be real or nominal")
    s = _pick(outputs, scenario)
    years = [row.on.year for row in s.wealth]
    series = {p: [float((row.real if basis == "real" else row.nominal)[i]) for row in s.wealth]
              for i, p in enumerate(PERCENTILES)}
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9.6, 5.4), dpi=dpi)
        if fmt == "svg":
            from matplotlib.backends.backend_svg import FigureCanvasSVG as Canvas
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg as Canvas
        Canvas(fig)
        ax = fig.add_subplot()
        for low, high, colour in BANDS:
            ax.fill_between(years, series[low], series[high], color=colour, linewidth=0,
                            label=f"{low}th to {high}th percentile", gid=f"band-{low}-{high}")
        ax.plot(years, series[50], color=MEDIAN_COLOUR, linewidth=2.2, label="Median", gid="median")
        if target is not None:
            t = float(target)
            ax.axhline(t, color=TARGET_COLOUR, linestyle="--", linewidth=1.6,
                       label=f"Target {_money(t, currency)}", gid="target")
        ax.set_xlim(years[0], years[-1])
        top = max([*series[95], float(target) if target is not None else 0.0, 1.0])
        ax.set_ylim(0, top * 1.08)  # the target always inside, with room above the highest band
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _money(v, currency)))
        ax.grid(axis="y", color="#dddddd", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        money = "today's money" if basis == "real" else "money of the day"
        ax.set_ylabel(f"Wealth ({money})")
        ax.set_xlabel("Year")
        chance = float(s.probability_of_success) * 100
        title = "Projected wealth" if s.kind == "base" else f"Projected wealth: {s.name}"
        ax.set_title(f"{title}\nChance the money lasts: {chance:.0f}% of {s.paths:,} simulations",
                     loc="left", fontsize=11)
        # Below the plot: a legend inside would cover bands or the target line somewhere, whatever the plan.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=5, frameon=False, fontsize=9)
        fig.tight_layout()
        buffer = BytesIO()
        metadata: dict[str, Any] = ({"Date": None, "Creator": None} if fmt == "svg" else {"Software": None})
        fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()
