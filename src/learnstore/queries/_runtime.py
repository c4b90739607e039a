"""What the generated queriers share: the loaded aiosql queries, and rows turned into models."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from itertools import repeat
from types import NoneType, UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

from learnstore._resources import queries_dir
from learnstore.queries._loader import load
from learnstore.queries._reads import read_only_queries

M = TypeVar("M", bound=BaseModel)
#: the caller's model that a query declared `-- into: caller` builds its rows into
Into = TypeVar("Into", bound=BaseModel)


# Cached here, not only in load(): a Querier is built per operation, and load()'s path
# resolution (several lstat calls) cost more than the rest of a one-row read (bench/).
@cache
def sync_queries() -> Any:
    """Every query of sql/queries, loaded once through aiosql's psycopg (sync) adapter."""
    return load(queries_dir(), "psycopg", read_only_queries())


@cache
def async_queries() -> Any:
    """Every query of sql/queries, loaded once through aiosql's apsycopg (async) adapter."""
    return load(queries_dir(), "apsycopg", read_only_queries())


#: (field names, the fields-set every instance shares, the rows -> dicts function of the fields)
_Plan = tuple[tuple[str, ...], set[str], Callable[[list[Any]], list[dict[str, Any]]]]


def _plan(cls: type[M]) -> _Plan | None:
    """How to build `cls` without validation, or None when `cls` needs pydantic's model_construct
    (private attributes, extra fields)."""
    try:
        return _PLANS[cls]
    except KeyError:
        fields = tuple(cls.model_fields)
        simple = not cls.__private_attributes__ and cls.model_config.get("extra") != "allow"
        plan = _PLANS[cls] = (fields, set(fields), _dicts_of(fields)) if simple else None
        return plan


def _dicts_of(fields: tuple[str, ...]) -> Callable[[list[Any]], list[dict[str, Any]]]:
    """A function turning rows of these columns into dicts keyed by them: a comprehension that
    unpacks each row into locals and builds a dict display (`{'id': c0, 'title': c1}`), whose keys
    are constants: twice as fast as dict(zip(fields, row)) per row (50 rows of 8 columns, 19 -> 9
    us), the largest part of building a list's models. Written as source, as namedtuple was: the
    names are a model's field names (identifiers), and only appear as string constants."""
    if not fields:
        return lambda rows: [{} for _ in rows]
    if not all(name.isidentifier() for name in fields):  # never for a pydantic field; to be safe
        return lambda rows: [dict(zip(fields, row, strict=True)) for row in rows]
    columns = ", ".join(f"c{i}" for i in range(len(fields)))
    display = ", ".join(f"{name!r}: c{i}" for i, name in enumerate(fields))
    namespace: dict[str, Any] = {}
    exec(f"def dicts(rows):\n    return [{{{display}}} for {columns}, in rows]\n", namespace)
    dicts: Callable[[list[Any]], list[dict[str, Any]]] = namespace["dicts"]
    return dicts


_PLANS: dict[type[BaseModel], _Plan | None] = {}
_deque = deque  # deque(iterator, 0): runs it to the end in C, keeping nothing
# BaseModel's slots, written as model_construct writes them.
_set_dict = vars(BaseModel)["__dict__"].__set__
_set_fields_set = vars(BaseModel)["__pydantic_fields_set__"].__set__
_set_extra = vars(BaseModel)["__pydantic_extra__"].__set__
_set_private = vars(BaseModel)["__pydantic_private__"].__set__


def to_model(cls: type[M], row: Sequence[Any] | None, like: type[BaseModel] | None = None) -> M | None:
    """A row as a `cls` instance, without validation (see to_models, and `like` there)."""
    if like is not None and like is not cls and (cls, like) not in _LIKE:
        _check_like(cls, like)
    if row is None:
        return None
    plan = _PLANS.get(cls) or _plan(cls)
    if plan is None:
        return to_models(cls, (row,))[0]
    fields, field_set, _ = plan
    if len(row) != len(fields) and _check_width(cls, fields, row):
        row = row[: len(fields)]
    model = cls.__new__(cls)
    _set_dict(model, dict(zip(fields, row, strict=True)))
    _set_fields_set(model, field_set)
    _set_extra(model, None)
    _set_private(model, None)
    return model


