"""The audit trail on a real database: every content change recorded by trigger, read by the course's
team, reverted with a stale check, and nobody but the trigger writing it."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import errors

import learnstore
from learnstore import AsyncStore
from learnstore.errors import Conflict, InvalidValue, NotFound, PermissionDenied
from learnstore.queries.models import AuditLog
from learnstore.security import APP_ROLE

AConn = psycopg.AsyncConnection[Any]
TEXT = {"body": "Read me."}
AUDITED = ("courses", "units", "lessons", "quizzes", "media", "collaborators", "achievements")


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def make_users(store: AsyncStore, *clerk_ids: str) -> None:
    for clerk_id in clerk_ids:
        await store.users.apply_clerk_event(
            {"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}}
        )


async def entries(conn: AConn, row_id: UUID) -> list[tuple[Any, ...]]:
    cur = await conn.execute(
        "SELECT table_name, operation, course_id, before, after, actor_clerk_id, actor_role"
        " FROM audit_log WHERE row_id = %s ORDER BY change_number",
        [row_id],
    )
    return await cur.fetchall()


async def test_every_insert_update_and_delete_of_the_audited_tables_is_recorded(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await make_users(store, "ada", "bo")
    course = await store.content.create_course("ada", "SQL")
    unit = await store.content.add_unit(course.id, "Basics")
    lesson = await store.content.add_lesson(unit.id, "Select", "text", TEXT)
    media = await store.content.add_media(lesson.id, "image", "https://cdn.example.com/a.png")
    quiz = await store.content.add_quiz(lesson.id, "flashcard", "Q?", "A")
    seat = await store.collaboration.invite_collaborator(course.id, "ada", "bo")
    badge = await store.achievements.create("first", "First", {"kind": "lessons_completed", "threshold": 1})
    created = {
        course.id: "courses",
        unit.id: "units",
        lesson.id: "lessons",
        media.id: "media",
        quiz.id: "quizzes",
        seat.id: "collaborators",
        badge.id: "achievements",
    }
    assert sorted(created.values()) == sorted(AUDITED)
    for row_id, table in created.items():
        [(name, operation, course_id, before, after, actor, role)] = await entries(adb_conn, row_id)
        assert (name, operation, before, actor) == (table, "INSERT", None, None)
        assert after["id"] == str(row_id)
        assert course_id == (None if table == "achievements" else course.id)
        assert role == adb_conn.info.user  # the service path: the session user

    await store.content.update_course(course.id, title="SQL, the basics", learning_objectives=["join"])
    [_, change] = await entries(adb_conn, course.id)
    # only what changed (updated_at always does, and says nothing)
    assert change[:5] == (
        "courses",
        "UPDATE",
        course.id,
        {"title": "SQL", "learning_objectives": []},
        {"title": "SQL, the basics", "learning_objectives": ["join"]},
    )
    # an UPDATE that changes nothing records nothing
    await adb_conn.execute("UPDATE courses SET title = title WHERE id = %s", [course.id])
    assert len(await entries(adb_conn, course.id)) == 2

    await store.content.delete_unit(unit.id)
    for row_id in (unit.id, lesson.id, media.id, quiz.id):
        *_, (name, operation, course_id, before, after, _, _) = await entries(adb_conn, row_id)
        # the lesson, its media and quiz went by cascade, after their parents: the course is still known
        assert (operation, course_id, after) == ("DELETE", course.id, None), name
        assert before["id"] == str(row_id)


async def test_a_change_under_as_user_names_its_actor_and_erasing_the_actor_anonymises_it(
    fresh_db: str,
) -> None:
    async with await learnstore.connect_async(fresh_db) as store:
        await make_users(store, "ada")
        course = await store.content.create_course("ada", "SQL")
        await store.as_user("ada").content.update_course(course.id, title="Mine")
        [_, change] = await store.audit.history(course.id)
        assert (change.actor_clerk_id, change.operation) == (None, "INSERT")
        [renamed, _] = await store.audit.history(course.id)
        assert (renamed.actor_clerk_id, renamed.after) == ("ada", {"title": "Mine"})

        export = await store.users.export("ada")
        assert [entry["id"] for entry in export["audit_log"]] == [str(renamed.id)]

        assert await store.users.erase("ada") is True
        # the course lost its author (ON DELETE SET NULL): a change too, by nobody in particular
        [orphaned, after_erase, _] = await store.audit.history(course.id)
        # and no image names ada any more (the GDPR erase scrubs them)
        assert (orphaned.before, orphaned.after) == ({"author_clerk_id": None}, {"author_clerk_id": None})
        everything = await store.audit.history(course.id)
        # (the value 'ada', quoted: a random UUID's hex may hold the letters)
        assert "'ada'" not in str([(entry.before, entry.after) for entry in everything])
        assert after_erase.id == renamed.id and after_erase.actor_clerk_id is None
        assert after_erase.after == {"title": "Mine"}  # the change itself stays


async def test_history_pages_newest_first_with_a_keyset(store: AsyncStore) -> None:
    await make_users(store, "ada")
    course = await store.content.create_course("ada", "v0")
    for number in range(1, 8):
        await store.content.update_course(course.id, title=f"v{number}")
    other = await store.content.create_course("ada", "Other")
    await store.content.update_course(other.id, title="Other, renamed")

    pages, after = [], None
    while page := await store.audit.history(course.id, limit=3, after=after):
        pages.append([entry.after["title"] for entry in page if isinstance(entry.after, dict)])
        after = page[-1]
    assert pages == [["v7", "v6", "v5"], ["v4", "v3", "v2"], ["v1", "v0"]]
    with pytest.raises(InvalidValue, match="limit"):
        await store.audit.history(course.id, limit=0)
    with pytest.raises(InvalidValue, match="course_id"):
        await store.audit.history("not a uuid")  # type: ignore[arg-type]
    assert await store.audit.history(uuid4()) == []


async def test_revert_undoes_a_field_change_and_is_itself_recorded(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await make_users(store, "ada")
    course = await store.content.create_course("ada", "SQL", description="First")
    await store.content.update_course(course.id, title="Typo", description="Second")
    [change, _] = await store.audit.history(course.id)

    reverted = await store.audit.revert(change.id)
    assert (reverted.operation, reverted.before, reverted.after) == (
        "UPDATE",
        {"title": "Typo", "description": "Second"},
        {"title": "SQL", "description": "First"},
    )
    fresh = await store.content.get_course(course.id)
    assert (fresh.title, fresh.description) == ("SQL", "First")
    # reverting the same change again: its fields no longer hold what it wrote
    with pytest.raises(Conflict, match="stale") as stale:
        await store.audit.revert(change.id)
    assert stale.value.field == "change_id"
    # the revert can be reverted: it is a change like any other
    await store.audit.revert(reverted.id)
    assert (await store.content.get_course(course.id)).title == "Typo"


async def test_a_revert_is_refused_when_stale_gone_not_an_update_or_unknown(store: AsyncStore) -> None:
    await make_users(store, "ada")
    course = await store.content.create_course("ada", "SQL")
    unit = await store.content.add_unit(course.id, "Basics")
    await store.content.update_unit(unit.id, title="Basics 2")
    await store.content.update_unit(unit.id, description="Later")  # another field: not stale
    await store.content.update_course(course.id, title="One")
    await store.content.update_course(course.id, title="Two")
    history = await store.audit.history(course.id)
    by_kind = {(entry.table_name, entry.operation, str(entry.after)): entry for entry in history}
    title_one = by_kind[("courses", "UPDATE", "{'title': 'One'}")]
    unit_title = by_kind[("units", "UPDATE", "{'title': 'Basics 2'}")]
    insert = by_kind[("courses", "INSERT", str(history[-1].after))]

    with pytest.raises(Conflict, match="stale"):  # the title changed again since
        await store.audit.revert(title_one.id)
    assert (await store.content.get_course(course.id)).title == "Two"
    with pytest.raises(InvalidValue, match="INSERT"):
        await store.audit.revert(insert.id)
    with pytest.raises(NotFound):
        await store.audit.revert(uuid4())
    with pytest.raises(InvalidValue, match="change_id"):
        await store.audit.revert("nope")  # type: ignore[arg-type]

    await store.audit.revert(unit_title.id)  # its field still holds what it wrote
    assert (await store.content.get_unit(unit.id)).title == "Basics"
    await store.content.update_unit(unit.id, title="Again")
    [again] = [entry for entry in await store.audit.history(course.id, limit=1)]
    await store.content.delete_unit(unit.id)
    with pytest.raises(Conflict, match="gone"):
        await store.audit.revert(again.id)


async def test_acting_clerk_id_may_revert_only_as_the_author_or_an_accepted_editor(store: AsyncStore) -> None:
    await make_users(store, "ada", "bo", "eve")
    course = await store.content.create_course("ada", "SQL")
    await store.content.update_course(course.id, title="Changed")
    [change, _] = await store.audit.history(course.id)
    with pytest.raises(PermissionDenied):
        await store.audit.revert(change.id, acting_clerk_id="eve")
    assert (await store.content.get_course(course.id)).title == "Changed"
    await store.collaboration.invite_collaborator(course.id, "ada", "bo")
    with pytest.raises(PermissionDenied):  # invited, not yet accepted
        await store.audit.revert(change.id, acting_clerk_id="bo")
    await store.collaboration.respond_to_invitation(course.id, "bo", accept=True)
    await store.audit.revert(change.id, acting_clerk_id="bo")
    assert (await store.content.get_course(course.id)).title == "SQL"

    badge = await store.achievements.create("first", "First", {"kind": "lessons_completed", "threshold": 1})
    await store.achievements.update(badge.id, title="Renamed")
    [badge_change] = [e for e in await _entries_of(store, badge.id) if e.operation == "UPDATE"]
    with pytest.raises(PermissionDenied, match="no course"):
        await store.audit.revert(badge_change.id, acting_clerk_id="ada")
    await store.audit.revert(badge_change.id)  # the service path may
    assert (await store.achievements.get(badge.id)).title == "First"


async def _entries_of(store: AsyncStore, row_id: UUID) -> list[AuditLog]:
    """A row's entries, through the repository's get (the log has no list for rows outside courses)."""
    async with store.transaction() as tx:
        conn = tx._db._conn  # the caller's connection the test owns
        assert conn is not None
        cur = await conn.execute(
            "SELECT id FROM audit_log WHERE row_id = %s ORDER BY change_number", [row_id]
        )
        ids = [row[0] for row in await cur.fetchall()]
    return [await store.audit.get(change_id) for change_id in ids]


async def test_under_as_user_only_the_course_team_reads_or_reverts_its_history(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db) as store:
        await make_users(store, "ada", "bo", "cy", "eve")
        course = await store.content.create_course("ada", "SQL")
        await store.content.update_course(course.id, title="Changed")
        await store.collaboration.invite_collaborator(course.id, "ada", "bo", "reviewer")
        await store.collaboration.respond_to_invitation(course.id, "bo", accept=True)
        await store.collaboration.invite_collaborator(course.id, "ada", "cy")  # pending
        history = await store.audit.history(course.id)
        change = next(e for e in history if (e.table_name, e.operation) == ("courses", "UPDATE"))

        assert len(await store.as_user("ada").audit.history(course.id)) == len(history)
        assert len(await store.as_user("bo").audit.history(course.id)) == len(history)
        assert await store.as_user("cy").audit.history(course.id) == []
        assert await store.as_user("eve").audit.history(course.id) == []
        for stranger in ("eve", "cy"):
            # PostgreSQL's policy hides the entry: nothing to revert, nothing changed
            with pytest.raises(NotFound):
                await store.as_user(stranger).audit.revert(change.id)
            with pytest.raises(NotFound):
                await store.as_user(stranger).audit.get(change.id)
        assert (await store.content.get_course(course.id)).title == "Changed"
        await store.as_user("ada").audit.revert(change.id)
        assert (await store.content.get_course(course.id)).title == "SQL"


async def test_nobody_but_the_trigger_writes_the_log(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db) as store:
        await make_users(store, "ada")
        course = await store.content.create_course("ada", "SQL")
        [entry] = await store.audit.history(course.id)
    async with await psycopg.AsyncConnection.connect(fresh_db) as conn:
        attempts = {
            "insert": "INSERT INTO audit_log (table_name, operation, row_id, course_id, after)"
            " VALUES ('courses', 'INSERT', gen_random_uuid(), %(course)s, '{}')",
            "update": "UPDATE audit_log SET after = '{}' WHERE id = %(entry)s",
            "delete": "DELETE FROM audit_log WHERE id = %(entry)s",
            "truncate": "TRUNCATE audit_log",
            "trigger function": "SELECT audit_record_changes()",
            "course lookup": "SELECT audit_course_of('courses', '{}')",
        }
        for name, statement in attempts.items():
            async with conn.transaction(force_rollback=True):
                await conn.execute(
                    "SELECT set_config('role', %s, true), set_config('learnstore.clerk_id', 'ada', true)",
                    [APP_ROLE],
                )
                with pytest.raises(errors.InsufficientPrivilege):
                    async with conn.transaction():
                        await conn.execute(statement, {"course": course.id, "entry": entry.id})
                assert name
        cur = await conn.execute(
            """
            SELECT p.proname, p.prosecdef, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE')
            FROM pg_proc p
            WHERE p.proname IN ('audit_record_changes', 'record_erased_user', 'identity_erased',
                                'audit_forget')
            ORDER BY 1
            """
        )
        for name, definer, config, public in await cur.fetchall():
            assert definer and config == ["search_path=public, pg_temp"] and not public, name
        cur = await conn.execute("SELECT count(*), min(after ->> 'title') FROM audit_log")
        assert await cur.fetchone() == (1, "SQL")


async def test_sixteen_concurrent_reverts_of_one_change_revert_it_once(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        await make_users(store, "ada")
        course = await store.content.create_course("ada", "SQL")
        await store.content.update_course(course.id, title="Changed")
        [change, _] = await store.audit.history(course.id)
        outcomes = await asyncio.gather(
            *(store.audit.revert(change.id) for _ in range(16)), return_exceptions=True
        )
        done = [outcome for outcome in outcomes if isinstance(outcome, AuditLog)]
        stale = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
        assert (len(done), len(stale)) == (1, 15), outcomes
        assert (await store.content.get_course(course.id)).title == "SQL"
        # one revert entry, on top of the insert and the change
        assert next(entry.id for entry in await store.audit.history(course.id)) == done[0].id
        assert len(await store.audit.history(course.id)) == 3


async def test_a_bulk_statement_writes_one_entry_per_changed_row(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(store, "ada")
    course = await store.content.create_course("ada", "SQL")
    for number in range(5):
        await store.content.add_unit(course.id, f"U{number}")
    await adb_conn.execute(
        "UPDATE units SET description = 'same' WHERE course_id = %s AND position < 3", [course.id]
    )
    cur = await adb_conn.execute(
        "SELECT count(*) FROM audit_log"
        " WHERE course_id = %s AND table_name = 'units' AND operation = 'UPDATE'",
        [course.id],
    )
    assert await cur.fetchone() == (3,)
