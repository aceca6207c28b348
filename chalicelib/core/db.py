"""Connections and transactions.

One lazily opened pool per container and role (a Lambda container serves one request at a time, so max_size=1).
`transaction(ctx)` is the one way services touch the database: it opens a transaction whose first statement shows
PostgreSQL the principal's credential (an access token's session, an API key's hash), which a SECURITY DEFINER
function verifies before it records the firm where the app role cannot write (migration 0018); row-level security
reads only that. That statement travels with the transaction's BEGIN, in one round trip (`Tx.first`).
Everything rolls back on any exception. The system context (jobs, the CLI) is the owner role's: its transactions
run on the owner's pool. `lookup(ctx)` is the transaction before the firm is known (login, refresh), in which a
verified credential may enter the firm. Nothing else sets the tenant context.
"""
from __future__ import annotations

import contextvars
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.core import config, store
from chalicelib.core.context import RateLimit, RequestContext
from chalicelib.core.errors import TooManyRequests, Unauthorized

_pools: dict[str, Any] = {}
_pools_lock = threading.Lock()
_current: contextvars.ContextVar[Tx | None] = contextvars.ContextVar("wealthdesk_tx", default=None)


def _connect_kwargs() -> dict[str, Any]:
    from psycopg.rows import dict_row

    s = config.settings()
    return {
        "row_factory": dict_row,
        # Transactions are begun explicitly (db.Tx), so that the statement entering the firm can travel with the
        # BEGIN; a statement outside any transaction commits on its own.
        "autocommit": True,
        # statement_timeout is enforced by the server: a runaway query cannot hold a Lambda.
        "options": f"-c statement_timeout={s.statement_timeout_ms} -c idle_in_transaction_session_timeout=60000",
        # Behind RDS Proxy (transaction pooling) server-side prepared statements are unsafe.
        "prepare_threshold": None,
        "application_name": "wealthdesk",
        "connect_timeout": 5,
    }


def _app_conninfo() -> str:
    return config.app_database_url()


def pool(kind: str = "app") -> Any:
    """The container's pool for `kind` ("app" for the API, "owner" for jobs), opened on first use."""
    p = _pools.get(kind)
    if p is not None:
        return p
    with _pools_lock:
        p = _pools.get(kind)
        if p is None:
            from psycopg_pool import ConnectionPool

            conninfo = _app_conninfo if kind == "app" else config.owner_database_url
            p = ConnectionPool(
                conninfo,
                connection_class=_connection_class(),
                kwargs=_connect_kwargs,
                min_size=1,
                max_size=max(1, config.settings().pool_max_size),
                open=False,
                check=_check_if_idle,
                max_lifetime=30 * 60,
                max_idle=5 * 60,
                timeout=10,
                reconnect_failed=_forget_credentials,
                name=f"wealthdesk-{kind}",
            )
            p.open(wait=False)
            _pools[kind] = p
    return p


# A connection handed straight back to the next request is alive; one that sat idle may have died with a frozen
# Lambda container or a failover. Check only those, saving a round trip on every busy request.
# Idle time is measured from the previous checkout (a `reset` callback would stamp returns, but it makes the
# pool return every connection through its worker thread, which costs more than it saves).
_IDLE_CHECK_SECONDS = 10.0
_checked_out_at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def _check_if_idle(conn: Any) -> None:
    now = time.monotonic()
    last = _checked_out_at.get(conn)
    if last is None or now - last > _IDLE_CHECK_SECONDS:
        from psycopg_pool import ConnectionPool

        ConnectionPool.check_connection(conn)
    _checked_out_at[conn] = now


_AUTH_FAILURES = ("28000", "28P01")  # invalid_authorization_specification, invalid_password
_connection_cls: Any = None


