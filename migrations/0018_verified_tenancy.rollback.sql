-- Back to 0017: the tenant context is the setting app.firm_id again, the session check auth_session_valid and
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
DROP FUNCTION auth_enter_password(uuid, text, bigint, text, text, text, text);
DROP FUNCTION auth_enter_challenge(bytea, text);
DROP FUNCTION auth_login_failed(uuid, text, bigint, text, text, text, text);
DROP FUNCTION login_failed(uuid, uuid, text, bigint, text, text, text, text);

-- 0017's login functions: the first step hands out the hash with the reservation, the outcome reads the firm
DROP FUNCTION auth_login_begin(text, text);
CREATE FUNCTION auth_login_begin(p_email text, p_source text)
    RETURNS TABLE (user_id uuid, firm_id uuid, role text, password_hash text, attempt bigint, two_factor text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    u record;
    v_window bigint;
BEGIN
    SELECT us.id, us.firm_id, us.role, us.password_hash, us.active, us.locked_until,
           (SELECT t.confirmed_at IS NOT NULL FROM user_totp t WHERE t.user_id = us.id) AS has_totp,
           f.require_two_factor
      INTO u
      FROM users us JOIN firms f ON f.id = us.firm_id
     WHERE us.email = lower(p_email);
    IF NOT FOUND OR NOT u.active OR coalesce(u.locked_until > now(), false) THEN
        RETURN;
    END IF;
    v_window := login_reserve(u.firm_id, u.id, p_source);
    IF v_window IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT u.id, u.firm_id, u.role, u.password_hash, v_window,
                        CASE WHEN coalesce(u.has_totp, false) THEN 'totp'
                             WHEN u.require_two_factor THEN 'totp_enrolment' END;
END $$;
REVOKE ALL ON FUNCTION auth_login_begin(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_login_begin(text, text) TO wealthdesk_app;
CREATE OR REPLACE FUNCTION auth_login_outcome(p_user uuid, p_source text, p_window bigint, p_outcome text)
    RETURNS TABLE (pair_locked_until timestamptz, account_locked_until timestamptz, failures_last_hour integer,
                   sources_last_hour integer)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    v_firm uuid;
    v_pending integer;
    v_checks integer;
    v_locked timestamptz;
    v_pair timestamptz;
    v_account timestamptz;
    v_failures integer;
    v_sources integer;
BEGIN
    IF p_outcome NOT IN ('failure', 'success', 'partial') THEN
        RAISE EXCEPTION 'unknown outcome %', p_outcome;
    END IF;
    -- the user's row lock serialises the outcomes of one account (the failure count below sees every other one)
    SELECT us.firm_id INTO v_firm FROM users us WHERE us.id = p_user AND us.firm_id = current_firm_id() FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such user in the current firm';
    END IF;
    IF p_outcome = 'partial' THEN
        UPDATE login_throttle t SET pending = greatest(t.pending - 1, 0), checks = greatest(t.checks - 1, 0)
         WHERE t.user_id = p_user AND t.source = p_source AND t.window_no = p_window;
    ELSIF p_outcome = 'success' THEN
        UPDATE login_throttle t SET pending = greatest(t.pending - 1, 0)
         WHERE t.user_id = p_user AND t.source = p_source AND t.window_no = p_window
        RETURNING t.pending, t.locked_until INTO v_pending, v_locked;
        IF FOUND AND v_pending = 0 AND v_locked IS NULL THEN
            DELETE FROM login_throttle t
             WHERE t.user_id = p_user AND t.source = p_source AND t.pending = 0 AND t.locked_until IS NULL;
        END IF;
        UPDATE users SET last_login_at = now() WHERE id = p_user;
    ELSE
        SELECT t.locked_until, t.checks INTO v_locked, v_checks
          FROM login_throttle t WHERE t.user_id = p_user AND t.source = p_source AND t.window_no = p_window
           FOR UPDATE;
        IF FOUND THEN
            IF v_locked IS NULL AND v_checks >= 5 THEN  -- the window is full: this failure locks the pair
                v_pair := now() + interval '30 minutes';
            END IF;
            UPDATE login_throttle t SET pending = greatest(t.pending - 1, 0),
                   locked_until = coalesce(v_pair, t.locked_until)
             WHERE t.user_id = p_user AND t.source = p_source;
        END IF;
        INSERT INTO login_failures (firm_id, user_id, source) VALUES (v_firm, p_user, p_source);
        DELETE FROM login_failures f WHERE f.user_id = p_user AND f.failed_at <= now() - interval '1 hour';
        SELECT count(*), count(DISTINCT f.source) INTO v_failures, v_sources
          FROM login_failures f WHERE f.user_id = p_user;
        UPDATE users SET failed_logins = v_failures WHERE id = p_user;
        IF v_failures >= 50 THEN
            UPDATE users SET locked_until = now() + interval '60 minutes'
             WHERE id = p_user AND (locked_until IS NULL OR locked_until <= now())
            RETURNING locked_until INTO v_account;
        END IF;
    END IF;
    RETURN QUERY SELECT v_pair, v_account, v_failures, v_sources;
END $$;
DROP FUNCTION login_settle(uuid, uuid, text, bigint, text);
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
