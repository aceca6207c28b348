"""Actions through the API: create, read, change and delete; completing and reopening (completed exactly when
completed_at is set, which the database holds too); the filters (status, owner, due_before, overdue) and the
due-date order. What the database holds is read as the owner role.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.matrix_support import (
    audit_events_since,
    audit_watermark,
    create_action,
    create_client_group,
    expect_status,
    firm_rows,
    list_ids,
    send,
)

AC = "/v1/actions"
TODAY = datetime.now(UTC).date()


def actions_of(group_id: Any) -> str:
    return f"/v1/client-groups/{group_id}/actions"


@pytest.fixture(scope="module")
def firm(database: str) -> Firm:
    return make_firm()


@pytest.fixture
def w(firm: Firm) -> dict[str, str]:
    return firm.auth("adviser")


def patch(client: Any, action_id: Any, w: dict[str, str], body: Any, version: int) -> Any:
    return send(client, "PATCH", f"{AC}/{action_id}", headers={**w, "If-Match": f'"{version}"'}, body=body)


def post(client: Any, action_id: Any, verb: str, w: dict[str, str]) -> Any:
    return send(client, "POST", f"{AC}/{action_id}/{verb}", headers=w)


def stored(action_id: Any) -> dict[str, Any]:
    return owner_sql("SELECT status, completed_at, version FROM actions WHERE id = %s", (action_id,))[0]


def test_crud_with_etags_and_one_audit_event_each(client: Any, w: dict[str, str]) -> None:
    group = create_client_group(client, w)
    mark = audit_watermark()
    resp = send(client, "POST", actions_of(group["id"]), headers=w, body={
        "action_name": "Sign the ISA transfer form", "description": "Post it back by the 14th", "owner": "client",
        "target_date": "2030-01-14"})
    action = expect_status(resp, 201)
    assert resp.headers["Location"] == f"{AC}/{action['id']}" and resp.headers["ETag"] == '"1"'
    assert {k: action[k] for k in ("client_group_id", "action_name", "description", "owner", "status",
                                   "target_date", "completed_at", "overdue", "version")} == {
        "client_group_id": group["id"], "action_name": "Sign the ISA transfer form",
        "description": "Post it back by the 14th", "owner": "client", "status": "outstanding",
        "target_date": "2030-01-14", "completed_at": None, "overdue": False, "version": 1}
    assert expect_status(send(client, "GET", f"{AC}/{action['id']}", headers=w), 200) == action
    assert_problem(send(client, "PATCH", f"{AC}/{action['id']}", headers=w, body={"owner": "adviser"}), 428)
    changed = expect_status(patch(client, action["id"], w, {"owner": "adviser", "description": None}, 1), 200)
    assert (changed["owner"], changed["description"], changed["version"]) == ("adviser", None, 2)
    assert_problem(patch(client, action["id"], w, {"owner": "client"}, 1), 412)
    expect_status(send(client, "DELETE", f"{AC}/{action['id']}", headers=w), 204)
    assert_problem(send(client, "GET", f"{AC}/{action['id']}", headers=w), 404)
    events = [(e["action"], e["resource_id"], e["changed_fields"]) for e in audit_events_since(mark)]
    assert events[0][:2] == ("action.create", action["id"])
    assert events[1] == ("action.update", action["id"], ["description", "owner"])
    assert events[2][:2] == ("action.delete", action["id"]) and len(events) == 3


def test_complete_and_reopen(client: Any, w: dict[str, str]) -> None:
    group = create_client_group(client, w)
    action = create_action(client, w, group["id"], target_date=(TODAY - timedelta(days=3)).isoformat())
    assert action["overdue"] is True
    mark = audit_watermark()
    before = owner_sql("SELECT now() AS t")[0]["t"]
    done = expect_status(post(client, action["id"], "complete", w), 200)
    after = owner_sql("SELECT now() AS t")[0]["t"]
    assert (done["status"], done["overdue"], done["version"]) == ("completed", False, 2)
    assert before <= datetime.fromisoformat(done["completed_at"]) <= after
    assert stored(action["id"])["status"] == "completed"
    # Completing twice, or changing a completed action's status by PATCH: 409, nothing written.
    assert_problem(post(client, action["id"], "complete", w), 409)
    assert_problem(patch(client, action["id"], w, {"status": "cancelled"}, 2), 409)
    # Completing is its own route: a PATCH cannot set status completed.
    assert [e["field"] for e in assert_problem(patch(client, action["id"], w, {"status": "completed"}, 2),
                                               422)["errors"]] == ["status"]
    # Other fields of a completed action may still change.
    expect_status(patch(client, action["id"], w, {"action_name": "Sent the pack"}, 2), 200)
    reopened = expect_status(post(client, action["id"], "reopen", w), 200)
    assert (reopened["status"], reopened["completed_at"], reopened["overdue"], reopened["version"]) == (
        "outstanding", None, True, 4)
    assert_problem(post(client, action["id"], "reopen", w), 409)
    # Cancelled: by PATCH; it is neither completed nor reopened by a PATCH, and reopening makes it outstanding.
    cancelled = expect_status(patch(client, action["id"], w, {"status": "cancelled"}, 4), 200)
    assert (cancelled["status"], cancelled["completed_at"], cancelled["overdue"]) == ("cancelled", None, False)
    assert_problem(post(client, action["id"], "complete", w), 409)
    assert expect_status(post(client, action["id"], "reopen", w), 200)["status"] == "outstanding"
    assert expect_status(patch(client, action["id"], w, {"status": "cancelled"}, 6), 200)["status"] == "cancelled"
    assert expect_status(patch(client, action["id"], w, {"status": "outstanding"}, 7), 200)["status"] == "outstanding"
    events = [e["action"] for e in audit_events_since(mark)]
    assert events == ["action.complete", "action.update", "action.reopen", "action.update", "action.reopen",
                      "action.update", "action.update"]
    [complete] = [e for e in audit_events_since(mark) if e["action"] == "action.complete"]
    assert complete["changed_fields"] == ["completed_at", "status"]
    assert complete["before"]["status"] == "outstanding" and complete["after"]["completed_at"] is not None


def test_refusals_change_nothing(client: Any, firm: Firm, w: dict[str, str]) -> None:
    group = create_client_group(client, w)
    action = create_action(client, w, group["id"])
    path = actions_of(group["id"])
    cases = [
        ("POST", path, {"action_name": "x", "owner": "planner"}, None, 422, ["owner"]),
        ("POST", path, {"owner": "client"}, None, 422, ["action_name"]),
        ("POST", path, {"action_name": " ", "owner": "client"}, None, 422, ["action_name"]),
        ("POST", path, {"action_name": "x", "owner": "client", "status": "completed"}, None, 422, ["status"]),
        ("POST", path, {"action_name": "x", "owner": "client", "completed_at": "2024-01-01T00:00:00Z"}, None, 422,
         ["completed_at"]),
        ("POST", path, {"action_name": "x", "owner": "client", "target_date": "2100-01-01"}, None, 422,
         ["target_date"]),
        ("PATCH", f"{AC}/{action['id']}", {"owner": None}, '"1"', 422, ["owner"]),
        ("PATCH", f"{AC}/{action['id']}", {"completed_at": "2024-01-01T00:00:00Z"}, '"1"', 422, ["completed_at"]),
        ("POST", f"{AC}/{action['id']}/reopen", None, None, 409, []),
        ("POST", f"{AC}/{action['id']}/complete", {"when": "now"}, None, 422, []),
        ("POST", actions_of(UUID(int=5)), {"action_name": "x", "owner": "client"}, None, 404, []),
        ("POST", f"{AC}/{UUID(int=5)}/complete", None, None, 404, []),
        ("GET", path + "?overdue=perhaps", None, None, 422, ["overdue"]),
        ("GET", path + "?due_before=2024-02-30", None, None, 422, ["due_before"]),
    ]
    for method, url, body, if_match, status, fields in cases:
        before, mark = firm_rows(firm.id), audit_watermark()
        headers = {**w, **({"If-Match": if_match} if if_match else {})}
        problem = assert_problem(send(client, method, url, headers=headers, body=body), status)
        assert [e["field"] for e in problem.get("errors", [])] == fields or not fields, (url, body, problem)
        assert audit_events_since(mark) == [] and firm_rows(firm.id) == before, (url, body)


def test_the_database_holds_completed_exactly_when_completed_at_is_set(client: Any, w: dict[str, str]) -> None:
    group = create_client_group(client, w)
    action = create_action(client, w, group["id"])
    insert = ("INSERT INTO actions (firm_id, client_group_id, action_name, owner, status, completed_at) "
              "SELECT firm_id, id, 'Raw', 'adviser', %s, %s FROM client_groups WHERE id = %s")
    for status, completed_at in (("completed", None), ("outstanding", "2024-01-01T00:00:00Z"),
                                 ("cancelled", "2024-01-01T00:00:00Z")):
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            owner_sql(insert, (status, completed_at, group["id"]))
        assert refused.value.diag.constraint_name == "actions_completed_when_completed_at"
    for change in ("status = 'completed'", "completed_at = now()"):
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            owner_sql(f"UPDATE actions SET {change} WHERE id = %s", (action["id"],))
        assert refused.value.diag.constraint_name == "actions_completed_when_completed_at"
    for status in ("done", "COMPLETED"):
        with pytest.raises(psycopg.errors.CheckViolation):
            owner_sql(insert, (status, None, group["id"]))
    owner_sql("UPDATE actions SET status = 'completed', completed_at = now() WHERE id = %s", (action["id"],))
    owner_sql(insert, ("completed", "2024-01-01T00:00:00Z", group["id"]))
    assert owner_sql("SELECT count(*) AS n FROM actions WHERE client_group_id = %s AND status = 'completed' "
                     "AND completed_at IS NOT NULL", (group["id"],))[0]["n"] == 2


@pytest.fixture(scope="module")
def listed(app_module: Any, firm: Firm) -> dict[str, Any]:
    """A household's actions around today: which are overdue is worked out here from the dates."""
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        w = firm.auth("adviser")
        group = create_client_group(c, w)
        day = lambda n: (TODAY + timedelta(days=n)).isoformat()  # noqa: E731
        made = {
            "late": create_action(c, w, group["id"], owner="client", target_date=day(-10)),
            "yesterday": create_action(c, w, group["id"], owner="adviser", target_date=day(-1)),
            "today": create_action(c, w, group["id"], owner="adviser", target_date=day(0)),
            "soon": create_action(c, w, group["id"], owner="client", target_date=day(7)),
            "undated": create_action(c, w, group["id"], owner="adviser"),
            "done_late": create_action(c, w, group["id"], owner="adviser", target_date=day(-20)),
            "cancelled_late": create_action(c, w, group["id"], owner="client", target_date=day(-5)),
        }
        expect_status(post(c, made["done_late"]["id"], "complete", w), 200)
        expect_status(patch(c, made["cancelled_late"]["id"], w, {"status": "cancelled"}, 1), 200)
        other = create_client_group(c, w)  # another household's overdue action is never listed
        create_action(c, w, other["id"], target_date=day(-10))
    return {"group": group["id"], "ids": {k: v["id"] for k, v in made.items()}, "day": day}


