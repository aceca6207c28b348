"""HTTP routes for products, portfolio funds, fund valuations and cash flows."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import RATE_BULK, READ, WRITE, Api, ApiRequest, Reply, created
from chalicelib.core.pagination import Page, page_of
from chalicelib.products.holdings import service
from chalicelib.products.holdings.models import (
    ActivityIn,
    ActivityOut,
    ActivityPatchIn,
    BulkActivitiesIn,
    BulkOut,
    BulkValuationsIn,
    DatedListQuery,
    FundValuationIn,
    FundValuationOut,
    FundValuationPatchIn,
    PortfolioFundCreateIn,
    PortfolioFundOut,
    PortfolioFundPatchIn,
    PortfolioValuationOut,
    ProductCreateIn,
    ProductListQuery,
    ProductOut,
    ProductPatchIn,
    ProviderSwitchOut,
)

products = Api("products", resources={"group_id": "client group", "product_id": "product",
                                  "portfolio_fund_id": "portfolio fund", "valuation_id": "fund valuation",
                                  "activity_id": "activity"})
BULK_BODY_BYTES = 2 * 1024 * 1024  # 5,000 rows of about 130 bytes each do not fit the default 256 KiB


# --- products ---

@products.route("/client-groups/{group_id}/products", "GET", access=READ, query=ProductListQuery,
                response=Page[ProductOut], summary="A client group's managed products")
def list_group_products(req: ApiRequest, group_id: UUID) -> Page[ProductOut]:
    found, cursor = service.list_products(req.ctx, group_id, req.query)
    return page_of(ProductOut, found, cursor)


@products.route("/client-groups/{group_id}/products", "POST", access=WRITE, body=ProductCreateIn,
                response=ProductOut, status=201,
                summary="Create a managed product (from a template generation, or fund by fund later)")
def create_product(req: ApiRequest, group_id: UUID) -> Reply:
    row = service.create_product(req.ctx, group_id, req.body)
    return created(ProductOut, row, f"/v1/products/{row['id']}")


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
    return page_of(ProviderSwitchOut, found)


@products.route("/products/{product_id}/funds", "GET", access=READ, response=Page[PortfolioFundOut],
                summary="The product's portfolio funds, ended ones included")
def list_portfolio_funds(req: ApiRequest, product_id: UUID) -> Page[PortfolioFundOut]:
    found = service.list_portfolio_funds(req.ctx, product_id)
    return page_of(PortfolioFundOut, found)


@products.route("/products/{product_id}/funds", "POST", access=WRITE, body=PortfolioFundCreateIn,
                response=PortfolioFundOut, status=201, summary="Add a fund to the product's portfolio")
def add_portfolio_fund(req: ApiRequest, product_id: UUID) -> Reply:
    row = service.add_portfolio_fund(req.ctx, product_id, req.body)
    return created(PortfolioFundOut, row, f"/v1/portfolio-funds/{row['id']}")


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
    return page_of(PortfolioValuationOut, found, cursor)


@products.route("/portfolio-funds/{portfolio_fund_id}/valuations", "GET", access=READ, query=DatedListQuery,
                response=Page[FundValuationOut], summary="A portfolio fund's valuations")
def list_fund_valuations(req: ApiRequest, portfolio_fund_id: UUID) -> Page[FundValuationOut]:
    found, cursor = service.list_valuations(req.ctx, portfolio_fund_id, req.query)
    return page_of(FundValuationOut, found, cursor)


@products.route("/portfolio-funds/{portfolio_fund_id}/valuations", "POST", access=WRITE, body=FundValuationIn,
                response=FundValuationOut, status=201, summary="Value a portfolio fund on a date")
def create_fund_valuation(req: ApiRequest, portfolio_fund_id: UUID) -> Reply:
    row = service.add_valuation(req.ctx, portfolio_fund_id, req.body)
    return created(FundValuationOut, row, f"/v1/fund-valuations/{row['id']}")


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
                max_body_bytes=BULK_BODY_BYTES, rate_limit=RATE_BULK)
def bulk_fund_valuations(req: ApiRequest, product_id: UUID) -> Reply:
    return Reply(BulkOut(written=service.bulk_valuations(req.ctx, product_id, req.body)), 201)


@products.route("/portfolio-funds/{portfolio_fund_id}/activity", "GET", access=READ, query=DatedListQuery,
                response=Page[ActivityOut], summary="A portfolio fund's cash flows")
def list_fund_activity(req: ApiRequest, portfolio_fund_id: UUID) -> Page[ActivityOut]:
    found, cursor = service.list_activity(req.ctx, portfolio_fund_id, req.query)
    return page_of(ActivityOut, found, cursor)


@products.route("/portfolio-funds/{portfolio_fund_id}/activity", "POST", access=WRITE, body=ActivityIn,
                response=ActivityOut, status=201, summary="Record a cash flow (amount > 0; the type gives the sign)")
def create_activity(req: ApiRequest, portfolio_fund_id: UUID) -> Reply:
    row = service.add_activity(req.ctx, portfolio_fund_id, req.body)
    return created(ActivityOut, row, f"/v1/activity/{row['id']}")


@products.route("/activity/{activity_id}", "PATCH", access=WRITE, body=ActivityPatchIn, response=ActivityOut,
                if_match=True, summary="Correct a cash flow (IRRs from its date on are recomputed)")
def update_activity(req: ApiRequest, activity_id: UUID) -> ActivityOut:
    return ActivityOut.model_validate(service.update_activity(req.ctx, activity_id, req.body, req.if_match))


@products.route("/activity/{activity_id}", "DELETE", access=WRITE, status=204, summary="Delete a cash flow")
def delete_activity(req: ApiRequest, activity_id: UUID) -> None:
    service.delete_activity(req.ctx, activity_id)


@products.route("/products/{product_id}/activity:bulk", "POST", access=WRITE, body=BulkActivitiesIn,
                response=BulkOut, status=201, summary="Up to 5,000 cash flows, all or nothing",
                max_body_bytes=BULK_BODY_BYTES, rate_limit=RATE_BULK)
def bulk_activity(req: ApiRequest, product_id: UUID) -> Reply:
    return Reply(BulkOut(written=service.bulk_activity(req.ctx, product_id, req.body)), 201)


