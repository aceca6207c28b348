"""HTTP routes for capital market assumption (CMA) sets and portfolio models."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import ADMIN, READ, WRITE, Api, ApiRequest, Reply, created
from chalicelib.core.pagination import Page, page_of
from chalicelib.planning.assumptions import service
from chalicelib.planning.assumptions.models import (
    CmaSetCreateIn,
    CmaSetListQuery,
    CmaSetOut,
    CmaSetPatchIn,
    PortfolioModelCreateIn,
    PortfolioModelListQuery,
    PortfolioModelOut,
    PortfolioModelPatchIn,
)

assumptions = Api("planning-assumptions", resources={"cma_set_id": "CMA set",
                                                     "portfolio_model_id": "portfolio model"})


@assumptions.route("/cma-sets", "GET", access=READ, query=CmaSetListQuery, response=Page[CmaSetOut],
                   summary="The firm's capital market assumption sets, newest first")
def list_cma_sets(req: ApiRequest) -> Page[CmaSetOut]:
    found, cursor = service.list_sets(req.ctx, req.query)
    return page_of(CmaSetOut, found, cursor)


@assumptions.route("/cma-sets", "POST", access=WRITE, body=CmaSetCreateIn, response=CmaSetOut, status=201,
                   summary="A new draft set of capital market assumptions (version 1 of its line)")
def create_cma_set(req: ApiRequest) -> Reply:
    """Asset classes with expected annual return and volatility, their correlation matrix (square, symmetric, unit
    diagonal, entries in [-1, 1], positive semi-definite: a 422 names the most negative eigenvalue), inflation and
    an effective date. A draft until an administrator approves it."""
    row = service.create_set(req.ctx, req.body)
    return created(CmaSetOut, row, f"/v1/cma-sets/{row['id']}")


@assumptions.route("/cma-sets/{cma_set_id}", "GET", access=READ, response=CmaSetOut, summary="A CMA set")
def get_cma_set(req: ApiRequest, cma_set_id: UUID) -> CmaSetOut:
    return CmaSetOut.model_validate(service.get_set(req.ctx, cma_set_id))


@assumptions.route("/cma-sets/{cma_set_id}", "PATCH", access=WRITE, body=CmaSetPatchIn, response=CmaSetOut,
                   if_match=True, summary="Change a draft CMA set (an approved one never changes: 409)")
def update_cma_set(req: ApiRequest, cma_set_id: UUID) -> CmaSetOut:
    return CmaSetOut.model_validate(service.update_set(req.ctx, cma_set_id, req.body, req.if_match))


@assumptions.route("/cma-sets/{cma_set_id}/approve", "POST", access=ADMIN, response=CmaSetOut,
                   summary="Approve a draft CMA set (administrators; who and when are recorded)")
def approve_cma_set(req: ApiRequest, cma_set_id: UUID) -> CmaSetOut:
    return CmaSetOut.model_validate(service.approve_set(req.ctx, cma_set_id))


@assumptions.route("/cma-sets/{cma_set_id}/versions", "POST", access=WRITE, response=CmaSetOut, status=201,
                   summary="A new draft version copied from a set (its parent), numbered next in its line")
def new_cma_set_version(req: ApiRequest, cma_set_id: UUID) -> Reply:
    row = service.new_version(req.ctx, cma_set_id)
    return created(CmaSetOut, row, f"/v1/cma-sets/{row['id']}")


@assumptions.route("/portfolio-models", "GET", access=READ, query=PortfolioModelListQuery,
                   response=Page[PortfolioModelOut], summary="The firm's portfolio models, with derived figures")
def list_portfolio_models(req: ApiRequest) -> Page[PortfolioModelOut]:
    found, cursor = service.list_models(req.ctx, req.query)
    return page_of(PortfolioModelOut, found, cursor)


@assumptions.route("/portfolio-models", "POST", access=WRITE, body=PortfolioModelCreateIn,
                   response=PortfolioModelOut, status=201,
                   summary="A portfolio model: a risk level and an allocation across an approved set's classes")
def create_portfolio_model(req: ApiRequest) -> Reply:
    """Weights (two decimals) sum to exactly 100.00 and name asset classes of the set; its expected return and
    volatility are derived from the set on every read."""
    row = service.create_model(req.ctx, req.body)
    return created(PortfolioModelOut, row, f"/v1/portfolio-models/{row['id']}")


@assumptions.route("/portfolio-models/{portfolio_model_id}", "GET", access=READ, response=PortfolioModelOut,
                   summary="A portfolio model, with its expected return and volatility")
def get_portfolio_model(req: ApiRequest, portfolio_model_id: UUID) -> PortfolioModelOut:
    return PortfolioModelOut.model_validate(service.get_model(req.ctx, portfolio_model_id))


@assumptions.route("/portfolio-models/{portfolio_model_id}", "PATCH", access=WRITE, body=PortfolioModelPatchIn,
                   response=PortfolioModelOut, if_match=True, summary="Change a portfolio model")
def update_portfolio_model(req: ApiRequest, portfolio_model_id: UUID) -> PortfolioModelOut:
    return PortfolioModelOut.model_validate(service.update_model(req.ctx, portfolio_model_id, req.body,
                                                                 req.if_match))
