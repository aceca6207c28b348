"""SQL for the ops domain: job runs (recorded by run_job on the owner's connection, read by admins through the API)
and the maintenance statements the jobs run (view refreshes, audit partitions)."""
from __future__ import annotations

from typing import Any

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset


def list_runs(tx: Tx, keyset: Keyset, *, job_name: str | None, status: str | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT id, job_name, status, trigger, started_at, finished_at, figures, error FROM job_runs "
        "WHERE (%(job)s::text IS NULL OR job_name = %(job)s) AND (%(status)s::text IS NULL OR status = %(status)s) "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"job": job_name, "status": status, **keyset.params()})


# --- a job run's record and lock (the owner's autocommit connection) ---

def try_job_lock(conn: Any, key: int) -> bool:
    return conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (key,)).fetchone()["got"]


def release_job_lock(conn: Any, key: int) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def record_skipped_run(conn: Any, name: str, trigger: str, figures: dict[str, Any]) -> Any:
    from psycopg.types.json import Jsonb

    return conn.execute("INSERT INTO job_runs (job_name, status, trigger, finished_at, figures) "
                        "VALUES (%s, 'skipped', %s, clock_timestamp(), %s) RETURNING id",
                        (name, trigger, Jsonb(figures))).fetchone()["id"]


def start_run(conn: Any, name: str, trigger: str) -> Any:
    return conn.execute("INSERT INTO job_runs (job_name, status, trigger) VALUES (%s, 'running', %s) "
                        "RETURNING id", (name, trigger)).fetchone()["id"]


def finish_run(conn: Any, run_id: Any, *, figures: dict[str, Any] | None = None, error: str | None = None) -> None:
    """Succeeded with its figures, or failed with its error."""
    from psycopg.types.json import Jsonb

    from chalicelib.core.jsonutil import dumps

    if error is not None:
        conn.execute("UPDATE job_runs SET status = 'failed', finished_at = clock_timestamp(), error = %s "
                     "WHERE id = %s", (error, run_id))
    else:
        conn.execute("UPDATE job_runs SET status = 'succeeded', finished_at = clock_timestamp(), figures = %s "
                     "WHERE id = %s", (Jsonb(figures or {}, dumps=dumps), run_id))


# --- maintenance ---

def refresh_materialized_view(conn: Any, view: str, as_of: Any) -> int:
    """REFRESH ... CONCURRENTLY (readers never wait), ANALYZE (the planner judges the views' firm filter by the
    statistics), and the refresh time kept in view_refreshes rather than in every row, so that a refresh rewrites
    only the rows whose figures changed. `as_of` is when the run began (it read the write marks then): every write
    committed before it is in the view. Returns the view's row count."""
    from psycopg import sql

    name = sql.Identifier(view)
    conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW CONCURRENTLY {}").format(name))
    conn.execute(sql.SQL("ANALYZE {}").format(name))
    conn.execute("INSERT INTO view_refreshes (view_name, refreshed_at) VALUES (%s, %s) "
                 "ON CONFLICT (view_name) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at", (view, as_of))
    return conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(name)).fetchone()["n"]


# The write marks (dashboard_writes, migration 0015) and a snapshot, in one statement: the marks are exactly those
# of the transactions the snapshot sees as finished, and every statement after this one sees at least as much.
_DASHBOARD_WRITES = """
SELECT pg_current_snapshot()::text AS snapshot, now() AS as_of, count(*) AS writes,
       coalesce(array_agg(DISTINCT firm_id), '{}') AS firms, min(written_at) AS oldest
FROM dashboard_writes"""


def dashboard_writes(conn: Any) -> dict[str, Any]:
    """Every firm's write marks not cleared yet (the owner's connection, all firms): their number, firms and
    oldest time, with the snapshot they were read in and the time (`as_of`)."""
    return conn.execute(_DASHBOARD_WRITES).fetchone()


def clear_dashboard_writes(conn: Any, snapshot: str) -> int:
    """Delete the marks of the writes `snapshot` saw as finished (the ones a refresh begun after it holds); a
    write that committed since keeps its mark. Returns how many went."""
    return conn.execute("DELETE FROM dashboard_writes WHERE pg_visible_in_snapshot(xid, %s::pg_snapshot)",
                        (snapshot,)).rowcount


def firm_ids(conn: Any) -> list[Any]:
    return [r["id"] for r in conn.execute("SELECT id FROM firms ORDER BY id").fetchall()]


def ensure_audit_partitions(conn: Any, months: int) -> dict[str, Any]:
    """Creates the audit trail's partitions from this month for `months` months (ensure_audit_partitions, migration
    0001/0003); returns how many it created, how many exist and the newest."""
    created = conn.execute("SELECT ensure_audit_partitions(CURRENT_DATE, %s) AS created",
                           (months,)).fetchone()["created"]
    partitions = conn.execute(
        "SELECT count(*) AS n, max(c.relname) AS newest FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass").fetchone()
    return {"created": created, "partitions": partitions["n"], "newest": partitions["newest"]}
