"""A household's actions: its to-do list, for the adviser or the client."""
