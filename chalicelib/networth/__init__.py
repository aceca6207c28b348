"""Net worth: a household's holdings from every source, per owner, live, as immutable statements and as daily
snapshots (docs/domain.md, "Net worth")."""
