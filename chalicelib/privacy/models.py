"""Models for a person's export (the document's sections) and erasure."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field

from chalicelib.core.models import ApiModel, IsoDateTime


class PersonExportOut(ApiModel):
    """Everything the firm holds on one person, as stored (ids, dates and money as the API writes them)."""

    exported_at: IsoDateTime
    product_owner_id: UUID
    product_owner: dict[str, Any] = Field(description="The person's own record")
    client_groups: list[dict[str, Any]] = Field(description="The households they belong to, with when they joined")
    ownership: list[dict[str, Any]] = Field(
        description="Each product (managed or unmanaged) naming them: its kind, id, name, status, form of ownership "
                    "and their share in percent (joint: the percentage held jointly with the others named)")
    products: list[dict[str, Any]] = Field(description="The managed products they own, in whole or in part")
    unmanaged_products: list[dict[str, Any]] = Field(description="The unmanaged products they own")
    information_items: list[dict[str, Any]] = Field(description="The information items naming them as an owner")
    actions: list[dict[str, Any]] = Field(description="The actions of their households")
    audit_events: list[dict[str, Any]] = Field(
        description="The audit events about them (their record, their memberships), without the addresses and user "
                    "agents of the staff who acted")
