"""Bulk import against raw binary COPY of the same rows: learnstore's `store.imports` (validation,
the COPY, and the enrolment or streak recompute that keeps derived columns right) and psycopg's
`cursor.copy()` writing the very rows learnstore writes. Each run is rolled back, so the dataset
stays as it was; the runs are interleaved and the tables vacuumed between them.

The raw COPY alone is the floor the bar is set against, but it leaves a different database: the
enrolments' progress (user_courses.progress, completed_at) and the streaks (user_streaks) are not
recomputed. A second raw peer ends in the same state as learnstore: the COPY, then the very
statement learnstore runs to recompute them (the same SQL, from sql/queries/imports.sql), given the
learners and courses it already knows (no lookup, no locks: a floor). Courses have nothing to
recompute (their enrolments' progress is kept by the lessons' own triggers, for both)."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg

from bench.dataset import NOW
from bench.peers.raw import sql
from learnstore import Store
from learnstore.repositories.imports import CourseImport, LoginDayRecord, ProgressRecord


@dataclass(frozen=True)
class ImportResult:
    name: str
    rows: int
    learnstore_rate: float  # rows per second, median
    raw_rate: float
    learnstore_copy_share: float  # of learnstore's time, what its COPY statement alone took (median)
    # of learnstore's time, what its other statements took (the locks and the recompute of derived
    # columns the raw COPY does not keep); the rest is checking the input and building the rows
    learnstore_statement_share: float = 0.0
    # learnstore's COPY statements alone against the raw COPY of the same rows (time, median)
    copy_over_raw: float = 0.0
    # the raw COPY followed by the statement that recomputes the same derived columns (rows per
    # second, median): the same end state as learnstore's; None when there is nothing to recompute
    raw_same_state_rate: float | None = None

    @property
    def ratio(self) -> float:
        return self.learnstore_rate / self.raw_rate

    @property
    def same_state_ratio(self) -> float | None:
        """learnstore against the raw peer that ends in the same state (None: the COPY alone does)."""
        if self.raw_same_state_rate is None:
            return None
        return self.learnstore_rate / self.raw_same_state_rate


def _progress(conn: psycopg.Connection[Any]) -> tuple[list[ProgressRecord], list[tuple[Any, ...]]]:
    """Statuses for every lesson of every enrolment of the `import_*` learners (who have none)."""
    rows = conn.execute(
        """SELECT uc.user_clerk_id, l.id, uc.enrolled_at
           FROM user_courses uc JOIN units u ON u.course_id = uc.course_id JOIN lessons l ON l.unit_id = u.id
           WHERE uc.user_clerk_id LIKE 'import\\_%%'
           ORDER BY uc.user_clerk_id, u.course_id, u.position, l.position"""
    ).fetchall()
    rnd = random.Random(7)
    records = []
    for user, lesson, enrolled in rows:
        started = enrolled + timedelta(hours=rnd.randint(1, 2000))
        roll = rnd.random()
        if roll < 0.6:
            records.append(
                ProgressRecord(user, lesson, "completed", started, started + timedelta(minutes=30))
            )
        elif roll < 0.8:
            records.append(ProgressRecord(user, lesson, "in_progress", started))
        else:
            records.append(ProgressRecord(user, lesson, "not_started"))
    copied = [
        (u, lesson, s, st, c, st or c or NOW, c or st or NOW) for u, lesson, s, st, c in records
    ]  # what learnstore copies: created_at / updated_at from the history itself
    return records, copied


def _login_days(conn: psycopg.Connection[Any]) -> tuple[list[LoginDayRecord], list[tuple[Any, ...]]]:
    users = [
        u for (u,) in conn.execute("SELECT clerk_id FROM users WHERE clerk_id LIKE 'import\\_%%' ORDER BY 1")
    ]
    records = []
    for user in users:
        for n in range(200):
            day = NOW.date() - timedelta(days=n * 2)
            records.append(LoginDayRecord(user, day, NOW - timedelta(days=n * 2, hours=3)))
    return records, [tuple(r) for r in records]


def _courses(
    conn: psycopg.Connection[Any], count: int
) -> tuple[list[CourseImport], list[list[tuple[Any, ...]]]]:
    rnd = random.Random(11)

    def uid() -> UUID:
        return UUID(int=rnd.getrandbits(128), version=4)

    courses: list[CourseImport] = []
    course_rows: list[tuple[Any, ...]] = []
    unit_rows: list[tuple[Any, ...]] = []
    lesson_rows: list[tuple[Any, ...]] = []
    for i in range(count):
        units: list[dict[str, Any]] = []
        course_id = uid()
        for u in range(5):
            unit_id = uid()
            lessons = []
            for k in range(6):
                lesson = {
                    "id": uid(),
                    "title": f"Lesson {u}.{k}",
                    "content_type": "text",
                    "content": {"body": "x" * 200},
                }
                lessons.append(lesson)
                lesson_rows.append(
                    (lesson["id"], unit_id, lesson["title"], "text", {"body": "x" * 200}, None, k)
                )
            units.append({"id": unit_id, "title": f"Unit {u}", "lessons": lessons})
            unit_rows.append((unit_id, course_id, f"Unit {u}", "", u))
        courses.append(
            CourseImport.model_validate(
                {"id": course_id, "title": f"Imported {i}", "created_at": NOW, "units": units}
            )
        )
        course_rows.append(
            (
                course_id,
                None,
                f"Imported {i}",
                "",
                "beginner",
                None,
                [],
                None,
                None,
                "draft",
                None,
                False,
                NOW,
            )
        )
    return courses, [course_rows, unit_rows, lesson_rows]


_PROGRESS_COPY = (
    "COPY user_progress (user_clerk_id, lesson_id, status, started_at, completed_at, created_at, updated_at)"
    " FROM STDIN (FORMAT BINARY)",
    ["text", "uuid", "text", "timestamptz", "timestamptz", "timestamptz", "timestamptz"],
)
_LOGIN_COPY = (
    "COPY login_days (user_clerk_id, day, first_seen_at) FROM STDIN (FORMAT BINARY)",
    ["text", "date", "timestamptz"],
)
_COURSE_TYPES = "uuid text text text text int4 text[] text uuid text timestamptz bool timestamptz"
_COURSE_COPIES = (
    (
        "COPY courses (id, author_clerk_id, title, description, difficulty, estimated_duration_minutes,"
        " learning_objectives, cover_image_url, language_id, status, published_at, open_to_collaboration,"
        " created_at) FROM STDIN (FORMAT BINARY)",
        _COURSE_TYPES.split(),
    ),
    (
        "COPY units (id, course_id, title, description, position) FROM STDIN (FORMAT BINARY)",
        ["uuid", "uuid", "text", "text", "int4"],
    ),
    (
        "COPY lessons (id, unit_id, title, content_type, content, duration_seconds, position)"
        " FROM STDIN (FORMAT BINARY)",
        ["uuid", "uuid", "text", "text", "jsonb", "int4", "int4"],
    ),
)


def _raw_copy(
    conn: psycopg.Connection[Any], statement: str, types: list[str], rows: list[tuple[Any, ...]]
) -> None:
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


class _CopyTimer:
    """Times the COPY statements learnstore sends, and its other statements, through psycopg's
    cursor: the share of the import spent in COPY itself, in the statements that keep derived
    columns, and (the rest) in checking the input and building the rows."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0.0

    def factory(self) -> type[psycopg.Cursor[Any]]:
        timer = self

        class TimedCursor(psycopg.Cursor[Any]):
            def execute(self, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return super().execute(*args, **kwargs)
                finally:
                    timer.statements += time.perf_counter() - started

            def copy(self, *args: Any, **kwargs: Any) -> Any:
                inner = super().copy(*args, **kwargs)

                class Timed:
                    def __enter__(self) -> Any:
                        self.started = time.perf_counter()
                        return inner.__enter__()

                    def __exit__(self, *exc: Any) -> Any:
                        try:
                            return inner.__exit__(*exc)
                        finally:
                            timer.seconds += time.perf_counter() - self.started

                return Timed()

        return TimedCursor


def _compare(
    dsn: str,
    name: str,
    rows: int,
    learnstore_run: Callable[[Store], object],
    raw_run: Callable[[psycopg.Connection[Any]], object],
    vacuum: str,
    reps: int,
    raw_same_state_run: Callable[[psycopg.Connection[Any]], object] | None = None,
) -> ImportResult:
    timer = _CopyTimer()
    runs: dict[str, Callable[[Store, psycopg.Connection[Any]], object]] = {
        "learnstore": lambda store, conn: learnstore_run(store),
        "raw": lambda store, conn: raw_run(conn),
    }
    if raw_same_state_run is not None:
        runs["raw_same_state"] = lambda store, conn: raw_same_state_run(conn)
    times: dict[str, list[float]] = {which: [] for which in runs}
    shares: list[float] = []
    statement_shares: list[float] = []
    copies: list[float] = []
    with (
        psycopg.connect(dsn, cursor_factory=timer.factory()) as conn,
        psycopg.connect(dsn, autocommit=True) as admin,
    ):
        store = Store.on(conn)
        for rep in range(reps + 1):  # the first round warms up
            order = list(runs) if rep % 2 == 0 else list(reversed(runs))
            for which in order:
                admin.execute(f"VACUUM {vacuum}")
                timer.seconds = timer.statements = 0.0
                started = time.perf_counter()
                runs[which](store, conn)
                elapsed = time.perf_counter() - started
                conn.rollback()
                if rep == 0:
                    continue
                times[which].append(elapsed)
                if which == "learnstore":
                    shares.append(timer.seconds / elapsed)
                    statement_shares.append(timer.statements / elapsed)
                    copies.append(timer.seconds)
    same_state = times.get("raw_same_state")
    return ImportResult(
        name,
        rows,
        rows / statistics.median(times["learnstore"]),
        rows / statistics.median(times["raw"]),
        statistics.median(shares),
        statistics.median(statement_shares),
        statistics.median(copies) / statistics.median(times["raw"]),
        None if same_state is None else rows / statistics.median(same_state),
    )


def measure(
    dsn: str, *, reps: int = 5, courses: int = 20, say: Callable[[str], None] = print
) -> list[ImportResult]:
    with psycopg.connect(dsn) as conn:
        progress, progress_rows = _progress(conn)
        days, day_rows = _login_days(conn)
        course_inputs, course_rows = _courses(conn, courses)
        learners = sorted({row[0] for row in progress_rows})
        touched = conn.execute(
            "SELECT DISTINCT u.course_id FROM lessons l JOIN units u ON u.id = l.unit_id"
            " WHERE l.id = ANY (%s)",
            [sorted({row[1] for row in progress_rows})],
        ).fetchall()
        enrolments = {"user_clerk_ids": learners, "course_ids": [course for (course,) in touched]}
        streaks = {"user_clerk_ids": sorted({row[0] for row in day_rows})}

    def raw_progress_same_state(conn: psycopg.Connection[Any]) -> None:
        _raw_copy(conn, *_PROGRESS_COPY, progress_rows)
        conn.execute(sql("refresh_learner_enrolments"), enrolments)

    def raw_days_same_state(conn: psycopg.Connection[Any]) -> None:
        _raw_copy(conn, *_LOGIN_COPY, day_rows)
        conn.execute(sql("recompute_streaks"), streaks)

    results = []
    say(f"bulk import: {len(progress):,} lesson statuses")
    results.append(
        _compare(
            dsn,
            "lesson progress (import_progress)",
            len(progress),
            lambda store: store.imports.import_progress(progress),
            lambda conn: _raw_copy(conn, *_PROGRESS_COPY, progress_rows),
            "user_progress, user_courses",
            reps,
            raw_progress_same_state,
        )
    )
    say(f"bulk import: {len(days):,} login days")
    results.append(
        _compare(
            dsn,
            "login days (import_login_days)",
            len(days),
            lambda store: store.imports.import_login_days(days),
            lambda conn: _raw_copy(conn, *_LOGIN_COPY, day_rows),
            "login_days, user_streaks",
            reps,
            raw_days_same_state,
        )
    )
    total = sum(len(rows) for rows in course_rows)
    say(f"bulk import: {len(course_inputs)} courses ({total:,} rows)")

    def raw_courses(conn: psycopg.Connection[Any]) -> None:
        for (statement, types), rows in zip(_COURSE_COPIES, course_rows, strict=True):
            _raw_copy(conn, statement, types, rows)

    results.append(
        _compare(
            dsn,
            "courses with units and lessons (import_courses)",
            total,
            lambda store: store.imports.import_courses(course_inputs),
            raw_courses,
            "courses, units, lessons",
            reps,
        )
    )
    return results
