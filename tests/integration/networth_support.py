"""Building households with valued products for the net worth tests, through the real handlers."""
from __future__ import annotations

from typing import Any

from tests.integration.matrix_support import (
    add_member,
    add_portfolio_fund,
    add_valuation,
    create_client_group,
    create_fund,
    create_product_owner,
    expect_status,
    send,
    unique,
)

G = "/v1/client-groups"


def household(client: Any, auth: dict[str, str], people: list[tuple[str, str]],
              type_: str = "family") -> tuple[str, list[str]]:
    """A client group and its people, each (first name, inception date): (group id, owner ids in that order)."""
    group = create_client_group(client, auth, type=type_)
    ids = []
    for first, inception in people:
        owner = create_product_owner(client, auth, first_name=first, surname=unique("Hale"),
                                     inception_date=inception)
        add_member(client, auth, group["id"], owner["id"])
        ids.append(owner["id"])
    return group["id"], ids


def individual(owner: str) -> dict[str, Any]:
    return {"association_type": "individual", "product_owner_id": owner}


def tenants(shares: dict[str, str]) -> dict[str, Any]:
    return {"association_type": "tenants_in_common", "shares": shares}


def joint(owners: list[str], percentage: str = "100.00") -> dict[str, Any]:
    return {"association_type": "joint", "joint_owners": owners, "collective_percentage": percentage}


def valued_product(client: Any, auth: dict[str, str], group: str, name: str, product_type: str,
                   ownership: dict[str, Any], values: list[tuple[str, str]], *, start: str = "2020-01-15",
                   fund: str | None = None, **fields: Any) -> dict[str, Any]:
    """A managed product with one portfolio fund, valued (date, value) on each of `values`: its complete
    valuations are those values."""
    product = expect_status(send(client, "POST", f"{G}/{group}/products", headers=auth, body={
        "name": name, "product_type": product_type, "start_date": start, "ownership": ownership, **fields}), 201)
    fund = fund or create_fund(client, auth)["id"]
    pf = add_portfolio_fund(client, auth, product["id"], fund, start_date=start)
    for day, value in values:
        add_valuation(client, auth, pf["id"], day, value)
    product["portfolio_fund_id"] = pf["id"]
    return product


def networth(client: Any, auth: dict[str, str], group: str, as_of: str | None = None) -> dict[str, Any]:
    path = f"{G}/{group}/networth" + (f"?as_of={as_of}" if as_of else "")
    return expect_status(send(client, "GET", path, headers=auth), 200)


def run_snapshots(**options: Any) -> dict[str, Any]:
    from chalicelib.ops.jobs import run_job

    result = run_job("networth-snapshots", trigger="manual", **options)
    assert result.status == "succeeded", result
    return result.figures


def rows_by_name(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for section in answer["sections"] for row in section["rows"]}


def unmanaged_product(client: Any, auth: dict[str, str], group: str, name: str, kind: str, product_type: str,
                      ownership: dict[str, Any], values: list[tuple[str, str]], **fields: Any) -> dict[str, Any]:
    """An unmanaged product (an asset or a liability held elsewhere) valued (date, value) on each of `values`."""
    product = expect_status(send(client, "POST", f"{G}/{group}/unmanaged-products", headers=auth, body={
        "name": name, "kind": kind, "product_type": product_type, "ownership": ownership, **fields}), 201)
    for day, value in values:
        expect_status(send(client, "POST", f"/v1/unmanaged-products/{product['id']}/valuations", headers=auth,
                           body={"valuation_date": day, "value": value}), 201)
    return product


def fx_rate(client: Any, auth: dict[str, str], currency: str, day: str, rate: str) -> dict[str, Any]:
    resp = send(client, "POST", "/v1/fx-rates", headers=auth, body={"currency": currency, "rate_date": day,
                                                                     "rate": rate})
    assert resp.status_code in (200, 201), resp.body
    return resp.json_body


def information_item(client: Any, auth: dict[str, str], group: str, category: str, content: dict[str, Any],
                     owners: dict[str, Any]) -> dict[str, Any]:
    """An assets-and-liabilities information item."""
    return expect_status(send(client, "POST", f"{G}/{group}/information-items", headers=auth, body={
        "item_type": "assets_liabilities", "item_category": category, "data_content": content,
        "associated_product_owners": owners}), 201)
