"""Dates are ISO strings only, in query strings and JSON bodies alike.

A date is exactly YYYY-MM-DD and a date-time RFC 3339 with its offset; anything else (a number, a numeric string
such as `?to=0`, which pydantic would read as seconds since 1970, a date-time where a date belongs, an impossible
day) is a 422 naming the field, and changes nothing. The routes and their date fields come from the app's own
route table and models (tests/date_fields.py), so a date field added later is held to the same rule.
"""
from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import assert_problem, make_firm
from tests.date_fields import date_fields
from tests.integration.matrix_support import (
    audit_events_since,
    audit_watermark,
    create_action,
    create_household,
    create_objective,
    create_unmanaged,
    expect_status,
    firm_rows,
    make_book,
    send,
)
from tests.integration.planning_support import (
    TWO_CLASSES,
    TWO_MATRIX,
    create_cma_set,
    create_plan,
    create_planning_household,
    create_portfolio_model,
)

# Not one of these is a date; the first four were read as 1970-01-01 (or refused only by luck).
BAD_DATES = ["0", "0.5", "1e3", "1704067200", "-1", "2024-02-30", "2024-13-01", "2024-01-01T00:00",
             "2024-01-01T00:00:00Z", "20240101", "2024-W01-1", "2024-001", "2024-1-1", "yesterday"]
BAD_DATE_TIMES = ["0", "0.5", "1e3", "1704067200", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01T00:00Z",
                  "2024-02-30T00:00:00Z", "20240101T000000Z", "2024-01-01T00:00:00+0100"]
# In a JSON body, numbers and other non-strings too.
BAD_BODY_DATES: list[Any] = [0, 0.5, 1e3, 1704067200, True, [2024, 1, 1], {"year": 2024}, "0", "2024-02-30",
                             "2024-01-01T00:00", "20240101"]
BAD_BODY_DATE_TIMES: list[Any] = [0, 0.5, 4102444800, True, "4102444800", "2100-01-01", "2100-01-01T00:00:00",
                                  "2100-02-30T00:00:00Z"]
GOOD = {"date": "2024-12-31", "datetime": "2099-12-31T23:59:59Z"}


def _specs() -> list[Any]:
    from app import router

    return router.specs()


def _rid(spec: Any) -> str:
    return f"{spec.method} {spec.path}"


QUERY_ROUTES = [(s, name, kind) for s in _specs() if s.query is not None
                for name, (kind, _) in sorted(date_fields(s.query).items())]


def test_the_query_routes_with_dates_are_found() -> None:
    found = {(_rid(s), name) for s, name, _ in QUERY_ROUTES}
    assert found >= {("GET /v1/products/{product_id}/irr", "to"), ("GET /v1/client-groups/{group_id}/irr", "from"),
                     ("GET /v1/portfolio-funds/{portfolio_fund_id}/irr", "to"), ("GET /v1/audit-events", "to"),
                     ("GET /v1/audit-events", "from"), ("GET /v1/products/{product_id}/valuations", "from"),
                     ("GET /v1/portfolio-funds/{portfolio_fund_id}/valuations", "to"),
                     ("GET /v1/portfolio-funds/{portfolio_fund_id}/activity", "from")}


# --- a firm with a row for every path parameter ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(app_module: Any) -> Iterator[Any]:
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        yield c


@pytest.fixture(scope="module")
def dated(api: Any) -> dict[str, Any]:
    firm = make_firm()
    w = firm.auth("adviser")
    house = create_household(api, w)
    book = make_book(api, w, house, day="2023-06-30", invested=("1000.00", "500.00"), values=("1100.00", "520.00"))
    ids = {"group_id": house.group_id, "owner_id": house.owner_id, "product_id": book.product,
           "portfolio_fund_id": book.pf, "valuation_id": book.valuation, "activity_id": book.activity,
           "fund_id": book.other_fund, "unmanaged_product_id": create_unmanaged(api, w, house)["id"],
           "action_id": create_action(api, w, house.group_id)["id"],
           "objective_id": create_objective(api, w, house.group_id, target_amount="1000.00",
                                            target_date="2030-01-31")["id"]}
    cma = create_cma_set(api, w, approve=firm.auth("admin"))
    model = create_portfolio_model(api, w, cma["id"])
    ids.update(cma_set_id=create_cma_set(api, w)["id"], portfolio_model_id=model["id"],
               plan_id=create_plan(api, w, create_planning_household(api, w), cma["id"], model["id"])["id"])
    return {"firm": firm, "ids": ids, "admin": firm.auth("admin"), "adviser": w}


