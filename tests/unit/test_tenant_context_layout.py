"""The tenant context is set in one place: only core/store.py holds the statements that enter a firm (the
SECURITY DEFINER auth_enter_* functions, which verify a credential; migration 0018) or set a setting, and only
core/db.py (transaction, lookup) runs them, with the login and refresh services entering through core/store.py's
functions inside a lookup. Nothing else opens a pooled connection and works on it by hand, except the health
check, which reads no tenant table and must answer within its own short timeout."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.unit.test_layout import _docstrings

ROOT = Path(__file__).resolve().parents[2]
CHALICELIB = ROOT / "chalicelib"


def _sources() -> list[tuple[str, ast.AST]]:
    return [(str(p.relative_to(ROOT)), ast.parse(p.read_text())) for p in sorted(CHALICELIB.rglob("*.py"))]


def settings_statements(tree: ast.AST) -> list[int]:
    """Lines of string constants (not docstrings) that enter a firm (auth_enter_...) or set a setting:
    set_config(...) or SET [LOCAL] app.*."""
    docstrings = _docstrings(tree)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value.lower()
            if "set_config(" in text or "set app." in text or "set local app." in text or "auth_enter" in text:
                lines.append(node.lineno)
    return lines


def pool_connections(tree: ast.AST) -> list[int]:
    """Lines that call `<...>.pool(...).connection(...)`: a pooled connection used by hand."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connection":
            inner = node.func.value
            if isinstance(inner, ast.Call) and (
                    (isinstance(inner.func, ast.Attribute) and inner.func.attr == "pool")
                    or (isinstance(inner.func, ast.Name) and inner.func.id == "pool")):
                lines.append(node.lineno)
    return lines


def test_only_core_store_holds_the_statements_that_set_the_tenant() -> None:
    found = {path: lines for path, tree in _sources() if (lines := settings_statements(tree))}
    assert set(found) == {"chalicelib/core/store.py"}, found


def test_only_db_and_the_health_check_use_a_pooled_connection_by_hand() -> None:
    found = {path for path, tree in _sources() if pool_connections(tree)}
    assert found == {"chalicelib/core/db.py", "chalicelib/system/service.py"}, found


def test_the_checks_find_what_they_look_for() -> None:
    tree = ast.parse('"""set_config( in prose is fine"""\n'
                     'def f(conn, db):\n'
                     '    conn.execute("SELECT set_config(\'app.firm_id\', %s, true)", (1,))\n'
                     '    conn.execute("SET LOCAL app.firm_id = \'x\'")\n'
                     '    with db.pool().connection() as c:\n'
                     '        pass\n'
                     '    conn.execute("SELECT auth_enter_session(%s, %s, %s, %s)", (1, 2, 3, 4))\n')
    assert settings_statements(tree) == [3, 4, 7]
    assert pool_connections(tree) == [5]
