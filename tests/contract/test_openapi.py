"""The OpenAPI document: current, valid OpenAPI 3.1, served as committed, complete, and rendered without a CDN."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from click.testing import CliRunner

from tests.conftest import assert_problem

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "openapi.json"
STATIC = ROOT / "chalicelib" / "system" / "static" / "swagger-ui"


def _routes():
    from app import router

    return router.specs()


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(COMMITTED.read_text())


def test_openapi_check_passes_for_the_committed_file(monkeypatch):
    from chalicelib.cli import main

    monkeypatch.chdir(ROOT)  # the command's default --output is ./openapi.json
    result = CliRunner().invoke(main, ["openapi", "--check"])
    assert result.exit_code == 0, result.output
    assert "is current" in result.output


def test_openapi_check_fails_on_a_stale_file(tmp_path):
    from chalicelib.cli import main

    stale = tmp_path / "openapi.json"
    doc = json.loads(COMMITTED.read_text())
    doc["info"]["version"] = "0.0.0-stale"
    stale.write_text(json.dumps(doc, indent=2) + "\n")
    result = CliRunner().invoke(main, ["openapi", "--check", "--output", str(stale)])
    assert result.exit_code == 1
    assert "stale" in result.output and "Traceback" not in result.output
    assert json.loads(stale.read_text())["info"]["version"] == "0.0.0-stale"  # --check never writes

    missing = tmp_path / "missing.json"
    result = CliRunner().invoke(main, ["openapi", "--check", "--output", str(missing)])
    assert result.exit_code == 1 and not missing.exists()


def test_openapi_write_produces_the_committed_bytes(tmp_path):
    from chalicelib.cli import main

    out = tmp_path / "openapi.json"
    result = CliRunner().invoke(main, ["openapi", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == COMMITTED.read_text()


def test_document_is_valid_openapi_3_1(document):
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)  # raises on any error
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)), "operationIds must be unique"


def test_served_document_is_the_committed_one(client, document):
    response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    assert json.loads(response.body) == document


def test_every_route_is_documented_and_nothing_else(document):
    routes = _routes()
    assert routes, "no routes registered"
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    registered = {(r.path, r.method) for r in routes}
    assert registered - documented == set(), "routes missing from openapi.json"
    assert documented - registered == set(), "openapi.json documents routes that do not exist"
    for r in routes:
        op = document["paths"][r.path][r.method.lower()]
        assert op["operationId"] == r.name
        assert str(r.status) in op["responses"], f"{r.method} {r.path}: success status {r.status} undocumented"
        path_params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert path_params == set(re.findall(r"{(\w+)}", r.path)), f"{r.method} {r.path}: path parameters"
        if r.access == "public":
            assert op.get("security") == [], f"{r.method} {r.path} is public but documented as secured"
        else:
            assert "security" not in op and op["x-wealthdesk-access"] == r.access
            assert {"401", "403"} <= set(op["responses"])
        if r.if_match:
            assert any(p["in"] == "header" and p["name"] == "If-Match" and p["required"]
                       for p in op["parameters"]), f"{r.method} {r.path}: If-Match undocumented"
        if r.body is not None:
            assert op["requestBody"]["required"] is True
            assert "application/json" in op["requestBody"]["content"]
        else:
            assert "requestBody" not in op


def test_every_chalice_route_goes_through_the_pipeline(app_module):
    """A route registered on Chalice directly (not via Api.route) would skip auth and the error mapping. The one
    exception is each path's CORS preflight (OPTIONS), which core/edge.py answers without credentials, the
    database or a domain, and which is not an operation of the document."""
    from chalicelib.core.routing import preflight_name

    chalice_routes = {(path, method) for path, methods in app_module.app.routes.items() for method in methods}
    pipeline = {(r.path, r.method) for r in _routes()}
    preflights = {(path, "OPTIONS") for path, _ in pipeline}
    assert chalice_routes == pipeline | preflights and not pipeline & preflights
    for path, method in preflights:
        assert app_module.app.routes[path][method].view_name == preflight_name(path)


def test_path_parameter_schemas_accept_the_values_the_api_serves(document):
    """The documented schema of every path parameter must admit the values the API itself uses."""
    from jsonschema import Draft202012Validator

    served = {"asset": ["swagger-ui.css", "swagger-ui-bundle.js"]}
    for path, item in document["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                if p["in"] != "path" or p["name"].endswith("id"):
                    continue  # ids are UUIDs (http.handle parses every *id path parameter as one)
                assert p["name"] in served, f"{method.upper()} {path}: add the values {p['name']!r} takes to `served`"
                validator = Draft202012Validator(p["schema"], format_checker=Draft202012Validator.FORMAT_CHECKER)
                for value in served[p["name"]]:
                    errors = [e.message for e in validator.iter_errors(value)]
                    assert not errors, f"{method.upper()} {path}: {p['name']}={value!r} refused by its schema: {errors}"


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append(value)
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.scripts.append(data)


def test_docs_page_uses_only_local_assets_and_they_are_served(client):
    page = client.http.get("/v1/docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"].split(";")[0] == "text/html"
    html = page.body.decode()
    parser = _Refs()
    parser.feed(html)
    base = "http://api.example.test/v1/docs"
    host = urlsplit(base).netloc
    assert not re.search(r"(?i)(https?:)?//(?!api\.example\.test)[a-z0-9.-]+\.[a-z]{2,}", html), \
        "the docs page references another host"
    resolved = [urljoin(base, ref) for ref in parser.refs]
    assert resolved and all(urlsplit(u).netloc == host for u in resolved)
    expected = {"/v1/docs/assets/swagger-ui.css": "text/css", "/v1/docs/assets/swagger-ui-bundle.js":
                "application/javascript"}
    assert {urlsplit(u).path for u in resolved} == set(expected)
    for path, ctype in expected.items():
        asset = client.http.get(path)
        assert asset.status_code == 200, path
        assert asset.headers["Content-Type"].split(";")[0].strip() == ctype
        assert asset.body == (STATIC / path.rsplit("/", 1)[1]).read_bytes()
    # The page loads the document by a relative URL that resolves to the served document.
    assert any("openapi.json" in s for s in parser.scripts)
    match = re.search(r'url:\s*"([^"]+)"', "".join(parser.scripts))
    assert match and urljoin(base, match.group(1)) == "http://api.example.test/v1/openapi.json"


@pytest.mark.parametrize("asset", ["LICENSE", "NOTICE", "nope.js", "..%2F..%2Fapp.py"])
def test_docs_assets_outside_the_allow_list_are_404(client, asset):
    assert_problem(client.http.get(f"/v1/docs/assets/{asset}"), 404)


def test_public_auth_routes_document_the_401_they_answer(client, document):
    """Wrong credentials on the public auth routes are a 401; the document must say so (a client generated from it
    would otherwise treat the answer as unexpected)."""
    h = {"Content-Type": "application/json"}
    answers = {
        "/v1/auth/login": client.http.post("/v1/auth/login", headers=h,
                                           body=json.dumps({"email": "nobody@example.com", "password": "wrong"})),
        "/v1/auth/refresh": client.http.post("/v1/auth/refresh", headers=h,
                                             body=json.dumps({"refresh_token": "not-a-refresh-token"})),
    }
    for path, response in answers.items():
        assert response.status_code == 401, (path, response.body)
        responses = document["paths"][path]["post"]["responses"]
        assert "401" in responses, f"POST {path} answers 401 but documents only {sorted(responses)}"
        assert "application/problem+json" in responses["401"]["content"]


def test_the_selection_irr_documents_the_404_it_answers(client, firm_a, document):
    """POST /v1/irr has no id in its path, but answers 404 for portfolio funds (in its body) that are not the
    firm's; the document must list that 404 (schemathesis found it undocumented: tests/contract/
    test_schemathesis.py). Routes declare such statuses with `extra_errors`."""
    response = client.http.post("/v1/irr", headers={**firm_a.auth("read"), "Content-Type": "application/json"},
                                body=json.dumps({"portfolio_fund_ids": ["00000000-0000-4000-8000-000000000000"]}))
    assert_problem(response, 404)
    responses = document["paths"]["/v1/irr"]["post"]["responses"]
    assert "404" in responses, f"POST /v1/irr answers 404 but documents only {sorted(responses)}"
    assert "application/problem+json" in responses["404"]["content"]
    declared = {(s.method, s.path): s.extra_errors for s in _routes() if s.extra_errors}
    for (method, path), codes in declared.items():
        for code in codes:
            assert str(code) in document["paths"][path][method.lower()]["responses"], (method, path, code)
