-- Two fixes forward.
-- 1. A product holding only cash never had a portfolio valuation: refresh_portfolio_valuations also required a
--    non-cash fund active on the date. The rule is "every active non-cash fund is valued that date"; with none
--    active, the cash funds valued that day are the product's value. Products with a cash fund are refreshed.
-- 2. Dates are kept consistent in the database too (the API checks them first, with clearer messages): a fund's
--    valuations and cash flows fall within the portfolio fund's start and end dates and not after the product's end
--    (statement-level triggers over the changed rows, so a bulk write costs one join), and a portfolio fund does
--    not start before its product (row-level triggers on portfolio_funds and products). Rows already there are not
--    checked until their dates change.
-- depends: 0009_product_flows_one_statement

CREATE OR REPLACE FUNCTION refresh_portfolio_valuations(p_product uuid, p_dates date[]) RETURNS integer
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
                          WHERE fv.portfolio_fund_id = a.id AND fv.valuation_date = v.valuation_date));
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

DO $$ BEGIN
    PERFORM refresh_portfolio_valuations(p.id, NULL) FROM products p
    WHERE EXISTS (SELECT 1 FROM portfolio_funds a JOIN funds f ON f.id = a.fund_id
                  WHERE a.product_id = p.id AND f.is_cash);
END $$;

