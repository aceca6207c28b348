-- Investor cash flows netted per product and date, kept in step with holding_activity by statement triggers.
-- An IRR needs only each date's net amount (Kingston sums a month anyway; XIRR discounts every flow of a date by
-- the same factor), and a product's contributions are usually split across its funds: reading this table moves
-- one row per product and date instead of one per activity and fund (a household of 3,400 cash flows over
-- 5 products and 28 funds: 600 rows instead of 3,400). Rows exist exactly for the (product, date) pairs with at
-- least one investor flow (fees and dividends have activity_sign 0 and stay out); `activities` counts them, and
-- the amount may net to 0 (a switch out and back in on one day), as the GROUP BY it replaces would give.
-- depends: 0007_view_refresh_times

CREATE TABLE product_flows (
    firm_id     uuid NOT NULL,
    product_id  uuid NOT NULL,
    flow_date   date NOT NULL,
    amount      numeric(24, 2) NOT NULL,
    activities  integer NOT NULL CHECK (activities >= 0),
    PRIMARY KEY (product_id, flow_date) INCLUDE (firm_id, amount),
    FOREIGN KEY (firm_id, product_id) REFERENCES products (firm_id, id) ON DELETE CASCADE
);
CREATE INDEX product_flows_firm_idx ON product_flows (firm_id);

ALTER TABLE product_flows ENABLE ROW LEVEL SECURITY;
ALTER TABLE product_flows FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON product_flows USING (firm_id = current_firm_id()) WITH CHECK (firm_id = current_firm_id());
CREATE POLICY maintenance ON product_flows TO CURRENT_USER USING (true) WITH CHECK (true);
-- The app role writes it only through the triggers (which run as the writer), so it needs the same rights.
GRANT SELECT, INSERT, UPDATE, DELETE ON product_flows TO wealthdesk_app;

-- Applies signed deltas: per portfolio fund and date, an amount to add and a count of activities (+1 per row
-- inserted, -1 per row deleted; an update is a delete and an insert). Existing rows are updated first; only then
-- are missing ones inserted (a delete always finds its row: the CHECK on `activities` refuses a negative count,
-- and it would refuse the delta of a delete as a row to insert, ON CONFLICT or not); a concurrent writer of the
-- same new date meets ON CONFLICT and adds to the row. Rows go in key order, so two writers of the same product
-- lock its rows in the same order. A row whose count reaches 0 is removed. Separate statements: each sees the
-- previous one's effects (the CTEs of one statement could not).
CREATE FUNCTION product_flows_add(funds uuid[], dates date[], amounts numeric[], counts integer[])
    RETURNS void LANGUAGE sql AS $$
    UPDATE product_flows f SET amount = f.amount + d.amount, activities = f.activities + d.n
    FROM (SELECT pf.product_id, u.flow_date, sum(u.amount) AS amount, sum(u.n) AS n
          FROM unnest(funds, dates, amounts, counts) AS u(fund, flow_date, amount, n)
          JOIN portfolio_funds pf ON pf.id = u.fund
          GROUP BY pf.product_id, u.flow_date ORDER BY pf.product_id, u.flow_date) d
    WHERE f.product_id = d.product_id AND f.flow_date = d.flow_date;

    INSERT INTO product_flows AS f (firm_id, product_id, flow_date, amount, activities)
    SELECT pf.firm_id, pf.product_id, u.flow_date, sum(u.amount), sum(u.n)
    FROM unnest(funds, dates, amounts, counts) AS u(fund, flow_date, amount, n)
    JOIN portfolio_funds pf ON pf.id = u.fund
    WHERE NOT EXISTS (SELECT 1 FROM product_flows x WHERE x.product_id = pf.product_id AND x.flow_date = u.flow_date)
    GROUP BY pf.firm_id, pf.product_id, u.flow_date
    ORDER BY pf.product_id, u.flow_date
    ON CONFLICT (product_id, flow_date) DO UPDATE
        SET amount = f.amount + EXCLUDED.amount, activities = f.activities + EXCLUDED.activities;

    DELETE FROM product_flows f
    WHERE f.activities = 0 AND (f.product_id, f.flow_date) IN (
        SELECT pf.product_id, u.flow_date FROM unnest(funds, dates) AS u(fund, flow_date)
        JOIN portfolio_funds pf ON pf.id = u.fund);
$$;

CREATE FUNCTION holding_activity_flows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    funds uuid[];
    dates date[];
    amounts numeric[];
    counts integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(portfolio_fund_id), array_agg(activity_date),
               array_agg(amount * activity_sign(activity_type)), array_agg(1)
        INTO funds, dates, amounts, counts
        FROM new_rows WHERE activity_sign(activity_type) <> 0;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(portfolio_fund_id), array_agg(activity_date),
               array_agg(-amount * activity_sign(activity_type)), array_agg(-1)
        INTO funds, dates, amounts, counts
        FROM old_rows WHERE activity_sign(activity_type) <> 0;
    ELSE
        SELECT array_agg(c.fund), array_agg(c.day), array_agg(c.amount), array_agg(c.n)
        INTO funds, dates, amounts, counts
        FROM (SELECT portfolio_fund_id AS fund, activity_date AS day,
                     amount * activity_sign(activity_type) AS amount, 1 AS n
              FROM new_rows WHERE activity_sign(activity_type) <> 0
              UNION ALL
              SELECT portfolio_fund_id, activity_date, -amount * activity_sign(activity_type), -1
              FROM old_rows WHERE activity_sign(activity_type) <> 0) c;
    END IF;
    IF funds IS NOT NULL THEN
        PERFORM product_flows_add(funds, dates, amounts, counts);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holding_activity_flows_insert AFTER INSERT ON holding_activity
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION holding_activity_flows();
CREATE TRIGGER holding_activity_flows_update AFTER UPDATE ON holding_activity
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION holding_activity_flows();
CREATE TRIGGER holding_activity_flows_delete AFTER DELETE ON holding_activity
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION holding_activity_flows();

-- The table follows the fund's product: a portfolio fund never moves to another product.
CREATE FUNCTION portfolio_fund_keeps_its_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.product_id <> OLD.product_id THEN
        RAISE EXCEPTION 'a portfolio fund cannot move to another product' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER portfolio_funds_keep_product BEFORE UPDATE OF product_id ON portfolio_funds
    FOR EACH ROW EXECUTE FUNCTION portfolio_fund_keeps_its_product();

GRANT EXECUTE ON FUNCTION product_flows_add(uuid[], date[], numeric[], integer[]), holding_activity_flows(),
    portfolio_fund_keeps_its_product() TO wealthdesk_app;

INSERT INTO product_flows (firm_id, product_id, flow_date, amount, activities)
SELECT pf.firm_id, pf.product_id, a.activity_date, sum(a.amount * activity_sign(a.activity_type)), count(*)
FROM holding_activity a JOIN portfolio_funds pf ON pf.id = a.portfolio_fund_id
WHERE activity_sign(a.activity_type) <> 0
GROUP BY pf.firm_id, pf.product_id, a.activity_date;
ANALYZE product_flows;
