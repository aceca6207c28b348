"""What the schemathesis contract test needs besides schemathesis: a transport into the real handlers, a throwaway
firm with data in every table the routes read, and the aiming of generated cases at that data.

Everything a case does is decided from the case itself (a stable hash of what schemathesis generated), never from
a random source or a clock, so the same seed makes the same requests.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict

from tests.conftest import PASSWORD, Firm, make_firm, owner_sql
from tests.integration import matrix_support as ms
from tests.integration import planning_support as planning
from tests.integration.login_support import enrol

BASE_URL = "http://wealthdesk.test"
DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")


class ChaliceAdapter(BaseAdapter):
    """A requests transport that answers through chalice.test.Client instead of a socket, from a source address
    the caller chooses (API Gateway's requestContext.identity.sourceIp, which the login lockout counts by)."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self.client = client
        self.source_ip: str | None = None

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = urlsplit(request.url)
        path = url.path + (f"?{url.query}" if url.query else "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        with source(self.client, self.source_ip):
            answer = self.client.http.request(request.method, path, headers=dict(request.headers), body=body)
        headers = HTTPHeaderDict()
        for name, value in (answer.headers or {}).items():
            for v in value if isinstance(value, list) else [value]:
                headers.add(name, v)
        raw = HTTPResponse(body=io.BytesIO(answer.body or b""), headers=headers, status=answer.status_code,
                           version=11, preload_content=False, decode_content=False)
        return HTTPAdapter().build_response(request, raw)

    def close(self) -> None:
        pass


@contextmanager
def source(client: Any, ip: str | None) -> Iterator[None]:
    if ip is None:
        yield
        return
    converter = client.http._local_gateway.event_converter
    converter.LOCAL_SOURCE_IP = ip
    try:
        yield
    finally:
        del converter.LOCAL_SOURCE_IP


def stable_hash(*parts: Any) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


@dataclass
class World:
    """The throwaway firm and its data (one per test worker), and makers of fresh rows for destructive cases."""

    client: Any
    firm: Firm
    admin: dict[str, str]  # Authorization header of the firm's admin (never logged out, never changed)
    pools: dict[str, list[str]]  # a path or body id's name -> ids of real rows it may point at
    victims: dict[str, Callable[[], dict[str, str]]]  # DELETE path -> makes a fresh row, returns its path ids
    session_email: str  # a user whose sessions the logout and end-session cases may end
    login_email: str  # a user the login cases sign in as (right and wrong passwords)
    totp_email: str  # a user with two-factor on: a right password gives a totp challenge
    enrolment_email: str  # a user of a firm that requires two-factor, not enrolled: a totp_enrolment challenge
    totp_secret: str
    enrolment_firm: Any  # the firm that requires two-factor
    _addresses: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def address(self) -> str:
        """A source address not used before in this worker, so lockouts of one case never decide another's."""
        n = next(self._addresses)
        return f"2001:db8::{n // 65536:x}:{n % 65536:x}"

    def login(self, email: str) -> Any:
        """A fresh sign-in (tokens, or a challenge) through the service, from an address of its own."""
        from chalicelib.core.context import RequestContext
        from chalicelib.firms import service

        return service.login(RequestContext(ip=self.address()), email, PASSWORD)

    def new_user(self, firm_id: Any = None) -> dict[str, Any]:
        """A new viewer (of the fuzzed firm, or another) with the tests' password."""
        from chalicelib.core.context import RequestContext
        from chalicelib.firms import service
        from chalicelib.firms.models import UserCreateIn

        ctx = RequestContext.system(firm_id or self.firm.id)
        user, _ = service.create_user(ctx, UserCreateIn(email=ms.unique_email("fuzz"), name="Fuzz", role="viewer",
                                                        password=PASSWORD))
        return user

    def enrolling(self, user: dict[str, Any]) -> tuple[str, str]:
        """(access token, pending TOTP secret) of a fresh session of `user` who has started enrolment."""
        token = ms.bearer(self.login(user["email"]).access_token)
        started = ms.expect_status(ms.send(self.client, "POST", "/v1/me/2fa/enrol", headers=token), 200)
        return token["Authorization"], started["secret"]

    def enrolment_challenge(self) -> tuple[str, str]:
        """(challenge, TOTP secret) of a user of the firm that requires two-factor, who has just started enrolling
        at sign-in (a new user each time: one who finishes is enrolled for good)."""
        from chalicelib.core.context import RequestContext
        from chalicelib.firms.twofactor import service as twofactor

        challenge = self.login(self.new_user(self.enrolment_firm)["email"]).challenge
        secret = twofactor.enrol_at_login(RequestContext(ip=self.address()), challenge)["secret"]
        return challenge, secret

    def forget_totp_step(self, email: str) -> None:
        owner_sql("UPDATE user_totp SET last_step = last_step - 4 WHERE user_id = "
                  "(SELECT id FROM users WHERE email = %s)", (email,))

    def etag(self, path: str) -> str | None:
        resp = self.client.http.get(path, headers=self.admin)
        return resp.headers.get("ETag") if resp.status_code == 200 else None


def enrolled_user(client: Any, admin: dict[str, str]) -> str:
    """A new user of the admin's firm with two-factor on; their id."""
    from tests import totp_support

    user = ms.create_user(client, admin, role="viewer", password=PASSWORD)
    token = ms.bearer(ms.login(client, user["email"])["access_token"])
    started = ms.expect_status(ms.send(client, "POST", "/v1/me/2fa/enrol", headers=token), 200)
    code = totp_support.code(started["secret"])  # the server accepts a step either side: no need to wait
    ms.expect_status(ms.send(client, "POST", "/v1/me/2fa/confirm", headers=token, body={"code": code}), 200)
    return str(user["id"])


def build_world(client: Any) -> World:
    firm = make_firm("Schemathesis Firm")
    admin = firm.auth("admin")
    house = ms.create_household(client, admin)
    other_house = ms.create_household(client, admin)
    book = ms.make_book(client, admin, house, day="2023-06-30", invested=("1000.00", "2000.00"),
                        values=("1100.00", "2150.00"))
    ms.add_valuation(client, admin, book.pf, "2023-12-31", "1180.00")
    ms.add_activity(client, admin, book.pf, "2023-07-03", "50.00", "withdrawal")
    spare = [ms.create_user(client, admin, role=role, password=PASSWORD) for role in ("viewer", "analyst")]
    session_user = ms.create_user(client, admin, role="viewer", password=PASSWORD)
    login_user = ms.create_user(client, admin, role="analyst", password=PASSWORD)
    totp_user = ms.create_user(client, admin, role="adviser", password=PASSWORD)
    app, _codes = enrol(client, ms.login(client, totp_user["email"])["access_token"])
    # a second throwaway firm that requires two-factor, whose admin has not enrolled
    from chalicelib.firms import service

    tag = uuid.uuid4().hex[:8]
    other_firm, enrolment_admin, _ = service.create_firm(f"Schemathesis 2FA {tag}", f"admin-{tag}@fuzz-{tag}.co.uk",
                                                         "Admin", PASSWORD)
    owner_sql("UPDATE firms SET require_two_factor = true WHERE id = %s", (other_firm["id"],))
    notes = [str(r["id"]) for r in owner_sql(
        "INSERT INTO notifications (firm_id, user_id, kind, title, body) "
        "SELECT %(f)s, %(u)s, 'security.two_factor_reset', 'Note ' || n, 'A notification' "
        "FROM generate_series(1, 3) n RETURNING id", {"f": firm.id, "u": firm.users["admin"]["id"]})]
    read_key_id = ms.api_key_id(firm.api_keys["read"])
    flat = ms.create_unmanaged(client, admin, house)
    flat_value = ms.add_unmanaged_valuation(client, admin, flat["id"], "2023-06-30", "250000.00")
    ms.put_fx_rate(client, admin, "USD", "2023-06-30", "1.2700")
    item = ms.create_information_item(client, admin, house.group_id)
    action = ms.create_action(client, admin, house.group_id)
    goal = ms.create_objective(client, admin, house.group_id, title="House deposit", target_amount="60000.00",
                               target_date="2030-06-30", product_ids=[book.product],
                               unmanaged_product_ids=[flat["id"]])
    plain = ms.create_objective(client, admin, house.group_id, title="Write wills")
    contribution = ms.add_contribution(client, admin, goal["id"], "500.00")
    statement = ms.expect_status(ms.send(client, "POST", f"/v1/client-groups/{house.group_id}/networth-statements",
                                         headers=admin, body={"name": "Annual review"}), 201)
    cma = planning.create_cma_set(client, admin, approve=admin)
    draft = planning.create_cma_set(client, admin)
    model = planning.create_portfolio_model(client, admin, cma["id"])
    plan = planning.create_plan(client, admin, house, cma["id"], model["id"], born="1968-04-12",
                                iterations=1000, steps="yearly")
    run = ms.expect_status(ms.send(client, "POST", f"/v1/plans/{plan['id']}/runs", headers=admin,
                                   body={"stresses": []}), 202)
    from chalicelib.planning.runs import service as runs

    runs.execute(uuid.UUID(run["id"]), firm.id)
    backups = [str(r["id"]) for r in owner_sql(  # the deployment's backups, which every firm's admins may list
        "INSERT INTO backups (id, status, started_at, finished_at, store, object_key, error) "
        "VALUES (gen_random_uuid(), 'failed', now(), now(), 'file:///nowhere', 'fuzz.dump', 'a test row') "
        "RETURNING id")]
    pools = {
        "group_id": [house.group_id, other_house.group_id],
        "owner_id": [house.owner_id, other_house.owner_id],
        "product_owner_id": [house.owner_id],
        "product_id": [book.product],
        "portfolio_fund_id": [book.pf, book.other_pf, book.cash_pf],
        "portfolio_fund_ids": [book.pf, book.other_pf, book.cash_pf],
        "valuation_id": [book.valuation],
        "activity_id": [book.activity],
        "fund_id": [book.fund, book.other_fund, book.cash_fund],
        "provider_id": [book.provider, book.second_provider],
        "template_id": [book.template],
        "template_generation_id": [book.generation],
        "user_id": [str(u["id"]) for u in spare],
        "adviser_id": [str(firm.users["adviser"]["id"])],
        "actor": [str(firm.users["admin"]["id"])],
        "key_id": [read_key_id],
        "notification_id": notes,
        "asset": list(DOCS_ASSETS),
        "unmanaged_product_id": [flat["id"]],
        "unmanaged_valuation_id": [flat_value["id"]],
        "item_id": [item["id"]],
        "action_id": [action["id"]],
        "objective_id": [goal["id"], plain["id"]],
        "contribution_id": [contribution["id"]],
        "product_ids": [book.product],
        "unmanaged_product_ids": [flat["id"]],
        "statement_id": [statement["id"]],
        "created_by": [str(firm.users["admin"]["id"])],
        "backup_id": backups,
        "cma_set_id": [cma["id"], draft["id"]],
        "root_id": [cma["id"]],
        "portfolio_model_id": [model["id"]],
        "plan_id": [plan["id"]],
        "run_id": [run["id"]],
        "policy_id": [str(r["id"]) for r in owner_sql(
            "SELECT id FROM data_retention_policies WHERE firm_id = %s ORDER BY table_name, condition", (firm.id,))],
    }
    days = (f"2021-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29))

    def group() -> dict[str, str]:
        return {"group_id": ms.create_client_group(client, admin)["id"]}

    def membership() -> dict[str, str]:
        h = ms.create_household(client, admin)
        return {"group_id": h.group_id, "owner_id": h.owner_id}

    def fund() -> dict[str, Any]:
        # not ms.create_fund's ISIN: hypothesis seeds `random` for each example, so it would repeat itself
        payload = "GB" + uuid.uuid4().hex[:9].upper()
        return ms.create_fund(client, admin, isin=payload + ms.isin_check_digit(payload))

    def portfolio_fund() -> dict[str, str]:
        return {"portfolio_fund_id": ms.add_portfolio_fund(client, admin, book.product, fund()["id"])["id"]}

    def key() -> dict[str, str]:
        return {"key_id": ms.create_api_key(client, admin)["id"]}

    victims = {
        "/v1/activity/{activity_id}": lambda: {
            "activity_id": ms.add_activity(client, admin, book.other_pf, next(days), "10.00")["id"]},
        "/v1/fund-valuations/{valuation_id}": lambda: {
            "valuation_id": ms.add_valuation(client, admin, book.other_pf, next(days), "10.00")["id"]},
        "/v1/api-keys/{key_id}": key,
        "/v1/client-groups/{group_id}": group,
        "/v1/client-groups/{group_id}/product-owners/{owner_id}": membership,
        "/v1/funds/{fund_id}": lambda: {"fund_id": fund()["id"]},
        "/v1/portfolio-funds/{portfolio_fund_id}": portfolio_fund,
        "/v1/product-owners/{owner_id}": lambda: {"owner_id": ms.create_product_owner(client, admin)["id"]},
        "/v1/products/{product_id}": lambda: {"product_id": ms.create_product(client, admin, other_house)["id"]},
        "/v1/providers/{provider_id}": lambda: {"provider_id": ms.create_provider(client, admin)["id"]},
        "/v1/users/{user_id}/2fa": lambda: {"user_id": enrolled_user(client, admin)},
        "/v1/information-items/{item_id}": lambda: {
            "item_id": ms.create_information_item(client, admin, other_house.group_id)["id"]},
        "/v1/actions/{action_id}": lambda: {"action_id": ms.create_action(client, admin, other_house.group_id)["id"]},
        "/v1/objectives/{objective_id}": lambda: {
            "objective_id": ms.create_objective(client, admin, other_house.group_id)["id"]},
        "/v1/objective-contributions/{contribution_id}": lambda: {
            "contribution_id": ms.add_contribution(client, admin, goal["id"], "1.00", next(days))["id"]},
        "/v1/unmanaged-products/{unmanaged_product_id}": lambda: {
            "unmanaged_product_id": ms.create_unmanaged(client, admin, other_house)["id"]},
        "/v1/unmanaged-valuations/{unmanaged_valuation_id}": lambda: {
            "unmanaged_valuation_id": ms.add_unmanaged_valuation(client, admin, flat["id"], next(days), "1.00")["id"]},
    }
    return World(client=client, firm=firm, admin=admin, pools=pools, victims=victims,
                 session_email=session_user["email"], login_email=login_user["email"],
                 totp_email=totp_user["email"], enrolment_email=enrolment_admin["email"], totp_secret=app.secret,
                 enrolment_firm=other_firm["id"])
