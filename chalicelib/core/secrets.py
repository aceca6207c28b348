"""AWS Secrets Manager, read lazily and cached per container; re-read after an authentication failure."""
from __future__ import annotations

import json
import threading
from urllib.parse import quote

_cache: dict[str, str] = {}
_lock = threading.Lock()


def get_secret(arn: str, *, refresh: bool = False) -> str:
    with _lock:
        if not refresh and arn in _cache:
            return _cache[arn]
    import boto3  # imported here: ~150 ms that only the first secret read should pay

    value = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    with _lock:
        _cache[arn] = value
    return value


def setting_or_secret(value: str | None, arn: str | None) -> str | None:
    """A key given directly in the environment (local runs, tests), else the secret its ARN names (AWS), else
    None: the caller says what is missing."""
    if value:
        return value
    return get_secret(arn) if arn else None


def forget(arn: str | None) -> None:
    """Drop a cached secret (called when the database refuses its credentials: they were rotated)."""
    if arn:
        with _lock:
            _cache.pop(arn, None)


def database_url_from_secret(arn: str) -> str:
    """An RDS-style secret {username, password, host, port, dbname} as a libpq URL."""
    doc = json.loads(get_secret(arn))
    user = quote(doc["username"], safe="")
    password = quote(doc["password"], safe="")
    host = doc["host"]
    port = doc.get("port", 5432)
    dbname = doc.get("dbname", "wealthdesk")
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}?sslmode=require"
