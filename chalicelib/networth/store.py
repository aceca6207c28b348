"""SQL for net worth: the positions of one household (or of every household) on a date, from every source in the
same columns; the household's people; statements; daily snapshots and the firms' daily totals.

A source is one kind of holding that counts in net worth. Each is one SELECT of POSITION_COLUMNS for the date
`{day}` (an SQL expression), limited to the households `<its client_group_id column> {households}` keeps, with its
own rule for what is held on that day and at what value. SOURCES lists them; the live answer (`live_positions`,
one household) and the daily job (`insert_snapshots`, every household of every firm) both read the UNION ALL of
them, converted to the firm's currency by one rule (`_CONVERTED`), so the two cannot disagree on what a day
holds. A new source is one more entry here: neither the engine (engine.py) nor the job changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

POSITION_COLUMNS = ("firm_id", "client_group_id", "source", "id", "name", "section", "kind", "currency", "value",
                    "valuation_date", "ownership")


@dataclass(frozen=True)
class Source:
    """One kind of holding: `select` gives POSITION_COLUMNS (value in its own currency, positive for liabilities
    too; ownership in one of the three forms) for the day `{day}` and the households `{households}` keeps."""

    name: str
    select: str


# Managed products: active (not lapsed), started on or before the day and not ended before it, each at its latest
# complete valuation on or before the day (0.00 when it has none yet). Assets, in the product's currency.
MANAGED_PRODUCTS = Source("managed_product", """
SELECT p.firm_id, p.client_group_id, 'managed_product'::text AS source, p.id, p.name, p.product_type AS section,
       'asset'::text AS kind, p.currency::text AS currency, coalesce(v.value, 0.00) AS value, v.valuation_date,
       p.ownership
FROM products p
LEFT JOIN LATERAL (SELECT pv.valuation_date, pv.value FROM portfolio_valuations pv
                   WHERE pv.product_id = p.id AND pv.valuation_date <= {day}
                   ORDER BY pv.valuation_date DESC LIMIT 1) v ON true
WHERE p.client_group_id {households} AND p.status = 'active' AND p.start_date <= {day}
  AND (p.end_date IS NULL OR p.end_date >= {day})""")

# Unmanaged products (assets and liabilities held elsewhere): active now (a product sold, transferred, matured or
# cancelled counts on no day: its status has no date), each at its latest valuation on or before the day (0.00 when
# it has none yet). Assets and liabilities as the product says, in its currency.
UNMANAGED_PRODUCTS = Source("unmanaged_product", """
SELECT u.firm_id, u.client_group_id, 'unmanaged_product'::text AS source, u.id, u.name, u.product_type AS section,
       u.kind, u.currency::text AS currency, coalesce(v.value, 0.00) AS value, v.valuation_date, u.ownership
FROM unmanaged_products u
LEFT JOIN LATERAL (SELECT x.valuation_date, x.value FROM unmanaged_valuations x
                   WHERE x.unmanaged_product_id = u.id AND x.valuation_date <= {day}
                   ORDER BY x.valuation_date DESC LIMIT 1) v ON true
WHERE u.client_group_id {households} AND u.status = 'active'""")

# Assets-and-liabilities information items with a latest valuation (a top-level `latest_valuation` of their
# content, not null): counted at that value from the day they were recorded (created_at, in UTC) on; they carry
# no history, so every such day shows the value they hold now. Listed under their category. A liability when the
# content says "kind": "liability", else when the category names a debt (mortgage, loan, credit card, overdraft,
# debt, liability); otherwise an asset. In the content's "currency" when it names one (three capital letters),
# else the firm's. The row's name is the content's "name" when it has one, else the category; its date the
# content's valuation_date when that is a date.
ITEMS = Source("item", """
SELECT i.firm_id, i.client_group_id, 'item'::text AS source, i.id,
       coalesce(nullif(btrim(i.data_content ->> 'name'), ''), i.item_category) AS name, i.item_category AS section,
       CASE WHEN lower(i.data_content ->> 'kind') IN ('asset', 'liability') THEN lower(i.data_content ->> 'kind')
            WHEN i.item_category ~* '(mortgage|loan|credit card|overdraft|debt|liabilit)' THEN 'liability'
            ELSE 'asset' END AS kind,
       CASE WHEN i.data_content ->> 'currency' ~ '^[A-Z]{{3}}$' THEN i.data_content ->> 'currency'
            ELSE (SELECT f.base_currency::text FROM firms f WHERE f.id = i.firm_id) END AS currency,
       (i.data_content ->> 'latest_valuation')::numeric AS value,
       information_date_of(i.data_content -> 'valuation_date') AS valuation_date,
       i.associated_product_owners AS ownership
