"""A user's forum activity summary since migration 0027: one counter row (forum_user_activity) kept by
triggers, exactly what the summary counted at read time before (REFERENCE below, that statement),
for every viewer (the service, a moderator, the user, anyone else) after every kind of write: posts,
replies, likes and unlikes, hides and unhides, tombstones and deletions, an erasure; under 16 racing
writers; checked and repaired by `store.check()`; written by nobody under `as_user`; filled by the
migration's backfill. The counts are sharded (up to 16 rows per user, summed)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import pytest
from test_races import WRITERS, race_threads, scalar, sql

import learnstore
from learnstore import Store, migrate
from learnstore._resources import queries_dir
from learnstore.queries._loader import parse_dir

Conn = psycopg.Connection[Any]

# GetForumActivitySummary as it was before 0027: every count made at read time.
REFERENCE = """
SELECT u.clerk_id,
       (SELECT count(*) FROM forum_posts p
        WHERE p.author_clerk_id = u.clerk_id AND p.deleted_at IS NULL
          AND learnstore_visible(p.hidden_at, p.author_clerk_id)) AS posts,
       (SELECT count(*) FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id
        WHERE r.author_clerk_id = u.clerk_id AND r.deleted_at IS NULL
          AND learnstore_visible(r.hidden_at, r.author_clerk_id)
          AND learnstore_visible(p.hidden_at, p.author_clerk_id)) AS replies,
       ((SELECT count(*) FROM forum_post_likes l JOIN forum_posts p ON p.id = l.post_id
         WHERE l.user_clerk_id = u.clerk_id AND p.deleted_at IS NULL
           AND learnstore_visible(p.hidden_at, p.author_clerk_id))
        + (SELECT count(*) FROM forum_reply_likes l JOIN forum_replies r ON r.id = l.reply_id
           JOIN forum_posts p ON p.id = r.post_id
           WHERE l.user_clerk_id = u.clerk_id AND r.deleted_at IS NULL
             AND learnstore_visible(r.hidden_at, r.author_clerk_id)
             AND learnstore_visible(p.hidden_at, p.author_clerk_id)))::bigint AS likes_given,
       ((SELECT coalesce(sum((SELECT count(*) FROM forum_post_likes l WHERE l.post_id = p.id)), 0)
         FROM forum_posts p
         WHERE p.author_clerk_id = u.clerk_id AND p.deleted_at IS NULL
           AND learnstore_visible(p.hidden_at, p.author_clerk_id))
        + (SELECT coalesce(sum((SELECT count(*) FROM forum_reply_likes l WHERE l.reply_id = r.id)), 0)
           FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id
           WHERE r.author_clerk_id = u.clerk_id AND r.deleted_at IS NULL
             AND learnstore_visible(r.hidden_at, r.author_clerk_id)
             AND learnstore_visible(p.hidden_at, p.author_clerk_id)))::bigint AS likes_received
FROM users u WHERE u.clerk_id = %(clerk_id)s
"""
SUMMARY = next(q for q in parse_dir(queries_dir()) if q.name == "GetForumActivitySummary").psycopg_sql
PEOPLE = ("ada", "bo", "cy", "di", "mo")
VIEWERS = (None, *PEOPLE)


def course(conn: Conn, title: str) -> UUID:
    row = conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES (%s, 'ada', 'published', now()) RETURNING id",
        [title],
    ).fetchone()
    assert row is not None
    course_id: UUID = row[0]
    return course_id


def setup_people(conn: Conn, *extra: str) -> None:
    for clerk_id in (*PEOPLE, *extra):
        conn.execute("INSERT INTO users (clerk_id, first_name) VALUES (%s, %s)", [clerk_id, clerk_id.title()])
    conn.execute("INSERT INTO site_roles (user_clerk_id, role) VALUES ('mo', 'moderator')")


@pytest.fixture
def viewing(db_conn: Conn) -> Any:
    def both(viewer: str | None, clerk_id: str) -> tuple[Any, Any]:
        """(the summary, the reference) of clerk_id as viewer sees them, on learnstore_app."""
        with db_conn.transaction(force_rollback=True):
            db_conn.execute("SELECT set_config('learnstore.clerk_id', %s, true)", [viewer or ""])
            db_conn.execute("SET LOCAL ROLE learnstore_app")
            ours = db_conn.execute(SUMMARY.encode(), {"clerk_id": clerk_id}).fetchone()
            reference = db_conn.execute(REFERENCE.encode(), {"clerk_id": clerk_id}).fetchone()
        return ours, reference

    return both


def assert_exact(conn: Conn, viewing: Any, people: tuple[str, ...] = PEOPLE) -> None:
    """Every viewer's summary of everyone is the read-time count, and the check finds no drift."""
    for viewer in VIEWERS:
        for clerk_id in people:
            ours, reference = viewing(viewer, clerk_id)
            assert ours == reference, (viewer, clerk_id)
    assert Store.on(conn).check().drift == 0


