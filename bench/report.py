"""docs/benchmarks.md's results and plot, from the latest run of each scale in bench/history.

    python -m bench.report            # writes docs/benchmarks.md, the PNG and docs/scaling.md's Growth tables
    python -m bench.report --check    # exit 1 if either page is not the report (no PNG drawn)

bench.run appends every run to bench/history/<scale>.jsonl (committed: the history of the numbers);
this takes the last run of each scale and writes docs/benchmarks.md whole: bench/intro.md (how it is
measured), then the results, nothing written by hand, and draws docs/benchmarks.png: learnstore / raw
and learnstore's pool / raw pool per operation, with each operation's bar.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench import growth, provenance, throughput
from bench.run import HISTORY, render_imports, render_rows

DOCS = Path(__file__).resolve().parent.parent / "docs"
INTRO = Path(__file__).resolve().parent / "intro.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def latest(scale: str, history: Path = HISTORY, machine: str | None = None) -> dict[str, Any] | None:
    """The latest measurement of every operation at `scale`: the runs of bench/history/<scale>.jsonl
    laid over each other in order, so that a rerun of some operations (`--only`) replaces their rows
    and keeps the others; the imports of the latest run that measured them; the last run's meta.
    With `machine`, only the runs on that kind of machine (growth.machine_kind)."""
    path = history / f"{scale}.jsonl"
    if not path.exists():
        return None
    runs = [run for run in published(path) if machine is None or growth.machine_kind(run["meta"]) == machine]
    if not runs:
        return None
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    imports: list[dict[str, Any]] = []
    for run in runs:
        stamp = provenance.measured_at(run["meta"], run["date"])
        for row in run["rows"]:
            rows[(row["operation"], row["mode"])] = {**row, "run_date": run["date"], "measured_at": stamp}
        imports = [{**r, "measured_at": stamp} for r in run["imports"]] or imports
    merged = dict(runs[-1])
    merged["rows"] = list(rows.values())
    merged["imports"] = imports
    merged["runs"] = len(runs)
    merged["rounds"] = "-".join(str(r) for r in sorted({run["rounds"] for run in runs}))
    return merged


def published(path: Path) -> list[dict[str, Any]]:
    """The runs of a history file that measured a commit: a run over uncommitted changes (which
    an older runner appended, marked) is never published."""
    if not path.exists():
        return []
    runs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [run for run in runs if provenance.publishable(run["meta"])]


def latest_throughput(history: Path = HISTORY) -> dict[str, Any] | None:
    """The latest measurement of every throughput cell at the default pool size: the published runs
    laid over each other in order, as `latest` does for operations, so that a rerun of some cells
    (`--op`, `--callers`) replaces them and keeps the others, each with the commit and date it was
    measured at; with `pool_runs`, every published run (the pool-size table reads them all)."""
    runs = published(history / throughput.HISTORY.name)
    main = [run for run in runs if run["pool_size"] == throughput.DEFAULT_POOL]
    if not main:
        return None
    cells: dict[tuple[str, str, int], dict[str, Any]] = {}
    ratios: dict[tuple[str, str, int], dict[str, Any]] = {}
    for run in main:
        stamp = provenance.measured_at(run["meta"], run["date"])
        for cell in run["cells"]:
            cells[(cell["impl"], cell["op"], cell["callers"])] = {**cell, "measured_at": stamp}
        for ratio in run["ratios"]:
            ratios[(ratio["impl"], ratio["op"], ratio["callers"])] = {**ratio, "measured_at": stamp}
    return {
        **main[-1],
        "cells": list(cells.values()),
        "ratios": list(ratios.values()),
        "ops": [op for op in throughput.OPERATIONS if any(key[1] == op for key in cells)],
        "callers": sorted({key[2] for key in cells}),
        "runs": len(main),
        "pool_runs": runs,
    }


def pool_sizing(runs: list[dict[str, Any]]) -> list[str]:
    """learnstore's ops/s and p99 by pool size, from the latest measurement of each cell."""
    cells: dict[tuple[int, str, str, int], tuple[dict[str, Any], str]] = {}
    for run in runs:
        stamp = provenance.measured_at(run["meta"], run["date"])
        for cell in run["cells"]:
            if cell["impl"] in throughput.FLOOR and cell["ops_per_s"] is not None:
                cells[(run["pool_size"], cell["impl"], cell["op"], cell["callers"])] = (cell, stamp)
    sizes = sorted({key[0] for key in cells})
    if len(sizes) < 2:
        return []
    out = [
        "#### learnstore by pool size",
        "",
        "ops/s (p99 ms) of learnstore's pools at each pool size measured, the latest of each cell.",
        "",
        "| pool | operation | callers | learnstore (sync) | learnstore_async | measured at |",
        "|---:|---|---:|---:|---:|---|",
    ]
    sizes_of: dict[tuple[str, int], set[int]] = {}
    for size, _, op, n in cells:
        sizes_of.setdefault((op, n), set()).add(size)
    # only where more than one pool size was measured: that is what the table compares
    keys = sorted(
        {(size, op, n) for size, _, op, n in cells if len(sizes_of[(op, n)]) > 1},
        key=lambda k: (k[1], k[2], k[0]),
    )
    for size, op, n in keys:
        found = [cells.get((size, impl, op, n)) for impl in throughput.FLOOR]
        if sum(f is not None for f in found) == 0:
            continue
        texts = [
            ""
            if f is None or f[0]["p99_us"] is None
            else f"{f[0]['ops_per_s']:,.0f} ({f[0]['p99_us'] / 1000:.1f})"
            for f in found
        ]
        stamp = next(f[1] for f in found if f is not None)
        out.append(f"| {size} | {throughput.TITLES[op]} | {n} | {texts[0]} | {texts[1]} | {stamp} |")
    return [*out, ""]


