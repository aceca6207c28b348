"""Where runs are run: the SQS-triggered function in AWS (`handle_sqs_event`, wired in app.py) and the local
worker thread under `wealthdesk serve` (`poll_forever`). Both call service.execute, which claims a run atomically,
so a message delivered twice, or a poll racing a message, runs a run once."""
from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

log = logging.getLogger("wdk.plan_runs")
POLL_SECONDS = 2.0


def handle_sqs_event(records: Any) -> list[str]:
    """Each record's body is {"run_id", "firm_id"} (dispatch.message). A malformed body is logged and dropped (a
    retry cannot mend it); a run not found yet, or a database failure, raises so that the queue redelivers the
    message (and after its last try moves it to the dead-letter queue). Returns the statuses recorded."""
    from chalicelib.planning.runs import service

    done = []
    for record in records:
        try:
            body = json.loads(record.body)
            run_id, firm_id = UUID(body["run_id"]), UUID(body["firm_id"])
        except (TypeError, ValueError, KeyError, AttributeError):
            log.error("plan-runs: dropped a message that names no run: %.200r", getattr(record, "body", record))
            continue
        finished = service.execute(run_id, firm_id)
        done.append(finished["status"] if finished else "already taken")
    return done


def poll_forever(stop: Any, firm_id: UUID | None = None) -> None:
    """Run waiting runs (of every firm, or of `firm_id` only) until `stop` (a threading.Event) is set, checking
    every POLL_SECONDS: the local stand-in for the queue. A failure is logged and the loop carries on."""
    from chalicelib.planning.runs import service

    while not stop.is_set():
        try:
            if service.run_waiting(firm_id=firm_id):
                continue  # more may be waiting
        except Exception:
            log.exception("plan-runs: the local worker's poll failed")
        stop.wait(POLL_SECONDS)
