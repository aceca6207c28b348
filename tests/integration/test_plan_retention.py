"""Draft plans expire: the retention policy plans/draft (every firm's default: 30 days, delete) on a real PostgreSQL.

A plan is removed whole, only when every version is a draft, its newest version is older than the period and no
other table's row links any version: drafts outside the period go, drafts inside stay, a plan with a final version
stays whole (its drafts are the final's ancestors or numbered in its line), a linked draft stays. The removal is
recorded in the run's figures and the firm's part, and archived first when the policy archives."""
from __future__ import annotations

import gzip
import json
import threading
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.concurrency_support import wait_until_blocked_or_done
from tests.integration.matrix_support import create_client_group, expect_status, send
from tests.integration.planning_support import (
    PLANS,
    create_cma_set,
    create_plan,
    create_planning_household,
    create_portfolio_model,
    plan_inputs,
)
from tests.integration.test_retention import policies, run, set_policy


@pytest.fixture
def archive_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "archive"
    monkeypatch.setenv("RETENTION_ARCHIVE_STORE", f"file://{store}")
    return store


class Planner:
    """A fresh firm with an approved CMA set, and plan versions of known ages written as the owner (a version's
    date cannot be changed afterwards: versions are immutable)."""

    def __init__(self, client: Any) -> None:
        self.firm = make_firm()
        self.cma = create_cma_set(client, self.firm.auth(), approve=self.firm.auth())
        self.group = create_client_group(client, self.firm.auth())["id"]

    def version(self, *, days_ago: float, status: str = "draft", parent: str | None = None,
                group: str | None = None) -> str:
        new = str(uuid.uuid4())
        root = owner_sql("SELECT root_plan_id FROM plans WHERE id = %s", (parent,))[0]["root_plan_id"] if parent \
            else new
        owner_sql(
            "INSERT INTO plans (id, firm_id, client_group_id, root_plan_id, parent_plan_id, version, name, status, "
            "as_of, cma_set_id, inputs, created_at, created_by_type) "
            "SELECT %(id)s, %(firm)s, %(group)s, %(root)s, %(parent)s, "
            "(SELECT coalesce(max(version), 0) + 1 FROM plans WHERE root_plan_id = %(root)s), 'Retirement', "
            "%(status)s, (now() - make_interval(days => %(days)s))::date, %(cma)s, '{\"horizon_years\": 30}', "
            "now() - make_interval(secs => %(days)s * 86400), 'system'",
            {"id": new, "firm": self.firm.id, "group": group or self.group, "root": root, "parent": parent,
             "status": status, "days": days_ago, "cma": self.cma["id"]})
        return new


def existing(ids: list[str]) -> set[str]:
    return {str(r["id"]) for r in owner_sql("SELECT id FROM plans WHERE id = ANY(%s::uuid[])", (ids,))}


def firm_part(result: Any, firm: Firm) -> dict[str, Any] | None:
    rows = owner_sql("SELECT figures FROM firm_job_runs WHERE run_id = %s AND firm_id = %s", (result.id, firm.id))
    return rows[0]["figures"] if rows else None


def test_every_firm_has_the_draft_plan_policy(client: Any, fresh_firm: Firm) -> None:
    policy = policies(client, fresh_firm)[("plans", "draft")]
    assert (policy["period"], policy["action"], policy["schedule"], policy["enabled"]) == (
        "30 days", "delete", "daily", True)


def test_drafts_outside_the_period_go_inside_stay_and_finals_never(client: Any, archive_dir: Path) -> None:
    p = Planner(client)
    old = p.version(days_ago=31)
    recent = p.version(days_ago=29)
    final = p.version(days_ago=400, status="final")
    # A line of drafts untouched for the period goes whole: a parent with its children.
    line = [p.version(days_ago=60)]
    line.append(p.version(days_ago=45, parent=line[0]))
    line.append(p.version(days_ago=40, parent=line[1]))
    line.append(p.version(days_ago=35, parent=line[0]))  # a branch from version 1
    # Touched within the period (a version added 10 days ago): kept whole, its old draft too.
    touched = [p.version(days_ago=90)]
    touched.append(p.version(days_ago=10, parent=touched[0]))
    # A final made from a draft: the draft is its ancestor and root; a later draft is numbered in its line.
    with_final = [p.version(days_ago=90)]
    with_final.append(p.version(days_ago=80, status="final", parent=with_final[0]))
    with_final.append(p.version(days_ago=70, parent=with_final[1]))
    with_final.append(p.version(days_ago=65, parent=with_final[0]))  # a draft branch beside the final
    everything = [old, recent, final, *line, *touched, *with_final]

    result = run()
    assert existing(everything) == {recent, final, *touched, *with_final}
    assert firm_part(result, p.firm) == {"tables": {"plans": {"deleted": 5}}, "complete": True}
    assert result.figures["tables"]["plans"]["deleted"] >= 5
    assert owner_sql("SELECT last_completed_at IS NOT NULL AS done FROM data_retention_policies WHERE firm_id = %s "
                     "AND table_name = 'plans'", (p.firm.id,)) == [{"done": True}]
    # nothing is left to do: the next run removes nothing of the firm's
    assert firm_part(run(), p.firm) is None
    assert existing(everything) == {recent, final, *touched, *with_final}


