-- Back to 0016: the sign-in counters, two-factor enrolments, recovery codes, challenges and notifications go (users
-- keep failed_logins and locked_until, which 0001 made); the firm-wide two-factor requirement goes with them.
DROP FUNCTION IF EXISTS auth_unlock_account(uuid);
DROP FUNCTION IF EXISTS auth_login_outcome(uuid, text, bigint, text);
DROP FUNCTION IF EXISTS auth_check_reserve(uuid, text);
DROP FUNCTION IF EXISTS auth_challenge_begin(bytea, text, text, boolean);
DROP FUNCTION IF EXISTS auth_login_begin(text, text);
DROP FUNCTION IF EXISTS login_reserve(uuid, uuid, text);
DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS login_challenges;
DROP TABLE IF EXISTS recovery_codes;
DROP TABLE IF EXISTS user_totp;
DROP TABLE IF EXISTS login_failures;
DROP TABLE IF EXISTS login_throttle;
ALTER TABLE firms DROP COLUMN IF EXISTS require_two_factor;
