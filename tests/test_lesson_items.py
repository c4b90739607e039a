"""Quizzes and media edited like lessons on a real database: update, move, delete, dense positions,
who may, and moves racing each other."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from test_content import fetch, make_course, make_user
from test_races import WRITERS, race_tasks, race_threads, scalar, sql

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import InvalidValue, NotFound, PermissionDenied

AConn = psycopg.AsyncConnection[Any]


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def lesson_with_items(store: AsyncStore) -> tuple[UUID, UUID, list[UUID], list[UUID]]:
    """author_1's course with one lesson holding quizzes Q0..Q3 and files M0..M2, in that order."""
    course, _, lessons = await make_course(store, {"Unit": ["Lesson"]})
    lesson = lessons["Lesson"].id
    quizzes = [(await store.content.add_quiz(lesson, "flashcard", f"Q{i}", "a")).id for i in range(4)]
    media = [
        (await store.content.add_media(lesson, "image", f"https://example.com/{i}.png", title=f"M{i}")).id
        for i in range(3)
    ]
    return course.id, lesson, quizzes, media


async def order(conn: AConn, table: str, lesson: UUID) -> list[str]:
    """The lesson's quizzes (questions) or media (titles) in order; asserts positions are 0..n-1."""
    column = "question" if table == "quizzes" else "title"
    rows = await fetch(
        conn, f"SELECT {column}, position FROM {table} WHERE lesson_id = %s ORDER BY position", [lesson]
    )
    assert [position for _, position in rows] == list(range(len(rows))), rows
    return [name for name, _ in rows]


async def test_new_quizzes_and_media_go_last_and_list_in_order(store: AsyncStore, adb_conn: AConn) -> None:
    _, lesson, _, _ = await lesson_with_items(store)
    assert [q.position for q in await store.content.list_quizzes(lesson)] == [0, 1, 2, 3]
    assert [m.title for m in await store.content.list_media(lesson)] == ["M0", "M1", "M2"]
    assert await order(adb_conn, "quizzes", lesson) == ["Q0", "Q1", "Q2", "Q3"]


async def test_moving_a_quiz_shifts_the_others(store: AsyncStore, adb_conn: AConn) -> None:
    _, lesson, quizzes, _ = await lesson_with_items(store)
    moved = await store.lesson_items.move_quiz(quizzes[3], 0)
    assert (moved.id, moved.position) == (quizzes[3], 0)
    assert await order(adb_conn, "quizzes", lesson) == ["Q3", "Q0", "Q1", "Q2"]
    await store.lesson_items.move_quiz(quizzes[3], None)  # None: the last
    assert await order(adb_conn, "quizzes", lesson) == ["Q0", "Q1", "Q2", "Q3"]
    await store.lesson_items.move_quiz(quizzes[0], 2)
    assert await order(adb_conn, "quizzes", lesson) == ["Q1", "Q2", "Q0", "Q3"]
    await store.lesson_items.move_quiz(quizzes[0], 2)  # where it is: nothing changes
    assert await order(adb_conn, "quizzes", lesson) == ["Q1", "Q2", "Q0", "Q3"]


async def test_moving_a_file_shifts_the_others(store: AsyncStore, adb_conn: AConn) -> None:
    _, lesson, _, media = await lesson_with_items(store)
    assert (await store.lesson_items.move_media(media[0], 2)).position == 2
    assert await order(adb_conn, "media", lesson) == ["M1", "M2", "M0"]


async def test_deleting_closes_the_gap(store: AsyncStore, adb_conn: AConn) -> None:
    _, lesson, quizzes, media = await lesson_with_items(store)
    assert await store.content.delete_quiz(quizzes[1]) is True
    assert await store.content.delete_media(media[0]) is True
    assert await order(adb_conn, "quizzes", lesson) == ["Q0", "Q2", "Q3"]
    assert await order(adb_conn, "media", lesson) == ["M1", "M2"]
    assert await store.content.delete_quiz(quizzes[1]) is False
    # A quiz added after a delete takes the next free place.
    await store.content.add_quiz(lesson, "flashcard", "Q4", "a")
    assert await order(adb_conn, "quizzes", lesson) == ["Q0", "Q2", "Q3", "Q4"]


