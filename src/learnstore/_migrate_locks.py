"""Migrations on a live database: timeouts, retries, the blocker named, invalid indexes, safe patterns."""

from __future__ import annotations

import os
import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from learnstore.errors import InvalidValue

__all__ = [
    "LOCK_RETRIES_ENV",
    "LOCK_TIMEOUT_ENV",
    "SAFE_PATTERNS",
    "STATEMENT_TIMEOUT_ENV",
    "BlockerWatch",
    "Limits",
    "backoff",
    "concurrent_indexes",
    "declared_statement_timeout",
    "drop_invalid_indexes",
    "duration",
    "gave_up",
    "limits",
    "settings",
]

LOCK_TIMEOUT_ENV = "LEARNSTORE_LOCK_TIMEOUT"
LOCK_RETRIES_ENV = "LEARNSTORE_LOCK_RETRIES"
STATEMENT_TIMEOUT_ENV = "LEARNSTORE_STATEMENT_TIMEOUT"

# A queued ACCESS EXCLUSIVE request stalls every reader and writer of the table behind it for as long
# as it waits: this long, at most, per attempt.
DEFAULT_LOCK_TIMEOUT = 3.0
DEFAULT_LOCK_RETRIES = 5
# A statement holding a migration's locks this long on a live table is a rewrite or a scan that should
# have been batched or made concurrent; a migration that must run long says so in its header.
DEFAULT_STATEMENT_TIMEOUT = 300.0

# Backoff between attempts: doubling from BASE, capped, each delay scaled by a random 0.5-1.5 so that
# migrators retrying on several databases of one server do not return in step.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 10.0

# What `learnstore new` writes under the header: the patterns that keep a live table readable and
# writable while a migration runs (docs/production.md, "Migrations on a live database").
SAFE_PATTERNS = """--
-- This runs against databases that serve traffic, with lock_timeout set (3 s by default, retried):
-- a statement that needs a strong lock on a busy table is retried, then the run fails naming the
-- blocker. `learnstore migrate --plan` shows each statement's lock. squawk checks the file in CI.
--
-- Add a column: nullable, or with a constant (or now()) default: no rewrite. A volatile default
-- such as gen_random_uuid() or clock_timestamp() rewrites the table under ACCESS EXCLUSIVE: add the
-- column without a default, backfill in batches, then SET DEFAULT.
--   ALTER TABLE courses ADD COLUMN slug text;
--
-- Add a constraint in two migrations: NOT VALID here (a brief lock, no scan) ...
--   ALTER TABLE courses ADD CONSTRAINT courses_slug_format CHECK (slug ~ '^[a-z0-9-]+$') NOT VALID;
-- ... and VALIDATE in a later one (scans, but writers go on: SHARE UPDATE EXCLUSIVE).
--   ALTER TABLE courses VALIDATE CONSTRAINT courses_slug_format;
--
-- An index on an existing table: CONCURRENTLY, which cannot run in a transaction, so it goes in a
-- migration of its own whose first line is `-- transactional: false`; a long build also declares
-- `-- statement_timeout: off`. Write IF NOT EXISTS: a rerun drops an INVALID index a cancelled
-- build left, and builds it again.
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS courses_slug_idx ON courses (slug);
--
-- Backfill in batches, each its own short transaction (in a `-- transactional: false` migration,
-- one statement per batch, or from a script), so no batch holds row locks for long:
--   UPDATE courses SET slug = lower(regexp_replace(title, '[^a-zA-Z0-9]+', '-', 'g'))
--   WHERE id IN (SELECT id FROM courses WHERE slug IS NULL LIMIT 5000);
--
-- Renaming or dropping a column that a running release reads: expand and contract over three
-- releases (docs/production.md).
"""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|min|h)?", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0}
# `-- statement_timeout: off` (or a duration) among a migration file's leading comment lines.
_DECLARED = re.compile(r"^\s*--\s*statement_timeout\s*:\s*(\S+)\s*$", re.IGNORECASE)
_COMMENT_OR_BLANK = re.compile(r"^\s*(--.*)?$")
_CONCURRENT_INDEX = re.compile(
    r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"((?:\"[^\"]+\"|[\w$]+)(?:\s*\.\s*(?:\"[^\"]+\"|[\w$]+))?)\s+ON\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a migration may wait for a lock and run a statement, and how often it is retried."""

    #: seconds each statement may wait for a lock (PostgreSQL's lock_timeout)
    lock_timeout: float
    #: attempts after the first, when a migration's statement waited lock_timeout and was rolled back
    lock_retries: int
    #: seconds each statement may run (statement_timeout); 0 is no limit
    statement_timeout: float


def duration(text: str, field: str) -> float:
    """Seconds from `3`, `2.5s`, `500ms`, `5min`, `1h`; `off` is 0 (no limit)."""
    text = text.strip()
    if text.lower() == "off":
        return 0.0
    match = _DURATION.fullmatch(text)
    if not match:
        raise InvalidValue(
            f"{field} must be a duration such as 3, 2.5s, 500ms, 5min or off, not {text!r}", field=field
        )
    return float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]


def _pick(given: float | int | None, env: str, default: float) -> tuple[float | int | str, str]:
    if given is not None:
        return given, "given"
    if os.environ.get(env):
        return os.environ[env], f"${env}"
    return default, "default"


