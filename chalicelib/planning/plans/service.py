"""Rules for a household's financial plans. Each public function that takes a RequestContext is one audited
transaction.

A plan is a line of versions: version 1 is made with the household (`create_plan`), and every edit is a new version
(`new_version`: parent_plan_id the version it was made from, numbered one more than the plan's highest) whose
inputs are given whole. A version is never changed (the database refuses any UPDATE of it, migration 0030).

`resolve_inputs` checks the inputs against the household and the firm's data and fills in what the simulation needs
and a reviewer must see years later: each person's date of birth (their record's, when it holds one), the target
income a replacement ratio makes, each starting value with the figure used (the household's part of the product on
as_of, as net worth computes it: networth.service.networth_in, the one implementation), each portfolio model's
allocation as it stood, and the random seed (generated when none was sent). What is stored is what runs.
"""
from __future__ import annotations

import secrets
import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from chalicelib.clients import store as clients_store
from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.networth.service import networth_in
from chalicelib.planning.assumptions import service as assumptions
from chalicelib.planning.plans import store
from chalicelib.planning.plans.models import MAX_SEED, PLAN_VERSIONS, PLANS

PENNY = Decimal("0.01")
INPUTS = "inputs"


def _invalid(field: str, message: str) -> errors.Unprocessable:
    return errors.Unprocessable(message, errors=[{"field": f"{INPUTS}.{field}", "message": message}])


def _no_plan() -> errors.NotFound:
    return errors.NotFound("No such plan")


def age_on(born: date, day: date) -> int:
    """Whole years from `born` to `day` (a birthday on 29 February is reached on 1 March in other years)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def add_years(day: date, years: int) -> date:
    """The same day `years` later (28 February for 29 February in a year that has none)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _money(value: Decimal) -> str:
    return f"{value.quantize(PENNY, ROUND_HALF_UP):.2f}"


# --- the inputs ---

def _people(tx: db.Tx, group_id: UUID, people: list[Any], as_of: date) -> list[dict[str, Any]]:
    members = {m["id"]: m for m in clients_store.list_members(tx, group_id)}
    out = []
    for i, p in enumerate(people):
        member = members.get(p.product_owner_id)
        if member is None:
            raise _invalid(f"people.{i}.product_owner_id", "not a member of this household")
        held = member.get("date_of_birth")
        if held is not None and p.date_of_birth is not None and p.date_of_birth != held:
            raise _invalid(f"people.{i}.date_of_birth", f"the person's record says {held.isoformat()}; leave it out "
                                                        "or change the record")
        born = held or p.date_of_birth
        if born is None:
            raise _invalid(f"people.{i}.date_of_birth", "the person's record has no date of birth: give it here")
        if born > as_of:
            raise _invalid(f"people.{i}.date_of_birth", "is after as_of")
        age = age_on(born, as_of)
        if p.retirement_age < age:
            raise _invalid(f"people.{i}.retirement_age", f"{p.retirement_age} is below the person's age on "
                                                         f"{as_of.isoformat()} ({age})")
        if p.life_expectancy <= age:
            raise _invalid(f"people.{i}.life_expectancy", f"{p.life_expectancy} is not above the person's age on "
                                                          f"{as_of.isoformat()} ({age})")
        out.append({**p.model_dump(mode="json"), "date_of_birth": born.isoformat(),
                    "date_of_birth_from": "record" if held is not None else "inputs", "age_on_as_of": age})
    return out


def _dated(inputs: Any, as_of: date, end: date) -> None:
    for kind in ("contributions", "withdrawals"):
        for i, flow in enumerate(getattr(inputs, kind)):
            if not as_of <= flow.start_date <= end:
                raise _invalid(f"{kind}.{i}.start_date", f"must be from as_of ({as_of.isoformat()}) to the horizon's "
                                                         f"end ({end.isoformat()})")
    for i, lump in enumerate(inputs.lump_sums):
        if not as_of <= lump.date < end:
            raise _invalid(f"lump_sums.{i}.date", f"must be from as_of ({as_of.isoformat()}) to before the "
                                                  f"horizon's end ({end.isoformat()})")


