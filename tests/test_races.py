"""The race harness: for each derived value, 16+ writers on separate connections (threads, and
asyncio tasks) in varied interleavings, then the stored value against a recomputation from the base
rows (learnstore's own check, plus the specific promise of each value)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import psycopg
import pytest

import learnstore
from learnstore import AsyncStore, Store
from learnstore.achievement_rules import ForumPosts, LikesReceived, StreakDays
from learnstore.errors import Contention

T = TypeVar("T")
WRITERS = 16
# Interleavings: each writer waits a seeded random moment (0 to JITTER seconds) before its operation
# and again before committing it, so writers overlap differently in each round. No timing is asserted.
JITTER = 0.004


# -- the harness: each writer on a connection of its own, in a transaction it commits itself -------


def race_threads(dsn: str, actions: list[Callable[[Store], T]], *, seed: int = 0) -> list[T]:
    """Run each action in its own thread, on its own connection and transaction, all released at
    once; a writer that loses a race (Contention) runs its transaction again, as a caller would."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        try:
            with psycopg.connect(dsn) as conn:
                barrier.wait()
                for _ in range(10):
                    time.sleep(rng.random() * JITTER)
                    try:
                        results[index] = actions[index](Store.on(conn))
                        time.sleep(rng.random() * JITTER)
                        conn.commit()
                        return
                    except Contention:
                        conn.rollback()
                raise AssertionError("a writer lost ten races in a row")
        except BaseException as exc:  # noqa: BLE001 -- reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


async def race_tasks(
    dsn: str, actions: list[Callable[[AsyncStore], Awaitable[T]]], *, seed: int = 0
) -> list[T]:
    """race_threads for asyncio: each action a task with its own AsyncConnection and transaction."""
    connections = [await psycopg.AsyncConnection.connect(dsn) for _ in actions]
    start = asyncio.Event()

    async def writer(index: int) -> T:
        rng = random.Random(seed * 1000 + index)
        conn = connections[index]
        await start.wait()
        for _ in range(10):
            await asyncio.sleep(rng.random() * JITTER)
            try:
                result = await actions[index](AsyncStore.on(conn))
                await asyncio.sleep(rng.random() * JITTER)
                await conn.commit()
                return result
            except Contention:
                await conn.rollback()
        raise AssertionError("a writer lost ten races in a row")

    try:
        tasks = [asyncio.create_task(writer(i)) for i in range(len(actions))]
        start.set()
        return list(await asyncio.gather(*tasks))
    finally:
        for conn in connections:
            await conn.close()


# -- data made with plain SQL ----------------------------------------------------------------------


