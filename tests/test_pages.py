"""Pages on a real database: course cards on every list, the course page and user search, each one
round trip, with the viewer's state, under row-level security as a user, and with bad input refused."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import pq

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import InvalidValue, NotFound, PermissionDenied
from learnstore.repositories.pages import RosterOrder

Conn = psycopg.Connection[Any]
AConn = psycopg.AsyncConnection[Any]


def one(conn: Conn, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def user(conn: Conn, clerk_id: str, first: str | None = None, last: str | None = None, **extra: Any) -> str:
    conn.execute(
        "INSERT INTO users (clerk_id, first_name, last_name, email, avatar_url) VALUES (%s, %s, %s, %s, %s)",
        (clerk_id, first, last, extra.get("email"), extra.get("avatar_url")),
    )
    return clerk_id


def course(
    conn: Conn,
    title: str,
    author: str | None = "author",
    *,
    status: str = "published",
    lessons: tuple[int, ...] = (),
    tags: tuple[str, ...] = (),
    age_days: int = 0,
) -> UUID:
    """A course with one unit per entry of `lessons` (that many lessons of 60 s each)."""
    course_id: UUID = one(
        conn,
        "INSERT INTO courses (author_clerk_id, title, status, published_at, created_at, language_id,"
        " cover_image_url, estimated_duration_minutes)"
        " VALUES (%s, %s, %s, CASE WHEN %s = 'published' THEN now() - make_interval(days => %s) END,"
        " now() - make_interval(days => %s), (SELECT id FROM languages WHERE code = 'en'),"
        " 'https://img.example/' || %s, 90) RETURNING id",
        author,
        title,
        status,
        status,
        age_days,
        age_days,
        title,
    )
    for position, count in enumerate(lessons):
        unit = one(
            conn,
            "INSERT INTO units (course_id, title, position) VALUES (%s, %s, %s) RETURNING id",
            course_id,
            f"Unit {position + 1}",
            position,
        )
        for index in range(count):
            conn.execute(
                "INSERT INTO lessons (unit_id, title, content_type, content, duration_seconds, position)"
                " VALUES (%s, %s, 'text', '{\"body\": \"b\"}', 60, %s)",
                (unit, f"Lesson {position + 1}.{index + 1}", index),
            )
    for tag in tags:
        conn.execute("INSERT INTO tags (name) VALUES (%s) ON CONFLICT DO NOTHING", (tag,))
        conn.execute(
            "INSERT INTO course_tags (course_id, tag_id) SELECT %s, id FROM tags WHERE name = %s",
            (course_id, tag),
        )
    return course_id


def enrol(conn: Conn, clerk_id: str, course_id: UUID, progress: int = 0, ago_days: int = 0) -> None:
    conn.execute(
        "INSERT INTO user_courses (user_clerk_id, course_id, progress, completed_at, enrolled_at)"
        " VALUES (%s, %s, %s, CASE WHEN %s = 100 THEN now() END, now() - make_interval(days => %s))",
        (clerk_id, course_id, progress, progress, ago_days),
    )


def rate(
    conn: Conn, clerk_id: str, course_id: UUID, rating: int, comment: str | None = None, ago_minutes: int = 0
) -> UUID:
    feedback: UUID = one(
        conn,
        "INSERT INTO course_feedback (course_id, user_clerk_id, rating, comment, created_at)"
        " VALUES (%s, %s, %s, %s, now() - make_interval(mins => %s)) RETURNING id",
        course_id,
        clerk_id,
        rating,
        comment,
        ago_minutes,
    )
    return feedback


@pytest.fixture
def world(db_conn: Conn) -> dict[str, Any]:
    return make_world(db_conn)


def make_world(db_conn: Conn) -> dict[str, Any]:
    """An author with a published course (2 units: 2 + 1 lessons), a draft and an older course;
    three learners; ratings, tags, a favorite."""
    db_conn.execute("INSERT INTO languages (code, name) VALUES ('en', 'English')")
    user(db_conn, "author", "Ada", "Lovelace", avatar_url="https://img.example/ada")
    user(db_conn, "ana", "Ana", "Silva", email="ana@example.com")
    user(db_conn, "ben", "Ben", "Moreau", email="b.moreau@example.com")
    user(db_conn, "cy", email="cy@example.com")
    main = course(db_conn, "SQL", lessons=(2, 1), tags=("sql", "Databases"), age_days=1)
    older = course(db_conn, "Older", lessons=(1,), age_days=5)
    draft = course(db_conn, "Draft", status="draft")
    enrol(db_conn, "ana", main, 33, ago_days=1)
    enrol(db_conn, "ben", main, 100, ago_days=2)
    enrol(db_conn, "ana", older, 0, ago_days=3)
    rate(db_conn, "ana", main, 5, ago_minutes=20)
    rate(db_conn, "ben", main, 4, ago_minutes=10)
    db_conn.execute("INSERT INTO favorites (user_clerk_id, course_id) VALUES ('ana', %s)", (main,))
    return {"main": main, "older": older, "draft": draft}


# ---- course cards --------------------------------------------------------------------------------


def test_a_card_shows_the_course_its_author_counts_ratings_tags_and_the_viewers_state(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    store = Store.on(db_conn)
    [card] = store.pages.cards([world["main"]], viewer="ana")
    assert card.course_id == world["main"]
    assert (card.title, card.status, card.difficulty, card.language_code) == (
        "SQL",
        "published",
        "beginner",
        "en",
    )
    assert card.cover_image_url == "https://img.example/SQL"
    assert (card.author_clerk_id, card.author_name, card.author_avatar_url) == (
        "author",
        "Ada Lovelace",
        "https://img.example/ada",
    )
    assert (card.lesson_count, card.lessons_duration_seconds, card.estimated_duration_minutes) == (3, 180, 90)
    assert (card.enrolment_count, card.rating_mean, card.rating_count) == (2, Decimal("4.50"), 2)
    assert card.tags == ["Databases", "sql"]
    assert (card.viewer_progress, card.viewer_favorited) == (33, True)
    assert card.viewer_enrolled_at is not None
    # without a viewer: no viewer state; another viewer: theirs
    [anonymous] = store.pages.cards([world["main"]])
    assert (anonymous.viewer_enrolled_at, anonymous.viewer_progress, anonymous.viewer_favorited) == (
        None,
        None,
        False,
    )
    [bens] = store.pages.cards([world["main"]], viewer="ben")
    assert (bens.viewer_progress, bens.viewer_favorited) == (100, False)


def test_cards_by_id_keep_the_callers_order_and_leave_out_unknown_courses_and_others_drafts(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    store = Store.on(db_conn)
    ids = [world["older"], uuid4(), world["draft"], world["main"]]
    assert [c.title for c in store.pages.cards(ids)] == ["Older", "SQL"]
    assert [c.title for c in store.pages.cards(ids, viewer="author")] == ["Older", "Draft", "SQL"]
    assert store.pages.cards([]) == []


def test_an_unrated_course_without_author_or_lessons_has_an_honest_card(db_conn: Conn) -> None:
    course_id = course(db_conn, "Orphan", author=None)
    [card] = Store.on(db_conn).pages.cards([course_id])
    assert (card.author_name, card.author_clerk_id, card.language_code) == ("deleted user", None, None)
    assert (card.lesson_count, card.lessons_duration_seconds, card.enrolment_count) == (0, 0, 0)
    assert (card.rating_mean, card.rating_count, card.tags) == (None, 0, [])


def test_an_authors_cards_are_newest_first_and_drafts_only_for_the_author(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    store = Store.on(db_conn)
    assert [c.title for c in store.pages.author_cards("author")] == ["SQL", "Older"]
    assert [c.title for c in store.pages.author_cards("author", viewer="author")] == ["Draft", "SQL", "Older"]
    assert [c.title for c in store.pages.author_cards("author", limit=1)] == ["SQL"]
    assert store.pages.author_cards("ana") == []


def test_favorite_cards_come_newest_first_in_keyset_pages(db_conn: Conn, world: dict[str, Any]) -> None:
    db_conn.execute(
        "INSERT INTO favorites (user_clerk_id, course_id, created_at)"
        " VALUES ('ana', %s, now() - interval '1 day')",
        (world["older"],),
    )
    store = Store.on(db_conn)
    first = store.pages.favorite_cards("ana", limit=1)
    assert [c.title for c in first.items] == ["SQL"]
    assert first.items[0].viewer_favorited and first.items[0].viewer_progress == 33
    assert first.next_after == (first.items[0].favorited_at, world["main"])
    second = store.pages.favorite_cards("ana", limit=1, after=first.next_after)
    assert [c.title for c in second.items] == ["Older"]
    assert second.next_after is None
    empty = store.pages.favorite_cards("ben")
    assert (empty.items, empty.next_after) == ([], None)


def test_dashboard_cards_are_the_learners_enrolments_latest_first_with_progress(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    store = Store.on(db_conn)
    cards = store.pages.dashboard_cards("ana")
    assert [(c.title, c.viewer_progress, c.viewer_favorited) for c in cards] == [
        ("SQL", 33, True),
        ("Older", 0, False),
    ]
    [bens] = store.pages.dashboard_cards("ben")
    assert bens.completed_at is not None and bens.enrolment_count == 2
    assert store.pages.dashboard_cards("cy") == []


def test_trending_cards_rank_published_courses_by_forum_activity(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    post = one(
        db_conn,
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body)"
        " VALUES (%s, 'ana', 't', 'b') RETURNING id",
        world["older"],
    )
    db_conn.execute(
        "INSERT INTO forum_replies (post_id, author_clerk_id, body) VALUES (%s, 'ben', 'r')", (post,)
    )
    db_conn.execute("INSERT INTO forum_post_likes (post_id, user_clerk_id) VALUES (%s, 'cy')", (post,))
    db_conn.execute(
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body) VALUES (%s, 'ana', 't', 'b')",
        (world["main"],),
    )
    db_conn.execute(
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body) VALUES (%s, 'ana', 't', 'b')",
        (world["draft"],),
    )
    store = Store.on(db_conn)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    cards = store.pages.trending_cards(since=hour_ago, viewer="ana")
    assert [(c.title, c.activity, c.viewer_favorited) for c in cards] == [
        ("Older", 3, False),
        ("SQL", 1, True),
    ]
    assert store.pages.trending_cards(since=datetime.now(UTC) + timedelta(hours=1)) == []


# ---- the course page -----------------------------------------------------------------------------


def test_the_course_page_has_the_outline_collaborators_ratings_reviews_and_the_viewers_state(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    main = world["main"]
    user(db_conn, "eve", "Eve", "Editor")
    db_conn.execute(
        "INSERT INTO collaborators (course_id, user_clerk_id, role, status) VALUES"
        " (%s, 'eve', 'editor', 'accepted'), (%s, 'cy', 'reviewer', 'pending')",
        (main, main),
    )
    rate(db_conn, "cy", main, 1, "Too fast")
    bens = one(db_conn, "SELECT id FROM course_feedback WHERE user_clerk_id = 'ben'")
    db_conn.execute("INSERT INTO feedback_upvotes (feedback_id, user_clerk_id) VALUES (%s, 'ana')", (bens,))
    first_lesson = one(db_conn, "SELECT l.id FROM lessons l WHERE l.title = 'Lesson 1.1'")
    db_conn.execute(
        "INSERT INTO user_progress (user_clerk_id, lesson_id, status, completed_at)"
        " VALUES ('ana', %s, 'completed', now())",
        (first_lesson,),
    )
    page = Store.on(db_conn).pages.course_page(main, viewer="ana", top_reviews=2)
    assert page.card.title == "SQL" and page.card.rating_count == 3 and page.card.viewer_progress == 33
    assert [(c.clerk_id, c.name, c.role) for c in page.collaborators] == [("eve", "Eve Editor", "editor")]
    assert [(u.title, [lesson.title for lesson in u.lessons]) for u in page.units] == [
        ("Unit 1", ["Lesson 1.1", "Lesson 1.2"]),
        ("Unit 2", ["Lesson 2.1"]),
    ]
    assert [lesson.viewer_status for lesson in page.units[0].lessons] == ["completed", None]
    assert page.units[0].lessons[0].duration_seconds == 60
    assert page.histogram == {1: 1, 2: 0, 3: 0, 4: 1, 5: 1}
    # the most upvoted review first, then the newest
    assert [(r.reviewer_name, r.rating, r.upvotes) for r in page.top_reviews] == [
        ("Ben Moreau", 4, 1),
        ("cy", 1, 0),
    ]
    assert (page.viewer_role, page.card.viewer_favorited, page.next_lesson_title) == (
        None,
        True,
        "Lesson 1.2",
    )
    assert Store.on(db_conn).pages.course_page(main, viewer="eve").viewer_role == "editor"
    authors = Store.on(db_conn).pages.course_page(main, viewer="author")
    assert (authors.viewer_role, authors.next_lesson_id, authors.card.viewer_enrolled_at) == (
        "author",
        None,
        None,
    )


def test_a_draft_page_is_shown_to_its_author_and_collaborators_only(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    draft = world["draft"]
    db_conn.execute(
        "INSERT INTO collaborators (course_id, user_clerk_id, role, status)"
        " VALUES (%s, 'ben', 'reviewer', 'accepted')",
        (draft,),
    )
    store = Store.on(db_conn)
    assert store.pages.course_page(draft, viewer="author").viewer_role == "author"
    assert store.pages.course_page(draft, viewer="ben").viewer_role == "reviewer"
    for viewer in ("ana", None):
        with pytest.raises(NotFound) as caught:
            store.pages.course_page(draft, viewer=viewer)
        assert caught.value.field == "course_id"
    with pytest.raises(NotFound):
        store.pages.course_page(uuid4())


def test_an_empty_course_page_has_empty_parts(db_conn: Conn) -> None:
    course_id = course(db_conn, "Empty", author=None)
    page = Store.on(db_conn).pages.course_page(course_id, viewer="nobody")
    assert (page.units, page.collaborators, page.top_reviews) == ([], [], [])
    assert page.histogram == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    assert (page.viewer_role, page.next_lesson_id) == (None, None)


# ---- the learner's profile and belongings -----------------------------------------------------------


def test_the_profile_counts_quizzes_passed_and_languages_learned(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    lesson = one(db_conn, "SELECT id FROM lessons WHERE title = 'Lesson 1.1'")
    quizzes = [
        one(
            db_conn,
            "INSERT INTO quizzes (lesson_id, question, question_type, correct_answer)"
            " VALUES (%s, %s, 'fill_blank', '\"x\"') RETURNING id",
            lesson,
            question,
        )
        for question in ("q1", "q2")
    ]
    db_conn.execute(
        "INSERT INTO quiz_attempts (quiz_id, user_clerk_id, answer, is_correct) VALUES"
        " (%s, 'ana', '\"x\"', true), (%s, 'ana', '\"x\"', true), (%s, 'ana', '\"y\"', false)",
        (quizzes[0], quizzes[0], quizzes[1]),
    )
    card = Store.on(db_conn).achievements.get_profile("ana")
    assert (card.quizzes_passed, card.languages_learned, card.courses_enrolled) == (1, ["en"], 2)
    empty = Store.on(db_conn).achievements.get_profile("cy")
    assert (empty.quizzes_passed, empty.languages_learned) == (0, [])


def test_lesson_statuses_across_courses_come_latest_first_in_keyset_pages(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    lessons = db_conn.execute(
        "SELECT l.id, l.title FROM lessons l JOIN units u ON u.id = l.unit_id"
        " JOIN courses c ON c.id = u.course_id ORDER BY c.title, l.title"
    ).fetchall()
    for age, (lesson, _) in enumerate(lessons):
        db_conn.execute(
            "INSERT INTO user_progress (user_clerk_id, lesson_id, status, started_at, updated_at)"
            " VALUES ('ana', %s, 'in_progress', now(), now() - make_interval(mins => %s))",
            (lesson, age),
        )
    store = Store.on(db_conn)
    seen: list[str] = []
    after = None
    for _ in range(len(lessons)):
        page = store.pages.lesson_statuses("ana", limit=3, after=after)
        seen += [f"{s.course_title}/{s.lesson_title}" for s in page.items]
        after = page.next_after
        if after is None:
            break
    assert seen == [
        "Older/Lesson 1.1",
        "SQL/Lesson 1.1",
        "SQL/Lesson 1.2",
        "SQL/Lesson 2.1",
    ]
    assert store.pages.lesson_statuses("ben").items == []
    assert store.as_user("ben").pages.lesson_statuses("ana").items == []
    with pytest.raises(InvalidValue) as caught:
        store.pages.lesson_statuses("ana", after=(1, 2))  # type: ignore[arg-type]
    assert caught.value.field == "after"


def test_belongings_list_likes_reviews_edits_goals_invitations_and_co_edited_courses(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    main, older = world["main"], world["older"]
    post = one(
        db_conn,
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body) VALUES (%s, 'ben', 'Joins?', 'b')"
        " RETURNING id",
        main,
    )
    reply = one(
        db_conn,
        "INSERT INTO forum_replies (post_id, author_clerk_id, body)"
        " VALUES (%s, 'ben', 'Use USING') RETURNING id",
        post,
    )
    db_conn.execute(
        "INSERT INTO forum_post_likes (post_id, user_clerk_id, created_at)"
        " VALUES (%s, 'ana', now() - interval '1 h')",
        (post,),
    )
    db_conn.execute("INSERT INTO forum_reply_likes (reply_id, user_clerk_id) VALUES (%s, 'ana')", (reply,))
    db_conn.execute(
        "INSERT INTO suggested_edits (course_id, author_clerk_id, summary, payload, status, reviewed_at)"
        " VALUES (%s, 'ana', 'Typo', '{\"title\": \"SQL!\"}', 'rejected', now())",
        (main,),
    )
    db_conn.execute(
        "INSERT INTO learning_goals (user_clerk_id, title, progress, completed_at) VALUES"
        " ('ana', 'Done', 100, now()), ('ana', 'Open', 10, NULL)"
    )
    db_conn.execute(
        "INSERT INTO collaborators (course_id, user_clerk_id, role, status) VALUES"
        " (%s, 'ana', 'editor', 'accepted'), (%s, 'ana', 'reviewer', 'pending')",
        (main, older),
    )
    store = Store.on(db_conn)
    mine = store.pages.belongings("ana")
    assert [(like.kind, like.text, like.course_title) for like in mine.likes] == [
        ("reply", "Use USING", "SQL"),
        ("post", "Joins?", "SQL"),
    ]
    assert [(r.course_title, r.rating, r.upvotes) for r in mine.reviews] == [("SQL", 5, 0)]
    assert [(e.summary, e.status) for e in mine.suggested_edits] == [("Typo", "rejected")]
    assert [(g.title, g.completed_at is None) for g in mine.goals] == [("Open", True), ("Done", False)]
    assert sorted((i.course_title, i.status, i.author_name) for i in mine.invitations) == [
        ("Older", "pending", "Ada Lovelace"),
        ("SQL", "accepted", "Ada Lovelace"),
    ]
    assert [seat.course_id for seat in mine.co_edited] == [main]
    assert len(store.pages.belongings("ana", per_section=1).likes) == 1
    nothing = store.pages.belongings("cy")
    assert (nothing.likes, nothing.reviews, nothing.suggested_edits, nothing.goals, nothing.invitations) == (
        [],
        [],
        [],
        [],
        [],
    )
    with pytest.raises(NotFound):
        store.pages.belongings("ghost")
    # as another user: her private goals are not theirs to see
    assert store.as_user("ben").pages.belongings("ana").goals == []


# ---- an instructor's roster ---------------------------------------------------------------------------


def roster_world(conn: Conn, world: dict[str, Any]) -> UUID:
    """The main course with five learners (ana 33, ben 100, and three more), a quiz ana passed,
    and eve as an accepted collaborator."""
    main: UUID = world["main"]
    user(conn, "eve", "Eve", "Editor")
    for clerk_id, first, progress in (("dan", "Dan", 50), ("fay", "Fay", 50), ("gus", None, 0)):
        user(conn, clerk_id, first, "Zed" if first else None)
        enrol(conn, clerk_id, main, progress)
    conn.execute(
        "INSERT INTO collaborators (course_id, user_clerk_id, role, status)"
        " VALUES (%s, 'eve', 'editor', 'accepted')",
        (main,),
    )
    lesson = one(conn, "SELECT id FROM lessons WHERE title = 'Lesson 1.1'")
    quiz = one(
        conn,
        "INSERT INTO quizzes (lesson_id, question, question_type, correct_answer)"
        " VALUES (%s, 'q', 'fill_blank', '\"x\"') RETURNING id",
        lesson,
    )
    conn.execute(
        "INSERT INTO quiz_attempts (quiz_id, user_clerk_id, answer, is_correct) VALUES"
        " (%s, 'ana', '\"x\"', true), (%s, 'ben', '\"y\"', false)",
        (quiz, quiz),
    )
    return main


def test_the_roster_pages_learners_by_progress_name_and_activity_with_quiz_results(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    main = roster_world(db_conn, world)
    store = Store.on(db_conn)

    def walk(order: RosterOrder) -> list[str]:
        seen: list[str] = []
        after = None
        while True:
            page = store.pages.roster(main, viewer="author", order=order, limit=2, after=after)
            assert page.total == 5
            seen += [entry.clerk_id for entry in page.items]
            after = page.next_after
            if after is None:
                return seen

    assert walk("progress") == ["ben", "fay", "dan", "ana", "gus"]
    assert walk("name") == ["ana", "ben", "dan", "fay", "gus"]
    # every enrolment changed in this test's one transaction, at the same time: ties by clerk id
    assert walk("last_activity") == ["gus", "fay", "dan", "ben", "ana"]
    first = store.pages.roster(main, viewer="eve", order="name", limit=1).items[0]
    assert (first.name, first.progress, first.quizzes_passed, first.quizzes_attempted, first.quiz_count) == (
        "Ana Silva",
        33,
        1,
        1,
        1,
    )
    assert store.pages.roster(world["draft"], viewer="author").items == []
    after = store.pages.roster(main, viewer="author", limit=1).next_after
    with pytest.raises(InvalidValue):
        store.pages.roster(main, viewer="author", order="name", after=after)


def test_each_roster_statement_keeps_its_generic_plan_instead_of_planning_every_call(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    # With the order by name in the same statement, the generic plan carried its sort of every
    # learner whatever the order asked, looked ten times dearer than a custom plan, and PostgreSQL
    # planned the prepared statement anew on every call (a millisecond, more than the page took).
    main = roster_world(db_conn, world)
    db_conn.execute(
        "INSERT INTO users (clerk_id, first_name)"
        " SELECT 'many' || i, 'Many ' || i FROM generate_series(1, 400) i"
    )
    db_conn.execute(
        "INSERT INTO user_courses (user_clerk_id, course_id, progress)"
        " SELECT 'many' || i, %s, i %% 100 FROM generate_series(1, 400) i",
        (main,),
    )
    for table in ("users", "user_courses", "course_stats"):
        db_conn.execute(f"ANALYZE {table}")
    store = Store.on(db_conn)
    for _ in range(12):
        for order in ("progress", "last_activity", "name"):
            assert store.pages.roster(main, viewer="author", order=order, limit=50).total == 405
    plans = db_conn.execute(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
        " WHERE statement LIKE '%%FROM course_roster_%%'"  # course_roster_entries, course_roster_by_name
    ).fetchall()
    assert len(plans) == 2 and all(generic > 0 for generic, _ in plans), plans


def test_only_the_author_and_collaborators_read_the_roster_even_as_users(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    main = roster_world(db_conn, world)
    store = Store.on(db_conn)
    for viewer in ("ana", "cy", "nobody"):
        with pytest.raises(PermissionDenied) as caught:
            store.pages.roster(main, viewer=viewer)
        assert caught.value.field == "course_id"
    with pytest.raises(PermissionDenied):
        store.pages.roster(uuid4(), viewer="author")
    # as users: the author and the collaborator see every learner; a learner claiming to be the
    # author through the viewer argument sees no learner at all: the view holds them back
    assert store.as_user("author").pages.roster(main, viewer="author").total == 5
    assert store.as_user("eve").pages.roster(main, viewer="eve").total == 5
    forged = store.as_user("ana").pages.roster(main, viewer="author")
    assert (forged.items, forged.total) == ([], 0)
    refused = io.StringIO()
    assert store.as_user("ana").pages.export_roster(main, refused, viewer="author") == 0


def test_export_roster_streams_csv_through_copy(db_conn: Conn, world: dict[str, Any]) -> None:
    main = roster_world(db_conn, world)
    store = Store.on(db_conn)
    out = io.StringIO()
    assert store.pages.export_roster(main, out, viewer="eve") == 5
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["clerk_id", "name", "progress", "enrolled_at", "completed_at", "last_activity_at"]
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [
        ("ana", "Ana Silva", "33"),
        ("ben", "Ben Moreau", "100"),
        ("dan", "Dan Zed", "50"),
        ("fay", "Fay Zed", "50"),
        ("gus", "gus", "0"),
    ]
    assert rows[2][4] != "" and rows[1][4] == ""  # ben completed, ana did not
    empty = io.StringIO()
    assert store.pages.export_roster(world["draft"], empty, viewer="author") == 0
    assert empty.getvalue().splitlines() == [rows_header(rows)]
    refused = io.StringIO()
    with pytest.raises(PermissionDenied):
        store.pages.export_roster(main, refused, viewer="ana")
    assert refused.getvalue().splitlines() == [rows_header(rows)]


def rows_header(rows: list[list[str]]) -> str:
    return ",".join(rows[0])


# ---- user search ---------------------------------------------------------------------------------


def test_user_search_matches_name_last_name_and_email_prefixes_without_returning_email(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    store = Store.on(db_conn)
    user(db_conn, "moe", "Moe", "Szyslak", email="moe@bar.example")
    found = store.pages.search_users("  MO ")
    # full-name matches first (by name), then last names, then emails
    assert [(u.clerk_id, u.name, u.matched_email) for u in found] == [
        ("moe", "Moe Szyslak", True),
        ("ben", "Ben Moreau", False),
    ]
    assert not any(hasattr(u, "email") for u in found)
    assert "example" not in repr(found)
    assert [u.clerk_id for u in store.pages.search_users("b.mor")] == ["ben"]
    assert [u.clerk_id for u in store.pages.search_users("ana silva")] == ["ana"]
    assert [u.name for u in store.pages.search_users("cy@")] == ["cy"]
    assert store.pages.search_users("zz") == []
    assert [u.clerk_id for u in store.pages.search_users("a", limit=1)] == ["author"]


def test_an_erased_user_is_never_found(db_conn: Conn, world: dict[str, Any]) -> None:
    store = Store.on(db_conn)
    assert [u.clerk_id for u in store.pages.search_users("cy")] == ["cy"]
    assert store.users.erase("cy")
    assert store.pages.search_users("cy") == []


def test_bad_input_is_refused_naming_the_field(db_conn: Conn) -> None:
    pages = Store.on(db_conn).pages
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: pages.search_users("   "), "prefix"),
        (lambda: pages.search_users("a\x00"), "prefix"),
        (lambda: pages.search_users("a", limit=0), "limit"),
        (lambda: pages.author_cards("author", limit=101), "limit"),
        (lambda: pages.cards("not a list"), "course_ids"),  # type: ignore[arg-type]
        (lambda: pages.cards([uuid4()] * 101), "course_ids"),
        (lambda: pages.favorite_cards("ana", after=("x", "y")), "after"),  # type: ignore[arg-type]
        (lambda: pages.trending_cards(since=datetime(2025, 1, 1)), "since"),  # naive: which zone?
        (lambda: pages.course_page(uuid4(), top_reviews=-1), "top_reviews"),
        (lambda: pages.dashboard_cards(""), "clerk_id"),
    ]
    for call, field in cases:
        with pytest.raises(InvalidValue) as caught:
            call()
        assert caught.value.field == field, (field, caught.value)


# ---- as a user, under row-level security ------------------------------------------------------------


def test_as_a_user_cards_count_every_learner_but_show_only_the_users_own_state(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    store = Store.on(db_conn)
    ana, eve = store.as_user("ana"), store.as_user("cy")
    [card] = ana.pages.cards([world["main"]], viewer="ana")
    # enrolments are private rows, but the count on a card counts them all
    assert (card.enrolment_count, card.viewer_progress, card.viewer_favorited) == (2, 33, True)
    # another user asking for ana's state, her favorites or her dashboard gets nothing of hers
    [seen] = eve.pages.cards([world["main"]], viewer="ana")
    assert (seen.enrolment_count, seen.viewer_progress, seen.viewer_favorited) == (2, None, False)
    assert eve.pages.favorite_cards("ana").items == []
    assert eve.pages.dashboard_cards("ana") == []
    assert [c.title for c in ana.pages.dashboard_cards("ana")] == ["SQL", "Older"]
    page = eve.pages.course_page(world["main"], viewer="ana")
    assert page.card.enrolment_count == 2 and page.next_lesson_id is None
    assert all(lesson.viewer_status is None for unit in page.units for lesson in unit.lessons)
    assert [u.clerk_id for u in eve.pages.search_users("ana")] == ["ana"]


# ---- hidden content (moderation) ------------------------------------------------------------------


def test_a_hidden_review_leaves_cards_and_the_course_page_but_for_its_author_and_moderators(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    main = world["main"]
    user(db_conn, "mo", "Mo", "Moderator")
    db_conn.execute("INSERT INTO site_roles (user_clerk_id, role) VALUES ('mo', 'moderator')")
    db_conn.execute("UPDATE course_feedback SET hidden_at = now() WHERE user_clerk_id = 'ben'")
    store = Store.on(db_conn)
    # the service path has no acting user: nobody's view shows hidden content
    for pages in (store.pages, store.as_user("ana").pages):
        [card] = pages.cards([main])
        assert (card.rating_count, card.rating_mean) == (1, Decimal("5.00"))
        page = pages.course_page(main, viewer="ana")
        assert page.card.rating_count == 1 and page.histogram == {1: 0, 2: 0, 3: 0, 4: 0, 5: 1}
        assert [r.reviewer_clerk_id for r in page.top_reviews] == ["ana"]
    assert store.pages.belongings("ben").reviews == []
    for who in ("ben", "mo"):
        pages = store.as_user(who).pages
        [card] = pages.cards([main])
        assert (card.rating_count, card.rating_mean) == (2, Decimal("4.50"))
        page = pages.course_page(main)
        assert page.histogram == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1}
        assert sorted(r.reviewer_clerk_id or "" for r in page.top_reviews) == ["ana", "ben"]
    assert [r.rating for r in store.as_user("ben").pages.belongings("ben").reviews] == [4]


def test_hidden_posts_and_replies_leave_trending_and_liked_content(
    db_conn: Conn, world: dict[str, Any]
) -> None:
    post = one(
        db_conn,
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body)"
        " VALUES (%s, 'ana', 't', 'b') RETURNING id",
        world["older"],
    )
    reply = one(
        db_conn,
        "INSERT INTO forum_replies (post_id, author_clerk_id, body) VALUES (%s, 'ben', 'r') RETURNING id",
        post,
    )
    db_conn.execute("INSERT INTO forum_post_likes (post_id, user_clerk_id) VALUES (%s, 'cy')", (post,))
    db_conn.execute("INSERT INTO forum_reply_likes (reply_id, user_clerk_id) VALUES (%s, 'cy')", (reply,))
    store = Store.on(db_conn)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert [(c.title, c.activity) for c in store.pages.trending_cards(since=hour_ago)] == [("Older", 4)]
    assert len(store.pages.belongings("cy").likes) == 2
    db_conn.execute("UPDATE forum_replies SET hidden_at = now() WHERE id = %s", (reply,))
    assert [(c.title, c.activity) for c in store.pages.trending_cards(since=hour_ago)] == [("Older", 2)]
    assert [like.kind for like in store.pages.belongings("cy").likes] == ["post"]
    db_conn.execute("UPDATE forum_posts SET hidden_at = now() WHERE id = %s", (post,))
    assert store.pages.trending_cards(since=hour_ago) == []
    assert store.pages.belongings("cy").likes == []
    # the post's author still sees her thread count
    assert [c.activity for c in store.as_user("ana").pages.trending_cards(since=hour_ago)] == [2]


# ---- round trips and the async twin ------------------------------------------------------------------


@contextmanager
def round_trips(conn: AConn) -> Iterator[list[str]]:
    """The round trips made on `conn` inside the block (ReadyForQuery messages in libpq's trace)."""
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


async def test_every_page_read_is_one_round_trip_async(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as setup:
        made = make_world(setup)
        setup.execute(
            "INSERT INTO forum_posts (course_id, author_clerk_id, title, body) VALUES (%s, 'ana', 't', 'b')",
            (made["main"],),
        )
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        store = AsyncStore.on(conn)
        since = datetime.now(UTC) - timedelta(days=1)
        operations: dict[str, Callable[[], Awaitable[object]]] = {
            "cards": lambda: store.pages.cards([made["main"], made["older"]], viewer="ana"),
            "author_cards": lambda: store.pages.author_cards("author", viewer="ana"),
            "favorite_cards": lambda: store.pages.favorite_cards("ana"),
            "dashboard_cards": lambda: store.pages.dashboard_cards("ana"),
            "trending_cards": lambda: store.pages.trending_cards(since=since, viewer="ana"),
            "course_page": lambda: store.pages.course_page(made["main"], viewer="ana"),
            "search_users": lambda: store.pages.search_users("an"),
            "lesson_statuses": lambda: store.pages.lesson_statuses("ben"),
            "belongings": lambda: store.pages.belongings("ana"),
            "roster": lambda: store.pages.roster(made["main"], viewer="author"),
        }
        for name, operation in operations.items():
            with round_trips(conn) as trips:
                result = await operation()
            assert result not in ([], None), name
            assert len(trips) == 1, (name, trips)
        page = await store.pages.course_page(made["main"], viewer="ana")
        assert page.card.title == "SQL" and page.next_lesson_title == "Lesson 1.1"


async def test_the_async_store_on_a_pool_reads_the_same_cards(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as setup:
        made = make_world(setup)
        expected = Store.on(setup).pages.dashboard_cards("ana")
    async with await learnstore.connect_async(fresh_db, max_size=2) as store:
        got = await store.pages.dashboard_cards("ana")
        assert [card.model_dump() for card in got] == [card.model_dump() for card in expected]
        assert [c.course_id for c in await store.as_user("ana").pages.dashboard_cards("ana")] == [
            made["main"],
            made["older"],
        ]
