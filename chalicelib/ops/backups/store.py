"""SQL for backups: their records (the owner's connection; admins read them through the ops_backups views as the
app role), the snapshot a dump is taken in, scratch databases, and the checks run on a restored database."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

_RECORD = ("id, status, started_at, finished_at, store, object_key, size_bytes, sha256, manifest, error, deleted_at")
_VERDICT = ("(SELECT to_jsonb(v) FROM (SELECT x.outcome, x.finished_at, x.reason, x.stage FROM backup_verifications x "
            "WHERE x.backup_id = b.id AND x.outcome IS NOT NULL ORDER BY x.finished_at DESC, x.id DESC LIMIT 1) v) "
            "AS verdict")


# --- the API (app role, through the admin views) ---

def list_backups(tx: Tx, keyset: Keyset, *, status: str | None, verdict: str | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL(
        "SELECT id, status, started_at, finished_at, deleted_at, verdict, verified_at, verdict_stage FROM ops_backups "
        "WHERE (%(status)s::text IS NULL OR status = %(status)s) "
        "AND (%(verdict)s::text IS NULL OR coalesce(verdict, 'none') = %(verdict)s) "
        "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(), order=keyset.order_by())
    return tx.all(query, {"status": status, "verdict": verdict, **keyset.params()})


def get_backup_view(tx: Tx, backup_id: UUID) -> dict[str, Any] | None:
    return tx.one("SELECT id, status, started_at, finished_at, deleted_at, verdict, verified_at, verdict_stage, "
                  "firm_tables FROM ops_backups WHERE id = %s", (backup_id,))


def verifications_view(tx: Tx, backup_id: UUID) -> list[dict[str, Any]]:
    return tx.all("SELECT id, trigger, started_at, finished_at, outcome, stage "
                  "FROM ops_backup_verifications WHERE backup_id = %s ORDER BY started_at DESC, id DESC",
                  (backup_id,))


# --- records (the owner's autocommit connection) ---

def interrupt_running(conn: Any) -> list[dict[str, Any]]:
    """Backups left `running` by a run that died (the caller holds the backup lock, so no run is alive): failed."""
    return conn.execute("UPDATE backups SET status = 'failed', finished_at = clock_timestamp(), "
                        "error = 'interrupted: the run that made it stopped before it finished' "
                        "WHERE status = 'running' RETURNING id, store, object_key").fetchall()


def insert_running(conn: Any, backup_id: UUID, store: str, object_key: str) -> Any:
    return conn.execute("INSERT INTO backups (id, status, store, object_key) VALUES (%s, 'running', %s, %s) "
                        "RETURNING started_at", (backup_id, store, object_key)).fetchone()["started_at"]


def complete(conn: Any, backup_id: UUID, *, size: int, sha256: str, manifest: dict[str, Any], finished_at: Any) -> None:
    from psycopg.types.json import Jsonb

    from chalicelib.core.jsonutil import dumps

    conn.execute("UPDATE backups SET status = 'completed', finished_at = %s, size_bytes = %s, sha256 = %s, "
                 "manifest = %s WHERE id = %s", (finished_at, size, sha256, Jsonb(manifest, dumps=dumps), backup_id))


def fail(conn: Any, backup_id: UUID, error: str) -> None:
    conn.execute("UPDATE backups SET status = 'failed', finished_at = clock_timestamp(), error = %s WHERE id = %s",
                 (error, backup_id))


def get_backup(conn: Any, backup_id: UUID) -> dict[str, Any] | None:
    return conn.execute(f"SELECT {_RECORD}, {_VERDICT} FROM backups b WHERE id = %s", (backup_id,)).fetchone()


def newest_completed(conn: Any) -> dict[str, Any] | None:
    return conn.execute(f"SELECT {_RECORD}, {_VERDICT} FROM backups b WHERE status = 'completed' "
                        "ORDER BY started_at DESC, id DESC LIMIT 1").fetchone()


def newest_unverified(conn: Any) -> dict[str, Any] | None:
    """The newest completed backup without a verdict."""
    return conn.execute(
        f"SELECT {_RECORD}, NULL::jsonb AS verdict FROM backups b WHERE status = 'completed' AND NOT EXISTS "
        "(SELECT 1 FROM backup_verifications x WHERE x.backup_id = b.id AND x.outcome IS NOT NULL) "
        "ORDER BY started_at DESC, id DESC LIMIT 1").fetchone()


def newest_passed(conn: Any) -> dict[str, Any] | None:
    """The newest backup whose latest verdict is `passed` (still in the store)."""
    return conn.execute(
        f"SELECT * FROM (SELECT {_RECORD}, {_VERDICT} FROM backups b WHERE status = 'completed') r "
        "WHERE verdict ->> 'outcome' = 'passed' ORDER BY started_at DESC, id DESC LIMIT 1").fetchone()


def rotation_candidates(conn: Any) -> list[dict[str, Any]]:
    """Every completed backup (still in the store) with its latest verdict."""
    return conn.execute(
        "SELECT b.id, b.started_at, b.store, b.object_key, v.outcome FROM backups b LEFT JOIN LATERAL "
        "(SELECT x.outcome FROM backup_verifications x WHERE x.backup_id = b.id AND x.outcome IS NOT NULL "
        " ORDER BY x.finished_at DESC, x.id DESC LIMIT 1) v ON true "
        "WHERE b.status = 'completed' ORDER BY b.started_at, b.id").fetchall()


def mark_deleted(conn: Any, backup_id: UUID) -> None:
    conn.execute("UPDATE backups SET status = 'deleted', deleted_at = clock_timestamp() WHERE id = %s "
                 "AND status = 'completed'", (backup_id,))


def recent_backups(conn: Any, limit: int) -> list[dict[str, Any]]:
    """Newest first, with their latest verdicts (the command line's list)."""
    return conn.execute(f"SELECT {_RECORD}, {_VERDICT} FROM backups b ORDER BY started_at DESC, id DESC LIMIT %s",
                        (limit,)).fetchall()


def interrupt_verifications(conn: Any) -> int:
    """Verifications a dead run left unfinished (the caller holds the backup lock, so none is alive): failed."""
    return conn.execute("UPDATE backup_verifications SET finished_at = clock_timestamp(), outcome = 'failed', "
                        "reason = 'interrupted: the run that made it stopped before it finished' "
                        "WHERE outcome IS NULL").rowcount


def start_verification(conn: Any, backup_id: UUID, trigger: str) -> Any:
    return conn.execute("INSERT INTO backup_verifications (backup_id, trigger) VALUES (%s, %s) RETURNING id",
                        (backup_id, trigger)).fetchone()["id"]


def finish_verification(conn: Any, verification_id: Any, *, outcome: str, stage: str, reason: str | None,
                        figures: dict[str, Any]) -> dict[str, Any]:
    from psycopg.types.json import Jsonb

    from chalicelib.core.jsonutil import dumps

    return conn.execute(
        "UPDATE backup_verifications SET finished_at = clock_timestamp(), outcome = %s, stage = %s, reason = %s, "
        "figures = %s WHERE id = %s RETURNING id, backup_id, trigger, started_at, finished_at, outcome, stage, "
        "reason, figures", (outcome, stage, reason, Jsonb(figures, dumps=dumps), verification_id)).fetchone()


# --- the server and the snapshot a dump is taken in ---

def server_facts(conn: Any) -> dict[str, Any]:
    return conn.execute("SELECT current_setting('server_version') AS version, "
                        "current_setting('server_version_num')::int AS version_num, "
                        "current_database() AS database, current_user AS role").fetchone()


def begin_snapshot(conn: Any) -> str:
    """Open a REPEATABLE READ, READ ONLY transaction on an autocommit connection and export its snapshot, for
    pg_dump --snapshot: every statement of this transaction then sees exactly what the dump holds. The caller
    ends it (`end_snapshot`) once pg_dump is done."""
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    return conn.execute("SELECT pg_export_snapshot() AS snapshot").fetchone()["snapshot"]


def end_snapshot(conn: Any) -> None:
    conn.execute("ROLLBACK")


# Tables whose rows row-level security would hide from the current role (which dumps with --enable-row-security,
# unless it may bypass it): RLS applies to it (forced, or not its table) and no permissive policy for it or PUBLIC
# shows every row (USING true), or a restrictive one applies. A dump would silently miss their rows.
_HIDDEN = """
WITH me AS (SELECT oid, rolsuper OR rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user)
SELECT format('%I.%I', n.nspname, c.relname) AS what FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT (SELECT bypass FROM me)
  AND (c.relforcerowsecurity OR c.relowner <> (SELECT oid FROM me))
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND (NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd IN ('*', 'r')
                   AND p.polroles && ARRAY[0::oid, (SELECT oid FROM me)]
                   AND pg_get_expr(p.polqual, p.polrelid) = 'true')
       OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND NOT p.polpermissive
                  AND p.polcmd IN ('*', 'r') AND p.polroles && ARRAY[0::oid, (SELECT oid FROM me)]))
ORDER BY 1"""


def tables_hiding_rows(conn: Any) -> list[str]:
    return [r["what"] for r in conn.execute(_HIDDEN).fetchall()]


def applied_migrations(conn: Any) -> list[str]:
    if conn.execute("SELECT to_regclass('public._yoyo_migration') IS NOT NULL AS ok").fetchone()["ok"] is False:
        return []
    return [r["migration_id"] for r in conn.execute(
        "SELECT migration_id FROM public._yoyo_migration ORDER BY applied_at_utc, migration_id").fetchall()]


# The tables whose rows a dump holds: ordinary tables and partitions (a partitioned table holds none itself),
# logged or not, of every schema but the system's, and not an extension's own.
_DUMPED_TABLES = """
SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY 1, 2"""


def dumped_tables(conn: Any) -> list[tuple[str, str]]:
    return [(r["schema"], r["name"]) for r in conn.execute(_DUMPED_TABLES).fetchall()]


def row_counts(conn: Any, tables: list[tuple[str, str]]) -> dict[str, int]:
    """{"schema.table": rows} for each table (whole-table counts, in the connection's transaction)."""
    return row_counts_by_firm(conn, tables)[0]


# The column naming each row's firm: `firm_id` (uuid) of the tenant tables, `id` of public.firms.
_FIRM_COLUMNS = """
SELECT n.nspname AS schema, c.relname AS name, a.attname AS col FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'uuid'::regtype
  AND (a.attname = 'firm_id' OR (n.nspname = 'public' AND c.relname = 'firms' AND a.attname = 'id'))"""


def row_counts_by_firm(conn: Any, tables: list[tuple[str, str]]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Every table's rows, and each firm's rows of the tables that hold firms' rows ({firm: {table: rows}}), one
    scan per table, in the connection's transaction."""
    from psycopg import sql

    firm_column = {(r["schema"], r["name"]): r["col"] for r in conn.execute(_FIRM_COLUMNS).fetchall()}
    totals: dict[str, int] = {}
    by_firm: dict[str, dict[str, int]] = {}
    for schema, name in tables:
        key, table = f"{schema}.{name}", sql.Identifier(schema, name)
        column = firm_column.get((schema, name))
        if column is None:
            totals[key] = conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(table)).fetchone()["n"]
            continue
        rows = conn.execute(sql.SQL("SELECT {} AS firm, count(*) AS n FROM {} GROUP BY 1").format(
            sql.Identifier(column), table)).fetchall()
        totals[key] = sum(r["n"] for r in rows)
        for r in rows:
            if r["firm"] is not None:
                by_firm.setdefault(str(r["firm"]), {})[key] = r["n"]
    return totals, by_firm


# How many objects of each kind the database's own schemas hold (extension members left out): a restore that lost
# a trigger, a policy or a grant-bearing function would otherwise pass on its row counts alone.
_SCHEMA_FACTS = """
WITH own AS (SELECT oid FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema')
                                            AND nspname NOT LIKE 'pg\\_%'),
     ext AS (SELECT objid, classid FROM pg_depend WHERE deptype = 'e')
SELECT
  (SELECT count(*) FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM own) AND c.relkind IN ('r', 'p')
     AND c.relpersistence <> 't'
     AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)) AS tables,
  (SELECT count(*) FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM own) AND c.relkind IN ('v', 'm')
     AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)) AS views,
  (SELECT count(*) FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM own) AND c.relkind IN ('i', 'I')
     AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)) AS indexes,
  (SELECT count(*) FROM pg_constraint k WHERE k.connamespace IN (SELECT oid FROM own) AND k.conrelid <> 0)
     AS constraints,
  (SELECT count(*) FROM pg_constraint k WHERE k.connamespace IN (SELECT oid FROM own) AND k.contype = 'f')
     AS foreign_keys,
  (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace IN (SELECT oid FROM own) AND NOT t.tgisinternal) AS triggers,
  (SELECT count(*) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
     WHERE c.relnamespace IN (SELECT oid FROM own)) AS policies,
  (SELECT count(*) FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM own)
     AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid)) AS functions,
  (SELECT count(*) FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM own) AND c.relrowsecurity) AS rls_tables,
  (SELECT array_agg(extname ORDER BY extname) FROM pg_extension) AS extensions"""


def schema_facts(conn: Any) -> dict[str, Any]:
    return dict(conn.execute(_SCHEMA_FACTS).fetchone())


# --- scratch databases (on the server of the owner's connection) ---

def create_database(conn: Any, name: str) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(conn: Any, name: str, *, force: bool = False) -> None:
    """Without `force`, PostgreSQL ends autovacuum's workers in the database itself and waits up to 5 s for other
    sessions; with it, it ends every session, but only those of roles the caller may signal."""
    from psycopg import sql

    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}" + (" WITH (FORCE)" if force else "")).format(
        sql.Identifier(name)))


