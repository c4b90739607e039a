"""The moderation domain: reports, the queue, hidden content, locked and pinned threads, suspensions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, StrictInt, model_validator

from learnstore._validation import validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Contention, InvalidValue, register_messages
from learnstore.queries.models import (
    ListModerationQueueRow,
    ModerationAction,
    ModerationReport,
    UserSuspension,
)
from learnstore.queries.moderation import AsyncQuerier
from learnstore.types import ClerkId

__all__ = ["AsyncModerationRepository", "QueueItem", "ThreadAction"]

register_messages(
    {
        "moderation_reports_reporter_clerk_id_fkey": "reporter_clerk_id: no user with this clerk_id",
        "moderation_reports_post_id_fkey": "post_id: no post with this id",
        "moderation_reports_reply_id_fkey": "reply_id: no reply with this id",
        "moderation_reports_feedback_id_fkey": "feedback_id: no review with this id",
        "moderation_reports_one_target": "a report is of exactly one post_id, reply_id or feedback_id",
    }
)

QueueItem = ListModerationQueueRow
"""One reported target in the queue: its open reports' count and reasons, and the content."""

ThreadAction = Literal["lock", "unlock", "pin", "unpin"]

Reason = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]
PageSize = Annotated[StrictInt, Field(ge=1, le=200)]


class _Target(BaseModel):
    post_id: UUID | None = None
    reply_id: UUID | None = None
    feedback_id: UUID | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _Target:
        if sum(x is not None for x in (self.post_id, self.reply_id, self.feedback_id)) != 1:
            raise ValueError("give exactly one of post_id, reply_id, feedback_id")
        return self


class _Report(BaseModel):
    reporter_clerk_id: ClerkId
    reason: Reason


class _Act(BaseModel):
    moderator_clerk_id: ClerkId
    reason: Reason


class _Suspend(BaseModel):
    clerk_id: ClerkId
    until: AwareDatetime | None


class _Page(BaseModel):
    limit: PageSize = 20
    after_reported_at: AwareDatetime | None = None
    after_id: UUID | None = None


class _LogPage(BaseModel):
    subject_clerk_id: ClerkId | None = None
    limit: PageSize = 20


