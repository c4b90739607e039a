"""16 concurrent writers earning points in one course: what a course's leaderboard (migration 0032)
costs the awards that feed it. With the copy and the histogram as deployed (course_points, and
course_points_histogram with 8 shards a value), with the histogram on one shard, and without either
(their triggers disabled).

    python -m bench.course_board_counters --dsn DSN [--writers 16] [--each 20]

On a migrated database of your own: it makes throwaway users, a course and achievements and removes
them, and for a few seconds redefines the histogram's trigger function (one shard) or disables the
triggers: not on a database others use. Every learner is enrolled in the course; each writer, in one
transaction per award, gives its own learners a first achievement worth 10 points (a new user_points
row: the learner's row is copied onto their enrolment, counted into the value 10), then a second
worth 30 (an update: the copy moves from 10 to 40). Prints each variant's throughput and checks that
the copy and the histogram are exact.
"""

from __future__ import annotations

import argparse
import asyncio
from functools import partial
from typing import Any
from uuid import UUID

import psycopg

import learnstore
from bench.rank_counters import run

PREFIX = "bench_board_"
HISTOGRAM_FUNCTION = "course_points_count_histogram()"
TRIGGERS = (
    ("user_points", "user_points_copy_inserted"),
    ("user_points", "user_points_copy_updated"),
    ("user_points", "user_points_copy_deleted"),
    ("user_courses", "user_courses_copy_points"),
)


async def awarding(
    badge: UUID, each: int, raw: psycopg.AsyncConnection[Any], store: learnstore.AsyncStore, i: int, n: int
) -> None:
    """An award of `badge` to the writer's n-th learner, in a transaction of its own."""
    await raw.execute(
        "INSERT INTO user_achievements (user_clerk_id, achievement_id, progress, earned_at)"
        " VALUES (%s, %s, 1, now())",
        [f"{PREFIX}{i * each + n}", badge],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--each", type=int, default=20)
    args = parser.parse_args(argv)
    writers, each = args.writers, args.each
    code = PREFIX.replace("_", "-")
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_get_functiondef(%s::regprocedure)", [HISTOGRAM_FUNCTION]).fetchone()
        assert row is not None
        definition: str = row[0]
        # the deployed variant twice, first and last: the first run of a database warms it up
        variants = ("8 shards (deployed)", "1 shard", "no course board", "8 shards (deployed)")
        try:
            for variant in variants:
                conn.execute(f"DELETE FROM users WHERE clerk_id LIKE '{PREFIX}%%'")
                conn.execute(f"DELETE FROM courses WHERE title = '{PREFIX}'")
                conn.execute(f"DELETE FROM achievements WHERE code LIKE '{code}%%'")
                conn.execute(
                    f"INSERT INTO users (clerk_id) SELECT '{PREFIX}' || i FROM generate_series(0, %s) i",
                    [writers * each - 1],
                )
                first, second = (
                    conn.execute(
                        "INSERT INTO achievements (code, title, points, requirement)"
                        f" VALUES ('{code}' || %s, 'Bench', %s,"
                        """ '{"kind": "goals_completed", "threshold": 1000}') RETURNING id""",
                        [name, points],
                    ).fetchone()[0]  # type: ignore[index]
                    for name, points in (("a", 10), ("b", 30))
                )
                course = conn.execute(
                    "INSERT INTO courses (title, status, published_at)"
                    " VALUES (%s, 'published', now()) RETURNING id",
                    [PREFIX],
                ).fetchone()[0]  # type: ignore[index]
                conn.execute(
                    f"INSERT INTO user_courses (user_clerk_id, course_id) SELECT clerk_id, %s FROM users"
                    f" WHERE clerk_id LIKE '{PREFIX}%%'",
                    [course],
                )
                if variant == "1 shard":
                    conn.execute(definition.replace("pg_backend_pid() % 8", "0"))
                if variant == "no course board":
                    for table, trigger in TRIGGERS:
                        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
                try:
                    firsts = asyncio.run(run(args.dsn, writers, partial(awarding, first, each), each))
                    seconds = asyncio.run(run(args.dsn, writers, partial(awarding, second, each), each))
                finally:
                    if variant == "no course board":
                        # gone before the triggers copy again: what they did not copy in is not
                        # copied out either
                        conn.execute(f"DELETE FROM users WHERE clerk_id LIKE '{PREFIX}%%'")
                    conn.execute(definition)
                    for table, trigger in TRIGGERS:
                        conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
                total = writers * each
                verdict = ""
                if variant != "no course board":
                    counted = conn.execute(
                        "SELECT (SELECT count(*) FROM course_points WHERE course_id = %(c)s AND points = 40),"
                        " (SELECT sum(learners) FROM course_points_histogram WHERE course_id = %(c)s"
                        "  AND points = 40),"
                        " (SELECT coalesce(sum(learners), 0) FROM course_points_histogram"
                        "  WHERE course_id = %(c)s AND points <> 40)",
                        {"c": course},
                    ).fetchone()
                    exact = counted == (total, total, 0)
                    verdict = ", copy and histogram exact" if exact else f", WRONG {counted}"
                print(
                    f"{variant:>20}: {total} first awards in {firsts:.2f} s ({total / firsts:,.0f}/s),"
                    f" {total} second awards in {seconds:.2f} s ({total / seconds:,.0f}/s){verdict}"
                )
        finally:
            conn.execute(f"DELETE FROM users WHERE clerk_id LIKE '{PREFIX}%%'")
            conn.execute(f"DELETE FROM courses WHERE title = '{PREFIX}'")
            conn.execute(f"DELETE FROM achievements WHERE code LIKE '{code}%%'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
