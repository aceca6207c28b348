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

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import jwt
import psycopg
import pytest

import chalicelib.routes  # noqa: F401  (registers every route in ROUTES)
from chalicelib.core import config
from chalicelib.core.http import ADMIN, PUBLIC, READ, ROUTES, WRITE, RouteSpec
from tests.conftest import PASSWORD, Firm, make_firm, owner_sql
from tests.integration.matrix_support import (TENANT_TABLES, Household, api_key_id, assert_problem,
                                              audit_events_since, audit_json, audit_watermark, bearer,
                                              create_api_key, create_client_group, create_household,
                                              create_product_owner, create_user, expect_status, firm_rows, ids_of,
                                              list_ids, login, row_version, send, session_chain, unique,
                                              unique_email)

USER_AGENT = "wealthdesk-matrix-tests/1.0"
ROLES = ("admin", "adviser", "analyst", "viewer")
# Principal -> the scopes of its API key (None: a user, by role).
PRINCIPALS: dict[str, frozenset[str] | None] = {
    "admin": None, "adviser": None, "analyst": None, "viewer": None,
    "read": frozenset({"read"}), "write": frozenset({"read", "write"}), "write_only": frozenset({"write"}),
}
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
        """The user a public auth call logs in as: the caller's own user, else the viewer."""
        return self.firm.users[self.who if self.who in ROLES else "viewer"]


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

    def house_of(self, firm: Firm) -> Household:
        return self.a_house if firm is self.a else self.b_house

    def b_ids(self) -> set[str]:
        return {self.b_house.group_id, self.b_house.owner_id, self.b_empty_group, self.b_lone_owner, self.b_user,
                self.b_key, str(self.b.users["admin"]["id"])}


@dataclass(frozen=True)
class Listing:
    """A list route: what the firm must see (all its rows, nothing else)."""

    path: Callable[[Tenants, Firm], str]  # what the firm's admin lists
    ids: Callable[[Tenants, Firm], set[str]]  # the firm's rows, read as the owner
    paged: bool = True
    tenant: bool = True  # False: platform rows (job runs) that every firm's admin sees
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
    expires = (datetime.now(timezone.utc) + timedelta(days=90)).replace(microsecond=0)
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


def _get(path: str | Callable[[Env], str]) -> Callable[[Env], Prepared]:
    return lambda env: Prepared(path(env) if callable(path) else path)


