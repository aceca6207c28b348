"""Products' fixed fees hold any amount the API's Money type accepts (18 digits, 2 after the point): the columns
were numeric(15, 2), so a fee of 16 integer digits passed validation and the database refused it."""
from __future__ import annotations

from typing import Any

from tests.conftest import Firm, owner_sql
from tests.integration.matrix_support import create_household, create_product, expect_status, send

LARGEST_MONEY = "9999999999999999.99"  # Money: 18 digits, 2 of them decimals


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
