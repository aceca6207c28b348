"""Optimistic concurrency and partial updates: the rules every PATCH shares."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chalicelib.core import errors


def patch_changes(body: BaseModel, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields a PATCH body set. Null clears a nullable field and is refused for the others."""
    changes = body.model_dump(exclude_unset=True)
    refused = [k for k, v in changes.items() if v is None and k not in nullable]
    if refused:
        raise errors.Unprocessable("Some fields cannot be cleared",
                                   errors=[{"field": k, "message": "may not be null"} for k in refused])
    return changes


def check_version(row: dict[str, Any] | None, if_match: int, what: str) -> dict[str, Any]:
    """The locked row, or 404 when missing and 412 when the caller's version is stale."""
    if row is None:
        raise errors.NotFound(f"No such {what}")
    if row["version"] != if_match:
        raise errors.PreconditionFailed(
            f"The {what} has changed since you read it (now version {row['version']}); read it again")
    return row


def unchanged(before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Only the fields whose value actually changes (a no-op PATCH writes nothing and keeps the version)."""
    return {k: v for k, v in changes.items() if before.get(k) != v}
