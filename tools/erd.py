"""Draw the live schema as one ER diagram per domain, SVG files that docs/schema.md shows.

    python tools/erd.py [DSN]            # writes docs/assets/erd/*.svg and the list in docs/schema.md
    python tools/erd.py [DSN] --check    # changes nothing; exit 1 if a drawing or the page is stale

A domain is a file of sql/schema/ and the tables it creates; each drawing holds them whole, and the
tables of other domains they refer to as a name and a key. The drawing is Graphviz's (`dot`, the
Debian package `graphviz`), from a DOT source made from the catalog; each SVG carries its source's
SHA-256, so the check needs only the catalog, not Graphviz: a changed table changes its source.
Why SVG files and not Mermaid: the site then ships everything it shows (Mermaid's script came from a
CDN at run time, and offline the page showed its text), and a reader can open one domain at full size.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "schema.md"
SCHEMA = ROOT / "sql" / "schema"
# The drawings, where mkdocs copies them into the site as they are.
DRAWINGS = ROOT / "docs" / "assets" / "erd"
BEGIN = "<!-- erd:begin -->"
END = "<!-- erd:end -->"
DSN_ENV = "LEARNSTORE_DSN"
# How to regenerate, for the stale-diagram messages: any empty database will do.
COMMAND = 'learnstore --dsn "$DSN" migrate && python tools/erd.py "$DSN"'

# yoyo's bookkeeping tables are not part of the model, and a partition is drawn as its parent.
_OURS = (
    "c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    " AND c.relname !~ '^(_yoyo_|yoyo_lock$)'"
)


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
    parent_columns: tuple[str, ...]  # the columns of the parent that the key refers to
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
    for parent, child, columns, parent_columns in _rows(
        conn,
        f"""
        SELECT p.relname, c.relname,
               array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(n, o)
                     JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o),
               array(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY AS u(n, o)
                     JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o)
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
                parent_columns=tuple(parent_columns),
                optional=any(column in nullable for column in columns),
                single=frozenset(columns) in unique.get(child, set()),
            )
        )
    relationships.sort(key=lambda r: (r.parent, r.child, r.columns))
    return tables, relationships


_SOURCE = re.compile(r"<!-- erd-source sha256:([0-9a-f]{64}) -->")
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:public\.)?(\w+)", re.I | re.M)
_TYPES = {
    "timestamp with time zone": "timestamptz",
    "character varying": "varchar",
    "double precision": "float8",
}


@dataclass(frozen=True)
class Domain:
    file: str  # the schema file, e.g. 10_users.sql
    tables: tuple[str, ...]  # in the order the file creates them

    @property
    def name(self) -> str:
        """The file's name without its order prefix and suffix: `10_users.sql` is `users`."""
        return re.sub(r"^\d+_", "", self.file.removesuffix(".sql"))


def domains(schema: Path = SCHEMA) -> list[Domain]:
    """The files of sql/schema that create tables, in the order they are applied."""
    found = []
    for path in sorted(schema.glob("*.sql")):
        tables = tuple(dict.fromkeys(_CREATE_TABLE.findall(path.read_text(encoding="utf-8"))))
        if tables:
            found.append(Domain(path.name, tables))
    return found


def _row(port: str, text: str, *, bold: bool = False, color: str | None = None) -> str:
    content = html.escape(text)
    if bold:
        content = f"<B>{content}</B>"
    if color:
        content = f'<FONT COLOR="{color}">{content}</FONT>'
    return f'<TR><TD PORT="{port}" ALIGN="LEFT">{content}</TD></TR>'


def _column(column: Column) -> str:
    type_name = _TYPES.get(column.type, column.type) + ("?" if column.nullable else "")
    keys = f"  {' '.join(column.keys)}" if column.keys else ""
    return _row(column.name, f"{column.name}  {type_name}{keys}", bold="PK" in column.keys)


def _node(name: str, rows: list[str], header: str) -> str:
    title = f'<TR><TD BGCOLOR="{header}"><FONT COLOR="white"><B>{html.escape(name)}</B></FONT></TD></TR>'
    table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">' + title + "".join(rows)
    return f"    {name} [label=<{table}</TABLE>>];"


