"""Forum pages on a real database: the platform-wide and course feeds with their totals, full-text
search with ranked, highlighted snippets, the feed of a viewer's interests, exact view counts under 64
concurrent viewers, a user's activity summary; hidden content, erased authors, plans and round trips."""

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
from learnstore._resources import queries_dir
from learnstore.errors import InvalidValue, NotFound
from learnstore.queries._loader import parse_dir

AConn = psycopg.AsyncConnection[Any]
Conn = psycopg.Connection[Any]


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def execute(conn: AConn, query: str, params: Any = None) -> Any:
    cur = await conn.execute(query.encode(), params)
    return await cur.fetchone() if cur.description else None


async def course(conn: AConn, title: str, *tags: str, status: str = "published", author: str = "ada") -> UUID:
    row = await execute(
        conn,
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES (%s, %s, %s, CASE WHEN %s = 'published' THEN now() END) RETURNING id",
        [title, author, status, status],
    )
    if tags:
        await AsyncStore.on(conn).catalog.attach_tags(row[0], list(tags))
    course_id: UUID = row[0]
    return course_id


async def age(conn: AConn, post_id: UUID, minutes: int) -> None:
    """Make a post `minutes` old: posts made in one transaction share its now()."""
    await execute(
        conn,
        "UPDATE forum_posts SET created_at = now() - %s * interval '1 minute' WHERE id = %s",
        [minutes, post_id],
    )


async def people(conn: AConn, *clerk_ids: str) -> None:
    for clerk_id in clerk_ids:
        first = clerk_id.capitalize()
        await execute(
            conn,
            "INSERT INTO users (clerk_id, first_name, avatar_url) VALUES (%s, %s, %s)",
            [clerk_id, first, f"https://img.example.com/{clerk_id}.png"],
        )


