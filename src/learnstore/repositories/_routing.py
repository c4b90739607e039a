"""Which public repository methods only read, from their code and the SQL of the queries they run.

A store with replicas (docs/replicas.md) sends the queries of these methods to a replica; every
other method runs all of its statements on the primary, including the reads it makes before or
after a write (a check that the user exists, the row read back after an update), so that a write
never acts on, or returns, a stale read.

A method only reads when its body, and the body of every method of its class and function of its
module that it calls (followed through), runs no query that writes (learnstore.queries._reads),
opens no transaction (`attempts()`, `transaction()`), and sends no SQL of its own (`execute`,
`cursor`, `copy`) nor passes its connection to any other function than a querier. Anything else
it cannot follow makes it a writer: when in doubt, the primary.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from learnstore._resources import queries_dir
from learnstore.queries._loader import parse_dir
from learnstore.queries._reads import read_only_queries

__all__ = ["read_only_methods"]

_OWN_SQL = {"attempts", "transaction", "execute", "executemany", "cursor", "copy"}
_HERE = Path(__file__).resolve().parent


@cache
def read_only_methods() -> dict[str, frozenset[str]]:
    """Repository class name (both `UsersRepository` and `AsyncUsersRepository`) -> its public
    methods that only read."""
    queries = {q.method for q in parse_dir(queries_dir())}
    reads = read_only_queries()
    found: dict[str, frozenset[str]] = {}
    for path in sorted(_HERE.glob("*_async.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name.endswith("Repository")):
            methods = {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            checker = _Checker(methods, functions, queries, reads)
            names = frozenset(
                name for name in methods if not name.startswith("_") and checker.reads_only(("m", name))
            )
            found[cls.name] = names
            found[cls.name.removeprefix("Async")] = names
    return found


class _Checker:
    def __init__(
        self,
        methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
        functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
        queries: set[str],
        reads: frozenset[str],
    ) -> None:
        self._methods = methods
        self._functions = functions
        self._queries = queries
        self._reads = reads
        self._verdicts: dict[tuple[str, str], bool] = {}

    def reads_only(self, key: tuple[str, str]) -> bool:
        if key in self._verdicts:
            return self._verdicts[key]
        self._verdicts[key] = True  # a recursion back here adds nothing new
        node = (self._methods if key[0] == "m" else self._functions)[key[1]]
        verdict = all(self._call_reads(call) for call in ast.walk(node) if isinstance(call, ast.Call))
        self._verdicts[key] = verdict
        return verdict

    def _call_reads(self, call: ast.Call) -> bool:
        func = call.func
        if isinstance(func, ast.Attribute):
            if func.attr in _OWN_SQL:
                return False
            if func.attr in self._queries:
                return func.attr in self._reads
            own = isinstance(func.value, ast.Name) and func.value.id in ("self", "cls")
            if own and func.attr in self._methods:
                return self.reads_only(("m", func.attr))
        elif isinstance(func, ast.Name):
            if func.id.endswith("Querier"):
                return True
            if func.id in self._functions:
                return self.reads_only(("f", func.id))
        # Any other call that is handed the connection might send SQL on it.
        arguments = [*call.args, *(k.value for k in call.keywords)]
        return not any(isinstance(a, ast.Name) and a.id in ("conn", "cur", "cursor") for a in arguments)
