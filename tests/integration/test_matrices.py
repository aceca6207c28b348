"""The three matrices, driven by ROUTES: tenant isolation, roles, and the audit trail.

EXPECTATIONS holds one entry per (method, path) of ROUTES: the access level we expect the route to have, the status
of an allowed call, how to make a fresh valid call (and what it must write to the audit trail), how a write can
fail, and which of another firm's ids it must refuse. A route added to ROUTES without an entry fails
`test_every_route_has_an_expectation` and every matrix it would join, so nothing new goes unchecked.

- Isolation: firm A's admin (and write key) calls every route that takes ids with firm B's real ids and gets 404
  problem+json, B's rows unchanged and no audit event; every list shows exactly A's rows; the app role without
  `app.firm_id` sees no tenant row, with it only that firm's rows, and cannot switch row security off.
- Roles: every principal (four roles, read key, read+write key, write-only key) against every route: allowed
  (the route's own status) or 403 with nothing changed; bad or missing credentials are 401 with WWW-Authenticate.
- Audit: every write leaves exactly one event (action, resource, actor, request id, before/after, changed fields);
  a write that fails leaves none and changes nothing; no secret is ever in the trail.
"""
from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jwt
import psycopg
import pytest

from app import router
from chalicelib.core import config
from chalicelib.core.http import ADMIN, PUBLIC, READ, WRITE, RouteSpec
from tests.conftest import PASSWORD, Firm, assert_problem, make_firm, owner_sql
from tests.integration.backup_support import platform_backup
from tests.integration.login_support import Authenticator, enrol
from tests.integration.matrix_support import (
    TENANT_TABLES,
    Book,
    Elsewhere,
    Household,
    add_activity,
    add_contribution,
    add_member,
    add_portfolio_fund,
    add_unmanaged_valuation,
    add_valuation,
    api_key_id,
    audit_events_since,
    audit_json,
    audit_watermark,
    bearer,
    create_action,
    create_api_key,
    create_client_group,
    create_fund,
    create_generation,
    create_household,
    create_information_item,
    create_objective,
    create_product,
    create_product_owner,
    create_provider,
    create_template,
    create_unmanaged,
    create_user,
    expect_status,
    firm_rows,
    ids_of,
    individual_owner,
    list_ids,
    login,
    make_book,
    make_elsewhere,
    row_version,
    send,
    session_chain,
    unique,
    unique_email,
    unique_isin,
)
from tests.integration.planning_support import (
    TWO_CLASSES,
    Planning,
    cma_body,
    create_cma_set,
    create_plan,
    create_portfolio_model,
    new_plan_version,
    plan_inputs,
)

USER_AGENT = "wealthdesk-matrix-tests/1.0"
ROLES = ("admin", "adviser", "analyst", "viewer")
# Principal -> the scopes of its API key (None: a user, by role).
PRINCIPALS: dict[str, frozenset[str] | None] = {
    "admin": None, "adviser": None, "analyst": None, "viewer": None,
    "read": frozenset({"read"}), "write": frozenset({"read", "write"}), "write_only": frozenset({"write"}),
}
ROUTES = router.specs()  # every route the app serves
SPECS: dict[tuple[str, str], RouteSpec] = {(r.method, r.path): r for r in ROUTES}
ROUTE_KEYS = list(SPECS)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
NOT_NULL = object()  # in an expected before/after: the field holds a value


def allowed(access: str, who: str | None) -> bool:
    """The access rule of the design: admins and advisers write client data, analysts and viewers read it;
    API keys read with scope read and write client data with scope write; only an admin user may use admin
    routes; public routes need nobody."""
    if access == PUBLIC:
        return True
    if who is None:
        return False
    scopes = PRINCIPALS[who]
    if access == READ:
        return scopes is None or "read" in scopes
    if access == WRITE:
        return who in ("admin", "adviser") if scopes is None else "write" in scopes
    if access == ADMIN:
        return who == "admin"
    raise AssertionError(f"unknown access level {access!r}")


def key_id(key: tuple[str, str]) -> str:
    return f"{key[0]} {key[1]}"


# --- the expectation table ---------------------------------------------------------------------------------------

@dataclass
class AuditExpect:
    """The one event a successful write must leave."""

    action: str
    resource_type: str
    resource_id: str
    before: dict[str, Any] | None  # None: must be null; a dict: must be an object holding these items
    after: dict[str, Any] | None
    changed: list[str] | None = None  # the exact changed_fields (updates)
    actor: tuple[str, str] | None = None  # (actor_type, actor_id) when it is not the caller (login, refresh)


@dataclass
class Prepared:
    """One ready call: fresh resources made, the path, body and headers to send, and what it must audit."""

    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: dict[str, str] | None = None  # replaces the caller's Authorization (logout: a fresh session of theirs)
    audit: Callable[[Any], AuditExpect] | None = None  # response -> the expected event


@dataclass
class Env:
    """What a prepare function may use: the client, the firm, and who will make the call (None: nobody)."""

    client: Any
    firm: Firm
    who: str | None = None

    @property
    def admin(self) -> dict[str, str]:
        return self.firm.auth("admin")

    def group(self, **fields: Any) -> dict[str, Any]:
        return create_client_group(self.client, self.admin, **fields)

    def owner(self, **fields: Any) -> dict[str, Any]:
        return create_product_owner(self.client, self.admin, **fields)

    def household(self) -> Household:
        return create_household(self.client, self.admin)

    def user(self, role: str = "viewer") -> dict[str, Any]:
        return create_user(self.client, self.admin, role=role)

    def api_key(self, scopes: tuple[str, ...] = ("read",)) -> dict[str, Any]:
        return create_api_key(self.client, self.admin, scopes)

    def login_user(self) -> dict[str, Any]:
        """The user a public auth call logs in as: a new user of the caller's role, else a new viewer (a user has at
        most five live sessions: the firm's own users keep theirs)."""
        return create_user(self.client, self.admin, role=self.who if self.who in ROLES else "viewer",
                           password=PASSWORD)

    # managed products: fresh rows for writes, the firm's shelf (made once) for reads

    @property
    def shelf(self) -> Shelf:
        return _shelf(self.client, self.firm)

    def provider(self, **fields: Any) -> dict[str, Any]:
        return create_provider(self.client, self.admin, **fields)

    def fund(self, **fields: Any) -> dict[str, Any]:
        return create_fund(self.client, self.admin, **fields)

    def template(self, **fields: Any) -> dict[str, Any]:
        return create_template(self.client, self.admin, **fields)

    def product(self, **fields: Any) -> dict[str, Any]:
        """A new product (no portfolio funds) in the shelf's household, from the shelf's first provider."""
        return create_product(self.client, self.admin, self.shelf.house,
                              **{"provider_id": self.shelf.book.provider, **fields})

    def portfolio_fund(self, fund_id: Any = None, **fields: Any) -> dict[str, Any]:
        """A new product with one portfolio fund (the shelf's fund unless given), started 2020-01-15."""
        product = self.product()
        return add_portfolio_fund(self.client, self.admin, product["id"], fund_id or self.shelf.book.fund, **fields)

    def ended_portfolio_fund(self, end: str = "2022-12-31") -> dict[str, Any]:
        pf = self.portfolio_fund()
        return expect_status(send(self.client, "PATCH", f"{PFS}/{pf['id']}", headers={**self.admin, **_if_match(1)},
                                  body={"end_date": end}), 200)

    def valuation(self, day: str = "2023-03-31", value: str = "1000.00") -> dict[str, Any]:
        return add_valuation(self.client, self.admin, self.portfolio_fund()["id"], day, value)

    def activity(self, day: str = "2021-06-01", amount: str = "5000.00") -> dict[str, Any]:
        return add_activity(self.client, self.admin, self.portfolio_fund()["id"], day, amount)

    # unmanaged products: fresh rows in the shelf's household

    def unmanaged(self, **fields: Any) -> dict[str, Any]:
        return create_unmanaged(self.client, self.admin, self.shelf.house, **fields)

    def unmanaged_valuation(self, day: str = "2023-03-31", value: str = "250000.00") -> dict[str, Any]:
        return add_unmanaged_valuation(self.client, self.admin, self.unmanaged()["id"], day, value)

    # information items and actions: fresh rows in the shelf's household

    def item(self, **fields: Any) -> dict[str, Any]:
        return create_information_item(self.client, self.admin, self.shelf.house.group_id, **fields)

    def action(self, **fields: Any) -> dict[str, Any]:
        return create_action(self.client, self.admin, self.shelf.house.group_id, **fields)

    # objectives: fresh rows in the shelf's household

    def objective(self, **fields: Any) -> dict[str, Any]:
        return create_objective(self.client, self.admin, self.shelf.house.group_id, **fields)

    def goal(self, **fields: Any) -> dict[str, Any]:
        """A money goal linked to the shelf's product."""
        return self.objective(**{"target_amount": "50000.00", "target_date": "2034-04-30",
                                 "product_ids": [self.shelf.book.product], **fields})

    def contribution(self) -> dict[str, Any]:
        return add_contribution(self.client, self.admin, self.goal()["id"], "125.00", "2024-02-29")


@dataclass(frozen=True)
class Shelf:
    """A firm's household and book (see make_book), made once per firm and only ever read: the rows the read
    routes of the role and credential matrices look at, and the catalogue the writes build on."""

    house: Household
    book: Book


_SHELVES: dict[Any, Shelf] = {}


def _shelf(client: Any, firm: Firm) -> Shelf:
    if firm.id not in _SHELVES:
        admin = firm.auth("admin")
        house = create_household(client, admin)
        _SHELVES[firm.id] = Shelf(house, make_book(client, admin, house, day="2023-06-30",
                                                   invested=("10000.00", "5000.00"), values=("11000.00", "5200.00")))
        _refresh_views()  # so that the dashboard shows the book
    return _SHELVES[firm.id]


def _refresh_views() -> None:
    from chalicelib.ops.jobs import run_job

    assert run_job("refresh-views", trigger="manual").status == "succeeded"


@dataclass(frozen=True)
class Failure:
    """A write that must fail with `status`, leave no audit event and change nothing."""

    name: str
    status: int
    prepare: Callable[[Env], Prepared]
    who: str | None = None  # default: the usual writer for the route's access level


@dataclass(frozen=True)
class Tenants:
    """Firm A (the caller) and firm B (the victim), with real rows in each."""

    a: Firm
    b: Firm
    a_house: Household
    b_house: Household  # a group with an owner in it
    b_empty_group: str
    b_lone_owner: str  # in no group
    b_user: str
    b_key: str  # an API key id
    a_book: Book  # a managed product of a_house, and everything around it
    b_book: Book
    search_token: str  # in the names of a provider and a client group of each firm, and nowhere else
    b_notification: str  # a notification of B's admin
    b_statement: str  # a net worth statement of b_house
    a_elsewhere: Elsewhere  # an unmanaged product of a_house with a valuation, and a rate of A's
    b_elsewhere: Elsewhere
    b_item: str = ""  # an information item of b_house (assets, owned by its member)
    b_action: str = ""  # an action of b_house
    b_cma: str = ""  # an approved CMA set of B
    b_model: str = ""  # a portfolio model of B
    a_plan: str = ""  # a plan of a_house with two versions
    b_plan: str = ""  # a plan of b_house with two versions
    b_run: str = ""  # a succeeded run of b_plan
    b_objective: str = ""  # a money goal of b_house, linked to its book's product and its unmanaged product
    b_contribution: str = ""  # a contribution to b_objective
    b_policy: str = ""  # a retention policy of B's

    def house_of(self, firm: Firm) -> Household:
        return self.a_house if firm is self.a else self.b_house

    def book_of(self, firm: Firm) -> Book:
        return self.a_book if firm is self.a else self.b_book

    def elsewhere_of(self, firm: Firm) -> Elsewhere:
        return self.a_elsewhere if firm is self.a else self.b_elsewhere

    def b_ids(self) -> set[str]:
        return {self.b_house.group_id, self.b_house.owner_id, self.b_empty_group, self.b_lone_owner, self.b_user,
                self.b_key, str(self.b.users["admin"]["id"]), _token_chain(self.b.tokens["admin"]),
                _token_chain(self.b.tokens["viewer"]), self.b_notification, self.b_statement, self.b_item,
                self.b_action, self.b_cma, self.b_model, self.b_plan, self.b_run,
                self.b_objective, self.b_contribution,
                self.b_policy} | self.b_book.ids() | self.b_elsewhere.ids()


@dataclass(frozen=True)
class Listing:
    """A list route: what the firm must see (all its rows, nothing else)."""

    path: Callable[[Tenants, Firm], str]  # what the firm's admin lists
    ids: Callable[[Tenants, Firm], set[str]]  # the firm's rows, read as the owner
    paged: bool = True
    tenant: bool = True  # False: rows of no firm, the same for every firm's admin
    extract: Callable[[Any], list[str]] | None = None  # a non-list body -> the ids it shows


@dataclass(frozen=True)
class Route:
    access: str
    ok: int  # the status of an allowed call with valid input
    prepare: Callable[[Env], Prepared]
    key_ok: int | None = None  # what API keys get instead (routes about the user's own session)
    failures: tuple[Failure, ...] = ()
    foreign: Callable[[Tenants], list[Prepared]] | None = None  # calls with another firm's ids: all 404
    listing: Listing | None = None
    read_only: bool = False  # a POST that only reads (a question with a body): no audit event, nothing written
    platform: bool = False  # its ids name platform records (backups), the same for every firm's admin: no foreign ids


def _firm_ids(table: str) -> Callable[[Tenants, Firm], set[str]]:
    return lambda t, firm: ids_of(f"SELECT id FROM {table} WHERE firm_id = %s", (firm.id,))


def _if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def _etag_of(table: str, row_id: Any) -> dict[str, str]:
    return _if_match(row_version(table, row_id))


# client groups

def _create_group(env: Env) -> Prepared:
    body = {"name": unique("The Hales"), "type": "couple", "notes": "Annual review in March"}
    return Prepared("/v1/client-groups", body, audit=lambda r: AuditExpect(
        "client_group.create", "client_group", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "status": "active", "version": 1}))


def _patch_group(env: Env) -> Prepared:
    g, name = env.group(), unique("Renamed")
    return Prepared(f"/v1/client-groups/{g['id']}", {"name": name}, _if_match(1), audit=lambda r: AuditExpect(
        "client_group.update", "client_group", g["id"], {"name": g["name"], "version": 1},
        {"name": name, "version": 2}, changed=["name"]))


def _delete_group(env: Env) -> Prepared:
    g = env.group()
    return Prepared(f"/v1/client-groups/{g['id']}", audit=lambda r: AuditExpect(
        "client_group.delete", "client_group", g["id"], {"id": g["id"], "name": g["name"]}, None))


def _add_member(env: Env) -> Prepared:
    g, o = env.group(), env.owner()
    link = {"client_group_id": g["id"], "product_owner_id": o["id"]}
    return Prepared(f"/v1/client-groups/{g['id']}/product-owners/{o['id']}", audit=lambda r: AuditExpect(
        "client_group.add_product_owner", "client_group", g["id"], None, link))


def _remove_member(env: Env) -> Prepared:
    h = env.household()
    link = {"client_group_id": h.group_id, "product_owner_id": h.owner_id}
    return Prepared(f"/v1/client-groups/{h.group_id}/product-owners/{h.owner_id}", audit=lambda r: AuditExpect(
        "client_group.remove_product_owner", "client_group", h.group_id, link, None))


# product owners

def _create_owner(env: Env) -> Prepared:
    body = {"first_name": "Margaret", "surname": unique("Hale"), "known_as": "Peggy", "date_of_birth": "1961-03-14",
            "email": "m.hale@example.co.uk", "phone": "+44 20 7946 0018"}
    return Prepared("/v1/product-owners", body, audit=lambda r: AuditExpect(
        "product_owner.create", "product_owner", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "status": "active", "version": 1}))


def _patch_owner(env: Env) -> Prepared:
    o, surname = env.owner(), unique("Married")
    return Prepared(f"/v1/product-owners/{o['id']}", {"surname": surname}, _if_match(1),
                    audit=lambda r: AuditExpect("product_owner.update", "product_owner", o["id"],
                                                {"surname": o["surname"], "version": 1},
                                                {"surname": surname, "version": 2}, changed=["surname"]))


def _delete_owner(env: Env) -> Prepared:
    o = env.owner()
    return Prepared(f"/v1/product-owners/{o['id']}", audit=lambda r: AuditExpect(
        "product_owner.delete", "product_owner", o["id"], {"id": o["id"], "surname": o["surname"]}, None))


# auth

def _login(env: Env) -> Prepared:
    user = env.login_user()
    uid = str(user["id"])
    return Prepared("/v1/auth/login", {"email": user["email"], "password": PASSWORD}, audit=lambda r: AuditExpect(
        "auth.login", "user", uid, None, None, actor=("user", uid)))


def _refresh(env: Env) -> Prepared:
    user = env.login_user()
    refresh = login(env.client, user["email"])["refresh_token"]
    chain, uid = session_chain(refresh), str(user["id"])
    return Prepared("/v1/auth/refresh", {"refresh_token": refresh}, audit=lambda r: AuditExpect(
        "auth.refresh", "session", chain, None, None, actor=("user", uid)))


def _logout(env: Env) -> Prepared:
    if env.who not in ROLES:  # API keys have no session (422); nobody gets 401
        return Prepared("/v1/auth/logout")
    # A session of its own, so the shared token of the role keeps its session.
    tokens = login(env.client, env.firm.users[env.who]["email"])
    chain = session_chain(tokens["refresh_token"])
    return Prepared("/v1/auth/logout", auth=bearer(tokens["access_token"]), audit=lambda r: AuditExpect(
        "auth.logout", "session", chain, None, {"revoked": 1}))


def _end_session(env: Env) -> Prepared:
    if env.who not in ROLES:  # API keys have no sessions (422); nobody gets 401
        return Prepared(f"/v1/me/sessions/{uuid.uuid4()}")
    # Another session of the caller's own (the shared token of the role keeps its session).
    chain = session_chain(login(env.client, env.firm.users[env.who]["email"])["refresh_token"])
    return Prepared(f"/v1/me/sessions/{chain}", audit=lambda r: AuditExpect(
        "session.revoke", "session", chain, None, {"revoked_by": "user"}))


def _live_sessions_of_admin(t: Tenants, firm: Firm) -> set[str]:
    return ids_of("SELECT DISTINCT chain_id AS id FROM sessions WHERE user_id = %s AND used_at IS NULL "
                  "AND revoked_at IS NULL AND expires_at > now() AND last_used_at > now() - interval '2 hours'",
                  (firm.users["admin"]["id"],))


def _token_chain(token: str) -> str:
    sid = jwt.decode(token, options={"verify_signature": False})["sid"]
    return str(owner_sql("SELECT chain_id FROM sessions WHERE id = %s", (sid,))[0]["chain_id"])


# users and API keys

def _create_user(env: Env) -> Prepared:
    body = {"email": unique_email("colleague"), "name": "New Colleague", "role": "analyst",
            "password": unique("a-long-passphrase")}
    shown = {k: v for k, v in body.items() if k != "password"}
    return Prepared("/v1/users", body, audit=lambda r: AuditExpect(
        "user.create", "user", r.json_body["id"], None, {**shown, "id": r.json_body["id"], "active": True}))


def _patch_user(env: Env) -> Prepared:
    u, name = env.user(), "Renamed Colleague"
    return Prepared(f"/v1/users/{u['id']}", {"name": name}, _if_match(1), audit=lambda r: AuditExpect(
        "user.update", "user", u["id"], {"name": u["name"], "version": 1}, {"name": name, "version": 2},
        changed=["name"]))


def _create_key(env: Env) -> Prepared:
    expires = (datetime.now(UTC) + timedelta(days=90)).replace(microsecond=0)
    body = {"name": unique("reporting"), "scopes": ["read"], "expires_at": expires.isoformat()}
    return Prepared("/v1/api-keys", body, audit=lambda r: AuditExpect(
        "api_key.create", "api_key", r.json_body["id"], None,
        {"id": r.json_body["id"], "name": body["name"], "prefix": r.json_body["prefix"], "scopes": ["read"],
         "expires_at": NOT_NULL, "revoked_at": None}))


def _revoke_key(env: Env) -> Prepared:
    k = env.api_key()
    return Prepared(f"/v1/api-keys/{k['id']}", audit=lambda r: AuditExpect(
        "api_key.revoke", "api_key", k["id"], {"id": k["id"], "revoked_at": None},
        {"id": k["id"], "revoked_at": NOT_NULL}, changed=["revoked_at"]))


# sign-in: two-factor, the firm's settings, notifications

_TWO_FACTOR_USERS: dict[Any, tuple[dict[str, Any], Authenticator]] = {}


def _enrolled_user(env: Env, role: str = "viewer") -> tuple[dict[str, Any], str, Authenticator]:
    """A new user of `role` with two-factor on: (the user, an access token of theirs, their authenticator)."""
    user = create_user(env.client, env.admin, role=role, password=PASSWORD)
    token = login(env.client, user["email"])["access_token"]
    app, _codes = enrol(env.client, token)
    return user, token, app


def _second_step(env: Env) -> Prepared:
    """A challenge of the firm's two-factor user (made once per firm) and a code not used yet."""
    if env.firm.id not in _TWO_FACTOR_USERS:
        user, _token, app = _enrolled_user(env)
        _TWO_FACTOR_USERS[env.firm.id] = (user, app)
    user, app = _TWO_FACTOR_USERS[env.firm.id]
    challenge = login(env.client, user["email"])["challenge"]
    uid = str(user["id"])
    return Prepared("/v1/auth/2fa", {"challenge": challenge, "code": app.code()}, audit=lambda r: AuditExpect(
        "auth.login", "user", uid, None, {"second_factor": "totp"}, actor=("user", uid)))


def _enrolment_challenge(env: Env) -> tuple[str, str]:
    """(a new user's id, an enrolment challenge of theirs), as a sign-in gets when the firm requires two-factor
    (the flow itself is test_two_factor.py's; the matrix firm does not require it)."""
    user = env.user()
    token = "wdc_" + uuid.uuid4().hex + uuid.uuid4().hex
    owner_sql("INSERT INTO login_challenges (firm_id, user_id, token_hash, purpose, expires_at) "
              "VALUES (%s, %s, %s, 'totp_enrolment', now() + interval '5 minutes')",
              (env.firm.id, user["id"], hashlib.sha256(token.encode()).digest()))
    return str(user["id"]), token


def _enrol_at_login(env: Env) -> Prepared:
    uid, challenge = _enrolment_challenge(env)
    return Prepared("/v1/auth/2fa/enrol", {"challenge": challenge}, audit=lambda r: AuditExpect(
        "auth.totp_enrol_started", "user", uid, None, None, actor=("user", uid)))


def _confirm_at_login(env: Env) -> Prepared:
    uid, challenge = _enrolment_challenge(env)
    started = expect_status(send(env.client, "POST", "/v1/auth/2fa/enrol", body={"challenge": challenge}), 200)
    code = Authenticator(started["secret"]).code()
    return Prepared("/v1/auth/2fa/enrol/confirm", {"challenge": challenge, "code": code}, audit=lambda r: AuditExpect(
        "auth.login", "user", uid, None, {"second_factor": "totp", "enrolled": True, "recovery_codes": 10},
        actor=("user", uid)))


def _me_enrol(env: Env) -> Prepared:
    if env.who not in ROLES:  # API keys have no two-factor (422)
        return Prepared("/v1/me/2fa/enrol")
    uid = str(env.firm.users[env.who]["id"])
    return Prepared("/v1/me/2fa/enrol", audit=lambda r: AuditExpect("auth.totp_enrol_started", "user", uid, None,
                                                                    None))


def _fresh_session(env: Env) -> tuple[str, dict[str, str]]:
    """A new user of the caller's role and a session of theirs: enrolment changes the user it is made for, so the
    firm's shared users stay as every other test expects them (one step sign-in)."""
    user = create_user(env.client, env.admin, role=env.who if env.who in ROLES else "viewer", password=PASSWORD)
    return str(user["id"]), bearer(login(env.client, user["email"])["access_token"])


