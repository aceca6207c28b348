"""Retention: the firm's policies (admins, through the API; every change audited) and the job `retention`, which
applies every firm's enabled policies in bounded batches (run by run_job on the owner's connection, holding the
`retention` lock).

A batch is at most `batch_size` rows of one firm, table and condition, oldest first (SELECT ... ORDER BY date LIMIT
n FOR UPDATE SKIP LOCKED: rows another transaction holds are left to the next batch):
- delete: one statement deletes exactly those rows (by id, within the batch's date range);
- anonymize: one statement clears the table's personal fields of exactly those rows (which still held one);
- archive: in one transaction the rows are locked and read, written as gzip-compressed JSON lines to the archive
  store (one object per firm, table, run and batch), and only then deleted: an upload that fails rolls the
  transaction back and nothing is deleted.
  (Should the commit fail after the upload, the rows are still there and the next run archives them again: an
  archive may hold a row twice, never lose one.)
Draft plans go whole (every version of a plan together), at most `batch_size` plans a batch, in one transaction that
locks their households and versions, reads them again, archives them when the policy archives, and deletes them in
one statement (store.lock_plan_batch, store.delete_plans): only plans whose versions are all drafts, the newest older
than the period, that no other table's row links.
Once a batch has removed or changed rows, the run checks its time budget before each further batch and stops cleanly
when it is spent (each batch is committed whole); the next run carries on, since a policy counts as done only when
a batch comes back short.
"""
from __future__ import annotations

import os
import time
from typing import Any
from uuid import UUID

from chalicelib.core import audit, db, errors
from chalicelib.core.context import RequestContext
from chalicelib.core.pagination import Keyset
from chalicelib.core.versioning import patch_row
from chalicelib.ops.retention import store
from chalicelib.ops.retention.models import (
    NULLABLE_POLICY_FIELDS,
    POLICIES,
    TABLES,
    normalise_period,
    period_covers,
)

BATCH_SIZE = 5000  # rows per statement
BUDGET_SECONDS = 600  # of the function's 900: a batch of 5,000 rows takes well under a second
_VERB = {"delete": "deleted", "archive": "archived", "anonymize": "anonymized"}


# --- policies (the API) ---

def _problem(field: str, message: str, detail: str) -> errors.Unprocessable:
    return errors.Unprocessable(detail, errors=[{"field": field, "message": message}])


def check_policy(table: str, condition: str, period: str | None, action: str) -> None:
    """The rules a policy is held to (the database's CHECKs say the same): a condition and an action the table has;
    a period exactly when the action is not keep; no shorter period than the table's floor."""
    rule = TABLES[table]
    if condition not in rule.conditions:
        raise _problem("condition", f"one of {', '.join(rule.conditions)}",
                       f"{table} has no condition {condition!r}")
    if action not in rule.actions:
        raise _problem("action", f"one of {', '.join(rule.actions)}",
                       f"{table} rows cannot be given action {action!r}"
                       + (": net worth statements are kept for ever" if table == "networth_statements" else ""))
    if action == "keep" and period is not None:
        raise _problem("period", "must be null when the action is keep", "A policy that keeps rows has no period")
    if action != "keep" and period is None:
        raise _problem("period", "required unless the action is keep", f"A policy that would {action} rows needs a "
                                                                        "period")
    if period is not None and rule.minimum_years and not period_covers(period, rule.minimum_years):
        raise _problem("period", f"at least {rule.minimum_years} years",
                       f"The audit trail is kept at least {rule.minimum_years} years; {period} is shorter")


def list_policies(ctx: RequestContext, query: Any) -> tuple[list[dict[str, Any]], str | None]:
    keyset = Keyset.parse(POLICIES, query, ctx)
    with db.transaction(ctx) as tx:
        rows = store.list_policies(tx, keyset, table_name=query.table_name)
    return keyset.page(rows)


def get_policy(ctx: RequestContext, policy_id: UUID) -> dict[str, Any]:
    with db.transaction(ctx) as tx:
        row = store.get_policy(tx, policy_id)
    if row is None:
        raise errors.NotFound("No such retention policy")
    return row


