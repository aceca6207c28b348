"""Lists: the one pipeline every list endpoint goes through.

A list is declared once as a `ListSpec` (its name, the fields it may be sorted by and the columns behind each).
A request's `ListQuery` (limit, cursor and, where the list offers it, sort) becomes a `Keyset`: the SQL fragments of
one page (`where()`, `order_by()`, `params()`) that the domain's store splices into its query, and `page(rows)`,
which cuts the extra row off and makes the next cursor.

Cursors are opaque and signed: base64url of a 16-byte tag followed by a JSON list [list name, sort, key values...];
the tag is HMAC-SHA256 (truncated) of the firm's id and that JSON under a key derived from the server's signing
secret (`auth.derived_key`). A cursor is read only after its tag checks, so an altered, truncated or forged cursor,
or one made in another firm, is a 422 before any of its content is looked at. A signed cursor made by one list or
for one sort is still refused by another (422), so it can never be misread as a position in a different ordering,
and its values must still read as their columns' types. Text searches (`?q=`) match through `like_pattern`, which
escapes LIKE's wildcards: `q=_` finds an underscore, not every row.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import Field

from chalicelib.core import errors
from chalicelib.core.jsonutil import dumps
from chalicelib.core.models import ApiModel, StrictModel

MAX_LIMIT = 200
# Longer cursors are refused before their signature is computed. The longest a list can make is about 2,200
# characters (a 16-byte tag and the JSON of a 254-character email, each character up to six bytes as JSON writes
# it, base64url); a list of ordinary names makes one of 100 to 400: tests/unit/test_cursor_signing.py.
MAX_CURSOR = 4096
T = TypeVar("T")


class ListQuery(StrictModel):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"Page size (max {MAX_LIMIT})")
    cursor: str | None = Field(None, max_length=MAX_CURSOR, description=(
        "Opaque, signed cursor from the previous page's next_cursor; only valid for the same list and sort, in the "
        "same firm"))


class Page(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def page_of(model: Any, rows: Any, next_cursor: str | None = None) -> Page[Any]:
    """A response page of `model` from rows (dicts); a list that is never paged has no next cursor."""
    return Page[model](items=[model.model_validate(r) for r in rows], next_cursor=next_cursor)


Column = tuple[str, str]  # (column, SQL type), e.g. ("surname", "text"); "alias.column" names a joined table's


@dataclass(frozen=True)
class ListSpec:
    """One list: `name` is what its cursors carry; `sorts` maps each sort field to its columns, which with
    `tiebreak` (the row id unless the sort columns are unique already) give a total order."""

    name: str
    sorts: dict[str, tuple[Column, ...]]
    default_sort: str
    tiebreak: Column | None = ("id", "uuid")

    def sort_field(self, description: str) -> Any:
        """The `sort` query parameter of a list that offers sorts: its default and the values it accepts."""
        return Field(self.default_sort, pattern=rf"^-?({'|'.join(self.sorts)})$", description=description)

    def columns(self, sort: str) -> tuple[Column, ...]:
        return self.sorts[sort.removeprefix("-")] + ((self.tiebreak,) if self.tiebreak else ())


def _invalid_cursor(message: str) -> errors.Unprocessable:
    return errors.Unprocessable("The cursor is not valid for this list",
                                errors=[{"field": "cursor", "message": message}])


# What a cursor that fails its signature check is told (tests tell this refusal from the content checks' by it).
NOT_SIGNED = "not a cursor this service gave out in this firm, or altered: start again from the first page"
_PURPOSE = b"wealthdesk cursor v1"
_TAG = 16  # bytes of HMAC-SHA256 kept: 128 bits
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _tag(firm_id: UUID, payload: bytes) -> bytes:
    from chalicelib.core.auth import derived_key

    return hmac.new(derived_key(_PURPOSE), firm_id.bytes + payload, hashlib.sha256).digest()[:_TAG]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def encode_cursor(values: list[Any], firm_id: UUID) -> str:
    """The signed cursor of `values` (list name, sort, key values) in one firm."""
    payload = dumps(values).encode()
    return _b64(_tag(firm_id, payload) + payload)


def decode_cursor(cursor: str, firm_id: UUID) -> Any:
    """The JSON a cursor carries, once its tag is checked against this firm (else a 422). Nothing of the cursor
    is parsed before: only base64url in its one canonical spelling (so no two texts are the same cursor)."""
    raw = None
    if _BASE64URL.fullmatch(cursor):
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, binascii.Error):
            raw = None
    if raw is None or len(raw) <= _TAG or _b64(raw) != cursor:
        raise _invalid_cursor(NOT_SIGNED)
    tag, payload = raw[:_TAG], raw[_TAG:]
    if not hmac.compare_digest(tag, _tag(firm_id, payload)):
        raise _invalid_cursor(NOT_SIGNED)
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _invalid_cursor("invalid cursor") from None


def _identifier(column: str) -> Any:
    from psycopg import sql

    return sql.Identifier(*column.split("."))


@dataclass(frozen=True)
class Keyset:
    """One page of a list in one sort, as SQL fragments for the store and the page cut for the service."""

    spec: ListSpec
    sort: str
    after: tuple[str, ...] | None
    limit: int
    firm_id: UUID  # whose cursors these are: the next cursor is signed for it

    @classmethod
    def parse(cls, spec: ListSpec, query: Any, ctx: Any) -> Keyset:
        """From a ListQuery (a `sort` attribute is used when the list's query model has one), for the firm of
        `ctx` (a RequestContext): a cursor is read only when it was signed for that firm."""
        firm_id = ctx.firm_id
        if firm_id is None:
            raise ValueError("a list is read inside a firm")
        sort = getattr(query, "sort", None) or spec.default_sort
        if sort.removeprefix("-") not in spec.sorts:
            raise errors.Unprocessable("Unknown sort", errors=[{
                "field": "sort", "message": "one of " + ", ".join(f"{p}{c}" for c in spec.sorts for p in ("", "-"))}])
        after = None
        if query.cursor:
            values = decode_cursor(query.cursor, firm_id)
            arity = len(spec.columns(sort))
            if (not isinstance(values, list) or len(values) < 2
                    or not all(isinstance(v, str) for v in values)):
                raise _invalid_cursor("invalid cursor")
            if values[0] != spec.name:
                raise _invalid_cursor("this cursor was made by another list")
            if values[1] != sort:
                raise _invalid_cursor("this cursor was made for another sort")
            if len(values) != arity + 2:
                raise _invalid_cursor("invalid cursor")
            after = tuple(values[2:])
            for value, (_, sql_type) in zip(after, spec.columns(sort), strict=True):
                if not _parses_as(value, sql_type):
                    raise _invalid_cursor("invalid cursor")
        return cls(spec, sort, after, query.limit, firm_id)

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def where(self) -> Any:
        """`(columns) > (cursor values)` (or `<` when descending); `true` on the first page."""
        from psycopg import sql

        if self.after is None:
            return sql.SQL("true")
        columns = self.spec.columns(self.sort)
        names = [_identifier(c) for c, _ in columns]
        values = [sql.SQL("{}::{}").format(sql.Placeholder(f"_ks{i}"), sql.SQL(t)) for i, (_, t) in enumerate(columns)]
        return sql.SQL("({}) {} ({})").format(sql.SQL(", ").join(names), sql.SQL("<" if self.descending else ">"),
                                             sql.SQL(", ").join(values))

    def order_by(self) -> Any:
        from psycopg import sql

        direction = sql.SQL("DESC" if self.descending else "ASC")
        return sql.SQL(", ").join(sql.SQL("{} {}").format(_identifier(c), direction)
                                  for c, _ in self.spec.columns(self.sort))

    def params(self) -> dict[str, Any]:
        """The cursor values and `_ks_limit` (one row more than the page, to know whether another follows)."""
        n = len(self.spec.columns(self.sort))
        values = self.after or (None,) * n
        return {**{f"_ks{i}": values[i] for i in range(n)}, "_ks_limit": self.limit + 1}

    def page(self, rows: list[Any]) -> tuple[list[Any], str | None]:
        """Rows fetched with LIMIT limit+1 -> (this page, the next cursor or None)."""
        if len(rows) <= self.limit:
            return rows, None
        rows = rows[:self.limit]
        last = rows[-1]
        key = [_cursor_text(last[c.split(".")[-1]]) for c, _ in self.spec.columns(self.sort)]
        return rows, encode_cursor([self.spec.name, self.sort, *key], self.firm_id)


def _plain_decimal(value: str) -> Decimal:
    """A numeric cursor value as the page wrote it (digits, an optional sign and decimal point): Decimal alone would
    also read NaN, Infinity and 1e999999, which PostgreSQL refuses or orders apart."""
    if not _PLAIN_DECIMAL.fullmatch(value):
        raise ValueError("not a plain decimal")
    return Decimal(value)


_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,40}(\.[0-9]{1,20})?")


def _integer(bits: int) -> Any:
    """An integer cursor value in the column's range, in plain digits: int() alone would also read " 7" and "1_000",
    and a value out of range would be PostgreSQL's error (a 500) instead of a refused cursor."""
    def parse(value: str) -> int:
        if not re.fullmatch(r"-?[0-9]{1,20}", value) or not -(2 ** (bits - 1)) <= int(value) < 2 ** (bits - 1):
            raise ValueError("not an integer of the column's range")
        return int(value)
    return parse


_SURROGATE = re.compile("[\ud800-\udfff]")

# A cursor value's column type -> what reads it (text: see _parses_as).
_PARSERS: dict[str, Any] = {"uuid": UUID, "date": date.fromisoformat, "timestamptz": datetime.fromisoformat,
                            "numeric": _plain_decimal, "integer": _integer(32), "bigint": _integer(64)}


def _parses_as(value: str, sql_type: str) -> bool:
    """Whether a cursor value reads as its column's type (a forged cursor is a 422, not a database error): text
    that PostgreSQL could hold (no NUL, no unpaired surrogate, which would not even encode), or a value its parser
    reads."""
    parse = _PARSERS.get(sql_type)
    if parse is None:
        return "\x00" not in value and not _SURROGATE.search(value)
    try:
        parse(value)
    except (ValueError, ArithmeticError):
        return False
    return True


def _cursor_text(value: Any) -> str:
    if value is None:
        raise ValueError("a sort column of a listed row is NULL: keyset order needs NOT NULL sort columns")
    if isinstance(value, Decimal):
        return format(value, "f")  # never exponent notation, which the cursor's reader refuses
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def like_pattern(q: str | None) -> str | None:
    """`%q%` for ILIKE with q's own %, _ and backslash matched literally; None when there is no search."""
    if q is None:
        return None
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