def test_the_summary_is_the_read_time_count_after_every_kind_of_write(db_conn: Conn, viewing: Any) -> None:
    setup_people(db_conn)
    store = Store.on(db_conn)
    grammar, travel = course(db_conn, "Grammar"), course(db_conn, "Travel")
    steps: list[str] = []

    def step(name: str) -> None:
        steps.append(name)
        assert_exact(db_conn, viewing)

    bo_post = store.forum.create_post(grammar, "bo", "Mine", "Body")
    cy_post = store.forum.create_post(travel, "cy", "Theirs", "Body")
    di_post = store.forum.create_post(grammar, "di", "Di's", "Body")
    step("posts")
    bo_reply = store.forum.reply(cy_post.id, "bo", "My reply")
    cy_reply = store.forum.reply(bo_post.id, "cy", "Their reply")
    nested = store.forum.reply(bo_post.id, "di", "Nested", parent_reply_id=cy_reply.id)
    di_on_cy = store.forum.reply(cy_post.id, "di", "Di on cy")
    own = store.forum.reply(bo_post.id, "bo", "Own thread")
    step("replies")
    for post, liker in ((bo_post, "cy"), (bo_post, "di"), (bo_post, "bo"), (cy_post, "bo"), (di_post, "cy")):
        store.forum.like_post(post.id, liker)
    for reply, liker in ((bo_reply, "cy"), (bo_reply, "di"), (cy_reply, "bo"), (nested, "bo"), (own, "cy"),
                         (di_on_cy, "bo"), (own, "bo")):  # fmt: skip
        store.forum.like_reply(reply.id, liker)
    step("likes")
    # hides: a post (its replies and their likes go with it for everyone but its author and
    # moderators), a reply (as much), then both on one thread
    store.moderation.hide("mo", "Spam", post_id=cy_post.id)
    step("hide a post")
    store.moderation.hide("mo", "Rude", reply_id=cy_reply.id)
    step("hide a reply")
    store.moderation.hide("mo", "Spam", post_id=bo_post.id)
    step("hide a post with a hidden reply")
    store.moderation.hide("mo", "Rude", reply_id=bo_reply.id)
    step("hide a reply on a hidden post")
    store.moderation.unhide("mo", "Fine", post_id=cy_post.id)
    store.moderation.unhide("mo", "Fine", reply_id=cy_reply.id)
    step("unhide")
    store.forum.unlike_post(bo_post.id, "cy")
    store.forum.unlike_reply(bo_reply.id, "di")
    step("unlike")
    store.forum.edit_post(di_post.id, "di", title="Edited")
    step("an edit counts nothing")
    # a reply with an answer becomes a tombstone; a post with replies too; then one without any goes
    assert store.forum.delete_reply(cy_reply.id, "cy") == "tombstoned"
    step("tombstone a reply")
    assert store.forum.delete_post(cy_post.id, "cy") == "tombstoned"
    step("tombstone a post (its replies still count)")
    assert store.forum.delete_reply(own.id, "bo") == "deleted"
    step("delete a liked reply")
    assert store.forum.delete_post(di_post.id, "di") == "deleted"
    step("delete a liked post")
    # replies by hand with every state at once, and a statement over many rows
    db_conn.execute("UPDATE forum_replies SET hidden_at = now() WHERE author_clerk_id = 'di'")
    db_conn.execute("UPDATE forum_posts SET hidden_at = NULL")
    step("many rows in one statement")
    assert store.users.erase("bo")
    step("erase a user: their likes go, what they wrote stays anonymously")
    assert scalar_of(db_conn, "SELECT count(*) FROM forum_user_activity WHERE clerk_id = 'bo'") == 0
    db_conn.execute("DELETE FROM courses WHERE id = %s", [grammar])
    step("delete a course with its forum")
    assert len(steps) == 17