def create_policy(ctx: RequestContext, data: Any) -> dict[str, Any]:
    """A policy for a table and condition the firm has none for (every firm starts with the defaults: a second
    policy for the same rows is a 409; change the one there with PATCH)."""
    values = data.model_dump()
    if values["period"] is not None:
        values["period"] = normalise_period(values["period"])
    check_policy(values["table_name"], values["condition"], values["period"], values["action"])
    with db.transaction(ctx) as tx:
        if store.find_policy(tx, values["table_name"], values["condition"]) is not None:
            raise errors.Conflict(f"The firm has a policy for {values['table_name']}/{values['condition']} already; "
                                  "change it with PATCH")
        row = store.insert_policy(tx, values)
        audit.record(tx, "retention_policy.create", "retention_policy", row["id"], None, row)
    return row


def update_policy(ctx: RequestContext, policy_id: UUID, data: Any, if_match: int) -> dict[str, Any]:
    """The table and condition never change; the result must still be a valid policy (a period of null needs the
    action keep, and the reverse, in the same change)."""

    def stored(changes: dict[str, Any]) -> dict[str, Any]:
        if changes.get("period") is not None:
            return {**changes, "period": normalise_period(changes["period"])}
        return changes

    def check(before: dict[str, Any], changes: dict[str, Any]) -> None:
        after = {**before, **changes}
        check_policy(after["table_name"], after["condition"], after["period"], after["action"])

    with db.transaction(ctx) as tx:
        return patch_row(tx, policy_id, data, if_match, resource="retention_policy", what="retention policy",
                         get=store.get_policy, update=store.update_policy, nullable=NULLABLE_POLICY_FIELDS,
                         stored=stored, check=check)


# --- the job ---

def archive_store_url() -> str:
    """Where archives go: RETENTION_ARCHIVE_STORE, else the backup store (file://DIR or s3://bucket/prefix)."""
    from chalicelib.ops.backups.settings import backup_settings

    return os.environ.get("RETENTION_ARCHIVE_STORE") or backup_settings().store


def archive_name(firm_id: Any, table: str, condition: str, run: str, batch: int) -> str:
    return f"retention-{firm_id}-{table}-{condition}-{run}-{batch:05d}.jsonl.gz"


def _archive_batch(conn: Any, policy: dict[str, Any], size: int, target: Any, name: str) -> int:
    """One archive batch in one transaction: the rows locked, uploaded, then exactly those deleted. An upload that
    fails raises before anything is deleted, and the transaction rolls back."""
    import gzip

    table, condition, firm = policy["table_name"], policy["condition"], policy["firm_id"]
    with conn.transaction():
        rows = store.lock_batch(conn, table, condition, firm, policy["cutoff"], size)
        if not rows:
            return 0
        target.put_bytes(name, gzip.compress("".join(r["line"] + "\n" for r in rows).encode(), compresslevel=6,
                                             mtime=0))
        deleted = store.delete_rows(conn, table, condition, firm, rows)
        if deleted != len(rows):
            raise RuntimeError(f"{name}: {len(rows)} rows archived but {deleted} deleted; rolled back")
    return deleted


def _plan_batch(conn: Any, policy: dict[str, Any], size: int, links: list[Any], put: Any) -> tuple[int, int]:
    """One batch of draft plans in one transaction: up to `size` expired plans locked with all their versions,
    archived by `put(data)` when given (before anything is deleted: a failed upload rolls back), then exactly those
    versions deleted. Returns (candidate plans, versions deleted)."""
    import gzip

    with conn.transaction():
        candidates, rows = store.lock_plan_batch(conn, policy["firm_id"], policy["cutoff"], size, links)
        if not rows:
            return candidates, 0
        if put is not None:
            put(gzip.compress("".join(r["line"] + "\n" for r in rows).encode(), compresslevel=6, mtime=0))
        deleted = store.delete_plans(conn, policy["firm_id"], rows)
        if deleted != len(rows):
            raise RuntimeError(f"{len(rows)} plan versions locked but {deleted} deleted; rolled back")
    return candidates, deleted


