-- Each household's money kept in step by the database (docs/domain.md, "The household list"): its funds under
-- management (the sum of its active products' latest complete valuations), its number of active products and the
-- latest complete valuation date of any of its products, one row per household in client_group_fum. The household
-- list reads it with include=fum and pages through it in FUM order by an index (sort=fum), where valuing every
-- household of the firm on each page request took about 0.6 s of server time at 13,000 households (tests/bench/
-- fum.py). The rule is one function, client_group_fum_of(groups); statement triggers call it, in the writer's own
-- transaction (so the figures are live, never a nightly view's), for the households a statement touched:
--   client_groups          a new household gets its row (zeros); a deleted one loses it (the foreign key);
--   products               households of products added, removed, or whose status or household changed;
--   portfolio_valuations   households of the products whose complete valuations the statement changed (these rows
--                          are themselves derived by 0013's triggers from fund valuations and portfolio funds).
-- Backfill: every household's row from the rule.
-- depends: 0014_kingston_valuation_month

CREATE TABLE client_group_fum (
    firm_id                uuid NOT NULL,
    client_group_id        uuid PRIMARY KEY,
    funds_under_management numeric(24, 2) NOT NULL DEFAULT 0
                           CHECK (funds_under_management >= 0 AND funds_under_management < 90000000000000000),
    -- The same figure in pennies, which the list's FUM order compares: under row-level security a comparison
    -- whose operators are not leakproof (numeric's) cannot be an index condition, so the keyset's (fum, id) <
    -- (cursor) would scan the firm's index range from its end to the cursor; bigint's can, and every page seeks.
    fum_pennies            bigint NOT NULL GENERATED ALWAYS AS ((funds_under_management * 100)::bigint) STORED,
    product_count          integer NOT NULL DEFAULT 0 CHECK (product_count >= 0),
    latest_valuation_date  date,
    FOREIGN KEY (firm_id, client_group_id) REFERENCES client_groups (firm_id, id) ON DELETE CASCADE
);
-- The list's FUM order inside a firm: funds under management, then the household's id (the keyset's tie-break).
CREATE INDEX client_group_fum_order_idx ON client_group_fum (firm_id, fum_pennies, client_group_id);

ALTER TABLE client_group_fum ENABLE ROW LEVEL SECURITY;
ALTER TABLE client_group_fum FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON client_group_fum USING (firm_id = current_firm_id()) WITH CHECK (firm_id = current_firm_id());
CREATE POLICY maintenance ON client_group_fum TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON client_group_fum TO wealthdesk_app;

-- The rule: for each household of p_groups, over its products each at its latest complete valuation (one backward
-- probe of portfolio_valuations' primary key per product; none: value 0, no date), the active products' values
-- summed, the active products counted, and the latest valuation date of any product, lapsed ones included.
CREATE FUNCTION client_group_fum_of(p_groups uuid[])
    RETURNS TABLE (firm_id uuid, client_group_id uuid, funds_under_management numeric, product_count integer,
                   latest_valuation_date date)
    LANGUAGE sql STABLE AS $$
    SELECT g.firm_id, g.id,
           coalesce(sum(v.value) FILTER (WHERE p.status = 'active'), 0),
           (count(p.id) FILTER (WHERE p.status = 'active'))::integer,
           max(v.valuation_date)
    FROM client_groups g
    LEFT JOIN products p ON p.client_group_id = g.id
    LEFT JOIN LATERAL (SELECT pv.valuation_date, pv.value FROM portfolio_valuations pv
                       WHERE pv.product_id = p.id ORDER BY pv.valuation_date DESC LIMIT 1) v ON true
    WHERE g.id = ANY (p_groups)
    GROUP BY g.firm_id, g.id
$$;

-- Rewrites the rows of p_groups from the rule. The households' rows are locked first, in id order: a concurrent
-- writer of another product of the same household then waits here until it commits, and the rewrite, a later
-- statement with a fresh snapshot, sees that writer's rows (without the lock each would compute the sum without
-- the other's change and the last to commit would win). Writers lock their product before this (0013), so the
-- order is always product, then household. A transaction that writes products of several households one
-- statement after another, while another does the same in another order (two bulk loaders of one firm), can
-- deadlock; PostgreSQL then aborts one of them.
CREATE FUNCTION client_group_fum_refresh(p_groups uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM client_group_fum f WHERE f.client_group_id = ANY (p_groups)
        ORDER BY f.client_group_id FOR NO KEY UPDATE;
    INSERT INTO client_group_fum AS f (firm_id, client_group_id, funds_under_management, product_count,
                                       latest_valuation_date)
    SELECT x.firm_id, x.client_group_id, x.funds_under_management, x.product_count, x.latest_valuation_date
    FROM client_group_fum_of(p_groups) x ORDER BY x.client_group_id
    ON CONFLICT (client_group_id) DO UPDATE
        SET funds_under_management = EXCLUDED.funds_under_management, product_count = EXCLUDED.product_count,
            latest_valuation_date = EXCLUDED.latest_valuation_date
        WHERE (f.funds_under_management, f.product_count, f.latest_valuation_date)
              IS DISTINCT FROM (EXCLUDED.funds_under_management, EXCLUDED.product_count,
                                EXCLUDED.latest_valuation_date);
END $$;

CREATE FUNCTION client_groups_fum_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO client_group_fum (firm_id, client_group_id)
    SELECT n.firm_id, n.id FROM new_rows n ORDER BY n.id ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER client_groups_fum_insert AFTER INSERT ON client_groups
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION client_groups_fum_insert();

CREATE FUNCTION products_fum() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    groups uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.client_group_id) INTO groups FROM new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.client_group_id) INTO groups FROM old_rows o;
    ELSE  -- only a change of status or of household moves money (an edit of the name or fees does not)
        SELECT array_agg(DISTINCT x.g) INTO groups
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL (VALUES (n.client_group_id), (o.client_group_id)) AS x(g)
        WHERE (n.status, n.client_group_id) IS DISTINCT FROM (o.status, o.client_group_id);
    END IF;
    IF groups IS NOT NULL THEN
        PERFORM client_group_fum_refresh(groups);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER products_fum_insert AFTER INSERT ON products
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION products_fum();
CREATE TRIGGER products_fum_update AFTER UPDATE ON products
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION products_fum();
CREATE TRIGGER products_fum_delete AFTER DELETE ON products
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION products_fum();

CREATE FUNCTION portfolio_valuations_fum() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    groups uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT p.client_group_id) INTO groups
        FROM (SELECT DISTINCT n.product_id FROM new_rows n) t JOIN products p ON p.id = t.product_id;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT p.client_group_id) INTO groups
        FROM (SELECT DISTINCT o.product_id FROM old_rows o) t JOIN products p ON p.id = t.product_id;
    ELSE
        SELECT array_agg(DISTINCT p.client_group_id) INTO groups
        FROM ((SELECT product_id, valuation_date, value FROM new_rows
               EXCEPT SELECT product_id, valuation_date, value FROM old_rows)
              UNION
              (SELECT product_id, valuation_date, value FROM old_rows
               EXCEPT SELECT product_id, valuation_date, value FROM new_rows)) c
        JOIN products p ON p.id = c.product_id;
    END IF;
    IF groups IS NOT NULL THEN
        PERFORM client_group_fum_refresh(groups);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER portfolio_valuations_fum_insert AFTER INSERT ON portfolio_valuations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_valuations_fum();
CREATE TRIGGER portfolio_valuations_fum_update AFTER UPDATE ON portfolio_valuations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_valuations_fum();
CREATE TRIGGER portfolio_valuations_fum_delete AFTER DELETE ON portfolio_valuations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_valuations_fum();

INSERT INTO client_group_fum (firm_id, client_group_id, funds_under_management, product_count,
                              latest_valuation_date)
SELECT x.firm_id, x.client_group_id, x.funds_under_management, x.product_count, x.latest_valuation_date
FROM client_group_fum_of(ARRAY(SELECT id FROM client_groups)) x;
