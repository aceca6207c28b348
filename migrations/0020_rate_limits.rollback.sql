-- Back to 0018: no rate limits. 0018's auth_enter_session(uuid, uuid, uuid, text) and auth_enter_api_key(text,
-- bytea), which count nothing, were never dropped and stay as they were.

DROP FUNCTION auth_count_source(text, integer);
DROP FUNCTION auth_enter_api_key(text, bytea, text, integer);
DROP FUNCTION auth_enter_session(uuid, uuid, uuid, text, text, integer);
DROP FUNCTION rate_count(text, text, integer, integer, integer);
DROP FUNCTION rate_limit_figure(rate_limit_tiers, text);
DROP TABLE rate_counters;
ALTER TABLE firms DROP COLUMN rate_limit_tier;
DROP TABLE rate_limit_tiers;
