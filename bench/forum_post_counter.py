"""16 concurrent posters in one course: what the course's post counter (forum_course_post_counts,
one row per course that every new post in it updates) costs them.

    python -m bench.forum_post_counter --dsn DSN [--posters 16] [--posts 25]

On a migrated database of your own (it makes a throwaway course and users and removes them, and for
the second run disables the counter's INSERT trigger on forum_posts for a few seconds: not on a
database others use). Each poster is an asyncio task with a connection of its own from learnstore's
pool, writing `--posts` posts through `store.forum.create_post` (one transaction each). The same load
runs with the counter (as deployed) and without it (the trigger disabled); prints both throughputs
and checks that the counter is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from uuid import UUID

import psycopg

import learnstore

TRIGGER = "forum_posts_count_inserted"


async def post(dsn: str, course_id: UUID, posters: int, posts: int) -> float:
    async with await learnstore.connect_async(dsn, min_size=posters, max_size=posters, timeout=60) as store:

        async def poster(i: int) -> None:
            for n in range(posts):
                await store.forum.create_post(course_id, f"bench_poster_{i}", f"Post {n}", "A question")

        start = time.perf_counter()
        await asyncio.gather(*(poster(i) for i in range(posters)))
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--posters", type=int, default=16)
    parser.add_argument("--posts", type=int, default=25)
    args = parser.parse_args(argv)
    expected = args.posters * args.posts
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (clerk_id) SELECT 'bench_poster_' || i FROM generate_series(0, %s) i"
            " ON CONFLICT DO NOTHING",
            [args.posters - 1],
        )
        courses = []
        try:
            for name in ("with the counter", "without it"):
                row = conn.execute(
                    "INSERT INTO courses (title, author_clerk_id, status, published_at)"
                    " VALUES ('bench: posters', 'bench_poster_0', 'published', now()) RETURNING id"
                ).fetchone()
                assert row is not None
                courses.append(row[0])
                if name == "without it":
                    conn.execute(f"ALTER TABLE forum_posts DISABLE TRIGGER {TRIGGER}")
                try:
                    elapsed = asyncio.run(post(args.dsn, row[0], args.posters, args.posts))
                finally:
                    conn.execute(f"ALTER TABLE forum_posts ENABLE TRIGGER {TRIGGER}")
                counted = conn.execute(
                    "SELECT coalesce(sum(visible_posts), 0) FROM forum_course_post_counts"
                    " WHERE course_id = %s",
                    [row[0]],
                ).fetchone()
                verdict = ""
                if name == "with the counter":
                    verdict = ", counter exact" if counted and counted[0] == expected else ", counter WRONG"
                print(
                    f"{name:>18}: {expected} posts by {args.posters} posters in {elapsed:.2f} s,"
                    f" {expected / elapsed:,.0f} posts/s{verdict}"
                )
        finally:
            for course_id in courses:
                conn.execute("DELETE FROM courses WHERE id = %s", [course_id])
            conn.execute("DELETE FROM users WHERE clerk_id LIKE 'bench\\_poster\\_%%'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
