-- Sign-in hardening (docs/security.md).
--
-- The lockout reserves every password or second-factor check atomically, in its own committed statement, before
-- the check runs: at most 5 checks per account and source address in a window, whatever the concurrency, and a
-- success never reopens a window that a failure has locked. Failures are counted per account and source address
-- (5 lock that pair for 30 minutes); the account itself is locked only after 50 failed checks within an hour from
-- any addresses. The app role may read its firm's counters but changes them only through the SECURITY DEFINER
-- functions below, which hand out a password hash only together with a reserved check.
--
-- TOTP two-factor sign-in: an encrypted secret per user, ten single-use recovery codes (SHA-256, high entropy),
-- short-lived login challenges, a firm-wide requirement. In-app notifications tell a user their account was locked.
-- depends: 0016_household_fum

ALTER TABLE firms ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;

-- One row per account and source address with a check in its current window. `checks` counts the checks reserved
-- in the window (the running ones are also in `pending`); the window ends with a success that nothing else is
-- waiting on (the row goes), 30 minutes after it started, or with a lock (`locked_until`) when a check fails once
-- 5 were reserved. `window_no` tells an outcome which window its reservation belonged to.
CREATE TABLE login_throttle (
    firm_id         uuid NOT NULL,
    user_id         uuid NOT NULL,
    source          text NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    window_no       bigint NOT NULL DEFAULT 1,
    window_started  timestamptz NOT NULL DEFAULT now(),
    checks          integer NOT NULL DEFAULT 0 CHECK (checks >= 0),
    pending         integer NOT NULL DEFAULT 0 CHECK (pending >= 0),
    locked_until    timestamptz,
    PRIMARY KEY (user_id, source),
    FOREIGN KEY (firm_id, user_id) REFERENCES users (firm_id, id) ON DELETE CASCADE
);

-- Failed checks of the last hour, per account (the account-wide lock counts them; older rows are deleted as new
-- ones come).
CREATE TABLE login_failures (
    firm_id    uuid NOT NULL,
    user_id    uuid NOT NULL,
    source     text NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (firm_id, user_id) REFERENCES users (firm_id, id) ON DELETE CASCADE
);
CREATE INDEX login_failures_user_idx ON login_failures (user_id, failed_at);

-- A user's TOTP secret, AES-GCM encrypted by the application (the key is not in the database). confirmed_at is
-- NULL while enrolment waits for its first code; last_step is the highest time step accepted (a code is never
-- accepted twice).
CREATE TABLE user_totp (
    user_id       uuid PRIMARY KEY,
    firm_id       uuid NOT NULL,
    secret        bytea NOT NULL CHECK (length(secret) BETWEEN 29 AND 200),
    created_at    timestamptz NOT NULL DEFAULT now(),
    confirmed_at  timestamptz,
    last_step     bigint,
    FOREIGN KEY (firm_id, user_id) REFERENCES users (firm_id, id) ON DELETE CASCADE
);

