"""Bulk import over binary COPY: users, courses with their units and lessons, enrolments, and the
history of lesson progress and login days. Each call is one transaction; a bad row is an error
naming the row and the field, and then nothing is written."""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, NamedTuple, TypeVar
from uuid import UUID, uuid4

import psycopg
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from learnstore._validation import check_time_zone
from learnstore.database_async import AsyncDatabase
from learnstore.errors import InvalidValue, LearnstoreError, translate
from learnstore.queries.imports import AsyncQuerier
from learnstore.types import (
    CONTENT_MODELS,
    INT_MAX,
    ContentType,
    Difficulty,
    LessonStatus,
    Seconds,
    Title,
    Url,
)

if TYPE_CHECKING:
    from psycopg import AsyncCursor


__all__ = [
    "AsyncImportsRepository",
    "CourseImport",
    "EnrolmentRecord",
    "ImportSummary",
    "ImportedCourse",
    "ImportedUnit",
    "LessonImport",
    "LoginDayRecord",
    "ProgressRecord",
    "UnitImport",
    "UserImport",
]

T = TypeVar("T")

_STATUSES: Final = frozenset(("not_started", "in_progress", "completed"))


# -- rows: plain named tuples, checked by hand (the hot path: a model per row costs more than COPY) --


class ProgressRecord(NamedTuple):
    """A learner's status in one lesson. `completed` needs `completed_at`; `not_started` has no dates."""

    user_clerk_id: str
    lesson_id: UUID
    status: LessonStatus
    started_at: datetime | None = None
    completed_at: datetime | None = None


class LoginDayRecord(NamedTuple):
    """A local calendar day on which a user was active, and the instant they were first seen on it."""

    user_clerk_id: str
    day: date
    first_seen_at: datetime


class EnrolmentRecord(NamedTuple):
    """A learner enrolled in a course (`enrolled_at` None: now). Progress is computed, not imported."""

    user_clerk_id: str
    course_id: UUID
    enrolled_at: datetime | None = None


# -- nested inputs: pydantic models, validated as one batch ------------------------------------


class UserImport(BaseModel):
    """A user as the identity provider knows them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clerk_id: str = Field(min_length=1, max_length=64, pattern=r"\S")
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    avatar_url: Url | None = None
    bio: str | None = Field(default=None, max_length=5000)
    timezone: str = "UTC"


class LessonImport(BaseModel):
    """A lesson; `content` must fit `content_type` (VideoContent, TextContent, ... of the content domain)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID | None = None
    title: Title
    content_type: ContentType
    content: dict[str, Any]
    duration_seconds: Seconds | None = None


class UnitImport(BaseModel):
    """A unit and its lessons, in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID | None = None
    title: Title
    description: str = Field(default="", max_length=20_000)
    lessons: list[LessonImport] = []


class CourseImport(BaseModel):
    """A course with its units in order, each with its lessons in order (positions follow the lists).

    Ids left out are generated. A `published` course without `published_at` is published now.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID | None = None
    author_clerk_id: str | None = None
    title: Title
    description: str = Field(default="", max_length=20_000)
    difficulty: Difficulty = "beginner"
    estimated_duration_minutes: Annotated[int, Field(gt=0, le=INT_MAX)] | None = None
    learning_objectives: list[Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]] = Field(
        default_factory=list, max_length=50
    )
    cover_image_url: Url | None = None
    language_id: UUID | None = None
    status: Literal["draft", "published", "archived"] = "draft"
    published_at: AwareDatetime | None = None
    open_to_collaboration: bool = False
    created_at: AwareDatetime | None = None
    units: list[UnitImport] = []


class ImportedUnit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    lesson_ids: list[UUID]