async def test_the_feed_is_every_published_courses_live_posts_newest_first_with_counts_and_total(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await people(adb_conn, "ada", "bo", "cy")
    grammar = await course(adb_conn, "Grammar")
    verbs = await course(adb_conn, "Verbs")
    draft = await course(adb_conn, "Draft", status="draft")
    first = await store.forum.create_post(grammar, "bo", "First", "The first post")
    second = await store.forum.create_post(verbs, "cy", "Second", "The second post")
    await store.forum.create_post(draft, "ada", "In a draft", "Not in the feed")
    gone = await store.forum.create_post(grammar, "bo", "Deleted", "Soon gone")
    await store.forum.reply(gone.id, "cy", "keeps the tombstone")
    assert await store.forum.delete_post(gone.id, "bo") == "tombstoned"
    hidden = await store.forum.create_post(grammar, "cy", "Hidden", "A moderator hid it")
    await execute(adb_conn, "UPDATE forum_posts SET hidden_at = now() WHERE id = %s", [hidden.id])
    await store.forum.reply(first.id, "cy", "A reply")
    await store.forum.like_post(first.id, "cy")
    await store.forum_pages.record_view(first.id)
    await store.forum_pages.record_view(first.id)
    for minutes, post in enumerate([hidden, second, first]):
        await age(adb_conn, post.id, minutes)

    page = await store.forum_pages.feed(limit=1)
    # No draft's post, no tombstone; the hidden post only for its author and moderators (below).
    assert page.total == 2
    assert [p.title for p in page.posts] == ["Second"] and page.posts[0].id == second.id
    rest = await store.forum_pages.feed(limit=5, before=page.posts[-1])
    assert rest.total == 2 and [p.title for p in rest.posts] == ["First"]
    one = rest.posts[0]
    assert (one.course_title, one.author_name, one.author_avatar_url) == (
        "Grammar",
        "Bo",
        "https://img.example.com/bo.png",
    )
    assert (one.reply_count, one.like_count, one.view_count, one.excerpt) == (1, 1, 2, "The first post")
    after = await store.forum_pages.feed(before=rest.posts[-1])
    assert (after.total, after.posts) == (2, [])

    cy = store.as_user("cy")
    bo = store.as_user("bo")
    cy_feed = await cy.forum_pages.feed()
    assert [p.title for p in cy_feed.posts] == ["Hidden", "Second", "First"] and cy_feed.total == 3
    assert cy_feed.posts[0].hidden
    bo_feed = await bo.forum_pages.feed()
    assert [p.title for p in bo_feed.posts] == ["Second", "First"] and bo_feed.total == 2

    await execute(adb_conn, "DELETE FROM users WHERE clerk_id = 'bo'")
    erased = (await store.forum_pages.feed()).posts[-1]
    assert (erased.author_clerk_id, erased.author_name, erased.author_avatar_url) == (
        None,
        "deleted user",
        None,
    )


async def test_an_empty_feed_has_total_zero(store: AsyncStore) -> None:
    page = await store.forum_pages.feed()
    assert (page.total, page.posts) == (0, [])
    assert (await store.forum_pages.course_feed(uuid4())).total == 0


async def test_the_course_feed_is_pinned_first_then_newest_with_the_courses_total(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await people(adb_conn, "ada", "bo")
    grammar = await course(adb_conn, "Grammar")
    other = await course(adb_conn, "Other")
    posts = [await store.forum.create_post(grammar, "bo", f"Post {n}", "Body") for n in range(4)]
    for n, post in enumerate(posts):
        await execute(
            adb_conn,
            "UPDATE forum_posts SET created_at = now() + %s * interval '1 second' WHERE id = %s",
            [n, post.id],
        )
    await store.forum.create_post(other, "bo", "Elsewhere", "Body")
    await execute(adb_conn, "UPDATE forum_posts SET pinned_at = now() WHERE id = %s", [posts[0].id])
    first = await store.forum_pages.course_feed(grammar, limit=2)
    assert first.total == 4
    assert [(p.title, p.pinned) for p in first.posts] == [("Post 0", True), ("Post 3", False)]
    second = await store.forum_pages.course_feed(grammar, limit=2, before=first.posts[-1])
    assert [p.title for p in second.posts] == ["Post 2", "Post 1"] and second.total == 4


async def test_search_ranks_posts_and_replies_and_highlights_escaped_snippets(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await people(adb_conn, "ada", "bo", "cy")
    grammar = await course(adb_conn, "Grammar")
    verbs = await course(adb_conn, "Verbs")
    draft = await course(adb_conn, "Draft", status="draft")
    titled = await store.forum.create_post(grammar, "bo", "Subjunctive mood", "When do I use it?")
    bodied = await store.forum.create_post(
        verbs, "cy", "A question", "Is the subjunctive <b>hard</b> & long?"
    )
    reply = await store.forum.reply(titled.id, "cy", "The subjunctive follows wishes and doubts.")
    await store.forum.create_post(draft, "ada", "Subjunctive draft", "subjunctive")
    hidden = await store.forum.create_post(grammar, "cy", "Subjunctive, hidden", "subjunctive")
    await execute(adb_conn, "UPDATE forum_posts SET hidden_at = now() WHERE id = %s", [hidden.id])

    page = await store.as_user("bo").forum_pages.search("subjunctive")
    assert page.total == 3
    # a title match (weight A) outranks a body match (weight B)
    assert page.hits[0].id == titled.id and page.hits[0].kind == "post"
    assert {(h.kind, h.id) for h in page.hits} == {
        ("post", titled.id),
        ("post", bodied.id),
        ("reply", reply.id),
    }
    snippet = next(h.snippet for h in page.hits if h.id == bodied.id)
    assert "<mark>subjunctive</mark>" in snippet
    assert "&lt;b&gt;hard&lt;/b&gt; &amp; long" in snippet and "<b>" not in snippet
    found = next(h for h in page.hits if h.id == reply.id)
    assert (found.post_id, found.post_title, found.author_name) == (titled.id, "Subjunctive mood", "Cy")

    in_verbs = await store.forum_pages.search("subjunctive", course_id=verbs)
    assert [h.id for h in in_verbs.hits] == [bodied.id]
    second = await store.as_user("bo").forum_pages.search("subjunctive", limit=2, offset=2)
    assert second.total == 3 and len(second.hits) == 1
    assert (await store.forum_pages.search('"wishes and doubts"')).hits[0].id == reply.id
    assert [h.id for h in (await store.forum_pages.search("subjunctive -wishes -hard")).hits] == [titled.id]
    assert (await store.as_user("cy").forum_pages.search("subjunctive")).total == 4  # their hidden post
    assert (await store.forum_pages.search("!!!")).total == 0  # no searchable word
    with pytest.raises(InvalidValue) as caught:
        await store.forum_pages.search("  ")
    assert caught.value.field == "query"
    with pytest.raises(InvalidValue) as caught:
        await store.forum_pages.search("x", offset=-1)
    assert caught.value.field == "offset"


async def test_the_interest_feed_follows_the_tags_of_enrolled_and_favorited_courses(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await people(adb_conn, "ada", "bo", "cy")
    enrolled = await course(adb_conn, "Enrolled", "grammar")
    favorite = await course(adb_conn, "Favorite", "travel")
    related = await course(adb_conn, "Related", "Grammar2", "grammar")
    unrelated = await course(adb_conn, "Unrelated", "cooking")
    untagged = await course(adb_conn, "Untagged")
    await store.progress.enrol("bo", enrolled)
    await store.favorites.add("bo", favorite)
    for minutes, (course_id, title) in enumerate(
        [
            (related, "In related"),
            (favorite, "In favorite"),
            (enrolled, "In enrolled"),
            (unrelated, "In unrelated"),
            (untagged, "In untagged"),
        ]
    ):
        post = await store.forum.create_post(course_id, "cy", title, "Body")
        await age(adb_conn, post.id, minutes)
    page = await store.forum_pages.interest_feed("bo", limit=2)
    assert [p.title for p in page] == ["In related", "In favorite"]
    assert page[0].matched_tags == ["grammar"] and page[1].matched_tags == ["travel"]
    rest = await store.forum_pages.interest_feed("bo", before=page[-1])
    assert [p.title for p in rest] == ["In enrolled"]
    assert await store.forum_pages.interest_feed("cy") == []  # no enrolment, no favorite
    # under as_user, another viewer's enrolments and favorites are private: their feed is empty
    assert await store.as_user("cy").forum_pages.interest_feed("bo") == []
    assert len(await store.as_user("bo").forum_pages.interest_feed("bo")) == 3


async def test_the_interest_feed_walks_the_newest_posts_when_the_related_courses_hold_thousands(
    store: AsyncStore, adb_conn: AConn
) -> None:
    # Past 5,000 related posts the feed walks forum_posts_live_created_idx newest first instead of
    # fetching every related post: the same page, keyset and visibility either way.
    await people(adb_conn, "ada", "bo", "cy")
    enrolled = await course(adb_conn, "Enrolled", "grammar")
    related = await course(adb_conn, "Related", "grammar")
    unrelated = await course(adb_conn, "Unrelated", "cooking")
    await store.progress.enrol("bo", enrolled)
    # 5,001 related posts, one a minute, interleaved with as many unrelated ones; one hidden post
    await execute(
        adb_conn,
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body, created_at)"
        " SELECT CASE WHEN g %% 2 = 0 THEN %s::uuid ELSE %s::uuid END, 'cy', 'Post ' || g, 'Body',"
        " now() - g * interval '1 minute' FROM generate_series(1, 10002) AS g",
        [related, unrelated],
    )
    await execute(adb_conn, "UPDATE forum_posts SET hidden_at = now() WHERE title = 'Post 4'")
    counted = await execute(
        adb_conn,
        "SELECT sum(visible_posts + hidden_posts) FROM forum_course_post_counts WHERE course_id = %s",
        [related],
    )
    assert counted[0] == 5001  # past the bound: the walk
    expected = [f"Post {g}" for g in range(2, 10003, 2) if g != 4]
    page = await store.forum_pages.interest_feed("bo", limit=5)
    assert [p.title for p in page] == expected[:5]
    assert {tuple(p.matched_tags) for p in page} == {("grammar",)}
    rest = await store.forum_pages.interest_feed("bo", limit=5, before=page[-1])
    assert [p.title for p in rest] == expected[5:10]
    # the hidden post is its author's to see, on the same walk
    own = await store.as_user("cy").forum_pages.interest_feed("cy", limit=3)
    assert own == []  # cy has no course: no interests
    await store.progress.enrol("cy", enrolled)
    assert [p.title for p in await store.as_user("cy").forum_pages.interest_feed("cy", limit=3)] == [
        "Post 2",
        "Post 4",
        "Post 6",
    ]


async def test_the_activity_summary_counts_posts_replies_and_likes_given_and_received(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await people(adb_conn, "ada", "bo", "cy")
    grammar = await course(adb_conn, "Grammar")
    mine = await store.forum.create_post(grammar, "bo", "Mine", "Body")
    theirs = await store.forum.create_post(grammar, "cy", "Theirs", "Body")
    reply = await store.forum.reply(theirs.id, "bo", "My reply")
    hidden = await store.forum.reply(theirs.id, "bo", "Hidden reply")
    await execute(adb_conn, "UPDATE forum_replies SET hidden_at = now() WHERE id = %s", [hidden.id])
    await store.forum.like_post(mine.id, "cy")
    await store.forum.like_reply(reply.id, "cy")
    await store.forum.like_reply(hidden.id, "cy")
    await store.forum.like_post(theirs.id, "bo")
    summary = await store.as_user("cy").forum_pages.activity_summary("bo")
    assert (summary.posts, summary.replies, summary.likes_given, summary.likes_received) == (1, 1, 1, 2)
    own = await store.as_user("bo").forum_pages.activity_summary("bo")
    assert (own.replies, own.likes_received) == (2, 3)  # their hidden reply counts for them
    cy = await store.as_user("ada").forum_pages.activity_summary("cy")
    assert (cy.posts, cy.replies, cy.likes_given, cy.likes_received) == (1, 0, 2, 1)
    with pytest.raises(NotFound) as caught:
        await store.forum_pages.activity_summary("nobody")
    assert caught.value.field == "clerk_id"


async def test_views_count_visible_posts_only(store: AsyncStore, adb_conn: AConn) -> None:
    await people(adb_conn, "ada", "bo", "cy")
    grammar = await course(adb_conn, "Grammar")
    post = await store.forum.create_post(grammar, "bo", "Post", "Body")
    assert await store.forum_pages.views(post.id) == 0
    assert [await store.as_user("cy").forum_pages.record_view(post.id) for _ in range(3)] == [1, 2, 3]
    await execute(adb_conn, "UPDATE forum_posts SET hidden_at = now() WHERE id = %s", [post.id])
    with pytest.raises(NotFound):
        await store.as_user("cy").forum_pages.record_view(post.id)
    assert await store.as_user("bo").forum_pages.record_view(post.id) == 4
    with pytest.raises(NotFound) as caught:
        await store.forum_pages.record_view(uuid4())
    assert caught.value.field == "post_id"
    assert await store.forum_pages.views(post.id) == 4


async def test_64_concurrent_viewers_of_one_post_leave_the_exact_count(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        await people(conn, "ada", "bo")
        grammar = await course(conn, "Grammar")
    async with await learnstore.connect_async(fresh_db, min_size=64, max_size=64) as store:
        post = await store.forum.create_post(grammar, "bo", "Hot", "Everyone reads this")

        async def viewer() -> list[int]:
            return [await store.forum_pages.record_view(post.id) for _ in range(10)]

        seen = await asyncio.gather(*(viewer() for _ in range(64)))
        assert await store.forum_pages.views(post.id) == 640
        # each view saw a count at least its own, and no two views of one viewer saw the same count
        assert all(counts == sorted(set(counts)) and counts[0] >= 1 for counts in seen)
    with psycopg.connect(fresh_db) as check:
        shards = check.execute(
            "SELECT count(*) FROM forum_post_view_counts WHERE post_id = %s", [post.id]
        ).fetchone()
        assert shards is not None and 1 < shards[0] <= 16


def test_the_counters_are_written_only_through_the_increment(db_conn: Conn) -> None:
    db_conn.execute("INSERT INTO users (clerk_id) VALUES ('ada')")
    row = db_conn.execute(
        "INSERT INTO courses (title, author_clerk_id) VALUES ('C', 'ada') RETURNING id"
    ).fetchone()
    assert row is not None
    store = Store.on(db_conn)
    post = store.forum.create_post(row[0], "ada", "T", "B")
    assert store.as_user("ada").forum_pages.record_view(post.id) == 1
    with db_conn.transaction(force_rollback=True):
        db_conn.execute("SELECT set_config('learnstore.clerk_id', 'ada', true)")
        db_conn.execute("SET LOCAL ROLE learnstore_app")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db_conn.execute("UPDATE forum_post_view_counts SET views = 1000000")
    assert store.forum_pages.views(post.id) == 1


# ---- plans and round trips -----------------------------------------------------------------------


def explain(conn: Conn, name: str, params: dict[str, Any]) -> str:
    query = next(q for q in parse_dir(queries_dir()) if q.name == name)
    plan = conn.execute(f"EXPLAIN {query.psycopg_sql}".encode(), params).fetchall()
    return "\n".join(row[0] for row in plan)


def test_the_pages_read_through_their_indexes(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as db_conn:
        read_through_indexes(db_conn)


def read_through_indexes(db_conn: Conn) -> None:
    db_conn.execute("INSERT INTO users (clerk_id) SELECT 'u' || n FROM generate_series(0, 39) n")
    db_conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " SELECT 'C' || n, 'u0', 'published', now() FROM generate_series(1, 50) n"
    )
    # enough rows, and authors and likers, that a sequential scan would lose
    db_conn.execute(
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body, created_at)"
        " SELECT c.id, 'u' || n % 40, 'title ' || n, 'body number ' || n || ' of many',"
        "        now() - n * interval '1 minute'"
        " FROM generate_series(1, 4000) n"
        " JOIN LATERAL (SELECT id FROM courses ORDER BY id OFFSET n % 50 LIMIT 1) c ON true"
    )
    db_conn.execute(
        "INSERT INTO forum_replies (post_id, author_clerk_id, body)"
        " SELECT id, 'u' || (substr(title, 7)::int + 1) % 40, 'a reply about ' || title FROM forum_posts"
    )
    db_conn.execute(
        "INSERT INTO forum_post_likes (post_id, user_clerk_id)"
        " SELECT id, 'u' || (substr(title, 7)::int + 2) % 40 FROM forum_posts"
    )
    db_conn.execute(
        "INSERT INTO forum_reply_likes (reply_id, user_clerk_id)"
        " SELECT r.id, 'u' || (substr(p.title, 7)::int + 3) % 40 FROM forum_replies r"
        " JOIN forum_posts p ON p.id = r.post_id"
    )
    db_conn.execute("UPDATE forum_posts SET body = body || ' rarebird' WHERE title = 'title 7'")
    db_conn.execute("VACUUM ANALYZE")
    course_id = db_conn.execute("SELECT course_id FROM forum_posts LIMIT 1").fetchone()[0]  # type: ignore[index]
    keyset = {"before_created_at": None, "before_id": None, "page_size": 20}

    feed = explain(db_conn, "ListForumFeed", keyset)
    # The page walks the index and stops at 20 rows; the total sums the platform's 16 shards (not a
    # counter per course) and reads the viewer's own hidden posts by index: no plan of it reads
    # every post.
    assert "Index Scan using forum_posts_live_created_idx on forum_posts p " in feed, feed
    assert "forum_platform_post_counts" in feed and "forum_course_post_counts" not in feed, feed
    assert "Seq Scan on forum_posts" not in feed and "Seq Scan on forum_replies" not in feed, feed

    course_feed = explain(
        db_conn, "ListCourseForumFeed", {**keyset, "course_id": course_id, "before_pinned": None}
    )
    assert "forum_posts_course_pinned_idx" in course_feed or "forum_posts_course_id_idx" in course_feed
    assert "Seq Scan on forum_posts" not in course_feed, course_feed

    # A rare word: its matches through the GIN indexes on the stored documents; a common one (in
    # every post): newest first along the live indexes. One plan holds both (the branches not taken
    # are skipped when the statement runs).
    search = explain(db_conn, "SearchForum", {"query": "rarebird", "page_size": 20, "skip": 0})
    assert "Bitmap Index Scan on forum_posts_search_document_idx" in search, search
    assert "Bitmap Index Scan on forum_replies_search_document_idx" in search, search
    assert "forum_posts_live_created_idx" in search or "forum_posts_created_at_idx" in search, search
    assert "forum_replies_live_created_idx" in search or "forum_replies_created_at_idx" in search, search
    assert "Seq Scan on forum_posts" not in search and "Seq Scan on forum_replies" not in search, search

    params = {"query": "rarebird", "course_id": course_id, "page_size": 20, "skip": 0}
    in_course = explain(db_conn, "SearchCourseForum", params)
    assert "Seq Scan on forum_posts" not in in_course, in_course
    assert "Seq Scan on forum_replies" not in in_course, in_course

    # a user with a hundred posts, replies and likes among thousands: each count reads theirs by index
    summary = explain(db_conn, "GetForumActivitySummary", {"clerk_id": "u5"})
    for table in ("forum_posts", "forum_replies", "forum_post_likes", "forum_reply_likes"):
        assert f"Seq Scan on {table}" not in summary, summary


@contextmanager
def round_trips(conn: AConn) -> Iterator[list[str]]:
    """The ReadyForQuery messages the server sends while the block runs: one per round trip."""
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


async def test_every_forum_page_read_is_one_round_trip(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as adb_conn:
        await one_round_trip_each(AsyncStore.on(adb_conn), adb_conn)


async def one_round_trip_each(store: AsyncStore, adb_conn: AConn) -> None:
    await people(adb_conn, "ada", "bo")
    grammar = await course(adb_conn, "Grammar", "grammar")
    await store.progress.enrol("bo", grammar)
    post = await store.forum.create_post(grammar, "ada", "Grammar help", "Ask here")
    operations: dict[str, Callable[[], Awaitable[object]]] = {
        "feed": lambda: store.forum_pages.feed(),
        "course_feed": lambda: store.forum_pages.course_feed(grammar),
        "search": lambda: store.forum_pages.search("grammar"),
        "interest_feed": lambda: store.forum_pages.interest_feed("bo"),
        "record_view": lambda: store.forum_pages.record_view(post.id),
        "views": lambda: store.forum_pages.views(post.id),
        "activity_summary": lambda: store.forum_pages.activity_summary("ada"),
    }
    for name, operation in operations.items():
        with round_trips(adb_conn) as trips:
            result = await operation()
        assert result not in ([], None, 0), name
        assert len(trips) == 1, (name, trips)


def test_the_sync_store_draws_the_forum_pages(db_conn: Conn) -> None:
    db_conn.execute("INSERT INTO users (clerk_id) VALUES ('ada')")
    row = db_conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES ('C', 'ada', 'published', now()) RETURNING id"
    ).fetchone()
    assert row is not None
    store = Store.on(db_conn)
    post = store.forum.create_post(row[0], "ada", "Sync", "Works the same")
    assert store.forum_pages.record_view(post.id) == 1
    assert [p.view_count for p in store.forum_pages.feed().posts] == [1]
    assert store.forum_pages.search("same").hits[0].snippet == "Works the <mark>same</mark>"
