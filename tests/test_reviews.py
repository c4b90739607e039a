"""Answers to reviews, on a real database: the course's author answers a review once, edits and
deletes the answer; the reviewer is told; the review list carries the answer; nobody else may
answer, whatever SQL their as_user() session sends."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from test_edits import round_trips

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import Conflict, InvalidReference, InvalidValue, NotFound, PermissionDenied
from learnstore.security import APP_ROLE
from learnstore.types import TextContent

AConn = psycopg.AsyncConnection[Any]


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def reviewed(store: AsyncStore) -> tuple[UUID, UUID]:
    """A course by 'author', reviewed by 'ana' (enrolled): (course, review)."""
    for clerk_id in ("author", "ana", "eve"):
        event = {"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}}
        await store.users.apply_clerk_event(event)
    course = await store.content.create_course("author", "Portuguese")
    unit = await store.content.add_unit(course.id, "Greetings")
    await store.content.add_lesson(unit.id, "Hello", "text", TextContent(body="Olá"))
    await store.content.publish_course(course.id)
    await store.progress.enrol("ana", course.id)
    review = await store.reviews.review_course(course.id, "ana", 4, comment="Good")
    return course.id, review.id


async def answers(conn: AConn) -> list[tuple[Any, ...]]:
    cursor = await conn.execute("SELECT feedback_id, author_clerk_id, body FROM review_replies ORDER BY id")
    return await cursor.fetchall()


async def test_the_author_answers_edits_and_deletes_and_the_list_carries_it(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course, review = await reviewed(store)
    answer = await store.reviews.answer(review, "author", "Thank you!")
    assert (answer.feedback_id, answer.author_clerk_id, answer.edited_at) == (review, "author", None)
    [notice] = await store.users.list_notifications("ana")
    assert notice.type == "reply" and notice.metadata == {
        "by": "author",
        "feedback_id": str(review),
        "reply_id": str(answer.id),
    }
    [row] = await store.reviews.list_reviews(course)
    assert (row.answer_body, row.answered_at, row.answer_edited_at) == ("Thank you!", answer.created_at, None)

    edited = await store.reviews.edit_answer(review, "author", "Thank you, Ana!")
    assert edited.body == "Thank you, Ana!" and edited.edited_at is not None
    assert await store.reviews.get_answer(review) == edited
    assert len(await store.users.list_notifications("ana")) == 1  # an edit tells nobody again

    await store.reviews.delete_answer(review, "author")
    assert await store.reviews.get_answer(review) is None
    [row] = await store.reviews.list_reviews(course)
    assert row.answer_body is None
    # answered again after deleting: a new answer
    assert (await store.reviews.answer(review, "author", "Obrigado")).body == "Obrigado"


async def test_only_the_courses_author_answers_once_and_refusals_write_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    _, review = await reviewed(store)
    await store.reviews.answer(review, "author", "Thanks")
    before = await answers(adb_conn)
    with pytest.raises(Conflict, match="already has an answer") as twice:
        await store.reviews.answer(review, "author", "Again")
    assert twice.value.field == "feedback_id"
    for who in ("ana", "eve"):
        with pytest.raises(PermissionDenied) as refused:
            await store.reviews.edit_answer(review, who, "Mine now")
        assert refused.value.field == "author_clerk_id"
        with pytest.raises(PermissionDenied):
            await store.reviews.delete_answer(review, who)
    with pytest.raises(NotFound) as unknown:
        await store.reviews.edit_answer(uuid4(), "author", "x")
    assert unknown.value.field == "feedback_id"
    for body in ("", "   ", "x" * 5001):
        with pytest.raises(InvalidValue):
            await store.reviews.edit_answer(review, "author", body)
    assert await answers(adb_conn) == before


async def test_a_stranger_may_not_answer(store: AsyncStore, adb_conn: AConn) -> None:
    _, review = await reviewed(store)
    with pytest.raises(PermissionDenied, match="only the course's author") as refused:
        await store.reviews.answer(review, "eve", "I am not the author")
    assert refused.value.field == "author_clerk_id"
    with pytest.raises(InvalidReference, match="feedback_id: no review"):
        await store.reviews.answer(uuid4(), "author", "x")
    assert await answers(adb_conn) == []


async def test_postgresql_refuses_a_stranger_as_user(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=2) as store:
        _, review = await reviewed(store)
        with pytest.raises(PermissionDenied):  # in the author's name: the insert policy refuses
            await store.as_user("eve").reviews.answer(review, "author", "Forged")
        with pytest.raises(PermissionDenied):  # in their own: the trigger refuses
            await store.as_user("eve").reviews.answer(review, "eve", "Mine")
        answer = await store.as_user("author").reviews.answer(review, "author", "Thanks")
        async with (
            await psycopg.AsyncConnection.connect(fresh_db) as conn,
            conn.transaction(force_rollback=True),
        ):
            await conn.execute(
                "SELECT set_config('role', %s, true), set_config('learnstore.clerk_id', 'eve', true)",
                [APP_ROLE],
            )
            changed = await conn.execute(
                "UPDATE review_replies SET body = 'Forged' WHERE id = %s", [answer.id]
            )
            deleted = await conn.execute("DELETE FROM review_replies WHERE id = %s", [answer.id])
            assert (changed.rowcount, deleted.rowcount) == (0, 0)
        assert (await store.reviews.get_answer(review)) == answer


async def test_sixteen_answers_at_once_make_one(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        _, review = await reviewed(store)
        results = await asyncio.gather(
            *(store.reviews.answer(review, "author", f"Answer {i}") for i in range(16)),
            return_exceptions=True,
        )
        made = [r for r in results if not isinstance(r, BaseException)]
        assert len(made) == 1
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
        assert len(await store.users.list_notifications("ana")) == 1


async def test_erasing_the_author_keeps_the_answer_anonymously(store: AsyncStore, adb_conn: AConn) -> None:
    course, review = await reviewed(store)
    await store.reviews.answer(review, "author", "Thanks")
    assert await store.users.erase("author") is True
    assert await answers(adb_conn) == [(review, None, "Thanks")]
    [row] = await store.reviews.list_reviews(course)
    assert row.answer_body == "Thanks"


async def test_each_operation_is_one_round_trip(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        store = AsyncStore.on(conn)
        _, review = await reviewed(store)
        operations: dict[str, Any] = {
            "answer": lambda: store.reviews.answer(review, "author", "Thanks"),
            "edit_answer": lambda: store.reviews.edit_answer(review, "author", "Thanks!"),
            "get_answer": lambda: store.reviews.get_answer(review),
            "delete_answer": lambda: store.reviews.delete_answer(review, "author"),
        }
        for name, operation in operations.items():
            with round_trips(conn) as trips:
                await operation()
            assert len(trips) == 1, (name, trips)


def test_the_sync_store_answers(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    for clerk_id in ("author", "ana"):
        store.users.apply_clerk_event({"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}})
    course = store.content.create_course("author", "C")
    unit = store.content.add_unit(course.id, "U")
    store.content.add_lesson(unit.id, "L", "text", TextContent(body="b"))
    store.content.publish_course(course.id)
    store.progress.enrol("ana", course.id)
    review = store.reviews.review_course(course.id, "ana", 5)
    assert store.reviews.answer(review.id, "author", "Thanks").body == "Thanks"


async def test_an_answer_to_a_hidden_review_is_hidden_with_it(store: AsyncStore) -> None:
    # One predicate, learnstore_visible on the review: its reviewer and moderators still see both.
    course, review = await reviewed(store)
    await store.users.apply_clerk_event({"type": "user.created", "data": {"id": "mod", "updated_at": 1}})
    await store.users.grant_role("mod", "moderator")
    answer = await store.reviews.answer(review, "author", "Thank you!")
    assert await store.moderation.hide("mod", "Spam", feedback_id=review) is not None

    eve = store.as_user("eve")
    assert await eve.reviews.get_answer(review) is None
    assert await eve.reviews.list_reviews(course) == []
    for who in ("ana", "mod"):
        assert await store.as_user(who).reviews.get_answer(review) == answer, who
        [row] = await store.as_user(who).reviews.list_reviews(course)
        assert row.answer_body == "Thank you!", who

    await store.moderation.unhide("mod", "Not spam", feedback_id=review)
    assert await eve.reviews.get_answer(review) == answer