def databases_like(conn: Any, prefix: str) -> list[str]:
    """Databases named `prefix...` that the current role owns."""
    return [r["datname"] for r in conn.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) AND datdba = "
        "(SELECT oid FROM pg_roles WHERE rolname = current_user) ORDER BY 1", (prefix,)).fetchall()]


def may_create_databases(conn: Any) -> bool:
    return conn.execute("SELECT rolcreatedb OR rolsuper AS ok FROM pg_roles WHERE rolname = current_user"
                        ).fetchone()["ok"]


# --- a restored database: is it empty, and does it hold together ---

_USER_OBJECTS = """
SELECT format('%s %I.%I', CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                          WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' ELSE 'relation' END,
              n.nspname, c.relname) AS what
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT format('function %I.%I', n.nspname, p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e')
UNION ALL
SELECT format('extension %I', extname) FROM pg_extension WHERE extname <> 'plpgsql'
UNION ALL
SELECT format('schema %I', nspname) FROM pg_namespace
WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND nspname NOT LIKE 'pg\\_%'
ORDER BY 1"""


def user_objects(conn: Any) -> list[str]:
    """What a database holds besides PostgreSQL's own objects (empty: a database fresh from CREATE DATABASE)."""
    return [r["what"] for r in conn.execute(_USER_OBJECTS).fetchall()]


