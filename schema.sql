-- The schema of a freshly migrated wealthdesk database (PostgreSQL 18), as pg_dump --schema-only prints it.
-- Written by `wealthdesk schema`; do not edit: change the schema with a new migration, then run the command again.
-- Left out: owners, pg_dump's session settings, and audit_events' monthly partitions (created by date).

--
-- Name: pg_trgm; Type: EXTENSION; Schema: -
--

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;


--
-- Name: EXTENSION pg_trgm; Type: COMMENT; Schema: -
--

COMMENT ON EXTENSION pg_trgm IS 'text similarity measurement and index searching based on trigrams';


--
-- Name: auth_context_kind; Type: DOMAIN; Schema: public
--

CREATE DOMAIN public.auth_context_kind AS text
	CONSTRAINT auth_context_kind_check CHECK ((VALUE = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text])));


--
-- Name: rate_counter_bucket; Type: DOMAIN; Schema: public
--

CREATE DOMAIN public.rate_counter_bucket AS text
	CONSTRAINT rate_counter_bucket_check CHECK ((VALUE = ANY (ARRAY['default'::text, 'bulk'::text, 'auth'::text, 'source'::text])));


--
-- Name: rate_counter_count; Type: DOMAIN; Schema: public
--

CREATE DOMAIN public.rate_counter_count AS integer
	CONSTRAINT rate_counter_count_check CHECK ((VALUE > 0));


--
-- Name: rate_counter_principal; Type: DOMAIN; Schema: public
--

CREATE DOMAIN public.rate_counter_principal AS text
	CONSTRAINT rate_counter_principal_check CHECK (((length(VALUE) >= 1) AND (length(VALUE) <= 120)));


