"""Retention: the policies (defaults for every firm, the API's rules, the audit trail's floor) and the job
`retention` on a real PostgreSQL (rows inside and outside each period, archives read back from a file store and
from S3 under moto, a run stopped by its budget, a failed upload, other firms' rows and net worth statements)."""
from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Firm, assert_problem, make_firm, owner_sql
from tests.integration.matrix_support import create_household, expect_status, send

P = "/v1/ops/retention-policies"
DEFAULTS = {("audit_events", "other"): ("7 years", "archive"), ("audit_events", "security"): ("10 years", "archive"),
            ("sessions", "expired"): ("90 days", "delete"), ("notifications", "any"): ("30 days", "delete"),
            ("networth_statements", "any"): (None, "keep"), ("plans", "draft"): ("30 days", "delete")}


@pytest.fixture
def archive_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "archive"
    monkeypatch.setenv("RETENTION_ARCHIVE_STORE", f"file://{store}")
    return store


def policies(client: Any, firm: Firm) -> dict[tuple[str, str], dict[str, Any]]:
    body = expect_status(send(client, "GET", f"{P}?limit=200", headers=firm.auth()), 200)
    assert body["next_cursor"] is None
    return {(p["table_name"], p["condition"]): p for p in body["items"]}


def set_policy(client: Any, firm: Firm, table: str, condition: str, **changes: Any) -> dict[str, Any]:
    policy = policies(client, firm)[(table, condition)]
    return expect_status(send(client, "PATCH", f"{P}/{policy['id']}", headers={
        **firm.auth(), "If-Match": f'"{policy["version"]}"'}, body=changes), 200)


def run(**options: Any) -> Any:
    from chalicelib.ops.jobs import run_job

    result = run_job("retention", trigger="manual", **options)
    assert result.status == "succeeded", result
    return result


def firm_part(result: Any, firm: Firm) -> dict[str, Any] | None:
    rows = owner_sql("SELECT figures FROM firm_job_runs WHERE run_id = %s AND firm_id = %s", (result.id, firm.id))
    return rows[0]["figures"] if rows else None


# --- rows of known ages, written as the owner ---

def audit_event(firm: Firm, years_ago: int, days: int = 0, action: str = "client_group.update") -> str:
    """An audit event dated `years_ago` years (and `days` more days) before now, in a partition made for it."""
    when = owner_sql("SELECT now() - make_interval(years => %s, days => %s) AS t", (years_ago, days))[0]["t"]
    owner_sql("SELECT ensure_audit_partitions(%s::date, 1)", (when,))
    return str(owner_sql(
        "INSERT INTO audit_events (occurred_at, firm_id, actor_type, action, resource_type, resource_id, after, ip) "
        "VALUES (%s, %s, 'system', %s, 'client_group', %s, '{\"name\": \"Old\"}', '10.0.0.1') RETURNING id",
        (when, firm.id, action, str(uuid.uuid4())))[0]["id"])


def session(firm: Firm, *, expired_days_ago: int) -> str:
    user = firm.users["viewer"]["id"]
    return str(owner_sql(
        "INSERT INTO sessions (firm_id, user_id, chain_id, token_hash, created_at, expires_at, ip, user_agent) "
        "VALUES (%s, %s, gen_random_uuid(), %s, now() - make_interval(days => %s + 30), "
        "now() - make_interval(days => %s), '10.0.0.2', 'Browser/1.0') RETURNING id",
        (firm.id, user, uuid.uuid4().bytes * 2, expired_days_ago, expired_days_ago))[0]["id"])


def notification(firm: Firm, *, days_ago: int) -> str:
    return str(owner_sql(
        "INSERT INTO notifications (firm_id, user_id, kind, title, body, created_at) "
        "VALUES (%s, %s, 'test.old', 'Old news', 'Something happened', now() - make_interval(days => %s)) "
        "RETURNING id", (firm.id, firm.users["admin"]["id"], days_ago))[0]["id"])


def existing(table: str, ids: list[str]) -> set[str]:
    rows = owner_sql(f"SELECT id::text AS id FROM {table} WHERE id = ANY(%s::uuid[])", (ids,))
    return {r["id"] for r in rows}


def archived(directory: Path, firm: Firm, table: str) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(directory.glob(f"retention-{firm.id}-{table}-*.jsonl.gz")):
        rows += [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines()]
    return rows


# --- policies ---

