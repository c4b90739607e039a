"""The enrolment and progress domain: enrolling, lesson statuses, progress, dashboards, analytics."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict

from learnstore._validation import validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import NotFound, register_messages
from learnstore.queries.models import (
    GetCourseStatsRow,
    ListAuthorCourseStatsRow,
    ListLearnerCoursesRow,
    ListLessonCompletionsRow,
    ListLessonProgressRow,
    UserCourse,
)
from learnstore.queries.progress import AsyncQuerier
from learnstore.types import ClerkId, LessonStatus

__all__ = ["AsyncProgressRepository", "LessonStatus", "NextLesson"]

register_messages(
    {
        "user_courses_user_clerk_id_fkey": "no user with this clerk_id",
        "user_courses_course_id_fkey": "no course with this id",
        "user_progress_user_clerk_id_fkey": "no user with this clerk_id",
        "user_progress_lesson_id_fkey": "no lesson with this id",
        "user_progress_status_valid": "status must be one of not_started, in_progress, completed",
    }
)


class _Enrolment(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId
    course_id: UUID


class _StatusChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId
    lesson_id: UUID
    status: LessonStatus


class _Learner(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId


class _Course(BaseModel):
    model_config = ConfigDict(frozen=True)

    course_id: UUID


class _Author(BaseModel):
    model_config = ConfigDict(frozen=True)

    author_clerk_id: ClerkId


class NextLesson(BaseModel):
    """The lesson to continue with: the first one in course order that is not completed."""

    model_config = ConfigDict(frozen=True)

    lesson_id: UUID
    lesson_title: str
    unit_id: UUID
    unit_title: str
    unit_position: int
    lesson_position: int
    status: LessonStatus
    """not_started or in_progress."""
    course_progress: int
    """The enrolment's progress, 0-100."""


