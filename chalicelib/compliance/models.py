"""Models for audit event queries."""
from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from chalicelib.core.models import ApiModel, IsoDateTime
from chalicelib.core.pagination import ListQuery, ListSpec


class AuditEventOut(ApiModel):
    id: UUID
    occurred_at: IsoDateTime
    actor_type: Literal["user", "api_key", "system"]
    actor_id: UUID | None
    action: str
    resource_type: str
    resource_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed_fields: list[str]
    request_id: str | None
    ip: str | None
    user_agent: str | None


EVENTS = ListSpec("audit_events", {"occurred_at": (("occurred_at", "timestamptz"),)},
                  default_sort="-occurred_at")  # newest first


class AuditEventListQuery(ListQuery):
    resource_type: str | None = Field(None, max_length=100)
    resource_id: str | None = Field(None, max_length=100)
    actor: UUID | None = Field(None, description="User or API key id")
    action: str | None = Field(None, max_length=100)
    from_: IsoDateTime | None = Field(None, alias="from", description="Inclusive lower bound on occurred_at")
    to: IsoDateTime | None = Field(None, description="Exclusive upper bound on occurred_at")

    @model_validator(mode="after")
    def _range(self) -> AuditEventListQuery:
        # IsoDateTime has made both aware (an RFC 3339 offset is required), so they compare
        if self.from_ and self.to and self.from_ >= self.to:
            raise ValueError("from must be before to")
        return self
