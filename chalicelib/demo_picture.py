"""Demo households' whole picture beyond their products: information items of every type, a couple of actions and
one or two objectives each (a money goal linked to the household's first product, with contributions, when it has
products), generated from a seed.

Written in bulk inside the caller's transaction through each domain's store (one INSERT ... SELECT FROM unnest per
table for all the households); the items' search terms and owner checks follow by the database's triggers.
"""
from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx

EMPLOYERS = ["NHS Trust", "Barclays", "Rolls-Royce", "Self-employed", "Local authority", "Unilever", "Retired"]
LENDERS = ["Nationwide", "Halifax", "Santander", "Lloyds", "Coventry Building Society"]
INSURERS = ["Legal & General", "Aviva", "Vitality", "Royal London", "Zurich"]
ADVISER_ACTIONS = [("Send the annual review pack", "Valuations, IRRs and the fee summary"),
                   ("Rebalance to the model portfolio", "Drifted more than 5% from the template"),
                   ("Check the ISA allowance before April", None)]
CLIENT_ACTIONS = [("Return the signed ISA transfer form", "Post it back in the prepaid envelope"),
                  ("Send the latest pension statement", None),
                  ("Confirm the expression of wish form", "For the SIPP")]
PLAIN_OBJECTIVES = [("Update both wills", "Include guardianship for the children"),
                    ("Set up lasting powers of attorney", None),
                    ("Review life cover after the house move", None)]
MONEY_GOALS = [("Retirement fund", "Retire at 60 on two-thirds of current income", 400_000, 900_000),
               ("School fees", "Secondary school for the youngest", 60_000, 150_000),
               ("House deposit", "For the eldest's first home", 30_000, 80_000)]


def _uuid(rng: random.Random) -> UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _money(value: float) -> str:
    return f"{Decimal(value).quantize(Decimal('1'))}.00"


def _owners(rng: random.Random, people: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [str(p["id"]) for p in people[:2]]
    if len(ids) == 2 and rng.random() < 0.7:
        return {"association_type": "joint", "joint_owners": ids, "collective_percentage": "100.00"}
    return {"association_type": "individual", "product_owner_id": ids[0]}


def _items(rng: random.Random, group: dict[str, Any], people: list[dict[str, Any]],
           today: date) -> list[tuple[Any, ...]]:
    from psycopg.types.json import Jsonb

    g = group["id"]
    owners = _owners(rng, people)
    bought = today - timedelta(days=rng.randint(400, 9000))
    valued = today - timedelta(days=rng.randint(10, 300))
    home = rng.randrange(180_000, 1_200_000, 5_000)
    out = [
        (_uuid(rng), g, "basic_detail", "Personal", Jsonb({
            "marital_status": "married" if len(people) > 1 else rng.choice(["single", "widowed", "divorced"]),
            "nationality": "British", "employment": rng.choice(EMPLOYERS)}), None),
        (_uuid(rng), g, "income_expenditure", "Income", Jsonb({
            "salary_value": _money(rng.randrange(28_000, 160_000, 500)),
            "monthly_outgoings_value": _money(rng.randrange(1_500, 6_000, 50)), "frequency": "annual"}), None),
        (_uuid(rng), g, "assets_liabilities", "Property", Jsonb({
            "name": "Main residence", "latest_valuation": _money(home), "valuation_date": valued.isoformat(),
            "purchase_date": bought.isoformat()}), Jsonb(owners)),
        (_uuid(rng), g, "protection", "Life cover", Jsonb({
            "provider": rng.choice(INSURERS), "sum_assured_value": _money(rng.randrange(100_000, 750_000, 25_000)),
            "renews_on": (today + timedelta(days=rng.randint(30, 3000))).isoformat()}), Jsonb(owners)),
    ]
    if rng.random() < 0.6:
        out.append((_uuid(rng), g, "assets_liabilities", "Mortgage", Jsonb({
            "lender": rng.choice(LENDERS), "kind": "liability",
            "latest_valuation": _money(home * rng.uniform(0.1, 0.6)), "valuation_date": valued.isoformat(),
            "fixed_rate_ends_on": (today + timedelta(days=rng.randint(60, 1800))).isoformat()}), Jsonb(owners)))
    out.append((_uuid(rng), g, "vulnerability_health", "Health", Jsonb({
        "condition": rng.choice(["hearing loss", "none disclosed", "type 2 diabetes", "recent bereavement"]),
        "recorded_date": valued.isoformat(), "adjustments": "Send documents by post as well as email"}), None))
    return out


def _actions(rng: random.Random, group: dict[str, Any], today: date, now: datetime) -> list[tuple[Any, ...]]:
    g = group["id"]
    name, description = rng.choice(ADVISER_ACTIONS)
    ours = (_uuid(rng), g, name, description, "adviser", "outstanding",
            today + timedelta(days=rng.randint(-20, 120)), None)
    name, description = rng.choice(CLIENT_ACTIONS)
    if rng.random() < 0.5:
        theirs = (_uuid(rng), g, name, description, "client", "completed",
                  today - timedelta(days=rng.randint(5, 60)), now - timedelta(days=rng.randint(1, 4)))
    else:
        theirs = (_uuid(rng), g, name, description, "client", "outstanding",
                  today + timedelta(days=rng.randint(-10, 60)), None)
    return [ours, theirs]


def create_picture(tx: Tx, rng: random.Random, households: list[tuple[dict[str, Any], list[dict[str, Any]]]],
                   first_products: dict[UUID, UUID]) -> dict[str, int]:
    """Items, actions and objectives for each household; `first_products` maps a household to the product its money
    goal counts (households without one get a plain objective only). Returns counts."""
    from chalicelib.actions import store as actions_store
    from chalicelib.information_items import store as items_store
    from chalicelib.objectives import store as objectives_store

    today = date.today()
    now = datetime.now(UTC)
    items, actions, objectives, links, contributions = [], [], [], [], []
    for group, people in households:
        items += _items(rng, group, people, today)
        actions += _actions(rng, group, today, now)
        title, description = rng.choice(PLAIN_OBJECTIVES)
        objectives.append((_uuid(rng), group["id"], title, description,
                           today + timedelta(days=rng.randint(30, 400)), rng.randint(2, 4),
                           rng.choice(["active", "active", "modified"]), Decimal(rng.choice([0, 25, 50, 75])),
                           None, None))
        product = first_products.get(group["id"])
        if product is None:
            continue
        title, description, low, high = rng.choice(MONEY_GOALS)
        goal = _uuid(rng)
        objectives.append((goal, group["id"], title, description,
                           date(today.year + rng.randint(3, 15), rng.randint(1, 12), 1), 1, "active", None,
                           Decimal(rng.randrange(low, high, 5_000)),
                           Decimal(rng.choice(["0.0300", "0.0400", "0.0500"]))))
        links.append((goal, product))
        for k in range(rng.randint(1, 3)):
            day = today - timedelta(days=30 * (k + 1) + rng.randint(0, 20))
            contributions.append((_uuid(rng), goal, Decimal(rng.choice([100, 250, 500, 1000, 2500])), day,
                                  rng.choice([None, "Monthly saving", "Bonus"])))
    counts = {"information_items": items_store.bulk_insert_items_of_groups(tx, items),
              "actions": actions_store.bulk_insert_actions(tx, actions),
              "objectives": objectives_store.bulk_insert_objectives(tx, objectives)}
    objectives_store.bulk_link_products(tx, links)
    counts["objective_contributions"] = objectives_store.bulk_insert_contributions(tx, contributions)
    return counts
