"""Financial planning's data through the real handlers: CMA sets (the correlation checks, approval, versions),
portfolio models (figures against hand-worked two- and three-asset cases), plans (inputs checked and filled in,
versions, immutability). Every refusal is its exact 4xx problem+json, leaves no audit event and changes no row of
the firm (every tenant table compared before and after)."""
from __future__ import annotations

import math
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.matrix_support import (
    add_portfolio_fund,
    add_unmanaged_valuation,
    add_valuation,
    audit_events_since,
    audit_watermark,
    create_fund,
    create_household,
    create_product,
    create_unmanaged,
    expect_status,
    firm_rows,
    send,
)
from tests.integration.planning_support import (
    CMA,
    MODELS,
    PLANS,
    TWO_CLASSES,
    cma_body,
    create_cma_set,
    create_plan,
    create_planning_household,
    create_portfolio_model,
    new_plan_version,
    plan_inputs,
)

NON_PSD = [["1", "0.9", "-0.9"], ["0.9", "1", "0.9"], ["-0.9", "0.9", "1"]]
THREE_CLASSES = [{"code": "equity", "name": "Equities", "expected_return": "0.08", "volatility": "0.18"},
                 {"code": "bonds", "name": "Bonds", "expected_return": "0.03", "volatility": "0.06"},
                 {"code": "property", "name": "Property", "expected_return": "0.05", "volatility": "0.12"}]
THREE_MATRIX = [["1", "0.1", "0.5"], ["0.1", "1", "0"], ["0.5", "0", "1"]]


@pytest.fixture(scope="module")
def firm(database: str) -> Firm:
    return make_firm()


@pytest.fixture(scope="module")
def world(firm: Firm, app_module: Any) -> dict[str, Any]:
    """An approved two-class set and a 60/40 model on it, a draft set, and a household (one person born
    1970-05-20) with an unmanaged property (250,000.00, 60% the household's) and a managed product valued
    1,000.00; another household with a property of its own."""
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        admin, w = firm.auth("admin"), firm.auth("adviser")
        cma = create_cma_set(c, w, approve=admin)
        draft = create_cma_set(c, w)
        model = create_portfolio_model(c, w, cma["id"])
        house = create_planning_household(c, w)
        flat = create_unmanaged(c, w, house, ownership={"association_type": "tenants_in_common",
                                                        "shares": {house.owner_id: "60.00"}})
        add_unmanaged_valuation(c, w, flat["id"], "2024-03-31", "250000.00")
        product = create_product(c, w, house)
        pf = add_portfolio_fund(c, w, product["id"], create_fund(c, w)["id"])
        add_valuation(c, w, pf["id"], "2024-06-28", "1000.00")
        other = create_household(c, w)
        theirs = create_unmanaged(c, w, other)
        add_unmanaged_valuation(c, w, theirs["id"], "2024-03-31", "90000.00")
    return {"cma": cma, "draft": draft, "model": model, "house": house, "flat": flat["id"],
            "product": product["id"], "theirs": theirs["id"], "admin": admin, "w": w}


def refused(client: Any, firm: Firm, method: str, path: str, auth: dict[str, str], body: Any, status: int,
            fields: str | tuple[str, ...] = (), *, detail: str | None = None, headers: dict[str, str] | None = None
            ) -> dict[str, Any]:
    """The call is `status` problem+json naming `fields`, with no audit event and no row of the firm changed."""
    before, mark = firm_rows(firm.id), audit_watermark()
    problem = assert_problem(send(client, method, path, headers={**auth, **(headers or {})}, body=body), status,
                             fields, detail=detail)
    assert audit_events_since(mark, firm.id) == []
    assert firm_rows(firm.id) == before
    return problem


def message_of(problem: dict[str, Any], field: str) -> str:
    return next(e["message"] for e in problem["errors"] if e["field"] == field)


# --- CMA sets ---

