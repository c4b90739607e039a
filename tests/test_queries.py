"""The query pipeline: every query prepares on the real schema; the generated code is current and typed."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from mypy import api as mypy_api
from pydantic import BaseModel, ConfigDict

from learnstore._resources import queries_dir
from learnstore.queries._loader import QueryDef, parse_dir
from learnstore.queries._runtime import to_model, to_models

ROOT = Path(__file__).resolve().parents[1]
QUERIES = parse_dir(queries_dir())


def positional(query: QueryDef) -> str:
    """The psycopg SQL with $n placeholders, as PREPARE wants it."""
    numbers = {name: i for i, name in enumerate(query.params, start=1)}
    text = re.sub(r"%\((\w+)\)s", lambda m: f"${numbers[m.group(1)]}", query.psycopg_sql)
    return text.replace("%%", "%")


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_every_query_prepares_on_the_migrated_schema(
    db_conn: psycopg.Connection[Any], query: QueryDef
) -> None:
    # sqlc's offline check misses some type errors; PostgreSQL's own planner does not.
    db_conn.execute(f"PREPARE learnstore_check AS {positional(query)}".encode())
    row = db_conn.execute(
        "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = 'learnstore_check'"
    ).fetchone()
    db_conn.execute("DEALLOCATE learnstore_check")
    assert row == (len(query.params),)


def test_query_names_are_unique_and_verb_first() -> None:
    names = [q.name for q in QUERIES]
    assert len(names) == len(set(names))
    verbs = {
        "Get", "List", "Count", "Create", "Update", "Upsert", "Delete", "Set", "Mark", "Record",
        "Recompute", "Notify", "Export", "Add", "Move", "Remove", "Publish", "Unpublish", "Archive",
        "Enrol", "Unenrol", "Attach", "Detach", "Search", "Find", "Insert", "Lock", "Score", "Import",
        "Copy", "Refresh", "Summarize", "Touch", "Reorder", "Ensure", "Grant", "Revoke",
        "Like", "Unlike", "Invite", "Respond", "Propose", "Approve", "Reject", "Upvote", "Authorize",
        "Request", "Decide", "Withdraw", "Answer", "Edit",
        "Dismiss", "Follow", "Unfollow", "Mute", "Unmute", "Is", "Clone", "Fork",
        "Revert", "Erase",
    }  # fmt: skip
    for name in names:
        verb = re.match(r"[A-Z][a-z]+", name)
        assert verb is not None and verb.group(0) in verbs, f"{name} should start with a verb"


@pytest.mark.parametrize("tool", ["generate.py", "async_to_sync.py"])
def test_generated_code_is_current(tool: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / tool), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr


def test_a_declared_row_model_must_have_the_query_s_columns(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from tools.generate import Field, Model, _check_declared

    newest = Model("ListNewestRow", "", (Field("id", "UUID", ""), Field("learners", "int", "")))
    source = tmp_path / "q.sql"
    query = QueryDef(
        "ListMostUsed", "list_most_used", "many", (), "", "", source, 3, "", returns="ListNewestRow"
    )
    same = (Field("id", "UUID", ""), Field("learners", "int", ""))
    _check_declared([(query, same)], [newest])  # the same names and types: accepted

    for columns in (
        (Field("id", "UUID", ""), Field("learners", "int | None", "")),  # a type differs
        (Field("learners", "int", ""), Field("id", "UUID", "")),  # the order differs
        same[:1],  # a column fewer
    ):
        with pytest.raises(SystemExit, match=r"q\.sql:3: ListMostUsed returns ListNewestRow, whose fields"):
            _check_declared([(query, columns)], [newest])
    with pytest.raises(SystemExit, match="returns ListNewestRow, which is not a generated model"):
        _check_declared([(query, same)], [])


class _Row(BaseModel):  # as tools/generate.py writes a <Query>Row: sqlc could not type `seen`
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    seen: Any
    rating: Decimal


class _Public(BaseModel):  # the caller's model of those rows: it says what sqlc could not
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    seen: bool
    #: None when nobody rated: sqlc's inference said the column is never NULL
    rating: Decimal | None


def test_rows_go_into_the_callers_model_with_the_querys_fields() -> None:
    rows = [(1, "ada", True, None), (2, "grace", False, Decimal("4.50"))]

    built = to_models(_Public, rows, like=_Row)
    one = to_model(_Public, rows[1], like=_Row)

    assert built == [
        _Public(id=1, name="ada", seen=True, rating=None),
        _Public(id=2, name="grace", seen=False, rating=Decimal("4.50")),
    ]
    assert one == built[1]
    assert to_model(_Public, None, like=_Row) is None


class _Reordered(BaseModel):
    name: str
    id: int
    seen: bool
    rating: Decimal | None


class _Retyped(BaseModel):
    id: str  # the column is an int
    name: str
    seen: bool
    rating: Decimal | None


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (_Reordered, r"_Reordered cannot hold rows of _Row: its fields \['name', 'id', 'seen', 'rating'\]"),
        (_Retyped, r"_Retyped.id is <class 'str'>, the column of _Row <class 'int'>"),
    ],
)
def test_a_callers_model_that_differs_from_the_querys_row_is_refused(
    model: type[BaseModel], message: str
) -> None:
    # rows are stored without validation: a model with other names or types would hold wrong values
    with pytest.raises(TypeError, match=message):
        to_models(model, [(1, "ada", True, None)], like=_Row)
    with pytest.raises(TypeError, match=message):
        to_model(model, None, like=_Row)


CONSUMER = """
from typing import Any
import psycopg
import learnstore
from learnstore.queries.users import Querier

def use(conn: psycopg.Connection[Any], store: learnstore.Store) -> None:
    q = Querier(conn)
    reveal_type(q.get_user_by_clerk_id(clerk_id="user_1"))
    reveal_type(q.list_login_days(user_clerk_id="u", since=None, until=None))
    q.get_user_by_clerk_id(clerk="user_1")
    q.count_unread_notifications(user_clerk_id=42)
    reveal_type(store.users.get("user_1"))
"""


def test_a_consumers_wrong_parameter_name_or_type_is_a_type_error(tmp_path: Path) -> None:
    module = tmp_path / "consumer.py"
    module.write_text(CONSUMER)
    out, _, status = mypy_api.run(["--strict", "--no-incremental", "--config-file", "", str(module)])
    assert status == 1, out
    assert 'Revealed type is "learnstore.queries.models.User | None"' in out
    assert 'Revealed type is "list[datetime.date]"' in out
    assert 'Unexpected keyword argument "clerk"' in out
    assert (
        'Argument "user_clerk_id" to "count_unread_notifications" of "Querier" has incompatible type "int"'
        in out
    )
    assert 'Argument "since" to "list_login_days" of "Querier" has incompatible type "None"' in out
    assert 'Revealed type is "learnstore.queries.models.User"' in out
