-- What PostgreSQL does to open each request's transaction, made cheaper: the same checks, in fewer instructions.
--
-- Every request's first statement verifies its credential, counts it against its rate limit and enters its firm
-- (0018, 0020). Measured with callgrind on the backend, most of that statement's cost was machinery rather than
-- the checks themselves:
-- * The CHECK constraints of rate_counters and auth_context, which every INSERT or UPDATE of a row evaluates from
--   their stored text (parsed again for each statement). They become domains, whose checks PostgreSQL keeps
--   compiled and evaluates only for the columns a statement writes: the same rules hold for every row.
-- * The count as a function of its own (rate_count) that always ran INSERT ... ON CONFLICT DO UPDATE in a CTE, and
--   the entry as another (auth_enter). auth_enter_session and auth_enter_api_key now count inline: an UPDATE of
--   this backend's row of the window (there is one for every request but a backend's first of the window), then
--   the sum of the other backends' rows, in one statement; the first request of a window goes through
--   rate_count_first, which inserts the row and deletes ended windows as rate_count did. They enter the firm
--   inline too (an UPDATE of this backend's auth_context row; a backend's first context still goes through
--   auth_enter); auth_enter_session verifies the session in that same UPDATE.
-- * The tier's figure for the bucket, read by CASE instead of rate_limit_figure over the tier's whole row.
-- * auth_enter_session returning a set (RETURNS TABLE): each call built a tuplestore and the caller's query had to
--   plan a function scan. It now returns one record (OUT parameters), which the app reads as a scalar
--   (`SELECT auth_enter_session(...)`); `SELECT * FROM auth_enter_session(...)` still works.
-- Nothing about what is checked changes: the session (live, not idle, of this user in this firm), the user (active
-- in the token's role), the key (its hash, unrevoked, unexpired, a service key or its creator an active admin),
-- the tier's figures, the count summed over every backend, and no entry over the limit.
-- depends: 0020_rate_limits

CREATE DOMAIN rate_counter_principal AS text CONSTRAINT rate_counter_principal_check
    CHECK (length(VALUE) BETWEEN 1 AND 120);
CREATE DOMAIN rate_counter_bucket AS text CONSTRAINT rate_counter_bucket_check
    CHECK (VALUE IN ('default', 'bulk', 'auth', 'source'));
CREATE DOMAIN rate_counter_count AS integer CONSTRAINT rate_counter_count_check CHECK (VALUE > 0);
CREATE DOMAIN auth_context_kind AS text CONSTRAINT auth_context_kind_check
    CHECK (VALUE IN ('user', 'api_key', 'system'));

ALTER TABLE rate_counters
    DROP CONSTRAINT rate_counters_principal_check,
    DROP CONSTRAINT rate_counters_bucket_check,
    DROP CONSTRAINT rate_counters_count_check,
    ALTER COLUMN principal TYPE rate_counter_principal,
    ALTER COLUMN bucket TYPE rate_counter_bucket,
    ALTER COLUMN count TYPE rate_counter_count;
ALTER TABLE auth_context
    DROP CONSTRAINT auth_context_kind_check,
    ALTER COLUMN kind TYPE auth_context_kind;

-- A backend's first request of a window for (principal, bucket): its row of the window, inserted (or, should it
-- exist after all, incremented), and up to 100 rows of ended windows deleted, skipping any a running transaction
-- holds. Answers the window's count over every backend, this request included. Only the owner may run it (its
-- callers are SECURITY DEFINER functions with their search path pinned).
CREATE FUNCTION rate_count_first(p_principal text, p_bucket text, p_start timestamptz, p_window integer)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
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
REVOKE ALL ON FUNCTION rate_count_first(text, text, timestamptz, integer) FROM PUBLIC;

-- 0020's access-token check, cheaper. The session is live (not revoked, not expired, used within the idle timeout),
-- of this user, in this firm, and the user is still active in the token's role; else 'refused', nothing counted.
-- With a bucket the request is counted against the user under the firm's tier (rate_*: the scaled limit, the
-- window's count over every backend, this one included, and the whole seconds left), and over the limit the firm is
-- not entered ('limited'); without one (a later transaction of a request already counted) nothing is counted.
-- 'ok' marks the session used (at most once a minute) and enters the firm.
-- One statement verifies the session and enters the firm (this backend's auth_context row, updated only when the
-- session passes every check); another counts the request and sums the window. Over the limit the entry is undone
-- (the row deleted) before the function returns, so nothing of the firm is ever visible to a request over its
-- limit. A backend without a context row yet (a new connection) verifies and enters in two steps (auth_enter).
DROP FUNCTION auth_enter_session(uuid, uuid, uuid, text, text, integer);
CREATE FUNCTION auth_enter_session(p_session uuid, p_user uuid, p_firm uuid, p_role text, p_bucket text,
                                   p_scale integer, OUT state text, OUT rate_limit integer, OUT rate_used integer,
                                   OUT rate_reset integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
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

-- 0020's API-key check, cheaper, with the same answers: nothing for an unknown prefix or another hash; otherwise
-- the key, its state and, with a bucket and a usable key, the request counted against the key (not its creator)
-- under its firm's tier. 'ok' (the firm entered, last_used_at kept at minute resolution) needs the key unrevoked,
-- unexpired, either a firm service key or made by a user who is still an active admin, and within its limit
-- ('limited' otherwise: counted, the firm not entered). A key in any other state is not counted.
CREATE OR REPLACE FUNCTION auth_enter_api_key(p_prefix text, p_hash bytea, p_bucket text, p_scale integer)
    RETURNS TABLE (id uuid, firm_id uuid, scopes text[], service boolean, state text, rate_limit integer,
                   rate_used integer, rate_reset integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
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

REVOKE ALL ON FUNCTION auth_enter_session(uuid, uuid, uuid, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_enter_session(uuid, uuid, uuid, text, text, integer) TO wealthdesk_app;