def throughput_markdown(run: dict[str, Any]) -> list[str]:
    return [
        "### Throughput: learnstore's pools against raw psycopg and asyncpg",
        "",
        "`python -m bench.throughput` (how: see [Throughput under concurrency](#throughput-under-concurrency)"
        " above); learnstore / raw psycopg is ops/s against ops/s on the same kind of pool.",
        "",
        *throughput.render(run),
        "",
        "![throughput against concurrent callers](throughput.png)",
        "",
        *pool_sizing(run.get("pool_runs", [])),
    ]


def _summary(runs: list[dict[str, Any]]) -> list[str]:
    """One line per operation: met or missed at each scale and mode."""
    header = ["operation"]
    cells: dict[str, dict[str, str]] = {}
    titles: dict[str, str] = {}
    for run in runs:
        for mode in ("sync", "async"):
            rows = [row for row in run["rows"] if row["mode"] == mode]
            if not rows:
                continue
            column = f"{run['scale']}, {mode}"
            header.append(column)
            for row in rows:
                titles[row["operation"]] = row["title"]
                mark = "met" if row["met"] else "**missed**"
                pool = row["pool_over_raw_pool"]
                pool_text = "" if pool is None else f" / {pool:.2f}x"
                orm = row["orm_over_learnstore"]
                orm_text = "" if orm is None else f", ORM {orm:.1f}x"
                cells.setdefault(row["operation"], {})[column] = (
                    f"{mark}: {row['learnstore_over_raw']:.2f}x{pool_text}{orm_text}"
                )
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, title in titles.items():
        out.append("| " + " | ".join([title, *(cells[name].get(c, "") for c in header[1:])]) + " |")
    return out