F = Failure
G, O, M, U, K = ("/v1/client-groups", "/v1/product-owners", "/v1/client-groups/{g}/product-owners/{o}",
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
        READ, 200, _get(O),
        listing=Listing(lambda t, f: O, _firm_ids("product_owners"))),
    ("POST", "/v1/product-owners"): Route(WRITE, 201, _create_owner, failures=(
        F("born tomorrow", 422, lambda e: Prepared(O, {"first_name": "A", "surname": "B",
                                                       "date_of_birth": str(date.today() + timedelta(days=1))})),
        F("no surname", 422, lambda e: Prepared(O, {"first_name": "A"})),
        F("bad email", 422, lambda e: Prepared(O, {"first_name": "A", "surname": "B", "email": "not-an-email"})),
    )),
    ("GET", "/v1/product-owners/{owner_id}"): Route(
        READ, 200, _get(lambda e: f"{O}/{e.owner()['id']}"),
        foreign=lambda t: [Prepared(f"{O}/{t.b_house.owner_id}"), Prepared(f"{O}/{t.b_lone_owner}")]),
    ("PATCH", "/v1/product-owners/{owner_id}"): Route(
        WRITE, 200, _patch_owner,
        failures=(
            F("stale If-Match", 412, lambda e: Prepared(f"{O}/{e.owner()['id']}", {"surname": "Late"}, _if_match(5))),
            F("unknown status", 422, lambda e: Prepared(f"{O}/{e.owner()['id']}", {"status": "zombie"},
                                                        _if_match(1))),
        ),
        foreign=lambda t: [Prepared(f"{O}/{o}", {"surname": "Hijacked"}, _etag_of("product_owners", o))
                           for o in (t.b_house.owner_id, t.b_lone_owner)]),
    ("DELETE", "/v1/product-owners/{owner_id}"): Route(
        WRITE, 204, _delete_owner,
        failures=(F("in a group", 409, lambda e: Prepared(f"{O}/{e.household().owner_id}")),),
        foreign=lambda t: [Prepared(f"{O}/{t.b_house.owner_id}"), Prepared(f"{O}/{t.b_lone_owner}")]),
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
    # --- ops ---
    ("GET", "/v1/ops/job-runs"): Route(
        ADMIN, 200, _get("/v1/ops/job-runs"),
        listing=Listing(lambda t, f: "/v1/ops/job-runs", lambda t, firm: ids_of("SELECT id FROM job_runs"),
                        tenant=False)),
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
ISOLATION_KEYS = [k for k, s in SPECS.items() if s.path_params and s.access != PUBLIC]
# A list: a GET that does not end in an id (/v1/users, /v1/client-groups/{group_id}/product-owners, /v1/me).
LIST_KEYS = [k for k, s in SPECS.items() if s.method == "GET" and s.access != PUBLIC and not s.path.endswith("}")]
WRITE_KEYS = [k for k, s in SPECS.items() if s.method in WRITE_METHODS]
NON_PUBLIC_KEYS = [k for k, s in SPECS.items() if s.access != PUBLIC]
# Firm A's admin, and its read+write API key wherever a key may go.
ISOLATION_CASES = [(k, who) for k in ISOLATION_KEYS for who in ("admin", "write") if allowed(SPECS[k].access, who)]
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
    t = Tenants(a=firm_a, b=firm_b,
                a_house=create_household(c, a_admin), b_house=create_household(c, b_admin),
                b_empty_group=create_client_group(c, b_admin)["id"],
                b_lone_owner=create_product_owner(c, b_admin)["id"],
                b_user=create_user(c, b_admin, role="adviser")["id"],
                b_key=create_api_key(c, b_admin, ["read", "write"])["id"])
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
    assert audit_events_since(mark) == []
    for path in (f"{G}?adviser_id={b_adviser}", f"/v1/audit-events?resource_id={tenants.b_house.group_id}",
                 f"/v1/audit-events?actor={tenants.b.users['admin']['id']}", f"{O}?q=Owner"):
        shown = set(list_ids(client, path, a))
        assert not shown & ids_of("SELECT id FROM client_groups WHERE firm_id = %(f)s UNION ALL "
                                  "SELECT id FROM product_owners WHERE firm_id = %(f)s UNION ALL "
                                  "SELECT id FROM audit_events WHERE firm_id = %(f)s", {"f": tenants.b.id}), path


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
        # An empty setting and a firm that does not exist fare no better.
        for value in ("", str(uuid.uuid4())):
            conn.execute("SELECT set_config('app.firm_id', %s, true)", (value,))
            for table in TENANT_TABLES:
                assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, (table, value)
            conn.rollback()


def test_app_role_with_a_firm_sees_only_that_firms_rows(tenants: Tenants) -> None:
    _assert_both_firms_have_rows(tenants)
    with _app_connection() as conn:
        for firm in (tenants.a, tenants.b):
            conn.execute("SELECT set_config('app.firm_id', %s, true)", (str(firm.id),))
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
        conn.execute("SELECT set_config('app.firm_id', %s, true)", (str(tenants.a.id),))
        assert conn.execute("UPDATE client_groups SET name = 'Hijacked' WHERE id = %s", (b_group,)).rowcount == 0
        assert conn.execute("DELETE FROM client_group_product_owners WHERE client_group_id = %s",
                            (b_group,)).rowcount == 0
        assert conn.execute("UPDATE users SET role = 'viewer' WHERE firm_id = %s", (tenants.b.id,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO client_groups (firm_id, name, type) VALUES (%s, 'Planted', 'family')",
                         (tenants.b.id,))
        conn.rollback()
        conn.execute("SELECT set_config('app.firm_id', %s, true)", (str(tenants.a.id),))
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
    # Every policy the app role is subject to filters on the tenant setting.
    policies = owner_sql("SELECT tablename, policyname, qual, with_check FROM pg_policies "
                         "WHERE schemaname = 'public' AND (roles && ARRAY['public', %s]::name[])", (role,))
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
    if spec.method in WRITE_METHODS and 200 <= expected < 300:
        assert len(events) == 1, events
        actor = _actor(mfirm, who) if spec.access != PUBLIC else None
        if actor is not None:
            assert (events[0]["actor_type"], str(events[0]["actor_id"])) == actor
    elif spec.method == "GET":
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
