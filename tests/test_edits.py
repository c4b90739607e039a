"""Collaborators and suggested edits on a real database: invitations, roles, "may this user edit
this course?", content changes refused to others, and suggested edits applied atomically or not
at all when their target went stale."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import pq

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import Conflict, InvalidReference, InvalidValue, NotFound, PermissionDenied
from learnstore.repositories.edits_async import CourseEdit, LessonEdit
from learnstore.types import TextContent

AConn = psycopg.AsyncConnection[Any]


@contextmanager
def round_trips(conn: AConn) -> Iterator[list[str]]:
    """The round trips made on `conn` inside the block, from libpq's protocol trace."""
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


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def users(conn: AConn, *clerk_ids: str) -> None:
    for clerk_id in clerk_ids:
        await conn.execute("INSERT INTO users (clerk_id) VALUES (%s)", [clerk_id])


async def course_with_lesson(store: AsyncStore) -> tuple[UUID, UUID, UUID]:
    """A course by 'author' with one unit and one text lesson: (course, unit, lesson)."""
    course = await store.content.create_course("author", "Portuguese", description="Phrases")
    unit = await store.content.add_unit(course.id, "Greetings")
    lesson = await store.content.add_lesson(unit.id, "Hello", "text", TextContent(body="Olá"))
    return course.id, unit.id, lesson.id


async def rows(conn: AConn, table: str) -> list[tuple[Any, ...]]:
    cur = await conn.execute(f"SELECT * FROM {table} ORDER BY id".encode())
    return await cur.fetchall()


# -- invitations and roles ----------------------------------------------------------------------------


async def test_an_invitation_is_accepted_and_makes_an_editor(store: AsyncStore, adb_conn: AConn) -> None:
    await users(adb_conn, "author", "ed", "rev")
    course, _, _ = await course_with_lesson(store)
    seat = await store.collaboration.invite_collaborator(course, "author", "ed", "editor")
    assert (seat.status, seat.role) == ("pending", "editor")
    assert not await store.collaboration.may_edit_course(course, "ed")  # not before accepting
    [invited] = await store.users.list_notifications("ed")
    assert (invited.type, invited.source_id) == ("system", course)

    accepted = await store.collaboration.respond_to_invitation(course, "ed", accept=True)
    assert accepted.status == "accepted"
    assert await store.collaboration.may_edit_course(
        course, "ed"
    ) and await store.collaboration.may_edit_course(course, "author")
    assert not await store.collaboration.may_review_course(course, "ed")

    await store.collaboration.invite_collaborator(course, "author", "rev", "reviewer")
    await store.collaboration.respond_to_invitation(course, "rev", accept=True)
    assert await store.collaboration.may_review_course(
        course, "rev"
    ) and not await store.collaboration.may_edit_course(course, "rev")
    assert [(s.user_clerk_id, s.role) for s in await store.collaboration.list_collaborators(course)] == [
        ("ed", "editor"),
        ("rev", "reviewer"),
    ]
    assert {x.clerk_id for x in await store.content.list_collaborators(course)} == {"ed", "rev"}


async def test_declining_changing_roles_leaving_and_removing(store: AsyncStore, adb_conn: AConn) -> None:
    await users(adb_conn, "author", "ed", "cy")
    course, _, _ = await course_with_lesson(store)
    await store.collaboration.invite_collaborator(course, "author", "ed")
    declined = await store.collaboration.respond_to_invitation(course, "ed", accept=False)
    assert declined.status == "declined" and not await store.collaboration.may_edit_course(course, "ed")
    with pytest.raises(NotFound):
        await store.collaboration.respond_to_invitation(course, "ed", accept=True)  # nothing pending
    assert (
        await store.collaboration.invite_collaborator(course, "author", "ed", "reviewer")
    ).status == "pending"
    await store.collaboration.respond_to_invitation(course, "ed", accept=True)
    assert (
        await store.collaboration.set_collaborator_role(course, "author", "ed", "editor")
    ).role == "editor"
    assert await store.collaboration.may_edit_course(course, "ed")
    # re-inviting an accepted collaborator keeps them accepted
    assert (
        await store.collaboration.invite_collaborator(course, "author", "ed", "editor")
    ).status == "accepted"

    await store.collaboration.invite_collaborator(course, "author", "cy")
    await store.collaboration.remove_collaborator(course, "cy", "cy")  # leaving
    await store.collaboration.remove_collaborator(course, "author", "ed")  # removed
    assert await store.collaboration.list_collaborators(course) == []
    assert not await store.collaboration.may_edit_course(course, "ed")
    with pytest.raises(NotFound):
        await store.collaboration.remove_collaborator(course, "author", "ed")


