"""Which backups rotation keeps: grandfather-father-son, over the days, ISO weeks and months (UTC) of the backups.

Pure (dates in, ids out) so that the rule is tested on hand-worked calendars. The rule:

- Nothing is provably superseded until some backup has passed verification: with none, every backup is kept.
- The newest backup that passed verification is kept, and so is every backup taken after it (not verified yet, or
  failed: the operator will want to look at it; a newer verified backup supersedes it).
- Every period (a UTC day, ISO week or month) is represented by its newest backup that passed verification, else
  by its newest backup not verified yet; a backup that failed verification represents nothing. The
  representatives of the `daily` most recent days that have one are kept, of the `weekly` most recent weeks and of
  the `monthly` most recent months (7, 4 and 12). Counting periods that have a backup, not calendar periods, means
  that a week without backups does not age the older ones out.
- Everything else is deleted: it is older than a verified backup, and its day, week and month either fell out of
  the windows or are represented by another backup.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

DAILY, WEEKLY, MONTHLY = 7, 4, 12


@dataclass(frozen=True)
class Candidate:
    """A completed backup: its id, when it was taken and its latest verdict ("passed", "failed" or None)."""

    id: str
    taken_at: datetime
    verdict: str | None = None


@dataclass(frozen=True)
class Plan:
    keep: dict[str, list[str]] = field(default_factory=dict)  # id -> why it is kept
    delete: list[str] = field(default_factory=list)  # oldest first


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(c: Candidate) -> Hashable:
    return _utc(c.taken_at).date()


def _week(c: Candidate) -> Hashable:
    year, week, _ = _utc(c.taken_at).isocalendar()
    return year, week


def _month(c: Candidate) -> Hashable:
    moment = _utc(c.taken_at)
    return moment.year, moment.month


def _label(kind: str, key: Hashable) -> str:
    if kind == "weekly":
        year, week = key  # type: ignore[misc]
        return f"weekly {year}-W{week:02d}"
    if kind == "monthly":
        year, month = key  # type: ignore[misc]
        return f"monthly {year}-{month:02d}"
    return f"daily {key}"


def plan(backups: Iterable[Candidate], *, daily: int = DAILY, weekly: int = WEEKLY, monthly: int = MONTHLY) -> Plan:
    """The rotation of these backups: what is kept (and why) and what may be deleted."""
    ordered = sorted(backups, key=lambda c: (_utc(c.taken_at), c.id))
    passed = [c for c in ordered if c.verdict == "passed"]
    keep: dict[str, list[str]] = {}
    if not passed:
        return Plan({c.id: ["no backup has passed verification yet"] for c in ordered}, [])
    newest_passed = passed[-1]
    keep[newest_passed.id] = ["the newest verified backup"]
    cut = (_utc(newest_passed.taken_at), newest_passed.id)
    for c in ordered:
        if (_utc(c.taken_at), c.id) > cut:
            keep.setdefault(c.id, []).append("newer than the newest verified backup")
    periods: tuple[tuple[str, Callable[[Candidate], Hashable], int], ...] = (
        ("daily", _day, daily), ("weekly", _week, weekly), ("monthly", _month, monthly))
    for kind, period_of, count in periods:
        chosen: dict[Hashable, Candidate] = {}
        for c in ordered:  # oldest first: a later backup of the same rank replaces an earlier one
            if c.verdict == "failed":
                continue
            current = chosen.get(period_of(c))
            if current is None or c.verdict == "passed" or current.verdict != "passed":
                chosen[period_of(c)] = c
        newest_first = sorted(chosen.items(), key=lambda kv: (_utc(kv[1].taken_at), kv[1].id), reverse=True)
        for key, c in newest_first[:count]:
            keep.setdefault(c.id, []).append(_label(kind, key))
    return Plan(keep, [c.id for c in ordered if c.id not in keep])