def test_a_plan_made_through_the_api_is_kept_and_the_household_can_go_once_its_drafts_have(
        client: Any, archive_dir: Path) -> None:
    p = Planner(client)
    model = create_portfolio_model(client, p.firm.auth(), p.cma["id"])
    house = create_planning_household(client, p.firm.auth())
    made = create_plan(client, p.firm.auth(), house, p.cma["id"], model["id"])
    old = p.version(days_ago=45, group=house.group_id)
    run()
    assert existing([made["id"], old]) == {made["id"]}
    expect_status(send(client, "GET", f"{PLANS}/{made['id']}", headers=p.firm.auth()), 200)
    assert_problem(send(client, "GET", f"{PLANS}/{old}", headers=p.firm.auth()), 404)


def test_each_firm_by_its_own_policy(client: Any, archive_dir: Path) -> None:
    a, b = Planner(client), Planner(client)
    set_policy(client, b.firm, "plans", "draft", action="keep", period=None)
    a_old, b_old = a.version(days_ago=40), b.version(days_ago=40)
    set_policy(client, a.firm, "plans", "draft", period="60 days")
    run()
    assert existing([a_old, b_old]) == {a_old, b_old}
    set_policy(client, a.firm, "plans", "draft", period="14 days")
    result = run()
    assert existing([a_old, b_old]) == {b_old}
    assert firm_part(result, b.firm) is None


def test_archiving_draft_plans_writes_every_version_first(client: Any, archive_dir: Path) -> None:
    p = Planner(client)
    set_policy(client, p.firm, "plans", "draft", action="archive")
    first = p.version(days_ago=50)
    second = p.version(days_ago=40, parent=first)
    result = run()
    assert existing([first, second]) == set()
    [name] = list(archive_dir.glob(f"retention-{p.firm.id}-plans-draft-*.jsonl.gz"))
    rows = [json.loads(line) for line in gzip.decompress(name.read_bytes()).decode().splitlines()]
    assert [(r["id"], r["version"], r["parent_plan_id"], r["status"]) for r in rows] == [
        (first, 1, None, "draft"), (second, 2, first, "draft")]
    assert rows[1]["inputs"] == {"horizon_years": 30}
    assert firm_part(result, p.firm) == {"tables": {"plans": {"archived": 2}}, "complete": True}


def test_the_policy_rules_hold_in_the_api_and_the_database(client: Any, fresh_firm: Firm) -> None:
    policy = policies(client, fresh_firm)[("plans", "draft")]
    headers = {**fresh_firm.auth(), "If-Match": f'"{policy["version"]}"'}
    for body, field in (({"action": "anonymize"}, "action"), ({"action": "keep"}, "period")):
        assert_problem(send(client, "PATCH", f"/v1/ops/retention-policies/{policy['id']}", headers=headers,
                            body=body), 422, field)
    assert_problem(send(client, "POST", "/v1/ops/retention-policies", headers=fresh_firm.auth(),
                        body={"table_name": "plans", "condition": "final", "period": "1 year", "action": "delete"}),
                   422, "condition")
    assert_problem(send(client, "POST", "/v1/ops/retention-policies", headers=fresh_firm.auth(),
                        body={"table_name": "plans", "condition": "draft", "period": "1 year", "action": "delete"}),
                   409)
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("UPDATE data_retention_policies SET action = 'anonymize' WHERE id = %s", (policy["id"],))
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("INSERT INTO data_retention_policies (firm_id, table_name, condition, period, action) "
                  "VALUES (%s, 'plans', 'final', interval '1 year', 'delete')", (fresh_firm.id,))
    # outside a retention run the database still refuses to delete a draft
    old = Planner(client).version(days_ago=100)
    with pytest.raises(psycopg.errors.RestrictViolation, match="immutable"):
        owner_sql("DELETE FROM plans WHERE id = %s", (old,))


