"""A course's summary (course_stats, migration 0028): enrolments, completions, the sum of progress and
the per-star ratings that cards, the course page, the roster's total and course analytics read. It
stays exact through every path that writes enrolments and ratings, under 16 racing writers, is
checked and repaired by `store.check()`, and nobody writes it under as_user."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest
from test_races import WRITERS, race_threads, scalar

import learnstore
from learnstore import Store, migrate
from learnstore.repositories.imports import EnrolmentRecord, ProgressRecord

Conn = psycopg.Connection[Any]


def setup(conn: Conn, learners: int = 6, lessons: int = 4) -> tuple[UUID, list[UUID]]:
    """ada authors a published course of `lessons` lessons; l0..l<learners-1> may learn it; mo moderates."""
    conn.execute(
        "INSERT INTO users (clerk_id, first_name) VALUES ('ada', 'Ada'), ('mo', 'Mo'), ('stan', 'Stan')"
    )
    conn.execute("INSERT INTO site_roles (user_clerk_id, role) VALUES ('mo', 'moderator')")
    conn.execute(
        "INSERT INTO users (clerk_id, first_name) SELECT 'l' || i, 'L' || i FROM generate_series(0, %s) i",
        [learners - 1],
    )
    course_id = conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES ('Grammar', 'ada', 'published', now()) RETURNING id"
    ).fetchone()[0]  # type: ignore[index]
    unit_id = conn.execute(
        "INSERT INTO units (course_id, title, position) VALUES (%s, 'U', 0) RETURNING id", [course_id]
    ).fetchone()[0]  # type: ignore[index]
    lesson_ids = [
        conn.execute(
            "INSERT INTO lessons (unit_id, title, position, content_type, content, duration_seconds)"
            " VALUES (%s, %s, %s, 'text', '{\"body\": \"b\"}', 60) RETURNING id",
            [unit_id, f"L{i}", i],
        ).fetchone()[0]  # type: ignore[index]
        for i in range(lessons)
    ]
    return course_id, lesson_ids


def counted(conn: Conn, course_id: UUID, viewer: str | None = None) -> dict[str, Any]:
    """What the reads showed before the summary: counted from the base rows, as `viewer` sees them."""
    staff = viewer == "mo"
    row = conn.execute(
        """SELECT (SELECT count(*) FROM user_courses WHERE course_id = %(c)s),
                  (SELECT count(completed_at) FROM user_courses WHERE course_id = %(c)s),
                  (SELECT avg(progress) FROM user_courses WHERE course_id = %(c)s),
                  (SELECT array[count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = 2),
                                count(*) FILTER (WHERE rating = 3), count(*) FILTER (WHERE rating = 4),
                                count(*) FILTER (WHERE rating = 5)]::integer[]
                   FROM course_feedback
                   WHERE course_id = %(c)s AND (hidden_at IS NULL OR %(staff)s OR user_clerk_id = %(v)s)),
                  (SELECT round(avg(rating), 2) FROM course_feedback
                   WHERE course_id = %(c)s AND (hidden_at IS NULL OR %(staff)s OR user_clerk_id = %(v)s))""",
        {"c": course_id, "staff": staff, "v": viewer},
    ).fetchone()
    assert row is not None
    enrolments, completions, mean, histogram, rating_mean = row
    return {
        "enrolments": enrolments,
        "completions": completions,
        "average_progress": float(mean or 0),
        "histogram": histogram,
        "rating_count": sum(histogram),
        "rating_mean": rating_mean,
    }


def shown(store: Store, course_id: UUID, viewer: str | None = None) -> dict[str, Any]:
    """What the reads show now, from the summary: the card, the page, the roster's total, analytics."""
    scoped = store if viewer is None else store.as_user(viewer)
    (card,) = scoped.pages.cards([course_id], viewer=viewer)
    page = scoped.pages.course_page(course_id, viewer=viewer)
    stats = store.progress.get_course_stats(course_id)
    (listed,) = [s for s in store.progress.list_author_course_stats("ada") if s.course_id == course_id]
    assert listed.model_dump() == stats.model_dump()
    assert page.card == card
    assert store.pages.roster(course_id, viewer="ada").total == stats.enrolments
    assert store.as_user("ada").pages.roster(course_id, viewer="ada").total == stats.enrolments
    return {
        "enrolments": card.enrolment_count,
        "completions": stats.completions,
        "average_progress": stats.average_progress,
        "histogram": [page.histogram[star] for star in range(1, 6)],
        "rating_count": card.rating_count,
        "rating_mean": card.rating_mean,
        "stats_enrolments": stats.enrolments,
    }