async def test_only_the_author_manages_collaborators_and_refusals_write_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await users(adb_conn, "author", "ed", "cy")
    course, _, _ = await course_with_lesson(store)
    await store.collaboration.invite_collaborator(course, "author", "ed")
    await store.collaboration.respond_to_invitation(course, "ed", accept=True)
    before = (await rows(adb_conn, "collaborators"), await rows(adb_conn, "notifications"))
    with pytest.raises(PermissionDenied):
        await store.collaboration.invite_collaborator(course, "ed", "cy")  # an editor does not manage seats
    with pytest.raises(PermissionDenied):
        await store.collaboration.set_collaborator_role(course, "cy", "ed", "reviewer")
    with pytest.raises(PermissionDenied):
        await store.collaboration.remove_collaborator(course, "cy", "ed")
    with pytest.raises(InvalidValue, match="own collaborator"):
        await store.collaboration.invite_collaborator(course, "author", "author")
    with pytest.raises(InvalidValue):
        await store.collaboration.invite_collaborator(course, "author", "cy", "owner")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await store.collaboration.invite_collaborator(uuid4(), "author", "cy")
    with pytest.raises(InvalidReference, match="user_clerk_id"):
        await store.collaboration.invite_collaborator(course, "author", "ghost")
    assert (await rows(adb_conn, "collaborators"), await rows(adb_conn, "notifications")) == before
    with pytest.raises(NotFound):
        await store.collaboration.may_edit_course(uuid4(), "ed")


# -- content changes with an acting user ---------------------------------------------------------------


async def test_content_changes_check_the_acting_user(store: AsyncStore, adb_conn: AConn) -> None:
    await users(adb_conn, "author", "ed", "rev", "cy")
    course, unit, lesson = await course_with_lesson(store)
    for user, role in (("ed", "editor"), ("rev", "reviewer")):
        await store.collaboration.invite_collaborator(course, "author", user, role)  # type: ignore[arg-type]
        await store.collaboration.respond_to_invitation(course, user, accept=True)
    await store.collaboration.invite_collaborator(course, "author", "cy")  # pending: not yet an editor

    content = store.content
    renamed = await content.update_course(course, title="By the editor", acting_clerk_id="ed")
    assert renamed.title == "By the editor"
    assert (await content.add_unit(course, "More", acting_clerk_id="author")).position == 1
    new_lesson = await content.add_lesson(unit, "Bye", "text", {"body": "Tchau"}, acting_clerk_id="ed")
    await content.update_lesson(new_lesson.id, title="Goodbye", acting_clerk_id="ed")
    quiz = await content.add_quiz(lesson, "flashcard", "Hello?", "Olá", acting_clerk_id="ed")
    assert await content.delete_quiz(quiz.id, acting_clerk_id="ed")

    before = [await rows(adb_conn, t) for t in ("courses", "units", "lessons", "quizzes")]
    for outsider in ("rev", "cy", "ghost"):
        with pytest.raises(PermissionDenied) as refused:
            await content.update_course(course, title="Hijacked", acting_clerk_id=outsider)
        assert refused.value.field == "acting_clerk_id"
        with pytest.raises(PermissionDenied):
            await content.delete_lesson(lesson, acting_clerk_id=outsider)
        with pytest.raises(PermissionDenied):
            await content.move_unit(unit, 1, acting_clerk_id=outsider)
        with pytest.raises(PermissionDenied):
            await content.add_lesson(unit, "x", "text", {"body": "x"}, acting_clerk_id=outsider)
        with pytest.raises(PermissionDenied):
            await content.publish_course(course, acting_clerk_id=outsider)
    with pytest.raises(InvalidValue):
        await content.publish_course(course, acting_clerk_id="")
    assert [await rows(adb_conn, t) for t in ("courses", "units", "lessons", "quizzes")] == before
    # an unknown id is still the operation's own NotFound, with or without an acting user
    with pytest.raises(NotFound):
        await content.publish_course(uuid4(), acting_clerk_id="ed")
    # trusted callers keep the old signatures
    assert (await content.publish_course(course)).status == "published"


