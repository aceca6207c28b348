"""HTTP routes for the catalogue, products, portfolio funds, valuations, activity, IRR and revenue."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalice import Blueprint

from chalicelib.core.http import READ, WRITE, Api, ApiRequest, ListQuery, Page, Reply
from chalicelib.products import service
from chalicelib.products.models import (ActivityIn, ClientGroupSummaryOut, DashboardOut, RevenueTotalOut, ActivityOut, ActivityPatchIn, BulkActivitiesIn, BulkOut,
                                        BulkValuationsIn, DatedListQuery, FundCreateIn, FundListQuery, FundOut,
                                        FundPatchIn, FundValuationIn, FundValuationOut, FundValuationPatchIn,
                                        GenerationCreateIn, GenerationOut, IrrHistoryOut, IrrHistoryQuery, IrrOut,
                                        IrrQuery, PortfolioFundCreateIn, PortfolioFundOut, PortfolioFundPatchIn,
                                        PortfolioValuationOut, ProductCreateIn, ProductListQuery, ProductOut,
                                        ProductPatchIn, ProviderCreateIn, ProviderListQuery, ProviderOut,
                                        ProviderPatchIn, ProviderSwitchOut, RevenueOut, TemplateCreateIn,
                                        TemplateOut, TemplatePatchIn)

bp = Blueprint(__name__)
catalogue = Api(bp, "catalogue")
products = Api(bp, "products")
performance = Api(bp, "performance")
BULK_BODY_BYTES = 2 * 1024 * 1024  # 5,000 rows of about 130 bytes each do not fit the default 256 KiB


def _created(model: Any, row: dict[str, Any], location: str) -> Reply:
    return Reply(model.model_validate(row), 201, {"Location": location})


# --- providers ---

@catalogue.route("/providers", "GET", access=READ, query=ProviderListQuery, response=Page[ProviderOut],
                 summary="List providers")
def list_providers(req: ApiRequest) -> Page[ProviderOut]:
    found, cursor = service.list_providers(req.ctx, req.query)
    return Page[ProviderOut](items=[ProviderOut.model_validate(r) for r in found], next_cursor=cursor)


@catalogue.route("/providers", "POST", access=WRITE, body=ProviderCreateIn, response=ProviderOut, status=201,
                 summary="Create a provider")
def create_provider(req: ApiRequest) -> Reply:
    row = service.create_catalogue(req.ctx, "provider", req.body.model_dump())
    return _created(ProviderOut, row, f"/v1/providers/{row['id']}")


@catalogue.route("/providers/{provider_id}", "GET", access=READ, response=ProviderOut, summary="Get a provider")
def get_provider(req: ApiRequest, provider_id: UUID) -> ProviderOut:
    return ProviderOut.model_validate(service.get_catalogue(req.ctx, "provider", provider_id))


@catalogue.route("/providers/{provider_id}", "PATCH", access=WRITE, body=ProviderPatchIn, response=ProviderOut,
                 if_match=True, summary="Change a provider")
def update_provider(req: ApiRequest, provider_id: UUID) -> ProviderOut:
    return ProviderOut.model_validate(service.update_catalogue(req.ctx, "provider", provider_id, req.body,
                                                               req.if_match, frozenset({"colour"})))


@catalogue.route("/providers/{provider_id}", "DELETE", access=WRITE, status=204,
                 summary="Delete a provider (409 while products use it)")
def delete_provider(req: ApiRequest, provider_id: UUID) -> None:
    service.delete_catalogue(req.ctx, "provider", provider_id)


# --- funds ---

@catalogue.route("/funds", "GET", access=READ, query=FundListQuery, response=Page[FundOut],
                 summary="List funds (?isin= finds one)")
def list_funds(req: ApiRequest) -> Page[FundOut]:
    found, cursor = service.list_funds(req.ctx, req.query)
    return Page[FundOut](items=[FundOut.model_validate(r) for r in found], next_cursor=cursor)


@catalogue.route("/funds", "POST", access=WRITE, body=FundCreateIn, response=FundOut, status=201,
                 summary="Create a fund (ISIN check digit validated)")
def create_fund(req: ApiRequest) -> Reply:
    row = service.create_catalogue(req.ctx, "fund", req.body.model_dump())
    return _created(FundOut, row, f"/v1/funds/{row['id']}")


@catalogue.route("/funds/{fund_id}", "GET", access=READ, response=FundOut, summary="Get a fund")
def get_fund(req: ApiRequest, fund_id: UUID) -> FundOut:
    return FundOut.model_validate(service.get_catalogue(req.ctx, "fund", fund_id))


@catalogue.route("/funds/{fund_id}", "PATCH", access=WRITE, body=FundPatchIn, response=FundOut, if_match=True,
                 summary="Change a fund")
def update_fund(req: ApiRequest, fund_id: UUID) -> FundOut:
    return FundOut.model_validate(service.update_catalogue(
        req.ctx, "fund", fund_id, req.body, req.if_match, frozenset({"isin", "risk_factor", "ongoing_cost"})))


@catalogue.route("/funds/{fund_id}", "DELETE", access=WRITE, status=204,
                 summary="Delete a fund (409 while portfolios hold it)")
def delete_fund(req: ApiRequest, fund_id: UUID) -> None:
    service.delete_catalogue(req.ctx, "fund", fund_id)


# --- portfolio templates and generations ---

@catalogue.route("/portfolio-templates", "GET", access=READ, query=ListQuery, response=Page[TemplateOut],
                 summary="List portfolio templates")
def list_portfolio_templates(req: ApiRequest) -> Page[TemplateOut]:
    found, cursor = service.list_templates(req.ctx, req.query)
    return Page[TemplateOut](items=[TemplateOut.model_validate(r) for r in found], next_cursor=cursor)


@catalogue.route("/portfolio-templates", "POST", access=WRITE, body=TemplateCreateIn, response=TemplateOut,
                 status=201, summary="Create a portfolio template")
def create_portfolio_template(req: ApiRequest) -> Reply:
    row = service.create_catalogue(req.ctx, "template", req.body.model_dump())
    return _created(TemplateOut, row, f"/v1/portfolio-templates/{row['id']}")


@catalogue.route("/portfolio-templates/{template_id}", "GET", access=READ, response=TemplateOut,
                 summary="Get a portfolio template")
def get_portfolio_template(req: ApiRequest, template_id: UUID) -> TemplateOut:
    return TemplateOut.model_validate(service.get_catalogue(req.ctx, "template", template_id))


@catalogue.route("/portfolio-templates/{template_id}", "PATCH", access=WRITE, body=TemplatePatchIn,
                 response=TemplateOut, if_match=True, summary="Change a portfolio template's name or status")
def update_portfolio_template(req: ApiRequest, template_id: UUID) -> TemplateOut:
    return TemplateOut.model_validate(service.update_catalogue(req.ctx, "template", template_id, req.body,
                                                               req.if_match, frozenset({"description"})))


@catalogue.route("/portfolio-templates/{template_id}/generations", "GET", access=READ,
                 response=Page[GenerationOut], summary="A template's generations, oldest first")
def list_template_generations(req: ApiRequest, template_id: UUID) -> Page[GenerationOut]:
    found = service.list_generations(req.ctx, template_id)
    return Page[GenerationOut](items=[GenerationOut.model_validate(r) for r in found], next_cursor=None)


@catalogue.route("/portfolio-templates/{template_id}/generations", "POST", access=WRITE, body=GenerationCreateIn,
                 response=GenerationOut, status=201,
                 summary="Make a new generation (weightings sum to exactly 100.00; generations are never edited)")
def create_template_generation(req: ApiRequest, template_id: UUID) -> Reply:
    return Reply(GenerationOut.model_validate(service.create_generation(req.ctx, template_id, req.body)), 201)


# --- products ---

@products.route("/client-groups/{group_id}/products", "GET", access=READ, query=ProductListQuery,
                response=Page[ProductOut], summary="A client group's managed products")
def list_group_products(req: ApiRequest, group_id: UUID) -> Page[ProductOut]:
    found, cursor = service.list_products(req.ctx, group_id, req.query)
    return Page[ProductOut](items=[ProductOut.model_validate(r) for r in found], next_cursor=cursor)


@products.route("/client-groups/{group_id}/products", "POST", access=WRITE, body=ProductCreateIn,
                response=ProductOut, status=201,
                summary="Create a managed product (from a template generation, or fund by fund later)")
def create_product(req: ApiRequest, group_id: UUID) -> Reply:
    row = service.create_product(req.ctx, group_id, req.body)
    return _created(ProductOut, row, f"/v1/products/{row['id']}")


@products.route("/products/{product_id}", "GET", access=READ, response=ProductOut, summary="Get a product")
def get_product(req: ApiRequest, product_id: UUID) -> ProductOut:
    return ProductOut.model_validate(service.get_product(req.ctx, product_id))


@products.route("/products/{product_id}", "PATCH", access=WRITE, body=ProductPatchIn, response=ProductOut,
                if_match=True, summary="Change a product (a provider change is kept in the switch history)")
def update_product(req: ApiRequest, product_id: UUID) -> ProductOut:
    return ProductOut.model_validate(service.update_product(req.ctx, product_id, req.body, req.if_match))


@products.route("/products/{product_id}", "DELETE", access=WRITE, status=204,
                summary="Delete a product with no portfolio funds (409 otherwise)")
def delete_product(req: ApiRequest, product_id: UUID) -> None:
    service.delete_product(req.ctx, product_id)


@products.route("/products/{product_id}/lapse", "POST", access=WRITE, response=ProductOut,
                summary="Lapse a product (409 unless its current value is 0)")
def lapse_product(req: ApiRequest, product_id: UUID) -> ProductOut:
    return ProductOut.model_validate(service.set_product_status(req.ctx, product_id, "lapsed"))


@products.route("/products/{product_id}/reactivate", "POST", access=WRITE, response=ProductOut,
                summary="Reactivate a lapsed product")
def reactivate_product(req: ApiRequest, product_id: UUID) -> ProductOut:
    return ProductOut.model_validate(service.set_product_status(req.ctx, product_id, "active"))


@products.route("/products/{product_id}/provider-switches", "GET", access=READ, response=Page[ProviderSwitchOut],
                summary="The product's provider changes, oldest first")
def list_provider_switches(req: ApiRequest, product_id: UUID) -> Page[ProviderSwitchOut]:
    found = service.provider_switches(req.ctx, product_id)
    return Page[ProviderSwitchOut](items=[ProviderSwitchOut.model_validate(r) for r in found], next_cursor=None)


@products.route("/products/{product_id}/funds", "GET", access=READ, response=Page[PortfolioFundOut],
                summary="The product's portfolio funds, ended ones included")
def list_portfolio_funds(req: ApiRequest, product_id: UUID) -> Page[PortfolioFundOut]:
    found = service.list_portfolio_funds(req.ctx, product_id)
    return Page[PortfolioFundOut](items=[PortfolioFundOut.model_validate(r) for r in found], next_cursor=None)


@products.route("/products/{product_id}/funds", "POST", access=WRITE, body=PortfolioFundCreateIn,
                response=PortfolioFundOut, status=201, summary="Add a fund to the product's portfolio")
def add_portfolio_fund(req: ApiRequest, product_id: UUID) -> Reply:
    row = service.add_portfolio_fund(req.ctx, product_id, req.body)
    return _created(PortfolioFundOut, row, f"/v1/portfolio-funds/{row['id']}")


@products.route("/portfolio-funds/{portfolio_fund_id}", "PATCH", access=WRITE, body=PortfolioFundPatchIn,
                response=PortfolioFundOut, if_match=True,
                summary="Change a portfolio fund's weighting, or end it (it stays in the history)")
def update_portfolio_fund(req: ApiRequest, portfolio_fund_id: UUID) -> PortfolioFundOut:
    return PortfolioFundOut.model_validate(service.update_portfolio_fund(req.ctx, portfolio_fund_id, req.body,
                                                                         req.if_match))


@products.route("/portfolio-funds/{portfolio_fund_id}", "DELETE", access=WRITE, status=204,
                summary="Delete a portfolio fund with no valuations or activity (409 otherwise: end it instead)")
def delete_portfolio_fund(req: ApiRequest, portfolio_fund_id: UUID) -> None:
    service.delete_portfolio_fund(req.ctx, portfolio_fund_id)


@products.route("/products/{product_id}/valuations", "GET", access=READ, query=DatedListQuery,
                response=Page[PortfolioValuationOut],
                summary="Portfolio valuations: dates on which every active non-cash fund was valued")
def list_portfolio_valuations(req: ApiRequest, product_id: UUID) -> Page[PortfolioValuationOut]:
    found, cursor = service.portfolio_valuations(req.ctx, product_id, req.query)
    return Page[PortfolioValuationOut](items=[PortfolioValuationOut.model_validate(r) for r in found],
                                       next_cursor=cursor)


@products.route("/portfolio-funds/{portfolio_fund_id}/valuations", "GET", access=READ, query=DatedListQuery,
                response=Page[FundValuationOut], summary="A portfolio fund's valuations")
def list_fund_valuations(req: ApiRequest, portfolio_fund_id: UUID) -> Page[FundValuationOut]:
    found, cursor = service.list_valuations(req.ctx, portfolio_fund_id, req.query)
    return Page[FundValuationOut](items=[FundValuationOut.model_validate(r) for r in found], next_cursor=cursor)


@products.route("/portfolio-funds/{portfolio_fund_id}/valuations", "POST", access=WRITE, body=FundValuationIn,
                response=FundValuationOut, status=201, summary="Value a portfolio fund on a date")
def create_fund_valuation(req: ApiRequest, portfolio_fund_id: UUID) -> Reply:
    row = service.add_valuation(req.ctx, portfolio_fund_id, req.body)
    return _created(FundValuationOut, row, f"/v1/fund-valuations/{row['id']}")


@products.route("/fund-valuations/{valuation_id}", "PATCH", access=WRITE, body=FundValuationPatchIn,
                response=FundValuationOut, if_match=True, summary="Correct a fund valuation")
def update_fund_valuation(req: ApiRequest, valuation_id: UUID) -> FundValuationOut:
    return FundValuationOut.model_validate(service.update_valuation(req.ctx, valuation_id, req.body, req.if_match))


@products.route("/fund-valuations/{valuation_id}", "DELETE", access=WRITE, status=204,
                summary="Delete a fund valuation (that date's IRRs go with it)")
def delete_fund_valuation(req: ApiRequest, valuation_id: UUID) -> None:
    service.delete_valuation(req.ctx, valuation_id)


@products.route("/products/{product_id}/valuations:bulk", "POST", access=WRITE, body=BulkValuationsIn,
                response=BulkOut, status=201, summary="Up to 5,000 fund valuations, all or nothing",
                max_body_bytes=BULK_BODY_BYTES)
def bulk_fund_valuations(req: ApiRequest, product_id: UUID) -> Reply:
    return Reply(BulkOut(written=service.bulk_valuations(req.ctx, product_id, req.body)), 201)


@products.route("/portfolio-funds/{portfolio_fund_id}/activity", "GET", access=READ, query=DatedListQuery,
                response=Page[ActivityOut], summary="A portfolio fund's cash flows")
def list_fund_activity(req: ApiRequest, portfolio_fund_id: UUID) -> Page[ActivityOut]:
    found, cursor = service.list_activity(req.ctx, portfolio_fund_id, req.query)
    return Page[ActivityOut](items=[ActivityOut.model_validate(r) for r in found], next_cursor=cursor)


@products.route("/portfolio-funds/{portfolio_fund_id}/activity", "POST", access=WRITE, body=ActivityIn,
                response=ActivityOut, status=201, summary="Record a cash flow (amount > 0; the type gives the sign)")
def create_activity(req: ApiRequest, portfolio_fund_id: UUID) -> Reply:
    row = service.add_activity(req.ctx, portfolio_fund_id, req.body)
    return _created(ActivityOut, row, f"/v1/activity/{row['id']}")


@products.route("/activity/{activity_id}", "PATCH", access=WRITE, body=ActivityPatchIn, response=ActivityOut,
                if_match=True, summary="Correct a cash flow (IRRs from its date on are recomputed)")
def update_activity(req: ApiRequest, activity_id: UUID) -> ActivityOut:
    return ActivityOut.model_validate(service.update_activity(req.ctx, activity_id, req.body, req.if_match))


@products.route("/activity/{activity_id}", "DELETE", access=WRITE, status=204, summary="Delete a cash flow")
def delete_activity(req: ApiRequest, activity_id: UUID) -> None:
    service.delete_activity(req.ctx, activity_id)


@products.route("/products/{product_id}/activity:bulk", "POST", access=WRITE, body=BulkActivitiesIn,
                response=BulkOut, status=201, summary="Up to 5,000 cash flows, all or nothing",
                max_body_bytes=BULK_BODY_BYTES)
def bulk_activity(req: ApiRequest, product_id: UUID) -> Reply:
    return Reply(BulkOut(written=service.bulk_activity(req.ctx, product_id, req.body)), 201)


# --- performance ---

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


@performance.route("/products/{product_id}/irr-history", "GET", access=READ, query=IrrHistoryQuery,
                   response=Page[IrrHistoryOut], summary="The stored IRR of each valuation date, oldest first")
def product_irr_history(req: ApiRequest, product_id: UUID) -> Page[IrrHistoryOut]:
    found, cursor = service.irr_history(req.ctx, product_id, req.query)
    return Page[IrrHistoryOut](items=[IrrHistoryOut.model_validate(r) for r in found], next_cursor=cursor)


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
                   summary="Funds under management, revenue, product counts (refreshed nightly) and IRR (live)")
def client_group_summary(req: ApiRequest, group_id: UUID) -> ClientGroupSummaryOut:
    return ClientGroupSummaryOut.model_validate(service.client_group_summary(req.ctx, group_id, IrrQuery()))


@performance.route("/dashboard", "GET", access=READ, response=DashboardOut,
                   summary="Firm dashboard: FUM by provider, product type and adviser; top households; revenue")
def firm_dashboard(req: ApiRequest) -> DashboardOut:
    return DashboardOut.model_validate(service.dashboard(req.ctx))
