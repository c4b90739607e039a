"""Feedback, ratings and the community's feeds on a real database: one review per enrolled learner,
exact upvotes under a race, the rating summary and the Bayesian "best rated" order discovery uses,
a user's activity feed and trending courses and tags."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import pq

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import Conflict, InvalidValue, NotFound

AConn = psycopg.AsyncConnection[Any]


@contextmanager
def round_trips(conn: AConn) -> Iterator[list[str]]:
    """The round trips made on `conn` inside the block, from libpq's protocol trace."""
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


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def users(conn: AConn, *clerk_ids: str) -> None:
    for clerk_id in clerk_ids:
        await conn.execute(
            "INSERT INTO users (clerk_id, first_name) VALUES (%s, %s)", [clerk_id, clerk_id.title()]
        )


async def published(conn: AConn, title: str = "Course", author: str | None = None) -> UUID:
    cur = await conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES (%s, %s, 'published', now()) RETURNING id",
        [title, author],
    )
    row = await cur.fetchone()
    assert row is not None
    course_id: UUID = row[0]
    return course_id


async def enrol(conn: AConn, course_id: UUID, *clerk_ids: str) -> None:
    for clerk_id in clerk_ids:
        await conn.execute(
            "INSERT INTO user_courses (user_clerk_id, course_id) VALUES (%s, %s)", [clerk_id, course_id]
        )


async def feedback_rows(conn: AConn) -> list[tuple[Any, ...]]:
    cur = await conn.execute("SELECT * FROM course_feedback ORDER BY id")
    rows = await cur.fetchall()
    cur = await conn.execute("SELECT * FROM feedback_upvotes ORDER BY id")
    return rows + await cur.fetchall()


# -- reviews -----------------------------------------------------------------------------------------


async def test_a_learner_reviews_once_and_reviewing_again_replaces_it(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await users(adb_conn, "ana", "ben")
    course = await published(adb_conn)
    await enrol(adb_conn, course, "ana", "ben")
    first = await store.reviews.review_course(course, "ana", 2, comment="Too fast")
    again = await store.reviews.review_course(course, "ana", 4, comment="Better on a second look")
    assert again.id == first.id and (again.rating, again.comment) == (4, "Better on a second look")
    await store.reviews.review_course(course, "ben", 5)
    reviews = await store.reviews.list_reviews(course)
    assert sorted((r.author_name, r.rating) for r in reviews) == [("Ana", 4), ("Ben", 5)]
    assert await store.reviews.delete_review(course, "ben")
    assert not await store.reviews.delete_review(course, "ben")


async def test_hostile_reviews_are_refused_and_write_nothing(store: AsyncStore, adb_conn: AConn) -> None:
    await users(adb_conn, "ana", "outsider")
    course = await published(adb_conn)
    await enrol(adb_conn, course, "ana")
    await store.reviews.review_course(course, "ana", 3)
    before = await feedback_rows(adb_conn)
    for rating in (0, 6, -1, 3.5, "5", True, None):
        with pytest.raises(InvalidValue, match="rating"):
            await store.reviews.review_course(course, "ana", rating)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="comment"):
        await store.reviews.review_course(course, "ana", 5, comment="x" * 1_000_000)
    with pytest.raises(Conflict, match="enrolled") as refused:
        await store.reviews.review_course(course, "outsider", 5)
    assert refused.value.field == "course_id"
    with pytest.raises(Conflict):
        await store.reviews.review_course(uuid4(), "ana", 5)
    assert await feedback_rows(adb_conn) == before


async def test_upvotes_are_idempotent_and_never_ones_own(store: AsyncStore, adb_conn: AConn) -> None:
    await users(adb_conn, "ana", "ben", "cy")
    course = await published(adb_conn)
    await enrol(adb_conn, course, "ana")
    review = await store.reviews.review_course(course, "ana", 5)
    assert (await store.reviews.upvote_review(review.id, "ben")).model_dump() == {
        "changed": True,
        "upvote_count": 1,
    }
    assert (await store.reviews.upvote_review(review.id, "ben")).model_dump() == {
        "changed": False,
        "upvote_count": 1,
    }
    assert (await store.reviews.upvote_review(review.id, "cy")).upvote_count == 2
    assert (await store.reviews.remove_upvote(review.id, "cy")).model_dump() == {
        "changed": True,
        "upvote_count": 1,
    }
    assert not (await store.reviews.remove_upvote(review.id, "cy")).changed
    before = await feedback_rows(adb_conn)
    with pytest.raises(InvalidValue, match="own"):
        await store.reviews.upvote_review(review.id, "ana")
    with pytest.raises(NotFound):
        await store.reviews.upvote_review(uuid4(), "ben")
    assert await feedback_rows(adb_conn) == before
    [listed] = await store.reviews.list_reviews(course)
    assert listed.upvote_count == 1


