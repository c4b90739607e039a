"""Apply, roll back, list and create yoyo migrations: a thin typed wrapper, safe under concurrency."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import yoyo
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from yoyo import exceptions as yoyo_errors
from yoyo.migrations import default_migration_table, read_sql_migration, topological_sort

from learnstore import _migrate_locks as locks
from learnstore._migrate_locks import Limits
from learnstore._resources import migrations_dir
from learnstore.errors import Conflict, InvalidValue, LearnstoreError, Unavailable

__all__ = [
    "ChangedMigrationError",
    "Limits",
    "MigrationError",
    "MigrationState",
    "ProgressCallback",
    "break_lock",
    "new",
    "pending",
    "rollback",
    "statements",
    "status",
    "upgrade",
    "yoyo_url",
]

#: on_progress(event, migration_id). Events: "applying" and "applied", "rolling back" and
#: "rolled back" around each migration; "waiting" (id "") while another migrator holds the lock;
#: "stale lock" (the id says whose) when the lock of a migrator that died was removed; "lock timeout"
#: when a migration waited lock_timeout for a table lock, was rolled back and will be retried;
#: "invalid index" (the id is the index) when a rerun drops an index a cancelled build left INVALID.
ProgressCallback = Callable[[str, str], None]

# Session advisory lock that serialises every learnstore migrator on one database (the first 8 bytes
# of sha256("learnstore.migrate"), as a signed bigint). Unlike yoyo's lock row it also covers yoyo's
# own first-run table creation, and PostgreSQL releases it when the holder's connection dies.
ADVISORY_LOCK_KEY = 0x1E3A_5C2B_7D40_91F6

# Seconds to wait for yoyo's lock row. Under the advisory lock only a non-learnstore yoyo client, or
# a row left by a migrator that crashed, can hold it.
YOYO_LOCK_TIMEOUT = 10.0

# libpq waits for the OS TCP timeout (minutes) on an unreachable host unless told otherwise.
DEFAULT_CONNECT_TIMEOUT = "10"

# Sessions of a migrator say so in pg_stat_activity.
APPLICATION_NAME = "learnstore migrate"

# PostgreSQL 14 and later: a backend busy in a migration statement checks this often (ms) that its
# client is still there. Without it a killed migrator's backend runs its statement (a long index
# build, a pg_sleep) to the end before it notices, holding the migration's locks all the while.
CLIENT_CHECK_INTERVAL_MS = 1000

# learnstore's own bookkeeping, next to yoyo's and named with yoyo's prefix, so that whatever skips
# yoyo's tables (schema comparisons, the ERD) skips these too. The checksum of each applied migration
# file; and which of yoyo's lock rows a learnstore migrator took, so that a row whose migrator died can
# be told from one a plain yoyo client holds.
CHECKSUM_TABLE = "_yoyo_learnstore_checksum"
LOCK_TABLE = "_yoyo_learnstore_lock"
_BOOKKEEPING = f"""
CREATE TABLE IF NOT EXISTS {CHECKSUM_TABLE} (
    migration_id text PRIMARY KEY,
    sha256 text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {LOCK_TABLE} (
    pid integer NOT NULL,
    ctime timestamp NOT NULL,
    PRIMARY KEY (pid, ctime)
)
"""

_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
_NUMBERED = re.compile(r"(\d{4,})_")


class MigrationError(LearnstoreError):
    """A migration failed (and was rolled back), or the migration files themselves are wrong."""


class ChangedMigrationError(MigrationError):
    """A migration file was edited after it was applied: the database does not have what it says."""


@dataclass(frozen=True, slots=True)
class MigrationState:
    """One migration file and whether the database has it."""

    id: str
    applied: bool
    applied_at: datetime | None


# --- connection strings -------------------------------------------------------------------------


def _conninfo(dsn: str) -> dict[str, str]:
    """libpq parameters from a URL or `key=value` DSN (a `+driver` suffix in the scheme is dropped)."""
    text = re.sub(r"^(postgres(?:ql)?)\+\w+://", r"\1://", dsn.strip())
    try:
        params = {key: str(value) for key, value in conninfo_to_dict(text).items()}
    except psycopg.ProgrammingError as exc:
        raise Unavailable(f"invalid DSN: {_first_line(exc)}") from exc
    params.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    params.setdefault("application_name", APPLICATION_NAME)
    return params


def yoyo_url(dsn: str) -> str:
    """The yoyo URL for a libpq DSN: yoyo reads `postgresql://` as psycopg2, so say `+psycopg`."""
    return _url(_conninfo(dsn))


def _url(params: dict[str, str]) -> str:
    # Every parameter goes into the query string: yoyo hands query arguments to psycopg.connect as
    # keywords, which keeps socket-directory hosts and options such as sslmode intact.
    return "postgresql+psycopg://?" + urllib.parse.urlencode(params)


def _describe(params: dict[str, str]) -> str:
    """Where a DSN points, without its password, for error messages."""
    shown = ("host", "port", "dbname", "user")
    return " ".join(f"{key}={params[key]}" for key in shown if params.get(key)) or "libpq defaults"


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).strip().splitlines()[:1]) or type(exc).__name__
    text = text.removeprefix("connection failed: ")
    return re.sub(r"\s+", " ", text)


# --- the session: advisory lock, yoyo backend, yoyo lock ------------------------------------------


def _read_migrations(folder: Path | None) -> Any:
    folder = (folder or migrations_dir()).resolve()
    if not folder.is_dir():
        raise MigrationError(f"no migrations folder at {folder}")
    try:
        # yoyo treats its sources as glob patterns; a path with [ or * in it must not be one.
        migrations = yoyo.read_migrations(glob.escape(str(folder)))
        for migration in migrations:
            migration.load()
    except (yoyo_errors.BadMigration, yoyo_errors.MigrationConflict) as exc:
        raise MigrationError(f"bad migration in {folder}: {_first_line(exc)}") from exc
    return migrations


@contextmanager
def _database_errors(params: dict[str, str]) -> Iterator[None]:
    """Connection failures become Unavailable, other database errors MigrationError: one line each."""
    try:
        yield
    except psycopg.OperationalError as exc:
        raise Unavailable(f"cannot connect to PostgreSQL ({_describe(params)}): {_first_line(exc)}") from exc
    except psycopg.Error as exc:
        raise MigrationError(f"migration bookkeeping failed: {_first_line(exc)}") from exc


@contextmanager
def _locked_session(
    dsn: str, migrations: Path | None, on_progress: ProgressCallback | None
) -> Iterator[tuple[Any, Any]]:
    """(yoyo backend, migration list) with the advisory lock and yoyo's lock held."""
    migration_list = _read_migrations(migrations)
    params = _conninfo(dsn)
    with _database_errors(params), psycopg.connect(make_conninfo(**params), autocommit=True) as lock_conn:
        key = (ADVISORY_LOCK_KEY,)
        got = lock_conn.execute("SELECT pg_try_advisory_lock(%s)", key).fetchone()
        if not (got and got[0]):
            if on_progress:
                on_progress("waiting", "")
            lock_conn.execute("SELECT pg_advisory_lock(%s)", key)
        try:
            lock_conn.execute(_BOOKKEEPING)
            stale = _remove_stale_lock(lock_conn)
            if stale and on_progress:
                on_progress("stale lock", stale)
            backend = yoyo.get_backend(_url(_watching_its_client(params, lock_conn)))
            try:
                with backend.lock(timeout=YOYO_LOCK_TIMEOUT):
                    # Ours: if this process dies now, the next migrator knows the row is stale.
                    lock_conn.execute(
                        f"INSERT INTO {LOCK_TABLE} (pid, ctime)"
                        " SELECT pid, ctime FROM yoyo_lock WHERE pid = %s",
                        (os.getpid(),),
                    )
                    try:
                        yield backend, migration_list
                    finally:
                        lock_conn.execute(f"DELETE FROM {LOCK_TABLE}")
            except yoyo_errors.LockTimeout as exc:
                raise Conflict(
                    f"yoyo's migration lock is held: {_first_line(exc)}, and not by a learnstore migrator. "
                    "If no yoyo client is migrating this database, one that crashed left the lock "
                    "behind: run `learnstore break-lock`"
                ) from exc
            finally:
                backend.connection.close()
        finally:
            # Closing the connection would release the lock too; unlock first to be tidy, but never
            # let a broken connection here hide the error that broke it.
            with suppress(psycopg.Error):
                lock_conn.execute("SELECT pg_advisory_unlock(%s)", key)


def _watching_its_client(params: dict[str, str], conn: psycopg.Connection[Any]) -> dict[str, str]:
    """`params` for the migrations' own connection: on PostgreSQL 14 and later its backend notices
    within a second that the migrator died, and rolls the migration back."""
    if conn.info.server_version < 140000:
        return params
    watch = f"-c client_connection_check_interval={CLIENT_CHECK_INTERVAL_MS}"
    return {**params, "options": f"{params.get('options', '')} {watch}".strip()}


def _remove_stale_lock(conn: psycopg.Connection[Any]) -> str | None:
    """Remove yoyo's lock row if a learnstore migrator took it and died; who held it, or None.

    Called with the advisory lock held: every learnstore migrator holds that lock for as long as it
    holds yoyo's, and PostgreSQL releases it when the holder's connection ends. So a row one of them
    took, found now, belongs to a migrator that is gone. A row no learnstore migrator took is a
    plain yoyo client's, and is left alone.
    """
    found = conn.execute("SELECT to_regclass('yoyo_lock') IS NOT NULL").fetchone()
    if not (found and found[0]):
        return None
    with conn.transaction():
        stale = conn.execute(
            f"DELETE FROM yoyo_lock y USING {LOCK_TABLE} l WHERE y.pid = l.pid AND y.ctime = l.ctime"
            " RETURNING y.pid, y.ctime"
        ).fetchall()
        conn.execute(f"DELETE FROM {LOCK_TABLE}")
    return "; ".join(_holder(pid, ctime) for pid, ctime in stale) or None


def _holder(pid: int, ctime: datetime) -> str:
    return f"taken by process {pid} at {ctime:%Y-%m-%d %H:%M:%S} UTC"


def break_lock(dsn: str) -> list[str]:
    """Remove yoyo's migration lock, whoever took it (`learnstore break-lock`); who held it.

    For a lock left by a yoyo client that crashed: learnstore removes one a learnstore migrator left by
    itself. Refused with `Conflict` while a learnstore migrator is running on the database.
    """
    params = _conninfo(dsn)
    with _database_errors(params), psycopg.connect(make_conninfo(**params), autocommit=True) as conn:
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()
        if not (got and got[0]):
            holder = conn.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND (classid::bigint << 32 | objid::bigint) = %s",
                (ADVISORY_LOCK_KEY,),
            ).fetchone()
            who = f" (PostgreSQL backend {holder[0]})" if holder else ""
            raise Conflict(
                f"a learnstore migration is running on this database{who}: its lock is not stale; "
                "let it finish, or stop it, and run again"
            )
        try:
            found = conn.execute("SELECT to_regclass('yoyo_lock') IS NOT NULL").fetchone()
            if not (found and found[0]):
                return []
            with conn.transaction():
                removed = conn.execute("DELETE FROM yoyo_lock RETURNING pid, ctime").fetchall()
                if _exists(conn, LOCK_TABLE):
                    conn.execute(f"DELETE FROM {LOCK_TABLE}")
            return [_holder(pid, ctime) for pid, ctime in removed]
        finally:
            with suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(found and found[0])


