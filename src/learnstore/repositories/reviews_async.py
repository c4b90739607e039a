"""Reviews: a learner rates a course (1-5 stars, a comment), others upvote reviews, and the course's
author answers a review once, then edits or deletes the answer."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from learnstore._validation import check_id, keyset, validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, PermissionDenied, register_messages
from learnstore.queries.models import CourseFeedback, ListCourseFeedbackRow, ReviewReply
from learnstore.queries.reviews import AsyncQuerier
from learnstore.types import ClerkId

__all__ = ["AsyncReviewsRepository", "RatingStats", "UpvoteResult"]

PageSize = Annotated[StrictInt, Field(ge=1, le=200)]

register_messages(
    {
        "review_replies_author_clerk_id_fkey": "author_clerk_id: no user with this clerk_id",
        "review_replies_feedback_id_fkey": "feedback_id: no review with this id",
        "feedback_upvotes_user_clerk_id_fkey": "clerk_id: no user with this clerk_id",
        "course_feedback_rating_range": "rating must be from 1 to 5",
        "review_replies_body_not_blank": "body: must not be blank, at most 5,000 characters",
    }
)


class UpvoteResult(BaseModel):
    """What an upvote or its removal did."""

    model_config = ConfigDict(frozen=True)

    changed: bool
    upvote_count: int


class RatingStats(BaseModel):
    """A course's ratings: count, mean (None when unrated), stars 1-5, and the Bayesian score."""

    model_config = ConfigDict(frozen=True)

    course_id: UUID
    rating_count: int
    average_rating: Any
    """The mean, a Decimal rounded to 2 places; None when unrated."""
    histogram: dict[int, int]
    score: Any
    """course_rating_score: (10 * 3 + sum) / (10 + count), a Decimal; what "best rated" sorts by."""


class _Page(BaseModel):
    course_id: UUID
    limit: PageSize = 20
    before_created_at: AwareDatetime | None = None
    before_id: UUID | None = None


class _Feedback(BaseModel):
    course_id: UUID
    clerk_id: ClerkId
    rating: Annotated[StrictInt, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=5000)] | None = None


class _Target(BaseModel):
    id: UUID
    clerk_id: ClerkId


class _Answer(BaseModel):
    feedback_id: UUID
    author_clerk_id: ClerkId
    body: Annotated[str, Field(min_length=1, max_length=5000, pattern=r"\S")]


class _Key(BaseModel):
    feedback_id: UUID
    author_clerk_id: ClerkId