def source(domain: Domain, tables: dict[str, list[Column]], relationships: list[Relationship]) -> str:
    """The DOT source of one domain: its tables whole, their foreign keys, and the other domains'
    tables those refer to as just their name and keys."""
    own = set(domain.tables)
    # A domain's own keys: the ones into other domains are drawn here, the ones from them there
    # (every table refers to users: drawing them all on the users page would bury it).
    edges = [r for r in relationships if r.child in own]
    used: dict[str, list[str]] = {}
    for rel in edges:
        if rel.parent not in own:
            used.setdefault(rel.parent, [])
    lines = [
        f'digraph "{domain.name}" {{',
        '    graph [rankdir=LR, nodesep=0.3, ranksep=0.9, fontname="Helvetica", bgcolor="transparent"];',
        '    node [shape=plaintext, fontname="Helvetica", fontsize=11];',
        '    edge [color="#5c6bc0", dir=both];',
    ]
    for table in domain.tables:
        lines.append(_node(table, [_column(c) for c in tables[table]], "#3f51b5"))
    for table in sorted(used):
        # the columns other tables refer to: the key (clerk_id for users), not the surrogate id
        referred = {c for r in edges if r.parent == table for c in r.parent_columns}
        shown = [c for c in tables[table] if c.name in referred] or tables[table][:1]
        rows = [_row(c.name, c.name, color="#555555") for c in shown]
        lines.append(_node(table, rows, "#9e9e9e"))
    for rel in edges:
        # Graphviz's crow's feet: at the child, how many children a parent has (zero or one, or
        # zero or more); at the parent, whether a child must have one (a NOT NULL key) or may not.
        tail = "teeodot" if rel.single else "crowodot"
        head = "teeodot" if rel.optional else "teetee"
        parent = f"{rel.parent}:{rel.parent_columns[0]}"
        lines.append(
            f"    {rel.child}:{rel.columns[0]} -> {parent} [arrowtail={tail}, arrowhead={head}, "
            f'tooltip="{rel.child}({", ".join(rel.columns)}) -> {rel.parent}"];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def draw(dot_source: str) -> str:
    """The SVG of `dot_source` (Graphviz's `dot`), marked with the source's digest."""
    dot = shutil.which("dot")
    if dot is None:
        raise SystemExit("drawing needs Graphviz's `dot`: apt-get install graphviz")
    svg = subprocess.run([dot, "-Tsvg"], input=dot_source, capture_output=True, text=True, check=True).stdout
    # Graphviz writes its version into a comment: keep the drawing the same whoever draws it.
    svg = re.sub(r"<!-- Generated by graphviz[^>]*-->\n", "", svg)
    marker = f"<!-- erd-source sha256:{digest(dot_source)} -->\n"
    return svg.replace("<svg", marker + "<svg", 1)


def sources(conn: psycopg.Connection[Any], schema: Path = SCHEMA) -> dict[Domain, str]:
    """Each domain's DOT source, from the catalog of the database `conn` is connected to."""
    tables, relationships = read_catalog(conn)
    found = domains(schema)
    homeless = sorted(set(tables) - {t for d in found for t in d.tables})
    if homeless:
        raise ValueError(f"tables that no file of sql/schema creates: {homeless}")
    return {domain: source(domain, tables, relationships) for domain in found}


def page_section(found: list[Domain]) -> str:
    """The Markdown that docs/schema.md shows between its markers: one drawing per domain."""
    out = [BEGIN, "<!-- written by tools/erd.py: do not edit between the markers -->", ""]
    for domain in found:
        tables = ", ".join(f"`{t}`" for t in domain.tables)
        out += [
            f"### {domain.name}",
            "",
            f"`{domain.file}`: {tables}.",
            "",
            f"[![The {domain.name} tables and their keys](assets/erd/{domain.name}.svg)]"
            f"(assets/erd/{domain.name}.svg)",
            "",
        ]
    return "\n".join(out)


def splice(document: str, section: str) -> str:
    """`document` with the text from the begin marker to the end marker replaced by `section`."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {BEGIN} ... {END} markers to put the drawings between")
    return document[:start] + section + document[end:]


def stale(conn: psycopg.Connection[Any], doc: Path = DOC, drawings: Path = DRAWINGS) -> list[str]:
    """What is out of date: a drawing whose source changed or is missing, a drawing of no domain,
    the page's list. Empty when everything is the schema's."""
    problems = []
    drawn = sources(conn)
    for domain, dot_source in drawn.items():
        path = drawings / f"{domain.name}.svg"
        found = _SOURCE.search(path.read_text(encoding="utf-8")) if path.exists() else None
        if found is None or found.group(1) != digest(dot_source):
            problems.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} is stale")
    names = {f"{domain.name}.svg" for domain in drawn}
    problems += [
        f"{path.name} draws no domain" for path in sorted(drawings.glob("*.svg")) if path.name not in names
    ]
    document = doc.read_text(encoding="utf-8")
    if splice(document, page_section(list(drawn))) != document:
        problems.append(f"{doc.name}'s list of drawings is stale")
    return problems


def write(conn: psycopg.Connection[Any], doc: Path = DOC, drawings: Path = DRAWINGS) -> list[Path]:
    """Redraw what is stale; the files written."""
    written = []
    drawings.mkdir(parents=True, exist_ok=True)
    drawn = sources(conn)
    for domain, dot_source in drawn.items():
        path = drawings / f"{domain.name}.svg"
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        found = _SOURCE.search(current)
        if found is None or found.group(1) != digest(dot_source):
            path.write_text(draw(dot_source), encoding="utf-8")
            written.append(path)
    names = {f"{domain.name}.svg" for domain in drawn}
    for path in drawings.glob("*.svg"):
        if path.name not in names:
            path.unlink()
            written.append(path)
    document = doc.read_text(encoding="utf-8")
    updated = splice(document, page_section(list(drawn)))
    if updated != document:
        doc.write_text(updated, encoding="utf-8")
        written.append(doc)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dsn", nargs="?", help=f"DSN of a migrated database (default: ${DSN_ENV})")
    parser.add_argument("--output", type=Path, default=DOC, help="the Markdown page (default: %(default)s)")
    parser.add_argument("--drawings", type=Path, default=DRAWINGS, help="where the SVG files go")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is stale")
    args = parser.parse_args(argv)
    dsn = args.dsn or os.environ.get(DSN_ENV)
    if not dsn:
        parser.error(f"give the DSN of a migrated database, or set {DSN_ENV}")
    with psycopg.connect(dsn) as conn:
        try:
            if args.check:
                problems = stale(conn, args.output, args.drawings)
                for problem in problems:
                    print(f"{problem}: regenerate with `{COMMAND}`", file=sys.stderr)
                return 1 if problems else 0
            for path in write(conn, args.output, args.drawings):
                print(f"wrote {path}")
        except ValueError as exc:
            print(f"{args.output}: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
