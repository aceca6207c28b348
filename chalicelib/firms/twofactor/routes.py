"""HTTP routes for two-factor sign-in (thin: parse -> service -> serialise). docs/security.md tells the flow."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import ADMIN, PUBLIC, RATE_AUTH, RATE_SOURCE, READ, Api, ApiRequest
from chalicelib.firms.models import TokenOut
from chalicelib.firms.service import Tokens
from chalicelib.firms.twofactor import service
from chalicelib.firms.twofactor.models import (
    ChallengeCodeIn,
    ChallengeIn,
    CodeIn,
    EnrolledTokenOut,
    RecoveryCodesOut,
    TotpEnrolmentOut,
    TwoFactorDisableIn,
    TwoFactorLoginIn,
    TwoFactorStatusOut,
)

auth_api = Api("auth")
users_api = Api("users", resources={"user_id": "user"})


def _tokens(t: Tokens) -> TokenOut:
    return TokenOut(access_token=t.access_token, expires_in=t.expires_in, refresh_token=t.refresh_token)


@auth_api.route("/auth/2fa", "POST", access=PUBLIC, body=TwoFactorLoginIn, response=TokenOut,
                rate_limit=RATE_SOURCE, summary="Sign in, second step: answer a totp challenge")
def verify_login(req: ApiRequest) -> TokenOut:
    """Send the challenge from POST /v1/auth/login with a current TOTP `code` or one `recovery_code`. A code works
    once (the same code again is refused), a recovery code once. A wrong code counts as a failed sign-in (the
    same lockout as passwords); the challenge lasts 5 minutes and dies after 5 wrong codes."""
    b = req.body
    return _tokens(service.verify_login(req.ctx, b.challenge, b.code, b.recovery_code))


@auth_api.route("/auth/2fa/enrol", "POST", access=PUBLIC, body=ChallengeIn, response=TotpEnrolmentOut,
                rate_limit=RATE_SOURCE, summary="Sign in when the firm requires two-factor: start enrolment")
def enrol_at_login(req: ApiRequest) -> TotpEnrolmentOut:
    """With a totp_enrolment challenge: a new TOTP secret, shown once. Confirm it with
    POST /v1/auth/2fa/enrol/confirm within the challenge's 5 minutes."""
    return TotpEnrolmentOut.model_validate(service.enrol_at_login(req.ctx, req.body.challenge))


@auth_api.route("/auth/2fa/enrol/confirm", "POST", access=PUBLIC, body=ChallengeCodeIn, response=EnrolledTokenOut,
                rate_limit=RATE_SOURCE, summary="Sign in when the firm requires two-factor: confirm enrolment")
def confirm_at_login(req: ApiRequest) -> EnrolledTokenOut:
    """With the totp_enrolment challenge and a code of the new secret: two-factor is on, the sign-in completes
    (tokens) and the ten recovery codes are shown, once."""
    tokens, codes = service.confirm_at_login(req.ctx, req.body.challenge, req.body.code)
    return EnrolledTokenOut(access_token=tokens.access_token, expires_in=tokens.expires_in,
                            refresh_token=tokens.refresh_token, recovery_codes=codes)


@auth_api.route("/me/2fa", "GET", access=READ, response=TwoFactorStatusOut, summary="Your two-factor sign-in")
def status(req: ApiRequest) -> TwoFactorStatusOut:
    return TwoFactorStatusOut.model_validate(service.status(req.ctx))


@auth_api.route("/me/2fa/enrol", "POST", access=READ, response=TotpEnrolmentOut, status=200,
                idempotency_key=False, rate_limit=RATE_AUTH, summary="Start two-factor enrolment")
def enrol(req: ApiRequest) -> TotpEnrolmentOut:
    """A new TOTP secret, shown only here (it is stored encrypted and never returned again); confirm it within 10
    minutes with POST /v1/me/2fa/confirm. 409 when two-factor is already on. Idempotency-Key is ignored (the
    answer holds a secret, which is never stored for a replay)."""
    return TotpEnrolmentOut.model_validate(service.enrol(req.ctx))


@auth_api.route("/me/2fa/confirm", "POST", access=READ, body=CodeIn, response=RecoveryCodesOut, status=200,
                idempotency_key=False, rate_limit=RATE_AUTH, summary="Confirm two-factor enrolment")
def confirm(req: ApiRequest) -> RecoveryCodesOut:
    """A code of the pending secret turns two-factor on; the answer holds ten single-use recovery codes, shown
    only here (stored as hashes). A wrong code is a 422."""
    return RecoveryCodesOut(recovery_codes=service.confirm(req.ctx, req.body.code))


@auth_api.route("/me/2fa/disable", "POST", access=READ, body=TwoFactorDisableIn, status=204, idempotency_key=False,
                rate_limit=RATE_AUTH, summary="Turn two-factor sign-in off")
def disable(req: ApiRequest) -> None:
    """Needs a current `code` (or a `recovery_code`): an access token alone cannot. A wrong code counts as a failed
    sign-in (422; 403 once your address is locked). 409 while the firm requires two-factor."""
    service.disable(req.ctx, req.body.code, req.body.recovery_code)


@users_api.route("/users/{user_id}/2fa", "DELETE", access=ADMIN, status=204,
                 summary="Reset a user's two-factor sign-in")
def reset(req: ApiRequest, user_id: UUID) -> None:
    """For a lost device: the user's enrolment and recovery codes go and their sessions end; they enrol again (at
    their next sign-in when the firm requires it). The user is notified."""
    service.reset(req.ctx, user_id)
