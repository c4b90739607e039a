"""The users domain: identity sync, profiles, activity streaks, goals, notifications, GDPR."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue, Strict, field_validator

from learnstore._validation import UNSET, Unset, acting_user, check_id, check_time_zone, validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, PermissionDenied, register_messages
from learnstore.queries.models import (
    GetStreakRow,
    LearningGoal,
    Notification,
    SiteRole,
    User,
    UserStreak,
)
from learnstore.queries.users import AsyncQuerier
from learnstore.types import NotificationType, SourceType

__all__ = [
    "AsyncUsersRepository",
    "ClerkEvent",
    "ClerkSync",
    "NotificationType",
    "ProfileUpdate",
    "SiteRoleName",
]

register_messages(
    {
        "users_email_key": "a user with this email already exists",
        "users_clerk_id_key": "a user with this clerk_id already exists",
        "users_timezone_valid": "timezone must be an IANA time zone, such as Europe/Paris",
        "users_email_format": "email must look like name@domain and be at most 320 characters",
        "users_avatar_url_format": "avatar_url must be an http(s) URL of at most 2048 characters",
        "learning_goals_progress_range": "progress must be between 0 and 100",
        "learning_goals_title_not_blank": "title must not be blank and be at most 200 characters",
        "notifications_type_valid": "type must be one of reply, mention, like, system",
        "notifications_user_clerk_id_fkey": "no user with this clerk_id",
        "notifications_metadata_object": "metadata must be a JSON object",
        "site_roles_user_clerk_id_fkey": "no user with this clerk_id",
        "site_roles_granted_by_fkey": "granted_by: no user with this clerk_id",
        "site_roles_role_valid": "role must be one of moderator, admin",
    }
)

ClerkId = str
#: A site-wide role: a moderator of the community, or an admin of the platform.
SiteRoleName = Literal["moderator", "admin"]
SITE_ROLES: tuple[SiteRoleName, ...] = ("moderator", "admin")


class _ClerkEmail(BaseModel):
    id: str
    email_address: str


class _ClerkUser(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    email_addresses: list[_ClerkEmail] = []
    primary_email_address_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    image_url: str | None = None
    updated_at: int | None = None  # epoch milliseconds

    def primary_email(self) -> str | None:
        # The primary address, which is not necessarily the first one listed.
        for address in self.email_addresses:
            if address.id == self.primary_email_address_id:
                return address.email_address
        return None


class ClerkEvent(BaseModel):
    """A Clerk webhook event about a user (`user.created`, `user.updated`, `user.deleted`)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["user.created", "user.updated", "user.deleted"]
    data: dict[str, Any]


class ClerkSync(BaseModel):
    """What applying one Clerk event did (`users.sync_clerk_event`)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["user.created", "user.updated", "user.deleted"]
    clerk_id: str
    #: True when the event changed the database: a user created or updated, or a user erased.
    #: False for an event older than the stored user, a replayed delete, and an event for an
    #: erased identity.
    applied: bool
    #: True when the identity is erased (now or before): a late user.created / user.updated for it
    #: is not applied, so an erased user stays erased whatever order Svix delivers in.
    erased: bool = False
    #: The user as stored afterwards (None once erased).
    user: User | None = None


class ProfileUpdate(BaseModel):
    """The profile fields a user may change; a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    avatar_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://")
    bio: str | None = Field(default=None, max_length=5000)
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_time_zone(value)


class _GoalInput(BaseModel):
    title: str = Field(min_length=1, max_length=200, pattern=r"\S")
    description: str | None = Field(default=None, max_length=5000)
    # Strict: pydantic's lax mode reads a number as a Unix time (0 was stored as 1970-01-01: found by
    # the hostile sweep), and a str as an ISO date.
    target_date: Annotated[date, Strict()] | None = None


class _NotificationInput(BaseModel):
    type: NotificationType
    message: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    source_id: UUID | None = None
    source_type: SourceType | None = None
    metadata: dict[str, JsonValue] = {}


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(at: datetime | None, field: str) -> datetime:
    if at is None:
        return _now()
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidValue(f"{field}: must be a datetime with a time zone", field=field)
    return at


