"""Health, the OpenAPI document and the docs page (all public)."""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from chalice import Response

from chalicelib.core import errors
from chalicelib.core.http import PUBLIC, Api, ApiRequest, Reply
from chalicelib.system import service
from chalicelib.system.models import HealthOut

api = Api("system")

_STATIC = Path(__file__).resolve().parent / "static" / "swagger-ui"
_ASSETS = {"swagger-ui-bundle.js": "application/javascript; charset=utf-8",
           "swagger-ui.css": "text/css; charset=utf-8"}
_INIT = 'window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#ui", deepLinking: true});'
_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wealthdesk API</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script>{_INIT}</script>
</body></html>
"""
# The page runs its own assets and the one inline script above (by its hash), fetches only this API, shows data:
# images (Swagger UI's icons) and sets inline styles (Swagger UI's components do); nothing may frame it.
_INIT_HASH = base64.b64encode(hashlib.sha256(_INIT.encode()).digest()).decode()
_PAGE_CSP = (f"default-src 'none'; script-src 'self' 'sha256-{_INIT_HASH}'; style-src 'self' 'unsafe-inline'; "
             "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'none'")


@api.route("/health", "GET", access=PUBLIC, response=HealthOut, summary="Liveness and schema status")
def health(req: ApiRequest) -> HealthOut:
    """503 problem+json when the database cannot be reached."""
    return HealthOut.model_validate(service.health())


@api.route("/openapi.json", "GET", access=PUBLIC, summary="This API's OpenAPI 3.1 document")
def openapi_json(req: ApiRequest) -> Reply:
    return Reply(Response(body=service.openapi_document(req.routes), status_code=200,
                          headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"}))


@api.route("/docs", "GET", access=PUBLIC, summary="The API reference, rendered (assets served here, no CDN)")
def docs(req: ApiRequest) -> Reply:
    return Reply(Response(body=_PAGE, status_code=200, headers={"Content-Type": "text/html; charset=utf-8",
                                                                "Content-Security-Policy": _PAGE_CSP}))


@api.route("/docs/assets/{asset}", "GET", access=PUBLIC, summary="A static asset of the docs page")
def docs_asset(req: ApiRequest, asset: str) -> Reply:
    ctype = _ASSETS.get(asset)
    if ctype is None:
        raise errors.NotFound("No such asset")
    body = (_STATIC / asset).read_text(encoding="utf-8")
    return Reply(Response(body=body, status_code=200,
                          headers={"Content-Type": ctype, "Cache-Control": "public, max-age=86400"}))