async def test_32_concurrent_upvoters_are_counted_exactly(fresh_db: str) -> None:
    voters = [f"voter_{i}" for i in range(32)]
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        await users(conn, "ana", *voters)
        course = await published(conn)
        await enrol(conn, course, "ana")
    async with await learnstore.connect_async(fresh_db, max_size=32) as store:
        review = await store.reviews.review_course(course, "ana", 4)
        await asyncio.gather(*(store.reviews.upvote_review(review.id, v) for v in voters + voters[:8]))
        await asyncio.gather(*(store.reviews.remove_upvote(review.id, v) for v in voters[:5]))
        [listed] = await store.reviews.list_reviews(course)
        assert listed.upvote_count == 27


# -- ratings ------------------------------------------------------------------------------------------


async def test_the_rating_summary_counts_means_and_scores(store: AsyncStore, adb_conn: AConn) -> None:
    learners = [f"l{i}" for i in range(6)]
    await users(adb_conn, *learners)
    course = await published(adb_conn)
    await enrol(adb_conn, course, *learners)
    for learner, stars in zip(learners, [5, 5, 4, 4, 1, 5], strict=True):
        await store.reviews.review_course(course, learner, stars)
    stats = await store.reviews.get_rating_stats(course)
    assert (stats.rating_count, stats.average_rating) == (6, Decimal("4.00"))
    assert stats.histogram == {1: 1, 2: 0, 3: 0, 4: 2, 5: 3}
    assert stats.score == Decimal("3.3750")  # (10 * 3 + 24) / (10 + 6)
    # the catalog's summary gives the same numbers
    summary = await store.catalog.get_rating_summary(course)
    assert (summary.average_rating, summary.rating_count) == (stats.average_rating, stats.rating_count)

    empty = await published(adb_conn, "Empty")
    unrated = await store.reviews.get_rating_stats(empty)
    assert (unrated.rating_count, unrated.average_rating, unrated.score) == (0, None, Decimal(3))
    with pytest.raises(NotFound):
        await store.reviews.get_rating_stats(uuid4())


