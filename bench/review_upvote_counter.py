"""16 concurrent upvoters of one review: what its upvote count (feedback_upvote_counts, one row per
review that every upvote of it updates) costs them, against no count and against 16 reviews.

    python -m bench.review_upvote_counter --dsn DSN [--writers 16] [--voters 20] [--rounds 3]

On a migrated database of your own: it makes a throwaway course, 16 reviewers and the voters, and
removes them, and between runs disables the count's triggers on feedback_upvotes for a few seconds:
not on a database others use. Each writer is an asyncio task with a connection of its own from
learnstore's pool; each of its `--voters` voters upvotes (one transaction each, as
`reviews.upvote_review` runs it). Three setups, interleaved over `--rounds` rounds, each on fresh
reviews: every writer upvotes one review (its counter row is the hot row), no count (the triggers
disabled: what upvoting cost before migration 0030), and each writer a review of its own (no two
writers share a counter row). Prints the median throughput of each and checks the counts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from uuid import UUID

import psycopg

import learnstore

TRIGGERS = ("feedback_upvotes_count_inserted",)
SETUPS = ("one review", "no count", "16 reviews")


async def upvote(dsn: str, reviews: list[UUID], writers: int, voters: int) -> float:
    async with await learnstore.connect_async(dsn, min_size=writers, max_size=writers, timeout=60) as store:

        async def writer(i: int) -> None:
            review = reviews[i % len(reviews)]
            for n in range(voters):
                await store.reviews.upvote_review(review, f"bench_uv_{i}_{n}")

        start = time.perf_counter()
        await asyncio.gather(*(writer(i) for i in range(writers)))
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--voters", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    transactions = args.writers * args.voters
    times: dict[str, list[float]] = {name: [] for name in SETUPS}
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (clerk_id) SELECT 'bench_uv_' || i || '_' || n"
            " FROM generate_series(0, %s) i, generate_series(0, %s) n"
            " UNION ALL SELECT 'bench_uv_r' || i FROM generate_series(0, 15) i ON CONFLICT DO NOTHING",
            [args.writers - 1, args.voters - 1],
        )
        try:
            for _ in range(args.rounds):
                for name in SETUPS:
                    row = conn.execute(
                        "INSERT INTO courses (title, status, published_at)"
                        " VALUES ('bench: upvotes', 'published', now()) RETURNING id"
                    ).fetchone()
                    assert row is not None
                    course_id: UUID = row[0]
                    reviews = [
                        r[0]
                        for r in conn.execute(
                            "INSERT INTO course_feedback (course_id, user_clerk_id, rating)"
                            " SELECT %s, 'bench_uv_r' || i, 4 FROM generate_series(0, 15) i RETURNING id",
                            [course_id],
                        ).fetchall()
                    ]
                    targets = reviews if name == "16 reviews" else reviews[:1]
                    for trigger in TRIGGERS if name == "no count" else ():
                        conn.execute(f"ALTER TABLE feedback_upvotes DISABLE TRIGGER {trigger}")
                    try:
                        elapsed = asyncio.run(upvote(args.dsn, targets, args.writers, args.voters))
                    finally:
                        for trigger in TRIGGERS:
                            conn.execute(f"ALTER TABLE feedback_upvotes ENABLE TRIGGER {trigger}")
                    times[name].append(elapsed)
                    if name != "no count":
                        stored = conn.execute(
                            "SELECT sum(upvotes) FROM feedback_upvote_counts WHERE course_id = %s",
                            [course_id],
                        ).fetchone()
                        assert stored is not None
                        exact = stored[0] == transactions
                        print(f"  {name}: {stored[0]} upvotes counted, {'exact' if exact else 'WRONG'}")
                    conn.execute("DELETE FROM courses WHERE id = %s", [course_id])
        finally:
            for trigger in TRIGGERS:
                conn.execute(f"ALTER TABLE feedback_upvotes ENABLE TRIGGER {trigger}")
            conn.execute("DELETE FROM users WHERE clerk_id LIKE 'bench\\_uv\\_%%'")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(
            f"{name:>10}: {transactions} upvotes by {args.writers} writers, median of {len(runs)}"
            f" {median:.2f} s, {transactions / median:,.0f} transactions/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
