"""A path id that is not a UUID is a 404 naming what the id identifies, as the route declares it (Api resources)."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import Firm, assert_problem
from tests.integration.matrix_support import send

# What each path id names, as clients have always read it in the 404's detail.
NAMES = {"group_id": "client group", "owner_id": "product owner", "user_id": "user", "key_id": "API key",
         "provider_id": "provider", "fund_id": "fund", "template_id": "portfolio template", "product_id": "product",
         "portfolio_fund_id": "portfolio fund", "valuation_id": "fund valuation", "activity_id": "activity",
         "session_id": "session",
         "notification_id": "notification", "unmanaged_product_id": "unmanaged product",
         "unmanaged_valuation_id": "unmanaged valuation",
         "item_id": "information item", "action_id": "action", "statement_id": "net worth statement",
         "backup_id": "backup", "cma_set_id": "CMA set", "portfolio_model_id": "portfolio model",
         "plan_id": "plan", "run_id": "plan run",
         "objective_id": "objective", "contribution_id": "objective contribution",
         "policy_id": "retention policy"}


def _cases() -> list[tuple[Any, str]]:
    from app import router

    return [(spec, param) for spec in router.specs() for param in spec.path_params if param.endswith("id")]


CASES = _cases()


def test_every_path_id_is_covered():
    assert {param for _, param in CASES} == set(NAMES)
    assert len(CASES) > 50


@pytest.mark.parametrize("spec,param", CASES, ids=lambda v: v if isinstance(v, str) else f"{v.method} {v.path}")
def test_a_non_uuid_id_is_a_404_naming_its_resource(client: Any, firm_a: Firm, spec: Any, param: str) -> None:
    path = spec.path
    for name in spec.path_params:
        path = path.replace("{" + name + "}", "not-a-uuid" if name == param else str(uuid.uuid4()))
    headers = {} if spec.access == "public" else firm_a.auth("admin")
    assert_problem(send(client, spec.method, path, headers=headers), 404, detail=f"No such {NAMES[param]}")
