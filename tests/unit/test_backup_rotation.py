"""Backup rotation (grandfather-father-son) as a pure rule over dates, on calendars worked out by hand.

ISO weeks used below (Monday to Sunday): 2025-W02 is 6-12 January, W03 13-19, W04 20-26, W05 27 January to
2 February. 29 December 2025 is the Monday of 2026-W01.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from chalicelib.ops.backups.rotation import Candidate, plan


def at(day: str, hour: int = 2) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def daily(first: str, last: str, verdict: str | None = "passed") -> list[Candidate]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [Candidate(str(start + timedelta(days=i)), at(str(start + timedelta(days=i))), verdict)
            for i in range((end - start).days + 1)]


def test_thirty_verified_dailies_keep_seven_days_four_weeks_and_the_month():
    backups = daily("2025-01-01", "2025-01-30")
    result = plan(backups)
    # days: 24-30 January; weeks: W05's newest is the 30th, W04's the 26th, W03's the 19th, W02's the 12th;
    # month: January's newest is the 30th.
    kept = {"2025-01-12", "2025-01-19", "2025-01-24", "2025-01-25", "2025-01-26", "2025-01-27", "2025-01-28",
            "2025-01-29", "2025-01-30"}
    assert set(result.keep) == kept
    assert result.delete == [f"2025-01-{d:02d}" for d in (*range(1, 12), *range(13, 19), *range(20, 24))]
    assert result.keep["2025-01-30"] == ["the newest verified backup", "daily 2025-01-30", "weekly 2025-W05",
                                         "monthly 2025-01"]
    assert result.keep["2025-01-19"] == ["weekly 2025-W03"]
    assert result.keep["2025-01-26"] == ["daily 2025-01-26", "weekly 2025-W04"]


def test_monthly_backups_over_fourteen_months_keep_the_last_twelve():
    months = [(2024, m) for m in range(1, 13)] + [(2025, 1), (2025, 2)]
    backups = [Candidate(f"{y}-{m:02d}", at(f"{y}-{m:02d}-01"), "passed") for y, m in months]
    result = plan(backups)
    assert result.delete == ["2024-01", "2024-02"]
    assert len(result.keep) == 12
    assert result.keep["2024-03"] == ["monthly 2024-03"]
    # the seven newest are also the seven most recent days with a backup, the four newest the weeks
    assert result.keep["2024-08"] == ["daily 2024-08-01", "monthly 2024-08"]
    assert result.keep["2024-11"] == ["daily 2024-11-01", "weekly 2024-W44", "monthly 2024-11"]


def test_nothing_is_deleted_before_a_backup_has_passed_verification():
    backups = daily("2025-01-01", "2025-03-31", verdict=None) + daily("2024-06-01", "2024-06-03", verdict="failed")
    result = plan(backups)
    assert result.delete == []
    assert len(result.keep) == 90 + 3


def test_the_newest_verified_backup_and_everything_after_it_are_kept_even_past_every_window():
    # Verified on 1-3 January, every backup since failed its verification: the 3rd is the newest good one.
    backups = daily("2025-01-01", "2025-01-03") + daily("2025-01-04", "2025-01-20", verdict="failed")
    result = plan(backups, daily=1, weekly=1, monthly=1)
    assert result.keep["2025-01-03"] == ["the newest verified backup", "daily 2025-01-03", "weekly 2025-W01",
                                         "monthly 2025-01"]
    for d in range(4, 21):
        assert result.keep[f"2025-01-{d:02d}"] == ["newer than the newest verified backup"]
    assert result.delete == ["2025-01-01", "2025-01-02"]


def test_failed_backups_older_than_a_verified_one_go_and_represent_nothing():
    backups = daily("2025-01-01", "2025-01-05", verdict="failed") + daily("2025-01-06", "2025-01-10")
    result = plan(backups)
    # Five days have a representative (6-10); W01 (30 Dec - 5 Jan) has none: its backups all failed.
    assert set(result.keep) == {"2025-01-06", "2025-01-07", "2025-01-08", "2025-01-09", "2025-01-10"}
    assert result.delete == ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05"]


def test_a_day_is_represented_by_its_verified_backup_before_a_newer_unverified_one():
    backups = [Candidate("mon-early", at("2025-01-06", 2), "passed"),
               Candidate("mon-late", at("2025-01-06", 14), None),
               Candidate("tue", at("2025-01-07"), "passed"),
               Candidate("tue-late", at("2025-01-07", 14), "passed"),
               Candidate("wed", at("2025-01-08"), None)]
    result = plan(backups)
    # The newest verified is Tuesday 14:00; Wednesday's is newer (kept, unproven). Monday is represented by its
    # verified 02:00 backup, so its unverified 14:00 one is superseded; Tuesday 02:00 by Tuesday 14:00. The week
    # and the month are represented by their newest verified backup (Tuesday 14:00), not by Wednesday's.
    assert result.delete == ["mon-late", "tue"]
    assert result.keep["mon-early"] == ["daily 2025-01-06"]
    assert result.keep["tue-late"] == ["the newest verified backup", "daily 2025-01-07", "weekly 2025-W02",
                                       "monthly 2025-01"]
    assert result.keep["wed"] == ["newer than the newest verified backup", "daily 2025-01-08"]


def test_an_unverified_backup_represents_a_day_without_a_verified_one():
    backups = [Candidate("a", at("2025-02-03"), "passed"), Candidate("b", at("2025-02-04"), None),
               Candidate("c", at("2025-02-05"), "passed")]
    result = plan(backups, daily=2, weekly=1, monthly=1)
    # days with a representative: 5th (c), 4th (b, unverified), 3rd (a): the two newest are kept
    assert result.keep == {"c": ["the newest verified backup", "daily 2025-02-05", "weekly 2025-W06",
                                 "monthly 2025-02"], "b": ["daily 2025-02-04"]}
    assert result.delete == ["a"]


def test_weeks_are_iso_weeks_across_the_new_year_and_days_are_utc():
    # 22 December 2025 to 4 January 2026: W52 is 22-28 December, 2026-W01 is 29 December to 4 January.
    backups = daily("2025-12-15", "2026-01-04")
    result = plan(backups, daily=3, weekly=2, monthly=2)
    assert set(result.keep) == {"2026-01-02", "2026-01-03", "2026-01-04", "2025-12-28", "2025-12-31"}
    assert result.keep["2025-12-28"] == ["weekly 2025-W52"]
    assert result.keep["2025-12-31"] == ["monthly 2025-12"]
    assert result.keep["2026-01-04"][-2:] == ["weekly 2026-W01", "monthly 2026-01"]
    # 23:30 at UTC-5 on the 4th is 04:30 UTC on the 5th: another day, the newest one.
    late = Candidate("late", datetime(2026, 1, 4, 23, 30, tzinfo=timezone(timedelta(hours=-5))), "passed")
    result = plan([*backups, late], daily=3, weekly=2, monthly=2)
    assert result.keep["late"][:2] == ["the newest verified backup", "daily 2026-01-05"]
    assert "2026-01-02" in result.delete
