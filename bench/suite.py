"""The benchmark suite: every operation module, found and imported, above the registry they use.

bench/registry.py defines what an operation is and keeps the registered ones; each
`bench/<domain>_ops.py` imports it to register its operations. This module, which the runner
uses, is the one that imports the operation modules: the arrow points from the suite to the
operations to the registry, never back.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from bench.registry import Op, registered

HERE = Path(__file__).resolve().parent


def operation_modules() -> list[str]:
    """bench.ops first, then every other bench/*_ops.py in name order."""
    found = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.endswith("_ops"))
    return ["bench.ops", *(f"bench.{name}" for name in found if name != "ops")]


def operations() -> list[Op]:
    """Every registered operation, its module imported."""
    for module in operation_modules():
        importlib.import_module(module)
    return registered()
