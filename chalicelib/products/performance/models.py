"""Request and response models for IRR, the stored IRR history, revenue, household summaries and the dashboard."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from chalicelib.core.http import ListQuery
from chalicelib.core.models import ApiModel, StrictModel, decimal_type

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