def _me_confirm(env: Env) -> Prepared:
    if env.who not in ROLES:
        return Prepared("/v1/me/2fa/confirm", {"code": "123456"})
    uid, auth = _fresh_session(env)
    started = expect_status(send(env.client, "POST", "/v1/me/2fa/enrol", headers=auth), 200)
    return Prepared("/v1/me/2fa/confirm", {"code": Authenticator(started["secret"]).code()}, auth=auth,
                    audit=lambda r: AuditExpect("auth.totp_enabled", "user", uid, None, {"recovery_codes": 10},
                                                actor=("user", uid)))


def _me_disable(env: Env) -> Prepared:
    if env.who not in ROLES:
        return Prepared("/v1/me/2fa/disable", {"code": "123456"})
    user, token, app = _enrolled_user(env, env.who)
    uid = str(user["id"])
    return Prepared("/v1/me/2fa/disable", {"code": app.code()}, auth=bearer(token), audit=lambda r: AuditExpect(
        "auth.totp_disabled", "user", uid, None, {"with": "totp"}, actor=("user", uid)))


def _already_enrolled(env: Env) -> Prepared:
    _user, token, _app = _enrolled_user(env)
    return Prepared("/v1/me/2fa/enrol", auth=bearer(token))


def _reset_two_factor(env: Env) -> Prepared:
    user, _token, _app = _enrolled_user(env)
    uid = str(user["id"])
    return Prepared(f"{U}/{uid}/2fa", audit=lambda r: AuditExpect("auth.totp_reset", "user", uid, None,
                                                                  {"sessions_revoked": 1}))


def _notification_of(firm: Firm, user_id: Any) -> str:
    return str(owner_sql("INSERT INTO notifications (firm_id, user_id, kind, title, body) VALUES "
                         "(%s, %s, 'security.test', 'A test notice', 'Nothing happened.') RETURNING id",
                         (firm.id, user_id))[0]["id"])


def _read_notification(env: Env) -> Prepared:
    if env.who not in ROLES:
        return Prepared(f"/v1/notifications/{uuid.uuid4()}/read")
    nid = _notification_of(env.firm, env.firm.users[env.who]["id"])
    return Prepared(f"/v1/notifications/{nid}/read", audit=lambda r: AuditExpect(
        "notification.read", "notification", nid, None, None))


def _patch_firm(env: Env) -> Prepared:
    version, name = row_version("firms", env.firm.id), unique("Firm")
    return Prepared("/v1/firm", {"name": name}, _if_match(version), audit=lambda r: AuditExpect(
        "firm.update", "firm", str(env.firm.id), {"version": version}, {"name": name, "version": version + 1},
        changed=["name"]))


def _get(path: str | Callable[[Env], str]) -> Callable[[Env], Prepared]:
    return lambda env: Prepared(path(env) if callable(path) else path)


F = Failure
G, OWNERS_PATH, M, U, K = ("/v1/client-groups", "/v1/product-owners", "/v1/client-groups/{g}/product-owners/{o}",
                           "/v1/users", "/v1/api-keys")


def _member_path(g: Any, o: Any) -> str:
    return M.format(g=g, o=o)


def _self_demotion(env: Env) -> Prepared:
    # A second admin of its own, so a broken rule cannot demote the firm's shared admin.
    me = create_user(env.client, env.admin, role="admin", password=unique("a-long-passphrase"))
    token = login(env.client, me["email"], me["password"])["access_token"]
    return Prepared(f"{U}/{me['id']}", {"role": "viewer"}, _if_match(1), auth=bearer(token))


def _revoked_key(env: Env) -> Prepared:
    k = env.api_key()
    expect_status(send(env.client, "DELETE", f"{K}/{k['id']}", headers=env.admin), 204)
    return Prepared(f"{K}/{k['id']}")


# managed products: catalogue

PV, FD, TP = "/v1/providers", "/v1/funds", "/v1/portfolio-templates"
PR, PFS, FVS, ACT = "/v1/products", "/v1/portfolio-funds", "/v1/fund-valuations", "/v1/activity"


def _products_of(group_id: Any) -> str:
    return f"{G}/{group_id}/products"


def _create_provider(env: Env) -> Prepared:
    body = {"name": unique("Aviva"), "colour": "#1A2B3C"}
    return Prepared(PV, body, audit=lambda r: AuditExpect(
        "provider.create", "provider", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "status": "active", "version": 1}))


def _patch_provider(env: Env) -> Prepared:
    p, name = env.provider(), unique("Renamed")
    return Prepared(f"{PV}/{p['id']}", {"name": name}, _if_match(1), audit=lambda r: AuditExpect(
        "provider.update", "provider", p["id"], {"name": p["name"], "version": 1}, {"name": name, "version": 2},
        changed=["name"]))


def _delete_provider(env: Env) -> Prepared:
    p = env.provider()
    return Prepared(f"{PV}/{p['id']}", audit=lambda r: AuditExpect(
        "provider.delete", "provider", p["id"], {"id": p["id"], "name": p["name"]}, None))


def _used_provider(env: Env) -> Prepared:
    p = env.provider()
    env.product(provider_id=p["id"])
    return Prepared(f"{PV}/{p['id']}")


def _create_fund(env: Env) -> Prepared:
    body = {"name": unique("LifeStrategy 60"), "isin": unique_isin("IE"), "risk_factor": 4, "ongoing_cost": "0.22",
            "currency": "GBP"}
    return Prepared(FD, body, audit=lambda r: AuditExpect(
        "fund.create", "fund", r.json_body["id"], None,
        {**body, "ongoing_cost": "0.2200", "id": r.json_body["id"], "is_cash": False, "status": "active",
         "version": 1}))


def _patch_fund(env: Env) -> Prepared:
    f = env.fund()
    return Prepared(f"{FD}/{f['id']}", {"risk_factor": 6}, _if_match(1), audit=lambda r: AuditExpect(
        "fund.update", "fund", f["id"], {"risk_factor": 4, "version": 1}, {"risk_factor": 6, "version": 2},
        changed=["risk_factor"]))


def _delete_fund(env: Env) -> Prepared:
    f = env.fund()
    return Prepared(f"{FD}/{f['id']}", audit=lambda r: AuditExpect(
        "fund.delete", "fund", f["id"], {"id": f["id"], "isin": f["isin"]}, None))


def _held_fund(env: Env) -> Prepared:
    f = env.fund()
    env.portfolio_fund(f["id"])
    return Prepared(f"{FD}/{f['id']}")


def _fund_in_a_generation(env: Env) -> Prepared:
    f = env.fund()
    create_generation(env.client, env.admin, env.template()["id"], [(f["id"], "100.00")])
    return Prepared(f"{FD}/{f['id']}")


def _wrong_check_digit(env: Env) -> Prepared:
    isin = unique_isin()
    return Prepared(FD, {"name": unique("F"), "isin": isin[:11] + str((int(isin[11]) + 1) % 10)})


def _create_template(env: Env) -> Prepared:
    body = {"name": unique("Balanced"), "description": "60/40 equities and bonds"}
    return Prepared(TP, body, audit=lambda r: AuditExpect(
        "portfolio_template.create", "portfolio_template", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "status": "active", "version": 1}))


def _patch_template(env: Env) -> Prepared:
    t = env.template()
    return Prepared(f"{TP}/{t['id']}", {"status": "inactive"}, _if_match(1), audit=lambda r: AuditExpect(
        "portfolio_template.update", "portfolio_template", t["id"], {"status": "active", "version": 1},
        {"status": "inactive", "version": 2}, changed=["status"]))


def _generation_body(env: Env, *weights: str) -> dict[str, Any]:
    funds = [env.shelf.book.fund, env.shelf.book.other_fund, env.shelf.book.cash_fund]
    return {"funds": [{"fund_id": f, "target_weighting": w} for f, w in zip(funds, weights, strict=False)]}


def _create_generation(env: Env) -> Prepared:
    t, book = env.template(), env.shelf.book
    body = {"name": "2024 review", **_generation_body(env, "62.50", "37.50")}
    return Prepared(f"{TP}/{t['id']}/generations", body, audit=lambda r: AuditExpect(
        "portfolio_template.create_generation", "portfolio_template", t["id"], None,
        {"id": r.json_body["id"], "template_id": t["id"], "generation": 1, "name": "2024 review", "in_use": False,
         "funds": [{"fund_id": book.fund, "target_weighting": "62.50"},
                   {"fund_id": book.other_fund, "target_weighting": "37.50"}]}))


def _generation_of(weights: tuple[str, ...]) -> Callable[[Env], Prepared]:
    return lambda e: Prepared(f"{TP}/{e.template()['id']}/generations", _generation_body(e, *weights))


# managed products: products


def _individual(owner_id: Any) -> dict[str, Any]:
    return {"association_type": "individual", "product_owner_id": str(owner_id)}


def _new_product(env: Env, **fields: Any) -> Prepared:
    """A valid product body for the shelf's household, with `fields` on top."""
    house = env.shelf.house
    body = {"name": unique("ISA"), "product_type": "stocks_and_shares_isa", "start_date": "2021-04-06",
            "ownership": _individual(house.owner_id), **fields}
    return Prepared(_products_of(house.group_id), body)


def _create_product(env: Env) -> Prepared:
    house, book = env.shelf.house, env.shelf.book
    prep = _new_product(env, provider_id=book.provider, plan_number=unique("PLAN"), notes="Transferred in",
                        currency="GBP", fixed_fee_direct="100.00", fixed_fee_facilitated="50.00",
                        percentage_fee_facilitated="0.75", template_generation_id=book.generation,
                        ownership={"association_type": "tenants_in_common", "shares": {house.owner_id: "60.00"}})
    body = prep.body
    prep.audit = lambda r: AuditExpect(
        "product.create", "product", r.json_body["id"], None,
        {**body, "percentage_fee_facilitated": "0.7500", "id": r.json_body["id"], "client_group_id": house.group_id,
         "status": "active", "end_date": None, "version": 1, "portfolio_funds_copied": 2})
    return prep


def _overshared_product(env: Env) -> Prepared:
    """Tenants in common whose shares sum to 100.01: two members of a fresh household."""
    house, other = env.household(), env.owner()
    add_member(env.client, env.admin, house.group_id, other["id"])
    shares = {house.owner_id: "60.00", other["id"]: "40.01"}
    return Prepared(_products_of(house.group_id), {"name": "Over", "product_type": "gia", "start_date": "2021-04-06",
                                                   "ownership": {"association_type": "tenants_in_common",
                                                                 "shares": shares}})


def _patch_product(env: Env) -> Prepared:
    p, book = env.product(), env.shelf.book
    return Prepared(f"{PR}/{p['id']}", {"provider_id": book.second_provider}, _if_match(1),
                    audit=lambda r: AuditExpect("product.update", "product", p["id"],
                                                {"provider_id": book.provider, "version": 1},
                                                {"provider_id": book.second_provider, "version": 2},
                                                changed=["provider_id"]))


def _delete_product(env: Env) -> Prepared:
    p = env.product()
    return Prepared(f"{PR}/{p['id']}", audit=lambda r: AuditExpect(
        "product.delete", "product", p["id"], {"id": p["id"], "name": p["name"]}, None))


def _valued_product(env: Env, value: str) -> str:
    pf = env.portfolio_fund()
    add_valuation(env.client, env.admin, pf["id"], "2023-03-31", value)
    return pf["product_id"]


def _lapse(env: Env) -> Prepared:
    product = _valued_product(env, "0.00")
    return Prepared(f"{PR}/{product}/lapse", audit=lambda r: AuditExpect(
        "product.lapse", "product", product, {"id": product, "status": "active"}, {"status": "lapsed"},
        changed=["status"]))


def _lapsed_product(env: Env) -> str:
    product = _valued_product(env, "0.00")
    expect_status(send(env.client, "POST", f"{PR}/{product}/lapse", headers=env.admin), 200)
    return product


def _reactivate(env: Env) -> Prepared:
    product = _lapsed_product(env)
    return Prepared(f"{PR}/{product}/reactivate", audit=lambda r: AuditExpect(
        "product.reactivate", "product", product, {"id": product, "status": "lapsed"}, {"status": "active"},
        changed=["status"]))


# managed products: portfolio funds, valuations, activity

def _add_portfolio_fund(env: Env) -> Prepared:
    p, fund = env.product(), env.shelf.book.fund
    body = {"fund_id": fund, "target_weighting": "25.00", "start_date": "2021-05-01"}
    return Prepared(f"{PR}/{p['id']}/funds", body, audit=lambda r: AuditExpect(
        "portfolio_fund.create", "portfolio_fund", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "product_id": p["id"], "end_date": None, "version": 1}))


def _patch_portfolio_fund(env: Env) -> Prepared:
    pf = env.portfolio_fund()
    return Prepared(f"{PFS}/{pf['id']}", {"end_date": "2023-12-31"}, _if_match(1), audit=lambda r: AuditExpect(
        "portfolio_fund.update", "portfolio_fund", pf["id"], {"end_date": None, "version": 1},
        {"end_date": "2023-12-31", "version": 2}, changed=["end_date"]))


def _delete_portfolio_fund(env: Env) -> Prepared:
    pf = env.portfolio_fund()
    return Prepared(f"{PFS}/{pf['id']}", audit=lambda r: AuditExpect(
        "portfolio_fund.delete", "portfolio_fund", pf["id"], {"id": pf["id"], "fund_id": pf["fund_id"]}, None))


def _create_valuation(env: Env) -> Prepared:
    pf = env.portfolio_fund()
    body = {"valuation_date": "2023-03-31", "value": "12500.50"}
    return Prepared(f"{PFS}/{pf['id']}/valuations", body, audit=lambda r: AuditExpect(
        "fund_valuation.create", "fund_valuation", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "portfolio_fund_id": pf["id"], "version": 1}))


def _valuation_of(prepare: Callable[[Env], dict[str, Any]], body: dict[str, Any]) -> Callable[[Env], Prepared]:
    return lambda e: Prepared(f"{PFS}/{prepare(e)['id']}/valuations", body)


def _patch_valuation(env: Env) -> Prepared:
    v = env.valuation(value="1000.00")
    return Prepared(f"{FVS}/{v['id']}", {"value": "1100.00"}, _if_match(1), audit=lambda r: AuditExpect(
        "fund_valuation.update", "fund_valuation", v["id"], {"value": "1000.00", "version": 1},
        {"value": "1100.00", "version": 2}, changed=["value"]))


def _delete_valuation(env: Env) -> Prepared:
    v = env.valuation()
    return Prepared(f"{FVS}/{v['id']}", audit=lambda r: AuditExpect(
        "fund_valuation.delete", "fund_valuation", v["id"],
        {"id": v["id"], "valuation_date": "2023-03-31", "value": "1000.00"}, None))


def _two_fund_product(env: Env, end: str | None = None) -> tuple[str, str, str]:
    """(product, portfolio fund, second portfolio fund, ended on `end` when given)."""
    pf = env.portfolio_fund()
    other = add_portfolio_fund(env.client, env.admin, pf["product_id"], env.shelf.book.other_fund)
    if end:
        expect_status(send(env.client, "PATCH", f"{PFS}/{other['id']}", headers={**env.admin, **_if_match(1)},
                           body={"end_date": end}), 200)
    return pf["product_id"], pf["id"], other["id"]


def _bulk_valuations(env: Env) -> Prepared:
    product, pf, other = _two_fund_product(env)
    rows = [{"portfolio_fund_id": pf, "valuation_date": "2023-01-31", "value": "1000.00"},
            {"portfolio_fund_id": other, "valuation_date": "2023-01-31", "value": "2000.00"},
            {"portfolio_fund_id": pf, "valuation_date": "2023-02-28", "value": "1010.00"}]
    return Prepared(f"{PR}/{product}/valuations:bulk", {"valuations": rows}, audit=lambda r: AuditExpect(
        "product.bulk_valuations", "product", product, None, {"written": 3, "from": "2023-01-31", "to": "2023-02-28"}))


def _bulk_valuations_failing(bad: Callable[[str, str], dict[str, Any]], end: str | None = None,
                             ) -> Callable[[Env], Prepared]:
    """Two good rows, then `bad(pf, other)` as the third."""
    def prepare(env: Env) -> Prepared:
        product, pf, other = _two_fund_product(env, end)
        rows = [{"portfolio_fund_id": pf, "valuation_date": "2022-01-31", "value": "1000.00"},
                {"portfolio_fund_id": other, "valuation_date": "2022-01-31", "value": "2000.00"}, bad(pf, other)]
        return Prepared(f"{PR}/{product}/valuations:bulk", {"valuations": rows})
    return prepare


def _create_activity(env: Env) -> Prepared:
    pf = env.portfolio_fund()
    body = {"activity_date": "2021-06-01", "activity_type": "regular_investment", "amount": "250.00"}
    return Prepared(f"{PFS}/{pf['id']}/activity", body, audit=lambda r: AuditExpect(
        "activity.create", "activity", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "portfolio_fund_id": pf["id"], "version": 1}))


def _activity_on(body: dict[str, Any]) -> Callable[[Env], Prepared]:
    return lambda e: Prepared(f"{PFS}/{e.portfolio_fund()['id']}/activity", body)


def _patch_activity(env: Env) -> Prepared:
    a = env.activity(amount="5000.00")
    return Prepared(f"{ACT}/{a['id']}", {"amount": "6000.00"}, _if_match(1), audit=lambda r: AuditExpect(
        "activity.update", "activity", a["id"], {"amount": "5000.00", "version": 1},
        {"amount": "6000.00", "version": 2}, changed=["amount"]))


def _delete_activity(env: Env) -> Prepared:
    a = env.activity()
    return Prepared(f"{ACT}/{a['id']}", audit=lambda r: AuditExpect(
        "activity.delete", "activity", a["id"], {"id": a["id"], "activity_type": "investment", "amount": "5000.00"},
        None))


def _bulk_activity(env: Env) -> Prepared:
    pf = env.portfolio_fund()
    rows = [{"portfolio_fund_id": pf["id"], "activity_date": "2021-01-04", "activity_type": "investment",
             "amount": "10000.00"},
            {"portfolio_fund_id": pf["id"], "activity_date": "2022-03-01", "activity_type": "withdrawal",
             "amount": "1500.00"}]
    return Prepared(f"{PR}/{pf['product_id']}/activity:bulk", {"activities": rows}, audit=lambda r: AuditExpect(
        "product.bulk_activity", "product", pf["product_id"], None, {"written": 2, "from": "2021-01-04"}))


def _bulk_activity_failing(bad: dict[str, Any]) -> Callable[[Env], Prepared]:
    def prepare(env: Env) -> Prepared:
        pf = env.portfolio_fund()
        rows = [{"portfolio_fund_id": pf["id"], "activity_date": "2021-01-04", "activity_type": "investment",
                 "amount": "10000.00"}, {"portfolio_fund_id": pf["id"], **bad}]
        return Prepared(f"{PR}/{pf['product_id']}/activity:bulk", {"activities": rows})
    return prepare


# unmanaged products, their valuations, exchange rates

UP, UVS, FXR = "/v1/unmanaged-products", "/v1/unmanaged-valuations", "/v1/fx-rates"
_RATE_DAYS = iter(range(100_000))  # each fresh rate on a day no earlier call used


def _unmanaged_of(group_id: Any) -> str:
    return f"{G}/{group_id}/unmanaged-products"


def _fresh_rate_day() -> str:
    return (date(1950, 1, 1) + timedelta(days=next(_RATE_DAYS))).isoformat()


def _new_unmanaged(env: Env, **fields: Any) -> Prepared:
    house = env.shelf.house
    body = {"name": unique("Buy-to-let"), "kind": "asset", "product_type": "property",
            "ownership": _individual(house.owner_id), **fields}
    return Prepared(_unmanaged_of(house.group_id), body)


def _create_unmanaged(env: Env) -> Prepared:
    house, book = env.shelf.house, env.shelf.book
    prep = _new_unmanaged(env, kind="liability", product_type="mortgage", provider_id=book.provider,
                          currency="EUR", notes="Fixed until 2027")
    body = prep.body
    prep.audit = lambda r: AuditExpect(
        "unmanaged_product.create", "unmanaged_product", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "client_group_id": house.group_id, "status": "active",
         "current_value": None, "current_value_date": None, "version": 1})
    return prep


def _patch_unmanaged(env: Env) -> Prepared:
    p = env.unmanaged()
    return Prepared(f"{UP}/{p['id']}", {"product_type": "individual_shares"}, _if_match(1),
                    audit=lambda r: AuditExpect("unmanaged_product.update", "unmanaged_product", p["id"],
                                                {"product_type": "property", "version": 1},
                                                {"product_type": "individual_shares", "version": 2},
                                                changed=["product_type"]))


def _delete_unmanaged(env: Env) -> Prepared:
    p = env.unmanaged()
    return Prepared(f"{UP}/{p['id']}", audit=lambda r: AuditExpect(
        "unmanaged_product.delete", "unmanaged_product", p["id"], {"id": p["id"], "name": p["name"]}, None))


def _sell_unmanaged(env: Env) -> Prepared:
    p = env.unmanaged()
    return Prepared(f"{UP}/{p['id']}/status", {"status": "sold", "reason": "Completed"}, audit=lambda r: AuditExpect(
        "unmanaged_product.change_status", "unmanaged_product", p["id"], {"status": "active", "version": 1},
        {"status": "sold", "reason": "Completed", "version": 2}, changed=["reason", "status"]))


def _sold_unmanaged(env: Env) -> str:
    p = env.unmanaged()
    expect_status(send(env.client, "POST", f"{UP}/{p['id']}/status", headers=env.admin,
                       body={"status": "sold", "reason": "Completed"}), 200)
    return p["id"]


def _create_unmanaged_valuation(env: Env) -> Prepared:
    p = env.unmanaged()
    body = {"valuation_date": "2023-03-31", "value": "325000.00", "source": "feed"}
    return Prepared(f"{UP}/{p['id']}/valuations", body, audit=lambda r: AuditExpect(
        "unmanaged_valuation.create", "unmanaged_valuation", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "unmanaged_product_id": p["id"], "version": 1}))


def _unmanaged_valuation_of(body: dict[str, Any]) -> Callable[[Env], Prepared]:
    return lambda e: Prepared(f"{UP}/{e.unmanaged()['id']}/valuations", body)


def _bulk_unmanaged(env: Env) -> Prepared:
    p = env.unmanaged()
    rows = [{"valuation_date": "2023-01-31", "value": "300000.00"},
            {"valuation_date": "2023-02-28", "value": "301000.00", "source": "import"}]
    return Prepared(f"{UP}/{p['id']}/valuations:bulk", {"valuations": rows}, audit=lambda r: AuditExpect(
        "unmanaged_product.bulk_valuations", "unmanaged_product", p["id"], None,
        {"written": 2, "from": "2023-01-31", "to": "2023-02-28"}))


def _bulk_unmanaged_failing(bad: dict[str, Any]) -> Callable[[Env], Prepared]:
    return lambda e: Prepared(f"{UP}/{e.unmanaged()['id']}/valuations:bulk", {"valuations": [
        {"valuation_date": "2022-01-31", "value": "1.00"}, bad]})


def _delete_unmanaged_valuation(env: Env) -> Prepared:
    v = env.unmanaged_valuation()
    return Prepared(f"{UVS}/{v['id']}", audit=lambda r: AuditExpect(
        "unmanaged_valuation.delete", "unmanaged_valuation", v["id"],
        {"id": v["id"], "valuation_date": "2023-03-31", "value": "250000.00"}, None))


def _put_fx_rate(env: Env) -> Prepared:
    body = {"currency": "USD", "rate_date": _fresh_rate_day(), "rate": "0.7925"}
    return Prepared(FXR, body, audit=lambda r: AuditExpect(
        "fx_rate.create", "fx_rate", r.json_body["id"], None,
        {**body, "rate": "0.7925000000", "id": r.json_body["id"], "version": 1}))


def _put_fx_rates(env: Env) -> Prepared:
    day, other = _fresh_rate_day(), _fresh_rate_day()
    rows = [{"currency": "USD", "rate_date": day, "rate": "0.7925"},
            {"currency": "EUR", "rate_date": day, "rate": "0.8550"},
            {"currency": "EUR", "rate_date": other, "rate": "0.8560"}]
    return Prepared(f"{FXR}:bulk", {"rates": rows}, audit=lambda r: AuditExpect(
        "firm.bulk_fx_rates", "firm", str(env.firm.id), None,
        {"written": 3, "created": 3, "replaced": 0, "currencies": ["EUR", "USD"], "from": day, "to": other}))


