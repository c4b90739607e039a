"""Answers to reviews: a course's author answers a learner's review once, then edits or deletes it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from learnstore._validation import validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, NotFound, PermissionDenied, register_messages
from learnstore.queries.models import ReviewReply
from learnstore.queries.reviews import AsyncQuerier
from learnstore.types import ClerkId

__all__ = ["AsyncReviewsRepository"]

register_messages(
    {
        "review_replies_author_clerk_id_fkey": "author_clerk_id: no user with this clerk_id",
        "review_replies_feedback_id_fkey": "feedback_id: no review with this id",
        "review_replies_body_not_blank": "body: must not be blank, at most 5,000 characters",
    }
)


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
    notified of the first answer by the trigger review_replies_notify. `store.community.list_reviews`
    carries each review's answer."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

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