# --- checksums ------------------------------------------------------------------------------------


def _checksum(migration: Any) -> str:
    return hashlib.sha256(Path(migration.path).read_bytes()).hexdigest()


def file_checksums(migrations: Path | None = None) -> dict[str, str]:
    """The sha256 of each migration file, by migration id: what `migrate` compares with the checksums
    it recorded when it applied them (in CHECKSUM_TABLE)."""
    return {m.id: _checksum(m) for m in _read_migrations(migrations)}


def _check_unchanged(backend: Any, migration_list: Any, *, record_missing: bool) -> None:
    """Refuse to go on if an applied migration's file changed since it was applied.

    yoyo knows a migration by its id only, so an edited file still counts as applied and the edit
    never reaches the database. A migration applied before learnstore kept checksums (or by plain
    yoyo) has its checksum recorded now, as it is.
    """
    hashes = set(backend.get_applied_migration_hashes())
    applied = [m for m in migration_list if m.hash in hashes]
    cursor = backend.execute(f"SELECT migration_id, sha256 FROM {CHECKSUM_TABLE}")
    recorded = {str(row[0]): str(row[1]) for row in cursor.fetchall()}
    changed = [m.id for m in applied if m.id in recorded and recorded[m.id] != _checksum(m)]
    if changed:
        raise ChangedMigrationError(
            f"migration {', '.join(changed)} changed after it was applied (its checksum differs): the "
            "database does not have what the file now says. Restore the file as it was applied and put "
            "the change in a new migration (`learnstore new`)"
        )
    missing = [m for m in applied if m.id not in recorded]
    if missing and record_missing:
        with backend.transaction():
            for migration in missing:
                _record_checksum(backend, migration, "apply")


