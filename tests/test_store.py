"""Store and AsyncStore: pools, units of work, savepoints, caller-owned connections, clear failures."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import AlreadyExists, InvalidReference, Unavailable


def created(clerk_id: str, updated_at: int = 1) -> dict[str, Any]:
    return {"type": "user.created", "data": {"id": clerk_id, "updated_at": updated_at}}


def count_users(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM users").fetchone()
    assert row is not None
    return int(row[0])


def test_a_unit_of_work_commits_together_or_not_at_all(fresh_db: str) -> None:
    with learnstore.connect(fresh_db) as store:
        with store.transaction() as tx:
            tx.users.apply_clerk_event(created("user_a"))
            tx.users.notify("user_a", "system", "hello")
        assert count_users(fresh_db) == 1
        with pytest.raises(InvalidReference), store.transaction() as tx:  # noqa: PT012
            tx.users.apply_clerk_event(created("user_b"))
            tx.users.notify("user_nobody", "system", "fails")
        assert count_users(fresh_db) == 1
        assert store.users.get_or_none("user_b") is None


def test_a_failed_operation_inside_a_unit_of_work_leaves_it_usable(fresh_db: str) -> None:
    with learnstore.connect(fresh_db) as store, store.transaction() as tx:
        tx.users.apply_clerk_event(created("user_a"))
        with pytest.raises(InvalidReference):
            tx.users.notify("user_nobody", "system", "fails")
        tx.users.notify("user_a", "system", "still fine")
    with learnstore.connect(fresh_db) as store:
        assert store.users.count_unread("user_a") == 1


def test_nested_transactions_are_savepoints(fresh_db: str) -> None:
    with learnstore.connect(fresh_db) as store, store.transaction() as outer:
        outer.users.apply_clerk_event(created("user_a"))
        with pytest.raises(AlreadyExists), outer.transaction() as inner:  # noqa: PT012
            inner.users.apply_clerk_event(created("user_b"))
            inner.users.update_profile("user_b", bio="kept only if the savepoint commits")
            raise AlreadyExists("abandon the inner unit of work")
    assert count_users(fresh_db) == 1


def test_store_on_a_callers_connection_leaves_the_commit_to_the_caller(fresh_db: str) -> None:
    with psycopg.connect(fresh_db) as conn:
        Store.on(conn).users.apply_clerk_event(created("user_a"))
        assert count_users(fresh_db) == 0  # not committed yet: the caller owns the transaction
        conn.commit()
    assert count_users(fresh_db) == 1


def test_connect_without_a_dsn_uses_learnstore_dsn(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNSTORE_DSN", fresh_db)
    with learnstore.connect() as store:
        store.users.apply_clerk_event(created("user_env"))
    assert count_users(fresh_db) == 1


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://postgres@127.0.0.1:1/postgres",
        "postgresql://postgres@127.0.0.1:5432/learnstore_no_such_database",
        "not a dsn at all",
    ],
)
def test_an_unreachable_database_is_unavailable_at_once(dsn: str) -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        learnstore.connect(dsn, timeout=5)
    assert time.monotonic() - started < 5  # fails with the reason, not after the pool's timeout
    assert "\n" not in caught.value.message
    assert isinstance(caught.value.__cause__, psycopg.Error)


async def test_the_async_store_has_the_same_unit_of_work(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db) as store:
        with pytest.raises(InvalidReference):  # noqa: PT012 (the whole unit of work must fail)
            async with store.transaction() as tx:
                await tx.users.apply_clerk_event(created("user_b"))
                await tx.users.notify("user_nobody", "system", "fails")
        async with store.transaction() as tx:
            await tx.users.apply_clerk_event(created("user_a"))
        assert [await store.users.get_or_none(u) is not None for u in ("user_a", "user_b")] == [True, False]


async def test_async_store_on_a_callers_connection(adb_conn: psycopg.AsyncConnection[Any]) -> None:
    store = AsyncStore.on(adb_conn)
    await store.users.apply_clerk_event(created("user_a"))
    assert (await store.users.get("user_a")).clerk_id == "user_a"
    await store.close()  # owns no pool: the caller's connection stays open
    assert not adb_conn.closed