def _fx_rate_failing(**bad: Any) -> Callable[[Env], Prepared]:
    return lambda e: Prepared(FXR, {"currency": "USD", "rate_date": _fresh_rate_day(), "rate": "0.79", **bad})


def _fx_rates_failing(second: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[Env], Prepared]:
    def prepare(env: Env) -> Prepared:
        first = {"currency": "USD", "rate_date": _fresh_rate_day(), "rate": "0.79"}
        return Prepared(f"{FXR}:bulk", {"rates": [first, second(first)]})
    return prepare


# managed products: what lists without ids show, as strings the owner's SQL can make too

_MONEY_IN = "('investment', 'regular_investment', 'tax_uplift', 'switch_in')"
_MONEY_OUT = "('withdrawal', 'regular_withdrawal', 'switch_out')"


def _flows_of(where: str, params: Any, end_value_sql: str) -> set[str]:
    """The investor flows the owner sees (money in negative, out positive; fees and dividends are not flows),
    and the end valuation as the last flow, each as "date=amount"."""
    flows = ids_of(
        "SELECT a.activity_date::text || '=' || (CASE WHEN a.activity_type IN " + _MONEY_IN + " THEN -a.amount "
        "ELSE a.amount END)::text FROM holding_activity a JOIN portfolio_funds pf ON pf.id = a.portfolio_fund_id "
        "JOIN products p ON p.id = pf.product_id WHERE (a.activity_type IN " + _MONEY_IN + " OR a.activity_type IN "
        + _MONEY_OUT + ") AND " + where, params)
    return flows | ids_of(end_value_sql, params)


def _shown_flows(body: Any) -> list[str]:
    assert body["irr"] is not None and body["method"] == "xirr", body
    return [f"{f['date']}={f['amount']}" for f in body["flows"]]


def _fund_flows(t: Tenants, firm: Firm) -> set[str]:
    return _flows_of("pf.id = %(id)s", {"id": t.book_of(firm).pf},
                     "SELECT valuation_date::text || '=' || value::text FROM fund_valuations "
                     "WHERE portfolio_fund_id = %(id)s ORDER BY valuation_date DESC LIMIT 1")


def _product_flows(t: Tenants, firm: Firm) -> set[str]:
    return _flows_of("p.id = %(id)s", {"id": t.book_of(firm).product},
                     "SELECT valuation_date::text || '=' || value::text FROM portfolio_valuations "
                     "WHERE product_id = %(id)s ORDER BY valuation_date DESC LIMIT 1")


def _group_flows(t: Tenants, firm: Firm) -> set[str]:
    return _flows_of("p.client_group_id = %(id)s AND p.status = 'active'", {"id": t.house_of(firm).group_id},
                     "SELECT max(d)::text || '=' || sum(value)::text FROM (SELECT DISTINCT ON (v.product_id) "
                     "v.valuation_date AS d, v.value FROM portfolio_valuations v "
                     "JOIN products p ON p.id = v.product_id "
                     "WHERE p.client_group_id = %(id)s AND p.status = 'active' "
                     "ORDER BY v.product_id, v.valuation_date DESC) latest")


def _irr_history_shown(body: Any) -> list[str]:
    return [f"{i['valuation_date']}/{i['method']}/{i['irr'] if i['irr'] is not None else i['reason']}"
            for i in body["items"]]


def _irr_history_rows(t: Tenants, firm: Firm) -> set[str]:
    return ids_of("SELECT valuation_date::text || '/' || method || '/' || coalesce(irr::text, reason) "
                  "FROM irr_values WHERE scope = 'product' AND scope_id = %s", (t.book_of(firm).product,))


_LIVE_REVENUE = ("SELECT count(*)::text || ' products, ' || coalesce(sum(round(p.fixed_fee_direct "
                 "+ p.fixed_fee_facilitated + coalesce(v.value, 0) * p.percentage_fee_facilitated / 100, 2)), 0)::text "
                 "FROM products p LEFT JOIN LATERAL (SELECT value FROM portfolio_valuations pv "
                 "WHERE pv.product_id = p.id "
                 "ORDER BY pv.valuation_date DESC LIMIT 1) v ON true WHERE p.status = 'active' AND ")


def _revenue_shown(body: Any) -> list[str]:
    return [f"{body['products']} products, {body['revenue']}"]


def _dashboard_shown(body: Any) -> list[str]:
    """The providers and advisers the dashboard breaks the firm's figures down by ("none" is no one's)."""
    return [r["key"] for r in body["by_provider"] + body["by_adviser"] if r["key"] != "none"]


def _search_rows(t: Tenants, firm: Firm) -> set[str]:
    return ids_of("SELECT id FROM client_groups WHERE firm_id = %(f)s AND name ILIKE %(q)s "
                  "UNION ALL SELECT id FROM product_owners WHERE firm_id = %(f)s AND (first_name || ' ' || surname "
                  "|| ' ' || coalesce(known_as, '')) ILIKE %(q)s "
                  "UNION ALL SELECT id FROM products WHERE firm_id = %(f)s "
                  "AND (name ILIKE %(q)s OR plan_number ILIKE %(q)s) "
                  "UNION ALL SELECT id FROM funds WHERE firm_id = %(f)s AND (name ILIKE %(q)s OR isin ILIKE %(q)s) "
                  "UNION ALL SELECT id FROM providers WHERE firm_id = %(f)s AND name ILIKE %(q)s",
                  {"f": firm.id, "q": f"%{t.search_token}%"})


def _overview_shown(body: Any) -> list[str]:
    """The products and portfolio funds (listed one by one or among the previous funds) an overview shows."""
    shown = []
    for product in body["products"]:
        shown.append(product["id"])
        shown += [f["portfolio_fund_id"] for f in product["funds"]]
        shown += (product["previous_funds"] or {}).get("portfolio_fund_ids", [])
    return shown


def _overview_rows(t: Tenants, firm: Firm) -> set[str]:
    return ids_of("SELECT p.id FROM products p WHERE p.client_group_id = %(g)s UNION ALL SELECT pf.id "
                  "FROM portfolio_funds pf JOIN products p ON p.id = pf.product_id WHERE p.client_group_id = %(g)s",
                  {"g": t.house_of(firm).group_id})


def _selection_irr(env: Env) -> Prepared:
    return Prepared("/v1/irr", {"portfolio_fund_ids": [env.shelf.book.pf, env.shelf.book.other_pf],
                                "method": "xirr"})


# information items and actions

II, AC = "/v1/information-items", "/v1/actions"


def _items_of(group_id: Any) -> str:
    return f"{G}/{group_id}/information-items"


def _actions_of(group_id: Any) -> str:
    return f"{G}/{group_id}/actions"


def _new_item(env: Env, **fields: Any) -> Prepared:
    """A valid item body for the shelf's household (an assets item owned by its member), `fields` on top."""
    house = env.shelf.house
    body = {"item_type": "assets_liabilities", "item_category": "Property",
            "associated_product_owners": individual_owner(house.owner_id),
            "data_content": {"address": "1 Mill Lane", "latest_valuation": "350000.00", "valuation_date": "2024-03-31"},
            **fields}
    return Prepared(_items_of(house.group_id), body)


def _create_item(env: Env) -> Prepared:
    prep, group = _new_item(env), env.shelf.house.group_id
    body = prep.body
    prep.audit = lambda r: AuditExpect("information_item.create", "information_item", r.json_body["id"], None,
                                       {**body, "id": r.json_body["id"], "client_group_id": group, "version": 1})
    return prep


def _batch_items(env: Env) -> Prepared:
    group = env.shelf.house.group_id
    items = [_new_item(env).body, {"item_type": "vulnerability_health", "item_category": "Health",
                                   "data_content": {"condition": "hearing loss", "diagnosis_date": "2020-02-02"}}]
    return Prepared(f"{_items_of(group)}:batch", {"items": items}, audit=lambda r: AuditExpect(
        "client_group.information_items_batch", "client_group", group, None,
        {"written": 2, "ids": r.json_body["ids"]}))


def _batch_failing(third: Callable[[Env], dict[str, Any]]) -> Callable[[Env], Prepared]:
    """Two good items, then `third(env)`."""
    def prepare(env: Env) -> Prepared:
        good = _new_item(env).body
        return Prepared(f"{_items_of(env.shelf.house.group_id)}:batch", {"items": [good, good, third(env)]})
    return prepare


def _patch_item(env: Env) -> Prepared:
    item = env.item()
    return Prepared(f"{II}/{item['id']}", {"item_category": "Family"}, _if_match(1), audit=lambda r: AuditExpect(
        "information_item.update", "information_item", item["id"], {"item_category": "Personal", "version": 1},
        {"item_category": "Family", "version": 2}, changed=["item_category"]))


def _delete_item(env: Env) -> Prepared:
    item = env.item(data_content={"nationality": "Irish"})
    return Prepared(f"{II}/{item['id']}", audit=lambda r: AuditExpect(
        "information_item.delete", "information_item", item["id"],
        {"id": item["id"], "data_content": {"nationality": "Irish"}}, None))


def _create_action(env: Env) -> Prepared:
    group = env.shelf.house.group_id
    body = {"action_name": "Chase the pension transfer", "description": "Call the provider", "owner": "adviser",
            "target_date": "2031-03-31"}
    return Prepared(_actions_of(group), body, audit=lambda r: AuditExpect(
        "action.create", "action", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "client_group_id": group, "status": "outstanding", "completed_at": None,
         "version": 1}))


def _patch_action(env: Env) -> Prepared:
    action = env.action()
    return Prepared(f"{AC}/{action['id']}", {"status": "cancelled"}, _if_match(1), audit=lambda r: AuditExpect(
        "action.update", "action", action["id"], {"status": "outstanding", "version": 1},
        {"status": "cancelled", "version": 2}, changed=["status"]))


def _delete_action(env: Env) -> Prepared:
    action = env.action()
    return Prepared(f"{AC}/{action['id']}", audit=lambda r: AuditExpect(
        "action.delete", "action", action["id"], {"id": action["id"], "status": "outstanding"}, None))


def _completed_action(env: Env) -> str:
    action = env.action()
    expect_status(send(env.client, "POST", f"{AC}/{action['id']}/complete", headers=env.admin), 200)
    return action["id"]


def _complete_action(env: Env) -> Prepared:
    action = env.action()
    return Prepared(f"{AC}/{action['id']}/complete", audit=lambda r: AuditExpect(
        "action.complete", "action", action["id"], {"status": "outstanding", "completed_at": None},
        {"status": "completed", "completed_at": NOT_NULL}, changed=["completed_at", "status"]))


def _reopen_action(env: Env) -> Prepared:
    action = _completed_action(env)
    return Prepared(f"{AC}/{action}/reopen", audit=lambda r: AuditExpect(
        "action.reopen", "action", action, {"status": "completed", "completed_at": NOT_NULL},
        {"status": "outstanding", "completed_at": None}, changed=["completed_at", "status"]))


# objectives

OB, OC = "/v1/objectives", "/v1/objective-contributions"


def _objectives_of(group_id: Any) -> str:
    return f"{G}/{group_id}/objectives"


def _create_objective(env: Env) -> Prepared:
    group = env.shelf.house.group_id
    body = {"title": "Retire at 60", "priority": 2, "target_amount": "400000.00", "target_date": "2040-06-30",
            "assumed_annual_return": "0.0500", "product_ids": [env.shelf.book.product]}
    return Prepared(_objectives_of(group), body, audit=lambda r: AuditExpect(
        "objective.create", "objective", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "client_group_id": group, "currency": "GBP", "status": "active",
         "progress_percentage": None, "unmanaged_product_ids": [], "version": 1}))


def _patch_objective(env: Env) -> Prepared:
    goal = env.goal()
    return Prepared(f"{OB}/{goal['id']}", {"priority": 1, "target_amount": "60000.00"}, _if_match(1),
                    audit=lambda r: AuditExpect(
                        "objective.update", "objective", goal["id"],
                        {"priority": 3, "target_amount": "50000.00", "version": 1},
                        {"priority": 1, "target_amount": "60000.00", "version": 2},
                        changed=["priority", "target_amount"]))


def _delete_objective(env: Env) -> Prepared:
    goal = env.goal()
    return Prepared(f"{OB}/{goal['id']}", audit=lambda r: AuditExpect(
        "objective.delete", "objective", goal["id"],
        {"id": goal["id"], "product_ids": [env.shelf.book.product]}, None))


def _create_contribution(env: Env) -> Prepared:
    goal = env.goal()
    body = {"amount": "300.00", "contribution_date": "2024-03-31", "note": "Bonus"}
    return Prepared(f"{OB}/{goal['id']}/contributions", body, audit=lambda r: AuditExpect(
        "objective_contribution.create", "objective_contribution", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "objective_id": goal["id"]}))


def _delete_contribution(env: Env) -> Prepared:
    made = env.contribution()
    return Prepared(f"{OC}/{made['id']}", audit=lambda r: AuditExpect(
        "objective_contribution.delete", "objective_contribution", made["id"],
        {"id": made["id"], "amount": "125.00"}, None))


def _objective_of(t: Tenants, firm: Firm) -> str:
    """The firm's money goal made by the tenants fixture (in its house, with a contribution)."""
    return ids_of("SELECT o.id FROM objectives o WHERE o.client_group_id = %s AND o.title = 'School fees'",
                  (t.house_of(firm).group_id,)).pop()


def _other_households_product(env: Env) -> str:
    return create_product(env.client, env.admin, env.household())["id"]


# retention policies and a person's export and erasure

RP = "/v1/ops/retention-policies"


def _policy_of(firm_id: Any, table: str = "notifications", condition: str = "any") -> str:
    return str(owner_sql("SELECT id FROM data_retention_policies WHERE firm_id = %s AND table_name = %s "
                         "AND condition = %s", (firm_id, table, condition))[0]["id"])


def _create_policy(env: Env) -> Prepared:
    # every firm has one policy per table and condition: the one this call makes is cleared first
    owner_sql("DELETE FROM data_retention_policies WHERE firm_id = %s AND table_name = 'notifications' "
              "AND condition = 'read'", (env.firm.id,))
    body = {"table_name": "notifications", "condition": "read", "period": "14 days", "action": "delete"}
    return Prepared(RP, body, audit=lambda r: AuditExpect(
        "retention_policy.create", "retention_policy", r.json_body["id"], None,
        {**body, "id": r.json_body["id"], "schedule": "daily", "enabled": True, "version": 1}))


def _patch_policy(env: Env) -> Prepared:
    policy = _policy_of(env.firm.id)
    [row] = owner_sql("SELECT retention_period_text(period) AS period, version FROM data_retention_policies "
                      "WHERE id = %s", (policy,))
    period = "45 days" if row["period"] != "45 days" else "60 days"
    return Prepared(f"{RP}/{policy}", {"period": period}, _if_match(row["version"]), audit=lambda r: AuditExpect(
        "retention_policy.update", "retention_policy", policy, {"period": row["period"], "version": row["version"]},
        {"period": period, "version": row["version"] + 1}, changed=["period"]))


def _export_owner(env: Env) -> Prepared:
    o = env.owner()
    sections = {"client_groups": 0, "ownership": 0, "products": 0, "unmanaged_products": 0, "information_items": 0,
                "actions": 0, "audit_events": 1}
    return Prepared(f"{OWNERS_PATH}/{o['id']}/export", audit=lambda r: AuditExpect(
        "product_owner.export", "product_owner", o["id"], None, {"sections": sections}))


def _erase_owner(env: Env) -> Prepared:
    o = env.owner(email=unique_email("leaver"))
    return Prepared(f"{OWNERS_PATH}/{o['id']}/erase", audit=lambda r: AuditExpect(
        "product_owner.erase", "product_owner", o["id"],
        {"first_name": "(erased)", "surname": "(erased)", "email": "(erased)", "erased_at": None},
        {"first_name": "Erased", "surname": "Erased", "email": None, "erased_at": NOT_NULL}))


def _held_owner(env: Env) -> Prepared:
    o = env.owner()
    expect_status(send(env.client, "PATCH", f"{OWNERS_PATH}/{o['id']}", headers={**env.admin, **_if_match(1)},
                       body={"retention_hold": True}), 200)
    return Prepared(f"{OWNERS_PATH}/{o['id']}/erase")


def _of_book(table: str, column: str, attr: str) -> Callable[[Tenants, Firm], set[str]]:
    return lambda t, firm: ids_of(f"SELECT id FROM {table} WHERE {column} = %s", (getattr(t.book_of(firm), attr),))


# net worth

NW_STATEMENTS = "/v1/networth-statements"


def _statements_of(group_id: Any) -> str:
    return f"{G}/{group_id}/networth-statements"


def _statement_of(client: Any, auth: dict[str, str], group_id: Any) -> str:
    return expect_status(send(client, "POST", _statements_of(group_id), headers=auth,
                              body={"name": unique("Review")}), 201)["id"]


_SHELF_STATEMENTS: dict[Any, str] = {}


def _shelf_statement(env: Env) -> str:
    """A statement of the shelf's household, made once per firm."""
    if env.firm.id not in _SHELF_STATEMENTS:
        _SHELF_STATEMENTS[env.firm.id] = _statement_of(env.client, env.admin, env.shelf.house.group_id)
    return _SHELF_STATEMENTS[env.firm.id]


def _snapshot_yesterday() -> None:
    from chalicelib.ops.jobs import run_job

    assert run_job("networth-snapshots", trigger="manual").status == "succeeded"


def _create_statement(env: Env) -> Prepared:
    house, name = env.shelf.house, unique("Annual review")
    return Prepared(_statements_of(house.group_id), {"name": name}, audit=lambda r: AuditExpect(
        "networth_statement.create", "networth_statement", r.json_body["id"], None,
        {"id": r.json_body["id"], "client_group_id": house.group_id, "name": name, "as_of": r.json_body["as_of"],
         "currency": "GBP", "net_worth": r.json_body["net_worth"], "created_by": NOT_NULL if env.who else None}))


def _networth_rows(t: Tenants, firm: Firm) -> set[str]:
    """The household's holdings that count today: its managed products active, started and not ended, its active
    unmanaged products (each of them has a rate), its valued assets-and-liabilities items (recorded by today)."""
    return ids_of("SELECT id FROM products WHERE client_group_id = %(g)s AND status = 'active' "
                  "AND start_date <= CURRENT_DATE AND (end_date IS NULL OR end_date >= CURRENT_DATE) "
                  "UNION ALL SELECT id FROM unmanaged_products WHERE client_group_id = %(g)s AND status = 'active' "
                  "UNION ALL SELECT id FROM information_items WHERE client_group_id = %(g)s "
                  "AND item_type = 'assets_liabilities' AND data_content ->> 'latest_valuation' IS NOT NULL",
                  {"g": t.house_of(firm).group_id})


def _history_rows(t: Tenants, firm: Firm) -> set[str]:
    """The household's snapshots of the last 29 days and today's figure, each "date=net worth": everything it
    holds is owned outright, so today's figure is its managed products' latest valuations, its unmanaged
    products' latest valuations, each converted at the firm's latest rate and rounded to the penny, liabilities
    taken off, and its valued items (a property, in the firm's currency)."""
    group = t.house_of(firm).group_id
    return ids_of(
        "SELECT snapshot_date::text || '=' || net_worth::text FROM networth_snapshots "
        "WHERE client_group_id = %(g)s AND snapshot_date >= CURRENT_DATE - 29 AND snapshot_date < CURRENT_DATE "
        "UNION ALL SELECT CURRENT_DATE::text || '=' || ("
        " (SELECT coalesce(sum(v.value), 0.00) FROM products p LEFT JOIN LATERAL (SELECT value FROM "
        "  portfolio_valuations pv WHERE pv.product_id = p.id ORDER BY pv.valuation_date DESC LIMIT 1) v ON true "
        "  WHERE p.client_group_id = %(g)s AND p.status = 'active')"
        " + (SELECT coalesce(sum(CASE u.kind WHEN 'asset' THEN 1 ELSE -1 END * round(v.value * CASE "
        "  WHEN u.currency = f.base_currency THEN 1 ELSE (SELECT r.rate FROM fx_rates r WHERE r.firm_id = u.firm_id "
        "  AND r.currency = u.currency AND r.rate_date <= CURRENT_DATE ORDER BY r.rate_date DESC LIMIT 1) END, 2)), "
        "  0.00) "
        "  FROM unmanaged_products u JOIN firms f ON f.id = u.firm_id LEFT JOIN LATERAL (SELECT value FROM "
        "  unmanaged_valuations x WHERE x.unmanaged_product_id = u.id ORDER BY x.valuation_date DESC LIMIT 1) v "
        "  ON true WHERE u.client_group_id = %(g)s AND u.status = 'active')"
        " + (SELECT coalesce(sum((i.data_content ->> 'latest_valuation')::numeric), 0.00) FROM information_items i "
        "  WHERE i.client_group_id = %(g)s AND i.item_type = 'assets_liabilities'))::text", {"g": group})


# financial planning

CS, PM, PL = "/v1/cma-sets", "/v1/portfolio-models", "/v1/plans"
_PLANNING: dict[Any, Planning] = {}
BORN = "1969-11-03"  # the shelf's and tenants' people have no date of birth on record: plans give it


def _planning(env: Env) -> Planning:
    """The firm's approved set, a draft set and two models on the approved one, made once per firm."""
    if env.firm.id not in _PLANNING:
        _PLANNING[env.firm.id] = Planning(env.client, env.admin)
    return _PLANNING[env.firm.id]


def _draft(env: Env) -> dict[str, Any]:
    return create_cma_set(env.client, env.admin)


def _plans_of(group_id: Any) -> str:
    return f"{G}/{group_id}/plans"


def _inputs(house: Household, cma_id: Any, model_id: Any, **fields: Any) -> dict[str, Any]:
    return plan_inputs(house, cma_id, model_id, BORN, **fields)


def _shelf_plan(env: Env) -> dict[str, Any]:
    p = _planning(env)
    return create_plan(env.client, env.admin, env.shelf.house, p.cma["id"], p.model["id"], BORN)


def _create_cma_set(env: Env) -> Prepared:
    body = cma_body()
    return Prepared(CS, body, audit=lambda r: AuditExpect(
        "cma_set.create", "cma_set", r.json_body["id"], None,
        {"id": r.json_body["id"], "name": body["name"], "status": "draft", "set_version": 1, "version": 1}))


def _patch_cma_set(env: Env) -> Prepared:
    draft = _draft(env)
    return Prepared(f"{CS}/{draft['id']}", {"inflation": "0.031"}, _if_match(1), audit=lambda r: AuditExpect(
        "cma_set.update", "cma_set", draft["id"], {"status": "draft", "version": 1},
        {"status": "draft", "version": 2}, changed=["inflation"]))


def _approve_cma_set(env: Env) -> Prepared:
    draft = _draft(env)
    return Prepared(f"{CS}/{draft['id']}/approve", audit=lambda r: AuditExpect(
        "cma_set.approve", "cma_set", draft["id"], {"status": "draft", "approved_by": None},
        {"status": "approved", "approved_by": NOT_NULL}, changed=["approved_at", "approved_by", "status"]))


def _new_cma_version(env: Env) -> Prepared:
    base = _planning(env).cma
    return Prepared(f"{CS}/{base['id']}/versions", audit=lambda r: AuditExpect(
        "cma_set.new_version", "cma_set", r.json_body["id"], None,
        {"id": r.json_body["id"], "parent_id": base["id"], "root_id": base["id"], "status": "draft"}))


def _model_body(env: Env, **fields: Any) -> dict[str, Any]:
    return {"name": unique("Cautious"), "risk_level": 3, "cma_set_id": _planning(env).cma["id"],
            "allocations": [{"asset_class": "equity", "weight": "35.00"}, {"asset_class": "bonds", "weight": "65.00"}],
            **fields}


def _create_model(env: Env) -> Prepared:
    body = _model_body(env)
    return Prepared(PM, body, audit=lambda r: AuditExpect(
        "portfolio_model.create", "portfolio_model", r.json_body["id"], None,
        {"id": r.json_body["id"], "name": body["name"], "risk_level": 3, "cma_set_id": body["cma_set_id"]}))


