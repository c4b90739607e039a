"""How each operation grows with the platform: its learnstore median at the small, large and million
scales side by side, with the large → million ratio against the bound; and each scale's load.

    python -m bench.growth        # print both tables (from bench/history)

Everything comes from bench/history: the operations from the latest published run of each scale on
the kind of machine that measured the million scale (bench.report.growth_runs), the loads from
bench/history/loads.jsonl (`python -m bench.dataset --record`).
bench.report writes the latency table into docs/benchmarks.md and both tables into docs/scaling.md's
"Growth" section, between GROWTH_BEGIN and GROWTH_END: numbers on a page are generated, never typed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import provenance

SCALES = ("small", "large", "million")
#: a per-user or per-course operation's median at the million scale, at most, over the large one's
BOUND = 1.5
HISTORY = Path(__file__).resolve().parent / "history"
LOADS = HISTORY / "loads.jsonl"
GROWTH_BEGIN, GROWTH_END = "<!-- growth:begin -->", "<!-- growth:end -->"


def _us(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def machine_kind(meta: dict[str, Any]) -> str:
    """The machine a run's meta names: its CPUs and their model and the kernel's build ("2 CPUs (AMD
    EPYC), Linux 6.18.44-fc-v114"). Two machines of one CPU model but of another build ran the same
    operations up to twice as fast: only the whole string pairs like with like."""
    return str(meta.get("machine", ""))


def latency_intro(runs: list[dict[str, Any]]) -> list[str]:
    """The lines before latency_table: what it compares, and on which kind of machine."""
    kinds = sorted({machine_kind(run["meta"]) for run in runs if "meta" in run})
    where = f" on one kind of machine ({', '.join(kinds)})" if len(kinds) == 1 else ""
    return [
        f"learnstore's median (µs, one connection) of the latest run at each scale{where}: a ratio of",
        "two machines' medians would measure the machines. Per-user and per-course operations are to",
        f"stay within {BOUND}x from large to million (the ones that do not are explained in",
        "[Scaling: Growth](scaling.md#growth)).",
    ]


def latency_table(runs: list[dict[str, Any]], mode: str = "sync") -> list[str]:
    """Markdown: each operation's learnstore median (µs) at each scale of `runs` (the latest run of
    each, as bench.report merges them), the large → million ratio and whether it is within BOUND."""
    by_scale = {
        run["scale"]: {row["operation"]: row for row in run["rows"] if row["mode"] == mode} for run in runs
    }
    titles: dict[str, str] = {}
    for scale in SCALES:
        for name, row in by_scale.get(scale, {}).items():
            titles.setdefault(name, row["title"])
    out = [
        f"| operation ({mode}) | small µs | large µs | million µs | **large → million** | within {BOUND}x? |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, title in titles.items():
        medians = [
            (by_scale.get(scale, {}).get(name) or {}).get("medians_us", {}).get("learnstore")
            for scale in SCALES
        ]
        large, million = medians[1], medians[2]
        ratio = million / large if large and million else None
        verdict = "" if ratio is None else ("yes" if ratio <= BOUND else "**grows**: see below")
        ratio_text = "" if ratio is None else f"**{ratio:.2f}x**"
        out.append(f"| {title} | {' | '.join(_us(m) for m in medians)} | {ratio_text} | {verdict} |")
    return out


def latest_loads(path: Path = LOADS) -> dict[str, dict[str, Any]]:
    """The latest published load of each scale in `path`."""
    if not path.exists():
        return {}
    loads: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            if provenance.publishable(record["meta"]):
                loads[record["scale"]] = record
    return loads


def load_table(loads: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown: rows and rows/s of each table at each scale loaded, the generator's seconds, the wall
    time and the database's size."""
    scales = [scale for scale in SCALES if scale in loads]
    if not scales:
        return []
    tables: list[str] = []
    for scale in scales:
        tables += [name for name in loads[scale]["rows"] if name not in tables]
    out = [
        "| table | " + " | ".join(f"{scale}: rows (rows/s)" for scale in scales) + " |",
        "|---|" + "---:|" * len(scales),
    ]
    for name in tables:
        cells = []
        for scale in scales:
            rows, seconds = loads[scale]["rows"].get(name), loads[scale]["seconds"].get(name)
            cells.append("" if rows is None else f"{rows:,} ({rows / max(seconds, 0.01):,.0f})")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    facts = (
        ("generating the rows (Python), s", lambda r: f"{r['generating_seconds']:,.0f}"),
        ("wall time of the load, s", lambda r: f"{r['wall_seconds']:,.0f}"),
        ("database size, GB", lambda r: f"{r['database_bytes'] / 1e9:.2f}"),
        (
            "load average (1, 5, 15 min) when it ended, on 2 shared CPUs",
            lambda r: str(r["meta"].get("load", {}).get("after", "")),
        ),
        ("loaded at (commit, date)", lambda r: provenance.measured_at(r["meta"], r["date"])),
    )
    for label, cell in facts:
        out.append(f"| {label} | " + " | ".join(cell(loads[scale]) for scale in scales) + " |")
    return out


def block(runs: list[dict[str, Any]], loads: dict[str, dict[str, Any]]) -> str:
    """docs/scaling.md's generated part of the Growth section, markers included."""
    out = [
        GROWTH_BEGIN,
        "<!-- written by `python -m bench.report` from bench/history: edit bench/growth.py, not this -->",
        "",
        "#### Loading each scale (`python -m bench.dataset --record`)",
        "",
        *(load_table(loads) or ["No load recorded yet."]),
        "",
        "#### Each operation's learnstore median at each scale (`python -m bench.run`)",
        "",
        *latency_intro(runs),
        "",
        *latency_table(runs),
        GROWTH_END,
    ]
    return "\n".join(out)


def splice(page: str, generated: str) -> str:
    """`page` with its text between the growth markers replaced by `generated` (markers included)."""
    start, end = page.index(GROWTH_BEGIN), page.index(GROWTH_END) + len(GROWTH_END)
    return page[:start] + generated + page[end:]


def main() -> int:
    from bench.report import growth_runs  # here: bench.report imports this module

    print("\n".join(load_table(latest_loads())))
    print()
    print("\n".join(latency_table(growth_runs())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
