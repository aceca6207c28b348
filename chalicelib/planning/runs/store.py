"""SQL for plan runs (migration 0036): requests insert and read them under RLS; the worker, in the system context of
the run's firm, claims and finishes them (the table's trigger lets only that context move a run on, and never
changes a finished run). The queue's poll reads across firms as the owner role (`waiting`)."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from chalicelib.core.db import Tx
from chalicelib.core.pagination import Keyset

SUMMARY_COLUMNS = ("id, plan_id, status, attempts, probability_of_success, algorithm_version, duration_ms, error, "
                   "created_at, created_by_type, created_by, started_at, finished_at")
FULL_COLUMNS = SUMMARY_COLUMNS + ", request, outputs, outputs_sha256, engine_inputs"


def _jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    from chalicelib.core.jsonutil import dumps

    return Jsonb(value, dumps=dumps)


def insert_run(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    return tx.one("INSERT INTO plan_runs (firm_id, plan_id, request, created_by_type, created_by) "
                  "VALUES (current_firm_id(), %(plan_id)s, %(request)s, %(created_by_type)s, %(created_by)s) "
                  f"RETURNING {FULL_COLUMNS}", {**values, "request": _jsonb(values["request"])})


def get_run(tx: Tx, plan_id: UUID, run_id: UUID) -> dict[str, Any] | None:
    return tx.one(f"SELECT {FULL_COLUMNS} FROM plan_runs WHERE id = %s AND plan_id = %s", (run_id, plan_id))


def run_by_id(tx: Tx, run_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return tx.one(f"SELECT {FULL_COLUMNS} FROM plan_runs WHERE id = %s{lock}", (run_id,))


def list_runs(tx: Tx, plan_id: UUID, keyset: Keyset, *, status: str | None) -> list[dict[str, Any]]:
    from psycopg import sql

    query = sql.SQL("SELECT " + SUMMARY_COLUMNS + " FROM plan_runs WHERE plan_id = %(p)s "
                    "AND (%(status)s::text IS NULL OR status = %(status)s) "
                    "AND {after} ORDER BY {order} LIMIT %(_ks_limit)s").format(after=keyset.where(),
                                                                               order=keyset.order_by())
    return tx.all(query, {"p": plan_id, "status": status, **keyset.params()})


def claim(tx: Tx, run_id: UUID, stale_after_seconds: int) -> dict[str, Any] | None:
    """The run, now running with one more attempt, when it is queued or its worker is presumed dead (running for
    longer than `stale_after_seconds`); None when another worker has it or it is finished."""
    return tx.one("UPDATE plan_runs SET status = 'running', started_at = now(), attempts = attempts + 1 "
                  "WHERE id = %s AND (status = 'queued' OR (status = 'running' "
                  "AND started_at < now() - make_interval(secs => %s))) "
                  f"RETURNING {FULL_COLUMNS}", (run_id, stale_after_seconds))


def finish(tx: Tx, run_id: UUID, attempt: int, values: dict[str, Any]) -> dict[str, Any] | None:
    """Record the outcome of attempt `attempt` (None when a later attempt has taken the run over)."""
    return tx.one("UPDATE plan_runs SET status = %(status)s, finished_at = now(), engine_inputs = %(engine_inputs)s, "
                  "algorithm_version = %(algorithm_version)s, outputs = %(outputs)s, "
                  "outputs_sha256 = %(outputs_sha256)s, probability_of_success = %(probability_of_success)s, "
                  "error = %(error)s, duration_ms = %(duration_ms)s "
                  "WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s "
                  f"RETURNING {FULL_COLUMNS}",
                  {**values, "id": run_id, "attempt": attempt,
                   "engine_inputs": _jsonb(values["engine_inputs"]) if values.get("engine_inputs") else None,
                   "error": _jsonb(values["error"]) if values.get("error") else None})


def latest_success(tx: Tx, root_plan_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """For each plan (by its root): the latest version's latest succeeded run, with the firm's threshold."""
    rows = tx.all("SELECT DISTINCT ON (p.root_plan_id) p.root_plan_id, p.id AS plan_id, p.version, r.id AS run_id, "
                  "r.probability_of_success, r.finished_at, f.plan_success_threshold "
                  "FROM plans p JOIN plan_runs r ON r.plan_id = p.id AND r.status = 'succeeded' "
                  "JOIN firms f ON f.id = p.firm_id "
                  "WHERE p.root_plan_id = ANY(%s) "
                  "ORDER BY p.root_plan_id, p.version DESC, r.finished_at DESC, r.id DESC", (root_plan_ids,))
    return {r["root_plan_id"]: r for r in rows}


def waiting(tx: Tx, limit: int, stale_after_seconds: int, firm_id: UUID | None = None) -> list[dict[str, Any]]:
    """Runs a worker should take, oldest first, across firms (the owner role's poll), or of one firm: queued, or
    running for longer than `stale_after_seconds` (their worker died)."""
    return tx.all("SELECT id, firm_id FROM plan_runs WHERE (status = 'queued' OR (status = 'running' "
                  "AND started_at < now() - make_interval(secs => %s))) AND (%s::uuid IS NULL OR firm_id = %s) "
                  "ORDER BY created_at LIMIT %s",
                  (stale_after_seconds, firm_id, firm_id, limit))


def firm_of_run(tx: Tx, run_id: UUID) -> UUID | None:
    """The firm a run belongs to (the owner role's lookup, for a run named on the command line)."""
    row = tx.one("SELECT firm_id FROM plan_runs WHERE id = %s", (run_id,))
    return row["firm_id"] if row else None


def firm_of_plan(tx: Tx, plan_id: UUID) -> UUID | None:
    row = tx.one("SELECT firm_id FROM plans WHERE id = %s", (plan_id,))
    return row["firm_id"] if row else None
