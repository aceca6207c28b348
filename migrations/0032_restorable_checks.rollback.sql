-- Back to 0026: the function resolves its helpers through the caller's search_path again.
ALTER FUNCTION information_data_is_valid(jsonb) RESET search_path;
