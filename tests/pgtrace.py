"""The statements a piece of code sends to PostgreSQL, read from libpq's protocol trace (used by the overview's
statement-count test and its benchmark)."""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any


def statements_sent(pool: Any, call: Callable[[], Any], width: int = 40) -> list[str]:
    """The statements `call` sends on `pool`'s connection (a pool of one, so that is every statement): each simple
    Query and each Parse (psycopg sends every parameterised statement as Parse/Bind/Execute; nothing is prepared),
    as its first `width` characters with whitespace collapsed."""
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
    sent = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) > 3 and parts[0] == "F" and parts[2] in ("Query", "Parse"):
            statement = parts[3].strip()
            if parts[2] == "Parse" and statement.startswith('""'):  # the (unnamed) statement's name first
                statement = statement[2:].strip()
            sent.append(" ".join(statement.strip('"').split())[:width])
    return sent
