"""The one error hierarchy. Every failure a client can cause is an ApiError and becomes RFC 9457 problem+json."""
from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://wealthdesk.dev/problems/"


class ApiError(Exception):
    status = 500
    title = "Internal error"
    slug = "internal"

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}

    def problem(self, request_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        if request_id:
            body["request_id"] = request_id
        return body


class BadRequest(ApiError):
    status, title, slug = 400, "Malformed request", "malformed"


class Unauthorized(ApiError):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="wealthdesk"'})
        super().__init__(detail or "Missing or invalid credentials", **kw)


class Forbidden(ApiError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(ApiError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(ApiError):
    status, title, slug = 409, "Conflict", "conflict"


class NotAcceptable(ApiError):
    status, title, slug = 406, "Not acceptable", "not-acceptable"


class PreconditionFailed(ApiError):
    status, title, slug = 412, "Precondition failed", "stale"


class PayloadTooLarge(ApiError):
    status, title, slug = 413, "Payload too large", "too-large"


class UnsupportedMediaType(ApiError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class Unprocessable(ApiError):
    status, title, slug = 422, "Invalid request", "invalid"


class PreconditionRequired(ApiError):
    status, title, slug = 428, "Precondition required", "if-match-required"


class TooManyRequests(ApiError):
    """Over a rate limit (`rate`: core.context.RateLimit): nothing was done; retry after the window ends."""

    status, title, slug = 429, "Too many requests", "rate-limited"

    def __init__(self, rate: Any, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"Retry-After": str(rate.reset)})
        super().__init__(detail or f"More than {rate.limit} requests of this kind in the current window; retry in "
                                   f"{rate.reset} s", **kw)


class ServiceUnavailable(ApiError):
    status, title, slug = 503, "Service unavailable", "unavailable"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"Retry-After": "5"})
        super().__init__(detail or "The database is unavailable; try again shortly", **kw)


def from_pydantic(exc: Any, location: str = "body") -> Unprocessable:
    """A pydantic ValidationError as a 422 with one entry per field."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(p) for p in err.get("loc", ())) or location
        message = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            message = "unknown field"
        errors.append({"field": field, "message": message})
    return Unprocessable(f"The {location} is not valid", errors=errors)


def from_database(exc: Exception) -> ApiError | None:
    """Map what the database refused (its constraints are the last word) to a client error, or None."""
    import psycopg.errors as pe

    diag = getattr(exc, "diag", None)
    constraint = getattr(diag, "constraint_name", None) or ""
    if isinstance(exc, pe.UniqueViolation):
        return Conflict(f"A row with the same unique value already exists ({constraint})")
    if isinstance(exc, pe.ForeignKeyViolation):
        if "is still referenced" in str(exc):
            table = getattr(diag, "table_name", None) or "other rows"
            return Conflict(f"Other rows depend on this one ({table}); remove them first")
        return Unprocessable(f"A referenced row does not exist ({constraint})")
    if isinstance(exc, pe.RestrictViolation):  # ON DELETE RESTRICT raises 23001, not 23503
        table = getattr(diag, "table_name", None) or "other rows"
        return Conflict(f"Other rows depend on this one ({table}); remove them first")
    if isinstance(exc, (pe.CheckViolation, pe.NotNullViolation, pe.InvalidTextRepresentation,
                        pe.NumericValueOutOfRange, pe.StringDataRightTruncation, pe.DatetimeFieldOverflow,
                        pe.InvalidDatetimeFormat, pe.RaiseException, pe.DataError)):
        return Unprocessable(f"The database refused the values ({constraint or type(exc).__name__})")
    if isinstance(exc, pe.InsufficientPrivilege):
        return NotFound("Not found")
    if isinstance(exc, (pe.QueryCanceled, pe.IdleInTransactionSessionTimeout)):
        return ServiceUnavailable("The request took too long and was cancelled")
    if isinstance(exc, (pe.SerializationFailure, pe.DeadlockDetected, pe.LockNotAvailable)):
        return Conflict("A concurrent change got there first; retry")
    if isinstance(exc, pe.OperationalError):
        return ServiceUnavailable()
    return None
