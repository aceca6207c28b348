"""Request and response models for simulation runs of a plan version.

A run request names the stress scenarios and what-ifs to run beside the base (the plan's inputs as stored). When
`stresses` is left out the firm's standard three run: a 30% market fall in year 1, 8% inflation for 5 years and
retirement 5 years early; an empty list runs none. A what-if changes a few of the plan's figures (in the plan's
terms, not the engine's) and runs on its own draws from the same seed.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StrictInt, model_validator

from chalicelib.core.models import ApiModel, IsoDateTime, Money, StrictModel, decimal_type
from chalicelib.core.pagination import ListQuery, ListSpec

FallSize = decimal_type(5, 4, "0.01", "0.95")
InflationRate = decimal_type(6, 4, "-0.05", "0.5")
RunStatus = Literal["queued", "running", "succeeded", "failed"]


class MarketFall(StrictModel):
    kind: Literal["market_fall"]
    name: str | None = Field(None, max_length=100)
    size: FallSize = Field(description="The fall in year 1, a fraction (0.3 is a 30% fall)")


class HighInflation(StrictModel):
    kind: Literal["high_inflation"]
    name: str | None = Field(None, max_length=100)
    rate: InflationRate = Field(description="Annual inflation in place of the CMA set's, a fraction")
    years: StrictInt = Field(ge=1, le=50, description="For the plan's first so many years")


class EarlyRetirement(StrictModel):
    kind: Literal["early_retirement"]
    name: str | None = Field(None, max_length=100)
    years: StrictInt = Field(5, ge=1, le=30, description="Retirement this many years earlier (not before as_of)")


Stress = Annotated[MarketFall | HighInflation | EarlyRetirement, Field(discriminator="kind")]

STANDARD_STRESSES: tuple[dict[str, Any], ...] = (
    {"kind": "market_fall", "name": "Market fall of 30% in year 1", "size": "0.30"},
    {"kind": "high_inflation", "name": "Inflation of 8% for 5 years", "rate": "0.08", "years": 5},
    {"kind": "early_retirement", "name": "Retirement 5 years early", "years": 5},
)


class WhatIfChanges(StrictModel):
    """The figures a what-if changes; each left out keeps the plan's."""

    retirement_age_change: StrictInt | None = Field(None, ge=-30, le=30, description=(
        "Years added to every person's retirement age (negative: earlier), e.g. -2"))
    target_income_annual: Money | None = Field(None, description=(
        "The income need in retirement, a year, in today's money (0: no need)"))
    extra_monthly_contribution: Money | None = Field(None, description=(
        "Saved each month from as_of to the first retirement, growing with inflation"))
    starting_value_change: Decimal | None = Field(None, ge=Decimal("-1000000000000"), le=Decimal("1000000000000"),
                                                  decimal_places=2, description=(
        "Added to the starting wealth (negative: taken off; the wealth stays at least 0)"))
    portfolio_model_id: UUID | None = Field(None, description="Another portfolio model of the plan's CMA set, "
                                                              "for the whole plan")

    @model_validator(mode="after")
    def _something(self) -> WhatIfChanges:
        if not self.model_fields_set:
            raise ValueError("a what-if changes at least one figure")
        return self


class WhatIfIn(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    changes: WhatIfChanges


class RunCreateIn(StrictModel):
    stresses: list[Stress] | None = Field(None, max_length=10, description=(
        "Stress scenarios beside the base; left out: the standard three (30% market fall in year 1, 8% inflation "
        "for 5 years, retirement 5 years early); [] for none"))
    what_ifs: list[WhatIfIn] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _distinct(self) -> RunCreateIn:
        names = [w.name for w in self.what_ifs]
        if len(set(names)) != len(names):
            raise ValueError("each what-if needs its own name")
        return self


class RunSummaryOut(ApiModel):
    id: UUID
    plan_id: UUID
    status: RunStatus = Field(description="queued -> running -> succeeded or failed")
    attempts: int
    probability_of_success: Decimal | None = Field(description="The base scenario's, once succeeded")
    algorithm_version: str | None
    duration_ms: int | None
    error: dict[str, Any] | None = Field(description="Why it failed: {field, message} or {message}")
    created_at: IsoDateTime
    created_by_type: Literal["user", "api_key", "system"]
    created_by: UUID | None
    started_at: IsoDateTime | None
    finished_at: IsoDateTime | None


class RunOut(RunSummaryOut):
    request: dict[str, Any] = Field(description="The run's request as resolved (the stresses and what-ifs run)")
    outputs: dict[str, Any] | None = Field(description=(
        "Once succeeded: the engine's outputs (algorithm and numpy versions, seed, each scenario's probability of "
        "success, wealth percentiles per year nominal and real, the years money ran out, the sustainable "
        "withdrawal); figures are decimal strings"))
    outputs_sha256: str | None = Field(description="The hash of the outputs' bytes as stored")
    engine_inputs: dict[str, Any] | None = Field(description="Exactly what the engine ran on (for the file)")


class FanChartQuery(StrictModel):
    basis: Literal["real", "nominal"] = Field("real", description="Today's money (real) or money of each year")
    scenario: str | None = Field(None, max_length=100, description="A stress or what-if by name; the base if absent")


RUNS = ListSpec("plan_runs", {"created_at": (("created_at", "timestamptz"),)}, "-created_at")


class RunListQuery(ListQuery):
    status: RunStatus | None = None
