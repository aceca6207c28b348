"""The audit trail: exactly one event per write, in the writer's own transaction.

Services call `record(...)` after the write succeeds and before the transaction commits, so a write that fails
leaves no event and an event never exists without its write. Secrets never enter the trail.
"""
from __future__ import annotations

from typing import Any

from chalicelib.core import store
from chalicelib.core.db import Tx
from chalicelib.core.jsonutil import to_jsonable

_SECRET_FIELDS = frozenset({"password_hash", "key_hash", "token_hash", "password"})


def _clean(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return to_jsonable({k: v for k, v in row.items() if k not in _SECRET_FIELDS})


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    keys = set(before or {}) | set(after or {})
    return sorted(k for k in keys if (before or {}).get(k) != (after or {}).get(k)
                  and k not in ("updated_at", "version"))


def record(tx: Tx, action: str, resource_type: str, resource_id: Any,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    ctx = tx.ctx
    principal = ctx.principal
    if principal is None:
        raise RuntimeError("audit needs a principal")
    b, a = _clean(before), _clean(after)
    store.insert_audit_event(tx, firm_id=principal.firm_id, actor_type=principal.kind, actor_id=principal.id,
                             action=action, resource_type=resource_type, resource_id=str(resource_id),
                             before=b, after=a, changed_fields=changed_fields(b, a), request_id=ctx.request_id,
                             ip=ctx.ip, user_agent=ctx.user_agent)
