"""Forum pages: the platform-wide and per-course feeds with totals, search, the feed of a viewer's
interests, view counts and a user's activity summary, each one statement."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from learnstore._validation import check_id, keyset, validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import InvalidValue, NotFound, register_messages
from learnstore.queries.forum_pages import AsyncQuerier
from learnstore.queries.models import (
    GetForumActivitySummaryRow,
    ListCourseForumFeedRow,
    ListForumFeedRow,
    ListInterestFeedRow,
    SearchForumRow,
)
from learnstore.types import ClerkId

__all__ = [
    "AsyncForumPagesRepository",
    "CourseFeedPage",
    "FeedPage",
    "ForumActivitySummary",
    "SearchPage",
]

register_messages(
    {
        "forum_post_view_counts_post_shard_key": "shard: one counter row per post and shard",
        "forum_post_view_counts_post_id_fkey": "post_id: no post with this id",
        "forum_post_view_counts_shard_range": "shard: must be between 0 and 15",
        "forum_post_view_counts_views_non_negative": "views: must not be negative",
        "forum_course_post_counts_course_id_key": "course_id: one post counter per course",
        "forum_course_post_counts_course_id_fkey": "course_id: no course with this id",
        "forum_course_post_counts_visible_posts_non_negative": "visible_posts: must not be negative",
        "forum_course_post_counts_hidden_posts_non_negative": "hidden_posts: must not be negative",
    }
)

PageSize = Annotated[StrictInt, Field(ge=1, le=200)]
#: a search's query: at most this many characters (websearch_to_tsquery parses it)
MAX_QUERY = 500
#: a search ranks at most this many matches, the newest (SearchForum): its cost stops growing with
#: the number of matches; `total` is exact up to it and `total_capped` says there are more
SEARCH_CAP = 1_000
#: a search pages by offset within the ranked matches: beyond them, narrow the query
MAX_OFFSET = SEARCH_CAP

ForumActivitySummary = GetForumActivitySummaryRow
"""A user's forum activity in counts: posts, replies, likes given and likes received."""


class FeedPage(BaseModel):
    """A page of the platform-wide feed and the feed's total; pass `posts[-1]` as `before` for the next."""

    model_config = ConfigDict(frozen=True)

    total: int
    posts: list[ListForumFeedRow]


class CourseFeedPage(BaseModel):
    """A page of a course's feed and the course's total of live posts."""

    model_config = ConfigDict(frozen=True)

    total: int
    posts: list[ListCourseForumFeedRow]


class SearchPage(BaseModel):
    """A page of search hits, best first, and how many hits there are: `total` is exact up to
    `SEARCH_CAP` (1,000); beyond it `total` is the cap and `total_capped` is true."""

    model_config = ConfigDict(frozen=True)

    total: int
    total_capped: bool
    hits: list[SearchForumRow]


class _Page(BaseModel):
    limit: PageSize = 20


class _CoursePage(BaseModel):
    course_id: UUID
    limit: PageSize = 20


class _Search(BaseModel):
    query: Annotated[str, Field(min_length=1, max_length=MAX_QUERY, pattern=r"\S")]
    course_id: UUID | None = None
    limit: PageSize = 20
    offset: Annotated[StrictInt, Field(ge=0, le=MAX_OFFSET)] = 0


class _Viewer(BaseModel):
    clerk_id: ClerkId
    limit: PageSize = 20