def test_a_set_is_a_draft_version_one_of_its_own_line(client: Any, world: dict[str, Any]) -> None:
    made = create_cma_set(client, world["w"])
    assert made["status"] == "draft" and made["set_version"] == 1 and made["version"] == 1
    assert made["root_id"] == made["id"] and made["parent_id"] is None and made["approved_at"] is None
    assert [c["code"] for c in made["asset_classes"]] == ["equity", "bonds"]
    assert made["correlations"] == [["1.000000", "0.200000"], ["0.200000", "1.000000"]]
    read = expect_status(send(client, "GET", f"{CMA}/{made['id']}", headers=world["w"]), 200)
    assert read == made
    listed = expect_status(send(client, "GET", f"{CMA}?status=draft&limit=200", headers=world["w"]), 200)
    assert made["id"] in [s["id"] for s in listed["items"]]
    assert world["cma"]["id"] not in [s["id"] for s in listed["items"]]


def test_a_matrix_that_is_not_positive_semidefinite_is_named_with_its_eigenvalue(client: Any, firm: Firm,
                                                                                 world: dict[str, Any]) -> None:
    # [[1, .9, -.9], [.9, 1, .9], [-.9, .9, 1]] = I + 0.9 A; A (1, -1, 1) = -2 (1, -1, 1), so one eigenvalue is
    # 1 - 1.8 = -0.8 (the other two are 1.9: the trace is 3 and the squares of the entries sum to 7.86).
    problem = refused(client, firm, "POST", CMA, world["w"], cma_body(asset_classes=THREE_CLASSES,
                                                                      correlations=NON_PSD), 422, "correlations")
    message = message_of(problem, "correlations")
    assert "positive semi-definite" in message and "-0.8 " in message


@pytest.mark.parametrize("matrix,says", [
    ([["1", "0.3"], ["0.2", "1"]], "symmetric"),
    ([["0.9", "0.2"], ["0.2", "1"]], "diagonal"),
    ([["1", "1.2"], ["1.2", "1"]], "less than or equal to Decimal('1')"),
    ([["1", "0.2"], ["0.2"]], "square"),
    ([["1", "0.2", "0"], ["0.2", "1", "0"], ["0", "0", "1"]], "3 rows for 2 asset classes"),
])
def test_other_bad_matrices_are_422(client: Any, firm: Firm, world: dict[str, Any], matrix: list[list[str]],
                                    says: str) -> None:
    problem = refused(client, firm, "POST", CMA, world["w"], cma_body(correlations=matrix), 422)
    assert any(e["field"].startswith("correlations") and says in e["message"] for e in problem["errors"]), problem


def test_the_database_refuses_a_bad_matrix_from_raw_sql(firm: Firm, world: dict[str, Any]) -> None:
    for matrix in ("{{1,0.3},{0.2,1}}", "{{1,0},{0,0.5}}", "{1,0}"):
        with pytest.raises(psycopg.errors.CheckViolation, match=r"cma_sets_correlations_check"):
            owner_sql("UPDATE cma_sets SET correlations = %s::numeric[] WHERE id = %s", (matrix, world["draft"]["id"]))


def test_approval_records_who_and_when_and_freezes_the_set(client: Any, firm: Firm, world: dict[str, Any]) -> None:
    made = create_cma_set(client, world["w"])
    path = f"{CMA}/{made['id']}"
    refused(client, firm, "POST", f"{path}/approve", world["w"], None, 403)  # an adviser
    mark = audit_watermark()
    approved = expect_status(send(client, "POST", f"{path}/approve", headers=world["admin"]), 200)
    assert approved["status"] == "approved" and approved["version"] == 2
    assert approved["approved_by"] == str(firm.users["admin"]["id"]) and approved["approved_at"]
    [event] = audit_events_since(mark, firm.id)
    assert event["action"] == "cma_set.approve" and event["resource_id"] == made["id"]
    refused(client, firm, "POST", f"{path}/approve", world["admin"], None, 409)
    refused(client, firm, "PATCH", path, world["w"], {"inflation": "0.03"}, 409, headers={"If-Match": '"2"'})
    # whoever writes: the set, its classes, a delete
    for statement in ("UPDATE cma_sets SET inflation = 0.03 WHERE id = %s",
                      "UPDATE cma_asset_classes SET expected_return = 0.5 WHERE cma_set_id = %s",
                      "DELETE FROM cma_asset_classes WHERE cma_set_id = %s",
                      "DELETE FROM cma_sets WHERE id = %s"):
        with pytest.raises(psycopg.errors.RestrictViolation, match="approved"):
            owner_sql(statement, (made["id"],))
    assert expect_status(send(client, "GET", path, headers=world["w"]), 200) == approved