def _record_checksum(backend: Any, migration: Any, direction: str) -> None:
    if direction == "apply":
        backend.execute(
            f"INSERT INTO {CHECKSUM_TABLE} (migration_id, sha256) VALUES (:id, :sha256)"
            " ON CONFLICT (migration_id) DO UPDATE SET sha256 = excluded.sha256, recorded_at = now()",
            {"id": migration.id, "sha256": _checksum(migration)},
        )
    else:
        backend.execute(f"DELETE FROM {CHECKSUM_TABLE} WHERE migration_id = :id", {"id": migration.id})


class _QuietCursor:
    """A cursor that reports no result columns, so yoyo has no rows to print."""

    description = None

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _Quiet:
    """A yoyo backend whose statements' rows are not printed.

    yoyo prints the rows of any migration statement that returns some (`SELECT setval(...)`) to
    stdout, which garbles the CLI's progress and a library caller's output. Swapping sys.stdout
    instead would not be thread-safe.
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def cursor(self) -> _QuietCursor:
        return _QuietCursor(self._backend.cursor())


def _set(backend: Any, settings: dict[str, str], *, local: bool) -> None:
    for name, value in settings.items():
        backend.execute(
            "SELECT set_config(:name, :value, :local)", {"name": name, "value": value, "local": local}
        )


def _run(
    backend: Any,
    migration: Any,
    direction: str,
    settings: dict[str, str],
    watch: locks.BlockerWatch,
    on_progress: ProgressCallback | None,
) -> None:
    """Apply or roll back one migration and record it, every statement under the run's timeouts."""
    if migration.use_transactions:
        # yoyo itself commits a migration on one connection and records it on another, so a crash in
        # between leaves it applied but unrecorded. Here the steps and the bookkeeping commit together.
        backend.ensure_internal_schema_updated()
        with backend.transaction(), watch.watching(backend.connection.info.backend_pid):
            # SET LOCAL: gone with the transaction; a migration's own SET LOCAL still wins.
            _set(backend, settings, local=True)
            search_path = backend.execute("SELECT current_setting('search_path')").fetchone()[0]
            migration.process_steps(_Quiet(backend), direction)
            # A migration may SET search_path (pg_dump output does); yoyo's tables are named unqualified.
            backend.execute("SELECT set_config('search_path', :path, false)", {"path": search_path})
            _record(backend, migration, direction)
    else:
        # `-- transactional: false` (e.g. CREATE INDEX CONCURRENTLY) runs statement by statement on a
        # connection of its own, as yoyo does it; only the bookkeeping is a transaction.
        with backend.copy() as own:
            _set(own, settings, local=False)
            if direction == "apply":
                indexes = locks.concurrent_indexes(statements(migration))
                for name in locks.drop_invalid_indexes(own.connection, indexes):
                    if on_progress:
                        on_progress("invalid index", name)
            with watch.watching(own.connection.info.backend_pid):
                migration.process_steps(_Quiet(own), direction)
        with backend.transaction():
            _record(backend, migration, direction)


