-- Foundation: tenants (firms), users, sessions, API keys, client groups, product owners, membership,
-- the audit trail (partitioned by month), idempotency keys and job runs.
--
-- Runs as the owner role. The API connects as `wealthdesk_app`, which owns nothing and has no BYPASSRLS.
-- Tenant tables carry firm_id and a policy on current_setting('app.firm_id'); FORCE ROW LEVEL SECURITY makes the
-- owner obey policies too, so the owner gets its own explicit `maintenance` policy (jobs and migrations).
-- depends:

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The firm the current transaction acts for, or NULL when none is set (then every tenant policy is false).
CREATE FUNCTION current_firm_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.firm_id', true), '')::uuid $$;

CREATE FUNCTION touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE TABLE firms (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    base_currency char(3) NOT NULL DEFAULT 'GBP' CHECK (base_currency ~ '^[A-Z]{3}$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1)
);

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id         uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    email           text NOT NULL CHECK (email = lower(email) AND email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    role            text NOT NULL CHECK (role IN ('admin', 'adviser', 'analyst', 'viewer')),
    active          boolean NOT NULL DEFAULT true,
    password_hash   text NOT NULL,
    failed_logins   integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until    timestamptz,
    last_login_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id)
);
-- One login per email across all firms: login happens before the firm is known.
CREATE UNIQUE INDEX users_email_key ON users (email);

-- Refresh-token chains. Each refresh creates a new row in the same chain and marks its parent used;
-- presenting a used token again revokes the whole chain (token theft detection).
CREATE TABLE sessions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id     uuid NOT NULL,
    user_id     uuid NOT NULL,
    chain_id    uuid NOT NULL,
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    ip          text,
    user_agent  text,
    FOREIGN KEY (firm_id, user_id) REFERENCES users (firm_id, id) ON DELETE CASCADE,
    CHECK (expires_at > created_at)
);
CREATE INDEX sessions_chain_idx ON sessions (chain_id);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id       uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    prefix        text NOT NULL UNIQUE CHECK (prefix ~ '^wdk_[A-Za-z0-9]{8}$'),
    key_hash      bytea NOT NULL CHECK (length(key_hash) = 32),
    scopes        text[] NOT NULL CHECK (cardinality(scopes) >= 1 AND scopes <@ ARRAY['read', 'write']::text[]),
    created_by    uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    FOREIGN KEY (firm_id, created_by) REFERENCES users (firm_id, id) ON DELETE RESTRICT,
    CHECK (expires_at IS NULL OR expires_at > created_at)
);
CREATE INDEX api_keys_firm_idx ON api_keys (firm_id, created_at DESC, id DESC);

CREATE TABLE client_groups (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id     uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    type        text NOT NULL CHECK (type IN ('individual', 'couple', 'family', 'trust', 'corporate')),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'dormant', 'inactive')),
    adviser_id  uuid,
    notes       text CHECK (length(notes) <= 10000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id),
    FOREIGN KEY (firm_id, adviser_id) REFERENCES users (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX client_groups_firm_name_idx ON client_groups (firm_id, name, id);
CREATE INDEX client_groups_adviser_idx ON client_groups (adviser_id) WHERE adviser_id IS NOT NULL;
CREATE INDEX client_groups_name_trgm_idx ON client_groups USING gin (name gin_trgm_ops);

CREATE TABLE product_owners (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id         uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    first_name      text NOT NULL CHECK (length(btrim(first_name)) BETWEEN 1 AND 100),
    surname         text NOT NULL CHECK (length(btrim(surname)) BETWEEN 1 AND 100),
    known_as        text CHECK (length(known_as) <= 100),
    date_of_birth   date CHECK (date_of_birth >= DATE '1900-01-01'),
    email           text CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    phone           text CHECK (length(phone) <= 40),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'deceased')),
    inception_date  date NOT NULL DEFAULT CURRENT_DATE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id)
);
CREATE INDEX product_owners_firm_name_idx ON product_owners (firm_id, surname, first_name, id);

