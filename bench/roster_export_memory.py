"""export_roster streams in constant memory: the peak Python allocation while it writes the rosters
of a mid-sized course, the flagship, and a throwaway course every user is enrolled in (rolled back).

    python -m bench.roster_export_memory [--dsn DSN]    # a loaded benchmark dataset (bench.dataset)
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from typing import Any

import psycopg

from bench import db
from learnstore import Store


def measure(store: Store, course_id: Any, viewer: str) -> tuple[int, float, int]:
    """(learners written, seconds, peak bytes allocated by Python) of one export to /dev/null."""
    with open(os.devnull, "w") as out:
        tracemalloc.start()
        start = time.perf_counter()
        rows = store.pages.export_roster(course_id, out, viewer=viewer)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return rows, elapsed, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", default=db.default_dsn())
    args = parser.parse_args(argv)
    with psycopg.connect(args.dsn) as conn:
        courses = conn.execute(
            "SELECT c.id, c.author_clerk_id FROM courses c JOIN user_courses uc ON uc.course_id = c.id"
            " GROUP BY c.id ORDER BY count(*) DESC, c.id"
        ).fetchall()
        (big, author), middle = courses[0], courses[len(courses) // 2]
        row = conn.execute(
            "INSERT INTO courses (author_clerk_id, title) VALUES (%s, 'everyone') RETURNING id", (author,)
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO user_courses (user_clerk_id, course_id) SELECT clerk_id, %s FROM users", (row[0],)
        )
        store = Store.on(conn)
        measure(store, middle[0], middle[1])  # warm-up: the queries load, the statement is planned
        for course_id, viewer in (middle, (big, author), (row[0], author)):
            rows, elapsed, peak = measure(store, course_id, viewer)
            print(
                f"export_roster: {rows:>7,} learners in {elapsed * 1000:6.0f} ms,"
                f" peak Python memory {peak / 1024:5.0f} KiB"
            )
        conn.rollback()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
