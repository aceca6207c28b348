"""Every list's cursors are signed for the firm that was given them (core/pagination.py).

The lists are the app's own routes whose query takes a cursor (`router.specs()`), so a list added later is held to
the same rules without editing this file. One firm has at least two rows in every list, so each list gives a
genuine cursor with `limit=1`. A cursor whose JSON carries a lone surrogate (which no driver can encode) is a 422 on
every list, signed or not; so is a cursor with any character changed, one made in another firm, one made by
another list, and one in the format of before cursors were signed. Paging still walks every list through.
"""
from __future__ import annotations

import gc
import importlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Firm, make_firm, owner_sql
from tests.integration.matrix_support import (
    add_activity,
    add_contribution,
    add_unmanaged_valuation,
    add_valuation,
    assert_cursor_refused,
    b64_cursor,
    create_action,
    create_client_group,
    create_household,
    create_information_item,
    create_objective,
    create_product,
    create_product_owner,
    create_template,
    create_unmanaged,
    cursor_values,
    expect_status,
    login,
    make_book,
    put_fx_rate,
    send,
    unsigned_cursor,
)
from tests.integration.planning_support import create_cma_set, create_plan, create_portfolio_model, new_plan_version


def _routes() -> list[Any]:
    from app import router

    return [r for r in router.specs() if r.query is not None and "cursor" in r.query.model_fields]


def _rid(spec: Any) -> str:
    return f"{spec.method} {spec.path}"


LIST_ROUTES = _routes()


def test_the_list_routes_are_found() -> None:
    assert {_rid(r) for r in LIST_ROUTES} >= {
        "GET /v1/client-groups", "GET /v1/product-owners", "GET /v1/funds", "GET /v1/audit-events", "GET /v1/users",
        "GET /v1/providers", "GET /v1/portfolio-templates", "GET /v1/api-keys", "GET /v1/me/sessions",
        "GET /v1/notifications", "GET /v1/ops/job-runs", "GET /v1/client-groups/{group_id}/products",
        "GET /v1/products/{product_id}/valuations", "GET /v1/products/{product_id}/irr-history",
        "GET /v1/portfolio-funds/{portfolio_fund_id}/valuations",
        "GET /v1/portfolio-funds/{portfolio_fund_id}/activity", "GET /v1/client-groups/{group_id}/unmanaged-products",
        "GET /v1/unmanaged-products/{unmanaged_product_id}/valuations", "GET /v1/fx-rates",
        "GET /v1/client-groups/{group_id}/information-items", "GET /v1/client-groups/{group_id}/actions",
        "GET /v1/client-groups/{group_id}/networth-statements", "GET /v1/cma-sets", "GET /v1/portfolio-models",
        "GET /v1/client-groups/{group_id}/plans", "GET /v1/plans/{plan_id}/versions", "GET /v1/plans/{plan_id}/runs",
        "GET /v1/client-groups/{group_id}/objectives", "GET /v1/objectives/{objective_id}/contributions"}
    assert all(r.method == "GET" for r in LIST_ROUTES)


# --- a firm with two rows or more in every list ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(app_module: Any) -> Iterator[Any]:
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        yield c


