"""The rank and the drop-off since migration 0029: the overall leaderboard's rank sums a histogram of
learners per points value, and a course's drop-off sums per-lesson counters, both kept by triggers
on every path (awards, revocations, an achievement's points changed, erasure, imports, enrolments,
lessons moved), exact under 16 racing writers, checked and repaired by `store.check()`, written by
nobody under `as_user`. The oracles are the queries they replace."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import pytest
from test_races import WRITERS, make_course, race_threads, scalar, sql

import learnstore
from learnstore import Store, migrate
from learnstore.repositories.imports import EnrolmentRecord, ProgressRecord

Conn = psycopg.Connection[Any]

#: ListLessonCompletions before 0029: every status of the course's lessons, of enrolled learners
OLD_COMPLETIONS = """
SELECT l.id, e.enrolments,
       count(p.id) FILTER (WHERE p.status IN ('in_progress', 'completed'))::integer AS started,
       count(p.id) FILTER (WHERE p.status = 'completed')::integer AS completed
FROM units u
JOIN lessons l ON l.unit_id = u.id
CROSS JOIN (SELECT count(*)::integer AS enrolments FROM user_courses ec WHERE ec.course_id = %(c)s) e
LEFT JOIN user_progress p
    ON p.lesson_id = l.id
   AND EXISTS (SELECT FROM user_courses uc
               WHERE uc.user_clerk_id = p.user_clerk_id AND uc.course_id = u.course_id)
WHERE u.course_id = %(c)s
GROUP BY u.id, l.id, e.enrolments
ORDER BY u.position, l.position
"""


def completions(conn: Conn, course_id: UUID) -> list[tuple[Any, ...]]:
    found = Store.on(conn).progress.list_lesson_completions(course_id)
    return [(r.lesson_id, r.enrolments, r.started, r.completed) for r in found]


def old_completions(conn: Conn, course_id: UUID) -> list[tuple[Any, ...]]:
    return conn.execute(OLD_COMPLETIONS, {"c": course_id}).fetchall()


def ranks(conn: Conn) -> dict[str, int]:
    """Every user's rank as the leaderboard gives it to them."""
    store = Store.on(conn)
    users = [u for (u,) in conn.execute("SELECT clerk_id FROM users ORDER BY clerk_id").fetchall()]
    return {u: next(r.rank for r in store.achievements.leaderboard(u, top=2) if r.is_me) for u in users}


def old_ranks(conn: Conn) -> dict[str, int]:
    """The rank as counted before 0029: one more than the learners with more points."""
    rows = conn.execute(
        "SELECT u.clerk_id, 1 + (SELECT count(*) FROM user_points a WHERE a.points > coalesce(p.points, 0))"
        " FROM users u LEFT JOIN user_points p ON p.user_clerk_id = u.clerk_id ORDER BY u.clerk_id"
    ).fetchall()
    return {u: rank for u, rank in rows}


def drift(store: Store, name: str) -> int:
    (value,) = [v for v in store.check().values if v.name == name]
    return value.drifted


def award(conn: Conn, clerk_id: str, achievement_id: UUID) -> None:
    conn.execute(
        "INSERT INTO user_achievements (user_clerk_id, achievement_id, progress, earned_at)"
        " VALUES (%s, %s, 1, now())",
        [clerk_id, achievement_id],
    )


def people(conn: Conn, *clerk_ids: str) -> None:
    conn.execute(
        "INSERT INTO users (clerk_id, first_name) SELECT id, id FROM unnest(%s::text[]) AS id",
        [list(clerk_ids)],
    )


# ---- the rank ----------------------------------------------------------------------------------------


