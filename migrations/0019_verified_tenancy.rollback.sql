-- Back to 0014: the tenant context is the setting app.firm_id again, the session check auth_session_valid and
-- the lookups auth_api_key and auth_session_firm return, and the app role reads the hash columns again.
-- Sessions lose last_used_at and API keys `service` (a service key becomes an ordinary key).
-- CREATE on schema public is not given back to PUBLIC.

DO $$
DECLARE
    p record;
    v record;
BEGIN
    FOR p IN SELECT tablename, policyname, qual, with_check FROM pg_policies
             WHERE schemaname = 'public' AND policyname = 'tenant' LOOP
        EXECUTE format('ALTER POLICY %I ON %I', p.policyname, p.tablename)
             || CASE WHEN p.qual IS NULL THEN '' ELSE format(' USING (%s)', regexp_replace(
                    p.qual, '\(\s*SELECT\s+(public\.)?current_firm_id\(\)\s+AS\s+current_firm_id\s*\)',
                    'current_firm_id()', 'g')) END
             || CASE WHEN p.with_check IS NULL THEN '' ELSE format(' WITH CHECK (%s)', regexp_replace(
                    p.with_check, '\(\s*SELECT\s+(public\.)?current_firm_id\(\)\s+AS\s+current_firm_id\s*\)',
                    'current_firm_id()', 'g')) END;
    END LOOP;
    FOR v IN SELECT c.relname, pg_get_viewdef(c.oid) AS def FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'
               AND pg_get_viewdef(c.oid) ~ 'current_firm_id\(\)' LOOP
        EXECUTE format('CREATE OR REPLACE VIEW %I WITH (security_barrier = true) AS %s', v.relname,
                       regexp_replace(v.def, '\(\s*SELECT\s+(public\.)?current_firm_id\(\)\s+AS\s+current_firm_id\s*\)',
                                      'current_firm_id()', 'g'));
    END LOOP;
END $$;

-- (revoking at the table level revokes the column grants too)
REVOKE SELECT ON users, sessions, api_keys FROM wealthdesk_app;
GRANT SELECT ON users, sessions, api_keys TO wealthdesk_app;

DROP FUNCTION auth_enter_session(uuid, uuid, uuid, text);
DROP FUNCTION auth_enter_api_key(text, bytea);
DROP FUNCTION auth_enter_password(uuid, text, text, text, text);
DROP FUNCTION auth_enter_refresh(bytea, text, text, text);
DROP FUNCTION auth_enter_system(uuid);
DROP FUNCTION auth_enter(uuid, text, uuid);
DROP FUNCTION auth_session_idle_timeout();

DROP FUNCTION auth_user_by_email(text);
CREATE FUNCTION auth_user_by_email(p_email text)
    RETURNS TABLE (id uuid, firm_id uuid, password_hash text, role text, active boolean,
                   failed_logins integer, locked_until timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT u.id, u.firm_id, u.password_hash, u.role, u.active, u.failed_logins, u.locked_until
          FROM users u WHERE u.email = lower(p_email) $$;

CREATE FUNCTION auth_api_key(p_prefix text)
    RETURNS TABLE (id uuid, firm_id uuid, key_hash bytea, scopes text[], created_by uuid,
                   expires_at timestamptz, revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT k.id, k.firm_id, k.key_hash, k.scopes, k.created_by, k.expires_at, k.revoked_at
          FROM api_keys k WHERE k.prefix = p_prefix $$;

CREATE FUNCTION auth_session_firm(p_token_hash bytea) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT s.firm_id FROM sessions s WHERE s.token_hash = p_token_hash $$;

CREATE FUNCTION auth_session_valid(p_session uuid, p_user uuid, p_role text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT EXISTS (
              SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
              WHERE s.id = p_session AND s.user_id = p_user AND s.revoked_at IS NULL
                AND u.active AND u.role = p_role) $$;

REVOKE ALL ON FUNCTION auth_user_by_email(text), auth_api_key(text), auth_session_firm(bytea),
    auth_session_valid(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_email(text), auth_api_key(text), auth_session_firm(bytea),
    auth_session_valid(uuid, uuid, text) TO wealthdesk_app;

CREATE OR REPLACE FUNCTION current_firm_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.firm_id', true), '')::uuid $$;

ALTER TABLE api_keys DROP COLUMN service;
ALTER TABLE sessions DROP COLUMN last_used_at;
DROP TABLE auth_context;
