"""The connection and transaction core: where every operation gets its connection, in autocommit or
inside the caller's transaction, with errors leaving it as learnstore errors.

It sits at the bottom of the package: the generated queries, the repositories and the store build on
it, and it imports none of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import psycopg
import pydantic
from psycopg import sql
from psycopg.abc import Params, QueryNoTemplate
from psycopg.pq import ConnStatus, TransactionStatus
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from learnstore._identity_pipeline import run_as
from learnstore.errors import Contention, is_stale_plan, translate, translating
from learnstore.replicas_async import AsyncReplicas, AsyncRoute, primary_position
from learnstore.security import APP_ROLE

__all__ = [
    "DEFAULT_RETRIES",
    "AsyncDatabase",
    "AsyncLearnstoreConnection",
    "AsyncLearnstoreCursor",
    "Identity",
]

#: How many times a multi-statement operation that lost a race (`Contention`: a deadlock, a
#: serialization failure) is run again before the error reaches the caller.
DEFAULT_RETRIES = 3

# Both settings are transaction-local (is_local = true): they end with the transaction, so a pooled
# connection (or a PgBouncer server connection) never carries one user's identity into the next.
_SET_IDENTITY = "SELECT set_config('role', %s, true), set_config('learnstore.clerk_id', %s, true)"


# Inside a transaction that is not the identity's own: set them and return what they were, so that
# they can be put back after the operation (OFFSET 0 reads the old values before the new are set).
_SWAP_IDENTITY = (
    "SELECT prev.role, prev.clerk_id,"
    " set_config('role', %s, true), set_config('learnstore.clerk_id', %s, true)"
    " FROM (SELECT current_setting('role') AS role,"
    " coalesce(current_setting('learnstore.clerk_id', true), '') AS clerk_id OFFSET 0) AS prev"
)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who an operation runs as: `clerk_id` under `role`, which row-level security policies read."""

    clerk_id: str
    role: str = APP_ROLE

    def begin(self) -> sql.Composed:
        """BEGIN and both settings in one simple-protocol string: one round trip, no parameters."""
        return sql.SQL("BEGIN; ") + _settings(self.role, self.clerk_id)


def _settings(role: str, clerk_id: str) -> sql.Composed:
    """_SET_IDENTITY with its values as literals, for a simple-protocol string."""
    return sql.SQL("SELECT set_config('role', {}, true), set_config('learnstore.clerk_id', {}, true)").format(
        sql.Literal(role), sql.Literal(clerk_id)
    )


class AsyncLearnstoreConnection(psycopg.AsyncConnection[Any]):
    """The connections of learnstore's pool: a lone operation under `as_user` costs one round trip.

    While an operation runs as an identity (`learnstore_identity`, set by `AsyncDatabase.connection()`
    on an idle autocommit connection), each statement its cursors execute is sent in one string right
    behind the statement that sets the identity: one round trip, one implicit transaction, the
    transaction-local settings gone with it (`AsyncLearnstoreCursor`).
    """

    #: (role, clerk_id) the statements of the current operation run as; None on the owner path.
    learnstore_identity: tuple[str, str] | None = None
    #: Where the current operation's read-only queries may run (a store with replicas, outside a
    #: transaction); None: here. Set and cleared by `AsyncDatabase.connection()`.
    learnstore_route: AsyncRoute | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the statements prepared on this connection for identities: text -> name
        self.learnstore_prepared: dict[bytes, bytes] = {}
        #: the cursor learnstore's queries run on, while no statement of this connection holds it
        #: (`learnstore.queries._loader`): one cursor per connection, not one per statement, since
        #: making one (its adapters, its transformer) and dropping it cost as much as everything
        #: learnstore adds to a pooled one-row read (docs/benchmarks.md, "Throughput")
        self.learnstore_cursors: list[psycopg.AsyncCursor[Any]] = []
        #: the FATAL errors the server sent out of turn: it is ending the session (`_ended_by_server`)
        self.learnstore_fatal = _FatalErrors()
        self.add_notice_handler(self.learnstore_fatal)

    async def close(self) -> None:
        self.learnstore_cursors.clear()  # they refer to the connection: no cycle left to collect
        await super().close()


