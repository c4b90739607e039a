"""The content domain on a real database: courses, ordered units and lessons, media, quizzes, the tree."""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pydantic
import pytest
from psycopg import pq, sql
from psycopg.abc import Params, QueryNoTemplate

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import InvalidReference, InvalidValue, NotFound
from learnstore.queries.content import AsyncQuerier
from learnstore.queries.models import Course, Lesson, Unit
from learnstore.repositories.content_async import CourseTree, TextContent, VideoContent

AConn = psycopg.AsyncConnection[Any]
TEXT = {"body": "Read me."}


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def make_user(store: AsyncStore, clerk_id: str, first_name: str = "Ada") -> None:
    await store.users.apply_clerk_event(
        {"type": "user.created", "data": {"id": clerk_id, "first_name": first_name, "updated_at": 1}}
    )


async def make_course(
    store: AsyncStore, outline: dict[str, list[str]], *, author: str = "author_1", title: str = "SQL"
) -> tuple[Course, list[Unit], dict[str, Lesson]]:
    """A course with units and lessons (text lessons) in the order given."""
    if await store.users.get_or_none(author) is None:
        await make_user(store, author)
    course = await store.content.create_course(author, title)
    units, lessons = [], {}
    for unit_title, lesson_titles in outline.items():
        unit = await store.content.add_unit(course.id, unit_title)
        units.append(unit)
        for lesson_title in lesson_titles:
            lessons[lesson_title] = await store.content.add_lesson(unit.id, lesson_title, "text", TEXT)
    return course, units, lessons


async def fetch(conn: AConn, query: QueryNoTemplate, params: Params | None = None) -> list[tuple[Any, ...]]:
    cur = await conn.execute(query, params)
    return await cur.fetchall()


async def outline(conn: AConn, course_id: UUID) -> dict[str, list[str]]:
    """The course as {unit title: [lesson titles]} in order, read from the tables; asserts that
    every position is dense (0..n-1) and unique."""
    units = await fetch(
        conn, "SELECT id, title, position FROM units WHERE course_id = %s ORDER BY position", [course_id]
    )
    assert [position for _, _, position in units] == list(range(len(units))), units
    result = {}
    for unit_id, title, _ in units:
        lessons = await fetch(
            conn, "SELECT title, position FROM lessons WHERE unit_id = %s ORDER BY position", [unit_id]
        )
        assert [position for _, position in lessons] == list(range(len(lessons))), lessons
        result[title] = [lesson_title for lesson_title, _ in lessons]
    return result


async def count(conn: AConn, table: str) -> int:
    rows = await fetch(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    return int(rows[0][0])


# -- courses ---------------------------------------------------------------------------------------


async def test_a_new_course_is_a_draft_with_everything_given(store: AsyncStore, adb_conn: AConn) -> None:
    await make_user(store, "author_1")
    language = (
        await fetch(adb_conn, "INSERT INTO languages (code, name) VALUES ('pt', 'Portuguese') RETURNING id")
    )[0][0]
    course = await store.content.create_course(
        "author_1",
        "Portuguese for travellers",
        description="Phrases for the road.",
        difficulty="intermediate",
        estimated_duration_minutes=90,
        learning_objectives=("Order a coffee", "Ask the way"),
        cover_image_url="https://img.example.com/pt.png",
        language_id=language,
        open_to_collaboration=True,
    )
    assert (course.status, course.published_at) == ("draft", None)
    assert course.learning_objectives == ["Order a coffee", "Ask the way"]
    assert (course.difficulty, course.estimated_duration_minutes, course.language_id) == (
        "intermediate",
        90,
        language,
    )
    assert course.open_to_collaboration is True
    assert await store.content.get_course(course.id) == course


async def test_publish_unpublish_and_archive_move_the_course_between_states(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course, _, _ = await make_course(store, {})
    published = await store.content.publish_course(course.id)
    assert published.status == "published" and published.published_at is not None
    # Publishing again keeps the first publication date.
    await adb_conn.execute("UPDATE courses SET published_at = '2020-01-01Z' WHERE id = %s", [course.id])
    again = await store.content.publish_course(course.id)
    assert again.published_at is not None and again.published_at.year == 2020
    draft = await store.content.unpublish_course(course.id)
    assert (draft.status, draft.published_at) == ("draft", None)
    archived = await store.content.archive_course(course.id)
    assert (archived.status, archived.published_at) == ("archived", None)
    assert (await store.content.publish_course(course.id)).status == "published"
    for change in (
        store.content.publish_course,
        store.content.unpublish_course,
        store.content.archive_course,
    ):
        with pytest.raises(NotFound) as caught:
            await change(uuid4())
        assert caught.value.field == "course_id"


async def test_update_course_changes_only_what_is_given_and_none_clears(store: AsyncStore) -> None:
    await make_user(store, "author_1")
    course = await store.content.create_course(
        "author_1", "SQL", estimated_duration_minutes=30, cover_image_url="https://img.example.com/a.png"
    )
    updated = await store.content.update_course(
        course.id, title="SQL in depth", cover_image_url=None, learning_objectives=["JOINs"]
    )
    assert (updated.title, updated.cover_image_url, updated.learning_objectives) == (
        "SQL in depth",
        None,
        ["JOINs"],
    )
    assert updated.estimated_duration_minutes == 30 and updated.difficulty == "beginner"
    same = await store.content.update_course(course.id)
    assert same.title == "SQL in depth" and same.estimated_duration_minutes == 30
    with pytest.raises(NotFound):
        await store.content.update_course(uuid4(), title="Nothing")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": "  \t "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": 42}, "title"),
        ({"description": "x" * 20_001}, "description"),
        ({"difficulty": "expert"}, "difficulty"),
        ({"estimated_duration_minutes": 0}, "estimated_duration_minutes"),
        ({"estimated_duration_minutes": 2**31}, "estimated_duration_minutes"),
        ({"cover_image_url": "javascript:alert(1)"}, "cover_image_url"),
        ({"cover_image_url": "https://" + "x" * 2048}, "cover_image_url"),
        ({"learning_objectives": ["ok", ""]}, "learning_objectives"),
        ({"learning_objectives": ["x"] * 51}, "learning_objectives"),
        ({"language_id": "not-a-uuid"}, "language_id"),
        ({"open_to_collaboration": None}, "open_to_collaboration"),
    ],
)
async def test_bad_course_fields_are_invalid_values_and_change_nothing(
    store: AsyncStore, adb_conn: AConn, changes: dict[str, Any], field: str
) -> None:
    await make_user(store, "author_1")
    course = await store.content.create_course("author_1", "Kept")
    with pytest.raises(InvalidValue) as caught:
        await store.content.update_course(course.id, **changes)
    assert caught.value.field is not None and caught.value.field.startswith(field)
    with pytest.raises(InvalidValue) as caught:
        await store.content.create_course("author_1", **{"title": "New", **changes})
    assert caught.value.field is not None and caught.value.field.startswith(field)
    assert await store.content.get_course(course.id) == course
    assert await count(adb_conn, "courses") == 1


