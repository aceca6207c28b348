"""HTTP routes for information items."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import READ, WRITE, Api, ApiRequest, Reply, created
from chalicelib.core.pagination import Page, page_of
from chalicelib.information_items import service
from chalicelib.information_items.models import (
    BATCH_MAX,
    MAX_BYTES,
    InformationItemCreateIn,
    InformationItemListQuery,
    InformationItemOut,
    InformationItemPatchIn,
    InformationItemsBatchIn,
    InformationItemsBatchOut,
)

api = Api("information-items", resources={"group_id": "client group", "item_id": "information item"})
# A batch of 100 items of 64 KiB each would be 6.4 MB, past what a Lambda request may carry (6 MB): the batch's body
# is limited below that, so a batch of the largest items holds fewer of them.
BATCH_BODY_BYTES = 6 * 1024 * 1024 - MAX_BYTES


@api.route("/client-groups/{group_id}/information-items", "GET", access=READ, query=InformationItemListQuery,
           response=Page[InformationItemOut], summary="A household's information items (type, category, q)")
def list_information_items(req: ApiRequest, group_id: UUID) -> Page[InformationItemOut]:
    found, cursor = service.list_items(req.ctx, group_id, req.query)
    return page_of(InformationItemOut, found, cursor)


@api.route("/client-groups/{group_id}/information-items", "POST", access=WRITE, body=InformationItemCreateIn,
           response=InformationItemOut, status=201, summary="Record an information item of the household")
def create_information_item(req: ApiRequest, group_id: UUID) -> Reply:
    row = service.create_item(req.ctx, group_id, req.body)
    return created(InformationItemOut, row, f"/v1/information-items/{row['id']}")


@api.route("/client-groups/{group_id}/information-items:batch", "POST", access=WRITE, body=InformationItemsBatchIn,
           response=InformationItemsBatchOut, status=201, max_body_bytes=BATCH_BODY_BYTES,
           summary=f"Up to {BATCH_MAX} information items of the household, all or nothing")
def batch_information_items(req: ApiRequest, group_id: UUID) -> Reply:
    ids = service.batch_create(req.ctx, group_id, req.body)
    return Reply(InformationItemsBatchOut(written=len(ids), ids=ids), 201)


@api.route("/information-items/{item_id}", "GET", access=READ, response=InformationItemOut,
           summary="Get an information item")
def get_information_item(req: ApiRequest, item_id: UUID) -> InformationItemOut:
    return InformationItemOut.model_validate(service.get_item(req.ctx, item_id))


@api.route("/information-items/{item_id}", "PATCH", access=WRITE, body=InformationItemPatchIn,
           response=InformationItemOut, if_match=True,
           summary="Change an information item (data_content is replaced whole)")
def update_information_item(req: ApiRequest, item_id: UUID) -> InformationItemOut:
    return InformationItemOut.model_validate(service.update_item(req.ctx, item_id, req.body, req.if_match))


@api.route("/information-items/{item_id}", "DELETE", access=WRITE, status=204, summary="Delete an information item")
def delete_information_item(req: ApiRequest, item_id: UUID) -> None:
    service.delete_item(req.ctx, item_id)
