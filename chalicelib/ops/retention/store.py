"""SQL for retention: the policies (the API, as the app role, in the firm's transaction) and the job's batches (the
owner's autocommit connection, every firm, each batch one statement or one transaction of its own).

Table and column names come only from the allow-list below and models.TABLES (constants), never from input."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset
from chalicelib.ops.retention.models import TABLES

POLICY_COLUMNS = ("id, table_name, condition, retention_period_text(period) AS period, action, schedule, enabled, "
                  "last_completed_at, created_at, updated_at, version")

# Which rows of the table a condition covers, besides the date (the same names as models.TABLES).
_CONDITION_SQL = {
    ("audit_events", "other"): "NOT audit_is_security_event(action)",
    ("audit_events", "security"): "audit_is_security_event(action)",
    ("sessions", "expired"): "true",
    ("sessions", "revoked"): "revoked_at IS NOT NULL",
    ("notifications", "any"): "true",
    ("notifications", "read"): "read_at IS NOT NULL",
}
# Columns an archive leaves out: a session's token hash is a credential's, of no use once the session is gone.
_NOT_ARCHIVED = {"sessions": ("token_hash",)}


# --- the API (app role) ---

def list_policies(tx: Tx, keyset: Keyset, *, table_name: str | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT " + POLICY_COLUMNS + " FROM data_retention_policies "
                    "WHERE (%(table)s::text IS NULL OR table_name = %(table)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"table": table_name, **keyset.params()})


def get_policy(tx: Tx, policy_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return tx.one(f"SELECT {POLICY_COLUMNS} FROM data_retention_policies WHERE id = %s{lock}", (policy_id,))


def find_policy(tx: Tx, table_name: str, condition: str) -> dict[str, Any] | None:
    return tx.one(f"SELECT {POLICY_COLUMNS} FROM data_retention_policies WHERE table_name = %s AND condition = %s",
                  (table_name, condition))


def insert_policy(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    return tx.one("INSERT INTO data_retention_policies (firm_id, table_name, condition, period, action, schedule, "
                  "enabled) VALUES (current_firm_id(), %(table_name)s, %(condition)s, %(period)s::interval, "
                  f"%(action)s, %(schedule)s, %(enabled)s) RETURNING {POLICY_COLUMNS}", values)


def update_policy(tx: Tx, policy_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    from psycopg import sql

    casts = {"period": "::interval"}
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}" + casts.get(k, "")).format(sql.Identifier(k), sql.Placeholder(k)) for k in changes)
    query = sql.SQL("UPDATE data_retention_policies SET {}, version = version + 1 WHERE id = %(id)s "
                    "RETURNING " + POLICY_COLUMNS).format(assignments)
    return tx.one(query, {**changes, "id": policy_id})


# --- the job (the owner's autocommit connection) ---

def due_policies(conn: Any) -> list[dict[str, Any]]:
    """Every firm's enabled policies that remove or change rows and are due (daily: every run; weekly: when the
    last complete pass is a week old, less an hour for the schedule's drift), each with its cut-off: rows dated
    before it are outside the period. In a stable order, so that a run stopped by its budget resumes where the
    previous one stopped."""
    return conn.execute(
        "SELECT id, firm_id, table_name, condition, action, retention_period_text(period) AS period, "
        "now() - period AS cutoff FROM data_retention_policies "
        "WHERE enabled AND action <> 'keep' AND (schedule = 'daily' OR last_completed_at IS NULL "
        "OR last_completed_at <= now() - interval '7 days' + interval '1 hour') "
        "ORDER BY firm_id, table_name, condition").fetchall()


def _parts(table: str, condition: str) -> dict[str, Any]:
    from psycopg import sql

    return {"t": sql.Identifier(table), "date": sql.Identifier(TABLES[table].conditions[condition].date_column),
            "cond": sql.SQL(_CONDITION_SQL[(table, condition)])}


def lock_batch(conn: Any, table: str, condition: str, firm_id: Any, cutoff: Any, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` of the firm's rows the condition covers dated before the cut-off, oldest first, locked for the
    caller's transaction (rows another transaction holds are left to the next batch): each row's id, date (`at`)
    and the row itself as JSON text (an archive's line)."""
    from psycopg import sql

    parts = _parts(table, condition)
    parts["drop"] = sql.SQL("").join(sql.SQL(" - {}").format(sql.Literal(c)) for c in _NOT_ARCHIVED.get(table, ()))
    query = sql.SQL(
        "SELECT t.id, t.{date} AS at, (to_jsonb(t){drop})::text AS line FROM {t} t WHERE firm_id = %(firm)s "
        "AND {date} < %(cutoff)s AND {cond} ORDER BY {date} LIMIT %(n)s FOR UPDATE SKIP LOCKED").format(**parts)
    return conn.execute(query, {"firm": firm_id, "cutoff": cutoff, "n": limit}).fetchall()


