"""Favorites and recommendations on a real database: idempotent bookmarks, newest-first pages, "is it a
favorite?" for a page of courses, and recommendations from tags, co-enrolment and popularity."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import pq

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import Conflict, InvalidReference, InvalidValue, NotFound

AConn = psycopg.AsyncConnection[Any]


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def make_users(conn: AConn, *clerk_ids: str) -> None:
    for clerk_id in clerk_ids:
        await conn.execute("INSERT INTO users (clerk_id) VALUES (%s)", [clerk_id])


async def make_course(conn: AConn, title: str, *tags: str, status: str = "published") -> UUID:
    cur = await conn.execute(
        "INSERT INTO courses (title, status, published_at) VALUES (%s, %s, CASE WHEN %s = 'published'"
        " THEN now() END) RETURNING id",
        [title, status, status],
    )
    row = await cur.fetchone()
    assert row is not None
    for tag in tags:
        await conn.execute("INSERT INTO tags (name) VALUES (%s) ON CONFLICT DO NOTHING", [tag])
        await conn.execute(
            "INSERT INTO course_tags (course_id, tag_id)"
            " SELECT %s, id FROM tags WHERE lower(name) = lower(%s)",
            [row[0], tag],
        )
    return UUID(str(row[0]))


async def enrol(conn: AConn, clerk_id: str, *courses: UUID, ago_minutes: int = 0) -> None:
    for course in courses:
        await conn.execute(
            "INSERT INTO user_courses (user_clerk_id, course_id, enrolled_at)"
            " VALUES (%s, %s, now() - make_interval(mins => %s))",
            [clerk_id, course, ago_minutes],
        )


@contextmanager
def round_trips(conn: AConn) -> Iterator[list[str]]:
    """The round trips made on `conn` inside the block (ReadyForQuery messages in libpq's trace)."""
    counted: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield counted
        finally:
            conn.pgconn.untrace()
            trace.seek(0)
            counted.extend(line for line in trace.read().splitlines() if "\tReadyForQuery" in line)


async def favorite_count(conn: AConn) -> int:
    cur = await conn.execute("SELECT count(*) FROM favorites")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


# -- favorites ----------------------------------------------------------------------------------


async def test_bookmarking_is_idempotent_and_listed_newest_first_in_pages(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await make_users(adb_conn, "ana", "bob")
    courses = [await make_course(adb_conn, f"Course {i}") for i in range(5)]
    first = await store.favorites.add("ana", courses[0])
    assert await store.favorites.add("ana", courses[0]) == first
    for course in courses[1:]:
        await store.favorites.add("ana", course)
    # one transaction has one now(): spread the bookmarks out in time as separate calls would
    await adb_conn.execute(
        "UPDATE favorites f SET created_at = now() - make_interval(mins => 10 - ord::integer)"
        " FROM unnest(%s::uuid[]) WITH ORDINALITY AS o(course_id, ord) WHERE f.course_id = o.course_id",
        [courses],
    )
    assert await favorite_count(adb_conn) == 5
    page = await store.favorites.list_page("ana", limit=2)
    assert [f.course_id for f in page.items] == [courses[4], courses[3]]
    assert page.next_after is not None
    page2 = await store.favorites.list_page("ana", limit=2, after=page.next_after)
    page3 = await store.favorites.list_page("ana", limit=2, after=page2.next_after)
    assert [f.course_id for f in page2.items + page3.items] == [courses[2], courses[1], courses[0]]
    assert page3.next_after is None
    assert page.items[0].title == "Course 4"

    shown = [courses[0], courses[2], uuid4()]
    assert await store.favorites.favorite_ids("ana", shown) == {courses[0], courses[2]}
    assert await store.favorites.favorite_ids("bob", shown) == set()
    assert await store.favorites.favorite_ids("ana", []) == set()

    assert await store.favorites.remove("ana", courses[2]) is True
    assert await store.favorites.remove("ana", courses[2]) is False
    assert await store.favorites.favorite_ids("ana", shown) == {courses[0]}


async def test_bad_bookmarks_are_refused_and_write_nothing(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(adb_conn, "ana")
    draft = await make_course(adb_conn, "Draft", status="draft")
    published = await make_course(adb_conn, "Published")
    with pytest.raises(NotFound) as unknown:
        await store.favorites.add("ana", uuid4())
    assert unknown.value.field == "course_id"
    with pytest.raises(Conflict, match="draft"):
        await store.favorites.add("ana", draft)
    with pytest.raises(InvalidReference, match="clerk_id"):
        await store.favorites.add("ghost", published)
    with pytest.raises(InvalidValue, match="course_id"):
        await store.favorites.add("ana", "'; DROP TABLE favorites; --")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="clerk_id"):
        await store.favorites.add("x" * 1_000_000, published)
    with pytest.raises(InvalidValue, match="course_ids"):
        await store.favorites.favorite_ids("ana", [uuid4()] * 1001)
    with pytest.raises(InvalidValue, match="limit"):
        await store.favorites.list_page("ana", limit=0)
    with pytest.raises(InvalidValue, match="after"):
        await store.favorites.list_page("ana", after=("yesterday", uuid4()))  # type: ignore[arg-type]
    assert await favorite_count(adb_conn) == 0


async def test_concurrent_bookmarks_of_one_course_make_one_favorite(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        await make_users(conn, "ana")
        course = await make_course(conn, "Popular")
        async with await learnstore.connect_async(fresh_db, max_size=8) as store:
            added = await asyncio.gather(*(store.favorites.add("ana", course) for _ in range(12)))
        assert len({f.id for f in added}) == 1
        assert await favorite_count(conn) == 1


# -- recommendations ----------------------------------------------------------------------------


async def test_recommendations_rank_tag_overlap_and_co_enrolment_and_skip_what_the_learner_has(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await make_users(adb_conn, "ana", "bob", "cat", "dan")
    sql_basics = await make_course(adb_conn, "SQL basics", "sql", "databases")
    postgres = await make_course(adb_conn, "Postgres internals", "sql", "databases")
    indexing = await make_course(adb_conn, "Indexing", "databases")
    drawing = await make_course(adb_conn, "Drawing", "art")
    cooking = await make_course(adb_conn, "Cooking", "food")
    draft = await make_course(adb_conn, "Draft SQL", "sql", "databases", status="draft")
    favorite = await make_course(adb_conn, "Bookmarked", "sql")
    await enrol(adb_conn, "ana", sql_basics)
    await store.favorites.add("ana", favorite)
    # learners who took SQL basics also took Drawing (two of them) and Cooking (one)
    await enrol(adb_conn, "bob", sql_basics, drawing, cooking)
    await enrol(adb_conn, "cat", sql_basics, drawing)

    recommended = await store.favorites.recommend("ana", limit=10)
    by_id = {r.course_id: r for r in recommended}
    assert sql_basics not in by_id and favorite not in by_id and draft not in by_id
    # postgres shares sql (2 of ana's courses carry it) and databases (1): 3; indexing: 1
    assert (by_id[postgres].tag_score, by_id[indexing].tag_score) == (3, 1)
    assert (by_id[drawing].co_score, by_id[cooking].co_score) == (2, 1)
    assert (by_id[drawing].popularity, by_id[cooking].popularity, by_id[postgres].popularity) == (2, 1, 0)
    # no ratings (the prior: 3.5 each), published together (recency 1 each); scaled to the best:
    # drawing .30 co + .15 popular, postgres .35 tags, cooking .15 + .075, indexing .35 / 3
    base = 0.12 * 2.5 / 4 + 0.08
    expected = {drawing: 0.45 + base, postgres: 0.35 + base, cooking: 0.225 + base, indexing: 0.35 / 3 + base}
    assert [r.course_id for r in recommended] == [drawing, postgres, cooking, indexing]
    assert [r.score for r in recommended] == pytest.approx([expected[r.course_id] for r in recommended])
    assert {r.bayesian_rating for r in recommended} == {3.5}
    # each one a course card
    assert (by_id[drawing].title, by_id[drawing].enrolment_count, by_id[postgres].tags) == (
        "Drawing",
        2,
        ["databases", "sql"],
    )
    assert len(await store.favorites.recommend("ana", limit=2)) == 2


async def test_the_bayesian_rating_and_recency_break_what_the_other_signals_leave_even(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await make_users(adb_conn, "new", *(f"r{i}" for i in range(20)))
    one_five = await make_course(adb_conn, "One five")
    many_good = await make_course(adb_conn, "Many 4.8")
    unrated = await make_course(adb_conn, "Unrated")
    old_unrated = await make_course(adb_conn, "Old, unrated")
    await adb_conn.execute(
        "UPDATE courses SET published_at = now() - interval '900 days' WHERE id = %s", [old_unrated]
    )
    await adb_conn.execute(
        "INSERT INTO course_feedback (course_id, user_clerk_id, rating) VALUES (%s, 'r0', 5)", [one_five]
    )
    for i in range(20):  # sixteen 5s and four 4s: a mean of 4.8
        await adb_conn.execute(
            "INSERT INTO course_feedback (course_id, user_clerk_id, rating) VALUES (%s, %s, %s)",
            [many_good, f"r{i}", 5 if i < 16 else 4],
        )
    recommended = await store.favorites.recommend("new")
    assert [r.course_id for r in recommended] == [many_good, one_five, unrated, old_unrated]
    ratings = {r.course_id: r.bayesian_rating for r in recommended}
    assert ratings[one_five] == pytest.approx((17.5 + 5) / 6)  # 3.75: one 5 is not yet a 5
    assert ratings[many_good] == pytest.approx((17.5 + 96) / 25)  # 4.54
    assert (ratings[unrated], ratings[old_unrated]) == (3.5, 3.5)
    # an anonymous visitor gets the same ranking: no learner, no tag or peer signal
    assert [r.course_id for r in await store.favorites.recommend(None)] == [r.course_id for r in recommended]


async def test_a_new_learner_gets_the_popular_courses(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(adb_conn, "new", "a", "b", "c")
    hit = await make_course(adb_conn, "Hit")
    known = await make_course(adb_conn, "Known")
    niche = await make_course(adb_conn, "Niche")
    await enrol(adb_conn, "a", hit, known)
    await enrol(adb_conn, "b", hit, known)
    await enrol(adb_conn, "c", hit)
    recommended = await store.favorites.recommend("new")
    assert [r.course_id for r in recommended[:2]] == [hit, known]
    assert [(r.popularity, r.tag_score, r.co_score) for r in recommended[:2]] == [(3, 0, 0), (2, 0, 0)]
    assert niche in {r.course_id for r in recommended}  # published, no enrolment yet: still a candidate
    assert await store.favorites.recommend("nobody-at-all") == recommended  # unknown learner: same fallback
    with pytest.raises(InvalidValue, match="limit"):
        await store.favorites.recommend("new", limit=10_000)


def test_the_sync_store_bookmarks(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    db_conn.execute("INSERT INTO users (clerk_id) VALUES ('sync')")
    row = db_conn.execute(
        "INSERT INTO courses (title, status, published_at) VALUES ('S', 'published', now()) RETURNING id"
    ).fetchone()
    assert row is not None
    favorite = store.favorites.add("sync", row[0])
    assert store.favorites.favorite_ids("sync", [row[0]]) == {row[0]}
    assert store.favorites.list_page("sync").items[0].id == favorite.id
    assert store.favorites.recommend("sync") == []


async def test_each_favorites_operation_is_one_round_trip(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        store = AsyncStore.on(conn)
        await make_users(conn, "ana", "bob")
        course = await make_course(conn, "One", "sql")
        other = await make_course(conn, "Two", "sql")
        await enrol(conn, "bob", course, other)
        operations: dict[str, Callable[[], Awaitable[object]]] = {
            "add": lambda: store.favorites.add("ana", course),
            "add again": lambda: store.favorites.add("ana", course),
            "list_page": lambda: store.favorites.list_page("ana"),
            "favorite_ids": lambda: store.favorites.favorite_ids("ana", [course, other]),
            "recommend": lambda: store.favorites.recommend("ana"),
            "remove": lambda: store.favorites.remove("ana", course),
        }
        for name, operation in operations.items():
            with round_trips(conn) as trips:
                await operation()
            assert len(trips) == 1, (name, trips)
