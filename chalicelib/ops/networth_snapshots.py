"""Job `networth-snapshots`: every household's net worth of a day (assets, liabilities, net worth: the household's
part), one row per household and day, for every firm at once, and each firm's total of the day.

Scheduled daily just after midnight (UTC) for the day that has just ended; by hand for any day (`wealthdesk job run
networth-snapshots --date 2024-06-30`) or a range of days in one command (`--from 2024-01-01 --to 2024-06-30`).
Each day is one INSERT ... SELECT over every household (set-based; the rows are the ones the live net worth gives,
by the same sources and rules: chalicelib/networth/store.py), in its own transaction under a statement timeout. A
day once taken is kept as it was taken: ON CONFLICT DO NOTHING, so running a day again changes nothing (a
household added since gets its row; the others keep theirs), and a day every household already has is skipped
without being computed. A run stops starting days after its time budget and says which day is next; running it
again goes on from there."""
from __future__ import annotations

from datetime import date as Date
from typing import Any


def networth_snapshots(conn: Any, date: Date | None = None, from_: Date | None = None,
                       to: Date | None = None) -> dict[str, Any]:
    from chalicelib.networth import service

    return service.take_snapshots(conn, date=date, from_=from_, to=to)
