"""Response models for job runs."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from chalicelib.core.http import ListQuery
from chalicelib.core.models import ApiModel


class JobRunOut(ApiModel):
    id: UUID
    job_name: str
    status: Literal["running", "succeeded", "failed", "skipped"]
    trigger: Literal["schedule", "manual", "api"]
    started_at: datetime
    finished_at: datetime | None
    figures: dict[str, Any]
    error: str | None


class JobRunListQuery(ListQuery):
    job_name: str | None = Field(None, max_length=100)
    status: Literal["running", "succeeded", "failed", "skipped"] | None = None
