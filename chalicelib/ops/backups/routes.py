"""HTTP routes for backups and their verdicts (admin)."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import ADMIN, Api, ApiRequest
from chalicelib.core.pagination import Page, page_of
from chalicelib.ops.backups import service
from chalicelib.ops.backups.models import BackupDetailOut, BackupListQuery, BackupOut

api = Api("ops", resources={"backup_id": "backup"})


@api.route("/ops/backups", "GET", access=ADMIN, query=BackupListQuery, response=Page[BackupOut],
           summary="The database's backups with their latest verdicts, newest first")
def list_backups(req: ApiRequest) -> Page[BackupOut]:
    """Every backup of the deployment's database (the same list for the admins of every firm), with whether its
    latest verification passed. A backup is only to be relied on once `verdict` is `passed`. Sizes, reasons and
    totals are the operators' (`wealthdesk backups`): they would tell one firm about the others."""
    rows, cursor = service.list_backups(req.ctx, req.query)
    return page_of(BackupOut, rows, cursor)


@api.route("/ops/backups/{backup_id}", "GET", access=ADMIN, response=BackupDetailOut,
           summary="A backup: the firm's rows in it and every verification's outcome")
def get_backup(req: ApiRequest, backup_id: UUID) -> BackupDetailOut:
    """The firm's own rows in the backup, table by table, as counted in the dump's snapshot; a passed verification
    restored exactly these."""
    return BackupDetailOut.model_validate(service.get_backup(req.ctx, backup_id))
