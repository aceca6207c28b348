"""Realistic demo data for a firm: UK households (individuals, couples, families, trusts) and their people.

Generated from a seed, so the same command gives the same firm. Rows are written in bulk (clients.store's
bulk_* functions) in one transaction as the system principal; the load leaves one audit event (`demo.load`)
rather than one per generated row.
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from chalicelib.clients import store
from chalicelib.core import audit, db
from chalicelib.core import store as core_store
from chalicelib.core.context import RequestContext

FIRST_MALE = ["James", "Oliver", "William", "Harry", "George", "Thomas", "Jack", "Charles", "Edward", "Henry",
              "David", "Richard", "Michael", "Peter", "Andrew", "Robert", "Daniel", "Samuel", "Arthur", "Alfie"]
FIRST_FEMALE = ["Olivia", "Amelia", "Isla", "Emily", "Sophie", "Charlotte", "Grace", "Alice", "Eleanor", "Ruth",
                "Margaret", "Elizabeth", "Sarah", "Helen", "Catherine", "Victoria", "Lucy", "Hannah", "Freya", "Poppy"]
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
            "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
            "Patel", "Khan", "Hughes", "Edwards", "Turner", "Hill", "Cooper", "Ward", "Morris", "Harrison",
            "Fletcher", "Ashworth", "Pemberton", "Whitaker", "Kingsley", "Hargreaves", "Cartwright", "Ellison"]
TRUST_NAMES = ["Family Trust", "Discretionary Trust", "Bare Trust", "Will Trust", "Settlement"]
COMPANY_SUFFIX = ["Holdings Ltd", "Properties Ltd", "Consulting Ltd", "& Sons Ltd", "Investments LLP"]
KNOWN_AS = {"William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Margaret": "Maggie", "Richard": "Dick",
            "Edward": "Ted", "Catherine": "Kate", "Thomas": "Tom", "Michael": "Mike", "Victoria": "Vicky"}


def _person(rng: random.Random, surname: str, female: bool, born_from: int, born_to: int) -> dict[str, Any]:
    first = rng.choice(FIRST_FEMALE if female else FIRST_MALE)
    dob = date(rng.randint(born_from, born_to), rng.randint(1, 12), rng.randint(1, 28))
    domain = rng.choice(["gmail.com", "outlook.com", "btinternet.com", "yahoo.co.uk", "icloud.com"])
    return {
        "first_name": first, "surname": surname,
        "known_as": KNOWN_AS.get(first) if rng.random() < 0.4 else None,
        "date_of_birth": dob,
        "email": f"{first.lower()}.{surname.lower()}{rng.randint(1, 99)}@{domain}" if rng.random() < 0.85 else None,
        "phone": f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}" if rng.random() < 0.8 else None,
    }


def generate(rng: random.Random, households: int) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """[(client group, [people in inception order])]."""
    out = []
    today = date.today()
    for _ in range(households):
        kind = rng.choices(["individual", "couple", "family", "trust", "corporate"], [30, 35, 20, 10, 5])[0]
        surname = rng.choice(SURNAMES)
        inception = today - timedelta(days=rng.randint(30, 20 * 365))
        people: list[dict[str, Any]] = []
        if kind == "individual":
            people.append(_person(rng, surname, rng.random() < 0.5, 1940, 1995))
            name = f"{people[0]['first_name']} {surname}"
        elif kind == "couple":
            people += [_person(rng, surname, False, 1945, 1990), _person(rng, surname, True, 1945, 1990)]
            name = f"{people[0]['first_name']} & {people[1]['first_name']} {surname}"
        elif kind == "family":
            people += [_person(rng, surname, False, 1955, 1985), _person(rng, surname, True, 1955, 1985)]
            people += [_person(rng, surname, rng.random() < 0.5, 1990, 2008) for _ in range(rng.randint(1, 3))]
            name = f"The {surname} Family"
        elif kind == "trust":
            people += [_person(rng, surname, rng.random() < 0.5, 1940, 1975) for _ in range(rng.randint(1, 2))]
            name = f"The {surname} {rng.choice(TRUST_NAMES)}"
        else:
            people.append(_person(rng, surname, rng.random() < 0.5, 1955, 1985))
            name = f"{surname} {rng.choice(COMPANY_SUFFIX)}"
        for i, person in enumerate(people):
            person["inception_date"] = inception + timedelta(days=i * rng.randint(0, 400))
            person["inception_date"] = min(person["inception_date"], today)
            person["id"] = uuid.UUID(int=rng.getrandbits(128), version=4)
        status = rng.choices(["active", "dormant", "inactive"], [85, 10, 5])[0]
        group = {"id": uuid.UUID(int=rng.getrandbits(128), version=4), "name": name, "type": kind,
                 "status": status, "notes": None if rng.random() < 0.7 else "Annual review due in spring."}
        out.append((group, people))
    return out


_CHUNK = 5000  # rows per bulk statement


def load(firm_id: UUID, households: int, advisers: list[UUID], *, seed: int = 42,
         progress: Callable[[int], None] | None = None, products: bool = True,
         irr_history: bool = True, picture: bool = True) -> dict[str, int]:
    """Insert `households` generated households into the firm (with products unless products=False).

    irr_history=False skips the stored IRR history (for benchmarks that load millions of valuations and
    measure the history themselves); picture=False leaves out the information items, actions and objectives
    (demo_picture.py). Returns counts."""
    ctx = RequestContext.system(firm_id)
    with db.transaction(ctx) as tx:  # a second load into the same firm must not draw the same ids again
        before = store.group_count(tx)
    rng = random.Random(f"{seed}:{firm_id}:{households}" + (f":{before}" if before else ""))
    data = generate(rng, households)
    groups = [g for g, _ in data]
    people = [(g["id"], p) for g, ps in data for p in ps]
    people_count = len(people)
    with db.transaction(ctx) as tx:
        core_store.no_statement_timeout(tx)  # one bulk load, not a request: slow on a busy machine, never runaway
        for start in range(0, len(groups), _CHUNK):
            chunk = groups[start:start + _CHUNK]
            store.bulk_insert_groups(tx, [
                {**g, "adviser_id": advisers[(start + i) % len(advisers)] if advisers else None}
                for i, g in enumerate(chunk)])
            if progress:
                progress(len(chunk))
        for start in range(0, len(people), _CHUNK):
            chunk = people[start:start + _CHUNK]
            store.bulk_insert_owners(tx, [p for _, p in chunk])
            store.bulk_add_members(tx, [(g, p["id"]) for g, p in chunk])
        counts: dict[str, Any] = {}
        if products:
            from chalicelib import demo_products
            from chalicelib.products.performance.service import recompute_irr_history

            catalogue = demo_products.create_catalogue(tx, rng)
            counts = demo_products.create_products(tx, rng, catalogue, data)
            if irr_history:
                for product_id in counts["product_ids"]:
                    recompute_irr_history(tx, product_id, date.min)
        if picture:
            from chalicelib import demo_picture

            counts = {**counts, **demo_picture.create_picture(tx, rng, data, counts.get("first_products", {}))}
        summary = {"households": households, "product_owners": people_count,
                   **{k: v for k, v in counts.items() if k not in ("product_ids", "first_products")}}
        audit.record(tx, "demo.load", "firm", firm_id, None, {**summary, "seed": seed})
    return summary