def test_a_draft_changes_until_it_is_approved(client: Any, firm: Firm, world: dict[str, Any]) -> None:
    made = create_cma_set(client, world["w"])
    path = f"{CMA}/{made['id']}"
    changed = expect_status(send(client, "PATCH", path, headers={**world["w"], "If-Match": '"1"'},
                                 body={"inflation": "0.031", "asset_classes": THREE_CLASSES,
                                       "correlations": THREE_MATRIX}), 200)
    assert changed["version"] == 2 and changed["inflation"] == "0.031000"
    assert [c["code"] for c in changed["asset_classes"]] == ["equity", "bonds", "property"]
    # a matrix alone must fit the classes the set has; classes alone need their matrix
    refused(client, firm, "PATCH", path, world["w"], {"correlations": [["1", "0"], ["0", "1"]]}, 422, "correlations",
            headers={"If-Match": '"2"'})
    refused(client, firm, "PATCH", path, world["w"], {"asset_classes": TWO_CLASSES}, 422,
            headers={"If-Match": '"2"'})
    refused(client, firm, "PATCH", path, world["w"], {"inflation": "0.02"}, 412, headers={"If-Match": '"1"'})


def test_a_new_version_copies_any_set_and_numbers_next_in_its_line(client: Any, world: dict[str, Any]) -> None:
    base = world["cma"]
    v2 = expect_status(send(client, "POST", f"{CMA}/{base['id']}/versions", headers=world["w"]), 201)
    assert (v2["set_version"], v2["parent_id"], v2["root_id"], v2["status"]) == (2, base["id"], base["id"], "draft")
    assert v2["asset_classes"] == base["asset_classes"] and v2["correlations"] == base["correlations"]
    again = expect_status(send(client, "POST", f"{CMA}/{base['id']}/versions", headers=world["w"]), 201)
    assert (again["set_version"], again["parent_id"]) == (3, base["id"])
    from_draft = expect_status(send(client, "POST", f"{CMA}/{v2['id']}/versions", headers=world["w"]), 201)
    assert (from_draft["set_version"], from_draft["parent_id"], from_draft["root_id"]) == (4, v2["id"], base["id"])
    line = expect_status(send(client, "GET", f"{CMA}?root_id={base['id']}&sort=created_at", headers=world["w"]), 200)
    assert [s["set_version"] for s in line["items"]] == [1, 2, 3, 4]


# --- portfolio models ---

def test_figures_of_a_two_asset_model_by_hand(world: dict[str, Any]) -> None:
    # 60% equities (7%, 16%), 40% bonds (3%, 5%), correlation 0.2:
    # mu = 0.6 x 0.07 + 0.4 x 0.03 = 0.054
    # var = 0.36 x 0.0256 + 0.16 x 0.0025 + 2 x 0.6 x 0.4 x 0.2 x 0.16 x 0.05 = 0.009216 + 0.0004 + 0.000768
    #     = 0.010384
    model = world["model"]
    assert Decimal(model["expected_return"]) == Decimal("0.054")
    assert Decimal(model["volatility"]) == Decimal(str(round(math.sqrt(0.010384), 6))) == Decimal("0.101902")
    assert model["allocations"] == [{"asset_class": "equity", "weight": "60.00"},
                                    {"asset_class": "bonds", "weight": "40.00"}]