def statements(migration: Any) -> list[str]:
    """The SQL statements of a migration file, split as yoyo splits them (none for a Python one)."""
    return read_sql_migration(migration.path)[2] if migration.is_raw_sql() else []


def _record(backend: Any, migration: Any, direction: str) -> None:
    _record_checksum(backend, migration, direction)
    backend.log_migration(migration, direction)
    if direction == "apply":
        backend.mark_one(migration, log=False)
    else:
        backend.unmark_one(migration, log=False)


def _connection_lost(exc: psycopg.Error) -> bool:
    # A statement_timeout or lock_timeout inside a migration is the migration's failure, not an outage.
    return (
        exc.sqlstate is None or exc.sqlstate.startswith("08") or exc.sqlstate in ("57P01", "57P02", "57P03")
    )


def _check_rollbacks(chosen: list[Any]) -> None:
    # Without its .rollback.sql yoyo would "roll back" a SQL migration by doing nothing and forgetting
    # it was applied; refuse before touching anything, so a multi-step rollback never stops halfway.
    missing = [
        m.id for m in chosen if m.is_raw_sql() and not Path(m.path[: -len(".sql")] + ".rollback.sql").exists()
    ]
    if missing:
        raise MigrationError(f"cannot roll back {', '.join(missing)}: no .rollback.sql file")


