"""16 concurrent writers on the counters of migration 0029: awards that move learners between points
values (user_points_histogram) and completions of one lesson (lesson_progress_counts), with the
counters as deployed (8 shards a key), with one shard a key, and without them (triggers disabled).

    python -m bench.rank_counters --dsn DSN [--writers 16] [--each 20]

On a migrated database of your own: it makes throwaway users, a course and achievements and removes
them, and for a few seconds redefines the counters' add functions (one shard) or disables their
triggers: not on a database others use. Awards: each writer, in one transaction per award, gives
its own learners an achievement worth 10 points (a learner without points moves into the value 10:
every writer adds to that value's row). Completions: each writer's learners complete the course's
first lesson through `store.progress.set_lesson_status` (every writer adds to that lesson's row).
Prints each variant's throughput and checks that the counters are exact.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from uuid import UUID

import psycopg

import learnstore

PREFIX = "bench_rank_"
ADD_FUNCTIONS = (
    "user_points_histogram_add(integer[],bigint[])",
    "lesson_progress_counts_add(uuid[],bigint[],bigint[])",
    "user_progress_count_lessons()",
)
TRIGGERS = (
    ("user_points", "user_points_count_inserted"),
    ("user_points", "user_points_count_deleted"),
    ("user_progress", "user_progress_count_updated"),
    ("user_progress", "user_progress_count_inserted"),
    ("user_progress", "user_progress_count_deleted"),
)


Action = Callable[[psycopg.AsyncConnection[Any], learnstore.AsyncStore, int, int], Awaitable[Any]]


async def run(dsn: str, writers: int, action: Action, each: int) -> float:
    """Seconds for `writers` concurrent writers, each with a connection of its own (and a store
    whose pool has one for each), to run `action` `each` times, a transaction each."""
    connections = [await psycopg.AsyncConnection.connect(dsn, autocommit=True) for _ in range(writers)]
    try:
        async with await learnstore.connect_async(
            dsn, min_size=writers, max_size=writers, timeout=60
        ) as store:

            async def writer(i: int) -> None:
                for n in range(each):
                    await action(connections[i], store, i, n)

            start = time.perf_counter()
            await asyncio.gather(*(writer(i) for i in range(writers)))
            return time.perf_counter() - start
    finally:
        for conn in connections:
            await conn.close()


async def awarding(
    badge: UUID, each: int, raw: psycopg.AsyncConnection[Any], store: learnstore.AsyncStore, i: int, n: int
) -> None:
    """An award of `badge` to the writer's n-th learner, in a transaction of its own."""
    await raw.execute(
        "INSERT INTO user_achievements (user_clerk_id, achievement_id, progress, earned_at)"
        " VALUES (%s, %s, 1, now())",
        [f"{PREFIX}{i * each + n}", badge],
    )


async def completing(
    lesson: UUID, each: int, raw: psycopg.AsyncConnection[Any], store: learnstore.AsyncStore, i: int, n: int
) -> None:
    """The writer's n-th learner completes `lesson`."""
    await store.progress.set_lesson_status(f"{PREFIX}{i * each + n}", lesson, "completed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--each", type=int, default=20)
    args = parser.parse_args(argv)
    writers, each = args.writers, args.each
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        definitions = [
            conn.execute("SELECT pg_get_functiondef(%s::regprocedure)", [f]).fetchone()[0]  # type: ignore[index]
            for f in ADD_FUNCTIONS
        ]
        # the deployed variant twice, first and last: the first run of a database warms it up
        variants = ("8 shards (deployed)", "1 shard", "no counters", "8 shards (deployed)")
        course: UUID | None = None
        try:
            for variant in variants:
                conn.execute(f"DELETE FROM users WHERE clerk_id LIKE '{PREFIX}%%'")
                conn.execute(f"DELETE FROM courses WHERE title = '{PREFIX}'")
                conn.execute(f"DELETE FROM achievements WHERE code LIKE '{PREFIX.replace('_', '-')}%%'")
                conn.execute(
                    f"INSERT INTO users (clerk_id) SELECT '{PREFIX}' || i FROM generate_series(0, %s) i",
                    [writers * each - 1],
                )
                badge = conn.execute(
                    "INSERT INTO achievements (code, title, points, requirement)"
                    f" VALUES ('{PREFIX.replace('_', '-')}a', 'Bench', 10,"
                    """ '{"kind": "goals_completed", "threshold": 1000}') RETURNING id"""
                ).fetchone()[0]  # type: ignore[index]
                course = conn.execute(
                    "INSERT INTO courses (title, status, published_at)"
                    " VALUES (%s, 'published', now()) RETURNING id",
                    [PREFIX],
                ).fetchone()[0]  # type: ignore[index]
                unit = conn.execute(
                    "INSERT INTO units (course_id, title, position) VALUES (%s, 'U', 0) RETURNING id",
                    [course],
                ).fetchone()[0]  # type: ignore[index]
                lesson = conn.execute(
                    "INSERT INTO lessons (unit_id, title, content_type, content, position)"
                    """ VALUES (%s, 'L', 'text', '{"body": "x"}', 0) RETURNING id""",
                    [unit],
                ).fetchone()[0]  # type: ignore[index]
                conn.execute(
                    f"INSERT INTO user_courses (user_clerk_id, course_id) SELECT clerk_id, %s FROM users"
                    f" WHERE clerk_id LIKE '{PREFIX}%%'",
                    [course],
                )
                if variant == "1 shard":
                    for definition in definitions:
                        conn.execute(definition.replace("pg_backend_pid() % 8", "0"))
                if variant == "no counters":
                    for table, trigger in TRIGGERS:
                        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
                try:
                    awards = asyncio.run(run(args.dsn, writers, partial(awarding, badge, each), each))
                    lessons = asyncio.run(run(args.dsn, writers, partial(completing, lesson, each), each))
                finally:
                    if variant == "no counters":
                        # gone before the triggers count again: what they did not count in is not
                        # counted out either
                        conn.execute(f"DELETE FROM users WHERE clerk_id LIKE '{PREFIX}%%'")
                    for definition in definitions:
                        conn.execute(definition)
                    for table, trigger in TRIGGERS:
                        conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
                total = writers * each
                verdict = ""
                if variant != "no counters":
                    counted = conn.execute(
                        "SELECT (SELECT sum(learners) FROM user_points_histogram WHERE points = 10)"
                        " - (SELECT count(*) FROM user_points WHERE points = 10),"
                        " (SELECT sum(completed) FROM lesson_progress_counts WHERE lesson_id = %s)",
                        [lesson],
                    ).fetchone()
                    exact = counted is not None and counted[0] == 0 and counted[1] == total
                    verdict = ", counters exact" if exact else f", counters WRONG {counted}"
                print(
                    f"{variant:>20}: {total} awards in {awards:.2f} s ({total / awards:,.0f}/s),"
                    f" {total} completions of one lesson in {lessons:.2f} s"
                    f" ({total / lessons:,.0f}/s){verdict}"
                )
        finally:
            conn.execute(f"DELETE FROM users WHERE clerk_id LIKE '{PREFIX}%%'")
            conn.execute(f"DELETE FROM courses WHERE title = '{PREFIX}'")
            conn.execute(f"DELETE FROM achievements WHERE code LIKE '{PREFIX.replace('_', '-')}%%'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
