"""Request and response models for IRR, the stored IRR history, revenue, household summaries and the dashboard."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator

from chalicelib.core.models import ApiModel, StrictModel
from chalicelib.core.pagination import ListQuery

IrrMethod = Literal["kingston_monthly", "xirr"]


class IrrQuery(StrictModel):
    method: IrrMethod = "kingston_monthly"
    from_: date | None = Field(None, alias="from", description=(
        "Start of the period (default: inception). Each holding (a group's product) starts from its latest valuation "
        "on or before it, or from it when bought later"))
    to: date | None = Field(None, description="End of the period (default: the latest valuation)")
    include: Literal["flows"] | None = None


class SelectionIrrIn(StrictModel):
    """The IRR of any portfolio funds of the firm taken together (pooled, never averaged) over a period."""

    portfolio_fund_ids: list[UUID] = Field(min_length=1, max_length=500, description=(
        "1 to 500 distinct portfolio funds of the firm; each is a holding over its own period, as a household's "
        "products are"))
    from_: date | None = Field(None, alias="from", description=IrrQuery.model_fields["from_"].description)
    to: date | None = Field(None, description="End of the period (default: the latest valuation)")
    method: IrrMethod = "kingston_monthly"
    include: Literal["flows"] | None = None

    @field_validator("portfolio_fund_ids")
    @classmethod
    def _distinct(cls, ids: list[UUID]) -> list[UUID]:
        seen: set[UUID] = set()
        twice = [i for i, x in enumerate(ids) if x in seen or seen.add(x)]
        if twice:
            raise ValueError(f"portfolio fund ids must be distinct: entry {twice[0]} repeats an earlier one")
        return ids


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
