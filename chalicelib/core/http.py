"""The request pipeline every route goes through, and the helpers routes share.

`Api(tag, resources=...).route(...)` declares a route, its access rule, its models and its OpenAPI description in
one place; core/routing.py gives Chalice the routes (chalicelib/routes.py names their modules; app.py registers
them from the committed manifest). The pipeline does,
in order: request id -> authentication and the route's access rule -> path ids -> content type, size, JSON,
pydantic (body and query) -> If-Match (If-None-Match on conditional reads) -> Idempotency-Key -> the handler ->
JSON with ETag. Every failure becomes
problem+json (errors.py); nothing a client sends can produce a stack trace. One JSON log line per request.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from chalice import Response
from pydantic import BaseModel, ValidationError

from chalicelib.core import config, errors
from chalicelib.core.auth import authenticate
from chalicelib.core.context import Principal, RequestContext
from chalicelib.core.jsonutil import dumps
from chalicelib.core.models import ApiModel

log = logging.getLogger("wdk.request")

PUBLIC, READ, WRITE, ADMIN = "public", "read", "write", "admin"
# Rate-limit buckets (migration 0020's rate_limit_tiers): every authenticated route counts against its caller in
# one of the first three (DEFAULT unless it says otherwise); the sign-in routes count against the source address.
RATE_DEFAULT, RATE_BULK, RATE_AUTH, RATE_SOURCE = "default", "bulk", "auth", "source"
_PRINCIPAL_BUCKETS = (RATE_DEFAULT, RATE_BULK, RATE_AUTH)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_ETAG = re.compile(r'^(?:W/)?"(\d{1,9})"$')
_ENTITY_TAG = re.compile(r'(?:W/)?"([\x21\x23-\x7e]*)"')
# A conditional read's answer may be stored by the client but must be revalidated (If-None-Match) before each use.
REVALIDATE = "private, no-cache"


class ProblemDetail(ApiModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None
    request_id: str | None = None


@dataclass
class Reply:
    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def created(model: Any, row: Any, location: str) -> Reply:
    """201 with the new resource (`row` as `model`) and its Location."""
    return Reply(model.model_validate(row), 201, {"Location": location})


@dataclass
class ApiRequest:
    """What a handler gets: the context, the parsed body, query and If-Match, and the app's routes."""

    ctx: RequestContext
    body: Any = None
    query: Any = None
    if_match: int | None = None
    if_none_match: str | None = None  # the header as sent, on conditional routes (not_modified compares it)
    routes: Any = None  # the Router this request came through (the OpenAPI document is built from its routes)
    accept: str | None = None  # the Accept header as sent (routes that answer with something other than JSON)


@dataclass
class RouteSpec:
    path: str
    method: str
    name: str
    summary: str
    tag: str
    access: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    if_match: bool
    path_params: list[str]
    description: str = ""
    max_body_bytes: int | None = None  # None: the MAX_BODY_BYTES setting
    resources: dict[str, str] = field(default_factory=dict)  # path id -> what it names, for "No such <name>"
    conditional: bool = False  # a read that sets its own ETag and answers a matching If-None-Match with 304
    # False: Idempotency-Key is ignored, for a response that holds a secret shown once (never stored for a replay)
    # or a handler that must commit on its own (a counted second-factor check)
    idempotency_key: bool = True
    # The rate-limit bucket: RATE_DEFAULT, RATE_BULK or RATE_AUTH per caller on an authenticated route,
    # RATE_SOURCE per source address on a sign-in route, None on the other public routes.
    rate_limit: str | None = None
    # A POST that creates its resource (201) or, when one with the same natural key exists, replaces it (200, the
    # same response model): the OpenAPI document lists both
    replaces: bool = False
    # Error statuses the route answers besides those its declaration implies (core/openapi.py documents both),
    # e.g. 404 for ids named in the body rather than the path
    extra_errors: tuple[int, ...] = ()
    # A success answer that is not JSON (a chart): its media type, for the OpenAPI document
    produces: str | None = None


URL_PREFIX = "/v1"


def _header(request: Any, name: str) -> str | None:
    return (request.headers or {}).get(name)


def _request_context(request: Any) -> RequestContext:
    context = request.context or {}
    rid = _header(request, "x-request-id")
    if not rid or not _REQUEST_ID.match(rid):
        rid = context.get("requestId") or str(uuid.uuid4())
    identity = context.get("identity") or {}
    ua = _header(request, "user-agent")
    return RequestContext(request_id=rid, ip=identity.get("sourceIp"), user_agent=ua[:500] if ua else None)


