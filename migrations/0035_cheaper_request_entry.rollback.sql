-- Back to 0020: rate_counters and auth_context check their columns with CHECK constraints again, and
-- auth_enter_session and auth_enter_api_key are 0020's (counting through rate_count, entering through auth_enter).

-- 0018's access-token check, counting the request: the session is live (not revoked, not expired, used within
-- the idle timeout), of this user, in this firm, and the user is still active in the token's role. With a bucket,
-- the request is counted against the user under the firm's tier first (rate_*), and over the limit the firm is
-- not entered (state 'limited'); without one (a later transaction of a request already counted) nothing is
-- counted. 'ok' marks the session used (at most once a minute) and enters the firm; 'refused' counts nothing.
DROP FUNCTION auth_enter_session(uuid, uuid, uuid, text, text, integer);
CREATE FUNCTION auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text, p_bucket text,
                                   p_scale integer)
    RETURNS TABLE (state text, rate_limit integer, rate_used integer, rate_reset integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    s record;
BEGIN
    SELECT x.last_used_at, rate_limit_figure(t, p_bucket) AS per_window, t.window_seconds INTO s
      FROM sessions x JOIN users u ON u.id = x.user_id AND u.firm_id = x.firm_id
                      JOIN firms f ON f.id = x.firm_id
                      JOIN rate_limit_tiers t ON t.tier = f.rate_limit_tier
     WHERE x.id = p_session AND x.user_id = p_user AND x.firm_id = p_firm AND x.revoked_at IS NULL
       AND x.expires_at > now() AND x.last_used_at > now() - auth_session_idle_timeout()
       AND u.active AND u.role = p_role;
    IF NOT FOUND THEN
        state := 'refused';
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_bucket IS NOT NULL THEN
        SELECT r.rate_limit, r.rate_used, r.rate_reset INTO rate_limit, rate_used, rate_reset
          FROM rate_count('user:' || p_user, p_bucket, s.per_window, s.window_seconds, p_scale) r;
        IF rate_used > rate_limit THEN
            state := 'limited';
            RETURN NEXT;
            RETURN;
        END IF;
    END IF;
    IF s.last_used_at < now() - interval '1 minute' THEN
        UPDATE sessions SET last_used_at = now() WHERE id = p_session;
    END IF;
    PERFORM auth_enter(p_firm, 'user', p_user);
    state := 'ok';
    RETURN NEXT;
END $$;

-- 0018's API-key check, counting the request against the key (not its creator) under its firm's tier when given a
-- bucket: nothing for an unknown prefix or another hash; otherwise the key, its state and the window's figures.
-- 'ok' (the firm entered, last_used_at kept at minute resolution) needs the key unrevoked, unexpired, either a firm
-- service key or made by a user who is still an active admin, and within its limit ('limited' otherwise: counted,
-- the firm not entered). A key in any other state is not counted.
CREATE OR REPLACE FUNCTION auth_enter_api_key(p_prefix text, p_hash bytea, p_bucket text, p_scale integer)
    RETURNS TABLE (id uuid, firm_id uuid, scopes text[], service boolean, state text, rate_limit integer,
                   rate_used integer, rate_reset integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    k record;
BEGIN
    SELECT a.id, a.firm_id, a.key_hash, a.scopes, a.service, a.revoked_at, a.expires_at, a.last_used_at,
           rate_limit_figure(t, p_bucket) AS per_window, t.window_seconds,
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
        SELECT r.rate_limit, r.rate_used, r.rate_reset INTO rate_limit, rate_used, rate_reset
          FROM rate_count('api_key:' || k.id, p_bucket, k.per_window, k.window_seconds, p_scale) r;
        IF rate_used > rate_limit THEN
            state := 'limited';
        END IF;
    END IF;
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

REVOKE ALL ON FUNCTION auth_enter_session(uuid, uuid, uuid, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_enter_session(uuid, uuid, uuid, text, text, integer) TO wealthdesk_app;
DROP FUNCTION rate_count_first(text, text, timestamptz, integer);

ALTER TABLE rate_counters
    ALTER COLUMN principal TYPE text,
    ALTER COLUMN bucket TYPE text,
    ALTER COLUMN count TYPE integer,
    ADD CONSTRAINT rate_counters_principal_check CHECK (length(principal) BETWEEN 1 AND 120),
    ADD CONSTRAINT rate_counters_bucket_check CHECK (bucket IN ('default', 'bulk', 'auth', 'source')),
    ADD CONSTRAINT rate_counters_count_check CHECK (count > 0);
ALTER TABLE auth_context
    ALTER COLUMN kind TYPE text,
    ADD CONSTRAINT auth_context_kind_check CHECK (kind IN ('user', 'api_key', 'system'));
DROP DOMAIN rate_counter_principal;
DROP DOMAIN rate_counter_bucket;
DROP DOMAIN rate_counter_count;
DROP DOMAIN auth_context_kind;
