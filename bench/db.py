"""The benchmark database: a DSN given, or `learnstore_bench` created and migrated on the local server."""

from __future__ import annotations

import os
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from learnstore.migrate import upgrade

#: the local server of the development and CI machines
SERVER_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "learnstore_bench"


def default_dsn() -> str:
    """$LEARNSTORE_BENCH_DSN, else `learnstore_bench` on the local server."""
    return os.environ.get("LEARNSTORE_BENCH_DSN") or with_database(SERVER_DSN, BENCH_DB)


def with_database(dsn: str, name: str) -> str:
    params: dict[str, Any] = dict(conninfo_to_dict(dsn))
    params["dbname"] = name
    return make_conninfo(**params)


def recreate(dsn: str) -> None:
    """Drop and create the database of `dsn` (connecting to the server's `postgres` database), and
    migrate it with learnstore's own migrations."""
    name = str(conninfo_to_dict(dsn).get("dbname") or "")
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to recreate database {name!r}: give a DSN naming a database of its own")
    with psycopg.connect(with_database(dsn, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    upgrade(dsn)


def create_if_missing(dsn: str) -> None:
    name = str(conninfo_to_dict(dsn).get("dbname") or "")
    with psycopg.connect(with_database(dsn, "postgres"), autocommit=True) as conn:
        # `SELECT 1`, not `SELECT`: a row of no columns is an empty tuple, which is false
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def loaded_scale(dsn: str) -> str | None:
    """The scale of the dataset in `dsn` (the generator records it in `bench_meta`), or None."""
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            found = conn.execute("SELECT to_regclass('bench_meta') IS NOT NULL").fetchone()
            if not found or not found[0]:
                return None
            row = conn.execute("SELECT scale FROM bench_meta").fetchone()
            return str(row[0]) if row else None
    except psycopg.OperationalError:
        return None
