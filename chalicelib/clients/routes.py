"""HTTP routes for client groups, product owners and membership."""
from __future__ import annotations

from uuid import UUID

from chalicelib.clients import service
from chalicelib.clients.models import (
    ClientGroupCreateIn,
    ClientGroupListItemOut,
    ClientGroupListQuery,
    ClientGroupOut,
    ClientGroupPatchIn,
    ProductOwnerCreateIn,
    ProductOwnerListQuery,
    ProductOwnerOut,
    ProductOwnerPatchIn,
)
from chalicelib.core.http import READ, WRITE, Api, ApiRequest, Reply, created
from chalicelib.core.pagination import Page, page_of

groups_api = Api("client-groups", resources={"group_id": "client group", "owner_id": "product owner"})
owners_api = Api("product-owners", resources={"owner_id": "product owner"})


@groups_api.route("/client-groups", "GET", access=READ, query=ClientGroupListQuery,
                  response=Page[ClientGroupListItemOut], summary="List client groups (households)")
def list_client_groups(req: ApiRequest) -> Page[ClientGroupOut]:
    """Households in keyset pages. With `include=fum` each row also has `funds_under_management` (its active
    products' latest complete valuations, summed), `product_count` (active products) and `latest_valuation_date`
    (any of its products), live: the database keeps them in step in every writer's transaction. `sort=fum` /
    `sort=-fum` order by that figure (ties by id) and need include=fum. Without include=fum those fields are
    absent."""
    rows, cursor = service.list_groups(req.ctx, req.query)
    return page_of(ClientGroupListItemOut if req.query.include == "fum" else ClientGroupOut, rows, cursor)


@groups_api.route("/client-groups", "POST", access=WRITE, body=ClientGroupCreateIn, response=ClientGroupOut,
                  status=201, summary="Create a client group")
def create_client_group(req: ApiRequest) -> Reply:
    row = service.create_group(req.ctx, req.body)
    return created(ClientGroupOut, row, f"/v1/client-groups/{row['id']}")


@groups_api.route("/client-groups/{group_id}", "GET", access=READ, response=ClientGroupOut,
                  summary="Get a client group")
def get_client_group(req: ApiRequest, group_id: UUID) -> ClientGroupOut:
    return ClientGroupOut.model_validate(service.get_group(req.ctx, group_id))


@groups_api.route("/client-groups/{group_id}", "PATCH", access=WRITE, body=ClientGroupPatchIn,
                  response=ClientGroupOut, if_match=True, summary="Change a client group")
def update_client_group(req: ApiRequest, group_id: UUID) -> ClientGroupOut:
    return ClientGroupOut.model_validate(service.update_group(req.ctx, group_id, req.body, req.if_match))


@groups_api.route("/client-groups/{group_id}", "DELETE", access=WRITE, status=204,
                  summary="Delete a client group (409 while it has product owners)")
def delete_client_group(req: ApiRequest, group_id: UUID) -> None:
    service.delete_group(req.ctx, group_id)


@groups_api.route("/client-groups/{group_id}/product-owners", "GET", access=READ,
                  response=Page[ProductOwnerOut], summary="The group's product owners, in inception-date order")
def list_client_group_product_owners(req: ApiRequest, group_id: UUID) -> Page[ProductOwnerOut]:
    rows = service.list_members(req.ctx, group_id)
    return page_of(ProductOwnerOut, rows)


@groups_api.route("/client-groups/{group_id}/product-owners/{owner_id}", "PUT", access=WRITE,
                  response=ProductOwnerOut, summary="Add a product owner to the group (idempotent)")
def add_client_group_product_owner(req: ApiRequest, group_id: UUID, owner_id: UUID) -> Reply:
    owner, created = service.add_member(req.ctx, group_id, owner_id)
    return Reply(ProductOwnerOut.model_validate(owner), 201 if created else 200)


@groups_api.route("/client-groups/{group_id}/product-owners/{owner_id}", "DELETE", access=WRITE, status=204,
                  summary="Remove a product owner from the group")
def remove_client_group_product_owner(req: ApiRequest, group_id: UUID, owner_id: UUID) -> None:
    service.remove_member(req.ctx, group_id, owner_id)


@owners_api.route("/product-owners", "GET", access=READ, query=ProductOwnerListQuery,
                  response=Page[ProductOwnerOut], summary="List product owners (people)")
def list_product_owners(req: ApiRequest) -> Page[ProductOwnerOut]:
    rows, cursor = service.list_owners(req.ctx, req.query)
    return page_of(ProductOwnerOut, rows, cursor)


@owners_api.route("/product-owners", "POST", access=WRITE, body=ProductOwnerCreateIn, response=ProductOwnerOut,
                  status=201, summary="Create a product owner")
def create_product_owner(req: ApiRequest) -> Reply:
    row = service.create_owner(req.ctx, req.body)
    return created(ProductOwnerOut, row, f"/v1/product-owners/{row['id']}")


@owners_api.route("/product-owners/{owner_id}", "GET", access=READ, response=ProductOwnerOut,
                  summary="Get a product owner")
def get_product_owner(req: ApiRequest, owner_id: UUID) -> ProductOwnerOut:
    return ProductOwnerOut.model_validate(service.get_owner(req.ctx, owner_id))


@owners_api.route("/product-owners/{owner_id}", "PATCH", access=WRITE, body=ProductOwnerPatchIn,
                  response=ProductOwnerOut, if_match=True, summary="Change a product owner")
def update_product_owner(req: ApiRequest, owner_id: UUID) -> ProductOwnerOut:
    return ProductOwnerOut.model_validate(service.update_owner(req.ctx, owner_id, req.body, req.if_match))


@owners_api.route("/product-owners/{owner_id}", "DELETE", access=WRITE, status=204,
                  summary="Delete a product owner (409 while they belong to a client group)")
def delete_product_owner(req: ApiRequest, owner_id: UUID) -> None:
    service.delete_owner(req.ctx, owner_id)