# Every object of the database's own schemas, in one transaction (all or nothing: an object the role may not drop
# stops it): extensions but plpgsql, schemas but public, and public's relations, routines and types. Triggers,
# policies, indexes, constraints and partitions go with their tables. The database itself, its settings and
# privileges, and every role (and role membership) stay as they are; not DROP OWNED BY, which also revokes the
# role's memberships in other roles.
_EMPTY = r"""
DO $$
DECLARE
    stmt text;
    stmts text[];
BEGIN
    SELECT array_agg(format('DROP EXTENSION IF EXISTS %I CASCADE', extname)) INTO stmts
      FROM pg_extension WHERE extname <> 'plpgsql';
    FOREACH stmt IN ARRAY coalesce(stmts, '{}') LOOP EXECUTE stmt; END LOOP;
    SELECT array_agg(format('DROP SCHEMA IF EXISTS %I CASCADE', nspname)) INTO stmts FROM pg_namespace
     WHERE nspname NOT IN ('public', 'pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%';
    FOREACH stmt IN ARRAY coalesce(stmts, '{}') LOOP EXECUTE stmt; END LOOP;
    SELECT array_agg(format('DROP %s IF EXISTS public.%I CASCADE',
                            CASE relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                         WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, relname)) INTO stmts
      FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'f')
       AND NOT relispartition;
    FOREACH stmt IN ARRAY coalesce(stmts, '{}') LOOP EXECUTE stmt; END LOOP;
    -- the sequences left: those of identity and serial columns went with their tables
    SELECT array_agg(format('DROP SEQUENCE IF EXISTS public.%I CASCADE', relname)) INTO stmts
      FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'S';
    FOREACH stmt IN ARRAY coalesce(stmts, '{}') LOOP EXECUTE stmt; END LOOP;
    SELECT array_agg(format('DROP %s IF EXISTS %s CASCADE',
                            CASE prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
                            oid::regprocedure)) INTO stmts
      FROM pg_proc WHERE pronamespace = 'public'::regnamespace;
    FOREACH stmt IN ARRAY coalesce(stmts, '{}') LOOP EXECUTE stmt; END LOOP;
    SELECT array_agg(format('DROP %s IF EXISTS %s CASCADE', CASE typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                            oid::regtype)) INTO stmts
      FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd', 'r', 'm')
       AND typelem = 0;
    FOREACH stmt IN ARRAY coalesce(stmts, '{}') LOOP EXECUTE stmt; END LOOP;
END $$"""