async def test_an_unknown_author_or_language_is_an_invalid_reference(
    store: AsyncStore, adb_conn: AConn
) -> None:
    with pytest.raises(InvalidReference) as caught:
        await store.content.create_course("ghost", "Nobody's")
    assert caught.value.constraint == "courses_author_clerk_id_fkey"
    for author in ("", "   ", "x" * 65, None):
        with pytest.raises(InvalidValue) as invalid:
            await store.content.create_course(author, "Nobody's")  # type: ignore[arg-type]
        assert invalid.value.field == "author_clerk_id"
    await make_user(store, "author_1")
    with pytest.raises(InvalidReference) as caught:
        await store.content.create_course("author_1", "Lost in translation", language_id=uuid4())
    assert caught.value.constraint == "courses_language_id_fkey"
    assert await count(adb_conn, "courses") == 0


@pytest.mark.parametrize(
    "title",
    [
        "Robert'); DROP TABLE courses; --",
        "%s %(title)s %% {}",
        "$$ ; $1 E'\\x00' :name @> ?",
        "Ünïcødé — 日本語 🎓",
    ],
)
async def test_sql_metacharacters_in_titles_are_stored_as_written(
    store: AsyncStore, adb_conn: AConn, title: str
) -> None:
    course, units, _ = await make_course(store, {title: []}, title=title)
    lesson = await store.content.add_lesson(units[0].id, title, "text", {"body": title})
    tree = await store.content.get_course_tree(course.id, include_unpublished=True)
    assert tree.course.title == tree.units[0].title == tree.units[0].lessons[0].title == title
    assert (await store.content.get_lesson(lesson.id)).content == {"body": title}
    assert await count(adb_conn, "courses") == 1


async def test_unknown_courses_are_not_found(store: AsyncStore) -> None:
    with pytest.raises(NotFound) as caught:
        await store.content.get_course(uuid4())
    assert caught.value.field == "course_id"
    assert await store.content.get_course_or_none(uuid4()) is None
    assert await store.content.delete_course(uuid4()) is False


async def test_an_authors_courses_by_status(store: AsyncStore) -> None:
    first, _, _ = await make_course(store, {}, title="First")
    second, _, _ = await make_course(store, {}, title="Second")
    await make_course(store, {}, author="someone_else", title="Theirs")
    await store.content.publish_course(second.id)
    assert {c.id for c in await store.content.list_author_courses("author_1")} == {first.id, second.id}
    assert [c.id for c in await store.content.list_author_courses("author_1", status="published")] == [
        second.id
    ]
    assert [c.id for c in await store.content.list_author_courses("author_1", status="draft")] == [first.id]
    with pytest.raises(InvalidValue) as caught:
        await store.content.list_author_courses("author_1", status="deleted")  # type: ignore[arg-type]
    assert caught.value.field == "status"


