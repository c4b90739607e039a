"""The query-file loader: sqlc-annotated SQL in, aiosql out, run on a real PostgreSQL."""

from __future__ import annotations

import datetime
import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosql
import psycopg
import pytest
from psycopg.rows import TupleRow

from learnstore.errors import QueryFileError
from learnstore.queries._loader import Driver, QueryDef, load, parse_dir, parse_file, to_aiosql

DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEMO = Path(__file__).parent / "fixtures" / "queries_demo"
NOTES = (
    "CREATE TEMP TABLE notes (id serial PRIMARY KEY, body text NOT NULL, tags jsonb NOT NULL DEFAULT '{}')"
)

# What EchoLiterals in the demo files returns when every literal came through intact.
LITERALS = (
    "it's @x :y sqlc.arg(z) 50%",
    "it's @x :y\t50%",
    "it's @x :y $1 50%",
    " $$ -- /* @x ",
    7,
    True,
    True,
    False,
    True,
    True,
    True,
    'a|"b c"',
    1,
    datetime.time(10, 30),
    [20, 30],
    "first\n-- not a comment\n\nlast",
)


@pytest.fixture
def conn() -> Iterator[psycopg.Connection[TupleRow]]:
    with psycopg.connect(DSN) as connection:
        connection.execute(NOTES)
        yield connection
        connection.rollback()


@pytest.fixture
async def aconn() -> AsyncIterator[psycopg.AsyncConnection[TupleRow]]:
    async with await psycopg.AsyncConnection.connect(DSN) as connection:
        await connection.execute(NOTES)
        yield connection
        await connection.rollback()


def demo(driver: Driver) -> Any:
    """The demo queries; Any because aiosql adds the query methods at run time."""
    return load(DEMO, driver)


def write(directory: Path, text: str, name: str = "q.sql") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def translate(tmp_path: Path, body: str) -> QueryDef:
    (query,) = parse_file(write(tmp_path, f"-- name: Q :one\n{body}\n"))
    return query


# --- parsing -----------------------------------------------------------------------------------


def test_parse_dir_reads_every_file_in_name_order() -> None:
    queries = parse_dir(DEMO)

    assert [(q.name, q.method, q.command, q.source.name, q.line) for q in queries] == [
        ("CreateNote", "create_note", "one", "10_notes.sql", 3),
        ("GetNote", "get_note", "one", "10_notes.sql", 8),
        ("ListNotesTagged", "list_notes_tagged", "many", "10_notes.sql", 11),
        ("ListNotesMatching", "list_notes_matching", "many", "10_notes.sql", 17),
        ("RenameNotes", "rename_notes", "execrows", "10_notes.sql", 22),
        ("DeleteNote", "delete_note", "exec", "10_notes.sql", 25),
        ("EchoLiterals", "echo_literals", "one", "20_literals.sql", 1),
        ("EchoParams", "echo_params", "one", "20_literals.sql", 23),
    ]
    assert queries[0].params == ("body", "tags")
    assert queries[0].doc == "Adds a note and returns it."
    assert queries[1].doc == ""


def test_comment_lines_under_the_header_are_the_docstring(tmp_path: Path) -> None:
    path = write(tmp_path, "-- name: GetA :one\n-- First line.\n--   indented\n\n-- not doc\nSELECT 1;\n")

    (query,) = parse_file(path)

    assert query.doc == "First line.\nindented"
    assert query.sql == "SELECT 1;"


def test_a_returns_line_names_the_row_model_and_stays_out_of_the_docstring(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "-- name: ListA :many\n-- The a's.\n-- returns: GetARow\nSELECT 1, 2;\n"
        "-- name: GetA :one\n-- Returns: the first a (prose, not a declaration).\nSELECT 1, 2;\n",
    )

    listed, got = parse_file(path)

    assert (listed.returns, listed.doc) == ("GetARow", "The a's.")
    assert (got.returns, got.doc) == (None, "Returns: the first a (prose, not a declaration).")


def test_an_into_line_lets_the_caller_name_the_model_and_stays_out_of_the_docstring(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "-- name: ListA :many\n-- into: caller\n-- The a's.\nSELECT 1, 2;\n"
        "-- name: GetA :one\n-- Into: the first a (prose).\nSELECT 1, 2;\n",
    )

    listed, got = parse_file(path)

    assert (listed.into, listed.doc) == (True, "The a's.")
    assert (got.into, got.doc) == (False, "Into: the first a (prose).")


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("GetUserByClerkId", "get_user_by_clerk_id"),
        ("GetURL", "get_url"),
        ("ListHTTPRequests", "list_http_requests"),
        ("CountUnread2FACodes", "count_unread2_fa_codes"),
    ],
)
def test_method_names_are_sqlc_gen_python_snake_case(tmp_path: Path, name: str, method: str) -> None:
    (query,) = parse_file(write(tmp_path, f"-- name: {name} :one\nSELECT 1;\n"))

    assert query.method == method


