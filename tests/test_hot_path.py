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
import pytest
from psycopg_pool import AsyncConnectionPool, ConnectionPool

import learnstore
from learnstore.database import LearnstoreConnection
from learnstore.queries._runtime import sync_queries

#: Python calls an operation may make beyond raw psycopg's (measured: a read -4 sync, -2 async; a
#: list 0 sync, 2 async: learnstore's layers cost about what reusing the connection's cursor saves,
#: where raw psycopg makes one per statement); a little headroom for psycopg_pool's bookkeeping.
READ_EXTRA = 2
LIST_EXTRA = 6


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


def _cursors_made(operation: Callable[[], object], reps: int = 20) -> int:
    """How many psycopg cursors `reps` runs of `operation` made, after a warm-up."""
    for _ in range(10):
        operation()
    init = psycopg.Cursor.__init__.__code__
    made = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal made
        if event == "call" and frame.f_code is init:
            made += 1

    sys.setprofile(count)
    try:
        for _ in range(reps):
            operation()
    finally:
        sys.setprofile(None)
    return made


def test_pooled_operations_run_on_the_connections_cursor_not_a_new_one_each(fresh_db: str) -> None:
    """Making a cursor (its adapters map and transformer) and dropping it cost a pooled read as much
    CPU as everything else learnstore adds; under threads the client's CPU is the throughput."""
    clerk_id = f"hot_{uuid4().hex[:12]}"
    with learnstore.connect(fresh_db, min_size=2, max_size=2) as store:
        store.users.apply_clerk_event(created(clerk_id))
        course = uuid4()  # no such course: the list is empty, and runs the same path
        assert _cursors_made(lambda: store.users.get(clerk_id)) == 0
        assert _cursors_made(lambda: store.progress.list_lesson_progress(clerk_id, course)) == 0
        assert _cursors_made(lambda: store.users.get_or_none("nobody")) == 0


async def test_the_async_pool_reuses_its_cursors_too(fresh_db: str) -> None:
    clerk_id = f"hot_{uuid4().hex[:12]}"
    init = psycopg.AsyncCursor.__init__.__code__
    async with await learnstore.connect_async(fresh_db, min_size=1, max_size=1) as store:
        await store.users.apply_clerk_event(created(clerk_id))
        for _ in range(10):
            await store.users.get(clerk_id)
            await store.progress.list_lesson_progress(clerk_id, uuid4())
        made = 0

        def count(frame: FrameType, event: str, arg: object) -> None:
            nonlocal made
            if event == "call" and frame.f_code is init:
                made += 1

        sys.setprofile(count)
        try:
            for _ in range(20):
                await store.users.get(clerk_id)
                await store.progress.list_lesson_progress(clerk_id, uuid4())
        finally:
            sys.setprofile(None)
    assert made == 0


def test_a_statement_run_while_a_result_is_being_read_gets_a_cursor_of_its_own(fresh_db: str) -> None:
    """The spare cursor is taken, not shared: a query inside another's `_cursor` block (or on the
    same connection from another thread) runs on a new cursor, and neither result is lost."""
    clerk_id = f"hot_{uuid4().hex[:12]}"
    queries = sync_queries()
    with learnstore.connect(fresh_db, min_size=1, max_size=1) as store:
        store.users.apply_clerk_event(created(clerk_id))
        with store.transaction() as tx:
            tx.users.apply_clerk_event(created(f"{clerk_id}_2"))
        with store._db.connection() as conn:
            assert isinstance(conn, LearnstoreConnection)
            nowhere = uuid4()
            with queries.list_lesson_progress_cursor(
                conn, user_clerk_id=clerk_id, course_id=nowhere
            ) as outer:
                inner = queries.get_user_by_clerk_id(conn, clerk_id=clerk_id)
                assert outer.fetchall() == []
            assert inner is not None and inner[1] == clerk_id
            assert len(conn.learnstore_cursors) == 1  # one spare kept, not one per statement
            with pytest.raises(psycopg.errors.UndefinedColumn):
                conn.learnstore_cursors[0].execute("SELECT no_such_column")
            # a cursor whose statement failed is used again: execute() starts it afresh
            assert queries.get_user_by_clerk_id(conn, clerk_id=clerk_id) == inner
        conn.close()
        assert conn.learnstore_cursors == []  # closing lets them go: no cycle left for the collector