@pytest.fixture(scope="module")
def paged(api: Any) -> dict[str, Any]:
    """{"firm", "auth" (the admin's), "ids" (path parameter -> a row of the firm)}."""
    firm = make_firm()
    w, admin = firm.auth("adviser"), firm.auth("admin")
    house = create_household(api, w)
    create_client_group(api, w)
    create_product_owner(api, w)
    create_template(api, w)
    book = make_book(api, w, house, day="2023-06-30", invested=("1000.00", "500.00"), values=("1100.00", "520.00"))
    create_product(api, w, house)
    add_activity(api, w, book.pf, "2022-03-01", "250.00")
    for pf, value in ((book.pf, "1400.00"), (book.other_pf, "530.00")):  # a second complete valuation date
        add_valuation(api, w, pf, "2023-12-31", value)
    login(api, firm.users["admin"]["email"])  # a second session of the admin's
    for title in ("First notice", "Second notice"):
        owner_sql("INSERT INTO notifications (firm_id, user_id, kind, title, body) VALUES (%s, %s, 'security.test', "
                  "%s, 'Nothing happened.')", (firm.id, firm.users["admin"]["id"], title))
    # Two runs that did work for the firm: its admin lists the firm's part of each.
    owner_sql("WITH runs AS (INSERT INTO job_runs (job_name, status, trigger, started_at, finished_at) "
              "SELECT %(j)s, 'succeeded', 'manual', t, t FROM unnest(%(t)s::timestamptz[]) AS t "
              "RETURNING id, job_name, trigger, started_at, finished_at) "
              "INSERT INTO firm_job_runs (firm_id, run_id, job_name, trigger, started_at, finished_at) "
              "SELECT %(f)s, id, job_name, trigger, started_at, finished_at FROM runs",
              {"j": f"cursors-{uuid.uuid4().hex[:8]}", "f": firm.id,
               "t": ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]})
    # Two backups (the deployment's, listed to every firm's admin).
    owner_sql("INSERT INTO backups (id, status, started_at, finished_at, store, object_key, error) "
              "SELECT gen_random_uuid(), 'failed', t, t, 'file:///nowhere', 'cursors.dump', 'a test row' "
              "FROM unnest(%s::timestamptz[]) AS t", (["2024-01-01T02:00:00Z", "2024-01-02T02:00:00Z"],))
    elsewhere = [create_unmanaged(api, w, house) for _ in range(2)]
    for day in ("2023-06-30", "2023-12-31"):
        add_unmanaged_valuation(api, w, elsewhere[0]["id"], day, "250000.00")
        put_fx_rate(api, admin, "USD", day, "0.7850")
    for name in ("Review the pension", "Send the annual pack"):
        create_information_item(api, w, house.group_id, item_category=name)
        create_action(api, w, house.group_id, action_name=name)
        expect_status(send(api, "POST", f"/v1/client-groups/{house.group_id}/networth-statements", headers=w,
                           body={"name": name}), 201)
    # Two CMA sets, two models, two plans (the latest versions) and two versions of one of them.
    cma = create_cma_set(api, w, approve=admin)
    create_cma_set(api, w)
    model = create_portfolio_model(api, w, cma["id"])
    create_portfolio_model(api, w, cma["id"], risk_level=2)
    plan = create_plan(api, w, house, cma["id"], model["id"], born="1975-03-01")
    create_plan(api, w, house, cma["id"], model["id"], born="1975-03-01")
    new_plan_version(api, w, plan, horizon_years=20)
    for _ in range(2):  # two runs of the plan (queued)
        expect_status(send(api, "POST", f"/v1/plans/{plan['id']}/runs", headers=w, body={"stresses": []}), 202)
    goal = create_objective(api, w, house.group_id, title="Pay off the car", target_amount="12000.00",
                            target_date="2029-06-30", product_ids=[book.product])
    create_objective(api, w, house.group_id, title="Write wills")
    for day in ("2024-01-31", "2024-02-29"):
        add_contribution(api, w, goal["id"], "150.00", day)
    ids = {"group_id": house.group_id, "product_id": book.product, "portfolio_fund_id": book.pf,
           "unmanaged_product_id": elsewhere[0]["id"], "plan_id": plan["id"], "objective_id": goal["id"]}
    return {"firm": firm, "auth": admin, "ids": ids}


def _path(spec: Any, ids: dict[str, str]) -> str:
    path = spec.path
    for name in spec.path_params:
        assert name in ids, f"add a row for {name} to the paged fixture, for {_rid(spec)}"
        path = path.replace("{" + name + "}", ids[name])
    return path


def _get(api: Any, url: str, auth: dict[str, str]) -> Any:
    return send(api, "GET", url, headers=auth)


