"""Credentials: password hashing (argon2id), access tokens (HS256 JWT), API keys and refresh tokens.

`authenticate(header)` turns an Authorization header into a Principal. It runs inside the API Lambda for every
route (not as a separate API Gateway authorizer Lambda) so that every refusal is problem+json, a revoked API key
stops working at once, and a request pays no second cold start.
"""
from __future__ import annotations

import hashlib
import secrets as pysecrets
import string
import time
import uuid
from collections import OrderedDict
from functools import lru_cache
from typing import Any
from uuid import UUID

from chalicelib.core import config, secrets
from chalicelib.core.context import Principal, RequestContext
from chalicelib.core.errors import ServiceUnavailable, Unauthorized

API_KEY_PREFIX = "wdk_"
_ALPHABET = string.ascii_letters + string.digits
_JWT_ALG = "HS256"
_ISSUER = "wealthdesk"


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from argon2 import PasswordHasher

    # OWASP's argon2id floor (m=19 MiB, t=2, p=1): strong, and fast enough for a 128 MB Lambda.
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def encode_with_setting(setting: str, password: str) -> str | None:
    """The encoded argon2 hash of `password` under a stored hash's parameters and salt (`setting`: the encoded hash
    without its last `$` part, as auth_user_by_email returns it), for PostgreSQL to compare with the stored hash
    (auth_enter_password): the app never sees a stored hash. None when the setting is not argon2's."""
    import base64

    from argon2.exceptions import HashingError
    from argon2.low_level import Type, hash_secret

    types = {"argon2id": Type.ID, "argon2i": Type.I, "argon2d": Type.D}
    parts = setting.split("$")
    if len(parts) != 5 or parts[0] or parts[1] not in types:
        return None
    try:
        params = dict(item.split("=", 1) for item in parts[3].split(","))
        salt = base64.b64decode(parts[4] + "=" * (-len(parts[4]) % 4), validate=True)
        return hash_secret(password.encode(), salt, time_cost=int(params["t"]), memory_cost=int(params["m"]),
                           parallelism=int(params["p"]), hash_len=_hasher().hash_len, type=types[parts[1]],
                           version=int(parts[2].removeprefix("v="))).decode()
    except (ValueError, KeyError, TypeError, HashingError):
        return None


_DUMMY_HASH: list[str] = []


