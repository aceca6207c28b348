"""HTTP routes for simulation runs of a plan version and their fan charts."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import READ, WRITE, Api, ApiRequest, Reply, require_accept
from chalicelib.core.pagination import Page, page_of
from chalicelib.planning.runs import service
from chalicelib.planning.runs.models import FanChartQuery, RunCreateIn, RunListQuery, RunOut, RunSummaryOut

runs = Api("planning-runs", resources={"plan_id": "plan", "run_id": "plan run"})


@runs.route("/plans/{plan_id}/runs", "POST", access=WRITE, body=RunCreateIn, response=RunOut, status=202,
            summary="Run the plan version's simulation (queued; poll the run for its outputs)")
def create_run(req: ApiRequest, plan_id: UUID) -> Reply:
    """202 with the queued run and its Location. The simulation runs outside the request (an SQS-triggered
    function in AWS, the local worker under `wealthdesk serve`); the run's status moves queued -> running ->
    succeeded (with its outputs) or failed (with the reason). What the engine cannot simulate is a 422 here."""
    row = service.create_run(req.ctx, plan_id, req.body)
    return Reply(RunOut.model_validate(row), 202, {"Location": f"/v1/plans/{plan_id}/runs/{row['id']}"})


@runs.route("/plans/{plan_id}/runs", "GET", access=READ, query=RunListQuery, response=Page[RunSummaryOut],
            summary="The plan version's runs, newest first")
def list_runs(req: ApiRequest, plan_id: UUID) -> Page[RunSummaryOut]:
    found, cursor = service.list_runs(req.ctx, plan_id, req.query)
    return page_of(RunSummaryOut, found, cursor)


@runs.route("/plans/{plan_id}/runs/{run_id}", "GET", access=READ, response=RunOut,
            summary="A run: its status, and once succeeded its outputs with the algorithm version")
def get_run(req: ApiRequest, plan_id: UUID, run_id: UUID) -> RunOut:
    return RunOut.model_validate(service.get_run(req.ctx, plan_id, run_id))


@runs.route("/plans/{plan_id}/runs/{run_id}/fan-chart.svg", "GET", access=READ, query=FanChartQuery,
            summary="The run's fan chart as SVG: wealth percentile bands per year, the target marked",
            extra_errors=(409,), produces="image/svg+xml")
def fan_chart_svg(req: ApiRequest, plan_id: UUID, run_id: UUID) -> Reply:
    """The same bytes for the same run. `basis` real (today's money, the default) or nominal; `scenario` a stress
    or what-if by name. 409 while the run is not succeeded."""
    from chalice import Response

    body = service.fan_chart(req.ctx, plan_id, run_id, req.query, "svg")
    return Reply(Response(body=body.decode("utf-8"), status_code=200,
                          headers={"Content-Type": "image/svg+xml", "Cache-Control": "private, max-age=86400"}))


@runs.route("/plans/{plan_id}/runs/{run_id}/fan-chart.png", "GET", access=READ, query=FanChartQuery,
            summary="The run's fan chart as PNG (960 x 540); send Accept: image/png", extra_errors=(406, 409),
            produces="image/png")
def fan_chart_png(req: ApiRequest, plan_id: UUID, run_id: UUID) -> Reply:
    """As the SVG, drawn as a PNG. A binary body needs the request's Accept to name image/png (or */*): 406
    otherwise."""
    from chalice import Response

    body = service.fan_chart(req.ctx, plan_id, run_id, req.query, "png",
                             before_drawing=lambda: require_accept(req, "image/png"))
    return Reply(Response(body=body, status_code=200,
                          headers={"Content-Type": "image/png", "Cache-Control": "private, max-age=86400"}))
