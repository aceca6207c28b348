"""HTTP routes for a household's financial plans and their versions (each version immutable)."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import READ, WRITE, Api, ApiRequest, Reply, created
from chalicelib.core.pagination import Page, page_of
from chalicelib.planning.plans import service
from chalicelib.planning.plans.models import (
    PlanCreateIn,
    PlanListQuery,
    PlanOut,
    PlanSummaryOut,
    PlanVersionIn,
    PlanVersionListQuery,
)

plans = Api("planning-plans", resources={"group_id": "client group", "plan_id": "plan"})


@plans.route("/client-groups/{group_id}/plans", "GET", access=READ, query=PlanListQuery,
             response=Page[PlanSummaryOut], summary="A household's plans: the latest version of each, newest first")
def list_plans(req: ApiRequest, group_id: UUID) -> Page[PlanSummaryOut]:
    found, cursor = service.list_plans(req.ctx, group_id, req.query)
    return page_of(PlanSummaryOut, found, cursor)


@plans.route("/client-groups/{group_id}/plans", "POST", access=WRITE, body=PlanCreateIn, response=PlanOut,
             status=201, summary="A new plan of the household (its version 1)")
def create_plan(req: ApiRequest, group_id: UUID) -> Reply:
    """The inputs are checked against the household (its people, its products on as_of) and the firm's approved
    assumptions and models, and stored whole with what was derived: each person's date of birth, the target a
    replacement ratio makes, each starting value's figure (the household's part, as net worth computes it), each
    model's allocation, the random seed. A version never changes: an edit is a new version."""
    row = service.create_plan(req.ctx, group_id, req.body)
    return created(PlanOut, row, f"/v1/plans/{row['id']}")


@plans.route("/plans/{plan_id}", "GET", access=READ, response=PlanOut, summary="A plan version, with its inputs")
def get_plan(req: ApiRequest, plan_id: UUID) -> PlanOut:
    return PlanOut.model_validate(service.get_plan(req.ctx, plan_id))


@plans.route("/plans/{plan_id}/versions", "GET", access=READ, query=PlanVersionListQuery,
             response=Page[PlanSummaryOut], summary="Every version of the plan this version belongs to, in order")
def list_plan_versions(req: ApiRequest, plan_id: UUID) -> Page[PlanSummaryOut]:
    found, cursor = service.list_versions(req.ctx, plan_id, req.query)
    return page_of(PlanSummaryOut, found, cursor)


@plans.route("/plans/{plan_id}/versions", "POST", access=WRITE, body=PlanVersionIn, response=PlanOut, status=201,
             summary="Edit a plan: a new version made from this one, with its inputs whole")
def create_plan_version(req: ApiRequest, plan_id: UUID) -> Reply:
    """parent_plan_id is this version; the new version is numbered one more than the plan's highest. The
    inputs are checked and filled in as a new plan's are; nothing is carried over from the parent but its name
    (when none is given)."""
    row = service.new_version(req.ctx, plan_id, req.body)
    return created(PlanOut, row, f"/v1/plans/{row['id']}")