def test_a_draft_that_was_run_or_that_an_objective_follows_is_kept(client: Any, archive_dir: Path) -> None:
    """Plan runs and objectives link plans: a draft plan with a run, or followed by an objective, stays past its
    period; once the objective follows no plan the draft goes with the next run, and a plain draft goes at once."""
    p = Planner(client)
    ran, followed, plain = p.version(days_ago=60), p.version(days_ago=60), p.version(days_ago=60)
    owner_sql("INSERT INTO plan_runs (firm_id, plan_id, request, created_by_type) VALUES (%s, %s, '{}', 'system')",
              (p.firm.id, ran))
    made = expect_status(send(client, "POST", f"/v1/client-groups/{p.group}/objectives", headers=p.firm.auth(),
                              body={"title": "Retire at 60", "progress_percentage": "10", "plan_id": followed}), 201)
    run()
    assert existing([ran, followed, plain]) == {ran, followed}
    expect_status(send(client, "PATCH", f"/v1/objectives/{made['id']}",
                       headers={**p.firm.auth(), "If-Match": f'"{made["version"]}"'}, body={"plan_id": None}), 200)
    run()
    assert existing([ran, followed, plain]) == {ran}
    assert owner_sql("SELECT count(*) AS n FROM plan_runs WHERE plan_id = %s", (ran,)) == [{"n": 1}]


def test_a_draft_another_table_links_is_kept(client: Any) -> None:
    """A table that links plans (ON DELETE CASCADE, as plan runs do) is found in the catalog: a draft it links is
    kept, whole with its plan, while an unlinked one goes. Staged in one transaction that makes the table, rolled
    back."""
    from chalicelib.core import db
    from chalicelib.ops.retention import service, store

    p = Planner(client)
    linked_line = [p.version(days_ago=50)]
    linked_line.append(p.version(days_ago=45, parent=linked_line[0]))
    free = p.version(days_ago=50)
    with db.owner_connection(autocommit=False) as conn:
        conn.execute("CREATE TABLE test_plan_links (plan_id uuid NOT NULL REFERENCES plans (id) "
                     "ON DELETE CASCADE)")
        conn.execute("INSERT INTO test_plan_links VALUES (%s)", (linked_line[0],))
        links = store.plan_links(conn)
        assert [link[1:] for link in links if link[1] == "test_plan_links"] == [("test_plan_links", "plan_id")]
        cutoff = conn.execute("SELECT now() - interval '30 days' AS t").fetchone()["t"]
        policy = {"firm_id": p.firm.id, "cutoff": cutoff}
        assert service._plan_batch(conn, policy, 100, links, None) == (1, 1)
        left = {str(r["id"]) for r in conn.execute("SELECT id FROM plans WHERE firm_id = %s", (p.firm.id,))}
        assert left == set(linked_line)
        assert conn.execute("SELECT count(*) AS n FROM test_plan_links").fetchone()["n"] == 1
        conn.rollback()
    assert existing([*linked_line, free]) == {*linked_line, free}


def test_a_household_another_transaction_holds_is_left_to_the_next_run(client: Any, archive_dir: Path) -> None:
    from chalicelib.core import db

    p = Planner(client)
    held = p.version(days_ago=40)
    with db.owner_connection(autocommit=False) as other:
        other.execute("SELECT id FROM client_groups WHERE id = %s FOR UPDATE", (p.group,))  # as a plan being written
        result = run()
        other.rollback()
    assert existing([held]) == {held} and firm_part(result, p.firm) is None
    run()
    assert existing([held]) == set()


def test_a_new_version_of_a_plan_being_removed_is_a_404(client: Any, archive_dir: Path) -> None:
    """The plan service takes the household's lock before it adds a version, and reads the parent again once it
    holds it: a version asked for while the job removes its plan waits, then finds no plan (404), never a 409 or
    500 from a foreign key."""
    from chalicelib.core import db
    from chalicelib.ops.retention import store

    p = Planner(client)
    model = create_portfolio_model(client, p.firm.auth(), p.cma["id"])
    house = create_planning_household(client, p.firm.auth())
    old = p.version(days_ago=40, group=house.group_id)
    answer: dict[str, Any] = {}
    with db.owner_connection(autocommit=True) as conn:
        with conn.transaction():
            cutoff = conn.execute("SELECT now() - interval '30 days' AS t").fetchone()["t"]
            candidates, rows = store.lock_plan_batch(conn, p.firm.id, cutoff, 100, store.plan_links(conn))
            assert (candidates, [str(r["id"]) for r in rows]) == (1, [old])

            def ask() -> None:
                answer["response"] = send(client, "POST", f"{PLANS}/{old}/versions", headers=p.firm.auth(),
                                          body={"inputs": plan_inputs(house, p.cma["id"], model["id"])})

            thread = threading.Thread(target=ask)
            thread.start()
            wait_until_blocked_or_done(thread)
            assert thread.is_alive(), "the new version did not wait for the household"
            assert store.delete_plans(conn, p.firm.id, rows) == 1
        thread.join(60)
    assert_problem(answer["response"], 404)
    assert existing([old]) == set()
