DROP FUNCTION IF EXISTS auth_session_valid(uuid, uuid, text);
