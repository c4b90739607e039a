"""Pages: the reads a client draws a page from (cards, course page, user search), one statement each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Annotated, Any, Final, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, TypeAdapter

from learnstore._validation import validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import InvalidValue, NotFound, PermissionDenied
from learnstore.queries._runtime import async_queries
from learnstore.queries.models import ListLearnerLessonStatusesRow
from learnstore.queries.pages import AsyncQuerier
from learnstore.types import ClerkId

__all__ = [
    "AsyncPagesRepository",
    "CourseCard",
    "CoursePageView",
    "DashboardCard",
    "FavoriteCard",
    "FavoriteCardsPage",
    "LessonStatus",
    "LessonStatusPage",
    "OwnedEdit",
    "OwnedGoal",
    "OwnedInvitation",
    "OwnedLike",
    "OwnedReview",
    "PageCollaborator",
    "PageLesson",
    "PageReview",
    "PageUnit",
    "RosterCursor",
    "RosterEntry",
    "RosterOrder",
    "RosterPage",
    "TrendingCard",
    "UserBelongings",
    "UserMatch",
]

#: the most cards, reviews or users one call returns
MAX_PAGE: Final = 100
#: the highest code point: a prefix ending in it has no "next string" (see _prefix_range)
_LAST_CHAR: Final = 0x10FFFF


class CourseCard(BaseModel):
    """A course as every list of courses shows it; the viewer_* fields are None (False) without a viewer."""

    model_config = ConfigDict(frozen=True)

    course_id: UUID
    title: str
    description: str
    difficulty: str
    status: str
    published_at: datetime | None
    cover_image_url: str | None
    #: the duration the author estimated; lessons_duration_seconds is the sum of the lessons' own
    estimated_duration_minutes: int | None
    language_code: str | None
    author_clerk_id: str | None
    #: "first last", the clerk id when the author has no name, "deleted user" once erased
    author_name: str
    author_avatar_url: str | None
    lesson_count: int
    lessons_duration_seconds: int
    enrolment_count: int
    #: the mean rating, 2 decimals; None when nobody rated the course
    rating_mean: Decimal | None
    rating_count: int
    #: tag names, by name
    tags: list[str]
    viewer_enrolled_at: datetime | None
    viewer_progress: int | None
    viewer_favorited: bool


class FavoriteCard(CourseCard):
    """A card of the learner's favorites, with when they bookmarked it."""

    favorited_at: datetime


class DashboardCard(CourseCard):
    """A card of the learner's dashboard, with when they completed the course (None: not yet)."""

    completed_at: datetime | None


class TrendingCard(CourseCard):
    """A trending course's card, with its forum activity in the window."""

    activity: int


class FavoriteCardsPage(BaseModel):
    """One page of favorites, newest first; pass `next_after` back as `after` (None: the last page)."""

    model_config = ConfigDict(frozen=True)

    items: list[FavoriteCard]
    next_after: tuple[datetime, UUID] | None


