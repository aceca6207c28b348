-- Rollback of 0001_foundation: drops everything it created, children first.
DROP FUNCTION IF EXISTS auth_session_firm(bytea);
DROP FUNCTION IF EXISTS auth_api_key(text);
DROP FUNCTION IF EXISTS auth_user_by_email(text);
DROP TABLE IF EXISTS job_runs;
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS audit_events CASCADE;
DROP FUNCTION IF EXISTS ensure_audit_partitions(date, integer);
DROP TABLE IF EXISTS client_group_product_owners;
DROP TABLE IF EXISTS product_owners;
DROP TABLE IF EXISTS client_groups;
DROP TABLE IF EXISTS api_keys;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS firms;
DROP FUNCTION IF EXISTS touch_updated_at();
DROP FUNCTION IF EXISTS current_firm_id();
