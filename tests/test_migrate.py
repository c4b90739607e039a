"""learnstore.migrate against real PostgreSQL: apply, roll back, fail, race, and refuse bad DSNs."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from learnstore import migrate
from learnstore.errors import Conflict, InvalidValue, Unavailable
from learnstore.migrate import ChangedMigrationError, MigrationError, MigrationState

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SCRIPT = Path(sys.executable).with_name("learnstore")


@pytest.fixture
def dsn() -> Iterator[str]:
    """A scratch database of its own for each test, dropped afterwards."""
    name = f"learnstore_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def write(folder: Path, migration_id: str, forward: str, backward: str) -> None:
    (folder / f"{migration_id}.sql").write_text(forward)
    (folder / f"{migration_id}.rollback.sql").write_text(backward)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three small migrations, each with its rollback."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    write(folder, "0001_courses", "CREATE TABLE courses (id int PRIMARY KEY);\n", "DROP TABLE courses;\n")
    write(
        folder,
        "0002_lessons",
        "-- two statements, one transaction\n"
        "CREATE TABLE lessons (id int PRIMARY KEY, course_id int REFERENCES courses);\n"
        "CREATE INDEX lessons_course_id_idx ON lessons (course_id);\n",
        "DROP INDEX lessons_course_id_idx;\nDROP TABLE lessons;\n",
    )
    write(folder, "0003_tags", "CREATE TABLE tags (name text PRIMARY KEY);\n", "DROP TABLE tags;\n")
    return folder


ALL = ["0001_courses", "0002_lessons", "0003_tags"]


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '%yoyo%'"
        ).fetchall()
    return {row[0] for row in rows}


def applied(dsn: str, folder: Path) -> list[str]:
    return [state.id for state in migrate.status(dsn, migrations=folder) if state.applied]


def apply_log(dsn: str) -> list[str]:
    """Every 'apply' yoyo has logged, in order: a migration applied twice shows up twice."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT migration_id FROM _yoyo_log WHERE operation = 'apply' ORDER BY created_at_utc"
        ).fetchall()
    return [row[0] for row in rows]


# --- upgrade and status ---------------------------------------------------------------------------


def test_upgrade_applies_pending_migrations_in_order_and_reports_each(dsn: str, folder: Path) -> None:
    events: list[tuple[str, str]] = []

    assert migrate.upgrade(dsn, migrations=folder, on_progress=lambda e, m: events.append((e, m))) == ALL

    assert tables(dsn) == {"courses", "lessons", "tags"}
    assert events == [(event, m) for m in ALL for event in ("applying", "applied")]
    assert migrate.upgrade(dsn, migrations=folder) == []
    assert apply_log(dsn) == ALL


def test_upgrade_applies_only_what_is_new(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)
    write(folder, "0004_media", "CREATE TABLE media (id int);\n", "DROP TABLE media;\n")

    assert migrate.upgrade(dsn, migrations=folder) == ["0004_media"]
    assert "media" in tables(dsn)


def test_dry_run_lists_pending_and_changes_nothing(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)
    migrate.rollback(dsn, migrations=folder, steps=2)

    assert migrate.upgrade(dsn, migrations=folder, dry_run=True) == ["0002_lessons", "0003_tags"]

    assert tables(dsn) == {"courses"}
    assert applied(dsn, folder) == ["0001_courses"]


def test_status_of_a_fresh_database_is_all_pending_and_writes_nothing(dsn: str, folder: Path) -> None:
    assert migrate.status(dsn, migrations=folder) == [MigrationState(m, False, None) for m in ALL]
    with psycopg.connect(dsn) as conn:
        count = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert count == (0,)


def test_status_gives_when_each_migration_was_applied(dsn: str, folder: Path) -> None:
    before = datetime.now(UTC)
    migrate.upgrade(dsn, migrations=folder)
    after = datetime.now(UTC)
    migrate.rollback(dsn, migrations=folder)

    states = migrate.status(dsn, migrations=folder)

    assert [(s.id, s.applied) for s in states] == [(m, m != "0003_tags") for m in ALL]
    for state in states[:2]:
        assert state.applied_at is not None
        assert before <= state.applied_at <= after
    assert states[2].applied_at is None


# --- rollback --------------------------------------------------------------------------------------


def test_rollback_undoes_the_last_migration_by_default(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)
    events: list[tuple[str, str]] = []

    assert migrate.rollback(dsn, migrations=folder, on_progress=lambda e, m: events.append((e, m))) == [
        "0003_tags"
    ]

    assert tables(dsn) == {"courses", "lessons"}
    assert events == [("rolling back", "0003_tags"), ("rolled back", "0003_tags")]


