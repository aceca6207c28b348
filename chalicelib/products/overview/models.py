"""Request and response models for a household's overview: its products, their funds and figures in one answer."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from chalicelib.core.models import ApiModel, IsoDate, StrictModel
from chalicelib.products.holdings.models import ProductType
from chalicelib.products.performance.models import IrrMethod


class OverviewQuery(StrictModel):
    method: IrrMethod = Field("kingston_monthly", description="The IRR method of every IRR in the answer")


class IrrFigure(ApiModel):
    """A whole-life IRR, as the IRR endpoints answer it (the method is the overview's)."""

    irr: Decimal | None = Field(description="Annual rate as a decimal: 0.0734 is 7.34%; null when none exists")
    from_: IsoDate | None = Field(alias="from", serialization_alias="from")
    to: IsoDate | None
    reason: str | None


class OverviewFund(ApiModel):
    portfolio_fund_id: UUID
    fund_id: UUID
    fund_name: str
    isin: str | None
    is_cash: bool
    target_weighting: Decimal | None
    start_date: IsoDate
    end_date: IsoDate | None
    valuation: Decimal | None = Field(description="The fund's latest valuation")
    valuation_date: IsoDate | None
    # cash flows summed by what they are (amounts as recorded, all positive; fees and dividends are in none)
    invested: Decimal = Field(description="Money in: investments, regular investments and tax uplifts")
    withdrawn: Decimal = Field(description="Money out: withdrawals and regular withdrawals")
    switched_in: Decimal
    switched_out: Decimal
    irr: IrrFigure


class PreviousFunds(ApiModel):
    """The product's portfolio funds that ended before today, as one line."""

    label: str = Field(description='"Previous funds (n)"')
    count: int
    portfolio_fund_ids: list[UUID]
    valuation: Decimal = Field(description="Their latest valuations added up (normally 0)")
    # cash flows summed by what they are (amounts as recorded, all positive; fees and dividends are in none)
    invested: Decimal = Field(description="Money in: investments, regular investments and tax uplifts")
    withdrawn: Decimal = Field(description="Money out: withdrawals and regular withdrawals")
    switched_in: Decimal
    switched_out: Decimal
    irr: IrrFigure = Field(description="Their pooled IRR: their flows and values together, not an average")


class OverviewOwner(ApiModel):
    product_owner_id: UUID
    name: str = Field(description="The name they go by (or first name) and surname")
    share: Decimal = Field(description=(
        "Their percentage: 100.00 for an individual owner, their share for tenants in common, the collective "
        "percentage (held together) for joint owners"))


class NamedRef(ApiModel):
    id: UUID
    name: str


class GenerationRef(ApiModel):
    id: UUID
    generation: int
    name: str | None


class OverviewProduct(ApiModel):
    id: UUID
    name: str
    product_type: ProductType
    status: Literal["active", "lapsed"]
    start_date: IsoDate
    end_date: IsoDate | None
    plan_number: str | None
    currency: str
    provider: NamedRef | None
    portfolio_template: NamedRef | None
    template_generation: GenerationRef | None
    ownership: dict[str, Any] = Field(description="As the products API shows it (docs/domain.md, Ownership)")
    owners: list[OverviewOwner]
    fixed_fee_direct: Decimal
    fixed_fee_facilitated: Decimal
    percentage_fee_facilitated: Decimal
    revenue: Decimal = Field(description="Fixed direct + fixed facilitated + valuation x percentage / 100")
    valuation: Decimal | None = Field(description="The product's latest complete valuation")
    valuation_date: IsoDate | None
    # cash flows summed by what they are, over all its funds (previous ones too)
    invested: Decimal = Field(description="Money in: investments, regular investments and tax uplifts")
    withdrawn: Decimal = Field(description="Money out: withdrawals and regular withdrawals")
    switched_in: Decimal
    switched_out: Decimal
    irr: IrrFigure = Field(description="The product's IRR (its complete valuations and netted flows)")
    funds: list[OverviewFund] = Field(description="Portfolio funds active today or later")
    previous_funds: PreviousFunds | None = Field(description="Funds that ended before today; null when none")


class OverviewTotals(ApiModel):
    funds_under_management: Decimal = Field(description="Latest complete valuations of the active products")
    revenue: Decimal = Field(description="Revenue of the active products")
    # cash flows summed by what they are, over every product (lapsed ones too)
    invested: Decimal = Field(description="Money in: investments, regular investments and tax uplifts")
    withdrawn: Decimal = Field(description="Money out: withdrawals and regular withdrawals")
    switched_in: Decimal
    switched_out: Decimal
    irr: IrrFigure = Field(description="The household's IRR: every product's flows pooled (lapsed ones too)")


class ClientGroupOverviewOut(ApiModel):
    client_group_id: UUID
    name: str
    status: Literal["active", "dormant", "inactive"]
    method: IrrMethod
    as_of: IsoDate = Field(description="Today, which decides which funds have ended")
    products: list[OverviewProduct]
    totals: OverviewTotals