def test_the_rank_follows_awards_revocations_point_changes_erasure_and_renames(db_conn: Conn) -> None:
    people(db_conn, "ada", "bo", "cy", "di", "ed", "fay")
    store = Store.on(db_conn)
    rule = {"kind": "goals_completed", "threshold": 99}
    small, big, none = (store.achievements.create(c, c, rule, points=p) for c, p in
                        (("small", 10), ("big", 30), ("none", 0)))  # fmt: skip
    award(db_conn, "ada", small.id)
    award(db_conn, "ada", big.id)
    award(db_conn, "bo", small.id)
    award(db_conn, "cy", small.id)
    award(db_conn, "di", none.id)  # a learner with 0 points ranks with those without
    assert ranks(db_conn) == old_ranks(db_conn) == {"ada": 1, "bo": 2, "cy": 2, "di": 4, "ed": 4, "fay": 4}

    award(db_conn, "cy", big.id)  # moves cy from 10 to 40
    db_conn.execute("DELETE FROM user_achievements WHERE user_clerk_id = 'bo'")  # a revocation
    assert ranks(db_conn) == old_ranks(db_conn)
    assert ranks(db_conn)["bo"] == 3

    store.achievements.update(big.id, title="big", points=5)  # every holder moves: ada 15, cy 15
    assert ranks(db_conn) == old_ranks(db_conn)
    store.users.erase("ada")
    db_conn.execute("UPDATE users SET clerk_id = 'cy2' WHERE clerk_id = 'cy'")  # a new identity
    assert ranks(db_conn) == old_ranks(db_conn)
    assert ranks(db_conn)["cy2"] == 1
    store.achievements.delete(small.id)  # its holders lose its points
    assert ranks(db_conn) == old_ranks(db_conn)
    assert drift(store, "points_histogram") == 0
    histogram = db_conn.execute(
        "SELECT points, sum(learners) FROM user_points_histogram GROUP BY points HAVING sum(learners) <> 0"
        " ORDER BY points"
    ).fetchall()
    assert (
        histogram
        == db_conn.execute(
            "SELECT points, count(*) FROM user_points GROUP BY points ORDER BY points"
        ).fetchall()
    )


def test_check_finds_and_repairs_a_drifted_histogram(db_conn: Conn) -> None:
    people(db_conn, "ada", "bo", "cy")
    store = Store.on(db_conn)
    badge = store.achievements.create("b", "B", {"kind": "goals_completed", "threshold": 9}, points=10)
    for learner in ("ada", "bo", "cy"):
        award(db_conn, learner, badge.id)
    db_conn.execute("UPDATE user_points_histogram SET learners = learners + 5 WHERE points = 10")
    db_conn.execute("INSERT INTO user_points_histogram (points, shard, learners) VALUES (70, 3, 2)")
    report = store.check()
    (histogram,) = [v for v in report.values if v.name == "points_histogram"]
    assert histogram.drifted == 2
    assert {(e["key"], e["stored"], e["expected"]) for e in histogram.examples} == {
        ("10", "8", "3"),
        ("70", "2", "0"),
    }
    assert store.check(repair=True).drift == 0
    assert ranks(db_conn) == old_ranks(db_conn)


# ---- the drop-off --------------------------------------------------------------------------------------


def test_the_drop_off_follows_statuses_enrolments_imports_moves_and_erasure(db_conn: Conn) -> None:
    people(db_conn, "ada", "bo", "cy", "di")
    dsn_free = Store.on(db_conn)
    course_id = db_conn.execute(
        "INSERT INTO courses (title, status, published_at) VALUES ('C', 'published', now()) RETURNING id"
    ).fetchone()[0]  # type: ignore[index]
    other = db_conn.execute(
        "INSERT INTO courses (title, status, published_at) VALUES ('D', 'published', now()) RETURNING id"
    ).fetchone()[0]  # type: ignore[index]
    units = [
        db_conn.execute(
            "INSERT INTO units (course_id, title, position) VALUES (%s, 'U', 0) RETURNING id", [c]
        ).fetchone()[0]  # type: ignore[index]
        for c in (course_id, other)
    ]
    lessons = [
        db_conn.execute(
            "INSERT INTO lessons (unit_id, title, content_type, content, position)"
            """ VALUES (%s, %s, 'text', '{"body": "x"}', %s) RETURNING id""",
            [units[0], f"L{i}", i],
        ).fetchone()[0]  # type: ignore[index]
        for i in range(3)
    ]
    progress = dsn_free.progress
    for learner in ("ada", "bo", "cy"):
        progress.enrol(learner, course_id)
    progress.set_lesson_status("ada", lessons[0], "completed")
    progress.set_lesson_status("ada", lessons[1], "in_progress")
    progress.set_lesson_status("bo", lessons[0], "in_progress")
    progress.set_lesson_status("bo", lessons[0], "completed")
    progress.set_lesson_status("cy", lessons[0], "completed")
    progress.set_lesson_status("cy", lessons[0], "not_started")  # counts out again
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)
    assert [(s, c) for *_, s, c in completions(db_conn, course_id)] == [(2, 2), (1, 0), (0, 0)]

    # di's imported statuses count only once di is enrolled (imported too)
    dsn_free.imports.import_progress(
        [ProgressRecord("di", lesson, "completed", completed_at=_now(db_conn)) for lesson in lessons]
    )
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)
    assert completions(db_conn, course_id)[2][2:] == (0, 0)
    dsn_free.imports.import_enrolments([EnrolmentRecord("di", course_id)])
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)
    assert completions(db_conn, course_id)[2][2:] == (1, 1)

    progress.unenrol("bo", course_id)  # the enrolment and its statuses go
    db_conn.execute("DELETE FROM user_courses WHERE user_clerk_id = 'cy'")  # plain SQL: statuses kept
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)
    db_conn.execute("INSERT INTO user_courses (user_clerk_id, course_id) VALUES ('cy', %s)", [course_id])
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)

    # a lesson moved to another course counts that course's learners (none yet); a unit moved back
    progress.enrol("ada", other)
    db_conn.execute("UPDATE lessons SET unit_id = %s, position = 5 WHERE id = %s", [units[1], lessons[0]])
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)
    assert completions(db_conn, other) == old_completions(db_conn, other)
    assert completions(db_conn, other)[0][2:] == (1, 1)  # ada's status, in her other course
    db_conn.execute("UPDATE units SET course_id = %s, position = 7 WHERE id = %s", [course_id, units[1]])
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)

    dsn_free.users.erase("di")
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)
    db_conn.execute("UPDATE users SET clerk_id = 'ada2' WHERE clerk_id = 'ada'")
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)
    db_conn.execute("DELETE FROM lessons WHERE id = %s", [lessons[1]])  # its counters go with it
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)
    assert drift(dsn_free, "lesson_progress_counts") == 0


