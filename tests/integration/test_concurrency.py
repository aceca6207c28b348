"""Concurrency: optimistic locking with If-Match loses no update, idempotent writes stay idempotent under races, and
two writers of one product's funds leave its derived rows (portfolio valuations, IRR history) complete.

Chalice keeps `current_request` on the app object, so the test client cannot be shared between threads. Each
writer is its own process (forked: like one Lambda container, with its own connection pool and its own
`chalice.test.Client`), and a barrier starts them together. The parent closes its pools before forking so no
child inherits a connection.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from tests.conftest import Firm, owner_sql

JSON = {"Content-Type": "application/json"}
TIMEOUT = 60  # seconds: a bound on a hung child, never a timing assumption


def _child(index: int, barrier: Any, results: Any, work: Callable[[Any, int], Any]) -> None:
    try:
        from chalice.test import Client

        import app as app_module

        # the same stage as the `client` fixture (stage "dev" would point the app at Secrets Manager)
        with Client(app_module.app, stage_name="local") as client:
            # warm up outside the race: the first request opens this process's connection
            client.http.get("/v1/health")
            barrier.wait(TIMEOUT)
            results.put((index, "ok", work(client, index)))
    except BaseException:  # report everything: the parent asserts on it
        results.put((index, "error", traceback.format_exc()))


def run_in_processes(n: int, work: Callable[[Any, int], Any], *, parent_at_barrier: Callable[[], None] | None = None,
                     while_running: Callable[[], None] | None = None) -> list[Any]:
    """Run work(client, i) for i in range(n), each in a forked process, all released at once.

    `parent_at_barrier` runs in the parent before it joins the barrier (the children are all up by then);
    `while_running` runs in the parent after the release, while the children work.
    """
    from chalicelib.core import db

    db.close_pools()  # no child may inherit the parent's connections
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(n + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(i, barrier, results, work), daemon=True) for i in range(n)]
    for p in procs:
        p.start()
    try:
        if parent_at_barrier is not None:
            parent_at_barrier()
        barrier.wait(TIMEOUT)
        if while_running is not None:
            while_running()
        out: dict[int, Any] = {}
        for _ in range(n):
            index, kind, value = results.get(timeout=TIMEOUT)
            assert kind == "ok", f"writer {index} failed:\n{value}"
            out[index] = value
        for p in procs:
            p.join(TIMEOUT)
            assert p.exitcode == 0, (p.pid, p.exitcode)
        return [out[i] for i in range(n)]
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(5)


def _create_group(client: Any, firm: Firm, name: str) -> dict[str, Any]:
    resp = client.http.post("/v1/client-groups", headers={**firm.auth("adviser"), **JSON},
                            body=json.dumps({"name": name, "type": "family", "notes": ""}))
    assert resp.status_code == 201, resp.body
    return resp.json_body


def _wait_for_lock_waiters(count: int) -> None:
    """Until `count` sessions of this database wait on a lock (bounded: fails rather than hangs).

    The first writer waits on the holder, the next on the first (the row's lock queue), so count sessions that
    are blocked by anyone. pg_blocking_pids works for the owner role, which may not read other roles' activity.
    """
    deadline = time.monotonic() + TIMEOUT
    while True:
        waiting = owner_sql("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
                            "AND cardinality(pg_blocking_pids(pid)) > 0")[0]["n"]
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"only {waiting} of {count} writers reached the row lock"
        time.sleep(0.01)


def test_two_patches_with_the_same_if_match_one_wins(client: Any, firm_a: Firm) -> None:
    group = _create_group(client, firm_a, f"Race {uuid.uuid4().hex[:6]}")
    gid = group["id"]
    headers = {**firm_a.auth("adviser"), **JSON, "If-Match": '"1"'}

    def patch(c: Any, i: int) -> tuple[int, Any]:
        r = c.http.patch(f"/v1/client-groups/{gid}", headers=headers, body=json.dumps({"notes": f"writer {i}"}))
        return r.status_code, r.json_body

    # Hold the row's lock from outside, so both PATCHes are provably inside their transactions at the same time,
    # waiting on the same row; then let go and see that exactly one of them wins. The holder connects after the
    # fork, so no child inherits it.
    import psycopg

    from chalicelib.core import config

    holder: list[Any] = []

    def hold() -> None:
        conn = psycopg.connect(config.owner_database_url(), autocommit=False)
        holder.append(conn)
        conn.execute("SELECT 1 FROM client_groups WHERE id = %s FOR UPDATE", (gid,))

    def release() -> None:
        _wait_for_lock_waiters(2)
        holder[0].commit()

    try:
        results = run_in_processes(2, patch, parent_at_barrier=hold, while_running=release)
    finally:
        for conn in holder:
            conn.close()

    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 412], results
    winner = next(body for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 412)
    assert winner["version"] == 2
    assert loser["status"] == 412 and loser["type"].endswith("/stale")
    row = owner_sql("SELECT version, notes FROM client_groups WHERE id = %s", (gid,))[0]
    assert row["version"] == 2 and row["notes"] == winner["notes"]
    events = owner_sql("SELECT count(*) AS n FROM audit_events WHERE resource_id = %s "
                       "AND action = 'client_group.update'", (gid,))[0]["n"]
    assert events == 1


def test_two_patches_with_the_same_if_match_without_a_held_lock(client: Any, firm_a: Firm) -> None:
    """The same race, released only by the barrier: whatever the interleaving, one 200 and one 412."""
    group = _create_group(client, firm_a, f"Race {uuid.uuid4().hex[:6]}")
    gid = group["id"]
    headers = {**firm_a.auth("adviser"), **JSON, "If-Match": '"1"'}

    def patch(c: Any, i: int) -> int:
        return c.http.patch(f"/v1/client-groups/{gid}", headers=headers,
                            body=json.dumps({"status": "dormant" if i else "inactive"})).status_code

    assert sorted(run_in_processes(2, patch)) == [200, 412]
    assert owner_sql("SELECT version FROM client_groups WHERE id = %s", (gid,))[0]["version"] == 2


WRITERS = 16


def test_sixteen_read_modify_write_writers_lose_no_update(client: Any, firm_a: Firm) -> None:
    group = _create_group(client, firm_a, f"Busy {uuid.uuid4().hex[:6]}")
    gid = group["id"]
    # writers as different principals: users of each writing kind and the read-write API key
    auths = [firm_a.auth("adviser"), firm_a.auth("admin"), firm_a.auth("write")]

    def read_modify_write(c: Any, i: int) -> int:
        h = {**auths[i % len(auths)], **JSON}
        marker = f"[writer-{i:02d}]"
        for attempt in range(1, 500):
            got = c.http.get(f"/v1/client-groups/{gid}", headers=h)
            assert got.status_code == 200, got.body
            etag = got.headers["ETag"]
            assert etag == f'"{got.json_body["version"]}"'
            notes = (got.json_body["notes"] or "") + marker
            r = c.http.patch(f"/v1/client-groups/{gid}", headers={**h, "If-Match": etag},
                             body=json.dumps({"notes": notes}))
            if r.status_code == 200:
                assert r.json_body["notes"] == notes
                return attempt
            assert r.status_code == 412, (r.status_code, r.body)
        raise AssertionError(f"writer {i} never got its update in")

    attempts = run_in_processes(WRITERS, read_modify_write)
    assert all(a >= 1 for a in attempts)

    final = client.http.get(f"/v1/client-groups/{gid}", headers=firm_a.auth("viewer")).json_body
    for i in range(WRITERS):
        assert final["notes"].count(f"[writer-{i:02d}]") == 1, final["notes"]
    assert len(final["notes"]) == len("[writer-00]") * WRITERS
    assert final["version"] == 1 + WRITERS
    events = owner_sql("SELECT count(*) AS n FROM audit_events WHERE resource_id = %s "
                       "AND action = 'client_group.update'", (gid,))[0]["n"]
    assert events == WRITERS


def test_concurrent_puts_of_the_same_membership_make_one_link(client: Any, firm_a: Firm) -> None:
    group = _create_group(client, firm_a, f"Members {uuid.uuid4().hex[:6]}")
    h = {**firm_a.auth("adviser"), **JSON}
    owner = client.http.post("/v1/product-owners", headers=h, body='{"first_name": "Con", "surname": "Current"}')
    assert owner.status_code == 201
    gid, oid = group["id"], owner.json_body["id"]

    def put(c: Any, i: int) -> tuple[int, Any]:
        r = c.http.put(f"/v1/client-groups/{gid}/product-owners/{oid}", headers=h)
        return r.status_code, r.json_body

    results = run_in_processes(8, put)
    statuses = sorted(s for s, _ in results)
    assert all(s < 500 for s in statuses), results
    assert statuses == [200] * 7 + [201], results
    assert all(body["id"] == oid for _, body in results)
    links = owner_sql("SELECT count(*) AS n FROM client_group_product_owners WHERE client_group_id = %s", (gid,))
    assert links[0]["n"] == 1
    members = client.http.get(f"/v1/client-groups/{gid}/product-owners", headers=h).json_body["items"]
    assert [m["id"] for m in members] == [oid]
    events = owner_sql("SELECT count(*) AS n FROM audit_events WHERE resource_id = %s "
                       "AND action = 'client_group.add_product_owner'", (gid,))[0]["n"]
    assert events == 8  # every write request leaves its event, the no-ops included


def test_concurrent_creates_with_one_idempotency_key_create_once(client: Any, fresh_firm: Firm) -> None:
    """Eight retries of one POST racing each other: one row, one event, the same response for all."""
    h = {**fresh_firm.auth("adviser"), **JSON, "Idempotency-Key": f"race-{uuid.uuid4().hex}"}
    body = json.dumps({"name": "Raced Household", "type": "trust"})

    def post(c: Any, i: int) -> tuple[int, bytes, bool]:
        r = c.http.post("/v1/client-groups", headers=h, body=body)
        return r.status_code, r.body, r.headers.get("Idempotent-Replayed") == "true"

    results = run_in_processes(8, post)
    assert [s for s, _, _ in results] == [201] * 8, results
    assert len({b for _, b, _ in results}) == 1
    assert sum(1 for _, _, replayed in results if not replayed) == 1
    counts = owner_sql("SELECT (SELECT count(*) FROM client_groups WHERE firm_id = %(f)s) AS groups, "
                       "(SELECT count(*) FROM audit_events WHERE firm_id = %(f)s "
                       " AND action = 'client_group.create') AS events", {"f": fresh_firm.id})[0]
    assert counts == {"groups": 1, "events": 1}


# --- derived rows of a product: two writers of different funds of one product --------------------------------------

def _product_with_two_funds(client: Any, firm: Firm) -> tuple[str, list[str]]:
    """A product with two funds, each with an investment on 2021-01-15 and a valuation on 2021-06-30."""
    from tests.integration.matrix_support import (
        add_activity,
        add_portfolio_fund,
        add_valuation,
        create_fund,
        create_household,
        create_product,
    )

    auth = firm.auth("adviser")
    house = create_household(client, auth)
    product = create_product(client, auth, house, start_date="2021-01-01")["id"]
    pfs = []
    for _ in range(2):
        pf = add_portfolio_fund(client, auth, product, create_fund(client, auth)["id"], start_date="2021-01-01")["id"]
        add_activity(client, auth, pf, "2021-01-15", "1000.00")
        add_valuation(client, auth, pf, "2021-06-30", "1010.00")
        pfs.append(pf)
    return product, pfs


def _race_past_the_derived_rows(firm: Firm, work: Callable[[Any, int], Any]) -> list[Any]:
    """Two writers, with the audit table locked from outside: each request does its write and its derived rows
    (portfolio valuations, IRR history) and then waits at its audit insert, or earlier on a lock the other
    holds. Released once both wait, so neither committed before the other had computed as much as it could."""
    import psycopg

    from chalicelib.core import config

    holder: list[Any] = []

    def hold() -> None:
        conn = psycopg.connect(config.owner_database_url(), autocommit=False)
        holder.append(conn)
        conn.execute("LOCK TABLE audit_events IN SHARE MODE")  # writers' INSERTs wait; nothing else does

    def release() -> None:
        _wait_for_lock_waiters(2)
        holder[0].commit()

    try:
        return run_in_processes(2, work, parent_at_barrier=hold, while_running=release)
    finally:
        for conn in holder:
            conn.close()


def _stored_history(product: str) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in owner_sql(
        "SELECT valuation_date, method, irr, reason FROM irr_values WHERE scope = 'product' AND scope_id = %s "
        "ORDER BY valuation_date, method", (product,))]


def _full_recompute(firm: Firm, product: str) -> list[tuple[Any, ...]]:
    import psycopg

    from chalicelib.core import db
    from chalicelib.core.context import RequestContext
    from chalicelib.products.performance import service

    out: list[tuple[Any, ...]] = []
    with db.transaction(RequestContext.system(firm.id)) as tx:
        service.recompute_irr_history(tx, uuid.UUID(product), date.min)
        out = [tuple(r.values()) for r in tx.all(
            "SELECT valuation_date, method, irr, reason FROM irr_values WHERE scope = 'product' AND scope_id = %s "
            "ORDER BY valuation_date, method", (product,))]
        raise psycopg.Rollback()
    return out


def test_two_funds_valued_on_one_date_at_once_make_the_portfolio_valuation(client: Any, firm_a: Firm) -> None:
    """Each fund's valuation alone leaves the date incomplete; the second writer must see the first's."""
    product, pfs = _product_with_two_funds(client, firm_a)
    headers = {**firm_a.auth("adviser"), **JSON}

    def value(c: Any, i: int) -> int:
        return c.http.post(f"/v1/portfolio-funds/{pfs[i]}/valuations", headers=headers,
                           body=json.dumps({"valuation_date": "2021-12-31", "value": f"10{i}0.00"})).status_code

    assert _race_past_the_derived_rows(firm_a, value) == [201, 201]
    rows = owner_sql("SELECT valuation_date::text AS d, value FROM portfolio_valuations WHERE product_id = %s "
                     "ORDER BY 1", (product,))
    assert [(r["d"], str(r["value"])) for r in rows] == [("2021-06-30", "2020.00"), ("2021-12-31", "2010.00")]
    history = _stored_history(product)
    assert [str(r[0]) for r in history] == ["2021-06-30"] * 2 + ["2021-12-31"] * 2
    assert history == _full_recompute(firm_a, product)


def test_two_cash_flows_in_one_product_at_once_keep_the_history_whole(client: Any, firm_a: Firm) -> None:
    """Two cash flows in two funds of one product, written at once: the stored history has both."""
    product, pfs = _product_with_two_funds(client, firm_a)
    headers = {**firm_a.auth("adviser"), **JSON}
    before = _stored_history(product)

    def invest(c: Any, i: int) -> int:
        return c.http.post(f"/v1/portfolio-funds/{pfs[i]}/activity", headers=headers,
                           body=json.dumps({"activity_date": f"2021-0{3 + i}-01", "activity_type": "investment",
                                            "amount": "500.00"})).status_code

    assert _race_past_the_derived_rows(firm_a, invest) == [201, 201]
    after = _stored_history(product)
    assert after != before and after == _full_recompute(firm_a, product)


def test_a_product_end_and_a_raw_write_after_it_cannot_both_commit(client: Any, firm_a: Firm) -> None:
    """Raw SQL, without the API's product lock: a valuation dated after a new product end, and that end, written
    by two transactions at once, in either order. Migration 0010's triggers lock the product FOR SHARE (the
    valuation) and read the rows with a fresh snapshot once the lock is theirs (the end), so the second to
    commit is refused and nothing is left outside the dates."""
    import threading

    import psycopg

    from chalicelib.core import db

    product, pfs = _product_with_two_funds(client, firm_a)
    insert = ("INSERT INTO fund_valuations (firm_id, portfolio_fund_id, valuation_date, value) "
              "SELECT firm_id, id, '2024-04-30', 1 FROM portfolio_funds WHERE id = %s")
    end = "UPDATE products SET end_date = '2024-03-31' WHERE id = %s"
    for first, second in (((insert, pfs[0]), (end, product)), ((end, product), (insert, pfs[0]))):
        with db.owner_connection(autocommit=False) as holder, db.owner_connection(autocommit=False) as waiter:
            holder.execute(first[0], (first[1],))
            outcome: dict[str, Any] = {}

            def run(conn: Any = waiter, statement: tuple[str, str] = second,
                    outcome: dict[str, Any] = outcome) -> None:
                try:
                    conn.execute(statement[0], (statement[1],))
                    conn.commit()
                    outcome["committed"] = True
                except psycopg.Error as exc:
                    conn.rollback()
                    outcome["refused"] = exc

            thread = threading.Thread(target=run)
            thread.start()
            _wait_for_lock_waiters(1)
            holder.commit()
            thread.join(TIMEOUT)
        assert isinstance(outcome.get("refused"), psycopg.errors.CheckViolation), outcome
        assert owner_sql("SELECT count(*) AS n FROM fund_valuations v JOIN portfolio_funds pf "
                         "ON pf.id = v.portfolio_fund_id JOIN products p ON p.id = pf.product_id "
                         "WHERE p.id = %s AND v.valuation_date > p.end_date", (product,)) == [{"n": 0}]
        # Back to the start for the other order.
        owner_sql("DELETE FROM fund_valuations WHERE portfolio_fund_id = %s AND valuation_date = '2024-04-30'",
                  (pfs[0],))
        owner_sql("UPDATE products SET end_date = NULL WHERE id = %s", (product,))
