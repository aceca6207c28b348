-- Figures that are current (docs/domain.md, "Summaries and the dashboard"):
--   * a product's position (its latest complete valuation and its revenue) is one plain view,
--     product_positions_now, read live by the household summary and materialized for the dashboard, so the two
--     cannot disagree on the rule; the revenue formula is one function, product_revenue;
--   * the dashboard gains a template breakdown (mv_firm_dashboard's 'template' dimension), FUM by fund
--     (mv_firm_fund_totals), counts (mv_firm_counts) and the firm's pooled IRR (firm_irrs, written by the job);
--   * every write to a table the dashboard reads leaves a mark (dashboard_writes) in the writer's transaction;
--     the job refresh-stale-views refreshes the views only when marks exist and then deletes exactly the marks
--     of the writes its refresh saw, so the dashboard can say whether it is stale and since when.
-- depends: 0014_kingston_valuation_month

-- The revenue rule, once: fixed direct + fixed facilitated + value x percentage facilitated / 100, to the penny
-- (a product without a complete valuation counts a value of 0). Inlined by the planner like the expression it was.
CREATE FUNCTION product_revenue(fixed_direct numeric, fixed_facilitated numeric, percentage numeric, value numeric)
    RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT round(fixed_direct + fixed_facilitated + coalesce(value, 0) * percentage / 100, 2) $$;

-- Each product (active and lapsed) at its latest complete valuation, now. security_invoker: a reader sees only
-- what row-level security lets it see (the app role its firm's products; the owner, refreshing the
-- materialized views, every firm's).
CREATE VIEW product_positions_now WITH (security_invoker = true) AS
SELECT p.firm_id, p.id AS product_id, p.client_group_id, p.provider_id, p.product_type, p.status,
       g.adviser_id, tg.template_id, v.valuation_date, coalesce(v.value, 0) AS value,
       product_revenue(p.fixed_fee_direct, p.fixed_fee_facilitated, p.percentage_fee_facilitated, v.value)
           AS revenue
FROM products p
JOIN client_groups g ON g.id = p.client_group_id
LEFT JOIN template_generations tg ON tg.id = p.template_generation_id
LEFT JOIN LATERAL (SELECT pv.valuation_date, pv.value FROM portfolio_valuations pv
                   WHERE pv.product_id = p.id ORDER BY pv.valuation_date DESC LIMIT 1) v ON true;
GRANT SELECT ON product_positions_now TO wealthdesk_app;

DROP VIEW product_positions;
DROP VIEW firm_dashboard;
DROP VIEW client_group_summaries;
DROP MATERIALIZED VIEW mv_firm_dashboard;
DROP MATERIALIZED VIEW mv_client_group_summary;
DROP MATERIALIZED VIEW mv_product_positions;

CREATE MATERIALIZED VIEW mv_product_positions AS
SELECT * FROM product_positions_now
WITH DATA;
CREATE UNIQUE INDEX mv_product_positions_key ON mv_product_positions (product_id);
CREATE INDEX mv_product_positions_firm_idx ON mv_product_positions (firm_id, client_group_id);

-- The dashboard's top households read it (the household summary itself is computed live).
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
CREATE INDEX mv_client_group_summary_fum_idx ON mv_client_group_summary
    (firm_id, funds_under_management DESC, client_group_id);

-- The dashboard's breakdowns of active products: one row per firm, dimension and key (provider, product type,
-- adviser, portfolio template, and the firm's total).
CREATE MATERIALIZED VIEW mv_firm_dashboard AS
SELECT pp.firm_id, d.dimension, d.key, sum(pp.value) AS funds_under_management, sum(pp.revenue) AS revenue,
       count(*) AS products
FROM mv_product_positions pp
CROSS JOIN LATERAL (VALUES ('provider', coalesce(pp.provider_id::text, 'none')),
                           ('product_type', pp.product_type),
                           ('adviser', coalesce(pp.adviser_id::text, 'none')),
                           ('template', coalesce(pp.template_id::text, 'none')),
                           ('firm', 'total')) AS d(dimension, key)
WHERE pp.status = 'active'
GROUP BY pp.firm_id, d.dimension, d.key
WITH DATA;
CREATE UNIQUE INDEX mv_firm_dashboard_key ON mv_firm_dashboard (firm_id, dimension, key);

-- FUM by fund: for each active product, the fund valuations of its latest complete valuation date (the date its
-- FUM is taken on), summed per catalogue fund; so the funds add up to the firm's FUM. A portfolio fund ended
-- before that date has no valuation on it and holds nothing.
CREATE MATERIALIZED VIEW mv_firm_fund_totals AS
SELECT pp.firm_id, pf.fund_id, sum(fv.value) AS funds_under_management, count(*) AS portfolio_funds,
       count(DISTINCT pp.product_id) AS products
FROM mv_product_positions pp
JOIN portfolio_funds pf ON pf.product_id = pp.product_id
JOIN fund_valuations fv ON fv.portfolio_fund_id = pf.id AND fv.valuation_date = pp.valuation_date
WHERE pp.status = 'active'
GROUP BY pp.firm_id, pf.fund_id
WITH DATA;
CREATE UNIQUE INDEX mv_firm_fund_totals_key ON mv_firm_fund_totals (firm_id, fund_id);

-- The firm's clients and holdings: households (client groups, any status), people (product owners, any status),
-- active and lapsed products, and the portfolio funds held now (no end date, in an active product).
CREATE MATERIALIZED VIEW mv_firm_counts AS
SELECT f.id AS firm_id, coalesce(g.n, 0) AS households, coalesce(o.n, 0) AS people,
       coalesce(p.active, 0) AS products, coalesce(p.lapsed, 0) AS lapsed_products,
       coalesce(pf.n, 0) AS portfolio_funds
FROM firms f
LEFT JOIN (SELECT firm_id, count(*) AS n FROM client_groups GROUP BY firm_id) g ON g.firm_id = f.id
LEFT JOIN (SELECT firm_id, count(*) AS n FROM product_owners GROUP BY firm_id) o ON o.firm_id = f.id
LEFT JOIN (SELECT firm_id, count(*) FILTER (WHERE status = 'active') AS active,
                  count(*) FILTER (WHERE status = 'lapsed') AS lapsed
           FROM products GROUP BY firm_id) p ON p.firm_id = f.id
LEFT JOIN (SELECT a.firm_id, count(*) AS n FROM portfolio_funds a JOIN products b ON b.id = a.product_id
           WHERE a.end_date IS NULL AND b.status = 'active' GROUP BY a.firm_id) pf ON pf.firm_id = f.id
WITH DATA;
CREATE UNIQUE INDEX mv_firm_counts_key ON mv_firm_counts (firm_id);

CREATE VIEW client_group_summaries WITH (security_barrier) AS
    SELECT s.*, r.refreshed_at FROM mv_client_group_summary s
    JOIN view_refreshes r ON r.view_name = 'mv_client_group_summary' WHERE s.firm_id = current_firm_id();
CREATE VIEW firm_dashboard WITH (security_barrier) AS
    SELECT d.*, r.refreshed_at FROM mv_firm_dashboard d
    JOIN view_refreshes r ON r.view_name = 'mv_firm_dashboard' WHERE d.firm_id = current_firm_id();
CREATE VIEW product_positions WITH (security_barrier) AS
    SELECT p.*, r.refreshed_at FROM mv_product_positions p
    JOIN view_refreshes r ON r.view_name = 'mv_product_positions' WHERE p.firm_id = current_firm_id();
-- The ten households with the most FUM, ordered and cut inside the view, where the index above serves them: a
-- security-barrier view is not flattened into the query reading it, so an ORDER BY ... LIMIT outside it sorted
-- every household of the firm (20 ms at 13,000 households, against well under one).
CREATE VIEW firm_top_households WITH (security_barrier) AS
    SELECT client_group_id, name, funds_under_management, revenue FROM mv_client_group_summary
    WHERE firm_id = current_firm_id() ORDER BY funds_under_management DESC, client_group_id LIMIT 10;
CREATE VIEW firm_fund_totals WITH (security_barrier) AS
    SELECT * FROM mv_firm_fund_totals WHERE firm_id = current_firm_id();
CREATE VIEW firm_counts WITH (security_barrier) AS
    SELECT * FROM mv_firm_counts WHERE firm_id = current_firm_id();
REVOKE ALL ON mv_product_positions, mv_client_group_summary, mv_firm_dashboard, mv_firm_fund_totals,
    mv_firm_counts FROM PUBLIC;
GRANT SELECT ON client_group_summaries, firm_dashboard, product_positions, firm_top_households, firm_fund_totals,
    firm_counts TO wealthdesk_app;
INSERT INTO view_refreshes (view_name, refreshed_at)
VALUES ('mv_product_positions', now()), ('mv_client_group_summary', now()), ('mv_firm_dashboard', now()),
       ('mv_firm_fund_totals', now()), ('mv_firm_counts', now())
ON CONFLICT (view_name) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at;

-- The firm's pooled IRR over its whole book, one row per method, written by the refresh jobs (computing it on
-- request would pool every product of the firm each time).
CREATE TABLE firm_irrs (
    firm_id    uuid NOT NULL REFERENCES firms (id) ON DELETE RESTRICT,
    method     text NOT NULL CHECK (method IN ('kingston_monthly', 'xirr')),
    irr        numeric(20, 10),
    reason     text,
    from_date  date,
    to_date    date,
    as_of      timestamptz NOT NULL,
    PRIMARY KEY (firm_id, method),
    CHECK (irr IS NULL OR reason IS NULL)
);
ALTER TABLE firm_irrs ENABLE ROW LEVEL SECURITY;
ALTER TABLE firm_irrs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON firm_irrs USING (firm_id = current_firm_id()) WITH CHECK (firm_id = current_firm_id());
CREATE POLICY maintenance ON firm_irrs TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT ON firm_irrs TO wealthdesk_app;

-- One row per write transaction that changed what the dashboard reads, since the last refresh that saw it.
-- Insert-only for writers: each transaction adds a row of its own, so concurrent writers never wait for each
-- other here (a "dirty since" row per firm, updated by every writer, would hold its row lock until the writer
-- commits and queue every other writer of the firm behind it). No foreign key to firms either: its check would
-- share-lock the firm's row from every writer at once. `xid` is the writer's transaction: the refresh job reads
-- the marks and a snapshot in one statement, refreshes, then deletes the marks of transactions visible in that
-- snapshot (pg_visible_in_snapshot), which its refresh saw; a write that commits later keeps its mark.
CREATE TABLE dashboard_writes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    firm_id     uuid NOT NULL,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    written_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dashboard_writes_firm_idx ON dashboard_writes (firm_id, written_at);
ALTER TABLE dashboard_writes ENABLE ROW LEVEL SECURITY;
ALTER TABLE dashboard_writes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON dashboard_writes USING (firm_id = current_firm_id())
    WITH CHECK (firm_id = current_firm_id());
CREATE POLICY maintenance ON dashboard_writes TO CURRENT_USER USING (true) WITH CHECK (true);
-- Writers insert through the trigger below, which runs as the writer; the dashboard reads its firm's marks.
GRANT SELECT, INSERT ON dashboard_writes TO wealthdesk_app;

-- A statement trigger, once per transaction: the first statement that writes a watched table inserts the mark
-- and sets a transaction-local flag; later statements of the transaction see the flag and do nothing (a
-- valuation's statement and the portfolio valuation and IRR statements it sets off leave one mark). A
-- subtransaction rolled back takes its mark and the flag with it. A writer with no firm set (the owner's raw SQL
-- or a migration) may have touched any firm: it marks every firm.
CREATE FUNCTION dashboard_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('wealthdesk.dashboard_written', true) IS DISTINCT FROM 'yes' THEN
        IF current_firm_id() IS NOT NULL THEN
            INSERT INTO dashboard_writes (firm_id) VALUES (current_firm_id());
        ELSE
            INSERT INTO dashboard_writes (firm_id) SELECT f.id FROM firms f;
        END IF;
        PERFORM set_config('wealthdesk.dashboard_written', 'yes', true);
    END IF;
    RETURN NULL;
END $$;

-- The tables the views and the firm's IRR read, and for updates the columns they read (a household's notes or a
-- product's plan number change no figure). Names, of providers, funds, templates and advisers, are read when the
-- dashboard is, not from the views.
CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE OF name, adviser_id ON client_groups
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_written();
CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE ON product_owners
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_written();
CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE OF name, client_group_id, provider_id,
    product_type, status, fixed_fee_direct, fixed_fee_facilitated, percentage_fee_facilitated,
    template_generation_id ON products
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_written();
CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE OF product_id, fund_id, end_date
    ON portfolio_funds FOR EACH STATEMENT EXECUTE FUNCTION dashboard_written();
CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE OF portfolio_fund_id, valuation_date, value
    ON fund_valuations FOR EACH STATEMENT EXECUTE FUNCTION dashboard_written();
CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE ON portfolio_valuations
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_written();
CREATE TRIGGER dashboard_written AFTER INSERT OR DELETE OR UPDATE ON product_flows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_written();