async def test_collaborators_are_listed_with_their_names_and_roles(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course, _, _ = await make_course(store, {})
    await make_user(store, "bo", first_name="Bo")
    await make_user(store, "cy", first_name="Cy")
    await make_user(store, "di", first_name="Di")
    # di's invitation is still pending: not a collaborator yet
    await adb_conn.execute(
        "INSERT INTO collaborators (course_id, user_clerk_id, role, status)"
        " VALUES (%(c)s, 'bo', 'editor', 'accepted'), (%(c)s, 'cy', 'reviewer', 'accepted'),"
        " (%(c)s, 'di', 'editor', 'pending')",
        {"c": course.id},
    )
    collaborators = await store.content.list_collaborators(course.id)
    assert {(c.clerk_id, c.first_name, c.role) for c in collaborators} == {
        ("bo", "Bo", "editor"),
        ("cy", "Cy", "reviewer"),
    }
    assert await store.content.list_collaborators(uuid4()) == []


async def test_deleting_a_course_deletes_everything_under_it(store: AsyncStore, adb_conn: AConn) -> None:
    course, _, lessons = await make_course(store, {"U1": ["L1", "L2"], "U2": ["L3"]})
    await store.content.add_media(lessons["L1"].id, "image", "https://cdn.example.com/a.png")
    quiz = await store.content.add_quiz(lessons["L1"].id, "flashcard", "Capital of France?", "Paris")
    await make_user(store, "learner")
    await store.content.record_quiz_attempt(quiz.id, "learner", "Paris")
    assert await store.content.delete_course(course.id) is True
    for table in ("courses", "units", "lessons", "media", "quizzes", "quiz_attempts"):
        assert await count(adb_conn, table) == 0, table
    assert await store.content.delete_course(course.id) is False
    assert await store.users.get_or_none("learner") is not None


# -- units and lessons in order -------------------------------------------------------------------


async def test_units_go_at_the_end_or_at_a_position_and_stay_dense(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course, _, _ = await make_course(store, {"B": []})
    await store.content.add_unit(course.id, "D")  # at the end
    await store.content.add_unit(course.id, "A", position=0)
    await store.content.add_unit(course.id, "C", position=2)
    added = await store.content.add_unit(course.id, "E", position=4, description="last")  # == count: the end
    assert (added.position, added.description) == (4, "last")
    assert list(await outline(adb_conn, course.id)) == ["A", "B", "C", "D", "E"]
    assert [u.title for u in await store.content.list_units(course.id)] == ["A", "B", "C", "D", "E"]


async def test_moving_a_unit_shifts_the_units_between(store: AsyncStore, adb_conn: AConn) -> None:
    course, units, _ = await make_course(store, {"A": [], "B": [], "C": [], "D": []})
    a, b, c, d = units
    assert (await store.content.move_unit(a.id, 2)).position == 2
    assert list(await outline(adb_conn, course.id)) == ["B", "C", "A", "D"]
    await store.content.move_unit(d.id, 0)
    assert list(await outline(adb_conn, course.id)) == ["D", "B", "C", "A"]
    await store.content.move_unit(d.id, None)  # to the end
    assert list(await outline(adb_conn, course.id)) == ["B", "C", "A", "D"]
    await store.content.move_unit(c.id, 1)  # where it already is
    assert list(await outline(adb_conn, course.id)) == ["B", "C", "A", "D"]
    renamed = await store.content.update_unit(b.id, title="Basics", description="Start here")
    assert (renamed.title, renamed.description, renamed.position) == ("Basics", "Start here", 0)


async def test_deleting_a_unit_closes_the_gap_and_takes_its_lessons(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course, units, _ = await make_course(store, {"A": ["a1"], "B": ["b1", "b2"], "C": ["c1"]})
    assert await store.content.delete_unit(units[1].id) is True
    assert await outline(adb_conn, course.id) == {"A": ["a1"], "C": ["c1"]}
    assert await count(adb_conn, "lessons") == 2
    assert await store.content.delete_unit(units[1].id) is False


async def test_lessons_go_at_the_end_or_at_a_position(store: AsyncStore, adb_conn: AConn) -> None:
    course, units, _ = await make_course(store, {"U": ["b", "d"]})
    unit = units[0]
    await store.content.add_lesson(unit.id, "a", "text", TEXT, position=0)
    await store.content.add_lesson(unit.id, "c", "text", TEXT, position=2)
    await store.content.add_lesson(unit.id, "e", "text", TEXT, position=4)
    assert await outline(adb_conn, course.id) == {"U": ["a", "b", "c", "d", "e"]}
    assert [lesson.title for lesson in await store.content.list_lessons(unit.id)] == ["a", "b", "c", "d", "e"]


async def test_moving_a_lesson_within_its_unit(store: AsyncStore, adb_conn: AConn) -> None:
    course, _, lessons = await make_course(store, {"U": ["a", "b", "c", "d"]})
    moved = await store.content.move_lesson(lessons["a"].id, 3)
    assert moved.position == 3
    assert await outline(adb_conn, course.id) == {"U": ["b", "c", "d", "a"]}
    await store.content.move_lesson(lessons["d"].id, 0)
    assert await outline(adb_conn, course.id) == {"U": ["d", "b", "c", "a"]}
    await store.content.move_lesson(lessons["d"].id)  # to the end of its unit
    assert await outline(adb_conn, course.id) == {"U": ["b", "c", "a", "d"]}
    await store.content.move_lesson(lessons["c"].id, 1)  # where it already is
    assert await outline(adb_conn, course.id) == {"U": ["b", "c", "a", "d"]}


async def test_moving_a_lesson_to_another_unit_of_its_course(store: AsyncStore, adb_conn: AConn) -> None:
    course, units, lessons = await make_course(store, {"A": ["a1", "a2", "a3"], "B": ["b1", "b2"]})
    moved = await store.content.move_lesson(lessons["a1"].id, 1, unit_id=units[1].id)
    assert (moved.unit_id, moved.position) == (units[1].id, 1)
    assert await outline(adb_conn, course.id) == {"A": ["a2", "a3"], "B": ["b1", "a1", "b2"]}
    await store.content.move_lesson(lessons["a3"].id, unit_id=units[1].id)  # at the end
    await store.content.move_lesson(lessons["b1"].id, 0, unit_id=units[0].id)
    assert await outline(adb_conn, course.id) == {"A": ["b1", "a2"], "B": ["a1", "b2", "a3"]}


async def test_a_lesson_cannot_move_to_a_unit_of_another_course(store: AsyncStore, adb_conn: AConn) -> None:
    course, _, lessons = await make_course(store, {"A": ["a1", "a2"]})
    other, other_units, _ = await make_course(store, {"X": ["x1"]}, title="Other")
    with pytest.raises(InvalidReference) as caught:
        await store.content.move_lesson(lessons["a1"].id, 0, unit_id=other_units[0].id)
    assert caught.value.field == "unit_id"
    assert caught.value.constraint == "lessons_move_same_course"
    assert "own course" in str(caught.value) and str(other.id) in str(caught.value)
    assert await outline(adb_conn, course.id) == {"A": ["a1", "a2"]}
    assert await outline(adb_conn, other.id) == {"X": ["x1"]}


async def test_deleting_a_lesson_closes_the_gap(store: AsyncStore, adb_conn: AConn) -> None:
    course, _, lessons = await make_course(store, {"U": ["a", "b", "c"]})
    await store.content.add_media(lessons["b"].id, "file", "https://cdn.example.com/b.pdf")
    assert await store.content.delete_lesson(lessons["b"].id) is True
    assert await outline(adb_conn, course.id) == {"U": ["a", "c"]}
    assert await count(adb_conn, "media") == 0
    assert await store.content.delete_lesson(lessons["b"].id) is False


@pytest.mark.parametrize("position", [-1, 3, 99, 2**31, True, "1", 1.5])
async def test_a_position_out_of_range_or_not_an_integer_changes_nothing(
    store: AsyncStore, adb_conn: AConn, position: Any
) -> None:
    # Two units, two lessons in the first: a new lesson may go at 0..2, a moved one at 0..1.
    course, units, lessons = await make_course(store, {"A": ["a1", "a2"], "B": []})
    before = await outline(adb_conn, course.id)
    attempts = [
        store.content.add_lesson(units[0].id, "new", "text", TEXT, position=position),
        store.content.move_lesson(lessons["a1"].id, position if position != 3 else 2),
        store.content.add_unit(course.id, "new", position=position),
        store.content.move_unit(units[0].id, position if position != 3 else 2),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidValue) as caught:
            await attempt
        assert caught.value.field == "position"
    assert await outline(adb_conn, course.id) == before


async def test_a_position_past_the_end_names_the_valid_range(store: AsyncStore) -> None:
    _, units, lessons = await make_course(store, {"A": ["a1", "a2"]})
    with pytest.raises(InvalidValue, match="between 0 and 2"):
        await store.content.add_lesson(units[0].id, "new", "text", TEXT, position=3)
    with pytest.raises(InvalidValue, match="between 0 and 1"):
        await store.content.move_lesson(lessons["a1"].id, 2)


async def test_unknown_ids_are_not_found_and_change_nothing(store: AsyncStore, adb_conn: AConn) -> None:
    course, units, lessons = await make_course(store, {"A": ["a1"]})
    ghost = uuid4()
    cases = [
        (store.content.add_unit(ghost, "U"), "course_id"),
        (store.content.add_lesson(ghost, "L", "text", TEXT), "unit_id"),
        (store.content.move_unit(ghost, 0), "unit_id"),
        (store.content.move_lesson(ghost, 0), "lesson_id"),
        (store.content.move_lesson(lessons["a1"].id, 0, unit_id=ghost), "unit_id"),
        (store.content.get_unit(ghost), "unit_id"),
        (store.content.update_unit(ghost, title="T"), "unit_id"),
        (store.content.get_lesson(ghost), "lesson_id"),
        (store.content.update_lesson(ghost, title="T"), "lesson_id"),
        (store.content.get_quiz(ghost), "quiz_id"),
        (store.content.get_course_tree(ghost, include_unpublished=True), "course_id"),
    ]
    for call, field in cases:
        with pytest.raises(NotFound) as caught:
            await call
        assert caught.value.field == field
    assert await store.content.delete_unit(ghost) is False
    assert await store.content.delete_lesson(ghost) is False
    assert await store.content.delete_media(ghost) is False
    assert await store.content.delete_quiz(ghost) is False
    assert await outline(adb_conn, course.id) == {"A": ["a1"]}
    assert units[0] == await store.content.get_unit(units[0].id)


# -- lesson content -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "content", "stored"),
    [
        ("video", {"url": "https://v.example.com/1.mp4", "duration_seconds": 90},
         {"url": "https://v.example.com/1.mp4", "duration_seconds": 90}),
        ("video", VideoContent(url="http://v.example.com/2.mp4", transcript="Hi"),
         {"url": "http://v.example.com/2.mp4", "transcript": "Hi"}),
        ("audio", {"url": "https://a.example.com/1.mp3"}, {"url": "https://a.example.com/1.mp3"}),
        ("text", TextContent(body="# Title\n\nSome *markdown*."), {"body": "# Title\n\nSome *markdown*."}),
        ("exercise", {"prompt": "Write a JOIN", "hints": ["ON", "USING"], "solution": "SELECT ..."},
         {"prompt": "Write a JOIN", "hints": ["ON", "USING"], "solution": "SELECT ..."}),
        ("exercise", {"prompt": "Try"}, {"prompt": "Try", "hints": []}),
    ],
)  # fmt: skip
async def test_each_content_type_stores_its_shape(
    store: AsyncStore, content_type: Any, content: Any, stored: dict[str, Any]
) -> None:
    _, units, _ = await make_course(store, {"U": []})
    lesson = await store.content.add_lesson(units[0].id, "L", content_type, content, duration_seconds=300)
    assert (lesson.content_type, lesson.content, lesson.duration_seconds) == (content_type, stored, 300)


@pytest.mark.parametrize(
    ("content_type", "content", "field"),
    [
        ("video", {}, "url"),
        ("video", {"url": "ftp://v.example.com/1.mp4"}, "url"),
        ("video", {"url": "https://v.example.com/a b.mp4"}, "url"),
        ("video", {"url": "https://v.example.com/1.mp4", "duration_seconds": -5}, "duration_seconds"),
        ("audio", {"body": "not audio"}, "url"),
        ("text", {"url": "https://v.example.com/1.mp4"}, "body"),
        ("text", {"body": "   "}, "body"),
        ("text", {"body": "x" * 200_001}, "body"),
        ("text", {"body": "ok", "unexpected": 1}, "unexpected"),
        ("text", ["body"], "content"),
        ("text", "just a string", "content"),
        ("text", VideoContent(url="https://v.example.com/1.mp4"), "content"),
        ("exercise", {"prompt": "Try", "hints": "not a list"}, "hints"),
        ("exercise", {"prompt": 42}, "prompt"),
        ("podcast", {"url": "https://p.example.com/1.mp3"}, "content_type"),
        (None, TEXT, "content_type"),
    ],
)
async def test_content_that_does_not_fit_its_type_is_rejected_before_the_database(
    store: AsyncStore, adb_conn: AConn, content_type: Any, content: Any, field: str
) -> None:
    course, units, lessons = await make_course(store, {"U": ["kept"]})
    with pytest.raises(InvalidValue) as caught:
        await store.content.add_lesson(units[0].id, "L", content_type, content)
    assert caught.value.field is not None and field in caught.value.field
    with pytest.raises(InvalidValue) as caught:
        await store.content.update_lesson(lessons["kept"].id, content_type=content_type, content=content)
    assert caught.value.field is not None and field in caught.value.field
    assert await outline(adb_conn, course.id) == {"U": ["kept"]}
    assert await store.content.get_lesson(lessons["kept"].id) == lessons["kept"]


async def test_updating_a_lesson_changes_type_and_content_together(store: AsyncStore) -> None:
    _, _, lessons = await make_course(store, {"U": ["a"]})
    lesson = lessons["a"]
    video = await store.content.update_lesson(
        lesson.id, content_type="video", content={"url": "https://v.example.com/a.mp4"}, duration_seconds=60
    )
    assert (video.content_type, video.content, video.duration_seconds) == (
        "video",
        {"url": "https://v.example.com/a.mp4"},
        60,
    )
    for half in ({"content_type": "text"}, {"content": TEXT}):
        with pytest.raises(InvalidValue, match="together"):
            await store.content.update_lesson(lesson.id, **half)
    renamed = await store.content.update_lesson(lesson.id, title="Watch this", duration_seconds=None)
    assert (renamed.title, renamed.content_type, renamed.duration_seconds) == ("Watch this", "video", None)
    with pytest.raises(InvalidValue) as caught:
        await store.content.update_lesson(lesson.id, title="")
    assert caught.value.field == "title"
    assert await store.content.get_lesson(lesson.id) == renamed


async def test_the_schema_check_backs_up_the_content_shape(adb_conn: AConn, store: AsyncStore) -> None:
    _, units, _ = await make_course(store, {"U": []})
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        async with adb_conn.transaction():
            await adb_conn.execute(
                "SELECT add_lesson(%s, 'L', 'video', '{\"body\": \"no url\"}', NULL, NULL)", [units[0].id]
            )
    assert caught.value.diag.constraint_name == "lessons_content_shape"


# -- media and quizzes ------------------------------------------------------------------------------


async def test_media_is_attached_to_a_lesson(store: AsyncStore, adb_conn: AConn) -> None:
    _, _, lessons = await make_course(store, {"U": ["a"]})
    image = await store.content.add_media(
        lessons["a"].id, "image", "https://cdn.example.com/a.png", title="Diagram"
    )
    await store.content.add_media(lessons["a"].id, "audio", "https://cdn.example.com/a.mp3")
    assert {m.media_type for m in await store.content.list_media(lessons["a"].id)} == {"image", "audio"}
    assert await store.content.delete_media(image.id) is True
    with pytest.raises(InvalidValue) as caught:
        await store.content.add_media(lessons["a"].id, "video", "https://cdn.example.com/a.mp4")  # type: ignore[arg-type]
    assert caught.value.field == "media_type"
    with pytest.raises(InvalidValue) as caught:
        await store.content.add_media(lessons["a"].id, "image", "data:image/png;base64,AAAA")
    assert caught.value.field == "url"
    with pytest.raises(InvalidReference) as ref:
        await store.content.add_media(uuid4(), "image", "https://cdn.example.com/b.png")
    assert ref.value.constraint == "media_lesson_id_fkey"
    assert await count(adb_conn, "media") == 1


async def test_quizzes_of_each_type(store: AsyncStore) -> None:
    _, _, lessons = await make_course(store, {"U": ["a"]})
    lesson_id = lessons["a"].id
    mcq = await store.content.add_quiz(lesson_id, "mcq", "2 + 2?", "4", options=["3", "4", "5"])
    multi = await store.content.add_quiz(lesson_id, "mcq", "Even?", ["2", "4"], options=("1", "2", "4"))
    card = await store.content.add_quiz(lesson_id, "flashcard", "Olá means", "Hello")
    blank = await store.content.add_quiz(
        lesson_id, "fill_blank", "The capital of France is ___", ["Paris", "París"]
    )
    assert (mcq.options, mcq.correct_answer) == (["3", "4", "5"], "4")
    assert multi.correct_answer == ["2", "4"]
    assert (card.options, card.correct_answer) == ([], "Hello")
    assert blank.correct_answer == ["Paris", "París"]
    assert {q.id for q in await store.content.list_quizzes(lesson_id)} == {
        mcq.id,
        multi.id,
        card.id,
        blank.id,
    }
    assert (await store.content.get_quiz(card.id)).question == "Olá means"
    assert await store.content.delete_quiz(card.id) is True
    assert len(await store.content.list_quizzes(lesson_id)) == 3


@pytest.mark.parametrize(
    ("question_type", "question", "answer", "options", "field"),
    [
        ("mcq", "Pick", "a", ["a"], "options"),
        ("mcq", "Pick", "a", [], "options"),
        ("mcq", "Pick", "c", ["a", "b"], "correct_answer"),
        ("mcq", "Pick", ["a", "c"], ["a", "b"], "correct_answer"),
        ("mcq", "Pick", [], ["a", "b"], "correct_answer"),
        ("mcq", "Pick", ["a", "a"], ["a", "b"], "correct_answer"),
        ("mcq", "Pick", "a", ["a", "a"], "options"),
        ("mcq", "Pick", "a", ["a", ""], "options"),
        ("mcq", "Pick", "a", ["a", 2], "options"),
        ("flashcard", "Front", "Back", ["a", "b"], "options"),
        ("flashcard", "Front", ["Back", "Other"], [], "correct_answer"),
        ("flashcard", "Front", "", [], "correct_answer"),
        ("fill_blank", "___", 4, [], "correct_answer"),
        ("fill_blank", "   ", "x", [], "question"),
        ("fill_blank", "x" * 2001, "x", [], "question"),
        ("essay", "Discuss", "x", [], "question_type"),
    ],
)
async def test_a_quiz_whose_answer_does_not_fit_its_type_is_rejected(
    store: AsyncStore,
    adb_conn: AConn,
    question_type: Any,
    question: str,
    answer: Any,
    options: Any,
    field: str,
) -> None:
    _, _, lessons = await make_course(store, {"U": ["a"]})
    with pytest.raises(InvalidValue) as caught:
        await store.content.add_quiz(lessons["a"].id, question_type, question, answer, options=options)
    assert caught.value.field is not None and caught.value.field.startswith(field)
    assert await count(adb_conn, "quizzes") == 0


async def test_a_quiz_on_an_unknown_lesson_is_an_invalid_reference(store: AsyncStore) -> None:
    with pytest.raises(InvalidReference) as caught:
        await store.content.add_quiz(uuid4(), "flashcard", "Front", "Back")
    assert caught.value.constraint == "quizzes_lesson_id_fkey"


@pytest.mark.parametrize(
    ("question_type", "correct", "options", "answer", "is_correct"),
    [
        ("mcq", "4", ["3", "4"], "4", True),
        ("mcq", "4", ["3", "4"], "3", False),
        ("mcq", "4", ["3", "4"], " 4", False),
        ("mcq", "4", ["3", "4"], ["4"], False),
        ("mcq", ["2", "4"], ["1", "2", "4"], ["4", "2"], True),
        ("mcq", ["2", "4"], ["1", "2", "4"], ["2"], False),
        ("mcq", ["2", "4"], ["1", "2", "4"], ["1", "2", "4"], False),
        ("mcq", ["2", "4"], ["1", "2", "4"], "2", False),
        ("flashcard", "Hello", [], "  hello ", True),
        ("flashcard", "Good morning", [], "good   MORNING", True),
        ("flashcard", "Hello", [], "Goodbye", False),
        ("fill_blank", ["Paris", "París"], [], "parís", True),
        ("fill_blank", "4", [], 4, True),
        ("fill_blank", "4", [], 4.0, False),
        ("fill_blank", "Paris", [], ["Paris"], False),
        ("fill_blank", "Paris", [], "", False),
    ],
)
async def test_an_attempt_is_scored_and_recorded(
    store: AsyncStore,
    adb_conn: AConn,
    question_type: Any,
    correct: Any,
    options: list[str],
    answer: Any,
    is_correct: bool,
) -> None:
    _, _, lessons = await make_course(store, {"U": ["a"]})
    await make_user(store, "learner")
    quiz = await store.content.add_quiz(lessons["a"].id, question_type, "Q", correct, options=options)
    attempt = await store.content.record_quiz_attempt(quiz.id, "learner", answer)
    assert (attempt.is_correct, attempt.answer, attempt.user_clerk_id) == (is_correct, answer, "learner")
    assert await store.content.list_quiz_attempts(quiz.id, "learner") == [attempt]


async def test_a_bad_attempt_records_nothing(store: AsyncStore, adb_conn: AConn) -> None:
    _, _, lessons = await make_course(store, {"U": ["a"]})
    await make_user(store, "learner")
    quiz = await store.content.add_quiz(lessons["a"].id, "flashcard", "Q", "A")
    with pytest.raises(NotFound) as not_found:
        await store.content.record_quiz_attempt(uuid4(), "learner", "A")
    assert not_found.value.field == "quiz_id"
    with pytest.raises(InvalidReference) as unknown_user:
        await store.content.record_quiz_attempt(quiz.id, "ghost", "A")
    assert unknown_user.value.constraint == "quiz_attempts_user_clerk_id_fkey"
    for answer in ({"a": 1}, True, None, "x" * 2001, ["x"] * 21, [1, 2]):
        with pytest.raises(InvalidValue) as caught:
            await store.content.record_quiz_attempt(quiz.id, "learner", answer)  # type: ignore[arg-type]
        assert caught.value.field is not None and caught.value.field.startswith("answer")
    assert await count(adb_conn, "quiz_attempts") == 0


async def test_a_learner_passes_a_lessons_quizzes_by_answering_each_right_once(store: AsyncStore) -> None:
    _, _, lessons = await make_course(store, {"U": ["quizzed", "plain"]})
    await make_user(store, "learner")
    await make_user(store, "other")
    lesson_id = lessons["quizzed"].id
    first = await store.content.add_quiz(lesson_id, "mcq", "2 + 2?", "4", options=["3", "4"])
    second = await store.content.add_quiz(lesson_id, "flashcard", "Olá", "Hello")
    assert await store.content.has_passed_lesson_quizzes("learner", lesson_id) is False
    await store.content.record_quiz_attempt(first.id, "learner", "3")
    await store.content.record_quiz_attempt(first.id, "learner", "4")
    await store.content.record_quiz_attempt(
        first.id, "learner", "3"
    )  # a later wrong answer takes nothing away
    await store.content.record_quiz_attempt(second.id, "other", "Hello")  # someone else's answer counts not
    counts = await store.content.count_lesson_quizzes_passed("learner", lesson_id)
    assert (counts.quizzes, counts.passed) == (2, 1)
    await store.content.record_quiz_attempt(second.id, "learner", "hello")
    assert await store.content.has_passed_lesson_quizzes("learner", lesson_id) is True
    assert await store.content.has_passed_lesson_quizzes("other", lesson_id) is False
    # A lesson without quizzes is passed; an unknown lesson is not found.
    assert await store.content.has_passed_lesson_quizzes("learner", lessons["plain"].id) is True
    with pytest.raises(NotFound) as caught:
        await store.content.count_lesson_quizzes_passed("learner", uuid4())
    assert caught.value.field == "lesson_id"


# -- the course tree --------------------------------------------------------------------------------


async def test_the_tree_nests_units_and_lessons_in_order_with_counts(store: AsyncStore) -> None:
    course, _, lessons = await make_course(
        store, {"Intro": ["hello", "setup"], "Queries": ["select"], "Empty": []}
    )
    await store.content.move_lesson(lessons["setup"].id, 0)
    await store.content.add_media(lessons["hello"].id, "image", "https://cdn.example.com/1.png")
    await store.content.add_media(lessons["hello"].id, "audio", "https://cdn.example.com/1.mp3")
    await store.content.add_quiz(lessons["select"].id, "flashcard", "SELECT does?", "reads")
    await store.content.publish_course(course.id)
    tree = await store.content.get_course_tree(course.id)
    assert isinstance(tree, CourseTree)
    assert tree.course.id == course.id and tree.course.status == "published"
    assert [(u.title, u.position) for u in tree.units] == [("Intro", 0), ("Queries", 1), ("Empty", 2)]
    assert [(lesson.title, lesson.position) for lesson in tree.units[0].lessons] == [
        ("setup", 0),
        ("hello", 1),
    ]
    hello = tree.units[0].lessons[1]
    assert (hello.id, hello.content_type, hello.media_count, hello.quiz_count) == (
        lessons["hello"].id,
        "text",
        2,
        0,
    )
    assert tree.units[1].lessons[0].quiz_count == 1
    assert tree.units[2].lessons == []
    assert [lesson.title for lesson in tree.lessons()] == ["setup", "hello", "select"]


async def test_the_tree_document_is_parsed_into_the_models_and_bad_data_fails_loudly(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course, _, lessons = await make_course(store, {"Intro": ["hello"]})
    await store.content.publish_course(course.id)
    # What the server sends: the document as text, which get_course_tree parses once, validated.
    text = await AsyncQuerier(adb_conn).get_course_tree(course_id=course.id, include_unpublished=False)
    assert isinstance(text, str)
    assert CourseTree.model_validate_json(text) == await store.content.get_course_tree(course.id)
    hello = str(lessons["hello"].id)
    for bad in (
        text.replace(hello, "not-a-uuid"),
        text.replace('"content_type" : "text"', '"content_type" : "hologram"'),
        text.replace('"media_count" : 0', '"media_count" : "none"'),
        text.replace('"units"', '"unit"'),
        text[:-1],
    ):
        assert bad != text
        with pytest.raises(pydantic.ValidationError):
            CourseTree.model_validate_json(bad)


async def test_learners_see_only_published_trees_and_authors_see_all(store: AsyncStore) -> None:
    course, _, _ = await make_course(store, {"U": ["a"]})
    for state in ("draft", "archived"):
        if state == "archived":
            await store.content.archive_course(course.id)
        with pytest.raises(NotFound, match="published"):
            await store.content.get_course_tree(course.id)
        authors = await store.content.get_course_tree(course.id, include_unpublished=True)
        assert authors.course.status == state and authors.units[0].lessons[0].title == "a"
    empty, _, _ = await make_course(store, {}, title="Empty")
    await store.content.publish_course(empty.id)
    assert (await store.content.get_course_tree(empty.id)).units == []


@contextmanager
def round_trips(conn: AConn) -> Iterator[list[str]]:
    """The round trips made on `conn` inside the block, read from libpq's protocol trace: one
    ReadyForQuery message from the server closes each exchange."""
    counted: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield counted
        finally:
            conn.pgconn.untrace()
            trace.seek(0)
            lines = trace.read().splitlines()
            counted.extend(line for line in lines if "\tReadyForQuery" in line)
            assert lines and lines[0].startswith("F\t"), "libpq traced nothing"


async def test_the_tree_and_each_reorder_cost_one_round_trip(fresh_db: str) -> None:
    with learnstore.connect(fresh_db) as setup:
        setup.users.apply_clerk_event({"type": "user.created", "data": {"id": "author_1", "updated_at": 1}})
        course = setup.content.create_course("author_1", "Counted")
        unit = setup.content.add_unit(course.id, "U")
        lesson = setup.content.add_lesson(unit.id, "a", "text", TEXT)
        quiz = setup.content.add_quiz(lesson.id, "flashcard", "Q", "A")

    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        store = AsyncStore.on(conn)
        await store.content.get_course(course.id)  # the querier's SQL is loaded: nothing else to fetch
        operations: dict[str, Callable[[], Awaitable[object]]] = {
            "add_unit": lambda: store.content.add_unit(course.id, "V", position=0),
            "add_lesson": lambda: store.content.add_lesson(unit.id, "b", "text", TEXT, position=0),
            "move_lesson": lambda: store.content.move_lesson(lesson.id, 0),
            "move_unit": lambda: store.content.move_unit(unit.id, 0),
            "record_quiz_attempt": lambda: store.content.record_quiz_attempt(quiz.id, "author_1", "a"),
            "publish_course": lambda: store.content.publish_course(course.id),
            # last, when the course has two units and two lessons: no statement per unit or lesson
            "get_course_tree": lambda: store.content.get_course_tree(course.id),
        }
        for name, operation in operations.items():
            with round_trips(conn) as trips:
                result = await operation()
            assert len(trips) == 1, (name, trips)
        assert isinstance(result, CourseTree)
        assert [u.title for u in result.units] == ["U", "V"]
        assert [lesson.title for lesson in result.units[0].lessons] == ["a", "b"]


# -- races ------------------------------------------------------------------------------------------


async def test_concurrent_reorders_of_one_course_lose_and_duplicate_nothing(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=8) as store:
        course, units, lessons = await make_course(
            store, {f"U{u}": [f"L{u}.{i}" for i in range(6)] for u in range(3)}
        )
        rng = random.Random(20240601)
        ids = [lesson.id for lesson in lessons.values()]

        def a_move() -> Any:
            lesson_id = rng.choice(ids)
            position = rng.choice([0, None])
            if rng.random() < 0.2:
                return store.content.move_unit(rng.choice(units).id, position)
            if rng.random() < 0.5:
                return store.content.move_lesson(lesson_id, position)
            return store.content.move_lesson(lesson_id, position, unit_id=rng.choice(units).id)

        moves = [a_move() for _ in range(120)]
        results = await asyncio.gather(*moves)
        assert all(isinstance(result, Lesson | Unit) for result in results)
        async with await psycopg.AsyncConnection.connect(fresh_db) as conn:
            final = await outline(conn, course.id)
        assert sorted(title for titles in final.values() for title in titles) == sorted(lessons)
        assert sorted(final) == ["U0", "U1", "U2"]


async def test_concurrent_inserts_moves_and_deletes_keep_positions_dense(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=8) as store:
        course, units, lessons = await make_course(store, {"A": [f"a{i}" for i in range(8)], "B": []})
        doomed = [lessons[f"a{i}"].id for i in (1, 3, 5)]
        work: list[Any] = [
            *(store.content.add_lesson(units[0].id, f"new{i}", "text", TEXT, position=0) for i in range(10)),
            *(store.content.add_lesson(units[1].id, f"b{i}", "text", TEXT) for i in range(10)),
            *(store.content.delete_lesson(lesson_id) for lesson_id in doomed),
            *(store.content.move_lesson(lessons[f"a{i}"].id, 0, unit_id=units[1].id) for i in (0, 2, 4)),
            *(store.content.add_unit(course.id, f"C{i}", position=0) for i in range(4)),
        ]
        rng = random.Random(7)
        rng.shuffle(work)
        await asyncio.gather(*work)
        async with await psycopg.AsyncConnection.connect(fresh_db) as conn:
            final = await outline(conn, course.id)
        assert sorted(final) == ["A", "B", "C0", "C1", "C2", "C3"]
        assert sorted(final["A"]) == sorted([f"new{i}" for i in range(10)] + ["a6", "a7"])
        assert sorted(final["B"]) == sorted([f"b{i}" for i in range(10)] + ["a0", "a2", "a4"])


# -- the sync twin ---------------------------------------------------------------------------------


def test_the_sync_store_has_the_same_content_operations(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    store.users.apply_clerk_event({"type": "user.created", "data": {"id": "author_1", "updated_at": 1}})
    course = store.content.create_course("author_1", "Sync")
    unit = store.content.add_unit(course.id, "U")
    first = store.content.add_lesson(unit.id, "first", "text", TEXT)
    store.content.add_lesson(unit.id, "zeroth", "text", TEXT, position=0)
    assert store.content.move_lesson(first.id, 0).position == 0
    tree = store.content.get_course_tree(course.id, include_unpublished=True)
    assert [lesson.title for lesson in tree.lessons()] == ["first", "zeroth"]
    with pytest.raises(InvalidValue):
        store.content.move_lesson(first.id, -1)
