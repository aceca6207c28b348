"""Bases and field types shared by every domain's models.

Models are built on first use (`defer_build`), not at import: a Lambda cold start pays only for the models its
first request touches. Email addresses are checked by email-validator, imported on the first address checked.
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema


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
