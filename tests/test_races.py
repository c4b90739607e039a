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
from typing import Any
from uuid import UUID

import psycopg
import pytest

import learnstore
from learnstore import AsyncStore, Store
from learnstore.achievement_rules import ForumPosts, LikesReceived, StreakDays
from learnstore.errors import Contention
from learnstore.types import LessonStatus

WRITERS = 16
# Interleavings: each writer waits a seeded random moment (0 to JITTER seconds) before its operation
# and again before committing it, so writers overlap differently in each round. No timing is asserted.
JITTER = 0.004


# -- the harness: each writer on a connection of its own, in a transaction it commits itself -------


def race_threads(
    dsn: str, action: Callable[[Store, int], object], *, writers: int = WRITERS, seed: int = 0
) -> None:
    """Run `action(store, i)` for i in range(writers), each in its own thread, on its own connection
    and in its own transaction, all released at once; a writer that loses a race (Contention)
    runs its transaction again, as a caller would."""
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        try:
            with psycopg.connect(dsn) as conn:
                barrier.wait()
                for _ in range(10):
                    time.sleep(rng.random() * JITTER)
                    try:
                        action(Store.on(conn), index)
                        time.sleep(rng.random() * JITTER)
                        conn.commit()
                        return
                    except Contention:
                        conn.rollback()
                raise AssertionError("a writer lost ten races in a row")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


