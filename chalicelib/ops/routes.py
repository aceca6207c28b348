"""HTTP routes for ops: job runs (admin)."""
from __future__ import annotations

from chalicelib.core.http import ADMIN, Api, ApiRequest
from chalicelib.core.pagination import Page, page_of
from chalicelib.ops import service
from chalicelib.ops.models import JobRunListQuery, JobRunOut

api = Api("ops")


@api.route("/ops/job-runs", "GET", access=ADMIN, query=JobRunListQuery, response=Page[JobRunOut],
           summary="Recent scheduled job runs, newest first")
def list_job_runs(req: ApiRequest) -> Page[JobRunOut]:
    rows, cursor = service.list_runs(req.ctx, req.query)
    return page_of(JobRunOut, rows, cursor)
