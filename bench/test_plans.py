"""Plan checks at scale: no hot operation's query scans a large table sequentially.

Runs on the large (or million) benchmark dataset only, outside the default test run:

    python -m bench.dataset --scale large
    pytest bench/test_plans.py -m large

Every query of sql/queries that a hot operation runs is executed (in a transaction rolled back
afterwards) under auto_explain with nested statements, so that the statements inside the SQL
functions are checked too, once with custom plans (the first executions of a prepared statement,
and every unprepared one) and once with the generic plan PostgreSQL may switch a prepared
statement to. A sequential scan of a table of more than LARGE rows fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from bench import db
from bench.forum_pages_ops import RARE_QUERY, SEARCH_QUERY, ForumData
from bench.growth_ops import ensure_points
from bench.ops import Fixture
from bench.peers.raw import search_params, sql

pytestmark = pytest.mark.large

#: a table with more rows than this is large: an index must serve a hot query's access to it
LARGE = 10_000

_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")

# (operation, learnstore query, its parameters given the fixture)
HOT_QUERIES: list[tuple[str, str, Callable[[Fixture], dict[str, Any]]]] = [
    ("user by clerk id", "get_user_by_clerk_id", lambda fx: {"clerk_id": fx.learner}),
    ("learner dashboard", "list_learner_courses", lambda fx: {"user_clerk_id": fx.learner}),
    ("course tree", "get_course_tree", lambda fx: {"course_id": fx.course_id, "include_unpublished": False}),
    (
        "record lesson completed",
        "set_lesson_status",
        lambda fx: {"user_clerk_id": "bench_raw", "lesson_id": fx.lessons[25], "status": "completed"},
    ),
    ("next lesson", "get_next_lesson", lambda fx: {"user_clerk_id": fx.learner, "course_id": fx.course_id}),
    (
        "notifications page",
        "list_notifications",
        lambda fx: {
            "user_clerk_id": fx.learner,
            "before_created_at": None,
            "before_id": None,
            "page_size": 20,
        },
    ),
    ("discovery search", "search_published_courses_newest", lambda fx: search_params(fx.search, 20)),
    (
        "discovery, newest first",
        "search_published_courses_newest",
        lambda fx: {**search_params("", 20), "text_query": None},
    ),
    *(
        (
            f"discovery, {label}",
            "search_published_courses",
            lambda fx, order=order, text=text: {
                **search_params(text, 20),
                "text_query": text or None,
                "sort_by": order,
                "after_score": None,
                "after_count": None,
            },
        )
        for label, order, text in (("by relevance", "relevance", "course"), ("best rated", "rating", ""))
    ),
    (
        "adding a lesson to the flagship course (the course-wide recompute of every enrolment)",
        "__add_lesson__",
        lambda fx: {"course_id": fx.course_id},
    ),
    (
        "50-row list",
        "list_lesson_progress",
        lambda fx: {"user_clerk_id": fx.learner, "course_id": fx.course_id},
    ),
    (
        "recommendations (10)",
        "list_recommended_courses",
        lambda fx: {"user_clerk_id": fx.learner, "peer_sample": 100, "popular_window": 2000, "page_size": 10},
    ),
    (
        "recommendations, new learner",
        "list_recommended_courses",
        lambda fx: {
            "user_clerk_id": "bench_nobody",
            "peer_sample": 200,
            "popular_window": 5000,
            "page_size": 10,
        },
    ),
    (
        "recommendations, anonymous visitor",
        "list_recommended_courses",
        lambda fx: {"user_clerk_id": None, "peer_sample": 100, "popular_window": 2000, "page_size": 10},
    ),
    (
        "dashboard as course cards",
        "list_enrolled_course_cards",
        lambda fx: {"user_clerk_id": fx.learner, "page_size": 50},
    ),
    (
        "course cards by id",
        "list_course_cards_by_ids",
        lambda fx: {"course_ids": [fx.course_id], "viewer": fx.learner},
    ),
    (
        "an author's course cards",
        "list_author_course_cards",
        lambda fx: {"author_clerk_id": "user_000000", "viewer": fx.learner, "page_size": 20},
    ),
    (
        "favorite course cards",
        "list_favorite_course_cards",
        lambda fx: {
            "user_clerk_id": fx.learner,
            "before_created_at": None,
            "before_id": None,
            "page_size": 21,
        },
    ),
    (
        "trending course cards",
        "list_trending_course_cards",
        lambda fx: {"since": "2025-05-01T00:00:00Z", "viewer": fx.learner, "page_size": 10},
    ),
    # the window's start inside an hour: its first, partial hour is counted from the forum tables
    ("trending courses", "list_trending_courses", lambda fx: {"since": "2025-05-25T12:17:00Z", "top": 10}),
    ("trending tags", "list_trending_tags", lambda fx: {"since": "2025-05-25T12:17:00Z", "top": 10}),
    (
        "the course page",
        "get_course_page",
        lambda fx: {"course_id": fx.course_id, "viewer": fx.learner, "top_reviews": 5},
    ),
    (
        "a learner's lesson statuses",
        "list_learner_lesson_statuses",
        lambda fx: {
            "user_clerk_id": fx.learner,
            "before_updated_at": None,
            "before_id": None,
            "page_size": 51,
        },
    ),
    (
        "what a user owns",
        "get_user_belongings",
        lambda fx: {"clerk_id": fx.learner, "per_section": 20},
    ),
    *[
        (
            f"the roster by {order}",
            "get_course_roster",
            lambda fx, order=order: {
                "course_id": fx.course_id,
                "viewer": "user_000000",
                "sort_by": order,
                "after_progress": None,
                "after_at": None,
                "after_clerk_id": None,
                "page_size": 51,
            },
        )
        for order in ("progress", "last_activity")
    ],
    (
        "the roster by name",
        "get_course_roster_by_name",
        lambda fx: {
            "course_id": fx.course_id,
            "viewer": "user_000000",
            "after_name": None,
            "after_clerk_id": None,
            "page_size": 51,
        },
    ),
    (
        "the roster exported",
        "export_course_roster",
        lambda fx: {"course_id": fx.course_id, "viewer": "user_000000"},
    ),
    (
        "user search by prefix",
        "search_users",
        lambda fx: {"lower_bound": "mar", "upper_bound": "mas", "page_size": 10},
    ),
    (
        "the due queue (20)",
        "list_due_flashcards",
        lambda fx: {"user_clerk_id": fx.learner, "set_id": None, "page_size": 20, "new_per_day": 20},
    ),
    *(
        (
            f"public flashcard sets{label}",
            "search_public_flashcard_sets",
            lambda fx, text=text: {
                "text_query": text,
                "language_id": None,
                "course_id": None,
                "before_created_at": None,
                "before_id": None,
                "page_size": 20,
            },
        )
        for label, text in (("", None), (", searched", "travel"))
    ),
    (
        "an owner's flashcard sets, searched",
        "search_owner_flashcard_sets",
        lambda fx: {
            "owner_clerk_id": fx.learner,
            "include_private": True,
            "text_query": "travel",
            "before_created_at": None,
            "before_id": None,
            "page_size": 20,
        },
    ),
]


# A content change, in plain SQL: its statement trigger recomputes every enrolment of the course.
ADD_LESSON = """
INSERT INTO lessons (unit_id, title, content_type, content, position)
SELECT u.id, 'One more lesson', 'text', '{"body": "b"}',
       (SELECT max(l.position) + 1 FROM lessons l WHERE l.unit_id = u.id)
