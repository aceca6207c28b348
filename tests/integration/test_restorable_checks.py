"""Every function the database calls while pg_restore loads rows or builds indexes resolves its own names.

pg_restore runs with an empty search_path. A CHECK constraint or a generated column is evaluated for each row COPY
loads, an index expression for each row its index is built over; a function they call that calls another of the
schema's functions unqualified fails there ("function ... does not exist"), and no backup of a database holding
such rows can be restored. So such a function must set its own search_path (ALTER FUNCTION ... SET search_path).
"""
from __future__ import annotations

import re

from tests.conftest import owner_sql

CALLED_WHILE_LOADING = """
SELECT DISTINCT p.oid::regprocedure::text AS signature, p.prosrc, p.proconfig
FROM pg_depend d
JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND d.refobjid = p.oid
JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
WHERE (d.classid IN ('pg_constraint'::regclass, 'pg_class'::regclass)
       OR (d.classid = 'pg_attrdef'::regclass  -- a generated column's expression, not a default (COPY gives those)
           AND EXISTS (SELECT 1 FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid
                       AND a.attnum = ad.adnum WHERE ad.oid = d.objid AND a.attgenerated <> '')))
  AND p.prolang IN (SELECT oid FROM pg_language WHERE lanname IN ('sql', 'plpgsql'))
"""


def test_functions_called_while_loading_rows_set_their_search_path(database: str) -> None:
    names = {r["proname"] for r in owner_sql(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'")}
    called = owner_sql(CALLED_WHILE_LOADING)
    assert {"ownership_is_valid(jsonb)", "information_data_is_valid(jsonb)", "isin_is_valid(text)"} <= {
        r["signature"] for r in called}
    unsafe = []
    for row in called:
        calls_ours = {m for m in re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", row["prosrc"]) if m in names}
        has_path = any(c.startswith("search_path=") for c in row["proconfig"] or [])
        if calls_ours and not has_path:
            unsafe.append((row["signature"], sorted(calls_ours)))
    assert not unsafe, f"set their search_path: {unsafe}"


def test_the_rule_catches_a_function_without_one(database: str) -> None:
    """The same query finds information_data_is_valid when its search_path is taken away (in a transaction rolled
    back), so the test above can fail."""
    from chalicelib.core import db

    with db.owner_connection(autocommit=False) as conn:  # (autocommit would keep the change)
        conn.execute("ALTER FUNCTION information_data_is_valid(jsonb) RESET search_path")
        rows = conn.execute(CALLED_WHILE_LOADING).fetchall()
        conn.rollback()
    [row] = [r for r in rows if r["signature"] == "information_data_is_valid(jsonb)"]
    assert not row["proconfig"] and "information_pairs" in row["prosrc"]