def empty_database(conn: Any) -> None:
    conn.execute(_EMPTY)


def analyze(conn: Any) -> None:
    conn.execute("ANALYZE")


def json_columns(conn: Any) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every jsonb or json column of the dumped tables."""
    rows = conn.execute(
        "SELECT n.nspname AS schema, c.relname AS name, a.attname AS col FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE a.attnum > 0 AND NOT a.attisdropped AND a.atttypid IN ('jsonb'::regtype, 'json'::regtype) "
        "AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', "
        "'information_schema') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1, 2, 3").fetchall()
    return [(r["schema"], r["name"], r["col"]) for r in rows]


def non_object_json(conn: Any, schema: str, table: str, column: str) -> int:
    """How many rows hold JSON other than an object (NULL is allowed: NOT NULL says otherwise where it must)."""
    from psycopg import sql

    return conn.execute(sql.SQL("SELECT count(*) AS n FROM {}.{} WHERE {} IS NOT NULL AND "
                                "jsonb_typeof({}::jsonb) <> 'object'").format(
        sql.Identifier(schema), sql.Identifier(table), sql.Identifier(column), sql.Identifier(column))
    ).fetchone()["n"]


def has_relation(conn: Any, name: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL AS ok", (name,)).fetchone()["ok"]


def has_function(conn: Any, signature: str) -> bool:
    return conn.execute("SELECT to_regprocedure(%s) IS NOT NULL AS ok", (signature,)).fetchone()["ok"]


def invalid_ownership(conn: Any) -> dict[str, int]:
    """Products whose ownership is not one of the three forms (ownership_is_valid, the CHECK's own function), and
    products naming an owner who is not in the product's household (a rule a trigger keeps at write time, which a
    restore does not run)."""
    return conn.execute(
        "SELECT count(*) FILTER (WHERE NOT coalesce(public.ownership_is_valid(p.ownership), false)) AS invalid, "
        "count(*) FILTER (WHERE coalesce(public.ownership_is_valid(p.ownership), false) AND EXISTS ("
        "  SELECT 1 FROM unnest(public.ownership_owner_ids(p.ownership)) AS o WHERE NOT EXISTS ("
        "    SELECT 1 FROM public.client_group_product_owners m WHERE m.client_group_id = p.client_group_id "
        "    AND m.product_owner_id = o))) AS outside_household "
        "FROM public.products p").fetchone()


def foreign_keys(conn: Any) -> list[dict[str, Any]]:
    """Every foreign key of the database's own tables (a partitioned table's key, not its partitions' copies)."""
    return conn.execute(
        "SELECT k.conname AS name, cn.nspname AS child_schema, c.relname AS child, pn.nspname AS parent_schema, "
        "p.relname AS parent, "
        "ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a "
        "      ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i)::text[] AS child_columns, "
        "ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a "
        "      ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)::text[] AS parent_columns "
        "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace "
        "JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace "
        "WHERE k.contype = 'f' AND k.conparentid = 0 AND cn.nspname NOT IN ('pg_catalog', 'information_schema') "
        "ORDER BY 2, 3, 1").fetchall()


