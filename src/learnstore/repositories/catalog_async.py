"""The catalog domain: languages, tags, and discovery of published courses."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
)

from learnstore._validation import validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, register_messages
from learnstore.queries.catalog import AsyncQuerier
from learnstore.queries.models import Language, Tag
from learnstore.types import Difficulty

__all__ = [
    "AsyncCatalogRepository",
    "CourseCursor",
    "CoursePage",
    "CourseSummary",
    "Difficulty",
    "DiscoveryOrder",
    "RatingSummary",
]

register_messages(
    {
        "languages_code_key": "a language with this code already exists",
        "languages_name_key": "a language with this name already exists (names are compared ignoring case)",
        "languages_code_format": "code must be a BCP 47 language tag, such as en or pt-BR",
        "languages_name_not_blank": "name must not be blank and be at most 100 characters",
        "tags_name_key": "a tag with this name already exists (names are compared ignoring case)",
        "tags_name_not_blank": "name must not be blank and be at most 50 characters",
        "course_tags_course_id_fkey": "no course with this id",
        "course_tags_tag_id_fkey": "no tag with this id",
    }
)

#: newest first; best rated first (unrated last); or, with a text query, most relevant first.
DiscoveryOrder = Literal["newest", "rating", "relevance"]

TAG_NAME_MAX = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def _tag_name(value: str) -> str:
    # One spelling per tag: surrounding whitespace goes, runs of whitespace inside become one space.
    name = " ".join(value.split())
    if not name:
        raise ValueError("must not be blank")
    if len(name) > TAG_NAME_MAX:
        raise ValueError(f"must be at most {TAG_NAME_MAX} characters")
    if _CONTROL.search(name):
        raise ValueError("must not contain control characters")
    return name


def _language_code(value: str) -> str:
    """The BCP 47 tag in its canonical case: `pt_br` -> `pt-BR`, `ZH-hant-tw` -> `zh-Hant-TW`."""
    code = value.strip().replace("_", "-")
    if len(code) > 35 or not _LANGUAGE_CODE.fullmatch(code):
        raise ValueError("must be a BCP 47 language tag, such as en or pt-BR")
    first, *rest = code.split("-")
    parts = [first.lower()]
    for sub in rest:
        if len(sub) == 4 and sub.isalpha():  # script
            parts.append(sub.title())
        elif (len(sub) == 2 and sub.isalpha()) or (len(sub) == 3 and sub.isdigit()):  # region
            parts.append(sub.upper())
        else:
            parts.append(sub.lower())
    return "-".join(parts)


def _language_name(value: str) -> str:
    name = value.strip()
    # control characters are refused wherever they are, at the ends too (where strip() would have
    # dropped a "\r" silently: found by the hostile sweep)
    if not name or len(name) > 100 or _CONTROL.search(value):
        raise ValueError("must not be blank, have no control characters and be at most 100 characters")
    return name


def _text_query(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value.strip()


TagName = Annotated[str, AfterValidator(_tag_name)]
LanguageCode = Annotated[str, AfterValidator(_language_code)]


class _Language(BaseModel):
    code: LanguageCode
    name: Annotated[str, AfterValidator(_language_name)]


class _Code(BaseModel):
    code: LanguageCode


class _TagName(BaseModel):
    name: TagName


class _TagNames(BaseModel):
    names: list[TagName] = Field(max_length=100)


class _CourseId(BaseModel):
    course_id: UUID


class CourseCursor(BaseModel):
    """Where a page of `discover` ended: pass it back as `after` for the next page.

    It is the sort key of the page's last course, so the next page starts right after it however
    many courses tie on rating or publication time; `encode()` makes it a URL-safe string.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    order: DiscoveryOrder
    score: Decimal
    count: StrictInt
    published_at: AwareDatetime
    id: UUID

    def encode(self) -> str:
        return base64.urlsafe_b64encode(self.model_dump_json().encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Self:
        """The cursor `encode()` made; InvalidValue naming `cursor` for anything else."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return cls.model_validate_json(raw)
        except (TypeError, ValueError, binascii.Error, ValidationError) as exc:
            raise InvalidValue("cursor: not a cursor that discover() returned", field="cursor") from exc


class CourseSummary(BaseModel):
    """A published course as discovery lists it."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    title: str
    description: str
    difficulty: str
    language_code: str | None
    published_at: datetime
    #: the mean rating rounded to 2 decimals; None when nobody rated the course
    average_rating: Decimal | None
    rating_count: int
    #: the Bayesian score "rating" order sorts by: (10 * 3 + sum of ratings) / (10 + count), 4 decimals
    rating_score: Decimal
    #: ts_rank of the text query (title weighs more than description); 0 without a text query
    relevance: Decimal
    #: tag names, by name
    tags: list[str]


class CoursePage(BaseModel):
    """One page of discovered courses; `next_cursor` is None on the last page."""

    model_config = ConfigDict(frozen=True)

    items: list[CourseSummary]
    next_cursor: CourseCursor | None


class RatingSummary(BaseModel):
    """A course's ratings: the mean (2 decimals, None when unrated), the count, and stars 1-5."""

    model_config = ConfigDict(frozen=True)

    course_id: UUID
    average_rating: Decimal | None
    rating_count: int
    #: how many ratings gave each number of stars, for every star 1-5
    histogram: dict[int, int]


class _Discovery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, AfterValidator(_text_query)] | None = Field(default=None, max_length=500)
    tags: list[TagName] = Field(default=[], max_length=20)
    match_all_tags: StrictBool = True
    language: LanguageCode | None = None
    difficulty: Difficulty | None = None
    order: DiscoveryOrder = "newest"
    limit: StrictInt = Field(default=20, ge=1, le=100)
    after: CourseCursor | None = None


