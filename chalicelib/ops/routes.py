"""HTTP routes for ops: the firm's part of job runs (admin). The platform's record of every run is for operators
(`wealthdesk job runs`), never a firm's user."""
from __future__ import annotations

from chalicelib.core.http import ADMIN, Api, ApiRequest
from chalicelib.core.pagination import Page, page_of
from chalicelib.ops import service
from chalicelib.ops.models import JobRunListQuery, JobRunOut

api = Api("ops")


@api.route("/ops/job-runs", "GET", access=ADMIN, query=JobRunListQuery, response=Page[JobRunOut],
           summary="The firm's part of recent scheduled job runs, newest first",
           description=("Each run of a scheduled job that did work for the firm (its dashboard refreshed, its IRR "
                        "history repaired), with the run's figures restricted to the firm, newest first. Runs that did "
                        "nothing for the firm, work for no firm (the audit trail's partitions), skipped and failed "
                        "runs are for operators only, as are the platform-wide figures of every run."))
def list_job_runs(req: ApiRequest) -> Page[JobRunOut]:
    rows, cursor = service.list_runs(req.ctx, req.query)
    return page_of(JobRunOut, rows, cursor)
