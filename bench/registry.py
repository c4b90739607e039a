"""The benchmark operations, registered by domain: how a `bench/<domain>_ops.py` file plugs in.

An operation is a function decorated with `@operation(...)` that receives the `Peers` (learnstore on
one connection, learnstore's pool, raw psycopg on that connection and on a psycopg_pool, the
SQLAlchemy ORM) and returns its implementations, each a callable of the round number:

    @operation("thread_page", "a forum thread (50 posts)", kind="list", rows="50")
    def thread_page(p: Peers) -> Impls:
        thread = p.setup.execute("SELECT id FROM forum_posts LIMIT 1").fetchone()[0]
        return {
            **p.learnstore(lambda store, r: store.forum.get_thread(thread)),
            **p.raw(lambda raw, r: raw.all("get_thread", {"post_id": thread})),
            "orm": lambda r: p.orm(orm_thread, thread),
        }

The same function serves the sync and the async run: the async stores and raw peers have the same
method names, and there each call returns an awaitable, which the runner awaits. The suite
(bench/suite.py) imports every `bench/*_ops.py` module, so a new file is all it takes; `--only <name>`
runs one operation.

The imports point one way: each operation module imports this one, and this one imports none of them
(bench/suite.py finds them; pyproject.toml's import-linter contract and tests/test_layers.py hold it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["read", "list", "tree", "write"]
#: one implementation: a callable of the round number (returning an awaitable in the async run)
Impl = Callable[[int], Any]
Impls = dict[str, Impl]

#: learnstore / the best raw version, at most (the issue's bars, by kind of operation)
BARS: dict[str, float] = {"read": 1.10, "write": 1.10, "tree": 1.10, "list": 1.20}
#: the ORM / learnstore, at least
ORM_BARS: dict[str, float] = {"read": 2.5, "list": 2.5, "tree": 2.5, "write": 3.0}


@dataclass(frozen=True)
class Op:
    name: str
    title: str
    kind: Kind
    rows: str
    build: Callable[[Peers], Impls]
    domain: str


@dataclass
class Peers:
    """What an operation's implementations run on, in one mode (sync or async).

    `store` / `pool`: learnstore on the raw peer's own connection / on learnstore's pool
    (`learnstore.connect`); `raw_conn` / `raw_pool`: `bench.peers.raw` on that connection / on a
    plain psycopg_pool.ConnectionPool; `orm(fn, *args)` runs `fn(session, *args)` in a new Session
    (AsyncSession.run_sync in the async run); `setup`: a sync autocommit connection for an
    operation's own lookups while it is built. `fx`: the core dataset's fixture (bench/ops.py).
    """

    mode: Literal["sync", "async"]
    fx: Any
    store: Any
    pool: Any
    raw_conn: Any
    raw_pool: Any
    orm: Callable[..., Any]
    setup: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def learnstore(self, call: Callable[[Any, int], Any]) -> Impls:
        """`call(store, round)` on learnstore's connection and on its pool: "learnstore" and "pool"."""
        store, pool = self.store, self.pool
        return {"learnstore": lambda r: call(store, r), "pool": lambda r: call(pool, r)}

    def raw(self, call: Callable[[Any, int], Any], suffix: str = "") -> Impls:
        """`call(raw, round)` on the raw connection and on the raw pool: "raw" and "raw_pool" (with
        a suffix, e.g. "_alt" for another raw way to do it; the ratio takes the fastest raw)."""
        conn, pool = self.raw_conn, self.raw_pool
        return {f"raw{suffix}": lambda r: call(conn, r), f"raw_pool{suffix}": lambda r: call(pool, r)}


_OPS: dict[str, Op] = {}


def operation(name: str, title: str, *, kind: Kind, rows: str) -> Callable[[Callable[[Peers], Impls]], Op]:
    """Register an operation (see the module docstring)."""

    def register(build: Callable[[Peers], Impls]) -> Op:
        if name in _OPS:
            raise ValueError(f"benchmark operation {name!r} is registered twice")
        op = Op(name, title, kind, rows, build, build.__module__.rsplit(".", 1)[-1])
        _OPS[name] = op
        return op

    return register


def registered() -> list[Op]:
    """The operations registered so far, in the order their modules were imported (bench.suite
    imports them all)."""
    return list(_OPS.values())
