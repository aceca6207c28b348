-- Client-group summaries and the firm dashboard as materialized views (refreshed CONCURRENTLY by the job
-- `refresh-views`, so reads never wait), and trigram indexes for search.
--
-- Materialized views cannot carry row-level security, so the app role cannot read them directly: it reads
-- security-barrier views that filter on current_firm_id(), owned by the owner role.
-- depends: 0004_managed_products

-- Each active product at its latest portfolio valuation, with its revenue by the rules-file formula.
CREATE MATERIALIZED VIEW mv_product_positions AS
SELECT p.firm_id, p.id AS product_id, p.client_group_id, p.provider_id, p.product_type, p.status,
       g.adviser_id, v.valuation_date, coalesce(v.value, 0) AS value,
       round(p.fixed_fee_direct + p.fixed_fee_facilitated
             + coalesce(v.value, 0) * p.percentage_fee_facilitated / 100, 2) AS revenue,
       now() AS refreshed_at
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
       max(pp.valuation_date) AS latest_valuation_date,
       now() AS refreshed_at
FROM client_groups g
LEFT JOIN mv_product_positions pp ON pp.client_group_id = g.id
GROUP BY g.firm_id, g.id, g.name, g.adviser_id
WITH DATA;
CREATE UNIQUE INDEX mv_client_group_summary_key ON mv_client_group_summary (client_group_id);
CREATE INDEX mv_client_group_summary_fum_idx ON mv_client_group_summary (firm_id, funds_under_management DESC);

-- The dashboard's breakdowns: one row per firm, dimension and key (provider, product type, adviser, total).
CREATE MATERIALIZED VIEW mv_firm_dashboard AS
SELECT pp.firm_id, d.dimension, d.key, sum(pp.value) AS funds_under_management, sum(pp.revenue) AS revenue,
       count(*) AS products, now() AS refreshed_at
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
    SELECT * FROM mv_client_group_summary WHERE firm_id = current_firm_id();
CREATE VIEW firm_dashboard WITH (security_barrier) AS
    SELECT * FROM mv_firm_dashboard WHERE firm_id = current_firm_id();
CREATE VIEW product_positions WITH (security_barrier) AS
    SELECT * FROM mv_product_positions WHERE firm_id = current_firm_id();
REVOKE ALL ON mv_product_positions, mv_client_group_summary, mv_firm_dashboard FROM PUBLIC;
GRANT SELECT ON client_group_summaries, firm_dashboard, product_positions TO wealthdesk_app;

-- Search: trigram indexes on what people type.
CREATE INDEX product_owners_name_trgm_idx ON product_owners
    USING gin ((first_name || ' ' || surname || ' ' || coalesce(known_as, '')) gin_trgm_ops);
CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops);
CREATE INDEX providers_name_trgm_idx ON providers USING gin (name gin_trgm_ops);
CREATE INDEX funds_isin_trgm_idx ON funds USING gin (isin gin_trgm_ops);
