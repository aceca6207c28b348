-- Portfolio valuations kept in step by statement triggers, as product_flows is (0008), instead of by a call each
-- writer had to remember: every writer of fund valuations, portfolio funds or a fund's cash flag (the API, the demo
-- loader, bulk loads, raw SQL by hand) now leaves portfolio_valuations equal to what 0010's
-- refresh_portfolio_valuations(product, dates) computes. The rule stays in that one function; the triggers decide
-- only which products and dates a statement touched, and call it once per product per statement:
--   fund_valuations  the dates of the rows inserted or deleted, and on an update the old and the new date of each
--                    row whose fund, date or value changed;
--   portfolio_funds  all dates of the product when a fund is added or removed or its fund, start or end changes
--                    (which funds are active decides which dates are complete);
--   funds            all dates of every product holding a fund whose cash flag changed (cash funds need no
--                    valuation for a date to be complete).
-- Backfill: none. Until now every writer called refresh_portfolio_valuations in its own transaction after these
-- writes (the API's services, the demo loader, the bench loader) and 0010 refreshed the products it changed, so the
-- rows are in step; this migration changes who makes the call, not what it computes.
-- depends: 0012_fee_columns_as_wide_as_money

-- Refreshes each product of the (product, date) pairs once: the dates given, or all its dates when one of its
-- pairs has a NULL date. The products' locks come first, in id order, FOR NO KEY UPDATE as the API's writers take
-- them (already theirs, so nothing changes for them). A writer without it (raw SQL, a loader) then waits for a
-- concurrent writer of the same product, and the refresh, a later statement with a fresh snapshot, sees what that
-- writer committed: without the lock, two writers valuing different funds on one date would each see the date
-- incomplete and neither would write its portfolio valuation.
CREATE FUNCTION portfolio_valuations_refresh(p_products uuid[], p_dates date[]) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    product uuid;
    days date[];
BEGIN
    PERFORM 1 FROM products p WHERE p.id = ANY (p_products) ORDER BY p.id FOR NO KEY UPDATE;
    FOR product, days IN
        SELECT u.product, CASE WHEN bool_or(u.day IS NULL) THEN NULL ELSE array_agg(DISTINCT u.day) END
        FROM unnest(p_products, p_dates) AS u(product, day)
        GROUP BY u.product ORDER BY u.product
    LOOP
        PERFORM refresh_portfolio_valuations(product, days);
    END LOOP;
END $$;

CREATE FUNCTION fund_valuations_aggregate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    products uuid[];
    dates date[];
BEGIN
    -- Transition tables exist only for the trigger's own event, so each event has its own query.
    IF TG_OP = 'INSERT' THEN
        -- A product whose valuations are all new (a loader writing whole histories) is refreshed on all its dates
        -- (NULL), the same rows as its list of dates, without matching every row against a list of hundreds of
        -- dates. Counted only for a bulk write of a product (100 rows or more): a few rows keep their short list.
        WITH touched AS (
            SELECT pf.product_id, n.valuation_date AS day
            FROM new_rows n JOIN portfolio_funds pf ON pf.id = n.portfolio_fund_id
        ), whole AS (
            SELECT t.product_id FROM touched t GROUP BY t.product_id
            HAVING count(*) >= 100 AND count(*) = (  -- fund by fund, so that each count reads its own index range
                SELECT sum((SELECT count(*) FROM fund_valuations v WHERE v.portfolio_fund_id = a.id))
                FROM portfolio_funds a WHERE a.product_id = t.product_id)
        )
        SELECT array_agg(x.product_id), array_agg(x.day) INTO products, dates
        FROM (SELECT w.product_id, NULL::date AS day FROM whole w
              UNION ALL
              SELECT DISTINCT t.product_id, t.day FROM touched t
              WHERE NOT EXISTS (SELECT 1 FROM whole w WHERE w.product_id = t.product_id)) x;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(t.product_id), array_agg(t.day) INTO products, dates
        FROM (SELECT DISTINCT pf.product_id, o.valuation_date AS day
              FROM old_rows o JOIN portfolio_funds pf ON pf.id = o.portfolio_fund_id) t;
    ELSE
        -- The rows whose fund, date or value changed, old and new versions: the symmetric difference of the two
        -- tables (an update of other columns only, or one that sets the same value, touches no date).
        SELECT array_agg(t.product_id), array_agg(t.day) INTO products, dates
        FROM (SELECT DISTINCT pf.product_id, c.valuation_date AS day
              FROM ((SELECT id, portfolio_fund_id, valuation_date, value FROM new_rows
                     EXCEPT SELECT id, portfolio_fund_id, valuation_date, value FROM old_rows)
                    UNION ALL
                    (SELECT id, portfolio_fund_id, valuation_date, value FROM old_rows
                     EXCEPT SELECT id, portfolio_fund_id, valuation_date, value FROM new_rows)) c
              JOIN portfolio_funds pf ON pf.id = c.portfolio_fund_id) t;
    END IF;
    IF products IS NOT NULL THEN
        PERFORM portfolio_valuations_refresh(products, dates);
    END IF;
    RETURN NULL;
END $$;

-- Named to sort before 0010's fund_valuations_dates_*: triggers of one event fire in name order, and this one
-- takes the product's FOR NO KEY UPDATE lock, which must come before 0010's FOR SHARE of the product (two raw
-- writers each holding the share lock and each waiting to strengthen it would deadlock).
CREATE TRIGGER fund_valuations_aggregate_insert AFTER INSERT ON fund_valuations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fund_valuations_aggregate();
CREATE TRIGGER fund_valuations_aggregate_update AFTER UPDATE ON fund_valuations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fund_valuations_aggregate();
CREATE TRIGGER fund_valuations_aggregate_delete AFTER DELETE ON fund_valuations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION fund_valuations_aggregate();

CREATE FUNCTION portfolio_funds_aggregate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    products uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.product_id) INTO products FROM new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.product_id) INTO products FROM old_rows o;
    ELSE  -- a fund never moves to another product (0008), so the new rows name the products
        SELECT array_agg(DISTINCT n.product_id) INTO products
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.fund_id, n.start_date, n.end_date) IS DISTINCT FROM (o.fund_id, o.start_date, o.end_date);
    END IF;
    IF products IS NOT NULL THEN
        PERFORM portfolio_valuations_refresh(products, array_fill(NULL::date, ARRAY[cardinality(products)]));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER portfolio_funds_aggregate_insert AFTER INSERT ON portfolio_funds
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_funds_aggregate();
CREATE TRIGGER portfolio_funds_aggregate_update AFTER UPDATE ON portfolio_funds
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_funds_aggregate();
CREATE TRIGGER portfolio_funds_aggregate_delete AFTER DELETE ON portfolio_funds
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_funds_aggregate();

