"""How long `learnstore check` takes on a benchmark dataset: the full check, per value, and doctor's sample.

    python -m bench.check_time --scale large --dsn postgresql://postgres@127.0.0.1:5432/learnstore_bench_check

Loads the dataset into the (new or empty) database if it is not there, creates the demo's four
achievements and backfills them (so that the award and points checks have awards to recompute),
then times three full checks and three sampled ones. A wall-clock measurement of one process, not a
ratio: the check has no peer to run beside.
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg

import learnstore
from bench import dataset
from learnstore import demo
from learnstore.check import run_check
from learnstore.database import Database
from learnstore.derived import DERIVED_VALUES
from learnstore.doctor import DERIVED_SAMPLE_PERCENT
from learnstore.migrate import upgrade


def _prepare(dsn: str, scale: str) -> None:
    upgrade(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        loaded = conn.execute("SELECT to_regclass('bench_meta') IS NOT NULL").fetchone()
    if not (loaded and loaded[0]):
        dataset.load(dsn, dataset.SCALES[scale])
    with learnstore.connect(dsn, max_size=1) as store:
        codes = {a.code for a in store.achievements.list_all()}
        for code, title, rule, points in demo.ACHIEVEMENTS:
            if code not in codes:
                store.achievements.backfill(store.achievements.create(code, title, rule, points=points).id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(dataset.SCALES), default="small")
    parser.add_argument("--dsn", required=True, help="a database of its own: the check's dataset")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    _prepare(args.dsn, args.scale)
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        db = Database(conn)
        per_value: dict[str, list[float]] = {value.name: [] for value in DERIVED_VALUES}
        full, sampled = [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            for value in DERIVED_VALUES:
                one = time.perf_counter()
                report = run_check(db, values=(value,))
                assert report.drift == 0, report.summary()
                per_value[value.name].append(time.perf_counter() - one)
            full.append(time.perf_counter() - started)
            started = time.perf_counter()
            run_check(db, sample=DERIVED_SAMPLE_PERCENT)
            sampled.append(time.perf_counter() - started)
    print(f"scale {args.scale}: full check {statistics.median(full):.2f} s (median of {args.rounds}),"
          f" doctor's {DERIVED_SAMPLE_PERCENT:g}% sample {statistics.median(sampled):.2f} s")  # fmt: skip
    for name, times in per_value.items():
        print(f"  {name:<22} {statistics.median(times):7.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
