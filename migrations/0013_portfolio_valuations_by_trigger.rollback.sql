-- Back to 0012: no triggers keep portfolio_valuations in step; refresh_portfolio_valuations (0010) stays. The
-- code of the previous release calls it itself after its writes of fund valuations and portfolio funds (roll
-- the code back with the schema), and so must anything else that writes those rows while this is rolled back.
DROP TRIGGER funds_aggregate_update ON funds;
DROP TRIGGER portfolio_funds_aggregate_lock ON portfolio_funds;
DROP TRIGGER portfolio_funds_aggregate_delete ON portfolio_funds;
DROP TRIGGER portfolio_funds_aggregate_update ON portfolio_funds;
DROP TRIGGER portfolio_funds_aggregate_insert ON portfolio_funds;
DROP TRIGGER fund_valuations_aggregate_delete ON fund_valuations;
DROP TRIGGER fund_valuations_aggregate_update ON fund_valuations;
DROP TRIGGER fund_valuations_aggregate_insert ON fund_valuations;
DROP FUNCTION funds_aggregate();
DROP FUNCTION portfolio_funds_lock_product();
DROP FUNCTION portfolio_funds_aggregate();
DROP FUNCTION fund_valuations_aggregate();
DROP FUNCTION portfolio_valuations_refresh(uuid[], date[]);