FROM units u WHERE u.course_id = %(course_id)s ORDER BY u.position LIMIT 1
"""


@pytest.fixture(scope="module")
def dsn() -> str:
    dsn = db.default_dsn()
    if db.loaded_scale(dsn) not in ("large", "million"):
        pytest.skip(f"{dsn} does not hold the large dataset: run python -m bench.dataset --scale large")
    return dsn


@pytest.fixture(scope="module")
def fixture(dsn: str) -> Fixture:
    with psycopg.connect(dsn) as conn:
        return Fixture.find(conn)


@pytest.fixture(scope="module")
def large_tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            " AND reltuples > %s",
            (LARGE,),
        ).fetchall()
    return {name for (name,) in rows}


def plans(dsn: str, statement: str, params: dict[str, Any], mode: str) -> list[str]:
    """Every plan PostgreSQL ran for `statement`, nested statements included, as auto_explain logs
    them; on a connection of its own, in a transaction rolled back afterwards."""
    logged: list[str] = []
    with psycopg.connect(dsn) as conn, conn.transaction(force_rollback=True):
        conn.add_notice_handler(lambda diag: logged.append(diag.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        conn.execute("SET LOCAL auto_explain.log_min_duration = 0")
        conn.execute("SET LOCAL auto_explain.log_nested_statements = on")
        conn.execute("SET LOCAL client_min_messages = log")
        conn.execute(f"SET LOCAL plan_cache_mode = force_{mode}_plan")
        # A named prepared statement: the plan cache (and so plan_cache_mode) applies to it.
        cur = conn.execute(statement, params, prepare=True)
        if cur.description is not None:  # an INSERT without RETURNING has no rows to fetch
            cur.fetchall()
    return [text for text in logged if "plan:" in text]


@pytest.mark.parametrize("mode", ["custom", "generic"])
@pytest.mark.parametrize(("operation", "query", "params"), HOT_QUERIES, ids=[q[0] for q in HOT_QUERIES])
def test_no_hot_query_scans_a_large_table_sequentially(
    dsn: str,
    fixture: Fixture,
    large_tables: set[str],
    operation: str,
    query: str,
    params: Callable[[Fixture], dict[str, Any]],
    mode: str,
) -> None:
    found = plans(dsn, ADD_LESSON if query == "__add_lesson__" else sql(query), params(fixture), mode)
    assert found, f"auto_explain logged no plan for {query}"
    scans = [(table, plan) for plan in found for table in _SEQ_SCAN.findall(plan) if table in large_tables]
    assert not scans, f"{operation} ({query}, {mode} plan) scans {scans[0][0]} sequentially:\n{scans[0][1]}"


def test_recording_a_lesson_reads_one_enrolment(dsn: str, fixture: Fixture) -> None:
    """One learner's write reads and writes that learner's enrolment, not the course's 8,000:
    counted from the transaction's own table statistics (index and sequential reads)."""
    read = """SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
              FROM pg_stat_xact_user_tables WHERE relname = 'user_courses'"""
    params = {"user_clerk_id": "bench_raw", "lesson_id": fixture.lessons[25], "status": "completed"}
    with psycopg.connect(dsn) as conn, conn.transaction(force_rollback=True):
        enrolled = conn.execute(
            "SELECT count(*) FROM user_courses WHERE course_id = %s", (fixture.course_id,)
        ).fetchone()
        start = conn.execute(read).fetchone()
        conn.execute(sql("set_lesson_status"), params).fetchone()
        end = conn.execute(read).fetchone()
    assert enrolled and enrolled[0] > 1000 and start and end
    # 5, and 2 more since migration 0029: the lesson counters' trigger finds the enrolment again and
    # locks it FOR KEY SHARE (sql/schema/99_rank.sql); and up to a few more until a vacuum: every
    # rolled-back run of this test leaves a dead version of the enrolment that the index scans visit
    # (8 after a few runs, 7 again after VACUUM). Against the course's 8,000 either way.
    assert end[0] - start[0] <= 12, f"set_lesson_status read {end[0] - start[0]} enrolments of {enrolled[0]}"


