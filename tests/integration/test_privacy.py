"""A person's export (everything held on them, audited) and erasure (refused while an active product or a retention
hold needs them; ids and financial facts kept; idempotent)."""
from __future__ import annotations

import json
from typing import Any

from tests.conftest import Firm, assert_problem, owner_sql
from tests.integration.matrix_support import (
    add_member,
    create_action,
    create_household,
    create_information_item,
    create_product,
    create_product_owner,
    create_unmanaged,
    expect_status,
    send,
)

PO = "/v1/product-owners"


def _person(client: Any, firm: Firm) -> dict[str, Any]:
    """A person with a household, a partner, a product of their own, one held as tenants in common (60%), a flat
    held elsewhere, an information item naming them, an action and an item not naming them."""
    admin = firm.auth()
    house = create_household(client, admin)
    partner = create_product_owner(client, admin)
    add_member(client, admin, house.group_id, partner["id"])
    own = create_product(client, admin, house)
    shared = create_product(client, admin, house, ownership={
        "association_type": "tenants_in_common", "shares": {house.owner_id: "60.00", partner["id"]: "40.00"}})
    theirs = create_product(client, admin, house, ownership={"association_type": "individual",
                                                             "product_owner_id": partner["id"]})
    flat = create_unmanaged(client, admin, house)
    item = create_information_item(client, admin, house.group_id, item_type="assets_liabilities",
                                   item_category="Savings", data_content={"latest_valuation": "1000.00"},
                                   associated_product_owners={"association_type": "individual",
                                                              "product_owner_id": house.owner_id})
    other_item = create_information_item(client, admin, house.group_id)
    action = create_action(client, admin, house.group_id)
    expect_status(send(client, "PATCH", f"{PO}/{house.owner_id}", headers={**admin, "If-Match": '"1"'},
                       body={"email": "jane.doe@example.com", "phone": "+44 20 7946 0000",
                             "date_of_birth": "1970-05-04", "known_as": "Janey"}), 200)
    return {"house": house, "partner": partner, "own": own, "shared": shared, "theirs": theirs, "flat": flat,
            "item": item, "other_item": other_item, "action": action}


def test_the_export_holds_everything_on_the_person_and_is_audited(client: Any, firm_a: Firm, firm_b: Firm) -> None:
    p = _person(client, firm_a)
    owner = p["house"].owner_id
    resp = send(client, "POST", f"{PO}/{owner}/export", headers=firm_a.auth())
    doc = expect_status(resp, 200)
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="product-owner-{owner}.json"'
    assert doc["product_owner_id"] == owner
    assert doc["product_owner"]["email"] == "jane.doe@example.com"
    assert doc["product_owner"]["date_of_birth"] == "1970-05-04"
    assert [g["id"] for g in doc["client_groups"]] == [p["house"].group_id]
    assert {pr["id"] for pr in doc["products"]} == {p["own"]["id"], p["shared"]["id"]}  # not the partner's own
    assert [u["id"] for u in doc["unmanaged_products"]] == [p["flat"]["id"]]
    shares = {(o["kind"], o["product_id"]): (o["association_type"], o["share"]) for o in doc["ownership"]}
    assert shares == {("managed", p["own"]["id"]): ("individual", "100.00"),
                      ("managed", p["shared"]["id"]): ("tenants_in_common", "60.00"),
                      ("unmanaged", p["flat"]["id"]): ("individual", "100.00")}
    assert [i["id"] for i in doc["information_items"]] == [p["item"]["id"]]
    assert [a["id"] for a in doc["actions"]] == [p["action"]["id"]]
    events = [(e["action"], e["resource_id"]) for e in doc["audit_events"]]
    assert ("product_owner.create", owner) in events and ("product_owner.update", owner) in events
    assert ("client_group.add_product_owner", p["house"].group_id) in events
    assert all("ip" not in e and "user_agent" not in e and "firm_id" not in e for e in doc["audit_events"])
    assert all("firm_id" not in doc[k] for k in ("product_owner",))
    # the export's own event: which sections and how many rows, never the data
    [event] = owner_sql("SELECT after FROM audit_events WHERE firm_id = %s AND action = 'product_owner.export' "
                        "AND resource_id = %s", (firm_a.id, owner))
    assert event["after"]["sections"]["products"] == 2 and "jane" not in json.dumps(event).lower()
    # another firm's person is not found; only admins export
    assert_problem(send(client, "POST", f"{PO}/{owner}/export", headers=firm_b.auth()), 404)
    for who in ("adviser", "viewer", "write"):
        assert_problem(send(client, "POST", f"{PO}/{owner}/export", headers=firm_a.auth(who)), 403)