FROM information_items i
WHERE i.client_group_id {households} AND i.item_type = 'assets_liabilities'
  AND i.data_content ->> 'latest_valuation' IS NOT NULL
  AND (i.created_at AT TIME ZONE 'UTC')::date <= {day}""")

SOURCES: tuple[Source, ...] = (MANAGED_PRODUCTS, UNMANAGED_PRODUCTS, ITEMS)

# The firm's currency (firms.base_currency), for the firm id `{firm}`: every figure is shown in it.
_BASE_CURRENCY = "(SELECT f.base_currency::text FROM firms f WHERE f.id = {firm})"
# The rate of a position `pos` (a row of the sources) to its firm's currency `f.base_currency` on the day `{day}`:
# 1 in the firm's own currency, else the latest of the firm's rates for the currency on or before the day (the rule
# of SQL function fx_rate_on, migration 0021, written here for any firm: the job reads every firm at once), else
# none (NULL: the position is listed as unconverted and left out of every figure).
_RATE = """CASE WHEN pos.currency = f.base_currency THEN 1::numeric
                ELSE (SELECT r.rate FROM fx_rates r WHERE r.firm_id = pos.firm_id AND r.currency = pos.currency
                      AND r.rate_date <= {day} ORDER BY r.rate_date DESC LIMIT 1) END"""

# Every source's positions on `{day}` for `{households}`, each with its rate (NULL when none).
_CONVERTED = "SELECT pos.*, ({rate}) AS rate FROM ({union}) pos JOIN firms f ON f.id = pos.firm_id"


def _sql() -> Any:
    from psycopg import sql

    return sql


def _positions(day: str, households: str) -> Any:
    sql = _sql()
    union = sql.SQL(" UNION ALL ").join(sql.SQL(s.select).format(day=sql.SQL(day), households=sql.SQL(households))
                                        for s in SOURCES)
    return sql.SQL(_CONVERTED).format(rate=sql.SQL(_RATE).format(day=sql.SQL(day)), union=union)


# --- one household, live -----------------------------------------------------------------------------------------

# The household (none when not visible), today's date and the transaction's time, the day asked for (today when
# none), the firm's currency,
# its people in column order (inception date, then id) and its positions on the day, in one statement. Amounts
# travel as text: JSON numbers would pass through floats.
_LIVE = """
WITH positions AS ({positions})
SELECT g.id, CURRENT_DATE AS today, now() AS now, {day} AS as_of, {base} AS currency,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', o.id, 'name', coalesce(o.known_as, o.first_name) || ' ' || o.surname)
                   ORDER BY o.inception_date, o.id), '[]'::json)
        FROM client_group_product_owners m JOIN product_owners o ON o.id = m.product_owner_id
        WHERE m.client_group_id = g.id) AS owners,
       (SELECT coalesce(json_agg(json_build_object(
                   'source', pos.source, 'id', pos.id, 'name', pos.name, 'section', pos.section, 'kind', pos.kind,
                   'currency', pos.currency, 'value', pos.value::text, 'valuation_date', pos.valuation_date,
                   'ownership', pos.ownership, 'rate', pos.rate::text)), '[]'::json)
        FROM positions pos) AS positions
FROM client_groups g WHERE g.id = %(group)s"""

_LIVE_DAY = "coalesce(%(as_of)s::date, CURRENT_DATE)"


def live_positions(tx: Tx, group_id: UUID, as_of: date | None) -> dict[str, Any] | None:
    """The household's people and positions on `as_of` (today when None), with today's date and the firm's
    currency; None when the household is not visible."""
    sql = _sql()
    query = sql.SQL(_LIVE).format(positions=_positions(_LIVE_DAY, "= %(group)s"), day=sql.SQL(_LIVE_DAY),
                                  base=sql.SQL(_BASE_CURRENCY).format(firm=sql.SQL("g.firm_id")))
    return tx.one(query, {"group": group_id, "as_of": as_of})


# --- every household, one day: the job ----------------------------------------------------------------------------

# One row per household of every firm for the day: the household's part of each position (value converted, to the
# penny, x the household's share / 100, to the penny: engine.py's rule) added up by kind; positions without a rate
# are counted in `unconverted` and in no figure. A day already taken is kept as it was (DO NOTHING).
_SNAPSHOTS = """
INSERT INTO networth_snapshots AS s (firm_id, client_group_id, snapshot_date, currency, assets, liabilities,
                                     net_worth, unconverted)
