"""Response models for job runs."""
from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from chalicelib.core.models import ApiModel, IsoDateTime
from chalicelib.core.pagination import ListQuery, ListSpec


class JobRunOut(ApiModel):
    id: UUID
    job_name: str
    status: Literal["running", "succeeded", "failed", "skipped"]
    trigger: Literal["schedule", "manual", "api"]
    started_at: IsoDateTime
    finished_at: IsoDateTime | None
    figures: dict[str, Any]
    error: str | None


RUNS = ListSpec("job_runs", {"started_at": (("started_at", "timestamptz"),)},
                default_sort="-started_at")  # newest first


class JobRunListQuery(ListQuery):
    job: str | None = Field(None, max_length=100, description="Only the runs of this job (its name, e.g. `retention`)")
    status: Literal["running", "succeeded", "failed", "skipped"] | None = None
