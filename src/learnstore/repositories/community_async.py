"""The community domain: forum threads, likes, collaborators, suggested edits, feedback, activity."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from learnstore._validation import validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, PermissionDenied, register_messages
from learnstore.queries.community import AsyncQuerier
from learnstore.queries.models import (
    Collaborator,
    CourseFeedback,
    ForumPost,
    ForumReply,
    GetThreadRow,
    ListCourseFeedbackRow,
    ListCoursePostsActiveRow,
    ListCoursePostsNewestRow,
    ListTrendingCoursesRow,
    ListTrendingTagsRow,
    ListUserActivityRow,
    SuggestedEdit,
)
from learnstore.types import CONTENT_MODELS, ClerkId, Title

__all__ = [
    "AsyncCommunityRepository",
    "CollaboratorRole",
    "CourseEdit",
    "LessonEdit",
    "LikeResult",
    "RatingStats",
    "Thread",
    "ThreadNode",
    "UpvoteResult",
    "mentions_in",
]

register_messages(
    {
        "forum_posts_course_id_fkey": "course_id: no course with this id",
        "forum_posts_author_clerk_id_fkey": "author_clerk_id: no user with this clerk_id",
        "forum_replies_author_clerk_id_fkey": "author_clerk_id: no user with this clerk_id",
        "forum_replies_parent_reply_id_fkey": "parent_reply_id: no reply with this id in this post",
        "forum_post_likes_user_clerk_id_fkey": "clerk_id: no user with this clerk_id",
        "forum_reply_likes_user_clerk_id_fkey": "clerk_id: no user with this clerk_id",
        "collaborators_user_clerk_id_fkey": "user_clerk_id: no user with this clerk_id",
        "suggested_edits_author_clerk_id_fkey": "author_clerk_id: no user with this clerk_id",
        "suggested_edits_reviewer_clerk_id_fkey": "reviewer_clerk_id: no user with this clerk_id",
        "feedback_upvotes_user_clerk_id_fkey": "clerk_id: no user with this clerk_id",
        "course_feedback_rating_range": "rating must be from 1 to 5",
    }
)

ThreadNode = GetThreadRow
"""A node of a thread: the post (depth 0, with its title) or a reply (depth 1 and more)."""

CollaboratorRole = Literal["editor", "reviewer"]

PostTitle = Annotated[str, Field(min_length=1, max_length=300, pattern=r"\S")]
Body = Annotated[str, Field(min_length=1, max_length=50_000, pattern=r"\S")]
Note = Annotated[str, Field(max_length=2000)]
PageSize = Annotated[StrictInt, Field(ge=1, le=200)]

# A mention is @ and a clerk_id (letters, digits, _ . -), not part of an email address.
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9_][A-Za-z0-9_.\-]{0,63})")
_MAX_MENTIONS = 50


def mentions_in(text: str) -> list[str]:
    """The clerk ids @mentioned in `text`, each once, in order (at most 50; trailing . or - dropped)."""
    found: list[str] = []
    for match in _MENTION.finditer(text):
        name = match.group(1).rstrip(".-")
        if name and name not in found:
            found.append(name)
            if len(found) == _MAX_MENTIONS:
                break
    return found


class Thread(BaseModel):
    """A post and every reply under it, in tree order (a reply before its answers)."""

    model_config = ConfigDict(frozen=True)

    post: ThreadNode
    replies: list[ThreadNode]


class LikeResult(BaseModel):
    """What a like or unlike did: `changed` is False for a repeated like or an unlike of nothing."""

    model_config = ConfigDict(frozen=True)

    changed: bool
    like_count: int


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


class _Post(BaseModel):
    course_id: UUID
    author_clerk_id: ClerkId
    title: PostTitle
    body: Body


class _PostChange(BaseModel):
    post_id: UUID
    author_clerk_id: ClerkId
    title: PostTitle | None = None
    body: Body | None = None


class _Reply(BaseModel):
    post_id: UUID
    author_clerk_id: ClerkId
    body: Body
    parent_reply_id: UUID | None = None


class _ReplyChange(BaseModel):
    reply_id: UUID
    author_clerk_id: ClerkId
    body: Body


class _Target(BaseModel):
    id: UUID
    clerk_id: ClerkId


class _OptionalViewer(BaseModel):
    post_id: UUID
    viewer_clerk_id: ClerkId | None = None


class _Page(BaseModel):
    course_id: UUID
    limit: PageSize = 20
    before_created_at: AwareDatetime | None = None
    before_id: UUID | None = None


class _Invitation(BaseModel):
    course_id: UUID
    author_clerk_id: ClerkId
    user_clerk_id: ClerkId
    role: CollaboratorRole


class _Seat(BaseModel):
    course_id: UUID
    user_clerk_id: ClerkId
    actor_clerk_id: ClerkId


class _Proposal(BaseModel):
    course_id: UUID
    lesson_id: UUID | None = None
    author_clerk_id: ClerkId
    summary: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


class _Review(BaseModel):
    edit_id: UUID
    reviewer_clerk_id: ClerkId
    note: Note | None = None


class _Feedback(BaseModel):
    course_id: UUID
    clerk_id: ClerkId
    rating: Annotated[StrictInt, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=5000)] | None = None


class _Window(BaseModel):
    days: Annotated[StrictInt, Field(ge=1, le=3650)] = 7
    limit: PageSize = 10


class _Accept(BaseModel):
    accept: StrictBool


def _check_id(value: object, field: str) -> UUID:
    if isinstance(value, UUID):
        return value
    return validated(UUID, value, field)


def _keyset(before: object, column: str) -> dict[str, Any]:
    """The keyset of a page's last row (`before`): its `column` timestamp and id, or InvalidValue."""
    if before is None:
        return {"before_created_at": None, "before_id": None}
    at, row_id = getattr(before, column, None), getattr(before, "id", None)
    if not isinstance(at, datetime) or not isinstance(row_id, UUID):
        raise InvalidValue(
            f"before: must be the last row of a page (with {column} and id), not {type(before).__name__}",
            field="before",
        )
    return {"before_created_at": at, "before_id": row_id}