SELECT g.firm_id, g.id, %(day)s::date, fm.base_currency, coalesce(t.assets, 0), coalesce(t.liabilities, 0),
       coalesce(t.assets, 0) - coalesce(t.liabilities, 0), coalesce(t.unconverted, 0)
FROM client_groups g
JOIN firms fm ON fm.id = g.firm_id
LEFT JOIN (SELECT x.client_group_id,
                  sum(x.part) FILTER (WHERE x.kind = 'asset') AS assets,
                  sum(x.part) FILTER (WHERE x.kind = 'liability') AS liabilities,
                  count(*) FILTER (WHERE x.rate IS NULL) AS unconverted
           FROM (SELECT pos.client_group_id, pos.kind, pos.rate,
                        round(round(pos.value * pos.rate, 2) * ownership_household_share(pos.ownership) / 100, 2)
                            AS part
                 FROM ({positions}) pos) x
           GROUP BY x.client_group_id) t ON t.client_group_id = g.id
ON CONFLICT (client_group_id, snapshot_date) DO NOTHING"""


def snapshots_query() -> Any:
    """The job's INSERT ... SELECT for the day %(day)s (every household of every firm: the owner's connection)."""
    sql = _sql()
    return sql.SQL(_SNAPSHOTS).format(positions=_positions("%(day)s::date", "IS NOT NULL"))


def insert_snapshots(conn: Any, day: date, timeout_ms: int) -> dict[Any, int]:
    """Take the day's snapshot of every household that has none for it, in one transaction bounded by
    `timeout_ms`, with the firms' totals of the day; returns the household rows written per firm."""
    sql = _sql()
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(timeout_ms)))
        written = {r["firm_id"]: r["n"] for r in conn.execute(
            sql.SQL("WITH written AS ({} RETURNING s.firm_id) SELECT firm_id, count(*) AS n FROM written "
                    "GROUP BY firm_id").format(snapshots_query()), {"day": day}).fetchall()}
        if written:
            conn.execute(_FIRM_TOTALS, {"day": day})
    return written


# Each firm's households added up for the day (rewritten when households were added to a day already taken).
_FIRM_TOTALS = """
INSERT INTO networth_firm_totals AS f (firm_id, snapshot_date, currency, households, assets, liabilities, net_worth)
SELECT s.firm_id, s.snapshot_date, min(s.currency), count(*), sum(s.assets), sum(s.liabilities), sum(s.net_worth)
FROM networth_snapshots s WHERE s.snapshot_date = %(day)s
GROUP BY s.firm_id, s.snapshot_date
ON CONFLICT (firm_id, snapshot_date) DO UPDATE SET currency = EXCLUDED.currency, households = EXCLUDED.households,
    assets = EXCLUDED.assets, liabilities = EXCLUDED.liabilities, net_worth = EXCLUDED.net_worth,
    taken_at = now()"""


def day_is_complete(conn: Any, day: date) -> bool:
    """Whether every household (of every firm) has its snapshot of the day."""
    return conn.execute("SELECT (SELECT count(*) FROM networth_snapshots WHERE snapshot_date = %s) "
                        ">= (SELECT count(*) FROM client_groups) AS done", (day,)).fetchone()["done"]


def database_today(conn: Any) -> date:
    return conn.execute("SELECT CURRENT_DATE AS d").fetchone()["d"]


# --- one household's history -------------------------------------------------------------------------------------

