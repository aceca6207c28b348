"""Models for backups and their verdicts, as a firm's admins see them (the operators' full record is
`wealthdesk backups`)."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from chalicelib.core.models import ApiModel, IsoDateTime
from chalicelib.core.pagination import ListQuery, ListSpec

Status = Literal["running", "completed", "failed", "deleted"]
Outcome = Literal["passed", "failed"]
Stage = Literal["fetch", "checksum", "list", "restore", "row_counts", "integrity", "done"]


class BackupOut(ApiModel):
    id: UUID
    status: Status = Field(description="running; completed (in the backup store); failed (no dump was made); "
                                       "deleted (rotated out)")
    started_at: IsoDateTime
    finished_at: IsoDateTime | None
    deleted_at: IsoDateTime | None
    verdict: Outcome | None = Field(description="The latest verification's outcome; null: not verified yet. Only a "
                                                "completed backup whose verdict is passed is to be relied on")
    verified_at: IsoDateTime | None
    verdict_stage: Stage | None = Field(description="Where the latest verification stopped: done when it passed")


class VerificationOut(ApiModel):
    id: UUID
    trigger: Literal["schedule", "manual", "api"]
    started_at: IsoDateTime
    finished_at: IsoDateTime | None
    outcome: Outcome | None = Field(description="null while it runs")
    stage: Stage | None = Field(description="fetch, checksum, list, restore, row_counts, integrity: where it "
                                            "failed; done when it passed")


class BackupDetailOut(BackupOut):
    tables: dict[str, int] | None = Field(
        description="The firm's own rows in the backup, by table, counted in the dump's snapshot (each "
                    "verification checks them again in the restored copy); null when the firm had none")
    verifications: list[VerificationOut] = Field(description="Every verification of the backup, newest first")


BACKUPS = ListSpec("backups", {"started_at": (("started_at", "timestamptz"),)}, default_sort="-started_at")


class BackupListQuery(ListQuery):
    status: Status | None = None
    verdict: Literal["passed", "failed", "none"] | None = Field(None, description="none: not verified yet")
