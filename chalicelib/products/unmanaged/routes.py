"""HTTP routes for unmanaged products (assets and liabilities held elsewhere) and their valuations."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import READ, WRITE, Api, ApiRequest, Reply, created
from chalicelib.core.pagination import Page, page_of
from chalicelib.products.holdings.models import BulkOut, DatedListQuery
from chalicelib.products.holdings.routes import BULK_BODY_BYTES
from chalicelib.products.unmanaged import service
from chalicelib.products.unmanaged.models import (
    UnmanagedListQuery,
    UnmanagedPage,
    UnmanagedProductCreateIn,
    UnmanagedProductOut,
    UnmanagedProductPatchIn,
    UnmanagedStatusIn,
    UnmanagedValuationIn,
    UnmanagedValuationOut,
    UnmanagedValuationsBulkIn,
)

unmanaged = Api("unmanaged-products", resources={"group_id": "client group",
                                                 "unmanaged_product_id": "unmanaged product",
                                                 "unmanaged_valuation_id": "unmanaged valuation"})


@unmanaged.route("/client-groups/{group_id}/unmanaged-products", "GET", access=READ, query=UnmanagedListQuery,
                 response=UnmanagedPage,
                 summary="A household's assets and liabilities held elsewhere, with totals by product type")
def list_unmanaged_products(req: ApiRequest, group_id: UUID) -> UnmanagedPage:
    return UnmanagedPage.model_validate(service.list_products(req.ctx, group_id, req.query))


@unmanaged.route("/client-groups/{group_id}/unmanaged-products", "POST", access=WRITE,
                 body=UnmanagedProductCreateIn, response=UnmanagedProductOut, status=201,
                 summary="Record an asset or liability held elsewhere")
def create_unmanaged_product(req: ApiRequest, group_id: UUID) -> Reply:
    row = service.create_product(req.ctx, group_id, req.body)
    return created(UnmanagedProductOut, row, f"/v1/unmanaged-products/{row['id']}")


@unmanaged.route("/unmanaged-products/{unmanaged_product_id}", "GET", access=READ, response=UnmanagedProductOut,
                 summary="Get an unmanaged product")
def get_unmanaged_product(req: ApiRequest, unmanaged_product_id: UUID) -> UnmanagedProductOut:
    return UnmanagedProductOut.model_validate(service.get_product(req.ctx, unmanaged_product_id))


@unmanaged.route("/unmanaged-products/{unmanaged_product_id}", "PATCH", access=WRITE, body=UnmanagedProductPatchIn,
                 response=UnmanagedProductOut, if_match=True,
                 summary="Change an unmanaged product (not its status or current value)")
def update_unmanaged_product(req: ApiRequest, unmanaged_product_id: UUID) -> UnmanagedProductOut:
    return UnmanagedProductOut.model_validate(service.update_product(req.ctx, unmanaged_product_id, req.body,
                                                                     req.if_match))


@unmanaged.route("/unmanaged-products/{unmanaged_product_id}", "DELETE", access=WRITE, status=204,
                 summary="Delete an unmanaged product with no valuations (409 otherwise)")
def delete_unmanaged_product(req: ApiRequest, unmanaged_product_id: UUID) -> None:
    service.delete_product(req.ctx, unmanaged_product_id)


@unmanaged.route("/unmanaged-products/{unmanaged_product_id}/status", "POST", access=WRITE, body=UnmanagedStatusIn,
                 response=UnmanagedProductOut,
                 summary="Change the status, with a reason (back to active: administrators only)")
def change_unmanaged_status(req: ApiRequest, unmanaged_product_id: UUID) -> UnmanagedProductOut:
    return UnmanagedProductOut.model_validate(service.change_status(req.ctx, unmanaged_product_id, req.body.status,
                                                                    req.body.reason))


@unmanaged.route("/unmanaged-products/{unmanaged_product_id}/valuations", "GET", access=READ, query=DatedListQuery,
                 response=Page[UnmanagedValuationOut], summary="An unmanaged product's balance history, oldest first")
def list_unmanaged_valuations(req: ApiRequest, unmanaged_product_id: UUID) -> Page[UnmanagedValuationOut]:
    found, cursor = service.list_valuations(req.ctx, unmanaged_product_id, req.query)
    return page_of(UnmanagedValuationOut, found, cursor)


@unmanaged.route("/unmanaged-products/{unmanaged_product_id}/valuations", "POST", access=WRITE,
                 body=UnmanagedValuationIn, response=UnmanagedValuationOut, status=201,
                 summary="Value an unmanaged product on a date (one a date; not in the future)")
def create_unmanaged_valuation(req: ApiRequest, unmanaged_product_id: UUID) -> Reply:
    row = service.add_valuation(req.ctx, unmanaged_product_id, req.body)
    return created(UnmanagedValuationOut, row, f"/v1/unmanaged-valuations/{row['id']}")


@unmanaged.route("/unmanaged-products/{unmanaged_product_id}/valuations:bulk", "POST", access=WRITE,
                 body=UnmanagedValuationsBulkIn, response=BulkOut, status=201,
                 summary="Up to 5,000 valuations of an unmanaged product, all or nothing",
                 max_body_bytes=BULK_BODY_BYTES)
def bulk_unmanaged_valuations(req: ApiRequest, unmanaged_product_id: UUID) -> Reply:
    return Reply(BulkOut(written=service.bulk_valuations(req.ctx, unmanaged_product_id, req.body)), 201)


@unmanaged.route("/unmanaged-valuations/{unmanaged_valuation_id}", "DELETE", access=WRITE, status=204,
                 summary="Delete a valuation (the current value follows)")
def delete_unmanaged_valuation(req: ApiRequest, unmanaged_valuation_id: UUID) -> None:
    service.delete_valuation(req.ctx, unmanaged_valuation_id)
