-- Unmanaged products and currency rates: the first part of a household's whole picture (docs/domain.md,
-- "Unmanaged products" and "Currencies").
--
-- * unmanaged_products: assets and liabilities a household holds elsewhere. Ownership is the products' own rule,
--   not a copy: the CHECK calls ownership_is_valid (0004) and the trigger is products_check_owners (0004, 0006),
--   now naming the table it guards in its error; removing a member is refused while a product of either kind
--   names them (membership_check_products, replaced here). A kind and a product type must fit (CHECK
--   unmanaged_products_type_fits_kind). The currency defaults to the firm's base currency
--   (firm_base_currency()). current_value and current_value_date are the latest-dated valuation's, always: a row
--   trigger recomputes them whenever the row is written (so a raw write cannot set them), and statement triggers on
--   unmanaged_valuations rewrite the products a statement touched.
-- * unmanaged_valuations: a product's balance history, one value per product and date, not in the future (trigger
--   unmanaged_valuations_not_future), 0 or more, with its source.
-- * fx_rates: per firm, per currency and date, the value of one unit of the currency in the firm's base currency;
--   never a rate of the base currency itself (trigger fx_rates_not_base). fx_rate_on(currency, day) is the rule
--   every reader uses: 1 for the base currency, else the latest rate on or before the day, NULL when none.
-- depends: 0018_verified_tenancy

-- The firm's base currency, in the transaction's verified firm (NULL without one).
CREATE FUNCTION firm_base_currency() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT base_currency::text FROM firms WHERE id = (SELECT current_firm_id()) $$;

CREATE TABLE unmanaged_products (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id             uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    client_group_id     uuid NOT NULL,
    name                text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    kind                text NOT NULL CHECK (kind IN ('asset', 'liability')),
    product_type        text NOT NULL,
    provider_id         uuid,
    ownership           jsonb NOT NULL CHECK (ownership_is_valid(ownership)),
    currency            char(3) NOT NULL DEFAULT firm_base_currency() CHECK (currency ~ '^[A-Z]{3}$'),
    notes               text CHECK (length(notes) <= 10000),
    status              text NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'sold', 'transferred', 'matured', 'cancelled')),
    current_value       numeric(18, 2) CHECK (current_value >= 0),
    current_value_date  date,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id),
    -- Assets take the ten types managed products take; liabilities their own four.
    CONSTRAINT unmanaged_products_type_fits_kind CHECK (
        (kind = 'asset' AND product_type IN ('gia', 'stocks_and_shares_isa', 'cash_isa', 'bank_account', 'pension',
                                             'offshore_bond', 'onshore_bond', 'individual_shares', 'property',
                                             'other'))
        OR (kind = 'liability' AND product_type IN ('mortgage', 'loan', 'credit_card', 'other_liability'))),
    CHECK ((current_value IS NULL) = (current_value_date IS NULL)),
    FOREIGN KEY (firm_id, client_group_id) REFERENCES client_groups (firm_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (firm_id, provider_id) REFERENCES providers (firm_id, id) ON DELETE RESTRICT
);
-- A name is unique in its household, ignoring case (as provider names are in the firm).
CREATE UNIQUE INDEX unmanaged_products_name_key ON unmanaged_products (client_group_id, lower(name));
CREATE INDEX unmanaged_products_provider_idx ON unmanaged_products (provider_id);
CREATE INDEX unmanaged_products_owners_idx ON unmanaged_products USING gin (ownership_owner_ids(ownership));

CREATE TABLE unmanaged_valuations (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id               uuid NOT NULL,
    unmanaged_product_id  uuid NOT NULL,
    valuation_date        date NOT NULL CHECK (valuation_date BETWEEN DATE '1900-01-01' AND DATE '2099-12-31'),
    value                 numeric(18, 2) NOT NULL CHECK (value >= 0),
    source                text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'import', 'feed')),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    version               integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (unmanaged_product_id, valuation_date),
    FOREIGN KEY (firm_id, unmanaged_product_id) REFERENCES unmanaged_products (firm_id, id) ON DELETE RESTRICT
);

