-- Draft plans expire (docs/domain.md, "How long rows are kept"; docs/operations.md, "Retention"): the retention
-- policy plans/draft, and every firm's default of it, 30 days then deleted.
--
-- * data_retention_policies may name ('plans', 'draft'), with the actions keep, delete and archive (a plan is
--   never anonymized: nothing in it is a field to clear while the rest stays meaningful).
-- * retention_default_policies() gives every firm, and every firm created from now on (0028's trigger), the policy
--   plans/draft: 30 days, delete. Existing firms get it now (the function adds only what a firm lacks).
--
-- What the job removes is a whole plan (every version, in one statement under wealthdesk.plan_retention, which
-- 0030's trigger plans_immutable requires): one whose versions are all drafts, whose newest version was made more
-- than the period ago, and none of whose versions another table's row links (foreign keys into plans, read from
-- the catalog when the job runs). A plan with a final version is kept whole, its drafts with it: they are the
-- final's ancestors (parent_plan_id, root_plan_id) or later versions numbered in the same line.
-- depends: 0028_retention 0030_planning

ALTER TABLE data_retention_policies
    DROP CONSTRAINT data_retention_policies_known_condition,
    ADD CONSTRAINT data_retention_policies_known_condition CHECK ((table_name, condition) IN (
        ('audit_events', 'other'), ('audit_events', 'security'), ('sessions', 'expired'), ('sessions', 'revoked'),
        ('notifications', 'any'), ('notifications', 'read'), ('networth_statements', 'any'), ('plans', 'draft'))),
    DROP CONSTRAINT data_retention_policies_action_fits,
    ADD CONSTRAINT data_retention_policies_action_fits CHECK (
        action = 'keep'
        OR (table_name IN ('audit_events', 'notifications', 'plans') AND action IN ('delete', 'archive'))
        OR (table_name = 'sessions' AND action IN ('delete', 'archive', 'anonymize')));

-- The default policies of a firm (those it lacks). Idempotent.
CREATE OR REPLACE FUNCTION retention_default_policies(p_firm uuid) RETURNS integer
    LANGUAGE sql
    AS $$
    WITH made AS (
        INSERT INTO data_retention_policies (firm_id, table_name, condition, period, action)
        VALUES (p_firm, 'audit_events', 'other', interval '7 years', 'archive'),
               (p_firm, 'audit_events', 'security', interval '10 years', 'archive'),
               (p_firm, 'sessions', 'expired', interval '90 days', 'delete'),
               (p_firm, 'notifications', 'any', interval '30 days', 'delete'),
               (p_firm, 'networth_statements', 'any', NULL, 'keep'),
               (p_firm, 'plans', 'draft', interval '30 days', 'delete')
        ON CONFLICT (firm_id, table_name, condition) DO NOTHING RETURNING 1)
    SELECT count(*)::integer FROM made $$;

DO $$ BEGIN PERFORM retention_default_policies(id) FROM firms; END $$;