@pytest.mark.parametrize(
    ("body", "sql", "params"),
    [
        pytest.param("SELECT sqlc.arg(clerk_id)", "SELECT :clerk_id", ("clerk_id",), id="arg"),
        pytest.param("SELECT sqlc.narg(before)", "SELECT :before", ("before",), id="narg"),
        pytest.param("SELECT sqlc.arg('page_size')", "SELECT :page_size", ("page_size",), id="arg-quoted"),
        pytest.param("SELECT @user_id", "SELECT :user_id", ("user_id",), id="at"),
        # PostgreSQL's parser, and so sqlc, folds unquoted names; a quoted one keeps its case.
        pytest.param(
            "SELECT sqlc.ARG(NoteId), @Body, sqlc.arg('Kept')",
            "SELECT :noteid, :body, :Kept",
            ("noteid", "body", "Kept"),
            id="case-folding",
        ),
        pytest.param(
            "SELECT @b, sqlc.arg(a), sqlc.narg(b), @a",
            "SELECT :b, :a, :b, :a",
            ("b", "a"),
            id="distinct-in-order",
        ),
        pytest.param(
            "SELECT 'sqlc.arg(x) @y :z $1 -- /*'", "SELECT 'sqlc.arg(x) @y :z $1 -- /*'", (), id="string"
        ),
        pytest.param("SELECT 'it''s @x'", "SELECT 'it''s @x'", (), id="string-doubled-quote"),
        pytest.param(r"SELECT E'it\'s @x :y\\', @z", r"SELECT E'it''s @x :y\\', :z", ("z",), id="e-string"),
        pytest.param("SELECT $$it's @x :y$$", "SELECT 'it''s @x :y'", (), id="dollar"),
        pytest.param("SELECT $fn$ $$ @x $fn$, @y", "SELECT ' $$ @x ', :y", ("y",), id="dollar-tag"),
        pytest.param(r"SELECT $$a\b$$", r"SELECT E'a\\b'", (), id="dollar-backslash"),
        pytest.param('SELECT 1 AS "@x :y", @z', 'SELECT 1 AS "@x :y", :z', ("z",), id="quoted-identifier"),
        pytest.param("SELECT 1 -- @x it's\n  + @y", "SELECT 1\n  + :y", ("y",), id="line-comment"),
        pytest.param("SELECT 1 /* a /* @x */ it's */ + @y", "SELECT 1  + :y", ("y",), id="block-comment"),
        pytest.param("SELECT a<@b, a@@b, @1", "SELECT a<@b, a@@b, @1", (), id="at-inside-operators"),
        pytest.param(
            "SELECT sqlc.arg(n)::int, now()::date", "SELECT :n::int, now()::date", ("n",), id="cast"
        ),
        pytest.param(
            "SELECT a @> b, a <@ @c, a @@ b, a ? 'k', a ?| b, a ?& b, @ -5",
            "SELECT a @> b, a <@ :c, a @@ b, a ? 'k', a ?| b, a ?& b, @ -5",
            ("c",),
            id="operators",
        ),
        pytest.param(
            "SELECT 'a%', format('%s', 1), 7 % 2, \"100%\"",
            "SELECT 'a%%', format('%%s', 1), 7 %% 2, \"100%%\"",
            (),
            id="percent",
        ),
        pytest.param(
            "SELECT a[1:2], a[1:@n], f(x := 1)",
            "SELECT a[1: 2], a[1: :n], f(x := 1)",
            ("n",),
            id="array-slice",
        ),
        pytest.param("SELECT sqlc.arg(a)AS b", "SELECT :a AS b", ("a",), id="param-before-word"),
        pytest.param("SELECT 'a\n-- b'", r"SELECT E'a\n-- b'", (), id="multiline-string"),
        pytest.param("SELECT E'a\n\\tb'", r"SELECT E'a\n\tb'", (), id="multiline-e-string"),
    ],
)
def test_translation(tmp_path: Path, body: str, sql: str, params: tuple[str, ...]) -> None:
    query = translate(tmp_path, body)

    assert query.sql == sql
    assert query.params == params


