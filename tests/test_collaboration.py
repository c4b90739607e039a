"""Asking to collaborate, on a real database: a user asks to join a course open to collaboration,
its author accepts (a seat) or declines, both are told, the inbox lists what waits; the rules hold
under as_user() and when many callers act at once."""

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

AConn = psycopg.AsyncConnection[Any]


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def users(store: AsyncStore, *clerk_ids: str) -> None:
    for clerk_id in clerk_ids:
        event = {"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}}
        await store.users.apply_clerk_event(event)


async def open_course(store: AsyncStore, *, open_to_collaboration: bool = True) -> UUID:
    course = await store.content.create_course(
        "author", "Portuguese", open_to_collaboration=open_to_collaboration
    )
    return course.id


async def notices(conn: AConn, clerk_id: str) -> list[tuple[Any, ...]]:
    cursor = await conn.execute(
        "SELECT type, metadata->>'status', metadata->>'role' FROM notifications WHERE user_clerk_id = %s"
        " ORDER BY created_at, id",
        [clerk_id],
    )
    return await cursor.fetchall()


async def counts(conn: AConn) -> tuple[Any, ...]:
    cursor = await conn.execute(
        "SELECT (SELECT count(*) FROM collaboration_requests), (SELECT count(*) FROM collaborators),"
        " (SELECT count(*) FROM notifications)"
    )
    row = await cursor.fetchone()
    assert row is not None
    return tuple(row)


async def test_a_request_accepted_makes_a_collaborator_and_tells_both_sides(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await users(store, "author", "ana")
    course = await open_course(store)
    request = await store.collaboration.request(course, "ana", "reviewer", message="I teach this")
    assert (request.status, request.role, request.decided_at) == ("pending", "reviewer", None)
    assert await notices(adb_conn, "author") == [("system", None, "reviewer")]

    [for_author] = await store.collaboration.inbox("author")
    assert (for_author.kind, for_author.id, for_author.other_clerk_id) == ("request", request.id, "ana")
    assert for_author.course_title == "Portuguese" and for_author.message == "I teach this"
    [sent] = await store.collaboration.inbox("ana")
    assert (sent.kind, sent.other_clerk_id) == ("sent", "author")

    accepted = await store.collaboration.decide(request.id, "author", accept=True)
    assert accepted.status == "accepted" and accepted.decided_at is not None
    assert await store.collaboration.get_course_role(course, "ana") == "reviewer"
    assert await notices(adb_conn, "ana") == [("system", "accepted", "reviewer")]
    assert await store.collaboration.inbox("author") == [] == await store.collaboration.inbox("ana")
    assert [r.id for r in await store.collaboration.list_requests(course)] == [request.id]


async def test_a_declined_or_withdrawn_request_may_be_asked_again(store: AsyncStore, adb_conn: AConn) -> None:
    await users(store, "author", "ana")
    course = await open_course(store)
    first = await store.collaboration.request(course, "ana")
    assert (await store.collaboration.decide(first.id, "author", accept=False)).status == "declined"
    assert await notices(adb_conn, "ana") == [("system", "declined", "editor")]
    assert await store.collaboration.get_course_role(course, "ana") is None
    second = await store.collaboration.request(course, "ana")
    assert (await store.collaboration.withdraw(second.id, "ana")).status == "withdrawn"
    third = await store.collaboration.request(course, "ana", "reviewer")
    # one transaction: one created_at for all three, so the keyset's id orders them
    page = await store.collaboration.list_requests(course, limit=2)
    rest = await store.collaboration.list_requests(course, before=page[-1])
    assert len(page) == 2 and len(rest) == 1
    assert {r.id for r in page + rest} == {first.id, second.id, third.id}
    assert [r.status for r in page + rest if r.id == third.id] == ["pending"]


async def test_the_inbox_lists_an_invitation_too(store: AsyncStore) -> None:
    await users(store, "author", "ana")
    course = await open_course(store)
    await store.collaboration.invite_collaborator(course, "author", "ana", "reviewer")
    [item] = await store.collaboration.inbox("ana")
    assert (item.kind, item.other_clerk_id, item.role) == ("invitation", "author", "reviewer")


async def test_what_may_not_be_asked_is_refused_by_rule_and_writes_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await users(store, "author", "ana", "ed")
    closed = await open_course(store, open_to_collaboration=False)
    course = await open_course(store)
    await store.collaboration.invite_collaborator(course, "author", "ed")
    await store.collaboration.respond_to_invitation(course, "ed", accept=True)
    await store.collaboration.request(course, "ana")
    before = await counts(adb_conn)

    with pytest.raises(Conflict, match="not open to collaboration") as closed_error:
        await store.collaboration.request(closed, "ana")
    assert closed_error.value.field == "course_id"
    with pytest.raises(Conflict, match="already has an open request") as twice:
        await store.collaboration.request(course, "ana", "reviewer")
    assert twice.value.field == "requester_clerk_id"
    with pytest.raises(Conflict, match="already collaborates") as seated:
        await store.collaboration.request(course, "ed")
    assert seated.value.field == "requester_clerk_id"
    with pytest.raises(InvalidValue) as own:
        await store.collaboration.request(course, "author")
    assert own.value.field == "requester_clerk_id"
    with pytest.raises(NotFound) as unknown:
        await store.collaboration.request(uuid4(), "ana")
    assert unknown.value.field == "course_id"
    with pytest.raises(InvalidReference):
        await store.collaboration.request(course, "ghost")
    with pytest.raises(InvalidValue):
        await store.collaboration.request(course, "ana", "owner")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="message"):
        await store.collaboration.request(course, "ed", message="x" * 2001)
    assert await counts(adb_conn) == before


async def test_only_the_author_decides_and_only_the_requester_withdraws(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await users(store, "author", "ana", "eve")
    course = await open_course(store)
    request = await store.collaboration.request(course, "ana")
    before = await counts(adb_conn)
    with pytest.raises(PermissionDenied) as decided:
        await store.collaboration.decide(request.id, "ana", accept=True)
    assert decided.value.field == "author_clerk_id"
    with pytest.raises(PermissionDenied) as withdrawn:
        await store.collaboration.withdraw(request.id, "eve")
    assert withdrawn.value.field == "requester_clerk_id"
    with pytest.raises(NotFound):
        await store.collaboration.decide(uuid4(), "author", accept=True)
    with pytest.raises(InvalidValue):
        await store.collaboration.decide(request.id, "author", accept="yes")  # type: ignore[arg-type]
    assert await counts(adb_conn) == before
    await store.collaboration.withdraw(request.id, "ana")
    with pytest.raises(Conflict, match="already withdrawn") as late:
        await store.collaboration.decide(request.id, "author", accept=True)
    assert late.value.field == "request_id"
    assert await store.collaboration.get_course_role(course, "ana") is None


async def test_postgresql_refuses_what_a_user_may_not_do_as_user(fresh_db: str) -> None:
    """Under as_user() the policies and triggers refuse, whatever SQL the user's session sends."""
    async with await learnstore.connect_async(fresh_db, max_size=2) as store:
        await users(store, "author", "ana", "eve")
        course = await open_course(store)
        closed = await open_course(store, open_to_collaboration=False)
        request = await store.collaboration.request(course, "ana")
        with pytest.raises(PermissionDenied):  # in another user's name: the insert policy
            await store.as_user("eve").collaboration.request(course, "ana")
        with pytest.raises(Conflict):  # the trigger holds under as_user too
            await store.as_user("eve").collaboration.request(closed, "eve")
        async with await psycopg.AsyncConnection.connect(fresh_db) as conn:
            change = "UPDATE collaboration_requests SET status = 'accepted' WHERE id = %s"
            for who in ("eve", "ana"):
                async with conn.transaction(force_rollback=True):
                    await conn.execute(
                        "SELECT set_config('role', %s, true), set_config('learnstore.clerk_id', %s, true)",
                        [APP_ROLE, who],
                    )
                    if who == "eve":  # a stranger sees no request and changes none
                        cursor = await conn.execute(change, [request.id])
                        assert cursor.rowcount == 0
                    else:  # the requester may withdraw, not accept their own request
                        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level"):
                            await conn.execute(change, [request.id])
        as_author = store.as_user("author")
        assert [item.id for item in await as_author.collaboration.inbox("author")] == [request.id]
        assert (await as_author.collaboration.decide(request.id, "author", accept=True)).status == "accepted"
        assert await store.collaboration.get_course_role(course, "ana") == "editor"


async def test_sixteen_decisions_at_once_decide_once(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        await users(store, "author", "ana")
        course = await open_course(store)
        request = await store.collaboration.request(course, "ana")
        results = await asyncio.gather(
            *(store.collaboration.decide(request.id, "author", accept=i % 2 == 0) for i in range(16)),
            return_exceptions=True,
        )
        decided = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(decided) == 1 and len(refused) == 15
        assert all(isinstance(r, Conflict) for r in refused)
        status = decided[0].status
        seats = await store.collaboration.list_collaborators(course)
        expected = [("ana", "accepted")] if status == "accepted" else []
        assert [(s.user_clerk_id, s.status) for s in seats] == expected
        notified = await store.users.list_notifications("ana")
        assert [n.metadata for n in notified] == [
            {"course_id": str(course), "request_id": str(request.id), "role": "editor", "status": status}
        ]


async def test_sixteen_asks_at_once_open_one_request(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        await users(store, "author", "ana")
        course = await open_course(store)
        results = await asyncio.gather(
            *(store.collaboration.request(course, "ana") for _ in range(16)), return_exceptions=True
        )
        opened = [r for r in results if not isinstance(r, BaseException)]
        assert len(opened) == 1
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
        assert len(await store.collaboration.list_requests(course)) == 1
        assert len(await store.users.list_notifications("author")) == 1


async def test_each_operation_is_one_round_trip(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        store = AsyncStore.on(conn)
        await users(store, "author", "ana", "bo")
        course = await open_course(store)
        c = store.collaboration
        to_decide = await c.request(course, "bo")
        ids: list[UUID] = []
        operations: dict[str, Any] = {
            "request": lambda: c.request(course, "ana"),
            "inbox": lambda: c.inbox("author"),
            "withdraw": lambda: c.withdraw(ids[0], "ana"),
            "decide": lambda: c.decide(to_decide.id, "author", accept=True),
            "list_requests": lambda: c.list_requests(course),
            "get": lambda: c.get(to_decide.id),
        }
        for name, operation in operations.items():
            with round_trips(conn) as trips:
                result = await operation()
            if name == "request":
                ids.append(result.id)
            assert len(trips) == 1, (name, trips)


def test_the_sync_store_asks_and_decides(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    for clerk_id in ("author", "ana"):
        store.users.apply_clerk_event({"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}})
    course = store.content.create_course("author", "C", open_to_collaboration=True)
    request = store.collaboration.request(course.id, "ana", "reviewer")
    assert store.collaboration.get(request.id) == request
    assert store.collaboration.decide(request.id, "author", accept=True).status == "accepted"
    assert store.collaboration.may_review_course(course.id, "ana")