def _tags(value: Any) -> list[Tag]:
    assert isinstance(value, list)
    return [Tag.model_validate(item) for item in value]


class AsyncCatalogRepository:
    """Languages, tags and course discovery. Every method is one statement, one round trip."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    # -- languages ------------------------------------------------------------------------------

    async def create_language(self, code: str, name: str) -> Language:
        """Add a language. `code` is a BCP 47 tag, stored in its canonical case (`pt-br` -> `pt-BR`).

        A code or a name (ignoring case) that exists already is `AlreadyExists` naming
        `languages_code_key` or `languages_name_key`.
        """
        new = validated(_Language, {"code": code, "name": name}, "language")
        async with self._db.connection() as conn:
            language = await AsyncQuerier(conn).create_language(code=new.code, name=new.name)
        assert language is not None
        return language

    async def get_language(self, code: str) -> Language:
        """The language with this code, in any case; `NotFound` if there is none."""
        language = await self.get_language_or_none(code)
        if language is None:
            raise NotFound(f"no language with code {code!r}", field="code")
        return language

    async def get_language_or_none(self, code: str) -> Language | None:
        canonical = validated(_Code, {"code": code}, "language").code
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).get_language_by_code(code=canonical)

    async def list_languages(self) -> list[Language]:
        """Every language, by name."""
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_languages()

    # -- tags -----------------------------------------------------------------------------------

    async def get_or_create_tag(self, name: str) -> Tag:
        """The tag with this name whatever its case, created if there is none (idempotent).

        The name is trimmed, inner whitespace collapsed to one space, at most 50 characters; an
        existing tag keeps the spelling it was created with.
        """
        clean = validated(_TagName, {"name": name}, "tag").name
        async with self._db.connection() as conn:
            queries = AsyncQuerier(conn)
            row = await queries.get_or_create_tag(name=clean)
            if row is None:
                # Created by a concurrent transaction after our snapshot: a new statement sees it.
                row = await queries.get_or_create_tag(name=clean)
        if row is None:
            raise Conflict(f"tag {clean!r} was created and deleted concurrently; try again", field="name")
        return row

    async def list_tags(self, *, prefix: str | None = None, limit: int = 100) -> list[Tag]:
        """Tags by name; with `prefix`, those whose name starts with it, ignoring case (autocomplete)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidValue("limit must be an integer between 1 and 1000", field="limit")
        if prefix is not None and (not isinstance(prefix, str) or "\x00" in prefix):
            raise InvalidValue("prefix must be a string without NUL characters", field="prefix")
        if prefix is not None:
            # As names are stored: no leading whitespace, runs of it inside as one space.
            prefix = re.sub(r"\s+", " ", prefix.lstrip()) or None
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_tags(prefix=prefix, page_size=limit)

    async def attach_tags(self, course_id: UUID, names: Sequence[str]) -> list[Tag]:
        """File a course under tags given by name, creating tags that do not exist; idempotent.

        Names are matched ignoring case and normalized as `get_or_create_tag` does. One statement
        for any number of names. Returns the course's tags afterwards, by name; `NotFound` naming
        `course_id` (and nothing created) for an unknown course.
        """
        course = validated(_CourseId, {"course_id": course_id}, "course").course_id
        clean = validated(_TagNames, {"names": names}, "tags").names
        async with self._db.connection() as conn:
            queries = AsyncQuerier(conn)
            # A second attempt only when a concurrent transaction created one of the tags after
            # this statement's snapshot: the next statement sees it, and attaching is idempotent.
            for _ in range(3):
                row = await queries.attach_course_tags(course_id=course, names=clean)
                assert row is not None
                if not row.course_found:
                    raise NotFound(f"no course with id {str(course)!r}", field="course_id")
                if row.complete:
                    return _tags(row.tags)
        raise Conflict("the tags kept changing concurrently; try again", field="names")

    async def detach_tags(self, course_id: UUID, names: Sequence[str]) -> list[Tag]:
        """Take tags (by name, ignoring case) off a course; names it does not have are ignored.

        The tags themselves stay. Returns the course's tags afterwards; `NotFound` for an unknown course.
        """
        course = validated(_CourseId, {"course_id": course_id}, "course").course_id
        clean = validated(_TagNames, {"names": names}, "tags").names
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).detach_course_tags(course_id=course, names=clean)
        assert row is not None
        if not row.course_found:
            raise NotFound(f"no course with id {str(course)!r}", field="course_id")
        return _tags(row.tags)

    async def list_course_tags(self, course_id: UUID) -> list[Tag]:
        """A course's tags, by name; `NotFound` naming `course_id` for an unknown course."""
        course = validated(_CourseId, {"course_id": course_id}, "course").course_id
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).list_course_tags(course_id=course)
        assert row is not None
        if not row.course_found:
            raise NotFound(f"no course with id {str(course)!r}", field="course_id")
        return _tags(row.tags)

    # -- discovery ------------------------------------------------------------------------------

    async def discover(
        self,
        *,
        text: str | None = None,
        tags: Sequence[str] = (),
        match_all_tags: bool = True,
        language: str | None = None,
        difficulty: Difficulty | None = None,
        order: DiscoveryOrder = "newest",
        limit: int = 20,
        after: CourseCursor | None = None,
    ) -> CoursePage:
        """One page of published courses matching every filter given, in one query.

        `text` is a web-search style query (`sql -mysql "window functions" or joins`) over title and
        description; `tags` match by name ignoring case, all of them (or any, with
        `match_all_tags=False`); `language` is a language code. `order`: "newest" (published_at,
        id), "rating" (average rating with unrated courses last, then rating count, published_at,
        id) or "relevance" (text match rank, then newest; without `text` it is "newest"), all
        descending. Pass the page's `next_cursor` as `after` to get the next page (keyset
        pagination: no course is skipped or repeated, ties included).
        """
        query = validated(
            _Discovery,
            {
                "text": text,
                "tags": tags,
                "match_all_tags": match_all_tags,
                "language": language,
                "difficulty": difficulty,
                "order": order,
                "limit": limit,
                "after": after,
            },
            "discover",
        )
        if query.after is not None and query.after.order != query.order:
            raise InvalidValue(
                f"after: a cursor of order {query.after.order!r} cannot page order {query.order!r}",
                field="after",
            )
        text_query = query.text or None
        # Relevance without a text query ranks every course 0: it is newest-first, and gets its plan.
        sort_by = "newest" if query.order == "relevance" and text_query is None else query.order
        cursor = query.after
        async with self._db.connection() as conn:
            # Prepared like every statement (psycopg's prepare_threshold): each statement's shape
            # keeps a good generic plan for every mix of filters (sql/queries/catalog.sql,
            # docs/catalog.md), so no call pays for planning it again (half the time of a call on a
            # small catalog). Newest first has its own, which walks courses_published_idx.
            querier = AsyncQuerier(conn)
            if sort_by == "newest":
                rows = await querier.search_published_courses_newest(
                    text_query=text_query,
                    language_code=query.language,
                    difficulty=query.difficulty,
                    tags=query.tags,
                    match_all_tags=query.match_all_tags,
                    after_id=cursor.id if cursor else None,
                    after_published_at=cursor.published_at if cursor else None,
                    page_size=query.limit + 1,  # one more tells whether there is a next page
                    into=CourseSummary,
                )
            else:
                rows = await querier.search_published_courses(
                    text_query=text_query,
                    sort_by=sort_by,
                    language_code=query.language,
                    difficulty=query.difficulty,
                    tags=query.tags,
                    match_all_tags=query.match_all_tags,
                    after_id=cursor.id if cursor else None,
                    after_published_at=cursor.published_at if cursor else None,
                    after_score=cursor.score if cursor else None,
                    after_count=cursor.count if cursor else None,
                    page_size=query.limit + 1,
                    into=CourseSummary,
                )
        items = rows[: query.limit]
        next_cursor = None
        if len(rows) > query.limit:
            next_cursor = _cursor_after(items[-1], query.order, sort_by)
        return CoursePage.model_construct(items=items, next_cursor=next_cursor)

    async def get_rating_summary(self, course_id: UUID) -> RatingSummary:
        """A course's ratings (any status): average, count and 1-5 histogram; `NotFound` if unknown."""
        course = validated(_CourseId, {"course_id": course_id}, "course").course_id
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_course_rating_summary(course_id=course)
        if row is None:
            raise NotFound(f"no course with id {str(course)!r}", field="course_id")
        histogram = [row.one_star, row.two_stars, row.three_stars, row.four_stars, row.five_stars]
        return RatingSummary.model_construct(
            course_id=row.course_id,
            average_rating=row.average_rating,
            rating_count=row.rating_count,
            histogram=dict(enumerate(histogram, start=1)),
        )


def _cursor_after(last: CourseSummary, order: DiscoveryOrder, sort_by: str) -> CourseCursor:
    # The same sort key SearchPublishedCourses orders by.
    score, count = Decimal(0), 0
    if sort_by == "rating":
        score, count = last.rating_score, last.rating_count
    elif sort_by == "relevance":
        score = last.relevance
    return CourseCursor(order=order, score=score, count=count, published_at=last.published_at, id=last.id)
