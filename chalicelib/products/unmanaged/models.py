"""Request and response models for unmanaged products (assets and liabilities held elsewhere) and their
valuations (the balance history).

Ownership is the managed products' own model (holdings.models: its three forms, the same validation), and an
asset's product types are theirs (holdings.models.ProductType); liabilities have their own four."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from chalicelib.core.models import ApiModel, Currency, IsoDate, IsoDateTime, Money, StrictModel
from chalicelib.core.pagination import ListQuery, Page
from chalicelib.products.holdings.models import Day, Ownership, ProductType

Kind = Literal["asset", "liability"]
LiabilityType = Literal["mortgage", "loan", "credit_card", "other_liability"]
UnmanagedType = Literal[get_args(ProductType) + get_args(LiabilityType)]  # type: ignore[valid-type]
# Which types each kind takes; the database's CHECK unmanaged_products_type_fits_kind (migration 0021) says the same.
TYPES_OF_KIND: dict[str, frozenset[str]] = {"asset": frozenset(get_args(ProductType)),
                                            "liability": frozenset(get_args(LiabilityType))}
Status = Literal["active", "sold", "transferred", "matured", "cancelled"]
Source = Literal["manual", "import", "feed"]


def type_fits_kind(kind: str, product_type: str) -> bool:
    return product_type in TYPES_OF_KIND[kind]


def _not_future(day: date) -> date:
    if day > date.today():
        raise ValueError("must not be in the future")
    return day


# A valuation's date: within the dates any dated row may carry, and not after today.
ValuationDay = Annotated[Day, AfterValidator(_not_future)]


class UnmanagedProductOut(ApiModel):
    id: UUID
    client_group_id: UUID
    name: str
    kind: Kind
    product_type: UnmanagedType
    provider_id: UUID | None
    ownership: dict[str, Any]
    currency: str
    notes: str | None
    status: Status
    current_value: Decimal | None = Field(description="The latest-dated valuation's value (read-only)")
    current_value_date: IsoDate | None = Field(description="The latest valuation's date (read-only)")
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


def _fits(product_type: str | None, info: ValidationInfo) -> str | None:
    kind = info.data.get("kind")  # absent when kind itself was invalid (or not sent, in a PATCH)
    if product_type is not None and kind is not None and not type_fits_kind(kind, product_type):
        raise ValueError(f"{product_type} is not a type of {kind}: "
                         + ", ".join(sorted(TYPES_OF_KIND[kind])))
    return product_type


class UnmanagedProductCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200, description="Unique in the household, ignoring case")
    kind: Kind
    product_type: UnmanagedType
    provider_id: UUID | None = None
    ownership: Ownership
    currency: Currency | None = Field(None, description="ISO 4217; the firm's base currency when not given")
    notes: str | None = Field(None, max_length=10000)

    _type_fits = field_validator("product_type")(_fits)


class UnmanagedProductPatchIn(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: Kind | None = None
    product_type: UnmanagedType | None = None
    provider_id: UUID | None = None
    ownership: Ownership | None = None
    currency: Currency | None = None
    notes: str | None = Field(None, max_length=10000)

    _type_fits = field_validator("product_type")(_fits)


NULLABLE_UNMANAGED_FIELDS = frozenset({"provider_id", "notes"})


class UnmanagedStatusIn(StrictModel):
    status: Status
    reason: str = Field(min_length=1, max_length=1000, description="Why; kept in the audit trail")


class UnmanagedListQuery(ListQuery):
    kind: Kind | None = None
    product_type: UnmanagedType | None = None
    status: Status | None = None
    provider_id: UUID | None = None
    min_current_value: Money | None = Field(None, description="Only products valued at this or more")
    max_current_value: Money | None = Field(None, description="Only products valued at this or less")

    @field_validator("max_current_value")
    @classmethod
    def _ordered(cls, high: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low = info.data.get("min_current_value")
        if high is not None and low is not None and high < low:
            raise ValueError("max_current_value must not be below min_current_value")
        return high


class UnmanagedCurrencyTotal(ApiModel):
    currency: str
    count: int
    total_current_value: Decimal


class UnmanagedTypeSummary(ApiModel):
    product_type: UnmanagedType
    kind: Kind
    count: int = Field(description="Products of this type the filters select, valued or not")
    total_current_value: Decimal = Field(description=(
        "Their current values in the firm's base currency, each at its currency's latest rate on or before today "
        "and rounded to the penny, summed; products in a currency with no such rate are in `unconverted`"))
    unconverted: list[UnmanagedCurrencyTotal] = Field(description=(
        "Per currency without a rate: how many products and their current values summed, in that currency"))


class UnmanagedPage(Page[UnmanagedProductOut]):
    base_currency: str
    summary: list[UnmanagedTypeSummary] = Field(description=(
        "By product type, over every product the filters select (all pages, not only this one)"))


class UnmanagedValuationIn(StrictModel):
    valuation_date: ValuationDay
    value: Money
    source: Source = "manual"


class UnmanagedValuationOut(ApiModel):
    id: UUID
    unmanaged_product_id: UUID
    valuation_date: IsoDate
    value: Decimal
    source: Source
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


class UnmanagedValuationsBulkIn(StrictModel):
    valuations: list[UnmanagedValuationIn] = Field(min_length=1, max_length=5000)
