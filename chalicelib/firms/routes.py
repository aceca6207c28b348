"""HTTP routes for auth, users and API keys (thin: parse -> service -> serialise)."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import (
    ADMIN,
    PUBLIC,
    RATE_SOURCE,
    READ,
    Api,
    ApiRequest,
    Reply,
    created,
)
from chalicelib.core.pagination import ListQuery, Page, page_of
from chalicelib.firms import service
from chalicelib.firms.models import (
    ApiKeyCreatedOut,
    ApiKeyCreateIn,
    ApiKeyOut,
    ChallengeOut,
    FirmDetailOut,
    FirmPatchIn,
    LoginIn,
    LoginOut,
    MeOut,
    RefreshIn,
    SessionOut,
    TokenOut,
    UserCreatedOut,
    UserCreateIn,
    UserListQuery,
    UserOut,
    UserPatchIn,
)

auth_api = Api("auth", resources={"session_id": "session"})
firm_api = Api("firm")
users_api = Api("users", resources={"user_id": "user"})
keys_api = Api("api-keys", resources={"key_id": "API key"})


def _tokens(t: service.Tokens) -> TokenOut:
    return TokenOut(access_token=t.access_token, expires_in=t.expires_in, refresh_token=t.refresh_token)


@auth_api.route("/auth/login", "POST", access=PUBLIC, body=LoginIn, response=LoginOut, rate_limit=RATE_SOURCE,
                summary="Log in with email and password")
def login(req: ApiRequest) -> LoginOut:
    """Tokens; or, when a second factor is due, a `challenge` (no tokens yet): `challenge_type` totp is answered
    at POST /v1/auth/2fa, totp_enrolment (the firm requires two-factor and you have none) at
    POST /v1/auth/2fa/enrol then /v1/auth/2fa/enrol/confirm. Unknown email, wrong password and every lock get the
    same 401. Five failed checks from one address lock that address out of the account for 30 minutes; 50 within
    an hour from any addresses lock the account for an hour (its user and the firm's admins are notified). The
    address is the connection's as API Gateway saw it, never X-Forwarded-For."""
    result = service.login(req.ctx, req.body.email, req.body.password)
    if isinstance(result, service.Challenge):
        return LoginOut(ChallengeOut(challenge=result.challenge, challenge_type=result.challenge_type,
                                     expires_in=result.expires_in))
    return LoginOut(_tokens(result))


@auth_api.route("/auth/refresh", "POST", access=PUBLIC, body=RefreshIn, response=TokenOut, rate_limit=RATE_SOURCE,
                summary="Rotate a refresh token")
def refresh(req: ApiRequest) -> TokenOut:
    """Each refresh token works once; presenting a used one again revokes the whole session chain."""
    return _tokens(service.refresh(req.ctx, req.body.refresh_token))


@auth_api.route("/auth/logout", "POST", access=READ, status=204, summary="End this session")
def logout(req: ApiRequest) -> None:
    """Revokes the session's refresh tokens. The access token lapses at its expiry (15 minutes by default)."""
    service.logout(req.ctx)


@auth_api.route("/me", "GET", access=READ, response=MeOut, summary="The current user and firm")
def me(req: ApiRequest) -> MeOut:
    return MeOut.model_validate(service.me(req.ctx))


@auth_api.route("/me/sessions", "GET", access=READ, query=ListQuery, response=Page[SessionOut],
                summary="The current user's live sessions")
def list_sessions(req: ApiRequest) -> Page[SessionOut]:
    """One per login, newest first; `current` marks this token's. A user has at most 5: a sixth login ends the
    oldest. A session unused for 2 hours ends."""
    rows, cursor = service.list_sessions(req.ctx, req.query)
    return page_of(SessionOut, rows, cursor)


@auth_api.route("/me/sessions/{session_id}", "DELETE", access=READ, status=204, summary="End one of your sessions")
def end_session(req: ApiRequest, session_id: UUID) -> None:
    """Its refresh tokens and access tokens stop working at once. Another user's session is a 404."""
    service.end_session(req.ctx, session_id)


@firm_api.route("/firm", "GET", access=READ, response=FirmDetailOut, summary="Your firm and its settings")
def get_firm(req: ApiRequest) -> FirmDetailOut:
    return FirmDetailOut.model_validate(service.get_firm(req.ctx))


@firm_api.route("/firm", "PATCH", access=ADMIN, body=FirmPatchIn, response=FirmDetailOut, if_match=True,
                summary="Change your firm's settings")
def update_firm(req: ApiRequest) -> FirmDetailOut:
    """The firm's name, and `require_two_factor`: true makes every user sign in with TOTP; users who have not
    enrolled lose their sessions now and get an enrolment challenge at their next sign-in. You must have enrolled
    yourself (409). API keys are not affected."""
    return FirmDetailOut.model_validate(service.update_firm(req.ctx, req.body, req.if_match))


@users_api.route("/users", "GET", access=ADMIN, query=UserListQuery, response=Page[UserOut],
                 summary="List the firm's users")
def list_users(req: ApiRequest) -> Page[UserOut]:
    rows, cursor = service.list_users(req.ctx, req.query)
    return page_of(UserOut, rows, cursor)


@users_api.route("/users", "POST", access=ADMIN, body=UserCreateIn, response=UserCreatedOut, status=201,
                 summary="Create a user")
def create_user(req: ApiRequest) -> Reply:
    user, generated = service.create_user(req.ctx, req.body)
    out = UserCreatedOut.model_validate({**user, "password": generated})
    return Reply(out, 201, {"Location": f"/v1/users/{user['id']}"})


@users_api.route("/users/{user_id}", "GET", access=ADMIN, response=UserOut, summary="Get a user")
def get_user(req: ApiRequest, user_id: UUID) -> UserOut:
    return UserOut.model_validate(service.get_user(req.ctx, user_id))


@users_api.route("/users/{user_id}", "PATCH", access=ADMIN, body=UserPatchIn, response=UserOut, if_match=True,
                 summary="Change a user's name, role, password or active flag")
def update_user(req: ApiRequest, user_id: UUID) -> UserOut:
    """Deactivating a user, or changing their role or password, revokes their sessions."""
    return UserOut.model_validate(service.update_user(req.ctx, user_id, req.body, req.if_match))


@keys_api.route("/api-keys", "GET", access=ADMIN, query=ListQuery, response=Page[ApiKeyOut],
                summary="List API keys")
def list_api_keys(req: ApiRequest) -> Page[ApiKeyOut]:
    rows, cursor = service.list_api_keys(req.ctx, req.query)
    return page_of(ApiKeyOut, rows, cursor)


@keys_api.route("/api-keys", "POST", access=ADMIN, body=ApiKeyCreateIn, response=ApiKeyCreatedOut, status=201,
                summary="Create an API key (the key is shown once)")
def create_api_key(req: ApiRequest) -> Reply:
    row = service.create_api_key(req.ctx, req.body)
    return created(ApiKeyCreatedOut, row, f"/v1/api-keys/{row['id']}")


@keys_api.route("/api-keys/{key_id}", "DELETE", access=ADMIN, status=204, summary="Revoke an API key")
def revoke_api_key(req: ApiRequest, key_id: UUID) -> None:
    service.revoke_api_key(req.ctx, key_id)