def assert_exact(store: Store, conn: Conn, course_id: UUID) -> None:
    for viewer in (None, "mo", "l0", "l1", "stan"):
        now = shown(store, course_id, viewer)
        assert now.pop("stats_enrolments") == now["enrolments"]
        assert now == counted(conn, course_id, viewer), viewer
    (value,) = [v for v in store.check().values if v.name == "course_stats"]
    assert value.drifted == 0, value.describe()


# ---- every write path --------------------------------------------------------------------------


def test_every_write_path_keeps_the_summary_exact(db_conn: Conn) -> None:
    course_id, lessons = setup(db_conn)
    store = Store.on(db_conn)
    assert_exact(store, db_conn, course_id)  # no rows: every count 0, the mean NULL
    for i in range(5):  # enrol
        store.progress.enrol(f"l{i}", course_id)
    store.progress.enrol("l0", course_id)  # again: idempotent, counted once
    assert_exact(store, db_conn, course_id)
    store.progress.set_lesson_status("l0", lessons[0], "completed")  # a progress recompute
    store.progress.set_lesson_status("l1", lessons[1], "in_progress")
    for lesson in lessons:  # completion
        store.progress.set_lesson_status("l2", lesson, "completed")
    assert_exact(store, db_conn, course_id)
    store.progress.set_lesson_status("l2", lessons[3], "in_progress")  # completion undone
    assert_exact(store, db_conn, course_id)
    for i, rating in enumerate((5, 4, 4, 2)):  # rate
        store.reviews.review_course(course_id, f"l{i}", rating, comment="c")
    store.reviews.review_course(course_id, "l3", 1)  # re-rate: an edit moves the star
    store.reviews.review_course(course_id, "l2", 4, comment="edited")  # the comment alone
    assert_exact(store, db_conn, course_id)
    feedback = db_conn.execute(
        "SELECT id FROM course_feedback WHERE user_clerk_id = 'l1' AND course_id = %s", [course_id]
    ).fetchone()[0]  # type: ignore[index]
    store.moderation.hide("mo", "Rude", feedback_id=feedback)  # hidden: its author and mo still count it
    assert_exact(store, db_conn, course_id)
    store.moderation.unhide("mo", "Fine", feedback_id=feedback)
    store.moderation.hide("mo", "Rude", feedback_id=feedback)
    store.reviews.delete_review(course_id, "l0")  # delete a rating
    store.progress.unenrol("l4", course_id)  # unenrol
    assert_exact(store, db_conn, course_id)
    store.users.erase("l1")  # GDPR: the enrolment goes, the (hidden) rating stays, anonymous
    store.users.erase("l2")
    assert_exact(store, db_conn, course_id)
    store.progress.refresh_course(course_id)  # a recompute of every enrolment that changes nothing
    store.content.add_lesson(
        db_conn.execute("SELECT id FROM units WHERE course_id = %s", [course_id]).fetchone()[0],  # type: ignore[index]
        "L9",
        "text",
        {"body": "b"},
    )  # a new lesson moves every enrolment's progress
    assert_exact(store, db_conn, course_id)
    # bulk import: COPY fires the statement triggers with their transition tables
    db_conn.execute("INSERT INTO users (clerk_id) SELECT 'm' || i FROM generate_series(0, 299) i")
    summary = store.imports.import_enrolments([EnrolmentRecord(f"m{i}", course_id) for i in range(300)])
    assert summary.rows == 300
    store.imports.import_progress(
        [
            ProgressRecord(f"m{i}", lessons[0], "completed", None, datetime(2024, 1, 1, tzinfo=UTC))
            for i in range(0, 300, 3)
        ]
    )
    assert_exact(store, db_conn, course_id)
    assert (
        scalar_of(db_conn, "SELECT sum(enrolments) FROM course_stats WHERE course_id = %s", course_id) == 302
    )
    # course deletion: its rows go with it
    store.content.delete_course(course_id)
    assert scalar_of(db_conn, "SELECT count(*) FROM course_stats WHERE course_id = %s", course_id) == 0
    assert store.check().drift == 0