def test_psycopg_sql_has_pyformat_placeholders(tmp_path: Path) -> None:
    query = translate(tmp_path, "SELECT sqlc.arg(n)::int % 2, '50%'")

    assert query.psycopg_sql == "SELECT %(n)s::int %% 2, '50%%'"


# --- load-time errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "where", "message"),
    [
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT 1;\n\n-- name: GetA :one\nSELECT 2;\n"},
            "a.sql:4",
            "query GetA is already defined at {dir}/a.sql:1",
            id="duplicate-in-file",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT 1;\n", "b.sql": "\n-- name: GetA :one\nSELECT 2;\n"},
            "b.sql:2",
            "query GetA is already defined at {dir}/a.sql:1",
            id="duplicate-across-files",
        ),
        pytest.param(
            {"a.sql": "-- name: GetURL :one\nSELECT 1;\n\n-- name: GetUrl :one\nSELECT 2;\n"},
            "a.sql:4",
            "method get_url of GetUrl clashes with GetURL",
            id="duplicate-method",
        ),
        pytest.param(
            {"a.sql": "-- name: ListA :many\nSELECT 1;\n-- name: ListACursor :one\nSELECT 2;\n"},
            "a.sql:3",
            "method list_a_cursor of ListACursor clashes with ListA",
            id="cursor-clash",
        ),
        pytest.param(
            {"a.sql": "-- name: AddQuery :exec\nSELECT 1;\n"},
            "a.sql:1",
            "method add_query is taken by aiosql's Queries",
            id="reserved-method",
        ),
        pytest.param(
            {"a.sql": "-- name: SaveA :batchexec\nSELECT 1;\n"},
            "a.sql:1",
            "sqlc command ':batchexec' of query SaveA is not supported",
            id="batchexec",
        ),
        pytest.param(
            {"a.sql": "-- name: CopyA :copyfrom\nSELECT 1;\n"},
            "a.sql:1",
            "sqlc command ':copyfrom' of query CopyA is not supported",
            id="copyfrom",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :onee\nSELECT 1;\n"},
            "a.sql:1",
            "command ':onee' of query GetA is not supported: use :one, :many, :exec, :execrows",
            id="typo",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA one\nSELECT 1;\n"},
            "a.sql:1",
            "command 'one' of query GetA",
            id="command-without-colon",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA\nSELECT 1;\n"}, "a.sql:1", "query GetA has no command", id="no-command"
        ),
        pytest.param(
            {"a.sql": "--name: GetA :one\nSELECT 1;\n"}, "a.sql:1", "malformed header", id="malformed-header"
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one extra\nSELECT 1;\n"},
            "a.sql:1",
            "malformed header",
            id="header-extra-word",
        ),
        pytest.param(
            {"a.sql": "-- name: get_a :one\nSELECT 1;\n"},
            "a.sql:1",
            "query name 'get_a' is not PascalCase",
            id="snake-case-name",
        ),
        pytest.param(
            {"a.sql": "-- name: getA :one\nSELECT 1;\n"},
            "a.sql:1",
            "query name 'getA' is not PascalCase",
            id="camel-case-name",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT 1\nFROM t WHERE id = $1;\n"},
            "a.sql:3",
            "positional parameter $1",
            id="positional",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :many\nSELECT 1 WHERE id = ANY(sqlc.slice(ids));\n"},
            "a.sql:2",
            "sqlc.slice() is not supported",
            id="slice",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT sqlc.embed(users) FROM users;\n"},
            "a.sql:2",
            "sqlc.embed() is not supported",
            id="embed",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT sqlc.args(x);\n"},
            "a.sql:2",
            "unknown sqlc function 'sqlc.args(x)'",
            id="unknown-sqlc-function",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\n\n-- name: GetB :one\nSELECT 1;\n"},
            "a.sql:1",
            "query GetA has no SQL",
            id="empty-body",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\n-- just a comment\n/* and another */\n"},
            "a.sql:1",
            "query GetA has no SQL",
            id="comment-only-body",
        ),
        pytest.param(
            {"a.sql": "-- intro\nSELECT 1;\n-- name: GetA :one\nSELECT 1;\n"},
            "a.sql:2",
            "SQL before the first '-- name:' header",
            id="sql-before-header",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT 1;\nSELECT 2;\n"},
            "a.sql:3",
            "more than one statement",
            id="two-statements",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT 'abc;\n"},
            "a.sql:2",
            "unterminated ' quote",
            id="unterminated-string",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT $x$abc;\n"},
            "a.sql:2",
            "unterminated $x$ quoted string",
            id="unterminated-dollar",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT 1 /* /* */;\n"},
            "a.sql:2",
            "unterminated /* comment",
            id="unterminated-comment",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT sqlc.arg(class);\n"},
            "a.sql:2",
            "parameter name 'class' cannot be a Python keyword argument",
            id="keyword-param",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT @conn;\n"},
            "a.sql:2",
            "parameter name 'conn'",
            id="conn-param",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT sqlc.arg('a b');\n"},
            "a.sql:2",
            "parameter name 'a b'",
            id="spaced-param",
        ),
        pytest.param(
            {"a.sql": "-- name: DoA :exec\n-- returns: ARow\nSELECT 1;\n"},
            "a.sql:1",
            "query DoA returns no rows (:exec): it cannot name a row model",
            id="returns-on-exec",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\n-- returns: ARow\n-- returns: BRow\nSELECT 1;\n"},
            "a.sql:1",
            "query GetA has two '-- returns:' lines",
            id="returns-twice",
        ),
        pytest.param(
            {"a.sql": "-- name: DoA :execrows\n-- into: caller\nSELECT 1;\n"},
            "a.sql:1",
            "query DoA returns no rows (:execrows): it has none to build",
            id="into-on-execrows",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\n-- into: caller\n-- into: caller\nSELECT 1;\n"},
            "a.sql:1",
            "query GetA has two '-- into:' lines",
            id="into-twice",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\n-- into: UserMatch\nSELECT 1;\n"},
            "a.sql:1",
            "'-- into: UserMatch' of query GetA: the only form is '-- into: caller'",
            id="into-names-a-model",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\n-- returns: models.ARow\nSELECT 1;\n"},
            "a.sql:1",
            "'-- returns: models.ARow' of query GetA: not a model name",
            id="returns-not-a-name",
        ),
        pytest.param(
            {"a.sql": "-- name: GetA :one\nSELECT '-- name: B';\n"},
            "a.sql:1",
            "contains '-- name:', where aiosql would start a new query",
            id="header-in-literal",
        ),
    ],
)
def test_errors_name_the_file_and_line(
    tmp_path: Path, files: dict[str, str], where: str, message: str
) -> None:
    for name, text in files.items():
        write(tmp_path, text, name)

    with pytest.raises(QueryFileError) as caught:
        parse_dir(tmp_path)

    assert str(caught.value).startswith(f"{tmp_path}/{where}: ")
    assert message.format(dir=tmp_path) in str(caught.value)


