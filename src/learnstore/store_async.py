"""AsyncStore: learnstore's repositories over a connection pool, or over a connection the caller owns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from learnstore._validation import validated
from learnstore.check_async import run_check
from learnstore.database_async import (
    DEFAULT_RETRIES,
    AsyncDatabase,
    AsyncLearnstoreConnection,
    AsyncLearnstoreCursor,
)
from learnstore.derived import CheckReport
from learnstore.embedded import default_dsn
from learnstore.errors import InvalidValue, Unavailable, translate, translating
from learnstore.pooler_async import detect_pooler
from learnstore.replicas_async import (
    DEFAULT_REPLICA_WAIT,
    AsyncReplicas,
    format_lsn,
    parse_token,
    routing_class,
)
from learnstore.repositories._routing import read_only_methods
from learnstore.repositories.achievements_async import AsyncAchievementsRepository
from learnstore.repositories.audit_async import AsyncAuditRepository
from learnstore.repositories.catalog_async import AsyncCatalogRepository
from learnstore.repositories.collaboration_async import AsyncCollaborationRepository
from learnstore.repositories.content_async import AsyncContentRepository
from learnstore.repositories.deliveries_async import AsyncDeliveriesRepository
from learnstore.repositories.edits_async import AsyncEditsRepository
from learnstore.repositories.favorites_async import AsyncFavoritesRepository
from learnstore.repositories.flashcards_async import AsyncFlashcardsRepository
from learnstore.repositories.follows_async import AsyncFollowsRepository
from learnstore.repositories.forum_async import AsyncForumRepository
from learnstore.repositories.forum_pages_async import AsyncForumPagesRepository
from learnstore.repositories.imports_async import AsyncImportsRepository
from learnstore.repositories.lesson_items_async import AsyncLessonItemsRepository
from learnstore.repositories.moderation_async import AsyncModerationRepository
from learnstore.repositories.pages_async import AsyncPagesRepository
from learnstore.repositories.progress_async import AsyncProgressRepository
from learnstore.repositories.reviews_async import AsyncReviewsRepository
from learnstore.repositories.sharing_async import AsyncSharingRepository
from learnstore.repositories.users_async import AsyncUsersRepository
from learnstore.types import ClerkId

__all__ = ["AsyncStore", "connect_async"]


class AsyncStore:
    """The repositories, each operation in its own transaction unless inside `transaction()`."""

    def __init__(
        self,
        db: AsyncDatabase,
        pool: AsyncConnectionPool[Any] | None = None,
        replicas: AsyncReplicas | None = None,
    ) -> None:
        self._db = db
        self._pool = pool
        self._replicas = replicas  # owned: closed with the pool
        self.users = AsyncUsersRepository(db)
        self.catalog = AsyncCatalogRepository(db)
        self.content = AsyncContentRepository(db)
        self.progress = AsyncProgressRepository(db)
        self.imports = AsyncImportsRepository(db)
        self.deliveries = AsyncDeliveriesRepository(db)
        self.forum = AsyncForumRepository(db)
        self.flashcards = AsyncFlashcardsRepository(db)
        self.favorites = AsyncFavoritesRepository(db)
        self.achievements = AsyncAchievementsRepository(db)
        self.collaboration = AsyncCollaborationRepository(db)
        self.edits = AsyncEditsRepository(db)
        self.reviews = AsyncReviewsRepository(db)
        self.pages = AsyncPagesRepository(db)
        self.moderation = AsyncModerationRepository(db)
        self.audit = AsyncAuditRepository(db)
        self.lesson_items = AsyncLessonItemsRepository(db)
        self.sharing = AsyncSharingRepository(db)
        self.forum_pages = AsyncForumPagesRepository(db)
        self.follows = AsyncFollowsRepository(db)
        if db.replicas is not None:
            # Only the methods that only read may read on a replica (repositories._routing).
            reads = read_only_methods()
            for repository in vars(self).values():
                kind = type(repository)
                if kind.__name__.endswith("Repository"):
                    repository.__class__ = routing_class(kind, reads.get(kind.__name__, frozenset()))

    @classmethod
    def on(cls, conn: psycopg.AsyncConnection[Any]) -> AsyncStore:
        """The repositories on a connection the caller owns (and commits, and closes)."""
        return cls(AsyncDatabase(conn))

    def as_user(self, clerk_id: ClerkId) -> AsyncStore:
        """A view of this store in which every operation runs as the user `clerk_id`, under the
        non-owner role learnstore_app, so that row-level security shows and lets them change only
        their own private rows (docs/security.md). It shares this store's pool: nothing to close.
        """
        if not isinstance(clerk_id, str):  # strictly: an identity is never coerced from bytes or a number
            raise InvalidValue(f"clerk_id: must be a string, not {type(clerk_id).__name__}", field="clerk_id")
        if "\x00" in clerk_id:  # PostgreSQL text cannot hold NUL: no user has it, and no setting can
            raise InvalidValue("clerk_id: must not contain NUL characters", field="clerk_id")
        return AsyncStore(self._db.as_user(validated(ClerkId, clerk_id, "clerk_id")))

    async def token(self) -> str:
        """A causal token: a short string (the primary's WAL position, such as "0/1A2B3C4D") that,
        given to `reading_after()` in this process or any other, makes reads wait for a replica
        that has seen every write this store committed before the call (docs/replicas.md)."""
        return format_lsn(await self._db.position())

    def reading_after(self, token: str | None) -> AsyncStore:
        """A view of this store whose reads see at least what `token` saw: a read-only query runs
        on a replica that has replayed the token's position, waiting for one up to the store's
        `replica_wait`, else on the primary. None: this store. Shares this store's pools."""
        if token is None:
            return self
        return AsyncStore(self._db.reading_after(parse_token(token)))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncStore]:
        """A unit of work: every call on the yielded store commits together, or not at all.

        Nested calls become savepoints. On an `as_user` view the whole unit runs as that user.
        """
        async with self._db.transaction() as conn:
            yield AsyncStore(self._db.bound(conn))

    async def check(
        self, *, repair: bool = False, sample: float | None = None, examples: int = 5
    ) -> CheckReport:
        """Recompute every derived value (awards, points, progress, streaks, schedules, positions, ...)
        from its base rows and report the drift per value, with the first `examples` of each;
        `repair` fixes it in short batches, then checks again; `sample` reads that percentage of the
        rows only (read-only). See docs/derived-state.md."""
        return await run_check(self._db, repair=repair, sample=sample, examples=examples)

    async def close(self) -> None:
        """Close the pool this store opened (a store made with `on()` owns nothing to close)."""
        if self._pool is not None:
            await self._pool.close()
        if self._replicas is not None:
            await self._replicas.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def connect_async(
    dsn: str | None = None,
    *,
    min_size: int = 1,
    max_size: int = 10,
    timeout: float = 10.0,
    statement_timeout: float | None = None,
    retries: int = DEFAULT_RETRIES,
    prepare: bool | None = None,
    replicas: Sequence[str] = (),
    replica_wait: float = DEFAULT_REPLICA_WAIT,
) -> AsyncStore:
    """Open a pool of autocommit connections to `dsn`, and the store over it.

    With no `dsn`: $LEARNSTORE_DSN, else the embedded PostgreSQL (`learnstore[embedded]`).

    Autocommit makes each single-statement operation one round trip; operations of several
    statements open their own transaction.

    `statement_timeout` (seconds): PostgreSQL cancels any statement that runs longer, and the
    operation raises `Timeout` having written nothing. It travels in the connection's startup
    packet, which PgBouncer refuses: behind PgBouncer set it on the role instead
    (docs/production.md). `retries`: how many more times a multi-statement operation that lost a
    race (`Contention`) runs. `prepare`: whether psycopg may prepare frequent statements on the
    server; None (the default) prepares unless the DSN leads through a pooler that cannot keep
    them (PgBouncer before 1.21, or without `max_prepared_statements`).

    `replicas`: DSNs of streaming standbys of `dsn`, a pool of the same size each. A query that
    only reads, outside `transaction()`, runs on one of them; everything else on the primary. A
    replica read may be stale: `token()` and `reading_after()` bound it. `replica_wait` (seconds):
    how long a read waits for a replica (to connect, or to replay a token) before it runs on the
    primary (docs/replicas.md). A replica that is down when the store opens only costs that wait.
    """
    if dsn is None:
        dsn = default_dsn()
    # as_user in one round trip per statement: AsyncLearnstoreConnection and its cursors
    kwargs: dict[str, Any] = {"autocommit": True, "cursor_factory": AsyncLearnstoreCursor}
    if statement_timeout is not None:
        kwargs["options"] = _with_statement_timeout(dsn, statement_timeout)
    # One direct connection first: a wrong DSN fails now with PostgreSQL's own reason, where
    # the pool would retry quietly until its timeout.
    try:
        probe = await psycopg.AsyncConnection.connect(dsn, connect_timeout=max(1, int(timeout)), **kwargs)
    except psycopg.ProgrammingError as exc:  # libpq could not parse the DSN
        raise Unavailable(f"invalid DSN: {str(exc).strip().splitlines()[0]}") from exc
    except psycopg.Error as exc:
        ours = translate(exc)
        if ours is None:
            raise
        if statement_timeout is not None and "unsupported startup parameter" in str(exc):
            ours = Unavailable(
                f"{ours.message}: the pooler (PgBouncer) does not pass statement_timeout on; set it on "
                "the role instead (ALTER ROLE ... SET statement_timeout) and connect without it"
            )
        raise ours from exc
    try:
        with translating():
            if prepare is None:
                pooler = await detect_pooler(probe)
                prepare = pooler is None or pooler.prepares
    finally:
        await probe.close()
    if not prepare:
        kwargs["prepare_threshold"] = None  # never prepare: every statement is sent whole
    pool = AsyncConnectionPool(
        dsn,
        connection_class=AsyncLearnstoreConnection,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        kwargs=kwargs,
        open=False,
    )
    try:
        with translating():
            await pool.open(wait=True, timeout=timeout)
    except Unavailable:
        await pool.close()
        raise
    if isinstance(replicas, str):
        raise InvalidValue("replicas: a list of DSNs, not one string", field="replicas")
    if not replica_wait >= 0:
        raise InvalidValue("replica_wait: must be a number of seconds, 0 or more", field="replica_wait")
    standbys = None
    if replicas:
        # Opened without waiting: a replica that is down makes reads fall back, not the store fail.
        standbys = AsyncReplicas(
            [
                AsyncConnectionPool(
                    replica,
                    connection_class=AsyncLearnstoreConnection,
                    min_size=min_size,
                    max_size=max_size,
                    timeout=timeout,
                    kwargs=kwargs,
                    open=False,
                )
                for replica in replicas
            ],
            wait=replica_wait,
        )
        for replica_pool in standbys.pools:
            await replica_pool.open(wait=False)
    return AsyncStore(AsyncDatabase(pool, retries=retries, replicas=standbys), pool, standbys)


def _with_statement_timeout(dsn: str, seconds: float) -> str:
    """The DSN's libpq `options` with statement_timeout (in milliseconds) added to them."""
    if not seconds > 0:  # also refuses NaN
        raise InvalidValue(
            f"statement_timeout must be a positive number of seconds, not {seconds!r}",
            field="statement_timeout",
        )
    try:
        options = str(conninfo_to_dict(dsn).get("options") or "")
    except psycopg.ProgrammingError as exc:
        raise Unavailable(f"invalid DSN: {str(exc).strip().splitlines()[0]}") from exc
    return f"{options} -c statement_timeout={max(1, round(seconds * 1000))}".strip()
