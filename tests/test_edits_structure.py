"""Suggested edits of a unit's lessons and of quizzes on a real database: each kind proposed,
approved whole or refused as stale, withdrawn, listed in the course's history; the proposer told of
the decision; two approvals at once and an approval racing a direct change leave dense positions;
PostgreSQL refuses what a user may not do under as_user."""

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
from learnstore.errors import Conflict, InvalidValue, LearnstoreError, NotFound, PermissionDenied
from learnstore.repositories.edits import ReorderLessons as SyncReorder
from learnstore.repositories.edits_async import AddLesson, QuizEdit, RemoveLesson, ReorderLessons
from learnstore.security import APP_ROLE
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


async def users(store: AsyncStore, *clerk_ids: str) -> None:
    for clerk_id in clerk_ids:
        await store.users.apply_clerk_event(
            {"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}}
        )


async def course_with_lessons(store: AsyncStore, count: int = 3) -> tuple[UUID, UUID, list[UUID], UUID]:
    """A course by 'author' with a reviewer 'rev', one unit of `count` text lessons and an mcq quiz
    on the first: (course, unit, lessons in order, quiz)."""
    course = await store.content.create_course("author", "Portuguese")
    unit = await store.content.add_unit(course.id, "Greetings")
    lessons = [
        (await store.content.add_lesson(unit.id, f"L{i}", "text", TextContent(body=f"body {i}"))).id
        for i in range(count)
    ]
    quiz = await store.content.add_quiz(lessons[0], "mcq", "Hello is", "Olá", options=["Olá", "Tchau"])
    await store.collaboration.invite_collaborator(course.id, "author", "rev", "reviewer")
    await store.collaboration.respond_to_invitation(course.id, "rev", accept=True)
    return course.id, unit.id, lessons, quiz.id


async def order(store: AsyncStore, unit: UUID) -> list[tuple[str, int]]:
    return [(lesson.title, lesson.position) for lesson in await store.content.list_lessons(unit)]


async def counts(conn: AConn) -> list[int]:
    found = []
    for table in ("suggested_edits", "lessons", "notifications"):
        cursor = await conn.execute(f"SELECT count(*) FROM {table}".encode())
        row = await cursor.fetchone()
        assert row is not None
        found.append(row[0])
    return found


async def test_each_kind_is_proposed_approved_and_applied_whole(store: AsyncStore) -> None:
    await users(store, "author", "rev", "learner")
    course, unit, lessons, quiz = await course_with_lessons(store)

    added = await store.edits.propose_change(
        course,
        "learner",
        "A lesson on goodbyes",
        AddLesson(unit_id=unit, title="Goodbye", content_type="text", content={"body": "Tchau"}, position=1),
    )
    assert (added.kind, added.unit_id, added.base_lesson_ids) == ("add_lesson", unit, lessons)
    assert added.payload == {
        "title": "Goodbye",
        "content_type": "text",
        "content": {"body": "Tchau"},
        "position": 1,
    }
    assert (await store.edits.approve_edit(added.id, "rev", note="Welcome")).status == "approved"
    assert await order(store, unit) == [("L0", 0), ("Goodbye", 1), ("L1", 2), ("L2", 3)]

    removed = await store.edits.propose_change(
        course, "learner", "L1 repeats L0", RemoveLesson(lesson_id=lessons[1])
    )
    assert removed.payload == {"lesson_id": str(lessons[1])}
    await store.edits.approve_edit(removed.id, "author")
    assert await order(store, unit) == [("L0", 0), ("Goodbye", 1), ("L2", 2)]

    now = [lesson.id for lesson in await store.content.list_lessons(unit)]
    reordered = await store.edits.propose_change(
        course, "learner", "Goodbye last", ReorderLessons(unit_id=unit, lesson_ids=[now[0], now[2], now[1]])
    )
    await store.edits.approve_edit(reordered.id, "author")
    assert await order(store, unit) == [("L0", 0), ("L2", 1), ("Goodbye", 2)]

    quizzed = await store.edits.propose_change(
        course,
        "learner",
        "A third option",
        QuizEdit(quiz_id=quiz, options=["Olá", "Tchau", "Obrigado"]),
    )
    assert (quizzed.kind, quizzed.quiz_id, quizzed.payload) == (
        "quiz",
        quiz,
        {"options": ["Olá", "Tchau", "Obrigado"]},
    )
    await store.edits.approve_edit(quizzed.id, "rev")
    changed = await store.content.get_quiz(quiz)
    assert (changed.question, changed.options, changed.correct_answer) == (
        "Hello is",
        ["Olá", "Tchau", "Obrigado"],
        "Olá",
    )

    rejected = await store.edits.propose_change(
        course, "learner", "Drop L0", RemoveLesson(lesson_id=lessons[0])
    )
    await store.edits.reject_edit(rejected.id, "author", note="L0 is the start")
    withdrawn = await store.edits.propose_change(
        course, "learner", "Drop L2", RemoveLesson(lesson_id=lessons[2])
    )
    await store.edits.withdraw_edit(withdrawn.id, "learner")
    assert len(await store.content.list_lessons(unit)) == 3

    # the proposer was told of each decision, not of their own withdrawal
    told = await store.users.list_notifications("learner")
    metadata = [n.metadata if isinstance(n.metadata, dict) else {} for n in told]
    assert sorted((n.source_id, m["status"], m["by"]) for n, m in zip(told, metadata, strict=True)) == sorted(
        [
            (added.id, "approved", "rev"),
            (removed.id, "approved", "author"),
            (reordered.id, "approved", "author"),
            (quizzed.id, "approved", "rev"),
            (rejected.id, "rejected", "author"),
        ]
    )
    assert all(n.source_type == "suggested_edit" for n in told)

    # the history holds every status, newest first (one transaction here: one created_at, so by id)
    history = await store.edits.list_edits(course)
    ids = [withdrawn.id, rejected.id, quizzed.id, reordered.id, removed.id, added.id]
    assert [e.id for e in history] == sorted(ids, reverse=True)
    first = await store.edits.list_edits(course, limit=2)
    second = await store.edits.list_edits(course, limit=2, before=first[-1])
    assert [e.id for e in first + second] == [e.id for e in history[:4]]
    assert [e.id for e in await store.edits.list_edits(course, status="withdrawn")] == [withdrawn.id]
    assert [e.id for e in await store.edits.list_edits(course, status="pending")] == []


async def test_changes_that_do_not_fit_their_target_are_refused_and_write_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await users(store, "author", "rev", "learner")
    course, unit, lessons, quiz = await course_with_lessons(store)
    _, other_unit, other_lessons, other_quiz = await course_with_lessons(store)
    before = await counts(adb_conn)
    refused: list[tuple[Any, type[LearnstoreError], str]] = [
        (
            AddLesson(unit_id=unit, title="T", content_type="video", content={"body": "x"}),
            InvalidValue,
            "url",
        ),
        (
            AddLesson(unit_id=unit, title="T", content_type="text", content={"body": "x"}, position=4),
            InvalidValue,
            "position",
        ),
        (
            AddLesson(unit_id=other_unit, title="T", content_type="text", content={"body": "x"}),
            NotFound,
            "unit_id",
        ),
        (
            AddLesson(unit_id=uuid4(), title="T", content_type="text", content={"body": "x"}),
            NotFound,
            "unit_id",
        ),
        (RemoveLesson(lesson_id=other_lessons[0]), NotFound, "lesson_id"),
        (RemoveLesson(lesson_id=uuid4()), NotFound, "lesson_id"),
        (ReorderLessons(unit_id=unit, lesson_ids=lessons), InvalidValue, "lesson_ids"),
        (ReorderLessons(unit_id=unit, lesson_ids=lessons[:2]), InvalidValue, "lesson_ids"),
        (
            ReorderLessons(unit_id=unit, lesson_ids=[lessons[1], lessons[0], lessons[0]]),
            InvalidValue,
            "lesson_ids",
        ),
        (QuizEdit(quiz_id=quiz, correct_answer="Bom dia"), InvalidValue, "correct_answer"),
        (QuizEdit(quiz_id=quiz, options=["Olá"]), InvalidValue, "options"),
        (QuizEdit(quiz_id=quiz), InvalidValue, "changes"),
        (QuizEdit(quiz_id=quiz, question="Hello is"), InvalidValue, "changes"),
        (QuizEdit(quiz_id=other_quiz, question="Other"), NotFound, "quiz_id"),
        ({"lesson_id": str(lessons[0])}, InvalidValue, "change"),
    ]
    for change, error, field in refused:
        with pytest.raises(error) as caught:
            await store.edits.propose_change(course, "learner", "Change", change)
        assert caught.value.field == field, change
    with pytest.raises(InvalidValue) as blank:
        await store.edits.propose_change(course, "learner", " ", RemoveLesson(lesson_id=lessons[0]))
    assert blank.value.field == "summary"
    assert await counts(adb_conn) == before


async def test_a_stale_change_conflicts_applies_nothing_and_a_fresh_one_goes_through(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=2) as store:
        await _stale_changes(store, fresh_db)


async def _stale_changes(store: AsyncStore, dsn: str) -> None:
    await users(store, "author", "rev", "learner")
    course, unit, lessons, quiz = await course_with_lessons(store)
    reorder = await store.edits.propose_change(
        course, "learner", "Reverse", ReorderLessons(unit_id=unit, lesson_ids=lessons[::-1])
    )
    retitle = await store.edits.propose_change(
        course, "learner", "Ask better", QuizEdit(quiz_id=quiz, question="Olá means")
    )
    await store.content.add_lesson(unit, "Added directly", "text", {"body": "x"})
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute("UPDATE quizzes SET question = 'Changed directly' WHERE id = %s", [quiz])
    before = await order(store, unit)
    for edit in (reorder, retitle):
        with pytest.raises(Conflict, match="stale") as stale:
            await store.edits.approve_edit(edit.id, "author")
        assert stale.value.field == "edit_id"
        assert (await store.edits.get_edit(edit.id)).status == "pending"
    assert await order(store, unit) == before
    assert (await store.content.get_quiz(quiz)).question == "Changed directly"
    assert await store.users.list_notifications("learner") == []

    current = [lesson.id for lesson in await store.content.list_lessons(unit)]
    again = await store.edits.propose_change(
        course, "learner", "Reverse", ReorderLessons(unit_id=unit, lesson_ids=current[::-1])
    )
    await store.edits.approve_edit(again.id, "rev")
    assert [title for title, _ in await order(store, unit)] == ["Added directly", "L2", "L1", "L0"]


async def test_only_the_proposer_withdraws_and_only_while_pending(store: AsyncStore) -> None:
    await users(store, "author", "rev", "learner", "eve")
    course, unit, lessons, _ = await course_with_lessons(store)
    edit = await store.edits.propose_change(course, "learner", "Drop L1", RemoveLesson(lesson_id=lessons[1]))
    with pytest.raises(PermissionDenied) as other:
        await store.edits.withdraw_edit(edit.id, "eve")
    assert other.value.field == "author_clerk_id"
    withdrawn = await store.edits.withdraw_edit(edit.id, "learner")
    assert (withdrawn.status, withdrawn.reviewer_clerk_id) == ("withdrawn", None)
    assert withdrawn.reviewed_at is not None
    with pytest.raises(Conflict, match="already withdrawn"):
        await store.edits.withdraw_edit(edit.id, "learner")
    with pytest.raises(Conflict, match="already withdrawn"):
        await store.edits.approve_edit(edit.id, "author")
    with pytest.raises(NotFound):
        await store.edits.withdraw_edit(uuid4(), "learner")
    assert len(await store.content.list_lessons(unit)) == 3


async def test_sixteen_approvals_of_two_changes_to_one_unit_apply_one(fresh_db: str) -> None:
    """Two edits of one unit, each approved by eight callers at once: the first approval applied
    makes the other edit stale, so exactly one change lands and positions stay 0..n-1."""
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        await users(store, "author", "rev", "learner")
        course, unit, lessons, _ = await course_with_lessons(store, count=4)
        add = await store.edits.propose_change(
            course,
            "learner",
            "Add",
            AddLesson(unit_id=unit, title="New", content_type="text", content={"body": "x"}, position=0),
        )
        reverse = await store.edits.propose_change(
            course, "learner", "Reverse", ReorderLessons(unit_id=unit, lesson_ids=lessons[::-1])
        )
        results = await asyncio.gather(
            *(
                store.edits.approve_edit((add, reverse)[i % 2].id, ("author", "rev")[i // 8])
                for i in range(16)
            ),
            return_exceptions=True,
        )
        applied = [r for r in results if not isinstance(r, BaseException)]
        assert len(applied) == 1
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
        titles = [title for title, _ in await order(store, unit)]
        assert [position for _, position in await order(store, unit)] == list(range(len(titles)))
        if applied[0].id == add.id:
            assert titles == ["New", "L0", "L1", "L2", "L3"]
            assert (await store.edits.get_edit(reverse.id)).status == "pending"
        else:
            assert titles == ["L3", "L2", "L1", "L0"]
            assert (await store.edits.get_edit(add.id)).status == "pending"
        assert len(await store.users.list_notifications("learner")) == 1


async def test_an_approval_racing_direct_changes_is_applied_whole_or_refused_whole(fresh_db: str) -> None:
    """One approval of a new order against fifteen direct additions to the same unit: either it
    lands first (its order, then the additions at the end) or it is stale; positions stay dense."""
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        await users(store, "author", "rev", "learner")
        course, unit, lessons, _ = await course_with_lessons(store, count=3)
        reverse = await store.edits.propose_change(
            course, "learner", "Reverse", ReorderLessons(unit_id=unit, lesson_ids=lessons[::-1])
        )
        results = await asyncio.gather(
            store.edits.approve_edit(reverse.id, "rev"),
            *(store.content.add_lesson(unit, f"D{i}", "text", {"body": "x"}) for i in range(15)),
            return_exceptions=True,
        )
        assert all(not isinstance(r, BaseException) for r in results[1:])
        final = await store.content.list_lessons(unit)
        assert [lesson.position for lesson in final] == list(range(18))
        originals = [lesson.id for lesson in final if lesson.id in lessons]
        if isinstance(results[0], BaseException):
            assert isinstance(results[0], Conflict) and "stale" in str(results[0])
            assert originals == lessons
            assert (await store.edits.get_edit(reverse.id)).status == "pending"
        else:
            assert originals == lessons[::-1]
            assert [lesson.id for lesson in final[:3]] == lessons[::-1]


async def test_postgresql_refuses_what_a_user_may_not_do_as_user(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=2) as store:
        await users(store, "author", "rev", "ed", "learner", "eve")
        course, unit, lessons, quiz = await course_with_lessons(store)
        await store.collaboration.invite_collaborator(course, "author", "ed", "editor")
        await store.collaboration.respond_to_invitation(course, "ed", accept=True)

        # a reviewer proposes; a stranger cannot see the draft's unit to propose against it
        as_rev, as_eve = store.as_user("rev"), store.as_user("eve")
        edit = await as_rev.edits.propose_change(
            course, "rev", "Reverse", ReorderLessons(unit_id=unit, lesson_ids=lessons[::-1])
        )
        with pytest.raises(NotFound):
            await as_eve.edits.propose_change(course, "eve", "Drop", RemoveLesson(lesson_id=lessons[0]))
        with pytest.raises(PermissionDenied):  # in another user's name: the insert policy
            await as_rev.edits.propose_change(course, "learner", "Ask", QuizEdit(quiz_id=quiz, question="Q"))

        # neither a stranger nor an editor approves; nobody approves in another's name
        with pytest.raises(NotFound):  # the stranger does not even see the edit
            await as_eve.edits.approve_edit(edit.id, "eve")
        with pytest.raises(PermissionDenied) as editor:
            await store.as_user("ed").edits.approve_edit(edit.id, "ed")
        assert editor.value.field == "reviewer_clerk_id"
        with pytest.raises(PermissionDenied):
            await as_eve.edits.approve_edit(edit.id, "author")
        with pytest.raises(NotFound):  # withdrawing: only the proposer, who sees it
            await as_eve.edits.withdraw_edit(edit.id, "eve")

        # the SQL a stranger's or the proposer's session might send
        async with await psycopg.AsyncConnection.connect(fresh_db) as conn:
            for who, sql in (
                ("eve", "UPDATE suggested_edits SET status = 'withdrawn', reviewed_at = now() WHERE id = %s"),
                ("rev", "UPDATE suggested_edits SET status = 'rejected', reviewed_at = now() WHERE id = %s"),
                ("eve", "SELECT * FROM approve_suggested_edit(%s, 'author', NULL)"),
            ):
                async with conn.transaction(force_rollback=True):
                    await conn.execute(
                        "SELECT set_config('role', %s, true), set_config('learnstore.clerk_id', %s, true)",
                        [APP_ROLE, who],
                    )
                    try:
                        cursor = await conn.execute(sql.encode(), [edit.id])
                        assert cursor.rowcount == 0, (who, sql)
                    except psycopg.errors.InsufficientPrivilege:
                        pass
        assert (await store.edits.get_edit(edit.id)).status == "pending"
        assert [t for t, _ in await order(store, unit)] == ["L0", "L1", "L2"]

        # the author approves under as_user; the proposer withdraws another of their own
        approved = await store.as_user("author").edits.approve_edit(edit.id, "author")
        assert approved.status == "approved"
        assert [t for t, _ in await order(store, unit)] == ["L2", "L1", "L0"]
        second = await as_rev.edits.propose_change(
            course, "rev", "Ask", QuizEdit(quiz_id=quiz, question="Olá means")
        )
        assert (await as_rev.edits.withdraw_edit(second.id, "rev")).status == "withdrawn"


async def test_export_holds_the_new_kinds_and_erasure_keeps_them_anonymous(store: AsyncStore) -> None:
    await users(store, "author", "rev", "learner")
    course, unit, lessons, _ = await course_with_lessons(store)
    edit = await store.edits.propose_change(
        course,
        "learner",
        "Add",
        AddLesson(unit_id=unit, title="Mine", content_type="text", content={"body": "m"}),
    )
    withdrawn = await store.edits.propose_change(
        course, "learner", "Drop", RemoveLesson(lesson_id=lessons[0])
    )
    await store.edits.withdraw_edit(withdrawn.id, "learner")
    await store.edits.approve_edit(edit.id, "author")
    document = await store.users.export("learner")
    exported = {e["id"]: e for e in document["suggested_edits"]}
    assert (exported[str(edit.id)]["kind"], exported[str(edit.id)]["payload"]["title"]) == (
        "add_lesson",
        "Mine",
    )
    assert exported[str(withdrawn.id)]["status"] == "withdrawn"
    assert [n["source_id"] for n in document["notifications"]] == [str(edit.id)]

    await store.users.erase("learner")
    kept = {e.id: e.author_clerk_id for e in await store.edits.list_edits(course)}
    assert kept == {edit.id: None, withdrawn.id: None}


def test_the_sync_store_proposes_and_approves_a_change(db_conn: psycopg.Connection[Any]) -> None:
    db_conn.execute("INSERT INTO users (clerk_id) VALUES ('author'), ('learner')")
    store = Store.on(db_conn)
    course = store.content.create_course("author", "C")
    unit = store.content.add_unit(course.id, "U")
    first = store.content.add_lesson(unit.id, "First", "text", {"body": "1"})
    second = store.content.add_lesson(unit.id, "Second", "text", {"body": "2"})
    edit = store.edits.propose_change(
        course.id, "learner", "Swap", SyncReorder(unit_id=unit.id, lesson_ids=[second.id, first.id])
    )
    assert store.edits.approve_edit(edit.id, "author").status == "approved"
    assert [lesson.title for lesson in store.content.list_lessons(unit.id)] == ["Second", "First"]
    assert [e.id for e in store.edits.list_edits(course.id, status="approved")] == [edit.id]
    # the async module's twin of a change is taken too: the same fields
    again = store.edits.propose_change(
        course.id,
        "learner",
        "Swap back",
        ReorderLessons(unit_id=unit.id, lesson_ids=[first.id, second.id]),  # type: ignore[arg-type]
    )
    assert again.kind == "reorder_lessons"


async def test_each_new_operation_takes_the_round_trips_the_docs_say(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        store = AsyncStore.on(conn)
        await users(store, "author", "rev", "learner")
        course, unit, lessons, quiz = await course_with_lessons(store)
        reorder = ReorderLessons(unit_id=unit, lesson_ids=lessons[::-1])
        with round_trips(conn) as proposing:
            edit = await store.edits.propose_change(course, "learner", "Reverse", reorder)
        other = await store.edits.propose_change(
            course, "learner", "Ask", QuizEdit(quiz_id=quiz, question="Q?")
        )
        operations: dict[str, Any] = {
            "approve_edit": lambda: store.edits.approve_edit(edit.id, "author"),
            "withdraw_edit": lambda: store.edits.withdraw_edit(other.id, "learner"),
            "list_edits": lambda: store.edits.list_edits(course),
        }
        for name, operation in operations.items():
            with round_trips(conn) as trips:
                await operation()
            assert len(trips) == 1, (name, trips)
        assert len(proposing) == 2  # the unit's lessons read, then the proposal written