async def race_tasks(
    dsn: str, action: Callable[[AsyncStore, int], Awaitable[object]], *, writers: int = WRITERS, seed: int = 0
) -> None:
    """race_threads for asyncio: each writer a task with its own AsyncConnection and transaction."""
    connections = [await psycopg.AsyncConnection.connect(dsn) for _ in range(writers)]
    start = asyncio.Event()

    async def writer(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        conn = connections[index]
        await start.wait()
        for _ in range(10):
            await asyncio.sleep(rng.random() * JITTER)
            try:
                await action(AsyncStore.on(conn), index)
                await asyncio.sleep(rng.random() * JITTER)
                await conn.commit()
                return
            except Contention:
                await conn.rollback()
        raise AssertionError("a writer lost ten races in a row")

    try:
        tasks = [asyncio.create_task(writer(i)) for i in range(writers)]
        start.set()
        await asyncio.gather(*tasks)
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
    race_threads(fresh_db, lambda s, i: s.forum.like_post(posts[i % 4], likers[i]), seed=seed)
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
    await race_tasks(fresh_db, lambda s, i: s.forum.like_post(post, likers[i]), seed=3)
    assert awards(fresh_db, "author") == ["liked"]
    assert_no_drift(fresh_db)


@pytest.mark.parametrize("seed", [1, 2])
def test_posts_written_at_once_cross_a_threshold(fresh_db: str, seed: int) -> None:
    make_users(fresh_db, "writer")
    course_id, _ = make_course(fresh_db)
    with learnstore.connect(fresh_db, max_size=1) as store:
        store.achievements.create("prolific", "Prolific", ForumPosts(threshold=WRITERS), points=3)
    race_threads(fresh_db, lambda s, i: s.forum.create_post(course_id, "writer", f"Post {i}", "B"), seed=seed)
    assert awards(fresh_db, "writer") == ["prolific"]
    assert scalar(fresh_db, "SELECT (points, achievements)::text FROM user_points") == "(3,1)"
    assert_no_drift(fresh_db)


async def test_posts_written_at_once_cross_a_threshold_asyncio(fresh_db: str) -> None:
    make_users(fresh_db, "writer")
    course_id, _ = make_course(fresh_db)
    async with await learnstore.connect_async(fresh_db, max_size=1) as store:
        await store.achievements.create("prolific", "Prolific", ForumPosts(threshold=WRITERS))
    await race_tasks(
        fresh_db, lambda s, i: s.forum.create_post(course_id, "writer", f"Post {i}", "B"), seed=4
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
                store.forum.like_post(post, "fan")
                store.forum.like_reply(reply, "fan")
            else:
                store.forum.unlike_post(post, "fan")
                store.forum.unlike_reply(reply, "fan")

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
                    await store.forum.like_post(post, "fan")
                else:
                    await store.forum.unlike_post(post, "fan")

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
    race_threads(fresh_db, lambda s, i: s.users.record_activity("ana", days[i]), seed=5)
    assert scalar(fresh_db, "SELECT (current_streak, longest_streak)::text FROM user_streaks") == "(4,4)"
    assert awards(fresh_db, "ana") == ["week"]
    assert_no_drift(fresh_db)


# -- user_points: many awards to one learner at once -----------------------------------------------


async def test_many_awards_at_once_add_up_in_user_points(fresh_db: str) -> None:
    likers = [f"liker_{i}" for i in range(WRITERS)]
    make_users(fresh_db, "author", *likers)
    course_id, _ = make_course(fresh_db)
    posts = make_posts(fresh_db, course_id, "author", WRITERS)
    async with await learnstore.connect_async(fresh_db, max_size=1) as store:
        for n in range(1, WRITERS + 1):
            await store.achievements.create(f"liked-{n}", f"Liked {n}", LikesReceived(threshold=n), points=n)
    await race_tasks(fresh_db, lambda s, i: s.forum.like_post(posts[i], likers[i]), seed=6)
    assert len(awards(fresh_db, "author")) == WRITERS
    expected = f"({WRITERS * (WRITERS + 1) // 2},{WRITERS})"
    assert scalar(fresh_db, "SELECT (points, achievements)::text FROM user_points") == expected
    assert_no_drift(fresh_db)


# -- like counts: computed on read, so exact when the likes are ----------------------------------


async def test_concurrent_likes_are_counted_once_each(fresh_db: str) -> None:
    likers = [f"liker_{i}" for i in range(WRITERS)]
    make_users(fresh_db, "author", *likers)
    course_id, _ = make_course(fresh_db)
    (post,) = make_posts(fresh_db, course_id, "author", 1)
    # each liker likes twice from two connections: one like each, whatever the order
    await race_tasks(
        fresh_db, lambda s, i: s.forum.like_post(post, likers[i % WRITERS]), writers=2 * WRITERS, seed=7
    )
    async with await learnstore.connect_async(fresh_db, max_size=1) as store:
        thread = await store.forum.get_thread(post)
        assert thread.post.like_count == WRITERS
        assert (await store.forum.like_post(post, likers[0])).like_count == WRITERS
    assert like_notifications(fresh_db, "author") == WRITERS
    assert_no_drift(fresh_db)


# -- rating summaries: computed on read from one row per learner -----------------------------------


def test_concurrent_reviews_make_the_rating_summary_of_one_review_per_learner(fresh_db: str) -> None:
    learners = [f"learner_{i}" for i in range(WRITERS)]
    make_users(fresh_db, *learners)
    course_id, _ = make_course(fresh_db)
    sql(
        fresh_db,
        "INSERT INTO user_courses (user_clerk_id, course_id) SELECT unnest(%s::text[]), %s",
        [learners, course_id],
    )
    # two reviews per learner at once (the second replaces the first): stars i % 5 + 1 both times
    race_threads(
        fresh_db,
        lambda s, i: s.reviews.review_course(course_id, learners[i % WRITERS], i % WRITERS % 5 + 1),
        writers=2 * WRITERS,
        seed=8,
    )
    with learnstore.connect(fresh_db, max_size=1) as store:
        stats = store.reviews.get_rating_stats(course_id)
    assert stats.rating_count == WRITERS
    assert sum(stats.histogram.values()) == WRITERS
    assert stats.histogram == {
        stars: sum(1 for i in range(WRITERS) if i % 5 + 1 == stars) for stars in range(1, 6)
    }


# -- enrolment progress and completed_at -----------------------------------------------------------


def test_lessons_completed_at_once_complete_the_course(fresh_db: str) -> None:
    make_users(fresh_db, "ana")
    course_id, lessons = make_course(fresh_db, lessons=WRITERS)
    sql(fresh_db, "INSERT INTO user_courses (user_clerk_id, course_id) VALUES ('ana', %s)", [course_id])
    race_threads(fresh_db, lambda s, i: s.progress.set_lesson_status("ana", lessons[i], "completed"), seed=9)
    assert (
        scalar(fresh_db, "SELECT (progress, completed_at IS NOT NULL)::text FROM user_courses") == "(100,t)"
    )
    assert_no_drift(fresh_db)


async def test_lessons_completed_and_reopened_at_once_keep_the_percentage(fresh_db: str) -> None:
    make_users(fresh_db, "ana")
    course_id, lessons = make_course(fresh_db, lessons=8)
    sql(fresh_db, "INSERT INTO user_courses (user_clerk_id, course_id) VALUES ('ana', %s)", [course_id])

    # writer i sets lesson i % 8: the first eight complete, the last eight (later ones) reopen half
    def status(i: int) -> LessonStatus:
        return "completed" if i < 8 or i % 2 else "in_progress"

    async def act(s: AsyncStore, i: int) -> object:
        return await s.progress.set_lesson_status("ana", lessons[i % 8], status(i))

    await race_tasks(fresh_db, act, seed=10)
    assert_no_drift(fresh_db)


# -- flashcard schedules and mastery ---------------------------------------------------------------


def test_concurrent_reviews_keep_each_schedule_equal_to_its_log(fresh_db: str) -> None:
    learners = [f"learner_{i}" for i in range(4)]
    make_users(fresh_db, "owner", *learners)
    with learnstore.connect(fresh_db, max_size=1) as store:
        cards = []
        for learner in learners:
            card_set = store.flashcards.create_set(learner, "Verbs")
            cards.append(store.flashcards.add_card(learner, card_set.id, "ser", "to be").id)
    grades = ["good", "easy", "hard", "again"]
    # four learners, each reviewing their card four times at once
    race_threads(
        fresh_db, lambda s, i: s.flashcards.review(learners[i % 4], cards[i % 4], grades[i // 4]), seed=11
    )
    assert sql(fresh_db, "SELECT DISTINCT repetitions FROM user_flashcard_progress") == [(4,)]
    assert scalar(fresh_db, "SELECT count(*) FROM flashcard_reviews") == WRITERS
    assert_no_drift(fresh_db)


# -- dense positions -------------------------------------------------------------------------------


def test_units_added_and_moved_at_once_stay_dense(fresh_db: str) -> None:
    course_id, _ = make_course(fresh_db)

    def act(s: Store, i: int) -> object:
        if i % 4 == 3:
            (unit_id,) = sql(
                fresh_db, "SELECT id FROM units WHERE course_id = %s AND position = 0", [course_id]
            )[0]
            return s.content.move_unit(unit_id, None)
        return s.content.add_unit(course_id, f"Unit {i}", position=0 if i % 2 else None)

    race_threads(fresh_db, act, seed=12)
    positions = [row[0] for row in sql(fresh_db, "SELECT position FROM units ORDER BY position")]
    assert positions == list(range(1 + WRITERS - WRITERS // 4))
    assert_no_drift(fresh_db)


async def test_cards_added_and_deleted_at_once_stay_dense(fresh_db: str) -> None:
    make_users(fresh_db, "owner")
    async with await learnstore.connect_async(fresh_db, max_size=1) as store:
        card_set = await store.flashcards.create_set("owner", "Nouns")
        first = [await store.flashcards.add_card("owner", card_set.id, f"w{i}", "x") for i in range(4)]

    async def act(s: AsyncStore, i: int) -> object:
        if i < 4:
            return await s.flashcards.delete_card("owner", first[i].id)
        return await s.flashcards.add_card("owner", card_set.id, f"n{i}", "y", position=0 if i % 2 else None)

    await race_tasks(fresh_db, act, seed=13)
    positions = [row[0] for row in sql(fresh_db, "SELECT position FROM flashcards ORDER BY position")]
    assert positions == list(range(WRITERS - 4))
    assert_no_drift(fresh_db)


# -- a backfill (one exclusive lock for many users) racing per-user evaluations ----------------------


async def test_backfills_racing_writers_award_everyone_once(fresh_db: str) -> None:
    writers = [f"writer_{i}" for i in range(40)]  # more than 32: the backfill takes the bulk lock
    make_users(fresh_db, *writers)
    course_id, _ = make_course(fresh_db)
    for who in writers:
        make_posts(fresh_db, course_id, who, 1)
    async with await learnstore.connect_async(fresh_db, max_size=1) as store:
        badge = await store.achievements.create("two-posts", "Two posts", ForumPosts(threshold=2))

    async def act(s: AsyncStore, i: int) -> object:
        if i % 2:
            return await s.achievements.backfill(badge.id)
        return await s.forum.create_post(course_id, writers[i], "Second", "Post")

    await race_tasks(fresh_db, act, seed=14)
    assert [awards(fresh_db, writers[i]) for i in range(0, WRITERS, 2)] == [["two-posts"]] * (WRITERS // 2)
    assert scalar(fresh_db, "SELECT count(*) FROM user_achievements") == WRITERS // 2
    assert (
        scalar(fresh_db, "SELECT count(*) FROM notifications WHERE source_type = 'achievement'")
        == WRITERS // 2
    )
    assert_no_drift(fresh_db)


# -- a repair running beside live writers loses none of their writes -------------------------------


async def test_repairs_racing_awards_leave_no_drift(fresh_db: str) -> None:
    likers = [f"liker_{i}" for i in range(WRITERS)]
    make_users(fresh_db, "author", *likers)
    course_id, _ = make_course(fresh_db)
    posts = make_posts(fresh_db, course_id, "author", WRITERS)
    async with await learnstore.connect_async(fresh_db, max_size=1) as store:
        for n in (2, 4, 6, 8):
            await store.achievements.create(f"liked-{n}", f"Liked {n}", LikesReceived(threshold=n), points=n)
        await store.forum.like_post(posts[0], likers[0])
    # no award yet: a stray total, which the repairs fix while the awards add to it
    sql(fresh_db, "INSERT INTO user_points (user_clerk_id, points) VALUES ('author', 1000)")

    async def act(s: AsyncStore, i: int) -> object:
        if i % 2:
            return await s.check(repair=True)
        return await s.forum.like_post(posts[i], likers[i])

    await race_tasks(fresh_db, act, seed=15)
    assert awards(fresh_db, "author") == ["liked-2", "liked-4", "liked-6", "liked-8"]
    assert scalar(fresh_db, "SELECT points FROM user_points WHERE user_clerk_id = 'author'") == 20
    assert_no_drift(fresh_db)


# -- the lock derived state takes before it reads (learnstore_keys_lock, migration 0041) ------------


def _takes(dsn: str, statement: str) -> bool:
    """Whether `statement` gets its locks at once, beside the locks the test's transaction holds."""
    with psycopg.connect(dsn) as other:
        other.execute("SET lock_timeout = '100ms'")
        try:
            other.execute(statement.encode())
        except psycopg.errors.LockNotAvailable:
            return False
        return True


@pytest.mark.parametrize(
    ("held", "wanted", "waits"),
    [
        # one key exclusively: its other lockers wait, another key's do not
        ("ARRAY['ada'], true", "ARRAY['ada'], false", True),
        ("ARRAY['ada'], true", "ARRAY['ada'], true", True),
        ("ARRAY['ada'], true", "ARRAY['bo'], true", False),
        # shared lockers of one key need not queue on each other
        ("ARRAY['ada'], false", "ARRAY['ada'], false", False),
        ("ARRAY['ada'], false", "ARRAY['ada'], true", True),
        # more than 32 keys, or none named, lock the whole scope: every locker waits
        ("array(SELECT 'k' || g FROM generate_series(1, 33) g), false", "ARRAY['zed'], false", True),
        ("NULL, false", "ARRAY['zed'], false", True),
        ("ARRAY['ada'], false", "NULL, true", True),
    ],
)
def test_the_keys_lock_excludes_what_its_modes_promise(
    fresh_db: str, held: str, wanted: str, waits: bool
) -> None:
    with psycopg.connect(fresh_db) as conn:
        conn.execute(f"SELECT learnstore_keys_lock('test.scope', {held})".encode())
        assert _takes(fresh_db, f"SELECT learnstore_keys_lock('test.scope', {wanted})") is not waits
        # another scope never waits for this one
        assert _takes(fresh_db, f"SELECT learnstore_keys_lock('test.other', {wanted})")
    # committed (the connection closed): the locks are gone with the transaction
    assert _takes(fresh_db, f"SELECT learnstore_keys_lock('test.scope', {wanted})")


def test_the_scopes_lockers_share_the_keys_lock(fresh_db: str) -> None:
    """course_points_lock and course_roster_names_lock lock a learner in their own scope (an award
    and a rename of one learner need not queue on each other); lesson_progress_counts_lock locks a
    (learner, course) pair exclusively."""
    with psycopg.connect(fresh_db) as conn:
        conn.execute("SELECT course_points_lock(ARRAY['ada'], true)")
        assert not _takes(fresh_db, "SELECT course_points_lock(ARRAY['ada'], false)")
        assert _takes(fresh_db, "SELECT course_roster_names_lock(ARRAY['ada'], true)")
    course = "00000000-0000-0000-0000-000000000001"
    with psycopg.connect(fresh_db) as conn:
        conn.execute(f"SELECT lesson_progress_counts_lock(ARRAY['ada'], ARRAY['{course}'::uuid])".encode())
        assert not _takes(
            fresh_db, f"SELECT lesson_progress_counts_lock(ARRAY['ada'], ARRAY['{course}'::uuid])"
        )
        assert _takes(fresh_db, f"SELECT lesson_progress_counts_lock(ARRAY['bo'], ARRAY['{course}'::uuid])")
        assert not _takes(fresh_db, "SELECT lesson_progress_counts_lock(NULL, NULL)")


def test_the_keys_lock_is_not_the_apps_to_call(db_conn: psycopg.Connection[Any]) -> None:
    with db_conn.transaction(force_rollback=True):
        db_conn.execute("SET LOCAL ROLE learnstore_app")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db_conn.execute("SELECT learnstore_keys_lock('learnstore.course_points', ARRAY['ada'], true)")