def retention_job(conn: Any, *, budget_seconds: float | None = None, batch_size: int | None = None) -> dict[str, Any]:
    """Job `retention`: every firm's enabled, due policies that delete, archive or anonymize, each in batches of
    `batch_size` rows until a batch comes back short (then the policy is complete), within `budget_seconds`. Then,
    when everything is done, the audit trail's empty partitions older than its floor are dropped. Figures: per table
    and action the rows removed or changed, and each firm's part (BY_FIRM)."""
    from datetime import UTC, datetime
    from uuid import uuid4

    from chalicelib.ops.jobs import BY_FIRM

    budget = float(budget_seconds if budget_seconds is not None
                   else os.environ.get("RETENTION_BUDGET_SECONDS") or BUDGET_SECONDS)
    size = int(batch_size or BATCH_SIZE)
    if size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.monotonic()
    run = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid4().hex[:8]}"
    policies = store.due_policies(conn)
    tables: dict[str, dict[str, int]] = {}
    by_firm: dict[Any, dict[str, Any]] = {}
    target: Any = None
    links: list[Any] | None = None  # the tables that link plans (read once, when a plans policy is due)
    batches = archives = completed = 0
    worked = False  # rows removed or changed in this run: the budget is checked before each batch after that
    stopped: str | None = None
    def archive_target() -> Any:
        nonlocal target
        if target is None:
            from chalicelib.ops.backups import storage

            target = storage.open_store(archive_store_url())
        return target

    def one_batch(policy: dict[str, Any]) -> tuple[int, str]:
        """A batch of the policy: how many rows it removed or changed, and whether the policy has rows left
        (`more`), none (`done`: the batch came back short), or only rows other transactions hold (`held`)."""
        nonlocal links, archives
        table, condition, firm, action = (policy["table_name"], policy["condition"], policy["firm_id"],
                                          policy["action"])
        name = archive_name(firm, table, condition, run, archives + 1)
        if table == "plans":  # whole plans, never single versions: `size` counts plans
            if links is None:
                links = store.plan_links(conn)
            put = (lambda data: archive_target().put_bytes(name, data)) if action == "archive" else None
            candidates, n = _plan_batch(conn, policy, size, links, put)
            archives += 1 if n and put is not None else 0
            return n, "done" if candidates < size else "more" if n else "held"
        if action == "archive":
            n = _archive_batch(conn, policy, size, archive_target(), name)
            archives += 1 if n else 0
        elif action == "anonymize":
            n = store.anonymize_batch(conn, table, condition, firm, policy["cutoff"], size)
        else:
            n = store.delete_batch(conn, table, condition, firm, policy["cutoff"], size)
        return n, "done" if n < size else "more"

    for policy in policies:
        table, verb = policy["table_name"], _VERB[policy["action"]]
        while True:
            if worked and time.monotonic() - started >= budget:
                stopped = "time budget spent: the next run carries on"
                break
            n, left = one_batch(policy)
            batches += 1
            if n:
                worked = True
                counts = tables.setdefault(table, {})
                counts[verb] = counts.get(verb, 0) + n
                firm = by_firm.setdefault(policy["firm_id"], {"tables": {}})
                firm_counts = firm["tables"].setdefault(table, {})
                firm_counts[verb] = firm_counts.get(verb, 0) + n
            if left == "done":
                store.mark_completed(conn, policy["id"])
                completed += 1
            if left != "more":  # done, or every row left is another transaction's: the next run takes them
                break
        if stopped:
            break
    dropped = store.drop_empty_audit_partitions(conn, TABLES["audit_events"].minimum_years) if not stopped else []
    for part in by_firm.values():
        part["complete"] = stopped is None
    return {"run": run, "policies_due": len(policies), "policies_completed": completed, "batches": batches,
            "batch_size": size, "complete": stopped is None, "stopped": stopped, "tables": tables,
            "archive_objects": archives, **({"archive_store": target.url} if target is not None else {}),
            "audit_partitions_dropped": dropped, BY_FIRM: by_firm}
