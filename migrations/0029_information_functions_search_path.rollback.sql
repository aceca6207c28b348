-- Back to the functions resolving names through the caller's search_path.
ALTER FUNCTION information_data_is_valid(jsonb) RESET search_path;
ALTER FUNCTION information_date_of(jsonb) RESET search_path;
