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

import base64
import functools
import hashlib
import hmac
import json
import os
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from tests.conftest import PASSWORD, assert_problem, owner_sql

# Every table that holds one firm's rows (firms itself by id, the others by firm_id), in dependency order.
TENANT_TABLES = ("firms", "users", "sessions", "api_keys", "client_groups", "product_owners",
                 "client_group_product_owners", "audit_events", "idempotency_keys",
                 "providers", "funds", "portfolio_templates", "template_generations", "template_generation_funds",
                 "products", "provider_switches", "portfolio_funds", "fund_valuations", "portfolio_valuations",
                 "holding_activity", "product_flows", "irr_values", "firm_irrs", "dashboard_writes",
                 "client_group_fum", "login_throttle", "login_failures", "user_totp", "recovery_codes",
                 "login_challenges", "notifications", "firm_job_runs",
                 "unmanaged_products", "unmanaged_valuations", "fx_rates",
                 "information_items", "information_item_terms", "actions", "networth_statements",
                 "networth_snapshots", "networth_firm_totals",
                 "cma_sets", "cma_asset_classes", "portfolio_models", "portfolio_model_allocations", "plans",
                 "plan_runs",
                 "objectives", "objective_products", "objective_unmanaged_products", "objective_contributions",
                 "data_retention_policies")
_ORDER_BY = {"client_group_product_owners": ("client_group_id", "product_owner_id"),
             "idempotency_keys": ("principal_id", "key"),
             "template_generation_funds": ("generation_id", "fund_id"),
             "portfolio_valuations": ("product_id", "valuation_date"),
             "product_flows": ("product_id", "flow_date"),
             "irr_values": ("scope", "scope_id", "method", "valuation_date"),
             "firm_irrs": ("firm_id", "method"),
             "client_group_fum": ("client_group_id",),
             "login_throttle": ("user_id", "source"),
             "login_failures": ("user_id", "failed_at", "source"),
             "user_totp": ("user_id",),
             "networth_snapshots": ("client_group_id", "snapshot_date"),
             "networth_firm_totals": ("firm_id", "snapshot_date"),
             "information_item_terms": ("item_id", "term"),
             "cma_asset_classes": ("cma_set_id", "position"),
             "portfolio_model_allocations": ("portfolio_model_id", "asset_class"),
             "objective_products": ("objective_id", "product_id"),
             "objective_unmanaged_products": ("objective_id", "unmanaged_product_id")}
# Columns that change without a write request: authenticating with an API key stamps last_used_at.
VOLATILE_COLUMNS = {"api_keys": frozenset({"last_used_at"}), "sessions": frozenset({"last_used_at"})}


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


# --- information items and actions ------------------------------------------------------------------------------

def individual_owner(owner_id: Any) -> dict[str, Any]:
    """An ownership in the individual form."""
    return {"association_type": "individual", "product_owner_id": str(owner_id)}


def create_information_item(client: Any, auth: dict[str, str], group_id: Any, **fields: Any) -> dict[str, Any]:
    """A basic_detail item unless `item_type` (and, for assets_liabilities and protection, the owners) is given."""
    body = {"item_type": "basic_detail", "item_category": "Personal", **fields}
    return expect_status(send(client, "POST", f"/v1/client-groups/{group_id}/information-items", headers=auth,
                              body=body), 201)


def create_action(client: Any, auth: dict[str, str], group_id: Any, **fields: Any) -> dict[str, Any]:
    body = {"action_name": "Send the annual review pack", "owner": "adviser", **fields}
    return expect_status(send(client, "POST", f"/v1/client-groups/{group_id}/actions", headers=auth, body=body), 201)


# --- managed products: catalogue, products, portfolios, valuations, activity ---------------------------------------

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def create_objective(client: Any, auth: dict[str, str], group_id: Any, **fields: Any) -> dict[str, Any]:
    """An objective of the household (plain unless `target_amount` and the rest of a money goal are given)."""
    body = {"title": unique("Objective"), **fields}
    return expect_status(send(client, "POST", f"/v1/client-groups/{group_id}/objectives", headers=auth, body=body),
                         201)


def add_contribution(client: Any, auth: dict[str, str], objective_id: Any, amount: str,
                     day: str = "2024-01-31") -> dict[str, Any]:
    return expect_status(send(client, "POST", f"/v1/objectives/{objective_id}/contributions", headers=auth,
                              body={"amount": amount, "contribution_date": day}), 201)


