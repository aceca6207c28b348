-- Back to plans without runs: no run table, no success threshold, no objective linked to a plan.
DROP INDEX objectives_plan_idx;
ALTER TABLE objectives DROP CONSTRAINT objectives_plan_fk;
ALTER TABLE objectives DROP COLUMN plan_id;
ALTER TABLE firms DROP COLUMN plan_success_threshold;
DROP TABLE plan_runs;
DROP FUNCTION plan_runs_guard();
DROP FUNCTION current_principal_is_system();
