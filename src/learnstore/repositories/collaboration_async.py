"""Asking to collaborate: a user asks to join a course open to collaboration, its author decides."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool, StrictInt

from learnstore._validation import check_id, validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, PermissionDenied, register_messages
from learnstore.queries.collaboration import AsyncQuerier
from learnstore.queries.models import CollaborationRequest, Collaborator, ListCollaborationInboxRow
from learnstore.types import ClerkId

__all__ = ["AsyncCollaborationRepository", "CollaboratorRole", "InboxItem"]

register_messages(
    {
        "collaboration_requests_requester_clerk_id_fkey": "requester_clerk_id: no user with this clerk_id",
        "collaborators_user_clerk_id_fkey": "user_clerk_id: no user with this clerk_id",
        "collaboration_requests_message_length": "message: at most 2,000 characters",
    }
)

InboxItem = ListCollaborationInboxRow
"""A pending invitation to the user ('invitation'), a request on a course they author ('request'),
or their own open request ('sent'); `other_clerk_id` is the user on the other side."""

CollaboratorRole = Literal["editor", "reviewer"]


class _Ask(BaseModel):
    course_id: UUID
    requester_clerk_id: ClerkId
    role: CollaboratorRole
    message: Annotated[str, Field(max_length=2000)] | None = None


class _Decision(BaseModel):
    request_id: UUID
    clerk_id: ClerkId
    accept: StrictBool = False


class _Inbox(BaseModel):
    clerk_id: ClerkId
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50


class _Page(BaseModel):
    course_id: UUID
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 20


class _Invitation(BaseModel):
    course_id: UUID
    author_clerk_id: ClerkId
    user_clerk_id: ClerkId
    role: CollaboratorRole


class _Seat(BaseModel):
    course_id: UUID
    user_clerk_id: ClerkId
    actor_clerk_id: ClerkId


class _Accept(BaseModel):
    accept: StrictBool


class _Target(BaseModel):
    id: UUID
    clerk_id: ClerkId


class AsyncCollaborationRepository:
    """Collaboration requests. Each write is one statement: the triggers of migration 0017 check the
    rule (an open course, not its author, decisions final), write the notifications and, on
    acceptance, the collaborator seat, in the same statement. A refusal is explained by a second
    read only after the write did nothing."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def request(
        self,
        course_id: UUID,
        requester_clerk_id: str,
        role: CollaboratorRole = "editor",
        *,
        message: str | None = None,
    ) -> CollaborationRequest:
        """Ask to join a course as 'editor' or 'reviewer'; its author is notified.

        `Conflict` (field course_id) when the course is not open to collaboration, (field
        requester_clerk_id) when the user already has an open request or an accepted seat;
        `InvalidValue` for the course's own author; `NotFound` for an unknown course.
        """
        ask = validated(
            _Ask,
            {
                "course_id": course_id,
                "requester_clerk_id": requester_clerk_id,
                "role": role,
                "message": message,
            },
            "request",
        )
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).request_collaboration(
                course_id=ask.course_id,
                requester_clerk_id=ask.requester_clerk_id,
                role=ask.role,
                message=ask.message,
            )
        if row is None:
            raise Conflict(
                f"user {ask.requester_clerk_id!r} already has an open request on course {ask.course_id}",
                field="requester_clerk_id",
            )
        return row

    async def get(self, request_id: UUID) -> CollaborationRequest:
        """The request with this id; `NotFound` if there is none."""
        key = validated(UUID, request_id, "request_id")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_collaboration_request(id=key)
        if row is None:
            raise NotFound(f"no collaboration request with id {key}", field="request_id")
        return CollaborationRequest.model_construct(**row.model_dump(exclude={"course_author_clerk_id"}))

    async def decide(self, request_id: UUID, author_clerk_id: str, *, accept: bool) -> CollaborationRequest:
        """The course's author accepts (the requester gets an accepted seat in the role asked for)
        or declines a pending request; the requester is notified either way.

        `PermissionDenied` for anyone but the author; `Conflict` (field request_id) for a request
        already decided or withdrawn (of two decisions at once, one wins); `NotFound` for none.
        """
        decision = validated(
            _Decision, {"request_id": request_id, "clerk_id": author_clerk_id, "accept": accept}, "decision"
        )
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).decide_collaboration_request(
                accept=decision.accept, id=decision.request_id, author_clerk_id=decision.clerk_id
            )
        if row is None:
            await self._refuse(decision, "decide on", author=True)
        assert row is not None
        return row

    async def withdraw(self, request_id: UUID, requester_clerk_id: str) -> CollaborationRequest:
        """The requester withdraws a pending request. `PermissionDenied` for anyone else,
        `Conflict` when it is no longer pending, `NotFound` for none."""
        decision = validated(_Decision, {"request_id": request_id, "clerk_id": requester_clerk_id}, "request")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).withdraw_collaboration_request(
                id=decision.request_id, requester_clerk_id=decision.clerk_id
            )
        if row is None:
            await self._refuse(decision, "withdraw", author=False)
        assert row is not None
        return row

    async def _refuse(self, decision: _Decision, what: str, *, author: bool) -> None:
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_collaboration_request(id=decision.request_id)
        if row is None:
            raise NotFound(f"no collaboration request with id {decision.request_id}", field="request_id")
        allowed = row.course_author_clerk_id if author else row.requester_clerk_id
        if allowed != decision.clerk_id:
            who = "the course's author" if author else "its requester"
            raise PermissionDenied(
                f"user {decision.clerk_id!r} may not {what} request {decision.request_id}: only {who} may",
                field="author_clerk_id" if author else "requester_clerk_id",
            )
        raise Conflict(
            f"collaboration request {decision.request_id} is already {row.status}", field="request_id"
        )

    async def inbox(self, clerk_id: str, *, limit: int = 50) -> list[InboxItem]:
        """What waits on a user, newest first, in one query: invitations to them, requests on the
        courses they author, and their own open requests (all pending)."""
        key = validated(_Inbox, {"clerk_id": clerk_id, "limit": limit}, "inbox")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_collaboration_inbox(
                clerk_id=key.clerk_id, page_size=key.limit
            )

    async def list_requests(
        self, course_id: UUID, *, limit: int = 20, before: CollaborationRequest | None = None
    ) -> list[CollaborationRequest]:
        """A course's requests in every status, newest first; pass the last one as `before` to page."""
        page = validated(_Page, {"course_id": course_id, "limit": limit}, "page")
        if before is not None and not isinstance(before, CollaborationRequest):
            raise InvalidValue(
                f"before: must be the last request of a page, not {type(before).__name__}", field="before"
            )
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_course_collaboration_requests(
                course_id=page.course_id,
                before_created_at=before.created_at if before else None,
                before_id=before.id if before else None,
                page_size=page.limit,
            )

    # -- collaborators --------------------------------------------------------------------------

    async def invite_collaborator(
        self, course_id: UUID, author_clerk_id: str, user_clerk_id: str, role: CollaboratorRole = "editor"
    ) -> Collaborator:
        """The course's author invites a user as 'editor' or 'reviewer' (status 'pending'; the
        invitee gets a notification). Inviting again changes the role and re-opens a declined
        invitation. `PermissionDenied` unless `author_clerk_id` is the author; `InvalidValue`
        (field user_clerk_id) for the author themself; `NotFound` for an unknown course."""
        invitation = validated(
            _Invitation,
            {
                "course_id": course_id,
                "author_clerk_id": author_clerk_id,
                "user_clerk_id": user_clerk_id,
                "role": role,
            },
            "invitation",
        )
        async with self._db.connection() as conn:
            seat = await AsyncQuerier(conn).invite_collaborator(
                course_id=invitation.course_id,
                author_clerk_id=invitation.author_clerk_id,
                user_clerk_id=invitation.user_clerk_id,
                role=invitation.role,
            )
        if seat is None:
            author = await self._course_author(invitation.course_id)
            if author != invitation.author_clerk_id:
                raise PermissionDenied(
                    f"user {invitation.author_clerk_id!r} is not the author of course {invitation.course_id}",
                    field="author_clerk_id",
                )
            raise InvalidValue(
                "user_clerk_id: the author cannot be their own collaborator", field="user_clerk_id"
            )
        return seat

    async def respond_to_invitation(
        self, course_id: UUID, user_clerk_id: str, *, accept: bool
    ) -> Collaborator:
        """The invitee accepts (status 'accepted') or declines ('declined') a pending invitation;
        `NotFound` (field course_id) when none is pending."""
        seat_key = validated(
            _Seat,
            {"course_id": course_id, "user_clerk_id": user_clerk_id, "actor_clerk_id": user_clerk_id},
            "seat",
        )
        answer = validated(_Accept, {"accept": accept}, "invitation")
        async with self._db.connection() as conn:
            seat = await AsyncQuerier(conn).respond_to_invitation(
                accept=answer.accept, course_id=seat_key.course_id, user_clerk_id=seat_key.user_clerk_id
            )
        if seat is None:
            raise NotFound(
                f"user {seat_key.user_clerk_id!r} has no pending invitation to course {seat_key.course_id}",
                field="course_id",
            )
        return seat

    async def set_collaborator_role(
        self, course_id: UUID, author_clerk_id: str, user_clerk_id: str, role: CollaboratorRole
    ) -> Collaborator:
        """The course's author changes a collaborator's role. `PermissionDenied` for anyone else;
        `NotFound` (field user_clerk_id) for a user without a seat."""
        change = validated(
            _Invitation,
            {
                "course_id": course_id,
                "author_clerk_id": author_clerk_id,
                "user_clerk_id": user_clerk_id,
                "role": role,
            },
            "collaborator",
        )
        async with self._db.connection() as conn:
            seat = await AsyncQuerier(conn).set_collaborator_role(
                role=change.role,
                course_id=change.course_id,
                user_clerk_id=change.user_clerk_id,
                author_clerk_id=change.author_clerk_id,
            )
        if seat is None:
            await self._require_author(change.course_id, change.author_clerk_id, "author_clerk_id")
            raise NotFound(f"user {change.user_clerk_id!r} is not a collaborator", field="user_clerk_id")
        return seat

    async def remove_collaborator(
        self, course_id: UUID, actor_clerk_id: str, user_clerk_id: str
    ) -> Collaborator:
        """The course's author removes a collaborator, or the collaborator leaves (actor = user).
        `PermissionDenied` for anyone else; `NotFound` for a user without a seat."""
        seat_key = validated(
            _Seat,
            {"course_id": course_id, "user_clerk_id": user_clerk_id, "actor_clerk_id": actor_clerk_id},
            "collaborator",
        )
        async with self._db.connection() as conn:
            seat = await AsyncQuerier(conn).remove_collaborator(
                course_id=seat_key.course_id,
                user_clerk_id=seat_key.user_clerk_id,
                actor_clerk_id=seat_key.actor_clerk_id,
            )
        if seat is None:
            if seat_key.actor_clerk_id != seat_key.user_clerk_id:
                await self._require_author(seat_key.course_id, seat_key.actor_clerk_id, "actor_clerk_id")
            raise NotFound(f"user {seat_key.user_clerk_id!r} is not a collaborator", field="user_clerk_id")
        return seat

    async def list_collaborators(self, course_id: UUID) -> list[Collaborator]:
        """A course's collaborators of every status (pending, accepted, declined), oldest first."""
        key = check_id(course_id, "course_id")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_collaborators(course_id=key)

    async def get_course_role(self, course_id: UUID, clerk_id: str) -> str | None:
        """'author', 'editor' or 'reviewer' (accepted seats only), or None; `NotFound` for no course."""
        key = validated(_Target, {"id": course_id, "clerk_id": clerk_id}, "course")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_course_role(clerk_id=key.clerk_id, course_id=key.id)
        if row is None:
            raise NotFound(f"no course with id {key.id}", field="course_id")
        return row.role

    async def may_edit_course(self, course_id: UUID, clerk_id: str) -> bool:
        """May this user change this course? Its author or an accepted editor may."""
        return await self.get_course_role(course_id, clerk_id) in ("author", "editor")

    async def may_review_course(self, course_id: UUID, clerk_id: str) -> bool:
        """May this user approve or reject suggested edits? Its author or an accepted reviewer may."""
        return await self.get_course_role(course_id, clerk_id) in ("author", "reviewer")

    async def _course_author(self, course_id: UUID) -> str | None:
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_course_role(clerk_id="", course_id=course_id)
        if row is None:
            raise NotFound(f"no course with id {course_id}", field="course_id")
        return row.author_clerk_id

    async def _require_author(self, course_id: UUID, clerk_id: str, field: str) -> None:
        if await self._course_author(course_id) != clerk_id:
            raise PermissionDenied(f"user {clerk_id!r} is not the author of course {course_id}", field=field)