async def test_an_editor_removed_mid_change_waits_for_it(fresh_db: str) -> None:
    """The check holds the editor's seat until the change commits, so removing the editor waits."""
    async with await learnstore.connect_async(fresh_db, max_size=4) as store:
        for clerk_id in ("author", "ed"):
            await store.users.apply_clerk_event(
                {"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}}
            )
        course = await store.content.create_course("author", "C")
        await store.collaboration.invite_collaborator(course.id, "author", "ed")
        await store.collaboration.respond_to_invitation(course.id, "ed", accept=True)
        async with store.transaction() as tx:
            await tx.content.update_course(course.id, title="Mid-change", acting_clerk_id="ed")
            removal = asyncio.create_task(store.collaboration.remove_collaborator(course.id, "author", "ed"))
            await asyncio.sleep(0.3)
            assert not removal.done()
        await removal
        assert (await store.content.get_course(course.id)).title == "Mid-change"
        with pytest.raises(PermissionDenied):
            await store.content.update_course(course.id, title="Too late", acting_clerk_id="ed")


# -- suggested edits --------------------------------------------------------------------------------


async def test_an_approved_edit_is_applied_with_its_status(store: AsyncStore, adb_conn: AConn) -> None:
    await users(adb_conn, "author", "rev", "learner")
    course, _, lesson = await course_with_lesson(store)
    await store.collaboration.invite_collaborator(course, "author", "rev", "reviewer")
    await store.collaboration.respond_to_invitation(course, "rev", accept=True)

    course_edit = await store.edits.propose_edit(
        course,
        "learner",
        "Clearer title",
        CourseEdit(title="Portuguese for travellers", learning_objectives=["Greet"]),
    )
    lesson_edit = await store.edits.propose_edit(
        course, "learner", "Fix the greeting", {"content": {"body": "Olá!"}}, lesson_id=lesson
    )
    # one transaction: both have the same created_at, so the page is ordered by id
    pending = await store.edits.list_pending_edits(course)
    assert [e.id for e in pending] == sorted([course_edit.id, lesson_edit.id], reverse=True)
    assert [e.id for e in await store.edits.list_pending_edits(course, limit=1, before=pending[0])] == [
        pending[1].id
    ]

    approved = await store.edits.approve_edit(course_edit.id, "rev", note="Thanks")
    assert (approved.status, approved.reviewer_clerk_id, approved.review_note) == (
        "approved",
        "rev",
        "Thanks",
    )
    applied = await store.content.get_course(course)
    assert (applied.title, applied.learning_objectives, applied.description) == (
        "Portuguese for travellers",
        ["Greet"],
        "Phrases",
    )
    rejected = await store.edits.reject_edit(lesson_edit.id, "author", note="Keep it calm")
    assert (rejected.status, rejected.review_note) == ("rejected", "Keep it calm")
    assert (await store.content.get_lesson(lesson)).content == {"body": "Olá"}
    assert await store.edits.list_pending_edits(course) == []
    with pytest.raises(Conflict, match="already"):
        await store.edits.approve_edit(lesson_edit.id, "author")


async def test_a_stale_edit_conflicts_and_applies_nothing(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db) as store:
        for clerk_id in ("author", "learner"):
            await store.users.apply_clerk_event(
                {"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}}
            )
        course = await store.content.create_course("author", "C")
        unit = await store.content.add_unit(course.id, "U")
        lesson = await store.content.add_lesson(unit.id, "L", "text", {"body": "one"})
        edit = await store.edits.propose_edit(
            course.id, "learner", "Better", LessonEdit(content={"body": "two"}), lesson_id=lesson.id
        )
        await store.content.update_lesson(lesson.id, title="Changed meanwhile")
        with pytest.raises(Conflict, match="stale") as stale:
            await store.edits.approve_edit(edit.id, "author")
        assert stale.value.field == "edit_id"
        after = await store.content.get_lesson(lesson.id)
        assert (after.title, after.content) == ("Changed meanwhile", {"body": "one"})
        assert (await store.edits.get_edit(edit.id)).status == "pending"
        # a fresh proposal against the current lesson goes through
        again = await store.edits.propose_edit(
            course.id, "learner", "Better", {"content": {"body": "two"}}, lesson_id=lesson.id
        )
        await store.edits.approve_edit(again.id, "author")
        assert (await store.content.get_lesson(lesson.id)).content == {"body": "two"}


async def test_hostile_edits_and_reviews_are_refused_and_write_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await users(adb_conn, "author", "ed", "learner")
    course, _, lesson = await course_with_lesson(store)
    other, _, other_lesson = await course_with_lesson(store)
    await store.collaboration.invite_collaborator(course, "author", "ed", "editor")
    await store.collaboration.respond_to_invitation(course, "ed", accept=True)
    edit = await store.edits.propose_edit(course, "learner", "Title", {"title": "New"})
    before = [await rows(adb_conn, t) for t in ("suggested_edits", "courses", "lessons")]

    bad_changes: list[Any] = [
        {},  # nothing to change
        {"status": "published"},  # not a field an edit may change
        {"title": " "},
        {"title": "x" * 201},
        "title",
    ]
    for changes in bad_changes:
        with pytest.raises(InvalidValue):
            await store.edits.propose_edit(course, "learner", "S", changes)
    with pytest.raises(InvalidValue):  # content of the wrong type for a text lesson
        await store.edits.propose_edit(
            course, "learner", "S", {"content": {"url": "https://v.example/x"}}, lesson_id=lesson
        )
    with pytest.raises(InvalidValue):
        await store.edits.propose_edit(
            course, "learner", "S", {"description": "lessons have none"}, lesson_id=lesson
        )
    with pytest.raises(NotFound, match="lesson"):
        await store.edits.propose_edit(course, "learner", "S", {"title": "T"}, lesson_id=other_lesson)
    with pytest.raises(NotFound, match="course"):
        await store.edits.propose_edit(uuid4(), "learner", "S", {"title": "T"})
    with pytest.raises(InvalidValue):
        await store.edits.propose_edit(course, "learner", "x" * 501, {"title": "T"})
    for outsider in ("ed", "learner", "ghost"):  # an editor is not a reviewer
        with pytest.raises(PermissionDenied):
            await store.edits.approve_edit(edit.id, outsider)
        with pytest.raises(PermissionDenied):
            await store.edits.reject_edit(edit.id, outsider)
    with pytest.raises(NotFound):
        await store.edits.approve_edit(uuid4(), "author")
    with pytest.raises(InvalidValue):
        await store.edits.approve_edit(edit.id, "author", note="x" * 2001)
    assert [await rows(adb_conn, t) for t in ("suggested_edits", "courses", "lessons")] == before
    assert other != course


def test_the_sync_store_reviews_an_edit(db_conn: psycopg.Connection[Any]) -> None:
    db_conn.execute("INSERT INTO users (clerk_id) VALUES ('author'), ('learner')")
    store = Store.on(db_conn)
    course = store.content.create_course("author", "C")
    edit = store.edits.propose_edit(course.id, "learner", "Describe", {"description": "Now described"})
    store.edits.approve_edit(edit.id, "author")
    assert store.content.get_course(course.id).description == "Now described"


async def test_two_reviewers_approving_at_once_apply_the_edit_once(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=4) as store:
        for clerk_id in ("author", "rev", "learner"):
            await store.users.apply_clerk_event(
                {"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}}
            )
        course = await store.content.create_course("author", "C")
        await store.collaboration.invite_collaborator(course.id, "author", "rev", "reviewer")
        await store.collaboration.respond_to_invitation(course.id, "rev", accept=True)
        edit = await store.edits.propose_edit(course.id, "learner", "Rename", {"title": "Renamed"})
        results = await asyncio.gather(
            store.edits.approve_edit(edit.id, "author"),
            store.edits.approve_edit(edit.id, "rev"),
            return_exceptions=True,
        )
        approved = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(approved) == 1 and len(refused) == 1
        assert isinstance(refused[0], Conflict) and "already approved" in str(refused[0])
        assert (await store.content.get_course(course.id)).title == "Renamed"


async def test_collaborator_and_edit_operations_are_one_round_trip(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        await users(conn, "author", "ed", "learner")
        store = AsyncStore.on(conn)
        course = await store.content.create_course("author", "C")
        edits = [
            await store.edits.propose_edit(course.id, "learner", f"Edit {i}", {"description": f"D{i}"})
            for i in range(2)
        ]
        operations: dict[str, Any] = {
            "invite_collaborator": lambda: store.collaboration.invite_collaborator(
                course.id, "author", "ed", "reviewer"
            ),
            "respond_to_invitation": lambda: store.collaboration.respond_to_invitation(
                course.id, "ed", accept=True
            ),
            "set_collaborator_role": lambda: store.collaboration.set_collaborator_role(
                course.id, "author", "ed", "reviewer"
            ),
            "may_edit_course": lambda: store.collaboration.may_edit_course(course.id, "ed"),
            "list_collaborators": lambda: store.collaboration.list_collaborators(course.id),
            "propose_edit": lambda: store.edits.propose_edit(course.id, "learner", "Another", {"title": "T"}),
            "approve_edit": lambda: store.edits.approve_edit(edits[0].id, "ed"),
            "reject_edit": lambda: store.edits.reject_edit(edits[1].id, "author", note="No"),
            "list_pending_edits": lambda: store.edits.list_pending_edits(course.id),
        }
        for name, operation in operations.items():
            with round_trips(conn) as trips:
                await operation()
            assert len(trips) == 1, (name, trips)
