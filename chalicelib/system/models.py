"""Models for the health check."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class MigrationsOut(BaseModel):
    applied: int
    pending: int


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
    migrations: MigrationsOut