def _now(conn: Conn) -> Any:
    return conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]


def test_check_finds_and_repairs_drifted_lesson_counters(db_conn: Conn) -> None:
    people(db_conn, "ada", "bo")
    store = Store.on(db_conn)
    course_id = db_conn.execute(
        "INSERT INTO courses (title, status, published_at) VALUES ('C', 'published', now()) RETURNING id"
    ).fetchone()[0]  # type: ignore[index]
    unit = store.content.add_unit(course_id, "U")
    first, second = (store.content.add_lesson(unit.id, f"L{i}", "text", {"body": "x"}) for i in range(2))
    for learner in ("ada", "bo"):
        store.progress.enrol(learner, course_id)
        store.progress.set_lesson_status(learner, first.id, "completed")
    db_conn.execute(
        "UPDATE lesson_progress_counts SET completed = completed + 7 WHERE lesson_id = %s", [first.id]
    )
    db_conn.execute(
        "INSERT INTO lesson_progress_counts (lesson_id, shard, started) VALUES (%s, 5, 1)", [second.id]
    )
    report = store.check()
    (counts,) = [v for v in report.values if v.name == "lesson_progress_counts"]
    assert counts.drifted == 2
    assert {e["stored"] for e in counts.examples} == {"2 started, 9 completed", "1 started, 0 completed"}
    assert store.check(repair=True).drift == 0
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)


# ---- nobody writes them under as_user -----------------------------------------------------------------


def test_nobody_writes_the_histogram_or_the_counters_under_as_user(db_conn: Conn) -> None:
    people(db_conn, "ada", "bo")
    course_id, lesson = db_conn.execute(
        "WITH c AS (INSERT INTO courses (title, status, published_at) VALUES ('C', 'published', now())"
        " RETURNING id), u AS (INSERT INTO units (course_id, title, position) SELECT id, 'U', 0 FROM c"
        " RETURNING id) INSERT INTO lessons (unit_id, title, content_type, content, position)"
        """ SELECT id, 'L', 'text', '{"body": "x"}', 0 FROM u RETURNING id, (SELECT id FROM c)"""
    ).fetchone()[::-1]  # type: ignore[index]
    store = Store.on(db_conn)
    store.progress.enrol("ada", course_id)
    store.as_user("ada").progress.set_lesson_status("ada", lesson, "completed")  # counted by the trigger
    badge = store.achievements.create("b", "B", {"kind": "lessons_completed", "threshold": 1}, points=10)
    store.achievements.backfill(badge.id)
    for statement in (
        "UPDATE user_points_histogram SET learners = 1000",
        "DELETE FROM user_points_histogram",
        "INSERT INTO user_points_histogram (points, shard, learners) VALUES (5000, 0, 1)",
        "UPDATE lesson_progress_counts SET completed = 1000",
        "DELETE FROM lesson_progress_counts",
        f"INSERT INTO lesson_progress_counts (lesson_id, shard, completed) VALUES ('{lesson}', 1, 5)",
        "SELECT user_points_histogram_reset(ARRAY[10])",
        f"SELECT lesson_progress_counts_reset(ARRAY['{lesson}'::uuid])",
    ):
        with db_conn.transaction(force_rollback=True):
            db_conn.execute("SELECT set_config('learnstore.clerk_id', 'bo', true)")
            db_conn.execute("SET LOCAL ROLE learnstore_app")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db_conn.execute(statement.encode())
    # under as_user the drop-off counts what the actor sees (their own statuses), as before 0029
    own = store.as_user("ada").progress.list_lesson_completions(course_id)
    assert [(r.started, r.completed) for r in own] == [(1, 1)]
    assert [
        (r.started, r.completed) for r in store.as_user("bo").progress.list_lesson_completions(course_id)
    ] == [(0, 0)]
    # ... and anyone reads the rank
    board = store.as_user("bo").achievements.leaderboard("bo")
    assert [(r.user_clerk_id, r.rank) for r in board] == [("ada", 1), ("bo", 2)]
    assert completions(db_conn, course_id) == old_completions(db_conn, course_id)
    assert store.check().drift == 0


