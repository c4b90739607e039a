"""What users share: a course cloned as one's own draft, a flashcard set forked, public sets browsed."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from learnstore._validation import acting_user, check_id, keyset, validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import InvalidValue, register_messages
from learnstore.queries.models import (
    Course,
    FlashcardSet,
    SearchOwnerFlashcardSetsRow,
    SearchPublicFlashcardSetsRow,
)
from learnstore.queries.sharing import AsyncQuerier
from learnstore.types import ClerkId, Title

__all__ = ["AsyncSharingRepository"]

#: How `browse_sets` orders a page: newest first, or most used (most learners) first.
SetOrder = Literal["newest", "most_used"]

register_messages(
    {
        "flashcard_sets_language_id_fkey": "language_id: no such language",
        "flashcard_sets_forked_from_fkey": "forked_from: no such flashcard set",
    }
)


class _Copy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clerk_id: ClerkId
    title: Title | None = None


class _Browse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(max_length=200)] | None = None
    language_id: UUID | None = None
    course_id: UUID | None = None
    order: SetOrder = "newest"
    limit: Annotated[StrictInt, Field(ge=1, le=100)] = 20


def _learners_keyset(before: object) -> dict[str, Any]:
    """The most-used keyset of a page's last row (`before`): its learners and id, or InvalidValue."""
    if before is None:
        return {"before_learners": None, "before_id": None}
    learners, row_id = getattr(before, "learners", None), getattr(before, "id", None)
    if type(learners) is not int or not isinstance(row_id, UUID):
        raise InvalidValue(
            f"before: must be the last row of a page (with learners and id), not {type(before).__name__}",
            field="before",
        )
    return {"before_learners": learners, "before_id": row_id}


def _text(text: str | None) -> str | None:
    """A search term, or None for no text filter (a blank term filters nothing)."""
    return text if text is not None and text.strip() else None


class AsyncSharingRepository:
    """Copies of what others made: each method one statement, whatever the size of the copy.

    Who may clone a course: its author and accepted collaborators whatever its status, anyone a
    published course (a draft one may not see is `NotFound`, an archived one `PermissionDenied`).
    Who may fork a set: anyone a public set, its owner a private one (`NotFound` for anyone else).
    The copy belongs to `clerk_id`; under `as_user` that must be the acting user (else
    `PermissionDenied`), and PostgreSQL checks it.
    """

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    def _copier(self, clerk_id: object, title: object) -> _Copy:
        copy = validated(_Copy, {"clerk_id": clerk_id, "title": title}, "copy")
        identity = self._db.identity
        acting_user(identity.clerk_id if identity else None, copy.clerk_id, "clerk_id")
        return copy

    async def clone_course(self, course_id: UUID, clerk_id: str, *, title: str | None = None) -> Course:
        """A deep copy of a course — its units, lessons, quizzes and media in their order, and its
        tags — as a new draft authored by `clerk_id` (`title` None keeps the source's). Enrolments,
        progress, reviews, forum threads and collaborators stay with the source. One statement: the
        clone is a consistent snapshot of the source, even while it is being edited."""
        source = check_id(course_id, "course_id")
        copy = self._copier(clerk_id, title)
        async with self._db.connection() as conn:
            course = await AsyncQuerier(conn).clone_course(
                course_id=source, clerk_id=copy.clerk_id, title=copy.title
            )
        assert course is not None  # clone_course returns the new course or raises
        return course

    async def fork_set(self, set_id: UUID, clerk_id: str, *, title: str | None = None) -> FlashcardSet:
        """A private copy of a flashcard set, its cards in order, owned by `clerk_id`; its
        `forked_from` names the source (NULL once the source is deleted). Learners' progress on the
        source's cards stays there. One statement."""
        source = check_id(set_id, "set_id")
        copy = self._copier(clerk_id, title)
        async with self._db.connection() as conn:
            created = await AsyncQuerier(conn).fork_flashcard_set(
                set_id=source, clerk_id=copy.clerk_id, title=copy.title
            )
        assert created is not None
        return created

    # -- browsing sets --------------------------------------------------------------------------

    async def browse_sets(
        self,
        *,
        text: str | None = None,
        language_id: UUID | None = None,
        course_id: UUID | None = None,
        order: SetOrder = "newest",
        before: SearchPublicFlashcardSetsRow | None = None,
        limit: int = 20,
    ) -> list[SearchPublicFlashcardSetsRow]:
        """One page of public flashcard sets matching every filter given: `text` against title and
        description (web search syntax: words, "a phrase", -not), a language, a course. `order`
        "newest" puts the newest first; "most_used" the sets with the most learners (users who have
        started one of their cards) first, ties by id. Pass a page's last row as `before` for the
        next page (in the same order). Each row carries the set's card count, its learners and its
        owner's name and avatar. One statement."""
        query = validated(
            _Browse,
            {
                "text": text,
                "language_id": language_id,
                "course_id": course_id,
                "order": order,
                "limit": limit,
            },
            "browse",
        )
        async with self._db.connection() as conn:
            querier = AsyncQuerier(conn)
            if query.order == "newest":
                return await querier.search_public_flashcard_sets(
                    text_query=_text(query.text),
                    language_id=query.language_id,
                    course_id=query.course_id,
                    **keyset(before, "created_at"),
                    page_size=query.limit,
                )
            # Declared in sharing.sql to return the newest query's row type: one row type whatever
            # the order, with no conversion (a model_construct per row was 65-80 us a page, bench/).
            return await querier.search_public_flashcard_sets_by_learners(
                text_query=_text(query.text),
                language_id=query.language_id,
                course_id=query.course_id,
                **_learners_keyset(before),
                page_size=query.limit,
            )

    async def owner_sets(
        self,
        owner_clerk_id: str,
        *,
        viewer_clerk_id: str | None = None,
        text: str | None = None,
        before: SearchOwnerFlashcardSetsRow | None = None,
        limit: int = 20,
    ) -> list[SearchOwnerFlashcardSetsRow]:
        """One page of a user's sets, newest first, with their card counts: all of them when the
        viewer is the owner, else the public ones; `text` filters by title and description. Under
        `as_user` the viewer is the acting user. One statement."""
        owner = validated(_Copy, {"clerk_id": owner_clerk_id}, "owner").clerk_id
        identity = self._db.identity
        viewer = acting_user(identity.clerk_id if identity else None, viewer_clerk_id, "viewer_clerk_id")
        query = validated(_Browse, {"text": text, "limit": limit}, "browse")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).search_owner_flashcard_sets(
                owner_clerk_id=owner,
                include_private=viewer == owner,
                text_query=_text(query.text),
                **keyset(before, "created_at"),
                page_size=query.limit,
            )
