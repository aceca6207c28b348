"""Request and response models for two-factor sign-in."""
from __future__ import annotations

from pydantic import Field, model_validator

from chalicelib.core.models import ApiModel, IsoDateTime, StrictModel
from chalicelib.firms.models import TokenOut

_CODE = "The 6-digit code your authenticator app shows now"
_CHALLENGE = Field(min_length=1, max_length=200, description="The challenge from POST /v1/auth/login")


class _CodeOrRecovery(StrictModel):
    code: str | None = Field(None, min_length=6, max_length=12, description=_CODE)
    recovery_code: str | None = Field(None, min_length=16, max_length=40,
                                      description="One of your recovery codes (XXXX-XXXX-XXXX-XXXX)")

    @model_validator(mode="after")
    def _exactly_one(self) -> _CodeOrRecovery:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("send exactly one of code and recovery_code")
        return self


class TwoFactorLoginIn(_CodeOrRecovery):
    challenge: str = _CHALLENGE


class TwoFactorDisableIn(_CodeOrRecovery):
    pass


class ChallengeIn(StrictModel):
    challenge: str = _CHALLENGE


class ChallengeCodeIn(StrictModel):
    challenge: str = _CHALLENGE
    code: str = Field(min_length=6, max_length=12, description=_CODE)


class CodeIn(StrictModel):
    code: str = Field(min_length=6, max_length=12, description=_CODE)


class TotpEnrolmentOut(ApiModel):
    secret: str = Field(description="The TOTP secret (base32), shown only in this response: add it to an "
                                    "authenticator app, then confirm with a code within 10 minutes")
    otpauth_uri: str = Field(description="The same secret as an otpauth:// URI (for a QR code)")


class RecoveryCodesOut(ApiModel):
    recovery_codes: list[str] = Field(description="Ten single-use codes, shown only in this response: each signs "
                                                  "you in once instead of a TOTP code")


class EnrolledTokenOut(TokenOut):
    recovery_codes: list[str] = Field(description="Ten single-use codes, shown only in this response")


class TwoFactorStatusOut(ApiModel):
    enabled: bool
    enabled_at: IsoDateTime | None
    recovery_codes_left: int
    required_by_firm: bool
