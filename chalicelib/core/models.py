"""Bases and field types shared by every domain's models.

Models are built on first use (`defer_build`), not at import: a Lambda cold start pays only for the models its
first request touches. Email addresses are checked by email-validator, imported on the first address checked.

Dates and times are `IsoDate` and `IsoDateTime`, never bare `date` and `datetime` (tests/unit/test_date_fields.py):
pydantic would otherwise read a number, or a numeric string such as a query's `to=0`, as seconds since 1970, and
a date at midnight written as a date-time as that date.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, WithJsonSchema


class ApiModel(BaseModel):
    """Base for response models."""

    model_config = ConfigDict(defer_build=True)


class StrictModel(ApiModel):
    """Base for request models: unknown fields are refused, strings are trimmed."""

    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)


def _email(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None


def build_models() -> int:
    """Build every model defined so far (defer_build postpones it to first use): for a SnapStart snapshot, which
    should hold built models, not build them after every restore. Returns how many were built."""
    built, todo, seen = 0, [ApiModel], set()
    while todo:
        cls = todo.pop()
        todo.extend(c for c in cls.__subclasses__() if c not in seen)
        seen.add(cls)
        if not cls.__pydantic_complete__ and cls.model_rebuild(raise_errors=False):
            built += 1
    return built


Email = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})]


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 3339's date-time: seconds, an optional fraction (to nanoseconds; kept to microseconds) and an offset, always.
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
                           r"([Zz]|[+-][0-9]{2}:[0-9]{2})")


def _iso_date(value: Any) -> Any:
    """A date is a string YYYY-MM-DD (pydantic then reads it, refusing 2024-02-30), or a date from Python."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError('must be a date written YYYY-MM-DD, such as "2024-01-31"')


def _iso_datetime(value: Any) -> Any:
    """A date and time is an RFC 3339 string with its offset, or an aware datetime from Python."""
    if isinstance(value, str) and _ISO_DATETIME.fullmatch(value):
        return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    raise ValueError('must be a date and time with its offset (RFC 3339), such as "2024-01-31T09:30:00Z"')


# Every date and date-time field, in bodies, queries and responses alike. The OpenAPI document still says
# {"type": "string", "format": "date"} and "date-time".
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]


def iso_date(ge: date | None = None, le: date | None = None) -> Any:
    """An IsoDate within bounds. The bounds go on the date, inside the string check: a Field(ge=...) on the field
    itself would also work, but would write its bound into the OpenAPI schema as a keyword JSON Schema lacks."""
    from pydantic import Field

    return Annotated[date, Field(ge=ge, le=le), BeforeValidator(_iso_date)]



def _decimal_text(value: Any) -> Any:
    """Money and rates travel as decimal strings: a JSON number may already have lost precision."""
    if isinstance(value, (bool, int, float)):
        raise ValueError("must be a decimal string such as \"2500.00\", not a number")
    return value


def decimal_type(max_digits: int, places: int, ge: str | None = "0", le: str | None = None) -> Any:
    """A Decimal field written as a string, with at most `places` decimals."""
    from decimal import Decimal

    from pydantic import BeforeValidator, Field

    return Annotated[Decimal, BeforeValidator(_decimal_text),
                     Field(max_digits=max_digits, decimal_places=places, allow_inf_nan=False,
                           ge=Decimal(ge) if ge is not None else None, le=Decimal(le) if le is not None else None),
                     WithJsonSchema({"type": "string",
                                     "pattern": rf"^-?\d{{1,{max_digits - places}}}(\.\d{{1,{places}}})?$",
                                     "examples": ["2500.00"]}, mode="validation")]


Money = decimal_type(18, 2)
Percentage = decimal_type(7, 4, "0", "100")
Currency = Annotated[str, AfterValidator(lambda v: _currency(v))]


def _currency(value: str) -> str:
    if len(value) != 3 or not value.isascii() or not value.isupper() or not value.isalpha():
        raise ValueError("must be an ISO 4217 code such as GBP")
    return value
