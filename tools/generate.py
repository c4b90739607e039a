"""Generate learnstore's typed query layer from sqlc's JSON catalog: `python tools/generate.py [--check]`.

sqlc checks every query against the schema and reports each one's parameters and result columns
with types and nullability; this turns that report into pydantic models (one per table, a
`<Query>Row` where a result is not a table) and a `Querier` / `AsyncQuerier` per query file. A
query whose header is followed by `-- returns: Model` returns that model (another query's row, or a
table's) instead of a row type of its own, when its columns are that model's fields; one followed
by `-- into: caller` also takes `into=`, the caller's model class, and builds its rows into that.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The package's __init__ imports the code this script writes; register the package without
# running it, so the loader can be imported even when the generated modules are missing or stale.
_package = types.ModuleType("learnstore")
_package.__path__ = [str(ROOT / "src" / "learnstore")]
sys.modules.setdefault("learnstore", _package)

from learnstore.queries._loader import QueryDef, parse_dir  # noqa: E402

OUT = ROOT / "src" / "learnstore" / "queries"
CATALOG = ROOT / "build" / "sqlc" / "catalog.json"

_SCALARS: dict[str, str] = {
    "uuid": "UUID",
    "text": "str",
    "varchar": "str",
    "bpchar": "str",
    "citext": "str",
    "bool": "bool",
    "boolean": "bool",
    "int2": "int",
    "int4": "int",
    "int8": "int",
    "smallint": "int",
    "integer": "int",
    "bigint": "int",
    "numeric": "Decimal",
    "float4": "float",
    "float8": "float",
    "real": "float",
    "double precision": "float",
    "timestamptz": "datetime",
    "timestamp": "datetime",
    "date": "date",
    "interval": "timedelta",
    "jsonb": "JsonValue",
    "json": "JsonValue",
}
_IRREGULAR_SINGULARS = {"media": "media", "progress": "progress", "feedback": "feedback"}


def singular(word: str) -> str:
    if word in _IRREGULAR_SINGULARS:
        return _IRREGULAR_SINGULARS[word]
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("zzes"):
        return word[:-3]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def model_name(table: str) -> str:
    """users -> User, forum_replies -> ForumReply, user_progress -> UserProgress (as sqlc-gen-python)."""
    parts = table.split("_")
    parts[-1] = singular(parts[-1])
    return "".join(part.capitalize() for part in parts)


def py_type(column: dict[str, Any], *, nullable: bool | None = None) -> str:
    name = column["type"]["name"].removeprefix("pg_catalog.")
    base = _SCALARS.get(name, "Any")
    if column["is_array"] or column.get("array_dims", 0):
        base = f"list[{base}]"
    not_null = column["not_null"] if nullable is None else not nullable
    return base if not_null or base == "Any" else f"{base} | None"


def ident(name: str) -> str:
    return f"{name}_" if keyword.iskeyword(name) else name


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    doc: str


@dataclass(frozen=True)
class Model:
    name: str
    doc: str
    fields: tuple[Field, ...]


#: column types no model carries: a stored search document is the database's (its GIN index reads
#: it), not the application's; a `SELECT *` or `RETURNING *` row brings it last, and the runtime cuts
#: a row's trailing columns to the model's fields (queries._runtime.to_model)
_DATABASE_ONLY = frozenset({"tsvector"})


def _database_only(column: dict[str, Any]) -> bool:
    return bool(column["type"]["name"].removeprefix("pg_catalog.") in _DATABASE_ONLY)


def _model_columns(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The columns a model has: all but the database-only ones, which must come last."""
    kept = [c for c in columns if not _database_only(c)]
    if any(_database_only(c) for c in columns[: len(kept)]):
        raise SystemExit(f"a {'/'.join(sorted(_DATABASE_ONLY))} column must come after every other one")
    return kept


def table_models(catalog: dict[str, Any]) -> dict[str, Model]:
    models: dict[str, Model] = {}
    for schema in catalog["catalog"]["schemas"]:
        if schema["name"] not in ("", "public"):
            continue
        for table in schema["tables"]:
            name = table["rel"]["name"]
            columns = _model_columns(table["columns"])
            fields = tuple(Field(c["name"], py_type(c), c["comment"]) for c in columns)
            models[name] = Model(model_name(name), table.get("comment") or "", fields)
    return models