def _connection_class() -> Any:
    """psycopg's Connection, but an authentication failure drops the cached secret first, so the pool's next
    attempt reads the rotated credentials."""
    global _connection_cls
    if _connection_cls is None:
        import psycopg

        class Connection(psycopg.Connection):  # type: ignore[type-arg]
            @classmethod
            def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:  # type: ignore[override]
                try:
                    return super().connect(conninfo, **kwargs)
                except psycopg.OperationalError as exc:
                    # The server answered and refused us (bad password, unknown role, no pg_hba entry): the
                    # credentials may have been rotated. A network failure has no FATAL and keeps the secret.
                    if getattr(exc, "sqlstate", None) in _AUTH_FAILURES or "FATAL:" in str(exc):
                        _forget_credentials(None)
                    raise

        _connection_cls = Connection
    return _connection_cls


def _forget_credentials(_pool: Any) -> None:
    """Reconnection keeps failing: the secret may have rotated, so read it again next time."""
    from chalicelib.core import secrets

    s = config.settings()
    secrets.forget(s.database_secret_arn)
    secrets.forget(s.database_owner_secret_arn)


def close_pools() -> None:
    with _pools_lock:
        for p in _pools.values():
            p.close()
        _pools.clear()


class Tx:
    """An open transaction: a connection with the tenant context set (none yet when opened by `lookup()`).

    The connection is in autocommit mode and the transaction is begun explicitly, by its first statement: `first`
    sends BEGIN and that statement in one round trip (the statement that enters the firm, core.store's enter_*);
    any other statement sends BEGIN on its own first. A Tx made with `begin=False` runs each statement on its own
    (`statements`); one over a connection outside autocommit mode leaves BEGIN to psycopg."""

    def __init__(self, conn: Any, ctx: RequestContext, *, lookup: bool = False, begin: bool = True) -> None:
        self.conn = conn
        self.ctx = ctx
        self.lookup = lookup  # opened by lookup(): no firm yet
        self.entered: Any = None  # the firm PostgreSQL has verified for this transaction (core.store's enter_*)
        self.kind = "app"  # the pool: "app" or "owner"
        self.counts: RequestContext | None = None  # the request whose rate-limit count this transaction holds
        # BEGIN not sent yet: the first statement sends it (a connection outside autocommit begins on its own)
        self.begin_pending = begin and conn.autocommit

    def _begin(self) -> None:
        if self.begin_pending:
            self.begin_pending = False
            self.conn.execute("BEGIN")

    def execute(self, sql: Any, params: Any = None) -> Any:
        self._begin()
        return self.conn.execute(sql, params)

    def one(self, sql: Any, params: Any = None) -> Any:
        self._begin()
        return self.conn.execute(sql, params).fetchone()

    def all(self, sql: Any, params: Any = None) -> list[Any]:
        self._begin()
        return self.conn.execute(sql, params).fetchall()

    def first(self, sql: str, params: Any) -> Any:
        """`one` for the statement that opens the transaction: BEGIN and it in one round trip (PostgreSQL's simple
        query protocol, which takes several statements but no bound parameters, so psycopg's ClientCursor writes
        the parameters into the text as quoted literals, with the escaping libpq uses). PostgreSQL logs the text of
        a statement that fails, values and all: never for a statement that carries a secret (core.store's
        enter_api_key binds its key's hash with `one`). Without a pending BEGIN (a transaction joined, a statement
        of its own) it is `one`."""
        if not self.begin_pending:
            return self.one(sql, params)
        import psycopg

        self.begin_pending = False
        cur = psycopg.ClientCursor(self.conn)
        cur.execute("BEGIN; " + sql, params)
        cur.nextset()
        return cur.fetchone()


