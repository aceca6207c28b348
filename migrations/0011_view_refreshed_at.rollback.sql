DROP FUNCTION view_refreshed_at(text);
