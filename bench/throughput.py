"""Throughput under concurrency: `python -m bench.throughput` (see docs/benchmarks.md).

N callers (1, 8, 32, 128) call one operation in a loop, as many as they can, on a pool of the same
size for every implementation:

- `learnstore`: the public API on `learnstore.connect(dsn)`, each caller a thread;
- `raw_pool`: psycopg on a plain `psycopg_pool.ConnectionPool`, the same SQL (from the same .sql
  file), prepared, tuple rows, the connection taken the cheapest way (`getconn()` / `putconn()`),
  each caller a thread: the floor learnstore's sync pool is held to (>= 0.85x its throughput);
- `learnstore_async`: the public API on `learnstore.connect_async(dsn)`, each caller a task;
- `raw_pool_async`: the same as raw_pool on `psycopg_pool.AsyncConnectionPool`, each caller a task;
- `asyncpg`: asyncpg's pool (`pool.fetch` / `pool.fetchrow`, which take and return a connection
  themselves; its statement cache prepares), the same SQL with `$n` placeholders.

The operations: a one-row read (`users.get`), a 50-row list (a learner's status in every lesson of
the 50-lesson course) and a write (`progress.set_lesson_status`, the course percentage kept). Every
caller reads and writes a learner of its own (`tp_000` ... `tp_127`, copies of a benchmark learner
enrolled in the flagship course), so that the writes contend on nothing but the server. Each cell
(implementation, operation, callers) runs for `--seconds` after `--warmup` seconds, `--rounds`
times, the implementations in a shuffled order within each round; ops/s is the median over the
rounds, p99 is over every call of every round.

The machine is shared: the load average is recorded before and after and printed with the results,
and numbers taken under load are indicative (the ratios, measured side by side, less so than the
absolute numbers). Results go to bench/results/throughput.{md,json} and, from a committed tree, to
bench/history/throughput.jsonl, which `python -m bench.report` turns into docs/benchmarks.md's
throughput table and docs/throughput.png. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, ConnectionPool

import learnstore
from bench import dataset, provenance
from bench.ops import Fixture
from bench.peers.raw import sql

if TYPE_CHECKING:
    import asyncpg

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
HISTORY = HERE / "history" / "throughput.jsonl"

CALLERS = (1, 8, 32, 128)
OPERATIONS = ("read", "list", "write")
TITLES = {"read": "one-row read", "list": "50-row list", "write": "write (lesson status)"}
SYNC = ("learnstore", "raw_pool")
ASYNC = ("learnstore_async", "raw_pool_async", "asyncpg")
DEFAULT_POOL = 8
#: learnstore's throughput / raw psycopg's on the same kind of pool, at least
BAR = 0.85
#: the implementation each learnstore one is held to
FLOOR = {"learnstore": "raw_pool", "learnstore_async": "raw_pool_async"}
METHODS = {"read": "get_user_by_clerk_id", "list": "list_lesson_progress", "write": "set_lesson_status"}

Call = Callable[[int], Any]  # a caller's index -> a result (an awaitable in the async run)


def writer(index: int) -> str:
    return f"tp_{index:03d}"


def ensure_callers(conn: psycopg.Connection[Any], count: int) -> None:
    """Learners tp_000 ... for `count` callers, each a copy of bench_raw: the user, the enrolments,
    the lesson statuses (so each has the flagship course, with the same progress)."""
    for index in range(count):
        clerk_id = writer(index)
        if conn.execute("SELECT 1 FROM users WHERE clerk_id = %s", (clerk_id,)).fetchone():
            continue
        with conn.transaction():
            conn.execute(
                "INSERT INTO users (clerk_id, email, first_name, last_name, timezone)"
                " SELECT %(new)s, %(new)s || '@example.com', first_name, last_name, timezone"
                " FROM users WHERE clerk_id = 'bench_raw'",
                {"new": clerk_id},
            )
            conn.execute(
                "INSERT INTO user_courses (user_clerk_id, course_id, enrolled_at, progress, completed_at)"
                " SELECT %s, course_id, enrolled_at, progress, completed_at FROM user_courses"
                " WHERE user_clerk_id = 'bench_raw'",
                (clerk_id,),
            )
            conn.execute(
                "INSERT INTO user_progress (user_clerk_id, lesson_id, status, started_at, completed_at)"
                " SELECT %s, lesson_id, status, started_at, completed_at FROM user_progress"
                " WHERE user_clerk_id = 'bench_raw'",
                (clerk_id,),
            )


def asyncpg_sql(text: str) -> tuple[str, list[str]]:
    """psycopg's `%(name)s` placeholders as asyncpg's `$n`, and the parameter names in their order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, text).replace("%%", "%"), names


