"""Read replicas: a pool per streaming standby, the route a read-only query takes, causal tokens.

A store made with `connect(dsn, replicas=[...])` tags the primary connection of each operation run
outside a transaction with an `AsyncRoute`. The loaded queries that only read (the SQL decides:
learnstore.queries._reads) take the route: they run on a replica that has replayed the route's
WAL position, found within a bounded wait, or else on the primary. Everything else (every write,
every statement of `transaction()` and `attempts()`, every statement not from sql/queries) runs on
the primary connection the operation already holds. docs/replicas.md.
"""

from __future__ import annotations

import functools
import inspect
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import ConnStatus
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from learnstore.errors import InvalidValue

__all__ = [
    "DEFAULT_REPLICA_WAIT",
    "AsyncReplicas",
    "AsyncRoute",
    "format_lsn",
    "parse_token",
    "routing_class",
]

R = TypeVar("R")

#: How long (seconds) a read with a token waits for a replica to replay it before it reads on the
#: primary; also how long a read waits for a replica's connection.
DEFAULT_REPLICA_WAIT = 0.5
#: After a replica fails (it cannot be reached, or a connection to it broke), reads skip it for
#: this long (seconds), going to the other replicas or the primary without waiting on it again.
DOWN_FOR = 5.0

_TOKEN = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")
# The replica's replay position once it is at least %(after)s, polled every %(step)s seconds by the
# server itself, at most %(steps)s times: one round trip, whatever the wait, and no row when the
# wait ran out. pg_last_wal_replay_lsn() is volatile: read again for every step.
_WAIT_REPLAY = (
    "SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn FROM generate_series(0, %(steps)s) AS step"
    " WHERE (step = 0 OR pg_sleep(%(step)s) IS NOT NULL)"
    " AND pg_last_wal_replay_lsn() >= %(after)s::pg_lsn LIMIT 1"
)
_STEP = 0.002
_REPLAYED = "SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn"
# The primary's WAL insert position: at or past the commit record of every transaction committed
# before it is read, also under synchronous_commit = off, where the written position may lag.
_POSITION = "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn"
# A read that failed on a replica for a reason of the replica's and not of the read's runs again on
# the primary: the server went away (OperationalError), or the standby cancelled the read because
# of a conflict with recovery (SerializationFailure). A statement timeout is the read's own.
_ELSEWHERE = (psycopg.OperationalError, pg_errors.SerializationFailure)


def parse_token(token: str) -> int:
    """The WAL position a token (`store.token()`, such as "0/1A2B3C4D") stands for."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise InvalidValue(f"token: not a learnstore token (like '0/1A2B3C4D'): {token!r}", field="token")
    high, low = token.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(position: int) -> str:
    """A WAL position as PostgreSQL writes it (and as a token): "16/B374D848"."""
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


#: Whether the public repository method running now only reads (repositories._routing): its
#: queries may go to a replica. Set by the outermost method called: a method that writes keeps
#: every read it makes, through other methods too, on the primary. None: no method is running.
READING: ContextVar[bool | None] = ContextVar("learnstore_reading", default=None)


async def _template() -> None:
    """The kind of function this module wraps (a coroutine function here, a plain one in its twin)."""


def routing_class(cls: type[R], reads: frozenset[str]) -> type[R]:
    """A subclass of the repository class `cls`, same layout, whose public methods say whether they
    only read (`reads`, by name) while they run (`READING`). Cached per class."""
    key = (cls, reads)
    found = _ROUTING.get(key)
    if found is None:
        wrapped: dict[str, Any] = {"__slots__": (), "__doc__": cls.__doc__, "__module__": cls.__module__}
        for name, method in vars(cls).items():
            if name.startswith("_") or not inspect.isfunction(method):
                continue
            if inspect.isasyncgenfunction(method) or inspect.isgeneratorfunction(method):
                continue  # a generator would run after READING is reset: it reads on the primary
            if inspect.iscoroutinefunction(method) == inspect.iscoroutinefunction(_template):
                wrapped[name] = _saying(method, name in reads)
        found = _ROUTING[key] = type(cls.__name__, (cls,), wrapped)
    return found


_ROUTING: dict[tuple[type, frozenset[str]], type] = {}


def _saying(method: Any, reads: bool) -> Any:
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> Any:
        if READING.get() is not None:  # called by another method: that one decides
            return await method(*args, **kwargs)
        token = READING.set(reads)
        try:
            return await method(*args, **kwargs)
        finally:
            READING.reset(token)

    return call


def _elsewhere(exc: BaseException) -> bool:
    return isinstance(exc, _ELSEWHERE) and not isinstance(exc, pg_errors.QueryCanceled)


class AsyncReplicas:
    """The pools of a store's replicas, and what the store knows of each: the WAL position it has
    replayed at least (it only grows), and until when it is left alone after a failure."""

    __slots__ = ("_down_until", "_next", "_pools", "_replayed", "wait")

    def __init__(
        self, pools: Sequence[AsyncConnectionPool[Any]], *, wait: float = DEFAULT_REPLICA_WAIT
    ) -> None:
        self._pools = list(pools)
        self._replayed = [0] * len(self._pools)
        self._down_until = [0.0] * len(self._pools)
        self._next = 0
        self.wait = wait

    @property
    def pools(self) -> list[AsyncConnectionPool[Any]]:
        return list(self._pools)

    async def take(self, after: int) -> tuple[int, psycopg.AsyncConnection[Any]] | None:
        """(index, connection) of a replica that has replayed `after`, or None: read on the primary.

        Replicas are tried in turn from the one after the last used; the whole search takes at most
        `wait` seconds (a connection to a replica that does not answer, a replica that has not
        replayed `after` yet), then the primary is the answer.
        """
        count = len(self._pools)
        first, self._next = self._next, (self._next + 1) % count
        deadline = time.monotonic() + self.wait
        for k in range(count):
            index = (first + k) % count
            if self._down_until[index] > time.monotonic():
                continue
            pool = self._pools[index]
            try:
                conn = await pool.getconn(timeout=max(0.01, deadline - time.monotonic()))
            except (PoolTimeout, psycopg.Error):
                self._down(index)
                continue
            if conn.pgconn.status != ConnStatus.OK:
                await pool.putconn(conn)
                self._down(index)
                continue
            if after <= self._replayed[index]:
                return index, conn
            try:
                reached = await self._replayed_to(conn, after, deadline - time.monotonic())
            except psycopg.Error:
                await pool.putconn(conn)
                self._down(index)
                continue
            if reached is not None:
                self._replayed[index] = max(self._replayed[index], reached)
                return index, conn
            await pool.putconn(conn)
        return None

    async def _replayed_to(
        self, conn: psycopg.AsyncConnection[Any], after: int, seconds: float
    ) -> int | None:
        steps = max(0, int(seconds / _STEP))
        params = {"steps": steps, "step": _STEP, "after": format_lsn(after)}
        row = await (await conn.execute(_WAIT_REPLAY, params)).fetchone()
        return None if row is None else int(row[0])

    def _down(self, index: int) -> None:
        self._down_until[index] = time.monotonic() + DOWN_FOR

    async def give_back(
        self, index: int, conn: psycopg.AsyncConnection[Any], exc: BaseException | None
    ) -> None:
        """Return a replica's connection; `exc`, what the read on it raised, may mark it down."""
        if exc is not None and isinstance(exc, psycopg.OperationalError) and _elsewhere(exc):
            self._down(index)
        await self._pools[index].putconn(conn)

    async def close(self) -> None:
        for pool in self._pools:
            await pool.close()

    async def lag(self) -> list[int | None]:
        """Each replica's replay position (None when it cannot be reached), asked now."""
        positions: list[int | None] = []
        for pool in self._pools:
            try:
                async with pool.connection(timeout=self.wait) as conn:
                    row = await (await conn.execute(_REPLAYED)).fetchone()
                positions.append(None if row is None or row[0] is None else int(row[0]))
            except (PoolTimeout, psycopg.Error):
                positions.append(None)
        return positions


