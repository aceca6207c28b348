"""A household's overview: every product with its funds and figures, in one statement whatever the household's size.

The rows come from store.overview_rows (one statement: the group, its products, their portfolio funds, each with
what its figures need and the household's data version). The figures are made here with the same functions as the
per-item endpoints, so each equals what they answer: a fund's IRR is GET /v1/portfolio-funds/{id}/irr's, a
product's GET /v1/products/{id}/irr's, the household's GET /v1/client-groups/{id}/irr's (all whole-life, through
performance.service.irr_from_inputs), a product's revenue performance.service.product_revenue's. Funds that ended
before today are one line per product, "Previous funds (n)", with their pooled IRR (their inputs as several
holdings, as a household pools its products).

The ETag is a digest of the data version the statement reads (any write to the household's rows changes it), the
IRR method and the code that makes the figures; a matching If-None-Match is answered 304 before any figure is
computed.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from chalicelib.core import db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.http import REVALIDATE, Reply, not_modified, not_modified_reply
from chalicelib.core.money import to_pennies
from chalicelib.products.overview import store
from chalicelib.products.performance import service as performance

ZERO = Decimal(0)
_FLOWS = ("invested", "withdrawn", "switched_in", "switched_out")


@cache
def _code_fingerprint() -> str:
    """The figures' code as deployed: the ETag changes with it, so a new rule (an IRR method corrected, say) is not
    answered 304 from a copy made under the old one. Read once per process."""
    from pathlib import Path

    from chalicelib.products.overview import service
    from chalicelib.products.performance import irr

    digest = hashlib.blake2b(digest_size=16)
    for module in (irr, performance, service, store):
        try:
            digest.update(Path(module.__file__).read_bytes())
        except (OSError, TypeError):  # no source file: its name stands in
            digest.update(module.__name__.encode())
    return digest.hexdigest()


def etag_of(version: str, method: str) -> str:
    """A strong ETag: the household's data version (which includes the date), the method and the code."""
    digest = hashlib.blake2b(f"{version}:{method}:{_code_fingerprint()}".encode(), digest_size=16).hexdigest()
    return f'"{digest}"'


class _Query:
    """What irr_from_inputs reads of a request: whole life, no flows listed."""

    from_ = None
    to = None
    include = None

    def __init__(self, method: str) -> None:
        self.method = method


def _holding(row: dict[str, Any]) -> dict[str, Any]:
    """A product or fund row as one holding in irr_from_inputs' shape (whole life: no start valuation)."""
    return {"found": True, "valued": row["value_date"] is not None, "id": row["id"], "name": row["name"],
            "end_date": row["value_date"], "end_value": row["value"], "start_date": None, "start_value": None,
            "unstarted": False, "flow_dates": row["flow_dates"], "flow_amounts": row["flow_amounts"]}


def _irr(query: _Query, holdings: list[dict[str, Any]], *, named: bool) -> dict[str, Any]:
    """The IRR of one holding or of several pooled. Several are ordered as the IRR endpoints' statement orders them
    (by end date, then id: reasons name them in that order), and the first says whether any was valued."""
    if len(holdings) > 1:
        valued = [h for h in holdings if h["end_date"] is not None]
        holdings = [h for h in holdings if h["end_date"] is None] + sorted(valued,
                                                                          key=lambda h: (h["end_date"], h["id"]))
        holdings[0] = {**holdings[0], "valued": any(h["valued"] for h in holdings)}
    answer = performance.irr_from_inputs(query, holdings, named=named)
    return {"irr": answer["irr"], "from": answer["from"], "to": answer["to"], "reason": answer["reason"]}


def _sums(items: list[dict[str, Any]]) -> dict[str, Decimal]:
    return {k: to_pennies(sum((i[k] for i in items), ZERO)) for k in _FLOWS}