@dataclass
class Workload:
    """What each caller reads and writes; the write's round per caller carries over from cell to
    cell, so that every call flips a lesson and moves the course percentage."""

    fx: Fixture
    rounds: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def params(self, op: str, index: int) -> dict[str, Any]:
        who = writer(index)
        if op == "read":
            return {"clerk_id": who}
        if op == "list":
            return {"user_clerk_id": who, "course_id": self.fx.course_id}
        with self.lock:
            round_ = self.rounds.get(index, 0)
            self.rounds[index] = round_ + 1
        lesson, status = self.fx.write(round_)
        return {"user_clerk_id": who, "lesson_id": lesson, "status": status}


def learnstore_call(store: Any, work: Workload, op: str) -> Call:
    """The public API on `store` (sync or async: the same method names)."""
    if op == "read":
        return lambda i: store.users.get(writer(i))
    if op == "list":
        course = work.fx.course_id
        return lambda i: store.progress.list_lesson_progress(writer(i), course)

    def write(i: int) -> Any:
        p = work.params("write", i)
        return store.progress.set_lesson_status(p["user_clerk_id"], p["lesson_id"], p["status"])

    return write


def raw_call(pool: ConnectionPool[Any], work: Workload, op: str) -> Call:
    text = sql(METHODS[op])
    many = op == "list"

    def call(i: int) -> Any:
        conn = pool.getconn()
        try:
            cur = conn.execute(text, work.params(op, i), prepare=True)
            return cur.fetchall() if many else cur.fetchone()
        finally:
            pool.putconn(conn)

    return call


def raw_async_call(pool: AsyncConnectionPool[Any], work: Workload, op: str) -> Call:
    text = sql(METHODS[op])
    many = op == "list"

    async def call(i: int) -> Any:
        conn = await pool.getconn()
        try:
            cur = await conn.execute(text, work.params(op, i), prepare=True)
            return await (cur.fetchall() if many else cur.fetchone())
        finally:
            await pool.putconn(conn)

    return call


def asyncpg_call(pool: asyncpg.Pool, work: Workload, op: str) -> Call:
    text, names = asyncpg_sql(sql(METHODS[op]))
    fetch = pool.fetch if op == "list" else pool.fetchrow

    def call(i: int) -> Awaitable[Any]:
        p = work.params(op, i)
        return fetch(text, *(p[name] for name in names))

    return call