def _batch_cte(table: str, condition: str, personal: bool) -> Any:
    """The batch as a CTE `batch` (id, at) and its date range, for a statement that deletes or changes exactly those
    rows without sending them through the client."""
    from psycopg import sql

    parts = _parts(table, condition)
    fields = TABLES[table].personal_fields
    parts["held"] = (sql.SQL(" AND ({})").format(sql.SQL(" OR ").join(
        sql.SQL("{} IS NOT NULL").format(sql.Identifier(f)) for f in fields)) if personal else sql.SQL(""))
    return sql.SQL(
        "WITH batch AS MATERIALIZED (SELECT t.id, t.{date} AS at FROM {t} t WHERE firm_id = %(firm)s "
        "AND {date} < %(cutoff)s AND {cond}{held} ORDER BY {date} LIMIT %(n)s FOR UPDATE SKIP LOCKED), "
        "span AS (SELECT min(at) AS lo, max(at) AS hi FROM batch) ").format(**parts)


def delete_batch(conn: Any, table: str, condition: str, firm_id: Any, cutoff: Any, limit: int) -> int:
    """Deletes up to `limit` of the firm's rows the condition covers dated before the cut-off, oldest first (rows
    another transaction holds are left to the next batch), in one statement. Returns how many."""
    from psycopg import sql

    query = sql.SQL("{batch}DELETE FROM {t} x USING batch WHERE x.firm_id = %(firm)s AND x.id = batch.id "
                    "AND x.{date} BETWEEN (SELECT lo FROM span) AND (SELECT hi FROM span)").format(
        batch=_batch_cte(table, condition, False), t=sql.Identifier(table),
        date=sql.Identifier(TABLES[table].conditions[condition].date_column))
    return conn.execute(query, {"firm": firm_id, "cutoff": cutoff, "n": limit}).rowcount


def anonymize_batch(conn: Any, table: str, condition: str, firm_id: Any, cutoff: Any, limit: int) -> int:
    """Clears the personal fields (models.TABLES) of up to `limit` of the firm's rows the condition covers dated
    before the cut-off that still hold one, in one statement. Returns how many."""
    from psycopg import sql

    assignments = sql.SQL(", ").join(sql.SQL("{} = NULL").format(sql.Identifier(f))
                                     for f in TABLES[table].personal_fields)
    query = sql.SQL("{batch}UPDATE {t} x SET {set} FROM batch WHERE x.firm_id = %(firm)s AND x.id = batch.id "
                    "AND x.{date} BETWEEN (SELECT lo FROM span) AND (SELECT hi FROM span)").format(
        batch=_batch_cte(table, condition, True), t=sql.Identifier(table), set=assignments,
        date=sql.Identifier(TABLES[table].conditions[condition].date_column))
    return conn.execute(query, {"firm": firm_id, "cutoff": cutoff, "n": limit}).rowcount


def _where_rows(table: str, condition: str) -> Any:
    """The rows of a locked batch: by firm, the batch's date range (an index range, and for the partitioned audit
    trail only the partitions of those months) and their ids."""
    from psycopg import sql

    return sql.SQL("firm_id = %(firm)s AND {date} BETWEEN %(lo)s AND %(hi)s AND id = ANY(%(ids)s)").format(
        **_parts(table, condition))


def _batch_params(firm_id: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"firm": firm_id, "lo": min(r["at"] for r in rows), "hi": max(r["at"] for r in rows),
            "ids": [r["id"] for r in rows]}


def delete_rows(conn: Any, table: str, condition: str, firm_id: Any, rows: list[dict[str, Any]]) -> int:
    """Deletes exactly the rows of a locked batch (lock_batch). Returns how many."""
    from psycopg import sql

    query = sql.SQL("DELETE FROM {t} WHERE {where}").format(t=sql.Identifier(table),
                                                            where=_where_rows(table, condition))
    return conn.execute(query, _batch_params(firm_id, rows)).rowcount


# --- draft plans: whole plans, never single versions (docs/domain.md, "How long rows are kept") ---

