"""Products' fixed fees hold any amount the API's Money type accepts (18 digits, 2 after the point): the columns
were numeric(15, 2), so a fee of 14 to 16 integer digits passed validation and the database refused it (a 422
"The database refused the values (NumericValueOutOfRange)" naming no field). Migration 0012 widens them.
"""
from __future__ import annotations

import difflib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import Firm, owner_sql
from tests.integration.matrix_support import create_household, create_product, expect_status, send

LARGEST_MONEY = "9999999999999999.99"  # Money: 18 digits, 2 of them decimals
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
WIDEN = "0012_fee_columns_as_wide_as_money"


def test_a_fee_of_sixteen_integer_digits_is_stored_and_read_back(client: Any, firm_a: Firm) -> None:
    w = firm_a.auth("adviser")
    house = create_household(client, w)
    product = create_product(client, w, house, fixed_fee_direct=LARGEST_MONEY,
                             fixed_fee_facilitated="1234567890123456.78")
    assert (product["fixed_fee_direct"], product["fixed_fee_facilitated"]) == (LARGEST_MONEY, "1234567890123456.78")
    read = expect_status(send(client, "GET", f"/v1/products/{product['id']}", headers=w), 200)
    assert (read["fixed_fee_direct"], read["fixed_fee_facilitated"]) == (LARGEST_MONEY, "1234567890123456.78")
    stored = owner_sql("SELECT fixed_fee_direct::text AS d, fixed_fee_facilitated::text AS f FROM products "
                       "WHERE id = %s", (product["id"],))
    assert stored == [{"d": LARGEST_MONEY, "f": "1234567890123456.78"}]
    # Revenue adds them up: 9,999,999,999,999,999.99 + 1,234,567,890,123,456.78, no valuation yet.
    revenue = expect_status(send(client, "GET", f"/v1/products/{product['id']}/revenue", headers=w), 200)
    assert revenue["revenue"] == "11234567890123456.77"

    edited = send(client, "PATCH", f"/v1/products/{product['id']}", body={"fixed_fee_facilitated": LARGEST_MONEY},
                  headers={**w, "If-Match": f'"{read["version"]}"'})
    assert expect_status(edited, 200)["fixed_fee_facilitated"] == LARGEST_MONEY
    # One more digit is Money's limit, refused at the edge and naming the field.
    too_big = send(client, "PATCH", f"/v1/products/{product['id']}", body={"fixed_fee_direct": "1" + LARGEST_MONEY},
                   headers={**w, "If-Match": f'"{read["version"] + 1}"'})
    assert too_big.status_code == 422
    assert [e["field"] for e in too_big.json_body["errors"]] == ["fixed_fee_direct"]


# --- the migration: applies, rolls back to exactly what 0011 left, refuses to roll back fees that would not fit ---