def burn_password_check(password: str) -> None:
    """Spend the same time as a real check, so an unknown email cannot be told apart by timing."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(pysecrets.token_urlsafe(16)))
    verify_password(_DUMMY_HASH[0], password)


def generate_password() -> str:
    return pysecrets.token_urlsafe(15)


def _random(n: int) -> str:
    return "".join(pysecrets.choice(_ALPHABET) for _ in range(n))


def sha256(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


# --- API keys: wdk_<8 visible>_<40 secret>; stored as prefix + sha256 of the whole key (high entropy) ---

def new_api_key() -> tuple[str, str, bytes]:
    """(full key shown once, visible prefix, hash to store)."""
    prefix = API_KEY_PREFIX + _random(8)
    key = f"{prefix}_{_random(40)}"
    return key, prefix, sha256(key)


def split_api_key(token: str) -> str | None:
    if not token.startswith(API_KEY_PREFIX) or len(token) != 4 + 8 + 1 + 40 or token[12] != "_":
        return None
    return token[:12]


# --- refresh tokens: opaque random strings; only their sha256 is stored ---

def new_refresh_token() -> tuple[str, bytes]:
    token = "wdr_" + pysecrets.token_urlsafe(32)
    return token, sha256(token)


# --- access tokens ---

def _jwt_secret() -> str:
    secret = secrets.setting_or_secret(*config.jwt_secret_setting())
    if secret is None:
        raise ServiceUnavailable("The service is not configured to issue tokens (JWT_SECRET)")
    return secret


def derived_key(purpose: bytes) -> bytes:
    """A key for one purpose other than access tokens (e.g. b"wealthdesk cursor v1"): HMAC-SHA256 of the purpose
    under the JWT signing secret, so a value signed for one purpose is never valid for another, and no new secret
    must be configured. Read like the JWT secret (a 503 when there is none); derived once per secret."""
    return _derived(_jwt_secret(), purpose)


@lru_cache(maxsize=8)
def _derived(secret: str, purpose: bytes) -> bytes:
    import hmac

    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def issue_access_token(*, user_id: UUID, firm_id: UUID, role: str, session_id: UUID) -> tuple[str, int]:
    import jwt

    ttl = config.settings().access_token_ttl
    now = int(time.time())
    claims = {"iss": _ISSUER, "sub": str(user_id), "firm": str(firm_id), "role": role, "sid": str(session_id),
              "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, _jwt_secret(), algorithm=_JWT_ALG), ttl


# Verified tokens, per container: a caller's repeat requests skip PyJWT's parsing and HMAC (~40 us). Safe
# because the cache holds only tokens this container verified with the same secret, each until its `exp`, and
# every transaction still shows the token's session to PostgreSQL, which verifies it (db.transaction).
_VERIFIED_MAX = 1024
_verified: OrderedDict[tuple[str, str], tuple[Principal, int]] = OrderedDict()


def _principal_from_jwt(token: str) -> Principal:
    secret = _jwt_secret()
    hit = _verified.get((secret, token))
    if hit is not None:
        if hit[1] > time.time():
            _verified.move_to_end((secret, token))
            return hit[0]
        _verified.pop((secret, token), None)
    principal, exp = _verify_jwt(token, secret)
    _verified[(secret, token)] = (principal, exp)
    if len(_verified) > _VERIFIED_MAX:
        _verified.popitem(last=False)
    return principal


def _verify_jwt(token: str, secret: str) -> tuple[Principal, int]:
    import jwt

    try:
        claims = jwt.decode(token, secret, algorithms=[_JWT_ALG], issuer=_ISSUER,
                            options={"require": ["exp", "iat", "sub", "firm", "role", "sid"]})
        principal = Principal(firm_id=UUID(claims["firm"]), kind="user", id=UUID(claims["sub"]),
                              role=claims["role"], session_id=UUID(claims["sid"]))
        return principal, int(claims["exp"])
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The access token has expired") from None
    except (jwt.InvalidTokenError, ValueError, KeyError):
        raise Unauthorized("The access token is not valid") from None


_KEY_REFUSED = {"revoked": "The API key has been revoked", "expired": "The API key has expired",
                "creator_gone": "The API key's creator is no longer an active administrator, and it was not made "
                                "as a firm service key: it no longer works"}


def _principal_from_api_key(token: str, prefix: str, ctx: RequestContext | None) -> Principal:
    from chalicelib.core import db, store

    ctx = ctx or RequestContext()
    key_hash = sha256(token)
    bucket = ctx.rate_bucket
    # One statement of its own, committed at once (one round trip): PostgreSQL compares the key's hash, checks its
    # state (auth_enter_api_key, which also keeps last_used_at) and, for a route with a rate-limit bucket, counts
    # the request against the key, whatever the route then does. Each transaction of the request shows the key
    # again (db.transaction), uncounted.
    with db.statements(ctx) as tx:
        row = store.enter_api_key(tx, prefix, key_hash, bucket, config.rate_limit_scale())
    if row is None:
        raise Unauthorized("The API key is not valid")
    if bucket is not None and row["state"] in ("ok", "limited"):
        db.counted(ctx, row)  # over the limit: TooManyRequests
        ctx.rate_settled = True
    if row["state"] != "ok":
        raise Unauthorized(_KEY_REFUSED.get(row["state"], "The API key is not valid"))
    return Principal(firm_id=row["firm_id"], kind="api_key", id=row["id"], scopes=frozenset(row["scopes"]),
                     key_prefix=prefix, key_hash=key_hash)


def authenticate(authorization: str | None, ctx: RequestContext | None = None) -> Principal:
    """`Authorization: Bearer <JWT or wdk_ key>` -> Principal, or Unauthorized. An API key's request is counted
    against the key's rate limit here (`ctx.rate_bucket`; TooManyRequests over it); a token's is counted by the
    request's first transaction (db.transaction)."""
    if not authorization:
        raise Unauthorized("Send Authorization: Bearer <token or API key>")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Use the Bearer scheme: Authorization: Bearer <token or API key>")
    prefix = split_api_key(token)
    if prefix is not None:
        return _principal_from_api_key(token, prefix, ctx)
    if token.startswith(API_KEY_PREFIX):
        raise Unauthorized("The API key is not valid")
    return _principal_from_jwt(token)
