"""matrix_support.firm_rows, which many tests use to prove a request changed nothing: its digests differ exactly
when one of the firm's rows does, and name the table."""
from __future__ import annotations

from tests.conftest import make_firm, owner_sql
from tests.integration.matrix_support import TENANT_TABLES, firm_rows

# Direct writes as the owner may leave audit events of their own: the comparisons below are about the other tables.
TABLES = [t for t in TENANT_TABLES if t != "audit_events"]


def _changed(before: dict, after: dict) -> set[str]:
    return {t for t in before if before[t] != after[t]}


def test_the_digest_of_a_firms_rows_changes_exactly_with_them() -> None:
    firm, other = make_firm(), make_firm()
    before = firm_rows(firm.id, TABLES)
    assert set(before) == set(TABLES)
    assert before["users"].rows == 4 and before["firms"].rows == 1
    assert firm_rows(firm.id, TABLES) == before  # nothing changed, the same digests

    # one column of one row
    owner_sql("UPDATE users SET name = name || ' (changed)' WHERE id = %s", (firm.users["viewer"]["id"],))
    after = firm_rows(firm.id, TABLES)
    assert _changed(before, after) == {"users"}
    assert after["users"].rows == before["users"].rows

    # a row deleted (the count names it too)
    owner_sql("DELETE FROM sessions WHERE user_id = %s", (firm.users["viewer"]["id"],))
    gone = firm_rows(firm.id, TABLES)
    assert _changed(after, gone) == {"sessions"}
    assert gone["sessions"].rows == after["sessions"].rows - 1

    # a volatile column (an API key or session's last use, stamped by reads) is not a change
    owner_sql("UPDATE sessions SET last_used_at = now() - interval '5 seconds' WHERE firm_id = %s", (firm.id,))
    owner_sql("UPDATE api_keys SET last_used_at = now() - interval '5 seconds' WHERE firm_id = %s", (firm.id,))
    assert firm_rows(firm.id, TABLES) == gone

    # another firm's rows are not this firm's
    owner_sql("UPDATE users SET name = name || ' (changed)' WHERE firm_id = %s", (other.id,))
    assert firm_rows(firm.id, TABLES) == gone