def _fresh_model(env: Env) -> dict[str, Any]:
    return create_portfolio_model(env.client, env.admin, _planning(env).cma["id"])


def _patch_model(env: Env) -> Prepared:
    model = _fresh_model(env)
    return Prepared(f"{PM}/{model['id']}", {"risk_level": 7}, _if_match(1), audit=lambda r: AuditExpect(
        "portfolio_model.update", "portfolio_model", model["id"], {"risk_level": 5, "version": 1},
        {"risk_level": 7, "version": 2}, changed=["risk_level"]))


def _new_plan(env: Env, **fields: Any) -> Prepared:
    p, house = _planning(env), env.shelf.house
    return Prepared(_plans_of(house.group_id), {"name": unique("Plan"),
                                                "inputs": _inputs(house, p.cma["id"], p.model["id"], **fields)})


def _create_plan(env: Env) -> Prepared:
    prep, house = _new_plan(env), env.shelf.house
    prep.audit = lambda r: AuditExpect("plan.create", "plan", r.json_body["id"], None, {
        "id": r.json_body["id"], "client_group_id": house.group_id, "version": 1, "parent_plan_id": None,
        "created_by": NOT_NULL if env.who else None})
    return prep


def _new_version_of(env: Env, plan: dict[str, Any], **fields: Any) -> Prepared:
    p = _planning(env)
    return Prepared(f"{PL}/{plan['id']}/versions",
                    {"inputs": _inputs(env.shelf.house, p.cma["id"], p.model["id"], **fields)})


def _create_plan_version(env: Env) -> Prepared:
    plan = _shelf_plan(env)
    prep = _new_version_of(env, plan, horizon_years=25)
    prep.audit = lambda r: AuditExpect("plan.new_version", "plan", r.json_body["id"], None, {
        "id": r.json_body["id"], "parent_plan_id": plan["id"], "root_plan_id": plan["id"], "version": 2})
    return prep


_RUNS: dict[Any, dict[str, str]] = {}


def _shelf_run(env: Env) -> dict[str, str]:
    """A succeeded run of a small plan of the firm's shelf household (made once per firm)."""
    if env.firm.id not in _RUNS:
        from chalicelib.planning.runs import service as runs

        p = _planning(env)
        plan = create_plan(env.client, env.admin, env.shelf.house, p.cma["id"], p.model["id"], BORN,
                           iterations=1000, steps="yearly")
        made = expect_status(send(env.client, "POST", f"{PL}/{plan['id']}/runs", headers=env.admin,
                                  body={"stresses": []}), 202)
        assert runs.execute(uuid.UUID(made["id"]), env.firm.id)["status"] == "succeeded"
        _RUNS[env.firm.id] = {"plan_id": plan["id"], "id": made["id"]}
    return _RUNS[env.firm.id]


def _run_path(env: Env) -> str:
    run = _shelf_run(env)
    return f"{PL}/{run['plan_id']}/runs/{run['id']}"


def _new_run(env: Env, **fields: Any) -> Prepared:
    return Prepared(f"{PL}/{_shelf_run(env)['plan_id']}/runs", {"stresses": [], **fields})


def _create_run(env: Env) -> Prepared:
    prep = _new_run(env)
    plan_id = _shelf_run(env)["plan_id"]
    prep.audit = lambda r: AuditExpect("plan_run.create", "plan_run", r.json_body["id"], None, {
        "id": r.json_body["id"], "plan_id": plan_id})
    return prep


def _foreign_plan_body(t: Tenants) -> dict[str, Any]:
    return {"name": "Planted", "inputs": _inputs(t.b_house, uuid.uuid4(), uuid.uuid4())}


def _latest_plans(t: Tenants, firm: Firm) -> set[str]:
    return ids_of("SELECT id FROM plans p WHERE client_group_id = %s AND NOT EXISTS (SELECT 1 FROM plans q "
                  "WHERE q.root_plan_id = p.root_plan_id AND q.version > p.version)", (t.house_of(firm).group_id,))


