-- product_flows_add applied its deltas in separate statements (UPDATE, then INSERT ... WHERE NOT EXISTS): a writer
-- committing the same (product, date) row between the two made the INSERT skip the delta, so a writer without the
-- product's lock (raw SQL, a job) could lose a cash flow from the netted table. Now one statement: the UPDATE in a
-- CTE, and the keys it did not touch inserted with ON CONFLICT, which adds to a row committed after the statement
-- began. Rows whose count reaches 0 are removed by a second statement, as before.
-- depends: 0008_product_flows

CREATE OR REPLACE FUNCTION product_flows_add(funds uuid[], dates date[], amounts numeric[], counts integer[])
    RETURNS void LANGUAGE sql AS $$
    WITH delta AS (
        SELECT pf.firm_id, pf.product_id, u.flow_date, sum(u.amount) AS amount, sum(u.n)::integer AS n
        FROM unnest(funds, dates, amounts, counts) AS u(fund, flow_date, amount, n)
        JOIN portfolio_funds pf ON pf.id = u.fund
        GROUP BY pf.firm_id, pf.product_id, u.flow_date
    ), updated AS (
        UPDATE product_flows f SET amount = f.amount + d.amount, activities = f.activities + d.n
        FROM delta d WHERE f.product_id = d.product_id AND f.flow_date = d.flow_date
        RETURNING f.product_id, f.flow_date
    )
    INSERT INTO product_flows AS f (firm_id, product_id, flow_date, amount, activities)
    SELECT d.firm_id, d.product_id, d.flow_date, d.amount, d.n FROM delta d
    WHERE NOT EXISTS (SELECT 1 FROM updated x WHERE x.product_id = d.product_id AND x.flow_date = d.flow_date)
    ORDER BY d.product_id, d.flow_date
    ON CONFLICT (product_id, flow_date) DO UPDATE
        SET amount = f.amount + EXCLUDED.amount, activities = f.activities + EXCLUDED.activities;

    DELETE FROM product_flows f
    WHERE f.activities = 0 AND (f.product_id, f.flow_date) IN (
        SELECT pf.product_id, u.flow_date FROM unnest(funds, dates) AS u(fund, flow_date)
        JOIN portfolio_funds pf ON pf.id = u.fund);
$$;
