"""learnstore's errors: one root, a child per kind of failure, translated from PostgreSQL in one place."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
import pydantic
from psycopg import errors as pg

__all__ = [
    "AlreadyExists",
    "Conflict",
    "Contention",
    "InvalidReference",
    "InvalidValue",
    "LearnstoreError",
    "NotFound",
    "PermissionDenied",
    "QueryFileError",
    "SignatureInvalid",
    "Timeout",
    "Unavailable",
    "is_stale_plan",
    "translate",
    "translating",
]


class LearnstoreError(Exception):
    """The root of every error learnstore raises. The PostgreSQL or pydantic error is its `__cause__`."""

    #: Whether running the same operation again may succeed without changing its input
    #: (docs/production.md): a lost connection or a lost race may; a bad value never will.
    retryable = False

    def __init__(self, message: str, *, field: str | None = None, constraint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: the column or parameter the error is about, when one is known
        self.field = field
        #: the name of the schema constraint that rejected the value, when one did
        self.constraint = constraint


class NotFound(LearnstoreError):
    """The row asked for does not exist."""


class Conflict(LearnstoreError):
    """The operation clashes with the current state (a duplicate, a stale version, a lock)."""


class Contention(Conflict):
    """A deadlock, a serialization failure, a lock wait that timed out, or a prepared statement whose
    table a migration changed: the operation lost a race with a concurrent one and was rolled back
    whole. Running it again may succeed; learnstore does so itself, a bounded number of times, for
    the operations it owns the transaction of."""

    retryable = True


class AlreadyExists(Conflict):
    """A row with the same unique key already exists."""


class InvalidReference(LearnstoreError):
    """A value refers to a row that does not exist, or a row is still referred to."""


class InvalidValue(LearnstoreError):
    """A value breaks a rule: a type, a range, a CHECK constraint, a shape."""


class PermissionDenied(LearnstoreError):
    """The acting user may not do this: not the author or a collaborator with the right role, or a
    row-level security policy (`as_user`) or a missing grant refused it."""


class SignatureInvalid(LearnstoreError):
    """A webhook delivery's signature or timestamp did not verify; nothing was written."""


class Unavailable(LearnstoreError):
    """The database cannot be reached, refused the connection, or the connection was lost during the
    operation (which was then rolled back by PostgreSQL, unless it failed while committing)."""

    retryable = True


class Timeout(LearnstoreError):
    """A statement ran past the statement timeout given to `connect()` and was cancelled; the
    operation was rolled back and wrote nothing. Not retried: the same statement would likely take as
    long again."""


class QueryFileError(LearnstoreError):
    """A `.sql` query file cannot be loaded; the message names the file and line."""


# Messages for constraints whose rule a person would not guess from the name. Every other
# constraint is described from its name, which the schema keeps meaningful (table_column_rule).
CONSTRAINT_MESSAGES: dict[str, str] = {}


def register_messages(messages: Mapping[str, str]) -> None:
    """Add human messages for named constraints (used by the domain modules)."""
    CONSTRAINT_MESSAGES.update(messages)


# The field of a constraint whose name does not say it (table_column_rule is the convention).
_CONSTRAINT_FIELDS: dict[str, str] = {
    "audit_log_images_match_operation": "operation",
    "courses_estimated_duration_positive": "estimated_duration_minutes",
    "forum_replies_not_own_parent": "parent_reply_id",
    "learning_goals_completed_at_full": "completed_at",
    "lessons_duration_positive": "duration_seconds",
    "moderation_reports_one_target": "post_id",
    "notifications_like_once_key": "user_clerk_id",
    "quizzes_mcq_has_options": "options",
    "suggested_edits_kind_payload": "payload",
    "suggested_edits_kind_target": "kind",
    "suggested_edits_withdrawn_unreviewed": "reviewer_clerk_id",
    "user_courses_completed_at_full": "completed_at",
    "user_flashcard_progress_interval_non_negative": "interval_days",
    "user_streaks_longest_at_least_current": "longest_streak",
}

