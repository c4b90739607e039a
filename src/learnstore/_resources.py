"""Where the SQL files live: inside the wheel, or at the top of a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The folder `name` ("sql" or "migrations"): the wheel's copy first, then the checkout's."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"learnstore cannot find its {name}/ folder next to {_PACKAGE}")


def schema_dir() -> Path:
    return data_dir("sql") / "schema"


def queries_dir() -> Path:
    return data_dir("sql") / "queries"


def migrations_dir() -> Path:
    return data_dir("migrations")
