"""HTTP route for a household's overview: its products, funds and figures in one answer, with an ETag."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import READ, Api, ApiRequest, Reply
from chalicelib.products.overview import service
from chalicelib.products.overview.models import ClientGroupOverviewOut, OverviewQuery

overview = Api("overview", resources={"group_id": "client group"})


@overview.route("/client-groups/{group_id}/overview", "GET", access=READ, query=OverviewQuery,
                response=ClientGroupOverviewOut, conditional=True,
                summary="A household in one answer: products, funds, values, cash flows, IRRs, fees and revenue")
def client_group_overview(req: ApiRequest, group_id: UUID) -> Reply:
    """Each product with its provider, template generation, fees, revenue, owners and dates; within it each
    portfolio fund active today with its latest valuation, its cash flows summed by kind and its IRR, and the funds
    that ended before today as one line "Previous funds (n)" with their pooled IRR; product and household totals.
    Every IRR is whole-life, by the `method` asked for, and equals the per-item IRR endpoint's. The answer carries
    a strong ETag that changes with any write to the household's data; send it back as If-None-Match to get 304
    while it is current."""
    reply = service.client_group_overview(req.ctx, group_id, req.query.method, req.if_none_match)
    if reply.status == 200:
        reply.body = ClientGroupOverviewOut.model_validate(reply.body)
    return reply
