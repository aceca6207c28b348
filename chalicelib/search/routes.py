"""HTTP route for search."""
from __future__ import annotations

from chalicelib.core.http import READ, Api, ApiRequest
from chalicelib.search import service
from chalicelib.search.models import SearchHit, SearchOut, SearchQuery

api = Api("search")


@api.route("/search", "GET", access=READ, query=SearchQuery, response=SearchOut,
           summary="Search households, people, products and plan numbers, funds (name, ISIN) and providers")
def search(req: ApiRequest) -> SearchOut:
    return SearchOut(items=[SearchHit.model_validate(r) for r in service.search(req.ctx, req.query)])