class PageCollaborator(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: str
    name: str
    avatar_url: str | None
    role: str


class PageLesson(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    title: str
    content_type: str
    duration_seconds: int | None
    position: int
    #: the viewer's status in the lesson; None without a viewer or before they start it
    viewer_status: str | None


class PageUnit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    title: str
    position: int
    lessons: list[PageLesson]


class PageReview(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    rating: int
    comment: str | None
    created_at: datetime
    reviewer_clerk_id: str | None
    #: "deleted user" once the reviewer is erased
    reviewer_name: str
    reviewer_avatar_url: str | None
    upvotes: int


class CoursePageView(BaseModel):
    """Everything a course page draws: the card, the content outline, ratings, reviews, the viewer's state."""

    model_config = ConfigDict(frozen=True)

    card: CourseCard
    learning_objectives: list[str]
    open_to_collaboration: bool
    #: how many ratings gave each number of stars, 1-5
    histogram: dict[int, int]
    collaborators: list[PageCollaborator]
    units: list[PageUnit]
    #: the most upvoted reviews, then the newest
    top_reviews: list[PageReview]
    viewer_completed_at: datetime | None
    #: "author", the viewer's collaborator role ("editor", "reviewer"), or None
    viewer_role: str | None
    #: the first lesson, in course order, an enrolled viewer has not completed (None: none left)
    next_lesson_id: UUID | None
    next_lesson_title: str | None


class UserMatch(BaseModel):
    """A user found by search. The email is never returned: `matched_email` only says it matched."""

    model_config = ConfigDict(frozen=True)

    clerk_id: str
    name: str
    avatar_url: str | None
    matched_email: bool


#: a learner's status in one lesson, with the lesson and course it belongs to (the generated row,
#: returned as it is: re-labelling 50 rows cost a third of the call, bench/pages_ops.py)
LessonStatus = ListLearnerLessonStatusesRow


class LessonStatusPage(BaseModel):
    """A page of lesson statuses, latest change first; pass `next_after` back as `after` (None: last)."""

    model_config = ConfigDict(frozen=True)

    items: list[LessonStatus]
    next_after: tuple[datetime, UUID] | None


class OwnedLike(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    #: "post" or "reply"
    kind: str
    post_id: UUID
    reply_id: UUID | None
    course_id: UUID
    course_title: str
    #: the post's title, or the reply's first 200 characters
    text: str
    liked_at: datetime


class OwnedReview(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    course_id: UUID
    course_title: str
    rating: int
    comment: str | None
    created_at: datetime
    upvotes: int


class OwnedEdit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    course_id: UUID
    course_title: str
    lesson_id: UUID | None
    summary: str
    #: "pending", "approved" or "rejected"
    status: str
    created_at: datetime
    reviewed_at: datetime | None
    review_note: str | None


class OwnedGoal(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    title: str
    description: str | None
    target_date: date | None
    progress: int
    completed_at: datetime | None
    created_at: datetime


class OwnedInvitation(BaseModel):
    model_config = ConfigDict(frozen=True)

    course_id: UUID
    course_title: str
    #: "editor" or "reviewer"
    role: str
    #: "pending", "accepted" (the user co-edits the course) or "declined"
    status: str
    invited_at: datetime
    author_clerk_id: str | None
    author_name: str


class UserBelongings(BaseModel):
    """What a user owns, each section the latest `per_section` of its kind, newest first."""

    model_config = ConfigDict(frozen=True)

    clerk_id: str
    likes: list[OwnedLike]
    reviews: list[OwnedReview]
    #: in any status
    suggested_edits: list[OwnedEdit]
    #: open goals first, then completed ones
    goals: list[OwnedGoal]
    #: collaboration invitations in any status
    invitations: list[OwnedInvitation]

    @property
    def co_edited(self) -> list[OwnedInvitation]:
        """The courses the user co-edits: their accepted invitations."""
        return [seat for seat in self.invitations if seat.status == "accepted"]


#: the roster's orders: highest progress first, latest activity first, or by name A-Z
RosterOrder = Literal["progress", "last_activity", "name"]


class RosterEntry(BaseModel):
    """A learner on a course's roster."""

    model_config = ConfigDict(frozen=True)

    clerk_id: str
    name: str
    avatar_url: str | None
    progress: int
    enrolled_at: datetime
    completed_at: datetime | None
    #: the last change of the enrolment: progress, completion, or the enrolment itself
    last_activity_at: datetime
    #: the course's quizzes answered right at least once / answered at all / in the course
    quizzes_passed: int
    quizzes_attempted: int
    quiz_count: int
    #: the lowercased name the "name" order sorts by
    name_key: str


class RosterCursor(BaseModel):
    """Where a roster page ended: pass it back as `after` (it is the last entry's sort key)."""

    model_config = ConfigDict(frozen=True)

    order: RosterOrder
    progress: int
    last_activity_at: datetime
    name_key: str
    clerk_id: str


class RosterPage(BaseModel):
    """One page of a roster; `total` is every learner of the course; `next_after` None on the last page."""

    model_config = ConfigDict(frozen=True)

    total: int
    items: list[RosterEntry]
    next_after: RosterCursor | None


_Limit = Annotated[StrictInt, Field(ge=1, le=MAX_PAGE)]


class _Viewer(BaseModel):
    model_config = ConfigDict(frozen=True)

    viewer: ClerkId | None = None


class _Ids(_Viewer):
    course_ids: Annotated[list[UUID], Field(max_length=MAX_PAGE)]


class _Author(_Viewer):
    author_clerk_id: ClerkId
    limit: _Limit


class _Learner(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId
    limit: _Limit


class _Trending(_Viewer):
    since: AwareDatetime
    limit: _Limit


class _Course(_Viewer):
    course_id: UUID
    top_reviews: Annotated[StrictInt, Field(ge=0, le=MAX_PAGE)]


class _Belongings(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId
    per_section: _Limit


def _after(after: object) -> tuple[datetime, UUID] | None:
    """A keyset position given back by the caller: the `next_after` of the previous page."""
    if after is not None and (
        not isinstance(after, tuple)
        or len(after) != 2
        or not isinstance(after[0], datetime)
        or not isinstance(after[1], UUID)
    ):
        raise InvalidValue("after: must be the next_after of the previous page", field="after")
    return after


class _Roster(BaseModel):
    model_config = ConfigDict(frozen=True)

    course_id: UUID
    viewer: ClerkId
    order: RosterOrder
    limit: _Limit
    after: RosterCursor | None


class _Export(BaseModel):
    model_config = ConfigDict(frozen=True)

    course_id: UUID
    viewer: ClerkId


class _Search(BaseModel):
    model_config = ConfigDict(frozen=True)

    prefix: Annotated[str, Field(min_length=1, max_length=200)]
    limit: _Limit


_COLLABORATORS = TypeAdapter(list[PageCollaborator])
_UNITS = TypeAdapter(list[PageUnit])
_LIKES = TypeAdapter(list[OwnedLike])
_OWNED_REVIEWS = TypeAdapter(list[OwnedReview])
_EDITS = TypeAdapter(list[OwnedEdit])
_GOALS = TypeAdapter(list[OwnedGoal])
_INVITATIONS = TypeAdapter(list[OwnedInvitation])
_ROSTER = TypeAdapter(list[RosterEntry])
# export_roster's CSV columns, in ExportCourseRoster's order
_ROSTER_CSV_HEADER: Final = "clerk_id,name,progress,enrolled_at,completed_at,last_activity_at"
_REVIEWS = TypeAdapter(list[PageReview])


def _prefix_range(prefix: str) -> tuple[str, str | None]:
    """(lowest, first string past) every string that starts with `prefix`, in code point order."""
    last = ord(prefix[-1])
    if last == _LAST_CHAR:
        return prefix, None
    return prefix, prefix[:-1] + chr(last + 1)


class AsyncPagesRepository:
    """The reads a client draws a page from. Every method is one statement, one round trip."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    # -- course cards ---------------------------------------------------------------------------

    async def cards(self, course_ids: Sequence[UUID], *, viewer: str | None = None) -> list[CourseCard]:
        """The cards of these courses (at most 100), in the order given: for a ranking the caller has.

        Unknown courses are left out, and so are drafts and archived courses not the viewer's own.
        """
        if isinstance(course_ids, str | bytes) or not isinstance(course_ids, Sequence):
            raise InvalidValue("course_ids: must be a list of course ids", field="course_ids")
        query = validated(_Ids, {"course_ids": list(course_ids), "viewer": viewer}, "cards")
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).list_course_cards_by_ids(
                course_ids=query.course_ids, viewer=query.viewer, into=CourseCard
            )
        return rows

    async def author_cards(
        self, author_clerk_id: str, *, viewer: str | None = None, limit: int = 20
    ) -> list[CourseCard]:
        """An author's courses as cards, newest first: published ones; all when the viewer is the author."""
        query = validated(
            _Author, {"author_clerk_id": author_clerk_id, "viewer": viewer, "limit": limit}, "author_cards"
        )
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).list_author_course_cards(
                author_clerk_id=query.author_clerk_id,
                viewer=query.viewer,
                page_size=query.limit,
                into=CourseCard,
            )
        return rows

    async def favorite_cards(
        self, clerk_id: str, *, limit: int = 20, after: tuple[datetime, UUID] | None = None
    ) -> FavoriteCardsPage:
        """The learner's favorites as cards, newest bookmark first, one keyset page (they are the viewer)."""
        query = validated(_Learner, {"clerk_id": clerk_id, "limit": limit}, "favorite_cards")
        after = _after(after)
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).list_favorite_course_cards(
                user_clerk_id=query.clerk_id,
                before_created_at=after[0] if after else None,
                before_id=after[1] if after else None,
                page_size=query.limit + 1,  # one more tells whether there is a next page
                into=FavoriteCard,
            )
        items = rows[: query.limit]
        last = items[-1] if len(rows) > query.limit else None
        next_after = (last.favorited_at, last.course_id) if last else None
        return FavoriteCardsPage(items=items, next_after=next_after)

    async def dashboard_cards(self, clerk_id: str, *, limit: int = 50) -> list[DashboardCard]:
        """The learner's enrolled courses as cards with their progress, most recently enrolled first."""
        query = validated(_Learner, {"clerk_id": clerk_id, "limit": limit}, "dashboard_cards")
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).list_enrolled_course_cards(
                user_clerk_id=query.clerk_id, page_size=query.limit, into=DashboardCard
            )
        return rows

    async def trending_cards(
        self, *, since: datetime, viewer: str | None = None, limit: int = 10
    ) -> list[TrendingCard]:
        """Published courses by forum activity since `since` (posts, replies, likes), as cards."""
        query = validated(_Trending, {"since": since, "viewer": viewer, "limit": limit}, "trending_cards")
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).list_trending_course_cards(
                since=query.since, viewer=query.viewer, page_size=query.limit, into=TrendingCard
            )
        return rows

    # -- the course page ------------------------------------------------------------------------

    async def course_page(
        self, course_id: UUID, *, viewer: str | None = None, top_reviews: int = 5
    ) -> CoursePageView:
        """The course page in one round trip; `NotFound` (course_id) for an unknown course, or one
        that is not published and that the viewer neither authors nor co-edits."""
        query = validated(
            _Course, {"course_id": course_id, "viewer": viewer, "top_reviews": top_reviews}, "course_page"
        )
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_course_page(
                course_id=query.course_id, viewer=query.viewer, top_reviews=query.top_reviews
            )
        if row is None:
            raise NotFound(f"no course with id {query.course_id} to show", field="course_id")
        values: dict[str, Any] = vars(row)
        card = CourseCard.model_construct(**{name: values[name] for name in CourseCard.model_fields})
        return CoursePageView.model_construct(
            card=card,
            learning_objectives=row.learning_objectives,
            open_to_collaboration=row.open_to_collaboration,
            histogram=dict(enumerate(row.histogram, start=1)),
            collaborators=_COLLABORATORS.validate_json(row.collaborators),
            units=_UNITS.validate_json(row.units),
            top_reviews=_REVIEWS.validate_json(row.top_reviews),
            viewer_completed_at=row.viewer_completed_at,
            viewer_role=row.viewer_role,
            next_lesson_id=row.next_lesson_id,
            next_lesson_title=row.next_lesson_title,
        )

    # -- the learner's profile and belongings -----------------------------------------------------

    async def lesson_statuses(
        self, clerk_id: str, *, limit: int = 50, after: tuple[datetime, UUID] | None = None
    ) -> LessonStatusPage:
        """The learner's lesson statuses across all courses, latest change first, one keyset page.

        The rest of the profile (courses, lessons, quizzes, languages, points, streaks,
        achievements) is `store.achievements.get_profile`, one round trip too.
        """
        query = validated(_Learner, {"clerk_id": clerk_id, "limit": limit}, "lesson_statuses")
        after = _after(after)
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).list_learner_lesson_statuses(
                user_clerk_id=query.clerk_id,
                before_updated_at=after[0] if after else None,
                before_id=after[1] if after else None,
                page_size=query.limit + 1,
            )
        items = rows[: query.limit]
        last = items[-1] if len(rows) > query.limit else None
        return LessonStatusPage(items=items, next_after=(last.updated_at, last.id) if last else None)

    async def belongings(self, clerk_id: str, *, per_section: int = 20) -> UserBelongings:
        """What the user owns, in one round trip: likes, reviews, suggested edits, goals, invitations
        and co-edited courses; `NotFound` (clerk_id) for an unknown user."""
        query = validated(_Belongings, {"clerk_id": clerk_id, "per_section": per_section}, "belongings")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_user_belongings(
                clerk_id=query.clerk_id, per_section=query.per_section
            )
        if row is None:
            raise NotFound(f"no user with clerk_id {query.clerk_id!r}", field="clerk_id")
        return UserBelongings.model_construct(
            clerk_id=row.clerk_id,
            likes=_LIKES.validate_json(row.likes),
            reviews=_OWNED_REVIEWS.validate_json(row.reviews),
            suggested_edits=_EDITS.validate_json(row.suggested_edits),
            goals=_GOALS.validate_json(row.goals),
            invitations=_INVITATIONS.validate_json(row.invitations),
        )

    # -- an instructor's roster -----------------------------------------------------------------

    async def roster(
        self,
        course_id: UUID,
        *,
        viewer: str,
        order: RosterOrder = "progress",
        limit: int = 50,
        after: RosterCursor | None = None,
    ) -> RosterPage:
        """One keyset page of a course's learners with their progress, last activity and quiz
        results, for the course's author or an accepted collaborator (`viewer`), checked by the
        statement itself; `PermissionDenied` (course_id) for anyone else or an unknown course."""
        query = validated(
            _Roster,
            {"course_id": course_id, "viewer": viewer, "order": order, "limit": limit, "after": after},
            "roster",
        )
        if query.after is not None and query.after.order != query.order:
            raise InvalidValue(f"after: a cursor of order {query.after.order!r}", field="after")
        cursor = query.after
        async with self._db.connection() as conn:
            if query.order == "name":  # a statement of its own: each keeps one generic plan (pages.sql)
                row = await AsyncQuerier(conn).get_course_roster_by_name(
                    course_id=query.course_id,
                    viewer=query.viewer,
                    after_name=cursor.name_key if cursor else None,
                    after_clerk_id=cursor.clerk_id if cursor else None,
                    page_size=query.limit + 1,
                )
            else:
                row = await AsyncQuerier(conn).get_course_roster(
                    course_id=query.course_id,
                    viewer=query.viewer,
                    sort_by=query.order,
                    after_progress=cursor.progress if cursor else None,
                    after_at=cursor.last_activity_at if cursor else None,
                    after_clerk_id=cursor.clerk_id if cursor else None,
                    page_size=query.limit + 1,
                )
        assert row is not None
        if not row.allowed:
            raise PermissionDenied(
                f"{query.viewer!r} neither authors nor co-edits course {query.course_id}", field="course_id"
            )
        entries = _ROSTER.validate_json(row.entries)
        items = entries[: query.limit]
        last = items[-1] if len(entries) > query.limit else None
        next_after = None
        if last is not None:
            next_after = RosterCursor(
                order=query.order,
                progress=last.progress,
                last_activity_at=last.last_activity_at,
                name_key=last.name_key,
                clerk_id=last.clerk_id,
            )
        return RosterPage.model_construct(total=row.total, items=items, next_after=next_after)

    async def export_roster(self, course_id: UUID, out: IO[str], *, viewer: str) -> int:
        """Write a course's whole roster to `out` as CSV with a header, by name, streamed through
        COPY in constant memory; returns the learners written. Only for the course's author or an
        accepted collaborator (`viewer`): the statement itself checks, and `PermissionDenied`
        (course_id) is raised for anyone else or an unknown course, with only the header written."""
        query = validated(_Export, {"course_id": course_id, "viewer": viewer}, "export_roster")
        if not callable(getattr(out, "write", None)):
            raise InvalidValue("out: must be a text file object, with a write method", field="out")
        # ExportCourseRoster of sql/queries/pages.sql, as loaded (its parameters in psycopg's
        # %(name)s form): COPY takes no server-side parameters, psycopg binds them client-side.
        statement = f"COPY ({async_queries().export_course_roster.sql.rstrip().rstrip(';')})"
        statement += " TO STDOUT WITH (FORMAT csv)"
        out.write(_ROSTER_CSV_HEADER + "\n")
        async with self._db.connection() as conn:
            async with conn.cursor() as cur:
                params = {"course_id": query.course_id, "viewer": query.viewer}
                async with cur.copy(statement, params) as copy:
                    async for chunk in copy:
                        out.write(bytes(chunk).decode())
                written = max(cur.rowcount, 0)  # COPY's command tag: the rows it sent
            if written == 0:  # an empty course, or a refusal: the one case that takes a second statement
                allowed = await AsyncQuerier(conn).get_course_roster(
                    course_id=query.course_id,
                    viewer=query.viewer,
                    sort_by="progress",
                    after_progress=None,
                    after_at=None,
                    after_clerk_id=None,
                    page_size=1,
                )
                if allowed is None or not allowed.allowed:
                    raise PermissionDenied(
                        f"{query.viewer!r} neither authors nor co-edits course {query.course_id}",
                        field="course_id",
                    )
        return written

    # -- user search ----------------------------------------------------------------------------

    async def search_users(self, prefix: str, *, limit: int = 10) -> list[UserMatch]:
        """Users whose full name, last name or email starts with `prefix` (ignoring case), by name.

        For invites and @mentions: index-served over millions of users; an email is matched but
        never returned. Leading and trailing whitespace is ignored; a blank prefix is InvalidValue.
        """
        if not isinstance(prefix, str) or "\x00" in prefix:
            raise InvalidValue("prefix: must be a string without NUL characters", field="prefix")
        query = validated(_Search, {"prefix": " ".join(prefix.lower().split()), "limit": limit}, "search")
        lower, upper = _prefix_range(query.prefix)
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).search_users(
                lower_bound=lower,
                upper_bound=upper if upper is not None else lower + chr(_LAST_CHAR),
                page_size=query.limit,
                into=UserMatch,
            )
        return rows
