"""HTTP routes for the catalogue: providers, funds, portfolio templates and generations."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import READ, WRITE, Api, ApiRequest, Reply, created
from chalicelib.core.pagination import ListQuery, Page, page_of
from chalicelib.products.catalogue import service
from chalicelib.products.catalogue.models import (
    FundCreateIn,
    FundListQuery,
    FundOut,
    FundPatchIn,
    GenerationCreateIn,
    GenerationOut,
    ProviderCreateIn,
    ProviderListQuery,
    ProviderOut,
    ProviderPatchIn,
    TemplateCreateIn,
    TemplateOut,
    TemplatePatchIn,
)

catalogue = Api("catalogue", resources={"provider_id": "provider", "fund_id": "fund",
                                    "template_id": "portfolio template"})


# --- providers ---

@catalogue.route("/providers", "GET", access=READ, query=ProviderListQuery, response=Page[ProviderOut],
                 summary="List providers")
def list_providers(req: ApiRequest) -> Page[ProviderOut]:
    found, cursor = service.list_providers(req.ctx, req.query)
    return page_of(ProviderOut, found, cursor)


@catalogue.route("/providers", "POST", access=WRITE, body=ProviderCreateIn, response=ProviderOut, status=201,
                 summary="Create a provider")
def create_provider(req: ApiRequest) -> Reply:
    row = service.create_catalogue(req.ctx, "provider", req.body.model_dump())
    return created(ProviderOut, row, f"/v1/providers/{row['id']}")


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
    return page_of(FundOut, found, cursor)


@catalogue.route("/funds", "POST", access=WRITE, body=FundCreateIn, response=FundOut, status=201,
                 summary="Create a fund (ISIN check digit validated)")
def create_fund(req: ApiRequest) -> Reply:
    row = service.create_catalogue(req.ctx, "fund", req.body.model_dump())
    return created(FundOut, row, f"/v1/funds/{row['id']}")


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
    return page_of(TemplateOut, found, cursor)


@catalogue.route("/portfolio-templates", "POST", access=WRITE, body=TemplateCreateIn, response=TemplateOut,
                 status=201, summary="Create a portfolio template")
def create_portfolio_template(req: ApiRequest) -> Reply:
    row = service.create_catalogue(req.ctx, "template", req.body.model_dump())
    return created(TemplateOut, row, f"/v1/portfolio-templates/{row['id']}")


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
    return page_of(GenerationOut, found)


@catalogue.route("/portfolio-templates/{template_id}/generations", "POST", access=WRITE, body=GenerationCreateIn,
                 response=GenerationOut, status=201,
                 summary="Make a new generation (weightings sum to exactly 100.00; generations are never edited)")
def create_template_generation(req: ApiRequest, template_id: UUID) -> Reply:
    return Reply(GenerationOut.model_validate(service.create_generation(req.ctx, template_id, req.body)), 201)


