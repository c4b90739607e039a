"""The pooled hot path stays lean: how many Python calls an operation makes beyond raw psycopg on
psycopg_pool doing the same statement, counted with sys.setprofile (a count, not a timing: stable on
a loaded machine). Under concurrency the client is CPU-bound and every call is throughput lost
(docs/benchmarks.md, "Throughput"); these bounds catch a layer added to every operation."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any
from uuid import uuid4

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

import learnstore
from learnstore.queries._runtime import sync_queries

#: Python calls an operation may make beyond raw psycopg's (measured: a read 12, a list 15, sync
#: and async alike); a little headroom for psycopg_pool's own bookkeeping varying.
READ_EXTRA = 16
LIST_EXTRA = 20


def created(clerk_id: str) -> dict[str, Any]:
    return {"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}}


class _Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            self.calls += 1


def calls(operation: Callable[[], object], reps: int = 5) -> int:
    """The fewest Python calls `operation` made in `reps` runs, after a warm-up (prepared statements)."""
    for _ in range(10):
        operation()
    counts = []
    for _ in range(reps):
        counter = _Counter()
        sys.setprofile(counter)
        try:
            operation()
        finally:
            sys.setprofile(None)
        counts.append(counter.calls)
    return min(counts)


async def acalls(operation: Callable[[], Awaitable[object]], reps: int = 5) -> int:
    for _ in range(10):
        await operation()
    counts = []
    for _ in range(reps):
        counter = _Counter()
        sys.setprofile(counter)
        try:
            await operation()
        finally:
            sys.setprofile(None)
        counts.append(counter.calls)
    return min(counts)


def test_a_pooled_read_and_list_make_few_python_calls_beyond_raw_psycopg(fresh_db: str) -> None:
    clerk_id = f"hot_{uuid4().hex[:12]}"
    course = uuid4()
    read_sql = sync_queries().get_user_by_clerk_id.sql
    list_sql = sync_queries().list_lesson_progress.sql
    with (
        learnstore.connect(fresh_db, min_size=1, max_size=1) as store,
        ConnectionPool(fresh_db, kwargs={"autocommit": True}, min_size=1, max_size=1) as raw,
    ):
        store.users.apply_clerk_event(created(clerk_id))

        def raw_read() -> object:
            conn = raw.getconn()
            try:
                return conn.execute(read_sql, {"clerk_id": clerk_id}, prepare=True).fetchone()
            finally:
                raw.putconn(conn)

        def raw_list() -> object:
            conn = raw.getconn()
            try:
                params = {"user_clerk_id": clerk_id, "course_id": course}
                return conn.execute(list_sql, params, prepare=True).fetchall()
            finally:
                raw.putconn(conn)

        read = calls(lambda: store.users.get(clerk_id)) - calls(raw_read)
        listed = calls(lambda: store.progress.list_lesson_progress(clerk_id, course)) - calls(raw_list)
    assert read <= READ_EXTRA, f"a pooled one-row read makes {read} Python calls beyond raw psycopg's"
    assert listed <= LIST_EXTRA, f"a pooled list makes {listed} Python calls beyond raw psycopg's"


async def test_the_async_pool_too(fresh_db: str) -> None:
    clerk_id = f"hot_{uuid4().hex[:12]}"
    course = uuid4()
    read_sql = sync_queries().get_user_by_clerk_id.sql
    list_sql = sync_queries().list_lesson_progress.sql
    async with (
        await learnstore.connect_async(fresh_db, min_size=1, max_size=1) as store,
        AsyncConnectionPool(fresh_db, kwargs={"autocommit": True}, min_size=1, max_size=1) as raw,
    ):
        await store.users.apply_clerk_event(created(clerk_id))

        async def raw_read() -> object:
            conn: psycopg.AsyncConnection[Any] = await raw.getconn()
            try:
                return await (await conn.execute(read_sql, {"clerk_id": clerk_id}, prepare=True)).fetchone()
            finally:
                await raw.putconn(conn)

        async def raw_list() -> object:
            conn: psycopg.AsyncConnection[Any] = await raw.getconn()
            try:
                params = {"user_clerk_id": clerk_id, "course_id": course}
                return await (await conn.execute(list_sql, params, prepare=True)).fetchall()
            finally:
                await raw.putconn(conn)

        read = await acalls(lambda: store.users.get(clerk_id)) - await acalls(raw_read)
        listed = await acalls(lambda: store.progress.list_lesson_progress(clerk_id, course)) - await acalls(
            raw_list
        )
    assert read <= READ_EXTRA, f"a pooled one-row read makes {read} Python calls beyond raw psycopg's"
    assert listed <= LIST_EXTRA, f"a pooled list makes {listed} Python calls beyond raw psycopg's"
