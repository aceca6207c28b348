"""HTTP routes for auth, users and API keys (thin: parse -> service -> serialise)."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import (
    ADMIN,
    PUBLIC,
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
    LoginIn,
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
users_api = Api("users", resources={"user_id": "user"})
keys_api = Api("api-keys", resources={"key_id": "API key"})


def _tokens(t: service.Tokens) -> TokenOut:
    return TokenOut(access_token=t.access_token, expires_in=t.expires_in, refresh_token=t.refresh_token)


@auth_api.route("/auth/login", "POST", access=PUBLIC, body=LoginIn, response=TokenOut,
                summary="Log in with email and password")
def login(req: ApiRequest) -> TokenOut:
    """Five failures in a row lock the account for 30 minutes. Unknown email and wrong password get the same 401."""
    return _tokens(service.login(req.ctx, req.body.email, req.body.password))


@auth_api.route("/auth/refresh", "POST", access=PUBLIC, body=RefreshIn, response=TokenOut,
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
