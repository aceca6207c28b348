-- Back to 0004's version of the trigger function.
CREATE OR REPLACE FUNCTION products_check_owners() RETURNS trigger
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