def test_every_firm_starts_with_the_default_policies(client: Any, fresh_firm: Firm) -> None:
    found = policies(client, fresh_firm)
    assert {k: (p["period"], p["action"]) for k, p in found.items()} == DEFAULTS
    assert all(p["enabled"] and p["schedule"] == "daily" and p["version"] == 1 for p in found.values())
    # a firm made by raw SQL gets them too (the trigger on firms), and seeding again adds nothing
    firm_id = owner_sql("INSERT INTO firms (name) VALUES ('Raw SQL firm') RETURNING id")[0]["id"]
    assert owner_sql("SELECT count(*) AS n FROM data_retention_policies WHERE firm_id = %s",
                     (firm_id,))[0]["n"] == len(DEFAULTS)
    assert owner_sql("SELECT retention_default_policies(%s) AS n", (firm_id,))[0]["n"] == 0


def test_a_policy_changes_with_if_match_and_is_audited(client: Any, fresh_firm: Firm) -> None:
    policy = policies(client, fresh_firm)[("sessions", "expired")]
    resp = send(client, "GET", f"{P}/{policy['id']}", headers=fresh_firm.auth())
    assert expect_status(resp, 200) == policy and resp.headers["ETag"] == '"1"'
    assert_problem(send(client, "PATCH", f"{P}/{policy['id']}", headers=fresh_firm.auth(),
                        body={"period": "30 days"}), 428)
    changed = expect_status(send(client, "PATCH", f"{P}/{policy['id']}", headers={
        **fresh_firm.auth(), "If-Match": '"1"'}, body={"period": "6 months", "action": "anonymize",
                                                         "schedule": "weekly"}), 200)
    assert (changed["period"], changed["action"], changed["schedule"], changed["version"]) == (
        "6 months", "anonymize", "weekly", 2)
    assert_problem(send(client, "PATCH", f"{P}/{policy['id']}", headers={**fresh_firm.auth(), "If-Match": '"1"'},
                        body={"enabled": False}), 412)
    [event] = owner_sql("SELECT action, changed_fields, before, after FROM audit_events WHERE firm_id = %s "
                        "AND resource_type = 'retention_policy' AND resource_id = %s", (fresh_firm.id, policy["id"]))
    assert event["action"] == "retention_policy.update"
    assert event["changed_fields"] == ["action", "period", "schedule"]
    assert (event["before"]["period"], event["after"]["period"]) == ("90 days", "6 months")
    # 12 months is a year, as the database writes it; keeping for ever needs the period cleared with it
    assert expect_status(send(client, "PATCH", f"{P}/{policy['id']}", headers={
        **fresh_firm.auth(), "If-Match": '"2"'}, body={"period": "12 months"}), 200)["period"] == "1 year"
    kept = expect_status(send(client, "PATCH", f"{P}/{policy['id']}", headers={
        **fresh_firm.auth(), "If-Match": '"3"'}, body={"period": None, "action": "keep"}), 200)
    assert (kept["period"], kept["action"]) == (None, "keep")


@pytest.mark.parametrize(("body", "field"), [
    ({"period": "6 years"}, "period"),  # below the audit trail's 7 years
    ({"period": "83 months"}, "period"),
    ({"period": "2556 days"}, "period"),  # 7 years can be 2,557 days long
    ({"action": "anonymize"}, "action"),  # an audit event is never anonymized
    ({"period": None}, "period"),  # no period without keep
    ({"action": "keep"}, "period"),  # keep has no period
    ({"period": "7 weeks"}, "period"),
    ({"period": "0 days"}, "period"),
    ({"enabled": "maybe"}, "enabled"),
    ({"table_name": "sessions"}, "table_name"),  # the table never changes
])
def test_an_invalid_audit_policy_change_is_a_422_and_changes_nothing(client: Any, firm_a: Firm, body: dict[str, Any],
                                                                    field: str) -> None:
    policy = policies(client, firm_a)[("audit_events", "other")]
    assert_problem(send(client, "PATCH", f"{P}/{policy['id']}", headers={
        **firm_a.auth(), "If-Match": f'"{policy["version"]}"'}, body=body), 422, field)
    assert policies(client, firm_a)[("audit_events", "other")] == policy


