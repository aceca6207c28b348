"""Bad input gets a clear answer, and nothing is lost.

Every case below gets its exact 4xx as RFC 9457 problem+json (type, title, status, detail, request_id; errors[] with
field names for a 422), never a 500 and never a stack trace, and the database is left exactly as it was (row counts
and row contents of the firm's tables are compared before and after).

Three kinds of test:
- a table of hand-written cases against the client-group and product-owner routes, one by one;
- matrices built from the app's routes (`router.specs()`), so a route added later is held to the same rules
  without editing this file;
- hypothesis fuzzing of the create bodies with arbitrary JSON objects.
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.core.pagination import MAX_CURSOR
from tests.conftest import Firm, assert_problem, owner_sql
from tests.integration.matrix_support import (
    Household,
    assert_cursor_refused,
    b64_cursor,
    signed_payload,
    unsigned_cursor,
)
from tests.integration.planning_support import create_cma_set, create_plan, create_portfolio_model

JSON = {"Content-Type": "application/json"}
ONE_MB = 1024 * 1024


# --- helpers --------------------------------------------------------------------------------------------------------

_SNAPSHOT = """
SELECT
  (SELECT count(*) FROM client_groups WHERE firm_id = %(f)s) AS client_groups,
  (SELECT count(*) FROM product_owners WHERE firm_id = %(f)s) AS product_owners,
  (SELECT count(*) FROM client_group_product_owners WHERE firm_id = %(f)s) AS memberships,
  (SELECT count(*) FROM audit_events WHERE firm_id = %(f)s) AS audit_events,
  (SELECT count(*) FROM idempotency_keys WHERE firm_id = %(f)s) AS idempotency_keys,
  (SELECT count(*) FROM users WHERE firm_id = %(f)s) AS users,
  (SELECT count(*) FROM api_keys WHERE firm_id = %(f)s AND revoked_at IS NULL) AS live_api_keys,
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM client_groups t
     WHERE firm_id = %(f)s) AS client_groups_digest,
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM product_owners t
     WHERE firm_id = %(f)s) AS product_owners_digest,
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.client_group_id, t.product_owner_id), ''))
     FROM client_group_product_owners t WHERE firm_id = %(f)s) AS memberships_digest,
  (SELECT md5(coalesce(string_agg(t.id::text || t.role || t.active::text || t.version::text, '|' ORDER BY t.id), ''))
     FROM users t WHERE firm_id = %(f)s) AS users_digest
"""

# The managed-products tables, information items and actions: a count and a digest of the rows' contents for each
# (table, order of its rows).
_PRODUCT_TABLES = [
    ("providers", "t.id"), ("funds", "t.id"), ("portfolio_templates", "t.id"), ("template_generations", "t.id"),
    ("template_generation_funds", "t.generation_id, t.fund_id"), ("products", "t.id"), ("provider_switches", "t.id"),
    ("portfolio_funds", "t.id"), ("fund_valuations", "t.id"), ("holding_activity", "t.id"),
    ("portfolio_valuations", "t.product_id, t.valuation_date"),
    ("irr_values", "t.scope, t.scope_id, t.method, t.valuation_date"),
    ("unmanaged_products", "t.id"), ("unmanaged_valuations", "t.id"), ("fx_rates", "t.id"),
    ("information_items", "t.id"), ("information_item_terms", "t.item_id, t.term"), ("actions", "t.id"),
    ("networth_statements", "t.id"), ("cma_sets", "t.id"), ("cma_asset_classes", "t.cma_set_id, t.position"),
    ("portfolio_models", "t.id"), ("portfolio_model_allocations", "t.portfolio_model_id, t.asset_class"),
    ("plans", "t.id"), ("plan_runs", "t.id"),
    ("networth_statements", "t.id"), ("objectives", "t.id"),
    ("objective_products", "t.objective_id, t.product_id"),
    ("objective_unmanaged_products", "t.objective_id, t.unmanaged_product_id"), ("objective_contributions", "t.id"),
]
_SNAPSHOT = _SNAPSHOT.rstrip() + "".join(
    f""",
  (SELECT count(*) FROM {table} WHERE firm_id = %(f)s) AS {table},
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY {order}), '')) FROM {table} t
     WHERE firm_id = %(f)s) AS {table}_digest""" for table, order in _PRODUCT_TABLES) + "\n"


_SNAPSHOT_CONNECTION: list[Any] = []  # one owner connection for the module (a new one per snapshot is slow)


@pytest.fixture(scope="module", autouse=True)
def _snapshot_connection(database: str) -> Iterator[None]:
    from chalicelib.core import db

    with db.owner_connection() as conn:  # autocommit: each snapshot sees what is committed
        _SNAPSHOT_CONNECTION.append(conn)
        try:
            yield
        finally:
            _SNAPSHOT_CONNECTION.clear()


def snapshot(*firm_ids: Any) -> list[dict[str, Any]]:
    """What the firms' tables hold: row counts and a digest of the rows' contents."""
    if _SNAPSHOT_CONNECTION:
        return [_SNAPSHOT_CONNECTION[0].execute(_SNAPSHOT, {"f": f}).fetchone() for f in firm_ids]
    return [owner_sql(_SNAPSHOT, {"f": f})[0] for f in firm_ids]


def test_the_snapshot_covers_the_worlds_rows(firm_a: Firm, firm_b: Firm, world: World) -> None:
    """Every table the product cases could touch is in the snapshot, and holds rows of both firms (so a change to
    any of them would change its digest)."""
    empty = "d41d8cd98f00b204e9800998ecf8427e"  # md5 of ''
    for snap in snapshot(firm_a.id, firm_b.id):
        assert isinstance(snap, dict)
        for table, _ in _PRODUCT_TABLES:
            if table == "provider_switches":
                continue  # no switch in the world: a failed PATCH must not add one
            assert snap[table] > 0 and snap[table + "_digest"] != empty, table
        assert snap["irr_values"] >= 2  # the product's, by both methods, on 2024-12-31


def b64(values: Any) -> str:
    """A cursor as the API encoded one before cursors were signed: refused by the signature check."""
    return unsigned_cursor(values)


def signed(values: Any) -> str:
    """A placeholder for a cursor carrying `values`, signed for firm A when the case runs (World.fmt): forged
    content that passes the signature, so the checks behind it are what refuse it."""
    return "{cursor:" + unsigned_cursor(values) + "}"


def send(client: Any, method: str, path: str, headers: dict[str, str], body: str | bytes | None) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["body"] = body
    return client.http.request(method, path, **kwargs)


# --- the world the cases act on -------------------------------------------------------------------------------------

@dataclass
class World:
    group: str  # firm A's group, at version 2
    owner: str  # firm A's owner, at version 1, a member of `group`
    loner: str  # firm A's owner in no group
    other_group: str  # firm B's
    other_owner: str  # firm B's
    other_adviser: str  # a user of firm B
    viewer: str  # a user of firm A who is not an adviser
    extra: dict[str, str] = field(default_factory=dict)  # more {placeholders}: firm A's and (other_*) firm B's rows
    mine: dict[str, str] = field(default_factory=dict)  # path parameter -> a row of firm A
    theirs: dict[str, str] = field(default_factory=dict)  # path parameter -> a row of firm B
    firm: str = ""  # firm A's id: {cursor:...} placeholders become cursors signed for it

    def fmt(self, text: str) -> str:
        """Fill the {placeholders} (by replacement: JSON bodies are full of other braces)."""
        text = re.sub(r"\{cursor:([A-Za-z0-9_-]+)\}", lambda m: b64_cursor(
            json.loads(base64.urlsafe_b64decode(m[1] + "=" * (-len(m[1]) % 4))), self.firm), text)
        values = {"group": self.group, "owner": self.owner, "loner": self.loner, "other_group": self.other_group,
                  "other_owner": self.other_owner, "other_adviser": self.other_adviser, "viewer": self.viewer,
                  "random": str(uuid.uuid4()), "future": (date.today() + timedelta(days=1)).isoformat(),
                  **self.extra}
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text


def _created(resp: Any) -> str:
    assert resp.status_code == 201, resp.body
    return resp.json_body["id"]


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _isin_check_digit(payload: str) -> str:
    """ISO 6166, written apart from the app: letters become two digits (A=10 ... Z=35); the check digit is the one
    that makes the whole digit string pass Luhn (from the right, every second digit doubled)."""
    digits = "".join(str(_ALNUM.index(c)) for c in payload)
    for check in "0123456789":
        total = sum(d // 10 + d % 10 for d in (int(ch) * (2 if i % 2 else 1)
                                                  for i, ch in enumerate(reversed(digits + check))))
        if total % 10 == 0:
            return check
    raise AssertionError(payload)


def _random_isin(country: str) -> str:
    payload = country + uuid.uuid4().hex[:9].upper()
    return payload + _isin_check_digit(payload)


def test_the_isin_helper_agrees_with_published_isins() -> None:
    for isin in ("IE00B4L5Y983", "GB00B7V23Z99", "IE00B3RBWM25", "US0378331005", "GB0002634946"):
        assert _isin_check_digit(isin[:11]) == isin[11], isin


def _products_of(c: Any, h: dict[str, str], group: str, owner: str, isins: tuple[str, str]) -> dict[str, str]:
    """Through the API: a provider, two funds, a template with a generation (60/40), a product of `group` owned by
    `owner`, made from that generation (so two portfolio funds starting 2020-01-01, the second ended 2020-12-31),
    a cash flow and a valuation of the first fund (so the product has a portfolio valuation of 1000.00)."""
    tag = uuid.uuid4().hex[:8]

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = c.http.post(path, headers=h, body=json.dumps(body))
        assert r.status_code == 201, (path, r.status_code, r.body)
        return r.json_body

    provider = post("/v1/providers", {"name": f"Bad Input Provider {tag}", "colour": "#123ABC"})
    fund = post("/v1/funds", {"name": f"Bad Input Equity {tag}", "isin": isins[0], "risk_factor": 5,
                              "ongoing_cost": "0.22"})
    bond = post("/v1/funds", {"name": f"Bad Input Bond {tag}", "isin": isins[1], "risk_factor": 2})
    template = post("/v1/portfolio-templates", {"name": f"Bad Input Balanced {tag}"})
    gen = post(f"/v1/portfolio-templates/{template['id']}/generations",
               {"funds": [{"fund_id": fund["id"], "target_weighting": "60.00"},
                          {"fund_id": bond["id"], "target_weighting": "40.00"}]})
    product = post(f"/v1/client-groups/{group}/products", {
        "name": f"Bad Input GIA {tag}", "product_type": "gia", "provider_id": provider["id"],
        "plan_number": f"BI-{tag}", "start_date": "2020-01-01", "fixed_fee_direct": "100.00",
        "percentage_fee_facilitated": "0.50", "template_generation_id": gen["id"],
        "ownership": {"association_type": "individual", "product_owner_id": owner}})
    r = c.http.get(f"/v1/products/{product['id']}/funds", headers=h)
    assert r.status_code == 200, r.body
    pfs = {f["fund_id"]: f["id"] for f in r.json_body["items"]}
    pf, ended = pfs[fund["id"]], pfs[bond["id"]]
    r = c.http.patch(f"/v1/portfolio-funds/{ended}", headers={**h, "If-Match": '"1"'},
                     body='{"end_date": "2020-12-31"}')
    assert r.status_code == 200 and r.json_body["version"] == 2, r.body
    activity = post(f"/v1/portfolio-funds/{pf}/activity",
                    {"activity_date": "2020-01-15", "activity_type": "investment", "amount": "900.00"})
    valuation = post(f"/v1/portfolio-funds/{pf}/valuations", {"valuation_date": "2024-12-31", "value": "1000.00"})
    r = c.http.get(f"/v1/products/{product['id']}/valuations", headers=h)
    assert r.json_body["items"] == [{"valuation_date": "2024-12-31", "value": "1000.00"}], r.body
    return {"provider_id": provider["id"], "fund_id": fund["id"], "bond": bond["id"], "template_id": template["id"],
            "generation": gen["id"], "product_id": product["id"], "portfolio_fund_id": pf, "pf_ended": ended,
            "valuation_id": valuation["id"], "activity_id": activity["id"], "isin": isins[0],
            "provider_name": provider["name"]}


def _elsewhere_of(c: Any, h: dict[str, str], group: str, owner: str) -> dict[str, str]:
    """Through the API: an asset of `group` held elsewhere, owned by `owner`, valued once, and a rate of the
    firm's."""
    tag = uuid.uuid4().hex[:8]
    product = c.http.post(f"/v1/client-groups/{group}/unmanaged-products", headers=h, body=json.dumps({
        "name": f"Bad Input Flat {tag}", "kind": "asset", "product_type": "property", "currency": "EUR",
        "ownership": {"association_type": "individual", "product_owner_id": owner}}))
    assert product.status_code == 201, product.body
    pid = product.json_body["id"]
    valuation = c.http.post(f"/v1/unmanaged-products/{pid}/valuations", headers=h,
                            body='{"valuation_date": "2024-12-31", "value": "350000.00"}')
    assert valuation.status_code == 201, valuation.body
    rate = c.http.post("/v1/fx-rates", headers=h, body='{"currency": "EUR", "rate_date": "2024-12-31", '
                                                       '"rate": "0.8300"}')
    assert rate.status_code in (200, 201), rate.body
    return {"unmanaged_product_id": pid, "unmanaged_valuation_id": valuation.json_body["id"]}


