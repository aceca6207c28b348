-- Back to the schema before retention policies and erasure (roll the code back with the schema). An erased
-- person stays erased: their names stay 'Erased'.
ALTER TABLE product_owners
    DROP CONSTRAINT product_owners_erased_holds_nothing,
    DROP COLUMN erased_at,
    DROP COLUMN retention_hold;
DROP INDEX notifications_firm_read_idx;
DROP INDEX notifications_firm_created_idx;
DROP INDEX sessions_firm_revoked_idx;
DROP INDEX sessions_firm_expires_idx;
DROP TRIGGER firms_default_retention ON firms;
DROP FUNCTION firms_default_retention();
DROP FUNCTION retention_default_policies(uuid);
DROP TABLE data_retention_policies;
DROP FUNCTION retention_period_text(interval);
DROP FUNCTION retention_period_covers(interval, integer);
DROP FUNCTION retention_period_is_valid(interval);
DROP FUNCTION audit_is_security_event(text);