--
-- Name: activity_sign(text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.activity_sign(activity_type text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE
              WHEN activity_type IN ('investment', 'regular_investment', 'tax_uplift', 'switch_in') THEN -1
              WHEN activity_type IN ('withdrawal', 'regular_withdrawal', 'switch_out') THEN 1
              ELSE 0 END $$;


--
-- Name: audit_is_security_event(text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.audit_is_security_event(p_action text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT p_action LIKE 'auth.%' OR p_action LIKE 'session.%' OR p_action LIKE 'api_key.%' $$;


--
-- Name: auth_challenge_begin(bytea, text, text, boolean); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_challenge_begin(p_token_hash bytea, p_purpose text, p_source text, p_reserve boolean) RETURNS TABLE(challenge_id uuid, firm_id uuid, user_id uuid, role text, attempt bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    c record;
BEGIN
    SELECT ch.id, ch.firm_id, ch.user_id, us.role
      INTO c
      FROM login_challenges ch JOIN users us ON us.id = ch.user_id
     WHERE ch.token_hash = p_token_hash AND ch.purpose = p_purpose AND ch.used_at IS NULL
       AND ch.expires_at > now() AND ch.failed_codes < 5
       AND us.active AND coalesce(us.locked_until <= now(), true);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT c.id, c.firm_id, c.user_id, c.role,
                        CASE WHEN p_reserve THEN login_reserve(c.firm_id, c.user_id, p_source) END;
END $$;


--
-- Name: auth_check_reserve(uuid, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_check_reserve(p_user uuid, p_source text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_firm uuid;
BEGIN
    SELECT us.firm_id INTO v_firm FROM users us WHERE us.id = p_user AND us.firm_id = current_firm_id();
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN login_reserve(v_firm, p_user, p_source);
END $$;


--
-- Name: auth_count_source(text, integer); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_count_source(p_source text, p_scale integer) RETURNS TABLE(rate_limit integer, rate_used integer, rate_reset integer)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$ SELECT r.rate_limit, r.rate_used, r.rate_reset
          FROM rate_limit_tiers t,
               rate_count('source:' || left(coalesce(nullif(p_source, ''), 'unknown'), 100), 'source',
                          t.source_requests, t.window_seconds, p_scale) r
          WHERE t.tier = 'standard' $$;


--
-- Name: auth_enter(uuid, text, uuid); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_enter(p_firm uuid, p_kind text, p_principal uuid) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE public.auth_context SET xact = pg_catalog.pg_current_xact_id(), firm_id = p_firm, kind = p_kind,
                                   principal_id = p_principal, entered_at = pg_catalog.now()
    WHERE pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid();
    IF NOT FOUND THEN
        DELETE FROM public.auth_context
        WHERE pid OPERATOR(pg_catalog.=) ANY (ARRAY(
            SELECT c.pid FROM public.auth_context c
            WHERE c.entered_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 day')
            FOR UPDATE SKIP LOCKED));
        INSERT INTO public.auth_context (pid, xact, firm_id, kind, principal_id, entered_at)
        VALUES (pg_catalog.pg_backend_pid(), pg_catalog.pg_current_xact_id(), p_firm, p_kind, p_principal,
                pg_catalog.now());
    END IF;
END $$;


--
-- Name: auth_enter_api_key(text, bytea); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_enter_api_key(p_prefix text, p_hash bytea) RETURNS TABLE(id uuid, firm_id uuid, scopes text[], service boolean, state text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    k record;
BEGIN
    SELECT a.id, a.firm_id, a.key_hash, a.scopes, a.service, a.revoked_at, a.expires_at, a.last_used_at,
           (a.service OR EXISTS (SELECT 1 FROM users u WHERE u.id = a.created_by AND u.firm_id = a.firm_id
                                                      AND u.active AND u.role = 'admin')) AS creator_ok
    INTO k FROM api_keys a WHERE a.prefix = p_prefix;
    IF NOT FOUND OR p_hash IS NULL OR sha256(k.key_hash) IS DISTINCT FROM sha256(p_hash) THEN
        RETURN;
    END IF;
    state := CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked'
                  WHEN k.expires_at IS NOT NULL AND k.expires_at <= now() THEN 'expired'
                  WHEN NOT k.creator_ok THEN 'creator_gone'
                  ELSE 'ok' END;
    IF state = 'ok' THEN
        IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' THEN
            UPDATE api_keys a SET last_used_at = now() WHERE a.id = k.id;
        END IF;
        PERFORM auth_enter(k.firm_id, 'api_key', k.id);
    END IF;
    id := k.id;
    firm_id := k.firm_id;
    scopes := k.scopes;
    service := k.service;
    RETURN NEXT;
END $$;


--
-- Name: auth_enter_api_key(text, bytea, text, integer); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_enter_api_key(p_prefix text, p_hash bytea, p_bucket text, p_scale integer) RETURNS TABLE(id uuid, firm_id uuid, scopes text[], service boolean, state text, rate_limit integer, rate_used integer, rate_reset integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    k record;
    v_start timestamptz;
BEGIN
    SELECT a.id, a.firm_id, a.key_hash, a.scopes, a.service, a.revoked_at, a.expires_at, a.last_used_at,
           CASE p_bucket WHEN 'default' THEN t.default_requests WHEN 'bulk' THEN t.bulk_requests
                         WHEN 'auth' THEN t.auth_requests WHEN 'source' THEN t.source_requests END AS per_window,
           t.window_seconds,
           (a.service OR EXISTS (SELECT 1 FROM users u WHERE u.id = a.created_by AND u.firm_id = a.firm_id
                                                      AND u.active AND u.role = 'admin')) AS creator_ok
    INTO k FROM api_keys a JOIN firms f ON f.id = a.firm_id JOIN rate_limit_tiers t ON t.tier = f.rate_limit_tier
    WHERE a.prefix = p_prefix;
    IF NOT FOUND OR p_hash IS NULL OR sha256(k.key_hash) IS DISTINCT FROM sha256(p_hash) THEN
        RETURN;
    END IF;
    state := CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked'
                  WHEN k.expires_at IS NOT NULL AND k.expires_at <= now() THEN 'expired'
                  WHEN NOT k.creator_ok THEN 'creator_gone'
                  ELSE 'ok' END;
    IF state = 'ok' AND p_bucket IS NOT NULL THEN
        IF k.per_window IS NULL THEN
            RAISE EXCEPTION 'no rate limit for bucket %', p_bucket;
        END IF;
        v_start := to_timestamp(floor(extract(epoch FROM now()) / k.window_seconds) * k.window_seconds);
        rate_limit := least(k.per_window::bigint * least(greatest(coalesce(p_scale, 1), 1), 1000000), 2000000000);
        UPDATE rate_counters c SET count = c.count + 1
         WHERE c.principal = 'api_key:' || k.id AND c.bucket = p_bucket AND c.window_start = v_start
           AND c.pid = pg_backend_pid()
        RETURNING c.count + coalesce((SELECT sum(o.count) FROM rate_counters o
                                       WHERE o.principal = c.principal AND o.bucket = c.bucket
                                         AND o.window_start = c.window_start AND o.pid <> c.pid), 0),
                  greatest(ceil(extract(epoch FROM c.expires_at - now())), 1)
          INTO rate_used, rate_reset;
        IF NOT FOUND THEN
            rate_used := rate_count_first('api_key:' || k.id, p_bucket, v_start, k.window_seconds);
            rate_reset := greatest(ceil(extract(epoch FROM v_start + make_interval(secs => k.window_seconds)
                                                            - now())), 1);
        END IF;
        IF rate_used > rate_limit THEN
            state := 'limited';
        END IF;
    END IF;
    IF state = 'ok' THEN
        IF k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' THEN
            UPDATE api_keys a SET last_used_at = now() WHERE a.id = k.id;
        END IF;
        UPDATE auth_context c SET xact = pg_current_xact_id(), firm_id = k.firm_id, kind = 'api_key',
                                  principal_id = k.id, entered_at = now()
         WHERE c.pid = pg_backend_pid();
        IF NOT FOUND THEN
            PERFORM auth_enter(k.firm_id, 'api_key', k.id);
        END IF;
    END IF;
    id := k.id;
    firm_id := k.firm_id;
    scopes := k.scopes;
    service := k.service;
    RETURN NEXT;
END $$;


--
-- Name: auth_enter_challenge(bytea, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_enter_challenge(p_token_hash bytea, p_purpose text) RETURNS TABLE(challenge_id uuid, firm_id uuid, user_id uuid, role text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    c record;
BEGIN
    SELECT ch.id, ch.firm_id, ch.user_id, us.role
      INTO c
      FROM login_challenges ch JOIN users us ON us.id = ch.user_id AND us.firm_id = ch.firm_id
     WHERE ch.token_hash = p_token_hash AND ch.purpose = p_purpose AND ch.expires_at > now()
       AND us.active AND coalesce(us.locked_until <= now(), true);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM auth_enter(c.firm_id, 'user', c.user_id);
    RETURN QUERY SELECT c.id, c.firm_id, c.user_id, c.role;
END $$;


--
-- Name: auth_enter_password(uuid, text, bigint, text, text, text, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_enter_password(p_user uuid, p_source text, p_window bigint, p_encoded text, p_request_id text, p_ip text, p_user_agent text) RETURNS TABLE(outcome text, two_factor text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    u record;
BEGIN
    SELECT x.id, x.firm_id, x.password_hash, x.active, x.locked_until, f.require_two_factor,
           EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = x.id AND t.confirmed_at IS NOT NULL) AS has_totp
      INTO u FROM users x JOIN firms f ON f.id = x.firm_id WHERE x.id = p_user FOR UPDATE OF x;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'refused'::text, NULL::text;
        RETURN;
    END IF;
    PERFORM 1 FROM login_throttle t
     WHERE t.user_id = p_user AND t.source = p_source AND t.window_no = p_window AND t.pending > 0 FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'refused'::text, NULL::text;
        RETURN;
    END IF;
    IF NOT u.active OR (u.locked_until IS NOT NULL AND u.locked_until > now()) THEN
        PERFORM login_settle(u.firm_id, p_user, p_source, p_window, 'partial');  -- handed back, nothing compared
        RETURN QUERY SELECT 'refused'::text, NULL::text;
        RETURN;
    END IF;
    IF p_encoded IS NOT NULL
       AND sha256(convert_to(u.password_hash, 'UTF8')) IS NOT DISTINCT FROM sha256(convert_to(p_encoded, 'UTF8')) THEN
        two_factor := CASE WHEN u.has_totp THEN 'totp' WHEN u.require_two_factor THEN 'totp_enrolment' END;
        PERFORM login_settle(u.firm_id, p_user, p_source, p_window,
                             CASE WHEN two_factor IS NULL THEN 'success' ELSE 'partial' END);
        PERFORM auth_enter(u.firm_id, 'user', u.id);
        outcome := 'ok';
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM login_failed(u.firm_id, p_user, p_source, p_window, 'login_password', p_request_id, p_ip, p_user_agent);
    RETURN QUERY SELECT 'wrong'::text, NULL::text;
END $$;


--
-- Name: auth_enter_refresh(bytea, text, text, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_enter_refresh(p_token_hash bytea, p_request_id text, p_ip text, p_user_agent text) RETURNS TABLE(outcome text, session_id uuid, user_id uuid, firm_id uuid, chain_id uuid, role text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    s record;
    revoked integer;
BEGIN
    SELECT x.id, x.user_id, x.firm_id, x.chain_id, x.used_at, x.revoked_at, x.expires_at, u.role, u.active,
           f.require_two_factor,
           EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL) AS has_totp
    INTO s FROM sessions x JOIN users u ON u.id = x.user_id AND u.firm_id = x.firm_id
                           JOIN firms f ON f.id = x.firm_id
    WHERE x.token_hash = p_token_hash FOR UPDATE OF x;
    IF NOT FOUND THEN
        outcome := 'invalid';
    ELSIF s.revoked_at IS NOT NULL OR s.expires_at <= now() OR NOT s.active
          OR NOT EXISTS (SELECT 1 FROM sessions c WHERE c.chain_id = s.chain_id
                                                     AND c.last_used_at > now() - auth_session_idle_timeout()) THEN
        outcome := 'invalid';
    ELSIF s.require_two_factor AND NOT s.has_totp THEN
        -- the firm now requires two-factor and the user has none: the chain ends, and the next sign-in enrols
        UPDATE sessions SET revoked_at = now() WHERE sessions.chain_id = s.chain_id AND revoked_at IS NULL;
        GET DIAGNOSTICS revoked = ROW_COUNT;
        INSERT INTO audit_events (firm_id, actor_type, actor_id, action, resource_type, resource_id, after,
                                  changed_fields, request_id, ip, user_agent)
        VALUES (s.firm_id, 'system', NULL, 'auth.refresh_refused', 'session', s.chain_id::text,
                jsonb_build_object('revoked', revoked, 'reason', 'two_factor_required'), ARRAY['reason', 'revoked'],
                p_request_id, p_ip, p_user_agent);
        outcome := 'invalid';
    ELSIF s.used_at IS NOT NULL THEN
        UPDATE sessions SET revoked_at = now() WHERE sessions.chain_id = s.chain_id AND revoked_at IS NULL;
        GET DIAGNOSTICS revoked = ROW_COUNT;
        INSERT INTO audit_events (firm_id, actor_type, actor_id, action, resource_type, resource_id, after,
                                  changed_fields, request_id, ip, user_agent)
        VALUES (s.firm_id, 'system', NULL, 'auth.refresh_reuse', 'session', s.chain_id::text,
                jsonb_build_object('revoked', revoked), ARRAY['revoked'], p_request_id, p_ip, p_user_agent);
        outcome := 'reused';
    ELSE
        PERFORM auth_enter(s.firm_id, 'user', s.user_id);
        outcome := 'ok';
        session_id := s.id;
        user_id := s.user_id;
        firm_id := s.firm_id;
        chain_id := s.chain_id;
        role := s.role;
    END IF;
    RETURN NEXT;
END $$;


--
-- Name: auth_enter_session(uuid, uuid, uuid, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    last_used timestamptz;
BEGIN
    SELECT s.last_used_at INTO last_used
    FROM sessions s JOIN users u ON u.id = s.user_id AND u.firm_id = s.firm_id
    WHERE s.id = p_session AND s.user_id = p_user AND s.firm_id = p_firm AND s.revoked_at IS NULL
      AND s.expires_at > now() AND s.last_used_at > now() - auth_session_idle_timeout()
      AND u.active AND u.role = p_role;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF last_used < now() - interval '1 minute' THEN
        UPDATE sessions SET last_used_at = now() WHERE id = p_session;
    END IF;
    PERFORM auth_enter(p_firm, 'user', p_user);
    RETURN true;
END $$;


--
-- Name: auth_enter_session(uuid, uuid, uuid, text, text, integer); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text, p_bucket text, p_scale integer, OUT state text, OUT rate_limit integer, OUT rate_used integer, OUT rate_reset integer) RETURNS record
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_last timestamptz;
    v_figure integer;
    v_window integer;
    v_start timestamptz;
BEGIN
    SELECT x.last_used_at,
           CASE p_bucket WHEN 'default' THEN t.default_requests WHEN 'bulk' THEN t.bulk_requests
                         WHEN 'auth' THEN t.auth_requests WHEN 'source' THEN t.source_requests END,
           t.window_seconds, to_timestamp(floor(extract(epoch FROM now()) / t.window_seconds) * t.window_seconds)
      INTO v_last, v_figure, v_window, v_start
      FROM sessions x JOIN users u ON u.id = x.user_id AND u.firm_id = x.firm_id
                      JOIN firms f ON f.id = x.firm_id
                      JOIN rate_limit_tiers t ON t.tier = f.rate_limit_tier
     WHERE x.id = p_session AND x.user_id = p_user AND x.firm_id = p_firm AND x.revoked_at IS NULL
       AND x.expires_at > now() AND x.last_used_at > now() - auth_session_idle_timeout()
       AND u.active AND u.role = p_role;
    IF NOT FOUND THEN
        state := 'refused';
        RETURN;
    END IF;
    IF p_bucket IS NOT NULL THEN
        IF v_figure IS NULL THEN
            RAISE EXCEPTION 'no rate limit for bucket %', p_bucket;
        END IF;
        rate_limit := least(v_figure::bigint * least(greatest(coalesce(p_scale, 1), 1), 1000000), 2000000000);
        UPDATE rate_counters c SET count = c.count + 1
         WHERE c.principal = 'user:' || p_user AND c.bucket = p_bucket AND c.window_start = v_start
           AND c.pid = pg_backend_pid()
        RETURNING c.count + coalesce((SELECT sum(o.count) FROM rate_counters o
                                       WHERE o.principal = c.principal AND o.bucket = c.bucket
                                         AND o.window_start = c.window_start AND o.pid <> c.pid), 0),
                  greatest(ceil(extract(epoch FROM c.expires_at - now())), 1)
          INTO rate_used, rate_reset;
        IF NOT FOUND THEN
            rate_used := rate_count_first('user:' || p_user, p_bucket, v_start, v_window);
            rate_reset := greatest(ceil(extract(epoch FROM v_start + make_interval(secs => v_window) - now())), 1);
        END IF;
        IF rate_used > rate_limit THEN
            state := 'limited';
            RETURN;
        END IF;
    END IF;
    IF v_last < now() - interval '1 minute' THEN
        UPDATE sessions SET last_used_at = now() WHERE id = p_session;
    END IF;
    UPDATE auth_context SET xact = pg_current_xact_id(), firm_id = p_firm, kind = 'user', principal_id = p_user,
                            entered_at = now()
     WHERE pid = pg_backend_pid();
    IF NOT FOUND THEN
        PERFORM auth_enter(p_firm, 'user', p_user);
    END IF;
    state := 'ok';
END $$;


--
-- Name: auth_enter_system(uuid); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_enter_system(p_firm uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    PERFORM auth_enter(p_firm, 'system', NULL);
    PERFORM set_config('role', 'wealthdesk_app', true);
END $$;


--
-- Name: auth_login_begin(text, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_login_begin(p_email text, p_source text) RETURNS TABLE(user_id uuid, firm_id uuid, role text, password_setting text, attempt bigint, two_factor text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $_$
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
    RETURN QUERY SELECT u.id, u.firm_id, u.role, regexp_replace(u.password_hash, '\$[^$]*$', ''), v_window,
                        CASE WHEN coalesce(u.has_totp, false) THEN 'totp'
                             WHEN u.require_two_factor THEN 'totp_enrolment' END;
END $_$;


--
-- Name: auth_login_failed(uuid, text, bigint, text, text, text, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_login_failed(p_user uuid, p_source text, p_window bigint, p_factor text, p_request_id text, p_ip text, p_user_agent text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_firm uuid := current_firm_id();
BEGIN
    IF p_factor NOT IN ('login_password', 'totp', 'recovery_code') THEN
        RAISE EXCEPTION 'unknown factor %', p_factor;
    END IF;
    IF v_firm IS NULL OR NOT EXISTS (SELECT 1 FROM users us WHERE us.id = p_user AND us.firm_id = v_firm) THEN
        RAISE EXCEPTION 'no such user in the current firm';
    END IF;
    PERFORM login_failed(v_firm, p_user, p_source, p_window, p_factor, p_request_id, p_ip, p_user_agent);
END $$;


--
-- Name: auth_login_outcome(uuid, text, bigint, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_login_outcome(p_user uuid, p_source text, p_window bigint, p_outcome text) RETURNS TABLE(pair_locked_until timestamp with time zone, account_locked_until timestamp with time zone, failures_last_hour integer, sources_last_hour integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_firm uuid := current_firm_id();
BEGIN
    IF v_firm IS NULL OR NOT EXISTS (SELECT 1 FROM users us WHERE us.id = p_user AND us.firm_id = v_firm) THEN
        RAISE EXCEPTION 'no such user in the current firm';
    END IF;
    RETURN QUERY SELECT * FROM login_settle(v_firm, p_user, p_source, p_window, p_outcome);
END $$;


--
-- Name: auth_session_idle_timeout(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_session_idle_timeout() RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT interval '2 hours' $$;


--
-- Name: auth_unlock_account(uuid); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_unlock_account(p_user uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    UPDATE users SET locked_until = NULL, failed_logins = 0 WHERE id = p_user AND firm_id = current_firm_id();
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    DELETE FROM login_throttle t WHERE t.user_id = p_user;
    DELETE FROM login_failures f WHERE f.user_id = p_user;
    RETURN true;
END $$;


--
-- Name: auth_user_by_email(text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.auth_user_by_email(p_email text) RETURNS TABLE(id uuid, firm_id uuid, role text, active boolean, failed_logins integer, locked_until timestamp with time zone, password_setting text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $_$ SELECT u.id, u.firm_id, u.role, u.active, u.failed_logins, u.locked_until,
                 regexp_replace(u.password_hash, '\$[^$]*$', '')
          FROM users u WHERE u.email = lower(p_email) $_$;


--
-- Name: client_group_fum_of(uuid[]); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.client_group_fum_of(p_groups uuid[]) RETURNS TABLE(firm_id uuid, client_group_id uuid, funds_under_management numeric, product_count integer, latest_valuation_date date)
    LANGUAGE sql STABLE
    AS $$
    SELECT g.firm_id, g.id,
           coalesce(sum(v.value) FILTER (WHERE p.status = 'active'), 0),
           (count(p.id) FILTER (WHERE p.status = 'active'))::integer,
           max(v.valuation_date)
    FROM client_groups g
    LEFT JOIN products p ON p.client_group_id = g.id
    LEFT JOIN LATERAL (SELECT pv.valuation_date, pv.value FROM portfolio_valuations pv
                       WHERE pv.product_id = p.id ORDER BY pv.valuation_date DESC LIMIT 1) v ON true
    WHERE g.id = ANY (p_groups)
    GROUP BY g.firm_id, g.id
$$;


--
-- Name: client_group_fum_refresh(uuid[]); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.client_group_fum_refresh(p_groups uuid[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM 1 FROM client_group_fum f WHERE f.client_group_id = ANY (p_groups)
        ORDER BY f.client_group_id FOR NO KEY UPDATE;
    INSERT INTO client_group_fum AS f (firm_id, client_group_id, funds_under_management, product_count,
                                       latest_valuation_date)
    SELECT x.firm_id, x.client_group_id, x.funds_under_management, x.product_count, x.latest_valuation_date
    FROM client_group_fum_of(p_groups) x ORDER BY x.client_group_id
    ON CONFLICT (client_group_id) DO UPDATE
        SET funds_under_management = EXCLUDED.funds_under_management, product_count = EXCLUDED.product_count,
            latest_valuation_date = EXCLUDED.latest_valuation_date
        WHERE (f.funds_under_management, f.product_count, f.latest_valuation_date)
              IS DISTINCT FROM (EXCLUDED.funds_under_management, EXCLUDED.product_count,
                                EXCLUDED.latest_valuation_date);
END $$;


--
-- Name: client_groups_fum_insert(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.client_groups_fum_insert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO client_group_fum (firm_id, client_group_id)
    SELECT n.firm_id, n.id FROM new_rows n ORDER BY n.id ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;


--
-- Name: cma_asset_classes_refuse_approved(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.cma_asset_classes_refuse_approved() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    s uuid;
BEGIN
    FOREACH s IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW.cma_set_id]
                                  WHEN 'DELETE' THEN ARRAY[OLD.cma_set_id]
                                  ELSE ARRAY[OLD.cma_set_id, NEW.cma_set_id] END LOOP
        IF EXISTS (SELECT 1 FROM cma_sets c WHERE c.id = s AND c.status = 'approved') THEN
            RAISE EXCEPTION 'CMA set % is approved: its asset classes cannot change', s
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'cma_asset_classes_frozen';
        END IF;
    END LOOP;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;


--
-- Name: cma_correlations_valid(numeric[]); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.cma_correlations_valid(m numeric[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT array_ndims(m) = 2 AND array_lower(m, 1) = 1 AND array_lower(m, 2) = 1
                 AND array_length(m, 1) = array_length(m, 2)
                 AND NOT EXISTS (SELECT 1 FROM generate_subscripts(m, 1) AS i, generate_subscripts(m, 2) AS j
                                 WHERE m[i][j] IS NULL OR m[i][j] < -1 OR m[i][j] > 1 OR m[i][j] <> m[j][i]
                                    OR (i = j AND m[i][j] <> 1)) $$;


--
-- Name: cma_sets_check_shape(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.cma_sets_check_shape() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    s uuid;
    n integer;
    top integer;
    size integer;
BEGIN
    IF TG_TABLE_NAME = 'cma_sets' THEN
        s := NEW.id;
    ELSE
        s := coalesce(NEW.cma_set_id, OLD.cma_set_id);
    END IF;
    SELECT count(*), max(position) INTO n, top FROM cma_asset_classes WHERE cma_set_id = s;
    SELECT array_length(correlations, 1) INTO size FROM cma_sets WHERE id = s;
    IF size IS NULL THEN
        RETURN NULL;  -- the set itself was deleted
    END IF;
    IF n = 0 OR top <> n OR size <> n THEN
        RAISE EXCEPTION 'CMA set % has % asset classes (positions up to %) and a % x % correlation matrix',
            s, n, coalesce(top, 0), size, size
            USING ERRCODE = 'check_violation', CONSTRAINT = 'cma_sets_shape';
    END IF;
    RETURN NULL;
END $$;


--
-- Name: cma_sets_refuse_approved(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.cma_sets_refuse_approved() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.status = 'approved' THEN
        RAISE EXCEPTION 'CMA set % is approved: % refused (make a new version)', OLD.id, TG_OP
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'cma_sets_frozen';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;


--
-- Name: current_firm_id(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.current_firm_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    AS $$ SELECT c.firm_id FROM public.auth_context c
          WHERE c.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
            AND c.xact OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id_if_assigned() $$;


--
-- Name: current_principal_is_admin(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.current_principal_is_admin() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    AS $$ SELECT EXISTS (
              SELECT 1 FROM public.auth_context c
              JOIN public.users u ON u.id OPERATOR(pg_catalog.=) c.principal_id
                                 AND u.firm_id OPERATOR(pg_catalog.=) c.firm_id
              WHERE c.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
                AND c.xact OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id_if_assigned()
                AND c.kind OPERATOR(pg_catalog.=) 'user' AND u.role OPERATOR(pg_catalog.=) 'admin' AND u.active) $$;


--
-- Name: current_principal_is_system(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.current_principal_is_system() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$ SELECT EXISTS (
              SELECT 1 FROM public.auth_context c
              WHERE c.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
                AND c.xact OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id_if_assigned()
                AND c.kind OPERATOR(pg_catalog.=) 'system') $$;


--
-- Name: dashboard_written(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.dashboard_written() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF current_setting('wealthdesk.dashboard_written', true) IS DISTINCT FROM 'yes' THEN
        IF current_firm_id() IS NOT NULL THEN
            INSERT INTO dashboard_writes (firm_id) VALUES (current_firm_id());
        ELSE
            INSERT INTO dashboard_writes (firm_id) SELECT f.id FROM firms f;
        END IF;
        PERFORM set_config('wealthdesk.dashboard_written', 'yes', true);
    END IF;
    RETURN NULL;
END $$;


--
-- Name: ensure_audit_partitions(date, integer); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.ensure_audit_partitions(from_month date, months integer) RETURNS integer
    LANGUAGE plpgsql
    SET "TimeZone" TO 'UTC'
    AS $$
DECLARE
    start_month date := date_trunc('month', from_month)::date;
    m date;
    created integer := 0;
    part text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        m := (start_month + make_interval(months => i))::date;
        part := format('audit_events_%s', to_char(m, 'YYYYMM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
                           part, m::timestamptz, (m + interval '1 month')::timestamptz);
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;


--
-- Name: firm_base_currency(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.firm_base_currency() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT base_currency::text FROM firms WHERE id = (SELECT current_firm_id()) $$;


--
-- Name: firms_default_retention(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.firms_default_retention() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM retention_default_policies(NEW.id);
    RETURN NULL;
END $$;


--
-- Name: fund_rows_within_fund_dates(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.fund_rows_within_fund_dates() RETURNS trigger
    LANGUAGE plpgsql
    AS $_$
DECLARE
    day text := CASE TG_TABLE_NAME WHEN 'fund_valuations' THEN 'valuation_date' ELSE 'activity_date' END;
    changed text;
    bad record;
    n integer;
BEGIN
    -- Transition tables exist only for the trigger's own event: the queries are built for it.
    changed := CASE WHEN TG_OP = 'INSERT' THEN 'SELECT * FROM new_rows'
                    ELSE format('SELECT n.* FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM old_rows o '
                                'WHERE o.id = n.id AND o.portfolio_fund_id = n.portfolio_fund_id AND o.%1$I = n.%1$I)',
                                day) END;
    -- Both statements stay linear in the rows written whatever the planner knows of the tables (a fresh
    -- table has no statistics): the funds are found by their key from an array made once, and the dates are
    -- reduced to each fund's first and last before any join.
    EXECUTE format('SELECT 1 FROM portfolio_funds pf JOIN products p ON p.id = pf.product_id '
                   'WHERE pf.id = ANY (ARRAY(SELECT DISTINCT c.portfolio_fund_id FROM (%s) c)) '
                   'ORDER BY pf.id FOR SHARE OF pf, p', changed);
    EXECUTE format('SELECT s.portfolio_fund_id, CASE WHEN s.first < pf.start_date THEN s.first ELSE s.last END '
                   'AS day, pf.start_date, least(pf.end_date, p.end_date) AS end_date '
                   'FROM (SELECT c.portfolio_fund_id, min(c.%1$I) AS first, max(c.%1$I) AS last FROM (%2$s) c '
                   '      GROUP BY c.portfolio_fund_id) s '
                   'JOIN portfolio_funds pf ON pf.id = s.portfolio_fund_id JOIN products p ON p.id = pf.product_id '
                   'WHERE s.first < pf.start_date OR s.last > pf.end_date OR s.last > p.end_date LIMIT 1',
                   day, changed) INTO bad;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        RAISE EXCEPTION '% dated % is outside portfolio fund % (% to %)', TG_TABLE_NAME, bad.day,
            bad.portfolio_fund_id, bad.start_date, coalesce(bad.end_date::text, 'open')
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_within_fund_dates';
    END IF;
    RETURN NULL;
END $_$;


--
-- Name: fund_valuations_aggregate(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.fund_valuations_aggregate() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    products uuid[];
    dates date[];
BEGIN
    -- Transition tables exist only for the trigger's own event, so each event has its own query.
    IF TG_OP = 'INSERT' THEN
        -- A product whose valuations are all new (a loader writing whole histories) is refreshed on all its dates
        -- (NULL), the same rows as its list of dates, without matching every row against a list of hundreds of
        -- dates. Counted only for a bulk write of a product (100 rows or more): a few rows keep their short list.
        WITH touched AS (
            SELECT pf.product_id, n.valuation_date AS day
            FROM new_rows n JOIN portfolio_funds pf ON pf.id = n.portfolio_fund_id
        ), whole AS (
            SELECT t.product_id FROM touched t GROUP BY t.product_id
            HAVING count(*) >= 100 AND count(*) = (  -- fund by fund, so that each count reads its own index range
                SELECT sum((SELECT count(*) FROM fund_valuations v WHERE v.portfolio_fund_id = a.id))
                FROM portfolio_funds a WHERE a.product_id = t.product_id)
        )
        SELECT array_agg(x.product_id), array_agg(x.day) INTO products, dates
        FROM (SELECT w.product_id, NULL::date AS day FROM whole w
              UNION ALL
              SELECT DISTINCT t.product_id, t.day FROM touched t
              WHERE NOT EXISTS (SELECT 1 FROM whole w WHERE w.product_id = t.product_id)) x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(t.product_id), array_agg(t.day) INTO products, dates
        FROM (SELECT DISTINCT pf.product_id, o.valuation_date AS day
              FROM old_rows o JOIN portfolio_funds pf ON pf.id = o.portfolio_fund_id) t;
    ELSE
        -- The rows whose fund, date or value changed, old and new versions: the symmetric difference of the two
        -- tables (an update of other columns only, or one that sets the same value, touches no date).
        SELECT array_agg(t.product_id), array_agg(t.day) INTO products, dates
        FROM (SELECT DISTINCT pf.product_id, c.valuation_date AS day
              FROM ((SELECT id, portfolio_fund_id, valuation_date, value FROM new_rows
                     EXCEPT SELECT id, portfolio_fund_id, valuation_date, value FROM old_rows)
                    UNION ALL
                    (SELECT id, portfolio_fund_id, valuation_date, value FROM old_rows
                     EXCEPT SELECT id, portfolio_fund_id, valuation_date, value FROM new_rows)) c
              JOIN portfolio_funds pf ON pf.id = c.portfolio_fund_id) t;
    END IF;
    IF products IS NOT NULL THEN
        PERFORM portfolio_valuations_refresh(products, dates);
    END IF;
    RETURN NULL;
END $$;


--
-- Name: funds_aggregate(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.funds_aggregate() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    products uuid[];
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.is_cash <> o.is_cash) THEN
        SELECT array_agg(DISTINCT a.product_id) INTO products
        FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN portfolio_funds a ON a.fund_id = n.id
        WHERE n.is_cash <> o.is_cash;
        IF products IS NOT NULL THEN
            PERFORM portfolio_valuations_refresh(products, array_fill(NULL::date, ARRAY[cardinality(products)]));
        END IF;
    END IF;
    RETURN NULL;
END $$;


--
-- Name: fx_rate_on(text, date); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.fx_rate_on(p_currency text, p_day date) RETURNS numeric
    LANGUAGE sql STABLE
    AS $$ SELECT CASE WHEN p_currency = firm_base_currency() THEN 1::numeric
                      ELSE (SELECT r.rate FROM fx_rates r
                            WHERE r.firm_id = (SELECT current_firm_id()) AND r.currency = p_currency
                              AND r.rate_date <= p_day
                            ORDER BY r.rate_date DESC LIMIT 1) END $$;


--
-- Name: fx_rates_refuse_base(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.fx_rates_refuse_base() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.currency = (SELECT f.base_currency FROM firms f WHERE f.id = NEW.firm_id) THEN
        RAISE EXCEPTION '% is the firm''s base currency: its rate is always 1', NEW.currency
            USING ERRCODE = 'check_violation', CONSTRAINT = 'fx_rates_not_base';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: generation_check_weights(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.generation_check_weights() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    gen uuid := coalesce(NEW.generation_id, OLD.generation_id);
    total numeric;
BEGIN
    SELECT sum(target_weighting) INTO total FROM template_generation_funds WHERE generation_id = gen;
    IF total IS NOT NULL AND total <> 100.00 THEN
        RAISE EXCEPTION 'target weightings of generation % sum to %, not 100.00', gen, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'generation_weights_sum_100';
    END IF;
    RETURN NULL;
END $$;


--
-- Name: generation_refuse_edit_in_use(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.generation_refuse_edit_in_use() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM products WHERE template_generation_id = coalesce(NEW.generation_id, OLD.generation_id)) THEN
        RAISE EXCEPTION 'generation % is in use; make a new generation', coalesce(NEW.generation_id, OLD.generation_id)
            USING ERRCODE = 'check_violation', CONSTRAINT = 'generation_in_use';
    END IF;
    RETURN coalesce(NEW, OLD);
END $$;


--
-- Name: holding_activity_flows(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.holding_activity_flows() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    funds uuid[];
    dates date[];
    amounts numeric[];
    counts integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(portfolio_fund_id), array_agg(activity_date),
               array_agg(amount * activity_sign(activity_type)), array_agg(1)
        INTO funds, dates, amounts, counts
        FROM new_rows WHERE activity_sign(activity_type) <> 0;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(portfolio_fund_id), array_agg(activity_date),
               array_agg(-amount * activity_sign(activity_type)), array_agg(-1)
        INTO funds, dates, amounts, counts
        FROM old_rows WHERE activity_sign(activity_type) <> 0;
    ELSE
        SELECT array_agg(c.fund), array_agg(c.day), array_agg(c.amount), array_agg(c.n)
        INTO funds, dates, amounts, counts
        FROM (SELECT portfolio_fund_id AS fund, activity_date AS day,
                     amount * activity_sign(activity_type) AS amount, 1 AS n
              FROM new_rows WHERE activity_sign(activity_type) <> 0
              UNION ALL
              SELECT portfolio_fund_id, activity_date, -amount * activity_sign(activity_type), -1
              FROM old_rows WHERE activity_sign(activity_type) <> 0) c;
    END IF;
    IF funds IS NOT NULL THEN
        PERFORM product_flows_add(funds, dates, amounts, counts);
    END IF;
    RETURN NULL;
END $$;


--
-- Name: information_data_is_valid(jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_data_is_valid(doc jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        RETURN false;
    END IF;
    IF (SELECT count(*) FROM jsonb_object_keys(doc)) > 50 OR octet_length(doc::text) > 65536 THEN
        RETURN false;
    END IF;
    RETURN NOT EXISTS (
        SELECT 1 FROM information_pairs(doc) p
        WHERE (information_is_valuation_key(p.key) AND NOT information_money_is_valid(p.value))
           OR (information_is_date_key(p.key) AND jsonb_typeof(p.value) <> 'null'
               AND information_date_of(p.value) IS NULL));
END $$;


--
-- Name: information_data_latest_date(jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_data_latest_date(doc jsonb) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT max(information_date_of(p.value)) FROM information_pairs(doc) p
          WHERE information_is_date_key(p.key) $$;


--
-- Name: information_date_of(jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_date_of(v jsonb) RETURNS date
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $_$
DECLARE
    t text;
    y integer;
    m integer;
    d integer;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) <> 'string' THEN
        RETURN NULL;
    END IF;
    t := v #>> '{}';
    IF t !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN NULL;
    END IF;
    y := substr(t, 1, 4)::integer;
    m := substr(t, 6, 2)::integer;
    d := substr(t, 9, 2)::integer;
    IF y < 1900 OR m NOT BETWEEN 1 AND 12 OR d < 1
       OR d > extract(day FROM make_date(y, m, 1) + interval '1 month' - interval '1 day') THEN
        RETURN NULL;
    END IF;
    RETURN make_date(y, m, d);
END $_$;


--
-- Name: information_is_date_key(text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_is_date_key(k text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$ SELECT lower(k) ~ '(^|_)date$|^date_of_' $_$;


--
-- Name: information_is_valuation_key(text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_is_valuation_key(k text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$ SELECT lower(k) ~ '(^|_)(valuation|value)$' $_$;


--
-- Name: information_item_words(text, jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_item_words(category text, doc jsonb) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$ SELECT information_words(concat_ws(' ', category,
              (SELECT string_agg(p.key, ' ') FROM information_pairs(doc) p),
              (SELECT string_agg(v #>> '{}', ' ')
                 FROM jsonb_path_query(doc, 'strict $.** ? (@.type() == "string" || @.type() == "number")') v))) $_$;


--
-- Name: information_items_check_owners(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_items_check_owners() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    missing uuid;
BEGIN
    IF NEW.associated_product_owners IS NULL
       OR NOT coalesce(ownership_is_valid(NEW.associated_product_owners), false) THEN
        RETURN NEW;  -- none, or not one of the three forms (the CHECK refuses that)
    END IF;
    missing := ownership_first_outsider(NEW.client_group_id, NEW.associated_product_owners);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'product owner % does not belong to client group %', missing, NEW.client_group_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'information_items_owners_in_group';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: information_items_dates_check(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_items_dates_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    latest date := information_data_latest_date(NEW.data_content);
BEGIN
    IF latest > (now() AT TIME ZONE 'UTC')::date THEN
        RAISE EXCEPTION 'information item content holds the date %, after today', latest
            USING ERRCODE = 'check_violation', CONSTRAINT = 'information_items_dates_not_future';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: information_items_terms_delete(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_items_terms_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE information_item_terms;
    ELSE
        DELETE FROM information_item_terms t USING old_rows o WHERE t.item_id = o.id;
    END IF;
    RETURN NULL;
END $$;


--
-- Name: information_items_terms_insert(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_items_terms_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    INSERT INTO information_item_terms (firm_id, item_id, term)
    SELECT n.firm_id, n.id, w FROM new_rows n, information_item_words(n.item_category, n.data_content) AS w;
    RETURN NULL;
END $$;


--
-- Name: information_items_terms_update(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_items_terms_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    DELETE FROM information_item_terms t USING old_rows o
    WHERE t.item_id = o.id
      AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND n.firm_id = o.firm_id
                                                  AND n.item_category = o.item_category
                                                  AND n.data_content = o.data_content);
    INSERT INTO information_item_terms (firm_id, item_id, term)
    SELECT n.firm_id, n.id, w FROM new_rows n, information_item_words(n.item_category, n.data_content) AS w
    WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND o.firm_id = n.firm_id
                                                AND o.item_category = n.item_category
                                                AND o.data_content = n.data_content);
    RETURN NULL;
END $$;


--
-- Name: information_money_is_valid(jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_money_is_valid(v jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$ SELECT v IS NULL OR jsonb_typeof(v) = 'null'
                 OR (jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^[0-9]{1,16}(\.[0-9]{1,2})?$') $_$;


--
-- Name: information_pairs(jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_pairs(doc jsonb) RETURNS TABLE(key text, value jsonb)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$ SELECT kv ->> 'key', kv -> 'value'
          FROM jsonb_path_query(doc, 'strict $.** ? (@.type() == "object").keyvalue()') AS kv $_$;


--
-- Name: information_search_ranges(text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_search_ranges(q text) RETURNS TABLE(lo text, hi text)
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT w COLLATE "C", (w || chr(1114111)) COLLATE "C" FROM information_words(q) AS w $$;


--
-- Name: information_words(text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.information_words(t text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT DISTINCT left(w, 64) FROM regexp_split_to_table(lower(t), '[^[:alnum:]]+') AS w WHERE w <> '' $$;


--
-- Name: is_uuid_text(text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.is_uuid_text(value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$ SELECT value ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' $_$;


--
-- Name: isin_is_valid(text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.isin_is_valid(isin text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
DECLARE
    digits text := '';
    ch text;
    total integer := 0;
    d integer;
    double boolean := false;
BEGIN
    IF isin !~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$' THEN
        RETURN false;
    END IF;
    FOR i IN 1 .. 11 LOOP
        ch := substr(isin, i, 1);
        IF ch ~ '[A-Z]' THEN
            digits := digits || (ascii(ch) - 55)::text;
        ELSE
            digits := digits || ch;
        END IF;
    END LOOP;
    -- Luhn: from the rightmost digit of the payload, double every other digit starting with the rightmost.
    double := true;
    FOR i IN REVERSE length(digits) .. 1 LOOP
        d := substr(digits, i, 1)::integer;
        IF double THEN
            d := d * 2;
            IF d > 9 THEN d := d - 9; END IF;
        END IF;
        total := total + d;
        double := NOT double;
    END LOOP;
    RETURN (10 - total % 10) % 10 = substr(isin, 12, 1)::integer;
END $_$;


--
-- Name: login_failed(uuid, uuid, text, bigint, text, text, text, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.login_failed(p_firm uuid, p_user uuid, p_source text, p_window bigint, p_factor text, p_request_id text, p_ip text, p_user_agent text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    o record;
    v_facts jsonb;
    v_when text;
    v_email text;
BEGIN
    SELECT * INTO o FROM login_settle(p_firm, p_user, p_source, p_window, 'failure');
    INSERT INTO audit_events (firm_id, actor_type, actor_id, action, resource_type, resource_id, before, after,
                              changed_fields, request_id, ip, user_agent)
    VALUES (p_firm, 'user', p_user, 'auth.login_failed', 'user', p_user::text,
            jsonb_build_object('failed_logins', o.failures_last_hour - 1),
            jsonb_build_object('failed_logins', o.failures_last_hour, 'factor', p_factor, 'source_locked_until',
                               to_char(o.pair_locked_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
            ARRAY['factor', 'failed_logins']
                || CASE WHEN o.pair_locked_until IS NULL THEN ARRAY[]::text[] ELSE ARRAY['source_locked_until'] END,
            p_request_id, p_ip, p_user_agent);
    IF o.account_locked_until IS NULL THEN
        RETURN;
    END IF;
    v_facts := jsonb_build_object(
        'user_id', p_user, 'failures', o.failures_last_hour, 'addresses', o.sources_last_hour,
        'locked_until', to_char(o.account_locked_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
    INSERT INTO audit_events (firm_id, actor_type, actor_id, action, resource_type, resource_id, after,
                              changed_fields, request_id, ip, user_agent)
    VALUES (p_firm, 'user', p_user, 'auth.account_locked', 'user', p_user::text, v_facts,
            ARRAY['addresses', 'failures', 'locked_until', 'user_id'], p_request_id, p_ip, p_user_agent);
    v_when := to_char(o.account_locked_until AT TIME ZONE 'UTC', 'HH24:MI "UTC on" DD Mon YYYY');
    SELECT us.email INTO v_email FROM users us WHERE us.id = p_user;
    INSERT INTO notifications (firm_id, user_id, kind, title, body, data)
    VALUES (p_firm, p_user, 'security.account_locked', 'Your account was locked',
            format('There were %s failed sign-in attempts on your account within an hour, from %s addresses, so '
                   'nobody can sign in to it until %s. If these were not you, tell your administrator: setting a '
                   'new password for you lifts the lock.', o.failures_last_hour, o.sources_last_hour, v_when),
            v_facts);
    INSERT INTO notifications (firm_id, user_id, kind, title, body, data)
    SELECT p_firm, a.id, 'security.account_locked', format('The account of %s was locked', v_email),
           format('%s failed sign-in attempts within an hour, from %s addresses, locked the account of %s until %s. '
                  'Setting a new password for the user lifts the lock.', o.failures_last_hour, o.sources_last_hour,
                  v_email, v_when),
           v_facts
      FROM users a WHERE a.firm_id = p_firm AND a.role = 'admin' AND a.active AND a.id <> p_user ORDER BY a.id;
END $$;


--
-- Name: login_reserve(uuid, uuid, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.login_reserve(p_firm uuid, p_user uuid, p_source text) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v_window bigint;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    -- this account's other lapsed windows: nothing more to count there
    DELETE FROM login_throttle t
     WHERE t.user_id = p_user AND t.source <> p_source AND t.pending = 0
       AND coalesce(t.locked_until, t.window_started + interval '30 minutes') <= now();
    INSERT INTO login_throttle AS t (firm_id, user_id, source, checks, pending)
    VALUES (p_firm, p_user, p_source, 1, 1)
    ON CONFLICT (user_id, source) DO UPDATE SET
        window_no = t.window_no
            + CASE WHEN coalesce(t.locked_until, t.window_started + interval '30 minutes') <= now() THEN 1 ELSE 0 END,
        window_started = CASE WHEN coalesce(t.locked_until, t.window_started + interval '30 minutes') <= now()
                              THEN now() ELSE t.window_started END,
        checks = CASE WHEN coalesce(t.locked_until, t.window_started + interval '30 minutes') <= now()
                      THEN 1 ELSE t.checks + 1 END,
        pending = CASE WHEN coalesce(t.locked_until, t.window_started + interval '30 minutes') <= now()
                       THEN 1 ELSE t.pending + 1 END,
        locked_until = CASE WHEN coalesce(t.locked_until, t.window_started + interval '30 minutes') <= now()
                            THEN NULL ELSE t.locked_until END
    WHERE coalesce(t.locked_until, t.window_started + interval '30 minutes') <= now()
       OR (t.locked_until IS NULL AND t.checks < 5)
    RETURNING t.window_no INTO v_window;
    RETURN v_window;
END $$;


--
-- Name: login_settle(uuid, uuid, text, bigint, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.login_settle(p_firm uuid, p_user uuid, p_source text, p_window bigint, p_outcome text) RETURNS TABLE(pair_locked_until timestamp with time zone, account_locked_until timestamp with time zone, failures_last_hour integer, sources_last_hour integer)
    LANGUAGE plpgsql
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
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
    PERFORM 1 FROM users us WHERE us.id = p_user AND us.firm_id = p_firm FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such user in the firm';
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
        INSERT INTO login_failures (firm_id, user_id, source) VALUES (p_firm, p_user, p_source);
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


--
-- Name: membership_check_information_items(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.membership_check_information_items() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_items i WHERE i.client_group_id = OLD.client_group_id
               AND i.associated_product_owners IS NOT NULL
               AND OLD.product_owner_id = ANY (ownership_owner_ids(i.associated_product_owners))) THEN
        RAISE EXCEPTION 'product owner % is still referenced by information items of client group %',
            OLD.product_owner_id, OLD.client_group_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'information_items_owners_in_group';
    END IF;
    RETURN OLD;
END $$;


--
-- Name: membership_check_products(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.membership_check_products() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM products p WHERE p.client_group_id = OLD.client_group_id
               AND OLD.product_owner_id = ANY (ownership_owner_ids(p.ownership)))
       OR EXISTS (SELECT 1 FROM unmanaged_products u WHERE u.client_group_id = OLD.client_group_id
                  AND OLD.product_owner_id = ANY (ownership_owner_ids(u.ownership))) THEN
        RAISE EXCEPTION 'product owner % is still referenced by products of client group %',
            OLD.product_owner_id, OLD.client_group_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'products_owners_in_group';
    END IF;
    RETURN OLD;
END $$;


--
-- Name: networth_statements_immutable(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.networth_statements_immutable() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('wealthdesk.networth_statement_retention', true) = 'delete' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'net worth statements are immutable: % refused', TG_OP
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'networth_statements_immutable',
              HINT = 'A retention run deletes in a transaction that sets wealthdesk.networth_statement_retention '
                     'to ''delete'' (docs/domain.md); nothing changes a statement.';
END $$;


--
-- Name: objective_contributions_refuse_future(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.objective_contributions_refuse_future() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.contribution_date > CURRENT_DATE THEN
        RAISE EXCEPTION 'contribution date % is in the future', NEW.contribution_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'objective_contributions_not_future';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: objective_links_check(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.objective_links_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    goal_group uuid;
    product_group uuid;
    product_kind text := 'asset';
BEGIN
    SELECT o.client_group_id INTO goal_group FROM objectives o WHERE o.id = NEW.objective_id;
    IF TG_TABLE_NAME = 'objective_products' THEN
        SELECT p.client_group_id INTO product_group FROM products p WHERE p.id = NEW.product_id;
    ELSE
        SELECT u.client_group_id, u.kind INTO product_group, product_kind
        FROM unmanaged_products u WHERE u.id = NEW.unmanaged_product_id;
    END IF;
    IF goal_group IS DISTINCT FROM product_group THEN
        RAISE EXCEPTION 'a goal links only products of its own household'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'objective_links_same_household';
    END IF;
    IF product_kind <> 'asset' THEN
        RAISE EXCEPTION 'a goal links only assets, not liabilities'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'objective_links_assets_only';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: ownership_first_outsider(uuid, jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.ownership_first_outsider(p_group uuid, p_ownership jsonb) RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT o FROM unnest(ownership_owner_ids(p_ownership)) AS o
          WHERE NOT EXISTS (SELECT 1 FROM client_group_product_owners m
                            WHERE m.client_group_id = p_group AND m.product_owner_id = o)
          LIMIT 1 $$;


--
-- Name: ownership_household_share(jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.ownership_household_share(o jsonb) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE o ->> 'association_type'
              WHEN 'individual' THEN 100::numeric
              WHEN 'tenants_in_common' THEN (SELECT coalesce(sum(s.value::numeric), 0)
                                             FROM jsonb_each_text(o -> 'shares') AS s)
              WHEN 'joint' THEN (o ->> 'collective_percentage')::numeric
              ELSE 0::numeric END $$;


--
-- Name: ownership_is_valid(jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.ownership_is_valid(o jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    kind text;
    total numeric := 0;
    entry record;
    owners jsonb;
BEGIN
    IF o IS NULL OR jsonb_typeof(o) <> 'object' THEN
        RETURN false;
    END IF;
    kind := o ->> 'association_type';
    IF kind = 'individual' THEN
        RETURN (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(o) AS k) = ARRAY['association_type', 'product_owner_id']
               AND jsonb_typeof(o -> 'product_owner_id') = 'string' AND is_uuid_text(o ->> 'product_owner_id');
    ELSIF kind = 'tenants_in_common' THEN
        IF (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(o) AS k) <> ARRAY['association_type', 'shares']
           OR jsonb_typeof(o -> 'shares') <> 'object' OR o -> 'shares' = '{}'::jsonb THEN
            RETURN false;
        END IF;
        FOR entry IN SELECT key, value FROM jsonb_each(o -> 'shares') LOOP
            IF NOT is_uuid_text(entry.key) OR NOT ownership_percentage_is_valid(entry.value) THEN
                RETURN false;
            END IF;
            total := total + (entry.value #>> '{}')::numeric;
        END LOOP;
        RETURN total <= 100;
    ELSIF kind = 'joint' THEN
        owners := o -> 'joint_owners';
        IF (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(o) AS k)
               <> ARRAY['association_type', 'collective_percentage', 'joint_owners']
           OR jsonb_typeof(owners) <> 'array' OR jsonb_array_length(owners) < 2
           OR NOT ownership_percentage_is_valid(o -> 'collective_percentage') THEN
            RETURN false;
        END IF;
        RETURN (SELECT bool_and(jsonb_typeof(v) = 'string' AND is_uuid_text(v #>> '{}'))
                       AND count(DISTINCT v) = count(*)
                FROM jsonb_array_elements(owners) AS v);
    END IF;
    RETURN false;
END $$;


--
-- Name: ownership_owner_ids(jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.ownership_owner_ids(o jsonb) RETURNS uuid[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE o ->> 'association_type'
              WHEN 'individual' THEN ARRAY[(o ->> 'product_owner_id')::uuid]
              WHEN 'tenants_in_common' THEN ARRAY(SELECT k::uuid FROM jsonb_object_keys(o -> 'shares') AS k)
              WHEN 'joint' THEN ARRAY(SELECT v::uuid FROM jsonb_array_elements_text(o -> 'joint_owners') AS v)
              ELSE ARRAY[]::uuid[] END $$;


--
-- Name: ownership_percentage_is_valid(jsonb); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.ownership_percentage_is_valid(value jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $_$ SELECT jsonb_typeof(value) = 'string'
                 AND (value #>> '{}') ~ '^[0-9]{1,3}(\.[0-9]{1,2})?$'
                 AND (value #>> '{}')::numeric > 0 AND (value #>> '{}')::numeric <= 100 $_$;


--
-- Name: plan_runs_guard(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.plan_runs_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
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


--
-- Name: plans_check_cma(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.plans_check_cma() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM cma_sets c WHERE c.id = NEW.cma_set_id AND c.status = 'approved') THEN
        RAISE EXCEPTION 'CMA set % is not approved: a plan uses approved assumptions only', NEW.cma_set_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'plans_cma_approved';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: plans_immutable(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.plans_immutable() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('wealthdesk.plan_retention', true) = 'delete' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'plan versions are immutable: % refused', TG_OP
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'plans_immutable',
              HINT = 'An edit is a new version (POST /v1/plans/{id}/versions); nothing changes a version.';
END $$;


--
-- Name: portfolio_fund_dates(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.portfolio_fund_dates() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF (TG_OP = 'INSERT' OR NEW.start_date <> OLD.start_date OR NEW.product_id <> OLD.product_id)
       AND NEW.start_date < (SELECT p.start_date FROM products p WHERE p.id = NEW.product_id FOR SHARE) THEN
        RAISE EXCEPTION 'portfolio fund % starts on %, before its product', NEW.id, NEW.start_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'portfolio_funds_within_product_dates';
    END IF;
    IF TG_OP = 'UPDATE' AND (
        (NEW.start_date > OLD.start_date AND (
            EXISTS (SELECT 1 FROM fund_valuations v WHERE v.portfolio_fund_id = NEW.id
                    AND v.valuation_date < NEW.start_date AND v.valuation_date >= OLD.start_date)
            OR EXISTS (SELECT 1 FROM holding_activity a WHERE a.portfolio_fund_id = NEW.id
                       AND a.activity_date < NEW.start_date AND a.activity_date >= OLD.start_date)))
        OR (NEW.end_date < coalesce(OLD.end_date, 'infinity') AND (
            EXISTS (SELECT 1 FROM fund_valuations v WHERE v.portfolio_fund_id = NEW.id
                    AND v.valuation_date > NEW.end_date)
            OR EXISTS (SELECT 1 FROM holding_activity a WHERE a.portfolio_fund_id = NEW.id
                       AND a.activity_date > NEW.end_date)))) THEN
        RAISE EXCEPTION 'portfolio fund % has valuations or cash flows outside % to %', NEW.id, NEW.start_date,
            coalesce(NEW.end_date::text, 'open')
            USING ERRCODE = 'check_violation', CONSTRAINT = 'portfolio_funds_around_their_rows';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: portfolio_fund_keeps_its_product(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.portfolio_fund_keeps_its_product() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.product_id <> OLD.product_id THEN
        RAISE EXCEPTION 'a portfolio fund cannot move to another product' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: portfolio_funds_aggregate(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.portfolio_funds_aggregate() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    products uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.product_id) INTO products FROM new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.product_id) INTO products FROM old_rows o;
    ELSE  -- a fund never moves to another product (0008), so the new rows name the products
        SELECT array_agg(DISTINCT n.product_id) INTO products
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.fund_id, n.start_date, n.end_date) IS DISTINCT FROM (o.fund_id, o.start_date, o.end_date);
    END IF;
    IF products IS NOT NULL THEN
        PERFORM portfolio_valuations_refresh(products, array_fill(NULL::date, ARRAY[cardinality(products)]));
    END IF;
    RETURN NULL;
END $$;


--
-- Name: portfolio_funds_lock_product(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.portfolio_funds_lock_product() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM 1 FROM products p WHERE p.id = NEW.product_id FOR NO KEY UPDATE;
    RETURN NEW;
END $$;


--
-- Name: portfolio_models_check_set(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.portfolio_models_check_set() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM cma_sets c WHERE c.id = NEW.cma_set_id AND c.status = 'approved') THEN
        RAISE EXCEPTION 'CMA set % is not approved: a portfolio model uses approved assumptions only', NEW.cma_set_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'portfolio_models_set_approved';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: portfolio_models_check_weights(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.portfolio_models_check_weights() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    m uuid;
    total numeric;
BEGIN
    IF TG_TABLE_NAME = 'portfolio_models' THEN
        m := NEW.id;
    ELSE
        m := coalesce(NEW.portfolio_model_id, OLD.portfolio_model_id);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM portfolio_models WHERE id = m) THEN
        RETURN NULL;  -- the model itself was deleted
    END IF;
    SELECT sum(weight) INTO total FROM portfolio_model_allocations WHERE portfolio_model_id = m;
    IF total IS DISTINCT FROM 100.00 THEN
        RAISE EXCEPTION 'the weights of portfolio model % sum to %, not 100.00', m, coalesce(total, 0)
            USING ERRCODE = 'check_violation', CONSTRAINT = 'portfolio_model_weights_sum_100';
    END IF;
    RETURN NULL;
END $$;


--
-- Name: portfolio_valuations_fum(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.portfolio_valuations_fum() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    groups uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT p.client_group_id) INTO groups
        FROM (SELECT DISTINCT n.product_id FROM new_rows n) t JOIN products p ON p.id = t.product_id;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT p.client_group_id) INTO groups
        FROM (SELECT DISTINCT o.product_id FROM old_rows o) t JOIN products p ON p.id = t.product_id;
    ELSE
        SELECT array_agg(DISTINCT p.client_group_id) INTO groups
        FROM ((SELECT product_id, valuation_date, value FROM new_rows
               EXCEPT SELECT product_id, valuation_date, value FROM old_rows)
              UNION
              (SELECT product_id, valuation_date, value FROM old_rows
               EXCEPT SELECT product_id, valuation_date, value FROM new_rows)) c
        JOIN products p ON p.id = c.product_id;
    END IF;
    IF groups IS NOT NULL THEN
        PERFORM client_group_fum_refresh(groups);
    END IF;
    RETURN NULL;
END $$;


--
-- Name: portfolio_valuations_refresh(uuid[], date[]); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.portfolio_valuations_refresh(p_products uuid[], p_dates date[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    product uuid;
    days date[];
BEGIN
    PERFORM 1 FROM products p WHERE p.id = ANY (p_products) ORDER BY p.id FOR NO KEY UPDATE;
    FOR product, days IN
        SELECT u.product, CASE WHEN bool_or(u.day IS NULL) THEN NULL ELSE array_agg(DISTINCT u.day) END
        FROM unnest(p_products, p_dates) AS u(product, day)
        GROUP BY u.product ORDER BY u.product
    LOOP
        PERFORM refresh_portfolio_valuations(product, days);
    END LOOP;
END $$;


--
-- Name: product_ends_after_its_rows(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.product_ends_after_its_rows() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM portfolio_funds a JOIN fund_valuations v ON v.portfolio_fund_id = a.id
               WHERE a.product_id = NEW.id AND v.valuation_date > NEW.end_date)
       OR EXISTS (SELECT 1 FROM portfolio_funds a JOIN holding_activity h ON h.portfolio_fund_id = a.id
                  WHERE a.product_id = NEW.id AND h.activity_date > NEW.end_date) THEN
        RAISE EXCEPTION 'product % has valuations or cash flows after %', NEW.id, NEW.end_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_end_after_their_rows';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: product_flows_add(uuid[], date[], numeric[], integer[]); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.product_flows_add(funds uuid[], dates date[], amounts numeric[], counts integer[]) RETURNS void
    LANGUAGE sql
    AS $$
    WITH delta AS (
        SELECT pf.firm_id, pf.product_id, u.flow_date, sum(u.amount) AS amount, sum(u.n)::integer AS n
        FROM unnest(funds, dates, amounts, counts) AS u(fund, flow_date, amount, n)
        JOIN portfolio_funds pf ON pf.id = u.fund
        GROUP BY pf.firm_id, pf.product_id, u.flow_date
    ), updated AS (
        UPDATE product_flows f SET amount = f.amount + d.amount, activities = f.activities + d.n
        FROM delta d WHERE f.product_id = d.product_id AND f.flow_date = d.flow_date
        RETURNING f.product_id, f.flow_date
    )
    INSERT INTO product_flows AS f (firm_id, product_id, flow_date, amount, activities)
    SELECT d.firm_id, d.product_id, d.flow_date, d.amount, d.n FROM delta d
    WHERE NOT EXISTS (SELECT 1 FROM updated x WHERE x.product_id = d.product_id AND x.flow_date = d.flow_date)
    ORDER BY d.product_id, d.flow_date
    ON CONFLICT (product_id, flow_date) DO UPDATE
        SET amount = f.amount + EXCLUDED.amount, activities = f.activities + EXCLUDED.activities;

    DELETE FROM product_flows f
    WHERE f.activities = 0 AND (f.product_id, f.flow_date) IN (
        SELECT pf.product_id, u.flow_date FROM unnest(funds, dates) AS u(fund, flow_date)
        JOIN portfolio_funds pf ON pf.id = u.fund);
$$;


--
-- Name: product_revenue(numeric, numeric, numeric, numeric); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.product_revenue(fixed_direct numeric, fixed_facilitated numeric, percentage numeric, value numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT round(fixed_direct + fixed_facilitated + coalesce(value, 0) * percentage / 100, 2) $$;


--
-- Name: product_starts_before_its_funds(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.product_starts_before_its_funds() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    first date;
BEGIN
    SELECT min(a.start_date) INTO first FROM portfolio_funds a WHERE a.product_id = NEW.id;
    IF first < NEW.start_date THEN
        RAISE EXCEPTION 'product % has a portfolio fund starting on %, before %', NEW.id, first, NEW.start_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_start_before_their_funds';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: products_check_owners(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.products_check_owners() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    missing uuid;
BEGIN
    IF NOT coalesce(ownership_is_valid(NEW.ownership), false) THEN
        RETURN NEW;  -- not one of the three forms: the table's ownership CHECK refuses the row
    END IF;
    missing := ownership_first_outsider(NEW.client_group_id, NEW.ownership);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'product owner % does not belong to client group %', missing, NEW.client_group_id
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_owners_in_group';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: products_fum(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.products_fum() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    groups uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.client_group_id) INTO groups FROM new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.client_group_id) INTO groups FROM old_rows o;
    ELSE  -- only a change of status or of household moves money (an edit of the name or fees does not)
        SELECT array_agg(DISTINCT x.g) INTO groups
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL (VALUES (n.client_group_id), (o.client_group_id)) AS x(g)
        WHERE (n.status, n.client_group_id) IS DISTINCT FROM (o.status, o.client_group_id);
    END IF;
    IF groups IS NOT NULL THEN
        PERFORM client_group_fum_refresh(groups);
    END IF;
    RETURN NULL;
END $$;


--
-- Name: rate_count(text, text, integer, integer, integer); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.rate_count(p_principal text, p_bucket text, p_limit integer, p_window integer, p_scale integer) RETURNS TABLE(rate_limit integer, rate_used integer, rate_reset integer)
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_start timestamptz;
    v_end timestamptz;
    v_inserted boolean;
BEGIN
    IF p_limit IS NULL OR p_window IS NULL THEN
        RAISE EXCEPTION 'no rate limit for bucket %', p_bucket;
    END IF;
    rate_limit := least(p_limit::bigint * least(greatest(coalesce(p_scale, 1), 1), 1000000), 2000000000)::integer;
    v_start := to_timestamp(floor(extract(epoch FROM now()) / p_window) * p_window);
    v_end := v_start + make_interval(secs => p_window);
    WITH mine AS (
        INSERT INTO public.rate_counters AS c (principal, bucket, window_start, pid, count, expires_at)
        VALUES (p_principal, p_bucket, v_start, pg_backend_pid(), 1, v_end)
        ON CONFLICT (principal, bucket, window_start, pid) DO UPDATE SET count = c.count + 1
        RETURNING c.count, c.xmax = 0 AS inserted)
    SELECT mine.count + coalesce((SELECT sum(o.count) FROM public.rate_counters o
                                  WHERE o.principal = p_principal AND o.bucket = p_bucket
                                    AND o.window_start = v_start AND o.pid <> pg_backend_pid()), 0),
           mine.inserted
      INTO rate_used, v_inserted FROM mine;
    IF v_inserted THEN
        DELETE FROM public.rate_counters c
         WHERE c.ctid = ANY (ARRAY(SELECT x.ctid FROM public.rate_counters x WHERE x.expires_at <= now()
                                   ORDER BY x.expires_at LIMIT 100 FOR UPDATE SKIP LOCKED));
    END IF;
    rate_reset := greatest(ceil(extract(epoch FROM v_end - now())), 1)::integer;
    RETURN NEXT;
END $$;


--
-- Name: rate_count_first(text, text, timestamp with time zone, integer); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.rate_count_first(p_principal text, p_bucket text, p_start timestamp with time zone, p_window integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_count integer;
BEGIN
    INSERT INTO public.rate_counters AS c (principal, bucket, window_start, pid, count, expires_at)
    VALUES (p_principal, p_bucket, p_start, pg_catalog.pg_backend_pid(), 1,
            p_start OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => p_window))
    ON CONFLICT (principal, bucket, window_start, pid) DO UPDATE SET count = c.count OPERATOR(pg_catalog.+) 1
    RETURNING c.count INTO v_count;
    DELETE FROM public.rate_counters c
     WHERE c.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(
        SELECT x.ctid FROM public.rate_counters x WHERE x.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()
         ORDER BY x.expires_at LIMIT 100 FOR UPDATE SKIP LOCKED));
    RETURN v_count OPERATOR(pg_catalog.+) coalesce(
        (SELECT pg_catalog.sum(o.count) FROM public.rate_counters o
          WHERE o.principal OPERATOR(pg_catalog.=) p_principal AND o.bucket OPERATOR(pg_catalog.=) p_bucket
            AND o.window_start OPERATOR(pg_catalog.=) p_start
            AND o.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()), 0)::integer;
END $$;


--
-- Name: rate_limit_tiers; Type: TABLE; Schema: public
--

CREATE TABLE public.rate_limit_tiers (
    tier text NOT NULL,
    window_seconds integer DEFAULT 60 NOT NULL,
    default_requests integer NOT NULL,
    bulk_requests integer NOT NULL,
    auth_requests integer NOT NULL,
    source_requests integer NOT NULL,
    CONSTRAINT rate_limit_tiers_auth_requests_check CHECK ((auth_requests > 0)),
    CONSTRAINT rate_limit_tiers_bulk_requests_check CHECK ((bulk_requests > 0)),
    CONSTRAINT rate_limit_tiers_default_requests_check CHECK ((default_requests > 0)),
    CONSTRAINT rate_limit_tiers_source_requests_check CHECK ((source_requests > 0)),
    CONSTRAINT rate_limit_tiers_tier_check CHECK ((tier ~ '^[a-z][a-z0-9_]{0,29}$'::text)),
    CONSTRAINT rate_limit_tiers_window_seconds_check CHECK (((window_seconds >= 1) AND (window_seconds <= 3600)))
);


--
-- Name: rate_limit_figure(public.rate_limit_tiers, text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.rate_limit_figure(t public.rate_limit_tiers, p_bucket text) RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE p_bucket WHEN 'default' THEN t.default_requests WHEN 'bulk' THEN t.bulk_requests
                               WHEN 'auth' THEN t.auth_requests WHEN 'source' THEN t.source_requests END $$;


--
-- Name: refresh_portfolio_valuations(uuid, date[]); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.refresh_portfolio_valuations(p_product uuid, p_dates date[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    written integer;
BEGIN
    DELETE FROM portfolio_valuations
    WHERE product_id = p_product AND (p_dates IS NULL OR valuation_date = ANY (p_dates));
    INSERT INTO portfolio_valuations (firm_id, product_id, valuation_date, value)
    SELECT pf.firm_id, pf.product_id, v.valuation_date, sum(v.value)
    FROM fund_valuations v JOIN portfolio_funds pf ON pf.id = v.portfolio_fund_id
    WHERE pf.product_id = p_product AND (p_dates IS NULL OR v.valuation_date = ANY (p_dates))
    GROUP BY pf.firm_id, pf.product_id, v.valuation_date
    HAVING NOT EXISTS (
        SELECT 1 FROM portfolio_funds a JOIN funds f ON f.id = a.fund_id
        WHERE a.product_id = p_product AND NOT f.is_cash
          AND a.start_date <= v.valuation_date AND (a.end_date IS NULL OR a.end_date >= v.valuation_date)
          AND NOT EXISTS (SELECT 1 FROM fund_valuations fv
                          WHERE fv.portfolio_fund_id = a.id AND fv.valuation_date = v.valuation_date));
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;


--
-- Name: retention_default_policies(uuid); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.retention_default_policies(p_firm uuid) RETURNS integer
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


--
-- Name: retention_period_covers(interval, integer); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.retention_period_covers(p interval, years integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT extract(year FROM p) * 12 + extract(month FROM p) >= years * 12
                 OR extract(day FROM p) >= years * 365 + (years + 3) / 4 $$;


--
-- Name: retention_period_is_valid(interval); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.retention_period_is_valid(p interval) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT date_trunc('day', p) = p
                 AND ((extract(year FROM p) * 12 + extract(month FROM p) > 0 AND extract(day FROM p) = 0)
                      OR (extract(year FROM p) * 12 + extract(month FROM p) = 0 AND extract(day FROM p) > 0)) $$;


--
-- Name: retention_period_text(interval); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.retention_period_text(p interval) RETURNS text
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


--
-- Name: touch_updated_at(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;


--
-- Name: unmanaged_current_value(uuid); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.unmanaged_current_value(p_product uuid, OUT value numeric, OUT valuation_date date) RETURNS record
    LANGUAGE sql STABLE
    AS $$ SELECT v.value, v.valuation_date FROM unmanaged_valuations v WHERE v.unmanaged_product_id = p_product
          ORDER BY v.valuation_date DESC LIMIT 1 $$;


--
-- Name: unmanaged_products_linked_kind_check(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.unmanaged_products_linked_kind_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.kind <> 'asset' AND EXISTS (SELECT 1 FROM objective_unmanaged_products l
                                       WHERE l.unmanaged_product_id = NEW.id) THEN
        RAISE EXCEPTION 'unmanaged product % is linked to a goal and must stay an asset', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'objective_links_assets_only';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: unmanaged_products_set_current_value(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.unmanaged_products_set_current_value() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    SELECT c.value, c.valuation_date INTO NEW.current_value, NEW.current_value_date
    FROM unmanaged_current_value(NEW.id) AS c;
    RETURN NEW;
END $$;


--
-- Name: unmanaged_valuations_current_value(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.unmanaged_valuations_current_value() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    touched uuid[];
BEGIN
    -- Transition tables exist only for the trigger's own event, so each event has its own query.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.unmanaged_product_id) INTO touched FROM new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.unmanaged_product_id) INTO touched FROM old_rows o;
    ELSE
        SELECT array_agg(DISTINCT t.p) INTO touched
        FROM (SELECT n.unmanaged_product_id AS p FROM new_rows n
              UNION SELECT o.unmanaged_product_id FROM old_rows o) t;
    END IF;
    PERFORM 1 FROM unmanaged_products p WHERE p.id = ANY (touched) ORDER BY p.id FOR NO KEY UPDATE;
    UPDATE unmanaged_products p SET (current_value, current_value_date) = (
        SELECT c.value, c.valuation_date FROM unmanaged_current_value(p.id) AS c)
    WHERE p.id = ANY (touched);
    RETURN NULL;
END $$;


--
-- Name: unmanaged_valuations_refuse_future(); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.unmanaged_valuations_refuse_future() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.valuation_date > CURRENT_DATE THEN
        RAISE EXCEPTION 'valuation date % is in the future', NEW.valuation_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'unmanaged_valuations_not_future';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: view_refreshed_at(text); Type: FUNCTION; Schema: public
--

CREATE FUNCTION public.view_refreshed_at(p_view text) RETURNS timestamp with time zone
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$ SELECT r.refreshed_at FROM view_refreshes r WHERE r.view_name = p_view $$;


--
-- Name: _yoyo_log; Type: TABLE; Schema: public
--

CREATE TABLE public._yoyo_log (
    id character varying(36) NOT NULL,
    migration_hash character varying(64),
    migration_id character varying(255),
    operation character varying(10),
    username character varying(255),
    hostname character varying(255),
    comment character varying(255),
    created_at_utc timestamp without time zone
);


--
-- Name: _yoyo_migration; Type: TABLE; Schema: public
--

CREATE TABLE public._yoyo_migration (
    migration_hash character varying(64) NOT NULL,
    migration_id character varying(255),
    applied_at_utc timestamp without time zone
);


--
-- Name: _yoyo_version; Type: TABLE; Schema: public
--

CREATE TABLE public._yoyo_version (
    version integer NOT NULL,
    installed_at_utc timestamp without time zone
);


--
-- Name: actions; Type: TABLE; Schema: public
--

CREATE TABLE public.actions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    client_group_id uuid NOT NULL,
    action_name text NOT NULL,
    description text,
    owner text NOT NULL,
    status text DEFAULT 'outstanding'::text NOT NULL,
    target_date date,
    completed_at timestamp with time zone,
    target_date_order date GENERATED ALWAYS AS (COALESCE(target_date, '9999-12-31'::date)) STORED NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT actions_action_name_check CHECK (((length(btrim(action_name)) >= 1) AND (length(btrim(action_name)) <= 200))),
    CONSTRAINT actions_completed_when_completed_at CHECK (((status = 'completed'::text) = (completed_at IS NOT NULL))),
    CONSTRAINT actions_description_check CHECK ((length(description) <= 10000)),
    CONSTRAINT actions_owner_check CHECK ((owner = ANY (ARRAY['adviser'::text, 'client'::text]))),
    CONSTRAINT actions_status_check CHECK ((status = ANY (ARRAY['outstanding'::text, 'completed'::text, 'cancelled'::text]))),
    CONSTRAINT actions_target_date_check CHECK (((target_date >= '1900-01-01'::date) AND (target_date <= '2099-12-31'::date))),
    CONSTRAINT actions_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.actions FORCE ROW LEVEL SECURITY;


--
-- Name: api_keys; Type: TABLE; Schema: public
--

CREATE TABLE public.api_keys (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    name text NOT NULL,
    prefix text NOT NULL,
    key_hash bytea NOT NULL,
    scopes text[] NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    revoked_at timestamp with time zone,
    last_used_at timestamp with time zone,
    version integer DEFAULT 1 NOT NULL,
    service boolean DEFAULT false NOT NULL,
    CONSTRAINT api_keys_check CHECK (((expires_at IS NULL) OR (expires_at > created_at))),
    CONSTRAINT api_keys_key_hash_check CHECK ((length(key_hash) = 32)),
    CONSTRAINT api_keys_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT api_keys_prefix_check CHECK ((prefix ~ '^wdk_[A-Za-z0-9]{8}$'::text)),
    CONSTRAINT api_keys_scopes_check CHECK (((cardinality(scopes) >= 1) AND (scopes <@ ARRAY['read'::text, 'write'::text]))),
    CONSTRAINT api_keys_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.api_keys FORCE ROW LEVEL SECURITY;


--
-- Name: audit_events; Type: TABLE; Schema: public
--

CREATE TABLE public.audit_events (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    firm_id uuid NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid,
    action text NOT NULL,
    resource_type text NOT NULL,
    resource_id text NOT NULL,
    before jsonb,
    after jsonb,
    changed_fields text[] DEFAULT '{}'::text[] NOT NULL,
    request_id text,
    ip text,
    user_agent text,
    CONSTRAINT audit_events_action_check CHECK ((action ~ '^[a-z_]+\.[a-z_]+$'::text)),
    CONSTRAINT audit_events_actor_type_check CHECK ((actor_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text])))
)
PARTITION BY RANGE (occurred_at);

ALTER TABLE ONLY public.audit_events FORCE ROW LEVEL SECURITY;


--
-- Name: auth_context; Type: TABLE; Schema: public
--

CREATE UNLOGGED TABLE public.auth_context (
    pid integer NOT NULL,
    xact xid8 NOT NULL,
    firm_id uuid NOT NULL,
    kind public.auth_context_kind NOT NULL,
    principal_id uuid,
    entered_at timestamp with time zone NOT NULL
)
WITH (fillfactor='50');


--
-- Name: backup_verifications; Type: TABLE; Schema: public
--

CREATE TABLE public.backup_verifications (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    backup_id uuid NOT NULL,
    trigger text NOT NULL,
    started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    finished_at timestamp with time zone,
    outcome text,
    stage text,
    reason text,
    figures jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT backup_verifications_check CHECK (((outcome IS NULL) = (finished_at IS NULL))),
    CONSTRAINT backup_verifications_check1 CHECK (((outcome IS DISTINCT FROM 'failed'::text) OR (reason IS NOT NULL))),
    CONSTRAINT backup_verifications_figures_check CHECK ((jsonb_typeof(figures) = 'object'::text)),
    CONSTRAINT backup_verifications_outcome_check CHECK ((outcome = ANY (ARRAY['passed'::text, 'failed'::text]))),
    CONSTRAINT backup_verifications_stage_check CHECK ((stage = ANY (ARRAY['fetch'::text, 'checksum'::text, 'list'::text, 'restore'::text, 'row_counts'::text, 'integrity'::text, 'done'::text]))),
    CONSTRAINT backup_verifications_trigger_check CHECK ((trigger = ANY (ARRAY['schedule'::text, 'manual'::text, 'api'::text])))
);

ALTER TABLE ONLY public.backup_verifications FORCE ROW LEVEL SECURITY;


--
-- Name: backups; Type: TABLE; Schema: public
--

CREATE TABLE public.backups (
    id uuid NOT NULL,
    status text NOT NULL,
    started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    finished_at timestamp with time zone,
    store text NOT NULL,
    object_key text NOT NULL,
    size_bytes bigint,
    sha256 text,
    manifest jsonb,
    error text,
    deleted_at timestamp with time zone,
    CONSTRAINT backups_check CHECK (((status = 'running'::text) = (finished_at IS NULL))),
    CONSTRAINT backups_check1 CHECK (((status = 'deleted'::text) = (deleted_at IS NOT NULL))),
    CONSTRAINT backups_check2 CHECK (((status <> ALL (ARRAY['completed'::text, 'deleted'::text])) OR ((size_bytes IS NOT NULL) AND (sha256 IS NOT NULL) AND (manifest IS NOT NULL)))),
    CONSTRAINT backups_check3 CHECK (((status <> 'failed'::text) OR (error IS NOT NULL))),
    CONSTRAINT backups_manifest_check CHECK (((manifest IS NULL) OR (jsonb_typeof(manifest) = 'object'::text))),
    CONSTRAINT backups_object_key_check CHECK (((length(object_key) >= 1) AND (length(object_key) <= 1024))),
    CONSTRAINT backups_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT backups_size_bytes_check CHECK ((size_bytes >= 0)),
    CONSTRAINT backups_status_check CHECK ((status = ANY (ARRAY['running'::text, 'completed'::text, 'failed'::text, 'deleted'::text]))),
    CONSTRAINT backups_store_check CHECK ((store ~ '^(file|s3)://'::text))
);

ALTER TABLE ONLY public.backups FORCE ROW LEVEL SECURITY;


--
-- Name: client_group_fum; Type: TABLE; Schema: public
--

CREATE TABLE public.client_group_fum (
    firm_id uuid NOT NULL,
    client_group_id uuid NOT NULL,
    funds_under_management numeric(24,2) DEFAULT 0 NOT NULL,
    fum_pennies bigint GENERATED ALWAYS AS (((funds_under_management * (100)::numeric))::bigint) STORED NOT NULL,
    product_count integer DEFAULT 0 NOT NULL,
    latest_valuation_date date,
    CONSTRAINT client_group_fum_funds_under_management_check CHECK (((funds_under_management >= (0)::numeric) AND (funds_under_management < ('90000000000000000'::bigint)::numeric))),
    CONSTRAINT client_group_fum_product_count_check CHECK ((product_count >= 0))
);

ALTER TABLE ONLY public.client_group_fum FORCE ROW LEVEL SECURITY;


--
-- Name: client_group_product_owners; Type: TABLE; Schema: public
--

CREATE TABLE public.client_group_product_owners (
    firm_id uuid NOT NULL,
    client_group_id uuid NOT NULL,
    product_owner_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY public.client_group_product_owners FORCE ROW LEVEL SECURITY;


--
-- Name: client_groups; Type: TABLE; Schema: public
--

CREATE TABLE public.client_groups (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    name text NOT NULL,
    type text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    adviser_id uuid,
    notes text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT client_groups_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT client_groups_notes_check CHECK ((length(notes) <= 10000)),
    CONSTRAINT client_groups_status_check CHECK ((status = ANY (ARRAY['active'::text, 'dormant'::text, 'inactive'::text]))),
    CONSTRAINT client_groups_type_check CHECK ((type = ANY (ARRAY['individual'::text, 'couple'::text, 'family'::text, 'trust'::text, 'corporate'::text]))),
    CONSTRAINT client_groups_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.client_groups FORCE ROW LEVEL SECURITY;


--
-- Name: portfolio_valuations; Type: TABLE; Schema: public
--

CREATE TABLE public.portfolio_valuations (
    firm_id uuid NOT NULL,
    product_id uuid NOT NULL,
    valuation_date date NOT NULL,
    value numeric(18,2) NOT NULL,
    CONSTRAINT portfolio_valuations_value_check CHECK ((value >= (0)::numeric))
);

ALTER TABLE ONLY public.portfolio_valuations FORCE ROW LEVEL SECURITY;


--
-- Name: products; Type: TABLE; Schema: public
--

CREATE TABLE public.products (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    client_group_id uuid NOT NULL,
    name text NOT NULL,
    product_type text NOT NULL,
    provider_id uuid,
    plan_number text,
    start_date date NOT NULL,
    end_date date,
    notes text,
    currency character(3) DEFAULT 'GBP'::bpchar NOT NULL,
    fixed_fee_direct numeric(18,2) DEFAULT 0 NOT NULL,
    fixed_fee_facilitated numeric(18,2) DEFAULT 0 NOT NULL,
    percentage_fee_facilitated numeric(7,4) DEFAULT 0 NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    ownership jsonb NOT NULL,
    template_generation_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT products_check CHECK (((end_date IS NULL) OR (end_date >= start_date))),
    CONSTRAINT products_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT products_fixed_fee_direct_check CHECK ((fixed_fee_direct >= (0)::numeric)),
    CONSTRAINT products_fixed_fee_facilitated_check CHECK ((fixed_fee_facilitated >= (0)::numeric)),
    CONSTRAINT products_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT products_notes_check CHECK ((length(notes) <= 10000)),
    CONSTRAINT products_ownership_check CHECK (public.ownership_is_valid(ownership)),
    CONSTRAINT products_percentage_fee_facilitated_check CHECK (((percentage_fee_facilitated >= (0)::numeric) AND (percentage_fee_facilitated <= (100)::numeric))),
    CONSTRAINT products_plan_number_check CHECK ((length(plan_number) <= 100)),
    CONSTRAINT products_product_type_check CHECK ((product_type = ANY (ARRAY['gia'::text, 'stocks_and_shares_isa'::text, 'cash_isa'::text, 'bank_account'::text, 'pension'::text, 'offshore_bond'::text, 'onshore_bond'::text, 'individual_shares'::text, 'property'::text, 'other'::text]))),
    CONSTRAINT products_status_check CHECK ((status = ANY (ARRAY['active'::text, 'lapsed'::text]))),
    CONSTRAINT products_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.products FORCE ROW LEVEL SECURITY;


--
-- Name: template_generations; Type: TABLE; Schema: public
--

CREATE TABLE public.template_generations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    template_id uuid NOT NULL,
    generation integer NOT NULL,
    name text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT template_generations_generation_check CHECK ((generation >= 1)),
    CONSTRAINT template_generations_name_check CHECK ((length(name) <= 200))
);

ALTER TABLE ONLY public.template_generations FORCE ROW LEVEL SECURITY;


--
-- Name: product_positions_now; Type: VIEW; Schema: public
--

CREATE VIEW public.product_positions_now WITH (security_invoker='true') AS
 SELECT p.firm_id,
    p.id AS product_id,
    p.client_group_id,
    p.provider_id,
    p.product_type,
    p.status,
    g.adviser_id,
    tg.template_id,
    v.valuation_date,
    COALESCE(v.value, (0)::numeric) AS value,
    public.product_revenue(p.fixed_fee_direct, p.fixed_fee_facilitated, p.percentage_fee_facilitated, v.value) AS revenue
   FROM (((public.products p
     JOIN public.client_groups g ON ((g.id = p.client_group_id)))
     LEFT JOIN public.template_generations tg ON ((tg.id = p.template_generation_id)))
     LEFT JOIN LATERAL ( SELECT pv.valuation_date,
            pv.value
           FROM public.portfolio_valuations pv
          WHERE (pv.product_id = p.id)
          ORDER BY pv.valuation_date DESC
         LIMIT 1) v ON (true));


--
-- Name: mv_product_positions; Type: MATERIALIZED VIEW; Schema: public
--

CREATE MATERIALIZED VIEW public.mv_product_positions AS
 SELECT firm_id,
    product_id,
    client_group_id,
    provider_id,
    product_type,
    status,
    adviser_id,
    template_id,
    valuation_date,
    value,
    revenue
   FROM public.product_positions_now
  WITH NO DATA;


--
-- Name: mv_client_group_summary; Type: MATERIALIZED VIEW; Schema: public
--

CREATE MATERIALIZED VIEW public.mv_client_group_summary AS
 SELECT g.firm_id,
    g.id AS client_group_id,
    g.name,
    g.adviser_id,
    COALESCE(sum(pp.value) FILTER (WHERE (pp.status = 'active'::text)), (0)::numeric) AS funds_under_management,
    COALESCE(sum(pp.revenue) FILTER (WHERE (pp.status = 'active'::text)), (0)::numeric) AS revenue,
    count(pp.product_id) FILTER (WHERE (pp.status = 'active'::text)) AS active_products,
    count(pp.product_id) FILTER (WHERE (pp.status = 'lapsed'::text)) AS lapsed_products,
    max(pp.valuation_date) AS latest_valuation_date
   FROM (public.client_groups g
     LEFT JOIN public.mv_product_positions pp ON ((pp.client_group_id = g.id)))
  GROUP BY g.firm_id, g.id, g.name, g.adviser_id
  WITH NO DATA;


--
-- Name: view_refreshes; Type: TABLE; Schema: public
--

CREATE TABLE public.view_refreshes (
    view_name text NOT NULL,
    refreshed_at timestamp with time zone NOT NULL
);


--
-- Name: client_group_summaries; Type: VIEW; Schema: public
--

CREATE VIEW public.client_group_summaries WITH (security_barrier='true') AS
 SELECT s.firm_id,
    s.client_group_id,
    s.name,
    s.adviser_id,
    s.funds_under_management,
    s.revenue,
    s.active_products,
    s.lapsed_products,
    s.latest_valuation_date,
    r.refreshed_at
   FROM (public.mv_client_group_summary s
     JOIN public.view_refreshes r ON ((r.view_name = 'mv_client_group_summary'::text)))
  WHERE (s.firm_id = ( SELECT public.current_firm_id() AS current_firm_id));


--
-- Name: cma_asset_classes; Type: TABLE; Schema: public
--

CREATE TABLE public.cma_asset_classes (
    firm_id uuid NOT NULL,
    cma_set_id uuid NOT NULL,
    "position" smallint NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    expected_return numeric(9,6) NOT NULL,
    volatility numeric(9,6) NOT NULL,
    CONSTRAINT cma_asset_classes_code_check CHECK ((code ~ '^[a-z][a-z0-9_]{0,39}$'::text)),
    CONSTRAINT cma_asset_classes_expected_return_check CHECK (((expected_return >= ('-1'::integer)::numeric) AND (expected_return <= (1)::numeric))),
    CONSTRAINT cma_asset_classes_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT cma_asset_classes_position_check CHECK ((("position" >= 1) AND ("position" <= 50))),
    CONSTRAINT cma_asset_classes_volatility_check CHECK (((volatility >= (0)::numeric) AND (volatility <= (2)::numeric)))
);

ALTER TABLE ONLY public.cma_asset_classes FORCE ROW LEVEL SECURITY;


--
-- Name: cma_sets; Type: TABLE; Schema: public
--

CREATE TABLE public.cma_sets (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    name text NOT NULL,
    root_id uuid NOT NULL,
    parent_id uuid,
    set_version integer NOT NULL,
    effective_date date NOT NULL,
    inflation numeric(9,6) NOT NULL,
    correlations numeric(7,6)[] NOT NULL,
    status text DEFAULT 'draft'::text NOT NULL,
    approved_by uuid,
    approved_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT cma_sets_check CHECK (((status = 'approved'::text) = ((approved_at IS NOT NULL) AND (approved_by IS NOT NULL)))),
    CONSTRAINT cma_sets_check1 CHECK (((set_version = 1) = (parent_id IS NULL))),
    CONSTRAINT cma_sets_check2 CHECK (((set_version > 1) OR (root_id = id))),
    CONSTRAINT cma_sets_correlations_check CHECK (public.cma_correlations_valid(correlations)),
    CONSTRAINT cma_sets_effective_date_check CHECK (((effective_date >= '1900-01-01'::date) AND (effective_date <= '2099-12-31'::date))),
    CONSTRAINT cma_sets_inflation_check CHECK (((inflation >= '-0.5'::numeric) AND (inflation <= (1)::numeric))),
    CONSTRAINT cma_sets_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT cma_sets_set_version_check CHECK ((set_version >= 1)),
    CONSTRAINT cma_sets_status_check CHECK ((status = ANY (ARRAY['draft'::text, 'approved'::text]))),
    CONSTRAINT cma_sets_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.cma_sets FORCE ROW LEVEL SECURITY;


--
-- Name: dashboard_writes; Type: TABLE; Schema: public
--

CREATE TABLE public.dashboard_writes (
    id bigint NOT NULL,
    firm_id uuid NOT NULL,
    xid xid8 DEFAULT pg_current_xact_id() NOT NULL,
    written_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY public.dashboard_writes FORCE ROW LEVEL SECURITY;


--
-- Name: dashboard_writes_id_seq; Type: SEQUENCE; Schema: public
--

ALTER TABLE public.dashboard_writes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.dashboard_writes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: data_retention_policies; Type: TABLE; Schema: public
--

CREATE TABLE public.data_retention_policies (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    table_name text NOT NULL,
    condition text NOT NULL,
    period interval,
    action text NOT NULL,
    schedule text DEFAULT 'daily'::text NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    last_completed_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT data_retention_policies_action_check CHECK ((action = ANY (ARRAY['keep'::text, 'delete'::text, 'archive'::text, 'anonymize'::text]))),
    CONSTRAINT data_retention_policies_action_fits CHECK (((action = 'keep'::text) OR ((table_name = ANY (ARRAY['audit_events'::text, 'notifications'::text, 'plans'::text])) AND (action = ANY (ARRAY['delete'::text, 'archive'::text]))) OR ((table_name = 'sessions'::text) AND (action = ANY (ARRAY['delete'::text, 'archive'::text, 'anonymize'::text]))))),
    CONSTRAINT data_retention_policies_audit_floor CHECK (((table_name <> 'audit_events'::text) OR (period IS NULL) OR public.retention_period_covers(period, 7))),
    CONSTRAINT data_retention_policies_keep_has_no_period CHECK (((action = 'keep'::text) = (period IS NULL))),
    CONSTRAINT data_retention_policies_known_condition CHECK ((((((((((table_name = 'audit_events'::text) AND (condition = 'other'::text)) OR ((table_name = 'audit_events'::text) AND (condition = 'security'::text))) OR ((table_name = 'sessions'::text) AND (condition = 'expired'::text))) OR ((table_name = 'sessions'::text) AND (condition = 'revoked'::text))) OR ((table_name = 'notifications'::text) AND (condition = 'any'::text))) OR ((table_name = 'notifications'::text) AND (condition = 'read'::text))) OR ((table_name = 'networth_statements'::text) AND (condition = 'any'::text))) OR ((table_name = 'plans'::text) AND (condition = 'draft'::text)))),
    CONSTRAINT data_retention_policies_period_check CHECK (((period IS NULL) OR public.retention_period_is_valid(period))),
    CONSTRAINT data_retention_policies_schedule_check CHECK ((schedule = ANY (ARRAY['daily'::text, 'weekly'::text]))),
    CONSTRAINT data_retention_policies_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.data_retention_policies FORCE ROW LEVEL SECURITY;


--
-- Name: firms; Type: TABLE; Schema: public
--

CREATE TABLE public.firms (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    base_currency character(3) DEFAULT 'GBP'::bpchar NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    require_two_factor boolean DEFAULT false NOT NULL,
    rate_limit_tier text DEFAULT 'standard'::text NOT NULL,
    plan_success_threshold numeric(5,4) DEFAULT 0.80 NOT NULL,
    CONSTRAINT firms_base_currency_check CHECK ((base_currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT firms_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT firms_plan_success_threshold_check CHECK (((plan_success_threshold >= 0.5) AND (plan_success_threshold <= 0.99))),
    CONSTRAINT firms_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.firms FORCE ROW LEVEL SECURITY;


--
-- Name: portfolio_funds; Type: TABLE; Schema: public
--

CREATE TABLE public.portfolio_funds (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    product_id uuid NOT NULL,
    fund_id uuid NOT NULL,
    target_weighting numeric(5,2),
    start_date date NOT NULL,
    end_date date,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT portfolio_funds_check CHECK (((end_date IS NULL) OR (end_date >= start_date))),
    CONSTRAINT portfolio_funds_target_weighting_check CHECK (((target_weighting >= (0)::numeric) AND (target_weighting <= (100)::numeric))),
    CONSTRAINT portfolio_funds_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.portfolio_funds FORCE ROW LEVEL SECURITY;


--
-- Name: product_owners; Type: TABLE; Schema: public
--

CREATE TABLE public.product_owners (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    first_name text NOT NULL,
    surname text NOT NULL,
    known_as text,
    date_of_birth date,
    email text,
    phone text,
    status text DEFAULT 'active'::text NOT NULL,
    inception_date date DEFAULT CURRENT_DATE NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    retention_hold boolean DEFAULT false NOT NULL,
    erased_at timestamp with time zone,
    CONSTRAINT product_owners_date_of_birth_check CHECK ((date_of_birth >= '1900-01-01'::date)),
    CONSTRAINT product_owners_email_check CHECK (((email ~ '^[^@\s]+@[^@\s]+$'::text) AND (length(email) <= 254))),
    CONSTRAINT product_owners_erased_holds_nothing CHECK (((erased_at IS NULL) OR ((first_name = 'Erased'::text) AND (surname = 'Erased'::text) AND (known_as IS NULL) AND (date_of_birth IS NULL) AND (email IS NULL) AND (phone IS NULL)))),
    CONSTRAINT product_owners_first_name_check CHECK (((length(btrim(first_name)) >= 1) AND (length(btrim(first_name)) <= 100))),
    CONSTRAINT product_owners_known_as_check CHECK ((length(known_as) <= 100)),
    CONSTRAINT product_owners_phone_check CHECK ((length(phone) <= 40)),
    CONSTRAINT product_owners_status_check CHECK ((status = ANY (ARRAY['active'::text, 'inactive'::text, 'deceased'::text]))),
    CONSTRAINT product_owners_surname_check CHECK (((length(btrim(surname)) >= 1) AND (length(btrim(surname)) <= 100))),
    CONSTRAINT product_owners_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.product_owners FORCE ROW LEVEL SECURITY;


--
-- Name: mv_firm_counts; Type: MATERIALIZED VIEW; Schema: public
--

CREATE MATERIALIZED VIEW public.mv_firm_counts AS
 SELECT f.id AS firm_id,
    COALESCE(g.n, (0)::bigint) AS households,
    COALESCE(o.n, (0)::bigint) AS people,
    COALESCE(p.active, (0)::bigint) AS products,
    COALESCE(p.lapsed, (0)::bigint) AS lapsed_products,
    COALESCE(pf.n, (0)::bigint) AS portfolio_funds
   FROM ((((public.firms f
     LEFT JOIN ( SELECT client_groups.firm_id,
            count(*) AS n
           FROM public.client_groups
          GROUP BY client_groups.firm_id) g ON ((g.firm_id = f.id)))
     LEFT JOIN ( SELECT product_owners.firm_id,
            count(*) AS n
           FROM public.product_owners
          GROUP BY product_owners.firm_id) o ON ((o.firm_id = f.id)))
     LEFT JOIN ( SELECT products.firm_id,
            count(*) FILTER (WHERE (products.status = 'active'::text)) AS active,
            count(*) FILTER (WHERE (products.status = 'lapsed'::text)) AS lapsed
           FROM public.products
          GROUP BY products.firm_id) p ON ((p.firm_id = f.id)))
     LEFT JOIN ( SELECT a.firm_id,
            count(*) AS n
           FROM (public.portfolio_funds a
             JOIN public.products b ON ((b.id = a.product_id)))
          WHERE ((a.end_date IS NULL) AND (b.status = 'active'::text))
          GROUP BY a.firm_id) pf ON ((pf.firm_id = f.id)))
  WITH NO DATA;


--
-- Name: firm_counts; Type: VIEW; Schema: public
--

CREATE VIEW public.firm_counts WITH (security_barrier='true') AS
 SELECT firm_id,
    households,
    people,
    products,
    lapsed_products,
    portfolio_funds
   FROM public.mv_firm_counts
  WHERE (firm_id = ( SELECT public.current_firm_id() AS current_firm_id));


--
-- Name: mv_firm_dashboard; Type: MATERIALIZED VIEW; Schema: public
--

CREATE MATERIALIZED VIEW public.mv_firm_dashboard AS
 SELECT pp.firm_id,
    d.dimension,
    d.key,
    sum(pp.value) AS funds_under_management,
    sum(pp.revenue) AS revenue,
    count(*) AS products
   FROM (public.mv_product_positions pp
     CROSS JOIN LATERAL ( VALUES ('provider'::text,COALESCE((pp.provider_id)::text, 'none'::text)), ('product_type'::text,pp.product_type), ('adviser'::text,COALESCE((pp.adviser_id)::text, 'none'::text)), ('template'::text,COALESCE((pp.template_id)::text, 'none'::text)), ('firm'::text,'total'::text)) d(dimension, key))
  WHERE (pp.status = 'active'::text)
  GROUP BY pp.firm_id, d.dimension, d.key
  WITH NO DATA;


--
-- Name: firm_dashboard; Type: VIEW; Schema: public
--

CREATE VIEW public.firm_dashboard WITH (security_barrier='true') AS
 SELECT d.firm_id,
    d.dimension,
    d.key,
    d.funds_under_management,
    d.revenue,
    d.products,
    r.refreshed_at
   FROM (public.mv_firm_dashboard d
     JOIN public.view_refreshes r ON ((r.view_name = 'mv_firm_dashboard'::text)))
  WHERE (d.firm_id = ( SELECT public.current_firm_id() AS current_firm_id));


--
-- Name: fund_valuations; Type: TABLE; Schema: public
--

CREATE TABLE public.fund_valuations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    portfolio_fund_id uuid NOT NULL,
    valuation_date date NOT NULL,
    value numeric(18,2) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT fund_valuations_value_check CHECK ((value >= (0)::numeric)),
    CONSTRAINT fund_valuations_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.fund_valuations FORCE ROW LEVEL SECURITY;


--
-- Name: mv_firm_fund_totals; Type: MATERIALIZED VIEW; Schema: public
--

CREATE MATERIALIZED VIEW public.mv_firm_fund_totals AS
 SELECT pp.firm_id,
    pf.fund_id,
    sum(fv.value) AS funds_under_management,
    count(*) AS portfolio_funds,
    count(DISTINCT pp.product_id) AS products
   FROM ((public.mv_product_positions pp
     JOIN public.portfolio_funds pf ON ((pf.product_id = pp.product_id)))
     JOIN public.fund_valuations fv ON (((fv.portfolio_fund_id = pf.id) AND (fv.valuation_date = pp.valuation_date))))
  WHERE (pp.status = 'active'::text)
  GROUP BY pp.firm_id, pf.fund_id
  WITH NO DATA;


--
-- Name: firm_fund_totals; Type: VIEW; Schema: public
--

CREATE VIEW public.firm_fund_totals WITH (security_barrier='true') AS
 SELECT firm_id,
    fund_id,
    funds_under_management,
    portfolio_funds,
    products
   FROM public.mv_firm_fund_totals
  WHERE (firm_id = ( SELECT public.current_firm_id() AS current_firm_id));


--
-- Name: firm_irrs; Type: TABLE; Schema: public
--

CREATE TABLE public.firm_irrs (
    firm_id uuid NOT NULL,
    method text NOT NULL,
    irr numeric(20,10),
    reason text,
    from_date date,
    to_date date,
    as_of timestamp with time zone NOT NULL,
    CONSTRAINT firm_irrs_check CHECK (((irr IS NULL) OR (reason IS NULL))),
    CONSTRAINT firm_irrs_method_check CHECK ((method = ANY (ARRAY['kingston_monthly'::text, 'xirr'::text])))
);

ALTER TABLE ONLY public.firm_irrs FORCE ROW LEVEL SECURITY;


--
-- Name: firm_job_runs; Type: TABLE; Schema: public
--

CREATE TABLE public.firm_job_runs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    run_id uuid NOT NULL,
    job_name text NOT NULL,
    trigger text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    figures jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT firm_job_runs_check CHECK ((finished_at >= started_at)),
    CONSTRAINT firm_job_runs_figures_check CHECK ((jsonb_typeof(figures) = 'object'::text)),
    CONSTRAINT firm_job_runs_trigger_check CHECK ((trigger = ANY (ARRAY['schedule'::text, 'manual'::text, 'api'::text])))
);

ALTER TABLE ONLY public.firm_job_runs FORCE ROW LEVEL SECURITY;


--
-- Name: firm_top_households; Type: VIEW; Schema: public
--

CREATE VIEW public.firm_top_households WITH (security_barrier='true') AS
 SELECT client_group_id,
    name,
    funds_under_management,
    revenue
   FROM public.mv_client_group_summary
  WHERE (firm_id = ( SELECT public.current_firm_id() AS current_firm_id))
  ORDER BY funds_under_management DESC, client_group_id
 LIMIT 10;


--
-- Name: funds; Type: TABLE; Schema: public
--

CREATE TABLE public.funds (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    name text NOT NULL,
    isin text,
    risk_factor smallint,
    ongoing_cost numeric(7,4),
    currency character(3) DEFAULT 'GBP'::bpchar NOT NULL,
    is_cash boolean DEFAULT false NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT funds_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT funds_isin_check CHECK (public.isin_is_valid(isin)),
    CONSTRAINT funds_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT funds_ongoing_cost_check CHECK (((ongoing_cost >= (0)::numeric) AND (ongoing_cost <= (100)::numeric))),
    CONSTRAINT funds_risk_factor_check CHECK (((risk_factor >= 1) AND (risk_factor <= 7))),
    CONSTRAINT funds_status_check CHECK ((status = ANY (ARRAY['active'::text, 'inactive'::text]))),
    CONSTRAINT funds_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.funds FORCE ROW LEVEL SECURITY;


--
-- Name: fx_rates; Type: TABLE; Schema: public
--

CREATE TABLE public.fx_rates (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    currency character(3) NOT NULL,
    rate_date date NOT NULL,
    rate numeric(20,10) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT fx_rates_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT fx_rates_rate_check CHECK ((rate > (0)::numeric)),
    CONSTRAINT fx_rates_rate_date_check CHECK (((rate_date >= '1900-01-01'::date) AND (rate_date <= '2099-12-31'::date))),
    CONSTRAINT fx_rates_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.fx_rates FORCE ROW LEVEL SECURITY;


--
-- Name: holding_activity; Type: TABLE; Schema: public
--

CREATE TABLE public.holding_activity (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    portfolio_fund_id uuid NOT NULL,
    activity_date date NOT NULL,
    activity_type text NOT NULL,
    amount numeric(18,2) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT holding_activity_activity_type_check CHECK ((activity_type = ANY (ARRAY['investment'::text, 'regular_investment'::text, 'tax_uplift'::text, 'switch_in'::text, 'withdrawal'::text, 'regular_withdrawal'::text, 'switch_out'::text, 'fee'::text, 'dividend'::text]))),
    CONSTRAINT holding_activity_amount_check CHECK ((amount > (0)::numeric)),
    CONSTRAINT holding_activity_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.holding_activity FORCE ROW LEVEL SECURITY;


--
-- Name: idempotency_keys; Type: TABLE; Schema: public
--

CREATE TABLE public.idempotency_keys (
    firm_id uuid NOT NULL,
    principal_id uuid NOT NULL,
    key text NOT NULL,
    method text NOT NULL,
    path text NOT NULL,
    request_hash bytea NOT NULL,
    response_status integer,
    response_body text,
    response_headers jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT idempotency_keys_key_check CHECK (((length(key) >= 1) AND (length(key) <= 255)))
);

ALTER TABLE ONLY public.idempotency_keys FORCE ROW LEVEL SECURITY;


--
-- Name: information_item_terms; Type: TABLE; Schema: public
--

CREATE TABLE public.information_item_terms (
    firm_id uuid NOT NULL,
    item_id uuid NOT NULL,
    term text NOT NULL COLLATE pg_catalog."C"
);

ALTER TABLE ONLY public.information_item_terms FORCE ROW LEVEL SECURITY;


--
-- Name: information_items; Type: TABLE; Schema: public
--

CREATE TABLE public.information_items (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    client_group_id uuid NOT NULL,
    item_type text NOT NULL,
    item_category text NOT NULL,
    data_content jsonb DEFAULT '{}'::jsonb NOT NULL,
    associated_product_owners jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT information_items_associated_product_owners_check CHECK (((associated_product_owners IS NULL) OR public.ownership_is_valid(associated_product_owners))),
    CONSTRAINT information_items_data_content_check CHECK (public.information_data_is_valid(data_content)),
    CONSTRAINT information_items_item_category_check CHECK (((length(btrim(item_category)) >= 1) AND (length(btrim(item_category)) <= 100))),
    CONSTRAINT information_items_item_type_check CHECK ((item_type = ANY (ARRAY['basic_detail'::text, 'income_expenditure'::text, 'assets_liabilities'::text, 'protection'::text, 'vulnerability_health'::text]))),
    CONSTRAINT information_items_owners_by_type CHECK (((item_type = ANY (ARRAY['assets_liabilities'::text, 'protection'::text])) = (associated_product_owners IS NOT NULL))),
    CONSTRAINT information_items_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.information_items FORCE ROW LEVEL SECURITY;


--
-- Name: irr_values; Type: TABLE; Schema: public
--

CREATE TABLE public.irr_values (
    firm_id uuid NOT NULL,
    scope text NOT NULL,
    scope_id uuid NOT NULL,
    valuation_date date NOT NULL,
    method text NOT NULL,
    irr numeric(20,10),
    reason text,
    computed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT irr_values_check CHECK (((irr IS NULL) = (reason IS NOT NULL))),
    CONSTRAINT irr_values_method_check CHECK ((method = ANY (ARRAY['kingston_monthly'::text, 'xirr'::text]))),
    CONSTRAINT irr_values_scope_check CHECK ((scope = ANY (ARRAY['portfolio_fund'::text, 'product'::text])))
);

ALTER TABLE ONLY public.irr_values FORCE ROW LEVEL SECURITY;


--
-- Name: job_runs; Type: TABLE; Schema: public
--

CREATE TABLE public.job_runs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    job_name text NOT NULL,
    started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    finished_at timestamp with time zone,
    status text NOT NULL,
    trigger text NOT NULL,
    figures jsonb DEFAULT '{}'::jsonb NOT NULL,
    error text,
    CONSTRAINT job_runs_check CHECK (((status = 'running'::text) = (finished_at IS NULL))),
    CONSTRAINT job_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'failed'::text, 'skipped'::text]))),
    CONSTRAINT job_runs_trigger_check CHECK ((trigger = ANY (ARRAY['schedule'::text, 'manual'::text, 'api'::text])))
);

ALTER TABLE ONLY public.job_runs FORCE ROW LEVEL SECURITY;


--
-- Name: login_challenges; Type: TABLE; Schema: public
--

CREATE TABLE public.login_challenges (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    user_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    purpose text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    failed_codes integer DEFAULT 0 NOT NULL,
    CONSTRAINT login_challenges_check CHECK ((expires_at > created_at)),
    CONSTRAINT login_challenges_failed_codes_check CHECK ((failed_codes >= 0)),
    CONSTRAINT login_challenges_purpose_check CHECK ((purpose = ANY (ARRAY['totp'::text, 'totp_enrolment'::text]))),
    CONSTRAINT login_challenges_token_hash_check CHECK ((length(token_hash) = 32))
);

ALTER TABLE ONLY public.login_challenges FORCE ROW LEVEL SECURITY;


--
-- Name: login_failures; Type: TABLE; Schema: public
--

CREATE TABLE public.login_failures (
    firm_id uuid NOT NULL,
    user_id uuid NOT NULL,
    source text NOT NULL,
    failed_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY public.login_failures FORCE ROW LEVEL SECURITY;


--
-- Name: login_throttle; Type: TABLE; Schema: public
--

CREATE TABLE public.login_throttle (
    firm_id uuid NOT NULL,
    user_id uuid NOT NULL,
    source text NOT NULL,
    window_no bigint DEFAULT 1 NOT NULL,
    window_started timestamp with time zone DEFAULT now() NOT NULL,
    checks integer DEFAULT 0 NOT NULL,
    pending integer DEFAULT 0 NOT NULL,
    locked_until timestamp with time zone,
    CONSTRAINT login_throttle_checks_check CHECK ((checks >= 0)),
    CONSTRAINT login_throttle_pending_check CHECK ((pending >= 0)),
    CONSTRAINT login_throttle_source_check CHECK (((length(source) >= 1) AND (length(source) <= 100)))
);

ALTER TABLE ONLY public.login_throttle FORCE ROW LEVEL SECURITY;


--
-- Name: networth_firm_totals; Type: TABLE; Schema: public
--

CREATE TABLE public.networth_firm_totals (
    firm_id uuid NOT NULL,
    snapshot_date date NOT NULL,
    currency character(3) NOT NULL,
    households integer NOT NULL,
    assets numeric(22,2) NOT NULL,
    liabilities numeric(22,2) NOT NULL,
    net_worth numeric(22,2) NOT NULL,
    taken_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT networth_firm_totals_check CHECK ((net_worth = (assets - liabilities))),
    CONSTRAINT networth_firm_totals_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT networth_firm_totals_households_check CHECK ((households >= 0))
);

ALTER TABLE ONLY public.networth_firm_totals FORCE ROW LEVEL SECURITY;


--
-- Name: networth_snapshots; Type: TABLE; Schema: public
--

CREATE TABLE public.networth_snapshots (
    firm_id uuid NOT NULL,
    client_group_id uuid NOT NULL,
    snapshot_date date NOT NULL,
    currency character(3) NOT NULL,
    assets numeric(20,2) NOT NULL,
    liabilities numeric(20,2) NOT NULL,
    net_worth numeric(20,2) NOT NULL,
    unconverted integer DEFAULT 0 NOT NULL,
    taken_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT networth_snapshots_check CHECK ((net_worth = (assets - liabilities))),
    CONSTRAINT networth_snapshots_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT networth_snapshots_unconverted_check CHECK ((unconverted >= 0))
);

ALTER TABLE ONLY public.networth_snapshots FORCE ROW LEVEL SECURITY;


--
-- Name: networth_statements; Type: TABLE; Schema: public
--

CREATE TABLE public.networth_statements (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    client_group_id uuid NOT NULL,
    name text NOT NULL,
    as_of date NOT NULL,
    currency character(3) NOT NULL,
    assets numeric(20,2) NOT NULL,
    liabilities numeric(20,2) NOT NULL,
    net_worth numeric(20,2) NOT NULL,
    snapshot jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by_type text NOT NULL,
    created_by uuid,
    CONSTRAINT networth_statements_check CHECK ((net_worth = (assets - liabilities))),
    CONSTRAINT networth_statements_created_by_type_check CHECK ((created_by_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text]))),
    CONSTRAINT networth_statements_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT networth_statements_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT networth_statements_snapshot_check CHECK ((jsonb_typeof(snapshot) = 'object'::text))
);

ALTER TABLE ONLY public.networth_statements FORCE ROW LEVEL SECURITY;


--
-- Name: notifications; Type: TABLE; Schema: public
--

CREATE TABLE public.notifications (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    user_id uuid NOT NULL,
    kind text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    data jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    read_at timestamp with time zone,
    CONSTRAINT notifications_body_check CHECK ((length(body) <= 2000)),
    CONSTRAINT notifications_kind_check CHECK ((kind ~ '^[a-z_]+\.[a-z_]+$'::text)),
    CONSTRAINT notifications_title_check CHECK (((length(btrim(title)) >= 1) AND (length(btrim(title)) <= 200)))
);

ALTER TABLE ONLY public.notifications FORCE ROW LEVEL SECURITY;


--
-- Name: objective_contributions; Type: TABLE; Schema: public
--

CREATE TABLE public.objective_contributions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    objective_id uuid NOT NULL,
    is_money_goal boolean DEFAULT true NOT NULL,
    amount numeric(18,2) NOT NULL,
    contribution_date date NOT NULL,
    note text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT objective_contributions_amount_check CHECK ((amount > (0)::numeric)),
    CONSTRAINT objective_contributions_contribution_date_check CHECK ((contribution_date >= '1900-01-01'::date)),
    CONSTRAINT objective_contributions_is_money_goal_check CHECK (is_money_goal),
    CONSTRAINT objective_contributions_note_check CHECK ((length(note) <= 1000))
);

ALTER TABLE ONLY public.objective_contributions FORCE ROW LEVEL SECURITY;


--
-- Name: objective_products; Type: TABLE; Schema: public
--

CREATE TABLE public.objective_products (
    firm_id uuid NOT NULL,
    objective_id uuid NOT NULL,
    product_id uuid NOT NULL,
    is_money_goal boolean DEFAULT true NOT NULL,
    CONSTRAINT objective_products_is_money_goal_check CHECK (is_money_goal)
);

ALTER TABLE ONLY public.objective_products FORCE ROW LEVEL SECURITY;


--
-- Name: objective_unmanaged_products; Type: TABLE; Schema: public
--

CREATE TABLE public.objective_unmanaged_products (
    firm_id uuid NOT NULL,
    objective_id uuid NOT NULL,
    unmanaged_product_id uuid NOT NULL,
    is_money_goal boolean DEFAULT true NOT NULL,
    CONSTRAINT objective_unmanaged_products_is_money_goal_check CHECK (is_money_goal)
);

ALTER TABLE ONLY public.objective_unmanaged_products FORCE ROW LEVEL SECURITY;


--
-- Name: objectives; Type: TABLE; Schema: public
--

CREATE TABLE public.objectives (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    client_group_id uuid NOT NULL,
    title text NOT NULL,
    description text,
    target_date date,
    priority smallint DEFAULT 3 NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    progress_percentage numeric(5,2),
    target_amount numeric(18,2),
    currency character(3),
    assumed_annual_return numeric(7,4),
    is_money_goal boolean GENERATED ALWAYS AS ((target_amount IS NOT NULL)) STORED NOT NULL,
    target_date_order date GENERATED ALWAYS AS (COALESCE(target_date, '9999-12-31'::date)) STORED NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    plan_id uuid,
    CONSTRAINT objectives_assumed_annual_return_check CHECK (((assumed_annual_return > ('-1'::integer)::numeric) AND (assumed_annual_return <= (1)::numeric))),
    CONSTRAINT objectives_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT objectives_description_check CHECK ((length(description) <= 10000)),
    CONSTRAINT objectives_money_goal_consistent CHECK ((((target_amount IS NULL) AND (currency IS NULL) AND (assumed_annual_return IS NULL) AND (progress_percentage IS NOT NULL)) OR ((target_amount IS NOT NULL) AND (currency IS NOT NULL) AND (assumed_annual_return IS NOT NULL) AND (target_date IS NOT NULL) AND (progress_percentage IS NULL)))),
    CONSTRAINT objectives_priority_check CHECK (((priority >= 1) AND (priority <= 5))),
    CONSTRAINT objectives_progress_percentage_check CHECK (((progress_percentage >= (0)::numeric) AND (progress_percentage <= (100)::numeric))),
    CONSTRAINT objectives_status_check CHECK ((status = ANY (ARRAY['active'::text, 'achieved'::text, 'modified'::text, 'cancelled'::text]))),
    CONSTRAINT objectives_target_amount_check CHECK ((target_amount > (0)::numeric)),
    CONSTRAINT objectives_target_date_check CHECK (((target_date >= '1900-01-01'::date) AND (target_date <= '2099-12-31'::date))),
    CONSTRAINT objectives_title_check CHECK (((length(btrim(title)) >= 1) AND (length(btrim(title)) <= 200))),
    CONSTRAINT objectives_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.objectives FORCE ROW LEVEL SECURITY;


--
-- Name: ops_backup_verifications; Type: VIEW; Schema: public
--

CREATE VIEW public.ops_backup_verifications WITH (security_barrier='true') AS
 SELECT id,
    backup_id,
    trigger,
    started_at,
    finished_at,
    outcome,
    stage
   FROM public.backup_verifications
  WHERE ( SELECT public.current_principal_is_admin() AS current_principal_is_admin);


--
-- Name: ops_backups; Type: VIEW; Schema: public
--

CREATE VIEW public.ops_backups WITH (security_barrier='true') AS
 SELECT b.id,
    b.status,
    b.started_at,
    b.finished_at,
    b.deleted_at,
    v.outcome AS verdict,
    v.finished_at AS verified_at,
    v.stage AS verdict_stage,
    ((b.manifest -> 'firms'::text) -> (( SELECT public.current_firm_id() AS current_firm_id))::text) AS firm_tables
   FROM (public.backups b
     LEFT JOIN LATERAL ( SELECT x.outcome,
            x.finished_at,
            x.stage
           FROM public.backup_verifications x
          WHERE ((x.backup_id = b.id) AND (x.outcome IS NOT NULL))
          ORDER BY x.finished_at DESC, x.id DESC
         LIMIT 1) v ON (true))
  WHERE ( SELECT public.current_principal_is_admin() AS current_principal_is_admin);


--
-- Name: plan_runs; Type: TABLE; Schema: public
--

CREATE TABLE public.plan_runs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    plan_id uuid NOT NULL,
    status text DEFAULT 'queued'::text NOT NULL,
    request jsonb NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    engine_inputs jsonb,
    algorithm_version text,
    outputs text,
    outputs_sha256 text,
    probability_of_success numeric(7,6),
    error jsonb,
    duration_ms integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by_type text NOT NULL,
    created_by uuid,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    CONSTRAINT plan_runs_algorithm_version_check CHECK (((length(algorithm_version) >= 1) AND (length(algorithm_version) <= 100))),
    CONSTRAINT plan_runs_attempts_check CHECK (((attempts >= 0) AND (attempts <= 100))),
    CONSTRAINT plan_runs_created_by_type_check CHECK ((created_by_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text]))),
    CONSTRAINT plan_runs_duration_ms_check CHECK ((duration_ms >= 0)),
    CONSTRAINT plan_runs_engine_inputs_check CHECK (((engine_inputs IS NULL) OR (jsonb_typeof(engine_inputs) = 'object'::text))),
    CONSTRAINT plan_runs_error_check CHECK (((error IS NULL) OR (jsonb_typeof(error) = 'object'::text))),
    CONSTRAINT plan_runs_outputs_check CHECK (((outputs IS NULL) OR (outputs IS JSON OBJECT))),
    CONSTRAINT plan_runs_outputs_sha256_check CHECK ((outputs_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT plan_runs_probability_of_success_check CHECK (((probability_of_success >= (0)::numeric) AND (probability_of_success <= (1)::numeric))),
    CONSTRAINT plan_runs_request_check CHECK ((jsonb_typeof(request) = 'object'::text)),
    CONSTRAINT plan_runs_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'running'::text, 'succeeded'::text, 'failed'::text]))),
    CONSTRAINT plan_runs_status_consistent CHECK (
CASE status
    WHEN 'queued'::text THEN ((started_at IS NULL) AND (finished_at IS NULL) AND (outputs IS NULL) AND (error IS NULL))
    WHEN 'running'::text THEN ((started_at IS NOT NULL) AND (finished_at IS NULL) AND (outputs IS NULL) AND (error IS NULL))
    WHEN 'succeeded'::text THEN ((finished_at IS NOT NULL) AND (outputs IS NOT NULL) AND (outputs_sha256 IS NOT NULL) AND (algorithm_version IS NOT NULL) AND (engine_inputs IS NOT NULL) AND (probability_of_success IS NOT NULL) AND (error IS NULL))
    ELSE ((finished_at IS NOT NULL) AND (error IS NOT NULL) AND (outputs IS NULL))
END)
);

ALTER TABLE ONLY public.plan_runs FORCE ROW LEVEL SECURITY;


--
-- Name: plans; Type: TABLE; Schema: public
--

CREATE TABLE public.plans (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    client_group_id uuid NOT NULL,
    root_plan_id uuid NOT NULL,
    parent_plan_id uuid,
    version integer NOT NULL,
    name text NOT NULL,
    status text NOT NULL,
    as_of date NOT NULL,
    cma_set_id uuid NOT NULL,
    inputs jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by_type text NOT NULL,
    created_by uuid,
    CONSTRAINT plans_check CHECK (((version = 1) = (parent_plan_id IS NULL))),
    CONSTRAINT plans_check1 CHECK (((version > 1) OR (root_plan_id = id))),
    CONSTRAINT plans_created_by_type_check CHECK ((created_by_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text]))),
    CONSTRAINT plans_inputs_check CHECK ((jsonb_typeof(inputs) = 'object'::text)),
    CONSTRAINT plans_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT plans_status_check CHECK ((status = ANY (ARRAY['draft'::text, 'final'::text]))),
    CONSTRAINT plans_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.plans FORCE ROW LEVEL SECURITY;


--
-- Name: portfolio_model_allocations; Type: TABLE; Schema: public
--

CREATE TABLE public.portfolio_model_allocations (
    firm_id uuid NOT NULL,
    portfolio_model_id uuid NOT NULL,
    cma_set_id uuid NOT NULL,
    asset_class text NOT NULL,
    weight numeric(5,2) NOT NULL,
    CONSTRAINT portfolio_model_allocations_weight_check CHECK (((weight > (0)::numeric) AND (weight <= (100)::numeric)))
);

ALTER TABLE ONLY public.portfolio_model_allocations FORCE ROW LEVEL SECURITY;


--
-- Name: portfolio_models; Type: TABLE; Schema: public
--

CREATE TABLE public.portfolio_models (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    name text NOT NULL,
    description text,
    risk_level smallint NOT NULL,
    cma_set_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT portfolio_models_description_check CHECK ((length(description) <= 2000)),
    CONSTRAINT portfolio_models_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT portfolio_models_risk_level_check CHECK (((risk_level >= 1) AND (risk_level <= 10))),
    CONSTRAINT portfolio_models_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.portfolio_models FORCE ROW LEVEL SECURITY;


--
-- Name: portfolio_templates; Type: TABLE; Schema: public
--

CREATE TABLE public.portfolio_templates (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    name text NOT NULL,
    description text,
    status text DEFAULT 'active'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT portfolio_templates_description_check CHECK ((length(description) <= 2000)),
    CONSTRAINT portfolio_templates_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT portfolio_templates_status_check CHECK ((status = ANY (ARRAY['active'::text, 'inactive'::text]))),
    CONSTRAINT portfolio_templates_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.portfolio_templates FORCE ROW LEVEL SECURITY;


--
-- Name: product_flows; Type: TABLE; Schema: public
--

CREATE TABLE public.product_flows (
    firm_id uuid NOT NULL,
    product_id uuid NOT NULL,
    flow_date date NOT NULL,
    amount numeric(24,2) NOT NULL,
    activities integer NOT NULL,
    CONSTRAINT product_flows_activities_check CHECK ((activities >= 0))
);

ALTER TABLE ONLY public.product_flows FORCE ROW LEVEL SECURITY;


--
-- Name: product_positions; Type: VIEW; Schema: public
--

CREATE VIEW public.product_positions WITH (security_barrier='true') AS
 SELECT p.firm_id,
    p.product_id,
    p.client_group_id,
    p.provider_id,
    p.product_type,
    p.status,
    p.adviser_id,
    p.template_id,
    p.valuation_date,
    p.value,
    p.revenue,
    r.refreshed_at
   FROM (public.mv_product_positions p
     JOIN public.view_refreshes r ON ((r.view_name = 'mv_product_positions'::text)))
  WHERE (p.firm_id = ( SELECT public.current_firm_id() AS current_firm_id));


--
-- Name: provider_switches; Type: TABLE; Schema: public
--

CREATE TABLE public.provider_switches (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    product_id uuid NOT NULL,
    from_provider_id uuid,
    to_provider_id uuid,
    switched_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT provider_switches_check CHECK ((from_provider_id IS DISTINCT FROM to_provider_id))
);

ALTER TABLE ONLY public.provider_switches FORCE ROW LEVEL SECURITY;


--
-- Name: providers; Type: TABLE; Schema: public
--

CREATE TABLE public.providers (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    name text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    colour text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT providers_colour_check CHECK ((colour ~ '^#[0-9A-Fa-f]{6}$'::text)),
    CONSTRAINT providers_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT providers_status_check CHECK ((status = ANY (ARRAY['active'::text, 'inactive'::text]))),
    CONSTRAINT providers_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.providers FORCE ROW LEVEL SECURITY;


--
-- Name: rate_counters; Type: TABLE; Schema: public
--

CREATE UNLOGGED TABLE public.rate_counters (
    principal public.rate_counter_principal NOT NULL,
    bucket public.rate_counter_bucket NOT NULL,
    window_start timestamp with time zone NOT NULL,
    pid integer NOT NULL,
    count public.rate_counter_count NOT NULL,
    expires_at timestamp with time zone NOT NULL
)
WITH (fillfactor='50');


--
-- Name: recovery_codes; Type: TABLE; Schema: public
--

CREATE TABLE public.recovery_codes (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    user_id uuid NOT NULL,
    code_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT recovery_codes_code_hash_check CHECK ((length(code_hash) = 32))
);

ALTER TABLE ONLY public.recovery_codes FORCE ROW LEVEL SECURITY;


--
-- Name: sessions; Type: TABLE; Schema: public
--

CREATE TABLE public.sessions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    user_id uuid NOT NULL,
    chain_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    ip text,
    user_agent text,
    last_used_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT sessions_check CHECK ((expires_at > created_at)),
    CONSTRAINT sessions_token_hash_check CHECK ((length(token_hash) = 32))
);

ALTER TABLE ONLY public.sessions FORCE ROW LEVEL SECURITY;


--
-- Name: template_generation_funds; Type: TABLE; Schema: public
--

CREATE TABLE public.template_generation_funds (
    firm_id uuid NOT NULL,
    generation_id uuid NOT NULL,
    fund_id uuid NOT NULL,
    target_weighting numeric(5,2) NOT NULL,
    CONSTRAINT template_generation_funds_target_weighting_check CHECK (((target_weighting > (0)::numeric) AND (target_weighting <= (100)::numeric)))
);

ALTER TABLE ONLY public.template_generation_funds FORCE ROW LEVEL SECURITY;


--
-- Name: unmanaged_products; Type: TABLE; Schema: public
--

CREATE TABLE public.unmanaged_products (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    client_group_id uuid NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    product_type text NOT NULL,
    provider_id uuid,
    ownership jsonb NOT NULL,
    currency character(3) DEFAULT public.firm_base_currency() NOT NULL,
    notes text,
    status text DEFAULT 'active'::text NOT NULL,
    current_value numeric(18,2),
    current_value_date date,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT unmanaged_products_check CHECK (((current_value IS NULL) = (current_value_date IS NULL))),
    CONSTRAINT unmanaged_products_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT unmanaged_products_current_value_check CHECK ((current_value >= (0)::numeric)),
    CONSTRAINT unmanaged_products_kind_check CHECK ((kind = ANY (ARRAY['asset'::text, 'liability'::text]))),
    CONSTRAINT unmanaged_products_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT unmanaged_products_notes_check CHECK ((length(notes) <= 10000)),
    CONSTRAINT unmanaged_products_ownership_check CHECK (public.ownership_is_valid(ownership)),
    CONSTRAINT unmanaged_products_status_check CHECK ((status = ANY (ARRAY['active'::text, 'sold'::text, 'transferred'::text, 'matured'::text, 'cancelled'::text]))),
    CONSTRAINT unmanaged_products_type_fits_kind CHECK ((((kind = 'asset'::text) AND (product_type = ANY (ARRAY['gia'::text, 'stocks_and_shares_isa'::text, 'cash_isa'::text, 'bank_account'::text, 'pension'::text, 'offshore_bond'::text, 'onshore_bond'::text, 'individual_shares'::text, 'property'::text, 'other'::text]))) OR ((kind = 'liability'::text) AND (product_type = ANY (ARRAY['mortgage'::text, 'loan'::text, 'credit_card'::text, 'other_liability'::text]))))),
    CONSTRAINT unmanaged_products_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.unmanaged_products FORCE ROW LEVEL SECURITY;


--
-- Name: unmanaged_valuations; Type: TABLE; Schema: public
--

CREATE TABLE public.unmanaged_valuations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    unmanaged_product_id uuid NOT NULL,
    valuation_date date NOT NULL,
    value numeric(18,2) NOT NULL,
    source text DEFAULT 'manual'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT unmanaged_valuations_source_check CHECK ((source = ANY (ARRAY['manual'::text, 'import'::text, 'feed'::text]))),
    CONSTRAINT unmanaged_valuations_valuation_date_check CHECK (((valuation_date >= '1900-01-01'::date) AND (valuation_date <= '2099-12-31'::date))),
    CONSTRAINT unmanaged_valuations_value_check CHECK ((value >= (0)::numeric)),
    CONSTRAINT unmanaged_valuations_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.unmanaged_valuations FORCE ROW LEVEL SECURITY;


--
-- Name: user_totp; Type: TABLE; Schema: public
--

CREATE TABLE public.user_totp (
    user_id uuid NOT NULL,
    firm_id uuid NOT NULL,
    secret bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    confirmed_at timestamp with time zone,
    last_step bigint,
    CONSTRAINT user_totp_secret_check CHECK (((length(secret) >= 29) AND (length(secret) <= 200)))
);

ALTER TABLE ONLY public.user_totp FORCE ROW LEVEL SECURITY;


--
-- Name: users; Type: TABLE; Schema: public
--

CREATE TABLE public.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    firm_id uuid NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    active boolean DEFAULT true NOT NULL,
    password_hash text NOT NULL,
    failed_logins integer DEFAULT 0 NOT NULL,
    locked_until timestamp with time zone,
    last_login_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    CONSTRAINT users_email_check CHECK (((email = lower(email)) AND (email ~ '^[^@\s]+@[^@\s]+$'::text) AND (length(email) <= 254))),
    CONSTRAINT users_failed_logins_check CHECK ((failed_logins >= 0)),
    CONSTRAINT users_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200))),
    CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'adviser'::text, 'analyst'::text, 'viewer'::text]))),
    CONSTRAINT users_version_check CHECK ((version >= 1))
);

ALTER TABLE ONLY public.users FORCE ROW LEVEL SECURITY;


--
-- Name: yoyo_lock; Type: TABLE; Schema: public
--

CREATE TABLE public.yoyo_lock (
    locked integer DEFAULT 1 NOT NULL,
    ctime timestamp without time zone,
    pid integer NOT NULL
);


--
-- Name: _yoyo_log _yoyo_log_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public._yoyo_log
    ADD CONSTRAINT _yoyo_log_pkey PRIMARY KEY (id);


--
-- Name: _yoyo_migration _yoyo_migration_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public._yoyo_migration
    ADD CONSTRAINT _yoyo_migration_pkey PRIMARY KEY (migration_hash);


--
-- Name: _yoyo_version _yoyo_version_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public._yoyo_version
    ADD CONSTRAINT _yoyo_version_pkey PRIMARY KEY (version);


--
-- Name: actions actions_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.actions
    ADD CONSTRAINT actions_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: actions actions_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.actions
    ADD CONSTRAINT actions_pkey PRIMARY KEY (id);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);


--
-- Name: api_keys api_keys_prefix_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_prefix_key UNIQUE (prefix);


--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (occurred_at, id);


--
-- Name: auth_context auth_context_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.auth_context
    ADD CONSTRAINT auth_context_pkey PRIMARY KEY (pid);


--
-- Name: backup_verifications backup_verifications_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.backup_verifications
    ADD CONSTRAINT backup_verifications_pkey PRIMARY KEY (id);


--
-- Name: backups backups_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.backups
    ADD CONSTRAINT backups_pkey PRIMARY KEY (id);


--
-- Name: client_group_fum client_group_fum_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.client_group_fum
    ADD CONSTRAINT client_group_fum_pkey PRIMARY KEY (client_group_id);


--
-- Name: client_group_product_owners client_group_product_owners_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.client_group_product_owners
    ADD CONSTRAINT client_group_product_owners_pkey PRIMARY KEY (client_group_id, product_owner_id);


--
-- Name: client_groups client_groups_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.client_groups
    ADD CONSTRAINT client_groups_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: client_groups client_groups_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.client_groups
    ADD CONSTRAINT client_groups_pkey PRIMARY KEY (id);


--
-- Name: cma_asset_classes cma_asset_classes_cma_set_id_code_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.cma_asset_classes
    ADD CONSTRAINT cma_asset_classes_cma_set_id_code_key UNIQUE (cma_set_id, code);


--
-- Name: cma_asset_classes cma_asset_classes_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.cma_asset_classes
    ADD CONSTRAINT cma_asset_classes_pkey PRIMARY KEY (cma_set_id, "position");


--
-- Name: cma_sets cma_sets_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.cma_sets
    ADD CONSTRAINT cma_sets_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: cma_sets cma_sets_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.cma_sets
    ADD CONSTRAINT cma_sets_pkey PRIMARY KEY (id);


--
-- Name: cma_sets cma_sets_root_id_set_version_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.cma_sets
    ADD CONSTRAINT cma_sets_root_id_set_version_key UNIQUE (root_id, set_version);


--
-- Name: dashboard_writes dashboard_writes_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.dashboard_writes
    ADD CONSTRAINT dashboard_writes_pkey PRIMARY KEY (id);


--
-- Name: data_retention_policies data_retention_policies_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.data_retention_policies
    ADD CONSTRAINT data_retention_policies_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: data_retention_policies data_retention_policies_one_per_condition; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.data_retention_policies
    ADD CONSTRAINT data_retention_policies_one_per_condition UNIQUE (firm_id, table_name, condition);


--
-- Name: data_retention_policies data_retention_policies_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.data_retention_policies
    ADD CONSTRAINT data_retention_policies_pkey PRIMARY KEY (id);


--
-- Name: firm_irrs firm_irrs_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.firm_irrs
    ADD CONSTRAINT firm_irrs_pkey PRIMARY KEY (firm_id, method);


--
-- Name: firm_job_runs firm_job_runs_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.firm_job_runs
    ADD CONSTRAINT firm_job_runs_pkey PRIMARY KEY (id);


--
-- Name: firm_job_runs firm_job_runs_run_id_firm_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.firm_job_runs
    ADD CONSTRAINT firm_job_runs_run_id_firm_id_key UNIQUE (run_id, firm_id);


--
-- Name: firms firms_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.firms
    ADD CONSTRAINT firms_pkey PRIMARY KEY (id);


--
-- Name: fund_valuations fund_valuations_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.fund_valuations
    ADD CONSTRAINT fund_valuations_pkey PRIMARY KEY (id);


--
-- Name: fund_valuations fund_valuations_portfolio_fund_id_valuation_date_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.fund_valuations
    ADD CONSTRAINT fund_valuations_portfolio_fund_id_valuation_date_key UNIQUE (portfolio_fund_id, valuation_date);


--
-- Name: funds funds_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.funds
    ADD CONSTRAINT funds_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: funds funds_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.funds
    ADD CONSTRAINT funds_pkey PRIMARY KEY (id);


--
-- Name: fx_rates fx_rates_currency_date_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.fx_rates
    ADD CONSTRAINT fx_rates_currency_date_key UNIQUE (firm_id, currency, rate_date);


--
-- Name: fx_rates fx_rates_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.fx_rates
    ADD CONSTRAINT fx_rates_pkey PRIMARY KEY (id);


--
-- Name: holding_activity holding_activity_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.holding_activity
    ADD CONSTRAINT holding_activity_pkey PRIMARY KEY (id);


--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (firm_id, principal_id, key);


--
-- Name: information_item_terms information_item_terms_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.information_item_terms
    ADD CONSTRAINT information_item_terms_pkey PRIMARY KEY (item_id, term);


--
-- Name: information_items information_items_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.information_items
    ADD CONSTRAINT information_items_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: information_items information_items_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.information_items
    ADD CONSTRAINT information_items_pkey PRIMARY KEY (id);


--
-- Name: irr_values irr_values_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.irr_values
    ADD CONSTRAINT irr_values_pkey PRIMARY KEY (scope, scope_id, method, valuation_date);


--
-- Name: job_runs job_runs_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.job_runs
    ADD CONSTRAINT job_runs_pkey PRIMARY KEY (id);


--
-- Name: login_challenges login_challenges_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.login_challenges
    ADD CONSTRAINT login_challenges_pkey PRIMARY KEY (id);


--
-- Name: login_challenges login_challenges_token_hash_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.login_challenges
    ADD CONSTRAINT login_challenges_token_hash_key UNIQUE (token_hash);


--
-- Name: login_throttle login_throttle_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.login_throttle
    ADD CONSTRAINT login_throttle_pkey PRIMARY KEY (user_id, source);


--
-- Name: networth_firm_totals networth_firm_totals_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.networth_firm_totals
    ADD CONSTRAINT networth_firm_totals_pkey PRIMARY KEY (firm_id, snapshot_date);


--
-- Name: networth_snapshots networth_snapshots_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.networth_snapshots
    ADD CONSTRAINT networth_snapshots_pkey PRIMARY KEY (client_group_id, snapshot_date);


--
-- Name: networth_statements networth_statements_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.networth_statements
    ADD CONSTRAINT networth_statements_pkey PRIMARY KEY (id);


--
-- Name: notifications notifications_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_pkey PRIMARY KEY (id);


--
-- Name: objective_contributions objective_contributions_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objective_contributions
    ADD CONSTRAINT objective_contributions_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: objective_contributions objective_contributions_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objective_contributions
    ADD CONSTRAINT objective_contributions_pkey PRIMARY KEY (id);


--
-- Name: objective_products objective_products_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objective_products
    ADD CONSTRAINT objective_products_pkey PRIMARY KEY (objective_id, product_id);


--
-- Name: objective_unmanaged_products objective_unmanaged_products_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objective_unmanaged_products
    ADD CONSTRAINT objective_unmanaged_products_pkey PRIMARY KEY (objective_id, unmanaged_product_id);


--
-- Name: objectives objectives_firm_id_id_is_money_goal_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objectives
    ADD CONSTRAINT objectives_firm_id_id_is_money_goal_key UNIQUE (firm_id, id, is_money_goal);


--
-- Name: objectives objectives_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objectives
    ADD CONSTRAINT objectives_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: objectives objectives_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objectives
    ADD CONSTRAINT objectives_pkey PRIMARY KEY (id);


--
-- Name: plan_runs plan_runs_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.plan_runs
    ADD CONSTRAINT plan_runs_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: plan_runs plan_runs_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.plan_runs
    ADD CONSTRAINT plan_runs_pkey PRIMARY KEY (id);


--
-- Name: plans plans_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.plans
    ADD CONSTRAINT plans_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: plans plans_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.plans
    ADD CONSTRAINT plans_pkey PRIMARY KEY (id);


--
-- Name: plans plans_root_plan_id_version_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.plans
    ADD CONSTRAINT plans_root_plan_id_version_key UNIQUE (root_plan_id, version);


--
-- Name: portfolio_funds portfolio_funds_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_funds
    ADD CONSTRAINT portfolio_funds_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: portfolio_funds portfolio_funds_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_funds
    ADD CONSTRAINT portfolio_funds_pkey PRIMARY KEY (id);


--
-- Name: portfolio_model_allocations portfolio_model_allocations_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_model_allocations
    ADD CONSTRAINT portfolio_model_allocations_pkey PRIMARY KEY (portfolio_model_id, asset_class);


--
-- Name: portfolio_models portfolio_models_firm_id_id_cma_set_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_models
    ADD CONSTRAINT portfolio_models_firm_id_id_cma_set_id_key UNIQUE (firm_id, id, cma_set_id);


--
-- Name: portfolio_models portfolio_models_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_models
    ADD CONSTRAINT portfolio_models_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: portfolio_models portfolio_models_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_models
    ADD CONSTRAINT portfolio_models_pkey PRIMARY KEY (id);


--
-- Name: portfolio_templates portfolio_templates_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_templates
    ADD CONSTRAINT portfolio_templates_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: portfolio_templates portfolio_templates_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_templates
    ADD CONSTRAINT portfolio_templates_pkey PRIMARY KEY (id);


--
-- Name: portfolio_valuations portfolio_valuations_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_valuations
    ADD CONSTRAINT portfolio_valuations_pkey PRIMARY KEY (product_id, valuation_date);


--
-- Name: product_flows product_flows_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.product_flows
    ADD CONSTRAINT product_flows_pkey PRIMARY KEY (product_id, flow_date) INCLUDE (firm_id, amount);


--
-- Name: product_owners product_owners_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.product_owners
    ADD CONSTRAINT product_owners_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: product_owners product_owners_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.product_owners
    ADD CONSTRAINT product_owners_pkey PRIMARY KEY (id);


--
-- Name: products products_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);


--
-- Name: provider_switches provider_switches_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.provider_switches
    ADD CONSTRAINT provider_switches_pkey PRIMARY KEY (id);


--
-- Name: providers providers_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.providers
    ADD CONSTRAINT providers_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: providers providers_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.providers
    ADD CONSTRAINT providers_pkey PRIMARY KEY (id);


--
-- Name: rate_counters rate_counters_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.rate_counters
    ADD CONSTRAINT rate_counters_pkey PRIMARY KEY (principal, bucket, window_start, pid);


--
-- Name: rate_limit_tiers rate_limit_tiers_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.rate_limit_tiers
    ADD CONSTRAINT rate_limit_tiers_pkey PRIMARY KEY (tier);


--
-- Name: recovery_codes recovery_codes_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.recovery_codes
    ADD CONSTRAINT recovery_codes_pkey PRIMARY KEY (id);


--
-- Name: recovery_codes recovery_codes_user_id_code_hash_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.recovery_codes
    ADD CONSTRAINT recovery_codes_user_id_code_hash_key UNIQUE (user_id, code_hash);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);


--
-- Name: sessions sessions_token_hash_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_token_hash_key UNIQUE (token_hash);


--
-- Name: template_generation_funds template_generation_funds_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.template_generation_funds
    ADD CONSTRAINT template_generation_funds_pkey PRIMARY KEY (generation_id, fund_id);


--
-- Name: template_generations template_generations_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.template_generations
    ADD CONSTRAINT template_generations_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: template_generations template_generations_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.template_generations
    ADD CONSTRAINT template_generations_pkey PRIMARY KEY (id);


--
-- Name: template_generations template_generations_template_id_generation_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.template_generations
    ADD CONSTRAINT template_generations_template_id_generation_key UNIQUE (template_id, generation);


--
-- Name: unmanaged_products unmanaged_products_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.unmanaged_products
    ADD CONSTRAINT unmanaged_products_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: unmanaged_products unmanaged_products_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.unmanaged_products
    ADD CONSTRAINT unmanaged_products_pkey PRIMARY KEY (id);


--
-- Name: unmanaged_valuations unmanaged_valuations_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.unmanaged_valuations
    ADD CONSTRAINT unmanaged_valuations_pkey PRIMARY KEY (id);


--
-- Name: unmanaged_valuations unmanaged_valuations_unmanaged_product_id_valuation_date_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.unmanaged_valuations
    ADD CONSTRAINT unmanaged_valuations_unmanaged_product_id_valuation_date_key UNIQUE (unmanaged_product_id, valuation_date);


--
-- Name: user_totp user_totp_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.user_totp
    ADD CONSTRAINT user_totp_pkey PRIMARY KEY (user_id);


--
-- Name: users users_firm_id_id_key; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_firm_id_id_key UNIQUE (firm_id, id);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: view_refreshes view_refreshes_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.view_refreshes
    ADD CONSTRAINT view_refreshes_pkey PRIMARY KEY (view_name);


--
-- Name: yoyo_lock yoyo_lock_pkey; Type: CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.yoyo_lock
    ADD CONSTRAINT yoyo_lock_pkey PRIMARY KEY (locked);


--
-- Name: actions_group_created_idx; Type: INDEX; Schema: public
--

CREATE INDEX actions_group_created_idx ON public.actions USING btree (client_group_id, created_at, id);


--
-- Name: actions_group_due_idx; Type: INDEX; Schema: public
--

CREATE INDEX actions_group_due_idx ON public.actions USING btree (client_group_id, target_date_order, id);


--
-- Name: api_keys_firm_idx; Type: INDEX; Schema: public
--

CREATE INDEX api_keys_firm_idx ON public.api_keys USING btree (firm_id, created_at DESC, id DESC);


--
-- Name: audit_events_firm_time_idx; Type: INDEX; Schema: public
--

CREATE INDEX audit_events_firm_time_idx ON ONLY public.audit_events USING btree (firm_id, occurred_at DESC, id DESC);


--
-- Name: audit_events_resource_idx; Type: INDEX; Schema: public
--

CREATE INDEX audit_events_resource_idx ON ONLY public.audit_events USING btree (firm_id, resource_type, resource_id, occurred_at DESC);


--
-- Name: backup_verifications_backup_idx; Type: INDEX; Schema: public
--

CREATE INDEX backup_verifications_backup_idx ON public.backup_verifications USING btree (backup_id, started_at DESC, id DESC);


--
-- Name: backups_started_idx; Type: INDEX; Schema: public
--

CREATE INDEX backups_started_idx ON public.backups USING btree (started_at DESC, id DESC);


--
-- Name: cgpo_owner_idx; Type: INDEX; Schema: public
--

CREATE INDEX cgpo_owner_idx ON public.client_group_product_owners USING btree (product_owner_id);


--
-- Name: client_group_fum_order_idx; Type: INDEX; Schema: public
--

CREATE INDEX client_group_fum_order_idx ON public.client_group_fum USING btree (firm_id, fum_pennies, client_group_id);


--
-- Name: client_groups_adviser_idx; Type: INDEX; Schema: public
--

CREATE INDEX client_groups_adviser_idx ON public.client_groups USING btree (adviser_id) WHERE (adviser_id IS NOT NULL);


--
-- Name: client_groups_firm_name_idx; Type: INDEX; Schema: public
--

CREATE INDEX client_groups_firm_name_idx ON public.client_groups USING btree (firm_id, name, id);


--
-- Name: client_groups_name_trgm_idx; Type: INDEX; Schema: public
--

CREATE INDEX client_groups_name_trgm_idx ON public.client_groups USING gin (name public.gin_trgm_ops);


--
-- Name: cma_sets_list_idx; Type: INDEX; Schema: public
--

CREATE INDEX cma_sets_list_idx ON public.cma_sets USING btree (firm_id, created_at DESC, id DESC);


--
-- Name: dashboard_writes_firm_idx; Type: INDEX; Schema: public
--

CREATE INDEX dashboard_writes_firm_idx ON public.dashboard_writes USING btree (firm_id, written_at);


--
-- Name: data_retention_policies_firm_idx; Type: INDEX; Schema: public
--

CREATE INDEX data_retention_policies_firm_idx ON public.data_retention_policies USING btree (firm_id, table_name, condition, id);


--
-- Name: firm_job_runs_started_idx; Type: INDEX; Schema: public
--

CREATE INDEX firm_job_runs_started_idx ON public.firm_job_runs USING btree (firm_id, started_at DESC, id DESC);


--
-- Name: funds_isin_key; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX funds_isin_key ON public.funds USING btree (firm_id, isin) WHERE (isin IS NOT NULL);


--
-- Name: funds_isin_trgm_idx; Type: INDEX; Schema: public
--

CREATE INDEX funds_isin_trgm_idx ON public.funds USING gin (isin public.gin_trgm_ops);


--
-- Name: funds_name_trgm_idx; Type: INDEX; Schema: public
--

CREATE INDEX funds_name_trgm_idx ON public.funds USING gin (name public.gin_trgm_ops);


--
-- Name: holding_activity_fund_date_idx; Type: INDEX; Schema: public
--

CREATE INDEX holding_activity_fund_date_idx ON public.holding_activity USING btree (portfolio_fund_id, activity_date);


--
-- Name: idempotency_keys_created_idx; Type: INDEX; Schema: public
--

CREATE INDEX idempotency_keys_created_idx ON public.idempotency_keys USING btree (created_at);


--
-- Name: information_items_group_idx; Type: INDEX; Schema: public
--

CREATE INDEX information_items_group_idx ON public.information_items USING btree (client_group_id, created_at, id);


--
-- Name: information_items_owners_idx; Type: INDEX; Schema: public
--

CREATE INDEX information_items_owners_idx ON public.information_items USING gin (public.ownership_owner_ids(associated_product_owners)) WHERE (associated_product_owners IS NOT NULL);


--
-- Name: irr_values_firm_idx; Type: INDEX; Schema: public
--

CREATE INDEX irr_values_firm_idx ON public.irr_values USING btree (firm_id);


--
-- Name: job_runs_started_idx; Type: INDEX; Schema: public
--

CREATE INDEX job_runs_started_idx ON public.job_runs USING btree (started_at DESC, id DESC);


--
-- Name: login_challenges_user_idx; Type: INDEX; Schema: public
--

CREATE INDEX login_challenges_user_idx ON public.login_challenges USING btree (user_id);


--
-- Name: login_failures_user_idx; Type: INDEX; Schema: public
--

CREATE INDEX login_failures_user_idx ON public.login_failures USING btree (user_id, failed_at);


--
-- Name: mv_client_group_summary_fum_idx; Type: INDEX; Schema: public
--

CREATE INDEX mv_client_group_summary_fum_idx ON public.mv_client_group_summary USING btree (firm_id, funds_under_management DESC, client_group_id);


--
-- Name: mv_client_group_summary_key; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX mv_client_group_summary_key ON public.mv_client_group_summary USING btree (client_group_id);


--
-- Name: mv_firm_counts_key; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX mv_firm_counts_key ON public.mv_firm_counts USING btree (firm_id);


--
-- Name: mv_firm_dashboard_key; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX mv_firm_dashboard_key ON public.mv_firm_dashboard USING btree (firm_id, dimension, key);


--
-- Name: mv_firm_fund_totals_key; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX mv_firm_fund_totals_key ON public.mv_firm_fund_totals USING btree (firm_id, fund_id);


--
-- Name: mv_product_positions_firm_idx; Type: INDEX; Schema: public
--

CREATE INDEX mv_product_positions_firm_idx ON public.mv_product_positions USING btree (firm_id, client_group_id);


--
-- Name: mv_product_positions_key; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX mv_product_positions_key ON public.mv_product_positions USING btree (product_id);


--
-- Name: networth_snapshots_date_idx; Type: INDEX; Schema: public
--

CREATE INDEX networth_snapshots_date_idx ON public.networth_snapshots USING btree (snapshot_date);


--
-- Name: networth_statements_group_idx; Type: INDEX; Schema: public
--

CREATE INDEX networth_statements_group_idx ON public.networth_statements USING btree (client_group_id, created_at DESC, id DESC);


--
-- Name: notifications_firm_created_idx; Type: INDEX; Schema: public
--

CREATE INDEX notifications_firm_created_idx ON public.notifications USING btree (firm_id, created_at);


--
-- Name: notifications_firm_read_idx; Type: INDEX; Schema: public
--

CREATE INDEX notifications_firm_read_idx ON public.notifications USING btree (firm_id, read_at) WHERE (read_at IS NOT NULL);


--
-- Name: notifications_user_idx; Type: INDEX; Schema: public
--

CREATE INDEX notifications_user_idx ON public.notifications USING btree (user_id, created_at DESC, id DESC);


--
-- Name: objective_contributions_goal_idx; Type: INDEX; Schema: public
--

CREATE INDEX objective_contributions_goal_idx ON public.objective_contributions USING btree (objective_id, contribution_date, id);


--
-- Name: objective_products_product_idx; Type: INDEX; Schema: public
--

CREATE INDEX objective_products_product_idx ON public.objective_products USING btree (product_id);


--
-- Name: objective_unmanaged_products_product_idx; Type: INDEX; Schema: public
--

CREATE INDEX objective_unmanaged_products_product_idx ON public.objective_unmanaged_products USING btree (unmanaged_product_id);


--
-- Name: objectives_group_created_idx; Type: INDEX; Schema: public
--

CREATE INDEX objectives_group_created_idx ON public.objectives USING btree (client_group_id, created_at, id);


--
-- Name: objectives_group_due_idx; Type: INDEX; Schema: public
--

CREATE INDEX objectives_group_due_idx ON public.objectives USING btree (client_group_id, target_date_order, id);


--
-- Name: objectives_group_priority_idx; Type: INDEX; Schema: public
--

CREATE INDEX objectives_group_priority_idx ON public.objectives USING btree (client_group_id, priority, id);


--
-- Name: objectives_plan_idx; Type: INDEX; Schema: public
--

CREATE INDEX objectives_plan_idx ON public.objectives USING btree (plan_id) WHERE (plan_id IS NOT NULL);


--
-- Name: plan_runs_plan_idx; Type: INDEX; Schema: public
--

CREATE INDEX plan_runs_plan_idx ON public.plan_runs USING btree (plan_id, created_at DESC, id DESC);


--
-- Name: plan_runs_waiting_idx; Type: INDEX; Schema: public
--

CREATE INDEX plan_runs_waiting_idx ON public.plan_runs USING btree (created_at) WHERE (status = ANY (ARRAY['queued'::text, 'running'::text]));


--
-- Name: plans_group_idx; Type: INDEX; Schema: public
--

CREATE INDEX plans_group_idx ON public.plans USING btree (client_group_id, created_at DESC, id DESC);


--
-- Name: portfolio_funds_product_idx; Type: INDEX; Schema: public
--

CREATE INDEX portfolio_funds_product_idx ON public.portfolio_funds USING btree (product_id);


--
-- Name: portfolio_models_set_idx; Type: INDEX; Schema: public
--

CREATE INDEX portfolio_models_set_idx ON public.portfolio_models USING btree (cma_set_id);


--
-- Name: product_flows_firm_idx; Type: INDEX; Schema: public
--

CREATE INDEX product_flows_firm_idx ON public.product_flows USING btree (firm_id);


--
-- Name: product_owners_firm_name_idx; Type: INDEX; Schema: public
--

CREATE INDEX product_owners_firm_name_idx ON public.product_owners USING btree (firm_id, surname, first_name, id);


--
-- Name: product_owners_name_trgm_idx; Type: INDEX; Schema: public
--

CREATE INDEX product_owners_name_trgm_idx ON public.product_owners USING gin ((((((first_name || ' '::text) || surname) || ' '::text) || COALESCE(known_as, ''::text))) public.gin_trgm_ops);


--
-- Name: products_group_idx; Type: INDEX; Schema: public
--

CREATE INDEX products_group_idx ON public.products USING btree (client_group_id);


--
-- Name: products_name_trgm_idx; Type: INDEX; Schema: public
--

CREATE INDEX products_name_trgm_idx ON public.products USING gin (name public.gin_trgm_ops);


--
-- Name: products_owners_idx; Type: INDEX; Schema: public
--

CREATE INDEX products_owners_idx ON public.products USING gin (public.ownership_owner_ids(ownership));


--
-- Name: products_plan_trgm_idx; Type: INDEX; Schema: public
--

CREATE INDEX products_plan_trgm_idx ON public.products USING gin (plan_number public.gin_trgm_ops);


--
-- Name: products_provider_idx; Type: INDEX; Schema: public
--

CREATE INDEX products_provider_idx ON public.products USING btree (provider_id);


--
-- Name: provider_switches_product_idx; Type: INDEX; Schema: public
--

CREATE INDEX provider_switches_product_idx ON public.provider_switches USING btree (product_id, switched_at);


--
-- Name: providers_name_key; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX providers_name_key ON public.providers USING btree (firm_id, lower(name));


--
-- Name: providers_name_trgm_idx; Type: INDEX; Schema: public
--

CREATE INDEX providers_name_trgm_idx ON public.providers USING gin (name public.gin_trgm_ops);


--
-- Name: rate_counters_expires_idx; Type: INDEX; Schema: public
--

CREATE INDEX rate_counters_expires_idx ON public.rate_counters USING btree (expires_at);


--
-- Name: sessions_chain_idx; Type: INDEX; Schema: public
--

CREATE INDEX sessions_chain_idx ON public.sessions USING btree (chain_id);


--
-- Name: sessions_firm_expires_idx; Type: INDEX; Schema: public
--

CREATE INDEX sessions_firm_expires_idx ON public.sessions USING btree (firm_id, expires_at);


--
-- Name: sessions_firm_revoked_idx; Type: INDEX; Schema: public
--

CREATE INDEX sessions_firm_revoked_idx ON public.sessions USING btree (firm_id, revoked_at) WHERE (revoked_at IS NOT NULL);


--
-- Name: sessions_user_idx; Type: INDEX; Schema: public
--

CREATE INDEX sessions_user_idx ON public.sessions USING btree (user_id);


--
-- Name: unmanaged_products_name_key; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX unmanaged_products_name_key ON public.unmanaged_products USING btree (client_group_id, lower(name));


--
-- Name: unmanaged_products_owners_idx; Type: INDEX; Schema: public
--

CREATE INDEX unmanaged_products_owners_idx ON public.unmanaged_products USING gin (public.ownership_owner_ids(ownership));


--
-- Name: unmanaged_products_provider_idx; Type: INDEX; Schema: public
--

CREATE INDEX unmanaged_products_provider_idx ON public.unmanaged_products USING btree (provider_id);


--
-- Name: users_email_key; Type: INDEX; Schema: public
--

CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email);


--
-- Name: actions actions_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER actions_touch BEFORE UPDATE ON public.actions FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: client_groups client_groups_fum_insert; Type: TRIGGER; Schema: public
--

CREATE TRIGGER client_groups_fum_insert AFTER INSERT ON public.client_groups REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.client_groups_fum_insert();


--
-- Name: client_groups client_groups_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER client_groups_touch BEFORE UPDATE ON public.client_groups FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: cma_asset_classes cma_asset_classes_frozen; Type: TRIGGER; Schema: public
--

CREATE TRIGGER cma_asset_classes_frozen BEFORE INSERT OR DELETE OR UPDATE ON public.cma_asset_classes FOR EACH ROW EXECUTE FUNCTION public.cma_asset_classes_refuse_approved();


--
-- Name: cma_asset_classes cma_asset_classes_shape; Type: TRIGGER; Schema: public
--

CREATE CONSTRAINT TRIGGER cma_asset_classes_shape AFTER INSERT OR DELETE OR UPDATE ON public.cma_asset_classes DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.cma_sets_check_shape();


--
-- Name: cma_sets cma_sets_frozen; Type: TRIGGER; Schema: public
--

CREATE TRIGGER cma_sets_frozen BEFORE DELETE OR UPDATE ON public.cma_sets FOR EACH ROW EXECUTE FUNCTION public.cma_sets_refuse_approved();


--
-- Name: cma_sets cma_sets_shape; Type: TRIGGER; Schema: public
--

CREATE CONSTRAINT TRIGGER cma_sets_shape AFTER INSERT OR UPDATE OF correlations ON public.cma_sets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.cma_sets_check_shape();


--
-- Name: cma_sets cma_sets_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER cma_sets_touch BEFORE UPDATE ON public.cma_sets FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: client_groups dashboard_written; Type: TRIGGER; Schema: public
--

CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE OF name, adviser_id ON public.client_groups FOR EACH STATEMENT EXECUTE FUNCTION public.dashboard_written();


--
-- Name: fund_valuations dashboard_written; Type: TRIGGER; Schema: public
--

CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE OF portfolio_fund_id, valuation_date, value ON public.fund_valuations FOR EACH STATEMENT EXECUTE FUNCTION public.dashboard_written();


--
-- Name: portfolio_funds dashboard_written; Type: TRIGGER; Schema: public
--

CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE OF product_id, fund_id, end_date ON public.portfolio_funds FOR EACH STATEMENT EXECUTE FUNCTION public.dashboard_written();


--
-- Name: portfolio_valuations dashboard_written; Type: TRIGGER; Schema: public
--

CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE ON public.portfolio_valuations FOR EACH STATEMENT EXECUTE FUNCTION public.dashboard_written();


--
-- Name: product_flows dashboard_written; Type: TRIGGER; Schema: public
--

CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE ON public.product_flows FOR EACH STATEMENT EXECUTE FUNCTION public.dashboard_written();


--
-- Name: product_owners dashboard_written; Type: TRIGGER; Schema: public
--

CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE ON public.product_owners FOR EACH STATEMENT EXECUTE FUNCTION public.dashboard_written();


--
-- Name: products dashboard_written; Type: TRIGGER; Schema: public
--

CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE OF name, client_group_id, provider_id, product_type, status, fixed_fee_direct, fixed_fee_facilitated, percentage_fee_facilitated, template_generation_id ON public.products FOR EACH STATEMENT EXECUTE FUNCTION public.dashboard_written();


--
-- Name: data_retention_policies data_retention_policies_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER data_retention_policies_touch BEFORE UPDATE ON public.data_retention_policies FOR EACH ROW WHEN ((NOT (old.last_completed_at IS DISTINCT FROM new.last_completed_at))) EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: firms firms_default_retention; Type: TRIGGER; Schema: public
--

CREATE TRIGGER firms_default_retention AFTER INSERT ON public.firms FOR EACH ROW EXECUTE FUNCTION public.firms_default_retention();


--
-- Name: firms firms_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER firms_touch BEFORE UPDATE ON public.firms FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: fund_valuations fund_valuations_aggregate_delete; Type: TRIGGER; Schema: public
--

CREATE TRIGGER fund_valuations_aggregate_delete AFTER DELETE ON public.fund_valuations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.fund_valuations_aggregate();


--
-- Name: fund_valuations fund_valuations_aggregate_insert; Type: TRIGGER; Schema: public
--

CREATE TRIGGER fund_valuations_aggregate_insert AFTER INSERT ON public.fund_valuations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.fund_valuations_aggregate();


--
-- Name: fund_valuations fund_valuations_aggregate_update; Type: TRIGGER; Schema: public
--

CREATE TRIGGER fund_valuations_aggregate_update AFTER UPDATE ON public.fund_valuations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.fund_valuations_aggregate();


--
-- Name: fund_valuations fund_valuations_dates_insert; Type: TRIGGER; Schema: public
--

CREATE TRIGGER fund_valuations_dates_insert AFTER INSERT ON public.fund_valuations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.fund_rows_within_fund_dates();


--
-- Name: fund_valuations fund_valuations_dates_update; Type: TRIGGER; Schema: public
--

CREATE TRIGGER fund_valuations_dates_update AFTER UPDATE ON public.fund_valuations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.fund_rows_within_fund_dates();


--
-- Name: fund_valuations fund_valuations_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER fund_valuations_touch BEFORE UPDATE ON public.fund_valuations FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: funds funds_aggregate_update; Type: TRIGGER; Schema: public
--

CREATE TRIGGER funds_aggregate_update AFTER UPDATE ON public.funds REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.funds_aggregate();


--
-- Name: funds funds_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER funds_touch BEFORE UPDATE ON public.funds FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: fx_rates fx_rates_not_base; Type: TRIGGER; Schema: public
--

CREATE TRIGGER fx_rates_not_base BEFORE INSERT OR UPDATE OF currency, firm_id ON public.fx_rates FOR EACH ROW EXECUTE FUNCTION public.fx_rates_refuse_base();


--
-- Name: fx_rates fx_rates_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER fx_rates_touch BEFORE UPDATE ON public.fx_rates FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: template_generation_funds generation_in_use; Type: TRIGGER; Schema: public
--

CREATE TRIGGER generation_in_use BEFORE DELETE OR UPDATE ON public.template_generation_funds FOR EACH ROW EXECUTE FUNCTION public.generation_refuse_edit_in_use();


--
-- Name: template_generation_funds generation_weights_sum_100; Type: TRIGGER; Schema: public
--

CREATE CONSTRAINT TRIGGER generation_weights_sum_100 AFTER INSERT OR DELETE OR UPDATE ON public.template_generation_funds DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.generation_check_weights();


--
-- Name: holding_activity holding_activity_dates_insert; Type: TRIGGER; Schema: public
--

CREATE TRIGGER holding_activity_dates_insert AFTER INSERT ON public.holding_activity REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.fund_rows_within_fund_dates();


--
-- Name: holding_activity holding_activity_dates_update; Type: TRIGGER; Schema: public
--

CREATE TRIGGER holding_activity_dates_update AFTER UPDATE ON public.holding_activity REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.fund_rows_within_fund_dates();


--
-- Name: holding_activity holding_activity_flows_delete; Type: TRIGGER; Schema: public
--

CREATE TRIGGER holding_activity_flows_delete AFTER DELETE ON public.holding_activity REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.holding_activity_flows();


--
-- Name: holding_activity holding_activity_flows_insert; Type: TRIGGER; Schema: public
--

CREATE TRIGGER holding_activity_flows_insert AFTER INSERT ON public.holding_activity REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.holding_activity_flows();


--
-- Name: holding_activity holding_activity_flows_update; Type: TRIGGER; Schema: public
--

CREATE TRIGGER holding_activity_flows_update AFTER UPDATE ON public.holding_activity REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.holding_activity_flows();


--
-- Name: holding_activity holding_activity_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER holding_activity_touch BEFORE UPDATE ON public.holding_activity FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: information_items information_items_dates_not_future; Type: TRIGGER; Schema: public
--

CREATE TRIGGER information_items_dates_not_future BEFORE INSERT OR UPDATE OF data_content ON public.information_items FOR EACH ROW EXECUTE FUNCTION public.information_items_dates_check();


--
-- Name: information_items information_items_owners_in_group; Type: TRIGGER; Schema: public
--

CREATE TRIGGER information_items_owners_in_group BEFORE INSERT OR UPDATE OF associated_product_owners, client_group_id ON public.information_items FOR EACH ROW EXECUTE FUNCTION public.information_items_check_owners();


--
-- Name: information_items information_items_terms_delete; Type: TRIGGER; Schema: public
--

CREATE TRIGGER information_items_terms_delete AFTER DELETE ON public.information_items REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.information_items_terms_delete();


--
-- Name: information_items information_items_terms_insert; Type: TRIGGER; Schema: public
--

CREATE TRIGGER information_items_terms_insert AFTER INSERT ON public.information_items REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.information_items_terms_insert();


--
-- Name: information_items information_items_terms_truncate; Type: TRIGGER; Schema: public
--

CREATE TRIGGER information_items_terms_truncate AFTER TRUNCATE ON public.information_items FOR EACH STATEMENT EXECUTE FUNCTION public.information_items_terms_delete();


--
-- Name: information_items information_items_terms_update; Type: TRIGGER; Schema: public
--

CREATE TRIGGER information_items_terms_update AFTER UPDATE ON public.information_items REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.information_items_terms_update();


--
-- Name: information_items information_items_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER information_items_touch BEFORE UPDATE ON public.information_items FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: client_group_product_owners membership_information_items_check; Type: TRIGGER; Schema: public
--

CREATE TRIGGER membership_information_items_check BEFORE DELETE ON public.client_group_product_owners FOR EACH ROW EXECUTE FUNCTION public.membership_check_information_items();


--
-- Name: client_group_product_owners membership_products_check; Type: TRIGGER; Schema: public
--

CREATE TRIGGER membership_products_check BEFORE DELETE ON public.client_group_product_owners FOR EACH ROW EXECUTE FUNCTION public.membership_check_products();


--
-- Name: networth_statements networth_statements_immutable; Type: TRIGGER; Schema: public
--

CREATE TRIGGER networth_statements_immutable BEFORE DELETE OR UPDATE ON public.networth_statements FOR EACH ROW EXECUTE FUNCTION public.networth_statements_immutable();


--
-- Name: networth_statements networth_statements_no_truncate; Type: TRIGGER; Schema: public
--

CREATE TRIGGER networth_statements_no_truncate BEFORE TRUNCATE ON public.networth_statements FOR EACH STATEMENT EXECUTE FUNCTION public.networth_statements_immutable();


--
-- Name: objective_contributions objective_contributions_not_future; Type: TRIGGER; Schema: public
--

CREATE TRIGGER objective_contributions_not_future BEFORE INSERT OR UPDATE OF contribution_date ON public.objective_contributions FOR EACH ROW EXECUTE FUNCTION public.objective_contributions_refuse_future();


--
-- Name: objective_products objective_products_check; Type: TRIGGER; Schema: public
--

CREATE TRIGGER objective_products_check BEFORE INSERT OR UPDATE ON public.objective_products FOR EACH ROW EXECUTE FUNCTION public.objective_links_check();


--
-- Name: objective_unmanaged_products objective_unmanaged_products_check; Type: TRIGGER; Schema: public
--

CREATE TRIGGER objective_unmanaged_products_check BEFORE INSERT OR UPDATE ON public.objective_unmanaged_products FOR EACH ROW EXECUTE FUNCTION public.objective_links_check();


--
-- Name: objectives objectives_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER objectives_touch BEFORE UPDATE ON public.objectives FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: plan_runs plan_runs_immutable; Type: TRIGGER; Schema: public
--

CREATE TRIGGER plan_runs_immutable BEFORE DELETE OR UPDATE ON public.plan_runs FOR EACH ROW EXECUTE FUNCTION public.plan_runs_guard();


--
-- Name: plan_runs plan_runs_no_truncate; Type: TRIGGER; Schema: public
--

CREATE TRIGGER plan_runs_no_truncate BEFORE TRUNCATE ON public.plan_runs FOR EACH STATEMENT EXECUTE FUNCTION public.plan_runs_guard();


--
-- Name: plans plans_cma_approved; Type: TRIGGER; Schema: public
--

CREATE TRIGGER plans_cma_approved BEFORE INSERT ON public.plans FOR EACH ROW EXECUTE FUNCTION public.plans_check_cma();


--
-- Name: plans plans_immutable; Type: TRIGGER; Schema: public
--

CREATE TRIGGER plans_immutable BEFORE DELETE OR UPDATE ON public.plans FOR EACH ROW EXECUTE FUNCTION public.plans_immutable();


--
-- Name: plans plans_no_truncate; Type: TRIGGER; Schema: public
--

CREATE TRIGGER plans_no_truncate BEFORE TRUNCATE ON public.plans FOR EACH STATEMENT EXECUTE FUNCTION public.plans_immutable();


--
-- Name: portfolio_funds portfolio_funds_aggregate_delete; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_funds_aggregate_delete AFTER DELETE ON public.portfolio_funds REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.portfolio_funds_aggregate();


--
-- Name: portfolio_funds portfolio_funds_aggregate_insert; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_funds_aggregate_insert AFTER INSERT ON public.portfolio_funds REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.portfolio_funds_aggregate();


--
-- Name: portfolio_funds portfolio_funds_aggregate_lock; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_funds_aggregate_lock BEFORE INSERT OR UPDATE OF start_date, end_date, product_id, fund_id ON public.portfolio_funds FOR EACH ROW EXECUTE FUNCTION public.portfolio_funds_lock_product();


--
-- Name: portfolio_funds portfolio_funds_aggregate_update; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_funds_aggregate_update AFTER UPDATE ON public.portfolio_funds REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.portfolio_funds_aggregate();


--
-- Name: portfolio_funds portfolio_funds_dates; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_funds_dates BEFORE INSERT OR UPDATE OF start_date, end_date, product_id ON public.portfolio_funds FOR EACH ROW EXECUTE FUNCTION public.portfolio_fund_dates();


--
-- Name: portfolio_funds portfolio_funds_keep_product; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_funds_keep_product BEFORE UPDATE OF product_id ON public.portfolio_funds FOR EACH ROW EXECUTE FUNCTION public.portfolio_fund_keeps_its_product();


--
-- Name: portfolio_funds portfolio_funds_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_funds_touch BEFORE UPDATE ON public.portfolio_funds FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: portfolio_model_allocations portfolio_model_weights_sum_100; Type: TRIGGER; Schema: public
--

CREATE CONSTRAINT TRIGGER portfolio_model_weights_sum_100 AFTER INSERT OR DELETE OR UPDATE ON public.portfolio_model_allocations DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.portfolio_models_check_weights();


--
-- Name: portfolio_models portfolio_models_set_approved; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_models_set_approved BEFORE INSERT OR UPDATE OF cma_set_id ON public.portfolio_models FOR EACH ROW EXECUTE FUNCTION public.portfolio_models_check_set();


--
-- Name: portfolio_models portfolio_models_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_models_touch BEFORE UPDATE ON public.portfolio_models FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: portfolio_models portfolio_models_weights_sum_100; Type: TRIGGER; Schema: public
--

CREATE CONSTRAINT TRIGGER portfolio_models_weights_sum_100 AFTER INSERT ON public.portfolio_models DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.portfolio_models_check_weights();


--
-- Name: portfolio_templates portfolio_templates_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_templates_touch BEFORE UPDATE ON public.portfolio_templates FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: portfolio_valuations portfolio_valuations_fum_delete; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_valuations_fum_delete AFTER DELETE ON public.portfolio_valuations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.portfolio_valuations_fum();


--
-- Name: portfolio_valuations portfolio_valuations_fum_insert; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_valuations_fum_insert AFTER INSERT ON public.portfolio_valuations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.portfolio_valuations_fum();


--
-- Name: portfolio_valuations portfolio_valuations_fum_update; Type: TRIGGER; Schema: public
--

CREATE TRIGGER portfolio_valuations_fum_update AFTER UPDATE ON public.portfolio_valuations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.portfolio_valuations_fum();


--
-- Name: product_owners product_owners_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER product_owners_touch BEFORE UPDATE ON public.product_owners FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: products products_end_after_rows; Type: TRIGGER; Schema: public
--

CREATE TRIGGER products_end_after_rows BEFORE UPDATE OF end_date ON public.products FOR EACH ROW WHEN ((new.end_date < COALESCE(old.end_date, 'infinity'::date))) EXECUTE FUNCTION public.product_ends_after_its_rows();


--
-- Name: products products_fum_delete; Type: TRIGGER; Schema: public
--

CREATE TRIGGER products_fum_delete AFTER DELETE ON public.products REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.products_fum();


--
-- Name: products products_fum_insert; Type: TRIGGER; Schema: public
--

CREATE TRIGGER products_fum_insert AFTER INSERT ON public.products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.products_fum();


--
-- Name: products products_fum_update; Type: TRIGGER; Schema: public
--

CREATE TRIGGER products_fum_update AFTER UPDATE ON public.products REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.products_fum();


--
-- Name: products products_owners_in_group; Type: TRIGGER; Schema: public
--

CREATE TRIGGER products_owners_in_group BEFORE INSERT OR UPDATE OF ownership, client_group_id ON public.products FOR EACH ROW EXECUTE FUNCTION public.products_check_owners();


--
-- Name: products products_start_before_funds; Type: TRIGGER; Schema: public
--

CREATE TRIGGER products_start_before_funds BEFORE UPDATE OF start_date ON public.products FOR EACH ROW WHEN ((new.start_date > old.start_date)) EXECUTE FUNCTION public.product_starts_before_its_funds();


--
-- Name: products products_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER products_touch BEFORE UPDATE ON public.products FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: providers providers_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER providers_touch BEFORE UPDATE ON public.providers FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: unmanaged_products unmanaged_products_current_value; Type: TRIGGER; Schema: public
--

CREATE TRIGGER unmanaged_products_current_value BEFORE INSERT OR UPDATE ON public.unmanaged_products FOR EACH ROW EXECUTE FUNCTION public.unmanaged_products_set_current_value();


--
-- Name: unmanaged_products unmanaged_products_linked_kind; Type: TRIGGER; Schema: public
--

CREATE TRIGGER unmanaged_products_linked_kind BEFORE UPDATE OF kind ON public.unmanaged_products FOR EACH ROW EXECUTE FUNCTION public.unmanaged_products_linked_kind_check();


--
-- Name: unmanaged_products unmanaged_products_owners_in_group; Type: TRIGGER; Schema: public
--

CREATE TRIGGER unmanaged_products_owners_in_group BEFORE INSERT OR UPDATE OF ownership, client_group_id ON public.unmanaged_products FOR EACH ROW EXECUTE FUNCTION public.products_check_owners();


--
-- Name: unmanaged_products unmanaged_products_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER unmanaged_products_touch BEFORE UPDATE ON public.unmanaged_products FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: unmanaged_valuations unmanaged_valuations_current_value_delete; Type: TRIGGER; Schema: public
--

CREATE TRIGGER unmanaged_valuations_current_value_delete AFTER DELETE ON public.unmanaged_valuations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.unmanaged_valuations_current_value();


--
-- Name: unmanaged_valuations unmanaged_valuations_current_value_insert; Type: TRIGGER; Schema: public
--

CREATE TRIGGER unmanaged_valuations_current_value_insert AFTER INSERT ON public.unmanaged_valuations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.unmanaged_valuations_current_value();


--
-- Name: unmanaged_valuations unmanaged_valuations_current_value_update; Type: TRIGGER; Schema: public
--

CREATE TRIGGER unmanaged_valuations_current_value_update AFTER UPDATE ON public.unmanaged_valuations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.unmanaged_valuations_current_value();


--
-- Name: unmanaged_valuations unmanaged_valuations_not_future; Type: TRIGGER; Schema: public
--

CREATE TRIGGER unmanaged_valuations_not_future BEFORE INSERT OR UPDATE OF valuation_date ON public.unmanaged_valuations FOR EACH ROW EXECUTE FUNCTION public.unmanaged_valuations_refuse_future();


--
-- Name: unmanaged_valuations unmanaged_valuations_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER unmanaged_valuations_touch BEFORE UPDATE ON public.unmanaged_valuations FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: users users_touch; Type: TRIGGER; Schema: public
--

CREATE TRIGGER users_touch BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();


--
-- Name: actions actions_firm_id_client_group_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.actions
    ADD CONSTRAINT actions_firm_id_client_group_id_fkey FOREIGN KEY (firm_id, client_group_id) REFERENCES public.client_groups(firm_id, id) ON DELETE RESTRICT;


--
-- Name: actions actions_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.actions
    ADD CONSTRAINT actions_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: api_keys api_keys_firm_id_created_by_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_firm_id_created_by_fkey FOREIGN KEY (firm_id, created_by) REFERENCES public.users(firm_id, id) ON DELETE RESTRICT;


--
-- Name: api_keys api_keys_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: backup_verifications backup_verifications_backup_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.backup_verifications
    ADD CONSTRAINT backup_verifications_backup_id_fkey FOREIGN KEY (backup_id) REFERENCES public.backups(id) ON DELETE CASCADE;


--
-- Name: client_group_fum client_group_fum_firm_id_client_group_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.client_group_fum
    ADD CONSTRAINT client_group_fum_firm_id_client_group_id_fkey FOREIGN KEY (firm_id, client_group_id) REFERENCES public.client_groups(firm_id, id) ON DELETE CASCADE;


--
-- Name: client_group_product_owners client_group_product_owners_firm_id_client_group_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.client_group_product_owners
    ADD CONSTRAINT client_group_product_owners_firm_id_client_group_id_fkey FOREIGN KEY (firm_id, client_group_id) REFERENCES public.client_groups(firm_id, id) ON DELETE RESTRICT;


--
-- Name: client_group_product_owners client_group_product_owners_firm_id_product_owner_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.client_group_product_owners
    ADD CONSTRAINT client_group_product_owners_firm_id_product_owner_id_fkey FOREIGN KEY (firm_id, product_owner_id) REFERENCES public.product_owners(firm_id, id) ON DELETE RESTRICT;


--
-- Name: client_groups client_groups_firm_id_adviser_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.client_groups
    ADD CONSTRAINT client_groups_firm_id_adviser_id_fkey FOREIGN KEY (firm_id, adviser_id) REFERENCES public.users(firm_id, id) ON DELETE RESTRICT;


--
-- Name: client_groups client_groups_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.client_groups
    ADD CONSTRAINT client_groups_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: cma_asset_classes cma_asset_classes_firm_id_cma_set_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.cma_asset_classes
    ADD CONSTRAINT cma_asset_classes_firm_id_cma_set_id_fkey FOREIGN KEY (firm_id, cma_set_id) REFERENCES public.cma_sets(firm_id, id) ON DELETE CASCADE;


--
-- Name: cma_sets cma_sets_firm_id_approved_by_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.cma_sets
    ADD CONSTRAINT cma_sets_firm_id_approved_by_fkey FOREIGN KEY (firm_id, approved_by) REFERENCES public.users(firm_id, id) ON DELETE RESTRICT;


--
-- Name: cma_sets cma_sets_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.cma_sets
    ADD CONSTRAINT cma_sets_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: cma_sets cma_sets_firm_id_parent_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.cma_sets
    ADD CONSTRAINT cma_sets_firm_id_parent_id_fkey FOREIGN KEY (firm_id, parent_id) REFERENCES public.cma_sets(firm_id, id) ON DELETE RESTRICT;


--
-- Name: cma_sets cma_sets_firm_id_root_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.cma_sets
    ADD CONSTRAINT cma_sets_firm_id_root_id_fkey FOREIGN KEY (firm_id, root_id) REFERENCES public.cma_sets(firm_id, id) ON DELETE RESTRICT;


--
-- Name: data_retention_policies data_retention_policies_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.data_retention_policies
    ADD CONSTRAINT data_retention_policies_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: firm_irrs firm_irrs_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.firm_irrs
    ADD CONSTRAINT firm_irrs_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: firm_job_runs firm_job_runs_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.firm_job_runs
    ADD CONSTRAINT firm_job_runs_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: firm_job_runs firm_job_runs_run_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.firm_job_runs
    ADD CONSTRAINT firm_job_runs_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.job_runs(id) ON DELETE CASCADE;


--
-- Name: firms firms_rate_limit_tier_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.firms
    ADD CONSTRAINT firms_rate_limit_tier_fkey FOREIGN KEY (rate_limit_tier) REFERENCES public.rate_limit_tiers(tier);


--
-- Name: fund_valuations fund_valuations_firm_id_portfolio_fund_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.fund_valuations
    ADD CONSTRAINT fund_valuations_firm_id_portfolio_fund_id_fkey FOREIGN KEY (firm_id, portfolio_fund_id) REFERENCES public.portfolio_funds(firm_id, id) ON DELETE RESTRICT;


--
-- Name: funds funds_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.funds
    ADD CONSTRAINT funds_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: fx_rates fx_rates_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.fx_rates
    ADD CONSTRAINT fx_rates_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: holding_activity holding_activity_firm_id_portfolio_fund_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.holding_activity
    ADD CONSTRAINT holding_activity_firm_id_portfolio_fund_id_fkey FOREIGN KEY (firm_id, portfolio_fund_id) REFERENCES public.portfolio_funds(firm_id, id) ON DELETE RESTRICT;


--
-- Name: information_items information_items_firm_id_client_group_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.information_items
    ADD CONSTRAINT information_items_firm_id_client_group_id_fkey FOREIGN KEY (firm_id, client_group_id) REFERENCES public.client_groups(firm_id, id) ON DELETE RESTRICT;


--
-- Name: information_items information_items_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.information_items
    ADD CONSTRAINT information_items_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: login_challenges login_challenges_firm_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.login_challenges
    ADD CONSTRAINT login_challenges_firm_id_user_id_fkey FOREIGN KEY (firm_id, user_id) REFERENCES public.users(firm_id, id) ON DELETE CASCADE;


--
-- Name: login_failures login_failures_firm_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.login_failures
    ADD CONSTRAINT login_failures_firm_id_user_id_fkey FOREIGN KEY (firm_id, user_id) REFERENCES public.users(firm_id, id) ON DELETE CASCADE;


--
-- Name: login_throttle login_throttle_firm_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.login_throttle
    ADD CONSTRAINT login_throttle_firm_id_user_id_fkey FOREIGN KEY (firm_id, user_id) REFERENCES public.users(firm_id, id) ON DELETE CASCADE;


--
-- Name: networth_firm_totals networth_firm_totals_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.networth_firm_totals
    ADD CONSTRAINT networth_firm_totals_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: networth_snapshots networth_snapshots_firm_id_client_group_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.networth_snapshots
    ADD CONSTRAINT networth_snapshots_firm_id_client_group_id_fkey FOREIGN KEY (firm_id, client_group_id) REFERENCES public.client_groups(firm_id, id) ON DELETE CASCADE;


--
-- Name: networth_statements networth_statements_firm_id_client_group_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.networth_statements
    ADD CONSTRAINT networth_statements_firm_id_client_group_id_fkey FOREIGN KEY (firm_id, client_group_id) REFERENCES public.client_groups(firm_id, id) ON DELETE RESTRICT;


--
-- Name: notifications notifications_firm_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_firm_id_user_id_fkey FOREIGN KEY (firm_id, user_id) REFERENCES public.users(firm_id, id) ON DELETE CASCADE;


--
-- Name: objective_contributions objective_contributions_firm_id_objective_id_is_money_goal_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objective_contributions
    ADD CONSTRAINT objective_contributions_firm_id_objective_id_is_money_goal_fkey FOREIGN KEY (firm_id, objective_id, is_money_goal) REFERENCES public.objectives(firm_id, id, is_money_goal) ON DELETE CASCADE;


--
-- Name: objective_products objective_products_firm_id_objective_id_is_money_goal_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objective_products
    ADD CONSTRAINT objective_products_firm_id_objective_id_is_money_goal_fkey FOREIGN KEY (firm_id, objective_id, is_money_goal) REFERENCES public.objectives(firm_id, id, is_money_goal) ON DELETE CASCADE;


--
-- Name: objective_products objective_products_firm_id_product_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objective_products
    ADD CONSTRAINT objective_products_firm_id_product_id_fkey FOREIGN KEY (firm_id, product_id) REFERENCES public.products(firm_id, id) ON DELETE RESTRICT;


--
-- Name: objective_unmanaged_products objective_unmanaged_products_firm_id_objective_id_is_money_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objective_unmanaged_products
    ADD CONSTRAINT objective_unmanaged_products_firm_id_objective_id_is_money_fkey FOREIGN KEY (firm_id, objective_id, is_money_goal) REFERENCES public.objectives(firm_id, id, is_money_goal) ON DELETE CASCADE;


--
-- Name: objective_unmanaged_products objective_unmanaged_products_firm_id_unmanaged_product_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objective_unmanaged_products
    ADD CONSTRAINT objective_unmanaged_products_firm_id_unmanaged_product_id_fkey FOREIGN KEY (firm_id, unmanaged_product_id) REFERENCES public.unmanaged_products(firm_id, id) ON DELETE RESTRICT;


--
-- Name: objectives objectives_firm_id_client_group_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objectives
    ADD CONSTRAINT objectives_firm_id_client_group_id_fkey FOREIGN KEY (firm_id, client_group_id) REFERENCES public.client_groups(firm_id, id) ON DELETE RESTRICT;


--
-- Name: objectives objectives_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objectives
    ADD CONSTRAINT objectives_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: objectives objectives_plan_fk; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.objectives
    ADD CONSTRAINT objectives_plan_fk FOREIGN KEY (firm_id, plan_id) REFERENCES public.plans(firm_id, id) ON DELETE SET NULL (plan_id);


--
-- Name: plan_runs plan_runs_firm_id_plan_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.plan_runs
    ADD CONSTRAINT plan_runs_firm_id_plan_id_fkey FOREIGN KEY (firm_id, plan_id) REFERENCES public.plans(firm_id, id) ON DELETE CASCADE;


--
-- Name: plans plans_firm_id_client_group_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.plans
    ADD CONSTRAINT plans_firm_id_client_group_id_fkey FOREIGN KEY (firm_id, client_group_id) REFERENCES public.client_groups(firm_id, id) ON DELETE RESTRICT;


--
-- Name: plans plans_firm_id_cma_set_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.plans
    ADD CONSTRAINT plans_firm_id_cma_set_id_fkey FOREIGN KEY (firm_id, cma_set_id) REFERENCES public.cma_sets(firm_id, id) ON DELETE RESTRICT;


--
-- Name: plans plans_firm_id_parent_plan_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.plans
    ADD CONSTRAINT plans_firm_id_parent_plan_id_fkey FOREIGN KEY (firm_id, parent_plan_id) REFERENCES public.plans(firm_id, id) ON DELETE RESTRICT;


--
-- Name: plans plans_firm_id_root_plan_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.plans
    ADD CONSTRAINT plans_firm_id_root_plan_id_fkey FOREIGN KEY (firm_id, root_plan_id) REFERENCES public.plans(firm_id, id) ON DELETE RESTRICT;


--
-- Name: portfolio_funds portfolio_funds_firm_id_fund_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_funds
    ADD CONSTRAINT portfolio_funds_firm_id_fund_id_fkey FOREIGN KEY (firm_id, fund_id) REFERENCES public.funds(firm_id, id) ON DELETE RESTRICT;


--
-- Name: portfolio_funds portfolio_funds_firm_id_product_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_funds
    ADD CONSTRAINT portfolio_funds_firm_id_product_id_fkey FOREIGN KEY (firm_id, product_id) REFERENCES public.products(firm_id, id) ON DELETE RESTRICT;


--
-- Name: portfolio_model_allocations portfolio_model_allocations_cma_set_id_asset_class_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_model_allocations
    ADD CONSTRAINT portfolio_model_allocations_cma_set_id_asset_class_fkey FOREIGN KEY (cma_set_id, asset_class) REFERENCES public.cma_asset_classes(cma_set_id, code) ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED;


--
-- Name: portfolio_model_allocations portfolio_model_allocations_firm_id_portfolio_model_id_cma_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_model_allocations
    ADD CONSTRAINT portfolio_model_allocations_firm_id_portfolio_model_id_cma_fkey FOREIGN KEY (firm_id, portfolio_model_id, cma_set_id) REFERENCES public.portfolio_models(firm_id, id, cma_set_id) ON UPDATE CASCADE ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;


--
-- Name: portfolio_models portfolio_models_firm_id_cma_set_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_models
    ADD CONSTRAINT portfolio_models_firm_id_cma_set_id_fkey FOREIGN KEY (firm_id, cma_set_id) REFERENCES public.cma_sets(firm_id, id) ON DELETE RESTRICT;


--
-- Name: portfolio_models portfolio_models_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_models
    ADD CONSTRAINT portfolio_models_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: portfolio_templates portfolio_templates_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_templates
    ADD CONSTRAINT portfolio_templates_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: portfolio_valuations portfolio_valuations_firm_id_product_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.portfolio_valuations
    ADD CONSTRAINT portfolio_valuations_firm_id_product_id_fkey FOREIGN KEY (firm_id, product_id) REFERENCES public.products(firm_id, id) ON DELETE CASCADE;


--
-- Name: product_flows product_flows_firm_id_product_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.product_flows
    ADD CONSTRAINT product_flows_firm_id_product_id_fkey FOREIGN KEY (firm_id, product_id) REFERENCES public.products(firm_id, id) ON DELETE CASCADE;


--
-- Name: product_owners product_owners_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.product_owners
    ADD CONSTRAINT product_owners_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: products products_firm_id_client_group_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_firm_id_client_group_id_fkey FOREIGN KEY (firm_id, client_group_id) REFERENCES public.client_groups(firm_id, id) ON DELETE RESTRICT;


--
-- Name: products products_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: products products_firm_id_provider_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_firm_id_provider_id_fkey FOREIGN KEY (firm_id, provider_id) REFERENCES public.providers(firm_id, id) ON DELETE RESTRICT;


--
-- Name: products products_firm_id_template_generation_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_firm_id_template_generation_id_fkey FOREIGN KEY (firm_id, template_generation_id) REFERENCES public.template_generations(firm_id, id) ON DELETE RESTRICT;


--
-- Name: provider_switches provider_switches_firm_id_product_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.provider_switches
    ADD CONSTRAINT provider_switches_firm_id_product_id_fkey FOREIGN KEY (firm_id, product_id) REFERENCES public.products(firm_id, id) ON DELETE CASCADE;


--
-- Name: providers providers_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.providers
    ADD CONSTRAINT providers_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: recovery_codes recovery_codes_firm_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.recovery_codes
    ADD CONSTRAINT recovery_codes_firm_id_user_id_fkey FOREIGN KEY (firm_id, user_id) REFERENCES public.users(firm_id, id) ON DELETE CASCADE;


--
-- Name: sessions sessions_firm_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_firm_id_user_id_fkey FOREIGN KEY (firm_id, user_id) REFERENCES public.users(firm_id, id) ON DELETE CASCADE;


--
-- Name: template_generation_funds template_generation_funds_firm_id_fund_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.template_generation_funds
    ADD CONSTRAINT template_generation_funds_firm_id_fund_id_fkey FOREIGN KEY (firm_id, fund_id) REFERENCES public.funds(firm_id, id) ON DELETE RESTRICT;


--
-- Name: template_generation_funds template_generation_funds_firm_id_generation_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.template_generation_funds
    ADD CONSTRAINT template_generation_funds_firm_id_generation_id_fkey FOREIGN KEY (firm_id, generation_id) REFERENCES public.template_generations(firm_id, id) ON DELETE CASCADE;


--
-- Name: template_generations template_generations_firm_id_template_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.template_generations
    ADD CONSTRAINT template_generations_firm_id_template_id_fkey FOREIGN KEY (firm_id, template_id) REFERENCES public.portfolio_templates(firm_id, id) ON DELETE RESTRICT;


--
-- Name: unmanaged_products unmanaged_products_firm_id_client_group_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.unmanaged_products
    ADD CONSTRAINT unmanaged_products_firm_id_client_group_id_fkey FOREIGN KEY (firm_id, client_group_id) REFERENCES public.client_groups(firm_id, id) ON DELETE RESTRICT;


--
-- Name: unmanaged_products unmanaged_products_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.unmanaged_products
    ADD CONSTRAINT unmanaged_products_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: unmanaged_products unmanaged_products_firm_id_provider_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.unmanaged_products
    ADD CONSTRAINT unmanaged_products_firm_id_provider_id_fkey FOREIGN KEY (firm_id, provider_id) REFERENCES public.providers(firm_id, id) ON DELETE RESTRICT;


--
-- Name: unmanaged_valuations unmanaged_valuations_firm_id_unmanaged_product_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.unmanaged_valuations
    ADD CONSTRAINT unmanaged_valuations_firm_id_unmanaged_product_id_fkey FOREIGN KEY (firm_id, unmanaged_product_id) REFERENCES public.unmanaged_products(firm_id, id) ON DELETE RESTRICT;


--
-- Name: user_totp user_totp_firm_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.user_totp
    ADD CONSTRAINT user_totp_firm_id_user_id_fkey FOREIGN KEY (firm_id, user_id) REFERENCES public.users(firm_id, id) ON DELETE CASCADE;


--
-- Name: users users_firm_id_fkey; Type: FK CONSTRAINT; Schema: public
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_firm_id_fkey FOREIGN KEY (firm_id) REFERENCES public.firms(id) ON DELETE RESTRICT;


--
-- Name: actions; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.actions ENABLE ROW LEVEL SECURITY;

--
-- Name: api_keys; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: audit_events; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.audit_events ENABLE ROW LEVEL SECURITY;

--
-- Name: auth_context; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.auth_context ENABLE ROW LEVEL SECURITY;

--
-- Name: backup_verifications; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.backup_verifications ENABLE ROW LEVEL SECURITY;

--
-- Name: backups; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.backups ENABLE ROW LEVEL SECURITY;

--
-- Name: client_group_fum; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.client_group_fum ENABLE ROW LEVEL SECURITY;

--
-- Name: client_group_product_owners; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.client_group_product_owners ENABLE ROW LEVEL SECURITY;

--
-- Name: client_groups; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.client_groups ENABLE ROW LEVEL SECURITY;

--
-- Name: cma_asset_classes; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.cma_asset_classes ENABLE ROW LEVEL SECURITY;

--
-- Name: cma_sets; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.cma_sets ENABLE ROW LEVEL SECURITY;

--
-- Name: dashboard_writes; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.dashboard_writes ENABLE ROW LEVEL SECURITY;

--
-- Name: data_retention_policies; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.data_retention_policies ENABLE ROW LEVEL SECURITY;

--
-- Name: firm_irrs; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.firm_irrs ENABLE ROW LEVEL SECURITY;

--
-- Name: firm_job_runs; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.firm_job_runs ENABLE ROW LEVEL SECURITY;

--
-- Name: firms; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.firms ENABLE ROW LEVEL SECURITY;

--
-- Name: fund_valuations; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.fund_valuations ENABLE ROW LEVEL SECURITY;

--
-- Name: funds; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.funds ENABLE ROW LEVEL SECURITY;

--
-- Name: fx_rates; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.fx_rates ENABLE ROW LEVEL SECURITY;

--
-- Name: holding_activity; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.holding_activity ENABLE ROW LEVEL SECURITY;

--
-- Name: idempotency_keys; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: information_item_terms; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.information_item_terms ENABLE ROW LEVEL SECURITY;

--
-- Name: information_items; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.information_items ENABLE ROW LEVEL SECURITY;

--
-- Name: irr_values; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.irr_values ENABLE ROW LEVEL SECURITY;

--
-- Name: job_runs; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.job_runs ENABLE ROW LEVEL SECURITY;

--
-- Name: login_challenges; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.login_challenges ENABLE ROW LEVEL SECURITY;

--
-- Name: login_failures; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.login_failures ENABLE ROW LEVEL SECURITY;

--
-- Name: login_throttle; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.login_throttle ENABLE ROW LEVEL SECURITY;

--
-- Name: actions maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.actions TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: api_keys maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.api_keys TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: audit_events maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.audit_events TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: backup_verifications maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.backup_verifications TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: backups maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.backups TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: client_group_fum maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.client_group_fum TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: client_group_product_owners maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.client_group_product_owners TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: client_groups maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.client_groups TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: cma_asset_classes maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.cma_asset_classes TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: cma_sets maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.cma_sets TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: dashboard_writes maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.dashboard_writes TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: data_retention_policies maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.data_retention_policies TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: firm_irrs maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.firm_irrs TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: firm_job_runs maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.firm_job_runs TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: firms maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.firms TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: fund_valuations maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.fund_valuations TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: funds maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.funds TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: fx_rates maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.fx_rates TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: holding_activity maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.holding_activity TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: idempotency_keys maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.idempotency_keys TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: information_item_terms maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.information_item_terms TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: information_items maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.information_items TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: irr_values maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.irr_values TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: job_runs maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.job_runs TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: login_challenges maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.login_challenges TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: login_failures maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.login_failures TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: login_throttle maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.login_throttle TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: networth_firm_totals maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.networth_firm_totals TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: networth_snapshots maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.networth_snapshots TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: networth_statements maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.networth_statements TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: notifications maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.notifications TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: objective_contributions maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.objective_contributions TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: objective_products maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.objective_products TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: objective_unmanaged_products maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.objective_unmanaged_products TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: objectives maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.objectives TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: plan_runs maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.plan_runs TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: plans maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.plans TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: portfolio_funds maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.portfolio_funds TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: portfolio_model_allocations maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.portfolio_model_allocations TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: portfolio_models maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.portfolio_models TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: portfolio_templates maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.portfolio_templates TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: portfolio_valuations maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.portfolio_valuations TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: product_flows maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.product_flows TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: product_owners maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.product_owners TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: products maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.products TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: provider_switches maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.provider_switches TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: providers maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.providers TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: recovery_codes maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.recovery_codes TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: sessions maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.sessions TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: template_generation_funds maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.template_generation_funds TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: template_generations maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.template_generations TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: unmanaged_products maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.unmanaged_products TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: unmanaged_valuations maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.unmanaged_valuations TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: user_totp maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.user_totp TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: users maintenance; Type: POLICY; Schema: public
--

CREATE POLICY maintenance ON public.users TO wealthdesk_owner USING (true) WITH CHECK (true);


--
-- Name: networth_firm_totals; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.networth_firm_totals ENABLE ROW LEVEL SECURITY;

--
-- Name: networth_snapshots; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.networth_snapshots ENABLE ROW LEVEL SECURITY;

--
-- Name: networth_statements; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.networth_statements ENABLE ROW LEVEL SECURITY;

--
-- Name: notifications; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.notifications ENABLE ROW LEVEL SECURITY;

--
-- Name: objective_contributions; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.objective_contributions ENABLE ROW LEVEL SECURITY;

--
-- Name: objective_products; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.objective_products ENABLE ROW LEVEL SECURITY;

--
-- Name: objective_unmanaged_products; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.objective_unmanaged_products ENABLE ROW LEVEL SECURITY;

--
-- Name: objectives; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.objectives ENABLE ROW LEVEL SECURITY;

--
-- Name: auth_context own_backend; Type: POLICY; Schema: public
--

CREATE POLICY own_backend ON public.auth_context FOR SELECT USING ((pid = pg_backend_pid()));


--
-- Name: plan_runs; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.plan_runs ENABLE ROW LEVEL SECURITY;

--
-- Name: plans; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.plans ENABLE ROW LEVEL SECURITY;

--
-- Name: portfolio_funds; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.portfolio_funds ENABLE ROW LEVEL SECURITY;

--
-- Name: portfolio_model_allocations; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.portfolio_model_allocations ENABLE ROW LEVEL SECURITY;

--
-- Name: portfolio_models; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.portfolio_models ENABLE ROW LEVEL SECURITY;

--
-- Name: portfolio_templates; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.portfolio_templates ENABLE ROW LEVEL SECURITY;

--
-- Name: portfolio_valuations; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.portfolio_valuations ENABLE ROW LEVEL SECURITY;

--
-- Name: product_flows; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.product_flows ENABLE ROW LEVEL SECURITY;

--
-- Name: product_owners; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.product_owners ENABLE ROW LEVEL SECURITY;

--
-- Name: products; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.products ENABLE ROW LEVEL SECURITY;

--
-- Name: provider_switches; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.provider_switches ENABLE ROW LEVEL SECURITY;

--
-- Name: providers; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.providers ENABLE ROW LEVEL SECURITY;

--
-- Name: recovery_codes; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.recovery_codes ENABLE ROW LEVEL SECURITY;

--
-- Name: sessions; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.sessions ENABLE ROW LEVEL SECURITY;

--
-- Name: template_generation_funds; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.template_generation_funds ENABLE ROW LEVEL SECURITY;

--
-- Name: template_generations; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.template_generations ENABLE ROW LEVEL SECURITY;

--
-- Name: actions tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.actions USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: api_keys tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.api_keys USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: audit_events tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.audit_events USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: client_group_fum tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.client_group_fum USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: client_group_product_owners tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.client_group_product_owners USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: client_groups tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.client_groups USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: cma_asset_classes tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.cma_asset_classes USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: cma_sets tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.cma_sets USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: dashboard_writes tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.dashboard_writes USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: data_retention_policies tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.data_retention_policies USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: firm_irrs tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.firm_irrs USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: firm_job_runs tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.firm_job_runs USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: firms tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.firms USING ((id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: fund_valuations tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.fund_valuations USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: funds tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.funds USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: fx_rates tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.fx_rates USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: holding_activity tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.holding_activity USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: idempotency_keys tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.idempotency_keys USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: information_item_terms tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.information_item_terms USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: information_items tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.information_items USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: irr_values tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.irr_values USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: login_challenges tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.login_challenges USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: login_failures tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.login_failures USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: login_throttle tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.login_throttle USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: networth_firm_totals tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.networth_firm_totals USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: networth_snapshots tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.networth_snapshots USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: networth_statements tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.networth_statements USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: notifications tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.notifications USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: objective_contributions tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.objective_contributions USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: objective_products tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.objective_products USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: objective_unmanaged_products tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.objective_unmanaged_products USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: objectives tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.objectives USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: plan_runs tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.plan_runs USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: plans tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.plans USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: portfolio_funds tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.portfolio_funds USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: portfolio_model_allocations tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.portfolio_model_allocations USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: portfolio_models tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.portfolio_models USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: portfolio_templates tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.portfolio_templates USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: portfolio_valuations tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.portfolio_valuations USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: product_flows tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.product_flows USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: product_owners tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.product_owners USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: products tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.products USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: provider_switches tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.provider_switches USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: providers tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.providers USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: recovery_codes tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.recovery_codes USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: sessions tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.sessions USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: template_generation_funds tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.template_generation_funds USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: template_generations tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.template_generations USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: unmanaged_products tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.unmanaged_products USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: unmanaged_valuations tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.unmanaged_valuations USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: user_totp tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.user_totp USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: users tenant; Type: POLICY; Schema: public
--

CREATE POLICY tenant ON public.users USING ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id))) WITH CHECK ((firm_id = ( SELECT public.current_firm_id() AS current_firm_id)));


--
-- Name: unmanaged_products; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.unmanaged_products ENABLE ROW LEVEL SECURITY;

--
-- Name: unmanaged_valuations; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.unmanaged_valuations ENABLE ROW LEVEL SECURITY;

--
-- Name: user_totp; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.user_totp ENABLE ROW LEVEL SECURITY;

--
-- Name: users; Type: ROW SECURITY; Schema: public
--

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;

--
-- Name: SCHEMA public; Type: ACL; Schema: -
--

GRANT USAGE ON SCHEMA public TO wealthdesk_app;


--
-- Name: FUNCTION activity_sign(activity_type text); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.activity_sign(activity_type text) TO wealthdesk_app;


--
-- Name: FUNCTION auth_challenge_begin(p_token_hash bytea, p_purpose text, p_source text, p_reserve boolean); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_challenge_begin(p_token_hash bytea, p_purpose text, p_source text, p_reserve boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_challenge_begin(p_token_hash bytea, p_purpose text, p_source text, p_reserve boolean) TO wealthdesk_app;


--
-- Name: FUNCTION auth_check_reserve(p_user uuid, p_source text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_check_reserve(p_user uuid, p_source text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_check_reserve(p_user uuid, p_source text) TO wealthdesk_app;


--
-- Name: FUNCTION auth_count_source(p_source text, p_scale integer); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_count_source(p_source text, p_scale integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_count_source(p_source text, p_scale integer) TO wealthdesk_app;


--
-- Name: FUNCTION auth_enter(p_firm uuid, p_kind text, p_principal uuid); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_enter(p_firm uuid, p_kind text, p_principal uuid) FROM PUBLIC;


--
-- Name: FUNCTION auth_enter_api_key(p_prefix text, p_hash bytea); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_enter_api_key(p_prefix text, p_hash bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_enter_api_key(p_prefix text, p_hash bytea) TO wealthdesk_app;


--
-- Name: FUNCTION auth_enter_api_key(p_prefix text, p_hash bytea, p_bucket text, p_scale integer); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_enter_api_key(p_prefix text, p_hash bytea, p_bucket text, p_scale integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_enter_api_key(p_prefix text, p_hash bytea, p_bucket text, p_scale integer) TO wealthdesk_app;


--
-- Name: FUNCTION auth_enter_challenge(p_token_hash bytea, p_purpose text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_enter_challenge(p_token_hash bytea, p_purpose text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_enter_challenge(p_token_hash bytea, p_purpose text) TO wealthdesk_app;


--
-- Name: FUNCTION auth_enter_password(p_user uuid, p_source text, p_window bigint, p_encoded text, p_request_id text, p_ip text, p_user_agent text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_enter_password(p_user uuid, p_source text, p_window bigint, p_encoded text, p_request_id text, p_ip text, p_user_agent text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_enter_password(p_user uuid, p_source text, p_window bigint, p_encoded text, p_request_id text, p_ip text, p_user_agent text) TO wealthdesk_app;


--
-- Name: FUNCTION auth_enter_refresh(p_token_hash bytea, p_request_id text, p_ip text, p_user_agent text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_enter_refresh(p_token_hash bytea, p_request_id text, p_ip text, p_user_agent text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_enter_refresh(p_token_hash bytea, p_request_id text, p_ip text, p_user_agent text) TO wealthdesk_app;


--
-- Name: FUNCTION auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text) TO wealthdesk_app;


--
-- Name: FUNCTION auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text, p_bucket text, p_scale integer, OUT state text, OUT rate_limit integer, OUT rate_used integer, OUT rate_reset integer); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text, p_bucket text, p_scale integer, OUT state text, OUT rate_limit integer, OUT rate_used integer, OUT rate_reset integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text, p_bucket text, p_scale integer, OUT state text, OUT rate_limit integer, OUT rate_used integer, OUT rate_reset integer) TO wealthdesk_app;


--
-- Name: FUNCTION auth_enter_system(p_firm uuid); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_enter_system(p_firm uuid) FROM PUBLIC;


--
-- Name: FUNCTION auth_login_begin(p_email text, p_source text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_login_begin(p_email text, p_source text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_login_begin(p_email text, p_source text) TO wealthdesk_app;


--
-- Name: FUNCTION auth_login_failed(p_user uuid, p_source text, p_window bigint, p_factor text, p_request_id text, p_ip text, p_user_agent text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_login_failed(p_user uuid, p_source text, p_window bigint, p_factor text, p_request_id text, p_ip text, p_user_agent text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_login_failed(p_user uuid, p_source text, p_window bigint, p_factor text, p_request_id text, p_ip text, p_user_agent text) TO wealthdesk_app;


--
-- Name: FUNCTION auth_login_outcome(p_user uuid, p_source text, p_window bigint, p_outcome text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_login_outcome(p_user uuid, p_source text, p_window bigint, p_outcome text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_login_outcome(p_user uuid, p_source text, p_window bigint, p_outcome text) TO wealthdesk_app;


--
-- Name: FUNCTION auth_session_idle_timeout(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.auth_session_idle_timeout() TO wealthdesk_app;


--
-- Name: FUNCTION auth_unlock_account(p_user uuid); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_unlock_account(p_user uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_unlock_account(p_user uuid) TO wealthdesk_app;


--
-- Name: FUNCTION auth_user_by_email(p_email text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.auth_user_by_email(p_email text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_user_by_email(p_email text) TO wealthdesk_app;


--
-- Name: FUNCTION cma_correlations_valid(m numeric[]); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.cma_correlations_valid(m numeric[]) TO wealthdesk_app;


--
-- Name: FUNCTION current_firm_id(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.current_firm_id() TO wealthdesk_app;


--
-- Name: FUNCTION current_principal_is_system(); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.current_principal_is_system() FROM PUBLIC;
GRANT ALL ON FUNCTION public.current_principal_is_system() TO wealthdesk_app;


--
-- Name: FUNCTION firm_base_currency(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.firm_base_currency() TO wealthdesk_app;


--
-- Name: FUNCTION fund_rows_within_fund_dates(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.fund_rows_within_fund_dates() TO wealthdesk_app;


--
-- Name: FUNCTION fund_valuations_aggregate(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.fund_valuations_aggregate() TO wealthdesk_app;


--
-- Name: FUNCTION funds_aggregate(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.funds_aggregate() TO wealthdesk_app;


--
-- Name: FUNCTION fx_rate_on(p_currency text, p_day date); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.fx_rate_on(p_currency text, p_day date) TO wealthdesk_app;


--
-- Name: FUNCTION holding_activity_flows(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.holding_activity_flows() TO wealthdesk_app;


--
-- Name: FUNCTION information_data_is_valid(doc jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_data_is_valid(doc jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION information_data_latest_date(doc jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_data_latest_date(doc jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION information_date_of(v jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_date_of(v jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION information_is_date_key(k text); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_is_date_key(k text) TO wealthdesk_app;


--
-- Name: FUNCTION information_is_valuation_key(k text); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_is_valuation_key(k text) TO wealthdesk_app;


--
-- Name: FUNCTION information_item_words(category text, doc jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_item_words(category text, doc jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION information_items_check_owners(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_items_check_owners() TO wealthdesk_app;


--
-- Name: FUNCTION information_items_dates_check(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_items_dates_check() TO wealthdesk_app;


--
-- Name: FUNCTION information_items_terms_delete(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_items_terms_delete() TO wealthdesk_app;


--
-- Name: FUNCTION information_items_terms_insert(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_items_terms_insert() TO wealthdesk_app;


--
-- Name: FUNCTION information_items_terms_update(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_items_terms_update() TO wealthdesk_app;


--
-- Name: FUNCTION information_money_is_valid(v jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_money_is_valid(v jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION information_pairs(doc jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_pairs(doc jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION information_search_ranges(q text); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_search_ranges(q text) TO wealthdesk_app;


--
-- Name: FUNCTION information_words(t text); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.information_words(t text) TO wealthdesk_app;


--
-- Name: FUNCTION is_uuid_text(value text); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.is_uuid_text(value text) TO wealthdesk_app;


--
-- Name: FUNCTION isin_is_valid(isin text); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.isin_is_valid(isin text) TO wealthdesk_app;


--
-- Name: FUNCTION login_failed(p_firm uuid, p_user uuid, p_source text, p_window bigint, p_factor text, p_request_id text, p_ip text, p_user_agent text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.login_failed(p_firm uuid, p_user uuid, p_source text, p_window bigint, p_factor text, p_request_id text, p_ip text, p_user_agent text) FROM PUBLIC;


--
-- Name: FUNCTION login_reserve(p_firm uuid, p_user uuid, p_source text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.login_reserve(p_firm uuid, p_user uuid, p_source text) FROM PUBLIC;


--
-- Name: FUNCTION login_settle(p_firm uuid, p_user uuid, p_source text, p_window bigint, p_outcome text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.login_settle(p_firm uuid, p_user uuid, p_source text, p_window bigint, p_outcome text) FROM PUBLIC;


--
-- Name: FUNCTION membership_check_information_items(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.membership_check_information_items() TO wealthdesk_app;


--
-- Name: FUNCTION objective_contributions_refuse_future(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.objective_contributions_refuse_future() TO wealthdesk_app;


--
-- Name: FUNCTION objective_links_check(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.objective_links_check() TO wealthdesk_app;


--
-- Name: FUNCTION ownership_first_outsider(p_group uuid, p_ownership jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.ownership_first_outsider(p_group uuid, p_ownership jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION ownership_household_share(o jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.ownership_household_share(o jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION ownership_is_valid(o jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.ownership_is_valid(o jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION ownership_owner_ids(o jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.ownership_owner_ids(o jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION ownership_percentage_is_valid(value jsonb); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.ownership_percentage_is_valid(value jsonb) TO wealthdesk_app;


--
-- Name: FUNCTION portfolio_fund_dates(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.portfolio_fund_dates() TO wealthdesk_app;


--
-- Name: FUNCTION portfolio_fund_keeps_its_product(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.portfolio_fund_keeps_its_product() TO wealthdesk_app;


--
-- Name: FUNCTION portfolio_funds_aggregate(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.portfolio_funds_aggregate() TO wealthdesk_app;


--
-- Name: FUNCTION portfolio_funds_lock_product(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.portfolio_funds_lock_product() TO wealthdesk_app;


--
-- Name: FUNCTION portfolio_valuations_refresh(p_products uuid[], p_dates date[]); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.portfolio_valuations_refresh(p_products uuid[], p_dates date[]) TO wealthdesk_app;


--
-- Name: FUNCTION product_ends_after_its_rows(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.product_ends_after_its_rows() TO wealthdesk_app;


--
-- Name: FUNCTION product_flows_add(funds uuid[], dates date[], amounts numeric[], counts integer[]); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.product_flows_add(funds uuid[], dates date[], amounts numeric[], counts integer[]) TO wealthdesk_app;


--
-- Name: FUNCTION product_starts_before_its_funds(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.product_starts_before_its_funds() TO wealthdesk_app;


--
-- Name: FUNCTION rate_count(p_principal text, p_bucket text, p_limit integer, p_window integer, p_scale integer); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.rate_count(p_principal text, p_bucket text, p_limit integer, p_window integer, p_scale integer) FROM PUBLIC;


--
-- Name: FUNCTION rate_count_first(p_principal text, p_bucket text, p_start timestamp with time zone, p_window integer); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.rate_count_first(p_principal text, p_bucket text, p_start timestamp with time zone, p_window integer) FROM PUBLIC;


--
-- Name: FUNCTION rate_limit_figure(t public.rate_limit_tiers, p_bucket text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.rate_limit_figure(t public.rate_limit_tiers, p_bucket text) FROM PUBLIC;


--
-- Name: FUNCTION refresh_portfolio_valuations(p_product uuid, p_dates date[]); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.refresh_portfolio_valuations(p_product uuid, p_dates date[]) TO wealthdesk_app;


--
-- Name: FUNCTION unmanaged_current_value(p_product uuid, OUT value numeric, OUT valuation_date date); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.unmanaged_current_value(p_product uuid, OUT value numeric, OUT valuation_date date) TO wealthdesk_app;


--
-- Name: FUNCTION unmanaged_products_linked_kind_check(); Type: ACL; Schema: public
--

GRANT ALL ON FUNCTION public.unmanaged_products_linked_kind_check() TO wealthdesk_app;


--
-- Name: FUNCTION view_refreshed_at(p_view text); Type: ACL; Schema: public
--

REVOKE ALL ON FUNCTION public.view_refreshed_at(p_view text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.view_refreshed_at(p_view text) TO wealthdesk_app;


--
-- Name: TABLE _yoyo_migration; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public._yoyo_migration TO wealthdesk_app;


--
-- Name: TABLE actions; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.actions TO wealthdesk_app;


--
-- Name: TABLE api_keys; Type: ACL; Schema: public
--

GRANT INSERT,UPDATE ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.id; Type: ACL; Schema: public
--

GRANT SELECT(id) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.firm_id; Type: ACL; Schema: public
--

GRANT SELECT(firm_id) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.name; Type: ACL; Schema: public
--

GRANT SELECT(name) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.prefix; Type: ACL; Schema: public
--

GRANT SELECT(prefix) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.scopes; Type: ACL; Schema: public
--

GRANT SELECT(scopes) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.created_by; Type: ACL; Schema: public
--

GRANT SELECT(created_by) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.created_at; Type: ACL; Schema: public
--

GRANT SELECT(created_at) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.expires_at; Type: ACL; Schema: public
--

GRANT SELECT(expires_at) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.revoked_at; Type: ACL; Schema: public
--

GRANT SELECT(revoked_at) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.last_used_at; Type: ACL; Schema: public
--

GRANT SELECT(last_used_at) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.version; Type: ACL; Schema: public
--

GRANT SELECT(version) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: COLUMN api_keys.service; Type: ACL; Schema: public
--

GRANT SELECT(service) ON TABLE public.api_keys TO wealthdesk_app;


--
-- Name: TABLE audit_events; Type: ACL; Schema: public
--

GRANT SELECT,INSERT ON TABLE public.audit_events TO wealthdesk_app;


--
-- Name: TABLE auth_context; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.auth_context TO wealthdesk_app;


--
-- Name: TABLE client_group_fum; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.client_group_fum TO wealthdesk_app;


--
-- Name: TABLE client_group_product_owners; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.client_group_product_owners TO wealthdesk_app;


--
-- Name: TABLE client_groups; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.client_groups TO wealthdesk_app;


--
-- Name: TABLE portfolio_valuations; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.portfolio_valuations TO wealthdesk_app;


--
-- Name: TABLE products; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.products TO wealthdesk_app;


--
-- Name: TABLE template_generations; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.template_generations TO wealthdesk_app;


--
-- Name: TABLE product_positions_now; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.product_positions_now TO wealthdesk_app;


--
-- Name: TABLE client_group_summaries; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.client_group_summaries TO wealthdesk_app;


--
-- Name: TABLE cma_asset_classes; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.cma_asset_classes TO wealthdesk_app;


--
-- Name: TABLE cma_sets; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.cma_sets TO wealthdesk_app;


--
-- Name: TABLE dashboard_writes; Type: ACL; Schema: public
--

GRANT SELECT,INSERT ON TABLE public.dashboard_writes TO wealthdesk_app;


--
-- Name: TABLE data_retention_policies; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.data_retention_policies TO wealthdesk_app;


--
-- Name: TABLE firms; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.firms TO wealthdesk_app;


--
-- Name: TABLE portfolio_funds; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.portfolio_funds TO wealthdesk_app;


--
-- Name: TABLE product_owners; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.product_owners TO wealthdesk_app;


--
-- Name: TABLE firm_counts; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.firm_counts TO wealthdesk_app;


--
-- Name: TABLE firm_dashboard; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.firm_dashboard TO wealthdesk_app;


--
-- Name: TABLE fund_valuations; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.fund_valuations TO wealthdesk_app;


--
-- Name: TABLE firm_fund_totals; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.firm_fund_totals TO wealthdesk_app;


--
-- Name: TABLE firm_irrs; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.firm_irrs TO wealthdesk_app;


--
-- Name: TABLE firm_job_runs; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.firm_job_runs TO wealthdesk_app;


--
-- Name: TABLE firm_top_households; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.firm_top_households TO wealthdesk_app;


--
-- Name: TABLE funds; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.funds TO wealthdesk_app;


--
-- Name: TABLE fx_rates; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.fx_rates TO wealthdesk_app;


--
-- Name: TABLE holding_activity; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.holding_activity TO wealthdesk_app;


--
-- Name: TABLE idempotency_keys; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.idempotency_keys TO wealthdesk_app;


--
-- Name: TABLE information_item_terms; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.information_item_terms TO wealthdesk_app;


--
-- Name: TABLE information_items; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.information_items TO wealthdesk_app;


--
-- Name: TABLE irr_values; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.irr_values TO wealthdesk_app;


--
-- Name: TABLE login_challenges; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.login_challenges TO wealthdesk_app;


--
-- Name: TABLE login_failures; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.login_failures TO wealthdesk_app;


--
-- Name: TABLE login_throttle; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.login_throttle TO wealthdesk_app;


--
-- Name: TABLE networth_firm_totals; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.networth_firm_totals TO wealthdesk_app;


--
-- Name: TABLE networth_snapshots; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.networth_snapshots TO wealthdesk_app;


--
-- Name: TABLE networth_statements; Type: ACL; Schema: public
--

GRANT SELECT,INSERT ON TABLE public.networth_statements TO wealthdesk_app;


--
-- Name: TABLE notifications; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.notifications TO wealthdesk_app;


--
-- Name: TABLE objective_contributions; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE ON TABLE public.objective_contributions TO wealthdesk_app;


--
-- Name: TABLE objective_products; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.objective_products TO wealthdesk_app;


--
-- Name: TABLE objective_unmanaged_products; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.objective_unmanaged_products TO wealthdesk_app;


--
-- Name: TABLE objectives; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.objectives TO wealthdesk_app;


--
-- Name: TABLE ops_backup_verifications; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.ops_backup_verifications TO wealthdesk_app;


--
-- Name: TABLE ops_backups; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.ops_backups TO wealthdesk_app;


--
-- Name: TABLE plan_runs; Type: ACL; Schema: public
--

GRANT SELECT,INSERT ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.status; Type: ACL; Schema: public
--

GRANT UPDATE(status) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.attempts; Type: ACL; Schema: public
--

GRANT UPDATE(attempts) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.engine_inputs; Type: ACL; Schema: public
--

GRANT UPDATE(engine_inputs) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.algorithm_version; Type: ACL; Schema: public
--

GRANT UPDATE(algorithm_version) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.outputs; Type: ACL; Schema: public
--

GRANT UPDATE(outputs) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.outputs_sha256; Type: ACL; Schema: public
--

GRANT UPDATE(outputs_sha256) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.probability_of_success; Type: ACL; Schema: public
--

GRANT UPDATE(probability_of_success) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.error; Type: ACL; Schema: public
--

GRANT UPDATE(error) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.duration_ms; Type: ACL; Schema: public
--

GRANT UPDATE(duration_ms) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.started_at; Type: ACL; Schema: public
--

GRANT UPDATE(started_at) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: COLUMN plan_runs.finished_at; Type: ACL; Schema: public
--

GRANT UPDATE(finished_at) ON TABLE public.plan_runs TO wealthdesk_app;


--
-- Name: TABLE plans; Type: ACL; Schema: public
--

GRANT SELECT,INSERT ON TABLE public.plans TO wealthdesk_app;


--
-- Name: TABLE portfolio_model_allocations; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.portfolio_model_allocations TO wealthdesk_app;


--
-- Name: TABLE portfolio_models; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.portfolio_models TO wealthdesk_app;


--
-- Name: TABLE portfolio_templates; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.portfolio_templates TO wealthdesk_app;


--
-- Name: TABLE product_flows; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.product_flows TO wealthdesk_app;


--
-- Name: TABLE product_positions; Type: ACL; Schema: public
--

GRANT SELECT ON TABLE public.product_positions TO wealthdesk_app;


--
-- Name: TABLE provider_switches; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.provider_switches TO wealthdesk_app;


--
-- Name: TABLE providers; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.providers TO wealthdesk_app;


--
-- Name: TABLE recovery_codes; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.recovery_codes TO wealthdesk_app;


--
-- Name: TABLE sessions; Type: ACL; Schema: public
--

GRANT INSERT,UPDATE ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.id; Type: ACL; Schema: public
--

GRANT SELECT(id) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.firm_id; Type: ACL; Schema: public
--

GRANT SELECT(firm_id) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.user_id; Type: ACL; Schema: public
--

GRANT SELECT(user_id) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.chain_id; Type: ACL; Schema: public
--

GRANT SELECT(chain_id) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.created_at; Type: ACL; Schema: public
--

GRANT SELECT(created_at) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.expires_at; Type: ACL; Schema: public
--

GRANT SELECT(expires_at) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.used_at; Type: ACL; Schema: public
--

GRANT SELECT(used_at) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.revoked_at; Type: ACL; Schema: public
--

GRANT SELECT(revoked_at) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.ip; Type: ACL; Schema: public
--

GRANT SELECT(ip) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.user_agent; Type: ACL; Schema: public
--

GRANT SELECT(user_agent) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: COLUMN sessions.last_used_at; Type: ACL; Schema: public
--

GRANT SELECT(last_used_at) ON TABLE public.sessions TO wealthdesk_app;


--
-- Name: TABLE template_generation_funds; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.template_generation_funds TO wealthdesk_app;


--
-- Name: TABLE unmanaged_products; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.unmanaged_products TO wealthdesk_app;


--
-- Name: TABLE unmanaged_valuations; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.unmanaged_valuations TO wealthdesk_app;


--
-- Name: TABLE user_totp; Type: ACL; Schema: public
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.user_totp TO wealthdesk_app;


--
-- Name: TABLE users; Type: ACL; Schema: public
--

GRANT INSERT,UPDATE ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.id; Type: ACL; Schema: public
--

GRANT SELECT(id) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.firm_id; Type: ACL; Schema: public
--

GRANT SELECT(firm_id) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.email; Type: ACL; Schema: public
--

GRANT SELECT(email) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.name; Type: ACL; Schema: public
--

GRANT SELECT(name) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.role; Type: ACL; Schema: public
--

GRANT SELECT(role) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.active; Type: ACL; Schema: public
--

GRANT SELECT(active) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.failed_logins; Type: ACL; Schema: public
--

GRANT SELECT(failed_logins) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.locked_until; Type: ACL; Schema: public
--

GRANT SELECT(locked_until) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.last_login_at; Type: ACL; Schema: public
--

GRANT SELECT(last_login_at) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.created_at; Type: ACL; Schema: public
--

GRANT SELECT(created_at) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.updated_at; Type: ACL; Schema: public
--

GRANT SELECT(updated_at) ON TABLE public.users TO wealthdesk_app;


--
-- Name: COLUMN users.version; Type: ACL; Schema: public
--

GRANT SELECT(version) ON TABLE public.users TO wealthdesk_app;
