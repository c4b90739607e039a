"""Facts the docs state that the code can check: where a page says which extras, versions, CLI
commands, schema files or scheduler there are, the code is asked, so the page cannot drift."""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import tomllib
from pathlib import Path

import learnstore.doctor
from learnstore import cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# tools/ and bench/ are folders of scripts at the top of the checkout, not part of the package.
sys.path.insert(0, str(ROOT))

from tools import erd  # noqa: E402

# bench is scripts with their own typing standard: imported by name, so mypy does not follow it.
report = importlib.import_module("bench.report")

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _table(page: str, first_header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header starts with `first_header`, cells stripped."""
    lines = (DOCS / page).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[; ]", requirement, maxsplit=1)[0].lower()


def test_the_install_page_lists_every_extra_and_what_it_brings() -> None:
    extras: dict[str, list[str]] = PROJECT["optional-dependencies"]
    rows = {row[0].strip("`"): row[1] for row in _table("install.md", "extra")}
    assert set(rows) == set(extras)
    for extra, requirements in extras.items():
        if extra == "dev":  # "all of the above, and ...": checked for what it names
            continue
        for requirement in requirements:
            assert _name(requirement) in rows[extra].lower(), (extra, requirement)


def test_the_install_page_states_the_versions_the_code_requires() -> None:
    versions = {row[0]: row[1] for row in _table("install.md", "requirement")}
    minimum_python = PROJECT["requires-python"].removeprefix(">=")
    assert versions["Python"].startswith(f"{minimum_python} or newer")
    assert versions["PostgreSQL"].startswith(f"{learnstore.doctor.MIN_SERVER_VERSION} or newer")
    assert f"The package is **`{PROJECT['name']}`**" in (DOCS / "install.md").read_text()


def test_the_changelog_starts_at_the_packages_version() -> None:
    heading = next(
        line for line in (DOCS / "changelog.md").read_text().splitlines() if line.startswith("## ")
    )
    assert heading.split()[1] == PROJECT["version"]


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


def test_the_cli_summary_has_every_command_with_options_it_has() -> None:
    text = (DOCS / "cli.md").read_text()
    summary = re.search(r"```console\n(learnstore .*?)```", text, re.S)
    assert summary is not None
    lines = [line for line in summary.group(1).splitlines() if line.startswith("learnstore ")]
    commands = _subcommands()
    assert [line.split()[1] for line in lines] == list(dict.fromkeys(line.split()[1] for line in lines))
    assert {line.split()[1] for line in lines} == set(commands)
    for line in lines:
        name = line.split()[1]
        options = {opt for action in commands[name]._actions for opt in action.option_strings}
        usage = line.split("   ")[0]  # the usage part, before the explanation
        for flag in re.findall(r"--[a-z][a-z-]*", usage):
            assert flag in options, f"cli.md: `learnstore {name}` has no {flag}"


def test_the_schema_page_lists_every_schema_file_and_its_tables() -> None:
    rows = _table("schema.md", "file")
    files = sorted(path.name for path in erd.SCHEMA.glob("*.sql"))
    assert [row[0].strip("`") for row in rows] == files
    created = {domain.file: set(domain.tables) for domain in erd.domains()}
    for row in rows:
        listed = set(re.findall(r"`(\w+)`", row[1]))
        assert listed == created.get(row[0].strip("`"), set()), row[0]


def test_the_docs_name_the_scheduler_the_code_uses() -> None:
    source = (ROOT / "src" / "learnstore" / "repositories" / "flashcards_async.py").read_text()
    assert re.search(r"^(from fsrs import|import fsrs)", source, re.M)
    for page in DOCS.rglob("*.md"):
        assert not re.search(r"SM-2(?:'s)? schedul", page.read_text()), f"{page.name} says SM-2 schedules"
    [flashcards] = [row for row in _table("schema.md", "file") if "flashcards" in row[0] and row[1] != "—"][
        :1
    ]
    assert "FSRS" in flashcards[2]


def test_the_benchmarks_page_is_the_report_of_bench_history() -> None:
    page = (DOCS / "benchmarks.md").read_text()
    assert page == report.page(report.runs_of_history()), (
        "docs/benchmarks.md is stale: python -m bench.report"
    )
    assert not re.search(r"\bissue \d+|uncommitted", page, re.I)


# Material's code box at a 1280-pixel window is 688 pixels wide (measured in headless Chromium),
# about 86 characters of its code font: a longer command scrolls sideways, its end out of sight.
COMMAND_WIDTH = 86
SHELL_BLOCK = re.compile(r"^```(?:console|sh|bash|shell)\n(.*?)^```", re.M | re.S)


def test_commands_fit_their_boxes() -> None:
    wide = [
        (page.name, line)
        for page in sorted(DOCS.rglob("*.md"))
        for block in SHELL_BLOCK.findall(page.read_text())
        for line in block.splitlines()
        if len(line) > COMMAND_WIDTH
    ]
    assert not wide, f"put the comment on its own line, or break the command with \\: {wide[:5]}"