EXPECTATIONS: dict[tuple[str, str], Route] = {
    # --- client groups ---
    ("GET", "/v1/client-groups"): Route(
        READ, 200, _get(G),
        listing=Listing(lambda t, f: G, _firm_ids("client_groups"))),
    ("POST", "/v1/client-groups"): Route(WRITE, 201, _create_group, failures=(
        F("unknown type", 422, lambda e: Prepared(G, {"name": unique("H"), "type": "castle"})),
        F("unknown field", 422, lambda e: Prepared(G, {"name": unique("H"), "type": "family", "colour": "red"})),
        F("adviser is a viewer", 422, lambda e: Prepared(G, {"name": unique("H"), "type": "family",
                                                             "adviser_id": str(e.firm.users["viewer"]["id"])})),
        F("not JSON", 415, lambda e: Prepared(G, '{"name": "H", "type": "family"}', {"Content-Type": "text/plain"})),
    )),
    ("GET", "/v1/client-groups/{group_id}"): Route(
        READ, 200, _get(lambda e: f"{G}/{e.group()['id']}"),
        foreign=lambda t: [Prepared(f"{G}/{t.b_house.group_id}"), Prepared(f"{G}/{t.b_empty_group}")]),
    ("PATCH", "/v1/client-groups/{group_id}"): Route(
        WRITE, 200, _patch_group,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{G}/{e.group()['id']}", {"name": "Late"}, _if_match(2))),
            F("no If-Match", 428, lambda e: Prepared(f"{G}/{e.group()['id']}", {"name": "Blind"})),
            F("null name", 422, lambda e: Prepared(f"{G}/{e.group()['id']}", {"name": None}, _if_match(1))),
            F("adviser from nowhere", 422, lambda e: Prepared(f"{G}/{e.group()['id']}",
                                                              {"adviser_id": str(uuid.uuid4())}, _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{G}/{g}", {"name": "Hijacked", "status": "inactive"},
                                    _etag_of("client_groups", g))
                           for g in (t.b_house.group_id, t.b_empty_group)]),
    ("DELETE", "/v1/client-groups/{group_id}"): Route(
        WRITE, 204, _delete_group,
        failures=(F("has members", 409, lambda e: Prepared(f"{G}/{e.household().group_id}")),),
        # B's group with members must be a 404 too, not a 409 that tells A it exists.
        foreign=lambda t: [Prepared(f"{G}/{t.b_house.group_id}"), Prepared(f"{G}/{t.b_empty_group}")]),
    ("GET", "/v1/client-groups/{group_id}/product-owners"): Route(
        READ, 200, _get(lambda e: f"{G}/{e.household().group_id}/product-owners"),
        foreign=lambda t: [Prepared(f"{G}/{t.b_house.group_id}/product-owners")],
        listing=Listing(lambda t, f: f"{G}/{t.house_of(f).group_id}/product-owners",
                        lambda t, f: ids_of("SELECT product_owner_id FROM client_group_product_owners "
                                            "WHERE client_group_id = %s", (t.house_of(f).group_id,)),
                        paged=False)),
    ("PUT", "/v1/client-groups/{group_id}/product-owners/{owner_id}"): Route(
        WRITE, 201, _add_member,
        failures=(
            F("unknown owner", 404, lambda e: Prepared(_member_path(e.group()["id"], uuid.uuid4()))),
            F("unknown group", 404, lambda e: Prepared(_member_path(uuid.uuid4(), e.owner()["id"]))),
            F("a body", 422, lambda e: Prepared(_member_path(e.group()["id"], e.owner()["id"]), {"role": "x"})),
        ),
        foreign=lambda t: [Prepared(_member_path(t.b_house.group_id, t.b_lone_owner)),
                           Prepared(_member_path(t.a_house.group_id, t.b_lone_owner)),
                           Prepared(_member_path(t.b_empty_group, t.a_house.owner_id))]),
    ("DELETE", "/v1/client-groups/{group_id}/product-owners/{owner_id}"): Route(
        WRITE, 204, _remove_member,
        failures=(F("not a member", 404, lambda e: Prepared(_member_path(e.group()["id"], e.owner()["id"]))),),
        foreign=lambda t: [Prepared(_member_path(t.b_house.group_id, t.b_house.owner_id)),
                           Prepared(_member_path(t.a_house.group_id, t.b_house.owner_id)),
                           Prepared(_member_path(t.b_house.group_id, t.a_house.owner_id))]),
    # --- product owners ---
    ("GET", "/v1/product-owners"): Route(
        READ, 200, _get(OWNERS_PATH),
        listing=Listing(lambda t, f: OWNERS_PATH, _firm_ids("product_owners"))),
    ("POST", "/v1/product-owners"): Route(WRITE, 201, _create_owner, failures=(
        F("born tomorrow", 422, lambda e: Prepared(OWNERS_PATH, {
            "first_name": "A", "surname": "B", "date_of_birth": str(date.today() + timedelta(days=1))})),
        F("no surname", 422, lambda e: Prepared(OWNERS_PATH, {"first_name": "A"})),
        F("bad email", 422, lambda e: Prepared(OWNERS_PATH, {"first_name": "A", "surname": "B",
                                                             "email": "not-an-email"})),
    )),
    ("GET", "/v1/product-owners/{owner_id}"): Route(
        READ, 200, _get(lambda e: f"{OWNERS_PATH}/{e.owner()['id']}"),
        foreign=lambda t: [Prepared(f"{OWNERS_PATH}/{t.b_house.owner_id}"),
                           Prepared(f"{OWNERS_PATH}/{t.b_lone_owner}")]),
    ("PATCH", "/v1/product-owners/{owner_id}"): Route(
        WRITE, 200, _patch_owner,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{OWNERS_PATH}/{e.owner()['id']}", {"surname": "Late"},
                                                        _if_match(5))),
            F("unknown status", 422, lambda e: Prepared(f"{OWNERS_PATH}/{e.owner()['id']}", {"status": "zombie"},
                                                        _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{OWNERS_PATH}/{o}", {"surname": "Hijacked"}, _etag_of("product_owners", o))
                           for o in (t.b_house.owner_id, t.b_lone_owner)]),
    ("DELETE", "/v1/product-owners/{owner_id}"): Route(
        WRITE, 204, _delete_owner,
        failures=(F("in a group", 409, lambda e: Prepared(f"{OWNERS_PATH}/{e.household().owner_id}")),),
        foreign=lambda t: [Prepared(f"{OWNERS_PATH}/{t.b_house.owner_id}"),
                           Prepared(f"{OWNERS_PATH}/{t.b_lone_owner}")]),
    # --- audit trail ---
    ("GET", "/v1/audit-events"): Route(
        ADMIN, 200, _get("/v1/audit-events"),
        listing=Listing(lambda t, f: "/v1/audit-events", _firm_ids("audit_events"))),
    # --- auth ---
    ("POST", "/v1/auth/login"): Route(PUBLIC, 200, _login, failures=(
        F("no password", 422, lambda e: Prepared("/v1/auth/login", {"email": e.firm.users["viewer"]["email"]})),
        F("unknown email", 401, lambda e: Prepared("/v1/auth/login", {"email": unique_email("nobody"),
                                                                       "password": PASSWORD})),
    )),
    ("POST", "/v1/auth/refresh"): Route(PUBLIC, 200, _refresh, failures=(
        F("unknown token", 401, lambda e: Prepared("/v1/auth/refresh", {"refresh_token": "wdr_" + uuid.uuid4().hex})),
        F("no token", 422, lambda e: Prepared("/v1/auth/refresh", {})),
    )),
    ("POST", "/v1/auth/logout"): Route(READ, 204, _logout, key_ok=422, failures=(
        F("a body", 422, lambda e: Prepared("/v1/auth/logout", {"everywhere": True})),
        F("an API key", 422, lambda e: Prepared("/v1/auth/logout"), who="write"),
    )),
    ("GET", "/v1/me"): Route(
        READ, 200, _get("/v1/me"), key_ok=422,
        listing=Listing(lambda t, f: "/v1/me", lambda t, firm: {str(firm.users["admin"]["id"]), str(firm.id)},
                        paged=False, extract=lambda body: [body["id"], body["firm"]["id"]])),
    ("GET", "/v1/me/sessions"): Route(
        READ, 200, _get("/v1/me/sessions"), key_ok=422,
        listing=Listing(lambda t, f: "/v1/me/sessions", _live_sessions_of_admin)),
    ("DELETE", "/v1/me/sessions/{session_id}"): Route(
        READ, 204, _end_session, key_ok=422,
        failures=(F("unknown session", 404, lambda e: Prepared(f"/v1/me/sessions/{uuid.uuid4()}")),
                  F("a colleague's session", 404,
                    lambda e: Prepared(f"/v1/me/sessions/{_token_chain(e.firm.tokens['analyst'])}"))),
        foreign=lambda t: [Prepared(f"/v1/me/sessions/{_token_chain(t.b.tokens['admin'])}"),
                           Prepared(f"/v1/me/sessions/{_token_chain(t.b.tokens['viewer'])}")]),
    # --- two-factor sign-in, the firm's settings, notifications ---
    ("POST", "/v1/auth/2fa"): Route(PUBLIC, 200, _second_step, failures=(
        F("no code", 422, lambda e: Prepared("/v1/auth/2fa", {"challenge": "wdc_" + uuid.uuid4().hex})),
        F("unknown challenge", 401, lambda e: Prepared("/v1/auth/2fa", {"challenge": "wdc_" + uuid.uuid4().hex,
                                                                         "code": "123456"})),
    )),
    ("POST", "/v1/auth/2fa/enrol"): Route(PUBLIC, 200, _enrol_at_login, failures=(
        F("unknown challenge", 401, lambda e: Prepared("/v1/auth/2fa/enrol", {"challenge": "wdc_" + uuid.uuid4().hex})),
        F("a code too", 422, lambda e: Prepared("/v1/auth/2fa/enrol", {"challenge": "wdc_x", "code": "123456"})),
    )),
    ("POST", "/v1/auth/2fa/enrol/confirm"): Route(PUBLIC, 200, _confirm_at_login, failures=(
        F("unknown challenge", 401, lambda e: Prepared("/v1/auth/2fa/enrol/confirm",
                                                       {"challenge": "wdc_" + uuid.uuid4().hex, "code": "123456"})),
        F("no code", 422, lambda e: Prepared("/v1/auth/2fa/enrol/confirm", {"challenge": "wdc_x"})),
    )),
    ("GET", "/v1/me/2fa"): Route(
        READ, 200, _get("/v1/me/2fa"), key_ok=422,
        # the status names no row: an empty listing, for both firms alike
        listing=Listing(lambda t, f: "/v1/me/2fa", lambda t, firm: set(), paged=False, tenant=False,
                        extract=lambda body: [])),
    ("POST", "/v1/me/2fa/enrol"): Route(READ, 200, _me_enrol, key_ok=422, failures=(
        F("already on", 409, _already_enrolled),
        F("a body", 422, lambda e: Prepared("/v1/me/2fa/enrol", {"device": "phone"})),
    )),
    ("POST", "/v1/me/2fa/confirm"): Route(READ, 200, _me_confirm, key_ok=422, failures=(
        F("nothing to confirm", 409, lambda e: Prepared("/v1/me/2fa/confirm", {"code": "123456"},
                                                        auth=_fresh_session(e)[1])),
        F("no code", 422, lambda e: Prepared("/v1/me/2fa/confirm", {})),
    )),
    ("POST", "/v1/me/2fa/disable"): Route(READ, 204, _me_disable, key_ok=422, failures=(
        F("not on", 409, lambda e: Prepared("/v1/me/2fa/disable", {"code": "123456"}, auth=_fresh_session(e)[1])),
        F("neither code", 422, lambda e: Prepared("/v1/me/2fa/disable", {})),
    )),
    ("DELETE", "/v1/users/{user_id}/2fa"): Route(
        ADMIN, 204, _reset_two_factor,
        failures=(F("not enrolled", 404, lambda e: Prepared(f"{U}/{e.user()['id']}/2fa")),
                  F("unknown user", 404, lambda e: Prepared(f"{U}/{uuid.uuid4()}/2fa"))),
        foreign=lambda t: [Prepared(f"{U}/{t.b_user}/2fa"), Prepared(f"{U}/{t.b.users['admin']['id']}/2fa")]),
    ("GET", "/v1/firm"): Route(
        READ, 200, _get("/v1/firm"),
        listing=Listing(lambda t, f: "/v1/firm", lambda t, firm: {str(firm.id)}, paged=False,
                        extract=lambda body: [body["id"]])),
    ("PATCH", "/v1/firm"): Route(ADMIN, 200, _patch_firm, failures=(
        F("stale If-Match", 412, lambda e: Prepared("/v1/firm", {"name": "Late"}, _if_match(0))),
        F("require two-factor, not enrolled", 409, lambda e: Prepared(
            "/v1/firm", {"require_two_factor": True}, _if_match(row_version("firms", e.firm.id)))),
    )),
    ("GET", "/v1/notifications"): Route(
        READ, 200, _get("/v1/notifications"), key_ok=422,
        listing=Listing(lambda t, f: "/v1/notifications", lambda t, firm: ids_of(
            "SELECT id FROM notifications WHERE user_id = %s", (firm.users["admin"]["id"],)))),
    ("POST", "/v1/notifications/{notification_id}/read"): Route(
        READ, 204, _read_notification, key_ok=404,
        failures=(F("unknown notification", 404, lambda e: Prepared(f"/v1/notifications/{uuid.uuid4()}/read")),
                  F("a body", 422, lambda e: Prepared(f"/v1/notifications/{uuid.uuid4()}/read", {"x": 1}))),
        foreign=lambda t: [Prepared(f"/v1/notifications/{t.b_notification}/read")]),
    # --- users ---
    ("GET", "/v1/users"): Route(
        ADMIN, 200, _get(U),
        listing=Listing(lambda t, f: U, _firm_ids("users"))),
    ("POST", "/v1/users"): Route(ADMIN, 201, _create_user, failures=(
        F("email taken", 409, lambda e: Prepared(U, {"email": e.firm.users["viewer"]["email"], "name": "Twin",
                                                     "role": "viewer"})),
        F("short password", 422, lambda e: Prepared(U, {"email": unique_email(), "name": "Shorty",
                                                        "role": "viewer", "password": "short"})),
        F("unknown role", 422, lambda e: Prepared(U, {"email": unique_email(), "name": "Boss", "role": "owner"})),
    )),
    ("GET", "/v1/users/{user_id}"): Route(
        ADMIN, 200, _get(lambda e: f"{U}/{e.firm.users['viewer']['id']}"),
        foreign=lambda t: [Prepared(f"{U}/{t.b_user}"), Prepared(f"{U}/{t.b.users['admin']['id']}")]),
    ("PATCH", "/v1/users/{user_id}"): Route(
        ADMIN, 200, _patch_user,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{U}/{e.user()['id']}", {"name": "Late"}, _if_match(2))),
            F("admin demotes self", 409, _self_demotion),
            F("unknown role", 422, lambda e: Prepared(f"{U}/{e.user()['id']}", {"role": "owner"}, _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{U}/{t.b_user}", {"name": "Hijacked", "role": "admin"},
                                    _etag_of("users", t.b_user))]),
    # --- API keys ---
    ("GET", "/v1/api-keys"): Route(
        ADMIN, 200, _get(K),
        listing=Listing(lambda t, f: K, _firm_ids("api_keys"))),
    ("POST", "/v1/api-keys"): Route(ADMIN, 201, _create_key, failures=(
        F("expired already", 422, lambda e: Prepared(K, {"name": "old", "scopes": ["read"],
                                                         "expires_at": "2020-01-01T00:00:00Z"})),
        F("unknown scope", 422, lambda e: Prepared(K, {"name": "root", "scopes": ["admin"]})),
    )),
    ("DELETE", "/v1/api-keys/{key_id}"): Route(
        ADMIN, 204, _revoke_key,
        failures=(F("already revoked", 404, _revoked_key),
                  F("unknown key", 404, lambda e: Prepared(f"{K}/{uuid.uuid4()}"))),
        foreign=lambda t: [Prepared(f"{K}/{t.b_key}")]),
    # --- managed products: catalogue ---
    ("GET", PV): Route(READ, 200, _get(PV), listing=Listing(lambda t, f: PV, _firm_ids("providers"))),
    ("POST", PV): Route(WRITE, 201, _create_provider, failures=(
        F("colour by name", 422, lambda e: Prepared(PV, {"name": unique("P"), "colour": "blue"})),
        F("name taken, in another case", 409, lambda e: Prepared(PV, {"name": e.provider()["name"].upper()})),
    )),
    ("GET", PV + "/{provider_id}"): Route(
        READ, 200, _get(lambda e: f"{PV}/{e.shelf.book.provider}"),
        foreign=lambda t: [Prepared(f"{PV}/{t.b_book.provider}"), Prepared(f"{PV}/{t.b_book.second_provider}")]),
    ("PATCH", PV + "/{provider_id}"): Route(
        WRITE, 200, _patch_provider,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{PV}/{e.provider()['id']}", {"name": "Late"},
                                                        _if_match(2))),
            F("unknown status", 422, lambda e: Prepared(f"{PV}/{e.provider()['id']}", {"status": "gone"},
                                                        _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{PV}/{p}", {"name": "Hijacked"}, _etag_of("providers", p))
                           for p in (t.b_book.provider, t.b_book.second_provider)]),
    ("DELETE", PV + "/{provider_id}"): Route(
        WRITE, 204, _delete_provider,
        failures=(F("a product uses it", 409, _used_provider),
                  F("unknown provider", 404, lambda e: Prepared(f"{PV}/{uuid.uuid4()}"))),
        foreign=lambda t: [Prepared(f"{PV}/{t.b_book.provider}"), Prepared(f"{PV}/{t.b_book.second_provider}")]),
    ("GET", FD): Route(READ, 200, _get(FD), listing=Listing(lambda t, f: FD, _firm_ids("funds"))),
    ("POST", FD): Route(WRITE, 201, _create_fund, failures=(
        F("ISIN with a wrong check digit", 422, _wrong_check_digit),
        F("lower-case ISIN", 422, lambda e: Prepared(FD, {"name": unique("F"), "isin": unique_isin().lower()})),
        F("risk factor 8", 422, lambda e: Prepared(FD, {"name": unique("F"), "risk_factor": 8})),
        F("ISIN taken", 409, lambda e: Prepared(FD, {"name": unique("F"), "isin": e.fund()["isin"]})),
    )),
    ("GET", FD + "/{fund_id}"): Route(
        READ, 200, _get(lambda e: f"{FD}/{e.shelf.book.fund}"),
        foreign=lambda t: [Prepared(f"{FD}/{t.b_book.fund}"), Prepared(f"{FD}/{t.b_book.cash_fund}")]),
    ("PATCH", FD + "/{fund_id}"): Route(
        WRITE, 200, _patch_fund,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{FD}/{e.fund()['id']}", {"risk_factor": 5}, _if_match(2))),
            F("ISIN with a wrong check digit", 422, lambda e: Prepared(f"{FD}/{e.fund()['id']}",
                                                                       {"isin": "GB0002634947"}, _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{FD}/{f}", {"name": "Hijacked"}, _etag_of("funds", f))
                           for f in (t.b_book.fund, t.b_book.cash_fund)]),
    ("DELETE", FD + "/{fund_id}"): Route(
        WRITE, 204, _delete_fund,
        failures=(F("a portfolio holds it", 409, _held_fund),
                  F("a template generation lists it", 409, _fund_in_a_generation)),
        foreign=lambda t: [Prepared(f"{FD}/{t.b_book.fund}"), Prepared(f"{FD}/{t.b_book.cash_fund}")]),
    ("GET", TP): Route(READ, 200, _get(TP), listing=Listing(lambda t, f: TP, _firm_ids("portfolio_templates"))),
    ("POST", TP): Route(WRITE, 201, _create_template, failures=(
        F("no name", 422, lambda e: Prepared(TP, {"description": "nameless"})),
        F("unknown field", 422, lambda e: Prepared(TP, {"name": unique("T"), "funds": []})),
    )),
    ("GET", TP + "/{template_id}"): Route(
        READ, 200, _get(lambda e: f"{TP}/{e.shelf.book.template}"),
        foreign=lambda t: [Prepared(f"{TP}/{t.b_book.template}")]),
    ("PATCH", TP + "/{template_id}"): Route(
        WRITE, 200, _patch_template,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{TP}/{e.template()['id']}", {"name": "Late"},
                                                        _if_match(2))),
            F("null name", 422, lambda e: Prepared(f"{TP}/{e.template()['id']}", {"name": None}, _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{TP}/{t.b_book.template}", {"name": "Hijacked"},
                                    _etag_of("portfolio_templates", t.b_book.template))]),
    ("GET", TP + "/{template_id}/generations"): Route(
        READ, 200, _get(lambda e: f"{TP}/{e.shelf.book.template}/generations"),
        foreign=lambda t: [Prepared(f"{TP}/{t.b_book.template}/generations")],
        listing=Listing(lambda t, f: f"{TP}/{t.book_of(f).template}/generations",
                        _of_book("template_generations", "template_id", "template"), paged=False)),
    ("POST", TP + "/{template_id}/generations"): Route(
        WRITE, 201, _create_generation,
        failures=(
            F("weights sum to 99.99", 422, _generation_of(("60.00", "39.99"))),
            F("weights sum to 100.01", 422, _generation_of(("60.00", "40.00", "0.01"))),
            F("unknown fund", 422, lambda e: Prepared(f"{TP}/{e.template()['id']}/generations",
                                                      {"funds": [{"fund_id": str(uuid.uuid4()),
                                                                  "target_weighting": "100.00"}]})),
            F("one fund twice", 422, lambda e: Prepared(f"{TP}/{e.template()['id']}/generations", {"funds": [
                {"fund_id": e.shelf.book.fund, "target_weighting": "50.00"},
                {"fund_id": e.shelf.book.fund, "target_weighting": "50.00"}]})),
            F("unknown template", 404, lambda e: Prepared(f"{TP}/{uuid.uuid4()}/generations",
                                                          _generation_body(e, "100.00"))),
        ),
        foreign=lambda t: [Prepared(f"{TP}/{t.b_book.template}/generations",
                                    {"funds": [{"fund_id": t.a_book.fund, "target_weighting": "100.00"}]})]),
    # --- managed products: products ---
    ("GET", G + "/{group_id}/products"): Route(
        READ, 200, _get(lambda e: _products_of(e.shelf.house.group_id)),
        foreign=lambda t: [Prepared(_products_of(t.b_house.group_id)), Prepared(_products_of(t.b_empty_group))],
        listing=Listing(lambda t, f: _products_of(t.house_of(f).group_id),
                        lambda t, f: ids_of("SELECT id FROM products WHERE client_group_id = %s",
                                            (t.house_of(f).group_id,)))),
    ("POST", G + "/{group_id}/products"): Route(
        WRITE, 201, _create_product,
        failures=(
            F("owner not in the group", 422, lambda e: _new_product(e, ownership=_individual(e.owner()["id"]))),
            F("shares sum to 100.01", 422, _overshared_product),
            F("joint with one owner", 422, lambda e: _new_product(e, ownership={
                "association_type": "joint", "joint_owners": [e.shelf.house.owner_id]})),
            F("unknown provider", 422, lambda e: _new_product(e, provider_id=str(uuid.uuid4()))),
            F("unknown generation", 422, lambda e: _new_product(e, template_generation_id=str(uuid.uuid4()))),
            F("ends before it starts", 422, lambda e: _new_product(e, end_date="2021-04-05")),
            F("unknown product type", 422, lambda e: _new_product(e, product_type="annuity")),
            F("fee as a JSON number", 422, lambda e: _new_product(e, fixed_fee_direct=100.5)),
        ),
        foreign=lambda t: [Prepared(_products_of(t.b_house.group_id), {
            "name": "Planted", "product_type": "gia", "start_date": "2021-04-06",
            "ownership": _individual(t.b_house.owner_id)})]),
    ("GET", PR + "/{product_id}"): Route(
        READ, 200, _get(lambda e: f"{PR}/{e.shelf.book.product}"),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}")]),
    ("PATCH", PR + "/{product_id}"): Route(
        WRITE, 200, _patch_product,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{PR}/{e.product()['id']}", {"name": "Late"}, _if_match(2))),
            F("owner not in the group", 422, lambda e: Prepared(f"{PR}/{e.product()['id']}",
                                                                {"ownership": _individual(e.owner()["id"])},
                                                                _if_match(1))),
            F("ends before it starts", 422, lambda e: Prepared(f"{PR}/{e.product()['id']}",
                                                               {"end_date": "2019-12-31"}, _if_match(1))),
            F("unknown provider", 422, lambda e: Prepared(f"{PR}/{e.product()['id']}",
                                                          {"provider_id": str(uuid.uuid4())}, _if_match(1))),
            F("status by PATCH", 422, lambda e: Prepared(f"{PR}/{e.product()['id']}", {"status": "lapsed"},
                                                         _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}", {"name": "Hijacked"},
                                    _etag_of("products", t.b_book.product))]),
    ("DELETE", PR + "/{product_id}"): Route(
        WRITE, 204, _delete_product,
        failures=(F("has portfolio funds", 409, lambda e: Prepared(f"{PR}/{e.portfolio_fund()['product_id']}")),),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}")]),
    ("POST", PR + "/{product_id}/lapse"): Route(
        WRITE, 200, _lapse,
        failures=(
            F("valued above 0", 409, lambda e: Prepared(f"{PR}/{_valued_product(e, '0.01')}/lapse")),
            F("lapsed already", 409, lambda e: Prepared(f"{PR}/{_lapsed_product(e)}/lapse")),
            F("a body", 422, lambda e: Prepared(f"{PR}/{_valued_product(e, '0.00')}/lapse", {"reason": "sold"})),
        ),
        # B's product is valued above 0: a 409 would tell A it exists.
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/lapse")]),
    ("POST", PR + "/{product_id}/reactivate"): Route(
        WRITE, 200, _reactivate,
        failures=(F("active already", 409, lambda e: Prepared(f"{PR}/{e.product()['id']}/reactivate")),),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/reactivate")]),
    ("GET", PR + "/{product_id}/provider-switches"): Route(
        READ, 200, _get(lambda e: f"{PR}/{e.shelf.book.product}/provider-switches"),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/provider-switches")],
        listing=Listing(lambda t, f: f"{PR}/{t.book_of(f).product}/provider-switches",
                        _of_book("provider_switches", "product_id", "product"), paged=False)),
    ("GET", PR + "/{product_id}/funds"): Route(
        READ, 200, _get(lambda e: f"{PR}/{e.shelf.book.product}/funds"),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/funds")],
        listing=Listing(lambda t, f: f"{PR}/{t.book_of(f).product}/funds",
                        _of_book("portfolio_funds", "product_id", "product"), paged=False)),
    ("POST", PR + "/{product_id}/funds"): Route(
        WRITE, 201, _add_portfolio_fund,
        failures=(
            F("unknown fund", 422, lambda e: Prepared(f"{PR}/{e.product()['id']}/funds",
                                                      {"fund_id": str(uuid.uuid4()), "start_date": "2021-05-01"})),
            F("starts before its product", 422, lambda e: Prepared(f"{PR}/{e.product()['id']}/funds", {
                "fund_id": e.shelf.book.fund, "start_date": "2020-01-14"})),
            F("weighting above 100", 422, lambda e: Prepared(f"{PR}/{e.product()['id']}/funds", {
                "fund_id": e.shelf.book.fund, "start_date": "2021-05-01", "target_weighting": "100.01"})),
        ),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/funds",
                                    {"fund_id": t.a_book.fund, "start_date": "2024-01-01"})]),
    ("PATCH", PFS + "/{portfolio_fund_id}"): Route(
        WRITE, 200, _patch_portfolio_fund,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{PFS}/{e.portfolio_fund()['id']}",
                                                        {"target_weighting": "10.00"}, _if_match(2))),
            F("ends before it starts", 422, lambda e: Prepared(f"{PFS}/{e.portfolio_fund()['id']}",
                                                               {"end_date": "2020-01-14"}, _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{PFS}/{pf}", {"end_date": "2024-12-31"}, _etag_of("portfolio_funds", pf))
                           for pf in (t.b_book.pf, t.b_book.cash_pf)]),
    ("DELETE", PFS + "/{portfolio_fund_id}"): Route(
        WRITE, 204, _delete_portfolio_fund,
        failures=(
            F("has a valuation", 409, lambda e: Prepared(f"{PFS}/{e.valuation()['portfolio_fund_id']}")),
            F("has activity", 409, lambda e: Prepared(f"{PFS}/{e.activity()['portfolio_fund_id']}")),
        ),
        foreign=lambda t: [Prepared(f"{PFS}/{t.b_book.pf}"), Prepared(f"{PFS}/{t.b_book.cash_pf}")]),
    ("GET", PR + "/{product_id}/valuations"): Route(
        READ, 200, _get(lambda e: f"{PR}/{e.shelf.book.product}/valuations"),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/valuations")],
        listing=Listing(lambda t, f: f"{PR}/{t.book_of(f).product}/valuations",
                        lambda t, f: ids_of("SELECT valuation_date::text || '=' || value::text "
                                            "FROM portfolio_valuations WHERE product_id = %s",
                                            (t.book_of(f).product,)),
                        extract=lambda body: [f"{i['valuation_date']}={i['value']}" for i in body["items"]])),
    ("GET", PFS + "/{portfolio_fund_id}/valuations"): Route(
        READ, 200, _get(lambda e: f"{PFS}/{e.shelf.book.pf}/valuations"),
        foreign=lambda t: [Prepared(f"{PFS}/{t.b_book.pf}/valuations")],
        listing=Listing(lambda t, f: f"{PFS}/{t.book_of(f).pf}/valuations",
                        _of_book("fund_valuations", "portfolio_fund_id", "pf"))),
    ("POST", PFS + "/{portfolio_fund_id}/valuations"): Route(
        WRITE, 201, _create_valuation,
        failures=(
            F("after the fund ended", 422, _valuation_of(lambda e: e.ended_portfolio_fund("2022-12-31"),
                                                         {"valuation_date": "2023-01-01", "value": "1.00"})),
            F("before the fund started", 422, _valuation_of(lambda e: e.portfolio_fund(start_date="2021-01-01"),
                                                            {"valuation_date": "2020-12-31", "value": "1.00"})),
            F("the same date twice", 409, lambda e: (lambda v: Prepared(
                f"{PFS}/{v['portfolio_fund_id']}/valuations",
                {"valuation_date": v["valuation_date"], "value": "2.00"}))(e.valuation())),
            F("negative", 422, _valuation_of(lambda e: e.portfolio_fund(),
                                             {"valuation_date": "2023-01-31", "value": "-0.01"})),
            F("value as a JSON number", 422, _valuation_of(lambda e: e.portfolio_fund(),
                                                           {"valuation_date": "2023-01-31", "value": 1000.5})),
        ),
        foreign=lambda t: [Prepared(f"{PFS}/{pf}/valuations", {"valuation_date": "2024-07-31", "value": "1.00"})
                           for pf in (t.b_book.pf, t.b_book.cash_pf)]),
    ("PATCH", FVS + "/{valuation_id}"): Route(
        WRITE, 200, _patch_valuation,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{FVS}/{e.valuation()['id']}", {"value": "2.00"},
                                                        _if_match(2))),
            F("negative", 422, lambda e: Prepared(f"{FVS}/{e.valuation()['id']}", {"value": "-1.00"},
                                                  _if_match(1))),
            F("a new date", 422, lambda e: Prepared(f"{FVS}/{e.valuation()['id']}",
                                                    {"valuation_date": "2023-04-28"}, _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{FVS}/{t.b_book.valuation}", {"value": "0.00"},
                                    _etag_of("fund_valuations", t.b_book.valuation))]),
    ("DELETE", FVS + "/{valuation_id}"): Route(
        WRITE, 204, _delete_valuation,
        failures=(F("unknown valuation", 404, lambda e: Prepared(f"{FVS}/{uuid.uuid4()}")),),
        foreign=lambda t: [Prepared(f"{FVS}/{t.b_book.valuation}")]),
    ("POST", PR + "/{product_id}/valuations:bulk"): Route(
        WRITE, 201, _bulk_valuations,
        failures=(
            F("row 2 after its fund ended", 422, _bulk_valuations_failing(
                lambda pf, other: {"portfolio_fund_id": other, "valuation_date": "2022-07-29", "value": "5.00"},
                end="2022-06-30")),
            F("row 2 of another product's fund", 422, lambda e: _bulk_valuations_failing(
                lambda pf, other: {"portfolio_fund_id": e.portfolio_fund()["id"], "valuation_date": "2022-02-28",
                                   "value": "5.00"})(e)),
            F("row 2 repeats row 0", 422, _bulk_valuations_failing(
                lambda pf, other: {"portfolio_fund_id": pf, "valuation_date": "2022-01-31", "value": "5.00"})),
            F("row 2 negative", 422, _bulk_valuations_failing(
                lambda pf, other: {"portfolio_fund_id": pf, "valuation_date": "2022-02-28", "value": "-5.00"})),
        ),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/valuations:bulk", {"valuations": [
            {"portfolio_fund_id": t.b_book.pf, "valuation_date": "2024-07-31", "value": "1.00"}]})]),
    ("GET", PFS + "/{portfolio_fund_id}/activity"): Route(
        READ, 200, _get(lambda e: f"{PFS}/{e.shelf.book.pf}/activity"),
        foreign=lambda t: [Prepared(f"{PFS}/{t.b_book.pf}/activity")],
        listing=Listing(lambda t, f: f"{PFS}/{t.book_of(f).pf}/activity",
                        _of_book("holding_activity", "portfolio_fund_id", "pf"))),
    ("POST", PFS + "/{portfolio_fund_id}/activity"): Route(
        WRITE, 201, _create_activity,
        failures=(
            F("before the product started", 422, _activity_on({"activity_date": "2020-01-14",
                                                               "activity_type": "investment", "amount": "1.00"})),
            F("amount 0", 422, _activity_on({"activity_date": "2021-01-04", "activity_type": "investment",
                                             "amount": "0.00"})),
            F("negative amount", 422, _activity_on({"activity_date": "2021-01-04", "activity_type": "withdrawal",
                                                    "amount": "-10.00"})),
            F("unknown type", 422, _activity_on({"activity_date": "2021-01-04", "activity_type": "bonus",
                                                 "amount": "10.00"})),
        ),
        foreign=lambda t: [Prepared(f"{PFS}/{t.b_book.pf}/activity", {
            "activity_date": "2024-07-01", "activity_type": "withdrawal", "amount": "100.00"})]),
    ("PATCH", ACT + "/{activity_id}"): Route(
        WRITE, 200, _patch_activity,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{ACT}/{e.activity()['id']}", {"amount": "1.00"},
                                                        _if_match(2))),
            F("moved before the product started", 422, lambda e: Prepared(
                f"{ACT}/{e.activity()['id']}", {"activity_date": "2019-06-01"}, _if_match(1))),
            F("amount 0", 422, lambda e: Prepared(f"{ACT}/{e.activity()['id']}", {"amount": "0"}, _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{ACT}/{t.b_book.activity}", {"amount": "1.00"},
                                    _etag_of("holding_activity", t.b_book.activity))]),
    ("DELETE", ACT + "/{activity_id}"): Route(
        WRITE, 204, _delete_activity,
        failures=(F("unknown activity", 404, lambda e: Prepared(f"{ACT}/{uuid.uuid4()}")),),
        foreign=lambda t: [Prepared(f"{ACT}/{t.b_book.activity}")]),
    ("POST", PR + "/{product_id}/activity:bulk"): Route(
        WRITE, 201, _bulk_activity,
        failures=(
            F("row 1 before the product started", 422, _bulk_activity_failing(
                {"activity_date": "2019-01-04", "activity_type": "investment", "amount": "1.00"})),
            F("row 1 of an unknown type", 422, _bulk_activity_failing(
                {"activity_date": "2021-02-01", "activity_type": "bonus", "amount": "1.00"})),
        ),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/activity:bulk", {"activities": [
            {"portfolio_fund_id": t.b_book.pf, "activity_date": "2024-07-01", "activity_type": "withdrawal",
             "amount": "100.00"}]})]),
    # --- managed products: performance and revenue ---
    ("GET", PFS + "/{portfolio_fund_id}/irr"): Route(
        READ, 200, _get(lambda e: f"{PFS}/{e.shelf.book.pf}/irr"),
        foreign=lambda t: [Prepared(f"{PFS}/{t.b_book.pf}/irr?include=flows")],
        listing=Listing(lambda t, f: f"{PFS}/{t.book_of(f).pf}/irr?method=xirr&include=flows", _fund_flows,
                        extract=_shown_flows)),
    ("GET", PR + "/{product_id}/irr"): Route(
        READ, 200, _get(lambda e: f"{PR}/{e.shelf.book.product}/irr"),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/irr?method=xirr")],
        listing=Listing(lambda t, f: f"{PR}/{t.book_of(f).product}/irr?method=xirr&include=flows", _product_flows,
                        extract=_shown_flows)),
    ("GET", G + "/{group_id}/irr"): Route(
        READ, 200, _get(lambda e: f"{G}/{e.shelf.house.group_id}/irr"),
        foreign=lambda t: [Prepared(f"{G}/{t.b_house.group_id}/irr"), Prepared(f"{G}/{t.b_empty_group}/irr")],
        listing=Listing(lambda t, f: f"{G}/{t.house_of(f).group_id}/irr?method=xirr&include=flows", _group_flows,
                        extract=_shown_flows)),
    ("POST", "/v1/irr"): Route(READ, 200, _selection_irr, read_only=True),
    ("GET", G + "/{group_id}/overview"): Route(
        READ, 200, _get(lambda e: f"{G}/{e.shelf.house.group_id}/overview"),
        foreign=lambda t: [Prepared(f"{G}/{t.b_house.group_id}/overview"),
                           Prepared(f"{G}/{t.b_empty_group}/overview?method=xirr")],
        listing=Listing(lambda t, f: f"{G}/{t.house_of(f).group_id}/overview", _overview_rows,
                        extract=_overview_shown)),
    ("GET", PR + "/{product_id}/irr-history"): Route(
        READ, 200, _get(lambda e: f"{PR}/{e.shelf.book.product}/irr-history"),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/irr-history")],
        listing=Listing(lambda t, f: f"{PR}/{t.book_of(f).product}/irr-history", _irr_history_rows,
                        extract=_irr_history_shown)),
    ("GET", PR + "/{product_id}/revenue"): Route(
        READ, 200, _get(lambda e: f"{PR}/{e.shelf.book.product}/revenue"),
        foreign=lambda t: [Prepared(f"{PR}/{t.b_book.product}/revenue")],
        listing=Listing(lambda t, f: f"{PR}/{t.book_of(f).product}/revenue", lambda t, f: {t.book_of(f).product},
                        extract=lambda body: [body["product_id"]])),
    ("GET", G + "/{group_id}/revenue"): Route(
        READ, 200, _get(lambda e: f"{G}/{e.shelf.house.group_id}/revenue"),
        foreign=lambda t: [Prepared(f"{G}/{t.b_house.group_id}/revenue"), Prepared(f"{G}/{t.b_empty_group}/revenue")],
        listing=Listing(lambda t, f: f"{G}/{t.house_of(f).group_id}/revenue",
                        lambda t, f: ids_of(_LIVE_REVENUE + "p.client_group_id = %s", (t.house_of(f).group_id,)),
                        extract=_revenue_shown)),
    ("GET", "/v1/revenue"): Route(
        READ, 200, _get("/v1/revenue"),
        listing=Listing(lambda t, f: "/v1/revenue", lambda t, f: ids_of(_LIVE_REVENUE + "p.firm_id = %s", (f.id,)),
                        extract=_revenue_shown)),
    ("GET", G + "/{group_id}/summary"): Route(
        READ, 200, _get(lambda e: f"{G}/{e.shelf.house.group_id}/summary"),
        foreign=lambda t: [Prepared(f"{G}/{t.b_house.group_id}/summary"), Prepared(f"{G}/{t.b_empty_group}/summary")],
        listing=Listing(lambda t, f: f"{G}/{t.house_of(f).group_id}/summary",
                        lambda t, f: ids_of("SELECT id FROM client_groups WHERE id = %s", (t.house_of(f).group_id,)),
                        extract=lambda body: [body["client_group_id"]])),
    ("GET", "/v1/dashboard"): Route(
        READ, 200, _get("/v1/dashboard"),
        listing=Listing(lambda t, f: "/v1/dashboard",
                        lambda t, f: ids_of("SELECT key FROM mv_firm_dashboard WHERE firm_id = %s "
                                            "AND dimension IN ('provider', 'adviser') AND key <> 'none'", (f.id,)),
                        extract=_dashboard_shown)),
    # --- net worth ---
    ("GET", G + "/{group_id}/networth"): Route(
        READ, 200, _get(lambda e: f"{G}/{e.shelf.house.group_id}/networth"),
        foreign=lambda t: [Prepared(f"{G}/{t.b_house.group_id}/networth"),
                           Prepared(f"{G}/{t.b_empty_group}/networth?as_of=2024-05-31")],
        listing=Listing(lambda t, f: f"{G}/{t.house_of(f).group_id}/networth", _networth_rows,
                        extract=lambda body: [r["id"] for s in body["sections"] for r in s["rows"]])),
    ("GET", G + "/{group_id}/networth/history"): Route(
        READ, 200, _get(lambda e: f"{G}/{e.shelf.house.group_id}/networth/history?range=all"),
        foreign=lambda t: [Prepared(f"{G}/{t.b_house.group_id}/networth/history"),
                           Prepared(f"{G}/{t.b_empty_group}/networth/history?range=all")],
        listing=Listing(lambda t, f: f"{G}/{t.house_of(f).group_id}/networth/history?range=30d", _history_rows,
                        extract=lambda body: [f"{p['date']}={p['net_worth']}" for p in body["points"]])),
    ("POST", G + "/{group_id}/networth-statements"): Route(
        WRITE, 201, _create_statement,
        failures=(
            F("no name", 422, lambda e: Prepared(_statements_of(e.shelf.house.group_id), {})),
            F("an as_of of its own", 422, lambda e: Prepared(_statements_of(e.shelf.house.group_id),
                                                             {"name": "Backdated", "as_of": "2024-01-01"})),
            F("unknown group", 404, lambda e: Prepared(_statements_of(uuid.uuid4()), {"name": "Nobody"})),
        ),
        foreign=lambda t: [Prepared(_statements_of(t.b_house.group_id), {"name": "Planted"}),
                           Prepared(_statements_of(t.b_empty_group), {"name": "Planted"})]),
    ("GET", G + "/{group_id}/networth-statements"): Route(
        READ, 200, _get(lambda e: _statements_of(e.shelf.house.group_id)),
        foreign=lambda t: [Prepared(_statements_of(t.b_house.group_id)),
                           Prepared(_statements_of(t.b_empty_group) + f"?created_by={t.b.users['admin']['id']}")],
        listing=Listing(lambda t, f: _statements_of(t.house_of(f).group_id),
                        lambda t, f: ids_of("SELECT id FROM networth_statements WHERE client_group_id = %s",
                                            (t.house_of(f).group_id,)))),
    ("GET", NW_STATEMENTS + "/{statement_id}"): Route(
        READ, 200, _get(lambda e: f"{NW_STATEMENTS}/{_shelf_statement(e)}"),
        foreign=lambda t: [Prepared(f"{NW_STATEMENTS}/{t.b_statement}")]),
    # --- financial planning ---
    ("GET", CS): Route(
        READ, 200, _get(CS),
        listing=Listing(lambda t, f: CS, _firm_ids("cma_sets"))),
    ("POST", CS): Route(
        WRITE, 201, _create_cma_set,
        failures=(
            F("not positive semi-definite", 422, lambda e: Prepared(CS, cma_body(
                asset_classes=[*TWO_CLASSES, {"code": "cash", "name": "Cash", "expected_return": "0.01",
                                              "volatility": "0.01"}],
                correlations=[["1", "0.9", "-0.9"], ["0.9", "1", "0.9"], ["-0.9", "0.9", "1"]]))),
            F("asymmetric", 422, lambda e: Prepared(CS, cma_body(correlations=[["1", "0.3"], ["0.2", "1"]]))),
        )),
    ("GET", CS + "/{cma_set_id}"): Route(
        READ, 200, _get(lambda e: f"{CS}/{_planning(e).cma['id']}"),
        foreign=lambda t: [Prepared(f"{CS}/{t.b_cma}")]),
    ("PATCH", CS + "/{cma_set_id}"): Route(
        WRITE, 200, _patch_cma_set,
        failures=(
            F("an approved set", 409, lambda e: Prepared(f"{CS}/{_planning(e).cma['id']}", {"inflation": "0.04"},
                                                         _if_match(2))),
            F("stale If-Match", 412, lambda e: Prepared(f"{CS}/{_draft(e)['id']}", {"inflation": "0.04"},
                                                        _if_match(2))),
        ),
        foreign=lambda t: [Prepared(f"{CS}/{t.b_cma}", {"inflation": "0.04"}, _if_match(2))]),
    ("POST", CS + "/{cma_set_id}/approve"): Route(
        ADMIN, 200, _approve_cma_set,
        failures=(
            F("approved already", 409, lambda e: Prepared(f"{CS}/{_planning(e).cma['id']}/approve")),
            F("unknown set", 404, lambda e: Prepared(f"{CS}/{uuid.uuid4()}/approve")),
        ),
        foreign=lambda t: [Prepared(f"{CS}/{t.b_cma}/approve")]),
    ("POST", CS + "/{cma_set_id}/versions"): Route(
        WRITE, 201, _new_cma_version,
        failures=(F("unknown set", 404, lambda e: Prepared(f"{CS}/{uuid.uuid4()}/versions")),),
        foreign=lambda t: [Prepared(f"{CS}/{t.b_cma}/versions")]),
    ("GET", PM): Route(
        READ, 200, _get(PM),
        listing=Listing(lambda t, f: PM, _firm_ids("portfolio_models"))),
    ("POST", PM): Route(
        WRITE, 201, _create_model,
        failures=(
            F("weights sum to 99.99", 422, lambda e: Prepared(PM, _model_body(e, allocations=[
                {"asset_class": "equity", "weight": "35.00"}, {"asset_class": "bonds", "weight": "64.99"}]))),
            F("risk level 11", 422, lambda e: Prepared(PM, _model_body(e, risk_level=11))),
            F("a draft set", 422, lambda e: Prepared(PM, _model_body(e, cma_set_id=_draft(e)["id"]))),
        )),
    ("GET", PM + "/{portfolio_model_id}"): Route(
        READ, 200, _get(lambda e: f"{PM}/{_planning(e).model['id']}"),
        foreign=lambda t: [Prepared(f"{PM}/{t.b_model}")]),
    ("PATCH", PM + "/{portfolio_model_id}"): Route(
        WRITE, 200, _patch_model,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{PM}/{_fresh_model(e)['id']}", {"risk_level": 2},
                                                        _if_match(2))),
            F("weights sum to 100.01", 422, lambda e: Prepared(f"{PM}/{_fresh_model(e)['id']}", {"allocations": [
                {"asset_class": "equity", "weight": "50.01"}, {"asset_class": "bonds", "weight": "50.00"}]},
                _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{PM}/{t.b_model}", {"risk_level": 2}, _if_match(1))]),
    ("GET", G + "/{group_id}/plans"): Route(
        READ, 200, _get(lambda e: _plans_of(e.shelf.house.group_id)),
        foreign=lambda t: [Prepared(_plans_of(t.b_house.group_id)), Prepared(_plans_of(t.b_empty_group))],
        listing=Listing(lambda t, f: _plans_of(t.house_of(f).group_id), _latest_plans)),
    ("POST", G + "/{group_id}/plans"): Route(
        WRITE, 201, _create_plan,
        failures=(
            F("999 iterations", 422, lambda e: _new_plan(e, iterations=999)),
            F("an unapproved set", 422, lambda e: _new_plan(e, cma_set_id=_draft(e)["id"])),
            F("retirement before today's age", 422, lambda e: _new_plan(e, people=[{
                "product_owner_id": e.shelf.house.owner_id, "date_of_birth": BORN, "retirement_age": 40,
                "life_expectancy": 90}])),
            F("unknown group", 404, lambda e: replace(_new_plan(e), path=_plans_of(uuid.uuid4()))),
        ),
        foreign=lambda t: [Prepared(_plans_of(t.b_house.group_id), _foreign_plan_body(t)),
                           Prepared(_plans_of(t.b_empty_group), _foreign_plan_body(t))]),
    ("GET", PL + "/{plan_id}"): Route(
        READ, 200, _get(lambda e: f"{PL}/{_shelf_plan(e)['id']}"),
        foreign=lambda t: [Prepared(f"{PL}/{t.b_plan}")]),
    ("GET", PL + "/{plan_id}/versions"): Route(
        READ, 200, _get(lambda e: f"{PL}/{_shelf_plan(e)['id']}/versions"),
        foreign=lambda t: [Prepared(f"{PL}/{t.b_plan}/versions")],
        listing=Listing(lambda t, f: f"{PL}/{t.a_plan if f is t.a else t.b_plan}/versions",
                        lambda t, f: ids_of("SELECT id FROM plans WHERE root_plan_id = %s",
                                            (t.a_plan if f is t.a else t.b_plan,)))),
    ("POST", PL + "/{plan_id}/versions"): Route(
        WRITE, 201, _create_plan_version,
        failures=(
            F("100,001 iterations", 422, lambda e: _new_version_of(e, _shelf_plan(e), iterations=100_001)),
            F("unknown plan", 404, lambda e: replace(_new_version_of(e, _shelf_plan(e)),
                                                     path=f"{PL}/{uuid.uuid4()}/versions")),
        ),
        foreign=lambda t: [Prepared(f"{PL}/{t.b_plan}/versions", {"inputs": _foreign_plan_body(t)["inputs"]})]),
    ("POST", PL + "/{plan_id}/runs"): Route(
        WRITE, 202, _create_run,
        failures=(
            F("a fall of 100%", 422, lambda e: _new_run(e, stresses=[{"kind": "market_fall", "size": "1.00"}])),
            F("a what-if that changes nothing", 422, lambda e: _new_run(e, what_ifs=[{"name": "x", "changes": {}}])),
            F("unknown plan", 404, lambda e: replace(_new_run(e), path=f"{PL}/{uuid.uuid4()}/runs")),
        ),
        foreign=lambda t: [Prepared(f"{PL}/{t.b_plan}/runs", {"stresses": []})]),
    ("GET", PL + "/{plan_id}/runs"): Route(
        READ, 200, _get(lambda e: f"{PL}/{_shelf_run(e)['plan_id']}/runs?status=succeeded"),
        foreign=lambda t: [Prepared(f"{PL}/{t.b_plan}/runs")],
        listing=Listing(lambda t, f: f"{PL}/{t.a_plan if f is t.a else t.b_plan}/runs",
                        lambda t, f: ids_of("SELECT id FROM plan_runs WHERE plan_id = %s",
                                            (t.a_plan if f is t.a else t.b_plan,)))),
    ("GET", PL + "/{plan_id}/runs/{run_id}"): Route(
        READ, 200, _get(_run_path),
        foreign=lambda t: [Prepared(f"{PL}/{t.b_plan}/runs/{t.b_run}")]),
    ("GET", PL + "/{plan_id}/runs/{run_id}/fan-chart.svg"): Route(
        READ, 200, _get(lambda e: _run_path(e) + "/fan-chart.svg"),
        failures=(F("an unknown scenario", 422, _get(lambda e: _run_path(e) + "/fan-chart.svg?scenario=Nope")),),
        foreign=lambda t: [Prepared(f"{PL}/{t.b_plan}/runs/{t.b_run}/fan-chart.svg")]),
    ("GET", PL + "/{plan_id}/runs/{run_id}/fan-chart.png"): Route(
        READ, 200, lambda e: Prepared(_run_path(e) + "/fan-chart.png", headers={"Accept": "image/png"}),
        foreign=lambda t: [Prepared(f"{PL}/{t.b_plan}/runs/{t.b_run}/fan-chart.png",
                                    headers={"Accept": "image/png"})]),
    ("GET", "/v1/search"): Route(
        READ, 200, _get("/v1/search?q=Provider"),
        listing=Listing(lambda t, f: f"/v1/search?q={t.search_token}&limit=100", _search_rows,
                        extract=lambda body: [i["id"] for i in body["items"]])),
    # --- unmanaged products, their valuations, exchange rates ---
    ("GET", G + "/{group_id}/unmanaged-products"): Route(
        READ, 200, _get(lambda e: _unmanaged_of(e.shelf.house.group_id) + "?kind=asset&min_current_value=1"),
        foreign=lambda t: [Prepared(_unmanaged_of(t.b_house.group_id)), Prepared(_unmanaged_of(t.b_empty_group))],
        listing=Listing(lambda t, f: _unmanaged_of(t.house_of(f).group_id),
                        lambda t, f: ids_of("SELECT id FROM unmanaged_products WHERE client_group_id = %s",
                                            (t.house_of(f).group_id,)))),
    ("POST", G + "/{group_id}/unmanaged-products"): Route(
        WRITE, 201, _create_unmanaged,
        failures=(
            F("owner not in the group", 422, lambda e: _new_unmanaged(e, ownership=_individual(e.owner()["id"]))),
            F("shares above 100", 422, lambda e: _new_unmanaged(e, ownership={
                "association_type": "tenants_in_common", "shares": {e.shelf.house.owner_id: "100.01"}})),
            F("a liability typed as an ISA", 422, lambda e: _new_unmanaged(e, kind="liability",
                                                                           product_type="cash_isa")),
            F("a name the household uses", 409, lambda e: _new_unmanaged(e, name=e.unmanaged()["name"].upper())),
            F("unknown provider", 422, lambda e: _new_unmanaged(e, provider_id=str(uuid.uuid4()))),
        ),
        foreign=lambda t: [Prepared(_unmanaged_of(t.b_house.group_id), {
            "name": "Planted", "kind": "asset", "product_type": "property",
            "ownership": _individual(t.b_house.owner_id)})]),
    ("GET", UP + "/{unmanaged_product_id}"): Route(
        READ, 200, _get(lambda e: f"{UP}/{e.unmanaged()['id']}"),
        foreign=lambda t: [Prepared(f"{UP}/{t.b_elsewhere.product}")]),
    ("PATCH", UP + "/{unmanaged_product_id}"): Route(
        WRITE, 200, _patch_unmanaged,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{UP}/{e.unmanaged()['id']}", {"name": "Late"},
                                                        _if_match(2))),
            F("a kind its type does not fit", 422, lambda e: Prepared(f"{UP}/{e.unmanaged()['id']}",
                                                                      {"kind": "liability"}, _if_match(1))),
            F("owner not in the group", 422, lambda e: Prepared(f"{UP}/{e.unmanaged()['id']}",
                                                                {"ownership": _individual(e.owner()["id"])},
                                                                _if_match(1))),
            F("status by PATCH", 422, lambda e: Prepared(f"{UP}/{e.unmanaged()['id']}", {"status": "sold"},
                                                         _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{UP}/{t.b_elsewhere.product}", {"name": "Hijacked"},
                                    _etag_of("unmanaged_products", t.b_elsewhere.product))]),
    ("DELETE", UP + "/{unmanaged_product_id}"): Route(
        WRITE, 204, _delete_unmanaged,
        failures=(F("has valuations", 409, lambda e: Prepared(
            f"{UP}/{e.unmanaged_valuation()['unmanaged_product_id']}")),),
        # B's product has a valuation: a 409 would tell A it exists.
        foreign=lambda t: [Prepared(f"{UP}/{t.b_elsewhere.product}")]),
    ("POST", UP + "/{unmanaged_product_id}/status"): Route(
        WRITE, 200, _sell_unmanaged,
        failures=(
            F("reactivated by an adviser", 403, lambda e: Prepared(f"{UP}/{_sold_unmanaged(e)}/status", {
                "status": "active", "reason": "Sale fell through"}), who="adviser"),
            F("reactivated by a write key", 403, lambda e: Prepared(f"{UP}/{_sold_unmanaged(e)}/status", {
                "status": "active", "reason": "Sale fell through"}), who="write"),
            F("sold, then transferred", 409, lambda e: Prepared(f"{UP}/{_sold_unmanaged(e)}/status", {
                "status": "transferred", "reason": "x"})),
            F("no reason", 422, lambda e: Prepared(f"{UP}/{e.unmanaged()['id']}/status", {"status": "sold"})),
        ),
        foreign=lambda t: [Prepared(f"{UP}/{t.b_elsewhere.product}/status", {"status": "sold", "reason": "x"})]),
    ("GET", UP + "/{unmanaged_product_id}/valuations"): Route(
        READ, 200, _get(lambda e: f"{UP}/{e.unmanaged_valuation()['unmanaged_product_id']}/valuations"),
        foreign=lambda t: [Prepared(f"{UP}/{t.b_elsewhere.product}/valuations")],
        listing=Listing(lambda t, f: f"{UP}/{t.elsewhere_of(f).product}/valuations",
                        lambda t, f: ids_of("SELECT id FROM unmanaged_valuations WHERE unmanaged_product_id = %s",
                                            (t.elsewhere_of(f).product,)))),
    ("POST", UP + "/{unmanaged_product_id}/valuations"): Route(
        WRITE, 201, _create_unmanaged_valuation,
        failures=(
            F("a future date", 422, _unmanaged_valuation_of({
                "valuation_date": (date.today() + timedelta(days=1)).isoformat(), "value": "1.00"})),
            F("negative", 422, _unmanaged_valuation_of({"valuation_date": "2023-01-31", "value": "-0.01"})),
            F("the same date twice", 409, lambda e: (lambda v: Prepared(
                f"{UP}/{v['unmanaged_product_id']}/valuations",
                {"valuation_date": v["valuation_date"], "value": "2.00"}))(e.unmanaged_valuation())),
        ),
        foreign=lambda t: [Prepared(f"{UP}/{t.b_elsewhere.product}/valuations",
                                    {"valuation_date": "2024-07-31", "value": "1.00"})]),
    ("POST", UP + "/{unmanaged_product_id}/valuations:bulk"): Route(
        WRITE, 201, _bulk_unmanaged,
        failures=(
            F("row 1 repeats row 0", 422, _bulk_unmanaged_failing({"valuation_date": "2022-01-31", "value": "2.00"})),
            F("row 1 in the future", 422, _bulk_unmanaged_failing({
                "valuation_date": (date.today() + timedelta(days=1)).isoformat(), "value": "2.00"})),
            F("row 1 negative", 422, _bulk_unmanaged_failing({"valuation_date": "2022-02-28", "value": "-2.00"})),
        ),
        foreign=lambda t: [Prepared(f"{UP}/{t.b_elsewhere.product}/valuations:bulk", {"valuations": [
            {"valuation_date": "2024-07-31", "value": "1.00"}]})]),
    ("DELETE", UVS + "/{unmanaged_valuation_id}"): Route(
        WRITE, 204, _delete_unmanaged_valuation,
        failures=(F("unknown valuation", 404, lambda e: Prepared(f"{UVS}/{uuid.uuid4()}")),),
        foreign=lambda t: [Prepared(f"{UVS}/{t.b_elsewhere.valuation}")]),
    ("GET", FXR): Route(
        READ, 200, _get(FXR + "?currency=EUR&sort=rate_date"),
        listing=Listing(lambda t, f: FXR, _firm_ids("fx_rates"))),
    ("POST", FXR): Route(WRITE, 201, _put_fx_rate, failures=(
        F("the base currency", 422, _fx_rate_failing(currency="GBP")),
        F("a rate of 0", 422, _fx_rate_failing(rate="0")),
        F("a rate as a JSON number", 422, _fx_rate_failing(rate=0.79)),
    )),
    ("POST", FXR + ":bulk"): Route(WRITE, 201, _put_fx_rates, failures=(
        F("row 1 repeats row 0's currency and date", 422, _fx_rates_failing(lambda first: {**first, "rate": "0.80"})),
        F("row 1 the base currency", 422, _fx_rates_failing(lambda first: {**first, "currency": "GBP"})),
    )),
    # --- information items ---
    ("GET", G + "/{group_id}/information-items"): Route(
        READ, 200, _get(lambda e: _items_of(e.shelf.house.group_id) + "?q=lane"),
        foreign=lambda t: [Prepared(_items_of(t.b_house.group_id)), Prepared(_items_of(t.b_empty_group) + "?q=x")],
        listing=Listing(lambda t, f: _items_of(t.house_of(f).group_id),
                        lambda t, f: ids_of("SELECT id FROM information_items WHERE client_group_id = %s",
                                            (t.house_of(f).group_id,)))),
    ("POST", G + "/{group_id}/information-items"): Route(
        WRITE, 201, _create_item,
        failures=(
            F("51 keys", 422, lambda e: _new_item(e, data_content={f"k{i}": i for i in range(51)})),
            F("65 KiB", 422, lambda e: _new_item(e, data_content={"note": "n" * 65 * 1024})),
            F("a date tomorrow", 422, lambda e: _new_item(e, data_content={
                "valuation_date": str(datetime.now(UTC).date() + timedelta(days=1))})),
            F("a negative valuation", 422, lambda e: _new_item(e, data_content={"latest_valuation": "-1.00"})),
            F("an owner outside the group", 422, lambda e: _new_item(
                e, associated_product_owners=individual_owner(e.owner()["id"]))),
            F("shares above 100", 422, lambda e: _new_item(e, associated_product_owners={
                "association_type": "tenants_in_common", "shares": {e.shelf.house.owner_id: "100.01"}})),
            F("protection without owners", 422, lambda e: _new_item(e, item_type="protection",
                                                                   associated_product_owners=None)),
        ),
        foreign=lambda t: [Prepared(_items_of(t.b_house.group_id), {
            "item_type": "protection", "item_category": "Planted",
            "associated_product_owners": individual_owner(t.b_house.owner_id)})]),
    ("POST", G + "/{group_id}/information-items:batch"): Route(
        WRITE, 201, _batch_items,
        failures=(
            F("101 items", 422, lambda e: Prepared(f"{_items_of(e.shelf.house.group_id)}:batch",
                                                   {"items": [_new_item(e).body] * 101})),
            F("item 2 names an outsider", 422, _batch_failing(
                lambda e: {**_new_item(e).body, "associated_product_owners": individual_owner(e.owner()["id"])})),
            F("item 2 holds a negative value", 422, _batch_failing(
                lambda e: {**_new_item(e).body, "data_content": {"x": [{"market_value": "-3"}]}})),
        ),
        foreign=lambda t: [Prepared(f"{_items_of(t.b_house.group_id)}:batch", {"items": [
            {"item_type": "basic_detail", "item_category": "Planted"}]})]),
    ("GET", II + "/{item_id}"): Route(
        READ, 200, _get(lambda e: f"{II}/{e.item()['id']}"),
        foreign=lambda t: [Prepared(f"{II}/{t.b_item}")]),
    ("PATCH", II + "/{item_id}"): Route(
        WRITE, 200, _patch_item,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{II}/{e.item()['id']}", {"item_category": "Late"},
                                                        _if_match(2))),
            F("owners on a basic detail", 422, lambda e: Prepared(
                f"{II}/{e.item()['id']}", {"associated_product_owners": individual_owner(e.shelf.house.owner_id)},
                _if_match(1))),
            F("51 keys", 422, lambda e: Prepared(f"{II}/{e.item()['id']}",
                                                 {"data_content": {f"k{i}": i for i in range(51)}}, _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{II}/{t.b_item}", {"item_category": "Hijacked"},
                                    _etag_of("information_items", t.b_item))]),
    ("DELETE", II + "/{item_id}"): Route(
        WRITE, 204, _delete_item,
        failures=(F("unknown item", 404, lambda e: Prepared(f"{II}/{uuid.uuid4()}")),),
        foreign=lambda t: [Prepared(f"{II}/{t.b_item}")]),
    # --- actions ---
    ("GET", G + "/{group_id}/actions"): Route(
        READ, 200, _get(lambda e: _actions_of(e.shelf.house.group_id) + "?overdue=false"),
        foreign=lambda t: [Prepared(_actions_of(t.b_house.group_id)),
                           Prepared(_actions_of(t.b_empty_group) + "?status=outstanding")],
        listing=Listing(lambda t, f: _actions_of(t.house_of(f).group_id),
                        lambda t, f: ids_of("SELECT id FROM actions WHERE client_group_id = %s",
                                            (t.house_of(f).group_id,)))),
    ("POST", G + "/{group_id}/actions"): Route(
        WRITE, 201, _create_action,
        failures=(
            F("unknown owner", 422, lambda e: Prepared(_actions_of(e.shelf.house.group_id),
                                                       {"action_name": "x", "owner": "paraplanner"})),
            F("created completed", 422, lambda e: Prepared(_actions_of(e.shelf.house.group_id), {
                "action_name": "x", "owner": "client", "status": "completed"})),
        ),
        foreign=lambda t: [Prepared(_actions_of(t.b_house.group_id), {"action_name": "Planted", "owner": "client"})]),
    ("GET", AC + "/{action_id}"): Route(
        READ, 200, _get(lambda e: f"{AC}/{e.action()['id']}"),
        foreign=lambda t: [Prepared(f"{AC}/{t.b_action}")]),
    ("PATCH", AC + "/{action_id}"): Route(
        WRITE, 200, _patch_action,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{AC}/{e.action()['id']}", {"owner": "client"},
                                                        _if_match(2))),
            F("completed by PATCH", 422, lambda e: Prepared(f"{AC}/{e.action()['id']}", {"status": "completed"},
                                                            _if_match(1))),
            F("a completed action cancelled", 409, lambda e: Prepared(f"{AC}/{_completed_action(e)}",
                                                                      {"status": "cancelled"}, _if_match(2))),
        ),
        foreign=lambda t: [Prepared(f"{AC}/{t.b_action}", {"status": "cancelled"},
                                    _etag_of("actions", t.b_action))]),
    ("DELETE", AC + "/{action_id}"): Route(
        WRITE, 204, _delete_action,
        failures=(F("unknown action", 404, lambda e: Prepared(f"{AC}/{uuid.uuid4()}")),),
        foreign=lambda t: [Prepared(f"{AC}/{t.b_action}")]),
    ("POST", AC + "/{action_id}/complete"): Route(
        WRITE, 200, _complete_action,
        failures=(
            F("completed already", 409, lambda e: Prepared(f"{AC}/{_completed_action(e)}/complete")),
            F("a body", 422, lambda e: Prepared(f"{AC}/{e.action()['id']}/complete", {"at": "now"})),
        ),
        foreign=lambda t: [Prepared(f"{AC}/{t.b_action}/complete")]),
    ("POST", AC + "/{action_id}/reopen"): Route(
        WRITE, 200, _reopen_action,
        failures=(F("outstanding already", 409, lambda e: Prepared(f"{AC}/{e.action()['id']}/reopen")),),
        foreign=lambda t: [Prepared(f"{AC}/{t.b_action}/reopen")]),
    # --- objectives ---
    ("GET", G + "/{group_id}/objectives"): Route(
        READ, 200, _get(lambda e: _objectives_of(e.shelf.house.group_id) + "?status=active"),
        foreign=lambda t: [Prepared(_objectives_of(t.b_house.group_id)),
                           Prepared(_objectives_of(t.b_empty_group) + "?priority=1")],
        listing=Listing(lambda t, f: _objectives_of(t.house_of(f).group_id),
                        lambda t, f: ids_of("SELECT id FROM objectives WHERE client_group_id = %s",
                                            (t.house_of(f).group_id,)))),
    ("POST", G + "/{group_id}/objectives"): Route(
        WRITE, 201, _create_objective,
        failures=(
            F("priority 6", 422, lambda e: Prepared(_objectives_of(e.shelf.house.group_id),
                                                    {"title": "x", "priority": 6})),
            F("typed progress on a money goal", 422, lambda e: Prepared(_objectives_of(e.shelf.house.group_id), {
                "title": "x", "target_amount": "10.00", "target_date": "2030-01-31", "progress_percentage": "5"})),
            F("another household's product", 422, lambda e: Prepared(_objectives_of(e.shelf.house.group_id), {
                "title": "x", "target_amount": "10.00", "target_date": "2030-01-31",
                "product_ids": [_other_households_product(e)]})),
            F("target amount 0", 422, lambda e: Prepared(_objectives_of(e.shelf.house.group_id), {
                "title": "x", "target_amount": "0.00", "target_date": "2030-01-31"})),
        ),
        foreign=lambda t: [Prepared(_objectives_of(t.b_house.group_id), {"title": "Planted"})]),
    ("GET", OB + "/{objective_id}"): Route(
        READ, 200, _get(lambda e: f"{OB}/{e.goal()['id']}"),
        foreign=lambda t: [Prepared(f"{OB}/{t.b_objective}")]),
    ("PATCH", OB + "/{objective_id}"): Route(
        WRITE, 200, _patch_objective,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{OB}/{e.goal()['id']}", {"priority": 2}, _if_match(7))),
            F("typed progress on a money goal", 422, lambda e: Prepared(f"{OB}/{e.goal()['id']}",
                                                                        {"progress_percentage": "50"},
                                                                        _if_match(1))),
            F("a goal with contributions made plain", 409, lambda e: Prepared(
                f"{OB}/{e.contribution()['objective_id']}", {"target_amount": None}, _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{OB}/{t.b_objective}", {"priority": 5}, _etag_of("objectives", t.b_objective))]),
    ("DELETE", OB + "/{objective_id}"): Route(
        WRITE, 204, _delete_objective,
        failures=(F("unknown objective", 404, lambda e: Prepared(f"{OB}/{uuid.uuid4()}")),),
        foreign=lambda t: [Prepared(f"{OB}/{t.b_objective}")]),
    ("GET", OB + "/{objective_id}/contributions"): Route(
        READ, 200, _get(lambda e: f"{OB}/{e.contribution()['objective_id']}/contributions"),
        foreign=lambda t: [Prepared(f"{OB}/{t.b_objective}/contributions")],
        listing=Listing(lambda t, f: f"{OB}/{_objective_of(t, f)}/contributions",
                        lambda t, f: ids_of("SELECT id FROM objective_contributions WHERE objective_id = %s",
                                            (_objective_of(t, f),)))),
    ("POST", OB + "/{objective_id}/contributions"): Route(
        WRITE, 201, _create_contribution,
        failures=(
            F("a future date", 422, lambda e: Prepared(f"{OB}/{e.goal()['id']}/contributions", {
                "amount": "1.00", "contribution_date": (date.today() + timedelta(days=1)).isoformat()})),
            F("a plain objective", 409, lambda e: Prepared(f"{OB}/{e.objective()['id']}/contributions", {
                "amount": "1.00", "contribution_date": "2024-01-31"})),
        ),
        foreign=lambda t: [Prepared(f"{OB}/{t.b_objective}/contributions",
                                    {"amount": "1.00", "contribution_date": "2024-01-31"})]),
    ("DELETE", OC + "/{contribution_id}"): Route(
        WRITE, 204, _delete_contribution,
        failures=(F("unknown contribution", 404, lambda e: Prepared(f"{OC}/{uuid.uuid4()}")),),
        foreign=lambda t: [Prepared(f"{OC}/{t.b_contribution}")]),
    # --- ops ---
    ("GET", "/v1/ops/job-runs"): Route(
        ADMIN, 200, _get("/v1/ops/job-runs"),
        # the firm's part of each run that did work for it (the fixture's nightly refresh did, for both firms);
        # the platform's record of runs (job_runs) is never listed
        listing=Listing(lambda t, f: "/v1/ops/job-runs", _firm_ids("firm_job_runs"))),
    ("GET", "/v1/ops/backups"): Route(
        ADMIN, 200, _get("/v1/ops/backups"),
        listing=Listing(lambda t, f: "/v1/ops/backups", lambda t, firm: ids_of("SELECT id FROM backups"),
                        tenant=False)),
    ("GET", "/v1/ops/backups/{backup_id}"): Route(
        ADMIN, 200, _get(lambda e: f"/v1/ops/backups/{platform_backup()}"), platform=True),
    ("GET", RP): Route(
        ADMIN, 200, _get(RP), listing=Listing(lambda t, f: RP, _firm_ids("data_retention_policies"))),
    ("POST", RP): Route(ADMIN, 201, _create_policy, failures=(
        F("audit events for 6 years", 422, lambda e: Prepared(RP, {
            "table_name": "audit_events", "condition": "other", "period": "6 years", "action": "delete"})),
        F("statements deleted", 422, lambda e: Prepared(RP, {
            "table_name": "networth_statements", "condition": "any", "period": "10 years", "action": "delete"})),
        F("a second policy for the same rows", 409, lambda e: Prepared(RP, {
            "table_name": "sessions", "condition": "expired", "period": "10 days", "action": "delete"})),
    )),
    ("GET", RP + "/{policy_id}"): Route(
        ADMIN, 200, _get(lambda e: f"{RP}/{_policy_of(e.firm.id)}"),
        foreign=lambda t: [Prepared(f"{RP}/{t.b_policy}")]),
    ("PATCH", RP + "/{policy_id}"): Route(
        ADMIN, 200, _patch_policy,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{RP}/{_policy_of(e.firm.id)}", {"enabled": False},
                                                        _if_match(999))),
            F("audit trail cut short", 422, lambda e: Prepared(
                f"{RP}/{_policy_of(e.firm.id, 'audit_events', 'other')}", {"period": "2 years"},
                _etag_of("data_retention_policies", _policy_of(e.firm.id, "audit_events", "other")))),
        ),
        foreign=lambda t: [Prepared(f"{RP}/{t.b_policy}", {"enabled": False},
                                    _etag_of("data_retention_policies", t.b_policy))]),
    ("POST", OWNERS_PATH + "/{owner_id}/export"): Route(
        ADMIN, 200, _export_owner,
        failures=(F("a body", 422, lambda e: Prepared(f"{OWNERS_PATH}/{e.owner()['id']}/export",
                                                      {"format": "csv"})),),
        foreign=lambda t: [Prepared(f"{OWNERS_PATH}/{t.b_house.owner_id}/export"),
                           Prepared(f"{OWNERS_PATH}/{t.b_lone_owner}/export")]),
    ("POST", OWNERS_PATH + "/{owner_id}/erase"): Route(
        ADMIN, 200, _erase_owner,
        failures=(F("a retention hold", 409, _held_owner),
                  F("an active product names them", 409, lambda e: Prepared(
                      f"{OWNERS_PATH}/{e.shelf.house.owner_id}/erase"))),
        foreign=lambda t: [Prepared(f"{OWNERS_PATH}/{t.b_house.owner_id}/erase"),
                           Prepared(f"{OWNERS_PATH}/{t.b_lone_owner}/erase")]),
    # --- system (public) ---
    ("GET", "/v1/health"): Route(PUBLIC, 200, _get("/v1/health")),
    ("GET", "/v1/openapi.json"): Route(PUBLIC, 200, _get("/v1/openapi.json")),
    ("GET", "/v1/docs"): Route(PUBLIC, 200, _get("/v1/docs")),
    ("GET", "/v1/docs/assets/{asset}"): Route(PUBLIC, 200, _get("/v1/docs/assets/swagger-ui.css")),
}


