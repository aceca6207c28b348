"""Simulation runs of a plan version: queued by a request, run outside it, stored for good.

`create_run` (a request) checks and resolves what the run asks for (stresses, what-ifs: a what-if's portfolio model
is looked up now and its weights kept in the request, so the run never depends on a model edited later), stores the
run queued, audits it, and hands it to the dispatcher (an SQS message in AWS; the local worker polls the table).
`execute` (the worker, the command line) claims the run in the system context of its firm, builds the engine's
inputs from the plan's stored inputs, the approved CMA set and the request (`engine_inputs`), simulates outside any
transaction, and records the outputs (the engine's byte-stable JSON, with its algorithm version and hash) or why it
failed, audited. Claiming is atomic (one UPDATE): two workers never run one run; a worker that died mid-run leaves
it running, and after STALE_AFTER_SECONDS the next poll or redelivery takes it over (attempts counts the tries).

The mapping from a plan to the engine (docs/domain.md, "Financial plans: runs"): the start is as_of; starting
wealth the sum of the starting values' figures; a regular flow pays its amount a year (a monthly amount x 12) from
its start to the day after its end (the engine's end is exclusive), withdrawals negative; a lump sum signed by its
direction; the income need is the target's annual figure, from the first person's retirement (date of birth +
retirement age, the earliest of the household); the glide path's step for plan year k is the one with the largest
from_year <= k, as weights in the CMA set's class order.
"""
from __future__ import annotations

import hashlib
import logging
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.planning.assumptions import service as assumptions
from chalicelib.planning.plans import service as plans
from chalicelib.planning.runs import store
from chalicelib.planning.runs.models import RUNS, STANDARD_STRESSES

STALE_AFTER_SECONDS = 20 * 60  # longer than one run may take in a Lambda (15 minutes)
log = logging.getLogger("wdk.plan_runs")


def _no_run() -> errors.NotFound:
    return errors.NotFound("No such plan run")


def _invalid(field: str, message: str) -> errors.Unprocessable:
    return errors.Unprocessable(message, errors=[{"field": field, "message": message}])


def _creator(ctx: RequestContext) -> tuple[str, UUID | None]:
    principal = ctx.principal
    if principal is None:
        raise RuntimeError("a run needs a principal")
    return principal.kind, principal.id


# --- requests ---

def _resolve_request(tx: db.Tx, plan: dict[str, Any], body: Any) -> dict[str, Any]:
    """The run's request as stored: the stresses (the standard three when none were named) and each what-if's
    changes, a portfolio model replaced by its weights now."""
    stresses = ([dict(s) for s in STANDARD_STRESSES] if body.stresses is None
                else [s.model_dump(mode="json", exclude_none=True) for s in body.stresses])
    for i, s in enumerate(stresses):
        s.setdefault("name", _stress_name(s))
        if s["kind"] == "early_retirement" and s.get("years") is None:
            s["years"] = 5
        stresses[i] = s
    what_ifs = []
    classes = None
    for i, w in enumerate(body.what_ifs):
        changes = w.changes.model_dump(mode="json", exclude_unset=True)
        model_id = changes.pop("portfolio_model_id", None)
        if model_id is not None:
            if classes is None:
                classes = [c["code"] for c in assumptions.approved_set(
                    tx, plan["cma_set_id"], "inputs.cma_set_id")["asset_classes"]]
            model = assumptions.models_in(tx, [UUID(model_id)]).get(UUID(model_id))
            field = f"what_ifs.{i}.changes.portfolio_model_id"
            if model is None:
                raise _invalid(field, "no such portfolio model")
            weights = {a["asset_class"]: a["weight"] for a in model["allocations"]}
            outside = sorted(set(weights) - set(classes))
            if outside:
                raise _invalid(field, f"the model holds asset classes the plan's CMA set lacks: {', '.join(outside)}")
            changes["portfolio_model"] = {"id": model_id, "name": model["name"], "version": model["version"],
                                          "allocations": [{"asset_class": c, "weight": f"{weights.get(c, 0):.2f}"}
                                                          for c in classes]}
        what_ifs.append({"name": w.name, "changes": changes})
    return {"stresses": stresses, "what_ifs": what_ifs}