@pytest.fixture(scope="module")
def world(app_module: Any, firm_a: Firm, firm_b: Firm) -> World:
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:  # as the `client` fixture
        ha = {**firm_a.auth("adviser"), **JSON}
        hb = {**firm_b.auth("adviser"), **JSON}
        group = _created(c.http.post("/v1/client-groups", headers=ha,
                                     body='{"name": "Bad Input Household", "type": "couple"}'))
        r = c.http.patch(f"/v1/client-groups/{group}", headers={**ha, "If-Match": '"1"'}, body='{"notes": "v2"}')
        assert r.status_code == 200 and r.json_body["version"] == 2
        owner = _created(c.http.post("/v1/product-owners", headers=ha,
                                     body='{"first_name": "Ada", "surname": "Input"}'))
        loner = _created(c.http.post("/v1/product-owners", headers=ha,
                                     body='{"first_name": "Lone", "surname": "Input"}'))
        assert c.http.put(f"/v1/client-groups/{group}/product-owners/{owner}", headers=ha).status_code == 201
        other_group = _created(c.http.post("/v1/client-groups", headers=hb,
                                           body='{"name": "Other Firm Household", "type": "family"}'))
        other_owner = _created(c.http.post("/v1/product-owners", headers=hb,
                                           body='{"first_name": "Other", "surname": "Firm"}'))
        assert c.http.put(f"/v1/client-groups/{other_group}/product-owners/{other_owner}",
                          headers=hb).status_code == 201
        # ISINs are unique per firm only: both firms hold the same two
        isins = (_random_isin("IE"), _random_isin("GB"))
        a = _products_of(c, ha, group, owner, isins)
        b = _products_of(c, hb, other_group, other_owner, isins)
        a_elsewhere = _elsewhere_of(c, ha, group, owner)
        b_elsewhere = _elsewhere_of(c, hb, other_group, other_owner)
        item, other_item = (_created(c.http.post(f"/v1/client-groups/{g}/information-items", headers=h,
                                                 body='{"item_type": "basic_detail", "item_category": "Bad input"}'))
                            for h, g in ((ha, group), (hb, other_group)))
        action, other_action = (_created(c.http.post(f"/v1/client-groups/{g}/actions", headers=h,
                                                     body='{"action_name": "Bad input", "owner": "client"}'))
                                for h, g in ((ha, group), (hb, other_group)))
        objective, other_objective = (
            _created(c.http.post(f"/v1/client-groups/{g}/objectives", headers=h, body=json.dumps({
                "title": "Bad input", "target_amount": "5000.00", "target_date": "2030-06-30",
                "product_ids": [p["product_id"]], "unmanaged_product_ids": [u["unmanaged_product_id"]]})))
            for h, g, p, u in ((ha, group, a, a_elsewhere), (hb, other_group, b, b_elsewhere)))
        contribution, other_contribution = (
            _created(c.http.post(f"/v1/objectives/{o}/contributions", headers=h,
                                 body='{"amount": "100.00", "contribution_date": "2024-01-31"}'))
            for h, o in ((ha, objective), (hb, other_objective)))
        a["statement_id"], b["statement_id"] = (
            _created(c.http.post(f"/v1/client-groups/{g}/networth-statements", headers=h, body='{"name": "Q4"}'))
            for g, h in ((group, ha), (other_group, hb)))
        for ids_of_firm, h, admin, g, o in ((a, ha, firm_a.auth("admin"), group, owner),
                                             (b, hb, firm_b.auth("admin"), other_group, other_owner)):
            cma = create_cma_set(c, h, approve=admin)
            model = create_portfolio_model(c, h, cma["id"])
            plan_id = create_plan(c, h, Household(g, o), cma["id"], model["id"], born="1966-09-01",
                                  iterations=1000, steps="yearly")["id"]
            run = c.http.post(f"/v1/plans/{plan_id}/runs", headers=h, body='{"stresses": []}')
            assert run.status_code == 202, run.body
            run_id = run.json_body["id"]
            ids_of_firm.update(cma_set_id=create_cma_set(c, h)["id"], portfolio_model_id=model["id"],
                               plan_id=plan_id, run_id=run_id)
    # firm B's existing viewer and read key stand for its users and keys (no extra rows in the shared firm)
    other_user = str(firm_b.users["viewer"]["id"])
    other_key = str(owner_sql("SELECT id FROM api_keys WHERE prefix = %s", (firm_b.api_keys["read"][:12],))[0]["id"])
    other_session = str(owner_sql("SELECT chain_id FROM sessions WHERE user_id = %s ORDER BY created_at LIMIT 1",
                                  (firm_b.users["viewer"]["id"],))[0]["chain_id"])
    ids = ("provider_id", "fund_id", "template_id", "product_id", "portfolio_fund_id", "valuation_id", "activity_id",
           "statement_id", "cma_set_id", "portfolio_model_id", "plan_id", "run_id")
    policy, other_policy = (str(owner_sql("SELECT id FROM data_retention_policies WHERE firm_id = %s AND table_name "
                                          "= 'notifications' AND condition = 'any'", (f.id,))[0]["id"])
                            for f in (firm_a, firm_b))
    mine = {"group_id": group, "owner_id": owner, "user_id": str(firm_a.users["viewer"]["id"]),
            "item_id": item, "action_id": action, "objective_id": objective, "contribution_id": contribution,
            "policy_id": policy,
            **{k: a[k] for k in ids}, **a_elsewhere}
    other_notification = str(owner_sql(
        "INSERT INTO notifications (firm_id, user_id, kind, title, body) VALUES (%s, %s, 'security.test', "
        "'A test notice', 'Nothing happened.') RETURNING id", (firm_b.id, firm_b.users["admin"]["id"]))[0]["id"])
    theirs = {"group_id": other_group, "owner_id": other_owner, "user_id": other_user, "key_id": other_key,
              "session_id": other_session,
              "notification_id": other_notification, "item_id": other_item, "action_id": other_action,
              "objective_id": other_objective, "contribution_id": other_contribution,
              "policy_id": other_policy,
              **{k: b[k] for k in ids}, **b_elsewhere}
    bad_isin = a["isin"][:11] + str((int(a["isin"][11]) + 1) % 10)
    extra = {"other_user": other_user, "other_key": other_key, "bad_isin": bad_isin, "isin": a["isin"],
             "provider_name_upper": a["provider_name"].upper(),
             "provider": a["provider_id"], "fund": a["fund_id"], "bond": a["bond"], "template": a["template_id"],
             "generation": a["generation"], "product": a["product_id"], "pf": a["portfolio_fund_id"],
             "pf_ended": a["pf_ended"], "valuation": a["valuation_id"], "activity": a["activity_id"],
             "other_provider": b["provider_id"], "other_fund": b["fund_id"], "other_template": b["template_id"],
             "other_generation": b["generation"], "other_product": b["product_id"],
             "other_pf": b["portfolio_fund_id"], "other_valuation": b["valuation_id"],
             "other_activity": b["activity_id"]}
    return World(group=group, owner=owner, loner=loner, other_group=other_group, other_owner=other_owner,
                 other_adviser=str(firm_b.users["adviser"]["id"]), viewer=str(firm_a.users["viewer"]["id"]),
                 extra=extra, mine=mine, theirs=theirs, firm=str(firm_a.id))


# --- clients: what a caller can get wrong, case by case ---------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    body: str | bytes | None = field(default=None, repr=False)  # some are a megabyte
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    fields: tuple[str, ...] = ()
    who: str = "adviser"


G, OWNERS_PATH = "/v1/client-groups", "/v1/product-owners"
GROUP, OWNER = G + "/{group}", OWNERS_PATH + "/{owner}"
IF1, IF2 = (("Content-Type", "application/json"), ("If-Match", '"1"')), \
    (("Content-Type", "application/json"), ("If-Match", '"2"'))
NUL = "\\u0000"  # in a JSON text: the NUL character, which PostgreSQL refuses in text


def _if(value: str) -> tuple[tuple[str, str], ...]:
    return (("Content-Type", "application/json"), ("If-Match", value))


