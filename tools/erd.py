"""Draw the live schema as a Mermaid ER diagram in docs/schema.md: `python tools/erd.py [DSN] [--check]`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "schema.md"
BEGIN = "<!-- erd:begin -->"
END = "<!-- erd:end -->"
DSN_ENV = "LEARNSTORE_DSN"
# How to regenerate, for the stale-diagram messages: any empty database will do.
COMMAND = 'learnstore --dsn "$DSN" migrate && python tools/erd.py "$DSN"'

# yoyo's bookkeeping tables are not part of the model.
_OURS = (
    "c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"
    " AND c.relname !~ '^(_yoyo_|yoyo_lock$)'"
)

# Mermaid attribute types are single words: spelled-out SQL type names get their short forms.
_SHORT_TYPES = {
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "time with time zone": "timetz",
    "time without time zone": "time",
    "character varying": "varchar",
    "double precision": "float8",
    "bit varying": "varbit",
}
_MERMAID_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-\[\]()]*")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Relationship:
    parent: str
    child: str
    columns: tuple[str, ...]
    optional: bool  # the child may have no parent (a nullable FK column)
    single: bool  # a parent has at most one such child (the FK columns are unique)


def _rows(conn: psycopg.Connection[Any], query: str) -> list[tuple[Any, ...]]:
    return conn.execute(query).fetchall()


def _unique_column_sets(conn: psycopg.Connection[Any]) -> dict[str, set[frozenset[str]]]:
    """Per table, the column set of each non-partial unique index (columns used in expressions too)."""
    found: dict[str, set[frozenset[str]]] = {}
    for table, columns in _rows(
        conn,
        f"""
        SELECT c.relname,
               array(SELECT DISTINCT a.attname FROM pg_attribute a
                     WHERE a.attrelid = i.indrelid
                       AND (a.attnum = ANY (i.indkey::int2[])
                            OR a.attnum IN (SELECT d.refobjsubid FROM pg_depend d
                                            WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                                              AND d.refclassid = 'pg_class'::regclass
                                              AND d.refobjid = i.indrelid))
                       AND a.attnum > 0)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE {_OURS} AND i.indisunique AND i.indpred IS NULL AND i.indnkeyatts = i.indnatts
        """,
    ):
        found.setdefault(table, set()).add(frozenset(columns))
    return found


def read_catalog(conn: psycopg.Connection[Any]) -> tuple[dict[str, list[Column]], list[Relationship]]:
    """Tables with their columns in definition order, and a relationship per foreign key."""
    unique = _unique_column_sets(conn)
    keys: dict[tuple[str, str], set[str]] = {}
    for table, column, kind in _rows(
        conn,
        f"""
        SELECT c.relname, a.attname, k.contype
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
        WHERE {_OURS} AND k.contype IN ('p', 'f')
        """,
    ):
        keys.setdefault((table, column), set()).add({"p": "PK", "f": "FK"}[kind])
    for table, column_sets in unique.items():
        for columns in column_sets:
            if len(columns) == 1 and "PK" not in keys.get((table, next(iter(columns))), set()):
                keys.setdefault((table, next(iter(columns))), set()).add("UK")

    tables: dict[str, list[Column]] = {}
    for table, column, type_name, not_null in _rows(
        conn,
        f"""
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE {_OURS} AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY c.relname, a.attnum
        """,
    ):
        marks = tuple(mark for mark in ("PK", "FK", "UK") if mark in keys.get((table, column), set()))
        tables.setdefault(table, []).append(Column(column, type_name, not not_null, marks))

    relationships = []
    for parent, child, columns in _rows(
        conn,
        f"""
        SELECT p.relname, c.relname,
               array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(n, o)
                     JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
        WHERE {_OURS} AND k.contype = 'f'
        """,
    ):
        nullable = {column.name for column in tables[child] if column.nullable}
        relationships.append(
            Relationship(
                parent=parent,
                child=child,
                columns=tuple(columns),
                optional=any(column in nullable for column in columns),
                single=frozenset(columns) in unique.get(child, set()),
            )
        )
    relationships.sort(key=lambda r: (r.parent, r.child, r.columns))
    return tables, relationships


def _attribute(column: Column) -> str:
    type_name = _SHORT_TYPES.get(column.type, column.type)
    notes = []
    if not _MERMAID_WORD.fullmatch(type_name):
        # numeric(4,2): Mermaid's type word allows no comma, so the full type goes in the comment.
        notes.append(type_name)
        type_name = type_name.split("(", 1)[0].replace(" ", "_")
    if column.nullable:
        notes.append("nullable")
    line = f"        {type_name} {column.name}"
    if column.keys:
        line += " " + ", ".join(column.keys)
    if notes:
        line += ' "' + ", ".join(notes) + '"'
    return line


def render(conn: psycopg.Connection[Any]) -> str:
    """The Mermaid erDiagram of the database: entities sorted by name, then relationships sorted."""
    tables, relationships = read_catalog(conn)
    lines = ["erDiagram"]
    for table in sorted(tables):
        lines.append(f"    {table} {{")
        lines.extend(_attribute(column) for column in tables[table])
        lines.append("    }")
    for rel in relationships:
        # Left marker: how many parents a child has; right marker: how many children a parent has.
        left = "|o" if rel.optional else "||"
        right = "o|" if rel.single else "o{"
        lines.append(f'    {rel.parent} {left}--{right} {rel.child} : "{", ".join(rel.columns)}"')
    return "\n".join(lines) + "\n"


def splice(document: str, diagram: str) -> str:
    """`document` with the text between the erd markers replaced by `diagram` in a mermaid block."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {BEGIN} ... {END} markers to put the diagram between")
    block = f"{BEGIN}\n```mermaid\n{diagram}```\n"
    return document[:start] + block + document[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dsn", nargs="?", help=f"DSN of a migrated database (default: ${DSN_ENV})")
    parser.add_argument(
        "--output", type=Path, default=DOC, help="the Markdown file to update (default: %(default)s)"
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the file is stale")
    args = parser.parse_args(argv)
    dsn = args.dsn or os.environ.get(DSN_ENV)
    if not dsn:
        parser.error(f"give the DSN of a migrated database, or set {DSN_ENV}")
    with psycopg.connect(dsn) as conn:
        diagram = render(conn)
    document = args.output.read_text(encoding="utf-8")
    try:
        updated = splice(document, diagram)
    except ValueError as exc:
        print(f"{args.output}: {exc}", file=sys.stderr)
        return 2
    if updated == document:
        return 0
    if args.check:
        print(f"{args.output} is stale: regenerate it with `{COMMAND}`", file=sys.stderr)
        return 1
    args.output.write_text(updated, encoding="utf-8")
    print(f"wrote the diagram into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
