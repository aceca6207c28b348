"""Backup alerts: a backup that failed, a verification that failed, and no backup verified for too long.

Backups are the platform's, not a firm's, so an alert is not sent to every firm's admins (they could do nothing about
it): it goes to the operators' channels (chalicelib/ops/alerts.py: the log, the SNS alert topic, the admins of the
operators' firm in the app).
"""
from __future__ import annotations

from chalicelib.ops.alerts import raise_alert

BACKUP_FAILED = "ops.backup_failed"
VERIFICATION_FAILED = "ops.backup_verification_failed"
UNVERIFIED = "ops.backup_unverified"

__all__ = ["BACKUP_FAILED", "UNVERIFIED", "VERIFICATION_FAILED", "raise_alert"]