def _stress_name(s: dict[str, Any]) -> str:
    if s["kind"] == "market_fall":
        return f"Market fall of {Decimal(s['size']) * 100:g}% in year 1"
    if s["kind"] == "high_inflation":
        return f"Inflation of {Decimal(s['rate']) * 100:g}% for {s['years']} years"
    return f"Retirement {s.get('years') or 5} years early"


def create_run(ctx: RequestContext, plan_id: UUID, body: Any) -> dict[str, Any]:
    """A queued run of the plan version, audited (`plan_run.create`), handed to the worker (dispatch)."""
    from chalicelib.planning.runs import dispatch

    with db.transaction(ctx) as tx:
        plan = plans.plan_in(tx, plan_id)
        if plan is None:
            raise errors.NotFound("No such plan")
        request = _resolve_request(tx, plan, body)
        # Build the engine's inputs now: what cannot be simulated is refused here (422), not found by the worker.
        inputs = engine_inputs(tx, plan, request)
        from chalicelib.planning import engine

        try:
            engine.validate(inputs)
        except engine.InputError as exc:
            raise _invalid(exc.field, exc.message) from None
        kind, who = _creator(ctx)
        row = store.insert_run(tx, {"plan_id": plan_id, "request": request, "created_by_type": kind,
                                    "created_by": who})
        audit.record(tx, "plan_run.create", "plan_run", row["id"], None,
                     {"id": row["id"], "plan_id": plan_id, "request": request})
        dispatch.submit(row["id"], ctx.firm_id)  # before the commit: a failed send queues nothing
    return row


def shown(row: dict[str, Any]) -> dict[str, Any]:
    """A run as the API shows it: the outputs' stored text as the JSON object it is."""
    import json

    return {**row, "outputs": json.loads(row["outputs"]) if row.get("outputs") else None}


