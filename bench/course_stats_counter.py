"""16 concurrent learners in one course: what the course's summary (course_stats, which every
enrolment and progress change in the course updates) costs them, sharded and not.

    python -m bench.course_stats_counter --dsn DSN [--writers 16] [--learners 10] [--rounds 3]

On a migrated database of your own: it makes a throwaway course (two lessons) and users and removes
them, and between runs replaces `course_stats_shard` (one shard for all) or disables the summary's
triggers on user_courses for a few seconds: not on a database others use. Each writer is an asyncio
task with a connection of its own from learnstore's pool; for each of its `--learners` learners it
enrols (one transaction) and completes the first lesson (another: the progress recompute updates
the enrolment). Three setups, interleaved over `--rounds` rounds, each on a fresh course: as
deployed (16 shards), one shard (every writer updates one row), and no summary (the triggers
disabled). Prints the median throughput of each and checks that the summary is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from uuid import UUID

import psycopg

import learnstore

TRIGGERS = ("user_courses_count_stats_inserted", "user_courses_count_stats_updated")
SHARDED = (
    "CREATE OR REPLACE FUNCTION course_stats_shard(p_user_clerk_id text) RETURNS smallint"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp"
    " RETURN (pg_catalog.hashtext(coalesce(p_user_clerk_id, '')) OPERATOR(pg_catalog.&) 15)::smallint"
)
ONE_SHARD = SHARDED.split(" RETURN ")[0] + " RETURN 0::smallint"


async def learn(dsn: str, course_id: UUID, lesson_id: UUID, writers: int, learners: int, tag: str) -> float:
    async with await learnstore.connect_async(dsn, min_size=writers, max_size=writers, timeout=60) as store:

        async def writer(i: int) -> None:
            for n in range(learners):
                clerk_id = f"bench_cs_{i}_{n}"
                await store.progress.enrol(clerk_id, course_id)
                await store.progress.set_lesson_status(clerk_id, lesson_id, "completed")

        start = time.perf_counter()
        await asyncio.gather(*(writer(i) for i in range(writers)))
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    transactions = args.writers * args.learners * 2
    times: dict[str, list[float]] = {"16 shards": [], "one shard": [], "no summary": []}
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (clerk_id) SELECT 'bench_cs_' || i || '_' || n"
            " FROM generate_series(0, %s) i, generate_series(0, %s) n ON CONFLICT DO NOTHING",
            [args.writers - 1, args.learners - 1],
        )
        try:
            for _ in range(args.rounds):
                for name in times:
                    row = conn.execute(
                        "INSERT INTO courses (title, status, published_at)"
                        " VALUES ('bench: learners', 'published', now()) RETURNING id"
                    ).fetchone()
                    assert row is not None
                    course_id: UUID = row[0]
                    unit = conn.execute(
                        "INSERT INTO units (course_id, title, position) VALUES (%s, 'U', 0) RETURNING id",
                        [course_id],
                    ).fetchone()
                    assert unit is not None
                    lessons = [
                        conn.execute(
                            "INSERT INTO lessons"
                            " (unit_id, title, position, content_type, content, duration_seconds)"
                            " VALUES (%s, %s, %s, 'text', '{\"body\": \"b\"}', 60) RETURNING id",
                            [unit[0], f"L{i}", i],
                        ).fetchone()
                        for i in range(2)
                    ]
                    lesson_id = lessons[0][0]  # type: ignore[index]
                    if name == "one shard":
                        conn.execute(ONE_SHARD)
                    for trigger in TRIGGERS if name == "no summary" else ():
                        conn.execute(f"ALTER TABLE user_courses DISABLE TRIGGER {trigger}")
                    try:
                        elapsed = asyncio.run(
                            learn(args.dsn, course_id, lesson_id, args.writers, args.learners, name)
                        )
                    finally:
                        conn.execute(SHARDED)
                        for trigger in TRIGGERS:
                            conn.execute(f"ALTER TABLE user_courses ENABLE TRIGGER {trigger}")
                    times[name].append(elapsed)
                    if name != "no summary":
                        stored = conn.execute(
                            "SELECT sum(enrolments), sum(completions), sum(progress_sum), count(*)"
                            " FROM course_stats WHERE course_id = %s",
                            [course_id],
                        ).fetchone()
                        learners = args.writers * args.learners
                        assert stored is not None
                        exact = stored[:3] == (learners, 0, learners * 50)
                        print(f"  {name}: {stored[3]} rows, summary {'exact' if exact else 'WRONG'}")
                    conn.execute("DELETE FROM courses WHERE id = %s", [course_id])
        finally:
            conn.execute(SHARDED)
            conn.execute("DELETE FROM users WHERE clerk_id LIKE 'bench\\_cs\\_%%'")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(
            f"{name:>11}: {transactions} transactions by {args.writers} writers, median of {len(runs)}"
            f" {median:.2f} s, {transactions / median:,.0f} transactions/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
