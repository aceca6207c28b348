"""Settings read from the environment, lazily, on every call.

Nothing here runs at import time: the Chalice test client swaps environment variables per call and the Lambda
runtime must not pay for work a request does not need. Secrets in AWS come from Secrets Manager (see secrets.py).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

APP_ROLE = "wealthdesk_app"
OWNER_ROLE = "wealthdesk_owner"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    database_url: str | None  # owner role: migrations, jobs, CLI administration
    app_database_url: str | None  # app role: the API
    database_secret_arn: str | None
    database_owner_secret_arn: str | None
    jwt_secret: str | None
    jwt_secret_arn: str | None
    totp_key: str | None  # encrypts TOTP secrets at rest (core/totp.py)
    totp_key_arn: str | None
    access_token_ttl: int
    refresh_token_ttl: int
    statement_timeout_ms: int
    pool_max_size: int
    max_body_bytes: int
    log_level: str
    # Multiplies every rate limit (migration 0020's rate_limit_tiers): 1 in every deployed stage; a test run or a
    # load test raises it so that its heavy users are not refused.
    rate_limit_scale: int


def settings() -> Settings:
    env = os.environ
    jwt_secret, jwt_secret_arn = jwt_secret_setting()
    return Settings(
        database_url=env.get("DATABASE_URL") or None,
        app_database_url=env.get("APP_DATABASE_URL") or None,
        database_secret_arn=env.get("DATABASE_SECRET_ARN") or None,
        database_owner_secret_arn=env.get("DATABASE_OWNER_SECRET_ARN") or None,
        jwt_secret=jwt_secret,
        jwt_secret_arn=jwt_secret_arn,
        totp_key=env.get("TOTP_KEY") or None,
        totp_key_arn=env.get("TOTP_KEY_ARN") or None,
        access_token_ttl=_int("ACCESS_TOKEN_TTL", 900),
        refresh_token_ttl=_int("REFRESH_TOKEN_TTL", 30 * 24 * 3600),
        statement_timeout_ms=_int("DB_STATEMENT_TIMEOUT_MS", 5000),
        pool_max_size=_int("DB_POOL_MAX", 1),
        max_body_bytes=_int("MAX_BODY_BYTES", 256 * 1024),
        log_level=env.get("LOG_LEVEL", "INFO"),
        rate_limit_scale=rate_limit_scale(),
    )


# Single settings for the path every request takes: the same values as settings() gives, read the same way (from the
# environment, on every call), without building the whole Settings.

def rate_limit_scale() -> int:
    """settings().rate_limit_scale."""
    return max(1, _int("RATE_LIMIT_SCALE", 1))


def jwt_secret_setting() -> tuple[str | None, str | None]:
    """(settings().jwt_secret, settings().jwt_secret_arn)."""
    env = os.environ
    return env.get("JWT_SECRET") or None, env.get("JWT_SECRET_ARN") or None


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The same server and database as `url`, as another role (used to derive the app role's URL)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return urlunsplit((parts.scheme, f"{auth}@{host}", parts.path, parts.query, parts.fragment))


def app_database_url() -> str:
    """The API's connection string: APP_DATABASE_URL, else DATABASE_URL as the app role."""
    s = settings()
    if s.app_database_url:
        return s.app_database_url
    if s.database_secret_arn:
        from chalicelib.core.secrets import database_url_from_secret

        return database_url_from_secret(s.database_secret_arn)
    if s.database_url:
        return with_user(s.database_url, APP_ROLE, os.environ.get("APP_DATABASE_PASSWORD"))
    raise RuntimeError("no database configured: set DATABASE_URL (or DATABASE_SECRET_ARN in AWS)")


def owner_database_url() -> str:
    """The owner role's connection string (migrations and jobs)."""
    s = settings()
    if s.database_url:
        return s.database_url
    if s.database_owner_secret_arn:
        from chalicelib.core.secrets import database_url_from_secret

        return database_url_from_secret(s.database_owner_secret_arn)
    raise RuntimeError("no database configured: set DATABASE_URL (or DATABASE_OWNER_SECRET_ARN in AWS)")
