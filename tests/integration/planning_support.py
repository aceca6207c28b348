"""Building a firm's planning data through the API: CMA sets (approved or not), portfolio models and plans."""
from __future__ import annotations

from typing import Any

from tests.integration.matrix_support import (
    Household,
    add_member,
    create_client_group,
    create_product_owner,
    expect_status,
    send,
    unique,
)

CMA, MODELS, PLANS = "/v1/cma-sets", "/v1/portfolio-models", "/v1/plans"

# Two classes: equities (7%, 16%) and bonds (3%, 5%), correlated 0.2; inflation 2.5%.
TWO_CLASSES = [{"code": "equity", "name": "Global equities", "expected_return": "0.07", "volatility": "0.16"},
               {"code": "bonds", "name": "Gilts", "expected_return": "0.03", "volatility": "0.05"}]
TWO_MATRIX = [["1", "0.2"], ["0.2", "1"]]


def cma_body(**fields: Any) -> dict[str, Any]:
    return {"name": unique("CMA"), "effective_date": "2025-01-01", "inflation": "0.025",
            "asset_classes": TWO_CLASSES, "correlations": TWO_MATRIX, **fields}


def create_cma_set(client: Any, auth: dict[str, str], *, approve: dict[str, str] | None = None,
                   **fields: Any) -> dict[str, Any]:
    """A draft set (two classes unless given), approved by `approve` (an admin's auth) when given."""
    made = expect_status(send(client, "POST", CMA, headers=auth, body=cma_body(**fields)), 201)
    if approve is not None:
        made = expect_status(send(client, "POST", f"{CMA}/{made['id']}/approve", headers=approve), 200)
    return made


def create_portfolio_model(client: Any, auth: dict[str, str], cma_set_id: Any, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("Balanced"), "risk_level": 5, "cma_set_id": str(cma_set_id),
            "allocations": [{"asset_class": "equity", "weight": "60.00"}, {"asset_class": "bonds", "weight": "40.00"}],
            **fields}
    return expect_status(send(client, "POST", MODELS, headers=auth, body=body), 201)


def create_planning_household(client: Any, auth: dict[str, str], date_of_birth: str | None = "1970-05-20") -> Household:
    """A client group with one product owner in it, born on `date_of_birth`."""
    group = create_client_group(client, auth)
    fields = {"date_of_birth": date_of_birth} if date_of_birth else {}
    owner = create_product_owner(client, auth, **fields)
    add_member(client, auth, group["id"], owner["id"])
    return Household(group_id=group["id"], owner_id=owner["id"])


def plan_inputs(house: Household, set_id: Any, model_id: Any, born: str | None = None,
                **fields: Any) -> dict[str, Any]:
    """Inputs for a person retiring at 67 with a life expectancy of 92 (born on `born` when their record holds no
    date of birth), on a single model; `fields` replace or add to them."""
    person = {"product_owner_id": house.owner_id, "retirement_age": 67, "life_expectancy": 92,
              "current_income": "60000.00", **({"date_of_birth": born} if born else {})}
    return {"horizon_years": 30, "people": [person], "cma_set_id": str(set_id), "portfolio_model_id": str(model_id),
            "iterations": 5000, **fields}


def create_plan(client: Any, auth: dict[str, str], house: Household, cma_set_id: Any, model_id: Any,
                born: str | None = None, **inputs: Any) -> dict[str, Any]:
    body = {"name": unique("Retirement plan"), "inputs": plan_inputs(house, cma_set_id, model_id, born, **inputs)}
    return expect_status(send(client, "POST", f"/v1/client-groups/{house.group_id}/plans", headers=auth, body=body),
                         201)


def new_plan_version(client: Any, auth: dict[str, str], plan: dict[str, Any], **inputs: Any) -> dict[str, Any]:
    stored = plan["inputs"]
    base = {"horizon_years": stored["horizon_years"],
            "people": [{**{k: p[k] for k in ("product_owner_id", "retirement_age", "life_expectancy",
                                             "current_income")},
                        **({"date_of_birth": p["date_of_birth"]} if p["date_of_birth_from"] == "inputs" else {})}
                       for p in stored["people"]],
            "cma_set_id": stored["cma_set_id"], "portfolio_model_id": stored["portfolio_model_id"],
            "iterations": stored["iterations"], **inputs}
    return expect_status(send(client, "POST", f"{PLANS}/{plan['id']}/versions", headers=auth, body={"inputs": base}),
                         201)


class Planning:
    """A firm's approved set and a model on it, made once per firm (for the route-walking tests)."""

    def __init__(self, client: Any, admin: dict[str, str]) -> None:
        self.cma = create_cma_set(client, admin, approve=admin)
        self.draft = create_cma_set(client, admin)
        self.model = create_portfolio_model(client, admin, self.cma["id"])
        self.other_model = create_portfolio_model(client, admin, self.cma["id"], risk_level=3,
                                                  allocations=[{"asset_class": "equity", "weight": "30.00"},
                                                               {"asset_class": "bonds", "weight": "70.00"}])