CASES = [
    # malformed JSON and non-object bodies: 400
    Case("malformed-json", "POST", G, 400, '{"name": "x", "type": '),
    Case("malformed-json-trailing-comma", "POST", G, 400, '{"name": "x", "type": "family",}'),
    Case("malformed-json-patch", "PATCH", GROUP, 400, "{notes: 1}", IF2),
    Case("invalid-utf8", "POST", G, 400, b'{"name": "\xff\xfe", "type": "family"}'),
    Case("json-array", "POST", G, 400, '[{"name": "x", "type": "family"}]'),
    Case("json-string", "POST", G, 400, '"a household"'),
    Case("json-number", "POST", OWNERS_PATH, 400, "42"),
    Case("json-null", "POST", OWNERS_PATH, 400, "null"),
    Case("empty-body", "POST", G, 400, ""),
    Case("json-array-patch", "PATCH", GROUP, 400, "[]", IF2),
    # content type: 415
    Case("text-plain", "POST", G, 415, '{"name": "x", "type": "family"}', (("Content-Type", "text/plain"),)),
    Case("form-encoded", "POST", OWNERS_PATH, 415, "first_name=a&surname=b",
         (("Content-Type", "application/x-www-form-urlencoded"),)),
    Case("no-content-type", "POST", G, 415, '{"name": "x", "type": "family"}', ()),
    Case("text-plain-patch", "PATCH", GROUP, 415, '{"notes": "x"}', (("Content-Type", "text/plain"),
                                                                    ("If-Match", '"2"'))),
    # unknown fields: 422 naming the field
    Case("unknown-field", "POST", G, 422, '{"name": "x", "type": "family", "colour": "red"}', fields=("colour",)),
    Case("unknown-field-owner", "POST", OWNERS_PATH, 422, '{"first_name": "a", "surname": "b", "nickname": "c"}',
         fields=("nickname",)),
    Case("unknown-field-patch", "PATCH", GROUP, 422, '{"version": 7}', IF2, fields=("version",)),
    Case("unknown-field-id", "POST", G, 422, '{"id": "{random}", "name": "x", "type": "family"}', fields=("id",)),
    # wrong types: 422
    Case("name-not-string", "POST", G, 422, '{"name": 123, "type": "family"}', fields=("name",)),
    Case("name-list", "POST", G, 422, '{"name": ["x"], "type": "family"}', fields=("name",)),
    Case("type-not-enum", "POST", G, 422, '{"name": "x", "type": "castle"}', fields=("type",)),
    Case("type-number", "POST", G, 422, '{"name": "x", "type": 5}', fields=("type",)),
    Case("missing-required", "POST", G, 422, '{"name": "x"}', fields=("type",)),
    Case("empty-object", "POST", OWNERS_PATH, 422, "{}", fields=("first_name", "surname")),
    Case("adviser-not-uuid", "POST", G, 422, '{"name": "x", "type": "family", "adviser_id": "bob"}',
         fields=("adviser_id",)),
    Case("adviser-number", "POST", G, 422, '{"name": "x", "type": "family", "adviser_id": 12}',
         fields=("adviser_id",)),
    Case("notes-object", "PATCH", GROUP, 422, '{"notes": {"a": 1}}', IF2, fields=("notes",)),
    Case("status-bool", "PATCH", GROUP, 422, '{"status": true}', IF2, fields=("status",)),
    Case("dob-not-date", "POST", OWNERS_PATH, 422, '{"first_name": "a", "surname": "b", "date_of_birth": "31/12/1980"}',
         fields=("date_of_birth",)),
    Case("dob-impossible", "POST", OWNERS_PATH, 422,
         '{"first_name": "a", "surname": "b", "date_of_birth": "1980-02-30"}', fields=("date_of_birth",)),
    Case("dob-before-1900", "POST", OWNERS_PATH, 422,
         '{"first_name": "a", "surname": "b", "date_of_birth": "1899-12-31"}', fields=("date_of_birth",)),
    Case("email-invalid", "POST", OWNERS_PATH, 422, '{"first_name": "a", "surname": "b", "email": "not-an-email"}',
         fields=("email",)),
    Case("phone-letters", "PATCH", OWNER, 422, '{"phone": "call me"}', IF1, fields=("phone",)),
    Case("huge-number", "POST", G, 422, '{"name": "x", "type": "family", "notes": 1e999}', fields=("notes",)),
    Case("blank-name", "POST", G, 422, '{"name": "   ", "type": "family"}', fields=("name",)),
    # size: 413
    Case("one-megabyte", "POST", G, 413, '{"name": "x", "type": "family", "notes": "' + "n" * ONE_MB + '"}'),
    Case("one-megabyte-patch", "PATCH", GROUP, 413, '{"notes": "' + "n" * ONE_MB + '"}', IF2),
    Case("one-megabyte-owner", "POST", OWNERS_PATH, 413, '{"first_name": "' + "a" * ONE_MB + '", "surname": "b"}'),
    # unknown ids: 404
    Case("unknown-group", "GET", G + "/{random}", 404, None, ()),
    Case("unknown-owner", "GET", OWNERS_PATH + "/{random}", 404, None, ()),
    Case("unknown-group-patch", "PATCH", G + "/{random}", 404, '{"notes": "x"}', IF1),
    Case("unknown-group-delete", "DELETE", G + "/{random}", 404, None, ()),
    Case("unknown-owner-delete", "DELETE", OWNERS_PATH + "/{random}", 404, None, ()),
    Case("unknown-group-members", "GET", G + "/{random}/product-owners", 404, None, ()),
    Case("unknown-owner-put", "PUT", GROUP + "/product-owners/{random}", 404, None, ()),
    Case("unknown-group-put", "PUT", G + "/{random}/product-owners/{owner}", 404, None, ()),
    Case("not-a-member-delete", "DELETE", GROUP + "/product-owners/{loner}", 404, None, ()),
    # ids that are not UUIDs: 404
    Case("non-uuid-group", "GET", G + "/not-a-uuid", 404, None, ()),
    Case("numeric-group", "GET", G + "/1", 404, None, ()),
    Case("near-uuid-owner", "GET", OWNERS_PATH + "/00000000-0000-0000-0000-00000000000g", 404, None, ()),
    Case("non-uuid-patch", "PATCH", G + "/xyz", 404, '{"notes": "x"}', IF1),
    Case("non-uuid-delete", "DELETE", OWNERS_PATH + "/%27%20OR%201=1--", 404, None, ()),
    Case("non-uuid-membership", "PUT", GROUP + "/product-owners/nope", 404, None, ()),
    # another firm's ids: 404, exactly as if they did not exist
    Case("other-firm-group", "GET", G + "/{other_group}", 404, None, ()),
    Case("other-firm-owner", "GET", OWNERS_PATH + "/{other_owner}", 404, None, ()),
    Case("other-firm-members", "GET", G + "/{other_group}/product-owners", 404, None, ()),
    Case("other-firm-patch", "PATCH", G + "/{other_group}", 404, '{"notes": "mine now"}', IF1),
    Case("other-firm-owner-patch", "PATCH", OWNERS_PATH + "/{other_owner}", 404, '{"surname": "Mine"}', IF1),
    Case("other-firm-delete", "DELETE", G + "/{other_group}", 404, None, ()),
    Case("other-firm-owner-delete", "DELETE", OWNERS_PATH + "/{other_owner}", 404, None, ()),
    Case("other-firm-owner-into-my-group", "PUT", GROUP + "/product-owners/{other_owner}", 404, None, ()),
    Case("my-owner-into-other-firm-group", "PUT", G + "/{other_group}/product-owners/{owner}", 404, None, ()),
    Case("other-firm-membership-delete", "DELETE", G + "/{other_group}/product-owners/{other_owner}", 404, None,
         ()),
    # If-Match
    Case("if-match-missing", "PATCH", GROUP, 428, '{"notes": "x"}'),
    Case("if-match-missing-owner", "PATCH", OWNER, 428, '{"surname": "x"}'),
    Case("if-match-stale", "PATCH", GROUP, 412, '{"notes": "x"}', IF1),
    Case("if-match-future", "PATCH", GROUP, 412, '{"notes": "x"}', _if('"3"')),
    Case("if-match-stale-owner", "PATCH", OWNER, 412, '{"surname": "x"}', _if('"0"')),
    Case("if-match-unquoted", "PATCH", GROUP, 412, '{"notes": "x"}', _if("2")),
    Case("if-match-text", "PATCH", GROUP, 412, '{"notes": "x"}', _if('"two"')),
    Case("if-match-garbage", "PATCH", GROUP, 412, '{"notes": "x"}', _if("abc")),
    Case("if-match-negative", "PATCH", GROUP, 412, '{"notes": "x"}', _if('"-2"')),
    Case("if-match-empty-quotes", "PATCH", GROUP, 412, '{"notes": "x"}', _if('""')),
    Case("if-match-weak-unquoted", "PATCH", GROUP, 412, '{"notes": "x"}', _if("W/2")),
    Case("if-match-huge", "PATCH", GROUP, 412, '{"notes": "x"}', _if('"99999999999999999999"')),
    # query parameters
    Case("unknown-query-param", "GET", G + "?colour=red", 422, None, (), fields=("colour",)),
    Case("unknown-query-param-owners", "GET", OWNERS_PATH + "?sort_by=name", 422, None, (), fields=("sort_by",)),
    Case("query-on-get-by-id", "GET", GROUP + "?expand=all", 422, None, (), fields=("expand",)),
    Case("query-on-delete", "DELETE", OWNERS_PATH + "/{loner}?force=true", 422, None, (), fields=("force",)),
    Case("limit-0", "GET", G + "?limit=0", 422, None, (), fields=("limit",)),
    Case("limit-201", "GET", G + "?limit=201", 422, None, (), fields=("limit",)),
    Case("limit-negative", "GET", OWNERS_PATH + "?limit=-1", 422, None, (), fields=("limit",)),
    Case("limit-text", "GET", OWNERS_PATH + "?limit=ten", 422, None, (), fields=("limit",)),
    Case("status-filter-invalid", "GET", G + "?status=gone", 422, None, (), fields=("status",)),
    Case("type-filter-invalid", "GET", G + "?type=castle", 422, None, (), fields=("type",)),
    Case("cursor-impossible-time", "GET",
         G + "?sort=created_at&cursor=" + signed(["client_groups", "created_at", "2024-02-30T25:61:00Z",
                                                  str(uuid.UUID(int=0))]), 422, None, (), fields=("cursor",)),
    Case("cursor-year-300000", "GET",
         G + "?sort=-updated_at&cursor=" + signed(["client_groups", "-updated_at", "300000-01-01T00:00Z",
                                                   str(uuid.UUID(int=0))]), 422, None, (), fields=("cursor",)),
    Case("cursor-impossible-date", "GET",
         OWNERS_PATH + "?sort=inception_date&cursor=" + signed(["product_owners", "inception_date", "2024-02-30",
                                                                str(uuid.UUID(int=0))]),
         422, None, (), fields=("cursor",)),
    Case("cursor-nul-in-a-value", "GET",
         G + "?cursor=" + signed(["client_groups", "name", "a\u0000", str(uuid.UUID(int=0))]), 422, None, (),
         fields=("cursor",)),
    Case("cursor-surrogate-in-a-value", "GET",
         G + "?cursor=" + signed(["client_groups", "name", "\ud800", str(uuid.UUID(int=0))]), 422, None, (),
         fields=("cursor",)),
    Case("cursor-unsigned", "GET", G + "?cursor=" + b64(["client_groups", "name", "a", str(uuid.UUID(int=0))]),
         422, None, (), fields=("cursor",)),
    Case("sort-unknown", "GET", G + "?sort=notes", 422, None, (), fields=("sort",)),
    Case("sort-injection", "GET", OWNERS_PATH + "?sort=surname;drop%20table%20users", 422, None, (), fields=("sort",)),
    Case("q-empty", "GET", G + "?q=", 422, None, (), fields=("q",)),
    Case("cursor-garbage", "GET", G + "?cursor=not-a-cursor", 422, None, (), fields=("cursor",)),
    Case("cursor-bangs", "GET", OWNERS_PATH + "?cursor=!!!!", 422, None, (), fields=("cursor",)),
    Case("cursor-not-list", "GET", OWNERS_PATH + "?cursor=" + signed({"surname": "a"}), 422, None, (),
         fields=("cursor",)),
    Case("cursor-too-long", "GET", G + "?cursor=" + "A" * (MAX_CURSOR + 1), 422, None, (), fields=("cursor",)),
    Case("adviser-unknown", "POST", G, 422, '{"name": "x", "type": "family", "adviser_id": "{random}"}',
         fields=("adviser_id",)),
    Case("adviser-other-firm", "POST", G, 422, '{"name": "x", "type": "family", "adviser_id": "{other_adviser}"}',
         fields=("adviser_id",)),
    Case("adviser-is-viewer", "POST", G, 422, '{"name": "x", "type": "family", "adviser_id": "{viewer}"}',
         fields=("adviser_id",)),
    Case("adviser-other-firm-patch", "PATCH", GROUP, 422, '{"adviser_id": "{other_adviser}"}', IF2,
         fields=("adviser_id",)),
    # dates of birth in the future
    Case("dob-future", "POST", OWNERS_PATH, 422, '{"first_name": "a", "surname": "b", "date_of_birth": "{future}"}',
         fields=("date_of_birth",)),
    Case("dob-future-patch", "PATCH", OWNER, 422, '{"date_of_birth": "{future}"}', IF1, fields=("date_of_birth",)),
    # null for a field that cannot be cleared
    Case("null-name", "PATCH", GROUP, 422, '{"name": null}', IF2, fields=("name",)),
    Case("null-type", "PATCH", GROUP, 422, '{"type": null}', IF2, fields=("type",)),
    Case("null-status", "PATCH", GROUP, 422, '{"status": null, "notes": "x"}', IF2, fields=("status",)),
    Case("null-surname", "PATCH", OWNER, 422, '{"surname": null}', IF1, fields=("surname",)),
    Case("null-inception", "PATCH", OWNER, 422, '{"inception_date": null}', IF1, fields=("inception_date",)),
    Case("null-required-on-create", "POST", G, 422, '{"name": null, "type": "family"}', fields=("name",)),
    # overlong strings
    Case("name-201", "POST", G, 422, '{"name": "' + "x" * 201 + '", "type": "family"}', fields=("name",)),
    Case("notes-10001", "PATCH", GROUP, 422, '{"notes": "' + "x" * 10001 + '"}', IF2, fields=("notes",)),
    Case("first-name-101", "POST", OWNERS_PATH, 422, '{"first_name": "' + "x" * 101 + '", "surname": "b"}',
         fields=("first_name",)),
    Case("known-as-101", "PATCH", OWNER, 422, '{"known_as": "' + "x" * 101 + '"}', IF1, fields=("known_as",)),
    Case("phone-41", "POST", OWNERS_PATH, 422, '{"first_name": "a", "surname": "b", "phone": "' + "1" * 41 + '"}',
         fields=("phone",)),
    Case("q-201", "GET", G + "?q=" + "x" * 201, 422, None, (), fields=("q",)),
    # NUL characters: PostgreSQL refuses them in text, so they must be refused at the edge (422), never a 500
    Case("nul-in-name", "POST", G, 422, '{"name": "a' + NUL + 'b", "type": "family"}', fields=("name",)),
    Case("nul-in-notes-patch", "PATCH", GROUP, 422, '{"notes": "' + NUL + '"}', IF2, fields=("notes",)),
    Case("nul-in-first-name", "POST", OWNERS_PATH, 422, '{"first_name": "' + NUL + '", "surname": "b"}',
         fields=("first_name",)),
    Case("nul-in-known-as-patch", "PATCH", OWNER, 422, '{"known_as": "x' + NUL + '"}', IF1, fields=("known_as",)),
    Case("nul-in-q", "GET", G + "?q=a%00b", 422, None, (), fields=("q",)),
    Case("nul-in-q-owners", "GET", OWNERS_PATH + "?q=%00", 422, None, (), fields=("q",)),
    Case("nul-in-user-name", "POST", "/v1/users", 422,
         '{"email": "nul@example.com", "name": "a' + NUL + '", "role": "viewer"}', fields=("name",), who="admin"),
    Case("nul-in-api-key-name", "POST", "/v1/api-keys", 422, '{"name": "' + NUL + '", "scopes": ["read"]}',
         fields=("name",), who="admin"),
    # a body where none is taken
    Case("body-on-put-membership", "PUT", GROUP + "/product-owners/{loner}", 422, '{"role": "joint"}'),
]


# --- managed products: an unknown fund, weights not 100, a valuation for an ended fund, a cash flow before the
# product started, bulk rows with one bad row, and the rest of what an adviser could get wrong -------------------

PROVIDERS, FUNDS, TEMPLATES = "/v1/providers", "/v1/funds", "/v1/portfolio-templates"
GENS = TEMPLATES + "/{template}/generations"
PRODUCTS = GROUP + "/products"
PRODUCT = "/v1/products/{product}"
PF, PF_ENDED = "/v1/portfolio-funds/{pf}", "/v1/portfolio-funds/{pf_ended}"
VALUATION, ACTIVITY = "/v1/fund-valuations/{valuation}", "/v1/activity/{activity}"
NONE: tuple[tuple[str, str], ...] = ()


def j(value: Any) -> str:
    return json.dumps(value)


def _gen(*funds: tuple[str, Any]) -> str:
    return j({"funds": [{"fund_id": f, "target_weighting": w} for f, w in funds]})


def _product(**over: Any) -> str:
    """A product body that firm A's group would accept, with `over` changed (None drops a field)."""
    body = {"name": "New GIA", "product_type": "gia", "provider_id": "{provider}", "start_date": "2024-01-01",
            "fixed_fee_direct": "100.00", "percentage_fee_facilitated": "0.50",
            "ownership": {"association_type": "individual", "product_owner_id": "{owner}"}}
    body.update(over)
    return j({k: v for k, v in body.items() if v is not None})


