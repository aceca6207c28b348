"""Cross-cutting pieces every domain package uses: config, db, errors, http pipeline, auth, audit, openapi."""
