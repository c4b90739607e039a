"""Replica lag and fallback times on a real standby: `python -m bench.replica_lag [--rounds N]`.

Needs the standby of tools/standby.py (`python tools/standby.py start`), or another standby of the
server named by --dsn given as --replica. Makes a throwaway database on the primary, migrates it,
and measures, each over N rounds:

- lag: from a write's commit on the primary to the standby having replayed the commit (the
  replica's pg_last_wal_replay_lsn() polled every 0.2 ms from the moment the write returned);
- a token read right after a write (`reading_after(token)`): its latency, and how often the replica
  (not the primary) served it;
- fallback: a token read while the replica's replay is paused (`pg_wal_replay_pause()`), for two
  waits; and a read with a replica that cannot be reached at all (first read, then the next ones,
  which skip it for `DOWN_FOR` seconds).

Prints a Markdown table (docs/replicas.md quotes it with the command and the date it was run).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

import learnstore
import learnstore.replicas
from learnstore import migrate


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered) * 1000:.2f} | {p95 * 1000:.2f} | {ordered[-1] * 1000:.2f}"


def _lsn(conn: psycopg.Connection[Any], query: str) -> int:
    row = conn.execute(f"SELECT ({query}) - '0/0'::pg_lsn").fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def _created(clerk_id: str) -> dict[str, Any]:
    return {"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}}


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--replica", default="postgresql://postgres@127.0.0.1:5433/postgres")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args(argv)
    name = f"learnstore_replica_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    primary = make_conninfo(args.dsn, dbname=name)
    replica = make_conninfo(args.replica, dbname=name)
    try:
        migrate.upgrade(primary)
        rows = _measure(primary, replica, args.dsn, args.replica, args.rounds)
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    print(f"Measured {when}, {args.rounds} rounds each (`python -m bench.replica_lag`)\n")
    print("| what | median ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    for what, values in rows:
        print(f"| {what} | {values} |")
    return 0


def _catch_up(primary: str, replica: str) -> None:
    with psycopg.connect(primary, autocommit=True) as conn:
        target = _lsn(conn, "pg_current_wal_insert_lsn()")
    while True:
        try:
            with psycopg.connect(replica, autocommit=True) as conn:
                if _lsn(conn, "pg_last_wal_replay_lsn()") >= target:
                    return
        except psycopg.OperationalError:
            pass
        time.sleep(0.05)


def _measure(primary: str, replica: str, server: str, standby: str, rounds: int) -> list[tuple[str, str]]:
    _catch_up(primary, replica)
    out: list[tuple[str, str]] = []
    lags: list[float] = []
    token_reads: list[float] = []
    on_replica = 0
    with (
        learnstore.connect(primary, replicas=[replica], replica_wait=1.0) as store,
        psycopg.connect(replica, autocommit=True) as watch,
    ):
        for i in range(rounds):
            clerk = f"user_lag_{i}"
            store.users.apply_clerk_event(_created(clerk))
            written = time.perf_counter()
            token = store.token()
            target = learnstore.replicas.parse_token(token)
            while _lsn(watch, "pg_last_wal_replay_lsn()") < target:
                time.sleep(0.0002)
            lags.append(time.perf_counter() - written)
        for i in range(rounds):
            clerk = f"user_token_{i}"
            store.users.apply_clerk_event(_created(clerk))
            token = store.token()
            reader = store.reading_after(token)
            token_reads.append(_timed(lambda c=clerk, r=reader: r.users.get(c)))  # type: ignore[misc]
            replicas = store._db.replicas
            assert replicas is not None
            on_replica += replicas._replayed[0] >= learnstore.replicas.parse_token(token)
        plain = [_timed(lambda: store.users.get_or_none("user_lag_0")) for _ in range(rounds)]
    with learnstore.connect(primary) as alone:
        primary_reads = [_timed(lambda: alone.users.get_or_none("user_lag_0")) for _ in range(rounds)]
    out.append(("commit on the primary to replayed on a quiet standby", _ms(lags)))
    out.append(("a plain read on the replica (one row)", _ms(plain)))
    out.append(("the same read on the primary, no replicas", _ms(primary_reads)))
    out.append(
        (f"a token read right after the write (replica served {on_replica}/{rounds})", _ms(token_reads))
    )
    for wait in (0.1, 0.5):
        fallback: list[float] = []
        with psycopg.connect(standby, autocommit=True) as control:
            control.execute("SELECT pg_wal_replay_pause()")
            try:
                with learnstore.connect(primary, replicas=[replica], replica_wait=wait) as store:
                    for i in range(max(3, rounds // 10)):
                        clerk = f"user_paused_{wait}_{i}"
                        store.users.apply_clerk_event(
                            {"type": "user.created", "data": {"id": clerk, "updated_at": 1}}
                        )
                        reader = store.reading_after(store.token())
                        fallback.append(_timed(lambda c=clerk, r=reader: r.users.get(c)))  # type: ignore[misc]
            finally:
                control.execute("SELECT pg_wal_replay_resume()")
        out.append(
            (f"a token read, replay paused, replica_wait={wait}s (falls back to the primary)", _ms(fallback))
        )
    nowhere = make_conninfo(primary, host="127.0.0.1", port="1")
    with learnstore.connect(primary, replicas=[nowhere], replica_wait=0.5) as store:
        first = _timed(lambda: store.users.get_or_none("user_lag_0"))
        then = [_timed(lambda: store.users.get_or_none("user_lag_0")) for _ in range(rounds)]
    out.append(("a read, replica unreachable: the first one (replica_wait=0.5s)", _ms([first])))
    out.append(("a read, replica unreachable: the next ones (the replica is skipped)", _ms(then)))
    return out


if __name__ == "__main__":
    raise SystemExit(main())