# an index scan of user_courses whose condition holds the batch's courses
_BY_COURSE = re.compile(
    r"(?:Index Scan using user_courses\w* on user_courses|Bitmap Index Scan on user_courses\w*)[^\n]*\n"
    r"\s*Index Cond: [^\n]*course_id = ANY"
)


@pytest.mark.parametrize("mode", ["custom", "generic"])
@pytest.mark.parametrize("query", ["lock_learner_enrolments", "refresh_learner_enrolments"])
def test_an_import_batch_finds_its_enrolments_by_learner_not_by_learner_and_course(
    dsn: str, query: str, mode: str
) -> None:
    """An import batch's learners by every course (as a batch of the million scale touches): with the
    courses in an index condition, PostgreSQL reads every enrolment of every course (a bitmap of
    user_courses_course_id_idx at the large scale) or probes every learner-course pair (80 s a batch
    at the million scale); found by learner, the courses kept by a hash, it reads the learners'."""
    with psycopg.connect(dsn) as conn:
        learners = [r[0] for r in conn.execute("SELECT clerk_id FROM users ORDER BY clerk_id LIMIT 2000")]
        courses = [r[0] for r in conn.execute("SELECT id FROM courses")]
    found = plans(dsn, sql(query), {"user_clerk_ids": learners, "course_ids": courses}, mode)
    assert found, f"auto_explain logged no plan for {query}"
    by_course = [plan for plan in found if _BY_COURSE.search(plan)]
    assert not by_course, f"{query} ({mode} plan) finds enrolments by course:\n{by_course[0]}"


