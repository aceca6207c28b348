ALTER FUNCTION ensure_audit_partitions(date, integer) RESET TimeZone;
