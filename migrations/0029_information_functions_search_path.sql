-- The information items' content check (plpgsql, never inlined) with a search_path of its own, like the ownership
-- functions. The SQL helpers stay without one, so that the planner can still inline them.
-- The CHECK on information_items.data_content calls information_data_is_valid(), which calls the other helpers
-- unqualified: with pg_restore's empty search_path (a backup's verification, a restore) they were not found, so a
-- database holding any information item could not be restored ("function information_pairs(jsonb) does not exist").
ALTER FUNCTION information_data_is_valid(jsonb) SET search_path = public, pg_temp;
ALTER FUNCTION information_date_of(jsonb) SET search_path = public, pg_temp;
