"""Who is acting and on behalf of which request: passed explicitly from routes to services."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from uuid import UUID

READ, WRITE = "read", "write"
ROLES = ("admin", "adviser", "analyst", "viewer")
CLIENT_WRITERS = frozenset({"admin", "adviser"})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user (JWT) or an API key, always inside one firm."""

    firm_id: UUID
    kind: str  # "user" | "api_key" | "system"
    id: UUID | None  # user id or API key id
    role: str | None = None  # users only
    scopes: frozenset[str] = frozenset()  # API keys only
    session_id: UUID | None = None
    # What each transaction shows PostgreSQL to enter the firm (db.transaction): the session (session_id) for a
    # user, the key's prefix and SHA-256 for an API key. Never logged or compared.
    key_prefix: str | None = field(default=None, repr=False, compare=False)
    key_hash: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def user_id(self) -> UUID | None:
        return self.id if self.kind == "user" else None

    def can_read(self) -> bool:
        return self.kind != "api_key" or READ in self.scopes

    def can_write_client_data(self) -> bool:
        if self.kind == "api_key":
            return WRITE in self.scopes
        return self.kind == "system" or self.role in CLIENT_WRITERS

    def is_admin(self) -> bool:
        return self.kind == "system" or (self.kind == "user" and self.role == "admin")


@dataclass(frozen=True)
class RateLimit:
    """A rate-limit window as PostgreSQL counted it: its limit, the requests counted in it (this one included) and
    the whole seconds until it ends."""

    limit: int
    used: int
    reset: int

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass
class RequestContext:
    """One request (or one CLI command / job): ids for the audit trail and logs, and its rate-limit count."""

    principal: Principal | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    ip: str | None = None
    user_agent: str | None = None
    # The rate-limit bucket this request counts against, until it is counted (core.http sets it for an
    # authenticated route; db.transaction counts it in the statement that opens the request's first transaction).
    rate_bucket: str | None = None
    rate: RateLimit | None = None  # the window's figures once counted
    rate_settled: bool = False  # the count committed (or needs no more: over the limit, nothing to count)

    @property
    def firm_id(self) -> UUID | None:
        return self.principal.firm_id if self.principal else None

    @classmethod
    def system(cls, firm_id: UUID, request_id: str | None = None) -> RequestContext:
        """For the CLI and jobs: acts inside one firm as the system."""
        ctx = cls(principal=Principal(firm_id=firm_id, kind="system", id=None))
        if request_id:
            ctx.request_id = request_id
        return ctx