# The forum pages (bench/forum_pages_ops.py): the dataset generator writes no forum, so the bench
# forum is added (once) before they are checked; their parameters name its landmarks.
FORUM_QUERIES: list[tuple[str, str, Callable[[ForumData, Fixture], dict[str, Any]]]] = [
    (
        "the forum feed with its total",
        "list_forum_feed",
        lambda f, fx: {"before_created_at": None, "before_id": None, "page_size": 20},
    ),
    (
        "the forum feed, a later page",
        "list_forum_feed",
        lambda f, fx: {"before_created_at": "2025-05-01T00:00:00Z", "before_id": f.post_id, "page_size": 20},
    ),
    (
        "a course's forum feed, a later page",
        "list_course_forum_feed",
        lambda f, fx: {
            "course_id": f.course_id,
            "before_pinned": False,
            "before_created_at": "2025-05-01T00:00:00Z",
            "before_id": f.post_id,
            "page_size": 20,
        },
    ),
    (
        "a course's forum feed with its total",
        "list_course_forum_feed",
        lambda f, fx: {
            "course_id": f.course_id,
            "before_pinned": None,
            "before_created_at": None,
            "before_id": None,
            "page_size": 20,
        },
    ),
    # A common word (more than 5,000 matches: the newest-first walk) and a rare one (the GIN index),
    # platform-wide and in one course.
    *(
        (
            f"forum search{label}",
            "search_forum",
            lambda f, fx, query=query: {"query": query, "page_size": 20, "skip": 0},
        )
        for label, query in (("", SEARCH_QUERY), (", a rare word", RARE_QUERY))
    ),
    *(
        (
            f"forum search in a course{label}",
            "search_course_forum",
            lambda f, fx, query=query: {"query": query, "course_id": f.course_id, "page_size": 20, "skip": 0},
        )
        for label, query in (("", SEARCH_QUERY), (", a rare word", RARE_QUERY))
    ),
    (
        "the interest feed",
        "list_interest_feed",
        lambda f, fx: {
            "viewer_clerk_id": fx.learner,
            "before_created_at": None,
            "before_id": None,
            "page_size": 20,
        },
    ),
    ("a post's views", "get_post_views", lambda f, fx: {"post_id": f.post_id}),
    ("a user's forum activity", "get_forum_activity_summary", lambda f, fx: {"clerk_id": f.author}),
]


@pytest.fixture(scope="module")
def forum(dsn: str) -> ForumData:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return ForumData.ensure(conn)


@pytest.mark.parametrize("mode", ["custom", "generic"])
@pytest.mark.parametrize(("operation", "query", "params"), FORUM_QUERIES, ids=[q[0] for q in FORUM_QUERIES])
def test_no_forum_page_scans_a_large_table_sequentially(
    dsn: str,
    fixture: Fixture,
    forum: ForumData,
    large_tables: set[str],
    operation: str,
    query: str,
    params: Callable[[ForumData, Fixture], dict[str, Any]],
    mode: str,
) -> None:
    assert {"forum_posts", "forum_replies"} <= large_tables, "the bench forum is not large"
    found = plans(dsn, sql(query), params(forum, fixture), mode)
    assert found, f"auto_explain logged no plan for {query}"
    scans = [(table, plan) for plan in found for table in _SEQ_SCAN.findall(plan) if table in large_tables]
    assert not scans, f"{operation} ({query}, {mode} plan) scans {scans[0][0]} sequentially:\n{scans[0][1]}"


# A later page of a feed starts at its keyset: the row comparison is a condition of the index scan
# in every plan, never a filter over the newer posts. Written `$1 IS NULL OR (created_at, id) < ...`,
# the generic plan (which the feeds keep, by design) walked from the newest post and filtered: 14,879
# posts read for a page at the start of May at the large scale, 5 ms against 0.5.
_KEYSET_COND = re.compile(r"Index Cond: [^\n]*ROW\([^\n]*created_at, [^\n]*\) < ROW\(")
LATER_PAGES = [q for q in FORUM_QUERIES if q[0].endswith("a later page")]


