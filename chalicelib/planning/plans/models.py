"""Request and response models for a household's financial plans and their versions.

A plan's inputs are what the simulation reads, every field checked here; the service fills in what it derives (a
person's date of birth from their record, the target income a replacement ratio makes, each starting value with the
figure used, each portfolio model's allocation, a random seed when none was sent) and stores the result whole
(`inputs` of the plan), never changed afterwards. Rates are decimal fractions written as strings ("0.025" is 2.5%);
money is a decimal string with at most two decimals.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StrictInt, field_validator, model_validator

from chalicelib.core.models import ApiModel, IsoDate, IsoDateTime, Money, StrictModel, decimal_type, iso_date
from chalicelib.core.pagination import ListQuery, ListSpec

Day = iso_date(ge=date(1900, 1, 1), le=date(2199, 12, 31))
Rate = decimal_type(9, 6, "-0.5", "1")
Fraction = decimal_type(5, 4, "0", "10")
Confidence = decimal_type(5, 4, "0.5", "0.9999")
DegreesOfFreedom = decimal_type(8, 4, "2.0001", "1000")
PlanStatus = Literal["draft", "final"]
Steps = Literal["monthly", "yearly"]
Frequency = Literal["monthly", "annual"]
MIN_ITERATIONS, MAX_ITERATIONS = 1_000, 100_000
MAX_SEED = 2 ** 63 - 1
MAX_HORIZON = 100


class PersonIn(StrictModel):
    product_owner_id: UUID = Field(description="A member of the household")
    date_of_birth: Day | None = Field(None, description=(
        "Needed only when the person's record holds none; the record's date is used when it has one"))
    retirement_age: StrictInt = Field(ge=30, le=100, description="Not below the person's age on as_of")
    life_expectancy: StrictInt = Field(ge=40, le=120, description="Age at death assumed; above the retirement age")
    current_income: Money | None = Field(None, description="Annual gross income now (for a replacement ratio)")

    @model_validator(mode="after")
    def _ordered(self) -> PersonIn:
        if self.life_expectancy <= self.retirement_age:
            raise ValueError("life_expectancy must be above retirement_age")
        return self


class InflationGrowth(StrictModel):
    kind: Literal["inflation"] = Field(description="Grows each year with the CMA set's inflation")


class FixedGrowth(StrictModel):
    kind: Literal["fixed"]
    rate: Rate = Field(description="A fixed annual growth rate, a decimal fraction (0 for a level amount)")


Growth = Annotated[InflationGrowth | FixedGrowth, Field(discriminator="kind")]


class FlowIn(StrictModel):
    """A regular contribution or withdrawal: `amount` each period from start to end (both included; to the horizon
    when there is no end), growing each plan year from as_of (with inflation: an amount in today's money)."""

    name: str | None = Field(None, max_length=200)
    amount: Money = Field(description="Per period, in the firm's currency, in today's money (as_of's prices)")
    frequency: Frequency = "monthly"
    start_date: Day
    end_date: Day | None = None
    growth: Growth = Field(default_factory=lambda: InflationGrowth(kind="inflation"))

    @model_validator(mode="after")
    def _ordered(self) -> FlowIn:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self


class LumpSumIn(StrictModel):
    name: str | None = Field(None, max_length=200)
    date: Day
    amount: Money = Field(description="Money in (an inheritance, a sale) or out (a house deposit): see direction")
    direction: Literal["in", "out"]


class TargetAmount(StrictModel):
    kind: Literal["amount"]
    annual: Money = Field(description="The household's income need in retirement, a year, in today's money")


class TargetReplacement(StrictModel):
    kind: Literal["replacement_ratio"]
    ratio: Fraction = Field(description="Of the household's current income (its people's current_income), e.g. 0.6")


Target = Annotated[TargetAmount | TargetReplacement, Field(discriminator="kind")]


class StartingValueIn(StrictModel):
    source: Literal["managed_product", "unmanaged_product"]
    id: UUID = Field(description="A product (managed or unmanaged) of the household, an asset held on as_of")


class GlideStepIn(StrictModel):
    from_year: StrictInt = Field(ge=0, le=MAX_HORIZON - 1, description="Plan year it applies from (0: the start)")
    portfolio_model_id: UUID


class Lognormal(StrictModel):
    kind: Literal["lognormal"]


class StudentT(StrictModel):
    kind: Literal["student_t"]
    degrees_of_freedom: DegreesOfFreedom = Field(description="Above 2 (the variance must exist)")


ReturnModel = Annotated[Lognormal | StudentT, Field(discriminator="kind")]


class PlanInputsIn(StrictModel):
    as_of: Day | None = Field(None, description="The plan's start: starting values are taken on it (default today; "
                                                "not after today)")
    horizon_years: StrictInt = Field(ge=1, le=MAX_HORIZON)
    people: list[PersonIn] = Field(min_length=1, max_length=10)
    contributions: list[FlowIn] = Field(default_factory=list, max_length=100)
    withdrawals: list[FlowIn] = Field(default_factory=list, max_length=100)
    lump_sums: list[LumpSumIn] = Field(default_factory=list, max_length=100)
    target_income: Target | None = Field(None, description="Real (today's money), from the first retirement")
    starting_values: list[StartingValueIn] = Field(default_factory=list, max_length=200)
    portfolio_model_id: UUID | None = Field(None, description="One model for the whole plan; or glide_path")
    glide_path: list[GlideStepIn] | None = Field(None, min_length=1, max_length=50, description=(
        "Models by plan year: the first from year 0, years increasing; or portfolio_model_id"))
    cma_set_id: UUID = Field(description="An approved CMA set (the models' asset classes must be in it)")
    iterations: StrictInt = Field(10_000, ge=MIN_ITERATIONS, le=MAX_ITERATIONS)
    random_seed: StrictInt | None = Field(None, ge=0, le=MAX_SEED, description="Generated and stored when absent")
    return_model: ReturnModel = Field(default_factory=lambda: Lognormal(kind="lognormal"))
    steps: Steps = "monthly"
    confidence_level: Confidence = Field(Decimal("0.85"), description=(
        "For the sustainable withdrawal: the share of paths that must last (0.5 to 0.9999)"))

    @field_validator("people")
    @classmethod
    def _distinct_people(cls, people: list[PersonIn]) -> list[PersonIn]:
        ids = [p.product_owner_id for p in people]
        if len(set(ids)) != len(ids):
            raise ValueError("each person may appear once")
        return people

    @field_validator("starting_values")
    @classmethod
    def _distinct_values(cls, values: list[StartingValueIn]) -> list[StartingValueIn]:
        keys = [(v.source, v.id) for v in values]
        if len(set(keys)) != len(keys):
            raise ValueError("each product may appear once")
        return values

    @field_validator("glide_path")
    @classmethod
    def _glide(cls, steps: list[GlideStepIn] | None) -> list[GlideStepIn] | None:
        if steps is not None:
            if steps[0].from_year != 0:
                raise ValueError("the first step must be from year 0")
            years = [s.from_year for s in steps]
            if any(b <= a for a, b in pairwise(years)):
                raise ValueError("from_year must increase from step to step")
        return steps

    @model_validator(mode="after")
    def _one_portfolio(self) -> PlanInputsIn:
        if (self.portfolio_model_id is None) == (self.glide_path is None):
            raise ValueError("give either portfolio_model_id or glide_path")
        if self.glide_path is not None and self.glide_path[-1].from_year >= self.horizon_years:
            raise ValueError("every glide path step must start within the horizon")
        return self


class PlanCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    status: PlanStatus = "draft"
    inputs: PlanInputsIn


class PlanVersionIn(StrictModel):
    """A new version: its inputs whole (nothing is carried over from the version it is made from)."""

    name: str | None = Field(None, min_length=1, max_length=200, description="The previous version's when absent")
    status: PlanStatus = "draft"
    inputs: PlanInputsIn


class PlanSummaryOut(ApiModel):
    id: UUID
    client_group_id: UUID
    root_plan_id: UUID = Field(description="The plan's first version: every version of the plan shares it")
    parent_plan_id: UUID | None = Field(description="The version this one was made from (null for version 1)")
    version: int = Field(description="1 for the first; one more than the plan's highest for each new version")
    name: str
    status: PlanStatus
    as_of: IsoDate
    cma_set_id: UUID
    created_at: IsoDateTime
    created_by_type: Literal["user", "api_key", "system"]
    created_by: UUID | None


class PlanOut(PlanSummaryOut):
    inputs: dict[str, Any] = Field(description=(
        "The inputs as stored (never changed): as sent, with what was derived filled in: each person's "
        "date_of_birth, target_income.annual for a replacement ratio, each starting value's figure, each model's "
        "allocation (`portfolio_models`), the random_seed"))


PLANS = ListSpec("plans", {"created_at": (("created_at", "timestamptz"),)}, "-created_at")
PLAN_VERSIONS = ListSpec("plan_versions", {"version": (("version", "integer"),)}, "version", tiebreak=None)


class PlanListQuery(ListQuery):
    status: PlanStatus | None = None


class PlanVersionListQuery(ListQuery):
    pass
