"""Idempotency-Key on POST: a repeat within 24 hours gets the first response back, never a second write.

The key's row is inserted in the same transaction as the write, so a concurrent duplicate waits on the row lock
and then replays what the first stored; a request that fails rolls its key back with its write, so the key is not
spent. The same key with another request (method, path or body) is a 422.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from chalicelib.core import db, errors, store
from chalicelib.core.context import RequestContext

MAX_KEY_LENGTH = 255
R = TypeVar("R")


@dataclass(frozen=True)
class Replay:
    """The first response to this key, as it was sent."""

    status: int
    body: str
    headers: dict[str, str]


def once(ctx: RequestContext, key: str, *, method: str, path: str, body: bytes, call: Callable[[], R],
         stored: Callable[[R], tuple[int, str, dict[str, str]]]) -> R | Replay:
    """Run `call` once per (caller, key): its result, or the Replay of the first run's response.

    `stored(result)` gives what to keep for a replay: (status, serialised body, headers).
    """
    if len(key) > MAX_KEY_LENGTH:
        raise errors.Unprocessable(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters")
    principal = ctx.principal
    assert principal is not None and principal.id is not None
    firm_id, principal_id = principal.firm_id, principal.id
    digest = hashlib.sha256(b"\0".join([method.encode(), path.encode(), body])).digest()
    with db.transaction(ctx) as tx:
        if not store.claim_idempotency_key(tx, firm_id, principal_id, key, method, path, digest):
            row = store.idempotency_record(tx, firm_id, principal_id, key)
            if row["fresh"]:
                if bytes(row["request_hash"]) != digest:
                    raise errors.Unprocessable("This Idempotency-Key was used with a different request")
                return Replay(row["response_status"], row["response_body"] or "",
                              dict(row["response_headers"] or {}))
            store.reuse_idempotency_key(tx, firm_id, principal_id, key, method, path, digest)
        result = call()
        status, text, headers = stored(result)
        store.save_idempotent_response(tx, firm_id, principal_id, key, status, text, headers)
        return result
