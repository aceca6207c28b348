"""Two raw writers racing, as the derived-row tests stage them: the first writes and holds its transaction open,
the second writes in a thread (and waits on a lock if the triggers take one), then the first commits."""
from __future__ import annotations

import threading
import time
from typing import Any

from tests.conftest import owner_sql


def wait_until_blocked_or_done(thread: threading.Thread, timeout: float = 60) -> None:
    """Until a session of this database waits on a lock, or the thread finished without waiting (bounded)."""
    deadline = time.monotonic() + timeout
    while thread.is_alive() and owner_sql("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = "
                                          "current_database() AND cardinality(pg_blocking_pids(pid)) > 0")[0]["n"] < 1:
        assert time.monotonic() < deadline, "the second writer neither waited nor finished"
        time.sleep(0.01)


def second_writer_after_first(sql: str, first: tuple[Any, ...], second: tuple[Any, ...]) -> dict[str, Any]:
    """Run `sql` with `first`'s parameters in an open owner transaction, then with `second`'s in another (on a
    thread), wait until that one is blocked or done, commit the first. Returns {"committed": True} when the second
    committed, else {"error": the psycopg error}."""
    import psycopg

    from chalicelib.core import db

    outcome: dict[str, Any] = {}
    with db.owner_connection(autocommit=False) as one, db.owner_connection(autocommit=False) as two:
        one.execute(sql, first)

        def run() -> None:
            try:
                two.execute(sql, second)
                two.commit()
                outcome["committed"] = True
            except psycopg.Error as exc:
                two.rollback()
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        wait_until_blocked_or_done(thread)
        one.commit()
        thread.join(60)
    return outcome
