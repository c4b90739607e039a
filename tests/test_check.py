"""`store.check()` and `learnstore check` on real databases: zero drift where the library wrote,
drift that plain SQL introduces found per value (with examples), repaired in batches, and checked
again; the CLI's exit codes and JSON; doctor's sampled check."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import learnstore
from learnstore import Store
from learnstore.achievement_rules import ForumPosts
from learnstore.cli import main
from learnstore.derived import DERIVED_VALUES
from learnstore.errors import InvalidValue, PermissionDenied


def sql(dsn: str, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def scalar(dsn: str, query: str, params: list[Any] | None = None) -> Any:
    return sql(dsn, query, params)[0][0]


def platform(dsn: str, store: Store) -> dict[str, Any]:
    """A little of everything, written through the library: no drift anywhere."""
    sql(dsn, "INSERT INTO users (clerk_id, first_name) VALUES ('ana', 'Ana'), ('bo', 'Bo'), ('author', 'Au')")
    course_id = scalar(
        dsn, "INSERT INTO courses (title, status, published_at) VALUES ('C', 'published', now()) RETURNING id"
    )
    units = [store.content.add_unit(course_id, f"Unit {i}") for i in range(3)]
    lessons = [
        store.content.add_lesson(units[0].id, f"Lesson {i}", content_type="text", content={"body": "x"}).id
        for i in range(4)
    ]
    for i in range(3):
        store.content.add_quiz(lessons[1], "flashcard", f"Q{i}?", "a")
    for i in range(2):
        store.content.add_media(lessons[1], "image", f"https://example.com/{i}.png")
    store.progress.enrol("ana", course_id)
    store.progress.set_lesson_status("ana", lessons[0], "completed")
    now = datetime.now(UTC)
    for days in (2, 1, 0):
        store.users.record_activity("ana", now - timedelta(days=days))
    card_set = store.flashcards.create_set("ana", "Verbs")
    cards = [store.flashcards.add_card("ana", card_set.id, f"w{i}", "x").id for i in range(3)]
    store.flashcards.review("ana", cards[0], "good")
    store.achievements.create("first-post", "First post", ForumPosts(threshold=1), points=5)
    post = store.forum.create_post(course_id, "author", "Hello", "World")
    store.forum.like_post(post.id, "ana")
    return {"course_id": course_id, "unit_id": units[0].id, "set_id": card_set.id, "post_id": post.id}


def drift_of(report: Any) -> dict[str, int]:
    return {value.name: value.drifted for value in report.values if value.drifted}


@pytest.fixture
def store(fresh_db: str) -> Any:
    with learnstore.connect(fresh_db, max_size=2) as opened:
        yield opened


def test_every_derived_value_is_checked_and_a_platform_written_by_the_library_has_no_drift(
    fresh_db: str, store: Store
) -> None:
    platform(fresh_db, store)
    report = store.check()
    assert [value.name for value in report.values] == [value.name for value in DERIVED_VALUES]
    assert report.drift == 0, report.summary()
    assert store.check(sample=50).drift == 0


# Each case: the value, plain SQL that breaks it, and what the report's first example says.
BREAKS: list[tuple[str, str, Callable[[dict[str, Any]], str]]] = [
    ("enrolment_progress", "UPDATE user_courses SET progress = 7", lambda _: "7"),
    ("streaks", "UPDATE user_streaks SET current_streak = 9, longest_streak = 9", lambda _: "9 current"),
    ("flashcard_schedules", "UPDATE user_flashcard_progress SET mastery = 5", lambda _: "mastery 5"),
    ("user_points", "UPDATE user_points SET points = points + 10", lambda _: "15 points"),
    ("achievement_awards", "DELETE FROM user_achievements", lambda _: "not earned: first-post"),
    ("unit_positions", "UPDATE units SET position = position + 3", lambda w: "3,4,5"),
    ("lesson_positions", "UPDATE lessons SET position = position * 2", lambda w: "0,2,4,6"),
    ("card_positions", "UPDATE flashcards SET position = position + 1", lambda w: "1,2,3"),
    ("quiz_positions", "UPDATE quizzes SET position = position + 2", lambda w: "2,3,4"),
    ("media_positions", "UPDATE media SET position = position * 3", lambda w: "0,3"),
    # the pairs' own trigger takes the deleted learner from the count: only the pair drifts
    ("set_learners", "DELETE FROM flashcard_set_learners", lambda w: "not a learner"),
    ("set_learner_counts", "UPDATE flashcard_sets SET learners = learners + 4", lambda w: "5"),
    ("course_roster_names", "UPDATE course_roster_names SET name_key = 'zed'", lambda w: "zed"),
]


@pytest.mark.parametrize(("name", "statement", "says"), BREAKS, ids=[case[0] for case in BREAKS])
def test_drift_made_with_plain_sql_is_reported_then_repaired(
    fresh_db: str, store: Store, name: str, statement: str, says: Callable[[dict[str, Any]], str]
) -> None:
    world = platform(fresh_db, store)
    # awards go with their points: deleting the award alone leaves user_points to the triggers
    sql(fresh_db, statement)
    report = store.check()
    drifted = drift_of(report)
    assert name in drifted, report.summary()
    (found,) = [value for value in report.values if value.name == name]
    assert says(world) in found.examples[0]["stored"], found.examples
    # nothing was written by the check
    assert drift_of(store.check()) == drifted
    repaired = store.check(repair=True)
    assert repaired.drift == 0, repaired.summary()
    assert {v.name: v.repaired for v in repaired.values if v.repaired} == drifted
    assert store.check().drift == 0


def test_a_duplicate_like_notification_from_before_the_unique_key_is_removed(
    fresh_db: str, store: Store
) -> None:
    world = platform(fresh_db, store)
    # a database restored from before migration 0012 could hold one: make it the only way possible now
    sql(fresh_db, "DROP INDEX notifications_like_once_key")
    sql(fresh_db, "INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)"
        " SELECT user_clerk_id, type, message, source_id, source_type, metadata FROM notifications"
        " WHERE type = 'like'")  # fmt: skip
    report = store.check()
    assert drift_of(report) == {"like_notifications": 1}
    assert store.check(repair=True).drift == 0
    assert (
        scalar(fresh_db, "SELECT count(*) FROM notifications WHERE source_id = %s", [world["post_id"]]) == 1
    )


async def test_the_async_store_checks_and_repairs_alike(fresh_db: str, store: Store) -> None:
    platform(fresh_db, store)
    sql(fresh_db, "UPDATE user_courses SET progress = 99")
    async with await learnstore.connect_async(fresh_db, max_size=1) as astore:
        assert drift_of(await astore.check()) == {"enrolment_progress": 1}
        assert (await astore.check(repair=True)).drift == 0
        assert (await astore.check()).drift == 0


def test_repair_works_in_batches(fresh_db: str, store: Store) -> None:
    sql(fresh_db, "INSERT INTO users (clerk_id) SELECT 'u' || i FROM generate_series(1, 7) AS i")
    sql(fresh_db, "INSERT INTO user_points (user_clerk_id, points) SELECT clerk_id, 3 FROM users")
    from learnstore.check import run_check
    from learnstore.database import Database

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        report = run_check(Database(conn), repair=True, batch=2)
    assert {v.name: v.repaired for v in report.values if v.repaired} == {"user_points": 7}
    assert report.drift == 0
    assert scalar(fresh_db, "SELECT sum(points) FROM user_points") == 0


def test_a_bad_sample_or_a_sampled_repair_is_refused_by_name(store: Store) -> None:
    for sample in (0, -1, 101):
        with pytest.raises(InvalidValue) as caught:
            store.check(sample=sample)
        assert caught.value.field == "sample"
    with pytest.raises(InvalidValue) as caught:
        store.check(repair=True, sample=10)
    assert caught.value.field == "sample"


def test_another_user_cannot_repair_and_postgresql_refuses_it(fresh_db: str, store: Store) -> None:
    platform(fresh_db, store)
    sql(fresh_db, "UPDATE user_points SET points = 99")
    with pytest.raises(PermissionDenied):
        store.as_user("bo").check(repair=True)
    assert scalar(fresh_db, "SELECT points FROM user_points WHERE user_clerk_id = 'author'") == 99


# -- the CLI and doctor --------------------------------------------------------------------------------


def test_the_cli_reports_drift_as_json_with_exit_code_1_and_repairs_it(
    fresh_db: str, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    platform(fresh_db, store)
    sql(fresh_db, "UPDATE user_streaks SET current_streak = 0")
    assert main(["check", "--dsn", fresh_db, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["drift"] == 1
    (streaks,) = [value for value in report["values"] if value["name"] == "streaks"]
    assert streaks["examples"][0]["key"] == "ana"
    assert main(["check", "--dsn", fresh_db, "--repair"]) == 0
    out = capsys.readouterr().out
    assert "streaks: 1 drift, 1 repaired, 0 remaining" in out
    assert main(["check", "--dsn", fresh_db]) == 0
    assert capsys.readouterr().out.rstrip().endswith("no drift")


def test_doctor_runs_a_sampled_read_only_check(
    fresh_db: str, store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = platform(fresh_db, store)
    assert main(["doctor", "--dsn", fresh_db]) == 0
    assert "PASS  derived state: no drift in a 5% sample" in capsys.readouterr().out
    sql(fresh_db, "UPDATE units SET position = position + 1 WHERE course_id = %s", [world["course_id"]])
    # the whole table, so that the one drifting course is in the sample
    monkeypatch.setattr("learnstore.doctor.DERIVED_SAMPLE_PERCENT", 100.0)
    assert main(["doctor", "--dsn", fresh_db]) == 1
    assert "FAIL  derived state: drift in a 100% sample: unit_positions (1)" in capsys.readouterr().out
    assert scalar(fresh_db, "SELECT min(position) FROM units") == 1  # read-only


def test_the_demo_database_has_no_drift(fresh_db: str) -> None:
    from learnstore import demo
    from learnstore._console import Output

    demo.prepare(Output(io.StringIO()), fresh_db, owned=False)
    with learnstore.connect(fresh_db, max_size=1) as store:
        report = store.check()
    assert report.drift == 0, report.summary()
    assert scalar(fresh_db, "SELECT count(*) FROM user_achievements") > 0  # the check had awards to check
