"""The side-by-side runner: `python -m bench.run --scale small` (see docs/benchmarks.md).

For each hot operation, every implementation of bench/ops.py runs in this one process against the
same server, interleaved (each round runs every implementation once, in a shuffled order), after a
warm-up; the table gives medians and ratios, sync and async, then bulk import against raw binary
COPY. Nothing here is asserted: the
bars of issue 5 are checked and reported, never turned into a failing test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import random
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

import learnstore
from bench import dataset, imports_bench
from bench.ops import OPS, Fixture, Op, async_implementations, sync_implementations
from bench.peers.raw import RawAsync, RawSync
from learnstore import AsyncStore, Store

RESULTS = Path(__file__).resolve().parent / "results"
BARS = {"read": 1.10, "write": 1.10, "tree": 1.10, "list": 1.20}
ORM_BARS = {"read": 2.5, "list": 2.5, "tree": 2.5, "write": 3.0}


@dataclass
class Row:
    op: Op
    mode: str
    medians: dict[str, float]  # microseconds per call
    round_trips: int | None = None
    orm_statements: int | None = None
    pair: float | None = None  # learnstore / raw when only the two are interleaved

    @property
    def raw(self) -> float:
        """The floor: the fastest raw psycopg version."""
        return min(v for k, v in self.medians.items() if k.startswith("raw"))

    def ratio(self, name: str) -> float:
        return self.medians[name] / self.raw

    @property
    def orm_speedup(self) -> float:
        return self.medians["orm"] / self.medians["learnstore"]

    def verdict(self) -> str:
        misses = []
        if self.ratio("learnstore") > BARS[self.op.kind]:
            misses.append(f"> {BARS[self.op.kind]:.2f}x raw")
        if self.orm_speedup < ORM_BARS[self.op.kind]:
            misses.append(f"< {ORM_BARS[self.op.kind]}x ORM")
        if self.op.kind in ("tree", "write") and self.round_trips not in (None, 1):
            misses.append(f"{self.round_trips} round trips")
        return "met" if not misses else "missed: " + ", ".join(misses)


def _orders(names: list[str], rounds: int) -> list[list[str]]:
    """The order of each round: every implementation once, shuffled (seeded). A call right after the
    ORM's runs slower (CPU caches taken over, the connection's server process idle): with a fixed
    rotation the same implementation would follow the ORM most of the time, and pay for it."""
    rnd = random.Random(5)
    orders = []
    for _ in range(rounds):
        order = list(names)
        rnd.shuffle(order)
        orders.append(order)
    return orders


def _interleave(impls: dict[str, Callable[[int], object]], rounds: int, warmup: int) -> dict[str, float]:
    names = list(impls)
    times: dict[str, list[int]] = {name: [] for name in names}
    for r, order in enumerate(_orders(names, warmup + rounds)):
        for name in order:
            started = time.perf_counter_ns()
            impls[name](r)
            elapsed = time.perf_counter_ns() - started
            if r >= warmup:
                times[name].append(elapsed)
    return {name: statistics.median(t) / 1000 for name, t in times.items()}


async def _interleave_async(
    impls: dict[str, Callable[[int], Any]], rounds: int, warmup: int
) -> dict[str, float]:
    names = list(impls)
    times: dict[str, list[int]] = {name: [] for name in names}
    for r, order in enumerate(_orders(names, warmup + rounds)):
        for name in order:
            started = time.perf_counter_ns()
            await impls[name](r)
            elapsed = time.perf_counter_ns() - started
            if r >= warmup:
                times[name].append(elapsed)
    return {name: statistics.median(t) / 1000 for name, t in times.items()}


def _floor_pair(impls: dict[str, Any]) -> dict[str, Any]:
    """learnstore on its connection and the raw versions, without the ORM and the pool in the rounds."""
    return {name: impl for name, impl in impls.items() if name == "learnstore" or name.startswith("raw")}


def _pair_ratio(medians: dict[str, float]) -> float:
    return medians["learnstore"] / min(v for k, v in medians.items() if k.startswith("raw"))


class _CountingCursor(psycopg.Cursor[Any]):
    """Counts the statements learnstore sends: each execute() is one round trip on an autocommit
    connection (no BEGIN / COMMIT around it)."""

    executed = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        _CountingCursor.executed += 1
        return super().execute(*args, **kwargs)


def _sqlalchemy_url(dsn: str, *, driver: str = "postgresql+psycopg") -> URL:
    params = conninfo_to_dict(dsn)
    return URL.create(
        driver,
        username=str(params.get("user") or "") or None,
        password=str(params.get("password") or "") or None,
        host=str(params.get("host") or "") or None,
        port=int(str(params["port"])) if params.get("port") else None,
        database=str(params.get("dbname") or "") or None,
    )


def run_sync(dsn: str, fx: Fixture, rounds: int, warmup: int, only: set[str]) -> list[Row]:
    engine = create_engine(_sqlalchemy_url(dsn))
    statements = {"n": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*args: Any) -> None:
        statements["n"] += 1

    sessions = sessionmaker(engine, expire_on_commit=False)
    rows = []
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        psycopg.connect(dsn, autocommit=True, cursor_factory=_CountingCursor) as counted,
        learnstore.connect(dsn, max_size=2) as pool,
    ):
        impls = sync_implementations(fx, Store.on(conn), pool, RawSync(conn), sessions)
        counting = sync_implementations(fx, Store.on(counted), pool, RawSync(conn), sessions)
        for op in OPS:
            if only and op.name not in only:
                continue
            gc.collect()
            medians = _interleave(impls[op.name], rounds, warmup)
            pair = _interleave(_floor_pair(impls[op.name]), rounds, warmup)
            _CountingCursor.executed = 0
            counting[op.name]["learnstore"](0)
            statements["n"] = 0
            impls[op.name]["orm"](0)
            rows.append(
                Row(op, "sync", medians, _CountingCursor.executed, statements["n"], _pair_ratio(pair))
            )
            print(f"  sync  {op.name:<26} {_brief(rows[-1])}", flush=True)
    engine.dispose()
    return rows


async def run_async(dsn: str, fx: Fixture, rounds: int, warmup: int, only: set[str]) -> list[Row]:
    engine = create_async_engine(_sqlalchemy_url(dsn))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    rows = []
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    pool = await learnstore.connect_async(dsn, max_size=2)
    try:
        impls = async_implementations(fx, AsyncStore.on(conn), pool, RawAsync(conn), sessions)
        for op in OPS:
            if only and op.name not in only:
                continue
            gc.collect()
            medians = await _interleave_async(impls[op.name], rounds, warmup)
            pair = await _interleave_async(_floor_pair(impls[op.name]), rounds, warmup)
            rows.append(Row(op, "async", medians, pair=_pair_ratio(pair)))
            print(f"  async {op.name:<26} {_brief(rows[-1])}", flush=True)
    finally:
        await pool.close()
        await conn.close()
        await engine.dispose()
    return rows


def _brief(row: Row) -> str:
    ours, orm = row.medians["learnstore"], row.medians["orm"]
    return (
        f"learnstore {ours:8.1f} us  raw {row.raw:8.1f} us  orm {orm:8.1f} us"
        f"  -> {row.ratio('learnstore'):.2f}x raw, ORM {row.orm_speedup:.1f}x slower"
    )


def _machine(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        server = conn.execute("SHOW server_version").fetchone()
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    packages = ", ".join(
        f"{name} {version(name)}" for name in ("psycopg", "psycopg-pool", "aiosql", "pydantic", "SQLAlchemy")
    )
    return [
        f"- machine: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}",
        f"- PostgreSQL {server[0] if server else '?'} on the same machine, over TCP (127.0.0.1)",
        f"- Python {platform.python_version()}; {packages}",
        f"- learnstore commit {_commit()}",
    ]


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True)
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def render(scale: str, rounds: int, machine: list[str], rows: list[Row], imports: list[Any]) -> str:
    out = [f"## Scale `{scale}`: medians of {rounds} interleaved rounds", "", *machine, ""]
    for mode in ("sync", "async"):
        chosen = [row for row in rows if row.mode == mode]
        if not chosen:
            continue
        out += [
            f"### {mode}",
            "",
            "| operation | rows | learnstore µs | pool µs | raw µs | ORM µs | learnstore / raw | pool / raw"
            " | ORM / learnstore | learnstore / raw, the two alone | round trips (ORM statements) | bar |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for row in chosen:
            trips = "" if row.round_trips is None else f"{row.round_trips} ({row.orm_statements})"
            alt = row.medians.get("raw_alt")
            raw = f"{row.medians['raw']:.0f}" + ("" if alt is None else f" / {alt:.0f}")
            cells = [
                row.op.title,
                row.op.rows,
                f"{row.medians['learnstore']:.0f}",
                f"{row.medians['pool']:.0f}",
                raw,
                f"{row.medians['orm']:.0f}",
                f"**{row.ratio('learnstore'):.2f}x**",
                f"{row.ratio('pool'):.2f}x",
                f"**{row.orm_speedup:.1f}x**",
                "" if row.pair is None else f"{row.pair:.2f}x",
                trips,
                row.verdict(),
            ]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    if any("raw_alt" in row.medians for row in rows):
        out += [
            "raw µs: the same SQL prepared / another raw version where there is one (the course tree as plain"
            " relations in two statements; discovery unprepared); ratios are against the faster of the two.",
            "",
        ]
    if imports:
        out += [
            "### bulk import against raw binary COPY of the same rows",
            "",
            "| import | rows | learnstore rows/s | raw COPY rows/s | learnstore / raw"
            " | COPY share of learnstore's time | bar (>= 0.90) |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for result in imports:
            verdict = "met" if result.ratio >= 0.9 else "missed"
            out.append(
                f"| {result.name} | {result.rows:,} | {result.learnstore_rate:,.0f} | {result.raw_rate:,.0f}"
                f" | **{result.ratio:.2f}x** | {result.learnstore_copy_share:.0%} | {verdict} |"
            )
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(dataset.SCALES), default="small")
    parser.add_argument(
        "--dsn", help="a database of your own (default: learnstore_bench on the local server)"
    )
    parser.add_argument("--rounds", type=int, default=1000, help="measured rounds per operation")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--only", action="append", default=[], help="run only this operation (repeatable)")
    parser.add_argument("--mode", choices=("sync", "async", "both"), default="both")
    parser.add_argument("--import-reps", type=int, default=5, help="bulk-import repetitions (0: skip)")
    parser.add_argument("--out", type=Path, help="markdown file to write (default: bench/results/<scale>.md)")
    args = parser.parse_args(argv)

    dsn = dataset.ensure(args.dsn, args.scale)
    with psycopg.connect(dsn) as conn:
        fx = Fixture.find(conn)
    only = set(args.only)
    rows: list[Row] = []
    print(f"running {len(OPS)} operations, {args.rounds} rounds each, against {dsn}", flush=True)
    if args.mode in ("sync", "both"):
        rows += run_sync(dsn, fx, args.rounds, args.warmup, only)
    if args.mode in ("async", "both"):
        rows += asyncio.run(run_async(dsn, fx, args.rounds, args.warmup, only))
    imports = []
    if args.import_reps:
        courses = 20 if args.scale == "small" else 200
        imports = imports_bench.measure(dsn, reps=args.import_reps, courses=courses)
    text = render(args.scale, args.rounds, _machine(dsn), rows, imports)
    out = args.out or RESULTS / f"{args.scale}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print()
    print(text)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