async def test_one_five_star_review_does_not_beat_five_hundred_at_4_8(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await users(adb_conn, "fan")
    lucky = await published(adb_conn, "One lucky review")
    loved = await published(adb_conn, "Loved by many")
    await enrol(adb_conn, lucky, "fan")
    await store.reviews.review_course(lucky, "fan", 5)
    # 500 reviews averaging 4.8: 400 fives and 100 fours, by erased reviewers (author NULL)
    await adb_conn.execute(
        "INSERT INTO course_feedback (course_id, user_clerk_id, rating)"
        " SELECT %s, NULL, CASE WHEN i <= 400 THEN 5 ELSE 4 END FROM generate_series(1, 500) AS i",
        [loved],
    )
    best = await store.catalog.discover(order="rating", limit=2)
    assert [c.title for c in best.items] == ["Loved by many", "One lucky review"]
    assert [c.rating_score for c in best.items] == [Decimal("4.7647"), Decimal("3.1818")]
    assert (await store.reviews.get_rating_stats(loved)).score == best.items[0].rating_score


# -- activity and trending ------------------------------------------------------------------------------


async def test_a_users_activity_is_one_feed_newest_first(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        await users(conn, "ana", "ben")
        course = await published(conn)
    async with await learnstore.connect_async(fresh_db) as store:
        post = await store.forum.create_post(course, "ana", "My question", "Body")
        other = await store.forum.create_post(course, "ben", "Ben's", "Body")
        reply = await store.forum.reply(other.id, "ana", "An answer")
        await store.forum.like_post(other.id, "ana")
        await store.forum.like_reply(reply.id, "ben")  # ben's gesture: not in ana's feed
        first = await store.forum.list_activity("ana", limit=2)
        rest = await store.forum.list_activity("ana", limit=10, before=first[-1])
        feed = [(a.kind, a.text) for a in first + rest]
        assert feed == [("post_like", "Ben's"), ("reply", "An answer"), ("post", "My question")]
        assert first[0].post_id == other.id and rest[0].post_id == post.id
        assert await store.forum.list_activity("nobody") == []
        with pytest.raises(InvalidValue):
            await store.forum.list_activity("ana", limit=0)


async def test_trending_courses_and_tags_count_recent_forum_activity(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await users(adb_conn, "ana", "ben")
    quiet = await published(adb_conn, "Quiet")
    busy = await published(adb_conn, "Busy")
    old = await published(adb_conn, "Old news")
    for course, tag in ((busy, "SQL"), (quiet, "SQL"), (old, "Rust")):
        await store.catalog.attach_tags(course, [tag])
    post = await store.forum.create_post(busy, "ana", "Hot", "Body")
    await store.forum.reply(post.id, "ben", "Yes")
    await store.forum.like_post(post.id, "ben")
    await store.forum.create_post(quiet, "ben", "Hello", "Body")
    stale = await store.forum.create_post(old, "ana", "Long ago", "Body")
    await adb_conn.execute(
        "UPDATE forum_posts SET created_at = now() - interval '30 days' WHERE id = %s", [stale.id]
    )
    trending = await store.forum.list_trending_courses(days=7)
    assert [(t.title, t.activity) for t in trending] == [("Busy", 3), ("Quiet", 1)]
    assert [(t.name, t.activity) for t in await store.forum.list_trending_tags(days=7)] == [("SQL", 4)]
    assert [t.title for t in await store.forum.list_trending_courses(days=60, limit=1)] == ["Busy"]
    with pytest.raises(InvalidValue):
        await store.forum.list_trending_courses(days=0)


def test_the_sync_store_reviews_and_summarises(db_conn: psycopg.Connection[Any]) -> None:
    db_conn.execute("INSERT INTO users (clerk_id) VALUES ('ana'), ('ben')")
    row = db_conn.execute("INSERT INTO courses (title) VALUES ('C') RETURNING id").fetchone()
    assert row is not None
    db_conn.execute("INSERT INTO user_courses (user_clerk_id, course_id) VALUES ('ana', %s)", [row[0]])
    store = Store.on(db_conn)
    review = store.reviews.review_course(row[0], "ana", 5, comment="Great")
    assert store.reviews.upvote_review(review.id, "ben").upvote_count == 1
    assert store.reviews.get_rating_stats(row[0]).histogram[5] == 1


async def test_review_feed_and_trending_operations_are_one_round_trip(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        await users(conn, "ana", "ben")
        course = await published(conn)
        await enrol(conn, course, "ana")
        store = AsyncStore.on(conn)
        review = await store.reviews.review_course(course, "ana", 4)
        await store.forum.create_post(course, "ana", "T", "B")
        operations: dict[str, Any] = {
            "review_course": lambda: store.reviews.review_course(course, "ana", 5),
            "upvote_review": lambda: store.reviews.upvote_review(review.id, "ben"),
            "remove_upvote": lambda: store.reviews.remove_upvote(review.id, "ben"),
            "get_rating_stats": lambda: store.reviews.get_rating_stats(course),
            "list_reviews": lambda: store.reviews.list_reviews(course),
            "list_activity": lambda: store.forum.list_activity("ana"),
            "list_trending_courses": lambda: store.forum.list_trending_courses(),
            "list_trending_tags": lambda: store.forum.list_trending_tags(),
        }
        for name, operation in operations.items():
            with round_trips(conn) as trips:
                await operation()
            assert len(trips) == 1, (name, trips)


async def test_export_and_erase_cover_what_a_user_did_in_the_community(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await users(adb_conn, "ana", "ben")
    course = await published(adb_conn, author="ben")
    await enrol(adb_conn, course, "ana")
    post = await store.forum.create_post(course, "ana", "Mine", "Body")
    reply = await store.forum.reply(post.id, "ben", "Answer")
    await store.forum.like_reply(reply.id, "ana")
    await store.forum.like_post(post.id, "ben")
    review = await store.reviews.review_course(course, "ana", 5)
    await store.reviews.upvote_review(review.id, "ben")
    await store.collaboration.invite_collaborator(course, "ben", "ana")
    await store.edits.propose_edit(course, "ana", "Typo", {"title": "Fixed"})
    document = await store.users.export("ana")
    assert [len(document[t]) for t in ("forum_posts", "forum_reply_likes", "course_feedback")] == [1, 1, 1]
    assert [len(document[t]) for t in ("collaborators", "suggested_edits", "notifications")] == [1, 1, 3]
    assert document["forum_posts"][0]["deleted_at"] is None  # the new columns are exported too

    await store.users.erase("ana")
    thread = await store.forum.get_thread(post.id)
    assert (thread.post.author_name, thread.post.like_count, thread.replies[0].like_count) == (
        "deleted user",
        1,
        0,
    )
    stats = await store.reviews.get_rating_stats(course)
    assert stats.rating_count == 1  # the rating stays in the summary, anonymously
    [kept] = await store.reviews.list_reviews(course)
    assert (kept.author_name, kept.upvote_count) == ("deleted user", 1)
