-- Financial planning's data (docs/domain.md, "Financial plans"): capital market assumptions, portfolio models and
-- versioned plans. Every table is per firm (a firm approves its assumptions once and every plan of the firm uses
-- them), under the tenant policy of 0021/0022 with row security forced.
--
-- * cma_sets: a set of capital market assumptions: name, its number in its line of versions (set_version, 1 for
--   the first; root_id is the first version's id, parent_id the set it was made from), effective date, inflation,
--   and the correlation matrix of its asset classes (a 2-D numeric array in the classes' position order). CHECK
--   cma_correlations_valid: square, symmetric, unit diagonal, entries in [-1, 1]; positive semi-definiteness is
--   checked by the API (an eigenvalue test SQL cannot do). Status draft -> approved (approved_by, approved_at);
--   an approved set is never changed or deleted, nor are its classes (triggers cma_sets_frozen and
--   cma_asset_classes_frozen), whoever writes.
-- * cma_asset_classes: a set's classes (position 1..n, a code unique in the set, expected annual return and annual
--   volatility as decimal fractions). A deferred constraint trigger keeps the matrix's size equal to the number of
--   classes and the positions 1..n at commit.
-- * portfolio_models: a risk level 1-10 and an allocation across the classes of one approved set (trigger
--   portfolio_models_set_approved); portfolio_model_allocations hold the weights (NUMERIC(5,2), above 0), each
--   naming a class of the model's own set (foreign keys), summing to exactly 100.00 at commit (deferred trigger).
-- * plans: one row per version of a household's plan: version 1 has no parent and is its own root; every edit is a
--   new row (parent_plan_id, the next version of its root). The inputs are stored whole as jsonb and a plan row is
--   never changed (trigger plans_immutable refuses UPDATE whoever asks, DELETE unless a retention run sets
--   wealthdesk.plan_retention to 'delete', and TRUNCATE), as net worth statements are (0026). Its CMA set must be
--   approved when it is written (trigger plans_cma_approved).
-- depends: 0026_networth

-- The matrix rules that need no other row: a square 2-D array, symmetric, 1 on the diagonal, every entry in [-1, 1].
CREATE FUNCTION cma_correlations_valid(m numeric[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT array_ndims(m) = 2 AND array_lower(m, 1) = 1 AND array_lower(m, 2) = 1
                 AND array_length(m, 1) = array_length(m, 2)
                 AND NOT EXISTS (SELECT 1 FROM generate_subscripts(m, 1) AS i, generate_subscripts(m, 2) AS j
                                 WHERE m[i][j] IS NULL OR m[i][j] < -1 OR m[i][j] > 1 OR m[i][j] <> m[j][i]
                                    OR (i = j AND m[i][j] <> 1)) $$;

CREATE TABLE cma_sets (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id         uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    root_id         uuid NOT NULL,
    parent_id       uuid,
    set_version     integer NOT NULL CHECK (set_version >= 1),
    effective_date  date NOT NULL CHECK (effective_date BETWEEN DATE '1900-01-01' AND DATE '2099-12-31'),
    inflation       numeric(9, 6) NOT NULL CHECK (inflation BETWEEN -0.5 AND 1),
    correlations    numeric(7, 6)[] NOT NULL CHECK (cma_correlations_valid(correlations)),
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'approved')),
    approved_by     uuid,
    approved_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id),
    UNIQUE (root_id, set_version),
    CHECK ((status = 'approved') = (approved_at IS NOT NULL AND approved_by IS NOT NULL)),
    CHECK ((set_version = 1) = (parent_id IS NULL)),
    CHECK (set_version > 1 OR root_id = id),
    FOREIGN KEY (firm_id, root_id) REFERENCES cma_sets (firm_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (firm_id, parent_id) REFERENCES cma_sets (firm_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (firm_id, approved_by) REFERENCES users (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX cma_sets_list_idx ON cma_sets (firm_id, created_at DESC, id DESC);

CREATE TABLE cma_asset_classes (
    firm_id          uuid NOT NULL,
    cma_set_id       uuid NOT NULL,
    position         smallint NOT NULL CHECK (position BETWEEN 1 AND 50),
    code             text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
    name             text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    expected_return  numeric(9, 6) NOT NULL CHECK (expected_return BETWEEN -1 AND 1),
    volatility       numeric(9, 6) NOT NULL CHECK (volatility BETWEEN 0 AND 2),
    PRIMARY KEY (cma_set_id, position),
    UNIQUE (cma_set_id, code),
    FOREIGN KEY (firm_id, cma_set_id) REFERENCES cma_sets (firm_id, id) ON DELETE CASCADE
);

-- An approved set never changes and is never deleted; a draft may change until it is approved (that change is
-- the last one).
CREATE FUNCTION cma_sets_refuse_approved() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.status = 'approved' THEN
        RAISE EXCEPTION 'CMA set % is approved: % refused (make a new version)', OLD.id, TG_OP
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'cma_sets_frozen';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER cma_sets_frozen BEFORE UPDATE OR DELETE ON cma_sets
    FOR EACH ROW EXECUTE FUNCTION cma_sets_refuse_approved();

-- Nor do an approved set's classes (a cascade from deleting a draft passes: its set is not approved).
CREATE FUNCTION cma_asset_classes_refuse_approved() RETURNS trigger
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
CREATE TRIGGER cma_asset_classes_frozen BEFORE INSERT OR UPDATE OR DELETE ON cma_asset_classes
    FOR EACH ROW EXECUTE FUNCTION cma_asset_classes_refuse_approved();

-- At commit: a set's classes are numbered 1..n and its matrix is n x n.
CREATE FUNCTION cma_sets_check_shape() RETURNS trigger
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
CREATE CONSTRAINT TRIGGER cma_sets_shape AFTER INSERT OR UPDATE OF correlations ON cma_sets
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cma_sets_check_shape();
CREATE CONSTRAINT TRIGGER cma_asset_classes_shape AFTER INSERT OR UPDATE OR DELETE ON cma_asset_classes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cma_sets_check_shape();

CREATE TABLE portfolio_models (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id      uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description  text CHECK (length(description) <= 2000),
    risk_level   smallint NOT NULL CHECK (risk_level BETWEEN 1 AND 10),
    cma_set_id   uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id),
    UNIQUE (firm_id, id, cma_set_id),
    FOREIGN KEY (firm_id, cma_set_id) REFERENCES cma_sets (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX portfolio_models_set_idx ON portfolio_models (cma_set_id);

CREATE TABLE portfolio_model_allocations (
    firm_id             uuid NOT NULL,
    portfolio_model_id  uuid NOT NULL,
    cma_set_id          uuid NOT NULL,
    asset_class         text NOT NULL,
    weight              numeric(5, 2) NOT NULL CHECK (weight > 0 AND weight <= 100),
    PRIMARY KEY (portfolio_model_id, asset_class),
    -- The model's own set (follows it when the model moves to another set in the same transaction) ...
    FOREIGN KEY (firm_id, portfolio_model_id, cma_set_id) REFERENCES portfolio_models (firm_id, id, cma_set_id)
        ON UPDATE CASCADE ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    -- ... and a class of it.
    FOREIGN KEY (cma_set_id, asset_class) REFERENCES cma_asset_classes (cma_set_id, code)
        ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED
);

-- A model allocates across an approved set: drafts change.
CREATE FUNCTION portfolio_models_check_set() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM cma_sets c WHERE c.id = NEW.cma_set_id AND c.status = 'approved') THEN
        RAISE EXCEPTION 'CMA set % is not approved: a portfolio model uses approved assumptions only', NEW.cma_set_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'portfolio_models_set_approved';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER portfolio_models_set_approved BEFORE INSERT OR UPDATE OF cma_set_id ON portfolio_models
    FOR EACH ROW EXECUTE FUNCTION portfolio_models_check_set();

-- At commit: a model's weights sum to exactly 100.00.
CREATE FUNCTION portfolio_models_check_weights() RETURNS trigger
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
CREATE CONSTRAINT TRIGGER portfolio_model_weights_sum_100 AFTER INSERT OR UPDATE OR DELETE
    ON portfolio_model_allocations DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portfolio_models_check_weights();
CREATE CONSTRAINT TRIGGER portfolio_models_weights_sum_100 AFTER INSERT ON portfolio_models
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION portfolio_models_check_weights();

CREATE TABLE plans (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Its firm is its household's (the foreign key below).
    firm_id          uuid NOT NULL,
    client_group_id  uuid NOT NULL,
    root_plan_id     uuid NOT NULL,
    parent_plan_id   uuid,
    version          integer NOT NULL CHECK (version >= 1),
    name             text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    status           text NOT NULL CHECK (status IN ('draft', 'final')),
    as_of            date NOT NULL,
    cma_set_id       uuid NOT NULL,
    inputs           jsonb NOT NULL CHECK (jsonb_typeof(inputs) = 'object'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by_type  text NOT NULL CHECK (created_by_type IN ('user', 'api_key', 'system')),
    created_by       uuid,
    UNIQUE (firm_id, id),
    UNIQUE (root_plan_id, version),
    CHECK ((version = 1) = (parent_plan_id IS NULL)),
    CHECK (version > 1 OR root_plan_id = id),
    -- A household with plans cannot be deleted; nor can a set a plan used.
    FOREIGN KEY (firm_id, client_group_id) REFERENCES client_groups (firm_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (firm_id, root_plan_id) REFERENCES plans (firm_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (firm_id, parent_plan_id) REFERENCES plans (firm_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (firm_id, cma_set_id) REFERENCES cma_sets (firm_id, id) ON DELETE RESTRICT
);
-- A household's plans newest first (the list); a plan's versions in order (the unique key above).
CREATE INDEX plans_group_idx ON plans (client_group_id, created_at DESC, id DESC);

-- A plan version is never changed, and never deleted except by an explicit retention run.
CREATE FUNCTION plans_immutable() RETURNS trigger
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
CREATE TRIGGER plans_immutable BEFORE UPDATE OR DELETE ON plans
    FOR EACH ROW EXECUTE FUNCTION plans_immutable();
CREATE TRIGGER plans_no_truncate BEFORE TRUNCATE ON plans
    FOR EACH STATEMENT EXECUTE FUNCTION plans_immutable();

-- A plan is made on approved assumptions only.
CREATE FUNCTION plans_check_cma() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM cma_sets c WHERE c.id = NEW.cma_set_id AND c.status = 'approved') THEN
        RAISE EXCEPTION 'CMA set % is not approved: a plan uses approved assumptions only', NEW.cma_set_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'plans_cma_approved';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER plans_cma_approved BEFORE INSERT ON plans
    FOR EACH ROW EXECUTE FUNCTION plans_check_cma();

CREATE TRIGGER cma_sets_touch BEFORE UPDATE ON cma_sets FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER portfolio_models_touch BEFORE UPDATE ON portfolio_models
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['cma_sets', 'cma_asset_classes', 'portfolio_models', 'portfolio_model_allocations',
                             'plans'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (firm_id = (SELECT current_firm_id())) '
                       'WITH CHECK (firm_id = (SELECT current_firm_id()))', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;
-- Sets are made and approved, never deleted through the app; classes and allocations are replaced while their
-- draft or model changes; plan versions are only added.
GRANT SELECT, INSERT, UPDATE ON cma_sets, portfolio_models TO wealthdesk_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON cma_asset_classes, portfolio_model_allocations TO wealthdesk_app;
GRANT SELECT, INSERT ON plans TO wealthdesk_app;
GRANT EXECUTE ON FUNCTION cma_correlations_valid(numeric[]) TO wealthdesk_app;