def test_the_audit_floor_is_exact_and_the_database_holds_it(client: Any, fresh_firm: Firm) -> None:
    policy = policies(client, fresh_firm)[("audit_events", "other")]
    ok = expect_status(send(client, "PATCH", f"{P}/{policy['id']}", headers={
        **fresh_firm.auth(), "If-Match": '"1"'}, body={"period": "2557 days", "action": "delete"}), 200)
    assert ok["period"] == "2557 days"
    import psycopg

    for period in ("6 years", "2556 days", "6 years 400 days", "7 years 1 hour"):
        with pytest.raises(psycopg.errors.CheckViolation):
            owner_sql("UPDATE data_retention_policies SET period = %s::interval WHERE id = %s", (period, policy["id"]))
    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("UPDATE data_retention_policies SET action = 'delete', period = '1 year' WHERE firm_id = %s "
                  "AND table_name = 'networth_statements'", (fresh_firm.id,))


def test_creating_policies(client: Any, fresh_firm: Firm) -> None:
    made = send(client, "POST", P, headers=fresh_firm.auth(), body={
        "table_name": "notifications", "condition": "read", "period": "7 days", "action": "delete"})
    body = expect_status(made, 201)
    assert made.headers["Location"] == f"{P}/{body['id']}"
    assert (body["period"], body["action"], body["schedule"], body["enabled"]) == ("7 days", "delete", "daily", True)
    assert owner_sql("SELECT action FROM audit_events WHERE firm_id = %s AND resource_id = %s",
                     (fresh_firm.id, body["id"])) == [{"action": "retention_policy.create"}]
    assert_problem(send(client, "POST", P, headers=fresh_firm.auth(), body={
        "table_name": "notifications", "condition": "read", "period": "9 days", "action": "delete"}), 409)
    for bad, field in (({"table_name": "networth_statements", "condition": "any", "period": "10 years",
                         "action": "delete"}, "action"),
                       ({"table_name": "sessions", "condition": "stale", "period": "1 day", "action": "delete"},
                        "condition"),
                       ({"table_name": "users", "condition": "any", "period": "1 day", "action": "delete"},
                        "table_name"),
                       ({"table_name": "sessions", "condition": "revoked", "action": "delete"}, "period"),
                       ({"table_name": "notifications", "condition": "read", "period": "1 day",
                         "action": "anonymize"}, "action"),
                       ({"table_name": "sessions", "condition": "revoked", "period": "1 day", "action": "delete",
                         "sql": "true"}, "sql")):
        assert_problem(send(client, "POST", P, headers=fresh_firm.auth(), body=bad), 422, field)
    assert len(policies(client, fresh_firm)) == len(DEFAULTS) + 1
    for who in ("adviser", "analyst", "write"):
        assert_problem(send(client, "GET", P, headers=fresh_firm.auth(who)), 403)


# --- the job ---

def test_retention_removes_exactly_the_rows_outside_each_period_and_the_archive_holds_them_all(
        client: Any, archive_dir: Path) -> None:
    a, b = make_firm(), make_firm()
    # firm B keeps its ordinary audit events for ever: its old rows must stay
    set_policy(client, b, "audit_events", "other", action="keep", period=None)
    a_out = [audit_event(a, 8), audit_event(a, 7, days=1), audit_event(a, 11, action="auth.login")]
    a_in = [audit_event(a, 6), audit_event(a, 7, days=-1), audit_event(a, 8, action="auth.login")]
    b_rows = [audit_event(b, 8), audit_event(b, 12)]
    s_out, s_in = session(a, expired_days_ago=91), session(a, expired_days_ago=89)
    n_out, n_in = notification(a, days_ago=31), notification(a, days_ago=29)
    b_session, b_note = session(b, expired_days_ago=200), notification(b, days_ago=5)
    house = create_household(client, a.auth())
    statement = expect_status(send(client, "POST", f"/v1/client-groups/{house.group_id}/networth-statements",
                                   headers=a.auth(), body={"name": "Review"}), 201)
    statements = owner_sql("SELECT * FROM networth_statements ORDER BY id")
    before = {r["id"]: r for r in owner_sql("SELECT * FROM audit_events WHERE id = ANY(%s::uuid[])", (a_out,))}

    first = run()
    assert existing("audit_events", a_out + a_in + b_rows) == set(a_in + b_rows)
    assert existing("sessions", [s_out, s_in, b_session]) == {s_in}  # B's expired session goes by B's own policy
    assert existing("notifications", [n_out, n_in, b_note]) == {n_in, b_note}
    assert owner_sql("SELECT * FROM networth_statements ORDER BY id") == statements
    assert statement["id"] in {str(s["id"]) for s in statements}

    # the archive holds every archived row, whole, and nothing else of the firm
    rows = archived(archive_dir, a, "audit_events")
    assert sorted(r["id"] for r in rows) == sorted(a_out)
    for row in rows:
        original = before[uuid.UUID(row["id"])]
        assert row["action"] == original["action"] and row["after"] == original["after"]
        assert row["ip"] == "10.0.0.1" and row["firm_id"] == str(a.id)
    assert not archived(archive_dir, b, "audit_events")
    assert len(list(archive_dir.glob(f"retention-{a.id}-audit_events-security-*"))) == 1
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in archive_dir.iterdir())

    part = firm_part(first, a)
    assert part == {"tables": {"audit_events": {"archived": 3}, "sessions": {"deleted": 1},
                               "notifications": {"deleted": 1}}, "complete": True}
    assert firm_part(first, b)["tables"] == {"sessions": {"deleted": 1}}
    assert first.figures["complete"] is True and first.figures["archive_objects"] >= 2
    assert first.figures["tables"]["audit_events"]["archived"] >= 3

    # a second run finds nothing more for either firm and writes no archive
    objects = sorted(p.name for p in archive_dir.iterdir())
    second = run()
    assert firm_part(second, a) is None and firm_part(second, b) is None
    assert sorted(p.name for p in archive_dir.iterdir()) == objects
    assert existing("audit_events", a_in + b_rows) == set(a_in + b_rows)


