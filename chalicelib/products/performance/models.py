"""Request and response models for IRR, the stored IRR history, revenue, household summaries and the dashboard."""
from __future__ import annotations

from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator

from chalicelib.core.models import ApiModel, IsoDate, IsoDateTime, StrictModel
from chalicelib.core.pagination import ListQuery

IrrMethod = Literal["kingston_monthly", "xirr"]


class IrrQuery(StrictModel):
    method: IrrMethod = "kingston_monthly"
    from_: IsoDate | None = Field(None, alias="from", description=(
        "Start of the period (default: inception). Each holding (a group's product) starts from its latest valuation "
        "on or before it, or from it when bought later"))
    to: IsoDate | None = Field(None, description="End of the period (default: the latest valuation)")
    include: Literal["flows"] | None = None


class SelectionIrrIn(StrictModel):
    """The IRR of any portfolio funds of the firm taken together (pooled, never averaged) over a period."""

    portfolio_fund_ids: list[UUID] = Field(min_length=1, max_length=500, description=(
        "1 to 500 distinct portfolio funds of the firm; each is a holding over its own period, as a household's "
        "products are"))
    from_: IsoDate | None = Field(None, alias="from", description=IrrQuery.model_fields["from_"].description)
    to: IsoDate | None = Field(None, description="End of the period (default: the latest valuation)")
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
    date: IsoDate
    amount: Decimal


class IrrOut(ApiModel):
    irr: Decimal | None = Field(description="Annual rate as a decimal: 0.0734 is 7.34%; null when none exists")
    method: IrrMethod
    from_: IsoDate | None = Field(alias="from", serialization_alias="from")
    to: IsoDate | None
    reason: str | None
    flows: list[IrrFlowOut] | None = None


class IrrHistoryQuery(ListQuery):
    method: IrrMethod | None = None


class IrrHistoryOut(ApiModel):
    valuation_date: IsoDate
    method: IrrMethod
    irr: Decimal | None
    reason: str | None


class RevenueOut(ApiModel):
    product_id: UUID | None = None
    fixed_fee_direct: Decimal
    fixed_fee_facilitated: Decimal
    percentage_fee_facilitated: Decimal | None = None
    latest_valuation: Decimal | None
    valuation_date: IsoDate | None
    revenue: Decimal


class InformationItemCounts(ApiModel):
    basic_detail: int
    income_expenditure: int
    assets_liabilities: int
    protection: int
    vulnerability_health: int
    total: int


class ClientGroupSummaryOut(ApiModel):
    client_group_id: UUID
    name: str
    funds_under_management: Decimal = Field(description="Sum of the active products' latest complete valuations")
    revenue: Decimal = Field(description="Sum of the active products' revenue, each rounded to the penny")
    active_products: int
    lapsed_products: int
    latest_valuation_date: IsoDate | None = Field(description="The latest complete valuation of any of its products")
    irr: IrrOut = Field(description="The group's pooled flows (Kingston method, whole life)")
    unmanaged_assets: Decimal = Field(description=(
        "The household's part of its active unmanaged assets today, in the firm's currency (as net worth counts "
        "them; one without a rate is in no figure)"))
    unmanaged_liabilities: Decimal = Field(description="The same for its unmanaged liabilities")
    net_worth: Decimal = Field(description=(
        "The household's net worth today, its part: GET /v1/client-groups/{id}/networth's totals.net_worth.total"))
    information_items: InformationItemCounts = Field(description="How many information items it has, by type")
    refreshed_at: IsoDateTime = Field(description=(
        "When these figures were computed: all of them are live, from the rows as they are at that time"))


class DashboardQuery(StrictModel):
    method: IrrMethod = Field("kingston_monthly", description="The method of the firm IRR shown")


class DashboardRow(ApiModel):
    key: str
    label: str | None
    funds_under_management: Decimal
    revenue: Decimal
    products: int


class DashboardFundRow(ApiModel):
    key: str = Field(description="The fund's id")
    label: str | None = Field(description="The fund's name")
    funds_under_management: Decimal = Field(description=(
        "Its valuations, across the firm's active products, on each product's latest complete valuation date"))
    portfolio_funds: int = Field(description="Portfolio funds holding it, valued on that date")
    products: int = Field(description="Active products holding it")


class DashboardCounts(ApiModel):
    households: int = Field(description="Client groups, any status")
    people: int = Field(description="Product owners, any status")
    products: int = Field(description="Active products")
    lapsed_products: int
    portfolio_funds: int = Field(description="Portfolio funds held now: no end date, in an active product")


class TopHousehold(ApiModel):
    client_group_id: UUID
    name: str
    funds_under_management: Decimal
    revenue: Decimal


class FirmIrrOut(IrrOut):
    as_of: IsoDateTime | None = Field(None, description="When the refresh that computed it began")


class FirmNetWorthOut(ApiModel):
    as_of: IsoDate | None = Field(description=(
        "The latest day the job networth-snapshots took (normally yesterday); null before its first run"))
    currency: str | None
    households: int = Field(description="Households in that day's figures")
    assets: Decimal = Field(description="The households' parts added up")
    liabilities: Decimal
    net_worth: Decimal = Field(description="assets - liabilities: the firm's net worth under advice")


class DashboardOut(ApiModel):
    funds_under_management: Decimal
    revenue: Decimal
    products: int
    by_provider: list[DashboardRow]
    by_product_type: list[DashboardRow]
    by_adviser: list[DashboardRow]
    by_template: list[DashboardRow] = Field(description=(
        "By the portfolio template a product was created from (`none`: created without one)"))
    by_fund: list[DashboardFundRow]
    top_households: list[TopHousehold]
    counts: DashboardCounts
    irr: FirmIrrOut = Field(description=(
        "The firm's pooled IRR: every product's flows pooled as a household's are, whole life"))
    net_worth: FirmNetWorthOut = Field(description=(
        "Net worth under advice: every household's net worth (its part) on the latest day snapshotted"))
    refreshed_at: IsoDateTime = Field(description=(
        "When the refresh these figures come from began: every write committed before it is in them"))
    stale: bool = Field(description="True when a write since then is not in these figures yet")
    stale_since: IsoDateTime | None = Field(description=(
        "When the oldest write not in these figures began; the next refresh (every minute) takes it in"))


class RevenueTotalOut(ApiModel):
    revenue: Decimal
    products: int
    computed_at: IsoDateTime
