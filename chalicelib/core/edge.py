"""What every response carries at the edge: security headers and CORS for the configured origins only.

`middleware` is registered by app.py as Chalice HTTP middleware, so it sees every answer the Lambda gives: the
pipeline's (core/http.py: successes, problem responses, 304s), the preflight answers below, and what Chalice
itself answers (405 for a method a path does not have, 500 when a view fails outside the pipeline). API Gateway's
own answers (unknown paths, its throttling) never reach the Lambda: the packaged template gives them the same
headers (.chalice/merge-template.json and scripts/merge_template.py, docs/deploy.md).

CORS: `CORS_ALLOWED_ORIGINS` (comma-separated exact origins, `https://app.example.com`; empty: no CORS) per stage
in .chalice/config.json. A request whose Origin is one of them gets it back in Access-Control-Allow-Origin, with
the headers a browser may read (Access-Control-Expose-Headers); any other origin gets no CORS header at all.
Never `*`, and never Access-Control-Allow-Credentials: the API takes its credential in the Authorization header,
which a browser sends cross-origin only when the preflight allows it, never on its own as it would a cookie.
Preflights (OPTIONS, registered for every path by core/routing.py) are answered here without authentication,
the database or any domain module.

Light on purpose: `import app` imports this module (no pydantic, no psycopg).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from chalice import Response

# Every response, errors included. JSON needs no content of any kind, nor any framing; the docs page sets its own
# Content-Security-Policy (chalicelib/system/routes.py), which this leaves alone.
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
DEFAULT_CACHE_CONTROL = "no-store"  # what the pipeline sets on every answer of its own that says nothing else

# What a page on an allowed origin may send and read.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key", "X-Request-Id")
EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                   "X-Request-Id", "Idempotent-Replayed")
PREFLIGHT_MAX_AGE = "600"  # seconds a browser may reuse a preflight's answer

_origins_cache: tuple[str, frozenset[str]] = ("", frozenset())


def allowed_origins() -> frozenset[str]:
    """CORS_ALLOWED_ORIGINS as a set of exact origins (read on every call: the test client swaps the environment;
    parsed once per distinct value). `*` and anything that is not scheme://host[:port] is ignored."""
    global _origins_cache
    raw = os.environ.get("CORS_ALLOWED_ORIGINS", "")
    if raw != _origins_cache[0]:
        _origins_cache = (raw, frozenset(parse_origins(raw)))
    return _origins_cache[1]


def parse_origins(raw: str) -> list[str]:
    """A CORS_ALLOWED_ORIGINS value as its origins, in order (scripts/merge_template.py reads a stage's too)."""
    found: list[str] = []
    for part in raw.split(","):
        origin = part.strip().rstrip("/")
        if _is_origin(origin) and origin not in found:
            found.append(origin)
    return found


def _is_origin(value: str) -> bool:
    scheme, sep, rest = value.partition("://")
    return (bool(sep) and scheme in ("https", "http") and bool(rest) and "/" not in rest and "*" not in rest
            and " " not in rest)


def _header(request: Any, name: str) -> str | None:
    headers = getattr(request, "headers", None) or {}
    return headers.get(name)


def _add_vary(headers: dict[str, str], *names: str) -> None:
    current = [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()]
    for name in names:
        if name.lower() not in (v.lower() for v in current):
            current.append(name)
    headers["Vary"] = ", ".join(current)


def secure(headers: dict[str, str], request: Any) -> None:
    """Add the security headers (keeping any the answer set itself) and, for an allowed Origin (the request's, read
    only when some origin is allowed), the CORS headers of an actual response."""
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    headers.setdefault("Cache-Control", DEFAULT_CACHE_CONTROL)
    origins = allowed_origins()
    if not origins:
        return
    origin = _header(request, "origin")
    _add_vary(headers, "Origin")  # a shared cache must not hand one origin's answer to another
    if origin is not None and origin in origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)


def middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice HTTP middleware (registered by core/routing.py): the security and CORS headers on every answer of
    the Lambda, and Chalice's own error answers (`{"Code", "Message"}`: a method the path does not have) as
    problem+json like every other error."""
    response = get_response(event)
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"} and response.status_code >= 400:
        _as_problem(response, str(body["Message"]), (getattr(event, "context", None) or {}).get("requestId"))
    secure(response.headers, event)
    return response


def _as_problem(response: Response, detail: str, request_id: str | None) -> None:
    import uuid

    from chalicelib.core import errors
    from chalicelib.core.jsonutil import dumps

    request_id = request_id or str(uuid.uuid4())
    error = errors.ApiError(detail)
    error.status = response.status_code
    error.title = {405: "Method not allowed"}.get(response.status_code, "Error")
    error.slug = {405: "method-not-allowed"}.get(response.status_code, "error")
    response.body = dumps(error.problem(request_id))
    response.headers["Content-Type"] = "application/problem+json"
    response.headers["X-Request-Id"] = request_id


def preflight(request: Any, methods: Iterable[str]) -> Response:
    """A CORS preflight (OPTIONS) of a path that answers `methods`: 204, with the methods and request headers a page
    of an allowed origin may use when the origin is allowed and asks for one of them; otherwise 204 with no CORS
    header (the browser then refuses the request). `Allow` always lists the path's methods."""
    allowed = sorted({m.upper() for m in methods} | {"OPTIONS"})
    headers = {"Allow": ", ".join(allowed)}
    origin = _header(request, "origin")
    asked = (_header(request, "access-control-request-method") or "").strip().upper()
    if origin is not None and origin in allowed_origins() and asked in allowed:
        headers["Access-Control-Allow-Methods"] = ", ".join(allowed)
        headers["Access-Control-Allow-Headers"] = ", ".join(ALLOWED_HEADERS)
        headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    _add_vary(headers, "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
    return Response(body="", status_code=204, headers=headers)