def test_rollback_steps_undoes_newest_first(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)

    assert migrate.rollback(dsn, migrations=folder, steps=2) == ["0003_tags", "0002_lessons"]
    assert applied(dsn, folder) == ["0001_courses"]
    assert tables(dsn) == {"courses"}


def test_rollback_to_a_revision_keeps_that_revision(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)

    assert migrate.rollback(dsn, migrations=folder, to="0001") == ["0003_tags", "0002_lessons"]
    assert applied(dsn, folder) == ["0001_courses"]
    assert migrate.rollback(dsn, migrations=folder, to="0001_courses") == []


def test_rollback_to_an_unknown_or_unapplied_revision_is_refused(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)
    migrate.rollback(dsn, migrations=folder)

    with pytest.raises(InvalidValue, match="no migration '0009'"):
        migrate.rollback(dsn, migrations=folder, to="0009")
    with pytest.raises(InvalidValue, match="matches several"):
        migrate.rollback(dsn, migrations=folder, to="000")
    with pytest.raises(MigrationError, match="0003_tags: it is not applied"):
        migrate.rollback(dsn, migrations=folder, to="0003")
    with pytest.raises(InvalidValue, match="at least 1"):
        migrate.rollback(dsn, migrations=folder, steps=0)
    assert applied(dsn, folder) == ["0001_courses", "0002_lessons"]


def test_rollback_all_then_upgrade_again(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)

    assert migrate.rollback(dsn, migrations=folder, steps=None) == list(reversed(ALL))
    assert tables(dsn) == set()
    assert migrate.rollback(dsn, migrations=folder, steps=None) == []

    assert migrate.upgrade(dsn, migrations=folder) == ALL
    assert tables(dsn) == {"courses", "lessons", "tags"}


def test_rollback_dry_run_changes_nothing(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)

    assert migrate.rollback(dsn, migrations=folder, steps=None, dry_run=True) == list(reversed(ALL))
    assert applied(dsn, folder) == ALL


# --- failures leave nothing half-done -------------------------------------------------------------


def test_a_migration_failing_midway_leaves_none_of_it_applied(dsn: str, folder: Path) -> None:
    write(
        folder,
        "0004_broken",
        "CREATE TABLE reviews (id int);\nINSERT INTO reviews VALUES (1);\nSELECT 1 / 0;\n",
        "DROP TABLE reviews;\n",
    )

    with pytest.raises(MigrationError, match=r"^apply of migration 0004_broken failed .*: division by zero$"):
        migrate.upgrade(dsn, migrations=folder)

    # The migrations before it are applied, each in its own transaction; none of 0004 is.
    assert applied(dsn, folder) == ALL
    assert "reviews" not in tables(dsn)

    write(folder, "0004_broken", "CREATE TABLE reviews (id int);\n", "DROP TABLE reviews;\n")
    assert migrate.upgrade(dsn, migrations=folder) == ["0004_broken"]


def test_a_failing_rollback_leaves_the_migration_applied(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)
    (folder / "0003_tags.rollback.sql").write_text("DROP TABLE tags;\nDROP TABLE no_such_table;\n")

    with pytest.raises(MigrationError, match="rollback of migration 0003_tags failed"):
        migrate.rollback(dsn, migrations=folder)

    assert applied(dsn, folder) == ALL
    assert "tags" in tables(dsn)


def test_a_migration_timing_out_is_its_own_failure_not_an_outage(dsn: str, folder: Path) -> None:
    write(
        folder,
        "0004_too_slow",
        "SET LOCAL statement_timeout = '50ms';\nSELECT pg_sleep(2);\n",
        "SELECT 1;\n",
    )

    with pytest.raises(MigrationError, match=r"0004_too_slow failed .*statement timeout"):
        migrate.upgrade(dsn, migrations=folder)
    assert applied(dsn, folder) == ALL


def test_rolling_back_a_migration_without_a_rollback_file_is_refused_up_front(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)
    (folder / "0002_lessons.rollback.sql").unlink()

    with pytest.raises(MigrationError, match=r"cannot roll back 0002_lessons: no \.rollback\.sql file"):
        migrate.rollback(dsn, migrations=folder, steps=2)

    assert applied(dsn, folder) == ALL  # not even 0003, which could have been rolled back
    assert migrate.rollback(dsn, migrations=folder) == ["0003_tags"]


