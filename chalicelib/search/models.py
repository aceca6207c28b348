"""Search query and results."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from chalicelib.core.models import ApiModel, StrictModel

Kind = Literal["client_group", "product_owner", "product", "fund", "provider"]


class SearchQuery(StrictModel):
    q: str = Field(min_length=3, max_length=100, description="At least three characters")
    limit: int = Field(20, ge=1, le=100)
    kind: Kind | None = None


class SearchHit(ApiModel):
    kind: Kind
    id: UUID
    label: str
    detail: str | None
    score: float = Field(description="Trigram similarity to the query, 0 to 1")


class SearchOut(ApiModel):
    items: list[SearchHit]
