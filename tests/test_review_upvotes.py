"""A review's upvotes, counted (feedback_upvote_counts, migration 0030): what the course page's top
reviews, a user's belongings and the review list read. The counts stay exact through every path that
writes upvotes and reviews, under 16 racing upvoters, are checked and repaired by `store.check()`, and
nobody writes them under as_user; the page shows what counting at read time showed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import pytest
from test_course_stats import scalar_of, setup
from test_races import WRITERS, race_threads, scalar

import learnstore
from learnstore import Store, migrate

Conn = psycopg.Connection[Any]

VIEWERS = (None, "mo", "l0", "l1", "stan")


def reviews(course_id: UUID, store: Store, learners: range) -> dict[str, UUID]:
    """Each learner enrols and reviews; their review ids by clerk id."""
    ids = {}
    for i in learners:
        store.progress.enrol(f"l{i}", course_id)
        ids[f"l{i}"] = store.reviews.review_course(course_id, f"l{i}", 1 + i % 5, comment=f"c{i}").id
    return ids


def counted_top(conn: Conn, course_id: UUID, viewer: str | None, n: int = 5) -> list[tuple[UUID, int]]:
    """The top reviews as the page ranked them before 0030: counted at read time, as `viewer` sees them."""
    staff = viewer == "mo"
    return [
        (r[0], r[1])
        for r in conn.execute(
            """SELECT f.id, (SELECT count(*) FROM feedback_upvotes v WHERE v.feedback_id = f.id) AS upvotes
               FROM course_feedback f
               WHERE f.course_id = %(c)s AND (f.hidden_at IS NULL OR %(staff)s OR f.user_clerk_id = %(v)s)
               ORDER BY upvotes DESC, f.created_at DESC, f.id LIMIT %(n)s""",
            {"c": course_id, "staff": staff, "v": viewer, "n": n},
        ).fetchall()
    ]


def assert_exact(store: Store, conn: Conn, course_id: UUID) -> None:
    for viewer in VIEWERS:
        scoped = store if viewer is None else store.as_user(viewer)
        for n in (1, 3, 5, 50):
            page = scoped.pages.course_page(course_id, viewer=viewer, top_reviews=n)
            shown = [(r.id, r.upvotes) for r in page.top_reviews]
            assert shown == counted_top(conn, course_id, viewer, n), (viewer, n)
    for listed in store.reviews.list_reviews(course_id, limit=100):
        assert listed.upvote_count == scalar_of(
            conn, "SELECT count(*) FROM feedback_upvotes WHERE feedback_id = %s", listed.id
        )
    for owner in ("l0", "l1", "l2"):
        if scalar_of(conn, "SELECT count(*) FROM users WHERE clerk_id = %s", owner):
            for owned in store.pages.belongings(owner).reviews:
                assert owned.upvotes == scalar_of(
                    conn, "SELECT count(*) FROM feedback_upvotes WHERE feedback_id = %s", owned.id
                )
    (value,) = [v for v in store.check().values if v.name == "feedback_upvote_counts"]
    assert value.drifted == 0, value.describe()


def upvotes_of(conn: Conn, feedback_id: UUID) -> Any:
    return scalar_of(conn, "SELECT upvotes FROM feedback_upvote_counts WHERE feedback_id = %s", feedback_id)


# ---- every write path --------------------------------------------------------------------------


def test_every_write_path_keeps_the_counts_exact(db_conn: Conn) -> None:
    course_id, _ = setup(db_conn, learners=10)
    store = Store.on(db_conn)
    ids = reviews(course_id, store, range(6))
    assert [upvotes_of(db_conn, ids[f"l{i}"]) for i in range(6)] == [0] * 6  # a row with each review
    assert_exact(store, db_conn, course_id)  # no upvotes: newest first, then by id
    for voter, review in (("l6", "l0"), ("l7", "l0"), ("l8", "l0"), ("l6", "l1"), ("l7", "l1"), ("l9", "l2")):
        assert store.reviews.upvote_review(ids[review], voter).changed
    assert not store.reviews.upvote_review(ids["l0"], "l6").changed  # again: idempotent
    assert store.reviews.upvote_review(ids["l0"], "l1").upvote_count == 4
    assert [upvotes_of(db_conn, ids[f"l{i}"]) for i in range(3)] == [4, 2, 1]
    assert_exact(store, db_conn, course_id)
    assert store.reviews.remove_upvote(ids["l0"], "l7").upvote_count == 3  # un-upvote
    store.reviews.review_course(course_id, "l1", 5, comment="edited")  # a re-review keeps its upvotes
    assert upvotes_of(db_conn, ids["l1"]) == 2
    assert_exact(store, db_conn, course_id)
    store.moderation.hide("mo", "Rude", feedback_id=ids["l0"])  # hidden: its author and mo still see it
    assert_exact(store, db_conn, course_id)
    store.users.erase("l6")  # GDPR: the upvoter's upvotes go (a cascade, one statement, two reviews)
    assert [upvotes_of(db_conn, ids[f"l{i}"]) for i in range(3)] == [2, 1, 1]
    store.users.erase("l1")  # the reviewer: the review stays, anonymous, with its upvotes
    assert upvotes_of(db_conn, ids["l1"]) == 1
    assert_exact(store, db_conn, course_id)
    store.reviews.delete_review(course_id, "l2")  # a review's deletion takes its row and upvotes
    assert (
        scalar_of(db_conn, "SELECT count(*) FROM feedback_upvote_counts WHERE feedback_id = %s", ids["l2"])
        == 0
    )
    assert_exact(store, db_conn, course_id)
    store.content.delete_course(course_id)  # the course's rows go with it
    assert (
        scalar_of(db_conn, "SELECT count(*) FROM feedback_upvote_counts WHERE course_id = %s", course_id) == 0
    )
    assert store.check().drift == 0


# ---- races, drift and repair, permissions ------------------------------------------------------


def test_sixteen_upvoters_racing_on_one_review_leave_the_exact_count(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        course_id, _ = setup(conn, learners=WRITERS + 4, lessons=1)
    with learnstore.connect(fresh_db, max_size=1) as store:
        ids = {}
        for i in range(WRITERS, WRITERS + 4):
            store.progress.enrol(f"l{i}", course_id)
            ids[f"l{i}"] = store.reviews.review_course(course_id, f"l{i}", 4).id
        hot, other = ids[f"l{WRITERS}"], ids[f"l{WRITERS + 1}"]
        for i in range(4):  # writers 0-3 start with an upvote of the hot review, to take back
            store.reviews.upvote_review(hot, f"l{i}")

    def write(store: Store, i: int) -> None:
        # One transaction per writer: everyone upvotes the hot review (0-3 take theirs back instead),
        # and half also upvote another, in the same transaction.
        me = f"l{i}"
        if i < 4:
            store.reviews.remove_upvote(hot, me)
        else:
            store.reviews.upvote_review(hot, me)
        if i % 2:
            store.reviews.upvote_review(other, me)

    race_threads(fresh_db, write, seed=7)
    assert (
        scalar(fresh_db, "SELECT upvotes FROM feedback_upvote_counts WHERE feedback_id = %s", [hot])
        == WRITERS - 4
    )
    assert (
        scalar(fresh_db, "SELECT upvotes FROM feedback_upvote_counts WHERE feedback_id = %s", [other])
        == WRITERS // 2
    )
    with learnstore.connect(fresh_db, max_size=1) as store, psycopg.connect(fresh_db) as conn:
        assert store.check().drift == 0
        assert_exact(store, conn, course_id)


def test_check_finds_broken_counts_and_repair_fixes_them(db_conn: Conn) -> None:
    course_id, _ = setup(db_conn, learners=8)
    store = Store.on(db_conn)
    ids = reviews(course_id, store, range(4))
    for voter in ("l4", "l5", "l6"):
        store.reviews.upvote_review(ids["l0"], voter)
    store.reviews.upvote_review(ids["l1"], "l4")
    db_conn.execute(
        "UPDATE feedback_upvote_counts SET upvotes = upvotes + 7 WHERE feedback_id = %s", [ids["l0"]]
    )
    db_conn.execute("DELETE FROM feedback_upvote_counts WHERE feedback_id = %s", [ids["l1"]])
    db_conn.execute(
        "UPDATE feedback_upvote_counts SET feedback_created_at = feedback_created_at - interval '1 day'"
        " WHERE feedback_id = %s",
        [ids["l2"]],
    )
    report = store.check()
    (value,) = [v for v in report.values if v.name == "feedback_upvote_counts"]
    assert value.drifted == 3
    assert {e["key"] for e in value.examples} == {str(ids["l0"]), str(ids["l1"]), str(ids["l2"])}
    assert any(e["stored"] == "no row" and e["expected"].startswith("1 upvotes") for e in value.examples)
    assert store.check(repair=True).drift == 0
    assert [upvotes_of(db_conn, ids[f"l{i}"]) for i in range(4)] == [3, 1, 0, 0]
    assert_exact(store, db_conn, course_id)


def test_nobody_writes_the_counts_under_as_user(db_conn: Conn) -> None:
    course_id, _ = setup(db_conn)
    store = Store.on(db_conn)
    ids = reviews(course_id, store, range(2))
    store.as_user("l1").reviews.upvote_review(ids["l0"], "l1")  # the upvoter's own write counts
    assert upvotes_of(db_conn, ids["l0"]) == 1
    for statement in (
        "UPDATE feedback_upvote_counts SET upvotes = 1000",
        "DELETE FROM feedback_upvote_counts",
        f"INSERT INTO feedback_upvote_counts (feedback_id, course_id, feedback_created_at, upvotes)"
        f" VALUES ('{ids['l1']}', '{course_id}', now(), 5) ON CONFLICT DO NOTHING",
        "SELECT feedback_upvote_counts_recount(array(SELECT id FROM course_feedback))",
    ):
        for actor in ("stan", "l0"):  # an unrelated user, and the review's own author
            with db_conn.transaction(force_rollback=True):
                db_conn.execute("SELECT set_config('learnstore.clerk_id', %s, true)", [actor])
                db_conn.execute("SET LOCAL ROLE learnstore_app")
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    db_conn.execute(statement.encode())
    # readable like the reviews
    with db_conn.transaction(force_rollback=True):
        db_conn.execute("SELECT set_config('learnstore.clerk_id', 'stan', true)")
        db_conn.execute("SET LOCAL ROLE learnstore_app")
        assert scalar_of(db_conn, "SELECT sum(upvotes) FROM feedback_upvote_counts") == 1
    assert store.as_user("stan").pages.course_page(course_id, viewer="stan").top_reviews[0].upvotes == 1


# ---- the migration's backfill ------------------------------------------------------------------


def test_migration_0030_counts_the_reviews_already_there(fresh_db: str) -> None:
    migrate.rollback(fresh_db, to="0028_course_stats_backfill")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        course_id, _ = setup(conn, learners=40)
        conn.execute(
            "INSERT INTO user_courses (user_clerk_id, course_id)"
            " SELECT 'l' || i, %s FROM generate_series(0, 39) i",
            [course_id],
        )
        conn.execute(
            "INSERT INTO course_feedback (course_id, user_clerk_id, rating, hidden_at, created_at)"
            " SELECT %s, 'l' || i, 1 + i %% 5, CASE WHEN i %% 7 = 0 THEN now() END,"
            "        now() - i * interval '1 hour'"
            " FROM generate_series(0, 19) i",
            [course_id],
        )
        conn.execute(
            "INSERT INTO feedback_upvotes (feedback_id, user_clerk_id)"
            " SELECT f.id, 'l' || j FROM course_feedback f, generate_series(20, 39) j"
            " WHERE j % (1 + right(f.user_clerk_id, -1)::integer) = 0"
        )
    migrate.upgrade(fresh_db)
    with learnstore.connect(fresh_db, max_size=1) as store, psycopg.connect(fresh_db) as conn:
        assert scalar_of(conn, "SELECT count(*) FROM feedback_upvote_counts") == 20
        assert scalar_of(conn, "SELECT sum(upvotes) FROM feedback_upvote_counts") == scalar_of(
            conn, "SELECT count(*) FROM feedback_upvotes"
        )
        assert_exact(store, conn, course_id)
