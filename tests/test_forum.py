"""Forum threads on a real database: posts, nested replies, the one-query thread, exact likes under
a 32-thread race, the notifications each write causes, tombstones, and hostile input."""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import pq

import learnstore
from learnstore import AsyncStore, Store
from learnstore._resources import queries_dir
from learnstore.errors import Conflict, InvalidReference, InvalidValue, NotFound, PermissionDenied
from learnstore.queries._loader import parse_dir
from learnstore.repositories.forum_async import mentions_in

AConn = psycopg.AsyncConnection[Any]


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def make_user(conn: AConn, clerk_id: str, first: str | None = None, last: str | None = None) -> str:
    await conn.execute(
        "INSERT INTO users (clerk_id, first_name, last_name) VALUES (%s, %s, %s)", [clerk_id, first, last]
    )
    return clerk_id


async def make_course(conn: AConn, author: str = "author", title: str = "Portuguese") -> UUID:
    cur = await conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES (%s, %s, 'published', now()) RETURNING id",
        [title, author],
    )
    row = await cur.fetchone()
    assert row is not None
    course_id: UUID = row[0]
    return course_id


async def world(conn: AConn) -> UUID:
    """Users author (Ada Lovelace), bob, cy, and a course by author."""
    await make_user(conn, "author", "Ada", "Lovelace")
    await make_user(conn, "bob", "Bob", None)
    await make_user(conn, "cy")
    return await make_course(conn)