@pytest.mark.parametrize("mode", ["custom", "generic"])
@pytest.mark.parametrize(("operation", "query", "params"), LATER_PAGES, ids=[q[0] for q in LATER_PAGES])
def test_a_later_page_of_a_feed_starts_at_its_keyset(
    dsn: str,
    fixture: Fixture,
    forum: ForumData,
    operation: str,
    query: str,
    params: Callable[[ForumData, Fixture], dict[str, Any]],
    mode: str,
) -> None:
    found = "\n".join(plans(dsn, sql(query), params(forum, fixture), mode))
    assert _KEYSET_COND.search(found), f"{operation} ({mode} plan) filters the newer posts:\n{found}"


def rows_read(dsn: str, statement: str, params: dict[str, Any], mode: str, table: str) -> int:
    """How many rows the plan PostgreSQL ran for `statement` read from `table` (EXPLAIN ANALYZE:
    each scan's rows times its loops), in a transaction rolled back afterwards."""

    def walk(node: dict[str, Any]) -> int:
        own = node["Actual Rows"] * node["Actual Loops"] if node.get("Relation Name") == table else 0
        return own + sum(walk(child) for child in node.get("Plans", ()))

    with psycopg.connect(dsn) as conn, conn.transaction(force_rollback=True):
        conn.execute(f"SET LOCAL plan_cache_mode = force_{mode}_plan")
        row = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params, prepare=True).fetchone()
    assert row is not None
    return walk(row[0][0]["Plan"])


@pytest.mark.parametrize("mode", ["custom", "generic"])
def test_the_interest_feed_reads_a_page_of_posts_not_every_related_one(
    dsn: str, fixture: Fixture, forum: ForumData, mode: str
) -> None:
    """The bench learner's tags reach courses with thousands of posts: the feed walks the newest
    posts until the page is full (forum_posts_live_created_idx), as at the million scale, where
    fetching every related post and sorting them read 141,000 posts a page."""
    params = {
        "viewer_clerk_id": fixture.learner,
        "page_size": 20,
        "before_created_at": None,
        "before_id": None,
    }
    # the query's own count of the related courses' posts: its CTEs up to related_posts
    related = sql("list_interest_feed").split("), few AS")[0] + ") SELECT n FROM related_posts"
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute(related, params).fetchone()
    assert found is not None and found[0] > 5000, "the related courses are not big enough to test the walk"
    read = rows_read(dsn, sql("list_interest_feed"), params, mode, "forum_posts")
    assert read <= 1000, f"the interest feed ({mode} plan) read {read} posts for a page of 20"


# The reads of a course's audience (migration 0028): the card's counts, the page's histogram, the
# roster's total and course analytics read the course's summary rows by their key, and count no
# enrolment of the course (issue 18 points 1, 2, 4). A bitmap scan of the key is by key too: on a
# freshly loaded copy a course's 16 shard rows lie on as many pages, and the planner rightly takes one.
_SUMMARY_BY_KEY = re.compile(
    r"Index (?:Only )?Scan using course_stats_course_shard_key on course_stats"
    r"|Bitmap Index Scan on course_stats_course_shard_key"
)
_ENROLMENTS_READ = re.compile(r"on user_courses[^\n]*\n\s*(?:Index Cond|Recheck Cond|Filter): ([^\n]*)")


def course_enrolment_reads(plan: str) -> list[str]:
    """The conditions of every read of user_courses by course alone (not one learner's enrolment)."""
    return [c for c in _ENROLMENTS_READ.findall(plan) if "course_id" in c and "user_clerk_id" not in c]


