-- Back to 0018: no unmanaged products, valuations or currency rates; the ownership triggers' functions as 0006
-- and 0004 left them.
DROP TABLE unmanaged_valuations;
DROP TABLE unmanaged_products;
DROP TABLE fx_rates;
DROP FUNCTION unmanaged_valuations_current_value();
DROP FUNCTION unmanaged_products_set_current_value();
DROP FUNCTION unmanaged_current_value(uuid);
DROP FUNCTION unmanaged_valuations_refuse_future();
DROP FUNCTION fx_rates_refuse_base();
DROP FUNCTION fx_rate_on(text, date);
DROP FUNCTION firm_base_currency();

CREATE OR REPLACE FUNCTION products_check_owners() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    missing uuid;
BEGIN
    IF NOT coalesce(ownership_is_valid(NEW.ownership), false) THEN
        RETURN NEW;  -- not one of the three forms: the CHECK (products_ownership_check) refuses the row
    END IF;
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

CREATE OR REPLACE FUNCTION membership_check_products() RETURNS trigger
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
