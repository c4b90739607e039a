"""The hot operations of the core domains (users, content, progress, catalog), registered with
bench.registry; other domains add theirs in `bench/<domain>_ops.py` (see docs/benchmarks.md).

Implementations: `learnstore` (the public API on one connection, `Store.on(conn)`), `pool` (the
public API on learnstore's pool, `learnstore.connect(dsn)`), `raw` (psycopg, the same SQL, prepared,
tuple rows, on learnstore's connection), `raw_pool` (the same on a plain psycopg_pool), `raw_alt` /
`raw_pool_alt` (another raw way, where there is one: the course tree as plain relations, discovery
without a prepared statement), `orm` (SQLAlchemy 2 ORM, a Session per call). The write alternates a
lesson between completed and in progress, so that every call changes the course percentage.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import psycopg

from bench.dataset import FLAGSHIP_TITLE
from bench.peers import orm
from bench.peers.raw import search_params
from bench.registry import Impls, Peers, operation

#: the learner each implementation writes with (its own enrolment, in the same state)
WRITERS = {
    "learnstore": "bench_learnstore",
    "pool": "bench_pool",
    "raw": "bench_raw",
    "raw_pool": "bench_raw_pool",
    "orm": "bench_orm",
}


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


def ensure_writers(conn: psycopg.Connection[Any]) -> None:
    """Give every writer of WRITERS a learner in the state of bench_raw's (a dataset loaded before
    the raw-pool peer existed has no bench_raw_pool): the user, the enrolments, the statuses."""
    for clerk_id in WRITERS.values():
        if conn.execute("SELECT 1 FROM users WHERE clerk_id = %s", (clerk_id,)).fetchone():
            continue
        with conn.transaction():
            conn.execute(
                "INSERT INTO users (clerk_id, email, first_name, last_name, timezone)"
                " SELECT %(new)s, %(new)s || '@example.com', first_name, last_name, timezone"
                " FROM users WHERE clerk_id = 'bench_raw'",
                {"new": clerk_id},
            )
            conn.execute(
                "INSERT INTO user_courses (user_clerk_id, course_id, enrolled_at, progress, completed_at)"
                " SELECT %s, course_id, enrolled_at, progress, completed_at FROM user_courses"
                " WHERE user_clerk_id = 'bench_raw'",
                (clerk_id,),
            )
            conn.execute(
                "INSERT INTO user_progress (user_clerk_id, lesson_id, status, started_at, completed_at)"
                " SELECT %s, lesson_id, status, started_at, completed_at FROM user_progress"
                " WHERE user_clerk_id = 'bench_raw'",
                (clerk_id,),
            )


def _parsed(row: Any) -> Any:
    """The first column of a row (or of the row an awaitable gives), as JSON parsed by json.loads."""

    async def later() -> Any:
        return json.loads((await row)[0])

    return later() if isinstance(row, Awaitable) else json.loads(row[0])


@operation("user_by_clerk_id", "user by clerk id", kind="read", rows="1")
def user_by_clerk_id(p: Peers) -> Impls:
    learner = p.fx.learner
    return {
        **p.learnstore(lambda s, r: s.users.get(learner)),
        **p.raw(lambda raw, r: raw.one("get_user_by_clerk_id", {"clerk_id": learner})),
        "orm": lambda r: p.orm(orm.user_by_clerk_id, learner),
    }


@operation("learner_dashboard", "learner dashboard", kind="list", rows="10")
def learner_dashboard(p: Peers) -> Impls:
    learner = p.fx.learner
    return {
        **p.learnstore(lambda s, r: s.progress.list_courses(learner)),
        **p.raw(lambda raw, r: raw.all("list_learner_courses", {"user_clerk_id": learner})),
        "orm": lambda r: p.orm(orm.learner_dashboard, learner),
    }


@operation("course_tree", "course tree (10 units, 50 lessons)", kind="tree", rows="1 document")
def course_tree(p: Peers) -> Impls:
    course = p.fx.course_id
    params = {"course_id": course, "include_unpublished": False}
    return {
        **p.learnstore(lambda s, r: s.content.get_course_tree(course)),
        # GetCourseTree sends the document as text: the raw user parses it (json.loads), as psycopg
        # did for them when it was a json column.
        **p.raw(lambda raw, r: _parsed(raw.one("get_course_tree", params))),
        **p.raw(lambda raw, r: raw.tree_relational(course), "_alt"),
        "orm": lambda r: p.orm(orm.course_tree, course),
    }


@operation("record_lesson_completed", "record lesson completed (percentage kept)", kind="write", rows="1")
def record_lesson_completed(p: Peers) -> Impls:
    fx = p.fx

    def learnstore(name: str, store: Any) -> Any:
        def run(r: int) -> Any:
            lesson, status = fx.write(r)
            return store.progress.set_lesson_status(WRITERS[name], lesson, status)

        return run

    def raw(name: str, peer: Any) -> Any:
        def run(r: int) -> Any:
            lesson, status = fx.write(r)
            params = {"user_clerk_id": WRITERS[name], "lesson_id": lesson, "status": status}
            return peer.one("set_lesson_status", params)

        return run

    def orm_record(r: int) -> Any:
        lesson, status = fx.write(r)
        return p.orm(orm.record_lesson_status, WRITERS["orm"], lesson, status)

    return {
        "learnstore": learnstore("learnstore", p.store),
        "pool": learnstore("pool", p.pool),
        "raw": raw("raw", p.raw_conn),
        "raw_pool": raw("raw_pool", p.raw_pool),
        "orm": orm_record,
    }


@operation("next_lesson", "next lesson to continue", kind="read", rows="1")
def next_lesson(p: Peers) -> Impls:
    learner, course = p.fx.learner, p.fx.course_id
    params = {"user_clerk_id": learner, "course_id": course}
    return {
        **p.learnstore(lambda s, r: s.progress.get_next_lesson(learner, course)),
        **p.raw(lambda raw, r: raw.one("get_next_lesson", params)),
        "orm": lambda r: p.orm(orm.next_lesson, learner, course),
    }


@operation("notifications_page", "notifications page", kind="list", rows="20")
def notifications_page(p: Peers) -> Impls:
    learner = p.fx.learner
    params = {"user_clerk_id": learner, "before_created_at": None, "before_id": None, "page_size": 20}
    return {
        **p.learnstore(lambda s, r: s.users.list_notifications(learner, limit=20)),
        **p.raw(lambda raw, r: raw.all("list_notifications", params)),
        "orm": lambda r: p.orm(orm.notifications_page, learner, 20),
    }


@operation("discovery_search", "discovery search", kind="list", rows="20")
def discovery_search(p: Peers) -> Impls:
    text = p.fx.search
    params = search_params(text, 20)
    return {
        **p.learnstore(lambda s, r: s.catalog.discover(text=text, limit=20)),
        **p.raw(lambda raw, r: raw.all("search_published_courses_newest", params)),
        **p.raw(lambda raw, r: raw.all("search_published_courses_newest", params, prepare=False), "_alt"),
        "orm": lambda r: p.orm(orm.discovery_search, text, 20),
    }


@operation("list_50", "a 50-row list (lesson progress of a course)", kind="list", rows="50")
def list_50(p: Peers) -> Impls:
    learner, course = p.fx.learner, p.fx.course_id
    params = {"user_clerk_id": learner, "course_id": course}
    return {
        **p.learnstore(lambda s, r: s.progress.list_lesson_progress(learner, course)),
        **p.raw(lambda raw, r: raw.all("list_lesson_progress", params)),
        "orm": lambda r: p.orm(orm.lesson_progress, learner, course),
    }