def _run_all(
    dsn: str,
    backend: Any,
    chosen: list[Any],
    direction: str,
    limits: Limits,
    on_progress: ProgressCallback | None,
) -> None:
    before, after = ("applying", "applied") if direction == "apply" else ("rolling back", "rolled back")
    watch = locks.BlockerWatch(make_conninfo(**_conninfo(dsn)))
    for migration in chosen:
        if on_progress:
            on_progress(before, migration.id)
        settings = locks.settings(limits, migration.path)
        for attempt in range(limits.lock_retries + 1):
            try:
                _run(backend, migration, direction, settings, watch, on_progress)
                break
            except psycopg.errors.LockNotAvailable as exc:
                # The wait is over and its transaction rolled back: everyone queued behind it moves on.
                if attempt == limits.lock_retries:
                    raise MigrationError(locks.gave_up(migration, direction, limits, watch)) from exc
                if on_progress:
                    on_progress("lock timeout", migration.id)
                time.sleep(locks.backoff(attempt))
            except psycopg.Error as exc:
                if _connection_lost(exc):
                    raise Unavailable(f"lost the connection to PostgreSQL: {_first_line(exc)}") from exc
                raise MigrationError(
                    f"{direction} of migration {migration.id} failed and was rolled back: "
                    f"{exc.diag.message_primary or _first_line(exc)}"
                ) from exc
        if on_progress:
            on_progress(after, migration.id)


# --- the API --------------------------------------------------------------------------------------


def upgrade(
    dsn: str,
    *,
    migrations: Path | None = None,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    lock_timeout: float | None = None,
    lock_retries: int | None = None,
    statement_timeout: float | None = None,
) -> list[str]:
    """Apply every pending migration, each in its own transaction; the ids applied (or that would be).

    Every statement waits at most `lock_timeout` seconds for a lock; a migration that waited that long
    is rolled back and retried `lock_retries` times, with backoff, before the run fails naming the
    session that blocked it. Statements run at most `statement_timeout` seconds (0: no limit), unless
    the migration declares its own (`-- statement_timeout: off` in its header). Each limit not given
    comes from $LEARNSTORE_LOCK_TIMEOUT, $LEARNSTORE_LOCK_RETRIES, $LEARNSTORE_STATEMENT_TIMEOUT, else
    the defaults (3 s, 5 retries, 5 min). See docs/production.md.
    """
    run_limits = locks.limits(lock_timeout, lock_retries, statement_timeout)
    with _locked_session(dsn, migrations, on_progress) as (backend, migration_list):
        _check_unchanged(backend, migration_list, record_missing=not dry_run)
        pending = list(backend.to_apply(migration_list))
        if not dry_run:
            _run_all(dsn, backend, pending, "apply", run_limits, on_progress)
            if pending:
                backend.run_post_apply(migration_list)
        return [migration.id for migration in pending]


def rollback(
    dsn: str,
    *,
    migrations: Path | None = None,
    steps: int | None = 1,
    to: str | None = None,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    lock_timeout: float | None = None,
    lock_retries: int | None = None,
    statement_timeout: float | None = None,
) -> list[str]:
    """Roll back the last `steps` migrations, or those applied after `to` (which stays), or all of them
    (steps=None, to=None); newest first. The ids rolled back (or that would be). The limits are those
    of `upgrade`."""
    run_limits = locks.limits(lock_timeout, lock_retries, statement_timeout)
    if to is not None and steps not in (None, 1):
        raise InvalidValue("give steps or to, not both", field="to")
    if to is None and steps is not None and steps < 1:
        raise InvalidValue(f"steps must be at least 1, not {steps}", field="steps")
    with _locked_session(dsn, migrations, on_progress) as (backend, migration_list):
        applied = list(backend.to_rollback(migration_list))  # newest first
        if to is not None:
            target = _resolve(to, [m.id for m in migration_list])
            applied_ids = [m.id for m in applied]
            if target not in applied_ids:
                raise MigrationError(f"cannot roll back to {target}: it is not applied")
            chosen = applied[: applied_ids.index(target)]
        elif steps is None:
            chosen = applied
        else:
            chosen = applied[:steps]
        _check_rollbacks(chosen)
        if not dry_run:
            _run_all(dsn, backend, chosen, "rollback", run_limits, on_progress)
        return [migration.id for migration in chosen]


