"""AsyncStore: learnstore's repositories over a connection pool, or over a connection the caller owns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg_pool import AsyncConnectionPool

from learnstore.database_async import AsyncDatabase
from learnstore.embedded import default_dsn
from learnstore.errors import Unavailable, translating
from learnstore.repositories.achievements_async import AsyncAchievementsRepository
from learnstore.repositories.catalog_async import AsyncCatalogRepository
from learnstore.repositories.content_async import AsyncContentRepository
from learnstore.repositories.imports_async import AsyncImportsRepository
from learnstore.repositories.progress_async import AsyncProgressRepository
from learnstore.repositories.users_async import AsyncUsersRepository

__all__ = ["AsyncStore", "connect_async"]


class AsyncStore:
    """The repositories, each operation in its own transaction unless inside `transaction()`."""

    def __init__(self, db: AsyncDatabase, pool: AsyncConnectionPool[Any] | None = None) -> None:
        self._db = db
        self._pool = pool
        self.users = AsyncUsersRepository(db)
        self.catalog = AsyncCatalogRepository(db)
        self.content = AsyncContentRepository(db)
        self.progress = AsyncProgressRepository(db)
        self.imports = AsyncImportsRepository(db)
        self.achievements = AsyncAchievementsRepository(db)

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
