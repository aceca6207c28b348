"""Property-based contract tests: schemathesis generates requests for every operation of the committed
openapi.json and the real handlers answer them in-process (chalice.test.Client): no 5xx, every response conforms to
the document (status code documented, content type, body schema, headers), and a request the document does not
allow is refused.

Chalice is not a WSGI/ASGI app, so a requests transport (fuzz_support.ChaliceAdapter) hands each prepared request
to the Chalice test client and builds a real `requests.Response` from its answer; schemathesis validates it as
usual. A throwaway firm of its own (fuzz_support.build_world) takes the writes. Generated cases are aimed at that
firm's rows (ids in paths and bodies, ETags, fresh challenges and refresh tokens for the sign-in routes), each
decision taken from the case's own content, so a fixed seed gives the same requests every run. Bounded: a fixed
number of examples per operation (MAX_EXAMPLES) besides schemathesis's deterministic coverage cases.
"""
from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.fuzz_support import BASE_URL, ChaliceAdapter, World, build_world, stable_hash
from tests.integration import matrix_support as ms
from tests.integration.matrix_support import session_chain

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((ROOT / "openapi.json").read_text())
OPERATIONS = {(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item}
PUBLIC = {(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method, op in item.items()
          if op.get("security") == []}
SEED = 20240611
MAX_EXAMPLES = 8
# No 5xx; the status code documented; the content type, body and headers as documented; and a request the
# document does not allow is refused (4xx), not taken. schemathesis's other checks judge rules of its own (a
# missing If-Match must be 400-ish: this API answers 428, as RFC 6585 says; any schema-valid body must be
# accepted: business rules refuse many) and are not used.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection]
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.seed = SEED
# deterministic: hypothesis derandomized from the seed; no example database (a run never depends on the last);
# no shrinking (a failure is reported as found, which is reproducible from the seed anyway); credentials are ours.
schema.config.generation.update(deterministic=True, max_examples=MAX_EXAMPLES, no_shrink=True, database="none",
                                with_security_parameters=False)
# Which methods a path answers is API Gateway's business (and chalice's local gateway answers OPTIONS with no
# body at all, which its test client cannot represent): fuzz the handlers, not the method table.
schema.config.phases.coverage.unexpected_methods = set()

# How many cases each operation ran, in this worker (an operation whose test ran none fails: see `tally`).
CASES: Counter[str] = Counter()
# Operations that end the session they are called with, or the one they name.
ENDS_A_SESSION = {("POST", "/v1/auth/logout"), ("DELETE", "/v1/me/sessions/{session_id}")}
# Operations that turn the caller's two-factor on or off (never the admin's: see _aim_two_factor).
TWO_FACTOR_OFF_OR_ON = {("POST", "/v1/me/2fa/confirm"), ("POST", "/v1/me/2fa/disable")}


def test_every_documented_operation_is_fuzzed() -> None:
    """The fuzz test is parametrized with every operation of openapi.json (none filtered out, none failing to
    load); each of its tests must then run cases (`tally`), so no operation is skipped silently."""
    loaded = [result.ok().label for result in schema.get_all_operations()]
    assert len(loaded) == len(OPERATIONS) > 0
    assert set(loaded) == {f"{method} {path}" for method, path in OPERATIONS}


@pytest.fixture(scope="module")
def chalice_client(app_module: Any) -> Any:
    from chalice.test import Client

    with Client(app_module.app, project_dir=str(ROOT)) as c:
        yield c


@pytest.fixture(scope="module")
def world(database: str, chalice_client: Any) -> World:
    return build_world(chalice_client)


@pytest.fixture(scope="module")
def transport(chalice_client: Any) -> ChaliceAdapter:
    return ChaliceAdapter(chalice_client)


@pytest.fixture(scope="module")
def http(transport: ChaliceAdapter) -> Any:
    session = requests.Session()
    session.mount(BASE_URL + "/", transport)
    yield session
    session.close()


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Any:
    """After an operation's test: it ran cases (an operation skipped or emptied by the generator fails)."""
    label = request.node.name.partition("[")[2].rstrip("]")
    yield
    assert CASES[label] > 0, f"no case of {label} was run"


def test_every_path_id_has_rows_to_aim_at(world: World) -> None:
    """A route added later gets real rows too: every path parameter names a pool of the firm's rows, and every
    DELETE a maker of rows to delete (ending a session has its own)."""
    names = {name for _, path in OPERATIONS for name in re.findall(r"{(\w+)}", path)}
    assert names - {"session_id"} <= set(world.pools)
    deletes = {path for method, path in OPERATIONS if method == "DELETE"} - {p for _, p in ENDS_A_SESSION}
    assert deletes <= set(world.victims)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _aim_ids(value: Any, world: World, pick: int) -> Any:
    """The body with each id field a pool names (and that holds a UUID) pointed at a real row of the firm."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            pool = world.pools.get(key) if isinstance(key, str) else None
            if pool and isinstance(item, str) and _is_uuid(item):
                out[key] = pool[pick % len(pool)]
            elif pool and isinstance(item, list) and item and all(isinstance(i, str) and _is_uuid(i) for i in item):
                out[key] = [pool[(pick + i) % len(pool)] for i in range(min(len(item), len(pool)))]
            else:
                out[key] = _aim_ids(item, world, pick)
        return out
    if isinstance(value, list):
        return [_aim_ids(item, world, pick) for item in value]
    return value


def _aim(case: Any, world: World) -> str | None:
    """Point the case at the firm's data and choose its credentials; returns the source address to send from."""
    op = (case.method.upper(), case.operation.path)
    seen = stable_hash(op, case.path_parameters, case.query, case.body,
                       {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"})
    pick = seen >> 8
    aimed = seen % 4 != 0  # a quarter of the cases keep what was generated (unknown ids: the 404 paths)
    headers = case.headers
    for name in [k for k in headers if k.lower() == "authorization"]:
        del headers[name]

    if aimed:
        params = case.path_parameters or {}
        if op[0] == "DELETE":  # a row made for the case, never the shared ones
            if op[1] in world.victims and all(_is_uuid(v) for v in params.values()):
                params.update(world.victims[op[1]]())
        else:
            for name, value in list(params.items()):
                pool = world.pools.get(name)
                if pool and (_is_uuid(value) or name == "asset"):
                    params[name] = pool[pick % len(pool)]
        if isinstance(case.query, dict):
            case.query = _aim_ids(case.query, world, pick)
        if isinstance(case.body, dict | list):
            case.body = _aim_ids(case.body, world, pick)
        if op[0] == "PATCH" and "If-Match" in headers and pick % 2:
            etag = world.etag(case.operation.path.format(**params))
            if etag:
                headers["If-Match"] = etag

    if op in PUBLIC:
        if aimed and isinstance(case.body, dict):
            _aim_sign_in(op[1], case.body, world, pick)
        return world.address()

    who = (seen >> 4) % 16  # one case in 16 without credentials, one with a read-only key, one as a viewer
    if who == 0:
        return None
    token = world.firm.auth("read") if who == 1 else world.firm.auth("viewer") if who == 2 else world.admin
    if aimed and who > 2 and op in TWO_FACTOR_OFF_OR_ON and isinstance(case.body, dict):
        token = _aim_two_factor(op[1], case.body, world, pick)
    if op in ENDS_A_SESSION and who != 1:
        # a session of its own to end (never the admin's or the viewer's, which the other cases use)
        mine = world.login(world.session_email)
        token = {"Authorization": f"Bearer {mine.access_token}"}
        if op[0] == "DELETE" and aimed:  # another live session of the user's, or the one the request comes with
            other = world.login(world.session_email) if pick % 2 else mine
            case.path_parameters["session_id"] = session_chain(other.refresh_token)
    headers.update(token)
    return None


def _aim_two_factor(path: str, body: dict[str, Any], world: World, pick: int) -> dict[str, str]:
    """Confirming or turning off two-factor, as a new user of its own (never the admin, whose sessions the other
    cases need): a pending enrolment to confirm, or two-factor on to turn off; half the time with a right code."""
    from tests import totp_support

    if path == "/v1/me/2fa/confirm":
        token, secret = world.enrolling(world.new_user())
    else:
        user = world.new_user()
        token, secret = world.enrolling(user)
        ms.expect_status(ms.send(world.client, "POST", "/v1/me/2fa/confirm", headers={"Authorization": token},
                                 body={"code": totp_support.code(secret)}), 200)
    if pick % 2 and isinstance(body.get("code"), str):
        # the step after the one just used when confirming: a code is accepted once per step
        body["code"] = totp_support.code(secret, totp_support.step_now() + (0 if path.endswith("confirm") else 1))
    return {"Authorization": token}


def _aim_sign_in(path: str, body: dict[str, Any], world: World, pick: int) -> None:
    """The public sign-in routes: real accounts, and fresh challenges and refresh tokens, instead of made-up ones."""
    from chalicelib.firms.service import Challenge
    from tests import totp_support

    if path == "/v1/auth/login" and isinstance(body.get("email"), str):
        body["email"] = (world.login_email, world.totp_email, world.enrolment_email)[pick % 3]
        if pick % 2 and isinstance(body.get("password"), str):
            body["password"] = "correct horse battery staple"
    elif path == "/v1/auth/refresh" and isinstance(body.get("refresh_token"), str):
        body["refresh_token"] = world.login(world.session_email).refresh_token
    elif path == "/v1/auth/2fa/enrol/confirm" and isinstance(body.get("challenge"), str):
        body["challenge"], secret = world.enrolment_challenge()
        if pick % 2 and isinstance(body.get("code"), str):
            body["code"] = totp_support.code(secret)
    elif isinstance(body.get("challenge"), str):
        email = world.totp_email if path == "/v1/auth/2fa" else world.enrolment_email
        answer = world.login(email)
        if isinstance(answer, Challenge):
            body["challenge"] = answer.challenge
        if path == "/v1/auth/2fa" and pick % 2 and isinstance(body.get("code"), str):
            world.forget_totp_step(world.totp_email)  # a code works once per step: as if a minute had passed
            body["code"] = totp_support.code(world.totp_secret)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case: Any, http: Any, transport: ChaliceAdapter, world: World,
                                      tally: Any) -> None:
    transport.source_ip = _aim(case, world)
    response = case.call(base_url=BASE_URL, session=http)
    CASES[case.operation.label] += 1
    case.validate_response(response, checks=CHECKS, headers=dict(case.headers or {}))


# A NUL character is valid JSON ("\u0000") and valid in a query string, but PostgreSQL text cannot hold it: each of
# these must be a 422 problem+json, never a 500. (Found by the fuzzer above; pinned here so it is caught every run.)
NUL_CASES = [
    ("GET", "/v1/client-groups?q=Smi%00th", None),
    ("GET", "/v1/product-owners?q=Ada%00", None),
    ("GET", "/v1/audit-events?resource_type=client_group%00", None),
    ("GET", "/v1/audit-events?action=a%00", None),
    ("GET", "/v1/ops/job-runs?job=audit%00", None),
    ("POST", "/v1/client-groups", {"name": "The\u0000Smiths", "type": "family"}),
    ("POST", "/v1/product-owners", {"first_name": "Ada\u0000", "surname": "Lovelace"}),
    ("PATCH", "/v1/client-groups/{group_id}", {"notes": "a\u0000b"}),
    ("PATCH", "/v1/product-owners/{owner_id}", {"known_as": "a\u0000b"}),
    ("POST", "/v1/users", {"email": "nul-user@example.com", "name": "N\u0000L", "role": "viewer"}),
    ("POST", "/v1/api-keys", {"name": "key\u0000", "scopes": ["read"]}),
]


@pytest.fixture(scope="module")
def nul_firm(database: str, chalice_client: Any) -> Any:
    from tests.conftest import make_firm
    from tests.integration.matrix_support import create_household

    firm = make_firm("NUL Firm")
    house = create_household(chalice_client, firm.auth("admin"))
    return firm, {"group_id": house.group_id, "owner_id": house.owner_id}


@pytest.mark.parametrize("method,path,body", NUL_CASES, ids=[f"{m} {p}" for m, p, _ in NUL_CASES])
def test_nul_characters_are_refused_with_422(chalice_client, nul_firm, method, path, body):
    from tests.conftest import assert_problem, owner_sql

    firm, existing = nul_firm
    path = path.format(**existing)
    headers = {**firm.auth("admin"), "Content-Type": "application/json"}
    if method == "PATCH":
        headers["If-Match"] = chalice_client.http.get(path, headers=headers).headers["ETag"]
    counts = ("SELECT (SELECT count(*) FROM client_groups WHERE firm_id = %(f)s) AS g, "
              "(SELECT count(*) FROM product_owners WHERE firm_id = %(f)s) AS o, "
              "(SELECT count(*) FROM audit_events WHERE firm_id = %(f)s) AS a")
    before = owner_sql(counts, {"f": firm.id})
    response = chalice_client.http.request(method, path, headers=headers,
                                           body=json.dumps(body).encode() if body is not None else b"")
    assert_problem(response, 422)
    assert owner_sql(counts, {"f": firm.id}) == before
