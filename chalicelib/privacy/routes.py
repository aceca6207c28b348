"""HTTP routes for a person's export and erasure (admin)."""
from __future__ import annotations

from uuid import UUID

from chalicelib.clients.models import ProductOwnerOut
from chalicelib.core.http import ADMIN, Api, ApiRequest, Reply
from chalicelib.privacy import service
from chalicelib.privacy.models import PersonExportOut

api = Api("product-owners", resources={"owner_id": "product owner"})


@api.route("/product-owners/{owner_id}/export", "POST", access=ADMIN, response=PersonExportOut,
           summary="Everything the firm holds on a person, as one JSON document (audited)")
def export_product_owner(req: ApiRequest, owner_id: UUID) -> Reply:
    """The person, their households, their share of each product naming them, those products (managed and
    unmanaged), the information items naming them, their households' actions and the audit events about them; as
    an attachment (Content-Disposition). The export itself is audited (which sections, how many rows: not the
    data)."""
    document = PersonExportOut.model_validate(service.export(req.ctx, owner_id))
    return Reply(document, 200, {"Content-Disposition": f'attachment; filename="product-owner-{owner_id}.json"'})


@api.route("/product-owners/{owner_id}/erase", "POST", access=ADMIN, response=ProductOwnerOut,
           summary="Anonymize a person who has left (409 while an active product or a retention hold needs them)")
def erase_product_owner(req: ApiRequest, owner_id: UUID) -> ProductOwnerOut:
    """Name, contact details and date of birth replaced; ids, memberships, ownership and every financial fact kept.
    Refused (409) while an active product or unmanaged product names the person, or a retention hold is set on
    them. Erasing an erased person answers them as they are (idempotent)."""
    return ProductOwnerOut.model_validate(service.erase(req.ctx, owner_id))