class ImportedCourse(BaseModel):
    """The ids an imported course got, in the order of the input."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    units: list[ImportedUnit]

    def lesson_ids(self) -> list[UUID]:
        """Every lesson id of the course, in reading order."""
        return [lesson for unit in self.units for lesson in unit.lesson_ids]


class ImportSummary(BaseModel):
    """What an import wrote."""

    model_config = ConfigDict(frozen=True)

    rows: int
    """Rows copied."""
    refreshed: int = 0
    """Enrolments whose progress changed (progress, enrolments), or streaks rewritten (login days)."""


# -- the COPY statements -----------------------------------------------------------------------


class _Table(NamedTuple):
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]

    def copy_statement(self) -> str:
        return f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN (FORMAT BINARY)"


def _table(name: str, *columns: tuple[str, str]) -> _Table:
    return _Table(name, tuple(c for c, _ in columns), tuple(t for _, t in columns))


_USERS = _table(
    "users",
    ("clerk_id", "text"),
    ("email", "text"),
    ("first_name", "text"),
    ("last_name", "text"),
    ("avatar_url", "text"),
    ("bio", "text"),
    ("timezone", "text"),
)
_COURSES = _table(
    "courses",
    ("id", "uuid"),
    ("author_clerk_id", "text"),
    ("title", "text"),
    ("description", "text"),
    ("difficulty", "text"),
    ("estimated_duration_minutes", "int4"),
    ("learning_objectives", "text[]"),
    ("cover_image_url", "text"),
    ("language_id", "uuid"),
    ("status", "text"),
    ("published_at", "timestamptz"),
    ("open_to_collaboration", "bool"),
    ("created_at", "timestamptz"),
)
_UNITS = _table(
    "units",
    ("id", "uuid"),
    ("course_id", "uuid"),
    ("title", "text"),
    ("description", "text"),
    ("position", "int4"),
)
_LESSONS = _table(
    "lessons",
    ("id", "uuid"),
    ("unit_id", "uuid"),
    ("title", "text"),
    ("content_type", "text"),
    ("content", "jsonb"),
    ("duration_seconds", "int4"),
    ("position", "int4"),
)
# created_at / updated_at from the history itself: the dashboard orders courses by the latest
# lesson activity (user_progress.updated_at), which an import must not reset to the import's time.
_PROGRESS = _table(
    "user_progress",
    ("user_clerk_id", "text"),
    ("lesson_id", "uuid"),
    ("status", "text"),
    ("started_at", "timestamptz"),
    ("completed_at", "timestamptz"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
)
_LOGIN_DAYS = _table(
    "login_days", ("user_clerk_id", "text"), ("day", "date"), ("first_seen_at", "timestamptz")
)
_ENROLMENTS = _table(
    "user_courses", ("user_clerk_id", "text"), ("course_id", "uuid"), ("enrolled_at", "timestamptz")
)


# -- checking rows -----------------------------------------------------------------------------


def _bad(path: str, column: str, rule: str, value: object) -> InvalidValue:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    field = f"{path}.{column}"
    return InvalidValue(f"{field}: {rule}, not {shown}", field=field)


def _fields(row: object, names: tuple[str, ...], required: int, path: str) -> tuple[Any, ...]:
    """The values of a row given as a tuple (of `required` to `len(names)` items) or a mapping."""
    if isinstance(row, tuple):
        if required <= len(row) <= len(names):
            return row + (None,) * (len(names) - len(row))
        raise InvalidValue(
            f"{path}: a row has {required} to {len(names)} values ({', '.join(names)}), not {len(row)}",
            field=path,
        )
    if isinstance(row, Mapping):
        unknown = [key for key in row if key not in names]
        if unknown:
            raise InvalidValue(
                f"{path}.{unknown[0]}: not a column of this import", field=f"{path}.{unknown[0]}"
            )
        missing = [name for name in names[:required] if name not in row]
        if missing:
            raise InvalidValue(f"{path}.{missing[0]}: missing", field=f"{path}.{missing[0]}")
        return tuple(row.get(name) for name in names)
    raise InvalidValue(f"{path}: a row must be a tuple or a mapping, not {type(row).__name__}", field=path)


def _uuid(value: object, path: str, column: str) -> UUID:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise _bad(path, column, "must be a UUID", value)


def _instant(value: object, path: str, column: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise _bad(path, column, "must be a datetime with a time zone", value)
    return value


def _clerk_id(value: object, path: str, column: str) -> str:
    # Only the type: an unknown or malformed clerk_id fails the foreign key, which names the row.
    if not isinstance(value, str):
        raise _bad(path, column, "must be a string (a clerk_id)", value)
    return value


_PROGRESS_FIELDS: Final = ProgressRecord._fields


def _progress_rows(
    rows: Sequence[object], now: datetime
) -> tuple[list[tuple[Any, ...]], set[str], set[UUID]]:
    """The COPY rows of progress records, and the learners and lessons they touch."""
    out: list[tuple[Any, ...]] = []
    users: set[str] = set()
    # Lessons by their 128-bit int: hashing and comparing a UUID runs Python code (UUID.__hash__,
    # __eq__), an int's does not; a few hundred distinct lessons become UUIDs again at the end.
    lessons: set[int] = set()
    append = out.append
    for index, row in enumerate(rows):
        # The common shapes take the short way: a 5-tuple of the right types.
        values = row if type(row) is ProgressRecord or (type(row) is tuple and len(row) == 5) else None
        if values is None:
            values = _fields(row, _PROGRESS_FIELDS, 3, f"progress[{index}]")
        user, lesson, status, started, completed = values
        if type(user) is not str:
            user = _clerk_id(user, f"progress[{index}]", "user_clerk_id")
        if type(lesson) is not UUID:
            lesson = _uuid(lesson, f"progress[{index}]", "lesson_id")
        if type(status) is not str or status not in _STATUSES:
            raise _bad(
                f"progress[{index}]", "status", "must be one of not_started, in_progress, completed", status
            )
        if started is not None and (type(started) is not datetime or started.tzinfo is None):
            started = _instant(started, f"progress[{index}]", "started_at")
        if completed is not None and (type(completed) is not datetime or completed.tzinfo is None):
            completed = _instant(completed, f"progress[{index}]", "completed_at")
        if (status == "completed") != (completed is not None):
            raise _bad(
                f"progress[{index}]",
                "completed_at",
                f"must be set exactly when status is completed ({status})",
                completed,
            )
        if status == "not_started" and started is not None:
            raise _bad(f"progress[{index}]", "started_at", "must be None when status is not_started", started)
        if started is not None and completed is not None and completed < started:
            raise _bad(
                f"progress[{index}]", "completed_at", f"must not be before started_at ({started})", completed
            )
        users.add(user)
        lessons.add(lesson.int)
        append(
            (
                user,
                lesson,
                status,
                started,
                completed,
                started or completed or now,
                completed or started or now,
            )
        )
    return out, users, {UUID(int=lesson) for lesson in lessons}


def _login_day_rows(rows: Sequence[object]) -> tuple[list[tuple[Any, ...]], set[str]]:
    """The COPY rows of login-day records, and the users they touch."""
    out: list[tuple[Any, ...]] = []
    users: set[str] = set()
    append = out.append
    for index, row in enumerate(rows):
        # As _progress_rows: the common shapes take the short way, and a row's path is only written
        # for a row that is wrong (an f-string and a call per row were half the checking time:
        # 12,000 rows, 3.6 -> 1.7 ms).
        values = row if type(row) is LoginDayRecord or (type(row) is tuple and len(row) == 3) else None
        if values is None:
            values = _fields(row, LoginDayRecord._fields, 3, f"login_days[{index}]")
        user, day, seen = values
        if type(user) is not str:
            user = _clerk_id(user, f"login_days[{index}]", "user_clerk_id")
        if type(day) is not date:
            raise _bad(f"login_days[{index}]", "day", "must be a date", day)
        if type(seen) is not datetime or seen.tzinfo is None:
            seen = _instant(seen, f"login_days[{index}]", "first_seen_at")
        users.add(user)
        append((user, day, seen))
    return out, users


def _enrolment_rows(
    rows: Sequence[object], now: datetime
) -> tuple[list[tuple[Any, ...]], set[str], set[UUID]]:
    out: list[tuple[Any, ...]] = []
    users: set[str] = set()
    courses: set[UUID] = set()
    for index, row in enumerate(rows):
        path = f"enrolments[{index}]"
        user, course, enrolled = (
            row if type(row) is EnrolmentRecord else _fields(row, EnrolmentRecord._fields, 2, path)
        )
        user = _clerk_id(user, path, "user_clerk_id")
        course = _uuid(course, path, "course_id")
        enrolled = now if enrolled is None else _instant(enrolled, path, "enrolled_at")
        users.add(user)
        courses.add(course)
        out.append((user, course, enrolled))
    return out, users, courses


_USER_BATCH: Final = TypeAdapter(list[UserImport])
_COURSE_BATCH: Final = TypeAdapter(list[CourseImport])


def _batch(
    adapter: TypeAdapter[list[T]], items: Iterable[object], label: str, *, single: bool = False
) -> list[T]:
    """A batch validated by pydantic in one call; InvalidValue naming the row and field otherwise
    (`label[i].field`, or `label.field` for a batch of a single item)."""
    try:
        return adapter.validate_python(list(_listed(items)))
    except ValidationError as exc:
        first = exc.errors()[0]
        location = first["loc"][1:] if single else first["loc"]
        field = label + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
        raise InvalidValue(f"{field}: {first['msg']}", field=field) from exc


# -- errors PostgreSQL raised during a COPY, mapped back to the row ----------------------------

_COPY_LINE = re.compile(r"COPY \w+, line (\d+)")
_MISSING_KEY = re.compile(r"Key \((\w+)\)=\((.*)\) is not present in table")


def _row_error(
    exc: psycopg.Error, table: _Table, rows: Sequence[Sequence[Any]], paths: Callable[[int], str]
) -> LearnstoreError:
    """`exc` as a learnstore error whose field names the row (and column) that PostgreSQL rejected.

    A row's own checks (CHECK, NOT NULL, UNIQUE) fail while COPY reads it, and the error's context
    says "COPY table, line N". Foreign keys are checked when the COPY ends: the error's detail names
    the missing key, and the first row holding it is the one reported.
    """
    ours = translate(exc) or LearnstoreError(str(exc).strip())
    diag = exc.diag
    index: int | None = None
    column = diag.column_name
    line = _COPY_LINE.search(diag.context or "")
    if line:
        index = int(line.group(1)) - 1
    else:
        key = _MISSING_KEY.match(diag.message_detail or "")
        if key and key.group(1) in table.columns:
            column = key.group(1)
            position = table.columns.index(column)
            index = next((i for i, row in enumerate(rows) if str(row[position]) == key.group(2)), None)
    if index is None or not 0 <= index < len(rows):
        return ours
    field = paths(index) + (f".{column}" if column else "")
    error = type(ours)(f"{field}: {ours.message}", field=field, constraint=ours.constraint)
    error.__cause__ = exc
    return error


async def _copy(
    cur: AsyncCursor[Any], table: _Table, rows: Sequence[Sequence[Any]], paths: Callable[[int], str]
) -> None:
    try:
        async with cur.copy(table.copy_statement()) as copy:
            copy.set_types(list(table.types))
            for row in rows:
                await copy.write_row(row)
    except psycopg.Error as exc:
        raise _row_error(exc, table, rows, paths) from exc


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch's rows are built and copied: the rows are
    tuples that live until the COPY, and every collection of the growing young generation walks
    them again. That was two thirds of the time spent checking 465,000 progress rows (bench/).
    It stays off through the COPY, and the rows are freed before it is back on: turned on with
    the rows alive, its first collections walked all of them again, inside the COPY (bench/:
    learnstore's COPY of 200,000 login days took 1.1-1.3 times raw psycopg's COPY of the same
    rows). In the async twin the pause spans the import's awaits: other tasks of the event loop
    run without the cyclic collector for that long (reference counting still frees their objects)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _listed(rows: Iterable[object]) -> Sequence[object]:
    # Kept whole: a foreign-key error found at the end of the COPY is traced back to its row.
    if isinstance(rows, Sequence) and not isinstance(rows, (str, bytes)):
        return rows
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise InvalidValue(
            f"expected a list (or iterable) of records, not {type(rows).__name__}", field="records"
        )
    return list(rows)


def _now() -> datetime:
    return datetime.now(UTC)


class AsyncImportsRepository:
    """Bulk imports. Every method is one transaction, checks every row before it writes any, and
    writes with binary COPY."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def import_users(self, users: Iterable[UserImport | Mapping[str, Any]]) -> ImportSummary:
        """Create users (a user base moved from elsewhere); an existing clerk_id or email is an error."""
        batch: list[UserImport] = _batch(_USER_BATCH, users, "users")
        zones: dict[str, None] = {}
        rows = []
        for index, user in enumerate(batch):
            if user.timezone not in zones:
                try:
                    check_time_zone(user.timezone)
                except InvalidValue as exc:
                    raise InvalidValue(
                        f"users[{index}].{exc.message}", field=f"users[{index}].timezone"
                    ) from exc
                zones[user.timezone] = None
            rows.append(
                (
                    user.clerk_id,
                    user.email,
                    user.first_name,
                    user.last_name,
                    user.avatar_url,
                    user.bio,
                    user.timezone,
                )
            )
        async for attempt in self._db.attempts():
            async with attempt as conn, conn.cursor() as cur:
                await _copy(cur, _USERS, rows, lambda i: f"users[{i}]")
        return ImportSummary(rows=len(rows))

    async def import_course(self, course: CourseImport | Mapping[str, Any]) -> ImportedCourse:
        """Create a course with its units and lessons, in one transaction; see `import_courses`."""
        return (await self._import_courses([course], single=True))[0]

    async def import_courses(
        self, courses: Iterable[CourseImport | Mapping[str, Any]]
    ) -> list[ImportedCourse]:
        """Create courses with their units and lessons: three COPYs (courses, units, lessons) in one
        transaction. Returns the ids each course, unit and lesson got, in the order given."""
        return await self._import_courses(courses, single=False)

    async def _import_courses(
        self, courses: Iterable[CourseImport | Mapping[str, Any]], *, single: bool
    ) -> list[ImportedCourse]:
        label = "course" if single else "courses"
        # The batch is checked, built and copied with the cyclic garbage collector paused, as in
        # the other imports: validating 6,000 lesson contents set off full collections over the
        # whole input (10-30 ms each, under cProfile).
        with _gc_paused():
            batch: list[CourseImport] = _batch(_COURSE_BATCH, courses, label, single=single)
            now = _now()
            course_rows: list[tuple[Any, ...]] = []
            unit_rows: list[tuple[Any, ...]] = []
            lesson_rows: list[tuple[Any, ...]] = []
            unit_paths: list[str] = []
            lesson_paths: list[str] = []
            imported: list[ImportedCourse] = []
            for i, course in enumerate(batch):
                path = label if single else f"{label}[{i}]"
                published_at = course.published_at
                if course.status == "published":
                    published_at = published_at or now
                elif published_at is not None:
                    raise _bad(
                        path, "published_at", f"must be None for a {course.status} course", published_at
                    )
                course_id = course.id or uuid4()
                course_rows.append(
                    (
                        course_id,
                        course.author_clerk_id,
                        course.title,
                        course.description,
                        course.difficulty,
                        course.estimated_duration_minutes,
                        course.learning_objectives,
                        course.cover_image_url,
                        course.language_id,
                        course.status,
                        published_at,
                        course.open_to_collaboration,
                        course.created_at or now,
                    )
                )
                units = []
                for j, unit in enumerate(course.units):
                    unit_id = unit.id or uuid4()
                    unit_rows.append((unit_id, course_id, unit.title, unit.description, j))
                    unit_paths.append(f"{path}.units[{j}]")
                    lesson_ids = []
                    for k, lesson in enumerate(unit.lessons):
                        lesson_id = lesson.id or uuid4()
                        lesson_rows.append(
                            (
                                lesson_id,
                                unit_id,
                                lesson.title,
                                lesson.content_type,
                                lesson.content,  # replaced by the checked content below
                                lesson.duration_seconds,
                                k,
                            )
                        )
                        lesson_paths.append(f"{path}.units[{j}].lessons[{k}]")
                        lesson_ids.append(lesson_id)
                    # model_construct: ids this method made or took from validated input, so validating
                    # them again took a sixth of an import's time (cProfile, 200 courses).
                    units.append(ImportedUnit.model_construct(id=unit_id, lesson_ids=lesson_ids))
                imported.append(ImportedCourse.model_construct(id=course_id, units=units))
            contents = _lesson_contents([(row[3], row[4]) for row in lesson_rows], lesson_paths)
            lesson_rows = [
                (*row[:4], content, *row[5:]) for row, content in zip(lesson_rows, contents, strict=True)
            ]
            async for attempt in self._db.attempts():
                async with attempt as conn, conn.cursor() as cur:
                    await _copy(cur, _COURSES, course_rows, lambda i: label if single else f"{label}[{i}]")
                    await _copy(cur, _UNITS, unit_rows, unit_paths.__getitem__)
                    await _copy(cur, _LESSONS, lesson_rows, lesson_paths.__getitem__)
            for built in (course_rows, unit_rows, lesson_rows):
                built.clear()  # freed while the collector is still paused (see _gc_paused)
        return imported

    async def import_enrolments(
        self, enrolments: Iterable[EnrolmentRecord | Mapping[str, Any]]
    ) -> ImportSummary:
        """Enrol learners (any course status: this is history), then compute each new enrolment's
        progress from the lesson statuses already there, in the same transaction."""
        with _gc_paused():
            rows, users, courses = _enrolment_rows(_listed(enrolments), _now())
            async for attempt in self._db.attempts():
                async with attempt as conn, conn.cursor() as cur:
                    await _copy(cur, _ENROLMENTS, rows, lambda i: f"enrolments[{i}]")
                    refreshed = await AsyncQuerier(conn).refresh_learner_enrolments(
                        user_clerk_ids=list(users), course_ids=list(courses)
                    )
            copied = len(rows)
            rows.clear()  # freed while the collector is still paused (see _gc_paused)
        return ImportSummary(rows=copied, refreshed=refreshed)

    async def import_progress(
        self, records: Iterable[ProgressRecord | tuple[Any, ...] | Mapping[str, Any]]
    ) -> ImportSummary:
        """Import lesson statuses (history: none of them may exist yet), then recompute the progress
        of every enrolment they touch, in the same transaction.

        A status of a learner not (yet) enrolled in the lesson's course is kept, and counts when
        they enrol (or are imported with `import_enrolments`).
        """
        with _gc_paused():
            rows, users, lessons = _progress_rows(_listed(records), _now())
            user_ids = list(users)
            async for attempt in self._db.attempts():
                async with attempt as conn, conn.cursor() as cur:
                    queries = AsyncQuerier(conn)
                    course_ids = await queries.list_courses_of_lessons(lesson_ids=list(lessons))
                    # Before the COPY: a concurrent set_lesson_status on one of these enrolments then waits
                    # for this import, instead of holding the enrolment while it waits for a copied row.
                    await queries.lock_learner_enrolments(user_clerk_ids=user_ids, course_ids=course_ids)
                    await _copy(cur, _PROGRESS, rows, lambda i: f"progress[{i}]")
                    refreshed = await queries.refresh_learner_enrolments(
                        user_clerk_ids=user_ids, course_ids=course_ids
                    )
            copied = len(rows)
            rows.clear()  # freed while the collector is still paused (see _gc_paused)
        return ImportSummary(rows=copied, refreshed=refreshed)

    async def import_login_days(
        self, records: Iterable[LoginDayRecord | tuple[Any, ...] | Mapping[str, Any]]
    ) -> ImportSummary:
        """Import active days (none of them may exist yet), then rewrite the streaks of the users
        they belong to from their login days, in the same transaction."""
        with _gc_paused():
            rows, users = _login_day_rows(_listed(records))
            user_ids = list(users)
            async for attempt in self._db.attempts():
                async with attempt as conn, conn.cursor() as cur:
                    queries = AsyncQuerier(conn)
                    await queries.lock_users(clerk_ids=user_ids)
                    await _copy(cur, _LOGIN_DAYS, rows, lambda i: f"login_days[{i}]")
                    refreshed = await queries.recompute_streaks(user_clerk_ids=user_ids)
            copied = len(rows)
            rows.clear()  # freed while the collector is still paused (see _gc_paused)
        return ImportSummary(rows=copied, refreshed=refreshed)


