"""An instructor's roster by name since migration 0040: a page walks course_roster_names (each
enrolled learner's name key, copied from users) from its keyset. The copies are kept by triggers on
every path (enrolments one by one and imported, renames by profile and by webhook, a clerk_id
renamed, unenrolments, erasures, a course deleted), exact under 16 racing writers, checked and
repaired by `store.check()`, written and read by nobody under `as_user`. The oracle is the order
the roster had before: every learner named from users and sorted."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql as pgsql
from test_races import WRITERS, make_course, race_threads, scalar, sql

import learnstore
from learnstore import Store, migrate
from learnstore.queries._runtime import sync_queries
from learnstore.repositories.imports import EnrolmentRecord

Conn = psycopg.Connection[Any]

#: The roster by name before 0040: every learner of the course named and sorted.
OLD_ORDER = """
SELECT uc.user_clerk_id FROM user_courses uc JOIN users u ON u.clerk_id = uc.user_clerk_id
WHERE uc.course_id = %s
ORDER BY lower(coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), u.clerk_id)),
         uc.user_clerk_id"""


def by_name(store: Store, course_id: UUID, viewer: str = "author", limit: int = 2) -> list[str]:
    """Every learner of the course, walked page by page in the roster's order by name."""
    seen: list[str] = []
    after = None
    while True:
        page = store.pages.roster(course_id, viewer=viewer, order="name", limit=limit, after=after)
        seen += [entry.clerk_id for entry in page.items]
        after = page.next_after
        if after is None:
            return seen


def old_order(conn: Conn, course_id: UUID) -> list[str]:
    return [row[0] for row in conn.execute(OLD_ORDER, [course_id]).fetchall()]


def authored_course(dsn: str) -> UUID:
    course_id, _ = make_course(dsn)
    sql(dsn, "INSERT INTO users (clerk_id, first_name) VALUES ('author', 'Au') ON CONFLICT DO NOTHING")
    sql(dsn, "UPDATE courses SET author_clerk_id = 'author' WHERE id = %s", [course_id])
    return course_id


def test_the_roster_by_name_follows_every_path_as_the_old_order_has_it(fresh_db: str) -> None:
    sql(
        fresh_db,
        "INSERT INTO users (clerk_id, first_name, last_name) VALUES ('c1', 'Caio', 'Lima'),"
        " ('c2', 'ana', NULL), ('c3', NULL, NULL), ('c4', 'Zoe', 'Abel'), ('c5', '  ', ' ')",
    )
    grammar = authored_course(fresh_db)
    other = authored_course(fresh_db)
    with (
        learnstore.connect(fresh_db, max_size=1) as store,
        psycopg.connect(fresh_db, autocommit=True) as conn,
    ):

        def same(*courses: UUID) -> None:
            for course in courses or (grammar, other):
                assert by_name(store, course) == old_order(conn, course)
            report = store.check()
            assert report.drift == 0, report.summary()

        for learner in ("c1", "c2", "c3"):
            store.progress.enrol(learner, grammar)
        store.imports.import_enrolments([EnrolmentRecord("c4", grammar), EnrolmentRecord("c5", grammar)])
        # ana, c3 (no name), c5 (a blank one), caio lima, zoe abel
        assert by_name(store, grammar) == ["c2", "c3", "c5", "c1", "c4"]
        same()
        store.progress.enrol("c1", other)
        store.users.update_profile("c1", first_name="Aaron")  # moves first, in both courses
        assert by_name(store, grammar)[0] == "c1"
        same()
        store.users.update_profile("c3", avatar_url="https://img.example.com/c3.png")  # no name: no write
        assert (
            scalar(fresh_db, "SELECT count(*) FROM course_roster_names WHERE updated_at <> created_at") == 2
        )
        store.users.apply_clerk_event(
            {
                "type": "user.updated",
                "data": {"id": "c4", "first_name": "Abe", "last_name": None, "updated_at": 1_900_000_000_000},
            }
        )
        same()
        sql(fresh_db, "UPDATE users SET clerk_id = 'b3' WHERE clerk_id = 'c3'")  # the key is the clerk id
        assert "b3" in by_name(store, grammar)
        same()
        store.progress.unenrol("c2", grammar)
        sql(fresh_db, "DELETE FROM users WHERE clerk_id = 'c5'")
        same()
        sql(fresh_db, "DELETE FROM courses WHERE id = %s", [other])
        assert scalar(fresh_db, "SELECT count(*) FROM course_roster_names WHERE course_id = %s", [other]) == 0
        same(grammar)


def test_nobody_reads_or_writes_the_names_under_as_user(db_conn: Conn) -> None:
    db_conn.execute("INSERT INTO users (clerk_id, first_name) VALUES ('author', 'Au'), ('bo', 'Bo')")
    course = scalar_of(
        db_conn,
        "INSERT INTO courses (title, status, published_at, author_clerk_id)"
        " VALUES ('C', 'published', now(), 'author') RETURNING id",
    )
    store = Store.on(db_conn)
    store.as_user("bo").progress.enrol("bo", course)  # copies through the SECURITY DEFINER trigger
    store.as_user("bo").users.update_profile("bo", first_name="Bob")  # and a rename
    assert scalar_of(db_conn, "SELECT name_key FROM course_roster_names") == "bob"
    for statement in (
        "UPDATE course_roster_names SET name_key = 'a'",
        "DELETE FROM course_roster_names",
        f"INSERT INTO course_roster_names (course_id, user_clerk_id, name_key) VALUES ('{course}', 'bo', '')",
        "SELECT course_roster_names_resync(ARRAY['bo'])",
        "SELECT course_roster_names_lock(ARRAY['bo'], true)",
        "SELECT * FROM course_roster_names",  # read only through course_roster_by_name
    ):
        with db_conn.transaction(force_rollback=True):
            db_conn.execute("SELECT set_config('learnstore.clerk_id', 'bo', true)")
            db_conn.execute("SET LOCAL ROLE learnstore_app")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db_conn.execute(statement.encode())
    # the course's author reads the roster by name through the view, as before
    assert [
        e.clerk_id for e in store.as_user("author").pages.roster(course, viewer="author", order="name").items
    ] == ["bo"]


