"""Row-level security: every user-keyed table is classified from the catalog, every policy holds row
by row, and `as_user` runs the store's operations as one user, on a pool and on a caller's connection."""

from __future__ import annotations

import asyncio
import threading
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from test_content import round_trips
from test_schema import rows, scalar

import learnstore
from learnstore import AsyncStore, Store, migrate
from learnstore.cli import main
from learnstore.errors import InvalidValue, NotFound, PermissionDenied
from learnstore.migrate import rollback, upgrade
from learnstore.pytest_plugin import create_database, drop_database, unique_name
from learnstore.security import (
    APP_ROLE,
    AUDIT_TABLES,
    MODERATION_TABLES,
    OWNED_TABLES,
    PRIVATE_TABLES,
    SHARED_TABLES,
    SITE_ROLES_TABLE,
)

Conn = psycopg.Connection[Any]

ME = "current_setting('learnstore.clerk_id'::text, true)"

# Every (table, column) whose column is a foreign key to users: the tables that hold a user's rows.
USER_KEYED = """
    SELECT k.conrelid::regclass::text, a.attname
    FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
    WHERE k.contype = 'f' AND k.confrelid = 'users'::regclass
      AND k.conparentid = 0  -- a partition's copy of its parent's foreign key is the parent's
    ORDER BY 1, 2
"""


def user_keyed(conn: Conn) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table, column in rows(conn, USER_KEYED):
        found.setdefault(table, set()).add(column)
    return found


# ---- the catalog ---------------------------------------------------------------------------------


def test_every_table_with_a_user_foreign_key_is_private_owned_or_shared(db_conn: Conn) -> None:
    # A table that another branch adds with a user FK fails here until it is put in one of the
    # lists of learnstore.security (and, if private or owned, given its policies in a migration).
    keyed = user_keyed(db_conn)
    classified = {
        *PRIVATE_TABLES, *OWNED_TABLES, *SHARED_TABLES, SITE_ROLES_TABLE, *MODERATION_TABLES, *AUDIT_TABLES
    } - {"users"}  # fmt: skip
    assert set(keyed) - classified == set(), "a user-keyed table in none of learnstore.security's lists"
    assert classified - set(keyed) == set(), "learnstore.security lists a table without a user FK"
    assert not (PRIVATE_TABLES.keys() & OWNED_TABLES.keys() | PRIVATE_TABLES.keys() & SHARED_TABLES.keys())
    assert not OWNED_TABLES.keys() & SHARED_TABLES.keys()
    for table, column in {**PRIVATE_TABLES, **OWNED_TABLES}.items():
        if table != "users":
            assert column in keyed[table], (table, column)


def test_every_policy_reads_the_identity_once_per_statement_and_is_named_for_who_and_what(
    db_conn: Conn,
) -> None:
    # `(select learnstore_actor())` is an InitPlan: evaluated once per statement. A bare call, or
    # current_setting() in the expression, would be evaluated once per row.
    found = rows(
        db_conn,
        """
        SELECT p.polrelid::regclass::text, p.polname, p.polcmd::text, p.polpermissive,
               p.polroles::regrole[]::text[],
               concat_ws(' ', pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
        FROM pg_policy p
        """,
    )
    commands = {"r": "select", "a": "insert", "w": "update", "d": "delete"}
    assert len(found) > 100
    for table, name, command, permissive, roles, expression in found:
        assert permissive and roles == ["-"], f"{name}: every policy is permissive and for PUBLIC"
        assert command in commands, f"{name}: one policy per command, not FOR ALL"
        assert name.startswith(f"{table}_"), name
        assert name.endswith(f"_{commands[command]}") or name.endswith("_lock"), name
        assert "current_setting" not in expression, name
        assert expression.count("learnstore_actor()") == expression.count("SELECT learnstore_actor()"), name
        assert expression.count("learnstore_has_site_role(") == expression.count(
            "SELECT learnstore_has_site_role("
        ), name

    # Policies on, but not forced: the owner (migrations, the service path) is not subject to them.
    forced = rows(db_conn, "SELECT c.relname FROM pg_class c WHERE c.relforcerowsecurity")
    assert forced == []


