"""Following threads and muting notification types: what a user hears of, and what not."""

from __future__ import annotations

from typing import Annotated, Literal, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from learnstore._validation import keyset, validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, register_messages
from learnstore.queries.follows import AsyncQuerier
from learnstore.queries.forum import AsyncQuerier as AsyncForumQuerier
from learnstore.queries.models import ListFollowedThreadsRow
from learnstore.types import ClerkId

__all__ = ["AsyncFollowsRepository", "FollowResult", "FollowedThread", "MutableType"]

register_messages(
    {
        "forum_thread_follows_post_user_key": "post_id: this user follows this thread already",
        "forum_thread_follows_post_id_fkey": "post_id: no post with this id",
        "forum_thread_follows_user_clerk_id_fkey": "user_clerk_id: no user with this clerk_id",
        "notification_mutes_user_type_key": "type: this user muted this type already",
        "notification_mutes_user_clerk_id_fkey": "user_clerk_id: no user with this clerk_id",
        "notification_mutes_type_valid": "type: must be one of reply, mention, like",
        "notifications_reply_once_key": "user_clerk_id: notified of this reply already",
    }
)

#: The notification types a user may mute; system notices (moderation, collaboration) always arrive.
MutableType = Literal["reply", "mention", "like"]

FollowedThread = ListFollowedThreadsRow
"""A thread a user follows: the post, its course and title, whether it was deleted, and since when."""


class FollowResult(BaseModel):
    """What a follow or unfollow did: `changed` is False for a repeated follow or an unfollow of nothing."""

    model_config = ConfigDict(frozen=True)

    changed: bool


class _Follow(BaseModel):
    post_id: UUID
    clerk_id: ClerkId


class _Mute(BaseModel):
    clerk_id: ClerkId
    type: MutableType


class _Page(BaseModel):
    clerk_id: ClerkId
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 20


class AsyncFollowsRepository:
    """Follows and mutes, one statement each. The followers of a thread are told of every new reply
    in it once, never the replier; a muted type is never written for its user."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def follow(self, post_id: UUID, clerk_id: str) -> FollowResult:
        """Follow a thread (idempotent: `changed` False when already following). A post's author
        follows it from the start and a replier from their first reply. `Conflict` for a deleted
        post, `NotFound` for none (or a hidden one the acting user may not see)."""
        key = validated(_Follow, {"post_id": post_id, "clerk_id": clerk_id}, "follow")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).follow_thread(post_id=key.post_id, user_clerk_id=key.clerk_id)
            assert row is not None  # an aggregate SELECT returns one row
            if row.found:
                return FollowResult.model_construct(changed=row.changed)
            # Diagnosed by a second read only after the follow did nothing.
            post = await AsyncForumQuerier(conn).get_post(id=key.post_id)
        if post is None or post.deleted_at is None:  # none, or hidden from the acting user
            raise NotFound(f"no post with id {key.post_id}", field="post_id")
        raise Conflict("this post was deleted", field="post_id")

    async def unfollow(self, post_id: UUID, clerk_id: str) -> FollowResult:
        """Stop following a thread: no more reply notifications from it (a direct answer to one's
        reply or a mention still arrives). `changed` False when not following; `NotFound` for no post."""
        key = validated(_Follow, {"post_id": post_id, "clerk_id": clerk_id}, "follow")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).unfollow_thread(post_id=key.post_id, user_clerk_id=key.clerk_id)
        assert row is not None
        if not row.found:
            raise NotFound(f"no post with id {key.post_id}", field="post_id")
        return FollowResult.model_construct(changed=row.changed)

    async def is_following(self, post_id: UUID, clerk_id: str) -> bool:
        """Whether the user follows the thread (under `as_user`, only one's own follows are read)."""
        key = validated(_Follow, {"post_id": post_id, "clerk_id": clerk_id}, "follow")
        async with self._db.connection() as conn:
            following = await AsyncQuerier(conn).is_following_thread(
                post_id=key.post_id, user_clerk_id=key.clerk_id
            )
        return bool(following)

    async def list_followed(
        self, clerk_id: str, *, limit: int = 20, before: FollowedThread | None = None
    ) -> list[FollowedThread]:
        """The threads a user follows, latest followed first; pass the last row as `before` to page."""
        page = validated(_Page, {"clerk_id": clerk_id, "limit": limit}, "page")
        cursor = keyset(before, "followed_at")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_followed_threads(
                user_clerk_id=page.clerk_id, **cursor, page_size=page.limit
            )

    async def mute(self, clerk_id: str, type: MutableType) -> bool:
        """Mute a notification type ('reply', 'mention' or 'like'): from now on none is written for
        this user, by any writer. True when this call muted it, False when it was muted already."""
        key = validated(_Mute, {"clerk_id": clerk_id, "type": type}, "mute")
        async with self._db.connection() as conn:
            changed = await AsyncQuerier(conn).mute_notification_type(
                user_clerk_id=key.clerk_id, type=key.type
            )
        return bool(changed)

    async def unmute(self, clerk_id: str, type: MutableType) -> bool:
        """Unmute a notification type; False when it was not muted."""
        key = validated(_Mute, {"clerk_id": clerk_id, "type": type}, "mute")
        async with self._db.connection() as conn:
            removed = await AsyncQuerier(conn).unmute_notification_type(
                user_clerk_id=key.clerk_id, type=key.type
            )
        return removed > 0

    async def list_muted(self, clerk_id: str) -> list[MutableType]:
        """The notification types a user muted, alphabetically."""
        key = validated(ClerkId, clerk_id, "clerk_id")
        async with self._db.connection() as conn:
            types = await AsyncQuerier(conn).list_mutes(user_clerk_id=key)
        return [_mutable(t) for t in types]


def _mutable(value: str) -> MutableType:
    for known in get_args(MutableType):
        if value == known:
            return known  # type: ignore[no-any-return]
    raise InvalidValue(f"type: unknown notification type {value!r}", field="type")  # pragma: no cover
