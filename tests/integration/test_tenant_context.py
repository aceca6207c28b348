"""db.transaction and db.lookup: the one place the tenant context is set, and the transaction before the firm is
known (login, refresh, API keys), which sees no tenant row until a credential PostgreSQL verifies enters the firm
(then a transaction for that firm joins it)."""
from __future__ import annotations

import hashlib

import pytest

from tests.conftest import Firm, owner_sql

_FIRM = "SELECT current_firm_id() AS firm_id, (SELECT count(*) FROM users) AS users"


def _key(firm: Firm) -> tuple[str, bytes]:
    key = firm.api_keys["read"]
    return key[:12], hashlib.sha256(key.encode()).digest()


def test_a_lookup_sees_no_tenant_row_until_a_verified_credential_enters_the_firm(firm_a: Firm) -> None:
    from chalicelib.core import db, store
    from chalicelib.core.context import Principal, RequestContext

    with db.lookup(RequestContext()) as tx:
        assert tx.one(_FIRM) == {"firm_id": None, "users": 0}
        # the SECURITY DEFINER lookup answers without a tenant
        assert tx.one("SELECT firm_id FROM auth_user_by_email(%s)", (firm_a.users["admin"]["email"],)) == {
            "firm_id": firm_a.id}
        assert tx.one(_FIRM) == {"firm_id": None, "users": 0}
        prefix, key_hash = _key(firm_a)
        row = store.enter_api_key(tx, prefix, key_hash)
        assert row["state"] == "ok" and tx.entered == firm_a.id
        principal = Principal(firm_id=firm_a.id, kind="api_key", id=row["id"], scopes=frozenset({"read"}),
                              key_prefix=prefix, key_hash=key_hash)
        with db.transaction(RequestContext(principal=principal)) as joined:
            assert joined is tx
            users = owner_sql("SELECT count(*) AS n FROM users WHERE firm_id = %s", (firm_a.id,))[0]["n"]
            assert users > 0 and tx.one(_FIRM) == {"firm_id": firm_a.id, "users": users}


def test_the_firm_a_lookup_entered_ends_with_its_transaction(firm_a: Firm) -> None:
    from chalicelib.core import db, store
    from chalicelib.core.context import RequestContext

    with db.lookup(RequestContext()) as tx:
        assert store.enter_api_key(tx, *_key(firm_a))["state"] == "ok"
        assert tx.one(_FIRM)["firm_id"] == firm_a.id
    # the context lived as long as its transaction: the next one (on the same pooled connection) has none
    with db.lookup(RequestContext()) as tx:
        assert tx.one(_FIRM) == {"firm_id": None, "users": 0}


def test_a_transaction_joins_only_a_transaction_of_its_own_firm_or_a_lookup(firm_a: Firm, firm_b: Firm) -> None:
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext

    with db.transaction(RequestContext.system(firm_a.id)), pytest.raises(RuntimeError, match="another firm"):
        with db.transaction(RequestContext.system(firm_b.id)):
            pass
    with db.transaction(RequestContext.system(firm_a.id)), pytest.raises(RuntimeError, match="before any"):
        with db.lookup(RequestContext()):
            pass
    # the system context is the owner's: a lookup (the app role's) cannot take it on
    with db.lookup(RequestContext()), pytest.raises(RuntimeError, match="owner"):
        with db.transaction(RequestContext.system(firm_a.id)):
            pass


def test_a_principal_without_a_credential_enters_no_firm(firm_a: Firm) -> None:
    """A user without a session (nothing for PostgreSQL to verify) cannot open a transaction in any firm."""
    from chalicelib.core import db
    from chalicelib.core.context import Principal, RequestContext

    user = firm_a.users["admin"]
    for principal in (Principal(firm_id=firm_a.id, kind="user", id=user["id"], role="admin"),
                      Principal(firm_id=firm_a.id, kind="api_key", id=user["id"], scopes=frozenset({"read"}))):
        with pytest.raises(RuntimeError, match="without a credential"), \
                db.transaction(RequestContext(principal=principal)):
            pass
