"""Read replicas on a real streaming standby (tools/standby.py; `.ci/run` starts one and sets
$LEARNSTORE_TEST_REPLICA_DSN): reads go to the replica, writes and transactions to the primary, a
token makes a read see a write, and a delayed, paused or unreachable replica sends token reads to
the primary within the wait."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import learnstore
from learnstore import InvalidValue, Store
from learnstore._resources import queries_dir
from learnstore.doctor import diagnose
from learnstore.queries._loader import parse_dir
from learnstore.queries._reads import read_only_queries
from learnstore.repositories._routing import read_only_methods

STANDBY = os.environ.get("LEARNSTORE_TEST_REPLICA_DSN")


def _standby_up() -> str | None:
    if not STANDBY:
        return "no standby: set LEARNSTORE_TEST_REPLICA_DSN (python tools/standby.py start; .ci/run does)"
    try:
        with psycopg.connect(STANDBY, connect_timeout=3, autocommit=True) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    except psycopg.Error as exc:
        return f"the standby at LEARNSTORE_TEST_REPLICA_DSN does not answer: {exc}"
    return None if row and row[0] else "LEARNSTORE_TEST_REPLICA_DSN is not a standby (not in recovery)"


pytestmark = pytest.mark.skipif(_standby_up() is not None, reason=str(_standby_up()))


def _lsn(conn: psycopg.Connection[Any], query: str) -> int:
    row = conn.execute(f"SELECT ({query}) - '0/0'::pg_lsn").fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def caught_up(primary: str, replica: str, timeout: float = 60.0) -> None:
    """Wait until the standby has replayed everything the primary wrote so far."""
    with psycopg.connect(primary, autocommit=True) as conn:
        target = _lsn(conn, "pg_current_wal_insert_lsn()")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(replica, autocommit=True, connect_timeout=3) as conn:
                if _lsn(conn, "pg_last_wal_replay_lsn()") >= target:
                    return
        except psycopg.OperationalError:  # the database itself is not replayed yet
            pass
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.05)


@pytest.fixture
def pair(fresh_db: str) -> tuple[str, str]:
    """(primary DSN, the same database on the standby), the standby caught up with it."""
    assert STANDBY is not None
    name = str(conninfo_to_dict(fresh_db)["dbname"])
    replica = make_conninfo(STANDBY, dbname=name)
    caught_up(fresh_db, replica)
    return fresh_db, replica


def _standby_sql(*statements: str) -> None:
    assert STANDBY is not None
    with psycopg.connect(STANDBY, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@contextmanager
def delayed(seconds: float) -> Iterator[None]:
    """The standby applies each commit `seconds` after it was made (recovery_min_apply_delay)."""
    delay = f"ALTER SYSTEM SET recovery_min_apply_delay = '{int(seconds * 1000)}ms'"
    _standby_sql(delay, "SELECT pg_reload_conf()")
    try:
        yield
    finally:
        _standby_sql("ALTER SYSTEM RESET recovery_min_apply_delay", "SELECT pg_reload_conf()")


@contextmanager
def paused() -> Iterator[None]:
    _standby_sql("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        _standby_sql("SELECT pg_wal_replay_resume()")


def _event(clerk_id: str, updated_at: int = 1, email: str | None = None) -> dict[str, Any]:
    emails = [{"id": "e1", "email_address": email}] if email else []
    return {
        "type": "user.created",
        "data": {
            "id": clerk_id,
            "updated_at": updated_at,
            "email_addresses": emails,
            "primary_email_address_id": "e1",
        },
    }


def test_a_plain_read_goes_to_the_replica_and_misses_a_fresh_write_a_token_read_sees_it(
    pair: tuple[str, str],
) -> None:
    primary, replica = pair
    with delayed(3), learnstore.connect(primary, replicas=[replica], replica_wait=0.2) as store:
        store.users.apply_clerk_event(_event("user_fresh"))
        token = store.token()
        # The row is on the primary: only the delayed replica can miss it.
        assert store.users.get_or_none("user_fresh") is None
        seen = store.reading_after(token).users.get_or_none("user_fresh")
        assert seen is not None and seen.clerk_id == "user_fresh"
        # In a transaction every read is the primary's.
        with store.transaction() as tx:
            assert tx.users.get_or_none("user_fresh") is not None


def test_a_method_that_writes_reads_on_the_primary_before_and_after_its_write(
    pair: tuple[str, str],
) -> None:
    primary, replica = pair
    with delayed(3), learnstore.connect(primary, replicas=[replica], replica_wait=0.2) as store:
        store.users.apply_clerk_event(_event("user_writes"))
        assert store.users.get_or_none("user_writes") is None  # a read-only method: the replica
        # recompute_streak checks that the user exists first (a read), then writes: all on the primary
        assert store.users.recompute_streak("user_writes").current_streak == 0
        goal = store.users.create_goal("user_writes", "first")
        assert store.users.complete_goal("user_writes", goal.id).completed_at is not None


def test_which_methods_only_read_comes_from_their_queries() -> None:
    reads = read_only_methods()
    assert {"get", "get_or_none", "list_notifications", "export"} <= reads["UsersRepository"]
    assert reads["UsersRepository"] == reads["AsyncUsersRepository"]
    for writer in ("recompute_streak", "record_activity", "update_profile", "apply_clerk_event", "notify"):
        assert writer not in reads["UsersRepository"]
    assert "course_page" in reads["PagesRepository"]
    assert reads["ImportsRepository"] == frozenset()  # bulk writes, in transactions


def test_a_token_read_waits_for_the_replica_when_it_replays_within_the_wait(pair: tuple[str, str]) -> None:
    primary, replica = pair
    with learnstore.connect(primary, replicas=[replica], replica_wait=30) as store:
        store.users.apply_clerk_event(_event("user_waited"))
        token = store.token()
        reader = store.reading_after(token)
        with delayed(0.5):
            store.users.apply_clerk_event(_event("user_later"))
            later = store.token()
            assert store.users.get_or_none("user_later") is None  # the replica has not applied it
            assert reader.reading_after(later).users.get_or_none("user_later") is not None
        assert reader.users.get("user_waited").clerk_id == "user_waited"
    with psycopg.connect(replica) as conn:  # and the replica served it: it holds the row by now
        assert conn.execute("SELECT count(*) FROM users WHERE clerk_id = 'user_later'").fetchone() == (1,)


def test_a_token_from_another_process_is_honoured(pair: tuple[str, str]) -> None:
    primary, replica = pair
    with learnstore.connect(primary) as writer:
        writer.users.apply_clerk_event(_event("user_elsewhere"))
        with psycopg.connect(primary, autocommit=True) as conn:
            token = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert token is not None
    with paused(), learnstore.connect(primary, replicas=[replica], replica_wait=0.2) as reader:
        assert reader.reading_after(str(token[0])).users.get("user_elsewhere").clerk_id == "user_elsewhere"


def test_a_paused_replica_sends_token_reads_to_the_primary_within_the_wait(pair: tuple[str, str]) -> None:
    primary, replica = pair
    with paused(), learnstore.connect(primary, replicas=[replica], replica_wait=0.3, timeout=20) as store:
        store.users.apply_clerk_event(_event("user_paused"))
        token = store.token()
        started = time.monotonic()
        assert store.reading_after(token).users.get("user_paused").clerk_id == "user_paused"
        # Not the pool's 20 s timeout: the wait, then the primary.
        assert time.monotonic() - started < 10
        assert store.users.get_or_none("user_paused") is None  # a plain read stays on the replica


def test_an_unreachable_replica_sends_every_read_to_the_primary(fresh_db: str) -> None:
    nowhere = make_conninfo(fresh_db, host="127.0.0.1", port="1", connect_timeout="1")
    with learnstore.connect(fresh_db, replicas=[nowhere], replica_wait=0.3, timeout=20) as store:
        store.users.apply_clerk_event(_event("user_alone"))
        started = time.monotonic()
        assert store.users.get("user_alone").clerk_id == "user_alone"
        assert store.reading_after(store.token()).users.get("user_alone").clerk_id == "user_alone"
        assert time.monotonic() - started < 10


def test_a_replica_stopped_under_the_store_sends_reads_to_the_primary(pair: tuple[str, str]) -> None:
    primary, replica = pair
    with learnstore.connect(primary, replicas=[replica], replica_wait=0.3, timeout=20) as store:
        store.users.apply_clerk_event(_event("user_stopped"))
        caught_up(primary, replica)
        assert store.users.get("user_stopped").clerk_id == "user_stopped"  # served by the replica
        # Every connection the store holds to the replica ends, as when the standby stops.
        _standby_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{conninfo_to_dict(replica)['dbname']}' AND pid <> pg_backend_pid()"
        )
        time.sleep(0.2)
        assert store.users.get("user_stopped").clerk_id == "user_stopped"
        assert store.reading_after(store.token()).users.get("user_stopped").clerk_id == "user_stopped"


@pytest.mark.skipif(
    shutil.which("pg_ctlcluster") is None or ":5433/" not in (STANDBY or ""),
    reason="stops and starts the standby of tools/standby.py (Debian cluster 15/replica on 5433)",
)
def test_a_replica_really_stopped_sends_reads_to_the_primary(pair: tuple[str, str]) -> None:
    primary, replica = pair
    control = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "replica"]
    with learnstore.connect(primary, replicas=[replica], replica_wait=0.3, timeout=20) as store:
        store.users.apply_clerk_event(_event("user_down"))
        caught_up(primary, replica)
        assert store.users.get("user_down").clerk_id == "user_down"
        subprocess.run([*control, "stop", "-m", "fast"], check=True, capture_output=True)
        try:
            started = time.monotonic()
            store.users.update_profile("user_down", bio="written while the replica is down")
            assert store.users.get("user_down").bio == "written while the replica is down"
            assert store.reading_after(store.token()).users.get("user_down").bio is not None
            assert time.monotonic() - started < 10  # the wait, not the pool's 20 s timeout
        finally:
            subprocess.run([*control, "start"], check=True, capture_output=True)
            caught_up(primary, replica)


def test_writes_under_replicas_land_on_the_primary(pair: tuple[str, str]) -> None:
    primary, replica = pair
    with learnstore.connect(primary, replicas=[replica]) as store:
        store.users.apply_clerk_event(_event("user_writer", email="w@example.com"))
        store.users.update_profile("user_writer", bio="hello")
        store.users.record_activity("user_writer")
        store.users.create_goal("user_writer", "a goal")
        store.users.notify("user_writer", "system", "welcome")
        me = store.as_user("user_writer")
        me.users.create_goal("user_writer", "mine")
    with psycopg.connect(primary) as conn:
        row = conn.execute(
            "SELECT bio, (SELECT count(*) FROM learning_goals), (SELECT count(*) FROM notifications),"
            " (SELECT count(*) FROM login_days) FROM users WHERE clerk_id = 'user_writer'"
        ).fetchone()
    assert row == ("hello", 2, 1, 1)


def test_as_user_reads_on_the_replica_run_under_row_level_security(pair: tuple[str, str]) -> None:
    primary, replica = pair
    with learnstore.connect(primary, replicas=[replica]) as store:
        store.users.apply_clerk_event(_event("user_a"))
        store.users.apply_clerk_event(_event("user_b"))
        goal = store.users.create_goal("user_a", "private")
        caught_up(primary, replica)
        assert [g.id for g in store.as_user("user_a").users.list_active_goals("user_a")] == [goal.id]
        # RLS on the replica: user_b sees none of user_a's goals
        assert store.as_user("user_b").users.list_active_goals("user_a") == []


async def test_the_async_store_routes_and_honours_tokens(pair: tuple[str, str]) -> None:
    primary, replica = pair
    store = await learnstore.connect_async(primary, replicas=[replica], replica_wait=0.2)
    async with store:
        with delayed(3):
            await store.users.apply_clerk_event(_event("user_async"))
            token = await store.token()
            assert await store.users.get_or_none("user_async") is None
            assert (await store.reading_after(token).users.get("user_async")).clerk_id == "user_async"


async def test_thirty_two_concurrent_writers_each_read_their_write_with_their_token(
    pair: tuple[str, str],
) -> None:
    """32 callers at once, each on its own connection: write, take a token, read through it. The
    replica applies each commit 0.3 s late; every token read sees its own write, and each user's
    streak (derived, kept by the write) reads back exact."""
    primary, replica = pair
    store = await learnstore.connect_async(primary, replicas=[replica], replica_wait=10, max_size=32)

    async def caller(i: int) -> tuple[str | None, int]:
        clerk = f"user_racer_{i}"
        await store.users.apply_clerk_event(_event(clerk))
        await store.users.record_activity(clerk)
        token = await store.token()
        reader = store.reading_after(token)
        user = await reader.users.get_or_none(clerk)
        streak = await reader.users.get_streak(clerk)
        return (None if user is None else user.clerk_id), streak.current_streak

    async with store:
        with delayed(0.3):
            results = await asyncio.gather(*(caller(i) for i in range(32)))
    assert results == [(f"user_racer_{i}", 1) for i in range(32)]


def test_a_token_is_short_and_checked(fresh_db: str) -> None:
    with learnstore.connect(fresh_db) as store:
        token = store.token()
        assert len(token) <= 17 and "/" in token
        assert store.reading_after(None) is store
        with pytest.raises(InvalidValue) as caught:
            store.reading_after("not a token")
        assert caught.value.field == "token"


def test_every_read_only_query_runs_on_the_standby(pair: tuple[str, str]) -> None:
    """Each query the SQL says only reads, run on the standby with NULL parameters: none is
    refused as a write (25006) or as needing a primary; writing queries are left to the primary."""
    _, replica = pair
    reads = read_only_queries()
    assert len(reads) > 50
    refused = []
    with psycopg.connect(replica, autocommit=True) as conn:
        for query in parse_dir(queries_dir()):
            if query.method not in reads:
                continue
            try:
                with conn.transaction():
                    conn.execute(query.psycopg_sql, dict.fromkeys(query.params))
            except (pg_errors.ReadOnlySqlTransaction, pg_errors.ObjectNotInPrerequisiteState) as exc:
                refused.append(f"{query.name}: {exc}")
            except psycopg.Error:
                pass  # NULL is not a valid value for every parameter: only a refusal to write counts
    assert refused == []


# Volatile in pg_proc, and still harmless on a standby: they write nothing.
_HARMLESS_VOLATILE = {"random", "clock_timestamp", "timeofday", "pg_sleep", "set_config"}


def test_no_read_only_query_calls_a_volatile_function(fresh_db: str) -> None:
    """The catalog's word on every function a read-only query calls: none is VOLATILE (a volatile
    function may write), but for a few builtins that cannot; and no query that names INSERT,
    UPDATE or DELETE, or calls record_activity-like functions, is read-only."""
    reads = read_only_queries()
    with psycopg.connect(fresh_db) as conn:
        volatile = {
            name
            for (name,) in conn.execute(
                "SELECT DISTINCT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE provolatile = 'v' AND nspname IN ('public', 'pg_catalog')"
            )
        }
    assert {"record_activity", "enrol_in_course", "nextval"} <= volatile
    checked = 0
    for query in parse_dir(queries_dir()):
        calls = {name.lower() for name in re.findall(r"\b(\w+)\s*\(", query.psycopg_sql)}
        if query.method in reads:
            checked += 1
            assert not (calls & volatile) - _HARMLESS_VOLATILE, query.name
        if {"INSERT", "UPDATE", "DELETE"} & set(re.findall(r"\w+", query.psycopg_sql.upper())):
            assert query.method not in reads, query.name
    assert checked == len(reads)


def test_store_on_a_connection_never_routes(pair: tuple[str, str]) -> None:
    primary, _ = pair
    with psycopg.connect(primary, autocommit=True) as conn:
        store = Store.on(conn)
        store.users.apply_clerk_event(_event("user_on"))
        assert store.users.get("user_on").clerk_id == "user_on"


def test_doctor_shows_each_replicas_lag(pair: tuple[str, str]) -> None:
    primary, _ = pair
    (check,) = [c for c in diagnose(primary) if c.name == "replicas"]
    assert check.outcome == "pass"
    assert "replay lag" in check.detail and "bytes behind" in check.detail
