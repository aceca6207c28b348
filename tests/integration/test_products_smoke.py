"""One household's managed product end to end: catalogue, product with ownership, portfolio, valuations,
cash flows, the portfolio valuation kept in step, IRR and revenue."""
import json
from decimal import Decimal

from tests.conftest import assert_problem


def _post(client, path, headers, body):
    r = client.http.post(path, headers={**headers, "Content-Type": "application/json"}, body=json.dumps(body))
    assert r.status_code in (200, 201), (path, r.status_code, r.body)
    return r.json_body


def test_product_lifecycle(client, fresh_firm):
    h = fresh_firm.auth("adviser")
    group = _post(client, "/v1/client-groups", h, {"name": "The Pembertons", "type": "couple"})
    a = _post(client, "/v1/product-owners", h, {"first_name": "Ann", "surname": "Pemberton"})
    b = _post(client, "/v1/product-owners", h, {"first_name": "Bob", "surname": "Pemberton"})
    for o in (a, b):
        assert client.http.put(f"/v1/client-groups/{group['id']}/product-owners/{o['id']}",
                               headers=h).status_code == 201
    provider = _post(client, "/v1/providers", h, {"name": "Aviva", "colour": "#FFCC00"})
    f1 = _post(client, "/v1/funds", h, {"name": "Vanguard FTSE All-World", "isin": "IE00B3RBWM25", "risk_factor": 5})
    f2 = _post(client, "/v1/funds", h, {"name": "iShares Core MSCI World", "isin": "IE00B4L5Y983", "risk_factor": 5})
    cash = _post(client, "/v1/funds", h, {"name": "Cash", "is_cash": True})
    assert client.http.get("/v1/funds?isin=IE00B4L5Y983", headers=h).json_body["items"][0]["id"] == f2["id"]
    template = _post(client, "/v1/portfolio-templates", h, {"name": "Balanced"})
    gen = _post(client, f"/v1/portfolio-templates/{template['id']}/generations", h,
                {"funds": [{"fund_id": f1["id"], "target_weighting": "60.00"},
                           {"fund_id": f2["id"], "target_weighting": "35.00"},
                           {"fund_id": cash["id"], "target_weighting": "5.00"}]})
    assert gen["generation"] == 1 and not gen["in_use"]
    product = _post(client, f"/v1/client-groups/{group['id']}/products", h, {
        "name": "Joint GIA", "product_type": "gia", "provider_id": provider["id"], "plan_number": "GIA-001",
        "start_date": "2024-01-01", "fixed_fee_direct": "100.00", "fixed_fee_facilitated": "50.00",
        "percentage_fee_facilitated": "0.75", "template_generation_id": gen["id"],
        "ownership": {"association_type": "tenants_in_common", "shares": {a["id"]: "60", b["id"]: "40"}}})
    assert product["ownership"]["shares"][a["id"]] == "60.00"
    funds = client.http.get(f"/v1/products/{product['id']}/funds", headers=h).json_body["items"]
    assert len(funds) == 3
    pf = {f["fund_id"]: f["id"] for f in funds}
    _post(client, f"/v1/portfolio-funds/{pf[f1['id']]}/activity", h,
          {"activity_date": "2024-01-15", "activity_type": "investment", "amount": "150000.00"})
    _post(client, f"/v1/portfolio-funds/{pf[f2['id']]}/activity", h,
          {"activity_date": "2024-01-15", "activity_type": "investment", "amount": "87500.00"})
    _post(client, f"/v1/portfolio-funds/{pf[f1['id']]}/valuations", h,
          {"valuation_date": "2024-12-31", "value": "160000.00"})
    valuations = client.http.get(f"/v1/products/{product['id']}/valuations", headers=h).json_body["items"]
    assert valuations == []  # the second non-cash fund has no valuation that date yet
    _post(client, f"/v1/portfolio-funds/{pf[f2['id']]}/valuations", h,
          {"valuation_date": "2024-12-31", "value": "90000.00"})
    valuations = client.http.get(f"/v1/products/{product['id']}/valuations", headers=h).json_body["items"]
    assert valuations == [{"valuation_date": "2024-12-31", "value": "250000.00"}]
    irr = client.http.get(f"/v1/products/{product['id']}/irr?method=xirr&include=flows", headers=h).json_body
    assert irr["method"] == "xirr" and irr["irr"] is not None and irr["to"] == "2024-12-31"
    assert Decimal(irr["irr"]) > 0 and len(irr["flows"]) >= 2
    kingston = client.http.get(f"/v1/products/{product['id']}/irr", headers=h).json_body
    assert kingston["method"] == "kingston_monthly" and kingston["irr"] is not None
    group_irr = client.http.get(f"/v1/client-groups/{group['id']}/irr", headers=h).json_body
    assert group_irr["irr"] == kingston["irr"]  # one product: the pooled flows are the product's
    history = client.http.get(f"/v1/products/{product['id']}/irr-history", headers=h).json_body["items"]
    assert {(r["valuation_date"], r["method"]) for r in history} == {("2024-12-31", "kingston_monthly"),
                                                                     ("2024-12-31", "xirr")}
    revenue = client.http.get(f"/v1/products/{product['id']}/revenue", headers=h).json_body
    assert revenue["revenue"] == "2025.00"  # 100.00 + 50.00 + 250,000.00 x 0.75 / 100
    assert_problem(client.http.post(f"/v1/products/{product['id']}/lapse", headers=h), 409)
    assert client.http.get(f"/v1/portfolio-templates/{template['id']}/generations", headers=h
                           ).json_body["items"][0]["in_use"] is True