SUMMARY_QUERIES: list[tuple[str, str, Callable[[Fixture], dict[str, Any]]]] = [
    ("course cards", "list_course_cards_by_ids",
     lambda fx: {"course_ids": [fx.course_id], "viewer": fx.learner}),
    ("dashboard cards", "list_enrolled_course_cards",
     lambda fx: {"user_clerk_id": fx.learner, "page_size": 50}),
    ("the course page", "get_course_page",
     lambda fx: {"course_id": fx.course_id, "viewer": fx.learner, "top_reviews": 5}),
    ("course analytics", "get_course_stats", lambda fx: {"course_id": fx.course_id}),
    ("an author's analytics", "list_author_course_stats", lambda fx: {"author_clerk_id": "user_000000"}),
]  # fmt: skip


@pytest.mark.parametrize("mode", ["custom", "generic"])
@pytest.mark.parametrize(
    ("operation", "query", "params"), SUMMARY_QUERIES, ids=[q[0] for q in SUMMARY_QUERIES]
)
def test_a_course_s_counts_read_its_summary_by_key_not_its_audience(
    dsn: str,
    fixture: Fixture,
    operation: str,
    query: str,
    params: Callable[[Fixture], dict[str, Any]],
    mode: str,
) -> None:
    found = "\n".join(plans(dsn, sql(query), params(fixture), mode))
    assert _SUMMARY_BY_KEY.search(found), (
        f"{operation} ({mode} plan) does not read course_stats by key:\n{found}"
    )
    if "stats" not in query:  # analytics keep a branch for as_user (the actor's own rows), not run otherwise
        reads = course_enrolment_reads(found)
        assert not reads, f"{operation} ({mode} plan) reads the course's enrolments ({reads[0]}):\n{found}"


@pytest.mark.parametrize("mode", ["custom", "generic"])
def test_the_roster_s_total_reads_the_summary_by_key(dsn: str, fixture: Fixture, mode: str) -> None:
    params = {
        "course_id": fixture.course_id, "viewer": "user_000000", "sort_by": "progress",
        "after_progress": None, "after_at": None, "after_clerk_id": None, "page_size": 51,
    }  # fmt: skip
    found = "\n".join(plans(dsn, sql("get_course_roster"), params, mode))
    assert _SUMMARY_BY_KEY.search(found), found
    # (a page's entries are read as before: sorted by name, from every enrolment of the course)


# The reads of migration 0029: the overall rank sums the points histogram (one range of its key), not
# a count of every learner above the viewer in user_points_rank_idx; the drop-off sums each lesson's
# counters, reading no lesson status.
_RANK_COUNT = re.compile(r"Index Only Scan using user_points_rank_idx[^\n]*\n\s*Index Cond: \(points >")


