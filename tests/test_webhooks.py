"""Signed Clerk webhooks: deliveries signed by svix's own signer, verified, applied once, and the
forged, stale and malformed ones refused before anything is written."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from svix.webhooks import Webhook

import learnstore
from learnstore import webhooks, webhooks_async
from learnstore.errors import InvalidValue, SignatureInvalid

SECRET = "whsec_" + base64.b64encode(b"learnstore-test-signing-secret!!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-else's-signing-secret!!").decode()


def clerk_event(
    kind: str = "user.created", clerk_id: str = "user_2abc", updated_at: int = 1_700_000_000_000
) -> str:
    """A Clerk user event as Clerk sends it (trimmed): the primary email is not the first one."""
    return json.dumps({
        "type": kind,
        "object": "event",
        "data": {
            "id": clerk_id,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "image_url": "https://img.clerk.com/ada.png",
            "primary_email_address_id": "idn_2",
            "email_addresses": [
                {"id": "idn_1", "email_address": "old@example.com"},
                {"id": "idn_2", "email_address": "ada@example.com"},
            ],
            "updated_at": updated_at,
        },
    })  # fmt: skip


def signed(
    body: str, msg_id: str = "msg_1", *, secret: str = SECRET, at: datetime | None = None
) -> dict[str, str]:
    """The headers Svix sends with `body`, signed with svix's own signer."""
    at = at or datetime.now(UTC)
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(int(at.timestamp())),
        "svix-signature": Webhook(secret).sign(msg_id, at, body),
    }


def counts(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM webhook_deliveries)"
        ).fetchone()
        assert row is not None
        return row[0], row[1]


async def test_a_signed_delivery_is_applied_and_its_replays_are_not(fresh_db: str) -> None:
    body = clerk_event()
    async with await learnstore.connect_async(fresh_db) as store:
        done = await webhooks_async.apply_clerk_webhook(store, body.encode(), signed(body), SECRET)
        assert done.applied and not done.replay and done.event_type == "user.created"
        assert done.user is not None and done.user.email == "ada@example.com"
        assert (await store.users.get("user_2abc")).first_name == "Ada"
        recorded = await store.deliveries.get_or_none("msg_1")
        assert recorded is not None and recorded.event_type == "user.created"

        # Svix retries with the same id and a fresh timestamp (headers in any case): applied once.
        await store.users.update_profile("user_2abc", first_name="Ada (edited)")
        retried = {key.upper(): value for key, value in signed(body).items()}
        again = await webhooks_async.apply_clerk_webhook(store, body, retried, SECRET)
        assert not again.applied and again.replay and again.user is None
        assert (await store.users.get("user_2abc")).first_name == "Ada (edited)"
        assert counts(fresh_db) == (1, 1)

        # A new delivery (a new id) of a newer event is applied.
        newer = clerk_event("user.updated", updated_at=1_800_000_000_000)
        applied = await webhooks_async.apply_clerk_webhook(store, newer, signed(newer, "msg_2"), SECRET)
        assert applied.applied and applied.user is not None and applied.user.first_name == "Ada"
        deleted = clerk_event("user.deleted")
        gone = await webhooks_async.apply_clerk_webhook(store, deleted, signed(deleted, "msg_3"), SECRET)
        assert gone.applied and gone.user is None
        assert await store.users.get_or_none("user_2abc") is None
        assert counts(fresh_db) == (0, 3)


def forgeries() -> dict[str, tuple[str | bytes, dict[str, str], str]]:
    body = clerk_event()
    good = signed(body)
    old = datetime.now(UTC) - timedelta(minutes=10)
    later = datetime.now(UTC) + timedelta(minutes=10)
    relabelled = {**signed(body, at=old), "svix-timestamp": good["svix-timestamp"]}
    v2 = good["svix-signature"].replace("v1,", "v2,")
    return {
        "another secret": (body, signed(body, secret=OTHER_SECRET), SECRET),
        "a changed body": (body.replace("Ada", "Eve"), good, SECRET),
        "another id": (body, {**good, "svix-id": "msg_other"}, SECRET),
        "a stale timestamp": (body, signed(body, at=old), SECRET),
        "a future timestamp": (body, signed(body, at=later), SECRET),
        "a stale timestamp relabelled": (body, relabelled, SECRET),
        "a malformed signature": (body, {**good, "svix-signature": "v1,not base64!"}, SECRET),
        "a signature without version": (body, {**good, "svix-signature": "garbage"}, SECRET),
        "an unsupported version": (body, {**good, "svix-signature": v2}, SECRET),
        "no signature": (body, {k: v for k, v in good.items() if k != "svix-signature"}, SECRET),
        "no id": (body, {k: v for k, v in good.items() if k != "svix-id"}, SECRET),
        "an empty timestamp": (body, {**good, "svix-timestamp": ""}, SECRET),
        "a non-numeric timestamp": (body, {**good, "svix-timestamp": "yesterday"}, SECRET),
        "a body that is not UTF-8": (b"\xff\xfe" + body.encode(), good, SECRET),
        "SQL in the id": (body, {**good, "svix-id": "x'); DELETE FROM users; --"}, SECRET),
    }  # fmt: skip