def test_summary_dashboard_revenue_and_search(client, fresh_firm):
    from chalicelib.ops.jobs import run_job

    h = fresh_firm.auth("adviser")
    group = _post(client, "/v1/client-groups", h, {"name": "The Hargreaves Family", "type": "family"})
    owner = _post(client, "/v1/product-owners", h, {"first_name": "Edith", "surname": "Hargreaves"})
    client.http.put(f"/v1/client-groups/{group['id']}/product-owners/{owner['id']}", headers=h)
    provider = _post(client, "/v1/providers", h, {"name": "Quilter"})
    fund = _post(client, "/v1/funds", h, {"name": "Royal London Sustainable", "isin": "GB00B7V23Z99"})
    product = _post(client, f"/v1/client-groups/{group['id']}/products", h, {
        "name": "Hargreaves ISA", "product_type": "stocks_and_shares_isa", "provider_id": provider["id"],
        "plan_number": "ISA-7781", "start_date": "2023-06-01", "fixed_fee_direct": "120.00",
        "percentage_fee_facilitated": "0.50",
        "ownership": {"association_type": "individual", "product_owner_id": owner["id"]}})
    pf = _post(client, f"/v1/products/{product['id']}/funds", h, {"fund_id": fund["id"], "start_date": "2023-06-01"})
    _post(client, f"/v1/portfolio-funds/{pf['id']}/activity", h,
          {"activity_date": "2023-06-01", "activity_type": "investment", "amount": "20000.00"})
    _post(client, f"/v1/portfolio-funds/{pf['id']}/valuations", h,
          {"valuation_date": "2024-06-01", "value": "21500.00"})
    revenue = client.http.get(f"/v1/client-groups/{group['id']}/revenue", headers=h).json_body
    assert revenue["revenue"] == "227.50" and revenue["products"] == 1  # 120.00 + 21,500.00 x 0.50%
    # The summary is live: the figures are there at once, with no refresh.
    early = client.http.get(f"/v1/client-groups/{group['id']}/summary", headers=h)
    assert early.status_code == 200, early.json_body
    assert (early.json_body["funds_under_management"], early.json_body["revenue"]) == ("21500.00", "227.50")
    assert early.json_body["active_products"] == 1 and early.json_body["latest_valuation_date"] == "2024-06-01"
    assert early.json_body["irr"]["irr"] is not None and early.json_body["refreshed_at"]
    assert "pending_refresh" not in early.json_body
    before = client.http.get("/v1/dashboard", headers=h).json_body  # a firm with nothing refreshed yet
    assert (before["funds_under_management"], before["products"], before["by_provider"]) == ("0.00", 0, [])
    assert before["refreshed_at"] and before["stale"] is True and before["stale_since"]
    assert run_job("refresh-views", trigger="manual").status == "succeeded"
    summary = client.http.get(f"/v1/client-groups/{group['id']}/summary", headers=h).json_body
    assert summary["funds_under_management"] == "21500.00" and summary["revenue"] == "227.50"
    assert summary["active_products"] == 1 and summary["irr"]["irr"] is not None
    assert summary["refreshed_at"] > early.json_body["refreshed_at"]  # the time it was computed
    dashboard = client.http.get("/v1/dashboard", headers=h).json_body
    assert dashboard["funds_under_management"] == "21500.00"
    assert dashboard["by_provider"][0]["label"] == "Quilter"
    assert dashboard["top_households"][0]["client_group_id"] == group["id"]
    for q, kind in (("hargreav", "client_group"), ("Edith Harg", "product_owner"), ("ISA-77", "product"),
                    ("GB00B7V", "fund"), ("quilt", "provider")):
        hits = client.http.get(f"/v1/search?q={q.replace(' ', '%20')}", headers=h).json_body["items"]
        assert any(x["kind"] == kind for x in hits), (q, hits)
    assert_problem(client.http.get("/v1/search?q=ab", headers=h), 422, "q")


