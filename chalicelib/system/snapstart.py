"""Lambda SnapStart hooks for the API function: what goes into the snapshot, and what must not come out of it.

app.py registers them only where the runtime provides `snapshot_restore_py` (Lambda's Python 3.12+); they run only
when SnapStart is on for the function (`SNAPSTART=1 make package`, docs/deploy.md). Before the snapshot: what a
first request would otherwise pay for, i.e. every route's domain imported, every model built, the libraries a
request uses imported and the OpenAPI document serialised. After a restore: no database connection may survive
(its socket belonged to the process that was snapshotted) and `random` is reseeded (every container restored from
one snapshot would otherwise draw the same numbers; `secrets` and uuid4 read the OS and need nothing).
"""
from __future__ import annotations

import gc
import importlib
import random
from typing import Any

# Imported by requests on first use (auth, the pool, JSON columns, email checks, password hashing).
LIBRARIES = ("jwt", "psycopg", "psycopg.rows", "psycopg.types.json", "psycopg_pool", "email_validator", "argon2")


def before_snapshot(routes: Any) -> None:
    """`routes`: the app's Router."""
    from chalicelib.core import auth, config, db  # noqa: F401  (imported for the snapshot)
    from chalicelib.core.models import build_models
    from chalicelib.system import service

    settings = config.settings()
    # boto3 reads the secrets on the first request; only the module goes into the snapshot, not a client (a client
    # keeps the credentials it found, and the snapshot's would be stale after a restore)
    secrets = ("boto3",) if settings.database_secret_arn or settings.jwt_secret_arn else ()
    for name in LIBRARIES + secrets:
        importlib.import_module(name)
    service.openapi_document(routes)  # imports every routes module: the document covers every route
    build_models()
    gc.freeze()  # what was loaded here lives as long as the container, like what app.py loaded


def after_restore() -> None:
    from chalicelib.core import db

    db.close_pools()
    random.seed()