def expectation(key: tuple[str, str]) -> Route:
    route = EXPECTATIONS.get(key)
    if route is None:
        pytest.fail(f"{key_id(key)} is in ROUTES but not in EXPECTATIONS: add what it must do")
    return route


# The keys each matrix runs over, computed from ROUTES (not from the table), so a new route joins them.
ISOLATION_KEYS = [k for k, s in SPECS.items() if s.path_params and s.access != PUBLIC
                  and not (k in EXPECTATIONS and EXPECTATIONS[k].platform)]
PLATFORM_KEYS = [k for k in SPECS if k in EXPECTATIONS and EXPECTATIONS[k].platform]
# A list: a GET that does not end in an id (/v1/users, /v1/client-groups/{group_id}/product-owners, /v1/me) and
# answers JSON (a chart is a picture of one record).
LIST_KEYS = [k for k, s in SPECS.items() if s.method == "GET" and s.access != PUBLIC and not s.path.endswith("}")
             and s.produces is None]
WRITE_KEYS = [k for k, s in SPECS.items() if s.method in WRITE_METHODS
              and not (k in EXPECTATIONS and EXPECTATIONS[k].read_only)]
NON_PUBLIC_KEYS = [k for k, s in SPECS.items() if s.access != PUBLIC]
# Firm A's admin, and its read+write API key wherever a key may go (not the routes of a user's own sessions).
ISOLATION_CASES = [(k, who) for k in ISOLATION_KEYS for who in ("admin", "write")
                   if allowed(SPECS[k].access, who) and not (who == "write" and EXPECTATIONS[k].key_ok is not None)]