_CONTENT_BATCHES: Final[dict[str, TypeAdapter[list[Any]]]] = {
    kind: TypeAdapter(list[model])  # type: ignore[valid-type]
    for kind, model in CONTENT_MODELS.items()
}


def _lesson_contents(
    lessons: Sequence[tuple[str, dict[str, Any]]], paths: Sequence[str]
) -> list[dict[str, Any]]:
    """Each lesson's (content_type, content) checked against its content_type's model, as the content
    domain stores it (the model's JSON form, without None), in the order given.

    One pydantic call per content type for the whole batch, validating and then dumping a list,
    instead of a model per lesson: a third of the time (600 lessons: 1.04 -> 0.37 ms), the same
    result. The bad lesson reported is the first in input order, whatever its type.
    """
    by_kind: dict[str, list[int]] = {}
    for index, (kind, _) in enumerate(lessons):
        by_kind.setdefault(kind, []).append(index)
    out: list[dict[str, Any]] = [{} for _ in lessons]
    first_error: tuple[int, ValidationError] | None = None
    for kind, indexes in by_kind.items():
        adapter = _CONTENT_BATCHES[kind]
        try:
            checked = adapter.validate_python([lessons[i][1] for i in indexes])
        except ValidationError as exc:
            at = indexes[exc.errors()[0]["loc"][0]]  # type: ignore[index]
            if first_error is None or at < first_error[0]:
                first_error = (at, exc)
            continue
        dumped = adapter.dump_python(checked, mode="json", exclude_none=True)
        for index, content in zip(indexes, dumped, strict=True):
            out[index] = content
    if first_error is not None:
        at, error = first_error
        first = error.errors()[0]
        field = f"{paths[at]}.content" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"][1:]
        )
        raise InvalidValue(f"{field}: {first['msg']} ({lessons[at][0]} lesson)", field=field) from error
    return out