def test_figures_of_a_three_asset_model_by_hand(client: Any, world: dict[str, Any]) -> None:
    # 50% equities (8%, 18%), 30% bonds (3%, 6%), 20% property (5%, 12%); correlations equities-bonds 0.1,
    # equities-property 0.5, bonds-property 0:
    # mu = 0.04 + 0.009 + 0.01 = 0.059
    # var = 0.25 x 0.0324 + 0.09 x 0.0036 + 0.04 x 0.0144 + 2 x 0.5 x 0.3 x 0.1 x 0.18 x 0.06
    #       + 2 x 0.5 x 0.2 x 0.5 x 0.18 x 0.12 = 0.0081 + 0.000324 + 0.000576 + 0.000324 + 0.00216 = 0.011484
    cma = create_cma_set(client, world["w"], approve=world["admin"], asset_classes=THREE_CLASSES,
                         correlations=THREE_MATRIX)
    model = create_portfolio_model(client, world["w"], cma["id"], risk_level=6, allocations=[
        {"asset_class": "property", "weight": "20.00"}, {"asset_class": "equity", "weight": "50.00"},
        {"asset_class": "bonds", "weight": "30.00"}])
    assert Decimal(model["expected_return"]) == Decimal("0.059")
    assert Decimal(model["volatility"]) == Decimal(str(round(math.sqrt(0.011484), 6))) == Decimal("0.107163")
    assert [a["asset_class"] for a in model["allocations"]] == ["equity", "bonds", "property"]  # the set's order
    read = expect_status(send(client, "GET", f"{MODELS}/{model['id']}", headers=world["w"]), 200)
    assert read == model
    # all in one class: that class's own figures
    patched = expect_status(send(client, "PATCH", f"{MODELS}/{model['id']}", headers={**world["w"], "If-Match": '"1"'},
                                 body={"allocations": [{"asset_class": "property", "weight": "100.00"}]}), 200)
    assert (patched["expected_return"], patched["volatility"], patched["version"]) == ("0.050000", "0.120000", 2)
    listed = expect_status(send(client, "GET", f"{MODELS}?cma_set_id={cma['id']}", headers=world["w"]), 200)
    assert [(m["id"], m["volatility"]) for m in listed["items"]] == [(model["id"], "0.120000")]


@pytest.mark.parametrize("fields,field", [
    ({"allocations": [{"asset_class": "equity", "weight": "60.00"}, {"asset_class": "bonds", "weight": "39.99"}]},
     "allocations"),
    ({"allocations": [{"asset_class": "equity", "weight": "60.00"}, {"asset_class": "bonds", "weight": "40.01"}]},
     "allocations"),
    ({"allocations": [{"asset_class": "equity", "weight": "100.001"}]}, "allocations.0.weight"),
    ({"allocations": [{"asset_class": "equity", "weight": "0.00"}, {"asset_class": "bonds", "weight": "100.00"}]},
     "allocations.0.weight"),
    ({"risk_level": 11}, "risk_level"),
    ({"risk_level": 0}, "risk_level"),
    ({"allocations": [{"asset_class": "gold", "weight": "100.00"}]}, "allocations.0.asset_class"),
])
def test_bad_models_are_422(client: Any, firm: Firm, world: dict[str, Any], fields: dict[str, Any],
                            field: str) -> None:
    body = {"name": "Bad", "risk_level": 5, "cma_set_id": world["cma"]["id"],
            "allocations": [{"asset_class": "equity", "weight": "100.00"}], **fields}
    refused(client, firm, "POST", MODELS, world["w"], body, 422, field)