def _target(target: Any, people: list[dict[str, Any]]) -> dict[str, Any] | None:
    if target is None:
        return None
    if target.kind == "amount":
        return target.model_dump(mode="json")
    incomes = [Decimal(p["current_income"]) for p in people if p.get("current_income") is not None]
    if not incomes:
        raise _invalid("target_income", "a replacement ratio needs the people's current_income")
    total = sum(incomes, Decimal(0))
    return {**target.model_dump(mode="json"), "current_income": _money(total),
            "annual": _money(total * target.ratio)}


def _starting_values(tx: db.Tx, group_id: UUID, values: list[Any], as_of: date) -> tuple[str, list[dict[str, Any]]]:
    """The firm's currency, and each product's figure: the household's part of it on as_of in that currency, as
    the household's net worth shows it (the same function)."""
    answer = networth_in(tx, group_id, as_of)
    rows = {(r["source"], str(r["id"])): (s, r) for s in answer["sections"] for r in s["rows"]}
    unconverted = {(u["source"], str(u["id"])): u for u in answer["unconverted"]}
    out = []
    for i, v in enumerate(values):
        key = (v.source, str(v.id))
        if key in unconverted:
            raise _invalid(f"starting_values.{i}.id", unconverted[key]["reason"])
        found = rows.get(key)
        if found is None:
            raise _invalid(f"starting_values.{i}.id", f"not a {v.source.replace('_', ' ')} of this household held on "
                                                      f"{as_of.isoformat()}")
        section, row = found
        if section["kind"] != "asset":
            raise _invalid(f"starting_values.{i}.id", "a liability is not investable wealth: model its repayments as "
                                                      "withdrawals")
        out.append({"source": v.source, "id": str(v.id), "name": row["name"], "product_currency": row["currency"],
                    "product_value": row["value"], "rate": row["rate"],
                    "valuation_date": row["valuation_date"].isoformat() if row["valuation_date"] else None,
                    "value": row["amounts"]["total"]})
    return answer["currency"], out


