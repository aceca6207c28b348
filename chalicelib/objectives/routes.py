"""HTTP routes for objectives, money goals and their contributions."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import READ, WRITE, Api, ApiRequest, Reply, created
from chalicelib.core.pagination import Page, page_of
from chalicelib.objectives import service
from chalicelib.objectives.models import (
    ContributionIn,
    ContributionListQuery,
    ContributionOut,
    ObjectiveCreateIn,
    ObjectiveListQuery,
    ObjectiveOut,
    ObjectivePatchIn,
)

api = Api("objectives", resources={"group_id": "client group", "objective_id": "objective",
                                   "contribution_id": "objective contribution"})


@api.route("/client-groups/{group_id}/objectives", "GET", access=READ, query=ObjectiveListQuery,
           response=Page[ObjectiveOut],
           summary="A household's objectives (status, priority, due_before), money goals with their figures")
def list_objectives(req: ApiRequest, group_id: UUID) -> Page[ObjectiveOut]:
    found, cursor = service.list_objectives(req.ctx, group_id, req.query)
    return page_of(ObjectiveOut, found, cursor)


@api.route("/client-groups/{group_id}/objectives", "POST", access=WRITE, body=ObjectiveCreateIn,
           response=ObjectiveOut, status=201,
           summary="Add an objective, or a money goal (target_amount, linked products, assumed return)")
def create_objective(req: ApiRequest, group_id: UUID) -> Reply:
    row = service.create_objective(req.ctx, group_id, req.body)
    return created(ObjectiveOut, row, f"/v1/objectives/{row['id']}")


@api.route("/objectives/{objective_id}", "GET", access=READ, response=ObjectiveOut,
           summary="Get an objective (a money goal with its current value, progress and saving needed)")
def get_objective(req: ApiRequest, objective_id: UUID) -> ObjectiveOut:
    return ObjectiveOut.model_validate(service.get_objective(req.ctx, objective_id))


@api.route("/objectives/{objective_id}", "PATCH", access=WRITE, body=ObjectivePatchIn, response=ObjectiveOut,
           if_match=True, summary="Change an objective (a money goal's progress is computed, never typed)")
def update_objective(req: ApiRequest, objective_id: UUID) -> ObjectiveOut:
    return ObjectiveOut.model_validate(service.update_objective(req.ctx, objective_id, req.body, req.if_match))


@api.route("/objectives/{objective_id}", "DELETE", access=WRITE, status=204,
           summary="Delete an objective (its links and contributions with it)")
def delete_objective(req: ApiRequest, objective_id: UUID) -> None:
    service.delete_objective(req.ctx, objective_id)


@api.route("/objectives/{objective_id}/contributions", "GET", access=READ, query=ContributionListQuery,
           response=Page[ContributionOut], summary="A money goal's contributions, oldest first")
def list_contributions(req: ApiRequest, objective_id: UUID) -> Page[ContributionOut]:
    found, cursor = service.list_contributions(req.ctx, objective_id, req.query)
    return page_of(ContributionOut, found, cursor)


@api.route("/objectives/{objective_id}/contributions", "POST", access=WRITE, body=ContributionIn,
           response=ContributionOut, status=201,
           summary="Record money put aside towards a money goal (not dated in the future)")
def create_contribution(req: ApiRequest, objective_id: UUID) -> Reply:
    row = service.add_contribution(req.ctx, objective_id, req.body)
    return created(ContributionOut, row, f"/v1/objective-contributions/{row['id']}")


@api.route("/objective-contributions/{contribution_id}", "DELETE", access=WRITE, status=204,
           summary="Delete a contribution entered by mistake (audited)")
def delete_contribution(req: ApiRequest, contribution_id: UUID) -> None:
    service.delete_contribution(req.ctx, contribution_id)