@pytest.mark.parametrize("case", sorted(forgeries()))
async def test_a_forged_or_stale_delivery_is_refused_and_writes_nothing(fresh_db: str, case: str) -> None:
    body, headers, secret = forgeries()[case]
    async with await learnstore.connect_async(fresh_db) as store:
        before = counts(fresh_db)
        with pytest.raises(SignatureInvalid, match="webhook refused"):
            await webhooks_async.apply_clerk_webhook(store, body, headers, secret)
        assert counts(fresh_db) == before == (0, 0)


async def test_concurrent_replays_apply_the_event_once(fresh_db: str) -> None:
    body = clerk_event()
    async with await learnstore.connect_async(fresh_db, max_size=6) as store:
        headers = signed(body, "msg_race")
        results = await asyncio.gather(
            *(webhooks_async.apply_clerk_webhook(store, body, headers, SECRET) for _ in range(6))
        )
    assert sorted(result.applied for result in results) == [False] * 5 + [True]
    assert all(result.replay for result in results if not result.applied)
    assert counts(fresh_db) == (1, 1)


async def test_a_failed_apply_records_nothing_so_the_retry_applies_it(fresh_db: str) -> None:
    broken = json.dumps({"type": "user.created", "data": {"id": "user_x"}})  # no updated_at
    async with await learnstore.connect_async(fresh_db) as store:
        with pytest.raises(InvalidValue, match="updated_at"):
            await webhooks_async.apply_clerk_webhook(store, broken, signed(broken, "msg_x"), SECRET)
        assert counts(fresh_db) == (0, 0)
        # A delivery whose id breaks the ledger's rule rolls back with the apply.
        body = clerk_event()
        with pytest.raises(InvalidValue, match="svix_id"):
            await webhooks_async.apply_clerk_webhook(store, body, signed(body, "m" * 201), SECRET)
        assert counts(fresh_db) == (0, 0)
        done = await webhooks_async.apply_clerk_webhook(store, body, signed(body, "msg_x"), SECRET)
        assert done.applied
        assert counts(fresh_db) == (1, 1)


async def test_verified_events_learnstore_does_not_apply_are_acknowledged_and_ignored(fresh_db: str) -> None:
    session = json.dumps({"type": "session.created", "data": {"id": "sess_1"}})
    async with await learnstore.connect_async(fresh_db) as store:
        done = await webhooks_async.apply_clerk_webhook(store, session, signed(session), SECRET)
        assert not done.applied and not done.replay and done.event_type == "session.created"
        for body, message in [
            ("[1, 2]", "JSON object"),
            ("{not json", "not JSON"),
            ('{"type": 7}', "JSON object"),
        ]:
            with pytest.raises(InvalidValue, match=message):
                await webhooks_async.apply_clerk_webhook(store, body, signed(body), SECRET)
        huge = json.dumps({"type": "user.created", "data": {"id": "user_big", "first_name": "x" * 1_000_000}})
        with pytest.raises(InvalidValue):
            await webhooks_async.apply_clerk_webhook(store, huge, signed(huge, "msg_big"), SECRET)
        assert counts(fresh_db) == (0, 0)
        for secret in ("", "whsec_***not base64***"):
            with pytest.raises(InvalidValue, match="secret"):
                await webhooks_async.apply_clerk_webhook(store, session, signed(session), secret)


def test_the_sync_twin(fresh_db: str) -> None:
    body = clerk_event()
    headers = signed(body, "msg_sync")
    assert webhooks.verify_clerk_webhook(body, headers, SECRET)["data"]["id"] == "user_2abc"
    with learnstore.connect(fresh_db) as store:
        assert webhooks.apply_clerk_webhook(store, body, headers, SECRET).applied
        assert webhooks.apply_clerk_webhook(store, body, headers, SECRET).replay
        old = signed(body, "msg_old", at=datetime.now(UTC) - timedelta(hours=1))
        with pytest.raises(SignatureInvalid, match="too old"):
            webhooks.apply_clerk_webhook(store, body, old, SECRET)
    assert counts(fresh_db) == (1, 1)


def test_an_event_dict_is_what_apply_clerk_event_takes(fresh_db: str) -> None:
    body = clerk_event(clerk_id="user_direct")
    event: dict[str, Any] = webhooks.verify_clerk_webhook(body.encode(), signed(body), SECRET)
    with learnstore.connect(fresh_db) as store:
        user = store.users.apply_clerk_event(event)
        assert user is not None and user.clerk_id == "user_direct"