def _portfolio(tx: db.Tx, inputs: Any, cma: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The glide path (one step from year 0 for a single model) and each model as it stands now."""
    if inputs.glide_path is None:
        steps = [(0, inputs.portfolio_model_id, "portfolio_model_id")]
    else:
        steps = [(s.from_year, s.portfolio_model_id, f"glide_path.{i}.portfolio_model_id")
                 for i, s in enumerate(inputs.glide_path)]
    found = assumptions.models_in(tx, list({m for _, m, _ in steps}))
    codes = {c["code"] for c in cma["asset_classes"]}
    models: dict[UUID, dict[str, Any]] = {}
    for _, model_id, field in steps:
        model = found.get(model_id)
        if model is None:
            raise _invalid(field, "no such portfolio model")
        outside = sorted({a["asset_class"] for a in model["allocations"]} - codes)
        if outside:
            raise _invalid(field, f"the model holds asset classes the plan's CMA set lacks: {', '.join(outside)}")
        models[model_id] = {"id": str(model_id), "name": model["name"], "risk_level": model["risk_level"],
                            "cma_set_id": str(model["cma_set_id"]), "version": model["version"],
                            "allocations": [{"asset_class": a["asset_class"], "weight": f"{a['weight']:.2f}"}
                                            for a in model["allocations"]]}
    return ([{"from_year": y, "portfolio_model_id": str(m)} for y, m, _ in steps], list(models.values()))


def resolve_inputs(tx: db.Tx, group_id: UUID, inputs: Any, today: date) -> dict[str, Any]:
    """The inputs to store: checked against the household and the firm's data (422 naming the field), with what
    is derived filled in (module docstring)."""
    as_of = inputs.as_of or today
    if as_of > today:
        raise _invalid("as_of", f"must not be after today ({today.isoformat()})")
    cma = assumptions.approved_set(tx, inputs.cma_set_id, f"{INPUTS}.cma_set_id")
    people = _people(tx, group_id, inputs.people, as_of)
    end = add_years(as_of, inputs.horizon_years)
    _dated(inputs, as_of, end)
    target = _target(inputs.target_income, people)
    glide_path, models = _portfolio(tx, inputs, cma)
    currency, starting = _starting_values(tx, group_id, inputs.starting_values, as_of)
    document = inputs.model_dump(mode="json")
    document.update({
        "as_of": as_of.isoformat(), "horizon_end": end.isoformat(), "currency": currency, "people": people,
        "target_income": target, "starting_values": starting, "glide_path": glide_path, "portfolio_models": models,
        "cma_set": {"id": str(cma["id"]), "name": cma["name"], "set_version": cma["set_version"]},
        "random_seed": inputs.random_seed if inputs.random_seed is not None else secrets.randbelow(MAX_SEED + 1),
    })
    return document


# --- plans ---

def _creator(ctx: RequestContext) -> tuple[str, UUID | None]:
    principal = ctx.principal
    if principal is None:
        raise RuntimeError("a plan needs a principal")
    return principal.kind, principal.id


def _write(tx: db.Tx, ctx: RequestContext, group_id: UUID, body: Any, *, name: str, root: UUID | None,
           parent: UUID | None, version: int) -> dict[str, Any]:
    kind, who = _creator(ctx)
    clock = store.database_now(tx)
    inputs = resolve_inputs(tx, group_id, body.inputs, clock["today"])
    plan_id = uuid.uuid4()
    row = {"id": plan_id, "client_group_id": group_id, "root_plan_id": root or plan_id, "parent_plan_id": parent,
           "version": version, "name": name, "status": body.status, "as_of": date.fromisoformat(inputs["as_of"]),
           "cma_set_id": body.inputs.cma_set_id, "created_at": clock["now"], "created_by_type": kind,
           "created_by": who}
    store.insert_plan(tx, {**row, "inputs": inputs})
    return {**row, "inputs": inputs}


def create_plan(ctx: RequestContext, group_id: UUID, body: Any) -> dict[str, Any]:
    """Version 1 of a new plan of the household, audited (`plan.create`)."""
    with db.transaction(ctx) as tx:
        if clients_store.get_group(tx, group_id, for_update=True) is None:
            raise errors.NotFound("No such client group")
        row = _write(tx, ctx, group_id, body, name=body.name, root=None, parent=None, version=1)
        audit.record(tx, "plan.create", "plan", row["id"], None, row)
    return row


def new_version(ctx: RequestContext, plan_id: UUID, body: Any) -> dict[str, Any]:
    """A new version made from `plan_id` with these inputs (whole), numbered one more than the plan's highest;
    audited (`plan.new_version`). The household's lock orders concurrent versions of its plans, and the retention
    job takes it before removing an expired draft plan: the parent is read again once it is held (a plan removed
    meanwhile is a 404)."""
    with db.transaction(ctx) as tx:
        parent = store.get_plan(tx, plan_id)
        if parent is None:
            raise _no_plan()
        clients_store.get_group(tx, parent["client_group_id"], for_update=True)
        parent = store.get_plan(tx, plan_id)
        if parent is None:
            raise _no_plan()
        row = _write(tx, ctx, parent["client_group_id"], body, name=body.name or parent["name"],
                     root=parent["root_plan_id"], parent=plan_id, version=store.next_version(tx,
                                                                                           parent["root_plan_id"]))
        audit.record(tx, "plan.new_version", "plan", row["id"], None, row)
    return row


def get_plan(ctx: RequestContext, plan_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_plan(tx, plan_id)
    if row is None:
        raise _no_plan()
    return row


def plan_in(tx: db.Tx, plan_id: UUID) -> dict[str, Any] | None:
    """A plan version with its stored inputs, in the caller's transaction (None when the firm has none such)."""
    return store.get_plan(tx, plan_id)


def list_plans(ctx: RequestContext, group_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(PLANS, query, ctx)
    with db.transaction(ctx) as tx:
        if clients_store.get_group(tx, group_id) is None:
            raise errors.NotFound("No such client group")
        found = store.list_latest(tx, group_id, keyset, status=query.status)
    return keyset.page(found)


def list_versions(ctx: RequestContext, plan_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(PLAN_VERSIONS, query, ctx)
    with db.transaction(ctx) as tx:
        plan = store.get_plan(tx, plan_id)
        if plan is None:
            raise _no_plan()
        found = store.list_versions(tx, plan["root_plan_id"], keyset)
    return keyset.page(found)
