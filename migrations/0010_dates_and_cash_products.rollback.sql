-- Back to 0009: no date triggers, and 0004's refresh_portfolio_valuations (a non-cash fund must be active on the
-- date), re-run for the products with a cash fund so that their cash-only dates lose the valuations 0010 gave them,
-- and the stored IRRs of those dates with them.
DROP TRIGGER products_end_after_rows ON products;
DROP TRIGGER products_start_before_funds ON products;
DROP TRIGGER portfolio_funds_dates ON portfolio_funds;
DROP TRIGGER holding_activity_dates_update ON holding_activity;
DROP TRIGGER holding_activity_dates_insert ON holding_activity;
DROP TRIGGER fund_valuations_dates_update ON fund_valuations;
DROP TRIGGER fund_valuations_dates_insert ON fund_valuations;
DROP FUNCTION product_ends_after_its_rows();
DROP FUNCTION product_starts_before_its_funds();
DROP FUNCTION portfolio_fund_dates();
DROP FUNCTION fund_rows_within_fund_dates();

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
                          WHERE fv.portfolio_fund_id = a.id AND fv.valuation_date = v.valuation_date))
       AND EXISTS (
        SELECT 1 FROM portfolio_funds a JOIN funds f ON f.id = a.fund_id
        WHERE a.product_id = p_product AND NOT f.is_cash
          AND a.start_date <= v.valuation_date AND (a.end_date IS NULL OR a.end_date >= v.valuation_date));
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

DO $$ BEGIN
    PERFORM refresh_portfolio_valuations(p.id, NULL) FROM products p
    WHERE EXISTS (SELECT 1 FROM portfolio_funds a JOIN funds f ON f.id = a.fund_id
                  WHERE a.product_id = p.id AND f.is_cash);
END $$;

DELETE FROM irr_values i
WHERE i.scope = 'product' AND NOT EXISTS (SELECT 1 FROM portfolio_valuations v
                                          WHERE v.product_id = i.scope_id AND v.valuation_date = i.valuation_date);
