"""64 concurrent viewers of one post: view counts exact, and how many views a second they record.

    python -m bench.forum_views [--dsn DSN] [--viewers 64] [--views 50]

On a migrated database (any: it makes a throwaway course, post and users, and removes them): each
viewer is an asyncio task with a connection of its own from learnstore's pool, recording `--views`
views of the same post through `store.forum_pages.record_view` (16 counter shards). The same load
then runs against one counter row (an UPSERT on a scratch table, the hot-row design the shards
replace). Prints both throughputs and checks that each count is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from uuid import UUID

import psycopg

import learnstore
from bench import db

HOT_ROW = """
INSERT INTO bench_hot_post_views AS v (post_id, views) VALUES (%s, 1)
ON CONFLICT (post_id) DO UPDATE SET views = v.views + 1 RETURNING views
"""


async def sharded(dsn: str, post_id: UUID, viewers: int, views: int) -> tuple[float, int]:
    async with await learnstore.connect_async(dsn, min_size=viewers, max_size=viewers, timeout=60) as store:

        async def viewer() -> None:
            for _ in range(views):
                await store.forum_pages.record_view(post_id)

        start = time.perf_counter()
        await asyncio.gather(*(viewer() for _ in range(viewers)))
        elapsed = time.perf_counter() - start
        return elapsed, await store.forum_pages.views(post_id)


async def hot_row(dsn: str, post_id: UUID, viewers: int, views: int) -> tuple[float, int]:
    conns = [await psycopg.AsyncConnection.connect(dsn, autocommit=True) for _ in range(viewers)]
    try:

        async def viewer(conn: psycopg.AsyncConnection[tuple[int]]) -> None:
            for _ in range(views):
                await conn.execute(HOT_ROW, [post_id])

        start = time.perf_counter()
        await asyncio.gather(*(viewer(conn) for conn in conns))
        elapsed = time.perf_counter() - start
        cur = await conns[0].execute("SELECT views FROM bench_hot_post_views WHERE post_id = %s", [post_id])
        row = await cur.fetchone()
        return elapsed, row[0] if row else 0
    finally:
        for conn in conns:
            await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", default=db.default_dsn())
    parser.add_argument("--viewers", type=int, default=64)
    parser.add_argument("--views", type=int, default=50)
    args = parser.parse_args(argv)
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (clerk_id) VALUES ('bench_views_author') ON CONFLICT DO NOTHING")
        row = conn.execute(
            "INSERT INTO courses (title, author_clerk_id, status, published_at)"
            " VALUES ('bench: views', 'bench_views_author', 'published', now()) RETURNING id"
        ).fetchone()
        assert row is not None
        post = conn.execute(
            "INSERT INTO forum_posts (course_id, author_clerk_id, title, body)"
            " VALUES (%s, 'bench_views_author', 'Read me', 'Everyone does') RETURNING id",
            [row[0]],
        ).fetchone()
        assert post is not None
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_hot_post_views"
            " (post_id uuid PRIMARY KEY, views bigint NOT NULL)"
        )
        try:
            expected = args.viewers * args.views
            for name, run in (("16 shards (record_view)", sharded), ("one hot row", hot_row)):
                elapsed, count = asyncio.run(run(args.dsn, post[0], args.viewers, args.views))
                verdict = "exact" if count == expected else f"WRONG (expected {expected})"
                print(
                    f"{name:>24}: {count} views by {args.viewers} viewers in {elapsed:.2f} s,"
                    f" {expected / elapsed:,.0f} views/s, {verdict}"
                )
        finally:
            conn.execute("DROP TABLE bench_hot_post_views")
            conn.execute("DELETE FROM courses WHERE id = %s", [row[0]])
            conn.execute("DELETE FROM users WHERE clerk_id = 'bench_views_author'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
