"""Retention policies: the tables a policy may name (the allow-list), their conditions, actions and floors, and the
API's models. Migration 0028 holds the same rules as CHECK constraints; docs/domain.md says them in words."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from pydantic import Field

from chalicelib.core.models import ApiModel, IsoDateTime, StrictModel
from chalicelib.core.pagination import ListQuery, ListSpec

Action = Literal["keep", "delete", "archive", "anonymize"]
Schedule = Literal["daily", "weekly"]
TableName = Literal["audit_events", "sessions", "notifications", "networth_statements", "plans"]


@dataclass(frozen=True)
class Condition:
    date_column: str  # the date the period runs from
    description: str


@dataclass(frozen=True)
class RetainedTable:
    """A table a policy may name: its conditions, the actions valid for it, the shortest period allowed (years;
    0: none), and the fields anonymizing clears (none: it cannot be anonymized)."""

    conditions: dict[str, Condition]
    actions: tuple[str, ...]
    minimum_years: int = 0
    personal_fields: tuple[str, ...] = ()


TABLES: dict[str, RetainedTable] = {
    "audit_events": RetainedTable(
        {"other": Condition("occurred_at", "every audit event that is not a security event"),
         "security": Condition("occurred_at", "the sign-in and access trail: auth.*, session.* and api_key.* events")},
        ("keep", "delete", "archive"), minimum_years=7),
    "sessions": RetainedTable(
        {"expired": Condition("expires_at", "a session whose refresh token expired"),
         "revoked": Condition("revoked_at", "a session ended (logout, a newer login, a reused token, an admin)")},
        ("keep", "delete", "archive", "anonymize"), personal_fields=("ip", "user_agent")),
    "notifications": RetainedTable(
        {"any": Condition("created_at", "every notification, by when it was raised"),
         "read": Condition("read_at", "a notification its user has read, by when it was read")},
        ("keep", "delete", "archive")),
    "networth_statements": RetainedTable(
        {"any": Condition("created_at", "every statement: kept for ever")}, ("keep",)),
    # A plan is removed whole (every version), only when all its versions are drafts, by when its newest version
    # was made, and never while another table's row links one of them (store.lock_plan_batch).
    "plans": RetainedTable(
        {"draft": Condition("created_at", "a plan whose versions are all drafts and that nothing links, by when its "
                                          "newest version was made")},
        ("keep", "delete", "archive")),
}

# "7 years", "18 months", "90 days" (one unit; a year is 12 months).
PERIOD_PATTERN = r"^[1-9][0-9]{0,4} (day|days|month|months|year|years)$"
_PERIOD = re.compile(PERIOD_PATTERN)


def period_parts(text: str) -> tuple[int, int]:
    """(months, days) of a period as the API writes it; exactly one is non-zero."""
    if not _PERIOD.fullmatch(text):
        raise ValueError(f"not a period: {text!r}")
    number, unit = text.split(" ")
    n = int(number)
    if unit.startswith("year"):
        return n * 12, 0
    if unit.startswith("month"):
        return n, 0
    return 0, n


def period_covers(text: str, years: int) -> bool:
    """Whether the period is at least `years` long on every calendar: 12 x years months, or as many days as the
    longest run of that many years (365 a year and a day for each leap year it can hold)."""
    months, days = period_parts(text)
    return months >= years * 12 or days >= years * 365 + (years + 3) // 4


def normalise_period(text: str) -> str:
    """'84 months' stays as written; '1 years' becomes '1 year', '2 day' '2 days' (the database's spelling)."""
    number, unit = text.split(" ")
    base = unit.rstrip("s")
    return f"{number} {base}" if number == "1" else f"{number} {base}s"


class RetentionPolicyOut(ApiModel):
    id: UUID
    table_name: TableName
    condition: str = Field(description="Which of the table's rows: see docs/domain.md, \"Retention and privacy\"")
    period: str | None = Field(description="How long the rows are kept from the condition's date (\"7 years\", "
                                           "\"90 days\"); null: for ever (action keep)")
    action: Action
    schedule: Schedule
    enabled: bool
    last_completed_at: IsoDateTime | None = Field(
        description="When the retention job last found nothing more to do for this policy")
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


_PERIOD_FIELD = Field(None, pattern=PERIOD_PATTERN, description=(
    "A whole number of days, months or years, e.g. \"7 years\", \"18 months\", \"90 days\"; null with action keep"))


class RetentionPolicyCreateIn(StrictModel):
    table_name: TableName
    condition: str = Field(min_length=1, max_length=40)
    period: str | None = _PERIOD_FIELD
    action: Action
    schedule: Schedule = "daily"
    enabled: bool = True


class RetentionPolicyPatchIn(StrictModel):
    period: str | None = _PERIOD_FIELD
    action: Action | None = None
    schedule: Schedule | None = None
    enabled: bool | None = None


NULLABLE_POLICY_FIELDS = frozenset({"period"})

POLICIES = ListSpec("retention_policies", {"table_name": (("table_name", "text"), ("condition", "text"))},
                    default_sort="table_name")


class RetentionPolicyListQuery(ListQuery):
    table_name: TableName | None = None
