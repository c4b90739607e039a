"""`learnstore demo`: the first command a new user runs, end to end on the embedded server and on a DSN."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import learnstore
from learnstore import demo, sample
from learnstore._console import Output
from learnstore.cli import main

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SCRIPT = Path(sys.executable).with_name("learnstore")

CALLS = [
    ">>> store.progress.list_courses('user_demo')",
    ">>> store.content.get_course_tree(UUID('",
    ">>> store.catalog.discover(text='data', order='relevance', limit=5)",
    ">>> store.users.record_activity('user_demo')",
    ">>> store.achievements.leaderboard('user_demo', course_id=UUID('",
]


@pytest.fixture
def dsn(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty database of its own, dropped afterwards; LEARNSTORE_DSN unset."""
    monkeypatch.delenv("LEARNSTORE_DSN", raising=False)
    name = f"learnstore_test_demo_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def counts(dsn: str) -> dict[str, int]:
    tables = ["users", "courses", "units", "lessons", "user_courses", "user_progress", "login_days"]
    found = {}
    with psycopg.connect(dsn) as conn:
        for table in tables:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
            assert row is not None
            found[table] = int(row[0])
    return found


def database_exists(name: str) -> bool:
    with psycopg.connect(ADMIN_DSN) as conn:
        return conn.execute("SELECT FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def script_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LEARNSTORE_DSN", "LEARNSTORE_HOME", "NO_COLOR")}
    return {**env, **extra}


def test_the_demo_runs_end_to_end_on_the_embedded_server(tmp_path: Path) -> None:
    env = script_env(LEARNSTORE_HOME=str(tmp_path / "home"))
    try:
        first = subprocess.run(
            [str(SCRIPT), "demo"], capture_output=True, text=True, env=env, timeout=600, check=False
        )
        assert first.returncode == 0, first.stderr
        assert "learnstore: using the embedded PostgreSQL in" in first.stderr
        out = first.stdout
        assert "migrated 'learnstore_demo': " in out
        assert re.search(r"^loaded [\d,]+ rows into 'learnstore_demo' in [\d.]+ s$", out, re.M), out
        for title in (
            "A learner's dashboard",
            "A course tree: " + sample.FLAGSHIP_TITLE,
            "Discovery",
            "A streak",
            "A leaderboard",
        ):
            assert f"== {title}" in out
        for call in CALLS:
            assert call in out
        assert "\x1b[" not in out  # no colour codes in a pipe

        # The printed DSN opens the same store, and the printed call returns what the table shows.
        printed = re.search(r"store = learnstore\.connect\('([^']+)'\)", out)
        assert printed is not None
        with learnstore.connect(printed.group(1), max_size=1) as store:
            courses = store.progress.list_courses(sample.DEMO_LEARNER)
            streak = store.users.get_streak(sample.DEMO_LEARNER)
            flagship = next(c for c in courses if c.title == sample.FLAGSHIP_TITLE)
            board = store.achievements.leaderboard(sample.DEMO_LEARNER, course_id=flagship.course_id, top=5)
        # the backfilled achievements gave the course's learners points, and the tour printed them
        assert board and board[0].rank == 1 and board[0].points > 0
        assert any(row.is_me for row in board)
        assert f"{board[0].points}" in out
        assert len(courses) == 10
        for course in courses:
            assert course.title in out
        assert streak.current_streak >= 1  # the tour recorded today's activity

        again = subprocess.run(
            [sys.executable, "-m", "learnstore", "demo"], capture_output=True, text=True, env=env, timeout=300
        )
        assert again.returncode == 0, again.stderr
        assert again.stdout.startswith("reusing the demo database 'learnstore_demo' (learnstore demo sample:")
        assert "loaded" not in again.stdout.splitlines()[1]
        for call in CALLS:
            assert call in again.stdout

        reset = subprocess.run(
            [str(SCRIPT), "demo", "--reset"], capture_output=True, text=True, env=env, timeout=300
        )
        assert reset.returncode == 0, reset.stderr
        assert (
            reset.stdout == "dropped the demo database 'learnstore_demo'; `learnstore demo` loads it again\n"
        )
    finally:
        stop_embedded(env)


