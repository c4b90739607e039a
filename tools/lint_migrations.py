"""Lint every migration with squawk, as CI does: `python tools/lint_migrations.py [FOLDER]`.

Three runs over FOLDER (default: migrations/), all configured by the repository's .squawk.toml:
- forward migrations that run in a transaction, with squawk's assume_in_transaction;
- forward migrations headed `-- transactional: false`, without it, so that squawk asks them to be
  rerunnable (IF NOT EXISTS): learnstore reruns one that stopped halfway;
- rollback files, with the extra exclusions of .squawk.toml's [learnstore.rollback] table.
Exit code 1 if squawk reports anything, naming the files and rules.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".squawk.toml"
SQUAWK = Path(sys.executable).with_name("squawk")

_NOT_TRANSACTIONAL = re.compile(r"^\s*--\s*transactional\s*:\s*false\s*$", re.IGNORECASE | re.MULTILINE)


def _transactional(path: Path) -> bool:
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("--"):
            break
        header.append(line)
    return not _NOT_TRANSACTIONAL.search("\n".join(header))


def _forward_of(rollback: Path) -> Path:
    return rollback.with_name(rollback.name.removesuffix(".rollback.sql") + ".sql")


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _rollback_config(config: dict[str, Any], folder: Path) -> Path:
    """A squawk config for the rollback files: the main one's rules plus [learnstore.rollback]'s."""
    rollback = config.get("learnstore", {}).get("rollback", {})
    rules = [*config.get("excluded_rules", []), *rollback.get("excluded_rules", [])]
    text = (
        f'pg_version = "{config.get("pg_version", "15")}"\n'
        f"assume_in_transaction = true\n"
        f"excluded_rules = {_toml_list(rules)}\n"
        f"excluded_paths = {_toml_list(rollback.get('excluded_paths', []))}\n"
    )
    path = folder / "squawk-rollback.toml"
    path.write_text(text, encoding="utf-8")
    return path


def lint(folder: Path, squawk: Path = SQUAWK, config_path: Path = CONFIG) -> int:
    """Run squawk over `folder`'s migrations; 0 when it reports nothing."""
    config = tomllib.loads(config_path.read_text(encoding="utf-8"))
    files = sorted(folder.glob("*.sql"))
    forward = [f for f in files if not f.name.endswith(".rollback.sql")]
    rollbacks = [f for f in files if f.name.endswith(".rollback.sql")]
    failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        runs = [
            ("in a transaction", ["-c", str(config_path)], [f for f in forward if _transactional(f)]),
            (
                "not transactional",
                ["-c", str(config_path), "--no-assume-in-transaction"],
                [f for f in forward if not _transactional(f)],
            ),
            (
                "rollbacks",
                ["-c", str(_rollback_config(config, Path(scratch)))],
                [f for f in rollbacks if _transactional(_forward_of(f))],
            ),
            # A migration headed `-- transactional: false` is rolled back statement by statement too.
            (
                "rollbacks, not transactional",
                ["-c", str(_rollback_config(config, Path(scratch))), "--no-assume-in-transaction"],
                [f for f in rollbacks if not _transactional(_forward_of(f))],
            ),
        ]
        for name, options, paths in runs:
            if not paths:
                continue
            done = subprocess.run(
                [str(squawk), "--reporter", "gcc", *options, *map(str, paths)],
                capture_output=True,
                text=True,
                check=False,
            )
            report = (done.stdout + done.stderr).strip()
            if done.returncode != 0 or report:
                failed = 1
                print(f"squawk ({name}):\n{report}", file=sys.stderr)
            else:
                print(f"squawk ({name}): {len(paths)} file(s), no findings")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "migrations")
    return lint(parser.parse_args().folder)


if __name__ == "__main__":
    sys.exit(main())