def limits(
    lock_timeout: float | None = None, lock_retries: int | None = None, statement_timeout: float | None = None
) -> Limits:
    """The limits for a run: each given value, else its environment variable, else the default."""
    values: dict[str, float] = {}
    for field, given, env, default in (
        ("lock_timeout", lock_timeout, LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT),
        ("lock_retries", lock_retries, LOCK_RETRIES_ENV, DEFAULT_LOCK_RETRIES),
        ("statement_timeout", statement_timeout, STATEMENT_TIMEOUT_ENV, DEFAULT_STATEMENT_TIMEOUT),
    ):
        value, source = _pick(given, env, default)
        named = field if source == "given" else f"{field} ({source})"
        number = duration(value, named) if isinstance(value, str) else float(value)
        kind = "whole number" if field == "lock_retries" else "duration"
        if number < 0 or (field == "lock_retries" and number != int(number)):
            raise InvalidValue(f"{named} must be a non-negative {kind}, not {value!r}", field=field)
        values[field] = number
    if values["lock_timeout"] <= 0:
        # lock_timeout = 0 is PostgreSQL's "wait forever": exactly what this module exists to prevent.
        raise InvalidValue("lock_timeout must be more than 0 (0 would wait forever)", field="lock_timeout")
    return Limits(values["lock_timeout"], int(values["lock_retries"]), values["statement_timeout"])


def declared_statement_timeout(path: str | Path) -> float | None:
    """The `-- statement_timeout: off|DURATION` a migration file declares in its header, if any."""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not _COMMENT_OR_BLANK.fullmatch(line):
            return None  # the header ends at the first statement
        if match := _DECLARED.match(line):
            return duration(match.group(1), f"statement_timeout in {Path(path).name}")
    return None


def settings(limits: Limits, path: str | Path) -> dict[str, str]:
    """The session settings a migration runs with (milliseconds, as PostgreSQL takes them)."""
    declared = declared_statement_timeout(path)
    statement = limits.statement_timeout if declared is None else declared
    return {
        "lock_timeout": f"{round(limits.lock_timeout * 1000)}ms",
        "statement_timeout": f"{round(statement * 1000)}ms",
    }


def backoff(attempt: int) -> float:
    """Seconds to wait before retry `attempt` (0-based), with jitter."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt) * random.uniform(0.5, 1.5)


def concurrent_indexes(statements: list[str]) -> list[str]:
    """The indexes that `CREATE INDEX CONCURRENTLY` statements among these create, as written."""
    return [m.group(1) for s in statements for m in _CONCURRENT_INDEX.finditer(s)]


def drop_invalid_indexes(conn: psycopg.Connection[Any], names: list[str]) -> list[str]:
    """Drop those of `names` that exist and are INVALID; the ones dropped.

    A CREATE INDEX CONCURRENTLY that was cancelled, timed out or lost its client leaves its index in
    the catalog, INVALID: never used by a query, yet maintained by every write, and `IF NOT EXISTS`
    would keep it. The rerun drops it (concurrently: the table stays writable) so that it is built anew.
    """
    dropped = []
    for name in names:
        row = conn.execute(
            "SELECT NOT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)", (name,)
        ).fetchone()
        if row and row[0]:
            conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # a name the migration wrote
            dropped.append(name)
    return dropped


class BlockerWatch:
    """Samples, on its own connection, which sessions block a migration's backend, and what they run.

    Once a lock wait has timed out its blockers can no longer be asked for (pg_blocking_pids of a
    backend that waits for nothing is empty), so the watch keeps the last ones it saw.
    """

    INTERVAL = 0.1

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self.blockers: list[tuple[int, str, str, str, float]] = []

    @contextmanager
    def watching(self, pid: int) -> Iterator[None]:
        self.blockers = []
        stop = threading.Event()
        thread = threading.Thread(target=self._run, args=(pid, stop), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _run(self, pid: int, stop: threading.Event) -> None:
        try:
            with psycopg.connect(self._conninfo, autocommit=True) as conn:
                while not stop.is_set():
                    rows = conn.execute(
                        "SELECT a.pid, coalesce(a.state, ''), coalesce(a.application_name, ''),"
                        " left(coalesce(a.query, ''), 200),"
                        " coalesce(extract(epoch FROM now() - a.xact_start), 0)::float8"
                        " FROM unnest(pg_blocking_pids(%s)) AS b(pid)"
                        " JOIN pg_stat_activity a ON a.pid = b.pid",
                        (pid,),
                    ).fetchall()
                    if rows:
                        self.blockers = [(int(r[0]), r[1], r[2], r[3], float(r[4])) for r in rows]
                    stop.wait(self.INTERVAL)
        except psycopg.Error:
            return  # the watch only explains a failure; it must never cause one

    def describe(self) -> str:
        if not self.blockers:
            return "the blocking process was not seen (it let go as the wait ended)"
        return "; ".join(
            f"PostgreSQL process {pid} ({state or 'unknown state'}"
            f"{f', application {app!r}' if app else ''}, in a transaction for {age:.0f} s, "
            f"running or last ran: {' '.join(query.split())})"
            for pid, state, app, query, age in self.blockers
        )


def gave_up(migration: Any, direction: str, limits: Limits, watch: BlockerWatch) -> str:
    """Why a migration that ran out of lock retries failed, and what to do."""
    where = (
        "it was rolled back, and the database is at the previous revision"
        if migration.use_transactions
        else "it is not transactional: the statements before the one that waited stay applied, "
        "and a rerun continues from them"
    )
    return (
        f"{direction} of migration {migration.id} gave up after {limits.lock_retries + 1} attempt(s), each "
        f"waiting {limits.lock_timeout:g} s for a lock: blocked by {watch.describe()}. {where[0].upper()}"
        f"{where[1:]}. Let that transaction finish (or end it: SELECT pg_terminate_backend(pid)) and run "
        "again, or raise --lock-timeout / --lock-retries"
    )
