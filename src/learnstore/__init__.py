"""learnstore: the data layer of a learning platform, typed Python over PostgreSQL."""

from learnstore.database import Database
from learnstore.database_async import AsyncDatabase
from learnstore.errors import (
    AlreadyExists,
    Conflict,
    InvalidReference,
    InvalidValue,
    LearnstoreError,
    NotFound,
    PermissionDenied,
    QueryFileError,
    Unavailable,
)
from learnstore.store import Store, connect
from learnstore.store_async import AsyncStore, connect_async

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
    "PermissionDenied",
    "QueryFileError",
    "Store",
    "Unavailable",
    "connect",
    "connect_async",
]