def _path(spec: Any, ids: dict[str, str]) -> str:
    path = spec.path
    for name in spec.path_params:
        assert name in ids, f"add a row for {name} to the dated fixture, for {_rid(spec)}"
        path = path.replace("{" + name + "}", ids[name])
    return path


def _unchanged(firm_id: Any) -> Any:
    before, mark = firm_rows(firm_id), audit_watermark()
    return lambda: firm_rows(firm_id) == before and audit_events_since(mark) == []


# --- query strings ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,name,kind", QUERY_ROUTES, ids=[f"{_rid(s)}?{n}" for s, n, _ in QUERY_ROUTES])
def test_a_query_date_that_is_not_iso_is_422(api: Any, dated: dict[str, Any], spec: Any, name: str,
                                             kind: str) -> None:
    path = _path(spec, dated["ids"])
    unchanged = _unchanged(dated["firm"].id)
    for value in BAD_DATES if kind == "date" else BAD_DATE_TIMES:
        resp = send(api, "GET", f"{path}?{name}={value}", headers=dated["admin"])
        body = assert_problem(resp, 422, name)
        assert [e["field"] for e in body["errors"]] == [name], (value, body)
    # the same parameter, written as the API documents it, is taken (so the refusals above were the value's)
    expect_status(send(api, "GET", f"{path}?{name}={GOOD[kind]}", headers=dated["admin"]), 200)
    assert unchanged()


def test_irr_to_zero_is_not_the_first_of_january_1970(api: Any, dated: dict[str, Any]) -> None:
    path = f"/v1/products/{dated['ids']['product_id']}/irr"
    assert_problem(send(api, "GET", path + "?to=0", headers=dated["adviser"]), 422, "to")
    assert_problem(send(api, "GET", path + "?from=0&to=2023-06-30", headers=dated["adviser"]), 422, "from")
    assert_problem(send(api, "GET", "/v1/audit-events?to=0.5", headers=dated["admin"]), 422, "to")
    assert_problem(send(api, "GET", "/v1/audit-events?from=1e3", headers=dated["admin"]), 422, "from")
    shown = expect_status(send(api, "GET", path + "?to=2023-06-30", headers=dated["adviser"]), 200)
    assert shown["to"] == "2023-06-30"


# --- JSON bodies ------------------------------------------------------------------------------------------------------