def orphans(conn: Any, fk: dict[str, Any]) -> int:
    """Rows of the key's table whose (non-null) key matches no row of the table it references: the key checked
    again over the data as restored."""
    from psycopg import sql

    child_cols = [sql.Identifier("c", col) for col in fk["child_columns"]]
    parent_cols = [sql.Identifier("p", col) for col in fk["parent_columns"]]
    query = sql.SQL("SELECT count(*) AS n FROM {}.{} c WHERE {} AND NOT EXISTS "
                    "(SELECT 1 FROM {}.{} p WHERE {})").format(
        sql.Identifier(fk["child_schema"]), sql.Identifier(fk["child"]),
        sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(c) for c in child_cols),
        sql.Identifier(fk["parent_schema"]), sql.Identifier(fk["parent"]),
        sql.SQL(" AND ").join(sql.SQL("{} = {}").format(p, c) for p, c in zip(parent_cols, child_cols, strict=True)))
    return conn.execute(query).fetchone()["n"]


def unvalidated_constraints(conn: Any) -> list[str]:
    """Constraints marked NOT VALID (never checked against the rows they cover)."""
    return [r["what"] for r in conn.execute(
        "SELECT format('%I.%I', c.relname, k.conname) AS what FROM pg_constraint k JOIN pg_class c "
        "ON c.oid = k.conrelid WHERE NOT k.convalidated ORDER BY 1").fetchall()]


def writable_by(conn: Any, role: str, table: str) -> list[str]:
    """The privileges among UPDATE, DELETE and TRUNCATE that `role` has on `table`."""
    row = conn.execute("SELECT has_table_privilege(%(r)s, %(t)s, 'UPDATE') AS update, "
                       "has_table_privilege(%(r)s, %(t)s, 'DELETE') AS delete, "
                       "has_table_privilege(%(r)s, %(t)s, 'TRUNCATE') AS truncate", {"r": role, "t": table}
                       ).fetchone()
    return [k for k, v in row.items() if v]


def role_exists(conn: Any, role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None
