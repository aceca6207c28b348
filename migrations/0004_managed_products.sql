-- Managed products: the firm's catalogue (providers, funds, portfolio templates with generations), products with
-- JSON ownership, their portfolios (portfolio funds), fund valuations, portfolio valuations (kept in step),
-- holding activity (cash flows), provider switches and stored IRR values.
-- Rules: docs/domain.md (Products, Ownership, Portfolios). Checks that PostgreSQL forbids in CHECK (subqueries) live in
-- IMMUTABLE functions called from CHECK, or in triggers.
-- depends: 0003_audit_partitions_utc

-- ISO 6166: two letters, nine alphanumerics, one check digit (Luhn over the letters expanded to numbers).
CREATE FUNCTION isin_is_valid(isin text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
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
END $$;

-- A percentage as the API writes it: a decimal string, > 0 and <= 100, at most two decimals.
CREATE FUNCTION ownership_percentage_is_valid(value jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT jsonb_typeof(value) = 'string'
                 AND (value #>> '{}') ~ '^[0-9]{1,3}(\.[0-9]{1,2})?$'
                 AND (value #>> '{}')::numeric > 0 AND (value #>> '{}')::numeric <= 100 $$;

CREATE FUNCTION is_uuid_text(value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT value ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' $$;

-- The three ownership forms of the rules file. Shares may sum to less than 100 (the rest is third parties'),
-- never more. Called from a CHECK: the subqueries a CHECK may not hold live here.
CREATE FUNCTION ownership_is_valid(o jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
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

-- The product owners an ownership names (for the membership checks).
CREATE FUNCTION ownership_owner_ids(o jsonb) RETURNS uuid[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE o ->> 'association_type'
              WHEN 'individual' THEN ARRAY[(o ->> 'product_owner_id')::uuid]
              WHEN 'tenants_in_common' THEN ARRAY(SELECT k::uuid FROM jsonb_object_keys(o -> 'shares') AS k)
              WHEN 'joint' THEN ARRAY(SELECT v::uuid FROM jsonb_array_elements_text(o -> 'joint_owners') AS v)
              ELSE ARRAY[]::uuid[] END $$;

CREATE TABLE providers (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id     uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    colour      text CHECK (colour ~ '^#[0-9A-Fa-f]{6}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id)
);
CREATE UNIQUE INDEX providers_name_key ON providers (firm_id, lower(name));

CREATE TABLE funds (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id       uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    isin          text CHECK (isin_is_valid(isin)),
    risk_factor   smallint CHECK (risk_factor BETWEEN 1 AND 7),
    ongoing_cost  numeric(7, 4) CHECK (ongoing_cost >= 0 AND ongoing_cost <= 100),
    currency      char(3) NOT NULL DEFAULT 'GBP' CHECK (currency ~ '^[A-Z]{3}$'),
    is_cash       boolean NOT NULL DEFAULT false,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id)
);
CREATE UNIQUE INDEX funds_isin_key ON funds (firm_id, isin) WHERE isin IS NOT NULL;
CREATE INDEX funds_name_trgm_idx ON funds USING gin (name gin_trgm_ops);

CREATE TABLE portfolio_templates (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id      uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description  text CHECK (length(description) <= 2000),
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id)
);

-- A generation is a template's fund list at one point; once a product uses it, it never changes.
CREATE TABLE template_generations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id      uuid NOT NULL,
    template_id  uuid NOT NULL,
    generation   integer NOT NULL CHECK (generation >= 1),
    name         text CHECK (length(name) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (firm_id, id),
    UNIQUE (template_id, generation),
    FOREIGN KEY (firm_id, template_id) REFERENCES portfolio_templates (firm_id, id) ON DELETE RESTRICT
);

CREATE TABLE template_generation_funds (
    firm_id           uuid NOT NULL,
    generation_id     uuid NOT NULL,
    fund_id           uuid NOT NULL,
    target_weighting  numeric(5, 2) NOT NULL CHECK (target_weighting > 0 AND target_weighting <= 100),
    PRIMARY KEY (generation_id, fund_id),
    FOREIGN KEY (firm_id, generation_id) REFERENCES template_generations (firm_id, id) ON DELETE CASCADE,
    FOREIGN KEY (firm_id, fund_id) REFERENCES funds (firm_id, id) ON DELETE RESTRICT
);

CREATE TABLE products (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id                     uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    client_group_id             uuid NOT NULL,
    name                        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    product_type                text NOT NULL CHECK (product_type IN (
                                    'gia', 'stocks_and_shares_isa', 'cash_isa', 'bank_account', 'pension',
                                    'offshore_bond', 'onshore_bond', 'individual_shares', 'property', 'other')),
    provider_id                 uuid,
    plan_number                 text CHECK (length(plan_number) <= 100),
    start_date                  date NOT NULL,
    end_date                    date,
    notes                       text CHECK (length(notes) <= 10000),
    currency                    char(3) NOT NULL DEFAULT 'GBP' CHECK (currency ~ '^[A-Z]{3}$'),
    fixed_fee_direct            numeric(15, 2) NOT NULL DEFAULT 0 CHECK (fixed_fee_direct >= 0),
    fixed_fee_facilitated       numeric(15, 2) NOT NULL DEFAULT 0 CHECK (fixed_fee_facilitated >= 0),
    percentage_fee_facilitated  numeric(7, 4) NOT NULL DEFAULT 0
                                    CHECK (percentage_fee_facilitated >= 0 AND percentage_fee_facilitated <= 100),
    status                      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'lapsed')),
    ownership                   jsonb NOT NULL CHECK (ownership_is_valid(ownership)),
    template_generation_id      uuid,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    version                     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id),
    CHECK (end_date IS NULL OR end_date >= start_date),
    FOREIGN KEY (firm_id, client_group_id) REFERENCES client_groups (firm_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (firm_id, provider_id) REFERENCES providers (firm_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (firm_id, template_generation_id) REFERENCES template_generations (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX products_group_idx ON products (client_group_id);
CREATE INDEX products_provider_idx ON products (provider_id);
CREATE INDEX products_plan_trgm_idx ON products USING gin (plan_number gin_trgm_ops);
CREATE INDEX products_owners_idx ON products USING gin (ownership_owner_ids(ownership));

CREATE TABLE provider_switches (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id           uuid NOT NULL,
    product_id        uuid NOT NULL,
    from_provider_id  uuid,
    to_provider_id    uuid,
    switched_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (firm_id, product_id) REFERENCES products (firm_id, id) ON DELETE CASCADE,
    CHECK (from_provider_id IS DISTINCT FROM to_provider_id)
);
CREATE INDEX provider_switches_product_idx ON provider_switches (product_id, switched_at);

-- A product's portfolio: its funds, each with a target weighting, a start and (once ended) an end date.
CREATE TABLE portfolio_funds (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id           uuid NOT NULL,
    product_id        uuid NOT NULL,
    fund_id           uuid NOT NULL,
    target_weighting  numeric(5, 2) CHECK (target_weighting >= 0 AND target_weighting <= 100),
    start_date        date NOT NULL,
    end_date          date,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id),
    CHECK (end_date IS NULL OR end_date >= start_date),
    FOREIGN KEY (firm_id, product_id) REFERENCES products (firm_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (firm_id, fund_id) REFERENCES funds (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX portfolio_funds_product_idx ON portfolio_funds (product_id);

CREATE TABLE fund_valuations (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id            uuid NOT NULL,
    portfolio_fund_id  uuid NOT NULL,
    valuation_date     date NOT NULL,
    value              numeric(18, 2) NOT NULL CHECK (value >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (portfolio_fund_id, valuation_date),
    FOREIGN KEY (firm_id, portfolio_fund_id) REFERENCES portfolio_funds (firm_id, id) ON DELETE RESTRICT
);

-- Kept in step by refresh_portfolio_valuations(): a row exists for a date exactly when every non-cash fund
-- active on that date has a valuation that date; the value is the sum of the product's fund valuations.
CREATE TABLE portfolio_valuations (
    firm_id         uuid NOT NULL,
    product_id      uuid NOT NULL,
    valuation_date  date NOT NULL,
    value           numeric(18, 2) NOT NULL CHECK (value >= 0),
    PRIMARY KEY (product_id, valuation_date),
    FOREIGN KEY (firm_id, product_id) REFERENCES products (firm_id, id) ON DELETE CASCADE
);

CREATE TABLE holding_activity (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id            uuid NOT NULL,
    portfolio_fund_id  uuid NOT NULL,
    activity_date      date NOT NULL,
    activity_type      text NOT NULL CHECK (activity_type IN (
                           'investment', 'regular_investment', 'tax_uplift', 'switch_in',
                           'withdrawal', 'regular_withdrawal', 'switch_out', 'fee', 'dividend')),
    amount             numeric(18, 2) NOT NULL CHECK (amount > 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    FOREIGN KEY (firm_id, portfolio_fund_id) REFERENCES portfolio_funds (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX holding_activity_fund_date_idx ON holding_activity (portfolio_fund_id, activity_date);

-- Stored IRR history: one value per scope, valuation date and method.
CREATE TABLE irr_values (
    firm_id         uuid NOT NULL,
    scope           text NOT NULL CHECK (scope IN ('portfolio_fund', 'product')),
    scope_id        uuid NOT NULL,
    valuation_date  date NOT NULL,
    method          text NOT NULL CHECK (method IN ('kingston_monthly', 'xirr')),
    irr             numeric(20, 10),
    reason          text,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, scope_id, method, valuation_date),
    CHECK ((irr IS NULL) = (reason IS NOT NULL))
);
CREATE INDEX irr_values_firm_idx ON irr_values (firm_id);

-- The cash-flow sign the rules give each activity type: money in is negative (from the investor's side),
-- money out positive; fees and dividends stay inside the portfolio and are not investor flows (0).
CREATE FUNCTION activity_sign(activity_type text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE
              WHEN activity_type IN ('investment', 'regular_investment', 'tax_uplift', 'switch_in') THEN -1
              WHEN activity_type IN ('withdrawal', 'regular_withdrawal', 'switch_out') THEN 1
              ELSE 0 END $$;

-- Owners named by a product's ownership must belong to its client group.
CREATE FUNCTION products_check_owners() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    missing uuid;
BEGIN
    SELECT o INTO missing FROM unnest(ownership_owner_ids(NEW.ownership)) AS o
    WHERE NOT EXISTS (SELECT 1 FROM client_group_product_owners m
                      WHERE m.client_group_id = NEW.client_group_id AND m.product_owner_id = o)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'product owner % does not belong to client group %', missing, NEW.client_group_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_owners_in_group';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER products_owners_in_group BEFORE INSERT OR UPDATE OF ownership, client_group_id ON products
    FOR EACH ROW EXECUTE FUNCTION products_check_owners();

-- Removing a person from a group while one of its products names them would orphan the ownership.
CREATE FUNCTION membership_check_products() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM products p WHERE p.client_group_id = OLD.client_group_id
               AND OLD.product_owner_id = ANY (ownership_owner_ids(p.ownership))) THEN
        RAISE EXCEPTION 'product owner % is still referenced by products of client group %',
            OLD.product_owner_id, OLD.client_group_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'products_owners_in_group';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER membership_products_check BEFORE DELETE ON client_group_product_owners
    FOR EACH ROW EXECUTE FUNCTION membership_check_products();

-- Target weightings of a generation sum to exactly 100.00 (checked at commit, after all its rows are written).
CREATE FUNCTION generation_check_weights() RETURNS trigger
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
CREATE CONSTRAINT TRIGGER generation_weights_sum_100 AFTER INSERT OR UPDATE OR DELETE ON template_generation_funds
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION generation_check_weights();

-- A generation some product uses is never edited.
CREATE FUNCTION generation_refuse_edit_in_use() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM products WHERE template_generation_id = coalesce(NEW.generation_id, OLD.generation_id)) THEN
        RAISE EXCEPTION 'generation % is in use; make a new generation', coalesce(NEW.generation_id, OLD.generation_id)
            USING ERRCODE = 'check_violation', CONSTRAINT = 'generation_in_use';
    END IF;
    RETURN coalesce(NEW, OLD);
END $$;
CREATE TRIGGER generation_in_use BEFORE UPDATE OR DELETE ON template_generation_funds
    FOR EACH ROW EXECUTE FUNCTION generation_refuse_edit_in_use();

-- Recompute the portfolio valuations of one product for the given dates (all dates when NULL).
CREATE FUNCTION refresh_portfolio_valuations(p_product uuid, p_dates date[]) RETURNS integer
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
                          WHERE fv.portfolio_fund_id = a.id AND fv.valuation_date = v.valuation_date))
       AND EXISTS (
        SELECT 1 FROM portfolio_funds a JOIN funds f ON f.id = a.fund_id
        WHERE a.product_id = p_product AND NOT f.is_cash
          AND a.start_date <= v.valuation_date AND (a.end_date IS NULL OR a.end_date >= v.valuation_date));
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

CREATE TRIGGER providers_touch BEFORE UPDATE ON providers FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER funds_touch BEFORE UPDATE ON funds FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER portfolio_templates_touch BEFORE UPDATE ON portfolio_templates
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER products_touch BEFORE UPDATE ON products FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER portfolio_funds_touch BEFORE UPDATE ON portfolio_funds FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER fund_valuations_touch BEFORE UPDATE ON fund_valuations FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER holding_activity_touch BEFORE UPDATE ON holding_activity
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['providers', 'funds', 'portfolio_templates', 'template_generations',
                             'template_generation_funds', 'products', 'provider_switches', 'portfolio_funds',
                             'fund_valuations', 'portfolio_valuations', 'holding_activity', 'irr_values'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (firm_id = current_firm_id()) '
                       'WITH CHECK (firm_id = current_firm_id())', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO wealthdesk_app', t);
    END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION isin_is_valid(text), ownership_is_valid(jsonb), ownership_owner_ids(jsonb),
    ownership_percentage_is_valid(jsonb), is_uuid_text(text), activity_sign(text),
    refresh_portfolio_valuations(uuid, date[]) TO wealthdesk_app;
