"""Information items (part "items"): the list's `q` under row-level security, and what the search words cost a write.

A firm of BENCH_ITEMS_HOUSEHOLDS households (default 300, from chalicelib.demo.load) with BENCH_ITEMS_PER_HOUSEHOLD
items each (default 30, about 1 KiB of content each) and one large household of 300 items of about 8 KiB, written
through the service's batch (so the database derives the search words as it does for the API). Figures:

- I1. `GET /v1/client-groups/{id}/information-items?q=<word>&limit=50` on the large household (a word in one item of
  ten), through the real handler in process: p95 over the p95 of the same list without q, interleaved rounds.
- I2. Server time (EXPLAIN ANALYZE, warm, as the app role in the firm) of the store's q query on the large
  household over the same filter as a scan of the content (`data_content::text ILIKE`), with a trigram GIN index on
  the content built for the comparison: row-level security keeps that index unused (its plan is in the report).
- I3. `POST .../information-items:batch` of 100 items (about 1 KiB each) through the handler with the search-word
  trigger over the same request with the trigger disabled (by the owner, between requests): what `q`'s index costs
  a write. The store's INSERT alone, with and without, is reported beside it.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.bench.common import PASSWORD, BenchFirm, FakeLambdaContext, api_event, p50, pct, say

RESOURCE = "/v1/client-groups/{group_id}/information-items"
Q_TARGET = 1.5  # I1: q over the plain list, p95
SCAN_TARGET = 1.0  # I2: the terms index must beat scanning the household's content
WRITE_TARGET = 2.0  # I3: the search words at most double a batch's time
WORDS = ["pension", "mortgage", "halifax", "nationwide", "isa", "premium", "bonds", "property", "savings", "salary",
         "diabetes", "carer", "tenancy", "inheritance", "trust", "annuity", "dividend", "rental", "vehicle", "loan"]
RARE = "quillfeather"  # one item of ten in the large household holds it


@dataclass
class ItemsResult:
    households: int
    per_household: int
    large: int  # items in the large household
    items: int = 0
    terms: int = 0
    samples: dict[str, list[float]] = field(default_factory=dict)  # case -> seconds per request
    server_ms: dict[str, float] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)
    writes: dict[str, list[float]] = field(default_factory=dict)  # "with" / "without" the trigger -> seconds (API)
    bare_writes: dict[str, list[float]] = field(default_factory=dict)  # the same, the store's INSERT alone
    matched: int = 0

    def p95(self, case: str) -> float:
        return pct(self.samples[case], 95)

    def q_ratio(self) -> float:
        return self.p95("q") / self.p95("plain")

    def scan_ratio(self) -> float:
        return self.server_ms["q (terms index)"] / self.server_ms["q as a content scan (GIN unused)"]

    def write_ratio(self) -> float:
        return p50(self.writes["with"]) / p50(self.writes["without"])

    def bare_write_ratio(self) -> float:
        return p50(self.bare_writes["with"]) / p50(self.bare_writes["without"])


def _content(rng: random.Random, size: int, rare: bool) -> dict[str, Any]:
    words = [rng.choice(WORDS) for _ in range(max(4, size // 8))]
    if rare:
        words[len(words) // 2] = RARE.title()
    text = " ".join(words)
    chunks = [text[i:i + 200] for i in range(0, len(text), 200)]
    return {"summary": chunks[0], "notes": chunks[1:] or [""], "latest_valuation": f"{rng.randint(0, 900000)}.00",
            "valuation_date": "2024-03-31", "detail": {"provider": rng.choice(WORDS).title(),
                                                       "reference": uuid.uuid4().hex[:12]}}


def _items(rng: random.Random, owner: Any, n: int, size: int, rare_every: int = 0) -> list[Any]:
    from chalicelib.information_items.models import InformationItemCreateIn

    return [InformationItemCreateIn.model_validate({
        "item_type": "assets_liabilities", "item_category": rng.choice(WORDS).title(),
        "associated_product_owners": {"association_type": "individual", "product_owner_id": str(owner)},
        "data_content": _content(rng, size, bool(rare_every) and i % rare_every == 0)}) for i in range(n)]


def load(firm: BenchFirm, per_household: int, large: int) -> tuple[uuid.UUID, int, int]:
    """Every household's items through the service's batch; returns (the large household, items, terms)."""
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.information_items import service
    from chalicelib.information_items.models import InformationItemsBatchIn

    rng = random.Random(7)
    ctx = RequestContext.system(firm.id)
    with db.owner_connection() as conn:
        owners = {r["client_group_id"]: r["o"] for r in conn.execute(
            "SELECT client_group_id, min(product_owner_id::text)::uuid AS o FROM client_group_product_owners "
            "WHERE firm_id = %s GROUP BY client_group_id", (firm.id,)).fetchall()}
    groups = [g for g in firm.group_ids if g in owners]
    big = groups[0]
    for start in range(0, large, 100):
        service.batch_create(ctx, big, InformationItemsBatchIn(items=_items(
            rng, owners[big], min(100, large - start), 8 * 1024, rare_every=10)))
    for n, group in enumerate(groups[1:], 1):
        service.batch_create(ctx, group, InformationItemsBatchIn(items=_items(rng, owners[group], per_household,
                                                                             1024)))
        if n % 100 == 0:
            say(f"items: {n:,}/{len(groups) - 1:,} households")
    with db.owner_connection() as conn:
        conn.execute("ANALYZE information_items")
        conn.execute("ANALYZE information_item_terms")
        items = conn.execute("SELECT count(*) AS n FROM information_items WHERE firm_id = %s",
                             (firm.id,)).fetchone()["n"]
        terms = conn.execute("SELECT count(*) AS n FROM information_item_terms WHERE firm_id = %s",
                             (firm.id,)).fetchone()["n"]
    return big, items, terms


def _call(app: Any, event: dict[str, Any], lctx: Any) -> tuple[float, dict[str, Any]]:
    event = dict(event)
    event["requestContext"] = dict(event["requestContext"], requestId=str(uuid.uuid4()))
    t = time.perf_counter()
    response = app(event, lctx)
    elapsed = time.perf_counter() - t
    if response["statusCode"] != 200:
        raise RuntimeError(f"{event['path']} answered {response['statusCode']}: {str(response.get('body'))[:300]}")
    return elapsed, json.loads(response["body"])


def _event(firm: BenchFirm, group: Any, query: dict[str, str]) -> dict[str, Any]:
    event = api_event("GET", RESOURCE, {"group_id": str(group)}, {"Authorization": f"Bearer {firm.token}"})
    event["queryStringParameters"] = dict(query)
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


class _Explaining:
    """Stands in for the store's transaction: runs its query under EXPLAIN (ANALYZE, BUFFERS), keeps the plan."""

    def __init__(self, tx: Any) -> None:
        self.tx, self.lines = tx, []

    def all(self, query: Any, params: Any = None) -> list[Any]:
        from psycopg import sql

        query = sql.SQL(query) if isinstance(query, str) else query
        self.lines = [r["QUERY PLAN"] for r in self.tx.all(sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + query, params)]
        return []