def test_dashboard_figures_by_provider_product_type_and_adviser_hand_worked(client, fresh_firm):
    """Two advisers' households, two providers, two product types, and a lapsed product (left out of FUM and
    revenue): every breakdown and the top households, worked by hand."""
    from chalicelib.ops.jobs import run_job

    h = fresh_firm.auth("admin")
    advisers = [fresh_firm.users["admin"]["id"], fresh_firm.users["adviser"]["id"]]
    aviva = _post(client, "/v1/providers", h, {"name": "Aviva"})
    abell = _post(client, "/v1/providers", h, {"name": "AJ Bell"})
    fund = _post(client, "/v1/funds", h, {"name": "World Index", "isin": "GB00B7V23Z99"})

    def product(group: dict, owner: dict, provider: dict, ptype: str, value: str, fee: str, pct: str) -> dict:
        made = _post(client, f"/v1/client-groups/{group['id']}/products", h, {
            "name": f"{ptype} {value}", "product_type": ptype, "provider_id": provider["id"],
            "start_date": "2024-01-01", "fixed_fee_direct": fee, "percentage_fee_facilitated": pct,
            "ownership": {"association_type": "individual", "product_owner_id": owner["id"]}})
        pf = _post(client, f"/v1/products/{made['id']}/funds", h, {"fund_id": fund["id"], "start_date": "2024-01-01"})
        _post(client, f"/v1/portfolio-funds/{pf['id']}/valuations", h, {"valuation_date": "2024-06-30", "value": value})
        return made

    groups = []
    for name, adviser in (("Ames", advisers[0]), ("Brook", advisers[1])):
        group = _post(client, "/v1/client-groups", h, {"name": name, "type": "individual", "adviser_id": str(adviser)})
        owner = _post(client, "/v1/product-owners", h, {"first_name": "Pat", "surname": name})
        client.http.put(f"/v1/client-groups/{group['id']}/product-owners/{owner['id']}", headers=h)
        groups.append((group, owner))
    (ames, ames_owner), (brook, brook_owner) = groups
    # revenue = fixed + value x pct / 100
    product(ames, ames_owner, aviva, "gia", "100000.00", "100.00", "0.50")            # 600.00
    product(ames, ames_owner, abell, "pension", "50000.00", "0.00", "1.00")            # 500.00
    product(brook, brook_owner, aviva, "pension", "30000.00", "50.00", "0.25")         # 125.00
    lapsed = product(brook, brook_owner, abell, "gia", "0.00", "999.00", "1.00")       # lapsed: left out
    assert client.http.post(f"/v1/products/{lapsed['id']}/lapse", headers=h).status_code == 200
    assert run_job("refresh-views", trigger="manual").status == "succeeded"
    d = client.http.get("/v1/dashboard", headers=h).json_body

    def rows(dimension: str) -> dict:
        return {r["label"]: (r["funds_under_management"], r["revenue"], r["products"]) for r in d[dimension]}

    assert (d["funds_under_management"], d["revenue"], d["products"]) == ("180000.00", "1225.00", 3)
    assert rows("by_provider") == {"Aviva": ("130000.00", "725.00", 2), "AJ Bell": ("50000.00", "500.00", 1)}
    assert rows("by_product_type") == {"gia": ("100000.00", "600.00", 1), "pension": ("80000.00", "625.00", 2)}
    assert rows("by_adviser") == {fresh_firm.users["admin"]["name"]: ("150000.00", "1100.00", 2),
                                  fresh_firm.users["adviser"]["name"]: ("30000.00", "125.00", 1)}
    assert [(t["client_group_id"], t["funds_under_management"], t["revenue"]) for t in d["top_households"]] == [
        (ames["id"], "150000.00", "1100.00"), (brook["id"], "30000.00", "125.00")]
    brook_summary = client.http.get(f"/v1/client-groups/{brook['id']}/summary", headers=h).json_body
    assert (brook_summary["active_products"], brook_summary["lapsed_products"]) == (1, 1)
    assert brook_summary["funds_under_management"] == "30000.00"


def test_search_ranks_whole_word_matches_first_and_stays_in_the_firm(client, fresh_firm, firm_b):
    """'smith' is a whole word of "Anna Smith" (similarity 1) and only part of a word elsewhere; results come best
    first, ties by label; `kind` narrows; another firm's Smith is never seen."""
    h = fresh_firm.auth("adviser")
    _post(client, "/v1/product-owners", h, {"first_name": "Anna", "surname": "Smith"})
    group = _post(client, "/v1/client-groups", h, {"name": "Smithson Holdings", "type": "corporate"})
    _post(client, "/v1/funds", h, {"name": "Blacksmith Income"})
    _post(client, "/v1/providers", h, {"name": "Goldsmiths Wealth"})
    other = _post(client, "/v1/product-owners", firm_b.auth("adviser"), {"first_name": "Zed", "surname": "Smith"})
    found = client.http.get("/v1/search?q=smith", headers=h).json_body["items"]
    assert found[0]["label"].startswith("Anna") and found[0]["score"] == 1.0, found
    assert [x["score"] for x in found] == sorted((x["score"] for x in found), reverse=True)
    assert {x["kind"] for x in found} == {"product_owner", "client_group", "fund", "provider"}
    assert other["id"] not in {x["id"] for x in found}
    groups = client.http.get("/v1/search?q=smith&kind=client_group", headers=h).json_body["items"]
    assert [x["id"] for x in groups] == [group["id"]]
