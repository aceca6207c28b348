"""Request and response models for client groups, product owners and membership."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator

from chalicelib.core.models import ApiModel, Email, IsoDate, IsoDateTime, StrictModel, iso_date
from chalicelib.core.pagination import ListQuery, ListSpec

GroupType = Literal["individual", "couple", "family", "trust", "corporate"]
GroupStatus = Literal["active", "dormant", "inactive"]
OwnerStatus = Literal["active", "inactive", "deceased"]
BirthDate = iso_date(ge=date(1900, 1, 1))


class ClientGroupOut(ApiModel):
    id: UUID
    name: str
    type: GroupType
    status: GroupStatus
    adviser_id: UUID | None
    notes: str | None
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


class ClientGroupListItemOut(ClientGroupOut):
    """A row of the household list: with `include=fum` it also carries the household's money, live (the database
    keeps it in step in every writer's transaction; docs/domain.md, "The household list"); without include=fum
    these fields are absent."""

    funds_under_management: Decimal | None = Field(None, description=(
        "With include=fum: the sum of the household's active products' latest complete valuations, to the penny "
        "(0.00 when none is valued)"))
    product_count: int | None = Field(None, description=(
        "With include=fum: how many active products the household has (lapsed ones are not counted)"))
    latest_valuation_date: IsoDate | None = Field(None, description=(
        "With include=fum: the latest complete valuation date among all the household's products, lapsed ones "
        "included (null when none has a complete valuation)"))


class ClientGroupCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    type: GroupType
    status: GroupStatus = "active"
    adviser_id: UUID | None = None
    notes: str | None = Field(None, max_length=10000)


class ClientGroupPatchIn(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    type: GroupType | None = None
    status: GroupStatus | None = None
    adviser_id: UUID | None = None
    notes: str | None = Field(None, max_length=10000)


# `fum` sorts by the live funds under management in pennies (client_group_fum.fum_pennies, migration 0016), which
# only the include=fum query reads (the service refuses sort=fum without include=fum); ties are broken by the id,
# as for every sort.
GROUPS = ListSpec("client_groups", {"name": (("name", "text"),), "created_at": (("created_at", "timestamptz"),),
                                     "updated_at": (("updated_at", "timestamptz"),),
                                     "fum": (("fum_pennies", "bigint"),)}, default_sort="name")
OWNERS = ListSpec("product_owners", {"surname": (("surname", "text"), ("first_name", "text")),
                                     "first_name": (("first_name", "text"), ("surname", "text")),
                                     "inception_date": (("inception_date", "date"),),
                                     "created_at": (("created_at", "timestamptz"),),
                                     "updated_at": (("updated_at", "timestamptz"),)}, default_sort="surname")


class ClientGroupListQuery(ListQuery):
    sort: str = GROUPS.sort_field(
        "name, created_at, updated_at or fum (funds under management; needs include=fum); prefix - for descending")
    status: GroupStatus | None = None
    type: GroupType | None = None
    q: str | None = Field(None, min_length=1, max_length=200, description="Case-insensitive match on the name")
    adviser_id: UUID | None = None
    include: Literal["fum"] | None = Field(None, description=(
        "fum: add each household's funds_under_management, product_count and latest_valuation_date, live (kept "
        "in step with its products and valuations by every write)"))


def _not_future(v: date | None) -> date | None:
    if v is not None and v > date.today():
        raise ValueError("must not be in the future")
    return v


class ProductOwnerOut(ApiModel):
    id: UUID
    first_name: str
    surname: str
    known_as: str | None
    date_of_birth: IsoDate | None
    email: str | None
    phone: str | None
    status: OwnerStatus
    inception_date: IsoDate
    retention_hold: bool = Field(description="While true the person cannot be erased (set and cleared by an admin)")
    erased_at: IsoDateTime | None = Field(description="When the person was erased (anonymized); null: not erased")
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


class ProductOwnerCreateIn(StrictModel):
    first_name: str = Field(min_length=1, max_length=100)
    surname: str = Field(min_length=1, max_length=100)
    known_as: str | None = Field(None, max_length=100)
    date_of_birth: BirthDate | None = None
    email: Email | None = None
    phone: str | None = Field(None, max_length=40, pattern=r"^[0-9+() .-]{3,40}$")
    status: OwnerStatus = "active"
    inception_date: IsoDate | None = Field(None, description="Defaults to today")

    _dob = field_validator("date_of_birth")(_not_future)


class ProductOwnerPatchIn(StrictModel):
    first_name: str | None = Field(None, min_length=1, max_length=100)
    surname: str | None = Field(None, min_length=1, max_length=100)
    known_as: str | None = Field(None, max_length=100)
    date_of_birth: BirthDate | None = None
    email: Email | None = None
    phone: str | None = Field(None, max_length=40, pattern=r"^[0-9+() .-]{3,40}$")
    status: OwnerStatus | None = None
    inception_date: IsoDate | None = None
    retention_hold: bool | None = Field(None, description="Admins only: holds the person back from erasure")

    _dob = field_validator("date_of_birth")(_not_future)


class ProductOwnerListQuery(ListQuery):
    sort: str = OWNERS.sort_field(
        "surname, first_name, inception_date, created_at or updated_at; - for descending")
    status: OwnerStatus | None = None
    q: str | None = Field(None, min_length=1, max_length=200, description="Match on first name, surname or known-as")


# Fields that may be cleared with null in a PATCH; the others are required once set.
NULLABLE_GROUP_FIELDS = frozenset({"adviser_id", "notes"})
NULLABLE_OWNER_FIELDS = frozenset({"known_as", "date_of_birth", "email", "phone"})