def test_the_app_role_is_a_nologin_role_granted_columns_not_tables(db_conn: Conn) -> None:
    assert rows(
        db_conn, "SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [APP_ROLE]
    ) == [(False, False, False)]
    # No blanket grant: INSERT and UPDATE are granted column by column (never id, created_at,
    # updated_at, nor the columns that say whose a row is, where a row is not to be given away), and
    # nothing beyond SELECT, INSERT, UPDATE, DELETE.
    whole = rows(
        db_conn,
        """
        SELECT c.relname, p.privilege FROM pg_class c
        CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(privilege)
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
          AND c.relname !~ '^(_yoyo_|yoyo_lock$)' AND has_table_privilege(%s, c.oid, p.privilege)
        """,
        [APP_ROLE],
    )
    assert whole == []
    never = rows(
        db_conn,
        """
        SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0
          AND a.attname IN ('id', 'created_at', 'updated_at') AND c.relname !~ '^(_yoyo_|yoyo_lock$)'
          AND has_column_privilege(%s, c.oid, a.attnum, 'UPDATE')
        """,
        [APP_ROLE],
    )
    assert never == []
    assert not scalar(db_conn, "SELECT has_table_privilege(%s, 'webhook_deliveries', 'SELECT')", [APP_ROLE])


# ---- as_user through the store ------------------------------------------------------------------


