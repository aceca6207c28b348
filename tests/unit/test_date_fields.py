"""Dates are ISO strings only: every date field of every model is core.models.IsoDate (YYYY-MM-DD exactly) and
every date-time field IsoDateTime (RFC 3339 with its offset). Bare pydantic `date` and `datetime` read a number,
or a numeric string such as a query's `to=0`, as seconds since 1970, and "2024-01-01T00:00" as a date."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from chalicelib.core.models import IsoDate, IsoDateTime, iso_date
from tests.date_fields import all_models, date_fields


def test_no_model_has_a_bare_date_or_datetime_field() -> None:
    models = all_models()
    found = {m.__name__: date_fields(m) for m in models}
    bare = {name: [f for f, (_, checked) in fields.items() if not checked]
            for name, fields in found.items() if any(not checked for _, checked in fields.values())}
    assert not bare, f"use core.models.IsoDate / IsoDateTime (or iso_date(...)) for these fields: {bare}"
    # the walk finds the fields it must: request bodies, queries and responses, nested and optional ones
    assert found["ProductOwnerCreateIn"] == {"date_of_birth": ("date", True), "inception_date": ("date", True)}
    assert found["AuditEventListQuery"] == {"from": ("datetime", True), "to": ("datetime", True)}
    assert found["ApiKeyCreateIn"] == {"expires_at": ("datetime", True)}
    assert found["BulkValuationIn"] == {"valuation_date": ("date", True)}
    assert found["IrrQuery"] == {"from": ("date", True), "to": ("date", True)}
    assert sum(1 for fields in found.values() if fields) >= 40


def test_the_walk_tells_a_bare_field() -> None:
    """The check above can fail: a bare date, an optional datetime and a date in a list are each found."""
    class Careless(BaseModel):
        day: date
        when: datetime | None = None
        days: list[date] = []
        bounded: Annotated[date, Field(ge=date(2000, 1, 1))] = date(2000, 1, 1)
        fine: IsoDate | None = None
        also_fine: list[IsoDateTime] = []
        bounded_fine: iso_date(ge=date(2000, 1, 1)) | None = None  # type: ignore[valid-type]

    assert date_fields(Careless) == {
        "day": ("date", False), "when": ("datetime", False), "days": ("date", False), "bounded": ("date", False),
        "fine": ("date", True), "also_fine": ("datetime", True), "bounded_fine": ("date", True)}


def _reads(kind: object, value: object) -> object:
    return TypeAdapter(kind).validate_python(value)


@pytest.mark.parametrize("value", [
    0, 1, 0.5, 1e3, 1704067200, True, None, b"2024-01-01", [2024, 1, 1], {"year": 2024},
    "0", "0.5", "1e3", "1704067200", "-1", "", " ", "2024-01-01 ", " 2024-01-01", "2024-01-01\n",
    "2024-01-01T00:00", "2024-01-01T00:00:00", "2024-01-01T00:00:00Z", "2024-01-01 00:00:00",
    "20240101", "2024-W01-1", "2024W011", "2024-001", "2024-1-1", "24-01-01", "+2024-01-01", "02024-01-01",
    "2024-02-30", "2024-13-01", "2024-00-10", "0000-01-01", "2024/01/01", "01-01-2024",
    "\uff12\uff10\uff12\uff14-\uff10\uff11-\uff10\uff11", "today", "now",  # full-width digits
    datetime(2024, 1, 1), datetime(2024, 1, 1, tzinfo=UTC),
])
def test_a_date_is_yyyy_mm_dd_and_nothing_else(value: object) -> None:
    with pytest.raises(ValidationError):
        _reads(IsoDate, value)


@pytest.mark.parametrize("text", ["2024-01-31", "2024-02-29", "1900-01-01", "9999-12-31", "0001-01-01"])
def test_a_date_reads(text: str) -> None:
    assert _reads(IsoDate, text) == date.fromisoformat(text)
    assert _reads(IsoDate, date.fromisoformat(text)) == date.fromisoformat(text)  # from Python, as services pass


@pytest.mark.parametrize("value", [
    0, 0.5, 1e3, 1704067200, True, "0", "0.5", "1e3", "1704067200", "",
    "2024-01-01", "2024-01-01T00:00", "2024-01-01T00:00Z", "2024-01-01T10:00:00", "2024-01-01 10:00:00Z",
    "2024-01-01T10:00:00+0100", "2024-01-01T10:00:00+01", "2024-01-01T10:00:00 Z", "2024-01-01T10:00:00Z ",
    "2024-01-01T10:00:00.Z", "2024-01-01T10:00:00.1234567890Z", "2024-01-01T25:00:00Z", "2024-02-30T10:00:00Z",
    "2024-01-01T10:00:00+24:00", "20240101T100000Z", "2024-W01-1T10:00:00Z",
    datetime(2024, 1, 1), date(2024, 1, 1),
])
def test_a_date_time_is_rfc_3339_with_its_offset(value: object) -> None:
    with pytest.raises(ValidationError):
        _reads(IsoDateTime, value)


@pytest.mark.parametrize("text,expected", [
    ("2024-01-31T09:30:00Z", datetime(2024, 1, 31, 9, 30, tzinfo=UTC)),
    ("2024-01-31t09:30:00z", datetime(2024, 1, 31, 9, 30, tzinfo=UTC)),
    ("2024-01-31T09:30:00.250+01:00", datetime(2024, 1, 31, 9, 30, 0, 250000, tzinfo=timezone(timedelta(hours=1)))),
    ("2024-01-31T09:30:00.123456789-05:30",
     datetime(2024, 1, 31, 9, 30, 0, 123456, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
])
def test_a_date_time_reads(text: str, expected: datetime) -> None:
    assert _reads(IsoDateTime, text) == expected
    assert _reads(IsoDateTime, expected) == expected


def test_bounds_still_hold() -> None:
    from chalicelib.products.holdings.models import Day

    assert _reads(Day, "1900-01-01") == date(1900, 1, 1)
    for bad in ("1899-12-31", "2100-01-01", 0):
        with pytest.raises(ValidationError):
            _reads(Day, bad)
