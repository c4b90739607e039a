"""What turning psycopg's server-side prepared statements off costs, as PgBouncer 1.18 requires.

    python -m bench.prepare_bench --dsn postgresql://postgres@127.0.0.1:5432/learnstore_bench_faults

The database of `--dsn` is dropped, created and migrated (never give it one you keep). Three stores
run the same operations, interleaved in one process (each round runs each store once, in a
shuffled order): directly with preparation (psycopg's default, after 5 runs), directly with
`prepare=False`, and through a throwaway PgBouncer in transaction mode (`prepare=None`, which
detects 1.18 and does not prepare). Medians in microseconds; ratios against the prepared store.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import time
from collections.abc import Callable

import learnstore
from bench.db import recreate
from learnstore import Store
from learnstore.pgbouncer import PgBouncer


def _seed(dsn: str) -> tuple[str, object]:
    with learnstore.connect(dsn) as store:
        store.users.apply_clerk_event({"type": "user.created", "data": {"id": "ada", "updated_at": 1}})
        lessons = [
            {"title": f"L{k}", "content_type": "text", "content": {"body": "b" * 200}} for k in range(10)
        ]
        course = store.imports.import_course(
            {
                "author_clerk_id": "ada",
                "title": "Rust",
                "status": "published",
                "units": [{"title": f"U{u}", "lessons": lessons} for u in range(5)],
            }
        )
        store.progress.enrol("ada", course.id)
        for unit in course.units[:2]:
            for lesson_id in unit.lesson_ids:
                store.progress.set_lesson_status("ada", lesson_id, "completed")
    return "ada", course.id


def _operations(store: Store, clerk_id: str, course_id: object) -> dict[str, Callable[[], object]]:
    return {
        "users.get": lambda: store.users.get(clerk_id),
        "progress.list_lesson_progress": lambda: store.progress.list_lesson_progress(clerk_id, course_id),  # type: ignore[arg-type]
        "content.get_course_tree": lambda: store.content.get_course_tree(course_id),  # type: ignore[arg-type]
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", required=True, help="a database of its own: it is recreated")
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    recreate(args.dsn)
    clerk_id, course_id = _seed(args.dsn)
    bouncer = (
        PgBouncer.start(args.dsn)
        if shutil.which("pgbouncer") or shutil.which("/usr/sbin/pgbouncer")
        else None
    )
    stores = {
        "prepared": learnstore.connect(args.dsn, max_size=1, prepare=True),
        "unprepared": learnstore.connect(args.dsn, max_size=1, prepare=False),
    }
    if bouncer is not None:
        stores["pgbouncer"] = learnstore.connect(bouncer.dsn(args.dsn), max_size=1)
    try:
        print(f"{'operation':<32}" + "".join(f"{name:>14}" for name in stores) + "  ratios to prepared")
        for op in _operations(stores["prepared"], clerk_id, course_id):
            calls = {name: _operations(store, clerk_id, course_id)[op] for name, store in stores.items()}
            samples: dict[str, list[float]] = {name: [] for name in calls}
            names = list(calls)
            for round_ in range(args.warmup + args.rounds):
                random.shuffle(names)
                for name in names:
                    started = time.perf_counter()
                    calls[name]()
                    if round_ >= args.warmup:
                        samples[name].append((time.perf_counter() - started) * 1e6)
            medians = {name: statistics.median(values) for name, values in samples.items()}
            ratios = "  ".join(
                f"{name} {medians[name] / medians['prepared']:.2f}x" for name in stores if name != "prepared"
            )
            print(f"{op:<32}" + "".join(f"{medians[name]:>12.0f}us" for name in stores) + f"  {ratios}")
    finally:
        for store in stores.values():
            store.close()
        if bouncer is not None:
            bouncer.stop()


if __name__ == "__main__":
    main()
