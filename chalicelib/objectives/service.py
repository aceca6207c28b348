"""Rules for objectives and money goals. Each public function is one audited transaction.

An objective is plain (its progress typed, 0-100) or a money goal (a target amount, currency, assumed annual return
and target date; its progress computed, never typed: a typed one is a 422, and the database's CHECK
objectives_money_goal_consistent refuses it too). A money goal counts linked managed products and unmanaged
assets of its own household and its contributions. What a linked product is worth now, and the household's part
of it, come from net worth (its store's positions on today and its engine's conversion and share: one
implementation); `figures` below turns them into the goal's figures (docs/domain.md, "Objectives").
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from uuid import UUID

from chalicelib.clients import store as clients_store
from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.core.versioning import patch_row
from chalicelib.objectives import store
from chalicelib.objectives.models import (
    CONTRIBUTIONS,
    DEFAULT_ANNUAL_RETURN,
    MONEY_FIELDS,
    NULLABLE_OBJECTIVE_FIELDS,
    OBJECTIVES,
    link_lists,
)

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def _no_objective() -> errors.NotFound:
    return errors.NotFound("No such objective")


def _pennies(value: Decimal) -> Decimal:
    return value.quantize(PENNY, ROUND_HALF_UP)


# --- the arithmetic of a money goal (pure) ---

def months_between(today: date, target: date) -> int:
    """Whole calendar months from this month to the target date's month (0: this month; negative: past)."""
    return (target.year - today.year) * 12 + (target.month - today.month)


def monthly_rate(annual: Decimal) -> Decimal:
    """The monthly rate equivalent to an annual one: (1 + r)^(1/12) - 1."""
    with localcontext() as ctx:
        ctx.prec = 40
        return (Decimal(1) + annual) ** (Decimal(1) / Decimal(12)) - Decimal(1)


def saving_plan(current: Decimal, target: Decimal, annual: Decimal, months: int) -> tuple[Decimal, bool]:
    """(monthly saving needed, on track) for a goal worth `current` now that must reach `target` in `months`
    calendar months at the annual return `annual`: the level end-of-month payment P with
    current x (1+i)^n + P x ((1+i)^n - 1) / i = target (i the monthly rate, n the months; P = shortfall / n when
    i is 0), rounded to the penny; 0 when current x (1+i)^n reaches the target already; the whole shortfall
    (target - current) when n is 0 or less. On track: current x (1+i)^n >= target."""
    with localcontext() as ctx:
        ctx.prec = 40
        if months <= 0:
            shortfall = target - current
            return (_pennies(shortfall) if shortfall > 0 else ZERO), current >= target
        i = monthly_rate(annual)
        growth = (Decimal(1) + i) ** months
        shortfall = target - current * growth
        if shortfall <= 0:
            return ZERO, True
        payment = shortfall / months if i == 0 else shortfall * i / (growth - Decimal(1))
        return _pennies(payment), False


def progress_of(current: Decimal, target: Decimal) -> Decimal:
    """min(100, current / target x 100), to 2 decimals (half away from zero)."""
    with localcontext() as ctx:
        ctx.prec = 40
        return min(HUNDRED, _pennies(current / target * HUNDRED)).quantize(PENNY)


# --- what the linked products are worth ---

def _positions_now(tx: db.Tx, group_id: UUID) -> dict[tuple[str, str], Any]:
    """The household's positions today, as net worth reads them (only holdings that count today are there:
    active, started, not ended), by (source, id)."""
    from chalicelib.networth import service as networth_service
    from chalicelib.networth import store as networth_store

    found = networth_store.live_positions(tx, group_id, None)
    if found is None:
        return {}
    return {(p.source, p.id): p for p in networth_service.positions_of(found)}


def _not_counted_reason(link: dict[str, Any]) -> str:
    if link["status"] not in ("active",):
        return f"{link['status']}: counts as 0"
    if link["source"] == "managed_product":
        if link["start_date"] is not None and link["start_date"] > link["today"]:
            return "not started yet: counts as 0"
        if link["end_date"] is not None and link["end_date"] < link["today"]:
            return "ended: counts as 0"
    return "not held today: counts as 0"