@pytest.fixture(scope="module")
def genuine(api: Any, paged: dict[str, Any]) -> dict[str, str]:
    """Route -> the next_cursor of its first page of one row."""
    cursors = {}
    for spec in LIST_ROUTES:
        body = expect_status(_get(api, _path(spec, paged["ids"]) + "?limit=1", paged["auth"]), 200)
        assert body["next_cursor"], f"give the paged fixture a second row for {_rid(spec)}"
        cursors[_rid(spec)] = body["next_cursor"]
    return cursors


# --- a lone surrogate, on every list ----------------------------------------------------------------------------------

def _list_specs() -> list[Any]:
    from chalicelib.core.pagination import ListSpec
    from chalicelib.routes import MODULES

    for module in MODULES:
        importlib.import_module(module)
    return list({id(o): o for o in gc.get_objects() if isinstance(o, ListSpec)}.values())


def _sorts(spec: Any) -> list[str | None]:
    """The sorts a route takes (None: it has no sort parameter, its list's default order only)."""
    field = spec.query.model_fields.get("sort")
    if field is None:
        return [None]
    pattern = next(m.pattern for m in field.metadata if getattr(m, "pattern", None))
    names = re.fullmatch(r"\^-\?\((.*)\)\$", pattern)[1].split("|")
    return [p + n for n in names for p in ("", "-")]


_VALID = {"uuid": str(uuid.UUID(int=1)), "date": "2024-01-31", "timestamptz": "2024-01-31T12:00:00+00:00",
          "numeric": "1", "integer": "1", "bigint": "1"}


def _surrogate_cursors(route: Any) -> list[tuple[list[str], str | None]]:
    """For every list (as its cursors name it) and every sort the route takes that the list has: its key values
    with every text value a lone surrogate and every other value valid for its column, so that nothing but the
    surrogate could refuse it if the list took unsigned cursors. (values, sort parameter)."""
    out = []
    for spec in _list_specs():
        for sort in _sorts(route):
            name = (sort or spec.default_sort).removeprefix("-")
            if name not in spec.sorts:
                continue
            columns = spec.columns(name)
            values = [_VALID.get(t, "\ud800") for _, t in columns]
            if "\ud800" in values:
                out.append(([spec.name, sort or spec.default_sort, *values], sort))
            elif not any(t == "text" for t in (t for s in spec.sorts for _, t in spec.columns(s))):
                # A list that sorts by no text column: the surrogate stands where its first key value goes (the
                # value's type check refuses it behind the signature; the driver could not encode it before).
                out.append(([spec.name, sort or spec.default_sort, "\ud800", *values[1:]], sort))
    return out


@pytest.mark.parametrize("route", LIST_ROUTES, ids=_rid)
def test_a_cursor_with_a_lone_surrogate_is_422_on_every_list(api: Any, paged: dict[str, Any], route: Any) -> None:
    """Unsigned (as a caller could write one before cursors were signed: it reached the driver, which cannot encode
    a lone surrogate, a 500), and signed for the firm (so that the value check behind the signature refuses it)."""
    cases = _surrogate_cursors(route)
    assert cases
    for values, sort in cases:
        for cursor, by_signature in ((unsigned_cursor(values), True), (b64_cursor(values, paged["firm"]), False),
                                     (unsigned_cursor(["name", "\ud800", str(uuid.UUID(int=1))]), True)):
            url = _path(route, paged["ids"]) + f"?cursor={cursor}" + (f"&sort={sort}" if sort else "")
            assert_cursor_refused(_get(api, url, paged["auth"]), by_signature=by_signature)


# --- tampering, another firm, another list ----------------------------------------------------------------------------

def test_any_changed_character_is_422(api: Any, paged: dict[str, Any], genuine: dict[str, str]) -> None:
    cursor = genuine["GET /v1/client-groups"]
    for i, ch in enumerate(cursor):
        other = "B" if ch == "A" else "A"
        resp = _get(api, f"/v1/client-groups?limit=1&cursor={cursor[:i]}{other}{cursor[i + 1:]}", paged["auth"])
        assert_cursor_refused(resp, by_signature=True)
    for cut in (cursor[:-1], cursor[:-4], cursor[:22], cursor[1:], cursor + "A"):
        assert_cursor_refused(_get(api, f"/v1/client-groups?limit=1&cursor={cut}", paged["auth"]),
                              by_signature=True)
    expect_status(_get(api, f"/v1/client-groups?limit=1&cursor={cursor}", paged["auth"]), 200)


