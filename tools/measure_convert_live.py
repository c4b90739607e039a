"""Time convert_live's steps on a plain table of N rows: `python tools/measure_convert_live.py DSN [N]`.

The DSN is a migrated learnstore database (convert_live needs migration 0019's functions); the table
`bench_log` is created there, filled, converted, and left for a look (drop it afterwards). The swap is
the only step that holds a lock blocking writes.
"""

from __future__ import annotations

import sys
import time

import psycopg

from learnstore.partitions import convert_live


def main(dsn: str, rows: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_log CASCADE")
        conn.execute(
            "CREATE TABLE bench_log (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
            " at timestamptz NOT NULL, kind text NOT NULL)"
        )
        conn.execute(
            "INSERT INTO bench_log (at, kind)"
            " SELECT now() - n * interval '1 minute', 'view' FROM generate_series(1, %s) AS n",
            [rows],
        )
        conn.execute("VACUUM ANALYZE bench_log")
    marks: dict[str, float] = {}
    start = time.perf_counter()
    convert_live(dsn, "bench_log", "at", on_progress=lambda step: marks.setdefault(step, time.perf_counter()))
    end = time.perf_counter()
    steps = list(marks)
    for step, until in zip(steps, [*(marks[s] for s in steps[1:]), end], strict=True):
        print(f"{step:9s} {until - marks[step]:.3f} s")
    print(f"total     {end - start:.3f} s ({rows:,} rows)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
