"""Trending since migration 0031: an hourly rollup of forum events per course (forum_course_activity)
kept by triggers, read by forum_course_activity_since, exactly what ListTrendingCourses counted at
read time before (REFERENCE below, that statement), for every viewer (the service, a moderator, the
author of hidden rows, anyone else) and a window starting on an hour or inside one, after every kind
of write: posts, replies, likes and unlikes, hides and unhides, tombstones and deletions, a COPY, a
course's deletion; under 16 racing writers in one course; checked and repaired by `store.check()`;
written by nobody under `as_user`; filled by the migration's backfill."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from test_forum_activity import PEOPLE, VIEWERS, course, scalar_of, setup_people
from test_races import WRITERS, race_threads, scalar, sql

import learnstore
from learnstore import Store, migrate
from learnstore.errors import InvalidValue
from learnstore.rollups import fold_activity

Conn = psycopg.Connection[Any]

# ListTrendingCourses as it was before 0031 (every course, not only the published, and no limit):
# every event of the window counted at read time.
REFERENCE = """
WITH events AS (
    SELECT p.course_id FROM forum_posts p WHERE p.created_at >= %(since)s
      AND learnstore_visible(p.hidden_at, p.author_clerk_id)
    UNION ALL
    SELECT p.course_id FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id
    WHERE r.created_at >= %(since)s
      AND learnstore_visible(r.hidden_at, r.author_clerk_id)
      AND learnstore_visible(p.hidden_at, p.author_clerk_id)
    UNION ALL
    SELECT p.course_id FROM forum_post_likes l JOIN forum_posts p ON p.id = l.post_id
    WHERE l.created_at >= %(since)s AND learnstore_visible(p.hidden_at, p.author_clerk_id)
    UNION ALL
    SELECT p.course_id FROM forum_reply_likes l JOIN forum_replies r ON r.id = l.reply_id
    JOIN forum_posts p ON p.id = r.post_id
    WHERE l.created_at >= %(since)s
      AND learnstore_visible(r.hidden_at, r.author_clerk_id)
      AND learnstore_visible(p.hidden_at, p.author_clerk_id)
)
SELECT e.course_id, count(*)::bigint FROM events e GROUP BY e.course_id ORDER BY 1
"""
OURS = "SELECT a.course_id, a.activity FROM forum_course_activity_since(%(since)s) AS a ORDER BY 1"
HOUR = datetime(2026, 1, 5, 10, tzinfo=UTC)
#: window starts: on an hour, inside one (the partial first hour from the base rows), before it all
SINCES = (HOUR - timedelta(hours=2), HOUR - timedelta(minutes=50), HOUR + timedelta(minutes=20),
          datetime(2000, 1, 1, tzinfo=UTC))  # fmt: skip


def both(conn: Conn, viewer: str | None, since: datetime) -> tuple[list[Any], list[Any]]:
    """(ours, the reference) as viewer sees them since `since`, on learnstore_app."""
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT set_config('learnstore.clerk_id', %s, true)", [viewer or ""])
        conn.execute("SET LOCAL ROLE learnstore_app")
        ours = conn.execute(OURS.encode(), {"since": since}).fetchall()
        reference = conn.execute(REFERENCE.encode(), {"since": since}).fetchall()
    return ours, reference


def assert_exact(conn: Conn) -> None:
    """Every viewer's activity of every course from every window start is the read-time count, and
    the check finds no drift."""
    for viewer in VIEWERS:
        for since in SINCES:
            ours, reference = both(conn, viewer, since)
            assert ours == reference, (viewer, since)
    assert Store.on(conn).check().drift == 0


def at(conn: Conn, table: str, row_id: UUID, when: datetime) -> None:
    """Re-date a row (an UPDATE of created_at: it moves the row's events to another hour)."""
    conn.execute(f"UPDATE {table} SET created_at = %s WHERE id = %s".encode(), [when, row_id])


def test_trending_is_the_read_time_count_after_every_kind_of_write(db_conn: Conn) -> None:
    setup_people(db_conn)
    store = Store.on(db_conn)
    grammar, travel = course(db_conn, "Grammar"), course(db_conn, "Travel")
    steps: list[str] = []

    def step(name: str) -> None:
        steps.append(name)
        assert_exact(db_conn)

    bo_post = store.forum.create_post(grammar, "bo", "Mine", "Body")
    cy_post = store.forum.create_post(travel, "cy", "Theirs", "Body")
    di_post = store.forum.create_post(grammar, "di", "Di's", "Body")
    # spread over the hours around the window starts: 10:00 (on), 09:10 (inside), 10:20 (inside)
    at(db_conn, "forum_posts", bo_post.id, HOUR - timedelta(minutes=30))
    at(db_conn, "forum_posts", cy_post.id, HOUR + timedelta(minutes=25))
    at(db_conn, "forum_posts", di_post.id, HOUR - timedelta(hours=3))
    step("posts")
    bo_reply = store.forum.reply(cy_post.id, "bo", "My reply")
    cy_reply = store.forum.reply(bo_post.id, "cy", "Their reply")
    nested = store.forum.reply(bo_post.id, "di", "Nested", parent_reply_id=cy_reply.id)
    di_on_cy = store.forum.reply(cy_post.id, "di", "Di on cy")
    own = store.forum.reply(bo_post.id, "bo", "Own thread")
    at(db_conn, "forum_replies", cy_reply.id, HOUR - timedelta(minutes=55))
    at(db_conn, "forum_replies", nested.id, HOUR + timedelta(minutes=10))
    step("replies")
    for post, liker in ((bo_post, "cy"), (bo_post, "di"), (bo_post, "bo"), (cy_post, "bo"), (di_post, "cy")):
        store.forum.like_post(post.id, liker)
    for reply, liker in ((bo_reply, "cy"), (bo_reply, "di"), (cy_reply, "bo"), (nested, "bo"), (own, "cy"),
                         (di_on_cy, "bo"), (own, "bo")):  # fmt: skip
        store.forum.like_reply(reply.id, liker)
    # likes of the past, by hand (a like is never re-dated): one inside the partial hours
    db_conn.execute(
        "INSERT INTO forum_post_likes (post_id, user_clerk_id, created_at) VALUES (%s, 'mo', %s)",
        [di_post.id, HOUR - timedelta(minutes=45)],
    )
    db_conn.execute(
        "INSERT INTO forum_reply_likes (reply_id, user_clerk_id, created_at) VALUES (%s, 'mo', %s)",
        [cy_reply.id, HOUR + timedelta(minutes=21)],
    )
    step("likes")
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
    assert store.forum.delete_reply(cy_reply.id, "cy") == "tombstoned"
    step("tombstone a reply (it still counts)")
    assert store.forum.delete_post(cy_post.id, "cy") == "tombstoned"
    step("tombstone a post")
    assert store.forum.delete_reply(own.id, "bo") == "deleted"
    step("delete a liked reply")
    assert store.forum.delete_post(di_post.id, "di") == "deleted"
    step("delete a liked post")
    db_conn.execute("UPDATE forum_replies SET hidden_at = now() WHERE author_clerk_id = 'di'")
    db_conn.execute("UPDATE forum_posts SET hidden_at = now() WHERE author_clerk_id = 'bo'")
    step("many rows in one statement")
    with db_conn.cursor().copy(
        "COPY forum_replies (post_id, author_clerk_id, body, created_at) FROM STDIN"
    ) as copy:
        for n in range(5):
            copy.write_row((bo_post.id, PEOPLE[n], f"Copied {n}", HOUR - timedelta(minutes=7 * n)))
    with db_conn.cursor().copy(
        "COPY forum_post_likes (post_id, user_clerk_id, created_at) FROM STDIN"
    ) as copy:
        copy.write_row((cy_post.id, "di", HOUR - timedelta(minutes=59)))
    step("COPY")
    db_conn.execute("DELETE FROM forum_posts WHERE id = %s", [bo_post.id])
    step("delete a post with its replies and likes (the cascade)")
    assert store.users.erase("cy")
    step("erase a user")
    db_conn.execute("DELETE FROM courses WHERE id = %s", [grammar])
    step("delete a course with its forum")
    assert scalar_of(db_conn, "SELECT count(*) FROM forum_course_activity WHERE course_id = %s", grammar) == 0
    assert len(steps) == 19


def test_the_three_reads_rank_from_the_rollup(db_conn: Conn) -> None:
    setup_people(db_conn)
    store = Store.on(db_conn)
    grammar, travel = course(db_conn, "Grammar"), course(db_conn, "Travel")
    tag = scalar_of(db_conn, "INSERT INTO tags (name) VALUES ('spanish') RETURNING id")
    db_conn.execute("INSERT INTO course_tags (course_id, tag_id) VALUES (%s, %s)", [travel, tag])
    post = store.forum.create_post(travel, "bo", "Hola", "Body")
    store.forum.like_post(post.id, "cy")
    store.forum.create_post(grammar, "cy", "Q", "Body")
    hidden = store.forum.create_post(grammar, "di", "Spam", "Body")
    store.forum.reply(hidden.id, "bo", "Re")
    store.moderation.hide("mo", "Spam", post_id=hidden.id)
    # what is counted comes from the rollup: its rows, not the base rows, are what the reads sum
    assert (
        scalar_of(db_conn, "SELECT sum(events) FROM forum_course_activity WHERE course_id = %s", grammar) == 3
    )
    since = datetime.now(UTC) - timedelta(days=1)
    assert [(r.course_id, r.activity) for r in store.forum.list_trending_courses()] == [
        (travel, 2),
        (grammar, 1),
    ]
    assert [(r.course_id, r.activity) for r in store.as_user("mo").forum.list_trending_courses()] == [
        (grammar, 3), (travel, 2)]  # fmt: skip
    # di sees her hidden post and the reply on it, as the moderator does
    assert [(r.course_id, r.activity) for r in store.as_user("di").forum.list_trending_courses()] == [
        (grammar, 3), (travel, 2)]  # fmt: skip
    assert [(r.name, r.activity) for r in store.forum.list_trending_tags()] == [("spanish", 2)]
    cards = store.pages.trending_cards(since=since, viewer="bo")
    assert [(c.course_id, c.activity) for c in cards] == [(travel, 2), (grammar, 1)]


def test_the_rollup_is_written_by_the_triggers_only(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar = course(db_conn, "Grammar")
    store = Store.on(db_conn)
    post = store.as_user("bo").forum.create_post(grammar, "bo", "Mine", "Counted by the trigger")
    store.as_user("cy").forum.like_post(post.id, "cy")
    for statement in (
        "UPDATE forum_course_activity SET events = 1000",
        "DELETE FROM forum_course_activity",
        "INSERT INTO forum_course_activity (course_id, bucket, events) VALUES"
        f" ('{grammar}', date_trunc('hour', now()), 5)",
        f"SELECT forum_course_activity_recount(ARRAY['{grammar}'::uuid])",
        "SELECT forum_course_activity_fold(now() + interval '2 hours', 10)",
        "SELECT forum_course_activity_add("
        f"""'[{{"course_id": "{grammar}", "bucket": "2026-01-01", "n": 9}}]')""",
    ):
        with db_conn.transaction(force_rollback=True):
            db_conn.execute("SELECT set_config('learnstore.clerk_id', 'di', true)")
            db_conn.execute("SET LOCAL ROLE learnstore_app")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db_conn.execute(statement.encode())
    assert [r.activity for r in store.as_user("di").forum.list_trending_courses()] == [2]


def test_check_finds_and_repairs_drifted_hours(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar, travel = course(db_conn, "Grammar"), course(db_conn, "Travel")
    store = Store.on(db_conn)
    post = store.forum.create_post(grammar, "bo", "Mine", "Body")
    store.forum.like_post(post.id, "cy")
    store.forum.create_post(travel, "cy", "Theirs", "Body")
    # an hour of grammar's more in another shard, one that never was, and all of travel's rows gone
    db_conn.execute(
        "INSERT INTO forum_course_activity (course_id, bucket, shard, events, events_public)"
        " SELECT course_id, bucket, (shard + 1) %% 16, 4, 4 FROM forum_course_activity WHERE course_id = %s"
        " UNION ALL SELECT %s, '2020-01-01', 0, 1, 0",
        [grammar, grammar],
    )
    db_conn.execute("DELETE FROM forum_course_activity WHERE course_id = %s", [travel])
    report = store.check()
    (activity,) = [v for v in report.values if v.name == "forum_course_activity"]
    assert activity.drifted == 2
    stored = {e["key"]: e["stored"].split(", digest")[0] for e in activity.examples}
    assert stored == {str(grammar): "2 hours, 7 events, 6 public", str(travel): "0 hours, 0 events, 0 public"}
    assert store.check(repair=True).drift == 0
    assert store.check().drift == 0
    assert_exact(db_conn)


def test_sixteen_writers_in_one_course_leave_exact_counts(fresh_db: str) -> None:
    writers = [f"w{i}" for i in range(WRITERS)]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn, *writers)
        grammar = course(conn, "Grammar")
    with learnstore.connect(fresh_db, max_size=1) as store:
        posts = [store.forum.create_post(grammar, "bo", f"Post {n}", "b").id for n in range(4)]
        replies = [store.forum.reply(posts[n % 4], "bo", f"Reply {n}").id for n in range(4)]
        for i, writer in enumerate(writers):
            store.forum.like_post(posts[i % 4], writer)

    def write(store: Store, i: int) -> None:
        # One transaction per writer, all in one course and hour. Twelve learners post, reply, like
        # and unlike; four moderators meanwhile hide a post and a reply, or unhide the post.
        me = writers[i]
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

    race_threads(fresh_db, write, seed=31)
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0
        # 4 posts, 4 replies, 16 likes; then 12 learners: a like, a reply like, an unlike, a post, a reply
        events = 4 + 4 + WRITERS + 12 * (1 + 1 - 1 + 1 + 1)
        assert [r.activity for r in store.as_user("mo").forum.list_trending_courses()] == [events]
    assert scalar(fresh_db, "SELECT sum(events) FROM forum_course_activity") == events
    assert scalar(fresh_db, "SELECT count(DISTINCT shard) > 1 FROM forum_course_activity") is True
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for viewer in VIEWERS:
            ours, reference = both(conn, viewer, datetime(2000, 1, 1, tzinfo=UTC))
            assert ours == reference, viewer
    sql(fresh_db, "DELETE FROM users WHERE clerk_id = 'w1'")  # an erased learner's likes go
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0


# ---- folding past hours (migration 0038) ----------------------------------------------------------------

LATER = datetime.now(UTC) + timedelta(hours=2)  # folds every hour up to the current one
ROWS_AN_HOUR = (
    "SELECT max(n) FROM (SELECT count(*) AS n FROM forum_course_activity GROUP BY course_id, bucket) g"
)


def test_folding_leaves_one_row_an_hour_and_every_count_as_it_was(fresh_db: str) -> None:
    writers = [f"w{i}" for i in range(WRITERS)]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn, *writers)
        grammar, travel = course(conn, "Grammar"), course(conn, "Travel")
    with learnstore.connect(fresh_db, max_size=1) as store:
        posts = [store.forum.create_post(c, "bo", "Post", "b").id for c in (grammar, travel)]
        for i, writer in enumerate(writers):  # a transaction each: several shards an hour
            store.forum.like_post(posts[i % 2], writer)
        store.moderation.hide("mo", "Spam", post_id=posts[1])
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert scalar_of(conn, ROWS_AN_HOUR) > 1
        assert fold_activity(conn, before=datetime.now(UTC)) == 0  # the current hour stays sharded
        removed = fold_activity(conn, before=LATER, groups=1)  # a pair a transaction
        assert removed > 0 and scalar_of(conn, ROWS_AN_HOUR) == 1
        assert fold_activity(conn, before=LATER) == 0
        for viewer in VIEWERS:
            ours, reference = both(conn, viewer, datetime(2000, 1, 1, tzinfo=UTC))
            assert ours == reference, viewer
        assert Store.on(conn).check().drift == 0
        with pytest.raises(InvalidValue):
            fold_activity(conn, groups=0)


def test_folding_while_sixteen_writers_take_events_out_and_add_them_loses_none(fresh_db: str) -> None:
    """Twelve writers like, unlike and post in two courses, a transaction each, while four folders
    fold the same hours on connections of their own: the rollup is the read-time count after."""
    writers = [f"w{i}" for i in range(WRITERS)]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn, *writers)
        courses = [course(conn, "Grammar"), course(conn, "Travel")]
    with learnstore.connect(fresh_db, max_size=1) as store:
        posts = [store.forum.create_post(courses[n % 2], "bo", f"Post {n}", "b").id for n in range(4)]
        for i, writer in enumerate(writers):
            store.forum.like_post(posts[i % 4], writer)
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            if i % 4 == 0:
                with psycopg.connect(fresh_db, autocommit=True) as conn:
                    barrier.wait()
                    for _ in range(5):
                        fold_activity(conn, before=LATER, groups=1)
                return
            with learnstore.connect(fresh_db, max_size=1) as store:
                barrier.wait()
                me = writers[i]
                store.forum.unlike_post(posts[i % 4], me)
                store.forum.like_post(posts[(i + 1) % 4], me)
                store.forum.create_post(courses[i % 2], me, "Mine", "m")
                store.forum.unlike_post(posts[(i + 1) % 4], me)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        fold_activity(conn, before=LATER)
        assert scalar_of(conn, ROWS_AN_HOUR) == 1
        for viewer in VIEWERS:
            ours, reference = both(conn, viewer, datetime(2000, 1, 1, tzinfo=UTC))
            assert ours == reference, viewer
        # 4 posts and 16 likes; then 12 writers: an unlike, a like, a post and an unlike
        events = 4 + WRITERS + 12 * (-1 + 1 + 1 - 1)
        assert scalar_of(conn, "SELECT sum(events) FROM forum_course_activity") == events
        assert Store.on(conn).check().drift == 0


