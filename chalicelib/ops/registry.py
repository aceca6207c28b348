"""Importing this module registers every job (one import per job module)."""
from chalicelib.ops import audit_partitions, irr_history, refresh_views  # noqa: F401
