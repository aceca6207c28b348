"""db.transaction and db.lookup: the one place the tenant context is set, and the transaction before the firm is
known (login, refresh, API keys), which sees no tenant row until a transaction for the found firm joins it."""
from __future__ import annotations

import pytest

from tests.conftest import Firm, owner_sql

_FIRM = "SELECT nullif(current_setting('app.firm_id', true), '') AS firm_id, (SELECT count(*) FROM users) AS users"


def test_a_lookup_sees_no_tenant_row_until_a_transaction_for_the_firm_joins_it(firm_a: Firm) -> None:
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext

    with db.lookup(RequestContext()) as tx:
        assert tx.one(_FIRM) == {"firm_id": None, "users": 0}
        # the SECURITY DEFINER lookup answers without a tenant
        assert tx.one("SELECT firm_id FROM auth_user_by_email(%s)", (firm_a.users["admin"]["email"],)) == {
            "firm_id": firm_a.id}
        with db.transaction(RequestContext.system(firm_a.id)) as joined:
            assert joined is tx
            users = owner_sql("SELECT count(*) AS n FROM users WHERE firm_id = %s", (firm_a.id,))[0]["n"]
            assert users > 0 and tx.one(_FIRM) == {"firm_id": str(firm_a.id), "users": users}


def test_the_firm_a_lookup_entered_ends_with_its_transaction(firm_a: Firm) -> None:
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext

    with db.lookup(RequestContext()) as tx, db.transaction(RequestContext.system(firm_a.id)):
        assert tx.one(_FIRM)["firm_id"] == str(firm_a.id)
    # the settings were transaction-local: the next transaction starts with none
    with db.lookup(RequestContext()) as tx:
        assert tx.one(_FIRM) == {"firm_id": None, "users": 0}


def test_a_transaction_joins_only_a_transaction_of_its_own_firm_or_a_lookup(firm_a: Firm, firm_b: Firm) -> None:
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext

    with db.transaction(RequestContext.system(firm_a.id)), pytest.raises(RuntimeError, match="another firm"):
        with db.transaction(RequestContext.system(firm_b.id)):
            pass
    with db.lookup(RequestContext()), db.transaction(RequestContext.system(firm_a.id)):
        with pytest.raises(RuntimeError, match="another firm"), db.transaction(RequestContext.system(firm_b.id)):
            pass
    with db.transaction(RequestContext.system(firm_a.id)), pytest.raises(RuntimeError, match="before any"):
        with db.lookup(RequestContext()):
            pass