-- Composite foreign keys carry firm_id, so a link can never join two firms' rows.
CREATE TABLE client_group_product_owners (
    firm_id           uuid NOT NULL,
    client_group_id   uuid NOT NULL,
    product_owner_id  uuid NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_group_id, product_owner_id),
    FOREIGN KEY (firm_id, client_group_id) REFERENCES client_groups (firm_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (firm_id, product_owner_id) REFERENCES product_owners (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX cgpo_owner_idx ON client_group_product_owners (product_owner_id);

-- The compliance trail. Partitioned by month; partitions are created ahead by the `audit-partitions` job.
CREATE TABLE audit_events (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    firm_id         uuid NOT NULL,
    actor_type      text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system')),
    actor_id        uuid,
    action          text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    resource_type   text NOT NULL,
    resource_id     text NOT NULL,
    before          jsonb,
    after           jsonb,
    changed_fields  text[] NOT NULL DEFAULT '{}',
    request_id      text,
    ip              text,
    user_agent      text,
    PRIMARY KEY (occurred_at, id)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX audit_events_firm_time_idx ON audit_events (firm_id, occurred_at DESC, id DESC);
CREATE INDEX audit_events_resource_idx ON audit_events (firm_id, resource_type, resource_id, occurred_at DESC);

-- Creates the monthly partitions from the month of `from_month` for `months` months. Idempotent.
CREATE FUNCTION ensure_audit_partitions(from_month date, months integer) RETURNS integer
    LANGUAGE plpgsql
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
DO $$ BEGIN PERFORM ensure_audit_partitions(CURRENT_DATE, 4); END $$;

CREATE TABLE idempotency_keys (
    firm_id          uuid NOT NULL,
    principal_id     uuid NOT NULL,
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method           text NOT NULL,
    path             text NOT NULL,
    request_hash     bytea NOT NULL,
    response_status  integer,
    response_body    text,
    response_headers jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, principal_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Platform-level record of scheduled job runs (no tenant data).
CREATE TABLE job_runs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_name     text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    status       text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    trigger      text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'api')),
    figures      jsonb NOT NULL DEFAULT '{}',
    error        text,
    CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX job_runs_started_idx ON job_runs (started_at DESC, id DESC);

CREATE TRIGGER firms_touch BEFORE UPDATE ON firms FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER client_groups_touch BEFORE UPDATE ON client_groups FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER product_owners_touch BEFORE UPDATE ON product_owners FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Row-level security: the app role sees its firm's rows only; the owner (migrations, jobs) sees all.
ALTER TABLE firms ENABLE ROW LEVEL SECURITY;
ALTER TABLE firms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON firms USING (id = current_firm_id()) WITH CHECK (id = current_firm_id());
CREATE POLICY maintenance ON firms TO CURRENT_USER USING (true) WITH CHECK (true);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'sessions', 'api_keys', 'client_groups', 'product_owners',
                             'client_group_product_owners', 'audit_events', 'idempotency_keys'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (firm_id = current_firm_id()) '
                       'WITH CHECK (firm_id = current_firm_id())', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;

-- Lookups that must happen before the firm is known (login, API key, refresh token). SECURITY DEFINER runs
-- them as the owner; each returns only what authentication needs, for one exact key.
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

REVOKE ALL ON FUNCTION auth_user_by_email(text), auth_api_key(text), auth_session_firm(bytea) FROM PUBLIC;

-- The app role: data access only, no DDL, no ownership. Created by `wealthdesk migrate` bootstrap or by ops.
GRANT USAGE ON SCHEMA public TO wealthdesk_app;
GRANT SELECT, INSERT, UPDATE ON firms, users, sessions, api_keys TO wealthdesk_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON client_groups, product_owners, client_group_product_owners TO wealthdesk_app;
GRANT SELECT, INSERT ON audit_events TO wealthdesk_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO wealthdesk_app;
GRANT SELECT ON job_runs TO wealthdesk_app;
GRANT SELECT ON _yoyo_migration TO wealthdesk_app;  -- the health check reports pending migrations
GRANT EXECUTE ON FUNCTION auth_user_by_email(text), auth_api_key(text), auth_session_firm(bytea),
    current_firm_id() TO wealthdesk_app;