def test_rows_a_migration_selects_are_not_printed(
    dsn: str, folder: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    write(folder, "0004_report", "SELECT 'hello from 0004' AS greeting;\n", "SELECT 'bye' AS farewell;\n")

    migrate.upgrade(dsn, migrations=folder)
    migrate.rollback(dsn, migrations=folder)

    assert capfd.readouterr() == ("", "")


def test_a_non_transactional_migration_runs_outside_a_transaction(dsn: str, folder: Path) -> None:
    # CREATE INDEX CONCURRENTLY refuses to run in a transaction block.
    write(
        folder,
        "0004_concurrent_index",
        "-- transactional: false\nCREATE INDEX CONCURRENTLY tags_name_idx ON tags (name);\nSELECT 1;\n",
        "DROP INDEX CONCURRENTLY tags_name_idx;\n",
    )

    assert migrate.upgrade(dsn, migrations=folder) == [*ALL, "0004_concurrent_index"]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('tags_name_idx') IS NOT NULL").fetchone() == (True,)
    assert migrate.rollback(dsn, migrations=folder) == ["0004_concurrent_index"]
    assert applied(dsn, folder) == ALL


def test_a_migration_that_changes_search_path_is_still_recorded(dsn: str, folder: Path) -> None:
    # pg_dump output sets search_path; yoyo's bookkeeping tables must still be found afterwards.
    write(
        folder,
        "0004_private",
        "CREATE SCHEMA private;\nSET search_path = private;\nCREATE TABLE secrets (id int);\n",
        "DROP TABLE private.secrets;\nDROP SCHEMA private;\n",
    )

    assert migrate.upgrade(dsn, migrations=folder)[-1] == "0004_private"

    assert applied(dsn, folder) == [*ALL, "0004_private"]
    assert migrate.rollback(dsn, migrations=folder) == ["0004_private"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False)


def test_a_learnstore_migrate_killed_mid_migration_leaves_the_previous_revision_and_the_next_run_finishes(
    dsn: str, folder: Path
) -> None:
    migrate.upgrade(dsn, migrations=folder)
    write(
        folder,
        "0004_slow",
        "CREATE TABLE slow (id int);\nINSERT INTO slow VALUES (1);\nSELECT pg_sleep(60);\n",
        "DROP TABLE slow;\n",
    )
    child = subprocess.Popen([str(SCRIPT), "--dsn", dsn, "--migrations", str(folder), "migrate"])
    try:
        wait_for(lambda: sleeping(dsn))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    # The runner asked PostgreSQL to watch for its death (client_connection_check_interval): the
    # backend stops sleeping and rolls the half-done migration back within a second or so.
    wait_for(lambda: not sleeping(dsn), timeout=10)
    assert applied(dsn, folder) == ALL
    assert "slow" not in tables(dsn)
    # yoyo's lock row outlived the process; the next run knows its migrator is gone, removes it, says
    # so, and finishes.
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone() == (1,)
    (folder / "0004_slow.sql").write_text("CREATE TABLE slow (id int);\n")
    done = cli("--dsn", dsn, "--migrations", str(folder), "migrate")
    assert done.returncode == 0, done.stderr
    assert "removed the lock of a migration run that died (taken by process" in done.stderr
    assert "applying 0004_slow ... ok" in done.stdout
    assert applied(dsn, folder) == [*ALL, "0004_slow"]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone() == (0,)


def take_yoyo_lock(dsn: str, pid: int = 424242) -> None:
    """A lock row as a plain yoyo client that crashed would leave it."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO yoyo_lock (locked, ctime, pid) VALUES (1, now() AT TIME ZONE 'UTC', %s)", [pid]
        )


def test_a_lock_a_plain_yoyo_client_left_is_reported_and_break_lock_removes_it(
    dsn: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(dsn, migrations=folder)
    write(folder, "0004_media", "CREATE TABLE media (id int);\n", "DROP TABLE media;\n")
    take_yoyo_lock(dsn)
    monkeypatch.setattr(migrate, "YOYO_LOCK_TIMEOUT", 0.5)
    with pytest.raises(Conflict, match=r"not by a learnstore migrator.*run `learnstore break-lock`"):
        migrate.upgrade(dsn, migrations=folder)
    assert applied(dsn, folder) == ALL

    broken = cli("--dsn", dsn, "break-lock")
    assert broken.returncode == 0, broken.stderr
    assert broken.stdout.startswith("removed the migration lock taken by process 424242 at ")
    assert cli("--dsn", dsn, "break-lock").stdout == "no migration lock to break\n"
    assert migrate.upgrade(dsn, migrations=folder) == ["0004_media"]


def test_break_lock_refuses_while_a_migration_is_running(dsn: str, folder: Path) -> None:
    write(folder, "0004_slow", "SELECT pg_sleep(60);\n", "SELECT 1;\n")

    def run() -> None:
        with pytest.raises(MigrationError, match="canceling statement due to user request"):
            migrate.upgrade(dsn, migrations=folder)

    runner = threading.Thread(target=run)
    runner.start()
    try:
        wait_for(lambda: sleeping(dsn))
        refused = cli("--dsn", dsn, "break-lock")
        assert refused.returncode == 1
        assert "a learnstore migration is running on this database (PostgreSQL backend" in refused.stderr
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone() == (1,)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND strpos(query, 'pg_sleep(60)') > 0"
                " AND pid <> pg_backend_pid()"
            )
        runner.join(30)


# --- checksums -----------------------------------------------------------------------------------


def test_migrate_refuses_a_migration_file_changed_after_it_was_applied(dsn: str, folder: Path) -> None:
    migrate.upgrade(dsn, migrations=folder)
    write(folder, "0004_media", "CREATE TABLE media (id int);\n", "DROP TABLE media;\n")
    original = (folder / "0002_lessons.sql").read_text()
    (folder / "0002_lessons.sql").write_text(original + "ALTER TABLE lessons ADD COLUMN title text;\n")

    with pytest.raises(ChangedMigrationError, match=r"migration 0002_lessons changed after it was applied"):
        migrate.upgrade(dsn, migrations=folder)
    refused = cli("--dsn", dsn, "--migrations", str(folder), "migrate")
    assert refused.returncode == 1
    assert "0002_lessons changed after it was applied" in refused.stderr
    assert "new migration" in refused.stderr
    assert applied(dsn, folder) == ALL and "media" not in tables(dsn)

    (folder / "0002_lessons.sql").write_text(original)
    assert migrate.upgrade(dsn, migrations=folder) == ["0004_media"]


def test_checksums_are_recorded_with_each_migration_and_forgotten_on_rollback(dsn: str, folder: Path) -> None:
    def recorded() -> dict[str, str]:
        with psycopg.connect(dsn) as conn:
            return dict(conn.execute("SELECT migration_id, sha256 FROM _yoyo_learnstore_checksum").fetchall())

    migrate.upgrade(dsn, migrations=folder)
    assert recorded() == {m: hashlib.sha256((folder / f"{m}.sql").read_bytes()).hexdigest() for m in ALL}
    migrate.rollback(dsn, migrations=folder)
    assert set(recorded()) == set(ALL[:-1])
    # A database migrated before checksums were kept has them recorded, as the files are, on first run.
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM _yoyo_learnstore_checksum")
    assert migrate.upgrade(dsn, migrations=folder) == ["0003_tags"]
    assert set(recorded()) == set(ALL)


def sleeping(dsn: str) -> bool:
    """Whether some session on this database is inside 0004_slow's pg_sleep."""
    return sleeping_in(dsn, "pg_sleep(60)")


def sleeping_in(dsn: str, call: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state = 'active' AND strpos(query, %s) > 0",
            (call,),
        ).fetchone()
    return row is not None and row[0] > 0


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- concurrency -----------------------------------------------------------------------------------


@pytest.fixture
def slow_folder(folder: Path) -> Path:
    """The three migrations, the first slow enough that two runs surely overlap."""
    write(
        folder,
        "0001_courses",
        "CREATE TABLE courses (id int PRIMARY KEY);\nSELECT pg_sleep(0.3);\n",
        "DROP TABLE courses;\n",
    )
    return folder


@pytest.mark.parametrize("round_", range(3))
def test_two_concurrent_upgrades_in_threads_apply_each_migration_once(
    dsn: str, slow_folder: Path, round_: int
) -> None:
    barrier = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(migrate.upgrade(dsn, migrations=slow_folder))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sorted(results) == [[], ALL]
    assert apply_log(dsn) == ALL


def test_a_second_upgrade_waits_for_a_long_first_one_instead_of_timing_out(
    dsn: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # yoyo alone gives up on its lock row after a timeout, so a long migration would fail a second
    # migrator; the advisory lock makes the second one wait for the first, however long it takes.
    monkeypatch.setattr(migrate, "YOYO_LOCK_TIMEOUT", 0.2)
    write(folder, "0004_long", "SELECT pg_sleep(1.5);\n", "SELECT 1;\n")
    events: list[tuple[str, str]] = []
    first = threading.Thread(target=migrate.upgrade, args=(dsn,), kwargs={"migrations": folder})
    first.start()
    wait_for(lambda: sleeping_in(dsn, "pg_sleep(1.5)"))

    second = migrate.upgrade(dsn, migrations=folder, on_progress=lambda e, m: events.append((e, m)))
    first.join(30)

    assert second == []
    assert events == [("waiting", "")]
    assert apply_log(dsn) == [*ALL, "0004_long"]


CHILD = """
import json, sys, time
from pathlib import Path
from learnstore import migrate
start = float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
print(json.dumps(migrate.upgrade(sys.argv[1], migrations=Path(sys.argv[2]))))
"""


def test_two_concurrent_upgrades_in_processes_apply_each_migration_once(dsn: str, slow_folder: Path) -> None:
    start = time.time() + 2.0  # both children are up by then, so both start at the same moment
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, dsn, str(slow_folder), repr(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=60) for child in children]

    assert [child.returncode for child in children] == [0, 0], outputs
    assert sorted(json.loads(out) for out, _ in outputs) == [[], ALL]
    assert apply_log(dsn) == ALL


# --- connection strings and failures ---------------------------------------------------------------


def test_keyword_dsns_and_socket_directory_hosts_are_accepted(dsn: str, folder: Path) -> None:
    name = dsn.rsplit("/", 1)[1]
    assert migrate.upgrade(f"host=127.0.0.1 port=5432 user=postgres dbname={name}", migrations=folder) == ALL
    socket_dir = "/var/run/postgresql"
    if not Path(socket_dir, ".s.PGSQL.5432").exists():
        pytest.skip("no local socket for the 5432 server")
    url = f"postgresql://postgres:@/{name}?host={socket_dir}"
    assert migrate.rollback(url, migrations=folder) == ["0003_tags"]
    assert migrate.upgrade(f"postgresql+psycopg://postgres@127.0.0.1/{name}", migrations=folder) == [
        "0003_tags"
    ]


def test_yoyo_url_names_the_psycopg3_driver_and_keeps_every_parameter() -> None:
    url = migrate.yoyo_url("postgresql://me:p%40ss@/db?host=/tmp/sock&sslmode=disable")

    assert url.startswith("postgresql+psycopg://?")
    assert "host=%2Ftmp%2Fsock" in url
    assert "password=p%40ss" in url
    assert "sslmode=disable" in url
    assert "connect_timeout=10" in url


@pytest.mark.parametrize(
    ("bad_dsn", "expected"),
    [
        ("postgresql://postgres:s3cret@127.0.0.1:1/postgres", "Connection refused"),
        ("host=127.0.0.1 user=postgres password=s3cret dbname=learnstore_no_such_db", "does not exist"),
        ("postgresql://no_such_role:s3cret@127.0.0.1:5432/postgres", 'role "no_such_role" does not exist'),
        ("host=/no/such/dir user=postgres password=s3cret", "No such file or directory"),
        ("not a dsn s3cret", "invalid DSN"),
        ("postgresql://postgres:s3cret@127.0.0.1:5432/postgres?nonsense=1", "invalid DSN"),
    ],
)
def test_connection_failures_become_one_clean_unavailable_line(
    bad_dsn: str, expected: str, folder: Path
) -> None:
    for call in (migrate.upgrade, migrate.rollback, migrate.status):
        with pytest.raises(Unavailable) as caught:
            call(bad_dsn, migrations=folder)
        message = caught.value.message
        assert expected in message
        assert "\n" not in message
        assert "s3cret" not in message
        assert "Traceback" not in message
        assert "yoyo" not in message


def test_a_missing_migrations_folder_is_a_clear_error(dsn: str, tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="no migrations folder at"):
        migrate.upgrade(dsn, migrations=tmp_path / "nowhere")


# --- new -------------------------------------------------------------------------------------------


def test_new_creates_the_next_numbered_pair_with_the_schema_reminder(dsn: str, folder: Path) -> None:
    forward, backward = migrate.new("add_course_slug", migrations=folder)

    assert (forward.name, backward.name) == ("0004_add_course_slug.sql", "0004_add_course_slug.rollback.sql")
    assert "sql/schema/" in forward.read_text()
    assert "sql/schema/" in backward.read_text()
    # A fresh pair is a valid, empty migration until someone writes it.
    assert migrate.upgrade(dsn, migrations=folder)[-1] == "0004_add_course_slug"
    assert migrate.new("next_one", migrations=folder)[0].name == "0005_next_one.sql"


def test_new_in_an_empty_folder_starts_at_0001(tmp_path: Path) -> None:
    forward, _ = migrate.new("baseline", migrations=tmp_path / "fresh")
    assert forward.name == "0001_baseline.sql"


@pytest.mark.parametrize("name", ["AddSlug", "add-slug", "1st", "add__slug", "_x", "", "x" * 61, "a b"])
def test_new_refuses_names_that_are_not_snake_case(name: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidValue, match="snake_case"):
        migrate.new(name, migrations=tmp_path)
    assert list(tmp_path.iterdir()) == []
