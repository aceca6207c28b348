"""The firm's compliance trail: audit event queries (retention and erasure come later)."""
