"""Suggested edits: a user proposes a change to a course, a lesson, a unit's lessons or a quiz; the
course's author or a reviewer decides, and an approval applies the change whole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from learnstore._validation import check_id, checked_quiz, keyset, validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, PermissionDenied, register_messages
from learnstore.queries.edits import AsyncQuerier
from learnstore.queries.models import (
    SuggestedEdit,
)
from learnstore.types import CONTENT_MODELS, ClerkId, ContentType, Seconds, Title

__all__ = [
    "AddLesson",
    "AsyncEditsRepository",
    "CourseEdit",
    "EditStatus",
    "LessonEdit",
    "QuizEdit",
    "RemoveLesson",
    "ReorderLessons",
    "StructureEdit",
]

register_messages(
    {
        "suggested_edits_author_clerk_id_fkey": "author_clerk_id: no user with this clerk_id",
        "suggested_edits_reviewer_clerk_id_fkey": "reviewer_clerk_id: no user with this clerk_id",
        "suggested_edits_unit_id_fkey": "unit_id: no unit with this id",
        "suggested_edits_quiz_id_fkey": "quiz_id: no quiz with this id",
    }
)

Note = Annotated[str, Field(max_length=2000)]
PageSize = Annotated[StrictInt, Field(ge=1, le=200)]


class CourseEdit(BaseModel):
    """What a suggested edit of a course may change (at least one field)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Title | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None
    learning_objectives: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]], Field(max_length=50)
        ]
        | None
    ) = None


class LessonEdit(BaseModel):
    """What a suggested edit of a lesson may change: its title, and content of the lesson's type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Title | None = None
    content: dict[str, Any] | None = None


class AddLesson(BaseModel):
    """A suggested new lesson in a unit, at a 0-based position (None: at the end)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit_id: UUID
    title: Title
    content_type: ContentType
    content: dict[str, Any]
    duration_seconds: Seconds | None = None
    position: Annotated[StrictInt, Field(ge=0, le=10_000)] | None = None


class RemoveLesson(BaseModel):
    """A suggestion to remove a lesson from its unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lesson_id: UUID


class ReorderLessons(BaseModel):
    """A suggested new order of a unit's lessons: every one of its lessons, each once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit_id: UUID
    lesson_ids: Annotated[list[UUID], Field(min_length=1, max_length=1000)]


