"""Net worth: a household's live net worth on a day, immutable statements of it, the daily snapshots the job
takes of every household, and a household's history from them.

The positions come from store.live_positions (one statement: every source of store.SOURCES on the day, with its
rate to the firm's currency); the figures from engine.statement. The job's snapshot of a day (store.snapshots_query)
reads the same sources with the same conversion in SQL and adds up, per household, the same `total` the engine
gives each row, so a day's snapshot equals the live answer's totals for that day as long as the rows it was taken
from have not changed since.
"""
from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.jsonutil import dumps
from chalicelib.core.pagination import Keyset
from chalicelib.networth import engine, store
from chalicelib.networth.models import STATEMENTS

# The job: one statement per day, each bounded; a run stops starting days after its budget (a Lambda has 15
# minutes) and says where it stopped, and the next run goes on from there.
DAY_TIMEOUT_MS = 5 * 60 * 1000
RUN_BUDGET_SECONDS = 12 * 60
MAX_DAYS = 3700  # a backfill of about ten years in one command


def positions_of(found: dict[str, Any]) -> list[engine.Position]:
    """The engine's positions from store.live_positions's answer (also what a money goal's linked products are
    worth: chalicelib/objectives)."""
    return [engine.Position(
        source=p["source"], id=str(p["id"]), name=p["name"], section=p["section"], kind=p["kind"],
        currency=p["currency"], value=Decimal(p["value"]),
        valuation_date=date.fromisoformat(p["valuation_date"]) if p["valuation_date"] else None,
        ownership=p["ownership"], rate=Decimal(p["rate"]) if p["rate"] is not None else None)
        for p in found["positions"]]


def _answer(found: dict[str, Any]) -> dict[str, Any]:
    owners = [engine.Owner(str(o["id"]), o["name"]) for o in found["owners"]]
    return engine.statement(owners, positions_of(found), as_of=found["as_of"], currency=found["currency"],
                            client_group_id=str(found["id"]))


def _found(tx: db.Tx, group_id: UUID, as_of: date | None) -> dict[str, Any]:
    found = store.live_positions(tx, group_id, as_of)
    if found is None:
        raise errors.NotFound("No such client group")
    if found["as_of"] > found["today"]:
        raise errors.Unprocessable("as_of is after today", errors=[
            {"field": "as_of", "message": f"must not be after today ({found['today'].isoformat()})"}])
    return found


def _live(tx: db.Tx, group_id: UUID, as_of: date | None) -> dict[str, Any]:
    return _answer(_found(tx, group_id, as_of))


def networth_in(tx: db.Tx, group_id: UUID, as_of: date | None = None) -> dict[str, Any]:
    """The answer of `networth`, in a transaction the caller holds (the household summary's)."""
    return _live(tx, group_id, as_of)


def networth(ctx: RequestContext, group_id: UUID, as_of: date | None) -> dict[str, Any]:
    """The household's net worth on `as_of` (today when None), computed now from its rows."""
    with db.transaction(ctx) as tx:
        return _live(tx, group_id, as_of)


# --- statements ---

def _creator(ctx: RequestContext) -> tuple[str, UUID | None]:
    principal = ctx.principal
    if principal is None:
        raise RuntimeError("a statement needs a principal")
    return principal.kind, principal.id


def create_statement(ctx: RequestContext, group_id: UUID, body: Any) -> tuple[UUID, str]:
    """Today's net worth of the household, stored whole under `name` with who made it, and audited, in one
    transaction. The database never lets it change afterwards (migration 0026). Returns the statement's id and the
    answer as JSON text (models.StatementOut): the snapshot is serialised once, and that text is both what the
    database stores and the answer's `networth`."""
    kind, who = _creator(ctx)
    with db.transaction(ctx) as tx:
        found = _found(tx, group_id, None)
        answer = _answer(found)
        snapshot = dumps(answer)
        totals = answer["totals"]
        row = {"id": uuid.uuid4(), "client_group_id": group_id, "name": body.name, "as_of": answer["as_of"],
               "currency": answer["currency"], "assets": Decimal(totals["assets"]["total"]),
               "liabilities": Decimal(totals["liabilities"]["total"]),
               "net_worth": Decimal(totals["net_worth"]["total"]), "created_at": found["now"],
               "created_by_type": kind, "created_by": who}
        store.insert_statement(tx, row, snapshot)
        # The audit event carries the statement's row (its figures, who made it), not its snapshot: the snapshot
        # is the statement's own immutable column, found by the event's resource id.
        audit.record(tx, "networth_statement.create", "networth_statement", row["id"], None, row)
    return row["id"], statement_json(row, snapshot)


def statement_json(row: dict[str, Any], snapshot: str) -> str:
    """A statement as the API shows it (models.StatementOut): its row's fields, then `networth`, the snapshot's
    JSON text as stored."""
    return dumps(row)[:-1] + ',"networth":' + snapshot + "}"


