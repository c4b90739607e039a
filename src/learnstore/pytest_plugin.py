"""The learnstore pytest plugin: a real, migrated, throwaway PostgreSQL for every test session."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

__all__ = [
    "Server",
    "Template",
    "choose_backend",
    "clone_database",
    "create_database",
    "create_template",
    "database_dsn",
    "docker_available",
    "drop_database",
    "learnstore_aconn_factory",
    "learnstore_conn_factory",
    "learnstore_db_factory",
    "learnstore_template_factory",
    "start_container",
    "unique_name",
]

Backend = Literal["dsn", "docker", "embedded"]
Scope = Literal["session", "package", "module", "class", "function"]
#: A step that prepares the template after migrating it: a .sql file to run, or a callable given its DSN.
Loader = Path | Callable[[str], object]

BACKENDS = ("auto", "dsn", "docker", "embedded")
DEFAULT_IMAGE = "postgres:17-alpine"
DOCKER_PROBE_TIMEOUT = 3.0

# ini option: (command-line flag, environment variable, help)
_SETTINGS: dict[str, tuple[str, str, str]] = {
    "learnstore_server_dsn": (
        "--learnstore-server-dsn",
        "LEARNSTORE_TEST_DSN",
        "DSN of a PostgreSQL server to create the test databases on (needs CREATEDB).",
    ),
    "learnstore_backend": (
        "--learnstore-backend",
        "LEARNSTORE_TEST_BACKEND",
        "where the test server comes from: auto (default: dsn, else docker, else embedded), "
        "dsn, docker or embedded.",
    ),
    "learnstore_pgbouncer": (
        "--learnstore-pgbouncer",
        "LEARNSTORE_TEST_PGBOUNCER",
        "on: start PgBouncer (transaction mode) in front of the server, and give the tests DSNs "
        "through it; the template and the databases are still created on the server directly.",
    ),
    "learnstore_docker_image": (
        "--learnstore-docker-image",
        "LEARNSTORE_TEST_DOCKER_IMAGE",
        f"PostgreSQL image for the docker backend (default {DEFAULT_IMAGE}).",
    ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("learnstore", "learnstore test database")
    for name, (flag, env, text) in _SETTINGS.items():
        metavar = name.rsplit("_", 1)[-1].upper()
        group.addoption(
            flag, dest=name, default=None, metavar=metavar, help=f"{text} Env: {env}. Ini: {name}."
        )
        parser.addini(name, f"{text} Env: {env}; flag: {flag}.", default="")


def setting(config: pytest.Config, name: str) -> tuple[str, str] | None:
    """A setting's value and where it came from: the command line, then the environment, then the ini file."""
    flag, env, _ = _SETTINGS[name]
    cli: str | None = config.getoption(name)
    if cli:
        return cli, flag
    if os.environ.get(env):
        return os.environ[env], env
    ini = str(config.getini(name) or "")
    return (ini, f"ini {name}") if ini else None


def pytest_configure(config: pytest.Config) -> None:
    backend = setting(config, "learnstore_backend")
    if backend and backend[0] not in BACKENDS:
        raise pytest.UsageError(f"{backend[1]}={backend[0]!r}: learnstore's backend is one of {BACKENDS}")
    bouncer = setting(config, "learnstore_pgbouncer")
    if bouncer and bouncer[0] not in ("on", "off"):
        raise pytest.UsageError(f"{bouncer[1]}={bouncer[0]!r}: learnstore's pgbouncer setting is on or off")


@dataclass(frozen=True)
class Choice:
    backend: Backend
    why: str


_CHOICE = pytest.StashKey[Choice]()


def choose_backend(config: pytest.Config) -> Choice:
    """Decide, once per session, where the test server comes from; cheap, starts nothing."""
    if _CHOICE in config.stash:
        return config.stash[_CHOICE]
    forced = setting(config, "learnstore_backend")
    dsn = setting(config, "learnstore_server_dsn")
    choice: Choice
    if forced and forced[0] != "auto":
        if forced[0] == "dsn" and dsn is None:
            raise pytest.UsageError(
                f"{forced[1]}=dsn needs a server DSN ({_SETTINGS['learnstore_server_dsn'][1]})"
            )
        choice = Choice(cast(Backend, forced[0]), f"forced by {forced[1]}")  # checked in pytest_configure
    elif dsn is not None:
        choice = Choice("dsn", f"from {dsn[1]}")
    elif (engine := docker_available()) and importlib.util.find_spec("testcontainers") is not None:
        choice = Choice("docker", "no DSN set; a Docker engine answered")
    else:
        missing = "testcontainers is not installed" if engine else "no Docker engine answered"
        choice = Choice("embedded", f"no DSN set; {missing}")
    config.stash[_CHOICE] = choice
    return choice


