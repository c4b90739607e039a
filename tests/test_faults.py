"""Faults on a real server: backends terminated under a pool, statements past their timeout, deadlocks
and serialization failures in multi-statement operations (docs/production.md)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

import learnstore
from learnstore import Database, Store
from learnstore.database import LearnstoreConnection, _ended_by_server
from learnstore.errors import Contention, InvalidValue, LearnstoreError, Timeout, Unavailable
from learnstore.repositories.imports import LoginDayRecord

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
COUNTED = ("users", "courses", "units", "lessons", "login_days", "user_streaks", "languages")


def counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in COUNTED}  # type: ignore[index]


def course(title: str = "Rust") -> dict[str, Any]:
    lessons = [{"title": f"Lesson {k}", "content_type": "text", "content": {"body": "b"}} for k in range(2)]
    return {"title": title, "status": "published", "units": [{"title": "Unit", "lessons": lessons}]}


def backends(admin: psycopg.Connection[Any], *, waiting: bool = False) -> list[int]:
    """The other backends connected to the admin connection's database (those waiting on a lock)."""
    query = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        + (" AND wait_event_type = 'Lock'" if waiting else "")
    )
    return [pid for (pid,) in admin.execute(query)]


def wait_for(check: Callable[[], Any], what: str, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)
    return found


@contextmanager
def in_thread(work: Callable[[], Any]) -> Iterator[dict[str, Any]]:
    """Run `work` in a thread; the yielded dict gets its "result" or "error" when the block ends."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield outcome
    finally:
        thread.join(30)
        assert not thread.is_alive(), "the operation never finished"


@pytest.fixture
def admin(fresh_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        yield conn


def author(store: Store) -> None:
    store.users.apply_clerk_event({"type": "user.created", "data": {"id": "author", "updated_at": 1}})


# -- backends terminated under a pool --------------------------------------------------------------


def test_operations_after_every_pooled_backend_is_terminated_reconnect(
    fresh_db: str, admin: psycopg.Connection[Any]
) -> None:
    with learnstore.connect(fresh_db, min_size=3, max_size=3) as store:
        author(store)
        wait_for(lambda: len(backends(admin)) == 3, "the pool's three connections")
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        wait_for(lambda: not backends(admin), "the terminated backends to exit")
        # Each of the pool's connections is dead; every operation still succeeds, on new ones.
        for n in range(6):
            store.users.notify("author", "system", f"after the restart {n}")
        assert store.users.count_unread("author") == 6
        assert store.content.create_course("author", "Written after").title == "Written after"


def test_the_check_of_an_idle_connection_finds_a_terminated_one_and_keeps_the_gil(
    fresh_db: str, admin: psycopg.Connection[Any]
) -> None:
    """The check every operation makes of the connection it takes: a live idle one passes, one whose
    backend was terminated does not, and the check never lets another thread run. (poll(), which it
    was, released the GIL: under 128 threads each operation queued for it once more.) It finds the
    FATAL error the server sends before it closes the socket: pg_stat_activity drops a backend before
    the socket's end arrives, and a check that waited for the end let an operation fail in between."""
    with LearnstoreConnection.connect(fresh_db, autocommit=True) as conn:
        assert not _ended_by_server(conn)
        spins = 0
        stop = threading.Event()

        def spin() -> None:
            nonlocal spins
            while not stop.is_set():
                spins += 1

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1.0)  # the spinner runs only while this thread lets the GIL go
        spinner = threading.Thread(target=spin)
        try:
            spinner.start()
            time.sleep(0.01)
            before = spins
            checks = set()
            for _ in range(500):  # poll() let the spinner in about once in 50 calls
                checks.add(_ended_by_server(conn))
                if spins != before:
                    break
            after = spins
        finally:
            stop.set()
            spinner.join()
            sys.setswitchinterval(interval)
        assert checks == {False}
        assert after == before, "the check released the GIL"
        admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
        wait_for(lambda: not backends(admin), "the terminated backend to exit")
        assert _ended_by_server(conn)
        assert len(conn.learnstore_fatal.messages) == 1  # the server's FATAL ("terminating connection ...")