def _tic(shares: dict[str, Any]) -> dict[str, Any]:
    return {"association_type": "tenants_in_common", "shares": shares}


def _joint(owners: list[str], pct: Any = "100.00") -> dict[str, Any]:
    return {"association_type": "joint", "joint_owners": owners, "collective_percentage": pct}


def _valuation(value: Any, day: str = "2024-06-30") -> str:
    return j({"valuation_date": day, "value": value})


def _activity(amount: Any, day: str = "2024-06-30", kind: str = "investment") -> str:
    return j({"activity_date": day, "activity_type": kind, "amount": amount})


def _bulk_valuations(rows: list[tuple[str, str, Any]]) -> str:
    return j({"valuations": [{"portfolio_fund_id": pf, "valuation_date": d, "value": v} for pf, d, v in rows]})


def _bulk_activity(rows: list[tuple[str, str, Any]]) -> str:
    return j({"activities": [{"portfolio_fund_id": pf, "activity_date": d, "activity_type": "investment",
                              "amount": a} for pf, d, a in rows]})


_MONTH_ENDS = ["2021-01-28", "2021-02-28", "2021-03-28"]
_GOOD_VALUATIONS = [("{pf}", d, "1000.00") for d in _MONTH_ENDS[:3]]
_GOOD_ACTIVITY = [("{pf}", d, "50.00") for d in _MONTH_ENDS[:3]]
# 5,001 rows of distinct dates (one past the limit), each one good on its own
_TOO_MANY_DAYS = [(date(2021, 1, 1) + timedelta(days=i)).isoformat() for i in range(5001)]

