DROP TRIGGER IF EXISTS portfolio_funds_keep_product ON portfolio_funds;
DROP FUNCTION IF EXISTS portfolio_fund_keeps_its_product();
DROP TRIGGER IF EXISTS holding_activity_flows_delete ON holding_activity;
DROP TRIGGER IF EXISTS holding_activity_flows_update ON holding_activity;
DROP TRIGGER IF EXISTS holding_activity_flows_insert ON holding_activity;
DROP FUNCTION IF EXISTS holding_activity_flows();
DROP FUNCTION IF EXISTS product_flows_add(uuid[], date[], numeric[], integer[]);
DROP TABLE IF EXISTS product_flows;
