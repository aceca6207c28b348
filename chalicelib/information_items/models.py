"""Request and response models for information items, and the rules of their content (`data_content`).

The content rules (docs/domain.md, "Information items") are written here for the edge and again in the database
(migration 0022: information_data_is_valid in a CHECK, information_items_dates_check in a trigger), which has the
last word. An item's owners use the products' ownership forms: the same models (products.holdings.models).
"""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, ValidationInfo, WithJsonSchema, field_validator

from chalicelib.core.models import ApiModel, IsoDateTime, StrictModel
from chalicelib.core.pagination import ListQuery, ListSpec
from chalicelib.products.holdings.models import Ownership

ItemType = Literal["basic_detail", "income_expenditure", "assets_liabilities", "protection", "vulnerability_health"]
# The types whose items name their owners (and only these).
OWNED_TYPES = frozenset({"assets_liabilities", "protection"})

MAX_KEYS = 50
MAX_BYTES = 64 * 1024
BATCH_MAX = 100

# In lower case: `valuation` or `value`, or ending in `_valuation` or `_value` (information_is_valuation_key).
_VALUATION_KEY = re.compile(r"(^|_)(valuation|value)\Z")
# In lower case: `date`, ending in `_date`, or beginning with `date_of_` (information_is_date_key).
_DATE_KEY = re.compile(r"(^|_)date\Z|^date_of_")
_MONEY = re.compile(r"[0-9]{1,16}(\.[0-9]{1,2})?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EARLIEST = date(1900, 1, 1)


def utc_today() -> date:
    """Today as the database sees it for these rules (UTC)."""
    return datetime.now(UTC).date()


def is_valuation_key(key: str) -> bool:
    return _VALUATION_KEY.search(key.lower()) is not None


def is_date_key(key: str) -> bool:
    return _DATE_KEY.search(key.lower()) is not None


def serialized_size(doc: Any) -> int:
    """The content's size as PostgreSQL writes jsonb as text: ", " and ": " between items, UTF-8."""
    return len(json.dumps(doc, ensure_ascii=False, separators=(", ", ": "), allow_nan=False).encode("utf-8"))


def _pairs(doc: Any) -> list[tuple[str, str, Any]]:
    """(path, key, value) of every object member at any depth, objects inside arrays included (no recursion)."""
    found: list[tuple[str, str, Any]] = []
    stack: list[tuple[str, Any]] = [("data_content", doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                found.append((f"{path}.{key}", key, item))
                stack.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}", item) for i, item in enumerate(value))
    return found


def _as_date(value: Any) -> date | None:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if day >= _EARLIEST else None


def content_problem(doc: Any, today: date) -> str | None:
    """What is wrong with an item's content, or None: a JSON object of at most 50 keys and 64 KiB (as PostgreSQL
    writes it); at any depth, a valuation is null or a decimal string of 0 or more with at most two decimals, and a
    date is null or an ISO date (YYYY-MM-DD) from 1900-01-01 and not after today (UTC)."""
    if not isinstance(doc, dict):
        return "must be a JSON object"
    if len(doc) > MAX_KEYS:
        return f"has {len(doc)} keys; at most {MAX_KEYS}"
    try:
        size = serialized_size(doc)
    except ValueError:  # NaN or Infinity, which Python's JSON reader accepts and JSON (and PostgreSQL) do not
        return "holds a number JSON cannot carry (NaN or Infinity)"
    if size > MAX_BYTES:
        return f"is {size} bytes as JSON; at most {MAX_BYTES} (64 KiB)"
    for path, key, value in _pairs(doc):
        if value is None:
            continue
        if is_valuation_key(key) and not (isinstance(value, str) and _MONEY.fullmatch(value)):
            return (f"{path} is a valuation: a decimal string of 0 or more with at most two decimals, such as "
                    "\"2500.00\" (or null)")
        if is_date_key(key):
            day = _as_date(value)
            if day is None:
                return f"{path} is a date: an ISO date (YYYY-MM-DD) from 1900-01-01 (or null)"
            if day > today:
                return f"{path} is {day}, after today ({today})"
    return None


def _checked_content(value: Any) -> Any:
    problem = content_problem(value, utc_today())
    if problem is not None:
        raise ValueError(problem)
    return value


DataContent = Annotated[Any, AfterValidator(_checked_content), WithJsonSchema({
    "type": "object", "maxProperties": MAX_KEYS,
    "description": ("At most 50 keys and 64 KiB. At any depth, a key that is `valuation` or `value` or ends in "
                    "`_valuation` or `_value` holds null or a decimal string of 0 or more (\"2500.00\"); a key "
                    "that is `date`, ends in `_date` or begins with `date_of_` holds null or an ISO date from "
                    "1900-01-01, not after today (UTC)")}, mode="validation")]


def owners_match_type(item_type: str | None, owners: Any) -> str | None:
    """Why owners do not fit the item's type, or None: assets and liabilities and protection name their owners,
    the other types do not."""
    if item_type is None:
        return None
    if item_type in OWNED_TYPES and owners is None:
        return f"a {item_type} item names its owners (in one of the ownership forms)"
    if item_type not in OWNED_TYPES and owners is not None:
        return f"only assets_liabilities and protection items name owners, not {item_type}"
    return None


class InformationItemOut(ApiModel):
    id: UUID
    client_group_id: UUID
    item_type: ItemType
    item_category: str
    data_content: dict[str, Any]
    associated_product_owners: dict[str, Any] | None
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


class InformationItemCreateIn(StrictModel):
    item_type: ItemType
    item_category: str = Field(min_length=1, max_length=100)
    data_content: DataContent = Field(default_factory=dict)
    associated_product_owners: Ownership | None = Field(None, validate_default=True, description=(
        "Who owns it, in the products' ownership forms: required for assets_liabilities and protection, absent "
        "for the other types; every owner must belong to the household"))

    @field_validator("associated_product_owners")
    @classmethod
    def _owners_by_type(cls, owners: Any, info: ValidationInfo) -> Any:
        problem = owners_match_type(info.data.get("item_type"), owners)
        if problem is not None:
            raise ValueError(problem)
        return owners


class InformationItemPatchIn(StrictModel):
    item_type: ItemType | None = None
    item_category: str | None = Field(None, min_length=1, max_length=100)
    data_content: DataContent | None = Field(None, description="Replaces the whole content")
    associated_product_owners: Ownership | None = None


NULLABLE_ITEM_FIELDS = frozenset({"associated_product_owners"})


class InformationItemsBatchIn(StrictModel):
    items: list[InformationItemCreateIn] = Field(min_length=1, max_length=BATCH_MAX)


class InformationItemsBatchOut(ApiModel):
    written: int
    ids: list[UUID] = Field(description="The new items' ids, in the order of the request")


ITEMS = ListSpec("information_items", {"created_at": (("created_at", "timestamptz"),),
                                       "updated_at": (("updated_at", "timestamptz"),),
                                       "item_category": (("item_category", "text"),)}, default_sort="created_at")


def _searchable(q: str | None) -> str | None:
    if q is not None and not any(c.isalnum() for c in q):
        raise ValueError("must hold at least one letter or digit")
    return q


class InformationItemListQuery(ListQuery):
    sort: str = ITEMS.sort_field("created_at, updated_at or item_category; prefix - for descending")
    type: ItemType | None = None
    category: str | None = Field(None, min_length=1, max_length=100, description="The item_category, exactly")
    q: Annotated[str | None, AfterValidator(_searchable)] = Field(None, min_length=1, max_length=200, description=(
        "Words (split at anything not a letter or digit, case-insensitive): an item matches when each word begins "
        "a word of its category, or of a key or a value (string or number) of its content, at any depth"))
