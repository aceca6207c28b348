"""Verified backups: `pg_dump -Fc` of the database into the backup store with a manifest, each restored into a
scratch database and checked (the `backup` and `verify-backup` jobs), rotated grandfather-father-son, restorable
with `wealthdesk restore`; admins read them at /v1/ops/backups. docs/operations.md says what runs when."""
