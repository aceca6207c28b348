-- Back to 0018: no firm's part of a run, and job_runs readable by the app role without row-level security (the
-- code of the previous release lists job_runs to every firm's admin: roll the code back with the schema).
DROP TABLE firm_job_runs;
DROP POLICY maintenance ON job_runs;
ALTER TABLE job_runs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE job_runs DISABLE ROW LEVEL SECURITY;
GRANT SELECT ON job_runs TO wealthdesk_app;
