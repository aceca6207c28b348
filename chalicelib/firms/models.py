"""Request and response models for auth, users and API keys."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import ConfigDict, Field, RootModel, StrictBool, field_validator

from chalicelib.core.models import ApiModel, Email, IsoDateTime, StrictModel, decimal_type
from chalicelib.core.pagination import ListQuery, ListSpec

Role = Literal["admin", "adviser", "analyst", "viewer"]
Scope = Literal["read", "write"]


class LoginIn(StrictModel):
    email: Email
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokenOut(ApiModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str


class ChallengeOut(ApiModel):
    """The answer to a right password when a second factor is due: no tokens yet."""

    challenge: str = Field(description="Send it to POST /v1/auth/2fa (challenge_type totp) or to "
                                       "/v1/auth/2fa/enrol and /v1/auth/2fa/enrol/confirm (totp_enrolment)")
    challenge_type: Literal["totp", "totp_enrolment"] = Field(description=(
        "totp: send a code from your authenticator app, or a recovery code; totp_enrolment: your firm requires "
        "two-factor sign-in and you have not enrolled: enrol first"))
    expires_in: int = Field(description="Seconds the challenge stays valid")


class LoginOut(RootModel[TokenOut | ChallengeOut]):
    """Tokens, or (two-factor sign-in) a challenge to answer first."""

    model_config = ConfigDict(defer_build=True)


class FirmOut(ApiModel):
    id: UUID
    name: str
    base_currency: str


class FirmDetailOut(FirmOut):
    require_two_factor: bool = Field(description="Every user must sign in with a second factor (TOTP)")
    rate_limit_tier: str = Field(description=(
        "The firm's rate-limit tier (standard or elevated): how many requests per minute each of its users and API "
        "keys may make. Set by the operator (`wealthdesk firm rate-limit-tier`)"))
    plan_success_threshold: Decimal = Field(description=(
        "An objective linked to a plan is on track when the plan's probability of success is at least this"))
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


Threshold = decimal_type(5, 4, "0.5", "0.99")


class FirmPatchIn(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    require_two_factor: StrictBool | None = Field(None, description=(
        "true: users without two-factor get an enrolment challenge at sign-in and lose their sessions now; "
        "you must have two-factor yourself"))
    plan_success_threshold: Threshold | None = Field(None, description=(
        "0.5 to 0.99: the probability of success at which a plan puts its objectives on track"))


class UserOut(ApiModel):
    id: UUID
    email: str
    name: str
    role: Role
    active: bool
    created_at: IsoDateTime
    updated_at: IsoDateTime
    version: int


class MeOut(UserOut):
    firm: FirmOut


class UserCreateIn(StrictModel):
    email: Email
    name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str | None = Field(None, min_length=12, max_length=1024,
                                 description="Omit to have one generated and returned once")

    @field_validator("email")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class UserCreatedOut(UserOut):
    password: str | None = Field(None, description="The generated password, shown once; null when you chose one")


class UserPatchIn(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    role: Role | None = None
    active: StrictBool | None = None
    password: str | None = Field(None, min_length=12, max_length=1024)


USERS = ListSpec("users", {"email": (("email", "text"),)}, default_sort="email")
SESSIONS = ListSpec("sessions", {"created_at": (("created_at", "timestamptz"),)},
                    default_sort="-created_at")  # newest first
API_KEYS = ListSpec("api_keys", {"created_at": (("created_at", "timestamptz"),)},
                    default_sort="-created_at")  # newest first


class UserListQuery(ListQuery):
    role: Role | None = None
    active: bool | None = None


class ApiKeyCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1, max_length=2)
    expires_at: IsoDateTime | None = None
    service: StrictBool = Field(False, description=(
        "A firm service key: it keeps working when the admin who made it is deactivated or stops being an admin. "
        "Any other key dies with its creator"))

    @field_validator("scopes")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return sorted(set(v))

    @field_validator("expires_at")
    @classmethod
    def _aware_future(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return v
        if v <= datetime.now(UTC):  # aware: IsoDateTime requires the offset
            raise ValueError("must be in the future")
        return v


class ApiKeyOut(ApiModel):
    id: UUID
    name: str
    prefix: str
    scopes: list[Scope]
    service: bool = Field(description="A firm service key (outlives its creator); otherwise the key dies with them")
    created_by: UUID
    created_at: IsoDateTime
    expires_at: IsoDateTime | None
    revoked_at: IsoDateTime | None
    last_used_at: IsoDateTime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The full key, shown only in this response: wdk_...")


class SessionOut(ApiModel):
    id: UUID = Field(description="The session (one per login; DELETE /v1/me/sessions/{id} ends it)")
    created_at: IsoDateTime = Field(description="When the login happened")
    last_used_at: IsoDateTime = Field(description="When it was last used, to the minute; idle for 2 hours, it ends")
    expires_at: IsoDateTime = Field(description="When its current refresh token expires")
    ip: str | None = Field(description="The address of its latest login or refresh, when recorded")
    user_agent: str | None = Field(description="The user agent of its latest login or refresh, when recorded")
    current: bool = Field(description="Whether this request's access token belongs to it")
