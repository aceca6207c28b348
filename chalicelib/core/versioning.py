"""Optimistic concurrency and partial updates: the rules every PATCH shares, and the PATCH recipe itself
(`patch_row`), written once for every domain's PATCH."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from chalicelib.core import audit, errors
from chalicelib.core.db import Tx

Row = dict[str, Any]


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


def patch_row(tx: Tx, row_id: UUID, body: BaseModel, if_match: int, *, resource: str, what: str,
              get: Callable[..., Row | None], update: Callable[[Tx, UUID, dict[str, Any]], Row],
              nullable: frozenset[str] = frozenset(),
              stored: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
              check: Callable[[Row, dict[str, Any]], dict[str, Any] | None] | None = None,
              then: Callable[[Row, Row], None] | None = None) -> Row:
    """A PATCH in the caller's transaction: the body's changes (`patch_changes`; `stored` turns them into the
    row's form, so that they compare with it), the row locked (`get(tx, row_id, for_update=True)`) with its version
    checked (404, 412), only the fields that change kept, then `check(before, changes)` (the resource's rules: raise
    to refuse; may return the changes to write instead), the update (`update(tx, row_id, changes)`; none when
    nothing changes: the version stays), `then(before, after)` after a write (what the change keeps in step), and
    the one audit event `<resource>.update`. Returns the row as it now is.

    The body is checked before the row is read: a body that clears a field it may not is a 422 whichever row it
    names. Locks the caller must take first (a parent's) are taken before calling."""
    changes = patch_changes(body, nullable)
    if stored is not None:
        changes = stored(changes)
    before = check_version(get(tx, row_id, for_update=True), if_match, what)
    changes = unchanged(before, changes)
    if check is not None:
        changes = check(before, changes) or changes
    after = update(tx, row_id, changes) if changes else before
    if changes and then is not None:
        then(before, after)
    audit.record(tx, f"{resource}.update", resource, row_id, before, after)
    return after