async def test_async_operations_after_the_pooled_backends_are_terminated_reconnect(
    fresh_db: str, admin: psycopg.Connection[Any]
) -> None:
    async with await learnstore.connect_async(fresh_db, min_size=2, max_size=2) as store:
        await store.users.apply_clerk_event({"type": "user.created", "data": {"id": "a", "updated_at": 1}})
        wait_for(lambda: len(backends(admin)) == 2, "the pool's two connections")
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        wait_for(lambda: not backends(admin), "the terminated backends to exit")
        for _ in range(4):
            assert (await store.users.get("a")).clerk_id == "a"


def test_a_backend_terminated_mid_operation_raises_unavailable_and_writes_nothing(
    fresh_db: str, admin: psycopg.Connection[Any]
) -> None:
    with learnstore.connect(fresh_db, min_size=1, max_size=2) as store:
        author(store)
        before = counts(fresh_db)
        with psycopg.connect(fresh_db) as blocker:
            # The import writes its course and units, then waits for this lock to copy the lessons.
            blocker.execute("LOCK TABLE lessons IN ACCESS EXCLUSIVE MODE")
            work = lambda: store.imports.import_course({**course(), "author_clerk_id": "author"})  # noqa: E731
            with in_thread(work) as out:
                (victim,) = wait_for(lambda: backends(admin, waiting=True), "the import to wait")
                admin.execute("SELECT pg_terminate_backend(%s)", [victim])
            blocker.rollback()
        error = out.get("error")
        assert isinstance(error, Unavailable), repr(error)
        assert isinstance(error.__cause__, psycopg.OperationalError)
        assert error.retryable
        assert counts(fresh_db) == before, "a partial import was left behind"
        # The pool replaced the connection: the store goes on.
        store.imports.import_course({**course("Again"), "author_clerk_id": "author"})
        assert counts(fresh_db)["courses"] == before["courses"] + 1


# -- statement timeout -----------------------------------------------------------------------------