def test_a_model_uses_an_approved_set(client: Any, firm: Firm, world: dict[str, Any]) -> None:
    body = {"name": "On a draft", "risk_level": 5, "cma_set_id": world["draft"]["id"],
            "allocations": [{"asset_class": "equity", "weight": "100.00"}]}
    refused(client, firm, "POST", MODELS, world["w"], body, 422, "cma_set_id")
    refused(client, firm, "POST", MODELS, world["w"], {**body, "cma_set_id": str(uuid.uuid4())}, 422, "cma_set_id")


def test_the_database_holds_the_weights_to_100(world: dict[str, Any]) -> None:
    model = world["model"]["id"]
    with pytest.raises(psycopg.errors.CheckViolation, match=r"not 100\.00"):
        owner_sql("UPDATE portfolio_model_allocations SET weight = 39.99 WHERE portfolio_model_id = %s "
                  "AND asset_class = 'bonds'", (model,))
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        owner_sql("UPDATE portfolio_model_allocations SET asset_class = 'gold' WHERE portfolio_model_id = %s "
                  "AND asset_class = 'bonds'", (model,))


# --- plans ---

def test_a_plan_stores_its_inputs_whole_with_what_was_derived(client: Any, firm: Firm,
                                                              world: dict[str, Any]) -> None:
    house = world["house"]
    mark = audit_watermark()
    plan = create_plan(client, world["w"], house, world["cma"]["id"], world["model"]["id"],
                       target_income={"kind": "replacement_ratio", "ratio": "0.6"},
                       starting_values=[{"source": "unmanaged_product", "id": world["flat"]},
                                        {"source": "managed_product", "id": world["product"]}],
                       contributions=[{"amount": "500.00", "start_date": date.today().isoformat()}],
                       return_model={"kind": "student_t", "degrees_of_freedom": "5"})
    today = date.today()
    inputs = plan["inputs"]
    assert (plan["version"], plan["parent_plan_id"], plan["root_plan_id"]) == (1, None, plan["id"])
    assert plan["as_of"] == inputs["as_of"] == today.isoformat() and plan["status"] == "draft"
    [person] = inputs["people"]
    age = today.year - 1970 - ((today.month, today.day) < (5, 20))
    assert (person["date_of_birth"], person["date_of_birth_from"], person["age_on_as_of"]) == (
        "1970-05-20", "record", age)
    # 60% of 250,000.00 held in common with someone outside the household; the product all theirs
    values = {v["id"]: v for v in inputs["starting_values"]}
    assert values[world["flat"]]["value"] == "150000.00" and values[world["flat"]]["product_value"] == "250000.00"
    assert values[world["product"]]["value"] == "1000.00"
    assert inputs["target_income"] == {"kind": "replacement_ratio", "ratio": "0.6", "current_income": "60000.00",
                                       "annual": "36000.00"}
    assert inputs["glide_path"] == [{"from_year": 0, "portfolio_model_id": world["model"]["id"]}]
    [model] = inputs["portfolio_models"]
    assert model["allocations"] == [{"asset_class": "equity", "weight": "60.00"},
                                    {"asset_class": "bonds", "weight": "40.00"}]
    assert isinstance(inputs["random_seed"], int) and 0 <= inputs["random_seed"] < 2 ** 63
    assert inputs["contributions"][0]["growth"] == {"kind": "inflation"}
    assert inputs["return_model"] == {"kind": "student_t", "degrees_of_freedom": "5"}
    assert (inputs["iterations"], inputs["steps"], inputs["confidence_level"]) == (5000, "monthly", "0.85")
    assert inputs["horizon_end"] == today.replace(year=today.year + 30).isoformat() or today.month == 2
    [event] = audit_events_since(mark, firm.id)
    assert event["action"] == "plan.create" and event["resource_id"] == plan["id"]
    assert expect_status(send(client, "GET", f"{PLANS}/{plan['id']}", headers=world["w"]), 200) == plan
    [stored] = owner_sql("SELECT inputs FROM plans WHERE id = %s", (plan["id"],))
    assert stored["inputs"] == inputs


