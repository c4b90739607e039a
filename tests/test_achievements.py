"""Achievements on a real database: the rule language, awards made by the writes that earn them
(exactly once, even racing), backfill, profile cards and leaderboards."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import errors, pq

import learnstore
from learnstore import AsyncStore
from learnstore.achievement_rules import (
    AllOf,
    AnyOf,
    CardsMastered,
    LessonsCompleted,
    StreakDays,
    parse_requirement,
)
from learnstore.errors import AlreadyExists, InvalidValue, NotFound

AConn = psycopg.AsyncConnection[Any]


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


# -- data made with plain SQL (other domains' APIs are not ours to lean on) ----------------------


async def rows(conn: AConn, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    cur = await conn.execute(query, params)
    return await cur.fetchall()


async def scalar(conn: AConn, query: str, params: list[Any] | None = None) -> Any:
    found = await rows(conn, query, params)
    return found[0][0]


async def make_users(conn: AConn, *clerk_ids: str) -> None:
    for clerk_id in clerk_ids:
        await conn.execute(
            "INSERT INTO users (clerk_id, first_name) VALUES (%s, %s)", [clerk_id, clerk_id.title()]
        )


async def make_course(conn: AConn, lessons: int = 3, title: str = "Portuguese") -> tuple[UUID, list[UUID]]:
    course_id = await scalar(
        conn,
        "INSERT INTO courses (title, status, published_at) VALUES (%s, 'published', now()) RETURNING id",
        [title],
    )
    unit_id = await scalar(
        conn, "INSERT INTO units (course_id, title, position) VALUES (%s, 'U', 0) RETURNING id", [course_id]
    )
    lesson_ids = [
        await scalar(
            conn,
            "INSERT INTO lessons (unit_id, title, content_type, content, position)"
            """ VALUES (%s, %s, 'text', '{"body": "Olá"}', %s) RETURNING id""",
            [unit_id, f"Lesson {i}", i],
        )
        for i in range(lessons)
    ]
    return course_id, lesson_ids


async def make_cards(conn: AConn, owner: str, count: int) -> list[UUID]:
    set_id = await scalar(
        conn, "INSERT INTO flashcard_sets (owner_clerk_id, title) VALUES (%s, 'Deck') RETURNING id", [owner]
    )
    return [
        await scalar(
            conn,
            "INSERT INTO flashcards (set_id, front, back) VALUES (%s, %s, 'b') RETURNING id",
            [set_id, f"f{i}"],
        )
        for i in range(count)
    ]


async def earned(conn: AConn, clerk_id: str) -> list[str]:
    found = await rows(
        conn,
        "SELECT a.code FROM user_achievements ua JOIN achievements a ON a.id = ua.achievement_id"
        " WHERE ua.user_clerk_id = %s AND ua.earned_at IS NOT NULL ORDER BY a.code",
        [clerk_id],
    )
    return [code for (code,) in found]


async def achievement_notifications(conn: AConn, clerk_id: str) -> list[str]:
    found = await rows(
        conn,
        "SELECT metadata ->> 'achievement_code' FROM notifications"
        " WHERE user_clerk_id = %s AND source_type = 'achievement' AND type = 'system' ORDER BY 1",
        [clerk_id],
    )
    return [code for (code,) in found]


# -- 1. the rule language ---------------------------------------------------------------------------


def test_rules_parse_from_json_and_models_alike() -> None:
    course = uuid4()
    rule = parse_requirement(
        {
            "kind": "all_of",
            "rules": [
                {"kind": "lessons_completed", "threshold": 5, "course_id": str(course)},
                {"kind": "any_of", "rules": [{"kind": "streak_days", "threshold": 7, "streak": "current"}]},
            ],
        }
    )
    assert rule == AllOf(
        rules=[
            LessonsCompleted(threshold=5, course_id=course),
            AnyOf(rules=[StreakDays(threshold=7, streak="current")]),
        ]
    )
    assert parse_requirement(rule) == rule
    assert parse_requirement({"kind": "cards_mastered", "threshold": 3}) == CardsMastered(
        threshold=3, level=4
    )


@pytest.mark.parametrize(
    ("requirement", "path", "rule"),
    [
        ({"kind": "login", "threshold": 1}, "requirement", "does not match any of the expected tags"),
        ({"threshold": 1}, "requirement", "Unable to extract tag"),
        (
            {"kind": "lessons_completed", "threshold": -3},
            "requirement.threshold",
            "greater than or equal to 1",
        ),
        (
            {"kind": "lessons_completed", "threshold": 0},
            "requirement.threshold",
            "greater than or equal to 1",
        ),
        ({"kind": "lessons_completed", "threshold": "7"}, "requirement.threshold", "valid integer"),
        ({"kind": "lessons_completed", "threshold": 1.5}, "requirement.threshold", "valid integer"),
        ({"kind": "lessons_completed", "threshold": 2**31}, "requirement.threshold", "less than or equal"),
        ({"kind": "lessons_completed", "threshold": 1, "course_id": "x"}, "requirement.course_id", "UUID"),
        ({"kind": "streak_days", "threshold": 1, "streak": "best"}, "requirement.streak", "current"),
        ({"kind": "cards_mastered", "threshold": 1, "level": 6}, "requirement.level", "less than or equal"),
        ({"kind": "goals_completed", "threshold": 1, "extra": 1}, "requirement.extra", "Extra inputs"),
        ({"kind": "all_of", "rules": []}, "requirement.rules", "at least 1"),
        (
            {
                "kind": "all_of",
                "rules": [
                    {"kind": "forum_posts", "threshold": 1},
                    {"kind": "forum_replies", "threshold": -1},
                ],
            },
            "requirement.rules.1.threshold",
            "greater than or equal to 1",
        ),
        (
            {
                "kind": "any_of",
                "rules": [{"kind": "any_of", "rules": [{"kind": "telepathy", "threshold": 1}]}],
            },
            "requirement.rules.0.rules.0",
            "does not match",
        ),
        ("'; DROP TABLE achievements; --", "requirement", "valid dictionary"),
    ],
)
def test_a_bad_rule_is_invalid_and_names_its_path(requirement: Any, path: str, rule: str) -> None:
    with pytest.raises(InvalidValue, match=rule) as caught:
        parse_requirement(requirement)
    assert caught.value.field == path
    assert str(caught.value).startswith(f"{path}: ")


def test_rules_nest_at_most_four_deep() -> None:
    rule: dict[str, Any] = {"kind": "quizzes_passed", "threshold": 1}
    for _ in range(3):
        rule = {"kind": "any_of", "rules": [rule]}
    parse_requirement(rule)
    with pytest.raises(InvalidValue, match="at most 4 levels"):
        parse_requirement({"kind": "all_of", "rules": [rule]})
    for _ in range(5000):
        rule = {"kind": "any_of", "rules": [rule]}
    with pytest.raises(InvalidValue, match="at most 4 levels") as caught:
        parse_requirement(rule)
    assert len(str(caught.value)) < 200
    with pytest.raises(InvalidValue, match="at most 20 items"):
        parse_requirement({"kind": "all_of", "rules": [{"kind": "forum_posts", "threshold": 1}] * 100_000})


async def test_creating_with_a_bad_rule_writes_nothing(store: AsyncStore, adb_conn: AConn) -> None:
    before = await scalar(adb_conn, "SELECT count(*) FROM achievements")
    with pytest.raises(InvalidValue) as caught:
        await store.achievements.create(
            "bad", "Bad", {"kind": "all_of", "rules": [{"kind": "unknown_rule", "threshold": 1}]}
        )
    assert caught.value.field == "requirement.rules.0"
    with pytest.raises(InvalidValue, match=r"requirement\.threshold"):
        await store.achievements.create("bad", "Bad", {"kind": "lessons_completed", "threshold": -1})
    with pytest.raises(InvalidValue, match="code"):
        await store.achievements.create("Not A Code", "Bad", {"kind": "lessons_completed", "threshold": 1})
    with pytest.raises(InvalidValue, match="title"):
        await store.achievements.create("ok", "x" * 1_000_000, {"kind": "lessons_completed", "threshold": 1})
    with pytest.raises(InvalidValue, match="points"):
        await store.achievements.create("ok", "Ok", {"kind": "lessons_completed", "threshold": 1}, points=-5)
    assert await scalar(adb_conn, "SELECT count(*) FROM achievements") == before


async def test_create_get_update_delete(store: AsyncStore) -> None:
    rule = AllOf(rules=[LessonsCompleted(threshold=10), StreakDays(threshold=3)])
    created = await store.achievements.create(
        "dedicated", "Dedicated 'learner'; --", rule, description="Ten lessons and a streak", points=25
    )
    assert created.requirement == {
        "kind": "all_of",
        "rules": [
            {"kind": "lessons_completed", "threshold": 10},
            {"kind": "streak_days", "threshold": 3, "streak": "longest"},
        ],
    }
    assert store.achievements.requirement_of(created) == rule
    assert await store.achievements.get(created.id) == created
    assert await store.achievements.get_by_code("dedicated") == created
    assert created in await store.achievements.list_all()
    with pytest.raises(AlreadyExists) as caught:
        await store.achievements.create("dedicated", "Again", rule)
    assert caught.value.constraint == "achievements_code_key"
    updated = await store.achievements.update(created.id, title="Devoted", points=30)
    assert (updated.title, updated.points, updated.requirement) == ("Devoted", 30, created.requirement)
    assert await store.achievements.delete(created.id) is True
    assert await store.achievements.delete(created.id) is False
    with pytest.raises(NotFound):
        await store.achievements.get(created.id)
    with pytest.raises(NotFound):
        await store.achievements.update(created.id, title="Gone")
    with pytest.raises(NotFound):
        await store.achievements.get_by_code("dedicated")


@pytest.mark.parametrize(
    "requirement",
    [
        '{"kind": "all_of", "rules": []}',
        '{"kind": "any_of", "rules": [{"kind": "streak_days", "threshold": -1}]}',
        '{"kind": "all_of", "rules": {"kind": "streak_days", "threshold": 1}}',
        '{"kind": "lessons_completed", "threshold": 1, "course_id": "nope"}',
        '{"kind": "lessons_completed", "threshold": 1, "extra": true}',
        '{"kind": "cards_mastered", "threshold": 1, "level": 9}',
        '{"kind": "streak_days", "threshold": 1, "streak": "best"}',
        '{"kind": "goals_completed", "threshold": 2147483648}',
        '{"kind": "any_of", "rules": [{"kind": "any_of", "rules": [{"kind": "any_of", "rules": ['
        '{"kind": "any_of", "rules": [{"kind": "forum_posts", "threshold": 1}]}]}]}]}',
    ],
)
async def test_plain_sql_cannot_store_a_rule_the_models_reject(adb_conn: AConn, requirement: str) -> None:
    with pytest.raises(errors.CheckViolation) as caught:
        async with adb_conn.transaction():
            await adb_conn.execute(
                "INSERT INTO achievements (code, title, requirement) VALUES ('sneaky', 'S', %s::jsonb)",
                [requirement],
            )
    assert caught.value.diag.constraint_name == "achievements_requirement_shape"
    with pytest.raises(InvalidValue):
        parse_requirement(__import__("json").loads(requirement))


# -- 2. awarded by the writes that earn them, once ----------------------------------------------------


async def test_completing_lessons_awards_in_the_same_transaction_with_a_notification(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await make_users(adb_conn, "ana")
    course_id, lessons = await make_course(adb_conn, 2)
    first = await store.achievements.create(
        "first-lesson", "First lesson", LessonsCompleted(threshold=1), points=10
    )
    await store.achievements.create(
        "two-here", "Two here", LessonsCompleted(threshold=2, course_id=course_id)
    )
    await store.achievements.create(
        "graduate", "Graduate", {"kind": "courses_completed", "threshold": 1}, points=50
    )
    await store.progress.enrol("ana", course_id)

    await store.progress.set_lesson_status("ana", lessons[0], "in_progress")
    assert await earned(adb_conn, "ana") == []
    await store.progress.set_lesson_status("ana", lessons[0], "completed")
    assert await earned(adb_conn, "ana") == ["first-lesson"]
    message = await scalar(
        adb_conn,
        "SELECT message FROM notifications WHERE user_clerk_id = 'ana' AND source_id = %s",
        [first.id],
    )
    assert message == 'You earned the achievement "First lesson".'

    # back and forth: an award is kept, and never made twice
    await store.progress.set_lesson_status("ana", lessons[0], "in_progress")
    await store.progress.set_lesson_status("ana", lessons[0], "completed")
    await store.progress.set_lesson_status("ana", lessons[1], "completed")
    assert await earned(adb_conn, "ana") == ["first-lesson", "graduate", "two-here"]
    assert await achievement_notifications(adb_conn, "ana") == ["first-lesson", "graduate", "two-here"]
    assert await store.achievements.evaluate("ana") == []


async def test_a_write_that_rolls_back_takes_its_award_with_it(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(adb_conn, "ana")
    course_id, lessons = await make_course(adb_conn, 2)
    await store.achievements.create("first-lesson", "First lesson", LessonsCompleted(threshold=1))
    await store.progress.enrol("ana", course_id)

    async def complete_then_give_up() -> None:
        async with store.transaction() as tx:
            await tx.progress.set_lesson_status("ana", lessons[0], "completed")
            assert await earned(adb_conn, "ana") == ["first-lesson"]
            raise RuntimeError("the caller gives up")

    with pytest.raises(RuntimeError):
        await complete_then_give_up()
    assert await earned(adb_conn, "ana") == []
    assert await achievement_notifications(adb_conn, "ana") == []


async def test_activity_awards_streaks_current_and_longest(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(adb_conn, "ana")
    await store.achievements.create("week", "A week", StreakDays(threshold=3))
    await store.achievements.create("now-2", "On a roll", StreakDays(threshold=2, streak="current"))
    today = datetime.now(UTC)
    for days_ago in (5, 4):
        await adb_conn.execute("SELECT record_activity('ana', %s)", [today - timedelta(days=days_ago)])
    # a 2-day run that ended days ago: not a current streak
    assert await earned(adb_conn, "ana") == []
    for days_ago in (1, 0):
        await adb_conn.execute("SELECT record_activity('ana', %s)", [today - timedelta(days=days_ago)])
    assert await earned(adb_conn, "ana") == ["now-2"]
    # filling the gaps joins the two runs into one of six days
    for days_ago in (3, 2):
        await adb_conn.execute("SELECT record_activity('ana', %s)", [today - timedelta(days=days_ago)])
    assert await earned(adb_conn, "ana") == ["now-2", "week"]


async def test_lapsed_current_streak_does_not_count(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(adb_conn, "bo")
    old = datetime.now(UTC) - timedelta(days=30)
    for day in range(3):
        await adb_conn.execute("SELECT record_activity('bo', %s)", [old + timedelta(days=day)])
    current = await store.achievements.create("current-3", "Now", StreakDays(threshold=3, streak="current"))
    longest = await store.achievements.create("longest-3", "Ever", StreakDays(threshold=3))
    assert await store.achievements.backfill(current.id) == 0
    assert await store.achievements.backfill(longest.id) == 1


async def test_flashcard_reviews_and_mastery_award(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(adb_conn, "ana")
    cards = await make_cards(adb_conn, "ana", 3)
    await store.achievements.create("reviewer", "Reviewer", {"kind": "flashcards_reviewed", "threshold": 3})
    await store.achievements.create("master", "Master", CardsMastered(threshold=2, level=5))
    # a schedule row without a review yet counts for nothing
    await adb_conn.execute(
        "INSERT INTO user_flashcard_progress (user_clerk_id, flashcard_id) SELECT 'ana', unnest(%s::uuid[])",
        [cards],
    )
    assert await earned(adb_conn, "ana") == []
    # one statement reviewing all three: one evaluation, one award
    await adb_conn.execute(
        "UPDATE user_flashcard_progress SET last_reviewed_at = now(), mastery = 4 WHERE user_clerk_id = 'ana'"
    )
    assert await earned(adb_conn, "ana") == ["reviewer"]
    await adb_conn.execute(
        "UPDATE user_flashcard_progress SET mastery = 5 WHERE flashcard_id = ANY (%s)", [cards[:2]]
    )
    assert await earned(adb_conn, "ana") == ["master", "reviewer"]


async def test_quizzes_goals_and_the_forum_award(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(adb_conn, "ana", "bo", "cy")
    course_id, lessons = await make_course(adb_conn, 1)
    await store.achievements.create("quizzer", "Quizzer", {"kind": "quizzes_passed", "threshold": 1})
    await store.achievements.create("goal", "Goal", {"kind": "goals_completed", "threshold": 1})
    await store.achievements.create("poster", "Poster", {"kind": "forum_posts", "threshold": 1})
    await store.achievements.create("helper", "Helper", {"kind": "forum_replies", "threshold": 1})
    await store.achievements.create("liked", "Liked", {"kind": "likes_received", "threshold": 2})

    quiz = await scalar(
        adb_conn,
        "INSERT INTO quizzes (lesson_id, question, question_type, correct_answer)"
        """ VALUES (%s, 'Hello?', 'fill_blank', '"olá"') RETURNING id""",
        [lessons[0]],
    )
    await adb_conn.execute(
        "INSERT INTO quiz_attempts (quiz_id, user_clerk_id, answer, is_correct)"
        " VALUES (%s, 'ana', %s, false)",
        [quiz, '"oi"'],
    )
    assert await earned(adb_conn, "ana") == []
    await adb_conn.execute(
        "INSERT INTO quiz_attempts (quiz_id, user_clerk_id, answer, is_correct) VALUES (%s, 'ana', %s, true)",
        [quiz, '"olá"'],
    )
    goal = await scalar(
        adb_conn, "INSERT INTO learning_goals (user_clerk_id, title) VALUES ('ana', 'Fluent') RETURNING id"
    )
    await adb_conn.execute(
        "UPDATE learning_goals SET progress = 100, completed_at = now() WHERE id = %s", [goal]
    )
    assert await earned(adb_conn, "ana") == ["goal", "quizzer"]

    post = await scalar(
        adb_conn,
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body)"
        " VALUES (%s, 'ana', 'T', 'B') RETURNING id",
        [course_id],
    )
    reply = await scalar(
        adb_conn,
        "INSERT INTO forum_replies (post_id, author_clerk_id, body) VALUES (%s, 'bo', 'R') RETURNING id",
        [post],
    )
    # liking one's own post earns nothing; a like from someone else counts for the author
    await adb_conn.execute("INSERT INTO forum_post_likes (post_id, user_clerk_id) VALUES (%s, 'ana')", [post])
    await adb_conn.execute("INSERT INTO forum_post_likes (post_id, user_clerk_id) VALUES (%s, 'bo')", [post])
    assert "liked" not in await earned(adb_conn, "ana")
    await adb_conn.execute(
        "INSERT INTO forum_reply_likes (reply_id, user_clerk_id) VALUES (%s, 'ana')", [reply]
    )
    await adb_conn.execute("INSERT INTO forum_post_likes (post_id, user_clerk_id) VALUES (%s, 'cy')", [post])
    assert await earned(adb_conn, "ana") == ["goal", "liked", "poster", "quizzer"]
    assert await earned(adb_conn, "bo") == ["helper"]


async def test_a_bulk_insert_awards_every_learner_in_one_pass(store: AsyncStore, adb_conn: AConn) -> None:
    learners = [f"bulk_{i}" for i in range(40)]
    await make_users(adb_conn, *learners)
    course_id, lessons = await make_course(adb_conn, 3)
    await store.achievements.create("three", "Three", LessonsCompleted(threshold=3))
    await adb_conn.execute(
        "INSERT INTO user_courses (user_clerk_id, course_id) SELECT unnest(%s::text[]), %s",
        [learners, course_id],
    )
    # COPY, as an import does: the statement-level trigger sees every row at once
    async with adb_conn.cursor().copy(
        "COPY user_progress (user_clerk_id, lesson_id, status, started_at, completed_at) FROM STDIN"
    ) as copy:
        for i, learner in enumerate(learners):
            for lesson in lessons[: 3 if i % 2 == 0 else 2]:
                now = datetime.now(UTC)
                await copy.write_row((learner, lesson, "completed", now, now))
    awarded = await rows(
        adb_conn, "SELECT user_clerk_id FROM user_achievements WHERE earned_at IS NOT NULL ORDER BY 1"
    )
    assert sorted(learner for (learner,) in awarded) == sorted(learners[::2])


async def test_evaluate_awards_what_data_changed_without_hooks_earns(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await make_users(adb_conn, "ana")
    course_id, lessons = await make_course(adb_conn, 2)
    await store.progress.enrol("ana", course_id)
    await store.progress.set_lesson_status("ana", lessons[0], "completed")
    await store.progress.set_lesson_status("ana", lessons[1], "completed")
    late = await store.achievements.create("late", "Late", LessonsCompleted(threshold=2), points=5)
    assert await earned(adb_conn, "ana") == []
    assert [a.id for a in await store.achievements.evaluate("ana")] == [late.id]
    assert await store.achievements.evaluate("ana") == []
    assert [(row.code, row.points) for row in await store.achievements.list_earned("ana")] == [("late", 5)]
    with pytest.raises(NotFound) as caught:
        await store.achievements.evaluate("ghost")
    assert caught.value.field == "clerk_id"
    with pytest.raises(InvalidValue):
        await store.achievements.evaluate("")


async def test_a_session_can_switch_the_hooks_off_and_evaluate_later(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await make_users(adb_conn, "ana")
    course_id, lessons = await make_course(adb_conn, 1)
    await store.achievements.create("first", "First", LessonsCompleted(threshold=1))
    await store.progress.enrol("ana", course_id)
    await adb_conn.execute("SET LOCAL learnstore.evaluate_achievements = off")
    await store.progress.set_lesson_status("ana", lessons[0], "completed")
    assert await earned(adb_conn, "ana") == []
    await adb_conn.execute("SET LOCAL learnstore.evaluate_achievements = on")
    assert [a.code for a in await store.achievements.evaluate("ana")] == ["first"]


async def test_two_racing_evaluations_award_once(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as setup:
        await make_users(setup, "ana")
        course_id, lessons = await make_course(setup, 1)
        await setup.execute(
            "INSERT INTO user_courses (user_clerk_id, course_id) VALUES ('ana', %s)", [course_id]
        )
        await setup.execute(
            "ALTER TABLE user_progress DISABLE TRIGGER user_progress_insert_evaluate_achievements"
        )
        await setup.execute(
            "INSERT INTO user_progress (user_clerk_id, lesson_id, status, started_at, completed_at)"
            " VALUES ('ana', %s, 'completed', now(), now())",
            [lessons[0]],
        )
        await setup.execute(
            "ALTER TABLE user_progress ENABLE TRIGGER user_progress_insert_evaluate_achievements"
        )
        await AsyncStore.on(setup).achievements.create("first", "First", LessonsCompleted(threshold=1))

    async with (
        await psycopg.AsyncConnection.connect(fresh_db) as first,
        await psycopg.AsyncConnection.connect(fresh_db) as second,
    ):
        # the first awards and holds its transaction open; the second must wait for it, then see
        # the award and make none
        won = await AsyncStore.on(first).achievements.evaluate("ana")
        racing = asyncio.create_task(AsyncStore.on(second).achievements.evaluate("ana"))
        await asyncio.sleep(0.3)
        assert not racing.done(), "the second evaluation did not wait for the first"
        await first.commit()
        lost = await racing
        await second.commit()
    assert [a.code for a in won] == ["first"] and lost == []
    async with await psycopg.AsyncConnection.connect(fresh_db) as check:
        assert await earned(check, "ana") == ["first"]
        assert await achievement_notifications(check, "ana") == ["first"]


async def test_many_concurrent_evaluations_and_a_backfill_award_once(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=6) as store:
        async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as setup:
            await make_users(setup, "ana", "bo")
            await setup.execute("SELECT record_activity('ana', now()), record_activity('bo', now())")
        badge = await store.achievements.create("hello", "Hello", StreakDays(threshold=1))
        evaluations = [asyncio.create_task(store.achievements.evaluate(who)) for who in ["ana", "bo"] * 4]
        backfills = [asyncio.create_task(store.achievements.backfill(badge.id)) for _ in range(2)]
        await asyncio.gather(*evaluations, *backfills)
    awarded = sum(len(task.result()) for task in evaluations) + sum(task.result() for task in backfills)
    assert awarded == 2
    async with await psycopg.AsyncConnection.connect(fresh_db) as check:
        assert await scalar(check, "SELECT count(*) FROM user_achievements") == 2
        assert (
            await scalar(check, "SELECT count(*) FROM notifications WHERE source_type = 'achievement'") == 2
        )


# -- backfill -------------------------------------------------------------------------------------------


async def test_backfill_awards_everyone_who_meets_it_and_says_how_many(
    store: AsyncStore, adb_conn: AConn
) -> None:
    learners = [f"learner_{i}" for i in range(10)]
    await make_users(adb_conn, *learners)
    course_id, lessons = await make_course(adb_conn, 3)
    await adb_conn.execute(
        "INSERT INTO user_courses (user_clerk_id, course_id) SELECT unnest(%s::text[]), %s",
        [learners, course_id],
    )
    for i, learner in enumerate(learners):
        for lesson in lessons[: i % 4]:
            await store.progress.set_lesson_status(learner, lesson, "completed")
    badge = await store.achievements.create(
        "two-or-streak",
        "Two lessons or a streak",
        AnyOf(rules=[LessonsCompleted(threshold=2, course_id=course_id), StreakDays(threshold=5)]),
        points=20,
    )
    meeting = [learner for i, learner in enumerate(learners) if i % 4 >= 2]
    assert await store.achievements.backfill(badge.id) == len(meeting)
    for learner in learners:
        assert await earned(adb_conn, learner) == (["two-or-streak"] if learner in meeting else [])
        assert await achievement_notifications(adb_conn, learner) == await earned(adb_conn, learner)
    assert await store.achievements.backfill(badge.id) == 0
    with pytest.raises(NotFound) as caught:
        await store.achievements.backfill(uuid4())
    assert caught.value.field == "achievement_id"


# -- 3. profile card and leaderboards -------------------------------------------------------------------


async def test_the_profile_card_shows_stats_points_and_progress(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(adb_conn, "ana")
    course_id, lessons = await make_course(adb_conn, 2)
    other_id, _ = await make_course(adb_conn, 4, title="Other")
    await store.achievements.create("first", "First", LessonsCompleted(threshold=1), points=10)
    await store.achievements.create("ten", "Ten", LessonsCompleted(threshold=10), points=100)
    await store.achievements.create(
        "rounded",
        "Rounded",
        AllOf(rules=[LessonsCompleted(threshold=4), StreakDays(threshold=3)]),
        points=5,
    )
    await store.progress.enrol("ana", course_id)
    await store.progress.enrol("ana", other_id)
    for lesson in lessons:
        await store.progress.set_lesson_status("ana", lesson, "completed")
    await adb_conn.execute("SELECT record_activity('ana', now())")

    card = await store.achievements.get_profile("ana")
    assert (card.courses_enrolled, card.courses_completed, card.lessons_completed) == (2, 1, 2)
    assert (card.current_streak, card.longest_streak, card.points) == (1, 1, 10)
    by_code = {a.code: a for a in card.achievements}
    assert [a.code for a in card.achievements] == ["first", "rounded", "ten"]
    assert by_code["first"].earned and (by_code["first"].progress, by_code["first"].target) == (1, 1)
    assert not by_code["ten"].earned and (by_code["ten"].progress, by_code["ten"].target) == (2, 10)
    assert (by_code["rounded"].progress, by_code["rounded"].target) == (2 + 1, 4 + 3)

    with pytest.raises(NotFound):
        await store.achievements.get_profile("ghost")
    await make_users(adb_conn, "new")
    empty = await store.achievements.get_profile("new")
    assert (empty.points, empty.current_streak, empty.lessons_completed) == (0, 0, 0)
    assert all(a.progress == 0 for a in empty.achievements)


async def test_leaderboards_rank_overall_and_per_course_with_my_own_rank(
    store: AsyncStore, adb_conn: AConn
) -> None:
    people = ["ana", "bo", "cy", "di", "ed", "fay"]
    await make_users(adb_conn, *people)
    course_id, _ = await make_course(adb_conn, 1)
    for who in ("bo", "cy", "fay"):
        await store.progress.enrol(who, course_id)
    small = await store.achievements.create(
        "small", "Small", {"kind": "goals_completed", "threshold": 1}, points=10
    )
    big = await store.achievements.create(
        "big", "Big", {"kind": "goals_completed", "threshold": 2}, points=50
    )
    awards = {"ana": [small, big], "bo": [big], "cy": [big], "di": [small]}
    for who, badges in awards.items():
        for badge in badges:
            await adb_conn.execute(
                "INSERT INTO user_achievements (user_clerk_id, achievement_id, progress, earned_at)"
                " VALUES (%s, %s, 1, now())",
                [who, badge.id],
            )

    overall = await store.achievements.leaderboard("di", top=3)
    assert [(r.rank, r.user_clerk_id, r.points, r.is_me) for r in overall] == [
        (1, "ana", 60, False),
        (2, "bo", 50, False),
        (2, "cy", 50, False),
        (4, "di", 10, True),
    ]
    no_points = await store.achievements.leaderboard("ed", top=1)
    assert [(r.rank, r.user_clerk_id, r.points) for r in no_points] == [(1, "ana", 60), (5, "ed", 0)]

    in_course = await store.achievements.leaderboard("fay", course_id=course_id, top=10)
    assert [(r.rank, r.user_clerk_id, r.points, r.is_me) for r in in_course] == [
        (1, "bo", 50, False),
        (1, "cy", 50, False),
        (3, "fay", 0, True),
    ]
    # not enrolled: no own row in the course's board
    assert [r.user_clerk_id for r in await store.achievements.leaderboard("ana", course_id=course_id)] == [
        "bo",
        "cy",
    ]
    with pytest.raises(InvalidValue, match="top"):
        await store.achievements.leaderboard("ana", top=0)


async def points_of(conn: AConn, clerk_id: str) -> tuple[int, int] | None:
    found = await rows(
        conn, "SELECT points, achievements FROM user_points WHERE user_clerk_id = %s", [clerk_id]
    )
    return (found[0][0], found[0][1]) if found else None


async def award(conn: AConn, clerk_id: str, achievement_id: UUID) -> None:
    await conn.execute(
        "INSERT INTO user_achievements (user_clerk_id, achievement_id, progress, earned_at)"
        " VALUES (%s, %s, 1, now())",
        [clerk_id, achievement_id],
    )


async def test_points_follow_awards_point_changes_and_deletions(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(adb_conn, "ana", "bo")
    ten = await store.achievements.create(
        "ten", "Ten", {"kind": "goals_completed", "threshold": 9}, points=10
    )
    five = await store.achievements.create(
        "five", "Five", {"kind": "goals_completed", "threshold": 8}, points=5
    )
    assert await points_of(adb_conn, "ana") is None
    await award(adb_conn, "ana", ten.id)
    await award(adb_conn, "ana", five.id)
    await award(adb_conn, "bo", five.id)
    assert await points_of(adb_conn, "ana") == (15, 2)
    await store.achievements.update(five.id, title="Five", points=7)
    assert (await points_of(adb_conn, "ana"), await points_of(adb_conn, "bo")) == ((17, 2), (7, 1))
    assert await store.achievements.delete(ten.id)
    assert await points_of(adb_conn, "ana") == (7, 1)
    await adb_conn.execute("DELETE FROM user_achievements WHERE user_clerk_id = 'ana'")
    assert await points_of(adb_conn, "ana") == (0, 0)
    await adb_conn.execute("UPDATE users SET clerk_id = 'bo_2' WHERE clerk_id = 'bo'")
    assert await points_of(adb_conn, "bo_2") == (7, 1)
    await adb_conn.execute("DELETE FROM users WHERE clerk_id = 'bo_2'")
    assert await scalar(adb_conn, "SELECT count(*) FROM user_points WHERE user_clerk_id LIKE 'bo%%'") == 0


async def test_two_transactions_awarding_one_learner_both_count(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as setup:
        await make_users(setup, "ana")
        store = AsyncStore.on(setup)
        one = await store.achievements.create(
            "one", "One", {"kind": "goals_completed", "threshold": 9}, points=3
        )
        two = await store.achievements.create(
            "two", "Two", {"kind": "goals_completed", "threshold": 8}, points=4
        )
    async with (
        await psycopg.AsyncConnection.connect(fresh_db) as first,
        await psycopg.AsyncConnection.connect(fresh_db) as second,
    ):
        await award(first, "ana", one.id)
        racing = asyncio.create_task(award(second, "ana", two.id))
        await asyncio.sleep(0.3)
        await first.commit()
        await racing
        await second.commit()
    async with await psycopg.AsyncConnection.connect(fresh_db) as check:
        assert await points_of(check, "ana") == (7, 2)


# -- round trips, and the sync twin ---------------------------------------------------------------------


@contextmanager
def round_trips(conn: AConn) -> Iterator[list[str]]:
    """The round trips made on `conn` inside the block (libpq's protocol trace, one ReadyForQuery each)."""
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


async def test_every_operation_is_one_round_trip(fresh_db: str) -> None:
    with learnstore.connect(fresh_db) as setup:
        setup.users.apply_clerk_event({"type": "user.created", "data": {"id": "ana", "updated_at": 1}})
        badge = setup.achievements.create("first", "First", LessonsCompleted(threshold=1), points=3)
        assert setup.achievements.get_profile("ana").points == 0  # the sync twin works too
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        store = AsyncStore.on(conn)
        await store.achievements.get(badge.id)  # the querier's SQL is loaded
        operations: dict[str, Callable[[], Awaitable[object]]] = {
            "create": lambda: store.achievements.create("second", "Second", StreakDays(threshold=2)),
            "evaluate": lambda: store.achievements.evaluate("ana"),
            "backfill": lambda: store.achievements.backfill(badge.id),
            "get_profile": lambda: store.achievements.get_profile("ana"),
            "leaderboard": lambda: store.achievements.leaderboard("ana", top=5),
        }
        for name, operation in operations.items():
            with round_trips(conn) as trips:
                await operation()
            assert len(trips) == 1, (name, trips)


async def test_a_like_as_another_user_awards_the_author_under_row_level_security(
    store: AsyncStore, adb_conn: AConn
) -> None:
    # bo's identity cannot see or write ana's private rows, yet bo's like earns ana's award: the
    # evaluation runs as the owner (migration 0011).
    await make_users(adb_conn, "ana", "bo")
    course_id, _ = await make_course(adb_conn, 1)
    await store.achievements.create("liked", "Liked", {"kind": "likes_received", "threshold": 1})
    post = await scalar(
        adb_conn,
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body)"
        " VALUES (%s, 'ana', 'T', 'B') RETURNING id",
        [course_id],
    )

    liked = await store.as_user("bo").forum.like_post(post, "bo")

    assert liked.changed and liked.like_count == 1
    assert await earned(adb_conn, "ana") == ["liked"]
    assert await achievement_notifications(adb_conn, "ana") != []


