"""Read sqlc-annotated query files and load them through aiosql, translating headers and parameters."""

from __future__ import annotations

import functools
import inspect
import keyword
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import NoneType
from typing import Any, Literal
from uuid import UUID

import aiosql
from aiosql.queries import Queries
from psycopg.types.json import Jsonb

from learnstore.errors import InvalidValue, QueryFileError

__all__ = ["Driver", "QueryDef", "load", "parse_dir", "parse_file", "to_aiosql"]

Driver = Literal["psycopg", "apsycopg"]

# sqlc command -> aiosql suffix. With aiosql's psycopg adapters: "^" gives the first row or None,
# "" a lazy (async) generator of the rows, "!" the cursor's rowcount. No suffix that takes
# parameters returns None, so :exec shares "!" and its callers ignore the count.
_SUFFIXES = {"one": "^", "many": "", "exec": "!", "execrows": "!"}
_SQLC_ONLY = {"execresult", "execlastid", "batchexec", "batchmany", "batchone", "copyfrom"}

# One alternative per PostgreSQL lexical element that can hide or fake a parameter. Order matters:
# comments before operators, E'' before words, and `other` takes any single character left. `@name`
# is a parameter only where `@` stands alone, as in PostgreSQL's lexer: `<@x` and `@@x` are operators.
_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*')
    | (?P<string>'(?:[^']|'')*')
    | (?P<qident>"(?:[^"]|"")*")
    | (?P<dollar>\$(?:[^\W\d]\w*)?\$)
    | (?P<positional>\$\d+)
    | (?P<sqlc>(?i:sqlc)\s*\.\s*\w+\s*(?:\(\s*(?:\w+|'[^']*'|"[^"]*")\s*\))?)
    | (?P<word>\w[\w$]*)
    | (?P<at_param>@[^\W\d][\w$]*)
    | (?P<colon>::?)
    | (?P<op>(?:[+*<>=~!@\#%^&|`?]|-(?!-)|/(?!\*))+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_SQLC_CALL = re.compile(r"(?i:sqlc)\s*\.\s*(\w+)\s*(?:\(\s*(\w+|'[^']*'|\"[^\"]*\")\s*\))?")
_NESTED_COMMENT = re.compile(r"/\*|\*/")
_HEADER = re.compile(r"--\s*name\s*:")
_HEADER_FORM = re.compile(r"-- name: (\S+)(?: (\S+))?")
_PASCAL = re.compile(r"[A-Z][A-Za-z0-9]*")
_RETURNS = re.compile(r"returns:\s*(\S+)")
_INTO = re.compile(r"into:\s*(\S+)")
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_GAP = {"space", "line_comment", "block_comment"}
# Public attributes of aiosql's Queries: a query method of the same name cannot be added.
_RESERVED = frozenset(n for n in dir(Queries) if not n.startswith("_")) | {"driver_adapter", "is_aio"}


@dataclass(frozen=True)
class QueryDef:
    """One named query of a sqlc query file, translated for aiosql."""

    name: str  # the sqlc name: GetUserByClerkId
    method: str  # the Python method: get_user_by_clerk_id
    command: str  # one | many | exec | execrows
    params: tuple[str, ...]  # distinct, in order of first appearance
    doc: str  # the comment lines under the header
    sql: str  # aiosql's form: :name parameters, % doubled, comments removed
    source: Path
    line: int  # of the header
    psycopg_sql: str  # what aiosql must hand psycopg: %(name)s placeholders
    nullable: frozenset[str] = frozenset()  # the sqlc.narg() parameters, which may be None
    # the model a row becomes, when a `-- returns: Model` line under the header names one (another
    # query's row, or a table's model) instead of a `<Name>Row` of its own: tools/generate.py checks
    # that the columns are that model's fields, names and types, in order
    returns: str | None = None
    # `-- into: caller`: the method also takes `into=`, a model class of the caller's with the row's
    # fields, and builds the rows straight into it (a repository's public model, which the
    # generated layer cannot import): _runtime.to_models checks the fields once per class
    into: bool = False


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _error(path: Path, line: int, message: str) -> QueryFileError:
    return QueryFileError(f"{path}:{line}: {message}")


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _tokenize(text: str, path: Path) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        assert match is not None  # `other` matches any character
        kind, end = str(match.lastgroup), match.end()
        if kind == "block_comment":
            depth = 0  # PostgreSQL's block comments nest
            for mark in _NESTED_COMMENT.finditer(text, pos):
                depth += 1 if mark.group() == "/*" else -1
                if depth == 0:
                    end = mark.end()
                    break
            else:
                raise _error(path, _line(text, pos), "unterminated /* comment")
        elif kind == "dollar":
            close = text.find(match.group(), end)
            if close < 0:
                raise _error(path, _line(text, pos), f"unterminated {match.group()} quoted string")
            end = close + len(match.group())
        elif kind == "other" and match.group() in "'\"":
            raise _error(path, _line(text, pos), f"unterminated {match.group()} quote")
        tokens.append(_Token(kind, text[pos:end], pos))
        pos = end
    return tokens


def _method_name(name: str) -> str:
    # sqlc-gen-python's methodName(), so that method names match its generated code
    snake = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake).lower()


def _quote(value: str) -> str:
    """A string constant aiosql's scanner reads right: only '' escapes, and no raw line breaks,
    because aiosql re-splits the SQL into lines, strips them and drops those starting with --."""
    quoted = value.replace("'", "''")
    if not any(c in value for c in "\\\n\r"):
        return f"'{quoted}'"
    return "E'" + quoted.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r") + "'"


def _estring(text: str) -> str:
    # aiosql ends a string at \' ; '' means the same inside E'' and is read right by both.
    escapes = {"\\'": "''", "\\\n": "\\n", "\\\r": "\\r", "\n": "\\n", "\r": "\\r"}
    body = re.sub(r"\\.|[\n\r]", lambda m: escapes.get(m.group(), m.group()), text[2:-1], flags=re.DOTALL)
    return f"{text[:2]}{body}'"


def _param_name(raw: str, path: Path, line: int) -> str:
    # Unquoted names fold to lower case, as PostgreSQL's parser (and so sqlc) folds them.
    name = raw[1:-1] if raw[0] in "'\"" else raw.lower()
    if not _IDENTIFIER.fullmatch(name) or keyword.iskeyword(name) or name in ("self", "conn"):
        raise _error(path, line, f"parameter name {name!r} cannot be a Python keyword argument")
    return name


def _translate(
    tokens: list[_Token], text: str, path: Path
) -> tuple[str, str, tuple[str, ...], frozenset[str]]:
    """(aiosql SQL, psycopg SQL, parameters, nullable parameters) of a query body; comments are dropped."""
    ours: list[str] = []
    theirs: list[str] = []
    params: dict[str, None] = {}
    nullable: set[str] = set()
    gap: list[_Token] = []
    after_param = ended = False

    def emit(piece: str, param: str | None = None) -> None:
        nonlocal after_param
        if gap:
            spaces = "".join(t.text for t in gap if t.kind == "space")
            # Only spacing survives: aiosql strips each line anyway, and a comment could fool its scanner.
            piece = ("\n" + spaces.rpartition("\n")[2] if "\n" in spaces else spaces or " ") + piece
            gap.clear()
        elif after_param and re.match(r"\w", piece):
            piece = " " + piece  # `sqlc.arg(a)AND` must not become `:aAND`
        after_param = param is not None
        if param is None:
            ours.append(piece.replace("%", "%%"))  # psycopg reads every % as a placeholder
            theirs.append(piece.replace("%", "%%"))
        else:
            params[param] = None
            ours.append(piece + ":" + param)
            theirs.append(piece + f"%({param})s")

    for i, token in enumerate(tokens):
        kind, value, line = token.kind, token.text, _line(text, token.pos)
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if kind in _GAP:
            gap.append(token)
            continue
        if ended:
            raise _error(path, line, "more than one statement: give each its own '-- name:' header")
        if kind == "positional":
            raise _error(path, line, f"positional parameter {value}: name it, sqlc.arg(name) or @name")
        if kind == "sqlc":
            call = _SQLC_CALL.fullmatch(value)
            assert call is not None
            function, raw = call.group(1).lower(), call.group(2)
            if function in ("slice", "embed"):
                raise _error(path, line, f"sqlc.{function}() is not supported by learnstore")
            if function not in ("arg", "narg") or raw is None:
                raise _error(path, line, f"unknown sqlc function {value!r}: use sqlc.arg(x) or sqlc.narg(x)")
            param = _param_name(raw, path, line)
            if function == "narg":
                nullable.add(param)
            emit("", param)
        elif kind == "at_param":
            emit("", _param_name(value[1:], path, line))
        elif kind == "string":
            emit(_quote(value[1:-1].replace("''", "'")) if "\n" in value or "\r" in value else value)
        elif kind == "estring":
            emit(_estring(value))
        elif kind == "dollar":
            tag = value[: value.index("$", 1) + 1]
            emit(_quote(value[len(tag) : -len(tag)]))
        elif kind == "colon" and value == ":":
            # A lone colon (array slice a[1:n]) must not read as aiosql's :n; keep := whole.
            spaced = following and following.kind != "space" and not following.text.startswith("=")
            emit(": " if spaced else ":")
        else:
            ended = value == ";"
            emit(value)
    sql, psycopg_sql = "".join(ours).strip(), "".join(theirs).strip()
    return sql, psycopg_sql, tuple(params), frozenset(nullable)


def _parse_header(text: str, token: _Token, path: Path) -> tuple[str, str]:
    line = _line(text, token.pos)
    form = _HEADER_FORM.fullmatch(token.text.rstrip())
    if not form or (token.pos > 0 and text[token.pos - 1] != "\n"):
        raise _error(path, line, f"malformed header {token.text!r}: write '-- name: QueryName :command'")
    name, command = form.groups()
    if not _PASCAL.fullmatch(name):
        raise _error(path, line, f"query name {name!r} is not PascalCase (like GetUserByClerkId)")
    supported = ", ".join(f":{c}" for c in _SUFFIXES)
    if command is None:
        raise _error(path, line, f"query {name} has no command: add one of {supported}")
    if not command.startswith(":") or command[1:] not in _SUFFIXES:
        kind = "sqlc command" if command[1:] in _SQLC_ONLY else "command"
        raise _error(path, line, f"{kind} {command!r} of query {name} is not supported: use {supported}")
    return name, command[1:]


def _returns(model: str, before: str | None, name: str, command: str, path: Path, line: int) -> str:
    """The model a `-- returns: Model` line names, checked as far as the query file can tell."""
    if before is not None:
        raise _error(path, line, f"query {name} has two '-- returns:' lines")
    if command not in ("one", "many"):
        raise _error(path, line, f"query {name} returns no rows (:{command}): it cannot name a row model")
    if not _PASCAL.fullmatch(model):
        raise _error(path, line, f"'-- returns: {model}' of query {name}: not a model name (like GetUserRow)")
    return model


def _into(value: str, before: bool, name: str, command: str, path: Path, line: int) -> bool:
    """Whether an `-- into: caller` line is well formed: once, on a query that returns rows."""
    if before:
        raise _error(path, line, f"query {name} has two '-- into:' lines")
    if command not in ("one", "many"):
        raise _error(path, line, f"query {name} returns no rows (:{command}): it has none to build")
    if value != "caller":
        raise _error(path, line, f"'-- into: {value}' of query {name}: the only form is '-- into: caller'")
    return True


def _parse_query(text: str, tokens: list[_Token], path: Path) -> QueryDef:
    name, command = _parse_header(text, tokens[0], path)
    line = _line(text, tokens[0].pos)
    doc: list[str] = []
    returns: str | None = None
    into = False
    i = 1  # comment lines directly under the header are the docstring, as in sqlc
    while (
        i + 1 < len(tokens)
        and tokens[i].kind == "space"
        and tokens[i].text.count("\n") == 1
        and tokens[i + 1].kind == "line_comment"
    ):
        comment = tokens[i + 1].text[2:].strip()
        declared = _RETURNS.fullmatch(comment)
        caller = _INTO.fullmatch(comment)
        if declared is not None:
            returns = _returns(declared.group(1), returns, name, command, path, line)
        elif caller is not None:
            into = _into(caller.group(1), into, name, command, path, line)
        else:
            doc.append(comment)
        i += 2
    sql, psycopg_sql, params, nullable = _translate(tokens[i:], text, path)
    if not sql:
        raise _error(path, line, f"query {name} has no SQL")
    query = QueryDef(
        name,
        _method_name(name),
        command,
        params,
        "\n".join(doc).strip(),
        sql,
        path,
        line,
        psycopg_sql,
        nullable,
        returns,
        into,
    )
    if _HEADER.search(query.doc) or _HEADER.search(sql):
        raise _error(path, line, f"query {name} contains '-- name:', where aiosql would start a new query")
    return query


def _check_names(queries: list[QueryDef]) -> None:
    claimed: dict[str, QueryDef] = {}
    for query in queries:
        # aiosql adds a <method>_cursor companion to every query without a suffix
        for method in [query.method] + ([f"{query.method}_cursor"] if query.command == "many" else []):
            if method in _RESERVED:
                raise _error(query.source, query.line, f"method {method} is taken by aiosql's Queries")
            other = claimed.setdefault(method, query)
            there = f"{other.source}:{other.line}"
            if other is not query and other.name == query.name:
                raise _error(query.source, query.line, f"query {query.name} is already defined at {there}")
            if other is not query:
                clash = f"method {method} of {query.name} clashes with {other.name}, {there}"
                raise _error(query.source, query.line, clash)


def parse_file(path: str | Path) -> list[QueryDef]:
    """The queries of one sqlc query file, in file order."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    tokens = _tokenize(text, path)
    starts = [
        i
        for i, t in enumerate(tokens)
        if t.kind == "line_comment"
        and _HEADER.match(t.text)
        and not text[text.rfind("\n", 0, t.pos) + 1 : t.pos].strip()
    ]
    for token in tokens[: starts[0] if starts else len(tokens)]:
        if token.kind not in _GAP:
            raise _error(path, _line(text, token.pos), "SQL before the first '-- name:' header")
    queries = [
        _parse_query(text, tokens[a:b], path) for a, b in zip(starts, [*starts[1:], len(tokens)], strict=True)
    ]
    _check_names(queries)
    return queries


def parse_dir(path: str | Path) -> list[QueryDef]:
    """The queries of every *.sql file in a directory, files in name order."""
    queries = [query for file in sorted(Path(path).glob("*.sql")) for query in parse_file(file)]
    _check_names(queries)  # aiosql would let a later query silently replace an earlier one
    return queries


def to_aiosql(queries: list[QueryDef]) -> str:
    """The aiosql text of parsed queries: declared parameter lists and the suffix of each command."""
    blocks = []
    for query in queries:
        doc = "".join(f"\n-- {line}".rstrip() for line in query.doc.splitlines())
        header = f"-- name: {query.method}({', '.join(query.params)}){_SUFFIXES[query.command]}"
        blocks.append(f"{header}{doc}\n{query.sql}\n")
    return "\n".join(blocks)


def load(path: str | Path, driver: Driver, routed: frozenset[str] = frozenset()) -> Queries:
    """aiosql Queries for a query file or directory; cached per (path, driver, routed).

    `routed`: the queries (by method name) that only read, which a connection tagged with a route
    (`learnstore_route`: a store with replicas) runs through it, on a replica (replicas_async).
    """
    if driver not in ("psycopg", "apsycopg"):
        raise ValueError(f"driver must be 'psycopg' or 'apsycopg', not {driver!r}")
    return _load(Path(path).resolve(), driver, routed)


@functools.cache
def _load(path: Path, driver: Driver, routed: frozenset[str]) -> Queries:
    queries = parse_dir(path) if path.is_dir() else parse_file(path)
    try:
        loaded: Queries = aiosql.from_str(to_aiosql(queries), driver, attribute=None)
    except (aiosql.SQLParseException, aiosql.SQLLoadException) as exc:
        raise QueryFileError(f"{path}: aiosql cannot load the translated queries: {exc}") from exc
    for query in queries:
        methods = [query.method] + ([f"{query.method}_cursor"] if query.command == "many" else [])
        for method in methods:
            function = getattr(loaded, method).__func__
            if function.sql != query.psycopg_sql:
                # aiosql's own scanner disagrees with ours: refuse rather than run other SQL
                raise _error(
                    query.source, query.line, f"aiosql would run {function.sql!r}, not {query.psycopg_sql!r}"
                )
            # point tracebacks and help() at the .sql file, as aiosql.from_path does
            function.__code__ = function.__code__.replace(
                co_filename=str(query.source), co_firstlineno=query.line
            )
            wrapped = _executor(getattr(loaded, method), query, driver, routed=query.method in routed)
            setattr(loaded, method, wrapped)
    return loaded


def _executor(method: Any, query: QueryDef, driver: Driver, *, routed: bool = False) -> Any:
    """What `Queries.<method>` runs: `query` executed on the connection given, as aiosql's adapter
    would, checking every parameter for NUL first.

    Every operation of the package goes through here, so it runs the statement itself rather than
    through aiosql's adapter: the same cursor calls (cursor, execute, fetch) without the frames
    around them (aiosql's fn, _params and the adapter's method, and for the `_cursor` form a
    generator-based context manager): a third of the Python calls learnstore added to a pooled
    one-row read (tests/test_hot_path.py). aiosql parsed and named the queries, and load() checked that it
    reads the same SQL. The lazy form of a `:many` query (no `_cursor` suffix), which the generated
    queriers do not use, still runs through aiosql.
    """
    text = query.psycopg_sql
    cursor = method.__name__.endswith("_cursor")
    run: Any
    if query.command == "many" and not cursor:
        run = method  # aiosql's lazy generator
    elif cursor:
        # a class of its own per query, carrying its SQL: called as run(conn, **params), as the route does
        base = _Executed if driver == "psycopg" else _AsyncExecuted
        run = type(base.__name__, (base,), {"__slots__": (), "_text": text})
    else:
        run = (_sync_runner if driver == "psycopg" else _async_runner)(text, one=query.command == "one")

    # Sync for the async driver too: it returns run's coroutine (or context manager), as aiosql does.
    def call(conn: Any, /, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            kind = value.__class__
            if kind is str:
                if "\x00" in value:
                    raise _nul(name)
            elif kind not in _SCALARS and _holds_nul(value):
                raise _nul(name)
        if routed:
            # A query that only reads, on a connection its operation tagged with a route (a store
            # with replicas, outside a transaction): the route runs it on a replica, or here.
            route = getattr(conn, "learnstore_route", None)
            if route is not None:
                return (route.cursor if cursor else route.read)(run, conn, kwargs)
        return run(conn, **kwargs)

    # What the loaded method says of itself, the wrapper says too: its SQL, its keyword-only
    # signature (the bound method's), and the .sql file and line in tracebacks and help().
    call.__dict__.update(method.__func__.__dict__)  # aiosql's attributes: sql, operation, ...
    call.__name__ = call.__qualname__ = method.__name__
    call.__doc__ = method.__doc__
    call.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]
    call.__code__ = call.__code__.replace(co_filename=str(query.source), co_firstlineno=query.line)
    return call


def _nul(name: str) -> InvalidValue:
    """PostgreSQL text cannot hold NUL: psycopg would refuse it with a message that names no
    parameter (and inside JSON, PostgreSQL with another), so every query refuses it by name."""
    return InvalidValue(f"{name}: a NUL character (\\x00) cannot be stored in text", field=name)


def _sync_runner(text: str, *, one: bool) -> Any:
    """`run(conn, **params)`: the statement on a psycopg connection, as aiosql's psycopg adapter
    runs it: its first row or None (`^`), else the rowcount (`!`).

    On learnstore's connections the statement runs on the connection's spare cursor
    (`learnstore_cursors`), put back once its result is read: a cursor made and dropped per
    statement (its adapters map and transformer, built anew) cost a pooled one-row read as much
    CPU as the rest of what learnstore adds to it, and under threads the client's CPU is the
    throughput (docs/benchmarks.md, "Throughput"). Taken with pop(), one C call, so that a
    statement run while another holds the cursor (a `_cursor` block's, or on a connection shared
    by threads) gets one of its own. A statement that fails drops its cursor rather than put it
    back. On another connection (the caller's) the cursor is made and dropped, not closed: a
    client-side cursor holds nothing on the server, and dropping it frees its result."""
    if one:

        def run(conn: Any, /, **params: Any) -> Any:
            spare = getattr(conn, "learnstore_cursors", None)
            if spare is None:
                return conn.cursor().execute(text, params).fetchone()
            try:
                cur = spare.pop()
            except IndexError:  # none made yet, or another statement holds it
                cur = conn.cursor()
            row = cur.execute(text, params).fetchone()
            if not spare:
                spare.append(cur)
            return row

    else:

        def run(conn: Any, /, **params: Any) -> Any:
            spare = getattr(conn, "learnstore_cursors", None)
            if spare is None:
                return conn.cursor().execute(text, params).rowcount
            try:
                cur = spare.pop()
            except IndexError:
                cur = conn.cursor()
            count = cur.execute(text, params).rowcount
            if not spare:
                spare.append(cur)
            return count

    return run


def _async_runner(text: str, *, one: bool) -> Any:
    """`run(conn, **params)`, a coroutine: `_sync_runner`'s statement on an async connection."""
    if one:

        async def run(conn: Any, /, **params: Any) -> Any:
            spare = getattr(conn, "learnstore_cursors", None)
            if spare is None:
                return await (await conn.cursor().execute(text, params)).fetchone()
            try:
                cur = spare.pop()
            except IndexError:
                cur = conn.cursor()
            row = await (await cur.execute(text, params)).fetchone()
            if not spare:
                spare.append(cur)
            return row

    else:

        async def run(conn: Any, /, **params: Any) -> Any:
            spare = getattr(conn, "learnstore_cursors", None)
            if spare is None:
                return (await conn.cursor().execute(text, params)).rowcount
            try:
                cur = spare.pop()
            except IndexError:
                cur = conn.cursor()
            count = (await cur.execute(text, params)).rowcount
            if not spare:
                spare.append(cur)
            return count

    return run


class _Executed:
    """What a sync `_cursor` method returns: entering runs the statement and gives the cursor to
    fetch from; leaving puts a learnstore connection's spare cursor back once the block has read
    it, without an error (aiosql's select_cursor, as a class: no generator frames; see
    `_sync_runner`). Each query has a subclass whose `_text` is its SQL."""

    __slots__ = ("_conn", "_cur", "_params")
    _text: str

    def __init__(self, conn: Any, /, **params: Any) -> None:
        self._conn = conn
        self._params = params
        self._cur: Any = None

    def __enter__(self) -> Any:
        try:
            cur = self._conn.learnstore_cursors.pop()
        except (AttributeError, IndexError):  # not learnstore's connection; none spare
            cur = self._conn.cursor()
        self._cur = cur
        return cur.execute(self._text, self._params)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            _put_back(self._conn, self._cur)


class _AsyncExecuted(_Executed):
    """`_Executed` on an async connection."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        try:
            cur = self._conn.learnstore_cursors.pop()
        except (AttributeError, IndexError):
            cur = self._conn.cursor()
        self._cur = cur
        return await cur.execute(self._text, self._params)

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            _put_back(self._conn, self._cur)


def _put_back(conn: Any, cur: Any) -> None:
    """Make `cur` the spare cursor of `conn` again, if it is learnstore's connection and has none."""
    spare = getattr(conn, "learnstore_cursors", None)
    if spare is not None and not spare:
        # It keeps its last result until its next statement: one page of a list per idle
        # connection (exports stream through COPY, not through a cursor's result).
        spare.append(cur)


# Parameter types that cannot hold text: nothing to scan.
_SCALARS = frozenset((NoneType, int, bool, float, Decimal, UUID, datetime, date))


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Jsonb):
        return _holds_nul(value.obj)
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    return False
