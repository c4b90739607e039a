"""The hot operations, each written for every implementation the runner compares.

Implementations: `learnstore` (the public API on one connection, `Store.on(conn)`), `pool`
(the public API on learnstore's pool, `learnstore.connect(dsn)`), `raw` (psycopg, the same SQL,
prepared, tuple rows), `raw_alt` (another raw way, where there is one: the course tree as plain
relations, discovery without a prepared statement), `orm` (SQLAlchemy 2 ORM, a Session per call).
Each is a callable of the round number: the write alternates a lesson between completed and
in progress, so that every call changes the course percentage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from bench import community_ops
from bench.dataset import FLAGSHIP_TITLE
from bench.peers import orm
from bench.peers.raw import RawAsync, RawSync, search_params
from learnstore import AsyncStore, Store

Kind = Literal["read", "list", "tree", "write"]


@dataclass(frozen=True)
class Op:
    name: str
    title: str
    kind: Kind
    rows: str


OPS = (
    Op("user_by_clerk_id", "user by clerk id", "read", "1"),
    Op("learner_dashboard", "learner dashboard", "list", "10"),
    Op("course_tree", "course tree (10 units, 50 lessons)", "tree", "1 document"),
    Op("record_lesson_completed", "record lesson completed (percentage kept)", "write", "1"),
    Op("next_lesson", "next lesson to continue", "read", "1"),
    Op("notifications_page", "notifications page", "list", "20"),
    Op("discovery_search", "discovery search", "list", "20"),
    Op("list_50", "a 50-row list (lesson progress of a course)", "list", "50"),
    # bench/community_ops.py
    Op("open_thread", "open a thread (50 replies, 3 levels)", "list", "51"),
    Op("like_post", "like a post (and unlike, alternately)", "write", "1"),
)

#: the learner each implementation writes with (its own enrolment, in the same state)
WRITERS = {"learnstore": "bench_learnstore", "pool": "bench_pool", "raw": "bench_raw", "orm": "bench_orm"}


@dataclass(frozen=True)
class Fixture:
    """What the operations read and write, found in the loaded dataset."""

    learner: str
    course_id: UUID
    lessons: list[UUID]
    search: str

    @classmethod
    def find(cls, conn: psycopg.Connection[Any]) -> Fixture:
        row = conn.execute("SELECT id FROM courses WHERE title = %s", (FLAGSHIP_TITLE,)).fetchone()
        if row is None:
            raise SystemExit("the benchmark dataset is not loaded: run python -m bench.dataset")
        lessons = conn.execute(
            "SELECT l.id FROM units u JOIN lessons l ON l.unit_id = u.id WHERE u.course_id = %s"
            " ORDER BY u.position, l.position",
            (row[0],),
        ).fetchall()
        return cls("bench_learnstore", row[0], [lesson for (lesson,) in lessons], "python")

    def write(self, round_: int) -> tuple[UUID, Literal["completed", "in_progress"]]:
        """The lesson and status of a round of the write: lessons 21-30 of the flagship, completed
        then back in progress, so that every call moves the course percentage."""
        lesson = self.lessons[20 + round_ % 10]
        return lesson, "completed" if (round_ // 10) % 2 == 0 else "in_progress"


SyncImpl = Callable[[int], object]
AsyncImpl = Callable[[int], Awaitable[object]]


def sync_implementations(
    fx: Fixture, store: Store, pool: Store, raw: RawSync, sessions: sessionmaker[Session]
) -> dict[str, dict[str, SyncImpl]]:
    def session_call(fn: Callable[..., object], *args: Any) -> object:
        with sessions() as session:
            return fn(session, *args)

    def record(name: str, on: Store) -> SyncImpl:
        def run(r: int) -> object:
            lesson, status = fx.write(r)
            return on.progress.set_lesson_status(WRITERS[name], lesson, status)

        return run

    def raw_record(r: int) -> object:
        lesson, status = fx.write(r)
        return raw.one(
            "set_lesson_status", {"user_clerk_id": WRITERS["raw"], "lesson_id": lesson, "status": status}
        )

    def orm_record(r: int) -> object:
        lesson, status = fx.write(r)
        return session_call(orm.record_lesson_status, WRITERS["orm"], lesson, status)

    learner, course = fx.learner, fx.course_id
    community = community_ops.CommunityFixture.ensure(raw.conn.info.dsn, learner, list(WRITERS.values()))
    return {
        **community_ops.sync_implementations(community, store, pool, raw, sessions, WRITERS),
        "user_by_clerk_id": {
            "learnstore": lambda r: store.users.get(learner),
            "pool": lambda r: pool.users.get(learner),
            "raw": lambda r: raw.one("get_user_by_clerk_id", {"clerk_id": learner}),
            "orm": lambda r: session_call(orm.user_by_clerk_id, learner),
        },
        "learner_dashboard": {
            "learnstore": lambda r: store.progress.list_courses(learner),
            "pool": lambda r: pool.progress.list_courses(learner),
            "raw": lambda r: raw.all("list_learner_courses", {"user_clerk_id": learner}),
            "orm": lambda r: session_call(orm.learner_dashboard, learner),
        },
        "course_tree": {
            "learnstore": lambda r: store.content.get_course_tree(course),
            "pool": lambda r: pool.content.get_course_tree(course),
            "raw": lambda r: raw.one("get_course_tree", {"course_id": course, "include_unpublished": False}),
            "raw_alt": lambda r: raw.tree_relational(course),
            "orm": lambda r: session_call(orm.course_tree, course),
        },
        "record_lesson_completed": {
            "learnstore": record("learnstore", store),
            "pool": record("pool", pool),
            "raw": raw_record,
            "orm": orm_record,
        },
        "next_lesson": {
            "learnstore": lambda r: store.progress.get_next_lesson(learner, course),
            "pool": lambda r: pool.progress.get_next_lesson(learner, course),
            "raw": lambda r: raw.one("get_next_lesson", {"user_clerk_id": learner, "course_id": course}),
            "orm": lambda r: session_call(orm.next_lesson, learner, course),
        },
        "notifications_page": {
            "learnstore": lambda r: store.users.list_notifications(learner, limit=20),
            "pool": lambda r: pool.users.list_notifications(learner, limit=20),
            "raw": lambda r: raw.all("list_notifications", _notifications(learner, 20)),
            "orm": lambda r: session_call(orm.notifications_page, learner, 20),
        },
        "discovery_search": {
            "learnstore": lambda r: store.catalog.discover(text=fx.search, limit=20),
            "pool": lambda r: pool.catalog.discover(text=fx.search, limit=20),
            "raw": lambda r: raw.all("search_published_courses", search_params(fx.search, 20)),
            "raw_alt": lambda r: raw.all(
                "search_published_courses", search_params(fx.search, 20), prepare=False
            ),
            "orm": lambda r: session_call(orm.discovery_search, fx.search, 20),
        },
        "list_50": {
            "learnstore": lambda r: store.progress.list_lesson_progress(learner, course),
            "pool": lambda r: pool.progress.list_lesson_progress(learner, course),
            "raw": lambda r: raw.all("list_lesson_progress", {"user_clerk_id": learner, "course_id": course}),
            "orm": lambda r: session_call(orm.lesson_progress, learner, course),
        },
    }


def async_implementations(
    fx: Fixture,
    store: AsyncStore,
    pool: AsyncStore,
    raw: RawAsync,
    sessions: async_sessionmaker[AsyncSession],
) -> dict[str, dict[str, AsyncImpl]]:
    async def session_call(fn: Callable[..., object], *args: Any) -> object:
        # The ORM code is the sync code above, run by the AsyncSession (SQLAlchemy's run_sync):
        # each statement still goes through the async driver.
        async with sessions() as session:
            return await session.run_sync(fn, *args)

    def record(name: str, on: AsyncStore) -> AsyncImpl:
        async def run(r: int) -> object:
            lesson, status = fx.write(r)
            return await on.progress.set_lesson_status(WRITERS[name], lesson, status)

        return run

    async def raw_record(r: int) -> object:
        lesson, status = fx.write(r)
        params = {"user_clerk_id": WRITERS["raw"], "lesson_id": lesson, "status": status}
        return await raw.one("set_lesson_status", params)

    async def orm_record(r: int) -> object:
        lesson, status = fx.write(r)
        return await session_call(orm.record_lesson_status, WRITERS["orm"], lesson, status)

    learner, course = fx.learner, fx.course_id
    community = community_ops.CommunityFixture.ensure(raw.conn.info.dsn, learner, list(WRITERS.values()))
    return {
        **community_ops.async_implementations(community, store, pool, raw, sessions, WRITERS),
        "user_by_clerk_id": {
            "learnstore": lambda r: store.users.get(learner),
            "pool": lambda r: pool.users.get(learner),
            "raw": lambda r: raw.one("get_user_by_clerk_id", {"clerk_id": learner}),
            "orm": lambda r: session_call(orm.user_by_clerk_id, learner),
        },
        "learner_dashboard": {
            "learnstore": lambda r: store.progress.list_courses(learner),
            "pool": lambda r: pool.progress.list_courses(learner),
            "raw": lambda r: raw.all("list_learner_courses", {"user_clerk_id": learner}),
            "orm": lambda r: session_call(orm.learner_dashboard, learner),
        },
        "course_tree": {
            "learnstore": lambda r: store.content.get_course_tree(course),
            "pool": lambda r: pool.content.get_course_tree(course),
            "raw": lambda r: raw.one("get_course_tree", {"course_id": course, "include_unpublished": False}),
            "raw_alt": lambda r: raw.tree_relational(course),
            "orm": lambda r: session_call(orm.course_tree, course),
        },
        "record_lesson_completed": {
            "learnstore": record("learnstore", store),
            "pool": record("pool", pool),
            "raw": raw_record,
            "orm": orm_record,
        },
        "next_lesson": {
            "learnstore": lambda r: store.progress.get_next_lesson(learner, course),
            "pool": lambda r: pool.progress.get_next_lesson(learner, course),
            "raw": lambda r: raw.one("get_next_lesson", {"user_clerk_id": learner, "course_id": course}),
            "orm": lambda r: session_call(orm.next_lesson, learner, course),
        },
        "notifications_page": {
            "learnstore": lambda r: store.users.list_notifications(learner, limit=20),
            "pool": lambda r: pool.users.list_notifications(learner, limit=20),
            "raw": lambda r: raw.all("list_notifications", _notifications(learner, 20)),
            "orm": lambda r: session_call(orm.notifications_page, learner, 20),
        },
        "discovery_search": {
            "learnstore": lambda r: store.catalog.discover(text=fx.search, limit=20),
            "pool": lambda r: pool.catalog.discover(text=fx.search, limit=20),
            "raw": lambda r: raw.all("search_published_courses", search_params(fx.search, 20)),
            "raw_alt": lambda r: raw.all(
                "search_published_courses", search_params(fx.search, 20), prepare=False
            ),
            "orm": lambda r: session_call(orm.discovery_search, fx.search, 20),
        },
        "list_50": {
            "learnstore": lambda r: store.progress.list_lesson_progress(learner, course),
            "pool": lambda r: pool.progress.list_lesson_progress(learner, course),
            "raw": lambda r: raw.all("list_lesson_progress", {"user_clerk_id": learner, "course_id": course}),
            "orm": lambda r: session_call(orm.lesson_progress, learner, course),
        },
    }


def _notifications(learner: str, limit: int) -> dict[str, Any]:
    return {"user_clerk_id": learner, "before_created_at": None, "before_id": None, "page_size": limit}