@dataclass
class Cell:
    impl: str
    op: str
    callers: int
    rates: list[float] = field(default_factory=list)  # ops/s of each round
    latencies: list[int] = field(default_factory=list)  # ns, every measured call
    errors: int = 0

    def as_json(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        p50 = ordered[len(ordered) // 2] / 1e3 if ordered else None
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e3 if ordered else None
        return {
            "impl": self.impl,
            "op": self.op,
            "callers": self.callers,
            "ops_per_s": round(statistics.median(self.rates), 1) if self.rates else None,
            "rates": [round(r, 1) for r in self.rates],
            "p50_us": None if p50 is None else round(p50, 1),
            "p99_us": None if p99 is None else round(p99, 1),
            "calls": len(ordered),
            "errors": self.errors,
        }


def run_threads(call: Call, callers: int, warmup: float, seconds: float, cell: Cell) -> None:
    """`callers` threads call `call` until the deadline; calls that end in the measured window count."""
    start = time.perf_counter_ns()
    measure_from = start + int(warmup * 1e9)
    until = measure_from + int(seconds * 1e9)
    done: list[list[int]] = [[] for _ in range(callers)]
    errors = [0] * callers
    gate = threading.Barrier(callers)

    def loop(i: int) -> None:
        gate.wait()
        mine = done[i]
        while True:
            began = time.perf_counter_ns()
            try:
                call(i)
            except Exception:
                errors[i] += 1
            ended = time.perf_counter_ns()
            if ended >= until:
                return
            if ended >= measure_from:
                mine.append(ended - began)

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _record(cell, done, errors, seconds)


async def run_tasks(call: Call, callers: int, warmup: float, seconds: float, cell: Cell) -> None:
    start = time.perf_counter_ns()
    measure_from = start + int(warmup * 1e9)
    until = measure_from + int(seconds * 1e9)
    done: list[list[int]] = [[] for _ in range(callers)]
    errors = [0] * callers

    async def loop(i: int) -> None:
        mine = done[i]
        while True:
            began = time.perf_counter_ns()
            try:
                await call(i)
            except Exception:
                errors[i] += 1
            ended = time.perf_counter_ns()
            if ended >= until:
                return
            if ended >= measure_from:
                mine.append(ended - began)

    await asyncio.gather(*(loop(i) for i in range(callers)))
    _record(cell, done, errors, seconds)


def _record(cell: Cell, done: list[list[int]], errors: list[int], seconds: float) -> None:
    calls = [t for mine in done for t in mine]
    cell.rates.append(len(calls) / seconds)
    cell.latencies.extend(calls)
    cell.errors += sum(errors)


def _asyncpg_params(dsn: str) -> dict[str, Any]:
    """The connection parameters of `dsn` as asyncpg takes them: asyncpg parses URLs only, and the
    default DSN (`bench.db`) is a libpq key=value string."""
    params = conninfo_to_dict(dsn)
    names = {"host": "host", "port": "port", "user": "user", "password": "password", "dbname": "database"}
    found = {ours: params[theirs] for theirs, ours in names.items() if params.get(theirs)}
    if "port" in found:
        found["port"] = int(found["port"])
    return found


async def measure(
    dsn: str,
    *,
    pool_size: int,
    callers: tuple[int, ...],
    ops: tuple[str, ...],
    impls: tuple[str, ...],
    rounds: int,
    warmup: float,
    seconds: float,
    say: Callable[[str], None] = print,
) -> list[Cell]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_callers(conn, max(callers))
        work = Workload(Fixture.find(conn))
    size = {"min_size": pool_size, "max_size": pool_size}
    store = learnstore.connect(dsn, timeout=60, **size)
    raw = ConnectionPool(dsn, kwargs={"autocommit": True}, timeout=60, open=True, **size)
    raw.wait()
    astore = await learnstore.connect_async(dsn, timeout=60, **size)
    araw = AsyncConnectionPool(dsn, kwargs={"autocommit": True}, timeout=60, open=False, **size)
    await araw.open(wait=True)
    import asyncpg  # here: bench.report renders this module's results without asyncpg installed

    apg = await asyncpg.create_pool(**_asyncpg_params(dsn), **size)
    try:
        calls: dict[str, Callable[[str], Call]] = {
            "learnstore": lambda op: learnstore_call(store, work, op),
            "raw_pool": lambda op: raw_call(raw, work, op),
            "learnstore_async": lambda op: learnstore_call(astore, work, op),
            "raw_pool_async": lambda op: raw_async_call(araw, work, op),
            "asyncpg": lambda op: asyncpg_call(apg, work, op),
        }
        cells = {(i, o, n): Cell(i, o, n) for o in ops for n in callers for i in impls}
        for impl in impls:  # first calls: pydantic's and psycopg's caches, prepared statements
            for op in ops:
                scratch = Cell(impl, op, 1)
                if impl in SYNC:
                    await asyncio.to_thread(run_threads, calls[impl](op), pool_size, 0.2, 0.1, scratch)
                else:
                    await run_tasks(calls[impl](op), pool_size, 0.2, 0.1, scratch)
        order = random.Random(9)
        for round_ in range(rounds):
            for op in ops:
                for n in callers:
                    shuffled = list(impls)
                    order.shuffle(shuffled)
                    for impl in shuffled:
                        cell = cells[(impl, op, n)]
                        if impl in SYNC:
                            # the event loop waits while the threads run: nothing else is scheduled
                            await asyncio.to_thread(run_threads, calls[impl](op), n, warmup, seconds, cell)
                        else:
                            await run_tasks(calls[impl](op), n, warmup, seconds, cell)
                    say(
                        f"  {datetime.now(UTC):%H:%M:%S} round {round_ + 1}/{rounds} {op:<5} {n:>3} callers: "
                        + _brief(cells, op, n)
                    )
        return list(cells.values())
    finally:
        await apg.close()
        await araw.close()
        await astore.close()
        raw.close()
        store.close()


def _brief(cells: dict[tuple[str, str, int], Cell], op: str, n: int) -> str:
    parts = []
    for (impl, o, c), cell in cells.items():
        if o == op and c == n and cell.rates:
            parts.append(
                f"{impl} {cell.rates[-1]:,.0f}/s" + (f" ({cell.errors} errors)" if cell.errors else "")
            )
    return ", ".join(parts)


def ratios(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """learnstore / its raw floor for each (operation, callers, learnstore implementation)."""
    by = {(c["impl"], c["op"], c["callers"]): c for c in cells}
    out = []
    for (impl, op, n), cell in by.items():
        floor = by.get((FLOOR.get(impl, ""), op, n))
        if floor is None or not floor["ops_per_s"] or cell["ops_per_s"] is None:
            continue
        ratio = cell["ops_per_s"] / floor["ops_per_s"]
        out.append({"impl": impl, "op": op, "callers": n, "ratio": round(ratio, 3), "met": ratio >= BAR})
    return out


def render(result: dict[str, Any]) -> list[str]:
    """The markdown of one run (bench.report uses it for docs/benchmarks.md too)."""
    meta = result["meta"]
    load = meta.get("load", {})
    cells = result["cells"]
    by = {(c["impl"], c["op"], c["callers"]): c for c in cells}
    impls = [i for i in (*SYNC, *ASYNC) if any(c["impl"] == i for c in cells)]
    ratio = {(r["impl"], r["op"], r["callers"]): r for r in result["ratios"]}
    stamp = provenance.measured_at(meta, result["date"])
    # bench.report lays several runs over each other: each row then says when it was measured
    layered = result.get("runs", 1) > 1
    out = [
        f"Pool size {result['pool_size']} for every implementation; {result['rounds']} rounds of"
        f" {result['seconds']} s per cell (after {result['warmup']} s of warm-up); ops/s: the median"
        " over the rounds; p99: over every call.",
        f"Measured at {stamp}; load average (1, 5, 15 min) {load.get('before')} before and"
        f" {load.get('after')} after: the machine was shared, so the numbers are indicative.",
        "",
        "| operation | callers | "
        + " | ".join(f"{i} ops/s (p99 ms)" for i in impls)
        + " | **learnstore / raw psycopg** (sync, async) | bar | met? |"
        + (" measured at |" if layered else ""),
        "|---|---:|" + "---:|" * len(impls) + "---:|---|---|" + ("---|" if layered else ""),
    ]
    if layered:
        out[:2] = [
            f"Pool size {result['pool_size']} for every implementation; each row is the latest run"
            f" of its cells (of {result['runs']} runs; the last: {result['rounds']} rounds of"
            f" {result['seconds']} s per cell); ops/s: the median over the rounds; p99: over every call.",
            "The machine was shared (each run records its load average), so the numbers are indicative.",
        ]
    for op in result["ops"]:
        for n in result["callers"]:
            row = [TITLES[op], str(n)]
            for impl in impls:
                c = by.get((impl, op, n))
                if c is None or c["ops_per_s"] is None or c["p99_us"] is None:
                    row.append("" if c is None or not c["errors"] else f"{c['errors']} errors")
                else:
                    row.append(f"{c['ops_per_s']:,.0f} ({c['p99_us'] / 1000:.1f})")
            found = [ratio[(i, op, n)] for i in FLOOR if (i, op, n) in ratio]
            row.append(", ".join(f"**{r['ratio']:.2f}x**" for r in found))
            row.append(f"≥ {BAR:.2f}x")
            row.append("met" if found and all(r["met"] for r in found) else "missed" if found else "")
            if layered:
                row.append(", ".join(sorted({r.get("measured_at", "") for r in found})))
            out.append("| " + " | ".join(row) + " |")
    return out


#: a learnstore pool and its raw floor share a colour
COLORS = {
    "learnstore": "tab:blue",
    "raw_pool": "tab:blue",
    "learnstore_async": "tab:green",
    "raw_pool_async": "tab:green",
    "asyncpg": "tab:purple",
}


def plot(result: dict[str, Any], path: Path) -> None:
    """ops/s against callers, one panel per operation, one line per implementation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = result["cells"]
    fig, axes = plt.subplots(1, len(result["ops"]), figsize=(5 * len(result["ops"]), 4.2), squeeze=False)
    for ax, op in zip(axes[0], result["ops"], strict=True):
        for impl in (*SYNC, *ASYNC):
            points = sorted(
                (c["callers"], c["ops_per_s"]) for c in cells if c["impl"] == impl and c["op"] == op
            )
            if points:
                style = "-" if impl.startswith("learnstore") else "--"
                ax.plot(*zip(*points, strict=True), style, marker="o", label=impl, color=COLORS[impl])
        ax.set_xscale("log", base=2)
        ax.set_xticks(result["callers"], [str(n) for n in result["callers"]])
        ax.set_ylim(bottom=0)
        ax.set_title(TITLES[op])
        ax.set_xlabel("concurrent callers")
        ax.set_ylabel("ops/s (median of rounds)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    when = (
        f"the latest of {result['runs']} runs, the last at {result['meta']['commit']}"
        if result.get("runs", 1) > 1
        else f"measured at {result['meta']['commit']}, load {result['meta']['load']['before'][:1]}"
    )
    fig.suptitle(
        f"Throughput on a pool of {result['pool_size']} (learnstore solid, raw peers dashed; {when})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(dataset.SCALES), default="small")
    parser.add_argument(
        "--dsn", help="a database of your own (default: learnstore_bench on the local server)"
    )
    parser.add_argument(
        "--pool-size", type=int, default=DEFAULT_POOL, help="every implementation's pool size"
    )
    parser.add_argument("--callers", type=int, action="append", help="repeatable (default: 1, 8, 32, 128)")
    parser.add_argument("--op", choices=OPERATIONS, action="append", help="repeatable (default: all)")
    parser.add_argument("--impl", choices=(*SYNC, *ASYNC), action="append", help="repeatable (default: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds before each measured window")
    parser.add_argument("--seconds", type=float, default=2.0, help="each measured window")
    parser.add_argument("--no-history", action="store_true", help=f"do not append to {HISTORY.name}")
    args = parser.parse_args(argv)

    load_before = provenance.load()
    dsn = dataset.ensure(args.dsn, args.scale)
    callers = tuple(args.callers or CALLERS)
    ops = tuple(args.op or OPERATIONS)
    impls = tuple(args.impl or (*SYNC, *ASYNC))
    print(
        f"throughput: {len(ops)} operations x {callers} callers x {impls}, pool {args.pool_size}", flush=True
    )
    found = asyncio.run(
        measure(
            dsn,
            pool_size=args.pool_size,
            callers=callers,
            ops=ops,
            impls=impls,
            rounds=args.rounds,
            warmup=args.warmup,
            seconds=args.seconds,
        )
    )
    with psycopg.connect(dsn) as conn:
        server = conn.execute("SHOW server_version").fetchone()
    cells = [cell.as_json() for cell in found]
    meta = {
        "commit": provenance.commit().label,
        "load": {"before": load_before, "after": provenance.load()},
        "server": f"PostgreSQL {server[0] if server else '?'} on the same machine, over TCP",
        "asyncpg": version("asyncpg"),
    }
    result = {
        "scale": args.scale,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "meta": meta,
        "pool_size": args.pool_size,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "seconds": args.seconds,
        "callers": list(callers),
        "ops": list(ops),
        "cells": cells,
        "ratios": ratios(cells),
    }
    text = "\n".join(render(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "throughput.md").write_text(text + "\n")
    (RESULTS / "throughput.json").write_text(json.dumps(result, indent=1) + "\n")
    print()
    print(text)
    if not args.no_history:
        try:
            provenance.append(HISTORY, result)
        except provenance.Unpublishable as refused:
            print(refused, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