@dataclass(frozen=True)
class Method:
    query: QueryDef
    params: tuple[Field, ...]
    jsonb_params: frozenset[str]
    result: str  # the Python return type
    model: str | None  # the model a row becomes, when it becomes one
    scalar: bool  # a one-column result is returned as the value itself


def build_methods(
    catalog: dict[str, Any], defs: list[QueryDef], tables: dict[str, Model], rows: dict[str, Model]
) -> dict[str, list[Method]]:
    by_name = {q["name"]: q for q in catalog["queries"]}
    per_file: dict[str, list[Method]] = {}
    declared: list[tuple[QueryDef, tuple[Field, ...]]] = []
    for query in defs:
        compiled = by_name[query.name]
        param_columns = {p["column"]["name"]: p["column"] for p in compiled["params"]}
        params = []
        for name in query.params:
            column = param_columns[name]
            params.append(Field(name, py_type(column, nullable=name in query.nullable), ""))
        jsonb = frozenset(
            name for name in query.params if param_columns[name]["type"]["name"] in ("jsonb", "json")
        )
        columns = _model_columns(compiled["columns"])
        model: str | None = None
        scalar = False
        if query.command in ("exec",):
            result = "None"
        elif query.command == "execrows":
            result = "int"
        else:
            if len(columns) == 1:
                if query.into:
                    where = f"{query.source.name}:{query.line}: {query.name}"
                    raise SystemExit(f"{where} returns one column, its values: '-- into: caller' needs a row")
                scalar = True
                item = py_type(columns[0])
            elif query.returns is not None:
                model = query.returns  # checked against its fields once every model is known
                declared.append((query, tuple(Field(c["name"], py_type(c), "") for c in columns)))
                item = f"models.{model}"
            else:
                table = _whole_table(columns, tables)
                if table is None:
                    row = Model(
                        f"{query.name}Row",
                        f"A row of {query.name}.",
                        tuple(Field(c["name"], py_type(c), "") for c in columns),
                    )
                    rows[row.name] = row
                    model = row.name
                else:
                    model = table.name
                item = f"models.{model}"
            result = f"{item} | None" if query.command == "one" else f"list[{item}]"
        per_file.setdefault(query.source.stem, []).append(
            Method(query, tuple(params), jsonb, result, model, scalar)
        )
    _check_declared(declared, [*tables.values(), *rows.values()])
    return per_file


def _check_declared(declared: list[tuple[QueryDef, tuple[Field, ...]]], models: list[Model]) -> None:
    """Each `-- returns: Model` names a model whose fields are the query's columns (names and
    Python types, in order): its rows are built without validation (to_models), so a model that
    only looks alike would hold values of the wrong type."""
    by_name = {model.name: model for model in models}
    for query, columns in declared:
        where = f"{query.source.name}:{query.line}: {query.name}"
        target = by_name.get(query.returns or "")
        if target is None:
            raise SystemExit(f"{where} returns {query.returns}, which is not a generated model")
        wanted = [(f.name, f.type) for f in target.fields]
        got = [(c.name, c.type) for c in columns]
        if got != wanted:
            raise SystemExit(
                f"{where} returns {query.returns}, whose fields {wanted} are not its columns {got}"
            )


def _whole_table(columns: list[dict[str, Any]], tables: dict[str, Model]) -> Model | None:
    """The table model when the result is exactly that table's columns, in order."""
    owners = {(c["table"] or {}).get("name") for c in columns}
    if len(owners) != 1:
        return None
    (owner,) = owners
    if owner not in tables:
        return None
    table = tables[owner]
    if [c["name"] for c in columns] != [f.name for f in table.fields]:
        return None
    return table


HEADER = '''"""{doc}

Code generated by tools/generate.py from sqlc {version} (sql/schema, sql/queries). DO NOT EDIT.
"""
'''