def test_erasure_is_refused_while_an_active_product_or_a_hold_needs_the_person(client: Any, firm_a: Firm) -> None:
    p = _person(client, firm_a)
    owner, admin = p["house"].owner_id, firm_a.auth()
    body = assert_problem(send(client, "POST", f"{PO}/{owner}/erase", headers=admin), 409)
    assert p["own"]["name"] in body["detail"] and p["flat"]["name"] in body["detail"]
    for product in (p["own"], p["shared"]):
        expect_status(send(client, "POST", f"/v1/products/{product['id']}/lapse", headers=admin), 200)
    assert_problem(send(client, "POST", f"{PO}/{owner}/erase", headers=admin), 409)  # the flat is still held
    expect_status(send(client, "POST", f"/v1/unmanaged-products/{p['flat']['id']}/status", headers=admin,
                       body={"status": "sold", "reason": "Sold in 2024"}), 200)
    # a hold: only an admin sets it, and while it is set the person stays
    version = expect_status(send(client, "GET", f"{PO}/{owner}", headers=admin), 200)["version"]
    assert_problem(send(client, "PATCH", f"{PO}/{owner}", headers={**firm_a.auth("adviser"),
                                                                   "If-Match": f'"{version}"'},
                        body={"retention_hold": True}), 403)
    held = expect_status(send(client, "PATCH", f"{PO}/{owner}", headers={**admin, "If-Match": f'"{version}"'},
                              body={"retention_hold": True}), 200)
    assert held["retention_hold"] is True
    assert "hold" in assert_problem(send(client, "POST", f"{PO}/{owner}/erase", headers=admin), 409)["detail"]
    assert owner_sql("SELECT first_name FROM product_owners WHERE id = %s", (owner,))[0]["first_name"] != "Erased"
    assert not owner_sql("SELECT 1 FROM audit_events WHERE action = 'product_owner.erase' AND resource_id = %s",
                         (owner,))
    # only admins erase
    assert_problem(send(client, "POST", f"{PO}/{owner}/erase", headers=firm_a.auth("adviser")), 403)


def test_erasure_anonymizes_the_person_keeps_the_facts_and_is_idempotent(client: Any, firm_a: Firm,
                                                                        firm_b: Firm) -> None:
    admin = firm_a.auth()
    house = create_household(client, admin)
    owner = house.owner_id
    product = create_product(client, admin, house)
    expect_status(send(client, "POST", f"/v1/products/{product['id']}/lapse", headers=admin), 200)
    expect_status(send(client, "PATCH", f"{PO}/{owner}", headers={**admin, "If-Match": '"1"'},
                       body={"email": "gone@example.com", "phone": "01234 567890", "date_of_birth": "1960-01-02",
                             "status": "inactive"}), 200)
    before = expect_status(send(client, "GET", f"{PO}/{owner}", headers=admin), 200)
    assert_problem(send(client, "POST", f"{PO}/{owner}/erase", headers=firm_b.auth()), 404)

    erased = expect_status(send(client, "POST", f"{PO}/{owner}/erase", headers=admin), 200)
    assert (erased["first_name"], erased["surname"], erased["known_as"], erased["email"], erased["phone"],
            erased["date_of_birth"]) == ("Erased", "Erased", None, None, None, None)
    assert erased["id"] == owner and erased["erased_at"] is not None and erased["version"] == before["version"] + 1
    assert (erased["status"], erased["inception_date"]) == (before["status"], before["inception_date"])
    # the household, the membership and the product's ownership and figures stay
    assert owner_sql("SELECT 1 FROM client_group_product_owners WHERE product_owner_id = %s", (owner,))
    kept = expect_status(send(client, "GET", f"/v1/products/{product['id']}", headers=admin), 200)
    assert kept["ownership"] == product["ownership"] and kept["status"] == "lapsed"
    [event] = owner_sql("SELECT before, after, changed_fields FROM audit_events WHERE action = 'product_owner.erase' "
                        "AND resource_id = %s", (owner,))
    assert "gone@example.com" not in json.dumps(event) and before["surname"] not in json.dumps(event)
    assert event["before"]["email"] == "(erased)" and event["after"]["email"] is None
    assert {"first_name", "surname", "email", "phone", "date_of_birth", "erased_at"} <= set(event["changed_fields"])

    again = expect_status(send(client, "POST", f"{PO}/{owner}/erase", headers=admin), 200)
    assert again == erased
    assert owner_sql("SELECT count(*) AS n FROM audit_events WHERE action = 'product_owner.erase' "
                     "AND resource_id = %s", (owner,)) == [{"n": 2}]
    # what was erased stays erased, by the API and in the database
    assert_problem(send(client, "PATCH", f"{PO}/{owner}", headers={**admin, "If-Match": f'"{erased["version"]}"'},
                        body={"email": "back@example.com"}), 409)
    import psycopg
    import pytest

    with pytest.raises(psycopg.errors.CheckViolation):
        owner_sql("UPDATE product_owners SET phone = '999' WHERE id = %s", (owner,))
    export = expect_status(send(client, "POST", f"{PO}/{owner}/export", headers=admin), 200)
    assert export["product_owner"]["first_name"] == "Erased" and export["products"][0]["id"] == product["id"]
