-- Back to 0028's retention policies: no policy for draft plans (every firm's is deleted; plans it removed stay
-- removed). Roll the code back with the schema.
DELETE FROM data_retention_policies WHERE table_name = 'plans';

CREATE OR REPLACE FUNCTION retention_default_policies(p_firm uuid) RETURNS integer
    LANGUAGE sql
    AS $$
    WITH made AS (
        INSERT INTO data_retention_policies (firm_id, table_name, condition, period, action)
        VALUES (p_firm, 'audit_events', 'other', interval '7 years', 'archive'),
               (p_firm, 'audit_events', 'security', interval '10 years', 'archive'),
               (p_firm, 'sessions', 'expired', interval '90 days', 'delete'),
               (p_firm, 'notifications', 'any', interval '30 days', 'delete'),
               (p_firm, 'networth_statements', 'any', NULL, 'keep')
        ON CONFLICT (firm_id, table_name, condition) DO NOTHING RETURNING 1)
    SELECT count(*)::integer FROM made $$;

ALTER TABLE data_retention_policies
    DROP CONSTRAINT data_retention_policies_action_fits,
    ADD CONSTRAINT data_retention_policies_action_fits CHECK (
        action = 'keep'
        OR (table_name IN ('audit_events', 'notifications') AND action IN ('delete', 'archive'))
        OR (table_name = 'sessions' AND action IN ('delete', 'archive', 'anonymize'))),
    DROP CONSTRAINT data_retention_policies_known_condition,
    ADD CONSTRAINT data_retention_policies_known_condition CHECK ((table_name, condition) IN (
        ('audit_events', 'other'), ('audit_events', 'security'), ('sessions', 'expired'), ('sessions', 'revoked'),
        ('notifications', 'any'), ('notifications', 'read'), ('networth_statements', 'any')));
