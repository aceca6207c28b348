-- Access tokens end with their session: a per-request check that the token's session is live and the user is
-- still active in the same role. Called inside the statement that sets the tenant context, so it costs no extra
-- round trip. SECURITY DEFINER because it runs before the caller's firm is trusted for this lookup.
-- depends: 0001_foundation

CREATE FUNCTION auth_session_valid(p_session uuid, p_user uuid, p_role text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT EXISTS (
              SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
              WHERE s.id = p_session AND s.user_id = p_user AND s.revoked_at IS NULL
                AND u.active AND u.role = p_role) $$;

REVOKE ALL ON FUNCTION auth_session_valid(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_session_valid(uuid, uuid, text) TO wealthdesk_app;
