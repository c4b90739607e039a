"""What the generated queriers share: the loaded aiosql queries, and rows turned into models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel

from learnstore._resources import queries_dir
from learnstore.queries._loader import load

M = TypeVar("M", bound=BaseModel)


# Cached here, not only in load(): a Querier is built per operation, and load()'s path
# resolution (several lstat calls) cost more than the rest of a one-row read (bench/).
@cache
def sync_queries() -> Any:
    """Every query of sql/queries, loaded once through aiosql's psycopg (sync) adapter."""
    return load(queries_dir(), "psycopg")


@cache
def async_queries() -> Any:
    """Every query of sql/queries, loaded once through aiosql's apsycopg (async) adapter."""
    return load(queries_dir(), "apsycopg")


def _plan(cls: type[M]) -> tuple[tuple[str, ...], set[str]] | None:
    """(field names, the fields-set every instance shares) to build `cls` without validation, or
    None when `cls` needs pydantic's model_construct (private attributes, extra fields)."""
    try:
        return _PLANS[cls]
    except KeyError:
        fields = tuple(cls.model_fields)
        simple = not cls.__private_attributes__ and cls.model_config.get("extra") != "allow"
        plan = _PLANS[cls] = (fields, set(fields)) if simple else None
        return plan


_PLANS: dict[type[BaseModel], tuple[tuple[str, ...], set[str]] | None] = {}
# BaseModel's slots, written as model_construct writes them.
_set_fields_set = vars(BaseModel)["__pydantic_fields_set__"].__set__
_set_extra = vars(BaseModel)["__pydantic_extra__"].__set__
_set_private = vars(BaseModel)["__pydantic_private__"].__set__


def to_model(cls: type[M], row: Sequence[Any] | None) -> M | None:
    if row is None:
        return None
    return to_models(cls, (row,))[0]


def to_models(cls: type[M], rows: Iterable[Sequence[Any]]) -> list[M]:
    """Rows as `cls` instances, without validation.

    The columns come from PostgreSQL already typed by psycopg, in the model's field order (the
    generator checked it against sqlc's catalog), so validating them again buys nothing. This does
    what `model_construct` does for our generated models (frozen, no defaults to fill, no private
    attributes, no extra) at under a third of its cost, which was the largest part of learnstore's
    own time in a list (bench/). Every instance shares one fields-set: all fields are set, the
    models are frozen, and pydantic copies the set before it changes one (`model_copy`).
    """
    plan = _plan(cls)
    if plan is None:
        names = tuple(cls.model_fields)
        return [cls.model_construct(**dict(zip(names, row, strict=True))) for row in rows]
    fields, field_set = plan
    new = cls.__new__
    models: list[M] = []
    append = models.append
    for row in rows:
        model = new(cls)
        model.__dict__.update(zip(fields, row, strict=True))
        _set_fields_set(model, field_set)
        _set_extra(model, None)
        _set_private(model, None)
        append(model)
    return models