# "Key (a, b)=(1, 2) already exists." / "is not present in table ..." / "is still referenced ...":
# the columns of the key, as PostgreSQL reports them for unique, foreign-key and exclusion errors.
_KEY_DETAIL = re.compile(r"^Key \((?P<columns>[^=]+)\)=")
# The rule a CHECK constraint's name ends with, after table_column_ (the schema's convention).
_RULE_SUFFIX = re.compile(
    r"_(?:pkey|fkey|key|not_blank|format|valid|range|length|non_negative|positive|shape|object|set|later"
    r"|array|not_empty|order|matches|after|before|consistent|known|[a-z]+_only|[a-z]+_required)$"
)


# A partition of a log partitioned by month (sql/schema/96_partitions.sql): PostgreSQL names the
# partition, and the partition's index for a unique violation, where the caller knows the parent's.
_PARTITION = re.compile(r"(?P<parent>\w+?)_(?:history|p\d{6}|default)")


def _parent_names(table: str | None, constraint: str | None) -> tuple[str | None, str | None]:
    """The table and constraint names as the partitioned table has them: a partition's own names
    (login_days_p202701, login_days_p202701_user_day_key) map to its parent's."""
    found = _PARTITION.fullmatch(table or "")
    if not found or table is None:
        return table, constraint
    parent = found.group("parent")
    if constraint and constraint.startswith(f"{table}_"):
        constraint = parent + constraint.removeprefix(table)
    return parent, constraint


def constraint_field(diag: psycopg.errors.Diagnostic) -> str | None:
    """The field a constraint violation is about: the last column of the key PostgreSQL reports
    (the one that tells rows of a composite key apart: (course_id, position) -> position), else
    the column the constraint's name gives (table_column_rule), else _CONSTRAINT_FIELDS."""
    table, name = _parent_names(diag.table_name, diag.constraint_name)
    if not name:
        return None
    if name in _CONSTRAINT_FIELDS:
        return _CONSTRAINT_FIELDS[name]
    key = _KEY_DETAIL.match(diag.message_detail or "")
    if key:
        last = key.group("columns").split(", ")[-1].strip().strip('"')
        if re.fullmatch(r"\w+", last):
            return last
    table = table or ""
    rest = name.removeprefix(f"{table}_") if table and name.startswith(f"{table}_") else None
    if rest is None:
        return None
    column = _RULE_SUFFIX.sub("", rest)
    return column if column and column != rest else None


def _constraint_message(diag: psycopg.errors.Diagnostic, fallback: str) -> str:
    name = _parent_names(diag.table_name, diag.constraint_name)[1]
    if name and name in CONSTRAINT_MESSAGES:
        return CONSTRAINT_MESSAGES[name]
    return fallback


_SQLSTATE_CLASSES: dict[type[psycopg.Error], type[LearnstoreError]] = {
    pg.UniqueViolation: AlreadyExists,
    pg.ExclusionViolation: Conflict,
    pg.ForeignKeyViolation: InvalidReference,
    pg.RestrictViolation: InvalidReference,  # ON DELETE RESTRICT, from PostgreSQL 17 on
    pg.CheckViolation: InvalidValue,
    pg.NotNullViolation: InvalidValue,
    pg.InvalidTextRepresentation: InvalidValue,
    pg.NumericValueOutOfRange: InvalidValue,
    pg.StringDataRightTruncation: InvalidValue,
    pg.InvalidDatetimeFormat: InvalidValue,
    pg.DatetimeFieldOverflow: InvalidValue,
    pg.InvalidParameterValue: InvalidValue,
    pg.CharacterNotInRepertoire: InvalidValue,
    pg.UntranslatableCharacter: InvalidValue,
    pg.RaiseException: InvalidValue,
    pg.NoDataFound: NotFound,
    pg.DataException: InvalidValue,
    pg.SerializationFailure: Contention,
    pg.DeadlockDetected: Contention,
    pg.LockNotAvailable: Contention,
    pg.QueryCanceled: Timeout,
    pg.ObjectNotInPrerequisiteState: Conflict,
    pg.InsufficientPrivilege: PermissionDenied,
    # A value of the wrong type for its parameter (a bool for a uuid): every query is prepared
    # against the migrated schema in the tests, so at run time these come from the values.
    pg.UndefinedFunction: InvalidValue,
    pg.DatatypeMismatch: InvalidValue,
    pg.CannotCoerce: InvalidValue,
    pg.IndeterminateDatatype: InvalidValue,
    pg.AmbiguousFunction: InvalidValue,
    # Raised by psycopg itself before sending (a NUL byte in a string), with no SQLSTATE.
    psycopg.DataError: InvalidValue,
}