class AsyncUsersRepository:
    """Users and what belongs to them alone. Every method is one transaction."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    # -- identity -----------------------------------------------------------------------------

    async def apply_clerk_event(self, event: Mapping[str, Any]) -> User | None:
        """Apply a Clerk webhook payload; idempotent, and an older event never overwrites a newer one.

        Returns the user as stored afterwards: None after `user.deleted`, and for a late
        `user.created` / `user.updated` of an erased identity, which is not applied
        (`sync_clerk_event` says which of these happened).
        """
        return (await self.sync_clerk_event(event)).user

    async def sync_clerk_event(self, event: Mapping[str, Any]) -> ClerkSync:
        """Apply a Clerk webhook payload as `apply_clerk_event` does, and report what it did.

        An erased identity stays erased: a `user.created` or `user.updated` delivered after its
        `user.deleted` (Svix does not guarantee order) is a no-op, reported as `erased=True`,
        `applied=False`.
        """
        parsed = validated(ClerkEvent, event, "event")
        data = validated(_ClerkUser, parsed.data, "event.data")
        if parsed.type == "user.deleted":
            deleted = await self.erase(data.id)
            return ClerkSync(type=parsed.type, clerk_id=data.id, applied=deleted, erased=True)
        if data.updated_at is None:
            raise InvalidValue(
                "event.data.updated_at: required for user.created and user.updated", field="updated_at"
            )
        version = datetime.fromtimestamp(data.updated_at / 1000, tz=UTC)
        async for attempt in self._db.attempts():
            async with attempt as conn:
                queries = AsyncQuerier(conn)
                user = await queries.upsert_user_from_clerk(
                    clerk_id=data.id,
                    email=data.primary_email(),
                    first_name=data.first_name,
                    last_name=data.last_name,
                    avatar_url=data.image_url,
                    clerk_updated_at=version,
                )
                applied = user is not None
                if user is None:  # the stored row is newer than this event, or the identity is erased
                    user = await queries.get_user_by_clerk_id(clerk_id=data.id)
        # No row written and none stored: apply_clerk_user() found the identity erased (an unknown
        # identity that is not erased is always inserted).
        return ClerkSync(type=parsed.type, clerk_id=data.id, applied=applied, erased=user is None, user=user)

    async def is_erased(self, clerk_id: ClerkId) -> bool:
        """Whether this identity was erased (only the sha256 of its clerk_id is kept)."""
        async with self._db.connection() as conn:
            return bool(await AsyncQuerier(conn).get_identity_erased(clerk_id=clerk_id))

    async def get(self, clerk_id: ClerkId) -> User:
        """The user with this Clerk id; `NotFound` if there is none."""
        async with self._db.connection() as conn:  # not through get_or_none: a frame less, a hot path
            user = await AsyncQuerier(conn).get_user_by_clerk_id(clerk_id=clerk_id)
        if user is None:
            raise NotFound(f"no user with clerk_id {clerk_id!r}", field="clerk_id")
        return user

    async def get_or_none(self, clerk_id: ClerkId) -> User | None:
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).get_user_by_clerk_id(clerk_id=clerk_id)

    async def get_by_email(self, email: str) -> User:
        """The user with this email, whatever its case; `NotFound` if there is none."""
        async with self._db.connection() as conn:
            user = await AsyncQuerier(conn).get_user_by_email(email=email)
        if user is None:
            raise NotFound(f"no user with email {email!r}", field="email")
        return user

    async def update_profile(
        self,
        clerk_id: ClerkId,
        *,
        first_name: str | Unset | None = UNSET,
        last_name: str | Unset | None = UNSET,
        avatar_url: str | Unset | None = UNSET,
        bio: str | Unset | None = UNSET,
        timezone: str | Unset = UNSET,
    ) -> User:
        """Change some profile fields; pass None to clear one, leave it out to keep it."""
        given = {
            name: value
            for name, value in {
                "first_name": first_name,
                "last_name": last_name,
                "avatar_url": avatar_url,
                "bio": bio,
                "timezone": timezone,
            }.items()
            if not isinstance(value, Unset)
        }
        update = validated(ProfileUpdate, given, "profile")
        if "timezone" in given and update.timezone is None:
            raise InvalidValue("timezone cannot be cleared", field="timezone")
        async with self._db.connection() as conn:
            user = await AsyncQuerier(conn).update_user_profile(
                clerk_id=clerk_id,
                first_name_set="first_name" in given,
                first_name=update.first_name,
                last_name_set="last_name" in given,
                last_name=update.last_name,
                avatar_url_set="avatar_url" in given,
                avatar_url=update.avatar_url,
                bio_set="bio" in given,
                bio=update.bio,
                timezone=update.timezone,
            )
        if user is None:
            raise NotFound(f"no user with clerk_id {clerk_id!r}", field="clerk_id")
        return user

    # -- activity and streaks -----------------------------------------------------------------

    async def record_activity(self, clerk_id: ClerkId, at: datetime | None = None) -> UserStreak:
        """Record that the user was active at `at` (default now), on their local calendar day.

        Idempotent per local day; returns the streak, kept in the same transaction.
        """
        instant = _aware(at, "at")
        async with self._db.connection() as conn:
            streak = await AsyncQuerier(conn).record_activity(user_clerk_id=clerk_id, at=instant)
        assert streak is not None  # record_activity() raises for an unknown user
        return streak

    async def get_streak(self, clerk_id: ClerkId, at: datetime | None = None) -> GetStreakRow:
        """The streak as of `at` (default now): a current run whose last day is before the user's
        local yesterday counts as broken (0)."""
        instant = _aware(at, "at")
        async with self._db.connection() as conn:
            streak = await AsyncQuerier(conn).get_streak(user_clerk_id=clerk_id, at=instant)
        if streak is None:
            await self.get(clerk_id)  # NotFound for an unknown user
            return GetStreakRow(
                user_clerk_id=clerk_id, current_streak=0, longest_streak=0, last_active_date=None
            )
        return streak

    async def recompute_streak(self, clerk_id: ClerkId) -> UserStreak:
        """Rebuild the streak from login_days alone (a repair path; it agrees with record_activity)."""
        await self.get(clerk_id)
        async with self._db.connection() as conn:
            streak = await AsyncQuerier(conn).recompute_streak(user_clerk_id=clerk_id)
        assert streak is not None
        return streak

    async def list_login_days(self, clerk_id: ClerkId, since: date, until: date) -> list[date]:
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_login_days(user_clerk_id=clerk_id, since=since, until=until)

    # -- learning goals -----------------------------------------------------------------------

    async def create_goal(
        self,
        clerk_id: ClerkId,
        title: str,
        *,
        description: str | None = None,
        target_date: date | None = None,
    ) -> LearningGoal:
        goal = validated(
            _GoalInput, {"title": title, "description": description, "target_date": target_date}, "goal"
        )
        async with self._db.connection() as conn:
            created = await AsyncQuerier(conn).create_learning_goal(
                user_clerk_id=clerk_id,
                title=goal.title,
                description=goal.description,
                target_date=goal.target_date,
            )
        assert created is not None
        return created

    async def set_goal_progress(self, clerk_id: ClerkId, goal_id: UUID, progress: int) -> LearningGoal:
        """Set a goal's progress (0-100); 100 completes it, less reopens it."""
        if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
            raise InvalidValue("progress must be an integer between 0 and 100", field="progress")
        async with self._db.connection() as conn:
            goal = await AsyncQuerier(conn).set_learning_goal_progress(
                id=goal_id, user_clerk_id=clerk_id, progress=progress
            )
        if goal is None:
            raise NotFound(f"no learning goal {goal_id} for clerk_id {clerk_id!r}", field="goal_id")
        return goal

    async def complete_goal(self, clerk_id: ClerkId, goal_id: UUID) -> LearningGoal:
        return await self.set_goal_progress(clerk_id, goal_id, 100)

    async def list_active_goals(self, clerk_id: ClerkId) -> list[LearningGoal]:
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_active_learning_goals(user_clerk_id=clerk_id)

    async def list_overdue_goals(self, clerk_id: ClerkId, at: datetime | None = None) -> list[LearningGoal]:
        """Open goals whose target date is before the user's local day at `at` (default now)."""
        instant = _aware(at, "at")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_overdue_learning_goals(user_clerk_id=clerk_id, at=instant)

    async def delete_goal(self, clerk_id: ClerkId, goal_id: UUID) -> bool:
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).delete_learning_goal(id=goal_id, user_clerk_id=clerk_id) > 0

    # -- notifications ------------------------------------------------------------------------

    async def notify(
        self,
        clerk_id: ClerkId,
        type: NotificationType,
        message: str,
        *,
        source_id: UUID | None = None,
        source_type: SourceType | None = None,
        metadata: Mapping[str, JsonValue] | None = None,
    ) -> Notification:
        """Send one notification to one user."""
        note = self._notification(type, message, source_id, source_type, metadata)
        async with self._db.connection() as conn:
            created = await AsyncQuerier(conn).create_notification(
                user_clerk_id=clerk_id,
                type=note.type,
                message=note.message,
                source_id=note.source_id,
                source_type=note.source_type,
                metadata=note.metadata,
            )
        if created is None:  # notifications_skip_muted dropped it
            raise Conflict(f"type: user {clerk_id!r} muted {note.type!r} notifications", field="type")
        return created

    async def notify_course_learners(
        self,
        course_id: UUID,
        type: NotificationType,
        message: str,
        *,
        source_id: UUID | None = None,
        source_type: SourceType | None = None,
        metadata: Mapping[str, JsonValue] | None = None,
    ) -> int:
        """Send a notification to every learner enrolled in a course, in one statement; returns how many."""
        note = self._notification(type, message, source_id, source_type, metadata)
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).notify_course_learners(
                course_id=course_id,
                type=note.type,
                message=note.message,
                source_id=note.source_id,
                source_type=note.source_type,
                metadata=note.metadata,
            )

    @staticmethod
    def _notification(
        type: str,
        message: str,
        source_id: UUID | None,
        source_type: str | None,
        metadata: Mapping[str, JsonValue] | None,
    ) -> _NotificationInput:
        return validated(
            _NotificationInput,
            {
                "type": type,
                "message": message,
                "source_id": source_id,
                "source_type": source_type,
                # pydantic checks the shape: dict() of a non-mapping would fail as a TypeError
                "metadata": metadata if metadata is not None else {},
            },
            "notification",
        )

    async def count_unread(self, clerk_id: ClerkId) -> int:
        async with self._db.connection() as conn:
            count = await AsyncQuerier(conn).count_unread_notifications(user_clerk_id=clerk_id)
        return count or 0

    async def mark_read(self, clerk_id: ClerkId, notification_id: UUID) -> bool:
        """Mark one notification read; False if it was already read or is not this user's."""
        async with self._db.connection() as conn:
            changed = await AsyncQuerier(conn).mark_notification_read(
                id=notification_id, user_clerk_id=clerk_id
            )
        return changed > 0

    async def mark_all_read(self, clerk_id: ClerkId) -> int:
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).mark_all_notifications_read(user_clerk_id=clerk_id)

    async def delete_notification(self, clerk_id: ClerkId, notification_id: UUID) -> bool:
        """Delete one of the user's notifications; False if there is none of theirs with this id."""
        key = check_id(notification_id, "notification_id")
        user = validated(ClerkId, clerk_id, "clerk_id")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).delete_notification(id=key, user_clerk_id=user) > 0

    async def delete_notifications(self, clerk_id: ClerkId, *, read_only: bool = False) -> int:
        """Delete all the user's notifications, or (`read_only`) the ones already read; returns how many."""
        user = validated(ClerkId, clerk_id, "clerk_id")
        if not isinstance(read_only, bool):
            raise InvalidValue("read_only: must be True or False", field="read_only")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).delete_notifications(user_clerk_id=user, read_only=read_only)

    async def list_notifications(
        self, clerk_id: ClerkId, *, limit: int = 20, after: Notification | None = None
    ) -> list[Notification]:
        """A page of notifications, newest first; pass the last one of a page as `after` for the next."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
            raise InvalidValue("limit must be an integer between 1 and 500", field="limit")
        if after is not None and not isinstance(after, Notification):
            raise InvalidValue("after must be the last Notification of the previous page", field="after")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_notifications(
                user_clerk_id=clerk_id,
                before_created_at=after.created_at if after else None,
                before_id=after.id if after else None,
                page_size=limit,
            )

    # -- site-wide roles ------------------------------------------------------------------------

    async def grant_role(
        self, clerk_id: ClerkId, role: SiteRoleName, *, granted_by: ClerkId | None = None
    ) -> SiteRole:
        """Grant `clerk_id` a site-wide role; idempotent (a role held already is returned unchanged).

        Only an admin grants: under `as_user` the acting user must hold `admin` (PostgreSQL refuses
        anyone else with `PermissionDenied`) and is the grantor; on the service path `granted_by` is
        whoever the service names, or None.
        """
        checked = _site_role(role)
        # Under as_user the grantor is the acting user: naming anyone else is a forgery.
        identity = self._db.identity
        grantor = acting_user(identity.clerk_id if identity else None, granted_by, "granted_by")
        async with self._db.connection() as conn:
            querier = AsyncQuerier(conn)
            row = await querier.grant_site_role(user_clerk_id=clerk_id, role=checked, granted_by=grantor)
            if row is None:
                # A concurrent grant committed while this INSERT waited on it: ON CONFLICT then does
                # nothing, and the statement's snapshot predates that row. A second statement sees it.
                row = await querier.grant_site_role(user_clerk_id=clerk_id, role=checked, granted_by=grantor)
        if row is None:  # held already, and invisible: only an admin sees others' roles
            raise PermissionDenied(f"only an admin may grant the role {checked!r}", field="role")
        return row

    async def revoke_role(self, clerk_id: ClerkId, role: SiteRoleName) -> bool:
        """Take a site-wide role away; False when the user did not hold it. Only an admin (or the
        service) revokes: under `as_user` anyone else revokes nothing (False)."""
        checked = _site_role(role)
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).revoke_site_role(user_clerk_id=clerk_id, role=checked) > 0

    async def list_roles(self, clerk_id: ClerkId | None = None) -> list[SiteRole]:
        """A user's site-wide roles, or every grant when `clerk_id` is None, by user then role.
        Under `as_user` a user sees their own roles, an admin everyone's."""
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_site_roles(user_clerk_id=clerk_id)

    # -- GDPR -------------------------------------------------------------------------------

    async def export(self, clerk_id: ClerkId) -> dict[str, Any]:
        """Everything stored about a user, as one JSON document keyed by table."""
        async with self._db.connection() as conn:
            document = await AsyncQuerier(conn).export_user(clerk_id=clerk_id)
        if document is None:
            raise NotFound(f"no user with clerk_id {clerk_id!r}", field="clerk_id")
        assert isinstance(document, dict)
        return document

    async def erase(self, clerk_id: ClerkId) -> bool:
        """Erase a user: private rows are deleted; posts, replies, feedback, courses and suggested
        edits they wrote stay readable with no author; the audit trail keeps their changes with no
        actor. The identity is recorded as erased (the sha256 of the clerk_id), also when no such
        user was ever seen, so a late create or update event does not bring it back.
        Idempotent: False if there was no such user."""
        async with self._db.connection() as conn:
            return bool(await AsyncQuerier(conn).erase_user(clerk_id=clerk_id))


def _site_role(role: object) -> SiteRoleName:
    for known in SITE_ROLES:
        if role == known and isinstance(role, str):
            return known
    raise InvalidValue(f"role must be one of {', '.join(SITE_ROLES)}, not {role!r}", field="role")
