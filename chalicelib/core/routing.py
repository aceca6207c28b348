"""The app's routes: registered with Chalice from a manifest at import, each route's module imported on its first call.

A cold start then pays for the domain its first request touches, not for every domain: `import app` reads the
manifest (method, path, view name and module of every route, generated from the routes modules and committed,
chalicelib/routes.json) and registers one light view per route. The first call of a route imports its module,
whose `Api.route` declarations give the route's RouteSpec (access rule, models, 404 names) and handler; every
later call goes straight to them. `specs()` imports every module: the OpenAPI document and the tests use it.

Core names no domain: the manifest that app.py hands the Router says which modules to import.
"""
from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the pipeline (and pydantic with it) loads with the first route, not with `import app`
    from chalicelib.core.http import RouteSpec

Route = tuple["RouteSpec", Callable[..., Any], Callable[..., Any]]  # (spec, handler, the pipeline's handle)


@dataclass(frozen=True)
class ManifestEntry:
    """One route as app.py registers it before its module is imported."""

    method: str
    path: str  # with the URL prefix, as Chalice matches it
    name: str  # the view's name (the handler's), also the OpenAPI operationId
    module: str  # the routes module that declares it

    def key(self) -> tuple[str, str]:
        return self.method, self.path


def declared(module_name: str) -> list[tuple[RouteSpec, Callable[..., Any]]]:
    """Every route a routes module declares (through the Api objects it defines), in declaration order."""
    from chalicelib.core.http import Api

    module = importlib.import_module(module_name)
    return [route for api in vars(module).values() if isinstance(api, Api) for route in api.routes]


def manifest_of(modules: Iterable[str]) -> list[ManifestEntry]:
    """The manifest the modules' declarations make (imports them all): what `wealthdesk routes` writes."""
    entries = [ManifestEntry(spec.method, spec.path, spec.name, module)
               for module in modules for spec, _ in declared(module)]
    return sorted(entries, key=lambda e: (e.path, e.method))


def preflight_name(path: str) -> str:
    """The view name of a path's CORS preflight: `preflight` and the path's words."""
    return "preflight_" + "_".join(w for w in re.split(r"[^A-Za-z0-9]+", path) if w and w != "v1")


class Router:
    """One app's routes: `register` gives Chalice a view per manifest entry; each view loads its route on first call."""

    def __init__(self, manifest: Iterable[ManifestEntry]) -> None:
        self.entries = list(manifest)
        self._loaded: dict[tuple[str, str], Route] = {}
        self._modules: set[str] = set()
        self._lock = threading.Lock()

    def register(self, app: Any) -> None:
        """A view per manifest entry, and per path a CORS preflight view (OPTIONS, core/edge.py: no domain, no
        database), and the edge's middleware (security and CORS headers on every answer)."""
        from chalicelib.core import edge

        methods: dict[str, list[str]] = {}
        for entry in self.entries:
            app.route(entry.path, methods=[entry.method], content_types=["*/*"], name=entry.name)(
                self._view(app, entry))
            methods.setdefault(entry.path, []).append(entry.method)
        for path, path_methods in methods.items():
            app.route(path, methods=["OPTIONS"], content_types=["*/*"], name=preflight_name(path))(
                self._preflight(app, path_methods))
        app.register_middleware(edge.middleware, "http")

    @staticmethod
    def _preflight(app: Any, methods: list[str]) -> Callable[..., Any]:
        from chalicelib.core import edge

        def view(**params: str) -> Any:
            return edge.preflight(app.current_request, methods)

        return view

    def _view(self, app: Any, entry: ManifestEntry) -> Callable[..., Any]:
        key = entry.key()

        def view(**params: str) -> Any:
            spec, handler, handle = self._loaded.get(key) or self._load(entry)
            return handle(app.current_request, spec, handler, params, self)

        view.__name__ = entry.name
        return view

    def _load(self, entry: ManifestEntry) -> Route:
        from chalicelib.core.http import handle

        with self._lock:
            if entry.module not in self._modules:
                for spec, handler in declared(entry.module):
                    self._loaded[(spec.method, spec.path)] = (spec, handler, handle)
                self._modules.add(entry.module)
        route = self._loaded.get(entry.key())
        if route is None:
            raise LookupError(f"{entry.module} no longer declares {entry.method} {entry.path}: the route manifest "
                              "(chalicelib/routes.json) is stale; run `wealthdesk routes`")
        return route

    def specs(self) -> list[RouteSpec]:
        """Every route's RouteSpec, in manifest order (imports every routes module)."""
        return [(self._loaded.get(e.key()) or self._load(e))[0] for e in self.entries]

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document of these routes (system.service keeps it, serialised, for the container)."""
        from chalicelib.core.openapi import build

        return build(self.specs())
