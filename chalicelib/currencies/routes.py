"""HTTP routes for exchange rates to the firm's base currency."""
from __future__ import annotations

from chalicelib.core.http import READ, WRITE, Api, ApiRequest, Reply
from chalicelib.core.pagination import Page, page_of
from chalicelib.currencies import service
from chalicelib.currencies.models import FxRateIn, FxRateListQuery, FxRateOut, FxRatesBulkIn, FxRatesBulkOut

currencies = Api("currencies")
BULK_BODY_BYTES = 2 * 1024 * 1024  # 5,000 rates of about 80 bytes each do not fit the default 256 KiB


@currencies.route("/fx-rates", "GET", access=READ, query=FxRateListQuery, response=Page[FxRateOut],
                  summary="Exchange rates to the firm's base currency (newest first)")
def list_fx_rates(req: ApiRequest) -> Page[FxRateOut]:
    found, cursor = service.list_rates(req.ctx, req.query)
    return page_of(FxRateOut, found, cursor)


@currencies.route("/fx-rates", "POST", access=WRITE, body=FxRateIn, response=FxRateOut, status=201,
                  replaces=True,
                  summary="Set a currency's rate on a date (201; 200 when it replaced that date's rate)")
def put_fx_rate(req: ApiRequest) -> Reply:
    row, created = service.put_rate(req.ctx, req.body)
    return Reply(FxRateOut.model_validate(row), 201 if created else 200)


@currencies.route("/fx-rates:bulk", "POST", access=WRITE, body=FxRatesBulkIn, response=FxRatesBulkOut, status=201,
                  summary="Up to 5,000 rates, all or nothing (each replaces its currency and date's rate)",
                  max_body_bytes=BULK_BODY_BYTES)
def put_fx_rates(req: ApiRequest) -> Reply:
    return Reply(FxRatesBulkOut(**service.put_rates(req.ctx, req.body)), 201)