@pytest.mark.parametrize("query,expected", [
    # by target date, soonest first, actions without one last
    ("", ["done_late", "late", "cancelled_late", "yesterday", "today", "soon", "undated"]),
    ("sort=-target_date", ["undated", "soon", "today", "yesterday", "cancelled_late", "late", "done_late"]),
    ("sort=created_at", ["late", "yesterday", "today", "soon", "undated", "done_late", "cancelled_late"]),
    ("status=outstanding", ["late", "yesterday", "today", "soon", "undated"]),
    ("status=completed", ["done_late"]),
    ("status=cancelled", ["cancelled_late"]),
    ("owner=client", ["late", "cancelled_late", "soon"]),
    ("overdue=true", ["late", "yesterday"]),
    ("overdue=false", ["done_late", "cancelled_late", "today", "soon", "undated"]),
    ("overdue=true&owner=client", ["late"]),
    ("due_before=TODAY", ["done_late", "late", "cancelled_late", "yesterday"]),
    ("due_before=TODAY&status=outstanding", ["late", "yesterday"]),
    ("due_before=SOON", ["done_late", "late", "cancelled_late", "yesterday", "today"]),
])
def test_filters_and_order(client: Any, firm: Firm, listed: dict[str, Any], query: str,
                           expected: list[str]) -> None:
    query = query.replace("TODAY", TODAY.isoformat()).replace("SOON", listed["day"](7))
    url = actions_of(listed["group"]) + ("?" + query if query else "")
    ids = listed["ids"]
    assert list_ids(client, url, firm.auth("viewer")) == [ids[k] for k in expected]