def test_load_refuses_sql_that_aiosql_would_change(tmp_path: Path) -> None:
    # aiosql drops a line starting with -- even inside a quoted identifier
    path = write(tmp_path, '-- name: GetA :one\nSELECT 1 AS "a\n-- b";\n')

    with pytest.raises(QueryFileError, match=r"q\.sql:1: aiosql would run 'SELECT 1 AS \"a'"):
        load(path, "psycopg")


# --- aiosql text and loading -------------------------------------------------------------------


def test_to_aiosql_declares_parameters_and_suffixes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "-- name: GetA :one\n-- Doc.\nSELECT sqlc.arg(id);\n\n-- name: ListA :many\nSELECT 1;\n\n"
        "-- name: TouchA :exec\nSELECT @a, @b;\n\n-- name: DropA :execrows\nSELECT 1;\n",
    )

    assert to_aiosql(parse_file(path)) == (
        "-- name: get_a(id)^\n-- Doc.\nSELECT :id;\n\n"
        "-- name: list_a()\nSELECT 1;\n\n"
        "-- name: touch_a(a, b)!\nSELECT :a, :b;\n\n"
        "-- name: drop_a()!\nSELECT 1;\n"
    )


def test_load_gives_keyword_only_methods_pointing_at_the_sql_file() -> None:
    queries = demo("psycopg")

    assert str(inspect.signature(queries.create_note)) == "(*, body, tags)"
    assert queries.create_note.__doc__ == "Adds a note and returns it."
    assert queries.create_note.__code__.co_filename == str(DEMO / "10_notes.sql")
    assert queries.create_note.__code__.co_firstlineno == 3
    assert "list_notes_tagged_cursor" in queries.available_queries


def test_load_caches_per_path_and_driver() -> None:
    sync = load(DEMO, "psycopg")

    assert load(str(DEMO), "psycopg") is sync
    assert load(DEMO, "apsycopg") is not sync
    assert load(DEMO, "apsycopg").is_aio


# --- on PostgreSQL -----------------------------------------------------------------------------


