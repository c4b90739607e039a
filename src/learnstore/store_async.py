"""AsyncStore: learnstore's repositories over a connection pool, or over a connection the caller owns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from learnstore.embedded import default_dsn
from learnstore.errors import Unavailable, translating
from learnstore.repositories.users_async import AsyncUsersRepository

__all__ = ["AsyncDatabase", "AsyncStore", "connect_async"]


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

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for one operation; errors leave it as learnstore errors.

        Inside a transaction the operation gets a savepoint, so that when it fails the
        transaction is left as it was and usable; otherwise it runs in autocommit, one round trip.
        """
        async with self._acquire() as conn:
            if conn.info.transaction_status == TransactionStatus.INTRANS:
                async with conn.transaction():
                    yield conn
            else:
                yield conn

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


class AsyncStore:
    """The repositories, each operation in its own transaction unless inside `transaction()`."""

    def __init__(self, db: AsyncDatabase, pool: AsyncConnectionPool[Any] | None = None) -> None:
        self._db = db
        self._pool = pool
        self.users = AsyncUsersRepository(db)

    @classmethod
    def on(cls, conn: psycopg.AsyncConnection[Any]) -> AsyncStore:
        """The repositories on a connection the caller owns (and commits, and closes)."""
        return cls(AsyncDatabase(conn))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncStore]:
        """A unit of work: every call on the yielded store commits together, or not at all.

        Nested calls become savepoints.
        """
        async with self._db.transaction() as conn:
            yield AsyncStore(AsyncDatabase(conn))

    async def close(self) -> None:
        """Close the pool this store opened (a store made with `on()` owns nothing to close)."""
        if self._pool is not None:
            await self._pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def connect_async(
    dsn: str | None = None, *, min_size: int = 1, max_size: int = 10, timeout: float = 10.0
) -> AsyncStore:
    """Open a pool of autocommit connections to `dsn`, and the store over it.

    With no `dsn`: $LEARNSTORE_DSN, else the embedded PostgreSQL (`learnstore[embedded]`).

    Autocommit makes each single-statement operation one round trip; operations of several
    statements open their own transaction.
    """
    if dsn is None:
        dsn = default_dsn()
    # One direct connection first: a wrong DSN fails now with PostgreSQL's own reason, where
    # the pool would retry quietly until its timeout.
    try:
        with translating():
            probe = await psycopg.AsyncConnection.connect(dsn, connect_timeout=max(1, int(timeout)))
    except psycopg.ProgrammingError as exc:  # libpq could not parse the DSN
        raise Unavailable(f"invalid DSN: {str(exc).strip().splitlines()[0]}") from exc
    await probe.close()
    pool = AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        kwargs={"autocommit": True},
        open=False,
    )
    try:
        with translating():
            await pool.open(wait=True, timeout=timeout)
    except Unavailable:
        await pool.close()
        raise
    return AsyncStore(AsyncDatabase(pool), pool)