async def primary_position(conn: psycopg.AsyncConnection[Any]) -> int:
    """The primary's WAL position now: what a token made after the store's writes stands for."""
    row = await (await conn.execute(_POSITION)).fetchone()
    assert row is not None
    return int(row[0])


class AsyncRoute:
    """What a read-only query on a tagged primary connection runs through: a replica that has
    replayed `after` (0: any replica), else the primary connection itself."""

    __slots__ = ("after", "replicas")

    def __init__(self, replicas: AsyncReplicas, after: int = 0) -> None:
        self.replicas = replicas
        self.after = after

    async def read(self, method: Any, primary: psycopg.AsyncConnection[Any], kwargs: Any) -> Any:
        """`method(conn, **kwargs)` (a loaded query that returns its row or count) on a replica."""
        if not READING.get():
            return await method(primary, **kwargs)
        taken = await self.replicas.take(self.after)
        if taken is not None:
            index, conn = taken
            failed: BaseException | None = None
            _follow(conn, primary)
            try:
                return await method(conn, **kwargs)
            except _ELSEWHERE as exc:
                if not _elsewhere(exc):
                    raise
                failed = exc
            finally:
                _follow(conn, None)
                await self.replicas.give_back(index, conn, failed)
        return await method(primary, **kwargs)

    @asynccontextmanager
    async def cursor(
        self, method: Any, primary: psycopg.AsyncConnection[Any], kwargs: Any
    ) -> AsyncIterator[Any]:
        """`method(conn, **kwargs)` (a loaded query's `_cursor` form) on a replica: the cursor,
        executed, for the block to fetch from, the replica's connection held until it ends."""
        taken = await self.replicas.take(self.after) if READING.get() else None
        if taken is not None:
            index, conn = taken
            failed: BaseException | None = None
            _follow(conn, primary)
            try:
                manager = method(conn, **kwargs)
                try:
                    cursor = await manager.__aenter__()  # runs the statement
                except _ELSEWHERE as exc:
                    if not _elsewhere(exc):
                        raise
                    failed = exc
                else:
                    try:
                        yield cursor
                    except BaseException as exc:
                        if not await manager.__aexit__(type(exc), exc, exc.__traceback__):
                            raise
                    else:
                        await manager.__aexit__(None, None, None)
                    return
            finally:
                _follow(conn, None)
                await self.replicas.give_back(index, conn, failed)
        async with method(primary, **kwargs) as cursor:
            yield cursor


def _follow(conn: psycopg.AsyncConnection[Any], primary: psycopg.AsyncConnection[Any] | None) -> None:
    """Run the replica's statements as the primary connection's operation runs (its `as_user`
    identity, which row-level security reads on the replica too); None: as the owner again."""
    identity = getattr(primary, "learnstore_identity", None) if primary is not None else None
    if hasattr(type(conn), "learnstore_identity"):
        conn.learnstore_identity = identity  # type: ignore[attr-defined]
