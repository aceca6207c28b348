"""In AWS the database credentials come from Secrets Manager (moto here): read lazily, cached, re-read when the
database refuses them (rotation)."""
import json
import os
import time
from urllib.parse import urlsplit

import pytest

from chalicelib.core import config, db, secrets
from tests.conftest import assert_problem


@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield
    secrets._cache.clear()


def _secret_for(url: str, username: str) -> dict:
    parts = urlsplit(url)
    host = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("host") or parts.hostname
    return {"username": username, "password": "unused-locally", "host": host, "port": parts.port or 5432,
            "dbname": parts.path.lstrip("/")}


def test_app_connects_with_the_secret_and_rereads_it_after_an_authentication_failure(aws, monkeypatch, client):
    import boto3

    owner_url = os.environ["DATABASE_URL"]
    sm = boto3.client("secretsmanager")
    # The first version names a role that does not exist: the database refuses it, as after a rotation.
    arn = sm.create_secret(Name="wealthdesk/test/app",
                           SecretString=json.dumps(_secret_for(owner_url, "rotated_away")))["ARN"]
    monkeypatch.setenv("DATABASE_SECRET_ARN", arn)
    monkeypatch.delenv("APP_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", "")  # the API must not fall back to the owner's URL
    monkeypatch.setattr(config, "owner_database_url", lambda: owner_url)
    monkeypatch.setattr(secrets, "database_url_from_secret", _socket_aware(secrets.database_url_from_secret))
    db.close_pools()
    try:
        assert secrets._cache == {}
        refused = client.http.get("/v1/health")
        assert_problem(refused, 503)
        # Rotation: the secret now holds working credentials. The same pool (not rebuilt) must pick them up,
        # because each refused attempt dropped the cached secret.
        sm.put_secret_value(SecretId=arn, SecretString=json.dumps(_secret_for(owner_url, config.APP_ROLE)))
        deadline = time.monotonic() + 20
        while True:
            ok = client.http.get("/v1/health")
            if ok.status_code == 200 or time.monotonic() > deadline:
                break
        assert ok.status_code == 200, ok.body
        assert json.loads(secrets._cache[arn])["username"] == config.APP_ROLE
    finally:
        db.close_pools()


def _socket_aware(original):
    """The embedded server listens on a Unix socket: RDS secrets name a TCP host, so drop sslmode for a path."""
    def build(arn):
        url = original(arn)
        doc = json.loads(secrets.get_secret(arn))
        if doc["host"].startswith("/"):
            return (f"postgresql://{doc['username']}@/{doc['dbname']}?host={doc['host']}")
        return url
    return build


def test_import_does_not_read_secrets(aws):
    import importlib

    import app  # noqa: F401

    importlib.reload(config)
    assert secrets._cache == {}
