"""HTTP routes for IRR, the IRR history, revenue, household summaries and the dashboard."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import RATE_BULK, READ, Api, ApiRequest
from chalicelib.core.pagination import Page, page_of
from chalicelib.products.performance import service
from chalicelib.products.performance.models import (
    ClientGroupSummaryOut,
    DashboardOut,
    DashboardQuery,
    IrrHistoryOut,
    IrrHistoryQuery,
    IrrOut,
    IrrQuery,
    RevenueOut,
    RevenueTotalOut,
    SelectionIrrIn,
)

performance = Api("performance", resources={"group_id": "client group", "product_id": "product",
                                        "portfolio_fund_id": "portfolio fund"})


@performance.route("/portfolio-funds/{portfolio_fund_id}/irr", "GET", access=READ, query=IrrQuery, response=IrrOut,
                   summary="IRR of one portfolio fund")
def portfolio_fund_irr(req: ApiRequest, portfolio_fund_id: UUID) -> IrrOut:
    return IrrOut.model_validate(service.irr_for(req.ctx, "portfolio_fund", portfolio_fund_id, req.query))


@performance.route("/products/{product_id}/irr", "GET", access=READ, query=IrrQuery, response=IrrOut,
                   summary="IRR of a product (pooled flows of its funds)")
def product_irr(req: ApiRequest, product_id: UUID) -> IrrOut:
    return IrrOut.model_validate(service.irr_for(req.ctx, "product", product_id, req.query))


@performance.route("/client-groups/{group_id}/irr", "GET", access=READ, query=IrrQuery, response=IrrOut,
                   summary="IRR of a client group (its products' pooled flows, each to its latest valuation)")
def client_group_irr(req: ApiRequest, group_id: UUID) -> IrrOut:
    return IrrOut.model_validate(service.irr_for(req.ctx, "client_group", group_id, req.query))


@performance.route("/irr", "POST", access=READ, body=SelectionIrrIn, response=IrrOut, rate_limit=RATE_BULK,
                   extra_errors=(404,),
                   summary="IRR of any portfolio funds of the firm, pooled, over any period")
def selection_irr(req: ApiRequest) -> IrrOut:
    """The funds' flows and values pooled (never their IRRs averaged), each fund over its own period as a
    household's products are: the same periods, start valuations and reasons as the IRR GETs, and one fund alone
    answers exactly what GET /v1/portfolio-funds/{id}/irr does. A read: nothing is written. Any id that is not a
    portfolio fund of the firm makes it a 404 naming none of them."""
    return IrrOut.model_validate(service.irr_of_selection(req.ctx, req.body))


@performance.route("/products/{product_id}/irr-history", "GET", access=READ, query=IrrHistoryQuery,
                   response=Page[IrrHistoryOut], summary="The stored IRR of each valuation date, oldest first")
def product_irr_history(req: ApiRequest, product_id: UUID) -> Page[IrrHistoryOut]:
    found, cursor = service.irr_history(req.ctx, product_id, req.query)
    return page_of(IrrHistoryOut, found, cursor)


@performance.route("/products/{product_id}/revenue", "GET", access=READ, response=RevenueOut,
                   summary="Revenue: fixed direct + fixed facilitated + latest valuation x percentage / 100")
def product_revenue(req: ApiRequest, product_id: UUID) -> RevenueOut:
    return RevenueOut.model_validate(service.revenue_of_product(req.ctx, product_id))


@performance.route("/client-groups/{group_id}/revenue", "GET", access=READ, response=RevenueTotalOut,
                   summary="Revenue of a client group's active products, now")
def client_group_revenue(req: ApiRequest, group_id: UUID) -> RevenueTotalOut:
    return RevenueTotalOut.model_validate(service.revenue_total(req.ctx, group_id))


@performance.route("/revenue", "GET", access=READ, response=RevenueTotalOut,
                   summary="Revenue of the firm's active products, now")
def firm_revenue(req: ApiRequest) -> RevenueTotalOut:
    return RevenueTotalOut.model_validate(service.revenue_total(req.ctx, None))


@performance.route("/client-groups/{group_id}/summary", "GET", access=READ, response=ClientGroupSummaryOut,
                   summary="A household's funds under management, revenue, product counts and IRR, live")
def client_group_summary(req: ApiRequest, group_id: UUID) -> ClientGroupSummaryOut:
    return ClientGroupSummaryOut.model_validate(service.client_group_summary(req.ctx, group_id, IrrQuery()))


@performance.route("/dashboard", "GET", access=READ, query=DashboardQuery, response=DashboardOut,
                   summary="Firm dashboard: FUM and revenue by provider, product type, adviser and template; FUM "
                           "by fund; top households; counts; the firm IRR; refreshed within a minute of a write")
def firm_dashboard(req: ApiRequest) -> DashboardOut:
    return DashboardOut.model_validate(service.dashboard(req.ctx, req.query.method))