_WRONG_TYPE = (
    pg.UndefinedFunction,
    pg.DatatypeMismatch,
    pg.CannotCoerce,
    pg.IndeterminateDatatype,
    pg.AmbiguousFunction,
)

# Errors our PL/pgSQL functions raise with the field's name in the hint.
_HINTED = (pg.RaiseException, pg.NoDataFound, pg.ObjectNotInPrerequisiteState, pg.InsufficientPrivilege)


def is_stale_plan(exc: BaseException) -> bool:
    """Whether `exc` (or the error it was translated from) is PostgreSQL refusing a prepared statement
    whose result columns a schema change altered ("cached plan must not change result type"), or
    one the connection no longer has (a DISCARD ALL or DEALLOCATE it did not send itself): either
    way the connection's prepared statements must be forgotten before the operation runs again."""
    cause = exc.__cause__ if isinstance(exc, LearnstoreError) else exc
    if isinstance(cause, pg.InvalidSqlStatementName):
        return True
    # By the reporting routine, not the message, which the server may have translated.
    return isinstance(cause, pg.FeatureNotSupported) and cause.diag.source_function == "RevalidateCachedQuery"


def translate(exc: BaseException) -> LearnstoreError | None:
    """The learnstore error for a PostgreSQL or pydantic error, or None if it is not one we map."""
    if isinstance(exc, LearnstoreError):
        return exc
    if isinstance(exc, pg.InvalidSqlStatementName):
        return Contention(
            "the connection lost its prepared statements (something outside learnstore ran DISCARD ALL "
            "or DEALLOCATE); they are forgotten, and running the operation again works"
        )
    if is_stale_plan(exc):
        return Contention(
            "a migration changed a table under a prepared statement (cached plan must not change "
            "result type); the statement is dropped, and running the operation again works"
        )
    if isinstance(exc, pydantic.ValidationError):
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        where = f"{field}: " if field else ""
        return InvalidValue(f"{where}{first['msg']}", field=field)
    if isinstance(exc, UnicodeEncodeError):  # a lone surrogate in a str cannot be sent as UTF-8
        return InvalidValue(f"a string is not valid Unicode: {exc.reason} at position {exc.start}")
    if not isinstance(exc, psycopg.Error):
        return None
    if isinstance(exc, psycopg.ProgrammingError) and exc.sqlstate is None:
        # psycopg could not adapt a Python value (a dict where a uuid goes) and sent nothing
        return InvalidValue(f"a value cannot be sent to PostgreSQL: {str(exc).strip().splitlines()[0]}")
    for pg_class, ours in _SQLSTATE_CLASSES.items():
        if isinstance(exc, pg_class):
            diag = exc.diag
            detail = diag.message_primary or str(exc)
            field = diag.column_name or constraint_field(diag)
            if pg_class in _HINTED and diag.message_hint:
                # Our PL/pgSQL functions put the field name in the hint.
                field = diag.message_hint
            message = _constraint_message(diag, detail)
            if pg_class in _WRONG_TYPE:
                message = f"a value has the wrong type: {detail}"
            if (pg_class is pg.ForeignKeyViolation and diag.message_detail) or (
                pg_class is pg.UniqueViolation and diag.message_detail
            ):
                message = f"{message}: {diag.message_detail}"
            constraint = _parent_names(diag.table_name, diag.constraint_name)[1]
            return ours(message, field=field, constraint=constraint)
    # Checked after the table: psycopg raises some SQLSTATEs we map (class 55, lock not available)
    # as OperationalError, which otherwise means the server could not be reached.
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.QueryCanceled):
        lines = str(exc).strip().splitlines()
        return Unavailable(f"database unavailable: {lines[0] if lines else type(exc).__name__}")
    return None


@contextmanager
def translating() -> Iterator[None]:
    """Re-raise PostgreSQL and pydantic errors as learnstore errors, chained with `raise ... from`."""
    try:
        yield
    except (psycopg.Error, pydantic.ValidationError, UnicodeEncodeError) as exc:
        ours = translate(exc)
        if ours is None:
            raise
        raise ours from exc


def describe(values: Mapping[str, Any]) -> str:
    """`clerk_id='user_1'`, for messages that name what was looked up."""
    return ", ".join(f"{key}={value!r}" for key, value in values.items())
