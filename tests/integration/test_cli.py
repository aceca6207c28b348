"""The `wealthdesk` command, run in-process with click's CliRunner against the worker's database (DATABASE_URL)."""
from __future__ import annotations

import json
import re
import uuid
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from tests.conftest import PASSWORD, owner_sql


def _run(*args: str, input: str | None = None):
    from chalicelib.cli import main

    return CliRunner().invoke(main, list(args), input=input)


def _json_line(result) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def _clean_failure(result, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def _login(client, email: str, password: str):
    return client.http.post("/v1/auth/login", headers={"Content-Type": "application/json"},
                            body=json.dumps({"email": email, "password": password}))


def _email(tag: str = "admin") -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@cli-test.co.uk"


def test_firm_create_with_password_stdin_and_the_admin_can_log_in(client):
    email = _email()
    name = f"CLI Firm {uuid.uuid4().hex[:6]}"
    result = _run("firm", "create", "--name", name, "--admin-email", email, "--password-stdin",
                  input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    out = _json_line(result)
    assert set(out) == {"firm_id", "admin_id", "admin_email"}  # no password: the caller chose it
    assert out["admin_email"] == email
    firm = owner_sql("SELECT name, base_currency FROM firms WHERE id = %s", (out["firm_id"],))
    assert firm == [{"name": name, "base_currency": "GBP"}]
    admin = owner_sql("SELECT id, firm_id, role, active FROM users WHERE email = %s", (email,))
    assert len(admin) == 1 and str(admin[0]["id"]) == out["admin_id"] and str(admin[0]["firm_id"]) == out["firm_id"]
    assert admin[0]["role"] == "admin" and admin[0]["active"] is True
    actions = sorted(r["action"] for r in owner_sql("SELECT action FROM audit_events WHERE firm_id = %s",
                                                    (out["firm_id"],)))
    assert actions == ["firm.create", "user.create"]
    assert PASSWORD not in result.output

    login = _login(client, email, PASSWORD)
    assert login.status_code == 200, login.body
    me = client.http.get("/v1/me", headers={"Authorization": f"Bearer {login.json_body['access_token']}"})
    assert me.status_code == 200
    assert me.json_body["firm"]["id"] == out["firm_id"] and me.json_body["role"] == "admin"


def test_firm_create_without_password_prints_a_generated_one_that_works(client):
    email = _email()
    result = _run("firm", "create", "--name", "Generated Ltd", "--admin-email", email, "--base-currency", "EUR")
    assert result.exit_code == 0, result.output
    out = _json_line(result)
    password = out["password"]
    assert isinstance(password, str) and len(password) >= 12
    assert owner_sql("SELECT base_currency FROM firms WHERE id = %s", (out["firm_id"],)) == [{"base_currency": "EUR"}]
    assert _login(client, email, password).status_code == 200
    assert _login(client, email, password + "x").status_code == 401
    # The generated password is stored hashed, never as given.
    stored = owner_sql("SELECT password_hash FROM users WHERE email = %s", (email,))[0]["password_hash"]
    assert password not in stored


@pytest.mark.parametrize("variant", ["same", "upper"])
def test_firm_create_with_a_taken_email_is_a_clean_error(variant):
    email = _email()
    first = _run("firm", "create", "--name", "First Ltd", "--admin-email", email, "--password-stdin",
                 input=PASSWORD + "\n")
    assert first.exit_code == 0, first.output
    before = owner_sql("SELECT count(*) AS n FROM firms")[0]["n"]
    again = email if variant == "same" else email.upper()
    second = _run("firm", "create", "--name", "Second Ltd", "--admin-email", again, "--password-stdin",
                  input=PASSWORD + "\n")
    _clean_failure(second, 1)
    assert "already exists" in second.output
    assert owner_sql("SELECT count(*) AS n FROM firms")[0]["n"] == before  # nothing half-made
    assert owner_sql("SELECT count(*) AS n FROM firms WHERE name = 'Second Ltd' AND id IN "
                     "(SELECT firm_id FROM users WHERE email = %s)", (email,)) == [{"n": 0}]


@pytest.mark.parametrize("args,stdin,code", [
    (["--admin-email", "not-an-email"], PASSWORD + "\n", 1),
    (["--admin-email", "short-pw@cli-test.co.uk", "--password-stdin"], "short\n", 1),
    (["--admin-email", "cur@cli-test.co.uk", "--base-currency", "pounds"], None, 2),
])
def test_firm_create_refuses_bad_input_cleanly(args, stdin, code):
    before = owner_sql("SELECT count(*) AS n FROM firms")[0]["n"]
    result = _run("firm", "create", "--name", "Bad Input Ltd", *args, input=stdin)
    _clean_failure(result, code)
    assert owner_sql("SELECT count(*) AS n FROM firms")[0]["n"] == before


def test_job_list_lists_audit_partitions():
    result = _run("job", "list")
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    names = [parts[0] for parts in lines]
    assert "audit-partitions" in names
    line = next(line for line in result.stdout.splitlines() if line.startswith("audit-partitions"))
    assert "cron(0 3 * * ? *)" in line


def test_job_run_prints_json_and_records_a_manual_run():
    result = _run("job", "run", "audit-partitions")
    assert result.exit_code == 0, result.output
    out = _json_line(result)
    assert out["job"] == "audit-partitions" and out["status"] == "succeeded" and out["error"] is None
    assert out["figures"]["created"] == 0 and out["figures"]["partitions"] >= 4
    row = owner_sql("SELECT status, trigger FROM job_runs WHERE id = %s", (out["id"],))
    assert row == [{"status": "succeeded", "trigger": "manual"}]


def test_job_run_of_an_unknown_job_fails_cleanly():
    before = owner_sql("SELECT count(*) AS n FROM job_runs")[0]["n"]
    result = _run("job", "run", "nope")
    _clean_failure(result, 2)
    assert "unknown job" in result.output and "audit-partitions" in result.output
    assert owner_sql("SELECT count(*) AS n FROM job_runs")[0]["n"] == before


def test_job_run_of_a_failing_job_fails_cleanly(monkeypatch):
    from chalicelib.ops.jobs import JOBS, Job

    def boom(conn):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(JOBS, "cli-boom", Job("cli-boom", "rate(1 day)", "fails", boom))
    result = _run("job", "run", "cli-boom")
    _clean_failure(result, 1)
    assert "disk on fire" in result.output
    assert owner_sql("SELECT status FROM job_runs WHERE job_name = 'cli-boom'") == [{"status": "failed"}]


_NAME = re.compile(r"^[A-Z][a-z]+$")
_GROUP_NAME = re.compile(r"^(?:[A-Z][a-z]+ [A-Z][a-z]+|[A-Z][a-z]+ & [A-Z][a-z]+ [A-Z][a-z]+|The [A-Z][a-z]+ Family|"
                         r"The [A-Z][a-z]+ [A-Z][A-Za-z ]+|[A-Z][a-z]+ [A-Z&][A-Za-z &]+(?:Ltd|LLP))$")


def test_demo_adds_households_with_linked_people_to_a_firm(client, fresh_firm):
    result = _run("demo", "--households", "20", "--firm-id", str(fresh_firm.id))
    assert result.exit_code == 0, result.output
    out = _json_line(result)
    groups = owner_sql("SELECT id, name, type, status, adviser_id FROM client_groups WHERE firm_id = %s",
                       (fresh_firm.id,))
    owners = owner_sql("SELECT id, first_name, surname, date_of_birth, email FROM product_owners WHERE firm_id = %s",
                       (fresh_firm.id,))
    links = owner_sql("SELECT client_group_id, product_owner_id FROM client_group_product_owners WHERE firm_id = %s",
                      (fresh_firm.id,))
    assert len(groups) == 20 and out["households"] == 20
    assert len(owners) == out["product_owners"] >= 20
    # Every household has people, every person belongs to exactly one household.
    assert {link["client_group_id"] for link in links} == {g["id"] for g in groups}
    assert sorted(link["product_owner_id"] for link in links) == sorted(o["id"] for o in owners)
    # Realistic: names, several household types, advisers of the firm, plausible birth dates.
    assert all(_NAME.match(o["first_name"]) and _NAME.match(o["surname"]) for o in owners)
    assert all(_GROUP_NAME.match(g["name"]) for g in groups), [g["name"] for g in groups]
    assert len({g["type"] for g in groups}) >= 3
    staff = {u["id"] for u in fresh_firm.users.values() if u["role"] in ("admin", "adviser")}
    assert {g["adviser_id"] for g in groups} <= staff and any(g["adviser_id"] for g in groups)
    assert all(o["date_of_birth"] is None or 1900 < o["date_of_birth"].year <= date.today().year for o in owners)
    assert owner_sql("SELECT count(*) AS n FROM audit_events WHERE firm_id = %s AND action = 'demo.load'",
                     (fresh_firm.id,)) == [{"n": 1}]

    # The firm's own users see them through the API, and other firms do not.
    listed = client.http.get("/v1/client-groups?limit=200", headers=fresh_firm.auth("viewer"))
    assert listed.status_code == 200 and len(listed.json_body["items"]) == 20
    one = groups[0]["id"]
    members = client.http.get(f"/v1/client-groups/{one}/product-owners", headers=fresh_firm.auth("viewer"))
    assert members.status_code == 200 and len(members.json_body["items"]) >= 1

    # Products: every household has some, on the demo catalogue; its first product has ten years of month-end
    # valuations (complete portfolio valuations every month) and cash flows, and the stored IRR history has
    # both methods for every portfolio valuation date.
    products = owner_sql(
        "SELECT p.client_group_id, p.id, count(DISTINCT v.valuation_date) AS months, "
        "(SELECT count(*) FROM holding_activity a JOIN portfolio_funds pf ON pf.id = a.portfolio_fund_id "
        " WHERE pf.product_id = p.id) AS flows, "
        "(SELECT count(*) FROM irr_values i WHERE i.scope = 'product' AND i.scope_id = p.id) AS irrs "
        "FROM products p LEFT JOIN portfolio_valuations v ON v.product_id = p.id WHERE p.firm_id = %s "
        "GROUP BY p.client_group_id, p.id", (fresh_firm.id,))
    assert {p["client_group_id"] for p in products} == {g["id"] for g in groups}
    assert out["products"] == len(products) and out["cash_flows"] > 0 and out["fund_valuations"] > 0
    longest = {}
    for p in products:
        longest[p["client_group_id"]] = max(longest.get(p["client_group_id"], 0), p["months"])
        assert p["flows"] > 0 and p["irrs"] == 2 * p["months"], p
    assert min(longest.values()) >= 120
    catalogue = owner_sql("SELECT (SELECT count(*) FROM providers WHERE firm_id = %(f)s) AS providers, "
                          "(SELECT count(*) FROM funds WHERE firm_id = %(f)s) AS funds, "
                          "(SELECT count(*) FROM portfolio_templates WHERE firm_id = %(f)s) AS templates",
                          {"f": fresh_firm.id})[0]
    assert catalogue == {"providers": 7, "funds": 16, "templates": 3}
    irr = client.http.get(f"/v1/client-groups/{one}/irr", headers=fresh_firm.auth("viewer"))
    assert irr.status_code == 200 and irr.json_body["irr"] is not None, irr.json_body

    # The whole picture: every household has an information item of each type, two actions (one the adviser's,
    # one the client's), a plain objective, and a money goal counting its own first product, with contributions.
    kinds = owner_sql("SELECT client_group_id, array_agg(DISTINCT item_type ORDER BY item_type) AS types "
                      "FROM information_items WHERE firm_id = %s GROUP BY client_group_id", (fresh_firm.id,))
    assert len(kinds) == 20 and all(k["types"] == ["assets_liabilities", "basic_detail", "income_expenditure",
                                                   "protection", "vulnerability_health"] for k in kinds)
    todo = owner_sql("SELECT client_group_id, array_agg(owner ORDER BY owner) AS owners FROM actions "
                     "WHERE firm_id = %s GROUP BY client_group_id", (fresh_firm.id,))
    assert len(todo) == 20 and all(t["owners"] == ["adviser", "client"] for t in todo)
    goals = owner_sql(
        "SELECT o.client_group_id, o.id, o.target_amount, o.currency, p.client_group_id AS product_group, "
        "(SELECT count(*) FROM objective_contributions c WHERE c.objective_id = o.id) AS contributions "
        "FROM objectives o JOIN objective_products l ON l.objective_id = o.id JOIN products p ON p.id = l.product_id "
        "WHERE o.firm_id = %s", (fresh_firm.id,))
    assert sorted(g["client_group_id"] for g in goals) == sorted(g["id"] for g in groups)
    assert all(g["product_group"] == g["client_group_id"] and g["contributions"] >= 1 and g["currency"] == "GBP"
               for g in goals)
    assert owner_sql("SELECT count(*) AS n FROM objectives WHERE firm_id = %s AND target_amount IS NULL",
                     (fresh_firm.id,)) == [{"n": 20}]
    assert (out["information_items"], out["actions"], out["objectives"]) == (
        owner_sql("SELECT count(*) AS n FROM information_items WHERE firm_id = %s", (fresh_firm.id,))[0]["n"],
        40, 40)
    shown = client.http.get(f"/v1/client-groups/{one}/objectives?sort=priority",
                            headers=fresh_firm.auth("viewer")).json_body["items"]
    assert shown[0]["money_goal"] and Decimal(shown[0]["current_value"]) > 0 and shown[0]["linked"][0]["counted"]

    # A second load adds households and products to the same firm on the same catalogue.
    again = _run("demo", "--households", "20", "--firm-id", str(fresh_firm.id))
    assert again.exit_code == 0, again.output
    assert owner_sql("SELECT count(*) AS n FROM client_groups WHERE firm_id = %s", (fresh_firm.id,)) == [{"n": 40}]
    assert owner_sql("SELECT (SELECT count(*) FROM providers WHERE firm_id = %(f)s) AS providers, "
                     "(SELECT count(*) FROM funds WHERE firm_id = %(f)s) AS funds, "
                     "(SELECT count(*) FROM portfolio_templates WHERE firm_id = %(f)s) AS templates",
                     {"f": fresh_firm.id})[0] == catalogue


def test_demo_products_kingston_irr_is_the_firms_rule_computed_from_the_rows(client, fresh_firm):
    """Every demo product's whole-life Kingston IRR, as the API gives it, equals the firm's rule applied here from
    the raw rows with the firm's own tool (numpy-financial): investor flows summed by calendar month from the first
    flow's month, the latest complete valuation in the month after its date's month (a valuation dated the 1st in
    its own), months under 0.01 as zero, monthly rate x 12."""
    from datetime import timedelta
    from decimal import Decimal

    import numpy_financial as npf

    from tests.integration.test_products import MONEY_IN, MONEY_OUT

    assert _run("demo", "--households", "12", "--firm-id", str(fresh_firm.id)).exit_code == 0
    rows = owner_sql("SELECT pf.product_id, a.activity_date, a.activity_type, a.amount FROM holding_activity a "
                     "JOIN portfolio_funds pf ON pf.id = a.portfolio_fund_id WHERE a.firm_id = %s", (fresh_firm.id,))
    latest = owner_sql("SELECT DISTINCT ON (product_id) product_id, valuation_date, value FROM portfolio_valuations "
                       "WHERE firm_id = %s ORDER BY product_id, valuation_date DESC", (fresh_firm.id,))
    assert len(latest) >= 12
    compared = 0
    for v in latest:
        months: dict[int, Decimal] = {}
        for r in rows:
            if r["product_id"] == v["product_id"] and r["activity_date"] <= v["valuation_date"]:
                sign = -1 if r["activity_type"] in MONEY_IN else 1 if r["activity_type"] in MONEY_OUT else 0
                key = r["activity_date"].year * 12 + r["activity_date"].month
                months[key] = months.get(key, Decimal(0)) + sign * r["amount"]
        end = v["valuation_date"] - timedelta(days=1) if v["valuation_date"].day == 1 else v["valuation_date"]
        end_month = end.year * 12 + end.month + 1
        months[end_month] = months.get(end_month, Decimal(0)) + v["value"]
        series = [months.get(m, Decimal(0)) for m in range(min(months), end_month + 1)]
        series = [0.0 if abs(x) < Decimal("0.01") else float(x) for x in series]
        expected = 12 * float(npf.irr(series))
        got = client.http.get(f"/v1/products/{v['product_id']}/irr", headers=fresh_firm.auth("viewer")).json_body
        assert got["to"] == v["valuation_date"].isoformat()
        assert abs(Decimal(got["irr"]) - Decimal(repr(expected))) < Decimal("1e-9"), (v, got, expected)
        compared += 1
    assert compared == len(latest)


def test_demo_into_an_unknown_firm_fails_cleanly():
    result = _run("demo", "--households", "2", "--firm-id", str(uuid.uuid4()))
    _clean_failure(result, 1)
    assert "no firm" in result.output
    _clean_failure(_run("demo", "--households", "2", "--firm-id", "not-a-uuid"), 2)
    _clean_failure(_run("demo", "--households", "0", "--firm-id", str(uuid.uuid4())), 2)


def test_demo_without_firm_id_on_a_database_with_firms_refuses(firm_a):
    result = _run("demo", "--households", "2")
    _clean_failure(result, 1)
    assert "--firm-id" in result.output


def test_migrate_twice_is_safe():
    from chalicelib.core import migrations

    for _ in range(2):
        result = _run("migrate")
        assert result.exit_code == 0, result.output
        assert _json_line(result) == {"applied": []}
    assert migrations.status().pending == 0


def test_demo_into_a_firm_with_its_own_catalogue_reuses_it_by_name_and_models_cash_as_cash(client, fresh_firm):
    """The firm already has a non-cash fund called "Cash Account", a cash fund of its own in a "Balanced"
    template, and a "Cautious" template with no generation: the demo adds no second fund or template of those
    names, brings a cash fund of its own, gives "Cautious" a generation, and models only cash funds as cash."""
    from tests.integration.matrix_support import create_fund, expect_status, send

    h = fresh_firm.auth("admin")
    create_fund(client, h, name="cash account", isin=None)  # not a cash fund, whatever its name
    own_cash = create_fund(client, h, name="House Cash", isin=None, is_cash=True)["id"]
    equity = create_fund(client, h, name="House Equity")["id"]
    balanced = expect_status(send(client, "POST", "/v1/portfolio-templates", headers=h, body={"name": "Balanced"}),
                             201)["id"]
    expect_status(send(client, "POST", f"/v1/portfolio-templates/{balanced}/generations", headers=h, body={
        "funds": [{"fund_id": own_cash, "target_weighting": "50.00"},
                  {"fund_id": equity, "target_weighting": "50.00"}]}), 201)
    expect_status(send(client, "POST", "/v1/portfolio-templates", headers=h, body={"name": "Cautious"}), 201)
    result = _run("demo", "--households", "30", "--firm-id", str(fresh_firm.id))
    assert result.exit_code == 0, result.output
    names = owner_sql("SELECT lower(name) AS name, count(*) AS n FROM funds WHERE firm_id = %s GROUP BY 1 "
                      "HAVING count(*) > 1 UNION ALL SELECT lower(name), count(*) FROM portfolio_templates "
                      "WHERE firm_id = %s GROUP BY 1 HAVING count(*) > 1", (fresh_firm.id, fresh_firm.id))
    assert names == []
    assert owner_sql("SELECT is_cash FROM funds WHERE firm_id = %s AND name = 'Cash Account (demo)'",
                     (fresh_firm.id,)) == [{"is_cash": True}]
    assert owner_sql("SELECT count(*) AS n FROM template_generations g JOIN portfolio_templates t "
                     "ON t.id = g.template_id WHERE t.firm_id = %s AND t.name = 'Cautious'", (fresh_firm.id,)) == [
        {"n": 1}]
    # Cash has no growth: every holding of a cash fund (the firm's own among them) is worth exactly what went in
    # less what came out; a fund modelled as equity would not be.
    cash = owner_sql(
        "SELECT pf.fund_id, (SELECT v.value FROM fund_valuations v WHERE v.portfolio_fund_id = pf.id "
        "ORDER BY v.valuation_date DESC LIMIT 1) AS last, (SELECT sum(a.amount * CASE a.activity_type "
        "WHEN 'withdrawal' THEN -1 ELSE 1 END) FROM holding_activity a WHERE a.portfolio_fund_id = pf.id) AS net "
        "FROM portfolio_funds pf JOIN funds f ON f.id = pf.fund_id WHERE f.firm_id = %s AND f.is_cash",
        (fresh_firm.id,))
    assert any(str(r["fund_id"]) == own_cash for r in cash)
    assert all(r["last"] == r["net"] for r in cash), [r for r in cash if r["last"] != r["net"]][:3]


def test_the_dev_server_answers_a_second_connection_while_a_first_stays_open():
    """A browser keeps connections alive and loads a page's assets over several: `wealthdesk serve` must answer a
    new connection while an idle keep-alive one stays open (one request still runs at a time)."""
    import http.client
    import threading

    from chalice.config import Config
    from chalice.local import LocalDevServer

    from app import app
    from chalicelib.cli import _one_request_at_a_time

    config = Config.create(chalice_stage="local", app_name="wealthdesk", chalice_app=app)
    server = LocalDevServer(app, config, host="127.0.0.1", port=0, server_cls=_one_request_at_a_time())
    port = server.server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    first = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    second = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        first.request("GET", "/v1/docs")
        assert first.getresponse().read()  # answered; the connection stays open (HTTP/1.1 keep-alive)
        second.request("GET", "/v1/docs")
        response = second.getresponse()  # a server that serves one connection at a time times out here
        assert response.status == 200 and b"swagger-ui" in response.read()
    finally:
        first.close()
        second.close()
        server.server.shutdown()
        server.server.server_close()


def test_the_dev_server_sends_without_delay_and_closes_idle_connections():
    """Accepted sockets set TCP_NODELAY (a response's headers and body, written separately, must not wait for the
    client's delayed ACK on a keep-alive connection), and a connection idle past the timeout is closed."""
    import functools
    import http.client
    import socket
    import threading
    import time

    from chalice.config import Config
    from chalice.local import LocalDevServer

    from app import app
    from chalicelib.cli import _one_request_at_a_time

    server_cls = _one_request_at_a_time(idle_timeout=0.5)
    probe = server_cls(("127.0.0.1", 0), functools.partial(object))
    client = socket.create_connection(probe.server_address, timeout=5)
    try:
        accepted, _ = probe.get_request()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        accepted.close()
    finally:
        client.close()
        probe.server_close()

    config = Config.create(chalice_stage="local", app_name="wealthdesk", chalice_app=app)
    server = LocalDevServer(app, config, host="127.0.0.1", port=0, server_cls=server_cls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    idle = http.client.HTTPConnection("127.0.0.1", server.server.server_address[1], timeout=5)
    try:
        idle.request("GET", "/v1/docs")
        assert idle.getresponse().read()
        time.sleep(1.5)  # past the idle timeout: the server has closed its end
        assert idle.sock.recv(1) == b""
    finally:
        idle.close()
        server.server.shutdown()
        server.server.server_close()
