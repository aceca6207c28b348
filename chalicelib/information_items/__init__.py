"""A household's information items: what the adviser knows of it beyond its managed products."""
