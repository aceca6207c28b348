-- When a materialized view was last refreshed, for the app role, which cannot read view_refreshes: a summary or
-- dashboard with no rows of the firm's yet (a household created since the last refresh, a firm with no active
-- product) still says when its figures were taken.
-- depends: 0010_dates_and_cash_products

CREATE FUNCTION view_refreshed_at(p_view text) RETURNS timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT r.refreshed_at FROM view_refreshes r WHERE r.view_name = p_view $$;
REVOKE ALL ON FUNCTION view_refreshed_at(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION view_refreshed_at(text) TO wealthdesk_app;
