"""Money: Decimal everywhere, pennies when shown. One definition of a penny and of rounding to it."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

PENNY = Decimal("0.01")


def to_pennies(value: Any) -> Decimal:
    """A sum at any scale (a coalesced 0 has none) as pennies, half away from zero as a ledger rounds."""
    return Decimal(value).quantize(PENNY, ROUND_HALF_UP)
