"""Request and response models for exchange rates (fx_rates): one rate per currency and date, to the firm's base
currency."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import Field, ValidationInfo, field_validator

from chalicelib.core.models import ApiModel, Currency, IsoDate, IsoDateTime, StrictModel, decimal_type
from chalicelib.core.pagination import ListQuery, ListSpec
from chalicelib.products.holdings.models import Day

# What one unit of the currency is worth in the base currency: more than 0, up to ten decimals.
Rate = decimal_type(20, 10, "0.0000000001")

# Newest first by default; rates of one date by currency, then id.
FX_RATE_LIST = ListSpec("fx_rates", {"rate_date": (("rate_date", "date"), ("currency", "text"))}, "-rate_date")


class FxRateIn(StrictModel):
    currency: Currency = Field(description="ISO 4217; not the firm's base currency (its rate is always 1)")
    rate_date: Day
    rate: Rate = Field(description="The value of one unit of `currency` in the firm's base currency on that date")


class FxRateOut(ApiModel):
    id: UUID
    currency: str
    rate_date: IsoDate
    rate: Decimal
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


class FxRatesBulkIn(StrictModel):
    rates: list[FxRateIn] = Field(min_length=1, max_length=5000)


class FxRatesBulkOut(ApiModel):
    written: int = Field(description="Rows in the request: created + replaced")
    created: int
    replaced: int = Field(description="Currency and date pairs that had a rate already (now the new one)")


class FxRateListQuery(ListQuery):
    currency: Currency | None = None
    from_: IsoDate | None = Field(None, alias="from", description="Rates dated on or after this date")
    to: IsoDate | None = Field(None, description="Rates dated on or before this date")
    sort: str = FX_RATE_LIST.sort_field("rate_date (oldest first) or -rate_date (newest first, the default)")

    @field_validator("to")
    @classmethod
    def _ordered(cls, to: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("from_")
        if to is not None and start is not None and to < start:
            raise ValueError("to must not be before from")
        return to
