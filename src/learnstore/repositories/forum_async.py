"""The forum: threads of posts and nested replies, likes, a user's activity, what is trending."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from learnstore._validation import check_id, keyset, validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, PermissionDenied, register_messages
from learnstore.queries.forum import AsyncQuerier
from learnstore.queries.models import (
    ForumPost,
    ForumReply,
    GetThreadRow,
    ListCoursePostsActiveRow,
    ListCoursePostsNewestRow,
    ListTrendingCoursesRow,
    ListTrendingTagsRow,
    ListUserActivityRow,
)
from learnstore.types import ClerkId

__all__ = ["AsyncForumRepository", "LikeResult", "Thread", "ThreadNode", "mentions_in"]

register_messages(
    {
        "forum_posts_course_id_fkey": "course_id: no course with this id",
        "forum_posts_author_clerk_id_fkey": "author_clerk_id: no user with this clerk_id",
        "forum_replies_author_clerk_id_fkey": "author_clerk_id: no user with this clerk_id",
        "forum_replies_parent_reply_id_fkey": "parent_reply_id: no reply with this id in this post",
        "forum_post_likes_user_clerk_id_fkey": "clerk_id: no user with this clerk_id",
        "forum_reply_likes_user_clerk_id_fkey": "clerk_id: no user with this clerk_id",
    }
)

ThreadNode = GetThreadRow
"""A node of a thread: the post (depth 0, with its title) or a reply (depth 1 and more)."""


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


class _Window(BaseModel):
    days: Annotated[StrictInt, Field(ge=1, le=3650)] = 7
    limit: PageSize = 10


class AsyncForumRepository:
    """Forum threads, replies and likes, one statement each (the notifications a write causes
    are written by the same statement). Failures are diagnosed by a second statement only after the
    first did nothing."""

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
        return row

    async def get_post(self, post_id: UUID) -> ForumPost:
        """The post with this id (a tombstone too: see `deleted_at`); `NotFound` if there is none."""
        key = check_id(post_id, "post_id")
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
                **keyset(before, "created_at"),
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
                **keyset(before, "created_at"),
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
        return row

    async def get_reply(self, reply_id: UUID) -> ForumReply:
        key = check_id(reply_id, "reply_id")
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

    # -- activity -------------------------------------------------------------------------------

    async def list_activity(
        self, clerk_id: str, *, limit: int = 20, before: ListUserActivityRow | None = None
    ) -> list[ListUserActivityRow]:
        """A user's posts, replies and likes as one feed, newest first; `before` pages on."""
        key = validated(_Target, {"id": _ZERO, "clerk_id": clerk_id}, "activity")
        size = validated(_Window, {"limit": limit}, "page").limit
        cursor = keyset(before, "created_at")
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
