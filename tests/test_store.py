"""Store and AsyncStore: pools, units of work, savepoints, caller-owned connections, clear failures."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from psycopg.rows import RowFactory, dict_row, scalar_row

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import AlreadyExists, InvalidReference, NotFound, Unavailable


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


def course(title: str) -> dict[str, Any]:
    lessons = [{"title": f"{title} {k}", "content_type": "text", "content": {"body": "b"}} for k in range(2)]
    return {"title": title, "author_clerk_id": "author", "units": [{"title": "Unit", "lessons": lessons}]}


@pytest.mark.parametrize("rows", [dict_row, scalar_row], ids=["dict_row", "scalar_row"])
def test_a_callers_connection_of_any_row_factory_gets_typed_results_and_keeps_its_factory(
    fresh_db: str, rows: RowFactory[Any]
) -> None:
    """learnstore reads tuples; a connection made with dict_row gave models of the columns' names
    (clerk_id='clerk_id'), and scalar_row of one column. Every kind of operation on such a
    connection now returns what it returns on a plain one, and the caller's factory is theirs again
    after each, failures included."""
    with psycopg.connect(fresh_db, row_factory=rows) as conn:
        store = Store.on(conn)
        store.users.apply_clerk_event(created("author"))
        store.users.apply_clerk_event(
            {"type": "user.updated", "data": {"id": "author", "first_name": "Ada", "updated_at": 2}}
        )
        user = store.users.get("author")  # one row
        assert (user.clerk_id, user.first_name) == ("author", "Ada")
        assert [m.clerk_id for m in store.pages.search_users("ada")] == ["author"]  # a list, into a model
        imported = store.imports.import_course(course("Rows"))  # COPY and reads in one transaction
        with store.transaction() as tx:  # a unit of work: its operations run on the same connection
            tx.users.notify("author", "system", f"course {imported.id}")
            assert tx.users.count_unread("author") == 1
        assert store.as_user("author").users.count_unread("author") == 1  # under an identity
        with pytest.raises(NotFound):
            store.users.get("nobody")
        assert conn.row_factory is rows
        assert conn.execute("SELECT 7 AS seven").fetchone() == rows_of(rows)
        conn.commit()
    with psycopg.connect(fresh_db) as plain:
        same = Store.on(plain)
        assert same.users.get("author") == user
        assert same.content.get_course_tree(imported.id, include_unpublished=True).course.title == "Rows"


def rows_of(rows: RowFactory[Any]) -> object:
    return {"seven": 7} if rows is dict_row else 7


async def test_an_async_callers_connection_of_another_row_factory_gets_typed_results(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, row_factory=dict_row) as conn:
        store = AsyncStore.on(conn)
        await store.users.apply_clerk_event(created("author"))
        assert (await store.users.get("author")).clerk_id == "author"
        async with store.transaction() as tx:
            await tx.users.notify("author", "system", "hello")
            assert await tx.users.count_unread("author") == 1
        with pytest.raises(NotFound):
            await store.users.get("nobody")
        assert conn.row_factory is dict_row
        assert await (await conn.execute("SELECT 7 AS seven")).fetchone() == {"seven": 7}


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