PRODUCT_CASES = [
    # catalogue: providers
    Case("provider-colour-not-hex", "POST", PROVIDERS, 422, j({"name": "Aviva X", "colour": "red"}),
         fields=("colour",)),
    Case("provider-name-taken", "POST", PROVIDERS, 409, j({"name": "{provider_name_upper}"})),
    Case("provider-status-unknown", "PATCH", "/v1/providers/{provider}", 422, '{"status": "closed"}', IF1,
         fields=("status",)),
    Case("provider-in-use-delete", "DELETE", "/v1/providers/{provider}", 409, None, NONE),
    Case("provider-other-firm-patch", "PATCH", "/v1/providers/{other_provider}", 404, '{"name": "Mine"}', IF1),
    # catalogue: funds and ISINs
    Case("isin-bad-check-digit", "POST", FUNDS, 422, j({"name": "F", "isin": "{bad_isin}"}), fields=("isin",)),
    Case("isin-bad-check-digit-ishares", "POST", FUNDS, 422, j({"name": "F", "isin": "IE00B4L5Y984"}),
         fields=("isin",)),
    Case("isin-bad-check-digit-apple", "POST", FUNDS, 422, j({"name": "F", "isin": "US0378331006"}),
         fields=("isin",)),
    Case("isin-lower-case", "POST", FUNDS, 422, j({"name": "F", "isin": "ie00b4l5y983"}), fields=("isin",)),
    Case("isin-eleven-characters", "POST", FUNDS, 422, j({"name": "F", "isin": "IE00B4L5Y98"}), fields=("isin",)),
    Case("isin-thirteen-characters", "POST", FUNDS, 422, j({"name": "F", "isin": "IE00B4L5Y9830"}),
         fields=("isin",)),
    Case("isin-digits-for-country", "POST", FUNDS, 422, j({"name": "F", "isin": "120000000000"}), fields=("isin",)),
    Case("isin-number", "POST", FUNDS, 422, j({"name": "F", "isin": 37833100}), fields=("isin",)),
    Case("isin-bad-check-digit-patch", "PATCH", "/v1/funds/{fund}", 422, j({"isin": "{bad_isin}"}), IF1,
         fields=("isin",)),
    Case("isin-taken-in-my-firm", "POST", FUNDS, 409, j({"name": "Same ISIN", "isin": "{isin}"})),
    Case("isin-filter-too-long", "GET", FUNDS + "?isin=IE00B4L5Y9830", 422, None, NONE, fields=("isin",)),
    Case("risk-factor-0", "POST", FUNDS, 422, j({"name": "F", "risk_factor": 0}), fields=("risk_factor",)),
    Case("risk-factor-8", "POST", FUNDS, 422, j({"name": "F", "risk_factor": 8}), fields=("risk_factor",)),
    Case("ongoing-cost-number", "POST", FUNDS, 422, j({"name": "F", "ongoing_cost": 0.22}), fields=("ongoing_cost",)),
    Case("ongoing-cost-over-100", "POST", FUNDS, 422, j({"name": "F", "ongoing_cost": "100.01"}),
         fields=("ongoing_cost",)),
    Case("fund-currency-lower-case", "POST", FUNDS, 422, j({"name": "F", "currency": "gbp"}), fields=("currency",)),
    Case("fund-in-use-delete", "DELETE", "/v1/funds/{fund}", 409, None, NONE),
    # catalogue: template generations
    Case("generation-unknown-fund", "POST", GENS, 422, _gen(("{fund}", "60.00"), ("{random}", "40.00")),
         fields=("funds",)),
    Case("generation-other-firms-fund", "POST", GENS, 422, _gen(("{fund}", "60.00"), ("{other_fund}", "40.00")),
         fields=("funds",)),
    Case("generation-weights-99.99", "POST", GENS, 422, _gen(("{fund}", "59.99"), ("{bond}", "40.00")),
         fields=("funds",)),
    Case("generation-weights-100.01", "POST", GENS, 422, _gen(("{fund}", "60.01"), ("{bond}", "40.00")),
         fields=("funds",)),
    Case("generation-weights-200", "POST", GENS, 422, _gen(("{fund}", "100.00"), ("{bond}", "100.00")),
         fields=("funds",)),
    Case("generation-weight-0", "POST", GENS, 422, _gen(("{fund}", "100.00"), ("{bond}", "0.00")),
         fields=("funds.1.target_weighting",)),
    Case("generation-weight-three-decimals", "POST", GENS, 422, _gen(("{fund}", "66.667"), ("{bond}", "33.333")),
         fields=("funds.0.target_weighting", "funds.1.target_weighting")),
    Case("generation-weight-number", "POST", GENS, 422, _gen(("{fund}", 60.5), ("{bond}", "39.50")),
         fields=("funds.0.target_weighting",)),
    Case("generation-same-fund-twice", "POST", GENS, 422, _gen(("{fund}", "50.00"), ("{fund}", "50.00")),
         fields=("funds",)),
    Case("generation-no-funds", "POST", GENS, 422, j({"funds": []}), fields=("funds",)),
    Case("generation-of-other-firms-template", "POST", TEMPLATES + "/{other_template}/generations", 404,
         _gen(("{fund}", "100.00"))),
    # products
    Case("product-type-unknown", "POST", PRODUCTS, 422, _product(product_type="isa"), fields=("product_type",)),
    Case("product-end-before-start", "POST", PRODUCTS, 422, _product(end_date="2023-12-31"), fields=("end_date",)),
    Case("product-start-missing", "POST", PRODUCTS, 422, _product(start_date=None), fields=("start_date",)),
    Case("product-unknown-provider", "POST", PRODUCTS, 422, _product(provider_id="{random}"),
         fields=("provider_id",)),
    Case("product-other-firms-provider", "POST", PRODUCTS, 422, _product(provider_id="{other_provider}"),
         fields=("provider_id",)),
    Case("product-unknown-generation", "POST", PRODUCTS, 422, _product(template_generation_id="{random}"),
         fields=("template_generation_id",)),
    Case("product-other-firms-generation", "POST", PRODUCTS, 422,
         _product(template_generation_id="{other_generation}"), fields=("template_generation_id",)),
    Case("product-fee-number", "POST", PRODUCTS, 422, _product(fixed_fee_direct=100.5), fields=("fixed_fee_direct",)),
    Case("product-fee-three-decimals", "POST", PRODUCTS, 422, _product(fixed_fee_direct="100.005"),
         fields=("fixed_fee_direct",)),
    Case("product-fee-negative", "POST", PRODUCTS, 422, _product(fixed_fee_facilitated="-1.00"),
         fields=("fixed_fee_facilitated",)),
    Case("product-fee-not-a-number", "POST", PRODUCTS, 422, _product(fixed_fee_direct="a hundred"),
         fields=("fixed_fee_direct",)),
    Case("product-fee-nan", "POST", PRODUCTS, 422, _product(fixed_fee_direct="NaN"), fields=("fixed_fee_direct",)),
    Case("product-fee-infinity", "POST", PRODUCTS, 422, _product(fixed_fee_direct="Infinity"),
         fields=("fixed_fee_direct",)),
    Case("product-percentage-over-100", "POST", PRODUCTS, 422, _product(percentage_fee_facilitated="100.01"),
         fields=("percentage_fee_facilitated",)),
    Case("product-currency-lower-case", "POST", PRODUCTS, 422, _product(currency="gbp"), fields=("currency",)),
    Case("product-into-other-firms-group", "POST", G + "/{other_group}/products", 404,
         _product(provider_id=None, ownership={"association_type": "individual", "product_owner_id": "{other_owner}"})),
    # ownership (docs/domain.md: three forms; owners belong to the group; shares sum to at most 100.00)
    Case("ownership-missing", "POST", PRODUCTS, 422, _product(ownership=None), fields=("ownership",)),
    Case("ownership-owner-outside-group", "POST", PRODUCTS, 422,
         _product(ownership={"association_type": "individual", "product_owner_id": "{loner}"}), fields=("ownership",)),
    Case("ownership-owner-of-other-firm", "POST", PRODUCTS, 422,
         _product(ownership={"association_type": "individual", "product_owner_id": "{other_owner}"}),
         fields=("ownership",)),
    Case("ownership-unknown-owner", "POST", PRODUCTS, 422,
         _product(ownership={"association_type": "individual", "product_owner_id": "{random}"}),
         fields=("ownership",)),
    Case("ownership-share-outside-group", "POST", PRODUCTS, 422,
         _product(ownership=_tic({"{owner}": "50.00", "{loner}": "50.00"})), fields=("ownership",)),
    Case("ownership-joint-outside-group", "POST", PRODUCTS, 422,
         _product(ownership=_joint(["{owner}", "{loner}"])), fields=("ownership",)),
    Case("ownership-shares-100.01", "POST", PRODUCTS, 422,
         _product(ownership=_tic({"{owner}": "60.00", "{loner}": "40.01"})),
         fields=("ownership.tenants_in_common.shares",)),
    Case("ownership-shares-150", "POST", PRODUCTS, 422,
         _product(ownership=_tic({"{owner}": "100.00", "{loner}": "50.00"})),
         fields=("ownership.tenants_in_common.shares",)),
    Case("ownership-share-0", "POST", PRODUCTS, 422, _product(ownership=_tic({"{owner}": "0.00"}))),
    Case("ownership-share-three-decimals", "POST", PRODUCTS, 422, _product(ownership=_tic({"{owner}": "50.005"}))),
    Case("ownership-share-number", "POST", PRODUCTS, 422, _product(ownership=_tic({"{owner}": 50.5}))),
    Case("ownership-share-key-not-uuid", "POST", PRODUCTS, 422, _product(ownership=_tic({"ada": "50.00"}))),
    Case("ownership-no-shares", "POST", PRODUCTS, 422, _product(ownership=_tic({})),
         fields=("ownership.tenants_in_common.shares",)),
    Case("ownership-joint-one-owner", "POST", PRODUCTS, 422, _product(ownership=_joint(["{owner}"])),
         fields=("ownership.joint.joint_owners",)),
    Case("ownership-joint-same-owner-twice", "POST", PRODUCTS, 422, _product(ownership=_joint(["{owner}", "{owner}"])),
         fields=("ownership.joint.joint_owners",)),
    Case("ownership-joint-percentage-0", "POST", PRODUCTS, 422,
         _product(ownership=_joint(["{owner}", "{loner}"], "0.00")),
         fields=("ownership.joint.collective_percentage",)),
    Case("ownership-joint-percentage-101", "POST", PRODUCTS, 422,
         _product(ownership=_joint(["{owner}", "{loner}"], "101.00")),
         fields=("ownership.joint.collective_percentage",)),
    Case("ownership-unknown-form", "POST", PRODUCTS, 422,
         _product(ownership={"association_type": "sole", "product_owner_id": "{owner}"}), fields=("ownership",)),
    Case("ownership-forms-mixed", "POST", PRODUCTS, 422,
         _product(ownership={"association_type": "individual", "product_owner_id": "{owner}",
                             "shares": {"{owner}": "100.00"}}), fields=("ownership.individual.shares",)),
    Case("ownership-a-list", "POST", PRODUCTS, 422, _product(ownership=["{owner}"]), fields=("ownership",)),
    Case("ownership-outside-group-patch", "PATCH", PRODUCT, 422,
         j({"ownership": {"association_type": "individual", "product_owner_id": "{loner}"}}), IF1,
         fields=("ownership",)),
    Case("ownership-shares-over-100-patch", "PATCH", PRODUCT, 422,
         j({"ownership": _tic({"{owner}": "100.00", "{loner}": "0.01"})}), IF1,
         fields=("ownership.tenants_in_common.shares",)),
    Case("ownership-null-patch", "PATCH", PRODUCT, 422, '{"ownership": null}', IF1, fields=("ownership",)),
    # changing a product
    Case("product-end-before-start-patch", "PATCH", PRODUCT, 422, '{"end_date": "2019-12-31"}', IF1,
         fields=("end_date",)),
    Case("product-other-firms-provider-patch", "PATCH", PRODUCT, 422, '{"provider_id": "{other_provider}"}', IF1,
         fields=("provider_id",)),
    Case("product-start-after-its-first-cash-flow", "PATCH", PRODUCT, 422, '{"start_date": "2020-02-01"}', IF1,
         fields=("start_date",)),
    Case("product-stale-if-match", "PATCH", PRODUCT, 412, '{"name": "Renamed"}', _if('"2"')),
    Case("product-status-by-patch", "PATCH", PRODUCT, 422, '{"status": "lapsed"}', IF1, fields=("status",)),
    Case("lapse-with-a-value", "POST", PRODUCT + "/lapse", 409, None, NONE),
    Case("lapse-with-a-body", "POST", PRODUCT + "/lapse", 422, '{"force": true}'),
    Case("reactivate-an-active-product", "POST", PRODUCT + "/reactivate", 409, None, NONE),
    Case("product-with-funds-delete", "DELETE", PRODUCT, 409, None, NONE),
    Case("owner-named-by-a-product-leaves-the-group", "DELETE", GROUP + "/product-owners/{owner}", 409, None, NONE),
    Case("product-list-status-unknown", "GET", PRODUCTS + "?status=closed", 422, None, NONE, fields=("status",)),
    # portfolio funds
    Case("portfolio-unknown-fund", "POST", PRODUCT + "/funds", 422,
         j({"fund_id": "{random}", "start_date": "2024-01-01"}),
         fields=("fund_id",)),
    Case("portfolio-other-firms-fund", "POST", PRODUCT + "/funds", 422,
         j({"fund_id": "{other_fund}", "start_date": "2024-01-01"}), fields=("fund_id",)),
    Case("portfolio-fund-before-product", "POST", PRODUCT + "/funds", 422,
         j({"fund_id": "{fund}", "start_date": "2019-12-31"}), fields=("start_date",)),
    Case("portfolio-weighting-over-100", "POST", PRODUCT + "/funds", 422,
         j({"fund_id": "{fund}", "start_date": "2024-01-01", "target_weighting": "100.01"}),
         fields=("target_weighting",)),
    Case("portfolio-fund-end-before-start", "PATCH", PF, 422, '{"end_date": "2019-12-31"}', IF1,
         fields=("end_date",)),
    Case("portfolio-fund-end-before-its-valuation", "PATCH", PF, 422, '{"end_date": "2024-06-30"}', IF1,
         fields=("end_date",)),
    Case("portfolio-fund-with-history-delete", "DELETE", PF, 409, None, NONE),
    Case("portfolio-fund-of-other-firm-delete", "DELETE", "/v1/portfolio-funds/{other_pf}", 404, None, NONE),
    # fund valuations: money is a decimal string with at most two decimals, never negative
    Case("valuation-for-an-ended-fund", "POST", PF_ENDED + "/valuations", 422, _valuation("500.00", "2021-01-31"),
         fields=("valuation_date",)),
    Case("valuation-before-the-fund-started", "POST", PF + "/valuations", 422, _valuation("500.00", "2019-12-31"),
         fields=("valuation_date",)),
    Case("valuation-number", "POST", PF + "/valuations", 422, _valuation(1000.5), fields=("value",)),
    Case("valuation-three-decimals", "POST", PF + "/valuations", 422, _valuation("1000.001"), fields=("value",)),
    Case("valuation-negative", "POST", PF + "/valuations", 422, _valuation("-0.01"), fields=("value",)),
    Case("valuation-nan", "POST", PF + "/valuations", 422, _valuation("NaN"), fields=("value",)),
    Case("valuation-too-many-digits", "POST", PF + "/valuations", 422, _valuation("1" + "0" * 17 + ".00"),
         fields=("value",)),
    Case("valuation-with-commas", "POST", PF + "/valuations", 422, _valuation("1,000.00"), fields=("value",)),
    Case("valuation-date-impossible", "POST", PF + "/valuations", 422, _valuation("1.00", "2024-02-30"),
         fields=("valuation_date",)),
    Case("valuation-same-date-twice", "POST", PF + "/valuations", 409, _valuation("1.00", "2024-12-31")),
    Case("valuation-number-patch", "PATCH", VALUATION, 422, j({"value": 999.99}), IF1, fields=("value",)),
    Case("valuation-date-patch", "PATCH", VALUATION, 422, j({"value": "1.00", "valuation_date": "2024-01-31"}), IF1,
         fields=("valuation_date",)),
    Case("valuation-stale-if-match", "PATCH", VALUATION, 412, j({"value": "1.00"}), _if('"2"')),
    # cash flows: amount > 0 (the type gives the sign), dated within the product's and the fund's life
    Case("activity-zero", "POST", PF + "/activity", 422, _activity("0.00"), fields=("amount",)),
    Case("activity-negative", "POST", PF + "/activity", 422, _activity("-100.00"), fields=("amount",)),
    Case("activity-number", "POST", PF + "/activity", 422, _activity(100.5), fields=("amount",)),
    Case("activity-three-decimals", "POST", PF + "/activity", 422, _activity("100.005"), fields=("amount",)),
    Case("activity-type-unknown", "POST", PF + "/activity", 422, _activity("100.00", kind="gift"),
         fields=("activity_type",)),
    Case("activity-before-the-product-started", "POST", PF + "/activity", 422, _activity("100.00", "2019-12-31"),
         fields=("activity_date",)),
    Case("activity-after-the-fund-ended", "POST", PF_ENDED + "/activity", 422, _activity("100.00", "2021-01-04"),
         fields=("activity_date",)),
    Case("activity-before-the-product-started-patch", "PATCH", ACTIVITY, 422, '{"activity_date": "2019-12-31"}', IF1,
         fields=("activity_date",)),
    Case("activity-zero-patch", "PATCH", ACTIVITY, 422, '{"amount": "0"}', IF1, fields=("amount",)),
    Case("activity-other-firm-patch", "PATCH", "/v1/activity/{other_activity}", 404, '{"amount": "1.00"}', IF1),
    # bulk: all or nothing, the bad row named
    Case("bulk-valuations-one-before-the-fund", "POST", PRODUCT + "/valuations:bulk", 422,
         _bulk_valuations([*_GOOD_VALUATIONS, ("{pf}", "2019-12-31", "1.00")]),
         fields=("valuations.3.valuation_date",)),
    Case("bulk-valuations-one-for-an-ended-fund", "POST", PRODUCT + "/valuations:bulk", 422,
         _bulk_valuations([_GOOD_VALUATIONS[0], ("{pf_ended}", "2021-06-30", "1.00"), *_GOOD_VALUATIONS[1:]]),
         fields=("valuations.1.valuation_date",)),
    Case("bulk-valuations-one-negative", "POST", PRODUCT + "/valuations:bulk", 422,
         _bulk_valuations([_GOOD_VALUATIONS[0], ("{pf}", "2023-01-31", "-5.00"), *_GOOD_VALUATIONS[1:]]),
         fields=("valuations.1.value",)),
    Case("bulk-valuations-one-number", "POST", PRODUCT + "/valuations:bulk", 422,
         _bulk_valuations([*_GOOD_VALUATIONS, ("{pf}", "2023-01-31", 12.5)]), fields=("valuations.3.value",)),
    Case("bulk-valuations-one-of-other-firm", "POST", PRODUCT + "/valuations:bulk", 422,
         _bulk_valuations([*_GOOD_VALUATIONS[:2], ("{other_pf}", "2023-01-31", "1.00")]),
         fields=("valuations.2.portfolio_fund_id",)),
    Case("bulk-valuations-one-unknown-fund", "POST", PRODUCT + "/valuations:bulk", 422,
         _bulk_valuations([("{random}", "2023-01-31", "1.00"), *_GOOD_VALUATIONS]),
         fields=("valuations.0.portfolio_fund_id",)),
    Case("bulk-valuations-same-row-twice", "POST", PRODUCT + "/valuations:bulk", 422,
         _bulk_valuations(_GOOD_VALUATIONS + _GOOD_VALUATIONS[:1]), fields=("valuations.3",)),
    Case("bulk-valuations-one-already-there", "POST", PRODUCT + "/valuations:bulk", 409,
         _bulk_valuations([*_GOOD_VALUATIONS, ("{pf}", "2024-12-31", "1.00")])),
    Case("bulk-valuations-5001", "POST", PRODUCT + "/valuations:bulk", 422,
         _bulk_valuations([("{pf}", d, "1.00") for d in _TOO_MANY_DAYS]), fields=("valuations",)),
    # 5,000 rows (the most a bulk takes) of generous width fit in a body: the bad last row is named, not a 413
    Case("bulk-valuations-5000-last-one-bad", "POST", PRODUCT + "/valuations:bulk", 422,
         _bulk_valuations([("{pf}", d, "9999999999999.99") for d in _TOO_MANY_DAYS[:4999]]
                          + [("{pf}", "2019-12-31", "9999999999999.99")]),
         fields=("valuations.4999.valuation_date",)),
    Case("bulk-valuations-none", "POST", PRODUCT + "/valuations:bulk", 422, '{"valuations": []}',
         fields=("valuations",)),
    Case("bulk-valuations-other-firms-product", "POST", "/v1/products/{other_product}/valuations:bulk", 404,
         _bulk_valuations([("{other_pf}", "2023-01-31", "1.00")])),
    Case("bulk-activity-one-before-the-product", "POST", PRODUCT + "/activity:bulk", 422,
         _bulk_activity([_GOOD_ACTIVITY[0], ("{pf}", "2019-12-31", "1.00"), *_GOOD_ACTIVITY[1:]]),
         fields=("activities.1.activity_date",)),
    Case("bulk-activity-one-zero", "POST", PRODUCT + "/activity:bulk", 422,
         _bulk_activity([*_GOOD_ACTIVITY, ("{pf}", "2023-01-31", "0.00")]), fields=("activities.3.amount",)),
    Case("bulk-activity-one-of-other-firm", "POST", PRODUCT + "/activity:bulk", 422,
         _bulk_activity([*_GOOD_ACTIVITY, ("{other_pf}", "2023-01-31", "1.00")]),
         fields=("activities.3.portfolio_fund_id",)),
    Case("bulk-activity-5000-last-one-bad", "POST", PRODUCT + "/activity:bulk", 422,
         j({"activities": [{"portfolio_fund_id": "{pf}", "activity_date": d, "activity_type": "regular_withdrawal",
                            "amount": "9999999999999.99"} for d in [*_TOO_MANY_DAYS[:4999], "2019-12-31"]]}),
         fields=("activities.4999.activity_date",)),
    Case("bulk-activity-5001", "POST", PRODUCT + "/activity:bulk", 422,
         _bulk_activity([("{pf}", d, "1.00") for d in _TOO_MANY_DAYS]), fields=("activities",)),
    # performance and search queries
    Case("irr-method-unknown", "GET", PRODUCT + "/irr?method=simple", 422, None, NONE, fields=("method",)),
    Case("irr-from-not-a-date", "GET", PRODUCT + "/irr?from=last-year", 422, None, NONE, fields=("from",)),
    Case("irr-include-unknown", "GET", PF + "/irr?include=everything", 422, None, NONE, fields=("include",)),
    Case("irr-group-to-impossible", "GET", GROUP + "/irr?to=2024-13-01", 422, None, NONE, fields=("to",)),
    Case("irr-history-method-unknown", "GET", PRODUCT + "/irr-history?method=simple", 422, None, NONE,
         fields=("method",)),
    Case("valuations-from-not-a-date", "GET", PF + "/valuations?from=yesterday", 422, None, NONE, fields=("from",)),
    Case("search-q-two-characters", "GET", "/v1/search?q=ab", 422, None, NONE, fields=("q",)),
    Case("search-q-two-after-trimming", "GET", "/v1/search?q=%20ab%20%20", 422, None, NONE, fields=("q",)),
    Case("search-q-missing", "GET", "/v1/search", 422, None, NONE, fields=("q",)),
    Case("search-q-101", "GET", "/v1/search?q=" + "x" * 101, 422, None, NONE, fields=("q",)),
    Case("search-q-nul", "GET", "/v1/search?q=abc%00", 422, None, NONE, fields=("q",)),
    Case("search-kind-unknown", "GET", "/v1/search?q=input&kind=adviser", 422, None, NONE, fields=("kind",)),
    Case("search-limit-101", "GET", "/v1/search?q=input&limit=101", 422, None, NONE, fields=("limit",)),
]
CASES += PRODUCT_CASES


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_case(client: Any, firm_a: Firm, firm_b: Firm, world: World, case: Case) -> None:
    headers = {**firm_a.auth(case.who), **dict(case.headers)}
    body = world.fmt(case.body) if isinstance(case.body, str) else case.body
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, case.method, world.fmt(case.path), headers, body)
    assert_problem(resp, case.status, case.fields)
    if "{cursor:" in case.path:  # signed for firm A: the checks behind the signature refuse it
        assert_cursor_refused(resp, by_signature=False)
    assert snapshot(firm_a.id, firm_b.id) == before


