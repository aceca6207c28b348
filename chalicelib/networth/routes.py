"""HTTP routes for net worth: a household's live net worth, its statements (immutable) and its daily history."""
from __future__ import annotations

from uuid import UUID

from chalicelib.core.http import READ, WRITE, Api, ApiRequest, Reply, raw_json
from chalicelib.core.pagination import Page, page_of
from chalicelib.networth import service
from chalicelib.networth.models import (
    HistoryOut,
    HistoryQuery,
    NetWorthOut,
    NetWorthQuery,
    StatementCreateIn,
    StatementListQuery,
    StatementOut,
    StatementSummaryOut,
)

networth = Api("networth", resources={"group_id": "client group", "statement_id": "net worth statement"})


@networth.route("/client-groups/{group_id}/networth", "GET", access=READ, query=NetWorthQuery, response=NetWorthOut,
                summary="A household's net worth on a day, per owner, to the penny")
def client_group_networth(req: ApiRequest, group_id: UUID) -> dict:
    """Sections by product type (assets first, then liabilities), each row a holding with a column per owner
    (the household's people in inception order), `joint`, `third_party` and `total`; subtotals; totals of assets,
    liabilities and net worth. Every holding at its latest valuation on or before `as_of` (default today), holdings
    not active on it left out; a holding in a currency without a rate on or before `as_of` is listed under
    `unconverted` and counted nowhere. `total` is the household's part: `third_party` is never in it."""
    return service.networth(req.ctx, group_id, req.query.as_of)


@networth.route("/client-groups/{group_id}/networth/history", "GET", access=READ, query=HistoryQuery,
                response=HistoryOut, summary="A household's daily net worth: its snapshots, and today's figure last")
def client_group_networth_history(req: ApiRequest, group_id: UUID) -> Reply:
    """One point per day from the daily snapshots (the household's part of assets, liabilities and net worth),
    oldest first, and, when the range reaches today, today's live figure last (`live: true`). `range` (30d, 90d,
    ytd, 1y, 5y, all; default 1y) or `from`/`to`."""
    return raw_json(service.history(req.ctx, group_id, req.query))


@networth.route("/client-groups/{group_id}/networth-statements", "POST", access=WRITE, body=StatementCreateIn,
                response=StatementOut, status=201, summary="Store today's net worth of a household as a statement")
def create_networth_statement(req: ApiRequest, group_id: UUID) -> Reply:
    """The household's net worth today, stored whole under a name with who made it and when. A statement never
    changes and cannot be deleted (the database refuses both): there is no PATCH or DELETE."""
    statement_id, text = service.create_statement(req.ctx, group_id, req.body)
    return raw_json(text, 201, {"Location": f"/v1/networth-statements/{statement_id}"})


@networth.route("/client-groups/{group_id}/networth-statements", "GET", access=READ, query=StatementListQuery,
                response=Page[StatementSummaryOut], summary="A household's net worth statements, newest first")
def list_networth_statements(req: ApiRequest, group_id: UUID) -> Page[StatementSummaryOut]:
    rows, cursor = service.list_statements(req.ctx, group_id, req.query)
    return page_of(StatementSummaryOut, rows, cursor)


@networth.route("/networth-statements/{statement_id}", "GET", access=READ, response=StatementOut,
                summary="A net worth statement, as it was made")
def get_networth_statement(req: ApiRequest, statement_id: UUID) -> StatementOut:
    return StatementOut.model_validate(service.get_statement(req.ctx, statement_id))
