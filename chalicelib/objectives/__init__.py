"""A household's objectives, and money goals: a target amount, what counts towards it, contributions."""
