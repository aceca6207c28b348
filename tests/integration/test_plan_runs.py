"""Simulation runs of a plan through the real handlers and the real worker code: queued by POST (202), run by the
worker (service.execute, the SQS handler under moto, the command line), stored once with the algorithm version and
the outputs' hash, reproducible to the byte in a fresh process, drawn as a fan chart; the database's guards on a
run; an objective's on_track from its plan; every refusal a 4xx problem+json that changes nothing."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.matrix_support import (
    audit_events_since,
    audit_watermark,
    expect_status,
    firm_rows,
    send,
)
from tests.integration.planning_support import (
    create_cma_set,
    create_plan,
    create_planning_household,
    create_portfolio_model,
)

SMALL = {"iterations": 1000, "horizon_years": 20, "steps": "yearly"}


@pytest.fixture(scope="module")
def firm(database: str) -> Firm:
    return make_firm()


@pytest.fixture(scope="module")
def world(firm: Firm, app_module: Any) -> dict[str, Any]:
    """An approved two-class set, a 60/40 and a 30/70 model, a household (one person born 1970-05-20) and a plan
    with flows, a lump sum and a target income."""
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        admin, w = firm.auth("admin"), firm.auth("adviser")
        cma = create_cma_set(c, w, approve=admin)
        model = create_portfolio_model(c, w, cma["id"])
        cautious = create_portfolio_model(c, w, cma["id"], risk_level=3,
                                          allocations=[{"asset_class": "equity", "weight": "30.00"},
                                                       {"asset_class": "bonds", "weight": "70.00"}])
        house = create_planning_household(c, w)
        plan = create_plan(c, w, house, cma["id"], model["id"], as_of="2025-01-01", **SMALL,
                           contributions=[{"amount": "500.00", "start_date": "2025-01-01",
                                           "end_date": "2031-12-31"}],
                           withdrawals=[{"amount": "1000.00", "frequency": "annual", "start_date": "2030-01-01",
                                         "growth": {"kind": "fixed", "rate": "0.01"}}],
                           lump_sums=[{"date": "2028-06-30", "amount": "20000.00", "direction": "in"}],
                           target_income={"kind": "amount", "annual": "12000.00"}, random_seed=20251201)
    return {"cma": cma, "model": model, "cautious": cautious, "house": house, "plan": plan,
            "admin": admin, "w": w}


def _post_run(c: Any, auth: dict[str, str], plan_id: str, body: dict[str, Any] | None = None) -> Any:
    return send(c, "POST", f"/v1/plans/{plan_id}/runs", headers=auth, body=body if body is not None else {})


def _run(c: Any, auth: dict[str, str], plan_id: str, firm: Firm, body: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    """Queue a run through the API and run it with the worker's code; the run as GET shows it."""
    from chalicelib.planning.runs import service

    made = expect_status(_post_run(c, auth, plan_id, body), 202)
    assert service.execute(uuid.UUID(made["id"]), firm.id)["status"] in ("succeeded", "failed")
    return expect_status(send(c, "GET", f"/v1/plans/{plan_id}/runs/{made['id']}", headers=auth), 200)