CREATE TABLE recovery_codes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id     uuid NOT NULL,
    user_id     uuid NOT NULL,
    code_hash   bytea NOT NULL CHECK (length(code_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    used_at     timestamptz,
    UNIQUE (user_id, code_hash),
    FOREIGN KEY (firm_id, user_id) REFERENCES users (firm_id, id) ON DELETE CASCADE
);

-- The short-lived answer to a right password when a second factor is due: `totp` (a code or a recovery code) or
-- `totp_enrolment` (the firm requires two-factor and the user has none yet). Stored as the SHA-256 of the token.
CREATE TABLE login_challenges (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id       uuid NOT NULL,
    user_id       uuid NOT NULL,
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    purpose       text NOT NULL CHECK (purpose IN ('totp', 'totp_enrolment')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    failed_codes  integer NOT NULL DEFAULT 0 CHECK (failed_codes >= 0),
    FOREIGN KEY (firm_id, user_id) REFERENCES users (firm_id, id) ON DELETE CASCADE,
    CHECK (expires_at > created_at)
);
CREATE INDEX login_challenges_user_idx ON login_challenges (user_id);

CREATE TABLE notifications (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id     uuid NOT NULL,
    user_id     uuid NOT NULL,
    kind        text NOT NULL CHECK (kind ~ '^[a-z_]+\.[a-z_]+$'),
    title       text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    body        text NOT NULL CHECK (length(body) <= 2000),
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz,
    FOREIGN KEY (firm_id, user_id) REFERENCES users (firm_id, id) ON DELETE CASCADE
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, id DESC);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['login_throttle', 'login_failures', 'user_totp', 'recovery_codes', 'login_challenges',
                             'notifications'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (firm_id = current_firm_id()) '
                       'WITH CHECK (firm_id = current_firm_id())', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;

-- The app role reads its firm's counters (login_throttle, login_failures) but writes them only through the
-- functions below.
GRANT SELECT ON login_throttle, login_failures TO wealthdesk_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_totp, recovery_codes, login_challenges TO wealthdesk_app;
GRANT SELECT, INSERT, UPDATE ON notifications TO wealthdesk_app;

-- Reserve one check for (user, source): the window's row is inserted or updated in one statement, which takes the
-- row's lock, so concurrent reservations queue and each sees the one before. A window that lapsed (its lock
-- expired, or 30 minutes passed without a lock) starts again. Returns the window's number, or NULL when the pair is
-- locked or already has 5 checks in its window. Called only by the SECURITY DEFINER functions below.
--
-- The reservation's transaction commits without waiting for its WAL flush (synchronous_commit off, for that
-- transaction only): the row and its lock are visible to every other transaction at commit all the same, so the
-- limit holds under any concurrency; only a crash of the database within its WAL writer's delay (a fraction of a
-- second) can forget a reservation. The outcome (the failure, the lock, the audit event) commits durably.
CREATE FUNCTION login_reserve(p_firm uuid, p_user uuid, p_source text) RETURNS bigint
    LANGUAGE plpgsql SET search_path = public, pg_temp
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
REVOKE ALL ON FUNCTION login_reserve(uuid, uuid, text) FROM PUBLIC;

-- Login, first step: the user behind an exact email, with a password check reserved. No row when the email is
-- unknown, the user inactive, the account locked, or the (user, source) pair locked or full: the password hash
-- leaves this function only together with a reserved check. Commit before checking the password.
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

-- Login, second step: the live challenge behind a token, of the given purpose (unexpired, unused, fewer than 5
-- wrong codes, its user active and the account not locked), with a check reserved for (user, source) when
-- p_reserve (attempt NULL when the pair is locked or full). No row when there is no such live challenge.
CREATE FUNCTION auth_challenge_begin(p_token_hash bytea, p_purpose text, p_source text, p_reserve boolean)
    RETURNS TABLE (challenge_id uuid, firm_id uuid, user_id uuid, role text, attempt bigint)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
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

-- A check for a signed-in user of the current firm (a code to turn two-factor off): the same reservation.
CREATE FUNCTION auth_check_reserve(p_user uuid, p_source text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
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

-- The outcome of a reserved check, in the user's firm: 'failure', 'success' (signed in: the pair's window ends if
-- nothing else is pending and it is not locked), or 'partial' (the password was right and a second factor is due:
-- the check is handed back, the failures before it stay). A failure locks the pair when 5 checks were reserved in
-- its window, records the failure, and locks the account when it has 50 failures within the hour.
-- Returns the locks this outcome set (NULL: none) and the account's failures and source addresses within the hour.
CREATE FUNCTION auth_login_outcome(p_user uuid, p_source text, p_window bigint, p_outcome text)
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

-- An administrator's password reset lifts the user's locks: the account's, its source addresses' and the
-- failures counted towards them (the guesses were against the old password). Users of the current firm only.
CREATE FUNCTION auth_unlock_account(p_user uuid) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
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

REVOKE ALL ON FUNCTION auth_login_begin(text, text), auth_challenge_begin(bytea, text, text, boolean),
    auth_check_reserve(uuid, text), auth_login_outcome(uuid, text, bigint, text), auth_unlock_account(uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_login_begin(text, text), auth_challenge_begin(bytea, text, text, boolean),
    auth_check_reserve(uuid, text), auth_login_outcome(uuid, text, bigint, text), auth_unlock_account(uuid)
    TO wealthdesk_app;