async def world_in(dsn: str, *more_users: str) -> UUID:
    """`world` committed in the database at `dsn`, with more users."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        for user in more_users:
            await make_user(conn, user)
        return await world(conn)


async def scalar(conn: AConn, query: str, params: list[Any] | None = None) -> Any:
    cur = await conn.execute(query.encode(), params)
    row = await cur.fetchone()
    assert row is not None
    return row[0]


async def counts(conn: AConn) -> tuple[int, ...]:
    """Rows of every table a community write touches: proves that a refused call wrote nothing."""
    return tuple(
        [
            await scalar(conn, f"SELECT count(*) FROM {table}")
            for table in (
                "forum_posts",
                "forum_replies",
                "forum_post_likes",
                "forum_reply_likes",
                "notifications",
            )
        ]
    )


async def notifications(conn: AConn, clerk_id: str) -> list[tuple[str, str | None]]:
    cur = await conn.execute(
        "SELECT type, metadata ->> 'by' FROM notifications WHERE user_clerk_id = %s ORDER BY type, 2",
        [clerk_id],
    )
    return [(t, by) for t, by in await cur.fetchall()]


# -- posts ------------------------------------------------------------------------------------------


async def test_a_post_is_created_edited_and_listed(store: AsyncStore, adb_conn: AConn) -> None:
    course = await world(adb_conn)
    post = await store.forum.create_post(course, "bob", "Pronunciation", "How do I say ão?")
    assert (post.course_id, post.author_clerk_id, post.edited_at, post.deleted_at) == (
        course,
        "bob",
        None,
        None,
    )

    edited = await store.forum.edit_post(post.id, "bob", body="How do I say 'ão'?")
    assert edited.title == "Pronunciation" and edited.body == "How do I say 'ão'?"
    assert edited.edited_at is not None

    [listed] = await store.forum.list_posts(course)
    assert (listed.id, listed.author_name, listed.reply_count, listed.like_count) == (post.id, "Bob", 0, 0)


async def test_only_the_author_edits_a_post_and_a_refused_edit_changes_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await world(adb_conn)
    post = await store.forum.create_post(course, "bob", "Title", "Body")
    with pytest.raises(PermissionDenied) as refused:
        await store.forum.edit_post(post.id, "cy", body="Mine now")
    assert refused.value.field == "author_clerk_id"
    with pytest.raises(PermissionDenied):
        await store.forum.edit_post(post.id, "author", title="Course authors moderate, not rewrite")
    assert (await store.forum.get_post(post.id)).body == "Body"
    with pytest.raises(NotFound):
        await store.forum.edit_post(uuid4(), "bob", body="x")


async def test_hostile_post_input_is_refused_before_the_database(store: AsyncStore, adb_conn: AConn) -> None:
    course = await world(adb_conn)
    before = await counts(adb_conn)
    cases: list[tuple[Any, ...]] = [
        (course, "bob", "T", "x" * 1_000_000),  # a 1 MB body
        (course, "bob", "T", "   "),
        (course, "bob", "x" * 301, "B"),
        (course, "bob", 42, "B"),
        ("not-a-uuid", "bob", "T", "B"),
        (course, "", "T", "B"),
        (course, "x" * 65, "T", "B"),
    ]
    for case in cases:
        with pytest.raises(InvalidValue):
            await store.forum.create_post(*case)
    with pytest.raises(InvalidReference, match="course_id"):
        await store.forum.create_post(uuid4(), "bob", "T", "B")
    with pytest.raises(InvalidReference, match="author_clerk_id"):
        await store.forum.create_post(course, "ghost", "T", "B")
    # SQL metacharacters are data
    evil = "'); DROP TABLE forum_posts; --"
    post = await store.forum.create_post(course, "bob", evil, evil + " %s %(x)s $1")
    assert (await store.forum.get_post(post.id)).body == evil + " %s %(x)s $1"
    assert await counts(adb_conn) == (before[0] + 1, *before[1:])


async def test_posts_page_newest_first_and_by_activity(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db) as store:
        course = await world_in(fresh_db)
        posts = [await store.forum.create_post(course, "bob", f"Post {i}", "Body") for i in range(5)]
        first = await store.forum.list_posts(course, limit=2)
        second = await store.forum.list_posts(course, limit=2, before=first[-1])
        third = await store.forum.list_posts(course, limit=2, before=second[-1])
        assert [p.id for p in first + second + third] == [p.id for p in reversed(posts)]

        await store.forum.reply(posts[1].id, "cy", "A reply")
        await store.forum.reply(posts[1].id, "author", "Another")
        await store.forum.like_post(posts[3].id, "cy")
        active = await store.forum.list_active_posts(course, limit=2)
        assert [(p.id, p.activity) for p in active] == [(posts[1].id, 2), (posts[3].id, 1)]
        rest = await store.forum.list_active_posts(course, limit=10, before=active[-1])
        assert [p.id for p in rest] == [posts[4].id, posts[2].id, posts[0].id]


# -- replies and the thread --------------------------------------------------------------------------


async def test_a_thread_comes_back_in_tree_order_with_depth_names_and_likes(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db) as store:
        course = await world_in(fresh_db)
        post = await store.forum.create_post(course, "author", "Question", "Body")
        a = await store.forum.reply(post.id, "bob", "a")
        b = await store.forum.reply(post.id, "cy", "b")
        a1 = await store.forum.reply(post.id, "cy", "a1", parent_reply_id=a.id)
        a1x = await store.forum.reply(post.id, "author", "a1x", parent_reply_id=a1.id)
        a2 = await store.forum.reply(post.id, "author", "a2", parent_reply_id=a.id)
        b1 = await store.forum.reply(post.id, "bob", "b1", parent_reply_id=b.id)
        await store.forum.like_reply(a1.id, "bob")
        await store.forum.like_reply(a1.id, "author")
        await store.forum.like_post(post.id, "cy")

        thread = await store.forum.get_thread(post.id, viewer_clerk_id="bob")
        assert (thread.post.id, thread.post.depth, thread.post.title, thread.post.author_name) == (
            post.id,
            0,
            "Question",
            "Ada Lovelace",
        )
        assert (thread.post.like_count, thread.post.liked_by_viewer) == (1, False)
        shape = [(r.id, r.depth, r.parent_reply_id, r.body) for r in thread.replies]
        assert shape == [
            (a.id, 1, None, "a"),
            (a1.id, 2, a.id, "a1"),
            (a1x.id, 3, a1.id, "a1x"),
            (a2.id, 2, a.id, "a2"),
            (b.id, 1, None, "b"),
            (b1.id, 2, b.id, "b1"),
        ]
        by_id = {r.id: r for r in thread.replies}
        assert (by_id[a1.id].like_count, by_id[a1.id].liked_by_viewer) == (2, True)
        assert by_id[b.id].author_name == "cy"  # no name: the clerk id
        assert all(r.title is None for r in thread.replies)


async def test_a_parent_from_another_post_or_course_is_refused_and_writes_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await world(adb_conn)
    other_course = await make_course(adb_conn, title="Other")
    post = await store.forum.create_post(course, "bob", "Mine", "Body")
    sibling = await store.forum.create_post(course, "bob", "Sibling", "Body")
    foreign = await store.forum.create_post(other_course, "bob", "Foreign", "Body")
    sibling_reply = await store.forum.reply(sibling.id, "cy", "there")
    foreign_reply = await store.forum.reply(foreign.id, "cy", "elsewhere")
    before = await counts(adb_conn)
    for parent in (sibling_reply.id, foreign_reply.id, uuid4()):
        with pytest.raises(InvalidReference) as refused:
            await store.forum.reply(post.id, "cy", "misplaced", parent_reply_id=parent)
        assert "parent_reply_id" in str(refused.value)
        assert refused.value.constraint == "forum_replies_parent_reply_id_fkey"
    with pytest.raises(NotFound, match="post"):
        await store.forum.reply(uuid4(), "cy", "nowhere")
    with pytest.raises(InvalidValue):
        await store.forum.reply(post.id, "cy", "x" * 50_001)
    assert await counts(adb_conn) == before


async def test_a_cycle_cannot_be_written_even_in_plain_sql(store: AsyncStore, adb_conn: AConn) -> None:
    course = await world(adb_conn)
    post = await store.forum.create_post(course, "bob", "T", "B")
    a = await store.forum.reply(post.id, "cy", "a")
    b = await store.forum.reply(post.id, "cy", "b", parent_reply_id=a.id)
    with pytest.raises(psycopg.errors.CheckViolation):
        async with adb_conn.transaction():
            await adb_conn.execute("UPDATE forum_replies SET parent_reply_id = id WHERE id = %s", [a.id])
    # the repository never moves a reply; a reply is only ever created under an existing one
    thread = await store.forum.get_thread(post.id)
    assert [(r.id, r.depth) for r in thread.replies] == [(a.id, 1), (b.id, 2)]


async def test_deleting_keeps_threads_readable_as_tombstones(store: AsyncStore, adb_conn: AConn) -> None:
    course = await world(adb_conn)
    post = await store.forum.create_post(course, "bob", "Q", "Body")
    a = await store.forum.reply(post.id, "cy", "a")
    a1 = await store.forum.reply(post.id, "author", "a1", parent_reply_id=a.id)
    lonely = await store.forum.create_post(course, "bob", "Nobody answers", "Body")

    assert await store.forum.delete_reply(a.id, "cy") == "tombstoned"
    assert await store.forum.delete_post(post.id, "bob") == "tombstoned"
    assert await store.forum.delete_post(lonely.id, "author") == "deleted"  # the course's author moderates
    with pytest.raises(NotFound):
        await store.forum.get_post(lonely.id)

    thread = await store.forum.get_thread(post.id)
    assert (thread.post.deleted, thread.post.title, thread.post.body) == (True, "[deleted]", "[deleted]")
    assert [(r.id, r.deleted, r.body) for r in thread.replies] == [
        (a.id, True, "[deleted]"),
        (a1.id, False, "a1"),
    ]

    before = await counts(adb_conn)
    with pytest.raises(Conflict, match="deleted"):
        await store.forum.like_post(post.id, "cy")
    with pytest.raises(Conflict, match="deleted"):
        await store.forum.reply(post.id, "cy", "too late")
    with pytest.raises(Conflict):
        await store.forum.edit_post(post.id, "bob", body="back")
    with pytest.raises(Conflict):
        await store.forum.like_reply(a.id, "bob")

    with pytest.raises(PermissionDenied):
        await store.forum.delete_reply(a1.id, "bob")
    assert await counts(adb_conn) == before
    assert await store.forum.delete_reply(a1.id, "author") == "deleted"


async def test_a_deleted_reply_takes_no_answers(store: AsyncStore, adb_conn: AConn) -> None:
    course = await world(adb_conn)
    post = await store.forum.create_post(course, "bob", "Q", "Body")
    a = await store.forum.reply(post.id, "cy", "a")
    await store.forum.reply(post.id, "bob", "a1", parent_reply_id=a.id)
    assert await store.forum.delete_reply(a.id, "cy") == "tombstoned"
    before = await counts(adb_conn)
    with pytest.raises(Conflict) as refused:
        await store.forum.reply(post.id, "bob", "to a deleted reply", parent_reply_id=a.id)
    assert refused.value.field == "parent_reply_id"
    assert await counts(adb_conn) == before
    await store.forum.reply(post.id, "bob", "the post itself still takes replies")


async def test_an_erased_user_reads_as_deleted_user_and_counts_stay_exact(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await world(adb_conn)
    post = await store.forum.create_post(course, "bob", "Q", "Body")
    reply = await store.forum.reply(post.id, "bob", "my own answer")
    await store.forum.like_post(post.id, "bob")
    await store.forum.like_post(post.id, "cy")
    await store.forum.like_reply(reply.id, "bob")
    await store.users.erase("bob")
    thread = await store.forum.get_thread(post.id)
    assert (thread.post.author_name, thread.post.author_clerk_id, thread.post.like_count) == (
        "deleted user",
        None,
        1,
    )
    assert (thread.replies[0].author_name, thread.replies[0].body, thread.replies[0].like_count) == (
        "deleted user",
        "my own answer",
        0,
    )
    [listed] = await store.forum.list_posts(course)
    assert (listed.author_name, listed.like_count, listed.reply_count) == ("deleted user", 1, 1)


async def test_the_thread_of_an_unknown_post_is_not_found(store: AsyncStore) -> None:
    with pytest.raises(NotFound):
        await store.forum.get_thread(uuid4())
    with pytest.raises(InvalidValue):
        await store.forum.get_thread("nope")  # type: ignore[arg-type]


# -- likes and notifications ---------------------------------------------------------------------------


async def test_likes_are_idempotent_and_say_what_they_did(store: AsyncStore, adb_conn: AConn) -> None:
    course = await world(adb_conn)
    post = await store.forum.create_post(course, "bob", "Q", "Body")
    assert (await store.forum.like_post(post.id, "cy")).model_dump() == {"changed": True, "like_count": 1}
    assert (await store.forum.like_post(post.id, "cy")).model_dump() == {"changed": False, "like_count": 1}
    assert (await store.forum.like_post(post.id, "author")).like_count == 2
    assert (await store.forum.unlike_post(post.id, "cy")).model_dump() == {"changed": True, "like_count": 1}
    assert (await store.forum.unlike_post(post.id, "cy")).model_dump() == {"changed": False, "like_count": 1}
    with pytest.raises(NotFound):
        await store.forum.like_post(uuid4(), "cy")
    with pytest.raises(NotFound):
        await store.forum.unlike_reply(uuid4(), "cy")
    with pytest.raises(InvalidReference, match="clerk_id"):
        await store.forum.like_post(post.id, "ghost")


async def test_a_like_notifies_the_author_once_per_liker_never_the_liker(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await world(adb_conn)
    post = await store.forum.create_post(course, "bob", "Q", "Body")
    reply = await store.forum.reply(post.id, "cy", "A")
    await store.forum.like_post(post.id, "cy")
    await store.forum.unlike_post(post.id, "cy")
    await store.forum.like_post(post.id, "cy")
    await store.forum.like_post(post.id, "bob")  # one's own post: no notification
    await store.forum.like_reply(reply.id, "author")
    await store.forum.unlike_reply(reply.id, "author")
    await store.forum.like_reply(reply.id, "author")
    assert await notifications(adb_conn, "bob") == [("like", "cy"), ("reply", "cy")]
    assert await notifications(adb_conn, "cy") == [("like", "author")]


async def test_replies_and_mentions_notify_in_the_same_statement(store: AsyncStore, adb_conn: AConn) -> None:
    course = await world(adb_conn)
    await make_user(adb_conn, "dee")
    post = await store.forum.create_post(
        course, "bob", "Q", "Hello @cy and @nobody, mail me at x@dee.example"
    )
    assert await notifications(adb_conn, "cy") == [("mention", "bob")]
    assert await notifications(adb_conn, "dee") == []  # an email address is not a mention

    a = await store.forum.reply(post.id, "cy", "@bob @dee @cy see this.")
    # bob: the post's author, notified once (reply, not also mention); dee: mentioned; cy: never herself
    assert await notifications(adb_conn, "bob") == [("reply", "cy")]
    assert await notifications(adb_conn, "dee") == [("mention", "cy")]
    assert await notifications(adb_conn, "cy") == [("mention", "bob")]

    await store.forum.reply(post.id, "author", "nested", parent_reply_id=a.id)
    assert await notifications(adb_conn, "cy") == [("mention", "bob"), ("reply", "author")]
    assert await notifications(adb_conn, "bob") == [("reply", "author"), ("reply", "cy")]


def test_mentions_are_clerk_ids_after_an_at_sign() -> None:
    assert mentions_in("@ada, @bob_2. (@cy-d) a@b.c @ada @") == ["ada", "bob_2", "cy-d"]
    assert len(mentions_in(" ".join(f"@u{i}" for i in range(100)))) == 50


# -- round trips, indexes and races -------------------------------------------------------------------


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


async def test_each_forum_operation_is_one_round_trip(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        course = await world(conn)
        store = AsyncStore.on(conn)
        post = await store.forum.create_post(course, "bob", "Q", "@cy look")
        reply = await store.forum.reply(post.id, "cy", "first")
        for _ in range(20):
            reply = await store.forum.reply(post.id, "bob", "deeper", parent_reply_id=reply.id)
        operations: dict[str, Any] = {
            "create_post": lambda: store.forum.create_post(course, "bob", "Q2", "@cy hi"),
            "reply": lambda: store.forum.reply(post.id, "author", "@bob yes", parent_reply_id=reply.id),
            "like_post": lambda: store.forum.like_post(post.id, "cy"),
            "unlike_post": lambda: store.forum.unlike_post(post.id, "cy"),
            "like_reply": lambda: store.forum.like_reply(reply.id, "cy"),
            "edit_post": lambda: store.forum.edit_post(post.id, "bob", body="edited"),
            "list_posts": lambda: store.forum.list_posts(course),
            "list_active_posts": lambda: store.forum.list_active_posts(course),
            "get_thread": lambda: store.forum.get_thread(post.id, viewer_clerk_id="cy"),
        }
        for name, operation in operations.items():
            with round_trips(conn) as trips:
                await operation()
            assert len(trips) == 1, (name, trips)
        thread = await store.forum.get_thread(post.id)
        assert len(thread.replies) == 22 and thread.replies[-1].depth == 22


async def test_the_thread_query_reads_likes_and_children_through_indexes(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        store = Store.on(conn)
        conn.execute("INSERT INTO users (clerk_id) VALUES ('a'), ('b')")
        course = conn.execute("INSERT INTO courses (title) VALUES ('C') RETURNING id").fetchone()
        assert course is not None
        post = store.forum.create_post(course[0], "a", "T", "B")
        # enough rows that a sequential scan would lose
        conn.execute(
            "INSERT INTO forum_posts (course_id, title, body)"
            " SELECT %s, 'x', 'y' FROM generate_series(1, 2000)",
            [course[0]],
        )
        conn.execute(
            "INSERT INTO forum_replies (post_id, body) SELECT id, 'r' FROM forum_posts WHERE title = 'x'"
        )
        conn.execute("INSERT INTO forum_post_likes (post_id, user_clerk_id) SELECT id, 'b' FROM forum_posts")
        conn.execute(
            "INSERT INTO forum_reply_likes (reply_id, user_clerk_id) SELECT id, 'b' FROM forum_replies"
        )
        conn.execute("ANALYZE")
        store.forum.reply(post.id, "b", "r")
        query = next(q for q in parse_dir(queries_dir()) if q.name == "GetThread")
        plan = conn.execute(
            f"EXPLAIN {query.psycopg_sql}".encode(), {"post_id": post.id, "viewer_clerk_id": "b"}
        ).fetchall()
        lines = "\n".join(row[0] for row in plan)
        # the replies are walked by index; each node's likes are counted from the unique index
        assert "Seq Scan on forum_replies" not in lines, lines
        assert "Seq Scan on forum_posts" not in lines, lines
        assert "Index Only Scan using forum_reply_likes_reply_user_key" in lines, lines
        assert "forum_post_likes_post_user_key" in lines


async def test_32_threads_liking_and_unliking_one_post_leave_the_exact_count(fresh_db: str) -> None:
    users = [f"user_{i}" for i in range(32)]
    async with await learnstore.connect_async(fresh_db, max_size=32) as store:
        course = await world_in(fresh_db, *users)
        post = await store.forum.create_post(course, "bob", "Hot", "Take")
        rng = random.Random(9)
        plans = {user: [rng.choice(["like", "unlike"]) for _ in range(12)] for user in users}

        async def run(user: str) -> None:
            for action in plans[user]:
                if action == "like":
                    await store.forum.like_post(post.id, user)
                else:
                    await store.forum.unlike_post(post.id, user)

        await asyncio.gather(*(run(user) for user in users))
        expected = sum(1 for user in users if plans[user][-1] == "like")
        thread = await store.forum.get_thread(post.id)
        assert thread.post.like_count == expected
        notified = await store.users.list_notifications("bob", limit=100)
        likers = {
            dict(n.metadata)["by"] for n in notified if n.type == "like" and isinstance(n.metadata, dict)
        }
        assert likers == {user for user in users if "like" in plans[user]}
        assert len([n for n in notified if n.type == "like"]) == len(likers)  # once per liker


def test_the_sync_store_runs_a_thread(db_conn: psycopg.Connection[Any]) -> None:
    db_conn.execute("INSERT INTO users (clerk_id) VALUES ('a'), ('b')")
    row = db_conn.execute(
        "INSERT INTO courses (title, author_clerk_id) VALUES ('C', 'a') RETURNING id"
    ).fetchone()
    assert row is not None
    store = Store.on(db_conn)
    post = store.forum.create_post(row[0], "a", "T", "B")
    reply = store.forum.reply(post.id, "b", "R")
    assert store.forum.like_reply(reply.id, "a").changed
    thread = store.forum.get_thread(post.id, viewer_clerk_id="a")
    assert [(n.depth, n.liked_by_viewer) for n in [thread.post, *thread.replies]] == [(0, False), (1, True)]
