"""Quizzes and media edited like lessons: changed in place, moved in a dense order, deleted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import psycopg
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from learnstore._validation import (
    UNSET,
    Unset,
    acting_user,
    check_id,
    checked_position,
    checked_quiz,
    listed,
    validated,
)
from learnstore.database_async import AsyncDatabase
from learnstore.errors import InvalidValue, NotFound, register_messages, translating
from learnstore.queries.lesson_items import AsyncQuerier
from learnstore.queries.models import Media, Quiz
from learnstore.types import MediaType, QuestionType, Url

__all__ = ["AsyncLessonItemsRepository"]

register_messages(
    {
        "quizzes_lesson_position_key": "position: another quiz of this lesson holds it",
        "media_lesson_position_key": "position: another file of this lesson holds it",
        "quizzes_position_valid": "position must be a non-negative integer",
        "media_position_valid": "position must be a non-negative integer",
    }
)


class _MediaFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media_type: MediaType | None = None
    url: Url | None = None
    title: str | None = Field(default=None, max_length=200)


class AsyncLessonItemsRepository:
    """A lesson's quizzes and media, in order: positions 0, 1, ..., n-1 under their lesson after
    every operation, as a unit's lessons (content.add_quiz and content.add_media append; content's
    delete_quiz and delete_media close the gap).

    Every method is one statement, or, with `acting_clerk_id`, one transaction that first checks
    that user may change the course (its author or an accepted editor; `PermissionDenied`
    otherwise), as `store.content`'s methods do. Under `as_user` PostgreSQL's policies decide.
    A change of order locks the course, so concurrent moves in one course queue and none is lost.
    """

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    @asynccontextmanager
    async def _changing(
        self, acting_clerk_id: str | None, *, quiz_id: UUID | None = None, media_id: UUID | None = None
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """The connection for a change, as content's: without an acting user (a trusted caller) the
        usual one-statement operation; with one (under `as_user`, the identity), a transaction that
        first checks the user may change the item's course and holds what allows it until commit."""
        identity = self._db.identity
        acting_clerk_id = acting_user(identity.clerk_id if identity else None, acting_clerk_id)
        if acting_clerk_id is None:
            async with self._db.connection() as conn:
                yield conn
            return
        if not isinstance(acting_clerk_id, str) or not acting_clerk_id.strip() or len(acting_clerk_id) > 64:
            raise InvalidValue(
                f"acting_clerk_id: must be a user's clerk_id, not {acting_clerk_id!r}",
                field="acting_clerk_id",
            )
        async with self._db.transaction() as conn:
            querier = AsyncQuerier(conn)
            # Errors of the check and of the change (thrown in at the yield) leave as learnstore errors.
            with translating():
                await querier.authorize_lesson_item_change(
                    media_id=media_id, quiz_id=quiz_id, clerk_id=acting_clerk_id
                )
                yield conn

    # -- quizzes ------------------------------------------------------------------------------

    async def update_quiz(
        self,
        quiz_id: UUID,
        *,
        question: str | Unset = UNSET,
        question_type: QuestionType | Unset = UNSET,
        options: Sequence[str] | Unset = UNSET,
        correct_answer: str | Sequence[str] | Unset = UNSET,
        acting_clerk_id: str | None = None,
    ) -> Quiz:
        """Change a quiz's question, and/or its answer: `question_type`, `options` and
        `correct_answer` go together (they are checked against each other as `content.add_quiz`
        checks them), so changing any of them means passing all three."""
        quiz = check_id(quiz_id, "quiz_id")
        answer = {"question_type": question_type, "options": options, "correct_answer": correct_answer}
        given = [name for name, value in answer.items() if not isinstance(value, Unset)]
        if given and len(given) != len(answer):
            missing = next(name for name in answer if name not in given)
            raise InvalidValue(
                f"{missing}: question_type, options and correct_answer are changed together (pass all three)",
                field=missing,
            )
        if isinstance(question, Unset) and not given:
            raise InvalidValue("question: nothing to change (pass it, the answer or both)", field="question")
        checked_question: str | None = None
        if not isinstance(question, Unset):
            checked_question = checked_quiz("flashcard", question, (), "x").question  # its own rules, alone
        kind: str = ""
        choices: list[JsonValue] = []
        right: JsonValue = None
        if given:
            checked = checked_quiz(question_type, checked_question or "x", options, listed(correct_answer))
            kind, choices = checked.question_type, list(checked.options)
            answers = checked.correct_answer
            right = answers if isinstance(answers, str) else list(answers)
        async with self._changing(acting_clerk_id, quiz_id=quiz) as conn:
            updated = await AsyncQuerier(conn).update_quiz(
                id=quiz,
                question=checked_question,
                answer_set=bool(given),
                question_type=kind,
                options=choices,
                correct_answer=right,
            )
        if updated is None:
            raise NotFound(f"no quiz with id {quiz}", field="quiz_id")
        return updated

    async def move_quiz(
        self, quiz_id: UUID, position: int | None, *, acting_clerk_id: str | None = None
    ) -> Quiz:
        """Move a quiz to `position` under its lesson (None: the last), shifting the quizzes between;
        a position past the end is `InvalidValue` (field `position`), an unknown quiz `NotFound`."""
        quiz = check_id(quiz_id, "quiz_id")
        at = checked_position(position)
        async with self._changing(acting_clerk_id, quiz_id=quiz) as conn:
            moved = await AsyncQuerier(conn).move_quiz(quiz_id=quiz, position=at)
        assert moved is not None  # move_quiz returns the row or raises
        return moved

    # -- media --------------------------------------------------------------------------------

    async def update_media(
        self,
        media_id: UUID,
        *,
        media_type: MediaType | Unset = UNSET,
        url: str | Unset = UNSET,
        title: str | Unset | None = UNSET,
        acting_clerk_id: str | None = None,
    ) -> Media:
        """Change the fields given; `title=None` clears the title."""
        media = check_id(media_id, "media_id")
        given = {
            name: value
            for name, value in {"media_type": media_type, "url": url, "title": title}.items()
            if not isinstance(value, Unset)
        }
        for name in ("media_type", "url"):
            if name in given and given[name] is None:
                raise InvalidValue(f"{name} cannot be cleared (None)", field=name)
        fields = validated(_MediaFields, given, "media")
        async with self._changing(acting_clerk_id, media_id=media) as conn:
            updated = await AsyncQuerier(conn).update_media(
                id=media,
                media_type=fields.media_type,
                url=fields.url,
                title_set="title" in given,
                title=fields.title,
            )
        if updated is None:
            raise NotFound(f"no media with id {media}", field="media_id")
        return updated

    async def move_media(
        self, media_id: UUID, position: int | None, *, acting_clerk_id: str | None = None
    ) -> Media:
        """Move a file to `position` under its lesson (None: the last), shifting the files between."""
        media = check_id(media_id, "media_id")
        at = checked_position(position)
        async with self._changing(acting_clerk_id, media_id=media) as conn:
            moved = await AsyncQuerier(conn).move_media(media_id=media, position=at)
        assert moved is not None
        return moved
