"""Helpers for the sign-in tests: requests from a chosen source address, and an authenticator app."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests import totp_support
from tests.conftest import PASSWORD, owner_sql

JSON = {"Content-Type": "application/json"}


@contextmanager
def source(client: Any, ip: str | None) -> Iterator[None]:
    """Requests made inside come from `ip` as API Gateway sees the connection (requestContext.identity.sourceIp,
    which the chalice test client's event converter fills in)."""
    if ip is None:
        yield
        return
    converter = client.http._local_gateway.event_converter
    converter.LOCAL_SOURCE_IP = ip
    try:
        yield
    finally:
        del converter.LOCAL_SOURCE_IP  # back to the class's 127.0.0.1


def post(client: Any, path: str, body: Any = None, headers: dict[str, str] | None = None,
         ip: str | None = None) -> Any:
    with source(client, ip):
        return client.http.post(path, headers={**JSON, **(headers or {})},
                                body=json.dumps(body) if body is not None else b"")


def login_from(client: Any, ip: str | None, email: str, password: str = PASSWORD,
               headers: dict[str, str] | None = None) -> Any:
    return post(client, "/v1/auth/login", {"email": email, "password": password}, headers, ip)


def without_request_id(resp: Any) -> dict[str, Any]:
    body = json.loads(resp.body)
    body.pop("request_id")
    return body


def pair(user_id: Any, ip: str) -> dict[str, Any] | None:
    rows = owner_sql("SELECT checks, pending, locked_until FROM login_throttle WHERE user_id = %s AND source = %s",
                     (user_id, ip))
    return rows[0] if rows else None


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Authenticator:
    """An authenticator app holding `secret`: hands out codes the server has not accepted yet.

    The server accepts the current time step and one either side, each step once. `code()` gives the earliest
    acceptable step after the last one used (waiting out a step's last seconds); `consume` records the step as
    used (pass False for a code the server is expected to refuse). When every acceptable step is used up, it
    waits for the next step, or, given the user's id, moves the server's last accepted step back as if a minute
    had passed (tests about something other than replay need not wait 30 seconds)."""

    def __init__(self, secret: str, user_id: Any = None) -> None:
        self.secret = secret
        self.user_id = user_id
        self.last: int | None = None

    def code(self, consume: bool = True) -> str:
        while True:
            if time.time() % 30 > 27:
                time.sleep(30 - time.time() % 30 + 0.1)
            now = totp_support.step_now()
            step = now if self.last is None else max(now, self.last + 1)
            if step <= now + 1:
                break
            if self.user_id is not None:
                self.last = now - 2
                owner_sql("UPDATE user_totp SET last_step = %s WHERE user_id = %s", (self.last, self.user_id))
                continue
            time.sleep(30 - time.time() % 30 + 0.1)
        if consume:
            self.last = step
        return totp_support.code(self.secret, step)

    def replay(self) -> str:
        """The code of the last step used (the server must refuse it)."""
        assert self.last is not None
        return totp_support.code(self.secret, self.last)


def enrol(client: Any, token: str) -> tuple[Authenticator, list[str]]:
    """Two-factor on for the token's user: (their authenticator, their recovery codes)."""
    started = post(client, "/v1/me/2fa/enrol", headers=bearer(token))
    assert started.status_code == 200, started.body
    app = Authenticator(started.json_body["secret"], client.http.get("/v1/me", headers=bearer(token)).json_body["id"])
    confirmed = post(client, "/v1/me/2fa/confirm", {"code": app.code()}, bearer(token))
    assert confirmed.status_code == 200, confirmed.body
    return app, confirmed.json_body["recovery_codes"]


def sign_in(client: Any, email: str, app: Authenticator, ip: str | None = None) -> dict[str, Any]:
    """Both steps, expected to succeed: the tokens."""
    first = login_from(client, ip, email)
    assert first.status_code == 200 and first.json_body["challenge_type"] == "totp", first.body
    second = post(client, "/v1/auth/2fa", {"challenge": first.json_body["challenge"], "code": app.code()}, ip=ip)
    assert second.status_code == 200, second.body
    return second.json_body