@pytest.mark.parametrize("route", LIST_ROUTES, ids=_rid)
def test_a_flipped_character_is_422_on_every_list(api: Any, paged: dict[str, Any], genuine: dict[str, str],
                                                  route: Any) -> None:
    cursor = genuine[_rid(route)]
    path = _path(route, paged["ids"])
    for i in (0, len(cursor) // 2, len(cursor) - 2):
        flipped = cursor[:i] + ("B" if cursor[i] == "A" else "A") + cursor[i + 1:]
        assert_cursor_refused(_get(api, f"{path}?limit=1&cursor={flipped}", paged["auth"]), by_signature=True)


@pytest.mark.parametrize("route", LIST_ROUTES, ids=_rid)
def test_a_cursor_from_another_firm_is_422(api: Any, paged: dict[str, Any], genuine: dict[str, str], firm_b: Firm,
                                           route: Any) -> None:
    """Firm B's admin sends firm A's genuine cursor: refused by its signature, before the list's parent (another
    firm's, so a 404) is looked up, and before job runs (which belong to no firm) are read."""
    cursor = genuine[_rid(route)]
    path = _path(route, paged["ids"])
    assert_cursor_refused(_get(api, f"{path}?limit=1&cursor={cursor}", firm_b.auth("admin")), by_signature=True)
    # and the same cursor in firm A, signed again for firm B (its content: a position in firm A's list)
    resigned = b64_cursor(cursor_values(cursor), firm_b)
    resp = _get(api, f"{path}?limit=1&cursor={resigned}", firm_b.auth("admin"))
    assert resp.status_code in (200, 404), resp.body[:300]  # the content was never the refusal
    assert_cursor_refused(_get(api, f"{path}?limit=1&cursor={resigned}", paged["auth"]), by_signature=True)
    expect_status(_get(api, f"{path}?limit=1&cursor={cursor}", paged["auth"]), 200)


def test_a_cursor_from_one_list_is_422_on_every_other(api: Any, paged: dict[str, Any],
                                                      genuine: dict[str, str]) -> None:
    for made_by, cursor in genuine.items():
        for route in LIST_ROUTES:
            resp = _get(api, _path(route, paged["ids"]) + f"?limit=1&cursor={cursor}", paged["auth"])
            if _rid(route) == made_by:
                expect_status(resp, 200)
            else:
                assert_cursor_refused(resp, by_signature=False)


@pytest.mark.parametrize("route", LIST_ROUTES, ids=_rid)
def test_a_cursor_in_the_unsigned_format_is_422(api: Any, paged: dict[str, Any], genuine: dict[str, str],
                                                route: Any) -> None:
    values = cursor_values(genuine[_rid(route)])
    assert isinstance(values, list) and len(values) >= 3 and all(isinstance(v, str) for v in values), values
    path = _path(route, paged["ids"])
    assert_cursor_refused(_get(api, f"{path}?limit=1&cursor={unsigned_cursor(values)}", paged["auth"]),
                          by_signature=True)


# --- paging still works -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("route", LIST_ROUTES, ids=_rid)
def test_paging_one_row_at_a_time_gives_the_whole_list(api: Any, paged: dict[str, Any], route: Any) -> None:
    path = _path(route, paged["ids"])
    whole = expect_status(_get(api, f"{path}?limit=200", paged["auth"]), 200)
    if whole["next_cursor"] is not None:  # job runs and backups belong to no firm: other tests' may fill a page
        assert _rid(route) in ("GET /v1/ops/job-runs", "GET /v1/ops/backups"), whole
        return
    rows, cursor = [], None
    while True:
        body = expect_status(_get(api, f"{path}?limit=1" + (f"&cursor={cursor}" if cursor else ""), paged["auth"]),
                             200)
        rows += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(rows) <= len(whole["items"])
    assert rows == whole["items"] and len(rows) >= 2
