"""The platform's live forum posts since migration 0036: 16 shards (forum_platform_post_counts) that
the platform-wide feed's total sums, kept from the published courses' counters by a trigger on
them, so that posts, hides, tombstones, a course published, unpublished or deleted all reach it;
exact under 16 racing writers and publishers, checked and repaired by `store.check()`, backfilled
by the migration, and written by nobody under `as_user`."""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID

import psycopg
import pytest
from test_forum_search import course, posts, setup_people
from test_races import WRITERS, race_threads, scalar, sql

import learnstore
from learnstore import Store, migrate

Conn = psycopg.Connection[Any]

#: the live posts of published courses, visible and hidden apart, counted from the posts
TRUTH = (
    "SELECT count(*) FILTER (WHERE p.hidden_at IS NULL), count(*) FILTER (WHERE p.hidden_at IS NOT NULL)"
    " FROM forum_posts p JOIN courses c ON c.id = p.course_id"
    " WHERE c.status = 'published' AND p.deleted_at IS NULL"
)
#: what the shards hold, summed
SHARDS = (
    "SELECT coalesce(sum(visible_posts), 0)::bigint, coalesce(sum(hidden_posts), 0)::bigint"
    " FROM forum_platform_post_counts"
)


def kept(conn: Conn) -> tuple[int, int]:
    """The shards' sums, after checking them against the posts."""
    stored = conn.execute(SHARDS).fetchone()
    truth = conn.execute(TRUTH).fetchone()
    assert stored == truth
    assert stored is not None
    return stored[0], stored[1]


