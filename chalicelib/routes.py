"""The API's routes modules, and the manifest of their routes that app.py registers without importing them.

MODULES is the one list of modules that declare routes. chalicelib/routes.json (the manifest) is generated from
their declarations by `wealthdesk routes` and committed; `wealthdesk routes --check` and a contract test fail when
it is stale. app.py reads the manifest, so `import app` imports no domain: each route's module loads on its first
call (core/routing.py).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.core.routing import ManifestEntry

MODULES = (
    "chalicelib.system.routes",
    "chalicelib.firms.routes",
    "chalicelib.firms.twofactor.routes",
    "chalicelib.notifications.routes",
    "chalicelib.clients.routes",
    "chalicelib.products.catalogue.routes",
    "chalicelib.products.holdings.routes",
    "chalicelib.products.performance.routes",
    "chalicelib.products.overview.routes",
    "chalicelib.products.unmanaged.routes",
    "chalicelib.currencies.routes",
    "chalicelib.information_items.routes",
    "chalicelib.actions.routes",
    "chalicelib.objectives.routes",
    "chalicelib.networth.routes",
    "chalicelib.planning.assumptions.routes",
    "chalicelib.planning.plans.routes",
    "chalicelib.planning.runs.routes",
    "chalicelib.search.routes",
    "chalicelib.compliance.routes",
    "chalicelib.ops.routes",
    "chalicelib.ops.backups.routes",
    "chalicelib.ops.retention.routes",
    "chalicelib.privacy.routes",
)
MANIFEST = Path(__file__).resolve().parent / "routes.json"


def manifest() -> list[ManifestEntry]:
    """The committed manifest (no routes module is imported)."""
    from chalicelib.core.routing import ManifestEntry

    return [ManifestEntry(**entry) for entry in json.loads(MANIFEST.read_text(encoding="utf-8"))]


def manifest_text() -> str:
    """The manifest as the routes modules declare it now (imports them all): what routes.json must hold."""
    from chalicelib.core.routing import manifest_of

    entries = [dataclasses.asdict(e) for e in manifest_of(MODULES)]
    return "[\n" + ",\n".join("  " + json.dumps(e) for e in entries) + "\n]\n"
