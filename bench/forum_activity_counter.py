"""16 concurrent likers of one author's posts: what the author's activity counter row
(forum_user_activity, whose likes received every like of their posts updates) costs them.

    python -m bench.forum_activity_counter --dsn DSN [--likers 16] [--likes 25]

On a migrated database of your own (it makes throwaway courses, authors, posts and likers and
removes them, and for the last run disables the counter's triggers on forum_post_likes for a few
seconds: not on a database others use). Each liker is an asyncio task with a connection of its own
from learnstore's pool, liking `--likes` posts through `store.forum.like_post` (one transaction
each). Three runs of the same load: every liker liking one author's posts (the hot row, as
deployed), each liker liking an author of their own (the counter's work without the queue), and
one author without the counter (the triggers disabled); prints the throughputs and checks that the
counters are exact.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from uuid import UUID

import psycopg

import learnstore

TRIGGERS = ("forum_post_likes_activity_inserted", "forum_post_likes_activity_deleted")


async def like(dsn: str, posts: list[list[UUID]], likers: int) -> float:
    async with await learnstore.connect_async(dsn, min_size=likers, max_size=likers, timeout=60) as store:

        async def liker(i: int) -> None:
            # each liker starts at a post of its own: likers of one author, not of one post at once
            for n in range(len(posts[i])):
                await store.forum.like_post(posts[i][(n + i) % len(posts[i])], f"bench_liker_{i}")

        start = time.perf_counter()
        await asyncio.gather(*(liker(i) for i in range(likers)))
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--likers", type=int, default=16)
    parser.add_argument("--likes", type=int, default=25)
    args = parser.parse_args(argv)
    expected = args.likers * args.likes
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (clerk_id) SELECT 'bench_liker_' || i FROM generate_series(0, %s) i"
            " UNION ALL SELECT 'bench_author_' || i FROM generate_series(0, %s) i ON CONFLICT DO NOTHING",
            [args.likers - 1, args.likers - 1],
        )
        courses: list[UUID] = []
        try:
            # a first round unreported: the server's plans and caches warm for all three
            for name, spread, counted in (
                ("warm-up", True, True),
                ("an author each", True, True),
                ("one author", False, True),
                ("one author, no counter", False, False),
                ("one author", False, True),
                ("an author each", True, True),
            ):
                row = conn.execute(
                    "INSERT INTO courses (title, author_clerk_id, status, published_at)"
                    " VALUES ('bench: likers', 'bench_author_0', 'published', now()) RETURNING id"
                ).fetchone()
                assert row is not None
                courses.append(row[0])
                posts = [
                    [
                        r[0]
                        for r in conn.execute(
                            "INSERT INTO forum_posts (course_id, author_clerk_id, title, body)"
                            " SELECT %s, %s, 'Post ' || g, 'A post' FROM generate_series(1, %s) g"
                            " RETURNING id",
                            [row[0], f"bench_author_{i if spread else 0}", args.likes],
                        ).fetchall()
                    ]
                    for i in range(args.likers)
                ]
                if not counted:
                    for trigger in TRIGGERS:
                        conn.execute(f"ALTER TABLE forum_post_likes DISABLE TRIGGER {trigger}")
                try:
                    elapsed = asyncio.run(like(args.dsn, posts, args.likers))
                    if not counted:  # the likes the counter never saw go unseen too
                        conn.execute("DELETE FROM forum_post_likes l USING forum_posts p"
                                     " WHERE p.id = l.post_id AND p.course_id = %s", [row[0]])  # fmt: skip
                finally:
                    for trigger in TRIGGERS:
                        conn.execute(f"ALTER TABLE forum_post_likes ENABLE TRIGGER {trigger}")
                verdict = ""
                if counted and name != "warm-up":
                    received = conn.execute(
                        "SELECT coalesce(sum(likes_received), 0) FROM forum_user_activity"
                        " WHERE clerk_id LIKE 'bench\\_author\\_%%'"
                    ).fetchone()
                    exact = received is not None and received[0] == expected
                    verdict = ", counters exact" if exact else f", counters WRONG ({received})"
                if name != "warm-up":
                    print(
                        f"{name:>22}: {expected} likes by {args.likers} likers in {elapsed:.2f} s,"
                        f" {expected / elapsed:,.0f} likes/s{verdict}"
                    )
                conn.execute("DELETE FROM courses WHERE id = %s", [courses.pop()])
        finally:
            for course_id in courses:
                conn.execute("DELETE FROM courses WHERE id = %s", [course_id])
            conn.execute(
                "DELETE FROM users"
                " WHERE clerk_id LIKE 'bench\\_liker\\_%%' OR clerk_id LIKE 'bench\\_author\\_%%'"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
