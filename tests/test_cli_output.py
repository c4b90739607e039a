"""The CLI for scripts and people: `--json` for status and migrate, tables coloured only on a terminal,
and `learnstore doctor`'s pass/fail lines and exit codes, on real databases."""

from __future__ import annotations

import io
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from learnstore import migrate
from learnstore._console import Output
from learnstore.cli import main

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ALL = ["0001_courses", "0002_lessons", "0003_tags"]


@pytest.fixture
def dsn(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv("LEARNSTORE_DSN", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    name = f"learnstore_test_cli_{uuid.uuid4().hex[:12]}"
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


class Terminal(io.StringIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def applied(dsn: str, folder: Path) -> list[str]:
    return [state.id for state in migrate.status(dsn, migrations=folder) if state.applied]


# --- --json ------------------------------------------------------------------------------------


def test_status_json_lists_every_migration(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(dsn, migrations=folder)
    migrate.rollback(dsn, migrations=folder)

    code, out, err = run(capsys, "status", "--json", "--dsn", dsn, "--migrations", str(folder))

    assert (code, err) == (0, "")
    found = json.loads(out)
    assert [(m["id"], m["applied"]) for m in found["migrations"]] == [
        ("0001_courses", True),
        ("0002_lessons", True),
        ("0003_tags", False),
    ]
    assert found["migrations"][0]["applied_at"].endswith("+00:00")
    assert found["migrations"][2]["applied_at"] is None
    assert (found["applied"], found["pending"]) == (2, 1)


def test_migrate_dry_run_json_lists_and_changes_nothing(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "migrate", "--dry-run", "--json", "--dsn", dsn, "--migrations", str(folder))

    assert code == 0
    assert json.loads(out) == {"dry_run": True, "would_apply": ALL}
    assert applied(dsn, folder) == []

    code, out, _ = run(capsys, "migrate", "--json", "--dsn", dsn, "--migrations", str(folder))
    assert (code, json.loads(out)) == (0, {"dry_run": False, "applied": ALL})  # no progress lines
    assert applied(dsn, folder) == ALL


# --- colours only on a terminal ---------------------------------------------------------------------


def test_status_is_coloured_on_a_terminal_and_plain_in_a_pipe(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(dsn, migrations=folder)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["status", "--dsn", dsn, "--migrations", str(folder)]) == 0
    shown = terminal.getvalue()
    assert "\x1b[" in shown  # ANSI colours
    assert "0003_tags" in shown and "3 applied, 0 pending" in shown

    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["status", "--dsn", dsn, "--migrations", str(folder)]) == 0
    assert "\x1b[" not in terminal.getvalue() and "0003_tags" in terminal.getvalue()

    monkeypatch.undo()
    code, out, _ = run(capsys, "status", "--dsn", dsn, "--migrations", str(folder))
    assert code == 0 and "\x1b[" not in out


def test_a_terminal_gets_rich_tables_and_a_pipe_plain_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal, pipe = Terminal(), io.StringIO()
    for out in (Output(terminal), Output(pipe)):
        out.table(("course", "rating"), [("SQL", "4.5")], styles=["green"])
    assert Output(terminal).rich and not Output(pipe).rich
    assert "─" in terminal.getvalue() and "\x1b[" in terminal.getvalue()
    assert pipe.getvalue().splitlines() == ["course  rating", "------  ------", "SQL     4.5"]


# --- doctor ------------------------------------------------------------------------------------


def doctor(capsys: pytest.CaptureFixture[str], dsn: str, *extra: str) -> tuple[int, dict[str, str]]:
    code, out, err = run(capsys, "doctor", "--dsn", dsn, *extra)
    assert err == ""
    lines = {}
    for line in out.splitlines()[:-1]:
        outcome, rest = line.split("  ", 1)
        name, detail = rest.split(": ", 1)
        lines[name] = f"{outcome} {detail}"
    return code, lines


def test_doctor_passes_on_a_migrated_database(dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    migrate.upgrade(dsn)

    code, lines = doctor(capsys, dsn)

    assert code == 0
    assert list(lines) == [
        "connection",
        "server version",
        "extensions",
        "migrations",
        "migration checksums",
        "migration lock",
        "row-level security",
        "derived state",
        "replicas",
        "partitioned logs",
    ]
    assert lines["server version"].startswith("PASS PostgreSQL ")
    assert lines["migrations"].startswith("PASS all ")
    assert lines["migration lock"] == "PASS free"
    assert lines["migration checksums"].startswith("PASS ")
    assert (
        lines["row-level security"].startswith("PASS ")
        and "role learnstore_app" in lines["row-level security"]
    )


def test_doctor_fails_with_pending_migrations_and_exits_1(
    dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = doctor(capsys, dsn)

    assert code == 1
    assert lines["migrations"].startswith("FAIL ")
    assert "pending: 0001_baseline" in lines["migrations"]
    assert capsys.readouterr().out == ""  # (doctor() read it all)


def test_doctor_finds_a_stale_lock_and_rls_without_policies(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(dsn, migrations=folder)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS yoyo_lock (locked int PRIMARY KEY, ctime timestamp, pid int)"
        )
        conn.execute("INSERT INTO yoyo_lock VALUES (1, now(), 4242)")
        conn.execute("ALTER TABLE courses ENABLE ROW LEVEL SECURITY")

    code, lines = doctor(capsys, dsn, "--migrations", str(folder))

    assert code == 1
    assert lines["migration lock"].startswith("FAIL held by pid 4242")
    assert lines["row-level security"] == "FAIL enabled without a policy (only the owner sees rows): courses"

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM yoyo_lock")
        conn.execute("CREATE POLICY courses_read ON courses FOR SELECT TO PUBLIC USING (true)")
    code, lines = doctor(capsys, dsn, "--migrations", str(folder))
    assert code == 0
    assert lines["row-level security"].startswith("PASS 1 table(s) with policies")


def test_doctor_fails_on_a_migration_file_changed_after_it_was_applied(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(dsn, migrations=folder)
    first = folder / "0001_courses.sql"
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")

    code, lines = doctor(capsys, dsn, "--migrations", str(folder))

    assert code == 1
    assert lines["migration checksums"].startswith("FAIL changed after they were applied: 0001_")


def test_doctor_checks_the_extensions_the_migrations_create(
    dsn: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "0004_trigrams.sql").write_text("CREATE EXTENSION IF NOT EXISTS pg_trgm;\n")
    (folder / "0004_trigrams.rollback.sql").write_text("DROP EXTENSION pg_trgm;\n")

    code, lines = doctor(capsys, dsn, "--migrations", str(folder))
    assert code == 1
    assert lines["extensions"] == "FAIL not installed yet: pg_trgm (learnstore migrate installs them)"

    (folder / "0005_nope.sql").write_text('CREATE EXTENSION "no_such_extension_x";\n')
    (folder / "0005_nope.rollback.sql").write_text("SELECT 1;\n")
    code, lines = doctor(capsys, dsn, "--migrations", str(folder))
    assert lines["extensions"] == "FAIL not available on this server: no_such_extension_x"

    (folder / "0005_nope.sql").unlink()
    (folder / "0005_nope.rollback.sql").unlink()
    migrate.upgrade(dsn, migrations=folder)
    code, lines = doctor(capsys, dsn, "--migrations", str(folder))
    assert (code, lines["extensions"]) == (0, "PASS installed: pg_trgm")


def test_doctor_on_an_unreachable_server_is_one_failed_line_and_json_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = "postgresql://postgres@127.0.0.1:1/x"
    code, lines = doctor(capsys, bad)
    assert code == 1
    assert list(lines) == ["connection"] and lines["connection"].startswith("FAIL cannot connect")

    code, out, _ = run(capsys, "doctor", "--json", "--dsn", bad)
    assert code == 1
    found = json.loads(out)
    assert found["ok"] is False
    assert found["checks"][0]["outcome"] == "fail"


def test_the_progress_bar_draws_on_a_terminal_and_logs_phases_in_a_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = Terminal()
    with Output(terminal).progress("loading") as bar:
        bar.set_total(10)
        bar.advance(4, "users")
        bar.advance(6, "courses")
    assert "10/10" in terminal.getvalue() and "━" in terminal.getvalue()

    pipe = io.StringIO()
    with Output(pipe).progress("loading") as bar:
        bar.set_total(10)
        bar.advance(4, "users")
        bar.advance(6, "users")
    assert pipe.getvalue().splitlines() == ["loading", "  users", "  10 of 10 rows"]