def test_a_run_is_queued_then_run_by_the_worker_and_stored_with_its_algorithm(
        client: Any, firm: Firm, world: dict[str, Any]) -> None:
    plan_id = world["plan"]["id"]
    mark = audit_watermark()
    resp = _post_run(client, world["w"], plan_id)
    queued = expect_status(resp, 202)
    assert resp.headers["Location"] == f"/v1/plans/{plan_id}/runs/{queued['id']}"
    assert queued["status"] == "queued" and queued["outputs"] is None and queued["attempts"] == 0
    assert [s["kind"] for s in queued["request"]["stresses"]] == ["market_fall", "high_inflation",
                                                                 "early_retirement"]
    assert [e["action"] for e in audit_events_since(mark, firm.id)] == ["plan_run.create"]

    from chalicelib.planning.runs import service

    mark = audit_watermark()
    done = service.execute(uuid.UUID(queued["id"]), firm.id)
    assert done["status"] == "succeeded" and done["attempts"] == 1
    assert [e["action"] for e in audit_events_since(mark, firm.id)] == ["plan_run.succeeded"]
    assert service.execute(uuid.UUID(queued["id"]), firm.id) is None  # finished: nothing to do again

    got = expect_status(send(client, "GET", f"/v1/plans/{plan_id}/runs/{queued['id']}", headers=world["w"]), 200)
    outputs = got["outputs"]
    assert got["status"] == "succeeded" and got["algorithm_version"] == outputs["algorithm_version"] \
        == "wealthdesk-mc-1"
    assert Decimal(got["probability_of_success"]) == Decimal(outputs["base"]["probability_of_success"])
    stored = owner_sql("SELECT outputs FROM plan_runs WHERE id = %s", (queued["id"],))[0]["outputs"]
    assert got["outputs_sha256"] == hashlib.sha256(stored.encode("ascii")).hexdigest()
    assert json.loads(stored) == outputs
    assert [s["name"] for s in outputs["stresses"]] == [s["name"] for s in queued["request"]["stresses"]]
    base = outputs["base"]
    assert len(base["wealth"]) == 21 and base["paths"] == 1000  # years 0..20
    assert outputs["percentiles"] == [5, 10, 25, 50, 75, 90, 95]
    listed = expect_status(send(client, "GET", f"/v1/plans/{plan_id}/runs", headers=world["w"]), 200)
    assert queued["id"] in [r["id"] for r in listed["items"]]


def test_the_engine_inputs_are_the_plan_mapped_as_documented(client: Any, firm: Firm,
                                                             world: dict[str, Any]) -> None:
    """Hand-worked: 500.00 a month is 6,000.00 a year to the day after its end; 1,000.00 a year out (negative),
    growing at a fixed 1%; the lump sum in; the need from the 67th birthday; the set's figures in class order."""
    got = _run(client, world["w"], world["plan"]["id"], firm, {"stresses": []})
    x = got["engine_inputs"]
    assert x["start_date"] == "2025-01-01" and x["horizon_years"] == 20 and x["steps"] == "yearly"
    assert x["seed"] == 20251201 and x["iterations"] == 1000 and x["return_model"] == "lognormal"
    assert [(a["name"], a["expected_return"], a["volatility"]) for a in x["asset_classes"]] == [
        ("equity", "0.070000", "0.160000"), ("bonds", "0.030000", "0.050000")]
    assert x["glide_path"] == [["60.00", "40.00"]] and x["inflation"] == "0.025000"
    flows = {f["name"]: f for f in x["flows"]}
    assert flows["contribution 1"]["amount"] == "6000.00" and flows["contribution 1"]["end"] == "2032-01-01"
    assert flows["withdrawal 1"]["amount"] == "-1000.00" and flows["withdrawal 1"]["end"] is None
    assert (flows["withdrawal 1"]["growth"], Decimal(flows["withdrawal 1"]["growth_rate"])) == ("fixed",
                                                                                               Decimal("0.01"))
    assert [(s["on"], s["amount"]) for s in x["lump_sums"]] == [("2028-06-30", "20000.00")]
    assert x["income_need"] == "12000.00" and x["retirement_date"] == "2037-05-20"
    assert x["starting_wealth"] == "0.00" and x["stresses"] == [] and x["confidence"] == "0.85"