def test_sixteen_writers_renaming_and_enrolling_leave_exact_names(fresh_db: str) -> None:
    learners = [f"w{i}" for i in range(WRITERS // 2)]
    sql(
        fresh_db,
        "INSERT INTO users (clerk_id, first_name) SELECT l, 'Name ' || l FROM unnest(%s::text[]) l",
        [learners],
    )
    grammar = authored_course(fresh_db)
    verbs = authored_course(fresh_db)
    with learnstore.connect(fresh_db, max_size=1) as store:
        for learner in learners:
            store.progress.enrol(learner, grammar)

    def write(store: Store, i: int) -> None:
        # two writers per learner at the same moment: one renames them, the other enrols them in a
        # course (or takes them out of one)
        learner = f"w{i // 2}"
        if i % 2 == 0:
            store.users.update_profile(learner, first_name=f"Renamed {15 - i // 2:02d}")
        elif i % 4 == 1:
            store.progress.enrol(learner, verbs)
        else:
            store.progress.unenrol(learner, grammar)

    race_threads(fresh_db, write, seed=40)
    with learnstore.connect(fresh_db, max_size=1) as store, psycopg.connect(fresh_db) as conn:
        assert (
            scalar(fresh_db, "SELECT count(*) FROM course_roster_names WHERE course_id = %s", [verbs])
            == WRITERS // 4
        )
        for course in (grammar, verbs):
            assert by_name(store, course, limit=3) == old_order(conn, course)
        assert store.check().drift == 0


def test_a_page_by_name_walks_the_index_from_its_keyset(db_conn: Conn) -> None:
    """With custom plans and with the generic one: an index scan of the names from the keyset that
    stops after the page, no sort of the course's learners (a sort of all 8,296 of the large scale's
    flagship was 23 ms a page before 0040)."""
    course = scalar_of(
        db_conn, "INSERT INTO courses (title, author_clerk_id) VALUES ('C', NULL) RETURNING id"
    )
    db_conn.execute(
        "INSERT INTO users (clerk_id, first_name) SELECT 'u' || g, 'Name ' || (g * 7919 % 3000)"
        " FROM generate_series(1, 3000) g"
    )
    db_conn.execute(
        "INSERT INTO user_courses (user_clerk_id, course_id) SELECT clerk_id, %s FROM users", [course]
    )
    for table in ("users", "user_courses", "course_roster_names"):
        db_conn.execute(f"ANALYZE {table}".encode())
    text = sync_queries().get_course_roster_by_name.sql
    values = {
        "course_id": course,
        "viewer": "nobody",
        "after_name": "name 1500",
        "after_clerk_id": "u1",
        "page_size": 51,
    }
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    statement = re.sub(r"%\((\w+)\)s", placeholder, text).replace("%%", "%")
    for mode in ("force_custom_plan", "force_generic_plan"):
        with db_conn.transaction(force_rollback=True):
            db_conn.execute(pgsql.SQL("SET LOCAL plan_cache_mode = {}").format(pgsql.Literal(mode)))
            db_conn.execute(f"PREPARE roster_by_name AS {statement}".encode())
            args = pgsql.SQL(", ").join(pgsql.Literal(values[n]) for n in names)
            plan = "\n".join(
                row[0]
                for row in db_conn.execute(pgsql.SQL("EXPLAIN EXECUTE roster_by_name ({})").format(args))
            )
            db_conn.execute("DEALLOCATE roster_by_name")
        assert re.search(r"Index (Only )?Scan using course_roster_names_course_name_idx", plan), (mode, plan)
        assert "Index Cond: ((course_id = " in plan and "ROW(name_key, user_clerk_id) > ROW(" in plan, plan
        assert not re.search(r"Sort Key: [^\n]*name_key", plan), (mode, plan)


def test_migration_0040_copies_what_is_already_there(fresh_db: str) -> None:
    migrate.rollback(fresh_db, to="0039_likes_by_user_newest_first")
    sql(
        fresh_db,
        "INSERT INTO users (clerk_id, first_name) SELECT 'u' || g, 'N' || (50 - g)"
        " FROM generate_series(1, 40) g",
    )
    grammar = authored_course(fresh_db)
    with learnstore.connect(fresh_db, max_size=1) as store:
        for g in range(1, 41):
            store.progress.enrol(f"u{g}", grammar)
    migrate.upgrade(fresh_db)
    assert scalar(fresh_db, "SELECT count(*) FROM course_roster_names") == 40
    with learnstore.connect(fresh_db, max_size=1) as store, psycopg.connect(fresh_db) as conn:
        assert by_name(store, grammar, limit=7) == old_order(conn, grammar)
        assert store.check().drift == 0


def scalar_of(conn: Conn, query: str, *params: Any) -> Any:
    row = conn.execute(query.encode(), list(params)).fetchone()
    assert row is not None
    return row[0]