def render_models(version: str, models: list[Model]) -> str:
    out = ["__all__ = ["]
    out.extend(f'    "{m.name}",' for m in sorted(models, key=lambda m: m.name))
    out.append("]\n")
    for model in models:
        out.append(f"\nclass {model.name}(BaseModel):")
        out.append(f'    """{model.doc or model.name}"""\n')
        out.append("    model_config = ConfigDict(frozen=True)\n")
        for field in model.fields:
            out.append(f"    {ident(field.name)}: {field.type}")
            if field.doc:
                out.append(f'    """{field.doc}"""')
        out.append("")
    doc = "Pydantic models of learnstore's tables and query results."
    return _with_imports(HEADER.format(doc=doc, version=version), "\n".join(out).rstrip() + "\n")


_IMPORTS = {
    "date": "from datetime import date",
    "datetime": "from datetime import datetime",
    "timedelta": "from datetime import timedelta",
    "Decimal": "from decimal import Decimal",
    "Any": "from typing import Any",
    "cast": "from typing import cast",
    "overload": "from typing import overload",
    "UUID": "from uuid import UUID",
    "AsyncConnection": "from psycopg import AsyncConnection",
    "Connection": "from psycopg import Connection",
    "Jsonb": "from psycopg.types.json import Jsonb",
    "BaseModel": "from pydantic import BaseModel",
    "ConfigDict": "from pydantic import ConfigDict",
    "JsonValue": "from pydantic import JsonValue",
    "models": "from learnstore.queries import models",
    "async_queries": "from learnstore.queries._runtime import async_queries",
    "sync_queries": "from learnstore.queries._runtime import sync_queries",
    "Into": "from learnstore.queries._runtime import Into",
    "to_model": "from learnstore.queries._runtime import to_model",
    "to_models": "from learnstore.queries._runtime import to_models",
}
_GROUPS = (("datetime", "decimal", "typing", "uuid"), ("psycopg", "pydantic"), ("learnstore",))


def _with_imports(header: str, body: str) -> str:
    """The module: its header, the imports the body uses (grouped and merged as isort would), the body."""
    used: dict[str, list[str]] = {}
    for name, line in _IMPORTS.items():
        if re.search(rf"(?<![\w.]){name}\b", body):
            module = line.split()[1]
            used.setdefault(module, []).append(name)
    blocks = []
    for group in _GROUPS:
        lines = [
            f"from {module} import {', '.join(sorted(names, key=lambda n: (not n[0].isupper(), n.lower())))}"
            for module, names in sorted(used.items())
            if module.split(".")[0] in group
        ]
        if lines:
            blocks.append("\n".join(lines))
    return header + "\nfrom __future__ import annotations\n\n" + "\n\n".join(blocks) + "\n\n" + body


def render_queries(version: str, stem: str, methods: list[Method]) -> str:
    out = ['__all__ = ["AsyncQuerier", "Querier"]\n']
    for flavour in ("sync", "async"):
        cls = "Querier" if flavour == "sync" else "AsyncQuerier"
        conn = "Connection[Any]" if flavour == "sync" else "AsyncConnection[Any]"
        loader = "sync_queries" if flavour == "sync" else "async_queries"
        out.append(("\n" if flavour == "sync" else "\n\n") + f"class {cls}:")  # two blank lines, as ruff
        out.append(f'    """The queries of {stem}.sql, run on a connection the caller owns."""\n')
        out.append('    __slots__ = ("_conn", "_sql")\n')
        out.append(f"    def __init__(self, conn: {conn}) -> None:")
        out.append("        self._conn = conn")
        out.append(f"        self._sql = {loader}()")
        for method in methods:
            out.extend(_render_method(method, flavour))
    header = HEADER.format(doc=f"Typed queries of sql/queries/{stem}.sql.", version=version)
    return _with_imports(header, "\n".join(out).rstrip() + "\n")


