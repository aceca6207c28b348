-- Backups of the whole database and their verdicts (the `backup` and `verify-backup` jobs; docs/operations.md).
--
-- Platform-level records, the operators' (`wealthdesk backups`): their sizes, reasons and row counts are the
-- platform's totals, which tell one firm about the others. Written by the jobs and the command line as the owner
-- role; the app role can neither read nor write the tables (row-level security forced, no policy and no grant for
-- it). A firm's admins read, through the API (the app role), the two security-barrier views below, which show rows
-- only when the transaction's verified principal is an active admin user: each backup's status, times and verdict
-- (its outcome and stage, not its reason) and the firm's own part of the manifest (its rows in each table, counted in
-- the dump's snapshot), never another firm's or the platform's.
--
-- A backup is a `pg_dump -Fc` in the backup store (BACKUP_STORE: file://DIR or s3://bucket/prefix) with a
-- manifest beside it; `manifest` here is a copy of that manifest. A backup is only a backup once it has been
-- restored and checked: each verification (restored into a scratch database, row counts and integrity compared)
-- is a row of backup_verifications, its outcome `passed` or `failed` with the reason and figures.
--
-- The first verification of a database with products failed: pg_restore loads rows with an empty search_path, and
-- ownership_is_valid(), which products' CHECK calls, calls is_uuid_text() and ownership_percentage_is_valid()
-- unqualified ("function is_uuid_text(text) does not exist"): no backup of such a database could be restored. The
-- function now carries its own search_path (as PostgreSQL 17+ also wants of functions its maintenance commands run).
-- depends: 0018_verified_tenancy

ALTER FUNCTION ownership_is_valid(jsonb) SET search_path = public, pg_temp;

CREATE TABLE backups (
    id           uuid PRIMARY KEY,
    status       text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'deleted')),
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    store        text NOT NULL CHECK (store ~ '^(file|s3)://'),
    object_key   text NOT NULL CHECK (length(object_key) BETWEEN 1 AND 1024),
    size_bytes   bigint CHECK (size_bytes >= 0),
    sha256       text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    manifest     jsonb CHECK (manifest IS NULL OR jsonb_typeof(manifest) = 'object'),
    error        text,
    deleted_at   timestamptz,
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK ((status = 'deleted') = (deleted_at IS NOT NULL)),
    CHECK (status NOT IN ('completed', 'deleted')
           OR (size_bytes IS NOT NULL AND sha256 IS NOT NULL AND manifest IS NOT NULL)),
    CHECK (status <> 'failed' OR error IS NOT NULL)
);
CREATE INDEX backups_started_idx ON backups (started_at DESC, id DESC);

CREATE TABLE backup_verifications (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    backup_id    uuid NOT NULL REFERENCES backups (id) ON DELETE CASCADE,
    trigger      text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'api')),
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    outcome      text CHECK (outcome IN ('passed', 'failed')),
    stage        text CHECK (stage IN ('fetch', 'checksum', 'list', 'restore', 'row_counts', 'integrity', 'done')),
    reason       text,
    figures      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(figures) = 'object'),
    CHECK ((outcome IS NULL) = (finished_at IS NULL)),
    CHECK (outcome IS DISTINCT FROM 'failed' OR reason IS NOT NULL)
);
CREATE INDEX backup_verifications_backup_idx ON backup_verifications (backup_id, started_at DESC, id DESC);

ALTER TABLE backups ENABLE ROW LEVEL SECURITY;
ALTER TABLE backups FORCE ROW LEVEL SECURITY;
CREATE POLICY maintenance ON backups TO CURRENT_USER USING (true) WITH CHECK (true);
ALTER TABLE backup_verifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE backup_verifications FORCE ROW LEVEL SECURITY;
CREATE POLICY maintenance ON backup_verifications TO CURRENT_USER USING (true) WITH CHECK (true);
REVOKE ALL ON backups, backup_verifications FROM PUBLIC;

-- Whether the transaction's verified principal (auth_context, migration 0018) is an active admin user. Invoker
-- rights: the caller reads its own backend's context row and, through the firm's policy, its own user.
CREATE FUNCTION current_principal_is_admin() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    AS $$ SELECT EXISTS (
              SELECT 1 FROM public.auth_context c
              JOIN public.users u ON u.id OPERATOR(pg_catalog.=) c.principal_id
                                 AND u.firm_id OPERATOR(pg_catalog.=) c.firm_id
              WHERE c.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
                AND c.xact OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id_if_assigned()
                AND c.kind OPERATOR(pg_catalog.=) 'user' AND u.role OPERATOR(pg_catalog.=) 'admin' AND u.active) $$;

-- What an admin reads (the views run as their owner, who sees every row; the filter lets admins only). Each
-- backup with its latest verdict, and the verified firm's part of its manifest.
CREATE VIEW ops_backups WITH (security_barrier) AS
    SELECT b.id, b.status, b.started_at, b.finished_at, b.deleted_at, v.outcome AS verdict,
           v.finished_at AS verified_at, v.stage AS verdict_stage,
           b.manifest -> 'firms' -> ((SELECT current_firm_id())::text) AS firm_tables
    FROM backups b
    LEFT JOIN LATERAL (SELECT x.outcome, x.finished_at, x.stage FROM backup_verifications x
                       WHERE x.backup_id = b.id AND x.outcome IS NOT NULL
                       ORDER BY x.finished_at DESC, x.id DESC LIMIT 1) v ON true
    WHERE (SELECT current_principal_is_admin());
CREATE VIEW ops_backup_verifications WITH (security_barrier) AS
    SELECT id, backup_id, trigger, started_at, finished_at, outcome, stage
    FROM backup_verifications WHERE (SELECT current_principal_is_admin());
REVOKE ALL ON ops_backups, ops_backup_verifications FROM PUBLIC;
GRANT SELECT ON ops_backups, ops_backup_verifications TO wealthdesk_app;