def test_money_and_rates_as_json_integers_are_refused(client: Any, fresh_firm: Firm) -> None:
    """Money and rates are decimal strings (design: "strings in JSON ... never float"): a JSON number is refused
    whole or fractional, so a client cannot come to rely on numbers that work only while they happen to be whole.
    In a firm of its own: if a number were taken, the row it made would spoil the shared world."""
    h = {**fresh_firm.auth("adviser"), **JSON}

    def post(path: str, body: dict[str, Any]) -> Any:
        return client.http.post(path, headers=h, body=json.dumps(body))

    group = _created(post("/v1/client-groups", {"name": "Integers", "type": "individual"}))
    owner = _created(post("/v1/product-owners", {"first_name": "Ivy", "surname": "Integer"}))
    assert client.http.put(f"/v1/client-groups/{group}/product-owners/{owner}", headers=h).status_code == 201
    fund = _created(post("/v1/funds", {"name": "Whole Numbers Fund"}))
    product = _created(post(f"/v1/client-groups/{group}/products", {
        "name": "ISA", "product_type": "stocks_and_shares_isa", "start_date": "2024-01-01",
        "ownership": {"association_type": "individual", "product_owner_id": owner}}))
    pf = _created(post(f"/v1/products/{product}/funds", {"fund_id": fund, "start_date": "2024-01-01"}))
    template = _created(post("/v1/portfolio-templates", {"name": "Whole"}))
    ownership = {"association_type": "individual", "product_owner_id": owner}
    cases = [
        ("/v1/funds", {"name": "Costly", "ongoing_cost": 1}, "ongoing_cost"),
        (f"/v1/portfolio-templates/{template}/generations",
         {"funds": [{"fund_id": fund, "target_weighting": 100}]}, "funds.0.target_weighting"),
        (f"/v1/client-groups/{group}/products", {"name": "GIA", "product_type": "gia", "start_date": "2024-01-01",
                                                 "fixed_fee_direct": 100, "ownership": ownership}, "fixed_fee_direct"),
        (f"/v1/client-groups/{group}/products", {"name": "GIA", "product_type": "gia", "start_date": "2024-01-01",
                                                 "percentage_fee_facilitated": 1, "ownership": ownership},
         "percentage_fee_facilitated"),
        (f"/v1/products/{product}/funds", {"fund_id": fund, "start_date": "2024-01-01", "target_weighting": 50},
         "target_weighting"),
        (f"/v1/portfolio-funds/{pf}/valuations", {"valuation_date": "2024-06-30", "value": 1000}, "value"),
        (f"/v1/portfolio-funds/{pf}/activity",
         {"activity_date": "2024-06-30", "activity_type": "investment", "amount": 1000}, "amount"),
        (f"/v1/products/{product}/valuations:bulk",
         {"valuations": [{"portfolio_fund_id": pf, "valuation_date": "2024-06-30", "value": 1000}]},
         "valuations.0.value"),
    ]
    before = snapshot(fresh_firm.id)
    for path, body, name in cases:
        assert_problem(post(path, body), 422, (name,))
    assert snapshot(fresh_firm.id) == before


@pytest.mark.parametrize("value", [0, 1, "true", "false", "yes", 1.0], ids=repr)
def test_booleans_and_integers_of_other_json_types_are_refused(client: Any, fresh_firm: Firm, value: Any) -> None:
    """A JSON boolean field takes true or false, an integer field a JSON integer: nothing else is coerced (0 for
    false, "4" for 4), whatever a lenient parser would make of it: `"service": 0` made a key that dies with its
    creator, the opposite of nothing a client meant. (Found by schemathesis: tests/contract/test_schemathesis.py.)
    Query parameters are text, and keep reading "true" and "false"."""
    admin = {**fresh_firm.auth("admin"), **JSON}
    user = fresh_firm.users["viewer"]
    firm_etag = client.http.get("/v1/firm", headers=admin).headers["ETag"]
    user_etag = client.http.get(f"/v1/users/{user['id']}", headers=admin).headers["ETag"]
    fund = _created(client.http.post("/v1/funds", headers=admin, body=json.dumps({"name": "Typed Fund"})))
    fund_etag = client.http.get(f"/v1/funds/{fund}", headers=admin).headers["ETag"]
    cases = [
        ("POST", "/v1/api-keys", {}, {"name": "typed", "scopes": ["read"], "service": value}, "service"),
        ("PATCH", "/v1/firm", {"If-Match": firm_etag}, {"require_two_factor": value}, "require_two_factor"),
        ("PATCH", f"/v1/users/{user['id']}", {"If-Match": user_etag}, {"active": value}, "active"),
        ("POST", "/v1/funds", {}, {"name": "Cash?", "is_cash": value}, "is_cash"),
    ]
    if value != 1:  # 1 is an integer: right for risk_factor
        cases += [("POST", "/v1/funds", {}, {"name": "Risky", "risk_factor": str(value) if value == 0 else value},
                   "risk_factor"),
                  ("PATCH", f"/v1/funds/{fund}", {"If-Match": fund_etag}, {"risk_factor": value}, "risk_factor")]
    before = snapshot(fresh_firm.id)
    for method, path, headers, body, name in cases:
        resp = client.http.request(method, path, headers={**admin, **headers}, body=json.dumps(body).encode())
        assert_problem(resp, 422, (name,))
    assert snapshot(fresh_firm.id) == before
    assert client.http.get("/v1/users?active=true", headers=admin).status_code == 200


def test_the_world_is_intact(client: Any, firm_a: Firm, world: World) -> None:
    """After all the cases above (in any order), the fixtures' rows are exactly as they were made."""
    h = firm_a.auth("adviser")
    g = client.http.get(f"/v1/client-groups/{world.group}", headers=h)
    assert g.status_code == 200 and g.json_body["version"] == 2 and g.json_body["notes"] == "v2"
    assert g.headers["ETag"] == '"2"'
    members = client.http.get(f"/v1/client-groups/{world.group}/product-owners", headers=h).json_body["items"]
    assert [m["id"] for m in members] == [world.owner]
    assert client.http.get(f"/v1/product-owners/{world.loner}", headers=h).json_body["version"] == 1
    # the managed products: every row at the version the fixture left it
    x = world.extra
    for path in (f"/v1/providers/{x['provider']}", f"/v1/funds/{x['fund']}",
                 f"/v1/portfolio-templates/{x['template']}", f"/v1/products/{x['product']}"):
        r = client.http.get(path, headers=h)
        assert r.status_code == 200 and r.json_body["version"] == 1, (path, r.body)
    product = client.http.get(f"/v1/products/{x['product']}", headers=h).json_body
    assert product["status"] == "active" and product["provider_id"] == x["provider"]
    assert product["ownership"] == {"association_type": "individual", "product_owner_id": world.owner}
    funds = client.http.get(f"/v1/products/{x['product']}/funds", headers=h).json_body["items"]
    assert {(f["id"], f["version"], f["end_date"]) for f in funds} == {(x["pf"], 1, None),
                                                                       (x["pf_ended"], 2, "2020-12-31")}
    valuations = client.http.get(f"/v1/portfolio-funds/{x['pf']}/valuations", headers=h).json_body["items"]
    assert [(v["id"], v["version"], v["value"]) for v in valuations] == [(x["valuation"], 1, "1000.00")]
    activity = client.http.get(f"/v1/portfolio-funds/{x['pf']}/activity", headers=h).json_body["items"]
    assert [(a["id"], a["version"], a["amount"]) for a in activity] == [(x["activity"], 1, "900.00")]
    assert client.http.get(f"/v1/portfolio-funds/{x['pf_ended']}/valuations", headers=h).json_body["items"] == []
    assert client.http.get(f"/v1/products/{x['product']}/valuations", headers=h).json_body["items"] == [
        {"valuation_date": "2024-12-31", "value": "1000.00"}]
    assert client.http.get(f"/v1/products/{x['product']}/provider-switches", headers=h).json_body["items"] == []
    generations = client.http.get(f"/v1/portfolio-templates/{x['template']}/generations", headers=h).json_body
    assert [(g["id"], g["in_use"]) for g in generations["items"]] == [(x["generation"], True)]


def test_error_bodies_carry_the_callers_request_id(client: Any, firm_a: Firm) -> None:
    resp = client.http.get(f"/v1/client-groups/{uuid.uuid4()}",
                           headers={**firm_a.auth("viewer"), "X-Request-Id": "trace-abc.123"})
    body = assert_problem(resp, 404)
    assert body["request_id"] == "trace-abc.123"
    # a request id that is not a safe token is replaced, not echoed
    resp = client.http.get(f"/v1/client-groups/{uuid.uuid4()}",
                           headers={**firm_a.auth("viewer"), "X-Request-Id": "<script>alert(1)</script>"})
    body = assert_problem(resp, 404)
    assert "<script>" not in body["request_id"]


def test_unknown_and_other_firms_ids_answer_alike(client: Any, firm_a: Firm, world: World) -> None:
    """Another firm's id cannot be told apart from an id that does not exist (apart from the request id)."""
    h = firm_a.auth("adviser")
    mine = json.loads(client.http.get(f"/v1/client-groups/{uuid.uuid4()}", headers=h).body)
    theirs = json.loads(client.http.get(f"/v1/client-groups/{world.other_group}", headers=h).body)
    mine.pop("request_id"), theirs.pop("request_id")
    assert mine == theirs


# --- Idempotency-Key ------------------------------------------------------------------------------------------------

