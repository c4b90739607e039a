"""A deterministic learning-platform dataset at a named scale, loaded through learnstore's bulk path.

    python -m bench.dataset --scale small            # into learnstore_bench on the local server
    python -m bench.dataset --scale large --dsn ...  # into a migrated database of your own
    python -m bench.dataset --scale million --dsn .../learnstore_bench_million --record

`--record` appends the load's timings (rows and seconds per table, the generator's seconds, the
wall time and the database's size) to bench/history/loads.jsonl, from a committed checkout only,
which docs/scaling.md's "Growth" section is generated from (bench.growth).

Users, courses (with units and lessons), enrolments, lesson progress and login days go in through
`store.imports` (binary COPY, validated); languages and tags through `store.catalog`. The tables
learnstore has no bulk path for (notifications, feedback) are copied with plain binary COPY.
The same seed and scale always give the same rows, ids included.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import db, provenance
from learnstore import sample
from learnstore.migrate import upgrade

# The generator lives in the package (learnstore.sample), where `learnstore demo` uses it too.
from learnstore.sample import FLAGSHIP_TITLE, NOW, SCALES, SEED, LoadReport, Scale

__all__ = ["BENCH_LEARNERS", "FLAGSHIP_TITLE", "NOW", "SCALES", "SEED", "ensure", "load"]

#: every recorded load (--record): the timings docs/scaling.md quotes
LOADS = Path(__file__).resolve().parent / "history" / "loads.jsonl"

#: learners the runner measures with: the same data for every implementation, and one each for writes
BENCH_LEARNERS = ("bench_learnstore", "bench_pool", "bench_raw", "bench_orm")


def load(dsn: str, scale: Scale, *, seed: int = SEED, say: Callable[[str], None] = print) -> LoadReport:
    """Generate the dataset of `scale` and write it into the (migrated, empty) database of `dsn`."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Before the load, whose sessions (opened by sample.load) then plan without JIT too: a
        # batch's recompute of enrolment progress spent 3.1 s of 43 compiling at 30% of the million
        # scale, and the import's triggers' statements are planned for a batch as well.
        without_jit(conn)
    report = sample.load(dsn, scale, seed=seed, featured=BENCH_LEARNERS, now=NOW, say=say)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_meta (scale text NOT NULL, seed bigint NOT NULL, loaded_at timestamptz)"
        )
        conn.execute("INSERT INTO bench_meta VALUES (%s, %s, now())", (scale.name, seed))
    return report


def without_jit(conn: psycopg.Connection[Any]) -> None:
    """JIT off for the dataset's database (new sessions): at the million scale the plans of the
    platform-wide reads cost more than jit_above_cost, and compiling them took 0.7-1.9 s of a
    30-50 ms recommendation query (docs/scaling.md#growth). Every scale gets it, for like with like."""
    conn.execute(sql.SQL("ALTER DATABASE {} SET jit = off").format(sql.Identifier(conn.info.dbname)))


def ensure(
    dsn: str | None,
    scale_name: str,
    *,
    reload: bool = False,
    say: Callable[[str], None] = print,
    record: Path | None = None,
) -> str:
    """The DSN of a database holding the dataset of `scale_name`, generating it when needed.

    Without `dsn`: `learnstore_bench` on the local server, recreated when it holds another scale.
    With `dsn`: that database, which must be empty or hold this scale already. With `record`, a load
    appends its timings there (refused before loading when the checkout has uncommitted changes).
    """
    scale = SCALES[scale_name]
    target = dsn or db.default_dsn()
    loaded = db.loaded_scale(target)
    if loaded == scale.name and not reload:
        upgrade(target)  # a dataset loaded before a new migration gets it (nothing to do: ~50 ms)
        return target
    # Taken before the load: the code measured is the code imported now, whatever the tree becomes.
    meta = {"commit": provenance.commit().label, "load": {"before": provenance.load()}}
    if record is not None and not provenance.publishable(meta):
        raise SystemExit(f"--record needs a committed checkout: {meta['commit']}")
    if dsn is None or reload:
        say(f"creating and migrating {target}")
        db.recreate(target)
    else:
        db.create_if_missing(target)
        upgrade(target)
    started = time.perf_counter()
    report = load(target, scale, say=say)
    wall = time.perf_counter() - started
    say(report.table())
    say(f"loaded in {wall:.0f} s (wall)")
    if record is not None:
        meta["load"]["after"] = provenance.load()
        provenance.append(record, _load_record(target, scale, report, wall, meta))
    return target


def _load_record(
    dsn: str, scale: Scale, report: LoadReport, wall: float, meta: dict[str, Any]
) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return {
        "scale": scale.name,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "meta": meta,
        "rows": report.rows,
        "seconds": {name: round(spent, 2) for name, spent in report.seconds.items()},
        "generating_seconds": round(report.generating, 2),
        "wall_seconds": round(wall, 1),
        "database_bytes": size[0] if size else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--dsn", help="a database of your own (default: learnstore_bench, recreated)")
    parser.add_argument(
        "--record",
        action="store_true",
        help=f"append the load's timings to {LOADS.relative_to(LOADS.parents[2])}",
    )
    args = parser.parse_args(argv)
    ensure(args.dsn, args.scale, reload=args.dsn is None, record=LOADS if args.record else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
