-- Products' fixed fees as wide as the API's Money type (numeric(18, 2)): at numeric(15, 2) a fee of 14 to 16
-- integer digits passed validation and the database refused it. Increasing a numeric's precision at the same
-- scale rewrites no rows. The summary and dashboard views read these columns, and PostgreSQL will not change the
-- type of a column a view uses, so they are dropped and recreated exactly as 0007 made them (which also fills
-- them, so their refresh time is now).
-- depends: 0011_view_refreshed_at

DROP VIEW product_positions;
DROP VIEW firm_dashboard;
DROP VIEW client_group_summaries;
DROP MATERIALIZED VIEW mv_firm_dashboard;
DROP MATERIALIZED VIEW mv_client_group_summary;
DROP MATERIALIZED VIEW mv_product_positions;

ALTER TABLE products
    ALTER COLUMN fixed_fee_direct TYPE numeric(18, 2),
    ALTER COLUMN fixed_fee_facilitated TYPE numeric(18, 2);

-- Each active product at its latest portfolio valuation, with its revenue by the rules-file formula.
CREATE MATERIALIZED VIEW mv_product_positions AS
SELECT p.firm_id, p.id AS product_id, p.client_group_id, p.provider_id, p.product_type, p.status,
       g.adviser_id, v.valuation_date, coalesce(v.value, 0) AS value,
       round(p.fixed_fee_direct + p.fixed_fee_facilitated
             + coalesce(v.value, 0) * p.percentage_fee_facilitated / 100, 2) AS revenue
FROM products p
JOIN client_groups g ON g.id = p.client_group_id
LEFT JOIN LATERAL (SELECT pv.valuation_date, pv.value FROM portfolio_valuations pv
                   WHERE pv.product_id = p.id ORDER BY pv.valuation_date DESC LIMIT 1) v ON true
WITH DATA;
CREATE UNIQUE INDEX mv_product_positions_key ON mv_product_positions (product_id);
CREATE INDEX mv_product_positions_firm_idx ON mv_product_positions (firm_id, client_group_id);

CREATE MATERIALIZED VIEW mv_client_group_summary AS
SELECT g.firm_id, g.id AS client_group_id, g.name, g.adviser_id,
       coalesce(sum(pp.value) FILTER (WHERE pp.status = 'active'), 0) AS funds_under_management,
       coalesce(sum(pp.revenue) FILTER (WHERE pp.status = 'active'), 0) AS revenue,
       count(pp.product_id) FILTER (WHERE pp.status = 'active') AS active_products,
       count(pp.product_id) FILTER (WHERE pp.status = 'lapsed') AS lapsed_products,
       max(pp.valuation_date) AS latest_valuation_date
FROM client_groups g
LEFT JOIN mv_product_positions pp ON pp.client_group_id = g.id
GROUP BY g.firm_id, g.id, g.name, g.adviser_id
WITH DATA;
CREATE UNIQUE INDEX mv_client_group_summary_key ON mv_client_group_summary (client_group_id);
CREATE INDEX mv_client_group_summary_fum_idx ON mv_client_group_summary (firm_id, funds_under_management DESC);

-- The dashboard's breakdowns: one row per firm, dimension and key (provider, product type, adviser, total).
CREATE MATERIALIZED VIEW mv_firm_dashboard AS
SELECT pp.firm_id, d.dimension, d.key, sum(pp.value) AS funds_under_management, sum(pp.revenue) AS revenue,
       count(*) AS products
FROM mv_product_positions pp
CROSS JOIN LATERAL (VALUES ('provider', coalesce(pp.provider_id::text, 'none')),
                           ('product_type', pp.product_type),
                           ('adviser', coalesce(pp.adviser_id::text, 'none')),
                           ('firm', 'total')) AS d(dimension, key)
WHERE pp.status = 'active'
GROUP BY pp.firm_id, d.dimension, d.key
WITH DATA;
CREATE UNIQUE INDEX mv_firm_dashboard_key ON mv_firm_dashboard (firm_id, dimension, key);

CREATE VIEW client_group_summaries WITH (security_barrier) AS
    SELECT s.*, r.refreshed_at FROM mv_client_group_summary s
    JOIN view_refreshes r ON r.view_name = 'mv_client_group_summary' WHERE s.firm_id = current_firm_id();
CREATE VIEW firm_dashboard WITH (security_barrier) AS
    SELECT d.*, r.refreshed_at FROM mv_firm_dashboard d
    JOIN view_refreshes r ON r.view_name = 'mv_firm_dashboard' WHERE d.firm_id = current_firm_id();
CREATE VIEW product_positions WITH (security_barrier) AS
    SELECT p.*, r.refreshed_at FROM mv_product_positions p
    JOIN view_refreshes r ON r.view_name = 'mv_product_positions' WHERE p.firm_id = current_firm_id();
REVOKE ALL ON mv_product_positions, mv_client_group_summary, mv_firm_dashboard FROM PUBLIC;
GRANT SELECT ON client_group_summaries, firm_dashboard, product_positions TO wealthdesk_app;
UPDATE view_refreshes SET refreshed_at = now()
WHERE view_name IN ('mv_product_positions', 'mv_client_group_summary', 'mv_firm_dashboard');
