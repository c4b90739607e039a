"""Following threads and muting notifications on a real database: who follows, who is told of a reply
(once each, never the replier), what a mute keeps out, deleting and reading notifications, races of
follows and of 16 repliers, and what another user may not do under as_user."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import Conflict, InvalidReference, InvalidValue, NotFound, PermissionDenied

AConn = psycopg.AsyncConnection[Any]


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def setup(conn: AConn, *users: str) -> UUID:
    """Users ada (the course's author), bo, cy, dee and `users`, and ada's published course."""
    for clerk_id in ("ada", "bo", "cy", "dee", *users):
        await conn.execute("INSERT INTO users (clerk_id) VALUES (%s)", [clerk_id])
    cur = await conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES ('Grammar', 'ada', 'published', now()) RETURNING id"
    )
    row = await cur.fetchone()
    assert row is not None
    course_id: UUID = row[0]
    return course_id


async def replies_told(conn: AConn, clerk_id: str) -> set[tuple[str, UUID]]:
    """The (type, reply id) of every reply or mention notification of a user."""
    cur = await conn.execute(
        "SELECT type, source_id FROM notifications WHERE user_clerk_id = %s AND source_type = 'forum_reply'"
        " ORDER BY created_at, id",
        [clerk_id],
    )
    rows = [(kind, source) for kind, source in await cur.fetchall()]
    assert len(rows) == len(set(rows))
    return set(rows)


async def test_an_author_follows_their_post_and_a_replier_starts_following(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await setup(adb_conn)
    post = await store.forum.create_post(course, "bo", "Subjunctive", "When?")
    assert await store.follows.is_following(post.id, "bo")
    assert not await store.follows.is_following(post.id, "cy")
    await store.forum.reply(post.id, "cy", "Wishes")
    assert await store.follows.is_following(post.id, "cy")
    followed = await store.follows.list_followed("cy")
    assert [(f.post_id, f.title, f.deleted) for f in followed] == [(post.id, "Subjunctive", False)]


async def test_followers_are_told_of_each_reply_once_and_never_the_replier(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await setup(adb_conn)
    post = await store.forum.create_post(course, "bo", "Subjunctive", "When?")
    assert (await store.follows.follow(post.id, "dee")).changed
    assert not (await store.follows.follow(post.id, "dee")).changed  # idempotent
    first = await store.forum.reply(post.id, "cy", "Wishes")
    assert await replies_told(adb_conn, "bo") == {("reply", first.id)}
    assert await replies_told(adb_conn, "dee") == {("reply", first.id)}
    assert await replies_told(adb_conn, "cy") == set()  # never the replier
    # cy follows now: told of bo's reply; bo (the replier) is not told of their own
    second = await store.forum.reply(post.id, "bo", "Thanks")
    assert await replies_told(adb_conn, "cy") == {("reply", second.id)}
    assert await replies_told(adb_conn, "bo") == {("reply", first.id)}
    # a follower who is mentioned is told once, of the reply; one who muted replies, of the mention
    await store.follows.mute("bo", "reply")
    third = await store.forum.reply(post.id, "cy", "@dee @bo see this")
    assert await replies_told(adb_conn, "dee") == {
        ("reply", first.id),
        ("reply", second.id),
        ("reply", third.id),
    }
    assert await replies_told(adb_conn, "bo") == {("reply", first.id), ("mention", third.id)}


async def test_unfollowing_stops_reply_notices_but_not_direct_answers(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await setup(adb_conn)
    post = await store.forum.create_post(course, "bo", "Subjunctive", "When?")
    mine = await store.forum.reply(post.id, "dee", "I wonder too")
    assert (await store.follows.unfollow(post.id, "bo")).changed
    assert not (await store.follows.unfollow(post.id, "bo")).changed
    assert (await store.follows.unfollow(post.id, "dee")).changed
    await store.forum.reply(post.id, "cy", "To the thread")
    answer = await store.forum.reply(post.id, "cy", "To dee", parent_reply_id=mine.id)
    assert await replies_told(adb_conn, "bo") == {("reply", mine.id)}  # before the unfollow only
    assert await replies_told(adb_conn, "dee") == {("reply", answer.id)}  # an answer to their reply


async def test_follow_refuses_what_cannot_be_followed_naming_the_field(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await setup(adb_conn)
    post = await store.forum.create_post(course, "bo", "Gone", "Soon")
    await store.forum.reply(post.id, "cy", "keeps a tombstone")
    await store.forum.delete_post(post.id, "bo")
    with pytest.raises(Conflict) as conflict:
        await store.follows.follow(post.id, "dee")
    assert conflict.value.field == "post_id"
    with pytest.raises(NotFound) as missing:
        await store.follows.follow(uuid4(), "dee")
    assert missing.value.field == "post_id"
    with pytest.raises(NotFound):
        await store.follows.unfollow(uuid4(), "dee")
    with pytest.raises(InvalidValue) as bad:
        await store.follows.follow("nope", "dee")  # type: ignore[arg-type]
    assert bad.value.field == "post_id"
    live = await store.forum.create_post(course, "bo", "Live", "Body")
    with pytest.raises(InvalidReference) as ghost:
        await store.follows.follow(live.id, "ghost")
    assert ghost.value.field == "user_clerk_id"


async def test_a_hidden_post_is_followed_only_by_who_may_see_it(store: AsyncStore, adb_conn: AConn) -> None:
    course = await setup(adb_conn)
    post = await store.forum.create_post(course, "bo", "Hidden", "Body")
    await adb_conn.execute("UPDATE forum_posts SET hidden_at = now() WHERE id = %s", [post.id])
    with pytest.raises(NotFound):
        await store.as_user("cy").follows.follow(post.id, "cy")
    assert not (await store.as_user("bo").follows.follow(post.id, "bo")).changed


async def test_a_muted_type_is_never_written_by_any_writer(store: AsyncStore, adb_conn: AConn) -> None:
    course = await setup(adb_conn)
    post = await store.forum.create_post(course, "bo", "Subjunctive", "When?")
    assert await store.follows.mute("bo", "like")
    assert not await store.follows.mute("bo", "like")
    assert await store.follows.mute("bo", "reply")
    assert await store.follows.list_muted("bo") == ["like", "reply"]
    await store.forum.like_post(post.id, "cy")
    await store.forum.reply(post.id, "cy", "A reply, and @bo")  # a mention still arrives
    cur = await adb_conn.execute("SELECT type FROM notifications WHERE user_clerk_id = 'bo' ORDER BY type")
    assert [t for (t,) in await cur.fetchall()] == ["mention"]
    with pytest.raises(Conflict) as muted:
        await store.users.notify("bo", "like", "A like, by the service")
    assert muted.value.field == "type"
    assert (await store.users.notify("bo", "system", "System notices cannot be muted")).type == "system"
    with pytest.raises(InvalidValue) as system:
        await store.follows.mute("bo", "system")  # type: ignore[arg-type]
    assert system.value.field == "type"
    assert await store.follows.unmute("bo", "like")
    assert not await store.follows.unmute("bo", "like")
    await store.forum.like_post(post.id, "dee")
    assert (await store.users.count_unread("bo")) == 3


async def test_notifications_are_deleted_one_all_or_the_read_ones(store: AsyncStore, adb_conn: AConn) -> None:
    await setup(adb_conn)
    notes = [await store.users.notify("bo", "system", f"Note {n}") for n in range(4)]
    await store.users.notify("cy", "system", "Not bo's")
    assert await store.users.delete_notification("bo", notes[0].id)
    assert not await store.users.delete_notification("bo", notes[0].id)
    assert not await store.users.delete_notification("cy", notes[1].id)  # not cy's
    assert await store.users.mark_read("bo", notes[1].id)
    assert await store.users.delete_notifications("bo", read_only=True) == 1
    assert await store.users.mark_all_read("bo") == 2
    assert await store.users.count_unread("bo") == 0
    assert await store.users.delete_notifications("bo") == 2
    assert await store.users.list_notifications("bo") == []
    assert len(await store.users.list_notifications("cy")) == 1
    with pytest.raises(InvalidValue) as bad:
        await store.users.delete_notifications("bo", read_only="yes")  # type: ignore[arg-type]
    assert bad.value.field == "read_only"


async def test_followed_threads_come_latest_first_in_keyset_pages(store: AsyncStore, adb_conn: AConn) -> None:
    course = await setup(adb_conn)
    posts = [await store.forum.create_post(course, "bo", f"Post {n}", "Body") for n in range(3)]
    for n, post in enumerate(posts):
        await adb_conn.execute(
            "UPDATE forum_thread_follows SET created_at = now() + %s * interval '1 second'"
            " WHERE post_id = %s",
            [n, post.id],
        )
    first = await store.follows.list_followed("bo", limit=2)
    assert [f.title for f in first] == ["Post 2", "Post 1"]
    rest = await store.follows.list_followed("bo", limit=2, before=first[-1])
    assert [f.title for f in rest] == ["Post 0"]


# ---- under as_user --------------------------------------------------------------------------------


async def test_nobody_follows_mutes_or_deletes_for_someone_else_nor_reads_their_follows(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await setup(adb_conn)
    post = await store.forum.create_post(course, "bo", "Subjunctive", "When?")
    await store.follows.mute("bo", "like")
    note = await store.users.notify("bo", "system", "Bo's")
    cy = store.as_user("cy")
    with pytest.raises(PermissionDenied):
        await cy.follows.follow(post.id, "dee")
    with pytest.raises(PermissionDenied):
        await cy.follows.mute("bo", "mention")
    assert not (await cy.follows.unfollow(post.id, "bo")).changed  # bo's follow is not cy's to see
    assert not await cy.follows.unmute("bo", "like")
    assert await cy.follows.list_followed("bo") == []
    assert not await cy.follows.is_following(post.id, "bo")
    assert await cy.follows.list_muted("bo") == []
    assert not await cy.users.delete_notification("bo", note.id)
    assert await cy.users.delete_notifications("bo") == 0
    # what bo has is untouched, and bo may do all of it
    bo = store.as_user("bo")
    assert await bo.follows.is_following(post.id, "bo") and await bo.follows.list_muted("bo") == ["like"]
    assert (await cy.follows.follow(post.id, "cy")).changed
    assert await bo.users.delete_notification("bo", note.id)
    # a reply as cy tells bo (a follower) through the trigger, though cy may not write bo's rows
    reply = await cy.forum.reply(post.id, "cy", "Wishes")
    assert await replies_told(adb_conn, "bo") == {("reply", reply.id)}


# ---- races ------------------------------------------------------------------------------------------


async def test_two_follows_at_once_make_one_follow(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        course = await setup(conn)
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        post = await store.forum.create_post(course, "bo", "Hot", "Take")
        for _ in range(5):  # rounds: each starts from no follow
            await store.follows.unfollow(post.id, "cy")
            results = await asyncio.gather(
                *(store.as_user("cy").follows.follow(post.id, "cy") for _ in range(16))
            )
            assert sorted(r.changed for r in results) == [False] * 15 + [True]
    with psycopg.connect(fresh_db) as check:
        row = check.execute("SELECT count(*) FROM forum_thread_follows WHERE user_clerk_id = 'cy'").fetchone()
        assert row == (1,)


async def test_16_repliers_at_once_tell_each_follower_of_each_reply_exactly_once(fresh_db: str) -> None:
    repliers = [f"r{n}" for n in range(16)]
    followers = ["cy", "dee", "f1", "f2"]
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        course = await setup(conn, "f1", "f2", *repliers)
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        post = await store.forum.create_post(course, "bo", "Hot", "Take")
        for follower in followers:
            await store.follows.follow(post.id, follower)
        await store.follows.mute("f2", "reply")  # a follower who muted replies hears of none
        made = await asyncio.gather(
            *(store.as_user(r).forum.reply(post.id, r, f"Reply by {r}") for r in repliers for _ in range(2))
        )
    by = {reply.id: reply.author_clerk_id for reply in made}
    with psycopg.connect(fresh_db) as check:
        notices = check.execute(
            "SELECT user_clerk_id, source_id FROM notifications"
            " WHERE type = 'reply' AND source_type = 'forum_reply'"
        ).fetchall()
        follows = check.execute(
            "SELECT user_clerk_id FROM forum_thread_follows WHERE post_id = %s", [post.id]
        )
        following = {user for (user,) in follows}
    per_pair = Counter(notices)
    assert max(per_pair.values()) == 1  # nobody is told of one reply twice
    assert all(by[reply] != user for user, reply in per_pair)  # never the replier
    for user in ["bo", "cy", "dee", "f1"]:  # followers from before: told of every reply
        assert {reply for u, reply in per_pair if u == user} == set(by), user
    assert not [reply for u, reply in per_pair if u == "f2"]
    # a replier followed from their first reply: told of the replies committed after it, never their own
    for replier in repliers:
        told = {reply for u, reply in per_pair if u == replier}
        assert told <= {reply for reply, author in by.items() if author != replier}
    assert following == {"bo", *followers, *repliers}


def test_the_sync_store_follows_and_mutes(db_conn: psycopg.Connection[Any]) -> None:
    db_conn.execute("INSERT INTO users (clerk_id) VALUES ('a'), ('b')")
    row = db_conn.execute(
        "INSERT INTO courses (title, author_clerk_id) VALUES ('C', 'a') RETURNING id"
    ).fetchone()
    assert row is not None
    store = Store.on(db_conn)
    post = store.forum.create_post(row[0], "a", "T", "B")
    assert store.follows.follow(post.id, "b").changed
    assert store.follows.mute("a", "reply")
    store.forum.reply(post.id, "b", "R")
    assert store.users.count_unread("a") == 0
    assert store.follows.list_muted("a") == ["reply"]
