-- Job runs as a firm sees them, and as only operators see them.
--
-- job_runs records each run of a scheduled job with its figures, which for most jobs count every firm's rows (the
-- dashboard's views, the products repaired, the audit trail's partitions). It had no row-level security and the app
-- role could read it, so any firm's admin saw platform-wide figures and the work done for other firms. From here:
--
-- * job_runs is the platform's record: the owner's alone (the jobs write it, operators read it with
--   `wealthdesk job runs`). The app role has no privilege on it, and row-level security is forced with only the
--   owner's maintenance policy, so a grant made by mistake later still shows the app role nothing.
-- * firm_job_runs holds each firm's part of a run: one row per run and firm the run did work for, with the figures
--   of the run restricted to that firm (its own writes taken in, its own rows in the dashboard's views, its
--   products repaired), copied with the run's name, trigger and times when the run succeeds. A tenant table like
--   every other: the app role reads only the rows of the firm PostgreSQL has verified (current_firm_id()), and
--   writes none. Work that is no firm's (the audit partitions), a run that found nothing to do for a firm, a
--   skipped run and a failed run leave no firm's part: they are for operators.
-- depends: 0018_verified_tenancy

REVOKE ALL ON job_runs FROM wealthdesk_app;
ALTER TABLE job_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY maintenance ON job_runs TO CURRENT_USER USING (true) WITH CHECK (true);

CREATE TABLE firm_job_runs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id      uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    run_id       uuid NOT NULL REFERENCES job_runs (id) ON DELETE CASCADE,
    job_name     text NOT NULL,
    trigger      text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'api')),
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    figures      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(figures) = 'object'),
    UNIQUE (run_id, firm_id),
    CHECK (finished_at >= started_at)
);
-- The firm's list, newest first (GET /v1/ops/job-runs: the keyset is (started_at, id)).
CREATE INDEX firm_job_runs_started_idx ON firm_job_runs (firm_id, started_at DESC, id DESC);
ALTER TABLE firm_job_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE firm_job_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON firm_job_runs USING (firm_id = (SELECT current_firm_id()))
    WITH CHECK (firm_id = (SELECT current_firm_id()));
CREATE POLICY maintenance ON firm_job_runs TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT ON firm_job_runs TO wealthdesk_app;
