"""Where learnstore's time over raw psycopg goes, for the two reads that miss their bar.

    python -m bench.floors tree --dsn ...   # the course tree (bar 1.10x raw)
    python -m bench.floors list --dsn ...   # the 50-row list of bench.throughput (bar 0.85x at 128 callers)
    python -m bench.floors threads --dsn ... # its throughput at 128 threads, with and without the models

`tree`:
The course tree is one statement that returns the tree as a JSON document (text). The raw peer
parses it with `json.loads` (dicts of strings); learnstore parses and validates it into typed
models with pydantic-core (`CourseTree.model_validate_json`: UUIDs, datetimes, enums, every field
checked). This splits learnstore's client time per call into the statement (the same for both),
the parsing of each, and the rest of learnstore's call (the connection's context, the query
wrapper), with CPU time (`time.process_time`) beside wall time, interleaved, medians. Each parse
is timed right after its statement, as in a real call: parsing the same document in a hot loop
hides most of the validation's cost (the caches stay warm). `--cold` runs the ORM's course tree
before each timed call, as bench.run's shuffled rounds often do: the CPU caches then hold the ORM's
code and objects, not pydantic-core's, and the validation costs several times what it costs warm
(docs/content.md has the numbers). It prints; it publishes nothing (the table in
docs/benchmarks.md is bench.run's).

`list`: the throughput run's 50-row list (a learner's status in every lesson of the flagship
course), on pools of one connection. At 128 callers on two cores the client's CPU per call is what
the throughput measures, so this splits learnstore's CPU per call into layers, each a step from raw
psycopg_pool towards learnstore's call: the rows made into the generated pydantic models
(`queries._runtime.to_models`, without validation), the query wrapper (`Querier`: aiosql's query,
the spare cursor), and the store's call (argument validation, learnstore's pool context).

`threads`: the same list's throughput under `--callers` threads (128) on pools of 8, as
bench.throughput measures it, for four implementations: raw psycopg_pool; raw psycopg_pool with its
rows made into the generated models (learnstore's `to_models`); learnstore's sync pool; and
learnstore's sync pool with the rows left as tuples (`to_models` replaced for that run only: an
experiment, not a mode of learnstore). Rounds of 3 s, the implementations shuffled in each; it
prints each round's ops/s and the medians. When raw + models runs as learnstore does, and
learnstore without models as raw does, the models are the difference.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

import learnstore
from bench import dataset
from bench.dataset import FLAGSHIP_TITLE
from bench.ops import Fixture
from bench.peers import orm
from bench.peers.raw import sql
from bench.run import _sqlalchemy_url
from bench.throughput import Cell, Workload, ensure_callers, learnstore_call, raw_call, run_threads, writer
from learnstore import Store
from learnstore.database import LearnstoreConnection, LearnstoreCursor
from learnstore.queries import progress as progress_queries
from learnstore.queries._runtime import to_models
from learnstore.queries.models import ListLessonProgressRow
from learnstore.queries.progress import Querier
from learnstore.repositories.content import CourseTree

#: calls a timed block of the list's split
BLOCK = 100


def _medians(
    calls: dict[str, Callable[[], object]],
    rounds: int,
    before: Callable[[], object] | None = None,
    *,
    block: int = 1,
) -> dict[str, tuple[float, float]]:
    """Each call's wall time (median) and CPU time (mean) in µs, over `rounds` rounds of `block`
    calls of each, the calls' blocks interleaved."""
    wall: dict[str, list[int]] = {name: [] for name in calls}
    cpu: dict[str, list[int]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            if before is not None:
                before()
            started, started_cpu = time.perf_counter_ns(), time.process_time_ns()
            for _ in range(block):
                call()
            cpu[name].append(time.process_time_ns() - started_cpu)
            wall[name].append(time.perf_counter_ns() - started)
    return {
        name: (statistics.median(wall[name]) / block / 1e3, statistics.mean(cpu[name]) / block / 1e3)
        for name in calls
    }


def tree(dsn: str, rounds: int, cold: bool) -> None:
    """The course tree's split: the statement, each parse, the rest of learnstore's call."""
    before: Callable[[], object] | None = None
    if cold:
        sessions = sessionmaker(create_engine(_sqlalchemy_url(dsn)), expire_on_commit=False)

        def orm_tree() -> None:
            with sessions() as session:
                orm.course_tree(session, course)

        before = orm_tree
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute("SELECT id FROM courses WHERE title = %s", (FLAGSHIP_TITLE,)).fetchone()
        assert found is not None
        course = found[0]
        params: dict[str, Any] = {"course_id": course, "include_unpublished": False}
        text = sql("get_course_tree")
        document = conn.execute(text, params).fetchone()[0]  # type: ignore[index]
        store = Store.on(conn)

        def fetch() -> str:
            return conn.execute(text, params, prepare=True).fetchone()[0]  # type: ignore[index,no-any-return]

        calls: dict[str, Callable[[], object]] = {
            "statement (text fetched)": fetch,
            "raw: statement + json.loads": lambda: json.loads(fetch()),
            "statement + model_validate_json": lambda: CourseTree.model_validate_json(fetch()),
            "learnstore: get_course_tree": lambda: store.content.get_course_tree(course),
        }
        _medians(calls, 100, before)  # warm-up: prepared statements, caches
        medians = _medians(calls, rounds, before)
    after = ", each call after the ORM's course tree" if cold else ""
    print(f"course tree: a {len(document):,}-byte document, {rounds} interleaved rounds{after}")
    _print(medians)
    cpu = {name: found[1] for name, found in medians.items()}
    typed = cpu["statement + model_validate_json"] - cpu["raw: statement + json.loads"]
    rest = cpu["learnstore: get_course_tree"] - cpu["statement + model_validate_json"]
    print(
        f"CPU per call: typed validation over json.loads {typed:+.1f} µs,"
        f" the rest of learnstore's call (connection context, query wrapper) {rest:+.1f} µs"
    )


def rows_list(dsn: str, rounds: int) -> None:
    """The 50-row list's split, layer by layer from raw psycopg_pool to learnstore's pool."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_callers(conn, 1)
        course = Fixture.find(conn).course_id
    who = writer(0)
    params: dict[str, Any] = {"user_clerk_id": who, "course_id": course}
    text = sql("list_lesson_progress")
    pool = ConnectionPool(dsn, kwargs={"autocommit": True}, min_size=1, max_size=1, open=True)
    # the Querier on connections as learnstore's pool makes them (its spare cursor: no cursor made
    # per call), without the store's call around it
    ours = ConnectionPool(
        dsn,
        kwargs={"autocommit": True, "cursor_factory": LearnstoreCursor},
        connection_class=LearnstoreConnection,
        min_size=1,
        max_size=1,
        open=True,
    )
    store = learnstore.connect(dsn, min_size=1, max_size=1)

    def raw() -> list[Any]:
        conn = pool.getconn()
        try:
            return conn.execute(text, params, prepare=True).fetchall()
        finally:
            pool.putconn(conn)

    def querier() -> list[ListLessonProgressRow]:
        conn = ours.getconn()
        try:
            return Querier(conn).list_lesson_progress(user_clerk_id=who, course_id=course)
        finally:
            ours.putconn(conn)

    calls: dict[str, Callable[[], object]] = {
        "raw pool: statement + tuples": raw,
        "+ rows as models": lambda: to_models(ListLessonProgressRow, raw()),
        "+ the query wrapper (Querier)": querier,
        "learnstore: list_lesson_progress": lambda: store.progress.list_lesson_progress(who, course),
    }
    try:
        _medians(calls, 100)  # warm-up: prepared statements, caches
        # in blocks of BLOCK calls, the blocks interleaved: in a throughput run each implementation
        # runs alone for seconds, and timing single calls that alternate with another
        # implementation's charges the deeper path for the caches the other one left cold
        medians = _medians(calls, max(rounds // BLOCK, 1), block=BLOCK)
        count = len(raw())
    finally:
        store.close()
        ours.close()
        pool.close()
    print(
        f"50-row list: {count} rows of {len(ListLessonProgressRow.model_fields)} columns,"
        f" {rounds} calls of each in interleaved blocks of {BLOCK}"
    )
    _print(medians)
    cpu = [found[1] for found in medians.values()]
    steps = ("rows as models", "query wrapper", "store's call")
    split = ", ".join(
        f"{step} {after - before:+.1f} µs" for step, before, after in zip(steps, cpu, cpu[1:], strict=False)
    )
    print(
        f"CPU per call over raw psycopg_pool's {cpu[0]:.1f} µs: {split};"
        f" learnstore / raw {cpu[-1] / cpu[0]:.2f}x"
    )


def threads(dsn: str, callers: int, rounds: int) -> None:
    """The 50-row list's throughput at `callers` threads, with and without the rows as models."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_callers(conn, callers)
        work = Workload(Fixture.find(conn))
    size = {"min_size": 8, "max_size": 8}
    store = learnstore.connect(dsn, timeout=60, **size)
    pool = ConnectionPool(dsn, kwargs={"autocommit": True}, timeout=60, open=True, **size)
    pool.wait()
    raw = raw_call(pool, work, "list")
    ours = learnstore_call(store, work, "list")
    models = progress_queries.to_models
    calls: dict[str, Callable[[int], object]] = {
        "raw psycopg_pool": raw,
        "raw + rows as models": lambda i: to_models(ListLessonProgressRow, raw(i)),
        "learnstore": ours,
        "learnstore, rows as tuples": ours,
    }
    cells = {name: Cell(name, "list", callers) for name in calls}
    try:
        for number in range(1, rounds + 1):
            order = list(calls)
            random.shuffle(order)
            for name in order:
                if name == "learnstore, rows as tuples":
                    progress_queries.to_models = lambda cls, rows, like=None: rows  # type: ignore[assignment]
                try:
                    run_threads(calls[name], callers, 0.5, 3.0, cells[name])
                finally:
                    progress_queries.to_models = models
            print(f"round {number}: " + ", ".join(f"{n} {c.rates[-1]:,.0f}/s" for n, c in cells.items()))
    finally:
        store.close()
        pool.close()
    medians = {name: statistics.median(cell.rates) for name, cell in cells.items()}
    base = medians["raw psycopg_pool"]
    print(f"50-row list, {callers} threads on pools of 8, medians of {rounds} rounds of 3 s:")
    for name, rate in medians.items():
        print(f"  {name:<28}{rate:>10,.0f} ops/s{rate / base:>8.2f}x raw")


def _print(medians: dict[str, tuple[float, float]]) -> None:
    print(f"{'':<34}{'wall µs (median)':>18}{'CPU µs (mean)':>16}")
    for name, (wall, cpu) in medians.items():
        print(f"{name:<34}{wall:>18.1f}{cpu:>16.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("read", nargs="?", choices=("tree", "list", "threads"), default="tree")
    parser.add_argument("--scale", choices=sorted(dataset.SCALES), default="small")
    parser.add_argument("--dsn", help="a database of your own (default: learnstore_bench)")
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument(
        "--cold", action="store_true", help="tree: run the ORM's course tree before each call"
    )
    parser.add_argument("--callers", type=int, default=128, help="threads: how many")
    args = parser.parse_args(argv)
    dsn = dataset.ensure(args.dsn, args.scale)
    if args.read == "tree":
        tree(dsn, args.rounds, args.cold)
    elif args.read == "threads":
        threads(dsn, args.callers, max(args.rounds // 200, 3))
    else:
        rows_list(dsn, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