# ---- 16 writers ----------------------------------------------------------------------------------------


def test_sixteen_writers_awarded_on_one_lesson_leave_exact_ranks_and_counts(fresh_db: str) -> None:
    learners = [f"w{i}" for i in range(WRITERS)]
    sql(fresh_db, "INSERT INTO users (clerk_id) SELECT unnest(%s::text[])", [learners])
    course_id, lessons = make_course(fresh_db, lessons=3)
    with learnstore.connect(fresh_db, max_size=1) as store:
        # each completed lesson earns 10 points, the second 30 more: writers move between values
        store.achievements.create("one", "One", {"kind": "lessons_completed", "threshold": 1}, points=10)
        store.achievements.create("two", "Two", {"kind": "lessons_completed", "threshold": 2}, points=30)
        for learner in learners:
            store.progress.enrol(learner, course_id)
        for learner in learners[::4]:  # a quarter have a lesson and 10 points already
            store.progress.set_lesson_status(learner, lessons[2], "completed")

    def write(store: Store, i: int) -> None:
        # every writer completes the same lesson (one counter, one award each), every other one
        # starts the next, every third leaves the course (its statuses count out)
        store.progress.set_lesson_status(f"w{i}", lessons[0], "completed")
        if i % 2:
            store.progress.set_lesson_status(f"w{i}", lessons[1], "in_progress")
        if i % 3 == 0:
            store.progress.unenrol(f"w{i}", course_id)

    race_threads(fresh_db, write, seed=20)
    with psycopg.connect(fresh_db) as conn:
        assert completions(conn, course_id) == old_completions(conn, course_id)
        assert completions(conn, course_id)[0][2:] == (WRITERS - 6, WRITERS - 6)
        assert ranks(conn) == old_ranks(conn)
        with learnstore.connect(fresh_db, max_size=1) as store:
            assert store.check().drift == 0


def test_migration_0029_counts_what_is_already_there(fresh_db: str) -> None:
    migrate.rollback(fresh_db, to="0026_review_lock_order")
    sql(fresh_db, "INSERT INTO users (clerk_id) SELECT 'u' || g FROM generate_series(1, 40) g")
    course_id, lessons = make_course(fresh_db, lessons=4)
    with learnstore.connect(fresh_db, max_size=1) as store:
        badge = store.achievements.create("b", "B", {"kind": "lessons_completed", "threshold": 1}, points=10)
        more = store.achievements.create("m", "M", {"kind": "lessons_completed", "threshold": 3}, points=5)
        for g in range(1, 41):
            store.progress.enrol(f"u{g}", course_id)
            for lesson in lessons[: g % 5]:
                store.progress.set_lesson_status(f"u{g}", lesson, "completed" if g % 2 else "in_progress")
        assert store.achievements.get(badge.id) and store.achievements.get(more.id)
    migrate.upgrade(fresh_db)
    assert scalar(fresh_db, "SELECT count(*) FROM user_points_histogram") > 0
    with psycopg.connect(fresh_db) as conn:
        assert completions(conn, course_id) == old_completions(conn, course_id)
        assert ranks(conn) == old_ranks(conn)
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0