def get_statement(ctx: RequestContext, statement_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_statement(tx, statement_id)
    if row is None:
        raise errors.NotFound("No such net worth statement")
    snapshot = row.pop("snapshot")
    return {**row, "networth": snapshot}


def list_statements(ctx: RequestContext, group_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(STATEMENTS, query, ctx)
    with db.transaction(ctx) as tx:
        if not store.group_exists(tx, group_id):
            raise errors.NotFound("No such client group")
        rows = store.list_statements(tx, group_id, keyset, created_after=query.created_after,
                                     created_by=query.created_by)
    return keyset.page(rows)


# --- history ---

def history(ctx: RequestContext, group_id: UUID, query: Any) -> str:
    """The household's snapshots from the range's first day to its last (before today), and today's live figure
    last when the range reaches today: the answer as JSON text (models.HistoryOut), its points as the database
    wrote them."""
    with db.transaction(ctx) as tx:
        found = store.history(tx, group_id, query.range, query.from_, query.to)
        if found is None:
            raise errors.NotFound("No such client group")
        today = found["today"]
        reaches_today = found["to_date"] >= today and (found["from_date"] is None or found["from_date"] <= today)
        live = _live(tx, group_id, None)["totals"] if reaches_today else None
    points = found["points"]
    if live is not None:
        point = dumps({"date": today, "assets": live["assets"]["total"], "liabilities": live["liabilities"]["total"],
                       "net_worth": live["net_worth"]["total"], "live": True})
        points = points[:-1] + ("," if points != "[]" else "") + point + "]"
    head = dumps({"client_group_id": group_id, "currency": found["currency"], "range": query.range,
                  "from": found["from_date"], "to": min(found["to_date"], today)})
    return head[:-1] + ',"points":' + points + "}"


# --- the daily job ---

def snapshot_days(today: date, day: date | None = None, from_: date | None = None,
                  to: date | None = None) -> list[date]:
    """The days a run takes: `day`, or `from_` to `to` (both included; `to` defaults to yesterday), or yesterday
    (the last whole day) when neither is given. None may be after today; at most MAX_DAYS."""
    if day is not None and (from_ is not None or to is not None):
        raise ValueError("give either a date or a range (from, to), not both")
    if day is not None:
        first = last = day
    elif from_ is not None or to is not None:
        if from_ is None:
            raise ValueError("a range needs its first day (from)")
        first, last = from_, to or today - timedelta(days=1)
    else:
        first = last = today - timedelta(days=1)
    if first > last:
        raise ValueError(f"the range is empty: {first} is after {last}")
    if last > today:
        raise ValueError(f"{last} is after today ({today}): a day is taken once it has begun, never ahead")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days in one run")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def take_snapshots(conn: Any, *, date: date | None = None, from_: date | None = None, to: date | None = None,
                   budget_seconds: float = RUN_BUDGET_SECONDS) -> dict[str, Any]:
    """The job networth-snapshots (the owner's connection, every firm): each day in turn, oldest first, one
    INSERT ... SELECT for every household without that day's row (days every household has already are skipped),
    each in its own transaction under a statement timeout; no day is started once `budget_seconds` have gone by
    (the figures say which days are left: run again to go on)."""
    from chalicelib.ops.jobs import BY_FIRM

    days = snapshot_days(store.database_today(conn), date, from_, to)
    started = time.monotonic()
    skipped = taken = 0
    left: list[date] = []
    by_firm: dict[Any, dict[str, int]] = {}
    for i, day in enumerate(days):
        if time.monotonic() - started > budget_seconds:
            left = days[i:]
            break
        if store.day_is_complete(conn, day):
            skipped += 1
            continue
        for firm_id, rows in store.insert_snapshots(conn, day, DAY_TIMEOUT_MS).items():
            part = by_firm.setdefault(firm_id, {"rows_written": 0, "days_taken": 0})
            part["rows_written"] += rows
            part["days_taken"] += 1
        taken += 1
    return {"from": days[0], "to": days[-1], "days": len(days), "days_taken": taken, "days_skipped": skipped,
            "rows_written": sum(p["rows_written"] for p in by_firm.values()), "days_left": len(left),
            "next_day": left[0] if left else None, "seconds": round(time.monotonic() - started, 3),
            BY_FIRM: by_firm}


# --- the dashboard ---

def firm_net_worth(tx: db.Tx) -> dict[str, Any]:
    """The firm's net worth under advice: its households' parts added up on the latest day the job took."""
    row = store.firm_latest_total(tx)
    if row is None:
        return {"as_of": None, "households": 0, "assets": Decimal("0.00"), "liabilities": Decimal("0.00"),
                "net_worth": Decimal("0.00"), "currency": None}
    return {"as_of": row["snapshot_date"], "households": row["households"], "assets": row["assets"],
            "liabilities": row["liabilities"], "net_worth": row["net_worth"], "currency": row["currency"]}
