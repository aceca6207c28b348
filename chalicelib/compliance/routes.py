"""HTTP routes for the audit trail (admin)."""
from __future__ import annotations

from chalicelib.compliance import service
from chalicelib.compliance.models import AuditEventListQuery, AuditEventOut
from chalicelib.core.http import ADMIN, Api, ApiRequest
from chalicelib.core.pagination import Page, page_of

api = Api("audit")


@api.route("/audit-events", "GET", access=ADMIN, query=AuditEventListQuery, response=Page[AuditEventOut],
           summary="The firm's audit trail, newest first")
def list_audit_events(req: ApiRequest) -> Page[AuditEventOut]:
    rows, cursor = service.list_events(req.ctx, req.query)
    return page_of(AuditEventOut, rows, cursor)
