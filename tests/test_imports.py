"""Bulk import on a real database: courses, users, enrolments, progress and login-day history."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import AlreadyExists, InvalidReference, InvalidValue
from learnstore.repositories import imports
from learnstore.repositories.imports_async import (
    EnrolmentRecord,
    ImportedCourse,
    LoginDayRecord,
    ProgressRecord,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(adb_conn: psycopg.AsyncConnection[Any]) -> AsyncStore:
    return AsyncStore.on(adb_conn)


def course(title: str = "Rust", *, units: int = 2, lessons: int = 3, **fields: Any) -> dict[str, Any]:
    return {
        "title": title,
        "status": "published",
        **fields,
        "units": [
            {
                "title": f"Unit {u}",
                "lessons": [
                    {"title": f"Lesson {u}.{k}", "content_type": "text", "content": {"body": f"Body {u}.{k}"}}
                    for k in range(lessons)
                ],
            }
            for u in range(units)
        ],
    }


async def learners(store: AsyncStore, *clerk_ids: str) -> None:
    await store.imports.import_users([{"clerk_id": c, "email": f"{c}@example.com"} for c in clerk_ids])


async def count(conn: psycopg.AsyncConnection[Any], table: str) -> int:
    row = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()
    assert row is not None
    return int(row[0])


async def counts(conn: psycopg.AsyncConnection[Any]) -> dict[str, int]:
    tables = ("users", "courses", "units", "lessons", "user_courses", "user_progress", "login_days")
    return {table: await count(conn, table) for table in tables}


# -- courses ------------------------------------------------------------------------------------


async def test_a_course_is_imported_with_its_units_and_lessons_in_order(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    await learners(store, "author")
    imported = await store.imports.import_course(
        course(
            author_clerk_id="author",
            learning_objectives=["ownership", "borrowing"],
            units=3,
            lessons=4,
        )
    )
    tree = await store.content.get_course_tree(imported.id)
    assert tree.course.author_clerk_id == "author"
    assert tree.course.learning_objectives == ["ownership", "borrowing"]
    assert tree.course.published_at is not None  # published without a date: published now
    assert [unit.id for unit in tree.units] == [unit.id for unit in imported.units]
    assert [unit.position for unit in tree.units] == [0, 1, 2]
    assert [lesson.id for lesson in tree.lessons()] == imported.lesson_ids()
    assert [lesson.title for lesson in tree.units[2].lessons] == [f"Lesson 2.{k}" for k in range(4)]
    assert [lesson.position for lesson in tree.units[1].lessons] == [0, 1, 2, 3]
    stored = await store.content.get_lesson(imported.lesson_ids()[5])
    assert stored.content == {"body": "Body 1.1"}


async def test_courses_are_imported_in_one_batch_keeping_given_ids(store: AsyncStore) -> None:
    given = uuid4()
    first, second = await store.imports.import_courses(
        [course("A", id=given, status="draft", created_at=T0), course("B", units=1, lessons=1)]
    )
    assert isinstance(first, ImportedCourse) and first.id == given
    draft = await store.content.get_course(given)
    assert (draft.status, draft.published_at, draft.created_at) == ("draft", None, T0)
    assert len(second.lesson_ids()) == 1


async def test_lesson_content_that_does_not_fit_its_type_names_the_lesson_and_writes_nothing(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    bad = course("B")
    bad["units"][1]["lessons"][2] = {"title": "Clip", "content_type": "video", "content": {"body": "no url"}}
    before = await counts(adb_conn)
    with pytest.raises(InvalidValue) as caught:
        await store.imports.import_courses([course("A"), bad])
    assert caught.value.field is not None
    assert caught.value.field.startswith("courses[1].units[1].lessons[2].content")
    assert await counts(adb_conn) == before


async def test_of_several_bad_contents_the_first_in_input_order_is_named_whatever_its_type(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    # Contents are checked in one batch per content type: the error must still be the first bad
    # lesson of the input, with the path inside its content.
    first, later = course("A"), course("B")
    first["units"][1]["lessons"][0] = {
        "title": "Try",
        "content_type": "exercise",
        "content": {"prompt": "Do it", "hints": ["one", "   "]},
    }
    later["units"][0]["lessons"][0] = {
        "title": "Clip",
        "content_type": "video",
        "content": {"url": "ftp://x"},
    }
    before = await counts(adb_conn)
    with pytest.raises(InvalidValue) as caught:
        await store.imports.import_courses([first, later])
    assert caught.value.field == "courses[0].units[1].lessons[0].content.hints[1]"
    with pytest.raises(InvalidValue) as caught:
        await store.imports.import_courses([later, first])
    assert caught.value.field == "courses[0].units[0].lessons[0].content.url"
    assert await counts(adb_conn) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "x" * 201}, "course.title"),
        ({"title": "   "}, "course.title"),
        ({"difficulty": "expert"}, "course.difficulty"),
        ({"status": "draft", "published_at": T0}, "course.published_at"),
        ({"published_at": datetime(2024, 1, 1)}, "course.published_at"),  # naive
        ({"cover_image_url": "javascript:alert(1)"}, "course.cover_image_url"),
        ({"colour": "red"}, "course.colour"),
    ],
)
async def test_a_bad_course_field_is_named(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any], change: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        await store.imports.import_course({**course(), **change})
    assert caught.value.field == field
    assert await count(adb_conn, "courses") == 0


async def test_a_course_id_taken_is_reported_on_its_row_and_nothing_is_written(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    taken = (await store.imports.import_course(course("Old"))).id
    before = await counts(adb_conn)
    with pytest.raises(AlreadyExists) as caught:
        await store.imports.import_courses([course("New"), course("Clash", id=taken)])
    assert caught.value.field == "courses[1]"
    assert caught.value.constraint == "courses_pkey"
    assert await counts(adb_conn) == before


async def test_an_unknown_author_is_reported_on_its_row(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    await learners(store, "author")
    with pytest.raises(InvalidReference) as caught:
        await store.imports.import_courses(
            [
                course("A", author_clerk_id="author"),
                course("B", author_clerk_id="nobody'; DROP TABLE users; --"),
            ]
        )
    assert caught.value.field == "courses[1].author_clerk_id"
    assert await count(adb_conn, "courses") == 0
    assert await count(adb_conn, "users") == 1


# -- users --------------------------------------------------------------------------------------


async def test_users_are_imported_and_hostile_text_is_stored_as_given(store: AsyncStore) -> None:
    summary = await store.imports.import_users(
        [
            {"clerk_id": "user_a", "email": "a@example.com", "timezone": "Asia/Tokyo"},
            {"clerk_id": "user_b", "first_name": "Robert'); DROP TABLE users;--", "bio": "100% \\ $1 %s"},
        ]
    )
    assert summary.rows == 2
    assert (await store.users.get("user_a")).timezone == "Asia/Tokyo"
    bob = await store.users.get("user_b")
    assert (bob.first_name, bob.bio) == ("Robert'); DROP TABLE users;--", "100% \\ $1 %s")


@pytest.mark.parametrize(
    ("user", "error", "field"),
    [
        ({"clerk_id": "u3", "timezone": "Mars/Olympus"}, InvalidValue, "users[2].timezone"),
        ({"clerk_id": "u3", "email": "not an email"}, InvalidValue, "users[2].email"),
        ({"clerk_id": ""}, InvalidValue, "users[2].clerk_id"),
        ({"clerk_id": "u3", "email": "U1@EXAMPLE.com"}, AlreadyExists, "users[2]"),  # emails ignore case
        ({"clerk_id": "u1"}, AlreadyExists, "users[2]"),
    ],
)
async def test_a_bad_user_row_is_named_and_nothing_is_written(
    store: AsyncStore,
    adb_conn: psycopg.AsyncConnection[Any],
    user: dict[str, Any],
    error: type[Exception],
    field: str,
) -> None:
    rows = [{"clerk_id": "u1", "email": "u1@example.com"}, {"clerk_id": "u2"}, user]
    with pytest.raises(error) as caught:
        await store.imports.import_users(rows)
    assert isinstance(caught.value, learnstore.LearnstoreError) and caught.value.field == field
    assert await count(adb_conn, "users") == 0


# -- enrolments and progress --------------------------------------------------------------------


async def test_progress_history_keeps_every_enrolment_percentage_right(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    await learners(store, "ada", "bob", "eve")
    imported = await store.imports.import_course(course(units=2, lessons=4))  # 8 lessons
    lessons = imported.lesson_ids()
    enrolled = await store.imports.import_enrolments(
        [EnrolmentRecord("ada", imported.id, T0), {"user_clerk_id": "bob", "course_id": imported.id}]
    )
    assert enrolled.rows == 2
    done = T0 + timedelta(days=2)
    records: list[Any] = [
        *(
            ProgressRecord("ada", lesson, "completed", T0, done + timedelta(hours=i))
            for i, lesson in enumerate(lessons)
        ),
        ProgressRecord("bob", lessons[0], "completed", T0, done),
        ProgressRecord("bob", lessons[1], "completed", None, done),
        ProgressRecord("bob", lessons[2], "completed", T0, done),
        ProgressRecord("bob", lessons[3], "in_progress", T0),
        ("bob", str(lessons[4]), "not_started"),
        {"user_clerk_id": "eve", "lesson_id": lessons[0], "status": "in_progress", "started_at": T0},
    ]
    summary = await store.imports.import_progress(records)
    assert (summary.rows, summary.refreshed) == (len(records), 2)
    ada = await store.progress.get_enrolment("ada", imported.id)
    assert (ada.progress, ada.completed_at) == (100, done + timedelta(hours=7))  # the last completion
    bob = await store.progress.get_enrolment("bob", imported.id)
    assert (bob.progress, bob.completed_at) == (37, None)  # floor(100 * 3 / 8)
    # The progress domain's own recompute agrees with every enrolment the import wrote.
    assert await store.progress.refresh_course(imported.id) == 0
    # eve's status waits for her enrolment, and counts from it.
    assert (await store.progress.enrol("eve", imported.id)).progress == 0
    eve = await store.progress.list_lesson_progress("eve", imported.id)
    assert [p.status for p in eve[:2]] == ["in_progress", "not_started"]


async def test_enrolments_imported_after_progress_count_the_statuses_already_there(store: AsyncStore) -> None:
    await learners(store, "ada")
    imported = await store.imports.import_course(course(units=1, lessons=4))
    lessons = imported.lesson_ids()
    await store.imports.import_progress(
        [ProgressRecord("ada", lesson, "completed", T0, T0) for lesson in lessons[:2]]
    )
    summary = await store.imports.import_enrolments([EnrolmentRecord("ada", imported.id, T0)])
    assert summary.refreshed == 1
    assert (await store.progress.get_enrolment("ada", imported.id)).progress == 50
    # the dashboard orders by the history's own dates, not by the import's
    dashboard = await store.progress.list_courses("ada")
    assert dashboard[0].last_activity_at == T0


@pytest.mark.parametrize("caller", ["on", "off"])
async def test_an_enrolment_import_counts_the_statuses_and_gives_the_planner_back_as_it_was(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any], caller: str
) -> None:
    # The COPY's trigger counts the learners' statuses whatever the caller's planner settings (a
    # plan by learner or by hash: docs/scaling.md, "Loading the million scale"), and leaves them
    # as they were.
    await adb_conn.execute(f"SET LOCAL enable_hashjoin = {caller}")
    await adb_conn.execute(f"SET LOCAL enable_mergejoin = {caller}")
    await learners(store, "ada", "bob")
    imported = await store.imports.import_course(course(units=1, lessons=3))
    lessons = imported.lesson_ids()
    await store.imports.import_progress(
        [ProgressRecord(who, lesson, "completed", T0, T0) for who in ("ada", "bob") for lesson in lessons[:2]]
        + [ProgressRecord("ada", lessons[2], "in_progress", T0)]
    )
    await store.imports.import_enrolments([EnrolmentRecord(who, imported.id, T0) for who in ("ada", "bob")])
    for setting in ("enable_hashjoin", "enable_mergejoin"):
        row = await (await adb_conn.execute(f"SHOW {setting}")).fetchone()
        assert row == (caller,)
    counted = await (
        await adb_conn.execute(
            "SELECT lesson_id, sum(started)::int, sum(completed)::int FROM lesson_progress_counts"
            " GROUP BY lesson_id"
        )
    ).fetchall()
    assert sorted(counted) == sorted([(lessons[0], 2, 2), (lessons[1], 2, 2), (lessons[2], 1, 0)])


async def test_an_enrolment_import_finds_its_learners_statuses_by_learner_not_by_scanning_all(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    # The enrolment trigger's plan, as auto_explain logs it: each new learner's statuses through
    # user_progress_user_lesson_key, never every status on the platform (a million-scale load hashed
    # them all, batch after batch: migration 0033). The tables are not analyzed, as during a load.
    others = [f"other{n:03}" for n in range(300)]
    await learners(store, "ada", "bob", *others)
    imported = await store.imports.import_course(course(units=2, lessons=10))
    lessons = imported.lesson_ids()
    await store.imports.import_progress(
        [ProgressRecord(who, lesson, "completed", T0, T0) for who in ("ada", *others) for lesson in lessons]
    )
    logged: list[str] = []

    def keep(diag: psycopg.errors.Diagnostic) -> None:
        logged.append(diag.message_primary or "")

    adb_conn.add_notice_handler(keep)
    try:
        await adb_conn.execute("LOAD 'auto_explain'")
        await adb_conn.execute("SET LOCAL auto_explain.log_min_duration = 0")
        await adb_conn.execute("SET LOCAL auto_explain.log_nested_statements = on")
        await adb_conn.execute("SET LOCAL client_min_messages = log")
        await store.imports.import_enrolments(
            [EnrolmentRecord(who, imported.id, T0) for who in ("ada", "bob")]
        )
        await adb_conn.execute("SET LOCAL client_min_messages = notice")
    finally:
        adb_conn.remove_notice_handler(keep)
    counting = [plan for plan in logged if "plan:" in plan and "e.learner" in plan]
    assert len(counting) == 1, logged
    assert "user_progress_user_lesson_key" in counting[0], counting[0]
    assert "Seq Scan on user_progress" not in counting[0], counting[0]
    counted = await (
        await adb_conn.execute("SELECT sum(started)::int, sum(completed)::int FROM lesson_progress_counts")
    ).fetchone()
    assert counted == (len(lessons), len(lessons))


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (("ada", "LESSON", "done"), "progress[1].status"),
        (("ada", "LESSON", "completed"), "progress[1].completed_at"),
        (("ada", "LESSON", "completed", T0, T0 - timedelta(seconds=1)), "progress[1].completed_at"),
        (("ada", "LESSON", "in_progress", T0, T0), "progress[1].completed_at"),
        (("ada", "LESSON", "not_started", T0), "progress[1].started_at"),
        (("ada", "LESSON", "in_progress", datetime(2024, 1, 1)), "progress[1].started_at"),
        (("ada", "LESSON", "in_progress", "2024-01-01"), "progress[1].started_at"),
        ((42, "LESSON", "in_progress"), "progress[1].user_clerk_id"),
        (("ada", "not-a-uuid", "in_progress"), "progress[1].lesson_id"),
        (("ada", "LESSON"), "progress[1]"),
        (
            {"user_clerk_id": "ada", "lesson_id": "LESSON", "status": "completed", "score": 3},
            "progress[1].score",
        ),
        ({"user_clerk_id": "ada", "status": "completed"}, "progress[1].lesson_id"),
        (["ada", "LESSON", "in_progress"], "progress[1]"),
    ],
)
async def test_a_bad_progress_row_is_named_and_nothing_is_written(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any], row: Any, field: str
) -> None:
    await learners(store, "ada")
    imported = await store.imports.import_course(course(units=1, lessons=2))
    first, second = imported.lesson_ids()
    if isinstance(row, tuple):
        row = tuple(str(second) if value == "LESSON" else value for value in row)
    elif isinstance(row, dict):
        row = {key: second if value == "LESSON" else value for key, value in row.items()}
    with pytest.raises(InvalidValue) as caught:
        await store.imports.import_progress([ProgressRecord("ada", first, "in_progress", T0), row])
    assert caught.value.field == field
    assert await count(adb_conn, "user_progress") == 0


async def test_unknown_learners_and_lessons_are_named_on_their_row(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    await learners(store, "ada")
    imported = await store.imports.import_course(course(units=1, lessons=2))
    first, second = imported.lesson_ids()
    rows = [ProgressRecord("ada", first, "in_progress", T0), ProgressRecord("ada", second, "in_progress", T0)]
    with pytest.raises(InvalidReference) as caught:
        await store.imports.import_progress([*rows, ProgressRecord("ghost", first, "in_progress", T0)])
    assert caught.value.field == "progress[2].user_clerk_id"
    missing = uuid4()
    with pytest.raises(InvalidReference) as caught:
        await store.imports.import_progress([rows[0], ProgressRecord("ada", missing, "not_started"), rows[1]])
    assert caught.value.field == "progress[1].lesson_id"
    assert str(missing) in caught.value.message
    assert await count(adb_conn, "user_progress") == 0


async def test_a_status_imported_twice_is_named_on_the_second_row(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    await learners(store, "ada")
    imported = await store.imports.import_course(course(units=1, lessons=3))
    a, b, c = imported.lesson_ids()
    with pytest.raises(AlreadyExists) as caught:
        await store.imports.import_progress(
            [
                ProgressRecord("ada", a, "not_started"),
                ProgressRecord("ada", b, "not_started"),
                ("ada", a, "in_progress"),
            ]
        )
    assert (caught.value.field, caught.value.constraint) == ("progress[2]", "user_progress_user_lesson_key")
    assert await count(adb_conn, "user_progress") == 0
    await store.imports.import_progress([ProgressRecord("ada", c, "not_started")])
    with pytest.raises(AlreadyExists) as caught:  # already in the database
        await store.imports.import_progress(
            [ProgressRecord("ada", a, "not_started"), ("ada", c, "not_started")]
        )
    assert caught.value.field == "progress[1]"
    assert await count(adb_conn, "user_progress") == 1


async def test_an_empty_import_writes_nothing(store: AsyncStore) -> None:
    assert (await store.imports.import_progress([])).rows == 0
    assert (await store.imports.import_login_days(iter([]))).rows == 0


# -- login days ---------------------------------------------------------------------------------


async def test_login_days_import_rewrites_the_streaks_as_the_users_domain_computes_them(
    store: AsyncStore,
) -> None:
    await learners(store, "ada", "bob")
    days = [date(2024, 1, d) for d in (1, 2, 3, 7, 8)]
    summary = await store.imports.import_login_days(
        (
            *(LoginDayRecord("ada", day, datetime.combine(day, T0.timetz())) for day in days),
            ("bob", date(2024, 1, 5), T0),
        )
    )
    assert (summary.rows, summary.refreshed) == (6, 2)
    ada = await store.users.get_streak("ada", at=datetime(2024, 1, 8, 12, tzinfo=UTC))
    assert (ada.current_streak, ada.longest_streak, ada.last_active_date) == (2, 3, date(2024, 1, 8))
    assert await store.users.recompute_streak("ada") == await store.users.recompute_streak("ada")
    recomputed = await store.users.recompute_streak("ada")
    assert (recomputed.current_streak, recomputed.longest_streak) == (2, 3)
    assert await store.users.list_login_days("ada", date(2024, 1, 1), date(2024, 1, 31)) == days


async def test_imported_streaks_match_the_one_user_recompute_on_random_histories(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    rnd = random.Random(3)
    names = [f"user_{n}" for n in range(12)]
    await learners(store, *names)
    records = []
    for name in names:
        # Runs and gaps of random lengths, some of a single day, some users with one day only.
        day, left = date(2024, 1, 1), rnd.choice((1, 5, 40))
        while left > 0:
            for _ in range(min(left, rnd.randint(1, 6))):
                records.append(LoginDayRecord(name, day, datetime.combine(day, T0.timetz())))
                day += timedelta(days=1)
                left -= 1
            day += timedelta(days=rnd.randint(1, 3))
    await store.imports.import_login_days(records)
    read = (
        "SELECT current_streak, longest_streak, last_active_date FROM user_streaks WHERE user_clerk_id = %s"
    )
    for name in names:
        imported = await (await adb_conn.execute(read, [name])).fetchone()
        # recompute_streak: the users domain's function for one user, the reference.
        cur = await adb_conn.execute(
            "SELECT current_streak, longest_streak, last_active_date FROM recompute_streak(%s)", [name]
        )
        assert imported == await cur.fetchone(), name


@pytest.mark.parametrize(
    ("row", "error", "field"),
    [
        (("ada", date(2024, 1, 1), T0), AlreadyExists, "login_days[1]"),
        (("ghost", date(2024, 1, 2), T0), InvalidReference, "login_days[1].user_clerk_id"),
        (("ada", datetime(2024, 1, 2, tzinfo=UTC), T0), InvalidValue, "login_days[1].day"),
        (("ada", date(2024, 1, 2), datetime(2024, 1, 2)), InvalidValue, "login_days[1].first_seen_at"),
        (("ada", date(2024, 1, 2)), InvalidValue, "login_days[1]"),
        ((42, date(2024, 1, 2), T0), InvalidValue, "login_days[1].user_clerk_id"),
        (["ada", date(2024, 1, 2), T0], InvalidValue, "login_days[1]"),
        ({"user_clerk_id": "ada", "day": date(2024, 1, 2), "seen": T0}, InvalidValue, "login_days[1].seen"),
    ],
)
async def test_a_bad_login_day_is_named_and_nothing_is_written(
    store: AsyncStore,
    adb_conn: psycopg.AsyncConnection[Any],
    row: tuple[Any, ...],
    error: type[Exception],
    field: str,
) -> None:
    await learners(store, "ada")
    with pytest.raises(error) as caught:
        await store.imports.import_login_days([LoginDayRecord("ada", date(2024, 1, 1), T0), row])
    assert isinstance(caught.value, learnstore.LearnstoreError) and caught.value.field == field
    assert await count(adb_conn, "login_days") == 0
    assert await count(adb_conn, "user_streaks") == 0


# -- transactions and the sync API --------------------------------------------------------------


async def test_a_failed_import_leaves_the_callers_transaction_usable(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    await learners(store, "ada")
    with pytest.raises(InvalidReference):
        await store.imports.import_login_days([LoginDayRecord("ghost", date(2024, 1, 1), T0)])
    await store.imports.import_login_days([LoginDayRecord("ada", date(2024, 1, 1), T0)])
    assert await count(adb_conn, "login_days") == 1


def test_the_sync_store_imports_too(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    store.imports.import_users([{"clerk_id": "ada"}])
    imported = store.imports.import_course(course(units=1, lessons=2))
    store.imports.import_enrolments([imports.EnrolmentRecord("ada", imported.id)])
    summary = store.imports.import_progress(
        [imports.ProgressRecord("ada", lesson, "completed", T0, T0) for lesson in imported.lesson_ids()[:1]]
    )
    assert summary.refreshed == 1
    assert store.progress.get_enrolment("ada", imported.id).progress == 50


async def test_an_import_and_live_status_changes_on_the_same_enrolments_agree(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=4) as store:
        await learners(store, *(f"u{i}" for i in range(20)))
        imported = await store.imports.import_course(course(units=2, lessons=5))
        lessons = imported.lesson_ids()
        await store.imports.import_enrolments([EnrolmentRecord(f"u{i}", imported.id) for i in range(20)])
        history = [
            ProgressRecord(f"u{i}", lesson, "completed", T0, T0) for i in range(20) for lesson in lessons[:5]
        ]
        live = [store.progress.set_lesson_status(f"u{i}", lessons[9], "completed") for i in range(20)]
        await asyncio.gather(store.imports.import_progress(history), *live)
        assert await store.progress.refresh_course(imported.id) == 0
        assert {(await store.progress.get_enrolment(f"u{i}", imported.id)).progress for i in range(20)} == {
            60
        }


async def test_import_ids_are_uuids(store: AsyncStore) -> None:
    imported = await store.imports.import_course(course(units=1, lessons=1))
    assert all(isinstance(i, UUID) for i in [imported.id, *imported.lesson_ids()])
