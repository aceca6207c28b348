-- Retention policies, and a person's erasure (docs/domain.md, "Retention and privacy"; docs/operations.md,
-- "Retention").
--
-- * data_retention_policies: per firm, how long the rows of a table that meet a condition are kept and what becomes
--   of them after (keep: for ever; delete; archive: written to the archive store, then deleted; anonymize: their
--   personal fields cleared). The job `retention` applies them. Only the tables and conditions the code knows are
--   allowed, each with the actions that make sense for it (CHECKs below, the same rules as the API's):
--     audit_events/other, audit_events/security (the sign-in trail: auth.*, session.*, api_key.*): keep, delete,
--       archive, never shorter than 7 years (an audit event is evidence: never anonymized);
--     sessions/expired (by expiry), sessions/revoked (by revocation): keep, delete, archive, anonymize (address and
--       user agent cleared);
--     notifications/any (by creation), notifications/read (by reading): keep, delete, archive;
--     networth_statements/any: keep only (a statement is kept for ever; its table refuses deletes, migration 0026).
--   A period is a whole number of days, or of months (a year is 12), never both: "7 years" means the same on every
--   calendar, and the 7-year floor of the audit trail is checked exactly (84 months, or 2,557 days: the longest 7
--   years can be).
--   Every firm gets the default policies (below), now and whenever a firm is created (a trigger on firms, so every
--   writer of firms does it). A policy is never deleted: an admin disables it or makes it keep.
-- * product_owners.retention_hold: while set, the person cannot be erased (a complaint, a claim, a regulator's
--   request). product_owners.erased_at: when the person was erased; an erased row holds no name, contact details
--   or date of birth (CHECK), whoever writes it.
-- * indexes for the job's scans of sessions and notifications by firm and date.
-- depends: 0026_networth

-- The audit events that are the sign-in and access trail (kept longer by default).
CREATE FUNCTION audit_is_security_event(p_action text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT p_action LIKE 'auth.%' OR p_action LIKE 'session.%' OR p_action LIKE 'api_key.%' $$;

-- Whole days or whole months (not both), no time part, more than zero.
CREATE FUNCTION retention_period_is_valid(p interval) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT date_trunc('day', p) = p
                 AND ((extract(year FROM p) * 12 + extract(month FROM p) > 0 AND extract(day FROM p) = 0)
                      OR (extract(year FROM p) * 12 + extract(month FROM p) = 0 AND extract(day FROM p) > 0)) $$;

-- Whether a (valid) period is at least `years` long on every calendar.
CREATE FUNCTION retention_period_covers(p interval, years integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT extract(year FROM p) * 12 + extract(month FROM p) >= years * 12
                 OR extract(day FROM p) >= years * 365 + (years + 3) / 4 $$;

-- '7 years', '18 months', '90 days': how the API writes a period.
CREATE FUNCTION retention_period_text(p interval) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE
              WHEN p IS NULL THEN NULL
              WHEN extract(day FROM p) > 0 THEN extract(day FROM p)::bigint || CASE WHEN extract(day FROM p) = 1
                                                                                   THEN ' day' ELSE ' days' END
              WHEN extract(month FROM p) = 0 THEN extract(year FROM p)::bigint || CASE WHEN extract(year FROM p) = 1
                                                                                      THEN ' year' ELSE ' years' END
              ELSE (extract(year FROM p) * 12 + extract(month FROM p))::bigint
                   || CASE WHEN extract(year FROM p) * 12 + extract(month FROM p) = 1 THEN ' month' ELSE ' months' END
              END $$;

CREATE TABLE data_retention_policies (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id            uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    table_name         text NOT NULL,
    condition          text NOT NULL,
    period             interval CHECK (period IS NULL OR retention_period_is_valid(period)),
    action             text NOT NULL CHECK (action IN ('keep', 'delete', 'archive', 'anonymize')),
    schedule           text NOT NULL DEFAULT 'daily' CHECK (schedule IN ('daily', 'weekly')),
    enabled            boolean NOT NULL DEFAULT true,
    last_completed_at  timestamptz,  -- the job's: when it last removed everything the policy covered
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id),
    CONSTRAINT data_retention_policies_one_per_condition UNIQUE (firm_id, table_name, condition),
    CONSTRAINT data_retention_policies_known_condition CHECK ((table_name, condition) IN (
        ('audit_events', 'other'), ('audit_events', 'security'), ('sessions', 'expired'), ('sessions', 'revoked'),
        ('notifications', 'any'), ('notifications', 'read'), ('networth_statements', 'any'))),
    CONSTRAINT data_retention_policies_action_fits CHECK (
        action = 'keep'
        OR (table_name IN ('audit_events', 'notifications') AND action IN ('delete', 'archive'))
        OR (table_name = 'sessions' AND action IN ('delete', 'archive', 'anonymize'))),
    CONSTRAINT data_retention_policies_keep_has_no_period CHECK ((action = 'keep') = (period IS NULL)),
    CONSTRAINT data_retention_policies_audit_floor CHECK (
        table_name <> 'audit_events' OR period IS NULL OR retention_period_covers(period, 7))
);
CREATE INDEX data_retention_policies_firm_idx ON data_retention_policies (firm_id, table_name, condition, id);
-- updated_at is when an admin last changed the policy, not when the job last completed it.
CREATE TRIGGER data_retention_policies_touch BEFORE UPDATE ON data_retention_policies
    FOR EACH ROW WHEN (OLD.last_completed_at IS NOT DISTINCT FROM NEW.last_completed_at)
    EXECUTE FUNCTION touch_updated_at();

ALTER TABLE data_retention_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE data_retention_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON data_retention_policies USING (firm_id = (SELECT current_firm_id()))
    WITH CHECK (firm_id = (SELECT current_firm_id()));
CREATE POLICY maintenance ON data_retention_policies TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON data_retention_policies TO wealthdesk_app;

-- The default policies of a firm (those it lacks). Idempotent.
CREATE FUNCTION retention_default_policies(p_firm uuid) RETURNS integer
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

CREATE FUNCTION firms_default_retention() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM retention_default_policies(NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER firms_default_retention AFTER INSERT ON firms
    FOR EACH ROW EXECUTE FUNCTION firms_default_retention();

DO $$ BEGIN PERFORM retention_default_policies(id) FROM firms; END $$;

-- The job's scans: a firm's rows by the date a policy reads.
CREATE INDEX sessions_firm_expires_idx ON sessions (firm_id, expires_at);
CREATE INDEX sessions_firm_revoked_idx ON sessions (firm_id, revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX notifications_firm_created_idx ON notifications (firm_id, created_at);
CREATE INDEX notifications_firm_read_idx ON notifications (firm_id, read_at) WHERE read_at IS NOT NULL;

-- A person's erasure, and what holds it back.
ALTER TABLE product_owners
    ADD COLUMN retention_hold boolean NOT NULL DEFAULT false,
    ADD COLUMN erased_at timestamptz,
    ADD CONSTRAINT product_owners_erased_holds_nothing CHECK (
        erased_at IS NULL OR (first_name = 'Erased' AND surname = 'Erased' AND known_as IS NULL
                              AND date_of_birth IS NULL AND email IS NULL AND phone IS NULL));
