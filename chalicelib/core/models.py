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


Email = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})]

