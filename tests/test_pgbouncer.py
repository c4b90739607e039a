"""learnstore behind a real PgBouncer in transaction mode: detection, prepared statements, timeouts.

The whole users and progress modules also run through PgBouncer in CI
(`LEARNSTORE_TEST_PGBOUNCER=on pytest tests/test_users.py tests/test_progress.py`, docs/production.md).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import learnstore
from learnstore.errors import Contention, Unavailable
from learnstore.pgbouncer import PgBouncer
from learnstore.pooler import detect_pooler

pytestmark = pytest.mark.skipif(
    shutil.which("pgbouncer") is None and shutil.which("/usr/sbin/pgbouncer") is None,
    reason="pgbouncer is not installed (.ci/run installs it: apt-get install pgbouncer)",
)


@pytest.fixture(scope="module")
def bouncer(learnstore_server_dsn: str, learnstore_pgbouncer: PgBouncer | None) -> Iterator[PgBouncer]:
    if learnstore_pgbouncer is not None:  # the session already runs through one
        yield learnstore_pgbouncer
        return
    started = PgBouncer.start(learnstore_server_dsn)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def direct(fresh_db: str, learnstore_server_dsn: str) -> str:
    """fresh_db on the server itself, whichever way the session hands out DSNs."""
    name = psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
    return psycopg.conninfo.make_conninfo(learnstore_server_dsn, dbname=str(name))


def test_pgbouncer_1_18_is_detected_and_cannot_keep_prepared_statements(
    bouncer: PgBouncer, direct: str
) -> None:
    with psycopg.connect(bouncer.dsn(direct)) as conn:
        pooler = detect_pooler(conn)
    assert pooler is not None
    assert pooler.version is not None and pooler.version[:2] >= (1, 0)
    # 1.18 on Debian 12: no protocol-level prepared statements (they came in 1.21)
    assert pooler.prepares == (pooler.version >= (1, 21) and bool(pooler.max_prepared_statements))
    with psycopg.connect(direct) as conn:
        assert detect_pooler(conn) is None


def hold_the_server_connection(dsn: str) -> psycopg.Connection[Any]:
    """A client in an open transaction: PgBouncer keeps the server connection it got for it."""
    holder = psycopg.connect(dsn)
    holder.execute("SELECT 1")
    return holder


def test_prepared_statements_break_through_pgbouncer_unless_preparation_is_off(
    bouncer: PgBouncer, direct: str
) -> None:
    through = bouncer.dsn(direct)
    with learnstore.connect(direct) as store:
        store.users.apply_clerk_event({"type": "user.created", "data": {"id": "ada", "updated_at": 1}})
    # Forced on: after 5 runs psycopg prepares the query on the one server connection there is; a
    # transaction that holds that connection sends the next run to another, which never saw it.
    with learnstore.connect(through, max_size=1, prepare=True) as store:
        for _ in range(6):
            assert store.users.get("ada").clerk_id == "ada"
        holder = hold_the_server_connection(through)
        try:
            with pytest.raises(Contention, match="prepared statement does not exist") as lost:
                store.users.get("ada")
            assert isinstance(lost.value.__cause__, psycopg.errors.InvalidSqlStatementName)
        finally:
            holder.close()
    # Detected (the default): nothing is prepared, and the same sequence works.
    with learnstore.connect(through, max_size=1) as store:
        for _ in range(6):
            assert store.users.get("ada").clerk_id == "ada"
        holder = hold_the_server_connection(through)
        try:
            for _ in range(6):
                assert store.users.get("ada").clerk_id == "ada"
        finally:
            holder.close()


async def test_concurrent_operations_through_pgbouncer(bouncer: PgBouncer, direct: str) -> None:
    async with await learnstore.connect_async(bouncer.dsn(direct), max_size=8) as store:
        await store.users.apply_clerk_event({"type": "user.created", "data": {"id": "ada", "updated_at": 1}})
        results = await asyncio.gather(
            *(store.users.notify("ada", "system", f"message {n}") for n in range(40)),
            *(store.users.count_unread("ada") for _ in range(40)),
        )
        assert len(results) == 80
        assert await store.users.count_unread("ada") == 40


def test_a_statement_timeout_cannot_travel_through_pgbouncer_and_says_what_to_do(
    bouncer: PgBouncer, direct: str
) -> None:
    with pytest.raises(Unavailable, match=r"does not pass statement_timeout on; set it on the role"):
        learnstore.connect(bouncer.dsn(direct), statement_timeout=1)