def _check_width(cls: type[BaseModel], fields: tuple[str, ...], row: Sequence[Any]) -> bool:
    """Whether the rows must be cut to the model's fields. Every row of a result has the same
    columns: one check of one row covers them all.

    Wider rows are a newer migration's: ADD COLUMN appends, so `SELECT *` and `RETURNING *` return the
    columns this version knows, in its order, and then the new ones, which it leaves out. That is
    what lets the version before a release keep running while the release expands a table
    (docs/production.md, expand and contract). A narrower row cannot be read.
    """
    if len(row) == len(fields):
        return False
    if len(row) > len(fields):
        return True
    raise ValueError(f"{cls.__name__} has {len(fields)} fields, the row {len(row)} columns")


def to_models(cls: type[M], rows: Iterable[Sequence[Any]], like: type[BaseModel] | None = None) -> list[M]:
    """Rows as `cls` instances, without validation.

    The columns come from PostgreSQL already typed by psycopg, in the model's field order (the
    generator checked it against sqlc's catalog), so validating them again buys nothing. This does
    what `model_construct` does for our generated models (frozen, no defaults to fill, no private
    attributes, no extra) at under a third of its cost, which was the largest part of learnstore's
    own time in a list (bench/). Every instance shares one fields-set: all fields are set, the
    models are frozen, and pydantic copies the set before it changes one (`model_copy`).

    `like` is the query's generated row model when `cls` is the caller's (`-- into: caller`): `cls`
    must have its fields (_check_like), which is checked on the first call of each pair.
    """
    if like is not None and like is not cls and (cls, like) not in _LIKE:
        _check_like(cls, like)
    plan = _PLANS.get(cls) or _plan(cls)
    if plan is None:
        names = tuple(cls.model_fields)
        return [cls.model_construct(**dict(zip(names, row[: len(names)], strict=True))) for row in rows]
    fields, field_set, dicts = plan
    if rows.__class__ is not list:  # fetchall() gives a list; anything else is read once
        rows = list(rows)
    n = len(rows)
    if n and len(rows[0]) != len(fields) and _check_width(cls, fields, rows[0]):
        width = len(fields)
        rows = [row[:width] for row in rows]
    # One pass per slot with map() over C callables, consumed by a zero-length deque: no Python
    # frame per row. A third cheaper than a Python loop doing the same per row (bench/: 50 rows,
    # 40 -> 29 us); the dicts, from _dicts_of, another third less (29 -> 19 us).
    models: list[M] = list(map(cls.__new__, repeat(cls, n)))
    _deque(map(_set_dict, models, dicts(rows)), 0)
    _deque(map(_set_fields_set, models, repeat(field_set, n)), 0)
    _deque(map(_set_extra, models, repeat(None, n)), 0)
    _deque(map(_set_private, models, repeat(None, n)), 0)
    return models


# the (caller's model, generated row model) pairs _check_like accepted
_LIKE: set[tuple[type[BaseModel], type[BaseModel]]] = set()


def _check_like(cls: type[BaseModel], like: type[BaseModel]) -> None:
    """Refuse a caller's model that cannot hold the query's rows as they come: a TypeError unless
    `cls` has the generated model's fields, the same names in the same order, of the same types.

    Two differences are allowed, both where sqlc's inference is weaker than what the caller
    documents: a column sqlc could not type (`Any`: an expression) takes the caller's type, and
    nullability may differ (sqlc cannot tell whether an expression or an outer join's column is
    NULL; the caller's model says which it is). The values are stored without validation, as
    psycopg typed them, so a name or a type that differs otherwise would give wrong objects.
    """
    ours, theirs = cls.model_fields, like.model_fields
    if list(ours) != list(theirs):
        raise TypeError(
            f"{cls.__name__} cannot hold rows of {like.__name__}: its fields {list(ours)} are not the"
            f" columns {list(theirs)}"
        )
    for name, field in ours.items():
        column = theirs[name].annotation
        if column is not Any and _without_none(field.annotation) != _without_none(column):
            raise TypeError(
                f"{cls.__name__}.{name} is {field.annotation}, the column of {like.__name__} {column}"
            )
    _LIKE.add((cls, like))


def _without_none(annotation: Any) -> Any:
    """`X | None` -> X; any other annotation as it is."""
    if get_origin(annotation) in (Union, UnionType):
        kept = tuple(arg for arg in get_args(annotation) if arg is not NoneType)
        return kept[0] if len(kept) == 1 else kept
    return annotation
