"""Request and response models for net worth: the live answer, statements and the daily history."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, model_validator

from chalicelib.core.models import ApiModel, IsoDate, IsoDateTime, StrictModel, iso_date
from chalicelib.core.pagination import ListQuery, ListSpec

# As far back or ahead as any dated row may be (products, valuations: 1900-2099); a later or earlier date is a
# typing mistake.
Day = iso_date(ge=date(1900, 1, 1), le=date(2099, 12, 31))
HistoryRange = Literal["30d", "90d", "ytd", "1y", "5y", "all"]

AMOUNTS_DESCRIPTION = (
    "One decimal string per column: each owner's id (the household's people, in the order of `owners`), `joint`, "
    "`third_party` and `total`. The owners' columns and `joint` add up to `total`, the household's part; "
    "`third_party` is what people outside the household own and is never in `total`.")
Amounts = Annotated[dict[str, Decimal], Field(description=AMOUNTS_DESCRIPTION)]


class NetWorthQuery(StrictModel):
    as_of: Day | None = Field(None, description=(
        "The day (default: today): each holding at its latest valuation on or before it, holdings not active on "
        "it left out. Not after today."))


class OwnerOut(ApiModel):
    id: UUID
    name: str


class NetWorthRowOut(ApiModel):
    source: Literal["managed_product", "unmanaged_product", "item"]
    id: UUID
    name: str
    currency: str = Field(description="The holding's own currency")
    value: Decimal = Field(description="Its value in its own currency (a liability's is positive)")
    rate: Decimal | None = Field(description="The rate to the firm's currency used; null in the firm's currency")
    valuation_date: IsoDate | None = Field(description="The date of the value used; null when it has none")
    amounts: Amounts


class NetWorthSectionOut(ApiModel):
    name: str = Field(description="The product or item type")
    kind: Literal["asset", "liability"]
    rows: list[NetWorthRowOut]
    subtotal: Amounts


class NetWorthTotalsOut(ApiModel):
    assets: Amounts
    liabilities: Amounts
    net_worth: Amounts = Field(description="assets - liabilities, column by column")


class UnconvertedOut(ApiModel):
    source: Literal["managed_product", "unmanaged_product", "item"]
    id: UUID
    name: str
    section: str
    kind: Literal["asset", "liability"]
    currency: str
    value: Decimal
    valuation_date: IsoDate | None
    reason: str


class NetWorthOut(ApiModel):
    client_group_id: UUID
    as_of: IsoDate
    currency: str = Field(description="The firm's currency: every amount is in it")
    owners: list[OwnerOut] = Field(description="The household's people: inception date, then id")
    sections: list[NetWorthSectionOut] = Field(description="Assets first, then liabilities; by type")
    totals: NetWorthTotalsOut
    unconverted: list[UnconvertedOut] = Field(description=(
        "Holdings in a currency with no rate on or before as_of: listed, in no figure"))


# --- statements ---

class StatementCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)


class StatementSummaryOut(ApiModel):
    id: UUID
    client_group_id: UUID
    name: str
    as_of: IsoDate
    currency: str
    assets: Decimal = Field(description="The household's part")
    liabilities: Decimal = Field(description="The household's part")
    net_worth: Decimal = Field(description="assets - liabilities")
    created_at: IsoDateTime
    created_by_type: Literal["user", "api_key", "system"]
    created_by: UUID | None


class StatementOut(StatementSummaryOut):
    networth: NetWorthOut = Field(description="The net worth as it was shown when the statement was made")


STATEMENTS = ListSpec("networth_statements", {"created_at": (("created_at", "timestamptz"),)},
                      default_sort="-created_at")  # newest first


class StatementListQuery(ListQuery):
    created_after: IsoDateTime | None = Field(None, description="Only statements made after this time")
    created_by: UUID | None = Field(None, description="Only statements made by this user or API key")


# --- history ---

class HistoryQuery(StrictModel):
    range: HistoryRange | None = Field(None, description=(
        "30d and 90d: today and the 29 or 89 days before; ytd: from 1 January; 1y, 5y: from the same day one or "
        "five years ago; all: every snapshot. Default 1y unless from/to are given"))
    from_: Day | None = Field(None, alias="from", description="First day (instead of range)")
    to: Day | None = Field(None, description="Last day (instead of range; default today)")

    @model_validator(mode="after")
    def _one_way(self) -> HistoryQuery:
        if self.range is not None and (self.from_ is not None or self.to is not None):
            raise ValueError("give either range or from/to, not both")
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError("from must not be after to")
        if self.range is None and self.from_ is None and self.to is None:
            self.range = "1y"
        return self


class HistoryPointOut(ApiModel):
    date: IsoDate
    assets: Decimal
    liabilities: Decimal
    net_worth: Decimal
    live: bool = Field(description="Today's figure, computed now; every other point is that day's snapshot")


class HistoryOut(ApiModel):
    client_group_id: UUID
    currency: str
    range: HistoryRange | None
    from_: IsoDate | None = Field(alias="from", serialization_alias="from")
    to: IsoDate
    points: list[HistoryPointOut] = Field(description=(
        "One per day with a snapshot, oldest first, the household's part; today's live figure last"))
