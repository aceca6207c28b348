"""Request and response models for actions (a household's to-do list)."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal
from uuid import UUID

from pydantic import Field, computed_field

from chalicelib.core.models import ApiModel, IsoDate, IsoDateTime, StrictModel, iso_date
from chalicelib.core.pagination import ListQuery, ListSpec

ActionOwner = Literal["adviser", "client"]
ActionStatus = Literal["outstanding", "completed", "cancelled"]
# What a PATCH may set: completing is POST .../complete (it stamps completed_at), undoing it POST .../reopen.
PatchStatus = Literal["outstanding", "cancelled"]
TargetDate = iso_date(ge=date(1900, 1, 1), le=date(2099, 12, 31))


def utc_today() -> date:
    """The day overdue is measured against (UTC), for the field and the filter alike."""
    return datetime.now(UTC).date()


def is_overdue(status: str, target_date: date | None, today: date) -> bool:
    """Outstanding with a target date before today."""
    return status == "outstanding" and target_date is not None and target_date < today


class ActionOut(ApiModel):
    id: UUID
    client_group_id: UUID
    action_name: str
    description: str | None
    owner: ActionOwner
    status: ActionStatus
    target_date: IsoDate | None
    completed_at: IsoDateTime | None
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int

    @computed_field(description="Outstanding with a target date before today (UTC)")  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        return is_overdue(self.status, self.target_date, utc_today())


class ActionCreateIn(StrictModel):
    action_name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10000)
    owner: ActionOwner
    target_date: TargetDate | None = None


class ActionPatchIn(StrictModel):
    action_name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10000)
    owner: ActionOwner | None = None
    target_date: TargetDate | None = None
    status: PatchStatus | None = Field(None, description=(
        "outstanding or cancelled; complete with POST /v1/actions/{id}/complete, undo with .../reopen"))


NULLABLE_ACTION_FIELDS = frozenset({"description", "target_date"})

# `target_date` orders by the target date with the actions that have none last (target_date_order, a generated
# column: coalesce(target_date, 9999-12-31)), then by id.
ACTIONS = ListSpec("actions", {"target_date": (("target_date_order", "date"),),
                               "created_at": (("created_at", "timestamptz"),),
                               "updated_at": (("updated_at", "timestamptz"),)}, default_sort="target_date")


class ActionListQuery(ListQuery):
    sort: str = ACTIONS.sort_field(
        "target_date (soonest first, none last), created_at or updated_at; prefix - for descending")
    status: ActionStatus | None = None
    owner: ActionOwner | None = None
    due_before: IsoDate | None = Field(None, description="Only actions whose target date is before this date")
    overdue: bool | None = Field(None, description=(
        "true: only outstanding actions whose target date is before today (UTC); false: only the others"))