def seed(dsn: str) -> dict[str, Any]:
    """Two learners enrolled in one published course of an author's, each with a goal and a day."""
    with learnstore.connect(dsn) as store:
        for clerk_id in ("author", "ana", "ben"):
            store.users.apply_clerk_event({"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}})
        course = store.content.create_course("author", "Secured")
        unit = store.content.add_unit(course.id, "U")
        lessons = [
            store.content.add_lesson(unit.id, title, "text", {"body": title}) for title in ("one", "two")
        ]
        store.content.publish_course(course.id)
        goals = {}
        for clerk_id in ("ana", "ben"):
            store.progress.enrol(clerk_id, course.id)
            store.users.record_activity(clerk_id)
            goals[clerk_id] = store.users.create_goal(clerk_id, f"{clerk_id}'s goal").id
        return {
            "course": course.id,
            "unit": unit.id,
            "lessons": [lesson.id for lesson in lessons],
            "goals": goals,
        }


def counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {
            table: scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            for table in sorted({*PRIVATE_TABLES, *OWNED_TABLES})
        }


async def test_as_user_sees_and_changes_only_the_users_own_rows(fresh_db: str) -> None:
    made = seed(fresh_db)
    course, lessons = made["course"], made["lessons"]
    async with await learnstore.connect_async(fresh_db, max_size=2) as store:
        ana, ben = store.as_user("ana"), store.as_user("ben")
        # her own rows, as on the owner path
        done = await ana.progress.set_lesson_status("ana", lessons[0], "completed")
        assert done.progress == 50
        assert [goal.title for goal in await ana.users.list_active_goals("ana")] == ["ana's goal"]
        assert (await ana.users.get_streak("ana")).current_streak == 1
        assert (await ana.progress.get_enrolment("ana", course)).progress == 50
        # the other learner's rows do not exist for her
        assert await ana.users.list_active_goals("ben") == []
        assert await ana.progress.get_enrolment_or_none("ben", course) is None
        assert await ana.progress.list_courses("ben") == []
        assert await ana.users.count_unread("ben") == 0
        # shared rows (the course, its lessons, profiles) read as before
        assert (await ana.content.get_course(course)).title == "Secured"
        assert (await ana.users.get("ben")).clerk_id == "ben"

        before = counts(fresh_db)
        with pytest.raises(PermissionDenied, match="row-level security"):
            await ana.users.create_goal("ben", "a goal for ben")
        with pytest.raises(PermissionDenied, match="row-level security"):
            await ana.users.notify("ben", "system", "hello from ana")
        with pytest.raises(NotFound):  # his goal is not hers to see, let alone to complete
            await ana.users.complete_goal("ben", made["goals"]["ben"])
        assert await ana.users.delete_goal("ben", made["goals"]["ben"]) is False
        # (row counts are right as a user: her own goal's deletion counts, in a throwaway goal)
        spare = await ana.users.create_goal("ana", "spare")
        assert await ana.users.delete_goal("ana", spare.id) is True
        with pytest.raises(learnstore.LearnstoreError):  # his enrolment is invisible: "not enrolled"
            await ana.progress.set_lesson_status("ben", lessons[0], "completed")
        with pytest.raises(NotFound):  # his user row cannot be locked, so it is not there to change
            await ana.users.record_activity("ben")
        assert counts(fresh_db) == before

        # ben's view and the owner's view are untouched by all of it
        assert (await ben.progress.get_enrolment("ben", course)).progress == 0
        assert [goal.title for goal in await ben.users.list_active_goals("ben")] == ["ben's goal"]
        stats = await store.progress.get_course_stats(course)
        assert stats.enrolments == 2


async def test_a_forged_id_reads_nothing_through_the_store(fresh_db: str) -> None:
    made = seed(fresh_db)
    async with await learnstore.connect_async(fresh_db) as store:
        forged = store.as_user("forged_user")
        for clerk_id in ("ana", "ben"):
            assert await forged.users.list_active_goals(clerk_id) == []
            assert await forged.progress.list_courses(clerk_id) == []
            assert await forged.progress.get_enrolment_or_none(clerk_id, made["course"]) is None
            assert await forged.users.list_login_days(clerk_id, date(2000, 1, 1), date(2100, 1, 1)) == []
            assert await forged.users.list_notifications(clerk_id) == []
        with pytest.raises(InvalidValue, match="clerk_id"):
            store.as_user("")


async def test_a_unit_of_work_as_user_runs_whole_as_that_user_and_the_pool_forgets_it(fresh_db: str) -> None:
    made = seed(fresh_db)
    async with await learnstore.connect_async(fresh_db, min_size=1, max_size=1) as store:
        ana = store.as_user("ana")
        async with ana.transaction() as tx:
            await tx.progress.set_lesson_status("ana", made["lessons"][0], "completed")
            async with tx.transaction() as inner:  # a savepoint, still as ana
                assert await inner.users.list_active_goals("ben") == []
            with pytest.raises(PermissionDenied):
                await tx.users.create_goal("ben", "no")
            await tx.users.create_goal("ana", "still in the unit of work")  # the savepoint rolled back alone
        assert len(await ana.users.list_active_goals("ana")) == 2

        async def goal_for_each() -> None:
            async with ana.transaction() as tx:
                await tx.users.create_goal("ana", "rolled back with the rest")
                await tx.users.create_goal("ben", "no")

        with pytest.raises(PermissionDenied):
            await goal_for_each()
        assert len(await ana.users.list_active_goals("ana")) == 2

        # One pooled connection served all of that: the owner path on it is the owner again.
        assert len(await store.users.list_active_goals("ben")) == 1
        assert (await store.progress.get_course_stats(made["course"])).enrolments == 2
        async with store._pool.connection() as conn:  # type: ignore[union-attr]
            cur = await conn.execute("SELECT current_user, current_setting('learnstore.clerk_id', true)")
            assert await cur.fetchone() in {("postgres", ""), ("postgres", None)}


async def test_an_author_editing_as_user_keeps_every_learners_progress_right(fresh_db: str) -> None:
    made = seed(fresh_db)
    async with await learnstore.connect_async(fresh_db) as store:
        await store.as_user("ana").progress.set_lesson_status("ana", made["lessons"][0], "completed")
        await store.as_user("ben").progress.set_lesson_status("ben", made["lessons"][0], "completed")
        # The lesson trigger recomputes every enrolment of the course; it runs as the owner
        # (SECURITY DEFINER), so the author's RLS view does not leave the learners' progress stale.
        await store.as_user("author").content.add_lesson(made["unit"], "three", "text", {"body": "3"})
        for clerk_id in ("ana", "ben"):
            assert (await store.progress.get_enrolment(clerk_id, made["course"])).progress == 33


async def test_as_user_on_a_callers_connection_and_its_round_trips(fresh_db: str) -> None:
    seed(fresh_db)
    # No server-side preparation: it would add a Parse exchange to whichever call crosses psycopg's
    # prepare threshold, and the two paths are compared call for call.
    async with await psycopg.AsyncConnection.connect(
        fresh_db, autocommit=True, prepare_threshold=None
    ) as conn:
        owner = AsyncStore.on(conn)
        ana = owner.as_user("ana")
        await ana.users.list_active_goals("ana")  # the querier's SQL is loaded
        await owner.users.list_active_goals("ana")
        with round_trips(conn) as owner_trips:
            await owner.users.list_active_goals("ana")
        with round_trips(conn) as trips:
            assert len(await ana.users.list_active_goals("ana")) == 1
        # BEGIN and the settings in one round trip, the statement, COMMIT: two more than the owner.
        assert (len(owner_trips), len(trips)) == (1, 3)
        with round_trips(conn) as owner_trips:
            async with owner.transaction() as tx:
                await tx.users.list_active_goals("ana")
        with round_trips(conn) as trips:
            async with ana.transaction() as tx:
                await tx.users.list_active_goals("ana")
        # BEGIN and the settings share one round trip: a unit of work costs what the owner's does
        # (BEGIN, SAVEPOINT, the query, RELEASE, COMMIT).
        assert len(trips) == len(owner_trips) == 5

    # A caller's own (non-autocommit) connection: the operations run inside the caller's transaction.
    async with await psycopg.AsyncConnection.connect(fresh_db) as conn:
        ana = AsyncStore.on(conn).as_user("ana")
        assert await ana.users.list_active_goals("ben") == []
        async with ana.transaction() as tx:
            assert len(await tx.users.list_active_goals("ana")) == 1
        await conn.rollback()
        assert len(await AsyncStore.on(conn).users.list_active_goals("ben")) == 1


def test_the_sync_store_as_user(fresh_db: str) -> None:
    made = seed(fresh_db)
    with learnstore.connect(fresh_db, max_size=1) as store:
        ana = store.as_user("ana")
        assert ana.users.list_active_goals("ben") == []
        with pytest.raises(PermissionDenied, match="learning_goals"):
            ana.users.create_goal("ben", "no")
        assert ana.progress.set_lesson_status("ana", made["lessons"][1], "completed").progress == 50
        with ana.transaction() as tx:
            assert tx.users.list_active_goals("ben") == []
        assert len(store.users.list_active_goals("ben")) == 1
    with psycopg.connect(fresh_db) as conn:
        assert Store.on(conn).as_user("ben").progress.get_enrolment_or_none("ana", made["course"]) is None


# ---- learnstore roles ------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_roles_prints_sql_that_quotes_every_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "roles", "--login", "svc_app", "--login", 'we"ird; DROP TABLE users')
    assert code == 0
    assert f'CREATE ROLE "{APP_ROLE}" NOLOGIN;' in out
    assert out.endswith(
        f'GRANT "{APP_ROLE}" TO "svc_app";\nGRANT "{APP_ROLE}" TO "we""ird; DROP TABLE users";\n'
    )
    code, out, _ = run_cli(capsys, "roles", "--drop")
    assert (code, out) == (0, f'DROP OWNED BY "{APP_ROLE}";\nDROP ROLE IF EXISTS "{APP_ROLE}";\n')
    code, _, err = run_cli(capsys, "roles", "--drop", "--apply")
    assert code == 1 and "only prints" in err


def test_roles_apply_is_idempotent_and_grants_the_switch(
    learnstore_server_dsn: str, fresh_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    login = unique_name("svc")
    with psycopg.connect(learnstore_server_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)))
    try:
        for _ in range(2):
            code, out, _ = run_cli(capsys, "roles", "--dsn", fresh_db, "--login", login, "--apply")
            assert (code, out) == (0, f"role {APP_ROLE} is in place, granted to {login}\n")
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            assert scalar(conn, "SELECT pg_has_role(%s, %s, 'MEMBER')", [login, APP_ROLE])
            # The login role can now take on as_user's identity, and RLS applies to it there.
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(login)))
            conn.execute("SELECT set_config('role', %s, false)", [APP_ROLE])
            assert scalar(conn, "SELECT current_user") == APP_ROLE
        code, _, err = run_cli(capsys, "roles", "--dsn", fresh_db, "--login", "no_such_role_x", "--apply")
        assert code == 1 and 'role "no_such_role_x" does not exist' in err
    finally:
        with psycopg.connect(learnstore_server_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


# ---- hostile identities, concurrency, failures ---------------------------------------------------


@pytest.mark.parametrize("clerk_id", ["", "x" * 65, None, 42, b"ana", ["ana"]])
def test_as_user_refuses_what_is_not_a_clerk_id(fresh_db: str, clerk_id: Any) -> None:
    with learnstore.connect(fresh_db) as store, pytest.raises(InvalidValue, match="clerk_id"):
        store.as_user(clerk_id)


async def test_metacharacters_in_an_identity_are_only_an_id_that_owns_nothing(fresh_db: str) -> None:
    seed(fresh_db)
    async with await learnstore.connect_async(fresh_db) as store:
        for forged in ("ana' OR '1'='1", "ana'); RESET ROLE; --", "%", "ana\\", "ana\u202e", "*"):
            view = store.as_user(forged)
            assert await view.users.list_active_goals("ana") == []
            async with view.transaction() as tx:  # the simple-protocol path quotes it as a literal
                assert await tx.users.list_active_goals("ana") == []
        with pytest.raises(InvalidValue, match="NUL"):  # no text can hold it: refused up front
            store.as_user("ana\x00")
        assert len(await store.users.list_active_goals("ana")) == 1


async def test_concurrent_users_on_one_pool_never_see_each_others_rows(fresh_db: str) -> None:
    seed(fresh_db)
    async with await learnstore.connect_async(fresh_db, max_size=3) as store:

        async def goals_of(viewer: str, owner: str) -> tuple[str, str, int]:
            return viewer, owner, len(await store.as_user(viewer).users.list_active_goals(owner))

        calls = [
            goals_of(viewer, owner)
            for _ in range(15)
            for viewer in ("ana", "ben", "x")
            for owner in ("ana", "ben")
        ]
        for viewer, owner, seen in await asyncio.gather(*calls):
            assert seen == (1 if viewer == owner else 0), (viewer, owner)
        # interleaved with the owner path on the same three connections
        owner_calls = [store.users.list_active_goals(owner) for owner in ("ana", "ben") * 10]
        assert all(len(goals) == 1 for goals in await asyncio.gather(*owner_calls))


async def test_a_failed_operation_as_user_leaves_the_pooled_connection_clean(fresh_db: str) -> None:
    seed(fresh_db)
    async with await learnstore.connect_async(fresh_db, min_size=1, max_size=1) as store:
        ana = store.as_user("ana")
        for _ in range(3):
            with pytest.raises(PermissionDenied):
                await ana.users.create_goal("ben", "no")
            with pytest.raises(InvalidValue):  # fails on the server, inside the pipeline
                await ana.users.set_goal_progress(
                    "ana", (await ana.users.list_active_goals("ana"))[0].id, 101
                )
            assert len(await store.users.list_active_goals("ben")) == 1
        assert len(await ana.users.list_active_goals("ana")) == 1
        async with store._pool.connection() as conn:  # type: ignore[union-attr]
            cur = await conn.execute("SELECT current_user, current_setting('learnstore.clerk_id', true)")
            assert await cur.fetchone() in {("postgres", ""), ("postgres", None)}


async def test_a_user_erases_themselves_and_exports_only_their_own_rows(fresh_db: str) -> None:
    seed(fresh_db)
    async with await learnstore.connect_async(fresh_db) as store:
        exported = await store.as_user("ana").users.export("ana")
        assert [goal["title"] for goal in exported["learning_goals"]] == ["ana's goal"]
        assert await store.as_user("ana").users.export("ben") == await store.as_user("x").users.export("ben")
        assert await store.as_user("ana").users.erase("ben") is False
        assert await store.users.get_or_none("ben") is not None
        assert await store.as_user("ana").users.erase("ana") is True
        assert await store.users.get_or_none("ana") is None
        assert len(await store.users.list_active_goals("ben")) == 1


# ---- the migration: the role is the cluster's ------------------------------------------------------

MIGRATION = Path(__file__).resolve().parents[1] / "migrations" / "0009_row_level_security.sql"


def test_creating_the_role_concurrently_from_many_databases_is_not_an_error(
    learnstore_server_dsn: str,
) -> None:
    # The migration's first block, for a role of this test's own (the real one exists already).
    block = MIGRATION.read_text().split("DO $$", 2)[1].split("$$;", 1)[0]
    role = unique_name("role")
    statement = ("DO $$" + block + "$$;").replace("learnstore_app", role)
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def create() -> None:
        try:
            with psycopg.connect(learnstore_server_dsn, autocommit=True) as conn:
                barrier.wait()
                conn.execute(statement.encode())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        with psycopg.connect(learnstore_server_dsn) as conn:
            assert (
                scalar(conn, "SELECT count(*) FROM pg_roles WHERE rolname = %s AND NOT rolcanlogin", [role])
                == 1
            )
    finally:
        with psycopg.connect(learnstore_server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_rolling_back_0009_keeps_the_role_and_takes_its_rights_and_policies(
    learnstore_server_dsn: str,
) -> None:
    name = unique_name("rls")
    dsn = create_database(learnstore_server_dsn, name)
    try:
        upgrade(dsn)
        ids = [state.id for state in migrate.status(dsn)]
        before = ids[ids.index(MIGRATION.stem) - 1]
        assert MIGRATION.stem in rollback(dsn, to=before)
        with psycopg.connect(dsn) as conn:
            assert scalar(conn, "SELECT count(*) FROM pg_roles WHERE rolname = %s", [APP_ROLE]) == 1
            assert scalar(conn, "SELECT count(*) FROM pg_policy") == 0
            assert scalar(conn, "SELECT count(*) FROM pg_class WHERE relrowsecurity") == 0
            assert not scalar(conn, "SELECT has_table_privilege(%s, 'users', 'SELECT')", [APP_ROLE])
            assert not scalar(
                conn, "SELECT has_schema_privilege(%s, 'public', 'USAGE')", [APP_ROLE]
            ) or scalar(conn, "SELECT has_schema_privilege('public', 'public', 'USAGE')")
        assert MIGRATION.stem in upgrade(dsn)
        with psycopg.connect(dsn) as conn:
            assert scalar(
                conn, "SELECT has_column_privilege(%s, 'user_progress', 'status', 'UPDATE')", [APP_ROLE]
            )
    finally:
        drop_database(learnstore_server_dsn, name)


async def test_as_user_inside_the_owners_transaction_is_scoped_to_each_operation(fresh_db: str) -> None:
    made = seed(fresh_db)
    async with await learnstore.connect_async(fresh_db) as store:
        async with store.transaction() as tx:
            assert await tx.as_user("ana").users.list_active_goals("ben") == []
            assert len(await tx.users.list_active_goals("ben")) == 1  # the owner again, same transaction
            with pytest.raises(PermissionDenied):
                await tx.as_user("ana").users.create_goal("ben", "no")
            async with tx.as_user("ben").transaction() as as_ben:
                assert len(await as_ben.users.list_active_goals("ben")) == 1
                assert await as_ben.users.list_active_goals("ana") == []
                assert await as_ben.as_user("ana").users.list_active_goals("ben") == []  # nested switch
                assert await as_ben.users.list_active_goals("ana") == []  # back to ben
            await tx.users.create_goal("ben", "written by the service")  # the owner again
            await tx.progress.set_lesson_status("ben", made["lessons"][0], "completed")
        assert len(await store.users.list_active_goals("ben")) == 2

    # The same on a connection the caller owns, in the caller's own (non-autocommit) transaction.
    async with await psycopg.AsyncConnection.connect(fresh_db) as conn:
        owner = AsyncStore.on(conn)
        assert await owner.as_user("ana").users.list_active_goals("ben") == []
        assert len(await owner.users.list_active_goals("ben")) == 2
        async with owner.as_user("ana").transaction() as as_ana:
            assert await as_ana.users.list_active_goals("ben") == []
        assert len(await owner.users.list_active_goals("ben")) == 2
        cur = await conn.execute("SELECT current_user, current_setting('learnstore.clerk_id', true)")
        assert await cur.fetchone() == ("postgres", "")
        await conn.rollback()


async def test_analytics_across_learners_count_only_the_users_own_rows_as_user(fresh_db: str) -> None:
    # Documented (docs/security.md): aggregates over other learners belong on the service path.
    made = seed(fresh_db)
    async with await learnstore.connect_async(fresh_db) as store:
        assert (await store.progress.get_course_stats(made["course"])).enrolments == 2
        assert (await store.as_user("author").progress.get_course_stats(made["course"])).enrolments == 0
        assert (await store.as_user("ana").progress.get_course_stats(made["course"])).enrolments == 1
        # A repair recompute as a user runs as the owner and puts right every learner's enrolment.
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute("UPDATE user_courses SET progress = 77 WHERE user_clerk_id = 'ben'")
        assert await store.as_user("ana").progress.refresh_course(made["course"]) == 1
        assert (await store.progress.get_enrolment("ben", made["course"])).progress == 0


def test_a_non_superuser_owner_migrates_keeps_its_path_and_switches_to_the_app_role(
    learnstore_server_dsn: str,
) -> None:
    # The deployment most services have: the tables belong to an ordinary role with CREATEROLE
    # (a managed database's admin), not to a superuser, which would bypass RLS whatever the role.
    owner = unique_name("owner")
    name = unique_name("owned")
    with psycopg.connect(learnstore_server_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE").format(sql.Identifier(owner)))
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner))
        )
    dsn = make_conninfo(learnstore_server_dsn, dbname=name, user=owner)
    try:
        upgrade(dsn)
        with psycopg.connect(dsn) as conn:
            assert scalar(conn, "SELECT pg_has_role(current_user, %s, 'MEMBER')", [APP_ROLE])
            assert not scalar(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        seed(dsn)
        with learnstore.connect(dsn) as store:
            assert len(store.users.list_active_goals("ben")) == 1  # the owner's path, unchanged
            assert store.as_user("ana").users.list_active_goals("ben") == []
            with pytest.raises(PermissionDenied):
                store.as_user("ana").users.create_goal("ben", "no")
            assert len(store.as_user("ben").users.list_active_goals("ben")) == 1
    finally:
        drop_database(learnstore_server_dsn, name)
        with psycopg.connect(learnstore_server_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(owner)))
