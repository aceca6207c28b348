"""HTTP routes for the firm's retention policies (admin)."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import ADMIN, Api, ApiRequest, Reply, created
from chalicelib.core.pagination import Page, page_of
from chalicelib.ops.retention import service
from chalicelib.ops.retention.models import (
    RetentionPolicyCreateIn,
    RetentionPolicyListQuery,
    RetentionPolicyOut,
    RetentionPolicyPatchIn,
)

api = Api("ops", resources={"policy_id": "retention policy"})
PATH = "/ops/retention-policies"


@api.route(PATH, "GET", access=ADMIN, query=RetentionPolicyListQuery, response=Page[RetentionPolicyOut],
           summary="The firm's retention policies, by table and condition")
def list_retention_policies(req: ApiRequest) -> Page[RetentionPolicyOut]:
    """How long the firm keeps each kind of row and what the nightly `retention` job does with it after (keep,
    delete, archive, anonymize). Every firm starts with the defaults (docs/domain.md, "Retention and privacy")."""
    rows, cursor = service.list_policies(req.ctx, req.query)
    return page_of(RetentionPolicyOut, rows, cursor)


@api.route(PATH, "POST", access=ADMIN, body=RetentionPolicyCreateIn, response=RetentionPolicyOut, status=201,
           summary="Add a retention policy for rows the firm has none for")
def create_retention_policy(req: ApiRequest) -> Reply:
    """A condition the table has, an action valid for it and a period (none with keep); the audit trail is kept
    at least 7 years (422). A second policy for the same table and condition is a 409."""
    row = service.create_policy(req.ctx, req.body)
    return created(RetentionPolicyOut, row, f"/v1{PATH}/{row['id']}")


@api.route(PATH + "/{policy_id}", "GET", access=ADMIN, response=RetentionPolicyOut,
           summary="A retention policy")
def get_retention_policy(req: ApiRequest, policy_id: UUID) -> RetentionPolicyOut:
    return RetentionPolicyOut.model_validate(service.get_policy(req.ctx, policy_id))


@api.route(PATH + "/{policy_id}", "PATCH", access=ADMIN, body=RetentionPolicyPatchIn, response=RetentionPolicyOut,
           if_match=True, summary="Change a retention policy's period, action, schedule or whether it is enabled")
def update_retention_policy(req: ApiRequest, policy_id: UUID) -> RetentionPolicyOut:
    """The result must be a valid policy: a period shorter than the audit trail's 7 years, an action the table
    does not take, or a period with keep (none without it) is a 422 and changes nothing."""
    return RetentionPolicyOut.model_validate(service.update_policy(req.ctx, policy_id, req.body, req.if_match))
