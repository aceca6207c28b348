-- Information items and actions: the rest of a household's picture besides its managed products
-- (docs/domain.md, "Information items" and "Actions").
--
-- * information_items: what an adviser knows about a household, one typed record each (basic details, income and
--   expenditure, assets and liabilities, protection, vulnerability and health), its content a JSON object held to
--   the rules of information_data_is_valid (a CHECK) and, for its dates, information_items_dates_not_future (a
--   trigger: "not in the future" moves with the calendar, which a CHECK must not). Assets and liabilities and
--   protection name their owners in the products' ownership forms (ownership_is_valid, 0004), every owner a member
--   of the household: the same rule as a product's, now one function for both (ownership_first_outsider).
-- * information_item_terms: the words of each item's category, keys and values, kept in step by triggers, so that
--   the list's `q` is an index search. Under row-level security only leakproof operators can be index conditions,
--   and no GIN operator (jsonb @>, tsvector @@, pg_trgm's LIKE) is leakproof, so a GIN index over the content is
--   never used by the app role; text comparisons are leakproof, so a prefix range over these words is.
-- * actions: a household's to-do list. Completed exactly when completed_at is set (a CHECK).
-- Every table is a tenant table (ENABLE and FORCE row-level security, policies on current_firm_id()).
-- depends: 0018_verified_tenancy

-- --- ownership: the owners-in-group rule, one function for products and information items ---

-- The first owner an ownership names who is not a member of the household (NULL when all are).
CREATE FUNCTION ownership_first_outsider(p_group uuid, p_ownership jsonb) RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT o FROM unnest(ownership_owner_ids(p_ownership)) AS o
          WHERE NOT EXISTS (SELECT 1 FROM client_group_product_owners m
                            WHERE m.client_group_id = p_group AND m.product_owner_id = o)
          LIMIT 1 $$;

-- 0021's trigger function (shared by products and unmanaged products; its error names the table), its membership
-- query now ownership_first_outsider (the same query).
CREATE OR REPLACE FUNCTION products_check_owners() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    missing uuid;
BEGIN
    IF NOT coalesce(ownership_is_valid(NEW.ownership), false) THEN
        RETURN NEW;  -- not one of the three forms: the table's ownership CHECK refuses the row
    END IF;
    missing := ownership_first_outsider(NEW.client_group_id, NEW.ownership);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'product owner % does not belong to client group %', missing, NEW.client_group_id
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_owners_in_group';
    END IF;
    RETURN NEW;
END $$;

-- --- the content of an information item ---

-- A key holds a valuation when, in lower case, it is `valuation` or `value` or ends in `_valuation` or `_value`
-- (latest_valuation, market_value, surrender_value ...).
CREATE FUNCTION information_is_valuation_key(k text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(k) ~ '(^|_)(valuation|value)$' $$;

-- A key holds a date when, in lower case, it is `date`, ends in `_date` or begins with `date_of_` (start_date,
-- valuation_date, date_of_birth ...).
CREATE FUNCTION information_is_date_key(k text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(k) ~ '(^|_)date$|^date_of_' $$;

-- A valuation: null, or money as the API writes it: a decimal string, 0 or more, at most two decimals.
CREATE FUNCTION information_money_is_valid(v jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT v IS NULL OR jsonb_typeof(v) = 'null'
                 OR (jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^[0-9]{1,16}(\.[0-9]{1,2})?$') $$;

-- A date as a valid ISO string (YYYY-MM-DD, a real day, from 1900-01-01), or NULL when it is not one.
CREATE FUNCTION information_date_of(v jsonb) RETURNS date
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    t text;
    y integer;
    m integer;
    d integer;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) <> 'string' THEN
        RETURN NULL;
    END IF;
    t := v #>> '{}';
    IF t !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN NULL;
    END IF;
    y := substr(t, 1, 4)::integer;
    m := substr(t, 6, 2)::integer;
    d := substr(t, 9, 2)::integer;
    IF y < 1900 OR m NOT BETWEEN 1 AND 12 OR d < 1
       OR d > extract(day FROM make_date(y, m, 1) + interval '1 month' - interval '1 day') THEN
        RETURN NULL;
    END IF;
    RETURN make_date(y, m, d);
END $$;

-- Every (key, value) of every object in a document, at any depth (objects inside arrays included).
CREATE FUNCTION information_pairs(doc jsonb) RETURNS TABLE (key text, value jsonb)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT kv ->> 'key', kv -> 'value'
          FROM jsonb_path_query(doc, 'strict $.** ? (@.type() == "object").keyvalue()') AS kv $$;

-- The rules of an item's content that do not depend on the day: a JSON object of at most 50 keys, at most 64 KiB
-- as PostgreSQL writes it (jsonb's text: ", " and ": " between items, UTF-8), every valuation (at any depth) null or
-- money of 0 or more, every date (at any depth) null or a valid ISO date from 1900-01-01.
CREATE FUNCTION information_data_is_valid(doc jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
BEGIN
    IF doc IS NULL OR jsonb_typeof(doc) <> 'object' THEN
        RETURN false;
    END IF;
    IF (SELECT count(*) FROM jsonb_object_keys(doc)) > 50 OR octet_length(doc::text) > 65536 THEN
        RETURN false;
    END IF;
    RETURN NOT EXISTS (
        SELECT 1 FROM information_pairs(doc) p
        WHERE (information_is_valuation_key(p.key) AND NOT information_money_is_valid(p.value))
           OR (information_is_date_key(p.key) AND jsonb_typeof(p.value) <> 'null'
               AND information_date_of(p.value) IS NULL));
END $$;

-- The latest date a document holds under a date key (NULL when none).
CREATE FUNCTION information_data_latest_date(doc jsonb) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT max(information_date_of(p.value)) FROM information_pairs(doc) p
          WHERE information_is_date_key(p.key) $$;

-- --- search words ---

-- The words of a text as `q` and the index see them: lower case, split at every character that is not a letter or
-- a digit, each cut to 64 characters.
CREATE FUNCTION information_words(t text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT DISTINCT left(w, 64) FROM regexp_split_to_table(lower(t), '[^[:alnum:]]+') AS w WHERE w <> '' $$;

-- The words of a search (`q`), each as the range of terms it is a prefix of: lo <= term < hi, compared byte by byte
-- (collation "C"). Given as two columns so that the index condition holds only leakproof comparisons.
CREATE FUNCTION information_search_ranges(q text) RETURNS TABLE (lo text, hi text)
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT w COLLATE "C", (w || chr(1114111)) COLLATE "C" FROM information_words(q) AS w $$;

-- The words an item is found by: its category's, and those of every key and every string or number of its content
-- (all of them as one text, split once).
CREATE FUNCTION information_item_words(category text, doc jsonb) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT information_words(concat_ws(' ', category,
              (SELECT string_agg(p.key, ' ') FROM information_pairs(doc) p),
              (SELECT string_agg(v #>> '{}', ' ')
                 FROM jsonb_path_query(doc, 'strict $.** ? (@.type() == "string" || @.type() == "number")') v))) $$;

-- --- information items ---

CREATE TABLE information_items (
    id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id                    uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    client_group_id            uuid NOT NULL,
    item_type                  text NOT NULL CHECK (item_type IN ('basic_detail', 'income_expenditure',
                                                                  'assets_liabilities', 'protection',
                                                                  'vulnerability_health')),
    item_category              text NOT NULL CHECK (length(btrim(item_category)) BETWEEN 1 AND 100),
    data_content               jsonb NOT NULL DEFAULT '{}' CHECK (information_data_is_valid(data_content)),
    associated_product_owners  jsonb CHECK (associated_product_owners IS NULL
                                            OR ownership_is_valid(associated_product_owners)),
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    version                    integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id),
    -- Exactly the assets and liabilities and the protection items name their owners.
    CONSTRAINT information_items_owners_by_type CHECK (
        (item_type IN ('assets_liabilities', 'protection')) = (associated_product_owners IS NOT NULL)),
    FOREIGN KEY (firm_id, client_group_id) REFERENCES client_groups (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX information_items_group_idx ON information_items (client_group_id, created_at, id);
CREATE INDEX information_items_owners_idx ON information_items
    USING gin (ownership_owner_ids(associated_product_owners)) WHERE associated_product_owners IS NOT NULL;

-- One row per distinct word of an item. Written and deleted only by the items' triggers (below), which hold them in
-- step; no foreign key to information_items, whose check would lock and look up the item once per word (it doubled
-- the cost of writing an item's words).
CREATE TABLE information_item_terms (
    firm_id  uuid NOT NULL,
    item_id  uuid NOT NULL,
    term     text COLLATE "C" NOT NULL,
    PRIMARY KEY (item_id, term)
);

-- No date of an item's content is after today (UTC). Checked when the content is written; later days only make a
-- stored date further past.
CREATE FUNCTION information_items_dates_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    latest date := information_data_latest_date(NEW.data_content);
BEGIN
    IF latest > (now() AT TIME ZONE 'UTC')::date THEN
        RAISE EXCEPTION 'information item content holds the date %, after today', latest
            USING ERRCODE = 'check_violation', CONSTRAINT = 'information_items_dates_not_future';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER information_items_dates_not_future BEFORE INSERT OR UPDATE OF data_content ON information_items
    FOR EACH ROW EXECUTE FUNCTION information_items_dates_check();

-- Every owner an item names belongs to its household (the products' rule: ownership_first_outsider).
CREATE FUNCTION information_items_check_owners() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    missing uuid;
BEGIN
    IF NEW.associated_product_owners IS NULL
       OR NOT coalesce(ownership_is_valid(NEW.associated_product_owners), false) THEN
        RETURN NEW;  -- none, or not one of the three forms (the CHECK refuses that)
    END IF;
    missing := ownership_first_outsider(NEW.client_group_id, NEW.associated_product_owners);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'product owner % does not belong to client group %', missing, NEW.client_group_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'information_items_owners_in_group';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER information_items_owners_in_group
    BEFORE INSERT OR UPDATE OF associated_product_owners, client_group_id ON information_items
    FOR EACH ROW EXECUTE FUNCTION information_items_check_owners();

-- Removing a person from a household while one of its information items names them would orphan the ownership.
CREATE FUNCTION membership_check_information_items() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_items i WHERE i.client_group_id = OLD.client_group_id
               AND i.associated_product_owners IS NOT NULL
               AND OLD.product_owner_id = ANY (ownership_owner_ids(i.associated_product_owners))) THEN
        RAISE EXCEPTION 'product owner % is still referenced by information items of client group %',
            OLD.product_owner_id, OLD.client_group_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'information_items_owners_in_group';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER membership_information_items_check BEFORE DELETE ON client_group_product_owners
    FOR EACH ROW EXECUTE FUNCTION membership_check_information_items();

-- The items' search words, kept by statement-level triggers (one pass per statement), as the owner (SECURITY
-- DEFINER): the app role reads the words and cannot write them. An UPDATE rewrites the words of the rows whose id,
-- firm, category or content changed; a DELETE or TRUNCATE takes them away.
CREATE FUNCTION information_items_terms_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    INSERT INTO information_item_terms (firm_id, item_id, term)
    SELECT n.firm_id, n.id, w FROM new_rows n, information_item_words(n.item_category, n.data_content) AS w;
    RETURN NULL;
END $$;

CREATE FUNCTION information_items_terms_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    DELETE FROM information_item_terms t USING old_rows o
    WHERE t.item_id = o.id
      AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND n.firm_id = o.firm_id
                                                  AND n.item_category = o.item_category
                                                  AND n.data_content = o.data_content);
    INSERT INTO information_item_terms (firm_id, item_id, term)
    SELECT n.firm_id, n.id, w FROM new_rows n, information_item_words(n.item_category, n.data_content) AS w
    WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND o.firm_id = n.firm_id
                                                AND o.item_category = n.item_category
                                                AND o.data_content = n.data_content);
    RETURN NULL;
END $$;

CREATE FUNCTION information_items_terms_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE information_item_terms;
    ELSE
        DELETE FROM information_item_terms t USING old_rows o WHERE t.item_id = o.id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER information_items_terms_insert AFTER INSERT ON information_items
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION information_items_terms_insert();
CREATE TRIGGER information_items_terms_update AFTER UPDATE ON information_items
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION information_items_terms_update();
CREATE TRIGGER information_items_terms_delete AFTER DELETE ON information_items
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION information_items_terms_delete();
CREATE TRIGGER information_items_terms_truncate AFTER TRUNCATE ON information_items
    FOR EACH STATEMENT EXECUTE FUNCTION information_items_terms_delete();

CREATE TRIGGER information_items_touch BEFORE UPDATE ON information_items
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- --- actions ---

CREATE TABLE actions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    firm_id            uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    client_group_id    uuid NOT NULL,
    action_name        text NOT NULL CHECK (length(btrim(action_name)) BETWEEN 1 AND 200),
    description        text CHECK (length(description) <= 10000),
    owner              text NOT NULL CHECK (owner IN ('adviser', 'client')),
    status             text NOT NULL DEFAULT 'outstanding' CHECK (status IN ('outstanding', 'completed', 'cancelled')),
    target_date        date CHECK (target_date BETWEEN DATE '1900-01-01' AND DATE '2099-12-31'),
    completed_at       timestamptz,
    -- The list's due order: by target date, actions without one last.
    target_date_order  date NOT NULL GENERATED ALWAYS AS (coalesce(target_date, DATE '9999-12-31')) STORED,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (firm_id, id),
    CONSTRAINT actions_completed_when_completed_at CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    FOREIGN KEY (firm_id, client_group_id) REFERENCES client_groups (firm_id, id) ON DELETE RESTRICT
);
CREATE INDEX actions_group_due_idx ON actions (client_group_id, target_date_order, id);
CREATE INDEX actions_group_created_idx ON actions (client_group_id, created_at, id);
CREATE TRIGGER actions_touch BEFORE UPDATE ON actions FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- --- tenancy ---

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['information_items', 'information_item_terms', 'actions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (firm_id = (SELECT current_firm_id())) '
                       'WITH CHECK (firm_id = (SELECT current_firm_id()))', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON information_items, actions TO wealthdesk_app;
GRANT SELECT ON information_item_terms TO wealthdesk_app;  -- written by the items' triggers only
GRANT EXECUTE ON FUNCTION ownership_first_outsider(uuid, jsonb), information_is_valuation_key(text),
    information_is_date_key(text), information_money_is_valid(jsonb), information_date_of(jsonb),
    information_pairs(jsonb), information_data_is_valid(jsonb), information_data_latest_date(jsonb),
    information_words(text), information_search_ranges(text), information_item_words(text, jsonb),
    information_items_dates_check(), information_items_check_owners(), membership_check_information_items(),
    information_items_terms_insert(), information_items_terms_update(), information_items_terms_delete()
    TO wealthdesk_app;