class AsyncReviewsRepository:
    """The author's answers to reviews, one statement each. Who may answer (the reviewed course's
    author) is the rule of the trigger review_replies_enforce_author, on every path; the reviewer is
    notified of the first answer by the trigger review_replies_notify. `list_reviews`
    carries each review's answer."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    # -- reviews --------------------------------------------------------------------------------

    async def review_course(
        self, course_id: UUID, clerk_id: str, rating: int, *, comment: str | None = None
    ) -> CourseFeedback:
        """A learner's review (1-5 stars, optional comment); reviewing again replaces it. Only a
        learner enrolled in the course may review: `Conflict` (field course_id) otherwise."""
        feedback = validated(
            _Feedback,
            {"course_id": course_id, "clerk_id": clerk_id, "rating": rating, "comment": comment},
            "feedback",
        )
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).upsert_feedback(
                rating=feedback.rating,
                comment=feedback.comment,
                course_id=feedback.course_id,
                user_clerk_id=feedback.clerk_id,
            )
        if row is None:
            raise Conflict(
                f"user {feedback.clerk_id!r} is not enrolled in course {feedback.course_id}: "
                "only enrolled learners may review it",
                field="course_id",
            )
        return row

    async def delete_review(self, course_id: UUID, clerk_id: str) -> bool:
        """Delete the learner's review; False if there was none."""
        key = validated(_Target, {"id": course_id, "clerk_id": clerk_id}, "feedback")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).delete_feedback(course_id=key.id, user_clerk_id=key.clerk_id) > 0

    async def upvote_review(self, feedback_id: UUID, clerk_id: str) -> UpvoteResult:
        """Upvote a review; idempotent. `InvalidValue` (field clerk_id) for one's own review,
        `NotFound` for an unknown one."""
        key = validated(_Target, {"id": feedback_id, "clerk_id": clerk_id}, "upvote")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).upvote_feedback(feedback_id=key.id, user_clerk_id=key.clerk_id)
        assert row is not None
        if not row.found:
            raise NotFound(f"no review with id {key.id}", field="feedback_id")
        if row.own:
            raise InvalidValue("clerk_id: a learner cannot upvote their own review", field="clerk_id")
        return UpvoteResult.model_construct(changed=row.changed, upvote_count=row.upvote_count)

    async def remove_upvote(self, feedback_id: UUID, clerk_id: str) -> UpvoteResult:
        """Take an upvote back; `changed` False when there was none."""
        key = validated(_Target, {"id": feedback_id, "clerk_id": clerk_id}, "upvote")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).remove_feedback_upvote(
                feedback_id=key.id, user_clerk_id=key.clerk_id
            )
        assert row is not None
        if not row.found:
            raise NotFound(f"no review with id {key.id}", field="feedback_id")
        return UpvoteResult.model_construct(changed=row.changed, upvote_count=row.upvote_count)

    async def get_rating_stats(self, course_id: UUID) -> RatingStats:
        """Count, mean, 1-5 histogram and Bayesian score of a course's ratings, in one query."""
        key = check_id(course_id, "course_id")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_course_rating_stats(course_id=key)
        if row is None:
            raise NotFound(f"no course with id {key}", field="course_id")
        stars = [row.one_star, row.two_stars, row.three_stars, row.four_stars, row.five_stars]
        return RatingStats.model_construct(
            course_id=row.course_id,
            rating_count=row.rating_count,
            average_rating=row.average_rating,
            histogram=dict(enumerate(stars, start=1)),
            score=row.score,
        )

    async def list_reviews(
        self, course_id: UUID, *, limit: int = 20, before: ListCourseFeedbackRow | None = None
    ) -> list[ListCourseFeedbackRow]:
        """A course's reviews, most recently written first, with upvotes; `before` pages on."""
        page = validated(
            _Page,
            {
                "course_id": course_id,
                "limit": limit,
                **keyset(before, "updated_at"),
            },
            "page",
        )
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_course_feedback(
                course_id=page.course_id,
                before_updated_at=page.before_created_at,
                before_id=page.before_id,
                page_size=page.limit,
            )

    # -- answers --------------------------------------------------------------------------------

    async def answer(self, feedback_id: UUID, author_clerk_id: str, body: str) -> ReviewReply:
        """The course's author answers a review (at most 5,000 characters); the reviewer is notified.

        `PermissionDenied` (field author_clerk_id) for anyone but the course's author; `Conflict`
        (field feedback_id) when the review already has an answer (edit it instead);
        `InvalidReference` for an unknown review.
        """
        answer = validated(
            _Answer, {"feedback_id": feedback_id, "author_clerk_id": author_clerk_id, "body": body}, "answer"
        )
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).answer_review(
                feedback_id=answer.feedback_id, author_clerk_id=answer.author_clerk_id, body=answer.body
            )
        if row is None:
            raise Conflict(
                f"review {answer.feedback_id} already has an answer: edit it instead", field="feedback_id"
            )
        return row

    async def get_answer(self, feedback_id: UUID) -> ReviewReply | None:
        """The answer to a review, or None when it has none."""
        key = validated(UUID, feedback_id, "feedback_id")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).get_review_answer(feedback_id=key)

    async def edit_answer(self, feedback_id: UUID, author_clerk_id: str, body: str) -> ReviewReply:
        """Change an answer's body and set `edited_at`; its author only. `PermissionDenied` for
        anyone else, `NotFound` (field feedback_id) when the review has no answer."""
        answer = validated(
            _Answer, {"feedback_id": feedback_id, "author_clerk_id": author_clerk_id, "body": body}, "answer"
        )
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).edit_review_answer(
                body=answer.body, feedback_id=answer.feedback_id, author_clerk_id=answer.author_clerk_id
            )
        if row is None:
            await self._refuse(answer.feedback_id, answer.author_clerk_id, "edit")
        assert row is not None
        return row

    async def delete_answer(self, feedback_id: UUID, author_clerk_id: str) -> None:
        """Delete an answer; its author only (`PermissionDenied`); `NotFound` when there is none."""
        key = validated(_Key, {"feedback_id": feedback_id, "author_clerk_id": author_clerk_id}, "answer")
        async with self._db.connection() as conn:
            deleted = await AsyncQuerier(conn).delete_review_answer(
                feedback_id=key.feedback_id, author_clerk_id=key.author_clerk_id
            )
        if deleted == 0:
            await self._refuse(key.feedback_id, key.author_clerk_id, "delete")

    async def _refuse(self, feedback_id: UUID, clerk_id: str, what: str) -> None:
        current = await self.get_answer(feedback_id)
        if current is None:
            raise NotFound(f"review {feedback_id} has no answer", field="feedback_id")
        raise PermissionDenied(
            f"user {clerk_id!r} may not {what} the answer to review {feedback_id}: only its author may",
            field="author_clerk_id",
        )