def _authorize(access: str, principal: Principal) -> None:
    if access == READ and not principal.can_read():
        raise errors.Forbidden("This API key lacks the read scope")
    if access == WRITE and not principal.can_write_client_data():
        raise errors.Forbidden("Your role cannot change client data" if principal.kind == "user"
                               else "This API key lacks the write scope")
    if access == ADMIN and not (principal.kind == "user" and principal.is_admin()):
        raise errors.Forbidden("Only an administrator may do this")


def _parse_body(request: Any, model: type[BaseModel], limit: int | None = None) -> Any:
    raw = request.raw_body or b""
    limit = limit or config.settings().max_body_bytes
    if len(raw) > limit:
        raise errors.PayloadTooLarge(f"The body exceeds {limit} bytes")
    ctype = (_header(request, "content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise errors.UnsupportedMediaType("Send the body as application/json")
    data = _json_object(raw)
    _refuse_nul(data, "")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.from_pydantic(exc, "body") from None


# No request body of this API nests deeper than a few levels; a deep one is an attack on the parser's recursion.
MAX_BODY_DEPTH = 32


def _json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object: UTF-8 only (no byte-order mark, no UTF-16 or UTF-32, which json.loads would
    otherwise detect and accept from bytes), nested at most MAX_BODY_DEPTH deep; else a 400."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise errors.BadRequest("The body must be UTF-8 JSON without a byte-order mark")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.BadRequest("The body must be UTF-8 JSON") from None
    try:
        data = json.loads(text) if text else None
    except RecursionError:
        raise errors.BadRequest(f"The body nests deeper than {MAX_BODY_DEPTH} levels") from None
    except ValueError:
        raise errors.BadRequest("The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise errors.BadRequest("The body must be a JSON object")
    if _depth(data) > MAX_BODY_DEPTH:
        raise errors.BadRequest(f"The body nests deeper than {MAX_BODY_DEPTH} levels")
    return data


def _depth(value: Any) -> int:
    """How deep objects and arrays nest in a parsed JSON value (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_BODY_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def _refuse_nul(value: Any, path: str) -> None:
    """PostgreSQL text cannot hold U+0000: refuse it at the edge, naming the field."""
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.Unprocessable("Text may not contain the NUL character",
                                       errors=[{"field": path or "body", "message": "contains NUL (\\u0000)"}])
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, path)
            _refuse_nul(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_nul(item, f"{path}.{i}" if path else str(i))


def _parse_query(request: Any, model: type[BaseModel]) -> Any:
    params = request.query_params or {}
    multi = getattr(request.query_params, "getlist", None)
    data: dict[str, Any] = {}
    for key in params:
        values = multi(key) if multi else [params[key]]
        data[key] = values[-1] if len(values) == 1 else values
    _refuse_nul(data, "")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors.from_pydantic(exc, "query") from None


def _parse_if_match(request: Any) -> int:
    raw = _header(request, "if-match")
    if not raw:
        raise errors.PreconditionRequired('Send If-Match: "<version>" from the ETag you read')
    m = _ETAG.match(raw.strip())
    if not m:
        raise errors.PreconditionFailed('If-Match must be an ETag such as "3"')
    return int(m.group(1))


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header matches `etag` (RFC 9110, 13.1.2): `*`, or a list of entity tags of which
    one is the same, compared weakly (a W/ prefix on either side is ignored)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    mine = _ENTITY_TAG.fullmatch(etag.strip())
    return mine is not None and mine.group(1) in _ENTITY_TAG.findall(if_none_match)


def not_modified_reply(etag: str) -> Reply:
    """304: the client's copy (the one with this ETag) is current. No body."""
    return Reply(None, 304, {"ETag": etag, "Cache-Control": REVALIDATE})


def _serialise(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, _Raw):
        return body.text
    if isinstance(body, BaseModel):
        return body.model_dump_json(by_alias=True)
    return dumps(body)


def _json_response(status: int, body: Any, headers: dict[str, str], ctype: str = "application/json") -> Response:
    text = _serialise(body)
    h = {"Cache-Control": "no-store", **headers}
    if text:
        h["Content-Type"] = ctype
    return Response(body=text, status_code=status, headers=h)


def problem_response(exc: errors.ApiError, request_id: str | None) -> Response:
    return _json_response(exc.status, exc.problem(request_id),
                          {**exc.headers, "X-Request-Id": request_id or ""}, "application/problem+json")


def _map_exception(exc: Exception) -> errors.ApiError:
    if isinstance(exc, errors.ApiError):
        return exc
    if isinstance(exc, ValidationError):
        return errors.from_pydantic(exc)
    mod = type(exc).__module__
    if mod.startswith(("psycopg", "psycopg_pool")):
        if type(exc).__name__ == "PoolTimeout":
            return errors.ServiceUnavailable()
        mapped = errors.from_database(exc)
        if mapped is not None:
            return mapped
    log.error("unhandled error", exc_info=exc)
    return errors.ApiError("An unexpected error occurred; it has been logged")


def _reply_from(result: Any, status: int) -> Reply:
    if isinstance(result, Reply):
        return result
    if result is None:
        return Reply(None, 204)
    return Reply(result, status)


def require_accept(req: ApiRequest, media_type: str) -> None:
    """A binary answer must be asked for: behind API Gateway (and in chalice) a binary body goes only to a request
    whose Accept names its type (or */*); anything else is a 406 problem+json here, not the gateway's own 400."""
    accept = (req.accept or "").lower()
    if media_type not in accept and "*/*" not in accept:
        raise errors.NotAcceptable(f"This answer is {media_type}: send Accept: {media_type}")


def _with_etag(reply: Reply) -> Reply:
    version = getattr(reply.body, "version", None)
    if isinstance(version, int) and "ETag" not in reply.headers:
        reply.headers["ETag"] = f'"{version}"'
    return reply


class Api:
    """One tag's routes: each declaration records its RouteSpec and handler (core/routing.py serves them).

    `resources` names what each path id identifies ({"group_id": "client group"}): an id that is not a UUID is
    "No such client group". Every id in a path must be named, here or in the route's own `resources`.
    """

    def __init__(self, tag: str, *, resources: dict[str, str] | None = None) -> None:
        self.tag = tag
        self.resources = dict(resources or {})
        self.routes: list[tuple[RouteSpec, Callable[..., Any]]] = []

    def route(self, path: str, method: str, *, access: str, summary: str, body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, response: Any = None, status: int = 200,
              if_match: bool = False, description: str = "", max_body_bytes: int | None = None,
              resources: dict[str, str] | None = None, conditional: bool = False,
              idempotency_key: bool = True, rate_limit: str | None = None, replaces: bool = False,
              extra_errors: tuple[int, ...] = (), produces: str | None = None,
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        path_params = re.findall(r"{(\w+)}", path)
        if access == PUBLIC and rate_limit not in (None, RATE_SOURCE):
            raise ValueError(f"{method} {path}: a public route has no caller to count; rate_limit=RATE_SOURCE counts "
                             "its source address")
        if access != PUBLIC:
            rate_limit = rate_limit or RATE_DEFAULT
            if rate_limit not in _PRINCIPAL_BUCKETS:
                raise ValueError(f"{method} {path}: rate_limit must be one of {_PRINCIPAL_BUCKETS}")
        names = {**self.resources, **(resources or {})}
        unnamed = [p for p in path_params if p.endswith("id") and p not in names]
        if unnamed:
            raise ValueError(f"{method} {path}: name what {', '.join(unnamed)} identifies (Api resources=...)")

        def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
            spec = RouteSpec(path=URL_PREFIX + path, method=method, name=handler.__name__, summary=summary,
                             tag=self.tag, access=access, body=body, query=query, response=response,
                             status=status, if_match=if_match, path_params=path_params,
                             description=description or (handler.__doc__ or "").strip(),
                             max_body_bytes=max_body_bytes,
                             resources={p: names[p] for p in path_params if p in names},
                             conditional=conditional, idempotency_key=idempotency_key, rate_limit=rate_limit,
                             replaces=replaces, extra_errors=tuple(extra_errors), produces=produces)
            self.routes.append((spec, handler))
            return handler

        return decorator


def _idempotent(request: Any, ctx: RequestContext, key: str, call: Callable[[], Reply]) -> Reply:
    """Run `call` once per (caller, key): a repeat within 24 h gets the first response back."""
    from chalicelib.core import idempotency

    result = idempotency.once(ctx, key, method=request.method, path=request.path, body=request.raw_body or b"",
                              call=lambda: _with_etag(call()),
                              stored=lambda reply: (reply.status, _serialise(reply.body), reply.headers))
    if isinstance(result, idempotency.Replay):
        return Reply(_Raw(result.body), result.status, {**result.headers, "Idempotent-Replayed": "true"})
    return result


class _Raw:
    """An already serialised JSON body (an idempotent replay, or `raw_json`)."""

    def __init__(self, text: str | None) -> None:
        self.text = text or ""


def raw_json(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A reply whose JSON body is already made (a long series the database writes as JSON, or a document already
    serialised to be stored, passed through without being parsed and serialised again). The handler is answerable
    for it matching the route's response model. An idempotent POST stores the same text for its replay."""
    return Reply(_Raw(text), status, dict(headers or {}))


def handle(request: Any, spec: RouteSpec, handler: Callable[..., Any], params: dict[str, str],
           routes: Any = None) -> Response:
    started = time.perf_counter()
    ctx = _request_context(request)
    status = 500
    try:
        response = _answer(request, spec, handler, params, routes, ctx)
    except Exception as exc:  # every failure ends here as problem+json
        api_error = _map_exception(exc)
        response = problem_response(api_error, ctx.request_id)
    try:
        if ctx.rate_bucket is not None and not ctx.rate_settled:
            from chalicelib.core import db

            db.count_request(ctx)
        if ctx.rate is not None and (ctx.principal is not None or ctx.rate.exceeded):
            # every authenticated answer; a sign-in route's (counted per address) only when it refuses
            response.headers.update(rate_headers(ctx.rate))
        status = response.status_code
        return response
    finally:
        _log_request(request, spec, ctx, status, started)


def rate_headers(rate: Any) -> dict[str, str]:
    """The rate-limit window of a request (core.context.RateLimit) as RateLimit-Limit, -Remaining and -Reset
    (seconds until the window ends), the IETF draft's header fields."""
    return {"RateLimit-Limit": str(rate.limit), "RateLimit-Remaining": str(rate.remaining),
            "RateLimit-Reset": str(rate.reset)}


def _answer(request: Any, spec: RouteSpec, handler: Callable[..., Any], params: dict[str, str], routes: Any,
            ctx: RequestContext) -> Response:
    """The route's answer: authentication, its rate-limit count, parsing, the handler, serialisation."""
    if spec.access != PUBLIC:
        ctx.rate_bucket = spec.rate_limit
        ctx.principal = authenticate(_header(request, "authorization"), ctx)
        _authorize(spec.access, ctx.principal)
    elif spec.rate_limit == RATE_SOURCE:
        from chalicelib.core import db

        db.count_source(ctx, (ctx.ip or "unknown")[:100])
    args: dict[str, Any] = {}
    for name, value in params.items():
        if name.endswith("id"):
            try:
                args[name] = UUID(value)
            except ValueError:
                raise errors.NotFound(f"No such {spec.resources[name]}") from None
        else:
            args[name] = value
    req = ApiRequest(ctx=ctx, routes=routes, accept=request.headers.get("accept"))
    if spec.body is not None:
        req.body = _parse_body(request, spec.body, spec.max_body_bytes)
    elif request.raw_body and spec.method in ("POST", "PUT", "PATCH"):
        raise errors.Unprocessable("This endpoint takes no body")
    if spec.query is not None:
        req.query = _parse_query(request, spec.query)
    elif request.query_params:
        raise errors.Unprocessable("This endpoint takes no query parameters",
                                   errors=[{"field": k, "message": "unknown parameter"}
                                           for k in request.query_params])
    if spec.if_match:
        req.if_match = _parse_if_match(request)
    if spec.conditional:
        req.if_none_match = _header(request, "if-none-match")

    # Idempotency-Key counts only on an authenticated POST that allows it (read only there)
    key = (_header(request, "idempotency-key")
           if spec.method == "POST" and ctx.principal is not None and spec.idempotency_key else None)
    if key:
        reply = _idempotent(request, ctx, key.strip(), lambda: _reply_from(handler(req, **args), spec.status))
    else:
        reply = _with_etag(_reply_from(handler(req, **args), spec.status))
    headers = {**reply.headers, "X-Request-Id": ctx.request_id}
    if isinstance(reply.body, _Raw):
        return Response(body=reply.body.text, status_code=reply.status,
                        headers={"Cache-Control": "no-store", "Content-Type": "application/json", **headers})
    if isinstance(reply.body, Response):
        reply.body.headers.update(headers)
        return reply.body
    return _json_response(reply.status, reply.body, headers)


def _log_request(request: Any, spec: RouteSpec, ctx: RequestContext, status: int, started: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    line = {"level": "info", "msg": "request", "request_id": ctx.request_id, "method": spec.method,
            "route": spec.path, "status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "firm_id": str(ctx.firm_id) if ctx.firm_id else None,
            "principal": ctx.principal.kind if ctx.principal else None}
    # Made and handled as Logger.info would, without its walk up the stack for the caller (always this function).
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, dumps(line), None, None, "_log_request"))
