"""Suggested edits: a user proposes a change to a course or a lesson, its author or a reviewer decides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from learnstore._validation import check_id, keyset, validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, PermissionDenied, register_messages
from learnstore.queries.edits import AsyncQuerier
from learnstore.queries.models import (
    SuggestedEdit,
)
from learnstore.types import CONTENT_MODELS, ClerkId, Title

__all__ = ["AsyncEditsRepository", "CourseEdit", "LessonEdit"]

register_messages(
    {
        "suggested_edits_author_clerk_id_fkey": "author_clerk_id: no user with this clerk_id",
        "suggested_edits_reviewer_clerk_id_fkey": "reviewer_clerk_id: no user with this clerk_id",
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


class _Page(BaseModel):
    course_id: UUID
    limit: PageSize = 20
    before_created_at: AwareDatetime | None = None
    before_id: UUID | None = None


class _Proposal(BaseModel):
    course_id: UUID
    lesson_id: UUID | None = None
    author_clerk_id: ClerkId
    summary: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


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