def _set_tenant(tx: Tx, ctx: RequestContext) -> None:
    """The one place a transaction enters its firm: the principal's credential, verified by PostgreSQL (core.store's
    enter_*). A lookup that already entered this firm with a credential of its own (a password, a refresh token,
    an API key) needs nothing more. A principal without a credential cannot enter any firm.

    A user's request is counted against its rate limit by the statement that opens its first transaction (its
    bucket in `ctx.rate_bucket`, migration 0020): over the limit that statement does not enter the firm and this
    raises TooManyRequests, so nothing the request asked for runs. An API key's request was counted when the key
    was checked (core.auth), by a statement of its own."""
    principal = ctx.principal
    if principal is None or tx.entered == principal.firm_id:
        return
    if principal.kind == "system":
        if tx.kind != "owner":
            raise RuntimeError("the system context belongs to the owner role: db.transaction(ctx) runs it there")
        store.enter_system(tx, principal.firm_id)
    elif principal.kind == "user" and principal.session_id is not None and principal.role is not None:
        bucket = ctx.rate_bucket if ctx.rate is None else None  # a request is counted once
        row = store.enter_session(tx, principal.session_id, principal.id, principal.firm_id, principal.role,
                                  bucket, config.rate_limit_scale())
        if row["state"] == "refused":
            ctx.rate_bucket = None  # no principal to count
            raise Unauthorized("The session has ended (logged out, idle, or the user was changed); log in again")
        if bucket is not None:
            counted(ctx, row)
            tx.counts = ctx
    elif principal.kind == "api_key" and principal.key_prefix and principal.key_hash:
        row = store.enter_api_key(tx, principal.key_prefix, principal.key_hash)
        if row is None or row["state"] != "ok" or row["firm_id"] != principal.firm_id:
            raise Unauthorized("The API key is no longer valid")
    else:
        raise RuntimeError(f"a {principal.kind} principal without a credential cannot enter a firm")


def counted(ctx: RequestContext, row: dict[str, Any]) -> None:
    """Record in `ctx` the rate-limit window a statement counted the request in (rate_limit, rate_used,
    rate_reset); over the limit, TooManyRequests (the count needs no committing: the window is full anyway)."""
    ctx.rate = RateLimit(row["rate_limit"], row["rate_used"], row["rate_reset"])
    if ctx.rate.exceeded:
        ctx.rate_settled = True
        raise TooManyRequests(ctx.rate)


def count_request(ctx: RequestContext) -> None:
    """Count a user's request whose count is not committed (it opened no transaction, or the one that counted it
    rolled back): one statement of its own, which verifies the session again and commits at once. Never raises:
    the request has had its answer; this keeps the window's count true."""
    principal = ctx.principal
    if ctx.rate_bucket is None or ctx.rate_settled or principal is None or principal.kind != "user":
        return
    try:
        with statements(ctx) as tx:
            row = store.enter_session(tx, principal.session_id, principal.id, principal.firm_id, principal.role,
                                      ctx.rate_bucket, config.rate_limit_scale())
    except Exception:  # the database went away: the answer stands, uncounted
        import logging

        logging.getLogger("wdk.request").warning("rate-limit count failed", exc_info=True)
        return
    if row["rate_limit"] is not None:
        ctx.rate = RateLimit(row["rate_limit"], row["rate_used"], row["rate_reset"])
    ctx.rate_settled = True


def count_source(ctx: RequestContext, source: str) -> None:
    """Count a sign-in request against its source address (a statement of its own, committed at once, before the
    route does anything); over the limit, TooManyRequests."""
    with statements(ctx) as tx:
        row = store.count_source(tx, source, config.rate_limit_scale())
    ctx.rate_settled = True
    counted(ctx, row)


@contextmanager
def statements(ctx: RequestContext) -> Iterator[Tx]:
    """A pooled app connection whose statements each commit on their own (one round trip each), entering no firm
    beyond its own statement: an API key's check and count (core.auth), a request's count after an answer whose
    transaction rolled back (count_request), a sign-in route's count (count_source)."""
    if _current.get() is not None:
        raise RuntimeError("a statement of its own runs outside any transaction")
    with pool("app").connection() as conn:
        yield Tx(conn, ctx, lookup=True, begin=False)


def transaction(ctx: RequestContext, *, kind: str | None = None) -> _Transaction:
    """One transaction for one unit of work, with the tenant context of `ctx` (a context manager giving its Tx).

    `kind` is the pool: the owner's for the system context, the app role's for everyone else.
    Re-entrant: a service called while its caller already holds a transaction joins it, so a request is always
    exactly one transaction (the idempotency record and the write commit together). Joining a `lookup()` that
    has found the firm enters the firm for the rest of that transaction.
    """
    if kind is None:
        kind = "owner" if ctx.principal is not None and ctx.principal.kind == "system" else "app"
    return _Transaction(kind, ctx)