# The household's snapshots from `from` to `to` (both included; the range names resolved against today's date, in
# the database) before today, as the JSON array of the answer's points (amounts as strings; made here as text, so
# that ten years of days are neither parsed nor serialised again in Python: json_build_object costs about ten times
# the concatenation), with the bounds and today's date.
_HISTORY = """
WITH b AS (
    SELECT CURRENT_DATE AS today,
           CASE %(range)s::text
               WHEN '30d' THEN CURRENT_DATE - 29
               WHEN '90d' THEN CURRENT_DATE - 89
               WHEN 'ytd' THEN date_trunc('year', CURRENT_DATE)::date
               WHEN '1y' THEN (CURRENT_DATE - interval '1 year')::date
               WHEN '5y' THEN (CURRENT_DATE - interval '5 years')::date
               WHEN 'all' THEN NULL
               ELSE %(from)s::date END AS from_date,
           CASE WHEN %(range)s::text IS NULL THEN coalesce(%(to)s::date, CURRENT_DATE) ELSE CURRENT_DATE END
               AS to_date
)
SELECT g.id, b.today, b.from_date, b.to_date, {base} AS currency, '[' || coalesce(h.points, '') || ']' AS points
FROM client_groups g CROSS JOIN b
CROSS JOIN LATERAL (
    SELECT string_agg('{{"date":"' || to_char(s.snapshot_date, 'YYYY-MM-DD') || '","assets":"' || s.assets::text
                      || '","liabilities":"' || s.liabilities::text || '","net_worth":"' || s.net_worth::text
                      || '","live":false}}', ',' ORDER BY s.snapshot_date) AS points
    FROM networth_snapshots s
    WHERE s.client_group_id = g.id AND s.snapshot_date >= coalesce(b.from_date, '-infinity'::date)
      AND s.snapshot_date <= b.to_date AND s.snapshot_date < b.today) h
WHERE g.id = %(group)s"""


def history(tx: Tx, group_id: UUID, range_: str | None, from_: date | None, to: date | None) -> dict[str, Any] | None:
    sql = _sql()
    query = sql.SQL(_HISTORY).format(base=sql.SQL(_BASE_CURRENCY).format(firm=sql.SQL("g.firm_id")))
    return tx.one(query, {"group": group_id, "range": range_, "from": from_, "to": to})


# --- statements --------------------------------------------------------------------------------------------------

STATEMENT_COLUMNS = ("id, client_group_id, name, as_of, currency, assets, liabilities, net_worth, created_at, "
                     "created_by_type, created_by")


def insert_statement(tx: Tx, row: dict[str, Any], snapshot: str) -> None:
    """The statement `row` as given, its id and created_at too (the caller has the row: nothing is read back), with
    `snapshot`, the answer's JSON text (made once by the caller, who answers with the same text)."""
    tx.execute("INSERT INTO networth_statements (id, firm_id, client_group_id, name, as_of, currency, assets, "
               "liabilities, net_worth, snapshot, created_at, created_by_type, created_by) VALUES (%(id)s, "
               "current_firm_id(), %(client_group_id)s, %(name)s, %(as_of)s, %(currency)s, %(assets)s, "
               "%(liabilities)s, %(net_worth)s, %(snapshot)s::jsonb, %(created_at)s, %(created_by_type)s, "
               "%(created_by)s)", {**row, "snapshot": snapshot})


def get_statement(tx: Tx, statement_id: UUID) -> dict[str, Any] | None:
    return tx.one(f"SELECT {STATEMENT_COLUMNS}, snapshot FROM networth_statements WHERE id = %s", (statement_id,))


def list_statements(tx: Tx, group_id: UUID, keyset: Keyset, *, created_after: datetime | None,
                    created_by: UUID | None) -> list[dict[str, Any]]:
    sql = _sql()
    query = sql.SQL("SELECT " + STATEMENT_COLUMNS + " FROM networth_statements WHERE client_group_id = %(g)s "
                    "AND (%(after)s::timestamptz IS NULL OR created_at > %(after)s) "
                    "AND (%(by)s::uuid IS NULL OR created_by = %(by)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"g": group_id, "after": created_after, "by": created_by, **keyset.params()})


def group_exists(tx: Tx, group_id: UUID) -> bool:
    return tx.one("SELECT EXISTS (SELECT 1 FROM client_groups WHERE id = %s) AS e", (group_id,))["e"]


# --- the firm ----------------------------------------------------------------------------------------------------

def firm_latest_total(tx: Tx) -> dict[str, Any] | None:
    """The firm's households added up on the latest day taken (networth_firm_totals); None before the first."""
    return tx.one("SELECT snapshot_date, currency, households, assets, liabilities, net_worth FROM "
                  "networth_firm_totals ORDER BY snapshot_date DESC LIMIT 1")
