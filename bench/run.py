"""The side-by-side runner: `python -m bench.run --scale small` (see docs/benchmarks.md).

For each registered operation (bench/registry.py: bench/ops.py and every bench/*_ops.py), every
implementation runs in this one process against the same server, interleaved (each round runs every
implementation once, in a shuffled order), after a warm-up; the table gives medians and ratios, sync
and async, then bulk import against raw binary COPY. The results are written as markdown and as JSON
(bench/results/<scale>.md and .json), and appended to bench/history/<scale>.jsonl, which
`python -m bench.report` turns into docs/benchmarks.md's tables and plot. Nothing here is asserted:
the bars are checked and reported, never turned into a failing test.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

import learnstore
from bench import dataset, imports_bench, provenance
from bench.ops import Fixture, ensure_writers
from bench.peers.raw import RawAsync, RawPoolAsync, RawPoolSync, RawSync
from bench.registry import BARS, ORM_BARS, Op, Peers
from bench.suite import operations
from learnstore import AsyncStore, Store

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
HISTORY = HERE / "history"


def _is_raw(name: str) -> bool:
    return name.startswith("raw") and not name.startswith("raw_pool")


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
        """The floor on one connection: the fastest raw psycopg version."""
        return min(v for k, v in self.medians.items() if _is_raw(k))

    @property
    def raw_pool(self) -> float | None:
        """The floor on a pool: the fastest raw psycopg version on a psycopg_pool."""
        found = [v for k, v in self.medians.items() if k.startswith("raw_pool")]
        return min(found) if found else None

    def ratio(self) -> float:
        return self.medians["learnstore"] / self.raw

    def pool_ratio(self) -> float | None:
        if "pool" not in self.medians or self.raw_pool is None:
            return None
        return self.medians["pool"] / self.raw_pool

    @property
    def orm_speedup(self) -> float | None:
        return self.medians["orm"] / self.medians["learnstore"] if "orm" in self.medians else None

    def misses(self) -> list[str]:
        bar, orm_bar = BARS[self.op.kind], ORM_BARS[self.op.kind]
        misses = []
        if self.ratio() > bar:
            misses.append(f"learnstore {self.ratio():.2f}x > {bar:.2f}x raw")
        pool = self.pool_ratio()
        if pool is not None and pool > bar:
            misses.append(f"pool {pool:.2f}x > {bar:.2f}x raw pool")
        if self.orm_speedup is not None and self.orm_speedup < orm_bar:
            misses.append(f"ORM only {self.orm_speedup:.1f}x < {orm_bar}x")
        if self.op.kind in ("tree", "write") and self.round_trips not in (None, 1):
            misses.append(f"{self.round_trips} round trips")
        return misses

    def verdict(self) -> str:
        misses = self.misses()
        return "met" if not misses else "missed: " + "; ".join(misses)

    def as_json(self) -> dict[str, Any]:
        return {
            "operation": self.op.name,
            "title": self.op.title,
            "domain": self.op.domain,
            "kind": self.op.kind,
            "rows": self.op.rows,
            "mode": self.mode,
            "medians_us": {k: round(v, 1) for k, v in self.medians.items()},
            "learnstore_over_raw": round(self.ratio(), 3),
            "pool_over_raw_pool": None if self.pool_ratio() is None else round(self.pool_ratio() or 0, 3),
            "orm_over_learnstore": None if self.orm_speedup is None else round(self.orm_speedup, 2),
            "learnstore_over_raw_alone": None if self.pair is None else round(self.pair, 3),
            "round_trips": self.round_trips,
            "orm_statements": self.orm_statements,
            "bar": BARS[self.op.kind],
            "orm_bar": ORM_BARS[self.op.kind],
            "met": not self.misses(),
            "verdict": self.verdict(),
        }


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
    """learnstore on its connection and the raw versions on it, with nothing else in the rounds."""
    return {name: impl for name, impl in impls.items() if name == "learnstore" or _is_raw(name)}


def _pair_ratio(medians: dict[str, float]) -> float:
    return medians["learnstore"] / min(v for k, v in medians.items() if _is_raw(k))


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


def _selected(only: set[str]) -> list[Op]:
    ops = operations()
    unknown = only - {op.name for op in ops}
    if unknown:
        raise SystemExit(f"unknown operation(s): {', '.join(sorted(unknown))}")
    return [op for op in ops if not only or op.name in only]


def run_sync(dsn: str, fx: Fixture, rounds: int, warmup: int, ops: list[Op]) -> list[Row]:
    engine = create_engine(_sqlalchemy_url(dsn))
    statements = {"n": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*args: Any) -> None:
        statements["n"] += 1

    sessions = sessionmaker(engine, expire_on_commit=False)

    def orm_call(fn: Callable[..., object], *args: Any) -> object:
        with sessions() as session:
            return fn(session, *args)

    rows = []
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        psycopg.connect(dsn, autocommit=True, cursor_factory=_CountingCursor) as counted,
        psycopg.connect(dsn, autocommit=True) as setup,
        learnstore.connect(dsn, max_size=2) as pool,
        ConnectionPool(dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as raw_pool,
    ):
        raw_pool.wait()
        peers = Peers("sync", fx, Store.on(conn), pool, RawSync(conn), RawPoolSync(raw_pool), orm_call, setup)
        counting = dataclasses.replace(peers, store=Store.on(counted))
        for op in ops:
            impls = op.build(peers)
            gc.collect()
            medians = _interleave(impls, rounds, warmup)
            pair = _interleave(_floor_pair(impls), rounds, warmup)
            _CountingCursor.executed = 0
            op.build(counting)["learnstore"](0)
            statements["n"] = 0
            if "orm" in impls:
                impls["orm"](0)
            rows.append(
                Row(op, "sync", medians, _CountingCursor.executed, statements["n"], _pair_ratio(pair))
            )
            print(f"  sync  {op.name:<26} {_brief(rows[-1])}", flush=True)
    engine.dispose()
    return rows


async def run_async(dsn: str, fx: Fixture, rounds: int, warmup: int, ops: list[Op]) -> list[Row]:
    engine = create_async_engine(_sqlalchemy_url(dsn))
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def orm_call(fn: Callable[..., object], *args: Any) -> object:
        # The ORM code is the sync code of bench/peers/orm.py, run by the AsyncSession
        # (SQLAlchemy's run_sync): each statement still goes through the async driver.
        async with sessions() as session:
            return await session.run_sync(fn, *args)

    rows = []
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    pool = await learnstore.connect_async(dsn, max_size=2)
    raw_pool = AsyncConnectionPool(dsn, min_size=1, max_size=2, kwargs={"autocommit": True}, open=False)
    await raw_pool.open(wait=True)
    try:
        with psycopg.connect(dsn, autocommit=True) as setup:
            raws = RawAsync(conn), RawPoolAsync(raw_pool)
            peers = Peers("async", fx, AsyncStore.on(conn), pool, *raws, orm_call, setup)
            for op in ops:
                impls = op.build(peers)
                gc.collect()
                medians = await _interleave_async(impls, rounds, warmup)
                pair = await _interleave_async(_floor_pair(impls), rounds, warmup)
                rows.append(Row(op, "async", medians, pair=_pair_ratio(pair)))
                print(f"  async {op.name:<26} {_brief(rows[-1])}", flush=True)
    finally:
        await raw_pool.close()
        await pool.close()
        await conn.close()
        await engine.dispose()
    return rows


def _brief(row: Row) -> str:
    pool = row.pool_ratio()
    orm = row.orm_speedup
    return (
        f"learnstore {row.medians['learnstore']:8.1f} us  raw {row.raw:8.1f} us"
        f"  -> {row.ratio():.2f}x raw"
        + ("" if pool is None else f", pool {pool:.2f}x raw pool")
        + ("" if orm is None else f", ORM {orm:.1f}x slower")
    )


def _machine(dsn: str) -> dict[str, str]:
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
    return {
        "machine": f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}",
        "server": f"PostgreSQL {server[0] if server else '?'} on the same machine, over TCP (127.0.0.1)",
        "python": f"Python {platform.python_version()}; {packages}",
        "commit": provenance.commit().label,
    }


def _fmt(value: float | None, spec: str = ".0f", suffix: str = "") -> str:
    return "" if value is None else f"{value:{spec}}{suffix}"


def render_rows(rows: list[dict[str, Any]]) -> list[str]:
    """The markdown table of one mode's rows, from their JSON form (bench.report uses it too)."""
    out = [
        "| operation | rows | learnstore µs | raw µs | **learnstore / raw** | pool µs | raw pool µs"
        " | **pool / raw pool** | ORM µs | **ORM / learnstore** | learnstore / raw, the two alone"
        " | round trips (ORM statements) | bar | met? | measured at |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for row in rows:
        m = row["medians_us"]
        raws = [v for k, v in m.items() if _is_raw(k)]
        pools = [v for k, v in m.items() if k.startswith("raw_pool")]
        trips = "" if row["round_trips"] is None else f"{row['round_trips']} ({row['orm_statements']})"
        bar = f"≤ {row['bar']:.2f}x raw, ≥ {row['orm_bar']}x ORM"
        verdict = "met" if row["met"] else row["verdict"]
        cells = [
            row["title"],
            row["rows"],
            _fmt(m["learnstore"]),
            " / ".join(f"{v:.0f}" for v in raws),
            f"**{row['learnstore_over_raw']:.2f}x**",
            _fmt(m.get("pool")),
            " / ".join(f"{v:.0f}" for v in pools),
            _fmt(row["pool_over_raw_pool"], ".2f", "x"),
            _fmt(m.get("orm")),
            _fmt(row["orm_over_learnstore"], ".1f", "x"),
            _fmt(row["learnstore_over_raw_alone"], ".2f", "x"),
            trips,
            bar,
            verdict,
            row.get("measured_at", ""),
        ]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _share(r: dict[str, Any], which: str) -> str:
    """A share of learnstore's import time that older runs did not record (blank for them)."""
    statements = r.get("learnstore_statement_share")
    if statements is None:
        return ""
    value = statements if which == "statement" else 1 - statements - r["learnstore_copy_share"]
    return f"{value:.0%}"


def _same_state(r: dict[str, Any]) -> str:
    """learnstore against raw COPY plus the recompute of the same derived columns; "same" when the
    COPY alone leaves the same state; blank for older runs, which did not measure it."""
    if "same_state_ratio" not in r:
        return ""
    return "same" if r["same_state_ratio"] is None else f"{r['same_state_ratio']:.2f}x"


def render_imports(imports: list[dict[str, Any]]) -> list[str]:
    # The same-end-state column only when a run measured it: older runs' tables stay as they were.
    same = any("same_state_ratio" in r for r in imports)
    same_head = (
        " learnstore / raw COPY + the same recompute of derived columns (the same end state) |"
        if same
        else ""
    )
    out = [
        f"| import | rows | learnstore rows/s | raw COPY rows/s | **learnstore / raw** |{same_head} COPY"
        " share of learnstore's time | other statements' share (locks, derived columns) | checking and"
        " building rows | learnstore's COPY alone / raw COPY (time) | bar | met? | measured at |",
        "|---|---:|---:|---:|---:|" + ("---:|" if same else "") + "---:|---:|---:|---:|---|---|---|",
    ]
    for r in imports:
        same_cell = f" {_same_state(r)} |" if same else ""
        out.append(
            f"| {r['name']} | {r['rows']:,} | {r['learnstore_rows_per_s']:,.0f} | {r['raw_rows_per_s']:,.0f}"
            f" | **{r['ratio']:.2f}x** |{same_cell} {r['learnstore_copy_share']:.0%}"
            f" | {_share(r, 'statement')} | {_share(r, 'rest')} | {_fmt(r.get('copy_over_raw'), '.2f', 'x')}"
            f" | ≥ 0.90x | {'met' if r['ratio'] >= 0.9 else 'missed'} | {r.get('measured_at', '')} |"
        )
    return out


def render(result: dict[str, Any]) -> str:
    meta = result["meta"]
    out = [
        f"## Scale `{result['scale']}`: medians of {result['rounds']} interleaved rounds",
        "",
        *(f"- {meta[key]}" for key in ("machine", "server", "python")),
        f"- learnstore commit {meta['commit']}, {result['date']}; load average {meta.get('load')}",
        "",
    ]
    for mode in ("sync", "async"):
        chosen = [row for row in result["rows"] if row["mode"] == mode]
        if chosen:
            out += [f"### {mode}", "", *render_rows(chosen), ""]
    if result["imports"]:
        out += ["### bulk import against raw binary COPY of the same rows", ""]
        out += [*render_imports(result["imports"]), ""]
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
    parser.add_argument(
        "--no-history", action="store_true", help="do not append this run to bench/history/<scale>.jsonl"
    )
    args = parser.parse_args(argv)

    load_before = provenance.load()
    dsn = dataset.ensure(args.dsn, args.scale)
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_writers(conn)
        fx = Fixture.find(conn)
    ops = _selected(set(args.only))
    rows: list[Row] = []
    print(f"running {len(ops)} operations, {args.rounds} rounds each, against {dsn}", flush=True)
    if args.mode in ("sync", "both"):
        rows += run_sync(dsn, fx, args.rounds, args.warmup, ops)
    if args.mode in ("async", "both"):
        rows += asyncio.run(run_async(dsn, fx, args.rounds, args.warmup, ops))
    imports = []
    if args.import_reps:
        courses = 20 if args.scale == "small" else 200
        imports = imports_bench.measure(dsn, reps=args.import_reps, courses=courses)
    meta = _machine(dsn)
    meta["load"] = {"before": load_before, "after": provenance.load()}
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    stamp = provenance.measured_at(meta, date)
    result = {
        "scale": args.scale,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "date": date,
        "meta": meta,
        "rows": [{**row.as_json(), "measured_at": stamp} for row in rows],
        "imports": [
            {
                "name": r.name,
                "rows": r.rows,
                "learnstore_rows_per_s": round(r.learnstore_rate),
                "raw_rows_per_s": round(r.raw_rate),
                "ratio": round(r.ratio, 3),
                "learnstore_copy_share": round(r.learnstore_copy_share, 3),
                "learnstore_statement_share": round(r.learnstore_statement_share, 3),
                "copy_over_raw": round(r.copy_over_raw, 3),
                "same_state_ratio": None if r.same_state_ratio is None else round(r.same_state_ratio, 3),
                "measured_at": stamp,
            }
            for r in imports
        ],
    }
    text = render(result)
    out = args.out or RESULTS / f"{args.scale}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    print()
    print(text)
    print(f"written to {out} and {out.with_suffix('.json')}")
    if not args.no_history:
        try:
            provenance.append(HISTORY / f"{args.scale}.jsonl", result)
        except provenance.Unpublishable as refused:
            print(refused, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