def scalar_of(conn: Conn, query: str, *params: Any) -> Any:
    row = conn.execute(query, list(params)).fetchone()
    assert row is not None
    return row[0]


def test_an_erased_reviewer_s_rating_moves_shards_and_still_counts(db_conn: Conn) -> None:
    course_id, _ = setup(db_conn)
    store = Store.on(db_conn)
    store.progress.enrol("l0", course_id)
    store.reviews.review_course(course_id, "l0", 3)
    store.users.erase("l0")
    rows = db_conn.execute(
        "SELECT shard, stars_3 FROM course_stats WHERE course_id = %s AND stars_3 <> 0", [course_id]
    ).fetchall()
    assert rows == [(scalar_of(db_conn, "SELECT course_stats_shard(NULL)"), 1)]
    (card,) = store.pages.cards([course_id])
    assert (card.rating_count, card.rating_mean) == (1, Decimal("3.00"))


# ---- races, drift and repair, permissions ------------------------------------------------------


def test_sixteen_writers_on_one_course_leave_the_exact_summary(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        course_id, lessons = setup(conn, learners=WRITERS + 4, lessons=2)
    with learnstore.connect(fresh_db, max_size=1) as store:
        # writers 0-3 start enrolled and rated, to unenrol and unrate
        for i in range(4):
            store.progress.enrol(f"l{WRITERS + i}", course_id)
            store.reviews.review_course(course_id, f"l{WRITERS + i}", 2)

    def write(store: Store, i: int) -> None:
        # One transaction per writer, all in one course: enrol, progress, complete, rate, and a
        # quarter of them also unenrol someone else and delete their rating.
        me = f"l{i}"
        store.progress.enrol(me, course_id)
        store.progress.set_lesson_status(me, lessons[0], "completed")
        if i % 2:
            store.progress.set_lesson_status(me, lessons[1], "completed")
        store.reviews.review_course(course_id, me, 1 + i % 5)
        if i < 4:
            store.progress.unenrol(f"l{WRITERS + i}", course_id)
            store.reviews.delete_review(course_id, f"l{WRITERS + i}")

    race_threads(fresh_db, write, seed=11)
    assert scalar(fresh_db, "SELECT sum(enrolments) FROM course_stats") == WRITERS
    assert scalar(fresh_db, "SELECT sum(completions) FROM course_stats") == WRITERS // 2
    assert (
        scalar(fresh_db, "SELECT sum(stars_1 + stars_2 + stars_3 + stars_4 + stars_5) FROM course_stats")
        == WRITERS
    )
    with learnstore.connect(fresh_db, max_size=1) as store, psycopg.connect(fresh_db) as conn:
        assert store.check().drift == 0
        assert_exact(store, conn, course_id)


def test_check_finds_a_broken_summary_and_repair_fixes_it(db_conn: Conn) -> None:
    course_id, lessons = setup(db_conn)
    other, _ = setup_second_course(db_conn)
    store = Store.on(db_conn)
    for i in range(4):
        store.progress.enrol(f"l{i}", course_id)
        store.reviews.review_course(course_id, f"l{i}", 4)
    store.progress.enrol("l0", other)
    store.progress.set_lesson_status("l0", lessons[0], "completed")
    db_conn.execute(
        "UPDATE course_stats SET enrolments = enrolments + 7, stars_4 = 0 WHERE course_id = %s", [course_id]
    )
    db_conn.execute("DELETE FROM course_stats WHERE course_id = %s", [other])
    report = store.check()
    (value,) = [v for v in report.values if v.name == "course_stats"]
    assert value.drifted == 2
    assert {e["key"] for e in value.examples} == {str(course_id), str(other)}
    assert any(e["expected"].startswith("1 enrolments") for e in value.examples)
    assert store.check(repair=True).drift == 0
    assert_exact(store, db_conn, course_id)
    assert store.progress.get_course_stats(other).enrolments == 1


def setup_second_course(conn: Conn) -> tuple[UUID, None]:
    row = conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES ('Travel', 'ada', 'published', now()) RETURNING id"
    ).fetchone()
    assert row is not None
    return row[0], None


