"""Rate limits per user, per API key and, on the sign-in routes, per source address (migration 0020,
docs/security.md "Rate limits"), counted in PostgreSQL, through the real handlers.

The suite raises every limit (RATE_LIMIT_SCALE in tests/conftest.py); every test here removes the setting, so what
they see is what a deployed stage has. Windows are fixed minutes: a test that must stay inside one starts in a
minute with enough of it left (`_fresh_window`, at most a few seconds' wait), and a test that needs the next
window moves the counted one back in time in the database instead of waiting for it.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.conftest import Firm, assert_problem, owner_sql
from tests.integration import login_support
from tests.integration.matrix_support import (
    add_portfolio_fund,
    audit_events_since,
    audit_watermark,
    create_fund,
    create_household,
    create_product,
    expect_status,
    send,
    unique,
)

STANDARD = {"tier": "standard", "window_seconds": 60, "default_requests": 60, "bulk_requests": 10,
            "auth_requests": 10, "source_requests": 30}
ELEVATED = {"tier": "elevated", "window_seconds": 60, "default_requests": 300, "bulk_requests": 60,
            "auth_requests": 10, "source_requests": 30}


@pytest.fixture(autouse=True)
def deployed_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limits as a deployed stage has them: no RATE_LIMIT_SCALE."""
    monkeypatch.delenv("RATE_LIMIT_SCALE", raising=False)


def _fresh_window(needed: float = 12.0) -> None:
    """Start in a minute with at least `needed` seconds left (windows are whole minutes of the shared clock)."""
    left = 60 - time.time() % 60
    if left < needed:
        time.sleep(left + 0.2)


def _rate(resp: Any) -> tuple[int, int, int]:
    h = resp.headers
    return int(h["RateLimit-Limit"]), int(h["RateLimit-Remaining"]), int(h["RateLimit-Reset"])


def _principal(kind: str, ident: Any) -> str:
    return f"{kind}:{ident}"


def _key_id(key: str) -> str:
    return str(owner_sql("SELECT id FROM api_keys WHERE prefix = %s", (key[:12],))[0]["id"])


def _window_over(principal: str) -> None:
    """The principal's counted windows end: moved an hour back, as if the time had passed."""
    owner_sql("UPDATE rate_counters SET window_start = window_start - interval '1 hour', "
              "expires_at = expires_at - interval '1 hour' WHERE principal = %s", (principal,))


def test_the_migration_seeds_the_standard_and_elevated_tiers() -> None:
    rows = owner_sql("SELECT tier, window_seconds, default_requests, bulk_requests, auth_requests, source_requests "
                     "FROM rate_limit_tiers WHERE tier IN ('standard', 'elevated') ORDER BY tier")
    assert rows == [ELEVATED, STANDARD]
    assert owner_sql("SELECT column_default FROM information_schema.columns WHERE table_name = 'firms' "
                     "AND column_name = 'rate_limit_tier'") == [{"column_default": "'standard'::text"}]