def test_the_same_plan_gives_the_same_bytes_in_another_run_and_in_a_fresh_process(
        client: Any, firm: Firm, world: dict[str, Any]) -> None:
    first = _run(client, world["w"], world["plan"]["id"], firm)
    second = _run(client, world["w"], world["plan"]["id"], firm)
    assert first["id"] != second["id"] and first["outputs_sha256"] == second["outputs_sha256"]
    script = ("import json, sys, hashlib\n"
              "from chalicelib.planning import engine\n"
              "x = engine.inputs_from_json(json.loads(sys.stdin.read()))\n"
              "print(hashlib.sha256(engine.simulate(x).to_json()).hexdigest())\n")
    fresh = subprocess.run([sys.executable, "-c", script], input=json.dumps(first["engine_inputs"]),
                           capture_output=True, text=True, check=True, timeout=300,
                           env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert fresh.stdout.strip() == first["outputs_sha256"]


def test_what_ifs_are_the_plan_with_their_changes(client: Any, firm: Firm, world: dict[str, Any]) -> None:
    got = _run(client, world["w"], world["plan"]["id"], firm, {"stresses": [], "what_ifs": [
        {"name": "No income need", "changes": {"target_income_annual": "0.00"}},
        {"name": "Cautious", "changes": {"portfolio_model_id": world["cautious"]["id"]}},
        {"name": "Retire two years later, save 300 more", "changes": {"retirement_age_change": 2,
                                                                     "extra_monthly_contribution": "300.00"}}]})
    assert got["status"] == "succeeded", got["error"]
    what = {w["name"]: w for w in got["engine_inputs"]["what_ifs"]}
    assert what["No income need"]["changes"] == {"income_need": None}
    assert what["Cautious"]["changes"] == {"glide_path": [["30.00", "70.00"]]}
    later = what["Retire two years later, save 300 more"]["changes"]
    assert later["retirement_date"] == "2039-05-20" and later["flows"][-1]["amount"] == "3600.00"
    assert later["flows"][-1]["ends_at_retirement"] is True
    scenarios = {s["name"]: s for s in got["outputs"]["what_ifs"]}
    assert Decimal(scenarios["No income need"]["probability_of_success"]) == 1  # nothing is ever withdrawn for it
    assert got["request"]["what_ifs"][1]["changes"]["portfolio_model"]["allocations"] == [
        {"asset_class": "equity", "weight": "30.00"}, {"asset_class": "bonds", "weight": "70.00"}]


def test_a_need_beyond_any_wealth_fails_every_path_and_no_need_succeeds_every_path(
        client: Any, firm: Firm, world: dict[str, Any]) -> None:
    w = world["w"]
    hopeless = create_plan(client, w, world["house"], world["cma"]["id"], world["model"]["id"], **SMALL,
                           people=[{"product_owner_id": world["house"].owner_id, "retirement_age": 56,
                                    "life_expectancy": 92}],
                           target_income={"kind": "amount", "annual": "1000000.00"})
    assert Decimal(_run(client, w, hopeless["id"], firm, {"stresses": []})["probability_of_success"]) == 0
    easy = create_plan(client, w, world["house"], world["cma"]["id"], world["model"]["id"], **SMALL)
    assert Decimal(_run(client, w, easy["id"], firm, {"stresses": []})["probability_of_success"]) == 1


def test_fan_charts_are_drawn_the_same_each_time(client: Any, firm: Firm, world: dict[str, Any]) -> None:
    w = world["w"]
    got = _run(client, w, world["plan"]["id"], firm)
    path = f"/v1/plans/{world['plan']['id']}/runs/{got['id']}/fan-chart"
    svg = send(client, "GET", path + ".svg", headers=w)
    assert svg.status_code == 200 and svg.headers["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.body and b'id="median"' in svg.body and b'id="target"' in svg.body
    assert send(client, "GET", path + ".svg", headers=w).body == svg.body
    nominal = send(client, "GET", path + ".svg?basis=nominal", headers=w)
    assert nominal.status_code == 200 and b'id="target"' not in nominal.body
    stressed = send(client, "GET", path + ".svg?scenario=" + got["outputs"]["stresses"][0]["name"].replace(" ", "%20"),
                    headers=w)
    assert stressed.status_code == 200 and stressed.body != svg.body
    png = send(client, "GET", path + ".png", headers={**w, "Accept": "image/png"})
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    assert png.body.startswith(b"\x89PNG\r\n\x1a\n")
    assert send(client, "GET", path + ".png", headers={**w, "Accept": "image/png"}).body == png.body
    assert_problem(send(client, "GET", path + ".png", headers=w), 406, detail="Accept: image/png")
    assert send(client, "GET", path + ".png", headers={**w, "Accept": "*/*"}).body == png.body
    assert_problem(send(client, "GET", path + ".svg?scenario=Nothing", headers=w), 422, "scenario")
    assert_problem(send(client, "GET", path + ".svg?basis=both", headers=w), 422, "basis")


def test_a_chart_of_a_run_not_yet_run_is_a_conflict(client: Any, world: dict[str, Any]) -> None:
    queued = expect_status(_post_run(client, world["w"], world["plan"]["id"]), 202)
    assert_problem(send(client, "GET", f"/v1/plans/{world['plan']['id']}/runs/{queued['id']}/fan-chart.svg",
                        headers=world["w"]), 409)


@pytest.mark.parametrize("body, field", [
    ({"stresses": [{"kind": "market_fall", "size": "1.5"}]}, "stresses.0.market_fall.size"),
    ({"stresses": [{"kind": "high_inflation", "rate": "0.08"}]}, "stresses.0.high_inflation.years"),
    ({"stresses": [{"kind": "asteroid"}]}, "stresses.0"),
    ({"what_ifs": [{"name": "x", "changes": {}}]}, "what_ifs.0.changes"),
    ({"what_ifs": [{"name": "x", "changes": {"target_income_annual": "1.00"}},
                   {"name": "x", "changes": {"target_income_annual": "2.00"}}]}, "body"),
    ({"what_ifs": [{"name": "x", "changes": {"portfolio_model_id": str(uuid.uuid4())}}]},
     "what_ifs.0.changes.portfolio_model_id"),
    ({"what_ifs": [{"name": "x", "changes": {"retirement_age_change": 99}}]},
     "what_ifs.0.changes.retirement_age_change"),
    ({"iterations": 5}, "iterations"),
])
def test_bad_run_requests_are_refused_and_change_nothing(client: Any, firm: Firm, world: dict[str, Any],
                                                         body: dict[str, Any], field: str) -> None:
    before = firm_rows(firm.id)
    mark = audit_watermark()
    resp = _post_run(client, world["w"], world["plan"]["id"], body)
    problem = assert_problem(resp, 422)
    assert any(e["field"].startswith(field) or field == "body" for e in problem.get("errors", [])), problem
    assert firm_rows(firm.id) == before and audit_events_since(mark, firm.id) == []


def test_runs_are_the_firms_own(client: Any, firm: Firm, firm_b: Firm, world: dict[str, Any]) -> None:
    plan_id = world["plan"]["id"]
    mine = expect_status(_post_run(client, world["w"], plan_id), 202)
    other = firm_b.auth("admin")
    assert_problem(_post_run(client, other, plan_id), 404, detail="No such plan")
    assert_problem(send(client, "GET", f"/v1/plans/{plan_id}/runs/{mine['id']}", headers=other), 404)
    assert_problem(send(client, "GET", f"/v1/plans/{plan_id}/runs", headers=other), 404)
    assert_problem(send(client, "GET", f"/v1/plans/{plan_id}/runs/{mine['id']}/fan-chart.svg", headers=other), 404)
    viewer = firm.auth("viewer")
    assert_problem(_post_run(client, viewer, plan_id), 403)
    expect_status(send(client, "GET", f"/v1/plans/{plan_id}/runs/{mine['id']}", headers=viewer), 200)


def test_the_database_lets_only_the_worker_move_a_run_and_never_changes_a_finished_one(
        client: Any, firm: Firm, world: dict[str, Any]) -> None:
    from chalicelib.core import db

    queued = expect_status(_post_run(client, world["w"], world["plan"]["id"], {"stresses": []}), 202)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the owner role outside the system context
        owner_sql("UPDATE plan_runs SET status = 'running', started_at = now() WHERE id = %s", (queued["id"],))
    with pytest.raises(psycopg.errors.RestrictViolation):
        owner_sql("DELETE FROM plan_runs WHERE id = %s", (queued["id"],))
    from chalicelib.planning.runs import service

    done = service.execute(uuid.UUID(queued["id"]), firm.id)
    with db.owner_connection(autocommit=False) as conn, pytest.raises(psycopg.errors.RestrictViolation):
        conn.execute("SELECT auth_enter_system(%s)", (firm.id,))
        conn.execute("UPDATE plan_runs SET probability_of_success = 1 WHERE id = %s", (done["id"],))


def test_a_run_left_running_by_a_dead_worker_is_taken_over_once_stale(
        client: Any, firm: Firm, world: dict[str, Any]) -> None:
    from chalicelib.core import db
    from chalicelib.planning.runs import service

    queued = expect_status(_post_run(client, world["w"], world["plan"]["id"], {"stresses": []}), 202)
    with db.owner_connection(autocommit=False) as conn:  # a worker claimed it an hour ago and died
        conn.execute("SELECT auth_enter_system(%s)", (firm.id,))
        conn.execute("UPDATE plan_runs SET status = 'running', attempts = 1, started_at = now() - interval '1 hour' "
                     "WHERE id = %s", (queued["id"],))
        conn.commit()
    done = service.execute(uuid.UUID(queued["id"]), firm.id)
    assert done["status"] == "succeeded" and done["attempts"] == 2


def test_the_queue_worker_runs_each_message_once(client: Any, firm: Firm, world: dict[str, Any],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Under moto: POST sends one message naming the run; the SQS handler runs it; a redelivery finds it done;
    a message for a run that does not exist (yet) raises so the queue redelivers it; a malformed one is dropped."""
    from moto import mock_aws

    from chalicelib.planning.runs import dispatch
    from chalicelib.planning.runs.worker import handle_sqs_event

    class Record:
        def __init__(self, body: str) -> None:
            self.body = body

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    with mock_aws():
        import boto3

        sqs = boto3.client("sqs", region_name="eu-west-2")
        url = sqs.create_queue(QueueName="wealthdesk-plan-runs")["QueueUrl"]
        monkeypatch.setenv(dispatch.QUEUE_ENV, url)
        dispatch.reset_client()
        try:
            made = expect_status(_post_run(client, world["w"], world["plan"]["id"], {"stresses": []}), 202)
            got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, MaxNumberOfMessages=10)["Messages"]
        finally:
            dispatch.reset_client()
    assert [json.loads(m["Body"]) for m in got] == [{"run_id": made["id"], "firm_id": str(firm.id)}]
    assert handle_sqs_event([Record(got[0]["Body"])]) == ["succeeded"]
    assert handle_sqs_event([Record(got[0]["Body"])]) == ["already taken"]
    with pytest.raises(LookupError):
        handle_sqs_event([Record(dispatch.message(uuid.uuid4(), firm.id))])
    assert handle_sqs_event([Record("not json")]) == []


def test_a_queue_that_cannot_be_reached_queues_nothing(client: Any, firm: Firm, world: dict[str, Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.planning.runs import dispatch

    class Broken:
        def send_message(self, **kwargs: Any) -> None:
            raise ConnectionError("no route to the queue")

    monkeypatch.setenv(dispatch.QUEUE_ENV, "https://sqs.eu-west-2.amazonaws.com/123456789012/nowhere")
    monkeypatch.setattr(dispatch, "_client", Broken())
    before = firm_rows(firm.id)
    assert_problem(_post_run(client, world["w"], world["plan"]["id"]), 503)
    assert firm_rows(firm.id) == before


def test_the_command_line_runs_a_plan(firm: Firm, world: dict[str, Any]) -> None:
    from click.testing import CliRunner

    from chalicelib.cli import main

    result = CliRunner().invoke(main, ["plan", "run", world["plan"]["id"], "--stresses", "[]"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["status"] == "succeeded" and summary["plan_id"] == world["plan"]["id"]
    row = owner_sql("SELECT created_by_type, status FROM plan_runs WHERE id = %s", (summary["id"],))[0]
    assert row == {"created_by_type": "system", "status": "succeeded"}
    missing = CliRunner().invoke(main, ["plan", "run", str(uuid.uuid4())])
    assert missing.exit_code != 0 and "neither a plan nor a plan run" in missing.output


def test_an_objective_linked_to_a_plan_is_on_track_by_the_firms_threshold(
        client: Any, firm: Firm, world: dict[str, Any]) -> None:
    w, admin = world["w"], world["admin"]
    house = world["house"]
    plan = create_plan(client, w, house, world["cma"]["id"], world["model"]["id"], **SMALL,
                       target_income={"kind": "amount", "annual": "3000.00"},
                       contributions=[{"amount": "800.00", "start_date": "2025-02-01"}], as_of="2025-01-01")
    made = expect_status(send(client, "POST", f"/v1/client-groups/{house.group_id}/objectives", headers=w,
                              body={"title": "Retire at 67", "plan_id": plan["id"]}), 201)
    assert made["plan_id"] == plan["id"] and made["on_track"] is None and made["plan_success"] is None
    run = _run(client, w, plan["id"], firm, {"stresses": []})
    p = Decimal(run["probability_of_success"])
    got = expect_status(send(client, "GET", f"/v1/objectives/{made['id']}", headers=w), 200)
    assert Decimal(got["plan_success"]["probability_of_success"]) == p
    assert got["plan_success"]["run_id"] == run["id"]
    firm_now = expect_status(send(client, "GET", "/v1/firm", headers=admin), 200)
    assert Decimal(firm_now["plan_success_threshold"]) == Decimal("0.80")
    assert got["on_track"] is (p >= Decimal("0.80"))
    for threshold in ("0.50", "0.99"):
        firm_now = expect_status(send(client, "PATCH", "/v1/firm", headers={
            **admin, "If-Match": f'"{firm_now["version"]}"'}, body={"plan_success_threshold": threshold}), 200)
        got = expect_status(send(client, "GET", f"/v1/objectives/{made['id']}", headers=w), 200)
        assert got["on_track"] is (p >= Decimal(threshold))
    # A plan of another household is refused, and changes nothing.
    other_plan_house = create_planning_household(client, w)
    theirs = create_plan(client, w, other_plan_house, world["cma"]["id"], world["model"]["id"], **SMALL)
    before = firm_rows(firm.id)
    patch = {**w, "If-Match": f'"{got["version"]}"'}
    assert_problem(send(client, "PATCH", f"/v1/objectives/{made['id']}", headers=patch,
                        body={"plan_id": theirs["id"]}), 422, "plan_id")
    assert firm_rows(firm.id) == before


def test_the_local_worker_runs_queued_runs_until_stopped(client: Any, firm: Firm, world: dict[str, Any]) -> None:
    """What `wealthdesk serve` starts: a thread polling for waiting runs (here only this firm's, so that it takes
    no run another test is about to run). A run whose stored request this version cannot read (written by hand,
    here) fails with the reason instead of holding up the queue, and the run queued after it is run."""
    import threading
    import time

    from chalicelib.planning.runs.worker import poll_forever

    unreadable = owner_sql("INSERT INTO plan_runs (firm_id, plan_id, request, created_by_type, created_at) "
                           "VALUES (%s, %s, '{}', 'system', now() - interval '1 minute') RETURNING id",
                           (firm.id, world["plan"]["id"]))[0]["id"]
    queued = expect_status(_post_run(client, world["w"], world["plan"]["id"], {"stresses": []}), 202)
    stop = threading.Event()
    thread = threading.Thread(target=poll_forever, args=(stop, firm.id), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        status = "queued"
        while time.monotonic() < deadline and status in ("queued", "running"):
            time.sleep(0.2)
            status = owner_sql("SELECT status FROM plan_runs WHERE id = %s", (queued["id"],))[0]["status"]
    finally:
        stop.set()
        thread.join(timeout=60)
    assert status == "succeeded" and not thread.is_alive()
    failed = owner_sql("SELECT status, error FROM plan_runs WHERE id = %s", (unreadable,))[0]
    assert failed["status"] == "failed" and failed["error"]["field"] == "request"
    assert "KeyError" in failed["error"]["message"]