class QuizEdit(BaseModel):
    """What a suggested edit of a quiz may change (at least one); the quiz keeps its question_type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quiz_id: UUID
    question: str | None = None
    options: list[str] | None = None
    correct_answer: str | list[str] | None = None


StructureEdit = AddLesson | RemoveLesson | ReorderLessons | QuizEdit
"""The suggested edits that change more than fields: `propose_change` takes one."""

EditStatus = Literal["pending", "approved", "rejected", "withdrawn"]

_KINDS: dict[type[BaseModel], str] = {
    AddLesson: "add_lesson",
    RemoveLesson: "remove_lesson",
    ReorderLessons: "reorder_lessons",
    QuizEdit: "quiz",
}


class _Page(BaseModel):
    course_id: UUID
    status: EditStatus | None = None
    limit: PageSize = 20
    before_created_at: AwareDatetime | None = None
    before_id: UUID | None = None


class _Proposal(BaseModel):
    course_id: UUID
    lesson_id: UUID | None = None
    author_clerk_id: ClerkId
    summary: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


class _Withdrawal(BaseModel):
    edit_id: UUID
    author_clerk_id: ClerkId


class _Review(BaseModel):
    edit_id: UUID
    reviewer_clerk_id: ClerkId
    note: Note | None = None


class AsyncEditsRepository:
    """Suggested edits, one statement each: approval applies the change in the same statement,
    with a staleness check. A refusal is explained by a second read only after the write did nothing."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    # -- suggested edits ------------------------------------------------------------------------

    async def propose_edit(
        self,
        course_id: UUID,
        author_clerk_id: str,
        summary: str,
        changes: CourseEdit | LessonEdit | Mapping[str, Any],
        *,
        lesson_id: UUID | None = None,
    ) -> SuggestedEdit:
        """Propose a change to a course (title, description, learning_objectives) or, with
        `lesson_id`, to one of its lessons (title, content of the lesson's type). The target's
        current `updated_at` is kept: approving fails if it moved since.

        `InvalidValue` for a field that may not change, an empty change, or content that does not
        fit the lesson's type; `NotFound` for an unknown course, or a lesson not in it.
        """
        proposal = validated(
            _Proposal,
            {
                "course_id": course_id,
                "lesson_id": lesson_id,
                "author_clerk_id": author_clerk_id,
                "summary": summary,
            },
            "edit",
        )
        raw = changes.model_dump(exclude_none=True) if isinstance(changes, BaseModel) else changes
        content_type: str | None = None
        if proposal.lesson_id is None:
            payload = validated(CourseEdit, raw, "changes").model_dump(exclude_none=True)
        else:
            lesson_edit = validated(LessonEdit, raw, "changes")
            payload = lesson_edit.model_dump(exclude_none=True)
            if lesson_edit.content is not None:
                async with self._db.connection() as conn:
                    target = await AsyncQuerier(conn).get_edit_target(
                        lesson_id=proposal.lesson_id, course_id=proposal.course_id
                    )
                if target is None or target.content_type is None:
                    raise NotFound(
                        f"no lesson {proposal.lesson_id} in course {proposal.course_id}", field="lesson_id"
                    )
                content_type = target.content_type
                model = CONTENT_MODELS[content_type]
                payload["content"] = validated(model, lesson_edit.content, "changes.content").model_dump(
                    mode="json", exclude_none=True
                )
        if not payload:
            raise InvalidValue("changes: an edit must change at least one field", field="changes")
        async with self._db.connection() as conn:
            edit = await AsyncQuerier(conn).propose_edit(
                author_clerk_id=proposal.author_clerk_id,
                summary=proposal.summary,
                payload=payload,
                lesson_id=proposal.lesson_id,
                course_id=proposal.course_id,
                content_type=content_type,
            )
        if edit is None:
            if proposal.lesson_id is not None:
                raise NotFound(
                    f"no lesson {proposal.lesson_id} (of the same type) in course {proposal.course_id}",
                    field="lesson_id",
                )
            raise NotFound(f"no course with id {proposal.course_id}", field="course_id")
        return edit

    async def propose_change(
        self, course_id: UUID, author_clerk_id: str, summary: str, change: StructureEdit
    ) -> SuggestedEdit:
        """Propose adding a lesson to a unit, removing one, reordering a unit's lessons, or changing
        a quiz of the course. What approval checks is kept: the unit's lessons in order, or the
        quiz's `updated_at`. Two round trips: the target is read, then the proposal written.

        `InvalidValue` for a change that does not fit its target (content of another type, a
        position past the end, an order that is not the unit's lessons each once, a quiz change that
        breaks its question type, or no change); `NotFound` for a target not in the course.
        """
        proposal = validated(
            _Proposal,
            {"course_id": course_id, "author_clerk_id": author_clerk_id, "summary": summary},
            "edit",
        )
        kind = _KINDS.get(type(change))
        if kind is None and isinstance(change, BaseModel):
            # the twin module's model (sync and async each define theirs): the same fields
            twin = {model.__name__: model for model in _KINDS}.get(type(change).__name__)
            if twin is not None:
                change = validated(twin, change.model_dump(), "change")  # type: ignore[assignment]
                kind = _KINDS[twin]
        if kind is None:
            raise InvalidValue(
                "change: must be an AddLesson, RemoveLesson, ReorderLessons or QuizEdit, "
                f"not {type(change).__name__}",
                field="change",
            )
        async with self._db.connection() as conn:
            querier = AsyncQuerier(conn)
            if isinstance(change, QuizEdit):
                payload, base_updated_at = await self._quiz_change(querier, proposal.course_id, change)
                target: dict[str, Any] = {"unit_id": None, "quiz_id": change.quiz_id, "base_lesson_ids": None}
            else:
                unit = await querier.get_edit_unit(
                    unit_id=None if isinstance(change, RemoveLesson) else change.unit_id,
                    lesson_id=change.lesson_id if isinstance(change, RemoveLesson) else None,
                )
                field = "lesson_id" if isinstance(change, RemoveLesson) else "unit_id"
                if unit is None or unit.course_id != proposal.course_id:
                    raise NotFound(
                        f"no {field[:-3]} of course {proposal.course_id} with this id", field=field
                    )
                payload, base_updated_at = _unit_change(change, unit.lesson_ids), None
                target = {"unit_id": unit.unit_id, "quiz_id": None, "base_lesson_ids": unit.lesson_ids}
            edit = await querier.propose_structure_edit(
                course_id=proposal.course_id,
                kind=kind,
                author_clerk_id=proposal.author_clerk_id,
                summary=proposal.summary,
                payload=payload,
                base_updated_at=base_updated_at,
                **target,
            )
        assert edit is not None  # an INSERT ... VALUES returns its row or raises
        return edit

    async def _quiz_change(
        self, querier: AsyncQuerier, course_id: UUID, change: QuizEdit
    ) -> tuple[dict[str, Any], Any]:
        quiz = await querier.get_edit_quiz(id=change.quiz_id)
        if quiz is None or quiz.course_id != course_id:
            raise NotFound(f"no quiz of course {course_id} with id {change.quiz_id}", field="quiz_id")
        # The changed quiz must still fit its type: checked whole, as content.add_quiz checks one.
        checked = checked_quiz(
            quiz.question_type,
            quiz.question if change.question is None else change.question,
            quiz.options if change.options is None else change.options,
            quiz.correct_answer if change.correct_answer is None else change.correct_answer,
        )
        payload = {
            name: getattr(checked, name)
            for name in ("question", "options", "correct_answer")
            if getattr(change, name) is not None and getattr(checked, name) != getattr(quiz, name)
        }
        if not payload:
            raise InvalidValue("changes: an edit must change at least one field", field="changes")
        return payload, quiz.updated_at

    async def withdraw_edit(self, edit_id: UUID, author_clerk_id: str) -> SuggestedEdit:
        """The proposer withdraws their pending edit (status `withdrawn`; it is never reviewed).
        `PermissionDenied` for anyone else, `Conflict` (field edit_id) once it is decided."""
        withdrawal = validated(
            _Withdrawal, {"edit_id": edit_id, "author_clerk_id": author_clerk_id}, "withdrawal"
        )
        async with self._db.connection() as conn:
            edit = await AsyncQuerier(conn).withdraw_edit(
                id=withdrawal.edit_id, author_clerk_id=withdrawal.author_clerk_id
            )
        if edit is not None:
            return edit
        current = await self.get_edit(withdrawal.edit_id)
        if current.author_clerk_id != withdrawal.author_clerk_id:
            raise PermissionDenied(
                f"user {withdrawal.author_clerk_id!r} did not propose this edit: only its proposer "
                "withdraws it",
                field="author_clerk_id",
            )
        raise Conflict(f"edit {withdrawal.edit_id} is already {current.status}", field="edit_id")

    async def get_edit(self, edit_id: UUID) -> SuggestedEdit:
        key = check_id(edit_id, "edit_id")
        async with self._db.connection() as conn:
            edit = await AsyncQuerier(conn).get_suggested_edit(id=key)
        if edit is None:
            raise NotFound(f"no suggested edit with id {key}", field="edit_id")
        return edit

    async def approve_edit(
        self, edit_id: UUID, reviewer_clerk_id: str, *, note: str | None = None
    ) -> SuggestedEdit:
        """Approve a pending edit and apply it, atomically, as the course's author or an accepted
        reviewer. `Conflict` (field edit_id) when its target changed since the proposal (nothing
        is applied) or it is no longer pending; `PermissionDenied` for anyone else."""
        review = validated(
            _Review, {"edit_id": edit_id, "reviewer_clerk_id": reviewer_clerk_id, "note": note}, "review"
        )
        async with self._db.connection() as conn:
            edit = await AsyncQuerier(conn).approve_edit(
                id=review.edit_id, reviewer_clerk_id=review.reviewer_clerk_id, review_note=review.note
            )
        if edit is None:
            await self._refuse_review(review, approving=True)
        assert edit is not None
        return edit

    async def reject_edit(
        self, edit_id: UUID, reviewer_clerk_id: str, *, note: str | None = None
    ) -> SuggestedEdit:
        """Reject a pending edit with a reason, as the course's author or an accepted reviewer."""
        review = validated(
            _Review, {"edit_id": edit_id, "reviewer_clerk_id": reviewer_clerk_id, "note": note}, "review"
        )
        async with self._db.connection() as conn:
            edit = await AsyncQuerier(conn).reject_edit(
                id=review.edit_id, reviewer_clerk_id=review.reviewer_clerk_id, review_note=review.note
            )
        if edit is None:
            await self._refuse_review(review, approving=False)
        assert edit is not None
        return edit

    async def _refuse_review(self, review: _Review, *, approving: bool) -> None:
        async with self._db.connection() as conn:
            state = await AsyncQuerier(conn).get_edit_review_state(
                reviewer_clerk_id=review.reviewer_clerk_id, id=review.edit_id
            )
        if state is None:
            raise NotFound(f"no suggested edit with id {review.edit_id}", field="edit_id")
        if state.role not in ("author", "reviewer"):
            raise PermissionDenied(
                f"user {review.reviewer_clerk_id!r} may not review this edit: only the course's author "
                "or an accepted reviewer may",
                field="reviewer_clerk_id",
            )
        if state.status != "pending":
            raise Conflict(f"edit {review.edit_id} is already {state.status}", field="edit_id")
        if approving and not state.current:
            raise Conflict(
                f"edit {review.edit_id} is stale: its target changed after it was proposed", field="edit_id"
            )
        raise Conflict(
            f"edit {review.edit_id} changed while it was reviewed", field="edit_id"
        )  # pragma: no cover

    async def list_pending_edits(
        self, course_id: UUID, *, limit: int = 20, before: SuggestedEdit | None = None
    ) -> list[SuggestedEdit]:
        """A course's pending edits, newest first; pass the last one as `before` for the next page."""
        page = validated(
            _Page,
            {
                "course_id": course_id,
                "limit": limit,
                **keyset(before, "created_at"),
            },
            "page",
        )
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_pending_edits(
                course_id=page.course_id,
                before_created_at=page.before_created_at,
                before_id=page.before_id,
                page_size=page.limit,
            )

    async def list_edits(
        self,
        course_id: UUID,
        *,
        status: EditStatus | None = None,
        limit: int = 20,
        before: SuggestedEdit | None = None,
    ) -> list[SuggestedEdit]:
        """A course's edit history in every status (or in `status`), newest first; pass the last one
        as `before` for the next page."""
        page = validated(
            _Page,
            {"course_id": course_id, "status": status, "limit": limit, **keyset(before, "created_at")},
            "page",
        )
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_course_edits(
                course_id=page.course_id,
                status=page.status,
                before_created_at=page.before_created_at,
                before_id=page.before_id,
                page_size=page.limit,
            )


def _unit_change(change: AddLesson | RemoveLesson | ReorderLessons, lessons: list[UUID]) -> dict[str, Any]:
    """The payload of a lesson edit of a unit whose lessons are `lessons` (in order), or InvalidValue."""
    if isinstance(change, AddLesson):
        if change.position is not None and change.position > len(lessons):
            raise InvalidValue(
                f"position: {change.position} is out of range: it must be between 0 and {len(lessons)}",
                field="position",
            )
        content = validated(CONTENT_MODELS[change.content_type], change.content, "content")
        payload = change.model_dump(mode="json", exclude_none=True, exclude={"unit_id"})
        payload["content"] = content.model_dump(mode="json", exclude_none=True)
        return payload
    if isinstance(change, RemoveLesson):
        return {"lesson_id": str(change.lesson_id)}
    if sorted(change.lesson_ids) != sorted(lessons) or len(set(change.lesson_ids)) != len(lessons):
        raise InvalidValue("lesson_ids: must name every lesson of the unit, each once", field="lesson_ids")
    if change.lesson_ids == lessons:
        raise InvalidValue("lesson_ids: the lessons are already in this order", field="lesson_ids")
    return {"lesson_ids": [str(lesson) for lesson in change.lesson_ids]}
