"""Models for backups and their verdicts (admins)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import ListQuery, ListSpec

Status = Literal["running", "completed", "failed", "deleted"]
Outcome = Literal["passed", "failed"]


class BackupOut(ApiModel):
    id: UUID
    status: Status = Field(description="running; completed (in the store); failed (no dump); deleted (rotated out)")
    started_at: datetime
    finished_at: datetime | None
    store: str = Field(description="The backup store it was written to: file://DIR or s3://bucket/prefix")
    object_key: str = Field(description="The dump's name in the store; its manifest is <name>.manifest.json")
    size_bytes: int | None
    sha256: str | None
    error: str | None = Field(description="Why the backup failed")
    deleted_at: datetime | None
    verdict: Outcome | None = Field(description="The latest verification's outcome; null: not verified yet")
    verified_at: datetime | None
    verdict_reason: str | None = Field(description="Why the latest verification failed")


class VerificationOut(ApiModel):
    id: UUID
    trigger: Literal["schedule", "manual", "api"]
    started_at: datetime
    finished_at: datetime | None
    outcome: Outcome | None = Field(description="null while it runs")
    stage: str | None = Field(description="fetch, checksum, list, restore, row_counts, integrity: where it failed; "
                                          "done when it passed")
    reason: str | None
    figures: dict[str, Any] = Field(description="Sizes, row and object counts, the time of each stage")


class BackupDetailOut(BackupOut):
    manifest: dict[str, Any] | None = Field(
        description="id, sha256, size, start and end, server and pg_dump versions, applied migrations, the schema's "
                    "object counts and every table's rows, counted in the dump's own snapshot")
    verifications: list[VerificationOut] = Field(description="Every verification of the backup, newest first")


BACKUPS = ListSpec("backups", {"started_at": (("started_at", "timestamptz"),)}, default_sort="-started_at")


class BackupListQuery(ListQuery):
    status: Status | None = None
    verdict: Literal["passed", "failed", "none"] | None = Field(None, description="none: not verified yet")
