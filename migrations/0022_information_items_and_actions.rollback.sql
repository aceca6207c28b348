-- Undoes 0022: no information items, search terms or actions (their rows go with them); the products' owner
-- check gets 0006's own membership query back. Roll the code back with the schema.
DROP TRIGGER membership_information_items_check ON client_group_product_owners;
DROP FUNCTION membership_check_information_items();
DROP TABLE actions;
DROP TABLE information_item_terms;
DROP TABLE information_items;
DROP FUNCTION information_items_terms_insert();
DROP FUNCTION information_items_terms_update();
DROP FUNCTION information_items_terms_delete();
DROP FUNCTION information_items_check_owners();
DROP FUNCTION information_items_dates_check();
DROP FUNCTION information_item_words(text, jsonb);
DROP FUNCTION information_search_ranges(text);
DROP FUNCTION information_words(text);
DROP FUNCTION information_data_latest_date(jsonb);
DROP FUNCTION information_data_is_valid(jsonb);
DROP FUNCTION information_pairs(jsonb);
DROP FUNCTION information_date_of(jsonb);
DROP FUNCTION information_money_is_valid(jsonb);
DROP FUNCTION information_is_date_key(text);
DROP FUNCTION information_is_valuation_key(text);

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
DROP FUNCTION ownership_first_outsider(uuid, jsonb);
