"""SQL for the ops domain: job runs (recorded by run_job on the owner's connection: the platform's record in
job_runs, read by operators; each firm's part in firm_job_runs, read by the firm's admins through the API) and the
maintenance statements the jobs run (view refreshes, audit partitions)."""
from __future__ import annotations

from typing import Any

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset


def list_runs(tx: Tx, keyset: Keyset, *, job_name: str | None, status: str | None) -> list[dict[str, Any]]:
    """The firm's part of each run (firm_job_runs; row-level security keeps it to the firm entered). A part is
    recorded only when its run succeeds, so its status is `succeeded` and it has no error."""
    from psycopg import sql

    query = sql.SQL(
        "SELECT id, job_name, 'succeeded' AS status, trigger, started_at, finished_at, figures, NULL AS error "
        "FROM firm_job_runs "
        "WHERE (%(job)s::text IS NULL OR job_name = %(job)s) AND (%(status)s::text IS NULL OR %(status)s = "
        "'succeeded') AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                              order=keyset.order_by())
    return tx.all(query, {"job": job_name, "status": status, **keyset.params()})


# --- the operator's view (the owner's connection: every run, every firm) ---

def platform_runs(conn: Any, *, job_name: str | None, status: str | None, limit: int) -> list[dict[str, Any]]:
    """Every run, newest first, with its platform figures and how many firms' parts it recorded."""
    return conn.execute(
        "SELECT r.id, r.job_name, r.status, r.trigger, r.started_at, r.finished_at, r.figures, r.error, "
        "(SELECT count(*) FROM firm_job_runs f WHERE f.run_id = r.id) AS firms FROM job_runs r "
        "WHERE (%(job)s::text IS NULL OR r.job_name = %(job)s) AND (%(status)s::text IS NULL OR r.status = %(status)s) "
        "ORDER BY r.started_at DESC, r.id DESC LIMIT %(limit)s",
        {"job": job_name, "status": status, "limit": limit}).fetchall()


def firm_runs(conn: Any, firm_id: Any, *, job_name: str | None, limit: int) -> list[dict[str, Any]]:
    """One firm's parts of runs, newest first, as its admin sees them, with the run each belongs to."""
    return conn.execute(
        "SELECT id, run_id, firm_id, job_name, trigger, started_at, finished_at, figures FROM firm_job_runs "
        "WHERE firm_id = %(firm)s AND (%(job)s::text IS NULL OR job_name = %(job)s) "
        "ORDER BY started_at DESC, id DESC LIMIT %(limit)s",
        {"firm": firm_id, "job": job_name, "limit": limit}).fetchall()


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


def fail_interrupted_runs(conn: Any, names: list[str]) -> list[str]:
    """Runs of these jobs left `running` (the caller holds their lock, so none of them is alive): failed, as
    interrupted. Returns their ids."""
    return [str(r["id"]) for r in conn.execute(
        "UPDATE job_runs SET status = 'failed', finished_at = clock_timestamp(), "
        "error = 'interrupted: the run stopped before it finished (killed, or out of time)' "
        "WHERE status = 'running' AND job_name = ANY(%s) RETURNING id", (names,)).fetchall()]


def failing_since_today(conn: Any, name: str, run_id: Any) -> bool:
    """Whether the job's finished run before `run_id` failed too, on the same UTC day (its alert was raised then)."""
    row = conn.execute(
        "SELECT status = 'failed' AND (started_at AT TIME ZONE 'UTC')::date = (now() AT TIME ZONE 'UTC')::date "
        "AS yes FROM job_runs WHERE job_name = %s AND id <> %s AND status IN ('succeeded', 'failed') "
        "ORDER BY started_at DESC, id DESC LIMIT 1", (name, run_id)).fetchone()
    return bool(row and row["yes"])


def start_run(conn: Any, name: str, trigger: str) -> Any:
    return conn.execute("INSERT INTO job_runs (job_name, status, trigger) VALUES (%s, 'running', %s) "
                        "RETURNING id", (name, trigger)).fetchone()["id"]


def finish_run(conn: Any, run_id: Any, *, figures: dict[str, Any] | None = None,
               by_firm: dict[Any, dict[str, Any]] | None = None, error: str | None = None) -> int:
    """Succeeded with its figures and each firm's part (`by_firm`: firm id -> the figures restricted to that firm,
    recorded in firm_job_runs with the run's name, trigger and times, in the same statement), or failed with its
    error. Returns how many firms' parts were recorded (a firm that no longer exists gets none)."""
    from psycopg.types.json import Jsonb

    from chalicelib.core.jsonutil import dumps

    if error is not None:
        conn.execute("UPDATE job_runs SET status = 'failed', finished_at = clock_timestamp(), error = %s "
                     "WHERE id = %s", (error, run_id))
        return 0
    parts = {str(firm): part for firm, part in (by_firm or {}).items()}
    return conn.execute(
        "WITH run AS (UPDATE job_runs SET status = 'succeeded', finished_at = clock_timestamp(), figures = %(f)s "
        "             WHERE id = %(id)s RETURNING id, job_name, trigger, started_at, finished_at) "
        "INSERT INTO firm_job_runs (firm_id, run_id, job_name, trigger, started_at, finished_at, figures) "
        "SELECT firm.id, run.id, run.job_name, run.trigger, run.started_at, run.finished_at, part.value "
        "FROM run, jsonb_each(%(parts)s) AS part JOIN firms firm ON firm.id = part.key::uuid",
        {"f": Jsonb(figures or {}, dumps=dumps), "id": run_id, "parts": Jsonb(parts, dumps=dumps)}).rowcount


# --- maintenance ---

def refresh_materialized_view(conn: Any, view: str, as_of: Any) -> dict[Any, int]:
    """REFRESH ... CONCURRENTLY (readers never wait), ANALYZE (the planner judges the views' firm filter by the
    statistics), and the refresh time kept in view_refreshes rather than in every row, so that a refresh rewrites
    only the rows whose figures changed. `as_of` is when the run began (it read the write marks then): every write
    committed before it is in the view. Returns the view's row count of each firm (one scan, as a count would be)."""
    from psycopg import sql

    name = sql.Identifier(view)
    conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW CONCURRENTLY {}").format(name))
    conn.execute(sql.SQL("ANALYZE {}").format(name))
    conn.execute("INSERT INTO view_refreshes (view_name, refreshed_at) VALUES (%s, %s) "
                 "ON CONFLICT (view_name) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at", (view, as_of))
    rows = conn.execute(sql.SQL("SELECT firm_id, count(*) AS n FROM {} GROUP BY firm_id").format(name)).fetchall()
    return {r["firm_id"]: r["n"] for r in rows}


# The write marks (dashboard_writes, migration 0015), per firm, and a snapshot, in one statement: the marks are
# exactly those of the transactions the snapshot sees as finished, and every statement after this one sees at least
# as much. One row with no firm when there is no mark.
_DASHBOARD_WRITES = """
SELECT s.snapshot, s.as_of, m.firm_id, m.writes, m.oldest
FROM (SELECT pg_current_snapshot()::text AS snapshot, now() AS as_of) s
LEFT JOIN (SELECT firm_id, count(*) AS writes, min(written_at) AS oldest FROM dashboard_writes GROUP BY firm_id) m
       ON true
ORDER BY m.firm_id"""


def dashboard_writes(conn: Any) -> dict[str, Any]:
    """Every firm's write marks not cleared yet (the owner's connection, all firms): their number, firms and
    oldest time, each firm's (`by_firm`: firm id -> writes, oldest), with the snapshot they were read in and the
    time (`as_of`)."""
    rows = conn.execute(_DASHBOARD_WRITES).fetchall()
    by_firm = {r["firm_id"]: {"writes": r["writes"], "oldest": r["oldest"]} for r in rows if r["firm_id"]}
    return {"snapshot": rows[0]["snapshot"], "as_of": rows[0]["as_of"], "firms": list(by_firm),
            "writes": sum(m["writes"] for m in by_firm.values()),
            "oldest": min((m["oldest"] for m in by_firm.values()), default=None), "by_firm": by_firm}


def clear_dashboard_writes(conn: Any, snapshot: str) -> dict[Any, int]:
    """Delete the marks of the writes `snapshot` saw as finished (the ones a refresh begun after it holds); a
    write that committed since keeps its mark. Returns how many went, per firm."""
    rows = conn.execute("WITH gone AS (DELETE FROM dashboard_writes WHERE pg_visible_in_snapshot(xid, %s::pg_snapshot) "
                        "RETURNING firm_id) SELECT firm_id, count(*) AS n FROM gone GROUP BY firm_id",
                        (snapshot,)).fetchall()
    return {r["firm_id"]: r["n"] for r in rows}


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


# --- database upkeep (job db-maintenance; the owner's autocommit connection: REINDEX CONCURRENTLY refuses to run
# inside a transaction block) ---

def maintained_tables(conn: Any) -> list[str]:
    """The tables and materialized views of the application's schema that the connected role owns (ANALYZE and
    REINDEX need ownership), by name. Partitioned parents are included (ANALYZE samples their partitions)."""
    return [r["name"] for r in conn.execute(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm', 'p') AND pg_has_role(c.relowner, 'USAGE') "
        "ORDER BY c.relname").fetchall()]


def foreign_indexes(conn: Any) -> list[str]:
    """Indexes of the application's schema the connected role may not REINDEX (owned by another role)."""
    return [r["name"] for r in conn.execute(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('i', 'I') AND NOT pg_has_role(c.relowner, 'USAGE') "
        "ORDER BY 1").fetchall()]


def analyze_table(conn: Any, table: str) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


def set_client_check(conn: Any, milliseconds: int) -> None:
    """Make the server notice within `milliseconds` that this session's client has gone (a Lambda killed at its
    time limit) and abort the statement, instead of running it on to its end holding the job's lock."""
    conn.execute(f"SET client_connection_check_interval = {int(milliseconds)}")


def leftover_indexes(conn: Any) -> list[str]:
    """Invalid indexes a REINDEX CONCURRENTLY left when it was interrupted (`<name>_ccnew`, `<name>_ccold`, with a
    number when taken): never used by a query, still written by every insert."""
    return [r["name"] for r in conn.execute(
        "SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND NOT i.indisvalid "
        "AND c.relname ~ '_cc(new|old)[0-9]*$' AND pg_has_role(c.relowner, 'USAGE') ORDER BY 1").fetchall()]


def drop_index_concurrently(conn: Any, index: str) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(index)))