def test_a_seed_given_is_kept_and_a_glide_path_resolved(client: Any, world: dict[str, Any]) -> None:
    other = create_portfolio_model(client, world["w"], world["cma"]["id"], risk_level=2, allocations=[
        {"asset_class": "bonds", "weight": "100.00"}])
    inputs = plan_inputs(world["house"], world["cma"]["id"], None, random_seed=2 ** 63 - 1,
                         glide_path=[{"from_year": 0, "portfolio_model_id": world["model"]["id"]},
                                     {"from_year": 10, "portfolio_model_id": other["id"]}], steps="yearly")
    del inputs["portfolio_model_id"]
    plan = expect_status(send(client, "POST", f"/v1/client-groups/{world['house'].group_id}/plans",
                              headers=world["w"], body={"name": "Glide", "status": "final", "inputs": inputs}), 201)
    assert plan["inputs"]["random_seed"] == 2 ** 63 - 1 and plan["status"] == "final"
    assert [m["id"] for m in plan["inputs"]["portfolio_models"]] == [world["model"]["id"], other["id"]]
    assert plan["inputs"]["glide_path"][1] == {"from_year": 10, "portfolio_model_id": other["id"]}


def _plan_body(world: dict[str, Any], **inputs: Any) -> dict[str, Any]:
    return {"name": "Refused", "inputs": plan_inputs(world["house"], world["cma"]["id"], world["model"]["id"],
                                                     **inputs)}


@pytest.mark.parametrize("inputs,field", [
    ({"iterations": 999}, "inputs.iterations"),
    ({"iterations": 100_001}, "inputs.iterations"),
    ({"random_seed": -1}, "inputs.random_seed"),
    ({"random_seed": 2 ** 63}, "inputs.random_seed"),
    ({"return_model": {"kind": "student_t", "degrees_of_freedom": "2"}}, "inputs.return_model.student_t"),
    ({"confidence_level": "1"}, "inputs.confidence_level"),
    ({"steps": "daily"}, "inputs.steps"),
    ({"horizon_years": 0}, "inputs.horizon_years"),
    ({"as_of": "2025-02-30"}, "inputs.as_of"),
    ({"as_of": 20250101}, "inputs.as_of"),
    ({"glide_path": [{"from_year": 1, "portfolio_model_id": str(uuid.uuid4())}]}, "inputs"),
    ({"contributions": [{"amount": "100.00", "start_date": "2030-01-01", "end_date": "2029-01-01"}]},
     "inputs.contributions.0"),
    ({"target_income": {"kind": "replacement_ratio", "ratio": "-0.1"}}, "inputs.target_income.replacement_ratio"),
])
def test_bad_plan_inputs_are_422(client: Any, firm: Firm, world: dict[str, Any], inputs: dict[str, Any],
                                 field: str) -> None:
    problem = refused(client, firm, "POST", f"/v1/client-groups/{world['house'].group_id}/plans", world["w"],
                      _plan_body(world, **inputs), 422)
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem


def test_a_retirement_age_below_the_current_age_is_422(client: Any, firm: Firm, world: dict[str, Any]) -> None:
    body = _plan_body(world)
    body["inputs"]["people"][0]["retirement_age"] = 50  # born 1970: older than that now
    problem = refused(client, firm, "POST", f"/v1/client-groups/{world['house'].group_id}/plans", world["w"], body,
                      422, "inputs.people.0.retirement_age")
    assert "below the person's age" in problem["detail"]


def test_an_unapproved_cma_set_in_a_plan_is_422(client: Any, firm: Firm, world: dict[str, Any]) -> None:
    body = _plan_body(world, cma_set_id=world["draft"]["id"])
    problem = refused(client, firm, "POST", f"/v1/client-groups/{world['house'].group_id}/plans", world["w"], body,
                      422, "inputs.cma_set_id")
    assert "not approved" in problem["detail"]
    with pytest.raises(psycopg.errors.CheckViolation, match="not approved"):
        owner_sql("INSERT INTO plans (id, firm_id, client_group_id, root_plan_id, version, name, status, as_of, "
                  "cma_set_id, inputs, created_by_type) SELECT x.id, %s, %s, x.id, 1, 'Raw', 'draft', CURRENT_DATE, "
                  "%s, '{}', 'system' FROM (SELECT gen_random_uuid() AS id) x",
                  (firm.id, world["house"].group_id, world["draft"]["id"]))


