"""The connection and transaction core: where every operation gets its connection, in autocommit or
inside the caller's transaction, with errors leaving it as learnstore errors.

It sits at the bottom of the package: the generated queries, the repositories and the store build on
it, and it imports none of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any

import psycopg
import pydantic
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from learnstore.errors import translate, translating

__all__ = ["AsyncDatabase"]


class AsyncDatabase:
    """Where repositories get a connection: from a pool, or always the one connection given."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, source: AsyncConnectionPool[Any] | psycopg.AsyncConnection[Any]) -> None:
        self._pool = source if isinstance(source, AsyncConnectionPool) else None
        self._conn = source if isinstance(source, psycopg.AsyncConnection) else None

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        with translating():
            if self._conn is not None:
                yield self._conn
            else:
                assert self._pool is not None
                async with self._pool.connection() as conn:
                    yield conn

    def connection(self) -> _Operation:
        """A connection for one operation; errors leave it as learnstore errors.

        Inside a transaction the operation gets a savepoint, so that when it fails the
        transaction is left as it was and usable; otherwise it runs in autocommit, one round trip.
        """
        return _Operation(self._pool, self._conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection inside a transaction (a savepoint when one is already open)."""
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


class _Operation:
    """What `AsyncDatabase.connection()` returns: the context manager that gives the connection.

    A class rather than a generator-based context manager because every operation goes through
    it: it takes a pooled connection with getconn/putconn instead of the pool's connection()
    (which also enters the connection's own context), and reads the transaction status from
    libpq directly. This took about two thirds of learnstore's overhead off a one-row read (bench/).
    """

    __slots__ = ("_conn", "_pool", "_savepoint")

    def __init__(
        self, pool: AsyncConnectionPool[Any] | None, conn: psycopg.AsyncConnection[Any] | None
    ) -> None:
        self._pool = pool
        self._conn = conn
        self._savepoint: AbstractAsyncContextManager[Any] | None = None

    async def __aenter__(self) -> psycopg.AsyncConnection[Any]:
        try:
            if self._conn is None:
                assert self._pool is not None
                self._conn = await self._pool.getconn()
            else:
                self._pool = None  # the caller's connection: nothing to give back
            conn = self._conn
            if conn.pgconn.transaction_status == TransactionStatus.INTRANS:
                savepoint = conn.transaction()
                await savepoint.__aenter__()
                self._savepoint = savepoint
        except BaseException as exc:
            await self._give_back()
            _raise_translated(exc)
            raise
        return conn

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._savepoint is not None:
                await self._savepoint.__aexit__(exc_type, exc, tb)
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


def _raise_translated(exc: BaseException) -> None:
    """Raise the learnstore error for `exc` (chained to it), if it has one."""
    if isinstance(exc, (psycopg.Error, pydantic.ValidationError)):
        ours = translate(exc)
        if ours is not None:
            raise ours from exc
