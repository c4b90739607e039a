"""Migrations on a live database, against real PostgreSQL: bounded lock waits with retries and the
blocker named, squawk in CI, the safe template, a cancelled concurrent index build, a migration under
32 concurrent callers, and `migrate --plan` checked against the locks PostgreSQL really takes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

import learnstore
from learnstore import migrate
from learnstore._resources import migrations_dir
from learnstore.errors import Contention, InvalidValue, LearnstoreError
from learnstore.migrate import MigrationError
from learnstore.migrate_plan import plan
from learnstore.pytest_plugin import Template, clone_database, drop_database

# tools/ is a folder of scripts at the top of the checkout, not part of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.lint_migrations import lint

FIXTURES = Path(__file__).parent / "fixtures" / "live_migrations"
NICKNAME = ["9001_users_nickname", "9002_users_nickname_index", "9003_users_nickname_validate"]
SCRIPT = Path(sys.executable).with_name("learnstore")


def folder_with(tmp_path: Path, *fixtures: str, extra: dict[str, str] | None = None) -> Path:
    """learnstore's migrations, plus the named fixture migrations, plus `extra` files."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), folder)
    for name in fixtures:
        for suffix in (".sql", ".rollback.sql"):
            shutil.copy(FIXTURES / f"{name}{suffix}", folder)
    for name, text in (extra or {}).items():
        (folder / name).write_text(text)
    return folder