def test_aiosql_leaves_percent_to_us(conn: psycopg.Connection[TupleRow]) -> None:
    # aiosql always passes a parameter dict, even an empty one, so psycopg parses every %.
    raw = aiosql.from_str(
        "-- name: single()^\nSELECT '50%';\n-- name: double()^\nSELECT '50%%';\n", "psycopg"
    )

    with pytest.raises(psycopg.ProgrammingError, match="placeholder"):
        raw.single(conn)
    conn.rollback()
    assert raw.double(conn) == ("50%",)


def test_aiosql_alone_misreads_backslash_escapes() -> None:
    # Its scanner ends a string at \' and so takes the :y after it for a parameter.
    with pytest.raises(aiosql.SQLParseException, match="undeclared parameter name in query q: y"):
        aiosql.from_str("-- name: q()^\nSELECT E'it\\'s :y';\n", "psycopg")


def test_literals_operators_and_comments_survive(conn: psycopg.Connection[TupleRow]) -> None:
    queries = demo("psycopg")

    assert queries.echo_literals(conn) == LITERALS


def test_parameters_and_casts(conn: psycopg.Connection[TupleRow]) -> None:
    queries = demo("psycopg")

    assert queries.echo_params(conn, n=2, label="top", maybe=None) == (3, "top%", True, [10, 20], 0)
    assert queries.echo_params(conn, n=3, label="a%b", maybe="x") == (4, "a%b%", False, [10, 20, 30], 1)


def test_each_command_on_a_table(conn: psycopg.Connection[TupleRow]) -> None:
    queries = demo("psycopg")

    first = queries.create_note(conn, body="tea 50% off", tags='{"red": true}')
    second = queries.create_note(conn, body="coffee", tags='{"blue": true}')

    assert first == (1, "tea 50% off", {"red": True})
    assert queries.get_note(conn, id=2) == (2, "coffee")
    assert queries.get_note(conn, id=99) is None
    assert list(queries.list_notes_tagged(conn, tag="red")) == [(1, "tea 50% off")]
    assert list(queries.list_notes_tagged(conn, tag=None)) == [(1, "tea 50% off"), second[:2]]
    assert list(queries.list_notes_matching(conn, filter='{"red": true}', needle="50%")) == [(1,)]
    assert queries.rename_notes(conn, suffix="!", pattern="%e%") == 2
    # :exec shares aiosql's "!" and so returns the row count: the typed layer drops it
    assert queries.delete_note(conn, id=1) == 1
    assert [row[0] for row in conn.execute("SELECT body FROM notes ORDER BY id")] == ["coffee!"]


def test_a_sync_many_query_runs_only_when_iterated(
    tmp_path: Path, conn: psycopg.Connection[TupleRow]
) -> None:
    path = write(tmp_path, "-- name: PopNotes :many\nDELETE FROM notes RETURNING id;\n")
    queries: Any = load(path, "psycopg")
    conn.execute("INSERT INTO notes (body) VALUES ('a'), ('b')")

    rows = queries.pop_notes(conn)
    assert conn.execute("SELECT count(*) FROM notes").fetchone() == (2,)

    assert list(rows) == [(1,), (2,)]
    assert conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)


async def test_async_literals_and_parameters(aconn: psycopg.AsyncConnection[TupleRow]) -> None:
    queries = demo("apsycopg")

    assert await queries.echo_literals(aconn) == LITERALS
    assert await queries.echo_params(aconn, n=1, label="x", maybe=None) == (2, "x%", True, [10], 1)


async def test_async_each_command_on_a_table(aconn: psycopg.AsyncConnection[TupleRow]) -> None:
    queries = demo("apsycopg")

    assert await queries.create_note(aconn, body="tea 50% off", tags='{"red": true}') == (
        1,
        "tea 50% off",
        {"red": True},
    )
    assert await queries.get_note(aconn, id=1) == (1, "tea 50% off")
    assert await queries.get_note(aconn, id=2) is None
    assert [row async for row in queries.list_notes_tagged(aconn, tag="red")] == [(1, "tea 50% off")]
    assert [row async for row in queries.list_notes_tagged(aconn, tag="blue")] == []
    assert [row async for row in queries.list_notes_matching(aconn, filter="{}", needle="%")] == [(1,)]
    assert await queries.rename_notes(aconn, suffix="!", pattern="tea%") == 1
    assert await queries.delete_note(aconn, id=1) == 1
    cursor = await aconn.execute("SELECT count(*) FROM notes")
    assert await cursor.fetchone() == (0,)