class AsyncForumPagesRepository:
    """What a forum page draws, in one statement each: hidden posts and replies only for their
    authors and moderators, erased authors as 'deleted user', tombstones left out."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def feed(self, *, limit: int = 20, before: ListForumFeedRow | None = None) -> FeedPage:
        """The live posts of every published course, newest first, with their course, author, reply,
        like and view counts, and the feed's `total`. Pass the last post of a page as `before`."""
        page = validated(_Page, {"limit": limit}, "page")
        cursor = keyset(before, "created_at")
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).list_forum_feed(**cursor, page_size=page.limit)
        return FeedPage.model_construct(total=_total(rows, before), posts=rows)

    async def course_feed(
        self, course_id: UUID, *, limit: int = 20, before: ListCourseForumFeedRow | None = None
    ) -> CourseFeedPage:
        """A course's live posts, pinned first, then newest first, and the course's `total`.
        An unknown course has an empty page (total 0)."""
        page = validated(_CoursePage, {"course_id": course_id, "limit": limit}, "page")
        cursor = keyset(before, "created_at")
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).list_course_forum_feed(
                course_id=page.course_id,
                before_pinned=getattr(before, "pinned", None) is True if before is not None else None,
                **cursor,
                page_size=page.limit,
            )
        return CourseFeedPage.model_construct(total=_total(rows, before), posts=rows)

    async def search(
        self, query: str, *, course_id: UUID | None = None, limit: int = 20, offset: int = 0
    ) -> SearchPage:
        """Posts and replies matching `query` (web-search syntax: words, "a phrase", or, -word),
        best first, with a highlighted, HTML-escaped `snippet` (matches in <mark></mark>); in one
        course or every published one. A query of no searchable words finds nothing.

        Capped: of more than `SEARCH_CAP` (1,000) matches only the newest 1,000 are ranked, `total`
        is 1,000 and `total_capped` true; `offset` goes up to the cap. Narrow the query (more
        words, a phrase, a course) to reach older matches."""
        search = validated(
            _Search, {"query": query, "course_id": course_id, "limit": limit, "offset": offset}, "search"
        )
        async with self._db.connection() as conn:
            querier = AsyncQuerier(conn)
            if search.course_id is None:
                rows = await querier.search_forum(
                    query=search.query, page_size=search.limit, skip=search.offset
                )
            else:
                in_course = await querier.search_course_forum(
                    query=search.query, course_id=search.course_id, page_size=search.limit, skip=search.offset
                )
                # the same columns as SearchForum's: one row type for both
                rows = [SearchForumRow.model_construct(**dict(row)) for row in in_course]
        # the totals ride on the page's rows: a page past the last has none (total 0), as before
        first = rows[0] if rows else None
        return SearchPage.model_construct(
            total=first.total if first else 0, total_capped=first.total_capped if first else False, hits=rows
        )

    async def interest_feed(
        self, viewer_clerk_id: str, *, limit: int = 20, before: ListInterestFeedRow | None = None
    ) -> list[ListInterestFeedRow]:
        """Live posts of published courses that share a tag with a course the viewer is enrolled in
        or favorited, newest first, with the tags that matched. Under `as_user` the enrolments and
        favorites read are the acting user's own: another viewer's feed is empty."""
        viewer = validated(_Viewer, {"clerk_id": viewer_clerk_id, "limit": limit}, "page")
        cursor = keyset(before, "created_at")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_interest_feed(
                viewer_clerk_id=viewer.clerk_id, **cursor, page_size=viewer.limit
            )

    async def record_view(self, post_id: UUID) -> int:
        """Count one view of a post and return its views: exact under any number of concurrent
        viewers, without a hot row (16 counter shards). `NotFound` for no post (or a hidden one the
        acting user may not see)."""
        key = check_id(post_id, "post_id")
        async with self._db.connection() as conn:
            views = await AsyncQuerier(conn).record_post_view(post_id=key)
        if views is None:
            raise NotFound(f"no post with id {key}", field="post_id")
        return views

    async def views(self, post_id: UUID) -> int:
        """A post's views (0 for a post never viewed, or none)."""
        key = check_id(post_id, "post_id")
        async with self._db.connection() as conn:
            views = await AsyncQuerier(conn).get_post_views(post_id=key)
        return views or 0

    async def activity_summary(self, clerk_id: str) -> ForumActivitySummary:
        """A user's live posts and replies, the likes they gave and the likes they received.
        `NotFound` for an unknown (or erased) user."""
        key = validated(ClerkId, clerk_id, "clerk_id")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_forum_activity_summary(clerk_id=key)
        if row is None:
            raise NotFound(f"no user with clerk_id {key!r}", field="clerk_id")
        return row


def _total(rows: list[ListForumFeedRow] | list[ListCourseForumFeedRow], before: object) -> int:
    """The feed's total: on every row of a page; for an empty next page, the previous page's."""
    if rows:
        return rows[0].total
    if before is None:
        return 0
    total = getattr(before, "total", None)
    if not isinstance(total, int):  # pragma: no cover - keyset() refused anything else already
        raise InvalidValue("before: must be the last row of a page", field="before")
    return total