def sql(dsn: str, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def scalar(dsn: str, query: str, params: list[Any] | None = None) -> Any:
    return sql(dsn, query, params)[0][0]


def make_users(dsn: str, *clerk_ids: str) -> None:
    sql(
        dsn,
        "INSERT INTO users (clerk_id, first_name) SELECT id, id FROM unnest(%s::text[]) AS id",
        [list(clerk_ids)],
    )


def make_course(dsn: str, lessons: int = 0) -> tuple[UUID, list[UUID]]:
    course_id = scalar(
        dsn, "INSERT INTO courses (title, status, published_at) VALUES ('C', 'published', now()) RETURNING id"
    )
    unit_id = scalar(
        dsn, "INSERT INTO units (course_id, title, position) VALUES (%s, 'U', 0) RETURNING id", [course_id]
    )
    lesson_ids = [
        scalar(
            dsn,
            "INSERT INTO lessons (unit_id, title, content_type, content, position)"
            """ VALUES (%s, %s, 'text', '{"body": "x"}', %s) RETURNING id""",
            [unit_id, f"L{i}", i],
        )
        for i in range(lessons)
    ]
    return course_id, lesson_ids


def make_posts(dsn: str, course_id: UUID, author: str, count: int) -> list[UUID]:
    return [
        row[0]
        for row in sql(
            dsn,
            "INSERT INTO forum_posts (course_id, author_clerk_id, title, body)"
            " SELECT %s, %s, 'T' || i, 'B' FROM generate_series(1, %s) AS i RETURNING id",
            [course_id, author, count],
        )
    ]


def awards(dsn: str, clerk_id: str) -> list[str]:
    return [
        row[0]
        for row in sql(
            dsn,
            "SELECT a.code FROM user_achievements ua JOIN achievements a ON a.id = ua.achievement_id"
            " WHERE ua.user_clerk_id = %s AND ua.earned_at IS NOT NULL ORDER BY a.code",
            [clerk_id],
        )
    ]


def assert_no_drift(dsn: str) -> None:
    """The stored derived values equal their recomputation from the base rows."""
    with learnstore.connect(dsn, max_size=1) as store:
        report = store.check()
    assert report.drift == 0, report.summary()


# -- 1. awards and user_points: "at least once", not only "at most once" ----------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_likes_that_together_cross_a_threshold_award_the_author_threads(fresh_db: str, seed: int) -> None:
    likers = [f"liker_{i}" for i in range(WRITERS)]
    make_users(fresh_db, "author", *likers)
    course_id, _ = make_course(fresh_db)
    posts = make_posts(fresh_db, course_id, "author", 4)
    with learnstore.connect(fresh_db, max_size=1) as store:
        store.achievements.create("liked", "Liked", LikesReceived(threshold=WRITERS), points=7)
    race_threads(
        fresh_db,
        [lambda s, i=i: s.community.like_post(posts[i % 4], likers[i]) for i in range(WRITERS)],
        seed=seed,
    )
    assert awards(fresh_db, "author") == ["liked"]
    assert scalar(fresh_db, "SELECT points FROM user_points WHERE user_clerk_id = 'author'") == 7
    assert_no_drift(fresh_db)


async def test_likes_that_together_cross_a_threshold_award_the_author_asyncio(fresh_db: str) -> None:
    likers = [f"liker_{i}" for i in range(WRITERS)]
    make_users(fresh_db, "author", *likers)
    course_id, _ = make_course(fresh_db)
    (post,) = make_posts(fresh_db, course_id, "author", 1)
    async with await learnstore.connect_async(fresh_db, max_size=1) as store:
        await store.achievements.create("liked", "Liked", LikesReceived(threshold=WRITERS), points=7)
    await race_tasks(
        fresh_db, [lambda s, who=who: s.community.like_post(post, who) for who in likers], seed=3
    )
    assert awards(fresh_db, "author") == ["liked"]
    assert_no_drift(fresh_db)


@pytest.mark.parametrize("seed", [1, 2])
def test_posts_written_at_once_cross_a_threshold(fresh_db: str, seed: int) -> None:
    make_users(fresh_db, "writer")
    course_id, _ = make_course(fresh_db)
    with learnstore.connect(fresh_db, max_size=1) as store:
        store.achievements.create("prolific", "Prolific", ForumPosts(threshold=WRITERS), points=3)
    race_threads(
        fresh_db,
        [
            lambda s, i=i: s.community.create_post(course_id, "writer", f"Post {i}", "Body")
            for i in range(WRITERS)
        ],
        seed=seed,
    )
    assert awards(fresh_db, "writer") == ["prolific"]
    assert scalar(fresh_db, "SELECT (points, achievements)::text FROM user_points") == "(3,1)"
    assert_no_drift(fresh_db)


async def test_posts_written_at_once_cross_a_threshold_asyncio(fresh_db: str) -> None:
    make_users(fresh_db, "writer")
    course_id, _ = make_course(fresh_db)
    async with await learnstore.connect_async(fresh_db, max_size=1) as store:
        await store.achievements.create("prolific", "Prolific", ForumPosts(threshold=WRITERS))
    await race_tasks(
        fresh_db,
        [
            lambda s, i=i: s.community.create_post(course_id, "writer", f"Post {i}", "Body")
            for i in range(WRITERS)
        ],
        seed=4,
    )
    assert awards(fresh_db, "writer") == ["prolific"]
    assert_no_drift(fresh_db)


# -- 2. "notified once per liker" ---------------------------------------------------------------------


def like_notifications(dsn: str, author: str) -> int:
    return int(
        scalar(dsn, "SELECT count(*) FROM notifications WHERE user_clerk_id = %s AND type = 'like'", [author])
    )


def test_one_user_liking_and_unliking_from_many_connections_notifies_once(fresh_db: str) -> None:
    make_users(fresh_db, "author", "fan")
    course_id, _ = make_course(fresh_db)
    (post,) = make_posts(fresh_db, course_id, "author", 1)
    reply = scalar(
        fresh_db,
        "INSERT INTO forum_replies (post_id, author_clerk_id, body) VALUES (%s, 'author', 'R') RETURNING id",
        [post],
    )

    def flip(store: Store, i: int) -> None:
        # many short operations each: like and unlike interleave across the connections
        for turn in range(12):
            if (i + turn) % 2 == 0:
                store.community.like_post(post, "fan")
                store.community.like_reply(reply, "fan")
            else:
                store.community.unlike_post(post, "fan")
                store.community.unlike_reply(reply, "fan")

    with learnstore.connect(fresh_db, min_size=WRITERS, max_size=WRITERS) as store:
        barrier = threading.Barrier(WRITERS)

        def worker(i: int) -> None:
            barrier.wait()
            flip(store, i)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert like_notifications(fresh_db, "author") == 2  # one for the post, one for the reply
    assert_no_drift(fresh_db)


async def test_one_user_liking_and_unliking_from_many_tasks_notifies_once(fresh_db: str) -> None:
    make_users(fresh_db, "author", "fan")
    course_id, _ = make_course(fresh_db)
    (post,) = make_posts(fresh_db, course_id, "author", 1)
    async with await learnstore.connect_async(fresh_db, min_size=WRITERS, max_size=WRITERS) as store:

        async def flip(i: int) -> None:
            for turn in range(12):
                if (i + turn) % 2 == 0:
                    await store.community.like_post(post, "fan")
                else:
                    await store.community.unlike_post(post, "fan")

        await asyncio.gather(*(flip(i) for i in range(WRITERS)))
    assert like_notifications(fresh_db, "author") == 1
    assert_no_drift(fresh_db)


# -- streak: awards that depend on it are covered above; the streak itself ---------------------------


def test_concurrent_activity_keeps_the_streak_and_its_award(fresh_db: str) -> None:
    make_users(fresh_db, "ana")
    with learnstore.connect(fresh_db, max_size=1) as store:
        store.achievements.create("week", "Week", StreakDays(threshold=3))
    now = datetime.now(UTC)
    days = [now - timedelta(days=i % 4) for i in range(WRITERS)]
    race_threads(fresh_db, [lambda s, d=d: s.users.record_activity("ana", d) for d in days], seed=5)
    assert scalar(fresh_db, "SELECT (current_streak, longest_streak)::text FROM user_streaks") == "(4,4)"
    assert awards(fresh_db, "ana") == ["week"]
    assert_no_drift(fresh_db)