def test_a_product_of_another_household_as_a_starting_value_is_422(client: Any, firm: Firm,
                                                                   world: dict[str, Any]) -> None:
    for source, product in (("unmanaged_product", world["theirs"]), ("managed_product", world["flat"]),
                            ("unmanaged_product", str(uuid.uuid4()))):
        body = _plan_body(world, starting_values=[{"source": source, "id": product}])
        refused(client, firm, "POST", f"/v1/client-groups/{world['house'].group_id}/plans", world["w"], body, 422,
                "inputs.starting_values.0.id", detail="not a")


def test_other_refusals_against_the_household(client: Any, firm: Firm, world: dict[str, Any]) -> None:
    path = f"/v1/client-groups/{world['house'].group_id}/plans"
    outsider = _plan_body(world)
    outsider["inputs"]["people"][0]["product_owner_id"] = str(uuid.uuid4())
    refused(client, firm, "POST", path, world["w"], outsider, 422, "inputs.people.0.product_owner_id")
    wrong_birth = _plan_body(world)
    wrong_birth["inputs"]["people"][0]["date_of_birth"] = "1971-01-01"
    refused(client, firm, "POST", path, world["w"], wrong_birth, 422, "inputs.people.0.date_of_birth")
    refused(client, firm, "POST", path, world["w"], _plan_body(world, as_of="2099-01-01"), 422, "inputs.as_of")
    refused(client, firm, "POST", path, world["w"],
            _plan_body(world, lump_sums=[{"date": "2000-01-01", "amount": "1000.00", "direction": "in"}]), 422,
            "inputs.lump_sums.0.date")
    refused(client, firm, "POST", path, world["w"], _plan_body(world, portfolio_model_id=str(uuid.uuid4())), 422,
            "inputs.portfolio_model_id")
    no_income = _plan_body(world, target_income={"kind": "replacement_ratio", "ratio": "0.5"})
    del no_income["inputs"]["people"][0]["current_income"]
    refused(client, firm, "POST", path, world["w"], no_income, 422, "inputs.target_income")
    refused(client, firm, "POST", f"/v1/client-groups/{uuid.uuid4()}/plans", world["w"], _plan_body(world), 404)
    refused(client, firm, "POST", path, firm.auth("viewer"), _plan_body(world), 403)


def test_a_person_without_a_date_of_birth_gives_it_in_the_inputs(client: Any, world: dict[str, Any]) -> None:
    house = create_planning_household(client, world["w"], date_of_birth=None)
    body = {"name": "Born elsewhere", "inputs": plan_inputs(house, world["cma"]["id"], world["model"]["id"])}
    path = f"/v1/client-groups/{house.group_id}/plans"
    assert_problem(send(client, "POST", path, headers=world["w"], body=body), 422, "inputs.people.0.date_of_birth")
    body["inputs"]["people"][0]["date_of_birth"] = "1980-02-29"
    plan = expect_status(send(client, "POST", path, headers=world["w"], body=body), 201)
    assert plan["inputs"]["people"][0]["date_of_birth_from"] == "inputs"


