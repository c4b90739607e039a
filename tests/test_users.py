"""The users domain on a real database: identity sync, profiles, streaks, goals, notifications, GDPR."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import psycopg
import pytest

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import AlreadyExists, InvalidReference, InvalidValue, NotFound


def clerk_event(
    kind: str = "user.created",
    clerk_id: str = "user_1",
    *,
    updated_at: int = 1_700_000_000_000,
    emails: tuple[str, ...] = ("ada@example.com",),
    primary: int = 0,
    first_name: str | None = "Ada",
) -> dict[str, Any]:
    addresses = [{"id": f"idn_{i}", "email_address": email} for i, email in enumerate(emails)]
    return {
        "type": kind,
        "object": "event",
        "data": {
            "id": clerk_id,
            "object": "user",
            "email_addresses": addresses,
            "primary_email_address_id": f"idn_{primary}" if emails else None,
            "first_name": first_name,
            "last_name": "Lovelace",
            "image_url": "https://img.example.com/ada.png",
            "updated_at": updated_at,
        },
    }


@pytest.fixture
def store(adb_conn: psycopg.AsyncConnection[Any]) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def make_user(store: AsyncStore, clerk_id: str = "user_1", timezone: str = "UTC", **kw: Any) -> None:
    await store.users.apply_clerk_event(
        clerk_event(clerk_id=clerk_id, emails=(f"{clerk_id}@example.com",), **kw)
    )
    await store.users.update_profile(clerk_id, timezone=timezone)


# -- identity sync ---------------------------------------------------------------------------


async def test_clerk_created_event_stores_the_primary_email_not_the_first(store: AsyncStore) -> None:
    event = clerk_event(emails=("old@example.com", "Primary@Example.com"), primary=1)
    user = await store.users.apply_clerk_event(event)
    assert user is not None
    assert user.email == "Primary@Example.com"
    assert (await store.users.get_by_email("primary@example.COM")).clerk_id == "user_1"


async def test_clerk_events_are_idempotent_and_an_older_one_never_wins(store: AsyncStore) -> None:
    await store.users.apply_clerk_event(clerk_event(updated_at=1000, first_name="Ada"))
    newer = await store.users.apply_clerk_event(
        clerk_event("user.updated", updated_at=3000, first_name="Augusta")
    )
    replayed = await store.users.apply_clerk_event(
        clerk_event("user.updated", updated_at=3000, first_name="Augusta")
    )
    older = await store.users.apply_clerk_event(
        clerk_event("user.updated", updated_at=2000, first_name="Stale")
    )
    assert newer is not None and replayed is not None and older is not None
    assert newer.first_name == replayed.first_name == older.first_name == "Augusta"
    assert (await store.users.get("user_1")).first_name == "Augusta"
    assert older.clerk_updated_at == datetime.fromtimestamp(3, tz=UTC)


async def test_clerk_deleted_event_erases_and_is_idempotent(store: AsyncStore) -> None:
    await store.users.apply_clerk_event(clerk_event())
    assert await store.users.apply_clerk_event({"type": "user.deleted", "data": {"id": "user_1"}}) is None
    assert await store.users.apply_clerk_event({"type": "user.deleted", "data": {"id": "user_1"}}) is None
    assert await store.users.get_or_none("user_1") is None


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"type": "user.exploded", "data": {"id": "x"}}, "type"),
        ({"type": "user.created"}, "data"),
        ({"type": "user.created", "data": {"id": ""}}, "id"),
        ({"type": "user.created", "data": {"id": "x", "updated_at": "yesterday"}}, "updated_at"),
    ],
)
async def test_malformed_clerk_events_are_invalid_values(
    store: AsyncStore, event: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        await store.users.apply_clerk_event(event)
    assert field in str(caught.value)


async def test_an_email_taken_by_another_user_is_a_duplicate(store: AsyncStore) -> None:
    await store.users.apply_clerk_event(clerk_event(clerk_id="user_a", emails=("same@example.com",)))
    with pytest.raises(AlreadyExists) as caught:
        await store.users.apply_clerk_event(clerk_event(clerk_id="user_b", emails=("SAME@example.com",)))
    assert caught.value.constraint == "users_email_key"
    assert await store.users.get_or_none("user_b") is None


async def test_lookups_of_unknown_users_raise_not_found(store: AsyncStore) -> None:
    with pytest.raises(NotFound, match="user_nobody"):
        await store.users.get("user_nobody")
    with pytest.raises(NotFound, match="email"):
        await store.users.get_by_email("nobody@example.com")


# -- profiles ----------------------------------------------------------------------------------


async def test_profile_update_changes_only_the_given_fields(store: AsyncStore) -> None:
    await make_user(store)
    user = await store.users.update_profile(
        "user_1", bio="Hello; DROP TABLE users; --", timezone="Asia/Tokyo"
    )
    assert (user.bio, user.timezone, user.first_name) == ("Hello; DROP TABLE users; --", "Asia/Tokyo", "Ada")
    cleared = await store.users.update_profile("user_1", bio=None)
    assert cleared.bio is None and cleared.timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"bio": "x" * 5001}, "bio"),
        ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
        ({"first_name": 42}, "first_name"),
    ],
)
async def test_bad_profile_values_are_rejected_and_nothing_changes(
    store: AsyncStore, change: dict[str, Any], field: str
) -> None:
    await make_user(store)
    before = await store.users.get("user_1")
    with pytest.raises(InvalidValue) as caught:
        await store.users.update_profile("user_1", **change)
    assert field in str(caught.value)
    assert await store.users.get("user_1") == before


async def test_profile_update_of_an_unknown_user_is_not_found(store: AsyncStore) -> None:
    with pytest.raises(NotFound):
        await store.users.update_profile("user_nobody", bio="hi")


# -- activity and streaks ----------------------------------------------------------------------


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


async def test_activity_lands_on_the_users_local_day(store: AsyncStore) -> None:
    await make_user(store, timezone="Pacific/Auckland")  # UTC+13 in January
    await store.users.record_activity("user_1", at("2026-01-01", 20))  # 2 January in Auckland
    days = await store.users.list_login_days("user_1", date(2025, 12, 1), date(2026, 2, 1))
    assert days == [date(2026, 1, 2)]


async def test_streaks_grow_on_consecutive_days_and_break_on_a_missed_one(store: AsyncStore) -> None:
    await make_user(store)
    for day in ("2026-03-01", "2026-03-02", "2026-03-02", "2026-03-03"):
        streak = await store.users.record_activity("user_1", at(day))
    assert (streak.current_streak, streak.longest_streak) == (3, 3)
    streak = await store.users.record_activity("user_1", at("2026-03-05"))
    assert (streak.current_streak, streak.longest_streak) == (1, 3)
    today = await store.users.get_streak("user_1", at("2026-03-06"))
    assert today.current_streak == 1
    later = await store.users.get_streak("user_1", at("2026-03-08"))
    assert (later.current_streak, later.longest_streak) == (0, 3)


async def test_recompute_agrees_with_the_incremental_path_even_out_of_order(store: AsyncStore) -> None:
    await make_user(store)
    for day in ("2026-04-03", "2026-04-01", "2026-04-02", "2026-04-07", "2026-04-06"):
        incremental = await store.users.record_activity("user_1", at(day))
    recomputed = await store.users.recompute_streak("user_1")
    assert (incremental.current_streak, incremental.longest_streak) == (2, 3)
    assert (recomputed.current_streak, recomputed.longest_streak, recomputed.last_active_date) == (
        incremental.current_streak,
        incremental.longest_streak,
        incremental.last_active_date,
    )


async def test_activity_for_an_unknown_user_or_a_naive_time_is_rejected(store: AsyncStore) -> None:
    with pytest.raises(NotFound, match="user_nobody"):
        await store.users.record_activity("user_nobody")
    await make_user(store)
    with pytest.raises(InvalidValue, match="at"):
        await store.users.record_activity("user_1", datetime(2026, 1, 1, 12))


async def test_racing_activity_for_one_user_counts_every_day_once(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=8) as store:
        await make_user(store)
        days = [at("2026-05-01") + timedelta(days=i) for i in range(6)]
        await asyncio.gather(*(store.users.record_activity("user_1", day) for day in days * 3))
        streak = await store.users.get_streak("user_1", days[-1])
        recomputed = await store.users.recompute_streak("user_1")
        logged = await store.users.list_login_days("user_1", date(2026, 1, 1), date(2026, 12, 31))
    assert len(logged) == 6
    assert (streak.current_streak, streak.longest_streak) == (6, 6)
    assert (recomputed.current_streak, recomputed.longest_streak) == (6, 6)


# -- learning goals ------------------------------------------------------------------------------


async def test_goals_progress_complete_reopen_and_overdue(store: AsyncStore) -> None:
    await make_user(store)
    soon = await store.users.create_goal("user_1", "Finish SQL course", target_date=date(2026, 6, 1))
    later = await store.users.create_goal("user_1", "Read a book", target_date=date(2026, 9, 1))
    half = await store.users.set_goal_progress("user_1", soon.id, 50)
    assert (half.progress, half.completed_at) == (50, None)
    done = await store.users.complete_goal("user_1", later.id)
    assert done.completed_at is not None
    assert [g.id for g in await store.users.list_active_goals("user_1")] == [soon.id]
    assert [g.id for g in await store.users.list_overdue_goals("user_1", at("2026-06-02"))] == [soon.id]
    reopened = await store.users.set_goal_progress("user_1", later.id, 90)
    assert reopened.completed_at is None


@pytest.mark.parametrize("progress", [-1, 101, True, 2.5])
async def test_goal_progress_out_of_range_is_rejected(store: AsyncStore, progress: Any) -> None:
    await make_user(store)
    goal = await store.users.create_goal("user_1", "Goal")
    with pytest.raises(InvalidValue, match="progress"):
        await store.users.set_goal_progress("user_1", goal.id, progress)


async def test_goals_of_other_users_and_unknown_users_are_out_of_reach(store: AsyncStore) -> None:
    await make_user(store, "user_1")
    await make_user(store, "user_2")
    goal = await store.users.create_goal("user_1", "Mine")
    with pytest.raises(NotFound):
        await store.users.set_goal_progress("user_2", goal.id, 10)
    with pytest.raises(InvalidReference, match="user_nobody"):
        await store.users.create_goal("user_nobody", "Orphan")
    with pytest.raises(InvalidValue, match="title"):
        await store.users.create_goal("user_1", "   ")


# -- notifications -------------------------------------------------------------------------------


async def test_notifications_unread_count_mark_read_and_pages(store: AsyncStore) -> None:
    await make_user(store)
    sent = [await store.users.notify("user_1", "system", f"Note {i}", metadata={"i": i}) for i in range(5)]
    assert await store.users.count_unread("user_1") == 5
    assert await store.users.mark_read("user_1", sent[0].id) is True
    assert await store.users.mark_read("user_1", sent[0].id) is False
    assert await store.users.count_unread("user_1") == 4
    first = await store.users.list_notifications("user_1", limit=2)
    second = await store.users.list_notifications("user_1", limit=2, after=first[-1])
    third = await store.users.list_notifications("user_1", limit=2, after=second[-1])
    seen = [n.id for n in first + second + third]
    assert sorted(seen) == sorted(n.id for n in sent) and len(set(seen)) == 5
    assert first[0].metadata == sent[-1].metadata or first[0].created_at >= first[1].created_at
    assert await store.users.mark_all_read("user_1") == 4
    assert await store.users.count_unread("user_1") == 0


async def test_notification_input_is_validated(store: AsyncStore) -> None:
    await make_user(store)
    with pytest.raises(InvalidValue, match="type"):
        await store.users.notify("user_1", "spam", "hi")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="message"):
        await store.users.notify("user_1", "system", "")
    with pytest.raises(InvalidReference):
        await store.users.notify("user_nobody", "system", "hi")
    with pytest.raises(InvalidValue, match="limit"):
        await store.users.list_notifications("user_1", limit=0)
    assert await store.users.count_unread("user_1") == 0


async def test_fan_out_reaches_every_enrolled_learner_in_one_statement(
    store: AsyncStore, adb_conn: psycopg.AsyncConnection[Any]
) -> None:
    for name in ("author", "l1", "l2", "outsider"):
        await make_user(store, name)
    course_id = uuid4()
    await adb_conn.execute(
        "INSERT INTO courses (id, author_clerk_id, title) VALUES (%s, 'author', 'SQL')", (course_id,)
    )
    await adb_conn.execute(
        "INSERT INTO user_courses (user_clerk_id, course_id) VALUES ('l1', %(c)s), ('l2', %(c)s)",
        {"c": course_id},
    )
    sent = await store.users.notify_course_learners(
        course_id, "system", "New unit!", source_id=course_id, source_type="course"
    )
    assert sent == 2
    assert [await store.users.count_unread(n) for n in ("l1", "l2", "outsider")] == [1, 1, 0]


# -- GDPR ----------------------------------------------------------------------------------------


async def test_unknown_user_export_is_not_found_and_erase_is_false(store: AsyncStore) -> None:
    with pytest.raises(NotFound):
        await store.users.export("user_nobody")
    assert await store.users.erase("user_nobody") is False


# -- sync flavour ----------------------------------------------------------------------------------


def test_the_sync_store_does_the_same(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    store.users.apply_clerk_event(clerk_event())
    streak = store.users.record_activity("user_1", at("2026-01-01"))
    assert streak.current_streak == 1
    assert store.users.get_by_email("ADA@example.com").clerk_id == "user_1"
    with store.transaction() as tx:
        tx.users.notify("user_1", "system", "inside a unit of work")
    assert store.users.count_unread("user_1") == 1