async def test_the_app_role_reads_points_but_cannot_write_them(store: AsyncStore, adb_conn: AConn) -> None:
    await make_users(adb_conn, "ana")
    achievement = await store.achievements.create("first", "First", {"kind": "forum_posts", "threshold": 9})
    await award(adb_conn, "ana", achievement.id)
    before = await points_of(adb_conn, "ana")

    async with adb_conn.transaction(force_rollback=True):
        await adb_conn.execute("SET LOCAL ROLE learnstore_app")
        assert await scalar(adb_conn, "SELECT count(*) FROM user_points WHERE user_clerk_id = 'ana'") == 1
        with pytest.raises(errors.InsufficientPrivilege):
            async with adb_conn.transaction():
                await adb_conn.execute("UPDATE user_points SET points = points + 1000")

    assert await points_of(adb_conn, "ana") == before


async def test_reviewing_cards_through_the_flashcards_repository_awards(
    store: AsyncStore, adb_conn: AConn
) -> None:
    # The two domains meet only in the database: store.flashcards.review() writes the schedule, and
    # the trigger on user_flashcard_progress evaluates in the same transaction.
    await make_users(adb_conn, "ana")
    deck = await store.flashcards.create_set("ana", "Verbs")
    first = await store.flashcards.add_card("ana", deck.id, "ser", "to be")
    second = await store.flashcards.add_card("ana", deck.id, "ter", "to have")
    await store.achievements.create("reviewer", "Reviewer", {"kind": "flashcards_reviewed", "threshold": 2})

    await store.flashcards.review("ana", first.id, 3)
    assert await earned(adb_conn, "ana") == []
    await store.flashcards.review("ana", second.id, 4)

    assert await earned(adb_conn, "ana") == ["reviewer"]
    assert await achievement_notifications(adb_conn, "ana") != []