def test_a_statement_past_the_timeout_raises_timeout_and_writes_nothing(fresh_db: str) -> None:
    with learnstore.connect(fresh_db, statement_timeout=0.3) as store:
        author(store)
        before = counts(fresh_db)
        with psycopg.connect(fresh_db) as blocker:
            blocker.execute("LOCK TABLE lessons IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(Timeout, match="statement timeout") as caught:
                store.imports.import_course({**course(), "author_clerk_id": "author"})
            waited = time.monotonic() - started
            blocker.rollback()
        assert 0.25 < waited < 5, waited
        assert isinstance(caught.value.__cause__, psycopg.errors.QueryCanceled)
        assert not caught.value.retryable
        assert counts(fresh_db) == before
        # One statement in autocommit, blocked the same way.
        with psycopg.connect(fresh_db) as blocker:
            blocker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(Timeout):
                store.users.apply_clerk_event({"type": "user.created", "data": {"id": "b", "updated_at": 1}})
            blocker.rollback()
        assert counts(fresh_db) == before
        # Quick operations are untouched by the limit.
        assert store.users.get("author").clerk_id == "author"


def test_the_statement_timeout_keeps_the_dsns_own_options(fresh_db: str) -> None:
    dsn = make_conninfo(fresh_db, options="-c application_name=mine")
    with learnstore.connect(dsn, statement_timeout=2) as store:
        pool = store._pool
        assert pool is not None
        with pool.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone() == ("2s",)
            assert conn.execute("SHOW application_name").fetchone() == ("mine",)


@pytest.mark.parametrize("seconds", [0, -1, float("nan")])
def test_a_statement_timeout_that_is_not_positive_is_refused(fresh_db: str, seconds: float) -> None:
    with pytest.raises(InvalidValue, match="statement_timeout must be a positive") as caught:
        learnstore.connect(fresh_db, statement_timeout=seconds)
    assert caught.value.field == "statement_timeout"


# -- deadlocks and serialization failures ----------------------------------------------------------


def test_a_deadlocked_import_is_run_again_and_succeeds(fresh_db: str, admin: psycopg.Connection[Any]) -> None:
    with learnstore.connect(fresh_db, max_size=2) as store:
        author(store)
        store.users.record_activity("author", T0)
        with psycopg.connect(fresh_db) as rival:
            # The rival holds the streak row; the import locks the user, copies the day, then needs
            # the streak row; the rival then asks for the user: a deadlock. The rival checks last
            # (10 s), so PostgreSQL picks the import as the victim after its 1 s.
            rival.execute("SET LOCAL deadlock_timeout = '10s'")
            rival.execute("SELECT FROM user_streaks WHERE user_clerk_id = 'author' FOR UPDATE")
            record = LoginDayRecord("author", date(2024, 3, 2), T0.replace(day=2))
            with in_thread(lambda: store.imports.import_login_days([record])) as out:
                wait_for(lambda: backends(admin, waiting=True), "the import to wait for the rival")
                rival.execute("SELECT FROM users WHERE clerk_id = 'author' FOR UPDATE")
                rival.commit()  # the import's next attempt was waiting for this
        # The rival got the user row while the import held it, so the import was the deadlock's
        # victim (its 1 s check runs before the rival's 10 s one) and was rolled back: that it
        # still returns its row is the retry. Without retries it raises Contention here.
        assert "error" not in out, repr(out.get("error"))
        assert out["result"].rows == 1
        assert store.users.list_login_days("author", date(2024, 3, 1), date(2024, 3, 2)) == [
            date(2024, 3, 1),
            date(2024, 3, 2),
        ]
        assert store.users.get_streak("author", T0.replace(day=2)).current_streak == 2


@pytest.fixture
def pool(fresh_db: str) -> Iterator[ConnectionPool[Any]]:
    with ConnectionPool(fresh_db, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        yield pool


def lose_a_race(conn: psycopg.Connection[Any]) -> None:
    conn.execute("DO $$ BEGIN RAISE EXCEPTION 'could not serialize' USING ERRCODE = '40001'; END $$")


def run(db: Database, body: Callable[[psycopg.Connection[Any], int], object], tries: list[int]) -> None:
    """An operation of several statements as the repositories write one; `tries` counts attempts."""
    for attempt in db.attempts():
        with attempt as conn:
            tries.append(len(tries) + 1)
            name = f"Attempt {len(tries)}"
            conn.execute("INSERT INTO languages (code, name) VALUES ('xx', %s)", [name])
            body(conn, len(tries))


def test_a_transaction_that_loses_a_race_is_rolled_back_and_run_again(
    fresh_db: str, pool: ConnectionPool[Any]
) -> None:
    tries: list[int] = []
    run(Database(pool, retries=3), lambda conn, n: lose_a_race(conn) if n < 3 else None, tries)
    assert tries == [1, 2, 3]
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT name FROM languages WHERE code = 'xx'").fetchall() == [("Attempt 3",)]


def test_retries_are_bounded_and_the_last_failure_is_raised(fresh_db: str, pool: ConnectionPool[Any]) -> None:
    before, tries = counts(fresh_db), list[int]()
    with pytest.raises(Contention, match="could not serialize") as caught:
        run(Database(pool, retries=2), lambda conn, _: lose_a_race(conn), tries)
    assert tries == [1, 2, 3]
    assert caught.value.retryable and isinstance(caught.value.__cause__, psycopg.errors.SerializationFailure)
    assert counts(fresh_db) == before


def test_other_errors_and_the_callers_own_transaction_get_one_attempt(
    fresh_db: str, pool: ConnectionPool[Any]
) -> None:
    tries: list[int] = []
    breaks_a_check = "INSERT INTO languages (code, name) VALUES ('yy', '')"
    with pytest.raises(InvalidValue, match="name"):
        run(Database(pool), lambda conn, _: conn.execute(breaks_a_check), tries)
    assert tries == [1]
    # Inside the caller's transaction, it is the caller's transaction that lost: only it can retry.
    with psycopg.connect(fresh_db) as own:
        tries = []
        with pytest.raises(Contention):
            run(Database(own), lambda conn, _: lose_a_race(conn), tries)
        assert tries == [1]
        own.rollback()
    assert counts(fresh_db)["languages"] == 0


def test_every_fault_is_a_learnstore_error_that_says_whether_to_retry() -> None:
    assert Unavailable.retryable and Contention.retryable
    assert not Timeout.retryable and not InvalidValue.retryable and not LearnstoreError.retryable
    assert {"Timeout", "Contention", "Unavailable"} <= set(learnstore.__all__)
