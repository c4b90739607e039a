"""The audit domain: a course's history of changes, recorded by trigger, and reverting a field change."""

from __future__ import annotations

from uuid import UUID

from learnstore.database_async import AsyncDatabase
from learnstore.errors import InvalidValue, NotFound, PermissionDenied
from learnstore.queries.audit import AsyncQuerier
from learnstore.queries.content import AsyncQuerier as AsyncContentQuerier
from learnstore.queries.models import AuditLog

__all__ = ["AsyncAuditRepository", "AuditLog"]


def _checked_id(value: object, field: str) -> UUID:
    if not isinstance(value, UUID):
        raise InvalidValue(f"{field}: must be a UUID, not {type(value).__name__}", field=field)
    return value


class AsyncAuditRepository:
    """The append-only audit trail of courses, units, lessons, quizzes, media, collaborators and
    achievements (docs/audit.md). Nothing here writes the log: the tables' triggers do."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def history(
        self, course_id: UUID, *, limit: int = 50, after: AuditLog | None = None
    ) -> list[AuditLog]:
        """A page of a course's changes (the course, its units, lessons, quizzes, media and
        collaborators), newest first; pass the last entry of a page as `after` for the next.

        Under `as_user` only the course's author and accepted collaborators see any entry.
        """
        _checked_id(course_id, "course_id")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
            raise InvalidValue("limit must be an integer between 1 and 500", field="limit")
        if after is not None and not isinstance(after, AuditLog):
            raise InvalidValue("after must be the last AuditLog entry of the previous page", field="after")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_course_history(
                course_id=course_id,
                before_change_number=after.change_number if after else None,
                page_size=limit,
            )

    async def get(self, change_id: UUID) -> AuditLog:
        """One entry; `NotFound` if there is none (or, under `as_user`, none this user may read)."""
        _checked_id(change_id, "change_id")
        async with self._db.connection() as conn:
            entry = await AsyncQuerier(conn).get_audit_entry(id=change_id)
        if entry is None:
            raise NotFound(f"no audit entry {change_id}", field="change_id")
        return entry

    async def revert(self, change_id: UUID, *, acting_clerk_id: str | None = None) -> AuditLog:
        """Undo the field change `change_id` (an UPDATE entry): the columns it changed get back
        their values from before it. Returns the revert's own entry (a revert is a change too).

        `Conflict` when the change is stale: one of those columns changed since, or the row is
        gone. `InvalidValue` for an INSERT or DELETE entry. `acting_clerk_id`, on the service path:
        refused with `PermissionDenied` unless that user is the course's author or an accepted
        editor. Under `as_user` PostgreSQL decides: an entry the user may not read is `NotFound`.
        """
        _checked_id(change_id, "change_id")
        if acting_clerk_id is not None and (
            not isinstance(acting_clerk_id, str) or not acting_clerk_id.strip() or len(acting_clerk_id) > 64
        ):
            raise InvalidValue(
                f"acting_clerk_id: must be a user's clerk_id, not {acting_clerk_id!r}",
                field="acting_clerk_id",
            )
        async with self._db.transaction() as conn:
            queries = AsyncQuerier(conn)
            if acting_clerk_id is not None:
                entry = await queries.get_audit_entry(id=change_id)
                if entry is None:
                    raise NotFound(f"no audit entry {change_id}", field="change_id")
                if entry.course_id is None:  # an achievement: a site-wide change, not a course's team's
                    raise PermissionDenied(
                        f"user {acting_clerk_id!r} may not revert {change_id}: it is of no course",
                        field="acting_clerk_id",
                    )
                # Locks the author or the editor's row until the revert commits, as content's changes do.
                await AsyncContentQuerier(conn).authorize_course_change(
                    course_id=entry.course_id,
                    unit_id=None,
                    lesson_id=None,
                    media_id=None,
                    quiz_id=None,
                    clerk_id=acting_clerk_id,
                )
            reverted = await queries.revert_change(change_id=change_id)
        assert reverted is not None  # audit_revert() raises rather than return nothing
        return reverted
