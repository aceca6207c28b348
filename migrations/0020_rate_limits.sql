-- Rate limits per user, per API key and, before sign-in, per source address, counted in PostgreSQL.
--
-- * rate_limit_tiers: how many requests a principal may make per window, by kind of route (`bucket`): `default`,
--   `bulk` (the :bulk writes and other heavy routes), `auth` (a signed-in user's two-factor management) and
--   `source` (the sign-in routes, per source address: no principal exists yet; always the `standard` row's figure).
--   Each firm has a tier (firms.rate_limit_tier, `standard` unless an operator gives it another); its users and
--   API keys count against that tier's figures. An operator may change the figures with SQL.
-- * rate_counters: fixed windows (window_start, every window_seconds) per principal and bucket, one row per
--   backend (pid) that served the principal in the window, so concurrent requests on other connections never wait
--   for one another's row lock (a request's count is taken in the statement that opens its transaction and its
--   row stays locked until the transaction ends); the window's count is the sum of the rows. UNLOGGED: counters
--   are not worth WAL (a crash empties the table, which only forgives the current minute).
-- * The count is folded into the SECURITY DEFINER functions that already open every transaction with a verified
--   credential (0018's auth_enter_session and auth_enter_api_key get versions that take the route's bucket and
--   answer the window's figures beside what they answered), so a request makes no extra round trip. Over the
--   limit they do not enter the firm: nothing the request asked for can run. The sign-in routes count their
--   source address with auth_count_source before anything else runs.
-- * Expired windows go as new ones come: each new row (once per principal, bucket, backend and window) deletes up
--   to 100 rows whose window has ended, skipping any a running transaction holds.
-- depends: 0018_verified_tenancy

CREATE TABLE rate_limit_tiers (
    tier              text PRIMARY KEY CHECK (tier ~ '^[a-z][a-z0-9_]{0,29}$'),
    window_seconds    integer NOT NULL DEFAULT 60 CHECK (window_seconds BETWEEN 1 AND 3600),
    default_requests  integer NOT NULL CHECK (default_requests > 0),
    bulk_requests     integer NOT NULL CHECK (bulk_requests > 0),
    auth_requests     integer NOT NULL CHECK (auth_requests > 0),
    source_requests   integer NOT NULL CHECK (source_requests > 0)
);
INSERT INTO rate_limit_tiers (tier, window_seconds, default_requests, bulk_requests, auth_requests, source_requests)
VALUES ('standard', 60, 60, 10, 10, 30),
       ('elevated', 60, 300, 60, 10, 30);
REVOKE ALL ON rate_limit_tiers FROM PUBLIC;

ALTER TABLE firms ADD COLUMN rate_limit_tier text NOT NULL DEFAULT 'standard' REFERENCES rate_limit_tiers (tier);

CREATE UNLOGGED TABLE rate_counters (
    principal     text NOT NULL CHECK (length(principal) BETWEEN 1 AND 120),
    bucket        text NOT NULL CHECK (bucket IN ('default', 'bulk', 'auth', 'source')),
    window_start  timestamptz NOT NULL,
    pid           integer NOT NULL,
    count         integer NOT NULL CHECK (count > 0),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (principal, bucket, window_start, pid)
) WITH (fillfactor = 50);
CREATE INDEX rate_counters_expires_idx ON rate_counters (expires_at);
REVOKE ALL ON rate_counters FROM PUBLIC;

-- One request of `p_principal` counted in `p_bucket`'s current window: `p_limit` requests per `p_window` seconds
-- (the caller's tier's figure for the bucket, rate_limit_figure), times `p_scale` (1 unless a test run or load test raised it;
-- at most 1,000,000). Answers the window's limit, how many requests it has counted (this one included; concurrent
-- requests still in flight on other connections are not yet visible) and the whole seconds until it ends. One
-- statement adds to this backend's row and sums the others'; a new row also deletes up to 100 ended windows. Only
-- the owner may run it (its callers are SECURITY DEFINER functions with their search path pinned).
CREATE FUNCTION rate_count(p_principal text, p_bucket text, p_limit integer, p_window integer, p_scale integer)
    RETURNS TABLE (rate_limit integer, rate_used integer, rate_reset integer)
    LANGUAGE plpgsql VOLATILE
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
REVOKE ALL ON FUNCTION rate_count(text, text, integer, integer, integer) FROM PUBLIC;

-- A tier's figure for a bucket (NULL for an unknown bucket).
CREATE FUNCTION rate_limit_figure(t rate_limit_tiers, p_bucket text) RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE p_bucket WHEN 'default' THEN t.default_requests WHEN 'bulk' THEN t.bulk_requests
                               WHEN 'auth' THEN t.auth_requests WHEN 'source' THEN t.source_requests END $$;
REVOKE ALL ON FUNCTION rate_limit_figure(rate_limit_tiers, text) FROM PUBLIC;

-- 0018's access-token check, counting the request: the session is live (not revoked, not expired, used within
-- the idle timeout), of this user, in this firm, and the user is still active in the token's role. With a bucket,
-- the request is counted against the user under the firm's tier first (rate_*), and over the limit the firm is
-- not entered (state 'limited'); without one (a later transaction of a request already counted) nothing is
-- counted. 'ok' marks the session used (at most once a minute) and enters the firm; 'refused' counts nothing.
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
CREATE FUNCTION auth_enter_api_key(p_prefix text, p_hash bytea, p_bucket text, p_scale integer)
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

-- The sign-in routes (login, refresh, the second step, enrolment at sign-in), before any principal exists: one
-- request counted against the source address API Gateway saw, under the `standard` tier's `source` figure.
-- Enters nothing. The caller runs it in a statement of its own, committed before the route does anything.
CREATE FUNCTION auth_count_source(p_source text, p_scale integer)
    RETURNS TABLE (rate_limit integer, rate_used integer, rate_reset integer)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT r.rate_limit, r.rate_used, r.rate_reset
          FROM rate_limit_tiers t,
               rate_count('source:' || left(coalesce(nullif(p_source, ''), 'unknown'), 100), 'source',
                          t.source_requests, t.window_seconds, p_scale) r
          WHERE t.tier = 'standard' $$;

REVOKE ALL ON FUNCTION auth_enter_session(uuid, uuid, uuid, text, text, integer),
    auth_enter_api_key(text, bytea, text, integer), auth_count_source(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_enter_session(uuid, uuid, uuid, text, text, integer),
    auth_enter_api_key(text, bytea, text, integer), auth_count_source(text, integer) TO wealthdesk_app;
