"""The layout shows the design: SQL that names the schema's tables lives only in store.py files (and migrations).

Every table comes from the `CREATE TABLE` statements of migrations/*.sql. Outside store.py, no string that reads as
SQL (FROM, JOIN, INTO, UPDATE or TABLE before a table's name), no `rows.*` call and no `sql.Identifier` may name one.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The whole code base: SQL that names a table lives in a store.py (or a migration).
CHECKED = [ROOT / "chalicelib", ROOT / "app.py"]

_CREATE_TABLE = re.compile(r"\bCREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?([a-z_][a-z0-9_]*)",
                           re.IGNORECASE)
_SQL_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:ONLY\s+)?\"?([a-z_][a-z0-9_]*)")


def schema_tables() -> set[str]:
    tables: set[str] = set()
    for path in sorted((ROOT / "migrations").glob("*.sql")):
        if not path.name.endswith(".rollback.sql"):
            tables.update(m.lower() for m in _CREATE_TABLE.findall(path.read_text()))
    return tables


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (prose, not SQL)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _named_call(node: ast.Call) -> str | None:
    """"rows.get", "sql.Identifier"... for a call of an attribute of a name."""
    f = node.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        return f"{f.value.id}.{f.attr}"
    return None


def offenders(source: str, path: str, tables: set[str]) -> list[str]:
    """`path:line: table (how)` for each place in `source` that names a table of the schema as SQL."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            for table in _SQL_TABLE.findall(node.value):
                if table in tables:
                    found.append((node.lineno, f"{table} (in SQL text)"))
        elif isinstance(node, ast.Call):
            name = _named_call(node)
            if name is not None and (name.startswith("rows.") or name == "sql.Identifier"):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and arg.value in tables:
                        found.append((node.lineno, f"{arg.value} (passed to {name})"))
    return [f"{path}:{line}: {what}" for line, what in sorted(found)]


def _checked_files() -> list[Path]:
    files: list[Path] = []
    for root in CHECKED:
        files += [root] if root.is_file() else sorted(root.rglob("*.py"))
    return [f for f in files if f.name != "store.py"]


def test_the_schema_has_the_tables_the_rule_is_about() -> None:
    tables = schema_tables()
    assert {"products", "portfolio_funds", "fund_valuations", "holding_activity", "providers", "funds",
            "irr_values", "client_groups", "audit_events"} <= tables
    assert "product_owners_history" not in tables and "select" not in tables


def test_the_checker_finds_sql_outside_stores_and_passes_prose() -> None:
    tables = {"products", "funds"}
    source = '''
"""A module about products FROM products: docstrings are prose."""
def f(tx):
    """Reads FROM funds."""
    tx.one("SELECT id FROM products WHERE id = %s", (1,))
    tx.one(f"UPDATE funds SET name = {x}")
    rows.get(tx, "funds", 1, "id")
    sql.Identifier("products")
    raise NotFound("No such product: from products to funds")
    rows.get(tx, "other", 1, "id")
    tx.one("SELECT 1 FROM other")
'''
    assert offenders(source, "m.py", tables) == [
        "m.py:5: products (in SQL text)", "m.py:6: funds (in SQL text)", "m.py:7: funds (passed to rows.get)",
        "m.py:8: products (passed to sql.Identifier)"]


def test_sql_naming_the_schemas_tables_lives_only_in_stores() -> None:
    tables = schema_tables()
    found = []
    for path in _checked_files():
        found += offenders(path.read_text(), str(path.relative_to(ROOT)), tables)
    assert not found, "SQL outside store.py (move it into the owning store as a named function):\n" + "\n".join(found)