def test_the_default_applies_when_the_setting_is_absent(client: Any, fresh_firm: Firm,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.core import config

    assert config.settings().rate_limit_scale == 1
    resp = send(client, "GET", "/v1/client-groups", headers=fresh_firm.auth("viewer"))
    assert resp.status_code == 200 and _rate(resp)[0] == 60
    monkeypatch.setenv("RATE_LIMIT_SCALE", "1000")  # what the rest of the suite runs with
    resp = send(client, "GET", "/v1/client-groups", headers=fresh_firm.auth("viewer"))
    assert _rate(resp)[0] == 60_000


def test_every_authenticated_answer_carries_the_window_counting_down(client: Any, fresh_firm: Firm) -> None:
    _fresh_window()
    auth = fresh_firm.auth("viewer")
    seen = []
    answers = [send(client, "GET", "/v1/client-groups", headers=auth),  # 200, one transaction
               send(client, "GET", f"/v1/client-groups/{uuid.uuid4()}", headers=auth),  # 404: rolled back
               send(client, "GET", "/v1/client-groups?limit=nope", headers=auth),  # 422: never reached the database
               send(client, "POST", "/v1/client-groups", headers=auth, body={"name": "X", "type": "family"}),  # 403
               send(client, "GET", "/v1/me", headers=auth)]
    assert [r.status_code for r in answers] == [200, 404, 422, 403, 200]
    for resp in answers:
        limit, remaining, reset = _rate(resp)
        assert limit == 60 and 1 <= reset <= 60
        seen.append(remaining)
    assert seen == [59, 58, 57, 56, 55]  # every request counted once, whatever became of it
    rows = owner_sql("SELECT bucket, sum(count) AS n FROM rate_counters WHERE principal = %s GROUP BY bucket",
                     (_principal("user", fresh_firm.users["viewer"]["id"]),))
    assert rows == [{"bucket": "default", "n": 5}]
    # an answer without a credential has no window to show
    anonymous = send(client, "GET", "/v1/client-groups")
    assert anonymous.status_code == 401 and "RateLimit-Limit" not in anonymous.headers


def test_the_61st_request_is_refused_and_its_write_does_not_happen(client: Any, fresh_firm: Firm) -> None:
    _fresh_window()
    auth = fresh_firm.auth("adviser")
    for i in range(60):
        resp = send(client, "GET", "/v1/client-groups?limit=1", headers=auth)
        assert resp.status_code == 200 and _rate(resp)[1] == 59 - i
    name = unique("Refused household")
    mark = audit_watermark()
    refused = send(client, "POST", "/v1/client-groups", headers={**auth, "Idempotency-Key": unique("k")},
                   body={"name": name, "type": "family"})
    body = assert_problem(refused, 429)
    assert body["type"].endswith("/rate-limited")
    limit, remaining, reset = _rate(refused)
    assert (limit, remaining) == (60, 0) and refused.headers["Retry-After"] == str(reset) and 1 <= reset <= 60
    assert owner_sql("SELECT count(*) AS n FROM client_groups WHERE name = %s", (name,)) == [{"n": 0}]
    assert owner_sql("SELECT count(*) AS n FROM idempotency_keys WHERE principal_id = %s",
                     (fresh_firm.users["adviser"]["id"],)) == [{"n": 0}]
    assert audit_events_since(mark, fresh_firm.id) == []
    # still refused while the window lasts, reads too
    assert_problem(send(client, "GET", "/v1/me", headers=auth), 429)

    # the window ends: the next request opens a new one, and the write goes through
    _window_over(_principal("user", fresh_firm.users["adviser"]["id"]))
    passed = send(client, "POST", "/v1/client-groups", headers=auth, body={"name": name, "type": "family"})
    assert passed.status_code == 201 and _rate(passed)[:2] == (60, 59)
    assert owner_sql("SELECT count(*) AS n FROM client_groups WHERE name = %s", (name,)) == [{"n": 1}]
    # the ended windows went when the new one came
    assert owner_sql("SELECT count(*) AS n FROM rate_counters WHERE principal = %s AND expires_at <= now()",
                     (_principal("user", fresh_firm.users["adviser"]["id"]),)) == [{"n": 0}]


def test_a_bulk_route_has_its_lower_limit(client: Any, fresh_firm: Firm) -> None:
    auth = fresh_firm.auth("adviser")
    house = create_household(client, auth)
    product = create_product(client, auth, house)
    pf = add_portfolio_fund(client, auth, product["id"], create_fund(client, auth)["id"])
    _fresh_window()

    def bulk(day: int) -> Any:
        return send(client, "POST", f"/v1/products/{product['id']}/valuations:bulk", headers=auth,
                    body={"valuations": [{"portfolio_fund_id": pf["id"], "valuation_date": f"2021-01-{day:02d}",
                                          "value": "100.00"}]})

    for day in range(1, 11):
        resp = bulk(day)
        assert resp.status_code == 201 and _rate(resp)[:2] == (10, 10 - day)
    assert_problem(bulk(11), 429)
    assert owner_sql("SELECT count(*) AS n FROM fund_valuations WHERE portfolio_fund_id = %s", (pf["id"],)) == [
        {"n": 10}]
    # the other routes count in their own bucket
    other = send(client, "GET", f"/v1/products/{product['id']}", headers=auth)
    assert other.status_code == 200 and _rate(other)[0] == 60


def test_users_are_counted_apart_and_a_key_apart_from_its_creator(client: Any, fresh_firm: Firm) -> None:
    _fresh_window()
    admin, viewer, key = fresh_firm.auth("admin"), fresh_firm.auth("viewer"), fresh_firm.auth("read")
    for _ in range(5):
        expect_status(send(client, "GET", "/v1/firm", headers=admin), 200)
    assert _rate(send(client, "GET", "/v1/firm", headers=viewer))[1] == 59
    assert _rate(send(client, "GET", "/v1/client-groups", headers=key))[1] == 59  # the admin made the key
    assert _rate(send(client, "GET", "/v1/firm", headers=admin))[1] == 54
    counted = {r["principal"]: r["n"] for r in owner_sql(
        "SELECT principal, sum(count) AS n FROM rate_counters WHERE principal = ANY(%s) GROUP BY principal",
        ([_principal("user", fresh_firm.users["admin"]["id"]), _principal("user", fresh_firm.users["viewer"]["id"]),
          _principal("api_key", _key_id(fresh_firm.api_keys["read"]))],))}
    assert sorted(counted.values()) == [1, 1, 6]


def test_an_api_key_over_its_limit_is_refused_before_anything_runs(client: Any, fresh_firm: Firm) -> None:
    _fresh_window()
    key = fresh_firm.auth("write")
    for i in range(60):
        assert _rate(send(client, "GET", "/v1/client-groups?limit=1", headers=key))[1] == 59 - i
    name = unique("Key household")
    mark = audit_watermark()
    refused = send(client, "POST", "/v1/client-groups", headers=key, body={"name": name, "type": "family"})
    assert_problem(refused, 429)
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]
    assert owner_sql("SELECT count(*) AS n FROM client_groups WHERE name = %s", (name,)) == [{"n": 0}]
    assert audit_events_since(mark, fresh_firm.id) == []
    # the key's creator is not affected
    assert send(client, "GET", "/v1/me", headers=fresh_firm.auth("admin")).status_code == 200


