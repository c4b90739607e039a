"""Forum search and feed totals since migration 0025: search ranks from stored documents and ranks at
most the newest 1,000 matches (total exact up to them, `total_capped` beyond); the feeds' totals sum
a per-course counter of live posts, exact for every viewer (authors see their hidden posts, moderators
all), kept by triggers under 16 racing writers, checked and repaired by `store.check()`, and written
by nobody under `as_user`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import pytest
from test_races import WRITERS, race_threads, scalar, sql

import learnstore
from learnstore import AsyncStore, Store, migrate
from learnstore._resources import queries_dir
from learnstore.errors import InvalidValue
from learnstore.queries._loader import parse_dir
from learnstore.repositories.forum_pages import SEARCH_CAP

AConn = psycopg.AsyncConnection[Any]
Conn = psycopg.Connection[Any]


def course(conn: Conn, title: str, status: str = "published") -> UUID:
    row = conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES (%s, 'ada', %s, CASE WHEN %s = 'published' THEN now() END) RETURNING id",
        [title, status, status],
    ).fetchone()
    assert row is not None
    course_id: UUID = row[0]
    return course_id


def setup_people(conn: Conn) -> None:
    conn.execute(
        "INSERT INTO users (clerk_id, first_name)"
        " VALUES ('ada', 'Ada'), ('bo', 'Bo'), ('cy', 'Cy'), ('mo', 'Mo')"
    )
    conn.execute("INSERT INTO site_roles (user_clerk_id, role) VALUES ('mo', 'moderator')")


def posts(conn: Conn, course_id: UUID, count: int, word: str, *, minutes_ago: int = 0) -> None:
    """`count` posts by bo with `word` in the body, one a minute apart, the newest `minutes_ago` old."""
    conn.execute(
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body, created_at)"
        " SELECT %s, 'bo', 'Question ' || g, 'About ' || %s || ' number ' || g,"
        "        now() - (%s + g) * interval '1 minute'"
        " FROM generate_series(1, %s) g",
        [course_id, word, minutes_ago, count],
    )


# ---- search: stored documents, the cap ----------------------------------------------------------------


def test_search_ranks_only_the_newest_1000_matches_and_says_the_total_is_capped(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar = course(db_conn, "Grammar")
    # An old post that would rank first (the word in its title too), then 1,005 newer matches.
    db_conn.execute(
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body, created_at)"
        " VALUES (%s, 'cy', 'Subjunctive subjunctive', 'subjunctive, subjunctive',"
        "         now() - interval '1 year')",
        [grammar],
    )
    posts(db_conn, grammar, SEARCH_CAP + 5, "subjunctive")
    posts(db_conn, grammar, 3, "vocabulary")
    store = Store.on(db_conn)

    found = store.forum_pages.search("subjunctive", limit=20)
    assert (found.total, found.total_capped, len(found.hits)) == (SEARCH_CAP, True, 20)
    assert all(hit.author_name == "Bo" for hit in found.hits)  # the old post is past the cap
    in_course = store.forum_pages.search("subjunctive", course_id=grammar, limit=5)
    assert (in_course.total, in_course.total_capped) == (SEARCH_CAP, True)
    assert [h.id for h in in_course.hits] == [h.id for h in found.hits[:5]]
    last = store.forum_pages.search("subjunctive", limit=20, offset=SEARCH_CAP - 10)
    assert len(last.hits) == 10 and last.total == SEARCH_CAP
    assert store.forum_pages.search("subjunctive", offset=SEARCH_CAP).hits == []
    with pytest.raises(InvalidValue) as caught:
        store.forum_pages.search("subjunctive", offset=SEARCH_CAP + 1)
    assert caught.value.field == "offset"

    few = store.forum_pages.search("vocabulary")
    assert (few.total, few.total_capped, len(few.hits)) == (3, False, 3)

    # Under the cap every match is ranked: the old post's title match is first again.
    db_conn.execute("DELETE FROM forum_posts WHERE body LIKE 'About subjunctive%%' AND title <> 'Question 1'")
    ranked = store.forum_pages.search("subjunctive")
    assert (ranked.total, ranked.total_capped) == (2, False)
    assert [hit.author_name for hit in ranked.hits] == ["Cy", "Bo"]


def test_a_common_word_and_a_rare_one_find_the_same_newest_matches(db_conn: Conn) -> None:
    # More than 5,000 matches take the newest-first walk, fewer the GIN index: same answer.
    setup_people(db_conn)
    grammar = course(db_conn, "Grammar")
    posts(db_conn, grammar, 5_200, "common")
    db_conn.execute(
        "UPDATE forum_posts SET body = body || ' rare' WHERE title IN ('Question 3', 'Question 4000')"
    )
    db_conn.execute("ANALYZE forum_posts")
    store = Store.on(db_conn)
    common = store.forum_pages.search("common", limit=200)
    assert (common.total, common.total_capped) == (SEARCH_CAP, True)
    newest = [r[0] for r in db_conn.execute(
        "SELECT id FROM forum_posts ORDER BY created_at DESC, id DESC LIMIT %s", [SEARCH_CAP]
    )]  # fmt: skip
    assert {h.id for h in common.hits} <= set(newest)
    rare = store.forum_pages.search("rare")
    assert [h.post_title for h in rare.hits] == ["Question 3", "Question 4000"]
    both = store.forum_pages.search("common rare")
    assert [h.post_title for h in both.hits] == ["Question 3", "Question 4000"]


def test_a_prepared_search_keeps_its_generic_plan_instead_of_planning_every_call(db_conn: Conn) -> None:
    # Planning the statement costs more than running it at the small scale: once psycopg prepares
    # it, PostgreSQL must find the generic plan no costlier than the custom ones and keep it, which
    # a page size known to the custom plans only (LIMIT 20 against LIMIT $n) prevented. Replies and
    # statistics as in the benchmark's forum: with fewer rows the two plans cost about the same.
    setup_people(db_conn)
    grammar = course(db_conn, "Grammar")
    posts(db_conn, grammar, 300, "subjunctive")
    posts(db_conn, grammar, 1_000, "vocabulary")
    db_conn.execute(
        "INSERT INTO forum_replies (post_id, author_clerk_id, body)"
        " SELECT id, 'cy', 'A reply about the subjunctive' FROM forum_posts, generate_series(1, 3)"
    )
    db_conn.execute("ANALYZE forum_posts")
    db_conn.execute("ANALYZE forum_replies")
    db_conn.execute("ANALYZE users")
    store = Store.on(db_conn)
    for _ in range(12):
        assert len(store.forum_pages.search("subjunctive", limit=20).hits) == 20
        assert len(store.forum_pages.search("subjunctive", course_id=grammar, limit=5).hits) == 5
    plans = db_conn.execute(
        "SELECT generic_plans FROM pg_prepared_statements WHERE statement LIKE '%%websearch_to_tsquery%%'"
    ).fetchall()
    assert len(plans) == 2 and all(generic > 0 for (generic,) in plans), plans


def test_the_stored_documents_follow_every_edit_and_are_no_edit_themselves(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar = course(db_conn, "Grammar")
    store = Store.on(db_conn)
    post = store.forum.create_post(grammar, "bo", "Verbs", "About irregular verbs")
    reply = store.forum.reply(post.id, "cy", "Try flashcards")
    assert store.forum_pages.search("irregular").total == 1
    store.forum.edit_post(post.id, "bo", body="About regular verbs")
    store.forum.edit_reply(reply.id, "cy", "Try spaced repetition")
    assert store.forum_pages.search("irregular").total == 0
    assert [h.kind for h in store.forum_pages.search("regular or repetition").hits] == ["post", "reply"]
    assert store.forum_pages.search("flashcards").total == 0
    # A document rewritten alone (the backfill, a repair) leaves updated_at.
    before = scalar_of(db_conn, "SELECT updated_at FROM forum_posts WHERE id = %s", post.id)
    db_conn.execute("UPDATE forum_posts SET search_document = NULL WHERE id = %s", [post.id])
    assert scalar_of(db_conn, "SELECT updated_at FROM forum_posts WHERE id = %s", post.id) == before
    assert store.check().drift == 1
    assert store.check(repair=True).drift == 0
    assert store.forum_pages.search("regular").total == 1
    # the documents are the database's: no model carries one, no export lists one
    assert "search_document" not in type(post).model_fields
    exported = store.users.export("bo")
    assert "search_document" not in exported["forum_posts"][0]


def scalar_of(conn: Conn, query: str, *params: Any) -> Any:
    row = conn.execute(query.encode(), list(params)).fetchone()
    assert row is not None
    return row[0]


# ---- feed totals: the counter ---------------------------------------------------------------------------


def visible_total(conn: Conn, viewer: str | None, course_id: UUID | None = None) -> int:
    """The total by counting every post as the viewer (what the counter must agree with)."""
    with conn.transaction(force_rollback=True):
        if viewer is not None:
            conn.execute("SELECT set_config('learnstore.clerk_id', %s, true)", [viewer])
            conn.execute("SET LOCAL ROLE learnstore_app")
        row = conn.execute(
            "SELECT count(*) FROM forum_posts p JOIN courses c ON c.id = p.course_id"
            " WHERE p.deleted_at IS NULL AND learnstore_visible(p.hidden_at, p.author_clerk_id)"
            "   AND (c.status = 'published' AND %(course)s::uuid IS NULL OR p.course_id = %(course)s)",
            {"course": course_id},
        ).fetchone()
    assert row is not None
    total: int = row[0]
    return total


def test_the_totals_are_exact_for_authors_moderators_and_everyone_else(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar, travel, draft = (
        course(db_conn, "Grammar"),
        course(db_conn, "Travel"),
        course(db_conn, "D", "draft"),
    )
    store = Store.on(db_conn)
    made = [
        store.forum.create_post(c, who, "T", "B") for c in (grammar, travel, draft) for who in ("bo", "cy")
    ]
    made += [store.forum.create_post(grammar, "bo", "T", "B") for _ in range(3)]
    store.moderation.hide("mo", "Spam", post_id=made[0].id)  # bo's, in grammar
    store.moderation.hide("mo", "Spam", post_id=made[3].id)  # cy's, in travel
    store.moderation.hide("mo", "Spam", post_id=made[4].id)  # bo's, in the draft
    store.forum.delete_post(made[6].id, "bo")
    store.forum.reply(made[7].id, "cy", "r")
    store.forum.delete_post(made[7].id, "bo")  # a tombstone: out of the totals
    expected = {None: 3, "ada": 3, "bo": 4, "cy": 4, "mo": 5}
    for viewer, total in expected.items():
        scoped = store if viewer is None else store.as_user(viewer)
        assert scoped.forum_pages.feed(limit=1).total == total == visible_total(db_conn, viewer), viewer
        for c in (grammar, travel, draft):
            got = scoped.forum_pages.course_feed(c, limit=1).total
            assert got == visible_total(db_conn, viewer, c), (viewer, c)
    assert store.as_user("mo").forum_pages.course_feed(grammar).total == 3
    assert store.as_user("bo").forum_pages.course_feed(grammar).total == 3
    assert store.as_user("cy").forum_pages.course_feed(grammar).total == 2
    # unhiding, publishing and unpublishing move the totals; nothing else is rewritten
    store.moderation.unhide("mo", "Fine", post_id=made[3].id)
    db_conn.execute("UPDATE courses SET status = 'published', published_at = now() WHERE id = %s", [draft])
    assert store.as_user("ada").forum_pages.feed().total == 5 == visible_total(db_conn, "ada")
    assert store.as_user("bo").forum_pages.feed().total == 7 == visible_total(db_conn, "bo")
    assert store.check().drift == 0


def test_the_counter_is_written_by_the_triggers_only(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar = course(db_conn, "Grammar")
    store = Store.on(db_conn)
    store.as_user("bo").forum.create_post(grammar, "bo", "Mine", "Counted by the trigger")
    for statement in (
        "UPDATE forum_course_post_counts SET visible_posts = 1000",
        "DELETE FROM forum_course_post_counts",
        f"INSERT INTO forum_course_post_counts (course_id, visible_posts) VALUES ('{grammar}', 5)",
        "UPDATE forum_posts SET search_document = NULL",
    ):
        with db_conn.transaction(force_rollback=True):
            db_conn.execute("SELECT set_config('learnstore.clerk_id', 'bo', true)")
            db_conn.execute("SET LOCAL ROLE learnstore_app")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db_conn.execute(statement.encode())
    assert store.as_user("cy").forum_pages.feed().total == 1
    counts = db_conn.execute("SELECT visible_posts, hidden_posts FROM forum_course_post_counts").fetchall()
    assert counts == [(1, 0)]


def test_check_finds_and_repairs_a_drifted_counter(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar, travel = course(db_conn, "Grammar"), course(db_conn, "Travel")
    posts(db_conn, grammar, 4, "x")
    posts(db_conn, travel, 2, "y")
    db_conn.execute("UPDATE forum_course_post_counts SET visible_posts = 9 WHERE course_id = %s", [grammar])
    db_conn.execute("DELETE FROM forum_course_post_counts WHERE course_id = %s", [travel])
    store = Store.on(db_conn)
    report = store.check()
    (counts,) = [v for v in report.values if v.name == "forum_post_counts"]
    assert counts.drifted == 2
    assert {e["stored"] for e in counts.examples} == {"9 visible, 0 hidden, published", "0 visible, 0 hidden"}
    assert store.check(repair=True).drift == 0
    assert store.forum_pages.feed().total == 6


def test_sixteen_writers_posting_deleting_and_hiding_leave_the_exact_counts(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn)
        conn.execute(
            "INSERT INTO users (clerk_id) SELECT 'w' || i FROM generate_series(0, %s) i", [WRITERS - 1]
        )
        courses = [course(conn, f"C{i}") for i in range(3)]
    with learnstore.connect(fresh_db, max_size=1) as store:
        # every writer has posts of its own to delete and hide, in its course
        seeded = {i: [store.forum.create_post(courses[i % 3], f"w{i}", "Seed", "s").id for _ in range(3)]
                  for i in range(WRITERS)}  # fmt: skip

    def write(store: Store, i: int) -> None:
        # One transaction per writer, in its course (of 3: five or six writers per course row):
        # posts, a delete, a hide and (every other writer) an unhide, then another post.
        mine, own = seeded[i], courses[i % 3]
        store.forum.create_post(own, f"w{i}", "New", "n")
        store.forum.delete_post(mine[0], f"w{i}")
        store.moderation.hide("mo", "Spam", post_id=mine[1])
        if i % 2:
            store.moderation.unhide("mo", "Fine", post_id=mine[1])
        store.forum.create_post(own, f"w{i}", "Again", "a")

    race_threads(fresh_db, write, seed=7)
    # each writer: 3 seeded + 2 new - 1 deleted
    assert (
        scalar(fresh_db, "SELECT sum(visible_posts + hidden_posts) FROM forum_course_post_counts")
        == WRITERS * 4
    )
    assert scalar(fresh_db, "SELECT sum(hidden_posts) FROM forum_course_post_counts") == WRITERS // 2
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0
        with psycopg.connect(fresh_db) as conn:
            for viewer in (None, "mo", "w1", "w2"):
                scoped = store if viewer is None else store.as_user(viewer)
                assert scoped.forum_pages.feed().total == visible_total(conn, viewer), viewer
    sql(fresh_db, "DELETE FROM courses WHERE title = 'C0'")  # a course's row goes with it
    assert scalar(fresh_db, "SELECT count(*) FROM forum_course_post_counts") == 2


async def test_the_async_store_reports_the_cap(adb_conn: AConn) -> None:
    async with adb_conn.cursor() as cur:
        await cur.execute("INSERT INTO users (clerk_id) VALUES ('ada'), ('bo')")
        await cur.execute(
            "INSERT INTO courses (title, author_clerk_id, status, published_at)"
            " VALUES ('G', 'ada', 'published', now()) RETURNING id"
        )
        row = await cur.fetchone()
        assert row is not None
    store = AsyncStore.on(adb_conn)
    await store.forum.create_post(row[0], "bo", "Hello", "Hello world")
    page = await store.forum_pages.search("hello")
    assert (page.total, page.total_capped, len(page.hits)) == (1, False, 1)
    assert (await store.forum_pages.search("hello", course_id=row[0])).hits == page.hits


def test_migration_0025_fills_the_documents_and_counts_of_the_forum_already_there(fresh_db: str) -> None:
    # Back to before 0025, a forum written then, and 0025 again: its backfill (batches committed one
    # by one) and its first counts, with no post's updated_at moved.
    migrate.rollback(fresh_db, to="0024_set_usage_indexes")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn)
        grammar, draft = course(conn, "Grammar"), course(conn, "Draft", "draft")
        conn.execute(
            "INSERT INTO forum_posts"
            " (course_id, author_clerk_id, title, body, hidden_at, deleted_at, updated_at)"
            " SELECT CASE WHEN g %% 4 = 0 THEN %s ELSE %s END, 'bo', 'Old ' || g, 'word' || g,"
            "        CASE WHEN g %% 5 = 0 THEN now() END, CASE WHEN g %% 7 = 0 THEN now() END, '2020-01-01'"
            " FROM generate_series(1, 12000) g",
            [draft, grammar],
        )
        conn.execute(
            "INSERT INTO forum_replies (post_id, author_clerk_id, body, updated_at)"
            " SELECT id, 'cy', 'reply to ' || title, '2020-01-01' FROM forum_posts"
        )
    migrate.upgrade(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        assert scalar_of(conn, "SELECT count(*) FROM forum_posts WHERE search_document IS NULL") == 0
        assert scalar_of(conn, "SELECT count(*) FROM forum_replies WHERE search_document IS NULL") == 0
        assert scalar_of(conn, "SELECT count(*) FROM forum_posts WHERE updated_at <> '2020-01-01'") == 0
        assert scalar_of(conn, "SELECT count(*) FROM forum_replies WHERE updated_at <> '2020-01-01'") == 0
        assert visible_total(conn, None) == scalar_of(
            conn,
            "SELECT count(*) FROM forum_posts p JOIN courses c ON c.id = p.course_id"
            " WHERE c.status = 'published' AND p.deleted_at IS NULL AND p.hidden_at IS NULL",
        )
    with learnstore.connect(fresh_db, max_size=1) as store, psycopg.connect(fresh_db) as conn:
        assert store.check().drift == 0
        assert store.forum_pages.feed().total == visible_total(conn, None)
        assert store.as_user("mo").forum_pages.course_feed(grammar).total == visible_total(
            conn, "mo", grammar
        )
        assert [h.post_title for h in store.forum_pages.search("word11999").hits] == ["Old 11999"]


# ---- search: a common word is not counted (migration 0037) --------------------------------------------


def node_loops(plan: dict[str, Any], index: str) -> list[int]:
    """The actual loops of every node of an EXPLAIN ANALYZE plan (JSON) that reads `index`."""
    found = [plan.get("Actual Loops", 0)] if plan.get("Index Name") == index else []
    for child in plan.get("Plans", []):
        found += node_loops(child, index)
    return found


def test_the_statistics_tell_a_common_words_matches_and_nothing_of_a_rare_one(db_conn: Conn) -> None:
    setup_people(db_conn)
    grammar = course(db_conn, "Grammar")
    posts(db_conn, grammar, 3000, "everywhere")
    posts(db_conn, grammar, 3, "o'brien")
    db_conn.execute("UPDATE forum_posts SET body = body || ' half' WHERE title ~ '[02468]$'")
    db_conn.execute("ANALYZE forum_posts, forum_replies")

    def estimate(words: str) -> tuple[int | None, int | None]:
        row = db_conn.execute(
            "SELECT * FROM forum_search_common_matches(websearch_to_tsquery('simple', %s))", [words]
        ).fetchone()
        assert row is not None
        return row[0], row[1]

    everywhere, replies = estimate("everywhere")
    assert everywhere is not None and 2900 <= everywhere <= 3100 and replies is None
    half, _ = estimate("half")
    assert half is not None and 1350 <= half <= 1650
    assert estimate("zebra") == (None, None)  # not among the common elements
    assert estimate("everywhere half") == (None, None)  # more than one word: counted
    assert estimate("-everywhere") == (None, None)
    assert estimate("'; DROP TABLE forum_posts; --") == (None, None)
    # under as_user too (row-level security hides pg_stats' rows from the caller: SECURITY DEFINER)
    with db_conn.transaction(force_rollback=True):
        db_conn.execute("SELECT set_config('learnstore.clerk_id', 'bo', true)")
        db_conn.execute("SET LOCAL ROLE learnstore_app")
        assert estimate("everywhere") == (everywhere, None)


def test_a_word_the_statistics_call_common_takes_the_walk_without_counting_its_matches(
    fresh_db: str,
) -> None:
    """More than 20,000 posts with a word: the count that chooses the branch is skipped (its bitmap
    scan of the GIN index runs no loop) and the page is the newest matches', as counted; a rare word
    is still counted through the index."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        setup_people(conn)
        grammar = course(conn, "Grammar")
        posts(conn, grammar, 21000, "everywhere")
        posts(conn, grammar, 2, "rarebird", minutes_ago=30000)
        conn.execute("VACUUM ANALYZE forum_posts")
        query = {q.name: q for q in parse_dir(queries_dir())}["SearchForum"].psycopg_sql
        loops = {}
        for word in ("everywhere", "rarebird"):
            plan = conn.execute(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {query}".encode(),
                {"query": word, "page_size": 20, "skip": 0},
            ).fetchone()
            assert plan is not None
            loops[word] = node_loops(plan[0][0]["Plan"], "forum_posts_search_document_idx")
        assert loops["everywhere"] and set(loops["everywhere"]) == {0}, loops
        assert max(loops["rarebird"]) >= 1, loops
    with learnstore.connect(fresh_db, max_size=1) as store:
        found = store.forum_pages.search("everywhere", limit=5)
        assert (found.total, found.total_capped) == (SEARCH_CAP, True)
        assert [hit.post_title for hit in found.hits] == [f"Question {g}" for g in range(1, 6)]
        rare = store.forum_pages.search("rarebird")
        assert (rare.total, rare.total_capped, len(rare.hits)) == (2, False, 2)
