"""A person's export (everything held on them) and erasure (a person who has left, anonymized). Each one audited
transaction.

Erasure replaces the person's name, contact details and date of birth, keeps their id (which products, households
and the audit trail refer to) and every financial fact, and sets erased_at. It is refused (409) while an active
product or unmanaged product names them, or while a retention hold is set on them. A person erased already is
answered as they are (200), and the request audited again. The audit trail keeps what it recorded before the
erasure: it is the firm's evidence, kept for its own period (docs/domain.md, "Retention and privacy"); the erasure's
own event does not copy the erased values.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from chalicelib.clients import store as clients
from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.privacy import store

ERASED_NAME = "Erased"  # the database's CHECK product_owners_erased_holds_nothing names it too
PERSONAL_FIELDS = ("first_name", "surname", "known_as", "date_of_birth", "email", "phone")


def export(ctx: RequestContext, owner_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        document = store.export_document(tx, owner_id)
        if document is None:
            raise errors.NotFound("No such product owner")
        sections = {k: len(v) for k, v in document.items() if isinstance(v, list)}
        audit.record(tx, "product_owner.export", "product_owner", owner_id, None, {"sections": sections})
    return {"exported_at": datetime.now(UTC), "product_owner_id": owner_id, **document}


def erase(ctx: RequestContext, owner_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        before = clients.get_owner(tx, owner_id, for_update=True)
        if before is None:
            raise errors.NotFound("No such product owner")
        if before["erased_at"] is not None:
            audit.record(tx, "product_owner.erase", "product_owner", owner_id, before, before)
            return before
        if before["retention_hold"]:
            raise errors.Conflict("A retention hold is set on this person; an admin clears it (PATCH "
                                  "retention_hold: false) before they can be erased")
        needed = store.active_holdings_naming(tx, owner_id)
        if needed:
            names = ", ".join(f"{h['kind']} {h['name']!r} ({h['id']})" for h in needed[:5])
            more = f" and {len(needed) - 5} more" if len(needed) > 5 else ""
            raise errors.Conflict(f"An active product needs this person as an owner: {names}{more}. Change its "
                                  "ownership, or lapse (sell, transfer...) it first")
        changes: dict[str, Any] = dict.fromkeys(PERSONAL_FIELDS)
        changes.update(first_name=ERASED_NAME, surname=ERASED_NAME, erased_at=datetime.now(UTC))
        after = clients.update_owner(tx, owner_id, changes)
        # The event says which fields were erased, not what they held.
        recorded = {**before, **{f: "(erased)" for f in PERSONAL_FIELDS if before[f] is not None}}
        audit.record(tx, "product_owner.erase", "product_owner", owner_id, recorded, after)
    return after