def one(dsn: str, query: str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(query.encode(), params).fetchone()
    return None if row is None else row[0]


def applied(dsn: str, folder: Path) -> list[str]:
    return [s.id for s in migrate.status(dsn, migrations=folder) if s.applied]


@contextmanager
def blocker(
    dsn: str, sql: str = "SELECT count(*) FROM users"
) -> Iterator[tuple[psycopg.Connection[Any], int]]:
    """A session that ran `sql` in a transaction it keeps open: it holds that statement's table lock
    until the caller rolls it back (or the block ends). Yields the connection and its backend pid."""
    with psycopg.connect(dsn, application_name="long report") as conn:
        conn.execute(sql.encode())
        try:
            yield conn, conn.info.backend_pid
        finally:
            with suppress(psycopg.Error):  # it may have been ended from outside
                conn.rollback()


# --- 1. every wait bounded --------------------------------------------------------------------------

ADD_COLUMN = {
    "9001_users_nickname.sql": "ALTER TABLE users ADD COLUMN nickname text;\n",
    "9001_users_nickname.rollback.sql": "ALTER TABLE users DROP COLUMN nickname;\n",
}


def test_a_migration_behind_a_long_transaction_is_retried_then_fails_naming_the_blocker(
    fresh_db: str, tmp_path: Path
) -> None:
    folder = folder_with(tmp_path, extra=ADD_COLUMN)
    events: list[str] = []
    with blocker(fresh_db) as (_, pid), pytest.raises(MigrationError) as raised:
        migrate.upgrade(
            fresh_db,
            migrations=folder,
            lock_timeout=0.2,
            lock_retries=2,
            on_progress=lambda event, _id: events.append(event),
        )

    message = raised.value.message
    assert "9001_users_nickname gave up after 3 attempt(s), each waiting 0.2 s for a lock" in message
    assert f"PostgreSQL process {pid} (idle in transaction, application 'long report'" in message
    assert "SELECT count(*) FROM users" in message
    assert "the database is at the previous revision" in message
    assert events.count("lock timeout") == 2
    assert "9001_users_nickname" not in applied(fresh_db, folder)
    assert (
        one(
            fresh_db,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'nickname'",
        )
        == 0
    )


def test_a_lock_released_between_retries_lets_the_migration_through(fresh_db: str, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, extra=ADD_COLUMN)
    with blocker(fresh_db) as (conn, _):

        def progress(event: str, _id: str) -> None:
            if event == "lock timeout":
                conn.rollback()  # the long report ends while the migration backs off

        assert migrate.upgrade(
            fresh_db, migrations=folder, lock_timeout=0.2, lock_retries=3, on_progress=progress
        ) == ["9001_users_nickname"]
    assert one(fresh_db, "SELECT count(*) FROM users WHERE nickname IS NULL") == 0  # the column is there


RECORD_SETTINGS = (
    "CREATE TABLE seen_{n} AS SELECT current_setting('lock_timeout') AS lock_timeout,"
    " current_setting('statement_timeout') AS statement_timeout;\n"
)


def seen(dsn: str, n: int) -> tuple[str, str]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT lock_timeout, statement_timeout FROM seen_{n}".encode()).fetchone()
    assert row is not None
    return row[0], row[1]


def test_each_migration_runs_with_the_given_the_environment_or_the_default_timeouts(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = folder_with(tmp_path)
    for n, header in enumerate(["", "-- statement_timeout: off\n", "-- transactional: false\n"]):
        (folder / f"900{n}_seen.sql").write_text(header + RECORD_SETTINGS.format(n=n))
        (folder / f"900{n}_seen.rollback.sql").write_text(f"DROP TABLE seen_{n};\n")

    migrate.upgrade(fresh_db, migrations=folder, lock_timeout=0.25, statement_timeout=90)
    assert seen(fresh_db, 0) == ("250ms", "90s")
    assert seen(fresh_db, 1) == ("250ms", "0")  # declared in its header: no limit
    assert seen(fresh_db, 2) == ("250ms", "90s")  # not transactional: set on its session

    migrate.rollback(fresh_db, migrations=folder, steps=3)
    monkeypatch.setenv("LEARNSTORE_LOCK_TIMEOUT", "1500ms")
    monkeypatch.setenv("LEARNSTORE_STATEMENT_TIMEOUT", "2min")
    migrate.upgrade(fresh_db, migrations=folder)
    assert seen(fresh_db, 0) == ("1500ms", "2min")

    migrate.rollback(fresh_db, migrations=folder, steps=3)
    monkeypatch.delenv("LEARNSTORE_LOCK_TIMEOUT")
    monkeypatch.delenv("LEARNSTORE_STATEMENT_TIMEOUT")
    migrate.upgrade(fresh_db, migrations=folder)
    assert seen(fresh_db, 0) == ("3s", "5min")


def test_a_statement_past_the_statement_timeout_fails_unless_its_migration_declares_it_long(
    fresh_db: str, tmp_path: Path
) -> None:
    folder = folder_with(
        tmp_path, extra={"9001_slow.sql": "SELECT pg_sleep(0.6);\n", "9001_slow.rollback.sql": "SELECT 1;\n"}
    )
    with pytest.raises(MigrationError, match=r"9001_slow failed .*statement timeout"):
        migrate.upgrade(fresh_db, migrations=folder, statement_timeout=0.2)

    (folder / "9001_slow.sql").write_text("-- statement_timeout: 5s\nSELECT pg_sleep(0.6);\n")
    assert migrate.upgrade(fresh_db, migrations=folder, statement_timeout=0.2) == ["9001_slow"]


@pytest.mark.parametrize(
    ("given", "env", "match"),
    [
        ({"lock_timeout": 0}, {}, "lock_timeout must be more than 0"),
        ({"lock_retries": -1}, {}, "lock_retries must be a non-negative whole number"),
        (
            {},
            {"LEARNSTORE_LOCK_TIMEOUT": "soon"},
            r"lock_timeout \(\$LEARNSTORE_LOCK_TIMEOUT\) must be a duration",
        ),
        (
            {},
            {"LEARNSTORE_STATEMENT_TIMEOUT": "-3"},
            r"statement_timeout \(\$LEARNSTORE_STATEMENT_TIMEOUT\) must be",
        ),
    ],
)
def test_bad_limits_are_refused_naming_the_setting_before_anything_runs(
    fresh_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    given: dict[str, Any],
    env: dict[str, str],
    match: str,
) -> None:
    folder = folder_with(tmp_path, extra=ADD_COLUMN)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InvalidValue, match=match):
        migrate.upgrade(fresh_db, migrations=folder, **given)
    assert "9001_users_nickname" not in applied(fresh_db, folder)


def test_the_cli_takes_the_limits_and_reports_the_blocker(fresh_db: str, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, extra=ADD_COLUMN)
    bad = subprocess.run(
        [str(SCRIPT), "--dsn", fresh_db, "migrate", "--migrations", str(folder), "--lock-timeout", "soon"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (bad.returncode, bad.stderr.strip()) == (
        1,
        "learnstore: error: --lock-timeout must be a duration such as 3, 2.5s, 500ms, 5min or off,"
        " not 'soon'",
    )
    with blocker(fresh_db) as (_, pid):
        done = subprocess.run(
            [
                str(SCRIPT),
                "--dsn",
                fresh_db,
                "migrate",
                "--migrations",
                str(folder),
                "--lock-timeout",
                "200ms",
                "--lock-retries",
                "1",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 1
    assert "waited for a lock; rolled back, retrying ..." in done.stdout
    assert (
        f"gave up after 2 attempt(s), each waiting 0.2 s for a lock: blocked by PostgreSQL process {pid}"
        in done.stderr
    )


# --- 2. squawk in CI --------------------------------------------------------------------------------


def test_squawk_passes_the_migrations_and_fails_a_new_unsafe_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lint(migrations_dir()) == 0
    assert lint(FIXTURES) == 0  # the safe patterns: NOT VALID, VALIDATE later, CONCURRENTLY, IF NOT EXISTS

    folder = folder_with(tmp_path)
    (folder / "0099_unsafe.sql").write_text(
        "CREATE INDEX users_bio_idx ON users (bio);\n"
        "ALTER TABLE lesson_progress ADD CONSTRAINT lesson_progress_user_fk\n"
        "    FOREIGN KEY (clerk_id) REFERENCES users (clerk_id);\n"
        "ALTER TABLE users ALTER COLUMN bio SET NOT NULL;\n"
    )
    (folder / "0099_unsafe.rollback.sql").write_text("SELECT 1;\n")
    (folder / "0100_rerun.sql").write_text(
        "-- transactional: false\nCREATE INDEX CONCURRENTLY users_bio_idx ON users (bio);\n"
    )
    (folder / "0100_rerun.rollback.sql").write_text("SELECT 1;\n")
    capsys.readouterr()

    assert lint(folder) == 1
    report = capsys.readouterr().err
    for rule in (
        "require-concurrent-index-creation",
        "adding-foreign-key-constraint",
        "constraint-missing-not-valid",
        "adding-not-nullable-field",
    ):
        assert re.search(rf"0099_unsafe\.sql:\d+:\d+: warning: {rule}", report), rule
    assert re.search(r"0100_rerun\.sql:\d+:\d+: warning: prefer-robust-stmts", report)  # no IF NOT EXISTS


def test_ci_runs_squawk() -> None:
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert ".venv/bin/python tools/lint_migrations.py\n" in ci


# --- 3. the template --------------------------------------------------------------------------------


def examples(template: str) -> list[str]:
    """The SQL the template shows, as written (its `--   ` lines), statement by statement."""
    lines = [line[5:] for line in template.splitlines() if line.startswith("--   ")]
    return [s.strip() + ";" for s in " ".join(lines).split(";") if s.strip()]


def test_new_writes_the_safe_patterns_and_they_pass_squawk_and_apply_on_a_live_database(
    fresh_db: str, tmp_path: Path
) -> None:
    folder = folder_with(tmp_path)
    forward, _ = migrate.new("add_course_slug", migrations=folder)
    text = forward.read_text()
    shown = examples(text)
    assert [" ".join(s.split()[:4]) for s in shown] == [
        "ALTER TABLE courses ADD",
        "ALTER TABLE courses ADD",
        "ALTER TABLE courses VALIDATE",
        "CREATE INDEX CONCURRENTLY IF",
        "UPDATE courses SET slug",
    ]
    assert "-- transactional: false" in text and "NOT VALID" in text and "VALIDATE CONSTRAINT" in text
    assert "LIMIT 5000" in text  # the backfill is batched

    # Each pattern where the template says it goes: column + NOT VALID; the index on its own,
    # not transactional; the batched backfill; VALIDATE in a later migration.
    add, not_valid, validate, index, backfill = shown
    number = int(forward.name[:4])
    files = {
        forward.name: f"{add}\n{not_valid}\n",
        f"{number + 1:04d}_course_slug_index.sql": f"-- transactional: false\n{index}\n",
        f"{number + 2:04d}_course_slug_backfill.sql": f"-- transactional: false\n{backfill}\n",
        f"{number + 3:04d}_course_slug_validate.sql": f"{validate}\n",
    }
    for name, body in files.items():
        (folder / name).write_text(body)
        (folder / name.replace(".sql", ".rollback.sql")).write_text("SELECT 1;\n")
    assert lint(folder) == 0

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("INSERT INTO courses (title) SELECT 'Course ' || g FROM generate_series(1, 300) g")
    migrate.upgrade(fresh_db, migrations=folder)
    assert one(fresh_db, "SELECT count(*) FROM courses WHERE slug ~ '^course-[0-9]+$'") == 300
    assert (
        one(fresh_db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'courses_slug_idx'::regclass")
        is True
    )
    assert (
        one(fresh_db, "SELECT convalidated FROM pg_constraint WHERE conname = 'courses_slug_format'") is True
    )


# --- 4. a cancelled CREATE INDEX CONCURRENTLY -------------------------------------------------------


def building_index(dsn: str) -> int | None:
    """The pid of a CREATE INDEX CONCURRENTLY that is waiting for a lock, if one is."""
    found = one(
        dsn,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        " AND query ILIKE '%%CREATE INDEX CONCURRENTLY%%'",
    )
    return None if found is None else int(found)


def wait_for(condition: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def schema_dump(dsn: str) -> str:
    done = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", dsn],
        capture_output=True,
        text=True,
        check=True,
    )
    # Comments name the database; \restrict and \unrestrict carry a random key per dump.
    skip = ("--", "\\restrict", "\\unrestrict")
    return "\n".join(line for line in done.stdout.splitlines() if not line.startswith(skip))


@pytest.fixture
def second_db(learnstore_template: Template) -> Iterator[str]:
    name, dsn = clone_database(learnstore_template, "clean")
    yield dsn
    drop_database(learnstore_template.server_dsn, name)


def test_a_cancelled_concurrent_index_build_is_dropped_and_rebuilt_on_the_rerun(
    fresh_db: str, second_db: str, tmp_path: Path
) -> None:
    folder = folder_with(tmp_path, *NICKNAME[:2])
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (clerk_id) SELECT 'user_' || g FROM generate_series(1, 2000) g")
    migrate.upgrade(fresh_db, migrations=folder_with(tmp_path / "first", NICKNAME[0]))

    failures: list[BaseException] = []

    def run() -> None:
        try:
            migrate.upgrade(fresh_db, migrations=folder, lock_timeout=60, lock_retries=0)
        except LearnstoreError as exc:
            failures.append(exc)

    # An open write transaction: the concurrent build has put its index in the catalog, INVALID, and
    # waits for that writer to finish; then it is cancelled.
    with blocker(fresh_db, "UPDATE users SET bio = 'busy' WHERE clerk_id = 'user_1'"):
        thread = threading.Thread(target=run)
        thread.start()
        pid = wait_for(lambda: building_index(fresh_db))
        one(fresh_db, "SELECT pg_cancel_backend(%s)", (pid,))
        thread.join()
    assert len(failures) == 1 and "canceling statement due to user request" in str(failures[0])
    assert (
        one(fresh_db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_nickname_idx'::regclass")
        is False
    )

    events: list[tuple[str, str]] = []
    assert migrate.upgrade(fresh_db, migrations=folder, on_progress=lambda e, i: events.append((e, i))) == [
        "9002_users_nickname_index"
    ]
    assert ("invalid index", "users_nickname_idx") in events
    assert (
        one(fresh_db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_nickname_idx'::regclass")
        is True
    )

    migrate.upgrade(second_db, migrations=folder)  # a clean run
    assert schema_dump(fresh_db) == schema_dump(second_db)


# --- 5. a migration under load ----------------------------------------------------------------------

CALLERS = 32
LOCK_TIMEOUT = 1.0
# What a caller may wait beyond the lock timeout: a busy 2-core machine's scheduling, the queue's
# drain after the migration's request is withdrawn. The blocker holds for 10 s or more, so a caller
# stuck behind a migration without a lock timeout would wait several times this bound.
MARGIN = 2.0


@dataclass
class Load:
    """32 callers on their own connections: readers and writers of users and of progress."""

    dsn: str
    learners: list[str]
    course: UUID
    lessons: list[UUID]
    stop: threading.Event = field(default_factory=threading.Event)
    waits: list[float] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    calls: int = 0

    def caller(self, store: learnstore.Store, n: int) -> None:
        learner = self.learners[n]
        i = 0
        while not self.stop.is_set():
            i += 1
            started = time.monotonic()
            try:
                if n % 4 == 0:
                    store.users.get(learner)
                elif n % 4 == 1:
                    store.users.record_activity(learner)
                elif n % 4 == 2:
                    store.progress.set_lesson_status(
                        learner, self.lessons[i % len(self.lessons)], "in_progress" if i % 2 else "completed"
                    )
                else:
                    store.progress.get_next_lesson(learner, self.course)
            except LearnstoreError as exc:
                self.errors.append(exc)
            except Exception as exc:  # any other error fails the test, in check_callers
                self.errors.append(exc)
            self.waits.append(time.monotonic() - started)
            self.calls += 1

    @contextmanager
    def running(self) -> Iterator[None]:
        with learnstore.connect(self.dsn, min_size=CALLERS, max_size=CALLERS) as store:
            threads = [threading.Thread(target=self.caller, args=(store, n)) for n in range(CALLERS)]
            for thread in threads:
                thread.start()
            try:
                time.sleep(0.5)  # the load is on before the migration starts
                yield
            finally:
                self.stop.set()
                for thread in threads:
                    thread.join()


@pytest.fixture
def load(fresh_db: str) -> Load:
    """20,000 users, a published course of 4 lessons, and 32 learners enrolled in it."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (clerk_id) SELECT 'user_' || g FROM generate_series(1, 20000) g")
        course = conn.execute(
            "INSERT INTO courses (title, status, published_at)"
            " VALUES ('Busy', 'published', now()) RETURNING id"
        ).fetchone()
        assert course is not None
        unit = conn.execute(
            "INSERT INTO units (course_id, title, position) VALUES (%s, 'U', 0) RETURNING id", (course[0],)
        ).fetchone()
        assert unit is not None
        lessons = [
            row[0]
            for row in conn.execute(
                "INSERT INTO lessons (unit_id, title, content_type, content, position)"
                " SELECT %s, 'L' || g, 'text', '{\"body\": \"b\"}', g FROM generate_series(0, 3) g"
                " RETURNING id",
                (unit[0],),
            ).fetchall()
        ]
    learners = [f"user_{n + 1}" for n in range(CALLERS)]
    with learnstore.connect(fresh_db) as store:
        for learner in learners:
            store.progress.enrol(learner, course[0])
    return Load(fresh_db, learners, course[0], lessons)


def check_callers(load: Load) -> float:
    longest = max(load.waits)
    print(
        f"\n{load.calls} calls by {CALLERS} callers; longest wait {longest:.3f} s"
        f" (lock timeout {LOCK_TIMEOUT} s); {len(load.errors)} retryable error(s)"
    )
    assert load.calls > CALLERS * 10
    assert all(isinstance(e, LearnstoreError) and e.retryable for e in load.errors), load.errors[:3]
    assert longest < LOCK_TIMEOUT + MARGIN
    return longest


def test_a_migration_under_32_callers_completes_and_no_caller_waits_past_the_lock_timeout(
    load: Load, tmp_path: Path
) -> None:
    folder = folder_with(tmp_path, *NICKNAME)
    events: list[str] = []
    # A long report holds users when the migration starts: the ALTER queues behind it, the callers
    # queue behind the ALTER; after a lock timeout the report ends and the retry goes through.
    with load.running(), blocker(load.dsn) as (report, _):

        def progress(event: str, _id: str) -> None:
            events.append(event)
            if event == "lock timeout":
                report.rollback()

        ids = migrate.upgrade(
            load.dsn, migrations=folder, lock_timeout=LOCK_TIMEOUT, lock_retries=5, on_progress=progress
        )
        time.sleep(0.5)  # the callers go on after it

    assert ids == NICKNAME and events.count("lock timeout") == 1
    assert (
        one(load.dsn, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_nickname_idx'::regclass")
        is True
    )
    assert (
        one(load.dsn, "SELECT convalidated FROM pg_constraint WHERE conname = 'users_nickname_length'")
        is True
    )
    check_callers(load)


def test_with_a_lock_held_past_every_retry_migrate_gives_up_cleanly_and_callers_never_stall(
    load: Load, tmp_path: Path
) -> None:
    folder = folder_with(tmp_path, *NICKNAME)
    with load.running(), blocker(load.dsn) as (_, pid):
        # Whatever happens, the report ends after 20 s: without a lock timeout the callers would wait
        # that long behind the migration, and the test fails on the wait, not by hanging.
        timer = threading.Timer(20.0, lambda: one(load.dsn, "SELECT pg_terminate_backend(%s)", (pid,)))
        timer.start()
        try:
            with pytest.raises(MigrationError, match=f"gave up after 3 attempt.*PostgreSQL process {pid}"):
                migrate.upgrade(load.dsn, migrations=folder, lock_timeout=LOCK_TIMEOUT, lock_retries=2)
        finally:
            timer.cancel()

    assert not set(NICKNAME) & set(applied(load.dsn, folder))
    assert (
        one(
            load.dsn,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'nickname'",
        )
        == 0
    )
    check_callers(load)


# --- 6. migrate --plan ------------------------------------------------------------------------------

PLANNED = {
    "9101_plan.sql": (
        "ALTER TABLE users ADD COLUMN nickname text;\n"
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();\n"
        "ALTER TABLE users ADD CONSTRAINT users_nickname_length"
        " CHECK (char_length(nickname) <= 40) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT users_nickname_length;\n"
        "CREATE INDEX users_nickname_plain_idx ON users (nickname);\n"
        "UPDATE users SET nickname = 'x' WHERE nickname IS NULL;\n"
        "ALTER TABLE users ALTER COLUMN nickname SET NOT NULL;\n"
        "ALTER TABLE users ALTER COLUMN nickname TYPE varchar(80);\n"
        "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;\n"
        "CREATE OR REPLACE FUNCTION plan_noop() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
    ),
    "9101_plan.rollback.sql": "SELECT 1;\n",
}
_STRENGTH = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
]


def pg_lock_name(lock: str) -> str:
    return "".join(word.capitalize() for word in lock.split()) + "Lock"


def test_plan_lists_each_pending_statement_with_the_lock_postgresql_really_takes(
    fresh_db: str, tmp_path: Path
) -> None:
    folder = folder_with(tmp_path, extra=PLANNED)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (clerk_id) SELECT 'user_' || g FROM generate_series(1, 100) g")
    planned = plan(fresh_db, migrations=folder)
    assert [p.migration for p in planned] == ["9101_plan"] * 10

    # Each statement run on its own in a transaction: the strongest lock it holds on users, and
    # whether the table got a new file (a rewrite), against what the plan says.
    with psycopg.connect(fresh_db) as conn:
        for step in planned:
            before = conn.execute("SELECT pg_relation_filenode('users')").fetchone()
            conn.execute(step.statement.encode())
            modes = [
                row[0]
                for row in conn.execute(
                    "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'users'::regclass"
                ).fetchall()
            ]
            after = conn.execute("SELECT pg_relation_filenode('users')").fetchone()
            conn.commit()
            strongest = max(modes, key=_STRENGTH.index) if modes else "none"
            expected = "none" if step.lock == "none" else pg_lock_name(step.lock)
            assert (step.statement[:40], strongest, before != after) == (
                step.statement[:40],
                expected,
                step.rewrites,
            )
    assert [p.scans for p in planned] == [False, True, False, True, True, True, True, True, False, False]
    assert migrate.status(fresh_db, migrations=folder)[-1].applied is False  # the plan changed nothing


def test_migrate_plan_on_the_command_line_as_a_table_and_as_json(fresh_db: str, tmp_path: Path) -> None:
    folder = folder_with(tmp_path, *NICKNAME)
    base = [str(SCRIPT), "--dsn", fresh_db, "migrate", "--plan", "--migrations", str(folder)]
    table = subprocess.run(base, capture_output=True, text=True, check=True).stdout
    assert "SHARE UPDATE EXCLUSIVE on users" in table and "4 statement(s) pending" in table
    data = json.loads(subprocess.run([*base, "--json"], capture_output=True, text=True, check=True).stdout)
    assert [(p["migration"], p["lock"], p["rewrites"], p["scans"]) for p in data["plan"]] == [
        ("9001_users_nickname", "ACCESS EXCLUSIVE", False, False),
        ("9001_users_nickname", "ACCESS EXCLUSIVE", False, False),
        ("9002_users_nickname_index", "SHARE UPDATE EXCLUSIVE", False, True),
        ("9003_users_nickname_validate", "SHARE UPDATE EXCLUSIVE", False, True),
    ]
    assert "9001_users_nickname" not in applied(fresh_db, folder)


def test_a_prepared_query_whose_table_a_migration_changed_fails_once_as_contention_then_works(
    fresh_db: str, tmp_path: Path
) -> None:
    # `SELECT * FROM users` (store.users.get) changes its result columns when a column is added; a
    # pooled connection that prepared it would fail it from then on, were it not dropped.
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (clerk_id) VALUES ('user_1')")
    with learnstore.connect(fresh_db, min_size=1, max_size=1) as store:
        for _ in range(8):  # past psycopg's prepare threshold (5)
            store.users.get("user_1")
        migrate.upgrade(fresh_db, migrations=folder_with(tmp_path, NICKNAME[0]))

        with pytest.raises(
            Contention, match="a migration changed a table under a prepared statement"
        ) as raised:
            store.users.get("user_1")
        assert raised.value.retryable
        assert store.users.get("user_1").clerk_id == "user_1"  # prepared anew
        assert store.users.get("user_1").clerk_id == "user_1"


# --- 7. expand and contract: users.bio renamed users.about across three releases --------------------

EXPAND_CONTRACT = Path(__file__).parent / "fixtures" / "expand_contract"
RELEASE_1 = ["9201_users_about_expand", "9202_users_about_backfill", "9203_users_about_validate"]


def with_releases(tmp_path: Path, *names: str) -> Path:
    folder = folder_with(tmp_path)
    for name in names:
        for suffix in (".sql", ".rollback.sql"):
            shutil.copy(EXPAND_CONTRACT / f"{name}{suffix}", folder)
    return folder


def about(dsn: str, clerk_id: str) -> Any:
    """What the new version reads."""
    return one(dsn, "SELECT about FROM users WHERE clerk_id = %s", (clerk_id,))


def test_a_column_renamed_in_three_releases_while_old_and_new_versions_run_at_once(
    fresh_db: str, tmp_path: Path
) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (clerk_id, bio)"
            " SELECT 'user_' || g, 'bio ' || g FROM generate_series(1, 12000) g"
        )
    assert lint(EXPAND_CONTRACT) == 0

    # Release 1 expands; the backfill copies the 12,000 bios written before it, in batches.
    assert migrate.upgrade(fresh_db, migrations=with_releases(tmp_path / "r1", *RELEASE_1)) == RELEASE_1
    assert one(fresh_db, "SELECT count(*) FROM users WHERE about IS DISTINCT FROM bio") == 0

    # The old version (this learnstore, which knows bio) and the new one (SQL on about), at once,
    # on the same rows: whichever wrote last, both read the same text.
    learners = [f"user_{n}" for n in range(1, 9)]
    with learnstore.connect(fresh_db, min_size=8, max_size=16) as old:

        def old_version(n: int) -> None:
            for i in range(25):
                old.users.update_profile(learners[(n + i) % 8], bio=f"old {n}.{i}")

        def new_version(n: int) -> None:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                for i in range(25):
                    conn.execute(
                        "UPDATE users SET about = %s WHERE clerk_id = %s",
                        (f"new {n}.{i}", learners[(n + i) % 8]),
                    )
                    conn.execute(
                        "INSERT INTO users (clerk_id, about) VALUES (%s, 'signed up on the new version')",
                        (f"new_{n}_{i}",),
                    )

        threads = [
            threading.Thread(target=old_version if n % 2 else new_version, args=(n,)) for n in range(16)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert one(fresh_db, "SELECT count(*) FROM users WHERE about IS DISTINCT FROM bio") == 0
        assert old.users.get("new_0_0").bio == "signed up on the new version"
        old.users.update_profile("user_9", bio="written by the old version")
    assert about(fresh_db, "user_9") == "written by the old version"

    # Release 2 is code only: the new version stops reading bio. Release 3 contracts.
    folder = with_releases(tmp_path / "r3", *RELEASE_1, "9204_users_about_contract")
    assert migrate.upgrade(fresh_db, migrations=folder) == ["9204_users_about_contract"]
    assert (
        one(
            fresh_db,
            "SELECT count(*) FROM pg_attribute"
            " WHERE attrelid = 'users'::regclass AND attname = 'bio' AND NOT attisdropped",
        )
        == 0
    )
    assert about(fresh_db, "user_9") == "written by the old version"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("UPDATE users SET about = 'after the contract' WHERE clerk_id = 'user_9'")
    assert about(fresh_db, "user_9") == "after the contract"

    # And back: each release's rollback restores the one before, bio filled from about.
    migrate.rollback(fresh_db, migrations=folder)
    assert one(fresh_db, "SELECT bio FROM users WHERE clerk_id = 'user_9'") == "after the contract"