def test_idempotency_key_replay_returns_the_first_response(client: Any, fresh_firm: Firm) -> None:
    h = {**fresh_firm.auth("adviser"), **JSON, "Idempotency-Key": "create-the-browns-1"}
    body = '{"name": "The Browns", "type": "family", "notes": "first"}'
    before = snapshot(fresh_firm.id)[0]
    first = client.http.post("/v1/client-groups", headers=h, body=body)
    assert first.status_code == 201, first.body
    assert "Idempotent-Replayed" not in first.headers
    again = client.http.post("/v1/client-groups", headers=h, body=body)
    assert again.status_code == 201
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"] == '"1"'
    assert again.headers["Content-Type"] == "application/json"
    after = snapshot(fresh_firm.id)[0]
    assert after["client_groups"] == before["client_groups"] + 1
    assert after["audit_events"] == before["audit_events"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1
    rows = owner_sql("SELECT id FROM client_groups WHERE firm_id = %s AND name = 'The Browns'", (fresh_firm.id,))
    assert [str(r["id"]) for r in rows] == [first.json_body["id"]]
    events = owner_sql("SELECT count(*) AS n FROM audit_events WHERE firm_id = %s AND action = 'client_group.create'",
                       (fresh_firm.id,))
    assert events[0]["n"] == 1

    # the same key with another body: 422, nothing written
    other = client.http.post("/v1/client-groups", headers=h,
                             body='{"name": "The Browns", "type": "family", "notes": "second"}')
    assert_problem(other, 422)
    # the same key on another route is another request too
    elsewhere = client.http.post("/v1/product-owners", headers=h, body='{"first_name": "A", "surname": "Brown"}')
    assert_problem(elsewhere, 422)
    assert snapshot(fresh_firm.id)[0] == after

    # keys belong to the caller: another principal's identical key is a new request
    h2 = {**fresh_firm.auth("admin"), **JSON, "Idempotency-Key": "create-the-browns-1"}
    theirs = client.http.post("/v1/client-groups", headers=h2, body=body)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.json_body["id"] != first.json_body["id"]


def test_idempotency_key_of_a_failed_request_is_not_spent(client: Any, fresh_firm: Firm) -> None:
    """A request that fails rolls back its key with everything else: the corrected retry goes through."""
    h = {**fresh_firm.auth("adviser"), **JSON, "Idempotency-Key": "retry-me"}
    before = snapshot(fresh_firm.id)[0]
    bad = client.http.post("/v1/client-groups", headers=h,
                           body=json.dumps({"name": "X", "type": "family", "adviser_id": str(uuid.uuid4())}))
    assert_problem(bad, 422, ("adviser_id",))
    assert snapshot(fresh_firm.id)[0] == before
    good = client.http.post("/v1/client-groups", headers=h, body='{"name": "X", "type": "family"}')
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers


def test_idempotency_key_expires_after_24_hours(client: Any, fresh_firm: Firm) -> None:
    h = {**fresh_firm.auth("adviser"), **JSON, "Idempotency-Key": "daily-import"}
    first = client.http.post("/v1/client-groups", headers=h, body='{"name": "Day One", "type": "family"}')
    assert first.status_code == 201
    owner_sql("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE firm_id = %s",
              (fresh_firm.id,))
    # a day later the key is free again, even for another body
    later = client.http.post("/v1/client-groups", headers=h, body='{"name": "Day Two", "type": "family"}')
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.json_body["id"] != first.json_body["id"]
    again = client.http.post("/v1/client-groups", headers=h, body='{"name": "Day Two", "type": "family"}')
    assert again.headers.get("Idempotent-Replayed") == "true" and again.body == later.body
    assert snapshot(fresh_firm.id)[0]["client_groups"] == 2


def test_idempotency_key_too_long(client: Any, fresh_firm: Firm) -> None:
    h = {**fresh_firm.auth("adviser"), **JSON, "Idempotency-Key": "k" * 256}
    before = snapshot(fresh_firm.id)
    assert_problem(client.http.post("/v1/client-groups", headers=h, body='{"name": "X", "type": "family"}'), 422)
    assert snapshot(fresh_firm.id) == before


# --- matrices over every route --------------------------------------------------------------------------------------

def _routes() -> list[Any]:
    from app import router

    routes = router.specs()
    assert routes
    return routes


def _rid(spec: Any) -> str:
    return f"{spec.method} {spec.path}"


def _auth_for(spec: Any, firm: Firm) -> dict[str, str]:
    return {} if spec.access == "public" else firm.auth("admin")


def _fill(spec: Any, values: dict[str, str] | None = None) -> str:
    path = spec.path
    for name in spec.path_params:
        path = path.replace("{" + name + "}", (values or {}).get(name, str(uuid.uuid4())))
    return path


BODY_ROUTES = [r for r in _routes() if r.body is not None]
ID_ROUTES = [r for r in _routes() if any(p.endswith("id") for p in r.path_params)]
# Ids of platform records (a backup): the same for every firm's admin, so no other firm has one to refuse.
PLATFORM_PARAMS = frozenset({"backup_id"})
IF_MATCH_ROUTES = [r for r in _routes() if r.if_match]
QUERY_ROUTES = [r for r in _routes() if r.query is not None]
NO_QUERY_ROUTES = [r for r in _routes() if r.query is None and r.body is None]
LIMIT_ROUTES = [r for r in QUERY_ROUTES if "limit" in r.query.model_fields]
CURSOR_ROUTES = [r for r in QUERY_ROUTES if "cursor" in r.query.model_fields]

def _valid_body(spec: Any) -> str:
    """A body the route's model accepts, so that only the path ids (or the If-Match) can be at fault. The ids in it
    are random: the route's own row is looked up before anything the body names."""
    r = lambda: str(uuid.uuid4())  # noqa: E731
    bodies: dict[str, Any] = {
        "POST /v1/portfolio-templates/{template_id}/generations": {
            "funds": [{"fund_id": r(), "target_weighting": "100.00"}]},
        "POST /v1/client-groups/{group_id}/products": {
            "name": "x", "product_type": "gia", "start_date": "2024-01-01",
            "ownership": {"association_type": "individual", "product_owner_id": r()}},
        "POST /v1/products/{product_id}/funds": {"fund_id": r(), "start_date": "2024-01-01"},
        "POST /v1/portfolio-funds/{portfolio_fund_id}/valuations": {"valuation_date": "2024-01-31", "value": "1.00"},
        "PATCH /v1/fund-valuations/{valuation_id}": {"value": "1.00"},
        "POST /v1/products/{product_id}/valuations:bulk": {
            "valuations": [{"portfolio_fund_id": r(), "valuation_date": "2024-01-31", "value": "1.00"}]},
        "POST /v1/portfolio-funds/{portfolio_fund_id}/activity": {
            "activity_date": "2024-01-31", "activity_type": "investment", "amount": "1.00"},
        "POST /v1/products/{product_id}/activity:bulk": {
            "activities": [{"portfolio_fund_id": r(), "activity_date": "2024-01-31", "activity_type": "investment",
                            "amount": "1.00"}]},
        "POST /v1/client-groups/{group_id}/unmanaged-products": {
            "name": "x", "kind": "asset", "product_type": "property",
            "ownership": {"association_type": "individual", "product_owner_id": r()}},
        "POST /v1/unmanaged-products/{unmanaged_product_id}/status": {"status": "sold", "reason": "x"},
        "POST /v1/unmanaged-products/{unmanaged_product_id}/valuations": {"valuation_date": "2024-01-31",
                                                                          "value": "1.00"},
        "POST /v1/unmanaged-products/{unmanaged_product_id}/valuations:bulk": {
            "valuations": [{"valuation_date": "2024-01-31", "value": "1.00"}]},
        "POST /v1/client-groups/{group_id}/information-items": {"item_type": "basic_detail", "item_category": "x"},
        "POST /v1/client-groups/{group_id}/information-items:batch": {
            "items": [{"item_type": "protection", "item_category": "x",
                       "associated_product_owners": {"association_type": "individual", "product_owner_id": r()}}]},
        "POST /v1/client-groups/{group_id}/actions": {"action_name": "x", "owner": "client"},
        "POST /v1/client-groups/{group_id}/networth-statements": {"name": "Annual review"},
        "POST /v1/client-groups/{group_id}/plans": {"name": "x", "inputs": _plan_inputs(r)},
        "POST /v1/plans/{plan_id}/versions": {"inputs": _plan_inputs(r)},
        "POST /v1/client-groups/{group_id}/objectives": {"title": "x"},
        "POST /v1/objectives/{objective_id}/contributions": {"amount": "1.00", "contribution_date": "2024-01-31"},
    }
    return json.dumps(bodies.get(_rid(spec), {}))


def _plan_inputs(r: Any) -> dict[str, Any]:
    return {"horizon_years": 20, "cma_set_id": r(), "portfolio_model_id": r(),
            "people": [{"product_owner_id": r(), "retirement_age": 67, "life_expectancy": 90}]}


BAD_BODIES = [
    ("malformed", "application/json", '{"a": ', 400, ()),
    ("array", "application/json", "[]", 400, ()),
    ("string", "application/json", '"x"', 400, ()),
    ("text-plain", "text/plain", "{}", 415, ()),
    ("unknown-field", "application/json", '{"zz_unknown": 1}', 422, ("zz_unknown",)),
    ("too-large", "application/json", None, 413, ()),  # one byte past the route's limit: see _too_large
]


def _body_limit(spec: Any) -> int:
    from chalicelib.core import config

    return getattr(spec, "max_body_bytes", None) or config.settings().max_body_bytes


def _too_large(spec: Any) -> str:
    """A JSON object one byte longer than the route takes (the default 256 KiB; a bulk route may take more)."""
    limit = _body_limit(spec)
    assert limit <= 8 * ONE_MB, (limit, _rid(spec))  # API Gateway and Lambda would refuse before the app
    return '{"zz": "' + "z" * (limit - 9) + '"}'



def test_route_matrices_cover_the_routes() -> None:
    """The matrices below select routes by what they declare; these are the routes we know of today."""
    assert {_rid(r) for r in BODY_ROUTES} >= {"POST /v1/client-groups", "PATCH /v1/client-groups/{group_id}",
                                               "POST /v1/product-owners", "PATCH /v1/product-owners/{owner_id}",
                                               "POST /v1/auth/login", "POST /v1/users", "POST /v1/api-keys"}
    assert all(r.method in ("POST", "PUT", "PATCH") for r in BODY_ROUTES)
    assert all(r.method == "PATCH" for r in IF_MATCH_ROUTES)
    # every PATCH declares If-Match: a PATCH without it could lose updates
    assert {_rid(r) for r in _routes() if r.method == "PATCH"} == {_rid(r) for r in IF_MATCH_ROUTES}
    # every list that takes query parameters pages with limit and cursor
    from chalicelib.core.pagination import Page

    lists = {_rid(r) for r in QUERY_ROUTES
             if getattr(r.response, "__pydantic_generic_metadata__", {}).get("origin") is Page}
    assert lists >= {"GET /v1/client-groups", "GET /v1/product-owners", "GET /v1/users", "GET /v1/api-keys",
                     "GET /v1/providers", "GET /v1/funds", "GET /v1/portfolio-templates",
                     "GET /v1/client-groups/{group_id}/products", "GET /v1/products/{product_id}/valuations",
                     "GET /v1/portfolio-funds/{portfolio_fund_id}/valuations",
                     "GET /v1/portfolio-funds/{portfolio_fund_id}/activity",
                     "GET /v1/products/{product_id}/irr-history"}
    assert lists <= {_rid(r) for r in LIMIT_ROUTES} and lists <= {_rid(r) for r in CURSOR_ROUTES}
    # the id matrices send _valid_body(): it must pass the route's model, or they would test the body instead
    from pydantic import ValidationError

    for spec in BODY_ROUTES:
        if spec in ID_ROUTES:
            try:
                spec.body.model_validate_json(_valid_body(spec))
            except ValidationError as exc:
                raise AssertionError(f"add a valid body for {_rid(spec)} to _valid_body: {exc}") from None
    # list routes that need query parameters get them from _REQUIRED_QUERY
    for spec in LIMIT_ROUTES:
        required = {n for n, f in spec.query.model_fields.items() if f.is_required()}
        assert required <= set(_REQUIRED_QUERY), f"add {required} to _REQUIRED_QUERY for {_rid(spec)}"


def test_the_world_has_rows_for_every_path_parameter(world: World) -> None:
    """The 404 and If-Match matrices need a row of each firm for every id a route takes."""
    for spec in ID_ROUTES:
        assert set(spec.path_params) - PLATFORM_PARAMS <= set(world.theirs), \
            f"add firm B rows to World.theirs for {_rid(spec)}"
    for spec in IF_MATCH_ROUTES:
        assert set(spec.path_params) <= set(world.mine), f"add firm A rows to World.mine for {_rid(spec)}"
    for spec in LIMIT_ROUTES:
        assert set(spec.path_params) <= set(world.mine), f"add firm A rows to World.mine for {_rid(spec)}"


@pytest.mark.parametrize("spec", BODY_ROUTES, ids=_rid)
@pytest.mark.parametrize("kind,ctype,body,status,fields", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_every_body_route_refuses_bad_bodies(client: Any, firm_a: Firm, firm_b: Firm, spec: Any, kind: str,
                                             ctype: str, body: str, status: int, fields: tuple[str, ...]) -> None:
    headers = {**_auth_for(spec, firm_a), "Content-Type": ctype}
    if spec.if_match:
        headers["If-Match"] = '"1"'
    if body is None:
        body = _too_large(spec)
        assert len(body) == _body_limit(spec) + 1
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, spec.method, _fill(spec), headers, body)
    assert_problem(resp, status, fields)
    assert snapshot(firm_a.id, firm_b.id) == before


@pytest.mark.parametrize("spec", ID_ROUTES, ids=_rid)
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "42", "0000000-0000-0000-0000-000000000000"])
def test_every_id_route_answers_404_for_a_non_uuid(client: Any, firm_a: Firm, firm_b: Firm, spec: Any,
                                                   bad_id: str) -> None:
    values = {p: bad_id for p in spec.path_params if p.endswith("id")}
    headers = {**_auth_for(spec, firm_a), **JSON}
    if spec.if_match:
        headers["If-Match"] = '"1"'
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, spec.method, _fill(spec, values), headers, _valid_body(spec) if spec.body else None)
    assert_problem(resp, 404)
    assert snapshot(firm_a.id, firm_b.id) == before


def _other_firms_ids(world: World) -> dict[str, str]:
    return world.theirs


@pytest.mark.parametrize("spec,which", [(spec, which) for which in ("unknown", "other-firm") for spec in ID_ROUTES
                                        if which == "unknown" or not PLATFORM_PARAMS & set(spec.path_params)],
                         ids=lambda v: v if isinstance(v, str) else _rid(v))
def test_every_id_route_answers_404_for_unknown_and_other_firms_ids(client: Any, firm_a: Firm, firm_b: Firm,
                                                                   world: World, spec: Any, which: str) -> None:
    if which == "unknown":
        values = {p: str(uuid.uuid4()) for p in spec.path_params}
    else:
        ids = _other_firms_ids(world)
        missing = [p for p in spec.path_params if p not in ids]
        assert not missing, f"add firm B rows for {missing} to _other_firms_ids so {_rid(spec)} is covered"
        values = {p: ids[p] for p in spec.path_params}
    headers = {**_auth_for(spec, firm_a), **JSON}
    if spec.if_match:
        headers["If-Match"] = '"1"'
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, spec.method, _fill(spec, values), headers, _valid_body(spec) if spec.body else None)
    assert_problem(resp, 404)
    assert snapshot(firm_a.id, firm_b.id) == before


@pytest.mark.parametrize("spec", IF_MATCH_ROUTES, ids=_rid)
@pytest.mark.parametrize("if_match,status", [(None, 428), ("", 428), ("abc", 412), ("1", 412), ('"x"', 412),
                                             ('W/"', 412)])
def test_every_if_match_route_requires_a_well_formed_if_match(client: Any, firm_a: Firm, firm_b: Firm,
                                                             world: World, spec: Any, if_match: str | None,
                                                             status: int) -> None:
    # a real row of firm A for each id, so only the If-Match can be at fault
    mine = world.mine
    missing = [p for p in spec.path_params if p not in mine]
    assert not missing, f"add firm A rows for {missing} so {_rid(spec)} is covered"
    headers = {**_auth_for(spec, firm_a), **JSON}
    if if_match is not None:
        headers["If-Match"] = if_match
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, spec.method, _fill(spec, {p: mine[p] for p in spec.path_params}), headers,
                _valid_body(spec))
    assert_problem(resp, status)
    assert snapshot(firm_a.id, firm_b.id) == before