def pytest_report_header(config: pytest.Config) -> str:
    choice = choose_backend(config)
    through = " through PgBouncer" if _pgbouncer_on(config) else ""
    return f"learnstore: PostgreSQL from {choice.backend} ({choice.why}){through}"


def _pgbouncer_on(config: pytest.Config) -> bool:
    found = setting(config, "learnstore_pgbouncer")
    return found is not None and found[0] == "on"


# ---- the server ---------------------------------------------------------------------------------


def docker_available(timeout: float = DOCKER_PROBE_TIMEOUT) -> bool:
    """True when a Docker engine answers a ping; any failure (no package, no socket, no answer) is False."""
    try:
        # imported by name: docker ships no type hints, and the plugin must load without it
        client = importlib.import_module("docker").from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _postgres_container_class() -> Any:
    try:
        return importlib.import_module("testcontainers.community.postgres").PostgresContainer
    except ImportError:  # testcontainers before 4.14 keeps it at the top level
        return importlib.import_module("testcontainers.postgres").PostgresContainer


def start_container(image: str = DEFAULT_IMAGE) -> tuple[Any, str]:
    """Start a throwaway PostgreSQL container; return it (to stop later) and its psycopg-3 DSN."""
    # driver=None: the default URL says postgresql+psycopg2://, which libpq does not accept
    container = _postgres_container_class()(image, driver=None)
    container.start()
    return container, str(container.get_connection_url())


@dataclass(frozen=True)
class Server:
    """The session's PostgreSQL server: which backend gave it, and a DSN to its maintenance database."""

    backend: Backend
    dsn: str


@pytest.fixture(scope="session")
def learnstore_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The session's PostgreSQL server, from a DSN, a Docker container or the embedded server."""
    choice = choose_backend(request.config)
    if choice.backend == "dsn":
        found = setting(request.config, "learnstore_server_dsn")
        assert found is not None  # choose_backend picks dsn only when one is set
        yield Server("dsn", found[0])
    elif choice.backend == "docker":
        if not docker_available():
            pytest.fail(
                "learnstore: the docker backend was chosen but no Docker engine answered", pytrace=False
            )
        image = setting(request.config, "learnstore_docker_image")
        container, dsn = start_container(image[0] if image else DEFAULT_IMAGE)
        try:
            yield Server("docker", dsn)
        finally:
            container.stop()
    else:
        from learnstore.embedded import embedded_dsn

        yield Server("embedded", embedded_dsn("postgres"))


@pytest.fixture(scope="session")
def learnstore_pgbouncer(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The session's PgBouncer (`learnstore.pgbouncer.PgBouncer`) when `--learnstore-pgbouncer=on`,
    else None. The database fixtures then hand out DSNs through it."""
    if not _pgbouncer_on(request.config):
        yield None
        return
    from learnstore.pgbouncer import PgBouncer, PgBouncerError

    server: Server = request.getfixturevalue("learnstore_server")
    try:
        bouncer = PgBouncer.start(server.dsn)
    except PgBouncerError as exc:
        pytest.fail(f"learnstore: {exc}", pytrace=False)
    try:
        yield bouncer
    finally:
        bouncer.stop()


@pytest.fixture(scope="session")
def learnstore_server_dsn(learnstore_server: Server) -> str:
    """DSN of the server's maintenance database: create databases there, do not write to it."""
    return learnstore_server.dsn


# ---- databases ----------------------------------------------------------------------------------


def unique_name(kind: str) -> str:
    """A database name no other session or xdist worker will pick: learnstore_<kind>_<worker>_<random>."""
    worker = re.sub(r"[^a-z0-9]", "", os.environ.get("PYTEST_XDIST_WORKER", "main").lower()) or "main"
    return f"learnstore_{kind}_{worker}_{secrets.token_hex(5)}"


def database_dsn(server_dsn: str, name: str) -> str:
    """The server DSN pointed at database `name`, keeping the URL form when it was given as a URL."""
    if server_dsn.startswith(("postgresql://", "postgres://")):
        return urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))
    return make_conninfo(server_dsn, dbname=name)


def _terminate(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        [name],
    )


def create_database(server_dsn: str, name: str, *, template: str | None = None) -> str:
    """CREATE DATABASE `name` (a copy of `template` if given) and return its DSN."""
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            # a leftover connection to the template (a migration tool's) makes the copy fail
            _terminate(conn, template)
            query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
        conn.execute(query)
    return database_dsn(server_dsn, name)


def drop_database(server_dsn: str, name: str) -> None:
    """Drop database `name` if it exists, ending the connections still open to it."""
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        _terminate(conn, name)
        force = sql.SQL(" WITH (FORCE)") if conn.info.server_version >= 130000 else sql.SQL("")
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(name), force))