class AsyncLearnstoreCursor(psycopg.AsyncCursor[Any]):
    """The cursor of `AsyncLearnstoreConnection`: under an identity, execute() sends the settings
    and the statement in one libpq pipeline, both prepared once per connection, and leaves the
    cursor on the statement's result (rowcount included: aiosql reads it right after execute()).
    How and why: `learnstore._identity_pipeline`."""

    # Not overloaded for t-strings (Python 3.14's Template): learnstore sends none.
    async def execute(  # type: ignore[override]
        self,
        query: QueryNoTemplate,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        conn = self.connection
        identity = getattr(conn, "learnstore_identity", None)  # None also on another connection class
        if identity is None:
            return await super().execute(query, params, prepare=prepare, binary=binary)
        assert isinstance(conn, AsyncLearnstoreConnection)
        prepares = prepare is not False and conn.prepare_threshold is not None
        statements = conn.learnstore_prepared if prepares else None
        async with conn.lock:
            await conn.wait(run_as(self, query, params, identity, statements, binary))
        return self

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        conn = self.connection
        if isinstance(conn, AsyncLearnstoreConnection) and conn.learnstore_identity is not None:
            # COPY is not pipelined: it would run without the identity. learnstore copies only in
            # transaction(), where the identity is the transaction's.
            raise psycopg.ProgrammingError("COPY under as_user needs a transaction: use transaction()")
        return super().copy(*args, **kwargs)


class AsyncDatabase:
    """Where repositories get a connection: from a pool, or always the one connection given.

    `retries`: how many more times `attempts()` runs a transaction that failed with `Contention`;
    only over a pool, where the transaction is ours (in the caller's transaction, the caller's).
    With an `identity`, every operation runs as that user under the non-owner role: see `as_user`.
    """

    __slots__ = ("_applied", "_conn", "_identity", "_pool", "_replicas", "_retries", "_route")

    def __init__(
        self,
        source: AsyncConnectionPool[Any] | psycopg.AsyncConnection[Any],
        *,
        retries: int = DEFAULT_RETRIES,
        identity: Identity | None = None,
        applied: bool = False,
        replicas: AsyncReplicas | None = None,
        after: int = 0,
    ) -> None:
        self._pool = source if isinstance(source, AsyncConnectionPool) else None
        self._conn = source if isinstance(source, psycopg.AsyncConnection) else None
        self._retries = max(0, retries)
        self._identity = identity
        # True when the connection's open transaction already carries the identity (the database
        # inside `transaction()`): operations then run as they are, with nothing to set.
        self._applied = applied
        # Replicas serve only operations on the store's own pool: a caller's connection and the
        # connection of `transaction()` are the primary's to the end.
        self._replicas = replicas if self._pool is not None else None
        self._route = AsyncRoute(self._replicas, after) if self._replicas is not None else None

    @property
    def identity(self) -> Identity | None:
        """The identity operations run as; None on the owner (service) path."""
        return self._identity

    def as_user(self, clerk_id: str, *, role: str = APP_ROLE) -> AsyncDatabase:
        """The same connections, each operation run as `clerk_id` under `role`."""
        source = self._pool if self._pool is not None else self._conn
        assert source is not None
        return AsyncDatabase(
            source,
            retries=self._retries,
            identity=Identity(clerk_id, role),
            replicas=self._replicas,
            after=self.after,
        )

    @property
    def replicas(self) -> AsyncReplicas | None:
        """The replicas read-only queries may run on; None: every operation runs on the primary."""
        return self._replicas

    @property
    def after(self) -> int:
        """The WAL position a replica must have replayed before it serves a read (0: any)."""
        return self._route.after if self._route is not None else 0

    def reading_after(self, position: int) -> AsyncDatabase:
        """The same connections, reads on a replica only once it has replayed `position`."""
        source = self._pool if self._pool is not None else self._conn
        assert source is not None
        return AsyncDatabase(
            source,
            retries=self._retries,
            identity=self._identity,
            applied=self._applied,
            replicas=self._replicas,
            after=max(self.after, position),
        )

    async def position(self) -> int:
        """The primary's WAL position now, at or past every commit made before (`store.token()`)."""
        async with self._acquire() as conn:
            return max(self.after, await primary_position(conn))

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        with translating():
            if self._conn is not None:
                # The caller's connection, whatever row factory it was made with: learnstore reads
                # tuples (see _Operation), and the caller's factory comes back at the end.
                conn = self._conn
                rows = conn.row_factory
                if rows is tuple_row:
                    yield conn
                else:
                    conn.row_factory = tuple_row
                    try:
                        yield conn
                    finally:
                        conn.row_factory = rows
            else:
                # pool.connection(), with the check for connections the server has ended
                pool = self._pool
                assert pool is not None
                conn = await _checkout(pool)
                try:
                    async with conn:
                        try:
                            yield conn
                        except BaseException as exc:
                            await _forget_stale_plans(conn, exc)
                            raise
                finally:
                    await pool.putconn(conn)

    def connection(self) -> _Operation:
        """A connection for one operation; errors leave it as learnstore errors.

        Inside a transaction the operation gets a savepoint, so that when it fails the
        transaction is left as it was and usable; otherwise it runs in autocommit, one round trip.
        """
        return _Operation(self._pool, self._conn, None if self._applied else self._identity, self._route)

    def bound(self, conn: psycopg.AsyncConnection[Any]) -> AsyncDatabase:
        """A database over `conn`, which `transaction()` gave: same identity, already applied."""
        return AsyncDatabase(
            conn, retries=self._retries, identity=self._identity, applied=self._identity is not None
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection inside a transaction (a savepoint when one is already open)."""
        if self._identity is not None and not self._applied:
            async with self._acquire() as conn, _as_identity(conn, self._identity):
                yield conn
            return
        async with self._acquire() as conn:
            if (
                self._conn is not None
                and not conn.autocommit
                and conn.info.transaction_status == TransactionStatus.IDLE
            ):
                # The caller's non-autocommit connection: its transaction is the caller's to commit.
                # psycopg's transaction() would BEGIN and COMMIT here; a statement makes psycopg open
                # the caller's transaction first, so ours becomes a savepoint inside it.
                await conn.execute("SELECT 1")
            async with conn.transaction():
                yield conn

    async def attempts(self) -> AsyncIterator[_Attempt]:
        """Attempts at a multi-statement operation, each a transaction:

            async for attempt in db.attempts():
                async with attempt as conn:
                    ...  # the statements; `return` the result from here

        An attempt that fails with `Contention` (a deadlock, a serialization failure) has been
        rolled back whole, so it is run again, up to `retries` more times, then the error is
        raised. Inside the caller's transaction there is one attempt: the caller's transaction is
        what lost the race, so only the caller can run it again. No pause between attempts: the
        winner of the race still holds its locks, and the next attempt waits on them.
        """
        last = 0 if self._conn is not None else self._retries
        for number in range(last + 1):
            attempt = _Attempt(self, last=number == last)
            yield attempt
            if not attempt.failed:
                return


class _Attempt:
    """One of `AsyncDatabase.attempts()`: a transaction that, when it loses a race, is rolled back
    and tells attempts() to go again instead of raising (unless it was the last one)."""

    __slots__ = ("_db", "_last", "_transaction", "failed")

    def __init__(self, db: AsyncDatabase, *, last: bool) -> None:
        self._db = db
        self._last = last
        self._transaction: AbstractAsyncContextManager[psycopg.AsyncConnection[Any]] | None = None
        self.failed = False

    async def __aenter__(self) -> psycopg.AsyncConnection[Any]:
        self._transaction = self._db.transaction()
        return await self._transaction.__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        assert self._transaction is not None
        try:
            # transaction() rolls back and translates: a PostgreSQL deadlock leaves it as Contention
            suppressed = await self._transaction.__aexit__(exc_type, exc, tb)
        except Contention:
            if self._last:
                raise
            self.failed = True
            return True
        if isinstance(exc, Contention) and not self._last:
            self.failed = True
            return True
        return bool(suppressed)


async def _checkout(
    pool: AsyncConnectionPool[Any], taken: psycopg.AsyncConnection[Any] | None = None
) -> psycopg.AsyncConnection[Any]:
    """A connection from the pool that the server has not ended while it sat idle (`taken`: the
    first one, already taken from the pool).

    After pg_terminate_backend or a server restart every idle pooled connection is dead, and the
    pool does not notice until one is used: the operation would fail with `Unavailable` although a
    new connection would work. A dead one is closed (the pool then replaces it) and the next taken.
    """
    conn: psycopg.AsyncConnection[Any]
    for _ in range((pool.max_size or 1) + 1):
        conn = taken if taken is not None else await pool.getconn()
        taken = None
        if not _ended_by_server(conn):
            return conn
        await conn.close()
        await pool.putconn(conn)  # a closed connection is discarded, and a new one started
    conn = await pool.getconn()
    return conn


def _ended_by_server(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle connection was ended by the server, without a round trip.

    An idle connection has nothing to read unless the server sent something out of turn: when it
    ends a session it sends a FATAL error, then closes the socket. libpq reads what is there without
    waiting (its socket is non-blocking) and, parsing it, hands an error that came while idle to
    the notice handlers, where learnstore's connections record a FATAL one; a closed socket marks
    the connection bad. So a connection is ended once the FATAL has arrived, before the socket's
    end has (pg_stat_activity drops a backend before it exits). An idle connection costs one read
    that finds nothing.

    Not poll(): Python releases the GIL around it, so under many threads every operation queued
    for the GIL once more; libpq's read through psycopg keeps it (bench.throughput, the 50-row
    list at 128 callers: 0.74x raw psycopg's throughput with poll(), 0.78-0.81x without).
    """
    pgconn = conn.pgconn
    if pgconn.status != ConnStatus.OK:
        return True
    try:
        pgconn.consume_input()
        if pgconn.transaction_status != TransactionStatus.ACTIVE:  # no statement is running
            # Parses what was read: an error out of turn goes to the notice handlers. On an idle
            # connection it returns None at once, and, unlike PQisBusy, psycopg keeps the GIL.
            pgconn.get_result()
    except psycopg.OperationalError:
        return True
    fatal = getattr(conn, "learnstore_fatal", None)
    return pgconn.status != ConnStatus.OK or bool(fatal and fatal.messages)


class _FatalErrors:
    """A notice handler that keeps the messages of FATAL errors: libpq hands an error that comes
    while a connection is idle to the notice handlers. It refers to no connection, so the
    connection that holds it makes no reference cycle."""

    __slots__ = ("messages",)

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, diagnostic: psycopg.errors.Diagnostic) -> None:
        if diagnostic.severity_nonlocalized == "FATAL":
            self.messages.append(diagnostic.message_primary or "")


@asynccontextmanager
async def _as_identity(conn: psycopg.AsyncConnection[Any], identity: Identity) -> AsyncIterator[None]:
    """A transaction on `conn` that runs as `identity`.

    On an idle autocommit connection (the pool's), BEGIN and the settings go in one round trip, so
    a unit of work costs what the owner's does. Inside a transaction already open (the caller's),
    the settings are swapped in, then a savepoint; after it they are put back, so the rest of the
    caller's transaction runs as whoever it ran as before (docs/security.md).
    """
    if conn.autocommit and conn.pgconn.transaction_status == TransactionStatus.IDLE:
        await conn.execute(identity.begin())
        try:
            yield
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()
    else:
        # Swapped before the block: on the caller's idle non-autocommit connection this statement
        # opens the caller's transaction, so the block below is a savepoint inside it.
        previous = await _swap_identity(conn, identity)
        try:
            async with conn.transaction():
                yield
        finally:
            if conn.pgconn.transaction_status == TransactionStatus.INTRANS:
                await conn.execute(_SET_IDENTITY, previous)


async def _swap_identity(conn: psycopg.AsyncConnection[Any], identity: Identity) -> tuple[str, str]:
    """Set `identity` in the open transaction; the role and id it had before."""
    cur = await conn.execute(_SWAP_IDENTITY, (identity.role, identity.clerk_id))
    row = await cur.fetchone()
    assert row is not None
    return row[0], row[1]


class _Operation:
    """What `AsyncDatabase.connection()` returns: the context manager that gives the connection.

    A class rather than a generator-based context manager because every operation goes through
    it: it takes a pooled connection with getconn/putconn instead of the pool's connection()
    (which also enters the connection's own context), and reads the transaction status from
    libpq directly. This took about two thirds of learnstore's overhead off a one-row read (bench/).
    """

    __slots__ = (
        "_began",
        "_conn",
        "_identity",
        "_pool",
        "_previous",
        "_route",
        "_routed",
        "_rows",
        "_savepoint",
        "_tagged",
    )

    def __init__(
        self,
        pool: AsyncConnectionPool[Any] | None,
        conn: psycopg.AsyncConnection[Any] | None,
        identity: Identity | None = None,
        route: AsyncRoute | None = None,
    ) -> None:
        self._pool = pool
        self._conn = conn
        self._identity = identity
        self._route = route
        self._routed: AsyncLearnstoreConnection | None = None  # carries the route
        self._savepoint: AbstractAsyncContextManager[Any] | None = None
        self._began = False  # this operation opened a transaction to carry the identity
        self._previous: tuple[str, str] | None = None  # to put back in the caller's transaction
        self._tagged: AsyncLearnstoreConnection | None = None  # carries the identity statement by statement
        self._rows: Any = None  # the caller's row factory, to put back

    async def __aenter__(self) -> psycopg.AsyncConnection[Any]:
        try:
            conn = self._conn
            if conn is None:
                pool = self._pool
                assert pool is not None
                conn = self._conn = await pool.getconn()
                if _ended_by_server(conn):  # _checkout()'s first step, inline (the common case)
                    self._conn = None
                    conn = self._conn = await _checkout(pool, conn)
            else:
                self._pool = None  # the caller's connection: nothing to give back
                if conn.row_factory is not tuple_row:
                    # Made with dict_row, class_row, ...: learnstore reads every row as a tuple (the
                    # generated models take the columns in order; a dict row would give its keys).
                    self._rows = conn.row_factory
                    conn.row_factory = tuple_row
            if conn.pgconn.transaction_status == TransactionStatus.INTRANS:
                savepoint = conn.transaction()
                await savepoint.__aenter__()
                self._savepoint = savepoint
            if self._identity is not None:
                await self._set_identity(conn, self._identity)
            if (
                self._route is not None
                and isinstance(conn, AsyncLearnstoreConnection)
                and conn.autocommit
                and conn.pgconn.transaction_status == TransactionStatus.IDLE
            ):
                # Each statement is its own transaction here: a read-only query may go elsewhere.
                conn.learnstore_route = self._route
                self._routed = conn
        except BaseException as exc:
            await self._give_back()
            _raise_translated(exc)
            raise
        return conn

    async def _set_identity(self, conn: psycopg.AsyncConnection[Any], identity: Identity) -> None:
        """Run the operation as `identity`.

        On an idle autocommit connection of learnstore's pool (`AsyncLearnstoreConnection`), each
        statement carries the settings with it in a pipeline: one round trip, as on the owner
        path; each statement is its own transaction, as on the owner path too (an operation of
        several statements that must be atomic takes `transaction()`). On another idle
        autocommit connection (a pool the caller built) the operation gets a transaction of its
        own, opened by BEGIN and the settings in one round trip, and committed after it: the
        settings are transaction-local, so they end with it. Inside a transaction that is not the
        identity's own (the caller's), one statement swaps the settings in and another puts them
        back after the operation, so the caller's transaction goes on as it ran before.
        """
        if conn.autocommit and conn.pgconn.transaction_status == TransactionStatus.IDLE:
            if isinstance(conn, AsyncLearnstoreConnection):
                conn.learnstore_identity = (identity.role, identity.clerk_id)
                self._tagged = conn
                return
            await conn.execute(identity.begin())
            self._began = True
        else:
            self._previous = await _swap_identity(conn, identity)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            conn = self._conn
            pool = self._pool
            if (
                exc is None
                and pool is not None
                and conn is not None
                and self._savepoint is None
                and self._previous is None
                and not self._began
                and conn.pgconn.transaction_status == TransactionStatus.IDLE
            ):
                # The common case, _give_back() inline: an autocommit operation on the pool's
                # connection is over, with nothing left open.
                if self._tagged is not None:
                    self._tagged.learnstore_identity = None  # never back in the pool as this user
                    self._tagged = None
                if self._routed is not None:
                    self._routed.learnstore_route = None
                    self._routed = None
                self._pool = None
                await pool.putconn(conn)
                return
            if (
                self._previous is not None
                and conn is not None
                and (exc is None or self._savepoint is None)  # a rolled-back savepoint undoes it
                and conn.pgconn.transaction_status == TransactionStatus.INTRANS
            ):
                previous, self._previous = self._previous, None
                await conn.execute(_SET_IDENTITY, previous)
            if self._savepoint is not None:
                await self._savepoint.__aexit__(exc_type, exc, tb)
            if self._began and self._conn is not None:
                self._began = False
                await (self._conn.rollback() if exc is not None else self._conn.commit())
            if exc is not None and self._conn is not None:
                await _forget_stale_plans(self._conn, exc)
            await self._give_back(failed=exc is not None)
        except BaseException as failed:
            await self._give_back(failed=True)
            _raise_translated(failed)
            raise
        if exc is not None:
            _raise_translated(exc)

    async def _give_back(self, *, failed: bool = True) -> None:
        """Return a pooled connection, ending what the operation left open as the pool's own
        connection() would: commit on success, roll back on failure (autocommit: nothing open)."""
        if self._tagged is not None:
            # Before anything else: a connection back in the pool must never run as this user.
            self._tagged.learnstore_identity = None
            self._tagged = None
        if self._routed is not None:
            self._routed.learnstore_route = None
            self._routed = None
        if self._rows is not None and self._conn is not None:
            self._conn.row_factory, self._rows = self._rows, None
        if self._began and self._conn is not None:
            # The identity's transaction is still open after a failure (also on a caller's
            # connection, which is not given back): the error being raised is the one to report.
            self._began = False
            with suppress(psycopg.Error):
                await self._conn.rollback()
        if self._pool is None or self._conn is None:
            return
        pool, self._pool = self._pool, None
        conn = self._conn
        try:
            status = conn.pgconn.transaction_status
            if status == TransactionStatus.INTRANS and not failed:
                await conn.commit()
            elif status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
                await conn.rollback()
        finally:
            await pool.putconn(conn)


async def _forget_stale_plans(conn: psycopg.AsyncConnection[Any], exc: BaseException) -> None:
    """After "cached plan must not change result type", drop the connection's prepared statements.

    A migration that adds a column changes what `SELECT *` returns; each connection that prepared
    such a query (psycopg prepares a query after a few runs) then fails it, every time, until the
    statement is deallocated. The operation fails once (translated to `Contention`, so
    `attempts()` runs it again); DEALLOCATE ALL, which psycopg watches for, makes it prepare anew.
    """
    if is_stale_plan(exc):
        if isinstance(conn, AsyncLearnstoreConnection):
            # The operation is over: DEALLOCATE goes out as psycopg's own statement, which it watches
            # to forget its prepared statements, and learnstore's are forgotten with them.
            conn.learnstore_identity = None
            conn.learnstore_prepared.clear()
        with suppress(psycopg.Error):  # in a failed transaction of the caller's: theirs to end
            await conn.execute("DEALLOCATE ALL")


def _raise_translated(exc: BaseException) -> None:
    """Raise the learnstore error for `exc` (chained to it), if it has one."""
    if isinstance(exc, (psycopg.Error, pydantic.ValidationError, UnicodeEncodeError)):
        ours = translate(exc)
        if ours is not None:
            raise ours from exc
