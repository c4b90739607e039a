"""Erased users stay erased: late, replayed and out-of-order identity events on a real database."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import psycopg
import pytest
from test_webhooks import SECRET, clerk_event, signed

import learnstore
from learnstore import AsyncStore, webhooks_async

AConn = psycopg.AsyncConnection[Any]


def event(kind: str, clerk_id: str = "user_1", updated_at: int = 1_000, name: str = "Ada") -> dict[str, Any]:
    return {
        "type": kind,
        "data": {
            "id": clerk_id,
            "first_name": name,
            "primary_email_address_id": "e1",
            "email_addresses": [{"id": "e1", "email_address": f"{clerk_id}@example.com"}],
            "updated_at": updated_at,
        },
    }


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def traces(conn: AConn, clerk_id: str) -> tuple[int, int, list[bytes]]:
    """How many users have the id or its email, and the erased record (hashes) as stored."""
    cur = await conn.execute(
        "SELECT (SELECT count(*) FROM users WHERE clerk_id = %(id)s OR email ILIKE %(id)s || '%%'),"
        " (SELECT count(*) FROM erased_identities"
        "  WHERE clerk_id_sha256 = sha256(convert_to(%(id)s, 'UTF8'))),"
        " (SELECT array_agg(clerk_id_sha256) FROM erased_identities)",
        {"id": clerk_id},
    )
    row = await cur.fetchone()
    assert row is not None
    return row[0], row[1], row[2] or []


async def test_an_update_delivered_after_the_delete_is_a_reported_no_op(
    store: AsyncStore, adb_conn: AConn
) -> None:
    created = await store.users.sync_clerk_event(event("user.created", updated_at=1_000))
    assert (created.applied, created.erased, created.user is not None) == (True, False, True)
    deleted = await store.users.sync_clerk_event(event("user.deleted"))
    assert (deleted.applied, deleted.erased, deleted.user) == (True, True, None)

    late = await store.users.sync_clerk_event(event("user.updated", updated_at=2_000, name="Back"))
    assert (late.type, late.applied, late.erased, late.user) == ("user.updated", False, True, None)
    assert await store.users.apply_clerk_event(event("user.updated", updated_at=3_000)) is None
    assert await store.users.get_or_none("user_1") is None
    users, erased, hashes = await traces(adb_conn, "user_1")
    assert (users, erased) == (0, 1)
    # only the hash is kept, never the id
    assert hashes == [hashlib.sha256(b"user_1").digest()]
    assert await store.users.is_erased("user_1") is True
    assert await store.users.is_erased("user_2") is False


async def test_a_create_delivered_after_the_delete_of_an_identity_never_seen_is_a_no_op(
    store: AsyncStore, adb_conn: AConn
) -> None:
    deleted = await store.users.sync_clerk_event(event("user.deleted", "user_9"))
    assert (deleted.applied, deleted.erased) == (False, True)  # nothing to delete, recorded all the same
    late = await store.users.sync_clerk_event(event("user.created", "user_9"))
    assert (late.applied, late.erased, late.user) == (False, True, None)
    assert (await traces(adb_conn, "user_9"))[:2] == (0, 1)


async def test_replayed_deletes_are_idempotent(store: AsyncStore, adb_conn: AConn) -> None:
    await store.users.apply_clerk_event(event("user.created"))
    outcomes = [await store.users.sync_clerk_event(event("user.deleted")) for _ in range(3)]
    assert [(o.applied, o.erased) for o in outcomes] == [(True, True), (False, True), (False, True)]
    assert (await traces(adb_conn, "user_1"))[:2] == (0, 1)
    # other users are untouched by the record
    other = await store.users.sync_clerk_event(event("user.created", "user_2"))
    assert (other.applied, other.erased) == (True, False)


async def test_a_user_who_erases_themself_under_as_user_stays_erased(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db) as store:
        await store.users.apply_clerk_event(event("user.created"))
        await store.users.apply_clerk_event(event("user.created", "user_2"))
        assert await store.as_user("user_2").users.erase("user_1") is False  # RLS: not theirs
        assert await store.as_user("user_1").users.erase("user_1") is True
        assert await store.as_user("user_2").users.is_erased("user_1") is True
        late = await store.users.sync_clerk_event(event("user.updated", updated_at=9_000))
        assert (late.applied, late.erased) == (False, True)
        assert await store.users.get_or_none("user_2") is not None
        assert await store.users.is_erased("user_2") is False


async def test_the_webhook_path_reports_a_late_event_for_an_erased_user(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db) as store:
        deliveries = [
            ("msg_c", clerk_event("user.created", updated_at=1)),
            ("msg_d", clerk_event("user.deleted")),
            ("msg_u", clerk_event("user.updated", updated_at=2)),  # Svix retried it late
            ("msg_d2", clerk_event("user.deleted")),
        ]
        results = [
            await webhooks_async.apply_clerk_webhook(store, body.encode(), signed(body, msg_id), SECRET)
            for msg_id, body in deliveries
        ]
        assert [(r.event_type, r.applied, r.erased) for r in results] == [
            ("user.created", True, False),
            ("user.deleted", True, True),
            ("user.updated", False, True),
            ("user.deleted", True, True),
        ]
        assert await store.users.get_or_none(json.loads(deliveries[0][1])["data"]["id"]) is None


async def test_creates_and_erases_racing_on_sixteen_connections_leave_the_user_erased(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        for round_number in range(4):
            clerk_id = f"user_race_{round_number}"
            calls = [
                store.users.sync_clerk_event(event("user.created", clerk_id, updated_at=n))
                if n % 2
                else store.users.erase(clerk_id)
                for n in range(16)
            ]
            await asyncio.gather(*calls)
            # whichever order the locks gave, an erase came last or the creates after it were no-ops
            assert await store.users.get_or_none(clerk_id) is None, round_number
            assert await store.users.is_erased(clerk_id) is True
