"""The statements a piece of code sends to PostgreSQL, read from libpq's protocol trace, and its round trips (used
by the request-entry and overview tests and by the benchmarks' round-trip counts)."""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any


def statements_sent(pool: Any, call: Callable[[], Any]) -> list[str]:
    """The statements `call` sends on `pool`'s connection (a pool of one, so that is every statement): each simple
    Query and each Parse (psycopg sends every parameterised statement as Parse/Bind/Execute; nothing is prepared),
    as its first 40 characters with whitespace collapsed."""
    return [statement for trip in round_trips_sent(pool, call) for statement in trip]


def round_trips_sent(pool: Any, call: Callable[[], Any], width: int = 40) -> list[list[str]]:
    """The statements `call` sends on `pool`'s connection, grouped by round trip, each as its first `width`
    characters: a simple Query is one round trip; a parameterised statement's Parse goes with the Sync that ends
    it (several, were they pipelined)."""
    from psycopg import pq

    with tempfile.TemporaryFile("w+b") as f:
        with pool.connection() as conn:
            conn.pgconn.trace(f.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        call()
        with pool.connection() as conn:
            conn.pgconn.untrace()
        f.seek(0)
        text = f.read().decode(errors="replace")
    trips: list[list[str]] = []
    batch: list[str] = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0] != "F":
            continue
        if parts[2] == "Sync":
            if batch:
                trips.append(batch)
            batch = []
        elif parts[2] in ("Query", "Parse") and len(parts) > 3:
            statement = parts[3].strip()
            if parts[2] == "Parse":  # the (unnamed) statement's name first, the parameters' count and types after
                statement = statement[2:].strip() if statement.startswith('""') else statement
                statement = statement.rsplit('"', 1)[0]
            statement = " ".join(statement.strip('"').split())[:width]
            if parts[2] == "Query":
                trips.append([statement])
            else:
                batch.append(statement)
    if batch:
        trips.append(batch)
    return trips
