-- Back to 0018: the backup records go (the dumps in the backup store stay where they are).
DROP VIEW IF EXISTS ops_backup_verifications;
DROP VIEW IF EXISTS ops_backups;
DROP FUNCTION IF EXISTS current_principal_is_admin();
DROP TABLE IF EXISTS backup_verifications;
DROP TABLE IF EXISTS backups;
ALTER FUNCTION ownership_is_valid(jsonb) RESET search_path;
