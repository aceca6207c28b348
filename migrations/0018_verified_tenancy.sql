-- Tenancy bound to a principal PostgreSQL itself has verified, even against the app role's own credentials.
--
-- Until now row-level security read the setting app.firm_id, which the app role may set to anything: RLS caught
-- a forgotten WHERE, but an SQL injection or a stolen app credential could read every firm. From here:
--
-- * A transaction's firm is recorded only by SECURITY DEFINER functions that verify a credential first: an access
--   token's session (session id + user + firm + role, not revoked, not expired, not idle: auth_enter_session), an
--   API key (its SHA-256: auth_enter_api_key), a password (the argon2 hash the app computed from it, compared
--   here against a check reserved by auth_login_begin, the outcome settled here: auth_enter_password), a login
--   challenge (a right password's answer, while the second factor is checked: auth_enter_challenge) or a refresh
--   token (its SHA-256, with the firm's two-factor requirement: auth_enter_refresh).
--   They write the verified firm into auth_context, one row per backend keyed by the backend's pid and stamped
--   with the transaction's id: the app role may read its own backend's row and write none.
-- * current_firm_id() returns that row's firm only while its transaction id is the current one, so the context
--   ends with its transaction (a pooled connection's next transaction starts with none). It no longer reads any
--   setting. Policies and the security-barrier views call it once per statement, as `(SELECT current_firm_id())`.
-- * The system context (jobs, the command line) belongs to the owner role: auth_enter_system, which only the owner
--   may run, records the firm and switches the rest of the transaction to the app role (SET LOCAL ROLE), so the
--   same policies scope it. The owner must therefore be a member of the app role (`wealthdesk migrate` grants it
--   when it can; docs/deploy.md has the line for operators).
-- * Pre-auth lookups return no hash: auth_user_by_email and auth_login_begin give the password hash's parameters
--   and salt, never the hash; API keys and refresh tokens are compared here. A failed check (a wrong password
--   before any firm is entered, or a wrong second factor) is settled, audited and notified in PostgreSQL
--   (login_failed). The app role can no longer SELECT the columns
--   users.password_hash, api_keys.key_hash and sessions.token_hash at all.
-- * Sessions: last_used_at (kept at minute resolution by auth_enter_session), an idle timeout of two hours
--   (auth_session_idle_timeout). API keys: `service` (a firm service key outlives its creator; any other key works
--   only while the admin who made it is an active admin).
-- depends: 0017_login_lockout_and_two_factor

-- Nobody but the owner creates objects in public (PostgreSQL 15+ already says so; older databases said otherwise).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE UNLOGGED TABLE auth_context (
    pid           integer PRIMARY KEY,
    xact          xid8 NOT NULL,
    firm_id       uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('user', 'api_key', 'system')),
    principal_id  uuid,
    entered_at    timestamptz NOT NULL
) WITH (fillfactor = 50);
ALTER TABLE auth_context ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_backend ON auth_context FOR SELECT USING (pid = pg_backend_pid());
REVOKE ALL ON auth_context FROM PUBLIC;
GRANT SELECT ON auth_context TO wealthdesk_app;

-- The verified firm of the current transaction, or NULL. Invoker rights: it reads the caller's own backend row
-- (the policy above); the table and operators are named with their schemas so that no object of the caller's
-- can stand in for them.
-- PARALLEL RESTRICTED: a parallel worker has another pid.
CREATE OR REPLACE FUNCTION current_firm_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    AS $$ SELECT c.firm_id FROM public.auth_context c
          WHERE c.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
            AND c.xact OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id_if_assigned() $$;

-- Records the verified context of this transaction (called by the functions below, as the owner). A row is only
-- ever read by its own transaction, so any row whose transaction has ended may go: a backend's first context
-- (a new connection) deletes the rows entered more than a day ago (ended backends, whose pids may come back, and
-- long-idle ones, which simply insert again), skipping any a running transaction holds.
-- Only the owner may run it (and its callers, SECURITY DEFINER functions with their search path pinned, whose
-- path it inherits: it sets none of its own, which keeps the per-request call cheap).
CREATE FUNCTION auth_enter(p_firm uuid, p_kind text, p_principal uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE
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
REVOKE ALL ON FUNCTION auth_enter(uuid, text, uuid) FROM PUBLIC;

-- A session unused for this long is over (access tokens and refresh alike).
CREATE FUNCTION auth_session_idle_timeout() RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT interval '2 hours' $$;

ALTER TABLE sessions ADD COLUMN last_used_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE api_keys ADD COLUMN service boolean NOT NULL DEFAULT false;

-- An access token: its session is live (not revoked, not expired, used within the idle timeout), of this user,
-- in this firm, and the user is still active in the token's role. Marks the session used (at most once a
-- minute) and enters the firm.
CREATE FUNCTION auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
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

-- An API key, by its prefix and the SHA-256 of the whole key: nothing for an unknown prefix or another hash;
-- otherwise the key and its state. 'ok' (the firm entered, last_used_at kept at minute resolution) needs the key
-- unrevoked, unexpired, and either a firm service key or made by a user who is still an active admin.
CREATE FUNCTION auth_enter_api_key(p_prefix text, p_hash bytea)
    RETURNS TABLE (id uuid, firm_id uuid, scopes text[], service boolean, state text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
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

-- Login, step 1: the user of one exact email, with the argon2 hash's parameters and salt (everything before the
-- hash's last `$`), never the hash.
DROP FUNCTION auth_user_by_email(text);
CREATE FUNCTION auth_user_by_email(p_email text)
    RETURNS TABLE (id uuid, firm_id uuid, role text, active boolean, failed_logins integer,
                   locked_until timestamptz, password_setting text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT u.id, u.firm_id, u.role, u.active, u.failed_logins, u.locked_until,
                 regexp_replace(u.password_hash, '\$[^$]*$', '')
          FROM users u WHERE u.email = lower(p_email) $$;

-- Login, step 1 (replacing 0017's): the user behind an exact email with a password check reserved, as before, but
-- with the argon2 hash's parameters and salt (`password_setting`: everything before the hash's last `$`) instead
-- of the hash. Commit before checking the password.
DROP FUNCTION auth_login_begin(text, text);
CREATE FUNCTION auth_login_begin(p_email text, p_source text)
    RETURNS TABLE (user_id uuid, firm_id uuid, role text, password_setting text, attempt bigint, two_factor text)
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
    RETURN QUERY SELECT u.id, u.firm_id, u.role, regexp_replace(u.password_hash, '\$[^$]*$', ''), v_window,
                        CASE WHEN coalesce(u.has_totp, false) THEN 'totp'
                             WHEN u.require_two_factor THEN 'totp_enrolment' END;
END $$;

-- The outcome of a reserved check for a user of a given firm (0017's auth_login_outcome, whose body this is, now
-- also settles the checks of callers that have entered no firm: a wrong password). Not callable by the app role.
CREATE FUNCTION login_settle(p_firm uuid, p_user uuid, p_source text, p_window bigint, p_outcome text)
    RETURNS TABLE (pair_locked_until timestamptz, account_locked_until timestamptz, failures_last_hour integer,
                   sources_last_hour integer)
    LANGUAGE plpgsql SET search_path = public, pg_temp
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
REVOKE ALL ON FUNCTION login_settle(uuid, uuid, text, bigint, text) FROM PUBLIC;

-- 0017's function, for a user of the current (entered) firm: a second factor's outcome.
CREATE OR REPLACE FUNCTION auth_login_outcome(p_user uuid, p_source text, p_window bigint, p_outcome text)
    RETURNS TABLE (pair_locked_until timestamptz, account_locked_until timestamptz, failures_last_hour integer,
                   sources_last_hour integer)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    v_firm uuid := current_firm_id();
BEGIN
    IF v_firm IS NULL OR NOT EXISTS (SELECT 1 FROM users us WHERE us.id = p_user AND us.firm_id = v_firm) THEN
        RAISE EXCEPTION 'no such user in the current firm';
    END IF;
    RETURN QUERY SELECT * FROM login_settle(v_firm, p_user, p_source, p_window, p_outcome);
END $$;

-- A reserved check failed (`p_factor`: login_password, totp or recovery_code): counted for the pair and the
-- account, audited (auth.login_failed); a lock it set on the account is audited (auth.account_locked) and told
-- to its user and the firm's other active admins (notifications). Not callable by the app role: auth_enter_password
-- runs it for a wrong password, auth_login_failed for a wrong second factor.
CREATE FUNCTION login_failed(p_firm uuid, p_user uuid, p_source text, p_window bigint, p_factor text,
                             p_request_id text, p_ip text, p_user_agent text) RETURNS void
    LANGUAGE plpgsql SET search_path = public, pg_temp
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
REVOKE ALL ON FUNCTION login_failed(uuid, uuid, text, bigint, text, text, text, text) FROM PUBLIC;

-- A wrong second factor, for a user of the current (entered) firm: login_failed.
CREATE FUNCTION auth_login_failed(p_user uuid, p_source text, p_window bigint, p_factor text, p_request_id text,
                                  p_ip text, p_user_agent text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
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

-- Login, step 2: the encoded argon2 hash the app computed from the password with the setting auth_login_begin
-- gave, compared here with the stored one, against the check auth_login_begin reserved for (user, source): each
-- reservation pays for one comparison (it is spent here whatever the answer), so the 5 checks per window hold
-- even for a caller holding the app role's credentials. Returns:
-- 'ok' (the check settled as a success, or handed back when a second factor is due: `two_factor`; the user's firm
-- entered, for the session or the challenge), 'wrong' (the failure counted, audited and, when it locks the
-- account, notified: login_failed; no firm entered) or 'refused' (no such reservation, or the user is no longer
-- active or the account is locked: nothing compared).
CREATE FUNCTION auth_enter_password(p_user uuid, p_source text, p_window bigint, p_encoded text,
                                    p_request_id text, p_ip text, p_user_agent text)
    RETURNS TABLE (outcome text, two_factor text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
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

-- The login's second step: the challenge behind a token (the answer to a right password, 5 minutes long), of the
-- given purpose, unexpired, its user active and the account not locked: the user's firm entered, while the code
-- is checked (the caller locks the challenge and finds it still unused). Nothing when there is no such challenge.
CREATE FUNCTION auth_enter_challenge(p_token_hash bytea, p_purpose text)
    RETURNS TABLE (challenge_id uuid, firm_id uuid, user_id uuid, role text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
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

-- Refresh: the session of a refresh token (its SHA-256), locked. 'ok' enters the firm as the token's user (the
-- caller then marks the token used and issues the next in the chain); 'reused' means a used token came back: the
-- whole chain is revoked and audited here; 'invalid' covers unknown, revoked, expired or idle sessions and
-- inactive users, and a user without two-factor once the firm requires it (the chain is revoked and audited).
CREATE FUNCTION auth_enter_refresh(p_token_hash bytea, p_request_id text, p_ip text, p_user_agent text)
    RETURNS TABLE (outcome text, session_id uuid, user_id uuid, firm_id uuid, chain_id uuid, role text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
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

-- The system context: the owner role's jobs and command line act inside one firm as the app role would, under
-- the same policies. Only the owner may run it (it has no SECURITY DEFINER: run by anyone else, its INSERT and
-- its role switch would both be refused).
CREATE FUNCTION auth_enter_system(p_firm uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp
    AS $$
BEGIN
    PERFORM auth_enter(p_firm, 'system', NULL);
    PERFORM set_config('role', 'wealthdesk_app', true);
END $$;
REVOKE ALL ON FUNCTION auth_enter_system(uuid) FROM PUBLIC;

DROP FUNCTION auth_session_valid(uuid, uuid, text);
DROP FUNCTION auth_api_key(text);
DROP FUNCTION auth_session_firm(bytea);

REVOKE ALL ON FUNCTION auth_enter_session(uuid, uuid, uuid, text), auth_enter_api_key(text, bytea),
    auth_user_by_email(text), auth_login_begin(text, text),
    auth_enter_password(uuid, text, bigint, text, text, text, text), auth_enter_challenge(bytea, text),
    auth_login_failed(uuid, text, bigint, text, text, text, text), auth_enter_refresh(bytea, text, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_enter_session(uuid, uuid, uuid, text), auth_enter_api_key(text, bytea),
    auth_user_by_email(text), auth_login_begin(text, text),
    auth_enter_password(uuid, text, bigint, text, text, text, text), auth_enter_challenge(bytea, text),
    auth_login_failed(uuid, text, bigint, text, text, text, text), auth_enter_refresh(bytea, text, text, text),
    auth_session_idle_timeout() TO wealthdesk_app;

-- No hash column is readable by the app role, even inside its own firm: SELECT on every other column only.
-- (INSERT and UPDATE stay: the app writes a new password's hash, a new key's and a new refresh token's.)
REVOKE SELECT ON users, sessions, api_keys FROM wealthdesk_app;
DO $$
DECLARE
    t text;
    cols text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'sessions', 'api_keys'] LOOP
        SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = t
          AND column_name NOT IN ('password_hash', 'key_hash', 'token_hash');
        EXECUTE format('GRANT SELECT (%s) ON %I TO wealthdesk_app', cols, t);
    END LOOP;
END $$;

-- Every tenant policy and every view that filters on current_firm_id() calls it once per statement (an InitPlan)
-- rather than once per row: it is now a lookup, not a setting.
DO $$
DECLARE
    p record;
    v record;
BEGIN
    FOR p IN SELECT tablename, policyname, qual, with_check FROM pg_policies
             WHERE schemaname = 'public' AND policyname = 'tenant' LOOP
        EXECUTE format('ALTER POLICY %I ON %I', p.policyname, p.tablename)
             || CASE WHEN p.qual IS NULL THEN '' ELSE format(' USING (%s)', regexp_replace(
                    p.qual, '(public\.)?current_firm_id\(\)', '(SELECT current_firm_id())', 'g')) END
             || CASE WHEN p.with_check IS NULL THEN '' ELSE format(' WITH CHECK (%s)', regexp_replace(
                    p.with_check, '(public\.)?current_firm_id\(\)', '(SELECT current_firm_id())', 'g')) END;
    END LOOP;
    FOR v IN SELECT c.relname, pg_get_viewdef(c.oid) AS def FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'
               AND pg_get_viewdef(c.oid) ~ 'current_firm_id\(\)' LOOP
        EXECUTE format('CREATE OR REPLACE VIEW %I WITH (security_barrier = true) AS %s', v.relname,
                       regexp_replace(v.def, '(public\.)?current_firm_id\(\)', '(SELECT current_firm_id())', 'g'));
    END LOOP;
END $$;
