-- The owners-in-group trigger runs before CHECK constraints: an ownership that is not one of the three forms
-- (say, a non-UUID owner id) failed in the trigger's cast instead of being refused by the CHECK that owns the
-- rule. The trigger now leaves such rows to products_ownership_check.
-- depends: 0005_summaries_and_search

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
