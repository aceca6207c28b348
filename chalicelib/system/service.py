"""Health: the database answers and the schema is current. OpenAPI: serialised once per container."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib.core import db, errors
from chalicelib.core.migrations import migrations_dir
from chalicelib.system import store


@lru_cache(maxsize=1)
def _known_migrations() -> frozenset[str]:
    return frozenset(p.stem for p in migrations_dir().glob("*.sql") if not p.stem.endswith(".rollback"))


def health() -> dict[str, Any]:
    try:
        with db.pool().connection(timeout=3) as conn:
            applied = store.applied_migration_ids(conn)
            conn.rollback()
    except Exception as exc:  # any failure to reach or query the database is a 503, never a 500
        raise errors.ServiceUnavailable(f"The database cannot be reached ({type(exc).__name__})") from None
    known = _known_migrations()
    return {"status": "ok", "database": "ok",
            "migrations": {"applied": len(known & applied), "pending": len(known - applied)}}


@lru_cache(maxsize=2)
def openapi_document(routes: Any) -> str:
    """The document of the app's routes (a core.routing.Router), serialised once per container."""
    from chalicelib.core.jsonutil import dumps

    return dumps(routes.openapi())
