-- Audit partitions are UTC calendar months whatever the session's TimeZone (a run in another zone computed
-- bounds shifted by its offset, which overlap the neighbouring partition).
-- depends: 0001_foundation

ALTER FUNCTION ensure_audit_partitions(date, integer) SET TimeZone = 'UTC';