-- 0010's portfolio_funds_dates (BEFORE, per row) locks the product FOR SHARE on an insert or a change of dates, before
-- any statement trigger runs: the product's stronger lock is taken here first (the name sorts before it), so a raw
-- writer never waits to strengthen a lock it shares with another. A no-op for the API, which holds it already.
CREATE FUNCTION portfolio_funds_lock_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM products p WHERE p.id = NEW.product_id FOR NO KEY UPDATE;
    RETURN NEW;
END $$;
CREATE TRIGGER portfolio_funds_aggregate_lock BEFORE INSERT OR UPDATE OF start_date, end_date, product_id, fund_id
    ON portfolio_funds FOR EACH ROW EXECUTE FUNCTION portfolio_funds_lock_product();

CREATE FUNCTION funds_aggregate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    products uuid[];
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.is_cash <> o.is_cash) THEN
        SELECT array_agg(DISTINCT a.product_id) INTO products
        FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN portfolio_funds a ON a.fund_id = n.id
        WHERE n.is_cash <> o.is_cash;
        IF products IS NOT NULL THEN
            PERFORM portfolio_valuations_refresh(products, array_fill(NULL::date, ARRAY[cardinality(products)]));
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER funds_aggregate_update AFTER UPDATE ON funds
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION funds_aggregate();

GRANT EXECUTE ON FUNCTION portfolio_valuations_refresh(uuid[], date[]), fund_valuations_aggregate(),
    portfolio_funds_aggregate(), portfolio_funds_lock_product(), funds_aggregate() TO wealthdesk_app;
