"""The package's imports point down (DESIGN.md §5): the import-linter contracts hold, and no module
imports, however indirectly, a module that imports it back."""

from __future__ import annotations

import re
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def _cycle(graph: grimp.ImportGraph) -> list[str] | None:
    """One import cycle among learnstore's modules (the package's own __init__ aside), or None."""
    modules = sorted(graph.modules - {"learnstore"})
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported == "learnstore" or not imported.startswith("learnstore"):
                continue
            if state.get(imported) == 1:
                return [*path[path.index(imported) :], imported]
            if imported not in state and (found := visit(imported)):
                return found
        state[module] = 2
        path.pop()
        return None

    for module in modules:
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_import_contracts_hold() -> None:
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def test_no_module_is_part_of_an_import_cycle() -> None:
    graph = grimp.build_graph("learnstore", include_external_packages=False)
    assert _cycle(graph) is None


def test_the_cycle_check_finds_a_cycle_when_one_returns() -> None:
    graph = grimp.build_graph("learnstore", include_external_packages=False)
    # What issue 11 removed: the core importing the store that imports it.
    graph.add_import(
        importer="learnstore.database_async",
        imported="learnstore.store_async",
        line_number=1,
        line_contents="",
    )
    cycle = _cycle(graph)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert {"learnstore.database_async", "learnstore.store_async"} <= set(cycle)


def test_the_benchmark_registry_finds_no_operation_module_itself() -> None:
    # import-linter sees static imports only; the registry once imported the operation modules
    # with importlib while they imported it. Finding them is bench/suite.py's job.
    source = (ROOT / "bench" / "registry.py").read_text()
    assert not re.search(r"\b(importlib|pkgutil|__import__)\b", source)
    suite = (ROOT / "bench" / "suite.py").read_text()
    assert "from bench.registry import" in suite