def stop_embedded(env: dict[str, str]) -> None:
    """Stop the embedded server the CLI left running (it outlives the CLI on purpose)."""
    stop = "from learnstore.embedded import embedded_server; embedded_server().stop()"
    for attempt in range(3):
        # pgserver reads postmaster.pid, which PostgreSQL rewrites while it changes state: try again.
        done = subprocess.run(
            [sys.executable, "-c", stop], env=env, timeout=120, capture_output=True, text=True
        )
        if done.returncode == 0:
            return
        time.sleep(2 * (attempt + 1))
    raise AssertionError(f"the embedded server did not stop: {done.stderr}")


def test_the_demo_on_a_dsn_loads_once_then_reuses(dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dsn", dsn]) == 0
    out = capsys.readouterr().out
    loaded = counts(dsn)
    assert loaded["users"] > 1000 and loaded["lessons"] > 300 and loaded["user_progress"] > 10_000
    assert re.search(r"^loaded [\d,]+ rows into", out, re.M)
    assert out.count("== ") == 5

    assert main(["demo", "--dsn", dsn]) == 0
    again = capsys.readouterr().out
    assert again.startswith(f"reusing the demo database '{dsn.rsplit('/', 1)[1]}'")
    after = counts(dsn)
    assert after == loaded  # nothing loaded twice

    assert main(["demo", "--dsn", dsn, "--reset"]) == 0
    assert "dropped the demo database" in capsys.readouterr().out
    assert not database_exists(dsn.rsplit("/", 1)[1])


def test_the_demo_refuses_a_database_holding_other_data_and_changes_nothing(
    dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    learnstore.migrate.upgrade(dsn)
    with learnstore.connect(dsn, max_size=1) as store:
        store.users.apply_clerk_event({"type": "user.created", "data": {"id": "user_mine", "updated_at": 1}})
    before = counts(dsn)

    assert main(["demo", "--dsn", dsn]) == 1
    err = capsys.readouterr().err
    assert "holds data and no learnstore demo sample" in err
    assert main(["demo", "--dsn", dsn, "--reset"]) == 1
    assert "the demo drops only its own" in capsys.readouterr().err
    assert counts(dsn) == before


def test_a_half_finished_load_into_its_own_database_is_reset(dsn: str) -> None:
    learnstore.migrate.upgrade(dsn)
    with learnstore.connect(dsn, max_size=1) as store:
        store.users.apply_clerk_event({"type": "user.created", "data": {"id": "user_half", "updated_at": 1}})
    out = io.StringIO()

    assert demo.prepare(Output(out), dsn, owned=True) == "reset"

    assert "resetting the demo database" in out.getvalue()
    with learnstore.connect(dsn, max_size=1) as store:
        assert store.users.get_or_none("user_half") is None
        assert store.users.get_or_none(sample.DEMO_LEARNER) is not None


def test_two_demos_at_once_load_the_sample_once(dsn: str) -> None:
    outs = [io.StringIO(), io.StringIO()]
    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda out: demo.prepare(Output(out), dsn, owned=False), outs))

    assert outcomes == ["loaded", "reused"]
    with learnstore.connect(dsn, max_size=1) as store:
        assert len(store.progress.list_courses(sample.DEMO_LEARNER)) == 10
    small = sample.SCALES["small"]
    assert counts(dsn)["users"] == 1 + small.users + small.import_learners  # the demo learner, once


def test_a_bad_dsn_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dsn", "not a dsn"]) == 1
    assert capsys.readouterr().err.startswith("learnstore: error: invalid DSN: ")
    assert main(["demo", "--dsn", ADMIN_DSN]) == 1
    assert capsys.readouterr().err == (
        "learnstore: error: the demo needs a database of its own, not 'postgres'\n"
    )
    assert main(["demo", "--dsn", "postgresql://postgres@127.0.0.1:1/learnstore_demo"]) == 1
    assert capsys.readouterr().err.startswith("learnstore: error: database unavailable: ")


def test_without_rich_the_tables_are_plain_aligned_text() -> None:
    out = io.StringIO()
    console = Output(out, use_rich=False)
    console.table(("course", "rating"), [("SQL", "4.5 (2)"), ("Rust for everyone", None)], right=("rating",))
    console.check(True, "server version 17")
    console.check(False, "extension pgcrypto")

    assert out.getvalue().splitlines() == [
        "course              rating",
        "-----------------  -------",
        "SQL                4.5 (2)",
        "Rust for everyone",
        "PASS  server version 17",
        "FAIL  extension pgcrypto",
    ]