def _owners(ownership: dict[str, Any], named: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The people the ownership names, with their names and percentages (joint owners: in the order given)."""
    names = {o["id"]: o["name"] for o in named}
    kind = ownership["association_type"]
    if kind == "individual":
        shares = {ownership["product_owner_id"]: "100.00"}
    elif kind == "tenants_in_common":  # largest share first (a JSON object's keys have no order)
        shares = dict(sorted(ownership["shares"].items(), key=lambda kv: (-Decimal(kv[1]), names.get(kv[0], ""),
                                                                           kv[0])))
    else:
        shares = dict.fromkeys(ownership["joint_owners"], ownership["collective_percentage"])
    return [{"product_owner_id": owner, "name": names.get(owner, ""), "share": Decimal(share)}
            for owner, share in shares.items()]


def _fund(row: dict[str, Any], query: _Query) -> dict[str, Any]:
    return {"portfolio_fund_id": row["id"], "fund_id": row["fund_id"], "fund_name": row["name"], "isin": row["isin"],
            "is_cash": row["is_cash"], "target_weighting": row["target_weighting"], "start_date": row["start_date"],
            "end_date": row["end_date"], "valuation": row["value"], "valuation_date": row["value_date"],
            **{k: to_pennies(row[k]) for k in _FLOWS}, "irr": _irr(query, [_holding(row)], named=False)}


def _previous(rows: list[dict[str, Any]], query: _Query) -> dict[str, Any] | None:
    if not rows:
        return None
    return {"label": f"Previous funds ({len(rows)})", "count": len(rows),
            "portfolio_fund_ids": [r["id"] for r in rows],
            "valuation": to_pennies(sum((r["value"] or ZERO for r in rows), ZERO)), **_sums(rows),
            "irr": _irr(query, [_holding(r) for r in rows], named=True)}


def _product(row: dict[str, Any], funds: list[dict[str, Any]], query: _Query) -> dict[str, Any]:
    latest = {"value": row["value"], "valuation_date": row["value_date"]} if row["value_date"] else None
    revenue = performance.product_revenue(row, latest)["revenue"]
    return {
        "id": row["id"], "name": row["name"], "product_type": row["product_type"], "status": row["status"],
        "start_date": row["start_date"], "end_date": row["end_date"], "plan_number": row["plan_number"],
        "currency": row["currency"],
        "provider": {"id": row["provider_id"], "name": row["provider_name"]} if row["provider_id"] else None,
        "portfolio_template": ({"id": row["template_id"], "name": row["template_name"]}
                               if row["template_id"] else None),
        "template_generation": ({"id": row["template_generation_id"], "generation": row["generation"],
                                 "name": row["generation_name"]} if row["template_generation_id"] else None),
        "ownership": row["ownership"], "owners": _owners(row["ownership"], row["owners"]),
        "fixed_fee_direct": row["fixed_fee_direct"], "fixed_fee_facilitated": row["fixed_fee_facilitated"],
        "percentage_fee_facilitated": row["percentage_fee_facilitated"], "revenue": revenue,
        "valuation": row["value"], "valuation_date": row["value_date"], **_sums(funds),
        "irr": _irr(query, [_holding(row)], named=False),
        "funds": [_fund(f, query) for f in funds if not f["ended"]],
        "previous_funds": _previous([f for f in funds if f["ended"]], query),
    }


def client_group_overview(ctx: RequestContext, group_id: UUID, method: str, if_none_match: str | None) -> Reply:
    """The overview (models.ClientGroupOverviewOut) with its ETag, or 304 when If-None-Match holds that ETag."""
    with db.transaction(ctx) as tx:
        rows = store.overview_rows(tx, group_id)
    if not rows or rows[0]["kind"] != "group":
        raise errors.NotFound("No such client group")
    group = rows[0]
    etag = etag_of(group["version"], method)
    headers = {"ETag": etag, "Cache-Control": REVALIDATE}
    if not_modified(if_none_match, etag):
        return not_modified_reply(etag)
    query = _Query(method)
    funds_of: dict[UUID, list[dict[str, Any]]] = {}
    for row in rows:
        if row["kind"] == "fund":
            funds_of.setdefault(row["parent_id"], []).append(row)
    product_rows = [r for r in rows if r["kind"] == "product"]
    products = [_product(r, funds_of.get(r["id"], []), query) for r in product_rows]
    active = [p for p in products if p["status"] == "active"]
    totals = {"funds_under_management": to_pennies(sum((p["valuation"] or ZERO for p in active), ZERO)),
              "revenue": to_pennies(sum((p["revenue"] for p in active), ZERO)), **_sums(products),
              "irr": (_irr(query, [_holding(r) for r in product_rows], named=True) if product_rows
                      else {"irr": None, "from": None, "to": None, "reason": "no valuation yet"})}
    body = {"client_group_id": group["id"], "name": group["name"], "status": group["status"], "method": method,
            "as_of": group["today"], "products": products, "totals": totals}
    return Reply(body, 200, headers)