def _render_method(method: Method, flavour: str) -> list[str]:
    q = method.query
    a = "async " if flavour == "async" else ""
    aw = "await " if flavour == "async" else ""
    args = ", ".join(
        f"{p.name}=Jsonb({ident(p.name)})" if p.name in method.jsonb_params else f"{p.name}={ident(p.name)}"
        for p in method.params
    )
    call = f"{aw}self._sql.{q.method}(self._conn{', ' + args if args else ''})"
    if len(call) > 80:
        call = (
            f"{aw}self._sql.{q.method}(\n            self._conn,\n"
            + "".join(f"            {arg},\n" for arg in args.split(", "))
            + "        )"
        )
    params = [(ident(p.name), p.type) for p in method.params]
    lines = [""]
    if q.into:
        # typed twice: without `into`, the query's own row model; with it, the caller's
        many = q.command == "many"
        lines.append("    @overload")
        lines.append(_head(a, q.method, params, method.result, " ..."))
        lines.append("    @overload")
        into = [*params, ("into", "type[Into]")]
        lines.append(_head(a, q.method, into, "list[Into]" if many else "Into | None", " ..."))
        params = [*params, ("into", f"type[Any] = models.{method.model}")]
        lines.append(_head(a, q.method, params, "list[Any]" if many else "Any", ""))
    else:
        lines.append(_head(a, q.method, params, method.result, ""))
    doc = q.doc.strip() or f"{q.name} ({q.source.name}:{q.line})."
    if doc.startswith('"'):
        doc = " " + doc  # a docstring cannot open with four quotes; ruff format writes it so
    doc_lines = doc.splitlines()
    if len(doc_lines) == 1:
        lines.append(f'        """{doc_lines[0]}"""')
    else:
        lines.append(f'        """{doc_lines[0]}')
        lines.extend(f"        {line}" if line else "" for line in doc_lines[1:])
        lines.append('        """')
    if q.command == "exec":
        lines.append(f"        {call}")
    elif q.command == "execrows":
        lines.append(f"        count: int = {call}")
        lines.append("        return count")
    elif q.command == "one":
        lines.append(f"        row = {call}")
        if method.scalar:
            lines.append(f'        return cast("{method.result}", None if row is None else row[0])')
        else:
            lines.append(f"        return {_build('to_model', 'row', method)}")
    else:
        # aiosql's <query>_cursor and one fetchall(): its plain select yields row by row (a Python
        # generator over the cursor), which cost a microsecond or two per row of a list (bench/).
        call = call.removeprefix("await ")
        call = call.replace(f"self._sql.{q.method}(", f"self._sql.{q.method}_cursor(", 1)
        if flavour == "async":
            lines.append(f"        async with {call} as cursor:")
            lines.append("            rows = await cursor.fetchall()")
        else:
            lines.append(f"        with {call} as cursor:")
            lines.append("            rows = cursor.fetchall()")
        if method.scalar:
            lines.append("        return [row[0] for row in rows]")
        else:
            lines.append(f"        return {_build('to_models', 'rows', method)}")
    return lines


def _build(function: str, rows: str, method: Method) -> str:
    """The call that makes the models: of the query's row model, or of the caller's (`into`), which
    to_models checks against the query's."""
    if method.query.into:
        return f"{function}(into, {rows}, like=models.{method.model})"
    return f"{function}(models.{method.model}, {rows})"


def _head(a: str, name: str, params: list[tuple[str, str]], result: str, body: str) -> str:
    """A method's `def` line, keyword-only parameters, one a line when it would pass 110 columns."""
    sig = ", ".join(f"{p}: {t}" for p, t in params)
    head = f"    {a}def {name}({f'self, *, {sig}' if sig else 'self'}) -> {result}:{body}"
    if len(head) > 110:
        lines = "".join(f"        {p}: {t},\n" for p, t in params)
        head = f"    {a}def {name}(\n        self,\n        *,\n{lines}    ) -> {result}:{body}"
    return head


def generate() -> dict[Path, str]:
    subprocess.run([str(Path(sys.executable).parent / "sqlc"), "generate"], cwd=ROOT, check=True)
    catalog = json.loads(CATALOG.read_text())
    version = catalog["sqlc_version"]
    tables = table_models(catalog)
    rows: dict[str, Model] = {}
    defs = parse_dir(ROOT / "sql" / "queries")
    per_file = build_methods(catalog, defs, tables, rows)
    files = {OUT / "models.py": render_models(version, [*tables.values(), *rows.values()])}
    for stem, methods in per_file.items():
        files[OUT / f"{stem}.py"] = render_queries(version, stem, methods)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed code is stale")
    args = parser.parse_args(argv)
    files = generate()
    stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run: python tools/generate.py)", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(files[path])
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