def test_an_edit_is_a_new_version_and_the_old_one_stays(client: Any, world: dict[str, Any]) -> None:
    house = world["house"]
    v1 = create_plan(client, world["w"], house, world["cma"]["id"], world["model"]["id"])
    v2 = new_plan_version(client, world["w"], v1, horizon_years=25)
    assert (v2["version"], v2["parent_plan_id"], v2["root_plan_id"], v2["name"]) == (2, v1["id"], v1["id"], v1["name"])
    assert v2["inputs"]["horizon_years"] == 25
    v3 = new_plan_version(client, world["w"], v1, horizon_years=20)  # from v1 again: the next number of the plan
    assert (v3["version"], v3["parent_plan_id"]) == (3, v1["id"])
    versions = expect_status(send(client, "GET", f"{PLANS}/{v2['id']}/versions", headers=world["w"]), 200)
    assert [v["version"] for v in versions["items"]] == [1, 2, 3]
    paged = expect_status(send(client, "GET", f"{PLANS}/{v1['id']}/versions?limit=2", headers=world["w"]), 200)
    rest = expect_status(send(client, "GET", f"{PLANS}/{v1['id']}/versions?cursor={paged['next_cursor']}",
                              headers=world["w"]), 200)
    assert [v["version"] for v in paged["items"] + rest["items"]] == [1, 2, 3]
    assert expect_status(send(client, "GET", f"{PLANS}/{v1['id']}", headers=world["w"]), 200) == v1
    latest = expect_status(send(client, "GET", f"/v1/client-groups/{house.group_id}/plans?limit=200",
                                headers=world["w"]), 200)
    shown = [p["id"] for p in latest["items"]]
    assert v3["id"] in shown and v1["id"] not in shown and v2["id"] not in shown
    assert_problem(send(client, "POST", f"{PLANS}/{uuid.uuid4()}/versions", headers=world["w"],
                        body={"inputs": plan_inputs(house, world["cma"]["id"], world["model"]["id"])}), 404)


def test_plan_versions_are_immutable_whoever_asks(client: Any, firm: Firm, world: dict[str, Any]) -> None:
    from chalicelib.core import config

    plan = create_plan(client, world["w"], world["house"], world["cma"]["id"], world["model"]["id"])
    for method in ("PATCH", "DELETE", "PUT"):
        assert_problem(send(client, method, f"{PLANS}/{plan['id']}", headers=world["admin"],
                            body={"name": "Edited"} if method != "DELETE" else None), 405)
    for statement in ("UPDATE plans SET inputs = '{}' WHERE id = %s",
                      "UPDATE plans SET inputs = jsonb_set(inputs, '{iterations}', '1000') WHERE id = %s",
                      "UPDATE plans SET status = 'final' WHERE id = %s",
                      "DELETE FROM plans WHERE id = %s"):
        with pytest.raises(psycopg.errors.RestrictViolation, match="immutable"):
            owner_sql(statement, (plan["id"],))
    with pytest.raises(psycopg.errors.RestrictViolation, match="immutable"):
        owner_sql("TRUNCATE plans CASCADE")
    import jwt

    claims = jwt.decode(firm.tokens["admin"], options={"verify_signature": False})
    with psycopg.connect(config.app_database_url(), autocommit=False) as conn:
        for statement in ("UPDATE plans SET inputs = '{}' WHERE id = %s", "DELETE FROM plans WHERE id = %s"):
            conn.execute("SELECT auth_enter_session(%s, %s, %s, %s)",
                         (claims["sid"], claims["sub"], claims["firm"], claims["role"]))
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, (plan["id"],))
            conn.rollback()
    [row] = owner_sql("SELECT inputs, status FROM plans WHERE id = %s", (plan["id"],))
    assert row == {"inputs": plan["inputs"], "status": "draft"}


def test_a_household_with_plans_cannot_be_deleted(client: Any, world: dict[str, Any]) -> None:
    house = create_planning_household(client, world["w"])
    create_plan(client, world["w"], house, world["cma"]["id"], world["model"]["id"])
    expect_status(send(client, "DELETE", f"/v1/client-groups/{house.group_id}/product-owners/{house.owner_id}",
                       headers=world["w"]), 204)
    assert_problem(send(client, "DELETE", f"/v1/client-groups/{house.group_id}", headers=world["w"]), 409)
