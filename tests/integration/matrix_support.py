"""Helpers for tests that need a firm's data and want to check what the database holds afterwards.

Data is made through the real handlers (a `chalice.test.Client`), so it carries the same audit trail and defaults
as a client's; assertions read the database as the owner role (`owner_sql`, which sees every firm).

    from tests.integration.matrix_support import create_household, firm_rows, audit_watermark, audit_events_since

    house = create_household(client, firm_a.auth("adviser"))
    before, mark = firm_rows(firm_a.id), audit_watermark()
    ...  # the request under test
    assert firm_rows(firm_a.id) == before and audit_events_since(mark) == []
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from tests.conftest import PASSWORD, owner_sql

PROBLEM_JSON = "application/problem+json"

# Every table that holds one firm's rows (firms itself by id, the others by firm_id), in dependency order.
TENANT_TABLES = ("firms", "users", "sessions", "api_keys", "client_groups", "product_owners",
                 "client_group_product_owners", "audit_events", "idempotency_keys")
_ORDER_BY = {"client_group_product_owners": ("client_group_id", "product_owner_id"),
             "idempotency_keys": ("principal_id", "key")}
# Columns that change without a write request: authenticating with an API key stamps last_used_at.
VOLATILE_COLUMNS = {"api_keys": frozenset({"last_used_at"})}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_email(prefix: str = "user") -> str:
    return f"{unique(prefix)}@example.co.uk"


# --- requests ---------------------------------------------------------------------------------------------------

def send(client: Any, method: str, path: str, *, headers: dict[str, str] | None = None, body: Any = None) -> Any:
    """One request through the real handler. A dict or list body is sent as JSON (Content-Type set unless given);
    a str or bytes body is sent as is."""
    h = dict(headers or {})
    raw = b""
    if isinstance(body, (dict, list)):
        raw = json.dumps(body).encode()
        if not any(k.lower() == "content-type" for k in h):
            h["Content-Type"] = "application/json"
    elif isinstance(body, str):
        raw = body.encode()
    elif isinstance(body, bytes):
        raw = body
    return client.http.request(method, path, headers=h, body=raw)


def expect_status(resp: Any, status: int) -> Any:
    """Asserts the status and returns the JSON body (None when there is none)."""
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.body[:500]!r}"
    return resp.json_body


def assert_problem(resp: Any, status: int) -> dict[str, Any]:
    """An RFC 9457 problem+json answer with this status, and no stack trace."""
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.body[:500]!r}"
    assert resp.headers.get("Content-Type") == PROBLEM_JSON, resp.headers
    body = resp.json_body
    assert isinstance(body, dict), resp.body[:500]
    assert body["status"] == status and body["type"] and body["title"] and body["detail"], body
    assert b"Traceback" not in resp.body
    return body


def list_ids(client: Any, path: str, auth: dict[str, str], *, paged: bool = True) -> list[str]:
    """Every item id of a list endpoint, following next_cursor (pages of 200 when the route is paged)."""
    ids: list[str] = []
    cursor: str | None = None
    sep = "&" if "?" in path else "?"
    while True:
        url = path
        if paged:
            url += f"{sep}limit=200" + (f"&cursor={cursor}" if cursor else "")
        body = expect_status(send(client, "GET", url, headers=auth), 200)
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return ids
        assert paged, f"{path} returned a cursor but takes no paging parameters"


# --- building a firm's data through the API ----------------------------------------------------------------------

def create_client_group(client: Any, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": unique("Household"), "type": "family", **fields}
    return expect_status(send(client, "POST", "/v1/client-groups", headers=auth, body=body), 201)


def create_product_owner(client: Any, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Alex", "surname": unique("Owner"), **fields}
    return expect_status(send(client, "POST", "/v1/product-owners", headers=auth, body=body), 201)


def add_member(client: Any, auth: dict[str, str], group_id: Any, owner_id: Any) -> dict[str, Any]:
    return expect_status(send(client, "PUT", f"/v1/client-groups/{group_id}/product-owners/{owner_id}",
                              headers=auth), 201)


@dataclass(frozen=True)
class Household:
    group_id: str
    owner_id: str


def create_household(client: Any, auth: dict[str, str]) -> Household:
    """A client group with one product owner in it."""
    group = create_client_group(client, auth)
    owner = create_product_owner(client, auth)
    add_member(client, auth, group["id"], owner["id"])
    return Household(group_id=group["id"], owner_id=owner["id"])


def create_user(client: Any, admin_auth: dict[str, str], *, role: str = "viewer",
                password: str | None = None) -> dict[str, Any]:
    """A user of the admin's firm; the returned dict's "password" is the one chosen or generated."""
    body = {"email": unique_email(role), "name": f"Test {role.title()}", "role": role}
    if password:
        body["password"] = password
    user = expect_status(send(client, "POST", "/v1/users", headers=admin_auth, body=body), 201)
    user["password"] = user.get("password") or password
    return user


def create_api_key(client: Any, admin_auth: dict[str, str], scopes: Iterable[str] = ("read",),
                   **fields: Any) -> dict[str, Any]:
    """An API key of the admin's firm; the returned dict's "key" is the full key (shown once)."""
    body = {"name": unique("key"), "scopes": list(scopes), **fields}
    return expect_status(send(client, "POST", "/v1/api-keys", headers=admin_auth, body=body), 201)


def login(client: Any, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """{access_token, refresh_token, ...} of a new session."""
    return expect_status(send(client, "POST", "/v1/auth/login", body={"email": email, "password": password}), 200)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- what the database holds (as the owner role) -----------------------------------------------------------------

def firm_rows(firm_id: Any, tables: Iterable[str] = TENANT_TABLES) -> dict[str, list[dict[str, Any]]]:
    """Every row the firm has in each table, in a stable order, without VOLATILE_COLUMNS: compare two snapshots
    to prove a request changed nothing."""
    snapshot: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        key = "id" if table == "firms" else "firm_id"
        order = _ORDER_BY.get(table, ("id",))
        query = sql.SQL("SELECT * FROM {} WHERE {} = %s ORDER BY {}").format(
            sql.Identifier(table), sql.Identifier(key), sql.SQL(", ").join(map(sql.Identifier, order)))
        volatile = VOLATILE_COLUMNS.get(table, frozenset())
        snapshot[table] = [{k: v for k, v in row.items() if k not in volatile}
                           for row in owner_sql(query, (firm_id,))]
    return snapshot


def api_key_id(key: str) -> str:
    """The id of an API key, from its full text (the visible prefix is unique)."""
    return str(owner_sql("SELECT id FROM api_keys WHERE prefix = %s", (key[:12],))[0]["id"])


def session_chain(refresh_token: str) -> str:
    """The chain id of the session a refresh token belongs to (what auth events name as their resource)."""
    digest = hashlib.sha256(refresh_token.encode()).digest()
    return str(owner_sql("SELECT chain_id FROM sessions WHERE token_hash = %s", (digest,))[0]["chain_id"])


def row_version(table: str, row_id: Any) -> int:
    query = sql.SQL("SELECT version FROM {} WHERE id = %s").format(sql.Identifier(table))
    return owner_sql(query, (row_id,))[0]["version"]


def audit_watermark() -> datetime:
    """A point in time before the next request: events written after it are that request's (an event's
    occurred_at is its transaction's start, which comes after this call). Tests in one worker run one at a time."""
    return owner_sql("SELECT clock_timestamp() AS t")[0]["t"]


def audit_events_since(mark: datetime, firm_id: Any = None) -> list[dict[str, Any]]:
    """Audit events of every firm (or of one) written after `mark`, oldest first."""
    rows = owner_sql("SELECT * FROM audit_events WHERE occurred_at >= %s "
                     "AND (%s::uuid IS NULL OR firm_id = %s::uuid) ORDER BY occurred_at, id",
                     (mark, firm_id, firm_id))
    return rows


def audit_json(firm_id: Any | None = None) -> list[str]:
    """Each audit event (of one firm, or all) as its full JSON text: for searching it for secrets."""
    rows = owner_sql("SELECT to_jsonb(e)::text AS j FROM audit_events e "
                     "WHERE %s::uuid IS NULL OR firm_id = %s::uuid", (firm_id, firm_id))
    return [r["j"] for r in rows]


def ids_of(query: str, params: Any = None) -> set[str]:
    """The first column of every row of an owner query, as strings (UUIDs compared with JSON ids)."""
    return {str(next(iter(row.values()))) for row in owner_sql(query, params)}