def test_the_platform_count_follows_every_change_of_a_published_courses_posts(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar, travel = course(db_conn, "Grammar"), course(db_conn, "Travel")
    draft = course(db_conn, "Draft", "draft")
    assert kept(db_conn) == (0, 0)
    posts(db_conn, grammar, 5, "a")
    posts(db_conn, travel, 3, "b")
    posts(db_conn, draft, 4, "c")  # a draft's posts are not the platform's
    assert kept(db_conn) == (8, 0)
    first = db_conn.execute("SELECT id FROM forum_posts WHERE course_id = %s LIMIT 1", [grammar]).fetchone()
    assert first is not None
    db_conn.execute("UPDATE forum_posts SET hidden_at = now() WHERE id = %s", [first[0]])
    assert kept(db_conn) == (7, 1)
    db_conn.execute("UPDATE forum_posts SET deleted_at = now() WHERE id = %s", [first[0]])  # a tombstone
    assert kept(db_conn) == (7, 0)
    db_conn.execute("UPDATE forum_posts SET title = 'Edited' WHERE course_id = %s", [travel])  # no count
    assert kept(db_conn) == (7, 0)
    db_conn.execute("UPDATE courses SET status = 'published', published_at = now() WHERE id = %s", [draft])
    assert kept(db_conn) == (11, 0)
    db_conn.execute("UPDATE courses SET status = 'archived', published_at = NULL WHERE id = %s", [grammar])
    assert kept(db_conn) == (7, 0)
    db_conn.execute("UPDATE courses SET status = 'draft' WHERE id = %s", [grammar])  # still not published
    assert kept(db_conn) == (7, 0)
    # two live posts (not the tombstone) to another course
    moved = db_conn.execute(
        "SELECT id FROM forum_posts WHERE course_id = %s AND deleted_at IS NULL LIMIT 2", [grammar]
    ).fetchall()
    db_conn.execute(
        "UPDATE forum_posts SET course_id = %s WHERE id = ANY (%s)", [travel, [m[0] for m in moved]]
    )
    assert kept(db_conn) == (9, 0)
    db_conn.execute("DELETE FROM forum_posts WHERE id = %s", [moved[0][0]])
    assert kept(db_conn) == (8, 0)
    db_conn.execute("DELETE FROM courses WHERE id = %s", [travel])  # its forum and counter row go with it
    assert kept(db_conn) == (4, 0)
    # a course published before its first post: its counter row is made with the flag
    fresh = course(db_conn, "Fresh", "draft")
    db_conn.execute("UPDATE courses SET status = 'published', published_at = now() WHERE id = %s", [fresh])
    posts(db_conn, fresh, 2, "d")
    assert kept(db_conn) == (6, 0)
    flags = db_conn.execute(
        "SELECT n.published, c.status = 'published' FROM forum_course_post_counts n"
        " JOIN courses c ON c.id = n.course_id"
    ).fetchall()
    assert flags and all(flag == status for flag, status in flags)
    store = Store.on(db_conn)
    assert store.forum_pages.feed().total == 6
    assert store.as_user("mo").forum_pages.feed().total == 6
    assert store.check().drift == 0


def test_nobody_writes_the_platform_counts_under_as_user(db_conn: Conn) -> None:
    setup_people(db_conn)
    posts(db_conn, course(db_conn, "Grammar"), 2, "a")
    for statement in (
        "INSERT INTO forum_platform_post_counts (shard, visible_posts) VALUES (15, 100)",
        "UPDATE forum_platform_post_counts SET visible_posts = visible_posts + 100",
        "DELETE FROM forum_platform_post_counts",
        "UPDATE forum_course_post_counts SET published = false",
        "SELECT forum_course_published(id) FROM courses",
    ):
        with db_conn.transaction(force_rollback=True):
            db_conn.execute("SELECT set_config('learnstore.clerk_id', 'ada', true)")  # the course's author
            db_conn.execute("SET LOCAL ROLE learnstore_app")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db_conn.execute(statement.encode())
    assert kept(db_conn) == (2, 0)
    assert Store.on(db_conn).as_user("bo").forum_pages.feed().total == 2


def test_check_finds_and_repairs_the_shards_and_the_flags(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar, travel = course(db_conn, "Grammar"), course(db_conn, "Travel")
    posts(db_conn, grammar, 4, "a")
    posts(db_conn, travel, 2, "b")
    # written as the owner, past the triggers' rules: a shard off by 5, a flag that lies (the trigger
    # on the counters takes travel's 2 posts out of the shards with it)
    db_conn.execute("UPDATE forum_platform_post_counts SET visible_posts = visible_posts + 5")
    db_conn.execute("UPDATE forum_course_post_counts SET published = false WHERE course_id = %s", [travel])
    store = Store.on(db_conn)
    report = store.check()
    found = {v.name: v for v in report.values}
    assert found["forum_post_counts"].drifted == 1
    assert found["forum_post_counts"].examples[0]["stored"] == "2 visible, 0 hidden"
    assert found["forum_post_counts"].examples[0]["expected"] == "2 visible, 0 hidden, published"
    assert found["forum_platform_post_counts"].drifted == 1
    assert found["forum_platform_post_counts"].examples[0] == {
        "key": "platform",
        "stored": "9 visible, 0 hidden",
        "expected": "4 visible, 0 hidden",
    }
    assert store.check(repair=True).drift == 0
    assert kept(db_conn) == (6, 0)
    assert store.forum_pages.feed().total == 6


def test_sixteen_writers_posting_hiding_and_publishing_at_once_leave_the_exact_count(fresh_db: str) -> None:
    """Writers post, tombstone and hide in four courses while others publish, unpublish and archive
    them, on their own connections: every course's posts move in and out of the platform's count
    while its posts are written, and the count is exact when the last one commits."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn)
        conn.execute(
            "INSERT INTO users (clerk_id) SELECT 'w' || i FROM generate_series(0, %s) i", [WRITERS - 1]
        )
        courses = [course(conn, f"C{i}", "published" if i % 2 else "draft") for i in range(4)]
        for c in courses:
            posts(conn, c, 3, "seed")
    with learnstore.connect(fresh_db, max_size=1) as store:
        seeded = {i: [store.forum.create_post(courses[i % 4], f"w{i}", "Seed", "s").id for _ in range(2)]
                  for i in range(WRITERS)}  # fmt: skip

    def write(store: Store, i: int) -> None:
        rng = random.Random(i)
        own = courses[i % 4]
        if i % 4 == 3:  # a publisher: the course's status, back and forth, in one transaction
            for status in rng.sample(["published", "draft", "archived", "published"], 4):
                sql_status(store, courses[rng.randrange(4)], status)
            return
        store.forum.create_post(own, f"w{i}", "New", "n")
        store.forum.delete_post(seeded[i][0], f"w{i}")
        store.moderation.hide("mo", "Spam", post_id=seeded[i][1])
        store.forum.create_post(courses[(i + 1) % 4], f"w{i}", "Elsewhere", "e")

    race_threads(fresh_db, write, seed=11)
    with psycopg.connect(fresh_db) as conn:
        visible, hidden = kept(conn)
        assert hidden == sum(1 for i in range(WRITERS) if i % 4 != 3 and status_of(conn, courses[i % 4]))
        assert visible + hidden > 0
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0
        with psycopg.connect(fresh_db) as conn:
            assert store.forum_pages.feed().total == visible
            assert store.as_user("mo").forum_pages.feed().total == visible + hidden
    # the writers spread over shards: a transaction writes its backend's
    assert scalar(fresh_db, "SELECT count(*) FROM forum_platform_post_counts") > 1


def sql_status(store: Store, course_id: UUID, status: str) -> None:
    """A course's status as the content repository sets it (publish, unpublish, archive)."""
    action = {
        "published": store.content.publish_course,
        "draft": store.content.unpublish_course,
        "archived": store.content.archive_course,
    }[status]
    action(course_id)


def status_of(conn: Conn, course_id: UUID) -> bool:
    """Whether the course is published now."""
    return bool(scalar_in(conn, "SELECT status = 'published' FROM courses WHERE id = %s", [course_id]))


def scalar_in(conn: Conn, query: str, params: list[Any]) -> Any:
    row = conn.execute(query.encode(), params).fetchone()
    assert row is not None
    return row[0]


def test_migration_0036_counts_the_forum_already_there(fresh_db: str) -> None:
    # Back to before 0036, a forum written then (posts in published, draft and archived courses,
    # hidden and deleted ones), and 0036 again: its backfill flags the published courses' counters
    # and the trigger adds them up.
    migrate.rollback(fresh_db, to="0035_time_ordered_ids")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn)
        grammar, draft = course(conn, "Grammar"), course(conn, "Draft", "draft")
        archived = course(conn, "Old", "archived")
        conn.execute(
            "INSERT INTO forum_posts (course_id, author_clerk_id, title, body, hidden_at, deleted_at)"
            " SELECT (ARRAY[%s, %s, %s]::uuid[])[g %% 3 + 1], 'bo', 'Old ' || g, 'word',"
            "        CASE WHEN g %% 5 = 0 THEN now() END, CASE WHEN g %% 7 = 0 THEN now() END"
            " FROM generate_series(1, 3000) g",
            [grammar, draft, archived],
        )
    migrate.upgrade(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        visible, hidden = kept(conn)
        assert (visible, hidden) == (
            sum(1 for g in range(1, 3001) if g % 3 == 0 and g % 7 and g % 5),
            sum(1 for g in range(1, 3001) if g % 3 == 0 and g % 7 and g % 5 == 0),
        )
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0
        assert store.forum_pages.feed().total == visible
    sql(fresh_db, "UPDATE courses SET status = 'published', published_at = now() WHERE title = 'Draft'")
    with psycopg.connect(fresh_db) as conn:
        assert kept(conn)[0] > visible