@pytest.mark.parametrize("spec", NO_QUERY_ROUTES, ids=_rid)
def test_every_route_without_a_query_refuses_query_parameters(client: Any, firm_a: Firm, firm_b: Firm,
                                                               spec: Any) -> None:
    before = snapshot(firm_a.id, firm_b.id)
    resp = send(client, spec.method, _fill(spec) + "?zz_unknown=1", _auth_for(spec, firm_a), None)
    assert_problem(resp, 422, ("zz_unknown",))
    assert snapshot(firm_a.id, firm_b.id) == before


BAD_PAGING = [
    ("unknown-param", "zz_unknown=1", ("zz_unknown",)),
    ("limit-0", "limit=0", ("limit",)),
    ("limit-201", "limit=201", ("limit",)),
    ("limit-fraction", "limit=1.5", ("limit",)),
    ("limit-empty", "limit=", ("limit",)),
    ("cursor-percent", "cursor=%25%25%25", ("cursor",)),
    ("cursor-not-base64", "cursor=not-a-cursor", ("cursor",)),
    ("cursor-unsigned-not-json", "cursor=" + base64.urlsafe_b64encode(b"\xff\x00garbage").decode(), ("cursor",)),
    ("cursor-unsigned-object", "cursor=" + b64({"after": "x"}), ("cursor",)),
    ("cursor-too-long", "cursor=" + "A" * (MAX_CURSOR + 1), ("cursor",)),
    # signed for firm A (the firm asking): refused by the checks behind the signature
    ("cursor-not-json", lambda firm: "cursor=" + signed_payload(b"\xff\x00garbage", firm.id), ("cursor",)),
    ("cursor-not-utf8-json", lambda firm: "cursor=" + signed_payload(b'["\xff"]', firm.id), ("cursor",)),
    ("cursor-object", lambda firm: "cursor=" + b64_cursor({"after": "x"}, firm.id), ("cursor",)),
    ("cursor-empty-list", lambda firm: "cursor=" + b64_cursor([], firm.id), ("cursor",)),
]


@pytest.mark.parametrize("spec", QUERY_ROUTES, ids=_rid)
@pytest.mark.parametrize("query,fields", [p[1:] for p in BAD_PAGING], ids=[p[0] for p in BAD_PAGING])
def test_every_list_route_refuses_bad_paging(client: Any, firm_a: Firm, spec: Any, query: Any,
                                             fields: tuple[str, ...]) -> None:
    signed_for_a = callable(query)
    resp = send(client, spec.method, _fill(spec) + "?" + (query(firm_a) if signed_for_a else query),
                _auth_for(spec, firm_a), None)
    assert_problem(resp, 422, fields)
    if signed_for_a and spec in CURSOR_ROUTES:
        assert_cursor_refused(resp, by_signature=False)


# Well-formed cursors (base64 of a JSON list, of every length a list route might expect, with and without the
# route's sort in front) whose values are of the wrong kinds: each must be a 422, never a database error.
_CURSOR_TAILS = {
    "numbers": [1, 2, 3],
    "structures": [{"a": 1}, [2], {"b": [3]}],
    "bools": [True, False, True],
    "not-ids": ["x", "nope", "nope"],
    "nul": ["\u0000", "\u0000", "\u0000"],
}


@pytest.mark.parametrize("spec", CURSOR_ROUTES, ids=_rid)
def test_every_list_route_refuses_a_cursor_of_nulls(client: Any, firm_a: Firm, spec: Any) -> None:
    """A server never makes such a cursor (its values are the list's name, its sort and the last row's key, all
    text): a 422 naming the cursor, never a 500 and never read as "from the start"."""
    for n in (1, 2, 3, 4):
        for cursor in (b64([None] * n), b64_cursor([None] * n, firm_a.id)):  # unsigned, and signed for firm A
            resp = send(client, "GET", _fill(spec) + "?cursor=" + cursor, _auth_for(spec, firm_a), None)
            assert_cursor_refused(resp, by_signature=cursor == b64([None] * n))


def _default_sort(spec: Any) -> str | None:
    f = spec.query.model_fields.get("sort")
    return f.default if f is not None and isinstance(f.default, str) else None


@pytest.mark.parametrize("spec", CURSOR_ROUTES, ids=_rid)
@pytest.mark.parametrize("kind", sorted(_CURSOR_TAILS))
def test_every_list_route_refuses_cursors_of_the_wrong_kinds(client: Any, firm_a: Firm, spec: Any,
                                                             kind: str) -> None:
    sort = _default_sort(spec)
    prefixes = [[]] + ([[sort]] if sort else [])
    for prefix in prefixes:
        for n in (1, 2, 3):
            values = prefix + _CURSOR_TAILS[kind][:n]
            url = _fill(spec) + "?cursor=" + b64_cursor(values, firm_a.id)  # signed: the content is refused
            if sort:
                url += "&sort=" + sort
            resp = send(client, "GET", url, _auth_for(spec, firm_a), None)
            assert_cursor_refused(resp, by_signature=False)


_REQUIRED_QUERY = {"q": "input"}  # values for query parameters a list route requires


def _limit_range(spec: Any) -> tuple[int, int]:
    import annotated_types as at

    meta = spec.query.model_fields["limit"].metadata
    low = next(m.ge for m in meta if isinstance(m, at.Ge))
    high = next(m.le for m in meta if isinstance(m, at.Le))
    return low, high


@pytest.mark.parametrize("spec", LIMIT_ROUTES, ids=_rid)
def test_every_list_route_accepts_the_limits(client: Any, firm_a: Firm, world: World, spec: Any) -> None:
    """On firm A's real rows (a random parent id would be a 404), at the smallest and largest limit, and one past
    the largest is refused."""
    required = [f"{n}={_REQUIRED_QUERY[n]}" for n, f in spec.query.model_fields.items() if f.is_required()]
    path = _fill(spec, world.mine) + "?" + "".join(q + "&" for q in required)
    low, high = _limit_range(spec)
    assert low == 1 and high in (100, 200), (low, high)
    for limit in (low, high):
        resp = send(client, "GET", path + f"limit={limit}", _auth_for(spec, firm_a), None)
        assert resp.status_code == 200, resp.body
        assert len(resp.json_body["items"]) <= limit
    assert_problem(send(client, "GET", path + f"limit={high + 1}", _auth_for(spec, firm_a), None), 422, ("limit",))


# --- fuzzing the create bodies --------------------------------------------------------------------------------------

_json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text(max_size=30) | st.sampled_from(["\x00", "1900-01-01", "9999-12-31", "active", ""])
_json = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_dates = st.dates(min_value=date(1850, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat)

# Characters that have broken services before: NUL (PostgreSQL refuses it in text), quotes, LIKE wildcards,
# backslashes, line and paragraph separators, a byte-order mark, astral-plane emoji, right-to-left marks.
_NASTY = ["\x00", "'", '"', "%", "_", "\\", "\u2028", "\ufeff", "\U0001F600", "\u202e", "\r\n", "\t", " "]


def _text(min_size: int = 0, max_size: int = 50) -> Any:
    return st.text(min_size=min_size, max_size=max_size) | st.lists(
        st.sampled_from(_NASTY) | st.characters(), min_size=min_size, max_size=max_size).map("".join)


_name = _text(1, 210)
_status_like = st.text(max_size=10)

# For each field: values the model should accept (or nearly: lengths run past the limits, text may hold anything,
# NUL included) and then anything at all.
GROUP_FIELDS = {
    "name": (_name, _json),
    "type": (st.sampled_from(["individual", "couple", "family", "trust", "corporate"]), _status_like | _json),
    "status": (st.sampled_from(["active", "dormant", "inactive"]), _status_like | _json),
    "adviser_id": (st.none(), st.uuids().map(str) | _json),
    "notes": (st.none() | _text(0, 300), _json),
}
GROUP_REQUIRED = ("name", "type")
OWNER_FIELDS = {
    "first_name": (_text(1, 105), _json),
    "surname": (_text(1, 105), _json),
    "known_as": (st.none() | _text(0, 105), _json),
    "date_of_birth": (st.none() | st.dates(min_value=date(1900, 1, 1), max_value=date.today()).map(date.isoformat),
                      _dates | _json),
    "email": (st.none() | st.emails().map(str), st.text(max_size=30) | _json),
    "phone": (st.none() | st.from_regex(r"[0-9+() .-]{3,40}", fullmatch=True),
              st.from_regex(r"[0-9+() .a-z-]{0,45}", fullmatch=True) | _json),
    "status": (st.sampled_from(["active", "inactive", "deceased"]), _status_like | _json),
    "inception_date": (st.none() | _dates, _json),
}
OWNER_REQUIRED = ("first_name", "surname")


def _bodies(fields: dict[str, Any], required: tuple[str, ...]) -> Any:
    """Well-shaped bodies (so the fuzzing reaches the database), the same with one field spoilt or dropped or an
    unknown field added, and arbitrary JSON objects."""
    good = st.fixed_dictionaries({k: fields[k][0] for k in required},
                                 optional={k: v[0] for k, v in fields.items() if k not in required})

    @st.composite
    def spoilt(draw: Any) -> dict[str, Any]:
        body = draw(good)
        name = draw(st.sampled_from(sorted(fields)))
        how = draw(st.sampled_from(["replace", "drop", "extra"]))
        if how == "replace":
            body[name] = draw(fields[name][1])
        elif how == "drop":
            body.pop(name, None)
        else:
            body[draw(st.text(min_size=1, max_size=12))] = draw(_json)
        return body

    return st.one_of(good, spoilt(), st.dictionaries(st.text(max_size=12), _json, max_size=5))


def _fuzz_one(client: Any, firm: Firm, path: str, table: str, body: dict[str, Any]) -> None:
    before = snapshot(firm.id)[0]
    resp = client.http.post(path, headers={**firm.auth("adviser"), **JSON}, body=json.dumps(body))
    assert resp.status_code < 500, (resp.status_code, resp.body[:300], body)
    after = snapshot(firm.id)[0]
    if resp.status_code == 201:
        assert after[table] == before[table] + 1
        assert after["audit_events"] == before["audit_events"] + 1
    else:
        assert 400 <= resp.status_code < 500
        assert_problem(resp, resp.status_code)
        assert after == before, body


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])


@FUZZ
@given(body=_bodies(GROUP_FIELDS, GROUP_REQUIRED))
def test_fuzz_create_client_group(client: Any, fresh_firm: Firm, body: dict[str, Any]) -> None:
    _fuzz_one(client, fresh_firm, "/v1/client-groups", "client_groups", body)


@FUZZ
@given(body=_bodies(OWNER_FIELDS, OWNER_REQUIRED))
def test_fuzz_create_product_owner(client: Any, fresh_firm: Firm, body: dict[str, Any]) -> None:
    _fuzz_one(client, fresh_firm, "/v1/product-owners", "product_owners", body)


@pytest.mark.parametrize("path", ["/v1/auth/login", "/v1/auth/refresh"])
def test_deeply_nested_bodies_are_refused_without_logging_in(client: Any, path: str) -> None:
    """About 1,000 levels of nesting in 2 KB used to reach Python's recursion limit in body parsing: a 500 with a
    stack trace, before any authentication. Any depth past the limit is a 400 now, however deep."""
    for depth in (33, 1_000, 100_000):
        for body in ('{"email": ' + "[" * depth + "]" * depth + "}", '{"a":' * depth + "1" + "}" * depth):
            resp = send(client, "POST", path, {"Content-Type": "application/json"}, body)
            if len(body) > 16_384 and resp.status_code == 413:  # over the body limit: refused before parsing
                assert_problem(resp, 413)
            else:
                assert_problem(resp, 400, detail="nests deeper")
    # At the limit it is an ordinary body, refused (or not) for what it says.
    shallow = '{"email": ' + "[" * 31 + "]" * 31 + "}"
    assert send(client, "POST", path, {"Content-Type": "application/json"}, shallow).status_code in (401, 422)


@pytest.mark.parametrize("body", [
    b"\xef\xbb\xbf" + json.dumps({"email": "a@example.com", "password": "x"}).encode(),  # UTF-8 with a BOM
    json.dumps({"email": "a@example.com", "password": "x"}).encode("utf-16"),  # UTF-16 with its BOM
    json.dumps({"email": "a@example.com", "password": "x"}).encode("utf-16-le"),  # UTF-16, no BOM
    json.dumps({"email": "a@example.com", "password": "x"}).encode("utf-32"),
    '{"email": "caf\u00e9@example.com", "password": "x"}'.encode("latin-1"),  # not UTF-8
])
def test_bodies_are_utf8_json_only(client: Any, body: bytes) -> None:
    resp = send(client, "POST", "/v1/auth/login", {"Content-Type": "application/json"}, body)
    assert_problem(resp, 400)