def test_paging_in_due_order_shows_every_action_once(client: Any, firm: Firm, listed: dict[str, Any]) -> None:
    ids, path, w = listed["ids"], actions_of(listed["group"]), firm.auth("viewer")
    for sort in ("target_date", "-target_date", "created_at", "-updated_at"):
        seen, cursor = [], None
        while True:
            url = f"{path}?limit=2&sort={sort}" + (f"&cursor={cursor}" if cursor else "")
            body = expect_status(send(client, "GET", url, headers=w), 200)
            seen += [a["id"] for a in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(ids.values()) and len(seen) == len(ids), sort
    first = expect_status(send(client, "GET", f"{path}?limit=2", headers=w), 200)["next_cursor"]
    assert_problem(send(client, "GET", f"{path}?limit=2&sort=created_at&cursor={first}", headers=w), 422, "cursor")


def test_overdue_is_shown_on_each_action(client: Any, firm: Firm, listed: dict[str, Any]) -> None:
    body = expect_status(send(client, "GET", actions_of(listed["group"]), headers=firm.auth("viewer")), 200)
    shown = {a["id"]: a["overdue"] for a in body["items"]}
    ids = listed["ids"]
    assert {k for k, v in ids.items() if shown[v]} == {"late", "yesterday"}
    late = expect_status(send(client, "GET", f"{AC}/{ids['late']}", headers=firm.auth("viewer")), 200)
    assert late["overdue"] is True and date.fromisoformat(late["target_date"]) < TODAY