CREATE TABLE fx_rates (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id     uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    rate_date   date NOT NULL CHECK (rate_date BETWEEN DATE '1900-01-01' AND DATE '2099-12-31'),
    rate        numeric(20, 10) NOT NULL CHECK (rate > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- One rate per currency and date; also the index of fx_rate_on's backward probe.
    CONSTRAINT fx_rates_currency_date_key UNIQUE (firm_id, currency, rate_date)
);

-- The rule every reader of a rate uses: what one unit of the currency is worth in the base currency on the day.
CREATE FUNCTION fx_rate_on(p_currency text, p_day date) RETURNS numeric
    LANGUAGE sql STABLE
    AS $$ SELECT CASE WHEN p_currency = firm_base_currency() THEN 1::numeric
                      ELSE (SELECT r.rate FROM fx_rates r
                            WHERE r.firm_id = (SELECT current_firm_id()) AND r.currency = p_currency
                              AND r.rate_date <= p_day
                            ORDER BY r.rate_date DESC LIMIT 1) END $$;

-- A rate of the base currency would be 1 by definition: a row saying otherwise is refused.
CREATE FUNCTION fx_rates_refuse_base() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.currency = (SELECT f.base_currency FROM firms f WHERE f.id = NEW.firm_id) THEN
        RAISE EXCEPTION '% is the firm''s base currency: its rate is always 1', NEW.currency
            USING ERRCODE = 'check_violation', CONSTRAINT = 'fx_rates_not_base';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fx_rates_not_base BEFORE INSERT OR UPDATE OF currency, firm_id ON fx_rates
    FOR EACH ROW EXECUTE FUNCTION fx_rates_refuse_base();

-- The owners-in-group rule of managed products, shared: the error names the table whose row broke it
-- (products_owners_in_group for products, as before, unmanaged_products_owners_in_group for these).
CREATE OR REPLACE FUNCTION products_check_owners() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    missing uuid;
BEGIN
    IF NOT coalesce(ownership_is_valid(NEW.ownership), false) THEN
        RETURN NEW;  -- not one of the three forms: the table's ownership CHECK refuses the row
    END IF;
    SELECT o INTO missing FROM unnest(ownership_owner_ids(NEW.ownership)) AS o
    WHERE NOT EXISTS (SELECT 1 FROM client_group_product_owners m
                      WHERE m.client_group_id = NEW.client_group_id AND m.product_owner_id = o)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'product owner % does not belong to client group %', missing, NEW.client_group_id
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_owners_in_group';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER unmanaged_products_owners_in_group BEFORE INSERT OR UPDATE OF ownership, client_group_id
    ON unmanaged_products FOR EACH ROW EXECUTE FUNCTION products_check_owners();

-- Removing a person from a group while a product of it, managed or not, names them would orphan the ownership.
CREATE OR REPLACE FUNCTION membership_check_products() RETURNS trigger
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

-- A valuation is what was known on a day that has come: not after today.
CREATE FUNCTION unmanaged_valuations_refuse_future() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.valuation_date > CURRENT_DATE THEN
        RAISE EXCEPTION 'valuation date % is in the future', NEW.valuation_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'unmanaged_valuations_not_future';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER unmanaged_valuations_not_future BEFORE INSERT OR UPDATE OF valuation_date ON unmanaged_valuations
    FOR EACH ROW EXECUTE FUNCTION unmanaged_valuations_refuse_future();

-- The rule: a product's current value is its latest-dated valuation (none: NULL and NULL).
CREATE FUNCTION unmanaged_current_value(p_product uuid, OUT value numeric, OUT valuation_date date)
    LANGUAGE sql STABLE
    AS $$ SELECT v.value, v.valuation_date FROM unmanaged_valuations v WHERE v.unmanaged_product_id = p_product
          ORDER BY v.valuation_date DESC LIMIT 1 $$;

-- Whatever writes a product row, its current value is the rule's: a value written by hand is replaced. Run after
-- the row's lock is held, with a snapshot of its own, so a writer that waited for another writer of the product's
-- valuations sees the valuations that writer committed.
CREATE FUNCTION unmanaged_products_set_current_value() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    SELECT c.value, c.valuation_date INTO NEW.current_value, NEW.current_value_date
    FROM unmanaged_current_value(NEW.id) AS c;
    RETURN NEW;
END $$;
CREATE TRIGGER unmanaged_products_current_value BEFORE INSERT OR UPDATE ON unmanaged_products
    FOR EACH ROW EXECUTE FUNCTION unmanaged_products_set_current_value();

-- A statement of valuations rewrites the current value of each product it touched, once, locking them in id order
-- (as the API's writers lock a product before its valuations, so nobody waits in a circle).
CREATE FUNCTION unmanaged_valuations_current_value() RETURNS trigger
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
CREATE TRIGGER unmanaged_valuations_current_value_insert AFTER INSERT ON unmanaged_valuations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION unmanaged_valuations_current_value();
CREATE TRIGGER unmanaged_valuations_current_value_update AFTER UPDATE ON unmanaged_valuations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION unmanaged_valuations_current_value();
CREATE TRIGGER unmanaged_valuations_current_value_delete AFTER DELETE ON unmanaged_valuations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION unmanaged_valuations_current_value();

CREATE TRIGGER unmanaged_products_touch BEFORE UPDATE ON unmanaged_products
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER unmanaged_valuations_touch BEFORE UPDATE ON unmanaged_valuations
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER fx_rates_touch BEFORE UPDATE ON fx_rates FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['unmanaged_products', 'unmanaged_valuations', 'fx_rates'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (firm_id = (SELECT current_firm_id())) '
                       'WITH CHECK (firm_id = (SELECT current_firm_id()))', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO wealthdesk_app', t);
    END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION firm_base_currency(), fx_rate_on(text, date), unmanaged_current_value(uuid)
    TO wealthdesk_app;
