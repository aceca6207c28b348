"""The OpenAPI 3.1 document, generated from an app's routes and their pydantic models.

Nothing is written by hand: `Api.route` records each route as a RouteSpec, the app's Router (core/routing.py)
gathers them, and `build` turns them into paths, parameters and component schemas. `wealthdesk openapi` writes
openapi.json; a test checks it is current.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.core.http import PUBLIC, RATE_SOURCE, ProblemDetail, RouteSpec

_ERRORS = {
    400: "Malformed request (bad JSON)",
    401: "Missing or invalid credentials",
    403: "Your role or the key's scopes forbid this",
    404: "Not found (or another firm's)",
    406: "The answer's media type is not one the request's Accept names",
    409: "Conflicts with the current state",
    412: "If-Match is stale",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Invalid values",
    428: "If-Match is required",
    429: "Over the rate limit (the caller's, or before sign-in the source address's): nothing was done; retry after "
         "Retry-After seconds",
    503: "Database unavailable; retry after Retry-After seconds",
}


def _error_codes(spec: RouteSpec) -> list[int]:
    codes = [422, 503]
    if spec.access != PUBLIC:
        codes += [401, 403]
    elif spec.tag == "auth":
        codes.append(401)  # login and refresh answer wrong credentials with 401
    if spec.path_params:
        codes.append(404)
    if spec.body is not None:
        codes += [400, 413, 415]
    if spec.method in ("POST", "PUT", "PATCH", "DELETE") and spec.access != PUBLIC:
        codes.append(409)
    if spec.if_match:
        codes += [412, 428]
    if spec.rate_limit is not None:
        codes.append(429)
    codes += spec.extra_errors
    return sorted(set(codes))


# The rate-limit header fields (the IETF draft's): on every answer to an authenticated caller, and on a 429.
_RATE_HEADERS = {
    "RateLimit-Limit": "Requests allowed in the current window (per minute unless the firm's tier says otherwise) "
                       "for this kind of route",
    "RateLimit-Remaining": "Requests left in the current window",
    "RateLimit-Reset": "Seconds until the current window ends",
}
_HEADER_COMPONENTS = {
    **{name: {"description": text, "required": True, "schema": {"type": "integer", "minimum": 0}}
       for name, text in _RATE_HEADERS.items()},
    "Retry-After": {"description": "Seconds to wait before trying again", "required": True,
                    "schema": {"type": "integer", "minimum": 1}},
}


def _rate_headers() -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in _RATE_HEADERS}


def build(specs: Iterable[RouteSpec], version: str = "0.1.0") -> dict[str, Any]:
    routes = sorted(specs, key=lambda r: (r.path, r.method))
    models: list[tuple[type[BaseModel], str]] = [(ProblemDetail, "serialization")]
    for r in routes:
        if r.body is not None:
            models.append((r.body, "validation"))
        if r.response is not None:
            models.append((r.response, "serialization"))
    keys, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas = defs.get("$defs", {})

    def ref(model: Any, mode: str) -> dict[str, Any]:
        return keys[(model, mode)]

    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        op: dict[str, Any] = {
            "operationId": r.name,
            "summary": r.summary,
            "tags": [r.tag],
            "parameters": [],
            "responses": {},
        }
        if r.description:
            op["description"] = r.description
        if r.access == PUBLIC:
            op["security"] = []
        else:
            op["x-wealthdesk-access"] = r.access
        for name in r.path_params:
            # *id parameters are UUIDs (http.handle parses them); others (the docs asset name) are plain strings
            schema = {"type": "string", "format": "uuid"} if name.endswith("id") else {"type": "string"}
            op["parameters"].append({"name": name, "in": "path", "required": True, "schema": schema})
        if r.query is not None:
            qschema = r.query.model_json_schema(mode="validation", by_alias=True)
            required = set(qschema.get("required", []))
            for pname, pschema in qschema.get("properties", {}).items():
                param: dict[str, Any] = {"name": pname, "in": "query", "required": pname in required,
                                         "schema": {k: v for k, v in pschema.items() if k != "description"}}
                if "description" in pschema:
                    param["description"] = pschema["description"]
                op["parameters"].append(param)
        if r.if_match:
            op["parameters"].append({"name": "If-Match", "in": "header", "required": True,
                                     "description": "The ETag of the version you read, e.g. \"3\"",
                                     "schema": {"type": "string"}})
        if r.conditional:
            op["parameters"].append({"name": "If-None-Match", "in": "header", "required": False,
                                     "description": "The ETag of the answer you hold: 304 while it is current",
                                     "schema": {"type": "string"}})
        if r.method == "POST" and r.access != PUBLIC and r.idempotency_key:
            op["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                     "description": "Repeat within 24 h to get the first response back",
                                     "schema": {"type": "string", "maxLength": 255}})
        if not op["parameters"]:
            del op["parameters"]
        if r.body is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": ref(r.body, "validation")}}}
        success: dict[str, Any] = {"description": "OK" if r.status < 300 else "Created"}
        if r.status == 204:
            success = {"description": "No content"}
        elif r.produces is not None:
            text = r.produces.startswith("text/") or r.produces.endswith("+xml")
            success["content"] = {r.produces: {"schema": {"type": "string"} if text else {
                "type": "string", "format": "binary"}}}
        elif r.response is not None:
            success["content"] = {"application/json": {"schema": ref(r.response, "serialization")}}
        if r.conditional:
            success["headers"] = {"ETag": {"description": "Changes whenever the answer would", "schema": {
                "type": "string"}}}
        counted = r.access != PUBLIC  # an authenticated caller's answers carry its rate-limit window
        if counted:
            success["headers"] = {**success.get("headers", {}), **_rate_headers()}
        op["responses"][str(r.status)] = success
        if r.conditional:
            op["responses"]["304"] = {"description": "Not modified: the If-None-Match ETag is current (no body)",
                                      "headers": success["headers"]}
        if r.method == "PUT" and r.status == 200 and r.response is not None:
            op["responses"]["201"] = {"description": "Created", "content": success["content"]}
        if r.replaces and r.status == 201 and r.response is not None:
            op["responses"]["200"] = {"description": "Replaced", "content": success["content"]}
        problem = {"application/problem+json": {"schema": ref(ProblemDetail, "serialization")}}
        for code in _error_codes(r):
            op["responses"][str(code)] = {"description": _ERRORS[code], "content": problem}
        if r.rate_limit is not None:
            op["responses"]["429"]["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"},
                                                 **_rate_headers()}
        if r.rate_limit == RATE_SOURCE:
            op["x-wealthdesk-rate-limit"] = "per source address"
        elif r.rate_limit is not None:
            op["x-wealthdesk-rate-limit"] = r.rate_limit
        paths.setdefault(r.path, {})[r.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wealthdesk API",
            "version": version,
            "description": "Households, people, products and the firm's compliance trail. "
                           "Errors are RFC 9457 problem+json; money is a decimal string. Every answer to an "
                           "authenticated caller carries its rate-limit window (RateLimit-Limit, -Remaining, "
                           "-Reset); over the limit the answer is 429 with Retry-After and nothing was done.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": _HEADER_COMPONENTS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An access token (JWT) or an API key (wdk_...)"}},
        },
        "security": [{"bearer": []}],
    }
