-- Simulation runs of plan versions (docs/domain.md, "Financial plans: runs"), the firm's success threshold, and an
-- objective's link to a plan.
--
-- * plan_runs: one row per run of a plan version. It is queued by a request, claimed by a worker (status running,
--   attempts counted), and finished once: succeeded with its outputs (the engine's byte-stable JSON, kept as text so
--   the bytes stored are the bytes made; outputs_sha256 is their hash) and the exact engine inputs it ran on, or
--   failed with a reason. A finished run never changes and is deleted only with its plan version by an explicit
--   retention run (wealthdesk.plan_retention = 'delete', as plans themselves).
-- * firms.plan_success_threshold: an objective linked to a plan is on track when the plan's latest successful run
--   gives a probability of success at or above it.
-- * objectives.plan_id: the plan (any version of it; the latest version's latest successful run counts).

CREATE TABLE plan_runs (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id                 uuid NOT NULL,
    plan_id                 uuid NOT NULL,
    status                  text NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    request                 jsonb NOT NULL CHECK (jsonb_typeof(request) = 'object'),
    attempts                integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 100),
    engine_inputs           jsonb CHECK (engine_inputs IS NULL OR jsonb_typeof(engine_inputs) = 'object'),
    algorithm_version       text CHECK (length(algorithm_version) BETWEEN 1 AND 100),
    outputs                 text CHECK (outputs IS NULL OR outputs IS JSON OBJECT),
    outputs_sha256          text CHECK (outputs_sha256 ~ '^[0-9a-f]{64}$'),
    probability_of_success  numeric(7, 6) CHECK (probability_of_success BETWEEN 0 AND 1),
    error                   jsonb CHECK (error IS NULL OR jsonb_typeof(error) = 'object'),
    duration_ms             integer CHECK (duration_ms >= 0),
    created_at              timestamptz NOT NULL DEFAULT now(),
    created_by_type         text NOT NULL CHECK (created_by_type IN ('user', 'api_key', 'system')),
    created_by              uuid,
    started_at              timestamptz,
    finished_at             timestamptz,
    UNIQUE (firm_id, id),
    FOREIGN KEY (firm_id, plan_id) REFERENCES plans (firm_id, id) ON DELETE CASCADE,
    -- What each status holds, and nothing else.
    CONSTRAINT plan_runs_status_consistent CHECK (CASE status
        WHEN 'queued' THEN started_at IS NULL AND finished_at IS NULL AND outputs IS NULL AND error IS NULL
        WHEN 'running' THEN started_at IS NOT NULL AND finished_at IS NULL AND outputs IS NULL AND error IS NULL
        WHEN 'succeeded' THEN finished_at IS NOT NULL AND outputs IS NOT NULL AND outputs_sha256 IS NOT NULL
                              AND algorithm_version IS NOT NULL AND engine_inputs IS NOT NULL
                              AND probability_of_success IS NOT NULL AND error IS NULL
        ELSE finished_at IS NOT NULL AND error IS NOT NULL AND outputs IS NULL END)
);
-- A plan version's runs, newest first; the queue of runs waiting for a worker.
CREATE INDEX plan_runs_plan_idx ON plan_runs (plan_id, created_at DESC, id DESC);
CREATE INDEX plan_runs_waiting_idx ON plan_runs (created_at) WHERE status IN ('queued', 'running');

-- True inside a transaction the system context entered (jobs, the plan-run worker, the command line): the verified
-- context of auth_enter_system, which only the owner role may call.
CREATE FUNCTION current_principal_is_system() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$ SELECT EXISTS (
              SELECT 1 FROM public.auth_context c
              WHERE c.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
                AND c.xact OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id_if_assigned()
                AND c.kind OPERATOR(pg_catalog.=) 'system') $$;
REVOKE ALL ON FUNCTION current_principal_is_system() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION current_principal_is_system() TO wealthdesk_app;

-- A run moves queued -> running -> succeeded or failed (running again after a worker died: a retry), and a finished
-- run never changes. DELETE only by a retention run (with its plan version, by cascade).
CREATE FUNCTION plan_runs_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('wealthdesk.plan_retention', true) = 'delete' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'plan runs are kept with their plan version: DELETE refused'
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'plan_runs_immutable';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'plan runs are kept with their plan version: TRUNCATE refused'
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'plan_runs_immutable';
    END IF;
    IF NOT current_principal_is_system() THEN
        RAISE EXCEPTION 'only the plan-run worker (the system context) moves a run on'
            USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'plan_runs_immutable';
    END IF;
    IF OLD.status IN ('succeeded', 'failed') THEN
        RAISE EXCEPTION 'plan run % is finished (%): it never changes', OLD.id, OLD.status
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'plan_runs_immutable';
    END IF;
    IF NEW.id <> OLD.id OR NEW.firm_id <> OLD.firm_id OR NEW.plan_id <> OLD.plan_id OR NEW.request <> OLD.request
       OR NEW.created_at <> OLD.created_at OR NEW.created_by_type <> OLD.created_by_type
       OR NEW.created_by IS DISTINCT FROM OLD.created_by THEN
        RAISE EXCEPTION 'a plan run''s plan, request and creator never change'
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'plan_runs_immutable';
    END IF;
    IF NEW.status = 'queued' OR (OLD.status = 'queued' AND NEW.status <> 'running') THEN
        RAISE EXCEPTION 'plan run %: % -> % is not a step a run takes', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'plan_runs_transition';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER plan_runs_immutable BEFORE UPDATE OR DELETE ON plan_runs
    FOR EACH ROW EXECUTE FUNCTION plan_runs_guard();
CREATE TRIGGER plan_runs_no_truncate BEFORE TRUNCATE ON plan_runs
    FOR EACH STATEMENT EXECUTE FUNCTION plan_runs_guard();

ALTER TABLE plan_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE plan_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON plan_runs USING (firm_id = (SELECT current_firm_id()))
    WITH CHECK (firm_id = (SELECT current_firm_id()));
CREATE POLICY maintenance ON plan_runs TO CURRENT_USER USING (true) WITH CHECK (true);
-- Requests queue runs and read them; the worker (the owner role, in the run's firm) claims and finishes them.
-- (The system context runs as the app role: the trigger lets only it move a run on.)
GRANT SELECT, INSERT ON plan_runs TO wealthdesk_app;
GRANT UPDATE (status, attempts, engine_inputs, algorithm_version, outputs, outputs_sha256, probability_of_success,
              error, duration_ms, started_at, finished_at) ON plan_runs TO wealthdesk_app;

ALTER TABLE firms ADD COLUMN plan_success_threshold numeric(5, 4) NOT NULL DEFAULT 0.80
    CHECK (plan_success_threshold BETWEEN 0.5 AND 0.99);

ALTER TABLE objectives ADD COLUMN plan_id uuid;
ALTER TABLE objectives ADD CONSTRAINT objectives_plan_fk FOREIGN KEY (firm_id, plan_id)
    REFERENCES plans (firm_id, id) ON DELETE SET NULL (plan_id);
CREATE INDEX objectives_plan_idx ON objectives (plan_id) WHERE plan_id IS NOT NULL;
