-- Objectives and money goals (docs/domain.md, "Objectives"):
--   * objectives: a household's objective (title, description, target date, priority 1-5, status) with either a
--     typed progress (0-100) or, for a money goal, a target amount, its currency and an assumed annual return,
--     from which the progress is computed (never typed: CHECK objectives_money_goal_consistent). is_money_goal is
--     generated from target_amount and is part of a key the links and contributions refer to, so a goal with
--     links or contributions cannot stop being a money goal (the foreign keys refuse the change), and a plain
--     objective can hold neither;
--   * objective_products, objective_unmanaged_products: the managed products and the unmanaged assets a money
--     goal counts, of the goal's own household (trigger objective_links_same_household); a linked product cannot
--     be deleted while it is linked (ON DELETE RESTRICT);
--   * objective_contributions: money put aside towards a goal (amount > 0, not dated in the future: trigger
--     objective_contributions_not_future), in the goal's currency.
-- depends: 0026_networth

CREATE TABLE objectives (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id                uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    client_group_id        uuid NOT NULL,
    title                  text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    description            text CHECK (length(description) <= 10000),
    target_date            date CHECK (target_date BETWEEN DATE '1900-01-01' AND DATE '2099-12-31'),
    priority               smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    status                 text NOT NULL DEFAULT 'active'
                           CHECK (status IN ('active', 'achieved', 'modified', 'cancelled')),
    progress_percentage    numeric(5, 2) CHECK (progress_percentage BETWEEN 0 AND 100),
    target_amount          numeric(18, 2) CHECK (target_amount > 0),
    currency               char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    assumed_annual_return  numeric(7, 4) CHECK (assumed_annual_return > -1 AND assumed_annual_return <= 1),
    is_money_goal          boolean NOT NULL GENERATED ALWAYS AS (target_amount IS NOT NULL) STORED,
    -- The list's due order: by target date, objectives without one last.
    target_date_order      date NOT NULL GENERATED ALWAYS AS (coalesce(target_date, DATE '9999-12-31')) STORED,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    version                integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id),
    UNIQUE (firm_id, id, is_money_goal),
    -- A plain objective has a typed progress and none of a money goal's fields; a money goal has all of them
    -- (a target date included: the saving needed is measured to it) and no typed progress.
    CONSTRAINT objectives_money_goal_consistent CHECK (
        (target_amount IS NULL AND currency IS NULL AND assumed_annual_return IS NULL
         AND progress_percentage IS NOT NULL)
        OR (target_amount IS NOT NULL AND currency IS NOT NULL AND assumed_annual_return IS NOT NULL
            AND target_date IS NOT NULL AND progress_percentage IS NULL)),
    FOREIGN KEY (firm_id, client_group_id) REFERENCES client_groups (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX objectives_group_due_idx ON objectives (client_group_id, target_date_order, id);
CREATE INDEX objectives_group_priority_idx ON objectives (client_group_id, priority, id);
CREATE INDEX objectives_group_created_idx ON objectives (client_group_id, created_at, id);
CREATE TRIGGER objectives_touch BEFORE UPDATE ON objectives FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE objective_products (
    firm_id        uuid NOT NULL,
    objective_id   uuid NOT NULL,
    product_id     uuid NOT NULL,
    is_money_goal  boolean NOT NULL DEFAULT true CHECK (is_money_goal),
    PRIMARY KEY (objective_id, product_id),
    FOREIGN KEY (firm_id, objective_id, is_money_goal) REFERENCES objectives (firm_id, id, is_money_goal)
        ON DELETE CASCADE,
    FOREIGN KEY (firm_id, product_id) REFERENCES products (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX objective_products_product_idx ON objective_products (product_id);

CREATE TABLE objective_unmanaged_products (
    firm_id               uuid NOT NULL,
    objective_id          uuid NOT NULL,
    unmanaged_product_id  uuid NOT NULL,
    is_money_goal         boolean NOT NULL DEFAULT true CHECK (is_money_goal),
    PRIMARY KEY (objective_id, unmanaged_product_id),
    FOREIGN KEY (firm_id, objective_id, is_money_goal) REFERENCES objectives (firm_id, id, is_money_goal)
        ON DELETE CASCADE,
    FOREIGN KEY (firm_id, unmanaged_product_id) REFERENCES unmanaged_products (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX objective_unmanaged_products_product_idx ON objective_unmanaged_products (unmanaged_product_id);

-- A link names a product of the goal's own household; an unmanaged one must be an asset.
CREATE FUNCTION objective_links_check() RETURNS trigger
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
CREATE TRIGGER objective_products_check BEFORE INSERT OR UPDATE ON objective_products
    FOR EACH ROW EXECUTE FUNCTION objective_links_check();
CREATE TRIGGER objective_unmanaged_products_check BEFORE INSERT OR UPDATE ON objective_unmanaged_products
    FOR EACH ROW EXECUTE FUNCTION objective_links_check();

-- A linked unmanaged product stays an asset (its kind may otherwise change by PATCH).
CREATE FUNCTION unmanaged_products_linked_kind_check() RETURNS trigger
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
CREATE TRIGGER unmanaged_products_linked_kind BEFORE UPDATE OF kind ON unmanaged_products
    FOR EACH ROW EXECUTE FUNCTION unmanaged_products_linked_kind_check();

CREATE TABLE objective_contributions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id            uuid NOT NULL,
    objective_id       uuid NOT NULL,
    is_money_goal      boolean NOT NULL DEFAULT true CHECK (is_money_goal),
    amount             numeric(18, 2) NOT NULL CHECK (amount > 0),
    contribution_date  date NOT NULL CHECK (contribution_date >= DATE '1900-01-01'),
    note               text CHECK (length(note) <= 1000),
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (firm_id, id),
    FOREIGN KEY (firm_id, objective_id, is_money_goal) REFERENCES objectives (firm_id, id, is_money_goal)
        ON DELETE CASCADE
);
CREATE INDEX objective_contributions_goal_idx ON objective_contributions (objective_id, contribution_date, id);

-- A contribution is money already put aside: not dated after today.
CREATE FUNCTION objective_contributions_refuse_future() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.contribution_date > CURRENT_DATE THEN
        RAISE EXCEPTION 'contribution date % is in the future', NEW.contribution_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'objective_contributions_not_future';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER objective_contributions_not_future BEFORE INSERT OR UPDATE OF contribution_date
    ON objective_contributions FOR EACH ROW EXECUTE FUNCTION objective_contributions_refuse_future();

-- --- tenancy ---

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['objectives', 'objective_products', 'objective_unmanaged_products',
                             'objective_contributions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (firm_id = (SELECT current_firm_id())) '
                       'WITH CHECK (firm_id = (SELECT current_firm_id()))', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON objectives, objective_products, objective_unmanaged_products
    TO wealthdesk_app;
GRANT SELECT, INSERT, DELETE ON objective_contributions TO wealthdesk_app;
GRANT EXECUTE ON FUNCTION objective_links_check(), unmanaged_products_linked_kind_check(),
    objective_contributions_refuse_future() TO wealthdesk_app;
