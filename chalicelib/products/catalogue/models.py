"""Request and response models for the firm's catalogue: providers, funds (ISIN checked), portfolio templates
and their generations."""
from __future__ import annotations

from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import Field, StrictBool, StrictInt, field_validator

from chalicelib.core.models import (
    ApiModel,
    Currency,
    IsoDateTime,
    Percentage,
    StrictModel,
    decimal_type,
)
from chalicelib.core.pagination import ListQuery

Status = Literal["active", "inactive"]
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


class ProviderOut(ApiModel):
    id: UUID
    name: str
    status: Status
    colour: str | None
    created_at: IsoDateTime
    updated_at: IsoDateTime
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
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


class FundCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    isin: str | None = None
    risk_factor: StrictInt | None = Field(None, ge=1, le=7)
    ongoing_cost: Percentage | None = None
    currency: Currency = "GBP"
    is_cash: StrictBool = False
    status: Status = "active"

    _isin = field_validator("isin")(_isin)


class FundPatchIn(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    isin: str | None = None
    risk_factor: StrictInt | None = Field(None, ge=1, le=7)
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
    created_at: IsoDateTime
    updated_at: IsoDateTime
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
    created_at: IsoDateTime


