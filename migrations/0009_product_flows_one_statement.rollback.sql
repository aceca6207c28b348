-- Back to 0008's version of product_flows_add.
CREATE OR REPLACE FUNCTION product_flows_add(funds uuid[], dates date[], amounts numeric[], counts integer[])
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