def plan_links(conn: Any) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every foreign key into plans.id from another table, read from the catalog, so that
    a table added later that links plans (plan runs, an objective's plan) keeps its plans without a change here."""
    return [(r["nsp"], r["rel"], r["col"]) for r in conn.execute(
        "SELECT DISTINCT n.nspname AS nsp, cl.relname AS rel, a.attname AS col "
        "FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace "
        "CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(src, dst) "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.src "
        "JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = k.dst "
        "WHERE c.contype = 'f' AND c.confrelid = 'plans'::regclass AND c.conrelid <> 'plans'::regclass "
        "AND c.conparentid = 0 AND b.attname = 'id' "
        "ORDER BY 1, 2, 3").fetchall()]


def _plan_linked(links: list[tuple[str, str, str]]) -> Any:
    """A condition on a version `p`: some row of another table links it."""
    from psycopg import sql

    if not links:
        return sql.SQL("false")
    return sql.SQL(" OR ").join(
        sql.SQL("EXISTS (SELECT 1 FROM {} l WHERE l.{} = p.id)").format(sql.Identifier(nsp, rel), sql.Identifier(col))
        for nsp, rel, col in links)


def lock_plan_batch(conn: Any, firm_id: Any, cutoff: Any, limit: int,
                    links: list[tuple[str, str, str]]) -> tuple[int, list[dict[str, Any]]]:
    """In the caller's transaction: up to `limit` of the firm's plans that have expired, least recently touched
    first, locked, with every one of their versions. A plan has expired when every version is a draft, its newest
    was made before the cut-off (nothing else touches a plan: an edit is a new version) and no row of another table
    links any of its versions. Returns how many plans were candidates (fewer than `limit`: none is left) and the
    versions of those that are still expired once locked (id, date `at`, root, the row as JSON text).

    The locks are those the plan service takes, so that no version is added to a plan being removed: each
    household's row (the service holds it FOR UPDATE while it adds a version; FOR NO KEY UPDATE here does not hold
    up other writers naming the household), then the versions themselves (a row linking a version holds it FOR KEY
    SHARE while it is written); a household or version another transaction holds is skipped, and its plan left to
    the next run. The plans are then read again, in a snapshot taken once the locks are held: whatever linked or
    added to them before is seen, and whatever tries after waits for this transaction."""
    from psycopg import sql

    linked = _plan_linked(links)
    params = {"firm": firm_id, "cutoff": cutoff, "n": limit}
    roots = [r["root"] for r in conn.execute(sql.SQL(
        "SELECT p.root_plan_id AS root FROM plans p WHERE p.firm_id = %(firm)s GROUP BY p.root_plan_id "
        "HAVING bool_and(p.status = 'draft') AND max(p.created_at) < %(cutoff)s AND NOT bool_or({linked}) "
        "ORDER BY max(p.created_at), p.root_plan_id LIMIT %(n)s").format(linked=linked), params).fetchall()]
    if not roots:
        return 0, []
    params["roots"] = roots
    groups = [r["id"] for r in conn.execute(
        "SELECT g.id FROM client_groups g WHERE g.firm_id = %(firm)s AND g.id IN (SELECT p.client_group_id "
        "FROM plans p WHERE p.firm_id = %(firm)s AND p.root_plan_id = ANY(%(roots)s)) "
        "ORDER BY g.id FOR NO KEY UPDATE SKIP LOCKED", params).fetchall()]
    params["locked"] = [r["id"] for r in conn.execute(
        "SELECT p.id FROM plans p WHERE p.firm_id = %(firm)s AND p.root_plan_id = ANY(%(roots)s) "
        "AND p.client_group_id = ANY(%(groups)s) ORDER BY p.id FOR UPDATE SKIP LOCKED",
        {**params, "groups": groups}).fetchall()]
    rows = conn.execute(sql.SQL(
        "SELECT p.id, p.created_at AS at, p.root_plan_id AS root, to_jsonb(p)::text AS line FROM plans p "
        "WHERE p.firm_id = %(firm)s AND p.root_plan_id IN ("
        "  SELECT p.root_plan_id FROM plans p WHERE p.firm_id = %(firm)s AND p.root_plan_id = ANY(%(roots)s) "
        "  GROUP BY p.root_plan_id HAVING bool_and(p.status = 'draft') AND max(p.created_at) < %(cutoff)s "
        "  AND bool_and(p.id = ANY(%(locked)s)) AND NOT bool_or({linked})) "
        "ORDER BY p.root_plan_id, p.version").format(linked=linked), params).fetchall()
    return len(roots), rows


def delete_plans(conn: Any, firm_id: Any, rows: list[dict[str, Any]]) -> int:
    """Deletes exactly the versions of a locked batch (lock_plan_batch): whole plans, in one statement (a version's
    parent and root go with it), under the setting that lets a retention run delete plans (migration 0030's
    trigger plans_immutable refuses every other DELETE). Returns how many versions."""
    conn.execute("SET LOCAL wealthdesk.plan_retention = 'delete'")
    deleted = conn.execute("DELETE FROM plans WHERE firm_id = %s AND id = ANY(%s)",
                           (firm_id, [r["id"] for r in rows])).rowcount
    conn.execute("SET LOCAL wealthdesk.plan_retention = ''")
    return deleted


def mark_completed(conn: Any, policy_id: Any) -> None:
    conn.execute("UPDATE data_retention_policies SET last_completed_at = now() WHERE id = %s", (policy_id,))


def drop_empty_audit_partitions(conn: Any, years: int) -> list[str]:
    """Drops the audit trail's monthly partitions that end more than `years` years ago and hold no row (every
    firm's rows of that month removed by its own policy). Each under a short lock timeout: a partition that cannot
    be locked at once is left to the next run. Returns the partitions dropped."""
    import psycopg
    from psycopg import sql

    names = [r["relname"] for r in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'audit_events'::regclass AND c.relname ~ '^audit_events_[0-9]{6}$' "
        "AND to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month' <= now() - make_interval(years => %s) "
        "ORDER BY c.relname", (years,)).fetchall()]
    dropped = []
    for name in names:
        try:
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '2s'")
                # The parent first, then the partition: the order an insert takes them in.
                conn.execute("LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE")
                conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(name)))
                if conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {}) AS held").format(
                        sql.Identifier(name))).fetchone()["held"]:
                    continue
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
                dropped.append(name)
        except psycopg.errors.LockNotAvailable:
            continue
    return dropped
