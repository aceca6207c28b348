"""HTTP routes for actions."""
from __future__ import annotations

from uuid import UUID

from chalicelib.actions import service
from chalicelib.actions.models import ActionCreateIn, ActionListQuery, ActionOut, ActionPatchIn
from chalicelib.core.http import READ, WRITE, Api, ApiRequest, Reply, created
from chalicelib.core.pagination import Page, page_of

api = Api("actions", resources={"group_id": "client group", "action_id": "action"})


@api.route("/client-groups/{group_id}/actions", "GET", access=READ, query=ActionListQuery,
           response=Page[ActionOut], summary="A household's actions (status, owner, due_before, overdue)")
def list_actions(req: ApiRequest, group_id: UUID) -> Page[ActionOut]:
    found, cursor = service.list_actions(req.ctx, group_id, req.query)
    return page_of(ActionOut, found, cursor)


@api.route("/client-groups/{group_id}/actions", "POST", access=WRITE, body=ActionCreateIn, response=ActionOut,
           status=201, summary="Add an action to the household (outstanding)")
def create_action(req: ApiRequest, group_id: UUID) -> Reply:
    row = service.create_action(req.ctx, group_id, req.body)
    return created(ActionOut, row, f"/v1/actions/{row['id']}")


@api.route("/actions/{action_id}", "GET", access=READ, response=ActionOut, summary="Get an action")
def get_action(req: ApiRequest, action_id: UUID) -> ActionOut:
    return ActionOut.model_validate(service.get_action(req.ctx, action_id))


@api.route("/actions/{action_id}", "PATCH", access=WRITE, body=ActionPatchIn, response=ActionOut, if_match=True,
           summary="Change an action (cancel it with status, not complete it)")
def update_action(req: ApiRequest, action_id: UUID) -> ActionOut:
    return ActionOut.model_validate(service.update_action(req.ctx, action_id, req.body, req.if_match))


@api.route("/actions/{action_id}", "DELETE", access=WRITE, status=204, summary="Delete an action")
def delete_action(req: ApiRequest, action_id: UUID) -> None:
    service.delete_action(req.ctx, action_id)


@api.route("/actions/{action_id}/complete", "POST", access=WRITE, response=ActionOut,
           summary="Complete an outstanding action (completed_at: now; 409 otherwise)")
def complete_action(req: ApiRequest, action_id: UUID) -> ActionOut:
    return ActionOut.model_validate(service.set_completion(req.ctx, action_id, completed=True))


@api.route("/actions/{action_id}/reopen", "POST", access=WRITE, response=ActionOut,
           summary="Reopen a completed or cancelled action (outstanding again; 409 when it is)")
def reopen_action(req: ApiRequest, action_id: UUID) -> ActionOut:
    return ActionOut.model_validate(service.set_completion(req.ctx, action_id, completed=False))
