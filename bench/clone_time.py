"""How long cloning a 1,000-lesson course takes, and what share of it the audit trail costs.

    python -m bench.clone_time --dsn postgresql://postgres@127.0.0.1:5432/learnstore_bench_clone

Migrates the (new or empty) database, builds a published course of 50 units x 20 lessons, each
lesson with a quiz and a media file, and 3 tags, then times `store.sharing.clone_course` as the
service and under `as_user`, and once more with the audit triggers off (in a transaction rolled
back), to show what the statement-level audit adds. A wall-clock measurement of one process (the
median of --rounds), not a ratio: a clone has no peer to run beside.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from uuid import UUID

import psycopg

import learnstore
from learnstore.migrate import upgrade
from learnstore.queries.models import Course

UNITS, LESSONS_PER_UNIT = 50, 20


def _course(dsn: str) -> UUID:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (clerk_id) VALUES ('author'), ('cloner') ON CONFLICT DO NOTHING")
        row = conn.execute(
            "INSERT INTO courses (author_clerk_id, title, status, published_at)"
            " VALUES ('author', 'Big', 'published', now()) RETURNING id"
        ).fetchone()
        assert row is not None
        course_id: UUID = row[0]
        conn.execute(
            "INSERT INTO units (course_id, title, position) SELECT %s, 'Unit ' || i, i"
            " FROM generate_series(0, %s) i",
            [course_id, UNITS - 1],
        )
        conn.execute(
            "INSERT INTO lessons (unit_id, title, content_type, content, duration_seconds, position)"
            " SELECT u.id, 'Lesson ' || i, 'text',"
            " jsonb_build_object('body', repeat('text ', 200)), 300, i"
            " FROM units u, generate_series(0, %s) i WHERE u.course_id = %s",
            [LESSONS_PER_UNIT - 1, course_id],
        )
        conn.execute(
            "INSERT INTO quizzes (lesson_id, question, question_type, options, correct_answer, position)"
            """ SELECT l.id, 'Which?', 'mcq', '["a", "b", "c"]', '"a"', 0 FROM lessons l"""
            " JOIN units u ON u.id = l.unit_id WHERE u.course_id = %s",
            [course_id],
        )
        conn.execute(
            "INSERT INTO media (lesson_id, media_type, url, position)"
            " SELECT l.id, 'image', 'https://example.com/' || l.id || '.png', 0 FROM lessons l"
            " JOIN units u ON u.id = l.unit_id WHERE u.course_id = %s",
            [course_id],
        )
        conn.execute(
            "WITH t AS (INSERT INTO tags (name) SELECT 'tag' || i FROM generate_series(1, 3) i"
            " ON CONFLICT DO NOTHING RETURNING id)"
            " INSERT INTO course_tags (course_id, tag_id) SELECT %s, id FROM t",
            [course_id],
        )
    return course_id


def _time(action: Callable[[], Course], rounds: int, dsn: str | None) -> float:
    """The median time of `action`; each clone is deleted afterwards (untimed, when `dsn` is given:
    committed clones), so that every round copies into tables of the same size."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        clone = action()
        times.append(time.perf_counter() - started)
        if dsn is not None:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("DELETE FROM courses WHERE id = %s", [clone.id])
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="a database of its own")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    upgrade(args.dsn)
    course_id = _course(args.dsn)
    with learnstore.connect(args.dsn, max_size=1) as store:
        store.sharing.clone_course(course_id, "cloner")  # warm: plans, caches
        service = _time(lambda: store.sharing.clone_course(course_id, "cloner"), args.rounds, args.dsn)
        cloner = store.as_user("cloner")
        as_user = _time(lambda: cloner.sharing.clone_course(course_id, "cloner"), args.rounds, args.dsn)
    with psycopg.connect(args.dsn) as conn:
        store = learnstore.Store.on(conn)
        tables = ("courses", "units", "lessons", "quizzes", "media")
        for table in tables:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_audit_insert")
        conn.execute("SAVEPOINT before_clones")

        def clone_and_forget() -> Course:
            clone = store.sharing.clone_course(course_id, "cloner")
            conn.execute("ROLLBACK TO SAVEPOINT before_clones")  # timed, but small beside the copy
            return clone

        no_audit = _time(clone_and_forget, args.rounds, None)
        conn.rollback()
    rows = UNITS + UNITS * LESSONS_PER_UNIT * 3 + 3
    lessons = UNITS * LESSONS_PER_UNIT
    print(f"clone of a course of {lessons} lessons ({rows + 1} rows copied), median of {args.rounds}:")
    print(f"  service path       {service * 1000:7.1f} ms")
    print(f"  as_user            {as_user * 1000:7.1f} ms")
    share = 1 - no_audit / service
    print(f"  audit triggers off {no_audit * 1000:7.1f} ms  (the audit's share: {share:.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