def isin_check_digit(payload: str) -> str:
    """The ISO 6166 check digit of 11 characters, written independently of the app: letters become two digits
    (A=10 ... Z=35), and the check digit is the one that makes the whole digit string pass the Luhn test (from
    the right, every second digit doubled, the check digit itself not)."""
    digits = "".join(str(_ALNUM.index(c)) for c in payload)
    for check in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(digits + check)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d // 10 + d % 10
        if total % 10 == 0:
            return check
    raise AssertionError("no check digit")  # unreachable: one of ten always fits


def unique_isin(country: str = "GB") -> str:
    payload = country + "".join(random.choice(_ALNUM) for _ in range(9))
    return payload + isin_check_digit(payload)


def create_provider(client: Any, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": unique("Provider"), **fields}
    return expect_status(send(client, "POST", "/v1/providers", headers=auth, body=body), 201)


def create_fund(client: Any, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": unique("Fund"), "isin": unique_isin(), "risk_factor": 4, "ongoing_cost": "0.22", **fields}
    return expect_status(send(client, "POST", "/v1/funds", headers=auth, body=body), 201)


def create_template(client: Any, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": unique("Template"), **fields}
    return expect_status(send(client, "POST", "/v1/portfolio-templates", headers=auth, body=body), 201)


def create_generation(client: Any, auth: dict[str, str], template_id: Any,
                      funds: list[tuple[Any, str]]) -> dict[str, Any]:
    body = {"funds": [{"fund_id": str(f), "target_weighting": w} for f, w in funds]}
    return expect_status(send(client, "POST", f"/v1/portfolio-templates/{template_id}/generations", headers=auth,
                              body=body), 201)


def create_product(client: Any, auth: dict[str, str], house: Household, **fields: Any) -> dict[str, Any]:
    """A managed product of the household, owned by its member (individual) unless `ownership` is given."""
    body = {"name": unique("ISA"), "product_type": "stocks_and_shares_isa", "start_date": "2020-01-15",
            "ownership": {"association_type": "individual", "product_owner_id": house.owner_id}, **fields}
    return expect_status(send(client, "POST", f"/v1/client-groups/{house.group_id}/products", headers=auth,
                              body=body), 201)


def add_portfolio_fund(client: Any, auth: dict[str, str], product_id: Any, fund_id: Any,
                       start_date: str = "2020-01-15", **fields: Any) -> dict[str, Any]:
    body = {"fund_id": str(fund_id), "start_date": start_date, **fields}
    return expect_status(send(client, "POST", f"/v1/products/{product_id}/funds", headers=auth, body=body), 201)


def add_valuation(client: Any, auth: dict[str, str], pf_id: Any, day: str, value: str) -> dict[str, Any]:
    return expect_status(send(client, "POST", f"/v1/portfolio-funds/{pf_id}/valuations", headers=auth,
                              body={"valuation_date": day, "value": value}), 201)


def add_activity(client: Any, auth: dict[str, str], pf_id: Any, day: str, amount: str,
                 activity_type: str = "investment") -> dict[str, Any]:
    return expect_status(send(client, "POST", f"/v1/portfolio-funds/{pf_id}/activity", headers=auth,
                              body={"activity_date": day, "activity_type": activity_type, "amount": amount}), 201)


@dataclass(frozen=True)
class Book:
    """One household's managed product with everything around it, so that every products table has its rows:
    two providers (the product switched from the first to the second), two funds and a cash fund, a template
    with a generation the product was made from, the product's two portfolio funds (copied from the generation)
    and a cash one, an investment in each non-cash fund and a valuation of each on `day` (so a portfolio
    valuation and stored IRRs exist)."""

    provider: str
    second_provider: str
    fund: str
    other_fund: str
    cash_fund: str
    template: str
    generation: str
    product: str
    pf: str  # the portfolio fund of `fund`
    other_pf: str
    cash_pf: str
    valuation: str  # of `pf` on `day`
    activity: str  # the investment in `pf`
    day: str

    def ids(self) -> set[str]:
        return {self.provider, self.second_provider, self.fund, self.other_fund, self.cash_fund, self.template,
                self.generation, self.product, self.pf, self.other_pf, self.cash_pf, self.valuation, self.activity}


def make_book(client: Any, auth: dict[str, str], house: Household, *, day: str, invested: tuple[str, str],
              values: tuple[str, str]) -> Book:
    providers = create_provider(client, auth), create_provider(client, auth)
    fund, other, cash = (create_fund(client, auth), create_fund(client, auth),
                         create_fund(client, auth, isin=None, is_cash=True, risk_factor=1))
    template = create_template(client, auth)
    generation = create_generation(client, auth, template["id"], [(fund["id"], "60.00"), (other["id"], "40.00")])
    product = create_product(client, auth, house, provider_id=providers[0]["id"],
                             template_generation_id=generation["id"], fixed_fee_direct="100.00",
                             percentage_fee_facilitated="0.5")
    expect_status(send(client, "PATCH", f"/v1/products/{product['id']}", headers={**auth, "If-Match": '"1"'},
                       body={"provider_id": providers[1]["id"]}), 200)
    copied = expect_status(send(client, "GET", f"/v1/products/{product['id']}/funds", headers=auth), 200)["items"]
    pf = {p["fund_id"]: p["id"] for p in copied}
    assert set(pf) == {fund["id"], other["id"]}, copied
    cash_pf = add_portfolio_fund(client, auth, product["id"], cash["id"])
    activity = add_activity(client, auth, pf[fund["id"]], "2020-01-15", invested[0])
    add_activity(client, auth, pf[other["id"]], "2020-02-03", invested[1])
    valuation = add_valuation(client, auth, pf[fund["id"]], day, values[0])
    add_valuation(client, auth, pf[other["id"]], day, values[1])
    return Book(provider=providers[0]["id"], second_provider=providers[1]["id"], fund=fund["id"],
                other_fund=other["id"], cash_fund=cash["id"], template=template["id"], generation=generation["id"],
                product=product["id"], pf=pf[fund["id"]], other_pf=pf[other["id"]], cash_pf=cash_pf["id"],
                valuation=valuation["id"], activity=activity["id"], day=day)


# --- unmanaged products and exchange rates -------------------------------------------------------------------------

def create_unmanaged(client: Any, auth: dict[str, str], house: Household, **fields: Any) -> dict[str, Any]:
    """An asset held elsewhere (a property unless `kind`/`product_type` say otherwise), owned by the household's
    member (individual) unless `ownership` is given."""
    body = {"name": unique("Flat"), "kind": "asset", "product_type": "property",
            "ownership": {"association_type": "individual", "product_owner_id": house.owner_id}, **fields}
    return expect_status(send(client, "POST", f"/v1/client-groups/{house.group_id}/unmanaged-products",
                              headers=auth, body=body), 201)


def add_unmanaged_valuation(client: Any, auth: dict[str, str], product_id: Any, day: str, value: str,
                            source: str = "manual") -> dict[str, Any]:
    return expect_status(send(client, "POST", f"/v1/unmanaged-products/{product_id}/valuations", headers=auth,
                              body={"valuation_date": day, "value": value, "source": source}), 201)


def put_fx_rate(client: Any, auth: dict[str, str], currency: str, day: str, rate: str) -> dict[str, Any]:
    """The rate of `currency` on `day` (created: 201, or replaced: 200)."""
    resp = send(client, "POST", "/v1/fx-rates", headers=auth, body={"currency": currency, "rate_date": day,
                                                                     "rate": rate})
    assert resp.status_code in (200, 201), resp.body[:500]
    return resp.json_body


@dataclass(frozen=True)
class Elsewhere:
    """A household's asset held elsewhere with one valuation, and a rate of the firm's."""

    product: str
    valuation: str
    fx_rate: str

    def ids(self) -> set[str]:
        return {self.product, self.valuation, self.fx_rate}


def make_elsewhere(client: Any, auth: dict[str, str], house: Household, *, day: str, value: str,
                   rate: str) -> Elsewhere:
    product = create_unmanaged(client, auth, house, currency="EUR")
    valuation = add_unmanaged_valuation(client, auth, product["id"], day, value)
    fx_rate = put_fx_rate(client, auth, "EUR", day, rate)
    return Elsewhere(product=product["id"], valuation=valuation["id"], fx_rate=fx_rate["id"])


# --- what the database holds (as the owner role) -----------------------------------------------------------------

@dataclass(frozen=True)
class TableDigest:
    """A table's rows of one firm as a count and an MD5 of their text (each row as JSON without its volatile
    columns, in a stable order): two are equal exactly when the rows are, barring an MD5 collision."""

    rows: int
    md5: str


def firm_rows(firm_id: Any, tables: Iterable[str] = TENANT_TABLES) -> dict[str, TableDigest]:
    """Every row the firm has in each table, digested by PostgreSQL (TableDigest): compare two snapshots to prove
    a request changed nothing; a failed comparison names the tables that changed, with their row counts. One
    statement, so one snapshot of every table, in one round trip."""
    rows = _snapshot_query(_digest_query(tuple(tables)), firm_id)
    return {r["name"]: TableDigest(r["rows"], r["md5"]) for r in rows}


@functools.lru_cache(maxsize=16)
def _digest_query(tables: tuple[str, ...]) -> str:
    """The statement that digests `tables` for the firm in its one parameter: per table, its rows' text (each row
    as a record, or as JSON without the volatile columns where a table has them) in a stable order."""
    parts = []
    for table in tables:
        key = "id" if table == "firms" else "firm_id"
        volatile = sorted(VOLATILE_COLUMNS.get(table, ()))
        text = (sql.SQL("(to_jsonb(x) - {}::text[])::text").format(sql.Literal(volatile)) if volatile
                else sql.SQL("x::text"))
        order = sql.SQL(", ").join(sql.SQL("x.") + sql.Identifier(c) for c in _ORDER_BY.get(table, ("id",)))
        parts.append(sql.SQL(
            "SELECT {name} AS name, count(*) AS rows, md5(coalesce(string_agg({text}, E'\\n' ORDER BY {order}), "
            "'')) AS md5 FROM {table} x WHERE x.{key} = (SELECT firm FROM f)").format(
            name=sql.Literal(table), text=text, order=order, table=sql.Identifier(table), key=sql.Identifier(key)))
    return (sql.SQL("WITH f AS (SELECT %s::uuid AS firm) ") + sql.SQL(" UNION ALL ").join(parts)).as_string(None)


_snapshot_connection: dict[str, Any] = {}


def _snapshot_query(query: str, firm_id: Any) -> list[dict[str, Any]]:
    """Run a snapshot's statement as the owner, on a connection kept for them (per database URL, reopened when it
    broke): a new connection would load the catalog entries of every table again, which costs more than the
    statement."""
    import psycopg

    from chalicelib.core import config, db

    url = config.owner_database_url()
    conn = _snapshot_connection.get(url)
    if conn is not None and not conn.closed:
        try:
            return conn.execute(query, (firm_id,)).fetchall()
        except psycopg.OperationalError:  # the server restarted or dropped it: open another
            conn.close()
    kwargs = db._connect_kwargs()
    kwargs.update(autocommit=True, application_name="wealthdesk-tests")
    conn = _snapshot_connection[url] = psycopg.connect(url, **kwargs)
    return conn.execute(query, (firm_id,)).fetchall()


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


# --- cursors ------------------------------------------------------------------------------------------------------
# A cursor is base64url (unpadded) of a 16-byte tag and the JSON it carries; the tag is HMAC-SHA256, cut to 16
# bytes, of the firm's id (16 bytes) and that JSON, under HMAC-SHA256(JWT_SECRET, "wealthdesk cursor v1"). Written
# here apart from core/pagination.py, from the same description, so that a test can sign what the server never
# would (and so reach the checks that run after the signature's).

def _cursor_tag(firm_id: Any, payload: bytes) -> bytes:
    key = hmac.new(os.environ["JWT_SECRET"].encode(), b"wealthdesk cursor v1", hashlib.sha256).digest()
    return hmac.new(key, uuid.UUID(str(firm_id)).bytes + payload, hashlib.sha256).digest()[:16]


def signed_payload(payload: bytes, firm_id: Any) -> str:
    """Any bytes as a cursor correctly signed for the firm (JSON or not)."""
    return base64.urlsafe_b64encode(_cursor_tag(firm_id, payload) + payload).decode().rstrip("=")


def b64_cursor(values: Any, firm_id: Any) -> str:
    """A cursor carrying `values` (any JSON; lone surrogates escaped), signed as the server signs for `firm_id` (a
    UUID, its text, or a Firm): forged content that passes the signature, for the checks behind it."""
    firm_id = getattr(firm_id, "id", firm_id)
    return signed_payload(json.dumps(values).encode(), firm_id)


def unsigned_cursor(values: Any) -> str:
    """A cursor as the API encoded one before cursors were signed (base64url JSON, unpadded): never accepted."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def cursor_values(cursor: str) -> Any:
    """The JSON a cursor the API made carries (its tag not checked)."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return json.loads(raw[16:])


CURSOR_NOT_SIGNED = "not a cursor this service gave out in this firm, or altered: start again from the first page"


def assert_cursor_refused(resp: Any, *, by_signature: bool | None = None) -> None:
    """A 422 problem naming the cursor, and only it. `by_signature`: True when the signature check must be what
    refused it (tampered, forged or another firm's); False when a correctly signed cursor must be refused by the
    checks behind it (another list or sort, values that do not read as their columns' types)."""
    errors = assert_problem(resp, 422, "cursor")["errors"]
    assert [e["field"] for e in errors] == ["cursor"], errors
    if by_signature is not None:
        assert (errors[0]["message"] == CURSOR_NOT_SIGNED) is by_signature, errors
