-- Backups of a database with information items could not be restored: pg_restore loads rows with an empty
-- search_path, and information_data_is_valid(), which the items' CHECK on data_content calls, calls
-- information_pairs() and its other helpers unqualified ("function information_pairs(jsonb) does not exist" while
-- COPY loaded information_items). As ownership_is_valid() was given in 0025, the function now carries its own
-- search_path. tests/integration/test_restorable_checks.py keeps every function a CHECK, an index or a generated
-- column calls to that rule.
-- depends: 0025_backups 0026_networth

ALTER FUNCTION information_data_is_valid(jsonb) SET search_path = public, pg_temp;
