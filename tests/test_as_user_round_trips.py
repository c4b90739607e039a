"""as_user in one round trip: on learnstore's pool, a lone operation sends the identity's settings and
its statement in one pipeline, ended by one Sync (counted from libpq's protocol trace)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg import pq
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from test_content import round_trips
from test_security import seed

import learnstore
from learnstore import AsyncStore, Store
from learnstore.database import Database, LearnstoreConnection, LearnstoreCursor
from learnstore.database_async import AsyncDatabase, AsyncLearnstoreConnection, AsyncLearnstoreCursor
from learnstore.errors import Contention, InvalidValue, PermissionDenied
from learnstore.pooler_async import detect_pooler


@pytest.fixture
async def one_connection(fresh_db: str) -> AsyncIterator[tuple[AsyncStore, AsyncLearnstoreConnection]]:
    """A store over a pool of one connection, as connect_async() builds it, and that connection
    (to trace). No server-side preparation: a Parse exchange would blur the count."""
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "cursor_factory": AsyncLearnstoreCursor,
        "prepare_threshold": None,
    }
    async with AsyncConnectionPool(
        fresh_db, connection_class=AsyncLearnstoreConnection, min_size=1, max_size=1, kwargs=kwargs
    ) as pool:
        conn = await pool.getconn()
        await pool.putconn(conn)
        assert isinstance(conn, AsyncLearnstoreConnection)
        yield AsyncStore(AsyncDatabase(pool)), conn


async def test_a_lone_operation_under_as_user_costs_one_round_trip_like_the_owners(
    fresh_db: str, one_connection: tuple[AsyncStore, AsyncLearnstoreConnection]
) -> None:
    seed(fresh_db)
    store, conn = one_connection
    ana = store.as_user("ana")
    await ana.users.list_active_goals("ana")  # the querier's SQL is loaded
    with round_trips(conn) as owner_trips:
        assert len(await store.users.list_active_goals("ben")) == 1
    with round_trips(conn) as trips:
        assert len(await ana.users.list_active_goals("ana")) == 1
    assert (len(owner_trips), len(trips)) == (1, 1)
    # ... and still as ana: ben's goals are not hers to see
    with round_trips(conn) as trips:
        assert await ana.users.list_active_goals("ben") == []
    assert len(trips) == 1

    # :execrows reads the cursor's rowcount right after execute: it is there (pipeline synced)
    await store.users.notify("ana", "system", "one")
    await store.users.notify("ana", "system", "two")
    await store.users.notify("ben", "system", "hers")
    with round_trips(conn) as trips:
        assert await ana.users.mark_all_read("ana") == 2
        assert await ana.users.mark_all_read("ben") == 0  # row-level security: none of ben's rows
    assert len(trips) == 2
    assert await store.users.count_unread("ben") == 1


async def test_errors_stay_mapped_and_the_connection_leaves_the_identity_behind(
    fresh_db: str, one_connection: tuple[AsyncStore, AsyncLearnstoreConnection]
) -> None:
    seed(fresh_db)
    store, conn = one_connection
    ana = store.as_user("ana")
    with round_trips(conn) as trips, pytest.raises(PermissionDenied, match="learning_goals"):
        await ana.users.create_goal("ben", "not hers")
    assert len(trips) == 1
    with pytest.raises(InvalidValue):  # a statement the server refuses, mapped as ever
        await ana.users.set_goal_progress("ana", "not a uuid", 5)  # type: ignore[arg-type]
    # The pool's only connection, after errors as ana: the owner path is the owner again.
    assert len(await store.users.list_active_goals("ben")) == 1
    assert conn.learnstore_identity is None
    cur = await conn.execute("SELECT current_user, current_setting('learnstore.clerk_id', true)")
    row = await cur.fetchone()
    assert row is not None and row[0] != "learnstore_app" and row[1] in (None, "")


def test_the_sync_pool_is_one_round_trip_too(fresh_db: str) -> None:
    seed(fresh_db)
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "cursor_factory": LearnstoreCursor,
        "prepare_threshold": None,
    }
    with ConnectionPool(
        fresh_db, connection_class=LearnstoreConnection, min_size=1, max_size=1, kwargs=kwargs
    ) as pool:
        store = Store(Database(pool))
        conn = pool.getconn()
        pool.putconn(conn)
        ana = store.as_user("ana")
        ana.users.list_active_goals("ana")
        with _sync_round_trips(conn) as trips:
            assert len(ana.users.list_active_goals("ana")) == 1
            assert ana.users.list_active_goals("ben") == []
        assert len(trips) == 2


def _sync_round_trips(conn: Any) -> Any:
    """round_trips() reads only the libpq handle: it serves a sync connection as well."""
    return round_trips(conn)


async def test_statements_run_as_a_user_are_prepared_once_per_connection_and_stay_one_round_trip(
    fresh_db: str,
) -> None:
    """On a pool that prepares, as connect_async()'s does without a pooler: the identity's settings
    and the statement are prepared the first time, in the same round trip, and reused after; the
    plan serves every user, since the policies read the identity when the statement runs."""
    await _skip_behind_a_pooler_that_does_not_prepare(fresh_db)
    seed(fresh_db)
    kwargs: dict[str, Any] = {"autocommit": True, "cursor_factory": AsyncLearnstoreCursor}
    async with AsyncConnectionPool(
        fresh_db, connection_class=AsyncLearnstoreConnection, min_size=1, max_size=1, kwargs=kwargs
    ) as pool:
        conn = await pool.getconn()
        await pool.putconn(conn)
        assert isinstance(conn, AsyncLearnstoreConnection)
        store = AsyncStore(AsyncDatabase(pool))
        ana, ben = store.as_user("ana"), store.as_user("ben")
        await ana.users.list_active_goals("ana")  # the querier's SQL is loaded
        conn.learnstore_prepared.clear()
        await conn.execute("DEALLOCATE ALL")
        with round_trips(conn) as trips:
            assert len(await ana.users.list_active_goals("ana")) == 1
        assert len(trips) == 1
        prepared = dict(conn.learnstore_prepared)
        assert len(prepared) == 2  # the settings and the statement
        with round_trips(conn) as trips:
            assert len(await ben.users.list_active_goals("ben")) == 1
            assert await ben.users.list_active_goals("ana") == []
        assert len(trips) == 2
        assert conn.learnstore_prepared == prepared  # reused, nothing prepared anew
        cur = await conn.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE '\\_ls\\_%'")
        assert sorted(row[0] for row in await cur.fetchall()) == sorted(n.decode() for n in prepared.values())


async def test_a_plan_a_migration_made_stale_fails_once_then_is_prepared_anew(fresh_db: str) -> None:
    """A column added under a prepared `SELECT *` run as a user: the operation fails once
    (`Contention`, which attempts() would run again), the connection's statements are dropped,
    and the next call prepares anew and reads the new shape."""
    await _skip_behind_a_pooler_that_does_not_prepare(fresh_db)
    seed(fresh_db)
    async with await learnstore.connect_async(fresh_db, max_size=1) as store:
        ana = store.as_user("ana")
        for _ in range(6):  # the owner's statement prepared by psycopg too (after 5 runs)
            assert (await ana.users.get("ana")).clerk_id == "ana"
            assert (await store.users.get("ana")).clerk_id == "ana"
        async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as other:
            await other.execute("ALTER TABLE users ADD COLUMN nickname text")
        with pytest.raises(Contention):
            await ana.users.get("ana")
        assert (await ana.users.get("ana")).clerk_id == "ana"
        # The owner's prepared statement went with DEALLOCATE ALL, and psycopg knows it: no failure.
        for _ in range(6):
            assert (await store.users.get("ana")).clerk_id == "ana"
            assert (await ana.users.get("ana")).clerk_id == "ana"


async def test_statements_lost_to_a_discard_all_fail_once_then_are_prepared_anew(fresh_db: str) -> None:
    """A DISCARD ALL that neither learnstore nor psycopg sent (a pooler's reset query, say) drops the
    statements a connection prepared for identities and psycopg's own: the next operation fails once
    with `Contention`, both sets are forgotten, and every later call prepares anew and works."""
    await _skip_behind_a_pooler_that_does_not_prepare(fresh_db)
    seed(fresh_db)
    kwargs: dict[str, Any] = {"autocommit": True, "cursor_factory": AsyncLearnstoreCursor}
    async with AsyncConnectionPool(
        fresh_db, connection_class=AsyncLearnstoreConnection, min_size=1, max_size=1, kwargs=kwargs
    ) as pool:
        store = AsyncStore(AsyncDatabase(pool))
        ana = store.as_user("ana")
        for _ in range(6):  # the owner's statement prepared by psycopg too (after 5 runs)
            assert (await ana.users.get("ana")).clerk_id == "ana"
            assert (await store.users.get("ana")).clerk_id == "ana"
        conn = await pool.getconn()
        assert isinstance(conn, AsyncLearnstoreConnection) and len(conn.learnstore_prepared) == 2
        assert conn.pgconn.exec_(b"DISCARD ALL").status == pq.ExecStatus.COMMAND_OK  # past psycopg
        await pool.putconn(conn)
        with pytest.raises(Contention, match="DISCARD ALL"):
            await ana.users.get("ana")
        for _ in range(6):
            assert (await ana.users.get("ana")).clerk_id == "ana"
            assert (await store.users.get("ana")).clerk_id == "ana"
        assert len(conn.learnstore_prepared) == 2


async def _skip_behind_a_pooler_that_does_not_prepare(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as probe:
        pooler = await detect_pooler(probe)
    if pooler is not None and not pooler.prepares:
        pytest.skip("behind a pooler that keeps no prepared statements learnstore prepares nothing")