-- Valuations and cash flows within their portfolio fund's dates, and not after their product's end. Only rows whose date or fund a statement sets are
-- checked (an update joins old to new rows by id), so a row written before these rules (the API did not check a
-- cash flow against its fund's own start) can still be corrected in its other columns. The funds involved and
-- their products are locked FOR SHARE first, so a concurrent change of their dates (FOR NO KEY UPDATE) waits, or
-- is waited for and then seen by the check's fresh snapshot.
CREATE FUNCTION fund_rows_within_fund_dates() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    day text := CASE TG_TABLE_NAME WHEN 'fund_valuations' THEN 'valuation_date' ELSE 'activity_date' END;
    changed text;
    bad record;
    n integer;
BEGIN
    -- Transition tables exist only for the trigger's own event: the queries are built for it.
    changed := CASE WHEN TG_OP = 'INSERT' THEN 'SELECT * FROM new_rows'
                    ELSE format('SELECT n.* FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM old_rows o '
                                'WHERE o.id = n.id AND o.portfolio_fund_id = n.portfolio_fund_id AND o.%1$I = n.%1$I)',
                                day) END;
    -- Both statements stay linear in the rows written whatever the planner knows of the tables (a fresh
    -- table has no statistics): the funds are found by their key from an array made once, and the dates are
    -- reduced to each fund's first and last before any join.
    EXECUTE format('SELECT 1 FROM portfolio_funds pf JOIN products p ON p.id = pf.product_id '
                   'WHERE pf.id = ANY (ARRAY(SELECT DISTINCT c.portfolio_fund_id FROM (%s) c)) '
                   'ORDER BY pf.id FOR SHARE OF pf, p', changed);
    EXECUTE format('SELECT s.portfolio_fund_id, CASE WHEN s.first < pf.start_date THEN s.first ELSE s.last END '
                   'AS day, pf.start_date, least(pf.end_date, p.end_date) AS end_date '
                   'FROM (SELECT c.portfolio_fund_id, min(c.%1$I) AS first, max(c.%1$I) AS last FROM (%2$s) c '
                   '      GROUP BY c.portfolio_fund_id) s '
                   'JOIN portfolio_funds pf ON pf.id = s.portfolio_fund_id JOIN products p ON p.id = pf.product_id '
                   'WHERE s.first < pf.start_date OR s.last > pf.end_date OR s.last > p.end_date LIMIT 1',
                   day, changed) INTO bad;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        RAISE EXCEPTION '% dated % is outside portfolio fund % (% to %)', TG_TABLE_NAME, bad.day,
            bad.portfolio_fund_id, bad.start_date, coalesce(bad.end_date::text, 'open')
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_within_fund_dates';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER fund_valuations_dates_insert AFTER INSERT ON fund_valuations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fund_rows_within_fund_dates();
CREATE TRIGGER fund_valuations_dates_update AFTER UPDATE ON fund_valuations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fund_rows_within_fund_dates();
CREATE TRIGGER holding_activity_dates_insert AFTER INSERT ON holding_activity
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fund_rows_within_fund_dates();
CREATE TRIGGER holding_activity_dates_update AFTER UPDATE ON holding_activity
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fund_rows_within_fund_dates();

-- A portfolio fund does not start before its product (checked when it is written or its start or product
-- changes; the product is locked FOR SHARE, so a concurrent change of the product's start waits), and a change
-- of its dates keeps its own rows inside them (only the side that moved inwards is checked).
CREATE FUNCTION portfolio_fund_dates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'INSERT' OR NEW.start_date <> OLD.start_date OR NEW.product_id <> OLD.product_id)
       AND NEW.start_date < (SELECT p.start_date FROM products p WHERE p.id = NEW.product_id FOR SHARE) THEN
        RAISE EXCEPTION 'portfolio fund % starts on %, before its product', NEW.id, NEW.start_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'portfolio_funds_within_product_dates';
    END IF;
    IF TG_OP = 'UPDATE' AND (
        (NEW.start_date > OLD.start_date AND (
            EXISTS (SELECT 1 FROM fund_valuations v WHERE v.portfolio_fund_id = NEW.id
                    AND v.valuation_date < NEW.start_date AND v.valuation_date >= OLD.start_date)
            OR EXISTS (SELECT 1 FROM holding_activity a WHERE a.portfolio_fund_id = NEW.id
                       AND a.activity_date < NEW.start_date AND a.activity_date >= OLD.start_date)))
        OR (NEW.end_date < coalesce(OLD.end_date, 'infinity') AND (
            EXISTS (SELECT 1 FROM fund_valuations v WHERE v.portfolio_fund_id = NEW.id
                    AND v.valuation_date > NEW.end_date)
            OR EXISTS (SELECT 1 FROM holding_activity a WHERE a.portfolio_fund_id = NEW.id
                       AND a.activity_date > NEW.end_date)))) THEN
        RAISE EXCEPTION 'portfolio fund % has valuations or cash flows outside % to %', NEW.id, NEW.start_date,
            coalesce(NEW.end_date::text, 'open')
            USING ERRCODE = 'check_violation', CONSTRAINT = 'portfolio_funds_around_their_rows';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER portfolio_funds_dates BEFORE INSERT OR UPDATE OF start_date, end_date, product_id ON portfolio_funds
    FOR EACH ROW EXECUTE FUNCTION portfolio_fund_dates();

-- A product does not start after any of its portfolio funds.
CREATE FUNCTION product_starts_before_its_funds() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first date;
BEGIN
    SELECT min(a.start_date) INTO first FROM portfolio_funds a WHERE a.product_id = NEW.id;
    IF first < NEW.start_date THEN
        RAISE EXCEPTION 'product % has a portfolio fund starting on %, before %', NEW.id, first, NEW.start_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_start_before_their_funds';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER products_start_before_funds BEFORE UPDATE OF start_date ON products
    FOR EACH ROW WHEN (NEW.start_date > OLD.start_date) EXECUTE FUNCTION product_starts_before_its_funds();

-- A product does not end before a valuation or cash flow of its funds.
CREATE FUNCTION product_ends_after_its_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM portfolio_funds a JOIN fund_valuations v ON v.portfolio_fund_id = a.id
               WHERE a.product_id = NEW.id AND v.valuation_date > NEW.end_date)
       OR EXISTS (SELECT 1 FROM portfolio_funds a JOIN holding_activity h ON h.portfolio_fund_id = a.id
                  WHERE a.product_id = NEW.id AND h.activity_date > NEW.end_date) THEN
        RAISE EXCEPTION 'product % has valuations or cash flows after %', NEW.id, NEW.end_date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_end_after_their_rows';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER products_end_after_rows BEFORE UPDATE OF end_date ON products
    FOR EACH ROW WHEN (NEW.end_date < coalesce(OLD.end_date, 'infinity')) EXECUTE FUNCTION product_ends_after_its_rows();

GRANT EXECUTE ON FUNCTION fund_rows_within_fund_dates(), portfolio_fund_dates(), product_starts_before_its_funds(),
    product_ends_after_its_rows() TO wealthdesk_app;
