"""Handing a queued run to a worker.

In AWS (PLAN_RUNS_QUEUE_URL set) each run is one SQS message, sent inside the request's transaction just before it
commits: a send that fails rolls the run back (503, nothing queued), and a message whose transaction then failed
names a run that never appears (the worker lets the queue redeliver it a few times, then it goes to the
dead-letter queue). Locally there is no queue: the worker under `wealthdesk serve` polls the table for queued runs
(worker.poll_forever), and `wealthdesk plan run ID` runs one by hand.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any
from uuid import UUID

from chalicelib.core import errors

QUEUE_ENV = "PLAN_RUNS_QUEUE_URL"
_client: Any = None
log = logging.getLogger("wdk.plan_runs")


def queue_url() -> str | None:
    return os.environ.get(QUEUE_ENV) or None


def _sqs() -> Any:
    global _client
    if _client is None:
        import boto3

        _client = boto3.client("sqs")
    return _client


def message(run_id: UUID, firm_id: UUID) -> str:
    return json.dumps({"run_id": str(run_id), "firm_id": str(firm_id)}, separators=(",", ":"))


def submit(run_id: UUID, firm_id: UUID | None) -> None:
    """Send the run to the queue when there is one (else the local worker's poll finds it)."""
    url = queue_url()
    if url is None or firm_id is None:
        return
    try:
        _sqs().send_message(QueueUrl=url, MessageBody=message(run_id, firm_id), DelaySeconds=1)
    except Exception:
        log.warning("sending plan run %s to its queue failed", run_id, exc_info=True)
        raise errors.ServiceUnavailable("The simulation queue cannot be reached: nothing was queued; try again") \
            from None


def reset_client() -> None:
    """For tests that swap the AWS endpoint (moto): forget the cached client."""
    global _client
    _client = None