class AsyncModerationRepository:
    """Reports, the queue and the moderator's actions. Each action is one statement: a SECURITY
    DEFINER function that checks the moderator (a site moderator or admin; under `as_user` the
    acting user), makes the change and appends it to the log with its reason."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    # -- reports --------------------------------------------------------------------------------

    async def report(
        self,
        reporter_clerk_id: str,
        reason: str,
        *,
        post_id: UUID | None = None,
        reply_id: UUID | None = None,
        feedback_id: UUID | None = None,
    ) -> ModerationReport:
        """Report one post, reply or review (exactly one of the three ids) with a reason.

        Idempotent per reporter and target: while the reporter's report of it is open, reporting
        it again returns that report (the unique index allows one). Under `as_user` a report is
        filed in the acting user's name only; a suspended user's is `PermissionDenied`.
        """
        filed = validated(_Report, {"reporter_clerk_id": reporter_clerk_id, "reason": reason}, "report")
        target = _target(post_id, reply_id, feedback_id)
        async with self._db.connection() as conn:
            querier = AsyncQuerier(conn)
            row = await querier.create_report(
                reporter_clerk_id=filed.reporter_clerk_id,
                post_id=target.post_id,
                reply_id=target.reply_id,
                feedback_id=target.feedback_id,
                reason=filed.reason,
            )
        if row is not None:
            return row
        # The reporter's open report exists: a new statement sees it even when a concurrent call
        # committed it after this one's INSERT began.
        async with self._db.connection() as conn:
            existing = await AsyncQuerier(conn).get_open_report(
                reporter_clerk_id=filed.reporter_clerk_id,
                post_id=target.post_id,
                reply_id=target.reply_id,
                feedback_id=target.feedback_id,
            )
        if existing is None:  # pragma: no cover - resolved between the two statements
            raise Contention("the report was resolved while filing it again: try again", field="target")
        return existing

    async def list_reports(
        self, *, post_id: UUID | None = None, reply_id: UUID | None = None, feedback_id: UUID | None = None
    ) -> list[ModerationReport]:
        """Every report of one target, any status, oldest first (under `as_user`: a moderator's
        or admin's view; anyone else sees their own reports only)."""
        target = _target(post_id, reply_id, feedback_id)
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_target_reports(
                post_id=target.post_id, reply_id=target.reply_id, feedback_id=target.feedback_id
            )

    async def queue(self, *, limit: int = 20, after: QueueItem | None = None) -> list[QueueItem]:
        """The moderation queue: reported targets with open reports, longest waiting first. Pass
        the last item of a page as `after` for the next. Under `as_user` PostgreSQL shows a
        moderator or admin every report and anyone else only their own."""
        at, target = _cursor(after, "first_reported_at", "target_id", "after")
        page = validated(_Page, {"limit": limit, "after_reported_at": at, "after_id": target}, "page")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_moderation_queue(
                after_id=page.after_id, after_reported_at=page.after_reported_at, page_size=page.limit
            )

    # -- hiding -----------------------------------------------------------------------------------

    async def hide(
        self,
        moderator_clerk_id: str,
        reason: str,
        *,
        post_id: UUID | None = None,
        reply_id: UUID | None = None,
        feedback_id: UUID | None = None,
    ) -> ModerationAction | None:
        """Hide a post, reply or review from everyone but its author and moderators: it leaves
        threads, feeds, counts, rating summaries and search. Its open reports are resolved and its
        author is notified. None when it was hidden already (of two moderators at once, one acts).

        `PermissionDenied` unless the moderator holds the site role moderator or admin (under
        `as_user`: is the acting user and holds it); `NotFound` for no such content.
        """
        return await self._set_hidden(moderator_clerk_id, reason, True, post_id, reply_id, feedback_id)

    async def unhide(
        self,
        moderator_clerk_id: str,
        reason: str,
        *,
        post_id: UUID | None = None,
        reply_id: UUID | None = None,
        feedback_id: UUID | None = None,
    ) -> ModerationAction | None:
        """Show hidden content again (as `hide`); None when it was not hidden."""
        return await self._set_hidden(moderator_clerk_id, reason, False, post_id, reply_id, feedback_id)

    async def _set_hidden(
        self,
        moderator_clerk_id: str,
        reason: str,
        hidden: bool,
        post_id: UUID | None,
        reply_id: UUID | None,
        feedback_id: UUID | None,
    ) -> ModerationAction | None:
        act = validated(_Act, {"moderator_clerk_id": moderator_clerk_id, "reason": reason}, "action")
        target = _target(post_id, reply_id, feedback_id)
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).set_hidden(
                moderator_clerk_id=act.moderator_clerk_id,
                post_id=target.post_id,
                reply_id=target.reply_id,
                feedback_id=target.feedback_id,
                hidden=hidden,
                reason=act.reason,
            )
        return rows[0] if rows else None

    async def dismiss(
        self,
        moderator_clerk_id: str,
        reason: str,
        *,
        post_id: UUID | None = None,
        reply_id: UUID | None = None,
        feedback_id: UUID | None = None,
    ) -> ModerationAction | None:
        """Dismiss a target's open reports, keeping the content; None when none was open."""
        act = validated(_Act, {"moderator_clerk_id": moderator_clerk_id, "reason": reason}, "action")
        target = _target(post_id, reply_id, feedback_id)
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).dismiss_reports(
                moderator_clerk_id=act.moderator_clerk_id,
                post_id=target.post_id,
                reply_id=target.reply_id,
                feedback_id=target.feedback_id,
                reason=act.reason,
            )
        return rows[0] if rows else None

    # -- threads ----------------------------------------------------------------------------------

    async def set_thread(
        self, moderator_clerk_id: str, post_id: UUID, action: ThreadAction, reason: str
    ) -> ModerationAction | None:
        """Lock, unlock, pin or unpin a thread. A locked thread refuses replies (`Conflict`), a
        pinned one is listed first. None when the thread already was so."""
        act = validated(_Act, {"moderator_clerk_id": moderator_clerk_id, "reason": reason}, "action")
        key = validated(UUID, post_id, "post_id")
        if action not in ("lock", "unlock", "pin", "unpin"):
            raise InvalidValue(f"action: must be lock, unlock, pin or unpin, not {action!r}", field="action")
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).set_thread_state(
                moderator_clerk_id=act.moderator_clerk_id, post_id=key, action=action, reason=act.reason
            )
        return rows[0] if rows else None

    # -- suspensions ------------------------------------------------------------------------------

    async def suspend(
        self, moderator_clerk_id: str, clerk_id: str, until: datetime, reason: str
    ) -> ModerationAction:
        """Suspend a user until `until` (an aware datetime in the future; suspending again moves
        the end). Until then PostgreSQL refuses their community writes (`PermissionDenied`), under
        `as_user` and on the service path; reads go on. The user is notified."""
        act = validated(_Act, {"moderator_clerk_id": moderator_clerk_id, "reason": reason}, "action")
        whom = validated(_Suspend, {"clerk_id": clerk_id, "until": until}, "suspension")
        if whom.until is None:
            raise InvalidValue("until: must be an aware datetime, not None", field="until")
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).set_suspension(
                moderator_clerk_id=act.moderator_clerk_id,
                clerk_id=whom.clerk_id,
                until=whom.until,
                reason=act.reason,
            )
        assert rows  # a suspension always changes something, or raises
        return rows[0]

    async def unsuspend(self, moderator_clerk_id: str, clerk_id: str, reason: str) -> ModerationAction | None:
        """Lift a user's suspension now; None when they were not suspended."""
        act = validated(_Act, {"moderator_clerk_id": moderator_clerk_id, "reason": reason}, "action")
        whom = validated(_Suspend, {"clerk_id": clerk_id, "until": None}, "suspension")
        async with self._db.connection() as conn:
            rows = await AsyncQuerier(conn).set_suspension(
                moderator_clerk_id=act.moderator_clerk_id,
                clerk_id=whom.clerk_id,
                until=None,
                reason=act.reason,
            )
        return rows[0] if rows else None

    async def get_suspension(self, clerk_id: str) -> UserSuspension | None:
        """The user's suspension in force, or None (under `as_user`: one's own, or a moderator's view)."""
        key = validated(ClerkId, clerk_id, "clerk_id")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).get_suspension(clerk_id=key)

    # -- the log ------------------------------------------------------------------------------------

    async def list_actions(
        self,
        *,
        subject_clerk_id: str | None = None,
        limit: int = 20,
        before: ModerationAction | None = None,
    ) -> list[ModerationAction]:
        """The log of moderator actions, newest first, optionally about one user; `before` pages
        on. Under `as_user` moderators and admins read it, nobody else (an empty list)."""
        page = validated(_LogPage, {"subject_clerk_id": subject_clerk_id, "limit": limit}, "page")
        at, action_id = _cursor(before, "created_at", "id", "before")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_moderation_actions(
                subject_clerk_id=page.subject_clerk_id,
                before_created_at=at,
                before_id=action_id,
                page_size=page.limit,
            )


def _target(post_id: UUID | None, reply_id: UUID | None, feedback_id: UUID | None) -> _Target:
    return validated(
        _Target, {"post_id": post_id, "reply_id": reply_id, "feedback_id": feedback_id}, "target"
    )


def _cursor(row: object, time_field: str, id_field: str, field: str) -> tuple[datetime | None, UUID | None]:
    """The keyset of a page's last row: its time and id, or InvalidValue naming `field`."""
    if row is None:
        return None, None
    at, key = getattr(row, time_field, None), getattr(row, id_field, None)
    if not isinstance(at, datetime) or not isinstance(key, UUID):
        raise InvalidValue(f"{field}: must be the last row of a page, not {type(row).__name__}", field=field)
    return at, key