# Who makes the writes of the audit matrix, by access level (None: nobody, a public auth route).
AUDIT_ACTORS = {PUBLIC: (None,), READ: ("viewer",), WRITE: ("adviser", "write"), ADMIN: ("admin",)}
USUAL_WRITER = {PUBLIC: None, READ: "viewer", WRITE: "adviser", ADMIN: "admin"}


def test_every_route_has_an_expectation() -> None:
    missing = [key_id(k) for k in SPECS if k not in EXPECTATIONS]
    stale = [key_id(k) for k in EXPECTATIONS if k not in SPECS]
    assert not missing, f"routes without an expectation: {missing}"
    assert not stale, f"expectations for routes that no longer exist: {stale}"
    assert len(ROUTES) == len(SPECS), "a (method, path) is registered twice"


def test_expectations_pin_each_route_and_cover_each_matrix() -> None:
    problems = []
    for key, spec in SPECS.items():
        route = EXPECTATIONS.get(key)
        if route is None:
            continue  # reported by test_every_route_has_an_expectation
        if route.access != spec.access:
            problems.append(f"{key_id(key)}: access is {spec.access!r}, the table expects {route.access!r}")
        if key in WRITE_KEYS and not route.failures:
            problems.append(f"{key_id(key)}: a write with no failure case")
        if key in ISOLATION_KEYS and route.foreign is None:
            problems.append(f"{key_id(key)}: takes ids but has no calls with another firm's ids")
        if key in LIST_KEYS and route.listing is None:
            problems.append(f"{key_id(key)}: a list with no isolation listing")
        if route.key_ok is not None and spec.access not in (READ, WRITE):
            problems.append(f"{key_id(key)}: key_ok on a route API keys cannot call")
    assert not problems, "\n".join(problems)


# --- fixtures ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def module_client(app_module: Any) -> Any:
    from chalice.test import Client

    with Client(app_module.app, stage_name="local") as c:
        yield c


@pytest.fixture(scope="module")
def mfirm(database: str, module_client: Any) -> Firm:
    """The firm of the role and audit matrices (its own, so their writes touch no other test's firm), with a
    write-only API key besides make_firm's read and read+write keys."""
    firm = make_firm()
    firm.api_keys["write_only"] = create_api_key(module_client, firm.auth("admin"), ["write"])["key"]
    return firm


@pytest.fixture(scope="module")
def tenants(firm_a: Firm, firm_b: Firm, module_client: Any) -> Tenants:
    c = module_client
    a_admin, b_admin = firm_a.auth("admin"), firm_b.auth("admin")
    a_house, b_house = create_household(c, a_admin), create_household(c, b_admin)
    # Different days and amounts in each firm, so that no valuation, flow or stored IRR of one firm looks like
    # one of the other's in the lists that show no ids.
    t = Tenants(a=firm_a, b=firm_b, a_house=a_house, b_house=b_house,
                b_empty_group=create_client_group(c, b_admin)["id"],
                b_lone_owner=create_product_owner(c, b_admin)["id"],
                b_user=create_user(c, b_admin, role="adviser")["id"],
                b_key=create_api_key(c, b_admin, ["read", "write"])["id"],
                a_book=make_book(c, a_admin, a_house, day="2024-06-28", invested=("1200.00", "800.00"),
                                 values=("1500.00", "900.00")),
                b_book=make_book(c, b_admin, b_house, day="2024-05-31", invested=("3100.00", "700.00"),
                                 values=("3700.00", "650.00")),
                search_token=unique("Quillfeather"),
                b_notification=_notification_of(firm_b, firm_b.users["admin"]["id"]),
                b_statement=_statement_of(c, b_admin, b_house.group_id),
                a_elsewhere=make_elsewhere(c, a_admin, a_house, day="2024-06-28", value="410000.00", rate="0.8450"),
                b_elsewhere=make_elsewhere(c, b_admin, b_house, day="2024-05-31", value="395000.00", rate="0.8520"))
    _statement_of(c, a_admin, a_house.group_id)
    _snapshot_yesterday()  # networth_snapshots and networth_firm_totals rows of both firms
    _notification_of(firm_a, firm_a.users["admin"]["id"])
    made = {}
    for firm, house in ((firm_a, a_house), (firm_b, b_house)):  # information items (with their terms), actions
        admin = firm.auth("admin")
        made[firm.id] = (create_information_item(c, admin, house.group_id, item_type="assets_liabilities",
                                                  item_category="Property",
                                                  associated_product_owners=individual_owner(house.owner_id),
                                                  data_content={"latest_valuation": "350000.00"})["id"],
                         create_action(c, admin, house.group_id)["id"])
    t = replace(t, b_item=made[firm_b.id][0], b_action=made[firm_b.id][1])
    planned = {}
    for firm, house in ((firm_a, a_house), (firm_b, b_house)):  # sets, models, plans with two versions
        admin = firm.auth("admin")
        p = Planning(c, admin)
        create_portfolio_model(c, admin, p.cma["id"], risk_level=8)
        plan = create_plan(c, admin, house, p.cma["id"], p.model["id"], BORN)
        new_plan_version(c, admin, plan, horizon_years=22)
        create_plan(c, admin, house, p.cma["id"], p.other_model["id"], BORN)
        planned[firm.id] = (p, plan["id"])
    t = replace(t, b_cma=planned[firm_b.id][0].cma["id"], b_model=planned[firm_b.id][0].model["id"],
                a_plan=planned[firm_a.id][1], b_plan=planned[firm_b.id][1])
    ran = {}
    for firm in (firm_a, firm_b):  # a succeeded run of each firm's plan
        from chalicelib.planning.runs import service as runs

        plan_id = t.a_plan if firm is firm_a else t.b_plan
        made = expect_status(send(c, "POST", f"{PL}/{plan_id}/runs", headers=firm.auth("admin"),
                                  body={"stresses": []}), 202)
        assert runs.execute(uuid.UUID(made["id"]), firm.id)["status"] == "succeeded"
        ran[firm.id] = made["id"]
    t = replace(t, b_run=ran[firm_b.id])
    goals = {}
    for firm in (firm_a, firm_b):  # a money goal with both kinds of link and a contribution, in each firm
        admin, house = firm.auth("admin"), t.house_of(firm)
        goal = create_objective(c, admin, house.group_id, title="School fees", target_amount="90000.00",
                                target_date="2032-09-01", product_ids=[t.book_of(firm).product],
                                unmanaged_product_ids=[t.elsewhere_of(firm).product])
        goals[firm.id] = (goal["id"], add_contribution(c, admin, goal["id"], "500.00", "2024-04-30")["id"])
    t = replace(t, b_objective=goals[firm_b.id][0], b_contribution=goals[firm_b.id][1])
    t = replace(t, b_policy=_policy_of(firm_b.id))
    for firm in (firm_a, firm_b):  # rows in the sign-in tables of each firm
        env = Env(c, firm)
        user, _token, _app = _enrolled_user(env)  # user_totp, recovery_codes
        login(c, user["email"])  # a login challenge
        assert send(c, "POST", "/v1/auth/login", body={"email": user["email"], "password": "wrong"}).status_code == 401
    for admin in (a_admin, b_admin):
        create_provider(c, admin, name=f"{t.search_token} Platform")
        create_client_group(c, admin, name=f"The {t.search_token} Family")
    _refresh_views()  # the summaries and the dashboard of both firms' books
    # An idempotency record in each firm, so every tenant table has rows of both.
    for firm in (firm_a, firm_b):
        expect_status(send(c, "POST", "/v1/client-groups", headers={**firm.auth("adviser"), "Idempotency-Key":
                                                                   unique("idem")},
                           body={"name": unique("Idempotent"), "type": "individual"}), 201)
    return t


def _call(env: Env, method: str, prep: Prepared, auth: dict[str, str] | None) -> Any:
    headers = {"User-Agent": USER_AGENT, **(prep.auth if prep.auth is not None else auth or {}), **prep.headers}
    return send(env.client, method, prep.path, headers=headers, body=prep.body)


def _actor(firm: Firm, who: str) -> tuple[str, str]:
    if PRINCIPALS[who] is None:
        return "user", str(firm.users[who]["id"])
    return "api_key", api_key_id(firm.api_keys[who])


def _matches(actual: Any, expected: dict[str, Any] | None, what: str) -> None:
    if expected is None:
        assert actual is None, f"{what} must be null, is {actual}"
        return
    assert isinstance(actual, dict), f"{what} must be an object, is {actual!r}"
    for k, v in expected.items():
        assert k in actual, f"{what} lacks {k!r}: {actual}"
        if v is NOT_NULL:
            assert actual[k] is not None, f"{what}[{k!r}] must be set: {actual}"
        else:
            assert actual[k] == v, f"{what}[{k!r}] is {actual[k]!r}, expected {v!r}"


def _check_event(event: dict[str, Any], exp: AuditExpect, resp: Any, firm: Firm,
                 actor: tuple[str, str]) -> None:
    assert event["firm_id"] == firm.id
    assert (event["action"], event["resource_type"], event["resource_id"]) == (
        exp.action, exp.resource_type, str(exp.resource_id))
    assert (event["actor_type"], str(event["actor_id"])) == (exp.actor or actor)
    assert event["request_id"] == resp.headers["X-Request-Id"]
    assert (event["ip"], event["user_agent"]) == ("127.0.0.1", USER_AGENT)
    _matches(event["before"], exp.before, "before")
    _matches(event["after"], exp.after, "after")
    if exp.changed is not None:
        assert event["changed_fields"] == exp.changed
    if exp.before is None and exp.after is not None:  # a create lists every field it set
        set_fields = {k for k, v in exp.after.items() if v is not None and k != "version"}
        assert set_fields <= set(event["changed_fields"]), event["changed_fields"]


# --- 1. tenant isolation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("key,who", ISOLATION_CASES, ids=lambda v: key_id(v) if isinstance(v, tuple) else v)
def test_isolation_another_firms_ids_are_404(client: Any, tenants: Tenants, key: tuple[str, str],
                                             who: str) -> None:
    spec, route = SPECS[key], expectation(key)
    if route.foreign is None:
        pytest.fail(f"{key_id(key)} has no calls with another firm's ids")
    env = Env(client, tenants.a, who)
    calls = route.foreign(tenants)
    assert calls
    b_before, mark = firm_rows(tenants.b.id), audit_watermark()
    for prep in calls:
        assert any(i in prep.path for i in tenants.b_ids()), f"{prep.path} names none of firm B's rows"
        resp = _call(env, spec.method, prep, tenants.a.auth(who))
        body = assert_problem(resp, 404)
        # The same answer as for an id that exists nowhere: nothing tells A that B's row exists.
        nowhere = prep.path
        for b_id in tenants.b_ids():
            nowhere = nowhere.replace(b_id, str(uuid.uuid4()))
        control = assert_problem(_call(env, spec.method, replace(prep, path=nowhere), tenants.a.auth(who)), 404)
        assert {**body, "request_id": None} == {**control, "request_id": None}
    assert firm_rows(tenants.b.id) == b_before, "firm A changed firm B's rows"
    assert audit_events_since(mark) == [], "a refused call left an audit event"


@pytest.mark.parametrize("key", LIST_KEYS, ids=key_id)
def test_isolation_lists_show_exactly_the_firms_own_rows(client: Any, tenants: Tenants,
                                                         key: tuple[str, str]) -> None:
    listing = expectation(key).listing
    if listing is None:
        pytest.fail(f"{key_id(key)} has no listing expectation")
    for firm, other in ((tenants.a, tenants.b), (tenants.b, tenants.a)):
        auth, path = firm.auth("admin"), listing.path(tenants, firm)
        if listing.extract is not None:
            shown = listing.extract(expect_status(send(client, "GET", path, headers=auth), 200))
        else:
            shown = list_ids(client, path, auth, paged=listing.paged)
        assert len(shown) == len(set(shown)), f"{path} lists a row twice"
        own, others = listing.ids(tenants, firm), listing.ids(tenants, other)
        assert set(shown) == own, f"{path} for {firm.name}: missing {own - set(shown)}, extra {set(shown) - own}"
        if listing.tenant:
            assert own and others, "both firms need rows here for the check to mean anything"
            assert not set(shown) & others, f"{path} shows {firm.name} rows of {other.name}"


@pytest.mark.parametrize("key", PLATFORM_KEYS, ids=key_id)
def test_isolation_platform_records_are_the_same_for_every_firms_admin(client: Any, tenants: Tenants,
                                                                     key: tuple[str, str]) -> None:
    """A platform record (a backup) belongs to no firm: the admins of both firms read the same record (each with
    only its own part: `tables`), and nothing is written."""
    spec, route = SPECS[key], expectation(key)
    assert spec.method == "GET" and spec.access == ADMIN
    mark = audit_watermark()
    seen = []
    for firm in (tenants.a, tenants.b):
        prep = route.prepare(Env(client, firm, "admin"))
        body = expect_status(_call(Env(client, firm, "admin"), spec.method, prep, firm.auth("admin")), 200)
        seen.append({k: v for k, v in body.items() if k != "tables"})
    assert seen[0] == seen[1]
    assert audit_events_since(mark) == []


def test_isolation_other_firms_ids_in_bodies_and_filters(client: Any, tenants: Tenants) -> None:
    """An id of firm B inside a body or a filter finds nothing: never a link across firms, never B's rows."""
    a = tenants.a.auth("admin")
    b_adviser = tenants.b.users["adviser"]["id"]
    mark = audit_watermark()
    created = send(client, "POST", G, headers=a, body={"name": unique("Cross"), "type": "family",
                                                       "adviser_id": str(b_adviser)})
    assert_problem(created, 422)
    g = tenants.a_house.group_id
    patched = send(client, "PATCH", f"{G}/{g}", headers={**a, **_etag_of("client_groups", g)},
                   body={"adviser_id": str(b_adviser)})
    assert_problem(patched, 422)
    goal = {"title": "Cross", "target_amount": "10.00", "target_date": "2030-01-31"}
    assert_problem(send(client, "POST", _objectives_of(g), headers=a,
                        body={**goal, "product_ids": [tenants.b_book.product]}), 422, "product_ids")
    assert_problem(send(client, "POST", _objectives_of(g), headers=a,
                        body={**goal, "unmanaged_product_ids": [tenants.b_elsewhere.product]}), 422,
                   "unmanaged_product_ids")
    assert audit_events_since(mark) == []
    for path in (f"{G}?adviser_id={b_adviser}", f"/v1/audit-events?resource_id={tenants.b_house.group_id}",
                 f"/v1/audit-events?actor={tenants.b.users['admin']['id']}", f"{OWNERS_PATH}?q=Owner"):
        shown = set(list_ids(client, path, a))
        assert not shown & ids_of("SELECT id FROM client_groups WHERE firm_id = %(f)s UNION ALL "
                                  "SELECT id FROM product_owners WHERE firm_id = %(f)s UNION ALL "
                                  "SELECT id FROM audit_events WHERE firm_id = %(f)s", {"f": tenants.b.id}), path


