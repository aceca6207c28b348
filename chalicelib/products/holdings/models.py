"""Request and response models for products (with ownership), portfolio funds, fund valuations and cash flows."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, ValidationInfo, field_validator

from chalicelib.core.models import (
    ApiModel,
    Currency,
    IsoDate,
    IsoDateTime,
    Money,
    Percentage,
    StrictModel,
    decimal_type,
    iso_date,
)
from chalicelib.core.pagination import ListQuery

# A date a product, fund, valuation or cash flow may carry: far-off years are typing mistakes, and the IRR
# arithmetic counts months between dates (a year 9999 date would overflow it, or size a solver by centuries).
Day = iso_date(ge=date(1900, 1, 1), le=date(2099, 12, 31))

ProductType = Literal["gia", "stocks_and_shares_isa", "cash_isa", "bank_account", "pension", "offshore_bond",
                      "onshore_bond", "individual_shares", "property", "other"]
# Which of these are money in, money out or neither (fees, dividends) is SQL function activity_sign (migration 0004).
ActivityType = Literal["investment", "regular_investment", "tax_uplift", "switch_in", "withdrawal",
                       "regular_withdrawal", "switch_out", "fee", "dividend"]
OwnershipShare = decimal_type(5, 2, "0.01", "100")


# --- ownership: its three forms (docs/domain.md, "Ownership") ---

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


# --- products ---

class ProductOut(ApiModel):
    id: UUID
    client_group_id: UUID
    name: str
    product_type: ProductType
    provider_id: UUID | None
    plan_number: str | None
    start_date: IsoDate
    end_date: IsoDate | None
    notes: str | None
    currency: str
    fixed_fee_direct: Decimal
    fixed_fee_facilitated: Decimal
    percentage_fee_facilitated: Decimal
    status: Literal["active", "lapsed"]
    ownership: dict[str, Any]
    template_generation_id: UUID | None
    created_at: IsoDateTime
    updated_at: IsoDateTime
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
    switched_at: IsoDateTime


class PortfolioFundOut(ApiModel):
    id: UUID
    product_id: UUID
    fund_id: UUID
    target_weighting: Decimal | None
    start_date: IsoDate
    end_date: IsoDate | None
    created_at: IsoDateTime
    updated_at: IsoDateTime
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
    valuation_date: IsoDate
    value: Decimal
    created_at: IsoDateTime
    updated_at: IsoDateTime
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
    activity_date: IsoDate
    activity_type: ActivityType
    amount: Decimal
    created_at: IsoDateTime
    updated_at: IsoDateTime
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
    from_: IsoDate | None = Field(None, alias="from")
    to: IsoDate | None = None


class PortfolioValuationOut(ApiModel):
    valuation_date: IsoDate
    value: Decimal