def _bodies(ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A body each route's model takes, without its date fields (each test sets one)."""
    return {
        "POST /v1/product-owners": {"first_name": "Iso", "surname": "Dates"},
        "PATCH /v1/product-owners/{owner_id}": {},
        "POST /v1/api-keys": {"name": "dated", "scopes": ["read"]},
        "POST /v1/client-groups/{group_id}/products": {
            "name": "Dated ISA", "product_type": "gia", "start_date": "2024-01-01",
            "ownership": {"association_type": "individual", "product_owner_id": ids["owner_id"]}},
        "PATCH /v1/products/{product_id}": {},
        "POST /v1/products/{product_id}/funds": {"fund_id": ids["fund_id"], "start_date": "2024-01-01"},
        "PATCH /v1/portfolio-funds/{portfolio_fund_id}": {},
        "POST /v1/portfolio-funds/{portfolio_fund_id}/valuations": {"valuation_date": "2024-01-31", "value": "1.00"},
        "POST /v1/products/{product_id}/valuations:bulk": {"valuations": [
            {"portfolio_fund_id": ids["portfolio_fund_id"], "valuation_date": "2024-01-31", "value": "1.00"}]},
        "POST /v1/portfolio-funds/{portfolio_fund_id}/activity": {
            "activity_date": "2024-01-31", "activity_type": "investment", "amount": "1.00"},
        "PATCH /v1/activity/{activity_id}": {},
        "POST /v1/products/{product_id}/activity:bulk": {"activities": [
            {"portfolio_fund_id": ids["portfolio_fund_id"], "activity_date": "2024-01-31",
             "activity_type": "investment", "amount": "1.00"}]},
        "POST /v1/irr": {"portfolio_fund_ids": [ids["portfolio_fund_id"]]},
        "POST /v1/unmanaged-products/{unmanaged_product_id}/valuations": {"value": "1.00"},
        "POST /v1/unmanaged-products/{unmanaged_product_id}/valuations:bulk": {"valuations": [{"value": "1.00"}]},
        "POST /v1/fx-rates": {"currency": "USD", "rate": "0.7850"},
        "POST /v1/fx-rates:bulk": {"rates": [{"currency": "USD", "rate": "0.7850"}]},
        "POST /v1/client-groups/{group_id}/actions": {"action_name": "Dated", "owner": "client"},
        "PATCH /v1/actions/{action_id}": {},
        "POST /v1/cma-sets": {"name": "Dated", "inflation": "0.02", "asset_classes": TWO_CLASSES,
                              "correlations": TWO_MATRIX},
        "PATCH /v1/cma-sets/{cma_set_id}": {},
        "POST /v1/client-groups/{group_id}/plans": {"name": "Dated", "inputs": _plan_inputs(ids)},
        "POST /v1/plans/{plan_id}/versions": {"inputs": _plan_inputs(ids)},
        "POST /v1/client-groups/{group_id}/objectives": {"title": "Dated"},
        "PATCH /v1/objectives/{objective_id}": {},
        "POST /v1/objectives/{objective_id}/contributions": {"amount": "1.00"},
    }


def _plan_inputs(ids: dict[str, str]) -> dict[str, Any]:
    """Plan inputs with one of each dated item (a person's date of birth, a contribution, a withdrawal with an end
    date, a lump sum), dates left out where the model requires none."""
    any_id = str(uuid.UUID(int=2))
    return {"horizon_years": 20, "cma_set_id": ids.get("cma_set_id", any_id),
            "portfolio_model_id": ids.get("portfolio_model_id", any_id),
            "people": [{"product_owner_id": ids["owner_id"], "retirement_age": 67, "life_expectancy": 90}],
            "contributions": [{"amount": "100.00", "start_date": "2024-01-01"}],
            "withdrawals": [{"amount": "100.00", "start_date": "2024-01-01", "end_date": "2025-06-30"}],
            "lump_sums": [{"date": "2030-06-30", "amount": "1000.00", "direction": "in"}]}


def _body_date_paths(model: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """(path into the body, "date" | "datetime") of every date field, nested models' too (a list's first item)."""
    import typing

    from pydantic import BaseModel

    out = [((*prefix, name), kind) for name, (kind, _) in sorted(date_fields(model).items())]
    for name, info in model.model_fields.items():
        args = typing.get_args(info.annotation) or (info.annotation,)
        for arg in args:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                step = (info.alias or name, 0) if typing.get_origin(info.annotation) is list else (info.alias or name,)
                out += _body_date_paths(arg, (*prefix, *step))
    return out


BODY_ROUTES = [(s, path, kind) for s in _specs() if s.body is not None for path, kind in _body_date_paths(s.body)]


def test_every_body_route_with_a_date_has_a_body_here() -> None:
    routes = {_rid(s) for s, _, _ in BODY_ROUTES}
    assert routes >= {"POST /v1/product-owners", "POST /v1/api-keys", "POST /v1/products/{product_id}/valuations:bulk",
                      "POST /v1/irr", "PATCH /v1/products/{product_id}"}
    ids = {k: str(uuid.UUID(int=1)) for k in ("owner_id", "fund_id", "portfolio_fund_id")}
    bodies = _bodies(ids)
    assert routes <= set(bodies), f"add a body to _bodies for {routes - set(bodies)}"
    for spec, path, kind in BODY_ROUTES:  # each body, with its date set right, is one the model takes
        spec.body.model_validate(_with(bodies[_rid(spec)], path, GOOD[kind]))


def _with(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    at: Any = out
    for step in path[:-1]:
        at = at[step]
    at[path[-1]] = value
    return out


@pytest.mark.parametrize("spec,path,kind", BODY_ROUTES,
                         ids=[f"{_rid(s)}:{'.'.join(map(str, p))}" for s, p, _ in BODY_ROUTES])
def test_a_body_date_that_is_not_an_iso_string_is_422(api: Any, dated: dict[str, Any], spec: Any,
                                                      path: tuple[Any, ...], kind: str) -> None:
    headers = {**dated["admin"], "Content-Type": "application/json"}
    if spec.if_match:
        headers["If-Match"] = '"1"'
    url = _path(spec, dated["ids"])
    field = ".".join(map(str, path))
    base = _bodies(dated["ids"])[_rid(spec)]
    unchanged = _unchanged(dated["firm"].id)
    for value in BAD_BODY_DATES if kind == "date" else BAD_BODY_DATE_TIMES:
        resp = send(api, spec.method, url, headers=headers, body=json.dumps(_with(base, path, value)))
        body = assert_problem(resp, 422, field)
        assert [e["field"] for e in body["errors"]] == [field], (value, body)
    assert unchanged()