def _resolve(revision: str, ids: list[str]) -> str:
    """A migration id from an exact id or a unique prefix such as `0003`."""
    if revision in ids:
        return revision
    matches = [i for i in ids if i.startswith(revision)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InvalidValue(f"no migration {revision!r}", field="to")
    raise InvalidValue(f"{revision!r} matches several migrations: {', '.join(matches)}", field="to")


def status(dsn: str, *, migrations: Path | None = None) -> list[MigrationState]:
    """Every migration file in apply order, with whether and when it was applied. Reads only."""
    ordered, applied = _ordered_and_applied(dsn, migrations)
    return [
        MigrationState(id=m.id, applied=m.hash in applied, applied_at=applied.get(m.hash)) for m in ordered
    ]


def pending(dsn: str, *, migrations: Path | None = None) -> list[Any]:
    """The yoyo migrations not applied yet, in apply order (what `upgrade` would run). Reads only."""
    ordered, applied = _ordered_and_applied(dsn, migrations)
    return [m for m in ordered if m.hash not in applied]


def _ordered_and_applied(dsn: str, migrations: Path | None) -> tuple[list[Any], dict[str, datetime]]:
    migration_list = _read_migrations(migrations)
    params = _conninfo(dsn)
    applied: dict[str, datetime] = {}
    with _database_errors(params), psycopg.connect(make_conninfo(**params), autocommit=True) as conn:
        # Plain SQL rather than a yoyo backend: yoyo's setup writes (lock table, a test table), and
        # looking must not change the database.
        table = conn.execute("SELECT to_regclass(%s)", (default_migration_table,)).fetchone()
        if table and table[0]:
            query = sql.SQL("SELECT migration_hash, applied_at_utc FROM {}").format(
                sql.Identifier(default_migration_table)
            )
            for migration_hash, applied_at in conn.execute(query):
                applied[migration_hash] = applied_at.replace(tzinfo=UTC)  # yoyo stores naive UTC
    try:
        return list(topological_sort(migration_list)), applied
    except yoyo_errors.BadMigration as exc:
        raise MigrationError(_first_line(exc)) from exc


def new(name: str, *, migrations: Path | None = None) -> tuple[Path, Path]:
    """Create `NNNN_name.sql` and `NNNN_name.rollback.sql` with the next number; their paths."""
    if not _NAME.fullmatch(name) or len(name) > 60:
        raise InvalidValue(
            f"migration name {name!r} must be snake_case: lowercase letters, digits and single "
            "underscores, starting with a letter, at most 60 characters",
            field="name",
        )
    folder = migrations or migrations_dir()
    folder.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := _NUMBERED.match(p.name))]
    migration_id = f"{max(numbers, default=0) + 1:04d}_{name}"
    forward, backward = folder / f"{migration_id}.sql", folder / f"{migration_id}.rollback.sql"
    reminder = (
        "-- Change sql/schema/ in the same commit: it must describe the database this migration\n"
        "-- leads to. Statements run in one transaction; a failure applies none of them.\n"
    )
    forward_text = f"-- {migration_id}: {name.replace('_', ' ')}\n{reminder}{locks.SAFE_PATTERNS}\n"
    backward_text = f"-- Undoes {migration_id}.sql: its statements' inverses, in reverse order.\n{reminder}\n"
    # "x": never overwrite, even if another `new` picked the same number a moment ago.
    with forward.open("x", encoding="utf-8") as out:
        out.write(forward_text)
    with backward.open("x", encoding="utf-8") as out:
        out.write(backward_text)
    return forward, backward
