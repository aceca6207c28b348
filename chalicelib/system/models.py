"""Models for the health check."""
from __future__ import annotations

from typing import Literal

from chalicelib.core.models import ApiModel


class MigrationsOut(ApiModel):
    applied: int
    pending: int


class HealthOut(ApiModel):
    status: Literal["ok"]
    database: Literal["ok"]
    migrations: MigrationsOut
