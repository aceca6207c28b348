"""The edge (core/edge.py): security headers on every answer of the Lambda, errors included, and CORS for the
configured origins only (docs/security.md "At the edge")."""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from tests.conftest import Firm, assert_problem
from tests.integration.matrix_support import create_household, expect_status, send

JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
LOCAL_ORIGIN = "http://localhost:3000"  # .chalice/config.json, stage local (the test client's)
EXPOSED = {"ETag", "Location", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
           "X-Request-Id", "Idempotent-Replayed"}


def assert_secure(resp: Any, label: str) -> None:
    headers = resp.headers
    for name, value in SECURITY.items():
        assert headers.get(name) == value, (label, name, headers)
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and csp.startswith("default-src 'none'"), (label, csp)
    if not headers.get("Content-Type", "").startswith("text/html"):
        assert csp == JSON_CSP, (label, csp)
    assert headers.get("Cache-Control"), (label, headers)
    assert headers.get("Access-Control-Allow-Credentials") is None, label


def _concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: "swagger-ui.css" if m.group(1) == "asset" else str(uuid.uuid4()), path)


def test_every_route_answers_with_the_security_headers(client: Any, fresh_firm: Firm) -> None:
    """One request per route of the route table (every method of every path, the CORS preflights included), as
    the firm's admin with an empty JSON body where one may be sent: whatever the status, the headers are there."""
    import app

    routes = [(path, method) for path, methods in app.app.routes.items() for method in methods]
    # logging out ends the admin's session: last, so that the others are answered as the admin
    routes.sort(key=lambda r: (r == ("/v1/auth/logout", "POST"), r))
    assert len(routes) > 140
    authenticated = {(s.method, s.path) for s in app.router.specs() if s.access != "public"}
    statuses: set[int] = set()
    for path, method in routes:
        headers = {**fresh_firm.auth("admin"), "Origin": LOCAL_ORIGIN}
        body = {} if method in ("POST", "PUT", "PATCH") else None
        if method == "OPTIONS":
            headers["Access-Control-Request-Method"] = "GET"
        resp = send(client, method, _concrete(path), headers=headers, body=body)
        label = f"{method} {path} -> {resp.status_code}"
        assert resp.status_code < 500, (label, resp.body[:300])
        assert_secure(resp, label)
        assert resp.headers.get("Access-Control-Allow-Origin") == LOCAL_ORIGIN, label
        if (method, path) in authenticated:  # and an authenticated caller's answer its rate-limit window
            assert "RateLimit-Remaining" in resp.headers or resp.status_code == 401, label
        statuses.add(resp.status_code)
    assert {200, 204, 404, 422} <= statuses, statuses  # successes and problems alike


def test_problems_304s_and_chalices_own_answers_carry_them(client: Any, fresh_firm: Firm) -> None:
    auth = fresh_firm.auth("admin")
    problem = send(client, "GET", "/v1/client-groups", headers={"Authorization": "Bearer nonsense"})
    assert_problem(problem, 401)
    assert_secure(problem, "401")
    house = create_household(client, auth)
    first = send(client, "GET", f"/v1/client-groups/{house.group_id}/overview", headers=auth)
    assert first.status_code == 200
    again = send(client, "GET", f"/v1/client-groups/{house.group_id}/overview",
                 headers={**auth, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "private, no-cache"
    assert_secure(again, "304")
    # a method the path does not have: Chalice's own 405, as problem+json with the headers
    wrong = send(client, "PUT", "/v1/health")
    assert_problem(wrong, 405)
    assert wrong.headers["Allow"] == "GET, OPTIONS"
    assert_secure(wrong, "405")


def test_the_docs_page_has_its_own_content_security_policy(client: Any) -> None:
    import base64
    import hashlib

    page = client.http.get("/v1/docs")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    inline = re.findall(rb"<script>(.*?)</script>", page.body, re.S)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0]).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in csp and "frame-ancestors 'none'" in csp
    assert "connect-src 'self'" in csp and "'unsafe-eval'" not in csp
    assert_secure(page, "docs")