def scalar_of(conn: Conn, query: str, *params: Any) -> Any:
    row = conn.execute(query.encode(), params).fetchone()
    assert row is not None
    return row[0]


def test_the_summary_is_one_counter_row_read(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar = course(db_conn, "Grammar")
    store = Store.on(db_conn)
    post = store.forum.create_post(grammar, "bo", "Mine", "Body")
    store.forum.like_post(post.id, "cy")
    counts = db_conn.execute(
        "SELECT clerk_id, sum(posts), sum(likes_given), sum(likes_received) FROM forum_user_activity"
        " GROUP BY clerk_id ORDER BY clerk_id"
    ).fetchall()
    assert counts == [("bo", 1, 0, 1), ("cy", 0, 1, 0)]
    summary = store.forum_pages.activity_summary("bo")
    assert (summary.posts, summary.replies, summary.likes_given, summary.likes_received) == (1, 0, 0, 1)
    # a user with no forum activity has no row and counts nothing
    assert store.forum_pages.activity_summary("di").likes_received == 0


def test_the_counters_are_written_by_the_triggers_only(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar = course(db_conn, "Grammar")
    store = Store.on(db_conn)
    post = store.as_user("bo").forum.create_post(grammar, "bo", "Mine", "Counted by the trigger")
    store.as_user("cy").forum.like_post(post.id, "cy")
    for statement in (
        "UPDATE forum_user_activity SET likes_received = 1000",
        "UPDATE forum_user_activity SET posts_public = 0 WHERE clerk_id = 'bo'",
        "DELETE FROM forum_user_activity",
        "INSERT INTO forum_user_activity (clerk_id, posts) VALUES ('di', 5)",
        "SELECT forum_user_activity_recount(ARRAY['bo'])",
        """SELECT forum_user_activity_add('[{"clerk_id": "bo", "metric": "posts", "n": 9}]')""",
    ):
        with db_conn.transaction(force_rollback=True):
            db_conn.execute("SELECT set_config('learnstore.clerk_id', 'di', true)")
            db_conn.execute("SET LOCAL ROLE learnstore_app")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db_conn.execute(statement.encode())
    summary = store.as_user("di").forum_pages.activity_summary("bo")
    assert (summary.posts, summary.likes_received) == (1, 1)


def test_check_finds_and_repairs_drifted_counts(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar = course(db_conn, "Grammar")
    store = Store.on(db_conn)
    post = store.forum.create_post(grammar, "bo", "Mine", "Body")
    reply = store.forum.reply(post.id, "cy", "Reply")
    store.forum.like_post(post.id, "cy")
    store.forum.like_reply(reply.id, "bo")
    # a shard of bo's more (one transaction wrote them all, to the shard of its id: the next one is
    # free), and all of cy's rows gone
    db_conn.execute(
        "INSERT INTO forum_user_activity (clerk_id, shard, likes_received, likes_received_public)"
        " VALUES ('bo', (pg_current_xact_id()::text::bigint + 1) % 16, 6, 6)"
    )
    db_conn.execute("DELETE FROM forum_user_activity WHERE clerk_id = 'cy'")
    report = store.check()
    (activity,) = [v for v in report.values if v.name == "forum_activity"]
    assert activity.drifted == 2
    assert {e["key"]: e["stored"] for e in activity.examples} == {
        "bo": "{1,1,0,0,0,1,1,1,7,7,1}",
        "cy": "none",
    }
    assert store.check(repair=True).drift == 0
    assert store.check().drift == 0
    summary = store.forum_pages.activity_summary("cy")
    assert (summary.replies, summary.likes_given, summary.likes_received) == (1, 1, 1)


def test_sixteen_writers_posting_replying_liking_and_unliking_leave_exact_counts(fresh_db: str) -> None:
    likers = [f"w{i}" for i in range(WRITERS)]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn, *likers)
        grammar = course(conn, "Grammar")
    with learnstore.connect(fresh_db, max_size=1) as store:
        # one popular author: bo's posts and replies, every writer's likes of some of them already
        posts = [store.forum.create_post(grammar, "bo", f"Post {n}", "b").id for n in range(4)]
        replies = [store.forum.reply(posts[n % 4], "bo", f"Reply {n}").id for n in range(4)]
        for i, liker in enumerate(likers):
            store.forum.like_post(posts[i % 4], liker)

    def write(store: Store, i: int) -> None:
        # One transaction per writer. Twelve likers: likes of bo's posts and replies (all on bo's
        # counts), an unlike, a post and a reply of their own on bo's thread. Four moderators
        # meanwhile hide one of bo's posts and one of his replies, or unhide a post.
        me = likers[i]
        if i % 4 == 0:
            store.moderation.hide("mo", "Spam", post_id=posts[i // 4])
            store.moderation.hide("mo", "Spam", reply_id=replies[(i // 4 + 1) % 4])
            if i // 4 % 2:
                store.moderation.unhide("mo", "Fine", post_id=posts[i // 4])
            return
        store.forum.like_post(posts[(i + 1) % 4], me)
        store.forum.like_reply(replies[i % 4], me)
        store.forum.unlike_post(posts[i % 4], me)
        store.forum.create_post(grammar, me, "Mine", "m")
        store.forum.reply(posts[i % 4], me, "Hello bo")

    race_threads(fresh_db, write, seed=11)
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0
        bo = store.as_user("mo").forum_pages.activity_summary("bo")
        # 16 seeded likes, then 12 likers: one like of a post and one of a reply each, one unlike
        likes = WRITERS + 12 * 2 - 12
        assert (bo.posts, bo.replies, bo.likes_received) == (4, 4, likes)
    assert scalar(fresh_db, "SELECT sum(likes_given) FROM forum_user_activity") == likes
    assert scalar(fresh_db, "SELECT sum(posts) FROM forum_user_activity") == 4 + 12
    sql(fresh_db, "DELETE FROM users WHERE clerk_id = 'w0'")  # an erased liker's likes go
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0


def test_migration_0027_counts_the_forum_already_there(fresh_db: str) -> None:
    # Back to before 0027, a forum written then, and 0027 again: its backfill (batches of users
    # committed one by one) fills every user's row, and the CHECKs hold.
    migrate.rollback(fresh_db, to="0026_review_lock_order")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn)
        conn.execute("INSERT INTO users (clerk_id) SELECT 'u' || g FROM generate_series(1, 1200) g")
        grammar = course(conn, "Grammar")
        conn.execute(
            "INSERT INTO forum_posts (course_id, author_clerk_id, title, body, hidden_at, deleted_at)"
            " SELECT %s, 'u' || (g %% 1200 + 1), 'Old ' || g, 'word' || g,"
            "        CASE WHEN g %% 5 = 0 THEN now() END, CASE WHEN g %% 7 = 0 THEN now() END"
            " FROM generate_series(1, 3000) g",
            [grammar],
        )
        conn.execute(
            "INSERT INTO forum_replies (post_id, author_clerk_id, body, hidden_at)"
            " SELECT id, CASE WHEN title LIKE '%%3' THEN author_clerk_id ELSE 'cy' END, 'reply to ' || title,"
            "        CASE WHEN title LIKE '%%1' THEN now() END FROM forum_posts"
        )
        conn.execute("INSERT INTO forum_post_likes (post_id, user_clerk_id) SELECT id, 'bo' FROM forum_posts")
        conn.execute(
            "INSERT INTO forum_reply_likes (reply_id, user_clerk_id) SELECT id, 'di' FROM forum_replies"
        )
    migrate.upgrade(fresh_db)
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0
        assert store.as_user("mo").forum_pages.activity_summary("bo").likes_given == scalar(
            fresh_db,
            "SELECT count(*) FROM forum_post_likes l JOIN forum_posts p ON p.id = l.post_id"
            " WHERE p.deleted_at IS NULL",
        )
    assert scalar(fresh_db, "SELECT count(DISTINCT clerk_id) FROM forum_user_activity") == 1200 + len(PEOPLE)
