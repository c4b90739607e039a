"""Which named queries only read: the SQL decides, and when in doubt a query writes.

A query that only reads may run on a streaming replica (docs/replicas.md). The rule is read from
the statement's tokens (strings, quoted names and comments are never mistaken for keywords):

- it begins with SELECT, WITH, VALUES or TABLE;
- no INSERT, UPDATE, DELETE, MERGE, COPY, TRUNCATE, LOCK or CALL anywhere (a data-modifying CTE is
  a write), and no locking clause (FOR UPDATE / FOR SHARE / FOR KEY SHARE / FOR NO KEY UPDATE);
- it calls no function of sql/schema that is VOLATILE (not declared STABLE or IMMUTABLE): a
  SELECT that calls one (`SELECT * FROM record_activity(...)`) writes; and none of PostgreSQL's own
  that write or need a primary (`_WRITING_BUILTINS`: nextval, txid_current, ...).

The tokens cannot tell every builtin apart, so tests/test_replicas_routing.py checks each verdict
against the catalog of a migrated database: every function a read-only query calls is found in
pg_proc and is not VOLATILE (or is one of the few volatile builtins that cannot write: random).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from learnstore._resources import queries_dir, schema_dir
from learnstore.queries._loader import QueryDef, _tokenize, parse_dir

__all__ = ["read_only_queries", "reads_only", "writing_functions"]

_FIRST = {"select", "with", "values", "table"}
_WRITES = {"insert", "update", "delete", "merge", "copy", "truncate", "lock", "call"}
_LOCKING = {"update", "share", "no", "key"}  # after FOR: FOR UPDATE, FOR SHARE, FOR NO KEY, FOR KEY
# PostgreSQL's own functions that write, take a lock a standby refuses, or need a primary.
_WRITING_BUILTINS = frozenset(
    (
        *("nextval", "setval", "txid_current", "pg_current_xact_id", "pg_notify", "pg_switch_wal"),
        *("pg_current_wal_lsn", "pg_current_wal_insert_lsn", "pg_create_restore_point"),
        *("lo_create", "lo_import", "lo_unlink", "lo_put", "lo_from_bytea", "dblink", "dblink_exec"),
    )
)
_CREATE_FUNCTION = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(?:\w+\.)?(\w+)\s*\((.*?)(?=\nCREATE\s|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_BODY = re.compile(r"(\$\w*\$).*?\1", re.DOTALL)
_VOLATILITY = re.compile(r"\b(STABLE|IMMUTABLE|VOLATILE)\b", re.IGNORECASE)


@cache
def writing_functions(folder: Path | None = None) -> frozenset[str]:
    """The functions of sql/schema not declared STABLE or IMMUTABLE (outside their bodies): a
    function is VOLATILE unless it says otherwise, and a volatile one may write."""
    names: set[str] = set()
    for path in sorted((folder or schema_dir()).glob("*.sql")):
        for match in _CREATE_FUNCTION.finditer(path.read_text(encoding="utf-8")):
            outside = _BODY.sub(" ", match.group(2))
            marks = {mark.upper() for mark in _VOLATILITY.findall(outside)}
            if not marks or "VOLATILE" in marks:
                names.add(match.group(1).lower())
    return frozenset(names)


def reads_only(query: QueryDef, writing: frozenset[str] | None = None) -> bool:
    """Whether `query` only reads (see the module's rule); False when in doubt."""
    writing = (writing_functions() if writing is None else writing) | _WRITING_BUILTINS
    words: list[str] = []
    calls: set[str] = set()
    previous = ""
    for token in _tokenize(query.psycopg_sql, query.source):
        if token.kind in ("space", "line_comment", "block_comment"):
            continue
        # name( is a call, unless it is an alias's column list: AS name(a, b)
        if token.kind == "other" and token.text == "(" and previous and words[-2:-1] != ["as"]:
            calls.add(previous)
        if token.kind == "qident":
            words.append(token.text[1:-1].lower())
            previous = words[-1]
        elif token.kind == "word":
            word = token.text.lower()
            if words and words[-1] == "for" and word in _LOCKING:
                return False
            words.append(word)
            previous = word
        else:
            previous = ""
    if not words or words[0] not in _FIRST or _WRITES.intersection(words):
        return False
    return not calls & writing


@cache
def read_only_queries(folder: Path | None = None) -> frozenset[str]:
    """The method names (`get_user_by_clerk_id`) of the queries in sql/queries that only read."""
    writing = writing_functions()
    return frozenset(q.method for q in parse_dir(folder or queries_dir()) if reads_only(q, writing))
