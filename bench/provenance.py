"""Where a measurement comes from, and whether it may be published.

Every run records the commit it measured, the date and the machine's load average (the machine that
runs the benchmarks is shared: a number taken under load is indicative). A run over a working tree
with uncommitted changes measured code that no commit holds: it is written to bench/results/ for the
one who ran it, but never appended to bench/history/, and bench.report leaves out any such run an
older runner did append. Nothing here measures anything.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: how an older runner marked a commit with uncommitted changes in bench/history
DIRTY_MARK = "(with uncommitted changes)"


@dataclass(frozen=True)
class Commit:
    sha: str  # short; "unknown" outside a git checkout
    dirty: bool

    @property
    def label(self) -> str:
        return self.sha + (f" {DIRTY_MARK}" if self.dirty else "")


def commit(cwd: Path | None = None) -> Commit:
    """The checkout's HEAD and whether its tracked or untracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=cwd
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            capture_output=True,
            text=True,
            check=True,
            cwd=cwd,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return Commit("unknown", dirty=True)
    # bench/results/ is ignored output; bench/history/ is what a run appends to, not what it measures
    changed = [
        line for line in status.splitlines() if line.strip() and not line[3:].startswith("bench/history/")
    ]
    return Commit(head, dirty=bool(changed))


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # no load average on this platform
        return []


def publishable(meta: dict[str, Any]) -> bool:
    """Whether a run's meta says it measured a commit as committed."""
    found = str(meta.get("commit") or "")
    return bool(found) and found != "unknown" and DIRTY_MARK not in found and not meta.get("dirty", False)


class Unpublishable(Exception):
    """A run over uncommitted changes was to be appended to the history."""


def append(history: Path, result: dict[str, Any]) -> None:
    """Append `result` (one run) as a line to `history`; refuse a run that is not publishable."""
    if not publishable(result.get("meta", {})):
        raise Unpublishable(
            f"not appended to {history.name}: the run measured {result['meta'].get('commit')!r}, not a"
            " commit; commit the changes and run again (or pass --no-history)"
        )
    history.parent.mkdir(parents=True, exist_ok=True)
    with history.open("a") as out:
        out.write(json.dumps(result, separators=(",", ":")) + "\n")


def measured_at(meta: dict[str, Any], date: str) -> str:
    """The cell every published row carries: the commit and the date it was measured at."""
    return f"{meta.get('commit', 'unknown')}, {date}"