async def test_a_position_past_the_end_or_an_unknown_id_is_refused(
    store: AsyncStore, adb_conn: AConn
) -> None:
    _, lesson, quizzes, media = await lesson_with_items(store)
    with pytest.raises(InvalidValue) as bad:
        await store.lesson_items.move_quiz(quizzes[0], 4)
    assert bad.value.field == "position"
    with pytest.raises(InvalidValue) as bad:
        await store.lesson_items.move_media(media[0], -1)
    assert bad.value.field == "position"
    with pytest.raises(NotFound) as missing:
        await store.lesson_items.move_quiz(uuid4(), 0)
    assert missing.value.field == "quiz_id"
    with pytest.raises(NotFound) as missing:
        await store.lesson_items.move_media(uuid4(), 0)
    assert missing.value.field == "media_id"
    assert await order(adb_conn, "quizzes", lesson) == ["Q0", "Q1", "Q2", "Q3"]


async def test_updating_a_quiz_changes_the_question_or_the_whole_answer(store: AsyncStore) -> None:
    _, _, quizzes, _ = await lesson_with_items(store)
    quiz = await store.lesson_items.update_quiz(quizzes[0], question="What is SQL?")
    assert (quiz.question, quiz.question_type, quiz.correct_answer, quiz.position) == (
        "What is SQL?",
        "flashcard",
        "a",
        0,
    )
    quiz = await store.lesson_items.update_quiz(
        quizzes[0], question_type="mcq", options=["A language", "A fish"], correct_answer="A language"
    )
    assert (quiz.question, quiz.question_type, quiz.options, quiz.correct_answer) == (
        "What is SQL?",
        "mcq",
        ["A language", "A fish"],
        "A language",
    )
    # The answer's parts go together, and are checked together.
    with pytest.raises(InvalidValue) as bad:
        await store.lesson_items.update_quiz(quizzes[0], options=["x", "y"])
    assert bad.value.field == "question_type"
    with pytest.raises(InvalidValue) as bad:
        await store.lesson_items.update_quiz(
            quizzes[0], question_type="mcq", options=["x", "y"], correct_answer="z"
        )
    assert bad.value.field == "correct_answer"
    with pytest.raises(InvalidValue) as bad:
        await store.lesson_items.update_quiz(quizzes[0], question=" ")
    assert bad.value.field == "question"
    with pytest.raises(InvalidValue):
        await store.lesson_items.update_quiz(quizzes[0])
    with pytest.raises(NotFound):
        await store.lesson_items.update_quiz(uuid4(), question="?")
    assert (await store.content.get_quiz(quizzes[0])).correct_answer == "A language"


async def test_updating_a_file(store: AsyncStore) -> None:
    _, _, _, media = await lesson_with_items(store)
    changed = await store.lesson_items.update_media(
        media[0], url="https://example.com/new.mp3", media_type="audio"
    )
    assert (changed.url, changed.media_type, changed.title) == ("https://example.com/new.mp3", "audio", "M0")
    assert (await store.lesson_items.update_media(media[0], title=None)).title is None
    with pytest.raises(InvalidValue) as bad:
        await store.lesson_items.update_media(media[0], url="ftp://nope")
    assert bad.value.field == "url"
    with pytest.raises(InvalidValue) as bad:
        await store.lesson_items.update_media(media[0], url=None)  # type: ignore[arg-type]
    assert bad.value.field == "url"
    with pytest.raises(NotFound):
        await store.lesson_items.update_media(uuid4(), title="x")


