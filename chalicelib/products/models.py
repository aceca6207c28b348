"""Request and response models for the catalogue, products, portfolios, valuations, activity and IRR."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, ValidationInfo, field_validator

from chalicelib.core.http import ListQuery
from chalicelib.core.models import ApiModel, Currency, Money, Percentage, StrictModel, decimal_type

# A date a product, fund, valuation or cash flow may carry: far-off years are typing mistakes, and the IRR
# arithmetic counts months between dates (a year 9999 date would overflow it, or size a solver by centuries).
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2099, 12, 31))]

Status = Literal["active", "inactive"]
ProductType = Literal["gia", "stocks_and_shares_isa", "cash_isa", "bank_account", "pension", "offshore_bond",
                      "onshore_bond", "individual_shares", "property", "other"]
ActivityType = Literal["investment", "regular_investment", "tax_uplift", "switch_in", "withdrawal",
                       "regular_withdrawal", "switch_out", "fee", "dividend"]
IrrMethod = Literal["kingston_monthly", "xirr"]
OwnershipShare = decimal_type(5, 2, "0.01", "100")
Weighting = decimal_type(5, 2, "0.01", "100")


def isin_check_digit(payload: str) -> int:
    """The ISO 6166 check digit of an 11-character payload: Luhn over the letters expanded to numbers."""
    digits = "".join(str(int(c, 36)) for c in payload)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10


def isin_is_valid(isin: str) -> bool:
    """ISO 6166: two letters, nine alphanumerics, a check digit (isin_check_digit).
    The database's isin_is_valid() is the same rule, independently written in SQL."""
    if len(isin) != 12 or not isin[:2].isalpha() or not isin.isalnum() or not isin[11].isdigit() \
            or not isin.isascii() or isin != isin.upper():
        return False
    return isin_check_digit(isin[:11]) == int(isin[11])


def _isin(value: str | None) -> str | None:
    if value is not None and not isin_is_valid(value):
        raise ValueError("not a valid ISIN (format or check digit)")
    return value


# --- ownership: the three forms of the rules file ---

class IndividualOwnership(StrictModel):
    association_type: Literal["individual"]
    product_owner_id: UUID


class TenantsInCommonOwnership(StrictModel):
    association_type: Literal["tenants_in_common"]
    shares: dict[UUID, OwnershipShare] = Field(min_length=1)

    @field_validator("shares")
    @classmethod
    def _at_most_100(cls, shares: dict[UUID, Decimal]) -> dict[UUID, Decimal]:
        total = sum(shares.values(), Decimal(0))
        if total > 100:
            raise ValueError(f"shares sum to {total}, more than 100.00 (less is allowed: the rest is third parties')")
        return shares


class JointOwnership(StrictModel):
    association_type: Literal["joint"]
    joint_owners: list[UUID] = Field(min_length=2)
    collective_percentage: OwnershipShare = Decimal("100.00")

    @field_validator("joint_owners")
    @classmethod
    def _distinct(cls, owners: list[UUID]) -> list[UUID]:
        if len(set(owners)) != len(owners):
            raise ValueError("joint owners must be distinct")
        return owners


Ownership = Annotated[IndividualOwnership | TenantsInCommonOwnership | JointOwnership,
                      Field(discriminator="association_type")]


def ownership_document(ownership: Any) -> dict[str, Any]:
    """The stored JSON: ids as strings, percentages as strings with two decimals."""
    if isinstance(ownership, IndividualOwnership):
        return {"association_type": "individual", "product_owner_id": str(ownership.product_owner_id)}
    if isinstance(ownership, TenantsInCommonOwnership):
        return {"association_type": "tenants_in_common",
                "shares": {str(k): f"{v:.2f}" for k, v in ownership.shares.items()}}
    return {"association_type": "joint", "joint_owners": [str(o) for o in ownership.joint_owners],
            "collective_percentage": f"{ownership.collective_percentage:.2f}"}


def ownership_owner_ids(ownership: Any) -> list[UUID]:
    if isinstance(ownership, IndividualOwnership):
        return [ownership.product_owner_id]
    if isinstance(ownership, TenantsInCommonOwnership):
        return list(ownership.shares)
    return list(ownership.joint_owners)


# --- catalogue ---

class ProviderOut(ApiModel):
    id: UUID
    name: str
    status: Status
    colour: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class ProviderCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    status: Status = "active"
    colour: str | None = Field(None, pattern=r"^#[0-9A-Fa-f]{6}$")


