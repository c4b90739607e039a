"""Enrolment and progress on a real database: enrolling, lesson statuses, the course's 0-100 progress
kept right by every path (including plain SQL on lessons), dashboards, analytics, races."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import Conflict, InvalidValue, NotFound

AConn = psycopg.AsyncConnection[Any]
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


# -- content made with plain SQL (the content domain's API is not ours to lean on) ---------------


@dataclass(frozen=True)
class Course:
    id: UUID
    units: list[UUID]
    lessons: list[UUID]
    """In course order: unit position, then lesson position."""


async def make_user(conn: AConn, clerk_id: str = "learner_1") -> str:
    await conn.execute("INSERT INTO users (clerk_id) VALUES (%s)", [clerk_id])
    return clerk_id


async def make_course(
    conn: AConn,
    lessons_per_unit: tuple[int, ...] = (2, 2),
    *,
    status: str = "published",
    author: str | None = None,
    title: str = "Portuguese for travellers",
) -> Course:
    """A course whose units and lessons are inserted in reverse order of position, so that every
    test also shows that course order comes from positions, not from insertion order."""
    cur = await conn.execute(
        "INSERT INTO courses (title, status, published_at, author_clerk_id)"
        " VALUES (%s, %s, CASE WHEN %s = 'published' THEN now() END, %s) RETURNING id",
        [title, status, status, author],
    )
    course_id = (await cur.fetchone() or [None])[0]
    units: list[UUID] = []
    lessons: list[UUID] = []
    for position in reversed(range(len(lessons_per_unit))):
        unit = await add_unit(conn, course_id, position)
        unit_lessons = [await add_lesson(conn, unit, p) for p in reversed(range(lessons_per_unit[position]))]
        units.insert(0, unit)
        lessons[:0] = reversed(unit_lessons)
    return Course(course_id, units, lessons)


async def add_unit(conn: AConn, course_id: UUID, position: int) -> UUID:
    cur = await conn.execute(
        "INSERT INTO units (course_id, title, position) VALUES (%s, %s, %s) RETURNING id",
        [course_id, f"Unit {position}", position],
    )
    row = await cur.fetchone()
    assert row is not None
    unit_id: UUID = row[0]
    return unit_id


async def add_lesson(conn: AConn, unit_id: UUID, position: int) -> UUID:
    cur = await conn.execute(
        "INSERT INTO lessons (unit_id, title, content_type, content, position)"
        """ VALUES (%s, %s, 'text', '{"body": "Olá"}', %s) RETURNING id""",
        [unit_id, f"Lesson {position}", position],
    )
    row = await cur.fetchone()
    assert row is not None
    lesson_id: UUID = row[0]
    return lesson_id


async def rows(conn: AConn, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    cur = await conn.execute(query, params)
    return await cur.fetchall()


async def progress_state(conn: AConn) -> list[tuple[Any, ...]]:
    """Every enrolment and every lesson status, whole rows, in a stable order."""
    enrolments = await rows(conn, "SELECT uc.*::text FROM user_courses uc ORDER BY id")
    statuses = await rows(conn, "SELECT p.*::text FROM user_progress p ORDER BY id")
    return [*enrolments, ("--",), *statuses]


async def enrolment_row(conn: AConn, clerk_id: str, course_id: UUID) -> tuple[int, datetime | None]:
    found = await rows(
        conn,
        "SELECT progress, completed_at FROM user_courses WHERE user_clerk_id = %s AND course_id = %s",
        [clerk_id, course_id],
    )
    assert len(found) == 1
    return found[0][0], found[0][1]


# -- enrolment ---------------------------------------------------------------------------------------


async def test_enrolling_twice_returns_the_same_enrolment(store: AsyncStore, adb_conn: AConn) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn)
    first = await store.progress.enrol(learner, course.id)
    again = await store.progress.enrol(learner, course.id)
    assert first == again
    assert (first.user_clerk_id, first.course_id, first.progress, first.completed_at) == (
        learner,
        course.id,
        0,
        None,
    )
    assert len(await rows(adb_conn, "SELECT 1 FROM user_courses")) == 1
    assert await store.progress.get_enrolment(learner, course.id) == first


@pytest.mark.parametrize("status", ["draft", "archived"])
async def test_only_published_courses_can_be_enrolled_into(
    store: AsyncStore, adb_conn: AConn, status: str
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, status=status)
    before = await progress_state(adb_conn)
    with pytest.raises(Conflict, match=f"is {status}: only published courses") as caught:
        await store.progress.enrol(learner, course.id)
    assert caught.value.field == "course_id"
    assert await progress_state(adb_conn) == before
    assert await store.progress.get_enrolment_or_none(learner, course.id) is None


async def test_an_enrolment_outlives_the_course_being_archived(store: AsyncStore, adb_conn: AConn) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn)
    enrolled = await store.progress.enrol(learner, course.id)
    await adb_conn.execute(
        "UPDATE courses SET status = 'archived', published_at = NULL WHERE id = %s", [course.id]
    )
    assert await store.progress.enrol(learner, course.id) == enrolled
    progressed = await store.progress.set_lesson_status(learner, course.lessons[0], "completed")
    assert progressed.progress == 25


async def test_enrolling_an_unknown_user_or_course_is_not_found(store: AsyncStore, adb_conn: AConn) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn)
    before = await progress_state(adb_conn)
    with pytest.raises(NotFound, match="no course") as no_course:
        await store.progress.enrol(learner, uuid4())
    with pytest.raises(NotFound, match="no user with clerk_id 'ghost''; DROP TABLE users; --'") as no_user:
        await store.progress.enrol("ghost'; DROP TABLE users; --", course.id)
    assert (no_course.value.field, no_user.value.field) == ("course_id", "clerk_id")
    assert await progress_state(adb_conn) == before


@pytest.mark.parametrize(
    ("clerk_id", "course_id", "field"),
    [
        (42, None, "clerk_id"),
        ("", None, "clerk_id"),
        ("x" * 65, None, "clerk_id"),
        (None, "not-a-uuid", "course_id"),
        (None, 7, "course_id"),
        (None, "' OR 1=1 --", "course_id"),
    ],
)
async def test_enrolling_with_values_of_the_wrong_shape_is_an_invalid_value(
    store: AsyncStore, adb_conn: AConn, clerk_id: Any, course_id: Any, field: str
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn)
    before = await progress_state(adb_conn)
    with pytest.raises(InvalidValue) as caught:
        await store.progress.enrol(learner if clerk_id is None else clerk_id, course_id or course.id)
    assert caught.value.field == field
    assert field in str(caught.value)
    assert await progress_state(adb_conn) == before


async def test_unenrolling_deletes_the_enrolment_and_its_lesson_statuses_only(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    other = await make_user(adb_conn, "learner_2")
    course = await make_course(adb_conn)
    kept = await make_course(adb_conn, title="Kept")
    for who in (learner, other):
        await store.progress.enrol(who, course.id)
        await store.progress.set_lesson_status(who, course.lessons[0], "completed")
    await store.progress.enrol(learner, kept.id)
    await store.progress.set_lesson_status(learner, kept.lessons[0], "completed")

    assert await store.progress.unenrol(learner, course.id) is True
    assert await store.progress.get_enrolment_or_none(learner, course.id) is None
    statuses = await rows(
        adb_conn, "SELECT user_clerk_id, lesson_id FROM user_progress ORDER BY user_clerk_id, lesson_id"
    )
    assert sorted(statuses) == sorted([(learner, kept.lessons[0]), (other, course.lessons[0])])
    assert await store.progress.unenrol(learner, course.id) is False  # idempotent

    again = await store.progress.enrol(learner, course.id)
    assert (again.progress, again.completed_at) == (0, None)  # enrolling again starts afresh
    assert (await store.progress.get_enrolment(other, course.id)).progress == 25


async def test_unenrolling_unknown_ids_changes_nothing(store: AsyncStore, adb_conn: AConn) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn)
    await store.progress.enrol(learner, course.id)
    before = await progress_state(adb_conn)
    assert await store.progress.unenrol("nobody", course.id) is False
    assert await store.progress.unenrol(learner, uuid4()) is False
    with pytest.raises(InvalidValue, match="course_id"):
        await store.progress.unenrol(learner, "course-1")  # type: ignore[arg-type]
    assert await progress_state(adb_conn) == before


# -- lesson statuses and the course's progress -------------------------------------------------------


async def test_progress_is_the_floor_of_the_completed_share_and_100_completes_the_course(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, (2, 1))
    await store.progress.enrol(learner, course.id)
    seen = []
    for lesson in course.lessons:
        enrolment = await store.progress.set_lesson_status(learner, lesson, "completed")
        seen.append((enrolment.progress, enrolment.completed_at is not None))
    assert seen == [(33, False), (66, False), (100, True)]
    reopened = await store.progress.set_lesson_status(learner, course.lessons[1], "in_progress")
    assert (reopened.progress, reopened.completed_at) == (66, None)
    assert await enrolment_row(adb_conn, learner, course.id) == (66, None)


async def test_status_timestamps_follow_the_lesson_through_its_life(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, (1,))
    lesson = course.lessons[0]
    await store.progress.enrol(learner, course.id)

    async def status() -> tuple[str, datetime | None, datetime | None]:
        (row,) = await store.progress.list_lesson_progress(learner, course.id)
        return row.status, row.started_at, row.completed_at

    assert await status() == ("not_started", None, None)
    await store.progress.set_lesson_status(learner, lesson, "in_progress")
    kind, started, completed = await status()
    assert (kind, completed) == ("in_progress", None) and started is not None

    # Earlier times, as if the lesson had been started and completed long ago.
    await store.progress.set_lesson_status(learner, lesson, "completed")
    await adb_conn.execute(
        "UPDATE user_progress SET started_at = %s, completed_at = %s", [LONG_AGO, LONG_AGO.replace(day=2)]
    )
    await store.progress.set_lesson_status(learner, lesson, "completed")  # again: the first time stays
    assert await status() == ("completed", LONG_AGO, LONG_AGO.replace(day=2))
    await store.progress.set_lesson_status(learner, lesson, "in_progress")  # back: completed_at goes
    assert await status() == ("in_progress", LONG_AGO, None)
    await store.progress.set_lesson_status(learner, lesson, "not_started")  # a reset: both go
    assert await status() == ("not_started", None, None)


async def test_completing_a_lesson_never_started_starts_it_too(store: AsyncStore, adb_conn: AConn) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, (1,))
    await store.progress.enrol(learner, course.id)
    await store.progress.set_lesson_status(learner, course.lessons[0], "completed")
    (row,) = await store.progress.list_lesson_progress(learner, course.id)
    assert row.status == "completed"
    assert row.started_at is not None and row.started_at == row.completed_at


async def test_a_course_without_lessons_is_at_zero_and_has_no_next_lesson(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, ())
    enrolment = await store.progress.enrol(learner, course.id)
    assert (enrolment.progress, enrolment.completed_at) == (0, None)
    assert await store.progress.get_next_lesson(learner, course.id) is None
    assert await store.progress.list_lesson_progress(learner, course.id) == []


async def test_a_status_in_a_course_the_learner_is_not_enrolled_in_is_refused(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    enrolled = await make_course(adb_conn, title="Enrolled")
    elsewhere = await make_course(adb_conn, title="Elsewhere")
    await store.progress.enrol(learner, enrolled.id)
    before = await progress_state(adb_conn)
    with pytest.raises(Conflict, match=r"not enrolled in course .*: enrol first") as caught:
        await store.progress.set_lesson_status(learner, elsewhere.lessons[0], "completed")
    assert caught.value.field == "lesson_id"
    assert str(elsewhere.id) in str(caught.value)
    assert await progress_state(adb_conn) == before


async def test_statuses_for_unknown_lessons_or_users_are_not_found(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn)
    await store.progress.enrol(learner, course.id)
    before = await progress_state(adb_conn)
    with pytest.raises(NotFound, match="no lesson") as no_lesson:
        await store.progress.set_lesson_status(learner, uuid4(), "completed")
    with pytest.raises(NotFound, match="no user") as no_user:
        await store.progress.set_lesson_status("nobody", course.lessons[0], "completed")
    assert (no_lesson.value.field, no_user.value.field) == ("lesson_id", "clerk_id")
    assert await progress_state(adb_conn) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "done"}, "status"),
        ({"status": "COMPLETED"}, "status"),
        ({"status": ""}, "status"),
        ({"status": None}, "status"),
        ({"status": 2}, "status"),
        ({"status": "completed'; DELETE FROM user_progress; --"}, "status"),
        ({"lesson_id": "lesson-1"}, "lesson_id"),
        ({"lesson_id": None}, "lesson_id"),
        ({"lesson_id": 3.5}, "lesson_id"),
        ({"clerk_id": 42}, "clerk_id"),
        ({"clerk_id": "x" * 10_000}, "clerk_id"),
        ({"clerk_id": ["learner_1"]}, "clerk_id"),
    ],
)
async def test_statuses_of_the_wrong_shape_are_invalid_values_and_change_nothing(
    store: AsyncStore, adb_conn: AConn, change: dict[str, Any], field: str
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn)
    await store.progress.enrol(learner, course.id)
    await store.progress.set_lesson_status(learner, course.lessons[0], "completed")
    before = await progress_state(adb_conn)
    call = {"clerk_id": learner, "lesson_id": course.lessons[1], "status": "completed", **change}
    with pytest.raises(InvalidValue) as caught:
        await store.progress.set_lesson_status(**call)
    assert caught.value.field == field
    assert await progress_state(adb_conn) == before


async def test_the_sql_function_itself_refuses_an_unknown_status(adb_conn: AConn) -> None:
    # What a caller of plain SQL gets: the rule by name, before anything is written.
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn)
    await adb_conn.execute("SELECT enrol_in_course(%s, %s)", [learner, course.id])
    with pytest.raises(psycopg.errors.RaiseException, match="status must be one of") as caught:
        async with adb_conn.transaction():
            await adb_conn.execute("SELECT set_lesson_status(%s, %s, 'done')", [learner, course.lessons[0]])
    assert caught.value.diag.message_hint == "status"


async def test_a_failed_status_change_leaves_the_callers_transaction_usable(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, (1,))
    async with store.transaction() as tx:
        with pytest.raises(Conflict):
            await tx.progress.set_lesson_status(learner, course.lessons[0], "completed")
        await tx.progress.enrol(learner, course.id)
        done = await tx.progress.set_lesson_status(learner, course.lessons[0], "completed")
    assert (done.progress, done.completed_at is not None) == (100, True)


# -- the triggers: any change of a course's lessons keeps every enrolment right -----------------------


async def test_adding_a_lesson_after_completion_reopens_the_course_and_removing_it_completes_it(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    halfway = await make_user(adb_conn, "learner_2")
    course = await make_course(adb_conn, (2, 1))
    for who in (learner, halfway):
        await store.progress.enrol(who, course.id)
    for lesson in course.lessons:
        await store.progress.set_lesson_status(learner, lesson, "completed")
    await store.progress.set_lesson_status(halfway, course.lessons[0], "completed")
    assert (await enrolment_row(adb_conn, learner, course.id))[0] == 100

    extra = await add_lesson(adb_conn, course.units[1], 1)  # plain SQL, as an import would
    assert await enrolment_row(adb_conn, learner, course.id) == (75, None)
    assert await enrolment_row(adb_conn, halfway, course.id) == (25, None)

    await adb_conn.execute("DELETE FROM lessons WHERE id = %s", [extra])
    progress, completed_at = await enrolment_row(adb_conn, learner, course.id)
    assert progress == 100 and completed_at is not None
    assert await enrolment_row(adb_conn, halfway, course.id) == (33, None)


async def test_many_lessons_inserted_by_one_statement_are_counted_once(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, (1,))
    await store.progress.enrol(learner, course.id)
    await store.progress.set_lesson_status(learner, course.lessons[0], "completed")
    await adb_conn.execute(
        "INSERT INTO lessons (unit_id, title, content_type, content, position)"
        """ SELECT %s, 'Imported ' || n, 'text', '{"body": "b"}', n FROM generate_series(1, 7) AS n""",
        [course.units[0]],
    )
    assert await enrolment_row(adb_conn, learner, course.id) == (12, None)  # floor(100 / 8)


async def test_moving_a_lesson_between_courses_recomputes_both(store: AsyncStore, adb_conn: AConn) -> None:
    learner = await make_user(adb_conn)
    source = await make_course(adb_conn, (2,), title="Source")
    target = await make_course(adb_conn, (2,), title="Target")
    for course in (source, target):
        await store.progress.enrol(learner, course.id)
    await store.progress.set_lesson_status(learner, source.lessons[0], "completed")
    await store.progress.set_lesson_status(learner, target.lessons[0], "completed")
    await store.progress.set_lesson_status(learner, target.lessons[1], "completed")
    assert await enrolment_row(adb_conn, learner, source.id) == (50, None)

    await adb_conn.execute(
        "UPDATE lessons SET unit_id = %s, position = 2 WHERE id = %s", [target.units[0], source.lessons[1]]
    )
    progress, completed_at = await enrolment_row(adb_conn, learner, source.id)
    assert progress == 100 and completed_at is not None
    assert await enrolment_row(adb_conn, learner, target.id) == (66, None)


async def test_moving_a_lesson_between_units_of_one_course_changes_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, (2, 1))
    await store.progress.enrol(learner, course.id)
    await store.progress.set_lesson_status(learner, course.lessons[0], "completed")
    before = await progress_state(adb_conn)
    await adb_conn.execute(
        "UPDATE lessons SET unit_id = %s, position = 1 WHERE id = %s", [course.units[1], course.lessons[1]]
    )
    assert await progress_state(adb_conn) == before


async def test_deleting_or_moving_a_unit_recomputes_the_courses_it_leaves_and_joins(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, (1, 3))
    other = await make_course(adb_conn, (1,), title="Other")
    for each in (course, other):
        await store.progress.enrol(learner, each.id)
        await store.progress.set_lesson_status(learner, each.lessons[0], "completed")
    assert await enrolment_row(adb_conn, learner, course.id) == (25, None)

    await adb_conn.execute(
        "UPDATE units SET course_id = %s, position = 1 WHERE id = %s", [other.id, course.units[1]]
    )
    assert (await enrolment_row(adb_conn, learner, course.id))[0] == 100
    assert await enrolment_row(adb_conn, learner, other.id) == (25, None)

    await adb_conn.execute("DELETE FROM units WHERE id = %s", [course.units[1]])  # its lessons go with it
    assert (await enrolment_row(adb_conn, learner, other.id))[0] == 100


async def test_deleting_a_course_takes_its_enrolments_without_fuss(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn)
    await store.progress.enrol(learner, course.id)
    await store.progress.set_lesson_status(learner, course.lessons[0], "completed")
    await adb_conn.execute("DELETE FROM courses WHERE id = %s", [course.id])
    assert await progress_state(adb_conn) == [("--",)]


async def test_refreshing_a_course_repairs_progress_written_behind_its_back(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, (4,))
    await store.progress.enrol(learner, course.id)
    await store.progress.set_lesson_status(learner, course.lessons[0], "completed")
    await adb_conn.execute("UPDATE user_courses SET progress = 7")
    assert await store.progress.refresh_course(course.id) == 1
    assert await enrolment_row(adb_conn, learner, course.id) == (25, None)
    assert await store.progress.refresh_course(course.id) == 0


async def test_a_learners_status_change_rewrites_that_learners_enrolment_only(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner, other = await make_user(adb_conn), await make_user(adb_conn, "learner_2")
    course = await make_course(adb_conn, (4,))
    for who in (learner, other):
        await store.progress.enrol(who, course.id)
    # The other learner's row is made stale behind learnstore's back: a write that recomputed the
    # whole course would repair it, one that touches one enrolment leaves it as it is.
    await adb_conn.execute("UPDATE user_courses SET progress = 7 WHERE user_clerk_id = %s", [other])
    # ctid: where the row version lives; any UPDATE, even in this one transaction, writes a new one.
    versions = "SELECT user_clerk_id, ctid::text FROM user_courses ORDER BY user_clerk_id"
    before = dict(await rows(adb_conn, versions))

    enrolment = await store.progress.set_lesson_status(learner, course.lessons[0], "completed")

    assert enrolment.progress == 25
    after = dict(await rows(adb_conn, versions))
    assert after[other] == before[other] and after[learner] != before[learner]
    assert await enrolment_row(adb_conn, other, course.id) == (7, None)
    # An unchanged percentage writes no new version, and the call still returns the enrolment.
    again = await store.progress.set_lesson_status(learner, course.lessons[1], "in_progress")
    assert (again.id, again.progress) == (enrolment.id, 25)
    assert dict(await rows(adb_conn, versions)) == after


async def test_a_course_wide_recompute_rewrites_every_changed_enrolment_in_one_statement(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await make_course(adb_conn, (2, 2))
    other_course = await make_course(adb_conn, (1,), title="Other")
    learners = [await make_user(adb_conn, f"learner_{n}") for n in range(5)]
    for n, who in enumerate(learners):
        await store.progress.enrol(who, course.id)
        await store.progress.enrol(who, other_course.id)
        for lesson in course.lessons[:n]:
            await store.progress.set_lesson_status(who, lesson, "completed")
    await store.progress.set_lesson_status(learners[0], other_course.lessons[0], "completed")

    await add_lesson(adb_conn, course.units[0], 2)  # five lessons now

    got = {who: await enrolment_row(adb_conn, who, course.id) for who in learners}
    assert {who: progress for who, (progress, _) in got.items()} == {
        learners[0]: 0,
        learners[1]: 20,
        learners[2]: 40,
        learners[3]: 60,
        learners[4]: 80,
    }
    assert got[learners[4]][1] is None  # was 100 and complete, is no longer
    # The other course's enrolments are not in the recompute.
    assert (await enrolment_row(adb_conn, learners[0], other_course.id))[0] == 100
    assert (await enrolment_row(adb_conn, learners[1], other_course.id))[0] == 0


async def test_statuses_imported_before_enrolling_count_from_the_start(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, (2,))
    await adb_conn.execute(
        "INSERT INTO user_progress (user_clerk_id, lesson_id, status, started_at, completed_at)"
        " VALUES (%s, %s, 'completed', now(), now())",
        [learner, course.lessons[0]],
    )
    enrolment = await store.progress.enrol(learner, course.id)
    assert enrolment.progress == 50


# -- the learner's view ------------------------------------------------------------------------------


async def test_the_dashboard_lists_courses_by_latest_activity(store: AsyncStore, adb_conn: AConn) -> None:
    learner = await make_user(adb_conn)
    old = await make_course(adb_conn, (2,), title="Old but active")
    recent = await make_course(adb_conn, (2,), title="Recently enrolled")
    idle = await make_course(adb_conn, (1,), title="Idle")
    for course, days in ((old, 30), (recent, 2), (idle, 60)):
        await store.progress.enrol(learner, course.id)
        await adb_conn.execute(
            "UPDATE user_courses SET enrolled_at = now() - make_interval(days => %s) WHERE course_id = %s",
            [days, course.id],
        )
    await store.progress.set_lesson_status(learner, old.lessons[0], "completed")
    await store.progress.enrol(await make_user(adb_conn, "someone_else"), idle.id)

    dashboard = await store.progress.list_courses(learner)
    assert [(c.title, c.progress) for c in dashboard] == [
        ("Old but active", 50),
        ("Recently enrolled", 0),
        ("Idle", 0),
    ]
    assert dashboard[0].last_activity_at > dashboard[0].enrolled_at
    assert dashboard[1].last_activity_at == dashboard[1].enrolled_at
    assert {c.course_status for c in dashboard} == {"published"}
    assert await store.progress.list_courses("nobody") == []
    with pytest.raises(InvalidValue, match="clerk_id"):
        await store.progress.list_courses(None)  # type: ignore[arg-type]


async def test_the_next_lesson_is_the_first_not_completed_in_course_order(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn, (2, 2))
    await store.progress.enrol(learner, course.id)

    first = await store.progress.get_next_lesson(learner, course.id)
    assert first is not None
    assert (first.lesson_id, first.unit_position, first.lesson_position, first.status) == (
        course.lessons[0],
        0,
        0,
        "not_started",
    )
    await store.progress.set_lesson_status(learner, course.lessons[0], "completed")
    await store.progress.set_lesson_status(learner, course.lessons[2], "completed")
    await store.progress.set_lesson_status(learner, course.lessons[1], "in_progress")
    resume = await store.progress.get_next_lesson(learner, course.id)
    assert resume is not None
    assert (resume.lesson_id, resume.status, resume.unit_title, resume.course_progress) == (
        course.lessons[1],
        "in_progress",
        "Unit 0",
        50,
    )
    for lesson in (course.lessons[1], course.lessons[3]):
        await store.progress.set_lesson_status(learner, lesson, "completed")
    assert await store.progress.get_next_lesson(learner, course.id) is None


async def test_the_next_lesson_of_a_course_the_learner_is_not_in_is_not_found(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learner = await make_user(adb_conn)
    course = await make_course(adb_conn)
    with pytest.raises(NotFound, match="not enrolled") as caught:
        await store.progress.get_next_lesson(learner, course.id)
    assert caught.value.field == "course_id"
    with pytest.raises(NotFound):
        await store.progress.get_enrolment(learner, course.id)


# -- author analytics ---------------------------------------------------------------------------------


async def test_course_stats_count_enrolments_completions_and_average_progress(
    store: AsyncStore, adb_conn: AConn
) -> None:
    author = await make_user(adb_conn, "author")
    course = await make_course(adb_conn, (2, 1), author=author)
    unloved = await make_course(adb_conn, (1,), author=author, title="Unloved")
    finisher, starter, idler = [await make_user(adb_conn, f"learner_{i}") for i in range(3)]
    for who in (finisher, starter, idler):
        await store.progress.enrol(who, course.id)
    for lesson in course.lessons:
        await store.progress.set_lesson_status(finisher, lesson, "completed")
    await store.progress.set_lesson_status(starter, course.lessons[0], "completed")
    await store.progress.set_lesson_status(starter, course.lessons[1], "in_progress")

    stats = await store.progress.get_course_stats(course.id)
    assert (stats.course_id, stats.enrolments, stats.completions) == (course.id, 3, 1)
    assert stats.completion_rate == pytest.approx(1 / 3)
    assert stats.average_progress == pytest.approx((100 + 33 + 0) / 3)

    per_course = await store.progress.list_author_course_stats(author)
    assert {s.course_id: (s.enrolments, s.completion_rate, s.average_progress) for s in per_course} == {
        course.id: (3, pytest.approx(1 / 3), pytest.approx(133 / 3)),
        unloved.id: (0, 0.0, 0.0),
    }

    funnel = await store.progress.list_lesson_completions(course.id)
    assert [(f.lesson_id, f.enrolments, f.started, f.completed) for f in funnel] == [
        (course.lessons[0], 3, 2, 2),
        (course.lessons[1], 3, 2, 1),
        (course.lessons[2], 3, 1, 1),
    ]


async def test_analytics_of_unknown_courses(store: AsyncStore) -> None:
    with pytest.raises(NotFound, match="no course") as caught:
        await store.progress.get_course_stats(uuid4())
    assert caught.value.field == "course_id"
    assert await store.progress.list_lesson_completions(uuid4()) == []
    assert await store.progress.list_author_course_stats("nobody") == []
    with pytest.raises(InvalidValue, match="course_id"):
        await store.progress.get_course_stats("'; SELECT 1; --")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="author_clerk_id"):
        await store.progress.list_author_course_stats(12)  # type: ignore[arg-type]


# -- the sync twin ------------------------------------------------------------------------------------


def test_the_sync_store_enrols_and_tracks_progress(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    db_conn.execute("INSERT INTO users (clerk_id) VALUES ('learner_sync')")
    course_id = uuid4()
    unit_id = uuid4()
    db_conn.execute(
        "INSERT INTO courses (id, title, status, published_at) VALUES (%s, 'Sync', 'published', now())",
        [course_id],
    )
    db_conn.execute(
        "INSERT INTO units (id, course_id, title, position) VALUES (%s, %s, 'U', 0)", [unit_id, course_id]
    )
    lesson = db_conn.execute(
        """INSERT INTO lessons (unit_id, title, content_type, content, position)
           VALUES (%s, 'L', 'text', '{"body": "b"}', 0) RETURNING id""",
        [unit_id],
    ).fetchone()
    assert lesson is not None
    store.progress.enrol("learner_sync", course_id)
    done = store.progress.set_lesson_status("learner_sync", lesson[0], "completed")
    assert (done.progress, done.completed_at is not None) == (100, True)
    draft = db_conn.execute("INSERT INTO courses (title) VALUES ('Draft') RETURNING id").fetchone()
    assert draft is not None
    with pytest.raises(Conflict, match="only published courses"):
        store.progress.enrol("learner_sync", draft[0])
    assert store.progress.get_next_lesson("learner_sync", course_id) is None


# -- races on a pool, with real commits -------------------------------------------------------------


async def test_ten_lessons_completed_concurrently_make_exactly_100(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        learner = await make_user(conn)
        course = await make_course(conn, (4, 3, 3))
    async with await learnstore.connect_async(fresh_db, max_size=8) as store:
        await store.progress.enrol(learner, course.id)
        results = await asyncio.gather(
            *(store.progress.set_lesson_status(learner, lesson, "completed") for lesson in course.lessons)
        )
        final = await store.progress.get_enrolment(learner, course.id)
        statuses = await store.progress.list_lesson_progress(learner, course.id)
    assert sorted(r.progress for r in results) == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert (final.progress, final.completed_at is not None) == (100, True)
    assert {s.status for s in statuses} == {"completed"}


async def test_concurrent_enrolments_of_one_learner_make_one_enrolment(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        learner = await make_user(conn)
        course = await make_course(conn)
        async with await learnstore.connect_async(fresh_db, max_size=8) as store:
            enrolments = await asyncio.gather(*(store.progress.enrol(learner, course.id) for _ in range(12)))
        count = await rows(conn, "SELECT count(*) FROM user_courses")
    assert len({e.id for e in enrolments}) == 1
    assert count == [(1,)]


async def test_lessons_added_while_others_are_completed_leave_the_exact_percentage(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        learners = [await make_user(conn, f"learner_{i}") for i in range(3)]
        course = await make_course(conn, (3, 3))
    authors = [await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) for _ in range(4)]
    try:
        async with await learnstore.connect_async(fresh_db, max_size=8) as store:
            for learner in learners:
                await store.progress.enrol(learner, course.id)
            completions = [
                store.progress.set_lesson_status(learner, lesson, "completed")
                for learner in learners
                for lesson in course.lessons
            ]
            additions = [
                add_lesson(author, course.units[i % 2], 3 + i // 2) for i, author in enumerate(authors)
            ]
            await asyncio.gather(*completions, *additions)
            enrolments = [await store.progress.get_enrolment(learner, course.id) for learner in learners]
            repaired = await store.progress.refresh_course(course.id)
    finally:
        for author in authors:
            await author.close()
    assert [(e.progress, e.completed_at) for e in enrolments] == [(60, None)] * 3  # floor(100 * 6 / 10)
    assert repaired == 0  # nothing was stale


async def wait_for_a_blocked_backend(monitor: AConn) -> None:
    """Return once some session of this database waits for a lock (polls a condition, not a clock)."""
    for _ in range(2000):
        found = await rows(
            monitor,
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        if found != [(0,)]:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("no session ever waited for a lock")


async def test_a_lesson_added_while_a_completion_is_uncommitted_counts_it(fresh_db: str) -> None:
    # The trigger's recompute must start after the learner's transaction commits, not merely wait
    # for its row lock: a statement that waited still reads its old snapshot.
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        learner = await make_user(conn)
        course = await make_course(conn, (3,))
        async with (
            await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as author,
            await learnstore.connect_async(fresh_db, max_size=2) as store,
        ):
            await store.progress.enrol(learner, course.id)
            for lesson in course.lessons[:2]:
                await store.progress.set_lesson_status(learner, lesson, "completed")
            async with store.transaction() as tx:
                inside = await tx.progress.set_lesson_status(learner, course.lessons[2], "completed")
                adding = asyncio.create_task(add_lesson(author, course.units[0], 3))
                await wait_for_a_blocked_backend(conn)
            await adding
            final = await store.progress.get_enrolment(learner, course.id)
            assert await store.progress.refresh_course(course.id) == 0
    assert inside.progress == 100
    assert (final.progress, final.completed_at) == (75, None)


async def test_a_completion_while_a_lesson_insert_is_uncommitted_counts_the_new_lesson(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        learner = await make_user(conn)
        course = await make_course(conn, (3,))
        async with (
            await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as author,
            await learnstore.connect_async(fresh_db, max_size=2) as store,
        ):
            await store.progress.enrol(learner, course.id)
            for lesson in course.lessons[:2]:
                await store.progress.set_lesson_status(learner, lesson, "completed")
            async with author.transaction():
                await add_lesson(author, course.units[0], 3)
                completing = asyncio.create_task(
                    store.progress.set_lesson_status(learner, course.lessons[2], "completed")
                )
                await wait_for_a_blocked_backend(conn)
            returned = await completing
            final = await store.progress.get_enrolment(learner, course.id)
            assert await store.progress.refresh_course(course.id) == 0
    assert (returned.progress, returned.completed_at) == (75, None)
    assert final == returned


async def test_unenrolling_while_completing_never_leaves_statuses_without_an_enrolment(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        learner = await make_user(conn)
        course = await make_course(conn, (3, 3))
        async with await learnstore.connect_async(fresh_db, max_size=8) as store:
            for _ in range(5):
                await store.progress.enrol(learner, course.id)
                outcomes = await asyncio.gather(
                    *(
                        store.progress.set_lesson_status(learner, lesson, "completed")
                        for lesson in course.lessons
                    ),
                    store.progress.unenrol(learner, course.id),
                    return_exceptions=True,
                )
                refused = [o for o in outcomes if isinstance(o, BaseException)]
                assert all(isinstance(o, Conflict) for o in refused), refused
                assert outcomes[-1] is True
                orphans = await rows(
                    conn,
                    "SELECT count(*) FROM user_progress p WHERE NOT EXISTS"
                    " (SELECT FROM user_courses uc WHERE uc.user_clerk_id = p.user_clerk_id)",
                )
                assert orphans == [(0,)]