def _execution_ms(lines: list[str]) -> float:
    return next(float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Execution Time"))


def _plans(firm: BenchFirm, group: Any) -> tuple[dict[str, str], dict[str, float]]:
    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.core.pagination import Keyset
    from chalicelib.information_items import store
    from chalicelib.information_items.models import ITEMS, InformationItemListQuery

    with db.owner_connection() as conn:  # for the comparison only: the content as text, trigram-indexed
        conn.execute("CREATE INDEX IF NOT EXISTS bench_items_content_trgm ON information_items "
                     "USING gin ((data_content::text) gin_trgm_ops)")
        conn.execute("ANALYZE information_items")
    plans, times = {}, {}
    query = InformationItemListQuery(q=RARE, limit=50)
    ctx = RequestContext.system(firm.id)
    keyset = Keyset.parse(ITEMS, query, ctx)
    with db.transaction(ctx) as tx:
        explaining = _Explaining(tx)
        for _ in range(3):  # warm: the last of three
            store.list_items(explaining, group, keyset, item_type=None, category=None, q=RARE)
        plans["q (terms index)"] = "\n".join(explaining.lines)
        scan = ("SELECT id FROM information_items WHERE client_group_id = %s AND data_content::text ILIKE %s "
                "ORDER BY created_at, id LIMIT 51")
        for _ in range(3):
            explaining.all(scan, (group, f"%{RARE}%"))
        plans["q as a content scan (GIN unused)"] = "\n".join(explaining.lines)
    for name, plan in plans.items():
        times[name] = _execution_ms(plan.splitlines())
    with db.owner_connection() as conn:
        conn.execute("DROP INDEX bench_items_content_trgm")
    return plans, times


def _batch_body(rng: random.Random, owner: Any) -> str:
    return json.dumps({"items": [{
        "item_type": "assets_liabilities", "item_category": "Savings", "data_content": _content(rng, 1024, False),
        "associated_product_owners": {"association_type": "individual", "product_owner_id": str(owner)}}
        for _ in range(100)]})


def _writes(app_module: Any, firm: BenchFirm, rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """A batch of 100 items of about 1 KiB with the search-word trigger and without it (disabled by the owner between
    the two): (the API request through the handler, committed; the store's INSERT alone, in a transaction of the
    owner's that enters the firm as the system context does and is rolled back)."""
    from psycopg.types.json import Jsonb

    from chalicelib.core import db
    from chalicelib.core import store as core_store
    from chalicelib.core.context import RequestContext
    from chalicelib.information_items import store

    rng = random.Random(11)
    with db.owner_connection() as conn:
        row = conn.execute("SELECT client_group_id, product_owner_id FROM client_group_product_owners "
                           "WHERE firm_id = %s ORDER BY client_group_id DESC LIMIT 1", (firm.id,)).fetchone()
    group, owner = row["client_group_id"], row["product_owner_id"]
    app, lctx = app_module.app, FakeLambdaContext()
    headers = {"Authorization": f"Bearer {firm.token}", "Content-Type": "application/json"}
    api: dict[str, list[float]] = {"with": [], "without": []}
    bare: dict[str, list[float]] = {"with": [], "without": []}
    for r in range(rounds):
        for kind in (("with", "without") if r % 2 == 0 else ("without", "with")):
            with db.owner_connection() as conn:
                conn.execute("ALTER TABLE information_items " + ("ENABLE" if kind == "with" else "DISABLE")
                             + " TRIGGER information_items_terms_insert")
            event = api_event("POST", RESOURCE + ":batch", {"group_id": str(group)}, headers,
                              body=_batch_body(rng, owner))
            t = time.perf_counter()
            response = app(event, lctx)
            api[kind].append(time.perf_counter() - t)
            if response["statusCode"] != 201:
                raise RuntimeError(f"the batch answered {response['statusCode']}: {str(response.get('body'))[:300]}")
            rows = [(uuid.uuid4(), "assets_liabilities", "Savings", Jsonb(_content(rng, 1024, False)),
                     Jsonb({"association_type": "individual", "product_owner_id": str(owner)})) for _ in range(100)]
            with db.owner_connection(autocommit=False) as conn:
                tx = db.Tx(conn, RequestContext.system(firm.id))
                core_store.enter_system(tx, firm.id)  # as db.transaction enters the system context
                t = time.perf_counter()
                store.bulk_insert_items(tx, group, rows)
                bare[kind].append(time.perf_counter() - t)
                conn.rollback()
    with db.owner_connection() as conn:
        conn.execute("ALTER TABLE information_items ENABLE TRIGGER information_items_terms_insert")
    return api, bare


def measure(app_module: Any, firm: BenchFirm, per_household: int, large: int, *, rounds: int = 8,
            per_round: int = 15) -> ItemsResult:
    result = ItemsResult(households=len(firm.group_ids), per_household=per_household, large=large)
    group, result.items, result.terms = load(firm, per_household, large)
    say(f"items: {result.items:,} items, {result.terms:,} search words")
    from chalicelib.core.context import RequestContext
    from chalicelib.firms import service

    firm.token = service.login(RequestContext(), firm.admin["email"], PASSWORD).access_token  # loading took a while
    app, lctx = app_module.app, FakeLambdaContext()
    events = {"plain": _event(firm, group, {"limit": "50"}), "q": _event(firm, group, {"limit": "50", "q": RARE})}
    result.matched = len(_call(app, events["q"], lctx)[1]["items"])
    for name in events:
        result.samples[name] = []
        for _ in range(3):
            _call(app, events[name], lctx)
    for r in range(rounds):
        for name in (("plain", "q") if r % 2 == 0 else ("q", "plain")):
            for _ in range(per_round):
                result.samples[name].append(_call(app, events[name], lctx)[0])
    result.plans, result.server_ms = _plans(firm, group)
    result.writes, result.bare_writes = _writes(app_module, firm, rounds=2 * rounds)
    say(f"items: q p95 {result.p95('q') * 1e3:.2f} ms / plain {result.p95('plain') * 1e3:.2f} ms = "
        f"{result.q_ratio():.2f}x; server q {result.server_ms['q (terms index)']:.2f} ms / content scan "
        f"{result.server_ms['q as a content scan (GIN unused)']:.2f} ms = {result.scan_ratio():.2f}x; batch of 100 "
        f"with words / without {result.write_ratio():.2f}x (the INSERT alone {result.bare_write_ratio():.2f}x)")
    return result


# --- the report ------------------------------------------------------------------------------------------------------

def _ms(s: float) -> str:
    return f"{s * 1e3:,.2f} ms"


def verdicts(r: ItemsResult) -> list[tuple[str, str, str, bool]]:
    scan, terms = r.server_ms["q as a content scan (GIN unused)"], r.server_ms["q (terms index)"]
    return [
        (f"I1. Information items `?q=` ({r.matched} of {r.large} items match), 50 rows: p95 / p95 without q",
         f"{r.q_ratio():.2f}x ({_ms(r.p95('q'))} / {_ms(r.p95('plain'))})", f"≤ {Q_TARGET:g}x",
         r.q_ratio() <= Q_TARGET),
        ("I2. `q` server time: the terms index / the content scanned (a trigram GIN index that RLS leaves unused)",
         f"{r.scan_ratio():.2f}x ({terms:,.2f} ms / {scan:,.2f} ms)", f"< {SCAN_TARGET:g}x",
         r.scan_ratio() < SCAN_TARGET),
        ("I3. `POST .../information-items:batch` of 100 items: p50 with the search-word trigger / without it",
         f"{r.write_ratio():.2f}x ({_ms(p50(r.writes['with']))} / {_ms(p50(r.writes['without']))})",
         f"≤ {WRITE_TARGET:g}x", r.write_ratio() <= WRITE_TARGET),
    ]


def render(r: ItemsResult) -> list[str]:
    out = ["## Information items (part items)\n",
           (f"A firm of {r.households:,} households, {r.per_household} items of about 1 KiB each, and one household "
            f"of {r.large} items of about 8 KiB: {r.items:,} items, {r.terms:,} search words "
            f"(tests/bench/items.py). `GET /v1/client-groups/{{id}}/information-items` on the large household "
            f"through the real handler in process, {len(r.samples['q'])} requests each in interleaved rounds.\n"),
           "| Request | p50 | p95 |", "|---|---|---|"]
    for name, label in (("plain", "`?limit=50`"), ("q", f"`?limit=50&q={RARE}`")):
        out.append(f"| {label} | {_ms(p50(r.samples[name]))} | {_ms(r.p95(name))} |")
    out.append("")
    out.append("Server execution time (EXPLAIN ANALYZE, warm, as the app role in the firm): "
               + "; ".join(f"{k} {v:,.2f} ms" for k, v in r.server_ms.items())
               + ". Under row-level security only leakproof operators are index conditions: the trigram GIN index "
                 "on the content text, built for this comparison, is not used (ILIKE is not leakproof); the "
                 "terms' key serves each word as a range of leakproof text comparisons.\n")
    per_item = (p50(r.bare_writes["with"]) - p50(r.bare_writes["without"])) / 100
    out.append(f"A batch of 100 items of about 1 KiB: the request through the handler p50 {_ms(p50(r.writes['with']))} "
               f"with the search-word trigger, {_ms(p50(r.writes['without']))} without it; the store's INSERT alone "
               f"{_ms(p50(r.bare_writes['with']))} with, {_ms(p50(r.bare_writes['without']))} without "
               f"({r.bare_write_ratio():.2f}x: the words cost about {_ms(per_item)} an item, one indexed row per "
               f"distinct word); {len(r.writes['with'])} batches each, interleaved.\n")
    for name, plan in r.plans.items():
        out.append(f"<details><summary>Plan: {name}</summary>\n\n```\n{plan}\n```\n</details>\n")
    return out
