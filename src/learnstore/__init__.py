"""learnstore: the data layer of a learning platform, typed Python over PostgreSQL."""

from learnstore.errors import (
    AlreadyExists,
    Conflict,
    InvalidReference,
    InvalidValue,
    LearnstoreError,
    NotFound,
    QueryFileError,
    Unavailable,
)
from learnstore.store import Database, Store, connect
from learnstore.store_async import AsyncDatabase, AsyncStore, connect_async

__all__ = [
    "AlreadyExists",
    "AsyncDatabase",
    "AsyncStore",
    "Conflict",
    "Database",
    "InvalidReference",
    "InvalidValue",
    "LearnstoreError",
    "NotFound",
    "QueryFileError",
    "Store",
    "Unavailable",
    "connect",
    "connect_async",
]