class AsyncCommunityRepository:
    """Forums, likes, collaborators, suggested edits, feedback. Every method is one transaction;
    most are one statement (the notifications a write causes are written by the same statement).
    Failures are diagnosed by a second statement only after the first did nothing."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    # -- posts ----------------------------------------------------------------------------------

    async def create_post(self, course_id: UUID, author_clerk_id: str, title: str, body: str) -> ForumPost:
        """Start a thread in a course's forum; users @mentioned in the body are notified.

        An unknown course or author is `InvalidReference`; a blank or too long title (300) or body
        (50,000 characters) is `InvalidValue`.
        """
        post = validated(
            _Post,
            {"course_id": course_id, "author_clerk_id": author_clerk_id, "title": title, "body": body},
            "post",
        )
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).create_post(
                course_id=post.course_id,
                author_clerk_id=post.author_clerk_id,
                title=post.title,
                body=post.body,
                mentions=mentions_in(post.body),
            )
        assert row is not None  # an INSERT ... VALUES returns its row or raises
        return ForumPost.model_construct(**row.model_dump())

    async def get_post(self, post_id: UUID) -> ForumPost:
        """The post with this id (a tombstone too: see `deleted_at`); `NotFound` if there is none."""
        key = _check_id(post_id, "post_id")
        async with self._db.connection() as conn:
            post = await AsyncQuerier(conn).get_post(id=key)
        if post is None:
            raise NotFound(f"no post with id {key}", field="post_id")
        return post

    async def edit_post(
        self, post_id: UUID, author_clerk_id: str, *, title: str | None = None, body: str | None = None
    ) -> ForumPost:
        """Change a post's title and/or body (None keeps one) and set `edited_at`; its author only.

        `PermissionDenied` for anyone else, `Conflict` for a deleted post, `NotFound` for none.
        """
        change = validated(
            _PostChange,
            {"post_id": post_id, "author_clerk_id": author_clerk_id, "title": title, "body": body},
            "post",
        )
        async with self._db.connection() as conn:
            post = await AsyncQuerier(conn).update_post(
                id=change.post_id,
                author_clerk_id=change.author_clerk_id,
                title=change.title,
                body=change.body,
            )
        if post is None:
            current = await self.get_post(change.post_id)
            _refuse_change(current.deleted_at, "post", "post_id")
            raise PermissionDenied(
                f"user {change.author_clerk_id!r} may not edit post {change.post_id}: only its author may",
                field="author_clerk_id",
            )
        return post

    async def delete_post(self, post_id: UUID, actor_clerk_id: str) -> Literal["deleted", "tombstoned"]:
        """Delete a post, as its author or the course's author.

        A post with replies becomes a tombstone ("tombstoned": title and body replaced by
        '[deleted]', `deleted_at` set) so that its thread stays readable; one without replies is
        removed ("deleted"). `PermissionDenied` for anyone else, `NotFound` for no post, `Conflict`
        for a post already deleted.
        """
        key = validated(_Target, {"id": post_id, "clerk_id": actor_clerk_id}, "post")
        async with self._db.connection() as conn:
            outcome = await AsyncQuerier(conn).delete_post(id=key.id, actor_clerk_id=key.clerk_id)
        if outcome == "deleted":
            return "deleted"
        if outcome == "tombstoned":
            return "tombstoned"
        current = await self.get_post(key.id)
        _refuse_change(current.deleted_at, "post", "post_id")
        raise PermissionDenied(
            f"user {key.clerk_id!r} may not delete post {key.id}: only its author or the course's author may",
            field="actor_clerk_id",
        )

    async def list_posts(
        self,
        course_id: UUID,
        *,
        limit: int = 20,
        before: ListCoursePostsNewestRow | None = None,
    ) -> list[ListCoursePostsNewestRow]:
        """A course's threads, pinned first (`pinned`), then newest first, with reply and like
        counts; tombstones included (`deleted`), hidden threads only for their authors and
        moderators (docs/moderation.md). Pass the last row of a page as `before` for the next page."""
        page = validated(
            _Page,
            {
                "course_id": course_id,
                "limit": limit,
                **_keyset(before, "created_at"),
            },
            "page",
        )
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_course_posts_newest(
                course_id=page.course_id,
                before_pinned=getattr(before, "pinned", None) is True if before else None,
                before_created_at=page.before_created_at,
                before_id=page.before_id,
                page_size=page.limit,
            )

    async def list_active_posts(
        self,
        course_id: UUID,
        *,
        since: datetime | timedelta = timedelta(days=7),
        limit: int = 20,
        before: ListCoursePostsActiveRow | None = None,
    ) -> list[ListCoursePostsActiveRow]:
        """A course's live threads, pinned first, then most active: `activity` counts the replies
        and likes since `since` (a time, or a window back from now). Pass the last row as `before`
        to page."""
        page = validated(
            _Page,
            {
                "course_id": course_id,
                "limit": limit,
                **_keyset(before, "created_at"),
            },
            "page",
        )
        start = _since(since)
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_course_posts_active(
                since=start,
                course_id=page.course_id,
                before_id=page.before_id,
                before_pinned=getattr(before, "pinned", None) is True if before else None,
                before_activity=before.activity if before else None,
                before_created_at=page.before_created_at,
                page_size=page.limit,
            )

    # -- replies --------------------------------------------------------------------------------

    async def reply(
        self, post_id: UUID, author_clerk_id: str, body: str, *, parent_reply_id: UUID | None = None
    ) -> ForumReply:
        """Reply to a post, or to one of its replies (`parent_reply_id`), at any depth.

        Notifies the post's author and the parent reply's author ('reply') and every @mentioned
        user ('mention'), never the replier, in the same statement. A parent from another post
        (or another course's thread) is `InvalidReference` (field parent_reply_id); a deleted
        post or parent reply is `Conflict`; an unknown post `NotFound`.
        """
        reply = validated(
            _Reply,
            {
                "post_id": post_id,
                "author_clerk_id": author_clerk_id,
                "body": body,
                "parent_reply_id": parent_reply_id,
            },
            "reply",
        )
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).create_reply(
                post_id=reply.post_id,
                parent_reply_id=reply.parent_reply_id,
                author_clerk_id=reply.author_clerk_id,
                body=reply.body,
                mentions=mentions_in(reply.body),
            )
        if row is None:
            post = await self.get_post(reply.post_id)
            _refuse_change(post.deleted_at, "post", "post_id")
            if reply.parent_reply_id is not None:
                parent = await self.get_reply(reply.parent_reply_id)
                _refuse_change(parent.deleted_at, "reply", "parent_reply_id")
            raise Conflict(
                "the thread changed while replying: try again", field="post_id"
            )  # pragma: no cover
        return ForumReply.model_construct(**row.model_dump())

    async def get_reply(self, reply_id: UUID) -> ForumReply:
        key = _check_id(reply_id, "reply_id")
        async with self._db.connection() as conn:
            reply = await AsyncQuerier(conn).get_reply(id=key)
        if reply is None:
            raise NotFound(f"no reply with id {key}", field="reply_id")
        return reply

    async def edit_reply(self, reply_id: UUID, author_clerk_id: str, body: str) -> ForumReply:
        """Change a reply's body and set `edited_at`; its author only (as `edit_post`)."""
        change = validated(
            _ReplyChange, {"reply_id": reply_id, "author_clerk_id": author_clerk_id, "body": body}, "reply"
        )
        async with self._db.connection() as conn:
            reply = await AsyncQuerier(conn).update_reply(
                id=change.reply_id, author_clerk_id=change.author_clerk_id, body=change.body
            )
        if reply is None:
            current = await self.get_reply(change.reply_id)
            _refuse_change(current.deleted_at, "reply", "reply_id")
            raise PermissionDenied(
                f"user {change.author_clerk_id!r} may not edit reply {change.reply_id}: only its author may",
                field="author_clerk_id",
            )
        return reply

    async def delete_reply(self, reply_id: UUID, actor_clerk_id: str) -> Literal["deleted", "tombstoned"]:
        """Delete a reply, as its author or the course's author; one with answers becomes a
        tombstone that keeps them (as `delete_post`)."""
        key = validated(_Target, {"id": reply_id, "clerk_id": actor_clerk_id}, "reply")
        async with self._db.connection() as conn:
            outcome = await AsyncQuerier(conn).delete_reply(id=key.id, actor_clerk_id=key.clerk_id)
        if outcome == "deleted":
            return "deleted"
        if outcome == "tombstoned":
            return "tombstoned"
        current = await self.get_reply(key.id)
        _refuse_change(current.deleted_at, "reply", "reply_id")
        raise PermissionDenied(
            f"user {key.clerk_id!r} may not delete reply {key.id}: "
            "only its author or the course's author may",
            field="actor_clerk_id",
        )

    async def get_thread(self, post_id: UUID, *, viewer_clerk_id: str | None = None) -> Thread:
        """The post and all its replies in tree order, with depth, author names ('deleted user'
        once erased), like counts and whether `viewer_clerk_id` liked each: one query.
        `NotFound` for an unknown post."""
        key = validated(_OptionalViewer, {"post_id": post_id, "viewer_clerk_id": viewer_clerk_id}, "thread")
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).get_thread(
                post_id=key.post_id, viewer_clerk_id=key.viewer_clerk_id
            )
        if not rows:
            raise NotFound(f"no post with id {key.post_id}", field="post_id")
        return Thread.model_construct(post=rows[0], replies=rows[1:])

    # -- likes ----------------------------------------------------------------------------------

    async def like_post(self, post_id: UUID, clerk_id: str) -> LikeResult:
        """Like a post; idempotent (`changed` False when already liked). The author is notified
        of a user's first like only. `Conflict` for a deleted post, `NotFound` for none."""
        key = validated(_Target, {"id": post_id, "clerk_id": clerk_id}, "like")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).like_post(post_id=key.id, user_clerk_id=key.clerk_id)
        assert row is not None  # an aggregate SELECT returns one row
        if not row.found:
            post = await self.get_post(key.id)
            _refuse_change(post.deleted_at, "post", "post_id")
        return LikeResult.model_construct(changed=row.changed, like_count=row.like_count)

    async def unlike_post(self, post_id: UUID, clerk_id: str) -> LikeResult:
        """Take a like back; `changed` False when there was none. `NotFound` for no post."""
        key = validated(_Target, {"id": post_id, "clerk_id": clerk_id}, "like")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).unlike_post(post_id=key.id, user_clerk_id=key.clerk_id)
        assert row is not None
        if not row.found:
            raise NotFound(f"no post with id {key.id}", field="post_id")
        return LikeResult.model_construct(changed=row.changed, like_count=row.like_count)

    async def like_reply(self, reply_id: UUID, clerk_id: str) -> LikeResult:
        """`like_post` for a reply."""
        key = validated(_Target, {"id": reply_id, "clerk_id": clerk_id}, "like")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).like_reply(reply_id=key.id, user_clerk_id=key.clerk_id)
        assert row is not None
        if not row.found:
            reply = await self.get_reply(key.id)
            _refuse_change(reply.deleted_at, "reply", "reply_id")
        return LikeResult.model_construct(changed=row.changed, like_count=row.like_count)

    async def unlike_reply(self, reply_id: UUID, clerk_id: str) -> LikeResult:
        """`unlike_post` for a reply."""
        key = validated(_Target, {"id": reply_id, "clerk_id": clerk_id}, "like")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).unlike_reply(reply_id=key.id, user_clerk_id=key.clerk_id)
        assert row is not None
        if not row.found:
            raise NotFound(f"no reply with id {key.id}", field="reply_id")
        return LikeResult.model_construct(changed=row.changed, like_count=row.like_count)

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
        return Collaborator.model_construct(**seat.model_dump())

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
        key = _check_id(course_id, "course_id")
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
        key = _check_id(edit_id, "edit_id")
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
                **_keyset(before, "created_at"),
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

    # -- feedback -------------------------------------------------------------------------------

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
        key = _check_id(course_id, "course_id")
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
                **_keyset(before, "updated_at"),
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

    # -- activity -------------------------------------------------------------------------------

    async def list_activity(
        self, clerk_id: str, *, limit: int = 20, before: ListUserActivityRow | None = None
    ) -> list[ListUserActivityRow]:
        """A user's posts, replies and likes as one feed, newest first; `before` pages on."""
        key = validated(_Target, {"id": _ZERO, "clerk_id": clerk_id}, "activity")
        size = validated(_Window, {"limit": limit}, "page").limit
        cursor = _keyset(before, "created_at")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_user_activity(
                clerk_id=key.clerk_id, **cursor, page_size=size
            )

    async def list_trending_courses(self, *, days: int = 7, limit: int = 10) -> list[ListTrendingCoursesRow]:
        """Published courses by forum activity (posts, replies, likes) of the last `days` days."""
        window = validated(_Window, {"days": days, "limit": limit}, "trending")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_trending_courses(
                since=_since(timedelta(days=window.days)), top=window.limit
            )

    async def list_trending_tags(self, *, days: int = 7, limit: int = 10) -> list[ListTrendingTagsRow]:
        """Tags by the forum activity of their published courses in the last `days` days."""
        window = validated(_Window, {"days": days, "limit": limit}, "trending")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_trending_tags(
                since=_since(timedelta(days=window.days)), top=window.limit
            )


_ZERO = UUID(int=0)


def _since(value: datetime | timedelta) -> datetime:
    """A window start: an aware datetime as given, or now minus a timedelta."""
    if isinstance(value, timedelta):
        return datetime.now(UTC) - value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    raise InvalidValue(f"since: must be an aware datetime or a timedelta, not {value!r}", field="since")


def _refuse_change(deleted_at: datetime | None, what: str, field: str) -> None:
    if deleted_at is not None:
        raise Conflict(f"this {what} was deleted", field=field)
