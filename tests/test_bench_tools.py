"""The benchmark tooling's own logic (no measurement): a run over uncommitted changes is never
published, every published row names its commit and date, asyncpg gets the same SQL, the bench
forum seeds at the small scale."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# bench is scripts with their own typing standard: imported by name, so mypy does not follow it.
provenance = importlib.import_module("bench.provenance")
report = importlib.import_module("bench.report")
throughput = importlib.import_module("bench.throughput")
growth = importlib.import_module("bench.growth")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "one")
    return tmp_path


def _run(commit: str, date: str = "2026-12-03 06:00 UTC") -> dict[str, Any]:
    return {"date": date, "meta": {"commit": commit}, "rows": [], "imports": []}


def test_a_clean_checkout_is_publishable_and_a_changed_one_is_not(repo: Path) -> None:
    clean = provenance.commit(repo)
    assert not clean.dirty and len(clean.sha) >= 7
    assert provenance.publishable({"commit": clean.label})
    (repo / "code.py").write_text("x = 2\n")
    changed = provenance.commit(repo)
    assert changed.dirty and changed.sha == clean.sha
    assert not provenance.publishable({"commit": changed.label})
    (repo / "code.py").write_text("x = 1\n")
    (repo / "new.py").write_text("y = 1\n")  # an untracked file is measured code too
    assert provenance.commit(repo).dirty


def test_the_history_a_run_appends_to_does_not_make_the_tree_dirty(repo: Path) -> None:
    (repo / "bench" / "history").mkdir(parents=True)
    (repo / "bench" / "history" / "small.jsonl").write_text("{}\n")
    assert not provenance.commit(repo).dirty


def test_outside_a_checkout_nothing_is_publishable(tmp_path: Path) -> None:
    found = provenance.commit(tmp_path)
    assert found.sha == "unknown"
    assert not provenance.publishable({"commit": found.label})


def test_a_run_over_uncommitted_changes_is_refused_by_the_history(tmp_path: Path) -> None:
    history = tmp_path / "history" / "small.jsonl"
    with pytest.raises(provenance.Unpublishable):
        provenance.append(history, _run("abc1234 (with uncommitted changes)"))
    assert not history.exists()
    provenance.append(history, _run("abc1234"))
    assert [json.loads(line)["meta"]["commit"] for line in history.read_text().splitlines()] == ["abc1234"]


def test_the_report_leaves_out_runs_an_older_runner_appended_over_changes(tmp_path: Path) -> None:
    row = {"operation": "op", "mode": "sync", "title": "t"}
    runs = [
        {**_run("aaa1111", "2026-12-01 10:00 UTC"), "rows": [row], "rounds": 10},
        {**_run("bbb2222 (with uncommitted changes)"), "rows": [{**row, "mode": "async"}], "rounds": 10},
    ]
    (tmp_path / "small.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    merged = report.latest("small", tmp_path)
    assert merged is not None
    assert [(r["mode"], r["measured_at"]) for r in merged["rows"]] == [
        ("sync", "aaa1111, 2026-12-01 10:00 UTC")
    ]
    assert merged["meta"]["commit"] == "aaa1111"


def test_every_published_row_carries_its_commit_and_date() -> None:
    for run in report.runs_of_history():
        for row in run["rows"]:
            assert row["measured_at"].startswith(run["meta"]["commit"] + ",") or row["measured_at"]
            assert provenance.DIRTY_MARK not in row["measured_at"]
        for found in run["imports"]:
            assert provenance.DIRTY_MARK not in found["measured_at"]


def test_asyncpg_gets_the_same_sql_numbered() -> None:
    text, names = throughput.asyncpg_sql(
        "SELECT * FROM t WHERE a = %(a)s AND b = %(b)s OR a = %(a)s AND c LIKE 'x%%'"
    )
    assert text == "SELECT * FROM t WHERE a = $1 AND b = $2 OR a = $1 AND c LIKE 'x%'"
    assert names == ["a", "b"]


def test_the_throughput_ratio_is_against_the_raw_pool_of_the_same_kind() -> None:
    def cell(impl: str, rate: float) -> dict[str, Any]:
        return {"impl": impl, "op": "read", "callers": 8, "ops_per_s": rate}

    found = throughput.ratios(
        [cell("learnstore", 80), cell("raw_pool", 100), cell("learnstore_async", 90), cell("asyncpg", 50)]
    )
    assert found == [{"impl": "learnstore", "op": "read", "callers": 8, "ratio": 0.8, "met": False}]


def test_a_throughput_rerun_of_some_cells_replaces_them_and_keeps_the_others(tmp_path: Path) -> None:
    def tp(commit: str, date: str, op: str, callers: list[int], rate: float) -> dict[str, Any]:
        cells = [
            {
                "impl": impl,
                "op": op,
                "callers": n,
                "ops_per_s": rate if impl == "learnstore" else 100.0,
                "p99_us": 1000,
                "errors": 0,
            }
            for n in callers
            for impl in ("learnstore", "raw_pool")
        ]
        return {
            **_run(commit, date),
            "pool_size": throughput.DEFAULT_POOL,
            "rounds": 3,
            "seconds": 1.5,
            "warmup": 0.5,
            "ops": [op],
            "callers": callers,
            "cells": cells,
            "ratios": throughput.ratios(cells),
        }

    runs = [
        tp("aaa1111", "2026-12-01 10:00 UTC", "list", [1, 128], 70.0),
        tp("bbb2222", "2026-12-02 10:00 UTC", "list", [128], 90.0),
        tp("ccc3333", "2026-12-02 11:00 UTC", "read", [32], 95.0),
    ]
    (tmp_path / throughput.HISTORY.name).write_text("".join(json.dumps(r) + "\n" for r in runs))
    merged = report.latest_throughput(tmp_path)
    assert merged is not None
    assert merged["ops"] == ["read", "list"] and merged["callers"] == [1, 32, 128]
    found = {(r["op"], r["callers"]): (r["ratio"], r["measured_at"]) for r in merged["ratios"]}
    assert found == {
        ("list", 1): (0.7, "aaa1111, 2026-12-01 10:00 UTC"),
        ("list", 128): (0.9, "bbb2222, 2026-12-02 10:00 UTC"),
        ("read", 32): (0.95, "ccc3333, 2026-12-02 11:00 UTC"),
    }
    table = "\n".join(throughput.render(merged))
    assert "| 50-row list | 128 |" in table and "bbb2222, 2026-12-02 10:00 UTC |" in table


def _timed(scale: str, medians: dict[str, float]) -> dict[str, Any]:
    rows = [
        {"operation": name, "title": name.replace("_", " "), "mode": "sync", "medians_us": {"learnstore": us}}
        for name, us in medians.items()
    ]
    return {"scale": scale, "rows": rows}


def test_the_growth_table_lays_the_scales_side_by_side_with_the_large_to_million_ratio() -> None:
    runs = [
        _timed("small", {"dashboard": 100.0, "rank": 200.0}),
        _timed("large", {"dashboard": 400.0, "rank": 1_000.0, "feed": 50.0}),
        _timed("million", {"dashboard": 500.0, "rank": 4_000.0}),
    ]
    table = growth.latency_table(runs)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table[2:]}
    assert rows["dashboard"] == "| dashboard | 100 | 400 | 500 | **1.25x** | yes |"
    assert rows["rank"] == "| rank | 200 | 1,000 | 4,000 | **4.00x** | **grows**: see below |"
    assert rows["feed"] == "| feed |  | 50.0 |  |  |  |"  # measured at one scale: no ratio


def test_the_growth_tables_compare_runs_of_the_million_runs_kind_of_machine(tmp_path: Path) -> None:
    """A faster machine's later large run is left out of the growth tables: the large column is the
    latest large run on the machine kind that measured the million scale."""

    def run(scale: str, machine: str, date: str, dashboard: float) -> dict[str, Any]:
        return {
            **_timed(scale, {"dashboard": dashboard}),
            "date": date,
            "rounds": 100,
            "imports": [],
            "meta": {"commit": "aaa1111", "machine": f"2 CPUs ({machine}), Linux 6.18.44-fc-v114"},
        }

    history = {
        "large": [
            run("large", "AMD EPYC", "2026-12-03 10", 900.0),
            run("large", "Intel Xeon", "2026-12-04 11", 450.0),
        ],
        "million": [run("million", "AMD EPYC", "2026-12-03 12", 1_000.0)],
    }
    for scale, runs in history.items():
        (tmp_path / f"{scale}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    latest_large = report.runs_of_history(tmp_path)[0]
    assert growth.machine_kind(latest_large["meta"]).startswith("2 CPUs (Intel Xeon)")
    paired = report.growth_runs(tmp_path)
    assert [growth.machine_kind(r["meta"]) for r in paired] == [
        "2 CPUs (AMD EPYC), Linux 6.18.44-fc-v114"
    ] * 2
    assert "| dashboard |  | 900 | 1,000 | **1.11x** | yes |" in growth.latency_table(paired)
    assert "on one kind of machine (2 CPUs (AMD EPYC), Linux 6.18.44-fc-v114)" in " ".join(
        growth.latency_intro(paired)
    )


def test_the_load_table_gives_each_tables_rate_at_each_scale_and_leaves_out_unpublished_loads(
    tmp_path: Path,
) -> None:
    def load(scale: str, commit: str, rows: int, seconds: float) -> dict[str, Any]:
        return {
            "scale": scale,
            "date": "2026-12-03",
            "meta": {"commit": commit},
            "rows": {"user_progress": rows},
            "seconds": {"user_progress": seconds},
            "generating_seconds": 1.0,
            "wall_seconds": seconds + 1,
            "database_bytes": 2_500_000_000,
        }

    path = tmp_path / "loads.jsonl"
    path.write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in (
                load("million", "aaa1111", 20_000_000, 1_000.0),
                load("million", "bbb2222 (with uncommitted changes)", 1, 1.0),
                load("small", "aaa1111", 20_000, 0.5),
            )
        )
    )
    loads = growth.latest_loads(path)
    assert sorted(loads) == ["million", "small"] and loads["million"]["rows"]["user_progress"] == 20_000_000
    table = growth.load_table(loads)
    assert table[0] == "| table | small: rows (rows/s) | million: rows (rows/s) |"
    assert "| user_progress | 20,000 (40,000) | 20,000,000 (20,000) |" in table
    assert "| database size, GB | 2.50 | 2.50 |" in table


def test_the_scaling_page_growth_tables_are_the_report_of_bench_history() -> None:
    page = (ROOT / "docs" / "scaling.md").read_text()
    assert page == report.scaling_page(report.growth_runs()), (
        "docs/scaling.md's Growth tables are stale: python -m bench.report"
    )


def test_the_bench_forum_seeds_at_the_small_scale(fresh_db: str) -> None:
    """The forum the forum pages' benchmarks read is written on first use, in chunks whose bounds are
    parameters: at the small scale they fit a smallint, which generate_series() cannot choose an
    overload for unless the statement says which (a run of `bench.run --scale small` failed so)."""
    dataset = importlib.import_module("bench.dataset")
    forum = importlib.import_module("bench.forum_pages_ops")
    sample = importlib.import_module("learnstore.sample")
    dataset.load(fresh_db, sample.SCALES["small"], say=lambda _: None)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        landmarks = forum.ForumData.ensure(conn)
        posts = conn.execute("SELECT count(*) FROM forum_posts").fetchone()
        assert posts is not None and posts[0] >= forum.POSTS["small"]
        post = conn.execute("SELECT author_clerk_id FROM forum_posts WHERE id = %s", [landmarks.post_id])
        assert post.fetchone() is not None
        assert forum.ForumData.ensure(conn) == landmarks  # once: a second call writes nothing
        again = conn.execute("SELECT count(*) FROM forum_posts").fetchone()
        assert again == posts