class AsyncProgressRepository:
    """Enrolments and lesson progress. Every method is one transaction and one statement."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    # -- enrolment ------------------------------------------------------------------------------

    async def enrol(self, clerk_id: str, course_id: UUID) -> UserCourse:
        """Enrol a learner in a published course; idempotent: enrolling again returns the same
        enrolment, even if the course has been archived since.

        `NotFound` for an unknown user (field clerk_id) or course (course_id); `Conflict`
        (field course_id) for a course that is a draft or archived.
        """
        key = validated(_Enrolment, {"clerk_id": clerk_id, "course_id": course_id}, "enrolment")
        async with self._db.connection() as conn:
            enrolment = await AsyncQuerier(conn).enrol_in_course(
                user_clerk_id=key.clerk_id, course_id=key.course_id
            )
        assert enrolment is not None  # enrol_in_course() returns a row or raises
        return enrolment

    async def unenrol(self, clerk_id: str, course_id: UUID) -> bool:
        """Unenrol a learner; their lesson statuses in the course are deleted with the enrolment,
        so enrolling again starts from 0. Idempotent: False if there was no enrolment."""
        key = validated(_Enrolment, {"clerk_id": clerk_id, "course_id": course_id}, "enrolment")
        async with self._db.connection() as conn:
            was_enrolled = await AsyncQuerier(conn).unenrol_from_course(
                user_clerk_id=key.clerk_id, course_id=key.course_id
            )
        return bool(was_enrolled)

    async def get_enrolment(self, clerk_id: str, course_id: UUID) -> UserCourse:
        """The learner's enrolment in a course; `NotFound` if they are not enrolled."""
        enrolment = await self.get_enrolment_or_none(clerk_id, course_id)
        if enrolment is None:
            raise NotFound(f"user {clerk_id!r} is not enrolled in course {course_id}", field="course_id")
        return enrolment

    async def get_enrolment_or_none(self, clerk_id: str, course_id: UUID) -> UserCourse | None:
        key = validated(_Enrolment, {"clerk_id": clerk_id, "course_id": course_id}, "enrolment")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).get_enrolment(user_clerk_id=key.clerk_id, course_id=key.course_id)

    # -- lesson status --------------------------------------------------------------------------

    async def set_lesson_status(self, clerk_id: str, lesson_id: UUID, status: LessonStatus) -> UserCourse:
        """Set the learner's status in a lesson; returns the enrolment, its progress recomputed.

        started_at is set when the lesson is first started (or completed outright) and kept;
        completed_at is set on completion and cleared when the status goes back; `not_started`
        clears both. The learner must be enrolled in the lesson's course: `Conflict` (field
        lesson_id) if not; `NotFound` for an unknown lesson or user.
        """
        change = validated(
            _StatusChange, {"clerk_id": clerk_id, "lesson_id": lesson_id, "status": status}, "lesson_status"
        )
        async with self._db.connection() as conn:
            enrolment = await AsyncQuerier(conn).set_lesson_status(
                user_clerk_id=change.clerk_id, lesson_id=change.lesson_id, status=change.status
            )
        assert enrolment is not None  # set_lesson_status() returns a row or raises
        return enrolment

    async def list_lesson_progress(self, clerk_id: str, course_id: UUID) -> list[ListLessonProgressRow]:
        """The learner's status in every lesson of a course, in course order (`not_started` where
        they have none); empty for an unknown course or a course without lessons."""
        key = validated(_Enrolment, {"clerk_id": clerk_id, "course_id": course_id}, "enrolment")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_lesson_progress(
                user_clerk_id=key.clerk_id, course_id=key.course_id
            )

    async def refresh_course(self, course_id: UUID) -> int:
        """Recompute every enrolment of a course from its lessons and statuses (a repair path, for
        data changed with the triggers disabled); returns how many enrolments changed."""
        key = validated(_Course, {"course_id": course_id}, "course")
        async with self._db.connection() as conn:
            changed = await AsyncQuerier(conn).refresh_course_enrolments(course_id=key.course_id)
        return changed or 0

    # -- the learner's view -----------------------------------------------------------------------

    async def list_courses(self, clerk_id: str) -> list[ListLearnerCoursesRow]:
        """The learner's dashboard: their courses with progress, most recent activity first."""
        key = validated(_Learner, {"clerk_id": clerk_id}, "learner")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_learner_courses(user_clerk_id=key.clerk_id)

    async def get_next_lesson(self, clerk_id: str, course_id: UUID) -> NextLesson | None:
        """Continue where the learner left off: the first lesson in course order (unit position, then lesson
        position) the learner has not completed; None when every lesson is completed (or the
        course has none). `NotFound` (field course_id) if the learner is not enrolled."""
        key = validated(_Enrolment, {"clerk_id": clerk_id, "course_id": course_id}, "enrolment")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_next_lesson(
                user_clerk_id=key.clerk_id, course_id=key.course_id
            )
        if row is None:
            raise NotFound(
                f"user {key.clerk_id!r} is not enrolled in course {key.course_id}", field="course_id"
            )
        if row.lesson_id is None:
            return None
        return NextLesson.model_validate(
            {
                **row.model_dump(exclude={"progress"}),
                "status": row.status or "not_started",
                "course_progress": row.progress,
            }
        )

    # -- author analytics -------------------------------------------------------------------------

    async def get_course_stats(self, course_id: UUID) -> GetCourseStatsRow:
        """Enrolments, completions, completion rate (0-1) and average progress (0-100) of a course;
        `NotFound` for an unknown course."""
        key = validated(_Course, {"course_id": course_id}, "course")
        async with self._db.connection() as conn:
            stats = await AsyncQuerier(conn).get_course_stats(course_id=key.course_id)
        if stats is None:
            raise NotFound(f"no course with id {key.course_id}", field="course_id")
        return stats

    async def list_author_course_stats(self, author_clerk_id: str) -> list[ListAuthorCourseStatsRow]:
        """`get_course_stats` for every course of an author, newest course first."""
        key = validated(_Author, {"author_clerk_id": author_clerk_id}, "author")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_author_course_stats(author_clerk_id=key.author_clerk_id)

    async def list_lesson_completions(self, course_id: UUID) -> list[ListLessonCompletionsRow]:
        """Per lesson of a course, in course order: how many enrolled learners started and
        completed it (where they drop off); empty for an unknown course."""
        key = validated(_Course, {"course_id": course_id}, "course")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_lesson_completions(course_id=key.course_id)