def test_isolation_other_firms_ids_in_product_bodies_and_filters(client: Any, tenants: Tenants) -> None:
    """Firm B's owner, provider, generation, fund or portfolio fund named in firm A's own product writes is
    unknown (422), never linked; B's ISIN finds none of B's funds; B's rows and the audit trail are unchanged."""
    a, ab, bb, house = tenants.a.auth("admin"), tenants.a_book, tenants.b_book, tenants.a_house
    products = _products_of(house.group_id)
    base = {"name": unique("Cross"), "product_type": "gia", "start_date": "2021-04-06",
            "ownership": _individual(house.owner_id)}
    b_before, mark = firm_rows(tenants.b.id), audit_watermark()
    refused = [
        ("POST", products, {**base, "ownership": _individual(tenants.b_house.owner_id)}),
        ("POST", products, {**base, "ownership": {"association_type": "joint",
                                                  "joint_owners": [house.owner_id, tenants.b_house.owner_id]}}),
        ("POST", products, {**base, "provider_id": bb.provider}),
        ("POST", products, {**base, "template_generation_id": bb.generation}),
        ("POST", f"{PR}/{ab.product}/funds", {"fund_id": bb.fund, "start_date": "2024-01-01"}),
        ("POST", f"{TP}/{ab.template}/generations", {"funds": [{"fund_id": bb.fund, "target_weighting": "100.00"}]}),
        ("POST", f"{PR}/{ab.product}/valuations:bulk", {"valuations": [
            {"portfolio_fund_id": bb.pf, "valuation_date": "2024-07-31", "value": "1.00"}]}),
        ("POST", f"{PR}/{ab.product}/activity:bulk", {"activities": [
            {"portfolio_fund_id": bb.pf, "activity_date": "2024-07-01", "activity_type": "withdrawal",
             "amount": "1.00"}]}),
    ]
    for method, path, body in refused:
        assert_problem(send(client, method, path, headers=a, body=body), 422)
    for prep in (Prepared(f"{PR}/{ab.product}", {"provider_id": bb.provider}, _etag_of("products", ab.product)),
                 Prepared(f"{PR}/{ab.product}", {"ownership": _individual(tenants.b_house.owner_id)},
                          _etag_of("products", ab.product))):
        assert_problem(send(client, "PATCH", prep.path, headers={**a, **prep.headers}, body=prep.body), 422)
    assert audit_events_since(mark) == []
    assert firm_rows(tenants.b.id) == b_before
    b_isin = owner_sql("SELECT isin FROM funds WHERE id = %s", (bb.fund,))[0]["isin"]
    assert list_ids(client, f"{FD}?isin={b_isin}", a) == []


def test_isolation_another_firms_portfolio_funds_in_an_irr_selection(client: Any, tenants: Tenants) -> None:
    """POST /v1/irr naming firm B's portfolio funds (alone or among A's) is the same 404 as naming funds that exist
    nowhere: nothing tells A that B's rows exist, and nothing is written."""
    a, ab, bb = tenants.a.auth("read"), tenants.a_book, tenants.b_book
    b_before, mark = firm_rows(tenants.b.id), audit_watermark()
    for ids in ([bb.pf], [ab.pf, bb.pf], [ab.pf, ab.other_pf, bb.cash_pf]):
        body = assert_problem(send(client, "POST", "/v1/irr", headers=a, body={"portfolio_fund_ids": ids}), 404)
        nowhere = [i if i in (ab.pf, ab.other_pf) else str(uuid.uuid4()) for i in ids]
        control = assert_problem(send(client, "POST", "/v1/irr", headers=a, body={"portfolio_fund_ids": nowhere}),
                                 404)
        assert {**body, "request_id": None} == {**control, "request_id": None}
        assert not any(i in body["detail"] for i in ids)
    assert expect_status(send(client, "POST", "/v1/irr", headers=a, body={"portfolio_fund_ids": [ab.pf]}),
                         200)["irr"] is not None
    assert audit_events_since(mark) == []
    assert firm_rows(tenants.b.id) == b_before


def _app_connection() -> psycopg.Connection:
    return psycopg.connect(config.app_database_url(), autocommit=False)


def _firm_column(table: str) -> str:
    return "id" if table == "firms" else "firm_id"


def _assert_both_firms_have_rows(tenants: Tenants) -> None:
    for table in TENANT_TABLES:
        for firm in (tenants.a, tenants.b):
            n = owner_sql(f"SELECT count(*) AS n FROM {table} WHERE {_firm_column(table)} = %s", (firm.id,))[0]["n"]
            assert n > 0, f"{table} has no row of {firm.name}: the check below would prove nothing"


def test_app_role_without_a_firm_sees_no_tenant_row(tenants: Tenants) -> None:
    _assert_both_firms_have_rows(tenants)
    with _app_connection() as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == config.APP_ROLE
        assert conn.execute("SELECT current_setting('app.firm_id', true)").fetchone()[0] in (None, "")
        for table in TENANT_TABLES:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
        # Nor does the setting row-level security once read: empty, a firm that does not exist, or a real firm.
        for value in ("", str(uuid.uuid4()), str(tenants.a.id)):
            conn.execute("SELECT set_config('app.firm_id', %s, true)", (value,))
            for table in TENANT_TABLES:
                assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, (table, value)
            conn.rollback()


def _enter(conn: psycopg.Connection, firm: Firm, role: str = "admin") -> None:
    """Enter `firm` as the app role does: with a live session of one of its users, verified by PostgreSQL."""
    claims = jwt.decode(firm.tokens[role], options={"verify_signature": False})
    [ok] = conn.execute("SELECT auth_enter_session(%s, %s, %s, %s)",
                        (claims["sid"], claims["sub"], claims["firm"], claims["role"])).fetchone()
    assert ok, f"{firm.name}'s {role} session was refused"


def test_app_role_with_a_firm_sees_only_that_firms_rows(tenants: Tenants) -> None:
    _assert_both_firms_have_rows(tenants)
    with _app_connection() as conn:
        for firm in (tenants.a, tenants.b):
            _enter(conn, firm)
            conn.execute("SELECT set_config('app.firm_id', %s, true)", (str(tenants.b.id if firm is tenants.a
                                                                             else tenants.a.id),))
            for table in TENANT_TABLES:
                col = _firm_column(table)
                seen = conn.execute(f"SELECT {col}, count(*) FROM {table} GROUP BY {col}").fetchall()
                expected = owner_sql(f"SELECT count(*) AS n FROM {table} WHERE {col} = %s", (firm.id,))[0]["n"]
                assert seen == [(firm.id, expected)], (table, firm.name, seen)
            conn.rollback()


def test_app_role_cannot_write_another_firms_rows(tenants: Tenants) -> None:
    b_group = tenants.b_house.group_id
    before = firm_rows(tenants.b.id)
    with _app_connection() as conn:
        _enter(conn, tenants.a)
        conn.execute("SELECT set_config('app.firm_id', %s, true)", (str(tenants.b.id),))  # a free setting: no effect
        assert conn.execute("UPDATE client_groups SET name = 'Hijacked' WHERE id = %s", (b_group,)).rowcount == 0
        assert conn.execute("DELETE FROM client_group_product_owners WHERE client_group_id = %s",
                            (b_group,)).rowcount == 0
        assert conn.execute("UPDATE users SET role = 'viewer' WHERE firm_id = %s", (tenants.b.id,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO client_groups (firm_id, name, type) VALUES (%s, 'Planted', 'family')",
                         (tenants.b.id,))
        conn.rollback()
        _enter(conn, tenants.a)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # moving A's row into B
            conn.execute("UPDATE client_groups SET firm_id = %s WHERE id = %s",
                         (tenants.b.id, tenants.a_house.group_id))
        conn.rollback()
    assert firm_rows(tenants.b.id) == before


def test_app_role_cannot_switch_row_security_off(tenants: Tenants) -> None:
    b_ids = ids_of("SELECT id FROM client_groups WHERE firm_id = %s", (tenants.b.id,))
    with _app_connection() as conn:
        conn.execute("SET row_security = off")
        for firm_id in ("", str(tenants.a.id)):
            conn.execute("SELECT set_config('app.firm_id', %s, false)", (firm_id,))
            try:
                rows = conn.execute("SELECT id, firm_id FROM client_groups").fetchall()
            except psycopg.errors.InsufficientPrivilege:
                conn.rollback()  # "query would be affected by row-level security policy": refused, as it should be
                continue
            assert not {str(r[0]) for r in rows} & b_ids, "row_security = off showed another firm's rows"
            assert all(r[1] == tenants.a.id for r in rows)
            conn.rollback()


def test_app_role_owns_nothing_and_cannot_bypass_rls() -> None:
    role = config.APP_ROLE
    [r] = owner_sql("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
                    (role,))
    assert r == {"rolsuper": False, "rolbypassrls": False, "rolcreaterole": False, "rolcreatedb": False}
    owned = owner_sql(
        "SELECT 'relation ' || c.relname AS what FROM pg_class c WHERE c.relowner = to_regrole(%(r)s) "
        "UNION ALL SELECT 'function ' || p.proname FROM pg_proc p WHERE p.proowner = to_regrole(%(r)s) "
        "UNION ALL SELECT 'schema ' || n.nspname FROM pg_namespace n WHERE n.nspowner = to_regrole(%(r)s) "
        "UNION ALL SELECT 'database ' || d.datname FROM pg_database d WHERE d.datdba = to_regrole(%(r)s)",
        {"r": role})
    assert owned == []
    [owner] = owner_sql("SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'client_groups'")
    # Not a member of the owner (no SET ROLE to it, no inherited privileges or policies).
    assert owner_sql("SELECT pg_has_role(%s, %s, 'MEMBER') AS m", (role, owner["tableowner"]))[0]["m"] is False
    with _app_connection() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(f'SET ROLE "{owner["tableowner"]}"')


def test_every_table_with_a_firm_id_is_a_tenant_table_with_forced_rls() -> None:
    role = config.APP_ROLE
    rows = owner_sql(
        "SELECT c.relname, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced, c.relispartition AS part, "
        "has_table_privilege(%s, c.oid, 'SELECT,INSERT,UPDATE,DELETE') AS app_may "
        "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'firm_id' AND NOT a.attisdropped "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')", (role,))
    # auth_context is not a firm's data but the verified context itself: one row per backend, which only that
    # backend may read and only the owner's functions write (tests/integration/test_app_role_tenancy.py).
    rows = [r for r in rows if r["relname"] != "auth_context"]
    tables = {r["relname"] for r in rows if not r["part"]} | {"firms"}
    assert tables == set(TENANT_TABLES), "a table with firm_id is missing from TENANT_TABLES (or one went away)"
    for r in rows:
        if r["part"]:  # a partition: only reachable through its parent, which applies the parent's policies
            assert not r["app_may"], f"the app role may use partition {r['relname']} directly"
        else:
            assert r["rls"] and r["forced"], f"{r['relname']} lacks ENABLE/FORCE ROW LEVEL SECURITY"
    [firms] = owner_sql("SELECT relrowsecurity AND relforcerowsecurity AS ok FROM pg_class "
                        "WHERE oid = 'public.firms'::regclass")
    assert firms["ok"]
    # Every policy the app role is subject to filters on the verified firm (current_firm_id()).
    policies = owner_sql("SELECT tablename, policyname, qual, with_check FROM pg_policies "
                         "WHERE schemaname = 'public' AND (roles && ARRAY['public', %s]::name[]) "
                         "AND tablename <> 'auth_context'", (role,))
    assert {p["tablename"] for p in policies} == set(TENANT_TABLES)
    for p in policies:
        for clause in (p["qual"], p["with_check"]):
            assert clause and "current_firm_id()" in clause, p


# --- 2. roles ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", list(PRINCIPALS))
@pytest.mark.parametrize("key", ROUTE_KEYS, ids=key_id)
def test_role_matrix(client: Any, mfirm: Firm, key: tuple[str, str], who: str) -> None:
    spec, route = SPECS[key], expectation(key)
    env = Env(client, mfirm, who)
    prep = route.prepare(env)
    ok = allowed(spec.access, who)
    before = firm_rows(mfirm.id, [t for t in TENANT_TABLES if t != "audit_events"]) if not ok else None
    mark = audit_watermark()
    resp = _call(env, spec.method, prep, mfirm.auth(who))
    events = audit_events_since(mark)
    if not ok:
        assert_problem(resp, 403)
        assert events == [], "a forbidden call left an audit event"
        assert firm_rows(mfirm.id, [t for t in TENANT_TABLES if t != "audit_events"]) == before
        return
    expected = route.key_ok if route.key_ok is not None and PRINCIPALS[who] is not None else route.ok
    assert resp.status_code == expected, f"{who}: {resp.status_code} {resp.body[:300]!r}"
    if spec.method in WRITE_METHODS and not route.read_only and 200 <= expected < 300:
        assert len(events) == 1, events
        actor = _actor(mfirm, who) if spec.access != PUBLIC else None
        made_for = prep.audit(resp).actor if prep.audit is not None else None
        if actor is not None and made_for is not None:  # a call made as a new user of the caller's role
            assert owner_sql("SELECT role FROM users WHERE id = %s", (made_for[1],))[0]["role"] == who
            actor = made_for
        if actor is not None:
            assert (events[0]["actor_type"], str(events[0]["actor_id"])) == actor
    elif spec.method == "GET" or route.read_only:
        assert events == [], "a read left an audit event"


def _bad_credentials(client: Any, firm: Firm) -> dict[str, dict[str, str]]:
    now, secret = int(time.time()), os.environ["JWT_SECRET"]
    admin = firm.users["admin"]
    # A live session of the admin's: every request checks the token's session, so the control needs a real one.
    sid = jwt.decode(firm.tokens["admin"], options={"verify_signature": False})["sid"]

    def token(exp: int, key: str = secret, alg: str = "HS256") -> str:
        claims = {"iss": "wealthdesk", "sub": str(admin["id"]), "firm": str(firm.id), "role": "admin",
                  "sid": sid, "iat": now - 3600, "exp": exp, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, key if alg != "none" else None, algorithm=alg)

    # The control: the same claims, signed right and not expired, are accepted.
    expect_status(send(client, "GET", "/v1/client-groups", headers=bearer(token(now + 600))), 200)
    revoked = create_api_key(client, firm.auth("admin"), ["read", "write"])
    expect_status(send(client, "DELETE", f"{K}/{revoked['id']}", headers=firm.auth("admin")), 204)
    expired = create_api_key(client, firm.auth("admin"), ["read", "write"])
    owner_sql("UPDATE api_keys SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' "
              "WHERE id = %s", (expired["id"],))
    real = firm.api_keys["write"]
    return {
        "none": {},
        "empty bearer": {"Authorization": "Bearer "},
        "garbage": bearer("not-a-token"),
        "basic scheme": {"Authorization": "Basic YWRtaW46cGFzc3dvcmQ="},
        "expired jwt": bearer(token(now - 60)),
        "jwt of another secret": bearer(token(now + 600, key="another-secret-" + "y" * 40)),
        "unsigned jwt": bearer(token(now + 600, alg="none")),
        "tampered jwt": bearer(token(now + 600)[:-4] + "AAAA"),
        "unknown api key": bearer("wdk_AAAAAAAA_" + "B" * 40),
        "api key with a wrong secret": bearer(real[:13] + ("C" * 40 if real[13:] != "C" * 40 else "D" * 40)),
        "revoked api key": bearer(revoked["key"]),
        "expired api key": bearer(expired["key"]),
    }


@pytest.fixture(scope="module")
def bad_credentials(module_client: Any, mfirm: Firm) -> dict[str, dict[str, str]]:
    return _bad_credentials(module_client, mfirm)


@pytest.mark.parametrize("key", NON_PUBLIC_KEYS, ids=key_id)
def test_no_or_bad_credentials_are_401(client: Any, mfirm: Firm, bad_credentials: dict[str, dict[str, str]],
                                       key: tuple[str, str]) -> None:
    spec = SPECS[key]
    prep = expectation(key).prepare(Env(client, mfirm, None))  # a valid call but for its credentials
    before, mark = firm_rows(mfirm.id, [t for t in TENANT_TABLES if t != "audit_events"]), audit_watermark()
    for name, auth in bad_credentials.items():
        resp = _call(Env(client, mfirm), spec.method, prep, auth)
        assert_problem(resp, 401)
        assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer"), (name, resp.headers)
    assert audit_events_since(mark) == []
    assert firm_rows(mfirm.id, [t for t in TENANT_TABLES if t != "audit_events"]) == before


# --- 3. audit ----------------------------------------------------------------------------------------------------

AUDIT_CASES = [(k, who) for k in WRITE_KEYS for who in AUDIT_ACTORS[SPECS[k].access]]
FAILURE_CASES = [(k, i) for k in WRITE_KEYS
                 for i in range(max(1, len(EXPECTATIONS[k].failures) if k in EXPECTATIONS else 1))]


@pytest.mark.parametrize("key,who", AUDIT_CASES, ids=lambda v: key_id(v) if isinstance(v, tuple) else str(v))
def test_audit_matrix_each_write_leaves_exactly_one_event(client: Any, mfirm: Firm, key: tuple[str, str],
                                                          who: str | None) -> None:
    spec, route = SPECS[key], expectation(key)
    env = Env(client, mfirm, who)
    prep = route.prepare(env)
    assert prep.audit is not None, f"{key_id(key)} has no audit expectation"
    mark = audit_watermark()
    resp = _call(env, spec.method, prep, mfirm.auth(who) if who else None)
    assert resp.status_code == route.ok, resp.body[:300]
    events = audit_events_since(mark)
    assert len(events) == 1, [(e["action"], e["resource_id"]) for e in events]
    actor = _actor(mfirm, who) if who else ("", "")
    _check_event(events[0], prep.audit(resp), resp, mfirm, actor)


@pytest.mark.parametrize("key,index", FAILURE_CASES, ids=lambda v: key_id(v) if isinstance(v, tuple) else str(v))
def test_audit_matrix_a_failed_write_leaves_nothing(client: Any, mfirm: Firm, key: tuple[str, str],
                                                    index: int) -> None:
    spec, route = SPECS[key], expectation(key)
    if index >= len(route.failures):
        pytest.fail(f"{key_id(key)} has no failure case")
    failure = route.failures[index]
    who = failure.who or USUAL_WRITER[spec.access]
    env = Env(client, mfirm, who)
    prep = failure.prepare(env)
    if spec.method == "POST":  # the idempotency record must roll back with the write
        prep.headers.setdefault("Idempotency-Key", unique("failing"))
    before, mark = firm_rows(mfirm.id), audit_watermark()
    resp = _call(env, spec.method, prep, mfirm.auth(who) if who else None)
    assert_problem(resp, failure.status)
    assert audit_events_since(mark) == [], f"{failure.name}: a failed write left an audit event"
    assert firm_rows(mfirm.id) == before, f"{failure.name}: a failed write changed the firm's rows"


def test_audit_a_wrong_password_is_the_one_failure_that_is_recorded(client: Any, mfirm: Firm) -> None:
    """Refused logins are evidence: one auth.login_failed event, with the count, never the password."""
    user = create_user(client, mfirm.auth("admin"), role="viewer", password=unique("a-long-passphrase"))
    wrong = unique("not-the-password")
    mark = audit_watermark()
    resp = _call(Env(client, mfirm), "POST", Prepared("/v1/auth/login", {"email": user["email"],
                                                                          "password": wrong}), None)
    assert_problem(resp, 401)
    [event] = audit_events_since(mark)
    _check_event(event, AuditExpect("auth.login_failed", "user", user["id"], {"failed_logins": 0},
                                    {"failed_logins": 1}, actor=("user", user["id"])), resp, mfirm, ("", ""))
    assert wrong not in str(event)


def test_audit_a_reused_refresh_token_is_recorded_and_revokes_the_chain(client: Any, mfirm: Firm) -> None:
    """A used refresh token presented again is theft: 401, one auth.refresh_reuse event, the chain (the used
    session and the one it was rotated into) revoked."""
    user = mfirm.users["analyst"]
    first = login(client, user["email"])
    chain = session_chain(first["refresh_token"])
    rotated = expect_status(send(client, "POST", "/v1/auth/refresh",
                                 body={"refresh_token": first["refresh_token"]}), 200)
    mark = audit_watermark()
    resp = _call(Env(client, mfirm), "POST", Prepared("/v1/auth/refresh",
                                                       {"refresh_token": first["refresh_token"]}), None)
    assert_problem(resp, 401)
    [event] = audit_events_since(mark)
    _check_event(event, AuditExpect("auth.refresh_reuse", "session", chain, None, {"revoked": 2},
                                    actor=("system", "None")), resp, mfirm, ("", ""))
    assert owner_sql("SELECT count(*) AS n FROM sessions WHERE chain_id = %s AND revoked_at IS NULL",
                     (chain,))[0]["n"] == 0
    assert_problem(send(client, "POST", "/v1/auth/refresh", body={"refresh_token": rotated["refresh_token"]}), 401)


def test_audit_a_repeated_membership_put_is_one_event_that_changes_nothing(client: Any, mfirm: Firm) -> None:
    """PUT is idempotent: the second is a 200 and its event says nothing changed."""
    env = Env(client, mfirm, "adviser")
    house = env.household()
    mark = audit_watermark()
    resp = _call(env, "PUT", Prepared(_member_path(house.group_id, house.owner_id)), mfirm.auth("adviser"))
    assert resp.status_code == 200 and resp.json_body["id"] == house.owner_id
    [event] = audit_events_since(mark)
    same = {"product_owner_id": house.owner_id}
    _check_event(event, AuditExpect("client_group.add_product_owner", "client_group", house.group_id, same, same,
                                    changed=[]), resp, mfirm, _actor(mfirm, "adviser"))
    assert ids_of("SELECT product_owner_id FROM client_group_product_owners WHERE client_group_id = %s",
                  (house.group_id,)) == {house.owner_id}


def test_audit_an_idempotent_replay_writes_nothing_more(client: Any, mfirm: Firm) -> None:
    headers = {**mfirm.auth("adviser"), "Idempotency-Key": unique("idem")}
    body = {"name": unique("Once"), "type": "individual"}
    mark = audit_watermark()
    first = send(client, "POST", G, headers=headers, body=body)
    second = send(client, "POST", G, headers=headers, body=body)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json_body["id"] == first.json_body["id"] and second.headers.get("Idempotent-Replayed") == "true"
    events = audit_events_since(mark)
    assert [(e["action"], e["resource_id"]) for e in events] == [("client_group.create", first.json_body["id"])]
    assert ids_of("SELECT id FROM client_groups WHERE name = %s", (body["name"],)) == {first.json_body["id"]}


def test_audit_trail_never_holds_a_secret(client: Any, mfirm: Firm) -> None:
    """Every secret-bearing write, then a search of the whole trail for secret fields and the secrets themselves."""
    admin = mfirm.auth("admin")
    first_pw, second_pw, wrong_pw = (unique("first-passphrase"), unique("second-passphrase"),
                                     unique("wrong-passphrase"))
    user = create_user(client, admin, role="adviser", password=first_pw)
    generated = create_user(client, admin, role="viewer")  # the password generated and shown once
    patched = send(client, "PATCH", f"{U}/{user['id']}", headers={**admin, **_if_match(1)},
                   body={"password": second_pw})
    expect_status(patched, 200)
    assert_problem(send(client, "POST", "/v1/auth/login", body={"email": user["email"], "password": wrong_pw}), 401)
    tokens = login(client, user["email"], second_pw)
    rotated = expect_status(send(client, "POST", "/v1/auth/refresh",
                                 body={"refresh_token": tokens["refresh_token"]}), 200)
    assert_problem(send(client, "POST", "/v1/auth/refresh", body={"refresh_token": tokens["refresh_token"]}), 401)
    fresh = login(client, user["email"], second_pw)
    expect_status(send(client, "POST", "/v1/auth/logout", headers=bearer(fresh["access_token"])), 204)
    key = create_api_key(client, admin, ["read", "write"])
    expect_status(send(client, "GET", G, headers=bearer(key["key"])), 200)
    expect_status(send(client, "DELETE", f"{K}/{key['id']}", headers=admin), 204)

    [changed] = owner_sql("SELECT after, changed_fields FROM audit_events WHERE firm_id = %s AND action = "
                          "'user.update' AND resource_id = %s", (mfirm.id, user["id"]))
    assert changed["after"]["password_changed"] is True and "password_hash" not in changed["changed_fields"]
    secrets = [PASSWORD, first_pw, second_pw, wrong_pw, generated["password"], key["key"], key["key"][13:],
               tokens["access_token"], tokens["refresh_token"], rotated["access_token"], rotated["refresh_token"],
               fresh["access_token"], fresh["refresh_token"]]
    assert all(secrets)
    for text in audit_json(mfirm.id):
        for secret in secrets:
            assert secret not in text, f"a secret is in the audit trail: {text[:300]}"
    for text in audit_json():  # every firm's trail, whoever wrote it
        for name in ('"password_hash"', '"key_hash"', '"token_hash"', '"password"', '"refresh_token"',
                     '"access_token"', '"key"'):
            assert name not in text, f"{name} is in the audit trail: {text[:300]}"