@pytest.fixture
def scratch(pg_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty database of its own; DATABASE_URL points at it for the test (the migrations use their own
    connections, never the API pool)."""
    from psycopg import sql

    name = "wd_fees_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = pg_server.scratch(name)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    monkeypatch.undo()
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _fee_types() -> list[tuple[str, int, int]]:
    return [(r["column_name"], r["numeric_precision"], r["numeric_scale"]) for r in owner_sql(
        "SELECT column_name, numeric_precision, numeric_scale FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = 'products' AND column_name LIKE 'fixed_fee_%' ORDER BY 1")]


def _product_with_fee(fee: str) -> uuid.UUID:
    firm, group, owner, product = (uuid.uuid4() for _ in range(4))
    for query, params in [
            ("INSERT INTO firms (id, name) VALUES (%s, 'Fees Ltd')", (firm,)),
            ("INSERT INTO client_groups (id, firm_id, name, type) VALUES (%s, %s, 'H', 'individual')", (group, firm)),
            ("INSERT INTO product_owners (id, firm_id, first_name, surname) VALUES (%s, %s, 'A', 'B')", (owner, firm)),
            (("INSERT INTO client_group_product_owners (firm_id, client_group_id, product_owner_id) "
             "VALUES (%s, %s, %s)"), (firm, group, owner)),
            (("INSERT INTO products (id, firm_id, client_group_id, name, product_type, start_date, ownership, "
             "fixed_fee_direct) VALUES (%s, %s, %s, 'GIA', 'gia', '2023-01-01', %s, %s)"),
             (product, firm, group, json.dumps({"association_type": "individual", "product_owner_id": str(owner)}),
              fee))]:
        owner_sql(query, params)
    return product


def _positions(product: uuid.UUID) -> list[dict[str, Any]]:
    return owner_sql("SELECT revenue::text AS revenue FROM mv_product_positions WHERE product_id = %s", (product,))


def test_0012_widens_the_fees_and_its_rollback_restores_0011_exactly(scratch: str, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.core import migrations, schema

    # The schema 0011 left: the migrations up to it, from a folder holding only those.
    upto_0011 = tmp_path / "migrations"
    upto_0011.mkdir()
    for path in MIGRATIONS.glob("*.sql"):
        if path.name[:4] < WIDEN[:4]:
            shutil.copy(path, upto_0011 / path.name)
    monkeypatch.setenv("MIGRATIONS_DIR", str(upto_0011))
    assert migrations.apply()[-1] == "0011_view_refreshed_at"
    before = schema.dump(scratch)
    for path in MIGRATIONS.glob(f"{WIDEN}*.sql"):  # 0012 and nothing after it: later ones change the schema too
        shutil.copy(path, upto_0011 / path.name)

    assert migrations.apply() == [WIDEN]
    widened = schema.dump(scratch)
    changed = [line for line in difflib.unified_diff(before.splitlines(), widened.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    # Only the two columns differ: every view and materialized view came back as it was.
    assert changed == ["-    fixed_fee_direct numeric(15,2) DEFAULT 0 NOT NULL,",
                       "-    fixed_fee_facilitated numeric(15,2) DEFAULT 0 NOT NULL,",
                       "+    fixed_fee_direct numeric(18,2) DEFAULT 0 NOT NULL,",
                       "+    fixed_fee_facilitated numeric(18,2) DEFAULT 0 NOT NULL,"]

    assert migrations.rollback(1) == [WIDEN]
    assert schema.dump(scratch) == before
    assert migrations.apply() == [WIDEN]
    assert schema.dump(scratch) == widened


def test_0012_rollback_refuses_a_fee_that_would_not_fit_and_keeps_one_that_does(
        scratch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.core import migrations

    upto_0012 = tmp_path / "migrations"  # 0012 the newest, so that rolling back one step is rolling it back
    upto_0012.mkdir()
    for path in MIGRATIONS.glob("*.sql"):
        if path.name[:4] <= WIDEN[:4]:
            shutil.copy(path, upto_0012 / path.name)
    monkeypatch.setenv("MIGRATIONS_DIR", str(upto_0012))
    migrations.apply()
    assert _fee_types() == [("fixed_fee_direct", 18, 2), ("fixed_fee_facilitated", 18, 2)]
    product = _product_with_fee("10000000000000.00")  # 14 integer digits: one more than numeric(15, 2) holds
    owner_sql("REFRESH MATERIALIZED VIEW mv_product_positions")
    assert _positions(product) == [{"revenue": "10000000000000.00"}]

    with pytest.raises(psycopg.errors.RaiseException, match=r"cannot roll back 0012.*1 product") as refused:
        migrations.rollback(1)
    assert "Change or remove those fees first" in (refused.value.diag.message_hint or "")
    assert migrations.status().pending == 0  # still applied, nothing changed
    assert _fee_types() == [("fixed_fee_direct", 18, 2), ("fixed_fee_facilitated", 18, 2)]

    owner_sql("UPDATE products SET fixed_fee_direct = 9999999999999.99 WHERE id = %s", (product,))  # fits
    assert migrations.rollback(1) == [WIDEN]
    assert _fee_types() == [("fixed_fee_direct", 15, 2), ("fixed_fee_facilitated", 15, 2)]
    assert owner_sql("SELECT fixed_fee_direct::text AS fee FROM products WHERE id = %s", (product,)) == [
        {"fee": "9999999999999.99"}]
    assert _positions(product) == [{"revenue": "9999999999999.99"}]  # the views were refilled when recreated
    assert migrations.apply() == [WIDEN]
    assert _fee_types() == [("fixed_fee_direct", 18, 2), ("fixed_fee_facilitated", 18, 2)]
    assert _positions(product) == [{"revenue": "9999999999999.99"}]