def test_a_run_stopped_by_its_budget_resumes_where_it_stopped(client: Any, archive_dir: Path) -> None:
    firm = make_firm()
    old = [notification(firm, days_ago=40 + i) for i in range(5)]
    kept = notification(firm, days_ago=1)
    parts, runs, left = [], [], []
    for _ in range(20):
        result = run(budget_seconds=0, batch_size=2)
        runs.append(result.figures)
        part = firm_part(result, firm)
        if part:
            parts.append(part)
            left.append(existing("notifications", old))
        if result.figures["complete"]:
            break
    assert [p["tables"]["notifications"]["deleted"] for p in parts] == [2, 2, 1]
    assert [p["complete"] for p in parts][:2] == [False, False]
    assert runs[0]["complete"] is False and runs[0]["stopped"].startswith("time budget")
    assert runs[-1]["complete"] is True
    assert existing("notifications", [*old, kept]) == {kept}
    # oldest first: old[4] is the oldest
    assert left == [set(old[:3]), set(old[:1]), set()]
    assert owner_sql("SELECT last_completed_at IS NOT NULL AS done FROM data_retention_policies WHERE firm_id = %s "
                     "AND table_name = 'notifications'", (firm.id,)) == [{"done": True}]


def test_a_failed_upload_deletes_nothing_and_fails_the_run(client: Any, archive_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.ops.backups import storage
    from chalicelib.ops.jobs import run_job

    firm = make_firm()
    rows = [audit_event(firm, 9), audit_event(firm, 9, days=3)]

    def refuse(self: Any, name: str, data: bytes) -> None:
        raise OSError("the archive store is full")

    monkeypatch.setattr(storage.FileStore, "put_bytes", refuse)
    with pytest.raises(OSError):
        run_job("retention", trigger="manual")
    assert existing("audit_events", rows) == set(rows)
    [failed] = owner_sql("SELECT status, error FROM job_runs WHERE job_name = 'retention' "
                         "ORDER BY started_at DESC LIMIT 1")
    assert failed["status"] == "failed" and "archive store is full" in failed["error"]
    monkeypatch.undo()
    monkeypatch.setenv("RETENTION_ARCHIVE_STORE", f"file://{archive_dir}")
    run()
    assert existing("audit_events", rows) == set()
    assert sorted(r["id"] for r in archived(archive_dir, firm, "audit_events")) == sorted(rows)


def test_anonymizing_sessions_clears_their_address_and_keeps_the_rest(client: Any, archive_dir: Path) -> None:
    firm = make_firm()
    set_policy(client, firm, "sessions", "expired", action="anonymize", period="30 days")
    old, recent = session(firm, expired_days_ago=45), session(firm, expired_days_ago=10)
    before = owner_sql("SELECT * FROM sessions WHERE id = %s", (old,))[0]
    first = run()
    assert firm_part(first, firm)["tables"] == {"sessions": {"anonymized": 1}}
    after = owner_sql("SELECT * FROM sessions WHERE id = %s", (old,))[0]
    assert (after["ip"], after["user_agent"]) == (None, None)
    assert {k: v for k, v in after.items() if k not in ("ip", "user_agent")} == \
        {k: v for k, v in before.items() if k not in ("ip", "user_agent")}
    assert owner_sql("SELECT ip FROM sessions WHERE id = %s", (recent,)) == [{"ip": "10.0.0.2"}]
    assert firm_part(run(), firm) is None  # anonymized already: nothing to do


def test_audit_partitions_left_empty_beyond_the_floor_are_dropped(client: Any, archive_dir: Path) -> None:
    firm = make_firm()
    row = audit_event(firm, 9, days=40)  # its own month, far past every firm's floor
    month = owner_sql("SELECT to_char(occurred_at, 'YYYYMM') AS m FROM audit_events WHERE id = %s", (row,))[0]["m"]
    result = run()
    assert f"audit_events_{month}" in result.figures["audit_partitions_dropped"]
    assert owner_sql("SELECT to_regclass(%s) IS NULL AS gone", (f"audit_events_{month}",)) == [{"gone": True}]
    assert archived(archive_dir, firm, "audit_events")[0]["id"] == row
    # the current month's partition and those ahead are never candidates
    assert owner_sql("SELECT to_regclass('audit_events_' || to_char(now(), 'YYYYMM')) IS NOT NULL AS kept") == [
        {"kept": True}]


def test_archives_go_to_s3_encrypted(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    from tests.integration.backup_support import REGION

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing"), ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RETENTION_ARCHIVE_STORE", "s3://wealthdesk-archive-test/retention")
    firm = make_firm()
    rows = [audit_event(firm, 10), audit_event(firm, 10, days=2)]
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="wealthdesk-archive-test", CreateBucketConfiguration={"LocationConstraint": REGION})
        result = run()
        assert result.figures["archive_store"] == "s3://wealthdesk-archive-test/retention"
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="wealthdesk-archive-test")["Contents"]
                if o["Key"].startswith(f"retention/retention-{firm.id}-audit_events-")]
        assert len(keys) == 1
        assert s3.head_object(Bucket="wealthdesk-archive-test", Key=keys[0])["ServerSideEncryption"] == "AES256"
        body = s3.get_object(Bucket="wealthdesk-archive-test", Key=keys[0])["Body"].read()
        assert sorted(json.loads(line)["id"] for line in gzip.decompress(body).decode().splitlines()) == sorted(rows)
    assert existing("audit_events", rows) == set()