def test_cors_answers_the_configured_origin_only(client: Any, fresh_firm: Firm) -> None:
    auth = fresh_firm.auth("viewer")
    allowed = send(client, "GET", "/v1/client-groups", headers={**auth, "Origin": LOCAL_ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == LOCAL_ORIGIN
    assert set(allowed.headers["Access-Control-Expose-Headers"].split(", ")) == EXPOSED
    assert "Origin" in allowed.headers["Vary"]
    for origin in ("https://evil.example", "http://localhost:3001", "null", LOCAL_ORIGIN + "/"):
        other = send(client, "GET", "/v1/client-groups", headers={**auth, "Origin": origin})
        assert other.status_code == 200  # answered (a browser will not show it), without any CORS header
        assert not any(h.lower().startswith("access-control-") for h in other.headers), (origin, other.headers)
        assert "Origin" in other.headers["Vary"]
    # errors too
    refused = send(client, "GET", "/v1/users", headers={**auth, "Origin": LOCAL_ORIGIN})
    assert_problem(refused, 403)
    assert refused.headers["Access-Control-Allow-Origin"] == LOCAL_ORIGIN


def test_a_preflight_allows_the_configured_origin_its_methods_and_headers(client: Any) -> None:
    asked = {"Origin": LOCAL_ORIGIN, "Access-Control-Request-Method": "PATCH",
             "Access-Control-Request-Headers": "authorization, if-match, content-type"}
    ok = client.http.request("OPTIONS", f"/v1/client-groups/{uuid.uuid4()}", headers=asked)
    assert ok.status_code == 204 and ok.body == b""
    h = ok.headers
    assert h["Access-Control-Allow-Origin"] == LOCAL_ORIGIN
    assert set(h["Access-Control-Allow-Methods"].split(", ")) == {"GET", "PATCH", "DELETE", "OPTIONS"}
    assert {"Authorization", "If-Match", "If-None-Match", "Idempotency-Key", "Content-Type"} <= set(
        h["Access-Control-Allow-Headers"].split(", "))
    assert set(h["Access-Control-Expose-Headers"].split(", ")) == EXPOSED
    assert int(h["Access-Control-Max-Age"]) > 0 and "Access-Control-Allow-Credentials" not in h
    assert_secure(ok, "preflight")
    # a method the path does not answer, and an origin not configured: no CORS permission
    for headers in ({**asked, "Access-Control-Request-Method": "PUT"}, {**asked, "Origin": "https://evil.example"}):
        refused = client.http.request("OPTIONS", f"/v1/client-groups/{uuid.uuid4()}", headers=headers)
        assert refused.status_code == 204
        assert "Access-Control-Allow-Methods" not in refused.headers
        if headers["Origin"] != LOCAL_ORIGIN:
            assert not any(k.lower().startswith("access-control-") for k in refused.headers)
    # no credentials, no database, no route module: a preflight of a path whose module is not loaded answers too
    assert client.http.request("OPTIONS", "/v1/ops/job-runs", headers=asked).status_code == 204


def _gateway(app: Any) -> Any:
    """Chalice's local gateway over the app, without the test client's per-request environment of a stage: the
    process environment (monkeypatched) is what the app reads."""
    from chalice.config import Config
    from chalice.local import LocalGateway

    return LocalGateway(app, Config.create(chalice_stage="local", app_name="wealthdesk", chalice_app=app))


def _call(gateway: Any, method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    from chalice.local import LocalGatewayException

    try:
        return gateway.handle_request(method=method, path=path, headers=headers, body=b"")
    except LocalGatewayException as exc:  # pragma: no cover - a failure shows the answer
        pytest.fail(f"{method} {path}: {exc.CODE} {exc.body!r}")


@pytest.mark.parametrize("configured", ["", "*", "https://a.example, https://b.example:8443"])
def test_the_setting_decides_which_origins_get_cors(app_module: Any, monkeypatch: pytest.MonkeyPatch,
                                                    configured: str) -> None:
    """CORS_ALLOWED_ORIGINS: empty is no CORS at all, `*` is not honoured, and a list allows exactly its origins."""
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", configured)
    gateway = _gateway(app_module.app)
    allowed = {o.strip() for o in configured.split(",") if o.strip() and o.strip() != "*"}
    for origin in ("https://a.example", "https://b.example:8443", "https://c.example", "*"):
        for method, headers in (("GET", {}), ("OPTIONS", {"Access-Control-Request-Method": "GET"})):
            answer = _call(gateway, method, "/v1/openapi.json", {"Origin": origin, **headers})
            h = answer["headers"]
            if origin in allowed:
                assert h["Access-Control-Allow-Origin"] == origin
                assert ("Access-Control-Allow-Methods" in h) == (method == "OPTIONS")
            else:
                assert "Access-Control-Allow-Origin" not in h and "Access-Control-Allow-Methods" not in h, h
            assert h["X-Content-Type-Options"] == "nosniff"
            assert ("Vary" in h) == bool(allowed) or method == "OPTIONS"
    if not configured:
        answer = _call(gateway, "GET", "/v1/openapi.json", {})
        assert not any(k.lower().startswith("access-control-") for k in answer["headers"])
        assert json.loads(answer["body"])["openapi"].startswith("3.1")


def test_every_stage_names_its_cors_origins() -> None:
    from pathlib import Path

    config = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
    for name, stage in config["stages"].items():
        env = {**stage.get("environment_variables", {}),
               **stage.get("lambda_functions", {}).get("api_handler", {}).get("environment_variables", {})}
        assert "CORS_ALLOWED_ORIGINS" in env, name
        origins = [o.strip() for o in env["CORS_ALLOWED_ORIGINS"].split(",") if o.strip()]
        assert "*" not in origins, name
        for origin in origins:
            assert re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?", origin), (name, origin)
            if name != "local":
                assert origin.startswith("https://"), (name, origin)


def test_an_authenticated_write_through_cors_exposes_what_a_page_needs(client: Any, fresh_firm: Firm) -> None:
    auth = {**fresh_firm.auth("adviser"), "Origin": LOCAL_ORIGIN}
    created = send(client, "POST", "/v1/client-groups", headers=auth, body={"name": "CORS house", "type": "family"})
    body = expect_status(created, 201)
    exposed = set(created.headers["Access-Control-Expose-Headers"].split(", "))
    for name in ("Location", "ETag", "RateLimit-Remaining", "X-Request-Id"):
        assert name in created.headers and name in exposed, name
    assert created.headers["Location"].endswith(body["id"])