def _value_in_goal_currency(position: Any, goal_currency: str, base: str,
                            rates: dict[str, Any]) -> Decimal | None:
    """The position's whole value in the goal's currency, to the penny; None without the rates it needs. In the
    goal's own currency it is not converted; otherwise it goes to the firm's currency by net worth's rule
    (value x its rate, to the penny) and from there, when the goal is in another currency, / the goal currency's
    rate on today, to the penny."""
    from chalicelib.networth import engine

    if position.currency == goal_currency:
        return position.value
    in_base = engine.converted(position)
    if in_base is None:
        return None
    if goal_currency == base:
        return in_base
    rate = rates.get(goal_currency)
    if rate is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        return _pennies(in_base / Decimal(rate))


def _with_figures(tx: db.Tx, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each objective as the API shows it, its on_track from its plan when it links one (_with_plans)."""
    return _with_plans(tx, _with_money(tx, found))


def _with_plans(tx: db.Tx, shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An objective linked to a plan is on track when the plan's latest successful run (of its latest version that
    has one) gives a probability of success at or above the firm's threshold; null until it has such a run."""
    from chalicelib.planning.runs.service import success_of

    roots = sorted({r["plan_root_id"] for r in shown if r.get("plan_root_id")})
    found = success_of(tx, roots)
    out = []
    for r in shown:
        if r.get("plan_root_id") is None:
            out.append({**r, "plan_success": None})
            continue
        hit = found.get(r["plan_root_id"])
        success = None if hit is None else {
            "plan_id": hit["plan_id"], "run_id": hit["run_id"], "probability_of_success": hit["probability_of_success"],
            "threshold": hit["plan_success_threshold"], "finished_at": hit["finished_at"]}
        on_track = None if hit is None else hit["probability_of_success"] >= hit["plan_success_threshold"]
        out.append({**r, "plan_success": success, "on_track": on_track})
    return out


def _with_money(tx: db.Tx, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each objective with a money goal's linked holdings and computed figures."""
    from chalicelib.networth import engine

    goals = [r for r in found if r["is_money_goal"]]
    if not goals:
        return [_plain(r) for r in found]
    ids = [r["id"] for r in goals]
    links = store.linked_holdings(tx, ids)
    totals = store.contributions_totals(tx, ids)
    today, base, rates = store.rates_today(tx, sorted({r["currency"] for r in goals}))
    positions: dict[UUID, dict[tuple[str, str], Any]] = {}
    for group_id in {r["client_group_id"] for r in goals if r["product_ids"] or r["unmanaged_product_ids"]}:
        positions[group_id] = _positions_now(tx, group_id)
    out = []
    for r in found:
        if not r["is_money_goal"]:
            out.append(_plain(r))
            continue
        held = positions.get(r["client_group_id"], {})
        linked = []
        for link in (x for x in links if x["objective_id"] == r["id"]):
            position = held.get((link["source"], str(link["id"])))
            value, reason = ZERO, None
            if position is None:
                reason = _not_counted_reason(link)
            else:
                whole = _value_in_goal_currency(position, r["currency"], base, rates)
                if whole is None:
                    reason = f"no exchange rate from {position.currency} to {r['currency']} on or before {today}"
                else:
                    value = engine.split(whole, position.ownership, {})[engine.TOTAL]
            linked.append({"source": link["source"], "id": link["id"], "name": link["name"],
                           "status": link["status"], "currency": link["currency"], "counted": reason is None,
                           "reason": reason, "value": value})
        contributed = Decimal(totals.get(r["id"], ZERO))
        current = sum((x["value"] for x in linked), ZERO) + contributed
        target = Decimal(r["target_amount"])
        saving, on_track = saving_plan(current, target, Decimal(r["assumed_annual_return"]),
                                       months_between(today, r["target_date"]))
        out.append({**r, "money_goal": True, "progress_percentage": progress_of(current, target),
                    "current_value": current, "contributions_total": contributed,
                    "monthly_saving_needed": saving, "on_track": on_track, "linked": linked})
    return out


def _plain(r: dict[str, Any]) -> dict[str, Any]:
    return {**r, "money_goal": r["is_money_goal"], "current_value": None, "contributions_total": None,
            "monthly_saving_needed": None, "on_track": None, "linked": []}


def _one(tx: db.Tx, row: dict[str, Any]) -> dict[str, Any]:
    return _with_figures(tx, [row])[0]


# --- objectives ---

def _check_links(tx: db.Tx, group_id: UUID, values: dict[str, Any]) -> None:
    """422 naming product_ids / unmanaged_product_ids for an id that is not an asset of the household (another
    household's, another firm's, none at all, or a liability)."""
    bad = store.strangers(tx, group_id, values.get("product_ids") or [], values.get("unmanaged_product_ids") or [])
    if bad:
        raise errors.Unprocessable("Some linked products are not the household's assets", errors=[
            {"field": field, "message": f"{pid}: {why}"} for field, found in sorted(bad.items())
            for pid, why in found])


def _check_plan(tx: db.Tx, group_id: UUID, plan_id: UUID | None) -> None:
    """422 naming plan_id for a plan that is not the household's."""
    from chalicelib.planning.plans.service import plan_in

    if plan_id is None:
        return
    plan = plan_in(tx, plan_id)
    if plan is None or plan["client_group_id"] != group_id:
        raise _invalid("plan_id", "not a plan of this household")


def _group_or_404(tx: db.Tx, group_id: UUID) -> None:
    if clients_store.get_group(tx, group_id) is None:
        raise errors.NotFound("No such client group")


def list_objectives(ctx: RequestContext, group_id: UUID, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(OBJECTIVES, query, ctx)
    with db.transaction(ctx) as tx:
        _group_or_404(tx, group_id)
        found = store.list_objectives(tx, group_id, keyset, status=query.status, priority=query.priority,
                                      due_before=query.due_before)
        page, cursor = keyset.page(found)
        return _with_figures(tx, page), cursor


def create_objective(ctx: RequestContext, group_id: UUID, body: Any) -> dict[str, Any]:
    """A plain objective starts at its typed progress (0 when none); a money goal takes the firm's base currency
    and DEFAULT_ANNUAL_RETURN when they are not given."""
    values = link_lists(body.model_dump())
    if values["target_amount"] is None:
        values["progress_percentage"] = values["progress_percentage"] or ZERO
        for field in MONEY_FIELDS:
            values.pop(field)
    elif values["assumed_annual_return"] is None:
        values["assumed_annual_return"] = DEFAULT_ANNUAL_RETURN
    with db.transaction(ctx) as tx:
        _group_or_404(tx, group_id)
        _check_links(tx, group_id, values)
        _check_plan(tx, group_id, values.get("plan_id"))
        row = store.insert_objective(tx, {"client_group_id": group_id, **values})
        audit.record(tx, "objective.create", "objective", row["id"], None, row)
        return _one(tx, row)


def get_objective(ctx: RequestContext, objective_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_objective(tx, objective_id)
        if row is None:
            raise _no_objective()
        return _one(tx, row)


def _invalid(field: str, message: str) -> errors.Unprocessable:
    return errors.Unprocessable(f"{field}: {message}", errors=[{"field": field, "message": message}])


def update_objective(ctx: RequestContext, objective_id: UUID, body: Any, if_match: int) -> dict[str, Any]:
    """A money goal's progress is never typed (422). Setting target_amount makes a plain objective a money goal
    (its typed progress goes; the base currency and the default return unless given); clearing it makes a money
    goal plain again (progress 0 unless given), refused (409) while it has links or contributions."""

    def check(before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        after = {**before, **changes}
        _check_plan(tx, before["client_group_id"], changes.get("plan_id"))
        money = after["target_amount"] is not None
        if money:
            if changes.get("progress_percentage") is not None:
                raise _invalid("progress_percentage", "a money goal's progress is computed from its target, not typed")
            if after["target_date"] is None:
                raise _invalid("target_date", "a money goal needs a target date")
            if not before["is_money_goal"]:
                changes = {"progress_percentage": None, "currency": after["currency"] or store.base_currency(tx),
                           "assumed_annual_return": after["assumed_annual_return"] or DEFAULT_ANNUAL_RETURN,
                           **{k: v for k, v in changes.items() if k != "progress_percentage"}}
            _check_links(tx, before["client_group_id"], changes)
            return changes
        stray = [f for f in MONEY_FIELDS if changes.get(f) not in (None, [])]
        if stray:
            raise errors.Unprocessable("Only a money goal (with a target_amount) has these", errors=[
                {"field": f, "message": "only a money goal (with a target_amount) has it"} for f in stray])
        if before["is_money_goal"]:
            if store.link_and_contribution_count(tx, objective_id):
                raise errors.Conflict("The goal has linked products or contributions: remove them before clearing "
                                      "its target_amount")
            changes = {**changes, "currency": None, "assumed_annual_return": None,
                       "progress_percentage": changes.get("progress_percentage") or ZERO}
        return {k: v for k, v in changes.items() if k not in ("product_ids", "unmanaged_product_ids")}

    with db.transaction(ctx) as tx:
        row = patch_row(tx, objective_id, body, if_match, resource="objective", what="objective",
                        get=store.get_objective, update=store.update_objective, nullable=NULLABLE_OBJECTIVE_FIELDS,
                        stored=link_lists, check=check)
        return _one(tx, row)


def delete_objective(ctx: RequestContext, objective_id: UUID) -> None:
    """Its links and contributions go with it (the event's `before` names the links and the contributions'
    total)."""
    with db.transaction(ctx) as tx:
        before = store.get_objective(tx, objective_id, for_update=True)
        if before is None:
            raise _no_objective()
        total = store.contributions_totals(tx, [objective_id]).get(objective_id)
        store.delete_objective(tx, objective_id)
        audit.record(tx, "objective.delete", "objective", objective_id,
                     {**before, "contributions_total": total}, None)


# --- contributions ---

def _money_goal_or_error(tx: db.Tx, objective_id: UUID, *, for_update: bool = False) -> dict[str, Any]:
    row = store.get_objective(tx, objective_id, for_update=for_update)
    if row is None:
        raise _no_objective()
    if not row["is_money_goal"]:
        raise errors.Conflict("Only a money goal (with a target_amount) takes contributions")
    return row


def list_contributions(ctx: RequestContext, objective_id: UUID, query: Any) -> tuple[list[dict[str, Any]],
                                                                                       str | None]:
    keyset = Keyset.parse(CONTRIBUTIONS, query, ctx)
    with db.transaction(ctx) as tx:
        if store.get_objective(tx, objective_id) is None:
            raise _no_objective()
        found = store.list_contributions(tx, objective_id, keyset)
    return keyset.page(found)


def add_contribution(ctx: RequestContext, objective_id: UUID, body: Any) -> dict[str, Any]:
    """In the goal's currency; a plain objective takes none (409)."""
    with db.transaction(ctx) as tx:
        _money_goal_or_error(tx, objective_id, for_update=True)
        row = store.insert_contribution(tx, {"objective_id": objective_id, **body.model_dump()})
        audit.record(tx, "objective_contribution.create", "objective_contribution", row["id"], None, row)
    return row


def delete_contribution(ctx: RequestContext, contribution_id: UUID) -> None:
    """A wrong entry is deleted (and entered again); the audit trail keeps what it was."""
    with db.transaction(ctx) as tx:
        before = store.delete_contribution(tx, contribution_id)
        if before is None:
            raise errors.NotFound("No such objective contribution")
        audit.record(tx, "objective_contribution.delete", "objective_contribution", contribution_id, before, None)

