"""Helpers for the backup tests: a backup store of the test's own, SNS under moto, and what a database holds."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from tests.conftest import owner_sql

REGION = "eu-west-2"


def backup_row(backup_id: Any) -> dict[str, Any]:
    rows = owner_sql("SELECT * FROM backups WHERE id = %s", (backup_id,))
    assert len(rows) == 1, rows
    return rows[0]


def verdicts(backup_id: Any) -> list[dict[str, Any]]:
    return owner_sql("SELECT * FROM backup_verifications WHERE backup_id = %s ORDER BY started_at, id", (backup_id,))


def scratch_databases() -> list[str]:
    rows = owner_sql("SELECT datname FROM pg_database WHERE datname LIKE 'wealthdesk\\_verify\\_%'")
    return [r["datname"] for r in rows]


def read_manifest(store_dir: Path, row: dict[str, Any]) -> dict[str, Any]:
    return json.loads((store_dir / row["object_key"].replace(".dump", ".manifest.json")).read_text())


def write_manifest(store_dir: Path, row: dict[str, Any], manifest: dict[str, Any]) -> None:
    (store_dir / row["object_key"].replace(".dump", ".manifest.json")).write_text(json.dumps(manifest))


def notifications_of(user_id: Any, kind: str) -> list[dict[str, Any]]:
    return owner_sql("SELECT * FROM notifications WHERE user_id = %s AND kind = %s ORDER BY created_at, id",
                     (user_id, kind))


@contextmanager
def sns_topic(monkeypatch: Any) -> Iterator[Any]:
    """An SNS topic under moto, named in BACKUP_ALERT_TOPIC_ARN; yields a function giving the messages sent to it."""
    import boto3
    from moto import mock_aws

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing"), ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(name, value)
    with mock_aws():
        arn = boto3.client("sns", region_name=REGION).create_topic(Name="wealthdesk-backups")["TopicArn"]
        monkeypatch.setenv("BACKUP_ALERT_TOPIC_ARN", arn)

        def sent() -> list[dict[str, Any]]:
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.sns.models import sns_backends

            topic = sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[arn]
            return [{"message": m[1], "subject": m[2], "kind": (m[3] or {}).get("kind", {}).get("Value")}
                    for m in topic.sent_notifications]

        yield sent


def table_checksums(url: str, tables: list[str] | None = None) -> dict[str, tuple[int, str]]:
    """Every table's (rows, md5 of its rows as text in primary-key order, else in the order of the whole row), read
    independently of the code under test: equal checksums mean equal contents."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        found = conn.execute(
            "SELECT n.nspname AS schema, c.relname AS name, "
            "ARRAY(SELECT a.attname FROM pg_index i JOIN unnest(i.indkey) WITH ORDINALITY k(n, o) ON true "
            "      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.n "
            "      WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY k.o)::text[] AS pk "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 1, 2").fetchall()
        result = {}
        for t in found:
            name = f"{t['schema']}.{t['name']}"
            if tables is not None and name not in tables:
                continue
            table = sql.Identifier(t["schema"], t["name"])
            order = (sql.SQL(", ").join(sql.Identifier("t", c) for c in t["pk"]) if t["pk"]
                     else sql.SQL("t::text"))
            row = conn.execute(sql.SQL("SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {}), "
                                       "'')) AS digest FROM {} t").format(order, table)).fetchone()
            result[name] = (row["n"], row["digest"])
        return result


_PLATFORM_BACKUP: dict[str, str] = {}


def platform_backup() -> str:
    """The id of a backup record (made once per worker, with a verdict; no dump behind it: for the API's reads)."""
    if "id" not in _PLATFORM_BACKUP:
        manifest = {"id": None, "tables": {"public.firms": 2}, "migrations": ["0001_foundation"]}
        row = owner_sql(
            "INSERT INTO backups (id, status, started_at, finished_at, store, object_key, size_bytes, sha256, "
            "manifest) VALUES (gen_random_uuid(), 'completed', now() - interval '1 hour', now() - interval '55 min', "
            "'file:///nowhere', 'wealthdesk-api-read.dump', 1024, repeat('a', 64), %s) RETURNING id",
            (json.dumps(manifest),))[0]
        owner_sql("INSERT INTO backup_verifications (backup_id, trigger, finished_at, outcome, stage, figures) "
                  "VALUES (%s, 'schedule', now() - interval '30 min', 'passed', 'done', '{\"tables\": 1}')",
                  (row["id"],))
        _PLATFORM_BACKUP["id"] = str(row["id"])
    return _PLATFORM_BACKUP["id"]
