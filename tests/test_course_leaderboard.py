"""A course's leaderboard since migration 0032: the top walks course_points (each enrolled learner's
points, copied from user_points) in rank order, and the viewer's rank sums course_points_histogram
(a course's learners per points value). Both are kept by triggers on every path (awards,
revocations, an achievement's points changed, enrolments, unenrolments, imports, erasure, renames,
an enrolment moved, a course deleted), exact under 16 racing writers, checked and repaired by
`store.check()`, written by nobody under `as_user`. The oracle is the query they replace."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import pytest
from test_races import WRITERS, make_course, race_threads, scalar, sql

import learnstore
from learnstore import Store, migrate
from learnstore.repositories.imports import EnrolmentRecord

Conn = psycopg.Connection[Any]

#: A course's ListLeaderboard before 0032: the course's enrolments joined to user_points and sorted,
#: the viewer's rank counted over every classmate with more points.
OLD_BOARD = """
WITH top AS (
    SELECT p.user_clerk_id, p.points, p.achievements, p.reached_at
    FROM user_courses uc JOIN user_points p ON p.user_clerk_id = uc.user_clerk_id
    WHERE uc.course_id = %(course)s
    ORDER BY p.points DESC, p.reached_at, p.user_clerk_id
    LIMIT %(top)s
), me AS (
    SELECT u.clerk_id AS user_clerk_id, coalesce(p.points, 0) AS points,
           coalesce(p.achievements, 0) AS achievements, p.reached_at
    FROM users u LEFT JOIN user_points p ON p.user_clerk_id = u.clerk_id
    WHERE u.clerk_id = %(viewer)s
      AND EXISTS (SELECT FROM user_courses uc
                  WHERE uc.user_clerk_id = u.clerk_id AND uc.course_id = %(course)s)
      AND NOT EXISTS (SELECT FROM top t WHERE t.user_clerk_id = u.clerk_id)
), board AS (
    SELECT t.*, rank() OVER (ORDER BY t.points DESC)::integer AS rank FROM top t
    UNION ALL
    SELECT m.*, (1 + (SELECT count(*) FROM user_courses c
                      JOIN user_points a ON a.user_clerk_id = c.user_clerk_id
                      WHERE c.course_id = %(course)s AND a.points > m.points))::integer
    FROM me m
)
SELECT b.rank, b.user_clerk_id, b.points, b.achievements, b.user_clerk_id = %(viewer)s
FROM board b
ORDER BY b.points DESC, b.reached_at NULLS LAST, b.user_clerk_id
"""


def board(conn: Conn, viewer: str, course_id: UUID, top: int = 3) -> list[tuple[Any, ...]]:
    rows = Store.on(conn).achievements.leaderboard(viewer, course_id=course_id, top=top)
    return [(r.rank, r.user_clerk_id, r.points, r.achievements, r.is_me) for r in rows]


def old_board(conn: Conn, viewer: str, course_id: UUID, top: int = 3) -> list[tuple[Any, ...]]:
    return conn.execute(OLD_BOARD, {"viewer": viewer, "course": course_id, "top": top}).fetchall()


def same_boards(conn: Conn, *courses: UUID) -> None:
    """Every user's view of every course's board, top 1 and top 3, is what the old query gives."""
    users = [u for (u,) in conn.execute("SELECT clerk_id FROM users ORDER BY clerk_id").fetchall()]
    for course_id in courses:
        for viewer in users:
            for top in (1, 3):
                assert board(conn, viewer, course_id, top) == old_board(conn, viewer, course_id, top), (
                    viewer,
                    top,
                )


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


def new_course(conn: Conn, title: str) -> UUID:
    row = conn.execute(
        "INSERT INTO courses (title, status, published_at) VALUES (%s, 'published', now()) RETURNING id",
        [title],
    ).fetchone()
    assert row is not None
    course_id: UUID = row[0]
    return course_id


def drift(store: Store, name: str) -> int:
    (value,) = [v for v in store.check().values if v.name == name]
    return value.drifted


def test_the_course_board_follows_every_path_as_the_old_query_counts_it(db_conn: Conn) -> None:
    people(db_conn, "ada", "bo", "cy", "di", "ed", "fay", "gus")
    store = Store.on(db_conn)
    rule = {"kind": "goals_completed", "threshold": 99}
    small, big, none = (store.achievements.create(c, c, rule, points=p) for c, p in
                        (("small", 10), ("big", 30), ("none", 0)))  # fmt: skip
    grammar, verbs = new_course(db_conn, "Grammar"), new_course(db_conn, "Verbs")
    for learner in ("ada", "bo", "cy", "di", "ed"):
        store.progress.enrol(learner, grammar)
    store.progress.enrol("ada", verbs)
    award(db_conn, "ada", small.id)
    award(db_conn, "ada", big.id)
    award(db_conn, "bo", small.id)
    award(db_conn, "cy", small.id)
    award(db_conn, "di", none.id)  # 0 points: on the board after those with points, before ed
    award(db_conn, "fay", big.id)  # not enrolled: on no course board
    same_boards(db_conn, grammar, verbs)
    assert board(db_conn, "ed", grammar) == [
        (1, "ada", 40, 2, False), (2, "bo", 10, 1, False), (2, "cy", 10, 1, False), (4, "ed", 0, 0, True),
    ]  # fmt: skip

    store.progress.enrol("fay", grammar)  # an enrolment copies the points the learner has
    award(db_conn, "cy", big.id)  # cy moves from 10 to 40
    db_conn.execute("DELETE FROM user_achievements WHERE user_clerk_id = 'bo'")  # a revocation
    same_boards(db_conn, grammar, verbs)
    store.achievements.update(big.id, title="big", points=5)  # every holder moves
    store.progress.unenrol("cy", grammar)
    same_boards(db_conn, grammar, verbs)
    store.imports.import_enrolments(
        [EnrolmentRecord(user_clerk_id=u, course_id=verbs) for u in ("bo", "fay", "gus")]
    )
    db_conn.execute("UPDATE user_courses SET course_id = %s WHERE user_clerk_id = 'di' AND course_id = %s",
                    [verbs, grammar])  # fmt: skip
    same_boards(db_conn, grammar, verbs)
    store.users.erase("ada")
    db_conn.execute("UPDATE users SET clerk_id = 'fay2' WHERE clerk_id = 'fay'")  # a new identity
    same_boards(db_conn, grammar, verbs)
    store.achievements.delete(small.id)  # its holders lose its points
    same_boards(db_conn, grammar, verbs)
    assert drift(store, "course_points") == drift(store, "course_points_histogram") == 0
    db_conn.execute("DELETE FROM courses WHERE id = %s", [verbs])  # its rows go with it
    assert scalar_of(db_conn, "SELECT count(*) FROM course_points_histogram WHERE course_id = %s", verbs) == 0
    assert store.check().drift == 0


def test_check_finds_and_repairs_drifted_course_points_and_histogram(db_conn: Conn) -> None:
    people(db_conn, "ada", "bo", "cy")
    store = Store.on(db_conn)
    badge = store.achievements.create("b", "B", {"kind": "goals_completed", "threshold": 9}, points=10)
    grammar = new_course(db_conn, "Grammar")
    for learner in ("ada", "bo", "cy"):
        store.progress.enrol(learner, grammar)
        award(db_conn, learner, badge.id)
    # the copies broken by hand, without their triggers (as a bad restore would)
    db_conn.execute("SET session_replication_role = replica")
    db_conn.execute("UPDATE course_points SET points = 70 WHERE user_clerk_id = 'ada'")
    db_conn.execute("DELETE FROM course_points WHERE user_clerk_id = 'bo'")
    db_conn.execute("UPDATE course_points_histogram SET learners = learners + 5 WHERE points = 10")
    db_conn.execute("SET session_replication_role = DEFAULT")
    report = store.check()
    found = {v.name: v for v in report.values}
    assert found["course_points"].drifted == 2
    assert {e["key"] for e in found["course_points"].examples} == {"ada", "bo"}
    assert found["course_points_histogram"].drifted == 1
    (example,) = found["course_points_histogram"].examples
    assert (example["key"], example["stored"], example["expected"]) == (str(grammar), "10: 8", "10: 1, 70: 1")
    assert board(db_conn, "ada", grammar)[0][1:3] == ("ada", 70)  # the board reads the broken copy
    assert store.check(repair=True).drift == 0
    same_boards(db_conn, grammar)


def test_nobody_writes_the_course_board_under_as_user(db_conn: Conn) -> None:
    people(db_conn, "ada", "bo")
    store = Store.on(db_conn)
    grammar = new_course(db_conn, "Grammar")
    badge = store.achievements.create("b", "B", {"kind": "goals_completed", "threshold": 9}, points=10)
    store.as_user("ada").progress.enrol("ada", grammar)  # copies through the SECURITY DEFINER trigger
    award(db_conn, "ada", badge.id)
    store.as_user("bo").progress.enrol("bo", grammar)
    for statement in (
        "UPDATE course_points SET points = 1000",
        "DELETE FROM course_points",
        f"INSERT INTO course_points (course_id, user_clerk_id, points) VALUES ('{grammar}', 'bo', 5)",
        "UPDATE course_points_histogram SET learners = 1000",
        "DELETE FROM course_points_histogram",
        f"INSERT INTO course_points_histogram (course_id, points, shard) VALUES ('{grammar}', 5, 0)",
        "SELECT course_points_resync(ARRAY['bo'])",
        f"SELECT course_points_histogram_reset(ARRAY['{grammar}'::uuid])",
        "SELECT course_points_lock(ARRAY['bo'], true)",
    ):
        with db_conn.transaction(force_rollback=True):
            db_conn.execute("SELECT set_config('learnstore.clerk_id', 'bo', true)")
            db_conn.execute("SET LOCAL ROLE learnstore_app")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db_conn.execute(statement.encode())
    # ... and anyone reads the board
    rows = store.as_user("bo").achievements.leaderboard("bo", course_id=grammar)
    assert [(r.user_clerk_id, r.rank) for r in rows] == [("ada", 1), ("bo", 2)]
    assert store.check().drift == 0


def test_a_prepared_course_board_keeps_its_generic_plan_instead_of_planning_every_call(db_conn: Conn) -> None:
    # The leaderboard is cheap to run and dear to plan: once psycopg prepares it, PostgreSQL must
    # find the generic plan no costlier than the custom ones and keep it, which a top_n known to
    # the custom plans only (LIMIT 10 against LIMIT $n) prevented.
    db_conn.execute("INSERT INTO users (clerk_id) SELECT 'u' || g FROM generate_series(1, 2000) g")
    grammar = new_course(db_conn, "Grammar")
    db_conn.execute(
        "INSERT INTO user_courses (user_clerk_id, course_id) SELECT clerk_id, %s FROM users", [grammar]
    )
    db_conn.execute(
        "INSERT INTO user_points (user_clerk_id, points, achievements, reached_at)"
        " SELECT clerk_id, 10 * (length(clerk_id) % 5), 1, now() FROM users WHERE clerk_id LIKE '%7%'"
    )
    for table in ("users", "user_courses", "user_points", "course_points", "course_points_histogram"):
        db_conn.execute(f"ANALYZE {table}".encode())
    store = Store.on(db_conn)
    for _ in range(12):
        assert len(store.achievements.leaderboard("u1", course_id=grammar, top=10)) == 11
        assert len(store.achievements.leaderboard("u1", top=10)) == 11
    plans = db_conn.execute(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%WITH top AS%'"
    ).fetchall()
    # the overall board and a course's, a statement each
    assert len(plans) == 2 and all(generic > 0 for generic, _ in plans), plans


def test_sixteen_writers_earning_and_enrolling_leave_exact_course_boards(fresh_db: str) -> None:
    learners = [f"w{i}" for i in range(WRITERS // 2)]
    sql(fresh_db, "INSERT INTO users (clerk_id) SELECT unnest(%s::text[])", [learners])
    grammar, lessons = make_course(fresh_db, lessons=2)
    verbs, _ = make_course(fresh_db)
    spanish, _ = make_course(fresh_db)
    with learnstore.connect(fresh_db, max_size=1) as store:
        # each completed lesson earns 10 points, the second 30 more: learners move between values
        store.achievements.create("one", "One", {"kind": "lessons_completed", "threshold": 1}, points=10)
        store.achievements.create("two", "Two", {"kind": "lessons_completed", "threshold": 2}, points=30)
        for learner in learners:
            store.progress.enrol(learner, grammar)
            store.progress.enrol(learner, spanish)
        for learner in learners[::3]:  # some have a lesson and 10 points already
            store.progress.set_lesson_status(learner, lessons[1], "completed")

    def write(store: Store, i: int) -> None:
        # two writers per learner at the same moment: one earns points (moving between values on
        # every board of theirs), the other enrols them in a course or takes them out of one
        learner = f"w{i // 2}"
        if i % 2 == 0:
            store.progress.set_lesson_status(learner, lessons[0], "completed")
        elif i % 4 == 1:
            store.progress.enrol(learner, verbs)
        else:
            store.progress.unenrol(learner, spanish)

    race_threads(fresh_db, write, seed=32)
    with psycopg.connect(fresh_db) as conn:
        assert (
            scalar_of(conn, "SELECT count(*) FROM course_points WHERE course_id = %s", verbs) == WRITERS // 4
        )
        same_boards(conn, grammar, verbs, spanish)
        with learnstore.connect(fresh_db, max_size=1) as store:
            assert store.check().drift == 0


def test_migration_0032_copies_what_is_already_there(fresh_db: str) -> None:
    migrate.rollback(fresh_db, to="0030_review_upvotes_backfill")
    sql(fresh_db, "INSERT INTO users (clerk_id) SELECT 'u' || g FROM generate_series(1, 40) g")
    grammar, _ = make_course(fresh_db)
    with learnstore.connect(fresh_db, max_size=1) as store:
        badge = store.achievements.create("b", "B", {"kind": "goals_completed", "threshold": 99}, points=10)
        for g in range(1, 41):
            store.progress.enrol(f"u{g}", grammar)
        sql(fresh_db, "INSERT INTO user_achievements (user_clerk_id, achievement_id, progress, earned_at)"
            " SELECT clerk_id, %s, 1, now() FROM users WHERE clerk_id LIKE '%%3%%'", [badge.id])  # fmt: skip
    migrate.upgrade(fresh_db)
    assert scalar(fresh_db, "SELECT count(*) FROM course_points") == 13  # u3, u13, u23, u30-u39
    with psycopg.connect(fresh_db) as conn:
        same_boards(conn, grammar)
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0


def scalar_of(conn: Conn, query: str, *params: Any) -> Any:
    row = conn.execute(query.encode(), list(params)).fetchone()
    assert row is not None
    return row[0]