def lookup(ctx: RequestContext) -> _Transaction:
    """A transaction before the firm is known: login, refresh and the second step (a context manager giving its Tx).

    It enters no firm (a context lives as long as its transaction, so a new transaction has none and sees no
    tenant row): only the SECURITY DEFINER functions answer (auth_user_by_email, auth_login_begin and
    auth_challenge_begin, which reserve a check; auth_enter_password, auth_enter_challenge, auth_enter_refresh and
    auth_enter_api_key, which enter the firm once the credential is verified; migration 0018). A
    `transaction(ctx)` opened inside it for the firm so entered joins it, for a write in the same round trips.
    """
    anonymous = RequestContext(request_id=ctx.request_id, ip=ctx.ip, user_agent=ctx.user_agent)
    return _Transaction("app", anonymous, lookup=True)


class _Transaction:
    """`transaction()` and `lookup()`: a pooled connection's transaction as the context's current one (which nested
    calls join), with ctx's tenant context set unless it is a lookup's; or, inside one, that one. A class rather
    than a generator: every request opens one, and this is its cheapest form."""

    __slots__ = ("ctx", "joined", "kind", "lookup", "pool", "token", "tx")

    def __init__(self, kind: str, ctx: RequestContext, *, lookup: bool = False) -> None:
        self.kind, self.ctx, self.lookup = kind, ctx, lookup
        self.joined = False

    def __enter__(self) -> Tx:
        ctx = self.ctx
        current = _current.get()
        if current is not None:
            if self.lookup:
                raise RuntimeError("a lookup runs before any transaction, never inside one")
            if current.ctx.firm_id != ctx.firm_id:
                if not (current.lookup and current.ctx.firm_id is None):
                    raise RuntimeError("nested transaction for another firm")
                _set_tenant(current, ctx)
                current.ctx = ctx
            self.joined = True
            return current
        self.pool = pool(self.kind)
        conn = self.pool.getconn()
        try:
            tx = self.tx = Tx(conn, ctx, lookup=self.lookup)
            tx.kind = self.kind
            if not self.lookup:
                _set_tenant(tx, ctx)
        except BaseException:
            _rollback(conn)
            self.pool.putconn(conn)
            raise
        self.token = _current.set(tx)
        return tx

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if self.joined:
            return False
        _current.reset(self.token)
        tx = self.tx
        try:
            if exc is not None:
                _rollback(tx.conn)
                return _is_own_rollback(exc)  # psycopg.Rollback() ends it quietly, as conn.transaction() does
            if not tx.begin_pending:
                tx.conn.commit()
            if tx.counts is not None:  # committed: so is the request's rate-limit count
                tx.counts.rate_settled = True
            return False
        finally:
            self.pool.putconn(tx.conn)


def _is_own_rollback(exc: BaseException) -> bool:
    import psycopg

    return isinstance(exc, psycopg.Rollback) and exc.transaction is None


def _rollback(conn: Any) -> None:
    """Roll back whatever the connection holds; a broken connection has nothing to roll back (the pool discards
    it), and the error that got here is the one to raise."""
    from psycopg import pq

    try:
        if conn.info.transaction_status != pq.TransactionStatus.IDLE:
            conn.rollback()
    except Exception:  # a broken connection: the pool discards it
        pass


@contextmanager
def owner_connection(*, autocommit: bool = True, statement_timeout_ms: int = 0) -> Iterator[Any]:
    """A connection as the owner role, outside any tenant (migrations, jobs, administration).

    Maintenance work may run long, so its statement timeout is its own (0: none).
    """
    import psycopg

    kwargs = _connect_kwargs()
    kwargs.update(autocommit=autocommit, application_name="wealthdesk-owner",
                  options=f"-c statement_timeout={statement_timeout_ms}")
    with psycopg.connect(config.owner_database_url(), **kwargs) as conn:
        yield conn
