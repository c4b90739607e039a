"""What the generated queriers share: the loaded aiosql queries, and rows turned into models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from learnstore._resources import queries_dir
from learnstore.queries._loader import load

M = TypeVar("M", bound=BaseModel)


def sync_queries() -> Any:
    """Every query of sql/queries, loaded once through aiosql's psycopg (sync) adapter."""
    return load(queries_dir(), "psycopg")


def async_queries() -> Any:
    """Every query of sql/queries, loaded once through aiosql's apsycopg (async) adapter."""
    return load(queries_dir(), "apsycopg")


def to_model(cls: type[M], row: Sequence[Any] | None) -> M | None:
    # The columns come from PostgreSQL already typed by psycopg, in the model's field order
    # (the generator checked it against sqlc's catalog), so validating them again buys nothing.
    if row is None:
        return None
    return cls.model_construct(**dict(zip(cls.model_fields, row, strict=True)))


def to_models(cls: type[M], rows: Iterable[Sequence[Any]]) -> list[M]:
    fields = tuple(cls.model_fields)
    return [cls.model_construct(**dict(zip(fields, row, strict=True))) for row in rows]