def test_migration_0031_counts_the_forum_already_there(fresh_db: str) -> None:
    # Back to before 0031, a forum written then, and 0031 again: its backfill (batches of courses
    # committed one by one) fills every course's hours.
    migrate.rollback(fresh_db, to="0030_review_upvotes_backfill")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn)
        courses = [course(conn, f"Course {n}") for n in range(150)]
        conn.execute(
            "INSERT INTO forum_posts (course_id, author_clerk_id, title, body, hidden_at, created_at)"
            " SELECT (%s::uuid[])[1 + g %% 150], (%s::text[])[1 + g %% 5], 'Old ' || g, 'word' || g,"
            "        CASE WHEN g %% 5 = 0 THEN now() END, now() - g * interval '7 minutes'"
            " FROM generate_series(1, 3000) g",
            [courses, list(PEOPLE)],
        )
        conn.execute(
            "INSERT INTO forum_replies (post_id, author_clerk_id, body, hidden_at, created_at)"
            " SELECT id, 'cy', 'reply to ' || title, CASE WHEN title LIKE '%%1' THEN now() END,"
            "        created_at + interval '20 minutes' FROM forum_posts"
        )
        conn.execute("INSERT INTO forum_post_likes (post_id, user_clerk_id) SELECT id, 'bo' FROM forum_posts")
        conn.execute(
            "INSERT INTO forum_reply_likes (reply_id, user_clerk_id) SELECT id, 'di' FROM forum_replies"
        )
    migrate.upgrade(fresh_db)
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0
    assert scalar(fresh_db, "SELECT sum(events) FROM forum_course_activity") == 3000 * 4
    assert scalar(fresh_db, "SELECT count(DISTINCT course_id) FROM forum_course_activity") == 150
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for viewer in VIEWERS:
            for since in (
                datetime.now(UTC) - timedelta(hours=100, minutes=13),
                datetime(2000, 1, 1, tzinfo=UTC),
            ):
                ours, reference = both(conn, viewer, since)
                assert ours == reference, (viewer, since)
