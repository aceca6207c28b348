"""Net worth arithmetic, pure: a household's people and positions in, the statement's figures out.

A position is one holding (a managed product, an unmanaged product, an assets-and-liabilities item) on one date:
its value in its own currency, the rate that converts it to the firm's currency (None when no rate is known on
or before the date) and its ownership in one of the three forms (docs/domain.md, "Ownership"). The rules, which
docs/domain.md ("Net worth") states in words:

- the converted value V is value x rate, to the penny (half away from zero);
- the household's share s is 100 for an individual owner, the sum of the shares for tenants in common, the
  collective percentage for joint owners; the row's `total` (the household's part) is V x s / 100 to the penny,
  half away from zero, and `third_party` is V - total (what people outside the household own);
- the total goes to one owner's column (individual), to `joint` (joint owners), or is split between the tenants
  in common by largest remainder: each owner's exact part V x share / 100 rounded down to the penny, then the
  pennies left over one each to the owners with the largest remainders (ties: the larger share first, then the
  owners' column order). So every row's owner and joint columns add up to its total exactly;
- subtotals add up their rows column by column, totals their sections; net worth is assets - liabilities,
  column by column. Liabilities are positive amounts in their sections.

Nothing here reads the database: store.py reads the positions (every source with the same columns), the service
calls `statement()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from typing import Any

PENNY = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")
JOINT, THIRD_PARTY, TOTAL = "joint", "third_party", "total"
KINDS = ("asset", "liability")


@dataclass(frozen=True)
class Owner:
    id: str  # the product owner's id, as text (it is a key of every amounts object)
    name: str


@dataclass(frozen=True)
class Position:
    """One holding on the date asked for, as every source gives it."""

    source: str  # "managed_product", "unmanaged_product" or "item"
    id: str
    name: str
    section: str  # the product or item type: the section it is listed in
    kind: str  # "asset" or "liability"
    currency: str
    value: Decimal  # in `currency`; a liability's is positive
    valuation_date: date | None
    ownership: dict[str, Any]
    rate: Decimal | None  # to the firm's currency; None: no rate on or before the date


def _pennies(value: Decimal) -> Decimal:
    return value.quantize(PENNY, ROUND_HALF_UP)


def converted(position: Position) -> Decimal | None:
    """The value in the firm's currency, to the penny; None without a rate."""
    if position.rate is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        return _pennies(position.value * position.rate)


def household_share(ownership: dict[str, Any]) -> Decimal:
    """The household's share in percent (SQL ownership_household_share, migration 0026, is the same rule)."""
    form = ownership.get("association_type")
    if form == "individual":
        return HUNDRED
    if form == "tenants_in_common":
        return sum((Decimal(v) for v in ownership.get("shares", {}).values()), Decimal(0))
    if form == "joint":
        return Decimal(ownership.get("collective_percentage", "100"))
    return Decimal(0)


def split(value: Decimal, ownership: dict[str, Any], order: dict[str, int]) -> dict[str, Decimal]:
    """One row's amounts: {owner id: part, "joint": part, "third_party": part, "total": part}, only the non-zero
    owner columns (the caller fills the others with 0). `order` gives each owner's column position."""
    with localcontext() as ctx:
        ctx.prec = 60
        sign = -1 if value < 0 else 1
        magnitude = abs(value)
        total = _pennies(magnitude * household_share(ownership) / HUNDRED)
        out: dict[str, Decimal] = {}
        form = ownership.get("association_type")
        if form == "individual":
            out[str(ownership["product_owner_id"])] = total
        elif form == "joint":
            out[JOINT] = total
        elif form == "tenants_in_common":
            out.update(_largest_remainder(magnitude, total, ownership["shares"], order))
        out[THIRD_PARTY] = magnitude - total
        out[TOTAL] = total
        return {k: v * sign for k, v in out.items()}


def _largest_remainder(value: Decimal, total: Decimal, shares: dict[str, Any],
                       order: dict[str, int]) -> dict[str, Decimal]:
    """`total` (pennies) split between the tenants in common in proportion to their shares of `value`."""
    parts = []
    for owner, share_text in shares.items():
        share = Decimal(share_text)
        exact = value * share / HUNDRED
        floor = exact.quantize(PENNY, ROUND_FLOOR)
        parts.append([str(owner), floor, exact - floor, share])
    left = int((total - sum((p[1] for p in parts), Decimal(0))) / PENNY)
    ranked = sorted(parts, key=lambda p: (-p[2], -p[3], order.get(p[0], len(order)), p[0]))
    for part in ranked[:left]:
        part[1] += PENNY
    return {p[0]: p[1] for p in parts}


def _amounts(keys: list[str], values: dict[str, Decimal] | None = None) -> dict[str, Decimal]:
    values = values or {}
    return {k: values.get(k, ZERO) for k in keys}


def _add(into: dict[str, Decimal], more: dict[str, Decimal]) -> None:
    for k, v in more.items():
        into[k] += v


def _text(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {k: f"{v:.2f}" for k, v in amounts.items()}


def statement(owners: list[Owner], positions: list[Position], *, as_of: date, currency: str,
              client_group_id: str) -> dict[str, Any]:
    """The net worth answer (docs/domain.md, "Net worth"): owners, sections of rows with subtotals, totals and the
    positions that could not be converted. Every amount is a decimal string with two decimals."""
    keys = [o.id for o in owners] + [JOINT, THIRD_PARTY, TOTAL]
    order = {o.id: i for i, o in enumerate(owners)}
    sections: dict[tuple[str, str], dict[str, Any]] = {}
    unconverted = []
    for p in sorted(positions, key=lambda p: (p.name, p.id)):
        value = converted(p)
        if value is None:
            unconverted.append({"source": p.source, "id": p.id, "name": p.name, "section": p.section, "kind": p.kind,
                                "currency": p.currency, "value": f"{p.value:.2f}", "valuation_date": p.valuation_date,
                                "reason": f"no {p.currency} rate to {currency} on or before {as_of.isoformat()}"})
            continue
        parts = split(value, p.ownership, order)
        strangers = set(parts) - set(keys)
        if strangers:  # the database refuses an owner outside the household (products_owners_in_group)
            raise RuntimeError(f"{p.source} {p.id} names owners outside the household: {sorted(strangers)}")
        amounts = _amounts(keys, parts)
        section = sections.setdefault((p.kind, p.section), {"name": p.section, "kind": p.kind, "rows": [],
                                                             "subtotal": _amounts(keys)})
        _add(section["subtotal"], amounts)
        section["rows"].append({"source": p.source, "id": p.id, "name": p.name, "currency": p.currency,
                                "value": f"{p.value:.2f}", "rate": None if p.currency == currency else str(p.rate),
                                "valuation_date": p.valuation_date, "amounts": _text(amounts)})
    totals = {kind: _amounts(keys) for kind in KINDS}
    ordered = []
    for (kind, _name), section in sorted(sections.items(), key=lambda s: (KINDS.index(s[0][0]), s[0][1])):
        _add(totals[kind], section["subtotal"])
        ordered.append({**section, "subtotal": _text(section["subtotal"])})
    net = {k: totals["asset"][k] - totals["liability"][k] for k in keys}
    return {"client_group_id": client_group_id, "as_of": as_of, "currency": currency,
            "owners": [{"id": o.id, "name": o.name} for o in owners], "sections": ordered,
            "totals": {"assets": _text(totals["asset"]), "liabilities": _text(totals["liability"]),
                       "net_worth": _text(net)},
            "unconverted": unconverted}