def test_nobody_writes_the_summary_under_as_user(db_conn: Conn) -> None:
    course_id, _ = setup(db_conn)
    store = Store.on(db_conn)
    store.as_user("l0").progress.enrol("l0", course_id)  # the learner's own write counts
    for statement in (
        "UPDATE course_stats SET enrolments = 1000",
        "DELETE FROM course_stats",
        f"INSERT INTO course_stats (course_id, shard, enrolments) VALUES ('{course_id}', 15, 5)",
        "SELECT course_stats_recount(array(SELECT id FROM courses))",
        "SELECT course_stats_add('[]'::jsonb, true)",
    ):
        for actor in ("stan", "ada"):  # an unrelated user, and the course's author
            with db_conn.transaction(force_rollback=True):
                db_conn.execute("SELECT set_config('learnstore.clerk_id', %s, true)", [actor])
                db_conn.execute("SET LOCAL ROLE learnstore_app")
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    db_conn.execute(statement.encode())
    # reading: the author's team, not an unrelated user (who sees a card's counts only)
    with db_conn.transaction(force_rollback=True):
        db_conn.execute("SELECT set_config('learnstore.clerk_id', 'stan', true)")
        db_conn.execute("SET LOCAL ROLE learnstore_app")
        assert scalar_of(db_conn, "SELECT count(*) FROM course_stats") == 0
    assert store.as_user("stan").pages.cards([course_id])[0].enrolment_count == 1
    assert store.as_user("ada").pages.roster(course_id, viewer="ada").total == 1
    assert scalar_of(db_conn, "SELECT sum(enrolments) FROM course_stats") == 1


# ---- the migration's backfill ------------------------------------------------------------------


def test_migration_0028_counts_the_courses_already_there(fresh_db: str) -> None:
    migrate.rollback(fresh_db, to="0026_review_lock_order")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        course_id, _ = setup(conn, learners=300)
        conn.execute(
            "INSERT INTO user_courses (user_clerk_id, course_id, progress, completed_at)"
            " SELECT 'l' || i, %s, CASE WHEN i %% 3 = 0 THEN 100 ELSE i %% 100 END,"
            "        CASE WHEN i %% 3 = 0 THEN now() END FROM generate_series(0, 299) i",
            [course_id],
        )
        conn.execute(
            "INSERT INTO course_feedback (course_id, user_clerk_id, rating, hidden_at)"
            " SELECT %s, 'l' || i, 1 + i %% 5, CASE WHEN i %% 7 = 0 THEN now() END"
            " FROM generate_series(0, 99) i",
            [course_id],
        )
    migrate.upgrade(fresh_db)
    # (progress written by hand, not from lessons: the enrolments' own check would differ; the
    # summary's is assert_exact's)
    with learnstore.connect(fresh_db, max_size=1) as store, psycopg.connect(fresh_db) as conn:
        assert store.progress.get_course_stats(course_id).enrolments == 300
        assert_exact(store, conn, course_id)
