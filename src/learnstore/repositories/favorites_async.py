"""Favorites and recommendations: bookmarked courses, and the courses to suggest to a learner next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from learnstore._validation import validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, register_messages
from learnstore.queries.favorites import AsyncQuerier
from learnstore.queries.models import Favorite, ListFavoritesRow, ListRecommendedCoursesRow
from learnstore.types import ClerkId

__all__ = ["AsyncFavoritesRepository", "FavoritesPage"]

register_messages({"favorites_user_clerk_id_fkey": "clerk_id: no user with this clerk_id"})

#: co-enrolment reads at most this many learners per course the learner shares with them.
PEER_SAMPLE: Final = 100
#: popularity counts the enrolments among this many latest ones.
POPULAR_WINDOW: Final = 2_000


class _Key(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId
    course_id: UUID


class _Page(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId
    limit: Annotated[StrictInt, Field(ge=1, le=500)]


class _Recommendations(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId | None
    limit: Annotated[StrictInt, Field(ge=1, le=100)]


class _Ids(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId
    course_ids: Annotated[list[UUID], Field(max_length=1000)]


class FavoritesPage(BaseModel):
    """One page of favorites, newest first; pass `next_after` back for the next page (None: the last)."""

    model_config = ConfigDict(frozen=True)

    items: list[ListFavoritesRow]
    next_after: tuple[datetime, UUID] | None


class AsyncFavoritesRepository:
    """Bookmarks and recommendations. Every method is one statement."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def add(self, clerk_id: str, course_id: UUID) -> Favorite:
        """Bookmark a published course; idempotent: bookmarking again returns the same favorite.

        `NotFound` (course_id) for an unknown course, `Conflict` (course_id) for one that is not
        published, `InvalidReference` for an unknown user.
        """
        key = validated(_Key, {"clerk_id": clerk_id, "course_id": course_id}, "favorite")
        # A second try only when a concurrent add of the same bookmark committed between this
        # statement's snapshot and its insert (ON CONFLICT saw the row, the SELECT could not).
        for _ in range(2):
            async with self._db.connection() as conn:
                favorite = await AsyncQuerier(conn).add_favorite(
                    user_clerk_id=key.clerk_id, course_id=key.course_id
                )
                if favorite is not None:
                    return favorite
                status = await AsyncQuerier(conn).get_course_status(id=key.course_id)
            if status is None:
                raise NotFound(f"no course with id {key.course_id}", field="course_id")
            if status != "published":
                raise Conflict(
                    f"course {key.course_id} is {status}: only published courses", field="course_id"
                )
        raise Conflict(
            f"the favorite of course {key.course_id} changed concurrently; try again", field="course_id"
        )

    async def remove(self, clerk_id: str, course_id: UUID) -> bool:
        """Remove a bookmark; False if there was none."""
        key = validated(_Key, {"clerk_id": clerk_id, "course_id": course_id}, "favorite")
        async with self._db.connection() as conn:
            return (
                await AsyncQuerier(conn).remove_favorite(user_clerk_id=key.clerk_id, course_id=key.course_id)
                > 0
            )

    async def list_page(
        self, clerk_id: str, *, limit: int = 20, after: tuple[datetime, UUID] | None = None
    ) -> FavoritesPage:
        """The learner's favorites with their courses, newest first, one keyset page."""
        page = validated(_Page, {"clerk_id": clerk_id, "limit": limit}, "favorites")
        if after is not None and (
            not isinstance(after, tuple)
            or len(after) != 2
            or not isinstance(after[0], datetime)
            or not isinstance(after[1], UUID)
        ):
            raise InvalidValue("after: must be the next_after of the previous page", field="after")
        async with self._db.connection() as conn:
            items = await AsyncQuerier(conn).list_favorites(
                user_clerk_id=page.clerk_id,
                before_created_at=after[0] if after else None,
                before_id=after[1] if after else None,
                page_size=page.limit + 1,
            )
        more = len(items) > page.limit
        items = items[: page.limit]
        last = items[-1] if more else None
        return FavoritesPage(items=items, next_after=(last.favorited_at, last.id) if last else None)

    async def favorite_ids(self, clerk_id: str, course_ids: Sequence[UUID]) -> set[UUID]:
        """Which of `course_ids` (a page of courses, at most 1000) the learner bookmarked."""
        if isinstance(course_ids, str | bytes) or not isinstance(course_ids, Sequence | set | frozenset):
            raise InvalidValue("course_ids: must be a list of course ids", field="course_ids")
        ids = validated(_Ids, {"clerk_id": clerk_id, "course_ids": list(course_ids)}, "favorites")
        if not ids.course_ids:
            return set()
        async with self._db.connection() as conn:
            found = await AsyncQuerier(conn).list_favorite_course_ids(
                user_clerk_id=ids.clerk_id, course_ids=ids.course_ids
            )
        return set(found)

    async def recommend(self, clerk_id: str | None, *, limit: int = 10) -> list[ListRecommendedCoursesRow]:
        """Published courses for a learner to take next, as course cards, best first: one statement.

        The score blends five signals, each scaled to 0..1 among the candidates: tag overlap with
        the courses they enrolled in or favorited (0.35), how many learners who share a course with
        them took it (0.30), recent popularity (0.15), the Bayesian rating (0.12: five phantom 3.5
        ratings) and recency (0.08). Courses they are enrolled in or favorited are left out. With
        `clerk_id` None (an anonymous visitor), or for a new learner, the popular, well rated, recent
        courses come first.
        """
        page = validated(_Recommendations, {"clerk_id": clerk_id, "limit": limit}, "recommendations")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_recommended_courses(
                user_clerk_id=page.clerk_id,
                peer_sample=PEER_SAMPLE,
                popular_window=POPULAR_WINDOW,
                page_size=page.limit,
            )
