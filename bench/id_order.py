"""What random ids cost a growing table: batches of inserts, with random (v4) and time-ordered (v7) ids.

    python -m bench.id_order                         # 16 million rows each, batches of 200,000
    python -m bench.id_order --rows 2000000          # a quicker look

Each kind fills a table of its own, shaped like the lesson statuses (a uuid primary key, a unique
key on learner and lesson, a batch's learners contiguous as a bulk import's are), in
`learnstore_bench_ids` (recreated and migrated, so the ids come from learnstore's own `uuidv7()`,
migration 0035). A batch's seconds are printed as the table grows. With random ids each insert
lands on a random leaf of the primary key: once the index outgrows shared_buffers the batches slow
down; with time-ordered ids they land on its right edge and do not. docs/scaling.md quotes a run.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import psycopg
from psycopg import sql

from bench import db

KINDS = {"random (v4)": "gen_random_uuid()", "time-ordered (v7)": "uuidv7()"}


def fill(conn: psycopg.Connection[Any], default: str, rows: int, batch: int) -> list[float]:
    """Seconds per batch, inserting `rows` rows `batch` at a time into a new table whose ids come from
    `default` (one of KINDS: a constant of this module, never input)."""
    conn.execute("DROP TABLE IF EXISTS id_order")
    conn.execute(
        sql.SQL(
            "CREATE TABLE id_order (id uuid PRIMARY KEY DEFAULT {}, learner text NOT NULL,"
            " lesson int NOT NULL, UNIQUE (learner, lesson))"
        ).format(sql.SQL(default))
    )
    seconds = []
    for first in range(0, rows, batch):
        start = time.perf_counter()
        conn.execute(
            "INSERT INTO id_order (learner, lesson)"
            " SELECT format('user_%%s', to_char((%(first)s + g) / 20, 'FM00000000')), g %% 20"
            " FROM generate_series(0, %(n)s - 1) AS g",
            {"first": first, "n": min(batch, rows - first)},
        )
        seconds.append(time.perf_counter() - start)
    conn.execute("DROP TABLE id_order")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=16_000_000)
    parser.add_argument("--batch", type=int, default=200_000)
    parser.add_argument("--dsn", default=db.with_database(db.SERVER_DSN, "learnstore_bench_ids"))
    args = parser.parse_args(argv)
    db.recreate(args.dsn)
    print(f"{args.rows:,} rows in batches of {args.batch:,}; seconds a batch")
    print("| ids | first 5 batches | last 5 batches | all |")
    print("|---|---:|---:|---:|")
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        for kind, default in KINDS.items():
            seconds = fill(conn, default, args.rows, args.batch)
            head, tail = sum(seconds[:5]) / 5, sum(seconds[-5:]) / 5
            print(f"| {kind} | {head:.2f} | {tail:.2f} | {sum(seconds):.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