@dataclass(frozen=True)
class Template:
    """A migrated database that test databases are copied from; nothing connects to it while tests run."""

    server_dsn: str
    name: str
    dsn: str


def create_template(
    server_dsn: str, *, migrations: Sequence[Path | None] = (None,), load: Sequence[Loader] = ()
) -> Template:
    """Create a template database, apply each migrations folder in order (None: learnstore's), then `load`."""
    from learnstore.migrate import upgrade

    name = unique_name("tpl")
    dsn = create_database(server_dsn, name)
    try:
        for folder in migrations:
            upgrade(dsn, migrations=folder)
        for step in load:
            if isinstance(step, Path):
                with psycopg.connect(dsn) as conn:
                    conn.execute(step.read_bytes())
            else:
                step(dsn)
    except BaseException:
        drop_database(server_dsn, name)
        raise
    return Template(server_dsn, name, dsn)


def clone_database(template: Template, kind: str = "db") -> tuple[str, str]:
    """Copy the template into a new database; return its name and DSN."""
    name = unique_name(kind)
    return name, create_database(template.server_dsn, name, template=template.name)


# ---- factories ----------------------------------------------------------------------------------


def learnstore_template_factory(
    server: str = "learnstore_server",
    *,
    migrations: Sequence[Path | None] = (None,),
    load: Sequence[Loader] = (),
) -> Callable[..., object]:
    """A session fixture giving a migrated Template on the server fixture named `server`.

    `migrations` are folders of yoyo migrations applied in order, None meaning learnstore's own;
    `load` are .sql files or callables (given the template's DSN) that run after them. Relative
    paths are relative to pytest's rootdir.
    """

    def template_fixture(request: pytest.FixtureRequest) -> Iterator[Template]:
        """The migrated template database; dropped at the end of the session."""
        found: Server = request.getfixturevalue(server)
        # the rootdir, not the working directory: the same conftest works wherever pytest is started
        root = request.config.rootpath
        folders = [None if folder is None else root / folder for folder in migrations]
        steps = [root / step if isinstance(step, Path) else step for step in load]
        template = create_template(found.dsn, migrations=folders, load=steps)
        try:
            yield template
        finally:
            drop_database(template.server_dsn, template.name)

    return pytest.fixture(scope="session")(template_fixture)


def learnstore_db_factory(
    template: str = "learnstore_template", *, scope: Scope = "function"
) -> Callable[..., object]:
    """A fixture of the given scope giving the DSN of a fresh copy of the template, dropped afterwards."""

    def db_fixture(request: pytest.FixtureRequest) -> Iterator[str]:
        """DSN of a fresh copy of the migrated template, dropped when the fixture's scope ends."""
        found: Template = request.getfixturevalue(template)
        bouncer = request.getfixturevalue("learnstore_pgbouncer")
        name, dsn = clone_database(found, {"session": "db", "function": "fresh"}.get(scope, scope))
        try:
            yield dsn if bouncer is None else bouncer.dsn(dsn)
        finally:
            drop_database(found.server_dsn, name)

    return pytest.fixture(scope=scope)(db_fixture)


def learnstore_conn_factory(db: str = "learnstore_dsn") -> Callable[..., object]:
    """A function fixture: a psycopg Connection to fixture `db`'s database, in a rolled-back transaction."""

    def conn_fixture(request: pytest.FixtureRequest) -> Iterator[psycopg.Connection[Any]]:
        """A connection inside a transaction that is rolled back after the test: nothing it writes stays."""
        dsn: str = request.getfixturevalue(db)
        with psycopg.connect(dsn) as conn, conn.transaction(force_rollback=True):
            yield conn

    return pytest.fixture(conn_fixture)


def learnstore_aconn_factory(db: str = "learnstore_dsn") -> Callable[..., object]:
    """Like learnstore_conn_factory, with a psycopg AsyncConnection (needs pytest-asyncio)."""

    async def aconn_fixture(request: pytest.FixtureRequest) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """An async connection inside a transaction that is rolled back after the test."""
        dsn: str = request.getfixturevalue(db)
        async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction(force_rollback=True):
            yield conn

    try:
        # pytest-asyncio's strict mode only runs async fixtures declared through its decorator
        decorate: Callable[..., Callable[..., object]] = importlib.import_module("pytest_asyncio").fixture
    except ImportError:
        decorate = pytest.fixture
    return decorate(aconn_fixture)


learnstore_template = learnstore_template_factory()
learnstore_dsn = learnstore_db_factory(scope="session")
fresh_db = learnstore_db_factory(scope="function")
db_conn = learnstore_conn_factory()
adb_conn = learnstore_aconn_factory()