def test_the_count_sums_every_connection_of_the_window(client: Any, fresh_firm: Firm) -> None:
    """Each backend counts in a row of its own (concurrent requests never wait for one another); the window's
    count is the sum, so 50 requests another connection counted leave 10."""
    _fresh_window()
    auth = fresh_firm.auth("analyst")
    first = send(client, "GET", "/v1/firm", headers=auth)
    assert _rate(first)[1] == 59
    principal = _principal("user", fresh_firm.users["analyst"]["id"])
    owner_sql("INSERT INTO rate_counters (principal, bucket, window_start, pid, count, expires_at) "
              "SELECT principal, bucket, window_start, -1, 50, expires_at FROM rate_counters "
              "WHERE principal = %s AND bucket = 'default'", (principal,))
    assert _rate(send(client, "GET", "/v1/firm", headers=auth))[1] == 8


def test_an_elevated_firm_gets_its_tiers_figures(client: Any, fresh_firm: Firm) -> None:
    from click.testing import CliRunner

    from chalicelib.cli import main

    auth = fresh_firm.auth("viewer")
    assert _rate(send(client, "GET", "/v1/firm", headers=auth))[0] == 60
    listed = CliRunner().invoke(main, ["firm", "rate-limit-tier"])
    assert listed.exit_code == 0, listed.output
    assert {t["tier"]: t for t in json.loads(listed.output)}["elevated"] == ELEVATED
    mark = audit_watermark()
    result = CliRunner().invoke(main, ["firm", "rate-limit-tier", str(fresh_firm.id), "elevated"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {"firm_id": str(fresh_firm.id),
                                                                  "rate_limit_tier": "elevated"}
    firm = expect_status(send(client, "GET", "/v1/firm", headers=auth), 200)
    assert firm["rate_limit_tier"] == "elevated"
    assert _rate(send(client, "GET", "/v1/client-groups", headers=auth))[0] == 300
    key = send(client, "GET", f"/v1/products/{uuid.uuid4()}", headers=fresh_firm.auth("read"))
    assert _rate(key)[0] == 300  # the firm's keys too
    [event] = [e for e in audit_events_since(mark, fresh_firm.id) if e["action"] == "firm.update"]
    assert event["actor_type"] == "system" and event["before"]["rate_limit_tier"] == "standard"
    assert event["after"]["rate_limit_tier"] == "elevated"
    # an unknown tier is refused, and a firm admin cannot choose one
    unknown = CliRunner().invoke(main, ["firm", "rate-limit-tier", str(fresh_firm.id), "unlimited"])
    assert unknown.exit_code != 0 and "No rate-limit tier 'unlimited'" in unknown.output
    patch = send(client, "PATCH", "/v1/firm", headers={**fresh_firm.auth("admin"), "If-Match": f'"{firm["version"]}"'},
                 body={"rate_limit_tier": "standard"})
    assert_problem(patch, 422, "rate_limit_tier")


def test_sign_in_routes_are_limited_per_source_address(client: Any, fresh_firm: Firm) -> None:
    """30 requests a minute from one address across the routes that come before a principal exists (login,
    refresh, the second step), counted before anything else: the 31st is refused without checking anything."""
    _fresh_window()
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    owner_sql("DELETE FROM rate_counters WHERE principal = %s", (f"source:{address}",))
    user = fresh_firm.users["viewer"]
    for i in range(29):
        path = ("/v1/auth/2fa", "/v1/auth/refresh", "/v1/auth/2fa/enrol")[i % 3]
        resp = login_support.post(client, path, {"nothing": True}, ip=address)
        assert resp.status_code == 422, resp.body  # counted before the body was read
        assert "RateLimit-Limit" not in resp.headers  # a sign-in answer shows its address's window only to refuse
    assert login_support.login_from(client, address, user["email"], "wrong").status_code == 401  # the 30th
    mark = audit_watermark()
    refused = login_support.login_from(client, address, user["email"], "wrong again")
    assert_problem(refused, 429)
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]
    assert _rate(refused)[:2] == (30, 0)
    assert audit_events_since(mark, fresh_firm.id) == []  # no password was checked, no failure counted
    assert login_support.pair(user["id"], address)["checks"] == 1
    # another address is not affected
    assert login_support.login_from(client, "198.51.100.251", user["email"]).status_code == 200


def test_the_app_role_can_neither_read_nor_write_the_counters_or_the_tiers() -> None:
    import psycopg

    from chalicelib.core import config

    with psycopg.connect(config.app_database_url(), autocommit=True) as conn:
        for statement in ("SELECT * FROM rate_counters", "SELECT * FROM rate_limit_tiers",
                          "DELETE FROM rate_counters",
                          "UPDATE rate_limit_tiers SET default_requests = 1000000",
                          "INSERT INTO rate_counters VALUES ('user:x', 'default', now(), 1, 1, now())",
                          "SELECT * FROM rate_count('user:x', 'default', 60, 60, 1)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_a_session_over_its_limit_does_not_enter_the_firm(fresh_firm: Firm) -> None:
    """Whoever calls it, the function that opens the transaction refuses to enter the firm once the window is
    full: nothing of the firm is visible to a request over its limit."""
    import jwt
    import psycopg

    from chalicelib.core import config

    _fresh_window()
    claims = jwt.decode(fresh_firm.tokens["viewer"], options={"verify_signature": False})
    args = (claims["sid"], claims["sub"], claims["firm"], claims["role"])
    call = "SELECT * FROM auth_enter_session(%s, %s, %s, %s, 'bulk', 1)"
    with psycopg.connect(config.app_database_url(), autocommit=False) as conn:
        for used in range(1, 11):
            row = conn.execute(call, args).fetchone()
            assert row[0] == "ok" and row[1:3] == (10, used)
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 4
            conn.commit()
        row = conn.execute(call, args).fetchone()
        assert row[0] == "limited" and row[1:3] == (10, 11)
        assert conn.execute("SELECT current_firm_id(), count(*) FROM users").fetchone() == (None, 0)
        conn.rollback()


def test_no_deployed_stage_raises_the_limits() -> None:
    from pathlib import Path

    config = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
    assert "RATE_LIMIT_SCALE" not in json.dumps(config)
