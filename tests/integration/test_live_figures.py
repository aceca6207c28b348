"""Figures that are current: the household summary is live; the dashboard's views are refreshed by the job
refresh-stale-views when (and only when) a write is not in them yet, and every dashboard answer says whether it
is stale; the dashboard's template and fund breakdowns, counts and firm IRR, each against an independent
computation from the rows."""
from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.conftest import make_firm, owner_sql


def _post(client: Any, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = client.http.post(path, headers={**headers, "Content-Type": "application/json"}, body=json.dumps(body))
    assert r.status_code in (200, 201), (path, r.status_code, r.body)
    return r.json_body


def _patch(client: Any, path: str, headers: dict[str, str], body: dict[str, Any], version: int) -> dict[str, Any]:
    r = client.http.patch(path, headers={**headers, "Content-Type": "application/json", "If-Match": f'"{version}"'},
                          body=json.dumps(body))
    assert r.status_code == 200, (path, r.status_code, r.body)
    return r.json_body


def _get(client: Any, path: str, headers: dict[str, str]) -> dict[str, Any]:
    r = client.http.get(path, headers=headers)
    assert r.status_code == 200, (path, r.status_code, r.body)
    return r.json_body


def _run(name: str = "refresh-stale-views") -> dict[str, Any]:
    from chalicelib.ops.jobs import run_job

    result = run_job(name, trigger="manual")
    assert result.status == "succeeded", result
    return result.figures


def _household(client: Any, h: dict[str, str], name: str, adviser: Any = None) -> tuple[dict, dict]:
    body: dict[str, Any] = {"name": name, "type": "individual"}
    if adviser is not None:
        body["adviser_id"] = str(adviser)
    group = _post(client, "/v1/client-groups", h, body)
    owner = _post(client, "/v1/product-owners", h, {"first_name": "Pat", "surname": name})
    assert client.http.put(f"/v1/client-groups/{group['id']}/product-owners/{owner['id']}",
                           headers=h).status_code == 201
    return group, owner


def _catalogue(client: Any, h: dict[str, str]) -> dict[str, Any]:
    equity = _post(client, "/v1/funds", h, {"name": "Global Equity", "risk_factor": 5})
    bond = _post(client, "/v1/funds", h, {"name": "Sterling Bond", "risk_factor": 3})
    cash = _post(client, "/v1/funds", h, {"name": "Cash", "is_cash": True})
    balanced = _post(client, "/v1/portfolio-templates", h, {"name": "Balanced"})
    cautious = _post(client, "/v1/portfolio-templates", h, {"name": "Cautious"})
    balanced_gen = _post(client, f"/v1/portfolio-templates/{balanced['id']}/generations", h,
                         {"funds": [{"fund_id": equity["id"], "target_weighting": "60.00"},
                                    {"fund_id": bond["id"], "target_weighting": "40.00"}]})
    cautious_gen = _post(client, f"/v1/portfolio-templates/{cautious['id']}/generations", h,
                         {"funds": [{"fund_id": bond["id"], "target_weighting": "70.00"},
                                    {"fund_id": cash["id"], "target_weighting": "30.00"}]})
    return {"E": equity, "B": bond, "C": cash, "balanced": balanced, "cautious": cautious,
            "balanced_gen": balanced_gen, "cautious_gen": cautious_gen}


class Book:
    """Four products written through the API, the same way into any household (so that one firm's products spread
    over two households and another firm's one household hold identical flows and valuations):

    - P1 (Balanced template: equity 60 / bond 40, from 2022-01-01): 6,000 and 4,000 invested on 2022-01-15; valued
      2022-12-31 (6,600 + 4,100) and 2023-12-31 (7,000 + 4,200): latest complete valuation 11,200.
    - P2 (no template, from 2022-06-01): equity, 5,000 invested on 2022-06-10, valued 5,400 on 2023-06-30; a bond
      fund added on 2023-07-01 with 1,000 invested and valued 1,010 on 2023-09-30, when the equity is not valued:
      its latest complete valuation stays 2023-06-30 (equity 5,400 alone).
    - P3 (Cautious template: bond 70 / cash 30, from 2023-01-01): 7,000 and 3,000 invested on 2023-01-05, valued
      7,300 + 3,050 on 2023-12-31; an equity fund held from 2023-01-01 to 2023-06-30 (2,000 in on 2023-01-05,
      2,100 switched out on its last day, valued 2,050 on 2023-03-31, an incomplete date): 10,350.
    - P4 (Balanced, from 2022-01-01): 1,000 invested in equity on 2022-01-10, both funds valued 0 on 2022-12-31,
      then lapsed: out of FUM, still in the IRR.
    """

    def __init__(self, client: Any, h: dict[str, str], cat: dict[str, Any]) -> None:
        self.client, self.h, self.cat = client, h, cat

    def product(self, group: dict, owner: dict, name: str, start: str, generation: dict | None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "product_type": "gia", "start_date": start,
                                "fixed_fee_direct": "100.00", "percentage_fee_facilitated": "0.50",
                                "ownership": {"association_type": "individual", "product_owner_id": owner["id"]}}
        if generation is not None:
            body["template_generation_id"] = generation["id"]
        made = _post(self.client, f"/v1/client-groups/{group['id']}/products", self.h, body)
        funds = _get(self.client, f"/v1/products/{made['id']}/funds", self.h)["items"]
        made["pf"] = {f["fund_id"]: f["id"] for f in funds}
        return made

    def fund(self, product: dict, key: str, start: str) -> str:
        pf = _post(self.client, f"/v1/products/{product['id']}/funds", self.h,
                   {"fund_id": self.cat[key]["id"], "start_date": start})
        product["pf"][self.cat[key]["id"]] = pf["id"]
        return pf["id"]

    def flow(self, pf: str, day: str, kind: str, amount: str) -> None:
        _post(self.client, f"/v1/portfolio-funds/{pf}/activity", self.h,
              {"activity_date": day, "activity_type": kind, "amount": amount})

    def value(self, pf: str, day: str, amount: str) -> None:
        _post(self.client, f"/v1/portfolio-funds/{pf}/valuations", self.h, {"valuation_date": day, "value": amount})

    def pf(self, product: dict, key: str) -> str:
        return product["pf"][self.cat[key]["id"]]

    def write(self, homes: list[tuple[dict, dict]]) -> dict[str, dict[str, Any]]:
        cat = self.cat
        first, second = homes[0], homes[-1]
        p1 = self.product(*first, "P1", "2022-01-01", cat["balanced_gen"])
        self.flow(self.pf(p1, "E"), "2022-01-15", "investment", "6000.00")
        self.flow(self.pf(p1, "B"), "2022-01-15", "investment", "4000.00")
        for day, e, b in (("2022-12-31", "6600.00", "4100.00"), ("2023-12-31", "7000.00", "4200.00")):
            self.value(self.pf(p1, "E"), day, e)
            self.value(self.pf(p1, "B"), day, b)
        p2 = self.product(*first, "P2", "2022-06-01", None)
        self.fund(p2, "E", "2022-06-01")
        self.flow(self.pf(p2, "E"), "2022-06-10", "investment", "5000.00")
        self.value(self.pf(p2, "E"), "2023-06-30", "5400.00")
        self.fund(p2, "B", "2023-07-01")
        self.flow(self.pf(p2, "B"), "2023-07-01", "investment", "1000.00")
        self.value(self.pf(p2, "B"), "2023-09-30", "1010.00")
        p3 = self.product(*second, "P3", "2023-01-01", cat["cautious_gen"])
        self.flow(self.pf(p3, "B"), "2023-01-05", "investment", "7000.00")
        self.flow(self.pf(p3, "C"), "2023-01-05", "investment", "3000.00")
        equity = self.fund(p3, "E", "2023-01-01")
        self.flow(equity, "2023-01-05", "investment", "2000.00")
        self.value(equity, "2023-03-31", "2050.00")
        self.flow(equity, "2023-06-30", "switch_out", "2100.00")
        _patch(self.client, f"/v1/portfolio-funds/{equity}", self.h, {"end_date": "2023-06-30"}, 1)
        self.value(self.pf(p3, "B"), "2023-12-31", "7300.00")
        self.value(self.pf(p3, "C"), "2023-12-31", "3050.00")
        p4 = self.product(*second, "P4", "2022-01-01", cat["balanced_gen"])
        self.flow(self.pf(p4, "E"), "2022-01-10", "investment", "1000.00")
        self.value(self.pf(p4, "E"), "2022-12-31", "0.00")
        self.value(self.pf(p4, "B"), "2022-12-31", "0.00")
        assert self.client.http.post(f"/v1/products/{p4['id']}/lapse", headers=self.h).status_code == 200
        return {"P1": p1, "P2": p2, "P3": p3, "P4": p4}


# --- 1. the household summary is live ---------------------------------------------------------------------------

def test_a_valuation_shows_in_the_household_summary_at_once(client, fresh_firm):
    h = fresh_firm.auth("adviser")
    cat = _catalogue(client, h)
    group, owner = _household(client, h, "Ashworth")
    book = Book(client, h, cat)
    p1 = book.product(group, owner, "P1", "2022-01-01", cat["balanced_gen"])
    book.flow(book.pf(p1, "E"), "2022-01-15", "investment", "6000.00")
    book.flow(book.pf(p1, "B"), "2022-01-15", "investment", "4000.00")
    path = f"/v1/client-groups/{group['id']}/summary"
    empty = _get(client, path, h)
    assert (empty["funds_under_management"], empty["revenue"], empty["active_products"],
            empty["lapsed_products"], empty["latest_valuation_date"]) == ("0.00", "100.00", 1, 0, None)
    assert empty["irr"]["reason"] == "no valuation yet" and "pending_refresh" not in empty

    book.value(book.pf(p1, "E"), "2022-12-31", "6600.00")
    half = _get(client, path, h)  # the bond is not valued that day: no complete valuation yet
    assert (half["funds_under_management"], half["latest_valuation_date"]) == ("0.00", None)
    book.value(book.pf(p1, "B"), "2022-12-31", "4100.00")
    now = _get(client, path, h)
    # 100.00 fixed + 10,700.00 x 0.50 / 100 = 153.50
    assert (now["funds_under_management"], now["revenue"], now["latest_valuation_date"]) == (
        "10700.00", "153.50", "2022-12-31")
    assert now["irr"] == _get(client, f"/v1/client-groups/{group['id']}/irr", h)
    assert now["refreshed_at"] > half["refreshed_at"] > empty["refreshed_at"]  # when each was computed

    # A second product, then a lapsed one: counts and FUM follow at once.
    p4 = book.product(group, owner, "P4", "2022-01-01", cat["balanced_gen"])
    book.value(book.pf(p4, "E"), "2023-03-31", "0.00")
    book.value(book.pf(p4, "B"), "2023-03-31", "0.00")
    assert client.http.post(f"/v1/products/{p4['id']}/lapse", headers=h).status_code == 200
    later = _get(client, path, h)
    assert (later["funds_under_management"], later["revenue"], later["active_products"], later["lapsed_products"],
            later["latest_valuation_date"]) == ("10700.00", "153.50", 1, 1, "2023-03-31")
    # The same figures computed from the rows by hand: the active products' latest complete valuations.
    rows = owner_sql("SELECT p.status, (SELECT v.value FROM portfolio_valuations v WHERE v.product_id = p.id "
                     "ORDER BY v.valuation_date DESC LIMIT 1) AS value FROM products p WHERE p.client_group_id = %s",
                     (group["id"],))
    assert str(sum(r["value"] or 0 for r in rows if r["status"] == "active")) == later["funds_under_management"]


def test_the_summary_of_another_firms_household_is_not_found(client, fresh_firm, firm_b):
    group, _ = _household(client, firm_b.auth("adviser"), "Elsewhere")
    r = client.http.get(f"/v1/client-groups/{group['id']}/summary", headers=fresh_firm.auth("viewer"))
    assert r.status_code == 404


# --- 2. the dashboard: marks, the frequent job, staleness ---------------------------------------------------------

def _marks(firm_id: Any) -> list[dict[str, Any]]:
    return owner_sql("SELECT id, written_at FROM dashboard_writes WHERE firm_id = %s ORDER BY id", (firm_id,))


def test_a_write_makes_the_dashboard_stale_and_the_frequent_job_brings_it_in(client, fresh_firm, firm_b):
    h = fresh_firm.auth("adviser")
    cat = _catalogue(client, h)
    group, owner = _household(client, h, "Bramley")
    book = Book(client, h, cat)
    p1 = book.product(group, owner, "P1", "2022-01-01", cat["balanced_gen"])
    book.value(book.pf(p1, "E"), "2022-12-31", "600.00")
    book.value(book.pf(p1, "B"), "2022-12-31", "400.00")
    _run("refresh-views")  # everything in: not stale
    before = _get(client, "/v1/dashboard", h)
    assert (before["funds_under_management"], before["stale"], before["stale_since"]) == ("1000.00", False, None)
    assert _marks(fresh_firm.id) == []

    book.value(book.pf(p1, "E"), "2023-12-31", "700.00")
    book.value(book.pf(p1, "B"), "2023-12-31", "500.00")
    stale = _get(client, "/v1/dashboard", h)
    assert stale["funds_under_management"] == "1000.00"  # the views as they were
    assert stale["stale"] is True and stale["stale_since"] > before["refreshed_at"]
    assert stale["refreshed_at"] == before["refreshed_at"]
    assert len(_marks(fresh_firm.id)) == 2  # one per write transaction, however many statements it ran
    assert _get(client, "/v1/dashboard", firm_b.auth("viewer"))["stale"] is False  # marks are per firm

    figures = _run()
    assert figures["refreshed"] is True and figures["writes_seen"] >= 2 and figures["writes_cleared"] >= 2
    assert figures["firm_irr"]["firms"] >= 1
    after = _get(client, "/v1/dashboard", h)
    assert (after["funds_under_management"], after["stale"], after["stale_since"]) == ("1200.00", False, None)
    assert after["refreshed_at"] > stale["stale_since"]  # the refresh began after the write
    assert _marks(fresh_firm.id) == []


def test_the_frequent_job_does_nothing_when_no_write_is_marked(client, fresh_firm, monkeypatch):
    from chalicelib.ops import store
    from chalicelib.ops.refresh_views import VIEWS

    _run("refresh-views")
    refreshed = owner_sql("SELECT view_name, refreshed_at FROM view_refreshes ORDER BY 1")
    calls: list[str] = []
    real = store.refresh_materialized_view
    monkeypatch.setattr(store, "refresh_materialized_view", lambda conn, view, as_of: calls.append(view)
                        or real(conn, view, as_of))
    figures = _run()
    assert figures == {"writes_seen": 0, "oldest_write": None, "refreshed": False}
    assert calls == []
    assert owner_sql("SELECT view_name, refreshed_at FROM view_refreshes ORDER BY 1") == refreshed
    # A write that changes no figure the dashboard reads (a household's notes) leaves no mark either.
    group, _ = _household(client, fresh_firm.auth("adviser"), "Notes")
    assert _run()["refreshed"] is True and len(calls) == len(VIEWS)
    _patch(client, f"/v1/client-groups/{group['id']}", fresh_firm.auth("adviser"), {"notes": "called today"}, 1)
    assert _marks(fresh_firm.id) == []
    assert _run()["refreshed"] is False and len(calls) == len(VIEWS)


def _app_connection(firm: Any) -> psycopg.Connection:
    """The app role's own connection, in a transaction that has entered the firm as a request's does (its
    adviser's session, verified by auth_enter_session: migration 0018), left open by the caller."""
    import jwt

    from chalicelib.core import config

    claims = jwt.decode(firm.tokens["adviser"], options={"verify_signature": False})
    conn = psycopg.connect(config.app_database_url(), autocommit=False)
    assert conn.execute("SELECT auth_enter_session(%s, %s, %s, %s)",
                        (claims["sid"], claims["sub"], claims["firm"], claims["role"])).fetchone()[0]
    return conn


def test_a_write_that_commits_while_a_refresh_runs_keeps_the_dashboard_stale(client, fresh_firm, monkeypatch):
    """The job reads the marks, then refreshes; a writer that commits between the two is not among the marks it
    read, so its mark survives the run (stale), and the next run takes it in."""
    from chalicelib.ops import store

    h = fresh_firm.auth("adviser")
    cat = _catalogue(client, h)
    group, owner = _household(client, h, "Carrow")
    book = Book(client, h, cat)
    p2 = book.product(group, owner, "P2", "2022-06-01", None)
    pf = book.fund(p2, "E", "2022-06-01")
    book.value(pf, "2022-12-31", "100.00")
    _run("refresh-views")
    assert _get(client, "/v1/dashboard", h)["funds_under_management"] == "100.00"

    book.value(pf, "2023-01-31", "200.00")  # committed before the run: seen by it
    racing = _app_connection(fresh_firm)  # begun before the run, committed during it
    racing.execute("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
                   "VALUES (%s, %s, '2023-02-28', 300)", (fresh_firm.id, pf))
    [racing_mark] = racing.execute("SELECT id FROM dashboard_writes WHERE xid = pg_current_xact_id()").fetchall()
    real = store.refresh_materialized_view
    committed = threading.Event()

    def refresh(conn: Any, view: str, as_of: Any) -> int:
        if not committed.is_set():  # the marks are read by now; the writer commits before the first REFRESH
            racing.commit()
            committed.set()
        return real(conn, view, as_of)

    monkeypatch.setattr(store, "refresh_materialized_view", refresh)
    figures = _run()
    racing.close()
    assert committed.is_set() and figures["refreshed"] is True
    left = _marks(fresh_firm.id)
    assert [m["id"] for m in left] == [racing_mark[0]]  # the seen write's mark went, the racing one stayed
    during = _get(client, "/v1/dashboard", h)
    assert during["stale"] is True and datetime.fromisoformat(during["stale_since"]) == left[0]["written_at"]
    monkeypatch.setattr(store, "refresh_materialized_view", real)
    _run()
    after = _get(client, "/v1/dashboard", h)
    assert (after["funds_under_management"], after["stale"]) == ("300.00", False)


def test_a_writer_with_no_firm_marks_every_firm(client, fresh_firm, firm_b):
    _run("refresh-views")
    group, _ = _household(client, fresh_firm.auth("adviser"), "Raw")
    _run()
    owner_sql("UPDATE client_groups SET name = 'Raw SQL' WHERE id = %s", (group["id"],))  # the owner, no firm set
    for firm in (fresh_firm, firm_b):
        assert len(_marks(firm.id)) == 1
        assert _get(client, "/v1/dashboard", firm.auth("viewer"))["stale"] is True
    _run()
    assert _get(client, "/v1/dashboard", fresh_firm.auth("viewer"))["top_households"][0]["name"] == "Raw SQL"


def test_concurrent_writers_of_one_firm_do_not_wait_for_each_other(client, fresh_firm):
    """Two transactions of the same firm, both holding their marks uncommitted: the second's write and mark go
    in without waiting for the first (a shared "dirty since" row would make it wait until the first commits)."""
    h = fresh_firm.auth("adviser")
    first, _ = _household(client, h, "One")
    second, _ = _household(client, h, "Two")
    a, b = _app_connection(fresh_firm), _app_connection(fresh_firm)
    try:
        a.execute("UPDATE client_groups SET name = 'One A' WHERE id = %s", (first["id"],))
        b.execute("SET LOCAL lock_timeout = '2s'")  # would raise LockNotAvailable if it had to wait
        b.execute("UPDATE client_groups SET name = 'Two B' WHERE id = %s", (second["id"],))
        assert b.execute("SELECT count(*) FROM dashboard_writes WHERE xid = pg_current_xact_id()").fetchone()[0] == 1
        b.commit()
        a.commit()
    finally:
        a.close()
        b.close()


def test_the_two_refresh_jobs_share_one_lock():
    from chalicelib.core import db
    from chalicelib.ops.jobs import _lock_key, run_job

    with db.owner_connection() as holder:  # the nightly run, still going
        assert holder.execute("SELECT pg_try_advisory_lock(%s) AS got", (_lock_key("refresh-views"),)
                              ).fetchone()["got"]
        assert run_job("refresh-stale-views", trigger="schedule").status == "skipped"
        holder.execute("SELECT pg_advisory_unlock(%s)", (_lock_key("refresh-views"),))
    assert run_job("refresh-stale-views", trigger="manual").status == "succeeded"


# --- 3. the dashboard's new figures --------------------------------------------------------------------------------

def _fund_totals_from_rows(firm_id: Any) -> dict[str, tuple[Decimal, int]]:
    """FUM by fund computed in Python from the raw rows: each active product's latest complete valuation date, and
    the fund valuations of its portfolio funds on that date, summed per fund."""
    products = owner_sql("SELECT id FROM products WHERE firm_id = %s AND status = 'active'", (firm_id,))
    totals: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for p in products:
        dates = [r["valuation_date"] for r in owner_sql(
            "SELECT valuation_date FROM portfolio_valuations WHERE product_id = %s", (p["id"],))]
        if not dates:
            continue
        for r in owner_sql("SELECT pf.fund_id, fv.value, fv.valuation_date FROM portfolio_funds pf "
                           "JOIN fund_valuations fv ON fv.portfolio_fund_id = pf.id WHERE pf.product_id = %s",
                           (p["id"],)):
            if r["valuation_date"] == max(dates):
                totals[str(r["fund_id"])][0] += r["value"]
                totals[str(r["fund_id"])][1] += 1
    return {k: (v[0], v[1]) for k, v in totals.items()}


def test_dashboard_template_and_fund_breakdowns_counts_and_firm_irr(client, fresh_firm):
    h = fresh_firm.auth("admin")
    cat = _catalogue(client, h)
    homes = [_household(client, h, "Dunmore", fresh_firm.users["admin"]["id"]),
             _household(client, h, "Eastleigh", fresh_firm.users["adviser"]["id"])]
    Book(client, h, cat).write(homes)
    # The same book in one household of a firm of its own: its household IRR is the reference for the firm IRR.
    other = make_firm()
    oh = other.auth("admin")
    reference, _ = home = _household(client, oh, "Reference")
    Book(client, oh, _catalogue(client, oh)).write([home])

    assert _get(client, "/v1/dashboard", h)["irr"]["reason"] == "not computed yet"
    figures = _run()
    assert figures["refreshed"] is True
    d = _get(client, "/v1/dashboard", h)
    assert d["stale"] is False

    # FUM: P1 11,200 + P2 5,400 + P3 10,350 (P4 lapsed).
    assert (d["funds_under_management"], d["products"]) == ("26950.00", 3)
    name = {cat[k]["id"]: cat[k]["name"] for k in ("E", "B", "C")}
    by_fund = {r["key"]: (r["label"], r["funds_under_management"], r["portfolio_funds"], r["products"])
               for r in d["by_fund"]}
    # Equity: P1 7,000 + P2 5,400 (its bond, not valued on P2's complete date, holds nothing yet; P3's equity
    # ended before P3's). Bond: P1 4,200 + P3 7,300. Cash: P3 3,050.
    assert by_fund == {cat["E"]["id"]: (name[cat["E"]["id"]], "12400.00", 2, 2),
                       cat["B"]["id"]: (name[cat["B"]["id"]], "11500.00", 2, 2),
                       cat["C"]["id"]: (name[cat["C"]["id"]], "3050.00", 1, 1)}
    assert [r["key"] for r in d["by_fund"]] == [cat["E"]["id"], cat["B"]["id"], cat["C"]["id"]]  # largest first
    assert sum(Decimal(r["funds_under_management"]) for r in d["by_fund"]) == Decimal(d["funds_under_management"])
    from_rows = _fund_totals_from_rows(fresh_firm.id)
    assert {k: (str(v[0]), v[1]) for k, v in from_rows.items()} == {k: (v[1], v[2]) for k, v in by_fund.items()}

    # Templates: revenue 100.00 + value x 0.50 / 100 per product.
    by_template = {r["key"]: (r["label"], r["funds_under_management"], r["revenue"], r["products"])
                   for r in d["by_template"]}
    assert by_template == {cat["balanced"]["id"]: ("Balanced", "11200.00", "156.00", 1),
                           cat["cautious"]["id"]: ("Cautious", "10350.00", "151.75", 1),
                           "none": (None, "5400.00", "127.00", 1)}  # created without a template

    assert d["counts"] == {"households": 2, "people": 2, "products": 3, "lapsed_products": 1,
                           "portfolio_funds": 6}  # P1 2, P2 2, P3 2 (its equity ended), P4 lapsed
    assert {r["label"]: r["funds_under_management"] for r in d["by_adviser"]} == {
        fresh_firm.users["admin"]["name"]: "16600.00", fresh_firm.users["adviser"]["name"]: "10350.00"}

    # The firm IRR: every product pooled as one household's are, by each method.
    for method in ("kingston_monthly", "xirr"):
        expected = _get(client, f"/v1/client-groups/{reference['id']}/irr?method={method}", oh)
        shown = _get(client, f"/v1/dashboard?method={method}", h)["irr"]
        assert shown["irr"] is not None and shown["as_of"] == d["refreshed_at"]
        assert {k: shown[k] for k in ("irr", "method", "from", "to", "reason")} == {
            k: expected[k] for k in ("irr", "method", "from", "to", "reason")}
    assert d["irr"]["method"] == "kingston_monthly"


@pytest.mark.parametrize("query", ["method=simple", "method=", "methods=xirr"])
def test_the_dashboard_refuses_an_unknown_method(client, firm_a, query):
    from tests.conftest import assert_problem

    assert_problem(client.http.get(f"/v1/dashboard?{query}", headers=firm_a.auth("viewer")), 422)
