"""Job `irr-history`: finds products whose stored IRR history is out of step with their valuation dates (a date
without its figures, or figures for a date no longer valued) and rewrites each from the earliest such date.

Every write keeps the history in step in its own transaction, so a run normally finds nothing. It repairs what
writers could not: dates a migration gave a product (0010 valued products holding only cash), or rows written by
raw SQL. Each product is rewritten in a transaction of its own (the owner role, as jobs run, with the product's
firm as the context) under the product's lock, the way a write does. Nightly, and runnable by hand
(`wealthdesk job run irr-history`)."""
from __future__ import annotations

from typing import Any


def irr_history(conn: Any) -> dict[str, Any]:
    """Products and rows in all (operators'), and each firm's own (its part, which its admin lists)."""
    from chalicelib.ops.jobs import BY_FIRM
    from chalicelib.products.performance import service

    by_firm = service.repair_stale_irr_histories(conn)
    return {"products": sum(p["products"] for p in by_firm.values()),
            "rows_written": sum(p["rows_written"] for p in by_firm.values()), BY_FIRM: by_firm}