async def test_only_the_courses_editors_edit_its_quizzes_and_media(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course, lesson, quizzes, media = await lesson_with_items(store)
    await make_user(store, "stranger")
    stranger = store.as_user("stranger")
    # A draft's quizzes are not even there for a stranger.
    with pytest.raises(NotFound):
        await stranger.lesson_items.move_quiz(quizzes[3], 0)
    await store.content.publish_course(course)
    for attempt in (
        stranger.lesson_items.move_quiz(quizzes[3], 0),
        stranger.lesson_items.update_quiz(quizzes[0], question="Mine?"),
        stranger.lesson_items.move_media(media[2], 0),
        stranger.lesson_items.update_media(media[0], title="Mine"),
    ):
        with pytest.raises(PermissionDenied):
            await attempt
    # acting_clerk_id on the service path: the same rule, checked by learnstore.
    with pytest.raises(PermissionDenied):
        await store.lesson_items.move_quiz(quizzes[3], 0, acting_clerk_id="stranger")
    # Past learnstore's check, PostgreSQL refuses: a move is an error, an update changes no row.
    async with adb_conn.transaction(force_rollback=True):
        await adb_conn.execute(
            "SELECT set_config('role', 'learnstore_app', true),"
            " set_config('learnstore.clerk_id', 'stranger', true)"
        )
        cur = await adb_conn.execute("UPDATE quizzes SET question = 'Mine?' WHERE lesson_id = %s", [lesson])
        assert cur.rowcount == 0
        cur = await adb_conn.execute("UPDATE media SET title = 'Mine' WHERE lesson_id = %s", [lesson])
        assert cur.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await adb_conn.execute("SELECT move_media(%s, 0)", [media[2]])
    assert await order(adb_conn, "quizzes", lesson) == ["Q0", "Q1", "Q2", "Q3"]
    assert await order(adb_conn, "media", lesson) == ["M0", "M1", "M2"]
    # The author may.
    await store.as_user("author_1").lesson_items.move_quiz(quizzes[3], 0)
    await store.lesson_items.update_media(media[0], title="Cover", acting_clerk_id="author_1")
    assert await order(adb_conn, "quizzes", lesson) == ["Q3", "Q0", "Q1", "Q2"]


def test_quizzes_moved_added_and_deleted_at_once_stay_dense(fresh_db: str) -> None:
    """16 writers on one lesson: some move a quiz to the front, some add one, some delete one."""
    sql(fresh_db, "INSERT INTO users (clerk_id) VALUES ('author')")
    course_id = scalar(
        fresh_db, "INSERT INTO courses (author_clerk_id, title) VALUES ('author', 'C') RETURNING id"
    )
    unit_id = scalar(
        fresh_db,
        "INSERT INTO units (course_id, title, position) VALUES (%s, 'U', 0) RETURNING id",
        [course_id],
    )
    lesson = scalar(
        fresh_db,
        "INSERT INTO lessons (unit_id, title, content_type, content, position)"
        """ VALUES (%s, 'L', 'text', '{"body": "x"}', 0) RETURNING id""",
        [unit_id],
    )
    first = [
        scalar(
            fresh_db,
            "INSERT INTO quizzes (lesson_id, question, question_type, correct_answer)"
            " VALUES (%s, %s, 'flashcard', '\"a\"') RETURNING id",
            [lesson, f"Q{i}"],
        )
        for i in range(8)
    ]

    def act(s: Store, i: int) -> object:
        if i < 4:
            return s.content.delete_quiz(first[i])
        if i < 8:
            return s.lesson_items.move_quiz(first[i], 0 if i % 2 else None)
        return s.content.add_quiz(lesson, "flashcard", f"N{i}", "a")

    race_threads(fresh_db, act, seed=31)
    positions = [row[0] for row in sql(fresh_db, "SELECT position FROM quizzes ORDER BY position")]
    assert positions == list(range(8 - 4 + WRITERS - 8))


async def test_media_moved_at_once_from_many_tasks_stay_dense(fresh_db: str) -> None:
    sql(fresh_db, "INSERT INTO users (clerk_id) VALUES ('author')")
    async with await learnstore.connect_async(fresh_db, max_size=1) as store:
        course = await store.content.create_course("author", "C")
        unit = await store.content.add_unit(course.id, "U")
        lesson = await store.content.add_lesson(unit.id, "L", "text", {"body": "x"})
        files = [
            (await store.content.add_media(lesson.id, "file", f"https://e.com/{i}")).id
            for i in range(WRITERS)
        ]

    async def act(s: AsyncStore, i: int) -> object:
        return await s.lesson_items.move_media(files[i], (i * 7) % WRITERS)

    await race_tasks(fresh_db, act, seed=32)
    positions = [row[0] for row in sql(fresh_db, "SELECT position FROM media ORDER BY position")]
    assert positions == list(range(WRITERS))
