"""Request and response models for objectives (a household's aims) and money goals (an objective with a target
amount, the products that count towards it, and contributions)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from chalicelib.core.models import ApiModel, Currency, IsoDate, IsoDateTime, Money, StrictModel, decimal_type, iso_date
from chalicelib.core.pagination import ListQuery, ListSpec
from chalicelib.products.holdings.models import Day

ObjectiveStatus = Literal["active", "achieved", "modified", "cancelled"]
TargetDate = iso_date(ge=date(1900, 1, 1), le=date(2099, 12, 31))
Priority = Annotated[int, Field(ge=1, le=5, description="1 (highest) to 5")]
Progress = decimal_type(5, 2, "0", "100")
# A stated annual rate as a decimal (0.0500 is 5% a year): above -100% and at most 100%.
AnnualReturn = decimal_type(7, 4, "-0.9999", "1")
TargetAmount = decimal_type(18, 2, "0.01")
ContributionAmount = decimal_type(18, 2, "0.01")
# The rate a money goal assumes when none is stated: 4% a year (docs/domain.md, "Objectives").
DEFAULT_ANNUAL_RETURN = Decimal("0.0400")
IdList = Annotated[list[UUID], Field(max_length=100)]


def _not_future(day: date) -> date:
    if day > date.today():
        raise ValueError("must not be in the future")
    return day


ContributionDay = Annotated[Day, AfterValidator(_not_future)]

MONEY_FIELDS = ("currency", "assumed_annual_return", "product_ids", "unmanaged_product_ids")


class LinkedHolding(ApiModel):
    source: Literal["managed_product", "unmanaged_product"]
    id: UUID
    name: str
    status: str = Field(description="The product's own status (active, lapsed, sold ...)")
    currency: str
    counted: bool = Field(description="false when the product does not count now (lapsed, sold, ended, not "
                                      "started, or no exchange rate): it adds 0 and `reason` says why")
    reason: str | None
    value: Decimal = Field(description="What it adds: the household's part of its value now, in the goal's "
                                       "currency (0.00 when not counted)")


class PlanSuccess(ApiModel):
    plan_id: UUID = Field(description="The version whose run counts: the plan's latest version with a successful run")
    run_id: UUID
    probability_of_success: Decimal
    threshold: Decimal = Field(description="The firm's plan_success_threshold")
    finished_at: IsoDateTime


class ObjectiveOut(ApiModel):
    id: UUID
    client_group_id: UUID
    title: str
    description: str | None
    target_date: IsoDate | None
    priority: int
    status: ObjectiveStatus
    progress_percentage: Decimal = Field(description=(
        "Typed for a plain objective; for a money goal computed: min(100, current_value / target_amount x 100), "
        "to 2 decimals"))
    money_goal: bool
    target_amount: Decimal | None
    currency: str | None
    assumed_annual_return: Decimal | None
    product_ids: list[UUID]
    unmanaged_product_ids: list[UUID]
    current_value: Decimal | None = Field(description=(
        "Money goal: the household's part of its linked products' value now, in the goal's currency, plus its "
        "contributions"))
    contributions_total: Decimal | None
    monthly_saving_needed: Decimal | None = Field(description=(
        "Money goal: the level end-of-month saving that reaches the target by the target date at the assumed "
        "return; 0 when reached, the whole shortfall when the date is this month or past"))
    on_track: bool | None = Field(description=(
        "Linked to a plan: whether the plan's latest successful run gives a probability of success at or above the "
        "firm's threshold (null until the plan has one). Otherwise, a money goal: whether the current value grown "
        "at the assumed return to the target date reaches the target"))
    plan_id: UUID | None = Field(description="The household's plan that tests this objective (a version of it)")
    plan_success: PlanSuccess | None = Field(description=(
        "Linked to a plan with a successful run: the figures on_track comes from"))
    linked: list[LinkedHolding]
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


class ObjectiveCreateIn(StrictModel):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10000)
    target_date: TargetDate | None = Field(None, description="Required for a money goal")
    priority: Priority = 3
    status: ObjectiveStatus = "active"
    target_amount: TargetAmount | None = Field(None, description="Makes the objective a money goal")
    currency: Currency | None = Field(None, description="ISO 4217; the firm's base currency when not given")
    assumed_annual_return: AnnualReturn | None = Field(None, description=(
        f"The annual return assumed, a decimal (0.0500 is 5%); {DEFAULT_ANNUAL_RETURN} when not given"))
    product_ids: IdList | None = Field(None, description="Managed products of the household that count")
    unmanaged_product_ids: IdList | None = Field(None, description=(
        "Unmanaged assets of the household that count"))
    progress_percentage: Progress | None = Field(None, description=(
        "A plain objective's progress (0 when not given); a money goal's is computed (422 when typed)"))
    plan_id: UUID | None = Field(None, description=(
        "A plan of the household that tests this objective: on_track then follows its success probability"))

    # Each rule names its field: a field is validated after those declared before it, so target_amount is known.
    @field_validator("target_amount")
    @classmethod
    def _dated(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if value is not None and info.data.get("target_date") is None:
            raise ValueError("a money goal needs a target_date")
        return value

    @field_validator("currency", "assumed_annual_return", "product_ids", "unmanaged_product_ids")
    @classmethod
    def _money_only(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("target_amount") is None:
            raise ValueError("only a money goal (with a target_amount) has it")
        return value

    @field_validator("progress_percentage")
    @classmethod
    def _typed_progress(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if value is not None and info.data.get("target_amount") is not None:
            raise ValueError("a money goal's progress is computed from its target, not typed")
        return value


class ObjectivePatchIn(StrictModel):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10000)
    target_date: TargetDate | None = None
    priority: Priority | None = None
    status: ObjectiveStatus | None = None
    progress_percentage: Progress | None = Field(None, description="A plain objective's only (422 on a money goal)")
    target_amount: TargetAmount | None = Field(None, description=(
        "Sets (or changes) the money target; null makes a money goal a plain objective again (409 while it has "
        "linked products or contributions)"))
    currency: Currency | None = None
    assumed_annual_return: AnnualReturn | None = None
    product_ids: IdList | None = Field(None, description="Replaces the linked managed products")
    unmanaged_product_ids: IdList | None = Field(None, description="Replaces the linked unmanaged products")
    plan_id: UUID | None = Field(None, description="Links a plan of the household (null unlinks it)")


NULLABLE_OBJECTIVE_FIELDS = frozenset({"description", "target_date", "target_amount", "plan_id"})

# `target_date` orders by the target date with the objectives that have none last (target_date_order, a generated
# column), then by id; `priority` by priority (1 first), then id.
OBJECTIVES = ListSpec("objectives", {"target_date": (("target_date_order", "date"),),
                                     "priority": (("priority", "integer"),),
                                     "created_at": (("created_at", "timestamptz"),),
                                     "updated_at": (("updated_at", "timestamptz"),)}, default_sort="target_date")
CONTRIBUTIONS = ListSpec("objective_contributions", {"contribution_date": (("contribution_date", "date"),)},
                         default_sort="contribution_date")


class ObjectiveListQuery(ListQuery):
    sort: str = OBJECTIVES.sort_field(
        "target_date (soonest first, none last), priority (1 first), created_at or updated_at; prefix - for "
        "descending")
    status: ObjectiveStatus | None = None
    priority: Priority | None = None
    due_before: IsoDate | None = Field(None, description="Only objectives whose target date is before this date")


class ContributionListQuery(ListQuery):
    pass


class ContributionIn(StrictModel):
    amount: ContributionAmount
    contribution_date: ContributionDay = Field(description="Not after today")
    note: str | None = Field(None, max_length=1000)


class ContributionOut(ApiModel):
    id: UUID
    objective_id: UUID
    amount: Money
    contribution_date: IsoDate
    note: str | None
    created_at: IsoDateTime


def link_lists(values: dict[str, Any]) -> dict[str, Any]:
    """The id lists in their stored form (sorted, without repeats), so that a PATCH compares them with the row."""
    return {k: (sorted(set(v), key=str) if k in ("product_ids", "unmanaged_product_ids") and v is not None else v)
            for k, v in values.items()}