def test_a_weekly_policy_runs_a_week_after_its_last_complete_pass(client: Any, archive_dir: Path) -> None:
    firm = make_firm()
    set_policy(client, firm, "notifications", "any", schedule="weekly")
    first = notification(firm, days_ago=60)
    assert firm_part(run(), firm) == {"tables": {"notifications": {"deleted": 1}}, "complete": True}
    assert existing("notifications", [first]) == set()
    second = notification(firm, days_ago=60)
    assert firm_part(run(), firm) is None  # completed a moment ago: not due for a week
    assert existing("notifications", [second]) == {second}
    owner_sql("UPDATE data_retention_policies SET last_completed_at = now() - interval '7 days' WHERE firm_id = %s "
              "AND table_name = 'notifications'", (firm.id,))
    assert firm_part(run(), firm)["tables"] == {"notifications": {"deleted": 1}}
    # the job's bookkeeping is not an admin's change: the policy's version and updated_at stay
    policy = policies(client, firm)[("notifications", "any")]
    assert policy["version"] == 2 and policy["last_completed_at"] is not None
    [row] = owner_sql("SELECT updated_at < last_completed_at AS touched_before FROM data_retention_policies "
                      "WHERE id = %s", (policy["id"],))
    assert row["touched_before"] is True


def test_a_disabled_or_keep_policy_touches_nothing(client: Any, archive_dir: Path) -> None:
    firm = make_firm()
    set_policy(client, firm, "notifications", "any", enabled=False)
    set_policy(client, firm, "audit_events", "other", action="keep", period=None)
    rows = [notification(firm, days_ago=400), audit_event(firm, 20)]
    assert firm_part(run(), firm) is None
    assert existing("notifications", rows[:1]) == set(rows[:1])
    assert existing("audit_events", rows[1:]) == set(rows[1:])
