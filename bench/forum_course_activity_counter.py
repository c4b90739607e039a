"""16 concurrent likers in one course: what the course's trending rollup (forum_course_activity, one
row per course and hour that every post, reply and like of the course adds to) costs them.

    python -m bench.forum_course_activity_counter --dsn DSN [--likers 16] [--likes 25]

On a migrated database of your own (it makes throwaway courses, authors, posts and likers and
removes them; for some runs it disables the rollup's triggers on forum_post_likes, or replaces
forum_course_activity_add by a one-row version, for a few seconds: not on a database others use).
Each liker is an asyncio task with a connection of its own from learnstore's pool, liking `--likes`
posts of an author of its own through `store.forum.like_post` (one transaction each), so only the
course's rows are shared. The runs: every liker in a course of its own (the rollup's work without
a queue), all in one course (as deployed: up to 16 shard rows for the hour), all in one course
with one row per course and hour (the function replaced: the queue sharding avoids), and all in
one course without the rollup (the triggers disabled); prints the throughputs and checks that the
rollup is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any
from uuid import UUID

import psycopg

import learnstore

TRIGGERS = ("forum_post_likes_course_activity_inserted", "forum_post_likes_course_activity_deleted")
#: the shard expression as PostgreSQL prints the function back (BEGIN ATOMIC: parsed, then deparsed)
SHARD = "((((pg_current_xact_id())::text)::bigint % (16)::bigint))::smallint"


async def like(dsn: str, posts: list[list[UUID]], likers: int) -> float:
    async with await learnstore.connect_async(dsn, min_size=likers, max_size=likers, timeout=60) as store:

        async def liker(i: int) -> None:
            for post in posts[i]:
                await store.forum.like_post(post, f"bench_liker_{i}")

        start = time.perf_counter()
        await asyncio.gather(*(liker(i) for i in range(likers)))
        return time.perf_counter() - start


def course(conn: psycopg.Connection[Any]) -> UUID:
    row = conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES ('bench: trending likers', 'bench_author_0', 'published', now()) RETURNING id"
    ).fetchone()
    assert row is not None
    course_id: UUID = row[0]
    return course_id


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
        row = conn.execute(
            "SELECT pg_get_functiondef('forum_course_activity_add(jsonb)'::regprocedure)"
        ).fetchone()
        assert row is not None and SHARD in row[0]
        sharded: str = row[0]
        conn.execute(
            "INSERT INTO users (clerk_id) SELECT 'bench_liker_' || i FROM generate_series(0, %s) i"
            " UNION ALL SELECT 'bench_author_' || i FROM generate_series(0, %s) i ON CONFLICT DO NOTHING",
            [args.likers - 1, args.likers - 1],
        )
        courses: list[UUID] = []
        try:
            # a first round unreported: the server's plans and caches warm for all
            for name, spread, mode in (
                ("warm-up", True, "sharded"),
                ("a course each", True, "sharded"),
                ("one course", False, "sharded"),
                ("one course, one row", False, "one row"),
                ("one course, no rollup", False, "off"),
                ("one course, one row", False, "one row"),
                ("one course", False, "sharded"),
                ("a course each", True, "sharded"),
            ):
                shared = course(conn)
                courses.append(shared)
                posts = []
                for i in range(args.likers):
                    where = course(conn) if spread else shared
                    if spread:
                        courses.append(where)
                    posts.append([
                        r[0]
                        for r in conn.execute(
                            "INSERT INTO forum_posts (course_id, author_clerk_id, title, body)"
                            " SELECT %s, %s, 'Post ' || g, 'A post' FROM generate_series(1, %s) g"
                            " RETURNING id",
                            [where, f"bench_author_{i}", args.likes],
                        ).fetchall()
                    ])  # fmt: skip
                before = conn.execute("SELECT coalesce(sum(events), 0) FROM forum_course_activity").fetchone()
                assert before is not None
                if mode == "off":
                    for trigger in TRIGGERS:
                        conn.execute(f"ALTER TABLE forum_post_likes DISABLE TRIGGER {trigger}")
                if mode == "one row":
                    conn.execute(sharded.replace(SHARD, "0::smallint"))
                try:
                    elapsed = asyncio.run(like(args.dsn, posts, args.likers))
                finally:
                    for trigger in TRIGGERS:
                        conn.execute(f"ALTER TABLE forum_post_likes ENABLE TRIGGER {trigger}")
                    conn.execute(sharded)
                verdict = ""
                if mode != "off" and name != "warm-up":
                    after = conn.execute(
                        "SELECT coalesce(sum(events), 0) FROM forum_course_activity"
                    ).fetchone()
                    assert after is not None
                    exact = after[0] - before[0] == expected
                    verdict = ", rollup exact" if exact else f", rollup WRONG ({after[0] - before[0]})"
                if name != "warm-up":
                    print(
                        f"{name:>22}: {expected} likes by {args.likers} likers in {elapsed:.2f} s,"
                        f" {expected / elapsed:,.0f} likes/s{verdict}"
                    )
                for course_id in courses:
                    conn.execute("DELETE FROM courses WHERE id = %s", [course_id])
                courses.clear()
        finally:
            conn.execute(sharded)
            for course_id in courses:
                conn.execute("DELETE FROM courses WHERE id = %s", [course_id])
            conn.execute(
                "DELETE FROM users"
                " WHERE clerk_id LIKE 'bench\\_liker\\_%%' OR clerk_id LIKE 'bench\\_author\\_%%'"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