@pytest.mark.parametrize("mode", ["custom", "generic"])
def test_the_rank_reads_the_histogram_not_every_learner_above(dsn: str, mode: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_points(conn)
        row = conn.execute(
            "SELECT u.clerk_id FROM users u WHERE NOT EXISTS"
            " (SELECT FROM user_points p WHERE p.user_clerk_id = u.clerk_id) ORDER BY 1 LIMIT 1"
        ).fetchone()
    assert row is not None
    found = plans(dsn, sql("list_leaderboard"), {"clerk_id": row[0], "top_n": 10}, mode)
    # the statements count_learners_above ran
    nested = [plan for plan in found if "WITH top AS" not in plan]
    assert any("user_points_histogram" in plan for plan in nested), "the rank does not read the histogram"
    counted = [plan for plan in nested if _RANK_COUNT.search(plan) or " on user_points " in plan]
    assert not counted, f"the rank ({mode} plan) counts the learners above:\n{counted[0]}"


# A course's leaderboard (migration 0032): the top walks the course's copied points in rank order
# and stops after top_n (no join of the course's audience to user_points, no sort of it), and the
# viewer's rank sums the course's histogram (no classmate counted).
_COURSE_TOP_BY_INDEX = re.compile(r"Index (?:Only )?Scan using course_points_rank_idx on course_points")


@pytest.mark.parametrize("mode", ["custom", "generic"])
def test_a_course_board_walks_its_index_and_sums_its_histogram(dsn: str, fixture: Fixture, mode: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_points(conn)
        row = conn.execute(
            "SELECT uc.user_clerk_id FROM user_courses uc WHERE uc.course_id = %s AND NOT EXISTS"
            " (SELECT FROM user_points p WHERE p.user_clerk_id = uc.user_clerk_id) ORDER BY 1 LIMIT 1",
            [fixture.course_id],
        ).fetchone()
    assert row is not None
    params = {"clerk_id": row[0], "course_id": fixture.course_id, "top_n": 10}
    found = plans(dsn, sql("list_course_leaderboard"), params, mode)
    (board,) = [plan for plan in found if "WITH top AS" in plan]
    assert _COURSE_TOP_BY_INDEX.search(board), f"the course's top ({mode} plan) skips the index:\n{board}"
    assert "Sort Key: cp.points" not in board, f"the course's top ({mode} plan) is sorted:\n{board}"
    assert "Hash Join" not in board and "Seq Scan" not in board, board
    nested = [plan for plan in found if "WITH top AS" not in plan]
    assert any("course_points_histogram" in plan for plan in nested), "the rank does not read the histogram"
    counted = [plan for plan in nested if " on user_points " in plan or " on user_courses " in plan]
    assert not counted, f"the rank ({mode} plan) counts the classmates above:\n{counted[0]}"


@pytest.mark.parametrize("mode", ["custom", "generic"])
def test_the_drop_off_reads_the_lesson_counters_not_the_statuses(
    dsn: str, fixture: Fixture, mode: str
) -> None:
    found = plans(dsn, sql("list_lesson_completions"), {"course_id": fixture.course_id}, mode)
    assert found, "auto_explain logged no plan for list_lesson_completions"
    assert any("lesson_progress_counts" in plan for plan in found)
    # the statuses are read under as_user only: behind a one-time filter on the role
    statuses = [
        plan
        for plan in found
        if " on user_progress" in plan
        and "One-Time Filter: (CURRENT_USER = 'learnstore_app'::name)" not in plan
    ]
    assert not statuses, f"the drop-off ({mode} plan) reads lesson statuses:\n{statuses[0]}"


# The reads of a review's upvotes (migration 0030): the course page's top reviews walk the course's
# ranking index in order and stop after the page's reviews; the page and a user's belongings count no
# review's upvotes (issue 18 point 2).
_TOP_REVIEWS_BY_INDEX = re.compile(
    r"Index (?:Only )?Scan using feedback_upvote_counts_course_top_idx on feedback_upvote_counts"
)
UPVOTE_QUERIES = [q for q in HOT_QUERIES if q[1] in ("get_course_page", "get_user_belongings")]


@pytest.mark.parametrize("mode", ["custom", "generic"])
@pytest.mark.parametrize(("operation", "query", "params"), UPVOTE_QUERIES, ids=[q[0] for q in UPVOTE_QUERIES])
def test_reviews_upvotes_are_read_from_their_counts_not_counted(
    dsn: str,
    fixture: Fixture,
    operation: str,
    query: str,
    params: Callable[[Fixture], dict[str, Any]],
    mode: str,
) -> None:
    assert len(UPVOTE_QUERIES) == 2
    found = "\n".join(plans(dsn, sql(query), params(fixture), mode))
    assert "on feedback_upvotes " not in found, f"{operation} ({mode} plan) counts upvotes:\n{found}"
    if query == "get_course_page":
        assert _TOP_REVIEWS_BY_INDEX.search(found), f"the top reviews ({mode} plan) skip the index:\n{found}"
        assert "Sort Key: n.upvotes" not in found, f"the top reviews ({mode} plan) are sorted:\n{found}"


# A user's likes in their belongings (migration 0039): read through the (user, created_at, id) index,
# which gives them newest first, never by walking everyone's likes by created_at for the user's (a
# generic plan did: 120,000 likes read for a learner with none).
_POST_LIKES_BY_USER = re.compile(r"Index (?:Only )?Scan using forum_post_likes_user_newest_idx")
BELONGINGS = [q for q in HOT_QUERIES if q[1] == "get_user_belongings"]


@pytest.mark.parametrize("mode", ["custom", "generic"])
def test_a_users_likes_are_read_through_the_users_index_newest_first(
    dsn: str, fixture: Fixture, mode: str
) -> None:
    ((operation, query, params),) = BELONGINGS
    found = "\n".join(plans(dsn, sql(query), params(fixture), mode))
    assert _POST_LIKES_BY_USER.search(found), f"{operation} ({mode} plan) skips the likes index:\n{found}"
    assert "likes_created_at_idx" not in found, f"{operation} ({mode} plan) walks all likes:\n{found}"