def get_run(ctx: RequestContext, plan_id: UUID, run_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_run(tx, plan_id, run_id)
    if row is None:
        raise _no_run()
    return shown(row)


def list_runs(ctx: RequestContext, plan_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(RUNS, query, ctx)
    with db.transaction(ctx) as tx:
        if plans.plan_in(tx, plan_id) is None:
            raise errors.NotFound("No such plan")
        found = store.list_runs(tx, plan_id, keyset, status=query.status)
    return keyset.page(found)


def finished_outputs(ctx: RequestContext, plan_id: UUID, run_id: UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    """A succeeded run and its plan (409 while the run is not finished, or when it failed)."""
    with db.transaction(ctx) as tx:
        row = store.get_run(tx, plan_id, run_id)
        plan = plans.plan_in(tx, plan_id) if row is not None else None
    if row is None or plan is None:
        raise _no_run()
    if row["status"] != "succeeded":
        raise errors.Conflict(f"The run is {row['status']}: a chart needs a succeeded run")
    return row, plan


def chart_target(plan: dict[str, Any]) -> Decimal | None:
    """The wealth marked on a fan chart (real, today's money): what the income need takes from the first
    retirement to the horizon's end with no real growth, need x years (None without a need or retirement in the
    horizon)."""
    x = plan["inputs"]
    target = x.get("target_income")
    if not target or Decimal(target["annual"]) <= 0:
        return None
    retirement = _retirement(x)
    end = date.fromisoformat(x["horizon_end"])
    if retirement >= end:
        return None
    years = Decimal((end - retirement).days) / Decimal("365.25")
    return (Decimal(target["annual"]) * years).quantize(Decimal("1"))


def fan_chart(ctx: RequestContext, plan_id: UUID, run_id: UUID, query: Any, fmt: str,
              before_drawing: Any = None) -> bytes:
    """The succeeded run's fan chart (charts.py), the target marked on the real basis. `before_drawing` runs once
    the run is found and its scenario checked (a check of the request that must not hide a 404)."""
    from chalicelib.planning import charts
    from chalicelib.planning.engine import SimulationOutputs

    row, plan = finished_outputs(ctx, plan_id, run_id)
    outputs = SimulationOutputs.from_json(row["outputs"])
    names = [s.name for s in (outputs.base, *outputs.stresses, *outputs.what_ifs)]
    if query.scenario is not None and query.scenario not in names:
        raise _invalid("scenario", f"no scenario of this run is named {query.scenario!r}; its scenarios: "
                                   f"{', '.join(names)}")
    if before_drawing is not None:
        before_drawing()
    target = chart_target(plan) if query.basis == "real" else None
    currency = {"GBP": "£", "USD": "$", "EUR": "€"}.get(plan["inputs"].get("currency", ""), "")
    draw = charts.fan_chart_svg if fmt == "svg" else charts.fan_chart_png
    return draw(outputs, target, basis=query.basis, scenario=query.scenario, currency=currency)


def success_of(tx: db.Tx, root_plan_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """For objectives: each plan's latest version's latest succeeded run (probability of success) and the firm's
    threshold, by the plan's root id."""
    return store.latest_success(tx, root_plan_ids) if root_plan_ids else {}


# --- from a plan to the engine ---

def _add_years(day: date, years: int) -> date:
    return plans.add_years(day, years)


def _retirement(inputs: dict[str, Any], change: int = 0) -> date:
    """The household's first retirement: the earliest date of birth + retirement age (+ change) among its people,
    not before as_of."""
    as_of = date.fromisoformat(inputs["as_of"])
    first = min(_add_years(date.fromisoformat(p["date_of_birth"]), p["retirement_age"] + change)
                for p in inputs["people"])
    return max(first, as_of)


def _flow(f: dict[str, Any], sign: int, name: str) -> dict[str, Any]:
    yearly = Decimal(f["amount"]) * (12 if f.get("frequency", "monthly") == "monthly" else 1)
    growth = f.get("growth") or {"kind": "inflation"}
    end = f.get("end_date")
    return {"amount": str(sign * yearly), "start": f["start_date"],
            "end": (date.fromisoformat(end) + timedelta(days=1)).isoformat() if end else None,
            "growth": growth["kind"], "growth_rate": str(growth.get("rate", "0")),
            "ends_at_retirement": False, "name": f.get("name") or name}


def _weights(allocations: list[dict[str, Any]], classes: list[str]) -> list[str]:
    by_class = {a["asset_class"]: Decimal(a["weight"]) for a in allocations}
    return [str(by_class.get(c, Decimal("0.00"))) for c in classes]


def _glide(inputs: dict[str, Any], classes: list[str]) -> list[list[str]]:
    models = {m["id"]: m for m in inputs["portfolio_models"]}
    steps = sorted(inputs["glide_path"], key=lambda s: s["from_year"])
    out = []
    for year in range(steps[-1]["from_year"] + 1):
        step = [s for s in steps if s["from_year"] <= year][-1]
        out.append(_weights(models[step["portfolio_model_id"]]["allocations"], classes))
    return out


def engine_inputs(tx: db.Tx, plan: dict[str, Any], request: dict[str, Any]) -> Any:
    """The engine's SimulationInputs for this plan version and run request (the mapping in the module docstring)."""
    from chalicelib.planning import engine

    x = plan["inputs"]
    cma = assumptions.approved_set(tx, plan["cma_set_id"], "inputs.cma_set_id")
    classes = [c["code"] for c in cma["asset_classes"]]
    target = x.get("target_income")
    retirement = _retirement(x)
    flows = ([_flow(f, 1, f"contribution {i + 1}") for i, f in enumerate(x.get("contributions") or [])]
             + [_flow(f, -1, f"withdrawal {i + 1}") for i, f in enumerate(x.get("withdrawals") or [])])
    lumps = [{"on": s["date"], "amount": str(Decimal(s["amount"]) * (1 if s["direction"] == "in" else -1)),
              "name": s.get("name") or f"lump sum {i + 1}"} for i, s in enumerate(x.get("lump_sums") or [])]
    starting = sum((Decimal(v["value"]) for v in x.get("starting_values") or []), Decimal("0.00"))
    return_model = x.get("return_model") or {"kind": "lognormal"}
    doc = {
        "start_date": x["as_of"], "horizon_years": x["horizon_years"], "steps": x.get("steps", "monthly"),
        "iterations": x["iterations"], "seed": x["random_seed"], "return_model": return_model["kind"],
        "degrees_of_freedom": return_model.get("degrees_of_freedom"),
        "asset_classes": [{"name": c["code"], "expected_return": str(c["expected_return"]),
                           "volatility": str(c["volatility"])} for c in cma["asset_classes"]],
        "correlation": [[str(v) for v in row] for row in cma["correlations"]],
        "inflation": str(cma["inflation"]), "glide_path": _glide(x, classes), "starting_wealth": str(starting),
        "flows": flows, "lump_sums": lumps,
        "income_need": target["annual"] if target and Decimal(target["annual"]) > 0 else None,
        "retirement_date": retirement.isoformat(), "confidence": str(x.get("confidence_level", "0.85")),
        "stresses": [{k: s[k] for k in ("kind", "name", "size", "rate", "years") if k in s}
                     for s in request["stresses"]],
        "what_ifs": [{"name": w["name"], "changes": _what_if_changes(x, w["changes"], flows, starting, classes)}
                     for w in request["what_ifs"]],
    }
    try:
        return engine.inputs_from_json(doc)
    except engine.InputError as exc:
        raise _invalid(exc.field, exc.message) from None


def _what_if_changes(x: dict[str, Any], changes: dict[str, Any], flows: list[dict[str, Any]], starting: Decimal,
                     classes: list[str]) -> dict[str, Any]:
    """A what-if in the plan's terms as engine inputs to replace."""
    out: dict[str, Any] = {}
    retirement = _retirement(x, changes.get("retirement_age_change") or 0)
    if "retirement_age_change" in changes:
        out["retirement_date"] = retirement.isoformat()
    if "target_income_annual" in changes:
        need = Decimal(changes["target_income_annual"])
        out["income_need"] = str(need) if need > 0 else None
    if "extra_monthly_contribution" in changes:
        out["flows"] = [*flows, {"amount": str(Decimal(changes["extra_monthly_contribution"]) * 12),
                                 "start": x["as_of"], "end": None, "growth": "inflation", "growth_rate": "0",
                                 "ends_at_retirement": True, "name": "what-if: extra monthly contribution"}]
        out["retirement_date"] = retirement.isoformat()
    if "starting_value_change" in changes:
        out["starting_wealth"] = str(max(Decimal("0.00"), starting + Decimal(changes["starting_value_change"])))
    if "portfolio_model" in changes:
        out["glide_path"] = [_weights(changes["portfolio_model"]["allocations"], classes)]
    return out


# --- the worker ---

def execute(run_id: UUID, firm_id: UUID, *, request_id: str | None = None) -> dict[str, Any] | None:
    """Claim and run one run (the worker, the command line). Returns the finished run, or None when there was
    nothing to do (another worker has it, or it is finished); LookupError when the firm has no such run (a message
    that came before its transaction committed: the queue redelivers it). A run whose inputs the engine refuses,
    or whose simulation raises, is recorded as failed with the reason (and logged); a database failure propagates
    (the queue redelivers the message)."""
    from chalicelib.planning import engine

    ctx = RequestContext.system(firm_id, request_id)
    with db.transaction(ctx) as tx:
        run = store.claim(tx, run_id, STALE_AFTER_SECONDS)
        if run is None and store.run_by_id(tx, run_id) is None:
            raise LookupError(f"no plan run {run_id} in firm {firm_id} (not committed yet, or never)")
        plan = plans.plan_in(tx, run["plan_id"]) if run is not None else None
        inputs = None
        failure: dict[str, Any] | None = None
        if run is not None and plan is not None:
            try:
                inputs = engine_inputs(tx, plan, run["request"])
            except errors.ApiError as exc:
                failure = {"field": exc.errors[0]["field"] if exc.errors else "inputs", "message": exc.detail}
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                # a request or plan not in the shape this version writes (made by hand, or by an older version):
                # the run fails with the reason instead of blocking the queue
                log.warning("plan run %s: its stored request or plan cannot be read (%r)", run_id, exc)
                failure = {"field": "request", "message": "the run's stored request or plan cannot be read by "
                                                          f"this version ({type(exc).__name__}: {exc})"}
    if run is None or plan is None:
        return None
    started = time.perf_counter()
    values: dict[str, Any] = {"engine_inputs": None, "algorithm_version": None, "outputs": None,
                              "outputs_sha256": None, "probability_of_success": None, "error": failure}
    if inputs is not None:
        values["engine_inputs"] = engine.inputs_to_json(inputs)
        try:
            outputs = engine.simulate(inputs)
        except engine.InputError as exc:
            values["error"] = {"field": exc.field, "message": exc.message}
        except (ArithmeticError, ValueError, MemoryError) as exc:
            log.exception("plan run %s failed", run_id)
            values["error"] = {"message": f"the simulation failed ({type(exc).__name__}); see the worker's log"}
        else:
            data = outputs.to_json()
            values.update(algorithm_version=outputs.algorithm_version, outputs=data.decode("ascii"),
                          outputs_sha256=hashlib.sha256(data).hexdigest(),
                          probability_of_success=outputs.base.probability_of_success)
    values["status"] = "failed" if values["error"] else "succeeded"
    values["duration_ms"] = int((time.perf_counter() - started) * 1000)
    with db.transaction(ctx) as tx:
        done = store.finish(tx, run_id, run["attempts"], values)
        if done is not None:
            audit.record(tx, f"plan_run.{values['status']}", "plan_run", run_id, _audited(run),
                         _audited(done))
    return done


def _audited(run: dict[str, Any]) -> dict[str, Any]:
    """What the audit trail keeps of a run (the outputs by their hash, not whole)."""
    return {k: run[k] for k in ("id", "plan_id", "status", "attempts", "probability_of_success", "algorithm_version",
                                "outputs_sha256", "error", "duration_ms")}


def run_now(plan_or_run_id: UUID, *, request: dict[str, Any] | None = None) -> dict[str, Any]:
    """The command line's `wealthdesk plan run ID`: ID a queued (or stale) run, which is run; or a plan version,
    of which a new run (the standard stresses unless `request` says otherwise) is queued by the system and run
    here. Returns the finished run; LookupError when ID is neither."""
    from chalicelib.planning.runs.models import RunCreateIn

    with db.owner_connection() as conn:
        tx = db.Tx(conn, RequestContext())
        firm = store.firm_of_run(tx, plan_or_run_id)
        plan_firm = None if firm is not None else store.firm_of_plan(tx, plan_or_run_id)
    if firm is not None:
        done = execute(plan_or_run_id, firm)
        if done is None:
            ctx = RequestContext.system(firm)
            with db.transaction(ctx) as t:
                done = store.run_by_id(t, plan_or_run_id)
        return done
    if plan_firm is None:
        raise LookupError(f"{plan_or_run_id} is neither a plan nor a plan run")
    ctx = RequestContext.system(plan_firm)
    with db.transaction(ctx) as tx:
        plan = plans.plan_in(tx, plan_or_run_id)
        body = RunCreateIn.model_validate(request or {})
        resolved = _resolve_request(tx, plan, body)
        engine_inputs(tx, plan, resolved)
        row = store.insert_run(tx, {"plan_id": plan_or_run_id, "request": resolved, "created_by_type": "system",
                                    "created_by": None})
        audit.record(tx, "plan_run.create", "plan_run", row["id"], None,
                     {"id": row["id"], "plan_id": plan_or_run_id, "request": resolved})
    return execute(row["id"], plan_firm) or row


def run_waiting(limit: int = 10, firm_id: UUID | None = None) -> int:
    """Run up to `limit` waiting runs (queued, or stale), oldest first, of every firm or of `firm_id` only: the
    local worker's poll. Returns how many it finished."""
    with db.owner_connection() as conn:
        found = store.waiting(db.Tx(conn, RequestContext()), limit, STALE_AFTER_SECONDS, firm_id)
    done = 0
    for r in found:
        try:
            if execute(r["id"], r["firm_id"]) is not None:
                done += 1
        except Exception:  # one run's failure (a database error: it stays waiting) must not starve the others
            log.exception("plan run %s could not be run; the next poll tries it again", r["id"])
    return done