def reindex_concurrently(conn: Any, index: str) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("REINDEX INDEX CONCURRENTLY {}").format(sql.Identifier(index)))


def index_bytes(conn: Any, index: str) -> int:
    return conn.execute("SELECT pg_relation_size(c.oid) AS n FROM pg_class c JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = %s",
                        (index,)).fetchone()["n"]


def can_use_pgstattuple(conn: Any) -> bool:
    """pgstattuple is installed in the database and the connected role may call pgstatindex (a superuser created
    the extension and granted pg_stat_scan_tables to the owner role)."""
    return conn.execute(
        "SELECT to_regprocedure('pgstatindex(regclass)') IS NOT NULL "
        "AND has_function_privilege(to_regprocedure('pgstatindex(regclass)'), 'EXECUTE') AS ok").fetchone()["ok"]


# Each valid B-tree index of the schema that the role owns, with its size and its expected size packed at its fill
# factor: reltuples (from the last ANALYZE or VACUUM) index tuples of 8 bytes of header plus the average widths of
# its columns (pg_stats: the table's column, or the index's own statistics for an expression; the type's length,
# else 16 bytes, without), rounded up to 8, plus a 4-byte line pointer, on pages of block_size less the page header
# (24) and the B-tree special space (16), plus the metapage, over its pages now. Other access methods (GIN, GiST)
# are listed with no estimate. reltuples < 0 (never analyzed) gives no estimate either.
_INDEX_ESTIMATES = """
WITH idx AS (
  SELECT c.oid, c.relname AS index_name, t.relname AS table_name, n.nspname, am.amname, c.relpages, c.reltuples,
         i.indkey, pg_relation_size(c.oid) AS bytes,
         coalesce((SELECT substring(o FROM 'fillfactor=([0-9]+)')::int FROM unnest(c.reloptions) o
                   WHERE o LIKE 'fillfactor=%'), 90) AS fillfactor
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = c.relam
  WHERE n.nspname = current_schema() AND c.relkind = 'i' AND i.indisvalid AND pg_has_role(c.relowner, 'USAGE')
), cols AS (
  SELECT idx.oid, sum(coalesce(s.avg_width, CASE WHEN ty.typlen > 0 THEN ty.typlen ELSE 16 END)) AS width,
         bool_and(s.avg_width IS NOT NULL) AS has_stats
  FROM idx JOIN pg_attribute a ON a.attrelid = idx.oid AND a.attnum > 0
  JOIN pg_type ty ON ty.oid = a.atttypid
  LEFT JOIN pg_stats s ON s.schemaname = idx.nspname AND s.attname = a.attname
       AND s.tablename = CASE WHEN idx.indkey[a.attnum - 1] = 0 THEN idx.index_name ELSE idx.table_name END
  GROUP BY idx.oid
)
SELECT idx.index_name, idx.table_name, idx.amname, idx.bytes, idx.relpages, idx.reltuples, idx.fillfactor,
       cols.has_stats,
       CASE WHEN idx.amname = 'btree' AND idx.reltuples >= 0 AND idx.bytes > current_setting('block_size')::int THEN
         greatest(0, 1 - (1 + ceil(idx.reltuples * (8 * ceil((8 + cols.width) / 8.0) + 4)
                          / ((current_setting('block_size')::int - 40) * idx.fillfactor / 100.0)))
                         / (idx.bytes / current_setting('block_size')::numeric))::float8
       END AS bloat
FROM idx JOIN cols ON cols.oid = idx.oid
ORDER BY idx.index_name"""


def index_estimates(conn: Any) -> list[dict[str, Any]]:
    """Every index the job may check, by name, with its size and estimated bloat (the share of its size beyond what
    its rows need packed at the fill factor; None where there is no estimate)."""
    return conn.execute(_INDEX_ESTIMATES).fetchall()


def pgstattuple_bloat(conn: Any, index: str, fillfactor: int) -> float | None:
    """Bloat measured by reading the index (pgstatindex): 1 - the average leaf density over the fill factor (a
    freshly built index has its leaves filled to it). None for an empty index."""
    row = conn.execute("SELECT avg_leaf_density AS d FROM pgstatindex(%s::regclass)", (index,)).fetchone()
    density = row["d"]
    if density is None or density != density:  # NaN: no leaf page
        return None
    return max(0.0, 1 - float(density) / fillfactor)


def last_run_figures(conn: Any, job_name: str) -> dict[str, Any] | None:
    """The figures of the job's latest succeeded run (where a bounded run left off)."""
    row = conn.execute("SELECT figures FROM job_runs WHERE job_name = %s AND status = 'succeeded' "
                       "ORDER BY started_at DESC, id DESC LIMIT 1", (job_name,)).fetchone()
    return row["figures"] if row else None