def markdown(
    runs: list[dict[str, Any]],
    tp: dict[str, Any] | None = None,
    growth_of: list[dict[str, Any]] | None = None,
) -> str:
    """The results section: `runs` (the latest of each scale), the throughput run `tp` and the growth
    table of `growth_of` (the runs measured on one kind of machine; by default `runs`)."""
    growth_of = runs if growth_of is None else growth_of
    out = [
        BEGIN,
        "<!-- written by `python -m bench.report` from bench/history/*.jsonl: edit the runner, not this -->",
        "",
        "### Every bar at a glance",
        "",
        "Per cell: learnstore / raw, learnstore's pool / raw psycopg_pool, and how many times slower",
        "the ORM is; met means every bar of the row is met (the bars are in the tables below).",
        "",
        *_summary(runs),
        "",
        "![learnstore / raw per operation](benchmarks.png)",
        "",
        "### Growth: each operation at the three scales",
        "",
        *growth.latency_intro(growth_of),
        "",
        *growth.latency_table(growth_of),
        "",
    ]
    for run in runs:
        meta = run["meta"]
        out += [
            f"### Scale `{run['scale']}`: medians of {run['rounds']} interleaved rounds"
            f" (latest of {run['runs']} runs, {run['date']})",
            "",
            f"- {meta['machine']}; {meta['server']}",
            f"- {meta['python']}",
            *(
                [
                    f"- load average (1, 5, 15 min) of the latest run: {meta['load']['before']} before,"
                    f" {meta['load']['after']} after (on 2 shared CPUs: indicative numbers)"
                ]
                if meta.get("load")
                else []
            ),
            "- every row names the commit and the date it was measured at (its run in bench/history);"
            " a run over a checkout that differed from its commit is not published",
            "",
        ]
        for mode in ("sync", "async"):
            rows = [row for row in run["rows"] if row["mode"] == mode]
            if rows:
                out += [f"#### {run['scale']}, {mode}", "", *render_rows(rows), ""]
        if run["imports"]:
            out += [f"#### {run['scale']}, bulk import against raw binary COPY of the same rows", ""]
            out += [*render_imports(run["imports"]), ""]
    if tp is not None:
        out += throughput_markdown(tp)
    out.append(END)
    return "\n".join(out)


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: list[tuple[str, str, str]] = []  # (label, scale, mode)
    for run in runs:
        for mode in ("sync", "async"):
            if any(row["mode"] == mode for row in run["rows"]):
                series.append((f"{run['scale']}, {mode}", run["scale"], mode))
    by_key = {(run["scale"], row["mode"], row["operation"]): row for run in runs for row in run["rows"]}
    ops: dict[str, tuple[str, float]] = {}
    for run in runs:
        for row in run["rows"]:
            ops.setdefault(row["operation"], (row["title"], row["bar"]))
    names = list(ops)
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.55 * len(names) + 2), sharey=True)
    height = 0.8 / max(1, len(series))
    for ax, (field, label) in zip(
        axes,
        (
            ("learnstore_over_raw", "learnstore / raw psycopg"),
            ("pool_over_raw_pool", "pool / raw psycopg_pool"),
        ),
        strict=True,
    ):
        for i, (series_label, scale, mode) in enumerate(series):
            ys = [n + (i - (len(series) - 1) / 2) * height for n in range(len(names))]
            values = [(by_key.get((scale, mode, name)) or {}).get(field) or 0 for name in names]
            ax.barh(ys, values, height=height, label=series_label)
        for n, name in enumerate(names):
            bar = ops[name][1]
            ax.plot([bar, bar], [n - 0.45, n + 0.45], color="black", linewidth=2)
        ax.axvline(1.0, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xlabel(f"{label} (median; black: the bar)")
        ax.set_xlim(0.8, max(2.3, ax.get_xlim()[1]))
    axes[0].set_yticks(range(len(names)), [ops[name][0] for name in names])
    axes[0].invert_yaxis()
    axes[1].legend(loc="lower right")
    fig.suptitle("learnstore against raw psycopg, side by side in one process (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def page(
    runs: list[dict[str, Any]],
    tp: dict[str, Any] | None = None,
    growth_of: list[dict[str, Any]] | None = None,
) -> str:
    """docs/benchmarks.md: the intro, then the results of `runs`, the throughput run `tp` and the
    growth table of `growth_of` (by default the latest in bench/history: growth_runs)."""
    tp = tp if tp is not None else latest_throughput()
    growth_of = growth_of if growth_of is not None else growth_runs()
    return INTRO.read_text() + "\n## Results\n\n" + markdown(runs, tp, growth_of) + "\n"


def runs_of_history(history: Path = HISTORY) -> list[dict[str, Any]]:
    """The latest of each scale that bench/history holds, smallest first."""
    return [run for run in (latest(scale, history) for scale in growth.SCALES) if run is not None]


def growth_runs(history: Path = HISTORY) -> list[dict[str, Any]]:
    """The runs the growth tables compare: the latest of each scale measured on the kind of machine
    that measured the largest scale (the million's, when there is one), smallest first. A ratio of
    medians from two machines measures the machines: the latest large run on a faster one put every
    operation 1.5-3x "slower" at the million scale, same machine 0.7-1.2x."""
    runs = runs_of_history(history)
    if not runs:
        return runs
    machine = growth.machine_kind(runs[-1]["meta"])
    paired = [latest(scale, history, machine) for scale in growth.SCALES]
    return [run for run in paired if run is not None]


def scaling_page(growth_of: list[dict[str, Any]], page: Path = DOCS / "scaling.md") -> str:
    """docs/scaling.md with its Growth tables generated from `growth_of` (growth_runs) and the
    recorded loads."""
    return growth.splice(page.read_text(), growth.block(growth_of, growth.latest_loads()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=Path, default=DOCS / "benchmarks.md")
    parser.add_argument("--png", type=Path, default=DOCS / "benchmarks.png")
    parser.add_argument("--scaling", type=Path, default=DOCS / "scaling.md")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the page is stale")
    args = parser.parse_args(argv)
    runs = runs_of_history()
    if not runs:
        raise SystemExit("no run in bench/history: run python -m bench.run first")
    tp = latest_throughput()
    paired = growth_runs()
    text = page(runs, tp, paired)
    scaling = scaling_page(paired, args.scaling)
    if args.check:
        stale = [
            path for path, want in ((args.docs, text), (args.scaling, scaling)) if path.read_text() != want
        ]
        for path in stale:
            print(f"{path} is stale: python -m bench.report", file=sys.stderr)
        return 1 if stale else 0
    args.docs.write_text(text)
    args.scaling.write_text(scaling)
    plot(runs, args.png)
    if tp is not None:
        throughput.plot(tp, args.png.with_name("throughput.png"))
    scales = ", ".join(run["scale"] for run in runs)
    print(f"wrote {args.docs}, {args.png} and {args.scaling}'s Growth tables from {scales}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