class ProviderPatchIn(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    status: Status | None = None
    colour: str | None = Field(None, pattern=r"^#[0-9A-Fa-f]{6}$")


class ProviderListQuery(ListQuery):
    status: Status | None = None
    q: str | None = Field(None, min_length=1, max_length=200)


class FundOut(ApiModel):
    id: UUID
    name: str
    isin: str | None
    risk_factor: int | None
    ongoing_cost: Decimal | None
    currency: str
    is_cash: bool
    status: Status
    created_at: datetime
    updated_at: datetime
    version: int


class FundCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    isin: str | None = None
    risk_factor: int | None = Field(None, ge=1, le=7)
    ongoing_cost: Percentage | None = None
    currency: Currency = "GBP"
    is_cash: bool = False
    status: Status = "active"

    _isin = field_validator("isin")(_isin)


class FundPatchIn(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    isin: str | None = None
    risk_factor: int | None = Field(None, ge=1, le=7)
    ongoing_cost: Percentage | None = None
    currency: Currency | None = None
    status: Status | None = None

    _isin = field_validator("isin")(_isin)


class FundListQuery(ListQuery):
    isin: str | None = Field(None, max_length=12)
    status: Status | None = None
    q: str | None = Field(None, min_length=1, max_length=200)


class TemplateOut(ApiModel):
    id: UUID
    name: str
    description: str | None
    status: Status
    created_at: datetime
    updated_at: datetime
    version: int


class TemplateCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    status: Status = "active"


class TemplatePatchIn(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)
    status: Status | None = None


class GenerationFundIn(StrictModel):
    fund_id: UUID
    target_weighting: Weighting


class GenerationFundOut(ApiModel):
    fund_id: UUID
    target_weighting: Decimal


class GenerationCreateIn(StrictModel):
    name: str | None = Field(None, max_length=200)
    funds: list[GenerationFundIn] = Field(min_length=1, max_length=200)

    @field_validator("funds")
    @classmethod
    def _weights(cls, funds: list[GenerationFundIn]) -> list[GenerationFundIn]:
        ids = [f.fund_id for f in funds]
        if len(set(ids)) != len(ids):
            raise ValueError("each fund may appear once")
        total = sum((f.target_weighting for f in funds), Decimal(0))
        if total != Decimal("100.00"):
            raise ValueError(f"target weightings sum to {total}, not exactly 100.00")
        return funds


class GenerationOut(ApiModel):
    id: UUID
    template_id: UUID
    generation: int
    name: str | None
    funds: list[GenerationFundOut]
    in_use: bool
    created_at: datetime


# --- products ---

class ProductOut(ApiModel):
    id: UUID
    client_group_id: UUID
    name: str
    product_type: ProductType
    provider_id: UUID | None
    plan_number: str | None
    start_date: date
    end_date: date | None
    notes: str | None
    currency: str
    fixed_fee_direct: Decimal
    fixed_fee_facilitated: Decimal
    percentage_fee_facilitated: Decimal
    status: Literal["active", "lapsed"]
    ownership: dict[str, Any]
    template_generation_id: UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class ProductCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    product_type: ProductType
    provider_id: UUID | None = None
    plan_number: str | None = Field(None, max_length=100)
    start_date: Day
    end_date: Day | None = None
    notes: str | None = Field(None, max_length=10000)
    currency: Currency = "GBP"
    fixed_fee_direct: Money = Decimal("0")
    fixed_fee_facilitated: Money = Decimal("0")
    percentage_fee_facilitated: Percentage = Decimal("0")
    ownership: Ownership
    template_generation_id: UUID | None = Field(
        None, description="Build the portfolio from this generation: its funds and weightings are copied")

    @field_validator("end_date")
    @classmethod
    def _dates(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start_date")  # absent when start_date itself was invalid
        if end is not None and start is not None and end < start:
            raise ValueError("end_date must not be before start_date")
        return end


class ProductPatchIn(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    product_type: ProductType | None = None
    provider_id: UUID | None = None
    plan_number: str | None = Field(None, max_length=100)
    start_date: Day | None = None
    end_date: Day | None = None
    notes: str | None = Field(None, max_length=10000)
    currency: Currency | None = None
    fixed_fee_direct: Money | None = None
    fixed_fee_facilitated: Money | None = None
    percentage_fee_facilitated: Percentage | None = None
    ownership: Ownership | None = None


NULLABLE_PRODUCT_FIELDS = frozenset({"provider_id", "plan_number", "end_date", "notes"})


class ProductListQuery(ListQuery):
    status: Literal["active", "lapsed"] | None = None
    product_type: ProductType | None = None


class ProviderSwitchOut(ApiModel):
    id: UUID
    from_provider_id: UUID | None
    to_provider_id: UUID | None
    switched_at: datetime


class PortfolioFundOut(ApiModel):
    id: UUID
    product_id: UUID
    fund_id: UUID
    target_weighting: Decimal | None
    start_date: date
    end_date: date | None
    created_at: datetime
    updated_at: datetime
    version: int


class PortfolioFundCreateIn(StrictModel):
    fund_id: UUID
    target_weighting: Percentage | None = None
    start_date: Day


class PortfolioFundPatchIn(StrictModel):
    target_weighting: Percentage | None = None
    end_date: Day | None = Field(None, description="Ends the fund; it stays in the history")


class FundValuationOut(ApiModel):
    id: UUID
    portfolio_fund_id: UUID
    valuation_date: date
    value: Decimal
    created_at: datetime
    updated_at: datetime
    version: int


class FundValuationIn(StrictModel):
    valuation_date: Day
    value: Money


class FundValuationPatchIn(StrictModel):
    value: Money


class BulkValuationIn(StrictModel):
    portfolio_fund_id: UUID
    valuation_date: Day
    value: Money


class BulkValuationsIn(StrictModel):
    valuations: list[BulkValuationIn] = Field(min_length=1, max_length=5000)


class ActivityOut(ApiModel):
    id: UUID
    portfolio_fund_id: UUID
    activity_date: date
    activity_type: ActivityType
    amount: Decimal
    created_at: datetime
    updated_at: datetime
    version: int


class ActivityIn(StrictModel):
    activity_date: Day
    activity_type: ActivityType
    amount: decimal_type(18, 2, "0.01")


class ActivityPatchIn(StrictModel):
    activity_date: Day | None = None
    activity_type: ActivityType | None = None
    amount: decimal_type(18, 2, "0.01") | None = None


class BulkActivityIn(ActivityIn):
    portfolio_fund_id: UUID


class BulkActivitiesIn(StrictModel):
    activities: list[BulkActivityIn] = Field(min_length=1, max_length=5000)


class BulkOut(ApiModel):
    written: int


class DatedListQuery(ListQuery):
    from_: date | None = Field(None, alias="from")
    to: date | None = None


class PortfolioValuationOut(ApiModel):
    valuation_date: date
    value: Decimal


class IrrQuery(StrictModel):
    method: IrrMethod = "kingston_monthly"
    from_: date | None = Field(None, alias="from", description=(
        "Start of the period (default: inception). Each holding (a group's product) starts from its latest valuation "
        "on or before it, or from it when bought later"))
    to: date | None = Field(None, description="End of the period (default: the latest valuation)")
    include: Literal["flows"] | None = None


class IrrFlowOut(ApiModel):
    date: date
    amount: Decimal


class IrrOut(ApiModel):
    irr: Decimal | None = Field(description="Annual rate as a decimal: 0.0734 is 7.34%; null when none exists")
    method: IrrMethod
    from_: date | None = Field(alias="from", serialization_alias="from")
    to: date | None
    reason: str | None
    flows: list[IrrFlowOut] | None = None


class IrrHistoryQuery(ListQuery):
    method: IrrMethod | None = None


class IrrHistoryOut(ApiModel):
    valuation_date: date
    method: IrrMethod
    irr: Decimal | None
    reason: str | None


class RevenueOut(ApiModel):
    product_id: UUID | None = None
    fixed_fee_direct: Decimal
    fixed_fee_facilitated: Decimal
    percentage_fee_facilitated: Decimal | None = None
    latest_valuation: Decimal | None
    valuation_date: date | None
    revenue: Decimal


class ClientGroupSummaryOut(ApiModel):
    client_group_id: UUID
    name: str
    funds_under_management: Decimal
    revenue: Decimal
    active_products: int
    lapsed_products: int
    latest_valuation_date: date | None
    irr: IrrOut = Field(description="Computed live from the group's pooled flows (Kingston method)")
    refreshed_at: datetime = Field(description="When the summary figures (not the IRR) were last refreshed")
    pending_refresh: bool = Field(description=(
        "True for a household created since that refresh: its figures are zeros until the next refresh-views run"))


class DashboardRow(ApiModel):
    key: str
    label: str | None
    funds_under_management: Decimal
    revenue: Decimal
    products: int


class TopHousehold(ApiModel):
    client_group_id: UUID
    name: str
    funds_under_management: Decimal
    revenue: Decimal


class DashboardOut(ApiModel):
    funds_under_management: Decimal
    revenue: Decimal
    products: int
    by_provider: list[DashboardRow]
    by_product_type: list[DashboardRow]
    by_adviser: list[DashboardRow]
    top_households: list[TopHousehold]
    refreshed_at: datetime = Field(description="When these figures were last refreshed (job refresh-views)")


class RevenueTotalOut(ApiModel):
    revenue: Decimal
    products: int
    computed_at: datetime
