"""16 concurrent posters in one course: what the course's post counter (forum_course_post_counts,
one row per course that every new post in it updates) costs them; with `--spread`, each poster in a
course of its own: what the platform's shards (forum_platform_post_counts, 16 rows that every post
in a published course updates, one per backend) cost them.

    python -m bench.forum_post_counter --dsn DSN [--posters 16] [--posts 25] [--spread]

On a migrated database of your own (it makes throwaway courses and users and removes them, and for
the second run disables a trigger for a few seconds: not on a database others use). Each poster is
an asyncio task with a connection of its own from learnstore's pool, writing `--posts` posts through
`store.forum.create_post` (one transaction each). The same load runs with the counter (as deployed)
and without it (its trigger disabled: the course counter's INSERT trigger on forum_posts, or with
`--spread` the platform's triggers on the course counters); prints both throughputs and checks that
the counter is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any
from uuid import UUID

import psycopg

import learnstore

#: posts each poster writes, untimed, before the timed ones
WARM_UP = 3

#: (table, trigger) that each design disables for its run without the counter
TRIGGERS = {
    False: [("forum_posts", "forum_posts_count_inserted")],
    True: [
        ("forum_course_post_counts", "forum_course_post_counts_count_platform_inserted"),
        ("forum_course_post_counts", "forum_course_post_counts_count_platform_updated"),
    ],
}


async def post(dsn: str, courses: list[UUID], posters: int, posts: int) -> float:
    async with await learnstore.connect_async(dsn, min_size=posters, max_size=posters, timeout=60) as store:

        async def poster(i: int, count: int) -> None:
            course_id = courses[i % len(courses)]
            for n in range(count):
                await store.forum.create_post(course_id, f"bench_poster_{i}", f"Post {n}", "A question")

        # Untimed first: each connection's first posts compile the triggers' PL/pgSQL and plan their
        # statements (a cold run took half the rate of a warm one, with or without the counter).
        await asyncio.gather(*(poster(i, WARM_UP) for i in range(posters)))
        start = time.perf_counter()
        await asyncio.gather(*(poster(i, posts) for i in range(posters)))
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--posters", type=int, default=16)
    parser.add_argument("--posts", type=int, default=25)
    parser.add_argument("--spread", action="store_true", help="each poster in a course of its own")
    args = parser.parse_args(argv)
    expected = args.posters * args.posts
    counter = "forum_platform_post_counts" if args.spread else "forum_course_post_counts"
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (clerk_id) SELECT 'bench_poster_' || i FROM generate_series(0, %s) i"
            " ON CONFLICT DO NOTHING",
            [args.posters - 1],
        )
        made: list[UUID] = []
        try:
            for name in ("with the counter", "without it"):
                courses = [
                    row[0]
                    for row in conn.execute(
                        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
                        " SELECT 'bench: posters', 'bench_poster_0', 'published', now()"
                        " FROM generate_series(1, %s) RETURNING id",
                        [args.posters if args.spread else 1],
                    ).fetchall()
                ]
                made += courses
                before = _counted(conn, counter, courses)
                if name == "without it":
                    for table, trigger in TRIGGERS[args.spread]:
                        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
                try:
                    elapsed = asyncio.run(post(args.dsn, courses, args.posters, args.posts))
                finally:
                    for table, trigger in TRIGGERS[args.spread]:
                        conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
                verdict = ""
                if name == "with the counter":
                    exact = _counted(conn, counter, courses) - before == expected + args.posters * WARM_UP
                    verdict = ", counter exact" if exact else ", counter WRONG"
                print(
                    f"{name:>18}: {expected} posts by {args.posters} posters in {len(courses)} course(s)"
                    f" in {elapsed:.2f} s, {expected / elapsed:,.0f} posts/s{verdict}"
                )
        finally:
            for course_id in made:
                conn.execute("DELETE FROM courses WHERE id = %s", [course_id])
            conn.execute("DELETE FROM users WHERE clerk_id LIKE 'bench\\_poster\\_%%'")
    return 0


def _counted(conn: psycopg.Connection[Any], counter: str, courses: list[UUID]) -> int:
    """The visible posts the counter holds: the courses' rows, or the platform's shards."""
    if counter == "forum_platform_post_counts":
        row = conn.execute("SELECT sum(visible_posts) FROM forum_platform_post_counts").fetchone()
    else:
        row = conn.execute(
            "SELECT coalesce(sum(visible_posts), 0) FROM forum_course_post_counts WHERE course_id = ANY (%s)",
            [courses],
        ).fetchone()
    assert row is not None
    return int(row[0] or 0)


if __name__ == "__main__":
    raise SystemExit(main())
