"""The backups' settings, read from the environment on every call (nothing at import)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from uuid import UUID

DEFAULT_PART_SIZE = 32 * 1024 * 1024  # S3 multipart part size: a 320 GiB dump is 10,000 parts (the limit)


@dataclass(frozen=True)
class BackupSettings:
    store: str  # file://DIR or s3://bucket/prefix
    alert_topic_arn: str | None  # SNS topic told of every backup alert (AWS)
    operator_firm_id: UUID | None  # the firm whose active admins get backup alerts in the app
    s3_kms_key_id: str | None  # SSE-KMS with this key; without it SSE-S3 (AES256)
    s3_part_size: int  # bytes per multipart part
    work_dir: str | None  # where a fetched dump is kept while it is checked and restored (default: the temp dir)
    max_age_hours: int  # alert when the newest verified backup is older than this
    skip_extensions: frozenset[str]  # extensions left out of restores: monitoring only, superuser to create


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def default_store() -> str:
    from chalicelib.core import embedded

    return "file://" + str(embedded.home() / "backups")


def backup_settings() -> BackupSettings:
    env = os.environ
    firm = env.get("OPERATOR_FIRM_ID") or None
    return BackupSettings(
        store=env.get("BACKUP_STORE") or default_store(),
        alert_topic_arn=env.get("BACKUP_ALERT_TOPIC_ARN") or None,
        operator_firm_id=UUID(firm) if firm else None,
        s3_kms_key_id=env.get("BACKUP_S3_KMS_KEY_ID") or None,
        s3_part_size=_int("BACKUP_S3_PART_SIZE", DEFAULT_PART_SIZE),
        work_dir=env.get("BACKUP_WORK_DIR") or None,
        max_age_hours=_int("BACKUP_MAX_AGE_HOURS", 26),
        skip_extensions=frozenset(x.strip() for x in env.get("BACKUP_SKIP_EXTENSIONS", "pg_stat_statements")
                                  .split(",") if x.strip()),
    )
